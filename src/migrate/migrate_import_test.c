/* migrate_import_test.c — unit tests for the store half of an import, on
   a real store in a temporary directory: source UIDs and UIDVALIDITY
   kept, messages without a UID numbered from the source's next UID, a
   re-run that skips everything, an interrupted run completed without
   duplicates, a failed message inside a batch, the quota stopping the
   import with the batch before it kept, a UIDVALIDITY conflict, long
   delivery keys, and the stop flag. */
#include "migrate/migrate_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"
#include "store/store_testlib.h"

#define ACCOUNT 7

struct fixture {
	char *dir;
	struct store *store;
	FILE *log;			/* warnings */
	char *log_data;
	size_t log_len;
	struct migrate_progress *progress;
	struct migrate_import *imp;
};

static void
fixture_start(struct fixture *f, const struct store_limits *limits,
    const volatile sig_atomic_t *stop)
{
	f->log_data = NULL;
	f->log = open_memstream(&f->log_data, &f->log_len);
	f->progress = migrate_progress_new(f->log, "import", false, true);
	if (f->store == NULL)
		f->store = store_testlib_open(f->dir, ACCOUNT, limits);
	f->imp = migrate_import_new(f->store, f->progress, stop);
}

static const char *
fixture_log(struct fixture *f)
{
	fflush(f->log);
	return f->log_data != NULL ? f->log_data : "";
}

static void
fixture_stop(struct fixture *f)
{
	migrate_import_free(&f->imp);
	migrate_progress_free(&f->progress);
	fclose(f->log);
	free(f->log_data);
}

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = test_tmpdir();
}

static void
fixture_clear(struct fixture *f)
{
	store_close(&f->store);
	fsutil_remove_tree(f->dir);
	free(f->dir);
}

/* Appends message number i (text differs per i) with source uid. */
static int
add(struct fixture *f, const char *mailbox, unsigned i, uint32_t uid,
    unsigned flags, const char *keywords)
{
	struct buf data;
	char id[32], key_id[32];
	char *text, *key;
	int rc;

	snprintf(id, sizeof(id), "<m%u@example.org>", i);
	snprintf(key_id, sizeof(key_id), "file%u", i);
	text = store_testlib_message(300 + i, id, NULL);
	buf_init(&data, 0);
	(void)buf_append_str(&data, text);
	key = migrate_import_key(mailbox, key_id, strlen(key_id));

	struct migrate_import_msg msg = {
		.source = key_id,
		.data = &data,
		.flags = flags,
		.keywords = keywords,
		.internal_date = 1700000000 + (time_t)i,
		.uid = uid,
		.key = key,
	};

	rc = migrate_import_message(f->imp, &msg);
	TEST_EQ_INT(data.len, 0);		/* taken */
	buf_clear(&data);
	free(key);
	free(text);
	return rc;
}

static void
uids_of(struct fixture *f, const char *mailbox, uint32_t **uids,
    size_t *n)
{
	int64_t id = store_testlib_mailbox(f->store, mailbox);

	*uids = NULL;
	*n = 0;
	TEST_EQ_INT(store_uids(f->store, id, uids, n), STORE_OK);
}

static void
test_uids_kept(void)
{
	struct fixture f;
	struct store_mailbox mb;
	uint32_t *uids;
	size_t n;

	fixture_init(&f);
	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "Sent", 4242, 20), 0);
	TEST_EQ_INT(add(&f, "Sent", 1, 5, STORE_FLAG_SEEN, "$Junk"), 0);
	TEST_EQ_INT(add(&f, "Sent", 2, 7, 0, NULL), 0);
	TEST_EQ_INT(add(&f, "Sent", 3, 0, 0, NULL), 0);	/* not listed */
	TEST_EQ_INT(add(&f, "Sent", 4, 0, 0, NULL), 0);
	/* An empty folder still gets the source's UIDVALIDITY/UIDNEXT. */
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "Empty", 99, 12), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 4);
	TEST_EQ_INT(migrate_import_stats(f.imp)->folders, 2);

	uids_of(&f, "Sent", &uids, &n);
	TEST_EQ_INT(n, 4);
	if (n == 4) {
		TEST_EQ_INT(uids[0], 5);
		TEST_EQ_INT(uids[1], 7);
		TEST_EQ_INT(uids[2], 20);
		TEST_EQ_INT(uids[3], 21);
	}
	free(uids);
	TEST_EQ_INT(store_mailbox_get(f.store, "Sent", &mb), STORE_OK);
	TEST_EQ_INT(mb.uidvalidity, 4242);
	TEST_EQ_INT(mb.unseen, 3);
	store_mailbox_clear(&mb);
	TEST_EQ_INT(store_mailbox_get(f.store, "Empty", &mb), STORE_OK);
	TEST_EQ_INT(mb.uidvalidity, 99);
	TEST_EQ_INT(mb.uidnext, 12);
	store_mailbox_clear(&mb);
	fixture_stop(&f);
	fixture_clear(&f);
}

/* 450 messages: the first 250 imported by a run that stops there (as if
   killed after two batches and a half; the half is lost), then the whole
   source again. */
static void
test_resume(void)
{
	const volatile sig_atomic_t never = 0;
	struct fixture f;
	uint32_t *uids;
	size_t n;

	fixture_init(&f);
	fixture_start(&f, NULL, &never);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 777, 1000), 0);
	for (unsigned i = 1; i <= 250; i++)
		TEST_EQ_INT(add(&f, "INBOX", i, i * 2, 0, NULL), 0);
	/* No finish: the open batch (messages 201-250) is lost. */
	fixture_stop(&f);
	uids_of(&f, "INBOX", &uids, &n);
	TEST_EQ_INT(n, 200);
	free(uids);

	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 777, 1000), 0);
	for (unsigned i = 1; i <= 450; i++)
		TEST_EQ_INT(add(&f, "INBOX", i, i * 2, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	TEST_EQ_INT(migrate_import_stats(f.imp)->skipped, 200);
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 250);
	TEST_EQ_INT(migrate_import_stats(f.imp)->failed, 0);
	fixture_stop(&f);
	uids_of(&f, "INBOX", &uids, &n);
	TEST_EQ_INT(n, 450);
	for (size_t i = 0; i < n; i++)
		if (uids[i] != (i + 1) * 2) {
			test_fail(__FILE__, __LINE__, "uid %zu is %u", i,
			    uids[i]);
			break;
		}
	free(uids);

	/* And once more: nothing new. */
	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 777, 1000), 0);
	for (unsigned i = 1; i <= 450; i++)
		TEST_EQ_INT(add(&f, "INBOX", i, i * 2, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	TEST_EQ_INT(migrate_import_stats(f.imp)->skipped, 450);
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 0);
	fixture_stop(&f);
	TEST_EQ_INT(store_testlib_count_files(f.dir, ACCOUNT), 450);
	fixture_clear(&f);
}

/* A message the store refuses (empty) in the middle of a batch costs only
   itself. */
static void
test_bad_message_in_batch(void)
{
	struct fixture f;
	struct buf empty;
	uint32_t *uids;
	size_t n;

	fixture_init(&f);
	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 0, 0), 0);
	for (unsigned i = 1; i <= 10; i++)
		TEST_EQ_INT(add(&f, "INBOX", i, 0, 0, NULL), 0);
	buf_init(&empty, 0);

	struct migrate_import_msg msg = {
		.source = "empty-file",
		.data = &empty,
		.key = "import:INBOX:empty",
	};

	TEST_EQ_INT(migrate_import_message(f.imp, &msg), 0);
	TEST_EQ_INT(add(&f, "INBOX", 11, 0, 0, "bad(keyword"), 0);
	for (unsigned i = 12; i <= 20; i++)
		TEST_EQ_INT(add(&f, "INBOX", i, 0, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 19);
	TEST_EQ_INT(migrate_import_stats(f.imp)->failed, 2);
	TEST_ASSERT(strstr(fixture_log(&f), "empty-file: not imported") !=
	    NULL);
	TEST_ASSERT(strstr(fixture_log(&f), "file11: not imported") != NULL);
	fixture_stop(&f);
	uids_of(&f, "INBOX", &uids, &n);
	TEST_EQ_INT(n, 19);
	free(uids);
	fixture_clear(&f);
}

static void
test_quota(void)
{
	struct store_limits limits = { .quota_bytes = 0,
	    .quota_messages = 5 };
	struct fixture f;
	uint32_t *uids;
	size_t n;
	int rc = 0;
	unsigned i;

	fixture_init(&f);
	fixture_start(&f, &limits, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 0, 0), 0);
	for (i = 1; i <= 10 && rc == 0; i++)
		rc = add(&f, "INBOX", i, 0, 0, NULL);
	TEST_EQ_INT(rc, -1);
	TEST_EQ_INT(i - 1, 6);			/* the 6th stopped it */
	TEST_ASSERT(migrate_import_stats(f.imp)->over_quota);
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 5);
	TEST_EQ_INT(migrate_import_stats(f.imp)->failed, 1);
	TEST_ASSERT(strstr(fixture_log(&f), "file6: not imported") != NULL);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	fixture_stop(&f);
	uids_of(&f, "INBOX", &uids, &n);
	TEST_EQ_INT(n, 5);
	free(uids);

	/* A message larger than the whole quota is skipped, not a stop. */
	store_close(&f.store);
	limits.quota_messages = 0;
	limits.quota_bytes = 100;
	fixture_start(&f, &limits, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "Junk", 0, 0), 0);
	TEST_EQ_INT(add(&f, "Junk", 50, 0, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_stats(f.imp)->failed, 1);
	TEST_ASSERT(!migrate_import_stats(f.imp)->over_quota);
	fixture_stop(&f);
	fixture_clear(&f);
}

static void
test_uidvalidity_conflict(void)
{
	struct fixture f;
	struct store_mailbox mb;
	uint32_t *uids;
	size_t n;

	fixture_init(&f);
	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "Lists", 0, 0), 0);
	TEST_EQ_INT(add(&f, "Lists", 1, 0, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	TEST_EQ_INT(store_mailbox_get(f.store, "Lists", &mb), STORE_OK);
	fixture_stop(&f);

	fixture_start(&f, NULL, NULL);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "Lists", 5555, 100), 0);
	TEST_ASSERT(strstr(fixture_log(&f), "keeping its UIDVALIDITY") !=
	    NULL);
	TEST_EQ_INT(add(&f, "Lists", 2, 50, 0, NULL), 0);
	TEST_EQ_INT(migrate_import_finish(f.imp), 0);
	fixture_stop(&f);
	uids_of(&f, "Lists", &uids, &n);
	TEST_EQ_INT(n, 2);
	if (n == 2)
		TEST_EQ_INT(uids[1], 2);	/* not 50 */
	free(uids);
	store_mailbox_clear(&mb);
	TEST_EQ_INT(store_mailbox_get(f.store, "Lists", &mb), STORE_OK);
	TEST_ASSERT(mb.uidvalidity != 5555);
	store_mailbox_clear(&mb);
	fixture_clear(&f);
}

static void
test_bad_mailbox_and_stop(void)
{
	volatile sig_atomic_t stop = 0;
	struct fixture f;

	fixture_init(&f);
	fixture_start(&f, NULL, &stop);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "a//b", 0, 0), -1);
	TEST_EQ_INT(migrate_import_mailbox(f.imp, "INBOX", 0, 0), 0);
	TEST_EQ_INT(add(&f, "INBOX", 1, 0, 0, NULL), 0);
	stop = 1;
	TEST_EQ_INT(add(&f, "INBOX", 2, 0, 0, NULL), -1);
	TEST_ASSERT(migrate_import_stats(f.imp)->interrupted);
	/* What came before the stop is committed. */
	TEST_EQ_INT(migrate_import_stats(f.imp)->imported, 1);
	TEST_EQ_INT(migrate_import_subscribe(f.imp, "Nowhere/yet"), 0);
	fixture_stop(&f);
	TEST_EQ_INT(store_testlib_count(f.store, store_testlib_mailbox(f.store,
	    "INBOX")), 1);
	fixture_clear(&f);
}

static void
test_key_and_target(void)
{
	char id[400];
	char *key, *key2, *t;

	key = migrate_import_key("INBOX", "1000.M1P1.host", 14);
	TEST_EQ_STR(key, "import:INBOX:1000.M1P1.host");
	free(key);
	memset(id, 'x', sizeof(id));
	key = migrate_import_key("INBOX", id, sizeof(id));
	key2 = migrate_import_key("INBOX", id, sizeof(id) - 1);
	TEST_EQ_INT(strlen(key), strlen("import:#") + 32);
	TEST_ASSERT(strcmp(key, key2) != 0);
	free(key);
	free(key2);

	t = migrate_import_target(NULL, "Work/Sub");
	TEST_EQ_STR(t, "Work/Sub");
	free(t);
	t = migrate_import_target("Old", "inbox");
	TEST_EQ_STR(t, "Old");
	free(t);
	t = migrate_import_target("Old", "Work/Sub");
	TEST_EQ_STR(t, "Old/Work/Sub");
	free(t);
}

int
main(void)
{
	TEST_RUN(test_uids_kept);
	TEST_RUN(test_resume);
	TEST_RUN(test_bad_message_in_batch);
	TEST_RUN(test_quota);
	TEST_RUN(test_uidvalidity_conflict);
	TEST_RUN(test_bad_mailbox_and_stop);
	TEST_RUN(test_key_and_target);
	return test_done();
}
