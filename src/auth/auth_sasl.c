/* auth_sasl.c — strict base64 and the PLAIN and LOGIN mechanisms (see
   auth_sasl.h). Our own decoder rather than EVP_DecodeBlock: OpenSSL's
   skips white space, reports padding as zero bytes the caller must trim,
   and accepts non-canonical last characters; SASL wants none of that
   (RFC 4648 §3.3, §3.5, RFC 4422 §3.1).

   Invariant: every buffer that held a password is wiped before any
   return, on success paths by the caller's *_clear. */
#include "auth/auth_sasl.h"

#include <stdint.h>
#include <string.h>

#include "lib/utf8.h"
#include "lib/base64.h"
#include "lib/xmalloc.h"

bool
auth_sasl_is_cancel(const char *line, size_t len)
{
	return len == 1 && line[0] == '*';
}

/* An identity: well-formed UTF-8 (RFC 4616 §2 UTF8-SAFE) without C0, DEL
   or C1 controls, which no address has and which would only confuse the
   lookups and logs further down. */
static bool
auth_sasl_identity_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((n = utf8_nonascii_len(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

void
auth_sasl_plain_clear(struct auth_sasl_plain *plain)
{
	explicit_bzero(plain, sizeof(*plain));
}

int
auth_sasl_plain_decode(const char *b64, size_t len,
    struct auth_sasl_plain *plain, const char **error_r)
{
	unsigned char msg[AUTH_SASL_PLAIN_MAX];
	const unsigned char *nul1, *nul2, *end;
	size_t n, zlen, clen, plen;
	int ret = -1;

	auth_sasl_plain_clear(plain);
	/* A longer response cannot hold a valid message: refused before
	   decoding, so msg never needs to be larger. */
	if (len > AUTH_SASL_PLAIN_B64_MAX) {
		*error_r = "response too long";
		return -1;
	}
	if (base64_decode(b64, len, msg, sizeof(msg), &n) == -1) {
		*error_r = "invalid base64";
		goto out;
	}
	end = msg + n;
	nul1 = memchr(msg, '\0', n);
	nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0',
	    (size_t)(end - nul1 - 1)) : NULL;
	if (nul2 == NULL) {
		*error_r = "not authzid NUL authcid NUL passwd";
		goto out;
	}
	if (memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL) {
		*error_r = "NUL in the password";
		goto out;
	}
	zlen = (size_t)(nul1 - msg);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = (size_t)(end - nul2 - 1);
	if (clen == 0 || plen == 0) {
		*error_r = "empty authcid or password";
		goto out;
	}
	if (zlen > AUTH_SASL_FIELD_MAX || clen > AUTH_SASL_FIELD_MAX ||
	    plen > AUTH_SASL_FIELD_MAX) {
		*error_r = "field over 255 octets";
		goto out;
	}
	if (!auth_sasl_identity_ok((const char *)msg, zlen) ||
	    !auth_sasl_identity_ok((const char *)nul1 + 1, clen)) {
		*error_r = "identity not UTF-8 text";
		goto out;
	}
	memcpy(plain->authzid, msg, zlen);
	memcpy(plain->authcid, nul1 + 1, clen);
	memcpy(plain->passwd, nul2 + 1, plen);
	plain->passwd_len = plen;
	ret = 0;
out:
	explicit_bzero(msg, sizeof(msg));
	if (ret == -1)
		auth_sasl_plain_clear(plain);
	return ret;
}

bool
auth_sasl_plain_authzid_ok(const struct auth_sasl_plain *plain)
{
	const char *a = plain->authzid, *c = plain->authcid;

	if (a[0] == '\0')
		return true;
	for (; *a != '\0' && *c != '\0'; a++, c++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;

		if (x != y)
			return false;
	}
	return *a == '\0' && *c == '\0';
}

int
auth_sasl_login_decode(const char *b64, size_t len, bool is_password,
    char out[AUTH_SASL_FIELD_MAX + 1], size_t *len_r, const char **error_r)
{
	/* Room for a longer decode, refused below as "too long". */
	unsigned char buf[AUTH_SASL_FIELD_MAX + 3];
	size_t n = 0;
	int ret = -1;

	memset(out, 0, AUTH_SASL_FIELD_MAX + 1);
	*len_r = 0;
	if (len > (AUTH_SASL_FIELD_MAX + 2) / 3 * 4) {
		*error_r = "response too long";
		return -1;
	}
	if (base64_decode(b64, len, buf, sizeof(buf), &n) == -1) {
		*error_r = "invalid base64";
		goto out;
	}
	if (n == 0 || n > AUTH_SASL_FIELD_MAX) {
		*error_r = n == 0 ? "empty response" : "response too long";
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		*error_r = "NUL in the response";
		goto out;
	}
	if (!is_password && !auth_sasl_identity_ok((const char *)buf, n)) {
		*error_r = "user name not UTF-8 text";
		goto out;
	}
	memcpy(out, buf, n);
	*len_r = n;
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return ret;
}
