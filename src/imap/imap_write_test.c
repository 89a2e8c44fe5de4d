/* imap_write_test.c — unit tests for the response encoders: the
   atom/quoted/literal choice (CR, LF, NUL, 8-bit for rev1 and rev2, the
   1024-octet edge), escapes, flag order, the date-time format with its
   space-padded day, mailbox names both ways (modified UTF-7, UTF-8,
   INBOX in any case, refused names) and full buffers. */
#include "imap/imap_write.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define S(x) x, sizeof(x) - 1

static const struct {
	const char *in;
	size_t len;
	bool utf8;
	const char *string, *astring;
} strings[] = {
	{ S("INBOX"), false, "\"INBOX\"", "INBOX" },
	{ S(""), false, "\"\"", "\"\"" },
	{ S("NIL"), false, "\"NIL\"", "\"NIL\"" },
	{ S("nil"), false, "\"nil\"", "\"nil\"" },
	{ S("a b"), false, "\"a b\"", "\"a b\"" },
	{ S("a]b"), false, "\"a]b\"", "a]b" },
	{ S("a*"), false, "\"a*\"", "\"a*\"" },
	{ S("a%"), false, "\"a%\"", "\"a%\"" },
	{ S("(x)"), false, "\"(x)\"", "\"(x)\"" },
	{ S("{1}"), false, "\"{1}\"", "\"{1}\"" },
	{ S("say \"hi\" \\o/"), false, "\"say \\\"hi\\\" \\\\o/\"",
	    "\"say \\\"hi\\\" \\\\o/\"" },
	{ S("a\tb"), false, "\"a\tb\"", "\"a\tb\"" },
	{ S("a\r\nb"), false, "{4}\r\na\r\nb", "{4}\r\na\r\nb" },
	{ S("a\nb"), true, "{3}\r\na\nb", "{3}\r\na\nb" },
	{ S("a\0b"), true, "{3}\r\na\0b", "{3}\r\na\0b" },
	{ S("caf\xc3\xa9"), false, "{5}\r\ncaf\xc3\xa9", "{5}\r\ncaf\xc3\xa9" },
	{ S("caf\xc3\xa9"), true, "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"" },
	{ S("bad\xc3"), true, "{4}\r\nbad\xc3", "{4}\r\nbad\xc3" },
	{ S("\xff"), true, "{1}\r\n\xff", "{1}\r\n\xff" },
};

static void
test_strings(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < NCASES(strings); i++) {
		size_t wl;

		buf_reset(&b);
		TEST_EQ_INT(imap_write_string(&b, strings[i].in, strings[i].len,
		    strings[i].utf8), 0);
		wl = strlen(strings[i].string);
		if (strings[i].string[0] == '{')	/* may hold NUL */
			wl = b.len;
		TEST_EQ_INT(b.len, wl);
		TEST_ASSERT(memcmp(b.data, strings[i].string, wl) == 0);
		buf_reset(&b);
		TEST_EQ_INT(imap_write_astring(&b, strings[i].in,
		    strings[i].len, strings[i].utf8), 0);
		TEST_ASSERT(memcmp(b.data, strings[i].astring, b.len) == 0);
		if (strings[i].astring[0] != '{')
			TEST_EQ_STR(b.data, strings[i].astring);
	}
	/* the quoted/literal edge at 1024 octets */
	char big[1025];

	memset(big, 'x', sizeof(big));
	buf_reset(&b);
	TEST_EQ_INT(imap_write_string(&b, big, 1024, false), 0);
	TEST_EQ_INT(b.len, 1026);
	TEST_ASSERT(b.data[0] == '"');
	buf_reset(&b);
	TEST_EQ_INT(imap_write_string(&b, big, 1025, false), 0);
	TEST_ASSERT(strncmp(b.data, "{1025}\r\nxxx", 11) == 0);
	buf_reset(&b);
	TEST_EQ_INT(imap_write_nstring(&b, NULL, 0, false), 0);
	TEST_EQ_STR(b.data, "NIL");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_nstring(&b, "NIL", 3, false), 0);
	TEST_EQ_STR(b.data, "\"NIL\"");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_literal(&b, "a\0b", 3, true), 0);
	TEST_EQ_INT(b.len, 9);
	TEST_ASSERT(memcmp(b.data, "~{3}\r\na\0b", 9) == 0);
	buf_clear(&b);

	/* full buffers: -1, nothing half-written */
	buf_init(&b, 6);
	buf_append_str(&b, "* ");
	TEST_EQ_INT(imap_write_string(&b, "abcd", 4, false), -1);
	TEST_EQ_STR(b.data, "* ");
	TEST_EQ_INT(imap_write_string(&b, "a\"", 2, false), -1);
	TEST_EQ_STR(b.data, "* ");
	TEST_EQ_INT(imap_write_literal(&b, "ab", 2, false), -1);
	TEST_EQ_STR(b.data, "* ");
	TEST_EQ_INT(imap_write_flags(&b, IMAP_FLAG_SEEN, "", false), -1);
	TEST_EQ_STR(b.data, "* ");
	TEST_EQ_INT(imap_write_astring(&b, "abcd", 4, false), 0);
	TEST_EQ_STR(b.data, "* abcd");
	buf_clear(&b);
}

static void
test_flags(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_EQ_INT(imap_write_flags(&b, 0, "", false), 0);
	TEST_EQ_STR(b.data, "()");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_flags(&b, 0, NULL, true), 0);
	TEST_EQ_STR(b.data, "(\\Recent)");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_flags(&b, IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED |
	    IMAP_FLAG_FLAGGED | IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT,
	    "$Forwarded Junk", true), 0);
	TEST_EQ_STR(b.data, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft "
	    "$Forwarded Junk \\Recent)");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_flags(&b, IMAP_FLAG_DRAFT | IMAP_FLAG_SEEN,
	    " a  b ", false), 0);
	TEST_EQ_STR(b.data, "(\\Seen \\Draft a b)");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_flags(&b, 0, "$MDNSent", false), 0);
	TEST_EQ_STR(b.data, "($MDNSent)");
	buf_clear(&b);
}

static void
test_date_time(void)
{
	struct buf b;

	setenv("TZ", "PST8PDT", 1);
	tzset();
	buf_init(&b, 0);
	/* RFC 9051's example: 17-Jul-1996 02:44:25 -0700 */
	TEST_EQ_INT(imap_write_date_time(&b, 837596665), 0);
	TEST_EQ_STR(b.data, "\"17-Jul-1996 02:44:25 -0700\"");
	buf_reset(&b);
	TEST_EQ_INT(imap_write_date_time(&b, 760167145), 0);
	TEST_EQ_STR(b.data, "\" 1-Feb-1994 21:32:25 -0800\"");
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	buf_reset(&b);
	TEST_EQ_INT(imap_write_date_time(&b, 0), 0);
	TEST_EQ_STR(b.data, "\" 1-Jan-1970 05:30:00 +0530\"");
	setenv("TZ", "UTC", 1);
	tzset();
	buf_reset(&b);
	TEST_EQ_INT(imap_write_date_time(&b, 1700000000), 0);
	TEST_EQ_STR(b.data, "\"14-Nov-2023 22:13:20 +0000\"");
	buf_clear(&b);
}

static const struct {
	const char *store;
	bool utf8;
	const char *client;
} mailboxes[] = {
	{ "INBOX", false, "INBOX" },
	{ "INBOX/Sub", false, "INBOX/Sub" },
	{ "Sent Items", false, "\"Sent Items\"" },
	{ "Entw\xc3\xbc" "rfe", false, "Entw&APw-rfe" },
	{ "Entw\xc3\xbc" "rfe", true, "\"Entw\xc3\xbc" "rfe\"" },
	{ "R&D", false, "R&-D" },
	{ "R&D", true, "R&D" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97", false,
	    "~peter/mail/&U,BTFw-" },
	{ "NIL", false, "\"NIL\"" },
	{ "a%b", false, "\"a%b\"" },
};

static void
test_mailbox(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < NCASES(mailboxes); i++) {
		buf_reset(&b);
		TEST_EQ_INT(imap_write_mailbox(&b, mailboxes[i].store,
		    mailboxes[i].utf8), 0);
		TEST_EQ_STR(b.data, mailboxes[i].client);
	}
	buf_reset(&b);
	TEST_EQ_INT(imap_write_mailbox(&b, "bad\xc3", false), -1);
	TEST_EQ_INT(b.len, 0);
	buf_clear(&b);
}

static const struct {
	const char *in;
	size_t len;
	bool utf8;
	const char *want;	/* NULL: refused */
} from_client[] = {
	{ S("INBOX"), false, "INBOX" },
	{ S("inbox"), false, "INBOX" },
	{ S("InBoX"), true, "INBOX" },
	{ S("inbox/Foo"), false, "INBOX/Foo" },
	{ S("inbox/inbox"), false, "INBOX/inbox" },
	{ S("inboxes"), false, "inboxes" },
	{ S("Foo/inbox"), false, "Foo/inbox" },
	{ S("Entw&APw-rfe"), false, "Entw\xc3\xbc" "rfe" },
	{ S("Entw&APw-rfe"), true, "Entw&APw-rfe" },	/* taken as is */
	{ S("R&-D"), false, "R&D" },
	{ S("Entw\xc3\xbc" "rfe"), true, "Entw\xc3\xbc" "rfe" },
	{ S(""), false, "" },
	{ S("Entw\xc3\xbc" "rfe"), false, NULL },	/* 8-bit for rev1 */
	{ S("a&Jjo"), false, NULL },			/* unterminated */
	{ S("a&AGE-"), false, NULL },			/* encodes ASCII */
	{ S("a&-&"), false, NULL },
	{ S("bad\xc3"), true, NULL },
	{ S("\xc0\xaf"), true, NULL },			/* overlong '/' */
	{ S("a\0b"), true, NULL },
	{ S("a\0b"), false, NULL },
	{ S("a\rb"), true, NULL },
	{ S("a\nb"), false, NULL },
};

static void
test_mailbox_from_client(void)
{
	for (size_t i = 0; i < NCASES(from_client); i++) {
		const char *error = NULL;
		char *got = imap_write_mailbox_from_client(from_client[i].in,
		    from_client[i].len, from_client[i].utf8, &error);

		TEST_EQ_STR(got, from_client[i].want);
		if (got == NULL)
			TEST_ASSERT(error != NULL);
		free(got);
	}
}

int
main(void)
{
	TEST_RUN(test_strings);
	TEST_RUN(test_flags);
	TEST_RUN(test_date_time);
	TEST_RUN(test_mailbox);
	TEST_RUN(test_mailbox_from_client);
	return test_done();
}
