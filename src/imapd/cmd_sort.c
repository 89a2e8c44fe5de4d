/* cmd_sort.c — SORT and UID SORT (RFC 5256 §3; DISPLAYFROM/DISPLAYTO
   RFC 5957): "* SORT 2 3 1" with sequence numbers or UIDs. The keys are
   evaluated and the messages ordered on a worker (imapd_sort.c). ESORT
   (RFC 5267, SORT RETURN (...)) is not offered, so it is refused. */
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
#define CMD_SORT_MAX_DEPTH 256

struct cmd_sort {
	struct imap_sort sort;
	struct imapd_search_params p;
	uint32_t *view, *saved;
	uint32_t *uids;
	size_t n;
	char *error;
	int rc;
};

static void
cmd_sort_free(struct cmd_sort *c)
{
	imap_sort_clear(&c->sort);
	free(c->view);
	free(c->saved);
	free(c->uids);
	free(c->error);
	free(c);
}

static void
cmd_sort_work(struct store *store, void *job)
{
	struct cmd_sort *c = job;

	if (store == NULL) {
		c->rc = -1;
		return;
	}
	c->rc = imapd_sort_run(store, &c->p, &c->sort, &c->uids, &c->n,
	    &c->error);
}

static void
cmd_sort_done(struct imapd_session *s, void *job)
{
	struct cmd_sort *c = job;
	unsigned flags = s->uid ? IMAPD_DONE_EXPUNGE_OK : 0;
	struct buf out;

	if (imapd_session_is_gone(s)) {
		cmd_sort_free(c);
		return;
	}
	if (c->rc < 0) {
		imapd_command_done(s, flags, "NO [SERVERBUG] Internal error "
		    "occurred. Refer to server log for more information.");
		cmd_sort_free(c);
		return;
	}
	buf_init(&out, 0);
	(void)buf_append_str(&out, "* SORT");
	for (size_t i = 0; i < c->n; i++)
		(void)buf_printf(&out, " %u", s->uid ? c->uids[i] :
		    imapd_selected_seq(s->sel, c->uids[i]));
	(void)buf_append(&out, "\r\n", 2);
	imapd_write(s, out.data, out.len);
	buf_clear(&out);
	imapd_command_done(s, flags, "OK Sort completed.");
	cmd_sort_free(c);
}

void
imapd_cmd_sort_params(const struct imapd_session *s,
    struct imapd_search_params *p_r, uint32_t **view_r, uint32_t **saved_r)
{
	const struct imapd_selected *sel = s->sel;

	*view_r = xcalloc(sel->n ? sel->n : 1, sizeof(**view_r));
	memcpy(*view_r, sel->uids, sel->n * sizeof(**view_r));
	*saved_r = NULL;
	if (sel->saved_valid && sel->n_saved > 0) {
		*saved_r = xcalloc(sel->n_saved, sizeof(**saved_r));
		memcpy(*saved_r, sel->saved, sel->n_saved * sizeof(**saved_r));
	}
	*p_r = (struct imapd_search_params){
		.mailbox_id = sel->mailbox_id,
		.uids = *view_r,
		.n = sel->n,
		.recent_min = s->rev2 ? 0 : sel->recent_min,
		.recent_max = sel->recent_max,
		.saved = *saved_r,
		.n_saved = *saved_r != NULL ? sel->n_saved : 0,
	};
}

void
imapd_cmd_sort(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	struct cmd_sort *c = xcalloc(1, sizeof(*c));
	const char *error;

	if (imap_sort_parse(args, n, CMD_SORT_MAX_DEPTH, &c->sort,
	    &error) < 0) {
		imapd_command_bad(s, "%s", error);
		cmd_sort_free(c);
		return;
	}
	if (c->sort.search.esearch) {
		imapd_command_bad(s, "SORT RETURN (ESORT) is not supported");
		cmd_sort_free(c);
		return;
	}
	if (!imapd_search_charset_ok(s, c->sort.search.charset)) {
		cmd_sort_free(c);
		return;
	}
	if (c->sort.search.uses_modseq)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	imapd_cmd_sort_params(s, &c->p, &c->view, &c->saved);
	imapd_job_submit(s, cmd_sort_work, cmd_sort_done, c);
}
