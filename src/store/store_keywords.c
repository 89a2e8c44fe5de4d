/* store_keywords.c — keyword lists (RFC 9051 §2.3.2 flag-keyword): stored
   as atoms separated by single spaces, each once (keywords compare
   case-insensitively, so "$Label1" and "$label1" are one; the first
   spelling given is kept). System flags (\Seen ...) are bits, not
   keywords: a backslash is refused here. */
#include "store/store_private.h"

#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

/* RFC 9051 ATOM-CHAR: any CHAR except atom-specials; and no '\\', which
   only starts a system flag. */
static bool
store_keywords_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* True when word [w, w + len) is among the words of list. */
static bool
store_keywords_has(const char *list, const char *w, size_t len)
{
	for (const char *p = list; *p != '\0'; ) {
		const char *end = strchr(p, ' ');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n == len && strncasecmp(p, w, len) == 0)
			return true;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

static void
store_keywords_add(struct buf *out, const char *w, size_t len)
{
	if (out->len > 0)
		buf_append(out, " ", 1);
	buf_append(out, w, len);
}

int
store_keywords_canon(struct store *s, const char *in, char **out_r)
{
	struct buf out;
	size_t count = 0;

	*out_r = NULL;
	buf_init(&out, 0);
	buf_append(&out, "", 0);
	for (const char *p = in != NULL ? in : ""; *p != '\0'; ) {
		const char *w;
		size_t len;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && *p != ' ')
			p++;
		len = (size_t)(p - w);
		for (size_t i = 0; i < len; i++) {
			if (!store_keywords_is_atom_char((unsigned char)w[i])) {
				buf_clear(&out);
				return store_fail(s, STORE_INVALID,
				    "bad keyword (character 0x%02x)",
				    (unsigned char)w[i]);
			}
		}
		if (len > STORE_KEYWORD_LEN_MAX) {
			buf_clear(&out);
			return store_fail(s, STORE_INVALID, "keyword longer "
			    "than %d bytes", STORE_KEYWORD_LEN_MAX);
		}
		if (store_keywords_has(out.data, w, len))
			continue;
		if (++count > STORE_KEYWORDS_MAX) {
			buf_clear(&out);
			return store_fail(s, STORE_INVALID, "more than %d "
			    "keywords", STORE_KEYWORDS_MAX);
		}
		store_keywords_add(&out, w, len);
	}
	*out_r = buf_steal(&out);
	return STORE_OK;
}

char *
store_keywords_apply(const char *old, enum store_flags_op op,
    const char *arg)
{
	const char *from = op == STORE_FLAGS_SET ? arg : old;
	struct buf out;

	buf_init(&out, 0);
	buf_append(&out, "", 0);
	for (const char *p = from; *p != '\0'; ) {
		const char *end = strchr(p, ' ');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n > 0 && !(op == STORE_FLAGS_REMOVE &&
		    store_keywords_has(arg, p, n)))
			store_keywords_add(&out, p, n);
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (op == STORE_FLAGS_ADD) {
		/* old is canonical and arg too: the union stays so. It
		   may pass STORE_KEYWORDS_MAX: store_flags refuses that. */
		for (const char *p = arg; *p != '\0'; ) {
			const char *end = strchr(p, ' ');
			size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

			if (n > 0 && !store_keywords_has(out.data, p, n))
				store_keywords_add(&out, p, n);
			if (end == NULL)
				break;
			p = end + 1;
		}
	}
	return buf_steal(&out);
}
