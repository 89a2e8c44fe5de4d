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
struct dns_result;
struct event;
struct event_base;
struct smtpc;
struct smtpc_tlsa;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

/* Debian's DNSSEC root trust anchor (package dns-root-data). */
#define OUTBOUND_ROOT_KEY "/usr/share/dns/root.key"
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

	struct worker_pool *sts_pool;	/* MTA-STS fetches (slow HTTPS) */
	unsigned sts_jobs;		/* out on sts_pool */
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

/* outbound_from.c — pure. */
/* The domain of the one mailbox of the one From field of the message
   msg[0..len) (header and body; only the header is read), lower-case, as
   a heap string in *domain_r. Returns 0, or -1 (*domain_r NULL) when
   there is no such field, several, a list, a group, a domain literal or
   bad syntax. */
int outbound_from_domain(const char *msg, size_t len, char **domain_r);

/* outbound_dkim.c — signing, on the worker thread. */
struct config;
/* Whether mail with env is ours to sign: an authenticated sender, or a
   client of [submission] relay_networks. */
bool outbound_dkim_wanted(const struct config *config,
    const struct queue_envelope *env);
/* Signs m (its fd open) when outbound_dkim_wanted and its From domain
   has active keys: m->prepend gets the DKIM-Signature fields. Returns 0
   (signed, or nothing to sign, or a key that cannot sign: logged, sent
   unsigned), or -1 when the keys or the file could not be read (the
   caller defers). Blocks (SQLite, the file). */
int outbound_dkim_sign(struct outbound *ob, struct outbound_msg *m);

/* outbound_dane.c — pure. */
enum outbound_dane {
	OUTBOUND_DANE_NONE,		/* opportunistic TLS */
	OUTBOUND_DANE_REQUIRED,		/* TLS verified with the records */
	OUTBOUND_DANE_TEMPFAIL,		/* skip the host, defer */
};
/* The DANE decision for one MX host (RFC 7672 §2.2): chain_secure says
   whether the MX answer and the host's address answers were all
   DNSSEC-secure; tlsa is the answer for _PORT._tcp.HOST (NULL: not
   asked). On REQUIRED, *records_r (heap, free with outbound_dane_free)
   holds the usable records, their data copied; else NULL and 0. */
enum outbound_dane outbound_dane_decide(bool chain_secure,
    const struct dns_result *tlsa, struct smtpc_tlsa **records_r,
    size_t *n_r);
/* A deep copy of n records (heap; outbound_dane_free). */
struct smtpc_tlsa *outbound_dane_copy(const struct smtpc_tlsa *records,
    size_t n);
/* Frees records and their data; sets *records to NULL; accepts NULL. */
void outbound_dane_free(struct smtpc_tlsa **records, size_t n);

/* outbound_sts.c — MTA-STS syntax (RFC 8461), pure. */
/* RFC 8461 §3.3: senders may cap the policy at 64 KiB. */
#define OUTBOUND_STS_MAX_POLICY (64 * 1024)
/* mx lines kept from one policy (real ones list a handful). */
#define OUTBOUND_STS_MAX_MX 64

enum outbound_sts_mode {
	OUTBOUND_STS_NONE,
	OUTBOUND_STS_TESTING,
	OUTBOUND_STS_ENFORCE,
};

struct outbound_sts_policy {
	enum outbound_sts_mode mode;
	char **mx;			/* patterns, lower-case, heap */
	size_t n_mx;
	uint32_t max_age;		/* seconds */
};

/* The id of an "_mta-sts" TXT record ("v=STSv1; id=..."), written into
   id_r (1 to 32 alphanumerics and a NUL). 0, or -1 when txt[0..len) is
   not an STSv1 record or has no valid id. */
int outbound_sts_txt_id(const char *txt, size_t len, char id_r[33]);
/* Parses a policy file. 0 with *policy filled (outbound_sts_policy_clear
   frees), or -1 with *error_r static and *policy empty. */
int outbound_sts_policy_parse(const char *text, size_t len,
    struct outbound_sts_policy *policy, const char **error_r);
void outbound_sts_policy_clear(struct outbound_sts_policy *policy);
/* Whether host (an MX name, lower or upper case, final dot optional)
   matches one of policy's mx patterns (§4.1: "*." covers one label). */
bool outbound_sts_policy_match(const struct outbound_sts_policy *policy,
    const char *host);
const char *outbound_sts_mode_name(enum outbound_sts_mode mode);

/* outbound_sts_fetch.c — the policy of a domain (DNS, cache, HTTPS). */
struct outbound_sts_lookup;
/* policy is the one in force (valid during the call), or NULL: none. */
typedef void outbound_sts_done_fn(const struct outbound_sts_policy *policy,
    void *ctx);
/* Starts finding domain's policy; done runs once, later, on the agent's
   thread, unless cancelled. Never returns NULL. */
struct outbound_sts_lookup *outbound_sts_lookup(struct outbound *ob,
    const char *domain, outbound_sts_done_fn *done, void *ctx);
/* done will not run. Sets *l to NULL; accepts NULL. Before dns_free. */
void outbound_sts_cancel(struct outbound_sts_lookup **l);
/* curl_global_init, once, before threads use curl. */
void outbound_sts_global_init(void);

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
