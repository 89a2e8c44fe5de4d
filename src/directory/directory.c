/* directory.c — opening DATA/directory.db and the statement cache.

   Connection settings and why: WAL so that readers (every I/O thread)
   never wait for a writer (the CLI, the API) and see each commit at their
   next transaction; synchronous=FULL so an admin write that returned is on
   disk even after a power cut; foreign_keys=ON for the cascades the
   schema relies on; busy_timeout 5 s so two writers queue instead of
   failing. SQLite stays behind this module (DESIGN.md §3). */
#include "directory/directory_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DIRECTORY_BUSY_TIMEOUT_MS 5000

static const char *const directory_stmt_sql[DIRECTORY_STMT_COUNT] = {
	[DIRECTORY_STMT_BEGIN] = "BEGIN",
	[DIRECTORY_STMT_COMMIT] = "COMMIT",
	[DIRECTORY_STMT_ROLLBACK] = "ROLLBACK",
	[DIRECTORY_STMT_DOMAIN] =
	    "SELECT id, name, enabled, catch_all FROM domains WHERE name = ?1",
	[DIRECTORY_STMT_ALIAS_DOMAIN] =
	    "SELECT d.id, d.name, d.enabled, d.catch_all"
	    " FROM alias_domains a JOIN domains d ON d.id = a.target_id"
	    " WHERE a.name = ?1",
	[DIRECTORY_STMT_ALIAS] =
	    "SELECT id, internal FROM addresses WHERE address = ?1",
	/* Parenthesised: clang flags two adjacent literals in an array. */
	[DIRECTORY_STMT_DESTINATIONS] =
	    ("SELECT destination FROM address_destinations"
	    " WHERE address_id = ?1 ORDER BY id"),
	[DIRECTORY_STMT_ACCOUNT] =
	    ("SELECT id, address, enabled, quota_bytes, quota_messages,"
	    " plus_mode,"
	    " (SELECT value FROM account_settings"
	    "  WHERE account_id = accounts.id AND key = 'forward'),"
	    " (SELECT value FROM account_settings"
	    "  WHERE account_id = accounts.id AND key = 'forward_keep')"
	    " FROM accounts WHERE address = ?1"),
	[DIRECTORY_STMT_SETTING] =
	    "SELECT value FROM settings WHERE key = ?1",
};

sqlite3_stmt *
directory_stmt(struct directory *dir, enum directory_stmt which)
{
	sqlite3_stmt *stmt = dir->stmts[which];

	if (stmt != NULL) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		return stmt;
	}
	if (sqlite3_prepare_v3(dir->db, directory_stmt_sql[which], -1,
	    SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
		log_warn("directory: event=prepare_failed error=\"%s\"",
		    sqlite3_errmsg(dir->db));
		return NULL;
	}
	dir->stmts[which] = stmt;
	return stmt;
}

/* One PRAGMA that answers a row: checks the answer when want is set. */
static int
directory_pragma(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *stmt;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(stmt);
	if (want == NULL)
		ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
	else if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != NULL &&
	    strcmp((const char *)sqlite3_column_text(stmt, 0), want) == 0)
		ret = 0;
	sqlite3_finalize(stmt);
	return ret;
}

int
directory_open(const char *data_dir, bool create, struct directory **dir_r,
    char **error_r)
{
	struct directory *dir;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*dir_r = NULL;
	dir = xcalloc(1, sizeof(*dir));
	dir->path = xasprintf("%s/directory.db", data_dir);
	if (create) {
		int fd;

		if (fsutil_mkdir_p(data_dir, 0750) == -1) {
			*error_r = xasprintf("cannot create %s: %s", data_dir,
			    strerror(errno));
			goto fail;
		}
		/* Created here with 0640 rather than by SQLite with 0644:
		   it holds password hashes. SQLite gives the -wal and -shm
		   files the mode of the database. */
		fd = open(dir->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1) {
			*error_r = xasprintf("cannot create %s: %s", dir->path,
			    strerror(errno));
			goto fail;
		}
		close(fd);
		flags |= SQLITE_OPEN_CREATE;
	} else if (access(dir->path, F_OK) == -1) {
		*error_r = xasprintf("%s: %s (run petrel quickstart first)",
		    dir->path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(dir->path, &dir->db, flags, NULL) != SQLITE_OK) {
		*error_r = xasprintf("cannot open %s: %s", dir->path,
		    dir->db != NULL ? sqlite3_errmsg(dir->db) :
		    "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(dir->db, 1);
	sqlite3_busy_timeout(dir->db, DIRECTORY_BUSY_TIMEOUT_MS);
	if (directory_pragma(dir->db, "PRAGMA foreign_keys = ON", NULL) == -1 ||
	    directory_pragma(dir->db, "PRAGMA synchronous = FULL", NULL) == -1 ||
	    directory_pragma(dir->db, "PRAGMA trusted_schema = OFF",
	    NULL) == -1 ||
	    directory_pragma(dir->db, "PRAGMA journal_mode = WAL",
	    "wal") == -1) {
		*error_r = xasprintf("%s: cannot configure: %s", dir->path,
		    sqlite3_errmsg(dir->db));
		goto fail;
	}
	if (directory_schema_migrate(dir->db, error_r) == -1)
		goto fail;
	*dir_r = dir;
	return 0;

fail:
	directory_close(&dir);
	return -1;
}

void
directory_close(struct directory **dirp)
{
	struct directory *dir = *dirp;

	if (dir == NULL)
		return;
	for (size_t i = 0; i < DIRECTORY_STMT_COUNT; i++)
		sqlite3_finalize(dir->stmts[i]);
	/* close_v2 only defers when statements are left; none are. */
	if (dir->db != NULL && sqlite3_close(dir->db) != SQLITE_OK)
		log_warn("directory: event=close_failed error=\"%s\"",
		    sqlite3_errmsg(dir->db));
	free(dir->path);
	free(dir);
	*dirp = NULL;
}

/* Returns 1 when the statement found a row for name, 0 when not, -1 on
   a database error. */
static int
directory_lookup_name(struct directory *dir, enum directory_stmt which,
    const char *name)
{
	sqlite3_stmt *stmt = directory_stmt(dir, which);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

bool
directory_is_local_domain(struct directory *dir, const char *domain)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	const char *error;
	int rc;

	if (directory_address_domain(domain, strnlen(domain,
	    DIRECTORY_DOMAIN_MAX + 1), norm, &error) == -1)
		return false;
	rc = directory_lookup_name(dir, DIRECTORY_STMT_DOMAIN, norm);
	if (rc == 0)
		rc = directory_lookup_name(dir, DIRECTORY_STMT_ALIAS_DOMAIN,
		    norm);
	if (rc == -1)
		/* bool has no room for "don't know"; callers that must tell
		   use directory_resolve, which answers TEMPFAIL. */
		log_warn("directory: event=lookup_failed error=\"%s\"",
		    sqlite3_errmsg(dir->db));
	return rc == 1;
}

static const char *const directory_plus_mode_names[] = {
	[DIRECTORY_PLUS_IGNORE] = "ignore",
	[DIRECTORY_PLUS_FOLDER] = "folder",
	[DIRECTORY_PLUS_SUBJECT] = "subject",
};

int
directory_plus_mode_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(directory_plus_mode_names) /
	    sizeof(directory_plus_mode_names[0]); i++)
		if (strcmp(name, directory_plus_mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
directory_plus_mode_name(enum directory_plus_mode mode)
{
	return directory_plus_mode_names[mode];
}
