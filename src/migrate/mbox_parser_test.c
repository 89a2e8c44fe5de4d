/* mbox_parser_test.c — unit tests for splitting an mbox: From_ lines after
   an empty line or with a date, the separator line dropped (LF and CRLF),
   body lines that start "From " in the middle of a paragraph, files that
   are no mbox, and From_ line dates in their common spellings. */
#include "migrate/mbox_parser.h"

#include <string.h>

#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Splits s; returns the number of messages and puts up to 4 bodies in
   out (pointers into s, with lengths). */
static int
split(const char *s, struct mbox_raw *out, size_t max)
{
	struct mbox_parser p;
	struct mbox_raw raw;
	int n = 0, rc;

	mbox_parser_init(&p, s, strlen(s));
	while ((rc = mbox_parser_next(&p, &raw)) == 1) {
		if ((size_t)n < max)
			out[n] = raw;
		n++;
	}
	return rc == -1 ? -1 : n;
}

static bool
body_is(const struct mbox_raw *r, const char *want)
{
	return r->len == strlen(want) && memcmp(r->data, want, r->len) == 0;
}

static void
test_split(void)
{
	static const char mbox[] =
	    "From alice@example.org Mon Jan  1 10:00:00 2024\n"
	    "Subject: one\n"
	    "\n"
	    "Hello,\n"
	    "From the start, this line is quoted by no one\n"
	    "but it follows text, so it is body.\n"
	    "\n"
	    "From bob Tue Jan  2 10:00:00 2024\n"
	    "Subject: two\n"
	    "\n"
	    ">From quoted\n"
	    "\n"
	    "From carol Wed Jan  3 10:00:00 2024\n"
	    "Subject: three\n"
	    "\n"
	    "last\n";
	struct mbox_raw r[4];

	TEST_EQ_INT(split(mbox, r, 4), 3);
	TEST_ASSERT(body_is(&r[0], "Subject: one\n\nHello,\nFrom the start, "
	    "this line is quoted by no one\nbut it follows text, so it is "
	    "body.\n"));
	TEST_ASSERT(body_is(&r[1], "Subject: two\n\n>From quoted\n"));
	TEST_ASSERT(body_is(&r[2], "Subject: three\n\nlast\n"));
	TEST_EQ_INT(r[0].offset, 0);
	TEST_ASSERT(r[0].from_len == strlen("alice@example.org Mon Jan  1 "
	    "10:00:00 2024") && memcmp(r[0].from_line, "alice", 5) == 0);
}

static void
test_crlf(void)
{
	static const char mbox[] =
	    "From a Mon Jan  1 10:00:00 2024\r\n"
	    "Subject: one\r\n\r\nbody\r\n\r\n"
	    "From b Mon Jan  1 10:00:00 2024\r\n"
	    "Subject: two\r\n\r\nx\r\n";
	struct mbox_raw r[4];

	TEST_EQ_INT(split(mbox, r, 4), 2);
	TEST_ASSERT(body_is(&r[0], "Subject: one\r\n\r\nbody\r\n"));
	TEST_ASSERT(body_is(&r[1], "Subject: two\r\n\r\nx\r\n"));
}

/* A writer that leaves no empty line: the From_ line is known by its
   date. A "From " line without one, after text, is body. */
static void
test_no_blank(void)
{
	static const char mbox[] =
	    "From a Mon Jan  1 10:00:00 2024\n"
	    "Subject: one\n\nbody\n"
	    "From b Tue Jan  2 11:00:00 2024\n"
	    "Subject: two\n\nhi\nFrom here on\nend\n";
	struct mbox_raw r[4];

	TEST_EQ_INT(split(mbox, r, 4), 2);
	TEST_ASSERT(body_is(&r[0], "Subject: one\n\nbody\n"));
	TEST_ASSERT(body_is(&r[1], "Subject: two\n\nhi\nFrom here on\n"
	    "end\n"));
}

/* The separator is an empty line whatever its line end, also when the
   line before it ends in the other one (found by fuzz_mbox). */
static void
test_mixed_endings(void)
{
	struct mbox_raw r[4];

	TEST_EQ_INT(split("From a\nx\n\r\nFrom b\n", r, 4), 2);
	TEST_ASSERT(body_is(&r[0], "x\n"));
	TEST_EQ_INT(split("From a\r\nx\r\n\nFrom b\n", r, 4), 2);
	TEST_ASSERT(body_is(&r[0], "x\r\n"));
	TEST_EQ_INT(split("From a\nx\n\r\n", r, 4), 1);
	TEST_ASSERT(body_is(&r[0], "x\n"));
	TEST_EQ_INT(split("From a\n\r\n", r, 4), 1);
	TEST_ASSERT(r[0].len == 0);
	/* "\r\r\n" is a line holding a CR, not an empty one. */
	TEST_EQ_INT(split("From a\nx\n\r\r\n", r, 4), 1);
	TEST_ASSERT(body_is(&r[0], "x\n\r\r\n"));
}

static void
test_edges(void)
{
	struct mbox_raw r[4];

	TEST_EQ_INT(split("", r, 4), 0);
	TEST_EQ_INT(split("\n\n", r, 4), 0);
	TEST_EQ_INT(split("Subject: x\n\nbody\n", r, 4), -1);
	TEST_EQ_INT(split("\nFrom x\n", r, 4), 1);	/* leading empty line */
	TEST_ASSERT(r[0].len == 0);
	TEST_EQ_INT(split("From x\n\n", r, 4), 1);
	TEST_ASSERT(r[0].len == 0);
	TEST_EQ_INT(split("From x", r, 4), 1);		/* no line end */
	TEST_ASSERT(r[0].len == 0 && r[0].from_len == 1);
	TEST_EQ_INT(split("From x\nbody", r, 4), 1);	/* no final LF */
	TEST_ASSERT(body_is(&r[0], "body"));
	TEST_EQ_INT(split("From a\n\nFrom b\n\nFrom c\n", r, 4), 3);
	TEST_ASSERT(r[1].len == 0 && r[2].from_len == 1);
	/* "From" alone or "From:" is not a From_ line. */
	TEST_EQ_INT(split("From a\n\nFrom:\n\nFrom\n", r, 4), 1);
}

static const struct {
	const char *line;
	int want;
	time_t t;
} dates[] = {
	{ "alice@example.org Mon Jan  1 10:00:00 2024", 0, 1704103200 },
	{ "MAILER-DAEMON Fri Jul  8 12:08:34 2011", 0, 1310126914 },
	{ "x Sat Jan 3 01:05 1996", 0, 820631100 },		/* no seconds */
	{ "x Mon Jan  1 10:00:00 2024 +0200", 0, 1704096000 },
	{ "x Mon Jan  1 10:00:00 -0500 2024", 0, 1704121200 },
	{ "x Mon Jan  1 10:00:00 PST 2024", 0, 1704103200 },	/* name: UTC */
	{ "x mon JAN  1 10:00:00 2024", 0, 1704103200 },
	{ "x Mon Jan  1 10:00:00 2024 remote from y", 0, 1704103200 },
	{ "\"a b\"@x Mon Jan  1 10:00:00 2024", 0, 1704103200 },
	{ "x", -1, 0 },
	{ "", -1, 0 },
	{ "x Mon Jan 32 10:00:00 2024", -1, 0 },
	{ "x Mon Jan  1 24:00:00 2024", -1, 0 },
	{ "x Mon Jan  1 10:00:00:00 2024", -1, 0 },
	{ "x Mon Foo  1 10:00:00 2024", -1, 0 },
	{ "x Mon Jan  1 10:00:00", -1, 0 },
	{ "x Mon Jan  1 10:00:00 1969", -1, 0 },
	{ "Mon Jan  1 10:00:00 2024", -1, 0 },	/* no sender */
};

static void
test_dates(void)
{
	for (size_t i = 0; i < NCASES(dates); i++) {
		time_t t = 0;
		int rc = mbox_parser_from_date(dates[i].line,
		    strlen(dates[i].line), &t);

		if (rc != dates[i].want || (rc == 0 && t != dates[i].t))
			test_fail(__FILE__, __LINE__, "\"%s\": got %d %lld, "
			    "want %d %lld", dates[i].line, rc, (long long)t,
			    dates[i].want, (long long)dates[i].t);
	}
}

/* Every prefix of an mbox splits without reading past its end (ASan),
   and the parser always makes progress. */
static void
test_prefixes(void)
{
	static const char mbox[] =
	    "From a Mon Jan  1 10:00:00 2024\r\nS: 1\r\n\r\nb\r\n\r\n"
	    "From b Mon Jan  1 10:00:00 2024\nS: 2\n\n>From x\n\n";

	for (size_t len = 0; len < sizeof(mbox); len++) {
		char copy[sizeof(mbox)];
		struct mbox_parser p;
		struct mbox_raw raw;
		int n = 0;

		memcpy(copy, mbox, len);
		mbox_parser_init(&p, copy, len);
		while (mbox_parser_next(&p, &raw) == 1 && n < 10) {
			TEST_ASSERT(raw.data + raw.len <= copy + len);
			n++;
		}
		TEST_ASSERT(n <= 2);
	}
}

int
main(void)
{
	TEST_RUN(test_split);
	TEST_RUN(test_crlf);
	TEST_RUN(test_no_blank);
	TEST_RUN(test_mixed_endings);
	TEST_RUN(test_edges);
	TEST_RUN(test_dates);
	TEST_RUN(test_prefixes);
	return test_done();
}
