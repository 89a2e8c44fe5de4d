/* imap_seqset_test.c — unit tests for sequence sets: parsing (every
   error, 2^32 refused), "*" and "$", the range limit, resolving against
   the highest number (empty mailbox, reversed ranges, merging, 2^32-1
   edges), membership and the compressed writers. */
#include "imap/imap_seqset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Renders parsed ranges as "lo:hi,..." with "*" for IMAP_SEQ_STAR. */
static void
render(const struct imap_seqset *set, struct buf *b)
{
	buf_reset(b);
	if (set->saved)
		buf_append_str(b, "$");
	for (size_t i = 0; i < set->n; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			buf_append_str(b, ",");
		if (r->lo == IMAP_SEQ_STAR)
			buf_append_str(b, "*");
		else
			buf_printf(b, "%u", r->lo);
		buf_append_str(b, ":");
		if (r->hi == IMAP_SEQ_STAR)
			buf_append_str(b, "*");
		else
			buf_printf(b, "%u", r->hi);
	}
	if (b->data == NULL)
		buf_append_str(b, "");
}

static const struct {
	const char *in;
	const char *want;	/* NULL: refused */
} parses[] = {
	{ "1", "1:1" },
	{ "1:3", "1:3" },
	{ "5:2", "5:2" },
	{ "*", "*:*" },
	{ "1:*", "1:*" },
	{ "*:4", "*:4" },
	{ "1,3:5,7:*", "1:1,3:5,7:*" },
	{ "$", "$" },
	{ "01", "1:1" },
	{ "4294967295", "4294967295:4294967295" },
	{ "4294967296", NULL },			/* 2^32 */
	{ "18446744073709551617", NULL },	/* 2^64 + 1 */
	{ "1:4294967296", NULL },
	{ "0", NULL },
	{ "0:5", NULL },
	{ "", NULL },
	{ ",", NULL },
	{ "1,", NULL },
	{ ",1", NULL },
	{ "1,,2", NULL },
	{ "1:", NULL },
	{ ":1", NULL },
	{ "1::2", NULL },
	{ "1:2:3", NULL },
	{ "$,1", NULL },
	{ "1,$", NULL },
	{ "$$", NULL },
	{ "**", NULL },
	{ "+1", NULL },
	{ "-1", NULL },
	{ "1 ", NULL },
	{ "a", NULL },
	{ "1.5", NULL },
};

static void
test_parse(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < NCASES(parses); i++) {
		struct imap_seqset set;
		const char *error = NULL;
		int r = imap_seqset_parse(parses[i].in, strlen(parses[i].in),
		    100, &set, &error);

		if (parses[i].want == NULL) {
			TEST_EQ_INT(r, -1);
			TEST_ASSERT(error != NULL);
			TEST_ASSERT(set.ranges == NULL && set.n == 0);
			continue;
		}
		TEST_EQ_INT(r, 0);
		render(&set, &b);
		TEST_EQ_STR(b.data, parses[i].want);
		imap_seqset_clear(&set);
		TEST_ASSERT(set.ranges == NULL);
	}
	buf_clear(&b);
}

static void
test_max_ranges(void)
{
	struct imap_seqset set;
	const char *error;

	TEST_EQ_INT(imap_seqset_parse("1,2,3", 5, 3, &set, &error), 0);
	TEST_EQ_INT(set.n, 3);
	imap_seqset_clear(&set);
	TEST_EQ_INT(imap_seqset_parse("1,2,3,4", 7, 3, &set, &error), -1);
	TEST_EQ_STR(error, "Too many ranges in the sequence set");
	/* not NUL-terminated: only len octets are read */
	TEST_EQ_INT(imap_seqset_parse("12345", 2, 3, &set, &error), 0);
	TEST_EQ_INT(set.ranges[0].lo, 12);
	imap_seqset_clear(&set);
}

static const struct {
	const char *in;
	uint32_t max;
	const char *want;	/* as imap_seqset_write writes it */
} resolves[] = {
	{ "1:*", 10, "1:10" },
	{ "*", 10, "10" },
	{ "*:5", 10, "5:10" },
	{ "20:*", 10, "10:20" },	/* RFC 9051 §6.4.8 "UID n:*" */
	{ "5:2,1,9:7", 10, "1:5,7:9" },	/* reversed, sorted, merged */
	{ "1:3,4:6,6,2", 10, "1:6" },		/* adjacent and overlapping */
	{ "3,1,2", 10, "1:3" },
	{ "1:*", 0, "" },			/* empty mailbox */
	{ "1,*", 0, "1" },
	{ "4294967295,1:4294967295", 5, "1:4294967295" },
	{ "4294967295,4294967294", 5, "4294967294:4294967295" },
	{ "4294967295:*", 4294967295u, "4294967295" },
};

static void
test_resolve(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < NCASES(resolves); i++) {
		struct imap_seqset set;
		struct imap_seq_range *r;
		size_t n;
		const char *error;

		TEST_EQ_INT(imap_seqset_parse(resolves[i].in,
		    strlen(resolves[i].in), 100, &set, &error), 0);
		imap_seqset_resolve(&set, resolves[i].max, &r, &n);
		buf_reset(&b);
		TEST_EQ_INT(imap_seqset_write(r, n, &b), 0);
		TEST_EQ_STR(b.data ? b.data : "", resolves[i].want);
		if (n == 0)
			TEST_ASSERT(r == NULL);
		for (size_t j = 0; j + 1 < n; j++)
			TEST_ASSERT(r[j].hi + 1 < r[j + 1].lo);
		free(r);
		imap_seqset_clear(&set);
	}
	buf_clear(&b);
}

static void
test_contains(void)
{
	static const struct imap_seq_range r[] = {
		{ 1, 3 }, { 7, 7 }, { 10, 20 }, { 4294967290u, 4294967295u },
	};

	TEST_ASSERT(!imap_seqset_contains(r, 0, 1));
	TEST_ASSERT(!imap_seqset_contains(r, NCASES(r), 0));
	TEST_ASSERT(imap_seqset_contains(r, NCASES(r), 1));
	TEST_ASSERT(imap_seqset_contains(r, NCASES(r), 3));
	TEST_ASSERT(!imap_seqset_contains(r, NCASES(r), 4));
	TEST_ASSERT(imap_seqset_contains(r, NCASES(r), 7));
	TEST_ASSERT(!imap_seqset_contains(r, NCASES(r), 8));
	TEST_ASSERT(imap_seqset_contains(r, NCASES(r), 15));
	TEST_ASSERT(!imap_seqset_contains(r, NCASES(r), 21));
	TEST_ASSERT(imap_seqset_contains(r, NCASES(r), 4294967295u));
	TEST_ASSERT(!imap_seqset_contains(r, NCASES(r), 4294967289u));
}

static void
test_write(void)
{
	static const uint32_t v[] = { 1, 2, 3, 5, 7, 8, 8, 9, 4294967294u,
	    4294967295u };
	static const struct imap_seq_range r[] = { { 1, 3 }, { 7, 7 } };
	struct buf b;

	buf_init(&b, 0);
	TEST_EQ_INT(imap_seqset_write_list(v, NCASES(v), &b), 0);
	TEST_EQ_STR(b.data, "1:3,5,7:9,4294967294:4294967295");
	buf_reset(&b);
	TEST_EQ_INT(imap_seqset_write_list(v, 1, &b), 0);
	TEST_EQ_STR(b.data, "1");
	buf_reset(&b);
	TEST_EQ_INT(imap_seqset_write_list(v, 0, &b), 0);
	TEST_EQ_INT(b.len, 0);
	buf_clear(&b);
	/* full: -1 and the buffer as it was */
	buf_init(&b, 6);
	buf_append_str(&b, "x ");
	TEST_EQ_INT(imap_seqset_write(r, NCASES(r), &b), -1);
	TEST_EQ_STR(b.data, "x ");
	TEST_EQ_INT(imap_seqset_write_list(v, NCASES(v), &b), -1);
	TEST_EQ_STR(b.data, "x ");
	TEST_EQ_INT(imap_seqset_write(r, 1, &b), 0);
	TEST_EQ_STR(b.data, "x 1:3");
	buf_clear(&b);
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_max_ranges);
	TEST_RUN(test_resolve);
	TEST_RUN(test_contains);
	TEST_RUN(test_write);
	return test_done();
}
