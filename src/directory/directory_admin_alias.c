/* directory_admin_alias.c — aliases: an address (or local@* in every
   domain) with a list of destinations, local or external
   (directory_admin.h; resolution in directory_resolve.c). */
#include "directory/directory_admin_private.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

void
directory_alias_clear(struct directory_alias *alias)
{
	free(alias->source);
	for (size_t i = 0; i < alias->n_destinations; i++)
		free(alias->destinations[i]);
	free(alias->destinations);
	memset(alias, 0, sizeof(*alias));
}

void
directory_alias_list_free(struct directory_alias **aliases, size_t n)
{
	if (*aliases == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		directory_alias_clear(&(*aliases)[i]);
	free(*aliases);
	*aliases = NULL;
}

/* The alias source: its key and domain id (0 for a wildcard). */
static int
directory_admin_alias_source(struct directory *dir, const char *source,
    char *key, int64_t *domain_id_r, struct directory_error *err)
{
	struct directory_address addr;

	*domain_id_r = 0;
	if (directory_admin_address(source, true, &addr, key, err) == -1)
		return -1;
	if (addr.wildcard)
		return 0;
	return directory_admin_domain_require(dir, addr.domain, domain_id_r,
	    err);
}

int
directory_admin_alias_add(struct directory *dir, const char *source,
    const char *const *destinations, size_t n_destinations,
    enum directory_alias_visibility visibility, struct directory_error *err)
{
	char key[DIRECTORY_ADMIN_KEY_MAX], dest[DIRECTORY_ADMIN_KEY_MAX];
	char **norm = NULL;
	size_t n_norm = 0;
	int64_t domain_id, alias_id;
	int ret = -1, rc;

	if (n_destinations == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "an alias needs at least one destination");
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_alias_source(dir, source, key, &domain_id,
	    err) == -1)
		goto out;
	norm = xcalloc(n_destinations, sizeof(*norm));
	for (size_t i = 0; i < n_destinations; i++) {
		/* The self-reference rule makes "a@ -> a@" mean "keep a
		   copy in the account a@": that account must exist. */
		if (directory_admin_destination(dir, destinations[i], dest,
		    false, err) == -1)
			goto out;
		if (strcmp(dest, key) != 0) {
			if (directory_admin_destination(dir, destinations[i],
			    dest, true, err) == -1)
				goto out;
		} else {
			rc = directory_admin_int(dir, err, NULL,
			    "SELECT 1 FROM accounts WHERE address = ?1", "s",
			    key);
			if (rc == -1)
				goto out;
			if (rc == 0) {
				directory_admin_fail(err,
				    DIRECTORY_ERROR_INVALID,
				    "alias %s cannot point to itself "
				    "(no account %s)", key, key);
				goto out;
			}
		}
		for (size_t j = 0; j < n_norm; j++) {
			if (strcmp(norm[j], dest) == 0) {
				directory_admin_fail(err,
				    DIRECTORY_ERROR_INVALID,
				    "destination %s given twice", dest);
				goto out;
			}
		}
		norm[n_norm++] = xstrdup(dest);
	}
	rc = directory_admin_int(dir, err, &alias_id,
	    "SELECT id FROM addresses WHERE address = ?1", "s", key);
	if (rc == -1)
		goto out;
	if (rc == 0) {
		if (directory_admin_exec(dir, err, "INSERT INTO addresses"
		    " (domain_id, address, internal) VALUES (?1, ?2, ?3)",
		    "nsi", domain_id, key,
		    (int64_t)(visibility == DIRECTORY_ALIAS_INTERNAL)) == -1)
			goto out;
		alias_id = sqlite3_last_insert_rowid(dir->db);
	} else if (visibility != DIRECTORY_ALIAS_KEEP) {
		if (directory_admin_exec(dir, err,
		    "UPDATE addresses SET internal = ?1 WHERE id = ?2", "ii",
		    (int64_t)(visibility == DIRECTORY_ALIAS_INTERNAL),
		    alias_id) == -1)
			goto out;
	}
	for (size_t i = 0; i < n_norm; i++) {
		rc = directory_admin_int(dir, err, NULL,
		    "SELECT 1 FROM address_destinations WHERE address_id = ?1"
		    " AND destination = ?2", "is", alias_id, norm[i]);
		if (rc == -1)
			goto out;
		if (rc == 1) {
			directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
			    "alias %s already has destination %s", key,
			    norm[i]);
			goto out;
		}
		if (directory_admin_exec(dir, err,
		    "INSERT INTO address_destinations (address_id, destination)"
		    " VALUES (?1, ?2)", "is", alias_id, norm[i]) == -1)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n_norm; i++)
		free(norm[i]);
	free(norm);
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_alias_del(struct directory *dir, const char *source,
    const char *destination, struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX], safe[LOG_STR_MAX];
	char as_given[DIRECTORY_ADMIN_KEY_MAX], lowered[DIRECTORY_ADMIN_KEY_MAX];
	const char *error;
	int64_t alias_id;
	int ret = -1, rc;

	if (directory_admin_address(source, true, &addr, key, err) == -1)
		return -1;
	if (destination != NULL) {
		if (directory_address_parse(destination, false, &addr,
		    &error) == -1)
			return directory_admin_fail(err,
			    DIRECTORY_ERROR_INVALID,
			    "invalid destination %s: %s",
			    directory_admin_safe(safe, sizeof(safe),
			    destination), error);
		/* Stored lower-cased when it was local at the time, as given
		   when not: the exact form first, whatever the domain is
		   now, then the lower-cased one. */
		snprintf(as_given, sizeof(as_given), "%s@%s", addr.local,
		    addr.domain);
		snprintf(lowered, sizeof(lowered), "%s@%s", addr.local_lower,
		    addr.domain);
	}
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_int(dir, err, &alias_id,
	    "SELECT id FROM addresses WHERE address = ?1", "s", key);
	if (rc == -1)
		goto out;
	if (rc == 0) {
		directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no alias %s", key);
		goto out;
	}
	if (destination == NULL) {
		if (directory_admin_exec(dir, err,
		    "DELETE FROM addresses WHERE id = ?1", "i", alias_id) == -1)
			goto out;
		ret = 0;
		goto out;
	}
	rc = directory_admin_exec(dir, err,
	    "DELETE FROM address_destinations WHERE address_id = ?1"
	    " AND destination = ?2", "is", alias_id, as_given);
	if (rc == 0)
		rc = directory_admin_exec(dir, err,
		    "DELETE FROM address_destinations WHERE address_id = ?1"
		    " AND destination = ?2", "is", alias_id, lowered);
	if (rc == -1)
		goto out;
	if (rc == 0) {
		directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "alias %s has no destination %s", key, lowered);
		goto out;
	}
	if (directory_admin_drop_empty_aliases(dir, err) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

/* Fills alias from a row (id, address, internal) and its destinations. */
static int
directory_admin_alias_row(struct directory *dir, sqlite3_stmt *row,
    void *item, struct directory_error *err)
{
	struct directory_alias *alias = item;
	sqlite3_stmt *stmt;
	void *dests;
	int ret;

	memset(alias, 0, sizeof(*alias));
	alias->source = directory_admin_column(row, 1);
	if (alias->source == NULL)
		alias->source = xstrdup("");
	alias->internal = sqlite3_column_int(row, 2) != 0;
	stmt = directory_admin_stmt(dir, err, "SELECT destination FROM"
	    " address_destinations WHERE address_id = ?1 ORDER BY id", "i",
	    sqlite3_column_int64(row, 0));
	ret = directory_admin_list(dir, stmt, sizeof(char *),
	    directory_admin_text_row, &dests, &alias->n_destinations, err);
	alias->destinations = dests;
	return ret;
}

int
directory_admin_alias_get(struct directory *dir, const char *source,
    struct directory_alias *alias_r, struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	sqlite3_stmt *stmt;
	int ret;

	memset(alias_r, 0, sizeof(*alias_r));
	if (directory_admin_address(source, true, &addr, key, err) == -1)
		return -1;
	if (sqlite3_exec(dir->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return directory_admin_db_fail(dir, err);
	stmt = directory_admin_stmt(dir, err, "SELECT id, address, internal"
	    " FROM addresses WHERE address = ?1", "s", key);
	ret = directory_admin_get(dir, stmt, directory_admin_alias_row,
	    alias_r, "alias", key, err);
	sqlite3_exec(dir->db, "COMMIT", NULL, NULL, NULL);
	if (ret == -1)
		directory_alias_clear(alias_r);
	return ret;
}

int
directory_admin_alias_list(struct directory *dir, const char *domain,
    struct directory_alias **aliases_r, size_t *n_r,
    struct directory_error *err)
{
	struct directory_alias *aliases;
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	sqlite3_stmt *stmt;
	int64_t domain_id;
	void *items;
	size_t n;
	int ret;

	*aliases_r = NULL;
	*n_r = 0;
	if (sqlite3_exec(dir->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return directory_admin_db_fail(dir, err);
	if (domain != NULL) {
		if (directory_admin_domain_norm(domain, norm, err) == -1 ||
		    directory_admin_domain_require(dir, norm, &domain_id,
		    err) == -1)
			stmt = NULL;
		else
			stmt = directory_admin_stmt(dir, err,
			    "SELECT id, address, internal FROM addresses"
			    " WHERE domain_id = ?1 ORDER BY address", "i",
			    domain_id);
	} else {
		stmt = directory_admin_stmt(dir, err,
		    "SELECT id, address, internal FROM addresses"
		    " ORDER BY address", "");
	}
	ret = directory_admin_list(dir, stmt, sizeof(*aliases),
	    directory_admin_alias_row, &items, &n, err);
	sqlite3_exec(dir->db, "COMMIT", NULL, NULL, NULL);
	aliases = items;
	if (ret == -1) {
		directory_alias_list_free(&aliases, n);
		return -1;
	}
	*aliases_r = aliases;
	*n_r = n;
	return 0;
}
