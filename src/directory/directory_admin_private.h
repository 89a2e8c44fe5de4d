/* directory_admin_private.h — helpers shared by directory_admin.c and the
   directory_admin_{domain,account,alias}.c files: error filling, one-shot
   statements with typed binds, transactions, and normalising names the
   way they are stored. Every function returning int answers 0 (or 1/0 for
   lookups) and -1 with *err filled; err may be NULL. */
#ifndef PETREL_DIRECTORY_ADMIN_PRIVATE_H
#define PETREL_DIRECTORY_ADMIN_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory/directory_admin.h"
#include "directory/directory_private.h"

/* A normalised local@domain, NUL included. */
#define DIRECTORY_ADMIN_KEY_MAX (DIRECTORY_LOCAL_MAX + 1 + \
	DIRECTORY_DOMAIN_MAX + 1)

/* Fills err (replacing an earlier message); returns -1. */
int directory_admin_fail(struct directory_error *err,
    enum directory_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* DB error with SQLite's message, logged as a warning; returns -1. */
int directory_admin_db_fail(struct directory *dir,
    struct directory_error *err);
/* Caller text made printable (log_str) into buf; returns buf. */
const char *directory_admin_safe(char *buf, size_t size, const char *s);

/* Prepares sql and binds ?1.. from the arguments, one per character of
   types: 's' const char * (NULL binds NULL), 'i' int64_t, 'n' int64_t
   where 0 binds NULL. Returns the statement (caller finalizes) or NULL. */
sqlite3_stmt *directory_admin_vstmt(struct directory *dir,
    struct directory_error *err, const char *sql, const char *types,
    va_list ap);
sqlite3_stmt *directory_admin_stmt(struct directory *dir,
    struct directory_error *err, const char *sql, const char *types, ...);
/* Runs a statement without rows; returns the rows changed, or -1. */
int directory_admin_exec(struct directory *dir, struct directory_error *err,
    const char *sql, const char *types, ...);
/* First column of the first row as integer (num_r may be NULL) or heap
   text (NULL for SQL NULL). Return 1 with a row, 0 without, -1. */
int directory_admin_int(struct directory *dir, struct directory_error *err,
    int64_t *num_r, const char *sql, const char *types, ...);
int directory_admin_text(struct directory *dir, struct directory_error *err,
    char **text_r, const char *sql, const char *types, ...);
/* Heap copy of a text column, NULL for SQL NULL. */
char *directory_admin_column(sqlite3_stmt *stmt, int col);

/* BEGIN IMMEDIATE. */
int directory_admin_begin(struct directory *dir, struct directory_error *err);
/* COMMIT when ret is 0, else ROLLBACK; 0 only when committed. */
int directory_admin_end(struct directory *dir, int ret,
    struct directory_error *err);

/* A domain name checked and lower-cased into out (DIRECTORY_DOMAIN_MAX+1);
   address literals refused. */
int directory_admin_domain_norm(const char *name, char *out,
    struct directory_error *err);
/* An address parsed and its key (local_lower@domain) built into key
   (DIRECTORY_ADMIN_KEY_MAX). */
int directory_admin_address(const char *s, bool allow_wildcard,
    struct directory_address *addr, char *key, struct directory_error *err);
/* 1: norm is a domain (*id_r). 0: it is not; *target_r (heap) names the
   target when it is an alias domain. -1 on error. */
int directory_admin_domain_find(struct directory *dir, const char *norm,
    int64_t *id_r, char **target_r, struct directory_error *err);
/* norm must be a domain (not an alias domain): 0 with *id_r, or -1. */
int directory_admin_domain_require(struct directory *dir, const char *norm,
    int64_t *id_r, struct directory_error *err);
/* A destination normalised into out (DIRECTORY_ADMIN_KEY_MAX): local part
   lower-cased when the domain is ours, as given when not. check_exists:
   a local one must be an account or alias ("+tag" ignored). */
int directory_admin_destination(struct directory *dir, const char *dest,
    char *out, bool check_exists, struct directory_error *err);

/* Deletes aliases left without destinations. */
int directory_admin_drop_empty_aliases(struct directory *dir,
    struct directory_error *err);
/* The alias domains of domain id, sorted (heap array of heap strings). */
int directory_admin_alias_domain_names(struct directory *dir, int64_t id,
    char ***names_r, size_t *n_r, struct directory_error *err);
void directory_admin_names_free(char **names, size_t n);
#endif
