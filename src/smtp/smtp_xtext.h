/* smtp_xtext.h — xtext, the encoding of DSN and AUTH= parameter values:
   RFC 3461 §4 ("+" and two hex digits for anything outside "!".."~" and
   for "+" and "="), and RFC 6533 §3 utf-8-addr-xtext/-unitext for
   ORCPT=utf-8; ("\x{HEX}" escapes and raw UTF-8). Pure functions. */
#ifndef PETREL_SMTP_XTEXT_H
#define PETREL_SMTP_XTEXT_H

#include <stddef.h>

struct buf;

/* Appends the decoding of the xtext s[0..len) to out. Accepts upper- and
   lower-case hex after '+' (RFC 3461 asks senders for upper case).
   Returns 0, or -1 on bad syntax (a byte outside "!".."~", a raw '=', a
   '+' without two hex digits) or when out would pass its max; out may
   then hold part of the result. The decoded bytes may be anything, NUL
   included: the caller decides what it accepts. */
int smtp_xtext_decode(const char *s, size_t len, struct buf *out);

/* The same for RFC 6533 utf-8-addr-xtext and utf-8-addr-unitext: QCHAR,
   "\x{HEX}" (1 to 6 hex digits naming a Unicode scalar value other than
   U+0000) and raw, valid UTF-8. Returns 0 or -1 as above; on 0 the
   output is valid UTF-8 without NUL. */
int smtp_xtext_decode_utf8(const char *s, size_t len, struct buf *out);

/* Appends the xtext encoding of s[0..len) to out (upper-case hex, as
   RFC 3461 requires of senders). Returns 0, or -1 when out is full. */
int smtp_xtext_encode(const char *s, size_t len, struct buf *out);
#endif
