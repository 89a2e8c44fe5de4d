/* test.h — the unit-test harness: one binary per module, table-driven cases.
   Each test binary ends with "N passed, N failed" and exits non-zero on any
   failure; `make check` adds the counts of all binaries into one such line.

	static void test_parse(void) { TEST_EQ_INT(parse("1"), 1); }
	int main(void) { TEST_RUN(test_parse); return test_done(); }
*/
#ifndef PETREL_TEST_H
#define PETREL_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern unsigned test_passed, test_failed;
extern bool test_current_failed;
extern const char *test_current;

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_run(const char *name, void (*fn)(void));
/* Prints the summary line; returns the exit status for main(). */
int test_done(void);
/* Fresh temporary directory for a test; the caller may remove it. */
char *test_tmpdir(void);

#define TEST_RUN(fn) test_run(#fn, fn)

#define TEST_ASSERT(cond)                                                   \
	do {                                                                \
		if (!(cond))                                                \
			test_fail(__FILE__, __LINE__, "%s", #cond);         \
	} while (0)

#define TEST_EQ_INT(got, want)                                              \
	do {                                                                \
		long long test_g_ = (long long)(got);                       \
		long long test_w_ = (long long)(want);                      \
		if (test_g_ != test_w_)                                     \
			test_fail(__FILE__, __LINE__,                       \
			    "%s: got %lld, want %lld", #got, test_g_, test_w_); \
	} while (0)

#define TEST_EQ_STR(got, want)                                              \
	do {                                                                \
		const char *test_g_ = (got), *test_w_ = (want);             \
		if (test_g_ == NULL || test_w_ == NULL                      \
		    ? test_g_ != test_w_ : strcmp(test_g_, test_w_) != 0)   \
			test_fail(__FILE__, __LINE__,                       \
			    "%s: got \"%s\", want \"%s\"", #got,            \
			    test_g_ ? test_g_ : "(null)",                   \
			    test_w_ ? test_w_ : "(null)");                  \
	} while (0)
#endif
