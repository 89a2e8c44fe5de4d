/* tls.h — OpenSSL 3 server contexts and the self-signed certificate the
   quickstart installs (DESIGN.md §2). Everything that reads key files is
   here so that the policy (TLS 1.2 minimum, server cipher order, no
   renegotiation or compression) lives in one place; conn_tls.c only drives
   SSL objects made from these contexts. */
#ifndef PETREL_TLS_H
#define PETREL_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

/* A server context for cert_file (PEM: the leaf first, then any
   intermediates, as SSL_CTX_use_certificate_chain_file reads it) and
   key_file (PEM private key; it must match the certificate). TLS 1.2
   minimum, server cipher preference, no compression, no renegotiation,
   session tickets on, a peer's close without close_notify read as EOF.
   Returns the context (the caller owns one reference: SSL_CTX_free), or
   NULL with *error_r (heap, caller frees) naming the file and OpenSSL's
   reason. Reads files: call at start-up or on reload, never per
   connection. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
    char **error_r);

/* Writes a new EC P-256 key to key_file (mode 0600) and a self-signed
   certificate for hostname to cert_file (mode 0644): SAN DNS:hostname (or
   IP:address for an address literal), serverAuth, valid for ten years.
   Files are replaced atomically and durably. Returns 0, or -1 with
   *error_r (heap). Blocks on the disk. */
int tls_generate_self_signed(const char *hostname, const char *cert_file,
    const char *key_file, char **error_r);

/* "subject=CN=mail.example.org not_after=2035-01-02T03:04:05Z" for a log
   line about ctx's certificate. Heap string the caller frees. */
char *tls_ctx_summary(SSL_CTX *ctx);

/* Describes the oldest error on this thread's OpenSSL error queue (the
   root cause; later entries are the callers' wrappers) into out, clears the
   queue and returns out. "unknown error" when the queue is empty. */
char *tls_error_text(char *out, size_t max_out);
#endif
