/* mbox_parser.h — splits an mbox file, held in memory (the importer maps
   it), into its messages.

   A message starts at a "From " line (the From_ line: "From sender
   Www Mmm dd hh:mm:ss yyyy") at the start of the file or after an empty
   line, or at any "From " line whose date parses (for writers that leave
   no empty line between messages). The empty line before the next From_
   line belongs to the mbox, not to the message, and is dropped. Quoted
   ">From " lines are left to mbox_message.h. Content-Length (mboxcl2) is
   not trusted: a body line starting "From " after an empty line is taken
   as a new message, as mboxo and mboxrd writers never leave one.

   Pure functions over (pointer, length); thread-safe. */
#ifndef PETREL_MBOX_PARSER_H
#define PETREL_MBOX_PARSER_H

#include <stddef.h>
#include <time.h>

struct mbox_parser {
	const char *data;
	size_t len, pos;
};

struct mbox_raw {
	const char *from_line;		/* after "From ", without line end */
	size_t from_len;
	const char *data;		/* the message as in the file */
	size_t len;
	size_t offset;			/* of its From_ line in the file */
};

/* Starts at the beginning of data, which must outlive p. */
void mbox_parser_init(struct mbox_parser *p, const char *data, size_t len);

/* The next message. Returns 1 with *raw_r (pointing into the data), 0 at
   the end, -1 when the data does not start (after empty lines) with a
   From_ line: not an mbox file. */
int mbox_parser_next(struct mbox_parser *p, struct mbox_raw *raw_r);

/* The date of a From_ line (raw_r->from_line): asctime's "Www Mmm dd
   hh:mm[:ss] yyyy", a numeric zone ("+0200") after the time or the year
   applied, none meaning UTC. Returns 0 with *t_r, or -1 when there is no
   such date. */
int mbox_parser_from_date(const char *line, size_t len, time_t *t_r);
#endif
