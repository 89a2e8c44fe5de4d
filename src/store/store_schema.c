/* store_schema.c — the schema of index.db as numbered migration steps
   (as directory_schema.c). PRAGMA user_version holds the number of steps
   applied; each step runs in one IMMEDIATE transaction with its version
   bump, so two handles opening a new account at once cannot both migrate
   it, and a crash leaves the database at a step boundary. Never edit a
   step that has shipped: append one.

   Counters (messages, unseen, deleted and size per mailbox; bytes and
   messages per account, for the quota) are kept by triggers, in the same
   transaction as the row change, so they are exact by construction. */
#include "store/store_private.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmalloc.h"

static const char *const store_schema_steps[] = {
	/* 1 */
	/* One row: the account's totals (quota) and the last UIDVALIDITY
	   handed out, which every new one must exceed. */
	"CREATE TABLE account ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  last_uidvalidity INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  messages INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO account (id) VALUES (1);"
	/* AUTOINCREMENT: a session holding the id of a deleted mailbox must
	   never reach a new one. */
	"CREATE TABLE mailboxes ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"	/* canonical (store_name.c) */
	"  special_use INTEGER NOT NULL DEFAULT 0,"
	"  uidvalidity INTEGER NOT NULL"
	"    CHECK (uidvalidity BETWEEN 1 AND 4294967295),"
	"  uidnext INTEGER NOT NULL DEFAULT 1"
	"    CHECK (uidnext BETWEEN 1 AND 4294967295),"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  unseen INTEGER NOT NULL DEFAULT 0,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL DEFAULT 0"
	");"
	/* Every name a mailbox ever had: a rename onto one of them takes a
	   new UIDVALIDITY (store.h). */
	"CREATE TABLE mailbox_names (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	/* The bytes of a message and what is computed from them once; all
	   copies share the row, so EMAILID and THREADID follow copies. */
	"CREATE TABLE contents ("
	"  id INTEGER PRIMARY KEY,"
	"  emailid TEXT NOT NULL UNIQUE,"
	"  threadid TEXT NOT NULL,"
	"  size INTEGER NOT NULL CHECK (size > 0),"
	"  envelope TEXT,"
	"  body TEXT,"
	"  bodystructure TEXT"
	");"
	/* One row per message in a mailbox, each with its own hard link
	   (file, "xx/id"). Clustered by (mailbox, uid): FETCH walks UIDs. */
	"CREATE TABLE messages ("
	"  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),"
	"  uid INTEGER NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),"
	"  modseq INTEGER NOT NULL,"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  keywords TEXT NOT NULL DEFAULT '',"
	"  internal_date INTEGER NOT NULL,"
	"  save_date INTEGER NOT NULL,"
	"  size INTEGER NOT NULL CHECK (size > 0),"
	"  content_id INTEGER NOT NULL REFERENCES contents(id),"
	"  file TEXT NOT NULL UNIQUE,"
	"  PRIMARY KEY (mailbox_id, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE INDEX messages_content ON messages(content_id);"
	/* QRESYNC VANISHED (RFC 7162 §3.2.5.1): what went, and when. */
	"CREATE TABLE expunged ("
	"  mailbox_id INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL,"
	"  PRIMARY KEY (mailbox_id, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	/* Message-ID (with its <>) -> THREADID. */
	"CREATE TABLE threads ("
	"  message_id TEXT PRIMARY KEY,"
	"  threadid TEXT NOT NULL"
	") WITHOUT ROWID;"
	/* Deliveries already stored (store_append.delivery_key). Kept past
	   the message's expunge, so a delivery retried after the user
	   deleted it is still not stored twice; pruned after 30 days. */
	"CREATE TABLE delivery_keys ("
	"  key TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TRIGGER messages_insert AFTER INSERT ON messages BEGIN"
	"  UPDATE mailboxes SET messages = messages + 1,"
	"    unseen = unseen + ((NEW.flags & 1) = 0),"
	"    deleted = deleted + ((NEW.flags & 8) != 0),"
	"    size = size + NEW.size"
	"    WHERE id = NEW.mailbox_id;"
	"  UPDATE account SET messages = messages + 1,"
	"    bytes = bytes + NEW.size;"
	"END;"
	"CREATE TRIGGER messages_delete AFTER DELETE ON messages BEGIN"
	"  UPDATE mailboxes SET messages = messages - 1,"
	"    unseen = unseen - ((OLD.flags & 1) = 0),"
	"    deleted = deleted - ((OLD.flags & 8) != 0),"
	"    size = size - OLD.size"
	"    WHERE id = OLD.mailbox_id;"
	"  UPDATE account SET messages = messages - 1,"
	"    bytes = bytes - OLD.size;"
	"  DELETE FROM contents WHERE id = OLD.content_id AND NOT EXISTS"
	"    (SELECT 1 FROM messages WHERE content_id = OLD.content_id);"
	"END;"
	"CREATE TRIGGER messages_update AFTER UPDATE OF flags, mailbox_id"
	"  ON messages BEGIN"
	"  UPDATE mailboxes SET messages = messages - 1,"
	"    unseen = unseen - ((OLD.flags & 1) = 0),"
	"    deleted = deleted - ((OLD.flags & 8) != 0),"
	"    size = size - OLD.size"
	"    WHERE id = OLD.mailbox_id;"
	"  UPDATE mailboxes SET messages = messages + 1,"
	"    unseen = unseen + ((NEW.flags & 1) = 0),"
	"    deleted = deleted + ((NEW.flags & 8) != 0),"
	"    size = size + NEW.size"
	"    WHERE id = NEW.mailbox_id;"
	"END;",
	/* 2 */
	/* \Recent (store_recent.c): the first UID no session has claimed.
	   Mail that was there before is not recent: no session could tell
	   which of it was seen. */
	"ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL"
	"  DEFAULT 1 CHECK (recent_uid BETWEEN 1 AND 4294967295);"
	"UPDATE mailboxes SET recent_uid = uidnext;",
};

#define STORE_SCHEMA_VERSION \
	((int)(sizeof(store_schema_steps) / sizeof(store_schema_steps[0])))

/* RFC 6154 §2 names; all subscribed, as clients expect to see them. */
static const struct {
	const char *name;
	unsigned special_use;
} store_schema_defaults[] = {
	{ "INBOX", 0 },
	{ "Drafts", STORE_SPECIAL_DRAFTS },
	{ "Sent", STORE_SPECIAL_SENT },
	{ "Junk", STORE_SPECIAL_JUNK },
	{ "Trash", STORE_SPECIAL_TRASH },
	{ "Archive", STORE_SPECIAL_ARCHIVE },
};

static int
store_schema_version(struct store *s, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return store_db_fail(s, "user_version");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? STORE_OK : store_db_fail(s, "user_version");
}

/* Runs after step 1 inside its transaction: a new account is never seen
   without its INBOX. */
static int
store_schema_defaults_create(struct store *s)
{
	for (size_t i = 0; i < sizeof(store_schema_defaults) /
	    sizeof(store_schema_defaults[0]); i++) {
		int ret = store_mbox_create(s, store_schema_defaults[i].name,
		    store_schema_defaults[i].special_use, true, false, NULL);

		if (ret != STORE_OK)
			return ret;
	}
	return STORE_OK;
}

int
store_schema_migrate(struct store *s)
{
	int version, ret;

	if ((ret = store_schema_version(s, &version)) != STORE_OK)
		return ret;
	while (version < STORE_SCHEMA_VERSION) {
		char pragma[64];

		/* Read again under the write lock: another handle may have
		   migrated meanwhile. */
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK)
			return store_db_fail(s, "begin migration");
		if ((ret = store_schema_version(s, &version)) != STORE_OK)
			goto rollback;
		if (version >= STORE_SCHEMA_VERSION)
			break;
		if (version < 0)
			goto newer;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version + 1);
		if ((ret = store_db_exec(s, store_schema_steps[version])) !=
		    STORE_OK)
			goto rollback;
		if (version == 0 &&
		    (ret = store_schema_defaults_create(s)) != STORE_OK)
			goto rollback;
		if ((ret = store_db_exec(s, pragma)) != STORE_OK ||
		    (ret = store_db_exec(s, "COMMIT")) != STORE_OK)
			goto rollback;
		version++;
	}
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (version > STORE_SCHEMA_VERSION)
		goto newer;
	return STORE_OK;
newer:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return store_fail(s, STORE_IO, "schema version %d is not one this "
	    "petrel understands (%d)", version, STORE_SCHEMA_VERSION);
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}
