/* queue_db_admin.c — the administrator's operations on the queue (retry
   now, delete, bounce) and the trace events every part of the queue's
   life writes (petrel trace). Every operation is one transaction and
   leaves its own event, so the story shows who did what. */
#include "queue/queue_private.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

/* ?1: one message id, or NULL for all. */
#define QUEUE_DB_ADMIN_WHICH "(?1 IS NULL OR id = ?1)"

static int
queue_db_admin_fail(sqlite3 *db, const char *what, char **error_r)
{
	*error_r = xasprintf("queue.db: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* Runs the statements of sql in order in one IMMEDIATE transaction, with
   ?1 = id (or NULL), ?2 = now, ?3 = text (if used); the first must be the
   count of messages concerned, returned. */
static int
queue_db_admin_run(sqlite3 *db, const char *const *sql, size_t n,
    const char *id, const char *text, char **error_r)
{
	int count = -1, rc;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return queue_db_admin_fail(db, "begin", error_r);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) !=
		    SQLITE_OK) {
			queue_db_admin_fail(db, "prepare", error_r);
			goto fail;
		}
		if (id != NULL)
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		if (sqlite3_bind_parameter_count(st) >= 3 && text != NULL)
			sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (i == 0 && rc == SQLITE_ROW)
			count = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			queue_db_admin_fail(db, "update", error_r);
			goto fail;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		queue_db_admin_fail(db, "commit", error_r);
		goto fail;
	}
	return count < 0 ? 0 : count;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
queue_db_admin_retry(struct queue_db *qdb, const char *id, char **error_r)
{
	static const char *const sql[] = {
		"SELECT count(*) FROM messages WHERE " QUEUE_DB_ADMIN_WHICH,
		"UPDATE messages SET next_attempt = 0 WHERE "
		QUEUE_DB_ADMIN_WHICH,
		"UPDATE recipients SET retry_at = 0 WHERE status = 'outbound'"
		" AND (?1 IS NULL OR message_id = ?1)",
		"INSERT INTO events (qid, time, event, detail)"
		" SELECT id, ?2, 'admin', 'action=retry' FROM messages WHERE "
		QUEUE_DB_ADMIN_WHICH,
	};

	return queue_db_admin_run(queue_db_sqlite(qdb), sql,
	    sizeof(sql) / sizeof(sql[0]), id, NULL, error_r);
}

int
queue_db_admin_bounce(struct queue_db *qdb, const char *id,
    const char *reason, char **error_r)
{
	static const char *const sql[] = {
		"SELECT count(*) FROM messages WHERE " QUEUE_DB_ADMIN_WHICH,
		"INSERT INTO events (qid, time, event, rcpt, detail)"
		" SELECT message_id, ?2, 'failed', address, ?3 FROM recipients"
		" WHERE status IN ('queued', 'deferred', 'outbound')"
		" AND (?1 IS NULL OR message_id = ?1)",
		"UPDATE recipients SET status = 'failed', last_error = ?3,"
		" retry_at = ?2 WHERE status IN ('queued', 'deferred',"
		" 'outbound') AND (?1 IS NULL OR message_id = ?1)",
	};

	return queue_db_admin_run(queue_db_sqlite(qdb), sql,
	    sizeof(sql) / sizeof(sql[0]), id, reason, error_r);
}

int
queue_db_admin_delete(struct queue_db *qdb, const char *id,
    char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st = NULL;
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*done_r = NULL;
	*n_done_r = 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return queue_db_admin_fail(db, "begin", error_r);
	if (sqlite3_prepare_v2(db, "SELECT id FROM messages WHERE "
	    QUEUE_DB_ADMIN_WHICH, -1, &st, NULL) != SQLITE_OK) {
		queue_db_admin_fail(db, "prepare", error_r);
		goto fail;
	}
	if (id != NULL)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		if (s == NULL || strlen(s) >= QUEUE_ID_SIZE)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			done = xreallocarray(done, cap, sizeof(*done));
		}
		memcpy(done[n++], s, strlen(s) + 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		queue_db_admin_fail(db, "select", error_r);
		goto fail;
	}
	static const char *const sql[] = {
		"INSERT INTO events (qid, time, event, detail)"
		" SELECT id, ?2, 'admin', 'action=delete' FROM messages"
		" WHERE " QUEUE_DB_ADMIN_WHICH,
		"DELETE FROM messages WHERE " QUEUE_DB_ADMIN_WHICH,
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) !=
		    SQLITE_OK) {
			queue_db_admin_fail(db, "prepare", error_r);
			goto fail;
		}
		if (id != NULL)
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			queue_db_admin_fail(db, "delete", error_r);
			goto fail;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		queue_db_admin_fail(db, "commit", error_r);
		goto fail;
	}
	*done_r = done;
	*n_done_r = n;
	return (int)n;
fail:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	free(done);
	return -1;
}

int
queue_db_event_add(struct queue_db *qdb, const char *qid, const char *event,
    const char *rcpt, const char *detail, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO events (qid, time, event,"
	    " rcpt, detail) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) !=
	    SQLITE_OK)
		return queue_db_admin_fail(db, "prepare", error_r);
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
	if (rcpt != NULL)
		sqlite3_bind_text(st, 4, rcpt, -1, SQLITE_STATIC);
	if (detail != NULL)
		sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return queue_db_admin_fail(db, "insert event", error_r);
	return 0;
}

int
queue_db_events_trim(struct queue_db *qdb, int64_t before, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "DELETE FROM events WHERE time < ?1", -1,
	    &st, NULL) != SQLITE_OK)
		return queue_db_admin_fail(db, "prepare", error_r);
	sqlite3_bind_int64(st, 1, before);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return queue_db_admin_fail(db, "trim events", error_r);
	return 0;
}

int
queue_db_msgid_queued(struct queue_db *qdb, const char *msgid,
    char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM events WHERE msgid = ?1"
	    " AND event = 'queued' LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return queue_db_admin_fail(db, "prepare", error_r);
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return queue_db_admin_fail(db, "select msgid", error_r);
	return 0;
}

static char *
queue_db_admin_str(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s == NULL ? NULL : xstrndup((const char *)s,
	    (size_t)sqlite3_column_bytes(st, col));
}

int
queue_db_trace(struct queue_db *qdb, const char *key,
    struct queue_event **events_r, size_t *n_r, char **error_r)
{
	sqlite3 *db = queue_db_sqlite(qdb);
	sqlite3_stmt *st = NULL;
	struct queue_event *evs = NULL;
	size_t n = 0, cap = 0, len = strlen(key);
	char *msgid;
	int rc, ret = -1;

	*events_r = NULL;
	*n_r = 0;
	/* A Message-ID is looked up with its brackets, as indexed. */
	if (len > 0 && key[0] == '<')
		msgid = xstrdup(key);
	else
		msgid = xasprintf("<%s>", key);
	if (sqlite3_prepare_v2(db, "SELECT qid, time, event, rcpt, detail"
	    " FROM events WHERE qid = ?1 OR qid IN (SELECT qid FROM events"
	    " WHERE msgid = ?2) ORDER BY time, id", -1, &st, NULL) !=
	    SQLITE_OK) {
		queue_db_admin_fail(db, "prepare", error_r);
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msgid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *qid = (const char *)sqlite3_column_text(st, 0);
		struct queue_event *e;

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			evs = xreallocarray(evs, cap, sizeof(*evs));
		}
		e = &evs[n++];
		memset(e, 0, sizeof(*e));
		if (qid != NULL && strlen(qid) < sizeof(e->qid))
			memcpy(e->qid, qid, strlen(qid) + 1);
		e->time = (time_t)sqlite3_column_int64(st, 1);
		e->event = queue_db_admin_str(st, 2);
		e->rcpt = queue_db_admin_str(st, 3);
		e->detail = queue_db_admin_str(st, 4);
		if (e->event == NULL)
			e->event = xstrdup("?");
	}
	if (rc != SQLITE_DONE) {
		queue_db_admin_fail(db, "select events", error_r);
		goto out;
	}
	*events_r = evs;
	*n_r = n;
	evs = NULL;
	n = 0;
	ret = 0;
out:
	sqlite3_finalize(st);
	queue_events_free(evs, n);
	free(msgid);
	return ret;
}
