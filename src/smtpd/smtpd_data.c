/* smtpd_data.c — the message itself: DATA (RFC 5321 §4.1.1.4, decoded by
   smtp/smtp_data.c: dot-unstuffing, <CRLF>.<CRLF> as the only end) and
   BDAT (RFC 3030: exact octet counts, binary-safe), written to a
   queue_writer after our Received: header, then made durable by
   queue_commit_async before the 250 (STYLE.md §7: never lose mail).
   On submission the header block is watched on its way to the file and
   a missing Message-ID or Date is written at its end (smtpd_headers.h);
   [submission] always_bcc joins every envelope at the commit.

   Framing is never lost: an over-size message, over-long lines or a refused
   BDAT chunk are read to their end and discarded, and the reply follows
   the end. The peer's claimed sizes allocate nothing: bytes go to the
   queue file as they arrive, through one bounded buffer. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_command.h"
#include "smtpd/smtpd_private.h"
#include "smtpd/smtpd_headers.h"
#include "smtpd/smtpd_received.h"
#include "service/service_thread.h"

static void
smtpd_data_write_error(struct smtpd_session *s, const char *what)
{
	log_warn(SMTPD_LOG_PREFIX " qid=%s event=queue_write_error what=%s",
	    s->id, s->writer != NULL ? queue_writer_id(s->writer) : "-",
	    what);
	s->data_write_error = true;
	queue_writer_abort(&s->writer);
}

/* Opens the queue file and writes the Received: header. 0 or -1. */
static int
smtpd_data_open(struct smtpd_session *s)
{
	struct smtpd_received r = { 0 };
	const char *error = NULL;
	struct buf hdr;
	bool tls = s->conn != NULL && conn_is_tls(s->conn);
	int ret = -1;

	buf_init(&hdr, 0);
	s->writer = queue_writer_new(s->params.queue, &error);
	if (s->writer == NULL) {
		log_warn(SMTPD_LOG_PREFIX " event=queue_open_error error=\"%s\"",
		    s->id, error != NULL ? error : "unknown");
		goto out;
	}
	r.helo = s->helo;
	r.rdns = NULL;		/* XXX #5: reverse DNS comes with libunbound */
	r.addr = s->addr;
	r.hostname = s->config->hostname;
	r.proto = smtpd_received_protocol(s->esmtp, tls, s->auth_user != NULL,
	    s->env.smtputf8);
	/* The login is not revealed unless configured (issue 5). */
	r.auth = s->config->submission.received_auth ? s->auth_user : NULL;
	r.tls = tls ? conn_tls_description(s->conn) : NULL;
	r.id = queue_writer_id(s->writer);
	r.rcpt = s->env.n_rcpts == 1 ? s->env.rcpts[0].address : NULL;
	r.when = time(NULL);
	smtpd_received_format(&hdr, &r);
	if (queue_writer_write(s->writer, hdr.data, hdr.len) == -1) {
		smtpd_data_write_error(s, "received");
		goto out;
	}
	s->data_write_error = false;
	smtpd_headers_init(&s->headers);
	/* RFC 6409 §8: the submission server completes the header; a
	   relay (the MTA port) passes messages as they are. */
	s->headers.done = !s->params.is_submission;
	ret = 0;
out:
	buf_clear(&hdr);
	return ret;
}

/* Writes the missing Message-ID and Date (if any). 0 or -1. */
static int
smtpd_data_add_headers(struct smtpd_session *s, bool at_end)
{
	struct buf add;
	int ret = 0;

	buf_init(&add, 0);
	smtpd_headers_missing(&s->headers, &add, queue_writer_id(s->writer),
	    s->config->hostname, time(NULL), at_end);
	if (add.len > 0)
		ret = queue_writer_write(s->writer, add.data, add.len);
	buf_clear(&add);
	return ret;
}

/* Message octets to the queue file, the added header fields put where
   the header block ends. 0 or -1. */
static int
smtpd_data_write(struct smtpd_session *s, const char *data, size_t len)
{
	bool end;
	size_t n;

	if (s->headers.done)
		return queue_writer_write(s->writer, data, len);
	n = smtpd_headers_scan(&s->headers, data, len, &end);
	if (n > 0 && queue_writer_write(s->writer, data, n) == -1)
		return -1;
	if (!end)
		return 0;
	if (smtpd_data_add_headers(s, false) == -1)
		return -1;
	return len > n ? queue_writer_write(s->writer, data + n, len - n) : 0;
}

/* The envelope's last changes before the commit: the header block may
   have ended with the message, and the archive copy joins. 0 or -1. */
static int
smtpd_data_complete(struct smtpd_session *s)
{
	const char *bcc = s->config->submission.always_bcc;
	struct queue_envelope *env = &s->env;
	struct queue_rcpt *r;

	if (!s->headers.done) {
		s->headers.done = true;
		if (smtpd_data_add_headers(s, true) == -1)
			return -1;
	}
	if (bcc == NULL || *bcc == '\0')
		return 0;
	/* As Postfix's always_bcc: every message, bounces included, and
	   never a second copy for a recipient already listed. */
	for (size_t i = 0; i < env->n_rcpts; i++) {
		if (strcasecmp(env->rcpts[i].address, bcc) == 0)
			return 0;
	}
	env->rcpts = xreallocarray(env->rcpts, env->n_rcpts + 1,
	    sizeof(*env->rcpts));
	s->rcpt_cap = env->n_rcpts + 1;
	r = &env->rcpts[env->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(bcc);
	/* Postfix adds always_bcc with NOTIFY=NONE: a failed or delayed
	   archive copy must not send the sender a DSN naming the hidden
	   recipient. */
	r->notify = QUEUE_NOTIFY_NEVER;
	return 0;
}

static void
smtpd_data_committed(bool ok, const char *id, const char *error, void *ctx)
{
	struct smtpd_session *s = ctx;
	char esc[LOG_STR_MAX];

	smtpd_session_enter(s);
	/* The client waits for this reply again, as long as we let it. */
	if (s->conn != NULL)
		conn_set_idle_timeout(s->conn, s->idle_ms);
	if (ok) {
		s->n_messages++;
		s->junk = 0;
		log_info(SMTPD_LOG_PREFIX " qid=%s event=queued from=<%s> "
		    "nrcpt=%zu size=%" PRIu64, s->id, id,
		    log_str(esc, sizeof(esc), s->env.mail_from,
		    strlen(s->env.mail_from)), s->env.n_rcpts, s->queued_size);
		smtpd_session_reply(s, "250 2.0.0 Ok: queued as %s", id);
	} else {
		log_warn(SMTPD_LOG_PREFIX " qid=%s event=queue_commit_error "
		    "error=\"%s\"", s->id, id != NULL ? id : "-",
		    error != NULL ? error : "unknown");
		smtpd_session_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
	}
	/* COMMIT -> READY; a session whose client left meanwhile is freed
	   by the leave below, now that the queue no longer names it. */
	smtpd_session_end_transaction(s);
	smtpd_session_resume(s);
	smtpd_session_leave(s);
}

/* Hands the finished message to the queue; the reply waits for it. */
static void
smtpd_data_commit(struct smtpd_session *s)
{
	if (smtpd_data_complete(s) == -1) {
		smtpd_data_write_error(s, "headers");
		smtpd_session_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
		smtpd_session_end_transaction(s);
		return;
	}
	s->queued_size = queue_writer_size(s->writer);
	if (s->quota_ceiling != UINT64_MAX &&
	    s->queued_size > s->quota_ceiling) {
		log_info(SMTPD_LOG_PREFIX " event=over_quota size=%" PRIu64
		    " ceiling=%" PRIu64, s->id, s->queued_size,
		    s->quota_ceiling);
		queue_writer_abort(&s->writer);
		smtpd_session_reply(s, "552 5.2.2 Message exceeds the mailbox "
		    "quota of every recipient");
		smtpd_session_end_transaction(s);
		return;
	}
	smtpd_session_set_state(s, SMTPD_STATE_COMMIT);
	conn_pause_input(s->conn);
	/* The wait is ours, not the client's: an idle timeout now would
	   send 421 for a message the queue may still accept, and the
	   client would send it again (RFC 5321 §4.5.3.2.6 gives it ten
	   minutes for our answer; §6.1 prefers a duplicate to a loss, but
	   we need not cause one). */
	conn_set_idle_timeout(s->conn, 0);
	queue_commit_async(s->params.queue, &s->writer, &s->env,
	    service_thread_base(s->params.thread), smtpd_data_committed, s);
}

void
smtpd_data_cmd(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	if (s->env.n_rcpts == 0) {
		/* Postfix: 503 when no RCPT came at all, 554 when every
		   one was refused (pipelined clients see why). */
		if (s->rcpt_attempts == 0) {
			smtpd_session_error(s, "503 5.5.1 Error: need RCPT "
			    "command");
		} else {
			smtpd_session_reply(s, "554 5.5.1 Error: no valid "
			    "recipients");
			smtpd_session_junk(s);
		}
		return;
	}
	if (s->env.body == QUEUE_BODY_BINARYMIME) {
		/* RFC 3030 §3: BINARYMIME content only travels by BDAT. */
		smtpd_session_error(s, "503 5.5.1 Error: BODY=BINARYMIME "
		    "requires BDAT");
		return;
	}
	if (smtpd_data_open(s) == -1) {
		smtpd_session_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
		smtpd_session_end_transaction(s);
		return;
	}
	smtp_data_init(&s->data, s->config->limits.max_text_line);
	buf_reset(&s->data_out);
	s->data_size = 0;
	s->data_too_big = false;
	smtpd_session_set_state(s, SMTPD_STATE_DATA);
	smtpd_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* Moves decoded bytes to the queue file, unless the message is already
   refused; the size check counts every decoded byte regardless. */
static void
smtpd_data_store(struct smtpd_session *s)
{
	uint64_t max = s->config->limits.max_message_size;

	s->data_size = s->data.size;
	if (!s->data_too_big && s->data_size > max) {
		/* Keep reading to the terminator, answer 552 after it. */
		s->data_too_big = true;
		queue_writer_abort(&s->writer);
	}
	if (!s->data_too_big && !s->data_write_error && s->data_out.len > 0 &&
	    smtpd_data_write(s, s->data_out.data, s->data_out.len) == -1)
		smtpd_data_write_error(s, "data");
	buf_reset(&s->data_out);
}

static void
smtpd_data_finish(struct smtpd_session *s)
{
	if (s->data.bare_lf != 0 || s->data.bare_cr != 0)
		log_info(SMTPD_LOG_PREFIX " event=bare_line_ends lf=%u cr=%u",
		    s->id, s->data.bare_lf, s->data.bare_cr);
	if (s->data_too_big) {
		log_info(SMTPD_LOG_PREFIX " event=message_too_big size=%"
		    PRIu64, s->id, s->data_size);
		smtpd_session_reply(s, "552 5.3.4 Message size exceeds fixed "
		    "maximum message size");
		smtpd_session_end_transaction(s);
	} else if (s->data.long_lines != 0) {
		/* RFC 5322 §2.1.1: 998 characters per line at most. */
		log_info(SMTPD_LOG_PREFIX " event=line_too_long lines=%u",
		    s->id, s->data.long_lines);
		smtpd_session_reply(s, "500 5.5.2 Message line too long");
		smtpd_session_end_transaction(s);
	} else if (s->data_write_error) {
		smtpd_session_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
		smtpd_session_end_transaction(s);
	} else {
		smtpd_data_commit(s);
	}
}

int
smtpd_data_input(struct smtpd_session *s)
{
	const char *data;
	size_t len, used;

	conn_peek(s->conn, &data, &len);
	if (len == 0)
		return 0;
	if (len > SMTPD_DATA_FEED_MAX)
		len = SMTPD_DATA_FEED_MAX;
	used = smtp_data_feed(&s->data, data, len, &s->data_out);
	conn_consume(s->conn, used);
	smtpd_data_store(s);
	if (s->data.done)
		smtpd_data_finish(s);
	return 1;
}

void
smtpd_data_bdat_cmd(struct smtpd_session *s, struct smtp_command *cmd)
{
	uint64_t max = s->config->limits.max_message_size;
	enum smtpd_chunk_fail fail = SMTPD_CHUNK_OK;

	switch (s->state) {
	case SMTPD_STATE_INIT:
		fail = SMTPD_CHUNK_NO_HELO;
		break;
	case SMTPD_STATE_READY:
		fail = SMTPD_CHUNK_NO_MAIL;
		break;
	case SMTPD_STATE_MAIL:
		if (s->env.n_rcpts == 0)
			fail = s->rcpt_attempts == 0 ? SMTPD_CHUNK_NO_RCPT :
			    SMTPD_CHUNK_NO_VALID_RCPT;
		break;
	default:
		break;
	}
	/* The first chunk opens the queue file. */
	if (fail == SMTPD_CHUNK_OK && s->state == SMTPD_STATE_MAIL) {
		s->bdat_used = true;
		s->data_size = 0;
		s->data_too_big = false;
		if (smtpd_data_open(s) == -1)
			fail = SMTPD_CHUNK_WRITE_ERROR;
	}
	/* Refuse by the declared size before reading a byte of it; the
	   octets are still consumed, never buffered (RFC 3030 §2). */
	if (fail == SMTPD_CHUNK_OK && cmd->chunk_size > max - s->data_size) {
		log_info(SMTPD_LOG_PREFIX " event=message_too_big size=%"
		    PRIu64 " chunk=%" PRIu64, s->id, s->data_size,
		    cmd->chunk_size);
		queue_writer_abort(&s->writer);
		fail = SMTPD_CHUNK_TOO_BIG;
	}
	s->chunk_size = s->chunk_left = cmd->chunk_size;
	s->chunk_last = cmd->last;
	s->chunk_fail = fail;
	smtpd_session_set_state(s, SMTPD_STATE_CHUNK);
}

/* The chunk's octets are all in: answer it. */
static void
smtpd_data_chunk_done(struct smtpd_session *s)
{
	enum smtpd_chunk_fail fail = s->chunk_fail;

	s->chunk_fail = SMTPD_CHUNK_OK;
	switch (fail) {
	case SMTPD_CHUNK_NO_HELO:
		smtpd_session_set_state(s, SMTPD_STATE_INIT);
		smtpd_session_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		break;
	case SMTPD_CHUNK_NO_MAIL:
		smtpd_session_set_state(s, SMTPD_STATE_READY);
		smtpd_session_error(s, "503 5.5.1 Error: need MAIL command");
		break;
	case SMTPD_CHUNK_NO_RCPT:
		smtpd_session_set_state(s, SMTPD_STATE_MAIL);
		smtpd_session_error(s, "503 5.5.1 Error: need RCPT command");
		break;
	case SMTPD_CHUNK_NO_VALID_RCPT:
		smtpd_session_set_state(s, SMTPD_STATE_MAIL);
		smtpd_session_reply(s, "554 5.5.1 Error: no valid recipients");
		smtpd_session_junk(s);
		break;
	case SMTPD_CHUNK_TOO_BIG:
		smtpd_session_reply(s, "552 5.3.4 Message size exceeds fixed "
		    "maximum message size");
		smtpd_session_end_transaction(s);
		break;
	case SMTPD_CHUNK_WRITE_ERROR:
		smtpd_session_reply(s, "451 4.3.0 Error: queue file write "
		    "error");
		smtpd_session_end_transaction(s);
		break;
	case SMTPD_CHUNK_OK:
		if (s->chunk_last) {
			smtpd_data_commit(s);
		} else {
			smtpd_session_set_state(s, SMTPD_STATE_BDAT);
			smtpd_session_reply(s, "250 2.0.0 %" PRIu64 " octets "
			    "received", s->chunk_size);
			/* RFC 3030 allows "BDAT 0"; Postfix refuses it as
			   abuse. Allowed here, but it moves nothing. */
			if (s->chunk_size == 0)
				smtpd_session_junk(s);
		}
		break;
	}
}

int
smtpd_data_chunk_input(struct smtpd_session *s)
{
	const char *data;
	size_t len;

	if (s->chunk_left > 0) {
		conn_peek(s->conn, &data, &len);
		if (len == 0)
			return 0;
		if (len > s->chunk_left)
			len = (size_t)s->chunk_left;
		if (s->chunk_fail == SMTPD_CHUNK_OK) {
			if (smtpd_data_write(s, data, len) == -1) {
				smtpd_data_write_error(s, "chunk");
				s->chunk_fail = SMTPD_CHUNK_WRITE_ERROR;
			} else {
				s->data_size += len;
			}
		}
		conn_consume(s->conn, len);
		s->chunk_left -= len;
		if (s->chunk_left > 0)
			return 1;
	}
	smtpd_data_chunk_done(s);
	return 1;
}
