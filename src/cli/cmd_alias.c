/* cmd_alias.c — `petrel alias`: addresses that deliver to others.

	petrel alias add SOURCE DEST [DEST...] [--internal|--public]
	petrel alias list [DOMAIN]
	petrel alias show SOURCE
	petrel alias del SOURCE [DEST]

   SOURCE may be local@* (that local part in every domain). Adding to an
   existing alias adds destinations; --internal makes it reachable only
   from inside (authenticated or local senders), --public undoes that, and
   without either an existing alias keeps its setting. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_json.h"
#include "lib/xmalloc.h"

#define CMD_ALIAS_USAGE \
	"usage: petrel alias add SOURCE DEST [DEST...] [--internal|--public]\n" \
	"       petrel alias list [DOMAIN] | show SOURCE | del SOURCE [DEST]"

static void
cmd_alias_print(const struct directory_alias *al)
{
	printf("%s ->", al->source);
	for (size_t i = 0; i < al->n_destinations; i++)
		printf("%s%s", i == 0 ? " " : ", ", al->destinations[i]);
	printf("%s\n", al->internal ? " (internal)" : "");
}

/* Prints the alias as it is now; "gone" when it no longer exists. */
static int
cmd_alias_show(struct cli *cli, struct directory *dir, const char *source,
    bool may_be_gone)
{
	struct directory_error err = { 0 };
	struct directory_alias al;

	if (directory_admin_alias_get(dir, source, &al, &err) == -1) {
		if (may_be_gone && err.code == DIRECTORY_ERROR_NOT_FOUND) {
			directory_error_clear(&err);
			if (cli->json)
				return cli_print_json(json_pack("{s:s}",
				    "deleted", source));
			printf("alias %s deleted\n", source);
			return 0;
		}
		return cli_directory_error(&err, NULL);
	}
	if (cli->json) {
		json_t *j = directory_json_alias(&al);

		directory_alias_clear(&al);
		return cli_print_json(j);
	}
	cmd_alias_print(&al);
	directory_alias_clear(&al);
	return 0;
}

static int
cmd_alias_list(struct cli *cli, struct directory *dir, const char *domain)
{
	struct directory_error err = { 0 };
	struct directory_alias *list = NULL;
	size_t n = 0;
	int rc = 0;

	if (directory_admin_alias_list(dir, domain, &list, &n, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *arr = json_array();

		if (arr == NULL)
			panic("cmd_alias_list: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    directory_json_alias(&list[i]));
		rc = cli_print_json(json_pack("{s:o}", "aliases", arr));
	} else {
		for (size_t i = 0; i < n; i++)
			cmd_alias_print(&list[i]);
		if (n == 0)
			printf("no aliases\n");
	}
	directory_alias_list_free(&list, n);
	return rc;
}

int
cli_cmd_alias(struct cli *cli, int argc, char **argv)
{
	enum directory_alias_visibility vis = DIRECTORY_ALIAS_KEEP;
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	struct cli_args args;
	const char *verb = argc > 1 ? argv[1] : NULL, *s;
	const char **pos;
	size_t n_pos = 0;
	bool option, add, reads;
	int rc;

	if (verb == NULL)
		return cli_usage("%s", CMD_ALIAS_USAGE);
	add = strcmp(verb, "add") == 0;
	if (!add && strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 &&
	    strcmp(verb, "del") != 0)
		return cli_usage("alias: unknown verb %s\n%s", verb,
		    CMD_ALIAS_USAGE);
	pos = xcalloc((size_t)argc, sizeof(*pos));
	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (!option) {
			pos[n_pos++] = s;
		} else if (add && strcmp(s, "--internal") == 0 &&
		    vis == DIRECTORY_ALIAS_KEEP) {
			vis = DIRECTORY_ALIAS_INTERNAL;
		} else if (add && strcmp(s, "--public") == 0 &&
		    vis == DIRECTORY_ALIAS_KEEP) {
			vis = DIRECTORY_ALIAS_PUBLIC;
		} else {
			free(pos);
			return cli_usage("alias %s: unexpected option %s\n%s",
			    verb, s, CMD_ALIAS_USAGE);
		}
	}
	if ((add && n_pos < 2) ||
	    (strcmp(verb, "list") == 0 && n_pos > 1) ||
	    (strcmp(verb, "show") == 0 && n_pos != 1) ||
	    (strcmp(verb, "del") == 0 && (n_pos < 1 || n_pos > 2))) {
		free(pos);
		return cli_usage("%s", CMD_ALIAS_USAGE);
	}

	reads = strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0;
	if (cli_open_directory(cli, !reads, &dir) != 0) {
		free(pos);
		return 1;
	}
	if (strcmp(verb, "list") == 0) {
		rc = cmd_alias_list(cli, dir, n_pos > 0 ? pos[0] : NULL);
	} else if (strcmp(verb, "show") == 0) {
		rc = cmd_alias_show(cli, dir, pos[0], false);
	} else if (add) {
		if (directory_admin_alias_add(dir, pos[0], pos + 1, n_pos - 1,
		    vis, &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else
			rc = cmd_alias_show(cli, dir, pos[0], false);
	} else {
		if (directory_admin_alias_del(dir, pos[0],
		    n_pos > 1 ? pos[1] : NULL, &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else
			/* Deleting the last destination deletes the alias. */
			rc = cmd_alias_show(cli, dir, pos[0], true);
	}
	directory_close(&dir);
	free(pos);
	return rc;
}
