/* cli_helpers_test.c — unit tests for the helpers cli.c shares with the
   commands: the argument scanner (options, "--", "-", option values taken
   whatever they look like), JSON output including a failed write, the
   directory error line, and opening the directory from the config. stdout
   and stderr are caught in temporary files. */
#include "cli/cli.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

/* One stream (stdout or stderr) sent to a temporary file while a test
   calls the code that writes to it. */
struct capture {
	FILE *stream, *file;
	int fd, saved;
};

static void
capture_start(struct capture *c, FILE *stream)
{
	c->stream = stream;
	c->fd = fileno(stream);
	if ((c->file = tmpfile()) == NULL)
		abort();
	fflush(stream);
	c->saved = dup(c->fd);
	dup2(fileno(c->file), c->fd);
}

/* Restores the stream; returns what was written (heap). */
static char *
capture_end(struct capture *c)
{
	struct buf b;
	char chunk[4096];
	size_t n;

	fflush(c->stream);
	dup2(c->saved, c->fd);
	close(c->saved);
	buf_init(&b, 0);
	buf_append_str(&b, "");
	rewind(c->file);
	while ((n = fread(chunk, 1, sizeof(chunk), c->file)) > 0)
		buf_append(&b, chunk, n);
	fclose(c->file);
	return buf_steal(&b);
}

/* Scans words as a command would after "petrel NOUN VERB": the option
   named takes_value gets cli_args_value. The trace reads "o:-x v:1 p:a". */
static char *
scan(const char *const *words, const char *takes_value)
{
	char *argv[16] = { "petrel", "noun" };
	struct cli_args args;
	struct buf b;
	const char *s, *v;
	bool option;
	int argc = 2;

	while (words[argc - 2] != NULL && argc < 15) {
		argv[argc] = (char *)words[argc - 2];
		argc++;
	}
	argv[argc] = NULL;
	buf_init(&b, 0);
	buf_append_str(&b, "");
	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		buf_printf(&b, "%s%s:%s", b.len > 0 ? " " : "",
		    option ? "o" : "p", s);
		if (option && strcmp(s, takes_value) == 0) {
			v = cli_args_value(&args);
			buf_printf(&b, " v:%s", v != NULL ? v : "(none)");
		}
	}
	/* The end stays the end. */
	TEST_ASSERT(cli_args_next(&args, &option) == NULL);
	TEST_ASSERT(cli_args_value(&args) == NULL);
	return buf_steal(&b);
}

static void
test_args(void)
{
	static const struct {
		const char *words[8];
		const char *want;
	} cases[] = {
		{ { NULL }, "" },
		{ { "--", NULL }, "" },
		{ { "a", "-b", "-", NULL }, "p:a o:-b p:-" },
		/* "--" ends the options once; a second one is an argument. */
		{ { "--", "-b", "--", NULL }, "p:-b p:--" },
		{ { "-x", "--", "-y", "a", NULL }, "o:-x p:-y p:a" },
		{ { "a", "--", NULL }, "p:a" },
		/* An option's value is the next word, whatever it looks like. */
		{ { "--name", "-x", "a", NULL }, "o:--name v:-x p:a" },
		{ { "--name", "--", "-b", NULL }, "o:--name v:-- o:-b" },
		{ { "--name", NULL }, "o:--name v:(none)" },
		{ { "--name", "v", "--", "--name", NULL },
		    "o:--name v:v p:--name" },
		{ { "", "-", "--x", NULL }, "p: p:- o:--x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = scan(cases[i].words, "--name");

		TEST_EQ_STR(got, cases[i].want);
		free(got);
	}
}

static void
test_args_past_end(void)
{
	char *argv[] = { "petrel", NULL };
	struct cli_args args;
	bool option = true;

	/* A command given nothing after its noun: first is past argc. */
	cli_args_init(&args, 1, argv, 2);
	TEST_ASSERT(cli_args_next(&args, &option) == NULL);
	TEST_ASSERT(cli_args_value(&args) == NULL);
}

static void
test_print_json(void)
{
	struct capture out, err;
	char *o, *e;
	json_t *big;
	int rc, fd;

	capture_start(&out, stdout);
	rc = cli_print_json(json_pack("{s:i, s:[s]}", "a", 1, "b", "x"));
	o = capture_end(&out);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_STR(o, "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}\n");
	free(o);

	/* A write that fails (a full disk) is one error line and status 1;
	   the document is larger than stdio's buffer so that the failure
	   surfaces inside cli_print_json rather than at exit. */
	if ((fd = open("/dev/full", O_WRONLY | O_CLOEXEC)) == -1) {
		printf("  (no /dev/full: write failure not tested)\n");
		return;
	}
	big = json_array();
	for (int i = 0; i < 20000; i++)
		json_array_append_new(big, json_integer(i));
	capture_start(&err, stderr);
	fflush(stdout);
	out.saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	rc = cli_print_json(big);
	(void)fflush(stdout);	/* drops what is left; fails again */
	clearerr(stdout);
	dup2(out.saved, STDOUT_FILENO);
	close(out.saved);
	close(fd);
	e = capture_end(&err);
	TEST_EQ_INT(rc, 1);
	TEST_EQ_STR(e, "petrel: cannot write JSON output\n");
	free(e);
}

static void
test_directory_error(void)
{
	static const struct {
		const char *message, *what, *want;
	} cases[] = {
		{ "domain x.test already exists", NULL,
		    "petrel: domain x.test already exists\n" },
		{ NULL, NULL, "petrel: directory error\n" },
		{ "exists", "admin@x.test", "petrel: admin@x.test: exists\n" },
		{ NULL, "x.test", "petrel: x.test: directory error\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct directory_error de = { .code = DIRECTORY_ERROR_EXISTS };
		struct capture err;
		char *got;
		int rc;

		if (cases[i].message != NULL)
			de.message = xstrdup(cases[i].message);
		capture_start(&err, stderr);
		rc = cli_directory_error(&de, cases[i].what);
		got = capture_end(&err);
		TEST_EQ_INT(rc, 1);
		TEST_EQ_STR(got, cases[i].want);
		/* Cleared: nothing left to free, nothing stale to print. */
		TEST_ASSERT(de.message == NULL);
		TEST_EQ_INT(de.code, DIRECTORY_ERROR_NONE);
		free(got);
	}
}

/* cli_open_directory refuses: status 1, no directory, and an error line
   that holds want. */
static void
open_directory_fails_at(const char *file, int line, struct cli *cli,
    bool create, const char *want)
{
	struct directory *dir = NULL;
	struct capture err;
	char *e;
	int rc;

	capture_start(&err, stderr);
	rc = cli_open_directory(cli, create, &dir);
	e = capture_end(&err);
	if (rc != 1 || dir != NULL || strstr(e, want) == NULL)
		test_fail(file, line, "cli_open_directory: %d, %s, \"%s\"; "
		    "want 1, none, \"...%s...\"", rc, dir != NULL ?
		    "a directory" : "none", e, want);
	directory_close(&dir);
	free(e);
}

#define OPEN_DIRECTORY_FAILS(cli, create, want) \
	open_directory_fails_at(__FILE__, __LINE__, (cli), (create), (want))

static void
test_open_directory(void)
{
	char *tmp = test_tmpdir(), *conf, *text;
	struct cli cli = { 0 };

	/* No config file: the hint to create one. */
	conf = xasprintf("%s/missing.conf", tmp);
	cli.config_path = conf;
	OPEN_DIRECTORY_FAILS(&cli, true, "petrel quickstart HOSTNAME");
	free(conf);

	conf = xasprintf("%s/petrel.conf", tmp);
	text = xasprintf("[server]\nhostname = mx.example.org\n"
	    "data_dir = %s\nlog_level = error\n[listen.smtp]\n"
	    "address = 127.0.0.1\nport = 2525\nprotocol = smtp\n", tmp);
	TEST_EQ_INT(fsutil_write_file(conf, text, strlen(text), 0600), 0);
	cli.config_path = conf;

	/* Reading commands do not create a database that is not there. */
	OPEN_DIRECTORY_FAILS(&cli, false, "directory.db");

	/* Creating it once lets both kinds open it. */
	for (int create = 1; create >= 0; create--) {
		struct directory *dir = NULL;

		TEST_EQ_INT(cli_open_directory(&cli, create, &dir), 0);
		TEST_ASSERT(dir != NULL);
		directory_close(&dir);
	}

	config_free(&cli.config);
	free(text);
	free(conf);
	fsutil_remove_tree(tmp);
	free(tmp);
}

int
main(void)
{
	TEST_RUN(test_args);
	TEST_RUN(test_args_past_end);
	TEST_RUN(test_print_json);
	TEST_RUN(test_directory_error);
	TEST_RUN(test_open_directory);
	return test_done();
}
