/* cmd_domain.c — `petrel domain`: the domains we receive mail for, their
   catch-alls, and the global catch-all mailbox.

	petrel domain add DOMAIN
	petrel domain list
	petrel domain show DOMAIN
	petrel domain del DOMAIN [--force]
	petrel domain enable|disable DOMAIN
	petrel domain catchall DOMAIN [ADDRESS|--off]
	petrel domain catchall --global [ADDRESS|--off]
	petrel domain set-sender-match DOMAIN on|off

   The global catch-all mailbox (directory setting catchall_unknown_mailbox)
   takes mail for unknown addresses of every domain once aliases, wildcards
   and the domain's own catch-all did not match; it lives here, next to
   the per-domain catch-all, rather than under a separate noun. */
#include "cli/cli.h"
#include "cli/cli_dkim.h"
#include "cli/cli_dns.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_json.h"
#include "directory/directory_send_as.h"
#include "lib/xmalloc.h"

#define CMD_DOMAIN_USAGE \
	"usage: petrel domain add DOMAIN | list | show DOMAIN |\n" \
	"       del DOMAIN [--force] | enable DOMAIN | disable DOMAIN |\n" \
	"       dns DOMAIN |\n" \
	"       catchall DOMAIN [ADDRESS|--off] |\n" \
	"       catchall --global [ADDRESS|--off] |\n" \
	"       set-sender-match DOMAIN on|off"

static void
cmd_domain_print(const struct directory_domain *d, bool details)
{
	if (!details) {
		printf("%s accounts=%llu aliases=%llu", d->name,
		    (unsigned long long)d->n_accounts,
		    (unsigned long long)d->n_aliases);
		if (d->catch_all != NULL)
			printf(" catch-all=%s", d->catch_all);
		for (size_t i = 0; i < d->n_alias_domains; i++)
			printf("%s%s", i == 0 ? " alias-domains=" : ",",
			    d->alias_domains[i]);
		printf("%s\n", d->enabled ? "" : " disabled");
		return;
	}
	printf("domain:        %s\n", d->name);
	printf("enabled:       %s\n", d->enabled ? "yes" : "no");
	printf("catch-all:     %s\n", d->catch_all != NULL ? d->catch_all :
	    "none");
	printf("accounts:      %llu\n", (unsigned long long)d->n_accounts);
	printf("aliases:       %llu\n", (unsigned long long)d->n_aliases);
	printf("alias domains:");
	for (size_t i = 0; i < d->n_alias_domains; i++)
		printf("%s%s", i == 0 ? " " : ", ", d->alias_domains[i]);
	printf("%s\n", d->n_alias_domains == 0 ? " none" : "");
}

/* Prints the domain as it is now: JSON, its details (done NULL), or one
   line "domain NAME <done>" with the normalised name. */
static int
cmd_domain_show(struct cli *cli, struct directory *dir, const char *name,
    const char *done)
{
	struct directory_error err = { 0 };
	struct directory_domain d;

	if (directory_admin_domain_get(dir, name, &d, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *j = directory_json_domain(&d);

		directory_domain_clear(&d);
		return cli_print_json(j);
	}
	if (done != NULL && strcmp(done, "added") == 0) {
		printf("domain %s added\nDNS records to publish (`petrel "
		    "domain dns %s` prints them again):\n", d.name, d.name);
		if (cli_dns_print(stdout, "  ", d.name,
		    cli->config->hostname) == -1) {
			directory_domain_clear(&d);
			return cli_error("cannot write output");
		}
	} else if (done != NULL)
		printf("domain %s %s\n", d.name, done);
	else
		cmd_domain_print(&d, true);
	directory_domain_clear(&d);
	return 0;
}

/* The DNS records to publish for a domain of ours (RFC 6186 SRV, MX, SPF,
   DMARC), pointing at the configured host name, then its DKIM keys. */
static int
cmd_domain_dns(struct cli *cli, struct directory *dir, const char *name)
{
	struct directory_error err = { 0 };
	struct directory_domain d;
	int rc;

	if (directory_admin_domain_get(dir, name, &d, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json)
		rc = cli_print_json(json_pack("{s:s,s:o}", "domain", d.name,
		    "records", cli_dns_json(d.name, cli->config->hostname)));
	else if (cli_dns_print(stdout, "", d.name,
	    cli->config->hostname) == -1)
		rc = cli_error("cannot write output");
	else
		rc = cli_dkim_print(stdout, "", dir, d.name) == 0 ? 0 : 1;
	directory_domain_clear(&d);
	return rc;
}

static int
cmd_domain_list(struct cli *cli, struct directory *dir)
{
	struct directory_error err = { 0 };
	struct directory_domain *list = NULL;
	size_t n = 0;
	char *global = NULL;
	int rc = 0;

	if (directory_admin_domain_list(dir, &list, &n, &err) == -1 ||
	    directory_admin_setting_get(dir,
	    DIRECTORY_SETTING_CATCHALL_MAILBOX, &global, &err) == -1) {
		directory_domain_list_free(&list, n);
		return cli_directory_error(&err, NULL);
	}
	if (cli->json) {
		json_t *o = json_object(), *arr = json_array();

		if (o == NULL || arr == NULL)
			panic("cmd_domain_list: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    directory_json_domain(&list[i]));
		json_object_set_new(o, "domains", arr);
		json_object_set_new(o, "catchall_mailbox",
		    global != NULL ? json_string(global) : json_null());
		rc = cli_print_json(o);
	} else {
		for (size_t i = 0; i < n; i++)
			cmd_domain_print(&list[i], false);
		if (n == 0)
			printf("no domains (add one: petrel domain add "
			    "DOMAIN)\n");
		if (global != NULL)
			printf("catch-all mailbox for unknown addresses: %s\n",
			    global);
	}
	free(global);
	directory_domain_list_free(&list, n);
	return rc;
}

static int
cmd_domain_del(struct cli *cli, struct directory *dir, const char *name,
    bool force)
{
	struct directory_error err = { 0 };
	struct directory_domain d;
	uint64_t accounts;

	if (directory_admin_domain_get(dir, name, &d, &err) == -1)
		return cli_directory_error(&err, NULL);
	accounts = d.n_accounts;
	if (directory_admin_domain_del(dir, name, force, &err) == -1) {
		directory_domain_clear(&d);
		if (err.code == DIRECTORY_ERROR_IN_USE) {
			cli_error("%s; add --force to delete %s too",
			    err.message, accounts == 1 ? "it" : "them");
			directory_error_clear(&err);
			return 1;
		}
		return cli_directory_error(&err, NULL);
	}
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:I}", "deleted", d.name,
		    "accounts_deleted", (json_int_t)accounts);

		directory_domain_clear(&d);
		return cli_print_json(o);
	}
	if (accounts > 0)
		printf("domain %s deleted with its %llu account%s\n", d.name,
		    (unsigned long long)accounts, accounts == 1 ? "" : "s");
	else
		printf("domain %s deleted\n", d.name);
	directory_domain_clear(&d);
	return 0;
}

/* `catchall --global [ADDRESS|--off]`. */
static int
cmd_domain_catchall_global(struct cli *cli, struct directory *dir,
    const char *value, bool set)
{
	struct directory_error err = { 0 };
	char *now = NULL;

	if (set && directory_admin_setting_set(dir,
	    DIRECTORY_SETTING_CATCHALL_MAILBOX, value, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (directory_admin_setting_get(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    &now, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *o = json_pack("{s:o}", "catchall_mailbox",
		    now != NULL ? json_string(now) : json_null());

		free(now);
		return cli_print_json(o);
	}
	if (now != NULL)
		printf("catch-all mailbox for unknown addresses: %s\n", now);
	else
		printf("no catch-all mailbox for unknown addresses\n");
	free(now);
	return 0;
}

static int
cmd_domain_catchall(struct cli *cli, struct directory *dir, int argc,
    char **argv)
{
	struct directory_error err = { 0 };
	const char *domain = NULL, *value = NULL;
	bool global = false, off = false;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--global") == 0 && !global)
			global = true;
		else if (strcmp(argv[i], "--off") == 0 && !off)
			off = true;
		else if (argv[i][0] == '-')
			return cli_usage("domain catchall: unknown option %s\n%s",
			    argv[i], CMD_DOMAIN_USAGE);
		else if (domain == NULL && !global)
			domain = argv[i];
		else if (value == NULL)
			value = argv[i];
		else
			return cli_usage("domain catchall: too many "
			    "arguments\n%s", CMD_DOMAIN_USAGE);
	}
	if ((!global && domain == NULL) || (off && value != NULL))
		return cli_usage("%s", CMD_DOMAIN_USAGE);
	if (global)
		return cmd_domain_catchall_global(cli, dir, value,
		    off || value != NULL);
	if ((off || value != NULL) && directory_admin_domain_set_catch_all(dir,
	    domain, value, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json)
		return cmd_domain_show(cli, dir, domain, NULL);
	{
		struct directory_domain d;

		if (directory_admin_domain_get(dir, domain, &d, &err) == -1)
			return cli_directory_error(&err, NULL);
		if (d.catch_all != NULL)
			printf("catch-all of %s: %s\n", d.name, d.catch_all);
		else
			printf("no catch-all for %s\n", d.name);
		directory_domain_clear(&d);
	}
	return 0;
}

/* The domain's sender/login match switch (directory_send_as.h). */
static int
cmd_domain_sender_match(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	bool on;
	int rc;

	if (argc != 4 || (strcmp(argv[3], "on") != 0 &&
	    strcmp(argv[3], "off") != 0))
		return cli_usage("%s", CMD_DOMAIN_USAGE);
	on = strcmp(argv[3], "on") == 0;
	if (cli_open_directory(cli, true, &dir) != 0)
		return 1;
	if (directory_send_as_set_domain_match(dir, argv[2], on, &err) == -1)
		rc = cli_directory_error(&err, NULL);
	else if (cli->json)
		rc = cli_print_json(json_pack("{s:s,s:b}", "domain", argv[2],
		    "sender_login_match", on));
	else
		rc = printf("sender/login match for %s: %s\n", argv[2],
		    on ? "on" : "off") < 0;
	directory_close(&dir);
	return rc;
}

int
cli_cmd_domain(struct cli *cli, int argc, char **argv)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	const char *verb = argc > 1 ? argv[1] : NULL, *name = NULL;
	bool force = false, reads;
	int rc;

	if (verb == NULL)
		return cli_usage("%s", CMD_DOMAIN_USAGE);
	if (strcmp(verb, "set-sender-match") == 0)
		return cmd_domain_sender_match(cli, argc, argv);
	if (strcmp(verb, "list") == 0) {
		if (argc != 2)
			return cli_usage("%s", CMD_DOMAIN_USAGE);
	} else if (strcmp(verb, "catchall") == 0) {
		/* parsed below */
	} else if (strcmp(verb, "add") == 0 || strcmp(verb, "show") == 0 ||
	    strcmp(verb, "del") == 0 || strcmp(verb, "enable") == 0 ||
	    strcmp(verb, "disable") == 0 || strcmp(verb, "dns") == 0) {
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--force") == 0 &&
			    strcmp(verb, "del") == 0)
				force = true;
			else if (argv[i][0] == '-' || name != NULL)
				return cli_usage("%s", CMD_DOMAIN_USAGE);
			else
				name = argv[i];
		}
		if (name == NULL)
			return cli_usage("%s", CMD_DOMAIN_USAGE);
	} else {
		return cli_usage("domain: unknown verb %s\n%s", verb,
		    CMD_DOMAIN_USAGE);
	}

	reads = strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0 ||
	    strcmp(verb, "dns") == 0;
	if (cli_open_directory(cli, !reads, &dir) != 0)
		return 1;
	if (strcmp(verb, "list") == 0) {
		rc = cmd_domain_list(cli, dir);
	} else if (strcmp(verb, "catchall") == 0) {
		rc = cmd_domain_catchall(cli, dir, argc, argv);
	} else if (strcmp(verb, "del") == 0) {
		rc = cmd_domain_del(cli, dir, name, force);
	} else if (strcmp(verb, "show") == 0) {
		rc = cmd_domain_show(cli, dir, name, NULL);
	} else if (strcmp(verb, "dns") == 0) {
		rc = cmd_domain_dns(cli, dir, name);
	} else {
		if (strcmp(verb, "add") == 0)
			rc = directory_admin_domain_add(dir, name, &err);
		else
			rc = directory_admin_domain_set_enabled(dir, name,
			    strcmp(verb, "enable") == 0, &err);
		if (rc == -1)
			rc = cli_directory_error(&err, NULL);
		else
			rc = cmd_domain_show(cli, dir, name,
			    strcmp(verb, "add") == 0 ? "added" :
			    strcmp(verb, "enable") == 0 ? "enabled" :
			    "disabled");
	}
	directory_close(&dir);
	return rc;
}
