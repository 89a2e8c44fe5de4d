/* cmd_search.c — SEARCH and UID SEARCH (RFC 9051 §6.4.4; ESEARCH RFC
   4731; SEARCHRES RFC 5182; CONDSTORE's (MODSEQ n) RFC 7162 §3.1.5).
   The keys are evaluated on a worker (imapd_search.c). A rev2 client
   always gets ESEARCH (RFC 9051 §7.3.4), a rev1 client only with
   RETURN. SAVE keeps the result in the selected mailbox's "$"; a failed
   search empties it (RFC 5182 §2.1). */
#include "imapd/imapd_commands.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_search.h"
#include "imap/imap_seqset.h"
#include "imapd/imapd_private.h"
#include "imapd/imapd_search.h"
#include "imapd/imapd_search_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* Nested lists, NOT and OR: what a command line can carry without
   risk to the stack (the parser refuses deeper trees). */
#define CMD_SEARCH_MAX_DEPTH 256

struct cmd_search {
	struct imap_search search;
	struct imapd_search_params p;
	uint32_t *view, *saved;
	uint32_t *uids;
	size_t n;
	uint64_t highest;
	char *error;
	int rc;
};

static void
cmd_search_free(struct cmd_search *c)
{
	imap_search_clear(&c->search);
	free(c->view);
	free(c->saved);
	free(c->uids);
	free(c->error);
	free(c);
}

static void
cmd_search_work(struct store *store, void *job)
{
	struct cmd_search *c = job;

	if (store == NULL) {
		c->rc = -1;
		return;
	}
	c->rc = imapd_search_run(store, &c->p, &c->search, &c->uids, &c->n,
	    &c->highest, &c->error);
}

/* The numbers the client sees: UIDs, or sequence numbers. */
static void
cmd_search_numbers(struct imapd_session *s, struct cmd_search *c)
{
	if (s->uid)
		return;
	for (size_t i = 0; i < c->n; i++)
		c->uids[i] = imapd_selected_seq(s->sel, c->uids[i]);
}

static void
cmd_search_save(struct imapd_session *s, struct cmd_search *c,
    const uint32_t *uids, size_t n)
{
	struct imapd_selected *sel = s->sel;

	free(sel->saved);
	sel->saved = NULL;
	sel->n_saved = 0;
	sel->saved_valid = true;
	if (n > 0) {
		sel->saved = xcalloc(n, sizeof(*sel->saved));
		memcpy(sel->saved, uids, n * sizeof(*uids));
		sel->n_saved = n;
	}
	(void)c;
}

static void
cmd_search_esearch(struct imapd_session *s, struct cmd_search *c,
    unsigned returns, struct buf *out)
{
	(void)buf_printf(out, "* ESEARCH (TAG \"%s\")", s->tag);
	if (s->uid)
		(void)buf_append_str(out, " UID");
	if (c->n > 0 && (returns & IMAP_SEARCH_RETURN_MIN))
		(void)buf_printf(out, " MIN %u", c->uids[0]);
	if (c->n > 0 && (returns & IMAP_SEARCH_RETURN_MAX))
		(void)buf_printf(out, " MAX %u", c->uids[c->n - 1]);
	if (returns & IMAP_SEARCH_RETURN_COUNT)
		(void)buf_printf(out, " COUNT %zu", c->n);
	if (c->n > 0 && (returns & IMAP_SEARCH_RETURN_ALL)) {
		(void)buf_append_str(out, " ALL ");
		(void)imap_seqset_write_list(c->uids, c->n, out);
	}
	if (c->n > 0 && c->search.uses_modseq)
		(void)buf_printf(out, " MODSEQ %llu",
		    (unsigned long long)c->highest);
	(void)buf_append(out, "\r\n", 2);
}

static void
cmd_search_done(struct imapd_session *s, void *job)
{
	struct cmd_search *c = job;
	unsigned returns = c->search.returns;
	unsigned flags = s->uid ? IMAPD_DONE_EXPUNGE_OK : 0;
	struct buf out;

	if (imapd_session_is_gone(s)) {
		cmd_search_free(c);
		return;
	}
	if (c->rc < 0) {
		if (returns & IMAP_SEARCH_RETURN_SAVE)
			cmd_search_save(s, c, NULL, 0);
		imapd_command_done(s, flags, "NO [SERVERBUG] Internal error "
		    "occurred. Refer to server log for more information.");
		cmd_search_free(c);
		return;
	}
	if (returns & IMAP_SEARCH_RETURN_SAVE) {
		/* RFC 5182 §2.4: with only MIN and/or MAX, only those */
		if ((returns & (IMAP_SEARCH_RETURN_ALL |
		    IMAP_SEARCH_RETURN_COUNT)) == 0 && (returns &
		    (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) != 0 &&
		    c->n > 0) {
			uint32_t mm[2];
			size_t k = 0;

			if (returns & IMAP_SEARCH_RETURN_MIN)
				mm[k++] = c->uids[0];
			if ((returns & IMAP_SEARCH_RETURN_MAX) &&
			    (k == 0 || c->uids[c->n - 1] != mm[0]))
				mm[k++] = c->uids[c->n - 1];
			cmd_search_save(s, c, mm, k);
		} else {
			cmd_search_save(s, c, c->uids, c->n);
		}
	}
	cmd_search_numbers(s, c);
	buf_init(&out, 0);
	if (c->search.esearch || s->rev2) {
		if (!c->search.esearch)
			returns = IMAP_SEARCH_RETURN_ALL;
		/* RFC 5182 §2.4: SAVE alone answers no ESEARCH */
		if ((returns & ~(unsigned)IMAP_SEARCH_RETURN_SAVE) != 0)
			cmd_search_esearch(s, c, returns, &out);
	} else {
		(void)buf_append_str(&out, "* SEARCH");
		for (size_t i = 0; i < c->n; i++)
			(void)buf_printf(&out, " %u", c->uids[i]);
		if (c->n > 0 && c->search.uses_modseq)
			(void)buf_printf(&out, " (MODSEQ %llu)",
			    (unsigned long long)c->highest);
		(void)buf_append(&out, "\r\n", 2);
	}
	if (out.len > 0)
		imapd_write(s, out.data, out.len);
	buf_clear(&out);
	imapd_command_done(s, flags, "OK Search completed.");
	cmd_search_free(c);
}

bool
imapd_search_charset_ok(struct imapd_session *s, const char *charset)
{
	if (charset == NULL || strcasecmp(charset, "UTF-8") == 0 ||
	    strcasecmp(charset, "US-ASCII") == 0)
		return true;
	imapd_command_done(s, 0, "NO [BADCHARSET (UTF-8 US-ASCII)] Unknown "
	    "charset");
	return false;
}

void
imapd_cmd_search(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	struct cmd_search *c = xcalloc(1, sizeof(*c));
	struct imapd_selected *sel = s->sel;
	const char *error;

	if (imap_search_parse(args, n, CMD_SEARCH_MAX_DEPTH, &c->search,
	    &error) < 0) {
		imapd_command_bad(s, "%s", error);
		cmd_search_free(c);
		return;
	}
	if (!imapd_search_charset_ok(s, c->search.charset)) {
		cmd_search_free(c);
		return;
	}
	if (c->search.uses_modseq)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	/* the view and "$" are copied: the job must not share them */
	c->view = xcalloc(sel->n ? sel->n : 1, sizeof(*c->view));
	memcpy(c->view, sel->uids, sel->n * sizeof(*c->view));
	if (sel->saved_valid && sel->n_saved > 0) {
		c->saved = xcalloc(sel->n_saved, sizeof(*c->saved));
		memcpy(c->saved, sel->saved, sel->n_saved * sizeof(*c->saved));
	}
	c->p = (struct imapd_search_params){
		.mailbox_id = sel->mailbox_id,
		.uids = c->view,
		.n = sel->n,
		.recent_min = s->rev2 ? 0 : sel->recent_min,
		.recent_max = sel->recent_max,
		.saved = c->saved,
		.n_saved = c->saved != NULL ? sel->n_saved : 0,
	};
	imapd_job_submit(s, cmd_search_work, cmd_search_done, c);
}
