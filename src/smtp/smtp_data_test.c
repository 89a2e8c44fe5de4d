/* smtp_data_test.c — unit tests for the DATA decoder: the smuggling
   sequences, unstuffing, repairs and counters, fed whole and byte at a
   time; an exhaustive comparison with a line-splitting reference model
   over every short input; and a 1 MiB random body through a dot-stuffing
   encoder written here, in random chunk sizes. */
#include "smtp/smtp_data.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

struct result {
	struct buf out;
	size_t consumed;
	struct smtp_data d;
};

/* Feeds in[0..len) in chunks of `chunk` bytes (0: all at once), each call
   into its own buffer bounded by the documented 2 * len + 1, so a broken
   bound panics the test. */
static void
decode(const char *in, size_t len, size_t chunk, size_t max_line,
    struct result *r)
{
	smtp_data_init(&r->d, max_line);
	buf_init(&r->out, 0);
	r->consumed = 0;
	while (r->consumed < len && !r->d.done) {
		size_t n = chunk == 0 || chunk > len - r->consumed ?
		    len - r->consumed : chunk;
		struct buf part;
		size_t used;

		buf_init(&part, 2 * n + 1);
		used = smtp_data_feed(&r->d, in + r->consumed, n, &part);
		TEST_ASSERT(used <= n);
		if (!r->d.done)
			TEST_EQ_INT(used, n);
		TEST_ASSERT(buf_append(&r->out, part.data, part.len) == 0);
		buf_clear(&part);
		r->consumed += used;
	}
	if (r->out.data == NULL)
		(void)buf_append(&r->out, "", 0);
}

/* The same through an output buffer of `room` bytes, drained after every
   call: decoding stops early when out is full and resumes losslessly. */
static void
decode_tiny(const char *in, size_t len, size_t room, struct result *r)
{
	smtp_data_init(&r->d, 4);
	buf_init(&r->out, 0);
	(void)buf_append(&r->out, "", 0);
	r->consumed = 0;
	while (r->consumed < len && !r->d.done) {
		struct buf part;
		size_t used;

		buf_init(&part, room);
		used = smtp_data_feed(&r->d, in + r->consumed,
		    len - r->consumed, &part);
		TEST_ASSERT(used > 0 || r->d.done);
		TEST_ASSERT(part.len <= room);
		(void)buf_append(&r->out, part.data, part.len);
		buf_clear(&part);
		r->consumed += used;
		if (used == 0)
			break;
	}
}

static bool
same_result(const struct result *a, const struct result *b)
{
	return a->consumed == b->consumed && a->out.len == b->out.len &&
	    memcmp(a->out.data, b->out.data, a->out.len) == 0 &&
	    a->d.done == b->d.done && a->d.size == b->d.size &&
	    a->d.bare_lf == b->d.bare_lf && a->d.bare_cr == b->d.bare_cr &&
	    a->d.long_lines == b->d.long_lines;
}

/* A string literal and its length: the cases may hold NUL. */
#define S(x) x, sizeof(x) - 1

static const struct {
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
	bool done;
	size_t left;		/* bytes not consumed: the next command */
	unsigned bare_lf, bare_cr;
} cases[] = {
	{ S(".\r\n"), S(""), true, 0, 0, 0 },
	{ S("a\r\n.\r\n"), S("a\r\n"), true, 0, 0, 0 },
	{ S("a\r\n.\r\nQUIT\r\n"), S("a\r\n"), true, 6, 0, 0 },
	{ S("\r\n.\r\n"), S("\r\n"), true, 0, 0, 0 },
	{ S("..a\r\n.\r\n"), S(".a\r\n"), true, 0, 0, 0 },
	{ S(".a\r\n.\r\n"), S("a\r\n"), true, 0, 0, 0 },
	{ S("a\r\n..\r\n.\r\n"), S("a\r\n.\r\n"), true, 0, 0, 0 },
	{ S("a.b\r\n.\r\n"), S("a.b\r\n"), true, 0, 0, 0 },
	{ S("a\r\n...\r\n.\r\n"), S("a\r\n..\r\n"), true, 0, 0, 0 },
	/* the smuggling sequences: data, never an end */
	{ S("a\n.\nb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 2, 0 },
	{ S("a\n.\r\nb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 1, 0 },
	{ S("a\r\n.\nb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 1, 0 },
	{ S("a\r.\r\nb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 0, 1 },
	{ S("a\r\n.\rb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 0, 1 },
	{ S("a\r.\rb\r\n.\r\n"), S("a\r\n\r\nb\r\n"), true, 0, 0, 2 },
	{ S("a\n.\n"), S("a\r\n\r\n"), false, 0, 2, 0 },
	{ S("a\r\n.\n"), S("a\r\n\r\n"), false, 0, 1, 0 },
	{ S("a\n.\r\n"), S("a\r\n\r\n"), false, 0, 1, 0 },
	{ S("a\r.\r\n"), S("a\r\n\r\n"), false, 0, 0, 1 },
	{ S("a\r.\r"), S("a\r\n\r"), false, 0, 0, 1 },
	{ S(".\n"), S("\r\n"), false, 0, 1, 0 },
	{ S(".\r"), S(""), false, 0, 0, 0 },		/* held: may end */
	{ S("."), S(""), false, 0, 0, 0 },
	{ S("a\r"), S("a\r"), false, 0, 0, 0 },	/* LF or repair to come */
	/* repairs */
	{ S("a\nb\r\n.\r\n"), S("a\r\nb\r\n"), true, 0, 1, 0 },
	{ S("a\rb\r\n.\r\n"), S("a\r\nb\r\n"), true, 0, 0, 1 },
	{ S("a\r\r\n.\r\n"), S("a\r\n\r\n"), true, 0, 0, 1 },
	{ S("a\n\r\n.\r\n"), S("a\r\n\r\n"), true, 0, 1, 0 },
	{ S("a\n\n\r\n.\r\n"), S("a\r\n\r\n\r\n"), true, 0, 2, 0 },
	/* a real CRLF after repairs starts a real line again */
	{ S("\n\r\n.\r\n"), S("\r\n\r\n"), true, 0, 1, 0 },
	{ S("\r\r\n.\r\n"), S("\r\n\r\n"), true, 0, 0, 1 },
	/* binary-safe */
	{ S("\0\xff\r\n.\r\n"), S("\0\xff\r\n"), true, 0, 0, 0 },
	{ S(""), S(""), false, 0, 0, 0 },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < NCASES(cases); i++) {
		const char *in = cases[i].in;
		size_t len = cases[i].in_len, olen = cases[i].out_len;
		struct result whole, bytes;

		decode(in, len, 0, 0, &whole);
		decode(in, len, 1, 0, &bytes);
		if (whole.out.len != olen ||
		    memcmp(whole.out.data, cases[i].out, olen) != 0)
			fprintf(stderr, "case %zu: output differs\n", i);
		TEST_EQ_INT(whole.out.len, olen);
		TEST_ASSERT(memcmp(whole.out.data, cases[i].out, olen) == 0);
		TEST_EQ_INT(whole.d.done, cases[i].done);
		TEST_EQ_INT(whole.consumed, len - cases[i].left);
		TEST_EQ_INT(whole.d.bare_lf, cases[i].bare_lf);
		TEST_EQ_INT(whole.d.bare_cr, cases[i].bare_cr);
		TEST_EQ_INT(whole.d.size, olen);
		TEST_ASSERT(same_result(&whole, &bytes));
		buf_clear(&whole.out);
		buf_clear(&bytes.out);
	}
}

/* Feeding "needs more" until the terminator's last byte arrives. */
static void
test_byte_at_a_time(void)
{
	static const char in[] = "Subject: x\r\n\r\nbody\n.\nMAIL FROM:<e@x>\r\n"
	    "\r.\r\n.\r\nQUIT\r\n";
	size_t len = sizeof(in) - 1, end = strstr(in, "\r\n.\r\nQUIT") - in + 5;
	struct smtp_data d;
	struct buf out;

	smtp_data_init(&d, 0);
	buf_init(&out, 0);
	for (size_t i = 0; i < len; i++) {
		size_t used = smtp_data_feed(&d, in + i, 1, &out);

		if (i < end) {
			TEST_EQ_INT(used, 1);
			TEST_EQ_INT(d.done, i == end - 1);
		} else {
			TEST_EQ_INT(used, 0);	/* the next command stays */
		}
	}
	TEST_EQ_STR(out.data, "Subject: x\r\n\r\nbody\r\n\r\nMAIL FROM:<e@x>\r\n"
	    "\r\n\r\n");
	TEST_EQ_INT(d.bare_lf, 2);
	TEST_EQ_INT(d.bare_cr, 1);
	TEST_EQ_INT(smtp_data_feed(&d, "x", 1, &out), 0);
	buf_clear(&out);
}

static void
test_long_lines(void)
{
	static const struct {
		const char *in;
		size_t max_line;
		unsigned long_lines;
	} lcases[] = {
		{ "12345678\r\n.\r\n", 10, 0 },
		{ "123456789\r\n.\r\n", 10, 1 },
		{ ".12345678\r\n.\r\n", 10, 0 },	/* the stuffing dot */
		{ "..2345678\r\n.\r\n", 10, 0 },
		{ "..23456789\r\n.\r\n", 10, 1 },
		{ "123456789012345678901234567890\r\n.\r\n", 10, 1 },
		{ "123456789\r\n123456789\n12\r\n123456789\r.\r\n", 10, 3 },
		{ "1\r\n.\r\n", 1, 1 },
		{ "\r\n.\r\n", 1, 0 },
	};
	for (size_t i = 0; i < NCASES(lcases); i++) {
		const char *in = lcases[i].in;
		struct result whole, bytes;

		decode(in, strlen(in), 0, lcases[i].max_line, &whole);
		decode(in, strlen(in), 1, lcases[i].max_line, &bytes);
		TEST_EQ_INT(whole.d.long_lines, lcases[i].long_lines);
		TEST_ASSERT(same_result(&whole, &bytes));
		buf_clear(&whole.out);
		buf_clear(&bytes.out);
	}
	/* default: 998 octets of text + CRLF */
	char *line = xmalloc(1003);
	struct result r;

	memset(line, 'x', 998);
	memcpy(line + 998, "\r\n.\r\n", 5);
	decode(line, 1003, 0, 0, &r);
	TEST_EQ_INT(r.d.long_lines, 0);
	buf_clear(&r.out);
	free(line);
	line = xmalloc(1004);
	memset(line, 'x', 999);
	memcpy(line + 999, "\r\n.\r\n", 5);
	decode(line, 1004, 7, 0, &r);
	TEST_EQ_INT(r.d.long_lines, 1);
	TEST_ASSERT(r.d.done);
	buf_clear(&r.out);
	free(line);
}

/* Independent model: the end is the first ".\r\n" at the start of the
   input or right after a "\r\n"; before it, split into lines at CRLF, CR
   or LF, drop one leading dot per line, and end every line with CRLF. */
static void
reference(const char *in, size_t len, struct buf *out, size_t *consumed_r,
    bool *done_r)
{
	size_t end = len, i = 0;

	*done_r = false;
	for (size_t k = 0; k + 3 <= len; k++) {
		if (memcmp(in + k, ".\r\n", 3) == 0 &&
		    (k == 0 || (k >= 2 && memcmp(in + k - 2, "\r\n", 2) == 0))) {
			end = k;
			*done_r = true;
			break;
		}
	}
	buf_init(out, 0);
	(void)buf_append(out, "", 0);
	while (i < end) {
		size_t j = i, s = i;

		while (j < end && in[j] != '\r' && in[j] != '\n')
			j++;
		if (j > i && in[i] == '.')
			s++;
		(void)buf_append(out, in + s, j - s);
		if (j == end)
			break;
		j += in[j] == '\r' && j + 1 < end && in[j + 1] == '\n' ? 2 : 1;
		(void)buf_append(out, "\r\n", 2);
		i = j;
	}
	*consumed_r = *done_r ? end + 3 : len;
}

/* Every string of up to 7 bytes over { '.', CR, LF, 'a' }, terminated:
   decoder == reference, whole == byte at a time == split in two. Alone
   (not terminated): whole == byte at a time, and no bare CR or LF in the
   output but for a trailing CR whose LF may follow. */
static void
test_exhaustive(void)
{
	static const char alphabet[] = { '.', '\r', '\n', 'a' };
	char in[16];

	for (size_t n = 0; n <= 7; n++) {
		size_t total = 1;

		for (size_t i = 0; i < n; i++)
			total *= 4;
		for (size_t v = 0; v < total; v++) {
			size_t x = v;
			struct result whole, bytes, split;
			struct buf ref;
			size_t ref_consumed;
			bool ref_done;

			for (size_t i = 0; i < n; i++, x /= 4)
				in[i] = alphabet[x % 4];

			/* alone */
			decode(in, n, 0, 4, &whole);
			decode(in, n, 1, 4, &bytes);
			TEST_ASSERT(same_result(&whole, &bytes));
			for (size_t i = 0; i < whole.out.len; i++) {
				char c = whole.out.data[i];

				if (c == '\n')
					TEST_ASSERT(i > 0 && whole.out.data[i - 1] == '\r');
				if (c == '\r' && i + 1 < whole.out.len)
					TEST_ASSERT(whole.out.data[i + 1] == '\n');
			}
			buf_clear(&whole.out);
			buf_clear(&bytes.out);

			/* terminated */
			memcpy(in + n, "\r\n.\r\n", 5);
			decode(in, n + 5, 0, 4, &whole);
			decode(in, n + 5, 1, 4, &bytes);
			decode(in, n + 5, n / 2 + 1, 4, &split);
			reference(in, n + 5, &ref, &ref_consumed, &ref_done);
			TEST_ASSERT(whole.d.done && ref_done);
			TEST_EQ_INT(whole.consumed, ref_consumed);
			if (whole.out.len != ref.len ||
			    memcmp(whole.out.data, ref.data, ref.len) != 0) {
				test_fail(__FILE__, __LINE__, "n=%zu v=%zu: "
				    "decoder and reference differ", n, v);
			}
			TEST_ASSERT(same_result(&whole, &bytes));
			TEST_ASSERT(same_result(&whole, &split));
			buf_clear(&bytes.out);
			buf_clear(&split.out);
			for (size_t room = 3; room <= 4; room++) {
				decode_tiny(in, n + 5, room, &bytes);
				TEST_ASSERT(same_result(&whole, &bytes));
				buf_clear(&bytes.out);
			}
			buf_clear(&whole.out);
			buf_clear(&ref);
		}
	}
}

/* Deterministic xorshift, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The sender's side (RFC 5321 §4.5.2): double a leading dot, end with
   CRLF "." CRLF. body ends with CRLF. */
static void
dot_stuff(const char *body, size_t len, struct buf *out)
{
	bool sol = true;

	for (size_t i = 0; i < len; i++) {
		if (sol && body[i] == '.')
			TEST_ASSERT(buf_append(out, ".", 1) == 0);
		TEST_ASSERT(buf_append(out, body + i, 1) == 0);
		sol = body[i] == '\n';
	}
	TEST_ASSERT(buf_append(out, ".\r\n", 3) == 0);
}

static void
test_random_body(void)
{
	struct buf body, wire, out;
	struct smtp_data d;
	size_t pos = 0;

	buf_init(&body, 0);
	buf_init(&wire, 0);
	buf_init(&out, 0);
	while (body.len < 1024 * 1024) {
		size_t n = rng() % 120;
		unsigned kind = rng() % 8;

		if (kind == 0)
			(void)buf_append(&body, ".", 1);
		else if (kind == 1)
			(void)buf_append(&body, "..", 2);
		for (size_t i = 0; i < n; i++) {
			char c = (char)(rng() % 256);

			if (c == '\r' || c == '\n')
				c = '.';	/* lines hold no CR or LF */
			(void)buf_append(&body, &c, 1);
		}
		(void)buf_append(&body, "\r\n", 2);
	}
	dot_stuff(body.data, body.len, &wire);
	(void)buf_append(&wire, "QUIT\r\n", 6);

	smtp_data_init(&d, 0);
	while (!d.done && pos < wire.len) {
		size_t n = 1 + rng() % 4096;

		if (n > wire.len - pos)
			n = wire.len - pos;
		pos += smtp_data_feed(&d, wire.data + pos, n, &out);
	}
	TEST_ASSERT(d.done);
	TEST_EQ_INT(wire.len - pos, 6);		/* QUIT stays */
	TEST_EQ_INT(out.len, body.len);
	TEST_ASSERT(memcmp(out.data, body.data, body.len) == 0);
	TEST_EQ_INT(d.size, body.len);
	TEST_EQ_INT(d.bare_lf, 0);
	TEST_EQ_INT(d.bare_cr, 0);
	TEST_EQ_INT(d.long_lines, 0);
	buf_clear(&body);
	buf_clear(&wire);
	buf_clear(&out);
}

/* The documented bound is tight: ".\r" held, then one byte gives three;
   with less room the decoder stops early instead, losing nothing. */
static void
test_output_bound(void)
{
	struct smtp_data d;
	struct buf out;

	smtp_data_init(&d, 0);
	buf_init(&out, 3);
	TEST_EQ_INT(smtp_data_feed(&d, ".\r", 2, &out), 2);
	TEST_EQ_INT(out.len, 0);
	TEST_EQ_INT(smtp_data_feed(&d, "x", 1, &out), 1);
	TEST_EQ_INT(out.len, 3);
	TEST_EQ_STR(out.data, "\r\nx");
	buf_clear(&out);

	smtp_data_init(&d, 0);
	buf_init(&out, 2);
	TEST_EQ_INT(smtp_data_feed(&d, ".\r", 2, &out), 2);
	TEST_EQ_INT(smtp_data_feed(&d, "x", 1, &out), 0);	/* no room */
	TEST_EQ_INT(out.len, 0);
	TEST_EQ_INT(d.size, 0);
	TEST_EQ_INT(d.bare_cr, 0);
	buf_clear(&out);
	buf_init(&out, 3);
	TEST_EQ_INT(smtp_data_feed(&d, "x", 1, &out), 1);	/* resumed */
	TEST_EQ_STR(out.data, "\r\nx");
	TEST_EQ_INT(d.bare_cr, 1);
	buf_clear(&out);

	/* 2 * len, the bound before ".\r" was accounted: the last byte waits */
	static const char lfs[] = "x\n\n\n";
	smtp_data_init(&d, 0);
	buf_init(&out, 0);
	TEST_EQ_INT(smtp_data_feed(&d, "a\r\n.\r", 5, &out), 5);
	buf_clear(&out);
	buf_init(&out, 8);
	TEST_EQ_INT(smtp_data_feed(&d, lfs, 4, &out), 3);
	TEST_EQ_STR(out.data, "\r\nx\r\n\r\n");
	buf_clear(&out);
	buf_init(&out, 8);
	TEST_EQ_INT(smtp_data_feed(&d, lfs + 3, 1, &out), 1);
	TEST_EQ_STR(out.data, "\r\n");
	TEST_EQ_INT(d.bare_lf, 3);
	buf_clear(&out);

	/* a long run is cut to the room left */
	smtp_data_init(&d, 0);
	buf_init(&out, 4);
	TEST_EQ_INT(smtp_data_feed(&d, "abcdefgh", 8, &out), 4);
	TEST_EQ_STR(out.data, "abcd");
	buf_clear(&out);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_byte_at_a_time);
	TEST_RUN(test_long_lines);
	TEST_RUN(test_exhaustive);
	TEST_RUN(test_random_body);
	TEST_RUN(test_output_bound);
	return test_done();
}
