/* smtpd_headers_test.c — the end of the header block and the fields
   submission adds, fed whole and one byte at a time. */
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "smtpd/smtpd_headers.h"

static const struct {
	const char *in;
	long end;		/* offset of the empty line, -1: none */
	bool msgid, date;
} cases[] = {
	{ "Subject: x\r\n\r\nbody\r\n", 12, false, false },
	{ "Message-ID: <a@b>\r\nDate: now\r\n\r\nb", 30, true, true },
	/* RFC 5322 §4.5.3: white space before the colon still names the
	   field; a second word does not. */
	{ "message-id:<a@b>\r\nDATE : x\r\n\r\n", 18 + 10, true, true },
	{ "Message-ID\t:<a@b>\r\nDate x: y\r\n\r\n", 30, true, false },
	{ "Date\r\n\r\n", 6, false, false },
	/* Folded lines continue a field; "Date" inside one is no field. */
	{ "Subject: a\r\n Date: b\r\n\r\n", 22, false, false },
	{ "X-Date: a\r\nMessage-IDs: b\r\n\r\n", 27, false, false },
	{ "Resent-Date: a\nDate: b\n\nbody", 23, false, true },
	{ "Subject: no body\r\n", -1, false, false },
	{ "\r\nbody Date: x\r\n", 0, false, false },
	{ "Message-ID: <a@b>\r\nMessage-ID-Long-Field-Name: x\r\n\r\n", 50,
	  true, false },
};

static void
test_scan(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;
		size_t len = strlen(in);

		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct smtpd_headers h;
			long end = -1;
			size_t off = 0;

			smtpd_headers_init(&h);
			while (off < len) {
				size_t n = bytewise ? 1 : len - off, got;
				bool done;

				got = smtpd_headers_scan(&h, in + off, n,
				    &done);
				if (done) {
					TEST_ASSERT(end == -1);
					end = (long)(off + got);
				} else {
					TEST_EQ_INT(got, n);
				}
				off += n;
			}
			TEST_EQ_INT(end, cases[i].end);
			TEST_EQ_INT(h.has_message_id, cases[i].msgid);
			TEST_EQ_INT(h.has_date, cases[i].date);
		}
	}
}

static void
test_missing(void)
{
	struct smtpd_headers h;
	struct buf out;
	bool done;

	buf_init(&out, 0);
	smtpd_headers_init(&h);
	(void)smtpd_headers_scan(&h, "Subject: x", 10, &done);
	smtpd_headers_missing(&h, &out, "QID", "mx.example.org", 0, true);
	buf_append(&out, "", 1);
	/* Ended inside a line: the CRLF comes first. */
	TEST_ASSERT(strncmp(out.data, "\r\nMessage-ID: <QID@mx.example.org>"
	    "\r\nDate: ", 42) == 0);
	TEST_ASSERT(out.len > 4 && memcmp(out.data + out.len - 3, "\r\n",
	    2) == 0);
	buf_reset(&out);
	smtpd_headers_init(&h);
	(void)smtpd_headers_scan(&h, "Date: x\r\n\r\n", 11, &done);
	smtpd_headers_missing(&h, &out, "QID", "mx", 0, false);
	buf_append(&out, "", 1);
	TEST_EQ_STR(out.data, "Message-ID: <QID@mx>\r\n");
	buf_reset(&out);
	smtpd_headers_init(&h);
	(void)smtpd_headers_scan(&h, "Date: x\r\nMessage-Id: y\r\n\r\n", 26,
	    &done);
	smtpd_headers_missing(&h, &out, "QID", "mx", 0, false);
	TEST_EQ_INT(out.len, 0);
	buf_clear(&out);
}

int
main(void)
{
	TEST_RUN(test_scan);
	TEST_RUN(test_missing);
	return test_done();
}
