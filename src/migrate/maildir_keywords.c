/* maildir_keywords.c — see maildir_keywords.h. */
#include "migrate/maildir_keywords.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "migrate/migrate_flags.h"

void
maildir_keywords_parse(const char *data, size_t len,
    struct maildir_keywords *kw, size_t *bad_r)
{
	size_t pos = 0;

	*bad_r = 0;
	while (pos < len) {
		const char *line = data + pos, *nl, *sp;
		size_t line_len;
		uint32_t idx;

		nl = memchr(line, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0)
			continue;
		sp = memchr(line, ' ', line_len);
		if (sp == NULL ||
		    str_to_u32_n(line, (size_t)(sp - line), &idx) == -1 ||
		    idx >= MAILDIR_KEYWORDS_N || kw->names[idx] != NULL ||
		    !migrate_flags_keyword_is_valid(sp + 1,
		    (size_t)(line + line_len - sp - 1))) {
			(*bad_r)++;
			continue;
		}
		kw->names[idx] = xstrndup(sp + 1,
		    (size_t)(line + line_len - sp - 1));
	}
}

unsigned
maildir_keywords_apply(const struct maildir_keywords *kw, uint32_t letters,
    struct buf *list)
{
	unsigned unknown = 0;

	for (unsigned i = 0; i < MAILDIR_KEYWORDS_N; i++) {
		if ((letters & (1u << i)) == 0)
			continue;
		if (kw->names[i] == NULL)
			unknown++;
		else
			(void)migrate_flags_keyword_add(list, kw->names[i],
			    strlen(kw->names[i]));
	}
	return unknown;
}

int
maildir_keywords_index(struct maildir_keywords *kw, const char *name,
    size_t len, bool add)
{
	int free_idx = -1;

	for (int i = 0; i < MAILDIR_KEYWORDS_N; i++) {
		const char *n = kw->names[i];

		if (n == NULL) {
			if (free_idx < 0)
				free_idx = i;
		} else if (strlen(n) == len && strncasecmp(n, name, len) == 0) {
			return i;
		}
	}
	if (!add || free_idx < 0)
		return -1;
	kw->names[free_idx] = xstrndup(name, len);
	return free_idx;
}

int
maildir_keywords_format(const struct maildir_keywords *kw, struct buf *out)
{
	for (unsigned i = 0; i < MAILDIR_KEYWORDS_N; i++)
		if (kw->names[i] != NULL &&
		    buf_printf(out, "%u %s\n", i, kw->names[i]) == -1)
			return -1;
	return 0;
}

void
maildir_keywords_clear(struct maildir_keywords *kw)
{
	for (unsigned i = 0; i < MAILDIR_KEYWORDS_N; i++)
		xfree(&kw->names[i]);
}
