/* mutf7_test.c — unit tests for the modified UTF-7 codec: RFC 3501's own
   example, both directions of a table, every way a name can be malformed,
   surrogate pairs, and a round trip over many generated strings. */
#include "mail/mutf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *utf8, *mutf7;
} pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "R&D", "R&-D" },
	{ "a&&b", "a&-&-b" },
	{ "Sent Items", "Sent Items" },
	/* RFC 3501 §5.1.3 */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
	{ "Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente" },
	{ "\xc3\xbf\xc3\xbf", "&AP8A,w-" },		/* ',' for '/' */
	{ "x\xc3\xa9\xc3\xa9\xc3\xa9y", "x&AOkA6QDp-y" },
	{ "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5"
	    "\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5",
	    "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },		/* surrogate pair */
	{ "\x01", "&AAE-" },				/* control: encoded */
	{ "a\x7f" "b", "a&AH8-b" },
};

static void
test_encode(void)
{
	for (size_t i = 0; i < NCASES(pairs); i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_EQ_INT(mutf7_encode(pairs[i].utf8, strlen(pairs[i].utf8),
		    &b), 0);
		TEST_EQ_STR(b.data ? b.data : "", pairs[i].mutf7);
		buf_clear(&b);
	}
}

static void
test_decode(void)
{
	for (size_t i = 0; i < NCASES(pairs); i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_EQ_INT(mutf7_decode(pairs[i].mutf7,
		    strlen(pairs[i].mutf7), &b), 0);
		TEST_EQ_STR(b.data ? b.data : "", pairs[i].utf8);
		buf_clear(&b);
	}
}

static const char *const bad_mutf7[] = {
	"&",			/* run never starts */
	"&U,BTFw",		/* no '-' */
	"a&Jjo!-",		/* '!' is not base64 */
	"&AGE-",		/* "a" encoded: must stand for itself */
	"&ACY-",		/* '&' encoded: must be "&-" */
	"&AO-",			/* 12 bits: a unit cut short */
	"&AOl-",		/* leftover bits not zero */
	"&2D0-",		/* high surrogate alone */
	"&3gA-",		/* low surrogate alone */
	"&2D3YPQ-",		/* two high surrogates */
	"&2D0AYQ-",		/* high surrogate then a BMP unit */
	"a\x01",		/* control byte raw */
	"\xc3\xa9",		/* 8-bit byte raw */
	"a\tb",
	"&AOk=-",		/* padding is not modified base64 */
	"&AOk/-",		/* '/' is ',' here */
};

static void
test_decode_bad(void)
{
	for (size_t i = 0; i < NCASES(bad_mutf7); i++) {
		struct buf b;

		buf_init(&b, 0);
		(void)buf_append(&b, "keep", 4);
		if (mutf7_decode(bad_mutf7[i], strlen(bad_mutf7[i]), &b) != -1)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"",
			    bad_mutf7[i]);
		TEST_EQ_STR(b.data, "keep");	/* left as it was */
		buf_clear(&b);
	}
}

static const char *const bad_utf8[] = {
	"\xc3",			/* cut short */
	"\xc0\xaf",		/* overlong */
	"\xed\xa0\x80",		/* surrogate */
	"\xf4\x90\x80\x80",	/* past U+10FFFF */
	"ok\xff",
};

static void
test_encode_bad(void)
{
	for (size_t i = 0; i < NCASES(bad_utf8); i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_EQ_INT(mutf7_encode(bad_utf8[i], strlen(bad_utf8[i]), &b),
		    -1);
		TEST_EQ_INT(b.len, 0);
		buf_clear(&b);
	}
}

/* Lengths are honoured: nothing past len is read, and NUL is a character
   like any other. */
static void
test_lengths(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_EQ_INT(mutf7_decode("&U,BTFw-xyz", 8, &b), 0);
	TEST_EQ_STR(b.data, "\xe5\x8f\xb0\xe5\x8c\x97");
	buf_reset(&b);
	TEST_EQ_INT(mutf7_encode("a\0b", 3, &b), 0);
	TEST_EQ_STR(b.data, "a&AAA-b");
	buf_reset(&b);
	TEST_EQ_INT(mutf7_decode("a&AAA-b", 7, &b), 0);
	TEST_EQ_INT(b.len, 3);
	TEST_ASSERT(memcmp(b.data, "a\0b", 3) == 0);
	buf_clear(&b);

	/* A full buffer fails cleanly. */
	buf_init(&b, 4);
	TEST_EQ_INT(mutf7_encode("\xc3\xa9", 2, &b), -1);
	TEST_EQ_INT(b.len, 0);
	TEST_EQ_INT(mutf7_decode("abcde", 5, &b), -1);
	TEST_EQ_INT(b.len, 0);
	buf_clear(&b);
}

/* Appends the UTF-8 form of a scalar value. */
static void
put_cp(struct buf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xc0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xe0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | (cp >> 18));
		s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		s[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	(void)buf_append(b, s, n);
}

/* Strings of 1 to 8 characters mixing ASCII, '&', Latin, CJK and
   astral planes: encoding gives only printable ASCII and decodes back
   to the same bytes. */
static void
test_round_trip(void)
{
	static const uint32_t pool[] = {
		'a', '&', '-', ' ', '~', 0x01, 0xe9, 0x3b1, 0x65e5, 0xfffd,
		0xff, 0x10000, 0x1f600, 0x10fffd, 0xd7ff, 0xe000,
	};
	uint32_t seed = 12345;

	for (int round = 0; round < 5000; round++) {
		struct buf in, enc, dec;
		int n = 1 + round % 8;

		buf_init(&in, 0);
		buf_init(&enc, 0);
		buf_init(&dec, 0);
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			put_cp(&in, pool[(seed >> 16) % NCASES(pool)]);
		}
		TEST_EQ_INT(mutf7_encode(in.data, in.len, &enc), 0);
		for (size_t k = 0; k < enc.len; k++)
			TEST_ASSERT(enc.data[k] >= 0x20 && enc.data[k] <= 0x7e);
		TEST_EQ_INT(mutf7_decode(enc.data, enc.len, &dec), 0);
		TEST_EQ_INT(dec.len, in.len);
		TEST_ASSERT(dec.len == in.len &&
		    memcmp(dec.data, in.data, in.len) == 0);
		buf_clear(&in);
		buf_clear(&enc);
		buf_clear(&dec);
	}
}

/* Every string of up to three characters from a hostile alphabet decodes
   or fails without reading out of bounds, and whatever decodes is
   well-formed UTF-8 that encodes to printable ASCII again. */
static void
test_every_short_input(void)
{
	static const char alphabet[] = "&-A,/+a0\x80";
	size_t na = sizeof(alphabet) - 1;

	for (size_t len = 0; len <= 4; len++) {
		size_t total = 1;

		for (size_t k = 0; k < len; k++)
			total *= na;
		for (size_t v = 0; v < total; v++) {
			char s[4];
			struct buf dec, enc;
			size_t x = v;

			for (size_t k = 0; k < len; k++) {
				s[k] = alphabet[x % na];
				x /= na;
			}
			buf_init(&dec, 0);
			buf_init(&enc, 0);
			if (mutf7_decode(s, len, &dec) == 0)
				TEST_EQ_INT(mutf7_encode(dec.data ? dec.data :
				    "", dec.len, &enc), 0);
			buf_clear(&dec);
			buf_clear(&enc);
		}
	}
}

int
main(void)
{
	TEST_RUN(test_encode);
	TEST_RUN(test_decode);
	TEST_RUN(test_decode_bad);
	TEST_RUN(test_encode_bad);
	TEST_RUN(test_lengths);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_every_short_input);
	return test_done();
}
