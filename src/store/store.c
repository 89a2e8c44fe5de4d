/* store.c — the store handle: opening an account (directories, lock,
   index.db), errors, and the transaction machinery every modifying call
   goes through (store_private.h).

   Durability (DESIGN.md §3): a call that stores bytes writes and fsyncs
   its file (or links an already durable one) before anything refers to
   it; store_txn_end then fsyncs each msg/<xx> directory that received a
   file, and only then COMMITs. Files whose rows went away are unlinked
   after the COMMIT, so a crash in between leaves an orphan file (removed
   by store_gc.c), never a row without its file. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/xmalloc.h"

int
store_fail(struct store *store, int code, const char *fmt, ...)
{
	va_list ap;

	free(store->error);
	va_start(ap, fmt);
	store->error = xvasprintf(fmt, ap);
	va_end(ap);
	return code;
}

const char *
store_error(const struct store *store)
{
	return store->error != NULL ? store->error : "no error";
}

int64_t
store_account_id(const struct store *store)
{
	return store->account_id;
}

void
store_set_limits(struct store *store, const struct store_limits *limits)
{
	if (limits != NULL)
		store->limits = *limits;
	else
		memset(&store->limits, 0, sizeof(store->limits));
}

/* Creates DATA/accounts/<id>/msg and makes every new directory entry on
   the way durable: a message fsynced into msg/<xx> is lost all the same
   if "<id>" itself vanishes in a crash. */
static int
store_open_dirs(struct store *s, const char *data_dir, char **error_r)
{
	char *accounts = xasprintf("%s/accounts", data_dir);
	char *msg = xasprintf("%s/msg", s->dir);
	struct stat st;
	bool existed = stat(msg, &st) == 0;
	int ret = -1;

	if (!existed) {
		if (fsutil_mkdir_p(msg, 0700) == -1) {
			*error_r = xasprintf("%s: %s", msg, strerror(errno));
			goto out;
		}
		if (fsutil_fsync_dir(s->dir) == -1 ||
		    fsutil_fsync_dir(accounts) == -1 ||
		    fsutil_fsync_dir(data_dir) == -1) {
			*error_r = xasprintf("%s: fsync: %s", s->dir,
			    strerror(errno));
			goto out;
		}
	}
	s->msg_fd = open(msg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->msg_fd == -1) {
		*error_r = xasprintf("%s: %s", msg, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(accounts);
	free(msg);
	return ret;
}

static int
store_open_db(struct store *s, char **error_r)
{
	char *path = xasprintf("%s/index.db", s->dir);
	sqlite3_stmt *stmt = NULL;
	const unsigned char *mode;
	struct stat st;
	bool created = stat(path, &st) == -1 && errno == ENOENT;
	int ret = -1;

	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &stmt,
	    NULL) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		*error_r = xasprintf("%s: %s", path, sqlite3_errmsg(s->db));
		goto out;
	}
	/* A file system without shared memory keeps the rollback journal:
	   refuse it rather than run with other durability than designed. */
	mode = sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		*error_r = xasprintf("%s: cannot enable WAL", path);
		goto out;
	}
	/* Finalized now: an open statement would keep the COMMITs of the
	   migration below from completing. */
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* FULL: the WAL is fsynced at every COMMIT, which is what lets the
	   caller acknowledge (NORMAL syncs only at checkpoints). */
	if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path, sqlite3_errmsg(s->db));
		goto out;
	}
	if (store_schema_migrate(s) != STORE_OK) {
		*error_r = xasprintf("%s: %s", path, store_error(s));
		goto out;
	}
	/* SQLite makes the WAL's directory entry durable, not the new
	   database file's: without it a crash could keep the WAL and lose
	   index.db. */
	if (created && fsutil_fsync_dir(s->dir) == -1) {
		*error_r = xasprintf("%s: fsync: %s", s->dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	free(path);
	return ret;
}

int
store_open(const char *data_dir, int64_t account_id,
    const struct store_limits *limits, struct store **store_r,
    char **error_r)
{
	struct store *s;

	*store_r = NULL;
	if (account_id <= 0) {
		*error_r = xasprintf("bad account id %lld",
		    (long long)account_id);
		return STORE_INVALID;
	}
	s = xcalloc(1, sizeof(*s));
	s->dir = xasprintf("%s/accounts/%lld", data_dir,
	    (long long)account_id);
	s->msg_fd = s->lock_fd = -1;
	s->txn_dir = -1;
	s->account_id = account_id;
	store_set_limits(s, limits);
	if (store_open_dirs(s, data_dir, error_r) == -1 ||
	    store_open_db(s, error_r) == -1 ||
	    store_gc_open(s, error_r) == -1) {
		store_close(&s);
		return STORE_IO;
	}
	*store_r = s;
	return STORE_OK;
}

void
store_close(struct store **storep)
{
	struct store *s = *storep;

	if (s == NULL)
		return;
	if (s->user_txn)
		store_rollback(s);
	store_db_finalize_all(s);
	if (s->db != NULL)
		sqlite3_close(s->db);
	if (s->msg_fd != -1)
		close(s->msg_fd);
	if (s->lock_fd != -1)
		close(s->lock_fd);	/* releases the flock */
	store_file_list_drop(s->created, &s->n_created, 0);
	store_file_list_drop(s->doomed, &s->n_doomed, 0);
	free(s->created);
	free(s->doomed);
	free(s->error);
	free(s->dir);
	free(s);
	*storep = NULL;
}

/* --- transactions ------------------------------------------------------- */

static void
store_txn_reset(struct store *s)
{
	memset(s->dirty_dirs, 0, sizeof(s->dirty_dirs));
	s->txn_dir = -1;
	s->changed = false;
}

/* The top-level COMMIT with everything that must precede and follow it. */
static int
store_txn_commit(struct store *s)
{
	bool changed = s->changed;
	int ret;

	ret = store_file_sync_dirs(s);
	if (ret == STORE_OK && sqlite3_exec(s->db, "COMMIT", NULL, NULL,
	    NULL) != SQLITE_OK)
		ret = store_db_fail(s, "commit");
	if (ret != STORE_OK) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		store_file_list_unlink(s, s->created, &s->n_created, 0);
		store_file_list_drop(s->doomed, &s->n_doomed, 0);
		store_txn_reset(s);
		return ret;
	}
	/* Committed: what was created stays, what was dropped goes. No
	   directory fsync for the unlinks: a file that comes back after a
	   crash has no row and is an orphan like any other. */
	store_file_list_drop(s->created, &s->n_created, 0);
	store_file_list_unlink(s, s->doomed, &s->n_doomed, 0);
	store_txn_reset(s);
	if (changed)
		store_watch_notify(s->account_id);
	return STORE_OK;
}

static void
store_txn_abort(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_file_list_unlink(s, s->created, &s->n_created, 0);
	store_file_list_drop(s->doomed, &s->n_doomed, 0);
	store_txn_reset(s);
}

void
store_txn_init(struct store *s, struct store_txn *txn)
{
	txn->created_mark = s->n_created;
	txn->doomed_mark = s->n_doomed;
	txn->top = !s->user_txn;
	txn->started = false;
}

int
store_txn_begin(struct store *s, struct store_txn *txn)
{
	/* IMMEDIATE: take the write lock now, so UIDs and MODSEQs read below
	   cannot be taken by another writer before we write them back. */
	const char *sql = txn->top ? "BEGIN IMMEDIATE" : "SAVEPOINT store_call";

	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_fail(s, txn->top ? "begin" : "savepoint");
	txn->started = true;
	return STORE_OK;
}

int
store_txn_end(struct store *s, struct store_txn *txn, int ret)
{
	if (txn->top) {
		if (ret == STORE_OK)
			return store_txn_commit(s);
		store_txn_abort(s);
		return ret;
	}
	if (ret == STORE_OK) {
		if (sqlite3_exec(s->db, "RELEASE store_call", NULL, NULL,
		    NULL) == SQLITE_OK)
			return STORE_OK;
		ret = store_db_fail(s, "release");
	}
	/* Inside store_begin: undo this call only; the batch goes on. */
	if (txn->started && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK TO store_call; "
		    "RELEASE store_call", NULL, NULL, NULL);
	store_file_list_unlink(s, s->created, &s->n_created,
	    txn->created_mark);
	store_file_list_drop(s->doomed, &s->n_doomed, txn->doomed_mark);
	return ret;
}

int
store_begin(struct store *s)
{
	if (s->user_txn)
		return store_fail(s, STORE_INVALID,
		    "a transaction is already open");
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_db_fail(s, "begin");
	store_txn_reset(s);
	s->user_txn = true;
	return STORE_OK;
}

int
store_commit(struct store *s)
{
	if (!s->user_txn)
		return store_fail(s, STORE_INVALID, "no transaction is open");
	s->user_txn = false;
	return store_txn_commit(s);
}

void
store_rollback(struct store *s)
{
	if (!s->user_txn)
		return;
	s->user_txn = false;
	store_txn_abort(s);
}
