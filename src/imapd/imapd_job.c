/* imapd_job.c — store work of IMAP sessions on the worker pool, and the
   process-wide pool of store handles it borrows from.

   A session never holds a store handle (one SQLite connection and its
   page cache: far more than the 16 KiB an idle session may cost). A job
   takes an idle handle of its account from the pool (or opens one) for
   the length of its work and gives it back; handles idle for
   IMAPD_POOL_IDLE_MS are closed, and so is the oldest one past
   IMAPD_POOL_MAX. Opening and closing happen inside jobs, on workers, so
   no I/O thread ever waits for SQLite. The mutex guards only the list. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "imapd/imapd_private.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* Handles kept idle: enough for the accounts in active use, each ~100
   KiB to a few MiB of SQLite cache. */
#define IMAPD_POOL_MAX 64
#define IMAPD_POOL_IDLE_MS 30000

struct imapd_pool_entry {
	struct imapd_pool_entry *next;
	struct store *store;
	int64_t account_id;
	uint64_t idle_since_ms;
};

struct imapd_job_pool {
	pthread_mutex_t mutex;
	char *data_dir;
	struct imapd_pool_entry *idle;	/* most recently given first */
	size_t n_idle;
};

struct imapd_job {
	struct imapd_session *s;
	struct imapd_job_pool *pool;
	int64_t account_id;
	struct store_limits limits;
	imapd_job_work_fn *work;
	imapd_job_done_fn *done;
	void *job;
};

static uint64_t
imapd_job_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct imapd_job_pool *
imapd_job_pool_new(const char *data_dir)
{
	struct imapd_job_pool *pool = xcalloc(1, sizeof(*pool));

	if (pthread_mutex_init(&pool->mutex, NULL) != 0)
		panic("imapd_job_pool_new: pthread_mutex_init");
	pool->data_dir = xstrdup(data_dir != NULL ? data_dir : ".");
	return pool;
}

void
imapd_job_pool_free(struct imapd_job_pool **poolp)
{
	struct imapd_job_pool *pool = *poolp;
	struct imapd_pool_entry *e, *next;

	if (pool == NULL)
		return;
	for (e = pool->idle; e != NULL; e = next) {
		next = e->next;
		store_close(&e->store);
		free(e);
	}
	pthread_mutex_destroy(&pool->mutex);
	free(pool->data_dir);
	free(pool);
	*poolp = NULL;
}

size_t
imapd_job_pool_idle(struct imapd_job_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->mutex);
	n = pool->n_idle;
	pthread_mutex_unlock(&pool->mutex);
	return n;
}

/* Worker: an idle handle of the account, or a new one; NULL if the
   store cannot be opened (logged). */
static struct store *
imapd_job_pool_take(struct imapd_job_pool *pool, int64_t account_id,
    const struct store_limits *limits)
{
	struct imapd_pool_entry **pp, *e = NULL;
	struct store *store = NULL;
	char *error = NULL;

	pthread_mutex_lock(&pool->mutex);
	for (pp = &pool->idle; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->account_id == account_id) {
			e = *pp;
			*pp = e->next;
			pool->n_idle--;
			break;
		}
	}
	pthread_mutex_unlock(&pool->mutex);
	if (e != NULL) {
		store = e->store;
		free(e);
		/* The login's quota may differ from the last user's view. */
		store_set_limits(store, limits);
		return store;
	}
	if (store_open(pool->data_dir, account_id, limits, &store,
	    &error) != STORE_OK) {
		log_error("imapd: event=store_open account=%lld error=\"%s\"",
		    (long long)account_id, error != NULL ? error : "unknown");
		free(error);
		return NULL;
	}
	return store;
}

/* Worker: gives the handle back, and closes what idled too long or
   overflows the pool (outside the mutex: SQLite's close may checkpoint). */
static void
imapd_job_pool_give(struct imapd_job_pool *pool, struct store *store)
{
	struct imapd_pool_entry *e = xcalloc(1, sizeof(*e)), **pp, *old;
	struct imapd_pool_entry *doomed = NULL;
	uint64_t now = imapd_job_now_ms();
	size_t i = 0;

	e->store = store;
	e->account_id = store_account_id(store);
	e->idle_since_ms = now;
	pthread_mutex_lock(&pool->mutex);
	e->next = pool->idle;
	pool->idle = e;
	pool->n_idle++;
	for (pp = &pool->idle; *pp != NULL;) {
		old = *pp;
		if (i >= IMAPD_POOL_MAX ||
		    now - old->idle_since_ms > IMAPD_POOL_IDLE_MS) {
			*pp = old->next;
			pool->n_idle--;
			old->next = doomed;
			doomed = old;
			continue;
		}
		i++;
		pp = &old->next;
	}
	pthread_mutex_unlock(&pool->mutex);
	while (doomed != NULL) {
		old = doomed;
		doomed = old->next;
		store_close(&old->store);
		free(old);
	}
}

static void
imapd_job_work(void *ctx)
{
	struct imapd_job *j = ctx;
	struct store *store = imapd_job_pool_take(j->pool, j->account_id,
	    &j->limits);

	j->work(store, j->job);
	if (store != NULL)
		imapd_job_pool_give(j->pool, store);
}

static void
imapd_job_done(void *ctx)
{
	struct imapd_job *j = ctx;
	struct imapd_session *s = j->s;

	s->priv->job = false;
	imapd_session_enter(s);
	if (s->conn != NULL)
		conn_set_idle_timeout(s->conn, s->priv->idle_ms);
	j->done(s, j->job);
	free(j);
	if (!imapd_session_is_gone(s))
		imapd_session_resume(s);
	imapd_session_leave(s);
}

void
imapd_job_submit(struct imapd_session *s, imapd_job_work_fn *work,
    imapd_job_done_fn *done, void *job)
{
	struct imapd_job *j = xcalloc(1, sizeof(*j));

	if (s->priv->job)
		panic("imapd_job_submit: a job is already running");
	if (s->account_id == 0)
		panic("imapd_job_submit: not logged in");
	j->s = s;
	j->pool = s->priv->params.jobs;
	j->account_id = s->account_id;
	j->limits = s->limits;
	j->work = work;
	j->done = done;
	j->job = job;
	s->priv->job = true;
	if (s->conn != NULL) {
		conn_pause_input(s->conn);
		/* The client waits for us: no idle timeout meanwhile. */
		conn_set_idle_timeout(s->conn, 0);
	}
	worker_submit(s->pool, service_thread_base(s->thread), imapd_job_work,
	    imapd_job_done, j);
}
