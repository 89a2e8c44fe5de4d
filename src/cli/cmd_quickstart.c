/* cmd_quickstart.c — `petrel quickstart HOSTNAME [--domain D] [--data DIR]
   [--force]`: a working server in one step. Creates DIR with a self-signed
   certificate, the directory database with DOMAIN and an admin mailbox, the
   queue, and last DIR/petrel.conf (development ports on 127.0.0.1). The
   config is written last so that its presence means the setup completed: a
   run that failed half-way may simply be repeated. The config text is
   parsed with config_parse before anything is created, so quickstart never
   writes a file petrel cannot load. Prints where things are, the admin
   credentials (once) and the DNS records to publish. */
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.h"
#include "cli/cli_dns.h"
#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"

/* About 115 bits from password_generate's 55-character alphabet. */
#define CMD_QUICKSTART_PASSWORD_LEN 20

static const char cmd_quickstart_usage_text[] =
    "usage: petrel quickstart HOSTNAME [--domain DOMAIN] [--data DIR] "
    "[--force]";

/* The development ports (high, so no root is needed), loopback only.
   Listeners whose protocol this version does not serve yet are written
   commented out, for the version that does to enable. */
static const struct {
	const char *name, *protocol, *tls, *what;
	unsigned port, production_port;
	bool served;
} cmd_quickstart_listeners[] = {
	{ "smtp", "smtp", "starttls", "SMTP from other servers", 2525, 25,
	    true },
	{ "submission", "submission", "starttls",
	    "Mail clients sending, STARTTLS", 2587, 587, true },
	{ "submissions", "submission", "implicit",
	    "Mail clients sending, TLS", 2465, 465, true },
	{ "pop3", "pop3", "starttls", "POP3, STARTTLS", 2110, 110, true },
	{ "pop3s", "pop3", "implicit", "POP3, TLS", 2995, 995, true },
	{ "imap", "imap", "starttls", "IMAP, STARTTLS", 2143, 143, true },
	{ "imaps", "imap", "implicit", "IMAP, TLS", 2993, 993, true },
	{ "sieve", "sieve", "starttls", "ManageSieve", 4190, 4190, false },
	{ "https", "http", "implicit", "Web admin and API", 8443, 443, false },
};

#define CMD_QUICKSTART_N_LISTENERS \
	(sizeof(cmd_quickstart_listeners) / sizeof(cmd_quickstart_listeners[0]))

struct cmd_quickstart {
	char *hostname;			/* lower-case */
	char *domain;			/* lower-case */
	const char *data_arg;		/* --data as given */
	bool force;
	char *data_dir;			/* absolute, resolved */
	char *conf_path, *tls_dir, *cert_path, *key_path;
	char *admin;			/* admin@domain */
	char *password;			/* plain; wiped */
	char *conf_text;
};

/* RFC 1123 §2.1 host name, as config.c accepts it; lower-cases s. */
static bool
cmd_quickstart_hostname(char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			s[i] = c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return false;
		if ((label == 0 && c == '-') || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* mail.example.org -> example.org; example.org and localhost stay. */
static char *
cmd_quickstart_default_domain(const char *hostname)
{
	const char *dot = strchr(hostname, '.');

	if (dot != NULL && strchr(dot + 1, '.') != NULL)
		return xstrdup(dot + 1);
	return xstrdup(hostname);
}

static void
cmd_quickstart_limits(struct buf *b)
{
	struct config_limits d;
	char *size = NULL;

	config_limits_defaults(&d);
	size = config_size_text(d.max_message_size);
	buf_printf(b,
	    "[limits]\n"
	    "# The defaults, commented out: uncomment a line to change it.\n"
	    "# Largest message accepted, announced as SIZE (RFC 1870).\n"
	    "# max_message_size = %s\n"
	    "# Recipients per message (RFC 5321 4.5.3.1.8: at least 100).\n"
	    "# max_recipients = %u\n"
	    "# Longest SMTP command line with CRLF (RFC 5321: at least 512).\n"
	    "# max_command_line = %zu\n"
	    "# Longest line of message text with CRLF (RFC 5321: at least "
	    "1000).\n"
	    "# max_text_line = %zu\n"
	    "# Connections to the whole server, and from one IP address.\n"
	    "# max_connections = %u\n"
	    "# max_connections_per_ip = %u\n"
	    "# Seconds a client may stay silent (RFC 5321 4.5.3.2.7: 300).\n"
	    "# idle_timeout = %u\n"
	    "# Syntax errors before the connection is closed.\n"
	    "# max_errors = %u\n"
	    "# NOOP, RSET, VRFY, HELP outside a transaction, per session.\n"
	    "# max_commands_before_data = %u\n"
	    "# Unknown recipients before each answer is delayed, the delay,\n"
	    "# and how many before the connection is closed.\n"
	    "# unknown_rcpt_delay_after = %u\n"
	    "# unknown_rcpt_delay_ms = %u\n"
	    "# unknown_rcpt_close_after = %u\n"
	    "# Seconds a shutdown waits for transactions in progress.\n"
	    "# shutdown_timeout = %u\n"
	    "# Seconds a POP3 client may stay silent (RFC 1939: at least 600).\n"
	    "# pop3_idle_timeout = %u\n",
	    size, d.max_recipients, d.max_command_line, d.max_text_line,
	    d.max_connections, d.max_connections_per_ip, d.idle_timeout,
	    d.max_errors, d.max_commands_before_data,
	    d.unknown_rcpt_delay_after, d.unknown_rcpt_delay_ms,
	    d.unknown_rcpt_close_after, d.shutdown_timeout,
	    d.pop3_idle_timeout);
	free(size);
}

static void
cmd_quickstart_auth(struct buf *b)
{
	struct config_auth d;

	config_auth_defaults(&d);
	buf_printf(b,
	    "\n[auth]\n"
	    "# Logins with a password in clear text (POP3 USER/PASS, AUTH\n"
	    "# PLAIN) without TLS: never, loopback (only from this machine)\n"
	    "# or always.\n"
	    "# plaintext = %s\n"
	    "# Milliseconds before a failed login is answered.\n"
	    "# failure_delay = %u\n"
	    "# Failed logins within failure_window seconds after which an IP\n"
	    "# address (IPv6: its /64) or an account is refused for a while.\n"
	    "# max_failures_per_ip = %u\n"
	    "# max_failures_per_account = %u\n"
	    "# failure_window = %u\n",
	    config_plaintext_name(d.plaintext), d.failure_delay,
	    d.max_failures_per_ip, d.max_failures_per_account,
	    d.failure_window);
}

static char *
cmd_quickstart_conf_text(const struct cmd_quickstart *q)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b,
	    "# petrel.conf, written by `petrel quickstart %s`.\n"
	    "#\n"
	    "# What a restart may change lives here. Domains, mailboxes and\n"
	    "# aliases live in the directory database and change at once:\n"
	    "# see `petrel help`. Comments start a line with # or ;.\n"
	    "\n"
	    "[server]\n"
	    "hostname = %s\n"
	    "data_dir = %s\n"
	    "# Started as root: drop to this user once the ports are bound.\n"
	    "# user = petrel\n"
	    "# Threads serving connections; 0: one per CPU core.\n"
	    "io_threads = 0\n"
	    "# Threads for blocking work: password hashing, disk syncs.\n"
	    "workers = 4\n"
	    "# debug, info, warn or error.\n"
	    "log_level = info\n"
	    "\n"
	    "[tls]\n"
	    "# Self-signed for %s: replace with a certificate clients trust.\n"
	    "cert = %s\n"
	    "key = %s\n"
	    "\n"
	    "# Development ports on the loopback address only. In production\n"
	    "# use the standard ports noted above each listener, and\n"
	    "# address = 0.0.0.0, :: to listen on every address.\n",
	    q->hostname, q->hostname, q->data_dir, q->hostname, q->cert_path,
	    q->key_path);
	for (size_t i = 0; i < CMD_QUICKSTART_N_LISTENERS; i++) {
		const char *c = cmd_quickstart_listeners[i].served ? "" : "# ";

		if (i > 0 && !cmd_quickstart_listeners[i].served &&
		    cmd_quickstart_listeners[i - 1].served)
			buf_printf(&b, "\n# Not served by this version yet; the "
			    "versions that serve them enable these.\n");
		buf_printf(&b, "\n# %s (production: port %u).\n"
		    "%s[listen.%s]\n%saddress = 127.0.0.1\n%sport = %u\n"
		    "%sprotocol = %s\n%stls = %s\n",
		    cmd_quickstart_listeners[i].what,
		    cmd_quickstart_listeners[i].production_port,
		    c, cmd_quickstart_listeners[i].name,
		    c, c, cmd_quickstart_listeners[i].port,
		    c, cmd_quickstart_listeners[i].protocol,
		    c, cmd_quickstart_listeners[i].tls);
	}
	buf_printf(&b, "\n");
	cmd_quickstart_limits(&b);
	cmd_quickstart_auth(&b);
	return buf_steal(&b);
}

/* Checks that the config text loads as it will from the file, with the
   data directory unchanged (a path with " ;" or a very long one would not
   survive the INI syntax). */
static int
cmd_quickstart_check_conf(const struct cmd_quickstart *q)
{
	struct config *config;
	char *error = NULL;
	int ret = -1;

	config = config_parse(q->conf_path, q->conf_text,
	    strlen(q->conf_text), q->data_dir, &error);
	if (config == NULL) {
		cli_error("cannot use %s as the data directory: %s",
		    q->data_dir, error);
		goto out;
	}
	if (strcmp(config->data_dir, q->data_dir) != 0) {
		cli_error("cannot use %s as the data directory: petrel.conf "
		    "would read it as %s", q->data_dir, config->data_dir);
		goto out;
	}
	ret = 0;
out:
	free(error);
	config_free(&config);
	return ret;
}

/* The domain, the admin mailbox with a new password, and postmaster@* to
   admin: RFC 5321 §4.5.1 requires postmaster for every domain we serve and
   DMARC reports go there; as a wildcard it also covers the domains added
   later, unless one gets its own postmaster. Things
   a previous run left are taken as they are, but the admin password is
   always new: it is printed only once. */
static int
cmd_quickstart_directory(struct cmd_quickstart *q)
{
	struct directory *dir = NULL;
	struct directory_error err = { 0 };
	char *error = NULL, *hash = NULL, *postmaster = NULL;
	const char *dest[1];
	int ret = -1;

	if (directory_open(q->data_dir, true, &dir, &error) == -1) {
		cli_error("%s", error);
		free(error);
		return -1;
	}
	if (directory_admin_domain_add(dir, q->domain, &err) == -1) {
		if (err.code != DIRECTORY_ERROR_EXISTS) {
			cli_directory_error(&err, q->domain);
			goto out;
		}
		directory_error_clear(&err);
	}
	q->password = password_generate(CMD_QUICKSTART_PASSWORD_LEN);
	if ((hash = password_hash(q->password, PASSWORD_SCHEME_DEFAULT,
	    &error)) == NULL) {
		cli_error("cannot hash the admin password: %s", error);
		free(error);
		goto out;
	}
	if (directory_admin_account_add(dir, q->admin, "Administrator", hash,
	    0, NULL, &err) == -1) {
		if (err.code != DIRECTORY_ERROR_EXISTS) {
			cli_directory_error(&err, q->admin);
			goto out;
		}
		directory_error_clear(&err);
		if (directory_admin_account_set_password(dir, q->admin, hash,
		    &err) == -1) {
			cli_directory_error(&err, q->admin);
			goto out;
		}
	}
	postmaster = xstrdup("postmaster@*");
	dest[0] = q->admin;
	if (directory_admin_alias_add(dir, postmaster, dest, 1,
	    DIRECTORY_ALIAS_KEEP, &err) == -1) {
		if (err.code != DIRECTORY_ERROR_EXISTS) {
			cli_directory_error(&err, postmaster);
			goto out;
		}
		directory_error_clear(&err);
	}
	ret = 0;
out:
	if (hash != NULL)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	free(postmaster);
	directory_close(&dir);
	return ret;
}

static int
cmd_quickstart_print_text(const struct cmd_quickstart *q)
{
	printf("petrel is set up in %s\n"
	    "  config:      %s\n"
	    "  certificate: %s (self-signed for %s)\n"
	    "\n"
	    "Admin mailbox:\n"
	    "  login %s password %s \xe2\x80\x94 shown once\n"
	    "\n"
	    "Start the server:\n"
	    "  petrel -c %s serve\n"
	    "Listening on 127.0.0.1, development ports:\n",
	    q->data_dir, q->conf_path, q->cert_path, q->hostname,
	    q->admin, q->password, q->conf_path);
	for (size_t i = 0; i < CMD_QUICKSTART_N_LISTENERS; i++)
		if (cmd_quickstart_listeners[i].served)
			printf("  %-12s %u  %s (production: %u)\n",
			    cmd_quickstart_listeners[i].name,
			    cmd_quickstart_listeners[i].port,
			    cmd_quickstart_listeners[i].what,
			    cmd_quickstart_listeners[i].production_port);
	printf("\n"
	    "DNS records to publish for %s (zone-file form, with the standard\n"
	    "ports, not the development ones above), besides A/AAAA records\n"
	    "for %s and matching PTR records:\n", q->domain, q->hostname);
	return cli_dns_print(stdout, "  ", q->domain, q->hostname);
}

static int
cmd_quickstart_print_json(const struct cmd_quickstart *q)
{
	json_t *o, *listeners;
	char *s;
	int ret;

	listeners = json_array();
	for (size_t i = 0; listeners != NULL && i < CMD_QUICKSTART_N_LISTENERS;
	    i++) {
		if (!cmd_quickstart_listeners[i].served)
			continue;
		json_array_append_new(listeners, json_pack(
		    "{s:s, s:s, s:i, s:s, s:s, s:i}",
		    "name", cmd_quickstart_listeners[i].name,
		    "address", "127.0.0.1",
		    "port", (int)cmd_quickstart_listeners[i].port,
		    "protocol", cmd_quickstart_listeners[i].protocol,
		    "tls", cmd_quickstart_listeners[i].tls,
		    "production_port",
		    (int)cmd_quickstart_listeners[i].production_port));
	}
	/* json_pack refuses strings that are not UTF-8: a data directory
	   whose path has such bytes ends in the error below. */
	o = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:b}, "
	    "s:{s:s, s:s}, s:o, s:o}",
	    "config", q->conf_path,
	    "data_dir", q->data_dir,
	    "hostname", q->hostname,
	    "domain", q->domain,
	    "tls", "cert", q->cert_path, "key", q->key_path,
	    "self_signed", 1,
	    "admin", "login", q->admin, "password", q->password,
	    "listeners", listeners,
	    "dns", cli_dns_json(q->domain, q->hostname));
	if (o == NULL)
		return cli_error("cannot encode the result as JSON (a path "
		    "that is not UTF-8?)");
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (s == NULL)
		panic("cmd_quickstart_print_json: json_dumps");
	ret = printf("%s\n", s) < 0 ? -1 : 0;
	explicit_bzero(s, strlen(s));
	free(s);
	return ret;
}

static int
cmd_quickstart_args(struct cmd_quickstart *q, int argc, char **argv)
{
	const char *hostname = NULL, *domain = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--force") == 0) {
			q->force = true;
		} else if (strcmp(a, "--domain") == 0 && i + 1 < argc) {
			domain = argv[++i];
		} else if (strcmp(a, "--data") == 0 && i + 1 < argc) {
			q->data_arg = argv[++i];
		} else if (strcmp(a, "--domain") == 0 ||
		    strcmp(a, "--data") == 0) {
			return cli_usage("quickstart: %s needs a value; %s", a,
			    cmd_quickstart_usage_text);
		} else if (strncmp(a, "--domain=", 9) == 0) {
			domain = a + 9;
		} else if (strncmp(a, "--data=", 7) == 0) {
			q->data_arg = a + 7;
		} else if (a[0] == '-' && a[1] != '\0') {
			return cli_usage("quickstart: unknown option %s; %s", a,
			    cmd_quickstart_usage_text);
		} else if (hostname == NULL) {
			hostname = a;
		} else {
			return cli_usage("quickstart: one HOSTNAME only; %s",
			    cmd_quickstart_usage_text);
		}
	}
	if (hostname == NULL)
		return cli_usage("%s", cmd_quickstart_usage_text);
	q->hostname = xstrdup(hostname);
	if (!cmd_quickstart_hostname(q->hostname))
		return cli_usage("quickstart: %s is not a valid host name "
		    "(e.g. mail.example.org)", hostname);
	q->domain = domain != NULL ? xstrdup(domain) :
	    cmd_quickstart_default_domain(q->hostname);
	if (!cmd_quickstart_hostname(q->domain))
		return cli_usage("quickstart: %s is not a valid domain",
		    q->domain);
	if (q->data_arg == NULL)
		q->data_arg = "./var";
	if (q->data_arg[0] == '\0')
		return cli_usage("quickstart: --data needs a directory");
	return 0;
}

static void
cmd_quickstart_clear(struct cmd_quickstart *q)
{
	if (q->password != NULL)
		explicit_bzero(q->password, strlen(q->password));
	free(q->password);
	free(q->hostname);
	free(q->domain);
	free(q->data_dir);
	free(q->conf_path);
	free(q->tls_dir);
	free(q->cert_path);
	free(q->key_path);
	free(q->admin);
	free(q->conf_text);
}

int
cli_cmd_quickstart(struct cli *cli, int argc, char **argv)
{
	struct cmd_quickstart q = { 0 };
	struct queue *queue = NULL;
	char *path = NULL, *error = NULL;
	struct stat st;
	bool existed;
	int rc = 1;

	if ((rc = cmd_quickstart_args(&q, argc, argv)) != 0)
		goto out;
	rc = 1;

	/* Refused before anything is created. */
	path = xasprintf("%s/petrel.conf", q.data_arg);
	if (access(path, F_OK) == 0 && !q.force) {
		cli_error("%s already exists (--force writes a new one, with a "
		    "new certificate and admin password)", path);
		goto out;
	}
	existed = stat(q.data_arg, &st) == 0;
	if (fsutil_mkdir_p(q.data_arg, 0750) == -1) {
		cli_error("cannot create %s: %s", q.data_arg, strerror(errno));
		goto out;
	}
	/* 0750 whatever the umask; a directory given that exists keeps the
	   mode its owner chose. */
	if (!existed && chmod(q.data_arg, 0750) == -1) {
		cli_error("cannot chmod %s: %s", q.data_arg, strerror(errno));
		goto out;
	}
	if ((q.data_dir = realpath(q.data_arg, NULL)) == NULL) {
		cli_error("%s: %s", q.data_arg, strerror(errno));
		goto out;
	}
	q.conf_path = xasprintf("%s/petrel.conf", q.data_dir);
	q.tls_dir = xasprintf("%s/tls", q.data_dir);
	q.cert_path = xasprintf("%s/cert.pem", q.tls_dir);
	q.key_path = xasprintf("%s/key.pem", q.tls_dir);
	q.admin = xasprintf("admin@%s", q.domain);
	q.conf_text = cmd_quickstart_conf_text(&q);
	if (cmd_quickstart_check_conf(&q) == -1)
		goto out;

	if (fsutil_mkdir_p(q.tls_dir, 0750) == -1) {
		cli_error("cannot create %s: %s", q.tls_dir, strerror(errno));
		goto out;
	}
	if (tls_generate_self_signed(q.hostname, q.cert_path, q.key_path,
	    &error) == -1) {
		cli_error("%s", error);
		goto out;
	}
	if (cmd_quickstart_directory(&q) == -1)
		goto out;
	if (queue_open(q.data_dir, &queue, &error) == -1) {
		cli_error("%s", error);
		goto out;
	}
	queue_close(&queue);
	if (fsutil_write_file(q.conf_path, q.conf_text, strlen(q.conf_text),
	    0640) == -1) {
		cli_error("cannot write %s: %s", q.conf_path, strerror(errno));
		goto out;
	}

	if ((cli->json ? cmd_quickstart_print_json(&q) :
	    cmd_quickstart_print_text(&q)) == -1) {
		cli_error("cannot write output: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(error);
	free(path);
	cmd_quickstart_clear(&q);
	return rc;
}
