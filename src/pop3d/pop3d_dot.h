/* pop3d_dot.h — the multi-line body of RETR and TOP (RFC 1939 §3): the
   message's octets as stored, a '.' doubled where a line begins with one,
   then CRLF "." CRLF; for TOP n m only the header, the blank line and m
   lines of the body (RFC 1939 §7). Incremental, so a message of any size
   streams through in chunks; pure: no I/O.

   A line begins after any LF, bare or not: clients that split on LF
   (Python's poplib, fetchmail) must never see a lone "." before the end.
   A message that does not end in CRLF gets one before the terminator
   (RFC 1939 §3), so the terminator is always a line of its own. */
#ifndef PETREL_POP3D_DOT_H
#define PETREL_POP3D_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct pop3d_dot {
	bool line_start;	/* the next octet begins a line */
	bool in_body;		/* TOP: the header's blank line went out */
	bool top;		/* count body lines */
	bool done;		/* TOP: every line asked for went out */
	uint32_t lines_left;	/* TOP: body lines still to send */
	size_t line_len;	/* octets of the current line so far */
	unsigned char last[2];	/* the last two octets of the message sent */
	uint64_t sent;		/* message octets sent (stuffing excluded) */
};

/* A whole message (top false) or TOP with lines body lines. */
void pop3d_dot_init(struct pop3d_dot *d, bool top, uint32_t lines);

/* The most pop3d_dot_encode appends for len input octets, and what
   pop3d_dot_finish appends: size output buffers with these. */
#define POP3D_DOT_OUT_MAX(len) (2 * (len))
#define POP3D_DOT_FINISH_MAX 5

/* Encodes up to len octets of the message onto out. Returns how many it
   took: len, or fewer once a TOP has sent its last line (d->done; the
   rest of the message is not wanted). out must have room for
   POP3D_DOT_OUT_MAX(len) more octets (its max is the caller's promise;
   breaking it panics). */
size_t pop3d_dot_encode(struct pop3d_dot *d, const char *in, size_t len,
    struct buf *out);

/* The end of the message (or of what TOP wanted): CRLF if the last line
   lacks one, then ".\r\n". */
void pop3d_dot_finish(struct pop3d_dot *d, struct buf *out);
#endif
