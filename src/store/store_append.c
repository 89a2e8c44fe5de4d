/* store_append.c — one message into a mailbox (APPEND, local delivery,
   import).

   The order is what makes it safe and concurrent: parse the message and
   make its file durable first, without any lock (another session of the
   account may write meanwhile), then take the write lock for the rows:
   duplicate check, quota, UID and MODSEQ, the content row with the cached
   IMAP strings and the THREADID, the message row. Any failure after the
   file exists removes it again (store_txn_end), so a refused duplicate or
   an over-quota message leaves nothing behind. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"

#define STORE_FLAG_MASK 0x1fu
#define STORE_DELIVERY_KEY_MAX 255
/* A cached string over this is not kept (NULL): the IMAP layer computes
   it from the file instead. Far above any real message's structure. */
#define STORE_CACHE_MAX (4u << 20)

static const char store_sql_key_known[] =
	"SELECT 1 FROM delivery_keys WHERE key = ?";
static const char store_sql_key_add[] =
	"INSERT INTO delivery_keys (key, created) VALUES (?, ?)";
static const char store_sql_content_add[] =
	"INSERT INTO contents (emailid, threadid, size, envelope, body,"
	" bodystructure) VALUES (?, ?, ?, ?, ?, ?)";
static const char store_sql_message_add[] =
	"INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords,"
	" internal_date, save_date, size, content_id, file)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* What is known of the message before the transaction. */
struct store_append_msg {
	const char *bytes;
	size_t size;
	void *map;			/* mmap of path, or NULL */
	int fd;				/* path opened, or -1 */
	char *keywords;
	char *envelope, *body, *bodystructure;	/* or NULL */
	struct store_thread_ids ids;
	char file[STORE_FILE_NAME_SIZE];
};

static void
store_append_msg_clear(struct store_append_msg *m)
{
	if (m->map != NULL)
		munmap(m->map, m->size);
	if (m->fd != -1)
		close(m->fd);
	free(m->keywords);
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	store_thread_ids_clear(&m->ids);
}

static char *
store_append_cache(const struct mime_message *msg, int what)
{
	struct buf out;
	int rc;

	buf_init(&out, STORE_CACHE_MAX);
	rc = what == 0 ? mime_envelope(msg, 0, &out) :
	    mime_bodystructure(msg, 0, what == 2, &out);
	if (rc != 0) {
		buf_clear(&out);
		return NULL;
	}
	return buf_steal(&out);
}

/* One parse: ENVELOPE, BODY, BODYSTRUCTURE and the thread ids. */
static void
store_append_parse(struct store_append_msg *m)
{
	struct mime_message *msg = mime_parse(m->bytes, m->size, NULL);

	m->envelope = store_append_cache(msg, 0);
	m->body = store_append_cache(msg, 1);
	m->bodystructure = store_append_cache(msg, 2);
	store_thread_ids_parse(msg, &m->ids);
	mime_message_free(&msg);
}

static int
store_append_check(struct store *s, const struct store_append *a,
    struct store_append_msg *m)
{
	if (a == NULL || a->mailbox_id <= 0)
		return store_fail(s, STORE_INVALID, "no mailbox");
	if ((a->flags & ~STORE_FLAG_MASK) != 0)
		return store_fail(s, STORE_INVALID, "bad flags 0x%x",
		    a->flags);
	if ((a->path == NULL) == (a->data == NULL))
		return store_fail(s, STORE_INVALID,
		    "append needs a path or data, not both");
	if (a->delivery_key != NULL && (a->delivery_key[0] == '\0' ||
	    strnlen(a->delivery_key, STORE_DELIVERY_KEY_MAX + 1) >
	    STORE_DELIVERY_KEY_MAX))
		return store_fail(s, STORE_INVALID, "bad delivery key");
	return store_keywords_canon(s, a->keywords, &m->keywords);
}

/* Opens and maps path, or takes data; refuses empty and too big. */
static int
store_append_input(struct store *s, const struct store_append *a,
    struct store_append_msg *m)
{
	struct stat st;

	if (a->path == NULL) {
		m->bytes = a->data;
		m->size = a->len;
	} else {
		m->fd = open(a->path, O_RDONLY | O_CLOEXEC);
		if (m->fd == -1 || fstat(m->fd, &st) == -1)
			return store_fail(s, STORE_IO, "%s: %s", a->path,
			    strerror(errno));
		if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
		    (uint64_t)st.st_size > SIZE_MAX)
			return store_fail(s, STORE_INVALID,
			    "%s: not a regular file", a->path);
		m->size = (size_t)st.st_size;
		if (m->size > 0) {
			m->map = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE,
			    m->fd, 0);
			if (m->map == MAP_FAILED) {
				m->map = NULL;
				return store_fail(s, STORE_IO, "%s: mmap: %s",
				    a->path, strerror(errno));
			}
			m->bytes = m->map;
		}
	}
	if (m->size == 0)
		return store_fail(s, STORE_INVALID, "empty message");
	if (!a->ignore_quota && s->limits.quota_bytes != 0 &&
	    m->size > s->limits.quota_bytes)
		return store_fail(s, STORE_TOO_BIG, "message of %zu bytes is "
		    "larger than the quota of %llu bytes", m->size,
		    (unsigned long long)s->limits.quota_bytes);
	return STORE_OK;
}

static int
store_append_key(struct store *s, const char *key)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_key_add);
	int rc, ret = STORE_OK;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		ret = store_fail(s, STORE_DUPLICATE,
		    "delivery %s is stored already", key);
	else if (rc != SQLITE_DONE)
		ret = store_db_fail(s, "delivery key");
	sqlite3_reset(st);
	return ret;
}

/* A repeated delivery is answered before any file is written or linked
   (a resumed import, a retried queue entry); the INSERT in the
   transaction stays the authority when two writers race. */
static int
store_append_key_known(struct store *s, const char *key)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_key_known);
	int rc;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return store_fail(s, STORE_DUPLICATE,
		    "delivery %s is stored already", key);
	return rc == SQLITE_DONE ? STORE_OK : store_db_fail(s, "delivery key");
}

static int
store_append_content(struct store *s, const struct store_append_msg *m,
    int64_t *content_id_r)
{
	const char *file_id = m->file + 3;
	char *emailid = xasprintf("M%s", file_id), *threadid = NULL;
	sqlite3_stmt *st;
	int ret;

	ret = store_thread_assign(s, &m->ids, file_id, &threadid);
	if (ret == STORE_OK && (st = store_db_stmt(s,
	    store_sql_content_add)) == NULL)
		ret = STORE_IO;
	if (ret == STORE_OK) {
		store_db_bind_text(st, 1, emailid);
		store_db_bind_text(st, 2, threadid);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)m->size);
		store_db_bind_text(st, 4, m->envelope);
		store_db_bind_text(st, 5, m->body);
		store_db_bind_text(st, 6, m->bodystructure);
		ret = store_db_done(s, st, "insert content");
		*content_id_r = sqlite3_last_insert_rowid(s->db);
	}
	free(emailid);
	free(threadid);
	return ret;
}

static int
store_append_rows(struct store *s, const struct store_append *a,
    const struct store_append_msg *m, uint32_t *uid_r)
{
	struct store_mbox mbox;
	int64_t content_id = 0;
	time_t now = time(NULL);
	sqlite3_stmt *st;
	uint64_t uid;
	int ret;

	if ((ret = store_mbox_load(s, a->mailbox_id, &mbox)) != STORE_OK)
		return ret;
	if (a->delivery_key != NULL &&
	    (ret = store_append_key(s, a->delivery_key)) != STORE_OK)
		goto out;
	if (!a->ignore_quota &&
	    (ret = store_quota_check(s, m->size, 1)) != STORE_OK)
		goto out;
	uid = a->uid != 0 ? a->uid : mbox.uidnext;
	if (uid < mbox.uidnext) {
		ret = store_fail(s, STORE_INVALID, "UID %llu is below "
		    "UIDNEXT %llu of mailbox \"%s\"", (unsigned long long)uid,
		    (unsigned long long)mbox.uidnext, mbox.name);
		goto out;
	}
	/* UIDNEXT must stay a 32-bit number (RFC 9051 nz-number). */
	if (uid >= UINT32_MAX) {
		ret = store_fail(s, STORE_NOT_ALLOWED, "mailbox \"%s\" has "
		    "no UIDs left", mbox.name);
		goto out;
	}
	if ((ret = store_append_content(s, m, &content_id)) != STORE_OK)
		goto out;
	if ((st = store_db_stmt(s, store_sql_message_add)) == NULL) {
		ret = STORE_IO;
		goto out;
	}
	mbox.highestmodseq++;
	sqlite3_bind_int64(st, 1, mbox.id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)uid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)mbox.highestmodseq);
	sqlite3_bind_int64(st, 4, a->flags);
	store_db_bind_text(st, 5, m->keywords);
	sqlite3_bind_int64(st, 6, a->internal_date != 0 ?
	    (sqlite3_int64)a->internal_date : (sqlite3_int64)now);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)m->size);
	sqlite3_bind_int64(st, 9, content_id);
	store_db_bind_text(st, 10, m->file);
	if ((ret = store_db_done(s, st, "insert message")) != STORE_OK)
		goto out;
	mbox.uidnext = uid + 1;
	if ((ret = store_mbox_save(s, &mbox)) != STORE_OK)
		goto out;
	if (uid_r != NULL)
		*uid_r = (uint32_t)uid;
out:
	store_mbox_clear(&mbox);
	return ret;
}

int
store_append(struct store *s, const struct store_append *a, uint32_t *uid_r)
{
	struct store_append_msg m;
	struct store_txn txn;
	int ret;

	memset(&m, 0, sizeof(m));
	m.fd = -1;
	store_txn_init(s, &txn);
	if ((ret = store_append_check(s, a, &m)) != STORE_OK ||
	    (a->delivery_key != NULL &&
	    (ret = store_append_key_known(s, a->delivery_key)) != STORE_OK) ||
	    (ret = store_append_input(s, a, &m)) != STORE_OK)
		goto out;
	store_append_parse(&m);
	ret = a->path != NULL ? store_file_link(s, a->path, m.fd, m.file) :
	    store_file_write(s, m.bytes, m.size, m.file);
	if (ret != STORE_OK)
		goto end;
	if ((ret = store_txn_begin(s, &txn)) != STORE_OK)
		goto end;
	ret = store_append_rows(s, a, &m, uid_r);
end:
	ret = store_txn_end(s, &txn, ret);
out:
	store_append_msg_clear(&m);
	return ret;
}
