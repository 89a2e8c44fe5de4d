/* imap_search_test.c — unit tests for SEARCH, SORT and THREAD arguments:
   every key (rev2 and rev1), sequence sets as keys, lists, NOT/OR
   nesting and its depth bound (10000 deep refused without recursion),
   dates (leap days, quoted), number ranges (LARGER past 2^63 refused),
   MODSEQ with an entry, CHARSET and RETURN, SORT criteria and THREAD
   algorithms. Arguments come from the real parser. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imap/imap_testlib.h"
#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const char *const key_names[] = {
	"ALL", "AND", "OR", "NOT", "SEQ", "UID", "FLAG", "UNFLAG", "KW",
	"UNKW", "RECENT", "NEW", "OLD", "BEFORE", "ON", "SINCE", "SENTBEFORE",
	"SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE",
	"SAVEDATESUPPORTED", "OLDER", "YOUNGER", "LARGER", "SMALLER", "BCC",
	"CC", "FROM", "TO", "SUBJECT", "HEADER", "BODY", "TEXT", "MODSEQ",
	"EMAILID", "THREADID",
};

/* Renders a node as "KEY[:arg](children)". */
static void
render(struct buf *b, const struct imap_search_node *n)
{
	buf_append_str(b, key_names[n->key]);
	switch (n->key) {
	case IMAP_SEARCH_FLAG:
	case IMAP_SEARCH_UNFLAG:
		buf_printf(b, ":%u", n->flag);
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		buf_append_str(b, ":");
		if (n->set.saved)
			buf_append_str(b, "$");
		for (size_t i = 0; i < n->set.n; i++)
			buf_printf(b, "%s%u-%u", i ? "," : "", n->set.ranges[i].lo,
			    n->set.ranges[i].hi);
		break;
	case IMAP_SEARCH_BEFORE: case IMAP_SEARCH_ON: case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE: case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE: case IMAP_SEARCH_SAVEDBEFORE:
	case IMAP_SEARCH_SAVEDON: case IMAP_SEARCH_SAVEDSINCE:
		buf_printf(b, ":%d", (int)n->day);
		break;
	case IMAP_SEARCH_OLDER: case IMAP_SEARCH_YOUNGER:
	case IMAP_SEARCH_LARGER: case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_MODSEQ:
		buf_printf(b, ":%llu", (unsigned long long)n->number);
		break;
	case IMAP_SEARCH_HEADER:
		buf_printf(b, ":%s", n->field);
		/* fallthrough */
	case IMAP_SEARCH_KEYWORD: case IMAP_SEARCH_UNKEYWORD:
	case IMAP_SEARCH_BCC: case IMAP_SEARCH_CC: case IMAP_SEARCH_FROM:
	case IMAP_SEARCH_TO: case IMAP_SEARCH_SUBJECT: case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT: case IMAP_SEARCH_EMAILID:
	case IMAP_SEARCH_THREADID:
		buf_printf(b, ":%.*s", (int)n->str_len, n->str);
		break;
	default:
		break;
	}
	if (n->n_children > 0) {
		buf_append_str(b, "(");
		for (size_t i = 0; i < n->n_children; i++) {
			if (i > 0)
				buf_append_str(b, " ");
			render(b, &n->children[i]);
		}
		buf_append_str(b, ")");
	}
}

static void
render_search(struct buf *b, const struct imap_search *s)
{
	if (s->charset != NULL)
		buf_printf(b, "charset=%s ", s->charset);
	if (s->esearch)
		buf_printf(b, "return=%u ", s->returns);
	if (s->uses_modseq)
		buf_append_str(b, "modseq ");
	render(b, &s->root);
}

/* Parses "a <cmd> <args>" and renders the result, or NULL (*error_r). */
static char *
parse(const char *cmd, const char *args, unsigned max_depth,
    const char **error_r)
{
	struct buf line, out;
	const struct imap_command *c;
	struct imap_parser *p;
	char *ret = NULL;
	int r;

	buf_init(&line, 0);
	buf_init(&out, 0);
	buf_printf(&line, "a %s %s\r\n", cmd, args);
	p = imap_testlib_parse(line.data, line.len, &c);
	*error_r = NULL;
	if (strcmp(cmd, "SEARCH") == 0) {
		struct imap_search s;

		r = imap_search_parse(c->args, c->n_args, max_depth, &s,
		    error_r);
		if (r == 0)
			render_search(&out, &s);
		imap_search_clear(&s);
		TEST_ASSERT(s.root.children == NULL);
	} else if (strcmp(cmd, "SORT") == 0) {
		struct imap_sort s;

		r = imap_sort_parse(c->args, c->n_args, max_depth, &s, error_r);
		if (r == 0) {
			for (size_t i = 0; i < s.n_criteria; i++)
				buf_printf(&out, "%s%d ", s.criteria[i].reverse ?
				    "-" : "", (int)s.criteria[i].key);
			render_search(&out, &s.search);
		}
		imap_sort_clear(&s);
	} else {
		struct imap_thread t;

		r = imap_thread_parse(c->args, c->n_args, max_depth, &t,
		    error_r);
		if (r == 0) {
			buf_printf(&out, "%d ", (int)t.algorithm);
			render_search(&out, &t.search);
		}
		imap_thread_clear(&t);
	}
	if (r == 0)
		ret = buf_steal(&out);
	else
		TEST_ASSERT(*error_r != NULL);
	buf_clear(&out);
	buf_clear(&line);
	imap_parser_free(&p);
	return ret;
}

static const struct {
	const char *cmd, *args;
	const char *want;	/* NULL: refused */
} cases[] = {
	{ "SEARCH", "ALL", "AND(ALL)" },
	{ "SEARCH", "unseen", "AND(UNFLAG:1)" },
	{ "SEARCH", "ANSWERED DELETED DRAFT FLAGGED SEEN",
	    "AND(FLAG:2 FLAG:8 FLAG:16 FLAG:4 FLAG:1)" },
	{ "SEARCH", "UNANSWERED UNDELETED UNDRAFT UNFLAGGED",
	    "AND(UNFLAG:2 UNFLAG:8 UNFLAG:16 UNFLAG:4)" },
	{ "SEARCH", "NEW OLD RECENT", "AND(NEW OLD RECENT)" },
	{ "SEARCH", "KEYWORD $Forwarded UNKEYWORD Junk",
	    "AND(KW:$Forwarded UNKW:Junk)" },
	{ "SEARCH", "1:3,5 UID 10:* $", "AND(SEQ:1-3,5-5 UID:10-0 SEQ:$)" },
	{ "SEARCH", "UID $", "AND(UID:$)" },
	{ "SEARCH", "FROM \"Smith\" TO {3}\r\nbob CC x BCC y SUBJECT \"\" "
	    "BODY b TEXT t", "AND(FROM:Smith TO:bob CC:x BCC:y SUBJECT: BODY:b "
	    "TEXT:t)" },
	{ "SEARCH", "FROM NIL", "AND(FROM:NIL)" },
	{ "SEARCH", "HEADER Message-ID \"<a@b>\" HEADER X-Spam \"\"",
	    "AND(HEADER:Message-ID:<a@b> HEADER:X-Spam:)" },
	{ "SEARCH", "SINCE 1-Feb-1994 BEFORE \"01-Jan-1970\" ON 31-Dec-1969",
	    "AND(SINCE:8797 BEFORE:0 ON:-1)" },
	{ "SEARCH", "SENTBEFORE 29-Feb-2000 SENTON 1-mar-2000 SENTSINCE "
	    "29-Feb-2024", "AND(SENTBEFORE:11016 SENTON:11017 SENTSINCE:19782)" },
	{ "SEARCH", "SAVEDBEFORE 2-Jan-1970 SAVEDON 1-Jan-1970 SAVEDSINCE "
	    "1-Jan-1970 SAVEDATESUPPORTED",
	    "AND(SAVEDBEFORE:1 SAVEDON:0 SAVEDSINCE:0 SAVEDATESUPPORTED)" },
	{ "SEARCH", "OLDER 3600 YOUNGER 4294967295",
	    "AND(OLDER:3600 YOUNGER:4294967295)" },
	{ "SEARCH", "LARGER 0 SMALLER 9223372036854775807",
	    "AND(LARGER:0 SMALLER:9223372036854775807)" },
	{ "SEARCH", "LARGER 4294967296", "AND(LARGER:4294967296)" },
	{ "SEARCH", "MODSEQ 620162338", "modseq AND(MODSEQ:620162338)" },
	{ "SEARCH", "MODSEQ \"/flags/\\\\draft\" all 620162338",
	    "modseq AND(MODSEQ:620162338)" },
	{ "SEARCH", "EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9",
	    "AND(EMAILID:M6d99ac3275bb4e THREADID:T64b478a75b7ea9)" },
	{ "SEARCH", "NOT SEEN", "AND(NOT(FLAG:1))" },
	{ "SEARCH", "OR SEEN FLAGGED", "AND(OR(FLAG:1 FLAG:4))" },
	{ "SEARCH", "OR NOT SEEN (FLAGGED DRAFT) DELETED",
	    "AND(OR(NOT(FLAG:1) AND(FLAG:4 FLAG:16)) FLAG:8)" },
	{ "SEARCH", "OR OR A B C", NULL },	/* A is no key */
	{ "SEARCH", "OR OR SEEN DRAFT NOT OR 1 2",
	    "AND(OR(OR(FLAG:1 FLAG:16) NOT(OR(SEQ:1-1 SEQ:2-2))))" },
	{ "SEARCH", "((SEEN) (NOT (DRAFT)))",
	    "AND(AND(AND(FLAG:1) AND(NOT(AND(FLAG:16)))))" },
	{ "SEARCH", "CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"",
	    "charset=UTF-8 AND(SUBJECT:caf\xc3\xa9)" },
	{ "SEARCH", "charset \"us-ascii\" ALL", "charset=us-ascii AND(ALL)" },
	{ "SEARCH", "RETURN (MIN MAX) UNSEEN", "return=3 AND(UNFLAG:1)" },
	{ "SEARCH", "RETURN () ALL", "return=4 AND(ALL)" },
	{ "SEARCH", "RETURN (ALL COUNT SAVE) CHARSET UTF-8 ALL",
	    "charset=UTF-8 return=28 AND(ALL)" },
	/* refused */
	{ "SEARCH", "", NULL },
	{ "SEARCH", "FOO", NULL },
	{ "SEARCH", "\"ALL\"", NULL },
	{ "SEARCH", "()", NULL },
	{ "SEARCH", "NOT", NULL },
	{ "SEARCH", "OR SEEN", NULL },
	{ "SEARCH", "(OR SEEN) DRAFT", NULL },	/* operands stay in the list */
	{ "SEARCH", "FROM", NULL },
	{ "SEARCH", "FROM (a)", NULL },
	{ "SEARCH", "HEADER Subject", NULL },
	{ "SEARCH", "HEADER \"\" x", NULL },
	{ "SEARCH", "KEYWORD \"a\"", NULL },
	{ "SEARCH", "UID", NULL },
	{ "SEARCH", "UID 0", NULL },
	{ "SEARCH", "UID \"1\"", NULL },
	{ "SEARCH", "1:4294967296", NULL },
	{ "SEARCH", "0", NULL },
	{ "SEARCH", "LARGER 9223372036854775808", NULL },
	{ "SEARCH", "LARGER 18446744073709551616", NULL },
	{ "SEARCH", "LARGER -1", NULL },
	{ "SEARCH", "LARGER +1", NULL },
	{ "SEARCH", "SMALLER", NULL },
	{ "SEARCH", "OLDER 0", NULL },
	{ "SEARCH", "YOUNGER 4294967296", NULL },
	{ "SEARCH", "MODSEQ 9223372036854775808", NULL },
	{ "SEARCH", "MODSEQ \"/flags/\\\\draft\" bogus 1", NULL },
	{ "SEARCH", "MODSEQ \"/flags/\\\\draft\" all", NULL },
	{ "SEARCH", "SINCE 30-Feb-2000", NULL },
	{ "SEARCH", "SINCE 29-Feb-1900", NULL },
	{ "SEARCH", "SINCE 0-Feb-2000", NULL },
	{ "SEARCH", "SINCE 1-Foo-2000", NULL },
	{ "SEARCH", "SINCE 1-Feb-99", NULL },
	{ "SEARCH", "SINCE 1-Feb-19999", NULL },
	{ "SEARCH", "SINCE 001-Feb-1999", NULL },
	{ "SEARCH", "SINCE 1/Feb/1999", NULL },
	{ "SEARCH", "SINCE 1-Feb-199x", NULL },
	{ "SEARCH", "SINCE", NULL },
	{ "SEARCH", "EMAILID a.b", NULL },
	{ "SEARCH", "EMAILID \"\"", NULL },
	{ "SEARCH", "CHARSET", NULL },
	{ "SEARCH", "CHARSET UTF-8", NULL },
	{ "SEARCH", "CHARSET \"\" ALL", NULL },
	{ "SEARCH", "RETURN ALL", NULL },
	{ "SEARCH", "RETURN (FOO) ALL", NULL },
	{ "SEARCH", "RETURN (ALL)", NULL },
	{ "SEARCH", "ALL CHARSET UTF-8", NULL },
	/* SORT */
	{ "SORT", "(DATE) UTF-8 ALL", "2 charset=UTF-8 AND(ALL)" },
	{ "SORT", "(REVERSE ARRIVAL cc FROM SIZE SUBJECT TO DISPLAYFROM "
	    "DISPLAYTO) US-ASCII UNSEEN",
	    "-0 1 3 4 5 6 7 8 charset=US-ASCII AND(UNFLAG:1)" },
	{ "SORT", "RETURN (COUNT) (REVERSE DATE) UTF-8 OR SEEN DRAFT",
	    "-2 charset=UTF-8 return=8 AND(OR(FLAG:1 FLAG:16))" },
	{ "SORT", "() UTF-8 ALL", NULL },
	{ "SORT", "(REVERSE) UTF-8 ALL", NULL },
	{ "SORT", "(REVERSE REVERSE DATE) UTF-8 ALL", NULL },
	{ "SORT", "(DATE FOO) UTF-8 ALL", NULL },
	{ "SORT", "DATE UTF-8 ALL", NULL },
	{ "SORT", "(DATE) ALL", NULL },		/* ALL is taken as charset */
	{ "SORT", "(DATE)", NULL },
	{ "SORT", "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
	    "DATE DATE DATE DATE DATE DATE) UTF-8 ALL", NULL },
	/* THREAD */
	{ "THREAD", "REFERENCES UTF-8 ALL", "1 charset=UTF-8 AND(ALL)" },
	{ "THREAD", "orderedsubject US-ASCII SINCE 1-Jan-2000",
	    "0 charset=US-ASCII AND(SINCE:10957)" },
	{ "THREAD", "REFS UTF-8 ALL", NULL },
	{ "THREAD", "REFERENCES UTF-8", NULL },
	{ "THREAD", "(REFERENCES) UTF-8 ALL", NULL },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < NCASES(cases); i++) {
		const char *error;
		char *got = parse(cases[i].cmd, cases[i].args, 64, &error);

		if (cases[i].want == NULL ? got != NULL :
		    got == NULL || strcmp(got, cases[i].want) != 0)
			test_fail(__FILE__, __LINE__,
			    "%s %s: got \"%s\" (%s), want \"%s\"", cases[i].cmd,
			    cases[i].args, got ? got : "(refused)",
			    error ? error : "",
			    cases[i].want ? cases[i].want : "(refused)");
		free(got);
	}
}

static void
test_unknown_thread(void)
{
	const char *error;

	TEST_ASSERT(parse("THREAD", "FOO UTF-8 ALL", 64, &error) == NULL);
	TEST_EQ_STR(error, "Unknown thread algorithm");
}

/* Thousands deep NOT, OR and lists: refused at max_depth, no recursion
   (ASan's stack would catch it). */
static void
test_depth(void)
{
	static const char *const units[] = { "NOT ", "OR SEEN ", "(" };
	struct buf args;
	const char *error;
	char *got;

	buf_init(&args, 0);
	for (size_t u = 0; u < NCASES(units); u++) {
		for (unsigned depth = 9; depth <= 11; depth++) {
			buf_reset(&args);
			for (unsigned i = 0; i < depth; i++)
				buf_append_str(&args, units[u]);
			buf_append_str(&args, "SEEN");
			if (u == 2)
				for (unsigned i = 0; i < depth; i++)
					buf_append_str(&args, ")");
			got = parse("SEARCH", args.data, 10, &error);
			TEST_EQ_INT(got != NULL, depth <= 10);
			if (got == NULL)
				TEST_EQ_STR(error, "Too deeply nested search keys");
			free(got);
		}
		buf_reset(&args);
		for (unsigned i = 0; i < 10000; i++)
			buf_append_str(&args, units[u]);
		buf_append_str(&args, "SEEN");
		if (u == 2)
			for (unsigned i = 0; i < 10000; i++)
				buf_append_str(&args, ")");
		got = parse("SEARCH", args.data, 64, &error);
		TEST_ASSERT(got == NULL);
		free(got);
	}
	/* wide is fine: 20000 keys in one list */
	buf_reset(&args);
	buf_append_str(&args, "(");
	for (unsigned i = 0; i < 20000; i++)
		buf_append_str(&args, "SEEN ");
	buf_append_str(&args, "ALL)");
	got = parse("SEARCH", args.data, 64, &error);
	TEST_ASSERT(got != NULL && strlen(got) == 20000 * 7 + 13);
	free(got);
	buf_clear(&args);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_unknown_thread);
	TEST_RUN(test_depth);
	return test_done();
}
