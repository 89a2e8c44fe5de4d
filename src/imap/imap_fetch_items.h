/* imap_fetch_items.h — FETCH arguments (RFC 9051 §6.4.5; BINARY RFC 3516;
   CONDSTORE/QRESYNC RFC 7162 modifiers; OBJECTID RFC 8474; SAVEDATE RFC
   8514; rev1's RFC822, RFC822.HEADER, RFC822.TEXT) parsed into a list
   of attributes. Building the answers is src/imapd/imapd_fetch.c's. */
#ifndef PETREL_IMAP_FETCH_ITEMS_H
#define PETREL_IMAP_FETCH_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"

enum imap_fetch_type {
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,		/* BODY without a section */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_UID,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_RFC822,		/* = BODY[], answered as RFC822 */
	IMAP_FETCH_RFC822_HEADER,	/* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,		/* = BODY[TEXT] */
	IMAP_FETCH_BODY_SECTION,	/* BODY[...] and BODY.PEEK[...] */
	IMAP_FETCH_BINARY,		/* BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,		/* BINARY.SIZE[...] */
};

enum imap_section_kind {
	IMAP_SECTION_ALL,		/* [] or [1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

struct imap_fetch_att {
	enum imap_fetch_type type;
	bool peek;			/* .PEEK: \Seen is not set */
	/* BODY_SECTION, BINARY, BINARY_SIZE: */
	char *part;			/* "1.2", "" for the top level */
	enum imap_section_kind kind;
	char **fields;			/* HEADER.FIELDS[.NOT] names */
	size_t n_fields;
	bool partial;			/* <offset.count> given */
	uint64_t offset, count;		/* count 0 is allowed (empty) */
	/* The item as the answer names it (RFC 9051 §7.5.2): upper-case,
	   fields as sent, "<offset>" without the count, e.g.
	   "BODY[HEADER.FIELDS (From To)]<0>"; heap. */
	char *name;
};

struct imap_fetch_items {
	struct imap_fetch_att *atts;	/* heap, in the order asked */
	size_t n;
	/* Modifiers: (CHANGEDSINCE n) and (VANISHED) (UID FETCH only; the
	   caller checks that and QRESYNC being enabled). */
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished;
	/* Whether any attribute sets \Seen (a non-peek BODY[...] or
	   BINARY[...], RFC822, RFC822.TEXT). */
	bool sets_seen;
};

/* The FETCH arguments after the sequence set: a macro (ALL, FAST, FULL),
   one attribute or a list, then an optional modifier list. Section parts
   are checked (nz-numbers, at most 100 levels), partial offsets and
   counts are number (0..2^32-1) as RFC 9051 §9 says, fields are
   astrings. 0, or -1 with *error_r (static text for BAD). */
int imap_fetch_items_parse(const struct imap_arg *args, size_t n,
    struct imap_fetch_items *items_r, const char **error_r);
void imap_fetch_items_clear(struct imap_fetch_items *items);
#endif
