/* imapd_search_test.c — the SEARCH engine over a real store: flag, size,
   sequence, UID and "$" keys from metadata; header keys with RFC 2047
   and case folding; BODY through base64 and a Latin-1 charset; NOT/OR;
   the view (a message not yet in it is not found); SENTSINCE from the
   Date header; the date parser; address and Subject keys matched on the
   cached ENVELOPE as Dovecot matches them. */
#include "imapd/imapd_search.h"
#include "imapd/imapd_search_private.h"
#include "imapd/imapd_search_text.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "store/store.h"
#include "store/store_testlib.h"

static struct store *st;
static int64_t inbox;
static uint32_t view[16];
static size_t n_view;

static const char *const msgs[] = {
	"From: Alice <alice@example.org>\r\nSubject: =?UTF-8?Q?Gr=C3=BC?= "
	"=?UTF-8?Q?=C3=9Fe?= aus Berlin\r\nDate: Mon, 2 Jun 2025 10:00:00 "
	"+0200\r\n\r\nplain body with NEEDLE inside\r\n",
	"From: bob@example.net\r\nTo: carol@example.com\r\nSubject: b64\r\n"
	"Date: 1 Jan 2020 00:00 -0000\r\nMIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"RGllIFN0cmHfZSBpc3QgbGFuZw==\r\n",	/* "Die Straße ist lang" */
	"Subject: big\r\nX-Tag: yes\r\n\r\n"
	"0123456789012345678901234567890123456789012345678901234567890\r\n",
};

static struct imap_search_node
leaf(enum imap_search_key key, const char *str)
{
	return (struct imap_search_node){ .key = key, .str = str,
	    .str_len = str != NULL ? strlen(str) : 0 };
}

/* Runs one key (or the AND of n keys) and returns the UIDs as "1 2 3". */
static char *
run(struct imap_search_node *keys, size_t n, const uint32_t *saved,
    size_t n_saved)
{
	struct imap_search s = { .root = { .key = IMAP_SEARCH_AND,
	    .children = keys, .n_children = n } };
	struct imapd_search_params p = { .mailbox_id = inbox, .uids = view,
	    .n = n_view, .saved = saved, .n_saved = n_saved };
	uint32_t *uids = NULL;
	size_t nu = 0;
	uint64_t hm = 0;
	char *err = NULL, out[256] = "";

	TEST_EQ_INT(imapd_search_run(st, &p, &s, &uids, &nu, &hm, &err), 0);
	for (size_t i = 0; i < nu; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    "%s%u", i ? " " : "", uids[i]);
	free(uids);
	free(err);
	return xstrdup(out);
}

#define CHECK(keys, n, want)                                            \
	do {                                                            \
		char *got_ = run(keys, n, NULL, 0);                     \
		TEST_EQ_STR(got_, want);                                \
		free(got_);                                             \
	} while (0)

static void
test_keys(void)
{
	struct imap_search_node k[2], kids[2];
	struct imap_seq_range r = { 2, IMAP_SEQ_STAR };
	char *got;
	uint32_t saved[] = { 1, 3 };

	k[0] = leaf(IMAP_SEARCH_ALL, NULL);
	CHECK(k, 1, "1 2 3");
	k[0] = leaf(IMAP_SEARCH_FLAG, NULL);
	k[0].flag = IMAP_FLAG_SEEN;
	CHECK(k, 1, "2");
	k[0].key = IMAP_SEARCH_UNFLAG;
	CHECK(k, 1, "1 3");
	k[0] = leaf(IMAP_SEARCH_KEYWORD, "$label1");
	CHECK(k, 1, "3");
	k[0] = leaf(IMAP_SEARCH_LARGER, NULL);
	k[0].number = 150;
	CHECK(k, 1, "1 2");
	k[0] = leaf(IMAP_SEARCH_SEQSET, NULL);
	k[0].set = (struct imap_seqset){ .ranges = &r, .n = 1 };
	CHECK(k, 1, "2 3");
	/* "$" */
	k[0].set.saved = true;
	got = run(k, 1, saved, 2);
	TEST_EQ_STR(got, "1 3");
	free(got);
	/* headers: RFC 2047 decoded, folded (ß matches SS's fold "ss") */
	k[0] = leaf(IMAP_SEARCH_SUBJECT, "grüsse");
	CHECK(k, 1, "1");
	k[0] = leaf(IMAP_SEARCH_FROM, "ALICE@");
	CHECK(k, 1, "1");
	k[0] = leaf(IMAP_SEARCH_HEADER, "");
	k[0].field = "X-Tag";
	CHECK(k, 1, "3");
	/* body: base64 + iso-8859-1, case-insensitive */
	k[0] = leaf(IMAP_SEARCH_BODY, "STRASSE");
	CHECK(k, 1, "2");
	k[0] = leaf(IMAP_SEARCH_BODY, "needle");
	CHECK(k, 1, "1");
	k[0] = leaf(IMAP_SEARCH_TEXT, "carol");
	CHECK(k, 1, "2");
	/* NOT, OR, AND */
	kids[0] = leaf(IMAP_SEARCH_BODY, "needle");
	k[0] = (struct imap_search_node){ .key = IMAP_SEARCH_NOT,
	    .children = kids, .n_children = 1 };
	CHECK(k, 1, "2 3");
	kids[1] = leaf(IMAP_SEARCH_SUBJECT, "big");
	k[0] = (struct imap_search_node){ .key = IMAP_SEARCH_OR,
	    .children = kids, .n_children = 2 };
	k[1] = leaf(IMAP_SEARCH_SMALLER, NULL);
	k[1].number = 100;
	CHECK(k, 2, "3");
	/* SENTSINCE 1-Jun-2025 (the Date as written); 3 has no Date:
	   its internal date (today) stands in, as Dovecot does */
	k[0] = leaf(IMAP_SEARCH_SENTSINCE, NULL);
	k[0].day = imapd_search_days(2025, 6, 1);
	CHECK(k, 1, "1 3");
	k[0].key = IMAP_SEARCH_SENTBEFORE;
	CHECK(k, 1, "2");
}

static void
test_view(void)
{
	struct imap_search_node k = leaf(IMAP_SEARCH_ALL, NULL);
	uint32_t uid;

	/* appended after the view was taken: not in it */
	TEST_EQ_INT(store_testlib_append(st, inbox, msgs[0], 0, &uid),
	    STORE_OK);
	CHECK(&k, 1, "1 2 3");
}

static void
test_dates(void)
{
	int32_t day;
	time_t t;

	TEST_EQ_INT(imapd_search_date("Mon, 2 Jun 2025 10:00:00 +0200",
	    &day, &t), 0);
	TEST_EQ_INT(day, imapd_search_days(2025, 6, 2));
	TEST_EQ_INT(t, 1748851200);
	TEST_EQ_INT(imapd_search_date(" (c) 1 Jan 70 00:00 GMT", &day, &t),
	    0);
	TEST_EQ_INT(t, 0);
	TEST_EQ_INT(imapd_search_date("junk", &day, &t), -1);
	TEST_EQ_INT(imapd_search_days(1970, 1, 1), 0);
	TEST_EQ_INT(imapd_search_days(2000, 3, 1), 11017);
}

/* imapd_search_env_match on one envelope: 1, 0 or -1. */
static int
env(const char *envelope, enum imapd_search_env_field field,
    const char *needle)
{
	struct buf hay, tmp;
	size_t len;
	char *folded = imapd_search_fold(needle, strlen(needle), &len);
	int rc;

	buf_init(&hay, 0);
	buf_init(&tmp, 0);
	rc = imapd_search_env_match(envelope, strlen(envelope), field, folded,
	    len, &hay, &tmp);
	buf_clear(&hay);
	buf_clear(&tmp);
	free(folded);
	return rc;
}

static void
test_envelope(void)
{
	/* as mime_envelope writes it: a quoted name with an escape, an
	   encoded name, a group, a literal */
	static const char e[] = "(\"Mon, 2 Jun 2025 10:00:00 +0200\" "
	    "\"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Berlin\" "
	    "((\"Doe, \\\"J\\\"\" NIL \"jd\" \"example.org\")"
	    "(NIL NIL \"bob\" \"example.net\")) "
	    "NIL NIL "
	    "((\"=?ISO-8859-1?Q?J=F6rg?=\" NIL \"joerg\" \"example.de\")) "
	    "((NIL NIL \"team\" NIL)(NIL NIL \"ann\" \"x.org\")"
	    "(NIL NIL NIL NIL)) "
	    "(({5}\r\nSecre NIL \"s\" \"y.org\")) NIL \"<id@x>\")";
	struct imap_search_node k = leaf(IMAP_SEARCH_FROM, "ALICE@");
	char *got;

	/* "name <mailbox@host>", ", " apart, folded */
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_FROM,
	    "doe, \"j\" <jd@example.org>, bob@EXAMPLE.net"), 1);
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_FROM, "joerg"), 0);
	/* names and Subject RFC 2047-decoded, Unicode folded */
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_TO, "JÖRG <joerg@"), 1);
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_SUBJECT, "GRÜSSE aus"), 1);
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_SUBJECT, "=?utf-8"), 0);
	/* a group as "name: ...;", a literal name */
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_CC, "team: ann@x.org;"), 1);
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_BCC, "secre <s@y.org>"), 1);
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_CC, "s@y.org"), 0);
	/* the cache cannot tell: an empty needle, a broken envelope */
	TEST_EQ_INT(env(e, IMAPD_SEARCH_ENV_FROM, ""), -1);
	TEST_EQ_INT(env("(NIL \"x\" ((NIL NIL", IMAPD_SEARCH_ENV_FROM, "x"),
	    -1);
	TEST_EQ_INT(env("(NIL \"x\" ({99}\r\nab NIL NIL NIL)) NIL",
	    IMAPD_SEARCH_ENV_FROM, "ab"), -1);
	TEST_EQ_INT(env("junk", IMAPD_SEARCH_ENV_SUBJECT, "x"), -1);

	/* through the store: FROM matches the written form of the
	   address, as Dovecot does; an empty FROM reads the file */
	k = leaf(IMAP_SEARCH_FROM, "alice <alice@example.org>");
	CHECK(&k, 1, "1");
	k = leaf(IMAP_SEARCH_TO, "CAROL");
	CHECK(&k, 1, "2");
	k = leaf(IMAP_SEARCH_FROM, "");
	CHECK(&k, 1, "1 2");
	k = leaf(IMAP_SEARCH_SUBJECT, "");
	got = run(&k, 1, NULL, 0);
	TEST_EQ_STR(got, "1 2 3");
	free(got);
}

int
main(void)
{
	char *dir = test_tmpdir();
	struct store_append a = { 0 };

	st = store_testlib_open(dir, 1, NULL);
	inbox = store_testlib_mailbox(st, "INBOX");
	for (size_t i = 0; i < 3; i++) {
		a = (struct store_append){ .mailbox_id = inbox,
		    .data = msgs[i], .len = strlen(msgs[i]),
		    .flags = i == 1 ? STORE_FLAG_SEEN : 0,
		    .keywords = i == 2 ? "$Label1" : NULL };
		TEST_EQ_INT(store_append(st, &a, &view[n_view]), STORE_OK);
		n_view++;
	}
	TEST_RUN(test_keys);
	TEST_RUN(test_envelope);
	TEST_RUN(test_view);
	TEST_RUN(test_dates);
	store_close(&st);
	fsutil_remove_tree(dir);
	free(dir);
	return test_done();
}
