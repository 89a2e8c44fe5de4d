/* fsutil.h — durable file operations (STYLE.md §7, DESIGN.md §3).
   Every function here may block on the disk: worker threads or the CLI only. */
#ifndef PETREL_FSUTIL_H
#define PETREL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode for created components. Returns 0 or -1 (errno). */
int fsutil_mkdir_p(const char *path, mode_t mode);
/* fsync of a directory by path. Returns 0 or -1 (errno). */
int fsutil_fsync_dir(const char *path);
/* Writes all of data to fd, retrying short writes and EINTR. 0 or -1. */
int fsutil_write_all(int fd, const void *data, size_t len);
/* Writes path atomically and durably: tmp file, fsync, rename, fsync dir.
   Returns 0 or -1 (errno). */
int fsutil_write_file(const char *path, const void *data, size_t len,
    mode_t mode);
/* Reads a whole file up to max bytes into a heap buffer (NUL-terminated).
   Returns 0, or -1 (errno; EFBIG when over max). */
int fsutil_read_file(const char *path, size_t max, char **data_r,
    size_t *len_r);
/* rm -rf; used by tests and cleanup. 0 or -1. */
int fsutil_remove_tree(const char *path);
#endif
