/* migrate_mbox.c — see migrate_mbox.h. A directory is walked first into
   a list of (file, mailbox) pairs, sorted so parents come before their
   children and the order is the same every run; then each file is mapped
   and its messages appended in file order. */
#include "migrate/migrate_mbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "migrate/mbox_message.h"
#include "migrate/mbox_parser.h"
#include "migrate/migrate_import.h"
#include "migrate/migrate_message.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

struct migrate_mbox_file {
	char *path;
	char *source;			/* "INBOX", "Folder/Sub" */
	uint64_t size;
};

struct migrate_mbox_list {
	struct migrate_mbox_file *files;
	size_t n, cap;
	uint64_t bytes;
};

/* Files Thunderbird (and others) keep next to mbox files. */
static const char *const migrate_mbox_skip_suffixes[] = {
	".msf", ".dat", ".json", ".html", ".sqlite", ".sbd",
};

static bool
migrate_mbox_skip_name(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(migrate_mbox_skip_suffixes) /
	    sizeof(migrate_mbox_skip_suffixes[0]); i++) {
		size_t sl = strlen(migrate_mbox_skip_suffixes[i]);

		if (len > sl && strcasecmp(name + len - sl,
		    migrate_mbox_skip_suffixes[i]) == 0)
			return true;
	}
	return false;
}

static void
migrate_mbox_list_add(struct migrate_mbox_list *list, const char *path,
    const char *source, uint64_t size)
{
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 16;
		list->files = xreallocarray(list->files, list->cap,
		    sizeof(*list->files));
	}
	list->files[list->n].path = xstrdup(path);
	list->files[list->n].source = xstrdup(source);
	list->files[list->n].size = size;
	list->n++;
	list->bytes += size;
}

static void
migrate_mbox_list_clear(struct migrate_mbox_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->files[i].path);
		free(list->files[i].source);
	}
	free(list->files);
	memset(list, 0, sizeof(*list));
}

/* The mailbox name for a file or directory name under prefix (NULL: top
   level). */
static char *
migrate_mbox_source(const char *prefix, const char *name)
{
	if (prefix == NULL)
		return xstrdup(strcasecmp(name, "INBOX") == 0 ? "INBOX" : name);
	return xasprintf("%s%c%s", prefix, STORE_SEPARATOR, name);
}

/* Walks dir, whose files are the children of prefix. depth bounds the
   recursion as the store bounds a name's levels. */
static void
migrate_mbox_walk(struct migrate_import *imp,
    struct migrate_progress *progress, const char *dir, const char *prefix,
    unsigned depth, struct migrate_mbox_list *list)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		migrate_progress_warn(progress, "%s: %s", dir, strerror(errno));
		migrate_import_count_failure(imp);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		char *path = xasprintf("%s/%s", dir, name);
		size_t len = strlen(name);
		struct stat st;

		if (name[0] == '.' || stat(path, &st) == -1) {
			free(path);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			/* "Name.sbd" holds Name's children; any other
			   directory is a folder of its own. */
			bool sbd = len > 4 &&
			    strcasecmp(name + len - 4, ".sbd") == 0;
			char *base = xstrndup(name, sbd ? len - 4 : len);
			char *source = migrate_mbox_source(prefix, base);

			if (depth + 1 >= STORE_DEPTH_MAX) {
				migrate_progress_warn(progress, "%s: nested "
				    "too deep; skipped", path);
				migrate_import_count_failure(imp);
			} else {
				migrate_mbox_walk(imp, progress, path, source,
				    depth + 1, list);
			}
			free(source);
			free(base);
		} else if (S_ISREG(st.st_mode) &&
		    !migrate_mbox_skip_name(name)) {
			char *source = migrate_mbox_source(prefix, name);

			migrate_mbox_list_add(list, path, source,
			    (uint64_t)st.st_size);
			free(source);
		}
		free(path);
	}
	closedir(d);
}

static int
migrate_mbox_file_cmp(const void *a, const void *b)
{
	const struct migrate_mbox_file *x = a, *y = b;
	bool xi = strcmp(x->source, "INBOX") == 0;
	bool yi = strcmp(y->source, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->source, y->source);
}

/* FNV-1a, 64 bits: cheap, and only has to tell apart two messages that
   changed places in a file that was edited between two runs. */
static uint64_t
migrate_mbox_hash(const char *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct migrate_mbox_ctx {
	struct migrate_import *imp;
	struct migrate_progress *progress;
	const struct migrate_mbox_file *file;
	const char *target;
	time_t mtime;
	bool mailbox_ready;
	unsigned n;			/* messages of the file so far */
};

/* Sets up the mailbox with the UIDVALIDITY the first message gives, if
   any. Returns what migrate_import_mailbox does. */
static int
migrate_mbox_mailbox(struct migrate_mbox_ctx *ctx, uint32_t uidvalidity,
    uint32_t uidnext)
{
	int rc;

	if (ctx->mailbox_ready)
		return 0;
	rc = migrate_import_mailbox(ctx->imp, ctx->target, uidvalidity,
	    uidnext);
	if (rc == 0)
		ctx->mailbox_ready = true;
	return rc;
}

/* One message. Returns 0 to go on, 1 when the mailbox cannot be used, -1
   to stop. */
static int
migrate_mbox_message(struct migrate_mbox_ctx *ctx, const struct mbox_raw *raw)
{
	struct mbox_message_meta meta;
	struct buf data;
	char *source, *key, *id;
	time_t date;
	int ret = 0, rc;

	ctx->n++;
	source = xasprintf("%s: message %u (at byte %zu)", ctx->file->path,
	    ctx->n, raw->offset);
	if (raw->len > MIGRATE_MESSAGE_MAX) {
		migrate_progress_warn(ctx->progress, "%s: not imported: "
		    "larger than the import's limit", source);
		migrate_import_failed(ctx->imp, raw->len);
		free(source);
		return 0;
	}
	mbox_message_meta_init(&meta);
	buf_init(&data, 0);
	(void)mbox_message_convert(raw->data, raw->len, &data, &meta);
	if (meta.pseudo && ctx->n == 1) {
		/* UW-IMAP's folder data, not mail: its UIDVALIDITY is the
		   folder's. */
		ctx->n = 0;
		rc = migrate_mbox_mailbox(ctx, meta.uidvalidity, meta.uidnext);
		ret = rc == -2 ? -1 : rc == -1 ? 1 : 0;
		goto out;
	}
	rc = migrate_mbox_mailbox(ctx, meta.uidvalidity, meta.uidnext);
	if (rc != 0) {
		migrate_import_failed(ctx->imp, raw->len);
		ret = rc == -2 ? -1 : 1;
		goto out;
	}
	if (meta.bad_keywords > 0)
		migrate_progress_warn(ctx->progress, "%s: %u keyword%s "
		    "dropped (not valid IMAP keywords)", source,
		    meta.bad_keywords, meta.bad_keywords == 1 ? "" : "s");
	if (mbox_parser_from_date(raw->from_line, raw->from_len, &date) == -1)
		date = ctx->mtime;
	id = xasprintf("mbox:%u:%016llx", ctx->n, (unsigned long long)
	    migrate_mbox_hash(data.data ? data.data : "", data.len));
	key = migrate_import_key(ctx->target, id, strlen(id));
	free(id);

	struct migrate_import_msg msg = {
		.source = source,
		.data = &data,
		.flags = meta.flags,
		.keywords = meta.keywords.data,
		.internal_date = date,
		.uid = meta.uid,
		.key = key,
	};

	ret = migrate_import_message(ctx->imp, &msg);
	free(key);
out:
	buf_clear(&data);
	mbox_message_meta_clear(&meta);
	free(source);
	return ret;
}

/* One file. single: the path given on the command line, which must be an
   mbox (a directory's other files are only passed over). Returns 0, or -1
   to stop. */
static int
migrate_mbox_file(struct migrate_import *imp, struct migrate_progress *progress,
    const struct migrate_mbox_file *file, const char *folder, bool single)
{
	struct migrate_mbox_ctx ctx = {
		.imp = imp,
		.progress = progress,
		.file = file,
	};
	struct mbox_parser parser;
	struct mbox_raw raw;
	struct stat st;
	void *map = NULL;
	char *target = migrate_import_target(folder, file->source);
	int fd, ret = 0, rc;

	ctx.target = target;
	fd = open(file->path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		migrate_progress_warn(progress, "%s: %s", file->path,
		    strerror(errno));
		migrate_import_count_failure(imp);
		goto out;
	}
	ctx.mtime = st.st_mtime;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			migrate_progress_warn(progress, "%s: %s", file->path,
			    strerror(errno));
			migrate_import_count_failure(imp);
			goto out;
		}
		(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	mbox_parser_init(&parser, map, map != NULL ? (size_t)st.st_size : 0);
	while ((rc = mbox_parser_next(&parser, &raw)) == 1) {
		ret = migrate_mbox_message(&ctx, &raw);
		if (ret == 1) {
			/* The mailbox cannot be used: the rest fails too. */
			while (mbox_parser_next(&parser, &raw) == 1)
				migrate_import_failed(imp, raw.len);
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
	}
	if (rc == -1) {
		migrate_progress_warn(progress, "%s: not an mbox file (it does "
		    "not start with a \"From \" line); skipped", file->path);
		if (single)
			migrate_import_count_failure(imp);
		/* Its bytes will not come: keep the bar honest. */
		migrate_progress_add(progress, 0, file->size);
		goto out;
	}
	if (ret == 0 && !ctx.mailbox_ready &&
	    migrate_mbox_mailbox(&ctx, 0, 0) == -2)
		ret = -1;
out:
	if (map != NULL)
		munmap(map, (size_t)st.st_size);
	if (fd != -1)
		close(fd);
	free(target);
	return ret;
}

int
migrate_mbox_import(struct migrate_import *imp,
    struct migrate_progress *progress, const char *path, const char *folder)
{
	struct migrate_mbox_list list = { 0 };
	struct stat st;
	bool single;
	int ret = 0;

	if (stat(path, &st) == -1) {
		migrate_progress_warn(progress, "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	single = !S_ISDIR(st.st_mode);
	if (single)
		migrate_mbox_list_add(&list, path, "INBOX",
		    (uint64_t)st.st_size);
	else
		migrate_mbox_walk(imp, progress, path, NULL, 0, &list);
	if (list.n > 1)
		qsort(list.files, list.n, sizeof(*list.files),
		    migrate_mbox_file_cmp);
	migrate_progress_set_total(progress, 0, list.bytes);
	for (size_t i = 0; i < list.n && ret == 0; i++)
		ret = migrate_mbox_file(imp, progress, &list.files[i], folder,
		    single);
	if (ret == 0 && migrate_import_finish(imp) == -1)
		ret = -1;
	migrate_mbox_list_clear(&list);
	return ret;
}
