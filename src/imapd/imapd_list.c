/* imapd_list.c — LIST/LSUB arguments and mailbox patterns (imapd_list.h).
   The answers are imapd_list_write.c's. */
#include "imapd/imapd_list.h"

#include <string.h>
#include <strings.h>

#include "imap/imap_arg.h"
#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"
#include "mail/mutf7.h"

/* Appends the client's name octets as UTF-8. 0, or -1. */
static int
imapd_list_decode(const char *s, size_t len, bool utf8, struct buf *out)
{
	if (!utf8)
		return mutf7_decode(s, len, out);
	for (size_t i = 0; i < len; ) {
		const unsigned char *p = (const unsigned char *)s + i;
		uint32_t cp;
		size_t n = 1;

		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p >= 0x80 && (n = utf8_decode(p, len - i, &cp)) == 0)
			return -1;
		i += n;
	}
	return buf_append(out, s, len);
}

static bool
imapd_list_is_wild(char c)
{
	return c == '*' || c == '%';
}

int
imapd_list_pattern_init(struct imapd_list_pattern *p, const char *ref,
    size_t ref_len, const char *pat, size_t pat_len, bool utf8,
    const char **error_r)
{
	struct buf b;
	size_t out = 0, literal = 0;
	char *t;

	memset(p, 0, sizeof(*p));
	/* Unbounded here: the input is bounded by the command line, and
	   decoding at most doubles it. */
	buf_init(&b, 0);
	/* RFC 9051 §6.3.9: the pattern is read relative to the reference,
	   unless it starts at the root (our namespace prefix is ""). */
	if ((pat_len == 0 || pat[0] != '/') &&
	    imapd_list_decode(ref, ref_len, utf8, &b) == -1) {
		buf_clear(&b);
		*error_r = "Invalid reference name";
		return -1;
	}
	if (imapd_list_decode(pat, pat_len, utf8, &b) == -1) {
		buf_clear(&b);
		*error_r = "Invalid mailbox pattern";
		return -1;
	}
	t = buf_steal(&b);
	/* INBOX is case-insensitive (RFC 9051 §5.1). */
	if (strncasecmp(t, "INBOX", 5) == 0 && (t[5] == '\0' || t[5] == '/'))
		memcpy(t, "INBOX", 5);
	/* Collapse wildcard runs: "*%" and "%*" are "*", "%%" is "%". */
	for (size_t i = 0; t[i] != '\0'; ) {
		if (!imapd_list_is_wild(t[i])) {
			t[out++] = t[i++];
			literal++;
			continue;
		}
		char w = '%';

		for (; imapd_list_is_wild(t[i]); i++)
			if (t[i] == '*')
				w = '*';
		t[out++] = w;
	}
	t[out] = '\0';
	p->text = t;
	p->len = out;
	p->never = literal > STORE_NAME_MAX || out > IMAPD_LIST_PATTERN_MAX;
	return 0;
}

void
imapd_list_pattern_clear(struct imapd_list_pattern *p)
{
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* Adds the states reachable by a wildcard matching nothing. */
static void
imapd_list_closure(const struct imapd_list_pattern *p, bool *set)
{
	for (size_t j = 0; j < p->len; j++)
		if (set[j] && imapd_list_is_wild(p->text[j]))
			set[j + 1] = true;
}

bool
imapd_list_match(const struct imapd_list_pattern *p, const char *name,
    size_t len)
{
	bool a[IMAPD_LIST_PATTERN_MAX + 1], b[IMAPD_LIST_PATTERN_MAX + 1];
	bool *cur = a, *next = b, inbox;
	size_t m = p->len;

	if (p->never || len > STORE_NAME_MAX)
		return false;
	inbox = len >= 5 && memcmp(name, "INBOX", 5) == 0 &&
	    (len == 5 || name[5] == '/');
	/* A set of pattern positions (an NFA run): each name octet is
	   looked at once per position, never backtracked over. */
	memset(cur, 0, m + 1);
	cur[0] = true;
	imapd_list_closure(p, cur);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool any = false;

		memset(next, 0, m + 1);
		for (size_t j = 0; j < m; j++) {
			char pc = p->text[j];

			if (!cur[j])
				continue;
			if (pc == '*' || (pc == '%' && c != '/'))
				next[j] = any = true;
			else if (pc == c || (inbox && i < 5 &&
			    pc >= 'a' && pc <= 'z' && pc - 'a' + 'A' == c))
				next[j + 1] = any = true;
		}
		if (!any)
			return false;
		imapd_list_closure(p, next);
		bool *t = cur;

		cur = next;
		next = t;
	}
	return cur[m];
}

static const struct {
	const char *name;
	unsigned bit;
} imapd_list_select_names[] = {
	{ "SUBSCRIBED", IMAPD_LIST_SEL_SUBSCRIBED },
	{ "REMOTE", IMAPD_LIST_SEL_REMOTE },
	{ "RECURSIVEMATCH", IMAPD_LIST_SEL_RECURSIVEMATCH },
	{ "SPECIAL-USE", IMAPD_LIST_SEL_SPECIAL_USE },
}, imapd_list_return_names[] = {
	{ "SUBSCRIBED", IMAPD_LIST_RET_SUBSCRIBED },
	{ "CHILDREN", IMAPD_LIST_RET_CHILDREN },
	{ "SPECIAL-USE", IMAPD_LIST_RET_SPECIAL_USE },
};

static int
imapd_list_parse_select(const struct imap_arg *list, size_t n,
    unsigned *select_r)
{
	for (size_t i = 0; i < n; i++) {
		size_t k, nk = sizeof(imapd_list_select_names) /
		    sizeof(imapd_list_select_names[0]);

		for (k = 0; k < nk; k++)
			if (imap_arg_is_atom(&list[i],
			    imapd_list_select_names[k].name))
				break;
		if (k == nk)
			return -1;
		*select_r |= imapd_list_select_names[k].bit;
	}
	return 0;
}

static int
imapd_list_parse_return(const struct imap_arg *list, size_t n,
    struct imapd_list_params *p, const char **error_r)
{
	*error_r = "Invalid LIST return option";
	for (size_t i = 0; i < n; i++) {
		size_t k, nk = sizeof(imapd_list_return_names) /
		    sizeof(imapd_list_return_names[0]);

		if (imap_arg_is_atom(&list[i], "STATUS")) {
			/* RFC 5819: STATUS (att ...) */
			if (i + 1 >= n || list[i + 1].type != IMAP_ARG_LIST)
				return -1;
			if (imapd_status_items(list[i + 1].list,
			    list[i + 1].n_list, &p->status_items,
			    error_r) == -1)
				return -1;
			p->ret |= IMAPD_LIST_RET_STATUS;
			i++;
			continue;
		}
		for (k = 0; k < nk; k++)
			if (imap_arg_is_atom(&list[i],
			    imapd_list_return_names[k].name))
				break;
		if (k == nk)
			return -1;
		p->ret |= imapd_list_return_names[k].bit;
	}
	return 0;
}

static int
imapd_list_add_pattern(struct imapd_list_params *p, const struct imap_arg *ref,
    const struct imap_arg *pat, bool utf8, const char **error_r)
{
	struct imapd_list_pattern *lp;

	if (!imap_arg_is_astring(pat)) {
		*error_r = "Invalid mailbox pattern";
		return -1;
	}
	p->patterns = xreallocarray(p->patterns, p->n_patterns + 1,
	    sizeof(*p->patterns));
	lp = &p->patterns[p->n_patterns];
	/* The atom NIL is an astring too, with no str of its own. */
	if (imapd_list_pattern_init(lp,
	    ref->type == IMAP_ARG_NIL ? "NIL" : ref->str,
	    ref->type == IMAP_ARG_NIL ? 3 : ref->len,
	    pat->type == IMAP_ARG_NIL ? "NIL" : pat->str,
	    pat->type == IMAP_ARG_NIL ? 3 : pat->len, utf8, error_r) == -1)
		return -1;
	p->n_patterns++;
	return 0;
}

int
imapd_list_parse(const struct imap_arg *args, size_t n, bool lsub,
    bool utf8, struct imapd_list_params *p, const char **error_r)
{
	const struct imap_arg *ref;
	bool extended = false;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	p->lsub = lsub;
	*error_r = "Invalid arguments";
	/* RFC 5258 §6: LIST [(selection options)] ref (pattern ...)
	   [RETURN (return options)]. */
	if (!lsub && i < n && args[i].type == IMAP_ARG_LIST) {
		if (imapd_list_parse_select(args[i].list, args[i].n_list,
		    &p->select) == -1) {
			*error_r = "Invalid LIST selection option";
			return -1;
		}
		extended = true;
		i++;
	}
	if (i + 2 > n || !imap_arg_is_astring(&args[i]))
		return -1;
	ref = &args[i++];
	if (!lsub && args[i].type == IMAP_ARG_LIST) {
		if (args[i].n_list == 0)
			return -1;
		for (size_t k = 0; k < args[i].n_list; k++)
			if (imapd_list_add_pattern(p, ref, &args[i].list[k],
			    utf8, error_r) == -1)
				goto fail;
		extended = true;
	} else if (imapd_list_add_pattern(p, ref, &args[i], utf8,
	    error_r) == -1) {
		goto fail;
	}
	i++;
	if (!lsub && i + 2 == n && imap_arg_is_atom(&args[i], "RETURN") &&
	    args[i + 1].type == IMAP_ARG_LIST) {
		if (imapd_list_parse_return(args[i + 1].list,
		    args[i + 1].n_list, p, error_r) == -1)
			goto fail;
		extended = true;
		i += 2;
	}
	if (i != n) {
		*error_r = "Invalid arguments";
		goto fail;
	}
	/* RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE) is an
	   error: it qualifies another selection option. */
	if ((p->select & IMAPD_LIST_SEL_RECURSIVEMATCH) != 0 &&
	    (p->select & (IMAPD_LIST_SEL_SUBSCRIBED |
	    IMAPD_LIST_SEL_SPECIAL_USE)) == 0) {
		*error_r = "RECURSIVEMATCH needs another selection option";
		goto fail;
	}
	if ((p->select & IMAPD_LIST_SEL_SUBSCRIBED) != 0)
		p->ret |= IMAPD_LIST_RET_SUBSCRIBED;
	if ((p->select & IMAPD_LIST_SEL_SPECIAL_USE) != 0)
		p->ret |= IMAPD_LIST_RET_SPECIAL_USE;
	/* RFC 9051 §6.3.9: an empty pattern asks for the separator. */
	p->root_only = !lsub && !extended &&
	    args[i - 1].type != IMAP_ARG_NIL && args[i - 1].len == 0;
	return 0;
fail:
	imapd_list_params_clear(p);
	return -1;
}

void
imapd_list_params_clear(struct imapd_list_params *p)
{
	for (size_t i = 0; i < p->n_patterns; i++)
		imapd_list_pattern_clear(&p->patterns[i]);
	free(p->patterns);
	p->patterns = NULL;
	p->n_patterns = 0;
}

bool
imapd_list_needs_subscriptions(const struct imapd_list_params *p)
{
	return p->lsub || (p->select & IMAPD_LIST_SEL_SUBSCRIBED) != 0;
}
