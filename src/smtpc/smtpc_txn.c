/* smtpc_txn.c — one mail transaction on a ready session (smtpc.h): MAIL
   FROM with its parameters, RCPT per recipient, then DATA with the body
   dot-stuffed (RFC 5321 §4.5.2) and bare LFs sent as CRLF, or one BDAT
   ... LAST (RFC 3030) with the body as it is. DATA's only good reply is
   354; a 2xx there means the server is out of step and decides nothing. With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and
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
#include <strings.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/utf8.h"
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
	/* RFC 5321 §3.8: 421 says the server is closing the channel; the
	   next message must not be handed to it (it would only get a lost
	   connection and wait for its retry). */
	t->res.usable = usable && c->conn != NULL && !t->saw_421;
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

/* Appends " ORCPT=type;value" (RFC 3461 §4.2) for orcpt as queued
   ("type;address", decoded). rfc822 is sent in xtext; utf-8 (RFC 6533 §3)
   in utf-8-addr-xtext, where "\x{HEX}" stands for what xtext writes as
   "+HH" and a "+" is a syntax error that gets the whole RCPT refused. Any
   other type, or an address that is not UTF-8, is left out: the parameter
   is optional, the recipient is not. */
static void
smtpc_txn_orcpt(const char *orcpt, struct buf *b)
{
	const char *semi = strchr(orcpt, ';');
	const unsigned char *p;
	size_t tlen, len;
	struct buf v;

	if (semi == NULL || semi[1] == '\0')
		return;
	tlen = (size_t)(semi - orcpt);
	p = (const unsigned char *)semi + 1;
	len = strlen(semi + 1);
	if (tlen == 6 && strncasecmp(orcpt, "rfc822", 6) == 0) {
		buf_append_str(b, " ORCPT=rfc822;");
		smtp_xtext_encode(semi + 1, len, b);
		return;
	}
	if (tlen != 5 || strncasecmp(orcpt, "utf-8", 5) != 0)
		return;
	buf_init(&v, 0);
	buf_append_str(&v, " ORCPT=utf-8;");
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);

		if (n == 0) {
			buf_clear(&v);
			return;
		}
		/* QCHAR as it is; HEXPOINT has two digits below 0x100 and
		   no leading zero above. */
		if (cp > ' ' && cp < 0x7f && cp != '+' && cp != '=' &&
		    cp != '\\')
			buf_append(&v, p + i, 1);
		else
			buf_printf(&v, cp < 0x100 ? "\\x{%02X}" : "\\x{%X}",
			    (unsigned)cp);
		i += n;
	}
	buf_append(b, v.data, v.len);
	buf_clear(&v);
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
	if (c->ext.dsn && r->orcpt != NULL)
		smtpc_txn_orcpt(r->orcpt, &b);
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

/* The server's reply fits no command we sent: no verdict can be trusted,
   so every undecided recipient is retried later and the connection is
   dropped (the framing is lost). */
static void
smtpc_txn_out_of_step(struct smtpc *c, const struct smtp_reply *r)
{
	struct smtpc_txn *t = c->txn;
	char text[256];

	snprintf(text, sizeof(text), "%s [%s]: unexpected reply %u to DATA",
	    c->remote_name, c->addr_text, r->code);
	log_info("smtpc: conn=%s event=protocol_error host=%s error=\"%s\"",
	    c->id, c->remote_name, text);
	for (size_t i = 0; i < t->res.rcpt_count; i++) {
		if (!t->decided[i]) {
			smtpc_reply_set(&t->res.rcpt[i], 451, "4.5.0", text);
			t->decided[i] = true;
		}
	}
	t->res.stage = SMTPC_STAGE_DATA;
	c->phase = SMTPC_PHASE_DEAD;
	smtpc_kill(c);
	smtpc_txn_finish(c, false);
}

/* Appends data to out for DATA: dots doubled at line starts (RFC 5321
   §4.5.2), and a bare LF sent as CRLF (§4.1.1.4: a client must not send
   one). Otherwise a body ending in a bare LF would end with "<LF>.<CRLF>",
   which a strict server never takes as the end (the session hangs until
   the data timeout, every retry) and a lax one does (smuggling). The DKIM
   signer reads a bare LF as CRLF too (dkim.h), so signatures still hold.
   A bare CR is passed on: the signer counts it as an ordinary byte. */
static void
smtpc_txn_stuff(struct smtpc_txn *t, const char *data, size_t len,
    struct buf *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\n' && !t->prev_cr) {
			buf_append(out, data + start, i - start);
			buf_append(out, "\r", 1);
			start = i;
		} else if (c == '.' && t->at_line_start) {
			buf_append(out, data + start, i - start);
			buf_append(out, ".", 1);
			start = i;
		}
		t->at_line_start = c == '\n';
		t->prev_cr = c == '\r';
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
	if (r->code == 421)
		t->saw_421 = true;
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
		if (r->code < 400) {
			/* RFC 5321 §4.3.2: DATA gets 354 or an error. A
			   "250" here is a server out of step with us; taking
			   it as the verdict would count a message whose body
			   never left as delivered. */
			smtpc_txn_out_of_step(c, r);
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
