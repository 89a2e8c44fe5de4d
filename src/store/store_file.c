/* store_file.c — the message files: DATA/accounts/<id>/msg/<xx>/<file-id>,
   0600 in 0700 directories, written once and never changed.

   A file is created under its final name (O_EXCL) and fsynced before any
   row names it; there is no tmp/ directory, because a file without a row
   is garbage whether complete or not, and store_gc.c removes it. A message
   that already exists durably elsewhere (a queue file, another message of
   the account) is hard-linked: its data is on disk, only the new directory
   entry needs the directory fsync that store_txn_end does before COMMIT.
   Every file made is listed in store->created so a rollback removes it. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* A fresh id collides only with the same µs, counter and salt; a second
   try practically always succeeds. */
#define STORE_FILE_TRIES 8
#define STORE_FILE_COPY_CHUNK 65536

/* Makes the directory entry name; 0, or -1 with errno. */
typedef int store_file_make_fn(struct store *s, const char *name, void *ctx);

static void
store_file_list_add(char ***list, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*list = xreallocarray(*list, *cap, sizeof(**list));
	}
	(*list)[(*n)++] = xstrdup(name);
}

/* msg/<xx> was never made (accounts start without the 256 directories):
   create it and make its entry in msg/ durable. */
static int
store_file_mkdir(struct store *s, unsigned dir)
{
	char sub[3];

	snprintf(sub, sizeof(sub), "%02x", dir);
	if (mkdirat(s->msg_fd, sub, 0700) == -1 && errno != EEXIST)
		return -1;
	return fsync(s->msg_fd);
}

static int
store_file_place(struct store *s, store_file_make_fn *make, void *ctx,
    char name_r[STORE_FILE_NAME_SIZE])
{
	char id[STORE_FILE_ID_LEN + 1];
	bool made_dir = false;

	if (s->txn_dir < 0)
		s->txn_dir = (int)store_id_dir();
	/* One more round than tries when msg/<xx> must be made first. */
	for (unsigned tries = 0; tries < STORE_FILE_TRIES; ) {
		store_id_new(id);
		snprintf(name_r, STORE_FILE_NAME_SIZE, "%02x/%s",
		    (unsigned)s->txn_dir, id);
		if (make(s, name_r, ctx) == 0) {
			store_file_list_add(&s->created, &s->n_created,
			    &s->cap_created, name_r);
			s->dirty_dirs[s->txn_dir / 8] |=
			    (uint8_t)(1u << (s->txn_dir % 8));
			return STORE_OK;
		}
		if (errno == ENOENT && !made_dir) {
			if (store_file_mkdir(s, (unsigned)s->txn_dir) == -1)
				break;
			made_dir = true;
			continue;
		}
		if (errno != EEXIST)
			break;
		tries++;
	}
	/* errno survives: store_file_link decides on it whether to copy. */
	int err = errno, ret;

	ret = store_fail(s, STORE_IO, "%s/msg/%s: %s", s->dir, name_r,
	    err == EEXIST ? "no unique file name" : strerror(err));
	errno = err;
	return ret;
}

struct store_file_data {
	const void *data;
	size_t len;
	int src_fd;			/* or -1: copy from data */
	uint64_t src_size;
};

static int
store_file_copy_fd(int dst, int src, uint64_t size)
{
	char *chunk = xmalloc(STORE_FILE_COPY_CHUNK);
	uint64_t off = 0;
	int ret = -1;

	while (off < size) {
		size_t want = size - off < STORE_FILE_COPY_CHUNK ?
		    (size_t)(size - off) : STORE_FILE_COPY_CHUNK;
		ssize_t n = pread(src, chunk, want, (off_t)off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			goto out;
		}
		if (fsutil_write_all(dst, chunk, (size_t)n) == -1)
			goto out;
		off += (uint64_t)n;
	}
	ret = 0;
out:
	free(chunk);
	return ret;
}

static int
store_file_make_write(struct store *s, const char *name, void *ctx)
{
	struct store_file_data *d = ctx;
	int fd, saved;

	fd = openat(s->msg_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	if ((d->src_fd != -1 ?
	    store_file_copy_fd(fd, d->src_fd, d->src_size) :
	    fsutil_write_all(fd, d->data, d->len)) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlinkat(s->msg_fd, name, 0);
		/* Not EEXIST/ENOENT, which would mean "try another name". */
		errno = saved == EEXIST || saved == ENOENT ? EIO : saved;
		return -1;
	}
	if (close(fd) == -1) {
		saved = errno;
		unlinkat(s->msg_fd, name, 0);
		errno = saved == EEXIST || saved == ENOENT ? EIO : saved;
		return -1;
	}
	return 0;
}

int
store_file_write(struct store *s, const void *data, size_t len,
    char name_r[STORE_FILE_NAME_SIZE])
{
	struct store_file_data d = { data, len, -1, 0 };

	return store_file_place(s, store_file_make_write, &d, name_r);
}

struct store_file_link {
	int src_dirfd;
	const char *src;
};

static int
store_file_make_link(struct store *s, const char *name, void *ctx)
{
	struct store_file_link *l = ctx;

	return linkat(l->src_dirfd, l->src, s->msg_fd, name, 0);
}

/* When linking is impossible here and now but copying would work. */
static bool
store_file_link_refused(int err)
{
	/* EXDEV: another file system; EMLINK: the inode's link limit (a
	   message delivered to very many accounts); EPERM: file systems
	   without hard links. */
	return err == EXDEV || err == EMLINK || err == EPERM;
}

int
store_file_link(struct store *s, const char *path, int fd,
    char name_r[STORE_FILE_NAME_SIZE])
{
	struct store_file_link l = { AT_FDCWD, path };
	struct store_file_data d = { NULL, 0, fd, 0 };
	struct stat st;
	char *saved;
	int ret;

	ret = store_file_place(s, store_file_make_link, &l, name_r);
	if (ret == STORE_OK || !store_file_link_refused(errno))
		return ret;
	if (fstat(fd, &st) == -1)
		return store_fail(s, STORE_IO, "%s: %s", path,
		    strerror(errno));
	d.src_size = (uint64_t)st.st_size;
	saved = xstrdup(store_error(s));
	ret = store_file_place(s, store_file_make_write, &d, name_r);
	if (ret == STORE_OK)
		log_debug("store: account=%lld event=link-fallback "
		    "reason=\"%s\"", (long long)s->account_id, saved);
	free(saved);
	return ret;
}

int
store_file_link_own(struct store *s, const char *src,
    char name_r[STORE_FILE_NAME_SIZE])
{
	struct store_file_link l = { s->msg_fd, src };
	struct store_file_data d = { NULL, 0, -1, 0 };
	struct stat st;
	int ret;

	ret = store_file_place(s, store_file_make_link, &l, name_r);
	if (ret == STORE_OK || !store_file_link_refused(errno))
		return ret;
	d.src_fd = openat(s->msg_fd, src, O_RDONLY | O_CLOEXEC);
	if (d.src_fd == -1 || fstat(d.src_fd, &st) == -1) {
		ret = store_fail(s, STORE_IO, "%s/msg/%s: %s", s->dir, src,
		    strerror(errno));
		goto out;
	}
	d.src_size = (uint64_t)st.st_size;
	ret = store_file_place(s, store_file_make_write, &d, name_r);
out:
	if (d.src_fd != -1)
		close(d.src_fd);
	return ret;
}

void
store_file_doom(struct store *s, const char *name)
{
	store_file_list_add(&s->doomed, &s->n_doomed, &s->cap_doomed, name);
}

void
store_file_list_drop(char **list, size_t *n, size_t from)
{
	for (size_t i = from; i < *n; i++)
		free(list[i]);
	if (from < *n)
		*n = from;
}

void
store_file_list_unlink(struct store *s, char **list, size_t *n,
    size_t from)
{
	for (size_t i = from; i < *n; i++) {
		if (unlinkat(s->msg_fd, list[i], 0) == -1 && errno != ENOENT)
			log_warn("store: account=%lld event=unlink-failed "
			    "file=msg/%s error=\"%s\"",
			    (long long)s->account_id, list[i],
			    strerror(errno));
	}
	store_file_list_drop(list, n, from);
}

int
store_file_sync_dirs(struct store *s)
{
	for (unsigned dir = 0; dir < 256; dir++) {
		char sub[3];
		int fd;

		if ((s->dirty_dirs[dir / 8] & (1u << (dir % 8))) == 0)
			continue;
		snprintf(sub, sizeof(sub), "%02x", dir);
		fd = openat(s->msg_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1 || fsync(fd) == -1) {
			int err = errno;

			if (fd != -1)
				close(fd);
			return store_fail(s, STORE_IO, "%s/msg/%s: fsync: %s",
			    s->dir, sub, strerror(err));
		}
		close(fd);
		s->dirty_dirs[dir / 8] &= (uint8_t)~(1u << (dir % 8));
	}
	return STORE_OK;
}
