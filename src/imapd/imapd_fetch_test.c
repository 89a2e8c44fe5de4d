/* imapd_fetch_test.c — the FETCH engine over a real store: the whole MIME
   corpus (tests/corpus/mime) is appended and every answer Dovecot gave is
   asked again through imapd_fetch_run, in small chunks so that literals
   are split, and compared byte for byte (elided literals by size and
   SHA-256). Where Dovecot is wrong by the RFCs (listed in
   src/mail/mime_corpus_test.c) the rule, not the table, is checked here:
   a BYE must be NO [PARSE], a BINARY.SIZE the length of the BINARY
   literal. Then \Seen, answer order, CHANGEDSINCE, partials, expunged
   messages and a large body streamed in chunks. Runs from the repo root. */
#include "imapd/imapd_fetch.h"
#include "imapd/imapd_fetch_private.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch_items.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "store/store.h"
#include "store/store_testlib.h"

#define CORPUS_DIR "tests/corpus/mime"

static struct store *st;
static int64_t inbox;
static char *dir;

/* --- helpers ------------------------------------------------------------ */

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	(void)buf_append(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(f);
	*len_r = b.len;
	return b.data;
}

/* As the corpus README: bare LF -> CRLF, a final bare CR dropped. */
static char *
normalise(const char *s, size_t len, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_append(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			(void)buf_append(&b, "\r", 1);
		if (s[i] == '\r' && i + 1 == len)
			break;
		(void)buf_append(&b, s + i, 1);
	}
	*len_r = b.len;
	return b.data;
}

static void
sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
}

/* One attribute from its answer name: "BODY[1.2.MIME]", "RFC822.SIZE". */
static void
att_from_name(const char *item, struct imap_fetch_att *a)
{
	const char *br = strchr(item, '[');

	memset(a, 0, sizeof(*a));
	a->peek = true;
	a->name = xstrdup(item);
	if (br == NULL) {
		static const struct { const char *n; enum imap_fetch_type t; }
		    simple[] = {
			{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
			{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
			{ "BODY", IMAP_FETCH_BODY },
			{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
			{ "FLAGS", IMAP_FETCH_FLAGS },
			{ "UID", IMAP_FETCH_UID },
			{ "MODSEQ", IMAP_FETCH_MODSEQ },
			{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
			{ "RFC822", IMAP_FETCH_RFC822 },
			{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
		};
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (strcmp(item, simple[i].n) == 0)
				a->type = simple[i].t;
		return;
	}
	a->type = strncmp(item, "BINARY.SIZE", 11) == 0 ?
	    IMAP_FETCH_BINARY_SIZE : strncmp(item, "BINARY", 6) == 0 ?
	    IMAP_FETCH_BINARY : IMAP_FETCH_BODY_SECTION;
	br++;
	size_t n = strcspn(br, "]");
	char *sec = xstrndup(br, n);
	size_t l = strlen(sec);

	a->kind = IMAP_SECTION_ALL;
	if (strcmp(sec, "HEADER") == 0) {
		a->kind = IMAP_SECTION_HEADER;
		sec[0] = '\0';
	} else if (strcmp(sec, "TEXT") == 0) {
		a->kind = IMAP_SECTION_TEXT;
		sec[0] = '\0';
	} else if (l > 5 && strcmp(sec + l - 5, ".MIME") == 0) {
		a->kind = IMAP_SECTION_MIME;
		sec[l - 5] = '\0';
	}
	a->part = sec;
}

static void
att_clear(struct imap_fetch_att *a)
{
	free(a->part);
	free(a->name);
	for (size_t i = 0; i < a->n_fields; i++)
		free(a->fields[i]);
	free(a->fields);
}

/* Runs one fetch to the end in chunks of chunk octets. Returns the
   status; the answer in out, the NO text in text. */
static enum imapd_fetch_status
run_fetch(const struct imapd_fetch_params *p, size_t chunk, struct buf *out,
    char *text, size_t text_size, size_t *missing_r)
{
	struct imapd_fetch *f = imapd_fetch_new(p);
	enum imapd_fetch_status status;
	const char *t;
	unsigned rounds = 0;

	buf_reset(out);
	do {
		status = imapd_fetch_run(f, st, out, out->len + chunk, &t);
		rounds++;
	} while (status == IMAPD_FETCH_MORE && rounds < 10000000);
	if (status == IMAPD_FETCH_NO && text != NULL)
		snprintf(text, text_size, "%s", t);
	if (missing_r != NULL)
		*missing_r = imapd_fetch_missing(f);
	imapd_fetch_free(&f);
	return status;
}

static enum imapd_fetch_status
fetch_one(uint32_t uid, uint32_t seq, struct imap_fetch_att *atts, size_t n,
    bool uid_command, size_t chunk, struct buf *out, char *text,
    size_t text_size)
{
	struct imap_fetch_items items = { .atts = atts, .n = n };
	struct imapd_fetch_params p = {
		.mailbox_id = inbox, .items = &items, .uids = &uid,
		.seqs = &seq, .n = 1, .uid_command = uid_command,
	};

	for (size_t i = 0; i < n; i++) {
		if (!atts[i].peek && (atts[i].type == IMAP_FETCH_BODY_SECTION
		    || atts[i].type == IMAP_FETCH_BINARY ||
		    atts[i].type == IMAP_FETCH_RFC822 ||
		    atts[i].type == IMAP_FETCH_RFC822_TEXT))
			items.sets_seen = true;
	}
	return run_fetch(&p, chunk, out, text, text_size, NULL);
}

/* --- the corpus ----------------------------------------------------------- */

struct block {
	char item[1024];
	char status[256];
	bool elided;
	size_t elided_len;
	char sha[65];
	const char *raw;
	size_t raw_len;
};

static size_t n_blocks_total, n_identical, n_rule;

static const char *
next_line(const char **p, const char *end, size_t *len_r)
{
	const char *s = *p, *lf = memchr(s, '\n', (size_t)(end - s));

	if (lf == NULL)
		return NULL;
	*len_r = (size_t)(lf - s);
	*p = lf + 1;
	return s;
}

/* Parses the golden file into blocks; false for the refused message. */
static bool
parse_golden(const char *g, size_t glen, struct block **blocks_r,
    size_t *n_r)
{
	const char *p = g, *end = g + glen, *l;
	size_t len, n = 0, cap = 0;
	struct block *v = NULL;
	bool refused = false;

	while ((l = next_line(&p, end, &len)) != NULL && len > 0)
		if (len > 10 && strncmp(l, "# refused:", 10) == 0)
			refused = true;
	while (!refused && (l = next_line(&p, end, &len)) != NULL) {
		struct block *b;

		if (len >= 7 && strncmp(l, "=== END", 7) == 0)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		b = &v[n++];
		memset(b, 0, sizeof(*b));
		memcpy(b->item, l + 4, len - 4 < sizeof(b->item) - 1 ?
		    len - 4 : sizeof(b->item) - 1);
		while ((l = next_line(&p, end, &len)) != NULL) {
			if (len > 12 && strncmp(l, "--- status: ", 12) == 0) {
				memcpy(b->status, l + 12, len - 12 <
				    sizeof(b->status) - 1 ? len - 12 :
				    sizeof(b->status) - 1);
			} else if (len > 23 && strncmp(l,
			    "--- elided: literal of ", 23) == 0) {
				const char *sha = memmem(l, len, "sha256 ", 7);

				b->elided = true;
				b->elided_len = strtoul(l + 23, NULL, 10);
				if (sha != NULL)
					memcpy(b->sha, sha + 7, 64);
			} else if (len > 20 && strncmp(l,
			    "--- response-bytes: ", 20) == 0) {
				b->raw_len = strtoul(l + 20, NULL, 10);
				break;
			}
		}
		b->raw = p;
		p += b->raw_len;
		if (p > end)
			break;
	}
	*blocks_r = v;
	*n_r = n;
	return !refused;
}

/* ours with the literal content cut out (the golden file elided it):
   true when the rest equals raw and the content has the golden hash. */
static bool
same_elided(const struct buf *ours, const struct block *b)
{
	char hdr[64], hex[65];
	const char *lit;
	size_t pre;

	snprintf(hdr, sizeof(hdr), "{%zu}\r\n", b->elided_len);
	lit = memmem(b->raw, b->raw_len, hdr, strlen(hdr));
	if (lit == NULL)
		return false;
	pre = (size_t)(lit - b->raw) + strlen(hdr);
	if (ours->len != b->raw_len + b->elided_len ||
	    memcmp(ours->data, b->raw, pre) != 0 ||
	    memcmp(ours->data + pre + b->elided_len, b->raw + pre,
	    b->raw_len - pre) != 0)
		return false;
	sha256_hex(ours->data + pre, b->elided_len, hex);
	return memcmp(hex, b->sha, 64) == 0;
}

/* The literal length in Dovecot's BINARY[p] answer, or -1. */
static long
binary_len(const struct block *blocks, size_t n, const char *numbers)
{
	char item[1100];

	snprintf(item, sizeof(item), "BINARY[%s]", numbers);
	for (size_t i = 0; i < n; i++) {
		const char *br;

		if (strcmp(blocks[i].item, item) != 0 ||
		    strncmp(blocks[i].status, "OK", 2) != 0)
			continue;
		br = memchr(blocks[i].raw, '{', blocks[i].raw_len);
		return br != NULL ? strtol(br + 1, NULL, 10) : -1;
	}
	return -1;
}

/* Whether ours is "BINARY.SIZE[p] n" with n the length of the BINARY[p]
   literal Dovecot sent (its own BINARY.SIZE failed or disagreed). */
static bool
size_is_binary_len(const struct buf *out, unsigned number,
    const struct block *blocks, size_t n, const struct block *b,
    const char *numbers)
{
	long want = binary_len(blocks, n, numbers);
	char line[1200];

	snprintf(line, sizeof(line), "* %u FETCH (%s %ld)\r\n", number,
	    b->item, want);
	return want >= 0 && out->len == strlen(line) &&
	    memcmp(out->data, line, out->len) == 0;
}

static void
check_block(const char *name, unsigned number, uint32_t uid,
    const struct block *blocks, size_t n, const struct block *b)
{
	struct imap_fetch_att att;
	struct buf out;
	char text[256] = "";
	enum imapd_fetch_status status;

	n_blocks_total++;
	/* RFC 9051 over Dovecot (mime_corpus_test.c lists why) */
	if ((number == 139 && (strcmp(b->item, "BODY") == 0 ||
	    strcmp(b->item, "BODYSTRUCTURE") == 0)) ||
	    (number == 260 && strcmp(b->item, "ENVELOPE") == 0)) {
		n_rule++;
		return;
	}
	buf_init(&out, 0);
	att_from_name(b->item, &att);
	/* 7 octets: every literal is split many times */
	status = fetch_one(uid, number, &att, 1, false, 7 + (number % 5) *
	    4096, &out, text, sizeof(text));
	if (strncmp(b->status, "(no tagged", 10) == 0) {
		/* Dovecot sent BYE for undecodable data (this part's or,
		   for BINARY.SIZE, another's) */
		if ((status == IMAPD_FETCH_NO && strncmp(text, "[PARSE]",
		    7) == 0) || (att.type == IMAP_FETCH_BINARY_SIZE &&
		    status == IMAPD_FETCH_DONE && size_is_binary_len(&out,
		    number, blocks, n, b, att.part)))
			n_rule++;
		else
			test_fail(__FILE__, __LINE__, "%s %s: want NO [PARSE]",
			    name, b->item);
	} else if (strncmp(b->status, "NO ", 3) == 0) {
		size_t code = strcspn(b->status + 3, "]") + 1;

		if (status != IMAPD_FETCH_NO ||
		    strncmp(text, b->status + 3, code) != 0) {
			if (att.type == IMAP_FETCH_BINARY_SIZE &&
			    status == IMAPD_FETCH_DONE && size_is_binary_len(
			    &out, number, blocks, n, b, att.part))
				n_rule++;	/* quirk 1: Dovecot failed
						   a healthy part */
			else
				test_fail(__FILE__, __LINE__,
				    "%s %s: want %s, got %d %s", name, b->item,
				    b->status, status, text);
		} else {
			n_identical++;
		}
	} else if (status != IMAPD_FETCH_DONE) {
		test_fail(__FILE__, __LINE__, "%s %s: failed: %s", name,
		    b->item, text);
	} else if (b->elided ? same_elided(&out, b) : (out.len == b->raw_len
	    && memcmp(out.data, b->raw, out.len) == 0)) {
		n_identical++;
	} else if (att.type == IMAP_FETCH_BINARY_SIZE) {
		if (size_is_binary_len(&out, number, blocks, n, b, att.part))
			n_rule++;
		else
			test_fail(__FILE__, __LINE__, "%s %s: got %.*s", name,
			    b->item, (int)(out.len > 200 ? 200 : out.len),
			    out.data);
	} else {
		test_fail(__FILE__, __LINE__, "%s %s:\n  want %.*s\n  got  %.*s",
		    name, b->item, (int)(b->raw_len > 300 ? 300 : b->raw_len),
		    b->raw, (int)(out.len > 300 ? 300 : out.len), out.data);
	}
	att_clear(&att);
	buf_clear(&out);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_corpus(void)
{
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, checked = 0;

	TEST_ASSERT(d != NULL);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrndup(de->d_name, len - 4);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path, *raw, *eml, *golden;
		size_t raw_len, eml_len, golden_len, n_blocks;
		struct block *blocks = NULL;
		unsigned number = (unsigned)strtoul(names[i], NULL, 10);
		uint32_t uid = 0;

		path = xasprintf("%s/%s.eml", CORPUS_DIR, names[i]);
		raw = read_file(path, &raw_len);
		free(path);
		path = xasprintf("%s/%s.dovecot.txt", CORPUS_DIR, names[i]);
		golden = read_file(path, &golden_len);
		free(path);
		TEST_ASSERT(raw != NULL && golden != NULL);
		if (raw == NULL || golden == NULL ||
		    !parse_golden(golden, golden_len, &blocks, &n_blocks)) {
			free(raw);
			free(golden);
			free(blocks);
			free(names[i]);
			continue;
		}
		eml = normalise(raw, raw_len, &eml_len);
		TEST_EQ_INT(store_append(st, &(struct store_append){
		    .mailbox_id = inbox, .data = eml, .len = eml_len,
		    .internal_date = 1709633700 }, &uid), STORE_OK);
		for (size_t j = 0; j < n_blocks; j++)
			check_block(names[i], number, uid, blocks, n_blocks,
			    &blocks[j]);
		checked++;
		free(eml);
		free(raw);
		free(golden);
		free(blocks);
		free(names[i]);
	}
	free(names);
	printf("fetch corpus: %zu messages, %zu answers: %zu identical, "
	    "%zu by the RFC rule\n", checked, n_blocks_total, n_identical,
	    n_rule);
	TEST_ASSERT(checked >= 280);
	TEST_EQ_INT(n_identical + n_rule, n_blocks_total);
}

/* --- behaviour ------------------------------------------------------------ */

static uint32_t
append(const char *text, unsigned flags)
{
	uint32_t uid = 0;

	TEST_EQ_INT(store_testlib_append(st, inbox, text, flags, &uid),
	    STORE_OK);
	return uid;
}

static void
expect(const struct buf *out, const char *want)
{
	if (out->len != strlen(want) || memcmp(out->data, want, out->len))
		test_fail(__FILE__, __LINE__, "got  %.*s\nwant %s",
		    (int)out->len, out->data, want);
}

static void
test_seen_and_order(void)
{
	const char *msg = "Subject: hi\r\n\r\nbody\r\n";
	uint32_t uid = append(msg, 0);
	struct imap_fetch_att atts[3];
	struct buf out;
	char want[256];

	buf_init(&out, 0);
	/* UID FETCH n (BODY[TEXT] RFC822.SIZE): UID first, buffered
	   RFC822.SIZE before the literal, then FLAGS implied by \Seen */
	att_from_name("BODY[TEXT]", &atts[0]);
	atts[0].peek = false;
	att_from_name("RFC822.SIZE", &atts[1]);
	TEST_EQ_INT(fetch_one(uid, 7, atts, 2, true, 1 << 20, &out, NULL, 0),
	    IMAPD_FETCH_DONE);
	snprintf(want, sizeof(want), "* 7 FETCH (UID %u RFC822.SIZE %zu "
	    "FLAGS (\\Seen) BODY[TEXT] {6}\r\nbody\r\n)\r\n", uid,
	    strlen(msg));
	expect(&out, want);
	/* a second time: already \Seen, no FLAGS */
	TEST_EQ_INT(fetch_one(uid, 7, atts, 2, false, 1 << 20, &out, NULL, 0),
	    IMAPD_FETCH_DONE);
	snprintf(want, sizeof(want), "* 7 FETCH (RFC822.SIZE %zu "
	    "BODY[TEXT] {6}\r\nbody\r\n)\r\n", strlen(msg));
	expect(&out, want);
	/* repeated FLAGS answered once; partial <1.2> */
	att_clear(&atts[0]);
	att_clear(&atts[1]);
	att_from_name("FLAGS", &atts[0]);
	att_from_name("BODY[TEXT]", &atts[1]);
	atts[1].partial = true;
	atts[1].offset = 1;
	atts[1].count = 2;
	free(atts[1].name);
	atts[1].name = xstrdup("BODY[TEXT]<1>");
	att_from_name("FLAGS", &atts[2]);
	TEST_EQ_INT(fetch_one(uid, 1, atts, 3, false, 1 << 20, &out, NULL, 0),
	    IMAPD_FETCH_DONE);
	expect(&out, "* 1 FETCH (FLAGS (\\Seen) BODY[TEXT]<1> {2}\r\nod)\r\n");
	/* an offset past the end: empty */
	atts[1].offset = 100;
	free(atts[1].name);
	atts[1].name = xstrdup("BODY[TEXT]<100>");
	TEST_EQ_INT(fetch_one(uid, 1, &atts[1], 1, false, 1 << 20, &out, NULL,
	    0), IMAPD_FETCH_DONE);
	expect(&out, "* 1 FETCH (BODY[TEXT]<100> {0}\r\n)\r\n");
	for (size_t i = 0; i < 3; i++)
		att_clear(&atts[i]);
	buf_clear(&out);
}

static void
test_readonly_nul_fields(void)
{
	static const char msg[] = "From: a@b\r\nX-A: 1\r\nSubject: s\r\n"
	    "\r\nx\0y\r\n";
	uint32_t uid;
	struct imap_fetch_att att;
	struct imap_fetch_items items = { .atts = &att, .n = 1,
	    .sets_seen = true };
	struct imapd_fetch_params p = { .mailbox_id = inbox,
	    .items = &items, .n = 1, .readonly = true };
	struct buf out;
	uint32_t seq = 3;
	char *fields[2];

	uid = 0;
	TEST_EQ_INT(store_append(st, &(struct store_append){
	    .mailbox_id = inbox, .data = msg, .len = sizeof(msg) - 1 }, &uid),
	    STORE_OK);
	p.uids = &uid;
	p.seqs = &seq;
	buf_init(&out, 0);
	/* EXAMINE: BODY[TEXT] sets nothing; NUL goes out as 0x80 */
	att_from_name("BODY[TEXT]", &att);
	att.peek = false;
	TEST_EQ_INT(run_fetch(&p, 3, &out, NULL, 0, NULL), IMAPD_FETCH_DONE);
	expect(&out, "* 3 FETCH (BODY[TEXT] {5}\r\nx\x80y\r\n)\r\n");
	att_clear(&att);
	/* HEADER.FIELDS (SUBJECT FROM), message order kept */
	att_from_name("BODY[HEADER]", &att);
	att.kind = IMAP_SECTION_HEADER_FIELDS;
	fields[0] = xstrdup("SUBJECT");
	fields[1] = xstrdup("FROM");
	att.fields = xcalloc(2, sizeof(*att.fields));
	memcpy(att.fields, fields, sizeof(fields));
	att.n_fields = 2;
	free(att.name);
	att.name = xstrdup("BODY[HEADER.FIELDS (SUBJECT FROM)]");
	TEST_EQ_INT(run_fetch(&p, 1 << 20, &out, NULL, 0, NULL),
	    IMAPD_FETCH_DONE);
	expect(&out, "* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {25}\r\n"
	    "From: a@b\r\nSubject: s\r\n\r\n)\r\n");
	att_clear(&att);
	/* the message is still unseen */
	att_from_name("FLAGS", &att);
	TEST_EQ_INT(run_fetch(&p, 1 << 20, &out, NULL, 0, NULL),
	    IMAPD_FETCH_DONE);
	expect(&out, "* 3 FETCH (FLAGS ())\r\n");
	att_clear(&att);
	buf_clear(&out);
}

static void
test_changedsince_missing_condstore(void)
{
	uint32_t u1 = append("Subject: 1\r\n\r\n1\r\n", 0);
	uint32_t u2 = append("Subject: 2\r\n\r\n2\r\n", 0);
	uint32_t uids[3] = { u1, u2, u2 + 1000 }, seqs[3] = { 1, 2, 3 };
	struct imap_fetch_att att;
	struct imap_fetch_items items = { .atts = &att, .n = 1 };
	struct imapd_fetch_params p = { .mailbox_id = inbox,
	    .items = &items, .uids = uids, .seqs = seqs, .n = 3,
	    .condstore = true };
	struct buf out;
	struct store_range r = { u2, u2 };
	uint64_t modseq = 0;
	size_t missing = 0;
	char want[128];

	buf_init(&out, 0);
	att_from_name("FLAGS", &att);
	/* a UID that is gone is skipped and counted; MODSEQ with FLAGS */
	TEST_EQ_INT(run_fetch(&p, 1 << 20, &out, NULL, 0, &missing),
	    IMAPD_FETCH_DONE);
	TEST_EQ_INT(missing, 1);
	TEST_ASSERT(memmem(out.data, out.len, "* 2 FETCH (FLAGS () MODSEQ (",
	    28) != NULL);
	/* CHANGEDSINCE: only the message flagged since */
	TEST_EQ_INT(store_flags(st, inbox, &r, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL), STORE_OK);
	{
		struct store_mailbox mb;

		TEST_EQ_INT(store_mailbox_get(st, "INBOX", &mb), STORE_OK);
		modseq = mb.highestmodseq;
		store_mailbox_clear(&mb);
	}
	items.changedsince_set = true;
	items.changedsince = modseq - 1;
	p.condstore = false;
	p.n = 2;
	TEST_EQ_INT(run_fetch(&p, 1 << 20, &out, NULL, 0, NULL),
	    IMAPD_FETCH_DONE);
	snprintf(want, sizeof(want), "* 2 FETCH (FLAGS (\\Flagged) "
	    "MODSEQ (%llu))\r\n", (unsigned long long)modseq);
	expect(&out, want);
	att_clear(&att);
	buf_clear(&out);
}

/* A 3 MB body comes out in pieces no larger than the chunk asked for
   (plus one message's short items), identical when joined. */
static void
test_large_streamed(void)
{
	char *msg = store_testlib_message(3 << 20, "<big@x>", NULL);
	uint32_t uid = append(msg, STORE_FLAG_SEEN), seq = 9;
	struct imap_fetch_att att;
	struct imap_fetch_items items = { .atts = &att, .n = 1 };
	struct imapd_fetch_params p = { .mailbox_id = inbox,
	    .items = &items, .uids = &uid, .seqs = &seq, .n = 1 };
	struct imapd_fetch *f;
	struct buf out, all;
	const char *t;
	enum imapd_fetch_status s;
	size_t rounds = 0, len = strlen(msg);
	char head[64];

	att_from_name("BODY[]", &att);
	f = imapd_fetch_new(&p);
	buf_init(&out, 0);
	buf_init(&all, 0);
	do {
		buf_reset(&out);
		s = imapd_fetch_run(f, st, &out, 256 * 1024, &t);
		TEST_ASSERT(out.len <= 256 * 1024 + 64);
		(void)buf_append(&all, out.data, out.len);
		rounds++;
	} while (s == IMAPD_FETCH_MORE);
	TEST_EQ_INT(s, IMAPD_FETCH_DONE);
	TEST_ASSERT(rounds >= 12);
	snprintf(head, sizeof(head), "* 9 FETCH (BODY[] {%zu}\r\n", len);
	TEST_ASSERT(all.len == strlen(head) + len + 3);
	TEST_ASSERT(memcmp(all.data, head, strlen(head)) == 0);
	TEST_ASSERT(memcmp(all.data + strlen(head), msg, len) == 0);
	imapd_fetch_free(&f);
	att_clear(&att);
	buf_clear(&out);
	buf_clear(&all);
	free(msg);
}

int
main(void)
{
	dir = test_tmpdir();
	st = store_testlib_open(dir, 1, NULL);
	inbox = store_testlib_mailbox(st, "INBOX");
	TEST_RUN(test_corpus);
	TEST_RUN(test_seen_and_order);
	TEST_RUN(test_readonly_nul_fields);
	TEST_RUN(test_changedsince_missing_condstore);
	TEST_RUN(test_large_streamed);
	store_close(&st);
	fsutil_remove_tree(dir);
	free(dir);
	return test_done();
}
