/* queue_outbound.c — the queue as the outbound agent and the administrator
   see it: claims and results of remote attempts, retry/delete/bounce, and
   the trace events. Writes go through the delivery agents' connection
   (serialised by deliver_mutex), reads of the trace through the
   query-only one. */
#include "queue/queue_private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int
queue_outbound_reset(struct queue *q, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_outbound_reset(q->ddb, error_r);
	/* Also the moment to forget old trace events: once per start. */
	if (rc == 0)
		rc = queue_db_events_trim(q->ddb, (int64_t)time(NULL) -
		    (int64_t)QUEUE_EVENTS_DAYS * 86400, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	return rc;
}

int
queue_outbound_claim(struct queue *q, time_t now, size_t max,
    struct queue_envelope **envs_r, size_t *n_r, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_outbound_claim(q->ddb, (int64_t)now, max, envs_r, n_r,
	    error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	return rc;
}

int
queue_outbound_next(struct queue *q, time_t *when_r, char **error_r)
{
	int64_t when = 0;
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_outbound_next(q->ddb, &when, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	*when_r = (time_t)when;
	return rc;
}

int
queue_outbound_record(struct queue *q,
    const struct queue_outbound_result *results, size_t n, char **error_r)
{
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n_done = 0;
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_outbound_record(q->ddb, results, n, &done, &n_done,
	    error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	if (rc == -1)
		return -1;
	queue_deliver_unlink(q, done, n_done, "done");
	free(done);
	return 0;
}

int
queue_admin_retry(struct queue *q, const char *id, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_admin_retry(q->ddb, id, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	if (rc > 0)
		queue_deliver_notify_outbound(q);
	return rc;
}

int
queue_admin_delete(struct queue *q, const char *id, char **error_r)
{
	char (*done)[QUEUE_ID_SIZE] = NULL;
	size_t n_done = 0;
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_admin_delete(q->ddb, id, &done, &n_done, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	if (rc == -1)
		return -1;
	queue_deliver_unlink(q, done, n_done, "deleted");
	free(done);
	return rc;
}

int
queue_admin_bounce(struct queue *q, const char *id, const char *reason,
    char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_admin_bounce(q->ddb, id, reason, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	if (rc > 0)
		queue_deliver_notify_outbound(q);
	return rc;
}

int
queue_event_add(struct queue *q, const char *qid, const char *event,
    const char *rcpt, const char *detail, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_event_add(q->ddb, qid, event, rcpt, detail, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	return rc;
}

int
queue_trace(struct queue *q, const char *key, struct queue_event **events_r,
    size_t *n_r, char **error_r)
{
	int rc;

	pthread_mutex_lock(&q->read_mutex);
	rc = queue_db_trace(q->rdb, key, events_r, n_r, error_r);
	pthread_mutex_unlock(&q->read_mutex);
	return rc;
}

int
queue_msgid_queued(struct queue *q, const char *msgid, char **error_r)
{
	int rc;

	/* The writers' connection: it sees every commit made so far. */
	pthread_mutex_lock(&q->deliver_mutex);
	rc = queue_db_msgid_queued(q->ddb, msgid, error_r);
	pthread_mutex_unlock(&q->deliver_mutex);
	return rc;
}

void
queue_events_free(struct queue_event *events, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(events[i].event);
		free(events[i].rcpt);
		free(events[i].detail);
	}
	free(events);
}
