/* cmd_fetch.c — FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9; BINARY RFC
   3516; CHANGEDSINCE and VANISHED RFC 7162 §3.1.4, §3.2.6). The answers
   come from the engine (imapd_fetch.c) on a worker, about 256 KiB per
   job: a chunk is written, and the next job is submitted only once the
   client has read enough of the output, so a FETCH of a whole mailbox
   or a 50 MB body holds about one chunk in memory. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch_items.h"
#include "imap/imap_seqset.h"
#include "imapd/imapd_fetch.h"
#include "imapd/imapd_fetch_private.h"
#include "imapd/imapd_msgset.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* Octets per job: large enough that the per-job overhead vanishes,
   small enough to be one socket buffer's worth or two. */
#define CMD_FETCH_CHUNK (256 * 1024)

struct cmd_fetch {
	struct imap_fetch_items items;
	struct imapd_fetch *fetch;
	uint32_t *uids, *seqs;
	size_t n;
	int64_t mailbox_id;
	/* VANISHED (EARLIER): the UID set, asked once on the first job. */
	struct store_range *ranges;
	size_t n_ranges;
	bool vanished_pending;
	uint32_t *vanished;
	size_t n_vanished, cap_vanished;

	struct buf out;
	enum imapd_fetch_status status;
	char *text;
};

static void cmd_fetch_submit(struct imapd_session *s, struct cmd_fetch *c);

static void
cmd_fetch_free(struct cmd_fetch *c)
{
	imapd_fetch_free(&c->fetch);
	imap_fetch_items_clear(&c->items);
	free(c->uids);
	free(c->seqs);
	free(c->ranges);
	free(c->vanished);
	free(c->text);
	buf_clear(&c->out);
	free(c);
}

static void
cmd_fetch_expunged(uint32_t uid, uint64_t modseq, void *ctx)
{
	struct cmd_fetch *c = ctx;

	(void)modseq;
	/* only UIDs in the command's set (RFC 7162 §3.2.6) */
	for (size_t i = 0; i < c->n_ranges; i++) {
		if (uid < c->ranges[i].lo || uid > c->ranges[i].hi)
			continue;
		if (c->n_vanished == c->cap_vanished) {
			c->cap_vanished = c->cap_vanished ?
			    c->cap_vanished * 2 : 64;
			c->vanished = xreallocarray(c->vanished,
			    c->cap_vanished, sizeof(*c->vanished));
		}
		c->vanished[c->n_vanished++] = uid;
		return;
	}
}

static void
cmd_fetch_work(struct store *store, void *job)
{
	struct cmd_fetch *c = job;
	const char *text = NULL;

	if (store == NULL) {
		c->status = IMAPD_FETCH_NO;
		c->text = xstrdup("[UNAVAILABLE] Mailbox is unavailable");
		return;
	}
	if (c->vanished_pending) {
		c->vanished_pending = false;
		if (store_changes(store, c->mailbox_id, c->items.changedsince,
		    NULL, cmd_fetch_expunged, c) != 0) {
			c->status = IMAPD_FETCH_NO;
			c->text = xstrdup("[SERVERBUG] Internal error");
			return;
		}
		if (c->n_vanished > 0) {
			(void)buf_append_str(&c->out, "* VANISHED (EARLIER) ");
			(void)imap_seqset_write_list(c->vanished,
			    c->n_vanished, &c->out);
			(void)buf_append(&c->out, "\r\n", 2);
		}
	}
	c->status = imapd_fetch_run(c->fetch, store, &c->out,
	    c->out.len + CMD_FETCH_CHUNK, &text);
	if (c->status == IMAPD_FETCH_NO)
		c->text = xstrdup(text);
}

static void
cmd_fetch_ready(struct imapd_session *s, void *ctx)
{
	if (imapd_session_is_gone(s)) {
		cmd_fetch_free(ctx);
		return;
	}
	cmd_fetch_submit(s, ctx);
}

static void
cmd_fetch_done(struct imapd_session *s, void *job)
{
	struct cmd_fetch *c = job;
	const uint32_t *uids;
	const uint64_t *modseqs;
	size_t n;
	unsigned flags = s->uid ? IMAPD_DONE_EXPUNGE_OK : 0;

	if (imapd_session_is_gone(s)) {
		cmd_fetch_free(c);
		return;
	}
	if (c->out.len > 0)
		imapd_write(s, c->out.data, c->out.len);
	buf_reset(&c->out);
	/* what the client now knows need not be told again */
	n = imapd_fetch_reported(c->fetch, &uids, &modseqs);
	for (size_t i = 0; i < n && s->sel != NULL; i++)
		imapd_selected_reported(s->sel, uids[i], modseqs[i]);
	imapd_fetch_reported_clear(c->fetch);
	switch (c->status) {
	case IMAPD_FETCH_MORE:
		if (imapd_output_full(s))
			imapd_output_ready(s, cmd_fetch_ready, c);
		else
			cmd_fetch_submit(s, c);
		return;
	case IMAPD_FETCH_NO:
		imapd_command_done(s, flags, "NO %s", c->text);
		break;
	case IMAPD_FETCH_DONE:
		/* Dovecot: the messages another session expunged are left
		   out and the FETCH still succeeds */
		if (imapd_fetch_missing(c->fetch) > 0)
			imapd_command_done(s, flags, "OK [EXPUNGEISSUED] Some "
			    "messages were already expunged.");
		else
			imapd_command_done(s, flags, "OK Fetch completed.");
		break;
	}
	cmd_fetch_free(c);
}

static void
cmd_fetch_submit(struct imapd_session *s, struct cmd_fetch *c)
{
	imapd_job_submit(s, cmd_fetch_work, cmd_fetch_done, c);
}

void
imapd_cmd_fetch(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	struct cmd_fetch *c;
	struct imapd_fetch_params p;
	const char *error;
	bool modseq = false;

	if (n < 2) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	buf_init(&c->out, 0);
	if (imap_fetch_items_parse(args + 1, n - 1, &c->items, &error) < 0) {
		imapd_command_bad(s, "%s", error);
		cmd_fetch_free(c);
		return;
	}
	if (c->items.vanished && (!s->uid || !s->qresync ||
	    !c->items.changedsince_set)) {
		/* RFC 7162 §3.2.6: UID FETCH with CHANGEDSINCE, QRESYNC on */
		imapd_command_bad(s, "VANISHED used without QRESYNC or "
		    "CHANGEDSINCE.");
		cmd_fetch_free(c);
		return;
	}
	if (imapd_msgset_arg(s, &args[0], &c->ranges, &c->n_ranges) < 0) {
		cmd_fetch_free(c);
		return;
	}
	for (size_t i = 0; i < c->items.n; i++)
		modseq |= c->items.atts[i].type == IMAP_FETCH_MODSEQ;
	/* RFC 7162 §3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE */
	if (modseq || c->items.changedsince_set)
		imapd_condstore_enable(s);
	c->uids = imapd_msgset_view_uids(s, c->ranges, c->n_ranges, &c->n);
	c->seqs = xcalloc(c->n ? c->n : 1, sizeof(*c->seqs));
	for (size_t i = 0; i < c->n; i++)
		c->seqs[i] = imapd_selected_seq(s->sel, c->uids[i]);
	c->mailbox_id = s->sel->mailbox_id;
	c->vanished_pending = c->items.vanished && c->n_ranges > 0;
	p = (struct imapd_fetch_params){
		.mailbox_id = s->sel->mailbox_id,
		.items = &c->items,
		.uids = c->uids,
		.seqs = c->seqs,
		.n = c->n,
		.uid_command = s->uid,
		.condstore = s->condstore,
		.readonly = s->sel->readonly,
		.utf8 = s->utf8,
		.recent_min = s->rev2 ? 0 : s->sel->recent_min,
		.recent_max = s->sel->recent_max,
	};
	c->fetch = imapd_fetch_new(&p);
	if (c->n == 0 && !c->vanished_pending) {
		imapd_command_done(s, s->uid ? IMAPD_DONE_EXPUNGE_OK : 0,
		    "OK Fetch completed.");
		cmd_fetch_free(c);
		return;
	}
	cmd_fetch_submit(s, c);
}
