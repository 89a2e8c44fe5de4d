/* store_fetch.c — reading messages: FETCH (per UID range, one indexed
   walk each, ascending), the UID list for the sequence-number map, the
   message file, and the CONDSTORE/QRESYNC changes since a MODSEQ.

   Callbacks run while a SELECT is active on the handle's connection: they
   may call the reading functions of the same handle (store_message_open)
   but must not modify through it; collect what to change and do it after
   (a write would need the write lock from inside a read snapshot). */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

#define STORE_FETCH_COLUMNS \
	"SELECT m.uid, m.modseq, m.flags, m.keywords, m.internal_date," \
	" m.save_date, m.size, m.file"
#define STORE_FETCH_RANGE \
	" WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid"

static const char store_sql_fetch[] =
	STORE_FETCH_COLUMNS " FROM messages m" STORE_FETCH_RANGE;
/* FLAGS alone (FETCH 1:* (FLAGS UID), a client's resync): only the
   leading columns, a third less work per row for SQLite. */
static const char store_sql_fetch_flags[] =
	"SELECT m.uid, m.modseq, m.flags, m.keywords FROM messages m"
	STORE_FETCH_RANGE;
/* The content row only when something of it is asked for. */
static const char store_sql_fetch_content[] =
	STORE_FETCH_COLUMNS ", c.emailid, c.threadid, c.envelope, c.body,"
	" c.bodystructure FROM messages m JOIN contents c"
	" ON c.id = m.content_id" STORE_FETCH_RANGE;
static const char store_sql_uids[] =
	"SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid";
static const char store_sql_message_file[] =
	"SELECT file FROM messages WHERE mailbox_id = ? AND uid = ?";
/* INDEXED BY: without statistics SQLite walks the primary key (mailbox,
   uid) to save the sort and filters on modseq, reading every message and
   every expunge ever recorded in the mailbox at each NOOP; the modseq
   index reads only what changed (usually nothing). */
static const char store_sql_changed[] =
	STORE_FETCH_COLUMNS " FROM messages m INDEXED BY messages_modseq"
	" WHERE m.mailbox_id = ? AND m.modseq > ? ORDER BY m.uid";
static const char store_sql_vanished[] =
	"SELECT uid, modseq FROM expunged INDEXED BY expunged_modseq"
	" WHERE mailbox_id = ? AND modseq > ? ORDER BY uid";

#define STORE_FETCH_CONTENT (STORE_FETCH_IDS | STORE_FETCH_ENVELOPE | \
	STORE_FETCH_BODY | STORE_FETCH_BODYSTRUCTURE)

static const char *
store_fetch_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Fills msg from the row of st with what items asks for. */
static void
store_fetch_row(struct store *s, sqlite3_stmt *st, unsigned items,
    struct buf *path, struct store_message *msg)
{
	sqlite3_int64 v;

	memset(msg, 0, sizeof(*msg));
	msg->uid = (uint32_t)sqlite3_column_int64(st, 0);
	if (items & STORE_FETCH_FLAGS) {
		const char *kw = store_fetch_text(st, 3);

		msg->modseq = (uint64_t)sqlite3_column_int64(st, 1);
		msg->flags = (unsigned)sqlite3_column_int64(st, 2) & 0x1fu;
		msg->keywords = kw != NULL ? kw : "";
	}
	if (items & STORE_FETCH_DATES) {
		msg->internal_date = (time_t)sqlite3_column_int64(st, 4);
		msg->save_date = (time_t)sqlite3_column_int64(st, 5);
	}
	if (items & STORE_FETCH_SIZE) {
		v = sqlite3_column_int64(st, 6);
		msg->size = v < 0 ? 0 : (uint64_t)v;
	}
	if (items & STORE_FETCH_PATH) {
		const char *file = store_fetch_text(st, 7);

		buf_reset(path);
		if (buf_printf(path, "%s/msg/%s", s->dir,
		    file != NULL ? file : "") == 0)
			msg->path = path->data;
	}
	if ((items & STORE_FETCH_CONTENT) == 0)
		return;
	if (items & STORE_FETCH_IDS) {
		msg->emailid = store_fetch_text(st, 8);
		msg->threadid = store_fetch_text(st, 9);
	}
	if (items & STORE_FETCH_ENVELOPE)
		msg->envelope = store_fetch_text(st, 10);
	if (items & STORE_FETCH_BODY)
		msg->body = store_fetch_text(st, 11);
	if (items & STORE_FETCH_BODYSTRUCTURE)
		msg->bodystructure = store_fetch_text(st, 12);
}

/* STORE_OK when mailbox_id exists, else STORE_NOT_FOUND naming it. */
static int
store_fetch_mailbox(struct store *s, int64_t mailbox_id)
{
	struct store_mbox mbox;
	int ret = store_mbox_load(s, mailbox_id, &mbox);

	store_mbox_clear(&mbox);
	return ret;
}

int
store_fetch(struct store *s, int64_t mailbox_id,
    const struct store_range *ranges, size_t n_ranges, unsigned items,
    store_fetch_cb *cb, void *ctx)
{
	struct store_range *rs = NULL;
	struct store_message msg;
	struct buf path;
	sqlite3_stmt *st;
	size_t n_rs = 0;
	int ret, rc = SQLITE_DONE;

	if ((ret = store_fetch_mailbox(s, mailbox_id)) != STORE_OK ||
	    (ret = store_range_normalize(s, ranges, n_ranges, &rs,
	    &n_rs)) != STORE_OK)
		return ret;
	st = store_db_stmt(s, (items & STORE_FETCH_CONTENT) != 0 ?
	    store_sql_fetch_content : (items & ~(unsigned)STORE_FETCH_FLAGS)
	    == 0 ? store_sql_fetch_flags : store_sql_fetch);
	if (st == NULL) {
		free(rs);
		return STORE_IO;
	}
	buf_init(&path, 0);
	for (size_t i = 0; i < n_rs && ret == STORE_OK; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, rs[i].lo);
		sqlite3_bind_int64(st, 3, rs[i].hi);
		while (ret == STORE_OK &&
		    (rc = sqlite3_step(st)) == SQLITE_ROW) {
			store_fetch_row(s, st, items, &path, &msg);
			ret = cb(&msg, ctx);
		}
		if (ret == STORE_OK && rc != SQLITE_DONE)
			ret = store_db_fail(s, "fetch");
	}
	sqlite3_reset(st);
	buf_clear(&path);
	free(rs);
	return ret;
}

int
store_uids(struct store *s, int64_t mailbox_id, uint32_t **uids_r,
    size_t *n_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int ret, rc;

	*uids_r = NULL;
	*n_r = 0;
	if ((ret = store_fetch_mailbox(s, mailbox_id)) != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_uids)) == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			uids = xreallocarray(uids, cap, sizeof(*uids));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		ret = store_db_fail(s, "uids");
		sqlite3_reset(st);
		free(uids);
		return ret;
	}
	sqlite3_reset(st);
	*uids_r = uids;
	*n_r = n;
	return STORE_OK;
}

int
store_message_open(struct store *s, int64_t mailbox_id, uint32_t uid,
    int *fd_r, uint64_t *size_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_message_file);
	struct stat sb;
	char *file = NULL;
	int rc, ret = STORE_OK, fd;

	*fd_r = -1;
	*size_r = 0;
	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		file = store_db_column_str(st, 0);
	else if (rc == SQLITE_DONE)
		ret = store_fail(s, STORE_NOT_FOUND, "message %u of mailbox "
		    "%lld does not exist", uid, (long long)mailbox_id);
	else
		ret = store_db_fail(s, "message file");
	sqlite3_reset(st);
	if (ret != STORE_OK)
		return ret;
	if (file == NULL)		/* a NULL column: the schema forbids it */
		return store_fail(s, STORE_IO, "message %u: no file", uid);
	fd = openat(s->msg_fd, file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		/* Expunged between the SELECT and the open: its file went
		   after the COMMIT. */
		ret = errno == ENOENT ? STORE_NOT_FOUND : STORE_IO;
		ret = store_fail(s, ret, "%s/msg/%s: %s", s->dir, file,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		free(file);
		return ret;
	}
	free(file);
	*fd_r = fd;
	*size_r = (uint64_t)sb.st_size;
	return STORE_OK;
}

int
store_changes(struct store *s, int64_t mailbox_id, uint64_t since,
    store_fetch_cb *changed, store_vanished_cb *expunged, void *ctx)
{
	struct store_message msg;
	sqlite3_stmt *st;
	bool snapshot = false;
	int ret, rc;

	if (since > INT64_MAX)
		since = INT64_MAX;
	if ((ret = store_fetch_mailbox(s, mailbox_id)) != STORE_OK)
		return ret;
	/* One read snapshot for both lists, so a message is not reported
	   changed and expunged by a writer between the two queries. */
	if (!s->user_txn) {
		if ((ret = store_db_exec(s, "BEGIN")) != STORE_OK)
			return ret;
		snapshot = true;
	}
	if (changed != NULL) {
		if ((st = store_db_stmt(s, store_sql_changed)) == NULL) {
			ret = STORE_IO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
		while (ret == STORE_OK &&
		    (rc = sqlite3_step(st)) == SQLITE_ROW) {
			store_fetch_row(s, st, STORE_FETCH_FLAGS, NULL, &msg);
			ret = changed(&msg, ctx);
		}
		if (ret == STORE_OK && rc != SQLITE_DONE)
			ret = store_db_fail(s, "changes");
		sqlite3_reset(st);
	}
	if (ret == STORE_OK && expunged != NULL) {
		if ((st = store_db_stmt(s, store_sql_vanished)) == NULL) {
			ret = STORE_IO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			expunged((uint32_t)sqlite3_column_int64(st, 0),
			    (uint64_t)sqlite3_column_int64(st, 1), ctx);
		if (rc != SQLITE_DONE)
			ret = store_db_fail(s, "vanished");
		sqlite3_reset(st);
	}
out:
	if (snapshot)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return ret;
}
