/* directory.h — domains, alias domains, accounts and addresses in
   DATA/directory.db (SQLite, WAL, versioned migrations), and resolve():
   address -> deliveries, forwards, or a reject (DESIGN.md §4).

   One struct directory is one SQLite connection: use it from one thread at a
   time (each I/O thread opens its own). Reads are short indexed lookups and
   may run on an I/O thread; writes (CLI, API) go through the same functions
   and are seen by every other connection at once: a running server needs no
   restart. The CRUD functions are declared in directory_admin.h. */
#ifndef PETREL_DIRECTORY_H
#define PETREL_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;

/* Opens DATA/directory.db, creating it and running migrations when create
   is true (otherwise a missing database is an error). Returns 0, or -1 with
   *error_r (heap; caller frees). */
int directory_open(const char *data_dir, bool create, struct directory **dir_r,
    char **error_r);
void directory_close(struct directory **dir);

enum directory_result {
	DIRECTORY_LOCAL,	/* deliveries and/or forwards below */
	DIRECTORY_NOT_LOCAL,	/* a domain we do not serve: relay question */
	DIRECTORY_UNKNOWN,	/* our domain, no such address: 550 5.1.1 */
	DIRECTORY_INTERNAL_ONLY,/* internal address, sender outside: 550 5.7.1 */
	DIRECTORY_DISABLED,	/* mailbox disabled: 550 5.2.1 */
	DIRECTORY_TEMPFAIL,	/* database error: 451 4.3.0 */
	DIRECTORY_INVALID,	/* not a valid address: 501 5.1.3 */
};

/* What a plus tag does to a delivery (the account's plus_mode, as in
   mailcow): nothing, file into INBOX/<tag>, or prefix the Subject. */
enum directory_plus_mode {
	DIRECTORY_PLUS_IGNORE,
	DIRECTORY_PLUS_FOLDER,
	DIRECTORY_PLUS_SUBJECT,
};

struct directory_delivery {
	int64_t account_id;
	char *account;		/* the account's address, lower-case domain */
	char *tag;		/* plus-address tag ("newsletter"), or NULL */
	enum directory_plus_mode plus_mode;
	uint64_t quota_bytes;	/* 0: no limit */
	uint64_t quota_messages;
};

struct directory_resolution {
	enum directory_result result;
	struct directory_delivery *deliveries;
	size_t n_deliveries;
	char **forwards;	/* external addresses */
	size_t n_forwards;
	/* The complete SMTP reply for a reject ("550 5.1.1 <x@y>: Recipient
	   address rejected: User unknown"), NULL when result is LOCAL. */
	char *reply;
};

/* Resolves one envelope address (no angle brackets; local part may be
   quoted or UTF-8). internal_ok: the sender may reach internal-only
   addresses (authenticated or from our own domains — decided by the
   caller). Always fills *res; free with directory_resolution_clear.
   Handles case-insensitive domains, alias domains, plus-addressing,
   aliases with several destinations (expanded recursively, loops cut at a
   depth limit), wildcard addresses (info@*), per-domain catch-all and the
   global catch-all mailbox. An account with forwarding set (`petrel user
   forward`) contributes its forward destinations (resolved like alias
   destinations) and a delivery only when it keeps a copy. Duplicate
   deliveries to one account are folded. */
void directory_resolve(struct directory *dir, const char *address,
    bool internal_ok, struct directory_resolution *res);
void directory_resolution_clear(struct directory_resolution *res);

/* Whether domain (any case) is one of ours, directly or as an alias domain. */
bool directory_is_local_domain(struct directory *dir, const char *domain);

/* "ignore", "folder", "subject" <-> enum; -1 for an unknown name. */
int directory_plus_mode_parse(const char *name);
const char *directory_plus_mode_name(enum directory_plus_mode mode);
#endif
