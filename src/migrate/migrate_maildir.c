/* migrate_maildir.c — see migrate_maildir.h. Folders are found first (and
   their files counted, for the progress total), then imported one at a
   time: uidlist and keywords read, cur/ and new/ listed, files sorted by
   UID (those without one after, by name, so every run goes in the same
   order), and each file read, converted to CRLF and appended. */
#include "migrate/migrate_maildir.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "migrate/maildir_filename.h"
#include "migrate/maildir_keywords.h"
#include "migrate/maildir_name.h"
#include "migrate/maildir_subscriptions.h"
#include "migrate/maildir_uidlist.h"
#include "migrate/migrate_flags.h"
#include "migrate/migrate_import.h"
#include "migrate/migrate_message.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

struct migrate_maildir_folder {
	char *path;			/* its directory */
	char *source;			/* "INBOX", "Folder/Sub" */
	char *target;			/* with --folder applied */
};

struct migrate_maildir_file {
	const char *sub;		/* "cur" or "new" */
	char *name;
	uint32_t uid;			/* from dovecot-uidlist, 0: none */
};

/* The subdirectories a folder's messages are in. */
static const char *const migrate_maildir_subs[] = { "cur", "new" };

static bool
migrate_maildir_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
migrate_maildir_is_folder(const char *path)
{
	bool yes = false;

	for (size_t i = 0; i < 2 && !yes; i++) {
		char *sub = xasprintf("%s/%s", path, migrate_maildir_subs[i]);

		yes = migrate_maildir_is_dir(sub);
		free(sub);
	}
	return yes;
}

char *
migrate_maildir_root(const char *dir)
{
	char *cur = xasprintf("%s/cur", dir), *root = NULL;

	if (migrate_maildir_is_dir(cur)) {
		root = xstrdup(dir);
	} else {
		free(cur);
		cur = xasprintf("%s/Maildir/cur", dir);
		if (migrate_maildir_is_dir(cur))
			root = xasprintf("%s/Maildir", dir);
	}
	free(cur);
	return root;
}

static void
migrate_maildir_folders_free(struct migrate_maildir_folder *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].source);
		free(f[i].target);
	}
	free(f);
}

/* INBOX first, then by name: parents before their children. */
static int
migrate_maildir_folder_cmp(const void *a, const void *b)
{
	const struct migrate_maildir_folder *x = a, *y = b;
	bool xi = strcmp(x->source, "INBOX") == 0;
	bool yi = strcmp(y->source, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->source, y->source);
}

/* The folders under root; names that do not decode and directories of
   another layout are reported and counted as failures. */
static int
migrate_maildir_folders(struct migrate_import *imp,
    struct migrate_progress *progress, const char *root, const char *folder,
    struct migrate_maildir_folder **folders_r, size_t *n_r)
{
	struct migrate_maildir_folder *f = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(root);

	if (d == NULL) {
		migrate_progress_warn(progress, "%s: %s", root,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		char *path, *source = NULL;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strcmp(name, "cur") == 0 || strcmp(name, "new") == 0 ||
		    strcmp(name, "tmp") == 0)
			continue;
		path = xasprintf("%s/%s", root, name);
		if (!migrate_maildir_is_folder(path)) {
			free(path);
			continue;
		}
		if (name[0] != '.') {
			migrate_progress_warn(progress, "%s: a folder in "
			    "Dovecot's fs layout, which is not read; skipped "
			    "(import it on its own with --folder)", path);
			migrate_import_count_failure(imp);
			free(path);
			continue;
		}
		source = maildir_name_from_dir(name);
		if (source == NULL) {
			migrate_progress_warn(progress, "%s: the folder name "
			    "is neither modified UTF-7 nor UTF-8; skipped",
			    path);
			migrate_import_count_failure(imp);
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			f = xreallocarray(f, cap, sizeof(*f));
		}
		f[n].path = path;
		f[n].source = source;
		f[n].target = migrate_import_target(folder, source);
		n++;
	}
	closedir(d);
	/* The INBOX, root itself. */
	if (n == cap)
		f = xreallocarray(f, ++cap, sizeof(*f));
	f[n].path = xstrdup(root);
	f[n].source = xstrdup("INBOX");
	f[n].target = migrate_import_target(folder, "INBOX");
	n++;
	qsort(f, n, sizeof(*f), migrate_maildir_folder_cmp);
	*folders_r = f;
	*n_r = n;
	return 0;
}

static bool
migrate_maildir_is_message_name(const char *name)
{
	struct maildir_filename fn;

	return maildir_filename_parse(name, &fn) == 0;
}

/* How many message files a folder has (for the progress total). */
static uint64_t
migrate_maildir_count(const char *path)
{
	uint64_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		char *sub = xasprintf("%s/%s", path, migrate_maildir_subs[i]);
		DIR *d = opendir(sub);
		struct dirent *de;

		free(sub);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			n += migrate_maildir_is_message_name(de->d_name);
		closedir(d);
	}
	return n;
}

/* Reads a folder's metadata file. Returns 1 with *data_r, 0 when there is
   none, -1 after reporting. */
static int
migrate_maildir_read_meta(struct migrate_progress *progress,
    const char *folder_path, const char *name, size_t max, char **data_r,
    size_t *len_r)
{
	char *path = xasprintf("%s/%s", folder_path, name);
	int ret = 1;

	if (fsutil_read_file(path, max, data_r, len_r) == -1) {
		if (errno == ENOENT) {
			ret = 0;
		} else {
			migrate_progress_warn(progress, "%s: %s", path,
			    strerror(errno));
			ret = -1;
		}
	}
	free(path);
	return ret;
}

static void
migrate_maildir_read_uidlist(struct migrate_progress *progress,
    const char *path, struct maildir_uidlist *list)
{
	const char *error;
	size_t len, bad;
	char *data;

	memset(list, 0, sizeof(*list));
	if (migrate_maildir_read_meta(progress, path, "dovecot-uidlist",
	    MAILDIR_UIDLIST_MAX, &data, &len) != 1)
		return;
	if (maildir_uidlist_parse(data, len, list, &bad, &error) == -1) {
		migrate_progress_warn(progress, "%s/dovecot-uidlist: %s; the "
		    "folder's UIDs are not kept", path, error);
	} else if (bad > 0) {
		migrate_progress_warn(progress, "%s/dovecot-uidlist: %zu "
		    "line%s skipped (not understood, or UIDs out of order)",
		    path, bad, bad == 1 ? "" : "s");
	}
	free(data);
}

static void
migrate_maildir_read_keywords(struct migrate_progress *progress,
    const char *path, struct maildir_keywords *kw)
{
	size_t len, bad;
	char *data;

	memset(kw, 0, sizeof(*kw));
	if (migrate_maildir_read_meta(progress, path, "dovecot-keywords",
	    MAILDIR_KEYWORDS_FILE_MAX, &data, &len) != 1)
		return;
	maildir_keywords_parse(data, len, kw, &bad);
	if (bad > 0)
		migrate_progress_warn(progress, "%s/dovecot-keywords: %zu "
		    "line%s skipped (not understood, or not a valid keyword)",
		    path, bad, bad == 1 ? "" : "s");
	free(data);
}

/* UID order; files without a UID after all others, by name. */
static int
migrate_maildir_file_cmp(const void *a, const void *b)
{
	const struct migrate_maildir_file *x = a, *y = b;

	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
migrate_maildir_files_free(struct migrate_maildir_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i].name);
	free(files);
}

static void
migrate_maildir_list(struct migrate_progress *progress, const char *path,
    const struct maildir_uidlist *uidlist,
    struct migrate_maildir_file **files_r, size_t *n_r)
{
	struct migrate_maildir_file *files = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < 2; i++) {
		char *sub = xasprintf("%s/%s", path, migrate_maildir_subs[i]);
		DIR *d = opendir(sub);
		struct dirent *de;

		if (d == NULL) {
			if (errno != ENOENT)
				migrate_progress_warn(progress, "%s: %s", sub,
				    strerror(errno));
			free(sub);
			continue;
		}
		free(sub);
		while ((de = readdir(d)) != NULL) {
			struct maildir_filename fn;

			if (maildir_filename_parse(de->d_name, &fn) == -1)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				files = xreallocarray(files, cap,
				    sizeof(*files));
			}
			files[n].sub = migrate_maildir_subs[i];
			files[n].name = xstrdup(de->d_name);
			files[n].uid = maildir_uidlist_lookup(uidlist, fn.base,
			    fn.base_len);
			n++;
		}
		closedir(d);
	}
	if (n > 1)
		qsort(files, n, sizeof(*files), migrate_maildir_file_cmp);
	*files_r = files;
	*n_r = n;
}

/* Reads a message file into raw. Returns 0, or -1 with errno (EFBIG: over
   MIGRATE_MESSAGE_MAX; EINVAL: not a regular file). */
static int
migrate_maildir_read_file(const char *path, struct stat *st, char **data_r,
    size_t *len_r)
{
	if (stat(path, st) == -1)
		return -1;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st->st_size > MIGRATE_MESSAGE_MAX) {
		errno = EFBIG;
		return -1;
	}
	return fsutil_read_file(path, MIGRATE_MESSAGE_MAX, data_r, len_r);
}

/* One message. Returns what migrate_import_message does. */
static int
migrate_maildir_message(struct migrate_import *imp,
    struct migrate_progress *progress,
    const struct migrate_maildir_folder *folder,
    const struct maildir_keywords *kw, const struct migrate_maildir_file *f,
    unsigned *unknown_letters)
{
	char *path = xasprintf("%s/%s/%s", folder->path, f->sub, f->name);
	struct buf data, keywords;
	struct maildir_filename fn;
	struct stat st;
	char *raw = NULL, *key;
	size_t raw_len = 0;
	int ret;

	(void)maildir_filename_parse(f->name, &fn);
	if (migrate_maildir_read_file(path, &st, &raw, &raw_len) == -1) {
		migrate_progress_warn(progress, "%s: not imported: %s", path,
		    errno == EINVAL ? "not a regular file" : errno == EFBIG ?
		    "larger than the import's limit" : strerror(errno));
		migrate_import_failed(imp, 0);
		free(path);
		return 0;
	}
	buf_init(&data, 0);
	buf_init(&keywords, 0);
	(void)migrate_message_crlf(raw, raw_len, &data);
	free(raw);
	if (maildir_keywords_apply(kw, fn.keywords, &keywords) > 0)
		(*unknown_letters)++;
	if (fn.passed)
		(void)migrate_flags_keyword_add(&keywords,
		    MIGRATE_FLAGS_FORWARDED, strlen(MIGRATE_FLAGS_FORWARDED));
	key = migrate_import_key(folder->target, fn.base, fn.base_len);

	struct migrate_import_msg msg = {
		.source = path,
		.data = &data,
		.flags = fn.flags,
		.keywords = keywords.data,
		.internal_date = st.st_mtime,
		.uid = f->uid,
		.key = key,
	};

	ret = migrate_import_message(imp, &msg);
	buf_clear(&data);
	buf_clear(&keywords);
	free(key);
	free(path);
	return ret;
}

/* One folder. Returns 0, or -1 to stop. */
static int
migrate_maildir_folder(struct migrate_import *imp,
    struct migrate_progress *progress,
    const struct migrate_maildir_folder *folder)
{
	struct maildir_uidlist uidlist;
	struct maildir_keywords kw;
	struct migrate_maildir_file *files;
	size_t n_files;
	unsigned unknown_letters = 0;
	int ret = 0, rc;

	migrate_maildir_read_uidlist(progress, folder->path, &uidlist);
	migrate_maildir_read_keywords(progress, folder->path, &kw);
	migrate_maildir_list(progress, folder->path, &uidlist, &files,
	    &n_files);
	rc = migrate_import_mailbox(imp, folder->target, uidlist.uidvalidity,
	    uidlist.uidnext);
	if (rc == -2) {
		ret = -1;
	} else if (rc == -1) {
		for (size_t i = 0; i < n_files; i++)
			migrate_import_failed(imp, 0);
	} else {
		for (size_t i = 0; i < n_files && ret == 0; i++)
			ret = migrate_maildir_message(imp, progress, folder,
			    &kw, &files[i], &unknown_letters);
	}
	if (unknown_letters > 0)
		migrate_progress_warn(progress, "%s: %u message%s with keyword "
		    "letters that dovecot-keywords does not name; those "
		    "letters were ignored", folder->path, unknown_letters,
		    unknown_letters == 1 ? "" : "s");
	migrate_maildir_files_free(files, n_files);
	maildir_keywords_clear(&kw);
	maildir_uidlist_clear(&uidlist);
	return ret;
}

/* Courier lists its folders as "INBOX.Name": a subscription to
   "INBOX/Name" means the folder "Name" when that is what exists. */
static const char *
migrate_maildir_unprefix(const char *name,
    const struct migrate_maildir_folder *folders, size_t n)
{
	const char *rest;
	bool rest_found = false;

	if (strncmp(name, "INBOX/", 6) != 0)
		return name;
	rest = name + 6;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(folders[i].source, name) == 0)
			return name;
		if (strcmp(folders[i].source, rest) == 0)
			rest_found = true;
	}
	return rest_found ? rest : name;
}

static void
migrate_maildir_subscriptions(struct migrate_import *imp,
    struct migrate_progress *progress, const char *root, const char *folder,
    const struct migrate_maildir_folder *folders, size_t n_folders)
{
	static const char *const files[] = {
		"subscriptions", "courierimapsubscribed",
	};
	char **names = NULL, *data = NULL;
	size_t n = 0, bad, len;
	int rc = 0;

	for (size_t i = 0; i < 2 && rc == 0; i++)
		rc = migrate_maildir_read_meta(progress, root, files[i],
		    MAILDIR_SUBSCRIPTIONS_MAX, &data, &len);
	if (rc == -1)
		migrate_import_count_failure(imp);
	if (rc != 1)
		return;
	maildir_subscriptions_parse(data, len, &names, &n, &bad);
	free(data);
	if (bad > 0) {
		migrate_progress_warn(progress, "%s: %zu subscription%s "
		    "skipped (the name does not decode)", root, bad,
		    bad == 1 ? "" : "s");
		migrate_import_count_failure(imp);
	}
	for (size_t i = 0; i < n; i++) {
		char *target = migrate_import_target(folder,
		    migrate_maildir_unprefix(names[i], folders, n_folders));

		(void)migrate_import_subscribe(imp, target);
		free(target);
	}
	maildir_subscriptions_free(&names, n);
}

int
migrate_maildir_import(struct migrate_import *imp,
    struct migrate_progress *progress, const char *root, const char *folder)
{
	struct migrate_maildir_folder *folders;
	uint64_t total = 0;
	size_t n;
	int ret = 0;

	if (migrate_maildir_folders(imp, progress, root, folder, &folders,
	    &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		total += migrate_maildir_count(folders[i].path);
	migrate_progress_set_total(progress, total, 0);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = migrate_maildir_folder(imp, progress, &folders[i]);
	if (ret == 0 && migrate_import_finish(imp) == -1)
		ret = -1;
	if (ret == 0)
		migrate_maildir_subscriptions(imp, progress, root, folder,
		    folders, n);
	migrate_maildir_folders_free(folders, n);
	return ret;
}
