/* mbox_message_test.c — unit tests for turning an mbox message into a
   stored one: ">From " unquoting (mboxrd), the metadata headers read and
   removed (with folded lines), Thunderbird's headers read and kept,
   UW-IMAP's pseudo message, CRLF, and a body that only looks like
   headers. */
#include "migrate/mbox_message.h"

#include <stdint.h>
#include <string.h>

#include "lib/test.h"
#include "migrate/mbox_parser.h"
#include "store/store.h"

static const char *
convert(const char *raw, struct buf *out, struct mbox_message_meta *meta)
{
	buf_reset(out);
	TEST_EQ_INT(mbox_message_convert(raw, strlen(raw), out, meta), 0);
	return out->data != NULL ? out->data : "";
}

static void
test_dovecot_headers(void)
{
	static const char raw[] =
	    "Return-Path: <a@example.org>\n"
	    "X-IMAPbase: 1700000000 43 $Junk\n"
	    "Subject: hello\n"
	    "Status: RO\n"
	    "X-Status: AF\n"
	    "X-Keywords: $Junk NonJunk\n"
	    "\t$label1\n"
	    "X-UID: 42\n"
	    "Content-Length: 6\n"
	    "\n"
	    "Status: body text, kept\n"
	    ">From me\n"
	    ">>From you\n"
	    ">Fromage\n";
	struct mbox_message_meta meta;
	struct buf out;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	TEST_EQ_STR(convert(raw, &out, &meta),
	    "Return-Path: <a@example.org>\r\n"
	    "Subject: hello\r\n"
	    "\r\n"
	    "Status: body text, kept\r\n"
	    "From me\r\n"
	    ">From you\r\n"
	    ">Fromage\r\n");
	TEST_EQ_INT(meta.flags, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED |
	    STORE_FLAG_FLAGGED);
	TEST_EQ_STR(meta.keywords.data, "$Junk NonJunk $label1");
	TEST_EQ_INT(meta.uid, 42);
	TEST_EQ_INT(meta.uidvalidity, 1700000000);
	TEST_EQ_INT(meta.uidnext, 43);
	TEST_ASSERT(!meta.pseudo);
	buf_clear(&out);
	mbox_message_meta_clear(&meta);
}

static void
test_xstatus(void)
{
	struct mbox_message_meta meta;
	struct buf out;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	TEST_EQ_STR(convert("status: O\nx-status: TD\nX-Keywords: a,b  ,"
	    "(bad\n\nx", &out, &meta), "\r\nx");
	TEST_EQ_INT(meta.flags, STORE_FLAG_DRAFT | STORE_FLAG_DELETED);
	TEST_EQ_STR(meta.keywords.data, "a b");
	TEST_EQ_INT(meta.bad_keywords, 1);
	TEST_EQ_INT(meta.uid, 0);
	buf_clear(&out);
	mbox_message_meta_clear(&meta);
}

static void
test_mozilla(void)
{
	static const char raw[] =
	    "X-Mozilla-Status: 1007\r\n"
	    "X-Mozilla-Status2: 00000000\r\n"
	    "X-Mozilla-Keys: $label1 todo\r\n"
	    "Subject: t\r\n"
	    "\r\n"
	    "b\r\n";
	struct mbox_message_meta meta;
	struct buf out;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	/* Kept byte for byte: they are ordinary headers. */
	TEST_EQ_STR(convert(raw, &out, &meta), raw);
	TEST_EQ_INT(meta.flags, STORE_FLAG_SEEN | STORE_FLAG_ANSWERED |
	    STORE_FLAG_FLAGGED);
	TEST_EQ_STR(meta.keywords.data, "$Forwarded $label1 todo");
	buf_clear(&out);
	mbox_message_meta_clear(&meta);
}

static void
test_pseudo(void)
{
	static const char raw[] =
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "From: Mail System Internal Data <MAILER-DAEMON@x>\n"
	    "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	    "X-IMAP: 1234 17 $Junk\n"
	    "\n"
	    "This text is part of the internal format of your mail folder.\n";
	struct mbox_message_meta meta;
	struct buf out;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	(void)convert(raw, &out, &meta);
	TEST_ASSERT(meta.pseudo);
	TEST_EQ_INT(meta.uidvalidity, 1234);
	TEST_EQ_INT(meta.uidnext, 17);
	buf_clear(&out);
	mbox_message_meta_clear(&meta);
}

static void
test_edges(void)
{
	struct mbox_message_meta meta;
	struct buf out;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	TEST_EQ_STR(convert("", &out, &meta), "");
	TEST_EQ_STR(convert("Subject: no body", &out, &meta),
	    "Subject: no body");
	TEST_EQ_STR(convert("X-UID: 5", &out, &meta), "");	/* dropped */
	TEST_EQ_INT(meta.uid, 5);
	TEST_EQ_STR(convert("X-UID: 5x\n\n", &out, &meta), "\r\n");
	TEST_EQ_INT(meta.uid, 0);
	TEST_EQ_STR(convert("not a header\nStatus: R\n\n", &out, &meta),
	    "not a header\r\n\r\n");
	/* A folded line of a kept field stays with it. */
	TEST_EQ_STR(convert("To: a,\n b\nStatus: R\n c\nX: y\n", &out, &meta),
	    "To: a,\r\n b\r\nX: y\r\n");
	/* Bare CR is not a line end; CRLF stays. */
	TEST_EQ_STR(convert("S: a\rb\r\n\r\nx\ry\n", &out, &meta),
	    "S: a\rb\r\n\r\nx\ry\r\n");
	buf_clear(&out);
	mbox_message_meta_clear(&meta);
}

/* Byte soup from an alphabet of the tokens that matter, split and
   converted: nothing is read outside the input (ASan), the output never
   holds a bare LF, and it is never longer than twice the input. */
static void
test_soup(void)
{
	static const char *const tokens[] = {
		"From ", ">From ", "\n", "\r\n", "\r", "Status: RO",
		"X-Keywords: a b", "X-UID: 7", ":", " ", "\t", "x",
		"X-IMAP: 1 2", "X-Mozilla-Status: 1001", "\0",
	};
	uint32_t seed = 99;

	for (int round = 0; round < 3000; round++) {
		struct buf in, out;
		struct mbox_parser p;
		struct mbox_raw raw;
		int n = 1 + round % 40;

		buf_init(&in, 0);
		buf_init(&out, 0);
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			const char *t = tokens[(seed >> 16) % (sizeof(tokens) /
			    sizeof(tokens[0]))];

			(void)buf_append(&in, t, t[0] == '\0' ? 1 : strlen(t));
		}
		mbox_parser_init(&p, in.data, in.len);
		while (mbox_parser_next(&p, &raw) == 1) {
			struct mbox_message_meta meta;

			mbox_message_meta_init(&meta);
			buf_reset(&out);
			TEST_EQ_INT(mbox_message_convert(raw.data, raw.len,
			    &out, &meta), 0);
			TEST_ASSERT(out.len <= 2 * raw.len);
			for (size_t i = 0; i < out.len; i++)
				if (out.data[i] == '\n' &&
				    (i == 0 || out.data[i - 1] != '\r')) {
					test_fail(__FILE__, __LINE__,
					    "bare LF at %zu", i);
					break;
				}
			mbox_message_meta_clear(&meta);
		}
		buf_clear(&in);
		buf_clear(&out);
	}
}

int
main(void)
{
	TEST_RUN(test_dovecot_headers);
	TEST_RUN(test_xstatus);
	TEST_RUN(test_mozilla);
	TEST_RUN(test_pseudo);
	TEST_RUN(test_edges);
	TEST_RUN(test_soup);
	return test_done();
}
