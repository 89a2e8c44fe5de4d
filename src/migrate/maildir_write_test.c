/* maildir_write_test.c — unit tests for the file side of an export: a
   folder's directories and maildirfolder mark, a message copied from a
   file descriptor into cur/ with its mtime, a short source refused, and
   the scan that finds an earlier export's files by UID. */
#include "migrate/maildir_write.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

static bool
exists(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	bool yes = stat(path, &st) == 0;

	free(path);
	return yes;
}

/* A file holding text, opened for reading. */
static int
source_fd(const char *dir, const char *text)
{
	char *path = xasprintf("%s/source", dir);
	int fd;

	if (fsutil_write_file(path, text, strlen(text), 0600) == -1)
		panic("write %s", path);
	fd = open(path, O_RDONLY);
	free(path);
	return fd;
}

static void
test_folder_and_message(void)
{
	char *dir = test_tmpdir();
	char *inbox = xasprintf("%s/export", dir);
	char *sub = xasprintf("%s/export/.Sent", dir);
	char *data = NULL, *path;
	struct stat st;
	size_t len;
	int fd;

	TEST_EQ_INT(maildir_write_folder(inbox, true), 0);
	TEST_EQ_INT(maildir_write_folder(sub, false), 0);
	TEST_ASSERT(exists(inbox, "cur") && exists(inbox, "new") &&
	    exists(inbox, "tmp"));
	TEST_ASSERT(!exists(inbox, "maildirfolder"));
	TEST_ASSERT(exists(sub, "maildirfolder"));
	TEST_EQ_INT(maildir_write_folder(sub, false), 0);	/* again: ok */

	fd = source_fd(dir, "Subject: x\r\n\r\nbody\r\n");
	TEST_EQ_INT(maildir_write_message(inbox,
	    "1700000000.M7V9.petrel,S=20,W=20:2,S", fd, 20, 1700000000), 0);
	close(fd);
	path = xasprintf("%s/cur/1700000000.M7V9.petrel,S=20,W=20:2,S", inbox);
	TEST_EQ_INT(fsutil_read_file(path, 100, &data, &len), 0);
	TEST_EQ_STR(data, "Subject: x\r\n\r\nbody\r\n");
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mtime, 1700000000);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	TEST_ASSERT(!exists(inbox, "tmp/1700000000.M7V9.petrel,S=20,W=20:2,S"));
	free(data);
	free(path);

	/* A source shorter than the size claimed: EIO, nothing left. */
	fd = source_fd(dir, "short");
	TEST_EQ_INT(maildir_write_message(inbox, "1.M8V9.petrel", fd, 100, 1),
	    -1);
	close(fd);
	TEST_ASSERT(!exists(inbox, "cur/1.M8V9.petrel"));
	TEST_ASSERT(!exists(inbox, "tmp/1.M8V9.petrel"));
	TEST_EQ_INT(maildir_write_sync(inbox), 0);

	fsutil_remove_tree(dir);
	free(inbox);
	free(sub);
	free(dir);
}

static void
test_scan(void)
{
	char *dir = test_tmpdir();
	struct maildir_write_file *files = NULL;
	const struct maildir_write_file *f;
	size_t n = 0;
	static const char *const names[] = {
		"cur/5.M30V9.petrel,S=1,W=1:2,S",
		"cur/5.M4V9.petrel,S=1,W=1:2,",
		"new/5.M12V9.petrel,S=1,W=1",
		"cur/5.M13V8.petrel,S=1,W=1:2,",	/* other UIDVALIDITY */
		"cur/1600000000.M1P2.host:2,S",		/* not ours */
	};

	TEST_EQ_INT(maildir_write_folder(dir, true), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);

		TEST_EQ_INT(fsutil_write_file(path, "x", 1, 0600), 0);
		free(path);
	}
	TEST_EQ_INT(maildir_write_scan(dir, 9, &files, &n), 0);
	TEST_EQ_INT(n, 3);
	if (n == 3) {
		TEST_EQ_INT(files[0].uid, 4);
		TEST_EQ_INT(files[1].uid, 12);
		TEST_EQ_STR(files[1].sub, "new");
		TEST_EQ_INT(files[2].uid, 30);
	}
	f = maildir_write_find(files, n, 12);
	TEST_ASSERT(f != NULL && strcmp(f->name, "5.M12V9.petrel,S=1,W=1") ==
	    0);
	TEST_ASSERT(maildir_write_find(files, n, 13) == NULL);
	TEST_ASSERT(maildir_write_find(files, n, 31) == NULL);
	maildir_write_files_free(&files, n);
	TEST_ASSERT(files == NULL);

	/* A folder without cur/ or new/: nothing, no error. */
	char *empty = xasprintf("%s/none", dir);

	TEST_EQ_INT(maildir_write_scan(empty, 9, &files, &n), 0);
	TEST_EQ_INT(n, 0);
	free(empty);
	fsutil_remove_tree(dir);
	free(dir);
}

int
main(void)
{
	TEST_RUN(test_folder_and_message);
	TEST_RUN(test_scan);
	return test_done();
}
