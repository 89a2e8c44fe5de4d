/* worker_test.c — the pool runs work() on its threads and done() on the
   thread that dispatches the job's event_base; worker_post wakes a base
   from another thread; detach drops late completions and late posts;
   freeing the pool runs what was queued. */
#include "lib/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/test.h"
#include "lib/xmalloc.h"

struct job {
	pthread_t work_thread, done_thread;
	int order;		/* position in which done() ran */
	bool worked, done;
	unsigned sleep_us;
};

struct run {
	struct event_base *base;
	unsigned want, ndone;
	int next_order;
};

static struct run *current_run;

static void
job_work(void *ctx)
{
	struct job *j = ctx;

	if (j->sleep_us > 0)
		usleep(j->sleep_us);
	j->work_thread = pthread_self();
	j->worked = true;
}

static void
job_done(void *ctx)
{
	struct job *j = ctx;
	struct run *r = current_run;

	j->done_thread = pthread_self();
	j->done = true;
	if (r != NULL) {
		j->order = r->next_order++;
		if (++r->ndone == r->want)
			event_base_loopexit(r->base, NULL);
	}
}

static void
safety_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* Dispatches base until loopexit, at most 10 s. */
static void
run_loop(struct event_base *base)
{
	struct timeval tv = { 10, 0 };
	struct event *ev = evtimer_new(base, safety_timeout, base);

	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

static void
test_done_on_base_thread(void)
{
	enum { N = 64 };
	struct worker_pool *pool = worker_pool_new(4);
	struct event_base *base = event_base_new();
	struct job *jobs = xcalloc(N, sizeof(*jobs));
	struct run run = { .base = base, .want = N };
	pthread_t self = pthread_self();

	worker_base_attach(base);
	current_run = &run;
	for (int i = 0; i < N; i++) {
		jobs[i].sleep_us = (unsigned)(i % 4) * 500;
		worker_submit(pool, base, job_work, job_done, &jobs[i]);
	}
	run_loop(base);
	TEST_EQ_INT(run.ndone, N);
	for (int i = 0; i < N; i++) {
		TEST_ASSERT(jobs[i].worked);
		TEST_ASSERT(jobs[i].done);
		TEST_ASSERT(!pthread_equal(jobs[i].work_thread, self));
		TEST_ASSERT(pthread_equal(jobs[i].done_thread, self));
	}
	current_run = NULL;
	worker_base_detach(base);
	worker_pool_free(&pool);
	TEST_ASSERT(pool == NULL);
	worker_pool_free(&pool);	/* NULL is fine */
	event_base_free(base);
	free(jobs);
}

/* worker_post from a foreign thread, in order, onto the base's thread. */
struct poster {
	struct event_base *base;
	struct job *jobs;
	int n;
};

static void *
poster_main(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < p->n; i++) {
		if (i % 8 == 0)
			usleep(200);
		worker_post(p->base, job_done, &p->jobs[i]);
	}
	return NULL;
}

static void
test_post_from_thread(void)
{
	enum { N = 100 };
	struct event_base *base;
	struct job *jobs = xcalloc(N, sizeof(*jobs));
	struct run run = { .want = N };
	struct poster p = { .jobs = jobs, .n = N };
	pthread_t tid, self = pthread_self();

	worker_threads_init();
	base = event_base_new();
	run.base = base;
	p.base = base;
	worker_base_attach(base);
	current_run = &run;
	pthread_create(&tid, NULL, poster_main, &p);
	run_loop(base);
	pthread_join(tid, NULL);
	TEST_EQ_INT(run.ndone, N);
	for (int i = 0; i < N; i++) {
		TEST_ASSERT(pthread_equal(jobs[i].done_thread, self));
		TEST_EQ_INT(jobs[i].order, i);	/* FIFO per poster */
	}
	current_run = NULL;
	worker_base_detach(base);
	event_base_free(base);
	free(jobs);
}

/* Two I/O threads, each with its own base: completions go home. */
struct io_thread {
	struct worker_pool *pool;
	struct event_base *base;
	struct job jobs[16];
	pthread_t self;
	unsigned ndone;
};

static _Thread_local struct io_thread *io_current;

static void
io_job_done(void *ctx)
{
	struct job *j = ctx;
	struct io_thread *t = io_current;

	j->done_thread = pthread_self();
	j->done = true;
	if (t != NULL && ++t->ndone == 16)
		event_base_loopexit(t->base, NULL);
}

static void *
io_thread_main(void *arg)
{
	struct io_thread *t = arg;

	io_current = t;
	t->self = pthread_self();
	worker_base_attach(t->base);
	for (int i = 0; i < 16; i++)
		worker_submit(t->pool, t->base, job_work, io_job_done,
		    &t->jobs[i]);
	run_loop(t->base);
	worker_base_detach(t->base);
	return NULL;
}

static void
test_two_bases(void)
{
	struct worker_pool *pool = worker_pool_new(3);
	struct io_thread *t = xcalloc(2, sizeof(*t));
	pthread_t tid[2];

	for (int i = 0; i < 2; i++) {
		t[i].pool = pool;
		t[i].base = event_base_new();
		pthread_create(&tid[i], NULL, io_thread_main, &t[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < 2; i++) {
		TEST_EQ_INT(t[i].ndone, 16);
		for (int k = 0; k < 16; k++)
			TEST_ASSERT(pthread_equal(t[i].jobs[k].done_thread,
			    t[i].self));
		event_base_free(t[i].base);
	}
	worker_pool_free(&pool);
	free(t);
}

/* base == NULL: done() on the pool thread, right after work(). */
static void
test_no_base(void)
{
	struct worker_pool *pool = worker_pool_new(2);
	struct job j = { 0 };

	worker_submit(pool, NULL, job_work, job_done, &j);
	worker_pool_free(&pool);
	TEST_ASSERT(j.worked);
	TEST_ASSERT(j.done);
	TEST_ASSERT(pthread_equal(j.work_thread, j.done_thread));
	TEST_ASSERT(!pthread_equal(j.done_thread, pthread_self()));
}

/* Freeing the pool runs every queued job first. */
static atomic_int counted;

static void
count_work(void *ctx)
{
	(void)ctx;
	usleep(100);
	atomic_fetch_add(&counted, 1);
}

static void
test_free_runs_queue(void)
{
	struct worker_pool *pool = worker_pool_new(2);

	atomic_store(&counted, 0);
	for (int i = 0; i < 200; i++)
		worker_submit(pool, NULL, count_work, NULL, NULL);
	worker_pool_free(&pool);
	TEST_EQ_INT(atomic_load(&counted), 200);
}

/* Completions that arrive after detach are dropped, not run on a freed
   base; the pool and base still free cleanly (ASan checks the rest). */
static void
test_detach_drops_late_done(void)
{
	enum { N = 20 };
	struct worker_pool *pool = worker_pool_new(2);
	struct event_base *base = event_base_new();
	struct job *jobs = xcalloc(N, sizeof(*jobs));

	worker_base_attach(base);
	for (int i = 0; i < N; i++) {
		jobs[i].sleep_us = 2000;
		worker_submit(pool, base, job_work, job_done, &jobs[i]);
	}
	usleep(3000);	/* some finish before the detach, most after */
	worker_base_detach(base);
	event_base_free(base);
	worker_pool_free(&pool);
	for (int i = 0; i < N; i++) {
		TEST_ASSERT(jobs[i].worked);
		TEST_ASSERT(!jobs[i].done);
	}
	free(jobs);
}

/* A done() may detach its own base; the rest of the batch is dropped. */
static struct event_base *detach_base;
static int detach_runs;

static void
detach_done(void *ctx)
{
	(void)ctx;
	if (detach_runs++ == 0) {
		worker_base_detach(detach_base);
		event_base_loopexit(detach_base, NULL);
	}
}

static void
test_detach_inside_done(void)
{
	struct event_base *base;

	worker_threads_init();
	base = event_base_new();
	detach_base = base;
	detach_runs = 0;
	worker_base_attach(base);
	for (int i = 0; i < 5; i++)
		worker_post(base, detach_done, NULL);
	run_loop(base);
	TEST_EQ_INT(detach_runs, 1);
	event_base_free(base);
}

/* A service thread (the queue's committer) may finish a batch after an
   I/O thread left at the shutdown deadline and detached its base: the
   post is dropped, not a panic; posts racing with the detach either run
   on the loop or are dropped, never both and never on freed memory. */
static atomic_int late_runs;
static atomic_bool poster_stop;

static void
late_done(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&late_runs, 1);
}

static void *
late_poster_main(void *arg)
{
	struct event_base *base = arg;

	while (!atomic_load(&poster_stop))
		worker_post(base, late_done, NULL);
	/* Surely after the detach now. */
	worker_post(base, late_done, NULL);
	return NULL;
}

static void
test_post_after_detach(void)
{
	struct event_base *base;
	pthread_t tid;
	int before;

	worker_threads_init();
	base = event_base_new();
	atomic_store(&late_runs, 0);
	atomic_store(&poster_stop, false);
	worker_base_attach(base);
	pthread_create(&tid, NULL, late_poster_main, base);
	/* Some posts run here, then the thread "ends". */
	while (atomic_load(&late_runs) < 10)
		event_base_loop(base, EVLOOP_ONCE);
	worker_base_detach(base);
	before = atomic_load(&late_runs);
	atomic_store(&poster_stop, true);
	pthread_join(tid, NULL);
	worker_post(base, late_done, NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);
	TEST_EQ_INT(atomic_load(&late_runs), before);
	event_base_free(base);
}

int
main(void)
{
	TEST_RUN(test_done_on_base_thread);
	TEST_RUN(test_post_from_thread);
	TEST_RUN(test_two_bases);
	TEST_RUN(test_no_base);
	TEST_RUN(test_free_runs_queue);
	TEST_RUN(test_detach_drops_late_done);
	TEST_RUN(test_detach_inside_done);
	TEST_RUN(test_post_after_detach);
	return test_done();
}
