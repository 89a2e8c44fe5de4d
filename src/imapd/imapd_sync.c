/* imapd_sync.c — the selected mailbox as the client sees it, and its
   synchronisation with the store (RFC 9051 §5.2, §5.5, §7.5.1; RFC 7162
   §3.2.5 VANISHED).

   The view is the UID array read at SELECT; message sequence number
   i + 1 is uids[i]. A sync reads store_changes(since = highestmodseq) on
   a worker; back on the session's thread it tells, in this order:
   expunges (one "* n EXPUNGE" each, highest first, with the numbering
   current at that moment, or one "* VANISHED uids" under QRESYNC), then "* n EXISTS"
   (and "* n RECENT" for rev1) for new messages, then "* n FETCH (FLAGS
   ...)" for flag changes made elsewhere. While a non-UID FETCH, STORE or
   SEARCH ends, expunges are withheld (RFC 9051 §7.5.1): their UIDs stay
   in the view and in sel->expunged until a command that may tell them.

   highestmodseq advances to the highest modseq among the changes,
   expunges included, so that an expunge-only change moves it (what
   "* OK [HIGHESTMODSEQ]" and a QRESYNC client's next SELECT rely on) and
   the next sync does not read that expunge again. A withheld expunge
   is not lost by this: its UID stays in sel->expunged.

   \Recent: a sync that brings new mail to a rev1 SELECT session claims
   it in the same job (store_recent_claim, conditional on the session's
   range still ending at the mark), before "* n RECENT" is counted. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_seqset.h"
#include "imap/imap_write.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "store/store.h"

_Static_assert((int)IMAP_FLAG_SEEN == (int)STORE_FLAG_SEEN &&
    (int)IMAP_FLAG_ANSWERED == (int)STORE_FLAG_ANSWERED &&
    (int)IMAP_FLAG_FLAGGED == (int)STORE_FLAG_FLAGGED &&
    (int)IMAP_FLAG_DELETED == (int)STORE_FLAG_DELETED &&
    (int)IMAP_FLAG_DRAFT == (int)STORE_FLAG_DRAFT,
    "imap_flag and store_flag bits differ");

/* --- the view ------------------------------------------------------------ */

/* The index of the first view entry with a UID >= uid. */
static size_t
imapd_selected_lower(const struct imapd_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t
imapd_selected_seq(const struct imapd_selected *sel, uint32_t uid)
{
	size_t lo = imapd_selected_lower(sel, uid);

	return lo < sel->n && sel->uids[lo] == uid ? (uint32_t)lo + 1 : 0;
}

bool
imapd_selected_is_recent(const struct imapd_selected *sel, uint32_t uid)
{
	return sel->recent_min != 0 && uid >= sel->recent_min &&
	    (sel->recent_max == 0 || uid < sel->recent_max);
}

size_t
imapd_selected_recent_count(const struct imapd_selected *sel)
{
	size_t lo, hi;

	if (sel->recent_min == 0)
		return 0;
	/* One UID range, so one run of the ascending view. */
	lo = imapd_selected_lower(sel, sel->recent_min);
	hi = sel->recent_max == 0 ? sel->n :
	    imapd_selected_lower(sel, sel->recent_max);
	return hi > lo ? hi - lo : 0;
}

void
imapd_selected_reported(struct imapd_selected *sel, uint32_t uid,
    uint64_t modseq)
{
	size_t n = sel->n_reported;

	/* Doubling at 64, 128, 256...: a STORE over a big mailbox reports
	   every message. */
	if (n == 0 || (n >= 64 && (n & (n - 1)) == 0))
		sel->reported = xreallocarray(sel->reported,
		    n < 64 ? 64 : 2 * n, sizeof(*sel->reported));
	sel->reported[sel->n_reported].uid = uid;
	sel->reported[sel->n_reported].modseq = modseq;
	sel->n_reported++;
}

static int
imapd_reported_cmp(const void *a, const void *b)
{
	const struct imapd_reported *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq;
}

/* Sorted by (uid, modseq) once per sync (imapd_reported_cmp), so each
   change is looked up in O(log n): a scan per change made a sync after
   "STORE 1:* +FLAGS (\Seen)" quadratic in the mailbox's size. */
static bool
imapd_selected_was_reported(const struct imapd_selected *sel, uint32_t uid,
    uint64_t modseq)
{
	size_t lo = 0, hi = sel->n_reported;

	/* The first entry past uid; the one before it has uid's highest
	   modseq if any entry has uid. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->reported[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && sel->reported[lo - 1].uid == uid &&
	    sel->reported[lo - 1].modseq >= modseq;
}

int
imapd_selected_uids(const struct imapd_selected *sel,
    const struct imap_seqset *set, bool uid, struct imap_seq_range **ranges_r,
    size_t *n_r, const char **error_r)
{
	struct imap_seq_range *r = NULL, *out;
	size_t n = 0, k = 0;

	*ranges_r = NULL;
	*n_r = 0;
	if (set->saved) {
		/* "$": the saved UIDs still in the view (RFC 5182 §2.1). */
		if (!sel->saved_valid || sel->n_saved == 0)
			return 0;
		out = xreallocarray(NULL, sel->n_saved, sizeof(*out));
		for (size_t i = 0; i < sel->n_saved; i++) {
			uint32_t u = sel->saved[i];

			if (imapd_selected_seq(sel, u) == 0)
				continue;
			if (k > 0 && out[k - 1].hi + 1 == u)
				out[k - 1].hi = u;
			else
				out[k++] = (struct imap_seq_range){ u, u };
		}
		if (k == 0) {
			free(out);
			return 0;
		}
		*ranges_r = out;
		*n_r = k;
		return 0;
	}
	if (uid) {
		/* RFC 9051 §6.4.8: "*" is the highest UID in use; a UID
		   range never fails. */
		imap_seqset_resolve(set, sel->n > 0 ? sel->uids[sel->n - 1] :
		    0, ranges_r, n_r);
		return 0;
	}
	/* In an empty mailbox every sequence set is invalid, "*" too
	   (RFC 9051 §6.4.8 has no message for it; Dovecot answers BAD). */
	if (sel->n == 0) {
		*error_r = "Invalid messageset";
		return -1;
	}
	imap_seqset_resolve(set, (uint32_t)sel->n, &r, &n);
	if (n > 0 && r[n - 1].hi > sel->n) {
		free(r);
		*error_r = "Invalid messageset";
		return -1;
	}
	/* Sequence ranges to UID ranges: each seq range covers a run of
	   view entries, which become as many UID runs as they have gaps. */
	out = NULL;
	for (size_t i = 0; i < n; i++) {
		for (uint32_t q = r[i].lo; q != 0 && q <= r[i].hi; q++) {
			uint32_t u = sel->uids[q - 1];

			if (k > 0 && out[k - 1].hi + 1 == u) {
				out[k - 1].hi = u;
				continue;
			}
			if (k % 32 == 0)
				out = xreallocarray(out, k + 32, sizeof(*out));
			out[k++] = (struct imap_seq_range){ u, u };
			if (q == UINT32_MAX)
				break;
		}
	}
	free(r);
	*ranges_r = out;
	*n_r = k;
	return 0;
}

/* --- the change feed ------------------------------------------------------ */

struct imapd_notify {
	atomic_uint refs;
	atomic_bool posted;
	struct event_base *base;
	struct imapd_session *s;	/* NULL once detached; I/O thread */
};

struct imapd_notify *
imapd_notify_new(struct imapd_session *s)
{
	struct imapd_notify *n = xcalloc(1, sizeof(*n));

	atomic_init(&n->refs, 1);
	atomic_init(&n->posted, false);
	n->base = service_thread_base(s->thread);
	n->s = s;
	return n;
}

static void
imapd_notify_unref(struct imapd_notify *n)
{
	if (atomic_fetch_sub(&n->refs, 1) == 1)
		free(n);
}

void
imapd_notify_detach(struct imapd_notify **np)
{
	struct imapd_notify *n = *np;

	if (n == NULL)
		return;
	n->s = NULL;
	imapd_notify_unref(n);
	*np = NULL;
}

/* On the session's thread. */
static void
imapd_notify_run(void *ctx)
{
	struct imapd_notify *n = ctx;
	struct imapd_session *s = n->s;

	/* Cleared first: a commit from now on posts again. */
	atomic_store(&n->posted, false);
	if (s != NULL) {
		imapd_session_enter(s);
		imapd_session_notified(s);
		imapd_session_leave(s);
	}
	imapd_notify_unref(n);
}

/* On the committing thread: one post until it ran, however many commits
   (a delivery burst wakes an IDLE session once). */
void
imapd_notify_fire(int64_t account_id, void *ctx)
{
	struct imapd_notify *n = ctx;

	(void)account_id;
	if (atomic_exchange(&n->posted, true))
		return;
	atomic_fetch_add(&n->refs, 1);
	worker_post(n->base, imapd_notify_run, n);
}

/* --- synchronisation ------------------------------------------------------- */

struct imapd_sync_change {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
	char *keywords;
};

struct imapd_sync_job {
	int64_t mailbox_id;
	uint64_t since;
	int status;
	struct imapd_sync_change *changes;
	size_t n_changes;
	uint32_t *expunged;
	size_t n_expunged;
	uint64_t highest;
	bool expunge_ok;
	imapd_sync_done_fn *done;
	/* \Recent: claim new mail when the session's range ends here (0:
	   do not claim); the claim's answer. */
	uint32_t recent_expect;
	bool recent_claimed;
	uint32_t recent_first, recent_last;
};

static int
imapd_sync_changed_cb(const struct store_message *msg, void *ctx)
{
	struct imapd_sync_job *j = ctx;

	size_t n = j->n_changes;

	if (n == 0 || (n >= 64 && (n & (n - 1)) == 0))
		j->changes = xreallocarray(j->changes, n < 64 ? 64 : 2 * n,
		    sizeof(*j->changes));
	j->changes[j->n_changes++] = (struct imapd_sync_change){
		.uid = msg->uid,
		.flags = msg->flags,
		.modseq = msg->modseq,
		.keywords = xstrdup(msg->keywords != NULL ? msg->keywords : ""),
	};
	if (msg->modseq > j->highest)
		j->highest = msg->modseq;
	return 0;
}

static void
imapd_sync_expunged_cb(uint32_t uid, uint64_t modseq, void *ctx)
{
	struct imapd_sync_job *j = ctx;
	size_t n = j->n_expunged;

	if (modseq > j->highest)
		j->highest = modseq;

	if (n == 0 || (n >= 64 && (n & (n - 1)) == 0))
		j->expunged = xreallocarray(j->expunged, n < 64 ? 64 : 2 * n,
		    sizeof(*j->expunged));
	j->expunged[j->n_expunged++] = uid;
}

static void
imapd_sync_work(struct store *store, void *ctx)
{
	struct imapd_sync_job *j = ctx;

	if (store == NULL) {
		j->status = STORE_IO;
		return;
	}
	j->status = store_changes(store, j->mailbox_id, j->since,
	    imapd_sync_changed_cb, imapd_sync_expunged_cb, j);
	if (j->status != STORE_OK || j->recent_expect == 0)
		return;
	/* Claim only when new mail came: a sync without any is the common
	   case and must not take the write lock. Changes are ascending, so
	   the last one has the highest UID. */
	if (j->n_changes == 0 ||
	    j->changes[j->n_changes - 1].uid < j->recent_expect)
		return;
	/* A failed claim only costs this session its \Recent. */
	j->recent_claimed = store_recent_claim(store, j->mailbox_id,
	    j->recent_expect, &j->recent_first, &j->recent_last) == STORE_OK;
}

static void
imapd_sync_job_free(struct imapd_sync_job *j)
{
	for (size_t i = 0; i < j->n_changes; i++)
		free(j->changes[i].keywords);
	free(j->changes);
	free(j->expunged);
	free(j);
}

/* Adds the view's UIDs among j's expunges to sel->expunged: both lists
   ascending (store_changes reports expunges in UID order), merged in one
   pass without duplicates. */
static void
imapd_sync_collect_expunges(struct imapd_selected *sel,
    const struct imapd_sync_job *j)
{
	size_t a = 0, b = 0, k = 0, cap = sel->n_expunged + j->n_expunged;
	uint32_t *out;

	if (j->n_expunged == 0)
		return;
	out = xreallocarray(NULL, cap, sizeof(*out));
	while (a < sel->n_expunged || b < j->n_expunged) {
		uint32_t uid;

		if (b == j->n_expunged || (a < sel->n_expunged &&
		    sel->expunged[a] <= j->expunged[b])) {
			uid = sel->expunged[a++];
		} else {
			uid = j->expunged[b++];
			/* Not in the view: told before, or never known. */
			if (imapd_selected_seq(sel, uid) == 0)
				continue;
		}
		if (k > 0 && out[k - 1] >= uid)
			continue;	/* a duplicate (or out of order) */
		out[k++] = uid;
	}
	free(sel->expunged);
	sel->expunged = out;
	sel->n_expunged = k;
	sel->pending_expunge = k > 0;
}

/* Tells and applies the withheld expunges. */
static void
imapd_sync_tell_expunges(struct imapd_session *s)
{
	struct imapd_selected *sel = s->sel;
	struct buf line;
	size_t w = 0, e = 0;

	if (sel->n_expunged == 0)
		return;
	if (s->qresync) {
		buf_init(&line, 0);
		(void)buf_append_str(&line, "* VANISHED ");
		(void)imap_seqset_write_list(sel->expunged, sel->n_expunged,
		    &line);
		imapd_reply(s, "%s", line.data);
		buf_clear(&line);
	} else {
		/* Highest first: each line uses the numbering of its moment
		   (RFC 9051 §7.5.1), and removing a higher message does not
		   renumber a lower one, so each number is the one in the
		   view as it stands now. */
		for (size_t i = sel->n_expunged; i > 0; i--) {
			uint32_t seq = imapd_selected_seq(sel,
			    sel->expunged[i - 1]);

			if (seq != 0)
				imapd_reply(s, "* %u EXPUNGE", seq);
		}
	}
	/* One pass over the view (both ascending), not a memmove per
	   expunge: quadratic when half of a big mailbox goes. */
	for (size_t r = 0; r < sel->n; r++) {
		while (e < sel->n_expunged && sel->expunged[e] < sel->uids[r])
			e++;
		if (e < sel->n_expunged && sel->expunged[e] == sel->uids[r])
			continue;
		sel->uids[w++] = sel->uids[r];
	}
	sel->n = w;
	xfree(&sel->expunged);
	sel->n_expunged = 0;
	sel->pending_expunge = false;
}

static void
imapd_sync_fetch_line(struct imapd_session *s, uint32_t seq,
    const struct imapd_sync_change *c)
{
	struct buf line;

	buf_init(&line, 0);
	(void)buf_printf(&line, "* %u FETCH (FLAGS ", seq);
	(void)imap_write_flags(&line, c->flags, c->keywords,
	    !s->rev2 && imapd_selected_is_recent(s->sel, c->uid));
	/* RFC 7162 §3.2.4: UID and MODSEQ in unsolicited FETCHes once
	   CONDSTORE is on (UID: for QRESYNC clients' benefit too). */
	if (s->condstore)
		(void)buf_printf(&line, " UID %u MODSEQ (%llu)", c->uid,
		    (unsigned long long)c->modseq);
	(void)buf_append_str(&line, ")");
	imapd_reply(s, "%s", line.data);
	buf_clear(&line);
}

static void
imapd_sync_done(struct imapd_session *s, void *ctx)
{
	struct imapd_sync_job *j = ctx;
	struct imapd_selected *sel = s->sel;
	imapd_sync_done_fn *done = j->done;
	size_t old_n, added = 0;

	if (imapd_session_is_gone(s) || sel == NULL ||
	    sel->mailbox_id != j->mailbox_id) {
		imapd_sync_job_free(j);
		done(s);
		return;
	}
	if (j->status == STORE_NOT_FOUND) {
		/* Deleted (or renamed away) under us: Dovecot closes. */
		imapd_sync_job_free(j);
		imapd_session_close(s, "* BYE Selected mailbox was deleted, "
		    "have to disconnect.");
		done(s);
		return;
	}
	if (j->status != STORE_OK) {
		/* The next sync tries again; the command's answer stands. */
		log_warn(IMAPD_LOG_PREFIX " event=sync_failed status=%d",
		    s->id, j->status);
		imapd_sync_job_free(j);
		done(s);
		/* After done: IDLE's done pushes again when changed is set,
		   and a store that keeps failing must not spin. */
		s->priv->changed = true;
		return;
	}
	if (j->recent_claimed && sel->recent_claims &&
	    sel->recent_next == j->recent_expect) {
		if (j->recent_first != j->recent_expect) {
			sel->recent_claims = false;	/* another session's */
		} else if (j->recent_last > j->recent_first) {
			/* Contiguous with the set, or its start. */
			if (sel->recent_min == 0)
				sel->recent_min = j->recent_first;
			sel->recent_max = sel->recent_next = j->recent_last;
		}
	}
	imapd_sync_collect_expunges(sel, j);
	if (j->expunge_ok)
		imapd_sync_tell_expunges(s);
	/* New messages: UIDs above the view's last (ascending). */
	old_n = sel->n;
	for (size_t i = 0; i < j->n_changes; i++) {
		uint32_t uid = j->changes[i].uid;

		if (sel->n > 0 && uid <= sel->uids[sel->n - 1])
			continue;
		if (sel->n == sel->cap) {
			sel->cap = sel->cap < 16 ? 16 : sel->cap * 2;
			sel->uids = xreallocarray(sel->uids, sel->cap,
			    sizeof(*sel->uids));
		}
		sel->uids[sel->n++] = uid;
		if (uid >= sel->uidnext)
			sel->uidnext = uid + 1;
		added++;
	}
	if (added > 0) {
		imapd_reply(s, "* %zu EXISTS", sel->n);
		if (!s->rev2)
			imapd_reply(s, "* %zu RECENT",
			    imapd_selected_recent_count(sel));
	}
	/* Flag changes of messages the client already knows. */
	if (sel->n_reported > 1)
		qsort(sel->reported, sel->n_reported, sizeof(*sel->reported),
		    imapd_reported_cmp);
	for (size_t i = 0; i < j->n_changes; i++) {
		const struct imapd_sync_change *c = &j->changes[i];
		uint32_t seq = imapd_selected_seq(sel, c->uid);

		if (seq == 0 || seq > old_n ||
		    imapd_selected_was_reported(sel, c->uid, c->modseq))
			continue;
		imapd_sync_fetch_line(s, seq, c);
	}
	xfree(&sel->reported);
	sel->n_reported = 0;
	if (j->highest > sel->highestmodseq)
		sel->highestmodseq = j->highest;
	imapd_sync_job_free(j);
	done(s);
}

void
imapd_sync(struct imapd_session *s, bool expunge_ok,
    imapd_sync_done_fn *done)
{
	struct imapd_sync_job *j = xcalloc(1, sizeof(*j));

	j->mailbox_id = s->sel->mailbox_id;
	j->since = s->sel->highestmodseq;
	j->expunge_ok = expunge_ok;
	j->done = done;
	if (s->sel->recent_claims && !s->rev2)
		j->recent_expect = s->sel->recent_next;
	s->priv->changed = false;
	imapd_job_submit(s, imapd_sync_work, imapd_sync_done, j);
}
