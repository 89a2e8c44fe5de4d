/* cmd_master.c — `petrel master`: master users, who log in as any
   account with their own password ("user@domain*NAME", or SASL PLAIN
   with authzid user@domain and authcid NAME), as Dovecot's master users
   do: for support staff and migrations.

	petrel master add NAME [--password-stdin]
	petrel master del NAME
	petrel master list

   Without --password-stdin a password is generated and printed once. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_master.h"

#define CMD_MASTER_USAGE \
	"usage: petrel master add NAME [--password-stdin] | del NAME | list"
/* As `petrel user add`: about 115 bits. */
#define CMD_MASTER_PASSWORD_LEN 20

static int
cmd_master_add(struct cli *cli, struct directory *dir, const char *name,
    bool from_stdin)
{
	struct directory_error err = { 0 };
	char *plain, *hash, *error = NULL;
	int rc;

	plain = from_stdin ? cli_read_password_stdin() :
	    password_generate(CMD_MASTER_PASSWORD_LEN);
	if (plain == NULL)
		return 1;
	hash = password_hash(plain, PASSWORD_SCHEME_DEFAULT, &error);
	if (hash == NULL) {
		rc = cli_error("cannot hash the password: %s", error);
		free(error);
		goto out;
	}
	if (directory_master_add(dir, name, hash, &err) == -1) {
		rc = cli_directory_error(&err, NULL);
		goto out;
	}
	if (cli->json)
		rc = cli_print_json(from_stdin ?
		    json_pack("{s:s}", "added", name) :
		    json_pack("{s:s,s:s}", "added", name, "password", plain));
	else if (from_stdin)
		rc = printf("master user %s added\n", name) < 0;
	else
		rc = printf("master user %s added\npassword: %s\n(shown only "
		    "this once; log in as USER*%s with it)\n", name, plain,
		    name) < 0;
out:
	free(hash);
	explicit_bzero(plain, strlen(plain));
	free(plain);
	return rc;
}

static int
cmd_master_list(struct cli *cli, struct directory *dir)
{
	struct directory_error err = { 0 };
	struct directory_master *list;
	json_t *j;
	size_t n;
	int rc = 0;

	if (directory_master_list(dir, &list, &n, &err) == -1) {
		directory_master_list_free(&list, n);
		return cli_directory_error(&err, NULL);
	}
	if (cli->json) {
		j = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(j, json_pack("{s:s,s:I}", "name",
			    list[i].name, "created",
			    (json_int_t)list[i].created));
		rc = cli_print_json(j);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = printf("%s\n", list[i].name) < 0;
	}
	directory_master_list_free(&list, n);
	return rc;
}

int
cli_cmd_master(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	const char *verb = argc > 1 ? argv[1] : NULL, *name = NULL;
	bool from_stdin = false;
	int rc;

	if (verb == NULL)
		return cli_usage("%s", CMD_MASTER_USAGE);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0 &&
		    strcmp(verb, "add") == 0 && !from_stdin)
			from_stdin = true;
		else if (argv[i][0] == '-' || name != NULL)
			return cli_usage("%s", CMD_MASTER_USAGE);
		else
			name = argv[i];
	}
	if (strcmp(verb, "list") == 0) {
		if (name != NULL)
			return cli_usage("%s", CMD_MASTER_USAGE);
	} else if (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0) {
		return cli_usage("master: unknown verb %s\n%s", verb,
		    CMD_MASTER_USAGE);
	} else if (name == NULL) {
		return cli_usage("%s", CMD_MASTER_USAGE);
	}
	if (cli_open_directory(cli, strcmp(verb, "list") != 0, &dir) != 0)
		return 1;
	if (strcmp(verb, "list") == 0) {
		rc = cmd_master_list(cli, dir);
	} else if (strcmp(verb, "add") == 0) {
		rc = cmd_master_add(cli, dir, name, from_stdin);
	} else if (directory_master_del(dir, name, &err) == -1) {
		rc = cli_directory_error(&err, NULL);
	} else if (cli->json) {
		rc = cli_print_json(json_pack("{s:s}", "deleted", name));
	} else {
		rc = printf("master user %s deleted\n", name) < 0;
	}
	directory_close(&dir);
	return rc;
}
