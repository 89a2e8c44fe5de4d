/* queue_db_outbound.c — the outbound agent's SQL: claiming the recipients
   it has work for (remote attempts due, DSNs owed), recording what the
   attempts did, and releasing claims a crashed run left.

   A claim is a column, not a lease: only the one agent of the one server
   claims, and it releases everything when it starts, so a claim never
   outlives the process that made it by more than a restart. */
#include "queue/queue_private.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

/* What the agent has to do with a recipient at time :now. A final DSN
   waits while another recipient of the message is out in an attempt: the
   sender gets one report for the recipients that attempt fails too, not
   one per route (its record wakes the agent). */
#define QUEUE_DB_WORK \
	"claimed = 0 AND ((status = 'outbound' AND retry_at <= :now)" \
	" OR (((status = 'failed' AND (dsn_sent & 1) = 0)" \
	"  OR (status = 'delivered' AND (notify & 2) != 0" \
	"      AND (dsn_sent & 1) = 0))" \
	"  AND NOT EXISTS (SELECT 1 FROM recipients AS busy" \
	"   WHERE busy.message_id = recipients.message_id" \
	"   AND busy.claimed != 0)))"

static int
queue_db_outbound_fail(sqlite3 *db, const char *what, char **error_r)
{
	*error_r = xasprintf("queue.db: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

int
queue_db_outbound_reset(struct queue_db *qdb, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);

	if (sqlite3_exec(db, "UPDATE recipients SET claimed = 0"
	    " WHERE claimed != 0", NULL, NULL, NULL) != SQLITE_OK)
		return queue_db_outbound_fail(db, "reset claims", error_r);
	return 0;
}

int
queue_db_outbound_claim(struct queue_db *qdb, int64_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *msgs = NULL, *rcpts = NULL, *claim = NULL;
	struct queue_envelope *envs = NULL;
	size_t n = 0;
	int ret = -1, rc = SQLITE_DONE;

	*envs_r = NULL;
	*n_r = 0;
	if (max == 0)
		return 0;
	/* IMMEDIATE: the select and the claim see the same rows. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return queue_db_outbound_fail(db, "begin", error_r);
	if (sqlite3_prepare_v2(db, QUEUE_DB_MESSAGE_COLUMNS
	    " WHERE id IN (SELECT message_id FROM recipients WHERE "
	    QUEUE_DB_WORK ") ORDER BY arrival, id LIMIT :max", -1, &msgs,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, QUEUE_DB_RCPT_COLUMNS
	    " WHERE message_id = ?1 AND " QUEUE_DB_WORK " ORDER BY idx", -1,
	    &rcpts, NULL) != SQLITE_OK ||
	    /* Exactly the rows read: QUEUE_DB_WORK looks at the claims
	       this statement makes. */
	    sqlite3_prepare_v2(db, "UPDATE recipients SET claimed = 1"
	    " WHERE message_id = ?1 AND idx = ?2", -1, &claim,
	    NULL) != SQLITE_OK) {
		queue_db_outbound_fail(db, "prepare", error_r);
		goto out;
	}
	sqlite3_bind_int64(msgs, sqlite3_bind_parameter_index(msgs, ":now"),
	    now);
	sqlite3_bind_int64(msgs, sqlite3_bind_parameter_index(msgs, ":max"),
	    max > INT32_MAX ? INT32_MAX : (int)max);
	sqlite3_bind_int64(rcpts, sqlite3_bind_parameter_index(rcpts,
	    ":now"), now);
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
		for (size_t i = 0; i < envs[n - 1].n_rcpts; i++) {
			sqlite3_reset(claim);
			sqlite3_bind_text(claim, 1, envs[n - 1].id, -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(claim, 2, envs[n - 1].rcpts[i].idx);
			if (sqlite3_step(claim) != SQLITE_DONE) {
				queue_db_outbound_fail(db, "claim", error_r);
				goto out;
			}
		}
	}
	if (n < max && rc != SQLITE_DONE) {
		queue_db_outbound_fail(db, "select work", error_r);
		goto out;
	}
	sqlite3_finalize(msgs);
	sqlite3_finalize(rcpts);
	sqlite3_finalize(claim);
	msgs = rcpts = claim = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		queue_db_outbound_fail(db, "commit", error_r);
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
	sqlite3_finalize(claim);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	queue_envelopes_free(envs, n);
	return ret;
}

int
queue_db_outbound_next(struct queue_db *qdb, int64_t *when_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *stmt;
	int ret = -1;

	if (sqlite3_prepare_v2(db, "SELECT min(retry_at) FROM recipients"
	    " WHERE status = 'outbound' AND claimed = 0", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return queue_db_outbound_fail(db, "prepare", error_r);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		ret = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 1 : 0;
		*when_r = sqlite3_column_int64(stmt, 0);
	} else {
		queue_db_outbound_fail(db, "select next", error_r);
	}
	sqlite3_finalize(stmt);
	return ret;
}

static void
queue_db_outbound_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

/* One message inside the open transaction: 1 when it is now done (and was
   deleted), 0 when not, -1. */
static int
queue_db_outbound_record_one(sqlite3 *db, sqlite3_stmt *const *st,
    const struct queue_outbound_result *r, int64_t now, char **error_r)
{
	sqlite3_stmt *set = st[0], *release = st[1], *ev = st[2],
	    *left = st[3], *del = st[4];

	for (size_t i = 0; i < r->n_rcpts; i++) {
		const struct queue_outbound_rcpt *rc = &r->rcpts[i];

		if (rc->status != NULL) {
			sqlite3_reset(set);
			sqlite3_bind_text(set, 1, r->id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(set, 2, rc->idx);
			sqlite3_bind_text(set, 3, rc->status, -1,
			    SQLITE_STATIC);
			queue_db_outbound_text(set, 4, rc->last_error);
			queue_db_outbound_text(set, 5, rc->relay);
			sqlite3_bind_int64(set, 6, (int64_t)rc->retry_at);
			sqlite3_bind_int(set, 7, rc->attempted ? 1 : 0);
			if (sqlite3_step(set) != SQLITE_DONE)
				return queue_db_outbound_fail(db,
				    "update recipient", error_r);
		}
		sqlite3_reset(release);
		sqlite3_bind_text(release, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(release, 2, rc->idx);
		sqlite3_bind_int(release, 3, (int)(rc->dsn_sent & 3));
		if (sqlite3_step(release) != SQLITE_DONE)
			return queue_db_outbound_fail(db, "release", error_r);
		if (rc->event == NULL)
			continue;
		sqlite3_reset(ev);
		sqlite3_bind_text(ev, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ev, 2, now);
		sqlite3_bind_text(ev, 3, rc->event, -1, SQLITE_STATIC);
		queue_db_outbound_text(ev, 4, rc->detail);
		sqlite3_bind_int64(ev, 5, rc->idx);
		if (sqlite3_step(ev) != SQLITE_DONE)
			return queue_db_outbound_fail(db, "insert event",
			    error_r);
	}
	sqlite3_reset(left);
	sqlite3_bind_text(left, 1, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(left) != SQLITE_ROW)
		return queue_db_outbound_fail(db, "count recipients", error_r);
	if (sqlite3_column_int64(left, 0) > 0)
		return 0;
	sqlite3_reset(del);
	sqlite3_bind_text(del, 1, r->id, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		return queue_db_outbound_fail(db, "delete message", error_r);
	return sqlite3_changes(db) > 0 ? 1 : 0;
}

int
queue_db_outbound_record(struct queue_db *qdb,
    const struct queue_outbound_result *results, size_t n,
    char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r, char **error_r)
{
	static const char *const sql[] = {
		/* Only while still outbound: an administrator's bounce or
		   delete during the attempt wins. */
		"UPDATE recipients SET status = ?3,"
		" last_error = coalesce(?4, last_error),"
		" relay = coalesce(?5, relay), retry_at = ?6,"
		" tries = tries + ?7"
		" WHERE message_id = ?1 AND idx = ?2 AND status = 'outbound'",
		"UPDATE recipients SET claimed = 0, dsn_sent = dsn_sent | ?3"
		" WHERE message_id = ?1 AND idx = ?2",
		QUEUE_DB_EVENT_RCPT_SQL,
		QUEUE_DB_LEFT_SQL,
		"DELETE FROM messages WHERE id = ?1",
	};
	enum { N_STMTS = sizeof(sql) / sizeof(sql[0]) };
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st[N_STMTS] = { NULL };
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n_done = 0;
	int64_t now = (int64_t)time(NULL);
	int ret = -1, rc;

	*done_r = NULL;
	*n_done_r = 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return queue_db_outbound_fail(db, "begin", error_r);
	for (size_t i = 0; i < N_STMTS; i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) !=
		    SQLITE_OK) {
			queue_db_outbound_fail(db, "prepare", error_r);
			goto out;
		}
	}
	done = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*done));
	for (size_t i = 0; i < n; i++) {
		rc = queue_db_outbound_record_one(db, st, &results[i], now,
		    error_r);
		if (rc == -1)
			goto out;
		if (rc == 1 && strlen(results[i].id) < QUEUE_ID_SIZE)
			memcpy(done[n_done++], results[i].id,
			    strlen(results[i].id) + 1);
	}
	for (size_t i = 0; i < N_STMTS; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		queue_db_outbound_fail(db, "commit", error_r);
		goto out;
	}
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
