/* directory_json.h — JSON (jansson) forms of directory objects, one
   shape shared by `petrel ... --json` and the HTTP API. Password hashes
   are never included, only whether an account has one. */
#ifndef PETREL_DIRECTORY_JSON_H
#define PETREL_DIRECTORY_JSON_H

#include <jansson.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"

/* "local", "not_local", "unknown", "internal_only", "disabled",
   "tempfail", "invalid". */
const char *directory_json_result_name(enum directory_result result);

/* Each returns a new reference (never NULL). */
json_t *directory_json_domain(const struct directory_domain *domain);
json_t *directory_json_alias_domain(const struct directory_alias_domain *ad);
json_t *directory_json_account(const struct directory_account *account);
json_t *directory_json_alias(const struct directory_alias *alias);
/* {"address", "result", "deliveries": [{"account_id", "account", "tag"}],
   "forwards": [...], "reply"} — reply null when local. */
json_t *directory_json_resolution(const char *address,
    const struct directory_resolution *res);
#endif
