/* smtp_data.h — incremental DATA decoder (RFC 5321 §4.1.4, §4.5.2).
   Feeds raw bytes from the wire, writes the unstuffed message, and stops
   exactly after <CRLF>.<CRLF>; the terminator is the only end (SMTP
   smuggling, 2023): "\n.\n", "\n.\r\n", "\r.\r\n" and friends are data.
   Our one decision on bare line ends, made here for every caller: a bare
   LF or bare CR in DATA is repaired to CRLF (the stored message has CRLF
   line ends only, DESIGN.md §3), counted, and never ends the message.
   Lines longer than max_line (998 + CRLF by default) are counted; the
   session answers after the terminator, so framing is never lost. */
#ifndef PETREL_SMTP_DATA_H
#define PETREL_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct smtp_data {
	/* private state */
	int state;
	size_t line_len;
	size_t max_line;
	/* results */
	uint64_t size;		/* decoded bytes so far */
	unsigned long_lines;	/* lines over max_line */
	unsigned bare_lf;	/* bare LFs repaired */
	unsigned bare_cr;	/* bare CRs repaired */
	bool done;		/* the terminator was seen */
};

/* max_line counts the CRLF (1000 for RFC 5321; 0 means 1000). */
void smtp_data_init(struct smtp_data *d, size_t max_line);
/* Consumes input up to and including the terminator and appends decoded
   bytes to out: at most 2 * len + 1 bytes (repairs add a CR, and a ".\r"
   held back by the previous call may turn out to be a stuffed dot and a
   bare CR). Returns the number of input bytes consumed; d->done tells
   whether the terminator was reached (bytes after it are the next command
   and are not consumed). Fewer than len bytes are also consumed, without
   done, when out has no room for the rest (out->max): the caller writes
   out away and feeds the remaining bytes again; nothing is lost, and
   with room for 3 bytes a call always consumes at least one. */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out);
#endif
