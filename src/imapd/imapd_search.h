/* imapd_search.h — the SEARCH, SORT and THREAD engines: evaluate an
   imap_search tree over the messages of a session's view, on a worker.
   Flag, date, size, UID, sequence and MODSEQ keys use the store's
   metadata only; header keys read the header, BODY/TEXT the decoded
   text parts (transfer encodings removed, charsets to UTF-8, RFC 2047
   words decoded), compared as i;unicode-casemap substrings (RFC 5051;
   case folding, as Dovecot). Strings are UTF-8 (the caller refused
   other charsets). */
#ifndef PETREL_IMAPD_SEARCH_H
#define PETREL_IMAPD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_search;
struct imap_sort;
struct imap_thread;
struct buf;
struct store;

struct imapd_search_params {
	int64_t mailbox_id;
	/* The session's view: sequence number i + 1 is uids[i]. */
	const uint32_t *uids;
	size_t n;
	uint32_t recent_min;		/* \Recent: UIDs >= it; 0: none */
	uint32_t recent_max;		/* ... and below it; 0: no end */
	/* "$" (SEARCHRES) in a SEQSET/UID key: these UIDs; NULL when no
	   result is saved (then "$" matches nothing, RFC 5182 §2.1). */
	const uint32_t *saved;
	size_t n_saved;
};

/* The UIDs (ascending) of the messages that match, into *uids_r (heap,
   NULL when none), and the highest MODSEQ among them (for "(MODSEQ n)",
   RFC 7162 §3.1.5). 0, or -1 with *error_r (heap): a store error. */
int imapd_search_run(struct store *store,
    const struct imapd_search_params *params,
    const struct imap_search *search, uint32_t **uids_r, size_t *n_r,
    uint64_t *highestmodseq_r, char **error_r);

/* SORT (RFC 5256 §3): the matching UIDs in the order of the criteria,
   ties by sequence number; base subject and addresses as the RFC says. */
int imapd_sort_run(struct store *store,
    const struct imapd_search_params *params, const struct imap_sort *sort,
    uint32_t **uids_r, size_t *n_r, char **error_r);

/* THREAD (RFC 5256 §4: ORDEREDSUBJECT, REFERENCES): appends the answer's
   thread lists "(1 2)(3 (4)(5))" to out, with UIDs when uid, else
   sequence numbers. 0, or -1 with *error_r. */
int imapd_thread_run(struct store *store,
    const struct imapd_search_params *params,
    const struct imap_thread *thread, bool uid, struct buf *out,
    char **error_r);
#endif
