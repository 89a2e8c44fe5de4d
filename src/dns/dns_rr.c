/* dns_rr.c — RDATA parsers for the record types outbound delivery reads
   (dns.h): MX (RFC 1035 §3.3.9, null MX RFC 7505), A, AAAA (RFC 3596),
   TLSA (RFC 6698 §2.1), TXT (RFC 1035 §3.3.14) and wire-format names.
   Pure functions of (rdata, len): every read is checked against len, names
   in RDATA are uncompressed (unbound expands them; a pointer is refused),
   and a record must be used up exactly. Fuzzed by fuzz/fuzz_dns_rr.c. */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/xmalloc.h"

/* RFC 1035 §2.3.4. */
#define DNS_LABEL_MAX 63
#define DNS_NAME_MAX 255

static bool
dns_rr_is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Parses the name at rdata[*pos..len) into text; advances *pos. */
static int
dns_rr_parse_name(const uint8_t *rdata, size_t len, size_t *pos,
    char **name_r)
{
	char out[DNS_NAME_MAX + 1];
	size_t o = 0, p = *pos, wire = 0;

	for (;;) {
		size_t l;

		if (p >= len)
			return -1;
		l = rdata[p++];
		wire += l + 1;
		if (wire > DNS_NAME_MAX)
			return -1;
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX || len - p < l)
			return -1;	/* also compression pointers (0xc0) */
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			unsigned char c = rdata[p + i];

			if (!dns_rr_is_host_char(c))
				return -1;
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		p += l;
	}
	out[o] = '\0';
	*pos = p;
	*name_r = xstrdup(out);
	return 0;
}

int
dns_rr_name(const uint8_t *rdata, size_t len, char **name_r)
{
	size_t pos = 0;
	char *name;

	if (dns_rr_parse_name(rdata, len, &pos, &name) == -1)
		return -1;
	if (pos != len) {
		free(name);
		return -1;
	}
	*name_r = name;
	return 0;
}

int
dns_rr_mx(const uint8_t *rdata, size_t len, struct dns_mx *out)
{
	size_t pos = 2;

	memset(out, 0, sizeof(*out));
	if (len < 3)
		return -1;
	out->pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
	if (dns_rr_parse_name(rdata, len, &pos, &out->host) == -1)
		return -1;
	if (pos != len) {
		dns_mx_clear(out);
		return -1;
	}
	return 0;
}

static int
dns_rr_addr(const uint8_t *rdata, size_t len, int family,
    struct dns_addr *out)
{
	size_t want = family == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	if (len != want)
		return -1;
	out->family = family;
	if (family == AF_INET)
		memcpy(&out->u.v4, rdata, 4);
	else
		memcpy(&out->u.v6, rdata, 16);
	if (inet_ntop(family, &out->u, out->text, sizeof(out->text)) == NULL)
		panic("dns_rr_addr: inet_ntop failed");
	return 0;
}

int
dns_rr_a(const uint8_t *rdata, size_t len, struct dns_addr *out)
{
	return dns_rr_addr(rdata, len, AF_INET, out);
}

int
dns_rr_aaaa(const uint8_t *rdata, size_t len, struct dns_addr *out)
{
	return dns_rr_addr(rdata, len, AF_INET6, out);
}

int
dns_rr_tlsa(const uint8_t *rdata, size_t len, struct dns_tlsa *out)
{
	size_t dlen;

	memset(out, 0, sizeof(*out));
	if (len < 4)
		return -1;
	dlen = len - 3;
	/* RFC 7671 §5.1: digests of the wrong length are unusable; a record
	   we cannot use is treated as malformed. */
	if ((rdata[2] == 1 && dlen != 32) || (rdata[2] == 2 && dlen != 64))
		return -1;
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->len = dlen;
	out->data = xmalloc(dlen);
	memcpy(out->data, rdata + 3, dlen);
	return 0;
}

int
dns_rr_txt(const uint8_t *rdata, size_t len, struct dns_txt *out)
{
	size_t pos = 0, o = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -1;	/* RFC 1035: one or more strings */
	/* The text is shorter than the rdata: one byte per string less. */
	out->data = xmalloc(len + 1);
	while (pos < len) {
		size_t l = rdata[pos++];

		if (len - pos < l) {
			dns_txt_clear(out);
			return -1;
		}
		memcpy(out->data + o, rdata + pos, l);
		o += l;
		pos += l;
	}
	out->data[o] = '\0';
	out->len = o;
	return 0;
}

void
dns_mx_clear(struct dns_mx *mx)
{
	xfree(&mx->host);
}

void
dns_tlsa_clear(struct dns_tlsa *tlsa)
{
	xfree(&tlsa->data);
	tlsa->len = 0;
}

void
dns_txt_clear(struct dns_txt *txt)
{
	xfree(&txt->data);
	txt->len = 0;
}
