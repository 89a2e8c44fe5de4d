/* smtpd_thread.c — per-I/O-thread state of the SMTP service: the thread's
   own directory connection (a SQLite connection is used by one thread at a
   time, directory.h) and the list of live sessions for the shutdown.
   Nothing here is shared between threads, so nothing is locked. */
#include "smtpd/smtpd_thread.h"

#include <stdlib.h>
#include <time.h>

#include "config/config.h"
#include "directory/directory.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_private.h"

struct smtpd_thread {
	struct event_base *base;
	const struct config *config;
	struct directory *dir;
	time_t dir_failed_at;		/* last failed open; 0 if none */
	struct smtpd_session *sessions;
	bool shutting_down;
};

struct smtpd_thread *
smtpd_thread_new(struct event_base *base, const struct config *config)
{
	struct smtpd_thread *t = xcalloc(1, sizeof(*t));

	t->base = base;
	t->config = config;
	return t;
}

void
smtpd_thread_free(struct smtpd_thread **tp)
{
	struct smtpd_thread *t = *tp;

	if (t == NULL)
		return;
	if (t->sessions != NULL) {
		/* The server's shutdown deadline stopped the loop under live
		   sessions: their event_base is gone, nothing calls them
		   again. Their memory goes with the process. */
		unsigned n = 0;

		for (struct smtpd_session *s = t->sessions; s != NULL;
		    s = s->next)
			n++;
		log_warn("smtpd: event=shutdown_deadline sessions_left=%u", n);
	}
	directory_close(&t->dir);
	free(t);
	*tp = NULL;
}

struct event_base *
smtpd_thread_base(const struct smtpd_thread *t)
{
	return t->base;
}

struct directory *
smtpd_thread_directory(struct smtpd_thread *t)
{
	char *error = NULL;
	time_t now;

	if (t->dir != NULL)
		return t->dir;
	/* A missing or broken database fails every RCPT with 451; retrying
	   the open for each of a pipelined flood would only add load. */
	now = time(NULL);
	if (t->dir_failed_at != 0 && now - t->dir_failed_at < 1)
		return NULL;
	if (directory_open(t->config->data_dir, false, &t->dir, &error) == -1) {
		log_error("smtpd: event=directory_open error=\"%s\"",
		    error != NULL ? error : "unknown");
		free(error);
		t->dir = NULL;
		t->dir_failed_at = now;
		return NULL;
	}
	t->dir_failed_at = 0;
	return t->dir;
}

void
smtpd_thread_add(struct smtpd_thread *t, struct smtpd_session *s)
{
	s->prev = NULL;
	s->next = t->sessions;
	if (t->sessions != NULL)
		t->sessions->prev = s;
	t->sessions = s;
}

void
smtpd_thread_remove(struct smtpd_thread *t, struct smtpd_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else if (t->sessions == s)
		t->sessions = s->next;
	else
		panic("smtpd_thread_remove: session not listed");
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

void
smtpd_thread_shutdown(struct smtpd_thread *t)
{
	struct smtpd_session *s, *next;

	t->shutting_down = true;
	/* A session told to shut down may free itself at once (its conn
	   closing synchronously), which only ever unlinks that session. */
	for (s = t->sessions; s != NULL; s = next) {
		next = s->next;
		smtpd_session_shutdown(s);
	}
}

bool
smtpd_thread_is_shutting_down(const struct smtpd_thread *t)
{
	return t->shutting_down;
}
