/* cmd_user_send_as.c — delegation for the sender/login match:

	petrel user allow-send-as USER ADDRESS    (ADDRESS or @DOMAIN)
	petrel user deny-send-as USER ADDRESS
	petrel user send-as USER                  (list)

   An account may always use its own address, its aliases and their
   alias-domain spellings; these add other addresses (a shared
   info@, a colleague's address, a whole domain). */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_send_as.h"

#define CMD_USER_SEND_AS_USAGE \
	"usage: petrel user allow-send-as USER ADDRESS|@DOMAIN |\n" \
	"       deny-send-as USER ADDRESS|@DOMAIN | send-as USER"

static int
cmd_user_send_as_list(struct cli *cli, struct directory *dir,
    const char *user)
{
	struct directory_error err = { 0 };
	char **list;
	size_t n;
	json_t *j;
	int rc = 0;

	if (directory_send_as_list(dir, user, &list, &n, &err) == -1) {
		directory_send_as_list_free(&list, n);
		return cli_directory_error(&err, NULL);
	}
	if (cli->json) {
		j = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(j, json_string(list[i]));
		rc = cli_print_json(json_pack("{s:s,s:o}", "user", user,
		    "send_as", j));
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = printf("%s\n", list[i]) < 0;
	}
	directory_send_as_list_free(&list, n);
	return rc;
}

int
cli_cmd_user_send_as(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	const char *verb = argv[1];
	bool list = strcmp(verb, "send-as") == 0;
	bool allow = strcmp(verb, "allow-send-as") == 0;
	int rc;

	if (argc != (list ? 3 : 4) || argv[2][0] == '-' ||
	    (!list && argv[3][0] == '-' && argv[3][1] != '\0'))
		return cli_usage("%s", CMD_USER_SEND_AS_USAGE);
	if (cli_open_directory(cli, !list, &dir) != 0)
		return 1;
	if (list) {
		rc = cmd_user_send_as_list(cli, dir, argv[2]);
	} else if ((allow ? directory_send_as_add(dir, argv[2], argv[3],
	    &err) : directory_send_as_del(dir, argv[2], argv[3], &err)) ==
	    -1) {
		rc = cli_directory_error(&err, NULL);
	} else if (cli->json) {
		rc = cli_print_json(json_pack("{s:s,s:s,s:b}", "user", argv[2],
		    "address", argv[3], "allowed", allow));
	} else {
		rc = printf("%s %s send as %s\n", argv[2], allow ? "may" :
		    "may no longer", argv[3]) < 0;
	}
	directory_close(&dir);
	return rc;
}
