/* outbound_bounce.c — queueing the DSNs the agent owes (RFC 3464 reports
   built by mail/dsn.h): from the null sender "<>" to the envelope sender,
   through queue_commit like any mail (then delivered locally or sent out).
   Never to the null sender: a report about a report would loop. Runs on
   the agent's worker thread (reads the original, commits). */
#include "outbound/outbound_private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "mail/dsn.h"

void
outbound_bounce_status(const char *reply, const char *def, char *out)
{
	const char *p = reply;
	size_t n;

	snprintf(out, 16, "%s", def);
	if (reply == NULL)
		return;
	/* "550 5.1.1 text" or "5.1.1 text" (our own reasons). */
	if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	n = strspn(p, "0123456789.");
	if (n >= 5 && n < 16 && (p[0] == '2' || p[0] == '4' || p[0] == '5') &&
	    p[1] == '.' && (p[n] == ' ' || p[n] == '\0')) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

/* The first max bytes of path (all of it when smaller), NUL-terminated, in
   *data_r (heap). A large original is returned as its header only, and
   that header is at its start: reading just the start is what keeps it
   (fsutil_read_file refuses a file over its max altogether). 0, or -1. */
static int
outbound_bounce_read_head(const char *path, size_t max, char **data_r,
    size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *data;
	size_t len = 0;

	*data_r = NULL;
	*len_r = 0;
	if (fd == -1)
		return -1;
	data = xmalloc(max + 1);
	while (len < max) {
		ssize_t n = read(fd, data + len, max - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			free(data);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

/* The report's unique token, "<qid>.<hash>": the same for the same
   recipients and actions of the same message, so a report queued before a
   crash (and not yet recorded as sent) is recognised by its Message-ID
   when the restarted agent owes it again. FNV-1a over (index, action). */
static void
outbound_bounce_unique(const struct queue_envelope *env,
    const struct outbound_dsn_rcpt *rcpts, size_t n, char *out, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t k = 0; k < n; k++) {
		uint64_t v[2] = { env->rcpts[rcpts[k].i].idx,
		    (uint64_t)rcpts[k].action };

		for (size_t j = 0; j < 2; j++) {
			for (unsigned b = 0; b < 8; b++) {
				h ^= (v[j] >> (8 * b)) & 0xff;
				h *= 0x100000001b3ULL;
			}
		}
	}
	snprintf(out, size, "%s.%016" PRIx64, env->id, h);
}

/* "host[ip]:port" → "host", for Remote-MTA. */
static char *
outbound_bounce_mta(const char *relay)
{
	size_t n;

	if (relay == NULL)
		return NULL;
	n = strcspn(relay, "[");
	return n > 0 ? xstrndup(relay, n) : NULL;
}

int
outbound_bounce_send(struct outbound *ob, const struct queue_envelope *env,
    const struct outbound_dsn_rcpt *rcpts, size_t n, char *qid_r,
    char **error_r)
{
	const struct config *config = ob->config;
	struct dsn_recipient *dr = xcalloc(n, sizeof(*dr));
	char (*status)[16] = xcalloc(n, sizeof(*status));
	char **mta = xcalloc(n, sizeof(*mta));
	struct dsn_report rep = { 0 };
	struct queue_envelope benv = { 0 };
	struct queue_rcpt brcpt = { 0 };
	struct queue_writer *w = NULL;
	struct buf out;
	char *path, *original = NULL, *msgid = NULL, unique[64];
	size_t original_len = 0;
	const char *err = NULL;
	int ret = -1;

	qid_r[0] = '\0';
	buf_init(&out, 0);
	if (env->mail_from[0] == '\0') {
		log_info("outbound: qid=%s event=dsn-dropped "
		    "reason=null-sender", env->id);
		ret = 0;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct queue_rcpt *rc = &env->rcpts[rcpts[k].i];
		const char *def = rcpts[k].action == DSN_ACTION_FAILED ?
		    "5.0.0" : rcpts[k].action == DSN_ACTION_DELAYED ?
		    "4.0.0" : "2.0.0";

		outbound_bounce_status(rcpts[k].reply, def, status[k]);
		/* A 4.x.x that ended in failure (expired) is reported as
		   the failure it became (RFC 3464 §2.3.4). */
		if (rcpts[k].action == DSN_ACTION_FAILED && status[k][0] == '4')
			status[k][0] = '5';
		mta[k] = outbound_bounce_mta(rcpts[k].relay);
		dr[k].address = rc->address;
		/* Already "type;address": smtp_command decodes the xtext
		   (or RFC 6533 utf-8-addr-xtext) at RCPT and the queue
		   keeps the decoded value, as dsn.h wants it. Decoding here
		   again would turn an address holding "+2B" into "+". */
		dr[k].orcpt = rc->orcpt;
		dr[k].action = (enum dsn_action)rcpts[k].action;
		dr[k].status = status[k];
		dr[k].remote_mta = mta[k];
		dr[k].diagnostic = rcpts[k].reply;
		dr[k].last_attempt = time(NULL);
		if (rcpts[k].action == DSN_ACTION_DELAYED)
			dr[k].will_retry_until = env->arrival +
			    (time_t)config->outbound.max_lifetime;
	}
	/* Enough of the original for dsn.h's choice of full or headers:
	   more than DSN_MAX_FULL_DEFAULT bytes make it take the header. */
	path = queue_message_path(ob->queue, env->id);
	if (outbound_bounce_read_head(path, 4 * DSN_MAX_FULL_DEFAULT,
	    &original, &original_len) == -1) {
		/* Gone (deleted meanwhile): the report goes without it. */
		original = xstrdup("");
		original_len = 0;
	}
	free(path);
	outbound_bounce_unique(env, rcpts, n, unique, sizeof(unique));
	msgid = xasprintf("<%s@%s>", unique, config->hostname);
	switch (queue_msgid_queued(ob->queue, msgid, error_r)) {
	case 1:
		log_info("outbound: qid=%s event=dsn-already-queued "
		    "msgid=%s", env->id, msgid);
		ret = 0;
		goto out;
	case -1:
		goto out;
	}
	rep.reporting_mta = config->hostname;
	rep.mail_from = env->mail_from;
	rep.envid = env->envid;
	rep.ret = (enum dsn_ret)env->ret;
	rep.smtputf8 = env->smtputf8;
	rep.arrival = env->arrival;
	rep.now = time(NULL);
	rep.unique = unique;
	rep.recipients = dr;
	rep.n_recipients = n;
	rep.original = original;
	rep.original_len = original_len;
	if (dsn_build(&rep, &out, &err) == -1) {
		*error_r = xasprintf("dsn: %s", err);
		goto out;
	}
	if ((w = queue_writer_new(ob->queue, &err)) == NULL) {
		*error_r = xasprintf("queue: %s", err);
		goto out;
	}
	if (queue_writer_write(w, out.data, out.len) == -1) {
		*error_r = xstrdup("queue: write failed");
		queue_writer_abort(&w);
		goto out;
	}
	brcpt.address = env->mail_from;
	benv.mail_from = "";
	benv.body = env->body == QUEUE_BODY_7BIT ? QUEUE_BODY_7BIT :
	    QUEUE_BODY_8BITMIME;
	benv.smtputf8 = env->smtputf8;
	benv.helo = config->hostname;
	benv.rcpts = &brcpt;
	benv.n_rcpts = 1;
	snprintf(qid_r, 32, "%s", queue_writer_id(w));
	if (queue_commit(ob->queue, &w, &benv, error_r) == -1) {
		qid_r[0] = '\0';
		goto out;
	}
	log_info("outbound: qid=%s event=dsn dsn_qid=%s action=%s nrcpt=%zu",
	    env->id, qid_r, dsn_action_name((enum dsn_action)rcpts[0].action),
	    n);
	ret = 0;
out:
	for (size_t k = 0; k < n; k++)
		free(mta[k]);
	free(mta);
	free(status);
	free(dr);
	free(original);
	free(msgid);
	buf_clear(&out);
	return ret;
}
