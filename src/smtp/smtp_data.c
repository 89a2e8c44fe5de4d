/* smtp_data.c — the DATA decoder (see smtp_data.h): a byte state machine
   that needs no lookahead buffer, so any split of the input into chunks
   gives the same output.
   The rule, in one place (RFC 5321 §4.1.1.4, §4.5.2, and the 2023 SMTP
   smuggling lesson): a line starts after any line end, real (CRLF) or
   repaired (bare CR, bare LF). A '.' opening a line is stuffing and is
   dropped. Only ".CRLF" opening a line that a real CRLF started ends the
   data; so "\n.\n", "\n.\r\n", "\r.\r\n" and "\r\n.\n" are all data, and
   their dot is dropped like any other leading dot. Every CR is written as
   soon as it is seen (it becomes CRLF either way), except after a leading
   dot on a real line, where ".CR" may be the start of the terminator.
   Each step (one byte, or a run of line content) is all or nothing: when
   out is full the step is undone and feeding stops, never panics, since
   how much fits is the caller's sizing, not the peer's fault. */
#include "smtp/smtp_data.h"

#include <limits.h>

#include "lib/buf.h"

enum smtp_data_state {
	SMTP_DATA_SOL,		/* line start after a real CRLF, or the start */
	SMTP_DATA_SOL_REPAIRED,	/* line start after a bare CR or LF */
	SMTP_DATA_TEXT,		/* inside a line */
	SMTP_DATA_CR,		/* a CR was written; LF or repair follows */
	SMTP_DATA_DOT,		/* SOL + '.', the dot dropped */
	SMTP_DATA_DOT_CR,	/* SOL + ".\r", nothing written yet */
	SMTP_DATA_DONE,
};

/* RFC 5321 §4.5.3.1.6: 1000 octets per text line, CRLF included. */
#define SMTP_DATA_DEFAULT_MAX_LINE 1000

void
smtp_data_init(struct smtp_data *d, size_t max_line)
{
	d->state = SMTP_DATA_SOL;
	d->line_len = 0;
	d->max_line = max_line > 0 ? max_line : SMTP_DATA_DEFAULT_MAX_LINE;
	d->size = 0;
	d->long_lines = 0;
	d->bare_lf = 0;
	d->bare_cr = 0;
	d->done = false;
}

static void
smtp_data_count(unsigned *counter)
{
	if (*counter < UINT_MAX)
		(*counter)++;
}

/* Appends to out; -1 when out is full (the step is then undone). */
static int
smtp_data_put(struct smtp_data *d, struct buf *out, const void *p, size_t n)
{
	if (buf_append(out, p, n) == -1)
		return -1;
	d->size += n;
	return 0;
}

/* Ends the current output line (its CRLF is written by the caller). */
static void
smtp_data_end_line(struct smtp_data *d, enum smtp_data_state next)
{
	d->line_len = 0;
	d->state = next;
}

/* Decodes one byte, or one run of line content, from in[0..len) (len > 0).
   Returns the bytes consumed, or 0 when out is full: d and out may then
   be half-updated, and the caller undoes the step. */
static size_t
smtp_data_step(struct smtp_data *d, const char *in, size_t len,
    struct buf *out)
{
	/* Content bytes a line may hold besides its CRLF. */
	size_t limit = d->max_line > 2 ? d->max_line - 2 : 0;
	char c = in[0];

	/* States waiting for this byte to decide about earlier ones. */
	switch (d->state) {
	case SMTP_DATA_DOT_CR:
		if (c == '\n') {
			d->state = SMTP_DATA_DONE;
			d->done = true;
			return 1;
		}
		/* ".\r" + other: a stuffed dot and a bare CR. */
		if (smtp_data_put(d, out, "\r\n", 2) == -1)
			return 0;
		smtp_data_count(&d->bare_cr);
		smtp_data_end_line(d, SMTP_DATA_SOL_REPAIRED);
		break;
	case SMTP_DATA_CR:
		if (smtp_data_put(d, out, "\n", 1) == -1)
			return 0;
		if (c == '\n') {
			smtp_data_end_line(d, SMTP_DATA_SOL);
			return 1;
		}
		smtp_data_count(&d->bare_cr);
		smtp_data_end_line(d, SMTP_DATA_SOL_REPAIRED);
		break;
	case SMTP_DATA_DOT:
		if (c == '\r') {
			d->state = SMTP_DATA_DOT_CR;
			return 1;
		}
		d->state = SMTP_DATA_TEXT;
		break;
	default:
		break;
	}

	/* Now at a line start or inside a line. */
	if (c == '.' && d->state == SMTP_DATA_SOL) {
		d->state = SMTP_DATA_DOT;
	} else if (c == '.' && d->state == SMTP_DATA_SOL_REPAIRED) {
		d->state = SMTP_DATA_TEXT;	/* never an end */
	} else if (c == '\r') {
		if (smtp_data_put(d, out, "\r", 1) == -1)
			return 0;
		d->state = SMTP_DATA_CR;
	} else if (c == '\n') {
		if (smtp_data_put(d, out, "\r\n", 2) == -1)
			return 0;
		smtp_data_count(&d->bare_lf);
		smtp_data_end_line(d, SMTP_DATA_SOL_REPAIRED);
	} else {
		/* A run of line content in one append, as much as fits. */
		size_t run = 1, room = out->max - out->len;

		while (run < len && in[run] != '\r' && in[run] != '\n')
			run++;
		if (run > room)
			run = room;
		if (run == 0 || smtp_data_put(d, out, in, run) == -1)
			return 0;
		if (d->line_len <= limit && d->line_len + run > limit)
			smtp_data_count(&d->long_lines);
		d->line_len += run;
		d->state = SMTP_DATA_TEXT;
		return run;
	}
	return 1;
}

size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out)
{
	size_t i = 0;

	while (i < len && d->state != SMTP_DATA_DONE) {
		struct smtp_data saved = *d;
		size_t mark = out->len, n;

		if ((n = smtp_data_step(d, in + i, len - i, out)) == 0) {
			/* out is full: undo the step, the caller drains out
			   and feeds the rest again. */
			*d = saved;
			out->len = mark;
			if (out->data != NULL)
				out->data[mark] = '\0';
			break;
		}
		i += n;
	}
	return i;
}
