/* cmd_export.c — `petrel export ADDRESS DIR [--quiet]`: an account's mail
   as a Dovecot-compatible Maildir++ (migrate_export.h), for a backup, a
   move to another server, or `petrel import maildir` elsewhere. Works
   whether or not the server runs; re-running it writes only what is new.

   Progress goes to stderr, the summary (or --json) to stdout. Exit
   status: 0 when every message is in DIR, 1 when anything failed or it
   was interrupted, 2 for a wrong command line. */
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
#include "migrate/migrate_export.h"
#include "migrate/migrate_progress.h"
#include "store/store.h"

#define CMD_EXPORT_USAGE "usage: petrel export ADDRESS DIR [--quiet]"

/* Set by SIGINT/SIGTERM, polled between messages. */
static volatile sig_atomic_t cmd_export_stop;

static void
cmd_export_on_signal(int sig)
{
	(void)sig;
	cmd_export_stop = 1;
}

static int
cmd_export_summary(struct cli *cli, const char *address, const char *dir,
    const struct migrate_export_stats *s, double seconds, bool stopped)
{
	if (cli->json) {
		if (cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, "
		    "s:i, s:f, s:s?}", "account", address, "dir", dir,
		    "exported", (json_int_t)s->exported,
		    "skipped", (json_int_t)s->skipped,
		    "failed", (json_int_t)s->failed,
		    "bytes", (json_int_t)s->bytes,
		    "folders", (int)s->folders, "seconds", seconds,
		    "stopped", s->interrupted ? "interrupted" : stopped ?
		    "error" : NULL)) != 0)
			return 1;
	} else {
		printf("exported %llu message%s (%llu skipped as already "
		    "present) from %u folder%s in %.1f s",
		    (unsigned long long)s->exported, s->exported == 1 ? "" :
		    "s", (unsigned long long)s->skipped, s->folders,
		    s->folders == 1 ? "" : "s", seconds);
		if (s->failed > 0)
			printf("; %llu failed", (unsigned long long)s->failed);
		printf("\n");
		fflush(stdout);
	}
	if (s->interrupted)
		cli_error("interrupted; run the same command again to finish");
	else if (stopped)
		cli_error("export stopped early (see above)");
	else if (s->failed > 0)
		cli_error("%llu item%s failed (see above)",
		    (unsigned long long)s->failed, s->failed == 1 ? "" : "s");
	return stopped || s->interrupted || s->failed > 0 ? 1 : 0;
}

int
cli_cmd_export(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory_account acct;
	struct directory *dir = NULL;
	struct migrate_export_stats stats;
	struct migrate_progress *progress;
	struct sigaction sa, old_int, old_term;
	const struct config *config;
	const char *pos[2] = { NULL, NULL }, *s;
	struct store *st = NULL;
	struct cli_args args;
	char *error = NULL;
	bool option, quiet = false;
	int n = 0, rc;

	cli_args_init(&args, argc, argv, 1);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (option && (strcmp(s, "--quiet") == 0 ||
		    strcmp(s, "-q") == 0))
			quiet = true;
		else if (option)
			return cli_usage("export: unknown option %s\n%s", s,
			    CMD_EXPORT_USAGE);
		else if (n == 2)
			return cli_usage("export: too many arguments\n%s",
			    CMD_EXPORT_USAGE);
		else
			pos[n++] = s;
	}
	if (n != 2)
		return cli_usage("%s", CMD_EXPORT_USAGE);

	if ((config = cli_config(cli)) == NULL ||
	    cli_open_directory(cli, false, &dir) != 0)
		return 1;
	rc = directory_admin_account_get(dir, pos[0], &acct, &err);
	directory_close(&dir);
	if (rc == -1)
		return cli_directory_error(&err, NULL);
	if (store_open(config->data_dir, acct.id, NULL, &st, &error) !=
	    STORE_OK) {
		rc = cli_error("cannot open the mailboxes of %s: %s",
		    acct.address, error != NULL ? error : "unknown error");
		free(error);
		directory_account_clear(&acct);
		return rc;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_export_on_signal;
	sigemptyset(&sa.sa_mask);
	cmd_export_stop = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	progress = migrate_progress_new(stderr, "export", isatty(STDERR_FILENO),
	    quiet);
	rc = migrate_export(st, progress, pos[1], &cmd_export_stop, &stats);
	migrate_progress_finish(progress);
	rc = cmd_export_summary(cli, acct.address, pos[1], &stats,
	    migrate_progress_elapsed(progress), rc != 0);
	migrate_progress_free(&progress);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	store_close(&st);
	directory_account_clear(&acct);
	return rc;
}
