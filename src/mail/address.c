/* address.c — RFC 5321 §4.1.2 mailbox parser and printer (see address.h).
   The whole input is validated before anything is allocated, so error
   paths free nothing and *addr_r is either complete or zeroed. Never
   reads past len. Decoded strings hold no NUL or control byte, which is
   what lets callers use them as C strings and in header fields.
   U-labels (RFC 6531 domains) are checked for length on their A-label
   form (RFC 3492 Punycode, computed here). IDNA2008 code point rules are
   applied only where a domain is ours (the directory, with libidn2): a
   sender's domain is not ours to judge, as in Postfix. */
#include "mail/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

/* RFC 5322 §3.2.3 atext (RFC 5321 Atom); RFC 6531 adds UTF8-non-ascii,
   handled by the callers. */
static bool
address_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
address_is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static unsigned char
address_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* One UTF-8 sequence at p (lib/utf8.h). C1 controls (U+0080-U+009F) are
   refused too: they are controls, and an address is no place for them.
   Returns its length, or 0 when invalid or cut short. */
static size_t
address_utf8_char(const unsigned char *p, size_t len, uint32_t *cp_r)
{
	size_t n = utf8_decode(p, len, cp_r);

	return n > 1 && *cp_r < 0xa0 ? 0 : n;
}

/* RFC 3492 §6.1 bias adaptation, with the §5 parameters. */
static uint64_t
address_punycode_adapt(uint64_t delta, uint64_t numpoints, bool first)
{
	uint64_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / numpoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/* Length of the Punycode encoding (RFC 3492 §6.3) of cp[0..n), without
   the "xn--" prefix. Only the length matters here: the A-label is what
   DNS limits. Inputs are at most ADDRESS_MAX_PATH code points below
   0x110000, so the 64-bit sums cannot overflow. */
static size_t
address_punycode_len(const uint32_t *cp, size_t n)
{
	uint64_t next = 128, delta = 0, bias = 72;
	size_t out = 0, basic = 0, h;

	for (size_t i = 0; i < n; i++)
		if (cp[i] < 0x80)
			basic++;
	out = basic + (basic > 0 ? 1 : 0);	/* the '-' delimiter */
	h = basic;
	while (h < n) {
		uint64_t m = UINT64_MAX;

		for (size_t i = 0; i < n; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		delta += (m - next) * (h + 1);
		next = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < next)
				delta++;
			if (cp[i] != next)
				continue;
			uint64_t q = delta;
			for (uint64_t k = 36;; k += 36) {
				uint64_t t = k <= bias ? 1 :
				    k >= bias + 26 ? 26 : k - bias;
				if (q < t)
					break;
				out++;
				q = (q - t) / (36 - t);
			}
			out++;
			bias = address_punycode_adapt(delta, h + 1, h == basic);
			delta = 0;
			h++;
		}
		delta++;
		next++;
	}
	return out;
}

/* Checks one domain label s[0..len) (RFC 5321 §4.1.2 sub-domain, RFC 6531
   U-label) and returns its length on the wire (A-label form), or 0 with
   *error_r set. */
static size_t
address_check_label(const unsigned char *s, size_t len, bool *utf8_r,
    const char **error_r)
{
	uint32_t cps[ADDRESS_MAX_PATH];
	size_t n = 0, i;
	bool utf8 = false;

	if (len == 0) {
		*error_r = "empty domain label";
		return 0;
	}
	if (s[0] == '-' || s[len - 1] == '-') {
		*error_r = "hyphen at start or end of domain label";
		return 0;
	}
	for (i = 0; i < len;) {
		uint32_t cp;
		size_t clen;

		if (s[i] < 0x80 && !address_is_ldh(s[i])) {
			*error_r = "invalid character in domain";
			return 0;
		}
		/* The input was checked as UTF-8 as a whole already. */
		clen = address_utf8_char(s + i, len - i, &cp);
		if (NEVER(clen == 0 || n >= ADDRESS_MAX_PATH))
			panic("address_check_label: unchecked input");
		if (cp >= 0x80)
			utf8 = true;
		cps[n++] = cp;	/* case does not change the length */
		i += clen;
	}
	if (utf8) {
		len = 4 + address_punycode_len(cps, n);	/* "xn--" */
		*utf8_r = true;
	}
	if (len > ADDRESS_MAX_LABEL) {
		*error_r = "domain label too long";
		return 0;
	}
	return len;
}

/* RFC 5321 §4.1.3 address literal, "[...]" included in s[0..len).
   Writes the canonical form to *canon_r (heap) only on success. */
static int
address_parse_literal(const char *s, size_t len, char **canon_r,
    const char **error_r)
{
	char text[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *c = s + 1;
	size_t clen;
	int af = AF_INET;

	if (len < 3 || s[len - 1] != ']') {
		*error_r = "invalid address literal";
		return -1;
	}
	clen = len - 2;
	if (clen >= 5 && strncasecmp(c, "IPv6:", 5) == 0) {
		af = AF_INET6;
		c += 5;
		clen -= 5;
	} else if (memchr(c, ':', clen) != NULL) {
		/* General-address-literal: no standardized tag we serve. */
		*error_r = "unsupported address literal";
		return -1;
	}
	if (clen == 0 || clen >= sizeof(text)) {
		*error_r = "invalid address literal";
		return -1;
	}
	memcpy(text, c, clen);
	text[clen] = '\0';
	if (inet_pton(af, text, bin) != 1 ||
	    inet_ntop(af, bin, canon, sizeof(canon)) == NULL) {
		*error_r = "invalid address literal";
		return -1;
	}
	*canon_r = af == AF_INET6 ? xasprintf("[IPv6:%s]", canon) :
	    xasprintf("[%s]", canon);
	return 0;
}

/* Domain = sub-domain *("." sub-domain) (RFC 5321 §4.1.2), checked for
   label and total length (§4.5.3.1.2). */
static int
address_check_domain(const unsigned char *s, size_t len, bool *utf8_r,
    const char **error_r)
{
	size_t start = 0, total = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		size_t wire = address_check_label(s + start, i - start,
		    utf8_r, error_r);
		if (wire == 0)
			return -1;
		total += wire + (start > 0 ? 1 : 0);
		start = i + 1;
	}
	if (total > ADDRESS_MAX_DOMAIN) {
		*error_r = "domain too long";
		return -1;
	}
	return 0;
}

/* Finds the end of the local part: Dot-string or Quoted-string (RFC 5321
   §4.1.2). Sets *at_r to the index of the '@' that follows it. */
static int
address_scan_local(const unsigned char *p, size_t len, size_t *at_r,
    bool *quoted_r, const char **error_r)
{
	size_t i;

	if (p[0] == '"') {
		*quoted_r = true;
		for (i = 1; i < len && p[i] != '"'; i++) {
			if (p[i] == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 < len &&
				    (p[i + 1] < 32 || p[i + 1] > 126)) {
					*error_r = "invalid quoted-pair";
					return -1;
				}
				i++;
				continue;
			}
			/* qtextSMTP = %d32-33 / %d35-91 / %d93-126, and
			   RFC 6531 UTF8-non-ascii */
			if (p[i] < 32 || p[i] == 127) {
				*error_r =
				    "invalid character in quoted local part";
				return -1;
			}
		}
		if (i >= len) {
			*error_r = "unterminated quoted string";
			return -1;
		}
		if (i == 1) {
			*error_r = "empty local part";
			return -1;
		}
		if (i + 1 >= len || p[i + 1] != '@') {
			*error_r = i + 1 >= len ? "missing domain" :
			    "invalid character after quoted local part";
			return -1;
		}
		*at_r = i + 1;
		return 0;
	}
	*quoted_r = false;
	for (i = 0; i < len && p[i] != '@'; i++) {
		if (p[i] == '.') {
			if (i == 0 || p[i - 1] == '.' || i + 1 == len ||
			    p[i + 1] == '@') {
				*error_r = "misplaced dot in local part";
				return -1;
			}
		} else if (p[i] < 0x80 && !address_is_atext(p[i])) {
			*error_r = "invalid character in local part";
			return -1;
		}
	}
	if (i == 0) {
		*error_r = "empty local part";
		return -1;
	}
	if (i == len) {
		*error_r = "missing domain";
		return -1;
	}
	*at_r = i;
	return 0;
}

int
address_parse(const char *s, size_t len, bool allow_utf8,
    struct address *addr_r, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *dom;
	size_t at, dlen, i;
	bool quoted, utf8 = false, dom_utf8 = false;
	char *literal = NULL;

	memset(addr_r, 0, sizeof(*addr_r));
	if (len == 0) {
		*error_r = "empty address";
		return -1;
	}
	if (len > ADDRESS_MAX_PATH - 2) {
		*error_r = "address too long";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL in address";
		return -1;
	}
	for (i = 0; i < len;) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (!allow_utf8) {
			*error_r = "non-ASCII address without SMTPUTF8";
			return -1;
		}
		if ((n = address_utf8_char(p + i, len - i, &cp)) == 0) {
			*error_r = "invalid UTF-8 in address";
			return -1;
		}
		utf8 = true;
		i += n;
	}
	if (address_scan_local(p, len, &at, &quoted, error_r) == -1)
		return -1;
	if (at > ADDRESS_MAX_LOCAL) {
		*error_r = "local part too long";
		return -1;
	}
	dom = p + at + 1;
	dlen = len - at - 1;
	if (dlen == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (dom[0] == '[') {
		if (address_parse_literal((const char *)dom, dlen, &literal,
		    error_r) == -1)
			return -1;
	} else if (address_check_domain(dom, dlen, &dom_utf8, error_r) == -1) {
		return -1;
	}

	/* Valid: build the decoded parts. */
	if (quoted) {
		char *d = addr_r->local = xmalloc(at);

		for (i = 1; i + 1 < at; i++) {
			if (p[i] == '\\')
				i++;
			*d++ = (char)p[i];
		}
		*d = '\0';
	} else {
		addr_r->local = xstrndup(s, at);
	}
	if (literal != NULL) {
		addr_r->domain = literal;
		addr_r->domain_is_literal = true;
	} else {
		addr_r->domain = xstrndup((const char *)dom, dlen);
		for (char *d = addr_r->domain; *d != '\0'; d++)
			*d = (char)address_ascii_lower((unsigned char)*d);
	}
	addr_r->local_quoted = quoted;
	addr_r->is_utf8 = utf8;
	addr_r->relay_hack = address_local_is_relay_hack(addr_r->local);
	return 0;
}

void
address_clear(struct address *addr)
{
	xfree(&addr->local);
	xfree(&addr->domain);
	memset(addr, 0, sizeof(*addr));
}

bool
address_local_needs_quotes(const char *local)
{
	const unsigned char *p = (const unsigned char *)local;

	if (p[0] == '\0' || p[0] == '.')
		return true;
	for (size_t i = 0; p[i] != '\0'; i++) {
		if (p[i] == '.') {
			if (p[i + 1] == '.' || p[i + 1] == '\0')
				return true;
		} else if (p[i] < 0x80 && !address_is_atext(p[i])) {
			return true;
		}
	}
	return false;
}

char *
address_to_string(const struct address *addr)
{
	struct buf b;

	buf_init(&b, 0);
	if (address_local_needs_quotes(addr->local)) {
		/* quoted-pairSMTP only where qtextSMTP cannot say it. */
		(void)buf_append(&b, "\"", 1);
		for (const char *p = addr->local; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				(void)buf_append(&b, "\\", 1);
			(void)buf_append(&b, p, 1);
		}
		(void)buf_append(&b, "\"", 1);
	} else {
		(void)buf_append_str(&b, addr->local);
	}
	(void)buf_append(&b, "@", 1);
	(void)buf_append_str(&b, addr->domain);
	return buf_steal(&b);
}

bool
address_local_is_relay_hack(const char *local)
{
	return strpbrk(local, "%!@") != NULL;
}

bool
address_local_split_plus(const char *local, size_t *base_len_r,
    const char **tag_r)
{
	const char *plus = local[0] == '+' ? NULL : strchr(local, '+');

	if (plus == NULL) {
		*base_len_r = strlen(local);
		*tag_r = NULL;
		return false;
	}
	*base_len_r = (size_t)(plus - local);
	*tag_r = plus + 1;
	return true;
}
