/* smtpd_headers.c — finds the end of the header block and which of
   Message-ID and Date it holds (smtpd_headers.h). A field name is
   matched at the start of a line up to its ':', white space before the
   ':' allowed (RFC 5322 §4.5.3 obs-optional: "Date : x" is a Date field
   to every reader, and a second one would make the message invalid);
   folded lines (leading space or tab) continue the field before. A
   line that is empty (CRLF or bare LF at the start of a line) ends the
   block. */
#include "smtpd/smtpd_headers.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_received.h"

void
smtpd_headers_init(struct smtpd_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

static void
smtpd_headers_name_end(struct smtpd_headers *h)
{
	if (h->name_len == 10 && memcmp(h->name, "message-id", 10) == 0)
		h->has_message_id = true;
	else if (h->name_len == 4 && memcmp(h->name, "date", 4) == 0)
		h->has_date = true;
	h->in_name = false;
}

size_t
smtpd_headers_scan(struct smtpd_headers *h, const char *data, size_t len,
    bool *end_r)
{
	*end_r = false;
	if (h->done)
		return len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (h->line_start) {
			h->line_start = false;
			if (c == '\r' || c == '\n') {
				h->done = true;
				*end_r = true;
				return i;
			}
			if (c != ' ' && c != '\t') {
				h->in_name = true;
				h->name_wsp = false;
				h->name_len = 0;
			}
		}
		if (c == '\n') {
			h->line_start = true;
			h->in_name = false;
			continue;
		}
		if (!h->in_name)
			continue;
		if (c == ':') {
			smtpd_headers_name_end(h);
		} else if (c == ' ' || c == '\t') {
			h->name_wsp = true;
		} else if (h->name_wsp) {
			h->in_name = false;	/* "Date x:" is no field */
		} else if (h->name_len < sizeof(h->name)) {
			h->name[h->name_len++] = (char)(c >= 'A' && c <= 'Z' ?
			    c - 'A' + 'a' : c);
		} else {
			h->in_name = false;	/* longer than both */
		}
	}
	return len;
}

void
smtpd_headers_missing(const struct smtpd_headers *h, struct buf *out,
    const char *msgid_local, const char *hostname, time_t when, bool at_end)
{
	if (h->has_message_id && h->has_date)
		return;
	if (at_end && !h->line_start && buf_append(out, "\r\n", 2) == -1)
		panic("smtpd_headers_missing: buffer limit");
	if (!h->has_message_id &&
	    buf_printf(out, "Message-ID: <%s@%s>\r\n", msgid_local,
	    hostname) == -1)
		panic("smtpd_headers_missing: buffer limit");
	if (!h->has_date) {
		if (buf_append(out, "Date: ", 6) == -1)
			panic("smtpd_headers_missing: buffer limit");
		smtpd_received_date(out, when);
		if (buf_append(out, "\r\n", 2) == -1)
			panic("smtpd_headers_missing: buffer limit");
	}
}
