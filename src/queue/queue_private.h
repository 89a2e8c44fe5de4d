/* queue_private.h — what the files of src/queue/ share: the handle, the
   writer, and the functions of queue_id.c, queue_db.c and queue_commit.c.
   Nothing outside src/queue/ includes this file.

   Locking: mutex guards the committer's job list and the stats; read_mutex
   guards the read connection (queue_list/queue_show). The write connection
   belongs to the committer thread once it runs (queue_open uses it before). */
#ifndef PETREL_QUEUE_PRIVATE_H
#define PETREL_QUEUE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue/queue.h"

struct queue_db;
struct queue_job;

/* Ids are at most 31 characters of [0-9A-Za-z] (queue_envelope.id[32]). */
#define QUEUE_ID_SIZE 32

struct queue {
	char *dir;			/* DATA/queue */
	int tmp_fd, msg_fd;		/* directory fds of tmp/ and msg/ */
	int lock_fd;			/* flock: see queue_open */

	struct queue_db *wdb;		/* committer thread's connection */
	struct queue_db *rdb;		/* queue_list/queue_show */
	pthread_mutex_t read_mutex;

	pthread_mutex_t mutex;
	pthread_cond_t cond;		/* wakes the committer */
	struct queue_job *head;		/* pending, oldest first */
	struct queue_job **tailp;
	bool stopping;
	bool running;			/* the committer thread runs */
	pthread_t thread;
	struct queue_stats stats;
	queue_notify_fn *notify;	/* after each group commit */
	void *notify_ctx;
	queue_notify_fn *out_notify;	/* after queue_update, admin ops */
	void *out_notify_ctx;

	struct queue_db *ddb;		/* delivery agents' connection */
	pthread_mutex_t deliver_mutex;	/* guards ddb */
};

struct queue_writer {
	struct queue *queue;
	char id[QUEUE_ID_SIZE];
	int fd;				/* tmp/<id>, -1 once closed */
	uint64_t size;
	int error;			/* errno of the first failed write */
};

/* queue_id.c */
/* Writes a new id into id_r: 12 hex digits of microseconds since the
   epoch, 4 of a per-process counter, 8 of a per-process random salt, so ids
   sort by arrival and differ across threads, processes and restarts. */
void queue_id_new(char id_r[QUEUE_ID_SIZE]);
/* 1 to 31 characters of [0-9A-Za-z]: safe as a file name. */
bool queue_id_is_valid(const char *id);

/* queue_msgid.c */
/* The "<...>" of the first Message-ID field in the header block that head
   (len bytes, the start of a message) begins; heap, or NULL when there is
   none in those bytes. */
char *queue_msgid_find(const char *head, size_t len);

/* queue_db.c — the SQLite backend; may block. */
/* Opens DATA/queue/queue.db. The writer connection creates the file and
   brings the schema up to date; the reader is query-only. Returns 0, or -1
   with *error_r (heap). */
int queue_db_open(const char *path, bool writer, struct queue_db **db_r,
    char **error_r);
void queue_db_close(struct queue_db **db);
/* Group-commit transaction: begin, one insert per message (each in its own
   savepoint, so a bad row fails only its message), commit or rollback.
   Each returns 0, or -1 with *error_r (heap). */
int queue_db_begin(struct queue_db *db, char **error_r);
/* msgid: the message's Message-ID for petrel trace, or NULL. */
int queue_db_insert(struct queue_db *db, const struct queue_envelope *env,
    const char *msgid, char **error_r);
int queue_db_commit(struct queue_db *db, char **error_r);
void queue_db_rollback(struct queue_db *db);
/* 1 when a row names id, 0 when none does, -1 on error (*error_r). */
int queue_db_exists(struct queue_db *db, const char *id, char **error_r);
/* Calls fn for every message row (recovery). fn returns 0 to go on. */
typedef int queue_db_each_fn(const char *id, uint64_t size, void *ctx);
int queue_db_each(struct queue_db *db, queue_db_each_fn *fn, void *ctx,
    char **error_r);
/* As queue_list and queue_show, on one connection. */
int queue_db_list(struct queue_db *db, struct queue_envelope **envs_r,
    size_t *n_r, char **error_r);
int queue_db_show(struct queue_db *db, const char *id,
    struct queue_envelope *env_r, char **error_r);

/* Shared by queue_db.c and queue_db_due.c. */
struct sqlite3;
struct sqlite3_stmt;
struct sqlite3 *queue_db_sqlite(struct queue_db *db);
int queue_db_read_message(struct sqlite3_stmt *stmt,
    struct queue_envelope *env, char **error_r);
/* Reads the recipients stmt selects (QUEUE_DB_RCPT_COLUMNS, message id
   bound to parameter 1) into env. */
int queue_db_read_rcpts(struct queue_db *db, struct sqlite3_stmt *stmt,
    struct queue_envelope *env, char **error_r);
#define QUEUE_DB_MESSAGE_COLUMNS \
	"SELECT id, mail_from, body, smtputf8, ret, envid, helo, client_addr," \
	" auth_user, arrival, size, next_attempt, attempts FROM messages"
#define QUEUE_DB_RCPT_COLUMNS \
	"SELECT address, notify, orcpt, status, last_error, idx," \
	" retry_at, tries, dsn_sent, relay FROM recipients"

/* The recipients of message ?1 that keep it queued: not delivered or
   failed yet, or owed a DSN (failure; success for NOTIFY=SUCCESS, bit 2
   of notify). Used with a DELETE once the count is 0. */
#define QUEUE_DB_LEFT_SQL \
	"SELECT count(*) FROM recipients WHERE message_id = ?1 AND NOT (" \
	" (status = 'delivered' AND ((notify & 2) = 0 OR (dsn_sent & 1)))" \
	" OR (status = 'failed' AND (dsn_sent & 1)))"
/* A trace event about recipient ?5 of message ?1: time ?2, event ?3,
   detail ?4. */
#define QUEUE_DB_EVENT_RCPT_SQL \
	"INSERT INTO events (qid, time, event, rcpt, detail)" \
	" SELECT ?1, ?2, ?3, address, ?4 FROM recipients" \
	" WHERE message_id = ?1 AND idx = ?5"

/* queue_db_due.c — what delivery agents read and write. */
int queue_db_due(struct queue_db *db, int64_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r);
int queue_db_next_due(struct queue_db *db, int64_t *when_r, char **error_r);
/* Applies the results; the ids of messages now complete (removed) are
   appended to *done_r (heap array of QUEUE_ID_SIZE strings). */
int queue_db_update(struct queue_db *db, const struct queue_result *results,
    size_t n, char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r,
    char **error_r);

/* queue_db_outbound.c — the outbound agent's SQL; as queue_outbound_*. */
int queue_db_outbound_reset(struct queue_db *db, char **error_r);
int queue_db_outbound_claim(struct queue_db *db, int64_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r);
int queue_db_outbound_next(struct queue_db *db, int64_t *when_r,
    char **error_r);
int queue_db_outbound_record(struct queue_db *db,
    const struct queue_outbound_result *results, size_t n,
    char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r, char **error_r);

/* queue_db_admin.c — administration and trace; as queue_admin_* and
   queue_event_add/queue_trace. ids of removed messages go to *done_r as in
   queue_db_update. */
int queue_db_admin_retry(struct queue_db *db, const char *id,
    char **error_r);
int queue_db_admin_delete(struct queue_db *db, const char *id,
    char (**done_r)[QUEUE_ID_SIZE], size_t *n_done_r, char **error_r);
int queue_db_admin_bounce(struct queue_db *db, const char *id,
    const char *reason, char **error_r);
int queue_db_event_add(struct queue_db *db, const char *qid,
    const char *event, const char *rcpt, const char *detail, char **error_r);
int queue_db_trace(struct queue_db *db, const char *key,
    struct queue_event **events_r, size_t *n_r, char **error_r);
int queue_db_msgid_queued(struct queue_db *db, const char *msgid,
    char **error_r);
/* Forgets events older than before. */
int queue_db_events_trim(struct queue_db *db, int64_t before, char **error_r);

/* queue_deliver.c: removes the files of messages whose rows went. */
void queue_deliver_unlink(struct queue *queue,
    char (*done)[QUEUE_ID_SIZE], size_t n_done, const char *reason);
/* Calls the outbound notify, if any. */
void queue_deliver_notify_outbound(struct queue *queue);

/* queue_commit.c */
/* Starts and stops the committer thread; stop drains the pending jobs. */
void queue_commit_start(struct queue *queue);
void queue_commit_stop(struct queue *queue);
#endif
