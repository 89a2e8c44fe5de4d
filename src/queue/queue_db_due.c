/* queue_db_due.c — the SQL of delivery agents: which messages are due,
   and recording what an attempt did. Runs on the delivery agents' own
   connection (struct queue.ddb), so it never waits behind a group commit
   for longer than SQLite's write lock. */
#include "queue/queue_private.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

#define QUEUE_DB_PENDING "status IN ('queued', 'deferred')"

static int
queue_db_due_fail(sqlite3 *db, const char *what, char **error_r)
{
	*error_r = xasprintf("queue.db: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static int
queue_db_due_exec(sqlite3 *db, const char *sql, char **error_r)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	return queue_db_due_fail(db, sql, error_r);
}

int
queue_db_due(struct queue_db *qdb, int64_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *msgs = NULL, *rcpts = NULL;
	struct queue_envelope *envs = NULL;
	size_t n = 0;
	int ret = -1, rc;

	*envs_r = NULL;
	*n_r = 0;
	if (max == 0)
		return 0;
	if (queue_db_due_exec(db, "BEGIN", error_r) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, QUEUE_DB_MESSAGE_COLUMNS
	    " WHERE next_attempt <= ?1 AND EXISTS (SELECT 1 FROM recipients"
	    " WHERE message_id = messages.id AND " QUEUE_DB_PENDING ")"
	    " ORDER BY next_attempt, id LIMIT ?2", -1, &msgs, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, QUEUE_DB_RCPT_COLUMNS
	    " WHERE message_id = ?1 AND " QUEUE_DB_PENDING " ORDER BY idx", -1,
	    &rcpts, NULL) != SQLITE_OK) {
		queue_db_due_fail(db, "prepare", error_r);
		goto out;
	}
	sqlite3_bind_int64(msgs, 1, now);
	sqlite3_bind_int64(msgs, 2, max > INT32_MAX ? INT32_MAX : (int)max);
	envs = xreallocarray(NULL, max, sizeof(*envs));
	while (n < max && (rc = sqlite3_step(msgs)) == SQLITE_ROW) {
		if (queue_db_read_message(msgs, &envs[n], error_r) == -1) {
			queue_envelope_clear(&envs[n]);
			goto out;
		}
		n++;
		if (queue_db_read_rcpts(qdb, rcpts, &envs[n - 1],
		    error_r) == -1)
			goto out;
	}
	if (n < max && rc != SQLITE_DONE) {
		queue_db_due_fail(db, "select due", error_r);
		goto out;
	}
	if (n > 0) {
		*envs_r = envs;
		*n_r = n;
		envs = NULL;
		n = 0;
	}
	ret = 0;
out:
	sqlite3_finalize(msgs);
	sqlite3_finalize(rcpts);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	queue_envelopes_free(envs, n);
	return ret;
}

int
queue_db_next_due(struct queue_db *qdb, int64_t *when_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *stmt;
	int ret = -1, rc;

	if (sqlite3_prepare_v2(db, "SELECT min(next_attempt) FROM messages"
	    " WHERE EXISTS (SELECT 1 FROM recipients"
	    " WHERE message_id = messages.id AND " QUEUE_DB_PENDING ")", -1,
	    &stmt, NULL) != SQLITE_OK)
		return queue_db_due_fail(db, "prepare", error_r);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		ret = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 1 : 0;
		*when_r = sqlite3_column_int64(stmt, 0);
	} else {
		queue_db_due_fail(db, "select next due", error_r);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/* One message's results inside the open transaction. Returns 1 when the
   message is now complete (and was deleted), 0 when not, -1. */
static int
queue_db_update_one(sqlite3 *db, sqlite3_stmt *const *st,
    const struct queue_result *r, char **error_r)
{
	sqlite3_stmt *set = st[0], *add = st[1], *msg = st[2], *left = st[3],
	    *del = st[4], *ev = st[5];
	int rc;

	for (size_t i = 0; i < r->n_rcpts; i++) {
		sqlite3_reset(set);
		sqlite3_bind_text(set, 1, r->rcpts[i].status, -1,
		    SQLITE_STATIC);
		if (r->rcpts[i].last_error != NULL)
			sqlite3_bind_text(set, 2, r->rcpts[i].last_error, -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(set, 2);
		sqlite3_bind_text(set, 3, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(set, 4, r->rcpts[i].idx);
		if (sqlite3_step(set) != SQLITE_DONE)
			return queue_db_due_fail(db, "update recipient",
			    error_r);
		sqlite3_reset(ev);
		sqlite3_bind_text(ev, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ev, 2, (int64_t)time(NULL));
		sqlite3_bind_text(ev, 3, r->rcpts[i].status, -1,
		    SQLITE_STATIC);
		if (r->rcpts[i].last_error != NULL)
			sqlite3_bind_text(ev, 4, r->rcpts[i].last_error, -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(ev, 4);
		sqlite3_bind_int64(ev, 5, r->rcpts[i].idx);
		if (sqlite3_step(ev) != SQLITE_DONE)
			return queue_db_due_fail(db, "insert event", error_r);
	}
	for (size_t i = 0; i < r->n_outbound; i++) {
		sqlite3_reset(add);
		sqlite3_bind_text(add, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 2, r->outbound[i], -1, SQLITE_STATIC);
		if (sqlite3_step(add) != SQLITE_DONE)
			return queue_db_due_fail(db, "add recipient", error_r);
	}
	sqlite3_reset(msg);
	sqlite3_bind_int64(msg, 1, (int64_t)r->next_attempt);
	sqlite3_bind_text(msg, 2, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(msg) != SQLITE_DONE)
		return queue_db_due_fail(db, "update message", error_r);

	sqlite3_reset(left);
	sqlite3_bind_text(left, 1, r->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(left);
	if (rc != SQLITE_ROW)
		return queue_db_due_fail(db, "count recipients", error_r);
	if (sqlite3_column_int64(left, 0) > 0)
		return 0;
	sqlite3_reset(del);
	sqlite3_bind_text(del, 1, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		return queue_db_due_fail(db, "delete message", error_r);
	return sqlite3_changes(db) > 0 ? 1 : 0;
}

int
queue_db_update(struct queue_db *qdb, const struct queue_result *results,
    size_t n, char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r,
    char **error_r)
{
	static const char *const sql[] = {
		"UPDATE recipients SET status = ?1, last_error = ?2"
		" WHERE message_id = ?3 AND idx = ?4",
		"INSERT INTO recipients (message_id, idx, address, status)"
		" SELECT ?1, coalesce(max(idx), -1) + 1, ?2, 'outbound'"
		" FROM recipients WHERE message_id = ?1",
		"UPDATE messages SET attempts = attempts + 1,"
		" next_attempt = ?1 WHERE id = ?2",
		QUEUE_DB_LEFT_SQL,
		"DELETE FROM messages WHERE id = ?1",
		QUEUE_DB_EVENT_RCPT_SQL,
	};
	enum { N_STMTS = sizeof(sql) / sizeof(sql[0]) };
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st[N_STMTS] = { NULL };
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n_done = 0;
	int ret = -1, rc;

	*done_r = NULL;
	*n_done_r = 0;
	if (queue_db_due_exec(db, "BEGIN IMMEDIATE", error_r) == -1)
		return -1;
	for (size_t i = 0; i < N_STMTS; i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) !=
		    SQLITE_OK) {
			queue_db_due_fail(db, "prepare", error_r);
			goto out;
		}
	}
	done = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*done));
	for (size_t i = 0; i < n; i++) {
		rc = queue_db_update_one(db, st, &results[i], error_r);
		if (rc == -1)
			goto out;
		if (rc == 1 && strlen(results[i].id) < QUEUE_ID_SIZE)
			memcpy(done[n_done++], results[i].id,
			    strlen(results[i].id) + 1);
	}
	if (queue_db_due_exec(db, "COMMIT", error_r) == -1)
		goto out;
	*done_r = done;
	*n_done_r = n_done;
	done = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < N_STMTS; i++)
		sqlite3_finalize(st[i]);
	if (ret == -1 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	free(done);
	return ret;
}
