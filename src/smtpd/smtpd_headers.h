/* smtpd_headers.h — what submission adds to a message that lacks it:
   "Message-ID:" and "Date:" (RFC 5322 §3.6: a message SHOULD have a
   Message-ID and MUST have an origination date; RFC 6409 §8.2-8.3 lets
   the submission server add them). They go at the end of the header
   block, found while the message streams into the queue file, so the
   file is still written once. Pure: a byte scanner with O(1) state. */
#ifndef PETREL_SMTPD_HEADERS_H
#define PETREL_SMTPD_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;

struct smtpd_headers {
	bool done;		/* the header block is over */
	bool line_start;	/* the next byte starts a line */
	bool in_name;		/* reading a field name */
	bool name_wsp;		/* blank after the name: ':' must follow */
	bool has_message_id, has_date;
	unsigned name_len;	/* octets of the name so far */
	char name[12];		/* lower-cased, only while it may match */
};

void smtpd_headers_init(struct smtpd_headers *h);

/* Scans len octets of the message (as the client sent them, after DATA
   decoding). Returns the offset at which the header block ends (the
   first octet of the empty line) when it ends in this piece, and len
   otherwise; once done, always len. *end_r tells which. */
size_t smtpd_headers_scan(struct smtpd_headers *h, const char *data,
    size_t len, bool *end_r);

/* The fields still missing, each ending in CRLF; msgid_local@hostname
   forms the Message-ID. When the message ended inside a line (no final
   CRLF: a header-only BDAT message), at_end adds the CRLF first. */
void smtpd_headers_missing(const struct smtpd_headers *h, struct buf *out,
    const char *msgid_local, const char *hostname, time_t when, bool at_end);
#endif
