/* store_name.c — mailbox names (store.h): UTF-8, '/'-separated, at most
   STORE_NAME_MAX bytes and STORE_DEPTH_MAX levels, no empty, "." or ".."
   level, no control character (C0, DEL, C1), no malformed UTF-8.
   "INBOX" is case-insensitive (RFC 9051 §5.1): a first level spelled so
   in any case is stored as "INBOX", its children as "INBOX/...". */
#include "store/store_private.h"

#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"

static int
store_name_refuse(struct store *s, const char *name, const char *why)
{
	char shown[LOG_STR_MAX];

	log_str(shown, sizeof(shown), name, strnlen(name, STORE_NAME_MAX + 1));
	return store_fail(s, STORE_INVALID, "bad mailbox name \"%s\": %s",
	    shown, why);
}

/* Checks one level [p, p + len). NULL when it is fine, else why not. */
static const char *
store_name_level_error(const unsigned char *p, size_t len)
{
	if (len == 0)
		return "empty level";
	if ((len == 1 && p[0] == '.') ||
	    (len == 2 && p[0] == '.' && p[1] == '.'))
		return "\".\" or \"..\" level";
	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return "control character";
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return "invalid UTF-8";
		if (cp >= 0x80 && cp <= 0x9f)
			return "control character";
		i += n;
	}
	return NULL;
}

int
store_name_canon(struct store *s, const char *name, char **canon_r)
{
	size_t len, levels = 0;
	const char *p, *why;
	char *canon;

	*canon_r = NULL;
	if (name == NULL)
		return store_fail(s, STORE_INVALID, "no mailbox name");
	len = strnlen(name, STORE_NAME_MAX + 1);
	if (len == 0)
		return store_name_refuse(s, name, "empty");
	if (len > STORE_NAME_MAX)
		return store_name_refuse(s, name, "longer than 255 bytes");
	if (name[0] == STORE_SEPARATOR || name[len - 1] == STORE_SEPARATOR)
		return store_name_refuse(s, name, "leading or trailing '/'");
	for (p = name; ; ) {
		const char *end = strchr(p, STORE_SEPARATOR);
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		why = store_name_level_error((const unsigned char *)p, n);
		if (why != NULL)
			return store_name_refuse(s, name, why);
		if (++levels > STORE_DEPTH_MAX)
			return store_name_refuse(s, name,
			    "more than 16 levels");
		if (end == NULL)
			break;
		p = end + 1;
	}
	canon = xstrdup(name);
	if (strncasecmp(canon, "INBOX", 5) == 0 &&
	    (canon[5] == '\0' || canon[5] == STORE_SEPARATOR))
		memcpy(canon, "INBOX", 5);
	*canon_r = canon;
	return STORE_OK;
}

bool
store_name_is_inbox(const char *canon)
{
	return strcmp(canon, "INBOX") == 0;
}

unsigned
store_name_depth(const char *canon)
{
	unsigned n = 1;

	for (const char *p = canon; *p != '\0'; p++)
		if (*p == STORE_SEPARATOR)
			n++;
	return n;
}
