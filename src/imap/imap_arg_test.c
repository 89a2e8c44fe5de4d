/* imap_arg_test.c — unit tests for the typed argument views: astring and
   nstring classes, numbers at and past their ranges (2^32, 2^63, 2^64:
   refused, never wrapped), and flag lists (system flags, keywords,
   duplicates, \Recent and junk refused). */
#include "imap/imap_arg.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static struct imap_arg
arg(enum imap_arg_type type, const char *s)
{
	struct imap_arg a = { .type = type, .str = s, .len = s ? strlen(s) : 0 };

	return a;
}

static void
test_classes(void)
{
	struct imap_arg atom = arg(IMAP_ARG_ATOM, "INBOX");
	struct imap_arg nil = arg(IMAP_ARG_NIL, "nil");
	struct imap_arg q = arg(IMAP_ARG_QUOTED, "a b");
	struct imap_arg lit = arg(IMAP_ARG_LITERAL, "xyz");
	struct imap_arg lit8 = arg(IMAP_ARG_LITERAL8, "x");
	struct imap_arg list = arg(IMAP_ARG_LIST, NULL);

	TEST_ASSERT(imap_arg_is_astring(&atom));
	TEST_ASSERT(imap_arg_is_astring(&nil));
	TEST_ASSERT(imap_arg_is_astring(&q));
	TEST_ASSERT(imap_arg_is_astring(&lit));
	TEST_ASSERT(!imap_arg_is_astring(&lit8));
	TEST_ASSERT(!imap_arg_is_astring(&list));
	TEST_ASSERT(!imap_arg_is_string(&atom));
	TEST_ASSERT(imap_arg_is_string(&q) && imap_arg_is_string(&lit));
	TEST_ASSERT(!imap_arg_is_string(&lit8));
	TEST_ASSERT(imap_arg_is_nstring(&nil) && imap_arg_is_nstring(&q));
	TEST_ASSERT(!imap_arg_is_nstring(&atom));
	TEST_ASSERT(imap_arg_is_atom(&atom, "inbox"));
	TEST_ASSERT(!imap_arg_is_atom(&atom, "INBOX2"));
	TEST_ASSERT(!imap_arg_is_atom(&atom, "INBO"));
	TEST_ASSERT(imap_arg_is_atom(&nil, "NIL"));
	TEST_ASSERT(!imap_arg_is_atom(&q, "a b"));
}

static const struct {
	const char *s;
	int r32, rnz, r64;
	uint64_t want;
} numbers[] = {
	{ "0", 0, -1, 0, 0 },
	{ "1", 0, 0, 0, 1 },
	{ "007", 0, 0, 0, 7 },			/* leading zeros: Dovecot too */
	{ "4294967295", 0, 0, 0, 4294967295u },
	{ "4294967296", -1, -1, 0, 4294967296u },	/* 2^32 */
	{ "9223372036854775807", -1, -1, 0, 9223372036854775807u },
	{ "9223372036854775808", -1, -1, -1, 0 },	/* 2^63 */
	{ "18446744073709551615", -1, -1, -1, 0 },
	{ "18446744073709551616", -1, -1, -1, 0 },	/* 2^64 */
	{ "99999999999999999999999999", -1, -1, -1, 0 },
	{ "", -1, -1, -1, 0 },
	{ "+1", -1, -1, -1, 0 },
	{ "-1", -1, -1, -1, 0 },
	{ " 1", -1, -1, -1, 0 },
	{ "1 ", -1, -1, -1, 0 },
	{ "1a", -1, -1, -1, 0 },
	{ "0x10", -1, -1, -1, 0 },
};

static void
test_numbers(void)
{
	for (size_t i = 0; i < NCASES(numbers); i++) {
		struct imap_arg a = arg(IMAP_ARG_ATOM, numbers[i].s);
		uint32_t n32 = 12345;
		uint64_t n64 = 12345;

		TEST_EQ_INT(imap_arg_number(&a, &n32), numbers[i].r32);
		if (numbers[i].r32 == 0)
			TEST_EQ_INT(n32, numbers[i].want);
		TEST_EQ_INT(imap_arg_nz_number(&a, &n32), numbers[i].rnz);
		TEST_EQ_INT(imap_arg_number64(&a, &n64), numbers[i].r64);
		if (numbers[i].r64 == 0)
			TEST_ASSERT(n64 == numbers[i].want);
	}
	/* numbers are atoms, not strings */
	struct imap_arg q = arg(IMAP_ARG_QUOTED, "5");
	uint32_t n;
	uint64_t n64;

	TEST_EQ_INT(imap_arg_number(&q, &n), -1);
	TEST_EQ_INT(imap_arg_number64(&q, &n64), -1);
}

static void
test_flags(void)
{
	struct imap_arg list[] = {
		arg(IMAP_ARG_ATOM, "\\Seen"),
		arg(IMAP_ARG_ATOM, "$Forwarded"),
		arg(IMAP_ARG_ATOM, "\\deleted"),
		arg(IMAP_ARG_ATOM, "$forwarded"),
		arg(IMAP_ARG_ATOM, "Junk"),
		arg(IMAP_ARG_ATOM, "\\DRAFT"),
		arg(IMAP_ARG_NIL, "NIL"),
		arg(IMAP_ARG_ATOM, "\\Answered"),
		arg(IMAP_ARG_ATOM, "\\Flagged"),
	};
	struct buf kw;
	unsigned flags = 0;
	const char *error = NULL;

	buf_init(&kw, 0);
	TEST_EQ_INT(imap_arg_flags(list, NCASES(list), &flags, &kw, &error), 0);
	TEST_EQ_INT(flags, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT |
	    IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED);
	TEST_EQ_STR(kw.data, "$Forwarded Junk NIL");
	/* appended to what kw holds, still without duplicates */
	TEST_EQ_INT(imap_arg_flags(&list[4], 1, &flags, &kw, &error), 0);
	TEST_EQ_INT(flags, 0);
	TEST_EQ_STR(kw.data, "$Forwarded Junk NIL");
	struct imap_arg more = arg(IMAP_ARG_ATOM, "$MDNSent");
	TEST_EQ_INT(imap_arg_flags(&more, 1, &flags, &kw, &error), 0);
	TEST_EQ_STR(kw.data, "$Forwarded Junk NIL $MDNSent");
	/* none */
	buf_reset(&kw);
	TEST_EQ_INT(imap_arg_flags(NULL, 0, &flags, &kw, &error), 0);
	TEST_EQ_INT(flags, 0);
	TEST_EQ_INT(kw.len, 0);
	buf_clear(&kw);

	static const struct {
		enum imap_arg_type type;
		const char *s;
	} bad[] = {
		{ IMAP_ARG_ATOM, "\\Recent" },
		{ IMAP_ARG_ATOM, "\\*" },
		{ IMAP_ARG_ATOM, "\\Foo" },
		{ IMAP_ARG_ATOM, "\\" },
		{ IMAP_ARG_ATOM, "a*" },
		{ IMAP_ARG_ATOM, "a]" },
		{ IMAP_ARG_ATOM, "a%" },
		{ IMAP_ARG_ATOM, "BODY[x]" },
		{ IMAP_ARG_QUOTED, "Junk" },
		{ IMAP_ARG_LITERAL, "Junk" },
		{ IMAP_ARG_LIST, NULL },
	};
	for (size_t i = 0; i < NCASES(bad); i++) {
		struct imap_arg a = arg(bad[i].type, bad[i].s);

		buf_init(&kw, 0);
		error = NULL;
		TEST_EQ_INT(imap_arg_flags(&a, 1, &flags, &kw, &error), -1);
		TEST_ASSERT(error != NULL);
		buf_clear(&kw);
	}
	/* kw's maximum reached */
	buf_init(&kw, 8);
	TEST_EQ_INT(imap_arg_flags(list, NCASES(list), &flags, &kw, &error), -1);
	TEST_EQ_STR(error, "Too many keywords");
	buf_clear(&kw);
}

/* Thousands of duplicate keywords: deduplicated without quadratic work. */
static void
test_many_keywords(void)
{
	static struct imap_arg many[20000];
	static char names[20000][8];
	struct buf kw;
	unsigned flags;
	const char *error;

	for (size_t i = 0; i < NCASES(many); i++) {
		snprintf(names[i], sizeof(names[i]), "k%zu", i % 100);
		many[i] = arg(IMAP_ARG_ATOM, names[i]);
	}
	buf_init(&kw, 0);
	TEST_EQ_INT(imap_arg_flags(many, NCASES(many), &flags, &kw, &error), 0);
	TEST_ASSERT(strncmp(kw.data, "k0 k1 k2 ", 9) == 0);
	TEST_EQ_INT(kw.len, 10 * 3 + 90 * 4 - 1);
	buf_clear(&kw);
}

int
main(void)
{
	TEST_RUN(test_classes);
	TEST_RUN(test_numbers);
	TEST_RUN(test_flags);
	TEST_RUN(test_many_keywords);
	return test_done();
}
