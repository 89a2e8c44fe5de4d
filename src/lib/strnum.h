/* strnum.h — strict decimal number parsing (Dovecot strnum.h).
   Rejects empty input, signs, spaces, junk and overflow; never reads past len. */
#ifndef PETREL_STRNUM_H
#define PETREL_STRNUM_H

#include <stddef.h>
#include <stdint.h>

/* Parses exactly len bytes of digits. Returns 0, or -1 on junk/overflow. */
int str_to_u64_n(const char *s, size_t len, uint64_t *num_r);
int str_to_u32_n(const char *s, size_t len, uint32_t *num_r);
/* The same on a NUL-terminated string. */
int str_to_u64(const char *s, uint64_t *num_r);
int str_to_u32(const char *s, uint32_t *num_r);
/* Size with optional K/M/G suffix (binary multiples): "50M" -> 52428800. */
int str_to_size(const char *s, uint64_t *num_r);
#endif
