/* cmd_relay.c — `petrel relay`: the relay rules (NethServer's Relay page).
     relay default --host H --port P [--tls] [--user U --password-stdin]
     relay add --recipient|--sender ADDRESS-OR-DOMAIN --host H --port P
               [--tls] [--user U --password-stdin]
     relay list [--json]
     relay del ID|--default
   Passwords are read from stdin only (never on the command line, where
   ps shows them) and never printed. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_relay.h"
#include "lib/log.h"
#include "lib/strnum.h"

static const char cmd_relay_usage_text[] =
    "usage: petrel relay default --host H --port P [--tls] [--user U "
    "--password-stdin]\n"
    "       petrel relay add --recipient|--sender ADDRESS-OR-DOMAIN "
    "--host H --port P [--tls] [--user U --password-stdin]\n"
    "       petrel relay list [--json]\n"
    "       petrel relay del ID|--default";

static int
cmd_relay_set(struct cli *cli, int argc, char **argv, bool is_default)
{
	struct directory_relay rule = { 0 };
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	struct cli_args args;
	const char *s, *port = NULL;
	char *password = NULL;
	bool option, pw_stdin = false;
	uint32_t port_num;
	int64_t id = 0;
	int ret;

	rule.kind = is_default ? DIRECTORY_RELAY_DEFAULT :
	    DIRECTORY_RELAY_RECIPIENT;
	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (!option)
			return cli_usage("%s", cmd_relay_usage_text);
		if (!is_default && (strcmp(s, "--recipient") == 0 ||
		    strcmp(s, "--sender") == 0)) {
			if (rule.match != NULL)
				return cli_usage("relay add: give one of "
				    "--recipient and --sender");
			rule.kind = s[2] == 'r' ? DIRECTORY_RELAY_RECIPIENT :
			    DIRECTORY_RELAY_SENDER;
			if ((rule.match = (char *)cli_args_value(&args)) ==
			    NULL)
				return cli_usage("%s needs a value", s);
		} else if (strcmp(s, "--host") == 0) {
			if ((rule.host = (char *)cli_args_value(&args)) ==
			    NULL)
				return cli_usage("--host needs a value");
		} else if (strcmp(s, "--port") == 0) {
			if ((port = cli_args_value(&args)) == NULL)
				return cli_usage("--port needs a value");
		} else if (strcmp(s, "--user") == 0) {
			if ((rule.username = (char *)cli_args_value(&args)) ==
			    NULL)
				return cli_usage("--user needs a value");
		} else if (strcmp(s, "--tls") == 0) {
			rule.tls_required = true;
		} else if (strcmp(s, "--password-stdin") == 0) {
			pw_stdin = true;
		} else {
			return cli_usage("relay: unknown option %s", s);
		}
	}
	if (!is_default && rule.match == NULL)
		return cli_usage("relay add needs --recipient or --sender");
	if (rule.host == NULL || port == NULL)
		return cli_usage("%s", cmd_relay_usage_text);
	if (str_to_u32(port, &port_num) == -1 || port_num == 0 ||
	    port_num > 65535)
		return cli_usage("--port: not a port number: %s", port);
	rule.port = (uint16_t)port_num;
	if ((rule.username != NULL) != pw_stdin)
		return cli_usage("--user and --password-stdin go together");
	if (pw_stdin && (password = cli_read_password_stdin()) == NULL)
		return 1;
	if ((ret = cli_open_directory(cli, true, &dir)) != 0)
		goto out;
	if (directory_relay_add(dir, &rule, password, &id, &err) == -1) {
		ret = cli_directory_error(&err, NULL);
		goto out;
	}
	if (cli->json)
		ret = cli_print_json(json_pack("{s:I}", "id", (json_int_t)id));
	else if (is_default)
		printf("default relay set: %s:%u%s\n", rule.host,
		    (unsigned)rule.port, rule.tls_required ? " (TLS)" : "");
	else
		printf("relay rule %lld added\n", (long long)id);
out:
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	directory_close(&dir);
	return ret;
}

static int
cmd_relay_list(struct cli *cli)
{
	struct directory_relay *rules = NULL;
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	size_t n = 0;
	int ret;
	char safe[LOG_STR_MAX];

	if ((ret = cli_open_directory(cli, false, &dir)) != 0)
		return ret;
	if (directory_relay_list(dir, &rules, &n, &err) == -1) {
		ret = cli_directory_error(&err, NULL);
		goto out;
	}
	if (cli->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack(
			    "{s:I,s:s,s:s,s:s,s:i,s:b,s:o,s:b}",
			    "id", (json_int_t)rules[i].id,
			    "kind", directory_relay_kind_name(rules[i].kind),
			    "match", rules[i].match, "host", rules[i].host,
			    "port", (int)rules[i].port,
			    "tls", rules[i].tls_required,
			    "user", rules[i].username ?
			    json_string(rules[i].username) : json_null(),
			    "password", rules[i].has_password));
		ret = cli_print_json(json_pack("{s:o}", "rules", arr));
		goto out;
	}
	if (n == 0)
		printf("no relay rules: mail goes to each domain's MX\n");
	for (size_t i = 0; i < n; i++) {
		const struct directory_relay *r = &rules[i];

		printf("%-4lld %-9s %-30s %s:%u%s", (long long)r->id,
		    directory_relay_kind_name(r->kind),
		    r->kind == DIRECTORY_RELAY_DEFAULT ? "*" :
		    log_str(safe, sizeof(safe), r->match, strlen(r->match)),
		    r->host, (unsigned)r->port, r->tls_required ? " tls" : "");
		if (r->username != NULL)
			printf(" user=%s", log_str(safe, sizeof(safe),
			    r->username, strlen(r->username)));
		putchar('\n');
	}
out:
	directory_relay_list_free(rules, n);
	directory_close(&dir);
	return ret;
}

static int
cmd_relay_del(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	uint64_t id = 0;
	bool is_default;
	int ret;

	if (argc != 3)
		return cli_usage("%s", cmd_relay_usage_text);
	is_default = strcmp(argv[2], "--default") == 0;
	if (!is_default && (str_to_u64(argv[2], &id) == -1 || id == 0 ||
	    id > INT64_MAX))
		return cli_usage("relay del: not a rule id: %s", argv[2]);
	if ((ret = cli_open_directory(cli, false, &dir)) != 0)
		return ret;
	if (directory_relay_del(dir, (int64_t)id, is_default, &err) == -1)
		ret = cli_directory_error(&err, NULL);
	else if (!cli->json)
		printf("relay rule %s deleted\n", is_default ? "default" :
		    argv[2]);
	directory_close(&dir);
	return ret;
}

int
cli_cmd_relay(struct cli *cli, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	if (verb == NULL)
		return cli_usage("%s", cmd_relay_usage_text);
	if (strcmp(verb, "default") == 0)
		return cmd_relay_set(cli, argc, argv, true);
	if (strcmp(verb, "add") == 0)
		return cmd_relay_set(cli, argc, argv, false);
	if (strcmp(verb, "list") == 0)
		return argc == 2 ? cmd_relay_list(cli) :
		    cli_usage("%s", cmd_relay_usage_text);
	if (strcmp(verb, "del") == 0)
		return cmd_relay_del(cli, argc, argv);
	return cli_usage("relay: unknown command \"%s\"\n%s", verb,
	    cmd_relay_usage_text);
}
