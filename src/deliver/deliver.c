/* deliver.c — the delivery agent's thread: sleep until the queue says
   something was queued or the next deferred message is due, then run
   passes until nothing is due. */
#include "deliver/deliver_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"

/* The longest sleep: a deferred message whose time came while the clock
   jumped, or a queue written by another process, is seen within this. */
#define DELIVER_IDLE_MAX 60

static void
deliver_wake(void *ctx)
{
	struct deliver *d = ctx;

	pthread_mutex_lock(&d->mutex);
	d->woken = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->mutex);
}

static bool
deliver_stopping(struct deliver *d)
{
	bool stopping;

	pthread_mutex_lock(&d->mutex);
	stopping = d->stopping;
	pthread_mutex_unlock(&d->mutex);
	return stopping;
}

/* Passes until nothing is due, or (the thread) until deliver_free asks to
   stop: a large backlog must not hold up shutdown until all of it is
   delivered, only until the pass under way is recorded. */
int
deliver_run_once(struct deliver *d, time_t now)
{
	int total = 0, n;

	/* A batch may defer what it attempted: that is not due again now, so
	   the loop ends. The bound guards against a clock that stands. */
	for (unsigned i = 0; i < 1000 && !deliver_stopping(d); i++) {
		if ((n = deliver_pass(d, now)) <= 0)
			return n < 0 && total == 0 ? -1 : total;
		total += n;
	}
	return total;
}

/* How long to sleep: until the next deferred message, at most
   DELIVER_IDLE_MAX seconds. */
static time_t
deliver_sleep_until(struct deliver *d)
{
	time_t now = time(NULL), when = 0;
	char *error = NULL;
	int rc = queue_next_due(d->queue, &when, &error);

	if (rc == -1) {
		log_warn("deliver: event=queue-error error=\"%s\"", error);
		free(error);
	}
	if (rc != 0 || when > now + DELIVER_IDLE_MAX)
		return now + DELIVER_IDLE_MAX;
	return when;
}

static void *
deliver_main(void *arg)
{
	struct deliver *d = arg;

	pthread_mutex_lock(&d->mutex);
	while (!d->stopping) {
		struct timespec until = { 0, 0 };

		d->woken = false;
		pthread_mutex_unlock(&d->mutex);
		if (deliver_run_once(d, time(NULL)) == -1)
			until.tv_sec = time(NULL) + 5;	/* queue.db trouble */
		else
			until.tv_sec = deliver_sleep_until(d);
		pthread_mutex_lock(&d->mutex);
		while (!d->woken && !d->stopping) {
			if (pthread_cond_timedwait(&d->cond, &d->mutex,
			    &until) == ETIMEDOUT)
				break;
		}
	}
	pthread_mutex_unlock(&d->mutex);
	return NULL;
}

struct deliver *
deliver_new(const char *data_dir, struct queue *queue,
    const struct deliver_config *config, char **error_r)
{
	static const struct deliver_config defaults = DELIVER_CONFIG_DEFAULT;
	struct deliver *d = xcalloc(1, sizeof(*d));

	d->data_dir = xstrdup(data_dir);
	d->queue = queue;
	d->config = config != NULL ? *config : defaults;
	if (d->config.batch == 0)
		d->config.batch = defaults.batch;
	pthread_mutex_init(&d->mutex, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (directory_open(data_dir, false, &d->dir, error_r) == -1) {
		deliver_free(&d);
		return NULL;
	}
	if (d->config.no_thread)
		return d;
	queue_set_notify(queue, deliver_wake, d);
	if ((errno = pthread_create(&d->thread, NULL, deliver_main, d)) != 0) {
		*error_r = xasprintf("deliver: pthread_create: %s",
		    strerror(errno));
		queue_set_notify(queue, NULL, NULL);
		deliver_free(&d);
		return NULL;
	}
	d->running = true;
	return d;
}

void
deliver_free(struct deliver **dp)
{
	struct deliver *d = *dp;

	if (d == NULL)
		return;
	if (d->running) {
		queue_set_notify(d->queue, NULL, NULL);
		pthread_mutex_lock(&d->mutex);
		d->stopping = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->mutex);
		pthread_join(d->thread, NULL);
	}
	deliver_stores_close(d);
	directory_close(&d->dir);
	pthread_mutex_destroy(&d->mutex);
	pthread_cond_destroy(&d->cond);
	free(d->data_dir);
	free(d);
	*dp = NULL;
}

void
deliver_stats(struct deliver *d, struct deliver_stats *stats_r)
{
	pthread_mutex_lock(&d->mutex);
	*stats_r = d->stats;
	pthread_mutex_unlock(&d->mutex);
}
