/* cmd_thread.c — THREAD and UID THREAD (RFC 5256 §4: ORDEREDSUBJECT
   and REFERENCES): "* THREAD (1)(2 3)(4 (5)(6))" with sequence numbers
   or UIDs. The threads are built and written on a worker
   (imapd_thread.c); the answer comes back as one buffer. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "imapd/imapd_private.h"
#include "imapd/imapd_search.h"
#include "imapd/imapd_search_private.h"
#include "imapd/imapd_sort_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* As SEARCH's (cmd_search.c): what a command line can carry. */
#define CMD_THREAD_MAX_DEPTH 256

struct cmd_thread {
	struct imap_thread thread;
	struct imapd_search_params p;
	uint32_t *view, *saved;
	bool uid;
	struct buf out;			/* "* THREAD ...\r\n" */
	char *error;
	int rc;
};

static void
cmd_thread_free(struct cmd_thread *c)
{
	imap_thread_clear(&c->thread);
	free(c->view);
	free(c->saved);
	buf_clear(&c->out);
	free(c->error);
	free(c);
}

static void
cmd_thread_work(struct store *store, void *job)
{
	struct cmd_thread *c = job;
	struct buf threads;

	if (store == NULL) {
		c->rc = -1;
		return;
	}
	buf_init(&threads, 0);
	c->rc = imapd_thread_run(store, &c->p, &c->thread, c->uid, &threads,
	    &c->error);
	/* no thread: "* THREAD" alone (RFC 5256 §5: thread-data) */
	(void)buf_append_str(&c->out, "* THREAD");
	if (threads.len > 0) {
		(void)buf_append(&c->out, " ", 1);
		(void)buf_append(&c->out, threads.data, threads.len);
	}
	(void)buf_append(&c->out, "\r\n", 2);
	buf_clear(&threads);
}

static void
cmd_thread_done(struct imapd_session *s, void *job)
{
	struct cmd_thread *c = job;
	unsigned flags = s->uid ? IMAPD_DONE_EXPUNGE_OK : 0;

	if (imapd_session_is_gone(s)) {
		cmd_thread_free(c);
		return;
	}
	if (c->rc < 0) {
		imapd_command_done(s, flags, "NO [SERVERBUG] Internal error "
		    "occurred. Refer to server log for more information.");
		cmd_thread_free(c);
		return;
	}
	imapd_write(s, c->out.data, c->out.len);
	imapd_command_done(s, flags, "OK Thread completed.");
	cmd_thread_free(c);
}

void
imapd_cmd_thread(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct cmd_thread *c = xcalloc(1, sizeof(*c));
	const char *error;

	buf_init(&c->out, 0);
	if (imap_thread_parse(args, n, CMD_THREAD_MAX_DEPTH, &c->thread,
	    &error) < 0) {
		imapd_command_bad(s, "%s", error);
		cmd_thread_free(c);
		return;
	}
	if (!imapd_search_charset_ok(s, c->thread.search.charset)) {
		cmd_thread_free(c);
		return;
	}
	if (c->thread.search.uses_modseq)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	c->uid = s->uid;
	imapd_cmd_sort_params(s, &c->p, &c->view, &c->saved);
	imapd_job_submit(s, cmd_thread_work, cmd_thread_done, c);
}
