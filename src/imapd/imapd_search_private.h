/* imapd_search_private.h — the walk SEARCH, SORT and THREAD share: every
   message of the view that matches the keys, in ascending UID order,
   with its metadata and (when a key needed it) its parsed file. */
#ifndef PETREL_IMAPD_SEARCH_PRIVATE_H
#define PETREL_IMAPD_SEARCH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
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

/* The ENVELOPE fields a header key can be answered from: their
   positions in the list. */
enum imapd_search_env_field {
	IMAPD_SEARCH_ENV_SUBJECT = 1,
	IMAPD_SEARCH_ENV_FROM = 2,
	IMAPD_SEARCH_ENV_TO = 5,
	IMAPD_SEARCH_ENV_CC = 6,
	IMAPD_SEARCH_ENV_BCC = 7,
};

/* Whether field of a cached ENVELOPE (store_message.envelope, len bytes)
   contains needle (folded, imapd_search_fold): addresses written as
   "name <mailbox@host>", ", " apart, names and Subject RFC 2047-decoded
   and folded, as Dovecot matches them. 1 yes, 0 no, -1 when the cache
   cannot tell (an empty needle: does the field exist; an envelope not
   in mime_envelope's shape): read the file then. hay and tmp are
   scratch buffers the caller reuses across calls. Pure. */
int imapd_search_env_match(const char *envelope, size_t len,
    enum imapd_search_env_field field, const char *needle,
    size_t needle_len, struct buf *hay, struct buf *tmp);

/* SEARCH/SORT/THREAD's charset: UTF-8 and US-ASCII (or none) are ours;
   anything else is answered NO [BADCHARSET ...] here (cmd_search.c) and
   false returned. I/O thread. */
bool imapd_search_charset_ok(struct imapd_session *s, const char *charset);
#endif
