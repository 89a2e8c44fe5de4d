/* imapd_search.c — the SEARCH engine (imapd_search.h). The key tree is
   compiled once (sequence sets resolved against the view, strings
   case-folded), then one store_fetch walks the mailbox with the metadata
   every key but the text ones needs; a message file is opened only when
   a header or body key is reached for it (AND and OR stop early, so
   "UNSEEN BODY x" reads only unseen messages). FROM, TO, CC, BCC and
   SUBJECT read the cached ENVELOPE instead (imapd_search_env.c). */
#include "imapd/imapd_search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap_search.h"
#include "imap/imap_seqset.h"
#include "imapd/imapd_fetch_private.h"
#include "imapd/imapd_search_private.h"
#include "imapd/imapd_search_text.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

_Static_assert((unsigned)IMAP_FLAG_SEEN == (unsigned)STORE_FLAG_SEEN &&
    (unsigned)IMAP_FLAG_DELETED == (unsigned)STORE_FLAG_DELETED &&
    (unsigned)IMAP_FLAG_DRAFT == (unsigned)STORE_FLAG_DRAFT &&
    (unsigned)IMAP_FLAG_FLAGGED == (unsigned)STORE_FLAG_FLAGGED &&
    (unsigned)IMAP_FLAG_ANSWERED == (unsigned)STORE_FLAG_ANSWERED,
    "imap and store flag bits differ");

struct imapd_search_node {
	const struct imap_search_node *src;
	struct imap_seq_range *ranges;	/* SEQSET, UID */
	size_t n_ranges;
	char *folded;			/* string keys */
	size_t folded_len;
	struct imapd_search_node *kids;
	size_t n_kids;
};

struct imapd_search_eval {
	const struct imapd_search_params *p;
	struct store *store;
	time_t now;
	const struct store_message *msg;
	uint32_t seq;
	bool file_tried;
	struct imapd_fetch_file file;
	bool file_ok;
	struct buf hay, tmp;		/* imapd_search_env_match's */
};

static void
imapd_search_compile(const struct imapd_search_params *p,
    const struct imap_search_node *src, struct imapd_search_node *n)
{
	memset(n, 0, sizeof(*n));
	n->src = src;
	if ((src->key == IMAP_SEARCH_SEQSET || src->key == IMAP_SEARCH_UID)
	    && !src->set.saved) {
		uint32_t max = src->key == IMAP_SEARCH_SEQSET ? (uint32_t)p->n :
		    p->n > 0 ? p->uids[p->n - 1] : 0;

		imap_seqset_resolve(&src->set, max, &n->ranges, &n->n_ranges);
	}
	if (src->str != NULL)
		n->folded = imapd_search_fold(src->str, src->str_len,
		    &n->folded_len);
	if (src->n_children > 0) {
		n->kids = xcalloc(src->n_children, sizeof(*n->kids));
		n->n_kids = src->n_children;
		for (size_t i = 0; i < src->n_children; i++)
			imapd_search_compile(p, &src->children[i],
			    &n->kids[i]);
	}
}

static void
imapd_search_node_clear(struct imapd_search_node *n)
{
	for (size_t i = 0; i < n->n_kids; i++)
		imapd_search_node_clear(&n->kids[i]);
	free(n->kids);
	free(n->ranges);
	free(n->folded);
}

/* The parsed message, opened on first use; NULL when it is gone. */
static const struct mime_message *
imapd_search_mime(struct imapd_search_eval *e)
{
	if (!e->file_tried) {
		e->file_tried = true;
		e->file_ok = imapd_fetch_file_open(e->store, e->p->mailbox_id,
		    e->msg->uid, false, &e->file) == 0;
	}
	return e->file_ok ? e->file.mime : NULL;
}

static bool
imapd_search_in_saved(const struct imapd_search_params *p, uint32_t uid)
{
	size_t lo = 0, hi = p->n_saved;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->saved[mid] == uid)
			return true;
		if (p->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool
imapd_search_has_keyword(const char *keywords, const char *kw, size_t len)
{
	const char *p = keywords;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, kw, len) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* Local date of t as days since 1970-01-01 (Dovecot compares internal
   dates in the server's zone). */
static int32_t
imapd_search_local_day(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return imapd_search_days(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
}

static bool
imapd_search_sent_day(struct imapd_search_eval *e, int32_t *day_r)
{
	const struct mime_message *msg = imapd_search_mime(e);
	char *date;
	time_t t;
	int rc;

	if (msg == NULL)
		return false;
	date = imapd_search_field(msg, "Date");
	rc = date != NULL ? imapd_search_date(date, day_r, &t) : -1;
	free(date);
	if (rc < 0)	/* no usable Date: the internal date, as Dovecot */
		*day_r = imapd_search_local_day(e->msg->internal_date);
	return true;
}

/* Whether a key of the tree can be answered from the cached ENVELOPE
   (then the walk fetches it). */
static bool
imapd_search_wants_env(const struct imap_search_node *k)
{
	if (k->key == IMAP_SEARCH_FROM || k->key == IMAP_SEARCH_TO ||
	    k->key == IMAP_SEARCH_CC || k->key == IMAP_SEARCH_BCC ||
	    k->key == IMAP_SEARCH_SUBJECT)
		return true;
	for (size_t i = 0; i < k->n_children; i++)
		if (imapd_search_wants_env(&k->children[i]))
			return true;
	return false;
}

/* From the cached ENVELOPE when it can tell, else from the file. */
static bool
imapd_search_env_key(struct imapd_search_eval *e,
    enum imapd_search_env_field env, const char *field,
    const struct imapd_search_node *n)
{
	const char *envelope = e->msg->envelope;
	const struct mime_message *msg;
	int rc;

	if (envelope != NULL) {
		rc = imapd_search_env_match(envelope, strlen(envelope), env,
		    n->folded, n->folded_len, &e->hay, &e->tmp);
		if (rc >= 0)
			return rc == 1;
	}
	msg = imapd_search_mime(e);
	return msg != NULL && imapd_search_header(msg, field, n->folded,
	    n->folded_len);
}

static bool
imapd_search_header_key(struct imapd_search_eval *e, const char *field,
    const struct imapd_search_node *n)
{
	const struct mime_message *msg = imapd_search_mime(e);

	return msg != NULL && imapd_search_header(msg, field, n->folded,
	    n->folded_len);
}

static bool
imapd_search_match(struct imapd_search_eval *e,
    const struct imapd_search_node *n)
{
	const struct imap_search_node *k = n->src;
	const struct store_message *m = e->msg;
	bool recent = e->p->recent_min != 0 && m->uid >= e->p->recent_min &&
	    (e->p->recent_max == 0 || m->uid < e->p->recent_max);
	int32_t day;

	switch (k->key) {
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		return true;
	case IMAP_SEARCH_AND:
		for (size_t i = 0; i < n->n_kids; i++)
			if (!imapd_search_match(e, &n->kids[i]))
				return false;
		return true;
	case IMAP_SEARCH_OR:
		for (size_t i = 0; i < n->n_kids; i++)
			if (imapd_search_match(e, &n->kids[i]))
				return true;
		return false;
	case IMAP_SEARCH_NOT:
		return n->n_kids > 0 && !imapd_search_match(e, &n->kids[0]);
	case IMAP_SEARCH_SEQSET:
		if (k->set.saved)	/* "$": RFC 5182 §2.1 */
			return imapd_search_in_saved(e->p, m->uid);
		return imap_seqset_contains(n->ranges, n->n_ranges, e->seq);
	case IMAP_SEARCH_UID:
		if (k->set.saved)
			return imapd_search_in_saved(e->p, m->uid);
		return imap_seqset_contains(n->ranges, n->n_ranges, m->uid);
	case IMAP_SEARCH_FLAG:
		return (m->flags & k->flag) != 0;
	case IMAP_SEARCH_UNFLAG:
		return (m->flags & k->flag) == 0;
	case IMAP_SEARCH_KEYWORD:
		return imapd_search_has_keyword(m->keywords, k->str,
		    k->str_len);
	case IMAP_SEARCH_UNKEYWORD:
		return !imapd_search_has_keyword(m->keywords, k->str,
		    k->str_len);
	case IMAP_SEARCH_RECENT:
		return recent;
	case IMAP_SEARCH_NEW:
		return recent && (m->flags & STORE_FLAG_SEEN) == 0;
	case IMAP_SEARCH_OLD:
		return !recent;
	case IMAP_SEARCH_BEFORE:
		return imapd_search_local_day(m->internal_date) < k->day;
	case IMAP_SEARCH_ON:
		return imapd_search_local_day(m->internal_date) == k->day;
	case IMAP_SEARCH_SINCE:
		return imapd_search_local_day(m->internal_date) >= k->day;
	case IMAP_SEARCH_SAVEDBEFORE:
		return m->save_date != 0 &&
		    imapd_search_local_day(m->save_date) < k->day;
	case IMAP_SEARCH_SAVEDON:
		return m->save_date != 0 &&
		    imapd_search_local_day(m->save_date) == k->day;
	case IMAP_SEARCH_SAVEDSINCE:
		return m->save_date != 0 &&
		    imapd_search_local_day(m->save_date) >= k->day;
	case IMAP_SEARCH_SENTBEFORE:
		return imapd_search_sent_day(e, &day) && day < k->day;
	case IMAP_SEARCH_SENTON:
		return imapd_search_sent_day(e, &day) && day == k->day;
	case IMAP_SEARCH_SENTSINCE:
		return imapd_search_sent_day(e, &day) && day >= k->day;
	case IMAP_SEARCH_OLDER:		/* RFC 5032 */
		return (uint64_t)(e->now - m->internal_date) >= k->number &&
		    e->now >= m->internal_date;
	case IMAP_SEARCH_YOUNGER:
		return e->now < m->internal_date ||
		    (uint64_t)(e->now - m->internal_date) <= k->number;
	case IMAP_SEARCH_LARGER:
		return m->size > k->number;
	case IMAP_SEARCH_SMALLER:
		return m->size < k->number;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= k->number;
	case IMAP_SEARCH_EMAILID:
		return m->emailid != NULL && strlen(m->emailid) ==
		    k->str_len && memcmp(m->emailid, k->str, k->str_len) == 0;
	case IMAP_SEARCH_THREADID:
		return m->threadid != NULL && strlen(m->threadid) ==
		    k->str_len && memcmp(m->threadid, k->str, k->str_len) == 0;
	case IMAP_SEARCH_BCC:
		return imapd_search_env_key(e, IMAPD_SEARCH_ENV_BCC, "Bcc", n);
	case IMAP_SEARCH_CC:
		return imapd_search_env_key(e, IMAPD_SEARCH_ENV_CC, "Cc", n);
	case IMAP_SEARCH_FROM:
		return imapd_search_env_key(e, IMAPD_SEARCH_ENV_FROM, "From",
		    n);
	case IMAP_SEARCH_TO:
		return imapd_search_env_key(e, IMAPD_SEARCH_ENV_TO, "To", n);
	case IMAP_SEARCH_SUBJECT:
		return imapd_search_env_key(e, IMAPD_SEARCH_ENV_SUBJECT,
		    "Subject", n);
	case IMAP_SEARCH_HEADER:
		return imapd_search_header_key(e, k->field, n);
	case IMAP_SEARCH_BODY: {
		const struct mime_message *msg = imapd_search_mime(e);

		return msg != NULL && imapd_search_body(msg, n->folded,
		    n->folded_len);
	}
	case IMAP_SEARCH_TEXT: {
		const struct mime_message *msg = imapd_search_mime(e);

		return msg != NULL && (imapd_search_header(msg, NULL,
		    n->folded, n->folded_len) || imapd_search_body(msg,
		    n->folded, n->folded_len));
	}
	}
	return false;
}

struct imapd_search_walk {
	struct imapd_search_eval e;
	const struct imapd_search_node *root;
	imapd_search_match_fn *fn;
	void *ctx;
	size_t view_pos;
};

static int
imapd_search_cb(const struct store_message *msg, void *ctx)
{
	struct imapd_search_walk *w = ctx;
	const struct imapd_search_params *p = w->e.p;
	bool match;

	/* both ascending: the view's sequence number in one pass */
	while (w->view_pos < p->n && p->uids[w->view_pos] < msg->uid)
		w->view_pos++;
	if (w->view_pos == p->n || p->uids[w->view_pos] != msg->uid)
		return 0;	/* not in this session's view yet */
	w->e.msg = msg;
	w->e.seq = (uint32_t)w->view_pos + 1;
	w->e.file_tried = false;
	w->e.file_ok = false;
	match = imapd_search_match(&w->e, w->root);
	if (match)
		w->fn(msg, w->e.seq, w->e.file_ok ? w->e.file.mime : NULL,
		    w->ctx);
	if (w->e.file_tried && w->e.file_ok)
		imapd_fetch_file_close(&w->e.file);
	return 0;
}

int
imapd_search_walk(struct store *store, const struct imapd_search_params *p,
    const struct imap_search *search, unsigned items,
    imapd_search_match_fn *fn, void *ctx, char **error_r)
{
	struct imapd_search_walk w;
	struct imapd_search_node root;
	struct store_range r;
	int rc;

	*error_r = NULL;
	if (p->n == 0)
		return 0;
	memset(&w, 0, sizeof(w));
	imapd_search_compile(p, &search->root, &root);
	w.e.p = p;
	w.e.store = store;
	w.e.now = time(NULL);
	w.root = &root;
	w.fn = fn;
	w.ctx = ctx;
	buf_init(&w.e.hay, 0);
	buf_init(&w.e.tmp, 0);
	if (imapd_search_wants_env(&search->root))
		items |= STORE_FETCH_ENVELOPE;
	r = (struct store_range){ p->uids[0], p->uids[p->n - 1] };
	rc = store_fetch(store, p->mailbox_id, &r, 1, items |
	    STORE_FETCH_FLAGS | STORE_FETCH_DATES | STORE_FETCH_SIZE |
	    STORE_FETCH_IDS, imapd_search_cb, &w);
	buf_clear(&w.e.hay);
	buf_clear(&w.e.tmp);
	imapd_search_node_clear(&root);
	if (rc != STORE_OK) {
		*error_r = xstrdup(store_error(store));
		return -1;
	}
	return 0;
}

struct imapd_search_collect {
	uint32_t *uids;
	size_t n, cap;
	uint64_t highest;
};

static void
imapd_search_collect_cb(const struct store_message *msg, uint32_t seq,
    const struct mime_message *mime, void *ctx)
{
	struct imapd_search_collect *c = ctx;

	(void)seq;
	(void)mime;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->uids = xreallocarray(c->uids, c->cap, sizeof(*c->uids));
	}
	c->uids[c->n++] = msg->uid;
	if (msg->modseq > c->highest)
		c->highest = msg->modseq;
}

int
imapd_search_run(struct store *store,
    const struct imapd_search_params *params,
    const struct imap_search *search, uint32_t **uids_r, size_t *n_r,
    uint64_t *highestmodseq_r, char **error_r)
{
	struct imapd_search_collect c = { 0 };

	if (imapd_search_walk(store, params, search, 0,
	    imapd_search_collect_cb, &c, error_r) < 0) {
		free(c.uids);
		return -1;
	}
	*uids_r = c.uids;
	*n_r = c.n;
	*highestmodseq_r = c.highest;
	return 0;
}
