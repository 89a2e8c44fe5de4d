/* mime_test.c — unit tests for the MIME parser and its IMAP strings: part
   offsets and line counts, boundaries, limits, ENVELOPE and BODYSTRUCTURE
   details, section numbers, header fields, BINARY decoding and RFC 2047.
   The golden comparison with Dovecot is mime_corpus_test.c.

   Every message is parsed from a heap copy of exactly its length, so that
   AddressSanitizer catches a read past the end (the parser may not rely
   on a NUL after the data). */
#include "mail/mime.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

struct parsed {
	char *data;
	struct mime_message *msg;
};

static struct parsed
parse_limits(const char *s, size_t len, const struct mime_limits *limits)
{
	struct parsed p;

	p.data = xmalloc(len ? len : 1);
	memcpy(p.data, s, len);
	p.msg = mime_parse(p.data, len, limits);
	return p;
}

static struct parsed
parse(const char *s)
{
	return parse_limits(s, strlen(s), NULL);
}

static void
parsed_free(struct parsed *p)
{
	mime_message_free(&p->msg);
	TEST_ASSERT(p->msg == NULL);
	free(p->data);
}

/* The message's BODYSTRUCTURE (or BODY) as a C string the caller frees. */
static char *
bodystructure(const struct parsed *p, uint32_t index, bool extended)
{
	struct buf out;

	buf_init(&out, 0);
	TEST_EQ_INT(mime_bodystructure(p->msg, index, extended, &out), 0);
	(void)buf_append(&out, "", 0);
	return buf_steal(&out);
}

static char *
envelope(const struct parsed *p, uint32_t index)
{
	struct buf out;

	buf_init(&out, 0);
	TEST_EQ_INT(mime_envelope(p->msg, index, &out), 0);
	(void)buf_append(&out, "", 0);
	return buf_steal(&out);
}

/* The bytes of section numbers/kind, or "(none)". */
static char *
section(const struct parsed *p, const char *numbers,
    enum mime_section_kind kind)
{
	size_t off, len;

	if (mime_section_lookup(p->msg, numbers, kind, &off, &len) < 0)
		return xstrdup("(none)");
	return xstrndup(p->data + off, len);
}

static void
check_str(char *got, const char *want, int line)
{
	if (strcmp(got, want) != 0)
		test_fail(__FILE__, line, "got \"%s\", want \"%s\"", got, want);
	free(got);
}
#define CHECK_STR(got, want) check_str((got), (want), __LINE__)

/* --- the part tree -------------------------------------------------------- */

static void
test_plain_message(void)
{
	struct parsed p = parse("Subject: hi\r\nFrom: a@b.example\r\n\r\n"
	    "line 1\r\nline 2\r\n");
	const struct mime_part *part = mime_part_get(p.msg, 0);

	TEST_EQ_INT(mime_part_count(p.msg), 1);
	TEST_EQ_INT(part->header_off, 0);
	TEST_EQ_INT(part->body_off, 34);
	TEST_EQ_INT(part->body_end, 50);
	TEST_EQ_INT(part->body_lines, 2);
	TEST_EQ_STR(part->type, "text");
	TEST_EQ_STR(part->subtype, "plain");
	TEST_ASSERT(!part->is_multipart && !part->is_message);
	TEST_EQ_INT(part->parent, MIME_NONE);
	TEST_ASSERT(mime_part_get(p.msg, 1) == NULL);
	CHECK_STR(bodystructure(&p, 0, true), "(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 16 2 "
	    "NIL NIL NIL NIL)");
	parsed_free(&p);
}

static void
test_multipart_offsets(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "preamble\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "one\r\n"
	    "two\r\n"
	    "--b1\r\n"
	    "\r\n"
	    "three\r\n"
	    "--b1--\r\n"
	    "epilogue\r\n";
	struct parsed p = parse(m);
	const struct mime_part *root = mime_part_get(p.msg, 0);
	const struct mime_part *a = mime_part_get(p.msg, 1);
	const struct mime_part *b = mime_part_get(p.msg, 2);

	TEST_EQ_INT(mime_part_count(p.msg), 3);
	TEST_ASSERT(root->is_multipart);
	TEST_EQ_STR(root->subtype, "mixed");
	TEST_EQ_INT(root->first_child, 1);
	TEST_EQ_INT(a->next_sibling, 2);
	TEST_EQ_INT(b->next_sibling, MIME_NONE);
	TEST_EQ_INT(a->parent, 0);
	TEST_EQ_INT(a->depth, 1);
	/* the CRLF before a delimiter belongs to the delimiter */
	TEST_EQ_INT(b->body_end - b->body_off, 5);
	TEST_EQ_INT(a->body_end - a->body_off, 8);
	TEST_EQ_INT(a->body_lines, 1);
	TEST_EQ_INT(root->body_end, sizeof(m) - 1);
	CHECK_STR(section(&p, "1", MIME_SECTION_ALL), "one\r\ntwo");
	CHECK_STR(section(&p, "1", MIME_SECTION_MIME),
	    "Content-Type: text/plain\r\n\r\n");
	CHECK_STR(section(&p, "2", MIME_SECTION_MIME), "\r\n");
	CHECK_STR(section(&p, "3", MIME_SECTION_ALL), "(none)");
	CHECK_STR(bodystructure(&p, 0, false), "((\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1)(\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) "
	    "\"mixed\")");
	parsed_free(&p);
}

static void
test_boundary_matching(void)
{
	/* the inner boundary is a prefix of the outer one: the longest
	   match wins; a look-alike line is body text */
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=abcdef\r\n\r\n"
	    "--abcdef\r\n"
	    "Content-Type: multipart/alternative; boundary=abc\r\n\r\n"
	    "--abc\r\n\r\ninner one\r\n"
	    "--abcX is text? no: a prefix match is a delimiter\r\n\r\nx\r\n"
	    "--abcdef\r\n\r\nouter two\r\n"
	    "--abcdef--\r\n";
	struct parsed p = parse(m);

	/* 0 mixed, 1 alternative, 2 "inner one", 3 the --abcX part,
	   4 "outer two": the outer delimiter closed the inner multipart */
	TEST_EQ_INT(mime_part_count(p.msg), 5);
	CHECK_STR(section(&p, "1.1", MIME_SECTION_ALL), "inner one");
	CHECK_STR(section(&p, "1.2", MIME_SECTION_ALL), "x");
	CHECK_STR(section(&p, "2", MIME_SECTION_ALL), "outer two");
	TEST_EQ_INT(mime_part_get(p.msg, 4)->parent, 0);
	parsed_free(&p);
}

static void
test_bare_lf_and_no_final_newline(void)
{
	struct parsed p = parse("Content-Type: multipart/mixed; boundary=x\n"
	    "\n--x\nContent-Type: text/plain\n\nbody\n--x--");
	const struct mime_part *leaf = mime_part_get(p.msg, 1);

	TEST_EQ_INT(mime_part_count(p.msg), 2);
	TEST_EQ_INT(leaf->body_end - leaf->body_off, 4);
	CHECK_STR(section(&p, "1", MIME_SECTION_ALL), "body");
	parsed_free(&p);

	/* bare CR is not a line end */
	p = parse("Subject: a\rb\r\n\r\nx");
	TEST_EQ_INT(mime_part_get(p.msg, 0)->body_off, 16);
	parsed_free(&p);
}

static void
test_header_only_and_empty(void)
{
	struct parsed p = parse("");

	TEST_EQ_INT(mime_part_count(p.msg), 1);
	TEST_EQ_INT(mime_part_get(p.msg, 0)->body_off, 0);
	CHECK_STR(envelope(&p, 0),
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	parsed_free(&p);

	p = parse("Subject: no body, no newline");
	TEST_EQ_INT(mime_part_get(p.msg, 0)->body_off, 28);
	CHECK_STR(section(&p, "", MIME_SECTION_TEXT), "");
	parsed_free(&p);
}

static void
test_message_rfc822(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\n"
	    "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\nFrom: x@y.example\r\n\r\ninner body\r\n"
	    "--b--\r\n";
	struct parsed p = parse(m);
	const struct mime_part *r = mime_part_get(p.msg, 1);
	const struct mime_part *c = mime_part_get(p.msg, 2);

	TEST_EQ_INT(mime_part_count(p.msg), 3);
	TEST_ASSERT(r->is_message);
	TEST_EQ_INT(r->first_child, 2);
	TEST_EQ_INT(c->header_off, r->body_off);
	TEST_EQ_INT(c->body_end, r->body_end);
	TEST_EQ_INT(r->body_lines, 3);
	CHECK_STR(section(&p, "1.1", MIME_SECTION_ALL), "inner body");
	CHECK_STR(section(&p, "1", MIME_SECTION_TEXT), "inner body");
	CHECK_STR(section(&p, "1", MIME_SECTION_HEADER),
	    "Subject: inner\r\nFrom: x@y.example\r\n\r\n");
	CHECK_STR(section(&p, "1.1", MIME_SECTION_MIME),
	    "Subject: inner\r\nFrom: x@y.example\r\n\r\n");
	CHECK_STR(section(&p, "1.2", MIME_SECTION_ALL), "(none)");
	CHECK_STR(bodystructure(&p, 1, false),
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 47 (NIL \"inner\" "
	    "((NIL NIL \"x\" \"y.example\")) ((NIL NIL \"x\" \"y.example\")) "
	    "((NIL NIL \"x\" \"y.example\")) NIL NIL NIL NIL NIL) (\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 3)");
	parsed_free(&p);

	/* (fuzz) an encapsulated header whose empty line meets the
	   delimiter: the line break goes to the message/rfc822 part,
	   which ends at the delimiter, line count included */
	p = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: x\r\n\r\n--b--\r\n");
	r = mime_part_get(p.msg, 1);
	c = mime_part_get(p.msg, 2);
	TEST_EQ_INT(r->body_end - r->body_off, 14);
	TEST_EQ_INT(r->body_lines, 2);
	TEST_EQ_INT(c->body_off - c->header_off, 12);
	TEST_EQ_INT(c->body_end, c->body_off);
	CHECK_STR(section(&p, "1", MIME_SECTION_HEADER), "Subject: x\r\n");
	parsed_free(&p);
}

/* RFC 9051 §7.5.2: message/global has the fields of message/rfc822
   (Dovecot 2.3 makes it a leaf; see the corpus test's deviations). */
static void
test_message_global(void)
{
	struct parsed p = parse("Content-Type: message/global\r\n\r\n"
	    "Subject: =?utf-8?q?x?=\r\n\r\nbody\r\n");

	TEST_EQ_INT(mime_part_count(p.msg), 2);
	TEST_ASSERT(mime_part_get(p.msg, 0)->is_message);
	CHECK_STR(bodystructure(&p, 0, false),
	    "(\"message\" \"global\" NIL NIL NIL \"7bit\" 32 (NIL "
	    "\"=?utf-8?q?x?=\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1) 3)");
	parsed_free(&p);
}

static void
test_digest_default(void)
{
	struct parsed p = parse("Content-Type: multipart/digest; boundary=d"
	    "\r\n\r\n--d\r\n\r\nSubject: s\r\n\r\nb\r\n--d--\r\n");

	TEST_EQ_INT(mime_part_count(p.msg), 3);
	TEST_ASSERT(mime_part_get(p.msg, 1)->is_message);
	TEST_EQ_STR(mime_part_get(p.msg, 1)->type, "message");
	parsed_free(&p);
}

static void
test_multipart_without_parts(void)
{
	struct parsed p = parse("Content-Type: multipart/mixed\r\n\r\nx\r\n");

	TEST_ASSERT(mime_part_get(p.msg, 0)->is_multipart);
	TEST_EQ_INT(mime_part_count(p.msg), 1);
	/* IMAP needs one body part: an empty text/plain stands in */
	CHECK_STR(bodystructure(&p, 0, true), "((\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
	    " \"mixed\" NIL NIL NIL NIL)");
	CHECK_STR(section(&p, "1", MIME_SECTION_ALL), "(none)");
	parsed_free(&p);
}

/* Nesting far past the limit must neither recurse nor run out of stack,
   and must leave the rest as one leaf. */
static void
test_depth_limit(void)
{
	struct buf m;
	struct parsed p;
	const unsigned levels = 5000;
	char *bs;

	buf_init(&m, 0);
	for (unsigned i = 0; i < levels; i++)
		(void)buf_printf(&m, "Content-Type: multipart/mixed; "
		    "boundary=b%u.\r\n\r\n--b%u.\r\n", i, i);
	(void)buf_append_str(&m, "\r\nleaf\r\n");
	p = parse_limits(m.data, m.len, NULL);
	/* parts at depth 0..99; the one at 99 cannot nest further */
	TEST_EQ_INT(mime_part_count(p.msg), 100);
	TEST_ASSERT(!mime_part_get(p.msg, 99)->is_multipart);
	TEST_EQ_STR(mime_part_get(p.msg, 99)->type, "application");
	bs = bodystructure(&p, 0, true);
	TEST_ASSERT(strstr(bs, "\"application\" \"octet-stream\" "
	    "(\"boundary\" \"b99.\")") != NULL);
	free(bs);
	parsed_free(&p);

	/* no limit at all: still iterative */
	struct mime_limits big = { 1000000, 1000000 };

	p = parse_limits(m.data, m.len, &big);
	TEST_EQ_INT(mime_part_count(p.msg), levels + 1);
	bs = bodystructure(&p, 0, false);
	TEST_ASSERT(strlen(bs) > levels * 10);
	free(bs);
	parsed_free(&p);
	buf_clear(&m);
}

static void
test_parts_limit(void)
{
	struct mime_limits lim = { 100, 5 };
	struct buf m;
	struct parsed p;

	buf_init(&m, 0);
	(void)buf_append_str(&m, "Content-Type: multipart/mixed; "
	    "boundary=p\r\n\r\n");
	for (int i = 0; i < 10; i++)
		(void)buf_printf(&m, "--p\r\n\r\npart %d\r\n", i);
	(void)buf_append_str(&m, "--p--\r\n");
	p = parse_limits(m.data, m.len, &lim);
	TEST_EQ_INT(mime_part_count(p.msg), 5);
	/* no delimiter is seen any more: the rest is the last part's */
	CHECK_STR(section(&p, "4", MIME_SECTION_ALL),
	    "part 3\r\n--p\r\n\r\npart 4\r\n--p\r\n\r\npart 5\r\n--p\r\n\r\n"
	    "part 6\r\n--p\r\n\r\npart 7\r\n--p\r\n\r\npart 8\r\n--p\r\n\r\n"
	    "part 9\r\n--p--\r\n");
	parsed_free(&p);
	buf_clear(&m);
}

/* (fuzz) a delimiter cuts a message/rfc822 header short, and its child
   is the last part the limit allows: the delimiter is text for the child
   and the tree stays consistent. */
static void
test_parts_limit_after_cut(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n"
	    "--b\r\nSubject: x\r\n\r\nbody\r\n--b--\r\n";
	struct mime_limits lim = { 100, 3 };
	struct parsed p = parse_limits(m, sizeof(m) - 1, &lim);
	const struct mime_part *r, *c;
	struct buf out;

	TEST_EQ_INT(mime_part_count(p.msg), 3);
	r = mime_part_get(p.msg, 1);
	c = mime_part_get(p.msg, 2);
	TEST_EQ_INT(mime_part_get(p.msg, 0)->body_end, sizeof(m) - 1);
	TEST_EQ_INT(r->body_end, sizeof(m) - 1);
	TEST_ASSERT(c->header_off > r->body_off);
	TEST_ASSERT(strncmp(p.data + c->header_off, "--b\r\n", 5) == 0);
	buf_init(&out, 0);
	TEST_EQ_INT(mime_header_get(p.msg, 2, "subject", 0, &out), 0);
	TEST_EQ_STR(out.data, "x");
	buf_clear(&out);
	CHECK_STR(section(&p, "1.1", MIME_SECTION_ALL), "body\r\n--b--\r\n");
	parsed_free(&p);
}

static void
test_rfc2231_boundary(void)
{
	struct parsed p = parse("Content-Type: multipart/mixed;\r\n"
	    " boundary*1=\"def\"; boundary*0=\"abc\"\r\n\r\n"
	    "--abcdef\r\n\r\nx\r\n--abcdef--\r\n");
	char *bs;

	TEST_EQ_INT(mime_part_count(p.msg), 2);
	bs = bodystructure(&p, 0, true);
	TEST_ASSERT(strstr(bs, "(\"boundary\" \"abcdef\")") != NULL);
	free(bs);
	parsed_free(&p);

	p = parse("Content-Type: text/plain; title*=us-ascii'en'a%20b;\r\n"
	    " name*0*=utf-8''x; name*1=\"%y\"; gap*0=a; gap*2=c\r\n\r\n");
	bs = bodystructure(&p, 0, false);
	/* joined pieces come after the plain parameters, sorted by name */
	CHECK_STR(bs, "(\"text\" \"plain\" (\"gap*0\" \"a\" \"gap*2\" \"c\" "
	    "\"name*\" \"utf-8''x%25y\" \"title*\" \"us-ascii'en'a%20b\" "
	    "\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
	parsed_free(&p);
}

static void
test_content_type_oddities(void)
{
	static const struct {
		const char *ctype, *want;
	} cases[] = {
		{ "text/", "\"\" \"\" NIL" },
		{ "/plain", "\"\" \"\" NIL" },
		{ "text", "\"text\" \"\" (\"charset\" \"us-ascii\")" },
		{ "text/plain charset=x", "\"\" \"\" NIL" },
		{ "TEXT/HTML; CHARSET=X",
		    "\"TEXT\" \"HTML\" (\"CHARSET\" \"X\")" },
		{ "image/png; name=\"a\\\"b\"", "\"image\" \"png\" (\"name\" "
		    "\"a\\\"b\")" },
		{ "text/plain; a=\"x\r\n y\"", "\"text\" \"plain\" "
		    "(\"a\" \"x y\" \"charset\" \"us-ascii\")" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = xasprintf("MIME-Version: 1.0\r\nContent-Type: %s\r\n"
		    "\r\n", cases[i].ctype);
		char *want = xasprintf("(%s NIL NIL \"7bit\" 0%s)",
		    cases[i].want, strncasecmp(cases[i].want, "\"text\"", 6)
		    == 0 ? " 0" : "");
		struct parsed p = parse(m);

		CHECK_STR(bodystructure(&p, 0, false), want);
		free(want);
		free(m);
		parsed_free(&p);
	}
}

/* --- ENVELOPE ------------------------------------------------------------- */

static void
test_envelope_addresses(void)
{
	static const struct {
		const char *from, *want;
	} cases[] = {
		{ "a@b.example", "((NIL NIL \"a\" \"b.example\"))" },
		{ "\"Doe, J.\" <j@x.example>",
		    "((\"Doe, J.\" NIL \"j\" \"x.example\"))" },
		{ "j@x.example (John Doe)",
		    "((\"John Doe\" NIL \"j\" \"x.example\"))" },
		{ "<@r1.example,@r2.example:j@x.example>",
		    "((NIL \"@r1.example,@r2.example\" \"j\" \"x.example\"))" },
		{ "undisclosed-recipients:;",
		    "((NIL NIL \"undisclosed-recipients\" NIL)"
		    "(NIL NIL NIL NIL))" },
		{ "team: a@b.example, c@d.example;",
		    "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b.example\")"
		    "(NIL NIL \"c\" \"d.example\")(NIL NIL NIL NIL))" },
		{ "nodomain", "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\"))" },
		{ "Some Name", "((\"Some Name\" NIL \"MISSING_MAILBOX\" "
		    "\"MISSING_DOMAIN\"))" },
		{ "<broken", "((NIL NIL \"broken\" \"SYNTAX_ERROR\"))" },
		{ "\"q\\\"uote\" <a@b>", "(({6}\r\nq\"uote NIL \"a\" \"b\"))" },
		{ "\"caf\xc3\xa9\" <a@b>",
		    "(({5}\r\ncaf\xc3\xa9 NIL \"a\" \"b\"))" },
		{ "a@b, , c@d", "((NIL NIL \"a\" \"b\")"
		    "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
		    "(NIL NIL \"c\" \"d\"))" },
		{ "", "NIL" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = xasprintf("From: %s\r\n\r\n", cases[i].from);
		char *want = xasprintf("(NIL NIL %s %s %s NIL NIL NIL NIL NIL)",
		    cases[i].want, cases[i].want, cases[i].want);
		struct parsed p = parse(m);

		CHECK_STR(envelope(&p, 0), want);
		free(want);
		free(m);
		parsed_free(&p);
	}
}

static void
test_envelope_fields(void)
{
	struct parsed p = parse(
	    "Date: first\r\nDate: Tue, 05 Mar 2024\r\n 10:15:00 +0100\r\n"
	    "Subject:   two  spaces\tand tab \r\n"
	    "From: a@b.example\r\nFrom: c@d.example\r\n"
	    "Sender: s@e.example\r\n"
	    "To: t@f.example\r\nCc:\r\nBcc: b@g.example\r\n"
	    "In-Reply-To: <x@y> (comment)\r\n"
	    "Message-ID: <id\"with\\quote@z>\r\n\r\n");

	/* the last Date wins, unfolded; the subject is cleaned for humans
	   and sent as a literal since it changed; From lists merge; the
	   empty Cc is NIL and Reply-To defaults to From */
	CHECK_STR(envelope(&p, 0),
	    "(\"Tue, 05 Mar 2024 10:15:00 +0100\" {18}\r\n"
	    "two spaces and tab "
	    "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\")) "
	    "((NIL NIL \"s\" \"e.example\")) "
	    "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\")) "
	    "((NIL NIL \"t\" \"f.example\")) NIL "
	    "((NIL NIL \"b\" \"g.example\")) \"<x@y> (comment)\" "
	    "\"<id\\\"with\\\\quote@z>\")");
	parsed_free(&p);

	/* a NUL in a header value: U+FFFD, and a literal for the 8 bits */
	p = parse_limits("Subject: a\0b\r\n\r\n", 16, NULL);
	CHECK_STR(envelope(&p, 0), "(NIL {5}\r\na\xef\xbf\xbd" "b NIL NIL NIL "
	    "NIL NIL NIL NIL NIL)");
	parsed_free(&p);
}

/* --- sections ------------------------------------------------------------- */

/* RFC 3501 §6.4.5's example message, shortened. */
static void
test_section_numbers(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	    "--o\r\n\r\npart1\r\n"
	    "--o\r\nContent-Type: application/octet-stream\r\n\r\npart2\r\n"
	    "--o\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: 3\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n"
	    "--i\r\n\r\npart3.1\r\n--i\r\nContent-Type: text/html\r\n\r\n"
	    "part3.2\r\n--i--\r\n"
	    "--o\r\nContent-Type: image/gif\r\n\r\npart4\r\n"
	    "--o--\r\n";
	struct parsed p = parse(m);
	uint32_t index;

	CHECK_STR(section(&p, "1", MIME_SECTION_ALL), "part1");
	CHECK_STR(section(&p, "2", MIME_SECTION_ALL), "part2");
	CHECK_STR(section(&p, "3.1", MIME_SECTION_ALL), "part3.1");
	CHECK_STR(section(&p, "3.2", MIME_SECTION_ALL), "part3.2");
	CHECK_STR(section(&p, "3.2", MIME_SECTION_MIME),
	    "Content-Type: text/html\r\n\r\n");
	CHECK_STR(section(&p, "3", MIME_SECTION_HEADER),
	    "Subject: 3\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n");
	CHECK_STR(section(&p, "4", MIME_SECTION_ALL), "part4");
	CHECK_STR(section(&p, "4", MIME_SECTION_HEADER), "(none)");
	CHECK_STR(section(&p, "5", MIME_SECTION_ALL), "(none)");
	CHECK_STR(section(&p, "3.3", MIME_SECTION_ALL), "(none)");
	CHECK_STR(section(&p, "", MIME_SECTION_MIME), "(none)");
	TEST_EQ_INT(mime_section_part(p.msg, "3", &index), 0);
	TEST_ASSERT(mime_part_get(p.msg, index)->is_message);
	TEST_EQ_INT(mime_section_part(p.msg, "0", &index), -1);
	TEST_EQ_INT(mime_section_part(p.msg, "1.", &index), -1);
	TEST_EQ_INT(mime_section_part(p.msg, "01", &index), -1);
	TEST_EQ_INT(mime_section_part(p.msg, "1..1", &index), -1);
	TEST_EQ_INT(mime_section_part(p.msg, "x", &index), -1);
	TEST_EQ_INT(mime_section_part(p.msg, "99999999999999", &index), -1);
	parsed_free(&p);

	/* a single-part message: part 1 is its body */
	p = parse("Subject: s\r\n\r\nbody");
	CHECK_STR(section(&p, "1", MIME_SECTION_ALL), "body");
	CHECK_STR(section(&p, "1", MIME_SECTION_MIME), "Subject: s\r\n\r\n");
	CHECK_STR(section(&p, "", MIME_SECTION_ALL), "Subject: s\r\n\r\nbody");
	CHECK_STR(section(&p, "2", MIME_SECTION_ALL), "(none)");
	CHECK_STR(section(&p, "1.1", MIME_SECTION_ALL), "(none)");
	parsed_free(&p);
}

/* --- header fields -------------------------------------------------------- */

static void
test_header_fields(void)
{
	static const char m[] = "Subject: one\r\n  folded\r\nX-A: 1\r\n"
	    "x-a:2\r\nNoColon line\r\nX-Long-Name   : v\r\n\r\nbody";
	static const char *const names[] = { "x-a", "SUBJECT" };
	struct parsed p = parse(m);
	struct buf out;
	size_t off, len;
	const struct mime_part *root = mime_part_get(p.msg, 0);

	buf_init(&out, 0);
	TEST_EQ_INT(mime_header_get(p.msg, 0, "subject", 0, &out), 0);
	TEST_EQ_STR(out.data, "one  folded");
	buf_reset(&out);
	TEST_EQ_INT(mime_header_get(p.msg, 0, "X-A", 1, &out), 0);
	TEST_EQ_STR(out.data, "2");
	TEST_EQ_INT(mime_header_get(p.msg, 0, "X-A", 2, &out), -1);
	buf_reset(&out);
	TEST_EQ_INT(mime_header_get(p.msg, 0, "x-long-name", 0, &out), 0);
	TEST_EQ_STR(out.data, "v");
	TEST_EQ_INT(mime_header_find(p.msg, 0, "subject", 0, &off, &len), 0);
	TEST_EQ_INT(off, 0);
	TEST_EQ_INT(len, 24);
	TEST_EQ_INT(mime_header_find(p.msg, 0, "nope", 0, &off, &len), -1);

	buf_reset(&out);
	TEST_EQ_INT(mime_header_filter(p.data, root->body_off, names, 2, false,
	    &out), 0);
	TEST_EQ_STR(out.data, "Subject: one\r\n  folded\r\nX-A: 1\r\nx-a:2\r\n"
	    "\r\n");
	buf_reset(&out);
	TEST_EQ_INT(mime_header_filter(p.data, root->body_off, names, 2, true,
	    &out), 0);
	TEST_EQ_STR(out.data, "NoColon line\r\nX-Long-Name   : v\r\n\r\n");
	buf_reset(&out);
	/* a header cut short still ends in a line break */
	TEST_EQ_INT(mime_header_filter("A: 1\r\nB: 2", 10, names, 0, true,
	    &out), 0);
	TEST_EQ_STR(out.data, "A: 1\r\nB: 2\r\n\r\n");
	out.max = 3;
	TEST_EQ_INT(mime_header_filter(p.data, root->body_off, names, 2, true,
	    &out), -1);
	buf_clear(&out);
	parsed_free(&p);
}

/* --- BINARY --------------------------------------------------------------- */

static int
decode(const char *cte, const char *body, struct buf *out)
{
	char *m = xasprintf("Content-Transfer-Encoding: %s\r\n\r\n%s", cte,
	    body);
	struct parsed p = parse(m);
	int ret;

	buf_reset(out);
	ret = mime_part_decode(p.msg, 0, out);
	(void)buf_append(out, "", 0);
	free(m);
	parsed_free(&p);
	return ret;
}

static void
test_decode(void)
{
	struct buf out;

	buf_init(&out, 0);
	TEST_EQ_INT(decode("base64", "aGVs\r\nbG8g d29y\tbGQ=\r\n", &out), 0);
	TEST_EQ_STR(out.data, "hello world");
	TEST_EQ_INT(decode("BASE64 (comment)", "YQ==", &out), 0);
	TEST_EQ_STR(out.data, "a");
	TEST_EQ_INT(decode("base64", "Y Q = =\r\n", &out), 0);
	TEST_EQ_STR(out.data, "a");
	TEST_EQ_INT(decode("base64", "", &out), 0);
	TEST_EQ_INT(out.len, 0);
	TEST_EQ_INT(decode("base64", "YQ", &out), -2);		/* no padding */
	TEST_EQ_INT(decode("base64", "YWJjZ", &out), -2);	/* cut short */
	TEST_EQ_INT(decode("base64", "YQ==YQ==", &out), -2);
	TEST_EQ_INT(decode("base64", "YW*J", &out), -2);
	TEST_EQ_INT(decode("base64", "Y===", &out), -2);

	TEST_EQ_INT(decode("quoted-printable", "a=3Db=3d \r\nsoft=\r\nbreak"
	    "=  \r\nx\ny  ", &out), 0);
	TEST_EQ_STR(out.data, "a=b=\r\nsoftbreakx\r\ny");
	TEST_EQ_INT(decode("quoted-printable", "end=", &out), -2);
	TEST_EQ_INT(decode("quoted-printable", "bad=XY", &out), -2);
	TEST_EQ_INT(decode("quoted-printable", "cr\ralone", &out), -2);
	TEST_EQ_INT(decode("quoted-printable; x=y", "=41", &out), 0);
	TEST_EQ_STR(out.data, "A");

	TEST_EQ_INT(decode("8bit", "raw\r\n\xff", &out), 0);
	TEST_EQ_STR(out.data, "raw\r\n\xff");
	TEST_EQ_INT(decode("x-uuencode", "begin", &out), -1);
	TEST_EQ_INT(decode("\"base64\"", "YQ==", &out), -1);
	TEST_EQ_INT(decode("base64 binary", "YQ==", &out), -1);

	out.max = 2;
	TEST_EQ_INT(decode("base64", "aGVsbG8=", &out), -3);
	TEST_EQ_INT(decode("quoted-printable", "hello", &out), -3);
	TEST_EQ_INT(decode("7bit", "hello", &out), -3);
	buf_clear(&out);
}

/* --- RFC 2047 ------------------------------------------------------------- */

static void
check_decode(const char *in, const char *want, int line)
{
	struct buf out;

	buf_init(&out, 0);
	if (mime_header_decode(in, strlen(in), &out) != 0)
		test_fail(__FILE__, line, "decoding \"%s\" failed", in);
	(void)buf_append(&out, "", 0);
	check_str(buf_steal(&out), want, line);
}
#define CHECK_DECODE(in, want) check_decode((in), (want), __LINE__)

static void
test_header_decode(void)
{
	CHECK_DECODE("plain text", "plain text");
	CHECK_DECODE("=?utf-8?q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait");
	CHECK_DECODE("=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9");
	CHECK_DECODE("=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9");
	/* adjacent words join; the whitespace between them goes */
	CHECK_DECODE("=?utf-8?q?a?= \r\n =?utf-8?q?b?=", "ab");
	CHECK_DECODE("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b");
	/* a character split across two words */
	CHECK_DECODE("=?utf-8?b?w6==?= =?utf-8?b?qQ==?=", "\xc3\xa9");
	CHECK_DECODE("=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9");
	CHECK_DECODE("=?koi8-r?b?8NLJ18XU?=",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	CHECK_DECODE("=?iso-2022-jp?b?GyRCJEgbKEI=?=", "\xe3\x81\xa8");
	CHECK_DECODE("=?utf-8*en?q?x?=", "x");
	/* unknown charset: readable bytes kept */
	CHECK_DECODE("=?x-unknown?q?abc?=", "abc");
	/* invalid UTF-8, raw or decoded: U+FFFD */
	CHECK_DECODE("a\xff" "b", "a\xef\xbf\xbd" "b");
	CHECK_DECODE("=?utf-8?q?=FF?=", "\xef\xbf\xbd");
	CHECK_DECODE("=?us-ascii?q?a=00b?=", "a\xef\xbf\xbd" "b");
	CHECK_DECODE("=?iso-8859-8?q?=E0?=x", "\xd7\x90x");
	/* malformed words are text */
	CHECK_DECODE("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	CHECK_DECODE("=?utf-8?q?no end", "=?utf-8?q?no end");
	CHECK_DECODE("=??q?a?=", "=??q?a?=");
	CHECK_DECODE("=?utf-8?q?sp ace?=", "=?utf-8?q?sp ace?=");
	CHECK_DECODE("=?utf-8?q?bad=ZZ?=", "bad=ZZ");
	CHECK_DECODE("=?", "=?");
	/* (fuzz) a charset name longer than any real one is no word */
	CHECK_DECODE("=?abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcde?q?x?=", "=?abcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcdefghijabcdefghijabcde?q?x?=");
	CHECK_DECODE("=?abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcd?q?x?=", "x");

	struct buf out;

	buf_init(&out, 4);
	TEST_EQ_INT(mime_header_decode("=?utf-8?q?toolong?=", 19, &out), -1);
	buf_clear(&out);

	/* words that never end are not rescanned from every "=" */
	struct buf big;

	buf_init(&big, 0);
	for (int i = 0; i < 40000; i++)
		(void)buf_append_str(&big, "=?a?q?x");
	buf_init(&out, 0);
	TEST_EQ_INT(mime_header_decode(big.data, big.len, &out), 0);
	TEST_EQ_INT(out.len, big.len);
	buf_clear(&out);
	buf_clear(&big);
}

/* --- IMAP quoting --------------------------------------------------------- */

static void
test_quoting(void)
{
	struct parsed p = parse("Content-Type: text/plain; a=\"1\\\\2\\\\3\";"
	    " b=\"\\\"\\\"\\\"\\\"\\\"\"; c=\"\xc3\xa9\"\r\n"
	    "Content-Description: two\r\n lines\r\n\r\n");

	/* four escapes stay quoted, the fifth makes a literal; 8 bits too;
	   a folded description loses its line break */
	CHECK_STR(bodystructure(&p, 0, false), "(\"text\" \"plain\" (\"a\" "
	    "\"1\\\\2\\\\3\" \"b\" {5}\r\n\"\"\"\"\" \"c\" {2}\r\n\xc3\xa9 "
	    "\"charset\" \"us-ascii\") NIL \"two lines\" \"7bit\" 0 0)");
	parsed_free(&p);
}

static void
test_output_limit(void)
{
	struct parsed p = parse("From: a@b.example\r\nContent-Type: "
	    "multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\ny\r\n--x--\r\n");
	struct buf out;

	buf_init(&out, 10);
	TEST_EQ_INT(mime_bodystructure(p.msg, 0, true, &out), -1);
	buf_reset(&out);
	TEST_EQ_INT(mime_envelope(p.msg, 0, &out), -1);
	buf_clear(&out);
	parsed_free(&p);
}

/* mime_part_is_encoded and mime_part_charset read each part's own
   fields; RFC 2231 continuations join. */
static void
test_part_info(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n"
	    "\r\n"
	    "--b\r\n"
	    "Content-Type: text/plain; charset*0=iso-8859; charset*1=-1\r\n"
	    "Content-Transfer-Encoding: Quoted-Printable\r\n"
	    "\r\n"
	    "caf=E9\r\n"
	    "--b\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "x\r\n"
	    "--b--\r\n";
	struct mime_message *msg = mime_parse(m, sizeof(m) - 1, NULL);
	struct buf cs;

	buf_init(&cs, 0);
	TEST_ASSERT(mime_message_data(msg) == m);
	TEST_ASSERT(!mime_part_is_encoded(msg, 0));
	TEST_ASSERT(mime_part_is_encoded(msg, 1));
	TEST_ASSERT(!mime_part_is_encoded(msg, 2));
	TEST_EQ_INT(mime_part_charset(msg, 1, &cs), 0);
	TEST_ASSERT(cs.len == 10 && memcmp(cs.data, "iso-8859-1", 10) == 0);
	buf_reset(&cs);
	TEST_EQ_INT(mime_part_charset(msg, 2, &cs), -1);
	TEST_EQ_INT(mime_part_charset(msg, 0, &cs), -1);
	TEST_EQ_INT((int)cs.len, 0);
	buf_clear(&cs);
	mime_message_free(&msg);
}

int
main(void)
{
	TEST_RUN(test_plain_message);
	TEST_RUN(test_multipart_offsets);
	TEST_RUN(test_boundary_matching);
	TEST_RUN(test_bare_lf_and_no_final_newline);
	TEST_RUN(test_header_only_and_empty);
	TEST_RUN(test_message_rfc822);
	TEST_RUN(test_message_global);
	TEST_RUN(test_digest_default);
	TEST_RUN(test_multipart_without_parts);
	TEST_RUN(test_depth_limit);
	TEST_RUN(test_parts_limit);
	TEST_RUN(test_parts_limit_after_cut);
	TEST_RUN(test_rfc2231_boundary);
	TEST_RUN(test_content_type_oddities);
	TEST_RUN(test_envelope_addresses);
	TEST_RUN(test_envelope_fields);
	TEST_RUN(test_section_numbers);
	TEST_RUN(test_header_fields);
	TEST_RUN(test_decode);
	TEST_RUN(test_header_decode);
	TEST_RUN(test_quoting);
	TEST_RUN(test_output_limit);
	TEST_RUN(test_part_info);
	return test_done();
}
