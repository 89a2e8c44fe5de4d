/* test.c — see test.h. Linked only into unit tests. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

unsigned test_passed, test_failed;
bool test_current_failed;
const char *test_current;

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_current_failed = true;
	fprintf(stderr, "FAIL %s (%s:%d): ", test_current ? test_current : "?",
	    file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
test_run(const char *name, void (*fn)(void))
{
	test_current = name;
	test_current_failed = false;
	fn();
	if (test_current_failed)
		test_failed++;
	else
		test_passed++;
	test_current = NULL;
}

int
test_done(void)
{
	printf("%u passed, %u failed\n", test_passed, test_failed);
	return test_failed == 0 ? 0 : 1;
}

char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;

	if (asprintf(&tmpl, "%s/petrel-test-XXXXXX", base ? base : "/tmp") < 0)
		abort();
	if (mkdtemp(tmpl) == NULL)
		abort();
	return tmpl;
}
