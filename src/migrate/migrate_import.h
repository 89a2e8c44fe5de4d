/* migrate_import.h — the half of an import that talks to the store,
   shared by the Maildir and mbox readers: target mailboxes, UIDs kept
   from the source, idempotent batched appends, counting, and what to do
   when an append fails.

   Idempotence: every message carries a delivery key
   ("import:<mailbox>:<source id>"), so the store answers STORE_DUPLICATE
   for one imported before; it is counted as skipped. A re-run therefore
   completes an interrupted import without duplicates.

   Batching: appends share one store transaction (one set of directory
   fsyncs, one commit) per MIGRATE_IMPORT_BATCH messages or
   MIGRATE_IMPORT_BATCH_BYTES, so an interrupt loses at most the open
   batch. A failed append rolls the batch back and replays it one message
   per transaction, so the failure is the failing message's alone; after a
   duplicate, messages go one per transaction until the first new one (a
   re-run walks through the part done before quickly, then batches again).

   UIDs: a source UIDVALIDITY is set on an empty mailbox, and a source UID
   is kept when it is still free (at or above the mailbox's UIDNEXT), in
   the order given (the reader sorts by UID). A mailbox that already holds
   messages under another UIDVALIDITY keeps its own, with a warning, and
   the messages get new UIDs.

   Runs on the CLI's thread; every call may block on the disk. */
#ifndef PETREL_MIGRATE_IMPORT_H
#define PETREL_MIGRATE_IMPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct migrate_progress;
struct store;

/* A batch is committed at this many messages or bytes, whichever comes
   first: few enough that an interrupt loses little, many enough that the
   fsyncs stop dominating (one per batch instead of one per message). */
#define MIGRATE_IMPORT_BATCH 200
#define MIGRATE_IMPORT_BATCH_BYTES ((size_t)20 * 1024 * 1024)

struct migrate_import_stats {
	uint64_t imported;		/* committed */
	uint64_t skipped;		/* present already (duplicate key) */
	uint64_t failed;		/* reported: messages not imported,
					   folders and subscriptions */
	uint64_t bytes;			/* of the imported messages */
	unsigned folders;		/* target mailboxes */
	bool over_quota;		/* stopped: the quota is full */
	bool interrupted;		/* stopped: *stop was set */
	bool io_error;			/* stopped: the store failed */
};

struct migrate_import_msg {
	const char *source;		/* for messages: "path" */
	struct buf *data;		/* CRLF bytes; taken, left empty */
	unsigned flags;			/* enum store_flag bits */
	const char *keywords;		/* space-separated, or NULL */
	time_t internal_date;
	uint32_t uid;			/* in the source, 0: none */
	const char *key;		/* delivery key */
};

/* progress gets the warnings and the counts; stop (may be NULL) is
   polled between messages, e.g. set by a SIGINT handler. */
struct migrate_import *migrate_import_new(struct store *store,
    struct migrate_progress *progress, const volatile sig_atomic_t *stop);
/* Commits nothing: call migrate_import_finish first. */
void migrate_import_free(struct migrate_import **imp);

/* Makes name (created, with missing parents, if needed) the mailbox the
   next messages go to; the open batch is committed first. uidvalidity
   and uidnext are the source's (0: it has none). Returns 0; -1 when the
   mailbox cannot be used (reported, counted nowhere: the caller counts
   its messages as failed), -2 when the import must stop (see stats). */
int migrate_import_mailbox(struct migrate_import *imp, const char *name,
    uint32_t uidvalidity, uint32_t uidnext);

/* Appends one message to the current mailbox. Returns 0 to go on
   (imported, skipped as present, or failed and reported), -1 to stop
   (over quota, interrupted, store error: reported, see stats). */
int migrate_import_message(struct migrate_import *imp,
    struct migrate_import_msg *msg);

/* Counts a message that failed before it reached the store (the caller
   reported it), with bytes for the progress. */
void migrate_import_failed(struct migrate_import *imp, uint64_t bytes);

/* Counts a failure that is not a message (a folder that cannot be read,
   say), for the exit status; the caller reported it. */
void migrate_import_count_failure(struct migrate_import *imp);

/* The mailbox a source mailbox goes to under folder (--folder; NULL:
   the source's own name): the INBOX becomes folder, "Sub" folder/Sub.
   Heap. */
char *migrate_import_target(const char *folder, const char *source);

/* The delivery key of a message: "import:<mailbox>:<id>" where id names
   it in its source (a Maildir base name, an mbox position), or, when
   that is longer than a key may be (MIGRATE_IMPORT_KEY_MAX), "import:#"
   and 32 hex digits of a hash of it. Heap. */
#define MIGRATE_IMPORT_KEY_MAX 255
char *migrate_import_key(const char *mailbox, const char *id, size_t id_len);

/* Subscribes name. Returns 0, or -1 (reported, counted as failed). */
int migrate_import_subscribe(struct migrate_import *imp, const char *name);

/* Commits the open batch. Returns 0, or -1 (reported; the batch is
   lost, stats.io_error set). */
int migrate_import_finish(struct migrate_import *imp);

const struct migrate_import_stats *
migrate_import_stats(const struct migrate_import *imp);
#endif
