/* directory_private.h — what the files of src/directory share: the handle
   with its cached statements, the address normaliser and the schema
   migrations. Nothing outside src/directory includes this. */
#ifndef PETREL_DIRECTORY_PRIVATE_H
#define PETREL_DIRECTORY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "directory/directory.h"

/* RFC 5321 §4.5.3.1.1: 64 octets of local part; §4.5.3.1.2: 255 of
   domain; §4.5.3.1.3: 256 of path, brackets included, so 254 between. */
#define DIRECTORY_LOCAL_MAX 64
#define DIRECTORY_DOMAIN_MAX 255
#define DIRECTORY_ADDRESS_MAX 254

/* The lookups resolve() runs: prepared once per handle, on first use. */
enum directory_stmt {
	DIRECTORY_STMT_BEGIN,
	DIRECTORY_STMT_COMMIT,
	DIRECTORY_STMT_ROLLBACK,
	DIRECTORY_STMT_DOMAIN,
	DIRECTORY_STMT_ALIAS_DOMAIN,
	DIRECTORY_STMT_ALIAS,
	DIRECTORY_STMT_DESTINATIONS,
	DIRECTORY_STMT_ACCOUNT,
	DIRECTORY_STMT_SETTING,
	DIRECTORY_STMT_COUNT
};

struct directory {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmts[DIRECTORY_STMT_COUNT];
};

/* A split, checked and normalised address. The local part is decoded
   (quotes and quoted-pairs removed) and must then be a dot-atom of RFC
   5322 atext and UTF-8 (RFC 6531), 1..64 octets: whatever would need
   quoting (spaces, controls, '@', '"', '\') is refused, so the stored and
   looked-up forms of one address are always the same bytes. */
struct directory_address {
	char local[DIRECTORY_LOCAL_MAX + 1];	/* as given, decoded */
	char local_lower[DIRECTORY_LOCAL_MAX + 1]; /* ASCII lower-cased */
	char domain[DIRECTORY_DOMAIN_MAX + 1];	/* ASCII lower-cased, or "*" */
	bool wildcard;				/* domain is "*" */
};

/* Parses s (NUL-terminated, no angle brackets). allow_wildcard admits
   "local@*". Returns 0, or -1 with *error_r (static text). */
int directory_address_parse(const char *s, bool allow_wildcard,
    struct directory_address *addr_r, const char **error_r);
/* Checks and lower-cases a domain name: LDH labels of 1..63 octets (UTF-8
   labels kept as UTF-8, their ASCII lower-cased), or an address literal.
   out has room for DIRECTORY_DOMAIN_MAX + 1. Returns 0 or -1. */
int directory_address_domain(const char *s, size_t len, char *out,
    const char **error_r);

/* Prepares statement which on first use; returns it reset, or NULL on a
   database error (logged). */
sqlite3_stmt *directory_stmt(struct directory *dir, enum directory_stmt which);

/* Brings the schema to the latest version (PRAGMA user_version), one
   transaction per step. Returns 0, or -1 with *error_r (heap). */
int directory_schema_migrate(sqlite3 *db, char **error_r);
#endif
