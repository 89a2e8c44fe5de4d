/* dsn.h — builds delivery status notifications: RFC 3464 bounces and
   delay/success reports (multipart/report; report-type=delivery-status,
   RFC 6522), with the RFC 6533 global types when the original was sent
   with SMTPUTF8.

   The report has three parts: a human-readable text in Postfix's words
   (which recipients, what the remote server said), the
   message/delivery-status fields, and the original message
   (message/rfc822, RET=FULL or unset) or only its header
   (text/rfc822-headers, RET=HDRS or when it is larger than max_full).
   Pure: no I/O, no clock, no randomness; the caller passes the times and a
   unique token, so a test gets the same bytes every time. Which recipients
   get a report (NOTIFY, never to the null sender) is the caller's call. */
#ifndef PETREL_DSN_H
#define PETREL_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;

/* RFC 3464 §2.3.3. */
enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED,
};

/* RET of MAIL FROM (RFC 3461 §4.3); same values as enum queue_ret. */
enum dsn_ret { DSN_RET_UNSET, DSN_RET_FULL, DSN_RET_HDRS };

/* An original over this size is returned as its header only (Postfix's
   bounce_size_limit is 50000; keep a little more, most are smaller). */
#define DSN_MAX_FULL_DEFAULT	(100 * 1024)

struct dsn_recipient {
	const char *address;	/* Final-Recipient: the RCPT TO address,
				   without <> */
	const char *orcpt;	/* ORCPT as "type;address", xtext already
				   decoded (RFC 3461 §4.2), or NULL */
	enum dsn_action action;
	const char *status;	/* "5.1.1" (RFC 3463), required */
	const char *remote_mta;	/* host name of the server that answered,
				   or NULL (Remote-MTA: dns; ...) */
	const char *diagnostic;	/* its reply, "550 5.1.1 <b@x>: no such
				   user" (multi-line replies joined with
				   spaces), or NULL; our own reason for
				   local failures ("mailbox unavailable") */
	time_t last_attempt;	/* Last-Attempt-Date, 0: omitted */
	time_t will_retry_until; /* DELAYED: Will-Retry-Until, 0: omitted */
};

struct dsn_report {
	const char *reporting_mta;	/* our host name: Reporting-MTA and
					   From: MAILER-DAEMON@<it> */
	const char *mail_from;		/* the original sender: To: (not the
					   null sender; caller's check) */
	const char *envid;		/* Original-Envelope-Id (xtext
					   decoded), or NULL */
	enum dsn_ret ret;
	bool smtputf8;			/* original sent with SMTPUTF8:
					   message/global* types (RFC 6533) */
	time_t arrival;			/* Arrival-Date */
	time_t now;			/* Date: of the report */
	const char *unique;		/* e.g. "<queue id>.<attempts>": the
					   Message-ID is <unique@reporting_mta>
					   and the boundary derives from it;
					   [A-Za-z0-9.-] only */
	const struct dsn_recipient *recipients;
	size_t n_recipients;		/* >= 1 */
	const char *original;		/* the queued message bytes (CRLF) */
	size_t original_len;
	size_t max_full;		/* 0: DSN_MAX_FULL_DEFAULT */
};

/* Appends the whole report (header and body, CRLF line ends, no dot
   stuffing) to out, ready to be queued from the null sender "<>" to
   mail_from. An original holding 8-bit bytes is returned as it is, with
   Content-Transfer-Encoding: 8bit on its part (the report then needs
   8BITMIME, or SMTPUTF8 with smtputf8). Times are written in UTC.
   Returns 0, or -1 with *error_r a static reason (missing field, or out
   full). */
int dsn_build(const struct dsn_report *report, struct buf *out,
    const char **error_r);

/* The action's RFC 3464 name ("failed", ...). */
const char *dsn_action_name(enum dsn_action action);
#endif
