/* base64.h — RFC 4648 §4 base64 (standard alphabet). */
#ifndef PETREL_BASE64_H
#define PETREL_BASE64_H

#include <stddef.h>

/* The 6-bit value of an alphabet character, or -1 ('=' included). */
int base64_value(unsigned char c);

/* Decodes len bytes of base64 into out (out_cap bytes). Strict, as SASL
   and stored hashes want it (RFC 4648 §3.3, §3.5): the standard alphabet
   only, no white space, length a multiple of 4, '=' only as the last one or two
   characters, and the unused bits of the last character zero. Empty input
   decodes to nothing. Returns 0 with *len_r, or -1 (malformed, or out too
   small: out_cap >= len / 4 * 3 is always enough). */
int base64_decode(const char *in, size_t len, unsigned char *out,
    size_t out_cap, size_t *len_r);

/* Encodes len bytes into out with padding and a NUL; out_cap must be at
   least ((len + 2) / 3) * 4 + 1 (a smaller one is a bug: panics).
   Returns the length without the NUL. */
size_t base64_encode(const void *in, size_t len, char *out,
    size_t out_cap);

#endif
