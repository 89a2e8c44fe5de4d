/* imap_write.h — IMAP response syntax (RFC 9051 §4, §9): strings as atom,
   quoted or literal, nstrings, flag lists, dates, and mailbox names for
   the client (modified UTF-7 for rev1 clients, UTF-8 after ENABLE
   UTF8=ACCEPT or IMAP4rev2). All append to a struct buf and return 0, or
   -1 when the buffer's maximum is reached. */
#ifndef PETREL_IMAP_WRITE_H
#define PETREL_IMAP_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_arg.h"

struct buf;

/* A string: quoted when it is short (<= 1024 octets) and holds no CR,
   LF, NUL or (unless utf8) 8-bit octet; else a literal "{n}\r\n...".
   With utf8 false, 8-bit octets force a literal (rev1). */
int imap_write_string(struct buf *out, const char *s, size_t len, bool utf8);
/* An astring: as an atom when s is a non-empty atom (and not "NIL"),
   else as imap_write_string. */
int imap_write_astring(struct buf *out, const char *s, size_t len,
    bool utf8);
/* NIL for s NULL, else imap_write_string. */
int imap_write_nstring(struct buf *out, const char *s, size_t len,
    bool utf8);
/* A literal of len octets: "{len}\r\n" then the octets; with binary,
   "~{len}\r\n" (literal8). */
int imap_write_literal(struct buf *out, const void *data, size_t len,
    bool binary);

/* "(\Answered \Seen $Forwarded)": store flags (IMAP_FLAG_* bits, imap_arg.h),
   keywords space-separated ("" none), and \Recent when recent. System
   flags in Dovecot's order: \Answered \Flagged \Deleted \Seen \Draft. */
int imap_write_flags(struct buf *out, unsigned flags, const char *keywords,
    bool recent);
/* "\"17-Jul-1996 02:44:25 -0700\"" (RFC 9051 date-time), in the server's
   local zone as Dovecot does. */
int imap_write_date_time(struct buf *out, time_t t);

/* A mailbox name from the store (UTF-8, '/'-separated) as the client
   sees it: INBOX as "INBOX", modified UTF-7 unless utf8, as an astring. */
int imap_write_mailbox(struct buf *out, const char *name, bool utf8);
/* The other way: the client's mailbox argument (astring octets) to the
   store's UTF-8 name. "INBOX" in any case becomes "INBOX" (and so does
   "inbox/x"'s first level, RFC 9051 §5.1). A rev1 client's name is
   modified UTF-7 and must decode; a UTF-8 client's name must be valid
   UTF-8 (and is taken as is, & included). NUL, CR, LF and, for the
   store, invalid names are refused. Returns a heap string, or NULL with
   *error_r (static text). */
char *imap_write_mailbox_from_client(const char *s, size_t len, bool utf8,
    const char **error_r);

#endif
