/* directory_admin_account.c — accounts (mailboxes): create, list, change
   password, quota and state, delete (directory_admin.h). Ids come from
   AUTOINCREMENT and are never handed out twice (directory_schema.c). */
#include "directory/directory_admin_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

/* Display names go into headers and UIs: bounded, no control bytes. */
#define DIRECTORY_ADMIN_NAME_MAX 256

void
directory_account_clear(struct directory_account *account)
{
	free(account->address);
	free(account->name);
	if (account->password != NULL) {
		explicit_bzero(account->password, strlen(account->password));
		free(account->password);
	}
	free(account->plus_mode);
	free(account->forward);
	memset(account, 0, sizeof(*account));
}

void
directory_account_list_free(struct directory_account **accounts, size_t n)
{
	if (*accounts == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		directory_account_clear(&(*accounts)[i]);
	free(*accounts);
	*accounts = NULL;
}

static int
directory_admin_check_name(const char *name, struct directory_error *err)
{
	size_t len = strnlen(name, DIRECTORY_ADMIN_NAME_MAX + 1);

	if (len > DIRECTORY_ADMIN_NAME_MAX)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "display name longer than %d bytes",
		    DIRECTORY_ADMIN_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f)
			return directory_admin_fail(err,
			    DIRECTORY_ERROR_INVALID,
			    "control character in display name");
	}
	return 0;
}

static int
directory_admin_check_quota(uint64_t quota, struct directory_error *err)
{
	/* SQLite integers are signed 64-bit. */
	if (quota > INT64_MAX)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "quota too large");
	return 0;
}

int
directory_admin_account_add(struct directory *dir, const char *address,
    const char *name, const char *password_hash, uint64_t quota_bytes,
    int64_t *id_r, struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	int64_t domain_id;
	int ret = -1, rc;

	if (directory_admin_address(address, false, &addr, key, err) == -1 ||
	    (name != NULL && directory_admin_check_name(name, err) == -1) ||
	    directory_admin_check_quota(quota_bytes, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_domain_require(dir, addr.domain, &domain_id,
	    err) == -1)
		goto out;
	rc = directory_admin_int(dir, err, NULL,
	    "SELECT 1 FROM accounts WHERE address = ?1", "s", key);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "account %s already exists", key);
		goto out;
	}
	if (directory_admin_exec(dir, err, "INSERT INTO accounts"
	    " (domain_id, address, name, password, quota_bytes)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)", "isssi", domain_id, key,
	    name != NULL ? name : "", password_hash,
	    (int64_t)quota_bytes) == -1)
		goto out;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(dir->db);
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_account_id(struct directory *dir, const char *key,
    int64_t *id_r, struct directory_error *err)
{
	int rc = directory_admin_int(dir, err, id_r,
	    "SELECT id FROM accounts WHERE address = ?1", "s", key);

	if (rc == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no account %s", key);
	return rc == 1 ? 0 : -1;
}

/* The account address parsed into addr and key, with its id. */
static int
directory_admin_account_find(struct directory *dir, const char *address,
    struct directory_address *addr, char *key, int64_t *id_r,
    struct directory_error *err)
{
	if (directory_admin_address(address, false, addr, key, err) == -1)
		return -1;
	return directory_admin_account_id(dir, key, id_r, err);
}

/* Removes destinations, catch-alls and the catch-all mailbox setting that
   name local@domain, local+tag@domain, or the same in an alias domain. */
static int
directory_admin_forget_address(struct directory *dir, const char *local,
    const char *domain, struct directory_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int64_t domain_id;
	int ret = -1;

	if (directory_admin_int(dir, err, &domain_id,
	    "SELECT id FROM domains WHERE name = ?1", "s", domain) != 1)
		return -1;
	if (directory_admin_alias_domain_names(dir, domain_id, &names, &n,
	    err) == -1)
		goto out;
	for (size_t i = 0; i <= n; i++) {
		const char *d = i < n ? names[i] : domain;
		char *exact = xasprintf("%s@%s", local, d);
		char *prefix = xasprintf("%s+", local);
		char *suffix = xasprintf("@%s", d);
		int rc;

		rc = directory_admin_exec(dir, err,
		    /* An address has one '@' (a local part of ours cannot
		       hold one), so prefix "local+" and suffix "@domain"
		       together mean local+tag@domain. */
		    "DELETE FROM address_destinations WHERE destination = ?1"
		    " OR (substr(destination, 1, length(?2)) = ?2"
		    " AND substr(destination, -length(?3)) = ?3)",
		    "sss", exact, prefix, suffix);
		if (rc != -1)
			rc = directory_admin_exec(dir, err,
			    "UPDATE domains SET catch_all = NULL"
			    " WHERE catch_all = ?1", "s", exact);
		if (rc != -1)
			rc = directory_admin_exec(dir, err,
			    "DELETE FROM settings WHERE key = ?2"
			    " AND value = ?1", "ss", exact,
			    DIRECTORY_SETTING_CATCHALL_MAILBOX);
		free(exact);
		free(prefix);
		free(suffix);
		if (rc == -1)
			goto out;
	}
	ret = directory_admin_drop_empty_aliases(dir, err);
out:
	directory_admin_names_free(names, n);
	return ret;
}

int
directory_admin_account_del(struct directory *dir, const char *address,
    struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	int64_t id;
	int ret = -1;

	if (directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_account_find(dir, address, &addr, key, &id,
	    err) == -1)
		goto out;
	if (directory_admin_exec(dir, err, "DELETE FROM accounts WHERE id = ?1",
	    "i", id) == -1)
		goto out;
	/* An alias named like the account stays: it is its own entry. */
	if (directory_admin_forget_address(dir, addr.local_lower, addr.domain,
	    err) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

#define DIRECTORY_ADMIN_ACCOUNT_SELECT \
	"SELECT id, address, name, password, quota_bytes, quota_messages," \
	" enabled, plus_mode," \
	" (SELECT value FROM account_settings" \
	"  WHERE account_id = accounts.id AND key = 'forward')," \
	" (SELECT value FROM account_settings" \
	"  WHERE account_id = accounts.id AND key = 'forward_keep')" \
	" FROM accounts"

static int
directory_admin_account_row(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err)
{
	struct directory_account *account = item;
	char *keep;
	int64_t q;

	(void)dir;
	(void)err;
	memset(account, 0, sizeof(*account));
	account->id = sqlite3_column_int64(stmt, 0);
	account->address = directory_admin_column(stmt, 1);
	account->name = directory_admin_column(stmt, 2);
	account->password = directory_admin_column(stmt, 3);
	q = sqlite3_column_int64(stmt, 4);
	account->quota_bytes = q > 0 ? (uint64_t)q : 0;
	q = sqlite3_column_int64(stmt, 5);
	account->quota_messages = q > 0 ? (uint64_t)q : 0;
	account->enabled = sqlite3_column_int(stmt, 6) != 0;
	account->plus_mode = directory_admin_column(stmt, 7);
	account->forward = directory_admin_column(stmt, 8);
	keep = directory_admin_column(stmt, 9);
	account->forward_keep = keep != NULL && strcmp(keep, "1") == 0;
	free(keep);
	if (account->address == NULL)
		account->address = xstrdup("");
	if (account->name == NULL)
		account->name = xstrdup("");
	if (account->plus_mode == NULL)
		account->plus_mode = xstrdup("ignore");
	return 0;
}

int
directory_admin_account_get(struct directory *dir, const char *address,
    struct directory_account *account_r, struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	sqlite3_stmt *stmt;

	memset(account_r, 0, sizeof(*account_r));
	if (directory_admin_address(address, false, &addr, key, err) == -1)
		return -1;
	stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_ADMIN_ACCOUNT_SELECT " WHERE address = ?1", "s", key);
	return directory_admin_get(dir, stmt, directory_admin_account_row,
	    account_r, "account", key, err);
}

int
directory_admin_account_list(struct directory *dir, const char *domain,
    struct directory_account **accounts_r, size_t *n_r,
    struct directory_error *err)
{
	struct directory_account *accounts;
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	sqlite3_stmt *stmt;
	int64_t domain_id = 0;
	void *items;
	size_t n;

	*accounts_r = NULL;
	*n_r = 0;
	if (domain != NULL) {
		if (directory_admin_domain_norm(domain, norm, err) == -1 ||
		    directory_admin_domain_require(dir, norm, &domain_id,
		    err) == -1)
			return -1;
		stmt = directory_admin_stmt(dir, err,
		    DIRECTORY_ADMIN_ACCOUNT_SELECT " WHERE domain_id = ?1"
		    " ORDER BY address", "i", domain_id);
	} else {
		stmt = directory_admin_stmt(dir, err,
		    DIRECTORY_ADMIN_ACCOUNT_SELECT " ORDER BY address", "");
	}
	if (directory_admin_list(dir, stmt, sizeof(*accounts),
	    directory_admin_account_row, &items, &n, err) == -1) {
		accounts = items;
		directory_account_list_free(&accounts, n);
		return -1;
	}
	*accounts_r = items;
	*n_r = n;
	return 0;
}

/* Runs an UPDATE of the account address: the parameters from types come
   first, the account id is bound to the last one. */
static int
directory_admin_account_update(struct directory *dir, const char *address,
    struct directory_error *err, const char *sql, const char *types, ...)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	sqlite3_stmt *stmt;
	va_list ap;
	int64_t id;
	int ret = -1, rc;

	if (directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_account_find(dir, address, &addr, key, &id,
	    err) == -1)
		goto out;
	va_start(ap, types);
	stmt = directory_admin_vstmt(dir, err, sql, types, ap);
	va_end(ap);
	if (stmt == NULL)
		goto out;
	if (sqlite3_bind_int64(stmt, sqlite3_bind_parameter_count(stmt),
	    id) != SQLITE_OK) {
		sqlite3_finalize(stmt);
		directory_admin_db_fail(dir, err);
		goto out;
	}
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		directory_admin_db_fail(dir, err);
		goto out;
	}
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_account_set_password(struct directory *dir,
    const char *address, const char *password_hash,
    struct directory_error *err)
{
	/* The last parameter (?2) is the account id. */
	return directory_admin_account_update(dir, address, err,
	    "UPDATE accounts SET password = ?1 WHERE id = ?2", "s",
	    password_hash);
}

int
directory_admin_account_set_quota(struct directory *dir,
    const char *address, const uint64_t *bytes, const uint64_t *messages,
    struct directory_error *err)
{
	if ((bytes != NULL && directory_admin_check_quota(*bytes, err) == -1) ||
	    (messages != NULL &&
	    directory_admin_check_quota(*messages, err) == -1))
		return -1;
	return directory_admin_account_update(dir, address, err,
	    "UPDATE accounts SET"
	    " quota_bytes = CASE WHEN ?1 THEN ?2 ELSE quota_bytes END,"
	    " quota_messages = CASE WHEN ?3 THEN ?4 ELSE quota_messages END"
	    " WHERE id = ?5", "iiii", (int64_t)(bytes != NULL),
	    (int64_t)(bytes != NULL ? *bytes : 0), (int64_t)(messages != NULL),
	    (int64_t)(messages != NULL ? *messages : 0));
}

int
directory_admin_account_set_enabled(struct directory *dir,
    const char *address, bool enabled, struct directory_error *err)
{
	return directory_admin_account_update(dir, address, err,
	    "UPDATE accounts SET enabled = ?1 WHERE id = ?2", "i",
	    (int64_t)enabled);
}

int
directory_admin_account_set_plus_mode(struct directory *dir,
    const char *address, const char *mode, struct directory_error *err)
{
	if (directory_plus_mode_parse(mode) < 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "plus mode must be ignore, folder or subject, not \"%s\"",
		    mode);
	return directory_admin_account_update(dir, address, err,
	    "UPDATE accounts SET plus_mode = ?1 WHERE id = ?2", "s", mode);
}

int
directory_admin_account_set_forward(struct directory *dir,
    const char *address, const char *const *destinations, size_t n,
    bool keep, struct directory_error *err)
{
	struct directory_address addr, dest;
	char key[DIRECTORY_ADMIN_KEY_MAX], dkey[DIRECTORY_ADMIN_KEY_MAX];
	struct buf joined;
	int64_t id;
	int ret = -1;

	buf_init(&joined, 0);
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_account_find(dir, address, &addr, key, &id,
	    err) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (directory_admin_address(destinations[i], false, &dest,
		    dkey, err) == -1)
			goto out;
		if (strcmp(dkey, key) == 0) {
			directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
			    "%s cannot forward to itself (use --keep)", key);
			goto out;
		}
		buf_printf(&joined, "%s%s", i > 0 ? "," : "", dkey);
	}
	if (directory_admin_exec(dir, err, "DELETE FROM account_settings"
	    " WHERE account_id = ?1 AND key IN ('forward', 'forward_keep')",
	    "i", id) == -1)
		goto out;
	if (n > 0 && (directory_admin_exec(dir, err,
	    "INSERT INTO account_settings (account_id, key, value)"
	    " VALUES (?1, 'forward', ?2), (?1, 'forward_keep', ?3)", "iss",
	    id, joined.data, keep ? "1" : "0") == -1))
		goto out;
	ret = 0;
out:
	buf_clear(&joined);
	return directory_admin_end(dir, ret, err);
}
