/* cmd_alias_domain.c — `petrel alias-domain`: other names of a domain
   (mail to x@ALIAS is resolved as x@TARGET).

	petrel alias-domain add ALIAS TARGET
	petrel alias-domain list
	petrel alias-domain del ALIAS */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_json.h"
#include "lib/xmalloc.h"

#define CMD_ALIAS_DOMAIN_USAGE \
	"usage: petrel alias-domain add ALIAS TARGET | list | del ALIAS"

/* The entry for alias as stored now, or NULL. */
static struct directory_alias_domain *
cmd_alias_domain_find(struct directory_alias_domain *list, size_t n,
    const char *alias)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i].name, alias) == 0)
			return &list[i];
	return NULL;
}

static int
cmd_alias_domain_list(struct cli *cli, struct directory *dir,
    const char *only)
{
	struct directory_error err = { 0 };
	struct directory_alias_domain *list = NULL, *one;
	size_t n = 0;
	int rc = 0;

	if (directory_admin_alias_domain_list(dir, &list, &n, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (only != NULL) {
		/* After add: print just the new entry. */
		one = cmd_alias_domain_find(list, n, only);
		if (one == NULL)
			rc = cli_error("alias domain %s vanished", only);
		else if (cli->json)
			rc = cli_print_json(
			    directory_json_alias_domain(one));
		else
			printf("alias domain %s added: mail to x@%s goes to "
			    "x@%s\n", one->name, one->name, one->target);
	} else if (cli->json) {
		json_t *arr = json_array();

		if (arr == NULL)
			panic("cmd_alias_domain_list: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    directory_json_alias_domain(&list[i]));
		rc = cli_print_json(json_pack("{s:o}", "alias_domains",
		    arr));
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s -> %s\n", list[i].name, list[i].target);
		if (n == 0)
			printf("no alias domains\n");
	}
	directory_alias_domain_list_free(&list, n);
	return rc;
}

int
cli_cmd_alias_domain(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	const char *verb = argc > 1 ? argv[1] : NULL;
	int rc, want;

	if (verb == NULL)
		return cli_usage("%s", CMD_ALIAS_DOMAIN_USAGE);
	if (strcmp(verb, "list") == 0)
		want = 2;
	else if (strcmp(verb, "add") == 0)
		want = 4;
	else if (strcmp(verb, "del") == 0)
		want = 3;
	else
		return cli_usage("alias-domain: unknown verb %s\n%s", verb,
		    CMD_ALIAS_DOMAIN_USAGE);
	if (argc != want)
		return cli_usage("%s", CMD_ALIAS_DOMAIN_USAGE);
	for (int i = 2; i < argc; i++)
		if (argv[i][0] == '-')
			return cli_usage("alias-domain: unknown option %s\n%s",
			    argv[i], CMD_ALIAS_DOMAIN_USAGE);

	if (cli_open_directory(cli, strcmp(verb, "list") != 0, &dir) != 0)
		return 1;
	if (strcmp(verb, "list") == 0) {
		rc = cmd_alias_domain_list(cli, dir, NULL);
	} else if (strcmp(verb, "add") == 0) {
		if (directory_admin_alias_domain_add(dir, argv[2], argv[3],
		    &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else
			rc = cmd_alias_domain_list(cli, dir, argv[2]);
	} else {
		if (directory_admin_alias_domain_del(dir, argv[2], &err) == -1)
			rc = cli_directory_error(&err, NULL);
		else if (cli->json)
			rc = cli_print_json(json_pack("{s:s}",
			    "deleted", argv[2]));
		else
			rc = printf("alias domain %s deleted\n", argv[2]) < 0;
	}
	directory_close(&dir);
	return rc;
}
