/* imapd_job.c — store work of IMAP sessions on the worker pool, and the
   process-wide pool of store handles it borrows from.

   A session never holds a store handle (one SQLite connection and its
   page cache: far more than the 16 KiB an idle session may cost). A job
   takes an idle handle of its account from the pool (or opens one) for
   the length of its work and gives it back; handles idle for
   IMAPD_POOL_IDLE_MS are closed, and so is the oldest one past
   IMAPD_POOL_MAX. Opening and closing happen inside jobs, on workers, so
   no I/O thread ever waits for SQLite. The mutex guards only the list.
   A periodic sweep (a timer on one I/O thread posting a worker job)
   closes what idles while no job returns, so an idle server holds no
   SQLite connection after IMAPD_POOL_IDLE_MS plus one sweep period.

   Before a job, a session re-reads its account in the directory at
   most every IMAPD_ACCOUNT_CHECK_MS (one indexed read on the thread's
   directory connection, as logins do): once the account is deleted or
   disabled, its jobs get no store (so none is created again), the
   command is answered as a store failure and the session gets "* BYE". */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config/config.h"
#include "directory/directory_admin.h"
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
/* A third of the idle time: handles go between 30 and 40 s idle. */
#define IMAPD_POOL_SWEEP_MS 10000

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
	/* The sweep: its timer lives on sweep_base's thread. */
	struct event_base *sweep_base;
	struct event *sweep_ev;
	struct worker_pool *sweep_workers;
	bool sweeping;			/* a sweep job is queued or runs */
};

struct imapd_job {
	struct imapd_session *s;
	struct imapd_job_pool *pool;
	int64_t account_id;
	struct store_limits limits;
	bool account_gone;		/* no store for this job */
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
	/* A thread that never ran its shutdown hook: its base may be gone
	   already, so the event is left (a few bytes at exit). */
	if (pool->sweep_ev != NULL)
		log_warn("imapd: event=store_pool_sweep_not_stopped");
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

/* Unlinks the entries idle for more than idle_ms (all past
   IMAPD_POOL_MAX when over) and returns them; under the mutex. */
static struct imapd_pool_entry *
imapd_job_pool_expired(struct imapd_job_pool *pool, uint64_t now,
    uint64_t idle_ms)
{
	struct imapd_pool_entry **pp, *old, *doomed = NULL;
	size_t i = 0;

	for (pp = &pool->idle; *pp != NULL;) {
		old = *pp;
		if (i >= IMAPD_POOL_MAX ||
		    now - old->idle_since_ms > idle_ms) {
			*pp = old->next;
			pool->n_idle--;
			old->next = doomed;
			doomed = old;
			continue;
		}
		i++;
		pp = &old->next;
	}
	return doomed;
}

/* Closes them outside the mutex (SQLite's close may checkpoint). */
static size_t
imapd_job_pool_close(struct imapd_pool_entry *doomed)
{
	struct imapd_pool_entry *old;
	size_t n = 0;

	while (doomed != NULL) {
		old = doomed;
		doomed = old->next;
		store_close(&old->store);
		free(old);
		n++;
	}
	return n;
}

size_t
imapd_job_pool_sweep(struct imapd_job_pool *pool, unsigned idle_ms)
{
	struct imapd_pool_entry *doomed;

	pthread_mutex_lock(&pool->mutex);
	doomed = imapd_job_pool_expired(pool, imapd_job_now_ms(), idle_ms);
	pthread_mutex_unlock(&pool->mutex);
	return imapd_job_pool_close(doomed);
}

static void
imapd_job_pool_sweep_work(void *ctx)
{
	struct imapd_job_pool *pool = ctx;
	size_t n = imapd_job_pool_sweep(pool, IMAPD_POOL_IDLE_MS);

	if (n > 0)
		log_debug("imapd: event=store_pool_sweep closed=%zu", n);
	pthread_mutex_lock(&pool->mutex);
	pool->sweeping = false;
	pthread_mutex_unlock(&pool->mutex);
}

/* The timer, on sweep_base's thread: a worker job when something idles
   and no sweep is under way (a slow disk must not pile them up). */
static void
imapd_job_pool_on_sweep(evutil_socket_t fd, short what, void *ctx)
{
	struct imapd_job_pool *pool = ctx;
	bool go;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&pool->mutex);
	go = pool->n_idle > 0 && !pool->sweeping;
	if (go)
		pool->sweeping = true;
	pthread_mutex_unlock(&pool->mutex);
	if (go)
		worker_submit(pool->sweep_workers, NULL,
		    imapd_job_pool_sweep_work, NULL, pool);
}

void
imapd_job_pool_sweep_start(struct imapd_job_pool *pool,
    struct event_base *base, struct worker_pool *workers)
{
	struct timeval tv = { IMAPD_POOL_SWEEP_MS / 1000,
	    (IMAPD_POOL_SWEEP_MS % 1000) * 1000 };

	pthread_mutex_lock(&pool->mutex);
	if (pool->sweep_base != NULL) {
		pthread_mutex_unlock(&pool->mutex);
		return;
	}
	pool->sweep_base = base;
	pool->sweep_workers = workers;
	pthread_mutex_unlock(&pool->mutex);
	pool->sweep_ev = event_new(base, -1, EV_PERSIST,
	    imapd_job_pool_on_sweep, pool);
	if (pool->sweep_ev == NULL || event_add(pool->sweep_ev, &tv) == -1)
		panic("imapd_job_pool_sweep_start: event_new");
}

void
imapd_job_pool_sweep_stop(struct imapd_job_pool *pool,
    struct event_base *base)
{
	bool mine;

	pthread_mutex_lock(&pool->mutex);
	mine = pool->sweep_base == base && pool->sweep_ev != NULL;
	pthread_mutex_unlock(&pool->mutex);
	if (!mine)
		return;
	event_free(pool->sweep_ev);
	pool->sweep_ev = NULL;
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
	struct imapd_pool_entry *e = xcalloc(1, sizeof(*e)), *doomed;
	uint64_t now = imapd_job_now_ms();

	e->store = store;
	e->account_id = store_account_id(store);
	e->idle_since_ms = now;
	pthread_mutex_lock(&pool->mutex);
	e->next = pool->idle;
	pool->idle = e;
	pool->n_idle++;
	doomed = imapd_job_pool_expired(pool, now, IMAPD_POOL_IDLE_MS);
	pthread_mutex_unlock(&pool->mutex);
	(void)imapd_job_pool_close(doomed);
}

static void
imapd_job_work(void *ctx)
{
	struct imapd_job *j = ctx;
	struct store *store = NULL;

	if (!j->account_gone)
		store = imapd_job_pool_take(j->pool, j->account_id,
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
	if (j->account_gone && !imapd_session_is_gone(s))
		imapd_session_close(s, "* BYE Account was deleted or "
		    "disabled.");
	free(j);
	if (!imapd_session_is_gone(s))
		imapd_session_resume(s);
	imapd_session_leave(s);
}

/* On the session's thread: whether the directory still has the account
   enabled, read at most every IMAPD_ACCOUNT_CHECK_MS. A directory that
   cannot answer (busy, I/O) does not end the session. */
static bool
imapd_job_account_gone(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	struct directory_account acct;
	struct directory_error err = { 0 };
	struct directory *dir;
	uint64_t now = imapd_job_now_ms();

	if (p->account_gone)
		return true;
	if (p->account_checked_ms != 0 &&
	    now - p->account_checked_ms < IMAPD_ACCOUNT_CHECK_MS)
		return false;
	if ((dir = service_thread_directory(s->thread)) == NULL)
		return false;
	if (directory_admin_account_get(dir, s->account, &acct, &err) == 0) {
		p->account_gone = !acct.enabled || acct.id != s->account_id;
		directory_account_clear(&acct);
	} else if (err.code == DIRECTORY_ERROR_NOT_FOUND) {
		p->account_gone = true;
	}
	directory_error_clear(&err);
	p->account_checked_ms = now;
	if (p->account_gone)
		log_info(IMAPD_LOG_PREFIX " event=account_gone account_id=%lld",
		    s->id, (long long)s->account_id);
	return p->account_gone;
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
	j->account_gone = imapd_job_account_gone(s);
	s->priv->job = true;
	if (s->conn != NULL) {
		conn_pause_input(s->conn);
		/* The client waits for us: no idle timeout meanwhile. */
		conn_set_idle_timeout(s->conn, 0);
	}
	worker_submit(s->pool, service_thread_base(s->thread), imapd_job_work,
	    imapd_job_done, j);
}
