/* directory_admin_domain.c — creating, listing, changing and deleting
   domains and alias domains (directory_admin.h). Deleting a domain also
   forgets every reference other aliases and catch-alls hold to it. */
#include "directory/directory_admin_private.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmalloc.h"

/* --- domains ------------------------------------------------------------ */

void
directory_domain_clear(struct directory_domain *domain)
{
	free(domain->name);
	free(domain->catch_all);
	for (size_t i = 0; i < domain->n_alias_domains; i++)
		free(domain->alias_domains[i]);
	free(domain->alias_domains);
	memset(domain, 0, sizeof(*domain));
}

void
directory_domain_list_free(struct directory_domain **domains, size_t n)
{
	if (*domains == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		directory_domain_clear(&(*domains)[i]);
	free(*domains);
	*domains = NULL;
}

/* Begins a change of the domain name, normalised into norm and looked up
   inside the transaction: 1 a domain (*id_r), 0 not (*target_r, heap,
   names the target when it is an alias domain). -1 leaves no transaction
   open. */
static int
directory_admin_domain_begin_find(struct directory *dir, const char *name,
    char *norm, int64_t *id_r, char **target_r, struct directory_error *err)
{
	int rc;

	*target_r = NULL;
	if (directory_admin_domain_norm(name, norm, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_domain_find(dir, norm, id_r, target_r, err);
	if (rc == -1)
		return directory_admin_end(dir, -1, err);
	return rc;
}

/* The same for a change that needs norm to be a domain (*id_r). */
static int
directory_admin_domain_begin(struct directory *dir, const char *name,
    char *norm, int64_t *id_r, struct directory_error *err)
{
	if (directory_admin_domain_norm(name, norm, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	if (directory_admin_domain_require(dir, norm, id_r, err) == -1)
		return directory_admin_end(dir, -1, err);
	return 0;
}

int
directory_admin_domain_add(struct directory *dir, const char *name,
    struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], *target;
	int64_t id;
	int ret = -1, rc;

	rc = directory_admin_domain_begin_find(dir, name, norm, &id, &target,
	    err);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "domain %s already exists", norm);
		goto out;
	}
	if (target != NULL) {
		directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
		    "%s already exists as an alias domain of %s", norm, target);
		goto out;
	}
	if (directory_admin_exec(dir, err,
	    "INSERT INTO domains (name) VALUES (?1)", "s", norm) == -1)
		goto out;
	ret = 0;
out:
	free(target);
	return directory_admin_end(dir, ret, err);
}

/* Removes every reference to addresses ending in suffix ("@domain") from
   alias destinations, catch-alls and the catch-all mailbox setting: a
   deleted domain's addresses would otherwise turn into forwards to
   wherever its MX points. */
static int
directory_admin_forget_suffix(struct directory *dir, const char *suffix,
    struct directory_error *err)
{
	if (directory_admin_exec(dir, err,
	    "DELETE FROM address_destinations"
	    " WHERE substr(destination, -length(?1)) = ?1", "s", suffix) == -1 ||
	    directory_admin_exec(dir, err,
	    "UPDATE domains SET catch_all = NULL"
	    " WHERE substr(catch_all, -length(?1)) = ?1", "s", suffix) == -1 ||
	    directory_admin_exec(dir, err,
	    "DELETE FROM settings WHERE key = ?2"
	    " AND substr(value, -length(?1)) = ?1", "ss", suffix,
	    DIRECTORY_SETTING_CATCHALL_MAILBOX) == -1)
		return -1;
	return 0;
}

int
directory_admin_domain_del(struct directory *dir, const char *name,
    bool force, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], *target, *suffix;
	char **aliases = NULL;
	size_t n_aliases = 0;
	int64_t id, accounts;
	int ret = -1, rc;

	rc = directory_admin_domain_begin_find(dir, name, norm, &id, &target,
	    err);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		if (target != NULL)
			directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
			    "%s is an alias domain of %s, not a domain", norm,
			    target);
		else
			directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
			    "no domain %s", norm);
		goto out;
	}
	if (directory_admin_int(dir, err, &accounts,
	    "SELECT count(*) FROM accounts WHERE domain_id = ?1", "i",
	    id) != 1)
		goto out;
	if (accounts > 0 && !force) {
		directory_admin_fail(err, DIRECTORY_ERROR_IN_USE,
		    "domain %s has %lld account%s", norm, (long long)accounts,
		    accounts == 1 ? "" : "s");
		goto out;
	}
	if (directory_admin_alias_domain_names(dir, id, &aliases, &n_aliases,
	    err) == -1)
		goto out;
	/* The cascades delete accounts, aliases and alias domains. */
	if (directory_admin_exec(dir, err, "DELETE FROM domains WHERE id = ?1",
	    "i", id) == -1)
		goto out;
	suffix = xasprintf("@%s", norm);
	rc = directory_admin_forget_suffix(dir, suffix, err);
	free(suffix);
	for (size_t i = 0; i < n_aliases && rc == 0; i++) {
		suffix = xasprintf("@%s", aliases[i]);
		rc = directory_admin_forget_suffix(dir, suffix, err);
		free(suffix);
	}
	if (rc == -1 || directory_admin_drop_empty_aliases(dir, err) == -1)
		goto out;
	ret = 0;
out:
	directory_admin_names_free(aliases, n_aliases);
	free(target);
	return directory_admin_end(dir, ret, err);
}

#define DIRECTORY_ADMIN_DOMAIN_SELECT \
	"SELECT d.id, d.name, d.catch_all, d.enabled," \
	" (SELECT count(*) FROM accounts a WHERE a.domain_id = d.id)," \
	" (SELECT count(*) FROM addresses x WHERE x.domain_id = d.id)" \
	" FROM domains d"

static int
directory_admin_domain_row(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err)
{
	struct directory_domain *domain = item;

	memset(domain, 0, sizeof(*domain));
	domain->id = sqlite3_column_int64(stmt, 0);
	domain->name = directory_admin_column(stmt, 1);
	domain->catch_all = directory_admin_column(stmt, 2);
	domain->enabled = sqlite3_column_int(stmt, 3) != 0;
	domain->n_accounts = (uint64_t)sqlite3_column_int64(stmt, 4);
	domain->n_aliases = (uint64_t)sqlite3_column_int64(stmt, 5);
	if (domain->name == NULL)
		domain->name = xstrdup("");
	return directory_admin_alias_domain_names(dir, domain->id,
	    &domain->alias_domains, &domain->n_alias_domains, err);
}

int
directory_admin_domain_get(struct directory *dir, const char *name,
    struct directory_domain *domain_r, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	sqlite3_stmt *stmt;
	int ret;

	memset(domain_r, 0, sizeof(*domain_r));
	if (directory_admin_domain_norm(name, norm, err) == -1)
		return -1;
	stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_ADMIN_DOMAIN_SELECT " WHERE d.name = ?1", "s", norm);
	ret = directory_admin_get(dir, stmt, directory_admin_domain_row,
	    domain_r, "domain", norm, err);
	if (ret == -1)
		directory_domain_clear(domain_r);
	return ret;
}

int
directory_admin_domain_list(struct directory *dir,
    struct directory_domain **domains_r, size_t *n_r,
    struct directory_error *err)
{
	struct directory_domain *domains;
	sqlite3_stmt *stmt;
	void *items;
	size_t n;
	int ret;

	*domains_r = NULL;
	*n_r = 0;
	/* One snapshot for the list and the alias domains of each entry. */
	if (sqlite3_exec(dir->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return directory_admin_db_fail(dir, err);
	stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_ADMIN_DOMAIN_SELECT " ORDER BY d.name", "");
	ret = directory_admin_list(dir, stmt, sizeof(*domains),
	    directory_admin_domain_row, &items, &n, err);
	sqlite3_exec(dir->db, "COMMIT", NULL, NULL, NULL);
	domains = items;
	if (ret == -1) {
		directory_domain_list_free(&domains, n);
		return -1;
	}
	*domains_r = domains;
	*n_r = n;
	return 0;
}

int
directory_admin_domain_set_catch_all(struct directory *dir,
    const char *name, const char *destination, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1], dest[DIRECTORY_ADMIN_KEY_MAX];
	int64_t id;
	int ret = -1;

	if (directory_admin_domain_begin(dir, name, norm, &id, err) == -1)
		return -1;
	if (destination != NULL && directory_admin_destination(dir,
	    destination, dest, true, err) == -1)
		goto out;
	if (directory_admin_exec(dir, err,
	    "UPDATE domains SET catch_all = ?1 WHERE id = ?2", "si",
	    destination != NULL ? dest : NULL, id) == -1)
		goto out;
	ret = 0;
out:
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_domain_set_enabled(struct directory *dir, const char *name,
    bool enabled, struct directory_error *err)
{
	char norm[DIRECTORY_DOMAIN_MAX + 1];
	int64_t id;
	int rc;

	if (directory_admin_domain_begin(dir, name, norm, &id, err) == -1)
		return -1;
	rc = directory_admin_exec(dir, err,
	    "UPDATE domains SET enabled = ?1 WHERE id = ?2", "ii",
	    (int64_t)enabled, id);
	return directory_admin_end(dir, rc == -1 ? -1 : 0, err);
}

/* --- alias domains ------------------------------------------------------ */

void
directory_alias_domain_list_free(struct directory_alias_domain **list,
    size_t n)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*list)[i].name);
		free((*list)[i].target);
	}
	free(*list);
	*list = NULL;
}

int
directory_admin_alias_domain_add(struct directory *dir, const char *alias,
    const char *target, struct directory_error *err)
{
	char a[DIRECTORY_DOMAIN_MAX + 1], t[DIRECTORY_DOMAIN_MAX + 1];
	char *other = NULL;
	int64_t id, target_id;
	int ret = -1, rc;

	if (directory_admin_domain_norm(alias, a, err) == -1 ||
	    directory_admin_domain_norm(target, t, err) == -1)
		return -1;
	if (strcmp(a, t) == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "alias domain %s cannot point to itself", a);
	if (directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_domain_find(dir, a, &id, &other, err);
	if (rc == -1)
		goto out;
	if (rc == 1 || other != NULL) {
		if (rc == 1)
			directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
			    "%s already exists as a domain", a);
		else
			directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
			    "alias domain %s already exists (of %s)", a, other);
		goto out;
	}
	/* No chains: an alias domain of an alias domain would need a
	   second lookup per address and could loop. */
	if (directory_admin_domain_require(dir, t, &target_id, err) == -1)
		goto out;
	if (directory_admin_exec(dir, err, "INSERT INTO alias_domains"
	    " (name, target_id) VALUES (?1, ?2)", "si", a, target_id) == -1)
		goto out;
	ret = 0;
out:
	free(other);
	return directory_admin_end(dir, ret, err);
}

int
directory_admin_alias_domain_del(struct directory *dir, const char *alias,
    struct directory_error *err)
{
	char a[DIRECTORY_DOMAIN_MAX + 1];
	int rc;

	if (directory_admin_domain_norm(alias, a, err) == -1 ||
	    directory_admin_begin(dir, err) == -1)
		return -1;
	rc = directory_admin_exec(dir, err,
	    "DELETE FROM alias_domains WHERE name = ?1", "s", a);
	if (rc == 0)
		directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no alias domain %s", a);
	return directory_admin_end(dir, rc > 0 ? 0 : -1, err);
}

static int
directory_admin_alias_domain_row(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err)
{
	struct directory_alias_domain *ad = item;

	(void)dir;
	(void)err;
	ad->name = directory_admin_column(stmt, 0);
	ad->target = directory_admin_column(stmt, 1);
	return 0;
}

int
directory_admin_alias_domain_list(struct directory *dir,
    struct directory_alias_domain **list_r, size_t *n_r,
    struct directory_error *err)
{
	struct directory_alias_domain *list;
	sqlite3_stmt *stmt;
	void *items;
	size_t n;

	*list_r = NULL;
	*n_r = 0;
	stmt = directory_admin_stmt(dir, err, "SELECT a.name, d.name"
	    " FROM alias_domains a JOIN domains d ON d.id = a.target_id"
	    " ORDER BY a.name", "");
	if (directory_admin_list(dir, stmt, sizeof(*list),
	    directory_admin_alias_domain_row, &items, &n, err) == -1) {
		list = items;
		directory_alias_domain_list_free(&list, n);
		return -1;
	}
	*list_r = items;
	*n_r = n;
	return 0;
}
