/* smtp_reply.h — the SMTP reply parser (RFC 5321 §4.2) for the client side
   and tests: multiline replies ("250-..." then "250 ..."), the three-digit
   code, the enhanced status code (RFC 3463, RFC 2034 §4) and the text.
   Pure: no I/O, no globals; lines come without their CRLF, as (ptr, len),
   and may hold any byte (NUL and control bytes are replaced by '?'). */
#ifndef PETREL_SMTP_REPLY_H
#define PETREL_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* RFC 5321 §4.5.3.1.5: 512 octets per reply line; servers exceed it, so
   we accept four times that. A hundred lines cover every EHLO seen. */
#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_LINES_MAX 100
#define SMTP_REPLY_TEXT_MAX 16384

struct smtp_reply {
	unsigned code;		/* 200..599 once a line is in */
	char enhanced[16];	/* "2.1.0" when the first line carries one
				   whose class matches code, else "" */
	struct buf text;	/* each line's text after the code and the
				   enhanced code, lines separated by '\n' */
	unsigned lines;
	bool done;		/* the last line was fed */
};

void smtp_reply_init(struct smtp_reply *r);
/* Frees the text; r may be re-initialised. */
void smtp_reply_clear(struct smtp_reply *r);
/* Empties r for the next reply, keeping its storage. */
void smtp_reply_reset(struct smtp_reply *r);

/* Feeds one reply line (without CRLF). Returns 1 when it was the last line
   of the reply (r->done), 0 when continuation lines follow, -1 when it is
   malformed: no three-digit code 200..599 followed by ' ', '-' or the end,
   a code different from the first line's, more than SMTP_REPLY_LINES_MAX
   lines, a line over SMTP_REPLY_LINE_MAX or text over SMTP_REPLY_TEXT_MAX;
   *error_r is then a static description. Feeding after done is a bug. */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len,
    const char **error_r);

/* Iterates the lines of r's text: *pos starts at 0; returns true with the
   line in *line_r and *len_r, false at the end. */
bool smtp_reply_next_line(const struct smtp_reply *r, size_t *pos,
    const char **line_r, size_t *len_r);
#endif
