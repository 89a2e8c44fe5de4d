/* cmd_resolve.c — `petrel resolve ADDRESS [--internal]`: where mail to
   ADDRESS goes, exactly as the server decides at RCPT TO (the same
   directory_resolve). --internal asks as an authenticated or local sender
   would, so internal-only aliases resolve. Exit 0 when the address is
   ours and delivers somewhere, 1 for every reject (the reply says which),
   2 for a bad command line. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "directory/directory.h"
#include "directory/directory_json.h"
#include "lib/log.h"

#define CMD_RESOLVE_USAGE "usage: petrel resolve ADDRESS [--internal]"

static const char *
cmd_resolve_reason(enum directory_result result)
{
	switch (result) {
	case DIRECTORY_LOCAL: return "local";
	case DIRECTORY_NOT_LOCAL: return "not one of our domains (relay)";
	case DIRECTORY_UNKNOWN: return "rejected, unknown user";
	case DIRECTORY_INTERNAL_ONLY:
		return "rejected, internal address (try --internal)";
	case DIRECTORY_DISABLED: return "rejected, mailbox disabled";
	case DIRECTORY_TEMPFAIL: return "temporary failure, database error";
	case DIRECTORY_INVALID: return "rejected, invalid address";
	}
	return "?";
}

int
cli_cmd_resolve(struct cli *cli, int argc, char **argv)
{
	struct directory_resolution res;
	struct directory *dir = NULL;
	struct cli_args args;
	const char *address = NULL, *s;
	char safe[LOG_STR_MAX];
	bool internal = false, option;
	int rc;

	cli_args_init(&args, argc, argv, 1);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (option && strcmp(s, "--internal") == 0)
			internal = true;
		else if (option)
			return cli_usage("resolve: unknown option %s\n%s", s,
			    CMD_RESOLVE_USAGE);
		else if (address == NULL)
			address = s;
		else
			return cli_usage("%s", CMD_RESOLVE_USAGE);
	}
	if (address == NULL)
		return cli_usage("%s", CMD_RESOLVE_USAGE);
	if (cli_open_directory(cli, false, &dir) != 0)
		return 1;
	directory_resolve(dir, address, internal, &res);
	rc = res.result == DIRECTORY_LOCAL ? 0 : 1;
	/* The address as typed may hold anything; only an escaped copy is
	   printed or put into JSON (which needs valid UTF-8). */
	log_str(safe, sizeof(safe), address, strlen(address));
	if (cli->json) {
		if (cli_print_json(directory_json_resolution(res.result ==
		    DIRECTORY_INVALID ? safe : address, &res)) != 0)
			rc = 1;
	} else {
		printf("%s: %s\n", res.result == DIRECTORY_INVALID ? safe :
		    address, cmd_resolve_reason(res.result));
		for (size_t i = 0; i < res.n_deliveries; i++) {
			const struct directory_delivery *d =
			    &res.deliveries[i];

			printf("  deliver to %s (account %lld)", d->account,
			    (long long)d->account_id);
			if (d->tag != NULL)
				printf(", tag %s", d->tag);
			putchar('\n');
		}
		for (size_t i = 0; i < res.n_forwards; i++)
			printf("  forward to %s\n", res.forwards[i]);
		if (res.reply != NULL)
			printf("  reply: %s\n", res.reply);
	}
	directory_resolution_clear(&res);
	directory_close(&dir);
	return rc;
}
