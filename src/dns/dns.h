/* dns.h — asynchronous DNS lookups for outbound delivery (DESIGN.md §2):
   MX, A, AAAA, TLSA and TXT through libunbound, validating DNSSEC so that
   DANE (RFC 7672) can trust TLSA records, on one libevent event_base.

   A struct dns belongs to one thread (the outbound runner's): every
   function here is called on the thread that runs base, and callbacks run
   there, from the event loop, never from inside dns_query(). Nothing here
   blocks: libunbound resolves in its own thread and wakes the loop through
   ub_fd(). CNAME chains are followed by unbound; rdata is parsed by
   dns_rr.c (bounds-checked; fuzz/fuzz_dns_rr.c). */
#ifndef PETREL_DNS_H
#define PETREL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

struct event_base;
struct dns;
struct dns_query;

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,	/* parsers only: dns_query() follows CNAMEs */
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_TLSA = 52,
};

enum dns_status {
	DNS_OK,			/* at least one usable record */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_NODATA,		/* the name exists, no record of this type
				   (also when every record was malformed) */
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, resolver error: retry */
	DNS_BOGUS,		/* DNSSEC validation failed: do not use, and
				   for DANE treat as a temporary failure
				   (RFC 7672 §2.2) */
};

struct dns_mx {
	uint16_t pref;
	char *host;		/* lower case, no trailing dot, LDH labels */
};

struct dns_addr {
	int family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
	char text[INET6_ADDRSTRLEN];	/* "192.0.2.1", "2001:db8::1" */
};

struct dns_tlsa {
	uint8_t usage;		/* 2 DANE-TA, 3 DANE-EE (0, 1 are kept but
				   RFC 7672 §3.1.3 says SMTP ignores them) */
	uint8_t selector;	/* 0 full certificate, 1 SubjectPublicKeyInfo */
	uint8_t mtype;		/* 0 full, 1 SHA-256, 2 SHA-512 */
	uint8_t *data;		/* association data */
	size_t len;
};

/* One TXT record: its character-strings concatenated (as RFC 8461 §3.1
   and RFC 7208 §3.3 read them). data is NUL-terminated past len but may
   contain NUL itself. */
struct dns_txt {
	char *data;
	size_t len;
};

/* What a query found. Owned by the callback that receives it: free with
   dns_result_free(). Only the array for the query's type is filled. */
struct dns_result {
	enum dns_status status;
	enum dns_type type;
	char *qname;		/* the name asked, as given */
	char *canonname;	/* the name after CNAMEs (lower case, no dot),
				   or NULL when it is qname itself */
	bool secure;		/* DNSSEC-validated (ub_result->secure) */
	char *error;		/* TEMPFAIL/BOGUS: why (heap), else NULL */
	uint32_t ttl;		/* of the answer, 0 if none */
	bool null_mx;		/* MX: exactly one record, pref 0, host "."
				   (RFC 7505): the domain takes no mail;
				   count is then 0 and status DNS_OK */
	size_t malformed;	/* records skipped as unparsable */
	size_t count;		/* entries in the array below */
	struct dns_mx *mx;	/* MX, sorted by pref (stable) */
	struct dns_addr *addr;	/* A and AAAA */
	struct dns_tlsa *tlsa;	/* TLSA */
	struct dns_txt *txt;	/* TXT */
};

struct dns_options {
	const char *resolver;	/* "IP" or "IP@PORT" to forward every
				   query to (tests: a stub on loopback); NULL:
				   the servers of /etc/resolv.conf */
	const char *trust_anchor_file;	/* DNSSEC root anchor (zone-file DS or
				   DNSKEY lines, e.g. /usr/share/dns/root.key);
				   NULL: no validation, every answer insecure */
	unsigned timeout_ms;	/* per query, then DNS_TEMPFAIL "timeout";
				   0: 20 s */
};

/* The result callback. res is the caller's to free (dns_result_free); the
   query handle is gone when this runs. */
typedef void dns_callback(struct dns_result *res, void *ctx);

/* A resolver context on base. opt is copied. Returns the context, or NULL
   with *error_r (heap, caller frees) when libunbound refuses the options
   (bad resolver address, unreadable trust anchor). Reads resolv.conf or
   the anchor file once, here: call at start-up of the runner thread. */
struct dns *dns_new(struct event_base *base, const struct dns_options *opt,
    char **error_r);

/* Cancels every pending query (their callbacks never run) and frees dns.
   Not from inside a dns callback (unbound is delivering results then).
   Sets *dnsp to NULL; accepts NULL. */
void dns_free(struct dns **dnsp);

/* Starts a lookup of name (a host or domain name, trailing dot optional;
   TLSA names are "_25._tcp.<host>", MTA-STS "_mta-sts.<domain>") for type
   (not DNS_TYPE_CNAME). cb runs exactly once, later, from the event loop,
   unless the query is cancelled first. Never returns NULL: a name that
   cannot be asked (empty, too long) or a resolver error comes back as
   DNS_TEMPFAIL (or NXDOMAIN for a malformed name) through cb as well.
   The handle is valid until cb starts or dns_cancel(). */
struct dns_query *dns_query(struct dns *dns, enum dns_type type,
    const char *name, dns_callback *cb, void *ctx);

/* Forgets a pending query (its session is gone): cb will not run. Sets *qp
   to NULL; accepts NULL. */
void dns_cancel(struct dns_query **qp);

/* Number of queries started and neither answered nor cancelled. */
size_t dns_pending(const struct dns *dns);

/* Frees res and everything in it; sets *resp to NULL; accepts NULL. */
void dns_result_free(struct dns_result **resp);

/* "NOERROR"-style name of a status for log lines ("ok", "nxdomain",
   "nodata", "tempfail", "bogus"). */
const char *dns_status_name(enum dns_status status);

/* Record parsers (dns_rr.c), pure functions of their input: rdata is one
   record's RDATA as unbound hands it (names uncompressed). Each returns 0
   and fills *out (heap members the caller frees with the matching
   dns_*_clear), or -1 when the rdata is malformed (truncated, trailing
   bytes, a label that is not a host name where one is required). */
int dns_rr_mx(const uint8_t *rdata, size_t len, struct dns_mx *out);
int dns_rr_a(const uint8_t *rdata, size_t len, struct dns_addr *out);
int dns_rr_aaaa(const uint8_t *rdata, size_t len, struct dns_addr *out);
int dns_rr_tlsa(const uint8_t *rdata, size_t len, struct dns_tlsa *out);
int dns_rr_txt(const uint8_t *rdata, size_t len, struct dns_txt *out);
/* A CNAME's target (or any wire-format name) as a host name: lower case,
   no trailing dot; "" for the root. 0, or -1 when malformed or not LDH
   (letters, digits, hyphen; "_" allowed for service labels). */
int dns_rr_name(const uint8_t *rdata, size_t len, char **name_r);
void dns_mx_clear(struct dns_mx *mx);
void dns_tlsa_clear(struct dns_tlsa *tlsa);
void dns_txt_clear(struct dns_txt *txt);
#endif
