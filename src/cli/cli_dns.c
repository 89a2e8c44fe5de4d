/* cli_dns.c — the DNS records to publish for a domain petrel serves, built
   from one table so the zone-file text and the JSON never disagree.
   MX (RFC 5321 §5.1), SPF (RFC 7208) allowing the MX hosts, DMARC (RFC
   7489) reporting to postmaster@, and SRV records for mail clients (RFC
   6186, with the implicit-TLS services of RFC 8314 §5.1). Ports are the
   standard ones: the records describe a production server. */
#include "cli/cli_dns.h"

#include <stdlib.h>

#include "lib/xmalloc.h"

enum cli_dns_kind {
	CLI_DNS_MX,
	CLI_DNS_SPF,
	CLI_DNS_DMARC,
	CLI_DNS_SRV,
};

static const struct {
	enum cli_dns_kind kind;
	const char *service;		/* SRV: "_imaps._tcp" */
	unsigned port;
} cli_dns_records[] = {
	{ CLI_DNS_MX, NULL, 0 },
	{ CLI_DNS_SPF, NULL, 0 },
	{ CLI_DNS_DMARC, NULL, 0 },
	{ CLI_DNS_SRV, "_submissions._tcp", 465 },
	{ CLI_DNS_SRV, "_submission._tcp", 587 },
	{ CLI_DNS_SRV, "_imaps._tcp", 993 },
	{ CLI_DNS_SRV, "_imap._tcp", 143 },
	{ CLI_DNS_SRV, "_pop3s._tcp", 995 },
	{ CLI_DNS_SRV, "_pop3._tcp", 110 },
};

#define CLI_DNS_N (sizeof(cli_dns_records) / sizeof(cli_dns_records[0]))

/* Record i: owner name, type and data, as heap strings. */
static void
cli_dns_record(size_t i, const char *domain, const char *hostname,
    char **name_r, const char **type_r, char **data_r)
{
	switch (cli_dns_records[i].kind) {
	case CLI_DNS_MX:
		*name_r = xasprintf("%s.", domain);
		*type_r = "MX";
		*data_r = xasprintf("10 %s.", hostname);
		return;
	case CLI_DNS_SPF:
		/* Only the MX hosts send for the domain; -all: nobody else. */
		*name_r = xasprintf("%s.", domain);
		*type_r = "TXT";
		*data_r = xstrdup("\"v=spf1 mx -all\"");
		return;
	case CLI_DNS_DMARC:
		*name_r = xasprintf("_dmarc.%s.", domain);
		*type_r = "TXT";
		*data_r = xasprintf("\"v=DMARC1; p=quarantine; "
		    "rua=mailto:postmaster@%s\"", domain);
		return;
	case CLI_DNS_SRV:
		/* RFC 6186 §3: priority 0, weight 1, port, target. */
		*name_r = xasprintf("%s.%s.", cli_dns_records[i].service,
		    domain);
		*type_r = "SRV";
		*data_r = xasprintf("0 1 %u %s.", cli_dns_records[i].port,
		    hostname);
		return;
	}
	panic("cli_dns_record: kind %d", (int)cli_dns_records[i].kind);
}

int
cli_dns_print(FILE *out, const char *indent, const char *domain,
    const char *hostname)
{
	int ret = 0;

	for (size_t i = 0; i < CLI_DNS_N; i++) {
		char *name, *data;
		const char *type;

		cli_dns_record(i, domain, hostname, &name, &type, &data);
		if (fprintf(out, "%s%s IN %s %s\n", indent, name, type,
		    data) < 0)
			ret = -1;
		free(name);
		free(data);
	}
	return ret;
}

json_t *
cli_dns_json(const char *domain, const char *hostname)
{
	json_t *list = json_array();

	if (list == NULL)
		panic("cli_dns_json: out of memory");
	for (size_t i = 0; i < CLI_DNS_N; i++) {
		char *name, *data;
		const char *type;
		json_t *o;

		cli_dns_record(i, domain, hostname, &name, &type, &data);
		o = json_pack("{s:s, s:s, s:s}", "name", name, "type", type,
		    "value", data);
		if (o == NULL || json_array_append_new(list, o) == -1)
			panic("cli_dns_json: out of memory");
		free(name);
		free(data);
	}
	return list;
}
