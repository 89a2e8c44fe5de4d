/* maildir_uidlist_test.c — unit tests for dovecot-uidlist: the version 3
   header in any field order, Courier's version 1, extension fields before
   the name, lines that must be skipped (bad numbers, UIDs out of order,
   bases twice), lookups by base, and what export writes. */
#include "migrate/maildir_uidlist.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

static void
test_v3(void)
{
	static const char file[] =
	    "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
	    "25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n"
	    "25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n"
	    "25018 G00ff X1 :1276533074.M1P1.kurkku\r\n"
	    "\n";
	struct maildir_uidlist l;
	const char *error = NULL;
	size_t bad = 99;

	TEST_EQ_INT(maildir_uidlist_parse(file, sizeof(file) - 1, &l, &bad,
	    &error), 0);
	TEST_EQ_INT(bad, 0);
	TEST_EQ_INT(l.version, 3);
	TEST_EQ_INT(l.uidvalidity, 1275660208);
	TEST_EQ_INT(l.uidnext, 25022);
	TEST_EQ_INT(l.n, 3);
	TEST_EQ_INT(maildir_uidlist_lookup(&l,
	    "1276528487.M364837P9451.kurkku,S=1355,W=1394", 44), 25006);
	TEST_EQ_INT(maildir_uidlist_lookup(&l,
	    "1276533073.M242911P3632.kurkku", 30), 25017);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1276533074.M1P1.kurkku", 22),
	    25018);
	/* A prefix of a base, a longer name, and a stranger are not it. */
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1276533074.M1P1.kurkk", 21),
	    0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1276533074.M1P1.kurkkuX", 23),
	    0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "nope", 4), 0);
	maildir_uidlist_clear(&l);
	TEST_EQ_INT(l.n, 0);
}

static void
test_header_order(void)
{
	static const char file[] = "3 N7 Gx V99 Zwhatever\n";
	struct maildir_uidlist l;
	const char *error;
	size_t bad;

	TEST_EQ_INT(maildir_uidlist_parse(file, sizeof(file) - 1, &l, &bad,
	    &error), 0);
	TEST_EQ_INT(l.uidvalidity, 99);
	TEST_EQ_INT(l.uidnext, 7);
	TEST_EQ_INT(l.n, 0);
	maildir_uidlist_clear(&l);
}

static void
test_v1(void)
{
	static const char file[] =
	    "1 1111 30\n"
	    "3 1000.M1P1.host:2,S\n"
	    "12 1001.M1P1.host\n";
	struct maildir_uidlist l;
	const char *error;
	size_t bad;

	TEST_EQ_INT(maildir_uidlist_parse(file, sizeof(file) - 1, &l, &bad,
	    &error), 0);
	TEST_EQ_INT(l.version, 1);
	TEST_EQ_INT(l.uidvalidity, 1111);
	TEST_EQ_INT(l.uidnext, 30);
	TEST_EQ_INT(bad, 0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1000.M1P1.host", 14), 3);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1001.M1P1.host", 14), 12);
	maildir_uidlist_clear(&l);
}

static void
test_bad_lines(void)
{
	static const char file[] =
	    "3 V5 N100\n"
	    "10 :a\n"
	    "x :b\n"			/* not a number */
	    "0 :c\n"			/* UID 0 */
	    "9 :d\n"			/* below the one before */
	    "11 W1\n"			/* no name */
	    "12 :\n"			/* empty name */
	    "13 :e/f\n"			/* a path */
	    "99999999999 :g\n"		/* past 32 bits */
	    "20 :a:2,S\n"		/* base "a" again */
	    "21 :h";			/* no final LF: still a line */
	struct maildir_uidlist l;
	const char *error;
	size_t bad;

	TEST_EQ_INT(maildir_uidlist_parse(file, sizeof(file) - 1, &l, &bad,
	    &error), 0);
	TEST_EQ_INT(bad, 8);
	TEST_EQ_INT(l.n, 2);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "a", 1), 10);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "h", 1), 21);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "d", 1), 0);
	maildir_uidlist_clear(&l);
}

static const char *const bad_headers[] = {
	"",
	"\n10 :a\n",
	"4 V1 N2\n",
	"V1 N2\n",
	"3 Vx N2\n",
	"3 V1 N99999999999\n",
	"1 1111\n",
	"33 V1\n",
};

static void
test_bad_header(void)
{
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]);
	    i++) {
		struct maildir_uidlist l;
		const char *error = NULL;
		size_t bad;

		if (maildir_uidlist_parse(bad_headers[i],
		    strlen(bad_headers[i]), &l, &bad, &error) != -1) {
			test_fail(__FILE__, __LINE__, "took \"%s\"",
			    bad_headers[i]);
			maildir_uidlist_clear(&l);
		}
		TEST_ASSERT(error != NULL);
	}
}

static void
test_format(void)
{
	struct buf b;
	struct maildir_uidlist l;
	const char *error;
	size_t bad;

	buf_init(&b, 0);
	TEST_EQ_INT(maildir_uidlist_format_header(&b, 42, 9,
	    "0123456789abcdef0123456789abcdef"), 0);
	TEST_EQ_INT(maildir_uidlist_format_line(&b, 3,
	    "1.M3V42.petrel,S=5,W=5:2,S"), 0);
	TEST_EQ_STR(b.data, "3 V42 N9 G0123456789abcdef0123456789abcdef\n"
	    "3 :1.M3V42.petrel,S=5,W=5:2,S\n");
	/* What export writes, import reads. */
	TEST_EQ_INT(maildir_uidlist_parse(b.data, b.len, &l, &bad, &error), 0);
	TEST_EQ_INT(l.uidvalidity, 42);
	TEST_EQ_INT(l.uidnext, 9);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "1.M3V42.petrel,S=5,W=5", 22),
	    3);
	maildir_uidlist_clear(&l);
	buf_clear(&b);
}

/* Every prefix of a valid file parses or fails cleanly (ASan checks the
   reads), and NUL bytes in a line do not confuse it. */
static void
test_prefixes(void)
{
	static const char file[] =
	    "3 V1 N5 Gx\n1 W9 :a,S=1:2,S\n2 :b\0c\n4 :d:2,\n";

	for (size_t len = 0; len <= sizeof(file) - 1; len++) {
		struct maildir_uidlist l;
		const char *error;
		size_t bad;
		char *copy = malloc(len + 1);

		memcpy(copy, file, len);
		if (maildir_uidlist_parse(copy, len, &l, &bad, &error) == 0) {
			TEST_ASSERT(l.n <= 2);
			maildir_uidlist_clear(&l);
		}
		free(copy);
	}
}

/* A key with a NUL after a base's length in it names no base, and the
   lookup reads no further into a base than its NUL (found by
   fuzz_maildir: ASan saw the read past "ab"). */
static void
test_lookup_nul(void)
{
	static const char file[] = "3 V1 N9\n1 :ab\n3 :abc\n";
	struct maildir_uidlist l;
	const char *error = NULL;
	size_t bad;

	TEST_EQ_INT(maildir_uidlist_parse(file, sizeof(file) - 1, &l, &bad,
	    &error), 0);
	TEST_EQ_INT(l.n, 2);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "ab\0cd", 5), 0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "ab", 3), 0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "abc\0", 4), 0);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "ab", 2), 1);
	TEST_EQ_INT(maildir_uidlist_lookup(&l, "abc", 3), 3);
	maildir_uidlist_clear(&l);
}

int
main(void)
{
	TEST_RUN(test_v3);
	TEST_RUN(test_header_order);
	TEST_RUN(test_v1);
	TEST_RUN(test_bad_lines);
	TEST_RUN(test_bad_header);
	TEST_RUN(test_format);
	TEST_RUN(test_prefixes);
	TEST_RUN(test_lookup_nul);
	return test_done();
}
