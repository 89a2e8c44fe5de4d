/* migrate_import.c — see migrate_import.h. */
#include "migrate/migrate_import.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

/* A message appended in the open transaction, kept until the commit so
   that a failure later in the batch can replay it. */
struct migrate_import_item {
	char *source, *keywords, *key;
	char *data;
	size_t len;
	unsigned flags;
	time_t internal_date;
	uint32_t uid;			/* in the source */
};

struct migrate_import {
	struct store *store;
	struct migrate_progress *progress;
	const volatile sig_atomic_t *stop;
	struct migrate_import_stats stats;

	char *mailbox;			/* current target */
	int64_t mailbox_id;
	uint32_t uidnext;		/* the mailbox's, open batch included */
	bool keep_uids;			/* source UIDs may be used */
	uint32_t src_uidvalidity;	/* the source's, 0: none */
	uint32_t src_uidnext;

	bool in_txn;
	bool single;			/* one transaction per message */
	struct migrate_import_item *batch;
	size_t n_batch, cap_batch, batch_bytes;
};

struct migrate_import *
migrate_import_new(struct store *store, struct migrate_progress *progress,
    const volatile sig_atomic_t *stop)
{
	struct migrate_import *imp = xcalloc(1, sizeof(*imp));

	imp->store = store;
	imp->progress = progress;
	imp->stop = stop;
	return imp;
}

static void
migrate_import_item_clear(struct migrate_import_item *it)
{
	free(it->source);
	free(it->keywords);
	free(it->key);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

static void
migrate_import_batch_clear(struct migrate_import *imp)
{
	for (size_t i = 0; i < imp->n_batch; i++)
		migrate_import_item_clear(&imp->batch[i]);
	imp->n_batch = 0;
	imp->batch_bytes = 0;
}

void
migrate_import_free(struct migrate_import **imp)
{
	if (*imp == NULL)
		return;
	if ((*imp)->in_txn)
		store_rollback((*imp)->store);
	migrate_import_batch_clear(*imp);
	free((*imp)->batch);
	free((*imp)->mailbox);
	xfree(imp);
}

const struct migrate_import_stats *
migrate_import_stats(const struct migrate_import *imp)
{
	return &imp->stats;
}

/* The UIDNEXT the store has for the current mailbox now. */
static int
migrate_import_reload(struct migrate_import *imp)
{
	struct store_mailbox mb;

	if (store_mailbox_get(imp->store, imp->mailbox, &mb) != STORE_OK)
		return -1;
	imp->uidnext = mb.uidnext;
	store_mailbox_clear(&mb);
	return 0;
}

static void
migrate_import_stop_io(struct migrate_import *imp, const char *what)
{
	migrate_progress_warn(imp->progress, "%s: %s", what,
	    store_error(imp->store));
	imp->stats.io_error = true;
}

static int
migrate_import_commit(struct migrate_import *imp)
{
	if (!imp->in_txn)
		return 0;
	imp->in_txn = false;
	if (store_commit(imp->store) != STORE_OK) {
		migrate_import_stop_io(imp, "commit");
		store_rollback(imp->store);
		imp->stats.failed += imp->n_batch;
		migrate_import_batch_clear(imp);
		return -1;
	}
	for (size_t i = 0; i < imp->n_batch; i++)
		imp->stats.bytes += imp->batch[i].len;
	imp->stats.imported += imp->n_batch;
	migrate_import_batch_clear(imp);
	return 0;
}

/* After the last message of a mailbox: its UIDNEXT should be the
   source's, which may be past the last UID (messages expunged at the
   end); clients that saw the source's UIDNEXT ask for new mail from
   there. */
static int
migrate_import_mailbox_end(struct migrate_import *imp)
{
	struct store_mailbox mb;
	int ret = 0;

	/* Stopped early: the rest of the source still has to come in under
	   its own UIDs (the re-run), which must stay above UIDNEXT. */
	if (imp->mailbox == NULL || !imp->keep_uids ||
	    imp->src_uidnext <= imp->uidnext || imp->stats.interrupted ||
	    imp->stats.over_quota || imp->stats.io_error)
		return 0;
	if (store_mailbox_get(imp->store, imp->mailbox, &mb) != STORE_OK) {
		migrate_import_stop_io(imp, imp->mailbox);
		return -1;
	}
	/* With messages, the store only raises UIDNEXT (same UIDVALIDITY). */
	if (store_mailbox_set_uids(imp->store, mb.id, mb.messages == 0 ?
	    imp->src_uidvalidity : mb.uidvalidity, imp->src_uidnext) !=
	    STORE_OK) {
		migrate_import_stop_io(imp, imp->mailbox);
		ret = -1;
	} else {
		imp->uidnext = imp->src_uidnext;
	}
	store_mailbox_clear(&mb);
	return ret;
}

int
migrate_import_finish(struct migrate_import *imp)
{
	if (migrate_import_commit(imp) == -1)
		return -1;
	return migrate_import_mailbox_end(imp);
}

/* One append of it, in the open transaction or on its own. */
static int
migrate_import_append(struct migrate_import *imp,
    const struct migrate_import_item *it)
{
	struct store_append a = {
		.mailbox_id = imp->mailbox_id,
		.flags = it->flags,
		.keywords = it->keywords,
		.internal_date = it->internal_date,
		.data = it->data,
		.len = it->len,
		.delivery_key = it->key,
	};
	uint32_t uid = 0;
	int rc;

	/* A source UID below UIDNEXT is taken already (or was, by a
	   message since expunged): the store would refuse it. A message
	   the source gave no UID gets one from the source's next UID on,
	   as the source would have given it. */
	if (imp->keep_uids && it->uid != 0 && it->uid >= imp->uidnext)
		a.uid = it->uid;
	else if (imp->keep_uids && it->uid == 0 &&
	    imp->src_uidnext > imp->uidnext)
		a.uid = imp->src_uidnext;
	rc = store_append(imp->store, &a, &uid);
	if (rc == STORE_OK && uid >= imp->uidnext)
		imp->uidnext = uid + 1;
	return rc;
}

/* What a message's failed append on its own transaction means. Returns 0
   to go on, -1 to stop. */
static int
migrate_import_single_result(struct migrate_import *imp,
    const struct migrate_import_item *it, int rc)
{
	switch (rc) {
	case STORE_OK:
		imp->stats.imported++;
		imp->stats.bytes += it->len;
		imp->single = false;
		return 0;
	case STORE_DUPLICATE:
		imp->stats.skipped++;
		return 0;
	case STORE_TOO_BIG:
	case STORE_INVALID:
		migrate_progress_warn(imp->progress, "%s: not imported: %s",
		    it->source, store_error(imp->store));
		imp->stats.failed++;
		return 0;
	case STORE_OVER_QUOTA:
		migrate_progress_warn(imp->progress, "%s: not imported: %s; "
		    "the messages imported before it stay (raise the quota "
		    "and run the same command again to go on)", it->source,
		    store_error(imp->store));
		imp->stats.failed++;
		imp->stats.over_quota = true;
		return -1;
	default:
		migrate_progress_warn(imp->progress, "%s: %s", it->source,
		    store_error(imp->store));
		imp->stats.failed++;
		imp->stats.io_error = true;
		return -1;
	}
}

/* After a failed append in the batch: undo the transaction, replay what
   it held one message at a time, then the failed one, on its own. */
static int
migrate_import_replay(struct migrate_import *imp,
    struct migrate_import_item *failed, int rc)
{
	struct migrate_import_item *items = imp->batch;
	size_t n = imp->n_batch, i;
	int ret = 0;

	store_rollback(imp->store);
	imp->in_txn = false;
	if (migrate_import_reload(imp) == -1) {
		migrate_import_stop_io(imp, imp->mailbox);
		imp->stats.failed += n + 1;
		migrate_import_batch_clear(imp);
		return -1;
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = migrate_import_single_result(imp, &items[i],
		    migrate_import_append(imp, &items[i]));
	if (ret == 0)
		ret = migrate_import_single_result(imp, failed,
		    migrate_import_append(imp, failed));
	else
		imp->stats.failed += n - i + 1;	/* not tried again */
	if (ret == 0 && rc == STORE_DUPLICATE)
		imp->single = true;
	migrate_import_batch_clear(imp);
	return ret;
}

int
migrate_import_message(struct migrate_import *imp,
    struct migrate_import_msg *msg)
{
	struct migrate_import_item it = {
		.source = xstrdup(msg->source),
		.keywords = msg->keywords != NULL && msg->keywords[0] != '\0' ?
		    xstrdup(msg->keywords) : NULL,
		.key = xstrdup(msg->key),
		.flags = msg->flags,
		.internal_date = msg->internal_date,
		.uid = msg->uid,
	};
	int rc, ret = 0;

	it.len = msg->data->len;
	it.data = buf_steal(msg->data);
	migrate_progress_add(imp->progress, 1, it.len);
	if (imp->stop != NULL && *imp->stop) {
		imp->stats.interrupted = true;
		migrate_import_item_clear(&it);
		(void)migrate_import_commit(imp);
		return -1;
	}
	if (imp->single) {
		ret = migrate_import_single_result(imp, &it,
		    migrate_import_append(imp, &it));
		migrate_import_item_clear(&it);
		return ret;
	}
	if (!imp->in_txn) {
		if (store_begin(imp->store) != STORE_OK) {
			migrate_import_stop_io(imp, "begin");
			imp->stats.failed++;
			migrate_import_item_clear(&it);
			return -1;
		}
		imp->in_txn = true;
	}
	rc = migrate_import_append(imp, &it);
	if (rc != STORE_OK) {
		ret = migrate_import_replay(imp, &it, rc);
		migrate_import_item_clear(&it);
		return ret;
	}
	if (imp->n_batch == imp->cap_batch) {
		imp->cap_batch = imp->cap_batch ? imp->cap_batch * 2 : 32;
		imp->batch = xreallocarray(imp->batch, imp->cap_batch,
		    sizeof(*imp->batch));
	}
	imp->batch[imp->n_batch++] = it;
	imp->batch_bytes += it.len;
	if (imp->n_batch >= MIGRATE_IMPORT_BATCH ||
	    imp->batch_bytes >= MIGRATE_IMPORT_BATCH_BYTES)
		return migrate_import_commit(imp);
	return 0;
}

void
migrate_import_failed(struct migrate_import *imp, uint64_t bytes)
{
	imp->stats.failed++;
	migrate_progress_add(imp->progress, 1, bytes);
}

void
migrate_import_count_failure(struct migrate_import *imp)
{
	imp->stats.failed++;
}

int
migrate_import_mailbox(struct migrate_import *imp, const char *name,
    uint32_t uidvalidity, uint32_t uidnext)
{
	struct store_mailbox mb;
	int rc;

	if (migrate_import_finish(imp) == -1)
		return -2;
	imp->single = false;
	xfree(&imp->mailbox);
	imp->mailbox_id = 0;
	rc = store_mailbox_create(imp->store, name, 0, NULL);
	if (rc != STORE_OK && rc != STORE_EXISTS) {
		migrate_progress_warn(imp->progress, "folder %s: %s", name,
		    store_error(imp->store));
		if (rc == STORE_IO) {
			imp->stats.io_error = true;
			return -2;
		}
		return -1;
	}
	if (store_mailbox_get(imp->store, name, &mb) != STORE_OK) {
		migrate_import_stop_io(imp, name);
		return -2;
	}
	imp->mailbox = xstrdup(name);
	imp->mailbox_id = mb.id;
	imp->uidnext = mb.uidnext;
	imp->keep_uids = uidvalidity != 0;
	imp->src_uidvalidity = uidvalidity;
	imp->src_uidnext = uidnext;
	imp->stats.folders++;
	/* UIDNEXT is raised to the source's only at the end (see
	   migrate_import_mailbox_end): before, it would put every UID the
	   source lists below it. */
	if (uidvalidity != 0 && mb.messages == 0 &&
	    mb.uidvalidity != uidvalidity) {
		if (store_mailbox_set_uids(imp->store, mb.id, uidvalidity, 1) !=
		    STORE_OK || migrate_import_reload(imp) == -1) {
			migrate_import_stop_io(imp, name);
			store_mailbox_clear(&mb);
			return -2;
		}
	} else if (uidvalidity != 0 && mb.uidvalidity != uidvalidity) {
		migrate_progress_warn(imp->progress, "folder %s: keeping its "
		    "UIDVALIDITY %lu (the source has %lu) as it holds "
		    "messages already; the imported ones get new UIDs", name,
		    (unsigned long)mb.uidvalidity,
		    (unsigned long)uidvalidity);
		imp->keep_uids = false;
	}
	store_mailbox_clear(&mb);
	return 0;
}

char *
migrate_import_target(const char *folder, const char *source)
{
	if (folder == NULL)
		return xstrdup(source);
	if (strcasecmp(source, "INBOX") == 0)
		return xstrdup(folder);
	return xasprintf("%s%c%s", folder, STORE_SEPARATOR, source);
}

char *
migrate_import_key(const char *mailbox, const char *id, size_t id_len)
{
	char *key = xasprintf("import:%s:%.*s", mailbox, (int)id_len, id);
	size_t len = strlen(key);

	if (len <= MIGRATE_IMPORT_KEY_MAX)
		return key;
	/* FNV-1a twice with different seeds: 128 bits, plenty to keep
	   apart the keys of one account. */
	uint64_t h[2] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < len; i++) {
			h[k] ^= (unsigned char)key[i];
			h[k] *= 0x100000001b3ULL;
		}
	free(key);
	return xasprintf("import:#%016llx%016llx", (unsigned long long)h[0],
	    (unsigned long long)h[1]);
}

int
migrate_import_subscribe(struct migrate_import *imp, const char *name)
{
	if (store_mailbox_subscribe(imp->store, name, true) != STORE_OK) {
		migrate_progress_warn(imp->progress, "subscription %s: %s",
		    name, store_error(imp->store));
		imp->stats.failed++;
		return -1;
	}
	return 0;
}
