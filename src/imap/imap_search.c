/* imap_search.c — SEARCH, SORT and THREAD arguments (imap_search.h).
   The key grammar nests (parenthesised lists, NOT, OR), so it is parsed
   with an explicit stack of frames bounded by max_depth, never by
   recursion: a client's thousands of "NOT" or "(" are refused with BAD.
   The tree's depth is thereby bounded too, which keeps the recursive
   imap_search_clear safe. Numbers are range-checked (LARGER/SMALLER and
   MODSEQ number64, OLDER/YOUNGER nz-number), dates are real days. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"

enum imap_search_arg {
	SA_NONE,
	SA_ASTRING,
	SA_DATE,
	SA_NUMBER64,
	SA_NZNUMBER,
	SA_KEYWORD,
	SA_SEQSET,
	SA_OBJECTID,
	SA_HEADER,
	SA_MODSEQ,
	SA_NOT,
	SA_OR,
};

static const struct {
	const char *name;
	enum imap_search_key key;
	unsigned flag;
	enum imap_search_arg arg;
} imap_search_keys[] = {
	{ "ALL", IMAP_SEARCH_ALL, 0, SA_NONE },
	{ "ANSWERED", IMAP_SEARCH_FLAG, IMAP_FLAG_ANSWERED, SA_NONE },
	{ "DELETED", IMAP_SEARCH_FLAG, IMAP_FLAG_DELETED, SA_NONE },
	{ "DRAFT", IMAP_SEARCH_FLAG, IMAP_FLAG_DRAFT, SA_NONE },
	{ "FLAGGED", IMAP_SEARCH_FLAG, IMAP_FLAG_FLAGGED, SA_NONE },
	{ "SEEN", IMAP_SEARCH_FLAG, IMAP_FLAG_SEEN, SA_NONE },
	{ "UNANSWERED", IMAP_SEARCH_UNFLAG, IMAP_FLAG_ANSWERED, SA_NONE },
	{ "UNDELETED", IMAP_SEARCH_UNFLAG, IMAP_FLAG_DELETED, SA_NONE },
	{ "UNDRAFT", IMAP_SEARCH_UNFLAG, IMAP_FLAG_DRAFT, SA_NONE },
	{ "UNFLAGGED", IMAP_SEARCH_UNFLAG, IMAP_FLAG_FLAGGED, SA_NONE },
	{ "UNSEEN", IMAP_SEARCH_UNFLAG, IMAP_FLAG_SEEN, SA_NONE },
	{ "RECENT", IMAP_SEARCH_RECENT, 0, SA_NONE },
	{ "NEW", IMAP_SEARCH_NEW, 0, SA_NONE },
	{ "OLD", IMAP_SEARCH_OLD, 0, SA_NONE },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, 0, SA_KEYWORD },
	{ "UNKEYWORD", IMAP_SEARCH_UNKEYWORD, 0, SA_KEYWORD },
	{ "BEFORE", IMAP_SEARCH_BEFORE, 0, SA_DATE },
	{ "ON", IMAP_SEARCH_ON, 0, SA_DATE },
	{ "SINCE", IMAP_SEARCH_SINCE, 0, SA_DATE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, 0, SA_DATE },
	{ "SENTON", IMAP_SEARCH_SENTON, 0, SA_DATE },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, 0, SA_DATE },
	{ "SAVEDBEFORE", IMAP_SEARCH_SAVEDBEFORE, 0, SA_DATE },
	{ "SAVEDON", IMAP_SEARCH_SAVEDON, 0, SA_DATE },
	{ "SAVEDSINCE", IMAP_SEARCH_SAVEDSINCE, 0, SA_DATE },
	{ "SAVEDATESUPPORTED", IMAP_SEARCH_SAVEDATESUPPORTED, 0, SA_NONE },
	{ "OLDER", IMAP_SEARCH_OLDER, 0, SA_NZNUMBER },
	{ "YOUNGER", IMAP_SEARCH_YOUNGER, 0, SA_NZNUMBER },
	{ "LARGER", IMAP_SEARCH_LARGER, 0, SA_NUMBER64 },
	{ "SMALLER", IMAP_SEARCH_SMALLER, 0, SA_NUMBER64 },
	{ "BCC", IMAP_SEARCH_BCC, 0, SA_ASTRING },
	{ "CC", IMAP_SEARCH_CC, 0, SA_ASTRING },
	{ "FROM", IMAP_SEARCH_FROM, 0, SA_ASTRING },
	{ "TO", IMAP_SEARCH_TO, 0, SA_ASTRING },
	{ "SUBJECT", IMAP_SEARCH_SUBJECT, 0, SA_ASTRING },
	{ "BODY", IMAP_SEARCH_BODY, 0, SA_ASTRING },
	{ "TEXT", IMAP_SEARCH_TEXT, 0, SA_ASTRING },
	{ "HEADER", IMAP_SEARCH_HEADER, 0, SA_HEADER },
	{ "UID", IMAP_SEARCH_UID, 0, SA_SEQSET },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, 0, SA_MODSEQ },
	{ "EMAILID", IMAP_SEARCH_EMAILID, 0, SA_OBJECTID },
	{ "THREADID", IMAP_SEARCH_THREADID, 0, SA_OBJECTID },
	{ "NOT", IMAP_SEARCH_NOT, 0, SA_NOT },
	{ "OR", IMAP_SEARCH_OR, 0, SA_OR },
};

/* A node still taking children: a parenthesised list (or the top level)
   owns a cursor over its arguments; NOT and OR take theirs from the
   nearest list below them on the stack. */
struct imap_search_frame {
	struct imap_search_node *node;
	const struct imap_arg *args;	/* list frames only */
	size_t n, pos;
	size_t need;			/* NOT 1, OR 2; lists 0 */
};

struct imap_search_parser {
	struct imap_search_frame *stack;
	size_t sp, cap;
	unsigned max_depth;
	struct imap_search *search;
	const char *error;
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
   days_from_civil). */
static int32_t
imap_search_days(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int32_t)doe - 719468;
}

/* date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-"
   date-month "-" date-year (RFC 9051 §9), a day that exists. */
static int
imap_search_date(const struct imap_arg *arg, int32_t *day_r)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	const char *s = arg->str;
	size_t len = arg->len, i = 0;
	unsigned day = 0, month, year = 0;

	if (!imap_arg_is_astring(arg))
		return -1;
	for (; i < len && i < 2 && s[i] >= '0' && s[i] <= '9'; i++)
		day = day * 10 + (unsigned)(s[i] - '0');
	if (i == 0 || len - i != 9 || s[i] != '-' || s[i + 4] != '-')
		return -1;
	for (month = 0; month < 12; month++)
		if (strncasecmp(s + i + 1, months[month], 3) == 0)
			break;
	if (month == 12)
		return -1;
	for (size_t j = i + 5; j < len; j++) {
		if (s[j] < '0' || s[j] > '9')
			return -1;
		year = year * 10 + (unsigned)(s[j] - '0');
	}
	if (day == 0 || day > mdays[month] || (month == 1 && day == 29 &&
	    (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0))))
		return -1;
	*day_r = imap_search_days((int)year, month + 1, day);
	return 0;
}

/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7). */
static bool
imap_search_is_objectid(const struct imap_arg *arg)
{
	if (!imap_arg_is_astring(arg) || arg->len == 0 || arg->len > 255)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		char c = arg->str[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void
imap_search_node_clear(struct imap_search_node *node)
{
	/* Depth is bounded by the parser's max_depth. */
	for (size_t i = 0; i < node->n_children; i++)
		imap_search_node_clear(&node->children[i]);
	free(node->children);
	imap_seqset_clear(&node->set);
	memset(node, 0, sizeof(*node));
}

static struct imap_search_node *
imap_search_add_child(struct imap_search_node *parent)
{
	size_t n = parent->n_children;
	struct imap_search_node *child;

	/* Capacity doubles: it is the next power of two of n. */
	if ((n & (n - 1)) == 0)
		parent->children = xreallocarray(parent->children,
		    n ? n * 2 : 1, sizeof(*parent->children));
	child = &parent->children[parent->n_children++];
	memset(child, 0, sizeof(*child));
	return child;
}

static int
imap_search_push(struct imap_search_parser *sp, struct imap_search_node *node,
    const struct imap_arg *args, size_t n, size_t need)
{
	/* The top level is frame 0; each nesting adds one. */
	if (sp->sp > sp->max_depth) {
		sp->error = "Too deeply nested search keys";
		return -1;
	}
	if (sp->sp == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 8;
		sp->stack = xreallocarray(sp->stack, sp->cap,
		    sizeof(*sp->stack));
	}
	sp->stack[sp->sp++] = (struct imap_search_frame){ node, args, n, 0,
	    need };
	return 0;
}

/* The next argument of the nearest list frame, or NULL. */
static const struct imap_arg *
imap_search_next(struct imap_search_parser *sp)
{
	for (size_t i = sp->sp; i-- > 0; ) {
		struct imap_search_frame *f = &sp->stack[i];

		if (f->need == 0)
			return f->pos < f->n ? &f->args[f->pos++] : NULL;
	}
	return NULL;
}

/* Fills node from the key at arg and the arguments it takes. */
static int
imap_search_key(struct imap_search_parser *sp, const struct imap_arg *arg,
    struct imap_search_node *node)
{
	const struct imap_arg *a = NULL, *b;
	size_t i, nkeys = sizeof(imap_search_keys) / sizeof(imap_search_keys[0]);
	uint32_t n32;

	if (arg->type == IMAP_ARG_LIST) {
		node->key = IMAP_SEARCH_AND;
		if (arg->n_list == 0) {
			sp->error = "Empty search key list";
			return -1;
		}
		return imap_search_push(sp, node, arg->list, arg->n_list, 0);
	}
	if (arg->type != IMAP_ARG_ATOM) {
		sp->error = "Invalid search key";
		return -1;
	}
	for (i = 0; i < nkeys; i++)
		if (imap_arg_is_atom(arg, imap_search_keys[i].name))
			break;
	if (i == nkeys) {
		char c = arg->str[0];

		if (!((c >= '0' && c <= '9') || c == '*' || c == '$')) {
			sp->error = "Unknown search key";
			return -1;
		}
		node->key = IMAP_SEARCH_SEQSET;
		if (imap_seqset_parse(arg->str, arg->len, SIZE_MAX, &node->set,
		    &sp->error) == -1)
			return -1;
		return 0;
	}
	node->key = imap_search_keys[i].key;
	node->flag = imap_search_keys[i].flag;
	if (imap_search_keys[i].arg != SA_NONE &&
	    imap_search_keys[i].arg != SA_NOT &&
	    imap_search_keys[i].arg != SA_OR &&
	    (a = imap_search_next(sp)) == NULL) {
		sp->error = "Missing search key argument";
		return -1;
	}
	switch (imap_search_keys[i].arg) {
	case SA_NONE:
		return 0;
	case SA_NOT:
		node->children = xcalloc(1, sizeof(*node->children));
		return imap_search_push(sp, node, NULL, 0, 1);
	case SA_OR:
		node->children = xcalloc(2, sizeof(*node->children));
		return imap_search_push(sp, node, NULL, 0, 2);
	case SA_ASTRING:
		if (!imap_arg_is_astring(a))
			break;
		node->str = a->str;
		node->str_len = a->len;
		return 0;
	case SA_HEADER:
		if (!imap_arg_is_astring(a) || (b = imap_search_next(sp)) ==
		    NULL || !imap_arg_is_astring(b) || a->len == 0)
			break;
		node->field = a->str;
		node->str = b->str;
		node->str_len = b->len;
		return 0;
	case SA_DATE:
		if (imap_search_date(a, &node->day) == -1) {
			sp->error = "Invalid search date";
			return -1;
		}
		return 0;
	case SA_NUMBER64:
		if (imap_arg_number64(a, &node->number) == -1) {
			sp->error = "Invalid search size";
			return -1;
		}
		return 0;
	case SA_NZNUMBER:
		if (imap_arg_nz_number(a, &n32) == -1)
			break;
		node->number = n32;
		return 0;
	case SA_KEYWORD:
		if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL)
			break;
		node->str = a->str;
		node->str_len = a->len;
		return 0;
	case SA_SEQSET:
		if (a->type != IMAP_ARG_ATOM)
			break;
		return imap_seqset_parse(a->str, a->len, SIZE_MAX, &node->set,
		    &sp->error);
	case SA_OBJECTID:
		if (!imap_search_is_objectid(a))
			break;
		node->str = a->str;
		node->str_len = a->len;
		return 0;
	case SA_MODSEQ:
		/* [entry-name entry-type-req] mod-sequence-valzer (RFC 7162
		   §3.1.5); the entry is parsed and ignored, as Dovecot. */
		if (imap_arg_is_string(a)) {
			if ((b = imap_search_next(sp)) == NULL ||
			    !(imap_arg_is_atom(b, "priv") ||
			    imap_arg_is_atom(b, "shared") ||
			    imap_arg_is_atom(b, "all")) ||
			    (a = imap_search_next(sp)) == NULL)
				break;
		}
		if (imap_arg_number64(a, &node->number) == -1)
			break;
		sp->search->uses_modseq = true;
		return 0;
	}
	sp->error = "Invalid search key argument";
	return -1;
}

/* The keys args[0..n) as the children of search->root (an AND). */
static int
imap_search_keys_parse(const struct imap_arg *args, size_t n,
    unsigned max_depth, struct imap_search *search, const char **error_r)
{
	struct imap_search_parser sp = { .max_depth = max_depth,
	    .search = search };
	int ret = -1;

	search->root.key = IMAP_SEARCH_AND;
	if (n == 0) {
		*error_r = "Missing search keys";
		return -1;
	}
	if (imap_search_push(&sp, &search->root, args, n, 0) == -1)
		goto out;
	while (sp.sp > 0) {
		struct imap_search_frame *f = &sp.stack[sp.sp - 1];
		const struct imap_arg *arg;
		struct imap_search_node *child;

		if (f->need > 0) {
			if (f->node->n_children == f->need) {
				sp.sp--;
				continue;
			}
			/* NOT and OR: children preallocated */
			child = &f->node->children[f->node->n_children++];
			if ((arg = imap_search_next(&sp)) == NULL) {
				sp.error = "Missing search key";
				goto out;
			}
		} else {
			if (f->pos == f->n) {
				sp.sp--;
				continue;
			}
			arg = &f->args[f->pos++];
			child = imap_search_add_child(f->node);
		}
		if (imap_search_key(&sp, arg, child) == -1)
			goto out;
	}
	ret = 0;
out:
	free(sp.stack);
	if (ret == -1)
		*error_r = sp.error;
	return ret;
}

/* RETURN (...) (RFC 4731 §3.1, SAVE RFC 5182); () means ALL. */
static int
imap_search_return(const struct imap_arg *arg, struct imap_search *search,
    const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
	};

	if (arg->type != IMAP_ARG_LIST) {
		*error_r = "Invalid RETURN options";
		return -1;
	}
	search->esearch = true;
	for (size_t i = 0; i < arg->n_list; i++) {
		size_t j;

		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (imap_arg_is_atom(&arg->list[i], opts[j].name))
				break;
		if (j == sizeof(opts) / sizeof(opts[0])) {
			*error_r = "Unknown RETURN option";
			return -1;
		}
		search->returns |= opts[j].bit;
	}
	if (arg->n_list == 0)
		search->returns = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

static bool
imap_search_is_charset(const struct imap_arg *arg)
{
	return imap_arg_is_astring(arg) && arg->len > 0 &&
	    memchr(arg->str, '\0', arg->len) == NULL;
}

int
imap_search_parse(const struct imap_arg *args, size_t n, unsigned max_depth,
    struct imap_search *search_r, const char **error_r)
{
	size_t i = 0;

	memset(search_r, 0, sizeof(*search_r));
	*error_r = NULL;
	if (n > 0 && imap_arg_is_atom(&args[0], "RETURN")) {
		if (n < 2 || imap_search_return(&args[1], search_r,
		    error_r) == -1)
			goto fail;
		i = 2;
	}
	if (n - i >= 1 && imap_arg_is_atom(&args[i], "CHARSET")) {
		if (n - i < 2 || !imap_search_is_charset(&args[i + 1])) {
			*error_r = "Invalid CHARSET";
			goto fail;
		}
		search_r->charset = args[i + 1].str;
		i += 2;
	}
	if (imap_search_keys_parse(args + i, n - i, max_depth, search_r,
	    error_r) == -1)
		goto fail;
	return 0;
fail:
	if (*error_r == NULL)
		*error_r = "Invalid SEARCH arguments";
	imap_search_clear(search_r);
	return -1;
}

void
imap_search_clear(struct imap_search *search)
{
	imap_search_node_clear(&search->root);
	memset(search, 0, sizeof(*search));
}

/* charset search-keys, the charset required (SORT, THREAD). */
static int
imap_search_program(const struct imap_arg *args, size_t n,
    unsigned max_depth, struct imap_search *search, const char **error_r)
{
	if (n == 0 || !imap_search_is_charset(&args[0])) {
		*error_r = "Missing charset";
		return -1;
	}
	search->charset = args[0].str;
	if (imap_search_keys_parse(args + 1, n - 1, max_depth, search,
	    error_r) == -1) {
		imap_search_clear(search);
		return -1;
	}
	return 0;
}

int
imap_sort_parse(const struct imap_arg *args, size_t n, unsigned max_depth,
    struct imap_sort *sort_r, const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_sort_key key;
	} keys[] = {
		{ "ARRIVAL", IMAP_SORT_ARRIVAL },
		{ "CC", IMAP_SORT_CC },
		{ "DATE", IMAP_SORT_DATE },
		{ "FROM", IMAP_SORT_FROM },
		{ "SIZE", IMAP_SORT_SIZE },
		{ "SUBJECT", IMAP_SORT_SUBJECT },
		{ "TO", IMAP_SORT_TO },
		{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
		{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
	};
	struct imap_search ret;
	const struct imap_arg *crit;
	size_t i = 0;
	bool reverse = false;

	memset(sort_r, 0, sizeof(*sort_r));
	memset(&ret, 0, sizeof(ret));
	*error_r = NULL;
	/* ESORT (RFC 5267): SORT RETURN (...) (criteria) ... */
	if (n > 0 && imap_arg_is_atom(&args[0], "RETURN")) {
		if (n < 2 || imap_search_return(&args[1], &ret, error_r) == -1)
			goto fail;
		i = 2;
	}
	if (i >= n || args[i].type != IMAP_ARG_LIST || args[i].n_list == 0) {
		*error_r = "Invalid sort criteria";
		goto fail;
	}
	crit = &args[i++];
	for (size_t j = 0; j < crit->n_list; j++) {
		size_t k;

		if (imap_arg_is_atom(&crit->list[j], "REVERSE") && !reverse) {
			reverse = true;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (imap_arg_is_atom(&crit->list[j], keys[k].name))
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) ||
		    sort_r->n_criteria == IMAP_SORT_MAX_CRITERIA) {
			*error_r = "Invalid sort criteria";
			goto fail;
		}
		sort_r->criteria[sort_r->n_criteria].key = keys[k].key;
		sort_r->criteria[sort_r->n_criteria++].reverse = reverse;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE without a sort key";
		goto fail;
	}
	if (imap_search_program(args + i, n - i, max_depth, &sort_r->search,
	    error_r) == -1)
		goto fail;
	sort_r->search.esearch = ret.esearch;
	sort_r->search.returns = ret.returns;
	return 0;
fail:
	if (*error_r == NULL)
		*error_r = "Invalid SORT arguments";
	imap_sort_clear(sort_r);
	return -1;
}

void
imap_sort_clear(struct imap_sort *sort)
{
	imap_search_clear(&sort->search);
	sort->n_criteria = 0;
}

int
imap_thread_parse(const struct imap_arg *args, size_t n, unsigned max_depth,
    struct imap_thread *thread_r, const char **error_r)
{
	memset(thread_r, 0, sizeof(*thread_r));
	if (n == 0 || args[0].type != IMAP_ARG_ATOM) {
		*error_r = "Missing thread algorithm";
		return -1;
	}
	if (imap_arg_is_atom(&args[0], "REFERENCES"))
		thread_r->algorithm = IMAP_THREAD_REFERENCES;
	else if (imap_arg_is_atom(&args[0], "ORDEREDSUBJECT"))
		thread_r->algorithm = IMAP_THREAD_ORDEREDSUBJECT;
	else {
		*error_r = "Unknown thread algorithm";
		return -1;
	}
	return imap_search_program(args + 1, n - 1, max_depth,
	    &thread_r->search, error_r);
}

void
imap_thread_clear(struct imap_thread *thread)
{
	imap_search_clear(&thread->search);
}
