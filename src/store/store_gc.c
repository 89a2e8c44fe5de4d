/* store_gc.c — the account lock and the orphan scan.

   A crash between a message file and its COMMIT leaves a file no row
   names (never acknowledged, so garbage); so does a crash between a COMMIT
   that dropped rows and the unlink of their files. The scan removes them.
   It must never remove a file that a live handle has just written and is
   about to commit, and age is no safe test for that: a hard link keeps
   the queue file's old mtime, and a server restarted right after a crash
   would leave fresh orphans alone. So it is a lock instead, as for the
   queue: every handle holds DATA/accounts/<id>/store.lock shared (flock,
   which also separates handles of one process) for its whole life; the
   scan runs only under the exclusive lock, i.e. when no handle of any
   process has the account open, and so no file can be in flight. The
   first open of an account in a process tries for it (without waiting)
   and, on success, scans and downgrades to shared; an open that finds the
   account in use skips the scan, and a later first-open retries it. A
   process registry remembers the accounts scanned, so the scan (one
   lookup per file) runs once per account per process, not per delivery.

   There is no tmp/ directory to clean: files are made under their final
   names (store_file.c), and a half-written one is an orphan like any
   other. Delivery keys older than STORE_GC_KEY_DAYS go at the same time. */
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* Longer than any queue lifetime (a delivery is retried for days), so a
   retried delivery still finds its key. */
#define STORE_GC_KEY_DAYS 30

static const char store_sql_gc_lookup[] =
	"SELECT 1 FROM messages WHERE file = ?";
static const char store_sql_gc_keys[] =
	"DELETE FROM delivery_keys WHERE created < ?";

static pthread_mutex_t store_gc_mutex = PTHREAD_MUTEX_INITIALIZER;
static int64_t *store_gc_done;
static size_t store_gc_n, store_gc_cap;

static bool
store_gc_is_done(int64_t account_id)
{
	bool done = false;

	pthread_mutex_lock(&store_gc_mutex);
	for (size_t i = 0; i < store_gc_n && !done; i++)
		done = store_gc_done[i] == account_id;
	pthread_mutex_unlock(&store_gc_mutex);
	return done;
}

static void
store_gc_mark(int64_t account_id)
{
	pthread_mutex_lock(&store_gc_mutex);
	if (store_gc_n == store_gc_cap) {
		store_gc_cap = store_gc_cap ? store_gc_cap * 2 : 64;
		store_gc_done = xreallocarray(store_gc_done, store_gc_cap,
		    sizeof(*store_gc_done));
	}
	store_gc_done[store_gc_n++] = account_id;
	pthread_mutex_unlock(&store_gc_mutex);
}

void
store_gc_forget(int64_t account_id)
{
	pthread_mutex_lock(&store_gc_mutex);
	for (size_t i = 0; i < store_gc_n; i++) {
		if (store_gc_done[i] == account_id) {
			store_gc_done[i] = store_gc_done[--store_gc_n];
			break;
		}
	}
	pthread_mutex_unlock(&store_gc_mutex);
}

static bool
store_gc_is_hex_dir(const char *name)
{
	return strlen(name) == 2 && strchr("0123456789abcdef", name[0]) &&
	    strchr("0123456789abcdef", name[1]);
}

/* 1 when a row names file, 0 when none does, or a STORE_* error. */
static int
store_gc_has_row(struct store *s, const char *file)
{
	sqlite3_stmt *st = store_db_stmt(s, store_sql_gc_lookup);
	int rc, ret;

	if (st == NULL)
		return STORE_IO;
	store_db_bind_text(st, 1, file);
	rc = sqlite3_step(st);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 :
	    store_db_fail(s, "orphan scan");
	sqlite3_reset(st);
	return ret;
}

/* Scans msg/<sub>; counts removed files into *removed. */
static int
store_gc_dir(struct store *s, const char *sub, unsigned *removed)
{
	int fd = openat(s->msg_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	unsigned here = 0;
	int ret = STORE_OK;
	DIR *dir;

	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		ret = store_fail(s, STORE_IO, "%s/msg/%s: %s", s->dir, sub,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return ret;
	}
	while (ret == STORE_OK && (de = readdir(dir)) != NULL) {
		char file[3 + 256];
		struct stat st;
		int has;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		snprintf(file, sizeof(file), "%s/%s", sub, de->d_name);
		if ((has = store_gc_has_row(s, file)) < 0) {
			ret = has;
			break;
		}
		if (has == 1)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1) {
			log_warn("store: account=%lld event=orphan "
			    "file=msg/%s error=\"%s\"",
			    (long long)s->account_id, file, strerror(errno));
			continue;
		}
		here++;
	}
	/* Durable, so a crash cannot bring back a removed orphan after its
	   name was reused (ids are unique; this is belt and braces). */
	if (here > 0 && fsync(fd) == -1 && ret == STORE_OK)
		ret = store_fail(s, STORE_IO, "%s/msg/%s: fsync: %s", s->dir,
		    sub, strerror(errno));
	closedir(dir);
	*removed += here;
	return ret;
}

static int
store_gc_scan(struct store *s)
{
	int fd = dup(s->msg_fd);
	unsigned removed = 0;
	struct dirent *de;
	sqlite3_stmt *st;
	int ret = STORE_OK;
	DIR *dir;

	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		ret = store_fail(s, STORE_IO, "%s/msg: %s", s->dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return ret;
	}
	rewinddir(dir);
	while (ret == STORE_OK && (de = readdir(dir)) != NULL) {
		if (store_gc_is_hex_dir(de->d_name))
			ret = store_gc_dir(s, de->d_name, &removed);
	}
	closedir(dir);
	if (removed > 0)
		log_warn("store: account=%lld event=orphans removed=%u "
		    "reason=\"files without a row (interrupted delivery or "
		    "expunge)\"", (long long)s->account_id, removed);
	if (ret != STORE_OK)
		return ret;
	if ((st = store_db_stmt(s, store_sql_gc_keys)) == NULL)
		return STORE_IO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL) -
	    STORE_GC_KEY_DAYS * 86400);
	return store_db_done(s, st, "prune delivery keys");
}

static int
store_gc_lock_shared(struct store *s, char **error_r)
{
	while (flock(s->lock_fd, LOCK_SH) == -1) {
		if (errno != EINTR) {
			*error_r = xasprintf("%s/store.lock: %s", s->dir,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
store_gc_open(struct store *s, char **error_r)
{
	char *path = xasprintf("%s/store.lock", s->dir);

	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd == -1) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (store_gc_is_done(s->account_id) ||
	    flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1)
		return store_gc_lock_shared(s, error_r);
	/* A failed scan costs disk space, not mail: open anyway and let a
	   later first open try again. */
	if (store_gc_scan(s) == STORE_OK)
		store_gc_mark(s->account_id);
	else
		log_warn("store: account=%lld event=orphan-scan-failed "
		    "error=\"%s\"", (long long)s->account_id, store_error(s));
	return store_gc_lock_shared(s, error_r);
}
