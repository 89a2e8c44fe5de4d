/* mime_corpus_test.c — the MIME parser and its IMAP strings against the
   golden corpus in tests/corpus/mime (README.md there): for every message,
   the answers Dovecot 2.3.19.1 gave to RFC822.SIZE, ENVELOPE, BODY,
   BODYSTRUCTURE, BODY[HEADER], BODY[TEXT], BODY[p.MIME], BODY[p],
   BINARY.SIZE[p] and BINARY[p] are rebuilt as "* N FETCH (...)" lines and
   compared byte for byte (elided literals by size and SHA-256).

   The stored message is what the corpus file holds with bare LF turned
   into CRLF and a bare CR at the very end dropped, which is what an IMAP
   store keeps (RFC 9051 messages are CRLF); that normalisation is checked
   against the SHA-256 of Dovecot's BODY[]. BODY[...] literals carry NUL as
   0x80; BINARY uses literal8 when the part was decoded or holds NUL.

   Where Dovecot is wrong by RFC 9051 we do what the RFC says; every such
   answer is listed in mime_corpus_deviations below with its reason, and
   the test fails on any other difference, and on a listed deviation that
   no longer occurs. Runs from the repository root. */
#include "mail/mime.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "mail/mime_private.h"

#define CORPUS_DIR "tests/corpus/mime"

enum corpus_dev_kind {
	/* Dovecot sent BYE (its bug, README quirk 2): a NO [PARSE] is due */
	DEV_PARSE_NOT_BYE,
	/* our BINARY.SIZE[p] is the length of the BINARY[p] literal Dovecot
	   sent, where Dovecot failed it for another part's sake (quirk 1)
	   or answered a number that is not that length */
	DEV_SIZE_OF_BINARY,
	/* message/global is parsed like message/rfc822 (quirk 5): the part
	   gets an envelope, a body and a line count */
	DEV_MESSAGE_GLOBAL,
	/* the same strings, but Dovecot chose a literal where a quoted
	   string does */
	DEV_LITERAL_CHOICE,
};

static const struct corpus_dev {
	unsigned file;
	const char *item;		/* NULL: every item of the kind */
	enum corpus_dev_kind kind;
	const char *reason;
} mime_corpus_deviations[] = {
#define R_SIZE_LEN "Dovecot's number is not the length of its BINARY literal"
#define R_OTHER_NO "another part is undecodable: Dovecot fails all (quirk 1)"
#define R_OTHER_BYE "another part is undecodable: BYE for all (quirks 1, 2)"
#define R_BYE "undecodable data: Dovecot sent BYE (quirk 2), NO [PARSE] is due"
#define R_GLOBAL "message/global: envelope and body (RFC 9051 7.5.2, quirk 5)"
#define R_LONG_LINE "Dovecot cuts a 100 KB line at its buffer, sends a literal"
	{ 28, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 28, "BINARY.SIZE[7]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 35, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 36, "BINARY.SIZE[1.1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 36, "BINARY.SIZE[1.2.2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 36, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 38, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 38, "BINARY.SIZE[2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 38, "BINARY.SIZE[2.2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 38, "BINARY.SIZE[2.2.2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 38, "BINARY.SIZE[2.2.2.2]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 38, "BINARY[2.2.2.2]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 62, "BINARY.SIZE[1.2]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 68, "BINARY.SIZE[3.1]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 73, "BINARY.SIZE[1.1]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 139, "BODY", DEV_MESSAGE_GLOBAL, R_GLOBAL },
	{ 139, "BODYSTRUCTURE", DEV_MESSAGE_GLOBAL, R_GLOBAL },
	{ 144, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_SIZE_LEN },
	{ 231, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 238, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 239, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 241, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 244, "BINARY.SIZE[1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 244, "BINARY[1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 244, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 245, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 246, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 247, "BINARY.SIZE[1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 247, "BINARY[1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 247, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 249, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 250, "BINARY[2]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 253, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 253, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 253, "BINARY.SIZE[3]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 253, "BINARY.SIZE[5]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 260, "ENVELOPE", DEV_LITERAL_CHOICE, R_LONG_LINE },
	{ 268, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 268, "BINARY.SIZE[2]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 268, "BINARY.SIZE[4]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 268, "BINARY.SIZE[5.1]", DEV_SIZE_OF_BINARY, R_OTHER_NO },
	{ 298, "BINARY.SIZE[1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[2.2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[2.3]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[3.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[4]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[5]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.1.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.1.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.2.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.2.3]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.2.4]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[6.3]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[7.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[7.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[7.3]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[8.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[8.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[9.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[10]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 298, "BINARY[10]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 298, "BINARY.SIZE[11.1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 298, "BINARY[11.1]", DEV_PARSE_NOT_BYE, R_BYE },
	{ 298, "BINARY.SIZE[11.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.3.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.3.2.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.3.2.2]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.3.3]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 298, "BINARY.SIZE[12.3.4.1]", DEV_SIZE_OF_BINARY, R_OTHER_BYE },
	{ 0, NULL, 0, NULL }
};
#define N_DEVIATIONS \
	(sizeof(mime_corpus_deviations) / sizeof(mime_corpus_deviations[0]) - 1)
static unsigned corpus_dev_used[N_DEVIATIONS + 1];

struct corpus_block {
	char item[1024];
	char status[512];
	bool elided;
	size_t elided_len;
	char elided_sha[65];
	const char *raw;
	size_t raw_len;
};

struct corpus_msg {
	unsigned number;
	char name[256];
	char *eml;			/* normalised */
	size_t eml_len;
	char *golden;
	size_t golden_len;
	struct corpus_block *blocks;
	size_t n_blocks;
	bool refused;
	char body_sha[65];		/* when BODY[] differed from the file */
	struct mime_message *msg;
};

static struct corpus_msg *corpus;
static size_t n_corpus;

/* Per item class: compared, matched exactly, accepted deviations. */
enum corpus_class {
	CLS_SIZE, CLS_ENVELOPE, CLS_BODY, CLS_BODYSTRUCTURE, CLS_HEADER,
	CLS_TEXT, CLS_MIME, CLS_PART, CLS_BINARY_SIZE, CLS_BINARY, CLS_COUNT
};
static const char *const corpus_class_names[CLS_COUNT] = {
	"RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "BODY[HEADER]",
	"BODY[TEXT]", "BODY[p.MIME]", "BODY[p]", "BINARY.SIZE[p]", "BINARY[p]",
};
static unsigned cls_total[CLS_COUNT], cls_match[CLS_COUNT],
    cls_dev[CLS_COUNT];

static enum corpus_class corpus_classify(const char *item);

static char *
corpus_read(const char *path, size_t *len_r)
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

static void
corpus_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
}

/* Bare LF -> CRLF; a bare CR ending the message is dropped. */
static char *
corpus_normalise(const char *s, size_t len, size_t *len_r)
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

static const char *
corpus_line(const char **p, const char *end, size_t *len_r)
{
	const char *s = *p, *lf = memchr(s, '\n', (size_t)(end - s));

	if (lf == NULL)
		return NULL;
	*len_r = (size_t)(lf - s);
	*p = lf + 1;
	return s;
}

static bool
corpus_parse_golden(struct corpus_msg *m)
{
	const char *p = m->golden, *end = m->golden + m->golden_len, *l;
	size_t len, cap = 0;

	/* "# key: value" lines, then an empty line */
	while ((l = corpus_line(&p, end, &len)) != NULL && len > 0) {
		if (len > 10 && strncmp(l, "# refused:", 10) == 0)
			m->refused = true;
		if (len > 21 && strncmp(l, "# body-equals-eml: no", 21) == 0) {
			const char *sha = memmem(l, len, "sha256 ", 7);

			if (sha == NULL || (size_t)(l + len - sha) < 7 + 64)
				return false;
			memcpy(m->body_sha, sha + 7, 64);
		}
	}
	if (l == NULL)
		return m->refused;
	while ((l = corpus_line(&p, end, &len)) != NULL) {
		struct corpus_block *b;

		if (len >= 7 && strncmp(l, "=== END", 7) == 0)
			return true;
		if (len < 4 || strncmp(l, "=== ", 4) != 0 ||
		    len - 4 >= sizeof(b->item))
			return false;
		if (m->n_blocks == cap) {
			cap = cap ? cap * 2 : 16;
			m->blocks = xreallocarray(m->blocks, cap,
			    sizeof(*m->blocks));
		}
		b = &m->blocks[m->n_blocks++];
		memset(b, 0, sizeof(*b));
		memcpy(b->item, l + 4, len - 4);
		for (;;) {
			if ((l = corpus_line(&p, end, &len)) == NULL)
				return false;
			if (len > 12 && strncmp(l, "--- status: ", 12) == 0) {
				size_t n = len - 12 < sizeof(b->status) - 1 ?
				    len - 12 : sizeof(b->status) - 1;

				memcpy(b->status, l + 12, n);
			} else if (len > 35 && strncmp(l,
			    "--- elided: literal of ", 23) == 0) {
				const char *sha = memmem(l, len, "sha256 ", 7);

				b->elided = true;
				b->elided_len = strtoul(l + 23, NULL, 10);
				if (sha == NULL)
					return false;
				memcpy(b->elided_sha, sha + 7, 64);
			} else if (len > 20 && strncmp(l,
			    "--- response-bytes: ", 20) == 0) {
				b->raw_len = strtoul(l + 20, NULL, 10);
				break;
			}
		}
		if ((size_t)(end - p) < b->raw_len)
			return false;
		b->raw = p;
		p += b->raw_len;
	}
	return false;
}

static int
corpus_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
corpus_load(void)
{
	DIR *dir = opendir(CORPUS_DIR);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (dir == NULL) {
		fprintf(stderr, "cannot open %s (run from the repo root)\n",
		    CORPUS_DIR);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrndup(de->d_name, len - 4);
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), corpus_name_cmp);
	corpus = xcalloc(n ? n : 1, sizeof(*corpus));
	for (size_t i = 0; i < n; i++) {
		struct corpus_msg *m = &corpus[n_corpus];
		char *path, *raw;
		size_t raw_len;

		snprintf(m->name, sizeof(m->name), "%s", names[i]);
		m->number = (unsigned)strtoul(names[i], NULL, 10);
		path = xasprintf("%s/%s.eml", CORPUS_DIR, names[i]);
		raw = corpus_read(path, &raw_len);
		free(path);
		path = xasprintf("%s/%s.dovecot.txt", CORPUS_DIR, names[i]);
		m->golden = corpus_read(path, &m->golden_len);
		free(path);
		free(names[i]);
		if (raw == NULL || m->golden == NULL) {
			test_fail(__FILE__, __LINE__, "%s: unreadable",
			    m->name);
			free(raw);
			free(m->golden);
			continue;
		}
		m->eml = corpus_normalise(raw, raw_len, &m->eml_len);
		free(raw);
		if (!corpus_parse_golden(m))
			test_fail(__FILE__, __LINE__, "%s: bad golden file",
			    m->name);
		m->msg = mime_parse(m->eml, m->eml_len, NULL);
		n_corpus++;
	}
	free(names);
}

static void
corpus_free(void)
{
	for (size_t i = 0; i < n_corpus; i++) {
		mime_message_free(&corpus[i].msg);
		free(corpus[i].eml);
		free(corpus[i].golden);
		free(corpus[i].blocks);
	}
	free(corpus);
}

/* --- answers -------------------------------------------------------------- */

/* The deviation listed for this file and item, if any. */
static const struct corpus_dev *
corpus_deviation(const struct corpus_msg *m, const char *item,
    enum corpus_dev_kind kind)
{
	for (size_t i = 0; mime_corpus_deviations[i].file != 0; i++) {
		const struct corpus_dev *d = &mime_corpus_deviations[i];

		if (d->file == m->number && d->kind == kind &&
		    (d->item == NULL || strcmp(d->item, item) == 0)) {
			corpus_dev_used[i]++;
			return d;
		}
	}
	return NULL;
}

static void
corpus_literal(struct buf *out, const char *s, size_t len, bool nul_to_80,
    bool literal8, bool elide)
{
	(void)buf_printf(out, "%s{%zu}\r\n", literal8 ? "~" : "", len);
	if (elide)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = s[i] == '\0' && nul_to_80 ? (char)0x80 : s[i];

		(void)buf_append(out, &c, 1);
	}
}

static void
corpus_content_sha(const char *s, size_t len, bool nul_to_80, char hex[65])
{
	char *copy = xmalloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		copy[i] = s[i] == '\0' && nul_to_80 ? (char)0x80 : s[i];
	corpus_sha256(copy, len, hex);
	free(copy);
}

static bool
corpus_status_ok(const struct corpus_block *b)
{
	return strncmp(b->status, "OK", 2) == 0;
}

static void
corpus_mismatch(const struct corpus_msg *m, const struct corpus_block *b,
    const struct buf *ours, const char *why)
{
	test_fail(__FILE__, __LINE__, "%s %s: %s\n  want: %.*s\n  got:  %.*s",
	    m->name, b->item, why, (int)(b->raw_len > 600 ? 600 : b->raw_len),
	    b->raw, (int)(ours->len > 600 ? 600 : ours->len),
	    ours->data != NULL ? ours->data : "");
}

/* The next IMAP token of s[*pos..len): a string's value (quoted or
   literal), or an atom or parenthesis as it stands. */
static bool
corpus_token(const char *s, size_t len, size_t *pos, struct buf *tok)
{
	size_t i = *pos;

	buf_reset(tok);
	while (i < len && s[i] == ' ')
		i++;
	if (i >= len)
		return false;
	if (s[i] == '(' || s[i] == ')') {
		(void)buf_append(tok, s + i, 1);
		i++;
	} else if (s[i] == '"') {
		(void)buf_append(tok, "s", 1);
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			(void)buf_append(tok, s + i, 1);
		}
		i++;
	} else if (s[i] == '{' || (s[i] == '~' && i + 1 < len)) {
		size_t n = strtoul(s + i + (s[i] == '~') + 1, NULL, 10);
		const char *lf = memchr(s + i, '\n', len - i);

		if (lf == NULL || (size_t)(s + len - lf - 1) < n)
			return false;
		i = (size_t)(lf - s) + 1;
		(void)buf_append(tok, "s", 1);
		(void)buf_append(tok, s + i, n);
		i += n;
	} else {
		for (; i < len && s[i] != ' ' && s[i] != '(' && s[i] != ')';
		    i++)
			(void)buf_append(tok, s + i, 1);
	}
	*pos = i;
	return true;
}

/* Whether two responses say the same, quoting aside. */
static bool
corpus_same_tokens(const char *a, size_t alen, const char *b, size_t blen)
{
	struct buf ta, tb;
	size_t pa = 0, pb = 0;
	bool more_a, more_b, same = true;

	buf_init(&ta, 0);
	buf_init(&tb, 0);
	do {
		more_a = corpus_token(a, alen, &pa, &ta);
		more_b = corpus_token(b, blen, &pb, &tb);
		if (more_a != more_b || (more_a && (ta.len != tb.len ||
		    memcmp(ta.data, tb.data, ta.len) != 0)))
			same = false;
	} while (same && more_a);
	buf_clear(&ta);
	buf_clear(&tb);
	return same;
}

/* Compares the answer built in ours with the block; content is the
   literal's content when the golden file elided it. */
static bool
corpus_compare(const struct corpus_msg *m, const struct corpus_block *b,
    const struct buf *ours, const char *content, size_t content_len,
    bool nul_to_80)
{
	if (!corpus_status_ok(b)) {
		corpus_mismatch(m, b, ours, "Dovecot failed, we answered");
		return false;
	}
	if (ours->len != b->raw_len || memcmp(ours->data, b->raw,
	    b->raw_len) != 0) {
		if (corpus_same_tokens(ours->data, ours->len, b->raw,
		    b->raw_len) && corpus_deviation(m, b->item,
		    DEV_LITERAL_CHOICE) != NULL) {
			cls_dev[corpus_classify(b->item)]++;
			return false;
		}
		corpus_mismatch(m, b, ours, "differs");
		return false;
	}
	if (b->elided) {
		char hex[65];

		corpus_content_sha(content, content_len, nul_to_80, hex);
		if (content_len != b->elided_len ||
		    memcmp(hex, b->elided_sha, 64) != 0) {
			corpus_mismatch(m, b, ours, "elided content differs");
			return false;
		}
	}
	return true;
}

static enum corpus_class
corpus_classify(const char *item)
{
	size_t len = strlen(item);

	if (strcmp(item, "RFC822.SIZE") == 0)
		return CLS_SIZE;
	if (strcmp(item, "ENVELOPE") == 0)
		return CLS_ENVELOPE;
	if (strcmp(item, "BODY") == 0)
		return CLS_BODY;
	if (strcmp(item, "BODYSTRUCTURE") == 0)
		return CLS_BODYSTRUCTURE;
	if (strcmp(item, "BODY[HEADER]") == 0)
		return CLS_HEADER;
	if (strcmp(item, "BODY[TEXT]") == 0)
		return CLS_TEXT;
	if (strncmp(item, "BINARY.SIZE[", 12) == 0)
		return CLS_BINARY_SIZE;
	if (strncmp(item, "BINARY[", 7) == 0)
		return CLS_BINARY;
	if (len > 6 && strcmp(item + len - 6, ".MIME]") == 0)
		return CLS_MIME;
	return CLS_PART;
}

/* The section numbers inside "X[1.2]" or "BODY[1.2.MIME]". */
static void
corpus_numbers(const char *item, char *out, size_t size)
{
	const char *s = strchr(item, '[') + 1;
	size_t n = strcspn(s, "]");

	if (n >= 5 && strncmp(s + n - 5, ".MIME", 5) == 0)
		n -= 5;
	if (n >= size)
		n = size - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* The block for item in m, or NULL. */
static const struct corpus_block *
corpus_find(const struct corpus_msg *m, const char *item)
{
	for (size_t i = 0; i < m->n_blocks; i++) {
		if (strcmp(m->blocks[i].item, item) == 0)
			return &m->blocks[i];
	}
	return NULL;
}

/* BINARY[p]: 0 with the decoded bytes in dec, or mime_part_decode's
   error; literal8 as Dovecot chooses it. */
static int
corpus_binary(const struct corpus_msg *m, const char *numbers,
    struct buf *dec, bool *literal8_r)
{
	uint32_t index;
	const struct mime_part *part;
	int ret;

	if (mime_section_part(m->msg, numbers, &index) < 0)
		return 1;		/* no such part: empty */
	ret = mime_part_decode(m->msg, index, dec);
	part = mime_part_get(m->msg, index);
	*literal8_r = (part->body_end > part->body_off &&
	    (mime_decode_cte(m->msg, index) == MIME_CTE_BASE64 ||
	    mime_decode_cte(m->msg, index) == MIME_CTE_QP)) ||
	    memchr(m->eml + part->header_off, '\0',
	    part->body_end - part->header_off) != NULL;
	return ret;
}

/* Dovecot's leaf ("message" "global" ... size) must be ours followed by
   the envelope and the body of the encapsulated message. */
static void
corpus_check_global(const struct corpus_msg *m, const struct corpus_block *b,
    const struct buf *ours)
{
	static const char key[] = "(\"message\" \"global\"";
	const char *start = memmem(b->raw, b->raw_len, key, sizeof(key) - 1);
	const char *end;
	char *want;
	size_t n;

	if (start == NULL) {
		corpus_mismatch(m, b, ours, "no message/global in Dovecot's");
		return;
	}
	/* up to the size: the basic fields Dovecot gave the leaf */
	end = start + sizeof(key) - 1;
	for (int spaces = 0; end < b->raw + b->raw_len && spaces < 5; end++)
		spaces += *end == ' ';
	while (end < b->raw + b->raw_len && *end >= '0' && *end <= '9')
		end++;
	n = (size_t)(end - start);
	want = xmalloc(n + 3);
	memcpy(want, start, n);
	memcpy(want + n, " (", 3);
	if (memmem(ours->data, ours->len, want, n + 2) == NULL)
		corpus_mismatch(m, b, ours, "message/global not expanded");
	free(want);
}

static void
corpus_check_block(const struct corpus_msg *m, const struct corpus_block *b)
{
	enum corpus_class cls = corpus_classify(b->item);
	struct buf ours, val;
	char numbers[1024];
	const char *content = NULL;
	size_t content_len = 0, off, len;
	bool ok = false, nul_to_80 = true;

	cls_total[cls]++;
	buf_init(&ours, 0);
	buf_init(&val, 0);
	(void)buf_printf(&ours, "* %u FETCH (%s ", m->number, b->item);
	switch (cls) {
	case CLS_SIZE:
		(void)buf_printf(&ours, "%zu", m->eml_len);
		break;
	case CLS_ENVELOPE:
		TEST_EQ_INT(mime_envelope(m->msg, 0, &ours), 0);
		break;
	case CLS_BODY:
	case CLS_BODYSTRUCTURE:
		TEST_EQ_INT(mime_bodystructure(m->msg, 0,
		    cls == CLS_BODYSTRUCTURE, &ours), 0);
		if (corpus_deviation(m, b->item, DEV_MESSAGE_GLOBAL) != NULL) {
			corpus_check_global(m, b, &ours);
			cls_dev[cls]++;
			goto out;
		}
		break;
	case CLS_HEADER:
	case CLS_TEXT:
	case CLS_MIME:
	case CLS_PART:
		corpus_numbers(b->item, numbers, sizeof(numbers));
		if (cls == CLS_HEADER || cls == CLS_TEXT)
			numbers[0] = '\0';
		if (mime_section_lookup(m->msg, numbers,
		    cls == CLS_HEADER ? MIME_SECTION_HEADER :
		    cls == CLS_TEXT ? MIME_SECTION_TEXT :
		    cls == CLS_MIME ? MIME_SECTION_MIME : MIME_SECTION_ALL,
		    &off, &len) < 0)
			off = len = 0;
		content = m->eml + off;
		content_len = len;
		corpus_literal(&ours, content, len, true, false, b->elided);
		break;
	case CLS_BINARY_SIZE:
	case CLS_BINARY: {
		const struct corpus_block *bin;
		char item[1100];
		bool literal8 = false;
		int ret;

		corpus_numbers(b->item, numbers, sizeof(numbers));
		ret = corpus_binary(m, numbers, &val, &literal8);
		if (ret < 0) {
			const char *want = ret == -1 ? "NO [UNKNOWN-CTE]" :
			    "NO [PARSE]";

			if (strncmp(b->status, want, strlen(want)) == 0) {
				ok = true;
			} else if (strncmp(b->status, "(no tagged", 10) == 0 &&
			    ret == -2 && corpus_deviation(m, b->item,
			    DEV_PARSE_NOT_BYE) != NULL) {
				cls_dev[cls]++;
				goto out;
			} else {
				test_fail(__FILE__, __LINE__,
				    "%s %s: we fail with %d, Dovecot: %s",
				    m->name, b->item, ret, b->status);
			}
			goto out;
		}
		if (ret > 0)
			buf_reset(&val);
		if (cls == CLS_BINARY_SIZE) {
			char want[64];

			(void)buf_printf(&ours, "%zu)\r\n", val.len);
			if (corpus_status_ok(b) && ours.len == b->raw_len &&
			    memcmp(ours.data, b->raw, b->raw_len) == 0) {
				ok = true;
				goto out;
			}
			/* ours must be the size of the BINARY[p] Dovecot
			   sent */
			snprintf(item, sizeof(item), "BINARY[%s]", numbers);
			snprintf(want, sizeof(want), "{%zu}\r\n", val.len);
			bin = corpus_find(m, item);
			if (bin != NULL && corpus_status_ok(bin) &&
			    memmem(bin->raw, bin->raw_len, want,
			    strlen(want)) != NULL &&
			    corpus_deviation(m, b->item,
			    DEV_SIZE_OF_BINARY) != NULL)
				cls_dev[cls]++;
			else
				corpus_mismatch(m, b, &ours, "differs");
			goto out;
		} else {
			content = val.data;
			content_len = val.len;
			nul_to_80 = false;
			corpus_literal(&ours, content, content_len, false,
			    literal8, b->elided);
		}
		break;
	}
	case CLS_COUNT:
		break;
	}
	(void)buf_append(&ours, ")\r\n", 3);
	ok = corpus_compare(m, b, &ours, content, content_len, nul_to_80);
out:
	if (ok)
		cls_match[cls]++;
	buf_clear(&ours);
	buf_clear(&val);
}

/* --- tests ---------------------------------------------------------------- */

static void
test_corpus_loaded(void)
{
	TEST_ASSERT(n_corpus >= 280);
}

static void
test_corpus_normalisation(void)
{
	for (size_t i = 0; i < n_corpus; i++) {
		const struct corpus_msg *m = &corpus[i];
		char hex[65];

		if (m->body_sha[0] == '\0')
			continue;
		corpus_content_sha(m->eml, m->eml_len, true, hex);
		if (memcmp(hex, m->body_sha, 64) != 0)
			test_fail(__FILE__, __LINE__,
			    "%s: normalised message is not Dovecot's BODY[]",
			    m->name);
	}
}

static void
test_corpus_answers(void)
{
	for (size_t i = 0; i < n_corpus; i++) {
		const struct corpus_msg *m = &corpus[i];

		if (m->refused) {
			/* the zero-byte message: we parse it (the store
			   decides whether to accept it) */
			TEST_ASSERT(mime_part_count(m->msg) == 1);
			continue;
		}
		for (size_t j = 0; j < m->n_blocks; j++)
			corpus_check_block(m, &m->blocks[j]);
	}
	printf("corpus: %zu messages\n", n_corpus);
	for (int c = 0; c < CLS_COUNT; c++)
		printf("corpus: %-15s %5u/%-5u identical, "
		    "%u listed deviations\n",
		    corpus_class_names[c], cls_match[c], cls_total[c],
		    cls_dev[c]);
}

static void
test_corpus_deviations_current(void)
{
	for (size_t i = 0; mime_corpus_deviations[i].file != 0; i++) {
		if (corpus_dev_used[i] == 0)
			test_fail(__FILE__, __LINE__,
			    "deviation %u %s no longer occurs",
			    mime_corpus_deviations[i].file,
			    mime_corpus_deviations[i].item ?
			    mime_corpus_deviations[i].item : "*");
	}
}

int
main(void)
{
	corpus_load();
	TEST_RUN(test_corpus_loaded);
	TEST_RUN(test_corpus_normalisation);
	TEST_RUN(test_corpus_answers);
	TEST_RUN(test_corpus_deviations_current);
	corpus_free();
	return test_done();
}
