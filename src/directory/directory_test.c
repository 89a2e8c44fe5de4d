/* directory_test.c — the directory: address checks, every resolve() case
   (alias domains, plus tags, wildcards, catch-alls, internal, disabled,
   loops, fan-out, folding, case, UTF-8, unknown, not local, tempfail),
   the admin CRUD errors, and live changes seen by a second handle. */
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_private.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

/* --- helpers ------------------------------------------------------------ */

static char *test_dir_path;

static struct directory *
test_open(void)
{
	struct directory *dir = NULL;
	char *error = NULL;

	test_dir_path = test_tmpdir();
	if (directory_open(test_dir_path, true, &dir, &error) == -1) {
		printf("  directory_open: %s\n", error);
		free(error);
		abort();
	}
	return dir;
}

static void
test_close(struct directory **dir)
{
	directory_close(dir);
	fsutil_remove_tree(test_dir_path);
	xfree(&test_dir_path);
}

/* Asserts an admin call succeeded, printing its error if not. */
#define OK(call)							\
	do {								\
		struct directory_error ok_err_ = { 0 };			\
		struct directory_error *err = &ok_err_;			\
		if ((call) != 0) {					\
			test_fail(__FILE__, __LINE__, "%s: %s", #call,	\
			    ok_err_.message ? ok_err_.message : "?");	\
		}							\
		directory_error_clear(&ok_err_);			\
	} while (0)

/* Asserts an admin call failed with code and message. */
#define FAILS(call, want_code, want_msg)				\
	do {								\
		struct directory_error fails_err_ = { 0 };		\
		struct directory_error *err = &fails_err_;		\
		TEST_EQ_INT((call), -1);				\
		TEST_EQ_INT(fails_err_.code, (want_code));		\
		TEST_EQ_STR(fails_err_.message, (want_msg));		\
		directory_error_clear(&fails_err_);			\
	} while (0)

static const char *
test_result_name(enum directory_result r)
{
	switch (r) {
	case DIRECTORY_LOCAL: return "LOCAL";
	case DIRECTORY_NOT_LOCAL: return "NOT_LOCAL";
	case DIRECTORY_UNKNOWN: return "UNKNOWN";
	case DIRECTORY_INTERNAL_ONLY: return "INTERNAL_ONLY";
	case DIRECTORY_DISABLED: return "DISABLED";
	case DIRECTORY_TEMPFAIL: return "TEMPFAIL";
	case DIRECTORY_INVALID: return "INVALID";
	}
	return "?";
}

/* The resolution as one line: "LOCAL alice@example.org#tag bob@... >fwd",
   or "UNKNOWN 550 5.1.1 ...". */
static char *
test_resolve(struct directory *dir, const char *address, bool internal_ok)
{
	struct directory_resolution res;
	struct buf b;

	buf_init(&b, 0);
	directory_resolve(dir, address, internal_ok, &res);
	buf_append_str(&b, test_result_name(res.result));
	for (size_t i = 0; i < res.n_deliveries; i++) {
		buf_printf(&b, " %s", res.deliveries[i].account);
		if (res.deliveries[i].tag != NULL)
			buf_printf(&b, "#%s", res.deliveries[i].tag);
		if (res.deliveries[i].account_id <= 0)
			buf_append_str(&b, "(bad id)");
	}
	for (size_t i = 0; i < res.n_forwards; i++)
		buf_printf(&b, " >%s", res.forwards[i]);
	if (res.reply != NULL)
		buf_printf(&b, " %s", res.reply);
	if ((res.result == DIRECTORY_LOCAL) != (res.reply == NULL))
		buf_append_str(&b, " (reply mismatch)");
	directory_resolution_clear(&res);
	TEST_ASSERT(res.reply == NULL && res.deliveries == NULL);
	return buf_steal(&b);
}

#define RESOLVES(dir, address, internal_ok, want)			\
	do {								\
		char *got_ = test_resolve((dir), (address), (internal_ok)); \
		TEST_EQ_STR(got_, (want));				\
		free(got_);						\
	} while (0)

/* Resolution cases run in a row on one directory. */
struct resolve_case {
	const char *address;
	bool internal_ok;
	const char *want;	/* as test_resolve() renders it */
};

static void
resolve_cases(struct directory *dir, const struct resolve_case *cases,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *got = test_resolve(dir, cases[i].address,
		    cases[i].internal_ok);

		if (strcmp(got, cases[i].want) != 0)
			test_fail(__FILE__, __LINE__, "case %zu <%s>:\n got "
			    "\"%s\"\nwant \"%s\"", i, cases[i].address, got,
			    cases[i].want);
		free(got);
	}
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* The refusals as test_resolve() renders them; a is a string literal. */
#define WANT_UNKNOWN(a) "UNKNOWN 550 5.1.1 <" a ">: Recipient address " \
	"rejected: User unknown in virtual mailbox table"
#define WANT_NOT_LOCAL(a) "NOT_LOCAL 550 5.7.1 <" a ">: Relay access denied"
#define WANT_INTERNAL(a) "INTERNAL_ONLY 550 5.7.1 <" a ">: Recipient " \
	"address rejected: Access denied"
#define WANT_DISABLED(a) "DISABLED 550 5.2.1 <" a ">: Recipient address " \
	"rejected: Mailbox disabled"
#define WANT_TEMPFAIL(a) "TEMPFAIL 451 4.3.0 <" a ">: Temporary lookup " \
	"failure"

/* --- address checks ----------------------------------------------------- */

static const struct {
	const char *in;
	bool wildcard;
	int want;
	const char *local, *local_lower, *domain;
} address_cases[] = {
	{ "alice@example.org", false, 0, "alice", "alice", "example.org" },
	{ "Alice.B@Example.ORG", false, 0, "Alice.B", "alice.b",
	    "example.org" },
	{ "a!#$%&'*+-/=?^_`{|}~@x.example", false, 0,
	    "a!#$%&'*+-/=?^_`{|}~", "a!#$%&'*+-/=?^_`{|}~", "x.example" },
	{ "\"alice\"@example.org", false, 0, "alice", "alice", "example.org" },
	{ "\"Al\\ice\"@example.org", false, 0, "Alice", "alice",
	    "example.org" },
	{ "J\xc3\xb6rg@example.org", false, 0, "J\xc3\xb6rg", "j\xc3\xb6rg",
	    "example.org" },
	{ "x@m\xc3\xbcller.example", false, 0, "x", "x",
	    "xn--mller-kva.example" },	/* IDNA: the A-label */
	{ "x@M\xc3\x9cLLER.example", false, 0, "x", "x",
	    "xn--mller-kva.example" },	/* UTS 46 maps case */
	{ "x@\xe2\x98\x83.example", false, -1, NULL, NULL, NULL },
	{ "x@localhost", false, 0, "x", "x", "localhost" },
	{ "x@[192.0.2.1]", false, 0, "x", "x", "[192.0.2.1]" },
	{ "x@[IPv6:2001:DB8::1]", false, 0, "x", "x", "[ipv6:2001:db8::1]" },
	{ "info@*", true, 0, "info", "info", "*" },
	{ "info@*", false, -1, NULL, NULL, NULL },
	{ "", false, -1, NULL, NULL, NULL },
	{ "alice", false, -1, NULL, NULL, NULL },
	{ "@example.org", false, -1, NULL, NULL, NULL },
	{ "alice@", false, -1, NULL, NULL, NULL },
	{ "alice@@example.org", false, -1, NULL, NULL, NULL },
	{ "a@b@example.org", false, -1, NULL, NULL, NULL },
	{ "al ice@example.org", false, -1, NULL, NULL, NULL },
	{ "\"al ice\"@example.org", false, -1, NULL, NULL, NULL },
	{ "\"a@b\"@example.org", false, -1, NULL, NULL, NULL },
	{ "\"alice@example.org", false, -1, NULL, NULL, NULL },
	{ "\"alice\\", false, -1, NULL, NULL, NULL },
	{ "\"a\\\x01\"@example.org", false, -1, NULL, NULL, NULL },
	{ "\"alice\"x@example.org", false, -1, NULL, NULL, NULL },
	{ "alice\r\n@example.org", false, -1, NULL, NULL, NULL },
	{ "alice@example.org\r\nRCPT TO:<x@y>", false, -1, NULL, NULL, NULL },
	{ "al\x7f" "ice@example.org", false, -1, NULL, NULL, NULL },
	{ "al\tice@example.org", false, -1, NULL, NULL, NULL },
	{ ".alice@example.org", false, -1, NULL, NULL, NULL },
	{ "alice.@example.org", false, -1, NULL, NULL, NULL },
	{ "al..ice@example.org", false, -1, NULL, NULL, NULL },
	{ "a<b@example.org", false, -1, NULL, NULL, NULL },
	{ "a\\b@example.org", false, -1, NULL, NULL, NULL },
	/* Malformed UTF-8: overlong, surrogate, beyond U+10FFFF, C1
	   control, truncated, bare continuation. */
	{ "\xc0\xaf@example.org", false, -1, NULL, NULL, NULL },
	{ "\xed\xa0\x80@example.org", false, -1, NULL, NULL, NULL },
	{ "\xf4\x90\x80\x80@example.org", false, -1, NULL, NULL, NULL },
	{ "\xc2\x85@example.org", false, -1, NULL, NULL, NULL },
	{ "a\xc3@example.org", false, -1, NULL, NULL, NULL },
	{ "\x80@example.org", false, -1, NULL, NULL, NULL },
	{ "x@exa\xff" "mple.org", false, -1, NULL, NULL, NULL },
	/* Domains. */
	{ "x@example.org.", false, -1, NULL, NULL, NULL },
	{ "x@.example.org", false, -1, NULL, NULL, NULL },
	{ "x@exa..mple.org", false, -1, NULL, NULL, NULL },
	{ "x@-example.org", false, -1, NULL, NULL, NULL },
	{ "x@example-.org", false, -1, NULL, NULL, NULL },
	{ "x@exa_mple.org", false, -1, NULL, NULL, NULL },
	{ "x@exa mple.org", false, -1, NULL, NULL, NULL },
	{ "x@[192.0.2.300]", false, -1, NULL, NULL, NULL },
	{ "x@[IPv6:zz::1]", false, -1, NULL, NULL, NULL },
	{ "x@[]", false, -1, NULL, NULL, NULL },
	{ "x@*.example.org", true, -1, NULL, NULL, NULL },
};

static void
test_address(void)
{
	for (size_t i = 0; i < sizeof(address_cases) /
	    sizeof(address_cases[0]); i++) {
		struct directory_address a;
		const char *error = NULL;
		int got = directory_address_parse(address_cases[i].in,
		    address_cases[i].wildcard, &a, &error);

		if (got != address_cases[i].want)
			printf("  case %zu\n", i);
		TEST_EQ_INT(got, address_cases[i].want);
		if (got == 0 && address_cases[i].want == 0) {
			TEST_EQ_STR(a.local, address_cases[i].local);
			TEST_EQ_STR(a.local_lower,
			    address_cases[i].local_lower);
			TEST_EQ_STR(a.domain, address_cases[i].domain);
		} else if (got == -1) {
			TEST_ASSERT(error != NULL);
		}
	}
}

/* Lengths: 64-octet local part and 63-octet labels pass, one more fails;
   the whole address is capped at 254. */
static void
test_address_limits(void)
{
	struct directory_address a;
	const char *error;
	char s[600], label[64];

	memset(label, 'l', 63);
	label[63] = '\0';
	memset(s, 'a', 64);
	memcpy(s + 64, "@example.org", 13);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), 0);
	memset(s, 'a', 65);
	memcpy(s + 65, "@example.org", 13);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), -1);
	TEST_EQ_STR(error, "local part too long");

	snprintf(s, sizeof(s), "x@%s.example", label);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), 0);
	snprintf(s, sizeof(s), "x@%sl.example", label);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), -1);
	TEST_EQ_STR(error, "domain label too long");

	/* 2 + 63*3 + 3 dots + 60 = 254 octets: fits. */
	snprintf(s, sizeof(s), "x@%s.%s.%s.%.60s", label, label, label, label);
	TEST_EQ_INT(strlen(s), 254);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), 0);
	snprintf(s, sizeof(s), "x@%s.%s.%s.%.61s", label, label, label, label);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), -1);
	TEST_EQ_STR(error, "address too long");

	/* A quoted local part decodes to at most 64 octets too. */
	s[0] = '"';
	memset(s + 1, 'q', 65);
	memcpy(s + 66, "\"@example.org", 14);
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), -1);

	/* A long hostile string is refused without reading past the cap. */
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	TEST_EQ_INT(directory_address_parse(s, false, &a, &error), -1);
}

/* --- open ---------------------------------------------------------------- */

static void
test_open_create(void)
{
	struct directory *dir = NULL;
	char *error = NULL, *dir_path = test_tmpdir(), *sub, *db;
	struct stat st;

	sub = xasprintf("%s/data", dir_path);
	TEST_EQ_INT(directory_open(sub, false, &dir, &error), -1);
	TEST_ASSERT(dir == NULL);
	TEST_ASSERT(error != NULL && strstr(error, "quickstart") != NULL);
	free(error);
	error = NULL;

	TEST_EQ_INT(directory_open(sub, true, &dir, &error), 0);
	TEST_ASSERT(dir != NULL);
	directory_close(&dir);
	TEST_ASSERT(dir == NULL);
	directory_close(&dir);		/* accepts NULL */

	db = xasprintf("%s/directory.db", sub);
	TEST_EQ_INT(stat(db, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0640);

	/* Reopened without create: the schema is there, migrations are a
	   no-op, WAL is on. */
	TEST_EQ_INT(directory_open(sub, false, &dir, &error), 0);
	if (dir != NULL) {
		sqlite3_stmt *stmt;

		TEST_EQ_INT(sqlite3_prepare_v2(dir->db, "PRAGMA journal_mode",
		    -1, &stmt, NULL), SQLITE_OK);
		TEST_EQ_INT(sqlite3_step(stmt), SQLITE_ROW);
		TEST_EQ_STR((const char *)sqlite3_column_text(stmt, 0), "wal");
		sqlite3_finalize(stmt);
		TEST_EQ_INT(sqlite3_prepare_v2(dir->db, "PRAGMA user_version",
		    -1, &stmt, NULL), SQLITE_OK);
		TEST_EQ_INT(sqlite3_step(stmt), SQLITE_ROW);
		TEST_EQ_INT(sqlite3_column_int(stmt, 0), 2);
		sqlite3_finalize(stmt);
		TEST_EQ_INT(sqlite3_prepare_v2(dir->db, "PRAGMA foreign_keys",
		    -1, &stmt, NULL), SQLITE_OK);
		TEST_EQ_INT(sqlite3_step(stmt), SQLITE_ROW);
		TEST_EQ_INT(sqlite3_column_int(stmt, 0), 1);
		sqlite3_finalize(stmt);
		/* A database from a newer petrel is refused. */
		TEST_EQ_INT(sqlite3_exec(dir->db, "PRAGMA user_version = 99",
		    NULL, NULL, NULL), SQLITE_OK);
		directory_close(&dir);
	}
	TEST_EQ_INT(directory_open(sub, false, &dir, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "newer") != NULL);
	free(error);

	free(db);
	free(sub);
	fsutil_remove_tree(dir_path);
	free(dir_path);
}

/* --- resolve ------------------------------------------------------------- */

/* The fixture every resolve test shares. */
static struct directory *
test_fixture(void)
{
	struct directory *dir = test_open();
	static const char *const team[] = {
		"alice@example.org", "Bob@Example.org", "Ext.User@Remote.Example",
	};
	static const char *const team2[] = { "team@example.org",
		"alice@example.org", "ext.user@remote.example" };
	static const char *const carol_only[] = { "carol@example.org" };
	static const char *const carol_alice[] = { "carol@example.org",
		"alice@example.org" };
	static const char *const keep[] = { "dave@example.org",
		"dave@elsewhere.example" };
	static const char *const alice[] = { "alice@example.org" };
	static const char *const bob[] = { "bob@example.org" };
	static const char *const tagged[] = { "alice+from-list@example.org" };

	OK(directory_admin_domain_add(dir, "Example.ORG", err));
	OK(directory_admin_domain_add(dir, "catchall.example", err));
	OK(directory_admin_domain_add(dir, "off.example", err));
	OK(directory_admin_alias_domain_add(dir, "example.net", "example.org",
	    err));
	OK(directory_admin_account_add(dir, "alice@example.org", "Alice", NULL,
	    0, NULL, err));
	OK(directory_admin_account_add(dir, "BOB@example.org", NULL, NULL, 0,
	    NULL, err));
	OK(directory_admin_account_add(dir, "carol@example.org", NULL, NULL, 0,
	    NULL, err));
	OK(directory_admin_account_add(dir, "dave@example.org", NULL, NULL, 0,
	    NULL, err));
	OK(directory_admin_account_add(dir, "J\xc3\xb6rg@example.org", NULL,
	    NULL, 0, NULL, err));
	OK(directory_admin_account_add(dir, "off@off.example", NULL, NULL, 0,
	    NULL, err));
	OK(directory_admin_account_set_enabled(dir, "carol@example.org", false,
	    err));
	OK(directory_admin_domain_set_enabled(dir, "off.example", false, err));

	OK(directory_admin_alias_add(dir, "team@example.org", team, 3,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "team2@example.org", team2, 3,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "staff@example.org", alice, 1,
	    DIRECTORY_ALIAS_INTERNAL, err));
	OK(directory_admin_alias_add(dir, "old@example.org", carol_only, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "mixed@example.org", carol_alice, 2,
	    DIRECTORY_ALIAS_KEEP, err));
	/* An alias on an account's own address: wins over the account; the
	   account listed among its destinations keeps a copy. */
	OK(directory_admin_alias_add(dir, "dave@example.org", keep, 2,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "postmaster@*", alice, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "abuse@*", bob, 1,
	    DIRECTORY_ALIAS_INTERNAL, err));
	OK(directory_admin_alias_add(dir, "postmaster@catchall.example", bob,
	    1, DIRECTORY_ALIAS_KEEP, err));
	/* An exact alias on a plus address beats the plus rule. */
	OK(directory_admin_alias_add(dir, "alice+vip@example.org", bob, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "lists@example.org", tagged, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_domain_set_catch_all(dir, "catchall.example",
	    "bob@example.org", err));
	return dir;
}

static void
test_resolve_basic(void)
{
	static const struct resolve_case cases[] = {
		{ "alice@example.org", false, "LOCAL alice@example.org" },
		/* Case-insensitive domain and local part; stored
		   lower-case. */
		{ "ALICE@EXAMPLE.ORG", false, "LOCAL alice@example.org" },
		{ "bob@example.org", false, "LOCAL bob@example.org" },
		{ "\"alice\"@example.org", false, "LOCAL alice@example.org" },
		{ "\"a\\lice\"@example.org", false, "LOCAL alice@example.org" },
		/* UTF-8 local part (SMTPUTF8): ASCII folded, UTF-8 kept as
		   is. */
		{ "J\xc3\xb6RG@example.org", false,
		    "LOCAL j\xc3\xb6rg@example.org" },
		{ "J\xc3\x96rg@example.org", false,
		    WANT_UNKNOWN("J\xc3\x96rg@example.org") },
		/* Alias domain, any case. */
		{ "alice@example.net", false, "LOCAL alice@example.org" },
		{ "Alice@Example.NET", false, "LOCAL alice@example.org" },
		{ "team@example.net", false, "LOCAL alice@example.org "
		    "bob@example.org >Ext.User@remote.example" },

		{ "nobody@example.org", false,
		    WANT_UNKNOWN("nobody@example.org") },
		{ "alice@other.example", false,
		    WANT_NOT_LOCAL("alice@other.example") },
		{ "alice@[192.0.2.1]", false,
		    WANT_NOT_LOCAL("alice@[192.0.2.1]") },
		{ "alice", false,
		    "INVALID 501 5.1.3 Bad recipient address syntax" },
		{ "alice@example.org\r\nDATA", false,
		    "INVALID 501 5.1.3 Bad recipient address syntax" },
		{ "\"al ice\"@example.org", false,
		    "INVALID 501 5.1.3 Bad recipient address syntax" },
	};
	struct directory *dir = test_fixture();

	resolve_cases(dir, cases, NCASES(cases));
	TEST_ASSERT(directory_is_local_domain(dir, "Example.ORG"));
	TEST_ASSERT(directory_is_local_domain(dir, "example.net"));
	TEST_ASSERT(directory_is_local_domain(dir, "off.example"));
	TEST_ASSERT(!directory_is_local_domain(dir, "other.example"));
	TEST_ASSERT(!directory_is_local_domain(dir, "exa mple.org"));
	TEST_ASSERT(!directory_is_local_domain(dir, ""));
	test_close(&dir);
}

static void
test_resolve_aliases(void)
{
	static const struct resolve_case cases[] = {
		/* Several destinations, a forward keeping its local part's
		   case. */
		{ "team@example.org", false, "LOCAL alice@example.org "
		    "bob@example.org >Ext.User@remote.example" },
		/* Nested, deliveries to one account folded, forwards
		   deduplicated only when identical. */
		{ "team2@example.org", false, "LOCAL alice@example.org "
		    "bob@example.org >Ext.User@remote.example "
		    ">ext.user@remote.example" },
		/* Alias on the account's own address: the copy stays in
		   it. */
		{ "dave@example.org", false,
		    "LOCAL dave@example.org >dave@elsewhere.example" },
		/* A destination with its own tag. */
		{ "lists@example.org", false,
		    "LOCAL alice@example.org#from-list" },
	};
	struct directory *dir = test_fixture();

	resolve_cases(dir, cases, NCASES(cases));
	test_close(&dir);
}

static void
test_resolve_plus(void)
{
	static const struct resolve_case cases[] = {
		{ "alice+news@example.org", false,
		    "LOCAL alice@example.org#news" },
		/* The tag keeps its case; the first '+' splits. */
		{ "ALICE+News+x@example.net", false,
		    "LOCAL alice@example.org#News+x" },
		/* Empty tag: no tag. */
		{ "alice+@example.org", false, "LOCAL alice@example.org" },
		/* No base before '+'. */
		{ "+alice@example.org", false,
		    WANT_UNKNOWN("+alice@example.org") },
		/* Exact alias beats the plus rule. */
		{ "alice+vip@example.org", false, "LOCAL bob@example.org" },
		/* Tag carried through an alias to every delivery, not
		   forwards. */
		{ "team+x@example.org", false,
		    "LOCAL alice@example.org#x bob@example.org#x "
		    ">Ext.User@remote.example" },
		/* A destination's own tag wins over the carried one. */
		{ "lists+y@example.org", false,
		    "LOCAL alice@example.org#from-list" },
		{ "nobody+x@example.org", false,
		    WANT_UNKNOWN("nobody+x@example.org") },
	};
	struct directory *dir = test_fixture();

	resolve_cases(dir, cases, NCASES(cases));
	test_close(&dir);
}

static void
test_resolve_wildcard_catchall(void)
{
	struct directory *dir = test_fixture();

	RESOLVES(dir, "postmaster@example.org", false,
	    "LOCAL alice@example.org");
	RESOLVES(dir, "PostMaster@example.net", false,
	    "LOCAL alice@example.org");
	RESOLVES(dir, "postmaster+x@example.org", false,
	    "LOCAL alice@example.org#x");
	/* An alias of the domain beats the wildcard. */
	RESOLVES(dir, "postmaster@catchall.example", false,
	    "LOCAL bob@example.org");
	/* Internal wildcard. */
	RESOLVES(dir, "abuse@example.org", false,
	    WANT_INTERNAL("abuse@example.org"));
	RESOLVES(dir, "abuse@example.org", true, "LOCAL bob@example.org");
	/* Wildcards never match domains that are not ours. */
	RESOLVES(dir, "postmaster@other.example", false,
	    WANT_NOT_LOCAL("postmaster@other.example"));
	/* Per-domain catch-all: unknown local parts, no tag. */
	RESOLVES(dir, "anything@catchall.example", false,
	    "LOCAL bob@example.org");
	RESOLVES(dir, "any+thing@catchall.example", false,
	    "LOCAL bob@example.org");

	/* Global catch-all mailbox: only once nothing else matched. */
	RESOLVES(dir, "nobody@example.org", false,
	    WANT_UNKNOWN("nobody@example.org"));
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    "Dave@Example.org", err));
	RESOLVES(dir, "nobody@example.org", false, "LOCAL dave@example.org");
	RESOLVES(dir, "nobody@example.net", false, "LOCAL dave@example.org");
	RESOLVES(dir, "anything@catchall.example", false,
	    "LOCAL bob@example.org");
	RESOLVES(dir, "alice@example.org", false, "LOCAL alice@example.org");
	RESOLVES(dir, "x@other.example", false,
	    WANT_NOT_LOCAL("x@other.example"));
	/* A disabled catch-all mailbox accepts nothing. */
	OK(directory_admin_account_set_enabled(dir, "dave@example.org", false,
	    err));
	RESOLVES(dir, "nobody@example.org", false,
	    WANT_UNKNOWN("nobody@example.org"));
	OK(directory_admin_account_set_enabled(dir, "dave@example.org", true,
	    err));
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    NULL, err));
	RESOLVES(dir, "nobody@example.org", false,
	    WANT_UNKNOWN("nobody@example.org"));

	/* The catch-all off again. */
	OK(directory_admin_domain_set_catch_all(dir, "catchall.example", NULL,
	    err));
	RESOLVES(dir, "anything@catchall.example", false,
	    WANT_UNKNOWN("anything@catchall.example"));
	test_close(&dir);
}

static void
test_resolve_internal_disabled(void)
{
	struct directory *dir = test_fixture();

	RESOLVES(dir, "staff@example.org", false,
	    WANT_INTERNAL("staff@example.org"));
	RESOLVES(dir, "Staff+x@Example.NET", false,
	    WANT_INTERNAL("Staff+x@Example.NET"));
	RESOLVES(dir, "staff@example.org", true, "LOCAL alice@example.org");
	/* Internal is about the address the sender used, not nested ones. */
	{
		static const char *const via[] = { "staff@example.org" };

		OK(directory_admin_alias_add(dir, "front@example.org", via, 1,
		    DIRECTORY_ALIAS_KEEP, err));
		RESOLVES(dir, "front@example.org", false,
		    "LOCAL alice@example.org");
	}

	RESOLVES(dir, "carol@example.org", false,
	    WANT_DISABLED("carol@example.org"));
	RESOLVES(dir, "carol+tag@example.org", true,
	    WANT_DISABLED("carol+tag@example.org"));
	/* An alias whose only destination is disabled refuses; one with
	   another destination skips the disabled one. */
	RESOLVES(dir, "old@example.org", false,
	    WANT_DISABLED("old@example.org"));
	RESOLVES(dir, "mixed@example.org", false, "LOCAL alice@example.org");
	/* A disabled domain: all of it. */
	RESOLVES(dir, "off@off.example", false,
	    WANT_DISABLED("off@off.example"));
	OK(directory_admin_domain_set_enabled(dir, "off.example", true, err));
	RESOLVES(dir, "off@off.example", false, "LOCAL off@off.example");
	test_close(&dir);
}

static void
test_resolve_loops(void)
{
	struct directory *dir = test_fixture();
	static const char *const to_b[] = { "loop-b@example.org" };
	static const char *const to_a[] = { "loop-a@example.org" };
	static const char *const to_c_alice[] = { "loop-d@example.org",
		"alice@example.org" };
	static const char *const to_c[] = { "loop-c@example.org" };
	char src[64], dst[64];
	const char *dp[2];

	/* A destination must exist when added: create loop-a with a
	   placeholder, then rewire it. */
	{
		static const char *const alice[] = { "alice@example.org" };

		OK(directory_admin_alias_add(dir, "loop-a@example.org", alice,
		    1, DIRECTORY_ALIAS_KEEP, err));
	}
	OK(directory_admin_alias_add(dir, "loop-b@example.org", to_a, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "loop-a@example.org", to_b, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_del(dir, "loop-a@example.org",
	    "alice@example.org", err));
	/* a -> b -> a: nothing to deliver to. */
	RESOLVES(dir, "loop-a@example.org", false,
	    WANT_UNKNOWN("loop-a@example.org"));
	RESOLVES(dir, "loop-b+t@example.net", false,
	    WANT_UNKNOWN("loop-b+t@example.net"));

	/* c -> d, alice; d -> c: the loop is cut, alice gets it. */
	OK(directory_admin_alias_add(dir, "loop-c@example.org", to_c_alice + 1,
	    1, DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "loop-d@example.org", to_c, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "loop-c@example.org", to_c_alice, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	RESOLVES(dir, "loop-c@example.org", false, "LOCAL alice@example.org");
	RESOLVES(dir, "loop-d@example.org", false, "LOCAL alice@example.org");

	/* A chain of aliases: 10 deep resolves, 11 deep is cut. */
	snprintf(src, sizeof(src), "chain10@example.org");
	dp[0] = "alice@example.org";
	OK(directory_admin_alias_add(dir, src, dp, 1, DIRECTORY_ALIAS_KEEP,
	    err));
	for (int i = 9; i >= 0; i--) {
		snprintf(dst, sizeof(dst), "chain%d@example.org", i + 1);
		snprintf(src, sizeof(src), "chain%d@example.org", i);
		dp[0] = dst;
		OK(directory_admin_alias_add(dir, src, dp, 1,
		    DIRECTORY_ALIAS_KEEP, err));
	}
	RESOLVES(dir, "chain1@example.org", false, "LOCAL alice@example.org");
	RESOLVES(dir, "chain0@example.org", false,
	    WANT_UNKNOWN("chain0@example.org"));

	/* A diamond of aliases 12 levels deep with fan-out 2 (4096 paths):
	   expansion stops at the step budget, it does not run away. */
	for (int i = 11; i >= 0; i--) {
		for (int j = 0; j < 2; j++) {
			char d0[64], d1[64];

			snprintf(src, sizeof(src), "fan%d-%d@example.org", i, j);
			if (i == 11) {
				dp[0] = "bob@example.org";
				OK(directory_admin_alias_add(dir, src, dp, 1,
				    DIRECTORY_ALIAS_KEEP, err));
				continue;
			}
			snprintf(d0, sizeof(d0), "fan%d-0@example.org", i + 1);
			snprintf(d1, sizeof(d1), "fan%d-1@example.org", i + 1);
			dp[0] = d0;
			dp[1] = d1;
			OK(directory_admin_alias_add(dir, src, dp, 2,
			    DIRECTORY_ALIAS_KEEP, err));
		}
	}
	/* 12 levels exceed the depth limit anyway: nothing gets through. */
	RESOLVES(dir, "fan0-0@example.org", false,
	    WANT_UNKNOWN("fan0-0@example.org"));
	/* 9 levels below fan3 fit the depth but not the budget of 1000
	   destinations (2 + 4 + ... + 512 = 1022); bob is reached first. */
	RESOLVES(dir, "fan3-0@example.org", false, "LOCAL bob@example.org");
	test_close(&dir);
}

/* A database error answers TEMPFAIL 451, and the handle recovers. */
static void
test_resolve_tempfail(void)
{
	struct directory *dir = test_fixture();
	char *path = xasprintf("%s/directory.db", test_dir_path);
	sqlite3 *raw;

	TEST_EQ_INT(sqlite3_open(path, &raw), SQLITE_OK);
	RESOLVES(dir, "team@example.org", false, "LOCAL alice@example.org "
	    "bob@example.org >Ext.User@remote.example");
	TEST_EQ_INT(sqlite3_exec(raw, "ALTER TABLE address_destinations"
	    " RENAME TO moved", NULL, NULL, NULL), SQLITE_OK);
	RESOLVES(dir, "team@example.org", false,
	    WANT_TEMPFAIL("team@example.org"));
	TEST_EQ_INT(sqlite3_exec(raw, "ALTER TABLE accounts RENAME TO moved2",
	    NULL, NULL, NULL), SQLITE_OK);
	RESOLVES(dir, "alice@example.org", false,
	    WANT_TEMPFAIL("alice@example.org"));
	TEST_EQ_INT(sqlite3_exec(raw, "ALTER TABLE moved RENAME TO"
	    " address_destinations; ALTER TABLE moved2 RENAME TO accounts",
	    NULL, NULL, NULL), SQLITE_OK);
	RESOLVES(dir, "team@example.org", false, "LOCAL alice@example.org "
	    "bob@example.org >Ext.User@remote.example");
	sqlite3_close(raw);
	free(path);
	test_close(&dir);
}

/* A second handle (another I/O thread, the server while the CLI writes)
   sees each change at its next lookup, cached statements and all. */
static void
test_live_changes(void)
{
	struct directory *dir = test_open(), *other = NULL;
	char *error = NULL;
	static const char *const to_new[] = { "new@example.org" };

	TEST_EQ_INT(directory_open(test_dir_path, false, &other, &error), 0);
	RESOLVES(other, "new@example.org", false,
	    WANT_NOT_LOCAL("new@example.org"));
	OK(directory_admin_domain_add(dir, "example.org", err));
	TEST_ASSERT(directory_is_local_domain(other, "example.org"));
	RESOLVES(other, "new@example.org", false,
	    WANT_UNKNOWN("new@example.org"));
	OK(directory_admin_account_add(dir, "new@example.org", NULL, NULL, 0,
	    NULL, err));
	RESOLVES(other, "new@example.org", false, "LOCAL new@example.org");
	OK(directory_admin_alias_add(dir, "info@example.org", to_new, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	RESOLVES(other, "info@example.org", false, "LOCAL new@example.org");
	OK(directory_admin_account_set_enabled(dir, "new@example.org", false,
	    err));
	RESOLVES(other, "new@example.org", false,
	    WANT_DISABLED("new@example.org"));
	/* And the other way round. */
	OK(directory_admin_account_del(other, "new@example.org", err));
	RESOLVES(dir, "new@example.org", false,
	    WANT_UNKNOWN("new@example.org"));
	RESOLVES(dir, "info@example.org", false,
	    WANT_UNKNOWN("info@example.org"));
	directory_close(&other);
	test_close(&dir);
}

/* SMTPUTF8 (RFC 6531): UTF-8 domains are stored and matched in their
   A-label form (IDNA, RFC 5891), so both spellings reach one domain;
   UTF-8 local parts keep their bytes, ASCII letters folded. */
static void
test_resolve_utf8(void)
{
	struct directory *dir = test_open();

	OK(directory_admin_domain_add(dir, "M\xc3\xbcnchen.Example", err));
	OK(directory_admin_account_add(dir,
	    "\xe7\x94\xa8\xe6\x88\xb7@m\xc3\xbcnchen.example", NULL, NULL, 0,
	    NULL, err));
	RESOLVES(dir, "\xe7\x94\xa8\xe6\x88\xb7@M\xc3\xbcNCHEN.example", false,
	    "LOCAL \xe7\x94\xa8\xe6\x88\xb7@xn--mnchen-3ya.example");
	RESOLVES(dir, "\xe7\x94\xa8\xe6\x88\xb7+t\xc3\xa4g@m\xc3\xbcnchen.example",
	    false, "LOCAL \xe7\x94\xa8\xe6\x88\xb7@xn--mnchen-3ya.example#t\xc3\xa4g");
	RESOLVES(dir, "\xe7\x94\xa8\xe6\x88\xb7@XN--MNCHEN-3YA.example", false,
	    "LOCAL \xe7\x94\xa8\xe6\x88\xb7@xn--mnchen-3ya.example");
	TEST_ASSERT(directory_is_local_domain(dir, "M\xc3\xbcnchen.EXAMPLE"));
	TEST_ASSERT(directory_is_local_domain(dir, "xn--mnchen-3ya.example"));
	/* Disallowed in IDNA2008 (a symbol), though valid UTF-8. */
	TEST_ASSERT(!directory_is_local_domain(dir, "\xe2\x98\x83.example"));
	test_close(&dir);
}

/* --- admin ------------------------------------------------------------- */

static void
test_admin_domains(void)
{
	struct directory *dir = test_open();
	struct directory_domain *list = NULL, d;
	struct directory_alias_domain *adl = NULL;
	size_t n = 0;
	static const char *const ext[] = { "x@elsewhere.example" };
	static const char *const u[] = { "u@b.example" };

	OK(directory_admin_domain_add(dir, "b.example", err));
	OK(directory_admin_domain_add(dir, "A.Example", err));
	FAILS(directory_admin_domain_add(dir, "B.EXAMPLE", err),
	    DIRECTORY_ERROR_EXISTS, "domain b.example already exists");
	FAILS(directory_admin_domain_add(dir, "bad domain", err),
	    DIRECTORY_ERROR_INVALID,
	    "invalid domain bad\\x20domain: invalid character in domain");
	FAILS(directory_admin_domain_add(dir, "[192.0.2.1]", err),
	    DIRECTORY_ERROR_INVALID, "invalid domain [192.0.2.1]: an address "
	    "literal cannot be one of our domains");
	FAILS(directory_admin_domain_add(dir, "", err),
	    DIRECTORY_ERROR_INVALID, "invalid domain : empty domain");

	/* Alias domains. */
	OK(directory_admin_alias_domain_add(dir, "C.example", "b.example",
	    err));
	FAILS(directory_admin_alias_domain_add(dir, "c.example", "a.example",
	    err), DIRECTORY_ERROR_EXISTS,
	    "alias domain c.example already exists (of b.example)");
	FAILS(directory_admin_domain_add(dir, "c.example", err),
	    DIRECTORY_ERROR_EXISTS,
	    "c.example already exists as an alias domain of b.example");
	FAILS(directory_admin_alias_domain_add(dir, "a.example", "b.example",
	    err), DIRECTORY_ERROR_EXISTS, "a.example already exists as a domain");
	FAILS(directory_admin_alias_domain_add(dir, "d.example", "c.example",
	    err), DIRECTORY_ERROR_INVALID,
	    "c.example is an alias domain of b.example; use b.example");
	FAILS(directory_admin_alias_domain_add(dir, "d.example", "z.example",
	    err), DIRECTORY_ERROR_NOT_FOUND, "no domain z.example");
	FAILS(directory_admin_alias_domain_add(dir, "d.example", "D.example",
	    err), DIRECTORY_ERROR_INVALID,
	    "alias domain d.example cannot point to itself");
	FAILS(directory_admin_alias_domain_del(dir, "z.example", err),
	    DIRECTORY_ERROR_NOT_FOUND, "no alias domain z.example");
	OK(directory_admin_alias_domain_list(dir, &adl, &n, err));
	TEST_EQ_INT(n, 1);
	if (n == 1) {
		TEST_EQ_STR(adl[0].name, "c.example");
		TEST_EQ_STR(adl[0].target, "b.example");
	}
	directory_alias_domain_list_free(&adl, n);
	TEST_ASSERT(adl == NULL);

	/* Listing, sorted, with counts. */
	OK(directory_admin_account_add(dir, "u@b.example", NULL, NULL, 0, NULL,
	    err));
	OK(directory_admin_alias_add(dir, "al@b.example", ext, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_domain_list(dir, &list, &n, err));
	TEST_EQ_INT(n, 2);
	if (n == 2) {
		TEST_EQ_STR(list[0].name, "a.example");
		TEST_EQ_STR(list[1].name, "b.example");
		TEST_EQ_INT(list[1].n_accounts, 1);
		TEST_EQ_INT(list[1].n_aliases, 1);
		TEST_EQ_INT(list[1].n_alias_domains, 1);
		TEST_ASSERT(list[1].enabled);
		TEST_ASSERT(list[1].catch_all == NULL);
	}
	directory_domain_list_free(&list, n);

	/* Catch-all: destination checked. */
	FAILS(directory_admin_domain_set_catch_all(dir, "a.example",
	    "nobody@b.example", err), DIRECTORY_ERROR_NOT_FOUND,
	    "destination nobody@b.example: no such account or alias");
	FAILS(directory_admin_domain_set_catch_all(dir, "c.example",
	    "u@b.example", err), DIRECTORY_ERROR_INVALID,
	    "c.example is an alias domain of b.example; use b.example");
	FAILS(directory_admin_domain_set_catch_all(dir, "z.example",
	    "u@b.example", err), DIRECTORY_ERROR_NOT_FOUND,
	    "no domain z.example");
	OK(directory_admin_domain_set_catch_all(dir, "a.example",
	    "U+Tag@C.example", err));
	OK(directory_admin_domain_get(dir, "A.EXAMPLE", &d, err));
	TEST_EQ_STR(d.catch_all, "u+tag@c.example");
	directory_domain_clear(&d);
	FAILS(directory_admin_domain_get(dir, "z.example", &d, err),
	    DIRECTORY_ERROR_NOT_FOUND, "no domain z.example");

	/* Deleting a domain with accounts needs force. */
	FAILS(directory_admin_domain_del(dir, "b.example", false, err),
	    DIRECTORY_ERROR_IN_USE, "domain b.example has 1 account");
	FAILS(directory_admin_domain_del(dir, "c.example", false, err),
	    DIRECTORY_ERROR_NOT_FOUND,
	    "c.example is an alias domain of b.example, not a domain");
	FAILS(directory_admin_domain_del(dir, "z.example", false, err),
	    DIRECTORY_ERROR_NOT_FOUND, "no domain z.example");
	/* An alias elsewhere pointing into b.example. */
	OK(directory_admin_alias_add(dir, "x@a.example", u, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_domain_del(dir, "b.example", true, err));
	RESOLVES(dir, "u@b.example", false, WANT_NOT_LOCAL("u@b.example"));
	RESOLVES(dir, "u@c.example", false, WANT_NOT_LOCAL("u@c.example"));
	/* Its references went with it, rather than turning into forwards. */
	FAILS(directory_admin_alias_get(dir, "x@a.example",
	    &(struct directory_alias){ 0 }, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no alias x@a.example");
	OK(directory_admin_domain_get(dir, "a.example", &d, err));
	TEST_ASSERT(d.catch_all == NULL);
	directory_domain_clear(&d);
	OK(directory_admin_domain_list(dir, &list, &n, err));
	TEST_EQ_INT(n, 1);
	directory_domain_list_free(&list, n);
	OK(directory_admin_alias_domain_list(dir, &adl, &n, err));
	TEST_EQ_INT(n, 0);
	TEST_ASSERT(adl == NULL);
	/* Without accounts, no force needed. */
	OK(directory_admin_domain_del(dir, "a.example", false, err));

	/* The world is wrong: a database error is DIRECTORY_ERROR_DB, and
	   the failed transaction is rolled back. */
	{
		char *path = xasprintf("%s/directory.db", test_dir_path);
		sqlite3 *raw;

		TEST_EQ_INT(sqlite3_open(path, &raw), SQLITE_OK);
		TEST_EQ_INT(sqlite3_exec(raw, "ALTER TABLE alias_domains"
		    " RENAME TO moved", NULL, NULL, NULL), SQLITE_OK);
		FAILS(directory_admin_domain_add(dir, "e.example", err),
		    DIRECTORY_ERROR_DB,
		    "directory database error: no such table: alias_domains");
		TEST_EQ_INT(sqlite3_exec(raw, "ALTER TABLE moved"
		    " RENAME TO alias_domains", NULL, NULL, NULL), SQLITE_OK);
		TEST_ASSERT(sqlite3_get_autocommit(dir->db));
		OK(directory_admin_domain_add(dir, "e.example", err));
		sqlite3_close(raw);
		free(path);
	}
	test_close(&dir);
}

static void
test_admin_accounts(void)
{
	struct directory *dir = test_open();
	struct directory_account a, *list = NULL;
	size_t n = 0;
	int64_t id1 = 0, id2 = 0, id3 = 0, idz = 0;
	uint64_t q = 2ULL << 30, none = 0, big = UINT64_MAX, msgs = 1000;
	static const char *const two[] = { "u1@example.org", "u2@example.org" };
	static const char *const u1[] = { "u1@example.org" };
	static const char *const u1tag[] = { "u1+x@example.net" };

	OK(directory_admin_domain_add(dir, "example.org", err));
	OK(directory_admin_domain_add(dir, "other.example", err));
	OK(directory_admin_alias_domain_add(dir, "example.net", "example.org",
	    err));
	FAILS(directory_admin_account_add(dir, "u@nowhere.example", NULL, NULL,
	    0, NULL, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no domain nowhere.example");
	FAILS(directory_admin_account_add(dir, "u@example.net", NULL, NULL, 0,
	    NULL, err), DIRECTORY_ERROR_INVALID,
	    "example.net is an alias domain of example.org; use example.org");
	FAILS(directory_admin_account_add(dir, "u u@example.org", NULL, NULL,
	    0, NULL, err), DIRECTORY_ERROR_INVALID,
	    "invalid address u\\x20u@example.org: invalid character in local "
	    "part");
	FAILS(directory_admin_account_add(dir, "u@*", NULL, NULL, 0, NULL,
	    err), DIRECTORY_ERROR_INVALID,
	    "invalid address u@*: wildcard domain not allowed here");
	FAILS(directory_admin_account_add(dir, "u1@example.org", "a\nb", NULL,
	    0, NULL, err), DIRECTORY_ERROR_INVALID,
	    "control character in display name");
	FAILS(directory_admin_account_add(dir, "u1@example.org", NULL, NULL,
	    big, NULL, err), DIRECTORY_ERROR_INVALID, "quota too large");

	OK(directory_admin_account_add(dir, "U1@Example.org", "User One",
	    "{PLAIN}x", q, &id1, err));
	OK(directory_admin_account_add(dir, "u2@example.org", NULL, NULL, 0,
	    &id2, err));
	TEST_ASSERT(id1 > 0 && id2 > id1);
	FAILS(directory_admin_account_add(dir, "u1@EXAMPLE.ORG", NULL, NULL, 0,
	    NULL, err), DIRECTORY_ERROR_EXISTS,
	    "account u1@example.org already exists");

	OK(directory_admin_account_get(dir, "U1@example.org", &a, err));
	TEST_EQ_INT(a.id, id1);
	TEST_EQ_STR(a.address, "u1@example.org");
	TEST_EQ_STR(a.name, "User One");
	TEST_EQ_STR(a.password, "{PLAIN}x");
	TEST_EQ_INT(a.quota_bytes, q);
	TEST_EQ_INT(a.quota_messages, 0);
	TEST_ASSERT(a.enabled);
	TEST_EQ_STR(a.plus_mode, "ignore");
	directory_account_clear(&a);

	OK(directory_admin_account_set_password(dir, "u1@example.org",
	    "{PLAIN}y", err));
	OK(directory_admin_account_set_quota(dir, "u1@example.org", NULL,
	    &msgs, err));
	OK(directory_admin_account_set_enabled(dir, "u1@example.org", false,
	    err));
	OK(directory_admin_account_get(dir, "u1@example.org", &a, err));
	TEST_EQ_STR(a.password, "{PLAIN}y");
	TEST_EQ_INT(a.quota_bytes, q);
	TEST_EQ_INT(a.quota_messages, 1000);
	TEST_ASSERT(!a.enabled);
	directory_account_clear(&a);
	OK(directory_admin_account_set_quota(dir, "u1@example.org", &none,
	    NULL, err));
	OK(directory_admin_account_set_password(dir, "u1@example.org", NULL,
	    err));
	OK(directory_admin_account_get(dir, "u1@example.org", &a, err));
	TEST_EQ_INT(a.quota_bytes, 0);
	TEST_EQ_INT(a.quota_messages, 1000);
	TEST_ASSERT(a.password == NULL);
	directory_account_clear(&a);
	FAILS(directory_admin_account_set_quota(dir, "u1@example.org", &big,
	    NULL, err), DIRECTORY_ERROR_INVALID, "quota too large");

	FAILS(directory_admin_account_get(dir, "zz@example.org", &a, err),
	    DIRECTORY_ERROR_NOT_FOUND, "no account zz@example.org");
	FAILS(directory_admin_account_set_password(dir, "zz@example.org",
	    "{PLAIN}x", err), DIRECTORY_ERROR_NOT_FOUND,
	    "no account zz@example.org");
	FAILS(directory_admin_account_set_enabled(dir, "zz@example.org", true,
	    err), DIRECTORY_ERROR_NOT_FOUND, "no account zz@example.org");
	FAILS(directory_admin_account_set_quota(dir, "zz@example.org", &q,
	    NULL, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no account zz@example.org");
	FAILS(directory_admin_account_del(dir, "zz@example.org", err),
	    DIRECTORY_ERROR_NOT_FOUND, "no account zz@example.org");

	OK(directory_admin_account_add(dir, "z@other.example", NULL, NULL, 0,
	    &idz, err));
	OK(directory_admin_account_list(dir, NULL, &list, &n, err));
	TEST_EQ_INT(n, 3);
	if (n == 3) {
		TEST_EQ_STR(list[0].address, "u1@example.org");
		TEST_EQ_STR(list[1].address, "u2@example.org");
		TEST_EQ_STR(list[2].address, "z@other.example");
	}
	directory_account_list_free(&list, n);
	OK(directory_admin_account_list(dir, "OTHER.example", &list, &n, err));
	TEST_EQ_INT(n, 1);
	directory_account_list_free(&list, n);
	FAILS(directory_admin_account_list(dir, "nowhere.example", &list, &n,
	    err), DIRECTORY_ERROR_NOT_FOUND, "no domain nowhere.example");

	/* Deleting an account takes it out of aliases (in any form), drops
	   aliases left empty, and never hands its id out again. */
	OK(directory_admin_alias_add(dir, "both@example.org", two, 2,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "one@example.org", u1, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "tagged@other.example", u1tag, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    "u1@example.org", err));
	OK(directory_admin_account_set_enabled(dir, "u1@example.org", true,
	    err));
	RESOLVES(dir, "tagged@other.example", false,
	    "LOCAL u1@example.org#x");
	OK(directory_admin_account_del(dir, "u1@example.org", err));
	RESOLVES(dir, "both@example.org", false, "LOCAL u2@example.org");
	FAILS(directory_admin_alias_get(dir, "one@example.org",
	    &(struct directory_alias){ 0 }, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no alias one@example.org");
	FAILS(directory_admin_alias_get(dir, "tagged@other.example",
	    &(struct directory_alias){ 0 }, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no alias tagged@other.example");
	{
		char *value = (char *)"unset";

		OK(directory_admin_setting_get(dir,
		    DIRECTORY_SETTING_CATCHALL_MAILBOX, &value, err));
		TEST_ASSERT(value == NULL);
	}
	/* With the highest id gone too, a plain rowid would hand it out
	   again; AUTOINCREMENT does not. */
	OK(directory_admin_account_del(dir, "z@other.example", err));
	OK(directory_admin_account_add(dir, "u1@example.org", NULL, NULL, 0,
	    &id3, err));
	TEST_ASSERT(idz > id2 && id3 > idz);
	test_close(&dir);
}

static void
test_admin_aliases(void)
{
	struct directory *dir = test_open();
	struct directory_alias al, *list = NULL;
	size_t n = 0;
	static const char *const ext[] = { "Some.One@Remote.Example" };
	static const char *const ext2[] = { "some.one@remote.example",
		"u@example.org" };
	static const char *const dangling[] = { "ghost@example.org" };
	static const char *const dangling_tag[] = { "ghost+t@example.org" };
	static const char *const u_tag[] = { "u+t@example.net" };
	static const char *const twice[] = { "u@example.org", "U@Example.org" };
	static const char *const self[] = { "self@example.org" };
	static const char *const u[] = { "u@example.org" };
	static const char *const bad[] = { "not an address" };
	char *value = NULL;

	OK(directory_admin_domain_add(dir, "example.org", err));
	OK(directory_admin_alias_domain_add(dir, "example.net", "example.org",
	    err));
	OK(directory_admin_account_add(dir, "u@example.org", NULL, NULL, 0,
	    NULL, err));

	FAILS(directory_admin_alias_add(dir, "a@example.org", ext, 0,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_INVALID,
	    "an alias needs at least one destination");
	FAILS(directory_admin_alias_add(dir, "a@example.org", dangling, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_NOT_FOUND,
	    "destination ghost@example.org: no such account or alias");
	FAILS(directory_admin_alias_add(dir, "a@example.org", dangling_tag, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_NOT_FOUND,
	    "destination ghost+t@example.org: no such account or alias");
	FAILS(directory_admin_alias_add(dir, "a@example.org", twice, 2,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_INVALID,
	    "destination u@example.org given twice");
	FAILS(directory_admin_alias_add(dir, "self@example.org", self, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_INVALID,
	    "alias self@example.org cannot point to itself "
	    "(no account self@example.org)");
	FAILS(directory_admin_alias_add(dir, "a@example.org", bad, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_INVALID,
	    "invalid destination not\\x20an\\x20address: missing @");
	FAILS(directory_admin_alias_add(dir, "a@example.net", u, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_INVALID,
	    "example.net is an alias domain of example.org; use example.org");
	FAILS(directory_admin_alias_add(dir, "a@nowhere.example", u, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no domain nowhere.example");
	FAILS(directory_admin_alias_add(dir, "a@*", dangling, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_NOT_FOUND,
	    "destination ghost@example.org: no such account or alias");

	/* Create, then add to it; local destinations are normalised, the
	   case of external local parts is kept. */
	OK(directory_admin_alias_add(dir, "A@Example.org", ext, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	FAILS(directory_admin_alias_add(dir, "a@example.org", ext, 1,
	    DIRECTORY_ALIAS_KEEP, err), DIRECTORY_ERROR_EXISTS,
	    "alias a@example.org already has destination "
	    "Some.One@remote.example");
	OK(directory_admin_alias_add(dir, "a@example.org", ext2, 2,
	    DIRECTORY_ALIAS_INTERNAL, err));
	OK(directory_admin_alias_add(dir, "a@example.org", u_tag, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_get(dir, "a@EXAMPLE.org", &al, err));
	TEST_EQ_STR(al.source, "a@example.org");
	TEST_ASSERT(al.internal);
	TEST_EQ_INT(al.n_destinations, 4);
	if (al.n_destinations == 4) {
		TEST_EQ_STR(al.destinations[0], "Some.One@remote.example");
		TEST_EQ_STR(al.destinations[1], "some.one@remote.example");
		TEST_EQ_STR(al.destinations[2], "u@example.org");
		TEST_EQ_STR(al.destinations[3], "u+t@example.net");
	}
	directory_alias_clear(&al);
	/* A failed add changes nothing, not even the visibility. */
	FAILS(directory_admin_alias_add(dir, "a@example.org", twice, 2,
	    DIRECTORY_ALIAS_PUBLIC, err), DIRECTORY_ERROR_INVALID,
	    "destination u@example.org given twice");
	OK(directory_admin_alias_get(dir, "a@example.org", &al, err));
	TEST_ASSERT(al.internal);
	TEST_EQ_INT(al.n_destinations, 4);
	directory_alias_clear(&al);
	OK(directory_admin_alias_add(dir, "b@example.org", u, 1,
	    DIRECTORY_ALIAS_KEEP, err));
	OK(directory_admin_alias_add(dir, "info@*", u, 1, DIRECTORY_ALIAS_KEEP,
	    err));

	OK(directory_admin_alias_list(dir, NULL, &list, &n, err));
	TEST_EQ_INT(n, 3);
	if (n == 3) {
		TEST_EQ_STR(list[0].source, "a@example.org");
		TEST_EQ_STR(list[1].source, "b@example.org");
		TEST_EQ_STR(list[2].source, "info@*");
	}
	directory_alias_list_free(&list, n);
	OK(directory_admin_alias_list(dir, "example.org", &list, &n, err));
	TEST_EQ_INT(n, 2);
	directory_alias_list_free(&list, n);

	/* Deleting destinations, any case of a local one. */
	FAILS(directory_admin_alias_del(dir, "a@example.org",
	    "nobody@example.org", err), DIRECTORY_ERROR_NOT_FOUND,
	    "alias a@example.org has no destination nobody@example.org");
	FAILS(directory_admin_alias_del(dir, "zz@example.org", NULL, err),
	    DIRECTORY_ERROR_NOT_FOUND, "no alias zz@example.org");
	OK(directory_admin_alias_del(dir, "a@example.org", "U@EXAMPLE.ORG",
	    err));
	OK(directory_admin_alias_del(dir, "a@example.org",
	    "Some.One@Remote.Example", err));
	OK(directory_admin_alias_get(dir, "a@example.org", &al, err));
	TEST_EQ_INT(al.n_destinations, 2);
	directory_alias_clear(&al);
	RESOLVES(dir, "a@example.org", true,
	    "LOCAL u@example.org#t >some.one@remote.example");
	OK(directory_admin_alias_add(dir, "a@example.org", u, 1,
	    DIRECTORY_ALIAS_PUBLIC, err));
	RESOLVES(dir, "a@example.org", false,
	    "LOCAL u@example.org#t >some.one@remote.example");
	/* The last destination takes the alias with it. */
	OK(directory_admin_alias_del(dir, "b@example.org", "u@example.org",
	    err));
	FAILS(directory_admin_alias_get(dir, "b@example.org", &al, err),
	    DIRECTORY_ERROR_NOT_FOUND, "no alias b@example.org");
	OK(directory_admin_alias_del(dir, "info@*", NULL, err));
	OK(directory_admin_alias_list(dir, NULL, &list, &n, err));
	TEST_EQ_INT(n, 1);
	directory_alias_list_free(&list, n);

	/* Settings. */
	FAILS(directory_admin_setting_set(dir, "no_such", "x", err),
	    DIRECTORY_ERROR_INVALID, "unknown setting no_such");
	FAILS(directory_admin_setting_set(dir,
	    DIRECTORY_SETTING_CATCHALL_MAILBOX, "ghost@example.org", err),
	    DIRECTORY_ERROR_NOT_FOUND, "no account ghost@example.org");
	FAILS(directory_admin_setting_get(dir, "no_such", &value, err),
	    DIRECTORY_ERROR_INVALID, "unknown setting no_such");
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    "U@example.org", err));
	OK(directory_admin_setting_get(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    &value, err));
	TEST_EQ_STR(value, "u@example.org");
	free(value);
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    NULL, err));
	OK(directory_admin_setting_set(dir, DIRECTORY_SETTING_CATCHALL_MAILBOX,
	    NULL, err));
	test_close(&dir);
}

/* Account forwarding: destinations resolved like an alias's, a copy kept
   only with keep, loops between forwarding accounts cut; plus mode and
   quota carried on the delivery. */
static void
test_resolve_forward(void)
{
	struct directory *dir = test_open();
	struct directory_account acct;
	struct directory_resolution res;
	static const char *const out[] = { "Far@Remote.Example" };
	static const char *const to_b[] = { "b@example.org" };
	static const char *const to_a[] = { "a@example.org", "x@remote.example" };
	static const char *const self[] = { "a@example.org" };
	uint64_t q = 1000;

	OK(directory_admin_domain_add(dir, "example.org", err));
	OK(directory_admin_account_add(dir, "a@example.org", NULL, NULL, 0,
	    NULL, err));
	OK(directory_admin_account_add(dir, "b@example.org", NULL, NULL, 0,
	    NULL, err));
	FAILS(directory_admin_account_set_forward(dir, "a@example.org", self,
	    1, false, err), DIRECTORY_ERROR_INVALID,
	    "a@example.org cannot forward to itself (use --keep)");
	FAILS(directory_admin_account_set_forward(dir, "nobody@example.org",
	    out, 1, false, err), DIRECTORY_ERROR_NOT_FOUND,
	    "no account nobody@example.org");

	OK(directory_admin_account_set_forward(dir, "a@example.org", out, 1,
	    false, err));
	RESOLVES(dir, "a@example.org", false, "LOCAL >far@remote.example");
	RESOLVES(dir, "a+t@example.org", false, "LOCAL >far@remote.example");
	OK(directory_admin_account_set_forward(dir, "a@example.org", out, 1,
	    true, err));
	RESOLVES(dir, "a+t@example.org", false,
	    "LOCAL a@example.org#t >far@remote.example");
	OK(directory_admin_account_get(dir, "a@example.org", &acct, err));
	TEST_EQ_STR(acct.forward, "far@remote.example");
	TEST_ASSERT(acct.forward_keep);
	directory_account_clear(&acct);

	/* a -> b, b -> a and x: each account delivered once, no loop. */
	OK(directory_admin_account_set_forward(dir, "a@example.org", to_b, 1,
	    false, err));
	OK(directory_admin_account_set_forward(dir, "b@example.org", to_a, 2,
	    false, err));
	RESOLVES(dir, "a@example.org", false,
	    "LOCAL a@example.org >x@remote.example");
	OK(directory_admin_account_set_forward(dir, "b@example.org", NULL, 0,
	    false, err));
	RESOLVES(dir, "a@example.org", false, "LOCAL b@example.org");
	OK(directory_admin_account_get(dir, "b@example.org", &acct, err));
	TEST_ASSERT(acct.forward == NULL && !acct.forward_keep);
	directory_account_clear(&acct);

	FAILS(directory_admin_account_set_plus_mode(dir, "b@example.org",
	    "bogus", err), DIRECTORY_ERROR_INVALID,
	    "plus mode must be ignore, folder or subject, not \"bogus\"");
	OK(directory_admin_account_set_plus_mode(dir, "b@example.org",
	    "folder", err));
	OK(directory_admin_account_set_quota(dir, "b@example.org", &q, NULL,
	    err));
	directory_resolve(dir, "b+news@example.org", false, &res);
	TEST_EQ_INT(res.n_deliveries, 1);
	TEST_EQ_INT(res.deliveries[0].plus_mode, DIRECTORY_PLUS_FOLDER);
	TEST_EQ_INT(res.deliveries[0].quota_bytes, 1000);
	TEST_EQ_STR(res.deliveries[0].tag, "news");
	directory_resolution_clear(&res);
	test_close(&dir);
}

int
main(void)
{
	TEST_RUN(test_address);
	TEST_RUN(test_address_limits);
	TEST_RUN(test_open_create);
	TEST_RUN(test_resolve_basic);
	TEST_RUN(test_resolve_aliases);
	TEST_RUN(test_resolve_plus);
	TEST_RUN(test_resolve_wildcard_catchall);
	TEST_RUN(test_resolve_internal_disabled);
	TEST_RUN(test_resolve_loops);
	TEST_RUN(test_resolve_tempfail);
	TEST_RUN(test_live_changes);
	TEST_RUN(test_resolve_utf8);
	TEST_RUN(test_admin_domains);
	TEST_RUN(test_admin_accounts);
	TEST_RUN(test_admin_aliases);
	TEST_RUN(test_resolve_forward);
	return test_done();
}
