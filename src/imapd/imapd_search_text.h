/* imapd_search_text.h — what SEARCH, SORT and THREAD need from a message
   beyond the store's metadata: i;unicode-casemap folding (RFC 5051, with
   libunistring, as Dovecot), substring matches on decoded header fields
   and text parts, and the Date: header. Pure functions of a parsed
   message (mime.h); they block only on the pages of a mapped file. */
#ifndef PETREL_IMAPD_SEARCH_TEXT_H
#define PETREL_IMAPD_SEARCH_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct mime_message;

/* s[0..len) case-folded (UTF-8 in, UTF-8 out; invalid UTF-8 folded as
   ASCII). Heap, NUL-terminated; *len_r its length. */
char *imapd_search_fold(const char *s, size_t len, size_t *len_r);

/* Whether a field called name (NULL: any field, TEXT) of the top-level
   header, RFC 2047-decoded and folded, contains needle (folded). With
   an empty needle: whether the field exists. */
bool imapd_search_header(const struct mime_message *msg, const char *name,
    const char *needle, size_t needle_len);
/* Whether a text part of the message, transfer encoding removed and
   converted to UTF-8 from its charset, contains needle (folded). One
   part is decoded at a time. */
bool imapd_search_body(const struct mime_message *msg, const char *needle,
    size_t needle_len);

/* The nth value of field name of the top-level header, decoded (RFC
   2047) into a heap string, or NULL. */
char *imapd_search_field(const struct mime_message *msg, const char *name);

/* RFC 5322 §3.3 date-time: *day_r the date as written (days since
   1970-01-01, for SENTBEFORE/ON/SINCE), *t_r the instant (UTC, for SORT
   DATE). -1 when it does not parse. */
int imapd_search_date(const char *s, int32_t *day_r, time_t *t_r);
/* Days since 1970-01-01 of a civil date. */
int32_t imapd_search_days(int y, int m, int d);
#endif
