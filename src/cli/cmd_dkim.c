/* cmd_dkim.c — `petrel dkim`: DKIM keys per domain and their DNS records.

	petrel dkim generate DOMAIN [--selector S] [--algo rsa|ed25519]
	    [--bits N]
	petrel dkim show DOMAIN
	petrel dkim list
	petrel dkim activate|deactivate|delete DOMAIN SELECTOR

   generate makes the key here (RSA 2048 by default, which takes a moment)
   and stores it active; the default selector is "petrel" and the year and
   month ("petrel202611", "petrel202611e" for Ed25519), with "-2", "-3"
   added when taken, so a rotation in the same month gets a fresh name.
   Rotation: generate, publish the new record, wait for the DNS TTL, then
   deactivate the old selector (see directory_dkim.h). */
#include "cli/cli.h"
#include "cli/cli_dkim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim/dkim.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_dkim.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

#define CMD_DKIM_USAGE \
	"usage: petrel dkim generate DOMAIN [--selector S] " \
	"[--algo rsa|ed25519] [--bits N]\n" \
	"       petrel dkim show DOMAIN | list\n" \
	"       petrel dkim activate|deactivate|delete DOMAIN SELECTOR"

struct cmd_dkim_args {
	const char *verb;
	const char *pos[2];
	int n_pos;
	const char *selector;
	enum dkim_algorithm algorithm;
	unsigned bits;
};

static int
cmd_dkim_parse(int argc, char **argv, struct cmd_dkim_args *a)
{
	struct cli_args args;
	const char *s, *v;
	bool option;
	bool generate = strcmp(a->verb, "generate") == 0;

	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (!option) {
			if (a->n_pos == 2)
				return cli_usage("dkim %s: too many arguments\n%s",
				    a->verb, CMD_DKIM_USAGE);
			a->pos[a->n_pos++] = s;
			continue;
		}
		if (!generate || (strcmp(s, "--selector") != 0 &&
		    strcmp(s, "--algo") != 0 && strcmp(s, "--bits") != 0))
			return cli_usage("dkim %s: unknown option %s\n%s",
			    a->verb, s, CMD_DKIM_USAGE);
		if ((v = cli_args_value(&args)) == NULL)
			return cli_usage("dkim %s: %s needs a value", a->verb, s);
		if (strcmp(s, "--selector") == 0) {
			a->selector = v;
		} else if (strcmp(s, "--algo") == 0) {
			if (dkim_algorithm_parse(v, &a->algorithm) == -1)
				return cli_usage("dkim generate: --algo is rsa "
				    "or ed25519, not %s", v);
		} else {
			uint32_t bits;
			if (str_to_u32(v, &bits) == -1 ||
			    bits < DKIM_RSA_BITS_MIN || bits > DKIM_RSA_BITS_MAX)
				return cli_usage("dkim generate: --bits is "
				    "1024 to 4096, not %s", v);
			a->bits = bits;
		}
	}
	return 0;
}

/* "petrel202611" (+ "e" for Ed25519), then "-2", "-3", ... until free. */
static char *
cmd_dkim_default_selector(struct directory *dir, const char *domain,
    enum dkim_algorithm algorithm)
{
	struct directory_error err = { 0 };
	struct directory_dkim_key *keys = NULL;
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;
	char base[32];

	if (gmtime_r(&now, &tm) == NULL)
		panic("cmd_dkim_default_selector: gmtime");
	snprintf(base, sizeof(base), "petrel%04d%02d%s", tm.tm_year + 1900,
	    tm.tm_mon + 1, algorithm == DKIM_ALGORITHM_ED25519 ? "e" : "");
	/* A failed list (unknown domain) leaves n = 0; add reports it. */
	(void)directory_dkim_list(dir, domain, &keys, &n, &err);
	directory_error_clear(&err);
	for (unsigned k = 1;; k++) {
		char *s = k == 1 ? xstrdup(base) : xasprintf("%s-%u", base, k);
		bool taken = false;

		for (size_t i = 0; i < n; i++)
			if (strcmp(keys[i].selector, s) == 0)
				taken = true;
		if (!taken) {
			directory_dkim_key_list_free(&keys, n);
			return s;
		}
		free(s);
	}
}

/* The record of one key: owner name, TXT value, zone-file form. */
static json_t *
cmd_dkim_key_json(const struct directory_dkim_key *k)
{
	enum dkim_algorithm alg = DKIM_ALGORITHM_RSA;
	struct buf txt, zone;
	json_t *j;

	(void)dkim_algorithm_parse(k->algorithm, &alg);
	buf_init(&txt, 0);
	buf_init(&zone, 0);
	if (dkim_record_txt(alg, k->public_key, &txt) < 0 ||
	    dkim_record_zone(k->selector, alg, k->public_key, &zone) < 0)
		panic("cmd_dkim_key_json: buffer");
	char *name = xasprintf("%s._domainkey.%s", k->selector, k->domain);
	j = json_pack("{s:s, s:s, s:s, s:b, s:I, s:s, s:s, s:s}",
	    "domain", k->domain, "selector", k->selector,
	    "algorithm", k->algorithm, "active", k->active,
	    "created", (json_int_t)k->created, "name", name,
	    "txt", txt.data, "zone", zone.data);
	free(name);
	buf_clear(&txt);
	buf_clear(&zone);
	return j;
}

static int
cmd_dkim_print_key(FILE *out, const char *indent,
    const struct directory_dkim_key *k, bool verbose)
{
	enum dkim_algorithm alg = DKIM_ALGORITHM_RSA;
	struct buf zone;
	int ret = 0;

	(void)dkim_algorithm_parse(k->algorithm, &alg);
	buf_init(&zone, 0);
	if (dkim_record_zone(k->selector, alg, k->public_key, &zone) < 0)
		panic("cmd_dkim_print_key: buffer");
	if (verbose) {
		struct buf txt;
		buf_init(&txt, 0);
		if (dkim_record_txt(alg, k->public_key, &txt) < 0)
			panic("cmd_dkim_print_key: buffer");
		if (fprintf(out, "# %s %s (%s, %s)\nname: %s._domainkey.%s\n"
		    "txt: %s\nzone:\n", k->domain, k->selector, k->algorithm,
		    k->active ? "active" : "inactive", k->selector, k->domain,
		    txt.data) < 0)
			ret = -1;
		buf_clear(&txt);
	}
	/* The zone form, each of its lines indented. */
	const char *p = zone.data;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		int len = (int)(nl != NULL ? nl - p : (ptrdiff_t)strlen(p));
		if (fprintf(out, "%s%.*s\n", indent, len, p) < 0)
			ret = -1;
		p += len + (nl != NULL);
	}
	buf_clear(&zone);
	return ret;
}

int
cli_dkim_print(FILE *out, const char *indent, struct directory *dir,
    const char *domain)
{
	struct directory_error err = { 0 };
	struct directory_dkim_key *keys = NULL;
	size_t n = 0;
	int ret = 0;

	if (directory_dkim_list(dir, domain, &keys, &n, &err) == -1) {
		cli_directory_error(&err, "dkim");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i].active &&
		    cmd_dkim_print_key(out, indent, &keys[i], false) < 0)
			ret = -1;
	directory_dkim_key_list_free(&keys, n);
	return ret;
}

/* show DOMAIN, or list (domain NULL). */
static int
cmd_dkim_show(struct cli *cli, struct directory *dir, const char *domain)
{
	struct directory_error err = { 0 };
	struct directory_dkim_key *keys = NULL;
	size_t n = 0;
	int rc = 0;

	if (domain != NULL) {
		/* An unknown domain is an error, not an empty list. */
		struct directory_domain d = { 0 };
		if (directory_admin_domain_get(dir, domain, &d, &err) == -1)
			return cli_directory_error(&err, NULL);
		directory_domain_clear(&d);
	}
	if (directory_dkim_list(dir, domain, &keys, &n, &err) == -1)
		return cli_directory_error(&err, NULL);
	if (cli->json) {
		json_t *arr = json_array();
		if (arr == NULL)
			panic("cmd_dkim_show: json");
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, cmd_dkim_key_json(&keys[i]));
		rc = cli_print_json(json_pack("{s:o}", "keys", arr));
	} else if (domain == NULL) {
		for (size_t i = 0; i < n; i++)
			if (printf("%s %s %s %s\n", keys[i].domain,
			    keys[i].selector, keys[i].algorithm,
			    keys[i].active ? "active" : "inactive") < 0)
				rc = 1;
		if (n == 0 && printf("no DKIM keys\n") < 0)
			rc = 1;
	} else {
		for (size_t i = 0; i < n; i++)
			if ((i > 0 && printf("\n") < 0) ||
			    cmd_dkim_print_key(stdout, "", &keys[i], true) < 0)
				rc = 1;
		if (n == 0 && printf("%s has no DKIM keys; create one with "
		    "`petrel dkim generate %s`\n", domain, domain) < 0)
			rc = 1;
	}
	directory_dkim_key_list_free(&keys, n);
	return rc;
}

static int
cmd_dkim_generate(struct cli *cli, struct directory *dir,
    const struct cmd_dkim_args *a)
{
	struct directory_error err = { 0 };
	const char *error = NULL;
	char *pem = NULL, *pub = NULL, *selector;
	int rc = 1;

	selector = a->selector != NULL ? xstrdup(a->selector) :
	    cmd_dkim_default_selector(dir, a->pos[0], a->algorithm);
	if (!directory_dkim_selector_is_valid(selector)) {
		rc = cli_usage("dkim generate: invalid selector %s", selector);
		goto out;
	}
	if (dkim_key_generate(a->algorithm, a->bits, &pem, &pub, &error) == -1) {
		rc = cli_error("dkim generate: %s", error);
		goto out;
	}
	if (directory_dkim_add(dir, a->pos[0], selector,
	    dkim_algorithm_name(a->algorithm), pem, pub, &err) == -1) {
		rc = cli_directory_error(&err, NULL);
		goto out;
	}
	if (!cli->json && printf("DKIM key %s (%s) created for %s; publish "
	    "this record:\n", selector, dkim_algorithm_name(a->algorithm),
	    a->pos[0]) < 0)
		goto out;
	/* Print what was stored, read back. */
	struct directory_dkim_key *keys = NULL;
	size_t n = 0;
	if (directory_dkim_list(dir, a->pos[0], &keys, &n, &err) == -1) {
		rc = cli_directory_error(&err, NULL);
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].selector, selector) != 0)
			continue;
		if (cli->json)
			rc = cli_print_json(cmd_dkim_key_json(&keys[i]));
		else if (cmd_dkim_print_key(stdout, "", &keys[i], true) < 0)
			rc = 1;
	}
	directory_dkim_key_list_free(&keys, n);
out:
	if (pem != NULL)
		explicit_bzero(pem, strlen(pem));
	free(pem);
	free(pub);
	free(selector);
	return rc;
}

int
cli_cmd_dkim(struct cli *cli, int argc, char **argv)
{
	struct cmd_dkim_args a = {
		.verb = argc > 1 ? argv[1] : NULL,
		.algorithm = DKIM_ALGORITHM_RSA,
		.bits = DKIM_RSA_BITS_DEFAULT,
	};
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	int rc, want;

	if (a.verb == NULL)
		return cli_usage("%s", CMD_DKIM_USAGE);
	if (strcmp(a.verb, "list") == 0)
		want = 0;
	else if (strcmp(a.verb, "generate") == 0 ||
	    strcmp(a.verb, "show") == 0)
		want = 1;
	else if (strcmp(a.verb, "activate") == 0 ||
	    strcmp(a.verb, "deactivate") == 0 ||
	    strcmp(a.verb, "delete") == 0)
		want = 2;
	else
		return cli_usage("dkim: unknown verb %s\n%s", a.verb,
		    CMD_DKIM_USAGE);
	if ((rc = cmd_dkim_parse(argc, argv, &a)) != 0)
		return rc;
	if (a.n_pos != want)
		return cli_usage("%s", CMD_DKIM_USAGE);

	bool writes = want == 2 || strcmp(a.verb, "generate") == 0;
	if (cli_open_directory(cli, writes, &dir) != 0)
		return 1;
	if (strcmp(a.verb, "generate") == 0) {
		rc = cmd_dkim_generate(cli, dir, &a);
	} else if (strcmp(a.verb, "show") == 0 || strcmp(a.verb, "list") == 0) {
		rc = cmd_dkim_show(cli, dir, a.n_pos > 0 ? a.pos[0] : NULL);
	} else {
		int r = strcmp(a.verb, "delete") == 0 ?
		    directory_dkim_delete(dir, a.pos[0], a.pos[1], &err) :
		    directory_dkim_set_active(dir, a.pos[0], a.pos[1],
		    strcmp(a.verb, "activate") == 0, &err);
		if (r == -1)
			rc = cli_directory_error(&err, NULL);
		else if (cli->json)
			rc = cli_print_json(json_pack("{s:s, s:s, s:s}",
			    "domain", a.pos[0], "selector", a.pos[1],
			    "done", a.verb));
		else
			rc = printf("DKIM key %s of %s: %sd\n", a.pos[1],
			    a.pos[0], a.verb) < 0;
	}
	directory_close(&dir);
	return rc;
}
