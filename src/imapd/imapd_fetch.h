/* imapd_fetch.h — the FETCH engine: builds "* n FETCH (...)" answers for
   a list of messages, on a worker, in chunks so that a FETCH of a whole
   mailbox (or of one 50 MB body) never holds more than about one chunk
   in memory. Body sections come from the message file (read or mmap),
   parsed with mime.h; ENVELOPE/BODY/BODYSTRUCTURE from the store's cache
   when present. Dovecot's answers are the reference (tests/corpus/mime).

   Rules it keeps (RFC 9051 §6.4.5, §7.5.2; RFC 3516; RFC 7162):
   - a non-.PEEK BODY[...]/BINARY[...]/RFC822/RFC822.TEXT sets \Seen
     (unless the mailbox is read-only) before answering, and FLAGS is
     added to the answer when it changed and was not asked;
   - UID is always in the answer of a UID FETCH; MODSEQ when CONDSTORE
     is enabled and flags are answered (RFC 7162 §3.2.4 wants it in
     every FETCH then);
   - a NUL in a BODY[...] literal is sent as 0x80, as Dovecot does (a
     literal may not hold NUL, RFC 9051 §4.3); BINARY[...] of a part
     with NUL is a literal8 "~{n}"; a missing part answers "" (BODY) or
     NIL; an unknown CTE answers the whole FETCH NO [UNKNOWN-CTE],
     undecodable data NO [PARSE];
   - partial <o.c>: octets o..o+c of the section, "<o>" in the name.

   Thread model: new/free on the I/O thread, run on a worker (the
   job's store handle). */
#ifndef PETREL_IMAPD_FETCH_H
#define PETREL_IMAPD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct imap_fetch_items;
struct store;

struct imapd_fetch_params {
	int64_t mailbox_id;
	const struct imap_fetch_items *items;	/* outlives the fetch */
	/* The messages, ascending UID, with their sequence numbers. */
	const uint32_t *uids;
	const uint32_t *seqs;
	size_t n;
	bool uid_command;	/* UID FETCH: UID in every answer */
	bool condstore;		/* MODSEQ in every answer with FLAGS */
	bool readonly;		/* EXAMINE: never set \Seen */
	bool utf8;		/* UTF8=ACCEPT/rev2: 8-bit in quoted strings */
	/* \Recent (rev1): UIDs in [recent_min, recent_max) are \Recent
	   (recent_max 0: no upper end); recent_min 0: none. */
	uint32_t recent_min;
	uint32_t recent_max;
};

enum imapd_fetch_status {
	IMAPD_FETCH_DONE = 0,	/* every message answered */
	IMAPD_FETCH_MORE = 1,	/* out holds a chunk; run again */
	IMAPD_FETCH_NO = -1,	/* answer "NO <text>" (error_r) */
};

struct imapd_fetch;
/* params are copied (the arrays are not: they must outlive it). */
struct imapd_fetch *imapd_fetch_new(const struct imapd_fetch_params *params);
void imapd_fetch_free(struct imapd_fetch **fetch);

/* Appends answers to out until out holds at least chunk octets or every
   message is answered; resumes where the last call stopped (a literal
   may be split across calls). Messages expunged meanwhile are skipped
   and counted. On IMAPD_FETCH_NO, *text_r (static or owned by fetch) is
   e.g. "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding". */
enum imapd_fetch_status imapd_fetch_run(struct imapd_fetch *fetch,
    struct store *store, struct buf *out, size_t chunk, const char **text_r);
/* Messages that were gone (expunged by another session). */
size_t imapd_fetch_missing(const struct imapd_fetch *fetch);
/* For flags set by the fetch (\Seen): the session's sync uses the
   highest modseq the fetch produced. 0: none. */
uint64_t imapd_fetch_modseq(const struct imapd_fetch *fetch);
#endif
