/* store_expunge.c — EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315
   §2.1). Each expunged message takes a new MODSEQ that is recorded with
   its UID in the expunged table (QRESYNC VANISHED, RFC 7162 §3.2.10);
   UIDNEXT does not move back, so a UID is never handed out twice. The
   row goes in the transaction, the file after its COMMIT. */
#include "store/store_private.h"

#include <string.h>

#include "lib/xmalloc.h"

static const char store_sql_expunge_record[] =
	"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)"
	" VALUES (?, ?, ?)";
static const char store_sql_expunge_delete[] =
	"DELETE FROM messages WHERE mailbox_id = ? AND uid = ?";
static const char store_sql_expunge_select[] =
	"SELECT uid, file FROM messages WHERE mailbox_id = ?"
	" AND uid BETWEEN ? AND ? AND (flags & 8) != 0 ORDER BY uid";

int
store_expunge_one(struct store *s, struct store_mbox *mbox, uint32_t uid,
    const char *file)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_expunge_record);
	int ret;

	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)++mbox->highestmodseq);
	if ((ret = store_db_done(s, st, "record expunge")) != STORE_OK)
		return ret;
	if (file != NULL) {
		if ((st = store_db_stmt(s, store_sql_expunge_delete)) == NULL)
			return STORE_IO;
		sqlite3_bind_int64(st, 1, mbox->id);
		sqlite3_bind_int64(st, 2, uid);
		if ((ret = store_db_done(s, st, "expunge")) != STORE_OK)
			return ret;
		store_file_doom(s, file);
	}
	s->changed = true;
	return STORE_OK;
}

struct store_expunge_item {
	uint32_t uid;
	char *file;
};

static int
store_expunge_collect(struct store *s, int64_t mailbox_id,
    const struct store_range *rs, size_t n_rs,
    struct store_expunge_item **items_r, size_t *n_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_expunge_select);
	struct store_expunge_item *items = NULL;
	size_t n = 0, cap = 0;
	int rc = SQLITE_DONE;

	if (st == NULL)
		return STORE_IO;
	for (size_t i = 0; i < n_rs && rc == SQLITE_DONE; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, rs[i].lo);
		sqlite3_bind_int64(st, 3, rs[i].hi);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				items = xreallocarray(items, cap,
				    sizeof(*items));
			}
			items[n].uid = (uint32_t)sqlite3_column_int64(st, 0);
			items[n].file = store_db_column_str(st, 1);
			n++;
		}
	}
	*items_r = items;
	*n_r = n;
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(s, "expunge");
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return STORE_OK;
}

int
store_expunge(struct store *s, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges,
    store_expunged_cb *cb, void *ctx)
{
	struct store_expunge_item *items = NULL;
	struct store_range *rs = NULL;
	struct store_mbox mbox = { 0 };
	struct store_txn txn;
	size_t n = 0, n_rs = 0;
	int ret;

	if ((ret = store_range_normalize(s, ranges, n_ranges, &rs,
	    &n_rs)) != STORE_OK)
		return ret;
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_load(s, mailbox_id, &mbox);
	if (ret == STORE_OK)
		ret = store_expunge_collect(s, mailbox_id, rs, n_rs, &items,
		    &n);
	for (size_t i = 0; ret == STORE_OK && i < n; i++)
		ret = store_expunge_one(s, &mbox, items[i].uid, items[i].file);
	if (ret == STORE_OK && n > 0)
		ret = store_mbox_save(s, &mbox);
	ret = store_txn_end(s, &txn, ret);
	for (size_t i = 0; i < n; i++) {
		if (ret == STORE_OK && cb != NULL)
			cb(items[i].uid, ctx);
		free(items[i].file);
	}
	free(items);
	free(rs);
	store_mbox_clear(&mbox);
	return ret;
}
