/* store.h — one account's mail: DATA/accounts/<id>/index.db (SQLite, WAL)
   holds mailboxes and message metadata; DATA/accounts/<id>/msg/<xx>/<file>
   holds each message's bytes (RFC 5322, CRLF), written once, never
   modified (DESIGN.md §3).

   Durability order: file written and fsynced (or hard-linked from an
   already durable file) → fsync of its msg/<xx> directory → index
   transaction committed → the call returns 0 (the caller acknowledges).
   Files are removed only after the transaction that drops their last row
   committed. Files without an index row (a crash between the file and the
   commit) are garbage: store_open removes them the first time an account
   is opened in a process while no other handle (of any process) has it
   open; a handle being open is what proves no file is in flight.

   Thread model: a struct store is one SQLite connection to one account;
   use it from one thread at a time. Every call may block on the disk:
   worker threads or the CLI only, never an I/O thread. Several handles on
   the same account (in this process or another) are safe: writers are
   serialised by SQLite (busy timeout), UIDs and MODSEQs are allocated
   inside the write transaction.

   Every function returning int returns STORE_OK (0) or a negative enum
   store_status; store_error() then gives a one-line message. */
#ifndef PETREL_STORE_H
#define PETREL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND = -1,	/* no such mailbox / message */
	STORE_EXISTS = -2,	/* mailbox name taken */
	STORE_INVALID = -3,	/* bad mailbox name, bad argument */
	STORE_OVER_QUOTA = -4,	/* the account's quota would be exceeded */
	STORE_TOO_BIG = -5,	/* the message alone exceeds the quota */
	STORE_IO = -6,		/* disk or database error (temporary) */
	STORE_DUPLICATE = -7,	/* delivery key already stored (see append) */
	STORE_NOT_ALLOWED = -8,	/* e.g. deleting or renaming INBOX */
};

/* System flags (RFC 9051 §2.3.2). \Recent is per session, not stored. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};

/* Special-use attributes (RFC 6154). */
enum store_special_use {
	STORE_SPECIAL_ALL = 1 << 0,
	STORE_SPECIAL_ARCHIVE = 1 << 1,
	STORE_SPECIAL_DRAFTS = 1 << 2,
	STORE_SPECIAL_FLAGGED = 1 << 3,
	STORE_SPECIAL_JUNK = 1 << 4,
	STORE_SPECIAL_SENT = 1 << 5,
	STORE_SPECIAL_TRASH = 1 << 6,
};

/* Mailbox names are UTF-8 with '/' as the hierarchy separator; "INBOX"
   is case-insensitive and always exists. Refused (STORE_INVALID): empty
   names or levels, leading or trailing '/', "." or ".." levels, control
   characters, invalid UTF-8, more than 255 bytes or 16 levels. */
#define STORE_SEPARATOR '/'
#define STORE_NAME_MAX 255
#define STORE_DEPTH_MAX 16

struct store_limits {
	uint64_t quota_bytes;		/* 0: no limit */
	uint64_t quota_messages;	/* 0: no limit */
};

/* Opens (creating on first use, with INBOX, Drafts, Sent, Junk, Trash
   and Archive carrying \Drafts \Sent \Junk \Trash \Archive) the store of
   account_id under data_dir. limits are enforced by append/copy (may be
   NULL: none). Returns STORE_OK, or an error with *error_r (heap). */
int store_open(const char *data_dir, int64_t account_id,
    const struct store_limits *limits, struct store **store_r,
    char **error_r);
void store_close(struct store **store);
/* The message of the last failed call ("mailbox Foo does not exist"). */
const char *store_error(const struct store *store);
int64_t store_account_id(const struct store *store);
void store_set_limits(struct store *store, const struct store_limits *limits);

/* --- transactions -------------------------------------------------------
   Each modifying call is its own transaction unless it runs between
   store_begin and store_commit; then all of them share one set of
   directory fsyncs and one SQLite commit (local delivery batches with
   it). A call that fails inside a transaction has undone its own rows
   and files (a savepoint): the caller may go on with the batch, or
   store_rollback. The change feed fires once, after store_commit. */
int store_begin(struct store *store);
int store_commit(struct store *store);
/* Undoes the open transaction and removes the files it created. */
void store_rollback(struct store *store);

/* --- mailboxes ---------------------------------------------------------- */

struct store_mailbox {
	int64_t id;
	char *name;			/* UTF-8, '/'-separated */
	unsigned special_use;		/* enum store_special_use bits */
	bool subscribed;
	bool has_children;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;		/* without \Seen */
	uint32_t deleted;		/* with \Deleted */
	uint64_t size;			/* sum of RFC822.SIZE */
	uint32_t recent;		/* UIDs >= the \Recent mark (below) */
};

void store_mailbox_clear(struct store_mailbox *mailbox);
void store_mailbox_list_free(struct store_mailbox **list, size_t n);

/* All mailboxes, sorted by name (INBOX first), counts filled. */
int store_mailbox_list(struct store *store, struct store_mailbox **list_r,
    size_t *n_r);
/* One mailbox by name with its counts (STATUS, SELECT). */
int store_mailbox_get(struct store *store, const char *name,
    struct store_mailbox *mailbox_r);
/* Creates name; missing parents are created too (RFC 9051 §6.3.4).
   *id_r may be NULL. */
int store_mailbox_create(struct store *store, const char *name,
    unsigned special_use, int64_t *id_r);
/* Renames with all children. Renaming INBOX moves its messages into the
   new mailbox and leaves INBOX empty (RFC 9051 §6.3.6). The new name gets
   a new UIDVALIDITY only when it reuses a name that existed before.
   Subscriptions of the renamed mailboxes are renamed with them. */
int store_mailbox_rename(struct store *store, const char *old_name,
    const char *new_name);
/* Deletes the mailbox and its messages. INBOX: STORE_NOT_ALLOWED. A
   mailbox with children: STORE_NOT_ALLOWED ("has children"), as
   Dovecot does. */
int store_mailbox_delete(struct store *store, const char *name);
/* Subscriptions are kept by name and may name mailboxes that do not
   exist (RFC 9051 §6.3.7). */
int store_mailbox_subscribe(struct store *store, const char *name,
    bool subscribe);
int store_subscriptions(struct store *store, char ***names_r, size_t *n_r);
int store_mailbox_set_special_use(struct store *store, const char *name,
    unsigned special_use);
/* For import: sets the UIDVALIDITY (and raises UIDNEXT to at least
   uidnext) of an empty mailbox; of one with messages, only raises
   UIDNEXT (STORE_INVALID when uidvalidity differs from its own). */
int store_mailbox_set_uids(struct store *store, int64_t mailbox_id,
    uint32_t uidvalidity, uint32_t uidnext);

/* --- messages ----------------------------------------------------------- */

struct store_range {
	uint32_t lo, hi;		/* inclusive UIDs, lo <= hi */
};

struct store_append {
	int64_t mailbox_id;
	unsigned flags;			/* enum store_flag bits */
	/* Space-separated atoms, or NULL; duplicates (case-insensitive)
	   dropped, first spelling kept. STORE_INVALID for a non-atom or a
	   backslash, more than 128 keywords or one over 128 bytes. */
	const char *keywords;
	time_t internal_date;		/* 0: now */
	/* The message: either a path to an existing durable file, which is
	   hard-linked (copied when on another file system) ... */
	const char *path;
	/* ... or the bytes themselves, written to a new file. */
	const void *data;
	size_t len;
	/* Import: this UID (must be >= UIDNEXT; 0: next). */
	uint32_t uid;
	/* Idempotence: a key (e.g. "<queue-id>/<rcpt-index>") that makes a
	   second append of the same delivery answer STORE_DUPLICATE instead
	   of storing it twice. NULL: none. */
	const char *delivery_key;
	/* Skip the quota check (mail the server itself must keep, e.g. a
	   move within the account). */
	bool ignore_quota;
};

/* Appends one message. Parses it once (mime.h) to cache ENVELOPE, BODY,
   BODYSTRUCTURE and the header fields used for THREADID. *uid_r may be
   NULL. Over quota: STORE_OVER_QUOTA, or STORE_TOO_BIG when the message
   alone exceeds the limit. A zero-byte message is STORE_INVALID. */
int store_append(struct store *store, const struct store_append *append,
    uint32_t *uid_r);

/* What store_fetch fills (the rest is zero/NULL). */
enum store_fetch_item {
	STORE_FETCH_FLAGS = 1 << 0,	/* flags, keywords, modseq */
	STORE_FETCH_DATES = 1 << 1,	/* internal_date, save_date */
	STORE_FETCH_SIZE = 1 << 2,
	STORE_FETCH_IDS = 1 << 3,	/* emailid, threadid */
	STORE_FETCH_ENVELOPE = 1 << 4,
	STORE_FETCH_BODY = 1 << 5,	/* BODY (non-extensible) */
	STORE_FETCH_BODYSTRUCTURE = 1 << 6,
	STORE_FETCH_PATH = 1 << 7,
};

struct store_message {
	uint32_t uid;
	uint64_t modseq;
	unsigned flags;
	const char *keywords;		/* space-separated, "" when none */
	time_t internal_date;
	time_t save_date;
	uint64_t size;			/* RFC822.SIZE: bytes of the file */
	const char *emailid;		/* RFC 8474 object ids */
	const char *threadid;
	const char *envelope;		/* IMAP strings, cached at append */
	const char *body;
	const char *bodystructure;
	const char *path;		/* the message file */
};

/* Called per message in ascending UID order; the strings live until the
   callback returns. A callback may call reading functions of the same
   handle (store_message_open) but must not modify through it: collect,
   then act after store_fetch returns. envelope, body and bodystructure
   are NULL when they were too large to cache (over 4 MiB): compute them
   from the file. Return 0 to go on, non-zero to stop (returned). */
typedef int store_fetch_cb(const struct store_message *msg, void *ctx);

/* Messages of mailbox_id whose UID is in ranges (NULL, 0: all). */
int store_fetch(struct store *store, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges, unsigned items,
    store_fetch_cb *cb, void *ctx);
/* All UIDs of the mailbox, ascending (*uids_r heap, NULL when empty):
   the session's sequence-number map. */
int store_uids(struct store *store, int64_t mailbox_id, uint32_t **uids_r,
    size_t *n_r);
/* Opens the message file read-only. Returns STORE_OK with *fd_r and
   *size_r, or STORE_NOT_FOUND (expunged meanwhile). */
int store_message_open(struct store *store, int64_t mailbox_id, uint32_t uid,
    int *fd_r, uint64_t *size_r);

enum store_flags_op {
	STORE_FLAGS_SET,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

/* For store_flags: each message whose flags changed, after the change. */
typedef void store_changed_cb(uint32_t uid, unsigned flags,
    const char *keywords, uint64_t modseq, void *ctx);

/* Changes flags and keywords of the messages in ranges (NULL, 0: all).
   Each message that changes takes its own new MODSEQ; cb runs after the
   change is committed. unchangedsince (0: no condition; a client's
   UNCHANGEDSINCE 0 fails every message, which the caller answers without
   calling, RFC 7162 §3.1.3): messages whose modseq is higher are
   left alone and their UIDs appended to *failed_r (heap, may be NULL when
   the caller gives no condition). A message whose flags do not change is
   not bumped and not reported, except that with unchangedsince it is
   reported (RFC 7162 requires the FETCH). */
int store_flags(struct store *store, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    enum store_flags_op op, unsigned flags, const char *keywords,
    uint64_t unchangedsince, store_changed_cb *cb, void *ctx,
    uint32_t **failed_r, size_t *n_failed_r);

/* Copies (or moves) the messages in ranges to dst_mailbox_id, keeping
   flags, keywords, internal date and emailid; files are hard-linked.
   map (may be NULL) is called per message with the old and new UID in
   ascending old-UID order (COPYUID), after the commit. A move expunges the sources with a
   recorded modseq. Copy checks the quota; move does not. */
typedef void store_uid_map_cb(uint32_t src_uid, uint32_t dst_uid, void *ctx);
int store_copy(struct store *store, int64_t src_mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    int64_t dst_mailbox_id, bool move, store_uid_map_cb *map, void *ctx);

/* Expunges messages with \Deleted (ranges NULL: all of them; otherwise
   only those in ranges, UID EXPUNGE). cb (may be NULL) gets each expunged
   UID in ascending order, after the commit. */
typedef void store_expunged_cb(uint32_t uid, void *ctx);
int store_expunge(struct store *store, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    store_expunged_cb *cb, void *ctx);

/* --- changes (CONDSTORE/QRESYNC, IDLE, NOOP) --------------------------- */

/* An expunged UID and the MODSEQ of its expunge (QRESYNC; a session's
   HIGHESTMODSEQ moves past it so that the next sync does not read it
   again). */
typedef void store_vanished_cb(uint32_t uid, uint64_t modseq, void *ctx);

/* Messages of the mailbox changed (appended or flags) with modseq >
   since, ascending UID, with STORE_FETCH_FLAGS filled; then every UID
   expunged with modseq > since, ascending UID (not modseq). Both lists
   come from one read snapshot. Either callback may be NULL. Expunge
   records are kept for the mailbox's life (VANISHED (EARLIER) needs
   them); both lists are read through their (mailbox, modseq) index. */
int store_changes(struct store *store, int64_t mailbox_id, uint64_t since,
    store_fetch_cb *changed, store_vanished_cb *expunged, void *ctx);

/* In-process change feed: fn runs (on the committing thread, after the
   commit, with no store lock held) for every committed change of the
   account: deliveries, appends, flag changes, expunges, mailbox changes.
   It must be quick and thread-safe (e.g. worker_post to the session's
   event_base). Other processes' changes (the CLI) are not notified. */
typedef void store_notify_fn(int64_t account_id, void *ctx);
struct store_watch;
struct store_watch *store_watch_add(int64_t account_id, store_notify_fn *fn,
    void *ctx);
/* Once it returns, fn is not running and will not run again. */
void store_watch_remove(struct store_watch **watch);

/* --- \Recent (IMAP4rev1, RFC 3501 §2.3.2) -------------------------------
   Each mailbox keeps a mark: the first UID that no session has claimed
   as \Recent (new mailboxes start at 1; mailboxes that existed before
   the mark did start at their UIDNEXT then). A message with UID >= mark
   is recent for the next session that claims. A claim moves the mark to
   UIDNEXT in a write transaction, so each message is \Recent in at most
   one session. Copies and moves into a mailbox get new UIDs and so are
   recent there again (RFC 3501 §6.4.7). Claims bump no MODSEQ and fire
   no change feed. */

/* Claims the unclaimed messages of mailbox_id. expect 0 (SELECT) claims
   whatever is unclaimed; otherwise (a session extending its claim while
   it stays selected) only when the mark is still expect. *first_r gets
   the mark found and *last_r the mark after the call: the UIDs in
   [*first_r, *last_r) are now the caller's \Recent (an empty range when
   nothing was claimed). With expect given, *first_r != expect means
   another session claimed since: nothing was claimed. Takes the write
   lock only when there is something to claim. */
int store_recent_claim(struct store *store, int64_t mailbox_id,
    uint32_t expect, uint32_t *first_r, uint32_t *last_r);
/* Without claiming (EXAMINE, STATUS RECENT): the mark, and how many
   messages have a UID >= it. */
int store_recent_count(struct store *store, int64_t mailbox_id,
    uint32_t *mark_r, uint32_t *count_r);

/* --- quota -------------------------------------------------------------- */

struct store_usage {
	uint64_t bytes;			/* sum of RFC822.SIZE, all mailboxes */
	uint64_t messages;
};

int store_usage(struct store *store, struct store_usage *usage_r);

/* Without opening the account for writing: the usage of account_id, for
   the quota check at RCPT time (read-only, short; an account that was
   never opened has zero usage). */
int store_usage_peek(const char *data_dir, int64_t account_id,
    struct store_usage *usage_r, char **error_r);
#endif
