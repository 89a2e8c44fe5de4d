/* directory_address.c — the directory's own strict address check: splits
   local@domain, decodes a quoted local part, lower-cases the domain and
   the ASCII letters of the local part (RFC 5321 §2.4 leaves local parts
   case-sensitive, but virtual mailboxes are matched case-insensitively by
   Postfix and Dovecot alike, and so here), and refuses NUL, controls,
   spaces and malformed UTF-8 (RFC 6531 §3.3: UTF-8 local parts are kept
   byte for byte). Kept apart from mail/address so the directory never
   reinterprets what the SMTP layer accepted: anything needing quotes is
   refused rather than matched loosely. */
#include "directory/directory_private.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "lib/utf8.h"
#include "lib/xmalloc.h"

/* RFC 5322 §3.2.3 atext, ASCII part. */
static bool
directory_address_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The decoded local part: a dot-atom of atext and UTF-8. */
static int
directory_address_check_local(const char *local, size_t len,
    const char **error_r)
{
	const unsigned char *s = (const unsigned char *)local;

	if (len == 0) {
		*error_r = "empty local part";
		return -1;
	}
	for (size_t i = 0; i < len; ) {
		if (s[i] == '.') {
			/* RFC 5322 §3.2.3 dot-atom: no leading, trailing or
			   doubled dot. */
			if (i == 0 || i + 1 == len || s[i + 1] == '.') {
				*error_r = "misplaced dot in local part";
				return -1;
			}
			i++;
		} else if (s[i] < 0x80) {
			if (!directory_address_is_atext(s[i])) {
				*error_r = "invalid character in local part";
				return -1;
			}
			i++;
		} else {
			size_t n = utf8_nonascii_len(s + i, len - i);

			if (n == 0) {
				*error_r = "invalid UTF-8 in local part";
				return -1;
			}
			i += n;
		}
	}
	return 0;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3). */
static int
directory_address_literal(const char *s, size_t len, char *out,
    const char **error_r)
{
	char ip[64];
	unsigned char bin[16];
	size_t off = 1;
	int af = AF_INET;

	/* A NUL would end the text inet_pton reads early, and "[1.2.3.4\0x]"
	   would pass as a literal holding bytes it never checked. */
	if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(ip) ||
	    memchr(s, '\0', len) != NULL) {
		*error_r = "invalid address literal";
		return -1;
	}
	if (len > 6 && strncasecmp(s + 1, "IPv6:", 5) == 0) {
		af = AF_INET6;
		off = 6;
	}
	memcpy(ip, s + off, len - 1 - off);
	ip[len - 1 - off] = '\0';
	if (inet_pton(af, ip, bin) != 1) {
		*error_r = "invalid address literal";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[len] = '\0';
	return 0;
}

/* RFC 5890/5891 through libidn2: a domain with U-labels becomes its
   A-label form, so "bücher.example" (an SMTPUTF8 client) and
   "xn--bcher-kva.example" (everyone else) name one domain, stored once. */
static int
directory_address_domain_idna(const char *s, size_t len, char *out,
    const char **error_r)
{
	char *in = xstrndup(s, len), *ascii = NULL;
	int ret = -1;

	if (strlen(in) != len) {
		*error_r = "NUL in domain";
		goto out;
	}
	if (idn2_to_ascii_8z(in, &ascii, IDN2_NONTRANSITIONAL |
	    IDN2_NFC_INPUT) != IDN2_OK) {
		*error_r = "invalid internationalized domain name";
		goto out;
	}
	/* The A-labels go through the ASCII rules below (length, LDH). */
	ret = directory_address_domain(ascii, strlen(ascii), out, error_r);
out:
	free(in);
	idn2_free(ascii);
	return ret;
}

int
directory_address_domain(const char *s, size_t len, char *out,
    const char **error_r)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t label = 0;

	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (len > DIRECTORY_DOMAIN_MAX) {
		*error_r = "domain too long";
		return -1;
	}
	if (s[0] == '[')
		return directory_address_literal(s, len, out, error_r);
	for (size_t i = 0; i < len; ) {
		if (u[i] == '.') {
			if (label == 0 || s[i - 1] == '-') {
				*error_r = "invalid domain label";
				return -1;
			}
			label = 0;
			out[i] = '.';
			i++;
			continue;
		}
		if (u[i] >= 0x80) {
			/* A U-label (RFC 6531 §3.2): checked as UTF-8 here,
			   then the whole name goes to its A-label form. */
			size_t n = utf8_nonascii_len(u + i, len - i);

			if (n == 0) {
				*error_r = "invalid UTF-8 in domain";
				return -1;
			}
			for (size_t j = i + n; j < len; ) {
				size_t m = u[j] < 0x80 ? 1 :
				    utf8_nonascii_len(u + j, len - j);

				if (m == 0) {
					*error_r = "invalid UTF-8 in domain";
					return -1;
				}
				j += m;
			}
			return directory_address_domain_idna(s, len, out,
			    error_r);
		} else if ((u[i] >= 'a' && u[i] <= 'z') ||
		    (u[i] >= '0' && u[i] <= '9')) {
			out[i] = s[i];
			i++;
			label++;
		} else if (u[i] >= 'A' && u[i] <= 'Z') {
			out[i] = (char)(s[i] + 32);
			i++;
			label++;
		} else if (u[i] == '-' && label > 0) {
			out[i] = '-';
			i++;
			label++;
		} else {
			*error_r = "invalid character in domain";
			return -1;
		}
		/* RFC 1035 §2.3.4: labels of 63 octets at most. */
		if (label > 63) {
			*error_r = "domain label too long";
			return -1;
		}
	}
	if (label == 0 || s[len - 1] == '-') {
		*error_r = "invalid domain label";
		return -1;
	}
	out[len] = '\0';
	return 0;
}

int
directory_address_parse(const char *s, bool allow_wildcard,
    struct directory_address *addr_r, const char **error_r)
{
	size_t len = strnlen(s, DIRECTORY_ADDRESS_MAX + 1), i, n = 0;
	const char *domain;
	size_t dlen;

	memset(addr_r, 0, sizeof(*addr_r));
	if (len == 0) {
		*error_r = "empty address";
		return -1;
	}
	if (len > DIRECTORY_ADDRESS_MAX) {
		*error_r = "address too long";
		return -1;
	}
	if (s[0] == '"') {
		/* RFC 5321 §4.1.2 Quoted-string: qtextSMTP and quoted-pairSMTP
		   (%d92 %d32-126); decoded here and checked as a dot-atom
		   below. */
		for (i = 1; ; i++) {
			unsigned char c;

			if (i >= len) {
				*error_r = "unterminated quoted local part";
				return -1;
			}
			c = (unsigned char)s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				if (++i >= len) {
					*error_r = "unterminated quoted local part";
					return -1;
				}
				c = (unsigned char)s[i];
				if (c < 32 || c > 126) {
					*error_r = "invalid quoted-pair";
					return -1;
				}
			}
			if (n >= DIRECTORY_LOCAL_MAX) {
				*error_r = "local part too long";
				return -1;
			}
			addr_r->local[n++] = (char)c;
		}
		i++;
		if (i >= len || s[i] != '@') {
			*error_r = "missing @ after quoted local part";
			return -1;
		}
	} else {
		const char *at = memchr(s, '@', len);

		if (at == NULL) {
			*error_r = "missing @";
			return -1;
		}
		n = (size_t)(at - s);
		if (n > DIRECTORY_LOCAL_MAX) {
			*error_r = "local part too long";
			return -1;
		}
		memcpy(addr_r->local, s, n);
		i = n;
	}
	addr_r->local[n] = '\0';
	if (directory_address_check_local(addr_r->local, n, error_r) == -1)
		return -1;
	for (size_t k = 0; k <= n; k++) {
		char c = addr_r->local[k];

		addr_r->local_lower[k] = (c >= 'A' && c <= 'Z') ?
		    (char)(c + 32) : c;
	}
	domain = s + i + 1;
	dlen = len - i - 1;
	if (dlen == 1 && domain[0] == '*') {
		if (!allow_wildcard) {
			*error_r = "wildcard domain not allowed here";
			return -1;
		}
		addr_r->domain[0] = '*';
		addr_r->domain[1] = '\0';
		addr_r->wildcard = true;
		return 0;
	}
	if (directory_address_domain(domain, dlen, addr_r->domain,
	    error_r) == -1)
		return -1;
	/* The A-label form of a U-label domain is longer: the stored
	   address must still fit (and parse again as itself). */
	if (n + 1 + strlen(addr_r->domain) > DIRECTORY_ADDRESS_MAX) {
		*error_r = "address too long";
		return -1;
	}
	return 0;
}
