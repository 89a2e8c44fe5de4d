/* directory_dkim.h — DKIM keys per domain in directory.db (table
   dkim_keys): storing generated keys, listing, activating, deleting, and
   the keys the queue runner signs with.

   Keys belong to a domain, not to an alias domain: mail From an alias
   domain (or any domain without keys) is sent unsigned; give the alias
   domain its own keys by making it a domain. Rotation: generate a key with
   a new selector (both are active and both records are published), then
   deactivate the old one; signing uses the OLDEST active key of each
   algorithm, so the new key takes over only when the old one is
   deactivated, by which time its DNS record is out. At most two keys per
   algorithm and domain are active at once.

   Writes are one transaction each and block on the disk (worker pool or
   CLI); reads are short indexed lookups. Errors as in directory_admin.h. */
#ifndef PETREL_DIRECTORY_DKIM_H
#define PETREL_DIRECTORY_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;
struct directory_error;

/* Active keys per algorithm and domain: the current one and its
   successor during a rotation. */
#define DIRECTORY_DKIM_MAX_ACTIVE 2

struct directory_dkim_key {
	int64_t id;
	char *domain;			/* A-label, lower-case (the d= value) */
	char *selector;
	char *algorithm;		/* "rsa" or "ed25519" */
	char *private_key;		/* PKCS#8 PEM; NULL in lists */
	char *public_key;		/* base64, the p= value */
	bool active;
	int64_t created;		/* Unix time */
};

/* Frees the strings (the private key wiped first) and zeroes key. */
void directory_dkim_key_clear(struct directory_dkim_key *key);
void directory_dkim_key_list_free(struct directory_dkim_key **keys,
    size_t n);

/* Whether s is a valid selector: dot-separated labels of letters, digits
   and '-', at most 63 octets in all. */
bool directory_dkim_selector_is_valid(const char *s);

/* Stores a key (active) for domain. algorithm "rsa" or "ed25519"; the PEM
   and public key come from dkim_key_generate. Refused: domain not a
   domain (NOT_FOUND, alias domains too), bad selector (INVALID), selector
   taken (EXISTS), already DIRECTORY_DKIM_MAX_ACTIVE active keys of that
   algorithm (IN_USE: deactivate one first). */
int directory_dkim_add(struct directory *dir, const char *domain,
    const char *selector, const char *algorithm, const char *private_pem,
    const char *public_b64, struct directory_error *err);
/* Keys of domain (NULL: of every domain) sorted by domain, then creation,
   without private keys. */
int directory_dkim_list(struct directory *dir, const char *domain,
    struct directory_dkim_key **keys_r, size_t *n_r,
    struct directory_error *err);
/* Activates or deactivates one key (NOT_FOUND when there is none;
   activating past the limit: IN_USE). */
int directory_dkim_set_active(struct directory *dir, const char *domain,
    const char *selector, bool active, struct directory_error *err);
int directory_dkim_delete(struct directory *dir, const char *domain,
    const char *selector, struct directory_error *err);

/* The keys to sign mail whose From domain is domain: for each algorithm
   the oldest active key, private key included (RSA first, then Ed25519;
   both present means two signatures). *n_r is 0 (and *keys_r NULL) when
   domain has none or is not one of our domains, an alias domain
   included. The caller frees with directory_dkim_key_list_free, which
   wipes the private keys. */
int directory_dkim_signing_keys(struct directory *dir, const char *domain,
    struct directory_dkim_key **keys_r, size_t *n_r,
    struct directory_error *err);
#endif
