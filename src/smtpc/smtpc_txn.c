/* smtpc_txn.c — one mail transaction on a ready session (smtpc.h): MAIL
   FROM with its parameters, RCPT per recipient, then DATA with the body
   dot-stuffed (RFC 5321 §4.5.2) or one BDAT ... LAST (RFC 3030) with the
   body as it is. With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and
   DATA go out in one write and the replies are matched in order; a 354
   that arrives although no recipient was accepted gets a lone "." so the
   session stays in step. The body (prepend bytes, then the file from
   offset 0) is read in 64 KiB steps as the output drains, so a message of
   any size needs 64 KiB of buffer. Every recipient ends with exactly one
   deciding reply (smtpc_result). */
#include "smtpc/smtpc_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_xtext.h"

#define SMTPC_BODY_CHUNK (64 * 1024)
/* Read more only while less than this waits in the output buffer; below
   conn's out_high, so reading replies never stops meanwhile. */
#define SMTPC_BODY_QUEUE (64 * 1024)

void
smtpc_txn_free(struct smtpc_txn **tp)
{
	struct smtpc_txn *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	for (size_t i = 0; i < t->res.rcpt_count; i++)
		smtpc_reply_clear(&t->res.rcpt[i]);
	for (size_t i = 0; i < t->msg.rcpt_count; i++) {
		free((char *)t->rcpts[i].address);
		free((char *)t->rcpts[i].orcpt);
	}
	smtpc_reply_clear(&t->res.message);
	smtpc_reply_clear(&t->mail_reply);
	free(t->res.rcpt);
	free(t->rcpts);
	free(t->decided);
	free((char *)t->msg.mail_from);
	free((char *)t->msg.prepend);
	free((char *)t->msg.envid);
	free(t);
}

/* Ends the transaction: fills what is undecided, counts, tells the
   caller from the loop. */
static void
smtpc_txn_finish(struct smtpc *c, bool usable)
{
	struct smtpc_txn *t = c->txn;

	t->res.accepted = 0;
	for (size_t i = 0; i < t->res.rcpt_count; i++) {
		struct smtpc_reply *r = &t->res.rcpt[i];

		if (t->mail_reply.code != 0 && !t->mail_ok) {
			smtpc_reply_set(r, t->mail_reply.code,
			    t->mail_reply.enhanced, t->mail_reply.text);
			r->synthetic = t->mail_reply.synthetic;
		} else if (r->code == 0) {
			smtpc_reply_set(r, 451, "4.4.2", "no reply");
		}
		if (r->code / 100 == 2)
			t->res.accepted++;
	}
	t->res.usable = usable && c->conn != NULL;
	if (t->res.usable) {
		c->phase = SMTPC_PHASE_READY;
		smtpc_set_reply_timeout(c, c->set.command_timeout_ms);
	} else if (c->phase == SMTPC_PHASE_TXN) {
		c->phase = SMTPC_PHASE_DEAD;
	}
	log_info("smtpc: conn=%s event=txn_done host=%s stage=%d rcpts=%zu "
	    "accepted=%zu code=%u", c->id, c->remote_name, t->res.stage,
	    t->res.rcpt_count, t->res.accepted, t->res.message.code);
	smtpc_schedule_notify(c, SMTPC_NOTIFY_DONE);
}

/* Every recipient gets the same synthetic reply (refused before MAIL). */
static void
smtpc_txn_refuse_all(struct smtpc *c, enum smtpc_stage stage, unsigned code,
    const char *enhanced, const char *text, bool usable)
{
	struct smtpc_txn *t = c->txn;

	for (size_t i = 0; i < t->res.rcpt_count; i++)
		smtpc_reply_set(&t->res.rcpt[i], code, enhanced, text);
	t->res.stage = stage;
	t->mail_ok = true;	/* not MAIL's verdict: keep these */
	smtpc_txn_finish(c, usable);
}

static void
smtpc_txn_write_mail(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "MAIL FROM:<%s>", t->msg.mail_from);
	if (c->ext.size)
		buf_printf(&b, " SIZE=%llu", (unsigned long long)t->total);
	if (t->msg.eightbit && c->ext.eightbitmime)
		buf_append_str(&b, " BODY=8BITMIME");
	if (t->msg.smtputf8)
		buf_append_str(&b, " SMTPUTF8");
	if (c->ext.dsn && (t->msg.ret == 1 || t->msg.ret == 2))
		buf_append_str(&b, t->msg.ret == 1 ? " RET=FULL" : " RET=HDRS");
	if (c->ext.dsn && t->msg.envid != NULL) {
		buf_append_str(&b, " ENVID=");
		smtp_xtext_encode(t->msg.envid, strlen(t->msg.envid), &b);
	}
	smtpc_write_line(c, "%s", b.data);
	buf_clear(&b);
	smtpc_expect(c, SMTPC_CMD_MAIL, 0);
}

static void
smtpc_txn_write_rcpt(struct smtpc *c, size_t i)
{
	const struct smtpc_rcpt *r = &c->txn->rcpts[i];
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "RCPT TO:<%s>", r->address);
	if (c->ext.dsn && r->notify != 0) {
		static const char *const names[] = { "NEVER", "SUCCESS",
		    "FAILURE", "DELAY" };
		bool first = true;

		buf_append_str(&b, " NOTIFY=");
		for (unsigned bit = 0; bit < 4; bit++) {
			if (!(r->notify & (1u << bit)) ||
			    (bit > 0 && (r->notify & 1u)))
				continue;	/* NEVER stands alone */
			buf_printf(&b, "%s%s", first ? "" : ",", names[bit]);
			first = false;
		}
	}
	if (c->ext.dsn && r->orcpt != NULL) {
		const char *semi = strchr(r->orcpt, ';');

		if (semi != NULL && semi > r->orcpt) {
			buf_printf(&b, " ORCPT=%.*s;", (int)(semi - r->orcpt),
			    r->orcpt);
			smtp_xtext_encode(semi + 1, strlen(semi + 1), &b);
		}
	}
	smtpc_write_line(c, "%s", b.data);
	buf_clear(&b);
	smtpc_expect(c, SMTPC_CMD_RCPT, i);
}

static void
smtpc_txn_local_error(struct smtpc *c, const char *what, int err)
{
	struct smtpc_txn *t = c->txn;
	char text[256];

	snprintf(text, sizeof(text), "local error %s: %s", what,
	    err != 0 ? strerror(err) : "file shorter than its size");
	log_error("smtpc: conn=%s event=local_error host=%s error=\"%s\"",
	    c->id, c->remote_name, text);
	for (size_t i = 0; i < t->res.rcpt_count; i++) {
		if (!t->decided[i])
			smtpc_reply_set(&t->res.rcpt[i], 451, "4.3.0", text);
	}
	/* The framing is lost: the server must not take a partial body. */
	c->phase = SMTPC_PHASE_DEAD;
	smtpc_kill(c);
	smtpc_txn_finish(c, false);
}

/* Appends data to out, doubling dots at line starts (RFC 5321 §4.5.2). */
static void
smtpc_txn_stuff(struct smtpc_txn *t, const char *data, size_t len,
    struct buf *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (t->at_line_start && data[i] == '.') {
			buf_append(out, data + start, i - start);
			buf_append(out, ".", 1);
			start = i;
		}
		t->at_line_start = data[i] == '\n';
	}
	buf_append(out, data + start, len - start);
	if (len > 0)
		t->last_was_lf = data[len - 1] == '\n';
}

/* Sends more of the body while the output queue is short. */
static void
smtpc_txn_pump(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;
	char *chunk = NULL;
	struct buf out;

	buf_init(&out, 0);
	while (c->conn != NULL && !t->body_done &&
	    conn_output_pending(c->conn) < SMTPC_BODY_QUEUE) {
		const char *data;
		size_t n;

		if (t->off < t->msg.prepend_len) {
			data = t->msg.prepend + t->off;
			n = t->msg.prepend_len - (size_t)t->off;
		} else if (t->off < t->total) {
			uint64_t foff = t->off - t->msg.prepend_len;
			uint64_t left = t->total - t->off;
			ssize_t r;

			if (chunk == NULL)
				chunk = xmalloc(SMTPC_BODY_CHUNK);
			n = left < SMTPC_BODY_CHUNK ? (size_t)left :
			    SMTPC_BODY_CHUNK;
			r = pread(t->msg.fd, chunk, n, (off_t)foff);
			if (r <= 0) {
				if (r == -1 && errno == EINTR)
					continue;
				smtpc_txn_local_error(c, "reading the message",
				    r == -1 ? errno : 0);
				goto out;
			}
			n = (size_t)r;
			data = chunk;
		} else {
			n = 0;
			data = "";
		}
		if (n > 0) {
			t->off += n;
			if (t->bdat) {
				conn_write(c->conn, data, n);
			} else {
				buf_reset(&out);
				smtpc_txn_stuff(t, data, n, &out);
				conn_write(c->conn, out.data, out.len);
			}
		}
		if (t->off == t->total) {
			if (!t->bdat) {
				/* §4.1.1.4: the body ends with CRLF. */
				if (t->total == 0 || !t->last_was_lf)
					conn_write(c->conn, "\r\n", 2);
				conn_write(c->conn, ".\r\n", 3);
			}
			t->body_done = true;
			smtpc_set_reply_timeout(c, c->set.data_timeout_ms);
		}
	}
out:
	buf_clear(&out);
	free(chunk);
}

void
smtpc_txn_drain(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;

	if (t->body_started && !t->body_done)
		smtpc_txn_pump(c);
}

static void
smtpc_txn_start_body(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;

	t->res.stage = SMTPC_STAGE_DATA;
	t->body_started = true;
	t->at_line_start = true;
	if (t->bdat) {
		smtpc_write_line(c, "BDAT %llu LAST",
		    (unsigned long long)t->total);
	}
	smtpc_expect(c, SMTPC_CMD_DOT, 0);
	smtpc_txn_pump(c);
}

/* All RCPT replies are in and DATA was not pipelined. */
static void
smtpc_txn_after_rcpts(struct smtpc *c)
{
	struct smtpc_txn *t = c->txn;
	size_t ok = 0;

	for (size_t i = 0; i < t->res.rcpt_count; i++)
		ok += !t->decided[i];
	if (!t->mail_ok || ok == 0) {
		/* MAIL was accepted but nothing follows: RSET next time. */
		c->need_rset = t->mail_ok;
		smtpc_txn_finish(c, true);
		return;
	}
	if (c->ext.chunking) {
		t->bdat = true;
		smtpc_txn_start_body(c);
	} else {
		t->data_sent = true;
		smtpc_write_line(c, "DATA");
		smtpc_expect(c, SMTPC_CMD_DATA, 0);
	}
}

void
smtpc_txn_reply(struct smtpc *c, enum smtpc_cmd cmd, size_t arg,
    const struct smtp_reply *r)
{
	struct smtpc_txn *t = c->txn;
	bool pipelined = t != NULL && t->pipelined;
	size_t ok = 0;

	if (t == NULL)
		panic("smtpc_txn_reply: no transaction");
	switch (cmd) {
	case SMTPC_CMD_RSET:
		c->need_rset = false;
		return;
	case SMTPC_CMD_MAIL:
		t->mail_ok = r->code / 100 == 2;
		if (!t->mail_ok) {
			smtpc_reply_from(&t->mail_reply, r);
			t->res.stage = SMTPC_STAGE_MAIL;
		} else {
			t->res.stage = SMTPC_STAGE_RCPT;
		}
		if (pipelined)
			return;
		if (!t->mail_ok) {
			smtpc_txn_finish(c, true);
			return;
		}
		smtpc_txn_write_rcpt(c, 0);
		return;
	case SMTPC_CMD_RCPT:
		smtpc_reply_from(&t->res.rcpt[arg], r);
		t->decided[arg] = r->code / 100 != 2 || !t->mail_ok;
		if (arg + 1 < t->res.rcpt_count) {
			if (!pipelined)
				smtpc_txn_write_rcpt(c, arg + 1);
			return;
		}
		if (!t->data_sent)
			smtpc_txn_after_rcpts(c);
		return;
	case SMTPC_CMD_DATA:
		for (size_t i = 0; i < t->res.rcpt_count; i++)
			ok += !t->decided[i];
		if (r->code == 354 && (!t->mail_ok || ok == 0)) {
			/* RFC 2920 §3.1: nothing to send, end it cleanly. */
			t->dot_ignored = true;
			conn_write(c->conn, ".\r\n", 3);
			smtpc_expect(c, SMTPC_CMD_DOT, 0);
			return;
		}
		if (r->code == 354) {
			smtpc_txn_start_body(c);
			return;
		}
		if (t->mail_ok) {
			for (size_t i = 0; i < t->res.rcpt_count; i++) {
				if (!t->decided[i]) {
					smtpc_reply_from(&t->res.rcpt[i], r);
					t->decided[i] = true;
				}
			}
			if (ok > 0)
				t->res.stage = SMTPC_STAGE_DATA;
		}
		c->need_rset = t->mail_ok;
		smtpc_txn_finish(c, true);
		return;
	case SMTPC_CMD_DOT:
		if (t->dot_ignored) {
			smtpc_txn_finish(c, true);
			return;
		}
		smtpc_reply_from(&t->res.message, r);
		t->res.stage = SMTPC_STAGE_DONE;
		for (size_t i = 0; i < t->res.rcpt_count; i++) {
			if (!t->decided[i]) {
				smtpc_reply_from(&t->res.rcpt[i], r);
				t->decided[i] = true;
			}
		}
		c->need_rset = false;
		if (!t->body_done) {
			/* Answered before the end of the body: the rest of
			   it cannot be sent, nor the session reused. */
			c->phase = SMTPC_PHASE_DEAD;
			smtpc_kill(c);
			smtpc_txn_finish(c, false);
			return;
		}
		smtpc_txn_finish(c, true);
		return;
	default:
		panic("smtpc_txn_reply: command %d", cmd);
	}
}

void
smtpc_txn_lost(struct smtpc *c, const char *why)
{
	struct smtpc_txn *t = c->txn;
	char text[512];
	const char *during;

	if (t == NULL)
		return;
	switch (t->res.stage) {
	case SMTPC_STAGE_MAIL: during = "MAIL FROM"; break;
	case SMTPC_STAGE_RCPT: during = "RCPT TO"; break;
	default: during = t->body_done ? "waiting for the end of data" :
	    "sending the message"; break;
	}
	snprintf(text, sizeof(text), "%s [%s]: %s during %s", c->remote_name,
	    c->addr_text, why, during);
	for (size_t i = 0; i < t->res.rcpt_count; i++) {
		if (!t->decided[i] || (t->body_started && !t->dot_ignored &&
		    t->res.rcpt[i].code / 100 == 2)) {
			smtpc_reply_set(&t->res.rcpt[i], 421, "4.4.2", text);
			t->decided[i] = true;
		}
	}
	if (!t->mail_ok && t->mail_reply.code == 0)
		t->mail_ok = true;	/* keep the per-rcpt 421s */
	smtpc_txn_finish(c, false);
}

void
smtpc_txn_start(struct smtpc *c, const struct smtpc_message *msg,
    smtpc_done_cb *done, void *ctx)
{
	struct smtpc_txn *t = xcalloc(1, sizeof(*t));
	char text[512];

	if (msg->rcpt_count == 0)
		panic("smtpc_txn_start: no recipients");
	t->msg = *msg;
	t->msg.mail_from = xstrdup(msg->mail_from);
	t->msg.envid = msg->envid != NULL ? xstrdup(msg->envid) : NULL;
	t->msg.prepend = NULL;
	if (msg->prepend_len > 0) {
		char *p = xmalloc(msg->prepend_len);

		memcpy(p, msg->prepend, msg->prepend_len);
		t->msg.prepend = p;
	}
	t->rcpts = xcalloc(msg->rcpt_count, sizeof(*t->rcpts));
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		t->rcpts[i] = msg->rcpts[i];
		t->rcpts[i].address = xstrdup(msg->rcpts[i].address);
		t->rcpts[i].orcpt = msg->rcpts[i].orcpt != NULL ?
		    xstrdup(msg->rcpts[i].orcpt) : NULL;
	}
	t->msg.rcpts = t->rcpts;
	t->res.rcpt = xcalloc(msg->rcpt_count, sizeof(*t->res.rcpt));
	t->res.rcpt_count = msg->rcpt_count;
	t->decided = xcalloc(msg->rcpt_count, sizeof(*t->decided));
	t->total = msg->prepend_len + msg->size;
	t->done = done;
	t->ctx = ctx;
	t->res.stage = SMTPC_STAGE_MAIL;
	c->txn = t;

	if (c->phase != SMTPC_PHASE_READY || c->conn == NULL) {
		snprintf(text, sizeof(text), "%s [%s]: %s", c->remote_name,
		    c->addr_text, c->lost_reason != NULL ? c->lost_reason :
		    "connection lost");
		smtpc_txn_refuse_all(c, SMTPC_STAGE_MAIL, 421, "4.4.2", text,
		    false);
		return;
	}
	if (msg->smtputf8 && !c->ext.smtputf8) {
		/* RFC 6531 §3.5: no downgrade; the sender learns why. */
		snprintf(text, sizeof(text), "%s does not support SMTPUTF8, "
		    "which the message needs", c->remote_name);
		smtpc_txn_refuse_all(c, SMTPC_STAGE_MAIL, 553, "5.6.7", text,
		    true);
		return;
	}
	if (c->ext.size && c->ext.max_size != 0 &&
	    t->total > c->ext.max_size) {
		snprintf(text, sizeof(text), "message of %llu bytes exceeds "
		    "the limit of %s (%llu)", (unsigned long long)t->total,
		    c->remote_name, (unsigned long long)c->ext.max_size);
		smtpc_txn_refuse_all(c, SMTPC_STAGE_MAIL, 552, "5.3.4", text,
		    true);
		return;
	}
	c->phase = SMTPC_PHASE_TXN;
	smtpc_set_reply_timeout(c, c->set.command_timeout_ms);
	if (c->need_rset) {
		smtpc_write_line(c, "RSET");
		smtpc_expect(c, SMTPC_CMD_RSET, 0);
	}
	/* More recipients than the reply queue holds go one by one. */
	t->pipelined = c->ext.pipelining &&
	    t->res.rcpt_count <= SMTPC_EXPECT_MAX - 8;
	smtpc_txn_write_mail(c);
	if (!t->pipelined)
		return;
	/* RFC 2920: the whole envelope in one write; DATA last. */
	for (size_t i = 0; i < t->res.rcpt_count; i++)
		smtpc_txn_write_rcpt(c, i);
	if (!c->ext.chunking) {
		t->data_sent = true;
		smtpc_write_line(c, "DATA");
		smtpc_expect(c, SMTPC_CMD_DATA, 0);
	}
}
