/* cli_dns.h — the DNS records a domain served by petrel publishes: MX, SPF,
   DMARC and the RFC 6186 SRV records that let mail clients find the
   server. Shared by `petrel quickstart` and, later, `petrel domain dns`. */
#ifndef PETREL_CLI_DNS_H
#define PETREL_CLI_DNS_H

#include <jansson.h>
#include <stdio.h>

/* Writes the records for domain, served by hostname, in zone-file form
   ("example.org. IN MX 10 mail.example.org."), one per line, each line
   starting with indent. Both names must be valid host names (no checks
   here). Returns 0, or -1 when out cannot be written. */
int cli_dns_print(FILE *out, const char *indent, const char *domain,
    const char *hostname);

/* The same records as a JSON array of {"name", "type", "value"} objects
   ("value" is the record data as in the zone file). New reference. */
json_t *cli_dns_json(const char *domain, const char *hostname);
#endif
