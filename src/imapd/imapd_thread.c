/* imapd_thread.c — the THREAD engine (RFC 5256 §4): the search walk
   collects each matching message's sent date, base subject and (for
   REFERENCES) its Message-ID, References and In-Reply-To; ORDEREDSUBJECT
   is built here, REFERENCES in imapd_thread_refs.c; then both trees are
   sorted and written here, iteratively (a chain of thousands of replies
   nests as deep as it is long). */
#include "imapd/imapd_search.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "imapd/imapd_fetch_private.h"
#include "imapd/imapd_search_private.h"
#include "imapd/imapd_sort_private.h"
#include "imapd/imapd_thread_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

/* The nearest references decide a message's place; the rest of a long
   chain is told by the messages in it. Bounds one message's work. */
#define IMAPD_THREAD_REFS_MAX 256
/* RFC 5322 §2.1.1: no id is longer than a line. */
#define IMAPD_THREAD_ID_MAX 998

struct imapd_thread_ctx {
	struct store *store;
	const struct imapd_search_params *p;
	bool refs, uid;
	struct imapd_thread_msg *msgs;
	size_t n, cap;
};

/* --- collection ----------------------------------------------------------- */

/* The "<...>" ids of value, in order, after those in *ids: at most
   max in all, the last ones kept, or with first only the first one. */
static void
imapd_thread_scan_ids(const char *value, size_t len, size_t max,
    bool first, char ***ids, size_t *n)
{
	for (size_t i = 0; i < len; i++) {
		size_t j;
		bool ok = true;

		if (value[i] != '<')
			continue;
		for (j = i + 1; j < len && value[j] != '>'; j++) {
			unsigned char c = (unsigned char)value[j];

			if (c <= 0x20 || c == 0x7f || c == '<')
				ok = false;
		}
		if (j == len)
			return;
		if (ok && j - i >= 2 && j + 1 - i <= IMAPD_THREAD_ID_MAX) {
			if (*n == max && first)
				return;
			if (*n == max) {
				free((*ids)[0]);
				memmove(*ids, *ids + 1, (*n - 1) * sizeof(**ids));
				(*n)--;
			}
			*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
			(*ids)[(*n)++] = xstrndup(value + i, j + 1 - i);
		}
		i = j;
	}
}

/* The first id of raw (NULL: none), heap or NULL. */
static char *
imapd_thread_first_id(const char *raw)
{
	char **ids = NULL, *id;
	size_t n = 0;

	if (raw == NULL)
		return NULL;
	imapd_thread_scan_ids(raw, strlen(raw), 1, true, &ids, &n);
	id = n == 1 ? ids[0] : NULL;
	free(ids);
	return id;
}

static void
imapd_thread_references(struct imapd_thread_ctx *c, uint32_t uid,
    const struct mime_message *mime, struct imapd_thread_msg *m)
{
	struct imapd_fetch_file file = { 0 };
	bool opened = false;
	struct buf value;

	if (mime == NULL) {
		if (imapd_fetch_file_open(c->store, c->p->mailbox_id, uid, true,
		    &file) != 0)
			return;	/* gone: it threads by In-Reply-To alone */
		opened = true;
		mime = file.mime;
	}
	buf_init(&value, 0);
	if (mime_header_get(mime, 0, "References", 0, &value) == 0 &&
	    value.data != NULL)
		imapd_thread_scan_ids(value.data, value.len,
		    IMAPD_THREAD_REFS_MAX, false, &m->refs, &m->n_refs);
	buf_clear(&value);
	if (opened)
		imapd_fetch_file_close(&file);
}

static void
imapd_thread_collect(const struct store_message *msg, uint32_t seq,
    const struct mime_message *mime, void *ctx)
{
	struct imapd_thread_ctx *c = ctx;
	struct imapd_thread_msg *m;
	struct imapd_sort_env env;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->msgs = xreallocarray(c->msgs, c->cap, sizeof(*c->msgs));
	}
	m = &c->msgs[c->n++];
	memset(m, 0, sizeof(*m));
	m->num = c->uid ? msg->uid : seq;
	m->seq = seq;
	(void)imapd_sort_env_get(c->store, c->p->mailbox_id, msg, &env);
	m->date = imapd_sort_date(env.date, msg->internal_date);
	m->subject = imapd_sort_subject(env.subject, &m->reply);
	if (c->refs) {
		m->id = imapd_thread_first_id(env.message_id);
		imapd_thread_references(c, msg->uid, mime, m);
		/* RFC 5256 §4 (1)(B): no usable References: In-Reply-To */
		if (m->n_refs == 0) {
			char *irt = imapd_thread_first_id(env.in_reply_to);

			if (irt != NULL) {
				m->refs = xcalloc(1, sizeof(*m->refs));
				m->refs[0] = irt;
				m->n_refs = 1;
			}
		}
	}
	imapd_sort_env_clear(&env);
}

/* --- the tree ------------------------------------------------------------- */

uint32_t
imapd_thread_node_new(struct imapd_thread_tree *t, uint32_t msg)
{
	if (t->n_nodes == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->nodes = xreallocarray(t->nodes, t->cap, sizeof(*t->nodes));
	}
	memset(&t->nodes[t->n_nodes], 0, sizeof(t->nodes[0]));
	t->nodes[t->n_nodes].msg = msg;
	return (uint32_t)t->n_nodes++;
}

void
imapd_thread_node_add(struct imapd_thread_tree *t, uint32_t parent,
    uint32_t kid)
{
	struct imapd_thread_node *p = &t->nodes[parent];

	if (p->n_kids == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->kids = xreallocarray(p->kids, p->cap, sizeof(*p->kids));
	}
	p->kids[p->n_kids++] = kid;
}

void
imapd_thread_tree_clear(struct imapd_thread_tree *t)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		free(t->nodes[i].kids);
	free(t->nodes);
	free(t->roots);
	memset(t, 0, sizeof(*t));
}

uint32_t
imapd_thread_node_msg(const struct imapd_thread_tree *t, uint32_t node)
{
	const struct imapd_thread_node *n = &t->nodes[node];

	if (n->msg != IMAPD_THREAD_NONE)
		return n->msg;
	/* dummies only hold messages (never dummies) by then */
	return n->n_kids > 0 ? t->nodes[n->kids[0]].msg : IMAPD_THREAD_NONE;
}

struct imapd_thread_cmp_ctx {
	const struct imapd_thread_msg *msgs;
	const struct imapd_thread_tree *t;
};

static int
imapd_thread_cmp(const void *va, const void *vb, void *vctx)
{
	const struct imapd_thread_cmp_ctx *c = vctx;
	uint32_t a = imapd_thread_node_msg(c->t, *(const uint32_t *)va);
	uint32_t b = imapd_thread_node_msg(c->t, *(const uint32_t *)vb);
	const struct imapd_thread_msg *ma, *mb;

	if (a == IMAPD_THREAD_NONE || b == IMAPD_THREAD_NONE)
		return (a != IMAPD_THREAD_NONE) - (b != IMAPD_THREAD_NONE);
	ma = &c->msgs[a];
	mb = &c->msgs[b];
	if (ma->date != mb->date)
		return ma->date < mb->date ? -1 : 1;
	return ma->seq < mb->seq ? -1 : ma->seq > mb->seq;
}

void
imapd_thread_sort_kids(const struct imapd_thread_msg *msgs,
    struct imapd_thread_tree *t, uint32_t node)
{
	struct imapd_thread_cmp_ctx c = { msgs, t };
	struct imapd_thread_node *n = &t->nodes[node];

	if (n->n_kids > 1)
		qsort_r(n->kids, n->n_kids, sizeof(*n->kids),
		    imapd_thread_cmp, &c);
}

void
imapd_thread_sort_all(const struct imapd_thread_msg *msgs,
    struct imapd_thread_tree *t)
{
	struct imapd_thread_cmp_ctx c = { msgs, t };
	size_t k = 0;

	/* messages first: a dummy sorts by its first kid */
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].msg != IMAPD_THREAD_NONE)
			imapd_thread_sort_kids(msgs, t, (uint32_t)i);
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].msg == IMAPD_THREAD_NONE)
			imapd_thread_sort_kids(msgs, t, (uint32_t)i);
	for (size_t i = 0; i < t->n_roots; i++)
		if (t->roots[i] != IMAPD_THREAD_NONE)
			t->roots[k++] = t->roots[i];
	t->n_roots = k;
	if (k > 1)
		qsort_r(t->roots, k, sizeof(*t->roots), imapd_thread_cmp, &c);
}

/* --- ORDEREDSUBJECT (RFC 5256 §4) ----------------------------------------- */

static int
imapd_thread_subject_cmp(const void *va, const void *vb, void *vctx)
{
	const struct imapd_thread_msg *msgs = vctx;
	const struct imapd_thread_msg *a = &msgs[*(const uint32_t *)va];
	const struct imapd_thread_msg *b = &msgs[*(const uint32_t *)vb];
	int r = strcmp(a->subject, b->subject);

	if (r != 0)
		return r;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorted by base subject, then date: each run of one subject is a
   thread whose first message is the parent of all the others. */
static void
imapd_thread_orderedsubject(const struct imapd_thread_msg *msgs, size_t n,
    struct imapd_thread_tree *t)
{
	uint32_t *order = xcalloc(n, sizeof(*order));
	uint32_t first = IMAPD_THREAD_NONE;

	for (size_t i = 0; i < n; i++) {
		order[i] = (uint32_t)i;
		(void)imapd_thread_node_new(t, (uint32_t)i);	/* node i */
	}
	qsort_r(order, n, sizeof(*order), imapd_thread_subject_cmp,
	    (void *)msgs);
	t->roots = xcalloc(n, sizeof(*t->roots));
	for (size_t i = 0; i < n; i++) {
		if (first != IMAPD_THREAD_NONE &&
		    strcmp(msgs[first].subject, msgs[order[i]].subject) == 0) {
			imapd_thread_node_add(t, first, order[i]);
			continue;
		}
		first = order[i];
		t->roots[t->n_roots++] = first;
	}
	free(order);
}

/* --- the answer ----------------------------------------------------------- */

/* What the writer's stack holds: a node to write, or a parenthesis. */
#define IMAPD_THREAD_OPEN (IMAPD_THREAD_NONE - 1)
#define IMAPD_THREAD_CLOSE (IMAPD_THREAD_NONE - 2)

void
imapd_thread_write(const struct imapd_thread_msg *msgs,
    const struct imapd_thread_tree *t, struct buf *out)
{
	uint32_t *stack = NULL;
	size_t n = 0, cap = 0;

	for (size_t r = 0; r < t->n_roots; r++) {
		/* thread-list = "(" (thread-members / thread-nested) ")" */
		(void)buf_append(out, "(", 1);
		stack = xreallocarray(stack, cap = cap > 0 ? cap : 16,
		    sizeof(*stack));
		stack[n++] = t->roots[r];
		while (n > 0) {
			uint32_t x = stack[--n];
			const struct imapd_thread_node *node;
			bool dummy;

			if (x == IMAPD_THREAD_OPEN || x == IMAPD_THREAD_CLOSE) {
				(void)buf_append(out, x == IMAPD_THREAD_OPEN ?
				    "(" : ")", 1);
				continue;
			}
			node = &t->nodes[x];
			dummy = node->msg == IMAPD_THREAD_NONE;
			if (!dummy)
				(void)buf_printf(out, "%u", msgs[node->msg].num);
			if (node->n_kids == 0)
				continue;
			if (!dummy)
				(void)buf_append(out, " ", 1);
			if (n + 3 * node->n_kids > cap) {
				cap = (n + 3 * node->n_kids) * 2;
				stack = xreallocarray(stack, cap,
				    sizeof(*stack));
			}
			if (node->n_kids == 1 && !dummy) {
				/* one kid continues the thread-members */
				stack[n++] = node->kids[0];
				continue;
			}
			/* thread-nested: each kid its own list, in order */
			for (size_t k = node->n_kids; k-- > 0;) {
				stack[n++] = IMAPD_THREAD_CLOSE;
				stack[n++] = node->kids[k];
				stack[n++] = IMAPD_THREAD_OPEN;
			}
		}
		(void)buf_append(out, ")", 1);
	}
	free(stack);
}

/* --- the engine ----------------------------------------------------------- */

int
imapd_thread_run(struct store *store, const struct imapd_search_params *params,
    const struct imap_thread *thread, bool uid, struct buf *out,
    char **error_r)
{
	struct imapd_thread_ctx c = { .store = store, .p = params,
	    .uid = uid, .refs = thread->algorithm == IMAP_THREAD_REFERENCES };
	struct imapd_thread_tree t = { 0 };
	int rc;

	rc = imapd_search_walk(store, params, &thread->search,
	    STORE_FETCH_ENVELOPE, imapd_thread_collect, &c, error_r);
	if (rc == 0 && c.n > 0) {
		if (c.refs)
			imapd_thread_refs_build(c.msgs, c.n, &t);
		else
			imapd_thread_orderedsubject(c.msgs, c.n, &t);
		imapd_thread_sort_all(c.msgs, &t);
		imapd_thread_write(c.msgs, &t, out);
	}
	imapd_thread_tree_clear(&t);
	for (size_t i = 0; i < c.n; i++) {
		struct imapd_thread_msg *m = &c.msgs[i];

		free(m->subject);
		free(m->id);
		for (size_t j = 0; j < m->n_refs; j++)
			free(m->refs[j]);
		free(m->refs);
	}
	free(c.msgs);
	return rc;
}
