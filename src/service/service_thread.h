/* service_thread.h — what a session service (SMTP, POP3, later IMAP)
   keeps per I/O thread: its event_base, its directory connection (one
   SQLite connection per thread, opened lazily on that thread, DESIGN.md
   §2) and its list of live sessions for the graceful shutdown. Every
   function runs on the thread that owns it, except service_thread_free,
   which runs once that thread has stopped. Nothing is locked. */
#ifndef PETREL_SERVICE_THREAD_H
#define PETREL_SERVICE_THREAD_H

#include <stdbool.h>

struct config;
struct directory;
struct event_base;
struct service_thread;

/* Embedded in each session: the thread's list of live sessions. */
struct service_link {
	struct service_link *prev, *next;
};

/* Tells one session that the shutdown began; it may free itself (and
   unlink itself) at once. */
typedef void service_shutdown_fn(struct service_link *link);

/* Never returns NULL. config must outlive the thread state; name is the
   log prefix ("smtpd"), a static string. */
struct service_thread *service_thread_new(struct event_base *base,
    const struct config *config, const char *name,
    service_shutdown_fn *shutdown);
/* Closes the directory, after the thread's loop ended. Sessions still
   listed (a shutdown deadline) are left alone. Accepts NULL. */
void service_thread_free(struct service_thread **t);

struct event_base *service_thread_base(const struct service_thread *t);
const struct config *service_thread_config(const struct service_thread *t);
/* The thread's directory, opened on first use with
   directory_open(data_dir, false). NULL when it cannot be opened (logged,
   retried at most once a second); the caller answers a temporary error. */
struct directory *service_thread_directory(struct service_thread *t);

void service_thread_add(struct service_thread *t, struct service_link *l);
void service_thread_remove(struct service_thread *t, struct service_link *l);
/* Marks the thread as shutting down and tells every session. */
void service_thread_shutdown(struct service_thread *t);
bool service_thread_is_shutting_down(const struct service_thread *t);
#endif
