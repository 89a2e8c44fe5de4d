/* cmd_user_delivery.c — `petrel user forward` and `petrel user plus-mode`:
   how mail for an account is delivered (forwarding with or without a copy,
   and what a +tag does), kept apart from cmd_user.c's account lifecycle. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_json.h"

#define CMD_USER_DELIVERY_USAGE \
	"usage: petrel user forward ADDRESS DEST... [--keep]\n" \
	"       petrel user forward ADDRESS --off\n" \
	"       petrel user plus-mode ADDRESS ignore|folder|subject"

/* The account after the change: JSON, or one line saying what it does. */
static int
cmd_user_delivery_show(struct cli *cli, struct directory *dir,
    const char *address)
{
	struct directory_error err = { 0 };
	struct directory_account acct;
	int rc;

	if (directory_admin_account_get(dir, address, &acct, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json)
		rc = cli_print_json(directory_json_account(&acct));
	else if (acct.forward == NULL)
		rc = printf("account %s: no forwarding; plus mode %s\n",
		    acct.address, acct.plus_mode) < 0;
	else
		rc = printf("account %s: forwards to %s (%s); plus mode %s\n",
		    acct.address, acct.forward, acct.forward_keep ?
		    "keeping a copy" : "no copy kept", acct.plus_mode) < 0;
	directory_account_clear(&acct);
	return rc;
}

int
cli_cmd_user_delivery(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	struct cli_args args;
	const char *verb = argv[1], *word, *pos[64];
	bool option, keep = false, off = false;
	size_t n = 0;
	int rc;

	cli_args_init(&args, argc, argv, 2);
	while ((word = cli_args_next(&args, &option)) != NULL) {
		if (option && strcmp(verb, "forward") == 0 &&
		    strcmp(word, "--keep") == 0)
			keep = true;
		else if (option && strcmp(verb, "forward") == 0 &&
		    strcmp(word, "--off") == 0)
			off = true;
		else if (option)
			return cli_usage("user %s: unknown option %s\n%s", verb,
			    word, CMD_USER_DELIVERY_USAGE);
		else if (n == sizeof(pos) / sizeof(pos[0]))
			return cli_usage("user %s: at most %zu destinations",
			    verb, n - 1);
		else
			pos[n++] = word;
	}
	if (strcmp(verb, "plus-mode") == 0 ? n != 2 :
	    (n < 1 || (off ? n != 1 || keep : n < 2)))
		return cli_usage("%s", CMD_USER_DELIVERY_USAGE);

	if (cli_open_directory(cli, true, &dir) != 0)
		return 1;
	if (strcmp(verb, "plus-mode") == 0)
		rc = directory_admin_account_set_plus_mode(dir, pos[0], pos[1],
		    &err);
	else
		rc = directory_admin_account_set_forward(dir, pos[0], pos + 1,
		    n - 1, keep, &err);
	if (rc == -1)
		rc = cli_directory_error(&err, NULL);
	else
		rc = cmd_user_delivery_show(cli, dir, pos[0]);
	directory_close(&dir);
	return rc;
}
