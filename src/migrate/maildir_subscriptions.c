/* maildir_subscriptions.c — see maildir_subscriptions.h. */
#include "migrate/maildir_subscriptions.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "migrate/maildir_name.h"
#include "store/store.h"

static const char maildir_subscriptions_v2[] = "V\t2\n\n";

/* Dovecot's str_tabunescape: "\001" + '1', 't', 'r', 'n'. */
static void
maildir_subscriptions_unescape(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\001' && i + 1 < len) {
			switch (s[i + 1]) {
			case '1': c = '\001'; i++; break;
			case 't': c = '\t'; i++; break;
			case 'r': c = '\r'; i++; break;
			case 'n': c = '\n'; i++; break;
			default: break;
			}
		}
		(void)buf_append(out, &c, 1);
	}
}

/* A version 2 line: TAB-separated, tab-escaped levels. */
static char *
maildir_subscriptions_v2_name(const char *line, size_t len)
{
	struct buf name, level;
	size_t pos = 0;

	buf_init(&name, 0);
	buf_init(&level, 0);
	for (;;) {
		const char *tab = memchr(line + pos, '\t', len - pos);
		size_t end = tab != NULL ? (size_t)(tab - line) : len;

		buf_reset(&level);
		maildir_subscriptions_unescape(line + pos, end - pos, &level);
		if ((name.len > 0 && buf_append(&name, "/", 1) == -1) ||
		    level.len == 0 ||
		    maildir_name_level_decode(level.data, level.len, &name) ==
		    -1) {
			buf_clear(&name);
			buf_clear(&level);
			return NULL;
		}
		if (tab == NULL)
			break;
		pos = end + 1;
	}
	buf_clear(&level);
	/* INBOX is case-insensitive; the store spells it so. */
	if (strncasecmp(name.data, "INBOX", 5) == 0 &&
	    (name.data[5] == '\0' || name.data[5] == '/'))
		memcpy(name.data, "INBOX", 5);
	return buf_steal(&name);
}

void
maildir_subscriptions_parse(const char *data, size_t len, char ***names_r,
    size_t *n_r, size_t *bad_r)
{
	size_t hlen = sizeof(maildir_subscriptions_v2) - 1, pos = 0, cap = 0;
	bool v2 = len >= hlen && memcmp(data, maildir_subscriptions_v2,
	    hlen) == 0;

	*names_r = NULL;
	*n_r = 0;
	*bad_r = 0;
	if (v2)
		pos = hlen;
	while (pos < len) {
		const char *line = data + pos, *nl;
		size_t line_len;
		char *name;

		nl = memchr(line, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		/* Old Dovecot and other software ended names with the
		   separator; Dovecot drops it too. */
		if (!v2 && line_len > 1 && (line[line_len - 1] == '.' ||
		    line[line_len - 1] == '/'))
			line_len--;
		if (line_len == 0)
			continue;
		name = v2 ? maildir_subscriptions_v2_name(line, line_len) :
		    maildir_name_from_levels(line, line_len, "./");
		if (name == NULL) {
			(*bad_r)++;
			continue;
		}
		if (*n_r == cap) {
			cap = cap ? cap * 2 : 16;
			*names_r = xreallocarray(*names_r, cap, sizeof(char *));
		}
		(*names_r)[(*n_r)++] = name;
	}
}

int
maildir_subscriptions_format(char *const *names, size_t n, struct buf *out)
{
	size_t start = out->len;

	if (buf_append_str(out, maildir_subscriptions_v2) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const char *p = names[i];

		for (;;) {
			const char *slash = strchr(p, STORE_SEPARATOR);
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			/* An encoded level is printable ASCII: nothing in it
			   to tab-escape. */
			if (maildir_name_level_encode(p, len, out) == -1)
				goto fail;
			if (slash == NULL)
				break;
			if (buf_append(out, "\t", 1) == -1)
				goto fail;
			p = slash + 1;
		}
		if (buf_append(out, "\n", 1) == -1)
			goto fail;
	}
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

void
maildir_subscriptions_free(char ***names, size_t n)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*names)[i]);
	xfree(names);
}
