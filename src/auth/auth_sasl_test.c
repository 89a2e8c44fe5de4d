/* auth_sasl_test.c — base64 against the RFC 4648 §10 vectors and its
   strictness edges, PLAIN against RFC 4616 §4's examples and every
   malformed shape, LOGIN responses, and random bytes through the decoders
   (ASan/UBSan watch the bounds). */
#include "auth/auth_sasl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/test.h"

static void
test_base64_vectors(void)
{
	/* RFC 4648 §10. */
	static const struct {
		const char *plain, *b64;
	} cases[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "Username:", AUTH_SASL_LOGIN_USERNAME },
		{ "Password:", AUTH_SASL_LOGIN_PASSWORD },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char out[16];
		char enc[32];
		size_t n = 99, plen = strlen(cases[i].plain);

		TEST_EQ_INT(base64_decode(cases[i].b64,
		    strlen(cases[i].b64), out, sizeof(out), &n), 0);
		TEST_EQ_INT(n, plen);
		TEST_ASSERT(memcmp(out, cases[i].plain, plen) == 0);
		TEST_EQ_INT(base64_encode(cases[i].plain, plen, enc,
		    sizeof(enc)), strlen(cases[i].b64));
		TEST_EQ_STR(enc, cases[i].b64);
	}
}

static void
test_base64_strict(void)
{
	static const char *const bad[] = {
		"Zg",		/* no padding */
		"Zg=",		/* short padding */
		"Zh==",		/* non-zero bits under the padding */
		"Zm9=",		/* the same with one '=' */
		"Z===",		/* '=' in the second place */
		"====",
		"Zm=v",		/* data after '=' */
		"Zg==Zg==",	/* padding before the end */
		"Zm9 v",	/* space */
		"Zm9v\r\n",
		"Zm9-",		/* URL alphabet */
		"Zm9_",
		"Zm9v=",
		"\xffm9v",
		"Zm\0v",
	};
	unsigned char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			len = 4;	/* the embedded NUL */
		if (base64_decode(bad[i], len, out, sizeof(out),
		    &n) != -1)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"",
			    bad[i]);
	}
	/* Output space is checked. */
	TEST_EQ_INT(base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	TEST_EQ_INT(base64_decode("Zm9vYmE=", 8, out, 5, &n), 0);
	TEST_EQ_INT(n, 5);
	/* Every byte value survives a round trip. */
	{
		unsigned char all[256], back[256];
		char enc[400];

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		size_t e = base64_encode(all, 256, enc, sizeof(enc));
		TEST_EQ_INT(e, 344);
		TEST_EQ_INT(base64_decode(enc, e, back, sizeof(back),
		    &n), 0);
		TEST_EQ_INT(n, 256);
		TEST_ASSERT(memcmp(all, back, 256) == 0);
	}
}

/* base64 of len bytes of raw. */
static char *
b64(const void *raw, size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	base64_encode(raw, len, out, cap);
	return out;
}

static void
test_plain(void)
{
	static const struct {
		const char *raw;
		size_t len;
		int want;
		const char *authzid, *authcid, *passwd;
	} cases[] = {
		/* RFC 4616 §4. */
		{ "\0tim\0tanstaaftanstaaf", 21, 0, "", "tim",
		  "tanstaaftanstaaf" },
		{ "Ursel\0Kurt\0xipj3plmq", 20, 0, "Ursel", "Kurt",
		  "xipj3plmq" },
		/* Spaces and 8-bit in the password; UTF-8 identity. */
		{ "\0b\xc3\xb6@x.example\0p w\xe9", 19, 0, "",
		  "b\xc3\xb6@x.example", "p w\xe9" },
		{ "\0bob\0", 5, -1, NULL, NULL, NULL },		/* no passwd */
		{ "\0\0pw", 4, -1, NULL, NULL, NULL },		/* no authcid */
		{ "bob\0pw", 6, -1, NULL, NULL, NULL },		/* one NUL */
		{ "\0bob\0p\0w", 8, -1, NULL, NULL, NULL },	/* NUL in pw */
		{ "", 0, -1, NULL, NULL, NULL },
		{ "\0b\xffob\0pw", 8, -1, NULL, NULL, NULL },	/* not UTF-8 */
		{ "\0b\rob\0pw", 8, -1, NULL, NULL, NULL },	/* control */
		{ "\x01\0bob\0pw", 8, -1, NULL, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_sasl_plain p;
		const char *error = NULL;
		char *enc = b64(cases[i].raw, cases[i].len);
		int ret = auth_sasl_plain_decode(enc, strlen(enc), &p, &error);

		if (ret != cases[i].want)
			test_fail(__FILE__, __LINE__, "case %zu: got %d want "
			    "%d (%s)", i, ret, cases[i].want,
			    error != NULL ? error : "");
		if (ret == 0 && cases[i].want == 0) {
			TEST_EQ_STR(p.authzid, cases[i].authzid);
			TEST_EQ_STR(p.authcid, cases[i].authcid);
			TEST_EQ_STR(p.passwd, cases[i].passwd);
			TEST_EQ_INT(p.passwd_len, strlen(cases[i].passwd));
		}
		if (ret == -1) {
			TEST_ASSERT(error != NULL);
			/* Wiped on failure. */
			TEST_EQ_STR(p.passwd, "");
			TEST_EQ_STR(p.authcid, "");
		}
		auth_sasl_plain_clear(&p);
		TEST_EQ_INT(p.passwd_len, 0);
		free(enc);
	}
}

static void
test_plain_lengths(void)
{
	char raw[AUTH_SASL_PLAIN_MAX + 8];
	struct auth_sasl_plain p;
	const char *error;
	char *enc;

	/* 255 octets in each field: the longest valid message. */
	memset(raw, 'a', sizeof(raw));
	raw[255] = '\0';
	raw[511] = '\0';
	enc = b64(raw, AUTH_SASL_PLAIN_MAX);
	TEST_EQ_INT(strlen(enc), AUTH_SASL_PLAIN_B64_MAX);
	TEST_EQ_INT(auth_sasl_plain_decode(enc, strlen(enc), &p, &error), 0);
	TEST_EQ_INT(strlen(p.authzid), 255);
	TEST_EQ_INT(strlen(p.authcid), 255);
	TEST_EQ_INT(p.passwd_len, 255);
	free(enc);
	/* 256 in the password. */
	enc = b64(raw, AUTH_SASL_PLAIN_MAX + 1);
	TEST_EQ_INT(auth_sasl_plain_decode(enc, strlen(enc), &p, &error), -1);
	free(enc);
	/* 256 in the authcid (the password shorter to stay in size). */
	raw[511] = 'a';
	raw[512] = '\0';
	enc = b64(raw, 600);
	TEST_EQ_INT(auth_sasl_plain_decode(enc, strlen(enc), &p, &error), -1);
	TEST_EQ_STR(error, "field over 255 octets");
	free(enc);
	/* Too long to decode at all. */
	enc = malloc(AUTH_SASL_PLAIN_B64_MAX + 4);
	TEST_ASSERT(enc != NULL);
	memset(enc, 'A', AUTH_SASL_PLAIN_B64_MAX + 4);
	TEST_EQ_INT(auth_sasl_plain_decode(enc, AUTH_SASL_PLAIN_B64_MAX + 4,
	    &p, &error), -1);
	free(enc);
	TEST_EQ_STR(error, "response too long");
	auth_sasl_plain_clear(&p);
}

static void
test_plain_authzid(void)
{
	static const struct {
		const char *authzid, *authcid;
		bool ok;
	} cases[] = {
		{ "", "bob@example.org", true },
		{ "bob@example.org", "bob@example.org", true },
		{ "Bob@Example.ORG", "bob@example.org", true },
		{ "alice@example.org", "bob@example.org", false },
		{ "bob@example.or", "bob@example.org", false },
		{ "bob@example.orgx", "bob@example.org", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct auth_sasl_plain p;

		memset(&p, 0, sizeof(p));
		strcpy(p.authzid, cases[i].authzid);
		strcpy(p.authcid, cases[i].authcid);
		TEST_EQ_INT(auth_sasl_plain_authzid_ok(&p), cases[i].ok);
	}
}

static void
test_login(void)
{
	char out[AUTH_SASL_FIELD_MAX + 1], long_raw[300];
	const char *error;
	size_t n;
	char *enc;

	TEST_EQ_INT(auth_sasl_login_decode("Ym9i", 4, false, out, &n,
	    &error), 0);
	TEST_EQ_STR(out, "bob");
	TEST_EQ_INT(n, 3);
	/* "p\x01w": a control byte is fine in a password, not in a name. */
	TEST_EQ_INT(auth_sasl_login_decode("cAF3", 4, true, out, &n, &error),
	    0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_INT(auth_sasl_login_decode("cAF3", 4, false, out, &n,
	    &error), -1);
	TEST_EQ_STR(out, "");
	/* "p\0w" */
	TEST_EQ_INT(auth_sasl_login_decode("cAB3", 4, true, out, &n, &error),
	    -1);
	TEST_EQ_STR(error, "NUL in the response");
	TEST_EQ_INT(auth_sasl_login_decode("", 0, true, out, &n, &error), -1);
	TEST_EQ_INT(auth_sasl_login_decode("cA", 2, true, out, &n, &error),
	    -1);
	memset(long_raw, 'x', sizeof(long_raw));
	enc = b64(long_raw, 255);
	TEST_EQ_INT(auth_sasl_login_decode(enc, strlen(enc), true, out, &n,
	    &error), 0);
	TEST_EQ_INT(n, 255);
	free(enc);
	enc = b64(long_raw, 256);
	TEST_EQ_INT(auth_sasl_login_decode(enc, strlen(enc), true, out, &n,
	    &error), -1);
	free(enc);
	TEST_ASSERT(auth_sasl_is_cancel("*", 1));
	TEST_ASSERT(!auth_sasl_is_cancel("**", 2));
	TEST_ASSERT(!auth_sasl_is_cancel("", 0));
}

/* Random base64-ish input: every outcome is clean. */
static void
test_random(void)
{
	static const char alphabet[] =
	    "ABCDabcd0189+/=AAAAAAAA\0\x01 *";
	uint32_t seed = 4242;

	for (int round = 0; round < 20000; round++) {
		char in[64];
		size_t len;
		struct auth_sasl_plain p;
		char out[AUTH_SASL_FIELD_MAX + 1];
		const char *error;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(in);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		if (auth_sasl_plain_decode(in, len, &p, &error) == 0)
			TEST_ASSERT(p.authcid[0] != '\0' && p.passwd_len > 0);
		auth_sasl_plain_clear(&p);
		if (auth_sasl_login_decode(in, len, round & 1, out, &n,
		    &error) == 0)
			TEST_ASSERT(n > 0 && strlen(out) == n);
	}
}

int
main(void)
{
	TEST_RUN(test_base64_vectors);
	TEST_RUN(test_base64_strict);
	TEST_RUN(test_plain);
	TEST_RUN(test_plain_lengths);
	TEST_RUN(test_plain_authzid);
	TEST_RUN(test_login);
	TEST_RUN(test_random);
	return test_done();
}
