/* dkim_canon.h — DKIM canonicalisation (RFC 6376 §3.4): the "simple" and
   "relaxed" forms of one header field and of a body, and the split of a
   message into header fields and body. Pure functions, fuzzed by
   fuzz/fuzz_dkim_canon.c.

   Line ends: CRLF is the norm; a bare LF is read as CRLF (what SMTP will
   turn it into), a bare CR is an ordinary byte. */
#ifndef PETREL_DKIM_CANON_H
#define PETREL_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

enum dkim_canon { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };

/* Appends the canonical form of one header field to out. field[0..len) is
   the whole field (name, colon, value with its folding) without its final
   line end; the output has no final CRLF either (the signer adds it, and
   leaves it off for the DKIM-Signature field itself, §3.7). simple keeps
   the bytes (a bare LF in folding becomes CRLF); relaxed (§3.4.2)
   lower-cases the name, unfolds, turns each WSP run into one SP and drops
   WSP around the colon and at the end. Returns 0, or -1 when out is
   full. */
int dkim_canon_header(enum dkim_canon canon, const char *field, size_t len,
    struct buf *out);

/* Receives canonical body bytes in order; chunks are at most a few KiB. */
typedef void dkim_canon_emit_fn(void *ctx, const char *data, size_t len);

/* Streams the canonical form of body[0..len) (§3.4.3, §3.4.4) to emit:
   every line ends in CRLF, empty lines at the end are dropped; simple
   turns an empty body into one CRLF, relaxed also drops WSP at line ends
   and turns WSP runs into one SP (and leaves an empty body empty). Never
   fails. */
void dkim_canon_body(enum dkim_canon canon, const char *body, size_t len,
    dkim_canon_emit_fn *emit, void *ctx);

/* One header field of a message: the bytes from its name to the end of
   its last folded line, line end excluded. */
struct dkim_field {
	const char *data;
	size_t len;
	size_t name_len;	/* the name, trailing WSP before ':' excluded */
};

/* Finds the next header field of msg[*pos..len) and moves *pos past it.
   Returns 1 with *field_r, or 0 at the end of the header, where *pos is
   the offset of the body (past the empty line; len when there is none).
   A line without a colon (not a field) is returned with name_len = its
   whole length, so the signer never signs it and never skips bytes. */
int dkim_canon_next_field(const char *msg, size_t len, size_t *pos,
    struct dkim_field *field_r);

/* Whether field's name is name (ASCII case-insensitive). */
bool dkim_canon_field_is(const struct dkim_field *field, const char *name);
#endif
