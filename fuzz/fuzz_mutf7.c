/* fuzz_mutf7.c — the modified UTF-7 codec on arbitrary bytes: decoded as
   a mailbox name from a client, and encoded as UTF-8 text.
   The input is copied to a buffer of exactly its size, so a read past the
   end is caught. Checks: decoding gives well-formed UTF-8 that encodes
   and decodes to itself; encoding succeeds exactly for well-formed UTF-8,
   gives printable ASCII only, and decodes back to the input byte for byte
   (aborting on any mismatch); either direction, when out has too small a
   max, fails and leaves out as it was, and with just enough gives the
   same bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "mail/mutf7.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*fuzz_mutf7_fn)(const char *, size_t, struct buf *);

static bool
fuzz_mutf7_is_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i,
		    &cp);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* fn with out already holding a prefix and a max just under and just at
   what it needs (want[0..want_len) appended). */
static void
fuzz_mutf7_limits(fuzz_mutf7_fn fn, const char *s, size_t len,
    const char *want, size_t want_len)
{
	struct buf out;

	if (want_len > 0) {
		buf_init(&out, 3 + want_len - 1);
		CHECK(buf_append(&out, "pre", 3) == 0);
		CHECK(fn(s, len, &out) == -1);
		CHECK(out.len == 3 && memcmp(out.data, "pre", 4) == 0);
		buf_clear(&out);
	}
	buf_init(&out, 3 + want_len);
	CHECK(buf_append(&out, "pre", 3) == 0);
	CHECK(fn(s, len, &out) == 0);
	CHECK(out.len == 3 + want_len &&
	    memcmp(out.data + 3, want, want_len) == 0);
	CHECK(out.data[out.len] == '\0');
	buf_clear(&out);
}

/* The input as modified UTF-7. */
static void
fuzz_mutf7_decode(const char *s, size_t len)
{
	struct buf dec, enc, again;

	buf_init(&dec, 0);
	CHECK(buf_append(&dec, "pre", 3) == 0);
	if (mutf7_decode(s, len, &dec) == -1) {
		CHECK(dec.len == 3 && memcmp(dec.data, "pre", 4) == 0);
		buf_clear(&dec);
		return;
	}
	buf_consume(&dec, 3);
	CHECK(fuzz_mutf7_is_utf8(dec.data, dec.len));
	/* ASCII is 1 for 1, "&-" 1 for 2, and in a run 8 characters carry
	   3 UTF-16 units, 9 bytes of UTF-8 at most (a pair is 4). */
	CHECK(dec.len <= len + len / 8);
	fuzz_mutf7_limits(mutf7_decode, s, len, dec.data, dec.len);

	/* Its encoding (maybe shorter: runs joined) names the same. */
	buf_init(&enc, 0);
	buf_init(&again, 0);
	CHECK(mutf7_encode(dec.data, dec.len, &enc) == 0);
	CHECK(enc.len <= len);
	CHECK(mutf7_decode(enc.data, enc.len, &again) == 0);
	CHECK(again.len == dec.len && (dec.len == 0 ||
	    memcmp(again.data, dec.data, dec.len) == 0));
	buf_clear(&again);
	buf_clear(&enc);
	buf_clear(&dec);
}

/* The input as UTF-8 text. */
static void
fuzz_mutf7_encode(const char *s, size_t len)
{
	struct buf enc, dec;
	bool utf8 = fuzz_mutf7_is_utf8(s, len);

	buf_init(&enc, 0);
	CHECK(buf_append(&enc, "pre", 3) == 0);
	if (mutf7_encode(s, len, &enc) == -1) {
		CHECK(!utf8);
		CHECK(enc.len == 3 && memcmp(enc.data, "pre", 4) == 0);
		buf_clear(&enc);
		return;
	}
	CHECK(utf8);
	buf_consume(&enc, 3);
	for (size_t i = 0; i < enc.len; i++)
		CHECK(enc.data[i] >= 0x20 && enc.data[i] <= 0x7e);
	fuzz_mutf7_limits(mutf7_encode, s, len, enc.data, enc.len);

	/* The round trip: decode(encode(x)) == x. */
	buf_init(&dec, 0);
	CHECK(mutf7_decode(enc.data, enc.len, &dec) == 0);
	CHECK(dec.len == len && (len == 0 || memcmp(dec.data, s, len) == 0));
	buf_clear(&dec);
	buf_clear(&enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *d = malloc(size > 0 ? size : 1);

	CHECK(d != NULL);
	if (size > 0)
		memcpy(d, data, size);
	fuzz_mutf7_decode(d, size);
	fuzz_mutf7_encode(d, size);
	free(d);
	return 0;
}
