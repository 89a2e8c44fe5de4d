/* imapd_sort_test.c — SORT and THREAD over a real store: every SORT
   criterion (Date: as UTC with the internal date standing in, RFC 2047
   display names, folded mailboxes, base subjects), REVERSE, several
   criteria, ties by sequence number, search keys; THREAD=ORDEREDSUBJECT
   and THREAD=REFERENCES (dummy parents, subject grouping, replies
   joining a thread, UIDs); the base subject table (RFC 5256 §2.1); the
   ENVELOPE reader; and REFERENCES on thousands of messages in one
   chain, in a loop and with a duplicate id, which must stay iterative. */
#include "imapd/imapd_search.h"
#include "imapd/imapd_sort_private.h"
#include "imapd/imapd_thread_private.h"

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

struct box {
	int64_t id;
	uint32_t uids[16];
	size_t n;
};

static struct box sortbox, threadbox;

/* 2020-01-01 00:00:00 UTC */
#define T2020 1577836800

static void
add(struct box *b, const char *text, time_t internal_date, const char *pad)
{
	struct store_append a = { .mailbox_id = b->id,
	    .internal_date = internal_date };
	char *msg = xasprintf("%s\r\n%s\r\n", text, pad);

	a.data = msg;
	a.len = strlen(msg);
	TEST_EQ_INT(store_append(st, &a, &b->uids[b->n]), STORE_OK);
	b->n++;
	free(msg);
}

/* --- base subject ---------------------------------------------------------- */

static void
test_subject(void)
{
	static const struct {
		const char *in, *want;
		bool reply;
	} cases[] = {
		{ NULL, "", false },
		{ "", "", false },
		{ "Hello  World ", "hello world", false },
		{ "Re: hello", "hello", true },
		{ "RE: Re: re:hello", "hello", true },
		{ "Fwd: hello (fwd)", "hello", true },
		{ "FW: hello", "hello", true },
		{ "hello (fwd) (FWD)", "hello", true },
		{ "Re[2]: hello", "hello", true },
		{ "[list] Re: hello", "hello", true },
		{ "[list] hello", "hello", false },
		{ "[list]", "[list]", false },	/* (4): not to nothing */
		{ "[a][b] [c] Re: [d] x", "x", true },
		{ "[fwd: Re: hello]", "hello", true },
		{ "[Fwd: [fwd: x]]", "x", true },
		{ "Re: \t folded\r\n line", "folded line", true },
		{ "Reply: x", "reply: x", false },	/* not "re" *WSP ":" */
		{ "Rex: y", "rex: y", false },
		{ "=?UTF-8?Q?Re:_=C3=84rger?=", "ärger", true },
		{ "=?ISO-8859-1?Q?Stra=DFe?=", "strasse", false },
		{ "[ünï] über", "über", false },	/* blobs may hold 8-bit */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool reply = !cases[i].reply;
		char *got = imapd_sort_subject(cases[i].in, &reply);

		if (strcmp(got, cases[i].want) != 0 || reply != cases[i].reply)
			test_fail(__FILE__, __LINE__, "subject %zu \"%s\": got "
			    "\"%s\" reply %d, want \"%s\" reply %d", i,
			    cases[i].in ? cases[i].in : "(null)", got, reply,
			    cases[i].want, cases[i].reply);
		free(got);
	}
}

/* --- the ENVELOPE reader --------------------------------------------------- */

static void
test_envelope(void)
{
	static const char env[] = "(\"Mon, 2 Jun 2025 10:00:00 +0200\" "
	    "{6}\r\nS\xc3\xbc\"b\\ ((NIL NIL \"team\" NIL)(\"A \\\"B\\\"\" NIL "
	    "\"a\" \"x.example\")(NIL NIL NIL NIL)) NIL NIL NIL "
	    "((NIL NIL \"c\" \"y\")) NIL \"<p@x>\" \"<m@x>\")";
	struct imapd_sort_env e;
	char *k;

	TEST_EQ_INT(imapd_sort_env_parse(env, strlen(env), &e), 0);
	TEST_EQ_STR(e.date, "Mon, 2 Jun 2025 10:00:00 +0200");
	TEST_EQ_STR(e.subject, "S\xc3\xbc\"b\\");
	/* the group's start marker is skipped */
	TEST_EQ_STR(e.from.name, "A \"B\"");
	TEST_EQ_STR(e.from.mailbox, "a");
	TEST_EQ_STR(e.from.host, "x.example");
	TEST_ASSERT(e.to.mailbox == NULL);
	TEST_EQ_STR(e.cc.mailbox, "c");
	TEST_EQ_STR(e.in_reply_to, "<p@x>");
	TEST_EQ_STR(e.message_id, "<m@x>");
	k = imapd_sort_addr_key(&e.from, true);
	TEST_EQ_STR(k, "a \"b\"");
	free(k);
	k = imapd_sort_addr_key(&e.cc, true);
	TEST_EQ_STR(k, "c@y");
	free(k);
	k = imapd_sort_addr_key(&e.to, false);
	TEST_EQ_STR(k, "");
	free(k);
	imapd_sort_env_clear(&e);
	TEST_EQ_INT(imapd_sort_env_parse("(NIL NIL)", 9, &e), -1);
	TEST_EQ_INT(imapd_sort_env_parse("(\"x", 3, &e), -1);
	/* a literal longer than the text, a number past SIZE_MAX */
	TEST_EQ_INT(imapd_sort_env_parse("({99}\r\nab NIL NIL NIL NIL NIL "
	    "NIL NIL NIL NIL)", 39, &e), -1);
	TEST_EQ_INT(imapd_sort_env_parse("({99999999999999999999999}\r\n",
	    28, &e), -1);
	TEST_ASSERT(e.date == NULL && e.subject == NULL);
	TEST_EQ_INT(imapd_sort_date(NULL, 42), 42);
	TEST_EQ_INT(imapd_sort_date("junk", 42), 42);
	TEST_EQ_INT(imapd_sort_date("1 Jan 2020 00:00 -0100", 42),
	    T2020 + 3600);
}

/* --- SORT ------------------------------------------------------------------ */

static char *
sort_run(const struct box *b, const char *crit, struct imap_search_node *keys,
    size_t n_keys)
{
	struct imap_sort sort = { .search = { .root = { .key =
	    IMAP_SEARCH_AND, .children = keys, .n_children = n_keys } } };
	struct imapd_search_params p = { .mailbox_id = b->id, .uids = b->uids,
	    .n = b->n };
	static const char *const names[] = { "ARRIVAL", "CC", "DATE", "FROM",
	    "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO" };
	char *err = NULL;
	uint32_t *uids = NULL;
	size_t n = 0;
	struct buf out;
	bool reverse = false;

	/* crit: names from the table and REVERSE, one space apart */
	for (const char *w = crit; *w != '\0';) {
		size_t len = strcspn(w, " ");

		if (len == 7 && strncmp(w, "REVERSE", 7) == 0) {
			reverse = true;
		} else {
			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]);
			    k++)
				if (strlen(names[k]) == len &&
				    strncmp(w, names[k], len) == 0)
					sort.criteria[sort.n_criteria].key =
					    (enum imap_sort_key)k;
			sort.criteria[sort.n_criteria++].reverse = reverse;
			reverse = false;
		}
		w += len;
		w += *w == ' ';
	}
	TEST_EQ_INT(imapd_sort_run(st, &p, &sort, &uids, &n, &err), 0);
	buf_init(&out, 0);
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&out, "%s%u", i ? " " : "", uids[i]);
	(void)buf_append(&out, "", 0);
	free(uids);
	free(err);
	return out.data != NULL ? buf_steal(&out) : xstrdup("");
}

#define SORT_CHECK(crit, keys, n, want)                                 \
	do {                                                            \
		char *got_ = sort_run(&sortbox, crit, keys, n);         \
		TEST_EQ_STR(got_, want);                                \
		free(got_);                                             \
	} while (0)

static void
test_sort(void)
{
	struct imap_search_node all = { .key = IMAP_SEARCH_ALL };
	struct imap_search_node kid = { .key = IMAP_SEARCH_FROM, .str = "alice",
	    .str_len = 5 };
	struct imap_search_node not = { .key = IMAP_SEARCH_NOT,
	    .children = &kid, .n_children = 1 };

	/* the view's UIDs are 1..4, so UIDs and sequence numbers agree */
	SORT_CHECK("ARRIVAL", &all, 1, "3 2 1 4");
	SORT_CHECK("REVERSE ARRIVAL", &all, 1, "4 1 2 3");
	/* Date: as UTC (2's -0500 is after 1's 00:00 +0000); 3 has none:
	   its internal date; 1 and 4 tie: sequence order */
	SORT_CHECK("DATE", &all, 1, "3 1 4 2");
	SORT_CHECK("REVERSE DATE", &all, 1, "2 1 4 3");
	SORT_CHECK("FROM", &all, 1, "2 1 4 3");
	SORT_CHECK("SUBJECT", &all, 1, "2 1 4 3");
	SORT_CHECK("REVERSE SUBJECT", &all, 1, "3 1 4 2");
	SORT_CHECK("TO", &all, 1, "3 4 1 2");
	SORT_CHECK("CC", &all, 1, "1 3 4 2");
	SORT_CHECK("SIZE", &all, 1, "4 1 2 3");
	SORT_CHECK("REVERSE SIZE", &all, 1, "3 2 1 4");
	/* RFC 5957: display name (decoded, folded), else the address */
	SORT_CHECK("DISPLAYFROM", &all, 1, "2 4 1 3");
	SORT_CHECK("DISPLAYTO", &all, 1, "3 4 1 2");
	SORT_CHECK("FROM SIZE", &all, 1, "2 4 1 3");
	SORT_CHECK("FROM REVERSE ARRIVAL", &all, 1, "2 4 1 3");
	SORT_CHECK("DATE", &not, 1, "3 1 4");
}

/* --- THREAD ---------------------------------------------------------------- */

static char *
thread_run(const struct box *b, enum imap_thread_algorithm alg, bool uid,
    size_t n_view)
{
	struct imap_search_node all = { .key = IMAP_SEARCH_ALL };
	struct imap_thread th = { .algorithm = alg, .search = { .root = {
	    .key = IMAP_SEARCH_AND, .children = &all, .n_children = 1 } } };
	struct imapd_search_params p = { .mailbox_id = b->id,
	    .uids = b->uids + (b->n - n_view), .n = n_view };
	char *err = NULL;
	struct buf out;

	buf_init(&out, 0);
	TEST_EQ_INT(imapd_thread_run(st, &p, &th, uid, &out, &err), 0);
	(void)buf_append(&out, "", 0);
	free(err);
	return buf_steal(&out);
}

static void
test_thread(void)
{
	char *got;

	/* 8 and 9 share a subject, neither a reply: a dummy holds both;
	   1's thread gets 7 (a reply by subject only); 5 and 6 have a
	   missing parent in common: a dummy; roots by date */
	got = thread_run(&threadbox, IMAP_THREAD_REFERENCES, false, 9);
	TEST_EQ_STR(got, "((8)(9))(1 (4)(2 3)(7))((5)(6))");
	free(got);
	got = thread_run(&threadbox, IMAP_THREAD_ORDEREDSUBJECT, false, 9);
	TEST_EQ_STR(got, "(8 9)(1 (4)(2)(3)(7))(5 6)");
	free(got);
	/* UIDs; a view without the first two messages (sequence numbers
	   start at UID 3): 3's parent 2 is gone, and so is 1 */
	got = thread_run(&threadbox, IMAP_THREAD_REFERENCES, true, 7);
	TEST_EQ_STR(got, "((8)(9))((4)(3)(7))((5)(6))");
	free(got);
	got = thread_run(&threadbox, IMAP_THREAD_REFERENCES, false, 7);
	TEST_EQ_STR(got, "((6)(7))((2)(1)(5))((3)(4))");
	free(got);
}

/* REFERENCES without a store: n messages, each replying to the one
   before (References lists the last 256), as one deep chain. */
static void
test_thread_deep(void)
{
	enum { N = 3000 };
	struct imapd_thread_msg *m = xcalloc(N, sizeof(*m));
	struct imapd_thread_tree t = { 0 };
	struct buf out, want;

	for (size_t i = 0; i < N; i++) {
		size_t first = i > 256 ? i - 256 : 0;

		m[i].num = m[i].seq = (uint32_t)i + 1;
		m[i].date = T2020 + (time_t)i;
		m[i].subject = xstrdup("deep");
		m[i].reply = i > 0;
		m[i].id = xasprintf("<%zu@x>", i);
		m[i].n_refs = i - first;
		m[i].refs = xcalloc(m[i].n_refs + 1, sizeof(*m[i].refs));
		for (size_t j = first; j < i; j++)
			m[i].refs[j - first] = xasprintf("<%zu@x>", j);
	}
	/* a loop: 0 claims to reply to the last one */
	m[0].refs[0] = xasprintf("<%d@x>", N - 1);
	m[0].n_refs = 1;
	imapd_thread_refs_build(m, N, &t);
	imapd_thread_sort_all(m, &t);
	buf_init(&out, 0);
	buf_init(&want, 0);
	imapd_thread_write(m, &t, &out);
	/* 1 is linked under the dummy for 3000's id first; 3000, last, may
	   not take 2999 as its parent (a loop), so it heads the chain */
	(void)buf_printf(&want, "(%d", N);
	for (size_t i = 1; i < N; i++)
		(void)buf_printf(&want, " %zu", i);
	(void)buf_append_str(&want, ")");
	TEST_ASSERT(out.len == want.len && memcmp(out.data, want.data,
	    out.len) == 0);
	buf_clear(&out);
	buf_clear(&want);
	imapd_thread_tree_clear(&t);
	/* a duplicate Message-ID: the second copy is a thread of its own
	   but for the subject, which makes the two siblings */
	free(m[2].id);
	m[2].id = xstrdup("<1@x>");
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < m[i].n_refs; j++)
			free(m[i].refs[j]);
		m[i].n_refs = 0;
		m[i].reply = false;
	}
	imapd_thread_refs_build(m, 3, &t);
	imapd_thread_sort_all(m, &t);
	buf_init(&out, 0);
	imapd_thread_write(m, &t, &out);
	(void)buf_append(&out, "", 0);
	TEST_EQ_STR(out.data, "((1)(2)(3))");
	buf_clear(&out);
	imapd_thread_tree_clear(&t);
	for (size_t i = 0; i < N; i++) {
		free(m[i].subject);
		free(m[i].id);
		for (size_t j = 0; j < m[i].n_refs; j++)
			free(m[i].refs[j]);
		free(m[i].refs);
	}
	free(m);
}

int
main(void)
{
	char *dir = test_tmpdir();

	st = store_testlib_open(dir, 1, NULL);
	sortbox.id = store_testlib_mailbox(st, "INBOX");
	add(&sortbox, "From: Zed <bob@x>\r\nTo: carol@y\r\nSubject: Re: beta\r\n"
	    "Date: Fri, 3 Jan 2020 00:00:00 +0000\r\n", T2020 + 4 * 86400,
	    "small body");
	add(&sortbox, "From: alice@x\r\nTo: \"Dave\" <dave@y>\r\nCc: zed@y\r\n"
	    "Subject: alpha\r\nDate: Thu, 2 Jan 2020 23:00:00 -0500\r\n",
	    T2020 + 3 * 86400, "a bigger body, a bigger body, a bigger body");
	add(&sortbox, "From: =?UTF-8?Q?=C3=84rger?= <carl@x>\r\n"
	    "Subject: [list] Gamma\r\n", T2020,
	    "the biggest body of all, the biggest body of all, the biggest "
	    "body of all, the biggest body of all");
	add(&sortbox, "From: Bob <BOB@x>\r\nSubject: beta\r\n"
	    "Date: 3 Jan 2020 00:00 GMT\r\n", T2020 + 5 * 86400, "");
	threadbox.id = store_testlib_mailbox(st, "Archive");
	add(&threadbox, "Message-ID: <a@x>\r\nSubject: Party\r\n"
	    "Date: 1 Jan 2020 10:00 +0000\r\n", T2020, "");
	add(&threadbox, "Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n"
	    "References: <a@x>\r\nSubject: Re: Party\r\n"
	    "Date: 1 Jan 2020 11:00 +0000\r\n", T2020, "");
	add(&threadbox, "Message-ID: <c@x>\r\nReferences: <a@x>\r\n <b@x>\r\n"
	    "Subject: Re: Party\r\nDate: 1 Jan 2020 12:00 +0000\r\n", T2020,
	    "");
	add(&threadbox, "Message-ID: <d@x>\r\nIn-Reply-To: <a@x> (mail)\r\n"
	    "Subject: Re: Party\r\nDate: 1 Jan 2020 10:30 +0000\r\n", T2020,
	    "");
	add(&threadbox, "Message-ID: <e@x>\r\nReferences: <zz@x>\r\n"
	    "Subject: Lost parent\r\nDate: 2 Jan 2020 00:00 +0000\r\n", T2020,
	    "");
	add(&threadbox, "Message-ID: <f@x>\r\nReferences: <zz@x>\r\n"
	    "Subject: Re: Lost parent\r\nDate: 2 Jan 2020 01:00 +0000\r\n",
	    T2020, "");
	add(&threadbox, "Message-ID: <g@x>\r\nSubject: Re: party\r\n"
	    "Date: 3 Jan 2020 00:00 +0000\r\n", T2020, "");
	add(&threadbox, "Message-ID: <h@x>\r\nSubject: Other\r\n"
	    "Date: 31 Dec 2019 00:00 +0000\r\n", T2020, "");
	add(&threadbox, "Message-ID: <i@x>\r\nSubject: Other\r\n"
	    "Date: 4 Jan 2020 00:00 +0000\r\n", T2020, "");
	TEST_RUN(test_subject);
	TEST_RUN(test_envelope);
	TEST_RUN(test_sort);
	TEST_RUN(test_thread);
	TEST_RUN(test_thread_deep);
	store_close(&st);
	fsutil_remove_tree(dir);
	free(dir);
	return test_done();
}
