/* migrate_message.h — message bytes on their way into the store: RFC 5322
   wants CRLF line ends (and the store keeps files as RFC 5322, DESIGN.md
   §3), while Maildir and mbox files are usually written with bare LF.

   Pure functions; thread-safe. */
#ifndef PETREL_MIGRATE_MESSAGE_H
#define PETREL_MIGRATE_MESSAGE_H

#include <stddef.h>

struct buf;

/* Largest message taken: no MTA passes anything near it (Exchange's limit
   is 150 MiB), and an import holds one message twice in memory (as read
   and as converted). A bigger one is reported and skipped. */
#define MIGRATE_MESSAGE_MAX ((size_t)256 * 1024 * 1024)

/* Appends data[0..len) to out with every bare LF made CRLF; CRLF and a
   bare CR are kept as they are, so a file that is CRLF already comes out
   byte for byte. Returns 0, or -1 when out would grow past its max (out
   as it was). */
int migrate_message_crlf(const char *data, size_t len, struct buf *out);
#endif
