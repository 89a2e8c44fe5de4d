/* outbound_sts_test.c — MTA-STS syntax (RFC 8461 §3.1, §3.2, §4.1). */
#include <string.h>

#include "lib/test.h"
#include "outbound/outbound_private.h"

static void
test_txt_id(void)
{
	static const struct {
		const char *txt;
		const char *id;		/* NULL: refused */
	} cases[] = {
		{ "v=STSv1; id=20160831085700Z;", "20160831085700Z" },
		{ "v=STSv1;id=abc", "abc" },
		{ "v=STSv1; foo=bar; id=X1 ", "X1" },
		{ "v=STSv1; id=0123456789abcdef0123456789abcdef",
		  "0123456789abcdef0123456789abcdef" },
		{ "v=STSv1; id=0123456789abcdef0123456789abcdef0", NULL },
		{ "v=STSv1; id=a-b", NULL },
		{ "v=STSv1; id=", NULL },
		{ "v=STSv1;", NULL },
		{ "id=abc; v=STSv1", NULL },	/* v= must come first */
		{ "v=spf1 -all", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[33] = "";
		int rc = outbound_sts_txt_id(cases[i].txt,
		    strlen(cases[i].txt), id);

		TEST_EQ_INT(rc, cases[i].id ? 0 : -1);
		if (cases[i].id != NULL && rc == 0)
			TEST_EQ_STR(id, cases[i].id);
	}
}

static void
test_policy(void)
{
	static const char rfc[] = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mail.example.com\r\nmx: *.example.net\r\n"
	    "mx: backupmx.example.com\r\nmax_age: 604800\r\n";
	struct outbound_sts_policy p;
	const char *error = NULL;

	/* RFC 8461 §3.2's example. */
	TEST_EQ_INT(outbound_sts_policy_parse(rfc, strlen(rfc), &p, &error),
	    0);
	TEST_EQ_INT(p.mode, OUTBOUND_STS_ENFORCE);
	TEST_EQ_INT(p.max_age, 604800);
	TEST_EQ_INT(p.n_mx, 3);
	TEST_ASSERT(outbound_sts_policy_match(&p, "mail.example.com"));
	TEST_ASSERT(outbound_sts_policy_match(&p, "MAIL.Example.COM."));
	TEST_ASSERT(outbound_sts_policy_match(&p, "mx1.example.net"));
	/* §4.1: the wildcard is one label, and not the bare domain. */
	TEST_ASSERT(!outbound_sts_policy_match(&p, "a.b.example.net"));
	TEST_ASSERT(!outbound_sts_policy_match(&p, "example.net"));
	TEST_ASSERT(!outbound_sts_policy_match(&p, ".example.net"));
	TEST_ASSERT(!outbound_sts_policy_match(&p, "evilexample.net"));
	TEST_ASSERT(!outbound_sts_policy_match(&p, "mail.example.com.evil"));
	TEST_EQ_STR(outbound_sts_mode_name(p.mode), "enforce");
	outbound_sts_policy_clear(&p);

	static const char lf[] = "mode:testing\nversion:STSv1\nextra: x\n"
	    "mx: MX.Remote.Example.\nmax_age:0";
	TEST_EQ_INT(outbound_sts_policy_parse(lf, strlen(lf), &p, &error), 0);
	TEST_EQ_INT(p.mode, OUTBOUND_STS_TESTING);
	TEST_EQ_STR(p.mx[0], "mx.remote.example");
	outbound_sts_policy_clear(&p);

	static const char none[] = "version: STSv1\nmode: none\nmax_age: 1\n";
	TEST_EQ_INT(outbound_sts_policy_parse(none, strlen(none), &p, &error),
	    0);
	TEST_EQ_INT(p.mode, OUTBOUND_STS_NONE);
	outbound_sts_policy_clear(&p);

	static const char *const bad[] = {
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",	/* no mx */
		"version: STSv1\nmode: enforce\nmx: a.example\n", /* no age */
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		    "max_age: 31557601\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nno colon\nmax_age: 1\n",
		"<html>not a policy</html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		TEST_EQ_INT(outbound_sts_policy_parse(bad[i], strlen(bad[i]),
		    &p, &error), -1);
		TEST_ASSERT(error != NULL && p.mx == NULL && p.n_mx == 0);
	}
	/* NUL inside, and the size cap. */
	static const char nul[] = "version: STSv1\nmode: none\0x\nmax_age: 1\n";
	TEST_EQ_INT(outbound_sts_policy_parse(nul, sizeof(nul) - 1, &p,
	    &error), -1);
	TEST_EQ_INT(outbound_sts_policy_parse(rfc,
	    OUTBOUND_STS_MAX_POLICY + 1, &p, &error), -1);
}

int
main(void)
{
	TEST_RUN(test_txt_id);
	TEST_RUN(test_policy);
	return test_done();
}
