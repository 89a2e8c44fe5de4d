/* mbox_message.h — one message cut out of an mbox (mbox_parser.h) made
   ready for the store:
   - ">From " lines lose one '>' (mboxrd; for mboxo, whose writers quote
     only "From ", this also unquotes a line that was ">From " to begin
     with — the one ambiguity of that format);
   - the headers an mbox keeps its metadata in are read and removed, as
     Dovecot hides them (mbox-storage.c, mbox_hide_headers): Status: ('R'
     \Seen; 'O' only "not recent"), X-Status: ('A' \Answered, 'F'
     \Flagged, 'T' \Draft, 'D' \Deleted), X-Keywords:, X-UID:, X-IMAP: and
     X-IMAPbase: (UIDVALIDITY, next UID) and Content-Length:;
   - Thunderbird's X-Mozilla-Status: (0x1 read, 0x2 replied, 0x4 marked,
     0x8 deleted, 0x1000 forwarded) and X-Mozilla-Keys: are read and
     kept, as they are ordinary headers to Thunderbird's readers;
   - bare LF line ends become CRLF.

   Pure functions; thread-safe. */
#ifndef PETREL_MBOX_MESSAGE_H
#define PETREL_MBOX_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct mbox_message_meta {
	unsigned flags;			/* enum store_flag bits */
	struct buf keywords;		/* space-separated */
	unsigned bad_keywords;		/* dropped: not valid keywords */
	uint32_t uid;			/* X-UID, 0 when none */
	uint32_t uidvalidity;		/* X-IMAPbase / X-IMAP, 0 when none */
	uint32_t uidnext;
	/* UW-IMAP's first message holding only the folder's X-IMAP data
	   ("DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"): not mail. */
	bool pseudo;
};

/* Zeroes meta with an empty keyword list; clear frees that list. */
void mbox_message_meta_init(struct mbox_message_meta *meta);
void mbox_message_meta_clear(struct mbox_message_meta *meta);

/* Converts raw[0..len) (a message as mbox_parser_next gives it) into out
   and fills meta (initialised by the caller; its keywords are appended
   to). Returns 0, or -1 when out would grow past its max. */
int mbox_message_convert(const char *raw, size_t len, struct buf *out,
    struct mbox_message_meta *meta);
#endif
