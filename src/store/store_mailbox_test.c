/* store_mailbox_test.c — mailboxes: name rules, create with parents,
   rename with children and of INBOX, delete rules, subscriptions,
   special-use, UIDVALIDITY, import UIDs. */
#include "store/store.h"
#include "store/store_private.h"
#include "store/store_testlib.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

static void
done(struct store **s, char *dir)
{
	store_close(s);
	fsutil_remove_tree(dir);
	free(dir);
}

/* The mailbox called name, or one with id 0 when there is none. */
static struct store_mailbox
get(struct store *s, const char *name)
{
	struct store_mailbox m;

	if (store_mailbox_get(s, name, &m) != STORE_OK)
		memset(&m, 0, sizeof(m));
	return m;
}

static bool
exists(struct store *s, const char *name)
{
	struct store_mailbox m = get(s, name);
	bool ok = m.id != 0;

	store_mailbox_clear(&m);
	return ok;
}

static uint32_t
uidvalidity(struct store *s, const char *name)
{
	struct store_mailbox m = get(s, name);
	uint32_t uv = m.uidvalidity;

	store_mailbox_clear(&m);
	return uv;
}

static bool
subscribed(struct store *s, const char *name)
{
	char **names = NULL;
	size_t n = 0;
	bool found = false;

	if (store_subscriptions(s, &names, &n) != STORE_OK)
		return false;
	for (size_t i = 0; i < n; i++) {
		found = found || strcmp(names[i], name) == 0;
		free(names[i]);
	}
	free(names);
	return found;
}

static void
test_names(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "Work", "Work" },
		{ "inbox", "INBOX" },
		{ "InBoX/Sub", "INBOX/Sub" },
		{ "INBOXES", "INBOXES" },	/* not INBOX */
		{ "a/b/c", "a/b/c" },
		{ "Caf\xc3\xa9 \xe2\x9c\x93", "Caf\xc3\xa9 \xe2\x9c\x93" },
		{ "a.b/..c/.d.", "a.b/..c/.d." },
		{ "", NULL },
		{ "/a", NULL },
		{ "a/", NULL },
		{ "a//b", NULL },
		{ ".", NULL },
		{ "a/../b", NULL },
		{ "a/./b", NULL },
		{ "a\tb", NULL },
		{ "a\x7f", NULL },
		{ "a\xc2\x85", NULL },		/* C1 control U+0085 */
		{ "a\xc3", NULL },		/* cut short */
		{ "a\xc0\xaf", NULL },		/* overlong '/' */
		{ "a\xed\xa0\x80", NULL },	/* surrogate */
		{ "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", "1/2/3/4/5/6/7/8/"
		    "9/10/11/12/13/14/15/16" },
		{ "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", NULL },
	};
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char long_name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *canon = NULL;
		int ret = store_name_canon(s, cases[i].in, &canon);

		TEST_EQ_INT(ret, cases[i].want != NULL ? STORE_OK :
		    STORE_INVALID);
		TEST_EQ_STR(canon, cases[i].want);
		free(canon);
	}
	memset(long_name, 'x', sizeof(long_name));
	long_name[255] = '\0';
	TEST_EQ_INT(store_mailbox_create(s, long_name, 0, NULL), STORE_OK);
	long_name[255] = 'x';
	long_name[256] = '\0';
	TEST_EQ_INT(store_mailbox_create(s, long_name, 0, NULL),
	    STORE_INVALID);
	TEST_ASSERT(strstr(store_error(s), "255") != NULL);
	TEST_EQ_INT(store_mailbox_create(s, "a\x01", 0, NULL), STORE_INVALID);
	/* The message shows the name safely. */
	TEST_ASSERT(strstr(store_error(s), "\\x01") != NULL);
	TEST_EQ_INT(store_mailbox_create(s, NULL, 0, NULL), STORE_INVALID);
	done(&s, dir);
}

static void
test_create(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	struct store_mailbox *list = NULL;
	int64_t id = 0;
	size_t n = 0;

	TEST_EQ_INT(store_mailbox_create(s, "a/b/c", 0, &id), STORE_OK);
	TEST_ASSERT(id > 0);
	TEST_ASSERT(exists(s, "a"));
	TEST_ASSERT(exists(s, "a/b"));
	struct store_mailbox m = get(s, "a/b/c");
	TEST_EQ_INT(m.id, id);
	TEST_ASSERT(!m.has_children);
	TEST_ASSERT(!m.subscribed);
	TEST_EQ_INT(m.uidnext, 1);
	TEST_ASSERT(m.highestmodseq >= 1);
	store_mailbox_clear(&m);
	m = get(s, "a");
	TEST_ASSERT(m.has_children);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_create(s, "a/b", 0, NULL), STORE_EXISTS);
	TEST_ASSERT(strstr(store_error(s), "\"a/b\"") != NULL);
	TEST_EQ_INT(store_mailbox_create(s, "inbox", 0, NULL), STORE_EXISTS);
	TEST_EQ_INT(store_mailbox_create(s, "INBOX/child", 0, NULL),
	    STORE_OK);
	TEST_EQ_INT(store_mailbox_create(s, "inbox/child", 0, NULL),
	    STORE_EXISTS);
	/* "a b" sorts between "a" and "a/b" but is not a child. */
	TEST_EQ_INT(store_mailbox_create(s, "a b", 0, NULL), STORE_OK);
	m = get(s, "a b");
	TEST_ASSERT(!m.has_children);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_create(s, "x", 1u << 9, NULL),
	    STORE_INVALID);

	TEST_EQ_INT(store_mailbox_list(s, &list, &n), STORE_OK);
	TEST_EQ_INT(n, 6 + 5);
	if (n > 2) {
		TEST_EQ_STR(list[0].name, "INBOX");
		for (size_t i = 2; i < n; i++)
			TEST_ASSERT(strcmp(list[i - 1].name, list[i].name) <
			    0);
		/* All UIDVALIDITYs distinct. */
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				TEST_ASSERT(list[i].uidvalidity !=
				    list[j].uidvalidity);
	}
	store_mailbox_list_free(&list, n);
	m = get(s, "nope");
	TEST_EQ_INT(m.id, 0);
	TEST_EQ_INT(store_mailbox_get(s, "nope", &m), STORE_NOT_FOUND);
	TEST_EQ_STR(store_error(s), "mailbox \"nope\" does not exist");
	done(&s, dir);
}

static void
test_delete(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char *text = store_testlib_message(300, NULL, NULL);
	int64_t id;

	TEST_EQ_INT(store_mailbox_delete(s, "INBOX"), STORE_NOT_ALLOWED);
	TEST_EQ_INT(store_mailbox_delete(s, "Inbox"), STORE_NOT_ALLOWED);
	TEST_EQ_INT(store_mailbox_delete(s, "nope"), STORE_NOT_FOUND);
	TEST_EQ_INT(store_mailbox_create(s, "p/c", 0, &id), STORE_OK);
	TEST_EQ_INT(store_mailbox_delete(s, "p"), STORE_NOT_ALLOWED);
	TEST_ASSERT(strstr(store_error(s), "has children") != NULL);
	uint32_t uv = uidvalidity(s, "p/c");
	TEST_EQ_INT(store_testlib_append(s, id, text, 0, NULL), STORE_OK);
	TEST_EQ_INT(store_testlib_append(s, id, text, 0, NULL), STORE_OK);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 2);
	TEST_EQ_INT(store_mailbox_delete(s, "p/c"), STORE_OK);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 0);
	TEST_ASSERT(!exists(s, "p/c"));
	TEST_EQ_INT(store_mailbox_delete(s, "p"), STORE_OK);
	/* The id is dead: no reuse, sessions holding it get NOT_FOUND. */
	TEST_EQ_INT(store_testlib_append(s, id, text, 0, NULL),
	    STORE_NOT_FOUND);
	/* Created again: a new UIDVALIDITY, a new id, UIDs from 1. */
	int64_t id2 = 0;
	TEST_EQ_INT(store_mailbox_create(s, "p/c", 0, &id2), STORE_OK);
	TEST_ASSERT(id2 != id);
	TEST_ASSERT(uidvalidity(s, "p/c") > uv);
	uint32_t uid = 0;
	TEST_EQ_INT(store_testlib_append(s, id2, text, 0, &uid), STORE_OK);
	TEST_EQ_INT(uid, 1);
	free(text);
	done(&s, dir);
}

static void
test_rename(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char *text = store_testlib_message(300, NULL, NULL);
	int64_t a_id, ab_id;

	TEST_EQ_INT(store_mailbox_create(s, "a/b/c", 0, NULL), STORE_OK);
	TEST_EQ_INT(store_mailbox_create(s, "a b", 0, NULL), STORE_OK);
	a_id = store_testlib_mailbox(s, "a");
	ab_id = store_testlib_mailbox(s, "a/b");
	TEST_EQ_INT(store_testlib_append(s, ab_id, text, 0, NULL), STORE_OK);
	TEST_EQ_INT(store_mailbox_subscribe(s, "a/b", true), STORE_OK);
	uint32_t uv_a = uidvalidity(s, "a"), uv_ab = uidvalidity(s, "a/b");

	/* With children, into a new parent; ids, messages, UIDVALIDITY and
	   subscriptions follow; a sibling with a similar name does not. */
	TEST_EQ_INT(store_mailbox_rename(s, "a", "x/y"), STORE_OK);
	TEST_ASSERT(!exists(s, "a") && !exists(s, "a/b") &&
	    !exists(s, "a/b/c"));
	TEST_ASSERT(exists(s, "x") && exists(s, "x/y/b/c"));
	TEST_ASSERT(exists(s, "a b"));
	TEST_EQ_INT(store_testlib_mailbox(s, "x/y"), a_id);
	TEST_EQ_INT(store_testlib_mailbox(s, "x/y/b"), ab_id);
	TEST_EQ_INT(store_testlib_count(s, ab_id), 1);
	TEST_EQ_INT(uidvalidity(s, "x/y"), uv_a);
	TEST_EQ_INT(uidvalidity(s, "x/y/b"), uv_ab);
	TEST_ASSERT(subscribed(s, "x/y/b"));
	TEST_ASSERT(!subscribed(s, "a/b"));

	/* Back onto names used before: new UIDVALIDITYs. */
	TEST_EQ_INT(store_mailbox_rename(s, "x/y", "a"), STORE_OK);
	TEST_ASSERT(uidvalidity(s, "a") != uv_a);
	TEST_ASSERT(uidvalidity(s, "a/b") != uv_ab);
	TEST_ASSERT(uidvalidity(s, "a/b") > uv_ab);
	TEST_EQ_INT(store_testlib_count(s, ab_id), 1);

	/* Refusals. */
	TEST_EQ_INT(store_mailbox_rename(s, "a", "a/b/z"), STORE_INVALID);
	TEST_EQ_INT(store_mailbox_rename(s, "a", "a b"), STORE_EXISTS);
	TEST_EQ_INT(store_mailbox_rename(s, "a", "a"), STORE_EXISTS);
	TEST_EQ_INT(store_mailbox_rename(s, "a", "inbox"), STORE_EXISTS);
	TEST_EQ_INT(store_mailbox_rename(s, "nope", "z"), STORE_NOT_FOUND);
	TEST_EQ_INT(store_mailbox_rename(s, "a", "z/"), STORE_INVALID);
	/* A child's new name would be too deep: nothing moves. */
	TEST_EQ_INT(store_mailbox_create(s,
	    "d/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", 0, NULL), STORE_OK);
	TEST_EQ_INT(store_mailbox_rename(s, "d", "e/f"), STORE_INVALID);
	TEST_ASSERT(exists(s, "d/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16"));
	TEST_ASSERT(!exists(s, "e"));
	free(text);
	done(&s, dir);
}

static void
vanished_cb(uint32_t uid, uint64_t modseq, void *ctx)
{
	uint32_t *n = ctx;

	(void)uid;
	(void)modseq;
	(*n)++;
}

static void
test_rename_inbox(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char *text = store_testlib_message(300, NULL, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	uint32_t uv = uidvalidity(s, "INBOX"), vanished = 0;

	TEST_EQ_INT(store_mailbox_create(s, "INBOX/keep", 0, NULL), STORE_OK);
	for (int i = 0; i < 3; i++)
		TEST_EQ_INT(store_testlib_append(s, inbox, text,
		    STORE_FLAG_SEEN, NULL), STORE_OK);
	struct store_mailbox m = get(s, "INBOX");
	uint64_t h = m.highestmodseq;
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_rename(s, "inbox", "Old Mail"), STORE_OK);
	/* INBOX stays, empty, same id and UIDVALIDITY, UIDNEXT kept. */
	TEST_EQ_INT(store_testlib_mailbox(s, "INBOX"), inbox);
	TEST_EQ_INT(store_testlib_count(s, inbox), 0);
	TEST_EQ_INT(uidvalidity(s, "INBOX"), uv);
	m = get(s, "INBOX");
	TEST_EQ_INT(m.uidnext, 4);
	TEST_EQ_INT(m.messages, 0);
	TEST_EQ_INT(m.unseen, 0);
	store_mailbox_clear(&m);
	/* The expunges are recorded for QRESYNC. */
	TEST_EQ_INT(store_changes(s, inbox, h, NULL, vanished_cb, &vanished),
	    STORE_OK);
	TEST_EQ_INT(vanished, 3);
	m = get(s, "Old Mail");
	TEST_EQ_INT(m.messages, 3);
	TEST_EQ_INT(m.uidnext, 4);
	store_mailbox_clear(&m);
	TEST_ASSERT(exists(s, "INBOX/keep"));
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 3);
	TEST_EQ_INT(store_mailbox_rename(s, "INBOX", "Old Mail"),
	    STORE_EXISTS);
	/* Into its own child: allowed for INBOX, children do not move. */
	TEST_EQ_INT(store_mailbox_rename(s, "INBOX", "INBOX/old"), STORE_OK);
	free(text);
	done(&s, dir);
}

static void
test_subscriptions(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char **names = NULL;
	size_t n = 0;

	TEST_EQ_INT(store_mailbox_subscribe(s, "Ghost/Town", true), STORE_OK);
	TEST_EQ_INT(store_mailbox_subscribe(s, "Ghost/Town", true), STORE_OK);
	TEST_EQ_INT(store_mailbox_subscribe(s, "Trash", false), STORE_OK);
	TEST_EQ_INT(store_mailbox_subscribe(s, "inbox", true), STORE_OK);
	TEST_EQ_INT(store_mailbox_subscribe(s, "bad//name", true),
	    STORE_INVALID);
	TEST_EQ_INT(store_subscriptions(s, &names, &n), STORE_OK);
	static const char *const want[] = { "Archive", "Drafts",
	    "Ghost/Town", "INBOX", "Junk", "Sent" };
	TEST_EQ_INT(n, 6);
	for (size_t i = 0; i < n; i++) {
		if (i < 6)
			TEST_EQ_STR(names[i], want[i]);
		free(names[i]);
	}
	free(names);
	struct store_mailbox m = get(s, "Trash");
	TEST_ASSERT(!m.subscribed);
	store_mailbox_clear(&m);
	/* A deleted mailbox keeps its subscription (RFC 9051 §6.3.9). */
	TEST_EQ_INT(store_mailbox_delete(s, "Junk"), STORE_OK);
	TEST_ASSERT(subscribed(s, "Junk"));
	done(&s, dir);
}

static void
test_special_use_and_uids(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	char *text = store_testlib_message(300, NULL, NULL);
	int64_t id = 0;

	TEST_EQ_INT(store_mailbox_create(s, "All Mail", STORE_SPECIAL_ALL,
	    &id), STORE_OK);
	struct store_mailbox m = get(s, "All Mail");
	TEST_EQ_INT(m.special_use, STORE_SPECIAL_ALL);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_set_special_use(s, "All Mail",
	    STORE_SPECIAL_FLAGGED | STORE_SPECIAL_ALL), STORE_OK);
	m = get(s, "All Mail");
	TEST_EQ_INT(m.special_use, STORE_SPECIAL_FLAGGED | STORE_SPECIAL_ALL);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_set_special_use(s, "nope", 0),
	    STORE_NOT_FOUND);
	TEST_EQ_INT(store_mailbox_set_special_use(s, "All Mail", 1u << 8),
	    STORE_INVALID);

	/* Import: UIDVALIDITY and UIDNEXT of an empty mailbox. */
	TEST_EQ_INT(store_mailbox_set_uids(s, id, 12345, 500), STORE_OK);
	TEST_EQ_INT(uidvalidity(s, "All Mail"), 12345);
	m = get(s, "All Mail");
	TEST_EQ_INT(m.uidnext, 500);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_set_uids(s, id, 12345, 10), STORE_OK);
	m = get(s, "All Mail");
	TEST_EQ_INT(m.uidnext, 500);		/* only raised */
	store_mailbox_clear(&m);
	uint32_t uid = 0;
	TEST_EQ_INT(store_testlib_append(s, id, text, 0, &uid), STORE_OK);
	TEST_EQ_INT(uid, 500);
	TEST_EQ_INT(store_mailbox_set_uids(s, id, 777, 1), STORE_INVALID);
	TEST_EQ_INT(store_mailbox_set_uids(s, id, 0, 1), STORE_INVALID);
	TEST_EQ_INT(store_mailbox_set_uids(s, 9999, 5, 1), STORE_NOT_FOUND);
	/* A huge imported UIDVALIDITY: later ones still go above it. */
	int64_t id2 = 0;
	TEST_EQ_INT(store_mailbox_create(s, "Imp", 0, &id2), STORE_OK);
	TEST_EQ_INT(store_mailbox_set_uids(s, id2, 4000000000u, 1), STORE_OK);
	TEST_EQ_INT(store_mailbox_create(s, "After", 0, NULL), STORE_OK);
	TEST_ASSERT(uidvalidity(s, "After") > 4000000000u);
	free(text);
	done(&s, dir);
}

int
main(void)
{
	TEST_RUN(test_names);
	TEST_RUN(test_create);
	TEST_RUN(test_delete);
	TEST_RUN(test_rename);
	TEST_RUN(test_rename_inbox);
	TEST_RUN(test_subscriptions);
	TEST_RUN(test_special_use_and_uids);
	return test_done();
}
