/* maildir_write.c — see maildir_write.h. */
#include "migrate/maildir_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "migrate/maildir_filename.h"

static const char *const maildir_write_subs[] = { "cur", "new", "tmp" };

int
maildir_write_folder(const char *path, bool inbox)
{
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", path, maildir_write_subs[i]);
		int rc = fsutil_mkdir_p(sub, 0700);
		int saved = errno;

		free(sub);
		if (rc == -1) {
			errno = saved;
			return -1;
		}
	}
	if (!inbox) {
		char *mark = xasprintf("%s/maildirfolder", path);
		int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		free(mark);
		if (fd == -1)
			return -1;
		close(fd);
	}
	return 0;
}

/* Copies exactly size bytes from src to dst. */
static int
maildir_write_copy(int src, int dst, uint64_t size)
{
	char chunk[64 * 1024];
	uint64_t done = 0;

	while (done < size) {
		size_t want = size - done < sizeof(chunk) ?
		    (size_t)(size - done) : sizeof(chunk);
		ssize_t n = read(src, chunk, want);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;	/* the store's file is short */
			return -1;
		}
		if (fsutil_write_all(dst, chunk, (size_t)n) == -1)
			return -1;
		done += (uint64_t)n;
	}
	return 0;
}

int
maildir_write_message(const char *path, const char *name, int src_fd,
    uint64_t size, time_t mtime)
{
	char *tmp = xasprintf("%s/tmp/%s", path, name);
	char *cur = xasprintf("%s/cur/%s", path, name);
	struct timespec times[2] = {
		{ .tv_sec = mtime, .tv_nsec = 0 },
		{ .tv_sec = mtime, .tv_nsec = 0 },
	};
	int fd, ret = -1, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		goto out;
	if (maildir_write_copy(src_fd, fd, size) == -1 ||
	    futimens(fd, times) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, cur) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	free(cur);
	return ret;
}

int
maildir_write_sync(const char *path)
{
	for (size_t i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", path, maildir_write_subs[i]);
		int rc = fsutil_fsync_dir(sub);
		int saved = errno;

		free(sub);
		if (rc == -1) {
			errno = saved;
			return -1;
		}
	}
	return fsutil_fsync_dir(path);
}

static int
maildir_write_file_cmp(const void *a, const void *b)
{
	const struct maildir_write_file *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

int
maildir_write_scan(const char *path, uint32_t uidvalidity,
    struct maildir_write_file **files_r, size_t *n_r)
{
	struct maildir_write_file *files = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < 2; i++) {
		char *sub = xasprintf("%s/%s", path, maildir_write_subs[i]);
		DIR *d = opendir(sub);
		struct dirent *de;
		uint32_t uid;

		free(sub);
		if (d == NULL) {
			if (errno == ENOENT)
				continue;
			maildir_write_files_free(&files, n);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (!maildir_filename_exported_uid(de->d_name,
			    uidvalidity, &uid))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				files = xreallocarray(files, cap,
				    sizeof(*files));
			}
			files[n].uid = uid;
			files[n].sub = maildir_write_subs[i];
			files[n].name = xstrdup(de->d_name);
			n++;
		}
		closedir(d);
	}
	if (n > 1)
		qsort(files, n, sizeof(*files), maildir_write_file_cmp);
	*files_r = files;
	*n_r = n;
	return 0;
}

const struct maildir_write_file *
maildir_write_find(const struct maildir_write_file *files, size_t n,
    uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (files[mid].uid == uid)
			return &files[mid];
		if (files[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
maildir_write_files_free(struct maildir_write_file **files, size_t n)
{
	if (*files == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*files)[i].name);
	xfree(files);
}
