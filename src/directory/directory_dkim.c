/* directory_dkim.c — DKIM keys in directory.db (directory_dkim.h). The
   active-key limit is checked inside the same IMMEDIATE transaction as
   the write, so two CLI runs at once cannot both pass it. */
#include "directory/directory_dkim.h"
#include "directory/directory_admin_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define DIRECTORY_DKIM_SELECTOR_MAX 63

#define DIRECTORY_DKIM_COLUMNS \
	"k.id, d.name, k.selector, k.algorithm, k.public_key, k.active," \
	" k.created"

void
directory_dkim_key_clear(struct directory_dkim_key *key)
{
	if (key->private_key != NULL)
		explicit_bzero(key->private_key, strlen(key->private_key));
	free(key->private_key);
	free(key->domain);
	free(key->selector);
	free(key->algorithm);
	free(key->public_key);
	memset(key, 0, sizeof(*key));
}

void
directory_dkim_key_list_free(struct directory_dkim_key **keys, size_t n)
{
	if (*keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		directory_dkim_key_clear(&(*keys)[i]);
	free(*keys);
	*keys = NULL;
}

bool
directory_dkim_selector_is_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > DIRECTORY_DKIM_SELECTOR_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

static int
directory_dkim_row(struct directory *dir, sqlite3_stmt *stmt, void *item,
    struct directory_error *err)
{
	struct directory_dkim_key *k = item;

	(void)dir;
	(void)err;
	k->id = sqlite3_column_int64(stmt, 0);
	k->domain = directory_admin_column(stmt, 1);
	k->selector = directory_admin_column(stmt, 2);
	k->algorithm = directory_admin_column(stmt, 3);
	k->public_key = directory_admin_column(stmt, 4);
	k->active = sqlite3_column_int(stmt, 5) != 0;
	k->created = sqlite3_column_int64(stmt, 6);
	if (sqlite3_column_count(stmt) > 7)
		k->private_key = directory_admin_column(stmt, 7);
	return 0;
}

static int
directory_dkim_check_algorithm(const char *algorithm,
    struct directory_error *err)
{
	if (strcmp(algorithm, "rsa") == 0 || strcmp(algorithm, "ed25519") == 0)
		return 0;
	return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
	    "unknown DKIM algorithm (rsa or ed25519)");
}

/* Inside a transaction: refuses one more active key of algorithm. */
static int
directory_dkim_check_room(struct directory *dir, int64_t domain_id,
    const char *norm, const char *algorithm, struct directory_error *err)
{
	int64_t n = 0;

	if (directory_admin_int(dir, err, &n,
	    "SELECT count(*) FROM dkim_keys WHERE domain_id = ?1"
	    " AND algorithm = ?2 AND active = 1", "is", domain_id,
	    algorithm) == -1)
		return -1;
	if (n >= DIRECTORY_DKIM_MAX_ACTIVE)
		return directory_admin_fail(err, DIRECTORY_ERROR_IN_USE,
		    "%s has %d active %s keys already; deactivate one first",
		    norm, DIRECTORY_DKIM_MAX_ACTIVE, algorithm);
	return 0;
}

/* Normalises domain, begins a transaction and requires a domain. */
static int
directory_dkim_begin(struct directory *dir, const char *domain, char *norm,
    int64_t *id_r, struct directory_error *err)
{
	if (directory_admin_domain_norm(domain, norm, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_domain_require(dir, norm, id_r, err) == -1)
		return directory_admin_end(dir, -1, err);
	return 0;
}

int
directory_dkim_add(struct directory *dir, const char *domain,
    const char *selector, const char *algorithm, const char *private_pem,
    const char *public_b64, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], safe[128];
	int64_t id;
	int ret = -1, rc;

	if (!directory_dkim_selector_is_valid(selector))
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "invalid selector %s", directory_admin_safe(safe,
		    sizeof(safe), selector));
	if (directory_dkim_check_algorithm(algorithm, err) == -1 ||
	    directory_dkim_begin(dir, domain, norm, &id, err) == -1)
		return -1;
	rc = directory_admin_int(dir, err, NULL,
	    "SELECT 1 FROM dkim_keys WHERE domain_id = ?1 AND selector = ?2",
	    "is", id, selector);
	if (rc == -1)
		goto out;
	if (rc == 1) {
		directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "%s already has a key with selector %s", norm, selector);
		goto out;
	}
	if (directory_dkim_check_room(dir, id, norm, algorithm, err) == -1 ||
	    directory_admin_exec(dir, err,
	    "INSERT INTO dkim_keys (domain_id, selector, algorithm,"
	    " private_key, public_key) VALUES (?1, ?2, ?3, ?4, ?5)", "issss",
	    id, selector, algorithm, private_pem, public_b64) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_dkim_list(struct directory *dir, const char *domain,
    struct directory_dkim_key **keys_r, size_t *n_r,
    struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	sqlite3_stmt *stmt;
	void *items = NULL;
	int ret;

	*keys_r = NULL;
	*n_r = 0;
	if (domain != NULL && directory_admin_domain_norm(domain, norm,
	    err) == -1)
		return -1;
	stmt = directory_admin_stmt(dir, err,
	    "SELECT " DIRECTORY_DKIM_COLUMNS " FROM dkim_keys k"
	    " JOIN domains d ON d.id = k.domain_id"
	    " WHERE ?1 IS NULL OR d.name = ?1"
	    " ORDER BY d.name, k.created, k.id", "s",
	    domain != NULL ? norm : NULL);
	ret = directory_admin_list(dir, stmt, sizeof(**keys_r),
	    directory_dkim_row, &items, n_r, err);
	*keys_r = items;
	return ret;
}

/* The key's id and its state, inside a transaction. */
static int
directory_dkim_find(struct directory *dir, int64_t domain_id,
    const char *norm, const char *selector, int64_t *key_id_r,
    char **algorithm_r, struct directory_error *err)
{
	int rc = directory_admin_int(dir, err, key_id_r,
	    "SELECT id FROM dkim_keys WHERE domain_id = ?1 AND selector = ?2",
	    "is", domain_id, selector);

	if (rc == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "%s has no key with selector %s", norm, selector);
	if (rc == -1)
		return -1;
	if (algorithm_r != NULL && directory_admin_text(dir, err, algorithm_r,
	    "SELECT algorithm FROM dkim_keys WHERE id = ?1", "i",
	    *key_id_r) != 1)
		return -1;
	return 0;
}

int
directory_dkim_set_active(struct directory *dir, const char *domain,
    const char *selector, bool active, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], *algorithm = NULL;
	int64_t id, key_id, was = 0;
	int ret = -1;

	if (directory_dkim_begin(dir, domain, norm, &id, err) == -1)
		return -1;
	if (directory_dkim_find(dir, id, norm, selector, &key_id, &algorithm,
	    err) == -1 ||
	    directory_admin_int(dir, err, &was,
	    "SELECT active FROM dkim_keys WHERE id = ?1", "i", key_id) == -1)
		goto out;
	if (active && was == 0 && directory_dkim_check_room(dir, id, norm,
	    algorithm, err) == -1)
		goto out;
	if (directory_admin_exec(dir, err,
	    "UPDATE dkim_keys SET active = ?2 WHERE id = ?1", "ii", key_id,
	    (int64_t)(active ? 1 : 0)) == -1)
		goto out;
	ret = 0;
out:
	free(algorithm);
	return directory_admin_end(dir, ret, err);
}

int
directory_dkim_delete(struct directory *dir, const char *domain,
    const char *selector, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	int64_t id, key_id;
	int ret = -1;

	if (directory_dkim_begin(dir, domain, norm, &id, err) == -1)
		return -1;
	if (directory_dkim_find(dir, id, norm, selector, &key_id, NULL,
	    err) == -1 ||
	    directory_admin_exec(dir, err, "DELETE FROM dkim_keys WHERE id = ?1",
	    "i", key_id) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_dkim_signing_keys(struct directory *dir, const char *domain,
    struct directory_dkim_key **keys_r, size_t *n_r,
    struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	sqlite3_stmt *stmt;
	void *items = NULL;
	int ret;

	*keys_r = NULL;
	*n_r = 0;
	if (directory_admin_domain_norm(domain, norm, err) == -1)
		return -1;
	/* The oldest active key of each algorithm (see the header on
	   rotation), RSA first (ORDER BY algorithm alone would not). */
	stmt = directory_admin_stmt(dir, err,
	    "SELECT " DIRECTORY_DKIM_COLUMNS ", k.private_key FROM dkim_keys k"
	    " JOIN domains d ON d.id = k.domain_id"
	    " WHERE d.name = ?1 AND k.active = 1 AND k.id = ("
	    "  SELECT k2.id FROM dkim_keys k2 WHERE k2.domain_id = k.domain_id"
	    "  AND k2.algorithm = k.algorithm AND k2.active = 1"
	    "  ORDER BY k2.created, k2.id LIMIT 1)"
	    " ORDER BY CASE k.algorithm WHEN 'rsa' THEN 0 ELSE 1 END", "s",
	    norm);
	ret = directory_admin_list(dir, stmt, sizeof(**keys_r),
	    directory_dkim_row, &items, n_r, err);
	*keys_r = items;
	return ret;
}
