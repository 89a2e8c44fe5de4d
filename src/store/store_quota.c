/* store_quota.c — the account's usage and its limits (RFC 9208 STORAGE
   and MESSAGE). The totals live in the one row of the account table,
   kept by triggers in the same transaction as every message row (see
   store_schema.c), so the check inside a write transaction is exact.

   store_usage_peek serves the quota check at RCPT time: a read-only
   connection, one indexed row, no write lock and no orphan scan. */
#include "store/store_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/xmalloc.h"

#define STORE_QUOTA_SQL "SELECT bytes, messages FROM account WHERE id = 1"

static const char store_sql_usage[] = STORE_QUOTA_SQL;

static void
store_quota_read(sqlite3_stmt *st, struct store_usage *usage)
{
	sqlite3_int64 bytes = sqlite3_column_int64(st, 0);
	sqlite3_int64 messages = sqlite3_column_int64(st, 1);

	usage->bytes = bytes < 0 ? 0 : (uint64_t)bytes;
	usage->messages = messages < 0 ? 0 : (uint64_t)messages;
}

int
store_usage(struct store *s, struct store_usage *usage_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_usage);
	int ret = STORE_OK;

	memset(usage_r, 0, sizeof(*usage_r));
	if (st == NULL)
		return STORE_IO;
	if (sqlite3_step(st) == SQLITE_ROW)
		store_quota_read(st, usage_r);
	else
		ret = store_db_fail(s, "usage");
	sqlite3_reset(st);
	return ret;
}

int
store_quota_check(struct store *s, uint64_t bytes, uint64_t messages)
{
	const struct store_limits *l = &s->limits;
	struct store_usage u;
	uint64_t total;
	int ret;

	if (l->quota_bytes == 0 && l->quota_messages == 0)
		return STORE_OK;
	if (messages == 1 && l->quota_bytes != 0 && bytes > l->quota_bytes)
		return store_fail(s, STORE_TOO_BIG, "message of %llu bytes "
		    "is larger than the quota of %llu bytes",
		    (unsigned long long)bytes,
		    (unsigned long long)l->quota_bytes);
	if ((ret = store_usage(s, &u)) != STORE_OK)
		return ret;
	if (l->quota_bytes != 0 &&
	    (__builtin_add_overflow(u.bytes, bytes, &total) ||
	    total > l->quota_bytes))
		return store_fail(s, STORE_OVER_QUOTA, "quota exceeded: "
		    "%llu of %llu bytes used, %llu more needed",
		    (unsigned long long)u.bytes,
		    (unsigned long long)l->quota_bytes,
		    (unsigned long long)bytes);
	if (l->quota_messages != 0 &&
	    (__builtin_add_overflow(u.messages, messages, &total) ||
	    total > l->quota_messages))
		return store_fail(s, STORE_OVER_QUOTA, "quota exceeded: "
		    "%llu of %llu messages", (unsigned long long)u.messages,
		    (unsigned long long)l->quota_messages);
	return STORE_OK;
}

int
store_usage_peek(const char *data_dir, int64_t account_id,
    struct store_usage *usage_r, char **error_r)
{
	char *path = xasprintf("%s/accounts/%lld/index.db", data_dir,
	    (long long)account_id);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	int ret = STORE_IO, rc;

	memset(usage_r, 0, sizeof(*usage_r));
	/* Never opened: no mail, and nothing to create here (a peek must not
	   make the account's files as a side effect). */
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT) {
			ret = STORE_OK;
		} else {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
		}
		goto out;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	rc = sqlite3_prepare_v2(db, STORE_QUOTA_SQL, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* Created but not migrated yet (a store_open racing us): the
		   account is empty. */
		if (strstr(sqlite3_errmsg(db), "no such table") != NULL) {
			ret = STORE_OK;
			goto out;
		}
		*error_r = xasprintf("%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_quota_read(st, usage_r);
	} else if (rc != SQLITE_DONE) {
		*error_r = xasprintf("%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	ret = STORE_OK;
out:
	sqlite3_finalize(st);
	if (db != NULL)
		sqlite3_close(db);
	free(path);
	return ret;
}
