/* fuzz_smtp_data.c — the DATA decoder on arbitrary bytes: fed whole, in
   chunks (sized by the first byte) and through a 3-byte output buffer it
   gives identical results; it consumes everything unless done or out is
   full; its output has CRLF line ends only; and once done, dot-stuffing
   the output and decoding again gives the output back unrepaired. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtp/smtp_data.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds chunks of `chunk` bytes; with room > 0, through an output buffer
   of that many bytes, drained after each call (decoding stops early when
   it is full, and must always progress with room >= 3). */
static size_t
decode(const char *in, size_t len, size_t chunk, size_t room,
    size_t max_line, struct smtp_data *d, struct buf *out)
{
	size_t pos = 0;

	smtp_data_init(d, max_line);
	while (pos < len && !d->done) {
		size_t n = len - pos < chunk ? len - pos : chunk, used;
		struct buf part;

		buf_init(&part, room);
		used = smtp_data_feed(d, in + pos, n, &part);
		CHECK(used <= n && part.len <= 2 * n + 1);
		CHECK(room > 0 ? used > 0 || d->done : d->done || used == n);
		CHECK(buf_append(out, part.data, part.len) == 0);
		buf_clear(&part);
		pos += used;
	}
	return pos;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t chunk = size > 0 ? 1 + data[0] % 16 : 1, max_line = chunk + 1;
	struct smtp_data d1, d2, d3;
	struct buf o1, o2, o3, wire;
	size_t used1;

	buf_init(&o1, 0);
	(void)buf_append(&o1, "", 0);
	used1 = decode(in, size, size + 1, 0, max_line, &d1, &o1);
	CHECK(d1.size == o1.len);
	for (size_t room = 0; room <= 3; room += 3) {
		buf_init(&o2, 0);
		(void)buf_append(&o2, "", 0);
		CHECK(decode(in, size, chunk, room, max_line, &d2, &o2) == used1);
		CHECK(d1.done == d2.done && o1.len == o2.len &&
		    memcmp(o1.data, o2.data, o1.len) == 0);
		CHECK(d1.size == d2.size && d1.bare_lf == d2.bare_lf &&
		    d1.bare_cr == d2.bare_cr && d1.long_lines == d2.long_lines);
		buf_clear(&o2);
	}
	for (size_t i = 0; i < o1.len; i++) {
		if (o1.data[i] == '\n')
			CHECK(i > 0 && o1.data[i - 1] == '\r');
		if (o1.data[i] == '\r')
			CHECK(i + 1 < o1.len ? o1.data[i + 1] == '\n' : !d1.done);
	}
	if (d1.done) {
		buf_init(&wire, 0);
		buf_init(&o3, 0);
		for (size_t i = 0; i < o1.len; i++) {
			if (o1.data[i] == '.' && (i == 0 || o1.data[i - 1] == '\n'))
				(void)buf_append(&wire, ".", 1);
			(void)buf_append(&wire, o1.data + i, 1);
		}
		(void)buf_append(&wire, ".\r\n", 3);
		CHECK(decode(wire.data, wire.len, chunk, 0, max_line, &d3,
		    &o3) == wire.len);
		CHECK(d3.done && d3.bare_lf == 0 && d3.bare_cr == 0 &&
		    o3.len == o1.len &&
		    (o1.len == 0 || memcmp(o3.data, o1.data, o1.len) == 0));
		buf_clear(&wire);
		buf_clear(&o3);
	}
	buf_clear(&o1);
	return 0;
}
