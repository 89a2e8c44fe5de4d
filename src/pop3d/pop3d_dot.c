/* pop3d_dot.c — dot-stuffing and TOP's line count (see pop3d_dot.h). The
   input is copied a line at a time (memchr for the LF), so the common case
   costs a copy; only a '.' at a line start adds an octet. */
#include "pop3d/pop3d_dot.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

void
pop3d_dot_init(struct pop3d_dot *d, bool top, uint32_t lines)
{
	memset(d, 0, sizeof(*d));
	d->line_start = true;
	d->top = top;
	d->lines_left = lines;
	/* Nothing sent yet: no CRLF is owed before the terminator. */
	d->last[0] = '\r';
	d->last[1] = '\n';
}

static void
pop3d_dot_append(struct buf *out, const void *data, size_t len)
{
	if (buf_append(out, data, len) == -1)
		panic("pop3d_dot: output buffer too small (%zu + %zu)",
		    out->len, len);
}

/* The line that just ended (its LF included) was the header's blank line,
   or one more body line: does TOP want anything after it? */
static void
pop3d_dot_line_end(struct pop3d_dot *d, bool empty)
{
	if (!d->top)
		return;
	if (!d->in_body) {
		/* RFC 1939 §7: the header, the blank line, then the
		   body's lines. */
		if (empty) {
			d->in_body = true;
			if (d->lines_left == 0)
				d->done = true;
		}
		return;
	}
	if (d->lines_left > 0 && --d->lines_left == 0)
		d->done = true;
}

size_t
pop3d_dot_encode(struct pop3d_dot *d, const char *in, size_t len,
    struct buf *out)
{
	size_t i = 0;

	while (i < len && !d->done) {
		const char *lf = memchr(in + i, '\n', len - i);
		size_t n = lf != NULL ? (size_t)(lf - (in + i)) + 1 : len - i;
		bool empty;

		/* RFC 1939 §3: a line beginning with '.' gets one more. */
		if (d->line_start && in[i] == '.')
			pop3d_dot_append(out, ".", 1);
		pop3d_dot_append(out, in + i, n);
		d->sent += n;
		if (n >= 2) {
			d->last[0] = (unsigned char)in[i + n - 2];
			d->last[1] = (unsigned char)in[i + n - 1];
		} else {
			d->last[0] = d->last[1];
			d->last[1] = (unsigned char)in[i];
		}
		i += n;
		if (lf == NULL) {
			d->line_start = false;
			d->line_len += n;
			continue;
		}
		/* Empty: nothing but the LF, or CR LF, on the line. */
		empty = d->line_len + n == 1 ||
		    (d->line_len + n == 2 && d->last[0] == '\r');
		d->line_start = true;
		d->line_len = 0;
		pop3d_dot_line_end(d, empty);
	}
	return i;
}

void
pop3d_dot_finish(struct pop3d_dot *d, struct buf *out)
{
	if (d->last[0] != '\r' || d->last[1] != '\n')
		pop3d_dot_append(out, "\r\n", 2);
	pop3d_dot_append(out, ".\r\n", 3);
	d->done = true;
}
