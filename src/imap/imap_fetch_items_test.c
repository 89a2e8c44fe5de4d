/* imap_fetch_items_test.c — unit tests for FETCH arguments: macros, every
   attribute, sections with parts, HEADER.FIELDS lists (atoms and quoted),
   partials at and past 2^32, the answer names, \Seen, modifiers, and
   every malformed form refused. Arguments come from the real parser. */
#include "imap/imap_fetch_items.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imap/imap_testlib.h"
#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Parses "FETCH 1 <args>" and renders the items: names joined by ' ',
   then "|part|kind|fields|partial" for sections, "seen" and modifiers. */
static char *
fetch(const char *args, const char **error_r)
{
	struct buf line, out;
	const struct imap_command *cmd;
	struct imap_parser *p;
	struct imap_fetch_items it;
	char *ret = NULL;

	buf_init(&line, 0);
	buf_init(&out, 0);
	buf_printf(&line, "a FETCH %s\r\n", args);
	p = imap_testlib_parse(line.data, line.len, &cmd);
	*error_r = NULL;
	if (imap_fetch_items_parse(cmd->args + 1, cmd->n_args - 1, &it,
	    error_r) == 0) {
		for (size_t i = 0; i < it.n; i++) {
			const struct imap_fetch_att *a = &it.atts[i];

			buf_printf(&out, "%s%s", i ? " " : "", a->name);
			if (a->type == IMAP_FETCH_BODY_SECTION ||
			    a->type == IMAP_FETCH_BINARY ||
			    a->type == IMAP_FETCH_BINARY_SIZE) {
				buf_printf(&out, "|%s|%d", a->part, (int)a->kind);
				for (size_t j = 0; j < a->n_fields; j++)
					buf_printf(&out, "%s%s", j ? "," : "|",
					    a->fields[j]);
				if (a->partial)
					buf_printf(&out, "|%llu.%llu",
					    (unsigned long long)a->offset,
					    (unsigned long long)a->count);
				if (a->peek)
					buf_append_str(&out, "|peek");
			}
		}
		if (it.sets_seen)
			buf_append_str(&out, " +seen");
		if (it.changedsince_set)
			buf_printf(&out, " +changedsince=%llu",
			    (unsigned long long)it.changedsince);
		if (it.vanished)
			buf_append_str(&out, " +vanished");
		imap_fetch_items_clear(&it);
		TEST_ASSERT(it.atts == NULL && it.n == 0);
		ret = buf_steal(&out);
	} else {
		TEST_ASSERT(*error_r != NULL);
		TEST_ASSERT(it.atts == NULL && it.n == 0);
	}
	buf_clear(&out);
	buf_clear(&line);
	imap_parser_free(&p);
	return ret;
}

static const struct {
	const char *args;
	const char *want;	/* NULL: refused */
} cases[] = {
	{ "1 FAST", "FLAGS INTERNALDATE RFC822.SIZE" },
	{ "1 all", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
	{ "1 FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY" },
	{ "1 uid", "UID" },
	{ "1 (UID FLAGS ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE "
	    "MODSEQ EMAILID THREADID SAVEDATE)",
	    "UID FLAGS ENVELOPE BODYSTRUCTURE BODY RFC822.SIZE INTERNALDATE "
	    "MODSEQ EMAILID THREADID SAVEDATE" },
	{ "1 RFC822", "RFC822 +seen" },
	{ "1 RFC822.HEADER", "RFC822.HEADER" },
	{ "1 (RFC822.TEXT)", "RFC822.TEXT +seen" },
	{ "1 BODY[]", "BODY[]||0 +seen" },
	{ "1 BODY.PEEK[]", "BODY[]||0|peek" },
	{ "1 body.peek[header]", "BODY[HEADER]||1|peek" },
	{ "1 BODY[TEXT]<0.2048>", "BODY[TEXT]<0>||4|0.2048 +seen" },
	{ "1 BODY[1.2.3]", "BODY[1.2.3]|1.2.3|0 +seen" },
	{ "1 BODY[1.2.MIME]", "BODY[1.2.MIME]|1.2|5 +seen" },
	{ "1 BODY[2.HEADER]", "BODY[2.HEADER]|2|1 +seen" },
	{ "1 BODY[2.text]", "BODY[2.TEXT]|2|4 +seen" },
	{ "1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
	    "Subject Date Message-ID Priority X-Priority References Newsgroups "
	    "In-Reply-To Content-Type Reply-To)])",
	    "UID RFC822.SIZE FLAGS BODY[HEADER.FIELDS (From To Cc Bcc Subject "
	    "Date Message-ID Priority X-Priority References Newsgroups "
	    "In-Reply-To Content-Type Reply-To)]||2|From,To,Cc,Bcc,Subject,"
	    "Date,Message-ID,Priority,X-Priority,References,Newsgroups,"
	    "In-Reply-To,Content-Type,Reply-To|peek" },
	{ "1 BODY.PEEK[header.fields.not (\"X-A\" b)]<5.10>",
	    "BODY[HEADER.FIELDS.NOT (\"X-A\" b)]<5>||3|X-A,b|5.10|peek" },
	{ "1 BODY[1.HEADER.FIELDS (A)]", "BODY[1.HEADER.FIELDS (A)]|1|2|A +seen" },
	{ "1 BODY[]<0.0>", "BODY[]<0>||0|0.0 +seen" },
	{ "1 BODY[]<4294967295.4294967295>",
	    "BODY[]<4294967295>||0|4294967295.4294967295 +seen" },
	{ "1 BINARY[]", "BINARY[]||0 +seen" },
	{ "1 BINARY.PEEK[1.2]<0.100>", "BINARY[1.2]<0>|1.2|0|0.100|peek" },
	{ "1 BINARY.SIZE[3]", "BINARY.SIZE[3]|3|0|peek" },
	{ "1 (FLAGS) (CHANGEDSINCE 12345)", "FLAGS +changedsince=12345" },
	{ "1 FLAGS (CHANGEDSINCE 0 VANISHED)",
	    "FLAGS +changedsince=0 +vanished" },
	{ "1 FLAGS (VANISHED)", "FLAGS +vanished" },
	{ "1 (FLAGS FLAGS)", "FLAGS FLAGS" },
	/* refused */
	{ "1 ()", NULL },
	{ "1 FOO", NULL },
	{ "1 (FLAGS FOO)", NULL },
	{ "1 (FAST)", NULL },			/* macros alone only */
	{ "1 \"FLAGS\"", NULL },
	{ "1 BODY.PEEK", NULL },
	{ "1 BODY[]x", NULL },
	{ "1 BODY[0]", NULL },
	{ "1 BODY[1.0]", NULL },
	{ "1 BODY[1.]", NULL },
	{ "1 BODY[.1]", NULL },
	{ "1 BODY[4294967296]", NULL },
	{ "1 BODY[MIME]", NULL },		/* MIME needs a part */
	{ "1 BODY[HEADERS]", NULL },
	{ "1 BODY[HEADER.FIELDS]", NULL },
	{ "1 BODY[HEADER.FIELDS ()]", NULL },
	{ "1 BODY[HEADER.FIELDS (A:)]", NULL },
	{ "1 BODY[HEADER.FIELDS (\"\")]", NULL },
	{ "1 BODY[HEADER.FIELDS (\"a b\")]", NULL },
	{ "1 BODY[HEADER.FIELDS (A B]", NULL },
	{ "1 BODY[HEADER.FIELDS (A)x]", NULL },
	{ "1 BODY[HEADER.FIELDS  (A)]", NULL },
	{ "1 BODY[TEXT]<0>", NULL },
	{ "1 BODY[TEXT]<0.>", NULL },
	{ "1 BODY[TEXT]<.5>", NULL },
	{ "1 BODY[TEXT]<4294967296.1>", NULL },
	{ "1 BODY[TEXT]<0.4294967296>", NULL },
	{ "1 BODY[TEXT]<0.18446744073709551616>", NULL },
	{ "1 BODY[TEXT]<-1.5>", NULL },
	{ "1 BODY[TEXT]<0.5>x", NULL },
	{ "1 BINARY[TEXT]", NULL },
	{ "1 BINARY[1.MIME]", NULL },
	{ "1 BINARY.SIZE[1]<0.5>", NULL },
	{ "1 BODYX[]", NULL },
	{ "1 FLAGS (CHANGEDSINCE)", NULL },
	{ "1 FLAGS (CHANGEDSINCE -1)", NULL },
	{ "1 FLAGS (CHANGEDSINCE 9223372036854775808)", NULL },
	{ "1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", NULL },
	{ "1 FLAGS (VANISHED VANISHED)", NULL },
	{ "1 FLAGS (FOO)", NULL },
	{ "1 FLAGS ()", NULL },
	{ "1 FLAGS FLAGS", NULL },
	{ "1 FLAGS (VANISHED) x", NULL },
	{ "1", NULL },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < NCASES(cases); i++) {
		const char *error;
		char *got = fetch(cases[i].args, &error);

		if (cases[i].want == NULL ? got != NULL :
		    got == NULL || strcmp(got, cases[i].want) != 0)
			test_fail(__FILE__, __LINE__,
			    "%s: got \"%s\" (%s), want \"%s\"", cases[i].args,
			    got ? got : "(refused)", error ? error : "",
			    cases[i].want ? cases[i].want : "(refused)");
		free(got);
	}
}

/* 100 part levels are fine, 101 are not. */
static void
test_part_levels(void)
{
	struct buf args;
	const char *error;
	char *got;

	buf_init(&args, 0);
	buf_append_str(&args, "1 BODY[1");
	for (int i = 1; i < 100; i++)
		buf_append_str(&args, ".1");
	buf_append_str(&args, "]");
	got = fetch(args.data, &error);
	TEST_ASSERT(got != NULL);
	free(got);
	buf_reset(&args);
	buf_append_str(&args, "1 BODY.PEEK[1");
	for (int i = 1; i < 101; i++)
		buf_append_str(&args, ".1");
	buf_append_str(&args, "]");
	got = fetch(args.data, &error);
	TEST_ASSERT(got == NULL);
	TEST_EQ_STR(error, "Invalid fetch section");
	buf_clear(&args);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_part_levels);
	return test_done();
}
