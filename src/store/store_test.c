/* store_test.c — the store's messages: layout and defaults, UID and MODSEQ
   rules, flags with UNCHANGEDSINCE, keywords, fetch ranges, EMAILID and
   THREADID, quota, delivery keys, hard links, crash ordering and the
   orphan scan, transactions, the change feed, concurrent writers, and
   the append rate. Mailboxes are store_mailbox_test.c. */
#include "store/store.h"
#include "store/store_private.h"
#include "store/store_testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

#define SEEN STORE_FLAG_SEEN
#define DELETED STORE_FLAG_DELETED

/* --- helpers ------------------------------------------------------------ */

static void
done(struct store **s, char *dir)
{
	store_close(s);
	fsutil_remove_tree(dir);
	free(dir);
}

static uint32_t
append_ok(struct store *s, int64_t mbox, const char *text, unsigned flags)
{
	uint32_t uid = 0;
	int ret = store_testlib_append(s, mbox, text, flags, &uid);

	if (ret != STORE_OK)
		test_fail(__FILE__, __LINE__, "append: %d %s", ret,
		    store_error(s));
	return uid;
}

struct collect {
	uint32_t uids[64];
	uint64_t modseqs[64];
	unsigned flags[64];
	char *keywords[64];
	char *emailid[64], *threadid[64];
	bool has_envelope[64], has_bodystructure[64];
	uint64_t sizes[64];
	char *paths[64];
	size_t n;
	uint32_t vanished[64];
	uint64_t vanished_modseqs[64];
	size_t n_vanished;
};

static void
collect_clear(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->keywords[i]);
		free(c->emailid[i]);
		free(c->threadid[i]);
		free(c->paths[i]);
	}
	memset(c, 0, sizeof(*c));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int
collect_msg(const struct store_message *m, void *ctx)
{
	struct collect *c = ctx;

	if (c->n == 64)
		return 1;
	c->uids[c->n] = m->uid;
	c->modseqs[c->n] = m->modseq;
	c->flags[c->n] = m->flags;
	c->keywords[c->n] = dup_or_null(m->keywords);
	c->emailid[c->n] = dup_or_null(m->emailid);
	c->threadid[c->n] = dup_or_null(m->threadid);
	c->has_envelope[c->n] = m->envelope != NULL;
	c->has_bodystructure[c->n] = m->bodystructure != NULL;
	c->sizes[c->n] = m->size;
	c->paths[c->n] = dup_or_null(m->path);
	c->n++;
	return 0;
}

static void
collect_vanished(uint32_t uid, void *ctx)
{
	struct collect *c = ctx;

	if (c->n_vanished < 64)
		c->vanished[c->n_vanished++] = uid;
}

static void
collect_vanished_modseq(uint32_t uid, uint64_t modseq, void *ctx)
{
	struct collect *c = ctx;

	if (c->n_vanished < 64)
		c->vanished_modseqs[c->n_vanished] = modseq;
	collect_vanished(uid, ctx);
}

static void
fetch_all(struct store *s, int64_t mbox, unsigned items, struct collect *c)
{
	int ret;

	collect_clear(c);
	ret = store_fetch(s, mbox, NULL, 0, items, collect_msg, c);
	if (ret != STORE_OK)
		test_fail(__FILE__, __LINE__, "fetch: %s", store_error(s));
}

static uint64_t
highestmodseq(struct store *s, const char *name)
{
	struct store_mailbox m;
	uint64_t h;

	if (store_mailbox_get(s, name, &m) != STORE_OK)
		return 0;
	h = m.highestmodseq;
	store_mailbox_clear(&m);
	return h;
}

static uint32_t
uidnext(struct store *s, const char *name)
{
	struct store_mailbox m;
	uint32_t u;

	if (store_mailbox_get(s, name, &m) != STORE_OK)
		return 0;
	u = m.uidnext;
	store_mailbox_clear(&m);
	return u;
}

static nlink_t
nlink_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_nlink : 0;
}

/* --- layout and defaults ------------------------------------------------ */

static void
test_layout(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 7, NULL);
	struct store_mailbox *list = NULL;
	char *path = xasprintf("%s/accounts/7/index.db", dir);
	struct collect c = { 0 };
	struct stat st;
	size_t n = 0;

	TEST_EQ_INT(store_account_id(s), 7);
	TEST_EQ_INT(stat(path, &st), 0);
	free(path);
	path = xasprintf("%s/accounts/7/msg", dir);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0700);
	free(path);
	TEST_EQ_INT(store_mailbox_list(s, &list, &n), STORE_OK);
	TEST_EQ_INT(n, 6);
	if (n == 6) {
		TEST_EQ_STR(list[0].name, "INBOX");
		TEST_EQ_STR(list[1].name, "Archive");
		TEST_EQ_INT(list[1].special_use, STORE_SPECIAL_ARCHIVE);
		TEST_EQ_STR(list[2].name, "Drafts");
		TEST_EQ_INT(list[2].special_use, STORE_SPECIAL_DRAFTS);
		TEST_EQ_STR(list[3].name, "Junk");
		TEST_EQ_INT(list[3].special_use, STORE_SPECIAL_JUNK);
		TEST_EQ_STR(list[4].name, "Sent");
		TEST_EQ_INT(list[4].special_use, STORE_SPECIAL_SENT);
		TEST_EQ_STR(list[5].name, "Trash");
		TEST_EQ_INT(list[5].special_use, STORE_SPECIAL_TRASH);
		for (size_t i = 0; i < n; i++) {
			TEST_ASSERT(list[i].subscribed);
			TEST_EQ_INT(list[i].uidnext, 1);
			TEST_EQ_INT(list[i].messages, 0);
			TEST_ASSERT(list[i].uidvalidity != 0);
			for (size_t j = 0; j < i; j++)
				TEST_ASSERT(list[i].uidvalidity !=
				    list[j].uidvalidity);
		}
	}
	store_mailbox_list_free(&list, n);
	TEST_ASSERT(list == NULL);

	/* A message file is 0600, in a 0700 msg/<xx>. */
	int64_t inbox = store_testlib_mailbox(s, "inbox");
	char *text = store_testlib_message(300, "<a@x>", NULL);
	append_ok(s, inbox, text, 0);
	fetch_all(s, inbox, STORE_FETCH_PATH | STORE_FETCH_SIZE, &c);
	TEST_EQ_INT(c.n, 1);
	if (c.n == 1) {
		TEST_EQ_INT(stat(c.paths[0], &st), 0);
		TEST_EQ_INT(st.st_mode & 0777, 0600);
		TEST_EQ_INT(c.sizes[0], strlen(text));
		TEST_EQ_INT(st.st_size, strlen(text));
		path = xstrdup(c.paths[0]);
		*strrchr(path, '/') = '\0';
		TEST_EQ_INT(stat(path, &st), 0);
		TEST_EQ_INT(st.st_mode & 0777, 0700);
		TEST_EQ_INT(strlen(strrchr(path, '/') + 1), 2);
		free(path);
	}
	collect_clear(&c);
	free(text);

	/* Reopening keeps everything and adds nothing. */
	store_close(&s);
	s = store_testlib_open(dir, 7, NULL);
	TEST_EQ_INT(store_mailbox_list(s, &list, &n), STORE_OK);
	TEST_EQ_INT(n, 6);
	store_mailbox_list_free(&list, n);
	TEST_EQ_INT(store_testlib_count(s, inbox), 1);

	/* Bad ids. */
	struct store *bad = NULL;
	char *error = NULL;
	TEST_EQ_INT(store_open(dir, 0, NULL, &bad, &error), STORE_INVALID);
	TEST_ASSERT(bad == NULL && error != NULL);
	free(error);
	done(&s, dir);
}

/* --- UIDs and MODSEQs --------------------------------------------------- */

static void
test_uid_modseq(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(200, NULL, NULL);
	struct collect c = { 0 };
	uint64_t h0 = highestmodseq(s, "INBOX"), h;
	uint32_t *uids = NULL;
	size_t n = 0;

	TEST_ASSERT(h0 >= 1);
	TEST_EQ_INT(append_ok(s, inbox, text, 0), 1);
	TEST_EQ_INT(append_ok(s, inbox, text, 0), 2);
	TEST_EQ_INT(append_ok(s, inbox, text, 0), 3);
	TEST_EQ_INT(highestmodseq(s, "INBOX"), h0 + 3);
	fetch_all(s, inbox, STORE_FETCH_FLAGS, &c);
	TEST_EQ_INT(c.n, 3);
	for (size_t i = 1; i < c.n; i++) {
		TEST_ASSERT(c.uids[i] > c.uids[i - 1]);
		TEST_ASSERT(c.modseqs[i] > c.modseqs[i - 1]);
	}

	/* Expunging the last message does not give its UID back. */
	struct store_range r3 = { 3, 3 };
	TEST_EQ_INT(store_flags(s, inbox, &r3, 1, STORE_FLAGS_ADD, DELETED,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	h = highestmodseq(s, "INBOX");
	TEST_EQ_INT(h, h0 + 4);
	TEST_EQ_INT(store_expunge(s, inbox, NULL, 0, collect_vanished, &c),
	    STORE_OK);
	TEST_EQ_INT(c.n_vanished, 1);
	TEST_EQ_INT(c.vanished[0], 3);
	TEST_EQ_INT(highestmodseq(s, "INBOX"), h + 1);
	TEST_EQ_INT(uidnext(s, "INBOX"), 4);
	store_close(&s);
	s = store_testlib_open(dir, 1, NULL);
	TEST_EQ_INT(uidnext(s, "INBOX"), 4);
	TEST_EQ_INT(append_ok(s, inbox, text, 0), 4);
	TEST_EQ_INT(store_uids(s, inbox, &uids, &n), STORE_OK);
	TEST_EQ_INT(n, 3);
	if (n == 3) {
		TEST_EQ_INT(uids[0], 1);
		TEST_EQ_INT(uids[1], 2);
		TEST_EQ_INT(uids[2], 4);
	}
	free(uids);

	/* Each changed message takes its own modseq; unchanged ones none. */
	h = highestmodseq(s, "INBOX");
	struct store_range r12 = { 1, 2 };
	TEST_EQ_INT(store_flags(s, inbox, &r12, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(highestmodseq(s, "INBOX"), h + 2);
	TEST_EQ_INT(store_flags(s, inbox, &r12, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(highestmodseq(s, "INBOX"), h + 2);

	/* CONDSTORE/QRESYNC: what changed since h, and what vanished. */
	collect_clear(&c);
	TEST_EQ_INT(store_changes(s, inbox, h, collect_msg,
	    collect_vanished_modseq, &c), STORE_OK);
	TEST_EQ_INT(c.n, 2);
	TEST_EQ_INT(c.n_vanished, 0);
	if (c.n == 2) {
		TEST_EQ_INT(c.uids[0], 1);
		TEST_EQ_INT(c.flags[0], SEEN);
		TEST_EQ_INT(c.modseqs[1], h + 2);
	}
	collect_clear(&c);
	TEST_EQ_INT(store_changes(s, inbox, h0, collect_msg,
	    collect_vanished_modseq, &c), STORE_OK);
	TEST_EQ_INT(c.n, 3);
	TEST_EQ_INT(c.n_vanished, 1);
	TEST_EQ_INT(c.vanished[0], 3);
	/* The expunge's own modseq (the one it took, h0 + 5), so that a
	   session moves its HIGHESTMODSEQ past it. */
	TEST_EQ_INT(c.vanished_modseqs[0], h0 + 5);
	collect_clear(&c);
	TEST_EQ_INT(store_changes(s, inbox, h0 + 5, collect_msg,
	    collect_vanished_modseq, &c), STORE_OK);
	TEST_EQ_INT(c.n_vanished, 0);
	collect_clear(&c);
	TEST_EQ_INT(store_changes(s, 9999, 0, collect_msg, NULL, &c),
	    STORE_NOT_FOUND);

	/* Import: a given UID at or above UIDNEXT, never below. */
	struct store_append a = { 0 };
	uint32_t uid = 0;
	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);
	a.uid = 4;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_INVALID);
	a.uid = 100;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	TEST_EQ_INT(uid, 100);
	TEST_EQ_INT(uidnext(s, "INBOX"), 101);
	a.uid = UINT32_MAX;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_NOT_ALLOWED);

	/* Zero bytes, both or neither of path and data, bad flags. */
	a.uid = 0;
	a.len = 0;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_INVALID);
	a.len = strlen(text);
	a.path = "/dev/null";
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_INVALID);
	a.data = NULL;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_INVALID);
	a.path = NULL;
	a.data = text;
	a.flags = 1u << 9;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_INVALID);
	a.flags = 0;
	a.mailbox_id = 9999;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_NOT_FOUND);
	TEST_ASSERT(strstr(store_error(s), "does not exist") != NULL);
	/* Nothing of the refused appends was left on disk. */
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 4);

	free(text);
	done(&s, dir);
}

struct changed_log {
	uint32_t uids[16];
	unsigned flags[16];
	char *keywords[16];
	uint64_t modseqs[16];
	size_t n;
};

static void
changed_cb(uint32_t uid, unsigned flags, const char *keywords,
    uint64_t modseq, void *ctx)
{
	struct changed_log *l = ctx;

	if (l->n == 16)
		return;
	l->uids[l->n] = uid;
	l->flags[l->n] = flags;
	l->keywords[l->n] = xstrdup(keywords);
	l->modseqs[l->n] = modseq;
	l->n++;
}

static void
changed_clear(struct changed_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keywords[i]);
	memset(l, 0, sizeof(*l));
}

static void
test_flags_unchangedsince(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(200, NULL, NULL);
	struct changed_log l = { 0 };
	struct collect c = { 0 };
	uint32_t *failed = NULL;
	size_t n_failed = 0;

	for (int i = 0; i < 3; i++)
		append_ok(s, inbox, text, 0);
	fetch_all(s, inbox, STORE_FETCH_FLAGS, &c);
	uint64_t m2 = c.modseqs[1];
	/* Message 3 changes after m2: UNCHANGEDSINCE m2 must skip it. */
	struct store_range r3 = { 3, 3 }, r13 = { 1, 3 };
	TEST_EQ_INT(store_flags(s, inbox, &r3, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_flags(s, inbox, &r13, 1, STORE_FLAGS_ADD, SEEN,
	    "$Label1", m2, changed_cb, &l, &failed, &n_failed), STORE_OK);
	TEST_EQ_INT(n_failed, 1);
	if (n_failed == 1)
		TEST_EQ_INT(failed[0], 3);
	free(failed);
	TEST_EQ_INT(l.n, 2);
	if (l.n == 2) {
		TEST_EQ_INT(l.uids[0], 1);
		TEST_EQ_INT(l.flags[0], SEEN);
		TEST_EQ_STR(l.keywords[0], "$Label1");
		TEST_ASSERT(l.modseqs[1] > l.modseqs[0]);
	}
	changed_clear(&l);
	fetch_all(s, inbox, STORE_FETCH_FLAGS, &c);
	TEST_EQ_INT(c.flags[2], STORE_FLAG_FLAGGED);

	/* With UNCHANGEDSINCE, messages that need no change are reported
	   (RFC 7162 §3.1.3) but not bumped; without, they are neither. */
	uint64_t h = highestmodseq(s, "INBOX");
	struct store_range r1 = { 1, 1 };
	TEST_EQ_INT(store_flags(s, inbox, &r1, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, h, changed_cb, &l, &failed, &n_failed), STORE_OK);
	TEST_EQ_INT(l.n, 1);
	TEST_EQ_INT(n_failed, 0);
	TEST_ASSERT(failed == NULL);
	TEST_EQ_INT(highestmodseq(s, "INBOX"), h);
	changed_clear(&l);
	TEST_EQ_INT(store_flags(s, inbox, &r1, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, 0, changed_cb, &l, NULL, NULL), STORE_OK);
	TEST_EQ_INT(l.n, 0);

	/* SET replaces flags and keywords; REMOVE takes away. */
	TEST_EQ_INT(store_flags(s, inbox, &r1, 1, STORE_FLAGS_SET,
	    STORE_FLAG_ANSWERED, "a b", 0, changed_cb, &l, NULL, NULL),
	    STORE_OK);
	TEST_EQ_INT(l.n, 1);
	if (l.n == 1) {
		TEST_EQ_INT(l.flags[0], STORE_FLAG_ANSWERED);
		TEST_EQ_STR(l.keywords[0], "a b");
	}
	changed_clear(&l);
	TEST_EQ_INT(store_flags(s, inbox, &r1, 1, STORE_FLAGS_REMOVE,
	    STORE_FLAG_ANSWERED, "A", 0, changed_cb, &l, NULL, NULL),
	    STORE_OK);
	if (l.n == 1) {
		TEST_EQ_INT(l.flags[0], 0);
		TEST_EQ_STR(l.keywords[0], "b");
	}
	changed_clear(&l);
	TEST_EQ_INT(store_flags(s, inbox, &r1, 1, STORE_FLAGS_ADD, 1u << 7,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_INVALID);
	struct store_range bad = { 5, 2 };
	TEST_EQ_INT(store_flags(s, inbox, &bad, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_INVALID);
	TEST_EQ_INT(store_flags(s, 9999, &r1, 1, STORE_FLAGS_ADD, SEEN,
	    NULL, 0, NULL, NULL, NULL, NULL), STORE_NOT_FOUND);

	collect_clear(&c);
	free(text);
	done(&s, dir);
}

static void
test_keywords(void)
{
	static const struct {
		const char *in, *want;
		int ret;
	} cases[] = {
		{ NULL, "", STORE_OK },
		{ "", "", STORE_OK },
		{ "  $Junk  ", "$Junk", STORE_OK },
		{ "$Label1 $label1 Work $LABEL1 work", "$Label1 Work",
		    STORE_OK },
		{ "a\\b", NULL, STORE_INVALID },
		{ "\\Seen", NULL, STORE_INVALID },
		{ "(x)", NULL, STORE_INVALID },
		{ "caf\xc3\xa9", NULL, STORE_INVALID },
		{ "a\tb", NULL, STORE_INVALID },
	};
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int ret = store_keywords_canon(s, cases[i].in, &out);

		TEST_EQ_INT(ret, cases[i].ret);
		TEST_EQ_STR(out, cases[i].want);
		free(out);
	}
	/* Over the count limit. */
	char many[8192];
	size_t len = 0;
	for (int i = 0; i <= STORE_KEYWORDS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		    "k%d ", i);
	char *out = NULL;
	TEST_EQ_INT(store_keywords_canon(s, many, &out), STORE_INVALID);
	TEST_ASSERT(out == NULL);

	char *r = store_keywords_apply("a B c", STORE_FLAGS_ADD, "b D");
	TEST_EQ_STR(r, "a B c D");
	free(r);
	r = store_keywords_apply("a B c", STORE_FLAGS_REMOVE, "b C");
	TEST_EQ_STR(r, "a");
	free(r);
	r = store_keywords_apply("a B c", STORE_FLAGS_SET, "x");
	TEST_EQ_STR(r, "x");
	free(r);

	/* An append keeps the normalised form. */
	int64_t inbox = store_testlib_mailbox(s, "INBOX");

	/* Repeated ADDs cannot grow a message past the limit: each call is
	   within it, the sum is refused and changes nothing. */
	char *big = store_testlib_message(100, NULL, NULL);
	uint32_t kuid = append_ok(s, inbox, big, 0);
	struct store_range kr = { kuid, kuid };
	char half[4096];
	size_t hl = 0;
	for (int i = 0; i < STORE_KEYWORDS_MAX; i++)
		hl += (size_t)snprintf(half + hl, sizeof(half) - hl, "x%d ", i);
	TEST_EQ_INT(store_flags(s, inbox, &kr, 1, STORE_FLAGS_ADD, 0, half, 0,
	    NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_flags(s, inbox, &kr, 1, STORE_FLAGS_ADD, 0,
	    "y1 y2", 0, NULL, NULL, NULL, NULL), STORE_INVALID);
	/* Replacing is fine; so is adding what is there already. */
	TEST_EQ_INT(store_flags(s, inbox, &kr, 1, STORE_FLAGS_ADD, 0,
	    "x1 X2", 0, NULL, NULL, NULL, NULL), STORE_OK);
	struct collect kc = { 0 };
	fetch_all(s, inbox, STORE_FETCH_FLAGS, &kc);
	TEST_EQ_INT(kc.n, 1);
	TEST_ASSERT(kc.n == 1 && strstr(kc.keywords[0], "y1") == NULL &&
	    strncmp(kc.keywords[0], "x0 x1 x2 ", 9) == 0);
	collect_clear(&kc);
	struct store_range all = { 1, UINT32_MAX };
	TEST_EQ_INT(store_flags(s, inbox, &all, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_expunge(s, inbox, NULL, 0, NULL, NULL), STORE_OK);
	free(big);
	char *text = store_testlib_message(100, NULL, NULL);
	struct store_append a = { 0 };
	struct collect c = { 0 };
	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);
	a.keywords = "Foo foo $Bar";
	a.flags = SEEN | STORE_FLAG_DRAFT;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_OK);
	a.keywords = "bad\\one";
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_INVALID);
	fetch_all(s, inbox, STORE_FETCH_FLAGS, &c);
	TEST_EQ_INT(c.n, 1);
	TEST_EQ_STR(c.keywords[0], "Foo $Bar");
	TEST_EQ_INT(c.flags[0], SEEN | STORE_FLAG_DRAFT);
	collect_clear(&c);
	free(text);
	done(&s, dir);
}

/* --- fetch -------------------------------------------------------------- */

static int
dates_cb(const struct store_message *m, void *ctx)
{
	time_t *d = ctx;

	d[0] = m->internal_date;
	d[1] = m->save_date;
	return 0;
}

static void
test_fetch(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(500, "<m@x>", NULL);
	struct collect c = { 0 };
	time_t before = time(NULL);

	for (int i = 0; i < 10; i++)
		append_ok(s, inbox, text, 0);
	/* Unsorted, overlapping, adjacent: each message once, ascending. */
	struct store_range rs[] = { { 7, 9 }, { 2, 3 }, { 3, 4 }, { 8, 8 },
	    { 5, 5 }, { 20, 30 } };
	TEST_EQ_INT(store_fetch(s, inbox, rs, 6, STORE_FETCH_ENVELOPE |
	    STORE_FETCH_BODYSTRUCTURE | STORE_FETCH_IDS | STORE_FETCH_SIZE |
	    STORE_FETCH_PATH, collect_msg, &c), STORE_OK);
	TEST_EQ_INT(c.n, 7);
	static const uint32_t want[] = { 2, 3, 4, 5, 7, 8, 9 };
	for (size_t i = 0; i < c.n && i < 7; i++) {
		TEST_EQ_INT(c.uids[i], want[i]);
		TEST_ASSERT(c.has_envelope[i]);
		TEST_ASSERT(c.has_bodystructure[i]);
		TEST_EQ_INT(c.sizes[i], strlen(text));
		TEST_ASSERT(c.emailid[i] != NULL && c.emailid[i][0] == 'M');
		TEST_ASSERT(c.threadid[i] != NULL && c.threadid[i][0] == 'T');
		TEST_ASSERT(access(c.paths[i], R_OK) == 0);
		/* Messages without FLAGS asked have no keywords string. */
		TEST_ASSERT(c.keywords[i] == NULL);
	}
	/* Distinct contents, distinct EMAILIDs. */
	if (c.n >= 2)
		TEST_ASSERT(strcmp(c.emailid[0], c.emailid[1]) != 0);
	collect_clear(&c);

	/* The callback's non-zero return stops and is returned. */
	TEST_EQ_INT(store_fetch(s, inbox, NULL, 0, 0, collect_msg, &c),
	    STORE_OK);
	TEST_EQ_INT(c.n, 10);
	c.n = 64;
	TEST_EQ_INT(store_fetch(s, inbox, NULL, 0, 0, collect_msg, &c), 1);
	c.n = 10;
	collect_clear(&c);
	fetch_all(s, inbox, STORE_FETCH_DATES, &c);
	TEST_EQ_INT(c.n, 10);
	collect_clear(&c);

	/* Dates: INTERNALDATE as given, SAVEDATE now. */
	struct store_append a = { 0 };
	uint32_t uid = 0;
	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);
	a.internal_date = 1000000000;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	struct store_range r = { uid, uid };
	time_t d[2] = { 0, 0 };
	TEST_EQ_INT(store_fetch(s, inbox, &r, 1, STORE_FETCH_DATES, dates_cb,
	    d), STORE_OK);
	TEST_EQ_INT(d[0], 1000000000);
	TEST_ASSERT(d[1] >= before && d[1] <= time(NULL));

	/* The message file. */
	int fd = -1;
	uint64_t size = 0;
	TEST_EQ_INT(store_message_open(s, inbox, uid, &fd, &size), STORE_OK);
	TEST_EQ_INT(size, strlen(text));
	if (fd != -1) {
		char head[6] = { 0 };

		TEST_EQ_INT(read(fd, head, 5), 5);
		TEST_EQ_STR(head, "From:");
		close(fd);
	}
	TEST_EQ_INT(store_message_open(s, inbox, 999, &fd, &size),
	    STORE_NOT_FOUND);
	TEST_EQ_INT(fd, -1);
	TEST_EQ_INT(store_fetch(s, 9999, NULL, 0, 0, collect_msg, &c),
	    STORE_NOT_FOUND);
	free(text);
	done(&s, dir);
}

/* --- EMAILID, THREADID -------------------------------------------------- */

static void
map_cb(uint32_t src, uint32_t dst, void *ctx)
{
	uint32_t *pair = ctx;

	pair[0] = src;
	pair[1] = dst;
}

static char *
one_id(struct store *s, int64_t mbox, uint32_t uid, bool thread)
{
	struct store_range r = { uid, uid };
	struct collect c = { 0 };
	char *id = NULL;

	store_fetch(s, mbox, &r, 1, STORE_FETCH_IDS, collect_msg, &c);
	if (c.n == 1)
		id = xstrdup(thread ? c.threadid[0] : c.emailid[0]);
	collect_clear(&c);
	return id != NULL ? id : xstrdup("?");
}

static void
test_threads(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	int64_t arch = store_testlib_mailbox(s, "Archive");
	char *parent = store_testlib_message(200, "<p@x>", NULL);
	char *reply = store_testlib_message(200, "<r@x>", "<p@x>");
	char *other = store_testlib_message(200, "<o@x>", NULL);
	char *early = store_testlib_message(200, "<c@x>", "<late@x>");
	char *late = store_testlib_message(200, "<late@x>", NULL);
	uint32_t up = append_ok(s, inbox, parent, 0);
	uint32_t ur = append_ok(s, inbox, reply, 0);
	uint32_t uo = append_ok(s, inbox, other, 0);
	uint32_t ue = append_ok(s, inbox, early, 0);
	uint32_t ul = append_ok(s, inbox, late, 0);
	char *tp = one_id(s, inbox, up, true), *tr = one_id(s, inbox, ur, true);
	char *to = one_id(s, inbox, uo, true), *te = one_id(s, inbox, ue, true);
	char *tl = one_id(s, inbox, ul, true);

	TEST_EQ_STR(tr, tp);
	TEST_ASSERT(strcmp(to, tp) != 0);
	/* The parent arriving after its reply joins the reply's thread. */
	TEST_EQ_STR(tl, te);

	/* A copy keeps EMAILID and THREADID; so does a move. */
	char *ep = one_id(s, inbox, up, false);
	struct store_range r = { up, up };
	uint32_t got_src = 0, got_dst = 0;
	uint32_t pair[2] = { 0, 0 };
	TEST_EQ_INT(store_copy(s, inbox, &r, 1, arch, false, map_cb, pair),
	    STORE_OK);
	got_src = pair[0];
	got_dst = pair[1];
	TEST_EQ_INT(got_src, up);
	TEST_EQ_INT(got_dst, 1);
	char *ec = one_id(s, arch, 1, false), *tc = one_id(s, arch, 1, true);
	TEST_EQ_STR(ec, ep);
	TEST_EQ_STR(tc, tp);
	struct store_range rr = { ur, ur };
	TEST_EQ_INT(store_copy(s, inbox, &rr, 1, arch, true, map_cb, pair),
	    STORE_OK);
	TEST_EQ_INT(pair[1], 2);
	char *tm = one_id(s, arch, 2, true);
	TEST_EQ_STR(tm, tp);

	free(tm);
	free(ec);
	free(tc);
	free(ep);
	free(tp);
	free(tr);
	free(to);
	free(te);
	free(tl);
	free(parent);
	free(reply);
	free(other);
	free(early);
	free(late);
	done(&s, dir);
}

/* --- quota -------------------------------------------------------------- */

static void
check_usage_at(const char *file, int line, struct store *s, const char *dir,
    uint64_t bytes, uint64_t messages)
{
	struct store_usage u = { 1, 1 }, p = { 1, 1 };
	char *error = NULL;

	if (store_usage(s, &u) != STORE_OK || u.bytes != bytes ||
	    u.messages != messages)
		test_fail(file, line, "usage %llu/%llu, want %llu/%llu",
		    (unsigned long long)u.bytes,
		    (unsigned long long)u.messages,
		    (unsigned long long)bytes, (unsigned long long)messages);
	if (store_usage_peek(dir, store_account_id(s), &p, &error) !=
	    STORE_OK || p.bytes != bytes || p.messages != messages)
		test_fail(file, line, "peek %llu/%llu (%s), want %llu/%llu",
		    (unsigned long long)p.bytes,
		    (unsigned long long)p.messages, error ? error : "",
		    (unsigned long long)bytes, (unsigned long long)messages);
	free(error);
}
#define CHECK_USAGE(s, dir, b, m) check_usage_at(__FILE__, __LINE__, s, dir, \
	b, m)

static void
test_quota(void)
{
	char *dir = test_tmpdir();
	struct store_limits lim = { 10000, 0 };
	struct store *s = store_testlib_open(dir, 3, &lim);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	int64_t arch = store_testlib_mailbox(s, "Archive");
	char *m3k = store_testlib_message(3000, NULL, NULL);
	char *big = store_testlib_message(10001, NULL, NULL);
	struct store_usage p = { 1, 1 };
	char *error = NULL;

	/* Never opened: zero, and nothing created. */
	TEST_EQ_INT(store_usage_peek(dir, 99, &p, &error), STORE_OK);
	TEST_EQ_INT(p.bytes, 0);
	TEST_EQ_INT(p.messages, 0);
	char *acct = xasprintf("%s/accounts/99", dir);
	TEST_ASSERT(access(acct, F_OK) == -1);
	free(acct);

	CHECK_USAGE(s, dir, 0, 0);
	TEST_EQ_INT(store_testlib_append(s, inbox, big, 0, NULL),
	    STORE_TOO_BIG);
	append_ok(s, inbox, m3k, 0);
	append_ok(s, inbox, m3k, SEEN);
	append_ok(s, inbox, m3k, DELETED);
	CHECK_USAGE(s, dir, 9000, 3);
	TEST_EQ_INT(store_testlib_append(s, inbox, m3k, 0, NULL),
	    STORE_OVER_QUOTA);
	TEST_ASSERT(strstr(store_error(s), "quota") != NULL);
	TEST_EQ_INT(store_testlib_count_files(dir, 3), 3);

	/* Mailbox counters follow. */
	struct store_mailbox m;
	TEST_EQ_INT(store_mailbox_get(s, "INBOX", &m), STORE_OK);
	TEST_EQ_INT(m.messages, 3);
	TEST_EQ_INT(m.unseen, 2);
	TEST_EQ_INT(m.deleted, 1);
	TEST_EQ_INT(m.size, 9000);
	store_mailbox_clear(&m);

	/* A copy counts; over the quota it is refused whole. */
	struct store_range r1 = { 1, 1 };
	TEST_EQ_INT(store_copy(s, inbox, &r1, 1, arch, false, NULL, NULL),
	    STORE_OVER_QUOTA);
	CHECK_USAGE(s, dir, 9000, 3);
	TEST_EQ_INT(store_expunge(s, inbox, NULL, 0, NULL, NULL), STORE_OK);
	CHECK_USAGE(s, dir, 6000, 2);
	TEST_EQ_INT(store_copy(s, inbox, &r1, 1, arch, false, NULL, NULL),
	    STORE_OK);
	CHECK_USAGE(s, dir, 9000, 3);
	/* A move is free, even at the limit; ignore_quota passes. */
	struct store_range r2 = { 2, 2 };
	TEST_EQ_INT(store_copy(s, inbox, &r2, 1, arch, true, NULL, NULL),
	    STORE_OK);
	CHECK_USAGE(s, dir, 9000, 3);
	TEST_EQ_INT(store_mailbox_get(s, "Archive", &m), STORE_OK);
	TEST_EQ_INT(m.messages, 2);
	TEST_EQ_INT(m.unseen, 1);
	TEST_EQ_INT(m.size, 6000);
	store_mailbox_clear(&m);
	TEST_EQ_INT(store_mailbox_get(s, "INBOX", &m), STORE_OK);
	TEST_EQ_INT(m.messages, 1);
	TEST_EQ_INT(m.size, 3000);
	store_mailbox_clear(&m);
	struct store_append a = { 0 };
	a.mailbox_id = inbox;
	a.data = m3k;
	a.len = strlen(m3k);
	a.ignore_quota = true;
	TEST_EQ_INT(store_append(s, &a, NULL), STORE_OK);
	CHECK_USAGE(s, dir, 12000, 4);

	/* Message-count limit; store_set_limits applies at once. */
	struct store_limits count = { 0, 4 };
	store_set_limits(s, &count);
	TEST_EQ_INT(store_testlib_append(s, inbox, m3k, 0, NULL),
	    STORE_OVER_QUOTA);
	store_set_limits(s, NULL);
	append_ok(s, inbox, m3k, 0);
	CHECK_USAGE(s, dir, 15000, 5);

	/* Deleting a mailbox gives its messages back. */
	TEST_EQ_INT(store_mailbox_delete(s, "Archive"), STORE_OK);
	CHECK_USAGE(s, dir, 9000, 3);
	TEST_EQ_INT(store_testlib_count_files(dir, 3), 3);

	/* The peek reads a closed account too (no -wal or -shm left). */
	store_close(&s);
	TEST_EQ_INT(store_usage_peek(dir, 3, &p, &error), STORE_OK);
	TEST_EQ_INT(p.bytes, 9000);
	TEST_EQ_INT(p.messages, 3);
	s = store_testlib_open(dir, 3, &lim);

	free(m3k);
	free(big);
	done(&s, dir);
}

/* --- delivery keys and hard links --------------------------------------- */

static void
test_delivery_key(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	int64_t junk = store_testlib_mailbox(s, "Junk");
	char *text = store_testlib_message(400, NULL, NULL);
	struct store_append a = { 0 };
	uint32_t uid = 0;

	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);
	a.delivery_key = "01ABC/0";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 1);
	/* Per account, whatever the folder; no file left behind. */
	a.mailbox_id = junk;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_DUPLICATE);
	TEST_ASSERT(strstr(store_error(s), "01ABC/0") != NULL);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 1);
	TEST_EQ_INT(store_testlib_count(s, junk), 0);
	/* Still a duplicate after the user expunged it. */
	struct store_range r = { uid, uid };
	store_flags(s, inbox, &r, 1, STORE_FLAGS_ADD, DELETED, NULL, 0, NULL,
	    NULL, NULL, NULL);
	TEST_EQ_INT(store_expunge(s, inbox, NULL, 0, NULL, NULL), STORE_OK);
	a.mailbox_id = inbox;
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_DUPLICATE);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 0);
	a.delivery_key = "01ABC/1";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	a.delivery_key = "";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_INVALID);
	free(text);
	done(&s, dir);
}

static void
test_links(void)
{
	char *dir = test_tmpdir();
	char *queue_file = xasprintf("%s/queued", dir);
	char *text = store_testlib_message(4096, "<q@x>", NULL);
	struct store *s1, *s2;
	struct store_append a = { 0 };
	struct collect c = { 0 };

	TEST_EQ_INT(fsutil_write_file(queue_file, text, strlen(text), 0600),
	    0);
	s1 = store_testlib_open(dir, 1, NULL);
	s2 = store_testlib_open(dir, 2, NULL);
	a.mailbox_id = store_testlib_mailbox(s1, "INBOX");
	a.path = queue_file;
	TEST_EQ_INT(store_append(s1, &a, NULL), STORE_OK);
	a.mailbox_id = store_testlib_mailbox(s2, "INBOX");
	TEST_EQ_INT(store_append(s2, &a, NULL), STORE_OK);
	/* One inode: the queue file and one link per account. */
	TEST_EQ_INT(nlink_of(queue_file), 3);
	fetch_all(s1, a.mailbox_id, STORE_FETCH_PATH | STORE_FETCH_SIZE |
	    STORE_FETCH_ENVELOPE, &c);
	TEST_EQ_INT(c.n, 1);
	if (c.n == 1) {
		TEST_EQ_INT(c.sizes[0], strlen(text));
		TEST_ASSERT(c.has_envelope[0]);
	}
	collect_clear(&c);

	/* COPY links again; expunging one copy leaves the other. */
	int64_t inbox = store_testlib_mailbox(s1, "INBOX");
	int64_t arch = store_testlib_mailbox(s1, "Archive");
	struct store_range r = { 1, 1 };
	TEST_EQ_INT(store_copy(s1, inbox, &r, 1, arch, false, NULL, NULL),
	    STORE_OK);
	TEST_EQ_INT(nlink_of(queue_file), 4);
	fetch_all(s1, arch, STORE_FETCH_PATH, &c);
	TEST_EQ_INT(c.n, 1);
	char *copy_path = c.n == 1 ? xstrdup(c.paths[0]) : xstrdup("?");
	collect_clear(&c);
	TEST_EQ_INT(nlink_of(copy_path), 4);
	store_flags(s1, inbox, &r, 1, STORE_FLAGS_ADD, DELETED, NULL, 0, NULL,
	    NULL, NULL, NULL);
	TEST_EQ_INT(store_expunge(s1, inbox, NULL, 0, NULL, NULL), STORE_OK);
	TEST_EQ_INT(nlink_of(copy_path), 3);
	/* A move neither links nor unlinks. */
	TEST_EQ_INT(store_copy(s1, arch, &r, 1, inbox, true, NULL, NULL),
	    STORE_OK);
	TEST_EQ_INT(nlink_of(queue_file), 3);
	TEST_EQ_INT(store_testlib_count(s1, arch), 0);
	TEST_EQ_INT(store_testlib_count(s1, inbox), 1);
	/* The queue drops its file: the mailboxes keep theirs. */
	unlink(queue_file);
	TEST_EQ_INT(nlink_of(copy_path), 2);

	/* On another file system the bytes are copied (and fsynced). */
	struct stat st_data, st_shm;
	char *shm_file = xasprintf("/dev/shm/petrel-store-test-%d",
	    (int)getpid());
	if (stat(dir, &st_data) == 0 && stat("/dev/shm", &st_shm) == 0 &&
	    st_data.st_dev != st_shm.st_dev &&
	    fsutil_write_file(shm_file, text, strlen(text), 0600) == 0) {
		a.mailbox_id = arch;
		a.path = shm_file;
		TEST_EQ_INT(store_append(s1, &a, NULL), STORE_OK);
		TEST_EQ_INT(nlink_of(shm_file), 1);
		fetch_all(s1, arch, STORE_FETCH_PATH | STORE_FETCH_SIZE, &c);
		TEST_EQ_INT(c.n, 1);
		if (c.n == 1) {
			char *got = NULL;
			size_t len = 0;

			TEST_EQ_INT(fsutil_read_file(c.paths[0], 1 << 20,
			    &got, &len), 0);
			TEST_EQ_INT(len, strlen(text));
			TEST_ASSERT(got != NULL && memcmp(got, text, len) == 0);
			free(got);
		}
		collect_clear(&c);
		unlink(shm_file);
	}
	free(shm_file);

	free(copy_path);
	free(text);
	free(queue_file);
	store_close(&s2);
	done(&s1, dir);
}

/* --- crash ordering, transactions --------------------------------------- */

static void
put_file(const char *dir, const char *rel)
{
	char *path = xasprintf("%s/accounts/1/msg/%s", dir, rel);
	char *parent = xstrdup(path);

	*strrchr(parent, '/') = '\0';
	fsutil_mkdir_p(parent, 0700);
	if (fsutil_write_file(path, "x\r\n", 3, 0600) == -1)
		abort();
	free(parent);
	free(path);
}

static bool
has_file(const char *dir, const char *rel)
{
	char *path = xasprintf("%s/accounts/1/msg/%s", dir, rel);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

/* Every row's file exists (no row without its file, ever). */
static int
check_file_cb(const struct store_message *m, void *ctx)
{
	unsigned *missing = ctx;

	if (access(m->path, R_OK) != 0)
		(*missing)++;
	return 0;
}

static void
test_crash(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(300, NULL, NULL);
	unsigned missing = 0;

	append_ok(s, inbox, text, 0);
	append_ok(s, inbox, text, DELETED);
	store_close(&s);
	/* A crash between file and COMMIT: files no row names. */
	put_file(dir, "3f/0000000000000000000000AAAA");
	put_file(dir, "zz/not-ours-dir");
	put_file(dir, "00/half-written");
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 5);

	/* In this process the account was scanned already: nothing goes. */
	s = store_testlib_open(dir, 1, NULL);
	TEST_ASSERT(has_file(dir, "3f/0000000000000000000000AAAA"));
	store_close(&s);

	/* While another handle has the account open, no scan either: that
	   handle could be between its file and its COMMIT. */
	struct store *other = store_testlib_open(dir, 1, NULL);
	store_gc_forget(1);
	s = store_testlib_open(dir, 1, NULL);
	TEST_ASSERT(has_file(dir, "3f/0000000000000000000000AAAA"));
	store_close(&s);
	store_close(&other);

	/* The first open of a new process with nobody else: scanned. */
	store_gc_forget(1);
	s = store_testlib_open(dir, 1, NULL);
	TEST_ASSERT(!has_file(dir, "3f/0000000000000000000000AAAA"));
	TEST_ASSERT(!has_file(dir, "00/half-written"));
	/* Not a msg/<xx> directory: not ours to clean. */
	TEST_ASSERT(has_file(dir, "zz/not-ours-dir"));
	TEST_EQ_INT(store_testlib_count(s, inbox), 2);
	TEST_EQ_INT(store_fetch(s, inbox, NULL, 0, STORE_FETCH_PATH,
	    check_file_cb, &missing), STORE_OK);
	TEST_EQ_INT(missing, 0);

	/* A crash after the expunge's COMMIT, before the unlink: the file
	   stays as an orphan and goes at the next scan. Simulated by
	   linking the file back after the expunge. */
	struct collect c = { 0 };
	struct store_range r2 = { 2, 2 };
	TEST_EQ_INT(store_fetch(s, inbox, &r2, 1, STORE_FETCH_PATH,
	    collect_msg, &c), STORE_OK);
	char *keep = xasprintf("%s/keep", dir);
	if (c.n == 1)
		TEST_EQ_INT(link(c.paths[0], keep), 0);
	TEST_EQ_INT(store_expunge(s, inbox, NULL, 0, NULL, NULL), STORE_OK);
	if (c.n == 1) {
		TEST_ASSERT(access(c.paths[0], F_OK) == -1);
		TEST_EQ_INT(link(keep, c.paths[0]), 0);
	}
	store_close(&s);
	store_gc_forget(1);
	s = store_testlib_open(dir, 1, NULL);
	if (c.n == 1)
		TEST_ASSERT(access(c.paths[0], F_OK) == -1);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 2);	/* + zz/ */
	unlink(keep);
	free(keep);
	collect_clear(&c);

	/* A failure after the file was written (over quota) removes it. */
	struct store_limits lim = { 400, 0 };
	store_set_limits(s, &lim);
	TEST_EQ_INT(store_testlib_append(s, inbox, text, 0, NULL),
	    STORE_OVER_QUOTA);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 2);
	store_set_limits(s, NULL);

	free(text);
	done(&s, dir);
}

static void
test_transactions(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(300, NULL, NULL);
	struct store_append a = { 0 };
	uint32_t uid = 0;

	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);

	/* Rolled back: no rows, no files, UIDs not consumed. */
	TEST_EQ_INT(store_begin(s), STORE_OK);
	TEST_EQ_INT(store_begin(s), STORE_INVALID);
	for (int i = 0; i < 5; i++)
		TEST_EQ_INT(store_append(s, &a, NULL), STORE_OK);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 5);
	store_rollback(s);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 0);
	TEST_EQ_INT(store_testlib_count(s, inbox), 0);
	TEST_EQ_INT(uidnext(s, "INBOX"), 1);
	TEST_EQ_INT(store_commit(s), STORE_INVALID);

	/* A batch where one call fails: that call only is undone. */
	TEST_EQ_INT(store_begin(s), STORE_OK);
	a.delivery_key = "k/0";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	TEST_EQ_INT(uid, 1);
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_DUPLICATE);
	a.delivery_key = "k/1";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_OK);
	TEST_EQ_INT(uid, 2);
	a.mailbox_id = 9999;
	a.delivery_key = "k/2";
	TEST_EQ_INT(store_append(s, &a, &uid), STORE_NOT_FOUND);
	a.mailbox_id = inbox;
	TEST_EQ_INT(store_mailbox_create(s, "Batch", 0, NULL), STORE_OK);
	TEST_EQ_INT(store_commit(s), STORE_OK);
	TEST_EQ_INT(store_testlib_count(s, inbox), 2);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 2);
	struct store_mailbox m;
	TEST_EQ_INT(store_mailbox_get(s, "Batch", &m), STORE_OK);
	store_mailbox_clear(&m);

	/* All files of a batch share one msg/<xx>: one directory fsync. */
	TEST_EQ_INT(store_begin(s), STORE_OK);
	a.delivery_key = NULL;
	for (int i = 0; i < 20; i++)
		store_append(s, &a, NULL);
	unsigned dirty = 0;
	for (size_t i = 0; i < sizeof(s->dirty_dirs); i++)
		dirty += (unsigned)__builtin_popcount(s->dirty_dirs[i]);
	TEST_EQ_INT(dirty, 1);
	TEST_EQ_INT(store_commit(s), STORE_OK);
	TEST_EQ_INT(store_testlib_count(s, inbox), 22);

	/* Another writer holding the account past the busy timeout: a
	   temporary STORE_IO, and the file written before is gone. */
	struct store *other = store_testlib_open(dir, 1, NULL);
	sqlite3_busy_timeout(other->db, 50);
	TEST_EQ_INT(store_begin(s), STORE_OK);
	TEST_EQ_INT(store_append(other, &a, NULL), STORE_IO);
	TEST_ASSERT(strstr(store_error(other), "busy") != NULL);
	TEST_EQ_INT(store_mailbox_create(other, "Busy", 0, NULL), STORE_IO);
	store_rollback(s);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 22);
	TEST_EQ_INT(store_append(other, &a, NULL), STORE_OK);
	store_close(&other);

	/* A STORE that changes nothing takes no write lock: it succeeds
	   while another writer holds the account; one that changes
	   something waits for the lock and reports busy. */
	other = store_testlib_open(dir, 1, NULL);
	sqlite3_busy_timeout(other->db, 50);
	struct store_range all = { 1, 100 };
	TEST_EQ_INT(store_flags(other, inbox, &all, 1, STORE_FLAGS_REMOVE,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_begin(s), STORE_OK);
	uint64_t before = highestmodseq(other, "INBOX");
	TEST_EQ_INT(store_flags(other, inbox, &all, 1, STORE_FLAGS_REMOVE,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	TEST_EQ_INT(store_flags(other, inbox, &all, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL), STORE_IO);
	store_rollback(s);
	TEST_EQ_INT(highestmodseq(other, "INBOX"), before);
	store_close(&other);

	/* Closing with a transaction open rolls it back. */
	TEST_EQ_INT(store_begin(s), STORE_OK);
	store_append(s, &a, NULL);
	store_close(&s);
	s = store_testlib_open(dir, 1, NULL);
	TEST_EQ_INT(store_testlib_count(s, inbox), 23);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 23);
	free(text);
	done(&s, dir);
}

/* --- the change feed ---------------------------------------------------- */

struct watch_ctx {
	_Atomic unsigned calls;
	int64_t account;
	struct store *peek;		/* reads the committed state */
	int64_t mbox;
	_Atomic size_t seen;		/* messages visible at the call */
};

static void
watch_fn(int64_t account_id, void *ctx)
{
	struct watch_ctx *w = ctx;

	w->account = account_id;
	atomic_fetch_add(&w->calls, 1);
	if (w->peek != NULL)
		atomic_store(&w->seen, store_testlib_count(w->peek, w->mbox));
}

static void
test_watch(void)
{
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	struct store *reader = store_testlib_open(dir, 1, NULL);
	struct store *s2 = store_testlib_open(dir, 2, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(300, NULL, NULL);
	struct watch_ctx w = { 0 }, w2 = { 0 };
	struct store_watch *watch = store_watch_add(1, watch_fn, &w);
	struct store_watch *watch2 = store_watch_add(2, watch_fn, &w2);

	w.peek = reader;
	w.mbox = inbox;
	append_ok(s, inbox, text, 0);
	TEST_EQ_INT(w.calls, 1);
	TEST_EQ_INT(w.account, 1);
	/* Called after the COMMIT: another connection sees the message. */
	TEST_EQ_INT(w.seen, 1);
	TEST_EQ_INT(w2.calls, 0);

	/* Inside a transaction: one call, at the commit. */
	TEST_EQ_INT(store_begin(s), STORE_OK);
	append_ok(s, inbox, text, 0);
	append_ok(s, inbox, text, 0);
	TEST_EQ_INT(w.calls, 1);
	TEST_EQ_INT(store_commit(s), STORE_OK);
	TEST_EQ_INT(w.calls, 2);
	TEST_EQ_INT(w.seen, 3);

	/* Flags, expunge, mailboxes; a failed call and a no-op do not. */
	struct store_range r1 = { 1, 1 };
	store_flags(s, inbox, &r1, 1, STORE_FLAGS_ADD, DELETED, NULL, 0, NULL,
	    NULL, NULL, NULL);
	TEST_EQ_INT(w.calls, 3);
	store_flags(s, inbox, &r1, 1, STORE_FLAGS_ADD, DELETED, NULL, 0, NULL,
	    NULL, NULL, NULL);
	TEST_EQ_INT(w.calls, 3);
	store_expunge(s, inbox, NULL, 0, NULL, NULL);
	TEST_EQ_INT(w.calls, 4);
	TEST_EQ_INT(store_mailbox_create(s, "New", 0, NULL), STORE_OK);
	TEST_EQ_INT(w.calls, 5);
	TEST_EQ_INT(store_mailbox_create(s, "New", 0, NULL), STORE_EXISTS);
	TEST_EQ_INT(w.calls, 5);
	TEST_EQ_INT(store_testlib_append(s2, store_testlib_mailbox(s2,
	    "INBOX"), text, 0, NULL), STORE_OK);
	TEST_EQ_INT(w2.calls, 1);
	TEST_EQ_INT(w.calls, 5);

	store_watch_remove(&watch);
	TEST_ASSERT(watch == NULL);
	append_ok(s, inbox, text, 0);
	TEST_EQ_INT(w.calls, 5);
	store_watch_remove(&watch2);
	store_watch_remove(&watch2);		/* NULL: no-op */
	free(text);
	store_close(&reader);
	store_close(&s2);
	done(&s, dir);
}

/* Two watches of one account whose callbacks each remove the other: the
   first to run removes the second, which is then skipped. Removing a
   watch pinned by the running notification must not wait for that
   notification (it used to deadlock). */
struct watch_peer {
	struct store_watch **other;
	_Atomic unsigned calls;
};

static void
watch_peer_fn(int64_t account_id, void *ctx)
{
	struct watch_peer *w = ctx;

	(void)account_id;
	atomic_fetch_add(&w->calls, 1);
	store_watch_remove(w->other);
}

static _Atomic bool watch_notify_done;

static void *
watch_notify_thread(void *arg)
{
	(void)arg;
	store_watch_notify(77);
	atomic_store(&watch_notify_done, true);
	return NULL;
}

static void
test_watch_remove_other(void)
{
	struct store_watch *a, *b;
	struct watch_peer pa = { &b, 0 }, pb = { &a, 0 };
	pthread_t t;
	bool done = false;

	a = store_watch_add(77, watch_peer_fn, &pa);
	b = store_watch_add(77, watch_peer_fn, &pb);
	atomic_store(&watch_notify_done, false);
	TEST_ASSERT(pthread_create(&t, NULL, watch_notify_thread, NULL) == 0);
	for (int i = 0; i < 500 && !done; i++) {
		done = atomic_load(&watch_notify_done);
		if (!done)
			usleep(10000);
	}
	TEST_ASSERT(done);
	if (!done) {
		/* Deadlocked: leave the thread; the test has failed. */
		pthread_detach(t);
		return;
	}
	pthread_join(t, NULL);
	/* Exactly one ran; it removed the other. */
	TEST_EQ_INT(pa.calls + pb.calls, 1);
	TEST_ASSERT((a == NULL) != (b == NULL));
	store_watch_remove(&a);
	store_watch_remove(&b);
	/* Nothing left to call. */
	store_watch_notify(77);
	TEST_EQ_INT(pa.calls + pb.calls, 1);
}

/* --- concurrency -------------------------------------------------------- */

#define THREAD_APPENDS 40

struct writer {
	const char *dir;
	const char *text;
	uint32_t uids[THREAD_APPENDS];
	int failures;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store *s = store_testlib_open(w->dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");

	for (int i = 0; i < THREAD_APPENDS; i++)
		if (store_testlib_append(s, inbox, w->text, 0,
		    &w->uids[i]) != STORE_OK)
			w->failures++;
	store_close(&s);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_concurrent(void)
{
	char *dir = test_tmpdir();
	char *text = store_testlib_message(4096, NULL, NULL);
	struct writer w[2] = { { dir, text, { 0 }, 0 },
	    { dir, text, { 0 }, 0 } };
	uint32_t all[2 * THREAD_APPENDS];
	pthread_t t[2];
	struct store *s = store_testlib_open(dir, 1, NULL);

	store_close(&s);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TEST_EQ_INT(w[0].failures + w[1].failures, 0);
	memcpy(all, w[0].uids, sizeof(w[0].uids));
	memcpy(all + THREAD_APPENDS, w[1].uids, sizeof(w[1].uids));
	qsort(all, 2 * THREAD_APPENDS, sizeof(all[0]), cmp_u32);
	for (uint32_t i = 0; i < 2 * THREAD_APPENDS; i++)
		TEST_EQ_INT(all[i], i + 1);
	/* Each thread's own UIDs ascend. */
	for (int k = 0; k < 2; k++)
		for (int i = 1; i < THREAD_APPENDS; i++)
			TEST_ASSERT(w[k].uids[i] > w[k].uids[i - 1]);
	s = store_testlib_open(dir, 1, NULL);
	TEST_EQ_INT(store_testlib_count(s, store_testlib_mailbox(s, "INBOX")),
	    2 * THREAD_APPENDS);
	TEST_EQ_INT(store_testlib_count_files(dir, 1), 2 * THREAD_APPENDS);
	free(text);
	done(&s, dir);
}

/* --- append rate -------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not a pass/fail test: prints messages/s for 4 KiB messages, unbatched
   and 100 per transaction (STORE_BENCH=n sets the message count). */
static void
test_rate(void)
{
	const char *env = getenv("STORE_BENCH");
	int n = env != NULL ? atoi(env) : 200;
	char *dir = test_tmpdir();
	struct store *s = store_testlib_open(dir, 1, NULL);
	int64_t inbox = store_testlib_mailbox(s, "INBOX");
	char *text = store_testlib_message(4096, "<bench@x>", NULL);
	char *queue_file = xasprintf("%s/queued", dir);
	struct store_append a = { 0 };
	double t0, t1, t2, t3;
	int fails = 0;

	if (n < 100)
		n = 100;
	a.mailbox_id = inbox;
	a.data = text;
	a.len = strlen(text);
	t0 = now_s();
	for (int i = 0; i < n; i++)
		fails += store_append(s, &a, NULL) != STORE_OK;
	t1 = now_s();
	for (int i = 0; i < n; i += 100) {
		fails += store_begin(s) != STORE_OK;
		for (int j = 0; j < 100; j++)
			fails += store_append(s, &a, NULL) != STORE_OK;
		fails += store_commit(s) != STORE_OK;
	}
	t2 = now_s();
	/* Local delivery: hard links from a queue file, batched. */
	fsutil_write_file(queue_file, text, strlen(text), 0600);
	a.data = NULL;
	a.path = queue_file;
	for (int i = 0; i < n; i += 100) {
		fails += store_begin(s) != STORE_OK;
		for (int j = 0; j < 100; j++)
			fails += store_append(s, &a, NULL) != STORE_OK;
		fails += store_commit(s) != STORE_OK;
	}
	t3 = now_s();
	TEST_EQ_INT(fails, 0);
	printf("  store rate (4 KiB, %d msgs): unbatched %.0f/s, "
	    "batched 100 %.0f/s, linked batched 100 %.0f/s\n", n,
	    n / (t1 - t0), (n + 99) / 100 * 100 / (t2 - t1),
	    (n + 99) / 100 * 100 / (t3 - t2));
	free(queue_file);
	free(text);
	done(&s, dir);
}

int
main(void)
{
	TEST_RUN(test_layout);
	TEST_RUN(test_uid_modseq);
	TEST_RUN(test_flags_unchangedsince);
	TEST_RUN(test_keywords);
	TEST_RUN(test_fetch);
	TEST_RUN(test_threads);
	TEST_RUN(test_quota);
	TEST_RUN(test_delivery_key);
	TEST_RUN(test_links);
	TEST_RUN(test_crash);
	TEST_RUN(test_transactions);
	TEST_RUN(test_watch);
	TEST_RUN(test_watch_remove_other);
	TEST_RUN(test_concurrent);
	TEST_RUN(test_rate);
	return test_done();
}
