/* store_recent_test.c — \Recent claims (store_recent.c): a claim takes
   what no one took, a conditional claim loses to another handle's, copies
   are recent again, and the schema step marks existing mail as seen. */
#include "store/store.h"
#include "store/store_private.h"
#include "store/store_testlib.h"

#include <stdlib.h>

#include "lib/fsutil.h"
#include "lib/test.h"

static void
append(struct store *s, int64_t mailbox, uint32_t want_uid)
{
	char *msg = store_testlib_message(200, NULL, NULL);
	uint32_t uid = 0;

	TEST_EQ_INT(store_testlib_append(s, mailbox, msg, 0, &uid), STORE_OK);
	TEST_EQ_INT(uid, want_uid);
	free(msg);
}

/* Claims and checks the range [first, last). */
static void
claim(struct store *s, int64_t mailbox, uint32_t expect, uint32_t first,
    uint32_t last)
{
	uint32_t f = 99, l = 99;

	TEST_EQ_INT(store_recent_claim(s, mailbox, expect, &f, &l), STORE_OK);
	TEST_EQ_INT(f, first);
	TEST_EQ_INT(l, last);
}

static void
count(struct store *s, int64_t mailbox, uint32_t mark, uint32_t n)
{
	uint32_t m = 99, c = 99;

	TEST_EQ_INT(store_recent_count(s, mailbox, &m, &c), STORE_OK);
	TEST_EQ_INT(m, mark);
	TEST_EQ_INT(c, n);
}

static void
test_claim(void)
{
	char *dir = test_tmpdir();
	struct store *a = store_testlib_open(dir, 1, NULL);
	struct store *b = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(a, "INBOX");
	uint32_t f, l;

	/* A new mailbox: nothing to claim, the mark stays at 1. */
	claim(a, inbox, 0, 1, 1);
	append(a, inbox, 1);
	append(a, inbox, 2);
	count(a, inbox, 1, 2);
	/* SELECT: both are this claim's; counting does not claim. */
	claim(a, inbox, 0, 1, 3);
	count(b, inbox, 3, 0);
	claim(b, inbox, 0, 3, 3);
	/* While selected, the session extends its range... */
	append(b, inbox, 3);
	claim(a, inbox, 3, 3, 4);
	/* ... unless another session claimed first: then it gets none. */
	append(a, inbox, 4);
	claim(b, inbox, 0, 4, 5);
	claim(a, inbox, 4, 5, 5);
	append(a, inbox, 5);
	/* A stale expect never takes new mail either. */
	claim(a, inbox, 4, 5, 5);
	count(a, inbox, 5, 1);
	claim(a, inbox, 5, 5, 6);
	count(a, inbox, 6, 0);
	/* Expunged recent mail is no longer counted. */
	append(a, inbox, 6);
	TEST_EQ_INT(store_flags(a, inbox, &(struct store_range){ 6, 6 }, 1,
	    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL,
	    NULL), STORE_OK);
	TEST_EQ_INT(store_expunge(a, inbox, NULL, 0, NULL, NULL), STORE_OK);
	count(a, inbox, 6, 0);
	/* No such mailbox. */
	TEST_EQ_INT(store_recent_claim(a, 9999, 0, &f, &l), STORE_NOT_FOUND);
	TEST_EQ_INT(store_recent_count(a, 9999, &f, &l), STORE_NOT_FOUND);
	store_close(&a);
	store_close(&b);
	fsutil_remove_tree(dir);
	free(dir);
}

static void
test_copy_is_recent(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	int64_t archive = store_testlib_mailbox(s, "Archive");

	append(s, inbox, 1);
	append(s, inbox, 2);
	claim(s, inbox, 0, 1, 3);
	claim(s, archive, 0, 1, 1);
	/* RFC 3501 §6.4.7: \Recent SHOULD be set on the copy. */
	TEST_EQ_INT(store_copy(s, inbox, NULL, 0, archive, true, NULL, NULL),
	    STORE_OK);
	count(s, archive, 1, 2);
	count(s, inbox, 3, 0);
	claim(s, archive, 1, 1, 3);
	store_close(&s);
	fsutil_remove_tree(dir);
	free(dir);
}

/* An index.db from before the column: its mail is not recent. */
static void
test_schema_step(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	int64_t drafts = store_testlib_mailbox(s, "Drafts");

	append(s, inbox, 1);
	append(s, inbox, 2);
	TEST_EQ_INT(store_db_exec(s, "ALTER TABLE mailboxes DROP COLUMN "
	    "recent_uid; PRAGMA user_version = 1"), STORE_OK);
	store_close(&s);
	store_gc_forget(1);
	s = store_testlib_open(dir, 1, NULL);
	count(s, inbox, 3, 0);
	count(s, drafts, 1, 0);
	append(s, inbox, 3);
	claim(s, inbox, 0, 3, 4);
	store_close(&s);
	fsutil_remove_tree(dir);
	free(dir);
}

int
main(void)
{
	TEST_RUN(test_claim);
	TEST_RUN(test_copy_is_recent);
	TEST_RUN(test_schema_step);
	return test_done();
}
