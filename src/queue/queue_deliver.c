/* queue_deliver.c — the queue as delivery agents see it: a wake-up after
   each group commit, the messages due, and recording what an attempt did.
   All of it on one connection of their own, serialised by deliver_mutex. */
#include "queue/queue_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

void
queue_set_notify(struct queue *q, queue_notify_fn *fn, void *ctx)
{
	pthread_mutex_lock(&q->mutex);
	q->notify = fn;
	q->notify_ctx = ctx;
	pthread_mutex_unlock(&q->mutex);
}

int
queue_due(struct queue *q, time_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_due(q->ddb, (int64_t)now, max, envs_r, n_r, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	return rc;
}

int
queue_next_due(struct queue *q, time_t *when_r, char **error_r)
{
	int64_t when = 0;
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_next_due(q->ddb, &when, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	*when_r = (time_t)when;
	return rc;
}

int
queue_update(struct queue *q, const struct queue_result *results, size_t n,
    char **error_r)
{
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n_done = 0;
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_update(q->ddb, results, n, &done, &n_done, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	if (rc == -1)
		return -1;
	queue_deliver_unlink(q, done, n_done, "delivered");
	free(done);
	/* Recipients may have become outbound or failed (a bounce due). */
	queue_deliver_notify_outbound(q);
	return 0;
}

void
queue_deliver_unlink(struct queue *q, char (*done)[QUEUE_ID_SIZE],
    size_t n_done, const char *reason)
{
	/* After the commit: a crash before an unlink leaves a file without
	   a row, which recovery removes. No directory fsync needed. */
	for (size_t i = 0; i < n_done; i++) {
		if (unlinkat(q->msg_fd, done[i], 0) == -1 && errno != ENOENT)
			log_warn("queue: qid=%s event=unlink-failed "
			    "error=\"%s\"", done[i], strerror(errno));
		log_info("queue: qid=%s event=removed reason=%s", done[i],
		    reason);
	}
}

void
queue_set_outbound_notify(struct queue *q, queue_notify_fn *fn, void *ctx)
{
	pthread_mutex_lock(&q->mutex);
	q->out_notify = fn;
	q->out_notify_ctx = ctx;
	pthread_mutex_unlock(&q->mutex);
}

void
queue_deliver_notify_outbound(struct queue *q)
{
	queue_notify_fn *fn;
	void *ctx;

	pthread_mutex_lock(&q->mutex);
	fn = q->out_notify;
	ctx = q->out_notify_ctx;
	pthread_mutex_unlock(&q->mutex);
	if (fn != NULL)
		fn(ctx);
}
