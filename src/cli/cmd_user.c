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
	"       quota ADDRESS SIZE|none | enable ADDRESS | disable ADDRESS"

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

static int
cmd_user_open(struct cli *cli, bool create, struct directory **dir_r)
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

static int
cmd_user_fail(struct directory_error *err)
{
	cli_error("%s", err->message != NULL ? err->message :
	    "directory error");
	directory_error_clear(err);
	return 1;
}

static int
cmd_user_json(json_t *j)
{
	int rc;

	if (j == NULL)
		panic("cmd_user_json: json");
	rc = json_dumpf(j, stdout, JSON_INDENT(2));
	json_decref(j);
	putchar('\n');
	return rc == 0 ? 0 : cli_error("cannot write JSON output");
}

/* "2G", "512M", "1000" (bytes), or "none"; buf holds 32 bytes. */
static const char *
cmd_user_size(uint64_t n, char *buf)
{
	static const char units[] = "KMG";
	char unit[2] = { '\0', '\0' };

	if (n == 0)
		return "none";
	for (int u = 0; u < 3 && n % 1024 == 0; u++) {
		n /= 1024;
		unit[0] = units[u];
	}
	snprintf(buf, 32, "%llu%s", (unsigned long long)n, unit);
	return buf;
}

/* Parses the words after the verb: at most max_pos positional ones and
   the options the verb takes. Returns 0 or the usage exit status. */
static int
cmd_user_parse(int argc, char **argv, int max_pos, bool options,
    struct cmd_user_args *a)
{
	bool rest = false;

	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];

		if (!rest && strcmp(s, "--") == 0) {
			rest = true;
		} else if (!rest && s[0] == '-' && s[1] != '\0') {
			if (!options)
				return cli_usage("user %s: unknown option %s\n%s",
				    a->verb, s, CMD_USER_USAGE);
			if (strcmp(s, "--password-stdin") == 0) {
				a->password_stdin = true;
			} else if ((strcmp(s, "--name") == 0 ||
			    strcmp(s, "--quota") == 0 ||
			    strcmp(s, "--scheme") == 0) && i + 1 < argc) {
				const char *v = argv[++i];

				if (s[2] == 'n' && strcmp(a->verb, "add") == 0)
					a->name = v;
				else if (s[2] == 'q' &&
				    strcmp(a->verb, "add") == 0)
					a->quota = v;
				else if (s[2] == 's' && password_scheme_parse(v,
				    &a->scheme) == 0)
					continue;
				else
					return cli_usage("user %s: bad option "
					    "%s %s\n%s", a->verb, s, v,
					    CMD_USER_USAGE);
			} else {
				return cli_usage("user %s: unknown option %s\n%s",
				    a->verb, s, CMD_USER_USAGE);
			}
		} else if (a->n_pos < max_pos) {
			a->pos[a->n_pos++] = s;
		} else {
			return cli_usage("user %s: too many arguments\n%s",
			    a->verb, CMD_USER_USAGE);
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
	char b1[32];

	if (!details) {
		printf("%s quota=%s%s%s%s\n", acct->address,
		    cmd_user_size(acct->quota_bytes, b1),
		    acct->enabled ? "" : " disabled",
		    acct->name[0] != '\0' ? " name=" : "", acct->name);
		return;
	}
	printf("address:   %s\n", acct->address);
	printf("id:        %lld\n", (long long)acct->id);
	printf("name:      %s\n", acct->name);
	printf("enabled:   %s\n", acct->enabled ? "yes" : "no");
	printf("password:  %s\n", acct->password != NULL ? "set" :
	    "none (cannot log in)");
	printf("quota:     %s\n", cmd_user_size(acct->quota_bytes, b1));
	if (acct->quota_messages == 0)
		printf("messages:  no limit\n");
	else
		printf("messages:  %llu at most\n",
		    (unsigned long long)acct->quota_messages);
	printf("plus mode: %s\n", acct->plus_mode);
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
		return cmd_user_fail(&err);
	if (cli->json) {
		json_t *j = directory_json_account(&acct);

		if (password != NULL)
			json_object_set_new(j, "password",
			    json_string(password));
		directory_account_clear(&acct);
		return cmd_user_json(j);
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
		return cmd_user_fail(&err);
	if (cli->json) {
		json_t *arr = json_array();

		if (arr == NULL)
			panic("cmd_user_list: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    directory_json_account(&list[i]));
		rc = cmd_user_json(json_pack("{s:o}", "accounts", arr));
	} else {
		for (size_t i = 0; i < n; i++)
			cmd_user_print(&list[i], false);
		if (n == 0)
			printf("no accounts\n");
	}
	directory_account_list_free(&list, n);
	return rc;
}

static int
cmd_user_add(struct cli *cli, struct directory *dir,
    const struct cmd_user_args *a)
{
	struct directory_error err = { 0 };
	uint64_t quota = 0;
	char *plain = NULL, *hash;
	bool generated;
	int rc;

	if (a->quota != NULL && strcmp(a->quota, "none") != 0 &&
	    str_to_size(a->quota, &quota) == -1)
		return cli_usage("user add: --quota %s is not a size (e.g. "
		    "500M, 2G, or none)", a->quota);
	hash = cmd_user_password(a, &plain, &generated);
	if (hash == NULL)
		return 1;
	if (directory_admin_account_add(dir, a->pos[0], a->name, hash, quota,
	    NULL, &err) == -1)
		rc = cmd_user_fail(&err);
	else
		rc = cmd_user_show(cli, dir, a->pos[0], "added",
		    generated ? plain : NULL);
	cmd_user_wipe(&plain);
	free(hash);
	return rc;
}

static int
cmd_user_passwd(struct cli *cli, struct directory *dir,
    const struct cmd_user_args *a)
{
	struct directory_error err = { 0 };
	struct directory_account acct;
	char *plain = NULL, *hash;
	bool generated;
	int rc;

	/* Refuse an unknown account before reading stdin or hashing. */
	if (directory_admin_account_get(dir, a->pos[0], &acct, &err) == -1)
		return cmd_user_fail(&err);
	directory_account_clear(&acct);
	hash = cmd_user_password(a, &plain, &generated);
	if (hash == NULL)
		return 1;
	if (directory_admin_account_set_password(dir, a->pos[0], hash,
	    &err) == -1)
		rc = cmd_user_fail(&err);
	else
		rc = cmd_user_show(cli, dir, a->pos[0], "has a new password",
		    generated ? plain : NULL);
	cmd_user_wipe(&plain);
	free(hash);
	return rc;
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

	if (cmd_user_open(cli, strcmp(verb, "list") != 0 &&
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
			rc = cmd_user_fail(&err);
		else if (cli->json)
			rc = cmd_user_json(json_pack("{s:s}", "deleted",
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
			rc = cmd_user_fail(&err);
		} else {
			char b[32];

			rc = cmd_user_show(cli, dir, a.pos[0], q == 0 ?
			    "has no quota" : "has a new quota", NULL);
			if (rc == 0 && !cli->json && q != 0)
				printf("quota: %s\n", cmd_user_size(q, b));
		}
	} else {
		bool enable = strcmp(verb, "enable") == 0;

		if (directory_admin_account_set_enabled(dir, a.pos[0], enable,
		    &err) == -1)
			rc = cmd_user_fail(&err);
		else
			rc = cmd_user_show(cli, dir, a.pos[0], enable ?
			    "enabled" : "disabled", NULL);
	}
	directory_close(&dir);
	return rc;
}
