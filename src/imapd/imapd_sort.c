/* imapd_sort.c — the SORT engine (RFC 5256 §3; DISPLAYFROM/DISPLAYTO
   RFC 5957). The search walk (imapd_search_walk) gives every matching
   message with its cached ENVELOPE; the keys the criteria need are
   computed once per message (folded strings, UTC dates), then one
   qsort orders them. Strings compare as i;unicode-casemap (folded
   octets, so "" sorts first, as §3 wants of a missing field); every
   tie falls to the sequence number, the walk's order. */
#include "imapd/imapd_search.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "imapd/imapd_search_private.h"
#include "imapd/imapd_sort_private.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* The string keys, one slot each. */
enum imapd_sort_str {
	IMAPD_SORT_STR_SUBJECT,
	IMAPD_SORT_STR_FROM,
	IMAPD_SORT_STR_TO,
	IMAPD_SORT_STR_CC,
	IMAPD_SORT_STR_DISPLAYFROM,
	IMAPD_SORT_STR_DISPLAYTO,
	IMAPD_SORT_STR_COUNT,
};

struct imapd_sort_item {
	uint32_t uid, seq;
	time_t arrival, date;
	uint64_t size;
	char *str[IMAPD_SORT_STR_COUNT];	/* NULL when not needed */
};

struct imapd_sort_ctx {
	struct store *store;
	const struct imapd_search_params *p;
	const struct imap_sort *sort;
	bool need[IMAPD_SORT_STR_COUNT];
	bool need_env;
	struct imapd_sort_item *items;
	size_t n, cap;
};

static int
imapd_sort_str_of(enum imap_sort_key key)
{
	switch (key) {
	case IMAP_SORT_SUBJECT:
		return IMAPD_SORT_STR_SUBJECT;
	case IMAP_SORT_FROM:
		return IMAPD_SORT_STR_FROM;
	case IMAP_SORT_TO:
		return IMAPD_SORT_STR_TO;
	case IMAP_SORT_CC:
		return IMAPD_SORT_STR_CC;
	case IMAP_SORT_DISPLAYFROM:
		return IMAPD_SORT_STR_DISPLAYFROM;
	case IMAP_SORT_DISPLAYTO:
		return IMAPD_SORT_STR_DISPLAYTO;
	case IMAP_SORT_ARRIVAL:
	case IMAP_SORT_DATE:
	case IMAP_SORT_SIZE:
		break;
	}
	return -1;
}

static void
imapd_sort_collect(const struct store_message *msg, uint32_t seq,
    const struct mime_message *mime, void *ctx)
{
	struct imapd_sort_ctx *c = ctx;
	struct imapd_sort_item *it;
	struct imapd_sort_env env;

	(void)mime;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->items = xreallocarray(c->items, c->cap, sizeof(*c->items));
	}
	it = &c->items[c->n++];
	memset(it, 0, sizeof(*it));
	it->uid = msg->uid;
	it->seq = seq;
	it->arrival = msg->internal_date;
	it->size = msg->size;
	if (!c->need_env)
		return;
	/* an unreadable envelope sorts as one with every field missing */
	(void)imapd_sort_env_get(c->store, c->p->mailbox_id, msg, &env);
	it->date = imapd_sort_date(env.date, msg->internal_date);
	if (c->need[IMAPD_SORT_STR_SUBJECT])
		it->str[IMAPD_SORT_STR_SUBJECT] = imapd_sort_subject(
		    env.subject, NULL);
	if (c->need[IMAPD_SORT_STR_FROM])
		it->str[IMAPD_SORT_STR_FROM] = imapd_sort_addr_key(&env.from,
		    false);
	if (c->need[IMAPD_SORT_STR_TO])
		it->str[IMAPD_SORT_STR_TO] = imapd_sort_addr_key(&env.to,
		    false);
	if (c->need[IMAPD_SORT_STR_CC])
		it->str[IMAPD_SORT_STR_CC] = imapd_sort_addr_key(&env.cc,
		    false);
	if (c->need[IMAPD_SORT_STR_DISPLAYFROM])
		it->str[IMAPD_SORT_STR_DISPLAYFROM] = imapd_sort_addr_key(
		    &env.from, true);
	if (c->need[IMAPD_SORT_STR_DISPLAYTO])
		it->str[IMAPD_SORT_STR_DISPLAYTO] = imapd_sort_addr_key(
		    &env.to, true);
	imapd_sort_env_clear(&env);
}

static int
imapd_sort_cmp_num(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
imapd_sort_cmp_time(time_t a, time_t b)
{
	return a < b ? -1 : a > b;
}

static int
imapd_sort_cmp(const void *va, const void *vb, void *vctx)
{
	const struct imapd_sort_item *a = va, *b = vb;
	const struct imap_sort *sort = vctx;

	for (size_t i = 0; i < sort->n_criteria; i++) {
		enum imap_sort_key key = sort->criteria[i].key;
		int s = imapd_sort_str_of(key), r;

		if (s >= 0)
			r = strcmp(a->str[s], b->str[s]);
		else if (key == IMAP_SORT_ARRIVAL)
			r = imapd_sort_cmp_time(a->arrival, b->arrival);
		else if (key == IMAP_SORT_DATE)
			r = imapd_sort_cmp_time(a->date, b->date);
		else
			r = imapd_sort_cmp_num(a->size, b->size);
		if (r != 0)
			return sort->criteria[i].reverse ? -r : r;
	}
	/* RFC 5256 §3: ties by sequence number, REVERSE or not */
	return imapd_sort_cmp_num(a->seq, b->seq);
}

int
imapd_sort_run(struct store *store, const struct imapd_search_params *params,
    const struct imap_sort *sort, uint32_t **uids_r, size_t *n_r,
    char **error_r)
{
	struct imapd_sort_ctx c = { .store = store, .p = params, .sort = sort };
	unsigned items = 0;
	int rc;

	*uids_r = NULL;
	*n_r = 0;
	for (size_t i = 0; i < sort->n_criteria; i++) {
		int s = imapd_sort_str_of(sort->criteria[i].key);

		if (s >= 0)
			c.need[s] = true;
		if (s >= 0 || sort->criteria[i].key == IMAP_SORT_DATE)
			c.need_env = true;
	}
	if (c.need_env)
		items |= STORE_FETCH_ENVELOPE;
	rc = imapd_search_walk(store, params, &sort->search, items,
	    imapd_sort_collect, &c, error_r);
	if (rc == 0 && c.n > 0) {
		qsort_r(c.items, c.n, sizeof(*c.items), imapd_sort_cmp,
		    (void *)sort);
		*uids_r = xcalloc(c.n, sizeof(**uids_r));
		for (size_t i = 0; i < c.n; i++)
			(*uids_r)[i] = c.items[i].uid;
		*n_r = c.n;
	}
	for (size_t i = 0; i < c.n; i++)
		for (size_t s = 0; s < IMAPD_SORT_STR_COUNT; s++)
			free(c.items[i].str[s]);
	free(c.items);
	return rc;
}
