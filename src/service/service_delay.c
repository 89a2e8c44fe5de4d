/* service_delay.c — see service_delay.h. */
#include "service/service_delay.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conn.h"
#include "lib/xmalloc.h"

static void
service_delay_fire(evutil_socket_t fd, short what, void *arg)
{
	struct service_delay *d = arg;

	(void)fd;
	(void)what;
	d->fn(d->ctx);
}

void
service_delay_start(struct service_delay *d, struct conn *conn, unsigned ms,
    const char *reply, service_delay_fn *fn, void *ctx)
{
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	if (d->reply != NULL)
		panic("service_delay_start: a reply is already held");
	if (d->timer == NULL) {
		d->timer = evtimer_new(conn_event_base(conn),
		    service_delay_fire, d);
		if (d->timer == NULL)
			panic("service_delay_start: evtimer_new");
	}
	d->fn = fn;
	d->ctx = ctx;
	d->reply = xstrdup(reply);
	conn_pause_input(conn);
	/* The client waits for us: no idle timeout while we hold back. */
	conn_set_idle_timeout(conn, 0);
	if (evtimer_add(d->timer, &tv) == -1)
		panic("service_delay_start: evtimer_add");
}

char *
service_delay_take(struct service_delay *d, struct conn *conn,
    unsigned idle_ms)
{
	char *reply = d->reply;

	d->reply = NULL;
	if (reply != NULL && conn != NULL)
		conn_set_idle_timeout(conn, idle_ms);
	return reply;
}

void
service_delay_cancel(struct service_delay *d)
{
	if (d->timer != NULL)
		evtimer_del(d->timer);
	xfree(&d->reply);
}

void
service_delay_clear(struct service_delay *d)
{
	if (d->timer != NULL)
		event_free(d->timer);
	d->timer = NULL;
	xfree(&d->reply);
}

void
service_conn_limits(unsigned idle_seconds, struct conn_limits *limits)
{
	uint64_t idle_ms = (uint64_t)idle_seconds * 1000;

	memset(limits, 0, sizeof(*limits));
	limits->idle_timeout_ms = idle_ms > UINT32_MAX ? UINT32_MAX :
	    (unsigned)idle_ms;
	conn_limits_defaults(limits);
}
