/* cmd_import.c — `petrel import`: mail from another server into an
   account, whether or not the server runs (the store shares the account
   with it).

	petrel import maildir DIR ADDRESS [--folder F] [--quiet]
	petrel import mbox PATH ADDRESS [--folder F] [--quiet]

   The work is migrate/'s (migrate_maildir.h, migrate_mbox.h); this file
   finds the account, opens its store with its quota, shows progress on
   stderr and prints the summary (or --json) on stdout. SIGINT and SIGTERM
   stop it between two messages with the open batch committed; running
   the same command again completes the import without duplicates.

   Exit status: 0 when every message is in (imported now or before), 1
   when anything failed or it stopped early, 2 for a wrong command
   line. */
#include "cli/cli.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "migrate/migrate_import.h"
#include "migrate/migrate_maildir.h"
#include "migrate/migrate_mbox.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

#define CMD_IMPORT_USAGE \
	"usage: petrel import maildir DIR ADDRESS [--folder F] [--quiet]\n" \
	"       petrel import mbox PATH ADDRESS [--folder F] [--quiet]"

struct cmd_import_args {
	const char *format;		/* "maildir" or "mbox" */
	const char *source;
	const char *address;
	const char *folder;		/* --folder, or NULL */
	bool quiet;
};

/* Set by SIGINT/SIGTERM, polled between messages. */
static volatile sig_atomic_t cmd_import_stop;

static void
cmd_import_on_signal(int sig)
{
	(void)sig;
	cmd_import_stop = 1;
}

/* Lets the import stop cleanly on ^C or a service stop instead of dying
   mid-batch. */
static void
cmd_import_catch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_import_on_signal;
	sigemptyset(&sa.sa_mask);
	cmd_import_stop = 0;
	sigaction(SIGINT, &sa, old_int);
	sigaction(SIGTERM, &sa, old_term);
}

static int
cmd_import_parse(int argc, char **argv, struct cmd_import_args *a)
{
	const char *pos[2] = { NULL, NULL }, *s;
	struct cli_args args;
	int n = 0;
	bool option;

	a->format = argv[1];
	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (!option) {
			if (n == 2)
				return cli_usage("import: too many arguments\n"
				    "%s", CMD_IMPORT_USAGE);
			pos[n++] = s;
		} else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
			a->quiet = true;
		} else if (strcmp(s, "--folder") == 0) {
			if ((a->folder = cli_args_value(&args)) == NULL ||
			    a->folder[0] == '\0')
				return cli_usage("import: --folder needs a "
				    "mailbox name\n%s", CMD_IMPORT_USAGE);
		} else {
			return cli_usage("import: unknown option %s\n%s", s,
			    CMD_IMPORT_USAGE);
		}
	}
	if (n != 2)
		return cli_usage("%s", CMD_IMPORT_USAGE);
	a->source = pos[0];
	a->address = pos[1];
	return 0;
}

/* The account's store, opened with its quota. Returns 0, or 1 after
   printing the error. */
static int
cmd_import_open(struct cli *cli, const char *address, struct store **st_r,
    char **address_r)
{
	struct directory_error err = { 0 };
	struct directory_account acct;
	struct directory *dir = NULL;
	struct store_limits limits;
	const struct config *config;
	char *error = NULL;
	int rc;

	if ((config = cli_config(cli)) == NULL ||
	    cli_open_directory(cli, false, &dir) != 0)
		return 1;
	rc = directory_admin_account_get(dir, address, &acct, &err);
	directory_close(&dir);
	if (rc == -1)
		return cli_directory_error(&err, NULL);
	limits.quota_bytes = acct.quota_bytes;
	limits.quota_messages = acct.quota_messages;
	if (store_open(config->data_dir, acct.id, &limits, st_r, &error) !=
	    STORE_OK) {
		cli_error("cannot open the mailboxes of %s: %s", acct.address,
		    error != NULL ? error : "unknown error");
		free(error);
		directory_account_clear(&acct);
		return 1;
	}
	*address_r = acct.address;
	acct.address = NULL;
	directory_account_clear(&acct);
	return 0;
}

/* Why it stopped early, or NULL. */
static const char *
cmd_import_stopped(const struct migrate_import_stats *s)
{
	return s->over_quota ? "over quota" : s->interrupted ? "interrupted" :
	    s->io_error ? "error" : NULL;
}

static int
cmd_import_summary(struct cli *cli, const struct cmd_import_args *a,
    const char *address, const struct migrate_import_stats *s,
    double seconds, bool stopped_early)
{
	const char *stopped = cmd_import_stopped(s);

	if (stopped == NULL && stopped_early)
		stopped = "error";
	if (cli->json) {
		if (cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, "
		    "s:I, s:i, s:f, s:s?}", "account", address, "format",
		    a->format, "source", a->source,
		    "imported", (json_int_t)s->imported,
		    "skipped", (json_int_t)s->skipped,
		    "failed", (json_int_t)s->failed,
		    "bytes", (json_int_t)s->bytes,
		    "folders", (int)s->folders,
		    "seconds", seconds, "stopped", stopped)) != 0)
			return 1;
	} else {
		printf("imported %llu message%s (%llu skipped as already "
		    "present) into %u folder%s in %.1f s",
		    (unsigned long long)s->imported, s->imported == 1 ? "" :
		    "s", (unsigned long long)s->skipped, s->folders,
		    s->folders == 1 ? "" : "s", seconds);
		if (s->failed > 0)
			printf("; %llu failed", (unsigned long long)s->failed);
		printf("\n");
		fflush(stdout);
	}
	if (s->interrupted)
		cli_error("interrupted; run the same command again to finish");
	else if (stopped != NULL && !s->over_quota)
		cli_error("import stopped early; run the same command again "
		    "once the problem above is fixed");
	else if (s->failed > 0)
		cli_error("%llu item%s failed (see above)",
		    (unsigned long long)s->failed, s->failed == 1 ? "" : "s");
	return stopped != NULL || s->failed > 0 ? 1 : 0;
}

int
cli_cmd_import(struct cli *cli, int argc, char **argv)
{
	struct cmd_import_args a = { 0 };
	struct sigaction old_int, old_term;
	struct migrate_progress *progress;
	struct migrate_import *imp;
	struct store *st = NULL;
	char *address = NULL, *root = NULL;
	bool maildir;
	int rc;

	if (argc < 2)
		return cli_usage("%s", CMD_IMPORT_USAGE);
	maildir = strcmp(argv[1], "maildir") == 0;
	if (!maildir && strcmp(argv[1], "mbox") != 0)
		return cli_usage("import: unknown format \"%s\"\n%s", argv[1],
		    CMD_IMPORT_USAGE);
	if ((rc = cmd_import_parse(argc, argv, &a)) != 0)
		return rc;
	if (maildir && (root = migrate_maildir_root(a.source)) == NULL)
		return cli_error("%s is not a Maildir (no cur/ in it, nor in "
		    "%s/Maildir)", a.source, a.source);
	if (!maildir && access(a.source, R_OK) == -1) {
		free(root);
		return cli_error("%s: cannot read it", a.source);
	}
	if (cmd_import_open(cli, a.address, &st, &address) != 0) {
		free(root);
		return 1;
	}
	if (a.folder != NULL) {
		rc = store_mailbox_create(st, a.folder, 0, NULL);
		if (rc != STORE_OK && rc != STORE_EXISTS) {
			rc = rc == STORE_INVALID ? cli_usage("import: --folder "
			    "%s: %s", a.folder, store_error(st)) :
			    cli_error("--folder %s: %s", a.folder,
			    store_error(st));
			goto out;
		}
	}

	progress = migrate_progress_new(stderr, "import", isatty(STDERR_FILENO),
	    a.quiet);
	cmd_import_catch_signals(&old_int, &old_term);
	imp = migrate_import_new(st, progress, &cmd_import_stop);
	rc = maildir ? migrate_maildir_import(imp, progress, root, a.folder) :
	    migrate_mbox_import(imp, progress, a.source, a.folder);
	if (migrate_import_finish(imp) == -1)
		rc = -1;
	migrate_progress_finish(progress);
	rc = cmd_import_summary(cli, &a, address, migrate_import_stats(imp),
	    migrate_progress_elapsed(progress), rc != 0);
	migrate_import_free(&imp);
	migrate_progress_free(&progress);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	store_close(&st);
	free(address);
	free(root);
	return rc;
}
