/* queue_db.c — the SQLite backend of the queue: DATA/queue/queue.db.

   WAL with synchronous=FULL: a COMMIT that returned is on disk, which is
   what lets the committer answer 250. The schema is versioned through
   PRAGMA user_version and brought up to date in one IMMEDIATE transaction,
   so two processes opening a new queue at once cannot both migrate it.
   Everything SQLite-specific stays in this file (DESIGN.md §3: a PostgreSQL
   backend comes later); enums are stored as the RFC keywords, not as our
   numbers, so the rows read the same from any client. */
#include "queue/queue_private.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <string.h>

#include "lib/xmalloc.h"

/* A committer blocked by another process (the CLI) longer than this answers
   451 rather than holding every session waiting. */
#define QUEUE_DB_BUSY_TIMEOUT_MS 10000

struct queue_db {
	sqlite3 *db;
	sqlite3_stmt *ins_msg, *ins_rcpt;	/* writer, prepared lazily */
	sqlite3_stmt *ins_event;
};

/* Version N is reached by running migrations[0..N-1] in order. Never edit a
   step that has shipped; append one. */
static const char *const queue_db_migrations[] = {
	/* 1: envelopes and per-recipient delivery state (RFC 3461 DSN
	   parameters kept for the bounce the delivery agent may owe). */
	"CREATE TABLE messages ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" mail_from TEXT NOT NULL,"
	" body TEXT NOT NULL"
	"  CHECK (body IN ('7BIT', '8BITMIME', 'BINARYMIME')),"
	" smtputf8 INTEGER NOT NULL CHECK (smtputf8 IN (0, 1)),"
	" ret TEXT CHECK (ret IN ('FULL', 'HDRS')),"
	" envid TEXT,"
	" helo TEXT,"
	" client_addr TEXT,"
	" auth_user TEXT,"
	" arrival INTEGER NOT NULL,"
	" size INTEGER NOT NULL CHECK (size >= 0),"
	" next_attempt INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX messages_next_attempt ON messages (next_attempt);"
	"CREATE TABLE recipients ("
	" message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" notify INTEGER NOT NULL DEFAULT 0 CHECK (notify BETWEEN 0 AND 15),"
	" orcpt TEXT,"
	" status TEXT NOT NULL DEFAULT 'queued',"
	" last_error TEXT,"
	" PRIMARY KEY (message_id, idx)"
	") WITHOUT ROWID;",
	/* 2: the outbound agent. Per recipient: when the next remote
	   attempt is due (retry_at), attempts so far (tries), which DSNs
	   were sent (dsn_sent: 1 the final one, failure or success; 2 the
	   delay warning), whether an attempt holds it now (claimed: reset
	   when the agent starts, so a crash never strands a recipient), the
	   last remote server (relay). events: what happened to a message,
	   kept after it left the queue (petrel trace). mta_sts: the policy
	   cache of RFC 8461 §3.3. */
	"ALTER TABLE recipients ADD COLUMN retry_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recipients ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recipients ADD COLUMN dsn_sent INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recipients ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recipients ADD COLUMN relay TEXT;"
	"CREATE INDEX recipients_work ON recipients (status, retry_at);"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" qid TEXT NOT NULL,"
	" time INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" rcpt TEXT,"
	" detail TEXT,"
	" msgid TEXT"
	");"
	"CREATE INDEX events_qid ON events (qid);"
	"CREATE INDEX events_msgid ON events (msgid) WHERE msgid IS NOT NULL;"
	"CREATE INDEX events_time ON events (time);"
	"CREATE TABLE mta_sts ("
	" domain TEXT PRIMARY KEY NOT NULL,"
	" policy_id TEXT NOT NULL,"
	" policy TEXT NOT NULL,"
	" fetched INTEGER NOT NULL,"
	" expires INTEGER NOT NULL"
	") WITHOUT ROWID;",
};
#define QUEUE_DB_VERSION \
	((int)(sizeof(queue_db_migrations) / sizeof(queue_db_migrations[0])))

static const char *const queue_db_body_names[] = {
	[QUEUE_BODY_7BIT] = "7BIT",
	[QUEUE_BODY_8BITMIME] = "8BITMIME",
	[QUEUE_BODY_BINARYMIME] = "BINARYMIME",
};

static int
queue_db_fail(struct queue_db *db, const char *what, char **error_r)
{
	*error_r = xasprintf("queue.db: %s: %s", what, sqlite3_errmsg(db->db));
	return -1;
}

static int
queue_db_exec(struct queue_db *db, const char *sql, char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	*error_r = xasprintf("queue.db: %s", msg ? msg : "error");
	sqlite3_free(msg);
	return -1;
}

static int
queue_db_prepare(struct queue_db *db, const char *sql, unsigned flags,
    sqlite3_stmt **stmt_r, char **error_r)
{
	if (sqlite3_prepare_v3(db->db, sql, -1, flags, stmt_r, NULL) !=
	    SQLITE_OK)
		return queue_db_fail(db, "prepare", error_r);
	return 0;
}

static int
queue_db_get_int(struct queue_db *db, const char *sql, int *value_r,
    char **error_r)
{
	sqlite3_stmt *stmt;
	int ret = -1;

	if (queue_db_prepare(db, sql, 0, &stmt, error_r) == -1)
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		queue_db_fail(db, sql, error_r);
		goto out;
	}
	*value_r = sqlite3_column_int(stmt, 0);
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return ret;
}

static int
queue_db_migrate(struct queue_db *db, char **error_r)
{
	char *sql;
	int version;

	if (queue_db_exec(db, "BEGIN IMMEDIATE", error_r) == -1)
		return -1;
	if (queue_db_get_int(db, "PRAGMA user_version", &version,
	    error_r) == -1)
		goto fail;
	if (version < 0 || version > QUEUE_DB_VERSION) {
		*error_r = xasprintf("queue.db: schema version %d is newer "
		    "than this petrel understands (%d)", version,
		    QUEUE_DB_VERSION);
		goto fail;
	}
	for (int v = version; v < QUEUE_DB_VERSION; v++) {
		if (queue_db_exec(db, queue_db_migrations[v], error_r) == -1)
			goto fail;
	}
	sql = xasprintf("PRAGMA user_version = %d", QUEUE_DB_VERSION);
	if (queue_db_exec(db, sql, error_r) == -1) {
		free(sql);
		goto fail;
	}
	free(sql);
	return queue_db_exec(db, "COMMIT", error_r);
fail:
	sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
queue_db_setup(struct queue_db *db, bool writer, char **error_r)
{
	sqlite3_stmt *stmt;
	int ret = -1;

	if (sqlite3_busy_timeout(db->db, QUEUE_DB_BUSY_TIMEOUT_MS) !=
	    SQLITE_OK)
		return queue_db_fail(db, "busy_timeout", error_r);
	if (queue_db_exec(db, "PRAGMA foreign_keys = ON", error_r) == -1)
		return -1;
	if (!writer)
		return queue_db_exec(db, "PRAGMA query_only = ON", error_r);
	if (queue_db_prepare(db, "PRAGMA journal_mode = WAL", 0, &stmt,
	    error_r) == -1)
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		queue_db_fail(db, "journal_mode", error_r);
		goto out;
	}
	/* The answer is the mode in force: a file system without shared
	   memory support leaves the rollback journal, which we refuse
	   rather than run with other durability than designed. */
	const unsigned char *mode = sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		*error_r = xasprintf("queue.db: cannot enable WAL (mode %s)",
		    mode ? (const char *)mode : "unknown");
		goto out;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* FULL: the WAL is fsynced at every commit (NORMAL would only sync at
	   checkpoints and could lose acknowledged mail on power loss). */
	if (queue_db_exec(db, "PRAGMA synchronous = FULL", error_r) == -1)
		goto out;
	ret = queue_db_migrate(db, error_r);
out:
	sqlite3_finalize(stmt);
	return ret;
}

int
queue_db_open(const char *path, bool writer, struct queue_db **db_r,
    char **error_r)
{
	struct queue_db *db = xcalloc(1, sizeof(*db));
	int flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READWRITE;

	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path,
		    db->db ? sqlite3_errmsg(db->db) : "cannot open");
		goto fail;
	}
	if (queue_db_setup(db, writer, error_r) == -1)
		goto fail;
	*db_r = db;
	return 0;
fail:
	queue_db_close(&db);
	return -1;
}

void
queue_db_close(struct queue_db **dbp)
{
	struct queue_db *db = *dbp;

	if (db == NULL)
		return;
	sqlite3_finalize(db->ins_msg);
	sqlite3_finalize(db->ins_rcpt);
	sqlite3_finalize(db->ins_event);
	sqlite3_close(db->db);
	free(db);
	*dbp = NULL;
}

int
queue_db_begin(struct queue_db *db, char **error_r)
{
	/* IMMEDIATE: take the write lock now, so a busy database shows up
	   here and not half-way through the inserts. */
	return queue_db_exec(db, "BEGIN IMMEDIATE", error_r);
}

int
queue_db_commit(struct queue_db *db, char **error_r)
{
	if (queue_db_exec(db, "COMMIT", error_r) == 0)
		return 0;
	queue_db_rollback(db);
	return -1;
}

void
queue_db_rollback(struct queue_db *db)
{
	/* A failed COMMIT may already have rolled back (autocommit is back);
	   then there is nothing to undo. */
	if (!sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

struct sqlite3 *
queue_db_sqlite(struct queue_db *db)
{
	return db->db;
}

static int
queue_db_bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(stmt, col);
	return sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
}

static int
queue_db_insert_rows(struct queue_db *db, const struct queue_envelope *env,
    const char *msgid, char **error_r)
{
	sqlite3_stmt *m, *r, *e;
	int rc = SQLITE_OK;
	char *detail;

	if (db->ins_msg == NULL && queue_db_prepare(db,
	    "INSERT INTO messages (id, mail_from, body, smtputf8, ret, envid,"
	    " helo, client_addr, auth_user, arrival, size, next_attempt,"
	    " attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
	    SQLITE_PREPARE_PERSISTENT, &db->ins_msg, error_r) == -1)
		return -1;
	if (db->ins_rcpt == NULL && queue_db_prepare(db,
	    "INSERT INTO recipients (message_id, idx, address, notify, orcpt,"
	    " status, last_error) VALUES (?, ?, ?, ?, ?, 'queued', NULL)",
	    SQLITE_PREPARE_PERSISTENT, &db->ins_rcpt, error_r) == -1)
		return -1;
	if (db->ins_event == NULL && queue_db_prepare(db,
	    "INSERT INTO events (qid, time, event, rcpt, detail, msgid)"
	    " VALUES (?, ?, 'queued', NULL, ?, ?)",
	    SQLITE_PREPARE_PERSISTENT, &db->ins_event, error_r) == -1)
		return -1;
	m = db->ins_msg;
	r = db->ins_rcpt;
	e = db->ins_event;
	if ((unsigned)env->body >= sizeof(queue_db_body_names) /
	    sizeof(queue_db_body_names[0]) || env->size > INT64_MAX) {
		*error_r = xstrdup("queue.db: envelope out of range");
		return -1;
	}
	sqlite3_reset(m);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 1, env->id);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 2, env->mail_from);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 3, queue_db_body_names[env->body]);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(m, 4, env->smtputf8 ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 5,
		    env->ret == QUEUE_RET_FULL ? "FULL" :
		    env->ret == QUEUE_RET_HDRS ? "HDRS" : NULL);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 6, env->envid);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 7, env->helo);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 8, env->client_addr);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(m, 9, env->auth_user);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(m, 10, (sqlite3_int64)env->arrival);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(m, 11, (sqlite3_int64)env->size);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(m, 12,
		    (sqlite3_int64)env->next_attempt);
	if (rc != SQLITE_OK || sqlite3_step(m) != SQLITE_DONE)
		return queue_db_fail(db, "insert message", error_r);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *rcpt = &env->rcpts[i];

		sqlite3_reset(r);
		rc = queue_db_bind_text(r, 1, env->id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(r, 2, (sqlite3_int64)i);
		if (rc == SQLITE_OK)
			rc = queue_db_bind_text(r, 3, rcpt->address);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(r, 4, (int)(rcpt->notify & 15));
		if (rc == SQLITE_OK)
			rc = queue_db_bind_text(r, 5, rcpt->orcpt);
		if (rc != SQLITE_OK || sqlite3_step(r) != SQLITE_DONE)
			return queue_db_fail(db, "insert recipient", error_r);
	}
	/* The first line of the story petrel trace tells. */
	detail = xasprintf("from=<%s> size=%llu nrcpt=%zu client=%s%s%s",
	    env->mail_from, (unsigned long long)env->size, env->n_rcpts,
	    env->client_addr != NULL ? env->client_addr : "local",
	    env->auth_user != NULL ? " sasl_username=" : "",
	    env->auth_user != NULL ? env->auth_user : "");
	sqlite3_reset(e);
	rc = queue_db_bind_text(e, 1, env->id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(e, 2, (sqlite3_int64)env->arrival);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(e, 3, detail, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = queue_db_bind_text(e, 4, msgid);
	free(detail);
	if (rc != SQLITE_OK || sqlite3_step(e) != SQLITE_DONE)
		return queue_db_fail(db, "insert event", error_r);
	return 0;
}

int
queue_db_insert(struct queue_db *db, const struct queue_envelope *env,
    const char *msgid, char **error_r)
{
	int ret;

	if (queue_db_exec(db, "SAVEPOINT queue_msg", error_r) == -1)
		return -1;
	ret = queue_db_insert_rows(db, env, msgid, error_r);
	/* The statements keep no lock or bound pointer past this call. */
	if (db->ins_msg != NULL) {
		sqlite3_reset(db->ins_msg);
		sqlite3_clear_bindings(db->ins_msg);
	}
	if (db->ins_rcpt != NULL) {
		sqlite3_reset(db->ins_rcpt);
		sqlite3_clear_bindings(db->ins_rcpt);
	}
	if (db->ins_event != NULL) {
		sqlite3_reset(db->ins_event);
		sqlite3_clear_bindings(db->ins_event);
	}
	if (ret == 0)
		return queue_db_exec(db, "RELEASE queue_msg", error_r);
	/* Undo this message only; the rest of the batch goes on. */
	sqlite3_exec(db->db, "ROLLBACK TO queue_msg; RELEASE queue_msg",
	    NULL, NULL, NULL);
	return -1;
}

int
queue_db_exists(struct queue_db *db, const char *id, char **error_r)
{
	sqlite3_stmt *stmt;
	int ret = -1, rc;

	if (queue_db_prepare(db, "SELECT 1 FROM messages WHERE id = ?", 0,
	    &stmt, error_r) == -1)
		return -1;
	if (queue_db_bind_text(stmt, 1, id) != SQLITE_OK) {
		queue_db_fail(db, "bind", error_r);
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		ret = 1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		queue_db_fail(db, "select", error_r);
out:
	sqlite3_finalize(stmt);
	return ret;
}

int
queue_db_each(struct queue_db *db, queue_db_each_fn *fn, void *ctx,
    char **error_r)
{
	sqlite3_stmt *stmt;
	int ret = -1, rc;

	if (queue_db_prepare(db, "SELECT id, size FROM messages ORDER BY id",
	    0, &stmt, error_r) == -1)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);
		sqlite3_int64 size = sqlite3_column_int64(stmt, 1);

		if (id == NULL)
			continue;	/* NOT NULL in the schema */
		if (fn(id, size < 0 ? 0 : (uint64_t)size, ctx) != 0) {
			ret = 0;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		queue_db_fail(db, "select", error_r);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return ret;
}

/* Column col as a heap string, NULL for SQL NULL. */
static char *
queue_db_column_str(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	if (s == NULL)
		return NULL;
	return xstrndup((const char *)s,
	    (size_t)sqlite3_column_bytes(stmt, col));
}

/* Another process (or a later petrel) may have written the rows: check what
   the schema cannot. */
int
queue_db_read_message(sqlite3_stmt *stmt, struct queue_envelope *env,
    char **error_r)
{
	const char *id = (const char *)sqlite3_column_text(stmt, 0);
	const char *body = (const char *)sqlite3_column_text(stmt, 2);
	const char *ret = (const char *)sqlite3_column_text(stmt, 4);
	sqlite3_int64 size = sqlite3_column_int64(stmt, 10);
	size_t b;

	memset(env, 0, sizeof(*env));
	if (id == NULL || !queue_id_is_valid(id)) {
		*error_r = xstrdup("queue.db: message row with a bad id");
		return -1;
	}
	memcpy(env->id, id, strlen(id) + 1);
	for (b = 0; b < sizeof(queue_db_body_names) /
	    sizeof(queue_db_body_names[0]); b++) {
		if (body != NULL && strcmp(body, queue_db_body_names[b]) == 0)
			break;
	}
	if (b == sizeof(queue_db_body_names) / sizeof(queue_db_body_names[0])
	    || size < 0 || (ret != NULL && strcmp(ret, "FULL") != 0 &&
	    strcmp(ret, "HDRS") != 0)) {
		*error_r = xasprintf("queue.db: message %s: bad row", env->id);
		return -1;
	}
	env->body = (enum queue_body)b;
	env->ret = ret == NULL ? QUEUE_RET_UNSET :
	    strcmp(ret, "FULL") == 0 ? QUEUE_RET_FULL : QUEUE_RET_HDRS;
	env->mail_from = queue_db_column_str(stmt, 1);
	if (env->mail_from == NULL)
		env->mail_from = xstrdup("");
	env->smtputf8 = sqlite3_column_int(stmt, 3) != 0;
	env->envid = queue_db_column_str(stmt, 5);
	env->helo = queue_db_column_str(stmt, 6);
	env->client_addr = queue_db_column_str(stmt, 7);
	env->auth_user = queue_db_column_str(stmt, 8);
	env->arrival = (time_t)sqlite3_column_int64(stmt, 9);
	env->size = (uint64_t)size;
	env->next_attempt = (time_t)sqlite3_column_int64(stmt, 11);
	env->attempts = (unsigned)sqlite3_column_int(stmt, 12);
	return 0;
}

int
queue_db_read_rcpts(struct queue_db *db, sqlite3_stmt *stmt,
    struct queue_envelope *env, char **error_r)
{
	size_t cap = 0;
	int rc;

	sqlite3_reset(stmt);
	if (queue_db_bind_text(stmt, 1, env->id) != SQLITE_OK)
		return queue_db_fail(db, "bind", error_r);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct queue_rcpt *r;
		sqlite3_int64 notify = sqlite3_column_int64(stmt, 1);

		if (env->n_rcpts == cap) {
			cap = cap ? cap * 2 : 4;
			env->rcpts = xreallocarray(env->rcpts, cap,
			    sizeof(*env->rcpts));
		}
		r = &env->rcpts[env->n_rcpts++];
		memset(r, 0, sizeof(*r));
		r->address = queue_db_column_str(stmt, 0);
		r->notify = notify < 0 || notify > 15 ? 0 : (unsigned)notify;
		r->orcpt = queue_db_column_str(stmt, 2);
		r->status = queue_db_column_str(stmt, 3);
		r->last_error = queue_db_column_str(stmt, 4);
		r->idx = (unsigned)sqlite3_column_int(stmt, 5);
		r->retry_at = (time_t)sqlite3_column_int64(stmt, 6);
		r->tries = (unsigned)sqlite3_column_int(stmt, 7);
		r->dsn_sent = (unsigned)sqlite3_column_int(stmt, 8) & 3;
		r->relay = queue_db_column_str(stmt, 9);
		if (r->address == NULL)
			r->address = xstrdup("");
		if (r->status == NULL)
			r->status = xstrdup("queued");
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return queue_db_fail(db, "select recipients", error_r);
	return 0;
}

#define QUEUE_DB_RCPT_SELECT \
	QUEUE_DB_RCPT_COLUMNS " WHERE message_id = ? ORDER BY idx"

int
queue_db_list(struct queue_db *db, struct queue_envelope **envs_r,
    size_t *n_r, char **error_r)
{
	sqlite3_stmt *msgs = NULL, *rcpts = NULL;
	struct queue_envelope *envs = NULL;
	size_t n = 0, cap = 0;
	int ret = -1, rc;

	/* One read transaction: a consistent snapshot of every row. */
	if (queue_db_exec(db, "BEGIN", error_r) == -1)
		return -1;
	if (queue_db_prepare(db, QUEUE_DB_MESSAGE_COLUMNS
	    " ORDER BY arrival, id", 0, &msgs, error_r) == -1 ||
	    queue_db_prepare(db, QUEUE_DB_RCPT_SELECT, 0, &rcpts,
	    error_r) == -1)
		goto out;
	while ((rc = sqlite3_step(msgs)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			envs = xreallocarray(envs, cap, sizeof(*envs));
		}
		if (queue_db_read_message(msgs, &envs[n], error_r) == -1) {
			queue_envelope_clear(&envs[n]);
			goto out;
		}
		n++;
		if (queue_db_read_rcpts(db, rcpts, &envs[n - 1],
		    error_r) == -1)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		queue_db_fail(db, "select messages", error_r);
		goto out;
	}
	*envs_r = envs;
	*n_r = n;
	envs = NULL;
	n = 0;
	ret = 0;
out:
	sqlite3_finalize(msgs);
	sqlite3_finalize(rcpts);
	sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
	queue_envelopes_free(envs, n);
	return ret;
}

int
queue_db_show(struct queue_db *db, const char *id,
    struct queue_envelope *env_r, char **error_r)
{
	sqlite3_stmt *msg = NULL, *rcpts = NULL;
	int ret = -1, rc;

	memset(env_r, 0, sizeof(*env_r));
	if (queue_db_exec(db, "BEGIN", error_r) == -1)
		return -1;
	if (queue_db_prepare(db, QUEUE_DB_MESSAGE_COLUMNS " WHERE id = ?", 0,
	    &msg, error_r) == -1 ||
	    queue_db_prepare(db, QUEUE_DB_RCPT_SELECT, 0, &rcpts,
	    error_r) == -1)
		goto out;
	if (queue_db_bind_text(msg, 1, id) != SQLITE_OK) {
		queue_db_fail(db, "bind", error_r);
		goto out;
	}
	rc = sqlite3_step(msg);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		queue_db_fail(db, "select message", error_r);
		goto out;
	}
	if (queue_db_read_message(msg, env_r, error_r) == -1 ||
	    queue_db_read_rcpts(db, rcpts, env_r, error_r) == -1) {
		queue_envelope_clear(env_r);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(msg);
	sqlite3_finalize(rcpts);
	sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
	return ret;
}
