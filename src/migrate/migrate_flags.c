/* migrate_flags.c — see migrate_flags.h. */
#include "migrate/migrate_flags.h"

#include <strings.h>

#include "lib/buf.h"

bool
migrate_flags_keyword_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > MIGRATE_FLAGS_KEYWORD_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* CTL, SP and 8-bit: not ATOM-CHAR. */
		if (c <= 0x20 || c >= 0x7f)
			return false;
		switch (c) {
		case '(': case ')': case '{': case '%': case '*':
		case '"': case '\\': case ']':
			return false;
		default:
			break;
		}
	}
	return true;
}

int
migrate_flags_keyword_add(struct buf *list, const char *s, size_t len)
{
	size_t count = 0;

	if (!migrate_flags_keyword_is_valid(s, len))
		return -1;
	for (size_t i = 0; i < list->len; count++) {
		size_t end = i;

		while (end < list->len && list->data[end] != ' ')
			end++;
		if (end - i == len && strncasecmp(list->data + i, s, len) == 0)
			return 0;
		i = end + 1;
	}
	size_t old = list->len;

	if (count >= MIGRATE_FLAGS_KEYWORDS_MAX)
		return -1;
	if ((list->len > 0 && buf_append(list, " ", 1) == -1) ||
	    buf_append(list, s, len) == -1) {
		list->len = old;
		if (list->data != NULL)
			list->data[old] = '\0';
		return -1;
	}
	return 1;
}
