/* fuzz_mta_sts.c — the MTA-STS parsers of outbound_sts.c (RFC 8461) on
   arbitrary bytes: the policy file, the TXT record, and matching. A parsed
   policy is well-formed: a known mode, max_age within a year, mx patterns
   that are lower-case host names (a leading "*." at most) and at least one
   unless the mode is none; every pattern matches a host built from it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/outbound_private.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbound_sts_policy p;
	const char *error = NULL;
	char id[33];

	if (outbound_sts_txt_id((const char *)data, size, id) == 0) {
		size_t n = strlen(id);

		CHECK(n >= 1 && n <= 32);
	}
	if (outbound_sts_policy_parse((const char *)data, size, &p,
	    &error) == -1) {
		CHECK(error != NULL && p.n_mx == 0 && p.mx == NULL);
		return 0;
	}
	CHECK(p.mode <= OUTBOUND_STS_ENFORCE);
	CHECK(p.max_age <= 31557600u);
	CHECK(p.mode == OUTBOUND_STS_NONE || p.n_mx > 0);
	CHECK(p.n_mx <= OUTBOUND_STS_MAX_MX);
	for (size_t i = 0; i < p.n_mx; i++) {
		const char *pat = p.mx[i];
		char host[300];

		CHECK(pat[0] != '\0' && strchr(pat + 1, '*') == NULL);
		for (const char *c = pat; *c != '\0'; c++)
			CHECK(!(*c >= 'A' && *c <= 'Z'));
		if (pat[0] == '*')
			snprintf(host, sizeof(host), "mx%s", pat + 1);
		else
			snprintf(host, sizeof(host), "%s", pat);
		CHECK(outbound_sts_policy_match(&p, host));
	}
	outbound_sts_policy_clear(&p);
	return 0;
}
