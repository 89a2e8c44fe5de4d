/* imapd_fetch.c — the FETCH answer loop (imapd_fetch.h). Messages are
   taken in batches: one store_fetch for their metadata (flags, dates,
   sizes, cached ENVELOPE/BODYSTRUCTURE: no file is opened for those),
   one store_flags for the \Seen a non-peek section sets, then each
   message is answered item by item. A section's literal is copied from
   the mapped file into out a chunk at a time, so the loop can stop in
   the middle of one and resume on the next run.

   Answer order is Dovecot's (imap-fetch.c): UID first in a UID FETCH,
   then the "buffered" items (FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ,
   ids, dates, BINARY.SIZE) in the order asked, then the others
   (ENVELOPE, BODY, BODYSTRUCTURE, sections) in the order asked; a
   repeated simple item is answered once. FLAGS implied by \Seen comes
   last among the buffered ones and only for messages it changed. */
#include "imapd/imapd_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch_items.h"
#include "imap/imap_write.h"
#include "imapd/imapd_fetch_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

/* Messages per store_fetch: few enough that their cached strings stay
   small, enough that a FLAGS fetch of a big mailbox is a few queries. */
#define IMAPD_FETCH_BATCH 256

enum imapd_fetch_plan_kind {
	PLAN_ATT,		/* items->atts[att] */
	PLAN_UID,		/* UID FETCH's implied UID */
	PLAN_SEEN_FLAGS,	/* FLAGS when \Seen changed */
	PLAN_MODSEQ,		/* CONDSTORE / CHANGEDSINCE implied MODSEQ */
};

struct imapd_fetch_plan {
	enum imapd_fetch_plan_kind kind;
	const struct imap_fetch_att *att;
};

struct imapd_fetch_meta {
	uint32_t uid, seq;
	bool found, seen_changed;
	struct store_message m;		/* strings below, heap */
	char *keywords;			/* NULL: none */
	char *emailid, *threadid, *envelope, *body, *bs;
};

struct imapd_fetch {
	struct imapd_fetch_params p;
	struct imapd_fetch_plan *plan;
	size_t n_plan;
	unsigned store_items;
	bool need_file, header_only, has_binary, flags_in_plan;

	size_t next;			/* params index of the next batch */
	struct imapd_fetch_meta *batch;
	size_t n_batch, pos;

	/* The message being answered. */
	bool in_msg;
	size_t plan_pos;
	bool file_open;
	struct imapd_fetch_file file;
	struct buf *decoded;		/* per plan item, BINARY only */
	bool *literal8;			/* per plan item, BINARY only */
	/* A literal being copied. */
	const char *lit;
	size_t lit_len, lit_pos;
	bool lit_nul80;
	struct buf tmp;

	size_t missing;
	uint64_t modseq;
	uint32_t *rep_uids;
	uint64_t *rep_modseqs;
	size_t n_rep, cap_rep;
	char text[128];
};

static bool
imapd_fetch_is_buffered(enum imap_fetch_type t)
{
	switch (t) {
	case IMAP_FETCH_FLAGS:
	case IMAP_FETCH_INTERNALDATE:
	case IMAP_FETCH_RFC822_SIZE:
	case IMAP_FETCH_UID:
	case IMAP_FETCH_MODSEQ:
	case IMAP_FETCH_EMAILID:
	case IMAP_FETCH_THREADID:
	case IMAP_FETCH_SAVEDATE:
	case IMAP_FETCH_BINARY_SIZE:
		return true;
	default:
		return false;
	}
}

static bool
imapd_fetch_is_section(enum imap_fetch_type t)
{
	return t == IMAP_FETCH_RFC822 || t == IMAP_FETCH_RFC822_HEADER ||
	    t == IMAP_FETCH_RFC822_TEXT || t == IMAP_FETCH_BODY_SECTION ||
	    t == IMAP_FETCH_BINARY || t == IMAP_FETCH_BINARY_SIZE;
}

/* Whether a section reads only the top-level header. */
static bool
imapd_fetch_is_top_header(const struct imap_fetch_att *a)
{
	if (a->type == IMAP_FETCH_RFC822_HEADER)
		return true;
	return a->type == IMAP_FETCH_BODY_SECTION &&
	    (a->part == NULL || a->part[0] == '\0') &&
	    (a->kind == IMAP_SECTION_HEADER ||
	    a->kind == IMAP_SECTION_HEADER_FIELDS ||
	    a->kind == IMAP_SECTION_HEADER_FIELDS_NOT);
}

static bool
imapd_fetch_planned(const struct imapd_fetch *f, enum imap_fetch_type t)
{
	for (size_t i = 0; i < f->n_plan; i++) {
		if (f->plan[i].kind == PLAN_ATT && f->plan[i].att->type == t)
			return true;
		if (t == IMAP_FETCH_UID && f->plan[i].kind == PLAN_UID)
			return true;
	}
	return false;
}

/* Inserts at the end of the buffered group (buffered) or at the end. */
static void
imapd_fetch_plan_add(struct imapd_fetch *f, enum imapd_fetch_plan_kind kind,
    const struct imap_fetch_att *att, bool buffered)
{
	size_t at = f->n_plan;

	if (buffered) {
		at = 0;
		while (at < f->n_plan && (f->plan[at].kind != PLAN_ATT ||
		    imapd_fetch_is_buffered(f->plan[at].att->type)))
			at++;
	}
	memmove(&f->plan[at + 1], &f->plan[at],
	    (f->n_plan - at) * sizeof(*f->plan));
	f->plan[at].kind = kind;
	f->plan[at].att = att;
	f->n_plan++;
}

static void
imapd_fetch_make_plan(struct imapd_fetch *f)
{
	const struct imap_fetch_items *items = f->p.items;

	f->plan = xcalloc(items->n + 4, sizeof(*f->plan));
	if (f->p.uid_command)
		imapd_fetch_plan_add(f, PLAN_UID, NULL, true);
	f->header_only = true;
	for (size_t i = 0; i < items->n; i++) {
		const struct imap_fetch_att *a = &items->atts[i];

		if (!imapd_fetch_is_section(a->type) &&
		    imapd_fetch_planned(f, a->type))
			continue;	/* answered once, as Dovecot */
		imapd_fetch_plan_add(f, PLAN_ATT, a,
		    imapd_fetch_is_buffered(a->type));
		switch (a->type) {
		case IMAP_FETCH_FLAGS:
		case IMAP_FETCH_MODSEQ:
			f->store_items |= STORE_FETCH_FLAGS;
			break;
		case IMAP_FETCH_INTERNALDATE:
		case IMAP_FETCH_SAVEDATE:
			f->store_items |= STORE_FETCH_DATES;
			break;
		case IMAP_FETCH_RFC822_SIZE:
			f->store_items |= STORE_FETCH_SIZE;
			break;
		case IMAP_FETCH_EMAILID:
		case IMAP_FETCH_THREADID:
			f->store_items |= STORE_FETCH_IDS;
			break;
		case IMAP_FETCH_ENVELOPE:
			f->store_items |= STORE_FETCH_ENVELOPE;
			break;
		case IMAP_FETCH_BODY:
			f->store_items |= STORE_FETCH_BODY;
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
			f->store_items |= STORE_FETCH_BODYSTRUCTURE;
			break;
		case IMAP_FETCH_UID:
			break;
		default:
			f->need_file = true;
			if (a->type == IMAP_FETCH_BINARY ||
			    a->type == IMAP_FETCH_BINARY_SIZE)
				f->has_binary = true;
			if (!imapd_fetch_is_top_header(a))
				f->header_only = false;
			break;
		}
	}
	f->flags_in_plan = imapd_fetch_planned(f, IMAP_FETCH_FLAGS);
	if (items->sets_seen && !f->p.readonly && !f->flags_in_plan)
		imapd_fetch_plan_add(f, PLAN_SEEN_FLAGS, NULL, true);
	/* RFC 7162 §3.1.4.1: MODSEQ with FLAGS once CONDSTORE is on;
	   CHANGEDSINCE implies MODSEQ (Dovecot, RFC 7162 §3.1.4) */
	if (!imapd_fetch_planned(f, IMAP_FETCH_MODSEQ) &&
	    (items->changedsince_set || (f->p.condstore &&
	    (f->flags_in_plan || items->sets_seen))))
		imapd_fetch_plan_add(f, PLAN_MODSEQ, NULL, true);
	/* flags are read for \Seen and the CHANGEDSINCE filter too */
	f->store_items |= STORE_FETCH_FLAGS;
}

struct imapd_fetch *
imapd_fetch_new(const struct imapd_fetch_params *params)
{
	struct imapd_fetch *f = xcalloc(1, sizeof(*f));

	f->p = *params;
	buf_init(&f->tmp, 0);
	imapd_fetch_make_plan(f);
	f->decoded = xcalloc(f->n_plan, sizeof(*f->decoded));
	f->literal8 = xcalloc(f->n_plan, sizeof(*f->literal8));
	for (size_t i = 0; i < f->n_plan; i++)
		buf_init(&f->decoded[i], 0);
	return f;
}

static void
imapd_fetch_batch_free(struct imapd_fetch *f)
{
	for (size_t i = 0; i < f->n_batch; i++) {
		struct imapd_fetch_meta *m = &f->batch[i];

		free(m->keywords);
		free(m->emailid);
		free(m->threadid);
		free(m->envelope);
		free(m->body);
		free(m->bs);
	}
	free(f->batch);
	f->batch = NULL;
	f->n_batch = f->pos = 0;
}

static void
imapd_fetch_msg_end(struct imapd_fetch *f)
{
	if (f->file_open)
		imapd_fetch_file_close(&f->file);
	f->file_open = false;
	for (size_t i = 0; i < f->n_plan; i++)
		buf_clear(&f->decoded[i]);
	buf_clear(&f->tmp);
	f->lit = NULL;
	f->lit_len = f->lit_pos = 0;
	f->in_msg = false;
	f->plan_pos = 0;
}

void
imapd_fetch_free(struct imapd_fetch **fetch)
{
	struct imapd_fetch *f = *fetch;

	if (f == NULL)
		return;
	*fetch = NULL;
	imapd_fetch_msg_end(f);
	imapd_fetch_batch_free(f);
	free(f->decoded);
	free(f->literal8);
	free(f->plan);
	free(f->rep_uids);
	free(f->rep_modseqs);
	free(f);
}

size_t
imapd_fetch_missing(const struct imapd_fetch *fetch)
{
	return fetch->missing;
}

uint64_t
imapd_fetch_modseq(const struct imapd_fetch *fetch)
{
	return fetch->modseq;
}

size_t
imapd_fetch_reported(const struct imapd_fetch *fetch,
    const uint32_t **uids_r, const uint64_t **modseqs_r)
{
	*uids_r = fetch->rep_uids;
	*modseqs_r = fetch->rep_modseqs;
	return fetch->n_rep;
}

void
imapd_fetch_reported_clear(struct imapd_fetch *fetch)
{
	fetch->n_rep = 0;
}

static void
imapd_fetch_report(struct imapd_fetch *f, uint32_t uid, uint64_t modseq)
{
	if (f->n_rep == f->cap_rep) {
		f->cap_rep = f->cap_rep ? f->cap_rep * 2 : 64;
		f->rep_uids = xreallocarray(f->rep_uids, f->cap_rep,
		    sizeof(*f->rep_uids));
		f->rep_modseqs = xreallocarray(f->rep_modseqs, f->cap_rep,
		    sizeof(*f->rep_modseqs));
	}
	f->rep_uids[f->n_rep] = uid;
	f->rep_modseqs[f->n_rep++] = modseq;
}

/* prefix, v in decimal, suffix: the per-message numbers without
   printf, whose format parsing was a fifth of FETCH 1:* (FLAGS UID). */
static void
imapd_fetch_number(struct buf *out, const char *prefix, uint64_t v,
    const char *suffix)
{
	char digits[24], line[64];
	size_t n = sizeof(digits), pl = strlen(prefix), sl = strlen(suffix);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (pl + (sizeof(digits) - n) + sl > sizeof(line)) {
		/* longer than any literal the callers pass: unreachable */
		(void)buf_append_str(out, prefix);
		(void)buf_append(out, digits + n, sizeof(digits) - n);
		(void)buf_append_str(out, suffix);
		return;
	}
	/* one append: the buffer's bookkeeping once per item */
	memcpy(line, prefix, pl);
	memcpy(line + pl, digits + n, sizeof(digits) - n);
	memcpy(line + pl + sizeof(digits) - n, suffix, sl);
	(void)buf_append(out, line, pl + sizeof(digits) - n + sl);
}

/* --- batches ----------------------------------------------------------- */

static char *
imapd_fetch_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Binary search: the batch entry of uid, or NULL. */
static struct imapd_fetch_meta *
imapd_fetch_find(struct imapd_fetch *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n_batch;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->batch[mid].uid == uid)
			return &f->batch[mid];
		if (f->batch[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
imapd_fetch_meta_cb(const struct store_message *msg, void *ctx)
{
	struct imapd_fetch *f = ctx;
	struct imapd_fetch_meta *m = imapd_fetch_find(f, msg->uid);

	if (m == NULL)
		return 0;
	m->found = true;
	m->m = *msg;
	/* NULL for none (most messages): no allocation per message */
	m->keywords = msg->keywords != NULL && msg->keywords[0] != '\0' ?
	    xstrdup(msg->keywords) : NULL;
	m->emailid = imapd_fetch_dup(msg->emailid);
	m->threadid = imapd_fetch_dup(msg->threadid);
	m->envelope = imapd_fetch_dup(msg->envelope);
	m->body = imapd_fetch_dup(msg->body);
	m->bs = imapd_fetch_dup(msg->bodystructure);
	m->m.path = NULL;
	return 0;
}

static void
imapd_fetch_seen_cb(uint32_t uid, unsigned flags, const char *keywords,
    uint64_t modseq, void *ctx)
{
	struct imapd_fetch *f = ctx;
	struct imapd_fetch_meta *m = imapd_fetch_find(f, uid);

	(void)keywords;
	if (modseq > f->modseq)
		f->modseq = modseq;
	if (m == NULL || !m->found)
		return;
	m->m.flags = flags;
	m->m.modseq = modseq;
	m->seen_changed = true;
}

/* UID ranges of the entries of the batch for which want(m) holds. */
static size_t
imapd_fetch_ranges(struct imapd_fetch *f, struct store_range *r,
    bool (*want)(const struct imapd_fetch *, const struct imapd_fetch_meta *))
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_batch; i++) {
		uint32_t uid = f->batch[i].uid;

		if (want != NULL && !want(f, &f->batch[i]))
			continue;
		if (n > 0 && r[n - 1].hi + 1 == uid)
			r[n - 1].hi = uid;
		else
			r[n++] = (struct store_range){ uid, uid };
	}
	return n;
}

static bool
imapd_fetch_wanted(const struct imapd_fetch *f,
    const struct imapd_fetch_meta *m)
{
	return m->found && (!f->p.items->changedsince_set ||
	    m->m.modseq > f->p.items->changedsince);
}

static bool
imapd_fetch_needs_seen(const struct imapd_fetch *f,
    const struct imapd_fetch_meta *m)
{
	return imapd_fetch_wanted(f, m) && (m->m.flags & STORE_FLAG_SEEN) == 0;
}

static int
imapd_fetch_load_batch(struct imapd_fetch *f, struct store *store)
{
	size_t n = f->p.n - f->next, n_ranges;
	struct store_range *ranges;
	int rc;

	imapd_fetch_batch_free(f);
	if (n > IMAPD_FETCH_BATCH)
		n = IMAPD_FETCH_BATCH;
	f->batch = xcalloc(n, sizeof(*f->batch));
	for (size_t i = 0; i < n; i++) {
		f->batch[i].uid = f->p.uids[f->next + i];
		f->batch[i].seq = f->p.seqs[f->next + i];
	}
	f->n_batch = n;
	f->next += n;
	ranges = xcalloc(n, sizeof(*ranges));
	n_ranges = imapd_fetch_ranges(f, ranges, NULL);
	rc = store_fetch(store, f->p.mailbox_id, ranges, n_ranges,
	    f->store_items, imapd_fetch_meta_cb, f);
	if (rc == STORE_OK && f->p.items->sets_seen && !f->p.readonly) {
		n_ranges = imapd_fetch_ranges(f, ranges,
		    imapd_fetch_needs_seen);
		if (n_ranges > 0)
			rc = store_flags(store, f->p.mailbox_id, ranges,
			    n_ranges, STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL,
			    0, imapd_fetch_seen_cb, f, NULL, NULL);
	}
	free(ranges);
	return rc;
}

/* --- one message --------------------------------------------------------- */

static void
imapd_fetch_start_literal(struct imapd_fetch *f, struct buf *out,
    const char *data, size_t len, const struct imap_fetch_att *a,
    bool literal8, bool nul80)
{
	if (a->partial) {
		size_t start = a->offset < len ? (size_t)a->offset : len;
		size_t n = len - start;

		if (a->count < n)
			n = (size_t)a->count;
		data += start;
		len = n;
	}
	(void)buf_printf(out, "%s{%zu}\r\n", literal8 ? "~" : "", len);
	f->lit = data;
	f->lit_len = len;
	f->lit_pos = 0;
	f->lit_nul80 = nul80;
}

/* Copies the literal into out up to chunk; true when it is complete. */
static bool
imapd_fetch_copy_literal(struct imapd_fetch *f, struct buf *out, size_t chunk)
{
	while (f->lit_pos < f->lit_len) {
		size_t room = out->len < chunk ? chunk - out->len : 0;
		size_t n = f->lit_len - f->lit_pos;
		const char *p = f->lit + f->lit_pos;

		if (room == 0)
			return false;
		if (n > room)
			n = room;
		if (!f->lit_nul80) {
			(void)buf_append(out, p, n);
		} else {
			/* RFC 9051 §4.3: no NUL in a literal; Dovecot
			   sends 0x80 instead */
			const char *nul = memchr(p, '\0', n);

			if (nul != NULL)
				n = (size_t)(nul - p);
			(void)buf_append(out, p, n);
			if (nul != NULL) {
				(void)buf_append(out, "\x80", 1);
				n++;
			}
		}
		f->lit_pos += n;
	}
	f->lit = NULL;
	return true;
}

static const char *
imapd_fetch_att_name(const struct imap_fetch_att *a)
{
	if (a->name != NULL)
		return a->name;
	switch (a->type) {
	case IMAP_FETCH_RFC822:
		return "RFC822";
	case IMAP_FETCH_RFC822_HEADER:
		return "RFC822.HEADER";
	case IMAP_FETCH_RFC822_TEXT:
		return "RFC822.TEXT";
	default:
		return "BODY[]";
	}
}

/* ENVELOPE / BODY / BODYSTRUCTURE: the cached string, or computed from
   the file when it was too large to cache. */
static int
imapd_fetch_structure(struct imapd_fetch *f, struct store *store,
    struct buf *out, const char *name, const char *cached, int what,
    uint32_t uid)
{
	(void)buf_printf(out, "%s ", name);
	if (cached != NULL) {
		(void)buf_append_str(out, cached);
		return 0;
	}
	if (!f->file_open || f->file.header_only) {
		if (f->file_open)
			imapd_fetch_file_close(&f->file);
		f->file_open = false;
		if (imapd_fetch_file_open(store, f->p.mailbox_id, uid, false,
		    &f->file) != 0)
			return -1;
		f->file_open = true;
	}
	if (what == 0)
		return mime_envelope(f->file.mime, 0, out);
	return mime_bodystructure(f->file.mime, 0, what == 2, out);
}

/* Decodes every BINARY item of the message before a byte of its answer
   is written, so that an undecodable part fails the FETCH cleanly. */
static enum imapd_fetch_status
imapd_fetch_decode_all(struct imapd_fetch *f)
{
	for (size_t i = 0; i < f->n_plan; i++) {
		const struct imap_fetch_att *a = f->plan[i].att;
		const char *data;
		size_t len;
		int ret;

		if (f->plan[i].kind != PLAN_ATT ||
		    (a->type != IMAP_FETCH_BINARY &&
		    a->type != IMAP_FETCH_BINARY_SIZE))
			continue;
		ret = imapd_fetch_section(&f->file, a, &f->decoded[i], &data,
		    &len, &f->literal8[i]);
		if (ret == -1) {
			snprintf(f->text, sizeof(f->text), "[UNKNOWN-CTE] "
			    "Unknown Content-Transfer-Encoding");
			return IMAPD_FETCH_NO;
		}
		if (ret < 0) {
			snprintf(f->text, sizeof(f->text), "[PARSE] "
			    "Invalid data in MIME part");
			return IMAPD_FETCH_NO;
		}
	}
	return IMAPD_FETCH_DONE;
}

/* Starts the answer of m: opens the file when needed. 1: gone. */
static int
imapd_fetch_msg_begin(struct imapd_fetch *f, struct store *store,
    const struct imapd_fetch_meta *m, struct buf *out,
    enum imapd_fetch_status *status_r)
{
	int rc;

	*status_r = IMAPD_FETCH_DONE;
	if (f->need_file) {
		rc = imapd_fetch_file_open(store, f->p.mailbox_id, m->uid,
		    f->header_only, &f->file);
		if (rc != 0)
			return rc;
		f->file_open = true;
		if (f->has_binary &&
		    (*status_r = imapd_fetch_decode_all(f)) != IMAPD_FETCH_DONE)
			return -1;
	}
	imapd_fetch_number(out, "* ", m->seq, " FETCH (");
	f->in_msg = true;
	f->plan_pos = 0;
	return 0;
}

/* Writes plan item i of m (a literal is started, not finished). Returns
   0, or -1 on an error with f->text set. Sets *wrote_r. */
static int
imapd_fetch_item(struct imapd_fetch *f, struct store *store,
    const struct imapd_fetch_meta *m, size_t i, struct buf *out,
    bool *first)
{
	const struct imapd_fetch_plan *pl = &f->plan[i];
	const struct imap_fetch_att *a = pl->att;
	bool recent = f->p.recent_min != 0 && m->uid >= f->p.recent_min &&
	    (f->p.recent_max == 0 || m->uid < f->p.recent_max);
	bool flags_told = false;

	if (pl->kind == PLAN_SEEN_FLAGS && !m->seen_changed)
		return 0;
	if (pl->kind == PLAN_MODSEQ && !f->p.items->changedsince_set &&
	    !f->flags_in_plan && !m->seen_changed)
		return 0;
	if (!*first)
		(void)buf_append(out, " ", 1);
	*first = false;
	switch (pl->kind) {
	case PLAN_UID:
		imapd_fetch_number(out, "UID ", m->uid, "");
		return 0;
	case PLAN_SEEN_FLAGS:
		(void)buf_append_str(out, "FLAGS ");
		(void)imap_write_flags(out, m->m.flags, m->keywords, recent);
		imapd_fetch_report(f, m->uid, m->m.modseq);
		return 0;
	case PLAN_MODSEQ:
		imapd_fetch_number(out, "MODSEQ (", m->m.modseq, ")");
		return 0;
	case PLAN_ATT:
		break;
	}
	switch (a->type) {
	case IMAP_FETCH_FLAGS:
		(void)buf_append_str(out, "FLAGS ");
		(void)imap_write_flags(out, m->m.flags, m->keywords, recent);
		flags_told = true;
		break;
	case IMAP_FETCH_UID:
		imapd_fetch_number(out, "UID ", m->uid, "");
		break;
	case IMAP_FETCH_MODSEQ:
		imapd_fetch_number(out, "MODSEQ (", m->m.modseq, ")");
		break;
	case IMAP_FETCH_INTERNALDATE:
		(void)buf_append_str(out, "INTERNALDATE ");
		(void)imap_write_date_time(out, m->m.internal_date);
		break;
	case IMAP_FETCH_SAVEDATE:
		(void)buf_append_str(out, "SAVEDATE ");
		if (m->m.save_date == 0)
			(void)buf_append_str(out, "NIL");
		else
			(void)imap_write_date_time(out, m->m.save_date);
		break;
	case IMAP_FETCH_RFC822_SIZE:
		imapd_fetch_number(out, "RFC822.SIZE ", m->m.size, "");
		break;
	case IMAP_FETCH_EMAILID:
		(void)buf_printf(out, "EMAILID (%s)",
		    m->emailid != NULL ? m->emailid : "");
		break;
	case IMAP_FETCH_THREADID:
		if (m->threadid != NULL && m->threadid[0] != '\0')
			(void)buf_printf(out, "THREADID (%s)", m->threadid);
		else
			(void)buf_append_str(out, "THREADID NIL");
		break;
	case IMAP_FETCH_ENVELOPE:
		if (imapd_fetch_structure(f, store, out, "ENVELOPE",
		    m->envelope, 0, m->uid) < 0)
			return -1;
		break;
	case IMAP_FETCH_BODY:
		if (imapd_fetch_structure(f, store, out, "BODY", m->body, 1,
		    m->uid) < 0)
			return -1;
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
		if (imapd_fetch_structure(f, store, out, "BODYSTRUCTURE",
		    m->bs, 2, m->uid) < 0)
			return -1;
		break;
	case IMAP_FETCH_BINARY_SIZE:
		(void)buf_printf(out, "%s %zu", imapd_fetch_att_name(a),
		    f->decoded[i].len);
		break;
	case IMAP_FETCH_BINARY:
		/* decoded by imapd_fetch_decode_all */
		(void)buf_printf(out, "%s ", imapd_fetch_att_name(a));
		imapd_fetch_start_literal(f, out, f->decoded[i].data != NULL ?
		    f->decoded[i].data : "", f->decoded[i].len, a,
		    f->literal8[i], false);
		break;
	default: {
		const char *data;
		size_t len;
		bool l8;

		if (imapd_fetch_section(&f->file, a, &f->tmp, &data, &len,
		    &l8) < 0)
			return -1;
		(void)buf_printf(out, "%s ", imapd_fetch_att_name(a));
		imapd_fetch_start_literal(f, out, data, len, a, false, true);
		break;
	}
	}
	if (flags_told)
		imapd_fetch_report(f, m->uid, m->m.modseq);
	return 0;
}

enum imapd_fetch_status
imapd_fetch_run(struct imapd_fetch *fetch, struct store *store,
    struct buf *out, size_t chunk, const char **text_r)
{
	struct imapd_fetch *f = fetch;
	enum imapd_fetch_status status;

	*text_r = NULL;
	for (;;) {
		struct imapd_fetch_meta *m;
		bool first;

		if (f->lit != NULL && !imapd_fetch_copy_literal(f, out, chunk))
			return IMAPD_FETCH_MORE;
		if (!f->in_msg) {
			if (out->len >= chunk)
				return IMAPD_FETCH_MORE;
			if (f->pos == f->n_batch) {
				if (f->next == f->p.n)
					return IMAPD_FETCH_DONE;
				if (imapd_fetch_load_batch(f, store) != 0) {
					*text_r = "[SERVERBUG] Internal error "
					    "reading the mailbox";
					return IMAPD_FETCH_NO;
				}
				continue;
			}
			m = &f->batch[f->pos];
			if (!m->found) {
				f->missing++;
				f->pos++;
				continue;
			}
			if (!imapd_fetch_wanted(f, m)) {
				f->pos++;
				continue;
			}
			switch (imapd_fetch_msg_begin(f, store, m, out,
			    &status)) {
			case 0:
				break;
			case 1:		/* expunged meanwhile */
				f->missing++;
				f->pos++;
				continue;
			default:
				imapd_fetch_msg_end(f);
				*text_r = status == IMAPD_FETCH_NO ? f->text :
				    "[SERVERBUG] Internal error reading a "
				    "message";
				return IMAPD_FETCH_NO;
			}
		}
		m = &f->batch[f->pos];
		first = out->len >= 1 && out->data[out->len - 1] == '(';
		first = first && f->plan_pos == 0;
		while (f->plan_pos < f->n_plan) {
			size_t i = f->plan_pos++;

			if (imapd_fetch_item(f, store, m, i, out, &first) < 0) {
				imapd_fetch_msg_end(f);
				*text_r = "[SERVERBUG] Internal error reading "
				    "a message";
				return IMAPD_FETCH_NO;
			}
			if (f->lit != NULL &&
			    !imapd_fetch_copy_literal(f, out, chunk))
				return IMAPD_FETCH_MORE;
		}
		(void)buf_append(out, ")\r\n", 3);
		imapd_fetch_msg_end(f);
		f->pos++;
	}
}
