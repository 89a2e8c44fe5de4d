/* imapd_thread_refs.c — THREAD=REFERENCES (RFC 5256 §4), steps 1 to 5:
   link messages by Message-ID, References and In-Reply-To (with dummy
   containers for ids no message has), prune the dummies, and group the
   roots by base subject. Step 6 (sorting) is imapd_thread.c's.

   No hash table: every id is collected first, sorted and made unique,
   so an id's container is its index in that array (binary search).
   Step 1 keeps only parent links (all it asks is "has a parent?" and
   "would this link make a loop?"); the kid lists are built from them
   afterwards. The loop check walks up the parents, so it is bounded by
   the number of containers, and every tree walk is iterative. */
#include "imapd/imapd_thread_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

struct imapd_thread_refs {
	const struct imapd_thread_msg *msgs;
	struct imapd_thread_tree *t;
	const char **ids;		/* sorted, unique: node i is ids[i] */
	size_t n_ids;
	uint32_t *parent;		/* step 1, per node */
};

static int
imapd_thread_refs_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t
imapd_thread_refs_lookup(const struct imapd_thread_refs *r, const char *id)
{
	const char **hit = bsearch(&id, r->ids, r->n_ids, sizeof(*r->ids),
	    imapd_thread_refs_strcmp);

	return hit != NULL ? (uint32_t)(hit - r->ids) : IMAPD_THREAD_NONE;
}

/* Whether making parent the parent of kid would make a loop: kid is
   parent or one of its ancestors. */
static bool
imapd_thread_refs_loops(const struct imapd_thread_refs *r, uint32_t parent,
    uint32_t kid)
{
	for (uint32_t x = parent; x != IMAPD_THREAD_NONE; x = r->parent[x])
		if (x == kid)
			return true;
	return false;
}

/* The sorted unique ids of all messages, one node (a dummy until a
   message claims it) for each. */
static void
imapd_thread_refs_ids(struct imapd_thread_refs *r, size_t n)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		total += (r->msgs[i].id != NULL) + r->msgs[i].n_refs;
	r->ids = xcalloc(total > 0 ? total : 1, sizeof(*r->ids));
	for (size_t i = 0; i < n; i++) {
		if (r->msgs[i].id != NULL)
			r->ids[k++] = r->msgs[i].id;
		for (size_t j = 0; j < r->msgs[i].n_refs; j++)
			r->ids[k++] = r->msgs[i].refs[j];
	}
	qsort(r->ids, k, sizeof(*r->ids), imapd_thread_refs_strcmp);
	for (size_t i = 0; i < k; i++)
		if (r->n_ids == 0 || strcmp(r->ids[r->n_ids - 1], r->ids[i]) != 0)
			r->ids[r->n_ids++] = r->ids[i];
	for (size_t i = 0; i < r->n_ids; i++)
		(void)imapd_thread_node_new(r->t, IMAPD_THREAD_NONE);
}

/* Step 1: the containers and their parent links. */
static void
imapd_thread_refs_link(struct imapd_thread_refs *r, size_t n)
{
	struct imapd_thread_tree *t = r->t;

	/* at most one node per message besides the ids' */
	r->parent = xcalloc(r->n_ids + n, sizeof(*r->parent));
	for (size_t i = 0; i < r->n_ids + n; i++)
		r->parent[i] = IMAPD_THREAD_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct imapd_thread_msg *m = &r->msgs[i];
		uint32_t c = m->id != NULL ? imapd_thread_refs_lookup(r, m->id) :
		    IMAPD_THREAD_NONE;

		/* (A) no id, or a duplicate one: a container of its own */
		if (c == IMAPD_THREAD_NONE || t->nodes[c].msg !=
		    IMAPD_THREAD_NONE)
			c = imapd_thread_node_new(t, (uint32_t)i);
		t->nodes[c].msg = (uint32_t)i;
		/* (B) each reference the parent of the next, unless the
		   next has one or it would make a loop */
		for (size_t j = 0; j + 1 < m->n_refs; j++) {
			uint32_t p = imapd_thread_refs_lookup(r, m->refs[j]);
			uint32_t k = imapd_thread_refs_lookup(r, m->refs[j + 1]);

			if (r->parent[k] == IMAPD_THREAD_NONE &&
			    !imapd_thread_refs_loops(r, p, k))
				r->parent[k] = p;
		}
		/* (C) the last reference is the message's parent, replacing
		   any (a truncated References made elsewhere); none: none */
		if (m->n_refs == 0) {
			r->parent[c] = IMAPD_THREAD_NONE;
		} else {
			uint32_t p = imapd_thread_refs_lookup(r,
			    m->refs[m->n_refs - 1]);

			if (!imapd_thread_refs_loops(r, p, c))
				r->parent[c] = p;
		}
	}
}

/* Steps 2 to 4: kid lists and roots from the parent links, then the
   dummies pruned bottom-up: a dummy's kids take its place, except at
   the root level, where a dummy with several kids stays. */
static void
imapd_thread_refs_prune(struct imapd_thread_refs *r)
{
	struct imapd_thread_tree *t = r->t;
	size_t n = t->n_nodes, n_order = 0, sp = 0;
	uint32_t *order = xcalloc(n > 0 ? n : 1, sizeof(*order));
	uint32_t *stack = xcalloc(n > 0 ? n : 1, sizeof(*stack));

	t->roots = xcalloc(n > 0 ? n : 1, sizeof(*t->roots));
	for (size_t i = 0; i < n; i++) {
		if (r->parent[i] == IMAPD_THREAD_NONE)
			t->roots[t->n_roots++] = (uint32_t)i;
		else
			imapd_thread_node_add(t, r->parent[i], (uint32_t)i);
	}
	/* a pre-order from every root; reversed, kids come before parents */
	for (size_t i = 0; i < t->n_roots; i++) {
		stack[sp++] = t->roots[i];
		while (sp > 0) {
			uint32_t x = stack[--sp];

			order[n_order++] = x;
			for (size_t k = 0; k < t->nodes[x].n_kids; k++)
				stack[sp++] = t->nodes[x].kids[k];
		}
	}
	for (size_t i = n_order; i-- > 0;) {
		struct imapd_thread_node *x = &t->nodes[order[i]];
		uint32_t *kids = x->kids;
		size_t n_kids = x->n_kids;

		x->kids = NULL;
		x->n_kids = x->cap = 0;
		for (size_t k = 0; k < n_kids; k++) {
			struct imapd_thread_node *kid = &t->nodes[kids[k]];

			if (kid->msg != IMAPD_THREAD_NONE) {
				imapd_thread_node_add(t, order[i], kids[k]);
				continue;
			}
			/* a pruned dummy: its (final) kids move up */
			for (size_t g = 0; g < kid->n_kids; g++)
				imapd_thread_node_add(t, order[i], kid->kids[g]);
			kid->n_kids = 0;
		}
		free(kids);
	}
	for (size_t i = 0; i < t->n_roots; i++) {
		struct imapd_thread_node *x = &t->nodes[t->roots[i]];

		if (x->msg != IMAPD_THREAD_NONE || x->n_kids > 1)
			continue;
		t->roots[i] = x->n_kids == 1 ? x->kids[0] : IMAPD_THREAD_NONE;
		x->n_kids = 0;
	}
	free(order);
	free(stack);
}

struct imapd_thread_subj {
	const char *subject;
	size_t root;			/* position in roots; SIZE_MAX: none */
};

static int
imapd_thread_subj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct imapd_thread_subj *)a)->subject,
	    ((const struct imapd_thread_subj *)b)->subject);
}

static const char *
imapd_thread_refs_subject(const struct imapd_thread_refs *r, uint32_t node)
{
	uint32_t m = imapd_thread_node_msg(r->t, node);

	return m != IMAPD_THREAD_NONE ? r->msgs[m].subject : "";
}

static bool
imapd_thread_refs_is_dummy(const struct imapd_thread_refs *r, uint32_t node)
{
	return r->t->nodes[node].msg == IMAPD_THREAD_NONE;
}

static bool
imapd_thread_refs_is_reply(const struct imapd_thread_refs *r, uint32_t node)
{
	uint32_t m = r->t->nodes[node].msg;

	return m != IMAPD_THREAD_NONE && r->msgs[m].reply;
}

/* Step 5 (C) for the root at position i whose subject's entry is e. */
static void
imapd_thread_refs_merge(struct imapd_thread_refs *r, size_t i,
    struct imapd_thread_subj *e)
{
	struct imapd_thread_tree *t = r->t;
	uint32_t cur = t->roots[i], tab = t->roots[e->root];

	if (imapd_thread_refs_is_dummy(r, tab) &&
	    imapd_thread_refs_is_dummy(r, cur)) {
		/* both dummies: the kids of both become siblings */
		for (size_t k = 0; k < t->nodes[cur].n_kids; k++)
			imapd_thread_node_add(t, tab, t->nodes[cur].kids[k]);
		t->nodes[cur].n_kids = 0;
	} else if (imapd_thread_refs_is_dummy(r, tab) ||
	    (imapd_thread_refs_is_reply(r, cur) &&
	    !imapd_thread_refs_is_reply(r, tab))) {
		imapd_thread_node_add(t, tab, cur);
	} else {
		/* siblings under a new dummy, which takes the entry */
		uint32_t d = imapd_thread_node_new(t, IMAPD_THREAD_NONE);

		imapd_thread_node_add(t, d, tab);
		imapd_thread_node_add(t, d, cur);
		t->roots[e->root] = d;
	}
	t->roots[i] = IMAPD_THREAD_NONE;
}

/* Step 5: roots with one base subject gathered; the roots are walked in
   date order, so the table's first choice is the oldest thread. */
static void
imapd_thread_refs_subjects(struct imapd_thread_refs *r)
{
	struct imapd_thread_tree *t = r->t;
	struct imapd_thread_subj *tab, key, *e;
	size_t n = 0;

	imapd_thread_sort_all(r->msgs, t);	/* roots by date, dummies' */
	tab = xcalloc(t->n_roots > 0 ? t->n_roots : 1, sizeof(*tab));
	for (size_t i = 0; i < t->n_roots; i++) {
		const char *s = imapd_thread_refs_subject(r, t->roots[i]);

		if (s[0] != '\0')
			tab[n++] = (struct imapd_thread_subj){ s, SIZE_MAX };
	}
	qsort(tab, n, sizeof(*tab), imapd_thread_subj_cmp);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (k == 0 || strcmp(tab[k - 1].subject, tab[i].subject) != 0)
			tab[k++] = tab[i];
		if (i + 1 == n)
			n = k;
	}
	/* (A), (B): which root each subject's entry starts as */
	for (size_t i = 0; i < t->n_roots; i++) {
		uint32_t cur = t->roots[i], old;

		key.subject = imapd_thread_refs_subject(r, cur);
		if (key.subject[0] == '\0')
			continue;
		e = bsearch(&key, tab, n, sizeof(*tab), imapd_thread_subj_cmp);
		if (e->root == SIZE_MAX) {
			e->root = i;
			continue;
		}
		old = t->roots[e->root];
		if (!imapd_thread_refs_is_dummy(r, old) &&
		    (imapd_thread_refs_is_dummy(r, cur) ||
		    (imapd_thread_refs_is_reply(r, old) &&
		    !imapd_thread_refs_is_reply(r, cur))))
			e->root = i;
	}
	/* (C) */
	for (size_t i = 0; i < t->n_roots; i++) {
		if (t->roots[i] == IMAPD_THREAD_NONE)
			continue;
		key.subject = imapd_thread_refs_subject(r, t->roots[i]);
		if (key.subject[0] == '\0')
			continue;
		e = bsearch(&key, tab, n, sizeof(*tab), imapd_thread_subj_cmp);
		if (e->root != i)
			imapd_thread_refs_merge(r, i, e);
	}
	free(tab);
}

void
imapd_thread_refs_build(const struct imapd_thread_msg *msgs, size_t n,
    struct imapd_thread_tree *t)
{
	struct imapd_thread_refs r = { .msgs = msgs, .t = t };

	imapd_thread_refs_ids(&r, n);
	imapd_thread_refs_link(&r, n);
	imapd_thread_refs_prune(&r);
	imapd_thread_refs_subjects(&r);
	free(r.parent);
	free(r.ids);
}
