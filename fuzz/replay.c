/* replay.c — runs a libFuzzer target over files or corpus directories with
   a plain main(), so `make check` replays every corpus under ASan+UBSan
   without clang (SQLite fuzzcheck). */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/fsutil.h"
#include "lib/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv);

static unsigned replayed;

static void
replay_file(const char *path)
{
	char *data;
	size_t len;

	if (fsutil_read_file(path, 16 * 1024 * 1024, &data, &len) == -1) {
		perror(path);
		exit(1);
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	replayed++;
}

static void
replay_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) == -1)
		return;	/* no corpus yet: nothing to replay */
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", path, e->d_name);
		replay_path(sub);
		free(sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	/* Always run the empty input once: every target must survive it. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("%s: replayed %u inputs\n", argc > 0 ? argv[0] : "fuzz", replayed);
	return 0;
}
