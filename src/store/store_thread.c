/* store_thread.c — THREADID (RFC 8474 §5.2): messages linked by
   Message-ID, In-Reply-To or References share one id. The account keeps
   a table message-id -> threadid; a new message takes the thread of the
   first of its ids already known (its parent from In-Reply-To, then its
   References nearest first, then its own Message-ID, for a reply that
   arrived before its parent), else a new thread, and records all its ids
   under that thread. Threads are never merged afterwards: a THREADID a
   client has seen stays valid (RFC 8474 requires it to be immutable). */
#include "store/store_private.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"

/* A References field of a very long thread holds hundreds of ids; the
   nearest ones decide, and the bound keeps one message's work small. */
#define STORE_THREAD_IDS_MAX 64
#define STORE_THREAD_ID_LEN_MAX 250
#define STORE_THREAD_FIELD_MAX 65536

static const char store_sql_thread_get[] =
	"SELECT threadid FROM threads WHERE message_id = ?";
static const char store_sql_thread_add[] =
	"INSERT OR IGNORE INTO threads (message_id, threadid) VALUES (?, ?)";

static bool
store_thread_ids_has(const struct store_thread_ids *ids, const char *id,
    size_t len)
{
	for (size_t i = 0; i < ids->n; i++)
		if (strlen(ids->ids[i]) == len &&
		    memcmp(ids->ids[i], id, len) == 0)
			return true;
	return false;
}

/* The <id>s of value[0..len), at most max of them (0: all that fit),
   appended to ids in order. Malformed ones are skipped. */
static void
store_thread_scan(struct store_thread_ids *ids, const char *value,
    size_t len, size_t max, bool newest_first)
{
	size_t start = ids->n, taken = 0;

	for (size_t i = 0; i < len && ids->n < STORE_THREAD_IDS_MAX; i++) {
		size_t j;
		bool ok = true;

		if (value[i] != '<')
			continue;
		for (j = i + 1; j < len && value[j] != '>'; j++) {
			unsigned char c = (unsigned char)value[j];

			if (c <= 0x20 || c == 0x7f || c == '<')
				ok = false;
		}
		if (j == len)
			break;
		if (ok && j - i >= 2 && j + 1 - i <= STORE_THREAD_ID_LEN_MAX &&
		    !store_thread_ids_has(ids, value + i, j + 1 - i)) {
			ids->ids = xreallocarray(ids->ids, ids->n + 1,
			    sizeof(*ids->ids));
			ids->ids[ids->n++] = xstrndup(value + i, j + 1 - i);
			if (max != 0 && ++taken == max)
				break;
		}
		i = j;
	}
	if (newest_first) {
		/* References lists the oldest first: look nearest first. */
		for (size_t a = start, b = ids->n; a + 1 < b; a++, b--) {
			char *t = ids->ids[a];

			ids->ids[a] = ids->ids[b - 1];
			ids->ids[b - 1] = t;
		}
	}
}

void
store_thread_ids_parse(const struct mime_message *msg,
    struct store_thread_ids *ids)
{
	static const char *const fields[] = { "Message-ID", "In-Reply-To",
	    "References" };
	struct buf value;

	memset(ids, 0, sizeof(*ids));
	buf_init(&value, STORE_THREAD_FIELD_MAX);
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		buf_reset(&value);
		if (mime_header_get(msg, 0, fields[f], 0, &value) != 0 ||
		    value.data == NULL)
			continue;
		store_thread_scan(ids, value.data, value.len, f == 0 ? 1 : 0,
		    f == 2);
		if (f == 0)
			ids->has_own = ids->n == 1;
	}
	buf_clear(&value);
}

void
store_thread_ids_clear(struct store_thread_ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		free(ids->ids[i]);
	free(ids->ids);
	memset(ids, 0, sizeof(*ids));
}

/* The known thread of id: STORE_OK with *threadid_r (heap) or NULL. */
static int
store_thread_get(struct store *s, const char *id, char **threadid_r)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_thread_get);
	int rc, ret = STORE_OK;

	*threadid_r = NULL;
	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*threadid_r = store_db_column_str(st, 0);
	else if (rc != SQLITE_DONE)
		ret = store_db_fail(s, "thread");
	sqlite3_reset(st);
	return ret;
}

int
store_thread_assign(struct store *s, const struct store_thread_ids *ids,
    const char *fresh_id, char **threadid_r)
{
	size_t first = ids->has_own ? 1 : 0;
	char *threadid = NULL;
	int ret = STORE_OK;

	*threadid_r = NULL;
	/* Parents first, the message's own id last. */
	for (size_t k = 0; k < ids->n && threadid == NULL; k++) {
		size_t i = first + k < ids->n ? first + k : 0;

		if ((ret = store_thread_get(s, ids->ids[i], &threadid)) !=
		    STORE_OK)
			return ret;
	}
	if (threadid == NULL)
		threadid = xasprintf("T%s", fresh_id);
	for (size_t i = 0; i < ids->n; i++) {
		sqlite3_stmt *st = store_db_stmt(s, store_sql_thread_add);

		if (st == NULL) {
			free(threadid);
			return STORE_IO;
		}
		store_db_bind_text(st, 1, ids->ids[i]);
		store_db_bind_text(st, 2, threadid);
		if ((ret = store_db_done(s, st, "thread")) != STORE_OK) {
			free(threadid);
			return ret;
		}
	}
	*threadid_r = threadid;
	return STORE_OK;
}
