/* directory_admin.h — creating, listing, changing and deleting domains,
   alias domains, accounts, aliases and global settings in the directory
   (used by the CLI, quickstart and later the HTTP API).

   Every write is one SQLite transaction with synchronous=FULL: when a
   function returns 0 the change is durable and every other directory
   handle (a running server) sees it at its next lookup. Writes block on
   the disk: worker pool or CLI only.

   Names are normalised before they are stored: domains lower-case,
   local parts with ASCII letters lower-cased (UTF-8 bytes kept as they
   are), quotes removed. Errors come back in a struct directory_error whose
   message is one line fit for the CLI ("domain example.org already
   exists"). */
#ifndef PETREL_DIRECTORY_ADMIN_H
#define PETREL_DIRECTORY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;

enum directory_error_code {
	DIRECTORY_ERROR_NONE,
	DIRECTORY_ERROR_INVALID,	/* bad syntax of a name or value */
	DIRECTORY_ERROR_EXISTS,		/* already there */
	DIRECTORY_ERROR_NOT_FOUND,	/* no such domain/account/alias */
	DIRECTORY_ERROR_IN_USE,		/* domain still has accounts */
	DIRECTORY_ERROR_DB,		/* SQLite failed (busy, I/O, full) */
};

struct directory_error {
	enum directory_error_code code;
	char *message;			/* heap; directory_error_clear frees */
};

/* Frees the message and resets err; accepts an unset err. */
void directory_error_clear(struct directory_error *err);

/* Every function below returns 0 on success, or -1 and fills *err (which
   may be NULL when the caller does not care). Strings in the structs they
   fill are heap copies owned by the caller (free with the *_clear or
   *_list_free function next to the struct). */

/* --- domains ------------------------------------------------------------ */

struct directory_domain {
	int64_t id;
	char *name;			/* lower-case */
	char *catch_all;		/* destination of unknown local parts,
					   NULL when none */
	bool enabled;			/* disabled: every address 550 5.2.1 */
	uint64_t n_accounts, n_aliases;
	char **alias_domains;		/* alias domains pointing here */
	size_t n_alias_domains;
};

void directory_domain_clear(struct directory_domain *domain);
void directory_domain_list_free(struct directory_domain **domains, size_t n);

/* Adds a domain (INVALID for bad syntax, EXISTS when it is a domain or an
   alias domain already). */
int directory_admin_domain_add(struct directory *dir, const char *name,
    struct directory_error *err);
/* Deletes a domain with its aliases and alias domains. A domain that still
   has accounts is refused (IN_USE) unless force, which deletes the
   accounts too (their mail files are the store's to remove). */
int directory_admin_domain_del(struct directory *dir, const char *name,
    bool force, struct directory_error *err);
int directory_admin_domain_get(struct directory *dir, const char *name,
    struct directory_domain *domain_r, struct directory_error *err);
/* All domains, sorted by name. *domains_r is NULL when n is 0. */
int directory_admin_domain_list(struct directory *dir,
    struct directory_domain **domains_r, size_t *n_r,
    struct directory_error *err);
/* Sets (destination: an address, local or external) or removes (NULL)
   the catch-all of a domain: mail to unknown local parts goes there. A
   local destination must exist (account or alias). */
int directory_admin_domain_set_catch_all(struct directory *dir,
    const char *name, const char *destination, struct directory_error *err);
int directory_admin_domain_set_enabled(struct directory *dir,
    const char *name, bool enabled, struct directory_error *err);

/* --- alias domains ------------------------------------------------------ */

struct directory_alias_domain {
	char *name;			/* mail to x@name ... */
	char *target;			/* ... is resolved as x@target */
};

void directory_alias_domain_list_free(struct directory_alias_domain **list,
    size_t n);

/* alias must not be a domain or alias domain yet; target must be a domain
   (not an alias domain: no chains). */
int directory_admin_alias_domain_add(struct directory *dir, const char *alias,
    const char *target, struct directory_error *err);
int directory_admin_alias_domain_del(struct directory *dir, const char *alias,
    struct directory_error *err);
/* All alias domains, sorted by name. */
int directory_admin_alias_domain_list(struct directory *dir,
    struct directory_alias_domain **list_r, size_t *n_r,
    struct directory_error *err);

/* --- accounts ----------------------------------------------------------- */

struct directory_account {
	int64_t id;			/* stable, never reused */
	char *address;			/* normalised local@domain */
	char *name;			/* display name, "" when none */
	char *password;			/* stored hash ("{ARGON2ID}..."), NULL
					   when the account cannot log in */
	uint64_t quota_bytes;		/* 0: no limit */
	uint64_t quota_messages;	/* 0: no limit */
	bool enabled;
	char *plus_mode;		/* "ignore" (deliver to INBOX), "folder"
					   (INBOX/<tag>), "subject" ([tag] …) */
	char *forward;			/* forward destinations, comma-separated,
					   or NULL */
	bool forward_keep;		/* forwarding keeps a copy here */
};

void directory_account_clear(struct directory_account *account);
void directory_account_list_free(struct directory_account **accounts,
    size_t n);

/* Creates an account. The domain must exist (not an alias domain).
   password_hash is the stored form from password_hash() (NULL: no login);
   name may be NULL. *id_r (may be NULL) receives the new account id. */
int directory_admin_account_add(struct directory *dir, const char *address,
    const char *name, const char *password_hash, uint64_t quota_bytes,
    int64_t *id_r, struct directory_error *err);
/* Deletes the account, and its address from every alias destination list
   (an alias left without destinations is deleted too). */
int directory_admin_account_del(struct directory *dir, const char *address,
    struct directory_error *err);
int directory_admin_account_get(struct directory *dir, const char *address,
    struct directory_account *account_r, struct directory_error *err);
/* Accounts of domain (NULL: of all domains), sorted by address. */
int directory_admin_account_list(struct directory *dir, const char *domain,
    struct directory_account **accounts_r, size_t *n_r,
    struct directory_error *err);
int directory_admin_account_set_password(struct directory *dir,
    const char *address, const char *password_hash,
    struct directory_error *err);
/* Each of bytes and messages: NULL leaves it, 0 means no limit. */
int directory_admin_account_set_quota(struct directory *dir,
    const char *address, const uint64_t *bytes, const uint64_t *messages,
    struct directory_error *err);
int directory_admin_account_set_enabled(struct directory *dir,
    const char *address, bool enabled, struct directory_error *err);
/* mode: "ignore", "folder" or "subject" (INVALID otherwise). */
int directory_admin_account_set_plus_mode(struct directory *dir,
    const char *address, const char *mode, struct directory_error *err);
/* Forwards the account's mail to destinations (addresses, local or
   external), keeping a copy in the mailbox when keep; n == 0 turns
   forwarding off. The forwarded copy leaves through the queue. */
int directory_admin_account_set_forward(struct directory *dir,
    const char *address, const char *const *destinations, size_t n,
    bool keep, struct directory_error *err);

/* --- aliases (addresses) ------------------------------------------------ */

struct directory_alias {
	char *source;			/* local@domain, or local@* (wildcard:
					   that local part in every domain) */
	bool internal;			/* only senders inside may use it */
	char **destinations;		/* in the order they were added */
	size_t n_destinations;
};

void directory_alias_clear(struct directory_alias *alias);
void directory_alias_list_free(struct directory_alias **aliases, size_t n);

enum directory_alias_visibility {
	DIRECTORY_ALIAS_KEEP,		/* new alias: public; existing: as is */
	DIRECTORY_ALIAS_PUBLIC,
	DIRECTORY_ALIAS_INTERNAL,
};

/* Creates the alias source, or adds destinations to it. The source domain
   must be a domain (not an alias domain) or "*". Each destination is an
   address; one in our domains must exist (account or alias, a "+tag"
   ignored), one elsewhere becomes a forward. A destination the alias
   already has is refused (EXISTS) and nothing is changed. An alias on the
   address of an account wins over the account (as Postfix's
   virtual_alias_maps do); list the account itself among the destinations
   to keep a copy there. */
int directory_admin_alias_add(struct directory *dir, const char *source,
    const char *const *destinations, size_t n_destinations,
    enum directory_alias_visibility visibility, struct directory_error *err);
/* Removes one destination (deleting the alias when it was the last), or
   the whole alias when destination is NULL. */
int directory_admin_alias_del(struct directory *dir, const char *source,
    const char *destination, struct directory_error *err);
int directory_admin_alias_get(struct directory *dir, const char *source,
    struct directory_alias *alias_r, struct directory_error *err);
/* Aliases of domain (NULL: all, wildcards included), sorted by source. */
int directory_admin_alias_list(struct directory *dir, const char *domain,
    struct directory_alias **aliases_r, size_t *n_r,
    struct directory_error *err);

/* --- global settings ---------------------------------------------------- */

/* Accept mail for unknown addresses of all our domains (after aliases,
   wildcards and per-domain catch-alls) into this one account. */
#define DIRECTORY_SETTING_CATCHALL_MAILBOX "catchall_unknown_mailbox"

/* Sets (value) or removes (NULL) a setting. Only known keys are accepted;
   DIRECTORY_SETTING_CATCHALL_MAILBOX must name an existing account. */
int directory_admin_setting_set(struct directory *dir, const char *key,
    const char *value, struct directory_error *err);
/* *value_r: heap copy, or NULL when unset. */
int directory_admin_setting_get(struct directory *dir, const char *key,
    char **value_r, struct directory_error *err);
#endif
