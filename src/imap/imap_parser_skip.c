/* imap_parser_skip.c — skipping the rest of a bad IMAP command without
   ever reading a client's data as commands (imap_parser.h). A line that
   ends in "{n+}" or "{n-}" announces n octets the client sends without
   waiting: they are skipped, and the command goes on after them; "{n}"
   (synchronizing) or no literal ends the command at the line end. The
   tail matcher sees every octet of a line, parsed or skipped, so a line
   whose error is found late (even at its CRLF) still has its literal
   skipped. */
#include "imap/imap_parser_private.h"

void
imap_parser_skip_tail(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' && (p->tail == TAIL_SYNC || p->tail == TAIL_NONSYNC) &&
	    !p->tail_cr) {
		p->tail_cr = true;
		return;
	}
	p->tail_cr = false;
	if (c == '{') {
		p->tail = TAIL_SIZE;
		p->tail_size = 0;
		p->tail_digits = false;
	} else if (p->tail == TAIL_SIZE && c >= '0' && c <= '9') {
		unsigned d = (unsigned)(c - '0');

		/* Saturates: a size past 2^64 is skipped "forever". */
		if (p->tail_size > (UINT64_MAX - d) / 10)
			p->tail_size = UINT64_MAX;
		else
			p->tail_size = p->tail_size * 10 + d;
		p->tail_digits = true;
	} else if (p->tail == TAIL_SIZE && p->tail_digits &&
	    (c == '+' || c == '-')) {
		p->tail = TAIL_END;
	} else if (p->tail == TAIL_SIZE && p->tail_digits && c == '}') {
		p->tail = TAIL_SYNC;
	} else if (p->tail == TAIL_END && c == '}') {
		p->tail = TAIL_NONSYNC;
	} else {
		p->tail = TAIL_NONE;
	}
}

void
imap_parser_skip_reset(struct imap_parser *p)
{
	p->tail = TAIL_NONE;
	p->tail_cr = false;
}

enum parser_step
imap_parser_skip_octet(struct imap_parser *p, unsigned char c)
{
	if (c != '\n') {
		imap_parser_skip_tail(p, c);
		return STEP_TAKE;
	}
	if (p->tail == TAIL_NONSYNC) {
		/* The caller skips these in bulk. */
		p->skip_octets = p->tail_size;
		imap_parser_skip_reset(p);
		return STEP_TAKE;
	}
	/* The command ends here (after a synchronizing literal the client
	   waits for a "+" that never comes). */
	imap_parser_skip_reset(p);
	imap_parser_args_clear(p);
	p->state = PS_START;
	return STEP_TAKE;
}
