/* queue_mta_sts.c — the MTA-STS policy cache (RFC 8461 §3.3: a policy is
   kept for its max_age and replaced when the TXT id changes), in queue.db's
   mta_sts table, on the delivery agents' connection (deliver_mutex). */
#include "queue/queue_private.h"

#include <sqlite3.h>

#include "lib/xmalloc.h"

static int
queue_mta_sts_fail(sqlite3 *db, sqlite3_stmt *stmt, const char *what,
    char **error_r)
{
	*error_r = xasprintf("queue.db: mta_sts %s: %s", what,
	    sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	return -1;
}

int
queue_mta_sts_get(struct queue *q, const char *domain, char **policy_id_r,
    char **policy_r, time_t *expires_r, char **error_r)
{
	sqlite3 *db;
	sqlite3_stmt *stmt = NULL;
	int rc, ret = 1;

	*policy_id_r = *policy_r = NULL;
	pthread_mutex_lock(&q->deliver_mutex);
	db = queue_db_sqlite(q->ddb);
	if (sqlite3_prepare_v2(db, "SELECT policy_id, policy, expires FROM"
	    " mta_sts WHERE domain = ?1", -1, &stmt, NULL) != SQLITE_OK) {
		ret = queue_mta_sts_fail(db, stmt, "prepare", error_r);
		goto out;
	}
	sqlite3_bind_text(stmt, 1, domain, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*policy_id_r = xstrdup((const char *)sqlite3_column_text(stmt,
		    0));
		*policy_r = xstrdup((const char *)sqlite3_column_text(stmt, 1));
		*expires_r = (time_t)sqlite3_column_int64(stmt, 2);
		ret = 0;
	} else if (rc != SQLITE_DONE) {
		ret = queue_mta_sts_fail(db, stmt, "select", error_r);
		stmt = NULL;
		goto out;
	}
	sqlite3_finalize(stmt);
out:
	pthread_mutex_unlock(&q->deliver_mutex);
	return ret;
}

int
queue_mta_sts_put(struct queue *q, const char *domain, const char *policy_id,
    const char *policy, time_t fetched, time_t expires, char **error_r)
{
	sqlite3 *db;
	sqlite3_stmt *stmt = NULL;
	int ret = 0;

	pthread_mutex_lock(&q->deliver_mutex);
	db = queue_db_sqlite(q->ddb);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO mta_sts (domain,"
	    " policy_id, policy, fetched, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
	    -1, &stmt, NULL) != SQLITE_OK) {
		ret = queue_mta_sts_fail(db, stmt, "prepare", error_r);
		goto out;
	}
	sqlite3_bind_text(stmt, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, policy_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, policy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)fetched);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)expires);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = queue_mta_sts_fail(db, stmt, "insert", error_r);
		goto out;
	}
	sqlite3_finalize(stmt);
out:
	pthread_mutex_unlock(&q->deliver_mutex);
	return ret;
}
