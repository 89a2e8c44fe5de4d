/* outbound.c — the agent's life: its thread and event loop, the wake-ups
   (queue notify, the timer, stop), and the hand-over of finished
   deliveries to the record job. */
#include "outbound/outbound_private.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "directory/directory.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "smtpc/smtpc.h"

#include <openssl/ssl.h>

/* Thread-safe: the queue's committer, the delivery thread and the CLI's
   own process call it; event_active is safe across threads once
   worker_threads_init ran. */
static void
outbound_notify(void *ctx)
{
	struct outbound *ob = ctx;

	event_active(ob->wake_ev, EV_READ, 0);
}

static void
outbound_wake_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct outbound *ob = ctx;

	(void)fd;
	(void)what;
	if (atomic_load(&ob->stopping)) {
		/* Sessions go now; results in hand are recorded; the loop
		   ends once no job is out (their done callbacks need it). */
		outbound_dest_free_all(ob);
		outbound_jobs_record(ob);
		outbound_maybe_exit(ob);
		return;
	}
	outbound_jobs_claim(ob);
}

void
outbound_maybe_exit(struct outbound *ob)
{
	/* A little later: sessions just freed say QUIT and wait for its
	   reply on this loop (smtpc lingers until the close). */
	struct timeval tv = { 0, 500 * 1000 };

	if (atomic_load(&ob->stopping) && !ob->claiming && !ob->recording &&
	    ob->done_head == NULL && ob->sts_jobs == 0)
		event_base_loopexit(ob->base, &tv);
}

static void
outbound_timer_cb(evutil_socket_t fd, short what, void *ctx)
{
	outbound_wake_cb(fd, what, ctx);
}

void
outbound_msg_unref(struct outbound_msg *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	if (m->fd != -1)
		close(m->fd);
	free(m->prepend);
	queue_envelope_clear(&m->env);
	free(m);
}

long
outbound_delay(const struct outbound_msg *m)
{
	time_t now = time(NULL);

	return now > m->env.arrival ? (long)(now - m->env.arrival) : 0;
}

void
outbound_delivery_free(struct outbound_delivery *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; d->out != NULL && i < d->n_rcpts; i++) {
		free(d->out[i].reply);
		free(d->out[i].relay);
		free(d->out[i].tls);
	}
	free(d->out);
	free(d->rcpts);
	free(d->key);
	free(d->route.host);
	free(d->route.user);
	if (d->route.password != NULL) {
		explicit_bzero(d->route.password, strlen(d->route.password));
		free(d->route.password);
	}
	outbound_msg_unref(d->msg);
	free(d);
}

void
outbound_delivery_done(struct outbound *ob, struct outbound_delivery *d)
{
	d->next = NULL;
	*ob->done_tailp = d;
	ob->done_tailp = &d->next;
	outbound_jobs_record(ob);
}

static void *
outbound_main(void *arg)
{
	struct outbound *ob = arg;

	worker_base_attach(ob->base);
	/* What a previous run left due goes at once. */
	event_active(ob->wake_ev, EV_READ, 0);
	event_base_dispatch(ob->base);
	worker_pool_free(&ob->pool);
	worker_pool_free(&ob->sts_pool);
	worker_base_detach(ob->base);
	return NULL;
}

struct outbound *
outbound_new(const struct config *config, struct queue *queue, char **error_r)
{
	struct outbound *ob = xcalloc(1, sizeof(*ob));
	struct dns_options dopt = { 0 };

	worker_threads_init();
	ob->config = config;
	ob->queue = queue;
	ob->done_tailp = &ob->done_head;
	if (queue_outbound_reset(queue, error_r) == -1)
		goto fail;
	if (directory_open(config->data_dir, false, &ob->dir, error_r) == -1)
		goto fail;
	if ((ob->base = event_base_new()) == NULL) {
		*error_r = xstrdup("outbound: cannot create an event base");
		goto fail;
	}
	dopt.resolver = config->outbound.resolver;
	dopt.trust_anchor_file = config->outbound.trust_anchor;
	/* DANE needs validation. Debian's dns-root-data key is the
	   default, but only when unbound asks the system's resolvers: a
	   configured forwarder (a test stub, a resolver that strips
	   RRSIGs) would make every answer bogus under an anchor it was
	   not given explicitly. */
	if (dopt.trust_anchor_file == NULL && dopt.resolver == NULL &&
	    access(OUTBOUND_ROOT_KEY, R_OK) == 0)
		dopt.trust_anchor_file = OUTBOUND_ROOT_KEY;
	if ((ob->dns = dns_new(ob->base, &dopt, error_r)) == NULL)
		goto fail;
	if ((ob->tls = smtpc_tls_ctx_new(config->outbound.tls_ca_file,
	    error_r)) == NULL)
		goto fail;
	ob->wake_ev = event_new(ob->base, -1, 0, outbound_wake_cb, ob);
	ob->timer_ev = evtimer_new(ob->base, outbound_timer_cb, ob);
	ob->pool = worker_pool_new(1);
	/* Apart: a slow policy host must not hold up claims and records. */
	ob->sts_pool = worker_pool_new(1);
	outbound_sts_global_init();
	queue_set_outbound_notify(queue, outbound_notify, ob);
	if ((errno = pthread_create(&ob->thread, NULL, outbound_main,
	    ob)) != 0) {
		*error_r = xasprintf("outbound: pthread_create: %s",
		    strerror(errno));
		queue_set_outbound_notify(queue, NULL, NULL);
		goto fail;
	}
	ob->running = true;
	return ob;
fail:
	outbound_free(&ob);
	return NULL;
}

void
outbound_free(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (ob == NULL)
		return;
	if (ob->running) {
		queue_set_outbound_notify(ob->queue, NULL, NULL);
		atomic_store(&ob->stopping, true);
		event_active(ob->wake_ev, EV_READ, 0);
		pthread_join(ob->thread, NULL);
	}
	worker_pool_free(&ob->pool);
	worker_pool_free(&ob->sts_pool);
	if (ob->wake_ev != NULL)
		event_free(ob->wake_ev);
	if (ob->timer_ev != NULL)
		event_free(ob->timer_ev);
	dns_free(&ob->dns);
	if (ob->tls != NULL)
		SSL_CTX_free(ob->tls);
	if (ob->base != NULL)
		event_base_free(ob->base);
	directory_close(&ob->dir);
	free(ob);
	*obp = NULL;
}
