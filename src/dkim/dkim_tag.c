/* dkim_tag.c — RFC 6376 §3.2 tag lists. FWS is taken loosely as any run of
   SP, HTAB, CR and LF: the fields we read were unfolded by nobody, and a
   stray bare CR changes no tag's meaning. */
#include "dkim/dkim_tag.h"

#include <stdbool.h>
#include <string.h>

#include "lib/buf.h"

static inline bool
dkim_tag_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline bool
dkim_tag_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* VALCHAR = %x21-3A / %x3C-7E: printable ASCII but ';'. */
static inline bool
dkim_tag_is_valchar(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static size_t
dkim_tag_skip_fws(const char *s, size_t len, size_t i)
{
	while (i < len && dkim_tag_is_fws(s[i]))
		i++;
	return i;
}

int
dkim_tag_parse(const char *s, size_t len, struct dkim_tag *tags, size_t max)
{
	size_t n = 0, i = 0;

	for (;;) {
		i = dkim_tag_skip_fws(s, len, i);
		if (i == len)
			return (int)n;	/* empty list, or after a final ';' */

		size_t name = i;
		if (!dkim_tag_is_alpha(s[i]))
			return -1;
		while (i < len && (dkim_tag_is_alpha(s[i]) ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			i++;
		size_t name_len = i - name;
		i = dkim_tag_skip_fws(s, len, i);
		if (i == len || s[i] != '=')
			return -1;
		i = dkim_tag_skip_fws(s, len, i + 1);

		size_t value = i, value_end = i;
		while (i < len && s[i] != ';') {
			if (dkim_tag_is_valchar(s[i]))
				value_end = i + 1;
			else if (!dkim_tag_is_fws(s[i]))
				return -1;
			i++;
		}
		for (size_t k = 0; k < n; k++)
			if (tags[k].name_len == name_len &&
			    memcmp(tags[k].name, s + name, name_len) == 0)
				return -1;
		if (n == max)
			return -1;
		tags[n++] = (struct dkim_tag){
			.name = s + name, .name_len = name_len,
			.value = s + value, .value_len = value_end - value,
		};
		if (i == len)
			return (int)n;
		i++;			/* ';' */
	}
}

const struct dkim_tag *
dkim_tag_find(const struct dkim_tag *tags, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (tags[i].name_len == len &&
		    memcmp(tags[i].name, name, len) == 0)
			return &tags[i];
	return NULL;
}

int
dkim_tag_value_compact(const struct dkim_tag *tag, struct buf *out)
{
	for (size_t i = 0; i < tag->value_len; i++)
		if (!dkim_tag_is_fws(tag->value[i]) &&
		    buf_append(out, &tag->value[i], 1) < 0)
			return -1;
	return 0;
}
