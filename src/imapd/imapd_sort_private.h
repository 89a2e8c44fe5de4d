/* imapd_sort_private.h — what SORT (imapd_sort.c) and THREAD
   (imapd_thread*.c) share (RFC 5256): the fields they read from a
   message's ENVELOPE (imapd_sort_env.c), the base subject (§2.1,
   imapd_sort_subject.c) and the sent date (§2.2). Nothing outside
   src/imapd/ includes it. */
#ifndef PETREL_IMAPD_SORT_PRIVATE_H
#define PETREL_IMAPD_SORT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct imapd_search_params;
struct imapd_session;
struct store;
struct store_message;

/* The first mailbox of an address list (group markers skipped): heap
   strings as the ENVELOPE carries them (name not yet RFC 2047-decoded),
   NULL for NIL or when the list is empty. */
struct imapd_sort_addr {
	char *name, *mailbox, *host;
};

/* The ENVELOPE fields SORT and THREAD use: raw header text (no RFC 2047
   decoding), heap, NULL for NIL. */
struct imapd_sort_env {
	char *date, *subject, *in_reply_to, *message_id;
	struct imapd_sort_addr from, to, cc;
};

/* Parses an IMAP ENVELOPE (RFC 9051 §7.5.2, as mime_envelope writes
   it: quoted strings and literals) from envelope[0..len). 0, or -1 when
   it is not one (*env_r then all NULL). Free with imapd_sort_env_clear. */
int imapd_sort_env_parse(const char *envelope, size_t len,
    struct imapd_sort_env *env_r);
/* The envelope of msg (fetched with STORE_FETCH_ENVELOPE): the cached
   one, or computed from the file's header when it was too large to
   cache. 0, or -1 (message gone, unreadable: *env_r all NULL). Blocks:
   worker only. */
int imapd_sort_env_get(struct store *store, int64_t mailbox_id,
    const struct store_message *msg, struct imapd_sort_env *env_r);
void imapd_sort_env_clear(struct imapd_sort_env *env);

/* The base subject (RFC 5256 §2.1) of a raw Subject value (NULL: none),
   RFC 2047-decoded and case-folded (i;unicode-casemap), so that two
   base subjects compare with strcmp. *reply_r (may be NULL): whether
   the extraction removed a reply or forward marker ("Re:", "Fwd:",
   "(fwd)", "[fwd: ...]"), which THREAD=REFERENCES needs. Heap, never
   NULL ("" for no subject). */
char *imapd_sort_subject(const char *raw, bool *reply_r);

/* The sent date (RFC 5256 §2.2) of a raw Date value as UTC seconds;
   internal_date when the value is NULL or does not parse. */
time_t imapd_sort_date(const char *raw, time_t internal_date);

/* The folded text SORT compares for an address: the mailbox (local
   part) for FROM/TO/CC, the RFC 2047-decoded display name or else
   "mailbox@host" for DISPLAYFROM/DISPLAYTO (RFC 5957 §3). Heap, ""
   when the list had no address. */
char *imapd_sort_addr_key(const struct imapd_sort_addr *addr, bool display);

/* cmd_sort.c: the search parameters of SORT and THREAD for the selected
   mailbox, with copies of its view and "$" (*view_r, *saved_r: heap,
   the job's to free) so the job shares nothing with the session. I/O
   thread. */
void imapd_cmd_sort_params(const struct imapd_session *s,
    struct imapd_search_params *p_r, uint32_t **view_r, uint32_t **saved_r);
#endif
