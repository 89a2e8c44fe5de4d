/* maildir_subscriptions_test.c — unit tests for Dovecot's subscriptions
   file: version 2 (TAB-separated, tab-escaped levels), version 1 with
   '.' or '/' between levels, trailing separators, names that do not
   decode, and the version 2 file export writes. */
#include "migrate/maildir_subscriptions.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

static void
test_v2(void)
{
	static const char file[] =
	    "V\t2\n\n"
	    "INBOX\n"
	    "Entw&APw-rfe\n"
	    "Work\tSub\n"
	    "inbox\tchild\n"
	    "a\001tb\n"			/* escaped TAB inside a level */
	    "bad&\n"			/* ok: not mUTF-7 but UTF-8 */
	    "\xff\n"			/* neither */
	    "x\t\ty\n";			/* empty level */
	char **names;
	size_t n, bad;

	maildir_subscriptions_parse(file, sizeof(file) - 1, &names, &n, &bad);
	TEST_EQ_INT(n, 6);
	TEST_EQ_INT(bad, 2);
	if (n == 6) {
		TEST_EQ_STR(names[0], "INBOX");
		TEST_EQ_STR(names[1], "Entw\xc3\xbc" "rfe");
		TEST_EQ_STR(names[2], "Work/Sub");
		TEST_EQ_STR(names[3], "INBOX/child");
		TEST_EQ_STR(names[4], "a\tb");
		TEST_EQ_STR(names[5], "bad&");
	}
	maildir_subscriptions_free(&names, n);
	TEST_ASSERT(names == NULL);
}

static void
test_v1(void)
{
	static const char file[] =
	    "Sent\n"
	    "Work.Sub\n"
	    "Lists/petrel\r\n"
	    "INBOX.Trash.\n"		/* trailing separator */
	    "\n";
	char **names;
	size_t n, bad;

	maildir_subscriptions_parse(file, sizeof(file) - 1, &names, &n, &bad);
	TEST_EQ_INT(n, 4);
	TEST_EQ_INT(bad, 0);
	if (n == 4) {
		TEST_EQ_STR(names[0], "Sent");
		TEST_EQ_STR(names[1], "Work/Sub");
		TEST_EQ_STR(names[2], "Lists/petrel");
		TEST_EQ_STR(names[3], "INBOX/Trash");
	}
	maildir_subscriptions_free(&names, n);
}

static void
test_empty(void)
{
	char **names;
	size_t n, bad;

	maildir_subscriptions_parse("", 0, &names, &n, &bad);
	TEST_EQ_INT(n, 0);
	TEST_ASSERT(names == NULL);
	maildir_subscriptions_parse("V\t2\n\n", 5, &names, &n, &bad);
	TEST_EQ_INT(n, 0);
}

static void
test_format(void)
{
	char *const in[] = { "INBOX", "Work/Sub", "Entw\xc3\xbc" "rfe",
	    "v1.2" };
	char **names;
	size_t n, bad;
	struct buf b;

	buf_init(&b, 0);
	TEST_EQ_INT(maildir_subscriptions_format(in, 4, &b), 0);
	TEST_EQ_STR(b.data, "V\t2\n\nINBOX\nWork\tSub\nEntw&APw-rfe\n"
	    "v1\\2e2\n");
	maildir_subscriptions_parse(b.data, b.len, &names, &n, &bad);
	TEST_EQ_INT(n, 4);
	for (size_t i = 0; i < n && i < 4; i++)
		TEST_EQ_STR(names[i], in[i]);
	maildir_subscriptions_free(&names, n);

	char *const bad_name[] = { "a//b" };

	buf_reset(&b);
	TEST_EQ_INT(maildir_subscriptions_format(bad_name, 1, &b), -1);
	TEST_EQ_INT(b.len, 0);
	buf_clear(&b);
}

/* A line holding a NUL is no subscription: it would read as a shorter
   name or an empty one (found by fuzz_maildir). */
static void
test_nul(void)
{
	static const char v1[] = "INBOX.Drafts\r\n\0\0\nSent\0x\nTrash\n";
	static const char v2[] = "V\t2\n\nA\t&AAA-\nB\n";
	char **names;
	size_t n, bad;

	maildir_subscriptions_parse(v1, sizeof(v1) - 1, &names, &n, &bad);
	TEST_EQ_INT(n, 2);
	TEST_EQ_INT(bad, 2);
	if (n == 2) {
		TEST_EQ_STR(names[0], "INBOX/Drafts");
		TEST_EQ_STR(names[1], "Trash");
	}
	maildir_subscriptions_free(&names, n);
	maildir_subscriptions_parse(v2, sizeof(v2) - 1, &names, &n, &bad);
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(bad, 1);
	if (n == 1)
		TEST_EQ_STR(names[0], "B");
	maildir_subscriptions_free(&names, n);
}

int
main(void)
{
	TEST_RUN(test_v2);
	TEST_RUN(test_v1);
	TEST_RUN(test_empty);
	TEST_RUN(test_format);
	TEST_RUN(test_nul);
	return test_done();
}
