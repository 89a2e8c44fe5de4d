/* smtpd_received_test.c — the Received: header builder: exact output for
   fixed inputs, protocol keywords, and hostile HELO names that must not
   break the header field. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "smtpd/smtpd_received.h"

/* 2026-11-21T09:41:59Z, a Saturday. */
#define T_FIXED ((time_t)1795254119)

static char *
format(const struct smtpd_received *r)
{
	struct buf b;

	buf_init(&b, 0);
	smtpd_received_format(&b, r);
	return buf_steal(&b);
}

static void
test_protocol_names(void)
{
	static const struct {
		bool esmtp, tls, auth, utf8;
		const char *want;
	} cases[] = {
		{ false, false, false, false, "SMTP" },
		{ false, true, true, true, "SMTP" },	/* HELO: no extensions */
		{ true, false, false, false, "ESMTP" },
		{ true, true, false, false, "ESMTPS" },
		{ true, false, true, false, "ESMTPA" },
		{ true, true, true, false, "ESMTPSA" },
		{ true, false, false, true, "UTF8SMTP" },
		{ true, true, false, true, "UTF8SMTPS" },
		{ true, false, true, true, "UTF8SMTPA" },
		{ true, true, true, true, "UTF8SMTPSA" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_EQ_STR(smtpd_received_protocol(cases[i].esmtp,
		    cases[i].tls, cases[i].auth, cases[i].utf8), cases[i].want);
}

static void
test_format_plain(void)
{
	struct smtpd_received r = {
		.helo = "client.example.net",
		.addr = "192.0.2.7",
		.hostname = "mx.example.org",
		.proto = "ESMTP",
		.id = "0123456789abcdef",
		.rcpt = "alice@example.org",
		.when = T_FIXED,
	};
	char *got = format(&r);

	TEST_EQ_STR(got,
	    "Received: from client.example.net (unknown [192.0.2.7])\r\n"
	    "\tby mx.example.org (petrel) with ESMTP id 0123456789abcdef\r\n"
	    "\tfor <alice@example.org>; Sat, 21 Nov 2026 09:41:59 +0000\r\n");
	free(got);
}

static void
test_format_tls_many_rcpts(void)
{
	struct smtpd_received r = {
		.helo = "[IPv6:2001:db8::1]",
		.rdns = "client.example.net",
		.addr = "2001:db8::1",
		.hostname = "mx.example.org",
		.proto = "ESMTPS",
		.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384",
		.id = "ABC",
		.rcpt = NULL,
		.when = T_FIXED,
	};
	char *got = format(&r);

	TEST_EQ_STR(got,
	    "Received: from [IPv6:2001:db8::1] (client.example.net "
	    "[2001:db8::1])\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
	    "\tby mx.example.org (petrel) with ESMTPS id ABC; "
	    "Sat, 21 Nov 2026 09:41:59 +0000\r\n");
	free(got);
}

static void
test_format_hostile(void)
{
	struct smtpd_received r = {
		.helo = "evil\r\nX-Injected: yes (",
		.addr = "192.0.2.7",
		.hostname = "mx.example.org",
		.proto = "SMTP",
		.id = "ID",
		.rcpt = "a>b\r\n@example.org",
		.when = T_FIXED,
	};
	char *got = format(&r);
	const char *p;
	size_t lines = 0;

	/* Every CR is followed by LF, and every LF by a tab or the end:
	   the field stays one folded field. */
	for (p = got; *p != '\0'; p++) {
		if (*p == '\r') {
			TEST_ASSERT(p[1] == '\n');
			lines++;
		}
		if (*p == '\n')
			TEST_ASSERT(p[1] == '\t' || p[1] == '\0');
	}
	TEST_EQ_INT(lines, 3);
	TEST_ASSERT(strstr(got, "from evil??X-Injected:?yes?? (unknown") !=
	    NULL);
	TEST_ASSERT(strstr(got, "for <a?b??@example.org>;") != NULL);
	free(got);

	/* Missing names become "unknown". */
	r.helo = NULL;
	r.rcpt = NULL;
	got = format(&r);
	TEST_ASSERT(strncmp(got, "Received: from unknown (unknown "
	    "[192.0.2.7])\r\n", 44) == 0);
	free(got);
}

static void
test_format_long_helo(void)
{
	char helo[600];
	struct smtpd_received r = {
		.helo = helo,
		.addr = "192.0.2.7",
		.hostname = "mx.example.org",
		.proto = "ESMTP",
		.id = "ID",
		.when = T_FIXED,
	};
	char *got;
	const char *nl;

	memset(helo, 'a', sizeof(helo) - 1);
	helo[sizeof(helo) - 1] = '\0';
	got = format(&r);
	/* Cut at 255 (a domain's maximum): the line stays far below 998. */
	nl = strchr(got, '\r');
	TEST_ASSERT(nl != NULL);
	TEST_EQ_INT(nl - got, strlen("Received: from ") + 255 +
	    strlen(" (unknown [192.0.2.7])"));
	free(got);
}

static void
test_date(void)
{
	struct buf b;

	buf_init(&b, 0);
	smtpd_received_date(&b, 0);
	TEST_EQ_STR(b.data, "Thu, 1 Jan 1970 00:00:00 +0000");
	buf_clear(&b);

	setenv("TZ", "EST5EDT", 1);
	tzset();
	buf_init(&b, 0);
	smtpd_received_date(&b, T_FIXED);
	TEST_EQ_STR(b.data, "Sat, 21 Nov 2026 04:41:59 -0500");
	buf_clear(&b);
	setenv("TZ", "UTC", 1);
	tzset();
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	TEST_RUN(test_protocol_names);
	TEST_RUN(test_format_plain);
	TEST_RUN(test_format_tls_many_rcpts);
	TEST_RUN(test_format_hostile);
	TEST_RUN(test_format_long_helo);
	TEST_RUN(test_date);
	return test_done();
}
