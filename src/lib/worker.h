/* worker.h — the pool of threads that run everything that blocks: fsync,
   SQLite writes, password hashing, clamd (DESIGN.md §2).

   A job carries copies of its inputs. work() runs on a pool thread; done()
   runs afterwards on the thread that owns the event_base given at submit
   time (the submitting I/O thread), so session code never sees another
   thread. With base == NULL, done() runs on the pool thread (CLI, tests). */
#ifndef PETREL_WORKER_H
#define PETREL_WORKER_H

struct event_base;
struct worker_pool;

typedef void worker_work_fn(void *ctx);
typedef void worker_done_fn(void *ctx);

/* Makes libevent thread-safe (evthread_use_pthreads), once per process.
   Every event_base that receives done() callbacks must be made after it:
   worker_pool_new and server_new call it; call it first when making a
   base before either. */
void worker_threads_init(void);

/* Starts nthreads threads. Never returns NULL. */
struct worker_pool *worker_pool_new(unsigned nthreads);
/* Runs the jobs already queued, joins the threads, frees the pool and sets
   *pool to NULL; done() callbacks of finished jobs whose base is no longer
   dispatched are not run. Accepts NULL. */
void worker_pool_free(struct worker_pool **pool);

/* Queues a job. done may be NULL. Thread-safe. */
void worker_submit(struct worker_pool *pool, struct event_base *base,
    worker_work_fn *work, worker_done_fn *done, void *ctx);

/* Must be called once on every event_base that receives done() callbacks,
   on its own thread, before the first worker_submit naming it; and
   worker_base_detach before the base is freed. */
void worker_base_attach(struct event_base *base);
void worker_base_detach(struct event_base *base);

/* Posts fn(ctx) to run on the thread that dispatches base (a cross-thread
   wake-up; used by services such as the queue's group committer).
   Thread-safe. When base is no longer attached (worker_base_detach ran:
   its thread ended, e.g. at the shutdown deadline) fn is not run, as
   worker_pool_free does with done(). */
void worker_post(struct event_base *base, worker_done_fn *fn, void *ctx);
#endif
