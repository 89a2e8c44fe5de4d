/* config_values.c — the keys of [server], [tls] and [limits] with their
   types and ranges, and checking and storing one value: host names, paths
   made absolute, sizes with K/M/G, numbers in range, names from a list. */
#include "config/config_private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

const struct config_key config_server_keys[] = {
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

const struct config_key config_tls_keys[] = {
	{ "cert", CONFIG_TYPE_PATH, CONFIG_FIELD(config, tls_cert), 0, 0 },
	{ "key", CONFIG_TYPE_PATH, CONFIG_FIELD(config, tls_key), 0, 0 },
};

/* The minimums keep a server standards-conforming or at least usable; the
   maximums keep every later size computation far from overflow. */
const struct config_key config_limits_keys[] = {
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
	/* RFC 1939 §3 asks for at least 10 minutes; tests need less. */
	{ "pop3_idle_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, pop3_idle_timeout), 1, 86400 },
	/* RFC 9051 §5.4 asks for at least 30 minutes; tests need less. */
	{ "imap_idle_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, imap_idle_timeout), 1, 86400 },
	/* RFC 7162 §4 wants at least 8 KiB for long UID sets. */
	{ "imap_max_line", CONFIG_TYPE_SIZE,
	    CONFIG_FIELD(config_limits, imap_max_line), 8192, 16 * 1024 * 1024 },
	{ "imap_max_pipelined", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_limits, imap_max_pipelined), 1, 100000 },
};

const struct config_key config_submission_keys[] = {
	{ "sender_login_match", CONFIG_TYPE_BOOL,
	    CONFIG_FIELD(config_submission, sender_login_match), 0, 0 },
	{ "received_auth", CONFIG_TYPE_BOOL,
	    CONFIG_FIELD(config_submission, received_auth), 0, 0 },
	{ "relay_networks", CONFIG_TYPE_NETWORKS,
	    CONFIG_FIELD(config_submission, relay_networks), 0, 0 },
	{ "always_bcc", CONFIG_TYPE_ADDRESS,
	    CONFIG_FIELD(config_submission, always_bcc), 0, 0 },
};

/* RFC 5321 §4.5.4.1: retries at least 30 minutes apart by default, give
   up after 4-5 days; the ranges keep tests fast and sums far from
   overflow. */
const struct config_key config_outbound_keys[] = {
	{ "max_lifetime", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, max_lifetime), 60, 60 * 86400 },
	{ "retry_min", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, retry_min), 1, 86400 },
	{ "retry_max", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, retry_max), 1, 7 * 86400 },
	{ "delay_warning", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, delay_warning), 0, 60 * 86400 },
	{ "max_connections", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, max_connections), 1, 10000 },
	{ "connect_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, connect_timeout), 1, 3600 },
	{ "command_timeout", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, command_timeout), 1, 3600 },
	{ "port", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, port), 1, 65535 },
	{ "resolver", CONFIG_TYPE_RESOLVER,
	    CONFIG_FIELD(config_outbound, resolver), 0, 0 },
	{ "trust_anchor", CONFIG_TYPE_PATH,
	    CONFIG_FIELD(config_outbound, trust_anchor), 0, 0 },
	{ "tls_ca_file", CONFIG_TYPE_PATH,
	    CONFIG_FIELD(config_outbound, tls_ca_file), 0, 0 },
	{ "mta_sts_port", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_outbound, mta_sts_port), 1, 65535 },
};

const struct config_key config_auth_keys[] = {
	{ "plaintext", CONFIG_TYPE_PLAINTEXT,
	    CONFIG_FIELD(config_auth, plaintext), 0, 0 },
	/* Past a minute clients give up before the answer. */
	{ "failure_delay", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_auth, failure_delay), 0, 60000 },
	{ "max_failures_per_ip", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_auth, max_failures_per_ip), 1, 1000000 },
	{ "max_failures_per_account", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_auth, max_failures_per_account), 1, 1000000 },
	/* A day at most: a block longer than that is an administrator's
	   decision, not a counter's. */
	{ "cache_ttl", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_auth, cache_ttl), 0, 86400 },
	{ "failure_window", CONFIG_TYPE_NUMBER,
	    CONFIG_FIELD(config_auth, failure_window), 1, 86400 },
};

_Static_assert(CONFIG_NKEYS(config_server_keys) <= CONFIG_MAX_KEYS, "seen[]");
_Static_assert(CONFIG_NKEYS(config_limits_keys) <= CONFIG_MAX_KEYS, "seen[]");
_Static_assert(CONFIG_NKEYS(config_auth_keys) <= CONFIG_MAX_KEYS, "seen[]");
_Static_assert(CONFIG_NKEYS(config_submission_keys) <= CONFIG_MAX_KEYS,
    "seen[]");
_Static_assert(CONFIG_NKEYS(config_outbound_keys) <= CONFIG_MAX_KEYS,
    "seen[]");

const char *const config_listen_key_names[CONFIG_LISTEN_NKEYS] = {
	"address", "port", "protocol", "tls",
};

const char *const config_protocol_names[CONFIG_PROTOCOL_HTTP + 1] = {
	[CONFIG_PROTOCOL_SMTP] = "smtp",
	[CONFIG_PROTOCOL_SUBMISSION] = "submission",
	[CONFIG_PROTOCOL_IMAP] = "imap",
	[CONFIG_PROTOCOL_POP3] = "pop3",
	[CONFIG_PROTOCOL_SIEVE] = "sieve",
	[CONFIG_PROTOCOL_HTTP] = "http",
};

const char *const config_tls_names[CONFIG_TLS_IMPLICIT + 1] = {
	[CONFIG_TLS_NONE] = "none",
	[CONFIG_TLS_STARTTLS] = "starttls",
	[CONFIG_TLS_IMPLICIT] = "implicit",
};

const char *const config_log_levels[LOG_LEVEL_ERROR + 1] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

/* Even index: true. */
static const char *const config_bool_names[] = {
	"yes", "no", "true", "false", "on", "off",
};

const char *const config_plaintext_names[CONFIG_PLAINTEXT_ALWAYS + 1] = {
	[CONFIG_PLAINTEXT_NEVER] = "never",
	[CONFIG_PLAINTEXT_LOOPBACK] = "loopback",
	[CONFIG_PLAINTEXT_ALWAYS] = "always",
};

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

bool
config_is_listener_name(const char *s, size_t len)
{
	return config_is_word(s, len, CONFIG_MAX_LISTENER_NAME, "_-");
}

/* Joins base and path unless path is absolute, then drops empty and "."
   components. ".." stays: lexically removing it would be wrong past a
   symbolic link, and the directory need not exist yet to resolve it.
   NULL if the current directory cannot be found. */
char *
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
int
config_name_index(const char *const *names, size_t n, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(value, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Records that key name was set on this line; an error if it was set
   before (first on the line *seen holds). */
int
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
	if (width == sizeof(uint16_t) && value <= UINT16_MAX) {
		uint16_t v = (uint16_t)value;
		memcpy(field, &v, sizeof(v));
	} else if (width == sizeof(uint64_t)) {
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
	enum config_plaintext plaintext;
	uint64_t n;
	char *lo, *hi, *path;
	const char *why;
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
	case CONFIG_TYPE_PLAINTEXT:
		level = config_name_index(config_plaintext_names,
		    CONFIG_NKEYS(config_plaintext_names), value);
		if (level == -1) {
			config_key_error(ctx, key->name,
			    "plaintext must be never, loopback or always");
			return;
		}
		plaintext = (enum config_plaintext)level;
		if (key->width != sizeof(plaintext))
			panic("config_set_value: plaintext width %zu",
			    key->width);
		memcpy(field, &plaintext, sizeof(plaintext));
		return;
	case CONFIG_TYPE_BOOL:
		level = config_name_index(config_bool_names,
		    CONFIG_NKEYS(config_bool_names), value);
		if (level == -1 || key->width != sizeof(bool)) {
			config_key_error(ctx, key->name,
			    "must be yes or no");
			return;
		}
		*(bool *)field = level % 2 == 0;
		return;
	case CONFIG_TYPE_NETWORKS:
		if (config_networks_check(value, &why) == -1) {
			config_key_error(ctx, key->name, "%s", why);
			return;
		}
		*str = xstrdup(value);
		return;
	case CONFIG_TYPE_ADDRESS:
		if (!config_is_address(value)) {
			config_key_error(ctx, key->name,
			    "not a mail address (e.g. archive@example.org)");
			return;
		}
		*str = xstrdup(value);
		return;
	case CONFIG_TYPE_RESOLVER:
		if (!config_is_resolver(value)) {
			config_key_error(ctx, key->name,
			    "not a numeric IP address with an optional "
			    "@port (e.g. 127.0.0.1@5353)");
			return;
		}
		*str = xstrdup(value);
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

void
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

const size_t config_server_nkeys = CONFIG_NKEYS(config_server_keys);
const size_t config_tls_nkeys = CONFIG_NKEYS(config_tls_keys);
const size_t config_limits_nkeys = CONFIG_NKEYS(config_limits_keys);
const size_t config_auth_nkeys = CONFIG_NKEYS(config_auth_keys);
const size_t config_submission_nkeys = CONFIG_NKEYS(config_submission_keys);
const size_t config_outbound_nkeys = CONFIG_NKEYS(config_outbound_keys);
const size_t config_protocol_nnames = CONFIG_NKEYS(config_protocol_names);
