/* fuzz_dkim_canon.c — DKIM canonicalisation and tag lists on arbitrary
   bytes: the header split stays inside the input and moves forward, the
   relaxed forms are idempotent and hold no line break, no WSP run, no
   WSP at a line end, the body forms end in CRLF (relaxed: or are empty)
   without empty lines at the end, and tag lists give distinct names with
   values inside the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_tag.h"
#include "lib/buf.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* memmem/memcmp take no NULL, even for 0 bytes (an empty buf has none). */
static bool
has(const struct buf *b, const char *needle)
{
	return b->len > 0 && memmem(b->data, b->len, needle,
	    strlen(needle)) != NULL;
}

static bool
same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

static void
collect(void *ctx, const char *p, size_t len)
{
	CHECK(len > 0);
	CHECK(buf_append(ctx, p, len) == 0);
}

static void
check_body(enum dkim_canon canon, const char *p, size_t len)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	dkim_canon_body(canon, p, len, collect, &a);
	if (canon == DKIM_CANON_SIMPLE || a.len > 0) {
		CHECK(a.len >= 2 && memcmp(a.data + a.len - 2, "\r\n", 2) == 0);
		CHECK(a.len == 2 || a.len < 4 ||
		    memcmp(a.data + a.len - 4, "\r\n\r\n", 4) != 0);
	}
	if (canon == DKIM_CANON_RELAXED) {
		CHECK(!has(&a, "  ") && !has(&a, "\t") && !has(&a, " \r\n"));
	}
	/* Canonical text is its own canonical form. */
	dkim_canon_body(canon, a.data, a.len, collect, &b);
	CHECK(same(&a, &b));
	buf_clear(&a);
	buf_clear(&b);
}

static void
check_field(const struct dkim_field *f)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	CHECK(dkim_canon_header(DKIM_CANON_RELAXED, f->data, f->len, &a) == 0);
	CHECK(!has(&a, "\n") && !has(&a, "  ") && !has(&a, "\t"));
	CHECK(a.len == 0 || a.data[a.len - 1] != ' ');
	CHECK(dkim_canon_header(DKIM_CANON_RELAXED, a.data, a.len, &b) == 0);
	CHECK(same(&a, &b));
	buf_reset(&b);
	CHECK(dkim_canon_header(DKIM_CANON_SIMPLE, f->data, f->len, &b) == 0);
	CHECK(b.len >= f->len);
	buf_clear(&a);
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct dkim_field f;
	size_t pos = 0, last = 0;

	while (dkim_canon_next_field(msg, size, &pos, &f) == 1) {
		CHECK(pos > last && pos <= size);
		CHECK(f.data >= msg + last && f.data + f.len <= msg + pos);
		CHECK(f.name_len <= f.len && f.len > 0);
		check_field(&f);
		last = pos;
	}
	CHECK(pos >= last && pos <= size);
	check_body(DKIM_CANON_SIMPLE, msg + pos, size - pos);
	check_body(DKIM_CANON_RELAXED, msg + pos, size - pos);

	struct dkim_tag tags[DKIM_TAG_MAX];
	int n = dkim_tag_parse(msg, size, tags, DKIM_TAG_MAX);
	CHECK(n >= -1 && n <= DKIM_TAG_MAX);
	for (int i = 0; i < n; i++) {
		CHECK(tags[i].name >= msg &&
		    tags[i].name + tags[i].name_len <= msg + size);
		CHECK(tags[i].value >= msg &&
		    tags[i].value + tags[i].value_len <= msg + size);
		CHECK(memchr(tags[i].value, ';', tags[i].value_len) == NULL);
		for (int k = 0; k < i; k++)
			CHECK(tags[k].name_len != tags[i].name_len ||
			    memcmp(tags[k].name, tags[i].name,
			    tags[i].name_len) != 0);
	}
	return 0;
}
