/* password_test.c — password hashing and verification against known
   vectors computed with independent tools: openssl passwd (SHA*-CRYPT,
   MD5-CRYPT), Python hashlib (SSHA*, SHA*), Python crypt over the system
   libxcrypt (yescrypt, bcrypt, DES), the Openwall crypt_blowfish vector and
   the Argon2 reference implementation's test vectors (src/test.c). */
#include "auth/password.h"

#include <stdlib.h>
#include <string.h>

#include "lib/test.h"

#define PW "correct horse"

static const struct {
	const char *plain;
	const char *stored;
	int want;
} vectors[] = {
	/* Argon2 reference, src/test.c (password/somesalt). */
	{ "password", "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", 1 },
	{ "passwore", "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", 0 },
	{ "password", "{ARGON2ID}$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ"
	    "$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", 1 },
	{ "password", "{ARGON2I}$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", 1 },
	{ "Password", "{ARGON2I}$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", 0 },
	/* Scheme names are case-insensitive. */
	{ "password", "{argon2id}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", 1 },
	/* An argon2i hash under the ARGON2ID label is malformed. */
	{ "password", "{ARGON2ID}$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", -1 },
	{ "password", "{ARGON2ID}$argon2id$v=19$m=65536", -1 },
	{ "password", "{ARGON2ID}", -1 },

	/* openssl passwd -6 / -5 / -1 -salt ... 'correct horse' */
	{ PW, "{SHA512-CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atVal2NPH/6kHDYPr"
	    "6mOYjLFQaCXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw.", 1 },
	{ "correct horsE", "{SHA512-CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atV"
	    "al2NPH/6kHDYPr6mOYjLFQaCXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw.",
	    0 },
	{ PW, "{SHA256-CRYPT}$5$petrelsalt$hB5Kht9wr4yCRAcBSTATHSTIbqSf37M670iW"
	    "EA42oS5", 1 },
	{ PW, "{MD5-CRYPT}$1$petrel$sORgr76GksyeZLo0qRdg.1", 1 },
	{ "correct", "{MD5-CRYPT}$1$petrel$sORgr76GksyeZLo0qRdg.1", 0 },
	/* The scheme fixes the format: a $5$ hash is no SHA512-CRYPT. */
	{ PW, "{SHA512-CRYPT}$5$petrelsalt$hB5Kht9wr4yCRAcBSTATHSTIbqSf37M670iW"
	    "EA42oS5", -1 },
	/* Openwall crypt_blowfish test vector. */
	{ "U*U", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4"
	    "YMJKvyOeW", 1 },
	{ "U*V", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4"
	    "YMJKvyOeW", 0 },
	{ PW, "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUT"
	    "JO3lOy2", 1 },
	/* {CRYPT}: any format libxcrypt knows. */
	{ PW, "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSU"
	    "kF8RHJ./tK5KU79", 1 },
	{ "correct horse ", "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$zwtVrjrUCmXcy"
	    "LTs6oxLTQlzifSUkF8RHJ./tK5KU79", 0 },
	{ PW, "{CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atVal2NPH/6kHDYPr6mOYjLFQa"
	    "CXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw.", 1 },
	{ PW, "{CRYPT}$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lO"
	    "y2", 1 },
	/* No prefix: a bare crypt string. */
	{ PW, "$5$petrelsalt$hB5Kht9wr4yCRAcBSTATHSTIbqSf37M670iWEA42oS5", 1 },
	/* Locked and garbage crypt entries. */
	{ PW, "{CRYPT}!", -1 },
	{ PW, "{CRYPT}*", -1 },
	{ PW, "{CRYPT}$9$nosuchformat$xxxx", -1 },
	{ PW, "{CRYPT}", -1 },

	/* Python: base64(sha512(pw + salt) + salt), salt 01020304 "salty!". */
	{ PW, "{SSHA512}fF42NsJ9FXme1osdWDvvixcZgvi67m+Kkn1+cpJwMKnlXk7bwbgUgj50"
	    "cn3EIkMn6CxV4glQ7kdaNVOkvo0HTAECAwRzYWx0eSE=", 1 },
	{ "correct horsf", "{SSHA512}fF42NsJ9FXme1osdWDvvixcZgvi67m+Kkn1+cpJwMK"
	    "nlXk7bwbgUgj50cn3EIkMn6CxV4glQ7kdaNVOkvo0HTAECAwRzYWx0eSE=", 0 },
	{ PW, "{SSHA512.hex}7c5e3636c27d15799ed68b1d583bef8b171982f8baee6f8a927d"
	    "7e72927030a9e55e4edbc1b814823e74727dc4224327e82c55e20950ee475a3553a4"
	    "be8d074c0102030473616c747921", 1 },
	{ PW, "{SSHA256}+eEfYkmQMUxSJuGIRJ4dFWDLEFpy9AeQkLyTwmort1cBAgMEc2FsdHkh",
	    1 },
	{ PW, "{SSHA}IfyX5Xju5xbF/+yJ4x6UQoqQbhIBAgMEc2FsdHkh", 1 },
	{ PW, "{SHA512}VraY3v7bWkNbY0r+MyC7rz/c2SC2xQOkRvx7endrKY1HnRumqLYXgI6wv1"
	    "ec6aldZoNHvKtxSQhayTyyeZUZew==", 1 },
	{ PW, "{SHA512.HEX}56b698defedb5a435b634afe3320bbaf3fdcd920b6c503a446fc7"
	    "b7a776b298d479d1ba6a8b617808eb0bf579ce9a95d668347bcab7149085ac93cb27"
	    "995197b", 1 },
	{ PW, "{SHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=", 1 },
	{ PW, "{SHA256.hex}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9"
	    "203187b5631", 1 },
	{ PW, "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=", 1 },
	{ "x", "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=", 0 },
	/* Malformed digests: bad padding, bad alphabet, white space, salt
	   missing, unsalted with extra bytes, odd hex. */
	{ PW, "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A", -1 },
	{ PW, "{SHA}L55TUjtiq8FBorTWAZ0jy6g129=A", -1 },
	{ PW, "{SHA}L55TUjtiq8FBorTWAZ0jy6g12*A=", -1 },
	{ PW, "{SHA} L55TUjtiq8FBorTWAZ0jy6g129A=", -1 },
	{ PW, "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n", -1 },
	{ PW, "{SSHA}L55TUjtiq8FBorTWAZ0jy6g129A=", -1 },
	{ PW, "{SHA}IfyX5Xju5xbF/+yJ4x6UQoqQbhIBAgMEc2FsdHkh", -1 },
	{ PW, "{SHA256.hex}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9"
	    "203187b563", -1 },
	{ PW, "{SHA256.hex}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9"
	    "203187b563g", -1 },
	{ PW, "{SSHA512}", -1 },

	{ PW, "{PLAIN}correct horse", 1 },
	{ PW, "{PLAIN}correct horse!", 0 },
	{ PW, "{PLAIN}correct hors", 0 },
	{ PW, "{PLAIN}", 0 },
	{ PW, "{CLEARTEXT}correct horse", 1 },
	{ PW, "{plain.b64}Y29ycmVjdCBob3JzZQ==", 1 },
	{ PW, "{PLAIN.hex}636f727265637420686f727365", 1 },
	{ PW, "{PLAIN.b64}Y29ycmVjdCBob3JzZQ=", -1 },

	/* Unknown or broken prefixes; encodings only where they make sense. */
	{ PW, "{MD4}whatever", -1 },
	{ PW, "{PLAIN", -1 },
	{ PW, "{}correct horse", -1 },
	{ PW, "{PLAIN.b32}x", -1 },
	{ PW, "{SHA512-CRYPT.hex}$6$x", -1 },
	{ PW, "correct horse", -1 },
	{ PW, "", -1 },
	{ PW, "{AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}x",
	    -1 },
};

static void
test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		int got = password_verify(vectors[i].plain,
		    strlen(vectors[i].plain), vectors[i].stored);

		if (got != vectors[i].want)
			printf("  case %zu: %s\n", i, vectors[i].stored);
		TEST_EQ_INT(got, vectors[i].want);
	}
}

/* "pass\0junk" must not match "pass" in any scheme: crypt(3) and every
   C-string API would stop at the NUL. */
static void
test_nul_refused(void)
{
	static const char with_nul[] = "correct horse\0junk";
	size_t len = sizeof(with_nul) - 1;

	TEST_EQ_INT(password_verify(with_nul, len, "{PLAIN}correct horse"), 0);
	TEST_EQ_INT(password_verify(with_nul, len,
	    "{SHA512-CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atVal2NPH/6kHDYPr6mOY"
	    "jLFQaCXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw."), 0);
	TEST_EQ_INT(password_verify(with_nul, 13,
	    "{SHA512-CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atVal2NPH/6kHDYPr6mOY"
	    "jLFQaCXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw."), 1);
	TEST_EQ_INT(password_verify("password\0", 9,
	    "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
	    "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"), 0);
	/* len shorter than the string: only len bytes count. */
	TEST_EQ_INT(password_verify("correct horse battery", 13,
	    "{PLAIN}correct horse"), 1);
	TEST_EQ_INT(password_verify("", 0, "{PLAIN}correct horse"), 0);
	TEST_EQ_INT(password_verify("x", 1, NULL), -1);
}

/* Hashes plain with scheme: the stored form starts with prefix, plain
   verifies against it and wrong does not. Returns the hash (heap) or NULL. */
static char *
hash_checked(const char *plain, enum password_scheme scheme,
    const char *prefix, const char *wrong)
{
	char *error = NULL, *h = password_hash(plain, scheme, &error);

	TEST_ASSERT(h != NULL);
	if (h == NULL) {
		free(error);
		return NULL;
	}
	TEST_ASSERT(strncmp(h, prefix, strlen(prefix)) == 0);
	TEST_EQ_INT(password_verify(plain, strlen(plain), h), 1);
	TEST_EQ_INT(password_verify(wrong, strlen(wrong), h), 0);
	return h;
}

static void
test_hash_argon2id(void)
{
	char *error = NULL, *h, *h2;

	h = hash_checked(PW, PASSWORD_SCHEME_ARGON2ID,
	    "{ARGON2ID}$argon2id$v=19$m=65536,t=2,p=1$", "correct horsf");
	if (h == NULL)
		return;
	/* Random salt: the same password hashes differently. */
	h2 = password_hash(PW, PASSWORD_SCHEME_DEFAULT, &error);
	TEST_ASSERT(h2 != NULL && strcmp(h, h2) != 0);
	free(h);
	free(h2);
}

static void
test_hash_yescrypt(void)
{
	free(hash_checked("s3cret ünicode", PASSWORD_SCHEME_YESCRYPT,
	    "{CRYPT}$y$", "s3cret unicode"));
}

static void
test_hash_refused(void)
{
	char *error = NULL, *big;

	TEST_ASSERT(password_hash("", PASSWORD_SCHEME_ARGON2ID, &error) ==
	    NULL);
	TEST_EQ_STR(error, "empty password");
	free(error);
	error = NULL;

	big = malloc(PASSWORD_MAX_LEN + 2);
	memset(big, 'a', PASSWORD_MAX_LEN + 1);
	big[PASSWORD_MAX_LEN + 1] = '\0';
	TEST_ASSERT(password_hash(big, PASSWORD_SCHEME_ARGON2ID, &error) ==
	    NULL);
	TEST_ASSERT(error != NULL);
	free(error);
	error = NULL;
	/* crypt(3) cannot take 512 bytes or more. */
	big[600] = '\0';
	TEST_ASSERT(password_hash(big, PASSWORD_SCHEME_YESCRYPT, &error) ==
	    NULL);
	TEST_ASSERT(error != NULL);
	free(error);
	/* Too long to verify: a mismatch, not a bad hash. */
	TEST_EQ_INT(password_verify(big, 600, "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xL"
	    "KQ..1$zwtVrjrUCmXcyLTs6oxLTQlzifSUkF8RHJ./tK5KU79"), 0);
	free(big);
}

static void
test_generate(void)
{
	char *a = password_generate(16), *b = password_generate(16);

	TEST_EQ_INT(strlen(a), 16);
	TEST_ASSERT(strcmp(a, b) != 0);
	for (size_t i = 0; i < 16; i++) {
		TEST_ASSERT(strchr("0O1lIio", a[i]) == NULL);
		TEST_ASSERT((a[i] >= 'a' && a[i] <= 'z') ||
		    (a[i] >= 'A' && a[i] <= 'Z') ||
		    (a[i] >= '2' && a[i] <= '9'));
	}
	free(a);
	free(b);
	a = password_generate(1);
	TEST_EQ_INT(strlen(a), 1);
	free(a);
}

static void
test_scheme_parse(void)
{
	enum password_scheme s = PASSWORD_SCHEME_ARGON2ID;

	TEST_EQ_INT(password_scheme_parse("yescrypt", &s), 0);
	TEST_EQ_INT(s, PASSWORD_SCHEME_YESCRYPT);
	TEST_EQ_INT(password_scheme_parse("ARGON2ID", &s), 0);
	TEST_EQ_INT(s, PASSWORD_SCHEME_ARGON2ID);
	TEST_EQ_INT(password_scheme_parse("md5", &s), -1);
}

int
main(void)
{
	TEST_RUN(test_vectors);
	TEST_RUN(test_nul_refused);
	TEST_RUN(test_hash_argon2id);
	TEST_RUN(test_hash_yescrypt);
	TEST_RUN(test_hash_refused);
	TEST_RUN(test_generate);
	TEST_RUN(test_scheme_parse);
	return test_done();
}
