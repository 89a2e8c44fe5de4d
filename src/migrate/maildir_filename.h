/* maildir_filename.h — the names of Maildir message files
   (https://cr.yp.to/proto/maildir.html, with Dovecot's extensions):
   "<base>:2,<flags>", where base is unique and never changes, flags are
   the letters D F P R S T in ASCII order, and Dovecot adds keyword letters
   a-z (their names are in the folder's dovecot-keywords) and may put more
   fields after a ',' that ends the flags. Base may carry ",S=<size>" and
   ",W=<size with CRLF>".

   Files petrel exports are named
	<internaldate>.M<uid>V<uidvalidity>.petrel,S=<size>,W=<size>:2,<flags>
   so the base is unique (a UID is, within its UIDVALIDITY), stable from
   one export to the next (an internal date never changes), and tells a
   re-run which UID a file already present holds.

   Pure functions; thread-safe. */
#ifndef PETREL_MAILDIR_FILENAME_H
#define PETREL_MAILDIR_FILENAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct maildir_filename {
	const char *base;		/* points into the name */
	size_t base_len;		/* up to the first ':' */
	unsigned flags;			/* enum store_flag bits */
	bool passed;			/* 'P' */
	uint32_t keywords;		/* bit i: letter 'a' + i */
};

/* Splits a file name found in cur/ or new/. Returns 0, or -1 for a name
   that is not a message (empty, or starting with '.' as editors' and
   rsync's temporary files do). A name without ":2," has no flags. */
int maildir_filename_parse(const char *name, struct maildir_filename *fn_r);

/* The name export gives a message (see above): heap, caller frees. keywords
   as in struct maildir_filename. */
char *maildir_filename_build(time_t internal_date, uint32_t uid,
    uint32_t uidvalidity, uint64_t size, unsigned flags, uint32_t keywords);

/* True when name is one export wrote for this uidvalidity; *uid_r is its
   UID. */
bool maildir_filename_exported_uid(const char *name, uint32_t uidvalidity,
    uint32_t *uid_r);
#endif
