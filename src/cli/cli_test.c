/* cli_test.c — unit tests for the dispatcher (cli.c), the DNS records
   (cli_dns.c) and `petrel quickstart` (cmd_quickstart.c), run in-process
   through cli_main with stdout and stderr captured: exit codes, option
   scanning, passwords read from a pipe, and a real quickstart into a
   temporary directory checked through the modules that read it back. */
#include "cli/cli.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.h"
#include "cli/cli_dns.h"
#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

struct run {
	int rc;
	char *out, *err;
};

static char *
run_slurp(FILE *f)
{
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b, 0);
	buf_append_str(&b, "");
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_steal(&b);
}

/* cli_main on a NULL-terminated argument list, stdout and stderr caught. */
static void
run(struct run *r, const char *const *args)
{
	char *argv[32];
	int argc = 0, saved_out, saved_err;
	FILE *out = tmpfile(), *err = tmpfile();

	if (out == NULL || err == NULL)
		abort();
	for (argc = 0; args[argc] != NULL && argc < 31; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(fileno(out), STDOUT_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	r->rc = cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	r->out = run_slurp(out);
	r->err = run_slurp(err);
}

static void
run_clear(struct run *r)
{
	free(r->out);
	free(r->err);
}

static bool
has(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* A command line and what cli_main must make of it. */
struct run_case {
	const char *args[8];	/* NULL-terminated */
	int rc;
	const char *err[2];	/* each, when not NULL, somewhere in stderr */
	const char *out;	/* NULL: not looked at; "": stdout empty;
				   else somewhere in stdout */
};

static void
run_cases_at(const char *file, int line, const struct run_case *cases,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct run_case *c = &cases[i];
		const char *what = c->args[1] != NULL ? c->args[1] : "";
		struct run r;

		run(&r, c->args);
		if (r.rc != c->rc)
			test_fail(file, line, "case %zu (%s): exit %d, want %d",
			    i, what, r.rc, c->rc);
		for (size_t k = 0; k < 2 && c->err[k] != NULL; k++) {
			if (!has(r.err, c->err[k]))
				test_fail(file, line, "case %zu (%s): stderr "
				    "\"%s\" lacks \"%s\"", i, what, r.err,
				    c->err[k]);
		}
		if (c->out != NULL && (c->out[0] == '\0' ? r.out[0] != '\0' :
		    !has(r.out, c->out)))
			test_fail(file, line, "case %zu (%s): stdout \"%s\", "
			    "want %s\"%s\"", i, what, r.out,
			    c->out[0] == '\0' ? "" : "it to hold ", c->out);
		run_clear(&r);
	}
}

#define RUN_CASES(cases) run_cases_at(__FILE__, __LINE__, (cases), \
	sizeof(cases) / sizeof((cases)[0]))

static void
test_dispatch(void)
{
	static const struct run_case cases[] = {
		{ { "petrel", NULL }, 2,
		  { "usage: petrel [-c FILE] [--json] COMMAND" }, "" },
		{ { "petrel", "--help", NULL }, 0, { NULL }, "usage: petrel" },
		{ { "petrel", "frobnicate", "x", NULL }, 2,
		  { "petrel: unknown command \"frobnicate\"",
		    "usage: petrel" }, "" },
		{ { "petrel", "version", "-c", NULL }, 2,
		  { "petrel: -c needs a FILE" }, NULL },
		{ { "petrel", "-c", "a", "version", "--config=b", NULL }, 2,
		  { "petrel: the config file is given twice" }, NULL },
		{ { "petrel", "--config=", "version", NULL }, 2, { NULL },
		  NULL },
		/* -c after the noun and its verb reaches cli_config. */
		{ { "petrel", "queue", "list", "-c", "/nonexistent/petrel.conf",
		    NULL }, 1,
		  { "petrel: cannot read /nonexistent/petrel.conf: "
		    "No such file or directory" }, NULL },
		/* Options after "--" belong to the command: here, the noun. */
		{ { "petrel", "--", "--json", NULL }, 2,
		  { "unknown command \"--\"" }, NULL },
	};
	struct run r;

	RUN_CASES(cases);

	run(&r, (const char *[]){ "petrel", "help", NULL });
	TEST_EQ_INT(r.rc, 0);
	TEST_ASSERT(has(r.out, "usage: petrel"));
	TEST_ASSERT(has(r.out, "quickstart HOSTNAME"));
	TEST_ASSERT(has(r.out, "alias-domain"));
	TEST_EQ_STR(r.err, "");
	run_clear(&r);

	run(&r, (const char *[]){ "petrel", "version", NULL });
	TEST_EQ_INT(r.rc, 0);
	TEST_ASSERT(strncmp(r.out, "petrel ", 7) == 0);
	run_clear(&r);

	/* --json after the noun is a global option too. */
	run(&r, (const char *[]){ "petrel", "--version", "--json", NULL });
	TEST_EQ_INT(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	TEST_ASSERT(j != NULL && json_is_string(json_object_get(j, "version")));
	json_decref(j);
	run_clear(&r);
}

static void
test_config(void)
{
	char *dir = test_tmpdir(), *path = xasprintf("%s/p.conf", dir);
	static const char text[] = "[server]\nhostname=h\ndata_dir=d\n"
	    "[listen.a]\naddress=::1\nport=1\nprotocol=smtp\n";
	struct cli cli = { 0 };
	struct config *c;

	cli.config_path = path;
	TEST_ASSERT(cli_config(&cli) == NULL);	/* prints the error */
	TEST_EQ_INT(fsutil_write_file(path, text, sizeof(text) - 1, 0640), 0);
	c = cli_config(&cli);
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(cli_config(&cli) == c);	/* loaded once */
	if (c != NULL)
		TEST_EQ_STR(c->hostname, "h");
	config_free(&cli.config);
	fsutil_remove_tree(dir);
	free(path);
	free(dir);
}

/* cli_read_password_stdin with stdin a pipe holding len bytes of data;
   *next_r (when not NULL) gets a second read, to see what the first left. */
static char *
password_read(const char *data, size_t len, char **next_r)
{
	int p[2], saved = dup(STDIN_FILENO);
	char *pw;

	if (pipe(p) == -1 || (size_t)write(p[1], data, len) != len)
		abort();
	close(p[1]);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	pw = cli_read_password_stdin();
	if (next_r != NULL)
		*next_r = cli_read_password_stdin();
	dup2(saved, STDIN_FILENO);
	close(saved);
	return pw;
}

static void
password_case(const char *data, size_t len, const char *want,
    const char *want_next)
{
	char *next = NULL;
	char *pw = password_read(data, len, want_next != NULL ? &next : NULL);

	TEST_EQ_STR(pw, want);
	TEST_EQ_STR(next, want_next);
	free(pw);
	free(next);
}

static void
test_password(void)
{
	char *big = xmalloc(1100), *pw;

	password_case("secret\n", 7, "secret", NULL);
	password_case("secret\r\n", 8, "secret", NULL);
	password_case("secret", 6, "secret", NULL);
	password_case("sec ret\t\n", 9, "sec ret\t", NULL);
	password_case("secret\r", 7, "secret\r", NULL);	/* CR only with LF */
	password_case("first\nsecond\n", 13, "first", "second");
	password_case("\n", 1, NULL, NULL);
	password_case("\r\n", 2, NULL, NULL);
	password_case("", 0, NULL, NULL);
	password_case("a\0b\n", 4, NULL, NULL);
	password_case("\xc3\xa9t\xc3\xa9\n", 6, "\xc3\xa9t\xc3\xa9", NULL);

	/* 1024 bytes is the most, with either line end or none. */
	memset(big, 'x', 1100);
	big[1024] = '\n';
	pw = password_read(big, 1025, NULL);
	TEST_ASSERT(pw != NULL && strlen(pw) == 1024);
	free(pw);
	pw = password_read(big, 1024, NULL);
	TEST_ASSERT(pw != NULL && strlen(pw) == 1024);
	free(pw);
	big[1024] = '\r';
	big[1025] = '\n';
	pw = password_read(big, 1026, NULL);
	TEST_ASSERT(pw != NULL && strlen(pw) == 1024);
	free(pw);
	big[1024] = 'x';
	big[1025] = '\n';
	password_case(big, 1026, NULL, NULL);	/* 1025 bytes: too long */
	password_case(big, 1025, NULL, NULL);	/* the same without LF */
	password_case(big, 1100, NULL, NULL);	/* no line end at all */
	free(big);
}

static void
test_dns(void)
{
	static const char want[] =
	    "> example.org. IN MX 10 mail.example.org.\n"
	    "> example.org. IN TXT \"v=spf1 mx -all\"\n"
	    "> _dmarc.example.org. IN TXT \"v=DMARC1; p=quarantine; "
	    "rua=mailto:postmaster@example.org\"\n"
	    "> _submissions._tcp.example.org. IN SRV 0 1 465 "
	    "mail.example.org.\n"
	    "> _submission._tcp.example.org. IN SRV 0 1 587 "
	    "mail.example.org.\n"
	    "> _imaps._tcp.example.org. IN SRV 0 1 993 mail.example.org.\n"
	    "> _imap._tcp.example.org. IN SRV 0 1 143 mail.example.org.\n"
	    "> _pop3s._tcp.example.org. IN SRV 0 1 995 mail.example.org.\n"
	    "> _pop3._tcp.example.org. IN SRV 0 1 110 mail.example.org.\n";
	FILE *f = tmpfile();
	char *text;
	json_t *j, *first;

	if (f == NULL)
		abort();
	TEST_EQ_INT(cli_dns_print(f, "> ", "example.org", "mail.example.org"),
	    0);
	text = run_slurp(f);
	TEST_EQ_STR(text, want);
	free(text);

	j = cli_dns_json("example.org", "mail.example.org");
	TEST_EQ_INT(json_array_size(j), 9);
	first = json_array_get(j, 2);
	TEST_EQ_STR(json_string_value(json_object_get(first, "name")),
	    "_dmarc.example.org.");
	TEST_EQ_STR(json_string_value(json_object_get(first, "type")), "TXT");
	TEST_EQ_STR(json_string_value(json_object_get(first, "value")),
	    "\"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org\"");
	json_decref(j);
}

static void
test_quickstart_usage(void)
{
	static const struct run_case cases[] = {
		{ { "petrel", "quickstart", NULL }, 2,
		  { "usage: petrel quickstart HOSTNAME" }, NULL },
		{ { "petrel", "quickstart", "bad_host", NULL }, 2,
		  { "bad_host is not a valid host name" }, NULL },
		{ { "petrel", "quickstart", "h", "--domain", "-x-", NULL }, 2,
		  { "-x- is not a valid domain" }, NULL },
		{ { "petrel", "quickstart", "h", "--data", NULL }, 2,
		  { "--data needs a value" }, NULL },
		{ { "petrel", "quickstart", "h", "--frob", NULL }, 2,
		  { "unknown option --frob" }, NULL },
		{ { "petrel", "quickstart", "h", "i", NULL }, 2, { NULL },
		  NULL },
	};

	RUN_CASES(cases);
}

/* The password printed after "password ", as the integration tests and
   people read it. */
static char *
quickstart_password(const char *out)
{
	const char *p = strstr(out, "password "), *end;

	if (p == NULL)
		return NULL;
	p += strlen("password ");
	end = strchr(p, ' ');
	return end != NULL ? xstrndup(p, (size_t)(end - p)) : NULL;
}

static void
check_admin(const char *data_dir, const char *admin, const char *password)
{
	struct directory *dir = NULL;
	struct directory_account acct = { 0 };
	struct directory_alias alias = { 0 };
	struct directory_error err = { 0 };
	char *error = NULL, *postmaster;

	TEST_EQ_INT(directory_open(data_dir, false, &dir, &error), 0);
	if (dir == NULL) {
		free(error);
		return;
	}
	TEST_EQ_INT(directory_admin_account_get(dir, admin, &acct, &err), 0);
	TEST_ASSERT(acct.password != NULL && password != NULL &&
	    password_verify(password, strlen(password), acct.password) == 1);
	directory_account_clear(&acct);
	postmaster = xstrdup("postmaster@*");
	TEST_EQ_INT(directory_admin_alias_get(dir, postmaster, &alias, &err),
	    0);
	TEST_ASSERT(alias.n_destinations == 1 &&
	    strcmp(alias.destinations[0], admin) == 0);
	directory_alias_clear(&alias);
	directory_error_clear(&err);
	free(postmaster);
	directory_close(&dir);
}

static void
test_quickstart(void)
{
	char *tmp = test_tmpdir(), *data = xasprintf("%s/data", tmp);
	char *real = NULL, *path, *error = NULL, *pw, *pw2;
	struct run r;
	struct config *c;
	struct stat st;

	run(&r, (const char *[]){ "petrel", "quickstart", "Mail.Example.ORG",
	    "--data", data, NULL });
	TEST_EQ_INT(r.rc, 0);
	TEST_EQ_STR(r.err, "");
	TEST_ASSERT(has(r.out, "login admin@example.org password "));
	TEST_ASSERT(has(r.out, "shown once"));
	TEST_ASSERT(has(r.out, "  example.org. IN MX 10 mail.example.org.\n"));
	TEST_ASSERT(has(r.out, "_imaps._tcp.example.org. IN SRV 0 1 993 "));
	TEST_ASSERT(has(r.out, "development ports"));
	pw = quickstart_password(r.out);
	TEST_ASSERT(pw != NULL && strlen(pw) == 20);
	run_clear(&r);

	real = realpath(data, NULL);
	TEST_ASSERT(real != NULL);
	TEST_ASSERT(stat(data, &st) == 0 && (st.st_mode & 0777) == 0750);
	path = xasprintf("%s/tls/key.pem", data);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);
	free(path);
	path = xasprintf("%s/tls/cert.pem", data);
	TEST_ASSERT(stat(path, &st) == 0 && st.st_size > 0);
	free(path);
	path = xasprintf("%s/directory.db", data);
	TEST_ASSERT(stat(path, &st) == 0);
	free(path);
	path = xasprintf("%s/queue", data);
	TEST_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	free(path);

	path = xasprintf("%s/petrel.conf", data);
	c = config_load(path, &error);
	TEST_EQ_STR(error, NULL);
	if (c != NULL && real != NULL) {
		char *want = xasprintf("%s/tls/cert.pem", real);

		TEST_EQ_STR(c->hostname, "mail.example.org");
		TEST_EQ_STR(c->data_dir, real);
		TEST_EQ_STR(c->tls_cert, want);
		free(want);
		TEST_EQ_INT(c->n_listeners, 7);
		if (c->n_listeners == 7) {
			TEST_EQ_STR(c->listeners[0].address, "127.0.0.1");
			TEST_EQ_INT(c->listeners[0].port, 2525);
			TEST_EQ_INT(c->listeners[0].protocol,
			    CONFIG_PROTOCOL_SMTP);
			TEST_EQ_INT(c->listeners[0].tls, CONFIG_TLS_STARTTLS);
			TEST_EQ_INT(c->listeners[1].port, 2587);
			TEST_EQ_INT(c->listeners[1].protocol,
			    CONFIG_PROTOCOL_SUBMISSION);
			TEST_EQ_INT(c->listeners[2].port, 2465);
			TEST_EQ_INT(c->listeners[2].tls, CONFIG_TLS_IMPLICIT);
			TEST_EQ_INT(c->listeners[3].port, 2110);
			TEST_EQ_INT(c->listeners[3].protocol,
			    CONFIG_PROTOCOL_POP3);
			TEST_EQ_INT(c->listeners[3].tls, CONFIG_TLS_STARTTLS);
			TEST_EQ_INT(c->listeners[4].port, 2995);
			TEST_EQ_INT(c->listeners[4].tls, CONFIG_TLS_IMPLICIT);
			TEST_EQ_INT(c->listeners[5].port, 2143);
			TEST_EQ_INT(c->listeners[5].protocol,
			    CONFIG_PROTOCOL_IMAP);
			TEST_EQ_INT(c->listeners[5].tls, CONFIG_TLS_STARTTLS);
			TEST_EQ_INT(c->listeners[6].port, 2993);
			TEST_EQ_INT(c->listeners[6].tls, CONFIG_TLS_IMPLICIT);
		}
	}
	config_free(&c);
	free(error);
	error = NULL;
	if (real != NULL)
		check_admin(real, "admin@example.org", pw);

	/* Again into the same place: refused, nothing changed. */
	run(&r, (const char *[]){ "petrel", "quickstart", "mail.example.org",
	    "--data", data, NULL });
	TEST_EQ_INT(r.rc, 1);
	TEST_ASSERT(has(r.err, "petrel.conf already exists"));
	TEST_EQ_STR(r.out, "");
	run_clear(&r);
	if (real != NULL)
		check_admin(real, "admin@example.org", pw);

	/* --force: a new password for the same admin; --json anywhere. */
	run(&r, (const char *[]){ "petrel", "quickstart", "--force",
	    "mail.example.org", "--json", "--data", data, NULL });
	TEST_EQ_INT(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	TEST_ASSERT(j != NULL);
	if (real != NULL) {
		char *want = xasprintf("%s/petrel.conf", real);

		TEST_EQ_STR(json_string_value(json_object_get(j, "config")),
		    want);
		free(want);
	}
	TEST_EQ_STR(json_string_value(json_object_get(j, "domain")),
	    "example.org");
	TEST_EQ_STR(json_string_value(json_object_get(j, "data_dir")), real);
	TEST_EQ_INT(json_array_size(json_object_get(j, "dns")), 9);
	TEST_EQ_INT(json_array_size(json_object_get(j, "listeners")), 7);
	json_t *admin = json_object_get(j, "admin");
	TEST_EQ_STR(json_string_value(json_object_get(admin, "login")),
	    "admin@example.org");
	pw2 = xstrdup(json_string_value(json_object_get(admin, "password")) ?
	    json_string_value(json_object_get(admin, "password")) : "");
	TEST_ASSERT(strlen(pw2) == 20 && (pw == NULL || strcmp(pw, pw2) != 0));
	json_decref(j);
	run_clear(&r);
	if (real != NULL)
		check_admin(real, "admin@example.org", pw2);
	free(pw);
	free(pw2);
	free(path);

	/* Defaults: the domain of a two-label host name is the name. */
	free(data);
	data = xasprintf("%s/two", tmp);
	run(&r, (const char *[]){ "petrel", "quickstart", "localhost",
	    "--data", data, NULL });
	TEST_EQ_INT(r.rc, 0);
	TEST_ASSERT(has(r.out, "login admin@localhost password "));
	TEST_ASSERT(has(r.out, "  localhost. IN MX 10 localhost.\n"));
	run_clear(&r);
	free(data);
	data = xasprintf("%s/three", tmp);
	run(&r, (const char *[]){ "petrel", "quickstart", "example.org",
	    "--domain=other.test", "--data", data, NULL });
	TEST_EQ_INT(r.rc, 0);
	TEST_ASSERT(has(r.out, "login admin@other.test password "));
	run_clear(&r);

	free(real);
	free(data);
	fsutil_remove_tree(tmp);
	free(tmp);
}

/* A data directory whose path the INI syntax cannot carry is refused
   before anything is created in it. */
static void
test_quickstart_bad_dir(void)
{
	char *tmp = test_tmpdir(), *data = xasprintf("%s/a ;b", tmp), *path;
	struct run r;
	struct stat st;

	run(&r, (const char *[]){ "petrel", "quickstart", "h.example",
	    "--data", data, NULL });
	TEST_EQ_INT(r.rc, 1);
	TEST_ASSERT(has(r.err, "cannot use "));
	run_clear(&r);
	path = xasprintf("%s/directory.db", data);
	TEST_ASSERT(stat(path, &st) == -1);
	free(path);
	fsutil_remove_tree(tmp);
	free(data);
	free(tmp);
}

int
main(void)
{
	TEST_RUN(test_dispatch);
	TEST_RUN(test_config);
	TEST_RUN(test_password);
	TEST_RUN(test_dns);
	TEST_RUN(test_quickstart_usage);
	TEST_RUN(test_quickstart);
	TEST_RUN(test_quickstart_bad_dir);
	return test_done();
}
