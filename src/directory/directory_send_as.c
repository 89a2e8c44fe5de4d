/* directory_send_as.c — sender addresses an account may use, and the
   per-domain sender/login match switch (directory_send_as.h). */
#include "directory/directory_send_as.h"

#include <stdio.h>
#include <string.h>

#include "directory/directory_admin_private.h"
#include "directory/directory_master.h"
#include "lib/xmalloc.h"

#define DIRECTORY_SEND_AS_SETTING "sender_login_match:"

/* An entry: a normalised address, or "@" and a normalised domain. */
static int
directory_send_as_norm(const char *address, char *out,
    struct directory_error *err)
{
	struct directory_address addr;

	if (address[0] == '@') {
		out[0] = '@';
		return directory_admin_domain_norm(address + 1, out + 1, err);
	}
	return directory_admin_address(address, false, &addr, out, err);
}

/* The account's id: 0, or -1 (NOT_FOUND). */
static int
directory_send_as_account(struct directory *dir, const char *account,
    int64_t *id_r, struct directory_error *err)
{
	struct directory_account a;

	if (directory_master_account(dir, account, &a, err) == -1)
		return -1;
	*id_r = a.id;
	directory_account_clear(&a);
	return 0;
}

int
directory_send_as_add(struct directory *dir, const char *account,
    const char *address, struct directory_error *err)
{
	char norm[DIRECTORY_ADMIN_KEY_MAX + 1];
	int64_t id;
	int rc;

	if (directory_send_as_norm(address, norm, err) == -1)
		return -1;
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_send_as_account(dir, account, &id, err);
	if (rc == 0)
		rc = directory_admin_int(dir, err, NULL, "SELECT 1 FROM send_as"
		    " WHERE account_id = ?1 AND address = ?2", "is", id, norm);
	if (rc == 1)
		rc = directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "%s may already send as %s", account, norm);
	else if (rc == 0)
		rc = directory_admin_exec(dir, err, "INSERT INTO send_as"
		    " (account_id, address) VALUES (?1, ?2)", "is", id,
		    norm) == -1 ? -1 : 0;
	return directory_admin_end(dir, rc, err);
}

int
directory_send_as_del(struct directory *dir, const char *account,
    const char *address, struct directory_error *err)
{
	char norm[DIRECTORY_ADMIN_KEY_MAX + 1];
	int64_t id;
	int rc;

	if (directory_send_as_norm(address, norm, err) == -1 ||
	    directory_send_as_account(dir, account, &id, err) == -1)
		return -1;
	rc = directory_admin_exec(dir, err, "DELETE FROM send_as"
	    " WHERE account_id = ?1 AND address = ?2", "is", id, norm);
	if (rc == -1)
		return -1;
	if (rc == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "%s may not send as %s", account, norm);
	return 0;
}

int
directory_send_as_list(struct directory *dir, const char *account,
    char ***list_r, size_t *n_r, struct directory_error *err)
{
	sqlite3_stmt *stmt;
	void *items = NULL;
	int64_t id;
	int ret;

	*list_r = NULL;
	*n_r = 0;
	if (directory_send_as_account(dir, account, &id, err) == -1)
		return -1;
	stmt = directory_admin_stmt(dir, err, "SELECT address FROM send_as"
	    " WHERE account_id = ?1 ORDER BY address", "i", id);
	ret = directory_admin_list(dir, stmt, sizeof(char *),
	    directory_admin_text_row, &items, n_r, err);
	*list_r = items;
	return ret;
}

void
directory_send_as_list_free(char ***list, size_t n)
{
	directory_admin_names_free(*list, n);
	*list = NULL;
}

/* Whether canon (a canonical address) is owned by account: itself, an
   alias delivering to it, or a delegation. 1, 0, -1. */
static int
directory_send_as_owns(struct directory *dir, int64_t account_id,
    const char *account, const char *canon, struct directory_error *err)
{
	const char *at = strrchr(canon, '@');
	int rc;

	if (strcmp(canon, account) == 0)
		return 1;
	rc = directory_admin_int(dir, err, NULL, "SELECT 1 FROM addresses a"
	    " JOIN address_destinations d ON d.address_id = a.id"
	    " WHERE a.address = ?1 AND d.destination = ?2", "ss", canon,
	    account);
	if (rc != 0)
		return rc;
	return directory_admin_int(dir, err, NULL, "SELECT 1 FROM send_as"
	    " WHERE account_id = ?1 AND (address = ?2 OR address = ?3)",
	    "iss", account_id, canon, at != NULL ? at : canon);
}

int
directory_send_as_allowed(struct directory *dir, int64_t account_id,
    const char *account, const char *sender)
{
	struct directory_error err = { 0 };
	char canon[DIRECTORY_MASTER_CANONICAL_MAX];
	char *plus, *at;
	int rc;

	if (*sender == '\0')
		return 1;
	rc = directory_master_canonical(dir, sender, canon, &err);
	if (rc == -1) {
		rc = err.code == DIRECTORY_ERROR_DB ? -1 : 0;
		goto out;
	}
	rc = directory_send_as_owns(dir, account_id, account, canon, &err);
	if (rc != 0)
		goto out;
	/* "bob+list@" is bob's: the tag is the sender's own business. But
	   not when the whole name is an account or alias of its own (the
	   resolver delivers it there, not to bob), and "+x@" has no base
	   (directory_resolve.c, step 5). */
	at = strrchr(canon, '@');
	plus = strchr(canon, '+');
	if (at != NULL && plus != NULL && plus > canon && plus < at) {
		rc = directory_admin_int(dir, &err, NULL, "SELECT 1 FROM"
		    " accounts WHERE address = ?1 UNION ALL SELECT 1 FROM"
		    " addresses WHERE address = ?1", "s", canon);
		if (rc != 0) {
			rc = rc == 1 ? 0 : -1;
			goto out;
		}
		memmove(plus, at, strlen(at) + 1);
		rc = directory_send_as_owns(dir, account_id, account, canon,
		    &err);
	}
out:
	directory_error_clear(&err);
	return rc;
}

int
directory_send_as_domain_match(struct directory *dir, const char *domain)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], key[DIRECTORY_DOMAIN_MAX + 32];
	struct directory_error err = { 0 };
	char *value = NULL;
	int rc;

	if (directory_admin_domain_norm(domain, norm, &err) == -1) {
		directory_error_clear(&err);
		return 0;
	}
	snprintf(key, sizeof(key), DIRECTORY_SEND_AS_SETTING "%s", norm);
	rc = directory_admin_text(dir, &err, &value,
	    "SELECT value FROM settings WHERE key = ?1", "s", key);
	if (rc == 1)
		rc = value != NULL && strcmp(value, "yes") == 0 ? 1 : 0;
	free(value);
	directory_error_clear(&err);
	return rc;
}

int
directory_send_as_set_domain_match(struct directory *dir, const char *domain,
    bool on, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], key[DIRECTORY_DOMAIN_MAX + 32];
	int64_t id;
	int rc;

	if (directory_admin_domain_norm(domain, norm, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_domain_require(dir, norm, &id, err);
	snprintf(key, sizeof(key), DIRECTORY_SEND_AS_SETTING "%s", norm);
	if (rc == 0 && on)
		rc = directory_admin_exec(dir, err, "INSERT INTO settings"
		    " (key, value) VALUES (?1, 'yes') ON CONFLICT (key)"
		    " DO UPDATE SET value = 'yes'", "s", key) == -1 ? -1 : 0;
	else if (rc == 0)
		rc = directory_admin_exec(dir, err, "DELETE FROM settings"
		    " WHERE key = ?1", "s", key) == -1 ? -1 : 0;
	return directory_admin_end(dir, rc, err);
}
