/* smtpd_received.c — the Received: trace header (RFC 5321 §4.4).
   Form, as Postfix writes it (TLS details in a comment of their own):
	Received: from <helo> (<rdns-or-unknown> [<ip>])
		(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
		by <hostname> (petrel) with ESMTPS id <qid>
		for <rcpt>; <RFC 5322 date>
   Invariant: every byte the client chose is reduced to a safe set, so the
   field always parses and never carries a CR or LF. */
#include "smtpd/smtpd_received.h"

#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

const char *
smtpd_received_protocol(bool esmtp, bool tls, bool auth, bool utf8)
{
	/* RFC 6531 §3.7.3 registers the UTF8 forms only for ESMTP. */
	static const char *const esmtp_names[2][2][2] = {
		/* [utf8][tls][auth] */
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!esmtp)
		return "SMTP";
	return esmtp_names[utf8][tls][auth];
}

static void
smtpd_received_append(struct buf *out, const char *s, size_t len)
{
	if (buf_append(out, s, len) == -1)
		panic("smtpd_received_append: buffer limit");
}

static void
smtpd_received_str(struct buf *out, const char *s)
{
	smtpd_received_append(out, s, strlen(s));
}

/* Domain names, address literals ("[IPv6:2001:db8::1]") and queue ids need
   no more than this; anything else becomes '?' (Postfix printable()). */
static bool
smtpd_received_safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	    c == ':' || c == '[' || c == ']';
}

/* Appends at most max bytes of s[0..len), unsafe bytes as '?'. */
static void
smtpd_received_token(struct buf *out, const char *s, size_t len, size_t max)
{
	if (len > max)
		len = max;
	for (size_t i = 0; i < len; i++) {
		char c = smtpd_received_safe_char((unsigned char)s[i]) ?
		    s[i] : '?';

		smtpd_received_append(out, &c, 1);
	}
}

/* A NUL-terminated name, "unknown" when absent or empty. */
static void
smtpd_received_name(struct buf *out, const char *s, size_t max)
{
	if (s == NULL || *s == '\0')
		smtpd_received_str(out, "unknown");
	else
		smtpd_received_token(out, s, strlen(s), max);
}

/* The rcpt is an RFC 5321 path the parser accepted; it may hold quoted
   local parts with spaces and, under SMTPUTF8, UTF-8. Only controls and
   the angle brackets would break "for <...>". */
static void
smtpd_received_path(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char r = (c < 0x20 || c == 0x7f || c == '<' || c == '>') ?
		    '?' : (char)c;

		smtpd_received_append(out, &r, 1);
	}
}

void
smtpd_received_date(struct buf *out, time_t when)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&when, &tm) == NULL) {
		when = 0;
		if (gmtime_r(&when, &tm) == NULL)
			panic("smtpd_received_date: gmtime_r");
		tm.tm_gmtoff = 0;
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		panic("smtpd_received_date: bad struct tm");
	/* RFC 5322 §3.3: day-name "," day month year time zone. */
	if (buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    off / 60, off % 60) == -1)
		panic("smtpd_received_date: buffer limit");
}

void
smtpd_received_format(struct buf *out, const struct smtpd_received *r)
{
	/* RFC 5321 §4.1.2: 255 octets for a domain; literals are shorter. */
	const size_t max_name = 255;

	smtpd_received_str(out, "Received: from ");
	smtpd_received_name(out, r->helo, max_name);
	smtpd_received_str(out, " (");
	smtpd_received_name(out, r->rdns, max_name);
	smtpd_received_str(out, " [");
	smtpd_received_name(out, r->addr, 64);
	smtpd_received_str(out, "])\r\n");
	if (r->tls != NULL && *r->tls != '\0') {
		/* "TLSv1.3 TLS_AES_256_GCM_SHA384" becomes Postfix's comment
		   "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)". */
		const char *sp = strchr(r->tls, ' ');

		smtpd_received_str(out, "\t(using ");
		if (sp != NULL) {
			smtpd_received_token(out, r->tls,
			    (size_t)(sp - r->tls), 64);
			smtpd_received_str(out, " with cipher ");
			smtpd_received_name(out, sp + 1, 128);
		} else {
			smtpd_received_name(out, r->tls, 128);
		}
		smtpd_received_str(out, ")\r\n");
	}
	if (r->auth != NULL) {
		/* Postfix's smtpd_sasl_authenticated_header. */
		smtpd_received_str(out, "\t(Authenticated sender: ");
		smtpd_received_path(out, r->auth);
		smtpd_received_str(out, ")\r\n");
	}
	smtpd_received_str(out, "\tby ");
	smtpd_received_name(out, r->hostname, max_name);
	smtpd_received_str(out, " (petrel) with ");
	smtpd_received_str(out, r->proto);
	smtpd_received_str(out, " id ");
	smtpd_received_name(out, r->id, 64);
	/* RFC 5321 §4.4: "for" names the recipient only when there is one,
	   so a message copied to many does not list them all to each. */
	if (r->rcpt != NULL) {
		smtpd_received_str(out, "\r\n\tfor <");
		smtpd_received_path(out, r->rcpt);
		smtpd_received_str(out, ">");
	}
	smtpd_received_str(out, "; ");
	smtpd_received_date(out, r->when);
	smtpd_received_str(out, "\r\n");
}
