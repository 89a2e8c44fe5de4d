/* config_test.c — unit tests for config.c: good files and every field they
   set, bad files with the exact error text, the framing the line reader owns
   (long lines, NUL, CRLF, BOM, indentation), config_load, and hostile input:
   every prefix of a good file and random mutations must parse or fail
   cleanly (ASan/UBSan/LSan watch). */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

#define BASE "/etc/petrel"

/* Lines 1-8: a valid head every bad case below builds on. */
#define HEAD \
	"[server]\n" \
	"hostname = mail.example.org\n" \
	"data_dir = /var/lib/petrel\n" \
	"[listen.smtp]\n" \
	"address = 127.0.0.1\n" \
	"port = 2525\n" \
	"protocol = smtp\n" \
	"tls = none\n"

static struct config *
parse(const char *text, char **error_r)
{
	*error_r = NULL;
	return config_parse("petrel.conf", text, strlen(text), BASE, error_r);
}

/* len bytes of text must be refused with exactly the error want. */
static void
expect_error(const char *text, size_t len, const char *want)
{
	char *error = NULL;
	struct config *c = config_parse("petrel.conf", text, len, BASE, &error);

	TEST_ASSERT(c == NULL);
	TEST_EQ_STR(error, want);
	config_free(&c);
	free(error);
}

/* len bytes of text must parse; the caller checks and frees the result. */
static struct config *
expect_config(const char *text, size_t len)
{
	char *error = NULL;
	struct config *c = config_parse("petrel.conf", text, len, BASE, &error);

	TEST_ASSERT(c != NULL);
	TEST_EQ_STR(error, NULL);
	free(error);
	return c;
}

static void
test_full(void)
{
	static const char text[] =
	    "; petrel.conf\r\n"
	    "# a comment with # and ;\r\n"
	    "\r\n"
	    "[server]\r\n"
	    "hostname = Mail.Example.ORG\r\n"
	    "data_dir = /srv/petrel/\r\n"
	    "user = petrel\r\n"
	    "io_threads = 3\r\n"
	    "workers = 8 ; inline comment\r\n"
	    "log_level = debug\r\n"
	    "[tls]\r\n"
	    "cert = tls/cert.pem\r\n"
	    "key = /etc/ssl/private/key.pem\r\n"
	    "[listen.smtp]   ; the MTA\r\n"
	    "address = 0.0.0.0, ::\r\n"
	    "port = 25\r\n"
	    "protocol = smtp\r\n"
	    "tls = starttls\r\n"
	    "[listen.submissions]\r\n"
	    "\taddress = 127.0.0.1\r\n"
	    "\tport = 465\r\n"
	    "\tprotocol = submission\r\n"
	    "\ttls = implicit\r\n"
	    "[limits]\r\n"
	    "max_message_size = 10M\r\n"
	    "max_recipients = 200\r\n"
	    "max_command_line = 1K\r\n"
	    "max_text_line = 2000\r\n"
	    "max_connections = 500\r\n"
	    "max_connections_per_ip = 5\r\n"
	    "idle_timeout = 60\r\n"
	    "max_errors = 3\r\n"
	    "max_commands_before_data = 7\r\n"
	    "unknown_rcpt_delay_after = 0\r\n"
	    "unknown_rcpt_close_after = 4\r\n"
	    "unknown_rcpt_delay_ms = 250\r\n"
	    "pop3_idle_timeout = 900\r\n"
	    "[auth]\r\n"
	    "plaintext = never\r\n"
	    "failure_delay = 0\r\n"
	    "max_failures_per_ip = 7\r\n"
	    "max_failures_per_account = 3\r\n"
	    "failure_window = 60\r\n"
	    "[limits]\r\n"
	    "shutdown_timeout = 0";	/* no final newline */
	struct config *c = expect_config(text, sizeof(text) - 1);

	if (c == NULL)
		return;
	TEST_EQ_STR(c->path, "petrel.conf");
	TEST_EQ_STR(c->hostname, "mail.example.org");
	TEST_EQ_STR(c->data_dir, "/srv/petrel");
	TEST_EQ_STR(c->user, "petrel");
	TEST_EQ_INT(c->io_threads, 3);
	TEST_EQ_INT(c->workers, 8);
	TEST_EQ_INT(c->log_level, LOG_LEVEL_DEBUG);
	TEST_EQ_STR(c->tls_cert, BASE "/tls/cert.pem");
	TEST_EQ_STR(c->tls_key, "/etc/ssl/private/key.pem");
	TEST_EQ_INT(c->n_listeners, 3);
	if (c->n_listeners == 3) {
		TEST_EQ_STR(c->listeners[0].name, "smtp");
		TEST_EQ_STR(c->listeners[0].address, "0.0.0.0");
		TEST_EQ_INT(c->listeners[0].port, 25);
		TEST_EQ_INT(c->listeners[0].protocol, CONFIG_PROTOCOL_SMTP);
		TEST_EQ_INT(c->listeners[0].tls, CONFIG_TLS_STARTTLS);
		TEST_EQ_STR(c->listeners[1].name, "smtp");
		TEST_EQ_STR(c->listeners[1].address, "::");
		TEST_EQ_INT(c->listeners[1].port, 25);
		TEST_EQ_STR(c->listeners[2].name, "submissions");
		TEST_EQ_STR(c->listeners[2].address, "127.0.0.1");
		TEST_EQ_INT(c->listeners[2].port, 465);
		TEST_EQ_INT(c->listeners[2].protocol,
		    CONFIG_PROTOCOL_SUBMISSION);
		TEST_EQ_INT(c->listeners[2].tls, CONFIG_TLS_IMPLICIT);
	}
	TEST_EQ_INT(c->limits.max_message_size, 10 * 1024 * 1024);
	TEST_EQ_INT(c->limits.max_recipients, 200);
	TEST_EQ_INT(c->limits.max_command_line, 1024);
	TEST_EQ_INT(c->limits.max_text_line, 2000);
	TEST_EQ_INT(c->limits.max_connections, 500);
	TEST_EQ_INT(c->limits.max_connections_per_ip, 5);
	TEST_EQ_INT(c->limits.idle_timeout, 60);
	TEST_EQ_INT(c->limits.max_errors, 3);
	TEST_EQ_INT(c->limits.max_commands_before_data, 7);
	TEST_EQ_INT(c->limits.unknown_rcpt_delay_after, 0);
	TEST_EQ_INT(c->limits.unknown_rcpt_close_after, 4);
	TEST_EQ_INT(c->limits.unknown_rcpt_delay_ms, 250);
	TEST_EQ_INT(c->limits.shutdown_timeout, 0);
	TEST_EQ_INT(c->limits.pop3_idle_timeout, 900);
	TEST_EQ_INT(c->auth.plaintext, CONFIG_PLAINTEXT_NEVER);
	TEST_EQ_INT(c->auth.failure_delay, 0);
	TEST_EQ_INT(c->auth.max_failures_per_ip, 7);
	TEST_EQ_INT(c->auth.max_failures_per_account, 3);
	TEST_EQ_INT(c->auth.failure_window, 60);
	config_free(&c);
	TEST_ASSERT(c == NULL);
	config_free(&c);	/* accepts NULL */
}

static void
test_defaults(void)
{
	struct config_limits want;
	struct config *c = expect_config(HEAD, strlen(HEAD));

	if (c == NULL)
		return;
	memset(&want, 0, sizeof(want));	/* padding, for memcmp */
	config_limits_defaults(&want);
	TEST_EQ_INT(want.max_message_size, 50 * 1024 * 1024);
	TEST_EQ_INT(want.max_recipients, 1000);
	TEST_EQ_INT(want.max_command_line, 512);
	TEST_EQ_INT(want.max_text_line, 1000);
	TEST_EQ_INT(want.max_connections, 10000);
	TEST_EQ_INT(want.max_connections_per_ip, 50);
	TEST_EQ_INT(want.idle_timeout, 300);
	TEST_EQ_INT(want.max_errors, 20);
	TEST_EQ_INT(want.max_commands_before_data, 100);
	TEST_EQ_INT(want.unknown_rcpt_delay_after, 10);
	TEST_EQ_INT(want.unknown_rcpt_close_after, 20);
	TEST_EQ_INT(want.unknown_rcpt_delay_ms, 1000);
	TEST_EQ_INT(want.shutdown_timeout, 30);
	TEST_EQ_INT(want.pop3_idle_timeout, 600);
	TEST_ASSERT(memcmp(&c->limits, &want, sizeof(want)) == 0);
	TEST_EQ_INT(c->auth.plaintext, CONFIG_PLAINTEXT_LOOPBACK);
	TEST_EQ_INT(c->auth.failure_delay, 2000);
	TEST_EQ_INT(c->auth.max_failures_per_ip, 20);
	TEST_EQ_INT(c->auth.max_failures_per_account, 10);
	TEST_EQ_INT(c->auth.failure_window, 300);
	TEST_EQ_STR(config_plaintext_name(c->auth.plaintext), "loopback");
	TEST_EQ_STR(config_plaintext_name(CONFIG_PLAINTEXT_NEVER), "never");
	TEST_EQ_STR(config_plaintext_name(CONFIG_PLAINTEXT_ALWAYS), "always");
	TEST_EQ_STR(config_plaintext_name((enum config_plaintext)7),
	    "unknown");
	TEST_EQ_STR(c->user, NULL);
	TEST_EQ_STR(c->tls_cert, NULL);
	TEST_EQ_STR(c->tls_key, NULL);
	TEST_ASSERT(c->io_threads >= 1);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus >= 1 && cpus <= 256)
		TEST_EQ_INT(c->io_threads, cpus);
	TEST_EQ_INT(c->workers, 4);
	TEST_EQ_INT(c->log_level, LOG_LEVEL_INFO);
	TEST_EQ_INT(c->n_listeners, 1);
	TEST_EQ_INT(c->listeners[0].tls, CONFIG_TLS_NONE);
	config_free(&c);
}

/* Small good files, checked through one field each. */
static void
test_good(void)
{
	static const struct {
		const char *text;
		const char *data_dir;
		size_t n_listeners;
		const char *addr0;
		uint64_t max_message_size;
	} cases[] = {
		/* Relative data_dir: against the config's directory. */
		{ "[server]\nhostname=localhost\ndata_dir=var\n[listen.a]\n"
		  "address=::1\nport=1\nprotocol=http\n",
		  BASE "/var", 1, "::1", 50 * 1024 * 1024 },
		{ "[server]\nhostname=localhost\ndata_dir=./x//../y/./\n"
		  "[listen.a]\naddress=::1\nport=1\nprotocol=http\n",
		  BASE "/x/../y", 1, "::1", 50 * 1024 * 1024 },
		/* UTF-8 BOM; "name: value" as Python's configparser. */
		{ "\xef\xbb\xbf[server]\nhostname: h\ndata_dir: /d\n"
		  "[listen.a]\naddress: 10.0.0.1\nport: 80\nprotocol: http\n",
		  "/d", 1, "10.0.0.1", 50 * 1024 * 1024 },
		/* Canonical address text; several addresses. */
		{ "[server]\nhostname=h\ndata_dir=/d\n[listen.a]\n"
		  "address = 0:0::0:1 ,\t127.0.0.2,127.0.0.3\nport=25\n"
		  "protocol=smtp\n", "/d", 3, "::1", 50 * 1024 * 1024 },
		/* A section opened twice merges; sizes take k/m/g. */
		{ HEAD "[limits]\nmax_recipients = 100\n[server]\nuser = mail\n"
		  "[limits]\nmax_message_size = 1g\n",
		  "/var/lib/petrel", 1, "127.0.0.1", 1024 * 1024 * 1024 },
		{ HEAD "[limits]\nmax_message_size = 1024\n",
		  "/var/lib/petrel", 1, "127.0.0.1", 1024 },
		/* Same port on different addresses of one family. */
		{ HEAD "[listen.b]\naddress=127.0.0.2\nport=2525\n"
		  "protocol=submission\n", "/var/lib/petrel", 2, "127.0.0.1",
		  50 * 1024 * 1024 },
		/* Bare LF, blank lines with blanks, comments everywhere. */
		{ "\n   \n\t\n# x\n ; y\n" HEAD "# end", "/var/lib/petrel", 1,
		  "127.0.0.1", 50 * 1024 * 1024 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error;
		struct config *c = parse(cases[i].text, &error);

		if (c == NULL) {
			test_fail(__FILE__, __LINE__, "case %zu: %s", i, error);
			free(error);
			continue;
		}
		TEST_EQ_STR(c->data_dir, cases[i].data_dir);
		TEST_EQ_INT(c->n_listeners, cases[i].n_listeners);
		TEST_EQ_STR(c->listeners[0].address, cases[i].addr0);
		TEST_EQ_INT(c->limits.max_message_size,
		    cases[i].max_message_size);
		config_free(&c);
	}
}

static void
test_bad(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ HEAD "[limits]\nmax_mesage_size = 5M\n",
		  "petrel.conf:10: [limits] max_mesage_size: unknown key" },
		{ HEAD "[limits]\nmax_message_size = lots\n",
		  "petrel.conf:10: [limits] max_message_size: "
		  "not a size (e.g. 50M)" },
		{ HEAD "[limits]\nmax_message_size = 5T\n",
		  "petrel.conf:10: [limits] max_message_size: "
		  "not a size (e.g. 50M)" },
		{ HEAD "[limits]\nmax_message_size = 99999999999999999999\n",
		  "petrel.conf:10: [limits] max_message_size: "
		  "not a size (e.g. 50M)" },
		{ HEAD "[limits]\nmax_message_size = 17179869184G\n",
		  "petrel.conf:10: [limits] max_message_size: "
		  "not a size (e.g. 50M)" },
		{ HEAD "[limits]\nmax_message_size = 3G\n",
		  "petrel.conf:10: [limits] max_message_size: "
		  "must be between 1K and 2G" },
		{ HEAD "[limits]\nmax_command_line = 100\n",
		  "petrel.conf:10: [limits] max_command_line: "
		  "must be between 512 and 64K" },
		{ HEAD "[limits]\nmax_text_line = 999\n",
		  "petrel.conf:10: [limits] max_text_line: "
		  "must be between 1000 and 1M" },
		{ HEAD "[limits]\nmax_recipients = 99\n",
		  "petrel.conf:10: [limits] max_recipients: "
		  "must be between 100 and 100000" },
		{ HEAD "[limits]\nidle_timeout = -1\n",
		  "petrel.conf:10: [limits] idle_timeout: not a number" },
		{ HEAD "[limits]\nidle_timeout = 5s\n",
		  "petrel.conf:10: [limits] idle_timeout: not a number" },
		{ HEAD "[limits]\nidle_timeout = 4294967297\n",
		  "petrel.conf:10: [limits] idle_timeout: "
		  "must be between 1 and 86400" },
		{ HEAD "[limits]\nmax_connections = 10\n",
		  "petrel.conf:10: [limits] max_connections_per_ip: "
		  "must not exceed max_connections (10)" },
		{ HEAD "[limits]\nmax_errors = 1\nmax_errors = 2\n",
		  "petrel.conf:11: [limits] max_errors: "
		  "duplicate key (first on line 10)" },
		{ HEAD "[limits]\nmax_errors = 1\n[limits]\nmax_errors = 2\n",
		  "petrel.conf:12: [limits] max_errors: "
		  "duplicate key (first on line 10)" },
		{ HEAD "[limits]\nmax_errors =\n",
		  "petrel.conf:10: [limits] max_errors: value is empty" },
		{ HEAD "[limits]\n= 5\n",
		  "petrel.conf:10: key name missing before '='" },
		{ HEAD "[auth]\nplaintext = sometimes\n",
		  "petrel.conf:10: [auth] plaintext: plaintext must be never, "
		  "loopback or always" },
		{ HEAD "[auth]\nplaintext = Always\n",
		  "petrel.conf:10: [auth] plaintext: plaintext must be never, "
		  "loopback or always" },
		{ HEAD "[auth]\nmax_failures_per_ip = 0\n",
		  "petrel.conf:10: [auth] max_failures_per_ip: must be between "
		  "1 and 1000000" },
		{ HEAD "[auth]\nfailure_delay = 60001\n",
		  "petrel.conf:10: [auth] failure_delay: must be between 0 and "
		  "60000" },
		{ HEAD "[auth]\nfailure_window = 1\nfailure_window = 2\n",
		  "petrel.conf:11: [auth] failure_window: "
		  "duplicate key (first on line 10)" },
		{ HEAD "[auth]\nmax_errors = 1\n",
		  "petrel.conf:10: [auth] max_errors: unknown key" },
		{ HEAD "[limits]\npop3_idle_timeout = 0\n",
		  "petrel.conf:10: [limits] pop3_idle_timeout: must be between "
		  "1 and 86400" },
		{ HEAD "[limit]\n",
		  "petrel.conf:9: unknown section [limit] (expected server, "
		  "tls, listen.NAME, limits or auth)" },
		{ HEAD "[Server]\n",
		  "petrel.conf:9: unknown section [Server] (expected server, "
		  "tls, listen.NAME, limits or auth)" },
		{ HEAD "[limits\n",
		  "petrel.conf:9: section header lacks ']'" },
		{ HEAD "[limits] x\n",
		  "petrel.conf:9: unexpected text after the section header" },
		{ HEAD "[listen.]\n",
		  "petrel.conf:9: [listen.]: a listener name is 1-32 letters, "
		  "digits, '-' or '_'" },
		{ HEAD "[listen.a b]\n",
		  "petrel.conf:9: [listen.a b]: a listener name is 1-32 "
		  "letters, digits, '-' or '_'" },
		{ HEAD "[listen.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
		  "petrel.conf:9: [listen.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]: "
		  "a listener name is 1-32 letters, digits, '-' or '_'" },
		{ "hostname = x\n" HEAD,
		  "petrel.conf:1: hostname: key before any [section]" },
		{ HEAD "garbage\n",
		  "petrel.conf:9: expected key = value, [section] or a comment" },
		/* inih's syntax error comes first even if ours follows. */
		{ HEAD "garbage\n[nope]\n",
		  "petrel.conf:9: expected key = value, [section] or a comment" },
		{ "[server]\nhostname = -bad.example\n",
		  "petrel.conf:2: [server] hostname: not a valid host name "
		  "(e.g. mail.example.org)" },
		{ "[server]\nhostname = a..b\n",
		  "petrel.conf:2: [server] hostname: not a valid host name "
		  "(e.g. mail.example.org)" },
		{ "[server]\nhostname = a_b.example\n",
		  "petrel.conf:2: [server] hostname: not a valid host name "
		  "(e.g. mail.example.org)" },
		{ "[server]\nhostname = example.org.\n",
		  "petrel.conf:2: [server] hostname: not a valid host name "
		  "(e.g. mail.example.org)" },
		{ "[server]\nuser = -root\n",
		  "petrel.conf:2: [server] user: not a valid user name" },
		{ "[server]\nlog_level = verbose\n",
		  "petrel.conf:2: [server] log_level: "
		  "log_level must be debug, info, warn or error" },
		{ "[server]\nworkers = 0\n",
		  "petrel.conf:2: [server] workers: must be between 1 and 256" },
		{ "[server]\nio_threads = 257\n",
		  "petrel.conf:2: [server] io_threads: "
		  "must be between 0 and 256" },
		{ "[server]\nhostnme = x\n",
		  "petrel.conf:2: [server] hostnme: unknown key" },
		{ "[tls]\ncert = /c\nchain = /x\n",
		  "petrel.conf:3: [tls] chain: unknown key" },
		{ HEAD "port = 25\n",
		  "petrel.conf:9: [listen.smtp] port: "
		  "duplicate key (first on line 6)" },
		{ HEAD "[listen.b]\nport = 0\n",
		  "petrel.conf:10: [listen.b] port: port must be 1-65535" },
		{ HEAD "[listen.b]\nport = 65536\n",
		  "petrel.conf:10: [listen.b] port: port must be 1-65535" },
		{ HEAD "[listen.b]\nport = smtp\n",
		  "petrel.conf:10: [listen.b] port: port must be 1-65535" },
		{ HEAD "[listen.b]\nprotocol = lmtp\n",
		  "petrel.conf:10: [listen.b] protocol: protocol must be one of "
		  "smtp, submission, imap, pop3, sieve, http" },
		{ HEAD "[listen.b]\ntls = yes\n",
		  "petrel.conf:10: [listen.b] tls: "
		  "tls must be none, starttls or implicit" },
		{ HEAD "[listen.b]\naddress = localhost\n",
		  "petrel.conf:10: [listen.b] address: address is not a numeric "
		  "IPv4/IPv6 address: localhost" },
		{ HEAD "[listen.b]\naddress = [::1]\n",
		  "petrel.conf:10: [listen.b] address: address is not a numeric "
		  "IPv4/IPv6 address: [::1]" },
		{ HEAD "[listen.b]\naddress = 127.0.0.1,\n",
		  "petrel.conf:10: [listen.b] address: "
		  "empty entry in the address list" },
		{ HEAD "[listen.b]\naddress = ::1, 0::1\n",
		  "petrel.conf:10: [listen.b] address: ::1 is listed twice" },
		{ HEAD "[listen.b]\naddress = 1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,"
		  "1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9,1.1.1.10,1.1.1.11,"
		  "1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,1.1.1.17\n",
		  "petrel.conf:10: [listen.b] address: "
		  "too many addresses (at most 16)" },
		{ HEAD "[listen.b]\nunix = /x\n",
		  "petrel.conf:10: [listen.b] unix: unknown key" },
		/* Required values. */
		{ "[server]\ndata_dir = /d\n[listen.a]\naddress=::1\nport=1\n"
		  "protocol=smtp\n",
		  "petrel.conf: [server] hostname is required" },
		{ "[server]\nhostname = h\n[listen.a]\naddress=::1\nport=1\n"
		  "protocol=smtp\n",
		  "petrel.conf: [server] data_dir is required" },
		{ "[server]\nhostname = h\ndata_dir = /d\n",
		  "petrel.conf: no listener: add a [listen.NAME] section with "
		  "address, port and protocol" },
		{ "", "petrel.conf: [server] hostname is required" },
		{ HEAD "[listen.b]\naddress = ::1\nprotocol = smtp\n",
		  "petrel.conf:9: [listen.b] port is required" },
		{ HEAD "[listen.b]\nport = 1\nprotocol = smtp\n",
		  "petrel.conf:9: [listen.b] address is required" },
		{ HEAD "[listen.b]\n",
		  "petrel.conf:9: [listen.b] address is required" },
		{ HEAD "[listen.b]\naddress = ::1\nport = 1\n",
		  "petrel.conf:9: [listen.b] protocol is required" },
		/* TLS files: only their presence is checked here. */
		{ HEAD "[listen.b]\naddress = ::1\nport = 1\nprotocol = smtp\n"
		  "tls = starttls\n",
		  "petrel.conf:13: [listen.b] tls = starttls needs [tls] cert "
		  "and key" },
		{ HEAD "[tls]\ncert = /c\n",
		  "petrel.conf: [tls] key is required with cert" },
		{ HEAD "[tls]\nkey = /k\n",
		  "petrel.conf: [tls] cert is required with key" },
		{ HEAD "[tls]\ncert=/c\nkey=/k\n[listen.web]\naddress=::1\n"
		  "port=443\nprotocol=http\ntls=starttls\n",
		  "petrel.conf:16: [listen.web] tls: http has no starttls "
		  "(use implicit)" },
		/* Two sockets that would share connections. */
		{ HEAD "[listen.b]\naddress = 127.0.0.1\nport = 2525\n"
		  "protocol = submission\n",
		  "petrel.conf:10: [listen.b] address: 127.0.0.1 port 2525 "
		  "overlaps 127.0.0.1 port 2525 of [listen.smtp]" },
		{ HEAD "[listen.b]\naddress = 0.0.0.0\nport = 2525\n"
		  "protocol = submission\n",
		  "petrel.conf:10: [listen.b] address: 0.0.0.0 port 2525 "
		  "overlaps 127.0.0.1 port 2525 of [listen.smtp]" },
		{ HEAD "[listen.b]\naddress = ::1, ::\nport = 2525\n"
		  "protocol = submission\n[listen.c]\naddress = ::1\n"
		  "port = 2525\nprotocol = imap\n",
		  "petrel.conf:10: [listen.b] address: :: port 2525 "
		  "overlaps ::1 port 2525 of [listen.b]" },
		{ HEAD "[listen.b]\naddress = ::1\nport = 2525\n"
		  "protocol = submission\n[listen.c]\naddress = ::1\n"
		  "port = 2525\nprotocol = imap\n",
		  "petrel.conf:14: [listen.c] address: ::1 port 2525 "
		  "overlaps ::1 port 2525 of [listen.b]" },
		{ "[server]\nhostname=h\ndata_dir=/d\n[listen.a]\n"
		  "address=::1, ::\nport=1\nprotocol=smtp\n",
		  "petrel.conf:5: [listen.a] address: :: port 1 overlaps ::1 "
		  "port 1 of [listen.a]" },
		/* Framing the reader owns. */
		{ HEAD "\x01\n", "petrel.conf:9: control character 0x01 in the "
		  "line" },
		{ HEAD "# bare\rCR\n", "petrel.conf:9: control character 0x0d "
		  "in the line" },
		{ HEAD "x = \x7f\n", "petrel.conf:9: control character 0x7f "
		  "in the line" },
		/* A BOM is only taken on the first line. */
		{ HEAD "\xef\xbb\xbf[limits]\n",
		  "petrel.conf:9: expected key = value, [section] or a comment" },
		/* Indentation never continues the value above. */
		{ HEAD "  protocol = imap\n",
		  "petrel.conf:9: [listen.smtp] protocol: "
		  "duplicate key (first on line 7)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error;
		struct config *c = parse(cases[i].text, &error);

		if (c != NULL) {
			test_fail(__FILE__, __LINE__, "case %zu accepted: %s",
			    i, cases[i].error);
			config_free(&c);
			continue;
		}
		if (error == NULL || strcmp(error, cases[i].error) != 0)
			test_fail(__FILE__, __LINE__,
			    "case %zu:\n got \"%s\"\nwant \"%s\"", i,
			    error ? error : "(null)", cases[i].error);
		free(error);
	}
}

/* Debian's libinih cuts lines at 200 bytes; a long line is an error,
   never two lines. */
static void
test_long_line(void)
{
	struct buf b;
	struct config *c;

	buf_init(&b, 0);
	buf_append_str(&b, HEAD "[server]\nuser = ");
	for (int i = 0; i < 300 - 7; i++)
		buf_append_str(&b, "a");
	buf_append_str(&b, "\n");
	expect_error(b.data, b.len,
	    "petrel.conf:10: line too long (at most 197 bytes)");

	/* 197 bytes (a comment) is the longest line taken, CRLF or not. */
	buf_reset(&b);
	buf_append_str(&b, HEAD "#");
	for (int i = 0; i < 196; i++)
		buf_append_str(&b, "x");
	buf_append_str(&b, "\r\n[limits]\nmax_errors = 5\n");
	c = expect_config(b.data, b.len);
	if (c != NULL)
		TEST_EQ_INT(c->limits.max_errors, 5);
	config_free(&c);
	buf_reset(&b);
	buf_append_str(&b, HEAD "#");
	for (int i = 0; i < 197; i++)
		buf_append_str(&b, "x");
	expect_error(b.data, b.len,
	    "petrel.conf:9: line too long (at most 197 bytes)");
	buf_clear(&b);
}

static void
test_nul(void)
{
	static const char text[] = HEAD "# a\0b\n";

	expect_error(text, sizeof(text) - 1,
	    "petrel.conf:9: NUL byte in the line");
	/* A NUL the C string would hide: the length decides, not strlen. */
	expect_error(HEAD "\0", sizeof(HEAD),
	    "petrel.conf:9: NUL byte in the line");
}

static void
test_too_large(void)
{
	size_t len = 1024 * 1024 + 1;
	char *text = xmalloc(len);

	memset(text, '\n', len);
	expect_error(text, len,
	    "petrel.conf: file too large (at most 1048576 bytes)");
	free(text);
}

static void
test_too_many_listeners(void)
{
	struct buf b;
	struct config *c;

	buf_init(&b, 0);
	buf_append_str(&b, "[server]\nhostname=h\ndata_dir=/d\n");
	for (int i = 0; i < 64; i++)
		buf_printf(&b, "[listen.l%d]\naddress=::1\nport=%d\n"
		    "protocol=imap\n", i, 1000 + i);
	c = expect_config(b.data, b.len);
	if (c != NULL)
		TEST_EQ_INT(c->n_listeners, 64);
	config_free(&c);
	buf_append_str(&b, "[listen.one-too-many]\n");
	expect_error(b.data, b.len,
	    "petrel.conf:260: too many listeners (at most 64)");
	buf_clear(&b);
}

static void
test_protocol_names(void)
{
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_SMTP), "smtp");
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_SUBMISSION),
	    "submission");
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_IMAP), "imap");
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_POP3), "pop3");
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_SIEVE), "sieve");
	TEST_EQ_STR(config_protocol_name(CONFIG_PROTOCOL_HTTP), "http");
	TEST_EQ_STR(config_protocol_name((enum config_protocol)99), "unknown");
}

static void
test_load(void)
{
	char *dir = test_tmpdir(), *path, *error = NULL, *want;
	struct config *c;
	static const char text[] = "[server]\nhostname = h\ndata_dir = var\n"
	    "[tls]\ncert = tls/cert.pem\nkey = tls/key.pem\n"
	    "[listen.a]\naddress=::1\nport=1\nprotocol=smtp\ntls=starttls\n";

	path = xasprintf("%s/petrel.conf", dir);
	TEST_EQ_INT(fsutil_write_file(path, text, sizeof(text) - 1, 0640), 0);
	c = config_load(path, &error);
	TEST_EQ_STR(error, NULL);
	if (c != NULL) {
		TEST_EQ_STR(c->path, path);
		want = xasprintf("%s/var", dir);
		TEST_EQ_STR(c->data_dir, want);
		free(want);
		want = xasprintf("%s/tls/key.pem", dir);
		TEST_EQ_STR(c->tls_key, want);
		free(want);
	}
	config_free(&c);

	/* A relative path to the file: still absolute results. */
	char *cwd = getcwd(NULL, 0);
	TEST_ASSERT(cwd != NULL && chdir(dir) == 0);
	c = config_load("./petrel.conf", &error);
	TEST_EQ_STR(error, NULL);
	if (c != NULL) {
		TEST_EQ_STR(c->path, path);
		want = xasprintf("%s/var", dir);
		TEST_EQ_STR(c->data_dir, want);
		free(want);
	}
	config_free(&c);
	/* Errors name the file as it was given. */
	TEST_EQ_INT(fsutil_write_file("bad.conf", "[x]\n", 4, 0640), 0);
	c = config_load("bad.conf", &error);
	TEST_ASSERT(c == NULL);
	TEST_EQ_STR(error, "bad.conf:1: unknown section [x] (expected server, "
	    "tls, listen.NAME, limits or auth)");
	free(error);
	TEST_ASSERT(cwd != NULL && chdir(cwd) == 0);
	free(cwd);

	free(path);
	path = xasprintf("%s/missing.conf", dir);
	c = config_load(path, &error);
	TEST_ASSERT(c == NULL);
	want = xasprintf("cannot read %s: No such file or directory", path);
	TEST_EQ_STR(error, want);
	free(want);
	free(error);
	free(path);
	fsutil_remove_tree(dir);
	free(dir);
}

/* The good file the hostile tests below cut and mutate. */
static const char hostile_text[] = HEAD "[tls]\ncert=/c\nkey=/k\n"
    "[listen.b]\naddress = ::1, 10.1.2.3\nport=9\nprotocol=imap\n"
    "tls=implicit\n[limits]\nmax_message_size=20M\n";

/* Parses a heap copy of exactly len bytes of text (so ASan sees any read
   past them): exactly one of a config and an error, a config complete.
   Returns whether it parsed. */
static bool
parse_cleanly(const char *text, size_t len)
{
	char *copy = xmalloc(len), *error = NULL;
	struct config *c;
	bool good;

	memcpy(copy, text, len);
	c = config_parse("p", copy, len, BASE, &error);
	TEST_ASSERT((c == NULL) != (error == NULL));
	good = c != NULL;
	if (good)
		TEST_ASSERT(c->n_listeners > 0 && c->hostname != NULL);
	config_free(&c);
	free(error);
	free(copy);
	return good;
}

/* Every prefix of a good file parses or fails with an error, cleanly. */
static void
test_prefixes(void)
{
	unsigned good = 0;

	for (size_t n = 0; n <= sizeof(hostile_text) - 1; n++)
		if (parse_cleanly(hostile_text, n))
			good++;
	/* At least the whole file, and the prefixes that end after a
	   complete line that needs nothing more. */
	TEST_ASSERT(good >= 2);
}

/* Random mutations of a good file: no crash, no leak, one outcome. */
static void
test_mutations(void)
{
	static const char alphabet[] = "[]=:;#\n\r\t ,.0\xff\xef\x00";
	uint32_t seed = 12345;

	for (int round = 0; round < 3000; round++) {
		char text[sizeof(hostile_text)];
		size_t len = sizeof(hostile_text) - 1;

		memcpy(text, hostile_text, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			text[pos] = alphabet[(seed >> 8) %
			    (sizeof(alphabet) - 1)];
		}
		(void)parse_cleanly(text, len);
	}
}

static void
expect_error_text(const char *text, const char *want)
{
	expect_error(text, strlen(text), want);
}

/* [submission], [outbound] and the IMAP and login-cache keys: values,
   defaults, and the checks of networks, addresses and resolvers. */
static void
test_mail_sections(void)
{
	struct config *c;
	const char *text = HEAD
	    "[limits]\n"
	    "imap_idle_timeout = 60\n"
	    "imap_max_line = 16K\n"
	    "[auth]\n"
	    "cache_ttl = 0\n"
	    "[submission]\n"
	    "sender_login_match = yes\n"
	    "received_auth = off\n"
	    "relay_networks = 192.0.2.0/24, 2001:db8::/64,127.0.0.1\n"
	    "always_bcc = archive@example.org\n"
	    "[outbound]\n"
	    "retry_min = 5\n"
	    "port = 2526\n"
	    "resolver = 127.0.0.1@5353\n";

	c = expect_config(text, strlen(text));
	if (c != NULL) {
		TEST_EQ_INT(c->limits.imap_idle_timeout, 60);
		TEST_EQ_INT(c->limits.imap_max_line, 16384);
		TEST_EQ_INT(c->limits.imap_max_pipelined, 1000);
		TEST_EQ_INT(c->auth.cache_ttl, 0);
		TEST_ASSERT(c->submission.sender_login_match);
		TEST_ASSERT(!c->submission.received_auth);
		TEST_EQ_STR(c->submission.always_bcc, "archive@example.org");
		TEST_EQ_INT(c->outbound.retry_min, 5);
		TEST_EQ_INT(c->outbound.retry_max, 3600);
		TEST_EQ_INT(c->outbound.max_lifetime, 432000);
		TEST_EQ_INT(c->outbound.port, 2526);
		TEST_EQ_INT(c->outbound.mta_sts_port, 443);
		TEST_EQ_STR(c->outbound.resolver, "127.0.0.1@5353");
		TEST_EQ_STR(c->outbound.tls_ca_file, NULL);
		TEST_ASSERT(config_networks_match(
		    c->submission.relay_networks, "192.0.2.77"));
		TEST_ASSERT(config_networks_match(
		    c->submission.relay_networks, "::ffff:192.0.2.1"));
		TEST_ASSERT(config_networks_match(
		    c->submission.relay_networks, "2001:db8::9"));
		TEST_ASSERT(config_networks_match(
		    c->submission.relay_networks, "127.0.0.1"));
		TEST_ASSERT(!config_networks_match(
		    c->submission.relay_networks, "127.0.0.2"));
		TEST_ASSERT(!config_networks_match(
		    c->submission.relay_networks, "2001:db8:0:1::1"));
		TEST_ASSERT(!config_networks_match(
		    c->submission.relay_networks, "not-an-ip"));
	}
	config_free(&c);
	TEST_ASSERT(!config_networks_match(NULL, "127.0.0.1"));
	TEST_ASSERT(config_networks_match("10.0.0.0/9", "10.127.1.1"));
	TEST_ASSERT(!config_networks_match("10.0.0.0/9", "10.128.1.1"));
	TEST_ASSERT(config_networks_match("0.0.0.0/0", "203.0.113.5"));

	expect_error_text(HEAD "[submission]\nsender_login_match = maybe\n",
	    "petrel.conf:10: [submission] "
	    "sender_login_match: must be yes or no");
	expect_error_text(HEAD "[submission]\nrelay_networks = 10.0.0.0/33\n",
	    "petrel.conf:10: [submission] "
	    "relay_networks: expected IP addresses or CIDRs separated by "
	    "commas (e.g. 192.0.2.10, 2001:db8::/64)");
	expect_error_text(HEAD "[submission]\nalways_bcc = archive\n",
	    "petrel.conf:10: [submission] always_bcc: "
	    "not a mail address (e.g. archive@example.org)");
	expect_error_text(HEAD "[outbound]\nresolver = dns.example@53\n",
	    "petrel.conf:10: [outbound] resolver: "
	    "not a numeric IP address with an optional @port "
	    "(e.g. 127.0.0.1@5353)");
	expect_error_text(HEAD "[outbound]\nport = 70000\n",
	    "petrel.conf:10: [outbound] port: must be between 1 and 65535");
}

int
main(void)
{
	TEST_RUN(test_full);
	TEST_RUN(test_defaults);
	TEST_RUN(test_good);
	TEST_RUN(test_bad);
	TEST_RUN(test_long_line);
	TEST_RUN(test_nul);
	TEST_RUN(test_too_large);
	TEST_RUN(test_too_many_listeners);
	TEST_RUN(test_protocol_names);
	TEST_RUN(test_load);
	TEST_RUN(test_prefixes);
	TEST_RUN(test_mutations);
	TEST_RUN(test_mail_sections);
	return test_done();
}
