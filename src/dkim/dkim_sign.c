/* dkim_sign.c — RFC 6376 §5 signing: header selection with From
   over-signed, the relaxed body hash shared by every key, the
   DKIM-Signature field folded at 78 columns, one signature per key
   (RFC 8463 §4: an RSA and an Ed25519 signature side by side, so
   verifiers without Ed25519 still find one they know).

   The signature covers its own field with b= empty (§3.7); b= is the last
   tag so the verifier's "delete the b= value" leaves exactly the bytes we
   hashed, whatever folding the value got. */
#include "dkim/dkim.h"
#include "dkim/dkim_private.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_canon.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* Column the signature field is folded at (RFC 5322 §2.1.1 SHOULD). */
#define DKIM_SIGN_FOLD 78
/* Instances of one name signed at most. A verifier takes instances from
   the bottom, so signing the last ones is still right; this only keeps a
   header of 10,000 To: fields from making a 100 KB h= list. */
#define DKIM_SIGN_MAX_INSTANCES 16

const char *const dkim_sign_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"message-id", "in-reply-to", "references",
	"mime-version", "content-type", "content-transfer-encoding",
	"content-language", "content-disposition",
	"list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
	"list-subscribe", "list-post", "list-owner", "list-archive",
	NULL,
};

struct dkim_sign_fields {
	struct dkim_field *v;
	size_t n, cap;
};

static void
dkim_sign_fields_collect(const char *msg, size_t len,
    struct dkim_sign_fields *f, size_t *body_r)
{
	struct dkim_field field;
	size_t pos = 0;

	while (dkim_canon_next_field(msg, len, &pos, &field) == 1) {
		if (f->n == f->cap) {
			f->cap = f->cap == 0 ? 32 : f->cap * 2;
			f->v = xreallocarray(f->v, f->cap, sizeof(*f->v));
		}
		f->v[f->n++] = field;
	}
	*body_r = pos;
}

static size_t
dkim_sign_count(const struct dkim_sign_fields *f, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		if (dkim_canon_field_is(&f->v[i], name))
			k++;
	return k;
}

static int
dkim_sign_fields_data(const struct dkim_sign_fields *f,
    const char *const *names, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		/* This is mention number `used` of names[i] in h=. */
		size_t used = 0;
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0)
				used++;
		for (size_t j = f->n; j-- > 0;) {
			if (!dkim_canon_field_is(&f->v[j], names[i]))
				continue;
			if (used-- > 0)
				continue;
			if (dkim_canon_header(DKIM_CANON_RELAXED, f->v[j].data,
			    f->v[j].len, out) < 0 ||
			    buf_append(out, "\r\n", 2) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

int
dkim_sign_header_data(const char *msg, size_t header_len,
    const char *const *names, size_t n, struct buf *out)
{
	struct dkim_sign_fields f = { 0 };
	size_t body;

	dkim_sign_fields_collect(msg, header_len, &f, &body);
	int ret = dkim_sign_fields_data(&f, names, n, out);
	free(f.v);
	return ret;
}

static void
dkim_sign_hash_emit(void *ctx, const char *data, size_t len)
{
	if (EVP_DigestUpdate(ctx, data, len) != 1)
		abort();	/* SHA-256 update cannot fail but on OOM */
}

void
dkim_sign_body_hash(const char *body, size_t len,
    char out[DKIM_B64_SHA256_SIZE])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	unsigned dlen = 0;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	dkim_canon_body(DKIM_CANON_RELAXED, body, len, dkim_sign_hash_emit,
	    md);
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32)
		abort();
	EVP_MD_CTX_free(md);
	base64_encode(digest, sizeof(digest), out, DKIM_B64_SHA256_SIZE);
}

int
dkim_sign_data(EVP_PKEY *key, enum dkim_algorithm algorithm,
    const char *data, size_t len, struct buf *out, const char **error_r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32], *sig = NULL;
	size_t sig_len = 0;
	char *b64 = NULL;
	int ret = -1;

	if (md == NULL)
		goto out;
	if (algorithm == DKIM_ALGORITHM_ED25519) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 hash. */
		if (EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1)
			goto out;
		data = (const char *)digest;
		len = sizeof(digest);
	} else if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1) {
		goto out;
	}
	if (EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)data,
	    len) != 1)
		goto out;
	sig = xmalloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)data,
	    len) != 1)
		goto out;
	size_t b64_cap = (sig_len + 2) / 3 * 4 + 1;
	b64 = xmalloc(b64_cap);
	size_t b64_len = base64_encode(sig, sig_len, b64, b64_cap);
	if (buf_append(out, b64, b64_len) < 0) {
		*error_r = "output full";
		goto out_quiet;
	}
	ret = 0;
	goto out_quiet;
out:
	*error_r = "signing failed";
out_quiet:
	free(b64);
	free(sig);
	EVP_MD_CTX_free(md);
	return ret;
}

/* Appends a token to the field being folded, after a space or, when it
   would pass the fold column, after CRLF TAB. */
static int
dkim_sign_fold(struct buf *out, size_t *col, const char *tok, size_t len,
    bool space)
{
	if (*col + (space ? 1 : 0) + len > DKIM_SIGN_FOLD && *col > 1) {
		if (buf_append(out, "\r\n\t", 3) < 0)
			return -1;
		*col = 1;
	} else if (space) {
		if (buf_append(out, " ", 1) < 0)
			return -1;
		(*col)++;
	}
	*col += len;
	return buf_append(out, tok, len);
}

/* The field up to "b=" (no value). */
static int
dkim_sign_field_head(const struct dkim_key *key, time_t now,
    const char *const *names, size_t n, const char *bh, struct buf *out,
    size_t *col)
{
	char tok[DKIM_MAX_DOMAIN + 64];
	const char *a = key->algorithm == DKIM_ALGORITHM_ED25519 ?
	    "ed25519-sha256" : "rsa-sha256";
	int ret = 0;

	*col = 0;
	ret |= dkim_sign_fold(out, col, "DKIM-Signature: v=1;", 20, false);
	snprintf(tok, sizeof(tok), "a=%s;", a);
	ret |= dkim_sign_fold(out, col, tok, strlen(tok), true);
	ret |= dkim_sign_fold(out, col, "c=relaxed/relaxed;", 18, true);
	snprintf(tok, sizeof(tok), "d=%s;", key->domain);
	ret |= dkim_sign_fold(out, col, tok, strlen(tok), true);
	snprintf(tok, sizeof(tok), "s=%s;", key->selector);
	ret |= dkim_sign_fold(out, col, tok, strlen(tok), true);
	snprintf(tok, sizeof(tok), "t=%" PRIu64 ";",
	    (uint64_t)(now < 0 ? 0 : now));
	ret |= dkim_sign_fold(out, col, tok, strlen(tok), true);
	/* h= may be folded after each colon (hdr-name *FWS ":" ...). */
	for (size_t i = 0; i < n; i++) {
		snprintf(tok, sizeof(tok), "%s%s%s", i == 0 ? "h=" : "",
		    names[i], i + 1 < n ? ":" : ";");
		ret |= dkim_sign_fold(out, col, tok, strlen(tok), i == 0);
	}
	snprintf(tok, sizeof(tok), "bh=%s;", bh);
	ret |= dkim_sign_fold(out, col, tok, strlen(tok), true);
	ret |= dkim_sign_fold(out, col, "b=", 2, true);
	return ret < 0 ? -1 : 0;
}

/* The b= value in pieces that fit the lines (FWS may go anywhere in a
   base64string, §2.4). */
static int
dkim_sign_field_b(const char *b64, size_t len, size_t col, struct buf *out)
{
	while (len > 0) {
		if (col >= DKIM_SIGN_FOLD) {
			if (buf_append(out, "\r\n\t", 3) < 0)
				return -1;
			col = 1;
		}
		size_t k = DKIM_SIGN_FOLD - col;
		if (k > len)
			k = len;
		if (buf_append(out, b64, k) < 0)
			return -1;
		b64 += k;
		len -= k;
		col += k;
	}
	return buf_append(out, "\r\n", 2);
}

static bool
dkim_sign_name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* h=: each present name once per instance, From once more (§8.15). */
static size_t
dkim_sign_choose(const struct dkim_sign_fields *f, const char **names,
    size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; dkim_sign_headers[i] != NULL; i++) {
		const char *name = dkim_sign_headers[i];
		size_t k = dkim_sign_count(f, name);

		if (k > DKIM_SIGN_MAX_INSTANCES)
			k = DKIM_SIGN_MAX_INSTANCES;
		if (strcmp(name, "from") == 0)
			k++;
		for (; k > 0 && n < cap; k--)
			names[n++] = name;
	}
	return n;
}

static int
dkim_sign_one(const struct dkim_key *key, time_t now, const char **names,
    size_t n, const char *bh, struct buf *data, struct buf *header_out,
    const char **error_r)
{
	struct buf field, sig;
	size_t col, data_len = data->len;
	EVP_PKEY *pkey;
	int ret = -1;

	if (!dkim_sign_name_ok(key->domain, DKIM_MAX_DOMAIN) ||
	    !dkim_sign_name_ok(key->selector, DKIM_MAX_SELECTOR)) {
		*error_r = "bad d= domain or selector";
		return -1;
	}
	pkey = dkim_key_load(key->algorithm, key->private_key_pem, error_r);
	if (pkey == NULL)
		return -1;
	buf_init(&field, 0);
	buf_init(&sig, 0);
	if (dkim_sign_field_head(key, now, names, n, bh, &field, &col) < 0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, field.data, field.len,
	    data) < 0) {
		*error_r = "output full";
		goto out;
	}
	if (dkim_sign_data(pkey, key->algorithm, data->data, data->len, &sig,
	    error_r) < 0)
		goto out;
	if (dkim_sign_field_b(sig.data, sig.len, col, &field) < 0 ||
	    buf_append(header_out, field.data, field.len) < 0) {
		*error_r = "output full";
		goto out;
	}
	ret = 0;
out:
	data->len = data_len;	/* the next key signs the same fields */
	buf_clear(&sig);
	buf_clear(&field);
	EVP_PKEY_free(pkey);
	return ret;
}

int
dkim_sign(const struct dkim_key *keys, size_t n, const char *msg,
    size_t len, time_t now, struct buf *header_out, const char **error_r)
{
	struct dkim_sign_fields f = { 0 };
	const char *names[128];
	char bh[DKIM_B64_SHA256_SIZE];
	struct buf data;
	size_t body;
	int ret = -1;

	if (n == 0) {
		*error_r = "no key";
		return -1;
	}
	dkim_sign_fields_collect(msg, len, &f, &body);
	size_t n_names = dkim_sign_choose(&f, names,
	    sizeof(names) / sizeof(names[0]));
	dkim_sign_body_hash(msg + body, len - body, bh);

	buf_init(&data, 0);
	if (dkim_sign_fields_data(&f, names, n_names, &data) < 0) {
		*error_r = "output full";
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (dkim_sign_one(&keys[i], now, names, n_names, bh, &data,
		    header_out, error_r) < 0)
			goto out;
	ret = 0;
out:
	buf_clear(&data);
	free(f.v);
	return ret;
}
