/* buf_test.c — unit tests for buf and strnum. */
#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/test.h"

#include <stdlib.h>

static void
test_buf_max(void)
{
	struct buf b;

	buf_init(&b, 8);
	TEST_EQ_INT(buf_append(&b, "12345", 5), 0);
	TEST_EQ_INT(buf_append(&b, "6789", 4), -1);
	TEST_EQ_INT(b.len, 5);
	TEST_EQ_INT(buf_printf(&b, "%d", 123), 0);
	TEST_EQ_STR(b.data, "12345123");
	TEST_EQ_INT(buf_printf(&b, "x"), -1);
	buf_consume(&b, 5);
	TEST_EQ_STR(b.data, "123");
	buf_clear(&b);
}

static void
test_strnum(void)
{
	static const struct {
		const char *in;
		int want;
		uint64_t value;
	} cases[] = {
		{ "0", 0, 0 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ " 1", -1, 0 },
		{ "1x", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		TEST_EQ_INT(str_to_u64(cases[i].in, &v), cases[i].want);
		if (cases[i].want == 0)
			TEST_ASSERT(v == cases[i].value);
	}
	uint32_t u;
	TEST_EQ_INT(str_to_u32("4294967296", &u), -1);
	TEST_EQ_INT(str_to_u32("4294967295", &u), 0);
	uint64_t s;
	TEST_EQ_INT(str_to_size("50M", &s), 0);
	TEST_EQ_INT(s, 52428800);
	TEST_EQ_INT(str_to_size("M", &s), -1);
	TEST_EQ_INT(str_to_size("99999999999999999999G", &s), -1);
}

int
main(void)
{
	TEST_RUN(test_buf_max);
	TEST_RUN(test_strnum);
	return test_done();
}
