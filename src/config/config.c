/* config.c — petrel.conf through libinih's ini_parse_stream, fed by our own
   line reader. Debian's libinih reads into a 200-byte stack buffer and would
   cut a longer line in two, parsing the tail as a line of its own: the
   reader refuses such lines, and NUL and control bytes; it drops a BOM,
   strips leading blanks (inih would take an indented line for the
   continuation of the value above) and checks section headers itself, so
   inih only sees lines it reads the way this file documents. Values are
   checked in the handler; the first error ends the parse, reported as
   "file:line: [section] key: what was expected". config_parse returns a
   complete, checked config or NULL: nothing half-parsed escapes. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* A petrel.conf is a few kilobytes; anything this large is not one. */
#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_LISTEN_SECTIONS 64
#define CONFIG_MAX_ADDRESSES 16		/* per [listen.NAME] */
#define CONFIG_MAX_LISTENER_NAME 32
#define CONFIG_MAX_THREADS 256
#define CONFIG_MAX_KEYS 16		/* per section table, for seen[] */
#define CONFIG_SECTION_MAX 48		/* "listen." + the longest name + NUL */

enum config_section_kind {
	CONFIG_SECTION_NONE,		/* keys before any header */
	CONFIG_SECTION_SERVER,
	CONFIG_SECTION_TLS,
	CONFIG_SECTION_LIMITS,
	CONFIG_SECTION_LISTEN,
};

enum config_type {
	CONFIG_TYPE_HOSTNAME,
	CONFIG_TYPE_PATH,		/* made absolute against base_dir */
	CONFIG_TYPE_USER,
	CONFIG_TYPE_LOG_LEVEL,
	CONFIG_TYPE_NUMBER,		/* decimal in [min, max] */
	CONFIG_TYPE_SIZE,		/* bytes, K/M/G suffix, in [min, max] */
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;			/* in struct config or config_limits */
	size_t width;			/* sizeof the field */
	uint64_t min, max;
};

#define CONFIG_FIELD(s, f) offsetof(struct s, f), sizeof(((struct s *)0)->f)
#define CONFIG_NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const struct config_key config_server_keys[] = {
	{ "hostname", CONFIG_TYPE_HOSTNAME, CONFIG_FIELD(config, hostname), 0, 0 },
	{ "data_dir", CONFIG_TYPE_PATH, CONFIG_FIELD(config, data_dir), 0, 0 },
	{ "user", CONFIG_TYPE_USER, CONFIG_FIELD(config, user), 0, 0 },
	/* 0 resolves to the number of online CPUs (DESIGN.md §2). */
	{ "io_threads", CONFIG_TYPE_NUMBER, CONFIG_FIELD(config, io_threads),
	    0, CONFIG_MAX_THREADS },
	{ "workers", CONFIG_TYPE_NUMBER, CONFIG_FIELD(config, workers),
	    1, CONFIG_MAX_THREADS },
	{ "log_level", CONFIG_TYPE_LOG_LEVEL, CONFIG_FIELD(config, log_level),
	    0, 0 },
};

static const struct config_key config_tls_keys[] = {
	{ "cert", CONFIG_TYPE_PATH, CONFIG_FIELD(config, tls_cert), 0, 0 },
	{ "key", CONFIG_TYPE_PATH, CONFIG_FIELD(config, tls_key), 0, 0 },
};

/* The minimums keep a server standards-conforming or at least usable; the
   maximums keep every later size computation far from overflow. */
static const struct config_key config_limits_keys[] = {
	/* Room for a header block; past 2 GiB it is not mail any more. */
	{ "max_message_size", CONFIG_TYPE_SIZE,
	    CONFIG_FIELD(config_limits, max_message_size),
	    1024, 2ULL * 1024 * 1024 * 1024 },
	/* RFC 5321 §4.5.3.1.8: at least 100 recipients MUST be accepted. */
	{ "max_recipients", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, max_recipients), 100, 100000 },
	/* RFC 5321 §4.5.3.1.4: 512 octets is the floor. */
	{ "max_command_line", CONFIG_TYPE_SIZE,
	    CONFIG_FIELD(config_limits, max_command_line), 512, 64 * 1024 },
	/* RFC 5321 §4.5.3.1.6: 1000 octets with CRLF is the floor. */
	{ "max_text_line", CONFIG_TYPE_SIZE,
	    CONFIG_FIELD(config_limits, max_text_line), 1000, 1024 * 1024 },
	{ "max_connections", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, max_connections), 1, 1000000 },
	{ "max_connections_per_ip", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, max_connections_per_ip), 1, 1000000 },
	{ "idle_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, idle_timeout), 1, 86400 },
	{ "max_errors", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, max_errors), 1, 10000 },
	{ "max_commands_before_data", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, max_commands_before_data), 1, 1000000 },
	{ "unknown_rcpt_delay_after", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, unknown_rcpt_delay_after), 0, 100000 },
	{ "unknown_rcpt_close_after", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, unknown_rcpt_close_after), 1, 100000 },
	/* Past a minute the client times out before the reply. */
	{ "unknown_rcpt_delay_ms", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, unknown_rcpt_delay_ms), 0, 60000 },
	{ "shutdown_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, shutdown_timeout), 0, 86400 },
};

_Static_assert(CONFIG_NKEYS(config_server_keys) <= CONFIG_MAX_KEYS, "seen[]");
_Static_assert(CONFIG_NKEYS(config_limits_keys) <= CONFIG_MAX_KEYS, "seen[]");

enum config_listen_key {
	CONFIG_LISTEN_ADDRESS,
	CONFIG_LISTEN_PORT,
	CONFIG_LISTEN_PROTOCOL,
	CONFIG_LISTEN_TLS,
	CONFIG_LISTEN_NKEYS,
};

static const char *const config_listen_key_names[CONFIG_LISTEN_NKEYS] = {
	"address", "port", "protocol", "tls",
};

static const char *const config_protocol_names[] = {
	[CONFIG_PROTOCOL_SMTP] = "smtp",
	[CONFIG_PROTOCOL_SUBMISSION] = "submission",
	[CONFIG_PROTOCOL_IMAP] = "imap",
	[CONFIG_PROTOCOL_POP3] = "pop3",
	[CONFIG_PROTOCOL_SIEVE] = "sieve",
	[CONFIG_PROTOCOL_HTTP] = "http",
};

static const char *const config_tls_names[] = {
	[CONFIG_TLS_NONE] = "none",
	[CONFIG_TLS_STARTTLS] = "starttls",
	[CONFIG_TLS_IMPLICIT] = "implicit",
};

static const char *const config_log_levels[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

struct config_addr {
	int family;
	unsigned char bytes[16];
	char *text;			/* canonical (inet_ntop) */
};

/* One [listen.NAME] section while the file is read; becomes one
   struct config_listener per address once the file is complete. */
struct config_draft {
	char *name;
	unsigned line;			/* its first header */
	unsigned seen[CONFIG_LISTEN_NKEYS]; /* line of each key; 0: unset */
	struct config_addr *addrs;
	size_t n_addrs;
	uint16_t port;
	enum config_protocol protocol;
	enum config_tls_mode tls;
};

struct config_ctx {
	const char *name;
	const char *text;
	size_t len, pos;
	unsigned line;			/* of the line inih is handling */
	const char *base_dir;

	enum config_section_kind kind;
	char section[CONFIG_SECTION_MAX];
	struct config_draft *draft;	/* when kind is LISTEN */
	unsigned seen[CONFIG_SECTION_LISTEN][CONFIG_MAX_KEYS];

	struct config_draft *drafts;
	size_t n_drafts;

	struct config *config;
	char *error;
	unsigned error_line;
};

static void config_error(struct config_ctx *ctx, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void config_key_error(struct config_ctx *ctx, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones are usually its echoes. line 0
   means the file as a whole. */
static void
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

static void
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
}

const char *
config_protocol_name(enum config_protocol protocol)
{
	if ((size_t)protocol >= CONFIG_NKEYS(config_protocol_names))
		return "unknown";
	return config_protocol_names[protocol];
}

/* --- values ---------------------------------------------------------------- */

static bool
config_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 1123 §2.1 host name: dot-separated labels of letters, digits and
   inner hyphens, each 1-63 octets, 253 in all. */
static bool
config_is_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!config_is_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* 1 to max letters, digits and bytes of extra. */
static bool
config_is_word(const char *s, size_t len, size_t max, const char *extra)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!config_is_alnum(s[i]) &&
		    memchr(extra, s[i], strlen(extra)) == NULL)
			return false;
	return true;
}

/* A portable POSIX user name (IEEE 1003.1 §3.437), as useradd takes. */
static bool
config_is_user(const char *s)
{
	return s[0] != '-' && config_is_word(s, strlen(s), 32, "_-.");
}

static bool
config_is_listener_name(const char *s, size_t len)
{
	return config_is_word(s, len, CONFIG_MAX_LISTENER_NAME, "_-");
}

/* Joins base and path unless path is absolute, then drops empty and "."
   components. ".." stays: lexically removing it would be wrong past a
   symbolic link, and the directory need not exist yet to resolve it.
   NULL if the current directory cannot be found. */
static char *
config_absolute(const char *base, const char *path)
{
	struct buf joined, out;
	char *cwd = NULL, *result = NULL;
	const char *p, *end;

	buf_init(&joined, 0);
	buf_init(&out, 0);
	if (path[0] != '/') {
		if (base == NULL || base[0] != '/') {
			if ((cwd = getcwd(NULL, 0)) == NULL)
				goto out;
			buf_append_str(&joined, cwd);
			buf_append_str(&joined, "/");
		}
		if (base != NULL) {
			buf_append_str(&joined, base);
			buf_append_str(&joined, "/");
		}
	}
	buf_append_str(&joined, path);
	buf_append_str(&joined, "");	/* data is never NULL after this */
	for (p = joined.data; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (end - p == 1 && p[0] == '.')
			continue;
		buf_append_str(&out, "/");
		buf_append(&out, p, (size_t)(end - p));
	}
	if (out.len == 0)
		buf_append_str(&out, "/");
	result = buf_steal(&out);
out:
	free(cwd);
	buf_clear(&joined);
	buf_clear(&out);
	return result;
}

/* The index of value in names, or -1. */
static int
config_name_index(const char *const *names, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(value, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Records that key name was set on this line; an error if it was set
   before (first on the line *seen holds). */
static int
config_mark_seen(struct config_ctx *ctx, unsigned *seen, const char *name)
{
	if (*seen != 0) {
		config_key_error(ctx, name, "duplicate key (first on line %u)",
		    *seen);
		return -1;
	}
	*seen = ctx->line;
	return 0;
}

static void
config_store_number(void *field, size_t width, uint64_t value)
{
	if (width == sizeof(uint64_t)) {
		uint64_t v = value;
		memcpy(field, &v, sizeof(v));
	} else if (width == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)value;
		memcpy(field, &v, sizeof(v));
	} else {
		panic("config_store_number: field width %zu", width);
	}
}

char *
config_size_text(uint64_t n)
{
	static const char units[] = "GMK";

	for (unsigned i = 0; i < 3; i++) {
		uint64_t unit = 1ULL << (10 * (3 - i));
		if (n >= unit && n % unit == 0)
			return xasprintf("%llu%c", (unsigned long long)(n / unit),
			    units[i]);
	}
	return xasprintf("%llu", (unsigned long long)n);
}

static void
config_set_value(struct config_ctx *ctx, const struct config_key *key,
    void *base, const char *value)
{
	void *field = (char *)base + key->offset;
	char **str = field;
	uint64_t n;
	char *lo, *hi, *path;
	int level;

	switch (key->type) {
	case CONFIG_TYPE_HOSTNAME:
		if (!config_is_hostname(value)) {
			config_key_error(ctx, key->name,
			    "not a valid host name (e.g. mail.example.org)");
			return;
		}
		*str = xstrdup(value);
		/* DNS names are case-insensitive; greet in one case. */
		for (char *c = *str; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		return;
	case CONFIG_TYPE_PATH:
		if ((path = config_absolute(ctx->base_dir, value)) == NULL) {
			config_key_error(ctx, key->name,
			    "cannot make the path absolute: %s",
			    strerror(errno));
			return;
		}
		*str = path;
		return;
	case CONFIG_TYPE_USER:
		if (!config_is_user(value)) {
			config_key_error(ctx, key->name,
			    "not a valid user name");
			return;
		}
		*str = xstrdup(value);
		return;
	case CONFIG_TYPE_LOG_LEVEL:
		level = config_name_index(config_log_levels,
		    CONFIG_NKEYS(config_log_levels), value);
		if (level == -1) {
			config_key_error(ctx, key->name,
			    "log_level must be debug, info, warn or error");
			return;
		}
		memcpy(field, &level, sizeof(level));
		return;
	case CONFIG_TYPE_NUMBER:
		if (str_to_u64(value, &n) == -1) {
			config_key_error(ctx, key->name, "not a number");
			return;
		}
		if (n < key->min || n > key->max) {
			config_key_error(ctx, key->name,
			    "must be between %llu and %llu",
			    (unsigned long long)key->min,
			    (unsigned long long)key->max);
			return;
		}
		config_store_number(field, key->width, n);
		return;
	case CONFIG_TYPE_SIZE:
		if (str_to_size(value, &n) == -1) {
			config_key_error(ctx, key->name,
			    "not a size (e.g. 50M)");
			return;
		}
		if (n < key->min || n > key->max) {
			lo = config_size_text(key->min);
			hi = config_size_text(key->max);
			config_key_error(ctx, key->name,
			    "must be between %s and %s", lo, hi);
			free(lo);
			free(hi);
			return;
		}
		config_store_number(field, key->width, n);
		return;
	}
	panic("config_set_value: type %d", (int)key->type);
}

static void
config_set_key(struct config_ctx *ctx, const struct config_key *keys,
    size_t n_keys, void *base, const char *name, const char *value)
{
	unsigned *seen = ctx->seen[ctx->kind];

	for (size_t i = 0; i < n_keys; i++) {
		if (strcmp(name, keys[i].name) != 0)
			continue;
		if (config_mark_seen(ctx, &seen[i], name) == 0)
			config_set_value(ctx, &keys[i], base, value);
		return;
	}
	config_key_error(ctx, name, "unknown key");
}

/* --- listeners ------------------------------------------------------------- */

static void
config_draft_clear(struct config_draft *d)
{
	for (size_t i = 0; i < d->n_addrs; i++)
		free(d->addrs[i].text);
	free(d->addrs);
	free(d->name);
}

static bool
config_addr_equal(const struct config_addr *a, const struct config_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

/* One numeric address, or -1. */
static int
config_parse_addr(const char *s, size_t len, struct config_addr *addr_r)
{
	char *copy = xstrndup(s, len);
	char text[INET6_ADDRSTRLEN];
	int ret = -1;

	memset(addr_r, 0, sizeof(*addr_r));
	if (inet_pton(AF_INET, copy, addr_r->bytes) == 1)
		addr_r->family = AF_INET;
	else if (inet_pton(AF_INET6, copy, addr_r->bytes) == 1)
		addr_r->family = AF_INET6;
	else
		goto out;
	if (inet_ntop(addr_r->family, addr_r->bytes, text, sizeof(text)) == NULL)
		goto out;
	addr_r->text = xstrdup(text);
	ret = 0;
out:
	free(copy);
	return ret;
}

/* "127.0.0.1, ::1": several addresses, one listener each. */
static void
config_set_addresses(struct config_ctx *ctx, struct config_draft *d,
    const char *value)
{
	const char *p = value, *comma, *end;
	struct config_addr addr;

	for (;;) {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (p == end) {
			config_key_error(ctx, "address",
			    "empty entry in the address list");
			return;
		}
		if (d->n_addrs == CONFIG_MAX_ADDRESSES) {
			config_key_error(ctx, "address",
			    "too many addresses (at most %d)",
			    CONFIG_MAX_ADDRESSES);
			return;
		}
		if (config_parse_addr(p, (size_t)(end - p), &addr) == -1) {
			config_key_error(ctx, "address",
			    "address is not a numeric IPv4/IPv6 address: %.*s",
			    (int)(end - p), p);
			return;
		}
		for (size_t i = 0; i < d->n_addrs; i++) {
			if (config_addr_equal(&d->addrs[i], &addr)) {
				config_key_error(ctx, "address",
				    "%s is listed twice", addr.text);
				free(addr.text);
				return;
			}
		}
		d->addrs = xreallocarray(d->addrs, d->n_addrs + 1,
		    sizeof(*d->addrs));
		d->addrs[d->n_addrs++] = addr;
		if (comma == NULL)
			return;
		p = comma + 1;
	}
}

static void
config_set_listen(struct config_ctx *ctx, const char *name, const char *value)
{
	struct config_draft *d = ctx->draft;
	int k, i;
	uint32_t port;

	k = config_name_index(config_listen_key_names, CONFIG_LISTEN_NKEYS,
	    name);
	if (k == -1) {
		config_key_error(ctx, name, "unknown key");
		return;
	}
	if (config_mark_seen(ctx, &d->seen[k], name) == -1)
		return;
	switch ((enum config_listen_key)k) {
	case CONFIG_LISTEN_ADDRESS:
		config_set_addresses(ctx, d, value);
		return;
	case CONFIG_LISTEN_PORT:
		if (str_to_u32(value, &port) == -1 || port == 0 ||
		    port > 65535) {
			config_key_error(ctx, name, "port must be 1-65535");
			return;
		}
		d->port = (uint16_t)port;
		return;
	case CONFIG_LISTEN_PROTOCOL:
		i = config_name_index(config_protocol_names,
		    CONFIG_NKEYS(config_protocol_names), value);
		if (i == -1) {
			config_key_error(ctx, name, "protocol must be one of "
			    "smtp, submission, imap, pop3, sieve, http");
			return;
		}
		d->protocol = (enum config_protocol)i;
		return;
	case CONFIG_LISTEN_TLS:
		i = config_name_index(config_tls_names,
		    CONFIG_NKEYS(config_tls_names), value);
		if (i == -1) {
			config_key_error(ctx, name,
			    "tls must be none, starttls or implicit");
			return;
		}
		d->tls = (enum config_tls_mode)i;
		return;
	case CONFIG_LISTEN_NKEYS:
		break;
	}
	panic("config_set_listen: key %d", k);
}

/* --- reading --------------------------------------------------------------- */

/* A section header, checked here rather than by inih: inih would cut a long
   name short and ignore text after ']'. A section may be opened again; its
   keys still may not repeat. */
static int
config_section(struct config_ctx *ctx, const char *line, size_t n)
{
	const char *close = memchr(line, ']', n), *rest, *name;
	size_t name_len;
	static const char prefix[] = "listen.";

	if (close == NULL) {
		config_error(ctx, ctx->line, "section header lacks ']'");
		return -1;
	}
	for (rest = close + 1; rest < line + n; rest++)
		if (*rest != ' ' && *rest != '\t')
			break;
	if (rest < line + n && *rest != ';' && *rest != '#') {
		config_error(ctx, ctx->line,
		    "unexpected text after the section header");
		return -1;
	}
	name = line + 1;
	name_len = (size_t)(close - name);
	ctx->draft = NULL;
	if (name_len == 6 && memcmp(name, "server", 6) == 0) {
		ctx->kind = CONFIG_SECTION_SERVER;
	} else if (name_len == 3 && memcmp(name, "tls", 3) == 0) {
		ctx->kind = CONFIG_SECTION_TLS;
	} else if (name_len == 6 && memcmp(name, "limits", 6) == 0) {
		ctx->kind = CONFIG_SECTION_LIMITS;
	} else if (name_len >= sizeof(prefix) - 1 &&
	    memcmp(name, prefix, sizeof(prefix) - 1) == 0) {
		const char *lname = name + sizeof(prefix) - 1;
		size_t llen = name_len - (sizeof(prefix) - 1);

		if (!config_is_listener_name(lname, llen)) {
			config_error(ctx, ctx->line, "[%.*s]: a listener name "
			    "is 1-%d letters, digits, '-' or '_'",
			    (int)name_len, name, CONFIG_MAX_LISTENER_NAME);
			return -1;
		}
		ctx->kind = CONFIG_SECTION_LISTEN;
		for (size_t i = 0; i < ctx->n_drafts; i++) {
			if (strlen(ctx->drafts[i].name) == llen &&
			    memcmp(ctx->drafts[i].name, lname, llen) == 0)
				ctx->draft = &ctx->drafts[i];
		}
		if (ctx->draft == NULL) {
			if (ctx->n_drafts == CONFIG_MAX_LISTEN_SECTIONS) {
				config_error(ctx, ctx->line,
				    "too many listeners (at most %d)",
				    CONFIG_MAX_LISTEN_SECTIONS);
				return -1;
			}
			ctx->drafts = xreallocarray(ctx->drafts,
			    ctx->n_drafts + 1, sizeof(*ctx->drafts));
			ctx->draft = &ctx->drafts[ctx->n_drafts++];
			memset(ctx->draft, 0, sizeof(*ctx->draft));
			ctx->draft->name = xstrndup(lname, llen);
			ctx->draft->line = ctx->line;
			ctx->draft->tls = CONFIG_TLS_NONE;
		}
	} else {
		config_error(ctx, ctx->line, "unknown section [%.*s] (expected "
		    "server, tls, listen.NAME or limits)", (int)name_len, name);
		return -1;
	}
	/* Fits: listener names are short, the fixed names shorter. */
	memcpy(ctx->section, name, name_len);
	ctx->section[name_len] = '\0';
	return 0;
}

/* The ini_reader: fgets-like, one line of text per call. Stops the parse
   (NULL) at the end of the text or at the first error. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_ctx *ctx = stream;
	const char *line, *nl;
	size_t n;

	if (ctx->error != NULL || ctx->pos >= ctx->len)
		return NULL;
	line = ctx->text + ctx->pos;
	nl = memchr(line, '\n', ctx->len - ctx->pos);
	n = nl != NULL ? (size_t)(nl - line) : ctx->len - ctx->pos;
	ctx->pos += n + (nl != NULL);
	ctx->line++;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (ctx->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		n -= 3;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\0') {
			config_error(ctx, ctx->line, "NUL byte in the line");
			return NULL;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			config_error(ctx, ctx->line,
			    "control character 0x%02x in the line", c);
			return NULL;
		}
	}
	/* inih needs room for the line, "\n" and NUL; it documents its
	   limit as 3 more than the longest line. */
	if (num < 4 || n > (size_t)num - 3) {
		config_error(ctx, ctx->line, "line too long (at most %d bytes)",
		    num < 4 ? 0 : num - 3);
		return NULL;
	}
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (n > 0 && *line == '[' && config_section(ctx, line, n) == -1)
		return NULL;
	memcpy(str, line, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_ctx *ctx = user;

	(void)section;	/* ctx->section: the reader checked the header */
	if (ctx->error != NULL)
		return 0;
	if (name[0] == '\0') {
		config_error(ctx, ctx->line, "key name missing before '='");
		return 0;
	}
	if (ctx->kind == CONFIG_SECTION_NONE) {
		config_error(ctx, ctx->line, "%s: key before any [section]",
		    name);
		return 0;
	}
	if (value[0] == '\0') {
		config_key_error(ctx, name, "value is empty");
		return 0;
	}
	switch (ctx->kind) {
	case CONFIG_SECTION_SERVER:
		config_set_key(ctx, config_server_keys,
		    CONFIG_NKEYS(config_server_keys), ctx->config, name, value);
		break;
	case CONFIG_SECTION_TLS:
		config_set_key(ctx, config_tls_keys,
		    CONFIG_NKEYS(config_tls_keys), ctx->config, name, value);
		break;
	case CONFIG_SECTION_LIMITS:
		config_set_key(ctx, config_limits_keys,
		    CONFIG_NKEYS(config_limits_keys), &ctx->config->limits,
		    name, value);
		break;
	case CONFIG_SECTION_LISTEN:
		config_set_listen(ctx, name, value);
		break;
	case CONFIG_SECTION_NONE:
		break;
	}
	return ctx->error == NULL;
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

	for (size_t i = 0; i < CONFIG_NKEYS(config_limits_keys); i++) {
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
	free(c);
	*configp = NULL;
}
