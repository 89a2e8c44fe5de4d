/* service_delay.h — a reply held back for a while (an unknown recipient's
   or a failed login's answer): the session's input and idle timer pause
   meanwhile, since the client is waiting for us, and fn runs on the
   session's thread when the time is up. */
#ifndef PETREL_SERVICE_DELAY_H
#define PETREL_SERVICE_DELAY_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct event;

typedef void service_delay_fn(void *ctx);

struct service_delay {
	struct event *timer;		/* made on first use */
	char *reply;			/* held; NULL when none */
	service_delay_fn *fn;
	void *ctx;
};

/* Holds a copy of reply for ms on conn; fn(ctx) runs then. One at a
   time: holding a second one is a bug (panics). */
void service_delay_start(struct service_delay *d, struct conn *conn,
    unsigned ms, const char *reply, service_delay_fn *fn, void *ctx);
static inline bool
service_delay_is_pending(const struct service_delay *d)
{
	return d->reply != NULL;
}
/* In fn: the held reply (heap, the caller frees) with conn's idle timer
   restored to idle_ms; NULL when none. */
char *service_delay_take(struct service_delay *d, struct conn *conn,
    unsigned idle_ms);
/* Drops a held reply (the client left). */
void service_delay_cancel(struct service_delay *d);
/* Frees everything; d may be reused after zeroing. */
void service_delay_clear(struct service_delay *d);

/* conn limits for a session service: conn's defaults with this idle
   timeout in seconds. */
struct conn_limits;
void service_conn_limits(unsigned idle_seconds, struct conn_limits *limits);
#endif
