/* store_flags.c — STORE (RFC 9051 §6.4.6) with CONDSTORE's UNCHANGEDSINCE
   (RFC 7162 §3.1.3).

   Each message whose flags or keywords change takes its own new MODSEQ
   (++HIGHESTMODSEQ of the mailbox); one that does not change keeps its
   MODSEQ. A STORE that changes nothing takes no write lock
   (store_flags_noop). The messages of the ranges are read first and
   written after, so no UPDATE runs under an open SELECT of the same
   rows. The callback
   runs after the COMMIT (or the savepoint inside store_begin): it sees
   only what is stored. */
#include "store/store_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define STORE_FLAG_MASK 0x1fu

static const char store_sql_flags_read[] =
	"SELECT uid, flags, keywords, modseq FROM messages"
	" WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid";
static const char store_sql_flags_write[] =
	"UPDATE messages SET flags = ?, keywords = ?, modseq = ?"
	" WHERE mailbox_id = ? AND uid = ?";

struct store_flags_row {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
	bool report;			/* goes to the callback */
};

struct store_flags_rows {
	struct store_flags_row *rows;
	size_t n, cap;
	uint32_t *failed;
	size_t n_failed;
};

static void
store_flags_rows_clear(struct store_flags_rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->rows[i].keywords);
	free(r->rows);
	free(r->failed);
	memset(r, 0, sizeof(*r));
}

static int
store_flags_read(struct store *s, int64_t mailbox_id,
    const struct store_range *rs, size_t n_rs, struct store_flags_rows *r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_flags_read);
	int rc = SQLITE_DONE;

	if (st == NULL)
		return STORE_IO;
	for (size_t i = 0; i < n_rs; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, rs[i].lo);
		sqlite3_bind_int64(st, 3, rs[i].hi);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct store_flags_row *row;

			if (r->n == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 64;
				r->rows = xreallocarray(r->rows, r->cap,
				    sizeof(*r->rows));
			}
			row = &r->rows[r->n++];
			memset(row, 0, sizeof(*row));
			row->uid = (uint32_t)sqlite3_column_int64(st, 0);
			row->flags = (unsigned)sqlite3_column_int64(st, 1) &
			    STORE_FLAG_MASK;
			row->keywords = store_db_column_str(st, 2);
			row->modseq = (uint64_t)sqlite3_column_int64(st, 3);
		}
		if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(s, "read flags");
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return STORE_OK;
}

static int
store_flags_write(struct store *s, struct store_mbox *mbox,
    struct store_flags_row *row, unsigned flags, char *keywords)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_flags_write);

	if (st == NULL) {
		free(keywords);
		return STORE_IO;
	}
	free(row->keywords);
	row->keywords = keywords;
	row->flags = flags;
	row->modseq = ++mbox->highestmodseq;
	row->report = true;
	sqlite3_bind_int64(st, 1, flags);
	store_db_bind_text(st, 2, keywords);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)row->modseq);
	sqlite3_bind_int64(st, 4, mbox->id);
	sqlite3_bind_int64(st, 5, row->uid);
	return store_db_done(s, st, "write flags");
}

/* The number of words of a canonical keyword list. */
static size_t
store_flags_count_words(const char *list)
{
	size_t n = 0;

	for (const char *p = list; *p != '\0'; p++)
		if (p == list || p[-1] == ' ')
			n++;
	return n;
}

/* Whether op would change any row of r (a failing keyword limit counts
   as a change: the write path reports it). */
static bool
store_flags_would_change(const struct store_flags_rows *r,
    enum store_flags_op op, unsigned flags, const char *keywords)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct store_flags_row *row = &r->rows[i];
		unsigned nf = op == STORE_FLAGS_SET ? flags :
		    op == STORE_FLAGS_ADD ? row->flags | flags :
		    row->flags & ~flags;
		char *nk;
		bool same;

		if (nf != row->flags)
			return true;
		nk = store_keywords_apply(row->keywords, op, keywords);
		same = strcmp(nk, row->keywords) == 0;
		free(nk);
		if (!same)
			return true;
	}
	return false;
}

/* A STORE that changes nothing (a client's +FLAGS on messages that have
   them: half the bench's) is decided on a read snapshot, which is a
   valid order for it, with no write lock, COMMIT or WAL sync. Without
   UNCHANGEDSINCE only: that one reports unchanged messages too. 1: done
   (nothing changes), 0: take the write path. */
static int
store_flags_noop(struct store *s, int64_t mailbox_id,
    const struct store_range *rs, size_t n_rs, enum store_flags_op op,
    unsigned flags, const char *kw, uint64_t unchangedsince)
{
	struct store_flags_rows r;
	bool noop;

	if (unchangedsince != 0)
		return 0;
	memset(&r, 0, sizeof(r));
	/* no row (or an unknown mailbox): the write path answers */
	noop = store_flags_read(s, mailbox_id, rs, n_rs, &r) == STORE_OK &&
	    r.n > 0 && !store_flags_would_change(&r, op, flags, kw);
	store_flags_rows_clear(&r);
	return noop ? 1 : 0;
}

static int
store_flags_apply(struct store *s, struct store_mbox *mbox,
    struct store_flags_rows *r, enum store_flags_op op, unsigned flags,
    const char *keywords, uint64_t unchangedsince)
{
	uint64_t before = mbox->highestmodseq;
	int ret = STORE_OK;

	for (size_t i = 0; i < r->n && ret == STORE_OK; i++) {
		struct store_flags_row *row = &r->rows[i];
		unsigned nf = op == STORE_FLAGS_SET ? flags :
		    op == STORE_FLAGS_ADD ? row->flags | flags :
		    row->flags & ~flags;
		char *nk;

		if (unchangedsince != 0 && row->modseq > unchangedsince) {
			r->failed = xreallocarray(r->failed, r->n_failed + 1,
			    sizeof(*r->failed));
			r->failed[r->n_failed++] = row->uid;
			continue;
		}
		nk = store_keywords_apply(row->keywords, op, keywords);
		/* Each ADD is within the limit, but many of them must not
		   grow a row without bound. */
		if (store_flags_count_words(nk) > STORE_KEYWORDS_MAX) {
			free(nk);
			ret = store_fail(s, STORE_INVALID, "message %u would "
			    "have more than %d keywords", row->uid,
			    STORE_KEYWORDS_MAX);
			break;
		}
		if (nf == row->flags && strcmp(nk, row->keywords) == 0) {
			/* RFC 7162 §3.1.3: with UNCHANGEDSINCE the server
			   sends the FETCH even when nothing changed. */
			row->report = unchangedsince != 0;
			free(nk);
			continue;
		}
		ret = store_flags_write(s, mbox, row, nf, nk);
	}
	/* Nothing changed: no write, and no wake-up for the watchers. */
	if (ret == STORE_OK && mbox->highestmodseq != before)
		ret = store_mbox_save(s, mbox);
	return ret;
}

int
store_flags(struct store *s, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    enum store_flags_op op, unsigned flags, const char *keywords,
    uint64_t unchangedsince, store_changed_cb *cb, void *ctx,
    uint32_t **failed_r, size_t *n_failed_r)
{
	struct store_flags_rows r;
	struct store_range *rs = NULL;
	struct store_mbox mbox = { 0 };
	struct store_txn txn;
	char *kw = NULL;
	size_t n_rs = 0;
	int ret;

	memset(&r, 0, sizeof(r));
	if (failed_r != NULL)
		*failed_r = NULL;
	if (n_failed_r != NULL)
		*n_failed_r = 0;
	if ((flags & ~STORE_FLAG_MASK) != 0 || (op != STORE_FLAGS_SET &&
	    op != STORE_FLAGS_ADD && op != STORE_FLAGS_REMOVE))
		return store_fail(s, STORE_INVALID, "bad flags");
	if (unchangedsince > INT64_MAX)
		unchangedsince = INT64_MAX;
	if ((ret = store_keywords_canon(s, keywords, &kw)) != STORE_OK ||
	    (ret = store_range_normalize(s, ranges, n_ranges, &rs,
	    &n_rs)) != STORE_OK)
		goto out;
	if (store_flags_noop(s, mailbox_id, rs, n_rs, op, flags, kw,
	    unchangedsince) == 1)
		goto out;		/* ret is STORE_OK */
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_load(s, mailbox_id, &mbox);
	if (ret == STORE_OK)
		ret = store_flags_read(s, mailbox_id, rs, n_rs, &r);
	if (ret == STORE_OK)
		ret = store_flags_apply(s, &mbox, &r, op, flags, kw,
		    unchangedsince);
	ret = store_txn_end(s, &txn, ret);
	if (ret != STORE_OK)
		goto out;
	for (size_t i = 0; cb != NULL && i < r.n; i++) {
		const struct store_flags_row *row = &r.rows[i];

		if (row->report)
			cb(row->uid, row->flags, row->keywords, row->modseq,
			    ctx);
	}
	if (failed_r != NULL && n_failed_r != NULL) {
		*failed_r = r.failed;
		*n_failed_r = r.n_failed;
		r.failed = NULL;
	}
out:
	store_flags_rows_clear(&r);
	store_mbox_clear(&mbox);
	free(rs);
	free(kw);
	return ret;
}
