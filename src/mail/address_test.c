/* address_test.c — unit tests for the RFC 5321 mailbox parser: valid and
   hostile mailboxes, size limits at their edges (U-labels measured on
   their Punycode form), printing and plus-address splitting. */
#include "mail/address.h"

#include <stdlib.h>
#include <string.h>

#include "lib/test.h"
#include "lib/xmalloc.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;
	bool utf8;		/* allow_utf8 */
	int want;
	const char *local, *domain;
	const char *error;	/* when want is -1, or NULL to skip */
} parse_cases[] = {
	{ "a@b.example", false, 0, "a", "b.example", NULL },
	{ "User.Name@Example.ORG", false, 0, "User.Name", "example.org", NULL },
	{ "a.b.c@x", false, 0, "a.b.c", "x", NULL },
	{ "!#$%&'*+-/=?^_`{|}~@x.example", false, 0,
	    "!#$%&'*+-/=?^_`{|}~", "x.example", NULL },
	{ "\"x y\"@b.example", false, 0, "x y", "b.example", NULL },
	{ "\"a@b\"@c.example", false, 0, "a@b", "c.example", NULL },
	{ "\"a\\\"b\\\\c\"@x", false, 0, "a\"b\\c", "x", NULL },
	{ "\"\\a\"@x", false, 0, "a", "x", NULL },
	{ "\"a..b\"@x", false, 0, "a..b", "x", NULL },
	{ "\"a>b\"@x", false, 0, "a>b", "x", NULL },
	{ "postmaster@[192.0.2.1]", false, 0, "postmaster", "[192.0.2.1]", NULL },
	{ "a@[IPv6:2001:DB8::1]", false, 0, "a", "[IPv6:2001:db8::1]", NULL },
	{ "a@[ipv6:2001:db8:0:0:0:0:0:1]", false, 0, "a",
	    "[IPv6:2001:db8::1]", NULL },
	{ "a@[IPv6:::ffff:192.0.2.1]", false, 0, "a",
	    "[IPv6:::ffff:192.0.2.1]", NULL },
	{ "a@1.2.3.4", false, 0, "a", "1.2.3.4", NULL },
	{ "a@xn--bcher-kva.example", false, 0, "a", "xn--bcher-kva.example",
	    NULL },
	{ "a@b-c.d-e", false, 0, "a", "b-c.d-e", NULL },
	{ "a@a--b", false, 0, "a", "a--b", NULL },
	/* RFC 6531 */
	{ "j\xc3\xb6rg@b\xc3\xbc" "cher.example", true, 0,
	    "j\xc3\xb6rg", "b\xc3\xbc" "cher.example", NULL },
	{ "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	    "\xe5\x91\x8a", true, 0, "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", NULL },
	{ "a@B\xc3\xbc" "CHER.example", true, 0, "a",
	    "b\xc3\xbc" "cher.example", NULL },	/* only ASCII lowered */
	{ "\"\xc3\xa9 x\"@x", true, 0, "\xc3\xa9 x", "x", NULL },
	{ "\xf0\x9f\x99\x82@x", true, 0, "\xf0\x9f\x99\x82", "x", NULL },
	{ "j\xc3\xb6rg@x", false, -1, NULL, NULL,
	    "non-ASCII address without SMTPUTF8" },
	{ "a@b\xc3\xbc" "cher.example", false, -1, NULL, NULL,
	    "non-ASCII address without SMTPUTF8" },
	{ "\xc3@x", true, -1, NULL, NULL, "invalid UTF-8 in address" },
	{ "\xc0\xaf@x", true, -1, NULL, NULL, "invalid UTF-8 in address" },
	{ "\xe0\x80\xaf@x", true, -1, NULL, NULL, "invalid UTF-8 in address" },
	{ "\xed\xa0\x80@x", true, -1, NULL, NULL, "invalid UTF-8 in address" },
	{ "\xf4\x90\x80\x80@x", true, -1, NULL, NULL,
	    "invalid UTF-8 in address" },
	{ "\xf8\x88\x80\x80\x80@x", true, -1, NULL, NULL,
	    "invalid UTF-8 in address" },
	{ "\xc2\x85@x", true, -1, NULL, NULL, "invalid UTF-8 in address" },
	{ "a@\xc3\xbc", true, 0, "a", "\xc3\xbc", NULL },
	{ "a@[\xc3\xbc]", true, -1, NULL, NULL, "invalid address literal" },
	/* hostile and malformed */
	{ "", false, -1, NULL, NULL, "empty address" },
	{ "@x", false, -1, NULL, NULL, "empty local part" },
	{ "\"\"@x", false, -1, NULL, NULL, "empty local part" },
	{ "a", false, -1, NULL, NULL, "missing domain" },
	{ "a@", false, -1, NULL, NULL, "empty domain" },
	{ "\"a\"", false, -1, NULL, NULL, "missing domain" },
	{ "\"a\"b@x", false, -1, NULL, NULL,
	    "invalid character after quoted local part" },
	{ "a\"b\"@x", false, -1, NULL, NULL, "invalid character in local part" },
	{ "\"a@x", false, -1, NULL, NULL, "unterminated quoted string" },
	{ "\"a\\", false, -1, NULL, NULL, "unterminated quoted string" },
	{ "\"a\\\"@x", false, -1, NULL, NULL, "unterminated quoted string" },
	{ "\"a\\\x01\"@x", false, -1, NULL, NULL, "invalid quoted-pair" },
	{ "\"a\\\xc3\xa9\"@x", true, -1, NULL, NULL, "invalid quoted-pair" },
	{ "\"a\x01\"@x", false, -1, NULL, NULL,
	    "invalid character in quoted local part" },
	{ "\"a\x7f\"@x", false, -1, NULL, NULL,
	    "invalid character in quoted local part" },
	{ "\"a\tb\"@x", false, -1, NULL, NULL,
	    "invalid character in quoted local part" },
	{ ".a@x", false, -1, NULL, NULL, "misplaced dot in local part" },
	{ "a.@x", false, -1, NULL, NULL, "misplaced dot in local part" },
	{ "a..b@x", false, -1, NULL, NULL, "misplaced dot in local part" },
	{ "a.", false, -1, NULL, NULL, "misplaced dot in local part" },
	{ "a b@x", false, -1, NULL, NULL, "invalid character in local part" },
	{ "a(b)@x", false, -1, NULL, NULL, "invalid character in local part" },
	{ "a\r\n@x", false, -1, NULL, NULL, "invalid character in local part" },
	{ "<a@x>", false, -1, NULL, NULL, "invalid character in local part" },
	{ "a@b@c", false, -1, NULL, NULL, "invalid character in domain" },
	{ "a@b..c", false, -1, NULL, NULL, "empty domain label" },
	{ "a@.b", false, -1, NULL, NULL, "empty domain label" },
	{ "a@b.", false, -1, NULL, NULL, "empty domain label" },
	{ "a@-b", false, -1, NULL, NULL,
	    "hyphen at start or end of domain label" },
	{ "a@b-.c", false, -1, NULL, NULL,
	    "hyphen at start or end of domain label" },
	{ "a@b_c", false, -1, NULL, NULL, "invalid character in domain" },
	{ "a@b c", false, -1, NULL, NULL, "invalid character in domain" },
	{ "a@b>", false, -1, NULL, NULL, "invalid character in domain" },
	{ "a@[]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[1.2.3.4", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[1.2.3.4]x", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[1.2.3.256]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[1.2.3]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[01.2.3.4]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[ 1.2.3.4]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[IPv6:]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[IPv6:1.2.3.4]", false, -1, NULL, NULL, "invalid address literal" },
	{ "a@[IPv6:2001:db8:::1]", false, -1, NULL, NULL,
	    "invalid address literal" },
	{ "a@[IPv6:2001:db8::1%eth0]", false, -1, NULL, NULL,
	    "invalid address literal" },
	{ "a@[2001:db8::1]", false, -1, NULL, NULL,
	    "unsupported address literal" },
	{ "a@[x400:c=us]", false, -1, NULL, NULL,
	    "unsupported address literal" },
	{ "a@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0]", false, -1, NULL,
	    NULL, "invalid address literal" },
	{ "a@[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", false, 0,
	    "a", "[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]", NULL },
};

static void
test_parse_table(void)
{
	for (size_t i = 0; i < NCASES(parse_cases); i++) {
		struct address a;
		const char *error = NULL;
		const char *in = parse_cases[i].in;
		int ret = address_parse(in, strlen(in), parse_cases[i].utf8, &a,
		    &error);

		if (ret != parse_cases[i].want)
			fprintf(stderr, "case %zu \"%s\": error %s\n", i, in,
			    error ? error : "(none)");
		TEST_EQ_INT(ret, parse_cases[i].want);
		TEST_EQ_STR(a.local, parse_cases[i].local);
		TEST_EQ_STR(a.domain, parse_cases[i].domain);
		if (ret == -1 && parse_cases[i].error != NULL)
			TEST_EQ_STR(error, parse_cases[i].error);
		address_clear(&a);
	}
}

static void
test_flags(void)
{
	struct address a;
	const char *error;

	TEST_EQ_INT(address_parse("\"a b\"@[192.0.2.1]", 17, false, &a,
	    &error), 0);
	TEST_ASSERT(a.local_quoted);
	TEST_ASSERT(a.domain_is_literal);
	TEST_ASSERT(!a.is_utf8);
	TEST_ASSERT(!a.relay_hack);
	address_clear(&a);
	TEST_ASSERT(a.local == NULL && a.domain == NULL);

	TEST_EQ_INT(address_parse("j\xc3\xb6rg@x", 7, true, &a, &error), 0);
	TEST_ASSERT(a.is_utf8);
	TEST_ASSERT(!a.local_quoted);
	address_clear(&a);
	/* An ASCII address is ASCII even when UTF-8 would be allowed. */
	TEST_EQ_INT(address_parse("a@x", 3, true, &a, &error), 0);
	TEST_ASSERT(!a.is_utf8);
	address_clear(&a);
	address_clear(&a);	/* twice: a zeroed struct is fine */
}

static void
test_relay_hack(void)
{
	static const struct {
		const char *in;
		bool hack;
	} cases[] = {
		{ "a%b@c.example", true },
		{ "b!a@c.example", true },
		{ "\"a@b\"@c.example", true },
		{ "\"a%b\"@c.example", true },
		{ "a+b@c.example", false },
		{ "\"a b\"@c.example", false },
		{ "a=b@c.example", false },
	};
	for (size_t i = 0; i < NCASES(cases); i++) {
		struct address a;
		const char *error;

		TEST_EQ_INT(address_parse(cases[i].in, strlen(cases[i].in),
		    false, &a, &error), 0);
		TEST_EQ_INT(a.relay_hack, cases[i].hack);
		TEST_EQ_INT(address_local_is_relay_hack(a.local), cases[i].hack);
		address_clear(&a);
	}
}

/* NUL anywhere is refused, never a truncation point. */
static void
test_nul(void)
{
	static const char *const ins[] = { "a\0@x", "a@x\0", "\0a@x",
	    "\"a\0\"@x", "a@[1.2.3.4\0]" };
	static const size_t lens[] = { 4, 4, 4, 6, 12 };

	for (size_t i = 0; i < NCASES(ins); i++) {
		struct address a;
		const char *error = NULL;

		TEST_EQ_INT(address_parse(ins[i], lens[i], true, &a, &error), -1);
		TEST_EQ_STR(error, "NUL in address");
		TEST_ASSERT(a.local == NULL && a.domain == NULL);
	}
}

/* Parses s (a C string) and returns ret; fills *error_r. */
static int
parse_str(const char *s, bool utf8, const char **error_r)
{
	struct address a;
	int ret = address_parse(s, strlen(s), utf8, &a, error_r);

	address_clear(&a);
	return ret;
}

/* Parses s (heap, freed here): want_error NULL expects success, else a
   refusal with that error. */
static void
expect(char *s, bool utf8, const char *want_error)
{
	const char *error = NULL;

	TEST_EQ_INT(parse_str(s, utf8, &error), want_error == NULL ? 0 : -1);
	if (want_error != NULL)
		TEST_EQ_STR(error, want_error);
	free(s);
}

static char *
repeat(const char *unit, size_t n)
{
	size_t ulen = strlen(unit);
	char *s = xmalloc(ulen * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ulen, unit, ulen);
	s[ulen * n] = '\0';
	return s;
}

static void
test_limits(void)
{
	char *s, *lab63 = repeat("a", 63), *lab64 = repeat("a", 64);
	char *l64 = repeat("x", ADDRESS_MAX_LOCAL);
	char *l65 = repeat("x", ADDRESS_MAX_LOCAL + 1);

	/* local part: ADDRESS_MAX_LOCAL octets as written, quotes included */
	expect(xasprintf("%s@x", l64), false, NULL);
	expect(xasprintf("%s@x", l65), false, "local part too long");
	expect(xasprintf("\"%.*s\"@x", ADDRESS_MAX_LOCAL - 2, l64), false,
	    NULL);
	expect(xasprintf("\"%.*s\"@x", ADDRESS_MAX_LOCAL - 1, l64), false,
	    "local part too long");

	/* labels: 63 */
	expect(xasprintf("a@%s.example", lab63), false, NULL);
	expect(xasprintf("a@%s.example", lab64), false,
	    "domain label too long");

	/* path: 256 with the brackets, so the mailbox is at most 254 */
	s = xasprintf("a@%s.%s.%s.%.60s", lab63, lab63, lab63, lab63);
	TEST_EQ_INT(strlen(s), 254);
	expect(s, false, NULL);
	expect(xasprintf("ab@%s.%s.%s.%.60s", lab63, lab63, lab63, lab63),
	    false, "address too long");
	free(lab63);
	free(lab64);
	free(l64);
	free(l65);
}

/* U-labels count as their A-label: boundaries computed with an
   independent RFC 3492 encoder (Python's punycode codec). */
static void
test_ulabel_length(void)
{
	static const struct {
		const char *label;	/* followed by n 'a' */
		size_t n63;		/* n giving an A-label of 63 */
	} cases[] = {
		{ "\xc3\xbc", 55 },				/* ü */
		{ "\xe3\x83\x89\xe3\x83\xa1\xe3\x82\xa4\xe3\x83\xb3"
		    "\xe5\x90\x8d\xe4\xbe\x8b", 36 },		/* ドメイン名例 */
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 45 },	/* 日本語 */
		{ "B\xc3\xbc" "cher-\xce\xa9mega", 40 },	/* Bücher-Ωmega */
		{ "\xc4\x89" "e\xc4\xa5oslovakio", 42 },	/* ĉeĥoslovakio */
		{ "\xca\xbb\xc5\x8clelo", 47 },			/* ʻŌlelo */
		{ "\xe4\xb8\xad\xe6\x96\x87\xf0\x9f\x99\x82\xce\x95\xce\xbb"
		    "\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac", 26 },
	};
	for (size_t i = 0; i < NCASES(cases); i++) {
		char *as = repeat("a", cases[i].n63 + 1);

		expect(xasprintf("u@%s%.*s.example", cases[i].label,
		    (int)cases[i].n63, as), true, NULL);
		expect(xasprintf("u@%s%s.example", cases[i].label, as), true,
		    "domain label too long");
		free(as);
	}
	/* 22 × 例 is 66 octets of UTF-8 but only "xn--" + 24 in DNS. */
	char *s = repeat("\xe4\xbe\x8b", 22);
	expect(xasprintf("u@%s", s), true, NULL);
	free(s);

	/* Total domain length on the A-label form: 4 labels of ü×12 are
	   24 octets of UTF-8 each, but "xn--tdaaaaaaaaaaa" is 15; a label of
	   ü+55a (57 octets) is 63 in DNS. */
	char *a55 = repeat("a", 55);
	char *lab = xasprintf("\xc3\xbc%s", a55);	/* 57 octets, A 63 */
	/* 4 * 63 + 3 dots = 255, one more label 257 */
	expect(xasprintf("u@%s.%s.%s.%s", lab, lab, lab, lab), true, NULL);
	expect(xasprintf("u@%s.%s.%s.%s.a", lab, lab, lab, lab), true,
	    "domain too long");
	free(lab);
	free(a55);
}

static void
test_to_string(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a@B.Example", "a@b.example" },
		{ "\"abc\"@x", "abc@x" },
		{ "\"a b\"@x", "\"a b\"@x" },
		{ "\"a\\\"b\"@x", "\"a\\\"b\"@x" },
		{ "\"a\\\\b\"@x", "\"a\\\\b\"@x" },
		{ "\"\\x\"@x", "x@x" },
		{ "\"a..b\"@x", "\"a..b\"@x" },
		{ "\".a\"@x", "\".a\"@x" },
		{ "\"a.\"@x", "\"a.\"@x" },
		{ "\"a@b\"@x", "\"a@b\"@x" },
		{ "a.b@[IPv6:2001:DB8::1]", "a.b@[IPv6:2001:db8::1]" },
		{ "\"j\xc3\xb6rg\"@x", "j\xc3\xb6rg@x" },
	};
	for (size_t i = 0; i < NCASES(cases); i++) {
		struct address a, b;
		const char *error;
		char *s;

		TEST_EQ_INT(address_parse(cases[i].in, strlen(cases[i].in),
		    true, &a, &error), 0);
		s = address_to_string(&a);
		TEST_EQ_STR(s, cases[i].out);
		/* what we print parses back to the same address */
		TEST_EQ_INT(address_parse(s, strlen(s), true, &b, &error), 0);
		TEST_EQ_STR(b.local, a.local);
		TEST_EQ_STR(b.domain, a.domain);
		address_clear(&a);
		address_clear(&b);
		free(s);
	}
	TEST_ASSERT(address_local_needs_quotes(""));
	TEST_ASSERT(!address_local_needs_quotes("a.b"));
	TEST_ASSERT(!address_local_needs_quotes("\xc3\xa9"));
}

static void
test_split_plus(void)
{
	static const struct {
		const char *local;
		bool has_tag;
		const char *base, *tag;
	} cases[] = {
		{ "user+tag", true, "user", "tag" },
		{ "user+", true, "user", "" },
		{ "a+b+c", true, "a", "b+c" },
		{ "user", false, "user", NULL },
		{ "+tag", false, "+tag", NULL },
		{ "+", false, "+", NULL },
		{ "", false, "", NULL },
		{ "a b+c d", true, "a b", "c d" },
	};
	for (size_t i = 0; i < NCASES(cases); i++) {
		size_t base_len = 99;
		const char *tag = "junk";
		bool has = address_local_split_plus(cases[i].local, &base_len,
		    &tag);

		TEST_EQ_INT(has, cases[i].has_tag);
		TEST_EQ_INT(base_len, strlen(cases[i].base));
		TEST_ASSERT(strncmp(cases[i].local, cases[i].base,
		    base_len) == 0);
		TEST_EQ_STR(tag, cases[i].tag);
	}
}

/* Every byte value in every position of a short template: no crash, and
   a success always prints to something that parses back identically. */
static void
test_every_byte(void)
{
	static const char *const templates[] = { "a@b.c", "\"a\"@b", "a@[1.2.3.4]" };

	for (size_t t = 0; t < NCASES(templates); t++) {
		size_t len = strlen(templates[t]);
		char s[32];

		for (size_t pos = 0; pos < len; pos++) {
			for (unsigned c = 0; c < 256; c++) {
				struct address a, b;
				const char *error;

				memcpy(s, templates[t], len);
				s[pos] = (char)c;
				if (address_parse(s, len, true, &a, &error) == -1) {
					TEST_ASSERT(a.local == NULL);
					continue;
				}
				char *out = address_to_string(&a);
				TEST_EQ_INT(address_parse(out, strlen(out), true,
				    &b, &error), 0);
				TEST_EQ_STR(b.local, a.local);
				TEST_EQ_STR(b.domain, a.domain);
				TEST_ASSERT(strlen(a.local) > 0);
				for (const char *p = a.local; *p != '\0'; p++)
					TEST_ASSERT((unsigned char)*p >= 0x20 &&
					    *p != 0x7f);
				free(out);
				address_clear(&a);
				address_clear(&b);
			}
		}
	}
}

int
main(void)
{
	TEST_RUN(test_parse_table);
	TEST_RUN(test_flags);
	TEST_RUN(test_relay_hack);
	TEST_RUN(test_nul);
	TEST_RUN(test_limits);
	TEST_RUN(test_ulabel_length);
	TEST_RUN(test_to_string);
	TEST_RUN(test_split_plus);
	TEST_RUN(test_every_byte);
	return test_done();
}
