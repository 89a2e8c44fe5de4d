/* store_rename.c — RENAME (RFC 9051 §6.3.6).

   A mailbox is renamed with all its children, in one transaction. Its
   UIDVALIDITY stays, except when a new name was used by a mailbox before:
   a client may still cache that older mailbox's UIDs under the name, so
   the renamed one takes a fresh UIDVALIDITY. Subscriptions of the renamed
   mailboxes follow them (as Dovecot does; clients expect a renamed folder
   to stay visible).

   INBOX is special: renaming it creates the new mailbox, moves every
   message of INBOX into it (new UIDs there, expunges recorded in INBOX)
   and leaves INBOX, empty, where it was; its children do not move. */
#include "store/store_private.h"

#include <string.h>

#include "lib/xmalloc.h"

static const char store_sql_children[] =
	"SELECT id, name FROM mailboxes WHERE name > ? || '/'"
	" AND name < ? || '0' ORDER BY name";
static const char store_sql_name_used[] =
	"SELECT 1 FROM mailbox_names WHERE name = ?";
static const char store_sql_rename_one[] =
	"UPDATE mailboxes SET name = ?, uidvalidity = ? WHERE id = ?";
static const char store_sql_uidvalidity[] =
	"SELECT uidvalidity FROM mailboxes WHERE id = ?";
static const char store_sql_name_record[] =
	"INSERT OR IGNORE INTO mailbox_names (name) VALUES (?)";
static const char store_sql_sub_rename[] =
	"UPDATE OR IGNORE subscriptions SET name = ? WHERE name = ?";
static const char store_sql_sub_drop[] =
	"DELETE FROM subscriptions WHERE name = ?";

struct store_rename_item {
	int64_t id;
	char *old_name, *new_name;
};

static int
store_rename_inbox(struct store *s, const char *new_canon)
{
	struct store_uid_pair *pairs = NULL;
	int64_t inbox_id, new_id;
	size_t n_pairs = 0;
	int ret;

	ret = store_mbox_lookup(s, "INBOX", &inbox_id);
	if (ret == STORE_OK)
		ret = store_mbox_create(s, new_canon, 0, false, true, &new_id);
	/* The messages stay the user's: no quota check on a move. */
	if (ret == STORE_OK)
		ret = store_copy_in_txn(s, inbox_id, NULL, 0, new_id, true,
		    false, &pairs, &n_pairs);
	free(pairs);
	return ret;
}

/* 1 when canon was ever a mailbox name, 0 if not, or a STORE_* error. */
static int
store_rename_name_used(struct store *s, const char *canon)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_name_used);
	int rc, ret;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, canon);
	rc = sqlite3_step(st);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 :
	    store_db_fail(s, "mailbox names");
	sqlite3_reset(st);
	return ret;
}

static int
store_rename_one(struct store *s, const struct store_rename_item *item)
{
	sqlite3_stmt *st;
	uint32_t uv = 0;
	int used, ret;

	if ((used = store_rename_name_used(s, item->new_name)) < 0)
		return used;
	if (used) {
		if ((ret = store_mbox_new_uidvalidity(s, &uv)) != STORE_OK)
			return ret;
	} else {
		if ((st = store_db_stmt(s, store_sql_uidvalidity)) == NULL)
			return STORE_IO;
		sqlite3_bind_int64(st, 1, item->id);
		if (sqlite3_step(st) != SQLITE_ROW) {
			ret = store_db_fail(s, "uidvalidity");
			sqlite3_reset(st);
			return ret;
		}
		uv = (uint32_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	if ((st = store_db_stmt(s, store_sql_rename_one)) == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, item->new_name);
	sqlite3_bind_int64(st, 2, uv);
	sqlite3_bind_int64(st, 3, item->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		/* UNIQUE: a child's new name is taken. */
		ret = store_db_is_constraint(s) ?
		    store_fail(s, STORE_EXISTS, "mailbox \"%s\" already "
		    "exists", item->new_name) : store_db_fail(s, "rename");
		sqlite3_reset(st);
		return ret;
	}
	sqlite3_reset(st);
	if ((st = store_db_stmt(s, store_sql_name_record)) == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, item->new_name);
	if ((ret = store_db_done(s, st, "record name")) != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_sub_rename)) == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, item->new_name);
	store_db_bind_text(st, 2, item->old_name);
	if ((ret = store_db_done(s, st, "subscriptions")) != STORE_OK)
		return ret;
	/* Left behind when the new name was subscribed already. */
	if ((st = store_db_stmt(s, store_sql_sub_drop)) == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, item->old_name);
	return store_db_done(s, st, "subscriptions");
}

/* The mailbox and its children with their new names; checks each new
   name against the length and depth limits. */
static int
store_rename_collect(struct store *s, int64_t id, const char *old_canon,
    const char *new_canon, struct store_rename_item **items_r, size_t *n_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_children);
	struct store_rename_item *items;
	size_t n = 1, cap = 8, old_len = strlen(old_canon);
	int rc, ret = STORE_OK;

	items = xcalloc(cap, sizeof(*items));
	items[0].id = id;
	items[0].old_name = xstrdup(old_canon);
	items[0].new_name = xstrdup(new_canon);
	*items_r = items;
	*n_r = n;
	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, old_canon);
	store_db_bind_text(st, 2, old_canon);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *old_name = store_db_column_str(st, 1);
		char *new_name;

		if (strlen(old_name) <= old_len) {
			free(old_name);	/* cannot be: name > "old/" */
			continue;
		}
		new_name = xasprintf("%s%s", new_canon, old_name + old_len);
		if (n == cap) {
			cap *= 2;
			items = xreallocarray(items, cap, sizeof(*items));
		}
		items[n].id = sqlite3_column_int64(st, 0);
		items[n].old_name = old_name;
		items[n].new_name = new_name;
		n++;
		*items_r = items;
		*n_r = n;
		if (strlen(new_name) > STORE_NAME_MAX ||
		    store_name_depth(new_name) > STORE_DEPTH_MAX) {
			ret = store_fail(s, STORE_INVALID, "renaming \"%s\" "
			    "would make \"%s\" too long or too deep",
			    old_canon, old_name);
			break;
		}
	}
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_db_fail(s, "children");
	sqlite3_reset(st);
	*items_r = items;
	*n_r = n;
	return ret;
}

static int
store_rename_tree(struct store *s, const char *old_canon,
    const char *new_canon)
{
	struct store_rename_item *items = NULL;
	size_t n = 0, old_len = strlen(old_canon);
	int64_t id, other;
	int ret;

	if ((ret = store_mbox_lookup(s, old_canon, &id)) != STORE_OK)
		return ret;
	if (strncmp(new_canon, old_canon, old_len) == 0 &&
	    new_canon[old_len] == STORE_SEPARATOR)
		return store_fail(s, STORE_INVALID, "cannot rename \"%s\" "
		    "under itself", old_canon);
	ret = store_mbox_lookup(s, new_canon, &other);
	if (ret == STORE_OK)
		return store_fail(s, STORE_EXISTS,
		    "mailbox \"%s\" already exists", new_canon);
	if (ret != STORE_NOT_FOUND)
		return ret;
	ret = store_rename_collect(s, id, old_canon, new_canon, &items, &n);
	if (ret == STORE_OK) {
		const char *slash = strrchr(new_canon, STORE_SEPARATOR);

		if (slash != NULL) {
			char *parent = xstrndup(new_canon,
			    (size_t)(slash - new_canon));

			ret = store_mbox_create(s, parent, 0, false, false,
			    NULL);
			free(parent);
		}
	}
	for (size_t i = 0; ret == STORE_OK && i < n; i++)
		ret = store_rename_one(s, &items[i]);
	for (size_t i = 0; i < n; i++) {
		free(items[i].old_name);
		free(items[i].new_name);
	}
	free(items);
	if (ret == STORE_OK)
		s->changed = true;
	return ret;
}

int
store_mailbox_rename(struct store *s, const char *old_name,
    const char *new_name)
{
	char *old_canon = NULL, *new_canon = NULL;
	struct store_txn txn;
	int ret;

	if ((ret = store_name_canon(s, old_name, &old_canon)) != STORE_OK ||
	    (ret = store_name_canon(s, new_name, &new_canon)) != STORE_OK)
		goto out;
	if (store_name_is_inbox(new_canon) ||
	    strcmp(old_canon, new_canon) == 0) {
		ret = store_fail(s, STORE_EXISTS,
		    "mailbox \"%s\" already exists", new_canon);
		goto out;
	}
	store_txn_init(s, &txn);
	ret = store_txn_begin(s, &txn);
	if (ret == STORE_OK)
		ret = store_name_is_inbox(old_canon) ?
		    store_rename_inbox(s, new_canon) :
		    store_rename_tree(s, old_canon, new_canon);
	ret = store_txn_end(s, &txn, ret);
out:
	free(old_canon);
	free(new_canon);
	return ret;
}
