/* store_recent.c — IMAP4rev1's \Recent (RFC 3501 §2.3.2) kept across
   sessions, as Dovecot's first_recent_uid: each mailbox row holds
   recent_uid, the first UID no session has claimed yet. A claim moves it
   to the mailbox's UIDNEXT inside a write transaction, so two sessions
   can never claim the same UID: each message is \Recent in at most one
   session. Counting reads it without moving it (EXAMINE, STATUS).

   The claim is no change clients of other sessions are told about: it
   bumps no MODSEQ and fires no change feed. A claim with nothing to take
   is answered from a read, without the write lock: a rev1 session claims
   at every SELECT. */
#include "store/store_private.h"

#include <string.h>

static const char store_sql_recent_get[] =
	"SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?";
static const char store_sql_recent_set[] =
	"UPDATE mailboxes SET recent_uid = ? WHERE id = ?";
static const char store_sql_recent_count[] =
	"SELECT m.recent_uid, (SELECT count(*) FROM messages r"
	"  WHERE r.mailbox_id = m.id AND r.uid >= m.recent_uid)"
	" FROM mailboxes m WHERE m.id = ?";

static uint32_t
store_recent_uid32(sqlite3_int64 v)
{
	/* The schema's CHECKs keep both columns in 1..2^32-1. */
	return v < 1 || v > UINT32_MAX ? 1 : (uint32_t)v;
}

/* The mark and UIDNEXT of mailbox_id. STORE_NOT_FOUND, STORE_IO. */
static int
store_recent_get(struct store *s, int64_t mailbox_id, uint32_t *mark_r,
    uint32_t *uidnext_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_recent_get);
	int rc;

	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*mark_r = store_recent_uid32(sqlite3_column_int64(st, 0));
		*uidnext_r = store_recent_uid32(sqlite3_column_int64(st, 1));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return store_fail(s, STORE_NOT_FOUND, "mailbox %lld does not "
		    "exist", (long long)mailbox_id);
	return store_db_fail(s, "recent");
}

/* Whether the claim takes anything: the mark is below UIDNEXT and is
   still expect (when given). */
static bool
store_recent_takes(uint32_t mark, uint32_t uidnext, uint32_t expect)
{
	return mark < uidnext && (expect == 0 || mark == expect);
}

int
store_recent_claim(struct store *s, int64_t mailbox_id, uint32_t expect,
    uint32_t *first_r, uint32_t *last_r)
{
	struct store_txn txn;
	sqlite3_stmt *st;
	uint32_t mark, uidnext;
	int ret;

	*first_r = *last_r = 0;
	if ((ret = store_recent_get(s, mailbox_id, &mark, &uidnext)) !=
	    STORE_OK)
		return ret;
	if (!store_recent_takes(mark, uidnext, expect)) {
		*first_r = *last_r = mark;
		return STORE_OK;
	}
	/* Read again under the write lock: another session may have
	   claimed between the read above and BEGIN IMMEDIATE. */
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_recent_get(s, mailbox_id, &mark, &uidnext);
	if (ret == STORE_OK) {
		*first_r = *last_r = mark;
		if (store_recent_takes(mark, uidnext, expect)) {
			if ((st = store_db_stmt(s, store_sql_recent_set)) ==
			    NULL) {
				ret = STORE_IO;
			} else {
				sqlite3_bind_int64(st, 1, uidnext);
				sqlite3_bind_int64(st, 2, mailbox_id);
				ret = store_db_done(s, st, "recent claim");
				*last_r = uidnext;
			}
		}
	}
	ret = store_txn_end(s, &txn, ret);
	if (ret != STORE_OK)
		*first_r = *last_r = 0;
	return ret;
}

int
store_recent_count(struct store *s, int64_t mailbox_id, uint32_t *mark_r,
    uint32_t *count_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_recent_count);
	sqlite3_int64 n;
	int rc;

	*mark_r = 0;
	*count_r = 0;
	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*mark_r = store_recent_uid32(sqlite3_column_int64(st, 0));
		n = sqlite3_column_int64(st, 1);
		*count_r = n < 0 || n > UINT32_MAX ? 0 : (uint32_t)n;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return store_fail(s, STORE_NOT_FOUND, "mailbox %lld does not "
		    "exist", (long long)mailbox_id);
	return store_db_fail(s, "recent count");
}
