/* imapd_cmds_test.c — the pure parts of the mailbox and message commands:
   LIST patterns (wildcards, INBOX case, modified UTF-7, hostile patterns
   in bounded time), LIST/LSUB arguments and answers from a mailbox list
   and subscriptions (LIST-EXTENDED, RECURSIVEMATCH's CHILDINFO, LSUB's
   \Noselect parents, LIST-STATUS), STATUS items and lines, APPEND's
   date-time and line-end repair. The commands themselves are exercised
   over a real daemon in tests/imap/test_imap_{mailboxes,messages}.py. */
#include "imapd/imapd_append.h"
#include "imapd/imapd_list.h"
#include "imapd/imapd_status.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/imap_arg.h"
#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

/* --- argument builders -------------------------------------------------- */

#define ATOM(s) { .type = IMAP_ARG_ATOM, .str = (s), .len = sizeof(s) - 1 }
#define QUOTED(s) { .type = IMAP_ARG_QUOTED, .str = (s), .len = sizeof(s) - 1 }
#define LIST(a) { .type = IMAP_ARG_LIST, .list = (a), \
	.n_list = sizeof(a) / sizeof((a)[0]) }
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- patterns ----------------------------------------------------------- */

static bool
match(const char *ref, const char *pat, bool utf8, const char *name)
{
	struct imapd_list_pattern p;
	const char *error;
	bool m;

	if (imapd_list_pattern_init(&p, ref, strlen(ref), pat, strlen(pat),
	    utf8, &error) == -1)
		return false;
	m = imapd_list_match(&p, name, strlen(name));
	imapd_list_pattern_clear(&p);
	return m;
}

static void
test_pattern_match(void)
{
	static const struct {
		const char *ref, *pat, *name;
		bool want;
	} cases[] = {
		{ "", "*", "INBOX", true },
		{ "", "*", "a/b/c", true },
		{ "", "%", "Sent", true },
		{ "", "%", "a/b", false },
		{ "", "a/%", "a/b", true },
		{ "", "a/%", "a/b/c", false },
		{ "", "a/%", "a", false },
		{ "", "a*", "a/b/c", true },
		{ "", "a*c", "a/b/c", true },
		{ "", "a%c", "a/b/c", false },
		{ "", "a%c", "abc", true },
		{ "", "*/c", "a/b/c", true },
		{ "", "%/%", "a/b", true },
		{ "", "%/%", "a/b/c", false },
		{ "", "Sent", "Sent", true },
		{ "", "sent", "Sent", false },	/* only INBOX ignores case */
		{ "", "inbox", "INBOX", true },
		{ "", "InBoX/%", "INBOX/x", true },
		{ "", "inb%", "INBOX", true },
		{ "", "i*", "INBOX/sub", true },
		{ "", "inboxes", "INBOX", false },
		{ "a/", "%", "a/b", true },	/* reference + pattern */
		{ "a/", "%", "b", false },
		{ "a/", "/x", "x", false },	/* from the root: names have
						   no leading '/' */
		{ "", "**%%*", "abc/def", true },
		{ "", "%%%", "abc/def", false },
		{ "", "", "INBOX", false },
		{ "", "&AOk-t&AOk-", "\xc3\xa9t\xc3\xa9", true },
		{ "", "&AOk-*", "\xc3\xa9t\xc3\xa9/x", true },
		{ "", "a&-b", "a&b", true },
	};

	for (size_t i = 0; i < N(cases); i++) {
		bool got = match(cases[i].ref, cases[i].pat, false,
		    cases[i].name);

		if (got != cases[i].want)
			test_fail(__FILE__, __LINE__, "ref \"%s\" pattern "
			    "\"%s\" name \"%s\": got %d", cases[i].ref,
			    cases[i].pat, cases[i].name, got);
	}
	/* UTF-8 clients send UTF-8, '&' is itself. */
	TEST_ASSERT(match("", "\xc3\xa9*", true, "\xc3\xa9t\xc3\xa9"));
	TEST_ASSERT(match("", "a&b", true, "a&b"));
}

static void
test_pattern_invalid(void)
{
	struct imapd_list_pattern p;
	const char *error = NULL;

	/* An unterminated base64 run, 8-bit octets in modified UTF-7. */
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, "&AOk", 4, false,
	    &error), -1);
	TEST_EQ_STR(error, "Invalid mailbox pattern");
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, "\xc3\xa9", 2, false,
	    &error), -1);
	TEST_EQ_INT(imapd_list_pattern_init(&p, "&", 1, "*", 1, false,
	    &error), -1);
	TEST_EQ_STR(error, "Invalid reference name");
	/* Invalid UTF-8 and control characters from a UTF-8 client. */
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, "\xff*", 2, true,
	    &error), -1);
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, "a\tb", 3, true,
	    &error), -1);
}

static void
test_pattern_hostile(void)
{
	struct imapd_list_pattern p;
	struct buf pat;
	const char *error;
	char name[STORE_NAME_MAX + 1];
	long long start = 0;
	struct timespec ts;

	/* "*a*a*a...*b" against "aaaa...": exponential for a backtracking
	   matcher; here at most name x pattern steps. */
	buf_init(&pat, 0);
	for (int i = 0; i < 200; i++)
		(void)buf_append_str(&pat, "%a*");
	(void)buf_append_str(&pat, "b");
	memset(name, 'a', STORE_NAME_MAX);
	name[STORE_NAME_MAX] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, pat.data, pat.len,
	    false, &error), 0);
	TEST_ASSERT(!p.never);
	for (int i = 0; i < 100; i++)
		TEST_ASSERT(!imapd_list_match(&p, name, STORE_NAME_MAX));
	name[STORE_NAME_MAX - 1] = 'b';
	TEST_ASSERT(imapd_list_match(&p, name, STORE_NAME_MAX));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	TEST_ASSERT(ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - start < 5000);
	imapd_list_pattern_clear(&p);
	/* More literal octets than a name holds: matches nothing. */
	buf_reset(&pat);
	for (int i = 0; i < 300; i++)
		(void)buf_append_str(&pat, "x*");
	TEST_EQ_INT(imapd_list_pattern_init(&p, "", 0, pat.data, pat.len,
	    false, &error), 0);
	TEST_ASSERT(p.never);
	TEST_ASSERT(!imapd_list_match(&p, "x", 1));
	imapd_list_pattern_clear(&p);
	buf_clear(&pat);
}

/* --- LIST arguments ----------------------------------------------------- */

static void
test_list_parse(void)
{
	struct imapd_list_params p;
	const char *error;

	{
		struct imap_arg a[] = { QUOTED(""), QUOTED("") };

		TEST_EQ_INT(imapd_list_parse(a, 2, false, false, &p,
		    &error), 0);
		TEST_ASSERT(p.root_only);
		TEST_EQ_INT(p.n_patterns, 1);
		imapd_list_params_clear(&p);
		/* LSUB "" "" is no special request. */
		TEST_EQ_INT(imapd_list_parse(a, 2, true, false, &p,
		    &error), 0);
		TEST_ASSERT(!p.root_only);
		imapd_list_params_clear(&p);
	}
	{
		struct imap_arg sel[] = { ATOM("SUBSCRIBED"),
		    ATOM("recursivematch") };
		struct imap_arg pats[] = { ATOM("INBOX*"), QUOTED("Sent") };
		struct imap_arg st[] = { ATOM("MESSAGES"), ATOM("UNSEEN") };
		struct imap_arg ret[] = { ATOM("CHILDREN"), ATOM("STATUS"),
		    LIST(st) };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), LIST(pats),
		    ATOM("RETURN"), LIST(ret) };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), 0);
		TEST_EQ_INT(p.select, IMAPD_LIST_SEL_SUBSCRIBED |
		    IMAPD_LIST_SEL_RECURSIVEMATCH);
		TEST_EQ_INT(p.ret, IMAPD_LIST_RET_SUBSCRIBED |
		    IMAPD_LIST_RET_CHILDREN | IMAPD_LIST_RET_STATUS);
		TEST_EQ_INT(p.status_items, IMAPD_STATUS_MESSAGES |
		    IMAPD_STATUS_UNSEEN);
		TEST_EQ_INT(p.n_patterns, 2);
		TEST_ASSERT(!p.root_only);
		TEST_ASSERT(imapd_list_needs_subscriptions(&p));
		imapd_list_params_clear(&p);
	}
	{
		/* RFC 5258 §3.1: RECURSIVEMATCH alone is an error. */
		struct imap_arg sel[] = { ATOM("RECURSIVEMATCH") };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), ATOM("*") };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), -1);
	}
	{
		struct imap_arg sel[] = { ATOM("BOGUS") };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), ATOM("*") };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), -1);
		TEST_EQ_STR(error, "Invalid LIST selection option");
	}
	{
		struct imap_arg ret[] = { ATOM("STATUS") };
		struct imap_arg a[] = { QUOTED(""), ATOM("*"), ATOM("RETURN"),
		    LIST(ret) };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), -1);
	}
	{
		/* LSUB takes neither options nor pattern lists. */
		struct imap_arg pats[] = { ATOM("*") };
		struct imap_arg a[] = { QUOTED(""), LIST(pats) };

		TEST_EQ_INT(imapd_list_parse(a, N(a), true, false, &p,
		    &error), -1);
	}
	{
		struct imap_arg a[] = { QUOTED("") };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), -1);
	}
	{
		/* NIL is a name here, not a missing argument. */
		struct imap_arg a[] = { QUOTED(""),
		    { .type = IMAP_ARG_NIL, .len = 3 } };

		TEST_EQ_INT(imapd_list_parse(a, N(a), false, false, &p,
		    &error), 0);
		TEST_ASSERT(imapd_list_match(&p.patterns[0], "NIL", 3));
		imapd_list_params_clear(&p);
	}
}

/* --- LIST answers ------------------------------------------------------- */

static struct store_mailbox test_mbs[] = {
	{ .id = 1, .name = "INBOX", .has_children = true, .subscribed = true,
	  .messages = 3, .unseen = 1, .uidnext = 4, .uidvalidity = 77 },
	{ .id = 7, .name = "INBOX/x" },
	{ .id = 2, .name = "Sent", .special_use = STORE_SPECIAL_SENT,
	  .subscribed = true },
	{ .id = 3, .name = "Trash", .special_use = STORE_SPECIAL_TRASH },
	{ .id = 4, .name = "a", .has_children = true },
	{ .id = 5, .name = "a/b", .subscribed = true },
	{ .id = 6, .name = "\xc3\xa9t\xc3\xa9" },
};
static char *test_subs[] = { "INBOX", "Sent", "a/b", "gone", "p/q/r" };

/* The answer to LIST/LSUB args against test_mbs and test_subs. */
static char *
list(const struct imap_arg *args, size_t n, bool lsub)
{
	struct imapd_list_params p;
	const char *error;
	struct buf out;

	if (imapd_list_parse(args, n, lsub, false, &p, &error) == -1)
		return xstrdup(error);
	p.view = (struct imapd_status_view){ .appendlimit = 1000,
	    .selected_id = 1, .selected_recent = 2 };
	buf_init(&out, 0);
	(void)buf_append(&out, "", 0);
	TEST_EQ_INT(imapd_list_write(&p, test_mbs, N(test_mbs), test_subs,
	    N(test_subs), &out), 0);
	imapd_list_params_clear(&p);
	return buf_steal(&out);
}

static void
check_list(const struct imap_arg *args, size_t n, bool lsub,
    const char *want, int line)
{
	char *got = list(args, n, lsub);

	if (strcmp(got, want) != 0)
		test_fail(__FILE__, line, "got:\n%s\nwant:\n%s", got, want);
	free(got);
}

static void
test_list_write(void)
{
	{
		struct imap_arg a[] = { QUOTED(""), ATOM("*") };

		check_list(a, N(a), false,
		    "* LIST (\\HasChildren) \"/\" INBOX\r\n"
		    "* LIST (\\HasNoChildren) \"/\" INBOX/x\r\n"
		    "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
		    "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
		    "* LIST (\\HasChildren) \"/\" a\r\n"
		    "* LIST (\\HasNoChildren) \"/\" a/b\r\n"
		    "* LIST (\\HasNoChildren) \"/\" &AOk-t&AOk-\r\n",
		    __LINE__);
	}
	{
		struct imap_arg a[] = { QUOTED(""), QUOTED("") };

		check_list(a, N(a), false,
		    "* LIST (\\Noselect) \"/\" \"\"\r\n", __LINE__);
	}
	{
		struct imap_arg a[] = { QUOTED("a/"), ATOM("%") };

		check_list(a, N(a), false,
		    "* LIST (\\HasNoChildren) \"/\" a/b\r\n", __LINE__);
	}
	{
		/* Subscribed only: \NonExistent for "gone", nothing for
		   "p" without RECURSIVEMATCH. */
		struct imap_arg sel[] = { ATOM("SUBSCRIBED") };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), ATOM("*") };

		check_list(a, N(a), false,
		    "* LIST (\\Subscribed \\HasChildren) \"/\" INBOX\r\n"
		    "* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" "
		    "Sent\r\n"
		    "* LIST (\\Subscribed \\HasNoChildren) \"/\" a/b\r\n"
		    "* LIST (\\NonExistent \\Subscribed) \"/\" gone\r\n"
		    "* LIST (\\NonExistent \\Subscribed) \"/\" p/q/r\r\n",
		    __LINE__);
	}
	{
		/* RFC 5258 §3.5: a parent with a subscribed child. */
		struct imap_arg sel[] = { ATOM("SUBSCRIBED"),
		    ATOM("RECURSIVEMATCH") };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), ATOM("%") };

		check_list(a, N(a), false,
		    "* LIST (\\Subscribed \\HasChildren) \"/\" INBOX\r\n"
		    "* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" "
		    "Sent\r\n"
		    "* LIST (\\HasChildren) \"/\" a "
		    "(\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		    "* LIST (\\NonExistent \\Subscribed) \"/\" gone\r\n"
		    "* LIST (\\NonExistent) \"/\" p "
		    "(\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
		    __LINE__);
	}
	{
		struct imap_arg sel[] = { ATOM("SPECIAL-USE") };
		struct imap_arg a[] = { LIST(sel), QUOTED(""), ATOM("*") };

		check_list(a, N(a), false,
		    "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
		    "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n",
		    __LINE__);
	}
	{
		/* LIST-STATUS (RFC 5819), RECENT of the selected one. */
		struct imap_arg st[] = { ATOM("MESSAGES"), ATOM("RECENT"),
		    ATOM("UIDNEXT") };
		struct imap_arg ret[] = { ATOM("STATUS"), LIST(st),
		    ATOM("SUBSCRIBED") };
		struct imap_arg pats[] = { ATOM("INBOX"), ATOM("Trash") };
		struct imap_arg a[] = { QUOTED(""), LIST(pats),
		    ATOM("RETURN"), LIST(ret) };

		check_list(a, N(a), false,
		    "* LIST (\\Subscribed \\HasChildren) \"/\" INBOX\r\n"
		    "* STATUS INBOX (MESSAGES 3 RECENT 2 UIDNEXT 4)\r\n"
		    "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
		    "* STATUS Trash (MESSAGES 0 RECENT 0 UIDNEXT 0)\r\n",
		    __LINE__);
	}
	{
		/* LSUB: "%" stops at p and a, shown \Noselect. */
		struct imap_arg a[] = { QUOTED(""), ATOM("%") };

		check_list(a, N(a), true,
		    "* LSUB () \"/\" INBOX\r\n"
		    "* LSUB () \"/\" Sent\r\n"
		    "* LSUB (\\Noselect) \"/\" a\r\n"
		    "* LSUB () \"/\" gone\r\n"
		    "* LSUB (\\Noselect) \"/\" p\r\n",
		    __LINE__);
	}
	{
		struct imap_arg a[] = { QUOTED(""), ATOM("*") };

		check_list(a, N(a), true,
		    "* LSUB () \"/\" INBOX\r\n"
		    "* LSUB () \"/\" Sent\r\n"
		    "* LSUB () \"/\" a/b\r\n"
		    "* LSUB () \"/\" gone\r\n"
		    "* LSUB () \"/\" p/q/r\r\n",
		    __LINE__);
	}
	{
		struct imap_arg a[] = { QUOTED(""), ATOM("p/%") };

		check_list(a, N(a), true,
		    "* LSUB (\\Noselect) \"/\" p/q\r\n", __LINE__);
	}
	{
		/* Without '%' no parent stands in for p/q/r. */
		struct imap_arg a[] = { QUOTED(""), ATOM("p") };

		check_list(a, N(a), true, "", __LINE__);
	}
}

/* --- STATUS ------------------------------------------------------------- */

static void
test_status(void)
{
	struct imap_arg all[] = { ATOM("appendlimit"), ATOM("HIGHESTMODSEQ"),
	    ATOM("SIZE"), ATOM("DELETED"), ATOM("UNSEEN"),
	    ATOM("UIDVALIDITY"), ATOM("UIDNEXT"), ATOM("RECENT"),
	    ATOM("MESSAGES"), ATOM("MESSAGES") };
	struct imap_arg bad[] = { ATOM("MESSAGES"), ATOM("FLAGS") };
	struct imap_arg quoted[] = { QUOTED("MESSAGES") };
	struct store_mailbox mb = { .id = 9, .name = "Caf\xc3\xa9",
	    .messages = 5, .unseen = 2, .deleted = 1, .size = 12345,
	    .uidnext = 6, .uidvalidity = 1700000000,
	    .highestmodseq = 99 };
	struct imapd_status_view view = { .appendlimit = 52428800,
	    .selected_id = 9, .selected_recent = 1 };
	const char *error;
	unsigned items;
	struct buf out;

	TEST_EQ_INT(imapd_status_items(all, N(all), &items, &error), 0);
	TEST_EQ_INT(items, 0x1ff);
	TEST_EQ_INT(imapd_status_items(bad, N(bad), &items, &error), -1);
	TEST_EQ_STR(error, "Invalid status item");
	TEST_EQ_INT(imapd_status_items(quoted, N(quoted), &items, &error), -1);
	TEST_EQ_INT(imapd_status_items(NULL, 0, &items, &error), -1);

	buf_init(&out, 0);
	TEST_EQ_INT(imapd_status_write(&out, &mb, 0x1ff, &view), 0);
	TEST_EQ_STR(out.data, "* STATUS Caf&AOk- (MESSAGES 5 RECENT 1 "
	    "UIDNEXT 6 UIDVALIDITY 1700000000 UNSEEN 2 DELETED 1 SIZE 12345 "
	    "HIGHESTMODSEQ 99 APPENDLIMIT 52428800)\r\n");
	buf_reset(&out);
	view.utf8 = true;
	view.selected_id = 0;
	TEST_EQ_INT(imapd_status_write(&out, &mb, IMAPD_STATUS_RECENT |
	    IMAPD_STATUS_MESSAGES, &view), 0);
	TEST_EQ_STR(out.data, "* STATUS \"Caf\xc3\xa9\" (MESSAGES 5 "
	    "RECENT 0)\r\n");
	buf_clear(&out);
}

/* --- APPEND ------------------------------------------------------------- */

static void
test_append_date(void)
{
	static const struct {
		const char *in;
		long long want;		/* -1: refused */
	} cases[] = {
		{ "17-Jul-1996 02:44:25 -0700", 837596665 },
		{ " 7-Jul-1996 02:44:25 -0700", 836732665 },
		{ "7-Jul-1996 02:44:25 -0700", 836732665 },
		{ "01-jan-2000 00:00:00 +0000", 946684800 },
		{ "29-Feb-2000 12:00:00 +0100", 951822000 },
		{ "29-Feb-1900 12:00:00 +0000", -1 },	/* not a leap year */
		{ "31-Apr-2020 00:00:00 +0000", -1 },
		{ "00-Jan-2020 00:00:00 +0000", -1 },
		{ "01-Foo-2020 00:00:00 +0000", -1 },
		{ "01-Jan-2020 24:00:00 +0000", -1 },
		{ "01-Jan-2020 00:00:00 0000", -1 },
		{ "01-Jan-2020 00:00:00 +00000", -1 },
		{ "01-Jan-2020 0:00:00 +0000", -1 },
		{ "", -1 },
		{ "01-Jan-1960 00:00:00 +0000", 1 },	/* 0 would be "now" */
	};

	for (size_t i = 0; i < N(cases); i++) {
		time_t t = 0;
		int r = imapd_append_date(cases[i].in, strlen(cases[i].in), &t);

		if (cases[i].want == -1 ? r != -1 :
		    r != 0 || (long long)t != cases[i].want)
			test_fail(__FILE__, __LINE__, "\"%s\": got %d %lld, "
			    "want %lld", cases[i].in, r, (long long)t,
			    cases[i].want);
	}
}

static void
test_append_crlf(void)
{
	static const struct {
		const char *in, *want;	/* want NULL: unchanged */
	} cases[] = {
		{ "a\r\nb\r\n", NULL },
		{ "a\nb\n", "a\r\nb\r\n" },
		{ "\n", "\r\n" },
		{ "a\rb\r\n", NULL },		/* a lone CR stays */
		{ "a\r\r\nb\n\r", "a\r\r\nb\r\n\r" },
		{ "", NULL },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len;
		char *out = imapd_append_crlf(cases[i].in, strlen(cases[i].in),
		    &len);

		if (cases[i].want == NULL) {
			TEST_ASSERT(out == NULL);
			TEST_EQ_INT(len, strlen(cases[i].in));
			continue;
		}
		TEST_ASSERT(out != NULL);
		if (out != NULL) {
			TEST_EQ_INT(len, strlen(cases[i].want));
			TEST_ASSERT(len == strlen(cases[i].want) &&
			    memcmp(out, cases[i].want, len) == 0);
		}
		free(out);
	}
}

int
main(void)
{
	TEST_RUN(test_pattern_match);
	TEST_RUN(test_pattern_invalid);
	TEST_RUN(test_pattern_hostile);
	TEST_RUN(test_list_parse);
	TEST_RUN(test_list_write);
	TEST_RUN(test_status);
	TEST_RUN(test_append_date);
	TEST_RUN(test_append_crlf);
	return test_done();
}
