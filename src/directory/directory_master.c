/* directory_master.c — master users and the account behind a login name
   (directory_master.h). Master users are a table of their own, not
   accounts: they have no mail, no address, and cannot receive. */
#include "directory/directory_master.h"

#include <stdio.h>
#include <string.h>

#include "directory/directory_admin_private.h"
#include "lib/xmalloc.h"

void
directory_master_clear(struct directory_master *master)
{
	free(master->name);
	if (master->password != NULL)
		explicit_bzero(master->password, strlen(master->password));
	free(master->password);
	memset(master, 0, sizeof(*master));
}

void
directory_master_list_free(struct directory_master **list, size_t n)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		directory_master_clear(&(*list)[i]);
	free(*list);
	*list = NULL;
}

/* name checked and lower-cased into out (DIRECTORY_MASTER_NAME_MAX + 1). */
static int
directory_master_norm(const char *name, char *out,
    struct directory_error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > DIRECTORY_MASTER_NAME_MAX)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "a master user name has 1 to %d characters",
		    DIRECTORY_MASTER_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return directory_admin_fail(err,
			    DIRECTORY_ERROR_INVALID, "a master user name has "
			    "only letters, digits, '.', '_' and '-'");
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

int
directory_master_add(struct directory *dir, const char *name,
    const char *password_hash, struct directory_error *err)
{
	char norm[DIRECTORY_MASTER_NAME_MAX + 1];
	int rc;

	if (directory_master_norm(name, norm, err) == -1)
		return -1;
	if (password_hash == NULL || *password_hash == '\0')
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "a master user needs a password");
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_int(dir, err, NULL,
	    "SELECT 1 FROM master_users WHERE name = ?1", "s", norm);
	if (rc == 1)
		rc = directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "master user %s already exists", norm);
	else if (rc == 0)
		rc = directory_admin_exec(dir, err, "INSERT INTO master_users"
		    " (name, password) VALUES (?1, ?2)", "ss", norm,
		    password_hash) == -1 ? -1 : 0;
	return directory_admin_end(dir, rc, err);
}

int
directory_master_del(struct directory *dir, const char *name,
    struct directory_error *err)
{
	char norm[DIRECTORY_MASTER_NAME_MAX + 1];
	int rc;

	if (directory_master_norm(name, norm, err) == -1)
		return -1;
	rc = directory_admin_exec(dir, err,
	    "DELETE FROM master_users WHERE name = ?1", "s", norm);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no master user %s", norm);
	return 0;
}

static int
directory_master_row(struct directory *dir, sqlite3_stmt *stmt, void *item,
    struct directory_error *err)
{
	struct directory_master *m = item;

	(void)dir;
	(void)err;
	m->id = sqlite3_column_int64(stmt, 0);
	m->name = directory_admin_column(stmt, 1);
	m->password = directory_admin_column(stmt, 2);
	m->created = sqlite3_column_int64(stmt, 3);
	return 0;
}

#define DIRECTORY_MASTER_SELECT \
	"SELECT id, name, password, created FROM master_users"

int
directory_master_get(struct directory *dir, const char *name,
    struct directory_master *master_r, struct directory_error *err)
{
	char norm[DIRECTORY_MASTER_NAME_MAX + 1];
	sqlite3_stmt *stmt;

	memset(master_r, 0, sizeof(*master_r));
	if (directory_master_norm(name, norm, NULL) == -1)
		/* An impossible name is simply no master user. */
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no such master user");
	stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_MASTER_SELECT " WHERE name = ?1", "s", norm);
	return directory_admin_get(dir, stmt, directory_master_row, master_r,
	    "master user", norm, err);
}

int
directory_master_list(struct directory *dir, struct directory_master **list_r,
    size_t *n_r, struct directory_error *err)
{
	sqlite3_stmt *stmt;
	void *items;
	int ret;

	stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_MASTER_SELECT " ORDER BY name", "");
	ret = directory_admin_list(dir, stmt, sizeof(**list_r),
	    directory_master_row, &items, n_r, err);
	*list_r = items;
	return ret;
}

int
directory_master_canonical(struct directory *dir, const char *address,
    char out[DIRECTORY_MASTER_CANONICAL_MAX], struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX], *target = NULL;
	int64_t id;
	int rc;

	if (directory_admin_address(address, false, &addr, key, err) == -1)
		return -1;
	rc = directory_admin_domain_find(dir, addr.domain, &id, &target, err);
	if (rc == -1)
		return -1;
	if (rc == 0 && target != NULL)
		snprintf(out, DIRECTORY_MASTER_CANONICAL_MAX, "%s@%s",
		    addr.local_lower, target);
	else
		snprintf(out, DIRECTORY_MASTER_CANONICAL_MAX, "%s", key);
	rc = rc == 1 || target != NULL ? 1 : 0;
	free(target);
	return rc;
}

int
directory_master_account(struct directory *dir, const char *login,
    struct directory_account *account_r, struct directory_error *err)
{
	char canon[DIRECTORY_MASTER_CANONICAL_MAX];
	int rc;
	struct directory_error canon_err = { 0 };

	memset(account_r, 0, sizeof(*account_r));
	rc = directory_master_canonical(dir, login, canon, &canon_err);
	if (rc == -1 && canon_err.code == DIRECTORY_ERROR_DB) {
		directory_admin_fail(err, DIRECTORY_ERROR_DB, "%s",
		    canon_err.message != NULL ? canon_err.message : "error");
		directory_error_clear(&canon_err);
		return -1;
	}
	directory_error_clear(&canon_err);
	if (rc != 1)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no such account");
	return directory_admin_account_get(dir, canon, account_r, err);
}
