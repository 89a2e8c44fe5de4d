/* migrate_progress_test.c — unit tests for progress output on a fake
   clock: a terminal bar redrawn at most ten times a second and erased for
   warnings, log lines every 5 s or 1000 messages, the byte-measured bar
   when messages are not counted ahead, and --quiet. */
#include "migrate/migrate_progress.h"

#include <stdlib.h>
#include <string.h>

#include "lib/test.h"

static double fake_now;

static double
fake_clock(void)
{
	return fake_now;
}

/* Output written so far, as a string (open_memstream). */
struct capture {
	FILE *f;
	char *data;
	size_t len;
};

static void
capture_open(struct capture *c)
{
	c->data = NULL;
	c->len = 0;
	c->f = open_memstream(&c->data, &c->len);
}

static const char *
capture_text(struct capture *c)
{
	fflush(c->f);
	return c->data != NULL ? c->data : "";
}

static void
capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->data);
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void
test_tty(void)
{
	struct capture c;
	struct migrate_progress *p;

	capture_open(&c);
	fake_now = 100;
	p = migrate_progress_new(c.f, "import", true, false);
	migrate_progress_set_clock(p, fake_clock);
	migrate_progress_set_total(p, 4, 0);
	migrate_progress_add(p, 1, 1024 * 1024);	/* first: drawn */
	TEST_EQ_INT(count(capture_text(&c), "\r"), 1);
	TEST_ASSERT(strstr(capture_text(&c), "import 1/4 [######") != NULL);
	TEST_ASSERT(strstr(capture_text(&c), " 25%") != NULL);
	fake_now += 0.05;
	migrate_progress_add(p, 1, 0);			/* too soon */
	TEST_EQ_INT(count(capture_text(&c), "\r"), 1);
	fake_now += 0.1;
	migrate_progress_add(p, 1, 0);
	TEST_EQ_INT(count(capture_text(&c), "\r"), 2);
	TEST_ASSERT(strstr(capture_text(&c), "3/4") != NULL);
	/* A warning erases the bar, and the next add draws it at once. */
	migrate_progress_warn(p, "x %d", 7);
	TEST_ASSERT(strstr(capture_text(&c), "\r\033[Kpetrel: x 7\n") !=
	    NULL);
	migrate_progress_add(p, 1, 0);
	TEST_ASSERT(strstr(capture_text(&c), "4/4 [########################]"
	    " 100%") != NULL);
	migrate_progress_finish(p);
	size_t len = strlen(capture_text(&c));

	TEST_ASSERT(len >= 4 && strcmp(capture_text(&c) + len - 4,
	    "\r\033[K") == 0);
	TEST_ASSERT(migrate_progress_elapsed(p) > 0.1);
	migrate_progress_free(&p);
	TEST_ASSERT(p == NULL);
	capture_close(&c);
}

static void
test_log(void)
{
	struct capture c;
	struct migrate_progress *p;

	capture_open(&c);
	fake_now = 0;
	p = migrate_progress_new(c.f, "export", false, false);
	migrate_progress_set_clock(p, fake_clock);
	migrate_progress_set_total(p, 5000, 0);
	for (int i = 0; i < 999; i++)
		migrate_progress_add(p, 1, 10);
	TEST_EQ_INT(count(capture_text(&c), "\n"), 0);
	migrate_progress_add(p, 1, 10);		/* the 1000th */
	TEST_EQ_INT(count(capture_text(&c), "\n"), 1);
	TEST_ASSERT(strstr(capture_text(&c), "petrel: export: 1000/5000 "
	    "messages") != NULL);
	fake_now = 4.9;
	migrate_progress_add(p, 1, 10);
	TEST_EQ_INT(count(capture_text(&c), "\n"), 1);
	fake_now = 5.1;
	migrate_progress_add(p, 1, 10);		/* 5 s since the last */
	TEST_EQ_INT(count(capture_text(&c), "\n"), 2);
	TEST_EQ_INT(count(capture_text(&c), "\r"), 0);	/* no bar codes */
	migrate_progress_free(&p);
	capture_close(&c);
}

static void
test_bytes_and_quiet(void)
{
	struct capture c;
	struct migrate_progress *p;

	capture_open(&c);
	fake_now = 0;
	p = migrate_progress_new(c.f, "import", true, false);
	migrate_progress_set_clock(p, fake_clock);
	migrate_progress_set_total(p, 0, 1000);
	migrate_progress_add(p, 3, 500);
	TEST_ASSERT(strstr(capture_text(&c), "import 3 [############"
	    "............]  50%") != NULL);
	migrate_progress_free(&p);
	capture_close(&c);

	capture_open(&c);
	p = migrate_progress_new(c.f, "import", true, true);
	migrate_progress_set_clock(p, fake_clock);
	migrate_progress_add(p, 5000, 1);
	migrate_progress_warn(p, "still said");
	migrate_progress_finish(p);
	TEST_EQ_STR(capture_text(&c), "petrel: still said\n");
	migrate_progress_free(&p);
	capture_close(&c);
}

int
main(void)
{
	TEST_RUN(test_tty);
	TEST_RUN(test_log);
	TEST_RUN(test_bytes_and_quiet);
	return test_done();
}
