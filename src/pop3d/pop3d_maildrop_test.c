/* pop3d_maildrop_test.c — the POP3 maildrop: numbering, STAT with marks,
   RSET, the UIDL format (Dovecot's %08Xu%08Xv), and the UPDATE against a
   real store: \Seen on what was retrieved, an expunge of exactly the
   messages marked (not of others with \Deleted from IMAP, not of ones
   that are already gone), in one transaction. */
#include "pop3d/pop3d_maildrop.h"

#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"
#include "lib/test.h"
#include "store/store.h"
#include "store/store_testlib.h"

static void
test_marks(void)
{
	struct pop3d_maildrop *md = pop3d_maildrop_new(7, 0x5f3a9c01);
	struct pop3d_message *m;
	char uidl[POP3D_UIDL_SIZE];
	size_t count;
	uint64_t size;

	pop3d_maildrop_add(md, 3, 100);
	pop3d_maildrop_add(md, 9, 250);
	pop3d_maildrop_add(md, 0xabcdef12, 7);
	pop3d_maildrop_stat(md, &count, &size);
	TEST_EQ_INT(count, 3);
	TEST_EQ_INT(size, 357);
	TEST_EQ_INT(pop3d_maildrop_get(md, 0, &m), POP3D_MAILDROP_NO_SUCH);
	TEST_ASSERT(m == NULL);
	TEST_EQ_INT(pop3d_maildrop_get(md, 4, &m), POP3D_MAILDROP_NO_SUCH);
	TEST_EQ_INT(pop3d_maildrop_get(md, 2, &m), POP3D_MAILDROP_OK);
	TEST_EQ_INT(m->uid, 9);
	TEST_ASSERT(!pop3d_maildrop_has_changes(md));
	pop3d_maildrop_delete(md, m);
	TEST_ASSERT(pop3d_maildrop_has_changes(md));
	TEST_EQ_INT(pop3d_maildrop_get(md, 2, &m), POP3D_MAILDROP_DELETED);
	pop3d_maildrop_stat(md, &count, &size);
	TEST_EQ_INT(count, 2);
	TEST_EQ_INT(size, 107);
	TEST_EQ_INT(pop3d_maildrop_get(md, 1, &m), POP3D_MAILDROP_OK);
	m->retrieved = true;
	pop3d_maildrop_reset(md);
	TEST_ASSERT(!pop3d_maildrop_has_changes(md));
	pop3d_maildrop_stat(md, &count, &size);
	TEST_EQ_INT(count, 3);
	TEST_EQ_INT(size, 357);
	TEST_EQ_INT(pop3d_maildrop_get(md, 3, &m), POP3D_MAILDROP_OK);
	pop3d_maildrop_uidl(md, m, uidl);
	TEST_EQ_STR(uidl, "ABCDEF125F3A9C01");
	TEST_EQ_INT(pop3d_maildrop_get(md, 1, &m), POP3D_MAILDROP_OK);
	pop3d_maildrop_uidl(md, m, uidl);
	TEST_EQ_STR(uidl, "000000035F3A9C01");
	pop3d_maildrop_free(&md);
	TEST_ASSERT(md == NULL);
	pop3d_maildrop_free(&md);
}

/* Many messages: the array grows; numbers stay positions. */
static void
test_growth(void)
{
	struct pop3d_maildrop *md = pop3d_maildrop_new(1, 1);
	struct pop3d_message *m;

	for (uint32_t i = 1; i <= 1000; i++)
		pop3d_maildrop_add(md, i * 2, i);
	TEST_EQ_INT(md->n, 1000);
	TEST_EQ_INT(pop3d_maildrop_get(md, 1000, &m), POP3D_MAILDROP_OK);
	TEST_EQ_INT(m->uid, 2000);
	TEST_EQ_INT(md->size, 1000 * 1001 / 2);
	pop3d_maildrop_free(&md);
}

struct seen_flags {
	unsigned flags[16];
	bool present[16];
};

static int
collect_flags(const struct store_message *msg, void *ctx)
{
	struct seen_flags *f = ctx;

	if (msg->uid < 16) {
		f->flags[msg->uid] = msg->flags;
		f->present[msg->uid] = true;
	}
	return 0;
}

static void
test_commit(void)
{
	char *dir = test_tmpdir();
	struct store *store = store_testlib_open(dir, 1, NULL);
	struct store *other = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(store, "INBOX");
	struct pop3d_maildrop *md = NULL;
	struct store_range r5 = { 5, 5 }, r6 = { 6, 6 };
	struct seen_flags f;
	char *error = NULL, *text = store_testlib_message(200, NULL, NULL);
	size_t expunged = 99;
	uint32_t uids[8];

	for (int i = 0; i < 6; i++)
		TEST_EQ_INT(store_testlib_append(store, inbox, text, 0,
		    &uids[i]), STORE_OK);
	TEST_EQ_INT(uids[0], 1);
	TEST_EQ_INT(uids[5], 6);
	TEST_EQ_INT(pop3d_maildrop_load(store, &md, &error), 0);
	TEST_ASSERT(md != NULL);
	if (md == NULL)
		goto out;
	TEST_EQ_INT(md->n, 6);
	TEST_EQ_INT(md->msgs[2].size, strlen(text));
	/* A message delivered after the snapshot is not in it. */
	TEST_EQ_INT(store_testlib_append(store, inbox, text, 0, &uids[6]),
	    STORE_OK);
	/* Marks: delete 2, 3, 5; retrieved 1, 3, 4. */
	pop3d_maildrop_delete(md, &md->msgs[1]);
	pop3d_maildrop_delete(md, &md->msgs[2]);
	pop3d_maildrop_delete(md, &md->msgs[4]);
	md->msgs[0].retrieved = md->msgs[2].retrieved =
	    md->msgs[3].retrieved = true;
	/* Meanwhile IMAP expunges 5 and flags 6 \Deleted. */
	TEST_EQ_INT(store_flags(other, inbox, &r5, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_expunge(other, inbox, &r5, 1, NULL, NULL),
	    STORE_OK);
	TEST_EQ_INT(store_flags(other, inbox, &r6, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(pop3d_maildrop_commit(store, md, &expunged, &error), 0);
	TEST_EQ_INT(expunged, 2);
	memset(&f, 0, sizeof(f));
	TEST_EQ_INT(store_fetch(store, inbox, NULL, 0, STORE_FETCH_FLAGS,
	    collect_flags, &f), STORE_OK);
	TEST_ASSERT(f.present[1] && !f.present[2] && !f.present[3] &&
	    f.present[4] && !f.present[5] && f.present[6] && f.present[7]);
	TEST_EQ_INT(f.flags[1], STORE_FLAG_SEEN);
	TEST_EQ_INT(f.flags[4], STORE_FLAG_SEEN);
	/* \Deleted from elsewhere stays, and so does its message. */
	TEST_EQ_INT(f.flags[6], STORE_FLAG_DELETED);
	TEST_EQ_INT(f.flags[7], 0);
	TEST_EQ_INT(store_testlib_count(store, inbox), 4);
	/* Nothing to do: nothing done. */
	pop3d_maildrop_reset(md);
	TEST_EQ_INT(pop3d_maildrop_commit(store, md, &expunged, &error), 0);
	TEST_EQ_INT(expunged, 0);
out:
	pop3d_maildrop_free(&md);
	free(error);
	free(text);
	store_close(&other);
	store_close(&store);
	(void)fsutil_remove_tree(dir);
	free(dir);
}

int
main(void)
{
	TEST_RUN(test_marks);
	TEST_RUN(test_growth);
	TEST_RUN(test_commit);
	return test_done();
}
