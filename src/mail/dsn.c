/* dsn.c — RFC 3464 delivery status notifications, built as one buffer.
   Every value that came from a peer (addresses, the remote reply, ENVID)
   is written through dsn_value_utf8(), which turns control bytes into
   spaces, stray 8-bit bytes into '?' and caps the length: a remote
   server's reply must never add a header field or end a MIME part, nor
   make a 7-bit part 8-bit. Text lines are wrapped under 998 octets. The boundary is checked against the original,
   which is copied as it is (it may hold anything a MIME part can). */
#include "mail/dsn.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/utf8.h"

/* Longest value copied from a peer into a field or a text line: well under
   RFC 5322's 998 even after a name and an address. */
#define DSN_VALUE_MAX 512
/* Columns of the text part's lines, where they have spaces to break at. */
#define DSN_TEXT_WIDTH 78
/* RFC 2046 §5.1.1: a boundary has at most 70 characters; the base leaves
   room for ".N". */
#define DSN_BOUNDARY_MAX 70
#define DSN_BOUNDARY_BASE 58

const char *
dsn_action_name(enum dsn_action action)
{
	switch (action) {
	case DSN_ACTION_FAILED:
		return "failed";
	case DSN_ACTION_DELAYED:
		return "delayed";
	case DSN_ACTION_DELIVERED:
		return "delivered";
	case DSN_ACTION_RELAYED:
		return "relayed";
	case DSN_ACTION_EXPANDED:
		return "expanded";
	}
	return "failed";
}

/* RFC 5322 §3.3 date-time in UTC, without locale (strftime's names
   follow LC_TIME). */
static int
dsn_date(struct buf *out, time_t t)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	return buf_printf(out, "%s, %d %s %d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Copies a peer's value: control bytes become spaces; with utf8 a
   well-formed UTF-8 character (not a C1 control) stays, every other
   8-bit byte becomes '?'. A remote reply is not ours to label: in a
   us-ascii part or a message/delivery-status (RFC 3464 §2.1: 7-bit) its
   stray 8-bit bytes would make the report invalid MIME. */
static int
dsn_value_utf8(struct buf *out, const char *s, bool utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, DSN_VALUE_MAX);

	for (size_t i = 0; i < len;) {
		size_t n = utf8 ? utf8_nonascii_len(p + i, len - i) : 0;

		if (n > 0) {
			if (buf_append(out, s + i, n) < 0)
				return -1;
			i += n;
			continue;
		}
		char w = p[i] < 0x20 || p[i] == 0x7f ? ' ' :
		    p[i] >= 0x80 ? '?' : (char)p[i];
		if (buf_append(out, &w, 1) < 0)
			return -1;
		i++;
	}
	return 0;
}

/* Addresses keep their UTF-8 (SMTPUTF8 recipients, RFC 6533 "utf-8"). */
static int
dsn_value(struct buf *out, const char *s)
{
	return dsn_value_utf8(out, s, true);
}

static bool
dsn_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* Whether a value written with dsn_value_utf8(utf8) puts 8-bit bytes in
   the report. */
static bool
dsn_value_is_8bit(const char *s, bool utf8)
{
	return s != NULL && utf8 && dsn_has_8bit(s, strnlen(s,
	    DSN_VALUE_MAX));
}

/* Appends line[0..len) and CRLF, broken at spaces into lines of at most
   DSN_TEXT_WIDTH columns, continuation lines indented by four (Postfix's
   bounce layout). A long address, host name and reply on one line would
   pass RFC 5322's 998 octets, and a relay refuses such a report; no word
   here is longer than DSN_VALUE_MAX plus a few, so no line is either. */
static int
dsn_text_wrap(struct buf *out, const char *line, size_t len)
{
	size_t col = 0, i = 0;
	int ret = 0;

	while (i < len) {
		size_t word = i, end;

		while (word < len && line[word] == ' ')
			word++;
		if (word == len)
			break;		/* trailing spaces */
		for (end = word; end < len && line[end] != ' '; end++)
			;
		if (col > 0 && col + (word - i) + (end - word) >
		    DSN_TEXT_WIDTH) {
			ret |= buf_append_str(out, "\r\n    ");
			col = 4;
		} else {
			ret |= buf_append(out, line + i, word - i);
			col += word - i;
		}
		ret |= buf_append(out, line + word, end - word);
		col += end - word;
		i = end;
	}
	ret |= buf_append_str(out, "\r\n");
	return ret < 0 ? -1 : 0;
}

static bool
dsn_is_token(const char *s, bool allow_empty)
{
	if (*s == '\0')
		return allow_empty;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* "x.y.z" with class 2, 4 or 5 (RFC 3463 §2). */
static bool
dsn_status_ok(const char *s)
{
	size_t dots = 0, digits = 0;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5'))
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (digits == 0 || ++dots > 2)
				return false;
			digits = 0;
		} else if (*p >= '0' && *p <= '9' && ++digits <= 3) {
			continue;
		} else {
			return false;
		}
	}
	return dots == 2 && digits > 0;
}

/* The end of the original's header: past its empty line, or the whole
   message when it has none. */
static size_t
dsn_header_len(const char *msg, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *lf = memchr(msg + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - msg) + 1 : len;
		size_t content = end - pos;

		if (content == 1 || (content == 2 && msg[pos] == '\r'))
			return end;
		pos = end;
	}
	return len;
}

/* "<unique>/<host>" cut to DSN_BOUNDARY_BASE, with ".N" added while the
   original holds it (it would end the part early). */
static void
dsn_boundary(const struct dsn_report *r, char out[DSN_BOUNDARY_MAX + 1])
{
	char base[DSN_BOUNDARY_BASE + 1];

	snprintf(base, sizeof(base), "%s/%s", r->unique, r->reporting_mta);
	for (unsigned n = 0;; n++) {
		if (n == 0)
			snprintf(out, DSN_BOUNDARY_MAX + 1, "%s", base);
		else
			snprintf(out, DSN_BOUNDARY_MAX + 1, "%s.%u", base, n);
		if (r->original_len == 0 || memmem(r->original,
		    r->original_len, out, strlen(out)) == NULL)
			return;
	}
}

/* The most severe action decides the subject and the opening text. */
static enum dsn_action
dsn_worst(const struct dsn_report *r)
{
	bool delayed = false;

	for (size_t i = 0; i < r->n_recipients; i++) {
		if (r->recipients[i].action == DSN_ACTION_FAILED)
			return DSN_ACTION_FAILED;
		if (r->recipients[i].action == DSN_ACTION_DELAYED)
			delayed = true;
	}
	return delayed ? DSN_ACTION_DELAYED : DSN_ACTION_DELIVERED;
}

static const char dsn_text_help[] =
    "For further assistance, please send mail to postmaster.\r\n"
    "\r\n"
    "If you do so, please include this problem report. You can\r\n"
    "delete your own text from the attached returned message.\r\n"
    "\r\n";

/* Postfix's wording, so users and helpdesks recognise it. */
static int
dsn_text_intro(const struct dsn_report *r, enum dsn_action worst,
    struct buf *out)
{
	int ret = buf_printf(out, "This is the mail system at host %s.\r\n\r\n",
	    r->reporting_mta);

	if (worst == DSN_ACTION_FAILED) {
		ret |= buf_append_str(out,
		    "I'm sorry to have to inform you that your message could not\r\n"
		    "be delivered to one or more recipients. It's attached below.\r\n"
		    "\r\n");
		ret |= buf_append_str(out, dsn_text_help);
	} else if (worst == DSN_ACTION_DELAYED) {
		long hours = r->now > r->arrival ?
		    (long)((r->now - r->arrival) / 3600) : 0;
		ret |= buf_append_str(out,
		    "####################################################################\r\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
		    "####################################################################\r\n"
		    "\r\n");
		ret |= buf_printf(out, "Your message could not be delivered for "
		    "more than %ld hour(s).\r\n", hours);
		time_t until = 0;
		for (size_t i = 0; i < r->n_recipients; i++)
			if (r->recipients[i].will_retry_until > until)
				until = r->recipients[i].will_retry_until;
		if (until > r->arrival)
			ret |= buf_printf(out, "It will be retried until it is "
			    "%ld day(s) old.\r\n",
			    (long)((until - r->arrival + 43200) / 86400));
		ret |= buf_append_str(out, "\r\n");
		ret |= buf_append_str(out, dsn_text_help);
	} else {
		ret |= buf_append_str(out,
		    "Your message was successfully delivered to the destination(s)\r\n"
		    "listed below. If the message was delivered to mailbox you will\r\n"
		    "receive no further notifications. Otherwise you may still receive\r\n"
		    "notifications of mail delivery errors from other systems.\r\n"
		    "\r\n");
	}
	ret |= buf_append_str(out, "                   The mail system\r\n");
	return ret < 0 ? -1 : 0;
}

static int
dsn_text_rcpt(const struct dsn_recipient *rc, bool utf8, struct buf *out)
{
	struct buf line;
	int ret;

	buf_init(&line, 0);
	ret = buf_append_str(&line, "<");
	ret |= dsn_value(&line, rc->address);
	ret |= buf_append_str(&line, ">: ");
	if (rc->remote_mta != NULL) {
		ret |= buf_append_str(&line, rc->action == DSN_ACTION_DELIVERED ||
		    rc->action == DSN_ACTION_RELAYED ? "delivery via " : "host ");
		ret |= dsn_value_utf8(&line, rc->remote_mta, utf8);
		ret |= buf_append_str(&line, rc->action == DSN_ACTION_DELIVERED ||
		    rc->action == DSN_ACTION_RELAYED ? ": " : " said: ");
	}
	if (rc->diagnostic != NULL)
		ret |= dsn_value_utf8(&line, rc->diagnostic, utf8);
	else if (rc->action == DSN_ACTION_FAILED)
		ret |= buf_append_str(&line, "delivery failed");
	else if (rc->action == DSN_ACTION_DELAYED)
		ret |= buf_append_str(&line, "delivery temporarily suspended");
	else
		ret |= buf_printf(&line, "%s", dsn_action_name(rc->action));
	ret |= buf_append_str(out, "\r\n");
	ret |= dsn_text_wrap(out, line.data, line.len);
	buf_clear(&line);
	return ret < 0 ? -1 : 0;
}

/* RFC 3464 §2.3 per-recipient fields; RFC 6533 §3 "utf-8" address type
   for non-ASCII addresses. */
static int
dsn_status_rcpt(const struct dsn_recipient *rc, bool utf8, struct buf *out)
{
	int ret = buf_printf(out, "\r\nFinal-Recipient: %s; ",
	    dsn_has_8bit(rc->address, strlen(rc->address)) ? "utf-8" :
	    "rfc822");

	ret |= dsn_value(out, rc->address);
	if (rc->orcpt != NULL) {
		ret |= buf_append_str(out, "\r\nOriginal-Recipient: ");
		ret |= dsn_value_utf8(out, rc->orcpt, utf8);
	}
	ret |= buf_printf(out, "\r\nAction: %s\r\nStatus: %s",
	    dsn_action_name(rc->action), rc->status);
	if (rc->remote_mta != NULL) {
		ret |= buf_append_str(out, "\r\nRemote-MTA: dns; ");
		ret |= dsn_value_utf8(out, rc->remote_mta, utf8);
	}
	if (rc->diagnostic != NULL) {
		ret |= buf_append_str(out, "\r\nDiagnostic-Code: smtp; ");
		ret |= dsn_value_utf8(out, rc->diagnostic, utf8);
	}
	if (rc->last_attempt != 0) {
		ret |= buf_append_str(out, "\r\nLast-Attempt-Date: ");
		ret |= dsn_date(out, rc->last_attempt);
	}
	if (rc->action == DSN_ACTION_DELAYED && rc->will_retry_until != 0) {
		ret |= buf_append_str(out, "\r\nWill-Retry-Until: ");
		ret |= dsn_date(out, rc->will_retry_until);
	}
	ret |= buf_append_str(out, "\r\n");
	return ret < 0 ? -1 : 0;
}

static const char *
dsn_subject(enum dsn_action worst)
{
	if (worst == DSN_ACTION_FAILED)
		return "Undelivered Mail Returned to Sender";
	if (worst == DSN_ACTION_DELAYED)
		return "Delayed Mail (still being retried)";
	return "Successful Mail Delivery Report";
}

static int
dsn_check(const struct dsn_report *r, const char **error_r)
{
	if (r->reporting_mta == NULL || !dsn_is_token(r->reporting_mta, false)) {
		*error_r = "bad reporting MTA name";
		return -1;
	}
	if (r->unique == NULL || !dsn_is_token(r->unique, false)) {
		*error_r = "bad unique token";
		return -1;
	}
	if (r->mail_from == NULL || r->mail_from[0] == '\0') {
		*error_r = "no report to the null sender";
		return -1;
	}
	if (r->n_recipients == 0 || r->recipients == NULL) {
		*error_r = "no recipients";
		return -1;
	}
	for (size_t i = 0; i < r->n_recipients; i++) {
		if (r->recipients[i].address == NULL ||
		    !dsn_status_ok(r->recipients[i].status)) {
			*error_r = "recipient without address or status";
			return -1;
		}
	}
	if (r->original == NULL && r->original_len != 0) {
		*error_r = "no original";
		return -1;
	}
	return 0;
}

static int
dsn_header(const struct dsn_report *r, enum dsn_action worst,
    const char *boundary, bool eightbit, struct buf *out)
{
	int ret = buf_printf(out, "From: Mail Delivery System "
	    "<MAILER-DAEMON@%s>\r\nTo: <", r->reporting_mta);

	ret |= dsn_value(out, r->mail_from);
	ret |= buf_printf(out, ">\r\nSubject: %s\r\nDate: ", dsn_subject(worst));
	ret |= dsn_date(out, r->now);
	ret |= buf_printf(out, "\r\nMessage-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n", r->unique, r->reporting_mta, boundary);
	if (eightbit)
		ret |= buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	ret |= buf_append_str(out,
	    "\r\nThis is a MIME-encapsulated message.\r\n\r\n");
	return ret < 0 ? -1 : 0;
}

int
dsn_build(const struct dsn_report *r, struct buf *out, const char **error_r)
{
	char boundary[DSN_BOUNDARY_MAX + 1];
	int ret = 0;

	if (dsn_check(r, error_r) < 0)
		return -1;

	enum dsn_action worst = dsn_worst(r);
	size_t max_full = r->max_full != 0 ? r->max_full : DSN_MAX_FULL_DEFAULT;
	bool full = r->ret != DSN_RET_HDRS && r->original_len <= max_full;
	size_t orig_len = full ? r->original_len :
	    dsn_header_len(r->original, r->original_len);
	bool orig_8bit = dsn_has_8bit(r->original, orig_len);
	/* Peers' texts keep UTF-8 only where the report may carry it (the
	   RFC 6533 types); addresses always do. */
	bool utf8 = r->smtputf8;
	bool text_8bit = false;
	for (size_t i = 0; i < r->n_recipients; i++) {
		const struct dsn_recipient *rc = &r->recipients[i];

		if (dsn_has_8bit(rc->address, strlen(rc->address)) ||
		    dsn_value_is_8bit(rc->diagnostic, utf8) ||
		    dsn_value_is_8bit(rc->remote_mta, utf8) ||
		    dsn_value_is_8bit(rc->orcpt, utf8))
			text_8bit = true;
	}
	if (dsn_value_is_8bit(r->envid, utf8))
		text_8bit = true;

	dsn_boundary(r, boundary);
	ret |= dsn_header(r, worst, boundary, orig_8bit || text_8bit, out);

	/* 1: the text for people. */
	ret |= buf_printf(out, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n", boundary,
	    text_8bit ? "utf-8" : "us-ascii");
	if (text_8bit)
		ret |= buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	ret |= buf_append_str(out, "\r\n");
	ret |= dsn_text_intro(r, worst, out);
	for (size_t i = 0; i < r->n_recipients; i++)
		ret |= dsn_text_rcpt(&r->recipients[i], utf8, out);
	ret |= buf_append_str(out, "\r\n");

	/* 2: the delivery status (RFC 3464 §2.2, §2.3). */
	ret |= buf_printf(out, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: %s\r\n", boundary, r->smtputf8 ?
	    "message/global-delivery-status" : "message/delivery-status");
	if (text_8bit)
		ret |= buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	ret |= buf_printf(out, "\r\nReporting-MTA: dns; %s\r\n", r->reporting_mta);
	if (r->envid != NULL) {
		ret |= buf_append_str(out, "Original-Envelope-Id: ");
		ret |= dsn_value_utf8(out, r->envid, utf8);
		ret |= buf_append_str(out, "\r\n");
	}
	if (r->arrival != 0) {
		ret |= buf_append_str(out, "Arrival-Date: ");
		ret |= dsn_date(out, r->arrival);
		ret |= buf_append_str(out, "\r\n");
	}
	for (size_t i = 0; i < r->n_recipients; i++)
		ret |= dsn_status_rcpt(&r->recipients[i], utf8, out);
	ret |= buf_append_str(out, "\r\n");

	/* 3: the original, or its header (RFC 3462 text/rfc822-headers;
	   RFC 6533 §6.3/§6.4 message/global and message/global-headers). */
	const char *type = full ?
	    (r->smtputf8 ? "message/global" : "message/rfc822") :
	    (r->smtputf8 ? "message/global-headers" : "text/rfc822-headers");
	ret |= buf_printf(out, "--%s\r\nContent-Description: %s\r\n"
	    "Content-Type: %s\r\n", boundary, full ? "Undelivered Message" :
	    "Undelivered Message Headers", type);
	if (orig_8bit)
		ret |= buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	ret |= buf_append_str(out, "\r\n");
	if (orig_len > 0)
		ret |= buf_append(out, r->original, orig_len);
	/* The delimiter must start a line (RFC 2046 §5.1.1). */
	if (orig_len == 0 || r->original[orig_len - 1] != '\n')
		ret |= buf_append_str(out, "\r\n");
	ret |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	if (ret < 0) {
		*error_r = "output full";
		return -1;
	}
	return 0;
}
