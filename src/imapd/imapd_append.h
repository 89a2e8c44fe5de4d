/* imapd_append.h — APPEND's pure parts: the date-time argument (RFC 9051
   §9 date-time) and the line-end repair of a message (bare LF to CRLF,
   the form every stored message has). */
#ifndef PETREL_IMAPD_APPEND_H
#define PETREL_IMAPD_APPEND_H

#include <stddef.h>
#include <time.h>

/* "17-Jul-1996 02:44:25 -0700" (the day may be " 7" or "7"; month names
   in any case) to a time. 0, or -1 for anything else, out-of-range
   fields included. Times before 1970 become 1 (0 means "now" to the
   store). */
int imapd_append_date(const char *s, size_t len, time_t *t_r);

/* data[0..len) with every LF not preceded by CR turned into CRLF (a lone
   CR stays: it does not end a line in the store's CRLF form either), as
   a heap copy of *len_r octets; NULL when there is no bare LF (use data
   as it is). */
char *imapd_append_crlf(const char *data, size_t len, size_t *len_r);
#endif
