/* worker.c — the blocking-work pool and the way back to I/O threads
   (worker.h). Jobs wait in one FIFO (mutex + condvar); a finished job goes
   to its base's completion list (struct worker_base, own mutex) and the
   base's event is made active, which wakes its loop from any thread since
   evthread_use_pthreads() ran first (worker_threads_init). Lock order:
   registry -> worker_base -> libevent's base lock. A worker_base is
   reference counted (registry + jobs on their way) so that a job finishing
   after worker_base_detach drops its done() instead of touching freed
   memory. */
#include "worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

struct worker_base;

struct worker_item {
	worker_work_fn *work;
	worker_done_fn *done;
	void *ctx;
	struct worker_base *wb;		/* NULL: done() on the pool thread */
	struct worker_item *next;
};

struct worker_base {
	struct event_base *base;
	struct event *ev;
	pthread_mutex_t lock;
	struct worker_item *head, *tail;	/* completions to run */
	unsigned refs;
	bool detached;
	struct worker_base *next;		/* registry */
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_item *head, *tail;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static pthread_once_t worker_evthread_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t worker_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker_base *worker_registry;
/* The base attached on this thread: the usual submitter, found without
   the registry lock. */
static _Thread_local struct worker_base *worker_current;

static void
worker_evthread_init(void)
{
	if (evthread_use_pthreads() == -1)
		panic("evthread_use_pthreads failed");
}

void
worker_threads_init(void)
{
	pthread_once(&worker_evthread_once, worker_evthread_init);
}

static void
worker_base_unref_locked(struct worker_base *wb, bool *free_r)
{
	if (wb->refs == 0)
		panic("worker_base_unref: refs underflow");
	wb->refs--;
	*free_r = wb->refs == 0;
}

static void
worker_base_destroy(struct worker_base *wb)
{
	pthread_mutex_destroy(&wb->lock);
	free(wb);
}

/* Finds base's worker_base and takes a reference. NULL when base is not
   attached (any more): a service thread may post to an I/O thread that
   ended at the shutdown deadline. */
static struct worker_base *
worker_base_find(struct event_base *base)
{
	struct worker_base *wb = worker_current;

	if (wb != NULL && wb->base == base) {
		/* Attached on this thread and not detached: detach runs on
		   this same thread, so it cannot race with us. */
		pthread_mutex_lock(&wb->lock);
		wb->refs++;
		pthread_mutex_unlock(&wb->lock);
		return wb;
	}
	pthread_mutex_lock(&worker_registry_lock);
	for (wb = worker_registry; wb != NULL; wb = wb->next) {
		if (wb->base == base)
			break;
	}
	if (wb != NULL) {
		pthread_mutex_lock(&wb->lock);
		wb->refs++;
		pthread_mutex_unlock(&wb->lock);
	}
	pthread_mutex_unlock(&worker_registry_lock);
	return wb;
}

/* worker_base_find for a submitter on the base's own thread: a base that
   was never attached is a bug in the caller. */
static struct worker_base *
worker_base_get(struct event_base *base)
{
	struct worker_base *wb = worker_base_find(base);

	if (wb == NULL)
		panic("worker: event_base %p is not attached", (void *)base);
	return wb;
}

/* Hands a finished item to its base (any thread). */
static void
worker_complete(struct worker_item *item)
{
	struct worker_base *wb = item->wb;
	bool destroy = false;

	pthread_mutex_lock(&wb->lock);
	if (wb->detached) {
		/* Nobody will dispatch this base again (worker.h). */
		worker_base_unref_locked(wb, &destroy);
		pthread_mutex_unlock(&wb->lock);
		free(item);
		if (destroy)
			worker_base_destroy(wb);
		return;
	}
	bool was_empty = wb->head == NULL;

	item->next = NULL;
	if (wb->tail != NULL)
		wb->tail->next = item;
	else
		wb->head = item;
	wb->tail = item;
	/* Under wb->lock, so that detach (which sets detached under the same
	   lock before freeing ev) cannot free the event under us. One wake-up
	   per batch: the callback takes the whole list. */
	if (was_empty)
		event_active(wb->ev, EV_READ, 0);
	pthread_mutex_unlock(&wb->lock);
}

/* On the base's thread: runs the completions posted so far, in order. */
static void
worker_base_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct worker_base *wb = arg;
	struct worker_item *item, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&wb->lock);
	item = wb->head;
	wb->head = wb->tail = NULL;
	pthread_mutex_unlock(&wb->lock);

	for (; item != NULL; item = next) {
		bool destroy = false, detached;

		next = item->next;
		pthread_mutex_lock(&wb->lock);
		detached = wb->detached;
		pthread_mutex_unlock(&wb->lock);
		/* A done() may detach the base (it shuts its thread down);
		   the rest are then dropped as worker.h says. */
		if (!detached && item->done != NULL)
			item->done(item->ctx);
		pthread_mutex_lock(&wb->lock);
		worker_base_unref_locked(wb, &destroy);
		pthread_mutex_unlock(&wb->lock);
		free(item);
		if (destroy) {
			worker_base_destroy(wb);
			/* Only possible after a detach: the remaining items
			   each held a reference, so this was the last. */
			return;
		}
	}
}

void
worker_base_attach(struct event_base *base)
{
	struct worker_base *wb = xcalloc(1, sizeof(*wb));

	worker_threads_init();
	wb->base = base;
	wb->refs = 1;	/* the registry's */
	pthread_mutex_init(&wb->lock, NULL);
	wb->ev = event_new(base, -1, 0, worker_base_on_ready, wb);
	if (wb->ev == NULL)
		panic("worker_base_attach: event_new failed");

	pthread_mutex_lock(&worker_registry_lock);
	for (struct worker_base *w = worker_registry; w != NULL; w = w->next) {
		if (w->base == base)
			panic("worker_base_attach: base attached twice");
	}
	wb->next = worker_registry;
	worker_registry = wb;
	pthread_mutex_unlock(&worker_registry_lock);
	worker_current = wb;
}

void
worker_base_detach(struct event_base *base)
{
	struct worker_base *wb, **pp;
	struct worker_item *item, *next;
	bool destroy = false;

	pthread_mutex_lock(&worker_registry_lock);
	for (pp = &worker_registry; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->base == base)
			break;
	}
	wb = *pp;
	if (wb == NULL)
		panic("worker_base_detach: base not attached");
	*pp = wb->next;
	pthread_mutex_unlock(&worker_registry_lock);
	if (worker_current == wb)
		worker_current = NULL;

	pthread_mutex_lock(&wb->lock);
	wb->detached = true;
	item = wb->head;
	wb->head = wb->tail = NULL;
	pthread_mutex_unlock(&wb->lock);
	/* No event_active after this point: completers check detached
	   under wb->lock first. */
	event_free(wb->ev);
	wb->ev = NULL;

	pthread_mutex_lock(&wb->lock);
	for (; item != NULL; item = next) {
		next = item->next;
		free(item);
		worker_base_unref_locked(wb, &destroy);
	}
	worker_base_unref_locked(wb, &destroy);	/* the registry's */
	pthread_mutex_unlock(&wb->lock);
	if (destroy)
		worker_base_destroy(wb);
}

static void *
worker_thread_main(void *arg)
{
	struct worker_pool *pool = arg;

	for (;;) {
		struct worker_item *item;

		pthread_mutex_lock(&pool->lock);
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		item = pool->head;
		if (item == NULL) {
			/* stopping, and the queue is empty */
			pthread_mutex_unlock(&pool->lock);
			break;
		}
		pool->head = item->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		if (item->work != NULL)
			item->work(item->ctx);
		if (item->wb != NULL) {
			worker_complete(item);
		} else {
			if (item->done != NULL)
				item->done(item->ctx);
			free(item);
		}
	}
	return NULL;
}

struct worker_pool *
worker_pool_new(unsigned nthreads)
{
	struct worker_pool *pool = xcalloc(1, sizeof(*pool));
	sigset_t all, old;

	worker_threads_init();
	if (nthreads == 0)
		nthreads = 1;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->threads = xreallocarray(NULL, nthreads, sizeof(pthread_t));
	/* Signals belong to the main thread's event loop; pool threads
	   inherit a mask that blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < nthreads; i++) {
		int err = pthread_create(&pool->threads[i], NULL,
		    worker_thread_main, pool);

		if (err != 0)
			panic("worker_pool_new: pthread_create: %s",
			    strerror(err));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pool->nthreads = nthreads;
	return pool;
}

void
worker_pool_free(struct worker_pool **poolp)
{
	struct worker_pool *pool = *poolp;

	if (pool == NULL)
		return;
	*poolp = NULL;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}

void
worker_submit(struct worker_pool *pool, struct event_base *base,
    worker_work_fn *work, worker_done_fn *done, void *ctx)
{
	struct worker_item *item = xcalloc(1, sizeof(*item));

	item->work = work;
	item->done = done;
	item->ctx = ctx;
	item->wb = base != NULL ? worker_base_get(base) : NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->stopping)
		panic("worker_submit: the pool is being freed");
	if (pool->tail != NULL)
		pool->tail->next = item;
	else
		pool->head = item;
	pool->tail = item;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

void
worker_post(struct event_base *base, worker_done_fn *fn, void *ctx)
{
	struct worker_base *wb = worker_base_find(base);
	struct worker_item *item;

	if (wb == NULL) {
		/* Detached: its loop will never run fn (worker.h). The
		   queue's committer finishing a batch after an I/O thread
		   left at the shutdown deadline ends up here; it used to
		   panic the daemon on its way out. */
		log_debug("worker: event=post_dropped reason=detached");
		return;
	}
	item = xcalloc(1, sizeof(*item));
	item->done = fn;
	item->ctx = ctx;
	item->wb = wb;
	worker_complete(item);
}
