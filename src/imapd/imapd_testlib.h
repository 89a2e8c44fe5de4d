/* imapd_testlib.h — what the in-process IMAP session tests (imapd_test.c)
   and a session fuzzer share: one event_base, a worker pool whose
   completions come back to it, a data dir with a directory and account
   stores, the shared login, the store-handle pool and the per-thread
   state sessions run on, and sessions started on a socket with their
   ends counted. Test support only (the daemon never calls it); every
   failure to set up is a panic. */
#ifndef PETREL_IMAPD_TESTLIB_H
#define PETREL_IMAPD_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct directory;
struct directory_error;
struct event_base;
struct imapd_job_pool;
struct service_login;
struct service_thread;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct imapd_testlib {
	char *dir;			/* the data dir, or NULL */
	struct config config;		/* hostname, data_dir, limits, auth */
	struct event_base *base;	/* attached to the worker glue */
	struct worker_pool *workers;
	struct service_login *login;	/* dummy hash: {PLAIN} */
	struct imapd_job_pool *jobs;
	struct service_thread *thread;
	unsigned started, ended;	/* sessions started; sessions gone */
};

typedef int imapd_testlib_fill_fn(struct directory *dir,
    struct directory_error *err);

/* Zeroes t, sets config.hostname, default limits and auth, makes the
   event_base and a worker pool of two threads. */
void imapd_testlib_init(struct imapd_testlib *t, const char *hostname);
/* dir (heap, t owns it) becomes the data dir: directory made and filled,
   login, job pool and thread state made. */
void imapd_testlib_open(struct imapd_testlib *t, char *dir,
    imapd_testlib_fill_fn *fill);
/* A new login (after a test changed t->config.auth). */
void imapd_testlib_reset_login(struct imapd_testlib *t);
int64_t imapd_testlib_account_id(struct imapd_testlib *t,
    const char *address);
/* Appends to mailbox of account_id through its own store handle on this
   thread (as the delivery thread would: the change feed fires). */
uint32_t imapd_testlib_append(struct imapd_testlib *t, int64_t account_id,
    const char *mailbox, const void *data, size_t len);
/* Frees everything; sessions must be gone. */
void imapd_testlib_clear(struct imapd_testlib *t);
/* Starts a session on fd (taken), counted in started/ended. */
void imapd_testlib_start(struct imapd_testlib *t, int fd,
    const struct config_listener *listener, SSL_CTX *tls);
#endif
