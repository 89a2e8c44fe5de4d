/* pop3d_testlib.h — what the in-process session tests (pop3d_test.c) and
   the session fuzzer (fuzz/fuzz_pop3d_session.c) share: one event_base, a
   worker pool whose completions come back to it, a data dir holding a
   directory and account stores, the failed-login throttle, the
   per-thread state sessions run on, and sessions started on a socket with
   their ends counted.
   Test support only: the daemon never calls it, and it uses nothing that
   only a test links (no lib/test.h), so it may live in the library.
   Every failure to set up is a panic: there is nothing to test without
   it. */
#ifndef PETREL_POP3D_TESTLIB_H
#define PETREL_POP3D_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct service_login;
struct directory;
struct directory_error;
struct event_base;
struct service_thread;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct pop3d_testlib {
	char *dir;			/* the data dir, or NULL */
	struct config config;		/* hostname, data_dir, limits, auth */
	struct event_base *base;	/* attached to the worker glue */
	struct worker_pool *workers;
	struct service_login *login;	/* from config.auth at open/reset */
	struct service_thread *thread;	/* sessions' thread state */
	unsigned started, ended;	/* sessions started; sessions gone */
};

/* Adds domains and accounts to a fresh directory. 0, or -1 with *err. */
typedef int pop3d_testlib_fill_fn(struct directory *dir,
    struct directory_error *err);

/* Zeroes t, sets config.hostname (copied), the default limits and auth
   settings, makes the event_base and a worker pool of two threads. */
void pop3d_testlib_init(struct pop3d_testlib *t, const char *hostname);

/* Makes dir (heap; t owns it from now on) the data dir: creates the
   directory database, lets fill populate it, makes the throttle and the
   thread state. */
void pop3d_testlib_open(struct pop3d_testlib *t, char *dir,
    pop3d_testlib_fill_fn *fill);

/* A new login (throttle, cache) from t->config.auth (after a test
   changed it). */
void pop3d_testlib_reset_throttle(struct pop3d_testlib *t);

/* Logins of unknown users are checked against {PLAIN} instead of an
   Argon2 hash: the fuzzer's random logins stay fast. Every login the
   testlib makes from now on. */
void pop3d_testlib_cheap_dummy_hash(void);

/* The account id of address, or panic. */
int64_t pop3d_testlib_account_id(struct pop3d_testlib *t,
    const char *address);

/* Appends len octets to the INBOX of account_id (opening and closing its
   store on this thread); returns the UID, or panics. */
uint32_t pop3d_testlib_append(struct pop3d_testlib *t, int64_t account_id,
    const void *data, size_t len);

/* Frees the thread state and the throttle and removes the data dir with
   everything in it. Sessions must be gone. Accepts a t with none open. */
void pop3d_testlib_close(struct pop3d_testlib *t);

/* pop3d_testlib_close, then frees the worker pool, the event_base and the
   config strings. */
void pop3d_testlib_clear(struct pop3d_testlib *t);

/* Starts a session on fd (which it takes) on thread (t->thread or another
   made on t->base); counts it in t->started, and in t->ended once it has
   freed itself. */
void pop3d_testlib_start(struct pop3d_testlib *t, int fd,
    struct service_thread *thread, const struct config_listener *listener,
    SSL_CTX *tls);
#endif
