/* queue.h — the durable mail queue: DATA/queue/queue.db (SQLite, WAL) holds
   envelopes and delivery state; DATA/queue/msg/<id> holds the message bytes,
   written once, never modified (DESIGN.md §3).

   Durability order: bytes to DATA/queue/tmp/<id> → fsync(file) →
   rename into msg/ → fsync(msg dir) → commit the envelope row → the
   completion callback → "250 2.0.0 queued as <id>". Concurrent commits
   share one directory fsync and one SQLite transaction (group commit), so
   durability does not cost a transaction per message. On open, files in tmp/
   and files in msg/ without a committed row are removed: acknowledged mail
   always has both, unacknowledged mail has neither. Only the first process
   to open the queue recovers it (a CLI run beside the server does not).

   Thread model: a queue handle is shared by all threads. queue_writer_*
   run on the I/O thread that receives the message (plain write(2) into the
   page cache; no fsync). queue_commit_async hands the writer to the
   committer thread, and the callback runs on the event_base given. */
#ifndef PETREL_QUEUE_H
#define PETREL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct queue;
struct queue_writer;

/* DSN NOTIFY bits (RFC 3461 §4.1); 0 means not given. */
enum queue_notify {
	QUEUE_NOTIFY_NEVER = 1 << 0,
	QUEUE_NOTIFY_SUCCESS = 1 << 1,
	QUEUE_NOTIFY_FAILURE = 1 << 2,
	QUEUE_NOTIFY_DELAY = 1 << 3,
};

enum queue_body { QUEUE_BODY_7BIT, QUEUE_BODY_8BITMIME, QUEUE_BODY_BINARYMIME };
enum queue_ret { QUEUE_RET_UNSET, QUEUE_RET_FULL, QUEUE_RET_HDRS };

struct queue_rcpt {
	char *address;		/* as given in RCPT TO, without <> */
	unsigned notify;	/* enum queue_notify bits */
	char *orcpt;		/* ORCPT value ("rfc822;x@y"), or NULL */
	/* Filled by queue_list/queue_show/queue_due: */
	unsigned idx;		/* position in the envelope, stable */
	char *status;		/* enum queue_rcpt_status as its name */
	char *last_error;	/* last delivery answer, or NULL */
	/* The outbound agent's state (queue_outbound_*): */
	time_t retry_at;	/* next remote attempt; 0: at once */
	unsigned tries;		/* remote attempts so far */
	unsigned dsn_sent;	/* enum queue_dsn_sent bits */
	char *relay;		/* last remote server "host[ip]:port", or
				   NULL */
};

/* Which DSNs a recipient has had (RFC 3464): the final one (failure, or
   success for NOTIFY=SUCCESS) and the delay warning. */
enum queue_dsn_sent {
	QUEUE_DSN_SENT_FINAL = 1 << 0,
	QUEUE_DSN_SENT_DELAY = 1 << 1,
};

struct queue_envelope {
	char id[32];		/* assigned by queue_writer_new */
	char *mail_from;	/* without <>; "" for the null sender */
	enum queue_body body;
	bool smtputf8;
	enum queue_ret ret;
	char *envid;		/* ENVID, or NULL */
	char *helo;		/* client's EHLO/HELO name */
	char *client_addr;	/* client IP as text */
	char *auth_user;	/* authenticated user, or NULL */
	struct queue_rcpt *rcpts;
	size_t n_rcpts;
	/* Filled by the queue: */
	time_t arrival;
	uint64_t size;		/* bytes of the stored message */
	time_t next_attempt;
	unsigned attempts;	/* delivery attempts so far */
};

/* Opens (creating when missing) DATA/queue and recovers it. Returns 0, or -1
   with *error_r (heap). May block: call before serving, or on a worker. */
int queue_open(const char *data_dir, struct queue **queue_r, char **error_r);
/* Stops the committer after the commits already handed to it. Every
   writer must have been committed or aborted before, and the event_bases
   named in those commits must outlive this call (their completions are
   posted to them). Accepts NULL. */
void queue_close(struct queue **queue);

/* Starts a new message: a unique, time-sortable id and an open tmp file.
   Returns NULL with *error_r (static text) on a disk error. */
struct queue_writer *queue_writer_new(struct queue *queue,
    const char **error_r);
const char *queue_writer_id(const struct queue_writer *w);
/* Appends bytes. Returns 0, or -1 on a write error (disk full...). */
int queue_writer_write(struct queue_writer *w, const void *data, size_t len);
uint64_t queue_writer_size(const struct queue_writer *w);
/* Abandons the message and removes its tmp file. Accepts NULL. */
void queue_writer_abort(struct queue_writer **w);

/* Called on the thread of the event_base passed to queue_commit_async once
   the message is durable (ok true) or could not be made durable (ok false,
   error is a short reason for the log; the caller answers 451 4.3.0). */
typedef void queue_commit_cb(bool ok, const char *id, const char *error,
    void *ctx);

/* Takes ownership of *w (sets it to NULL) and copies env. Group commit.
   Never blocks and never calls cb before returning. With base == NULL, cb
   runs on the committer thread: it must be quick and must not call
   queue_commit (tests, tools without an event loop). */
void queue_commit_async(struct queue *queue, struct queue_writer **w,
    const struct queue_envelope *env, struct event_base *base,
    queue_commit_cb *cb, void *ctx);
/* The same, blocking until durable (CLI, tests). Returns 0, or -1 with
   *error_r (heap). Not from a base == NULL callback. */
int queue_commit(struct queue *queue, struct queue_writer **w,
    const struct queue_envelope *env, char **error_r);

/* Inspection for the CLI and (later) the web UI, on a query-only SQLite
   connection of its own (serialised by a mutex), so they never wait for a
   group commit. May block. queue_list fills a heap array of envelopes
   (rcpts included), oldest first; free it with queue_envelopes_free. */
int queue_list(struct queue *queue, struct queue_envelope **envs_r,
    size_t *n_r, char **error_r);
/* 0 found, 1 not found, -1 error. */
int queue_show(struct queue *queue, const char *id,
    struct queue_envelope *env_r, char **error_r);
/* Path of a queued message's bytes ("DATA/queue/msg/<id>"); heap. */
char *queue_message_path(struct queue *queue, const char *id);
void queue_envelope_clear(struct queue_envelope *env);
void queue_envelopes_free(struct queue_envelope *envs, size_t n);

/* Counters of this handle since queue_open (tests, metrics). A batch is one
   group commit: one msg/ directory fsync and one SQLite transaction. */
/* --- delivery agents ----------------------------------------------------
   A recipient is "queued" (new), "deferred" (a delivery failed
   temporarily; retried at the message's next_attempt), "delivered",
   "failed" (permanently; the bounce is due) or "outbound" (waiting for
   remote delivery, also between remote attempts). A message leaves the
   queue, row and file, when every recipient is delivered or failed, and
   the DSNs it owes (failure; success for NOTIFY=SUCCESS) are sent. */

/* Called on the committer thread after each group commit that queued
   messages (to wake a delivery agent). Set before any commit; quick and
   thread-safe. */
typedef void queue_notify_fn(void *ctx);
void queue_set_notify(struct queue *queue, queue_notify_fn *fn, void *ctx);

/* Up to max messages with queued or deferred recipients whose
   next_attempt <= now, oldest first, with only those recipients. Free
   with queue_envelopes_free. May block (one SQLite read). */
int queue_due(struct queue *queue, time_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r);
/* The earliest next_attempt of a message with queued or deferred
   recipients: 0 with *when_r, 1 when there is none, -1 on error. */
int queue_next_due(struct queue *queue, time_t *when_r, char **error_r);

struct queue_rcpt_result {
	unsigned idx;
	const char *status;	/* "delivered", "deferred", "failed" */
	const char *last_error;	/* the reply or reason, or NULL */
};

/* What one delivery attempt did to one message. */
struct queue_result {
	const char *id;
	const struct queue_rcpt_result *rcpts;
	size_t n_rcpts;
	/* New recipients (forwards) added as "outbound". */
	const char *const *outbound;
	size_t n_outbound;
	time_t next_attempt;	/* for the deferred ones */
};

/* Records the results of n messages in one transaction (durable when it
   returns 0), then removes the messages whose recipients are all done
   (see above). Each result is also a trace event. Wakes the outbound
   agent (queue_set_outbound_notify) when it committed. May block. */
int queue_update(struct queue *queue, const struct queue_result *results,
    size_t n, char **error_r);

/* --- the outbound agent -------------------------------------------------
   Work is claimed, so that a recipient is in at most one attempt: claimed
   rows are not returned again until recorded, and queue_outbound_reset
   (when the agent starts) releases what a crashed run held. All of it may
   block (SQLite writes): call from a worker thread. */

/* Called after queue_update and the admin operations of this process
   changed recipients (the outbound agent's wake-up). Quick, thread-safe. */
void queue_set_outbound_notify(struct queue *queue, queue_notify_fn *fn,
    void *ctx);

/* Releases every claim. Returns 0, or -1 with *error_r (heap). */
int queue_outbound_reset(struct queue *queue, char **error_r);

/* Claims up to max messages with outbound work due at now, oldest first:
   recipients "outbound" with retry_at <= now, and "failed" ones (and
   "delivered" ones with NOTIFY=SUCCESS) whose final DSN is not sent. Each
   envelope holds only its claimed recipients. Free with
   queue_envelopes_free. Returns 0, or -1 with *error_r (heap). */
int queue_outbound_claim(struct queue *queue, time_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r);
/* The earliest retry_at of an unclaimed outbound recipient: 0 with
   *when_r, 1 when there is none, -1 on error. */
int queue_outbound_next(struct queue *queue, time_t *when_r,
    char **error_r);

struct queue_outbound_rcpt {
	unsigned idx;
	/* "outbound" (deferred: try again at retry_at), "delivered",
	   "failed"; NULL leaves the status (a DSN was sent). A status is
	   only applied to a recipient still "outbound", so an
	   administrator's bounce or delete meanwhile wins. */
	const char *status;
	const char *last_error;	/* the reply or reason; NULL: keep */
	const char *relay;	/* "host[ip]:port"; NULL: keep */
	time_t retry_at;
	bool attempted;		/* counts as a try */
	unsigned dsn_sent;	/* enum queue_dsn_sent bits to add */
	/* A trace event for this recipient, or NULL: "delivered",
	   "deferred", "bounced", ... with key=value detail (or NULL). */
	const char *event;
	const char *detail;
};

struct queue_outbound_result {
	const char *id;
	const struct queue_outbound_rcpt *rcpts;
	size_t n_rcpts;
};

/* Records results (and releases their claims) in one transaction, durable
   when it returns 0, then removes the messages now done. */
int queue_outbound_record(struct queue *queue,
    const struct queue_outbound_result *results, size_t n, char **error_r);

/* --- administration (petrel queue retry|delete|bounce) -----------------
   id NULL: every message. Each returns the number of messages changed,
   or -1 with *error_r (heap). A running server sees the change at its
   next look at the queue (within a minute for local delivery, seconds for
   the outbound agent). */
/* Makes every pending recipient due now. */
int queue_admin_retry(struct queue *queue, const char *id, char **error_r);
/* Removes messages, rows and files, without any DSN. */
int queue_admin_delete(struct queue *queue, const char *id, char **error_r);
/* Fails every pending recipient with "reason", so the sender gets the
   bounce (NOTIFY permitting). */
int queue_admin_bounce(struct queue *queue, const char *id,
    const char *reason, char **error_r);

/* --- trace -------------------------------------------------------------
   Every event in a message's life, kept after it left the queue (for
   QUEUE_EVENTS_DAYS days). */
#define QUEUE_EVENTS_DAYS 30
struct queue_event {
	char qid[32];
	time_t time;
	char *event;		/* "queued", "delivered", "deferred", ... */
	char *rcpt;		/* or NULL */
	char *detail;		/* key=value text, or NULL */
};
/* Adds an event. Returns 0, or -1 with *error_r (heap). */
int queue_event_add(struct queue *queue, const char *qid, const char *event,
    const char *rcpt, const char *detail, char **error_r);
/* The events of queue id or Message-ID key ("<x@y>", with or without the
   brackets), and of the DSNs sent about it, in time order. Heap array;
   free with queue_events_free. Returns 0 (n may be 0), -1 on error. */
int queue_trace(struct queue *queue, const char *key,
    struct queue_event **events_r, size_t *n_r, char **error_r);
void queue_events_free(struct queue_event *events, size_t n);
/* Whether a message with Message-ID msgid ("<x@y>", as in the header) was
   queued within QUEUE_EVENTS_DAYS: 1 yes, 0 no, -1 with *error_r (heap).
   Lets a generated message (a DSN) with a deterministic Message-ID be
   queued at most once across crashes. May block. */
int queue_msgid_queued(struct queue *queue, const char *msgid,
    char **error_r);

struct queue_stats {
	uint64_t batches;	/* group commits run */
	uint64_t queued;	/* messages made durable */
	uint64_t failed;	/* commits answered ok=false */
};
void queue_stats(struct queue *queue, struct queue_stats *stats_r);
/* --- MTA-STS policy cache (RFC 8461 §3.3) -------------------------------
   One row per recipient domain: the TXT id the policy was fetched under,
   the policy text as served, when it expires (fetched + max_age). Both
   block on SQLite: the outbound agent's worker threads only. */
/* 0 with *policy_id_r and *policy_r (heap) and *expires_r, 1 when the
   domain has no row, -1 with *error_r (heap). */
int queue_mta_sts_get(struct queue *q, const char *domain,
    char **policy_id_r, char **policy_r, time_t *expires_r, char **error_r);
/* Stores (or replaces) the row of domain. 0, or -1 with *error_r. */
int queue_mta_sts_put(struct queue *q, const char *domain,
    const char *policy_id, const char *policy, time_t fetched,
    time_t expires, char **error_r);
#endif
