/* maildir_uidlist.h — Dovecot's dovecot-uidlist: the IMAP UIDs of a
   Maildir folder (doc.dovecot.org, "Maildir Mailbox Format").

	3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1
	25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,
	25017 W2481 :1276533073.M242911P3632.kurkku:2,F

   The header gives the format version (3 since Dovecot 1.1; 1 is
   Courier's "1 <uidvalidity> <uidnext>", whose lines are "<uid>
   <filename>"), V the UIDVALIDITY, N the next UID, G the mailbox GUID;
   fields may come in any order and unknown ones are ignored. Each line
   maps a UID to the last known file name; only its base (up to the first
   ':') identifies the message, as the flags part changes.

   Pure functions; thread-safe. */
#ifndef PETREL_MAILDIR_UIDLIST_H
#define PETREL_MAILDIR_UIDLIST_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Largest dovecot-uidlist read: a line is about 80 bytes, so this is
   millions of messages in one folder. */
#define MAILDIR_UIDLIST_MAX ((size_t)512 * 1024 * 1024)

struct maildir_uidlist_entry {
	uint32_t uid;
	char *base;			/* heap, NUL-terminated */
};

struct maildir_uidlist {
	unsigned version;		/* 1 or 3 (2 is read as 3) */
	uint32_t uidvalidity;		/* 0 when the header has none */
	uint32_t uidnext;		/* 0 when the header has none */
	struct maildir_uidlist_entry *entries;	/* sorted by base */
	size_t n;
};

/* Parses a whole file's contents. Returns 0 with *list_r filled (clear it
   with maildir_uidlist_clear), or -1 when the first line is not a header
   this understands (*error_r: static text). A line that does not parse,
   a UID not above the one before it, or a base seen before is skipped
   and counted in *bad_r (not NULL). */
int maildir_uidlist_parse(const char *data, size_t len,
    struct maildir_uidlist *list_r, size_t *bad_r, const char **error_r);

/* The UID of base[0..len), or 0 when the list has none. */
uint32_t maildir_uidlist_lookup(const struct maildir_uidlist *list,
    const char *base, size_t len);

/* Frees the entries; list is empty afterwards. */
void maildir_uidlist_clear(struct maildir_uidlist *list);

/* For export: the version 3 header line and one line per message. guid is
   32 hex digits. */
int maildir_uidlist_format_header(struct buf *out, uint32_t uidvalidity,
    uint32_t uidnext, const char *guid);
int maildir_uidlist_format_line(struct buf *out, uint32_t uid,
    const char *filename);
#endif
