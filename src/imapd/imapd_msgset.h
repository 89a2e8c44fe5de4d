/* imapd_msgset.h — a command's message set argument (STORE, COPY, MOVE,
   UID EXPUNGE) against the selected view, as store ranges. */
#ifndef PETREL_IMAPD_MSGSET_H
#define PETREL_IMAPD_MSGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arg;
struct imapd_session;
struct store_range;

/* Ranges beyond anything a command line of 64 KiB can hold. */
#define IMAPD_MSGSET_MAX_RANGES 65536

/* Parses arg (sequence numbers, or UIDs when s->uid) against s->sel:
   *ranges_r (heap, NULL when the set matches no UID: the caller must
   then not call the store, where no ranges mean all messages). 0, or -1
   after answering BAD. */
int imapd_msgset_arg(struct imapd_session *s, const struct imap_arg *arg,
    struct store_range **ranges_r, size_t *n_r);

/* The UIDs of the view that lie in ranges, ascending (heap, NULL when
   none). */
uint32_t *imapd_msgset_view_uids(const struct imapd_session *s,
    const struct store_range *ranges, size_t n, size_t *n_r);
#endif
