/* maildir_write.h — the file system half of an export: Maildir folder
   directories, durable message files, and the files an earlier export
   left (so a re-run does not write them again).

   Blocks on the disk: CLI only. */
#ifndef PETREL_MAILDIR_WRITE_H
#define PETREL_MAILDIR_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Creates path (and its parents) with cur/ new/ tmp/, mode 0700, and for
   a folder other than the INBOX the empty "maildirfolder" file Maildir++
   marks folders with. Returns 0, or -1 with errno. */
int maildir_write_folder(const char *path, bool inbox);

/* Copies size bytes from src_fd to path/tmp/name, sets its mtime (and
   atime) to mtime, fsyncs it and renames it to path/cur/name. The
   directories are not fsynced: maildir_write_sync does that once per
   folder. Returns 0, or -1 with errno (EIO: src_fd had fewer bytes). */
int maildir_write_message(const char *path, const char *name, int src_fd,
    uint64_t size, time_t mtime);

/* fsyncs path/cur, path/new, path/tmp and path. 0, or -1 with errno. */
int maildir_write_sync(const char *path);

/* A file an earlier export wrote (maildir_filename_exported_uid). */
struct maildir_write_file {
	uint32_t uid;
	const char *sub;		/* "cur" or "new" */
	char *name;			/* heap */
};

/* The files in path/cur and path/new an export wrote for uidvalidity,
   sorted by UID (heap array, NULL when none; free with
   maildir_write_files_free). Returns 0, or -1 with errno. */
int maildir_write_scan(const char *path, uint32_t uidvalidity,
    struct maildir_write_file **files_r, size_t *n_r);
/* The file of uid in files, or NULL. */
const struct maildir_write_file *
maildir_write_find(const struct maildir_write_file *files, size_t n,
    uint32_t uid);
/* Frees the list; *files becomes NULL. */
void maildir_write_files_free(struct maildir_write_file **files, size_t n);
#endif
