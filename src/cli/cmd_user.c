/* cmd_user.c — `petrel user`: mailboxes (accounts).

	petrel user add ADDRESS [--name NAME] [--quota SIZE]
	                [--password-stdin] [--scheme argon2id|yescrypt]
	petrel user list [DOMAIN]
	petrel user show ADDRESS
	petrel user del ADDRESS
	petrel user passwd ADDRESS [--password-stdin] [--scheme ...]
	petrel user quota ADDRESS SIZE|none
	petrel user enable|disable ADDRESS

   Without --password-stdin a 16-character password is generated and
   printed once; it is never stored in clear. Hashing runs here on the
   main thread: the CLI has no event loop to block. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_json.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

#define CMD_USER_USAGE \
	"usage: petrel user add ADDRESS [--name NAME] [--quota SIZE]\n" \
	"                      [--password-stdin] [--scheme argon2id|yescrypt]\n" \
	"       petrel user list [DOMAIN] | show ADDRESS | del ADDRESS |\n" \
	"       passwd ADDRESS [--password-stdin] [--scheme ...] |\n" \
	"       quota ADDRESS SIZE|none | enable ADDRESS | disable ADDRESS |\n" \
	"       forward ADDRESS DEST... [--keep] | forward ADDRESS --off |\n" \
	"       plus-mode ADDRESS ignore|folder|subject |\n" \
	"       allow-send-as ADDRESS SENDER|@DOMAIN |\n" \
	"       deny-send-as ADDRESS SENDER|@DOMAIN |\n" \
	"       send-as ADDRESS"

/* 16 of 55 characters: about 92 bits, plenty for a random password. */
#define CMD_USER_PASSWORD_LEN 16

struct cmd_user_args {
	const char *verb;
	const char *pos[2];		/* positional arguments */
	int n_pos;
	const char *name;		/* --name */
	const char *quota;		/* --quota */
	bool password_stdin;
	enum password_scheme scheme;
};

/* "2G", "512M", "1000" (bytes), or "none"; heap, caller frees. */
static char *
cmd_user_size(uint64_t n)
{
	return n == 0 ? xstrdup("none") : config_size_text(n);
}

/* Parses the words after the verb: at most max_pos positional ones and
   the options the verb takes. Returns 0 or the usage exit status. */
static int
cmd_user_parse(int argc, char **argv, int max_pos, bool options,
    struct cmd_user_args *a)
{
	struct cli_args args;
	const char *s, *v;
	bool option;

	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (!option) {
			if (a->n_pos == max_pos)
				return cli_usage("user %s: too many arguments\n%s",
				    a->verb, CMD_USER_USAGE);
			a->pos[a->n_pos++] = s;
		} else if (options && strcmp(s, "--password-stdin") == 0) {
			a->password_stdin = true;
		} else if (options && (strcmp(s, "--name") == 0 ||
		    strcmp(s, "--quota") == 0 || strcmp(s, "--scheme") == 0) &&
		    (v = cli_args_value(&args)) != NULL) {
			if (s[2] == 'n' && strcmp(a->verb, "add") == 0)
				a->name = v;
			else if (s[2] == 'q' && strcmp(a->verb, "add") == 0)
				a->quota = v;
			else if (s[2] != 's' ||
			    password_scheme_parse(v, &a->scheme) == -1)
				return cli_usage("user %s: bad option %s %s\n%s",
				    a->verb, s, v, CMD_USER_USAGE);
		} else {
			return cli_usage("user %s: unknown option %s\n%s",
			    a->verb, s, CMD_USER_USAGE);
		}
	}
	return 0;
}

/* The password to set: from stdin, or generated (*generated_r true).
   Returns the stored hash (heap), or NULL after printing the error. The
   plain text is left in *plain_r for printing; the caller wipes it. */
static char *
cmd_user_password(const struct cmd_user_args *a, char **plain_r,
    bool *generated_r)
{
	char *plain, *hash, *error = NULL;

	*plain_r = NULL;
	*generated_r = !a->password_stdin;
	plain = a->password_stdin ? cli_read_password_stdin() :
	    password_generate(CMD_USER_PASSWORD_LEN);
	if (plain == NULL)
		return NULL;
	hash = password_hash(plain, a->scheme, &error);
	if (hash == NULL) {
		cli_error("cannot hash the password: %s", error);
		free(error);
		explicit_bzero(plain, strlen(plain));
		free(plain);
		return NULL;
	}
	*plain_r = plain;
	return hash;
}

static void
cmd_user_wipe(char **s)
{
	if (*s == NULL)
		return;
	explicit_bzero(*s, strlen(*s));
	xfree(s);
}

static void
cmd_user_print(const struct directory_account *acct, bool details)
{
	char *quota = cmd_user_size(acct->quota_bytes);

	if (!details) {
		printf("%s quota=%s%s%s%s\n", acct->address, quota,
		    acct->enabled ? "" : " disabled",
		    acct->name[0] != '\0' ? " name=" : "", acct->name);
		free(quota);
		return;
	}
	printf("address:   %s\n", acct->address);
	printf("id:        %lld\n", (long long)acct->id);
	printf("name:      %s\n", acct->name);
	printf("enabled:   %s\n", acct->enabled ? "yes" : "no");
	printf("password:  %s\n", acct->password != NULL ? "set" :
	    "none (cannot log in)");
	printf("quota:     %s\n", quota);
	if (acct->quota_messages == 0)
		printf("messages:  no limit\n");
	else
		printf("messages:  %llu at most\n",
		    (unsigned long long)acct->quota_messages);
	printf("plus mode: %s\n", acct->plus_mode);
	if (acct->forward != NULL)
		printf("forward:   %s%s\n", acct->forward,
		    acct->forward_keep ? " (keeping a copy)" : "");
	free(quota);
}

/* Prints the account as it is now: JSON (with the generated password, if
   any), details, or "account ADDRESS <done>". */
static int
cmd_user_show(struct cli *cli, struct directory *dir, const char *address,
    const char *done, const char *password)
{
	struct directory_error err = { 0 };
	struct directory_account acct;

	if (directory_admin_account_get(dir, address, &acct, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *j = directory_json_account(&acct);

		if (password != NULL)
			json_object_set_new(j, "password",
			    json_string(password));
		directory_account_clear(&acct);
		return cli_print_json(j);
	}
	if (done != NULL)
		printf("account %s %s\n", acct.address, done);
	else
		cmd_user_print(&acct, true);
	if (password != NULL)
		printf("password for %s: %s\n(shown only this once)\n",
		    acct.address, password);
	directory_account_clear(&acct);
	return 0;
}

static int
cmd_user_list(struct cli *cli, struct directory *dir, const char *domain)
{
	struct directory_error err = { 0 };
	struct directory_account *list = NULL;
	size_t n = 0;
	int rc = 0;

	if (directory_admin_account_list(dir, domain, &list, &n, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *arr = json_array();

		if (arr == NULL)
			panic("cmd_user_list: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    directory_json_account(&list[i]));
		rc = cli_print_json(json_pack("{s:o}", "accounts", arr));
	} else {
		for (size_t i = 0; i < n; i++)
			cmd_user_print(&list[i], false);
		if (n == 0)
			printf("no accounts\n");
	}
	directory_account_list_free(&list, n);
	return rc;
}

/* `add` (a new account with quota) and `passwd` (an existing one): both
   hash a new password, store it and show the account. */
static int
cmd_user_set_password(struct cli *cli, struct directory *dir,
    const struct cmd_user_args *a, uint64_t quota)
{
	struct directory_error err = { 0 };
	bool add = strcmp(a->verb, "add") == 0, generated;
	char *plain = NULL, *hash;
	int rc;

	hash = cmd_user_password(a, &plain, &generated);
	if (hash == NULL)
		return 1;
	if (add)
		rc = directory_admin_account_add(dir, a->pos[0], a->name, hash,
		    quota, NULL, &err);
	else
		rc = directory_admin_account_set_password(dir, a->pos[0], hash,
		    &err);
	if (rc == -1)
		rc = cli_directory_error(&err, NULL);
	else
		rc = cmd_user_show(cli, dir, a->pos[0], add ? "added" :
		    "has a new password", generated ? plain : NULL);
	cmd_user_wipe(&plain);
	free(hash);
	return rc;
}

static int
cmd_user_add(struct cli *cli, struct directory *dir,
    const struct cmd_user_args *a)
{
	uint64_t quota = 0;

	if (a->quota != NULL && strcmp(a->quota, "none") != 0 &&
	    str_to_size(a->quota, &quota) == -1)
		return cli_usage("user add: --quota %s is not a size (e.g. "
		    "500M, 2G, or none)", a->quota);
	return cmd_user_set_password(cli, dir, a, quota);
}

static int
cmd_user_passwd(struct cli *cli, struct directory *dir,
    const struct cmd_user_args *a)
{
	struct directory_error err = { 0 };
	struct directory_account acct;

	/* Refuse an unknown account before reading stdin or hashing. */
	if (directory_admin_account_get(dir, a->pos[0], &acct, &err) == -1)
		return cli_directory_error(&err, NULL);
	directory_account_clear(&acct);
	return cmd_user_set_password(cli, dir, a, 0);
}

int
cli_cmd_user(struct cli *cli, int argc, char **argv)
{
	struct cmd_user_args a = { .scheme = PASSWORD_SCHEME_DEFAULT };
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	const char *verb = argc > 1 ? argv[1] : NULL;
	int rc, min_pos = 1, max_pos = 1;
	bool options = false;

	if (verb == NULL)
		return cli_usage("%s", CMD_USER_USAGE);
	a.verb = verb;
	if (strcmp(verb, "allow-send-as") == 0 ||
	    strcmp(verb, "deny-send-as") == 0 || strcmp(verb, "send-as") == 0)
		return cli_cmd_user_send_as(cli, argc, argv);
	if (strcmp(verb, "forward") == 0 || strcmp(verb, "plus-mode") == 0)
		return cli_cmd_user_delivery(cli, argc, argv);
	if (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) {
		options = true;
	} else if (strcmp(verb, "list") == 0) {
		min_pos = 0;
	} else if (strcmp(verb, "quota") == 0) {
		min_pos = max_pos = 2;
	} else if (strcmp(verb, "show") != 0 && strcmp(verb, "del") != 0 &&
	    strcmp(verb, "enable") != 0 && strcmp(verb, "disable") != 0) {
		return cli_usage("user: unknown verb %s\n%s", verb,
		    CMD_USER_USAGE);
	}
	if ((rc = cmd_user_parse(argc, argv, max_pos, options, &a)) != 0)
		return rc;
	if (a.n_pos < min_pos)
		return cli_usage("%s", CMD_USER_USAGE);

	if (cli_open_directory(cli, strcmp(verb, "list") != 0 &&
	    strcmp(verb, "show") != 0, &dir) != 0)
		return 1;
	if (strcmp(verb, "list") == 0) {
		rc = cmd_user_list(cli, dir, a.n_pos > 0 ? a.pos[0] : NULL);
	} else if (strcmp(verb, "show") == 0) {
		rc = cmd_user_show(cli, dir, a.pos[0], NULL, NULL);
	} else if (strcmp(verb, "add") == 0) {
		rc = cmd_user_add(cli, dir, &a);
	} else if (strcmp(verb, "passwd") == 0) {
		rc = cmd_user_passwd(cli, dir, &a);
	} else if (strcmp(verb, "del") == 0) {
		if (directory_admin_account_del(dir, a.pos[0], &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else if (cli->json)
			rc = cli_print_json(json_pack("{s:s}", "deleted",
			    a.pos[0]));
		else
			rc = printf("account %s deleted\n", a.pos[0]) < 0;
	} else if (strcmp(verb, "quota") == 0) {
		uint64_t q = 0;

		if (strcmp(a.pos[1], "none") != 0 &&
		    str_to_size(a.pos[1], &q) == -1) {
			rc = cli_usage("user quota: %s is not a size (e.g. "
			    "500M, 2G, or none)", a.pos[1]);
		} else if (directory_admin_account_set_quota(dir, a.pos[0], &q,
		    NULL, &err) == -1) {
			rc = cli_directory_error(&err, NULL);
		} else {
			char *size = cmd_user_size(q);

			rc = cmd_user_show(cli, dir, a.pos[0], q == 0 ?
			    "has no quota" : "has a new quota", NULL);
			if (rc == 0 && !cli->json && q != 0)
				printf("quota: %s\n", size);
			free(size);
		}
	} else {
		bool enable = strcmp(verb, "enable") == 0;

		if (directory_admin_account_set_enabled(dir, a.pos[0], enable,
		    &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else
			rc = cmd_user_show(cli, dir, a.pos[0], enable ?
			    "enabled" : "disabled", NULL);
	}
	directory_close(&dir);
	return rc;
}
