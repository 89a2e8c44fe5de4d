/* migrate_flags_test.c — unit tests for keyword lists: which keywords are
   atoms, case-insensitive de-duplication, and the per-message limit. */
#include "migrate/migrate_flags.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *kw;
	bool valid;
} cases[] = {
	{ "$Junk", true },
	{ "NonJunk", true },
	{ "$label1", true },
	{ "a-b_c.d+e", true },
	{ "", false },
	{ "a b", false },
	{ "a(b", false },
	{ "a)b", false },
	{ "a{b", false },
	{ "a%b", false },
	{ "a*b", false },
	{ "a\"b", false },
	{ "\\Seen", false },
	{ "a]b", false },
	{ "a\x01" "b", false },
	{ "a\x7f", false },
	{ "\xc3\xa9", false },
};

static void
test_valid(void)
{
	char long_kw[MIGRATE_FLAGS_KEYWORD_MAX + 2];

	for (size_t i = 0; i < NCASES(cases); i++)
		if (migrate_flags_keyword_is_valid(cases[i].kw,
		    strlen(cases[i].kw)) != cases[i].valid)
			test_fail(__FILE__, __LINE__, "\"%s\": want %d",
			    cases[i].kw, cases[i].valid);
	memset(long_kw, 'k', sizeof(long_kw));
	TEST_ASSERT(migrate_flags_keyword_is_valid(long_kw,
	    MIGRATE_FLAGS_KEYWORD_MAX));
	TEST_ASSERT(!migrate_flags_keyword_is_valid(long_kw,
	    MIGRATE_FLAGS_KEYWORD_MAX + 1));
}

static void
test_add(void)
{
	struct buf list;
	char kw[16];

	buf_init(&list, 0);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "$Junk", 5), 1);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "$junk", 5), 0);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "$Ju", 3), 1);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "a b", 3), -1);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "x", 1), 1);
	TEST_EQ_STR(list.data, "$Junk $Ju x");
	buf_reset(&list);
	for (int i = 0; i < MIGRATE_FLAGS_KEYWORDS_MAX; i++) {
		snprintf(kw, sizeof(kw), "k%d", i);
		TEST_EQ_INT(migrate_flags_keyword_add(&list, kw, strlen(kw)),
		    1);
	}
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "more", 4), -1);
	TEST_EQ_INT(migrate_flags_keyword_add(&list, "k0", 2), 0);
	buf_clear(&list);
}

int
main(void)
{
	TEST_RUN(test_valid);
	TEST_RUN(test_add);
	return test_done();
}
