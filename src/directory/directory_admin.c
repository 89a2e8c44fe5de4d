/* directory_admin.c — CRUD on the directory for the CLI, quickstart and
   the API (directory_admin.h): the helpers the directory_admin_*.c files
   share, and the global settings. Domains, accounts and aliases have a
   file each.

   Every change runs in one BEGIN IMMEDIATE transaction: the checks that
   decide an error ("already exists", "no such domain", "still has
   accounts") read inside the transaction that writes, so two admins cannot
   race past them, and the write lock is taken up front so a busy database
   waits (busy_timeout) instead of failing half-way. Admin statements are
   prepared per call: they are rare, resolve() has the cached ones.
   Anything from the caller that goes into an error message is escaped
   with log_str first. */
#include "directory/directory_admin.h"
#include "directory/directory_admin_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

void
directory_error_clear(struct directory_error *err)
{
	free(err->message);
	err->message = NULL;
	err->code = DIRECTORY_ERROR_NONE;
}

int
directory_admin_fail(struct directory_error *err,
    enum directory_error_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	free(err->message);
	err->code = code;
	va_start(ap, fmt);
	err->message = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

int
directory_admin_db_fail(struct directory *dir, struct directory_error *err)
{
	log_warn("directory: event=admin_failed error=\"%s\"",
	    sqlite3_errmsg(dir->db));
	return directory_admin_fail(err, DIRECTORY_ERROR_DB,
	    "directory database error: %s", sqlite3_errmsg(dir->db));
}

/* Caller text made printable for a message. */
const char *
directory_admin_safe(char *buf, size_t size, const char *s)
{
	return log_str(buf, size, s, strnlen(s, 1024));
}

/* Prepares sql and binds ?1.. from the arguments, one per character of
   types: 's' a const char * (NULL binds NULL), 'i' an int64_t, 'n' an
   int64_t id where 0 binds NULL (a wildcard alias has no domain). */
sqlite3_stmt *
directory_admin_vstmt(struct directory *dir, struct directory_error *err,
    const char *sql, const char *types, va_list ap)
{
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(dir->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		directory_admin_db_fail(dir, err);
		return NULL;
	}
	for (int i = 0; types[i] != '\0'; i++) {
		int rc;

		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			rc = s == NULL ? sqlite3_bind_null(stmt, i + 1) :
			    sqlite3_bind_text(stmt, i + 1, s, -1,
			    SQLITE_TRANSIENT);
		} else if (types[i] == 'i') {
			rc = sqlite3_bind_int64(stmt, i + 1,
			    va_arg(ap, int64_t));
		} else if (types[i] == 'n') {
			int64_t id = va_arg(ap, int64_t);

			rc = id == 0 ? sqlite3_bind_null(stmt, i + 1) :
			    sqlite3_bind_int64(stmt, i + 1, id);
		} else {
			panic("directory_admin_vstmt: type %c", types[i]);
		}
		if (rc != SQLITE_OK) {
			directory_admin_db_fail(dir, err);
			sqlite3_finalize(stmt);
			return NULL;
		}
	}
	return stmt;
}

sqlite3_stmt *
directory_admin_stmt(struct directory *dir, struct directory_error *err,
    const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;

	va_start(ap, types);
	stmt = directory_admin_vstmt(dir, err, sql, types, ap);
	va_end(ap);
	return stmt;
}

char *
directory_admin_column(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

/* Runs sql and reads the first column of its first row, if it has one,
   into *num_r and *text_r (a heap copy, NULL for NULL); either may be
   NULL. Returns 1 with a row, 0 without, -1 on error. */
static int
directory_admin_vrow(struct directory *dir, struct directory_error *err,
    int64_t *num_r, char **text_r, const char *sql, const char *types,
    va_list ap)
{
	sqlite3_stmt *stmt = directory_admin_vstmt(dir, err, sql, types, ap);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && num_r != NULL)
		*num_r = sqlite3_column_int64(stmt, 0);
	if (rc == SQLITE_ROW && text_r != NULL)
		*text_r = directory_admin_column(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return directory_admin_db_fail(dir, err);
}

/* Runs a statement that returns no rows. Returns the number of rows it
   changed, or -1. */
int
directory_admin_exec(struct directory *dir, struct directory_error *err,
    const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = directory_admin_vrow(dir, err, NULL, NULL, sql, types, ap);
	va_end(ap);
	return rc == -1 ? -1 : sqlite3_changes(dir->db);
}

/* The first column of the first row as an integer (*num_r may be NULL).
   Returns 1 with a row, 0 without, -1 on error. */
int
directory_admin_int(struct directory *dir, struct directory_error *err,
    int64_t *num_r, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = directory_admin_vrow(dir, err, num_r, NULL, sql, types, ap);
	va_end(ap);
	return rc;
}

/* The same for a text column: *text_r is a heap copy (NULL for NULL). */
int
directory_admin_text(struct directory *dir, struct directory_error *err,
    char **text_r, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	*text_r = NULL;
	va_start(ap, types);
	rc = directory_admin_vrow(dir, err, NULL, text_r, sql, types, ap);
	va_end(ap);
	return rc;
}

/* Reads the one row stmt selects into item; none is NOT_FOUND, "no what
   key". stmt (NULL after a failed prepare) is finalized here. */
int
directory_admin_get(struct directory *dir, sqlite3_stmt *stmt,
    directory_admin_row_fn *row, void *item, const char *what,
    const char *key, struct directory_error *err)
{
	int rc, ret = -1;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		ret = row(dir, stmt, item, err);
	else if (rc == SQLITE_DONE)
		directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND, "no %s %s",
		    what, key);
	else
		directory_admin_db_fail(dir, err);
	sqlite3_finalize(stmt);
	return ret;
}

/* Reads every row of stmt into a heap array of items of size bytes, each
   zeroed and then filled by row. The array and its length are handed out
   on -1 too, with the item that failed counted, so that the caller frees
   them with its own *_list_free. stmt is finalized here. */
int
directory_admin_list(struct directory *dir, sqlite3_stmt *stmt, size_t size,
    directory_admin_row_fn *row, void **items_r, size_t *n_r,
    struct directory_error *err)
{
	char *items = NULL;
	size_t n = 0;
	int rc, ret = 0;

	*items_r = NULL;
	*n_r = 0;
	if (stmt == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char *item;

		items = xreallocarray(items, n + 1, size);
		item = items + n * size;
		n++;
		memset(item, 0, size);
		if (row(dir, stmt, item, err) == -1) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = directory_admin_db_fail(dir, err);
	sqlite3_finalize(stmt);
	*items_r = items;
	*n_r = n;
	return ret;
}

/* A row of one text column into a char * item ("" for NULL). */
int
directory_admin_text_row(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err)
{
	char *text = directory_admin_column(stmt, 0);

	(void)dir;
	(void)err;
	*(char **)item = text != NULL ? text : xstrdup("");
	return 0;
}

int
directory_admin_begin(struct directory *dir, struct directory_error *err)
{
	if (sqlite3_exec(dir->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK)
		return directory_admin_db_fail(dir, err);
	return 0;
}

/* Ends the transaction: COMMIT when ret is 0, else ROLLBACK. Returns 0
   only when the change is committed. */
int
directory_admin_end(struct directory *dir, int ret,
    struct directory_error *err)
{
	if (ret == 0 && sqlite3_exec(dir->db, "COMMIT", NULL, NULL,
	    NULL) == SQLITE_OK)
		return 0;
	if (ret == 0)
		directory_admin_db_fail(dir, err);
	if (!sqlite3_get_autocommit(dir->db))
		sqlite3_exec(dir->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
directory_admin_domain_norm(const char *name, char *out,
    struct directory_error *err)
{
	char safe[LOG_STR_MAX];
	const char *error;

	if (directory_address_domain(name, strnlen(name,
	    DIRECTORY_DOMAIN_MAX + 1), out, &error) == -1)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid domain %s: %s",
		    directory_admin_safe(safe, sizeof(safe), name), error);
	if (out[0] == '[')
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid domain %s: an address literal cannot be one of "
		    "our domains", out);
	return 0;
}

/* Parses an address and builds its key (local_lower@domain). */
int
directory_admin_address(const char *s, bool allow_wildcard,
    struct directory_address *addr, char *key, struct directory_error *err)
{
	char safe[LOG_STR_MAX];
	const char *error;

	if (directory_address_parse(s, allow_wildcard, addr, &error) == -1)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid address %s: %s",
		    directory_admin_safe(safe, sizeof(safe), s), error);
	if (addr->domain[0] == '[')
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid address %s: an address literal cannot be one of "
		    "our domains", directory_admin_safe(safe, sizeof(safe), s));
	snprintf(key, DIRECTORY_ADMIN_KEY_MAX, "%s@%s", addr->local_lower,
	    addr->domain);
	return 0;
}

/* A domain of ours by its normalised name: 1 a domain (*id_r), 0 not.
   When it is an alias domain instead, *target_r names its target. */
int
directory_admin_domain_find(struct directory *dir, const char *norm,
    int64_t *id_r, char **target_r, struct directory_error *err)
{
	int rc;

	*target_r = NULL;
	rc = directory_admin_int(dir, err, id_r,
	    "SELECT id FROM domains WHERE name = ?1", "s", norm);
	if (rc != 0)
		return rc;
	rc = directory_admin_text(dir, err, target_r,
	    "SELECT d.name FROM alias_domains a"
	    " JOIN domains d ON d.id = a.target_id WHERE a.name = ?1",
	    "s", norm);
	return rc == -1 ? -1 : 0;
}

/* The domain an account or alias is created in: must be a domain. */
int
directory_admin_domain_require(struct directory *dir, const char *norm,
    int64_t *id_r, struct directory_error *err)
{
	char *target;
	int rc;

	rc = directory_admin_domain_find(dir, norm, id_r, &target, err);
	if (rc == 1)
		return 0;
	if (rc == -1)
		return -1;
	if (target != NULL) {
		directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "%s is an alias domain of %s; use %s", norm, target,
		    target);
		free(target);
		return -1;
	}
	return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
	    "no domain %s", norm);
}

/* Whether key (normalised local@domain of a domain, not alias domain) is
   an account or an alias: 1, 0, or -1. */
static int
directory_admin_key_exists(struct directory *dir, const char *key,
    struct directory_error *err)
{
	return directory_admin_int(dir, err, NULL,
	    "SELECT 1 FROM accounts WHERE address = ?1"
	    " UNION ALL SELECT 1 FROM addresses WHERE address = ?1", "s", key);
}

/* Normalises a destination into out: the local part lower-cased when the
   domain is ours (and then it must exist, "+tag" ignored), kept as given
   when not (a forward). check_exists false skips the existence check. */
int
directory_admin_destination(struct directory *dir, const char *dest,
    char *out, bool check_exists, struct directory_error *err)
{
	struct directory_address addr;
	char safe[LOG_STR_MAX], key[DIRECTORY_ADMIN_KEY_MAX];
	const char *error, *plus, *domain;
	char *target = NULL;
	int64_t id;
	int rc;

	if (directory_address_parse(dest, false, &addr, &error) == -1)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid destination %s: %s",
		    directory_admin_safe(safe, sizeof(safe), dest), error);
	rc = directory_admin_domain_find(dir, addr.domain, &id, &target, err);
	if (rc == -1)
		return -1;
	if (rc == 0 && target == NULL) {
		snprintf(out, DIRECTORY_ADMIN_KEY_MAX, "%s@%s", addr.local,
		    addr.domain);
		return 0;
	}
	snprintf(out, DIRECTORY_ADMIN_KEY_MAX, "%s@%s", addr.local_lower,
	    addr.domain);
	domain = target != NULL ? target : addr.domain;
	if (!check_exists) {
		free(target);
		return 0;
	}
	snprintf(key, sizeof(key), "%s@%s", addr.local_lower, domain);
	rc = directory_admin_key_exists(dir, key, err);
	plus = strchr(addr.local_lower, '+');
	if (rc == 0 && plus != NULL && plus != addr.local_lower) {
		snprintf(key, sizeof(key), "%.*s@%s",
		    (int)(plus - addr.local_lower), addr.local_lower, domain);
		rc = directory_admin_key_exists(dir, key, err);
	}
	free(target);
	if (rc == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "destination %s: no such account or alias", out);
	return rc == 1 ? 0 : -1;
}

/* Aliases left without destinations go too: they would resolve to
   nothing. */
int
directory_admin_drop_empty_aliases(struct directory *dir,
    struct directory_error *err)
{
	return directory_admin_exec(dir, err,
	    "DELETE FROM addresses WHERE NOT EXISTS (SELECT 1 FROM"
	    " address_destinations d WHERE d.address_id = addresses.id)",
	    "") == -1 ? -1 : 0;
}

/* Names of the alias domains of domain id (heap array, count in *n_r). */
int
directory_admin_alias_domain_names(struct directory *dir, int64_t id,
    char ***names_r, size_t *n_r, struct directory_error *err)
{
	sqlite3_stmt *stmt;
	void *names;
	int ret;

	stmt = directory_admin_stmt(dir, err, "SELECT name FROM alias_domains"
	    " WHERE target_id = ?1 ORDER BY name", "i", id);
	ret = directory_admin_list(dir, stmt, sizeof(char *),
	    directory_admin_text_row, &names, n_r, err);
	*names_r = names;
	return ret;
}

void
directory_admin_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* --- settings ----------------------------------------------------------- */

/* The one global setting there is so far. */
static int
directory_admin_setting_check(const char *key, struct directory_error *err)
{
	char safe[LOG_STR_MAX];

	if (strcmp(key, DIRECTORY_SETTING_CATCHALL_MAILBOX) != 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "unknown setting %s",
		    directory_admin_safe(safe, sizeof(safe), key));
	return 0;
}

int
directory_admin_setting_set(struct directory *dir, const char *key,
    const char *value, struct directory_error *err)
{
	struct directory_address addr;
	char norm[DIRECTORY_ADMIN_KEY_MAX];
	int ret = -1;

	if (directory_admin_setting_check(key, err) == -1)
		return -1;
	if (value != NULL && directory_admin_address(value, false, &addr,
	    norm, err) == -1)
		return -1;
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	if (value == NULL) {
		if (directory_admin_exec(dir, err,
		    "DELETE FROM settings WHERE key = ?1", "s", key) == -1)
			goto out;
		ret = 0;
		goto out;
	}
	if (directory_admin_account_id(dir, norm, NULL, err) == -1)
		goto out;
	if (directory_admin_exec(dir, err, "INSERT INTO settings (key, value)"
	    " VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
	    "ss", key, norm) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_setting_get(struct directory *dir, const char *key,
    char **value_r, struct directory_error *err)
{
	*value_r = NULL;
	if (directory_admin_setting_check(key, err) == -1)
		return -1;
	return directory_admin_text(dir, err, value_r,
	    "SELECT value FROM settings WHERE key = ?1", "s", key) == -1 ?
	    -1 : 0;
}
