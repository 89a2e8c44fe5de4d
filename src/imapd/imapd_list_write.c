/* imapd_list_write.c — the LIST and LSUB answers (imapd_list.h).

   Without a subscription filter the mailboxes are walked as the store
   lists them. With one (LSUB, LIST (SUBSCRIBED)) the candidates are the
   subscribed names and their parents, since a subscription may name a
   mailbox that does not exist (\NonExistent, RFC 5258 §3.4) and a parent
   may have to be shown for its subscribed children: LSUB with '%' shows
   it \Noselect (RFC 3501 §6.3.9), LIST with RECURSIVEMATCH with
   CHILDINFO (RFC 5258 §3.5). Lookups are binary searches over sorted
   arrays, so the work is n log n in the number of names. */
#include "imapd/imapd_list.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_write.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_list_entry {
	const char *name;
	const struct store_mailbox *mb;	/* NULL: does not exist */
	bool subscribed;
	bool child_subscribed;		/* a subscribed descendant */
	bool lsub_parent;		/* LSUB: shown \Noselect */
};

/* The store's order: INBOX first, then by octets (SQLite BINARY). */
static int
imapd_list_write_cmp_names(const char *a, const char *b)
{
	bool ia = strcmp(a, "INBOX") == 0, ib = strcmp(b, "INBOX") == 0;

	if (ia || ib)
		return ia && ib ? 0 : ia ? -1 : 1;
	return strcmp(a, b);
}

static int
imapd_list_write_cmp_entry(const void *a, const void *b)
{
	const struct imapd_list_entry *ea = a, *eb = b;

	return imapd_list_write_cmp_names(ea->name, eb->name);
}

static int
imapd_list_write_cmp_mb(const void *a, const void *b)
{
	const struct store_mailbox *const *ma = a, *const *mb = b;

	return imapd_list_write_cmp_names((*ma)->name, (*mb)->name);
}

static bool
imapd_list_write_matches(const struct imapd_list_params *p, const char *name,
    size_t len)
{
	for (size_t i = 0; i < p->n_patterns; i++)
		if (imapd_list_match(&p->patterns[i], name, len))
			return true;
	return false;
}

static int
imapd_list_write_special(struct buf *out, unsigned special, const char **sep)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ STORE_SPECIAL_ALL, "\\All" },
		{ STORE_SPECIAL_ARCHIVE, "\\Archive" },
		{ STORE_SPECIAL_DRAFTS, "\\Drafts" },
		{ STORE_SPECIAL_FLAGGED, "\\Flagged" },
		{ STORE_SPECIAL_JUNK, "\\Junk" },
		{ STORE_SPECIAL_SENT, "\\Sent" },
		{ STORE_SPECIAL_TRASH, "\\Trash" },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((special & names[i].bit) == 0)
			continue;
		ret |= buf_printf(out, "%s%s", *sep, names[i].name);
		*sep = " ";
	}
	return ret;
}

static int
imapd_list_write_entry(const struct imapd_list_params *p,
    const struct imapd_list_entry *e, struct buf *out)
{
	const char *sep = "";
	int ret = 0;

	ret |= buf_append_str(out, p->lsub ? "* LSUB (" : "* LIST (");
	if (p->lsub) {
		/* Dovecot: "()" for a subscription, \Noselect for a parent
		   shown for its subscribed children. */
		if (!e->subscribed)
			ret |= buf_append_str(out, "\\Noselect");
	} else {
		if (e->mb == NULL) {
			ret |= buf_append_str(out, "\\NonExistent");
			sep = " ";
		}
		if ((p->ret & IMAPD_LIST_RET_SUBSCRIBED) != 0 &&
		    e->subscribed) {
			ret |= buf_printf(out, "%s\\Subscribed", sep);
			sep = " ";
		}
		/* Always, as Dovecot (RFC 9051 makes CHILDREN implied). */
		if (e->mb != NULL) {
			ret |= buf_printf(out, "%s%s", sep,
			    e->mb->has_children ? "\\HasChildren" :
			    "\\HasNoChildren");
			sep = " ";
			ret |= imapd_list_write_special(out,
			    e->mb->special_use, &sep);
		}
	}
	ret |= buf_append_str(out, ") \"/\" ");
	ret |= imap_write_mailbox(out, e->name, p->view.utf8);
	if (!p->lsub && (p->select & IMAPD_LIST_SEL_RECURSIVEMATCH) != 0 &&
	    e->child_subscribed)
		ret |= buf_append_str(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	ret |= buf_append_str(out, "\r\n");
	if (!p->lsub && (p->ret & IMAPD_LIST_RET_STATUS) != 0 &&
	    e->mb != NULL)
		ret |= imapd_status_write(out, e->mb, p->status_items,
		    &p->view);
	return ret == 0 ? 0 : -1;
}

/* Without a subscription filter: every mailbox, in the store's order. */
static int
imapd_list_write_all(const struct imapd_list_params *p,
    const struct store_mailbox *mbs, size_t n_mbs, struct buf *out)
{
	for (size_t i = 0; i < n_mbs; i++) {
		const struct store_mailbox *mb = &mbs[i];
		struct imapd_list_entry e = {
			.name = mb->name, .mb = mb,
			.subscribed = mb->subscribed,
		};

		if ((p->select & IMAPD_LIST_SEL_SPECIAL_USE) != 0 &&
		    mb->special_use == 0)
			continue;
		if (!imapd_list_write_matches(p, mb->name, strlen(mb->name)))
			continue;
		if (imapd_list_write_entry(p, &e, out) == -1)
			return -1;
	}
	return 0;
}

static struct imapd_list_entry *
imapd_list_write_find(struct imapd_list_entry *ents, size_t n,
    const char *name)
{
	struct imapd_list_entry key = { .name = name };

	return bsearch(&key, ents, n, sizeof(*ents),
	    imapd_list_write_cmp_entry);
}

/* The subscribed names and all their parents, sorted, unique. Parent
   names are heap copies kept in *owned_r. */
static struct imapd_list_entry *
imapd_list_write_candidates(char *const *subs, size_t n_subs, size_t *n_r,
    char ***owned_r, size_t *n_owned_r)
{
	struct imapd_list_entry *ents = NULL;
	char **owned = NULL;
	size_t n = 0, cap = 0, n_owned = 0, cap_owned = 0, w = 0;

	for (size_t i = 0; i < n_subs; i++) {
		const char *name = subs[i];
		size_t full = strlen(name);

		for (size_t len = full; len > 0; ) {
			const char *slash;
			bool parent = len < full;

			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				ents = xreallocarray(ents, cap, sizeof(*ents));
			}
			if (parent) {
				if (n_owned == cap_owned) {
					cap_owned = cap_owned == 0 ? 16 :
					    cap_owned * 2;
					owned = xreallocarray(owned,
					    cap_owned, sizeof(*owned));
				}
				owned[n_owned] = xstrndup(name, len);
				name = owned[n_owned++];
			}
			ents[n++] = (struct imapd_list_entry){
				.name = name, .subscribed = !parent,
				.child_subscribed = parent,
			};
			/* Up one level (names have at most 16). */
			slash = memrchr(name, '/', len);
			len = slash == NULL ? 0 : (size_t)(slash - name);
		}
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), imapd_list_write_cmp_entry);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && imapd_list_write_cmp_entry(&ents[w - 1],
		    &ents[i]) == 0) {
			ents[w - 1].subscribed |= ents[i].subscribed;
			ents[w - 1].child_subscribed |=
			    ents[i].child_subscribed;
			continue;
		}
		ents[w++] = ents[i];
	}
	*n_r = w;
	*owned_r = owned;
	*n_owned_r = n_owned;
	return ents;
}

/* RFC 3501 §6.3.9: a subscription that a '%' of the pattern stops short
   of (the pattern with '*' for '%' would match it) shows its nearest
   parent the pattern matches, \Noselect unless subscribed itself. */
static void
imapd_list_write_lsub_parents(const struct imapd_list_params *p,
    struct imapd_list_entry *ents, size_t n)
{
	for (size_t k = 0; k < p->n_patterns; k++) {
		const struct imapd_list_pattern *pat = &p->patterns[k];
		struct imapd_list_pattern star = *pat;

		if (memchr(pat->text, '%', pat->len) == NULL)
			continue;
		star.text = xstrdup(pat->text);
		for (char *c = star.text; *c != '\0'; c++)
			if (*c == '%')
				*c = '*';
		for (size_t i = 0; i < n; i++) {
			const char *name = ents[i].name, *slash;
			size_t len = strlen(name);

			if (!ents[i].subscribed ||
			    imapd_list_match(pat, name, len) ||
			    !imapd_list_match(&star, name, len))
				continue;
			while ((slash = memrchr(name, '/', len)) != NULL) {
				len = (size_t)(slash - name);
				if (!imapd_list_match(pat, name, len))
					continue;
				char *parent = xstrndup(name, len);
				struct imapd_list_entry *e =
				    imapd_list_write_find(ents, n, parent);

				free(parent);
				if (e != NULL)
					e->lsub_parent = true;
				break;
			}
		}
		free(star.text);
	}
}

static int
imapd_list_write_subscribed(const struct imapd_list_params *p,
    const struct store_mailbox *mbs, size_t n_mbs, char *const *subs,
    size_t n_subs, struct buf *out)
{
	const struct store_mailbox **sorted;
	struct imapd_list_entry *ents;
	char **owned;
	size_t n, n_owned;
	int ret = 0;

	ents = imapd_list_write_candidates(subs, n_subs, &n, &owned,
	    &n_owned);
	sorted = xreallocarray(NULL, n_mbs + 1, sizeof(*sorted));
	for (size_t i = 0; i < n_mbs; i++)
		sorted[i] = &mbs[i];
	qsort(sorted, n_mbs, sizeof(*sorted), imapd_list_write_cmp_mb);
	for (size_t i = 0; i < n; i++) {
		struct store_mailbox key = { .name = (char *)ents[i].name };
		const struct store_mailbox *kp = &key, **found;

		found = bsearch(&kp, sorted, n_mbs, sizeof(*sorted),
		    imapd_list_write_cmp_mb);
		ents[i].mb = found != NULL ? *found : NULL;
	}
	if (p->lsub)
		imapd_list_write_lsub_parents(p, ents, n);
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct imapd_list_entry *e = &ents[i];
		bool show;

		if (p->lsub)
			show = e->lsub_parent || (e->subscribed &&
			    imapd_list_write_matches(p, e->name,
			    strlen(e->name)));
		else
			show = (e->subscribed || ((p->select &
			    IMAPD_LIST_SEL_RECURSIVEMATCH) != 0 &&
			    e->child_subscribed)) &&
			    ((p->select & IMAPD_LIST_SEL_SPECIAL_USE) == 0 ||
			    (e->mb != NULL && e->mb->special_use != 0)) &&
			    imapd_list_write_matches(p, e->name,
			    strlen(e->name));
		if (show)
			ret = imapd_list_write_entry(p, e, out);
	}
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	free(sorted);
	free(ents);
	return ret;
}

int
imapd_list_write(const struct imapd_list_params *p,
    const struct store_mailbox *mbs, size_t n_mbs, char *const *subs,
    size_t n_subs, struct buf *out)
{
	if (p->root_only)
		return buf_append_str(out,
		    "* LIST (\\Noselect) \"/\" \"\"\r\n");
	if (!imapd_list_needs_subscriptions(p))
		return imapd_list_write_all(p, mbs, n_mbs, out);
	return imapd_list_write_subscribed(p, mbs, n_mbs, subs, n_subs, out);
}
