/* password.c — hashing new passwords (Argon2id via libsodium, yescrypt via
   libxcrypt) and verifying stored hashes of the Dovecot schemes, so that
   mailboxes migrated from Dovecot keep their passwords.

   Invariants: every comparison of secret-derived bytes is constant-time
   (CRYPTO_memcmp); every temporary holding the password or a value derived
   from it is wiped with explicit_bzero before it is freed; a password is
   (ptr, len) and one with a NUL byte never matches, so "pass\0junk" cannot
   pass for "pass" in a C-string API further down. */
#include "auth/password.h"

#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "lib/base64.h"
#include "lib/xmalloc.h"

enum password_kind {
	PASSWORD_KIND_ARGON2ID,
	PASSWORD_KIND_ARGON2I,
	PASSWORD_KIND_CRYPT,
	PASSWORD_KIND_DIGEST,
	PASSWORD_KIND_PLAIN,
};

enum password_encoding {
	PASSWORD_ENCODING_DEFAULT,	/* base64 for digests, text for PLAIN */
	PASSWORD_ENCODING_BASE64,
	PASSWORD_ENCODING_HEX,
};

/* Dovecot's scheme names (doc/wiki "Password Schemes"). */
static const struct password_scheme_info {
	const char *name;
	enum password_kind kind;
	const char *crypt_prefix;	/* CRYPT: the format it must have */
	const EVP_MD *(*md)(void);	/* DIGEST */
	bool salted;			/* DIGEST: salt follows the digest */
} password_schemes[] = {
	{ "ARGON2ID", PASSWORD_KIND_ARGON2ID, NULL, NULL, false },
	{ "ARGON2I", PASSWORD_KIND_ARGON2I, NULL, NULL, false },
	{ "BLF-CRYPT", PASSWORD_KIND_CRYPT, "$2", NULL, false },
	{ "SHA512-CRYPT", PASSWORD_KIND_CRYPT, "$6$", NULL, false },
	{ "SHA256-CRYPT", PASSWORD_KIND_CRYPT, "$5$", NULL, false },
	{ "MD5-CRYPT", PASSWORD_KIND_CRYPT, "$1$", NULL, false },
	{ "CRYPT", PASSWORD_KIND_CRYPT, NULL, NULL, false },
	{ "SSHA512", PASSWORD_KIND_DIGEST, NULL, EVP_sha512, true },
	{ "SSHA256", PASSWORD_KIND_DIGEST, NULL, EVP_sha256, true },
	{ "SSHA", PASSWORD_KIND_DIGEST, NULL, EVP_sha1, true },
	{ "SHA512", PASSWORD_KIND_DIGEST, NULL, EVP_sha512, false },
	{ "SHA256", PASSWORD_KIND_DIGEST, NULL, EVP_sha256, false },
	{ "SHA", PASSWORD_KIND_DIGEST, NULL, EVP_sha1, false },
	{ "SHA1", PASSWORD_KIND_DIGEST, NULL, EVP_sha1, false },
	{ "PLAIN", PASSWORD_KIND_PLAIN, NULL, NULL, false },
	{ "CLEAR", PASSWORD_KIND_PLAIN, NULL, NULL, false },
	{ "CLEARTEXT", PASSWORD_KIND_PLAIN, NULL, NULL, false },
};

#define PASSWORD_SCHEME_NAME_MAX 32

/* Decoded stored values are bounded by the stored string; this caps what a
   corrupt row can make us allocate and hash. */
#define PASSWORD_STORED_MAX 8192

static pthread_once_t password_sodium_once = PTHREAD_ONCE_INIT;

static void
password_sodium_init_once(void)
{
	/* sodium_init picks the fastest implementations and seeds the RNG;
	   -1 means it cannot work at all (no entropy source). */
	if (sodium_init() < 0)
		panic("password: sodium_init failed");
}

static void
password_sodium_init(void)
{
	pthread_once(&password_sodium_once, password_sodium_init_once);
}

int
password_scheme_parse(const char *name, enum password_scheme *scheme_r)
{
	if (strcasecmp(name, "argon2id") == 0)
		*scheme_r = PASSWORD_SCHEME_ARGON2ID;
	else if (strcasecmp(name, "yescrypt") == 0)
		*scheme_r = PASSWORD_SCHEME_YESCRYPT;
	else
		return -1;
	return 0;
}

static char *
password_hash_argon2id(const char *plain, size_t len, char **error_r)
{
	char out[crypto_pwhash_argon2id_STRBYTES];

	password_sodium_init();
	/* INTERACTIVE: 2 passes over 64 MiB, ~100 ms — what libsodium
	   recommends for online logins; DESIGN.md §7 budgets for it. */
	if (crypto_pwhash_argon2id_str(out, plain, len,
	    crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) != 0) {
		*error_r = xstrdup("argon2id hashing failed (out of memory)");
		return NULL;
	}
	return xasprintf("{ARGON2ID}%s", out);
}

static char *
password_hash_yescrypt(const char *plain, size_t len, char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	char *out, *ret = NULL;

	/* crypt(3) takes C strings of limited length. */
	if (len >= CRYPT_MAX_PASSPHRASE_SIZE) {
		*error_r = xstrdup("password too long for yescrypt");
		return NULL;
	}
	/* count 0: libxcrypt's default cost; NULL rbytes: it reads the salt
	   from the kernel's CSPRNG itself. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL) {
		*error_r = xstrdup("yescrypt salt generation failed");
		return NULL;
	}
	/* struct crypt_data is ~32 KiB: keep it off the (thread) stack. */
	data = xcalloc(1, sizeof(*data));
	out = crypt_rn(plain, setting, data, (int)sizeof(*data));
	if (out == NULL || out[0] != '$')
		*error_r = xstrdup("yescrypt hashing failed");
	else
		ret = xasprintf("{CRYPT}%s", out);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

char *
password_hash(const char *plain, enum password_scheme scheme, char **error_r)
{
	size_t len = strnlen(plain, PASSWORD_MAX_LEN + 1);

	if (len == 0) {
		*error_r = xstrdup("empty password");
		return NULL;
	}
	if (len > PASSWORD_MAX_LEN) {
		*error_r = xasprintf("password longer than %d bytes",
		    PASSWORD_MAX_LEN);
		return NULL;
	}
	switch (scheme) {
	case PASSWORD_SCHEME_ARGON2ID:
		return password_hash_argon2id(plain, len, error_r);
	case PASSWORD_SCHEME_YESCRYPT:
		return password_hash_yescrypt(plain, len, error_r);
	}
	panic("password_hash: scheme %d", (int)scheme);
}

/* Splits "{NAME[.enc]}rest". Returns the scheme or NULL (unknown). */
static const struct password_scheme_info *
password_scheme_find(const char *stored, enum password_encoding *enc_r,
    const char **rest_r)
{
	const char *end, *dot;
	size_t name_len;

	*enc_r = PASSWORD_ENCODING_DEFAULT;
	if (stored[0] != '{') {
		/* No prefix: a bare crypt(3) string, as Dovecot's default
		   scheme CRYPT reads it. */
		if (stored[0] != '$')
			return NULL;
		*rest_r = stored;
		for (size_t i = 0; i < sizeof(password_schemes) /
		    sizeof(password_schemes[0]); i++)
			if (strcmp(password_schemes[i].name, "CRYPT") == 0)
				return &password_schemes[i];
		return NULL;
	}
	end = memchr(stored + 1, '}', strnlen(stored + 1,
	    PASSWORD_SCHEME_NAME_MAX + 1));
	if (end == NULL)
		return NULL;
	name_len = (size_t)(end - (stored + 1));
	dot = memchr(stored + 1, '.', name_len);
	if (dot != NULL) {
		size_t elen = (size_t)(end - dot - 1);

		if ((elen == 3 && strncasecmp(dot + 1, "b64", 3) == 0) ||
		    (elen == 6 && strncasecmp(dot + 1, "base64", 6) == 0))
			*enc_r = PASSWORD_ENCODING_BASE64;
		else if (elen == 3 && strncasecmp(dot + 1, "hex", 3) == 0)
			*enc_r = PASSWORD_ENCODING_HEX;
		else
			return NULL;
		name_len = (size_t)(dot - (stored + 1));
	}
	*rest_r = end + 1;
	for (size_t i = 0; i < sizeof(password_schemes) /
	    sizeof(password_schemes[0]); i++) {
		const struct password_scheme_info *s = &password_schemes[i];

		if (strlen(s->name) != name_len ||
		    strncasecmp(s->name, stored + 1, name_len) != 0)
			continue;
		/* An encoding suffix only makes sense for raw bytes. */
		if (*enc_r != PASSWORD_ENCODING_DEFAULT &&
		    s->kind != PASSWORD_KIND_DIGEST &&
		    s->kind != PASSWORD_KIND_PLAIN)
			return NULL;
		return s;
	}
	return NULL;
}

/* Strict base64 (RFC 4648 §4, padded), as the tools that made the hash
   wrote it. Returns the decoded length or -1; out holds 3/4 of len. */
static long
password_b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t n;

	if (len == 0 || len % 4 != 0 || len > PASSWORD_STORED_MAX ||
	    base64_decode(in, len, out, len / 4 * 3, &n) == -1)
		return -1;
	return (long)n;
}

/* Pairs of hex digits in either case (OPENSSL_hexchar2int: -1 for any
   other byte). Returns the decoded length or -1; out holds len / 2. */
static long
password_hex_decode(const char *in, size_t len, unsigned char *out)
{
	if (len == 0 || len % 2 != 0 || len > PASSWORD_STORED_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = OPENSSL_hexchar2int((unsigned char)in[i]);
		int lo = OPENSSL_hexchar2int((unsigned char)in[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

/* Decodes rest per enc into a heap buffer (caller wipes and frees).
   Returns the length or -1. */
static long
password_decode(const char *rest, enum password_encoding enc,
    unsigned char **raw_r)
{
	size_t len = strnlen(rest, PASSWORD_STORED_MAX + 1);
	unsigned char *raw;
	long n = -1;

	*raw_r = NULL;
	if (len > PASSWORD_STORED_MAX)
		return -1;
	raw = xmalloc(len + 1);
	switch (enc) {
	case PASSWORD_ENCODING_DEFAULT:
		memcpy(raw, rest, len);
		n = (long)len;
		break;
	case PASSWORD_ENCODING_BASE64:
		n = password_b64_decode(rest, len, raw);
		break;
	case PASSWORD_ENCODING_HEX:
		n = password_hex_decode(rest, len, raw);
		break;
	}
	if (n < 0) {
		explicit_bzero(raw, len + 1);
		free(raw);
		return -1;
	}
	*raw_r = raw;
	return n;
}

static int
password_verify_argon2(enum password_kind kind, const char *plain,
    size_t len, const char *hash)
{
	password_sodium_init();
	/* crypto_pwhash_*_str_verify answers -1 for "wrong password" and for
	   "not a hash of this kind" alike; needs_rehash tells the second
	   apart (-1 only when the string does not decode). */
	if (kind == PASSWORD_KIND_ARGON2ID) {
		if (crypto_pwhash_argon2id_str_needs_rehash(hash,
		    crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) < 0)
			return -1;
		return crypto_pwhash_argon2id_str_verify(hash, plain,
		    len) == 0 ? 1 : 0;
	}
	if (crypto_pwhash_argon2i_str_needs_rehash(hash,
	    crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE) < 0)
		return -1;
	return crypto_pwhash_argon2i_str_verify(hash, plain, len) == 0 ? 1 : 0;
}

static int
password_verify_crypt(const struct password_scheme_info *s,
    const char *plain, size_t len, const char *hash)
{
	struct crypt_data *data;
	size_t hash_len = strnlen(hash, CRYPT_OUTPUT_SIZE);
	char *plainz, *out;
	int ret;

	if (hash_len == 0 || hash_len >= CRYPT_OUTPUT_SIZE)
		return -1;
	if (s->crypt_prefix != NULL &&
	    strncmp(hash, s->crypt_prefix, strlen(s->crypt_prefix)) != 0)
		return -1;
	/* crypt(3) refuses longer phrases, so nothing stored by it can match
	   one; answer "mismatch" rather than "bad hash". */
	if (len >= CRYPT_MAX_PASSPHRASE_SIZE)
		return 0;
	plainz = xmalloc(len + 1);
	memcpy(plainz, plain, len);
	plainz[len] = '\0';
	data = xcalloc(1, sizeof(*data));
	out = crypt_rn(plainz, hash, data, (int)sizeof(*data));
	/* NULL or a "*" failure token: the setting is not one libxcrypt
	   knows (or a locked "!"/"*" entry). */
	if (out == NULL || out[0] == '*')
		ret = -1;
	else if (strlen(out) != hash_len)
		ret = 0;
	else
		ret = CRYPTO_memcmp(out, hash, hash_len) == 0 ? 1 : 0;
	explicit_bzero(data, sizeof(*data));
	free(data);
	explicit_bzero(plainz, len + 1);
	free(plainz);
	return ret;
}

static int
password_verify_digest(const struct password_scheme_info *s,
    enum password_encoding enc, const char *plain, size_t len,
    const char *rest)
{
	const EVP_MD *md = s->md();
	unsigned char digest[EVP_MAX_MD_SIZE], *raw;
	unsigned int dlen = 0;
	size_t mdlen = (size_t)EVP_MD_get_size(md);
	EVP_MD_CTX *ctx;
	long n;
	int ret = -1;

	if (enc == PASSWORD_ENCODING_DEFAULT)
		enc = PASSWORD_ENCODING_BASE64;
	n = password_decode(rest, enc, &raw);
	if (n < 0)
		return -1;
	/* Salted: digest then at least one byte of salt (Dovecot refuses
	   "too short" ones the same way); unsalted: the digest alone. */
	if (s->salted ? (size_t)n <= mdlen : (size_t)n != mdlen)
		goto out;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		panic("password_verify_digest: EVP_MD_CTX_new");
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, plain, len) != 1 ||
	    (s->salted && EVP_DigestUpdate(ctx, raw + mdlen,
	    (size_t)n - mdlen) != 1) ||
	    EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 || dlen != mdlen) {
		EVP_MD_CTX_free(ctx);
		goto out;
	}
	EVP_MD_CTX_free(ctx);
	ret = CRYPTO_memcmp(digest, raw, mdlen) == 0 ? 1 : 0;
out:
	explicit_bzero(digest, sizeof(digest));
	explicit_bzero(raw, (size_t)n);
	free(raw);
	return ret;
}

static int
password_verify_plain(enum password_encoding enc, const char *plain,
    size_t len, const char *rest)
{
	unsigned char a[crypto_hash_sha256_BYTES];
	unsigned char b[crypto_hash_sha256_BYTES];
	unsigned char *raw;
	long n;
	int ret;

	n = password_decode(rest, enc, &raw);
	if (n < 0)
		return -1;
	/* Comparing digests keeps the comparison constant-time in the
	   lengths too: a plain memcmp would tell how long the password is. */
	password_sodium_init();
	crypto_hash_sha256(a, (const unsigned char *)plain, len);
	crypto_hash_sha256(b, raw, (unsigned long long)n);
	ret = (size_t)n == len && CRYPTO_memcmp(a, b, sizeof(a)) == 0 ? 1 : 0;
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	explicit_bzero(raw, (size_t)n);
	free(raw);
	return ret;
}

int
password_verify(const char *plain, size_t len, const char *stored)
{
	const struct password_scheme_info *s;
	enum password_encoding enc;
	const char *rest;

	if (stored == NULL)
		return -1;		/* an account without a password */
	s = password_scheme_find(stored, &enc, &rest);
	if (s == NULL)
		return -1;
	/* A NUL inside would be cut off by every C-string hash below. */
	if (len > PASSWORD_MAX_LEN || memchr(plain, '\0', len) != NULL)
		return 0;
	switch (s->kind) {
	case PASSWORD_KIND_ARGON2ID:
	case PASSWORD_KIND_ARGON2I:
		return password_verify_argon2(s->kind, plain, len, rest);
	case PASSWORD_KIND_CRYPT:
		return password_verify_crypt(s, plain, len, rest);
	case PASSWORD_KIND_DIGEST:
		return password_verify_digest(s, enc, plain, len, rest);
	case PASSWORD_KIND_PLAIN:
		return password_verify_plain(enc, plain, len, rest);
	}
	return -1;
}

char *
password_generate(size_t len)
{
	/* No 0/O/o, 1/l/I/i: read aloud or copied by hand without mistakes. */
	static const char alphabet[] =
	    "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char *pw;

	if (len == 0 || len > 256)
		panic("password_generate: length %zu", len);
	password_sodium_init();
	pw = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		/* randombytes_uniform: no modulo bias. */
		pw[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	pw[len] = '\0';
	return pw;
}
