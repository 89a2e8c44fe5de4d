/* imapd_status.h — the STATUS data of a mailbox (RFC 9051 §6.3.11, §7.3.5;
   SIZE RFC 8438, HIGHESTMODSEQ RFC 7162, APPENDLIMIT RFC 7889, DELETED
   RFC 9051, MAILBOXID RFC 8474), shared by STATUS (cmd_status.c) and
   LIST-STATUS (RFC 5819, imapd_list.c). Pure: the numbers come from a struct store_mailbox read
   on a worker, the per-session ones (RECENT) from a view taken on the
   session's thread. */
#ifndef PETREL_IMAPD_STATUS_H
#define PETREL_IMAPD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct imap_arg;
struct imapd_session;
struct store_mailbox;

enum imapd_status_item {
	IMAPD_STATUS_MESSAGES = 1 << 0,
	IMAPD_STATUS_RECENT = 1 << 1,
	IMAPD_STATUS_UIDNEXT = 1 << 2,
	IMAPD_STATUS_UIDVALIDITY = 1 << 3,
	IMAPD_STATUS_UNSEEN = 1 << 4,
	IMAPD_STATUS_DELETED = 1 << 5,
	IMAPD_STATUS_SIZE = 1 << 6,
	IMAPD_STATUS_HIGHESTMODSEQ = 1 << 7,
	IMAPD_STATUS_APPENDLIMIT = 1 << 8,
	IMAPD_STATUS_MAILBOXID = 1 << 9,	/* RFC 8474 §4.2 */
};

/* What a STATUS answer needs from the session, copied so that it can be
   written on a worker. */
struct imapd_status_view {
	bool utf8;			/* UTF-8 names, else modified UTF-7 */
	bool rev2;			/* RECENT is always 0 (RFC 9051) */
	uint64_t appendlimit;		/* limits.max_message_size */
	int64_t selected_id;		/* 0: none selected */
	uint32_t selected_recent;	/* \Recent count of its view */
};

/* The session's view; on its I/O thread. */
void imapd_status_view_init(struct imapd_status_view *view,
    const struct imapd_session *s);

/* The attribute list of STATUS / RETURN (STATUS (...)): the elements of
   the list. 0 with *items_r (never 0: an empty list is an error), or -1
   with *error_r (static text for BAD). */
int imapd_status_items(const struct imap_arg *list, size_t n,
    unsigned *items_r, const char **error_r);

/* Appends "* STATUS <name> (<items>)\r\n" in a fixed order (Dovecot's).
   RECENT: the session's count for the selected mailbox, else the
   store's (mb->recent). 0, or -1 when out is full. */
int imapd_status_write(struct buf *out, const struct store_mailbox *mb,
    unsigned items, const struct imapd_status_view *view);
#endif
