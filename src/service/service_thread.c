/* service_thread.c — per-I/O-thread state of a session service: the
   thread's own directory connection (a SQLite connection is used by one
   thread at a time, directory.h) and the list of live sessions for the
   shutdown. */
#include "service/service_thread.h"

#include <stdlib.h>
#include <time.h>

#include "config/config.h"
#include "directory/directory.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct service_thread {
	struct event_base *base;
	const struct config *config;
	const char *name;
	service_shutdown_fn *shutdown;
	struct directory *dir;
	time_t dir_failed_at;		/* last failed open; 0 if none */
	struct service_link *sessions;
	bool shutting_down;
};

struct service_thread *
service_thread_new(struct event_base *base, const struct config *config,
    const char *name, service_shutdown_fn *shutdown)
{
	struct service_thread *t = xcalloc(1, sizeof(*t));

	t->base = base;
	t->config = config;
	t->name = name;
	t->shutdown = shutdown;
	return t;
}

void
service_thread_free(struct service_thread **tp)
{
	struct service_thread *t = *tp;

	if (t == NULL)
		return;
	if (t->sessions != NULL) {
		/* The server's shutdown deadline stopped the loop under live
		   sessions: their event_base is gone, nothing calls them
		   again. Their memory goes with the process. */
		unsigned n = 0;

		for (struct service_link *l = t->sessions; l != NULL;
		    l = l->next)
			n++;
		log_warn("%s: event=shutdown_deadline sessions_left=%u",
		    t->name, n);
	}
	directory_close(&t->dir);
	free(t);
	*tp = NULL;
}

struct event_base *
service_thread_base(const struct service_thread *t)
{
	return t->base;
}

const struct config *
service_thread_config(const struct service_thread *t)
{
	return t->config;
}

struct directory *
service_thread_directory(struct service_thread *t)
{
	char *error = NULL;
	time_t now;

	if (t->dir != NULL)
		return t->dir;
	/* A missing or broken database fails every lookup; retrying the
	   open for each of a pipelined flood would only add load. */
	now = time(NULL);
	if (t->dir_failed_at != 0 && now - t->dir_failed_at < 1)
		return NULL;
	if (directory_open(t->config->data_dir, false, &t->dir, &error) == -1) {
		log_error("%s: event=directory_open error=\"%s\"", t->name,
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
service_thread_add(struct service_thread *t, struct service_link *l)
{
	l->prev = NULL;
	l->next = t->sessions;
	if (t->sessions != NULL)
		t->sessions->prev = l;
	t->sessions = l;
}

void
service_thread_remove(struct service_thread *t, struct service_link *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else if (t->sessions == l)
		t->sessions = l->next;
	else
		panic("%s: service_thread_remove: session not listed",
		    t->name);
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

void
service_thread_shutdown(struct service_thread *t)
{
	struct service_link *l, *next;

	t->shutting_down = true;
	/* A session told to shut down may free itself at once (its conn
	   closing synchronously), which only ever unlinks that session. */
	for (l = t->sessions; l != NULL; l = next) {
		next = l->next;
		t->shutdown(l);
	}
}

bool
service_thread_is_shutting_down(const struct service_thread *t)
{
	return t->shutting_down;
}
