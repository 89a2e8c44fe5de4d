/* directory_json.c — see directory_json.h. Strings from the directory are
   UTF-8 by construction (directory_address.c refuses anything else in
   addresses, admins type display names); json_string refuses invalid
   UTF-8, so a corrupt row becomes null rather than a broken document. */
#include "directory/directory_json.h"

#include "lib/xmalloc.h"

static json_t *
directory_json_check(json_t *j)
{
	if (j == NULL)
		panic("directory_json: out of memory");
	return j;
}

static json_t *
directory_json_str(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

static void
directory_json_set(json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, directory_json_check(value)) == -1)
		panic("directory_json_set: %s", key);
}

static void
directory_json_append(json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, directory_json_check(value)) == -1)
		panic("directory_json_append");
}

/* An array of n strings (each null when not UTF-8). */
static json_t *
directory_json_strings(char *const *list, size_t n)
{
	json_t *arr = directory_json_check(json_array());

	for (size_t i = 0; i < n; i++)
		directory_json_append(arr, directory_json_str(list[i]));
	return arr;
}

const char *
directory_json_result_name(enum directory_result result)
{
	switch (result) {
	case DIRECTORY_LOCAL: return "local";
	case DIRECTORY_NOT_LOCAL: return "not_local";
	case DIRECTORY_UNKNOWN: return "unknown";
	case DIRECTORY_INTERNAL_ONLY: return "internal_only";
	case DIRECTORY_DISABLED: return "disabled";
	case DIRECTORY_TEMPFAIL: return "tempfail";
	case DIRECTORY_INVALID: return "invalid";
	}
	return "invalid";
}

json_t *
directory_json_domain(const struct directory_domain *domain)
{
	json_t *o = directory_json_check(json_object());

	directory_json_set(o, "name", directory_json_str(domain->name));
	directory_json_set(o, "enabled", json_boolean(domain->enabled));
	directory_json_set(o, "catch_all",
	    directory_json_str(domain->catch_all));
	directory_json_set(o, "accounts",
	    json_integer((json_int_t)domain->n_accounts));
	directory_json_set(o, "aliases",
	    json_integer((json_int_t)domain->n_aliases));
	directory_json_set(o, "alias_domains", directory_json_strings(
	    domain->alias_domains, domain->n_alias_domains));
	return o;
}

json_t *
directory_json_alias_domain(const struct directory_alias_domain *ad)
{
	json_t *o = directory_json_check(json_object());

	directory_json_set(o, "name", directory_json_str(ad->name));
	directory_json_set(o, "target", directory_json_str(ad->target));
	return o;
}

static json_t *
directory_json_quota(uint64_t q)
{
	/* 0 means no limit; quotas fit json_int_t (the admin refuses more
	   than INT64_MAX). */
	return q == 0 ? json_null() : json_integer((json_int_t)q);
}

json_t *
directory_json_account(const struct directory_account *account)
{
	json_t *o = directory_json_check(json_object());

	directory_json_set(o, "id", json_integer((json_int_t)account->id));
	directory_json_set(o, "address", directory_json_str(account->address));
	directory_json_set(o, "name", directory_json_str(account->name));
	directory_json_set(o, "enabled", json_boolean(account->enabled));
	directory_json_set(o, "has_password",
	    json_boolean(account->password != NULL));
	directory_json_set(o, "quota_bytes",
	    directory_json_quota(account->quota_bytes));
	directory_json_set(o, "quota_messages",
	    directory_json_quota(account->quota_messages));
	directory_json_set(o, "plus_mode",
	    directory_json_str(account->plus_mode));
	directory_json_set(o, "forward", account->forward != NULL ?
	    directory_json_str(account->forward) : json_null());
	directory_json_set(o, "forward_keep",
	    json_boolean(account->forward_keep));
	return o;
}

json_t *
directory_json_alias(const struct directory_alias *alias)
{
	json_t *o = directory_json_check(json_object());

	directory_json_set(o, "source", directory_json_str(alias->source));
	directory_json_set(o, "internal", json_boolean(alias->internal));
	directory_json_set(o, "destinations", directory_json_strings(
	    alias->destinations, alias->n_destinations));
	return o;
}

json_t *
directory_json_resolution(const char *address,
    const struct directory_resolution *res)
{
	json_t *o = directory_json_check(json_object());
	json_t *dels = directory_json_check(json_array());

	for (size_t i = 0; i < res->n_deliveries; i++) {
		const struct directory_delivery *d = &res->deliveries[i];
		json_t *dj = directory_json_check(json_object());

		directory_json_set(dj, "account_id",
		    json_integer((json_int_t)d->account_id));
		directory_json_set(dj, "account", directory_json_str(d->account));
		directory_json_set(dj, "tag", directory_json_str(d->tag));
		directory_json_append(dels, dj);
	}
	directory_json_set(o, "address", directory_json_str(address));
	directory_json_set(o, "result",
	    json_string(directory_json_result_name(res->result)));
	directory_json_set(o, "deliveries", dels);
	directory_json_set(o, "forwards", directory_json_strings(res->forwards,
	    res->n_forwards));
	directory_json_set(o, "reply", directory_json_str(res->reply));
	return o;
}
