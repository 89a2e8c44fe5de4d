/* migrate_export.c — see migrate_export.h. Per mailbox: the message list
   is read from the index first (so no read transaction stays open while
   files are copied), then each message is written or found present, then
   dovecot-uidlist and dovecot-keywords are replaced and the folder's
   directories fsynced. */
#include "migrate/migrate_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "migrate/maildir_filename.h"
#include "migrate/maildir_keywords.h"
#include "migrate/maildir_name.h"
#include "migrate/maildir_subscriptions.h"
#include "migrate/maildir_uidlist.h"
#include "migrate/maildir_write.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

struct migrate_export_msg {
	uint32_t uid;
	unsigned flags;
	char *keywords;			/* heap, "" when none */
	time_t internal_date;
	uint64_t size;
	char *name;			/* the file name it gets */
};

struct migrate_export_list {
	struct migrate_export_msg *msgs;
	size_t n, cap;
};

struct migrate_export {
	struct store *store;
	struct migrate_progress *progress;
	const volatile sig_atomic_t *stop;
	struct migrate_export_stats *stats;
	const char *dir;
};

static int
migrate_export_collect(const struct store_message *m, void *ctx)
{
	struct migrate_export_list *list = ctx;

	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 256;
		list->msgs = xreallocarray(list->msgs, list->cap,
		    sizeof(*list->msgs));
	}
	list->msgs[list->n] = (struct migrate_export_msg){
		.uid = m->uid,
		.flags = m->flags,
		.keywords = xstrdup(m->keywords != NULL ? m->keywords : ""),
		.internal_date = m->internal_date,
		.size = m->size,
	};
	list->n++;
	return 0;
}

static void
migrate_export_list_clear(struct migrate_export_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->msgs[i].keywords);
		free(list->msgs[i].name);
	}
	free(list->msgs);
	memset(list, 0, sizeof(*list));
}

/* The keyword letters of a message, adding keywords to kw as needed.
   *lost_r counts keywords that found no letter. */
static uint32_t
migrate_export_letters(struct maildir_keywords *kw, const char *keywords,
    unsigned *lost_r)
{
	uint32_t letters = 0;
	const char *p = keywords;

	while (*p != '\0') {
		const char *end = strchr(p, ' ');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			int idx = maildir_keywords_index(kw, p, len, true);

			if (idx < 0)
				(*lost_r)++;
			else
				letters |= 1u << idx;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return letters;
}

/* A folder's earlier dovecot-keywords, so its letters keep meaning what
   they meant in files written before. */
static void
migrate_export_read_keywords(const char *path, struct maildir_keywords *kw)
{
	char *file = xasprintf("%s/dovecot-keywords", path), *data;
	size_t len, bad;

	memset(kw, 0, sizeof(*kw));
	if (fsutil_read_file(file, MAILDIR_KEYWORDS_FILE_MAX, &data, &len) ==
	    0) {
		maildir_keywords_parse(data, len, kw, &bad);
		free(data);
	}
	free(file);
}

/* A mailbox GUID for dovecot-uidlist: the same for the same mailbox on
   every run (Dovecot's dsync compares them), different across mailboxes
   and accounts. Two FNV-1a passes with different seeds make 128 bits. */
static void
migrate_export_guid(int64_t account_id, int64_t mailbox_id,
    uint32_t uidvalidity, char out[33])
{
	char seed[96];
	uint64_t h[2] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };
	int len = snprintf(seed, sizeof(seed), "petrel:%lld:%lld:%lu",
	    (long long)account_id, (long long)mailbox_id,
	    (unsigned long)uidvalidity);

	for (int k = 0; k < 2; k++)
		for (int i = 0; i < len; i++) {
			h[k] ^= (unsigned char)seed[i];
			h[k] *= 0x100000001b3ULL;
		}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h[0],
	    (unsigned long long)h[1]);
}

/* Writes one message, or finds it present. Returns 0 to go on, -1 to
   stop. */
static int
migrate_export_message(struct migrate_export *ex, const char *path,
    const struct store_mailbox *mb, const struct maildir_write_file *old,
    const struct migrate_export_msg *m)
{
	uint64_t size;
	int fd, rc;

	migrate_progress_add(ex->progress, 1, m->size);
	if (old != NULL) {
		ex->stats->skipped++;
		if (strcmp(old->name, m->name) == 0 && strcmp(old->sub,
		    "cur") == 0)
			return 0;
		/* The flags changed since: the name says them. */
		char *from = xasprintf("%s/%s/%s", path, old->sub, old->name);
		char *to = xasprintf("%s/cur/%s", path, m->name);

		if (rename(from, to) == -1) {
			migrate_progress_warn(ex->progress, "%s: %s", from,
			    strerror(errno));
			ex->stats->failed++;
		}
		free(from);
		free(to);
		return 0;
	}
	rc = store_message_open(ex->store, mb->id, m->uid, &fd, &size);
	if (rc == STORE_NOT_FOUND)
		return 0;		/* expunged meanwhile */
	if (rc != STORE_OK) {
		migrate_progress_warn(ex->progress, "%s UID %lu: %s", mb->name,
		    (unsigned long)m->uid, store_error(ex->store));
		ex->stats->failed++;
		ex->stats->io_error = true;
		return -1;
	}
	if (maildir_write_message(path, m->name, fd, size,
	    m->internal_date) == -1) {
		migrate_progress_warn(ex->progress, "%s/cur/%s: %s", path,
		    m->name, strerror(errno));
		ex->stats->failed++;
	} else {
		ex->stats->exported++;
		ex->stats->bytes += size;
	}
	close(fd);
	return 0;
}

/* dovecot-uidlist and dovecot-keywords of a folder. */
static int
migrate_export_metadata(struct migrate_export *ex, const char *path,
    const struct store_mailbox *mb, const struct migrate_export_list *list,
    const struct maildir_keywords *kw)
{
	struct buf b;
	char guid[33], *file;
	int rc;

	buf_init(&b, 0);
	migrate_export_guid(store_account_id(ex->store), mb->id,
	    mb->uidvalidity, guid);
	(void)maildir_uidlist_format_header(&b, mb->uidvalidity, mb->uidnext,
	    guid);
	for (size_t i = 0; i < list->n; i++)
		(void)maildir_uidlist_format_line(&b, list->msgs[i].uid,
		    list->msgs[i].name);
	file = xasprintf("%s/dovecot-uidlist", path);
	rc = fsutil_write_file(file, b.data, b.len, 0600);
	if (rc == -1)
		migrate_progress_warn(ex->progress, "%s: %s", file,
		    strerror(errno));
	free(file);
	buf_reset(&b);
	(void)maildir_keywords_format(kw, &b);
	if (rc == 0 && b.len > 0) {
		file = xasprintf("%s/dovecot-keywords", path);
		rc = fsutil_write_file(file, b.data, b.len, 0600);
		if (rc == -1)
			migrate_progress_warn(ex->progress, "%s: %s", file,
			    strerror(errno));
		free(file);
	}
	buf_clear(&b);
	return rc;
}

/* One mailbox. Returns 0 to go on, -1 to stop. */
static int
migrate_export_mailbox(struct migrate_export *ex,
    const struct store_mailbox *mb)
{
	struct migrate_export_list list = { 0 };
	struct maildir_write_file *old = NULL;
	struct maildir_keywords kw;
	size_t n_old = 0;
	unsigned lost = 0;
	char *dirname, *path;
	int ret = 0;

	dirname = maildir_name_to_dir(mb->name);
	if (dirname == NULL) {
		migrate_progress_warn(ex->progress, "mailbox %s: the name "
		    "cannot be written as a Maildir folder; skipped", mb->name);
		ex->stats->failed++;
		migrate_progress_add(ex->progress, mb->messages, mb->size);
		return 0;
	}
	path = dirname[0] == '\0' ? xstrdup(ex->dir) :
	    xasprintf("%s/%s", ex->dir, dirname);
	free(dirname);
	if (maildir_write_folder(path, strcmp(mb->name, "INBOX") == 0) == -1 ||
	    maildir_write_scan(path, mb->uidvalidity, &old, &n_old) == -1) {
		migrate_progress_warn(ex->progress, "%s: %s", path,
		    strerror(errno));
		ex->stats->failed++;
		migrate_progress_add(ex->progress, mb->messages, mb->size);
		free(path);
		return 0;
	}
	ex->stats->folders++;
	migrate_export_read_keywords(path, &kw);
	if (store_fetch(ex->store, mb->id, NULL, 0, STORE_FETCH_FLAGS |
	    STORE_FETCH_DATES | STORE_FETCH_SIZE, migrate_export_collect,
	    &list) != STORE_OK) {
		migrate_progress_warn(ex->progress, "mailbox %s: %s", mb->name,
		    store_error(ex->store));
		ex->stats->io_error = true;
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		struct migrate_export_msg *m = &list.msgs[i];

		m->name = maildir_filename_build(m->internal_date, m->uid,
		    mb->uidvalidity, m->size, m->flags,
		    migrate_export_letters(&kw, m->keywords, &lost));
	}
	for (size_t i = 0; i < list.n && ret == 0; i++) {
		if (ex->stop != NULL && *ex->stop) {
			ex->stats->interrupted = true;
			ret = -1;
			break;
		}
		ret = migrate_export_message(ex, path, mb, maildir_write_find(
		    old, n_old, list.msgs[i].uid), &list.msgs[i]);
	}
	if (lost > 0)
		migrate_progress_warn(ex->progress, "mailbox %s: %u keyword%s "
		    "on messages beyond the 26 a Maildir folder can name; not "
		    "in the export", mb->name, lost, lost == 1 ? "" : "s");
	/* Even when stopping: what was written is listed and synced. */
	if (migrate_export_metadata(ex, path, mb, &list, &kw) == -1)
		ex->stats->failed++;
	if (maildir_write_sync(path) == -1) {
		migrate_progress_warn(ex->progress, "%s: fsync: %s", path,
		    strerror(errno));
		ex->stats->failed++;
	}
out:
	maildir_keywords_clear(&kw);
	maildir_write_files_free(&old, n_old);
	migrate_export_list_clear(&list);
	free(path);
	return ret;
}

static void
migrate_export_subscriptions(struct migrate_export *ex)
{
	char **names = NULL, *file;
	size_t n = 0;
	struct buf b;

	if (store_subscriptions(ex->store, &names, &n) != STORE_OK) {
		migrate_progress_warn(ex->progress, "subscriptions: %s",
		    store_error(ex->store));
		ex->stats->failed++;
		return;
	}
	buf_init(&b, 0);
	file = xasprintf("%s/subscriptions", ex->dir);
	if (maildir_subscriptions_format(names, n, &b) == -1) {
		migrate_progress_warn(ex->progress, "%s: a name cannot be "
		    "written", file);
		ex->stats->failed++;
	} else if (fsutil_write_file(file, b.data, b.len, 0600) == -1) {
		migrate_progress_warn(ex->progress, "%s: %s", file,
		    strerror(errno));
		ex->stats->failed++;
	}
	free(file);
	buf_clear(&b);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
migrate_export(struct store *store, struct migrate_progress *progress,
    const char *dir, const volatile sig_atomic_t *stop,
    struct migrate_export_stats *stats)
{
	struct migrate_export ex = {
		.store = store,
		.progress = progress,
		.stop = stop,
		.stats = stats,
		.dir = dir,
	};
	struct store_mailbox *list = NULL;
	uint64_t total = 0, bytes = 0;
	size_t n = 0;
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	if (fsutil_mkdir_p(dir, 0700) == -1) {
		migrate_progress_warn(progress, "%s: %s", dir, strerror(errno));
		stats->failed++;
		return -1;
	}
	if (store_mailbox_list(store, &list, &n) != STORE_OK) {
		migrate_progress_warn(progress, "%s", store_error(store));
		stats->io_error = true;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		total += list[i].messages;
		bytes += list[i].size;
	}
	migrate_progress_set_total(progress, total, bytes);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = migrate_export_mailbox(&ex, &list[i]);
	if (ret == 0)
		migrate_export_subscriptions(&ex);
	if (fsutil_fsync_dir(dir) == -1) {
		migrate_progress_warn(progress, "%s: fsync: %s", dir,
		    strerror(errno));
		stats->failed++;
	}
	store_mailbox_list_free(&list, n);
	return ret;
}
