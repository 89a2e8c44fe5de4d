/* config.h — petrel.conf, the INI file with what a restart may change:
   hostname, data dir, listeners, TLS files, limits. Day-to-day settings
   (domains, mailboxes) live in the directory database instead.

   Parsed with libinih through ini_parse_stream and our own line reader
   (Debian's libinih splits lines over 200 bytes). Every bad value is an
   error naming file, line and key; a config with any error is refused.
   A loaded config is immutable and shared read-only between threads.

   Layout:
	[server]
	hostname = mail.example.org
	data_dir = /var/lib/petrel
	user = petrel            ; drop to this user when started as root
	io_threads = 0           ; 0: one per core
	workers = 4
	log_level = info
	[tls]
	cert = /etc/petrel/cert.pem
	key = /etc/petrel/key.pem
	[listen.smtp]            ; any name after "listen."
	address = 0.0.0.0        ; or ::, 127.0.0.1 ... (several: comma-separated)
	port = 25
	protocol = smtp          ; smtp | submission | imap | pop3 | sieve | http
	tls = starttls           ; none | starttls | implicit
	[limits]
	max_message_size = 50M
	...every field of struct config_limits, same names
	[auth]                   ; logins: POP3, IMAP, submission
	plaintext = loopback     ; never | loopback | always
	failure_delay = 2000     ; ms before a failed login is answered
	max_failures_per_ip = 20 ; then refused for failure_window
	max_failures_per_account = 10
	failure_window = 300     ; seconds
	cache_ttl = 300          ; seconds a verified login is remembered
	[submission]
	sender_login_match = no  ; yes | no
	received_auth = no
	relay_networks = 192.0.2.10, 2001:db8::/64
	always_bcc = archive@example.org
	[outbound]
	max_lifetime = 432000    ; seconds (120 h)
	retry_min = 300
	retry_max = 3600
	delay_warning = 0        ; seconds, 0: no delay DSN
	max_connections = 20
	connect_timeout = 30
	command_timeout = 300
	port = 25
	resolver = 127.0.0.1@5353 ; default: /etc/resolv.conf
	trust_anchor = /usr/share/dns/root.key
	tls_ca_file = /etc/ssl/certs/ca-certificates.crt
	mta_sts_port = 443
*/
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_protocol {
	CONFIG_PROTOCOL_SMTP,		/* MTA, port 25 */
	CONFIG_PROTOCOL_SUBMISSION,	/* 587 / 465 */
	CONFIG_PROTOCOL_IMAP,
	CONFIG_PROTOCOL_POP3,
	CONFIG_PROTOCOL_SIEVE,
	CONFIG_PROTOCOL_HTTP,
};

enum config_tls_mode {
	CONFIG_TLS_NONE,
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_IMPLICIT,
};

struct config_listener {
	char *name;			/* the part after "listen." */
	char *address;			/* one numeric address */
	uint16_t port;
	enum config_protocol protocol;
	enum config_tls_mode tls;
};

/* Defaults and their reasons: config.c, config_limits_defaults(). */
struct config_limits {
	uint64_t max_message_size;	/* SIZE; 50 MiB */
	unsigned max_recipients;	/* RCPTs per transaction; 1000 */
	size_t max_command_line;	/* RFC 5321 §4.5.3.1.4: 512 */
	size_t max_text_line;		/* RFC 5321 §4.5.3.1.6: 998+2 */
	unsigned max_connections;	/* whole server; 10000 */
	unsigned max_connections_per_ip; /* 50 */
	unsigned idle_timeout;		/* seconds; RFC 5321 §4.5.3.2: 300 */
	unsigned max_errors;		/* syntax errors before close; 20 */
	unsigned max_commands_before_data; /* commands that move no mail
					   forward (NOOP, RSET, VRFY, HELP,
					   HELO/EHLO, refused MAIL/RCPT/
					   DATA...) per session; 100 */
	unsigned unknown_rcpt_delay_after; /* 10 */
	unsigned unknown_rcpt_close_after; /* 20 */
	unsigned unknown_rcpt_delay_ms;	/* 1000 */
	unsigned shutdown_timeout;	/* seconds SIGTERM waits; 30 */
	unsigned pop3_idle_timeout;	/* seconds; RFC 1939 §3: 600 */
	unsigned imap_idle_timeout;	/* seconds; RFC 9051 §5.4: 1800 */
	size_t imap_max_line;		/* octets of one command line (not
					   literals); Dovecot's 64K */
	unsigned imap_max_pipelined;	/* commands read ahead; 1000 */
};

/* Whether a password may cross a connection without TLS (USER/PASS, AUTH
   PLAIN): never, only from the loopback (127.0.0.0/8, ::1: nothing on
   the wire to sniff), or always. */
enum config_plaintext {
	CONFIG_PLAINTEXT_NEVER,
	CONFIG_PLAINTEXT_LOOPBACK,
	CONFIG_PLAINTEXT_ALWAYS,
};

/* [auth]; defaults and their reasons: config.c, config_auth_defaults(). */
struct config_auth {
	enum config_plaintext plaintext;	/* loopback */
	unsigned failure_delay;		/* ms before a failure answer; 2000 */
	unsigned max_failures_per_ip;	/* IPv6 per /64; 20 */
	unsigned max_failures_per_account; /* 10 */
	unsigned failure_window;	/* seconds; 300 */
	unsigned cache_ttl;		/* seconds a verified login is reused
					   without a new hash check; 300,
					   0: off (DESIGN.md §7) */
};

/* [submission]: mail from logged-in users and relay clients. */
struct config_submission {
	/* Refuse MAIL FROM addresses the login may not use (553 5.7.1):
	   own address, its aliases, alias-domain spellings, allow-send-as.
	   Off by default, as in NethServer; a domain setting turns it on
	   per domain. */
	bool sender_login_match;
	/* Name the authenticated user in Received (off: not revealed). */
	bool received_auth;
	/* Clients that may relay without AUTH (printers, scanners):
	   comma-separated IPs or CIDRs, v4 and v6; NULL: none. Checked
	   by config_parse; matched with config_networks_match. */
	char *relay_networks;
	/* Hidden copy of all mail in and out (archiving); NULL: none. */
	char *always_bcc;
};

/* [outbound]: the queue runner that sends to other servers. */
struct config_outbound {
	unsigned max_lifetime;		/* seconds in the queue; 120 h */
	unsigned retry_min;		/* first retry after; 300 s */
	unsigned retry_max;		/* backoff cap; 3600 s */
	unsigned delay_warning;		/* seconds before a delay DSN;
					   0: off (default) */
	unsigned max_connections;	/* concurrent SMTP clients; 20 */
	unsigned connect_timeout;	/* seconds; 30 */
	unsigned command_timeout;	/* seconds per reply; 300 (RFC 5321
					   §4.5.3.2 asks 5 min, 10 after
					   DATA's dot) */
	uint16_t port;			/* remote SMTP port; 25 (tests: a
					   loopback sink) */
	char *resolver;			/* "IP[@PORT]" forwarder for
					   libunbound; NULL: /etc/resolv.conf */
	char *trust_anchor;		/* DNSSEC root key file (DANE); NULL:
					   Debian's dns-root-data when present
					   and no resolver is set (a forwarder
					   that strips DNSSEC would fail every
					   answer) */
	char *tls_ca_file;		/* CA bundle for verifying MTA-STS
					   and relay hosts; NULL: system */
	uint16_t mta_sts_port;		/* HTTPS port of policy hosts; 443 */
};

struct config {
	char *path;			/* the file it came from */
	char *hostname;
	char *data_dir;			/* absolute */
	char *user;			/* NULL: keep the current user */
	unsigned io_threads;		/* resolved: never 0 */
	unsigned workers;
	int log_level;			/* enum log_level */
	char *tls_cert, *tls_key;	/* absolute; NULL if no TLS */
	struct config_listener *listeners;
	size_t n_listeners;
	struct config_limits limits;
	struct config_auth auth;
	struct config_submission submission;
	struct config_outbound outbound;
};

void config_limits_defaults(struct config_limits *limits);
void config_auth_defaults(struct config_auth *auth);
void config_outbound_defaults(struct config_outbound *outbound);
/* Whether ip (numeric text, v4 or v6, "::ffff:a.b.c.d" as v4) lies in one
   of list's comma-separated IPs/CIDRs (as config_parse accepted them).
   NULL or empty list: false. */
bool config_networks_match(const char *list, const char *ip);
/* "never", "loopback" or "always". */
const char *config_plaintext_name(enum config_plaintext plaintext);
/* A size as petrel.conf writes it: "50M" for a multiple of a binary unit
   (K, M, G: 1024, 1024^2, 1024^3; the largest that divides n), else the
   plain number of bytes. Heap string, caller frees; never NULL. */
char *config_size_text(uint64_t n);

/* Parses text (len bytes, may lack a final newline). name is used in
   errors ("petrel.conf:12: [limits] max_message_size: not a size").
   Relative paths are resolved against base_dir. Returns the config, or
   NULL with *error_r set (heap; caller frees). */
struct config *config_parse(const char *name, const char *text, size_t len,
    const char *base_dir, char **error_r);
/* Reads and parses path. NULL with *error_r on error. */
struct config *config_load(const char *path, char **error_r);
void config_free(struct config **config);

const char *config_protocol_name(enum config_protocol protocol);
#endif
