/* pop3d_dot_test.c — the RETR/TOP body encoder: dot-stuffing at every line
   start (after CRLF and after a bare LF), the CRLF added before the
   terminator, TOP's header and line count, and the same output whether
   the message comes whole, byte by byte or in random chunks; then a
   decoder written the way clients read (split on LF, drop one leading dot)
   must give back the message. */
#include "pop3d/pop3d_dot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

/* Encodes in (len) in chunks of at most step octets (0: at once). */
static char *
encode(const char *in, size_t len, bool top, uint32_t lines, size_t step,
    size_t *out_len)
{
	struct pop3d_dot d;
	struct buf out;
	size_t pos = 0;

	buf_init(&out, 2 * len + POP3D_DOT_FINISH_MAX + 1);
	pop3d_dot_init(&d, top, lines);
	while (pos < len && !d.done) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		size_t used = pop3d_dot_encode(&d, in + pos, n, &out);

		TEST_ASSERT(used == n || d.done);
		pos += used;
	}
	pop3d_dot_finish(&d, &out);
	buf_append(&out, "", 0);
	*out_len = out.len;
	return buf_steal(&out);
}

static const struct {
	const char *in;
	bool top;
	uint32_t lines;
	const char *want;
} cases[] = {
	{ "", false, 0, ".\r\n" },
	{ "a\r\n", false, 0, "a\r\n.\r\n" },
	{ "a", false, 0, "a\r\n.\r\n" },
	{ "a\r", false, 0, "a\r\r\n.\r\n" },
	{ "a\n", false, 0, "a\n\r\n.\r\n" },
	{ ".\r\n", false, 0, "..\r\n.\r\n" },
	{ "a\r\n.\r\n..b\r\n.", false, 0, "a\r\n..\r\n...b\r\n..\r\n.\r\n" },
	{ "a\n.b\n", false, 0, "a\n..b\n\r\n.\r\n" },
	{ "a.b\r\n c.\r\n", false, 0, "a.b\r\n c.\r\n.\r\n" },
	/* TOP: the header, the blank line, n body lines. */
	{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 0,
	  "H: 1\r\nH: 2\r\n\r\n.\r\n" },
	{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 2,
	  "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
	{ "H: 1\r\n\r\nb1\r\n", true, 5, "H: 1\r\n\r\nb1\r\n.\r\n" },
	{ "H: 1\r\n\r\nb1", true, 5, "H: 1\r\n\r\nb1\r\n.\r\n" },
	{ "H: 1\r\n\r\n.b1\r\n\r\nb3\r\n", true, 2,
	  "H: 1\r\n\r\n..b1\r\n\r\n.\r\n" },
	/* No body at all: the whole message is the header. */
	{ "H: 1\r\nH: 2\r\n", true, 3, "H: 1\r\nH: 2\r\n.\r\n" },
	{ "H: 1", true, 0, "H: 1\r\n.\r\n" },
	/* A bare-LF blank line ends the header too. */
	{ "H: 1\n\nb1\nb2\n", true, 1, "H: 1\n\nb1\n\r\n.\r\n" },
	/* A line of one CR is not blank. */
	{ "H: 1\r\n\r\r\nx\r\n\r\nb\r\n", true, 0,
	  "H: 1\r\n\r\r\nx\r\n\r\n.\r\n" },
	{ "\r\nbody\r\n", true, 0, "\r\n.\r\n" },
};

static void
test_cases(void)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			size_t n;
			char *out = encode(cases[i].in, strlen(cases[i].in),
			    cases[i].top, cases[i].lines, steps[k], &n);

			if (n != strlen(cases[i].want) ||
			    memcmp(out, cases[i].want, n) != 0)
				test_fail(__FILE__, __LINE__, "case %zu step "
				    "%zu: got \"%.*s\"", i, steps[k], (int)n,
				    out);
			free(out);
		}
	}
}

/* What a client does (poplib): lines split on LF, a leading ".." loses a
   dot, "." alone ends; then the CRLF owed before the end is dropped
   again. Returns the message, or NULL when the end never came. */
static char *
client_decode(const char *in, size_t len, size_t *out_len)
{
	struct buf out;
	size_t pos = 0;

	buf_init(&out, 0);
	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t n;

		if (lf == NULL)
			break;
		n = (size_t)(lf - (in + pos)) + 1;
		if (n == 3 && memcmp(in + pos, ".\r\n", 3) == 0) {
			buf_append(&out, "", 0);
			*out_len = out.len;
			return buf_steal(&out);
		}
		if (in[pos] == '.')
			buf_append(&out, in + pos + 1, n - 1);
		else
			buf_append(&out, in + pos, n);
		pos += n;
	}
	buf_clear(&out);
	return NULL;
}

/* Random messages of dots, CR, LF and letters: the client gets back the
   message (with CRLF appended when it lacked one), from any chunking. */
static void
test_round_trip(void)
{
	static const char alphabet[] = "..\r\n\nab";
	uint32_t seed = 99;

	for (int round = 0; round < 3000; round++) {
		char msg[64];
		size_t len, n, back_len = 0, whole_len;
		char *out, *back, *whole;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(msg);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			msg[i] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		whole = encode(msg, len, false, 0, 0, &whole_len);
		out = encode(msg, len, false, 0, 1 + round % 5, &n);
		TEST_ASSERT(n == whole_len && memcmp(out, whole, n) == 0);
		TEST_ASSERT(n <= 2 * len + POP3D_DOT_FINISH_MAX);
		back = client_decode(out, n, &back_len);
		TEST_ASSERT(back != NULL);
		if (back != NULL) {
			bool crlf = len >= 2 && msg[len - 2] == '\r' &&
			    msg[len - 1] == '\n';

			TEST_EQ_INT(back_len, len == 0 || crlf ? len : len + 2);
			TEST_ASSERT(memcmp(back, msg, len) == 0);
		}
		free(back);
		free(out);
		free(whole);
	}
}

static void
test_top_stops_reading(void)
{
	static const char msg[] = "A: b\r\n\r\n1\r\n2\r\n3\r\n";
	struct pop3d_dot d;
	struct buf out;
	size_t used;

	buf_init(&out, 2 * sizeof(msg) + POP3D_DOT_FINISH_MAX);
	pop3d_dot_init(&d, true, 1);
	used = pop3d_dot_encode(&d, msg, sizeof(msg) - 1, &out);
	/* It took the header, the blank line and "1\r\n", no more. */
	TEST_EQ_INT(used, 11);
	TEST_ASSERT(d.done);
	TEST_EQ_INT(pop3d_dot_encode(&d, msg + used, 3, &out), 0);
	TEST_EQ_INT(d.sent, 11);
	buf_clear(&out);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_top_stops_reading);
	return test_done();
}
