/* smtpd_thread.h — what the SMTP service keeps per I/O thread: its
   event_base, its directory connection (one SQLite connection per thread,
   opened lazily on that thread, DESIGN.md §2) and its list of sessions for
   the graceful shutdown. Every function runs on the thread that owns it,
   except smtpd_thread_free, which runs once that thread has stopped. */
#ifndef PETREL_SMTPD_THREAD_H
#define PETREL_SMTPD_THREAD_H

#include <stdbool.h>

struct config;
struct directory;
struct event_base;
struct smtpd_session;
struct smtpd_thread;

/* Never returns NULL. config must outlive the thread state. */
struct smtpd_thread *smtpd_thread_new(struct event_base *base,
    const struct config *config);
/* Closes the directory, after the thread's loop ended. Sessions still
   listed (a shutdown deadline) are left alone. Accepts NULL. */
void smtpd_thread_free(struct smtpd_thread **t);

struct event_base *smtpd_thread_base(const struct smtpd_thread *t);
/* The thread's directory, opened on first use with
   directory_open(data_dir, false). NULL when it cannot be opened (logged,
   retried at most once a second); the caller answers 451 4.3.0. */
struct directory *smtpd_thread_directory(struct smtpd_thread *t);

/* Session registry, for the shutdown. */
void smtpd_thread_add(struct smtpd_thread *t, struct smtpd_session *s);
void smtpd_thread_remove(struct smtpd_thread *t, struct smtpd_session *s);
/* Marks the thread as shutting down and tells every session. */
void smtpd_thread_shutdown(struct smtpd_thread *t);
bool smtpd_thread_is_shutting_down(const struct smtpd_thread *t);
#endif
