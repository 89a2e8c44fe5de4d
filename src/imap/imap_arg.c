/* imap_arg.c — typed views of parsed IMAP arguments (imap_arg.h):
   astrings, numbers in their RFC 9051 §9 ranges (never wrapped) and flag
   lists. Numbers must be atoms: a quoted "5" is not a number. */
#include "imap/imap_arg.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

bool
imap_arg_is_astring(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL ||
	    imap_arg_is_string(arg);
}

bool
imap_arg_is_string(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_QUOTED || arg->type == IMAP_ARG_LITERAL;
}

bool
imap_arg_is_atom(const struct imap_arg *arg, const char *word)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
	    arg->len == strlen(word) && strcasecmp(arg->str, word) == 0;
}

bool
imap_arg_is_nstring(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_NIL || imap_arg_is_string(arg);
}

int
imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r)
{
	uint64_t n;

	/* Leading zeros are digits (RFC 9051 number = 1*DIGIT), as
	   Dovecot; strnum refuses sign, junk and overflow. */
	if (arg->type != IMAP_ARG_ATOM ||
	    str_to_u64_n(arg->str, arg->len, &n) == -1 || n > INT64_MAX)
		return -1;
	*n_r = n;
	return 0;
}

int
imap_arg_number(const struct imap_arg *arg, uint32_t *n_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	return str_to_u32_n(arg->str, arg->len, n_r);
}

int
imap_arg_nz_number(const struct imap_arg *arg, uint32_t *n_r)
{
	uint32_t n;

	if (imap_arg_number(arg, &n) == -1 || n == 0)
		return -1;
	*n_r = n;
	return 0;
}

static const struct {
	const char *name;
	unsigned flag;
} imap_arg_system_flags[] = {
	{ "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Answered", IMAP_FLAG_ANSWERED },
	{ "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },
	{ "\\Draft", IMAP_FLAG_DRAFT },
};

/* flag-keyword = atom = 1*ATOM-CHAR (RFC 9051 §9). */
static bool
imap_arg_is_keyword(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\[]", c) != NULL)
			return false;
	}
	return true;
}

struct imap_arg_word {
	const char *s;
	size_t len;
	size_t order;
	bool dup;
};

static int
imap_arg_word_cmp(const void *a, const void *b)
{
	const struct imap_arg_word *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = strncasecmp(x->s, y->s, n);

	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
imap_arg_word_order(const void *a, const void *b)
{
	const struct imap_arg_word *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* Rewrites kw as its words (already there, then new) with duplicates
   dropped (keywords are case-insensitive, RFC 9051 §2.3.2), keeping each
   first spelling. Sorting keeps it O(n log n) for a hostile list. */
static int
imap_arg_keywords_merge(struct buf *kw, const struct imap_arg *args,
    size_t n)
{
	struct imap_arg_word *w;
	size_t nw = 0, cap = n;
	struct buf out;
	char *old = NULL;
	int ret = 0;

	if (kw->len > 0) {
		old = xstrndup(kw->data, kw->len);
		for (const char *p = old; *p != '\0'; p++)
			if (*p == ' ')
				cap++;
		cap++;
	}
	w = xreallocarray(NULL, cap > 0 ? cap : 1, sizeof(*w));
	for (char *p = old; p != NULL && *p != '\0'; ) {
		size_t len = strcspn(p, " ");

		if (len > 0) {
			w[nw] = (struct imap_arg_word){ p, len, nw, false };
			nw++;
		}
		p += len;
		if (*p == ' ')
			p++;
	}
	for (size_t i = 0; i < n; i++) {
		if (args[i].str[0] == '\\')
			continue;
		w[nw] = (struct imap_arg_word){ args[i].str, args[i].len, nw,
		    false };
		nw++;
	}
	qsort(w, nw, sizeof(*w), imap_arg_word_cmp);
	for (size_t i = 1; i < nw; i++)
		if (w[i].len == w[i - 1].len &&
		    strncasecmp(w[i].s, w[i - 1].s, w[i].len) == 0)
			w[i].dup = true;
	qsort(w, nw, sizeof(*w), imap_arg_word_order);

	buf_init(&out, kw->max);
	for (size_t i = 0; i < nw && ret == 0; i++) {
		if (w[i].dup)
			continue;
		if ((out.len > 0 && buf_append(&out, " ", 1) == -1) ||
		    buf_append(&out, w[i].s, w[i].len) == -1)
			ret = -1;
	}
	if (ret == 0) {
		buf_reset(kw);
		if (out.len > 0)
			ret = buf_append(kw, out.data, out.len);
	}
	buf_clear(&out);
	free(w);
	free(old);
	return ret;
}

int
imap_arg_flags(const struct imap_arg *args, size_t n, unsigned *flags_r,
    struct buf *kw, const char **error_r)
{
	unsigned flags = 0;
	bool keywords = false;

	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		size_t j;

		if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) {
			*error_r = "Flags must be atoms";
			return -1;
		}
		if (a->str[0] != '\\') {
			if (!imap_arg_is_keyword(a->str, a->len)) {
				*error_r = "Invalid keyword";
				return -1;
			}
			keywords = true;
			continue;
		}
		for (j = 0; j < sizeof(imap_arg_system_flags) /
		    sizeof(imap_arg_system_flags[0]); j++)
			if (imap_arg_is_atom(a, imap_arg_system_flags[j].name))
				break;
		if (j == sizeof(imap_arg_system_flags) /
		    sizeof(imap_arg_system_flags[0])) {
			/* \Recent is the server's (RFC 3501 §2.3.2); \* only
			   appears in PERMANENTFLAGS. */
			*error_r = imap_arg_is_atom(a, "\\Recent") ?
			    "\\Recent flag can't be changed" :
			    "Invalid system flag";
			return -1;
		}
		flags |= imap_arg_system_flags[j].flag;
	}
	if (keywords && imap_arg_keywords_merge(kw, args, n) == -1) {
		*error_r = "Too many keywords";
		return -1;
	}
	*flags_r = flags;
	return 0;
}
