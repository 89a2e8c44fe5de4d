/* dkim_canon.c — RFC 6376 §3.4 canonicalisation of header fields and
   bodies, and the split of a message into its header fields. The body is
   streamed to a callback in chunks so a large message is hashed without a
   second copy. Bare LF counts as a line end everywhere (RFC 6376 §5.3:
   the signer signs what the wire will carry, and SMTP carries CRLF). */
#include "dkim/dkim_canon.h"

#include <string.h>

#include "lib/buf.h"

/* Canonical body bytes are collected here before each emit call, so the
   hash sees few, large updates rather than one per WSP run. */
#define DKIM_CANON_CHUNK 4096

struct dkim_canon_out {
	dkim_canon_emit_fn *emit;
	void *ctx;
	size_t n;
	size_t empty_pending;	/* empty lines held back: dropped at the end */
	bool any;		/* a non-empty line was emitted */
	char chunk[DKIM_CANON_CHUNK];
};

static inline bool
dkim_canon_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline char
dkim_canon_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
dkim_canon_flush(struct dkim_canon_out *o)
{
	if (o->n > 0)
		o->emit(o->ctx, o->chunk, o->n);
	o->n = 0;
}

static void
dkim_canon_put(struct dkim_canon_out *o, const char *p, size_t len)
{
	while (len > 0) {
		size_t room = sizeof(o->chunk) - o->n;
		size_t k = len < room ? len : room;

		memcpy(o->chunk + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
		if (o->n == sizeof(o->chunk))
			dkim_canon_flush(o);
	}
}

/* A line with content: first the empty lines held back before it. */
static void
dkim_canon_begin_line(struct dkim_canon_out *o)
{
	for (; o->empty_pending > 0; o->empty_pending--)
		dkim_canon_put(o, "\r\n", 2);
	o->any = true;
}

/* §3.4.4: WSP runs to one SP, no WSP at the end; the line is empty when
   nothing else is left. */
static void
dkim_canon_body_line_relaxed(struct dkim_canon_out *o, const char *p,
    size_t len)
{
	size_t i = 0;
	bool started = false, space = false;

	while (i < len) {
		if (dkim_canon_is_wsp(p[i])) {
			space = true;
			i++;
			continue;
		}
		size_t run = i;
		while (run < len && !dkim_canon_is_wsp(p[run]))
			run++;
		if (!started) {
			dkim_canon_begin_line(o);
			started = true;
		}
		if (space)
			dkim_canon_put(o, " ", 1);
		space = false;
		dkim_canon_put(o, p + i, run - i);
		i = run;
	}
	if (!started) {
		o->empty_pending++;
		return;
	}
	dkim_canon_put(o, "\r\n", 2);
}

static void
dkim_canon_body_line(enum dkim_canon canon, struct dkim_canon_out *o,
    const char *p, size_t len)
{
	if (canon == DKIM_CANON_RELAXED) {
		dkim_canon_body_line_relaxed(o, p, len);
		return;
	}
	if (len == 0) {
		o->empty_pending++;
		return;
	}
	dkim_canon_begin_line(o);
	dkim_canon_put(o, p, len);
	dkim_canon_put(o, "\r\n", 2);
}

void
dkim_canon_body(enum dkim_canon canon, const char *body, size_t len,
    dkim_canon_emit_fn *emit, void *ctx)
{
	struct dkim_canon_out o = { .emit = emit, .ctx = ctx };
	size_t pos = 0;

	while (pos < len) {
		const char *lf = memchr(body + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - body) : len;
		size_t content = end;

		if (lf != NULL && content > pos && body[content - 1] == '\r')
			content--;
		/* §3.4.3: a last line without CRLF gets one. */
		dkim_canon_body_line(canon, &o, body + pos, content - pos);
		pos = lf != NULL ? end + 1 : len;
	}
	/* §3.4.3: the simple form of an empty body is one CRLF; the relaxed
	   form stays empty (§3.4.4, erratum 3816). */
	if (canon == DKIM_CANON_SIMPLE && !o.any)
		dkim_canon_put(&o, "\r\n", 2);
	dkim_canon_flush(&o);
}

static int
dkim_canon_header_simple(const char *field, size_t len, struct buf *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (field[i] != '\n' || (i > 0 && field[i - 1] == '\r'))
			continue;
		if (buf_append(out, field + start, i - start) < 0 ||
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
		start = i + 1;
	}
	return buf_append(out, field + start, len - start);
}

/* Appends p[0..len) unfolded (CR LF dropped), each WSP run as one SP,
   none at either end; lower-cased for a field name. A bare CR not before
   LF is an ordinary byte. */
static int
dkim_canon_relaxed(const char *p, size_t len, bool lower, struct buf *out)
{
	bool started = false, space = false;

	for (size_t i = 0; i < len; i++) {
		char c = lower ? dkim_canon_lower(p[i]) : p[i];

		if (c == '\n' || (c == '\r' && i + 1 < len && p[i + 1] == '\n'))
			continue;
		if (dkim_canon_is_wsp(c)) {
			space = true;
			continue;
		}
		if (space && started && buf_append(out, " ", 1) < 0)
			return -1;
		space = false;
		started = true;
		if (buf_append(out, &c, 1) < 0)
			return -1;
	}
	return 0;
}

int
dkim_canon_header(enum dkim_canon canon, const char *field, size_t len,
    struct buf *out)
{
	if (len == 0)
		return 0;	/* field may then be NULL (an empty buf) */
	if (canon == DKIM_CANON_SIMPLE)
		return dkim_canon_header_simple(field, len, out);

	/* §3.4.2: the name lower-cased, WSP around the colon removed. A line
	   without a colon is not a field; it gets the same treatment so the
	   form stays idempotent, and is never signed. */
	const char *colon = memchr(field, ':', len);
	size_t name_len = colon != NULL ? (size_t)(colon - field) : len;

	if (dkim_canon_relaxed(field, name_len, true, out) < 0)
		return -1;
	if (colon == NULL)
		return 0;
	if (buf_append(out, ":", 1) < 0)
		return -1;
	return dkim_canon_relaxed(colon + 1, len - name_len - 1, false, out);
}

/* The end of the line starting at pos: the offset of its LF (or len), and
   in *content_r where its content ends (before CR LF). */
static size_t
dkim_canon_line_end(const char *msg, size_t len, size_t pos,
    size_t *content_r)
{
	const char *lf = memchr(msg + pos, '\n', len - pos);

	if (lf == NULL) {
		*content_r = len;
		return len;
	}
	size_t end = (size_t)(lf - msg);
	*content_r = end > pos && msg[end - 1] == '\r' ? end - 1 : end;
	return end;
}

int
dkim_canon_next_field(const char *msg, size_t len, size_t *pos,
    struct dkim_field *field_r)
{
	size_t start = *pos, content, end;

	if (start >= len) {
		*pos = len;
		return 0;
	}
	end = dkim_canon_line_end(msg, len, start, &content);
	if (content == start) {
		/* The empty line: the body follows it. */
		*pos = end < len ? end + 1 : len;
		return 0;
	}
	/* Continuation lines start with WSP (RFC 5322 §2.2.3). */
	while (end < len && end + 1 < len && dkim_canon_is_wsp(msg[end + 1]))
		end = dkim_canon_line_end(msg, len, end + 1, &content);

	const char *colon = memchr(msg + start, ':', content - start);
	size_t name_len = colon != NULL ? (size_t)(colon - (msg + start)) :
	    content - start;
	if (colon != NULL)
		while (name_len > 0 && dkim_canon_is_wsp(msg[start + name_len - 1]))
			name_len--;

	field_r->data = msg + start;
	field_r->len = content - start;
	field_r->name_len = name_len;
	*pos = end < len ? end + 1 : len;
	return 1;
}

bool
dkim_canon_field_is(const struct dkim_field *field, const char *name)
{
	size_t n = strlen(name);

	if (n != field->name_len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (dkim_canon_lower(field->data[i]) != dkim_canon_lower(name[i]))
			return false;
	return true;
}
