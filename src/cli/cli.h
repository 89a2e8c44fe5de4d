/* cli.h — the petrel command line: `petrel [-c FILE] [--json] NOUN VERB ...`.
   Every command works on the data directory through the same modules as
   the server, whether or not the server runs. Exit 0 on success; on error
   one clear line on stderr ("petrel: domain example.org already exists")
   and exit 1 (2 for usage errors). */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include <stdbool.h>

struct config;
struct directory;		/* directory/directory.h */
struct directory_error;		/* directory/directory_admin.h */
struct json_t;			/* jansson's json_t */

struct cli {
	const char *config_path;	/* -c, or the default (cli.c) */
	bool json;			/* --json: machine-readable stdout */
	struct config *config;		/* loaded by cli_config() */
	bool keep_root;			/* serve: binds first, drops later */
};

/* Loads the config once. Returns NULL after printing the error. Run as
   root with a service user configured, every command but serve becomes
   that user first, so what it creates in the data directory (an
   account's mailboxes, say) belongs to the server, as with doveadm. */
struct config *cli_config(struct cli *cli);
/* Prints "petrel: <message>" to stderr. Returns 1, for `return cli_error()`. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "petrel: <message>" and a usage hint; returns 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a password from stdin (one line, newline stripped, at most 1024
   bytes; NUL refused). Heap string, caller wipes and frees; NULL after
   printing the error. */
char *cli_read_password_stdin(void);

/* Opens the directory database in the config's data directory; create
   makes it if missing (commands that write), else it must exist. Returns
   0 with *dir_r for directory_close(), or exit status 1 after printing
   the error. */
int cli_open_directory(struct cli *cli, bool create, struct directory **dir_r);
/* Prints err's message as cli_error does, after "what: " unless what is
   NULL, and clears err. Returns 1, for `return cli_directory_error()`. */
int cli_directory_error(struct directory_error *err, const char *what);
/* Prints j on stdout, indented, with a newline, and releases it. j NULL
   (a json_pack that failed) is a bug and panics. Returns 0, or 1 after
   printing the error when stdout cannot be written. */
int cli_print_json(struct json_t *j);

/* The words after a command's verb, options and positional arguments in
   any order. An option is a word that starts with '-' and is longer than
   "-" (which is an argument), up to a "--": that word ends the options
   and is not returned itself. Fields are private to cli.c. */
struct cli_args {
	char **argv;
	int argc, next;
	bool rest;			/* past "--" */
};

/* Scans argv[first] to argv[argc - 1]; argv must outlive args. */
void cli_args_init(struct cli_args *args, int argc, char **argv, int first);
/* The next word, or NULL after the last; *option_r tells whether it is an
   option. The word points into argv. */
const char *cli_args_next(struct cli_args *args, bool *option_r);
/* The value of the option just returned: the next word, whatever it looks
   like ("--name -x" names "-x"), or NULL when there is none. */
const char *cli_args_value(struct cli_args *args);

/* Command entry points: argv[0] is the noun ("domain"). Each returns the
   process exit status. */
int cli_cmd_quickstart(struct cli *cli, int argc, char **argv);
int cli_cmd_serve(struct cli *cli, int argc, char **argv);
int cli_cmd_domain(struct cli *cli, int argc, char **argv);
int cli_cmd_alias_domain(struct cli *cli, int argc, char **argv);
int cli_cmd_user(struct cli *cli, int argc, char **argv);
/* `user forward` and `user plus-mode` (cmd_user_delivery.c). */
int cli_cmd_user_delivery(struct cli *cli, int argc, char **argv);
int cli_cmd_alias(struct cli *cli, int argc, char **argv);
int cli_cmd_resolve(struct cli *cli, int argc, char **argv);
int cli_cmd_queue(struct cli *cli, int argc, char **argv);
/* `queue retry|delete|bounce` (cmd_queue_admin.c). */
int cli_cmd_queue_admin(struct cli *cli, int argc, char **argv);
int cli_cmd_relay(struct cli *cli, int argc, char **argv);
int cli_cmd_trace(struct cli *cli, int argc, char **argv);
int cli_cmd_master(struct cli *cli, int argc, char **argv);
int cli_cmd_user_send_as(struct cli *cli, int argc, char **argv);
int cli_cmd_mailbox(struct cli *cli, int argc, char **argv);
int cli_cmd_import(struct cli *cli, int argc, char **argv);
int cli_cmd_export(struct cli *cli, int argc, char **argv);

/* The dispatcher main() calls. */
int cli_main(int argc, char **argv);
#endif
