/* directory_master.h — what a login names in the directory: master users
   (Dovecot's master users: one password that logs in as any account,
   "user@domain*master" or SASL authzid=user with authcid=master), and
   the account behind a login name, whatever spelling (any case, an alias
   domain) the client used.

   Reads are short indexed lookups (an I/O thread may run them on its own
   handle); add and del are one durable transaction each (CLI, worker).
   Return values as in directory_admin.h: 0, or -1 with *err filled (err
   may be NULL); strings handed out are heap copies the caller frees. */
#ifndef PETREL_DIRECTORY_MASTER_H
#define PETREL_DIRECTORY_MASTER_H

#include <stddef.h>
#include <stdint.h>

struct directory;
struct directory_account;
struct directory_error;

/* 1..64 octets of ASCII letters, digits, '.', '_' and '-', stored
   lower-case: never '@' or '*', so "user@domain*master" splits one way. */
#define DIRECTORY_MASTER_NAME_MAX 64

struct directory_master {
	int64_t id;
	char *name;			/* lower-case */
	char *password;			/* stored hash, "{SCHEME}..." */
	int64_t created;		/* Unix time */
};

void directory_master_clear(struct directory_master *master);
void directory_master_list_free(struct directory_master **list, size_t n);

/* Adds a master user (INVALID name or empty hash, EXISTS). */
int directory_master_add(struct directory *dir, const char *name,
    const char *password_hash, struct directory_error *err);
/* NOT_FOUND when there is none of that name. */
int directory_master_del(struct directory *dir, const char *name,
    struct directory_error *err);
/* name in any case; NOT_FOUND (also for an invalid name). */
int directory_master_get(struct directory *dir, const char *name,
    struct directory_master *master_r, struct directory_error *err);
/* All, sorted by name; *list_r NULL when there are none. */
int directory_master_list(struct directory *dir,
    struct directory_master **list_r, size_t *n_r,
    struct directory_error *err);

/* The canonical form of address: local part lower-cased, domain
   lower-cased and, when it is an alias domain, replaced by its target
   ("Bob@Alias.Example" -> "bob@example.org"). out has room for 321
   octets with NUL. Returns 1 with out, 0 when the domain is not ours (out holds
   the lower-cased form), -1 on a malformed address (INVALID) or a
   database error (DB). */
#define DIRECTORY_MASTER_CANONICAL_MAX 324
int directory_master_canonical(struct directory *dir, const char *address,
    char out[DIRECTORY_MASTER_CANONICAL_MAX], struct directory_error *err);

/* The account a login name names (directory_master_canonical, then the
   account): 0 with *account_r, or -1 (NOT_FOUND, DB). */
int directory_master_account(struct directory *dir, const char *login,
    struct directory_account *account_r, struct directory_error *err);
#endif
