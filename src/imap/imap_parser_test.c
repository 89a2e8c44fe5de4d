/* imap_parser_test.c — unit tests for the IMAP command parser: a table of
   sessions (valid commands of every token class, every error, hostile
   literals) each rendered as a transcript of the parser's events, and
   the same transcript whether the input arrives whole, one octet at a
   time or in 3-octet pieces; plus the limits (line, size, depth, args),
   huge literal sizes, reset and the memory released between commands. */
#include "imap/imap_parser.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_testlib.h"
#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length: inputs may hold NUL. */
#define S(x) x, sizeof(x) - 1

static const struct imap_parser_limits test_limits = {
	.max_line = 100,
	.max_size = 1000,
	.max_depth = 5,
	.max_args = 50,
};

/* Every string is NUL-terminated past len; lists have no string. */
static void
check_args(const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST) {
			TEST_ASSERT(args[i].str == NULL);
			check_args(args[i].list, args[i].n_list);
		} else {
			TEST_ASSERT(args[i].str != NULL &&
			    args[i].str[args[i].len] == '\0');
		}
	}
}

/* Feeds in[0..len) in pieces of chunk octets (0: all at once), as a
   connection would, and returns the transcript (heap). Literals larger
   than refuse_over are refused. */
static char *
run(const char *in, size_t len, size_t chunk,
    const struct imap_parser_limits *limits, uint64_t refuse_over)
{
	struct imap_parser *p = imap_parser_new(limits);
	struct buf t;
	size_t pos = 0, avail = chunk == 0 || chunk > len ? len : chunk;

	buf_init(&t, 0);
	for (;;) {
		size_t used, before = pos;
		enum imap_parse_result r;

		if (pos == avail) {
			if (avail == len)
				break;
			avail = avail + chunk > len ? len : avail + chunk;
			continue;
		}
		r = imap_parser_feed(p, in + pos, avail - pos, &used);
		TEST_ASSERT(used <= avail - pos);
		pos += used;
		if (t.len > 0 && r != IMAP_PARSE_MORE)
			buf_append_str(&t, " | ");
		switch (r) {
		case IMAP_PARSE_MORE:
			TEST_EQ_INT(pos, avail);
			break;
		case IMAP_PARSE_COMMAND: {
			const struct imap_command *c = imap_parser_command(p);

			buf_printf(&t, "C %s %s", c->tag, c->name);
			if (c->n_args > 0)
				buf_append_str(&t, " ");
			imap_testlib_render(&t, c->args, c->n_args);
			check_args(c->args, c->n_args);
			TEST_ASSERT(c->size <= pos - before + limits->max_size);
			break;
		}
		case IMAP_PARSE_LITERAL: {
			struct imap_parser_literal lit;

			imap_parser_literal(p, &lit);
			buf_printf(&t, "L%llu%s%s:%s:%zu",
			    (unsigned long long)lit.size, lit.sync ? "s" : "n",
			    lit.binary ? "b" : "", lit.name ? lit.name : "-",
			    lit.n_args);
			if (lit.size > refuse_over) {
				imap_parser_literal_refuse(p);
				buf_append_str(&t, " | R");
			} else {
				imap_parser_literal_accept(p);
			}
			break;
		}
		case IMAP_PARSE_ERROR:
			buf_printf(&t, "E %s: %s", imap_parser_error_tag(p),
			    imap_parser_error(p));
			break;
		}
	}
	if (imap_parser_is_skipping(p))
		buf_append_str(&t, " | ~skip");
	imap_parser_free(&p);
	TEST_ASSERT(p == NULL);
	if (t.data == NULL)
		buf_append_str(&t, "");
	return buf_steal(&t);
}

static const struct {
	const char *in;
	size_t len;
	const char *want;
} cases[] = {
	/* every token class */
	{ S("a NOOP\r\n"), "C a NOOP" },
	{ S("a noop\n"), "C a noop" },			/* bare LF, as Dovecot */
	{ S("\r\n\n\r\na NOOP\r\n"), "C a NOOP" },	/* empty lines */
	{ S("a NOOP \r\n"), "C a NOOP" },		/* trailing space */
	{ S("a] NOOP\r\n"), "C a] NOOP" },
	{ S("A001 LOGIN \"us\\\"er\" \"p\\\\w\"\r\n"),
	    "C A001 LOGIN \"us\"er\" \"p\\w\"" },
	{ S("a SELECT NIL\r\n"), "C a SELECT NIL<NIL>" },
	{ S("a SELECT nil\r\n"), "C a SELECT NIL<nil>" },
	{ S("a SELECT \"NIL\" nilx\r\n"), "C a SELECT \"NIL\" nilx" },
	{ S("a SELECT \"caf\xc3\xa9\"\r\n"), "C a SELECT \"caf\xc3\xa9\"" },
	{ S("a X \"\" ()\r\n"), "C a X \"\" ()" },
	{ S("a LIST \"\" *\r\n"), "C a LIST \"\" *" },
	{ S("a LIST \"\" %/foo]\r\n"), "C a LIST \"\" %/foo]" },
	{ S("a UID FETCH 1:*,$,3 (UID)\r\n"), "C a UID FETCH 1:*,$,3 (UID)" },
	{ S("a STORE 1 +FLAGS (\\Seen \\Deleted $Junk \\*)\r\n"),
	    "C a STORE 1 +FLAGS (\\Seen \\Deleted $Junk \\*)" },
	{ S("a X (a (b (c)) ()) d\r\n"), "C a X (a (b (c)) ()) d" },
	{ S("a X ((a)(b))\r\n"), "E a: Missing space between arguments" },
	{ S("a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.1024>)\r\n"),
	    "C a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.1024>)" },
	{ S("a FETCH 1 BODY[HEADER.FIELDS (\"X]\" \"a\\\"b\")]\r\n"),
	    "C a FETCH 1 BODY[HEADER.FIELDS (\"X]\" \"a\\\"b\")]" },
	{ S("a FETCH 1 BODY[1.2[x]]y\r\n"), "C a FETCH 1 BODY[1.2[x]]y" },
	/* fuzz: '{' and ']' inside a quoted name in brackets are text */
	{ S("a FETCH 1 BODY[HEADER.FIELDS (\"a{5+}]\")]\r\n"),
	    "C a FETCH 1 BODY[HEADER.FIELDS (\"a{5+}]\")]" },
	{ S("a FETCH 1 BODY[TEXT\r\nb NOOP\r\n"),
	    "E a: Missing ']' | C b NOOP" },
	{ S("a FETCH 1 BODY[{3}]\r\nb NOOP\r\n"),
	    "E a: Literal inside brackets | C b NOOP" },
	{ S("a FETCH 1 BODY[[[[[[x]]]]]]\r\n"),
	    "E a: Too deeply nested brackets" },
	/* literals */
	{ S("a LOGIN {3}\r\nabc {2+}\r\nxy\r\n"),
	    "L3s:LOGIN:0 | L2n:LOGIN:1 | C a LOGIN {3}abc {2}xy" },
	{ S("a LOGIN {3-}\nabc \"x\"\n"), "L3n:LOGIN:0 | C a LOGIN {3}abc \"x\"" },
	{ S("a APPEND INBOX ~{3}\r\na\0b\r\n"),
	    "L3sb:APPEND:1 | C a APPEND INBOX ~{3}a\\0b" },
	{ S("a APPEND INBOX (\\Seen) \" 1-Feb-1994 21:52:25 -0800\" {0}\r\n\r\n"),
	    "L0s:APPEND:3 | C a APPEND INBOX (\\Seen) "
	    "\" 1-Feb-1994 21:52:25 -0800\" {0}" },
	{ S("a X (a {1}\r\nb c)\r\n"), "L1s:X:1 | C a X (a {1}b c)" },
	{ S("a X ~{2}\r\nab ~foo\r\n"), "L2sb:X:0 | C a X ~{2}ab ~foo" },
	{ S("a X {1}\r\nab\r\nb NOOP\r\n"),
	    "L1s:X:0 | E a: Missing space between arguments | C b NOOP" },
	{ S("a X {007}\r\n1234567\r\n"), "L7s:X:0 | C a X {7}1234567" },
	/* literal errors */
	{ S("a LOGIN {3}x\r\nb NOOP\r\n"),
	    "E a: Literal not at the end of the line | C b NOOP" },
	{ S("a LOGIN {3}\rx\r\nb NOOP\r\n"),
	    "E a: Literal not at the end of the line | C b NOOP" },
	{ S("a X {}\r\nb NOOP\r\n"), "E a: Invalid literal size | C b NOOP" },
	{ S("a X {+}\r\nb NOOP\r\n"), "E a: Invalid literal size | C b NOOP" },
	{ S("a X {1+2}\r\nb NOOP\r\n"), "E a: Invalid literal size | C b NOOP" },
	{ S("a X {-1}\r\nb NOOP\r\n"), "E a: Invalid literal size | C b NOOP" },
	{ S("a LOGIN {3}\r\na\0b c\r\nb NOOP\r\n"),
	    "L3s:LOGIN:0 | E a: NUL in literal | C b NOOP" },
	{ S("a LOGIN {3+}\r\npa\0 junk\r\nb NOOP\r\n"),
	    "L3n:LOGIN:0 | E a: NUL in literal | C b NOOP" },
	/* sizes checked before they are announced, never wrapped */
	{ S("a APPEND INBOX {4294967295}\r\nb NOOP\r\n"),
	    "E a: [TOOBIG] Literal too large | C b NOOP" },
	{ S("a APPEND INBOX {18446744073709551616}\r\nb NOOP\r\n"),
	    "E a: [TOOBIG] Literal too large | C b NOOP" },
	{ S("a APPEND INBOX {1001}\r\nb NOOP\r\n"),
	    "E a: [TOOBIG] Literal too large | C b NOOP" },
	{ S("a APPEND INBOX {20+}\r\nb DELETE INBOX/aaa\r\n\r\nc NOOP\r\n"),
	    "L20n:APPEND:1 | R | C c NOOP" },
	{ S("a APPEND INBOX {99999999999999999999999+}\r\nb NOOP\r\n"),
	    "E a: [TOOBIG] Literal too large | ~skip" },
	/* refused by the session */
	{ S("a APPEND INBOX {11}\r\nb NOOP\r\n"), "L11s:APPEND:1 | R | C b NOOP" },
	{ S("a APPEND INBOX {10+}\r\nc DELETE x\r\nb NOOP\r\n"),
	    "L10n:APPEND:1 | C a APPEND INBOX {10}c DELETE x | C b NOOP" },
	{ S("a APPEND INBOX {11+}\r\nc DELETE xy {3+}\r\nabc\r\nb NOOP\r\n"),
	    "L11n:APPEND:1 | R | C b NOOP" },
	/* errors skip the rest, non-synchronizing literals included */
	{ S("a BAD\x01 {10+}\r\nb DELETE x\r\nc NOOP\r\n"),
	    "E a: Invalid command name | C c NOOP" },
	{ S("a X ( {10+}\r\nb DELETE x\r\nc NOOP\r\n"),
	    "L10n:X:1 | E a: Missing ')' | C c NOOP" },
	{ S("a NOOP{5+}\r\nb X\r\n\r\nc NOOP\r\n"),
	    "E a: Invalid command name | C c NOOP" },
	{ S("+ {5+}\r\nb X\r\n\r\nc NOOP\r\n"), "E *: Invalid tag | C c NOOP" },
	{ S("a X \x01 {0+}\r\n\r\nc NOOP\r\n"),
	    "E a: Invalid characters in atom | C c NOOP" },
	{ S("a X \x01 {3}\r\nc NOOP\r\n"),
	    "E a: Invalid characters in atom | C c NOOP" },
	{ S("a X \x01 {3+} {2+}\r\nxx\r\nc NOOP\r\n"),
	    "E a: Invalid characters in atom | C c NOOP" },
	{ S("a X \x01 {3+}\r\nabc{2+}\r\nxx\r\nc NOOP\r\n"),
	    "E a: Invalid characters in atom | C c NOOP" },
	{ S("a X \x01 ~{3+}\r\n\0\0\0\r\nc NOOP\r\n"),
	    "E a: Invalid characters in atom | C c NOOP" },
	/* an error found only at the line end still skips its literal */
	{ S("a LOGIN \"x{5+}\r\nb X\r\n\r\nc NOOP\r\n"),
	    "E a: Missing '\"' | C c NOOP" },
	{ S("a FETCH 1 BODY[\"{5+}\r\nb X\r\n\r\nc NOOP\r\n"),
	    "E a: Missing '\"' | C c NOOP" },
	{ S("a X (x {5+}\r\nb X\r\n\r\nc NOOP\r\n"),
	    "L5n:X:1 | E a: Missing ')' | C c NOOP" },
	/* tags and names */
	{ S("+ NOOP\r\nb NOOP\r\n"), "E *: Invalid tag | C b NOOP" },
	{ S("* NOOP\r\n"), "E *: Invalid tag" },
	{ S("a* NOOP\r\n"), "E *: Invalid tag" },
	{ S("a{1} NOOP\r\n"), "E *: Invalid tag" },
	{ S("\"a\" NOOP\r\n"), "E *: Invalid tag" },
	{ S(" NOOP\r\n"), "E *: Invalid tag" },
	{ S("a\r\nb NOOP\r\n"), "E a: Missing command name | C b NOOP" },
	{ S("a \r\n"), "E a: Invalid command name" },
	{ S("a  NOOP\r\n"), "E a: Invalid command name" },
	{ S("a \"NOOP\"\r\n"), "E a: Invalid command name" },
	{ S("a {4}\r\nNOOP\r\n"),
	    "E a: Invalid command name | E NOOP: Missing command name" },
	{ S("t\xc3\xa9 NOOP\r\n"), "E *: Invalid tag" },
	/* quoted */
	{ S("a LOGIN \"a\\b\" c\r\nb NOOP\r\n"),
	    "E a: Invalid escape in quoted string | C b NOOP" },
	{ S("a LOGIN \"a\0b\" c\r\nb NOOP\r\n"),
	    "E a: NUL in quoted string | C b NOOP" },
	{ S("a LOGIN \"ab\r\nb NOOP\r\n"), "E a: Missing '\"' | C b NOOP" },
	{ S("a LOGIN \"a\"b\r\n"), "E a: Missing space between arguments" },
	/* atoms */
	{ S("a SELECT caf\xc3\xa9\r\n"), "E a: 8bit data in atom" },
	{ S("a X a\\b\r\n"), "E a: Invalid characters in atom" },
	{ S("a X a\"b\r\n"), "E a: Invalid characters in atom" },
	{ S("a X a{b\r\n"), "E a: Invalid characters in atom" },
	{ S("a X a\x7f\r\n"), "E a: Invalid characters in atom" },
	{ S("a X a\0\r\n"), "E a: Invalid characters in atom" },
	/* lists */
	{ S("a X (a b\r\nb NOOP\r\n"), "E a: Missing ')' | C b NOOP" },
	{ S("a X a)\r\nb NOOP\r\n"), "E a: Unexpected ')' | C b NOOP" },
	{ S("a X ((((a)))))\r\n"), "E a: Unexpected ')'" },
	{ S("a X (((((a)))))\r\n"), "C a X (((((a)))))" },
	{ S("a X ((((((a))))))\r\n"), "E a: Too deeply nested lists" },
	/* line ends */
	{ S("a NOOP\rb NOOP\r\nc NOOP\r\n"), "E a: CR without LF | C c NOOP" },
	{ S("\rb NOOP\r\nc NOOP\r\n"), "E *: CR without LF | C c NOOP" },
	{ S("a NOOP\r\nb"), "C a NOOP" },
};

static void
test_cases(void)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7 };

	for (size_t i = 0; i < NCASES(cases); i++) {
		for (size_t j = 0; j < NCASES(chunks); j++) {
			char *got = run(cases[i].in, cases[i].len, chunks[j],
			    &test_limits, 10);

			if (strcmp(got, cases[i].want) != 0)
				test_fail(__FILE__, __LINE__,
				    "case %zu chunk %zu: got \"%s\", want \"%s\"",
				    i, chunks[j], got, cases[i].want);
			free(got);
		}
	}
}

/* An overlong line is one error, then its end (and any literal it
   announces) is skipped. */
static void
test_line_limit(void)
{
	struct buf in;
	char *got;

	buf_init(&in, 0);
	buf_append_str(&in, "a X ");
	for (int i = 0; i < 30; i++)
		buf_append_str(&in, "xxxxxxxxx ");
	buf_append_str(&in, "{5+}\r\nb X\r\n\r\nc NOOP\r\n");
	got = run(in.data, in.len, 0, &test_limits, 10);
	TEST_EQ_STR(got, "E a: Line too long | C c NOOP");
	free(got);
	got = run(in.data, in.len, 1, &test_limits, 10);
	TEST_EQ_STR(got, "E a: Line too long | C c NOOP");
	free(got);

	/* exactly max_line octets of text is fine; one more is not */
	buf_reset(&in);
	buf_append_str(&in, "a X ");
	while (in.len < 100)
		buf_append_str(&in, "y");
	buf_append_str(&in, "\r\n");
	got = run(in.data, in.len, 1, &test_limits, 10);
	TEST_ASSERT(strncmp(got, "C a X yyy", 9) == 0);
	free(got);
	buf_reset(&in);
	buf_append_str(&in, "a X ");
	while (in.len < 101)
		buf_append_str(&in, "y");
	buf_append_str(&in, "\r\n");
	got = run(in.data, in.len, 1, &test_limits, 10);
	TEST_EQ_STR(got, "E a: Line too long");
	free(got);

	/* each line after a literal has its own max_line */
	buf_reset(&in);
	buf_append_str(&in, "a X ");
	for (int i = 0; i < 9; i++)
		buf_append_str(&in, "aaaaaaaaa {1}\r\nz ");
	buf_append_str(&in, "\r\n");
	got = run(in.data, in.len, 0, &test_limits, 10);
	TEST_ASSERT(strstr(got, "C a X aaaaaaaaa {1}z") != NULL);
	free(got);
	buf_clear(&in);
}

static void
test_size_limit(void)
{
	struct imap_parser_limits l = test_limits;
	struct buf in;
	char *got;

	/* The text of several lines and the literals add up. */
	l.max_size = 60;
	buf_init(&in, 0);
	buf_append_str(&in, "a X {10}\r\n0123456789 {10}\r\n0123456789 "
	    "{10}\r\n0123456789 {5}\r\nb NOOP\r\n");
	got = run(in.data, in.len, 0, &l, 100);
	TEST_EQ_STR(got, "L10s:X:0 | L10s:X:1 | L10s:X:2 | "
	    "E a: [TOOBIG] Literal too large | C b NOOP");
	free(got);
	buf_reset(&in);
	buf_append_str(&in, "a X {40}\r\n");
	for (int i = 0; i < 40; i++)
		buf_append_str(&in, "z");
	buf_append_str(&in, " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nb NOOP\r\n");
	got = run(in.data, in.len, 1, &l, 100);
	TEST_EQ_STR(got, "L40s:X:0 | E a: Command too large | C b NOOP");
	free(got);
	buf_clear(&in);
}

static void
test_arg_limit(void)
{
	struct imap_parser_limits l = test_limits;
	char *got;

	l.max_args = 3;
	got = run(S("a X a b c\r\nb X (a b)\r\nc X (a (b))\r\nd NOOP\r\n"), 0,
	    &l, 10);
	TEST_EQ_STR(got, "C a X a b c | C b X (a b) | "
	    "E c: Too many arguments | C d NOOP");
	free(got);
	got = run(S("a X a b c {1+}\r\nx\r\nd NOOP\r\n"), 1, &l, 10);
	TEST_EQ_STR(got, "E a: Too many arguments | C d NOOP");
	free(got);
	got = run(S("a X a b \"c\" \"d\"\r\nd NOOP\r\n"), 1, &l, 10);
	TEST_EQ_STR(got, "E a: Too many arguments | C d NOOP");
	free(got);
}

/* 10000-deep lists and brackets: refused at max_depth, nothing recursed. */
static void
test_deep(void)
{
	struct imap_parser_limits l = {
		.max_line = 65536, .max_size = 1 << 20, .max_depth = 64,
		.max_args = 100000,
	};
	struct buf in;
	char *got;

	buf_init(&in, 0);
	buf_append_str(&in, "a SEARCH ");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&in, "(");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&in, ")");
	buf_append_str(&in, "\r\nb NOOP\r\n");
	got = run(in.data, in.len, 0, &l, 10);
	TEST_EQ_STR(got, "E a: Too deeply nested lists | C b NOOP");
	free(got);
	buf_reset(&in);
	buf_append_str(&in, "a FETCH 1 BODY");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&in, "[");
	buf_append_str(&in, "\r\nb NOOP\r\n");
	got = run(in.data, in.len, 0, &l, 10);
	TEST_EQ_STR(got, "E a: Too deeply nested brackets | C b NOOP");
	free(got);
	/* 64 deep is allowed */
	buf_reset(&in);
	buf_append_str(&in, "a X ");
	for (int i = 0; i < 64; i++)
		buf_append_str(&in, "(");
	for (int i = 0; i < 64; i++)
		buf_append_str(&in, ")");
	buf_append_str(&in, "\r\n");
	got = run(in.data, in.len, 0, &l, 10);
	TEST_ASSERT(strncmp(got, "C a X ((((", 10) == 0);
	free(got);
	buf_clear(&in);
}

/* Many arguments: the tree is right (each list's block contiguous). */
static void
test_tree(void)
{
	struct imap_parser_limits l = {
		.max_line = 65536, .max_size = 1 << 20, .max_depth = 8,
		.max_args = 100000,
	};
	struct imap_parser *p = imap_parser_new(&l);
	const char *in = "t X a (b c (d) e) (f (g (h i))) () j\r\n";
	const struct imap_command *c;
	size_t used;

	TEST_EQ_INT(imap_parser_feed(p, in, strlen(in), &used),
	    IMAP_PARSE_COMMAND);
	TEST_EQ_INT(used, strlen(in));
	c = imap_parser_command(p);
	TEST_EQ_INT(c->n_args, 5);
	TEST_EQ_INT(c->size, strlen(in));
	TEST_EQ_INT(c->args[1].type, IMAP_ARG_LIST);
	TEST_EQ_INT(c->args[1].n_list, 4);
	TEST_EQ_STR(c->args[1].list[2].list[0].str, "d");
	TEST_EQ_STR(c->args[2].list[1].list[1].list[1].str, "i");
	TEST_EQ_INT(c->args[3].n_list, 0);
	TEST_ASSERT(c->args[3].list == NULL);
	TEST_EQ_STR(c->args[4].str, "j");
	TEST_ASSERT(c->args[4].list == NULL);
	imap_parser_free(&p);
}

/* The parser stops at the end of a command: what follows (AUTHENTICATE
   data, IDLE's DONE) stays with the caller. */
static void
test_stops_after_command(void)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	const char *in = "a IDLE\r\nDONE\r\nb NOOP\r\n";
	size_t used;

	TEST_EQ_INT(imap_parser_feed(p, in, strlen(in), &used),
	    IMAP_PARSE_COMMAND);
	TEST_EQ_INT(used, 8);
	TEST_EQ_STR(imap_parser_command(p)->name, "IDLE");
	in += used + 6;
	TEST_EQ_INT(imap_parser_feed(p, in, strlen(in), &used),
	    IMAP_PARSE_COMMAND);
	TEST_EQ_STR(imap_parser_command(p)->tag, "b");
	imap_parser_free(&p);
	imap_parser_free(&p);	/* accepts NULL */
}

static void
test_reset(void)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	size_t used;

	/* half a command, then STARTTLS's reset: nothing carried over */
	TEST_EQ_INT(imap_parser_feed(p, S("a LOGIN x"), &used),
	    IMAP_PARSE_MORE);
	imap_parser_reset(p);
	TEST_EQ_INT(imap_parser_feed(p, S("b NOOP\r\n"), &used),
	    IMAP_PARSE_COMMAND);
	TEST_EQ_STR(imap_parser_command(p)->tag, "b");
	TEST_EQ_INT(imap_parser_command(p)->n_args, 0);
	/* skipping is forgotten too */
	TEST_EQ_INT(imap_parser_feed(p, S("a X \x01 {100+}\r\n"), &used),
	    IMAP_PARSE_ERROR);
	TEST_EQ_INT(imap_parser_feed(p, S("x {100+}\r\n"), &used),
	    IMAP_PARSE_MORE);
	TEST_ASSERT(imap_parser_is_skipping(p));
	imap_parser_reset(p);
	TEST_ASSERT(!imap_parser_is_skipping(p));
	TEST_EQ_INT(imap_parser_feed(p, S("c NOOP\r\n"), &used),
	    IMAP_PARSE_COMMAND);
	TEST_EQ_STR(imap_parser_command(p)->tag, "c");
	imap_parser_free(&p);
}

/* What is left to skip of a huge non-synchronizing literal. */
static void
test_skip_left(void)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	size_t used;

	TEST_EQ_INT(imap_parser_skip_left(p), 0);
	TEST_EQ_INT(imap_parser_feed(p, S("a X {4294967295+}\r\nabc"), &used),
	    IMAP_PARSE_ERROR);
	TEST_EQ_INT(used, 19);
	TEST_ASSERT(imap_parser_skip_left(p) == 4294967295u);
	TEST_EQ_INT(imap_parser_feed(p, S("abc"), &used), IMAP_PARSE_MORE);
	TEST_ASSERT(imap_parser_skip_left(p) == 4294967292u);
	imap_parser_reset(p);
	TEST_EQ_INT(imap_parser_feed(p, S("a X \x01 {99999999999999999999+}\r\n"),
	    &used), IMAP_PARSE_ERROR);
	TEST_EQ_INT(imap_parser_feed(p, S(" {99999999999999999999+}\r\n"), &used),
	    IMAP_PARSE_MORE);
	TEST_ASSERT(imap_parser_skip_left(p) == UINT64_MAX);
	imap_parser_free(&p);
}

/* A refused literal and accepted ones under wider limits (set_limits). */
static void
test_set_limits(void)
{
	struct imap_parser *p = imap_parser_new(&test_limits);
	struct imap_parser_limits wide = test_limits;
	size_t used;

	TEST_EQ_INT(imap_parser_feed(p, S("a X {2000}\r\n"), &used),
	    IMAP_PARSE_ERROR);
	TEST_EQ_STR(imap_parser_error(p), "[TOOBIG] Literal too large");
	wide.max_size = 5000;
	imap_parser_set_limits(p, &wide);
	TEST_EQ_INT(imap_parser_feed(p, S("a X {2000}\r\n"), &used),
	    IMAP_PARSE_LITERAL);
	imap_parser_literal_refuse(p);
	TEST_EQ_INT(imap_parser_feed(p, S("b NOOP\r\n"), &used),
	    IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_line_limit);
	TEST_RUN(test_size_limit);
	TEST_RUN(test_arg_limit);
	TEST_RUN(test_deep);
	TEST_RUN(test_tree);
	TEST_RUN(test_stops_after_command);
	TEST_RUN(test_reset);
	TEST_RUN(test_set_limits);
	TEST_RUN(test_skip_left);
	return test_done();
}
