/* smtp_reply_test.c — the reply parser on whole replies, table-driven:
   single and multiline replies, the enhanced code (kept, stripped only
   where it repeats, refused when its class differs), codes that change
   mid-reply, non-digit and out-of-range codes, control bytes in the
   text, and the limits on line length, line count and text size. */
#include "smtp/smtp_reply.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

static const struct {
	const char *in;		/* lines separated by '\n' */
	int want;		/* the last feed's return */
	unsigned code;
	const char *enhanced, *text;
} cases[] = {
	{ "220 mx.example ESMTP", 1, 220, "", "mx.example ESMTP" },
	{ "250", 1, 250, "", "" },
	{ "250-", 0, 250, "", "" },
	{ "250-mx\n250-PIPELINING\n250 SIZE 100", 1, 250, "",
	  "mx\nPIPELINING\nSIZE 100" },
	{ "550-5.1.1 no\n550-5.1.1 such\n550 5.1.1 user", 1, 550, "5.1.1",
	  "no\nsuch\nuser" },
	/* Only the first line's code is stripped where it repeats. */
	{ "550-5.1.1 a\n550 5.7.1 b", 1, 550, "5.1.1", "a\n5.7.1 b" },
	{ "250 2.0.0", 1, 250, "2.0.0", "" },
	{ "250 2.0.0x", 1, 250, "", "2.0.0x" },
	{ "450 5.1.1 wrong class", 1, 450, "", "5.1.1 wrong class" },
	{ "250 2.1234.5 too long", 1, 250, "", "2.1234.5 too long" },
	{ "250 2.123.456 ok", 1, 250, "2.123.456", "ok" },
	/* Control bytes, NUL included, never reach the text. */
	{ "421 a\x1b[31mb\x7f", 1, 421, "", "a?[31mb?" },
	{ "250-a\n251 b", -1, 0, NULL, NULL },	/* code changed */
	{ "2x0 x", -1, 0, NULL, NULL },
	{ "650 x", -1, 0, NULL, NULL },
	{ "150 x", -1, 0, NULL, NULL },
	{ "250x", -1, 0, NULL, NULL },
	{ "25", -1, 0, NULL, NULL },
	{ "", -1, 0, NULL, NULL },
};

/* Feeds in's lines; returns the last feed's result. */
static int
feed_all(struct smtp_reply *r, const char *in)
{
	const char *p = in, *error = NULL;
	int ret = -1;

	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		ret = smtp_reply_feed(r, p, len, &error);
		if (ret != 0 || nl == NULL)
			break;
		p = nl + 1;
	}
	if (ret == -1)
		TEST_ASSERT(error != NULL);
	return ret;
}

static void
test_cases(void)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = feed_all(&r, cases[i].in);

		TEST_EQ_INT(ret, cases[i].want);
		if (ret != -1 && ret == cases[i].want) {
			TEST_EQ_INT(r.code, cases[i].code);
			TEST_EQ_STR(r.enhanced, cases[i].enhanced);
			buf_append(&r.text, "", 1);
			TEST_EQ_STR(r.text.data, cases[i].text);
		}
		smtp_reply_reset(&r);
	}
	smtp_reply_clear(&r);
}

/* NUL inside a line is a byte like any other, replaced in the text. */
static void
test_nul(void)
{
	struct smtp_reply r;
	const char *error;

	smtp_reply_init(&r);
	TEST_EQ_INT(smtp_reply_feed(&r, "250 a\0b", 7, &error), 1);
	TEST_EQ_INT(r.text.len, 3);
	TEST_ASSERT(memcmp(r.text.data, "a?b", 3) == 0);
	smtp_reply_clear(&r);
}

static void
test_limits(void)
{
	struct smtp_reply r;
	const char *error;
	char line[SMTP_REPLY_LINE_MAX + 2];
	unsigned i;

	smtp_reply_init(&r);
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	TEST_EQ_INT(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX, &error), 1);
	smtp_reply_reset(&r);
	TEST_EQ_INT(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1,
	    &error), -1);
	smtp_reply_reset(&r);

	/* Endless continuation lines stop at the line count. */
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		TEST_EQ_INT(smtp_reply_feed(&r, "250-x", 5, &error), 0);
	TEST_EQ_INT(smtp_reply_feed(&r, "250 x", 5, &error), -1);
	smtp_reply_reset(&r);

	/* Long continuation lines stop at the text size. */
	memcpy(line, "250-", 4);
	int ret = 0;
	for (i = 0; i < SMTP_REPLY_LINES_MAX && ret == 0; i++)
		ret = smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX, &error);
	TEST_EQ_INT(ret, -1);
	TEST_ASSERT(i <= SMTP_REPLY_TEXT_MAX / (SMTP_REPLY_LINE_MAX - 4) + 1);
	TEST_ASSERT(r.text.len <= SMTP_REPLY_TEXT_MAX);
	smtp_reply_clear(&r);
}

static void
test_next_line(void)
{
	struct smtp_reply r;
	const char *line;
	size_t len, pos = 0;
	unsigned n = 0;

	smtp_reply_init(&r);
	TEST_ASSERT(!smtp_reply_next_line(&r, &pos, &line, &len));
	TEST_EQ_INT(feed_all(&r, "250-mx\n250-\n250 LAST"), 1);
	static const char *const want[] = { "mx", "", "LAST" };
	while (smtp_reply_next_line(&r, &pos, &line, &len)) {
		TEST_ASSERT(n < 3);
		if (n < 3) {
			TEST_EQ_INT(len, strlen(want[n]));
			TEST_ASSERT(memcmp(line, want[n], len) == 0);
		}
		n++;
	}
	TEST_EQ_INT(n, 3);
	smtp_reply_clear(&r);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_nul);
	TEST_RUN(test_limits);
	TEST_RUN(test_next_line);
	return test_done();
}
