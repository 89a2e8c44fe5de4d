/* password.h — password hashing and verification of stored hashes.

   Stored hashes carry a Dovecot-style scheme prefix ("{ARGON2ID}$argon2id$...",
   "{CRYPT}$y$..."), so hashes imported from Dovecot verify unchanged. New
   hashes are Argon2id (libsodium) or yescrypt (libxcrypt).

   Hashing and verifying Argon2id/yescrypt/bcrypt cost ~100 ms and up to
   64 MiB each: they block, so servers call them from the worker pool only
   (DESIGN.md §7); the CLI may call them directly. All functions are
   thread-safe. */
#ifndef PETREL_PASSWORD_H
#define PETREL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

enum password_scheme {
	PASSWORD_SCHEME_ARGON2ID,	/* {ARGON2ID}, libsodium INTERACTIVE costs */
	PASSWORD_SCHEME_YESCRYPT,	/* {CRYPT}$y$, libxcrypt default cost */
};
#define PASSWORD_SCHEME_DEFAULT PASSWORD_SCHEME_ARGON2ID

/* Longest password we hash or verify; longer ones are refused (a cap on the
   work one login may cost; CLI and SASL inputs are capped lower anyway). */
#define PASSWORD_MAX_LEN 4096

/* Hashes plain (NUL-terminated, 1..PASSWORD_MAX_LEN bytes) with scheme.
   Returns the stored form with its "{SCHEME}" prefix (heap; caller frees),
   or NULL with *error_r set (heap; caller frees) when plain is empty or
   too long or the library fails. Blocks. */
char *password_hash(const char *plain, enum password_scheme scheme,
    char **error_r);

/* Checks the len bytes of plain against stored ("{SCHEME}..." or, without
   a prefix, a crypt(3) string starting with '$'). Verifies {ARGON2ID},
   {ARGON2I}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT}, {MD5-CRYPT},
   {CRYPT} (any format libxcrypt knows), {SSHA512}, {SSHA256}, {SSHA},
   {SHA512}, {SHA256}, {SHA}, {PLAIN}/{CLEAR}/{CLEARTEXT}; the digest and
   PLAIN schemes also with a ".b64" or ".hex" suffix. Scheme names are
   case-insensitive. A plain containing NUL never matches.
   Returns 1 on match, 0 on mismatch, -1 for an unknown scheme or a
   malformed (or NULL: no password set) stored hash. Comparison is
   constant-time. Blocks. */
int password_verify(const char *plain, size_t len, const char *stored);

/* A random password of len characters (1..256) from an alphabet without
   look-alikes (no 0/O, 1/l/I), from libsodium's CSPRNG: 16 characters
   carry about 92 bits. Heap string; caller wipes (explicit_bzero) and
   frees. Never returns NULL. */
char *password_generate(size_t len);

/* "argon2id" or "yescrypt" (any case) to the scheme. Returns 0 or -1. */
int password_scheme_parse(const char *name, enum password_scheme *scheme_r);
#endif
