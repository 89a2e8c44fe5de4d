/* utf8.h — UTF-8 decoding (RFC 3629 §4): one definition of "well-formed"
   for everything that accepts UTF-8 (addresses, RFC 6531) or shows it to
   a person (CLI output). Pure functions; they never read past len. */
#ifndef PETREL_UTF8_H
#define PETREL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s, of which len bytes may be read. Returns its
   length (1 for ASCII, up to 4) with the code point in *cp_r, or 0 when
   the bytes are not well-formed UTF-8: an overlong form, a surrogate,
   anything past U+10FFFF, a stray continuation byte, a sequence cut short
   by len, or len 0. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r);

/* The length (2 to 4) of the well-formed sequence at s when it encodes a
   character from U+00A0 up: neither ASCII nor a C1 control (U+0080 to
   U+009F, which terminals may obey like ESC and no address needs).
   0 for anything else, ASCII included. */
size_t utf8_nonascii_len(const unsigned char *s, size_t len);
#endif
