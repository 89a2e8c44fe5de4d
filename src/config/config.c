/* config.c — petrel.conf: the parse as a whole (config_parse, config_load),
   errors, defaults and the final checks across sections. Values are
   checked as they are read (config_values.c, config_listen.c, fed by
   config_reader.c through libinih); the first error ends the parse,
   reported as "file:line: [section] key: what was expected". config_parse
   returns a complete, checked config or NULL: nothing half-parsed escapes. */
#include "config/config_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/xmalloc.h"

/* Records the first error only: later ones are usually its echoes. line 0
   means the file as a whole. */
void
config_error(struct config_ctx *ctx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ctx->error != NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		ctx->error = xasprintf("%s:%u: %s", ctx->name, line, msg);
	else
		ctx->error = xasprintf("%s: %s", ctx->name, msg);
	ctx->error_line = line;
	free(msg);
}

void
config_key_error(struct config_ctx *ctx, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	config_error(ctx, ctx->line, "[%s] %s: %s", ctx->section, key, msg);
	free(msg);
}

void

config_limits_defaults(struct config_limits *limits)
{
	/* Large enough for attachments people send, small enough that one
	   client cannot fill the disk in one go (Postfix uses 10 MB, most
	   providers 25-50 MB). */
	limits->max_message_size = 50ULL * 1024 * 1024;
	/* Postfix's smtpd_recipient_limit; well above RFC 5321 §4.5.3.1.8's
	   100, below what would make one transaction a mass mailing. */
	limits->max_recipients = 1000;
	/* RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with
	   CRLF; extensions that need more (AUTH) say so themselves. */
	limits->max_command_line = 512;
	/* RFC 5321 §4.5.3.1.6: 998 octets of text plus CRLF. */
	limits->max_text_line = 1000;
	/* Each connection costs a socket and a few KB while idle: 10000 fits
	   in the default fd limit raised to its hard maximum. */
	limits->max_connections = 10000;
	/* Enough for a NAT full of mail clients, too few for one host to
	   take every slot. */
	limits->max_connections_per_ip = 50;
	/* RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the
	   next command. */
	limits->idle_timeout = 300;
	/* Postfix's smtpd_hard_error_limit: a real client makes few syntax
	   errors; a scanner makes many. */
	limits->max_errors = 20;
	/* NOOP/RSET/VRFY/HELP without a transaction: a client that sends
	   a hundred of them is probing, not mailing. */
	limits->max_commands_before_data = 100;
	/* Dictionary attacks probe addresses: slow down after 10 unknown
	   recipients, hang up after 20, as Postfix's smtpd_soft/hard limits. */
	limits->unknown_rcpt_delay_after = 10;
	limits->unknown_rcpt_close_after = 20;
	limits->unknown_rcpt_delay_ms = 1000;
	/* Long enough for a transaction in progress to finish, short enough
	   for systemd's default stop timeout (90 s). */
	limits->shutdown_timeout = 30;
	/* RFC 1939 §3: an autologout timer of at least 10 minutes. */
	limits->pop3_idle_timeout = 600;
	/* RFC 9051 §5.4: an autologout timer of at least 30 minutes (IDLE
	   clients re-issue it every 29). */
	limits->imap_idle_timeout = 1800;
	/* Dovecot's imap_max_line_length: room for the long UID sets
	   clients send after a resync (RFC 7162 §4 asks for 8 KiB). */
	limits->imap_max_line = 64 * 1024;
	/* Commands read ahead of the one running; beyond that input waits,
	   so a flood of pipelined commands holds bounded memory. */
	limits->imap_max_pipelined = 1000;
}

void
config_auth_defaults(struct config_auth *auth)
{
	/* A password sent in clear over the loopback crosses no wire; from
	   anywhere else it needs TLS first (RFC 2595 §2.4, Dovecot's
	   disable_plaintext_auth). */
	auth->plaintext = CONFIG_PLAINTEXT_LOOPBACK;
	/* Dovecot's auth_failure_delay: a guesser gets one try per two
	   seconds per connection; a user who mistyped barely notices. */
	auth->failure_delay = 2000;
	/* Per IP: a NAT of many users mistyping now and then stays below;
	   a guesser reaches it within a minute. Per account: a distributed
	   guesser spreading over many IPs is held back too. */
	auth->max_failures_per_ip = 20;
	auth->max_failures_per_account = 10;
	/* Five minutes: long enough to make guessing slow (at most 20 tries
	   per IP per window), short enough that a locked-out user waits
	   briefly. */
	auth->failure_window = 300;
	/* Five minutes of reconnects without a new Argon2id check each;
	   a password change is seen at once (the cache keys on the stored
	   hash too). */
	auth->cache_ttl = 300;
}

void
config_outbound_defaults(struct config_outbound *outbound)
{
	/* NethServer's and Postfix's maximal_queue_lifetime: 5 days. */
	outbound->max_lifetime = 120 * 3600;
	/* Postfix: minimal_backoff_time 300 s, maximal 4000 s; an hour
	   between tries keeps a down receiver from being hammered. */
	outbound->retry_min = 300;
	outbound->retry_max = 3600;
	/* Postfix's delay_warning_time is off by default too. */
	outbound->delay_warning = 0;
	/* Postfix's default_process_limit for smtp is 100; 20 is plenty
	   for one small server and polite to receivers. */
	outbound->max_connections = 20;
	/* Postfix smtp_connect_timeout 30 s; RFC 5321 §4.5.3.2 asks for
	   5 minutes per command (10 after the final dot). */
	outbound->connect_timeout = 30;
	outbound->command_timeout = 300;
	outbound->port = 25;
	outbound->mta_sts_port = 443;
}

const char *
config_plaintext_name(enum config_plaintext plaintext)
{
	if ((size_t)plaintext >= CONFIG_NKEYS(config_plaintext_names))
		return "unknown";
	return config_plaintext_names[plaintext];
}

const char *
config_protocol_name(enum config_protocol protocol)
{
	if ((size_t)protocol >= config_protocol_nnames)
		return "unknown";
	return config_protocol_names[protocol];
}

/* --- the whole file -------------------------------------------------------- */

static bool
config_addr_is_any(const struct config_addr *a)
{
	static const unsigned char zero[16];

	return memcmp(a->bytes, zero, a->family == AF_INET ? 4 : 16) == 0;
}

/* Would the two sockets take each other's connections? With SO_REUSEPORT
   both would bind without complaint and the kernel would spread clients
   over two protocols, so the same port on the same address is an error, and
   so is a wildcard over a specific address: which socket a client reaches
   would depend on the address it dialled. IPv6 sockets are IPV6_V6ONLY, so
   "0.0.0.0, ::" is the usual dual-stack pair, not an overlap. */
static bool
config_addrs_overlap(const struct config_addr *a, const struct config_addr *b)
{
	if (a->family != b->family)
		return false;
	return config_addr_equal(a, b) || config_addr_is_any(a) ||
	    config_addr_is_any(b);
}

static void
config_check_ports(struct config_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_drafts; i++) {
		struct config_draft *a = &ctx->drafts[i];

		for (size_t j = 0; j <= i; j++) {
			struct config_draft *b = &ctx->drafts[j];

			if (a->port != b->port)
				continue;
			for (size_t x = 0; x < a->n_addrs; x++) {
				/* Within one listener, only earlier ones. */
				size_t ny = i == j ? x : b->n_addrs;

				for (size_t y = 0; y < ny; y++) {
					if (!config_addrs_overlap(&a->addrs[x],
					    &b->addrs[y]))
						continue;
					config_error(ctx,
					    a->seen[CONFIG_LISTEN_ADDRESS],
					    "[listen.%s] address: %s port %u "
					    "overlaps %s port %u of "
					    "[listen.%s]", a->name,
					    a->addrs[x].text, a->port,
					    b->addrs[y].text, b->port, b->name);
					return;
				}
			}
		}
	}
}

/* The later of the lines that set two [limits] keys, for an error about
   how they relate. */
static unsigned
config_limits_line(const struct config_ctx *ctx, const char *a, const char *b)
{
	unsigned line = 0;

	for (size_t i = 0; i < config_limits_nkeys; i++) {
		unsigned seen = ctx->seen[CONFIG_SECTION_LIMITS][i];

		if ((strcmp(config_limits_keys[i].name, a) == 0 ||
		    strcmp(config_limits_keys[i].name, b) == 0) && seen > line)
			line = seen;
	}
	return line;
}

static void
config_finish(struct config_ctx *ctx)
{
	struct config *c = ctx->config;
	const struct config_draft *tls_user = NULL;
	size_t n = 0;
	long cpus;

	if (c->hostname == NULL)
		config_error(ctx, 0, "[server] hostname is required");
	if (c->data_dir == NULL)
		config_error(ctx, 0, "[server] data_dir is required");
	if (ctx->n_drafts == 0)
		config_error(ctx, 0, "no listener: add a [listen.NAME] section "
		    "with address, port and protocol");
	for (size_t i = 0; i < ctx->n_drafts; i++) {
		struct config_draft *d = &ctx->drafts[i];

		for (unsigned k = 0; k < CONFIG_LISTEN_TLS; k++)
			if (d->seen[k] == 0)
				config_error(ctx, d->line,
				    "[listen.%s] %s is required", d->name,
				    config_listen_key_names[k]);
		/* HTTP has no STARTTLS (RFC 2817 upgrade is not used). */
		if (d->protocol == CONFIG_PROTOCOL_HTTP &&
		    d->tls == CONFIG_TLS_STARTTLS)
			config_error(ctx, d->seen[CONFIG_LISTEN_TLS],
			    "[listen.%s] tls: http has no starttls "
			    "(use implicit)", d->name);
		if (d->tls != CONFIG_TLS_NONE && tls_user == NULL)
			tls_user = d;
		n += d->n_addrs;
	}
	if (c->tls_cert != NULL && c->tls_key == NULL)
		config_error(ctx, 0, "[tls] key is required with cert");
	if (c->tls_key != NULL && c->tls_cert == NULL)
		config_error(ctx, 0, "[tls] cert is required with key");
	if (tls_user != NULL && c->tls_cert == NULL && c->tls_key == NULL)
		config_error(ctx, tls_user->seen[CONFIG_LISTEN_TLS],
		    "[listen.%s] tls = %s needs [tls] cert and key",
		    tls_user->name, config_tls_names[tls_user->tls]);
	if (c->limits.max_connections_per_ip > c->limits.max_connections)
		config_error(ctx, config_limits_line(ctx, "max_connections",
		    "max_connections_per_ip"),
		    "[limits] max_connections_per_ip: must not exceed "
		    "max_connections (%u)", c->limits.max_connections);
	if (ctx->error != NULL)
		return;
	config_check_ports(ctx);
	if (ctx->error != NULL)
		return;

	if (c->io_threads == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		c->io_threads = cpus < 1 ? 1 : cpus > CONFIG_MAX_THREADS ?
		    CONFIG_MAX_THREADS : (unsigned)cpus;
	}
	c->listeners = xcalloc(n, sizeof(*c->listeners));
	for (size_t i = 0; i < ctx->n_drafts; i++) {
		struct config_draft *d = &ctx->drafts[i];

		for (size_t a = 0; a < d->n_addrs; a++) {
			struct config_listener *l =
			    &c->listeners[c->n_listeners++];

			l->name = xstrdup(d->name);
			l->address = xstrdup(d->addrs[a].text);
			l->port = d->port;
			l->protocol = d->protocol;
			l->tls = d->tls;
		}
	}
}

struct config *
config_parse(const char *name, const char *text, size_t len,
    const char *base_dir, char **error_r)
{
	struct config_ctx ctx;
	struct config *config = NULL;
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.text = text;
	ctx.len = len;
	ctx.base_dir = base_dir;
	ctx.config = xcalloc(1, sizeof(*ctx.config));
	ctx.config->path = xstrdup(name);
	ctx.config->workers = 4;
	ctx.config->log_level = LOG_LEVEL_INFO;
	config_limits_defaults(&ctx.config->limits);
	config_auth_defaults(&ctx.config->auth);
	config_outbound_defaults(&ctx.config->outbound);

	if (len > CONFIG_MAX_FILE) {
		config_error(&ctx, 0, "file too large (at most %d bytes)",
		    CONFIG_MAX_FILE);
		goto out;
	}
	ret = ini_parse_stream(config_reader, &ctx, config_handler, &ctx);
	/* inih goes on after a line it cannot parse and returns the first
	   one; the reader stops at our first error. Report the earlier. */
	if (ret > 0 && (ctx.error == NULL || (unsigned)ret < ctx.error_line)) {
		free(ctx.error);
		ctx.error = NULL;
		config_error(&ctx, (unsigned)ret,
		    "expected key = value, [section] or a comment");
	} else if (ret < 0 && ctx.error == NULL) {
		config_error(&ctx, 0, "cannot parse (inih error %d)", ret);
	}
	if (ctx.error == NULL)
		config_finish(&ctx);
out:
	for (size_t i = 0; i < ctx.n_drafts; i++)
		config_draft_clear(&ctx.drafts[i]);
	free(ctx.drafts);
	if (ctx.error != NULL) {
		config_free(&ctx.config);
		*error_r = ctx.error;
		return NULL;
	}
	config = ctx.config;
	return config;
}

struct config *
config_load(const char *path, char **error_r)
{
	struct config *config = NULL;
	char *text = NULL, *abs = NULL, *dir = NULL, *slash;
	size_t len;

	if (fsutil_read_file(path, CONFIG_MAX_FILE, &text, &len) == -1) {
		*error_r = xasprintf("cannot read %s: %s", path,
		    errno == EFBIG ? "file too large" : strerror(errno));
		return NULL;
	}
	if ((abs = config_absolute(NULL, path)) == NULL) {
		*error_r = xasprintf("cannot make %s absolute: %s", path,
		    strerror(errno));
		goto out;
	}
	dir = xstrdup(abs);
	slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';	/* "/x" -> "/" */
	config = config_parse(path, text, len, dir, error_r);
	if (config != NULL) {
		free(config->path);
		config->path = abs;
		abs = NULL;
	}
out:
	free(text);
	free(abs);
	free(dir);
	return config;
}

void
config_free(struct config **configp)
{
	struct config *c = *configp;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_listeners; i++) {
		free(c->listeners[i].name);
		free(c->listeners[i].address);
	}
	free(c->listeners);
	free(c->path);
	free(c->hostname);
	free(c->data_dir);
	free(c->user);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->submission.relay_networks);
	free(c->submission.always_bcc);
	free(c->outbound.resolver);
	free(c->outbound.trust_anchor);
	free(c->outbound.tls_ca_file);
	free(c);
	*configp = NULL;
}
