/* outbound_dane.c — whether DANE (RFC 7672) governs the TLS of one MX
   host, from the DNS answers about it. Pure: the lookups are made by
   outbound_dest.c.

   RFC 7672 §2.2: DANE applies only where the chain of answers is signed:
   the MX RRset (or the domain's own address when it has none) and the
   host's address records must be DNSSEC-secure, as Postfix's "dane" level
   does; anything insecure leaves the host to opportunistic TLS (RFC 7435),
   since an attacker who can forge an insecure answer could as well forge
   the absence of TLSA records. With a signed chain:
   - secure TLSA records of which some are usable (DANE-TA(2) or
     DANE-EE(3), selector 0/1, matching type 0/1/2; §3.1.3 says PKIX-TA(0)
     and PKIX-EE(1) are not for SMTP) make authenticated TLS mandatory;
   - secure NXDOMAIN or NODATA: the host has no DANE, opportunistic;
   - a TLSA lookup that failed (SERVFAIL, timeout) or did not validate
     (bogus) in a signed zone: the host must not be used now (§2.2.1: an
     attacker may be hiding the records), the delivery is tried later;
   - secure records that are all unusable: TLS without authentication
     (§3.1.3); smtpc has no "encrypt without verifying" mode, so
     opportunistic. */
#include "outbound/outbound_private.h"

#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "lib/xmalloc.h"
#include "smtpc/smtpc.h"

static bool
outbound_dane_usable(const struct dns_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return false;
	if (t->selector > 1 || t->mtype > 2)
		return false;
	/* Digests of the wrong length can never match. */
	if ((t->mtype == 1 && t->len != 32) || (t->mtype == 2 && t->len != 64))
		return false;
	return t->len > 0;
}

enum outbound_dane
outbound_dane_decide(bool chain_secure, const struct dns_result *tlsa,
    struct smtpc_tlsa **records_r, size_t *n_r)
{
	size_t n = 0;

	*records_r = NULL;
	*n_r = 0;
	if (!chain_secure || tlsa == NULL)
		return OUTBOUND_DANE_NONE;
	switch (tlsa->status) {
	case DNS_TEMPFAIL:
	case DNS_BOGUS:
		return OUTBOUND_DANE_TEMPFAIL;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return OUTBOUND_DANE_NONE;
	case DNS_OK:
		break;
	}
	if (!tlsa->secure)
		return OUTBOUND_DANE_NONE;
	for (size_t i = 0; i < tlsa->count; i++)
		n += outbound_dane_usable(&tlsa->tlsa[i]);
	if (n == 0)
		return OUTBOUND_DANE_NONE;
	*records_r = xcalloc(n, sizeof(**records_r));
	for (size_t i = 0, k = 0; i < tlsa->count; i++) {
		const struct dns_tlsa *t = &tlsa->tlsa[i];
		struct smtpc_tlsa *r = &(*records_r)[k];
		uint8_t *data;

		if (!outbound_dane_usable(t))
			continue;
		data = xmalloc(t->len);
		memcpy(data, t->data, t->len);
		r->usage = t->usage;
		r->selector = t->selector;
		r->mtype = t->mtype;
		r->data = data;
		r->len = t->len;
		k++;
	}
	*n_r = n;
	return OUTBOUND_DANE_REQUIRED;
}

struct smtpc_tlsa *
outbound_dane_copy(const struct smtpc_tlsa *records, size_t n)
{
	struct smtpc_tlsa *c = xcalloc(n ? n : 1, sizeof(*c));

	for (size_t i = 0; i < n; i++) {
		uint8_t *data = xmalloc(records[i].len ? records[i].len : 1);

		memcpy(data, records[i].data, records[i].len);
		c[i] = records[i];
		c[i].data = data;
	}
	return c;
}

void
outbound_dane_free(struct smtpc_tlsa **records, size_t n)
{
	if (*records == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((void *)(*records)[i].data);
	free(*records);
	*records = NULL;
}
