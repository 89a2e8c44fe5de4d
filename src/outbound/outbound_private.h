/* outbound_private.h — what the files of src/outbound share.

   Threads: everything in struct outbound, destinations and sessions is
   touched only on the agent's thread (its event_base), except what the
   worker jobs carry: a job owns its inputs until its done callback runs
   back on the agent's thread. */
#ifndef PETREL_OUTBOUND_PRIVATE_H
#define PETREL_OUTBOUND_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "outbound/outbound.h"
#include "queue/queue.h"

struct directory;
struct dns;
struct event;
struct event_base;
struct smtpc;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

/* Messages claimed but not yet recorded: past this the agent claims no
   more until results come back (memory, open files). */
#define OUTBOUND_MAX_IN_FLIGHT 2000
/* Messages per claim. */
#define OUTBOUND_CLAIM_BATCH 256
/* A look at queue.db at least this often (seconds): changes made by
   another process (the CLI) have no notify. */
#define OUTBOUND_POLL 5
/* An idle session is kept this long for the next message (ms). */
#define OUTBOUND_IDLE_MS 2000
/* MX hosts tried, addresses tried (Postfix: smtp_mx_address_limit 5). */
#define OUTBOUND_MAX_HOSTS 5
#define OUTBOUND_MAX_TARGETS 10

/* One claimed message, shared by its deliveries (one per route). */
struct outbound_msg {
	struct queue_envelope env;	/* claimed outbound recipients only */
	int fd;				/* msg/<id>, -1 when not opened */
	char *prepend;			/* DKIM-Signature fields, or NULL */
	size_t prepend_len;
	unsigned refs;
};

/* Where a delivery goes: a relay rule's host, or the MX of a domain. */
struct outbound_route {
	bool relay;
	char *host;			/* relay host, or the recipient domain */
	uint16_t port;
	bool tls_required;
	char *user, *password;		/* relay AUTH, or NULL */
};

/* The outcome of one recipient of a delivery. */
struct outbound_outcome {
	unsigned code;			/* 2xx, 4xx, 5xx */
	char *reply;			/* "250 2.0.0 Ok" (heap) */
	char *relay;			/* "host[ip]:port", or NULL */
	char *tls;			/* TLS description, or NULL */
	bool remote_dsn;		/* the server took NOTIFY (DSN) */
};

/* Recipients of one message sharing one route: one SMTP transaction. */
struct outbound_delivery {
	struct outbound_delivery *next;
	struct outbound_msg *msg;
	struct outbound_route route;
	char *key;			/* the destination's key */
	size_t *rcpts;			/* indexes into msg->env.rcpts */
	struct outbound_outcome *out;	/* per rcpt, filled when done */
	size_t n_rcpts;
};

struct outbound_dest;

struct outbound {
	const struct config *config;
	struct queue *queue;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *tls;
	struct worker_pool *pool;	/* one thread: queue.db, files */
	struct directory *dir;		/* used by the pool thread only */
	pthread_t thread;
	bool running;

	struct event *wake_ev;		/* queue notify, stop */
	struct event *timer_ev;		/* next due / poll */
	_Atomic bool stopping;

	bool claiming;			/* a claim job is out */
	bool claim_failed;		/* last claim hit an error */
	bool claim_again;		/* woken meanwhile */
	size_t in_flight;		/* claimed messages not yet recorded */

	struct outbound_delivery *done_head, **done_tailp; /* to record */
	bool recording;			/* a record job is out */

	struct outbound_dest *dests;
	unsigned n_sessions;		/* all destinations */
};

/* outbound.c */
/* Ends the loop when stopping and no job is out. */
void outbound_maybe_exit(struct outbound *ob);
/* Queues a finished delivery (outcomes filled) for the next record job. */
void outbound_delivery_done(struct outbound *ob, struct outbound_delivery *d);
void outbound_delivery_free(struct outbound_delivery *d);
void outbound_msg_unref(struct outbound_msg *m);
/* Delay of the message so far, in seconds. */
long outbound_delay(const struct outbound_msg *m);

/* outbound_dest.c — destinations and their SMTP sessions. */
/* Takes d: hands it to its destination (made on first use). */
void outbound_dest_enqueue(struct outbound *ob, struct outbound_delivery *d);
/* Opens sessions where deliveries wait and the limits allow. */
void outbound_dest_kick_all(struct outbound *ob);
/* Closes every session and fails nothing: pending deliveries are freed
   unrecorded (their claims are released at the next start). */
void outbound_dest_free_all(struct outbound *ob);

/* outbound_jobs.c — the worker side (blocking work). */
/* Claims due work and prepares deliveries; bounces what is owed. */
void outbound_jobs_claim(struct outbound *ob);
/* Records the deliveries done so far. */
void outbound_jobs_record(struct outbound *ob);

/* outbound_bounce.c — DSNs, on the worker thread. */
/* Sends (queues) the report about rcpts (indexes into env->rcpts, each
   with its action and status) of env; mail_from "" is dropped (logged).
   Returns 0 (sent or dropped), -1 when the report could not be queued
   (*error_r heap): the caller tries again later. */
struct outbound_dsn_rcpt {
	size_t i;			/* into env->rcpts */
	int action;			/* enum dsn_action */
	const char *reply;		/* the reply or reason, or NULL */
	const char *relay;		/* host name that answered, or NULL */
};
int outbound_bounce_send(struct outbound *ob, const struct queue_envelope *env,
    const struct outbound_dsn_rcpt *rcpts, size_t n, char *qid_r,
    char **error_r);
/* "5.1.1" from "550 5.1.1 text", else def. Writes into out (16 bytes). */
void outbound_bounce_status(const char *reply, const char *def, char *out);
#endif
