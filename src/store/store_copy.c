/* store_copy.c — COPY and MOVE (RFC 9051 §6.4.7, RFC 6851).

   A copy is a new message row with a new hard link to the same bytes and
   the same content row (so EMAILID and THREADID are kept, RFC 8474 §5.1),
   flags, keywords and INTERNALDATE; SAVEDATE is now (RFC 8514). It counts
   against the quota like any new message.

   A move keeps the row and the file: the row changes mailbox and takes a
   UID and MODSEQ there, and the source records the UID as expunged with a
   MODSEQ of its own. Nothing is linked or unlinked, nothing added to the
   quota, and the move is atomic with the transaction. */
#include "store/store_private.h"

#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

static const char store_sql_copy_read[] =
	"SELECT uid, flags, keywords, internal_date, size, content_id, file"
	" FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?"
	" ORDER BY uid";
static const char store_sql_copy_insert[] =
	"INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords,"
	" internal_date, save_date, size, content_id, file)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char store_sql_move[] =
	"UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ?,"
	" save_date = ? WHERE mailbox_id = ? AND uid = ?";

struct store_copy_row {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	int64_t internal_date;
	uint64_t size;
	int64_t content_id;
	char *file;
};

struct store_copy_rows {
	struct store_copy_row *rows;
	size_t n, cap;
	uint64_t bytes;
};

static void
store_copy_rows_clear(struct store_copy_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->rows[i].keywords);
		free(r->rows[i].file);
	}
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

static int
store_copy_read(struct store *s, int64_t src_id, const struct store_range *rs,
    size_t n_rs, struct store_copy_rows *r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_copy_read);
	int rc = SQLITE_DONE;

	if (st == NULL)
		return STORE_IO;
	for (size_t i = 0; i < n_rs && rc == SQLITE_DONE; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, src_id);
		sqlite3_bind_int64(st, 2, rs[i].lo);
		sqlite3_bind_int64(st, 3, rs[i].hi);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct store_copy_row *row;
			sqlite3_int64 size = sqlite3_column_int64(st, 4);

			if (r->n == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 64;
				r->rows = xreallocarray(r->rows, r->cap,
				    sizeof(*r->rows));
			}
			row = &r->rows[r->n++];
			row->uid = (uint32_t)sqlite3_column_int64(st, 0);
			row->flags = (unsigned)sqlite3_column_int64(st, 1);
			row->keywords = store_db_column_str(st, 2);
			row->internal_date = sqlite3_column_int64(st, 3);
			row->size = size < 0 ? 0 : (uint64_t)size;
			row->content_id = sqlite3_column_int64(st, 5);
			row->file = store_db_column_str(st, 6);
			if (__builtin_add_overflow(r->bytes, row->size,
			    &r->bytes))
				r->bytes = UINT64_MAX;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(s, "copy");
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return STORE_OK;
}

static int
store_copy_one(struct store *s, const struct store_copy_row *row,
    struct store_mbox *dst, uint32_t uid, int64_t now)
{
	char file[STORE_FILE_NAME_SIZE];
	sqlite3_stmt *st;
	int ret;

	if ((ret = store_file_link_own(s, row->file, file)) != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_copy_insert)) == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, dst->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)++dst->highestmodseq);
	sqlite3_bind_int64(st, 4, row->flags);
	store_db_bind_text(st, 5, row->keywords);
	sqlite3_bind_int64(st, 6, row->internal_date);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)row->size);
	sqlite3_bind_int64(st, 9, row->content_id);
	store_db_bind_text(st, 10, file);
	return store_db_done(s, st, "copy");
}

static int
store_move_one(struct store *s, const struct store_copy_row *row,
    struct store_mbox *src, struct store_mbox *dst, uint32_t uid,
    int64_t now)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_move);
	int ret;

	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, dst->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)++dst->highestmodseq);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, src->id);
	sqlite3_bind_int64(st, 6, row->uid);
	if ((ret = store_db_done(s, st, "move")) != STORE_OK)
		return ret;
	return store_expunge_one(s, src, row->uid, NULL);
}

int
store_copy_in_txn(struct store *s, int64_t src_id,
    const struct store_range *ranges, size_t n_ranges, int64_t dst_id,
    bool move, bool check_quota, struct store_uid_pair **pairs_r,
    size_t *n_pairs_r)
{
	struct store_mbox src_mbox = { 0 }, dst_mbox = { 0 }, *src, *dst;
	struct store_copy_rows r;
	struct store_range *rs = NULL;
	struct store_uid_pair *pairs = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n_rs = 0;
	int ret;

	memset(&r, 0, sizeof(r));
	*pairs_r = NULL;
	*n_pairs_r = 0;
	src = &src_mbox;
	dst = src_id == dst_id ? src : &dst_mbox;
	if ((ret = store_range_normalize(s, ranges, n_ranges, &rs,
	    &n_rs)) != STORE_OK ||
	    (ret = store_mbox_load(s, src_id, src)) != STORE_OK ||
	    (dst != src && (ret = store_mbox_load(s, dst_id, dst)) !=
	    STORE_OK) ||
	    (ret = store_copy_read(s, src_id, rs, n_rs, &r)) != STORE_OK)
		goto out;
	if (r.n == 0)
		goto out;
	if (check_quota && (ret = store_quota_check(s, r.bytes, r.n)) !=
	    STORE_OK)
		goto out;
	if (dst->uidnext + r.n > UINT32_MAX) {
		ret = store_fail(s, STORE_NOT_ALLOWED, "mailbox \"%s\" has "
		    "no UIDs left", dst->name);
		goto out;
	}
	pairs = xreallocarray(NULL, r.n, sizeof(*pairs));
	for (size_t i = 0; i < r.n && ret == STORE_OK; i++) {
		uint32_t uid = (uint32_t)dst->uidnext++;

		pairs[i].src = r.rows[i].uid;
		pairs[i].dst = uid;
		ret = move ? store_move_one(s, &r.rows[i], src, dst, uid, now) :
		    store_copy_one(s, &r.rows[i], dst, uid, now);
	}
	if (ret == STORE_OK)
		ret = store_mbox_save(s, dst);
	if (ret == STORE_OK && move && dst != src)
		ret = store_mbox_save(s, src);
	if (ret == STORE_OK) {
		*pairs_r = pairs;
		*n_pairs_r = r.n;
		pairs = NULL;
	}
out:
	free(pairs);
	free(rs);
	store_copy_rows_clear(&r);
	store_mbox_clear(&src_mbox);
	store_mbox_clear(&dst_mbox);
	return ret;
}

int
store_copy(struct store *s, int64_t src_mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    int64_t dst_mailbox_id, bool move, store_uid_map_cb *map, void *ctx)
{
	struct store_uid_pair *pairs = NULL;
	struct store_txn txn;
	size_t n = 0;
	int ret;

	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_copy_in_txn(s, src_mailbox_id, ranges, n_ranges,
		    dst_mailbox_id, move, !move, &pairs, &n);
	ret = store_txn_end(s, &txn, ret);
	for (size_t i = 0; ret == STORE_OK && map != NULL && i < n; i++)
		map(pairs[i].src, pairs[i].dst, ctx);
	free(pairs);
	return ret;
}
