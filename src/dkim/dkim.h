/* dkim.h — DKIM signing (RFC 6376) with RSA-SHA256 and Ed25519-SHA256
   (RFC 8463), key generation and the DNS TXT record of a key.

   The signer is a pure function of the message bytes, the keys and the
   time: no I/O, no globals, no logging, so the queue runner can call it on
   a worker thread with the message file it already read. Canonicalisation
   is relaxed/relaxed; the headers signed are the default set below, the
   ones present and From once more than present (over-signing: a From added
   later breaks the signature). No l= and no x= (RFC 6376 §8.2: l= lets a
   forwarder append content; expiry is the verifier's policy).

   Messages are RFC 5322 with CRLF line ends (the queue stores them so);
   a bare LF is treated as CRLF so a file written by a test tool signs the
   same way it will verify after SMTP turns it into CRLF. */
#ifndef PETREL_DKIM_H
#define PETREL_DKIM_H

#include <stddef.h>
#include <time.h>

struct buf;

enum dkim_algorithm {
	DKIM_ALGORITHM_RSA,		/* rsa-sha256, k=rsa */
	DKIM_ALGORITHM_ED25519,		/* ed25519-sha256, k=ed25519 */
};

/* RSA size of generated keys: 2048 is what RFC 8301 §3.2 recommends and
   every verifier accepts (4096 does not fit one 255-octet TXT string and
   some DNS providers fail on it). */
#define DKIM_RSA_BITS_DEFAULT	2048
/* RFC 8301 §3.2: verifiers must refuse keys under 1024 bits. */
#define DKIM_RSA_BITS_MIN	1024
#define DKIM_RSA_BITS_MAX	4096

/* Longest d= and s= accepted (RFC 1035 names). */
#define DKIM_MAX_DOMAIN		253
#define DKIM_MAX_SELECTOR	63

/* One signing key. The strings are the caller's and only read during the
   call. */
struct dkim_key {
	const char *domain;		/* d=: the From domain, A-label form */
	const char *selector;		/* s= */
	enum dkim_algorithm algorithm;
	const char *private_key_pem;	/* PKCS#8 PEM as dkim_key_generate
					   writes it (or any PEM OpenSSL reads) */
};

/* Signs msg[0..len) with each of keys[0..n) (n >= 1; with an RSA and an
   Ed25519 key the message carries both signatures, RFC 8463 §4) and
   appends the DKIM-Signature fields to header_out, each folded at 78
   columns and ending with CRLF, ready to be written in front of the
   message. now is the t= value (time(NULL) at send time). Signs the header
   fields of dkim_sign_headers present in msg; From is always in h= even
   when missing (RFC 6376 §5.4 requires it signed).
   A message without an empty line is all header with an empty body.
   Returns 0, or -1 with *error_r a static English reason ("bad private
   key", "key does not match algorithm", "output full"); header_out may
   then hold part of the output, the caller drops it. CPU only (RSA: about 1 ms), never
   blocks on I/O. */
int dkim_sign(const struct dkim_key *keys, size_t n, const char *msg,
    size_t len, time_t now, struct buf *header_out, const char **error_r);

/* The header field names signed when present, lower-case, NULL-terminated
   (OpenDKIM's and Rspamd's defaults: what a reader sees and what MIME
   needs to render the body). */
extern const char *const dkim_sign_headers[];

/* Generates a key pair: RSA of bits bits (DKIM_RSA_BITS_MIN..MAX; ignored
   for Ed25519). On 0, *private_pem_r is the PKCS#8 PEM of the private key
   and *public_b64_r the base64 of the public key as p= wants it (RSA:
   SubjectPublicKeyInfo DER, RFC 6376 §3.6.1; Ed25519: the raw 32 bytes,
   RFC 8463 §4.2), both heap strings the caller frees (the PEM after
   explicit_bzero). Returns -1 with *error_r static on failure. CPU only:
   an RSA 2048 key takes 50-500 ms, so not on an I/O thread. */
int dkim_key_generate(enum dkim_algorithm algorithm, unsigned bits,
    char **private_pem_r, char **public_b64_r, const char **error_r);

/* The public key (base64, as above) derived from a private key PEM, e.g.
   to check a stored pair. Heap string, or NULL with *error_r set. */
char *dkim_key_public(enum dkim_algorithm algorithm, const char *private_pem,
    const char **error_r);

/* "rsa" / "ed25519" (the k= value and the directory's algorithm column),
   and back: 0, or -1 for an unknown name. */
const char *dkim_algorithm_name(enum dkim_algorithm algorithm);
int dkim_algorithm_parse(const char *name, enum dkim_algorithm *algorithm_r);

/* Appends the TXT record value "v=DKIM1; k=rsa; p=<public_b64>" to out.
   Returns 0, or -1 when out is full. */
int dkim_record_txt(enum dkim_algorithm algorithm, const char *public_b64,
    struct buf *out);
/* Appends the zone-file form of that record for selector:
     S._domainkey IN TXT ( "v=DKIM1; k=rsa; p=..."
             "..." )
   one quoted character-string per at most 255 octets (RFC 1035 §3.3.14;
   DNS joins them, RFC 6376 §3.6.2.2), followed by a newline. Returns 0,
   or -1 when out is full. */
int dkim_record_zone(const char *selector, enum dkim_algorithm algorithm,
    const char *public_b64, struct buf *out);
#endif
