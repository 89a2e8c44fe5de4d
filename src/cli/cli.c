/* cli.c — the petrel command line: global options, the command table and
   the helpers every command shares (config loading, error lines, opening
   the directory, JSON output, scanning a verb's arguments, reading a
   password from a pipe). -c and --json are taken wherever they appear, up
   to a "--", so `petrel user list --json` and `petrel --json user list`
   mean the same; commands never see them. Exit status: 0 success, 1 an
   operation failed, 2 the command line was wrong. */
#include "cli/cli.h"
#include "cli/cli_dkim.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/server.h"

#ifndef PETREL_VERSION
#define PETREL_VERSION "0.1.0-dev"
#endif

/* The data directory `petrel quickstart` creates by default, then the
   system location of packages. */
#define CLI_DEV_CONFIG "./var/petrel.conf"
#define CLI_SYSTEM_CONFIG "/etc/petrel/petrel.conf"

/* Longest password taken from stdin: far above any passphrase, far below
   PASSWORD_MAX_LEN, and a bound on what the hash costs. */
#define CLI_PASSWORD_MAX 1024

struct cli_command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
};

static const struct cli_command cli_commands[] = {
	{ "quickstart", cli_cmd_quickstart },
	{ "serve", cli_cmd_serve },
	{ "domain", cli_cmd_domain },
	{ "alias-domain", cli_cmd_alias_domain },
	{ "user", cli_cmd_user },
	{ "alias", cli_cmd_alias },
	{ "resolve", cli_cmd_resolve },
	{ "queue", cli_cmd_queue },
	{ "relay", cli_cmd_relay },
	{ "trace", cli_cmd_trace },
	{ "mailbox", cli_cmd_mailbox },
	{ "import", cli_cmd_import },
	{ "export", cli_cmd_export },
	{ "dkim", cli_cmd_dkim },
	{ "master", cli_cmd_master },
};

static const char cli_usage_text[] =
"usage: petrel [-c FILE] [--json] COMMAND [ARGS...]\n"
"\n"
"Setting up and running:\n"
"  quickstart HOSTNAME [--domain DOMAIN] [--data DIR] [--force]\n"
"                        create DIR (./var) with petrel.conf, a self-signed\n"
"                        certificate, DOMAIN and its admin mailbox\n"
"  serve                 run the mail server in the foreground\n"
"\n"
"Administration (works whether or not the server runs; changes apply at once):\n"
"  domain VERB ...       domains: list, show, add, del, enable, disable,\n"
"                        dns, catchall\n"
"  alias-domain VERB ... alias domains: list, add, del\n"
"  user VERB ...         accounts: list, show, add, del, passwd, quota,\n"
"                        enable, disable, forward, plus-mode\n"
"  alias VERB ...        aliases: list, add, del\n"
"  master VERB ...       master users (log in as any account): list, add,\n"
"                        del\n"
"  resolve ADDRESS       where mail to ADDRESS goes\n"
"  queue VERB ...        the mail queue: list, show ID, retry, delete, bounce\n"
"  relay VERB ...        relay rules and the smarthost: list, add, default, del\n"
"  trace ID|MESSAGE-ID   what happened to a message\n"
"  mailbox list ADDRESS  an account's mailboxes, counts and quota usage\n"
"  import maildir|mbox DIR ADDRESS [--folder F]\n"
"                        move mail in from a Maildir (Dovecot, mailcow) or mbox\n"
"  export ADDRESS DIR    write an account's mail out as a Maildir\n"
"  dkim VERB ...         DKIM keys: generate, show, list, activate,\n"
"                        deactivate, delete\n"
"\n"
"  help                  this text\n"
"  version               the version of petrel\n"
"\n"
"Options, anywhere on the line:\n"
"  -c FILE               the config file (default: " CLI_DEV_CONFIG " if it\n"
"                        exists, else " CLI_SYSTEM_CONFIG ")\n"
"  --json                machine-readable output on stdout\n"
"\n"
"A command without its arguments prints its own usage.\n";

/* "petrel: <message>" on stderr, without the line end. */
static void
cli_vmessage(const char *fmt, va_list ap)
{
	fflush(stdout);		/* keep the order a terminal shows */
	fputs("petrel: ", stderr);
	vfprintf(stderr, fmt, ap);
}

int
cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmessage(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmessage(fmt, ap);
	va_end(ap);
	fputs("\n(petrel help lists every command)\n", stderr);
	return 2;
}

struct config *
cli_config(struct cli *cli)
{
	char *error = NULL;

	if (cli->config != NULL)
		return cli->config;
	cli->config = config_load(cli->config_path, &error);
	if (cli->config == NULL) {
		if (access(cli->config_path, F_OK) == -1 && errno == ENOENT)
			cli_error("%s (give -c FILE, or create one with "
			    "`petrel quickstart HOSTNAME`)", error);
		else
			cli_error("%s", error);
		free(error);
		return NULL;
	}
	log_set_level((enum log_level)cli->config->log_level);
	if (!cli->keep_root && server_drop_privileges(cli->config,
	    &error) == -1) {
		cli_error("%s", error);
		free(error);
		config_free(&cli->config);
		return NULL;
	}
	return cli->config;
}

int
cli_open_directory(struct cli *cli, bool create, struct directory **dir_r)
{
	struct config *config = cli_config(cli);
	char *error = NULL;

	if (config == NULL)
		return 1;
	if (directory_open(config->data_dir, create, dir_r, &error) == -1) {
		cli_error("%s", error);
		free(error);
		return 1;
	}
	return 0;
}

int
cli_directory_error(struct directory_error *err, const char *what)
{
	const char *message = err->message != NULL ? err->message :
	    "directory error";

	if (what != NULL)
		cli_error("%s: %s", what, message);
	else
		cli_error("%s", message);
	directory_error_clear(err);
	return 1;
}

int
cli_print_json(json_t *j)
{
	int rc;

	if (j == NULL)
		panic("cli_print_json: no JSON value");
	rc = json_dumpf(j, stdout, JSON_INDENT(2));
	json_decref(j);
	if (putchar('\n') == EOF || rc != 0)
		return cli_error("cannot write JSON output");
	return 0;
}

void
cli_args_init(struct cli_args *args, int argc, char **argv, int first)
{
	args->argv = argv;
	args->argc = argc;
	args->next = first;
	args->rest = false;
}

const char *
cli_args_next(struct cli_args *args, bool *option_r)
{
	const char *s;

	if (!args->rest && args->next < args->argc &&
	    strcmp(args->argv[args->next], "--") == 0) {
		args->rest = true;
		args->next++;
	}
	if (args->next >= args->argc)
		return NULL;
	s = args->argv[args->next++];
	*option_r = !args->rest && s[0] == '-' && s[1] != '\0';
	return s;
}

const char *
cli_args_value(struct cli_args *args)
{
	return args->next < args->argc ? args->argv[args->next++] : NULL;
}

char *
cli_read_password_stdin(void)
{
	/* The password, its line end, and one byte to tell "too long". */
	char buf[CLI_PASSWORD_MAX + 3];
	size_t n = 0;
	char *password = NULL;
	ssize_t r;
	char c;

	/* One byte at a time: whatever follows the line stays unread for
	   the command (a second password, say). */
	for (;;) {
		r = read(STDIN_FILENO, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cli_error("cannot read the password from stdin: %s",
			    strerror(errno));
			goto out;
		}
		if (r == 0 || c == '\n')
			break;
		if (n == sizeof(buf) - 1) {
			n++;	/* too long; no need to read on */
			break;
		}
		buf[n++] = c;
	}
	if (n > 0 && n <= sizeof(buf) - 1 && buf[n - 1] == '\r' && r == 1)
		n--;	/* "\r\n" */
	if (n > CLI_PASSWORD_MAX) {
		cli_error("password on stdin too long (at most %d bytes)",
		    CLI_PASSWORD_MAX);
		goto out;
	}
	if (n == 0) {
		cli_error("empty password on stdin");
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		cli_error("password on stdin contains a NUL byte");
		goto out;
	}
	password = xstrndup(buf, n);
out:
	explicit_bzero(buf, sizeof(buf));
	return password;
}

static int
cli_version(const struct cli *cli)
{
	if (cli->json) {
		json_t *o = json_pack("{s:s}", "version", PETREL_VERSION);
		char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		if (s == NULL)
			panic("cli_version: json");
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("petrel %s\n", PETREL_VERSION);
	}
	return 0;
}

/* Takes -c FILE, --config FILE, --config=FILE and --json out of argv (up
   to a "--", which stays for the command) and leaves the rest in args, in
   order. No "-cFILE": a command's argument that happens to start with "-c"
   must not turn into a config path. Returns 0, or the exit status of a
   usage error. */
static int
cli_options(struct cli *cli, int argc, char **argv, char **args, int *nargs_r)
{
	int n = 0;
	bool rest = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *path = NULL;

		if (rest) {
			args[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = true;
			args[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			cli->json = true;
			continue;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 == argc)
				return cli_usage("%s needs a FILE", a);
			path = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			path = a + 9;
		} else {
			args[n++] = argv[i];
			continue;
		}
		if (path[0] == '\0')
			return cli_usage("%s: the config file name is empty", a);
		if (cli->config_path != NULL)
			return cli_usage("the config file is given twice");
		cli->config_path = path;
	}
	args[n] = NULL;
	*nargs_r = n;
	return 0;
}

int
cli_main(int argc, char **argv)
{
	struct cli cli = { 0 };
	char **args;
	const char *noun;
	int nargs = 0, rc;

	args = xcalloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof(*args));
	if ((rc = cli_options(&cli, argc, argv, args, &nargs)) != 0)
		goto out;
	if (cli.config_path == NULL)
		cli.config_path = access(CLI_DEV_CONFIG, F_OK) == 0 ?
		    CLI_DEV_CONFIG : CLI_SYSTEM_CONFIG;

	noun = nargs > 0 ? args[0] : NULL;
	if (noun == NULL) {
		fputs(cli_usage_text, stderr);
		rc = 2;
		goto out;
	}
	if (strcmp(noun, "help") == 0 || strcmp(noun, "--help") == 0 ||
	    strcmp(noun, "-h") == 0) {
		fputs(cli_usage_text, stdout);
		rc = 0;
		goto out;
	}
	if (strcmp(noun, "version") == 0 || strcmp(noun, "--version") == 0) {
		rc = cli_version(&cli);
		goto out;
	}
	rc = -1;
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]);
	    i++) {
		if (strcmp(noun, cli_commands[i].name) == 0) {
			cli.keep_root = strcmp(noun, "serve") == 0;
			rc = cli_commands[i].fn(&cli, nargs, args);
			break;
		}
	}
	if (rc == -1) {
		fprintf(stderr, "petrel: unknown command \"%s\"\n\n", noun);
		fputs(cli_usage_text, stderr);
		rc = 2;
	}
out:
	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) == EOF && rc == 0)
		rc = cli_error("cannot write output: %s", strerror(errno));
	config_free(&cli.config);
	free(args);
	return rc;
}
