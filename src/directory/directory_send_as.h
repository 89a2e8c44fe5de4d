/* directory_send_as.h — which MAIL FROM addresses a logged-in account may
   use when the sender/login match is on (server-wide [submission]
   sender_login_match, or per domain: settings key
   "sender_login_match:<domain>" = "yes"): its own address, the aliases
   that deliver to it, both in any alias-domain spelling, and the
   addresses (or "@domain": a whole domain) delegated to it with
   `petrel user allow-send-as`.

   Reads are short indexed lookups (I/O thread allowed); writes are one
   durable transaction (CLI, worker). Return values as in
   directory_admin.h: 0, or -1 with *err (may be NULL). */
#ifndef PETREL_DIRECTORY_SEND_AS_H
#define PETREL_DIRECTORY_SEND_AS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;
struct directory_error;

/* account: an account's address (any spelling). address: an address,
   or "@domain" for every address of a domain. EXISTS when already
   there, NOT_FOUND for no such account, INVALID for a bad address. */
int directory_send_as_add(struct directory *dir, const char *account,
    const char *address, struct directory_error *err);
/* NOT_FOUND when the account has no such entry. */
int directory_send_as_del(struct directory *dir, const char *account,
    const char *address, struct directory_error *err);
/* The account's delegated addresses, sorted; heap array of heap
   strings (free with directory_send_as_list_free); NULL when none. */
int directory_send_as_list(struct directory *dir, const char *account,
    char ***list_r, size_t *n_r, struct directory_error *err);
void directory_send_as_list_free(char ***list, size_t n);

/* Whether account_id (its address account, normalised) may use sender
   (a MAIL FROM path without <>): 1 yes, 0 no, -1 on a database error.
   The null sender ("") is always allowed (bounces of the user's own
   filters). */
int directory_send_as_allowed(struct directory *dir, int64_t account_id,
    const char *account, const char *sender);

/* The per-domain switch. get: 1 on, 0 off (unset), -1 database error.
   set: domain must be one of ours (not an alias domain). */
int directory_send_as_domain_match(struct directory *dir,
    const char *domain);
int directory_send_as_set_domain_match(struct directory *dir,
    const char *domain, bool on, struct directory_error *err);
#endif
