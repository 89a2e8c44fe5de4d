/* store_mailbox.c — mailboxes: list, status, create (with parents),
   delete, subscriptions, special-use, and the UIDVALIDITY/UIDNEXT/
   HIGHESTMODSEQ state every message operation reads and writes back
   inside its transaction. Rename is store_rename.c.

   UIDVALIDITY (RFC 9051 §2.3.1.1) is the time of creation, but always
   above the last one handed out in the account (account.last_uidvalidity):
   unique per account, so a name that is deleted and created again never
   shows a client its old value. */
#include "store/store_private.h"

#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

#define STORE_SPECIAL_MASK 0x7fu

static const char store_sql_mbox_load[] =
	"SELECT name, uidvalidity, uidnext, highestmodseq, messages"
	" FROM mailboxes WHERE id = ?";
static const char store_sql_mbox_save[] =
	"UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?";
static const char store_sql_mbox_lookup[] =
	"SELECT id FROM mailboxes WHERE name = ?";
static const char store_sql_uv_get[] =
	"SELECT last_uidvalidity FROM account";
static const char store_sql_uv_set[] =
	"UPDATE account SET last_uidvalidity = ?";
static const char store_sql_mbox_insert[] =
	"INSERT INTO mailboxes (name, special_use, uidvalidity)"
	" VALUES (?, ?, ?)";
static const char store_sql_name_record[] =
	"INSERT OR IGNORE INTO mailbox_names (name) VALUES (?)";
static const char store_sql_subscribe[] =
	"INSERT OR IGNORE INTO subscriptions (name) VALUES (?)";
static const char store_sql_unsubscribe[] =
	"DELETE FROM subscriptions WHERE name = ?";
static const char store_sql_subscriptions[] =
	"SELECT name FROM subscriptions ORDER BY name";
/* Children of m: names in ("m/", "m0"), '0' being the byte after '/'. */
#define STORE_SQL_MAILBOX_COLUMNS \
	"SELECT m.id, m.name, m.special_use," \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = m.name)," \
	" EXISTS (SELECT 1 FROM mailboxes c WHERE c.name > m.name || '/'" \
	"  AND c.name < m.name || '0')," \
	" m.uidvalidity, m.uidnext, m.highestmodseq, m.messages, m.unseen," \
	" m.deleted, m.size, (SELECT count(*) FROM messages r" \
	"  WHERE r.mailbox_id = m.id AND r.uid >= m.recent_uid)" \
	" FROM mailboxes m"
static const char store_sql_mailbox_list[] =
	STORE_SQL_MAILBOX_COLUMNS " ORDER BY m.name <> 'INBOX', m.name";
static const char store_sql_mailbox_get[] =
	STORE_SQL_MAILBOX_COLUMNS " WHERE m.name = ?";
static const char store_sql_has_children[] =
	"SELECT 1 FROM mailboxes WHERE name > ? || '/' AND name < ? || '0'"
	" LIMIT 1";
static const char store_sql_mbox_files[] =
	"SELECT file FROM messages WHERE mailbox_id = ?";
static const char store_sql_mbox_del_messages[] =
	"DELETE FROM messages WHERE mailbox_id = ?";
static const char store_sql_mbox_del_expunged[] =
	"DELETE FROM expunged WHERE mailbox_id = ?";
static const char store_sql_mbox_delete[] =
	"DELETE FROM mailboxes WHERE id = ?";
static const char store_sql_special_use[] =
	"UPDATE mailboxes SET special_use = ? WHERE id = ?";
static const char store_sql_set_uids[] =
	"UPDATE mailboxes SET uidvalidity = ?, uidnext = max(uidnext, ?)"
	" WHERE id = ?";
static const char store_sql_uv_raise[] =
	"UPDATE account SET last_uidvalidity = max(last_uidvalidity, ?)";

/* --- the state of one mailbox inside a transaction ---------------------- */

int
store_mbox_load(struct store *s, int64_t id, struct store_mbox *mbox)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_mbox_load);
	int rc, ret = STORE_OK;

	memset(mbox, 0, sizeof(*mbox));
	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mbox->id = id;
		mbox->name = store_db_column_str(st, 0);
		mbox->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		mbox->uidnext = (uint64_t)sqlite3_column_int64(st, 2);
		mbox->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
		mbox->messages = (uint64_t)sqlite3_column_int64(st, 4);
	} else if (rc == SQLITE_DONE) {
		ret = store_fail(s, STORE_NOT_FOUND,
		    "mailbox %lld does not exist", (long long)id);
	} else {
		ret = store_db_fail(s, "load mailbox");
	}
	sqlite3_reset(st);
	return ret;
}

int
store_mbox_save(struct store *s, const struct store_mbox *mbox)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_mbox_save);

	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)mbox->uidnext);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)mbox->highestmodseq);
	sqlite3_bind_int64(st, 3, mbox->id);
	s->changed = true;
	return store_db_done(s, st, "save mailbox");
}

void
store_mbox_clear(struct store_mbox *mbox)
{
	free(mbox->name);
	memset(mbox, 0, sizeof(*mbox));
}

int
store_mbox_lookup(struct store *s, const char *canon, int64_t *id_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_mbox_lookup);
	int rc, ret = STORE_OK;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, canon);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		ret = store_fail(s, STORE_NOT_FOUND,
		    "mailbox \"%s\" does not exist", canon);
	else
		ret = store_db_fail(s, "look up mailbox");
	sqlite3_reset(st);
	return ret;
}

int
store_mbox_new_uidvalidity(struct store *s, uint32_t *uv_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_uv_get);
	uint64_t last, now = (uint64_t)time(NULL), uv;

	if (st == NULL)
		return STORE_IO;
	if (sqlite3_step(st) != SQLITE_ROW) {
		int ret = store_db_fail(s, "uidvalidity");

		sqlite3_reset(st);
		return ret;
	}
	last = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	uv = now > last ? now : last + 1;
	if (uv == 0 || uv > UINT32_MAX)
		return store_fail(s, STORE_IO, "no UIDVALIDITY left");
	if ((st = store_db_stmt(s, store_sql_uv_set)) == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)uv);
	*uv_r = (uint32_t)uv;
	return store_db_done(s, st, "uidvalidity");
}

static int
store_mbox_exec_name(struct store *s, const char *sql, const char *name)
{
	sqlite3_stmt *st = store_db_stmt(s, sql);

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, name);
	return store_db_done(s, st, "mailbox name");
}

int
store_mbox_create(struct store *s, const char *canon, unsigned special_use,
    bool subscribe, bool must_be_new, int64_t *id_r)
{
	const char *slash = strrchr(canon, STORE_SEPARATOR);
	sqlite3_stmt *st;
	uint32_t uv = 0;
	int64_t id = 0;
	int ret;

	ret = store_mbox_lookup(s, canon, &id);
	if (ret == STORE_OK) {
		if (must_be_new)
			return store_fail(s, STORE_EXISTS,
			    "mailbox \"%s\" already exists", canon);
		if (id_r != NULL)
			*id_r = id;
		return STORE_OK;
	}
	if (ret != STORE_NOT_FOUND)
		return ret;
	if (slash != NULL) {
		/* RFC 9051 §6.3.4: the missing levels are created too. The
		   recursion is bounded by STORE_DEPTH_MAX. */
		char *parent = xstrndup(canon, (size_t)(slash - canon));

		ret = store_mbox_create(s, parent, 0, false, false, NULL);
		free(parent);
		if (ret != STORE_OK)
			return ret;
	}
	if ((ret = store_mbox_new_uidvalidity(s, &uv)) != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_mbox_insert)) == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, canon);
	sqlite3_bind_int64(st, 2, special_use);
	sqlite3_bind_int64(st, 3, uv);
	if ((ret = store_db_done(s, st, "create mailbox")) != STORE_OK)
		return ret;
	id = sqlite3_last_insert_rowid(s->db);
	if ((ret = store_mbox_exec_name(s, store_sql_name_record, canon)) !=
	    STORE_OK)
		return ret;
	if (subscribe && (ret = store_mbox_exec_name(s, store_sql_subscribe,
	    canon)) != STORE_OK)
		return ret;
	s->changed = true;
	if (id_r != NULL)
		*id_r = id;
	return STORE_OK;
}

/* --- public ------------------------------------------------------------- */

void
store_mailbox_clear(struct store_mailbox *mailbox)
{
	free(mailbox->name);
	memset(mailbox, 0, sizeof(*mailbox));
}

void
store_mailbox_list_free(struct store_mailbox **list, size_t n)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_mailbox_clear(&(*list)[i]);
	free(*list);
	*list = NULL;
}

static void
store_mailbox_read(sqlite3_stmt *st, struct store_mailbox *m)
{
	sqlite3_int64 v;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->name = store_db_column_str(st, 1);
	m->special_use = (unsigned)sqlite3_column_int64(st, 2) &
	    STORE_SPECIAL_MASK;
	m->subscribed = sqlite3_column_int(st, 3) != 0;
	m->has_children = sqlite3_column_int(st, 4) != 0;
	m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 5);
	m->uidnext = (uint32_t)sqlite3_column_int64(st, 6);
	m->highestmodseq = (uint64_t)sqlite3_column_int64(st, 7);
	v = sqlite3_column_int64(st, 8);
	m->messages = v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
	v = sqlite3_column_int64(st, 9);
	m->unseen = v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
	v = sqlite3_column_int64(st, 10);
	m->deleted = v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
	v = sqlite3_column_int64(st, 11);
	m->size = v < 0 ? 0 : (uint64_t)v;
	v = sqlite3_column_int64(st, 12);
	m->recent = v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
}

int
store_mailbox_list(struct store *s, struct store_mailbox **list_r,
    size_t *n_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_mailbox_list);
	struct store_mailbox *list = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*list_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return STORE_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xreallocarray(list, cap, sizeof(*list));
		}
		store_mailbox_read(st, &list[n++]);
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(s, "list mailboxes");
		sqlite3_reset(st);
		store_mailbox_list_free(&list, n);
		return rc;
	}
	sqlite3_reset(st);
	*list_r = list;
	*n_r = n;
	return STORE_OK;
}

int
store_mailbox_get(struct store *s, const char *name,
    struct store_mailbox *mailbox_r)
{
	sqlite3_stmt *st;
	char *canon;
	int rc, ret;

	memset(mailbox_r, 0, sizeof(*mailbox_r));
	if ((ret = store_name_canon(s, name, &canon)) != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_mailbox_get)) == NULL) {
		free(canon);
		return STORE_IO;
	}
	store_db_bind_text(st, 1, canon);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_mailbox_read(st, mailbox_r);
	else if (rc == SQLITE_DONE)
		ret = store_fail(s, STORE_NOT_FOUND,
		    "mailbox \"%s\" does not exist", canon);
	else
		ret = store_db_fail(s, "get mailbox");
	sqlite3_reset(st);
	free(canon);
	return ret;
}

int
store_mailbox_create(struct store *s, const char *name,
    unsigned special_use, int64_t *id_r)
{
	struct store_txn txn;
	char *canon;
	int ret;

	if ((special_use & ~STORE_SPECIAL_MASK) != 0)
		return store_fail(s, STORE_INVALID, "bad special-use bits");
	if ((ret = store_name_canon(s, name, &canon)) != STORE_OK)
		return ret;
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_create(s, canon, special_use, false, true,
		    id_r);
	ret = store_txn_end(s, &txn, ret);
	free(canon);
	return ret;
}

/* 1 when canon has children, 0 when not, or a STORE_* error. */
static int
store_mailbox_has_children(struct store *s, const char *canon)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_has_children);
	int rc, ret;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, canon);
	store_db_bind_text(st, 2, canon);
	rc = sqlite3_step(st);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 :
	    store_db_fail(s, "children");
	sqlite3_reset(st);
	return ret;
}

static int
store_mailbox_delete_rows(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_mbox_files);
	int rc, ret;

	if (st == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *file = (const char *)sqlite3_column_text(st, 0);

		if (file != NULL)
			store_file_doom(s, file);
	}
	if (rc != SQLITE_DONE) {
		ret = store_db_fail(s, "list files");
		sqlite3_reset(st);
		return ret;
	}
	sqlite3_reset(st);
	/* The order matters: the triggers update the mailbox row, which must
	   still exist, and the foreign key refuses the other order. */
	const char *const steps[] = { store_sql_mbox_del_messages,
	    store_sql_mbox_del_expunged, store_sql_mbox_delete };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((st = store_db_stmt(s, steps[i])) == NULL)
			return STORE_IO;
		sqlite3_bind_int64(st, 1, id);
		if ((ret = store_db_done(s, st, "delete mailbox")) != STORE_OK)
			return ret;
	}
	s->changed = true;
	return STORE_OK;
}

int
store_mailbox_delete(struct store *s, const char *name)
{
	struct store_txn txn;
	char *canon;
	int64_t id = 0;
	int ret;

	if ((ret = store_name_canon(s, name, &canon)) != STORE_OK)
		return ret;
	if (store_name_is_inbox(canon)) {
		free(canon);
		return store_fail(s, STORE_NOT_ALLOWED,
		    "mailbox INBOX cannot be deleted");
	}
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_lookup(s, canon, &id);
	if (ret == STORE_OK) {
		ret = store_mailbox_has_children(s, canon);
		if (ret == 1)
			ret = store_fail(s, STORE_NOT_ALLOWED,
			    "mailbox \"%s\" has children", canon);
	}
	if (ret == STORE_OK)
		ret = store_mailbox_delete_rows(s, id);
	ret = store_txn_end(s, &txn, ret);
	free(canon);
	return ret;
}

int
store_mailbox_subscribe(struct store *s, const char *name, bool subscribe)
{
	struct store_txn txn;
	char *canon;
	int ret;

	if ((ret = store_name_canon(s, name, &canon)) != STORE_OK)
		return ret;
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_exec_name(s, subscribe ? store_sql_subscribe :
		    store_sql_unsubscribe, canon);
	if (ret == STORE_OK)
		s->changed = true;
	ret = store_txn_end(s, &txn, ret);
	free(canon);
	return ret;
}

int
store_subscriptions(struct store *s, char ***names_r, size_t *n_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_subscriptions);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*names_r = NULL;
	*n_r = 0;
	if (st == NULL)
		return STORE_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = store_db_column_str(st, 0);
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(s, "subscriptions");
		sqlite3_reset(st);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rc;
	}
	sqlite3_reset(st);
	*names_r = names;
	*n_r = n;
	return STORE_OK;
}

int
store_mailbox_set_special_use(struct store *s, const char *name,
    unsigned special_use)
{
	struct store_txn txn;
	sqlite3_stmt *st;
	char *canon;
	int64_t id = 0;
	int ret;

	if ((special_use & ~STORE_SPECIAL_MASK) != 0)
		return store_fail(s, STORE_INVALID, "bad special-use bits");
	if ((ret = store_name_canon(s, name, &canon)) != STORE_OK)
		return ret;
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_lookup(s, canon, &id);
	if (ret == STORE_OK) {
		if ((st = store_db_stmt(s, store_sql_special_use)) == NULL) {
			ret = STORE_IO;
		} else {
			sqlite3_bind_int64(st, 1, special_use);
			sqlite3_bind_int64(st, 2, id);
			ret = store_db_done(s, st, "special-use");
			s->changed = true;
		}
	}
	ret = store_txn_end(s, &txn, ret);
	free(canon);
	return ret;
}

int
store_mailbox_set_uids(struct store *s, int64_t mailbox_id,
    uint32_t uidvalidity, uint32_t uidnext)
{
	struct store_mbox mbox = { 0 };
	struct store_txn txn;
	sqlite3_stmt *st;
	int ret;

	if (uidvalidity == 0)
		return store_fail(s, STORE_INVALID, "UIDVALIDITY 0");
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_mbox_load(s, mailbox_id, &mbox);
	/* With messages, only UIDNEXT may still rise (an import whose last
	   messages were expunged at the source). */
	if (ret == STORE_OK && mbox.messages > 0 &&
	    mbox.uidvalidity != uidvalidity)
		ret = store_fail(s, STORE_INVALID, "mailbox \"%s\" is not "
		    "empty", mbox.name);
	if (ret == STORE_OK) {
		if ((st = store_db_stmt(s, store_sql_set_uids)) == NULL) {
			ret = STORE_IO;
		} else {
			sqlite3_bind_int64(st, 1, uidvalidity);
			sqlite3_bind_int64(st, 2, uidnext == 0 ? 1 : uidnext);
			sqlite3_bind_int64(st, 3, mailbox_id);
			ret = store_db_done(s, st, "set uids");
		}
	}
	/* Later mailboxes must still get values never seen before. */
	if (ret == STORE_OK) {
		if ((st = store_db_stmt(s, store_sql_uv_raise)) == NULL) {
			ret = STORE_IO;
		} else {
			sqlite3_bind_int64(st, 1, uidvalidity);
			ret = store_db_done(s, st, "raise uidvalidity");
		}
	}
	if (ret == STORE_OK)
		s->changed = true;
	ret = store_txn_end(s, &txn, ret);
	store_mbox_clear(&mbox);
	return ret;
}
