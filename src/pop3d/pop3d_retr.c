/* pop3d_retr.c — RETR and TOP (RFC 1939 §7): the message streams from its
   file in chunks, never whole in memory.

   Every read runs on the worker pool (DESIGN.md §2: large file reads off
   the I/O thread; a cold 64 KiB read can wait on the disk for
   milliseconds, and a 50 MB message is 800 of them), together with the
   dot-stuffing of that chunk; the I/O thread only writes the result. One
   chunk is in flight at a time, and the next is asked for only while the
   output holds less than out_limit, so a slow reader holds at most a
   chunk's worth of encoded bytes beyond the conn's buffer.

   The first job opens the file through the store, which answers
   NOT_FOUND for a message another session expunged since the login: the
   client gets -ERR and the session goes on. Once "+OK" went out there is
   no way to report an error in the body: a read error closes the
   connection before the terminator, so the client never takes a
   truncated message for a whole one. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_command.h"
#include "pop3d/pop3d_dot.h"
#include "pop3d/pop3d_maildrop.h"
#include "pop3d/pop3d_private.h"
#include "store/store.h"

/* Octets read per job: large enough that a job's overhead is small next
   to the copy, small enough to keep a slow client's backlog short. */
#define POP3D_RETR_CHUNK (64 * 1024)

struct pop3d_retr {
	/* What to send. */
	struct store *store;		/* the session's, for the open */
	int64_t mailbox_id;
	uint32_t uid, number;
	uint64_t listed_size;		/* the snapshot's, for "+OK n octets" */
	bool top;

	/* The stream; the worker writes these, the I/O thread reads them
	   after the job is back (one job at a time). */
	int fd;				/* -1 until opened */
	uint64_t size, offset;		/* the file's size; read so far */
	struct pop3d_dot dot;
	char *chunk;
	struct buf out;			/* encoded, to be written */
	int status;			/* STORE_OK, or a store error */
	int read_errno;			/* a failed read; 0 if none */
	bool started;			/* "+OK" went out */
	bool finished;			/* the terminator is in out */
};

void
pop3d_retr_free(struct pop3d_retr **rp)
{
	struct pop3d_retr *r = *rp;

	if (r == NULL)
		return;
	if (r->fd != -1)
		close(r->fd);
	free(r->chunk);
	buf_clear(&r->out);
	free(r);
	*rp = NULL;
}

/* The next chunk, read and encoded into out (worker). */
static void
pop3d_retr_read(struct pop3d_retr *r)
{
	size_t want;
	ssize_t n;

	buf_reset(&r->out);
	want = r->size - r->offset > POP3D_RETR_CHUNK ? POP3D_RETR_CHUNK :
	    (size_t)(r->size - r->offset);
	n = 0;
	if (want > 0) {
		do {
			n = pread(r->fd, r->chunk, want, (off_t)r->offset);
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			r->read_errno = errno;
			return;
		}
		r->offset += (uint64_t)n;
		(void)pop3d_dot_encode(&r->dot, r->chunk, (size_t)n, &r->out);
	}
	/* The end of the file (or a file shorter than it said: immutable
	   files do not shrink, but a short read must not loop forever), or
	   of what TOP wanted. */
	if (n == 0 || r->offset >= r->size || r->dot.done) {
		pop3d_dot_finish(&r->dot, &r->out);
		r->finished = true;
	}
}

static void
pop3d_retr_open_work(void *ctx)
{
	struct pop3d_retr *r = ctx;

	r->status = store_message_open(r->store, r->mailbox_id, r->uid,
	    &r->fd, &r->size);
	if (r->status != STORE_OK) {
		r->fd = -1;
		return;
	}
	pop3d_retr_read(r);
}

static void
pop3d_retr_read_work(void *ctx)
{
	pop3d_retr_read(ctx);
}

static void pop3d_retr_done(struct pop3d_session *s, void *ctx);

/* Back in TRANSACTION: the stream is over, the next command is read. */
static void
pop3d_retr_end(struct pop3d_session *s)
{
	pop3d_retr_free(&s->retr);
	/* An error reply may have used up the error budget. */
	if (pop3d_session_is_gone(s))
		return;
	pop3d_session_set_state(s, POP3D_STATE_TRANSACTION);
	pop3d_session_resume(s);
}

static void
pop3d_retr_done(struct pop3d_session *s, void *ctx)
{
	struct pop3d_retr *r = ctx;
	struct pop3d_message *msg;

	if (pop3d_session_is_gone(s)) {
		pop3d_retr_free(&s->retr);
		return;
	}
	if (!r->started) {
		if (r->status != STORE_OK) {
			log_info(POP3D_LOG_PREFIX " event=retr_failed uid=%"
			    PRIu32 " status=%d", s->id, r->uid, r->status);
			pop3d_session_error(s, r->status == STORE_NOT_FOUND ?
			    "-ERR Message was removed by another session." :
			    "-ERR [SYS/TEMP] Cannot read the message.");
			pop3d_retr_end(s);
			return;
		}
		r->started = true;
		if (r->top)
			pop3d_session_reply(s, "+OK");
		else
			pop3d_session_reply(s, "+OK %" PRIu64 " octets",
			    r->listed_size);
	}
	if (r->read_errno != 0) {
		log_error(POP3D_LOG_PREFIX " event=read_error uid=%" PRIu32
		    " error=\"%s\"", s->id, r->uid, strerror(r->read_errno));
		pop3d_session_close(s, NULL);
		return;
	}
	pop3d_session_write(s, r->out.data, r->out.len);
	if (!r->finished) {
		/* The loop asks for the next chunk once output has room. */
		pop3d_session_resume(s);
		return;
	}
	if (!r->top) {
		/* RFC 1939 has no \Seen; Dovecot sets it for RETR only,
		   at QUIT, and so do we (pop3d_maildrop_commit). */
		if (pop3d_maildrop_get(s->md, r->number, &msg) ==
		    POP3D_MAILDROP_OK)
			msg->retrieved = true;
		s->n_retrieved++;
		s->bytes_retrieved += r->offset;
	}
	pop3d_retr_end(s);
}

int
pop3d_retr_continue(struct pop3d_session *s)
{
	if (s->job || pop3d_session_output_full(s))
		return 0;
	pop3d_session_submit(s, pop3d_retr_read_work, pop3d_retr_done,
	    s->retr);
	return 0;
}

void
pop3d_retr_cmd(struct pop3d_session *s, struct pop3d_command *cmd)
{
	struct pop3d_message *msg;
	struct pop3d_retr *r;

	if ((msg = pop3d_cmd_message(s, cmd->msg)) == NULL)
		return;
	r = xcalloc(1, sizeof(*r));
	r->store = s->store;
	r->mailbox_id = s->md->mailbox_id;
	r->uid = msg->uid;
	r->number = cmd->msg;
	r->listed_size = msg->size;
	r->top = cmd->verb == POP3D_VERB_TOP;
	r->fd = -1;
	r->chunk = xmalloc(POP3D_RETR_CHUNK);
	/* Sized once: a chunk encodes into at most twice its octets. */
	buf_init(&r->out, POP3D_DOT_OUT_MAX(POP3D_RETR_CHUNK) +
	    POP3D_DOT_FINISH_MAX);
	pop3d_dot_init(&r->dot, r->top, cmd->lines);
	s->retr = r;
	pop3d_session_set_state(s, POP3D_STATE_RETR);
	pop3d_session_submit(s, pop3d_retr_open_work, pop3d_retr_done, r);
}
