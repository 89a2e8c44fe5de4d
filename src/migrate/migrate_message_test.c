/* migrate_message_test.c — unit tests for the LF to CRLF conversion: bare
   LF fixed, CRLF and bare CR kept, files that are CRLF already unchanged
   byte for byte, and a full buffer failing cleanly. */
#include "migrate/migrate_message.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in, *out;
} cases[] = {
	{ "", "" },
	{ "a", "a" },
	{ "\n", "\r\n" },
	{ "\r\n", "\r\n" },
	{ "\r", "\r" },
	{ "\n\n", "\r\n\r\n" },
	{ "a\nb\r\nc\rd\n", "a\r\nb\r\nc\rd\r\n" },
	{ "\r\r\n", "\r\r\n" },
	{ "Subject: x\n\nbody", "Subject: x\r\n\r\nbody" },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < NCASES(cases); i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_EQ_INT(migrate_message_crlf(cases[i].in,
		    strlen(cases[i].in), &b), 0);
		TEST_EQ_STR(b.data != NULL ? b.data : "", cases[i].out);
		buf_clear(&b);
	}
}

static void
test_nul_and_limit(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_EQ_INT(migrate_message_crlf("a\0\nb", 4, &b), 0);
	TEST_EQ_INT(b.len, 5);
	TEST_ASSERT(memcmp(b.data, "a\0\r\nb", 5) == 0);
	buf_clear(&b);

	buf_init(&b, 8);
	(void)buf_append(&b, "xy", 2);
	TEST_EQ_INT(migrate_message_crlf("\n\n\n\n", 4, &b), -1);
	TEST_EQ_STR(b.data, "xy");		/* as it was */
	buf_clear(&b);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_nul_and_limit);
	return test_done();
}
