/* cmd_mailbox.c — `petrel mailbox list ADDRESS [--json]`: an account's
   mailboxes with their counts and the account's quota usage, read from
   its store whether or not the server runs (as doveadm mailbox status
   does for Dovecot). */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "store/store.h"

static const char cmd_mailbox_usage_text[] =
    "usage: petrel mailbox list ADDRESS [--json]";

static const char *const cmd_mailbox_special_names[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
	"\\Trash",
};

static json_t *
cmd_mailbox_json(const struct store_mailbox *mb)
{
	json_t *special = json_array();

	for (size_t i = 0; i < sizeof(cmd_mailbox_special_names) /
	    sizeof(cmd_mailbox_special_names[0]); i++)
		if (mb->special_use & (1u << i))
			json_array_append_new(special,
			    json_string(cmd_mailbox_special_names[i]));
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}",
	    "name", mb->name, "messages", (json_int_t)mb->messages,
	    "unseen", (json_int_t)mb->unseen, "size", (json_int_t)mb->size,
	    "uidvalidity", (json_int_t)mb->uidvalidity,
	    "uidnext", (json_int_t)mb->uidnext,
	    "highestmodseq", (json_int_t)mb->highestmodseq,
	    "subscribed", mb->subscribed, "special_use", special);
}

static int
cmd_mailbox_list(struct cli *cli, const struct config *config,
    const struct directory_account *acct)
{
	struct store *st = NULL;
	struct store_mailbox *list = NULL;
	struct store_usage use;
	size_t n = 0;
	char *error = NULL;
	int rc = 1;

	if (store_open(config->data_dir, acct->id, NULL, &st, &error) !=
	    STORE_OK) {
		cli_error("cannot open the mailboxes of %s: %s", acct->address,
		    error != NULL ? error : "unknown error");
		free(error);
		return 1;
	}
	if (store_mailbox_list(st, &list, &n) != STORE_OK ||
	    store_usage(st, &use) != STORE_OK) {
		cli_error("%s: %s", acct->address, store_error(st));
		goto out;
	}
	if (cli->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, cmd_mailbox_json(&list[i]));
		rc = cli_print_json(json_pack("{s:s, s:o, s:{s:I, s:I, s:I, "
		    "s:I}}", "account", acct->address, "mailboxes", arr,
		    "quota", "bytes", (json_int_t)use.bytes, "messages",
		    (json_int_t)use.messages, "limit_bytes",
		    (json_int_t)acct->quota_bytes, "limit_messages",
		    (json_int_t)acct->quota_messages));
		goto out;
	}
	printf("%-32s %9s %9s %12s\n", "mailbox", "messages", "unseen",
	    "bytes");
	for (size_t i = 0; i < n; i++)
		printf("%-32s %9u %9u %12llu\n", list[i].name,
		    list[i].messages, list[i].unseen,
		    (unsigned long long)list[i].size);
	printf("quota: %llu bytes in %llu messages", (unsigned long long)
	    use.bytes, (unsigned long long)use.messages);
	if (acct->quota_bytes != 0)
		printf(" of %llu bytes", (unsigned long long)acct->quota_bytes);
	printf("\n");
	rc = 0;
out:
	store_mailbox_list_free(&list, n);
	store_close(&st);
	return rc;
}

int
cli_cmd_mailbox(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory_account acct;
	struct directory *dir = NULL;
	const struct config *config;
	int rc;

	if (argc != 3 || strcmp(argv[1], "list") != 0)
		return cli_usage("%s", cmd_mailbox_usage_text);
	if ((config = cli_config(cli)) == NULL ||
	    cli_open_directory(cli, false, &dir) != 0)
		return 1;
	if (directory_admin_account_get(dir, argv[2], &acct, &err) == -1) {
		rc = cli_directory_error(&err, NULL);
	} else {
		rc = cmd_mailbox_list(cli, config, &acct);
		directory_account_clear(&acct);
	}
	directory_close(&dir);
	return rc;
}
