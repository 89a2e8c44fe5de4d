/* log_test.c — unit tests for the escaping of text put in log lines. */
#include "lib/log.h"

#include <string.h>

#include "lib/test.h"

static void
test_escaping(void)
{
	char out[LOG_STR_MAX];
	const char *reply = "550 5.1.1 no \"such\"\r\nuser\x01 \xc3\xa9";

	TEST_EQ_STR(log_str(out, sizeof(out), reply, strlen(reply)),
	    "550\\x205.1.1\\x20no\\x20\\x22such\\x22\\x0d\\x0auser\\x01"
	    "\\x20\\xc3\\xa9");
	TEST_EQ_STR(log_text(out, sizeof(out), reply, strlen(reply)),
	    "550 5.1.1 no \\x22such\\x22\\x0d\\x0auser\\x01 \\xc3\\xa9");
	/* NUL is data like any other byte. */
	TEST_EQ_STR(log_text(out, sizeof(out), "a\0b", 3), "a\\x00b");
}

static void
test_cut(void)
{
	char out[12];

	TEST_EQ_STR(log_text(out, sizeof(out), "0123456789abcdef", 16),
	    "01234567...");
	TEST_EQ_STR(log_str(out, 1, "abc", 3), "");
}

int
main(void)
{
	TEST_RUN(test_escaping);
	TEST_RUN(test_cut);
	return test_done();
}
