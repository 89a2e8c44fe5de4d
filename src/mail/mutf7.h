/* mutf7.h — modified UTF-7, the IMAP mailbox-name encoding (RFC 3501
   §5.1.3, kept by RFC 9051 for clients without UTF8=ACCEPT), as Maildir++
   folder directories and Dovecot's subscriptions file also spell names.

   Printable US-ASCII (0x20-0x7e) stands for itself, except '&', written
   "&-"; every other character is UTF-16 (surrogate pairs past U+FFFF) in
   base64 with ',' for '/', no padding, between '&' and '-'.

   Pure functions over (pointer, length): no NUL terminator needed, nothing
   read past len, no globals; thread-safe. */
#ifndef PETREL_MUTF7_H
#define PETREL_MUTF7_H

#include <stddef.h>

struct buf;

/* Appends the modified UTF-7 form of the UTF-8 text s[0..len) to out.
   Returns 0, or -1 when s is not well-formed UTF-8 (lib/utf8.h) or out
   would grow past its max; on -1, out->len is as it was. */
int mutf7_encode(const char *s, size_t len, struct buf *out);

/* Appends the UTF-8 text that the modified UTF-7 s[0..len) stands for.
   Strict, as a server must be with names from a client: returns -1 (out
   as it was) for a byte outside 0x20-0x7e, a base64 run without its '-',
   a bad base64 character, a run that encodes printable ASCII (which must
   stand for itself), an odd number of bytes or leftover bits that are
   not zero, a lone or reversed surrogate, and when out would grow past
   its max. "&-" is '&'. Returns 0 otherwise. */
int mutf7_decode(const char *s, size_t len, struct buf *out);
#endif
