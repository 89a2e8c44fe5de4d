/* maildir_filename_test.c — unit tests for Maildir file names: flags and
   keyword letters out of "base:2,flags" (Dovecot's rules: unknown letters
   ignored, a ',' ends the flags), names that are no message, the names
   export builds and recognises again. */
#include "migrate/maildir_filename.h"

#include <stdlib.h>
#include <string.h>

#include "lib/test.h"
#include "store/store.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	int want;
	const char *base;
	unsigned flags;
	bool passed;
	uint32_t keywords;
} parse_cases[] = {
	{ "1000.M1P2.host,S=20:2,RS", 0, "1000.M1P2.host,S=20",
	    STORE_FLAG_ANSWERED | STORE_FLAG_SEEN, false, 0 },
	{ "1000.M1P2.host:2,DFPRST", 0, "1000.M1P2.host",
	    STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED |
	    STORE_FLAG_SEEN | STORE_FLAG_DELETED, true, 0 },
	{ "1000.M1P2.host:2,Sac", 0, "1000.M1P2.host", STORE_FLAG_SEEN,
	    false, (1u << 0) | (1u << 2) },
	{ "1000.M1P2.host:2,Sz", 0, "1000.M1P2.host", STORE_FLAG_SEEN, false,
	    1u << 25 },
	{ "1000.M1P2.host", 0, "1000.M1P2.host", 0, false, 0 },	/* new/ */
	{ "1000.M1P2.host:2,", 0, "1000.M1P2.host", 0, false, 0 },
	{ "1000.M1P2.host:1,S", 0, "1000.M1P2.host", 0, false, 0 },
	{ "1000.M1P2.host:2,S,XS=1", 0, "1000.M1P2.host", STORE_FLAG_SEEN,
	    false, 0 },		/* Dovecot: fields after ',' are not flags */
	{ "1000.M1P2.host:2,SQ", 0, "1000.M1P2.host", STORE_FLAG_SEEN, false,
	    0 },		/* unknown letter */
	{ "a:b:2,S", 0, "a", 0, false, 0 },	/* base ends at first ':' */
	{ "", -1, NULL, 0, false, 0 },
	{ ".nfs0001", -1, NULL, 0, false, 0 },
	{ ":2,S", -1, NULL, 0, false, 0 },
};

static void
test_parse(void)
{
	for (size_t i = 0; i < NCASES(parse_cases); i++) {
		struct maildir_filename fn;

		TEST_EQ_INT(maildir_filename_parse(parse_cases[i].name, &fn),
		    parse_cases[i].want);
		if (parse_cases[i].want != 0)
			continue;
		TEST_EQ_INT(fn.base_len, strlen(parse_cases[i].base));
		TEST_ASSERT(strncmp(fn.base, parse_cases[i].base,
		    fn.base_len) == 0);
		TEST_EQ_INT(fn.flags, parse_cases[i].flags);
		TEST_EQ_INT(fn.passed, parse_cases[i].passed);
		TEST_EQ_INT(fn.keywords, parse_cases[i].keywords);
	}
}

static void
test_build(void)
{
	char *name = maildir_filename_build(1700000000, 42, 777, 1234,
	    STORE_FLAG_SEEN | STORE_FLAG_DRAFT | STORE_FLAG_DELETED |
	    STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED, (1u << 3) | 1u);
	struct maildir_filename fn;
	uint32_t uid = 0;

	/* Flags in ASCII order, keywords after them in order. */
	TEST_EQ_STR(name, "1700000000.M42V777.petrel,S=1234,W=1234:2,DFRSTad");
	TEST_EQ_INT(maildir_filename_parse(name, &fn), 0);
	TEST_EQ_INT(fn.flags, STORE_FLAG_SEEN | STORE_FLAG_DRAFT |
	    STORE_FLAG_DELETED | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED);
	TEST_EQ_INT(fn.keywords, (1u << 3) | 1u);
	TEST_ASSERT(maildir_filename_exported_uid(name, 777, &uid));
	TEST_EQ_INT(uid, 42);
	TEST_ASSERT(!maildir_filename_exported_uid(name, 778, &uid));
	free(name);

	/* No flags: ":2," alone. A date before 1970 is written as 0. */
	name = maildir_filename_build(-5, 1, 2, 3, 0, 0);
	TEST_EQ_STR(name, "0.M1V2.petrel,S=3,W=3:2,");
	free(name);
}

static const char *const not_exported[] = {
	"1000.M1P2.host:2,S",
	"1000.M42V777.petrelx:2,S",
	"1000.M0V777.petrel:2,S",		/* UID 0 */
	"1000.M42V777:2,S",
	"x1000.M42V777.petrel",
	".M42V777.petrel",
	"1000.M99999999999V777.petrel",		/* past 32 bits */
};

static void
test_exported(void)
{
	uint32_t uid = 0;

	TEST_ASSERT(maildir_filename_exported_uid("1.M3V777.petrel", 777,
	    &uid));
	TEST_EQ_INT(uid, 3);
	TEST_ASSERT(maildir_filename_exported_uid(
	    "1.M4V777.petrel,S=1,W=1:2,S", 777, &uid));
	TEST_EQ_INT(uid, 4);
	for (size_t i = 0; i < NCASES(not_exported); i++)
		if (maildir_filename_exported_uid(not_exported[i], 777, &uid))
			test_fail(__FILE__, __LINE__, "took \"%s\"",
			    not_exported[i]);
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_build);
	TEST_RUN(test_exported);
	return test_done();
}
