/* store_private.h — what the files of src/store/ share: the handle, the
   transaction machinery, the statement cache and the per-file helpers.
   Nothing outside src/store/ includes this file (tests do).

   Transactions (store.c): every modifying call runs inside a store_txn. At
   the top level (no store_begin) it is BEGIN IMMEDIATE ... COMMIT; inside
   store_begin it is a SAVEPOINT, so a failed call undoes only its own rows
   and files and the batch may go on. Files a call creates are listed in
   created[] (removed again on rollback); files whose rows a call deletes
   are listed in doomed[] (unlinked only after the COMMIT). Before COMMIT
   each msg/<xx> directory that received a file is fsynced once. */
#ifndef PETREL_STORE_PRIVATE_H
#define PETREL_STORE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* "xx/" + a 26-character id + NUL: the file column of a message row. */
#define STORE_FILE_ID_LEN 26
#define STORE_FILE_NAME_SIZE (3 + STORE_FILE_ID_LEN + 1)

/* A writer waiting longer than this for another writer of the account
   gives up with STORE_IO, which the caller answers as a temporary error. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Keywords (RFC 9051 §2.3.2 flag-keyword): a message carries at most
   this many, each at most this long; more is a client bug or an attack
   on the row size. */
#define STORE_KEYWORDS_MAX 128
#define STORE_KEYWORD_LEN_MAX 128

struct store_stmt_slot {
	const char *sql;		/* identity: a static string */
	sqlite3_stmt *stmt;
};

struct store {
	char *dir;			/* DATA/accounts/<id> */
	int msg_fd;			/* DATA/accounts/<id>/msg */
	int lock_fd;			/* store.lock, held shared */
	int64_t account_id;
	struct store_limits limits;
	sqlite3 *db;
	char *error;

	struct store_stmt_slot *stmts;
	size_t n_stmts, cap_stmts;

	/* The open transaction (store_begin, or one call's own). */
	bool user_txn;			/* store_begin ran */
	bool changed;			/* notify watchers after COMMIT */
	int txn_dir;			/* its msg/<xx>, or -1 */
	uint8_t dirty_dirs[32];		/* a bit per xx: fsync first */
	char **created;			/* "xx/id" it made */
	size_t n_created, cap_created;
	char **doomed;			/* "xx/id" to unlink after */
	size_t n_doomed, cap_doomed;
};

/* --- store.c ------------------------------------------------------------ */

/* Sets the message of the failed call; returns code (a STORE_* error). */
int store_fail(struct store *store, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct store_txn {
	size_t created_mark, doomed_mark;
	bool top;			/* BEGIN IMMEDIATE, not a savepoint */
	bool started;			/* the SQL part began */
};

/* Marks where this call's files start; no SQL yet (a call may write its
   file before it takes the write lock). */
void store_txn_init(struct store *store, struct store_txn *txn);
/* BEGIN IMMEDIATE, or SAVEPOINT inside store_begin. STORE_OK or STORE_IO. */
int store_txn_begin(struct store *store, struct store_txn *txn);
/* Ends the call: with ret STORE_OK commits (top level: fsyncs the dirty
   directories, COMMIT, unlinks doomed files, notifies watchers) or
   releases the savepoint; otherwise rolls back and removes the files the
   call created. Returns ret, or STORE_IO when the COMMIT failed. */
int store_txn_end(struct store *store, struct store_txn *txn, int ret);

/* --- store_db.c: SQLite helpers ----------------------------------------- */

/* The prepared statement for sql (a static string: cached by address),
   reset with bindings cleared. NULL on error (store_error set). */
sqlite3_stmt *store_db_stmt(struct store *store, const char *sql);
void store_db_finalize_all(struct store *store);
/* Sets STORE_IO from the connection's error; what names the operation. */
int store_db_fail(struct store *store, const char *what);
int store_db_exec(struct store *store, const char *sql);
/* Steps a statement that returns no row, then resets it. */
int store_db_done(struct store *store, sqlite3_stmt *stmt, const char *what);
int store_db_bind_text(sqlite3_stmt *stmt, int col, const char *s);
/* Column col as a heap string ("" for NULL). */
char *store_db_column_str(sqlite3_stmt *stmt, int col);
/* True when the last error was a UNIQUE/PRIMARY KEY violation. */
bool store_db_is_constraint(struct store *store);

/* --- store_schema.c ----------------------------------------------------- */

/* Brings index.db up to date; a new database gets the default mailboxes
   in the same transaction. Returns STORE_OK or STORE_IO. */
int store_schema_migrate(struct store *store);

/* --- store_name.c ------------------------------------------------------- */

/* Checks name against the rules of store.h and returns its canonical form
   (heap): a first level spelled INBOX in any case becomes "INBOX".
   STORE_OK, or STORE_INVALID with the reason. */
int store_name_canon(struct store *store, const char *name, char **canon_r);
bool store_name_is_inbox(const char *canon);
/* The number of levels of a canonical name. */
unsigned store_name_depth(const char *canon);

/* --- store_id.c --------------------------------------------------------- */

/* A new file id: 26 upper-case hex digits, time-sortable (µs, counter,
   per-process salt) like queue ids. */
void store_id_new(char id_r[STORE_FILE_ID_LEN + 1]);
/* A random directory number 0..255 for the next transaction's files. */
unsigned store_id_dir(void);

/* --- store_file.c ------------------------------------------------------- */

/* Writes data to a new file and fsyncs it. name_r gets "xx/id". */
int store_file_write(struct store *store, const void *data, size_t len,
    char name_r[STORE_FILE_NAME_SIZE]);
/* Hard-links path (a durable file) as a new file; on another file system
   or at the link limit copies from fd (open on path) and fsyncs. */
int store_file_link(struct store *store, const char *path, int fd,
    char name_r[STORE_FILE_NAME_SIZE]);
/* Hard-links the account's own file src as a new file (copy/COPY). */
int store_file_link_own(struct store *store, const char *src,
    char name_r[STORE_FILE_NAME_SIZE]);
/* Unlinks name once the transaction committed. */
void store_file_doom(struct store *store, const char *name);
/* Unlinks the files in list[from..*n) and shortens the list to from. */
void store_file_list_unlink(struct store *store, char **list, size_t *n,
    size_t from);
/* Shortens the list to from without touching the files. */
void store_file_list_drop(char **list, size_t *n, size_t from);
/* Fsyncs every dirty msg/<xx> directory. STORE_OK or STORE_IO. */
int store_file_sync_dirs(struct store *store);

/* --- store_mailbox.c ---------------------------------------------------- */

/* What modifying calls need of a mailbox inside their transaction. */
struct store_mbox {
	int64_t id;
	char *name;
	uint32_t uidvalidity;
	uint64_t uidnext;		/* <= UINT32_MAX */
	uint64_t highestmodseq;
	uint64_t messages;
};

/* Loads mailbox id (STORE_NOT_FOUND names it). */
int store_mbox_load(struct store *store, int64_t id, struct store_mbox *mbox);
/* Writes back uidnext and highestmodseq. */
int store_mbox_save(struct store *store, const struct store_mbox *mbox);
void store_mbox_clear(struct store_mbox *mbox);
/* The id of canonical name: STORE_OK, STORE_NOT_FOUND or STORE_IO. */
int store_mbox_lookup(struct store *store, const char *canon, int64_t *id_r);
/* Creates canonical name (its parent exists or is created first). With
   must_be_new, an existing name is STORE_EXISTS; else its id is returned. */
int store_mbox_create(struct store *store, const char *canon,
    unsigned special_use, bool subscribe, bool must_be_new, int64_t *id_r);
/* A fresh UIDVALIDITY: the time, but above every one given before. */
int store_mbox_new_uidvalidity(struct store *store, uint32_t *uv_r);

/* --- store_keywords.c --------------------------------------------------- */

/* Validates and normalises a keyword list: atoms separated by single
   spaces, duplicates (case-insensitive) dropped, the first spelling kept.
   *out_r is heap ("" for NULL or empty input). */
int store_keywords_canon(struct store *store, const char *in, char **out_r);
/* Applies op with arg (canonical) to old (canonical); heap result. */
char *store_keywords_apply(const char *old, enum store_flags_op op,
    const char *arg);

/* --- store_range.c ------------------------------------------------------ */

/* Sorted, merged copy of ranges (heap; *n_r 0 and NULL for none). Returns
   STORE_INVALID for a range with lo > hi or lo 0. ranges NULL: 1..max. */
int store_range_normalize(struct store *store,
    const struct store_range *ranges, size_t n, struct store_range **out_r,
    size_t *n_r);

/* --- store_copy.c ------------------------------------------------------- */

struct store_uid_pair {
	uint32_t src, dst;
};

/* The body of store_copy inside an open transaction; pairs (heap) get the
   UID map. Used by rename of INBOX too. */
int store_copy_in_txn(struct store *store, int64_t src_id,
    const struct store_range *ranges, size_t n_ranges, int64_t dst_id,
    bool move, bool check_quota, struct store_uid_pair **pairs_r,
    size_t *n_pairs_r);

/* --- store_expunge.c ---------------------------------------------------- */

/* Records uid of mbox as expunged with a new modseq and deletes its row;
   its file is doomed. */
int store_expunge_one(struct store *store, struct store_mbox *mbox,
    uint32_t uid, const char *file);

/* --- store_quota.c ------------------------------------------------------ */

/* Inside the transaction: would adding bytes in messages stay within the
   limits? STORE_OK, STORE_OVER_QUOTA or STORE_TOO_BIG (single message
   bigger than the quota). */
int store_quota_check(struct store *store, uint64_t bytes,
    uint64_t messages);

/* --- store_thread.c ----------------------------------------------------- */

struct mime_message;

/* The message-ids of the message (Message-ID first, then In-Reply-To and
   References), for the THREADID lookup. */
struct store_thread_ids {
	char **ids;
	size_t n;
	bool has_own;			/* ids[0] is the Message-ID */
};

void store_thread_ids_parse(const struct mime_message *msg,
    struct store_thread_ids *ids);
void store_thread_ids_clear(struct store_thread_ids *ids);
/* Inside the transaction: the THREADID of a message with ids (an existing
   one when any id is known, else fresh_id), and records its ids. */
int store_thread_assign(struct store *store,
    const struct store_thread_ids *ids, const char *fresh_id,
    char **threadid_r);

/* --- store_gc.c --------------------------------------------------------- */

/* Takes the account lock shared; the first open in the process that finds
   nobody else using the account removes orphan files first. */
int store_gc_open(struct store *store, char **error_r);
/* Tests: forget that account_id was cleaned, as in a new process. */
void store_gc_forget(int64_t account_id);

/* --- store_watch.c ------------------------------------------------------ */

void store_watch_notify(int64_t account_id);
#endif
