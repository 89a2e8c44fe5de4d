/* smtpd_testlib.h — what the in-process session tests (smtpd_test.c) and
   the session fuzzer (fuzz/fuzz_smtpd_session.c) share: one event_base, a
   data dir holding a directory and a queue, the per-thread state sessions
   run on, and sessions started on a socket with their ends counted.
   Test support only: the daemon never calls it, and it uses nothing that
   only a test links (no lib/test.h), so it may live in the library.
   Every failure to set up is a panic: there is nothing to test without it. */
#ifndef PETREL_SMTPD_TESTLIB_H
#define PETREL_SMTPD_TESTLIB_H

#include <stdbool.h>

#include "config/config.h"

struct directory;
struct directory_error;
struct event_base;
struct queue;
struct service_login;
struct service_thread;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct smtpd_testlib {
	char *dir;			/* the data dir, or NULL */
	struct config config;		/* hostname, data_dir (heap), limits */
	struct config_limits defaults;	/* config_limits_defaults() */
	struct event_base *base;	/* attached to the worker glue */
	struct queue *queue;
	struct service_thread *thread;	/* sessions' thread state */
	unsigned started, ended;	/* sessions started; sessions gone */
	/* Submission AUTH: set by a test that wants it (the test owns
	   both); NULL: submission sessions offer no AUTH. */
	struct service_login *login;
	struct worker_pool *workers;
};

/* Adds domains, accounts and aliases to a fresh directory. Returns 0, or
   -1 with *err set. */
typedef int smtpd_testlib_fill_fn(struct directory *dir,
    struct directory_error *err);

/* Zeroes t, sets config.hostname (copied) and the default limits, and
   makes the event_base (after worker_threads_init, so that completions
   may cross threads). */
void smtpd_testlib_init(struct smtpd_testlib *t, const char *hostname);

/* Makes dir (heap; t owns it from now on) the data dir: creates the
   directory database, lets fill populate it, opens the queue and the
   thread state. */
void smtpd_testlib_open(struct smtpd_testlib *t, char *dir,
    smtpd_testlib_fill_fn *fill);

/* Frees the thread state, closes the queue and removes the data dir with
   everything in it. Sessions must be gone. Accepts a t with none open. */
void smtpd_testlib_close(struct smtpd_testlib *t);

/* smtpd_testlib_close, then frees the event_base and the config strings. */
void smtpd_testlib_clear(struct smtpd_testlib *t);

/* Starts a session on fd (which it takes) with t's config and queue, on
   thread (t->thread or another made on t->base); counts it in
   t->started, and in t->ended once it has freed itself. */
void smtpd_testlib_start(struct smtpd_testlib *t, int fd,
    struct service_thread *thread, const struct config_listener *listener,
    SSL_CTX *tls, bool is_submission);
#endif
