/* config_reader.c — feeding libinih. Debian's libinih reads into a 200-byte
   stack buffer and would cut a longer line in two, parsing the tail as a
   line of its own: our reader refuses such lines, and NUL and control
   bytes; it drops a BOM, strips leading blanks (inih would take an
   indented line for the continuation of the value above) and checks
   section headers itself, so inih only sees lines it reads the way
   config.h documents. */
#include "config/config_private.h"

#include <string.h>

#include "lib/xmalloc.h"

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
	} else if (name_len == 4 && memcmp(name, "auth", 4) == 0) {
		ctx->kind = CONFIG_SECTION_AUTH;
	} else if (name_len == 10 && memcmp(name, "submission", 10) == 0) {
		ctx->kind = CONFIG_SECTION_SUBMISSION;
	} else if (name_len == 8 && memcmp(name, "outbound", 8) == 0) {
		ctx->kind = CONFIG_SECTION_OUTBOUND;
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
		    "server, tls, listen.NAME, limits or auth)", (int)name_len,
		    name);
		return -1;
	}
	/* Fits: listener names are short, the fixed names shorter. */
	memcpy(ctx->section, name, name_len);
	ctx->section[name_len] = '\0';
	return 0;
}

/* The ini_reader: fgets-like, one line of text per call. Stops the parse
   (NULL) at the end of the text or at the first error. */
char *
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

int
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
		    config_server_nkeys, ctx->config, name, value);
		break;
	case CONFIG_SECTION_TLS:
		config_set_key(ctx, config_tls_keys,
		    config_tls_nkeys, ctx->config, name, value);
		break;
	case CONFIG_SECTION_LIMITS:
		config_set_key(ctx, config_limits_keys,
		    config_limits_nkeys, &ctx->config->limits,
		    name, value);
		break;
	case CONFIG_SECTION_AUTH:
		config_set_key(ctx, config_auth_keys, config_auth_nkeys,
		    &ctx->config->auth, name, value);
		break;
	case CONFIG_SECTION_SUBMISSION:
		config_set_key(ctx, config_submission_keys,
		    config_submission_nkeys, &ctx->config->submission, name,
		    value);
		break;
	case CONFIG_SECTION_OUTBOUND:
		config_set_key(ctx, config_outbound_keys,
		    config_outbound_nkeys, &ctx->config->outbound, name, value);
		break;
	case CONFIG_SECTION_LISTEN:
		config_set_listen(ctx, name, value);
		break;
	case CONFIG_SECTION_NONE:
		break;
	}
	return ctx->error == NULL;
}
