/* dkim_private.h — the steps of dkim_sign, for the module's own files and
   its tests (the RFC 8463 vector signs with a fixed h= and tag text). */
#ifndef PETREL_DKIM_PRIVATE_H
#define PETREL_DKIM_PRIVATE_H

#include <stddef.h>

#include "dkim/dkim.h"

struct buf;
struct evp_pkey_st;

/* Base64 of SHA-256 (44 characters and NUL). */
#define DKIM_B64_SHA256_SIZE 45

/* Loads a private key PEM and checks it is of algorithm (RSA: at least
   DKIM_RSA_BITS_MIN bits). Returns the key (EVP_PKEY_free), or NULL with
   *error_r static. */
struct evp_pkey_st *dkim_key_load(enum dkim_algorithm algorithm,
    const char *pem, const char **error_r);

/* bh=: the base64 SHA-256 of the relaxed canonical body[0..len). */
void dkim_sign_body_hash(const char *body, size_t len,
    char out[DKIM_B64_SHA256_SIZE]);

/* Appends to out the relaxed canonical fields of msg's header (msg[0..
   header_len) holds whole fields) that names[0..n) select, each with
   CRLF, in h= order: the k-th mention of a name takes its k-th instance
   from the bottom (RFC 6376 §5.4.2), a mention past the last instance
   takes nothing. Returns 0, or -1 when out is full. */
int dkim_sign_header_data(const char *msg, size_t header_len,
    const char *const *names, size_t n, struct buf *out);

/* Signs data[0..len) (the header data ending with the DKIM-Signature
   field whose b= is empty) with key: RSASSA-PKCS1-v1_5 over SHA-256
   (RFC 6376 §3.3.1), or Ed25519 over the SHA-256 of data (RFC 8463 §3).
   Appends the base64 signature to out. 0, or -1 with *error_r. */
int dkim_sign_data(struct evp_pkey_st *key, enum dkim_algorithm algorithm,
    const char *data, size_t len, struct buf *out, const char **error_r);
#endif
