/* imapd_search_private.h — the walk SEARCH, SORT and THREAD share: every
   message of the view that matches the keys, in ascending UID order,
   with its metadata and (when a key needed it) its parsed file. */
#ifndef PETREL_IMAPD_SEARCH_PRIVATE_H
#define PETREL_IMAPD_SEARCH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

struct imap_search;
struct imapd_search_params;
struct imapd_session;
struct mime_message;
struct store;
struct store_message;

/* msg lives until the callback returns; mime is NULL unless a key
   opened the file. */
typedef void imapd_search_match_fn(const struct store_message *msg,
    uint32_t seq, const struct mime_message *mime, void *ctx);

/* items: more STORE_FETCH_* the callback needs (ENVELOPE for SORT).
   0, or -1 with *error_r (heap). Blocks: worker only. */
int imapd_search_walk(struct store *store,
    const struct imapd_search_params *p, const struct imap_search *search,
    unsigned items, imapd_search_match_fn *fn, void *ctx, char **error_r);

/* SEARCH/SORT/THREAD's charset: UTF-8 and US-ASCII (or none) are ours;
   anything else is answered NO [BADCHARSET ...] here (cmd_search.c) and
   false returned. I/O thread. */
bool imapd_search_charset_ok(struct imapd_session *s, const char *charset);
#endif
