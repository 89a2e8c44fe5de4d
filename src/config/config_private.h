/* config_private.h — what the files of src/config/ share: the parse
   context, the key tables and the functions of config_values.c (checking
   and storing one value), config_listen.c ([listen.NAME] sections) and
   config_reader.c (feeding inih). Nothing outside src/config/ includes it. */
#ifndef PETREL_CONFIG_PRIVATE_H
#define PETREL_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "lib/log.h"

/* A petrel.conf is a few kilobytes; anything this large is not one. */
#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_LISTEN_SECTIONS 64
#define CONFIG_MAX_ADDRESSES 16		/* per [listen.NAME] */
#define CONFIG_MAX_LISTENER_NAME 32
#define CONFIG_MAX_THREADS 256
#define CONFIG_MAX_KEYS 24		/* per section table, for seen[] */
#define CONFIG_SECTION_MAX 48		/* "listen." + the longest name + NUL */

enum config_section_kind {
	CONFIG_SECTION_NONE,		/* keys before any header */
	CONFIG_SECTION_SERVER,
	CONFIG_SECTION_TLS,
	CONFIG_SECTION_LIMITS,
	CONFIG_SECTION_AUTH,
	CONFIG_SECTION_SUBMISSION,
	CONFIG_SECTION_OUTBOUND,
	CONFIG_SECTION_LISTEN,		/* last: seen[] has no row for it */
};

enum config_type {
	CONFIG_TYPE_HOSTNAME,
	CONFIG_TYPE_PATH,		/* made absolute against base_dir */
	CONFIG_TYPE_USER,
	CONFIG_TYPE_LOG_LEVEL,
	CONFIG_TYPE_NUMBER,		/* decimal in [min, max] */
	CONFIG_TYPE_SIZE,		/* bytes, K/M/G suffix, in [min, max] */
	CONFIG_TYPE_PLAINTEXT,		/* enum config_plaintext by name */
	CONFIG_TYPE_BOOL,		/* yes/no, true/false, on/off */
	CONFIG_TYPE_NETWORKS,		/* IPs and CIDRs, comma-separated */
	CONFIG_TYPE_ADDRESS,		/* a mail address: local@domain */
	CONFIG_TYPE_RESOLVER,		/* a numeric IP, optionally @port */
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

enum config_listen_key {
	CONFIG_LISTEN_ADDRESS,
	CONFIG_LISTEN_PORT,
	CONFIG_LISTEN_PROTOCOL,
	CONFIG_LISTEN_TLS,
	CONFIG_LISTEN_NKEYS,
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

/* config_values.c */
extern const struct config_key config_server_keys[];
extern const struct config_key config_tls_keys[];
extern const struct config_key config_limits_keys[];
extern const struct config_key config_auth_keys[];
extern const struct config_key config_submission_keys[];
extern const struct config_key config_outbound_keys[];
extern const size_t config_submission_nkeys, config_outbound_nkeys;
extern const size_t config_server_nkeys, config_tls_nkeys, config_limits_nkeys;
extern const size_t config_auth_nkeys;
extern const char *const config_listen_key_names[CONFIG_LISTEN_NKEYS];
extern const char *const config_protocol_names[CONFIG_PROTOCOL_HTTP + 1];
extern const size_t config_protocol_nnames;
extern const char *const config_tls_names[CONFIG_TLS_IMPLICIT + 1];
extern const char *const config_log_levels[LOG_LEVEL_ERROR + 1];
extern const char *const config_plaintext_names[CONFIG_PLAINTEXT_ALWAYS + 1];

/* config.c: records the first error only; line 0 means the whole file. */
void config_error(struct config_ctx *ctx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, as "[section] key: ..." at the current line. */
void config_key_error(struct config_ctx *ctx, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* config_values.c */
bool config_is_listener_name(const char *s, size_t len);
char *config_absolute(const char *base, const char *path);
int config_name_index(const char *const *names, size_t n, const char *value);
int config_mark_seen(struct config_ctx *ctx, unsigned *seen, const char *name);
void config_set_key(struct config_ctx *ctx, const struct config_key *keys,
    size_t n_keys, void *base, const char *name, const char *value);

/* config_listen.c */
void config_draft_clear(struct config_draft *d);
bool config_addr_equal(const struct config_addr *a,
    const struct config_addr *b);
void config_set_listen(struct config_ctx *ctx, const char *name,
    const char *value);

/* config_reader.c */
char *config_reader(char *str, int num, void *stream);

/* config_networks.c */
/* 0 when list is comma-separated IPs or CIDRs (v4 or v6, prefix in
   range, at most CONFIG_MAX_NETWORKS), else -1 with *why_r (static). */
#define CONFIG_MAX_NETWORKS 256
int config_networks_check(const char *list, const char **why_r);
/* local@domain: printable ASCII or UTF-8, no spaces or brackets, one
   '@' with both sides non-empty, at most 254 octets. */
bool config_is_address(const char *s);
/* A numeric IPv4/IPv6 address, optionally "@port" (1-65535). */
bool config_is_resolver(const char *s);
int config_handler(void *user, const char *section, const char *name,
    const char *value);

#endif
