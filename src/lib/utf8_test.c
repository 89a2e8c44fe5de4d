/* utf8_test.c — unit tests for utf8.c: RFC 3629 examples and hostile
   sequences with their expected verdicts, every Unicode scalar value
   round-tripped through an independent encoder, every sequence of up to
   three bytes (and every 4-byte lead pair) counted against the number
   RFC 3629 allows, and the C1 boundary of utf8_nonascii_len. */
#include "lib/utf8.h"

#include <string.h>

#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* The encoder of RFC 3629 §3, written apart from the decoder under test. */
static size_t
encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
test_cases(void)
{
	static const struct {
		const char *in;
		size_t len;		/* bytes available */
		size_t want;		/* utf8_decode's length */
		uint32_t cp;
		size_t nonascii;	/* utf8_nonascii_len */
	} cases[] = {
		/* RFC 3629 §7 examples. */
		{ "A", 1, 1, 0x41, 0 },
		{ "\xe2\x89\xa2", 3, 3, 0x2262, 3 },
		{ "\xed\x95\x9c", 3, 3, 0xd55c, 3 },
		{ "\xe6\x97\xa5", 3, 3, 0x65e5, 3 },
		{ "\xef\xbb\xbf", 3, 3, 0xfeff, 3 },
		{ "\xf0\xa3\x8e\xb4", 4, 4, 0x233b4, 4 },
		/* Edges of each length. */
		{ "", 1, 1, 0, 0 },		/* NUL is a character */
		{ "\x7f", 1, 1, 0x7f, 0 },
		{ "\xc2\x80", 2, 2, 0x80, 0 },		/* C1 */
		{ "\xc2\x85", 2, 2, 0x85, 0 },		/* C1 NEL */
		{ "\xc2\x9f", 2, 2, 0x9f, 0 },		/* C1 */
		{ "\xc2\xa0", 2, 2, 0xa0, 2 },
		{ "\xc3\xa9", 2, 2, 0xe9, 2 },
		{ "\xdf\xbf", 2, 2, 0x7ff, 2 },
		{ "\xe0\xa0\x80", 3, 3, 0x800, 3 },
		{ "\xed\x9f\xbf", 3, 3, 0xd7ff, 3 },
		{ "\xee\x80\x80", 3, 3, 0xe000, 3 },
		{ "\xef\xbf\xbf", 3, 3, 0xffff, 3 },
		{ "\xf0\x90\x80\x80", 4, 4, 0x10000, 4 },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff, 4 },
		/* Overlong forms. */
		{ "\xc0\xaf", 2, 0, 0, 0 },
		{ "\xc1\xbf", 2, 0, 0, 0 },
		{ "\xe0\x80\xaf", 3, 0, 0, 0 },
		{ "\xe0\x9f\xbf", 3, 0, 0, 0 },
		{ "\xf0\x80\x80\xaf", 4, 0, 0, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0, 0, 0 },
		/* Surrogates, past U+10FFFF, bytes never used. */
		{ "\xed\xa0\x80", 3, 0, 0, 0 },
		{ "\xed\xbf\xbf", 3, 0, 0, 0 },
		{ "\xf4\x90\x80\x80", 4, 0, 0, 0 },
		{ "\xf5\x80\x80\x80", 4, 0, 0, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0, 0, 0 },
		{ "\xfe", 1, 0, 0, 0 },
		{ "\xff", 1, 0, 0, 0 },
		/* Stray and missing continuation bytes. */
		{ "\x80", 1, 0, 0, 0 },
		{ "\xbf\x41", 2, 0, 0, 0 },
		{ "\xc3\x41", 2, 0, 0, 0 },
		{ "\xc3\xc3", 2, 0, 0, 0 },
		{ "\xe2\x82\x41", 3, 0, 0, 0 },
		{ "\xf0\x9f\x99\x41", 4, 0, 0, 0 },
		/* Cut short by len: the bytes past it are never read. */
		{ "\xc3\xa9", 1, 0, 0, 0 },
		{ "\xe2\x82\xac", 2, 0, 0, 0 },
		{ "\xf0\x9f\x99\x82", 3, 0, 0, 0 },
		{ "A", 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < NCASES(cases); i++) {
		const unsigned char *in = (const unsigned char *)cases[i].in;
		uint32_t cp = 0xdeadbeef;
		size_t n = utf8_decode(in, cases[i].len, &cp);

		if (n != cases[i].want || (n > 0 && cp != cases[i].cp))
			test_fail(__FILE__, __LINE__, "case %zu: got %zu "
			    "U+%04X, want %zu U+%04X", i, n, (unsigned)cp,
			    cases[i].want, (unsigned)cases[i].cp);
		TEST_EQ_INT(utf8_nonascii_len(in, cases[i].len),
		    cases[i].nonascii);
	}
}

/* Every scalar value decodes from its encoding to itself, and from no
   shorter prefix of it. */
static void
test_round_trip(void)
{
	unsigned bad = 0;

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		unsigned char s[4];
		uint32_t got = 0;
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = encode(cp, s);
		if (utf8_decode(s, n, &got) != n || got != cp)
			bad++;
		for (size_t k = 1; k < n; k++)
			if (utf8_decode(s, k, &got) != 0)
				bad++;
		if (utf8_nonascii_len(s, n) != (cp >= 0xa0 ? n : 0))
			bad++;
	}
	TEST_EQ_INT(bad, 0);
}

/* Exhaustive counts: RFC 3629 §4 allows 128 one-byte, 1920 two-byte
   (U+0080..U+07FF) and 61440 three-byte sequences (U+0800..U+FFFF less
   2048 surrogates), and 256 pairs of lead and second byte for four. */
static void
test_counts(void)
{
	unsigned long counts[5] = { 0 };
	static const unsigned char tails[] = { 0x00, 0x7f, 0x80, 0xbf, 0xc0,
	    0xff };
	unsigned long four = 0;

	for (uint32_t v = 0; v < 1u << 24; v++) {
		unsigned char s[3] = { (unsigned char)(v >> 16),
		    (unsigned char)(v >> 8), (unsigned char)v };
		uint32_t cp;
		size_t n = utf8_decode(s, sizeof(s), &cp);

		/* Counted only when the sequence is all of s. */
		if (n == 1 && v % (1u << 16) == 0)
			counts[1]++;
		else if (n == 2 && v % (1u << 8) == 0)
			counts[2]++;
		else if (n == 3)
			counts[3]++;
	}
	TEST_EQ_INT(counts[1], 128);
	TEST_EQ_INT(counts[2], 1920);
	TEST_EQ_INT(counts[3], 61440);

	/* Every lead and second byte, then each pair of tails. */
	for (uint32_t v = 0; v < 1u << 16; v++) {
		for (size_t t = 0; t < NCASES(tails) * NCASES(tails); t++) {
			unsigned char s[4] = { (unsigned char)(v >> 8),
			    (unsigned char)v, tails[t % NCASES(tails)],
			    tails[t / NCASES(tails)] };
			uint32_t cp;

			if (utf8_decode(s, sizeof(s), &cp) == 4)
				four++;
		}
	}
	/* 256 good pairs times the 2 x 2 continuation bytes among tails. */
	TEST_EQ_INT(four, 256 * 4);
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_counts);
	return test_done();
}
