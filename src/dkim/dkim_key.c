/* dkim_key.c — DKIM keys: generation (RSA, Ed25519), loading a stored
   PEM, the public key as p= wants it and the DNS TXT record in raw and
   zone-file form (RFC 6376 §3.6.1, RFC 8463 §4.2). */
#include "dkim/dkim.h"
#include "dkim/dkim_private.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* RFC 1035 §3.3.14: one character-string holds up to 255 octets. */
#define DKIM_TXT_STRING_MAX 255

const char *
dkim_algorithm_name(enum dkim_algorithm algorithm)
{
	return algorithm == DKIM_ALGORITHM_ED25519 ? "ed25519" : "rsa";
}

int
dkim_algorithm_parse(const char *name, enum dkim_algorithm *algorithm_r)
{
	if (strcmp(name, "rsa") == 0)
		*algorithm_r = DKIM_ALGORITHM_RSA;
	else if (strcmp(name, "ed25519") == 0)
		*algorithm_r = DKIM_ALGORITHM_ED25519;
	else
		return -1;
	return 0;
}

/* Stored keys are never encrypted. Without this callback OpenSSL asks
   for a pass phrase on /dev/tty, or reads one from stdin when there is no
   terminal: the CLI would stop at a prompt and the daemon would take
   whatever its stdin holds. */
static int
dkim_key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

EVP_PKEY *
dkim_key_load(enum dkim_algorithm algorithm, const char *pem,
    const char **error_r)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = NULL;

	if (bio != NULL)
		key = PEM_read_bio_PrivateKey(bio, NULL,
		    dkim_key_no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL) {
		*error_r = "bad private key";
		return NULL;
	}
	int want = algorithm == DKIM_ALGORITHM_ED25519 ? EVP_PKEY_ED25519 :
	    EVP_PKEY_RSA;
	if (EVP_PKEY_get_base_id(key) != want) {
		*error_r = "key does not match algorithm";
		EVP_PKEY_free(key);
		return NULL;
	}
	/* RFC 8301 §3.2: shorter RSA keys do not verify anywhere. */
	if (want == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < DKIM_RSA_BITS_MIN) {
		*error_r = "RSA key shorter than 1024 bits";
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static char *
dkim_key_b64(const unsigned char *der, size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *out = xmalloc(cap);

	base64_encode(der, len, out, cap);
	return out;
}

/* RSA: the SubjectPublicKeyInfo DER (§3.6.1 "k=rsa ... RSAPublicKey or
   SubjectPublicKeyInfo", the latter is what everyone publishes); Ed25519:
   the bare 32-byte key (RFC 8463 §4.2). */
static char *
dkim_key_public_of(EVP_PKEY *key, enum dkim_algorithm algorithm)
{
	if (algorithm == DKIM_ALGORITHM_ED25519) {
		unsigned char raw[32];
		size_t len = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 ||
		    len != sizeof(raw))
			return NULL;
		return dkim_key_b64(raw, len);
	}
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	if (len <= 0)
		return NULL;
	char *out = dkim_key_b64(der, (size_t)len);
	OPENSSL_free(der);
	return out;
}

char *
dkim_key_public(enum dkim_algorithm algorithm, const char *private_pem,
    const char **error_r)
{
	EVP_PKEY *key = dkim_key_load(algorithm, private_pem, error_r);

	if (key == NULL)
		return NULL;
	char *out = dkim_key_public_of(key, algorithm);
	EVP_PKEY_free(key);
	if (out == NULL)
		*error_r = "cannot encode public key";
	return out;
}

/* PKCS#8 PEM as a heap string. */
static char *
dkim_key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0) {
		out = xstrndup(data, (size_t)len);
		explicit_bzero(data, (size_t)len);
	}
	BIO_free(bio);
	return out;
}

int
dkim_key_generate(enum dkim_algorithm algorithm, unsigned bits,
    char **private_pem_r, char **public_b64_r, const char **error_r)
{
	EVP_PKEY *key;

	*private_pem_r = *public_b64_r = NULL;
	if (algorithm == DKIM_ALGORITHM_RSA) {
		if (bits < DKIM_RSA_BITS_MIN || bits > DKIM_RSA_BITS_MAX) {
			*error_r = "RSA key size out of range (1024-4096)";
			return -1;
		}
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	if (key == NULL) {
		*error_r = "key generation failed";
		return -1;
	}
	*private_pem_r = dkim_key_pem(key);
	*public_b64_r = dkim_key_public_of(key, algorithm);
	EVP_PKEY_free(key);
	if (*private_pem_r == NULL || *public_b64_r == NULL) {
		if (*private_pem_r != NULL)
			explicit_bzero(*private_pem_r, strlen(*private_pem_r));
		free(*private_pem_r);
		free(*public_b64_r);
		*private_pem_r = *public_b64_r = NULL;
		*error_r = "cannot encode key";
		return -1;
	}
	return 0;
}

int
dkim_record_txt(enum dkim_algorithm algorithm, const char *public_b64,
    struct buf *out)
{
	return buf_printf(out, "v=DKIM1; k=%s; p=%s",
	    dkim_algorithm_name(algorithm), public_b64);
}

int
dkim_record_zone(const char *selector, enum dkim_algorithm algorithm,
    const char *public_b64, struct buf *out)
{
	struct buf txt;
	int ret = -1;

	buf_init(&txt, 0);
	if (dkim_record_txt(algorithm, public_b64, &txt) < 0 ||
	    buf_printf(out, "%s._domainkey IN TXT (", selector) < 0)
		goto out;
	/* The record holds no '"' or '\\' (base64 and fixed text), so the
	   strings need no escapes. */
	for (size_t pos = 0; pos < txt.len; pos += DKIM_TXT_STRING_MAX) {
		size_t k = txt.len - pos;
		if (k > DKIM_TXT_STRING_MAX)
			k = DKIM_TXT_STRING_MAX;
		if (buf_append_str(out, pos == 0 ? " \"" : "\n\t\"") < 0 ||
		    buf_append(out, txt.data + pos, k) < 0 ||
		    buf_append(out, "\"", 1) < 0)
			goto out;
	}
	ret = buf_append_str(out, " )\n");
out:
	buf_clear(&txt);
	return ret;
}
