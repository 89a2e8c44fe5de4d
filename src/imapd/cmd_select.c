/* cmd_select.c — SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with the
   CONDSTORE and QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5), and CLOSE,
   UNSELECT (RFC 3691) and CHECK.

   The job reads the mailbox, its UIDs (the session's view) and, in one
   pass over the flags, the first unseen message (rev1's UNSEEN) and the
   keywords in use (FLAGS); with QRESYNC, the changes since the client's
   modseq. A SELECT first leaves the mailbox selected before (so a failed
   SELECT leaves the session authenticated, §6.3.2), saying
   "OK [CLOSED]" when there was one.

   \Recent (rev1 only, RFC 3501 §2.3.2): SELECT claims the mail no
   session has claimed (store_recent_claim), EXAMINE only reads the mark;
   a rev2 session does neither (RFC 9051 has no \Recent). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_seqset.h"
#include "imap/imap_write.h"
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* FLAGS lists at most this many keywords (a mailbox could hold any
   number; Dovecot lists them all, which no client needs in the
   thousands). */
#define IMAPD_SELECT_KEYWORDS_MAX 200
#define IMAPD_KNOWN_UIDS_MAX 10000
/* seq-match pairs looked at (clients send a sparse sample: 1, 2, 4, 8,
   ...); a longer sample is ignored, which only costs bandwidth. */
#define IMAPD_SEQ_MATCH_MAX 4096

struct imapd_select_change {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
	char *keywords;
};

struct imapd_select_job {
	/* In. */
	char *name;
	bool readonly;
	bool rev1;			/* \Recent applies */
	bool qresync;
	uint32_t q_uidvalidity;
	uint64_t q_modseq;
	struct imap_seq_range *q_known;	/* NULL: all */
	size_t n_known;
	/* seq-match data (RFC 7162 §3.2.5.2): (seq, uid) pairs. */
	uint32_t *q_seqs, *q_uids;
	size_t n_match;
	uint32_t q_cutoff;		/* no VANISHED at or below this UID */
	/* Out. */
	int status;
	char *error;
	struct store_mailbox mb;
	uint32_t *uids;
	size_t n;
	uint32_t first_unseen;		/* UID, 0: none */
	uint32_t recent_first;		/* \Recent: [first, last), */
	uint32_t recent_last;		/* last 0: no upper end */
	struct buf keywords;		/* " kw1 kw2" */
	size_t n_keywords;
	uint32_t *vanished;
	size_t n_vanished;
	struct imapd_select_change *changes;
	size_t n_changes;
};

static void
imapd_select_job_free(struct imapd_select_job *j)
{
	free(j->name);
	free(j->q_known);
	free(j->q_seqs);
	free(j->q_uids);
	free(j->error);
	store_mailbox_clear(&j->mb);
	free(j->uids);
	buf_clear(&j->keywords);
	free(j->vanished);
	for (size_t i = 0; i < j->n_changes; i++)
		free(j->changes[i].keywords);
	free(j->changes);
	free(j);
}

/* Whether kw (len octets) is already listed (case-insensitive). */
static bool
imapd_select_has_keyword(const struct buf *b, const char *kw, size_t len)
{
	const char *p = b->data, *end = b->data + b->len;

	while (p != NULL && p < end) {
		const char *w = p + 1, *e = memchr(w, ' ', (size_t)(end - w));
		size_t wl = (size_t)((e != NULL ? e : end) - w);

		if (wl == len && strncasecmp(w, kw, len) == 0)
			return true;
		p = e;
	}
	return false;
}

static int
imapd_select_flags_cb(const struct store_message *msg, void *ctx)
{
	struct imapd_select_job *j = ctx;
	const char *k = msg->keywords;

	if (j->first_unseen == 0 && (msg->flags & STORE_FLAG_SEEN) == 0)
		j->first_unseen = msg->uid;
	while (k != NULL && *k != '\0' &&
	    j->n_keywords < IMAPD_SELECT_KEYWORDS_MAX) {
		const char *e = strchr(k, ' ');
		size_t len = e != NULL ? (size_t)(e - k) : strlen(k);

		if (len > 0 && !imapd_select_has_keyword(&j->keywords, k,
		    len)) {
			(void)buf_append_str(&j->keywords, " ");
			(void)buf_append(&j->keywords, k, len);
			j->n_keywords++;
		}
		k = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

static bool
imapd_select_known(const struct imapd_select_job *j, uint32_t uid)
{
	return j->q_known == NULL || imap_seqset_contains(j->q_known,
	    j->n_known, uid);
}

static int
imapd_select_changed_cb(const struct store_message *msg, void *ctx)
{
	struct imapd_select_job *j = ctx;

	if (!imapd_select_known(j, msg->uid))
		return 0;
	if (j->n_changes % 64 == 0)
		j->changes = xreallocarray(j->changes, j->n_changes + 64,
		    sizeof(*j->changes));
	j->changes[j->n_changes++] = (struct imapd_select_change){
		.uid = msg->uid,
		.flags = msg->flags,
		.modseq = msg->modseq,
		.keywords = xstrdup(msg->keywords != NULL ? msg->keywords : ""),
	};
	return 0;
}

static void
imapd_select_expunged_cb(uint32_t uid, uint64_t modseq, void *ctx)
{
	struct imapd_select_job *j = ctx;

	(void)modseq;		/* the mailbox's HIGHESTMODSEQ covers it */
	if (!imapd_select_known(j, uid) || uid <= j->q_cutoff)
		return;
	if (j->n_vanished % 64 == 0)
		j->vanished = xreallocarray(j->vanished, j->n_vanished + 64,
		    sizeof(*j->vanished));
	j->vanished[j->n_vanished++] = uid;
}

/* RFC 7162 §3.2.5.2: the last (seq, uid) pair of the client's sample
   that the mailbox still numbers the same way proves that no message at
   or below that UID was expunged since the client's view, so VANISHED
   (EARLIER) leaves those UIDs out. Against the UIDs just read. */
static void
imapd_select_seq_match(struct imapd_select_job *j)
{
	for (size_t i = j->n_match; i > 0; i--) {
		uint32_t seq = j->q_seqs[i - 1];

		if (seq >= 1 && seq <= j->n && j->uids[seq - 1] ==
		    j->q_uids[i - 1]) {
			j->q_cutoff = j->q_uids[i - 1];
			return;
		}
	}
}

/* The pairs of ranges expanded in order; -1 when the two sets differ in
   size (BAD, as Dovecot), 0 (with nothing kept) when over the limit. */
static int
imapd_select_pairs(struct imapd_select_job *j,
    const struct imap_seq_range *seqs, size_t n_seqs,
    const struct imap_seq_range *uids, size_t n_uids)
{
	uint64_t count_s = 0, count_u = 0;
	size_t a = 0, b = 0, k = 0;
	uint32_t s, u;

	for (size_t i = 0; i < n_seqs; i++)
		count_s += (uint64_t)seqs[i].hi - seqs[i].lo + 1;
	for (size_t i = 0; i < n_uids; i++)
		count_u += (uint64_t)uids[i].hi - uids[i].lo + 1;
	if (count_s != count_u)
		return -1;
	if (count_s == 0 || count_s > IMAPD_SEQ_MATCH_MAX)
		return 0;
	j->q_seqs = xreallocarray(NULL, count_s, sizeof(*j->q_seqs));
	j->q_uids = xreallocarray(NULL, count_s, sizeof(*j->q_uids));
	s = seqs[0].lo;
	u = uids[0].lo;
	while (k < count_s) {
		j->q_seqs[k] = s;
		j->q_uids[k++] = u;
		if (s == seqs[a].hi && ++a < n_seqs)
			s = seqs[a].lo;
		else
			s++;
		if (u == uids[b].hi && ++b < n_uids)
			u = uids[b].lo;
		else
			u++;
	}
	j->n_match = k;
	return 0;
}

static void
imapd_select_work(struct store *store, void *ctx)
{
	struct imapd_select_job *j = ctx;

	if (store == NULL) {
		j->status = STORE_IO;
		return;
	}
	j->status = store_mailbox_get(store, j->name, &j->mb);
	/* Before the UIDs: what the claim takes beyond them arrived since
	   and comes in with the sync that ends the SELECT. */
	if (j->status == STORE_OK && j->rev1 && !j->readonly)
		j->status = store_recent_claim(store, j->mb.id, 0,
		    &j->recent_first, &j->recent_last);
	else if (j->status == STORE_OK && j->rev1) {
		uint32_t count;

		j->status = store_recent_count(store, j->mb.id,
		    &j->recent_first, &count);
	}
	if (j->status == STORE_OK)
		j->status = store_uids(store, j->mb.id, &j->uids, &j->n);
	if (j->status == STORE_OK)
		j->status = store_fetch(store, j->mb.id, NULL, 0,
		    STORE_FETCH_FLAGS, imapd_select_flags_cb, j);
	if (j->status == STORE_OK && j->qresync &&
	    j->q_uidvalidity == j->mb.uidvalidity &&
	    j->q_modseq < j->mb.highestmodseq) {
		imapd_select_seq_match(j);
		j->status = store_changes(store, j->mb.id, j->q_modseq,
		    imapd_select_changed_cb, imapd_select_expunged_cb, j);
	}
	if (j->status != STORE_OK)
		j->error = xstrdup(store_error(store));
}

static void
imapd_select_done(struct imapd_session *s, void *ctx)
{
	struct imapd_select_job *j = ctx;
	struct imapd_selected *sel;
	struct buf line;
	char id[IMAPD_MAILBOXID_SIZE];
	uint32_t seq;

	if (imapd_session_is_gone(s)) {
		imapd_select_job_free(j);
		imapd_command_done(s, 0, "NO");
		return;
	}
	if (j->status != STORE_OK) {
		imapd_command_store_error(s, j->status, j->error);
		imapd_select_job_free(j);
		return;
	}
	sel = xcalloc(1, sizeof(*sel));
	sel->mailbox_id = j->mb.id;
	sel->name = xstrdup(j->mb.name);
	sel->readonly = j->readonly;
	sel->uidvalidity = j->mb.uidvalidity;
	sel->uidnext = j->mb.uidnext;
	sel->highestmodseq = j->mb.highestmodseq;
	sel->uids = j->uids;
	sel->n = sel->cap = j->n;
	j->uids = NULL;
	if (sel->uids == NULL) {
		/* An empty mailbox still has an array: commands copy the
		   view with memcpy(dst, sel->uids, 0), and a NULL source is
		   undefined behaviour even for no octets. */
		sel->cap = 16;
		sel->uids = xreallocarray(NULL, sel->cap, sizeof(*sel->uids));
	}
	/* An empty claim leaves the set empty (recent_min 0), so that
	   FETCH and SEARCH, which see only recent_min, do not count mail
	   another session claims later. */
	if (j->rev1 && (j->readonly || j->recent_last > j->recent_first))
		sel->recent_min = j->recent_first;
	sel->recent_max = j->recent_last;
	sel->recent_next = j->recent_last;
	sel->recent_claims = j->rev1 && !j->readonly;
	s->sel = sel;
	s->state = IMAPD_STATE_SELECTED;

	buf_init(&line, 0);
	imapd_reply(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft%s)", j->keywords.data != NULL ? j->keywords.data : "");
	if (j->readonly)
		imapd_reply(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
	else
		imapd_reply(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
		    "\\Deleted \\Seen \\Draft%s \\*)] Flags permitted.",
		    j->keywords.data != NULL ? j->keywords.data : "");
	imapd_reply(s, "* %zu EXISTS", sel->n);
	if (!s->rev2) {
		imapd_reply(s, "* %zu RECENT",
		    imapd_selected_recent_count(sel));
		seq = j->first_unseen != 0 ?
		    imapd_selected_seq(sel, j->first_unseen) : 0;
		if (seq != 0)
			imapd_reply(s, "* OK [UNSEEN %u] First unseen.", seq);
	}
	imapd_reply(s, "* OK [UIDVALIDITY %u] UIDs valid", sel->uidvalidity);
	imapd_reply(s, "* OK [UIDNEXT %u] Predicted next UID", sel->uidnext);
	imapd_reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
	    (unsigned long long)sel->highestmodseq);
	imapd_mailboxid(id, sel->mailbox_id, sel->uidvalidity);
	imapd_reply(s, "* OK [MAILBOXID (%s)] Ok", id);	/* RFC 8474 §4.1 */
	if (s->rev2) {
		/* RFC 9051 §6.3.2: the mailbox's name as the server spells
		   it. */
		(void)buf_append_str(&line, "* LIST () \"/\" ");
		(void)imap_write_mailbox(&line, sel->name, s->utf8);
		imapd_reply(s, "%s", line.data);
		buf_reset(&line);
	}
	if (j->n_vanished > 0) {
		(void)buf_append_str(&line, "* VANISHED (EARLIER) ");
		(void)imap_seqset_write_list(j->vanished, j->n_vanished,
		    &line);
		imapd_reply(s, "%s", line.data);
		buf_reset(&line);
	}
	for (size_t i = 0; i < j->n_changes; i++) {
		const struct imapd_select_change *c = &j->changes[i];

		seq = imapd_selected_seq(sel, c->uid);
		if (seq == 0)
			continue;
		(void)buf_printf(&line, "* %u FETCH (UID %u FLAGS ", seq,
		    c->uid);
		(void)imap_write_flags(&line, c->flags, c->keywords, false);
		(void)buf_printf(&line, " MODSEQ (%llu))",
		    (unsigned long long)c->modseq);
		imapd_reply(s, "%s", line.data);
		buf_reset(&line);
	}
	buf_clear(&line);
	imapd_command_done(s, 0, "OK [%s] %s completed.", j->readonly ?
	    "READ-ONLY" : "READ-WRITE", j->readonly ? "Examine" : "Select");
	imapd_select_job_free(j);
}

/* "(known-sequence-set known-uid-set)". 0, or -1 with BAD answered. */
static int
imapd_select_seq_match_arg(struct imapd_session *s, const struct imap_arg *a,
    struct imapd_select_job *j)
{
	struct imap_seqset set[2];
	struct imap_seq_range *r[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 };
	const char *error = NULL;
	int ret = -1;

	memset(set, 0, sizeof(set));
	if (a->n_list != 2 || a->list[0].type != IMAP_ARG_ATOM ||
	    a->list[1].type != IMAP_ARG_ATOM)
		goto out;
	for (int i = 0; i < 2; i++) {
		if (imap_seqset_parse(a->list[i].str, a->list[i].len,
		    IMAPD_KNOWN_UIDS_MAX, &set[i], &error) == -1 ||
		    set[i].saved)
			goto out;
		imap_seqset_resolve(&set[i], UINT32_MAX, &r[i], &n[i]);
	}
	ret = imapd_select_pairs(j, r[0], n[0], r[1], n[1]);
out:
	for (int i = 0; i < 2; i++) {
		imap_seqset_clear(&set[i]);
		free(r[i]);
	}
	if (ret == -1)
		imapd_command_bad(s, "Invalid QRESYNC parameters.");
	return ret;
}

/* The (CONDSTORE) / (QRESYNC (...)) list. 0, or -1 with BAD answered. */
static int
imapd_select_params(struct imapd_session *s, const struct imap_arg *list,
    size_t n, struct imapd_select_job *j)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &list[i];

		if (imap_arg_is_atom(a, "CONDSTORE")) {
			s->condstore = true;
			continue;
		}
		if (!imap_arg_is_atom(a, "QRESYNC") || i + 1 >= n ||
		    list[i + 1].type != IMAP_ARG_LIST) {
			imapd_command_bad(s, "Invalid SELECT parameters.");
			return -1;
		}
		if (!s->qresync) {
			/* RFC 7162 §3.2.5: ENABLE QRESYNC first. */
			imapd_command_bad(s, "QRESYNC is not enabled.");
			return -1;
		}
		const struct imap_arg *q = list[i + 1].list;
		size_t qn = list[i + 1].n_list;
		uint32_t uv;
		uint64_t ms;

		i++;
		if (qn < 2 || qn > 4 || imap_arg_nz_number(&q[0], &uv) == -1 ||
		    imap_arg_number64(&q[1], &ms) == -1 || ms == 0 ||
		    (qn >= 3 && q[2].type != IMAP_ARG_ATOM) ||
		    (qn == 4 && q[3].type != IMAP_ARG_LIST)) {
			imapd_command_bad(s, "Invalid QRESYNC parameters.");
			return -1;
		}
		j->qresync = true;
		j->q_uidvalidity = uv;
		j->q_modseq = ms;
		if (qn >= 3) {
			struct imap_seqset set;
			const char *error = NULL;

			if (imap_seqset_parse(q[2].str, q[2].len,
			    IMAPD_KNOWN_UIDS_MAX, &set, &error) == -1) {
				imapd_command_bad(s, "Invalid known-uids.");
				return -1;
			}
			if (set.saved) {
				imap_seqset_clear(&set);
				imapd_command_bad(s, "Invalid known-uids.");
				return -1;
			}
			imap_seqset_resolve(&set, UINT32_MAX, &j->q_known,
			    &j->n_known);
			imap_seqset_clear(&set);
		}
		if (qn == 4 && imapd_select_seq_match_arg(s, &q[3], j) == -1)
			return -1;
	}
	return 0;
}

static void
imapd_select_start(struct imapd_session *s, const struct imap_arg *args,
    size_t n, bool readonly)
{
	struct imapd_select_job *j;
	bool had = s->sel != NULL;
	char *name;

	if (n < 1 || n > 2 || (n == 2 && args[1].type != IMAP_ARG_LIST)) {
		imapd_command_bad(s, "Invalid %s arguments.", readonly ?
		    "EXAMINE" : "SELECT");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	buf_init(&j->keywords, 0);
	j->readonly = readonly;
	j->rev1 = !s->rev2;
	if (n == 2 && imapd_select_params(s, args[1].list, args[1].n_list,
	    j) == -1) {
		imapd_select_job_free(j);
		return;
	}
	/* RFC 9051 §6.3.2: the old mailbox is closed first, also when the
	   new SELECT fails; no expunge (unlike CLOSE). */
	imapd_session_unselect(s);
	if (had)
		imapd_reply(s, "* OK [CLOSED] Previous mailbox closed.");
	if ((name = imapd_mailbox_arg(s, &args[0])) == NULL) {
		imapd_select_job_free(j);
		return;
	}
	j->name = name;
	/* Changes notified from here on are after the job's read may have
	   begun: the SELECT's own end synchronises them (the session is
	   SELECTED by then), so a delivery racing the SELECT is not left
	   untold until the next one. */
	s->priv->changed = false;
	imapd_job_submit(s, imapd_select_work, imapd_select_done, j);
}

void
imapd_cmd_select(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	imapd_select_start(s, args, n, false);
}

void
imapd_cmd_examine(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	imapd_select_start(s, args, n, true);
}

struct imapd_close_job {
	int64_t mailbox_id;
	int status;
};

static void
imapd_close_work(struct store *store, void *ctx)
{
	struct imapd_close_job *j = ctx;

	j->status = store == NULL ? STORE_IO : store_expunge(store,
	    j->mailbox_id, NULL, 0, NULL, NULL);
}

static void
imapd_close_done(struct imapd_session *s, void *ctx)
{
	struct imapd_close_job *j = ctx;

	free(j);
	imapd_session_unselect(s);
	/* A failed expunge still closes (RFC 9051 §6.4.1 has no NO for
	   it); the messages stay \Deleted. */
	imapd_command_done(s, 0, "OK Close completed.");
}

void
imapd_cmd_close(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_close_job *j;

	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "CLOSE takes no arguments.");
		return;
	}
	if (s->sel->readonly) {
		imapd_session_unselect(s);
		imapd_command_done(s, 0, "OK Close completed.");
		return;
	}
	/* Silent: no untagged EXPUNGE (RFC 9051 §6.4.1). */
	j = xcalloc(1, sizeof(*j));
	j->mailbox_id = s->sel->mailbox_id;
	imapd_job_submit(s, imapd_close_work, imapd_close_done, j);
}

void
imapd_cmd_unselect(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "UNSELECT takes no arguments.");
		return;
	}
	imapd_session_unselect(s);
	imapd_command_done(s, 0, "OK Unselect completed.");
}

void
imapd_cmd_check(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "CHECK takes no arguments.");
		return;
	}
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK | IMAPD_DONE_SYNC,
	    "OK Check completed.");
}
