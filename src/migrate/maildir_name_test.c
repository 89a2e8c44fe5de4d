/* maildir_name_test.c — unit tests for folder names on disk: Maildir++
   directories to mailbox names and back, modified UTF-7 levels, UTF-8
   levels from mail_utf8 setups, the listescape escapes for '.' and '\',
   INBOX's spelling, and names that must be refused. */
#include "migrate/maildir_name.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *dir, *mailbox;
} pairs[] = {
	{ ".Sent", "Sent" },
	{ ".Work.Sub", "Work/Sub" },
	{ ".Entw&APw-rfe", "Entw\xc3\xbc" "rfe" },
	{ ".&ZeVnLIqe-.&U,BTFw-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/"
	    "\xe5\x8f\xb0\xe5\x8c\x97" },
	{ ".R&-D", "R&D" },
	{ ".v1\\2e2", "v1.2" },
	{ ".a\\5cb", "a\\b" },
	{ ".INBOX.Sub", "INBOX/Sub" },
	{ ".Sent Items", "Sent Items" },
};

static void
test_pairs(void)
{
	for (size_t i = 0; i < NCASES(pairs); i++) {
		char *m = maildir_name_from_dir(pairs[i].dir);
		char *d = maildir_name_to_dir(pairs[i].mailbox);

		TEST_EQ_STR(m, pairs[i].mailbox);
		TEST_EQ_STR(d, pairs[i].dir);
		free(m);
		free(d);
	}
}

static void
test_lenient(void)
{
	char *m;

	/* UTF-8 on disk (mail_utf8=yes): taken as it is. */
	m = maildir_name_from_dir(".Entw\xc3\xbc" "rfe.x");
	TEST_EQ_STR(m, "Entw\xc3\xbc" "rfe/x");
	free(m);
	/* "R&D" written raw is not modified UTF-7 but is UTF-8. */
	m = maildir_name_from_dir(".R&D");
	TEST_EQ_STR(m, "R&D");
	free(m);
	/* A backslash that is no escape stays. */
	m = maildir_name_from_dir(".a\\zz\\2");
	TEST_EQ_STR(m, "a\\zz\\2");
	free(m);
	/* INBOX in any case is INBOX, only as the first level. */
	m = maildir_name_from_dir(".inbox.inbox");
	TEST_EQ_STR(m, "INBOX/inbox");
	free(m);
	/* Also when a '/' inside the source's level makes "inbox" the first
	   level (found by fuzz_maildir): the same name as ".INBOX.Sub". */
	m = maildir_name_from_dir(".inbox/Sub");
	TEST_EQ_STR(m, "INBOX/Sub");
	free(m);
	m = maildir_name_from_dir(".inboxes/Sub");
	TEST_EQ_STR(m, "inboxes/Sub");
	free(m);
	m = maildir_name_to_dir("inbox");
	TEST_EQ_STR(m, "");
	free(m);
}

static const char *const bad_dirs[] = {
	"Sent",			/* no leading dot */
	".",			/* empty level */
	".a..b",
	".a.",
	"..a",
	".\xff",		/* neither mUTF-7 nor UTF-8 */
};

static void
test_bad(void)
{
	for (size_t i = 0; i < NCASES(bad_dirs); i++) {
		char *m = maildir_name_from_dir(bad_dirs[i]);

		if (m != NULL)
			test_fail(__FILE__, __LINE__, "\"%s\" gave \"%s\"",
			    bad_dirs[i], m);
		free(m);
	}
	TEST_ASSERT(maildir_name_to_dir("a\xff") == NULL);
	TEST_ASSERT(maildir_name_to_dir("a//b") == NULL);
}

static void
test_levels(void)
{
	struct buf b;
	char *m;

	m = maildir_name_from_levels("a/b.c", 5, "./");
	TEST_EQ_STR(m, "a/b/c");
	free(m);
	m = maildir_name_from_levels("Inbox\tx", 7, "\t");
	TEST_EQ_STR(m, "INBOX/x");
	free(m);
	/* NUL is not a separator, and no name may hold one (it would read
	   as "a"; found by fuzz_maildir). */
	m = maildir_name_from_levels("a\0b", 3, ".");
	TEST_ASSERT(m == NULL);
	free(m);
	buf_init(&b, 0);
	TEST_EQ_INT(maildir_name_level_decode("", 0, &b), -1);
	TEST_EQ_INT(maildir_name_level_encode("", 0, &b), -1);
	TEST_EQ_INT(maildir_name_level_encode("x.y&", 4, &b), 0);
	TEST_EQ_STR(b.data, "x\\2ey&-");
	buf_clear(&b);
}

/* A level that stands for a NUL, raw or in modified UTF-7, is refused:
   the name would be cut short at it, and a folder ".Trash&AAA-x" filed
   under "Trash" (found by fuzz_maildir). */
static void
test_nul(void)
{
	struct buf b;
	char *m;

	buf_init(&b, 0);
	TEST_EQ_INT(maildir_name_level_decode("x&AAA-", 6, &b), -1);
	TEST_EQ_INT(maildir_name_level_decode("\0", 1, &b), -1);
	TEST_EQ_INT(maildir_name_level_decode("x\0y", 3, &b), -1);
	TEST_EQ_INT(b.len, 0);
	TEST_EQ_INT(maildir_name_level_decode("&AAE-", 5, &b), 0);
	TEST_ASSERT(b.len == 1 && b.data[0] == '\001');
	buf_clear(&b);
	m = maildir_name_from_dir(".Trash&AAA-x");
	TEST_ASSERT(m == NULL);
	free(m);
	m = maildir_name_from_levels("\0\0", 2, "./");
	TEST_ASSERT(m == NULL);
	free(m);
}

int
main(void)
{
	TEST_RUN(test_pairs);
	TEST_RUN(test_lenient);
	TEST_RUN(test_bad);
	TEST_RUN(test_levels);
	TEST_RUN(test_nul);
	return test_done();
}
