/* cli.h — the petrel command line: `petrel [-c FILE] [--json] NOUN VERB ...`.
   Every command works on the data directory through the same modules as
   the server, whether or not the server runs. Exit 0 on success; on error
   one clear line on stderr ("petrel: domain example.org already exists")
   and exit 1 (2 for usage errors). */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include <stdbool.h>

struct config;

struct cli {
	const char *config_path;	/* -c, or the default (cli.c) */
	bool json;			/* --json: machine-readable stdout */
	struct config *config;		/* loaded by cli_config() */
};

/* Loads the config once. Returns NULL after printing the error. */
struct config *cli_config(struct cli *cli);
/* Prints "petrel: <message>" to stderr. Returns 1, for `return cli_error()`. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "petrel: <message>" and a usage hint; returns 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a password from stdin (one line, newline stripped, at most 1024
   bytes; NUL refused). Heap string, caller wipes and frees; NULL after
   printing the error. */
char *cli_read_password_stdin(void);

/* Command entry points: argv[0] is the noun ("domain"). Each returns the
   process exit status. */
int cli_cmd_quickstart(struct cli *cli, int argc, char **argv);
int cli_cmd_serve(struct cli *cli, int argc, char **argv);
int cli_cmd_domain(struct cli *cli, int argc, char **argv);
int cli_cmd_alias_domain(struct cli *cli, int argc, char **argv);
int cli_cmd_user(struct cli *cli, int argc, char **argv);
int cli_cmd_alias(struct cli *cli, int argc, char **argv);
int cli_cmd_resolve(struct cli *cli, int argc, char **argv);
int cli_cmd_queue(struct cli *cli, int argc, char **argv);

/* The dispatcher main() calls. */
int cli_main(int argc, char **argv);
#endif
