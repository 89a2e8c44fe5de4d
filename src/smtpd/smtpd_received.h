/* smtpd_received.h — the Received: trace header the SMTP server prepends
   to every message it accepts (RFC 5321 §4.4, RFC 5322 §3.6.7), with the
   "with" protocol keywords of RFC 3848 and RFC 6531 §3.7.3. Pure: no I/O. */
#ifndef PETREL_SMTPD_RECEIVED_H
#define PETREL_SMTPD_RECEIVED_H

#include <stdbool.h>
#include <time.h>

struct buf;

struct smtpd_received {
	const char *helo;	/* client's HELO/EHLO argument, or NULL */
	const char *rdns;	/* verified reverse DNS name, or NULL */
	const char *addr;	/* client IP address as text */
	const char *hostname;	/* our host name */
	const char *proto;	/* smtpd_received_protocol() */
	const char *tls;	/* conn_tls_description(), or NULL */
	const char *id;		/* queue id */
	const char *rcpt;	/* the only recipient, or NULL when several */
	const char *auth;	/* "(Authenticated sender: x)", or NULL:
				   not revealed ([submission] received_auth) */
	time_t when;
};

/* The "with" keyword: SMTP after HELO; ESMTP, ESMTPS, ESMTPA, ESMTPSA
   after EHLO (RFC 3848); UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA for a
   transaction that declared SMTPUTF8 (RFC 6531 §3.7.3). Static string. */
const char *smtpd_received_protocol(bool esmtp, bool tls, bool auth,
    bool utf8);

/* Appends the complete header field, CRLF line ends, folded with a tab,
   ending in CRLF. Text the client chose (helo) is reduced to characters
   that cannot break the field's syntax. The caller's buf must have no
   max (or a generous one); growth failure is a bug and panics. */
void smtpd_received_format(struct buf *out, const struct smtpd_received *r);

/* Appends an RFC 5322 §3.3 date-time in local time with its numeric zone:
   "Sat, 21 Nov 2026 09:41:59 +0100". Locale-independent. */
void smtpd_received_date(struct buf *out, time_t when);
#endif
