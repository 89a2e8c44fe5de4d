/* directory_admin_private.h — helpers shared by directory_admin.c and the
   directory_admin_{domain,account,alias}.c files: error filling, one-shot
   statements with typed binds, reading rows into structs and lists,
   transactions, and normalising names the way they are stored. Every
   function returning int answers 0 (or 1/0 for lookups) and -1 with *err
   filled; err may be NULL. */
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

/* Fills item (a struct of the caller's list) from the current row of
   stmt; -1 when a lookup it makes fails. */
typedef int directory_admin_row_fn(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err);
/* The one row of stmt into item: 0, or -1 (NOT_FOUND "no what key" when
   there is no row). stmt may be NULL (a failed prepare, err filled); it is
   finalized here. */
int directory_admin_get(struct directory *dir, sqlite3_stmt *stmt,
    directory_admin_row_fn *row, void *item, const char *what,
    const char *key, struct directory_error *err);
/* Every row of stmt as a heap array of zeroed items of size bytes filled
   by row (*items_r NULL when there are none). On -1 too the array and its
   count are handed out for the caller's *_list_free. stmt as above. */
int directory_admin_list(struct directory *dir, sqlite3_stmt *stmt,
    size_t size, directory_admin_row_fn *row, void **items_r, size_t *n_r,
    struct directory_error *err);
/* A row_fn for lists of strings: column 0 into a char * ("" for NULL). */
int directory_admin_text_row(struct directory *dir, sqlite3_stmt *stmt,
    void *item, struct directory_error *err);

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
/* key (normalised) must be an account: 0 with *id_r (may be NULL), or -1
   (NOT_FOUND "no account key"). */
int directory_admin_account_id(struct directory *dir, const char *key,
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
