/* fuzz_dns_rr.c — the RDATA parsers of dns_rr.c on arbitrary bytes: the
   first byte picks the type, the rest is the RDATA. A success gives
   well-formed values: MX hosts and names lower-case LDH without empty
   labels, addresses that print, TLSA data of the declared digest length,
   TXT text no longer than the RDATA. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *s)
{
	size_t len = strlen(s);

	CHECK(len <= 253);
	CHECK(len == 0 || (s[0] != '.' && s[len - 1] != '.' &&
	    strstr(s, "..") == NULL));
	for (size_t i = 0; i < len; i++)
		CHECK(!(s[i] >= 'A' && s[i] <= 'Z'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_mx mx;
	struct dns_addr addr;
	struct dns_tlsa tlsa;
	struct dns_txt txt;
	char *name;

	if (size == 0)
		return 0;
	const uint8_t *rd = data + 1;
	size_t len = size - 1;

	switch (data[0] % 6) {
	case 0:
		if (dns_rr_mx(rd, len, &mx) == 0) {
			check_name(mx.host);
			dns_mx_clear(&mx);
		}
		break;
	case 1:
		if (dns_rr_a(rd, len, &addr) == 0)
			CHECK(len == 4 && strchr(addr.text, '.') != NULL);
		break;
	case 2:
		if (dns_rr_aaaa(rd, len, &addr) == 0)
			CHECK(len == 16 && strchr(addr.text, ':') != NULL);
		break;
	case 3:
		if (dns_rr_tlsa(rd, len, &tlsa) == 0) {
			CHECK(tlsa.len == len - 3);
			CHECK(tlsa.mtype != 1 || tlsa.len == 32);
			CHECK(tlsa.mtype != 2 || tlsa.len == 64);
			dns_tlsa_clear(&tlsa);
		}
		break;
	case 4:
		if (dns_rr_txt(rd, len, &txt) == 0) {
			CHECK(txt.len < len && txt.data[txt.len] == '\0');
			dns_txt_clear(&txt);
		}
		break;
	case 5:
		if (dns_rr_name(rd, len, &name) == 0) {
			check_name(name);
			free(name);
		}
		break;
	}
	return 0;
}
