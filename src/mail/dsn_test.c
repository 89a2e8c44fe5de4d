/* dsn_test.c — RFC 3464 reports: the exact failed-bounce bytes, the MIME
   structure seen by our own parser, RET=HDRS and the size limit, delayed
   and success reports, SMTPUTF8 types, 8-bit originals, a boundary that
   occurs in the original, injection of CRLF through a remote reply, and
   refused inputs. */
#include "mail/dsn.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "mail/mime.h"

static const char original[] =
    "Received: from client by mail.example.org\r\n"
    "From: alice@example.org\r\n"
    "To: bob@remote.example\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "Hello Bob.\r\n";

/* 2026-01-01 00:00:00 UTC and an hour later. */
#define T0 1767225600
#define T1 (T0 + 3600)

static struct dsn_recipient test_rcpt(void)
{
	return (struct dsn_recipient){
		.address = "bob@remote.example",
		.orcpt = "rfc822;Bob@remote.example",
		.action = DSN_ACTION_FAILED,
		.status = "5.1.1",
		.remote_mta = "mx.remote.example",
		.diagnostic = "550 5.1.1 <bob@remote.example>: no such user",
		.last_attempt = T1,
	};
}

static struct dsn_report
test_report(const struct dsn_recipient *rcpts, size_t n)
{
	return (struct dsn_report){
		.reporting_mta = "mail.example.org",
		.mail_from = "alice@example.org",
		.envid = "ENV1",
		.ret = DSN_RET_UNSET,
		.arrival = T0,
		.now = T1,
		.unique = "Q1.1",
		.recipients = rcpts,
		.n_recipients = n,
		.original = original,
		.original_len = strlen(original),
	};
}

static const char want_failed[] =
    "From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\r\n"
    "To: <alice@example.org>\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: Thu, 1 Jan 2026 01:00:00 +0000\r\n"
    "Message-ID: <Q1.1@mail.example.org>\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"Q1.1/mail.example.org\"\r\n"
    "\r\n"
    "This is a MIME-encapsulated message.\r\n"
    "\r\n"
    "--Q1.1/mail.example.org\r\n"
    "Content-Description: Notification\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "This is the mail system at host mail.example.org.\r\n"
    "\r\n"
    "I'm sorry to have to inform you that your message could not\r\n"
    "be delivered to one or more recipients. It's attached below.\r\n"
    "\r\n"
    "For further assistance, please send mail to postmaster.\r\n"
    "\r\n"
    "If you do so, please include this problem report. You can\r\n"
    "delete your own text from the attached returned message.\r\n"
    "\r\n"
    "                   The mail system\r\n"
    "\r\n"
    "<bob@remote.example>: host mx.remote.example said: 550 5.1.1\r\n"
    "    <bob@remote.example>: no such user\r\n"
    "\r\n"
    "--Q1.1/mail.example.org\r\n"
    "Content-Description: Delivery report\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mail.example.org\r\n"
    "Original-Envelope-Id: ENV1\r\n"
    "Arrival-Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
    "\r\n"
    "Final-Recipient: rfc822; bob@remote.example\r\n"
    "Original-Recipient: rfc822;Bob@remote.example\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Remote-MTA: dns; mx.remote.example\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such user\r\n"
    "Last-Attempt-Date: Thu, 1 Jan 2026 01:00:00 +0000\r\n"
    "\r\n"
    "--Q1.1/mail.example.org\r\n"
    "Content-Description: Undelivered Message\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Received: from client by mail.example.org\r\n"
    "From: alice@example.org\r\n"
    "To: bob@remote.example\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    "\r\n"
    "--Q1.1/mail.example.org--\r\n";

static char *
test_build(const struct dsn_report *r)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 0);
	TEST_EQ_INT(dsn_build(r, &out, &error), 0);
	TEST_EQ_STR(error, NULL);
	return buf_steal(&out);
}

/* Types of the parts of a report, as our MIME parser sees them:
   "multipart/report text/plain message/delivery-status message/rfc822". */
static void
test_structure(const char *msg, const char *want)
{
	struct mime_message *m = mime_parse(msg, strlen(msg), NULL);
	struct buf got;

	buf_init(&got, 0);
	const struct mime_part *top = mime_part_get(m, 0);
	buf_printf(&got, "%s/%s", top->type, top->subtype);
	for (uint32_t c = top->first_child; c != MIME_NONE;
	    c = mime_part_get(m, c)->next_sibling) {
		const struct mime_part *p = mime_part_get(m, c);
		buf_printf(&got, " %s/%s", p->type, p->subtype);
	}
	TEST_EQ_STR(got.data, want);
	buf_clear(&got);
	mime_message_free(&m);
}

static void
test_bounce(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);
	char *msg = test_build(&r);

	TEST_EQ_STR(msg, want_failed);
	test_structure(msg, "multipart/report text/plain "
	    "message/delivery-status message/rfc822");
	free(msg);
}

static void
test_hdrs(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);

	r.ret = DSN_RET_HDRS;
	char *msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Content-Type: text/rfc822-headers\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "Subject: hi\r\n\r\n\r\n--Q1.1/mail.example.org--")
	    != NULL);
	TEST_ASSERT(strstr(msg, "Hello Bob.") == NULL);
	test_structure(msg, "multipart/report text/plain "
	    "message/delivery-status text/rfc822-headers");
	free(msg);

	/* RET=FULL but over max_full: headers only. */
	r.ret = DSN_RET_FULL;
	r.max_full = 10;
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "text/rfc822-headers") != NULL);
	TEST_ASSERT(strstr(msg, "Hello Bob.") == NULL);
	free(msg);
}

static void
test_delayed_and_success(void)
{
	struct dsn_recipient rc[2] = { test_rcpt(), test_rcpt() };

	rc[0].action = DSN_ACTION_DELAYED;
	rc[0].status = "4.4.1";
	rc[0].diagnostic = NULL;
	rc[0].remote_mta = NULL;
	rc[0].will_retry_until = T0 + 5 * 86400;
	rc[1].address = "carol@remote.example";
	rc[1].orcpt = NULL;
	rc[1].action = DSN_ACTION_DELIVERED;
	rc[1].status = "2.0.0";
	rc[1].diagnostic = "250 2.0.0 Ok";
	struct dsn_report r = test_report(rc, 2);
	r.now = T0 + 4 * 3600;
	char *msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Subject: Delayed Mail (still being retried)")
	    != NULL);
	TEST_ASSERT(strstr(msg, "# THIS IS A WARNING ONLY.") != NULL);
	TEST_ASSERT(strstr(msg, "for more than 4 hour(s).\r\n"
	    "It will be retried until it is 5 day(s) old.") != NULL);
	TEST_ASSERT(strstr(msg, "<bob@remote.example>: delivery temporarily "
	    "suspended\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "Action: delayed\r\nStatus: 4.4.1\r\n"
	    "Last-Attempt-Date: Thu, 1 Jan 2026 01:00:00 +0000\r\n"
	    "Will-Retry-Until: Tue, 6 Jan 2026 00:00:00 +0000\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "<carol@remote.example>: delivery via "
	    "mx.remote.example: 250 2.0.0 Ok") != NULL);
	TEST_ASSERT(strstr(msg, "Final-Recipient: rfc822; carol@remote.example"
	    "\r\nAction: delivered\r\nStatus: 2.0.0\r\n") != NULL);
	free(msg);

	rc[0] = rc[1];
	r.n_recipients = 1;
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Subject: Successful Mail Delivery Report")
	    != NULL);
	TEST_ASSERT(strstr(msg, "successfully delivered") != NULL);
	free(msg);
}

static void
test_utf8(void)
{
	static const char orig8[] =
	    "From: j\xc3\xb6rg@example.org\r\n\r\nGr\xc3\xbc\xc3\x9f"
	    "e\r\n";
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);

	/* 8-bit original without SMTPUTF8: message/rfc822 with 8bit. */
	r.original = orig8;
	r.original_len = strlen(orig8);
	char *msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\nFrom: j\xc3\xb6rg") != NULL);
	TEST_ASSERT(strstr(msg, "\tboundary=\"Q1.1/mail.example.org\"\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n") != NULL);
	free(msg);

	/* SMTPUTF8: the RFC 6533 types and a utf-8 address type. */
	rc.address = "b\xc3\xb6" "b@remote.example";
	r.smtputf8 = true;
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Content-Type: message/global-delivery-status")
	    != NULL);
	TEST_ASSERT(strstr(msg, "Content-Type: message/global\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "Final-Recipient: utf-8; b\xc3\xb6"
	    "b@remote.example") != NULL);
	TEST_ASSERT(strstr(msg, "charset=utf-8") != NULL);
	test_structure(msg, "multipart/report text/plain "
	    "message/global-delivery-status message/global");
	free(msg);

	r.ret = DSN_RET_HDRS;
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Content-Type: message/global-headers\r\n")
	    != NULL);
	free(msg);
}

static void
test_hostile(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);
	static const char tricky[] =
	    "Subject: x\r\n\r\n--Q1.1/mail.example.org--\r\n"
	    "--Q1.1/mail.example.org.1\r\n";

	/* A reply with CRLF cannot start a field or a part. */
	rc.diagnostic = "550 no\r\nX-Injected: yes\r\n--Q1.1/mail.example.org--";
	r.original = tricky;
	r.original_len = strlen(tricky);
	char *msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "\r\nX-Injected") == NULL);
	TEST_ASSERT(strstr(msg, "Diagnostic-Code: smtp; 550 no  X-Injected: "
	    "yes  --Q1.1/") != NULL);
	/* The boundary moved past what the original holds. */
	TEST_ASSERT(strstr(msg, "boundary=\"Q1.1/mail.example.org.2\"") != NULL);
	test_structure(msg, "multipart/report text/plain "
	    "message/delivery-status message/rfc822");
	free(msg);

	/* An original without a final line end still closes the part. */
	r.original = "Subject: x\r\n\r\nno end";
	r.original_len = strlen(r.original);
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "no end\r\n\r\n--Q1.1/mail.example.org--\r\n")
	    != NULL);
	free(msg);

	/* The boundary stays within RFC 2046's 70 characters. */
	r.reporting_mta = "a-very-long-host-name-that-goes-on.and-on.and-on."
	    "example.org";
	msg = test_build(&r);
	const char *b = strstr(msg, "boundary=\"");
	TEST_ASSERT(b != NULL && strchr(b + 10, '"') - (b + 10) <= 70);
	free(msg);
}

/* No line of the report passes RFC 5322's 998 octets: an address, a
   host name and a reply at their longest used to make one text line of
   over 1500 (and a relay refuses the whole report for it). */
static void
test_long_lines(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);
	char addr[300], host[300], diag[1100];

	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[100] = '@';
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	/* A reply of words, and one of a single 1000-byte word. */
	for (size_t i = 0; i < sizeof(diag) - 1; i++)
		diag[i] = i % 10 == 9 ? ' ' : 'w';
	diag[sizeof(diag) - 1] = '\0';
	rc.address = addr;
	rc.remote_mta = host;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			memset(diag, 'x', sizeof(diag) - 1);
		rc.diagnostic = diag;
		char *msg = test_build(&r);
		size_t longest = 0;

		for (const char *p = msg; *p != '\0';) {
			const char *eol = strstr(p, "\r\n");
			size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

			if (n > longest)
				longest = n;
			p += n + (eol != NULL ? 2 : 0);
		}
		TEST_ASSERT(longest <= 998);
		TEST_ASSERT(strstr(msg, "\r\n    ") != NULL);
		test_structure(msg, "multipart/report text/plain "
		    "message/delivery-status message/rfc822");
		free(msg);
	}
}

/* A remote reply's 8-bit bytes never make a 7-bit part 8-bit: without
   SMTPUTF8 they become '?'; with it, well-formed UTF-8 stays and the text
   part says utf-8. */
static void
test_8bit_reply(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);

	rc.diagnostic = "550 5.1.1 \xff\xfe bad \xc3\xa9t\xc3";
	rc.remote_mta = "mx.\xc3\xa9.example";
	char *msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Diagnostic-Code: smtp; 550 5.1.1 ?? bad "
	    "??t?\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "Remote-MTA: dns; mx.??.example\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "charset=us-ascii") != NULL);
	for (const char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80) {
			TEST_ASSERT(!"8-bit byte in the report");
			break;
		}
	TEST_ASSERT(strstr(msg, "Content-Transfer-Encoding") == NULL);
	free(msg);

	r.smtputf8 = true;
	msg = test_build(&r);
	TEST_ASSERT(strstr(msg, "Diagnostic-Code: smtp; 550 5.1.1 ?? bad "
	    "\xc3\xa9t?\r\n") != NULL);
	TEST_ASSERT(strstr(msg, "charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n") != NULL);
	free(msg);
}

static void
test_refused(void)
{
	struct dsn_recipient rc = test_rcpt();
	struct dsn_report r = test_report(&rc, 1);
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 0);
	r.mail_from = "";
	TEST_EQ_INT(dsn_build(&r, &out, &error), -1);
	TEST_EQ_STR(error, "no report to the null sender");
	r = test_report(&rc, 1);
	r.unique = "a b";
	TEST_EQ_INT(dsn_build(&r, &out, &error), -1);
	r = test_report(&rc, 0);
	TEST_EQ_INT(dsn_build(&r, &out, &error), -1);
	r = test_report(&rc, 1);
	static const char *const bad_status[] = {
		"5.1", "6.0.0", "5..1", "5.1.1.1", "5.1.1000", "x", "",
	};
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(*bad_status); i++) {
		rc.status = bad_status[i];
		TEST_EQ_INT(dsn_build(&r, &out, &error), -1);
	}
	rc.status = "4.7.0";
	TEST_EQ_INT(dsn_build(&r, &out, &error), 0);
	buf_clear(&out);

	/* A full buffer is an error, not a truncated report. */
	buf_init(&out, 100);
	TEST_EQ_INT(dsn_build(&r, &out, &error), -1);
	TEST_EQ_STR(error, "output full");
	buf_clear(&out);
	TEST_EQ_STR(dsn_action_name(DSN_ACTION_EXPANDED), "expanded");
}

int
main(void)
{
	TEST_RUN(test_bounce);
	TEST_RUN(test_hdrs);
	TEST_RUN(test_delayed_and_success);
	TEST_RUN(test_utf8);
	TEST_RUN(test_hostile);
	TEST_RUN(test_long_lines);
	TEST_RUN(test_8bit_reply);
	TEST_RUN(test_refused);
	return test_done();
}
