/* mutf7.c — see mutf7.h. Both directions keep a small bit accumulator:
   16 bits in per UTF-16 unit, 6 bits out per base64 character (and the
   other way round), so no run length is ever needed in advance. */
#include "mail/mutf7.h"

#include <stdbool.h>
#include <stdint.h>

#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/utf8.h"

/* RFC 3501 §5.1.3: RFC 2045 base64 with ',' in place of '/'. */
static const char mutf7_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static bool
mutf7_is_direct(uint32_t cp)
{
	return cp >= 0x20 && cp <= 0x7e;
}

/* The 6-bit value of a character of modified base64, which has ','
   where base64 has '/' (RFC 3501 §5.1.3), or -1. */
static int
mutf7_value(unsigned char c)
{
	if (c == ',')
		return 63;
	return c == '/' ? -1 : base64_value(c);
}

struct mutf7_bits {
	uint32_t acc;			/* at most 16 + 5 bits in use */
	unsigned n;			/* bits waiting in acc */
};

static int
mutf7_put_unit(struct mutf7_bits *bits, uint16_t unit, struct buf *out)
{
	bits->acc = (bits->acc << 16) | unit;
	bits->n += 16;
	while (bits->n >= 6) {
		bits->n -= 6;
		if (buf_append(out, &mutf7_alphabet[(bits->acc >> bits->n) &
		    0x3f], 1) == -1)
			return -1;
	}
	bits->acc &= (1u << bits->n) - 1;
	return 0;
}

/* Ends a base64 run: the last bits padded with zeros, then '-'. */
static int
mutf7_end_run(struct mutf7_bits *bits, struct buf *out)
{
	if (bits->n > 0 && buf_append(out, &mutf7_alphabet[(bits->acc <<
	    (6 - bits->n)) & 0x3f], 1) == -1)
		return -1;
	bits->acc = 0;
	bits->n = 0;
	return buf_append(out, "-", 1);
}

static int
mutf7_encode_cp(uint32_t cp, struct mutf7_bits *bits, struct buf *out)
{
	if (cp < 0x10000)
		return mutf7_put_unit(bits, (uint16_t)cp, out);
	cp -= 0x10000;
	if (mutf7_put_unit(bits, (uint16_t)(0xd800 | (cp >> 10)), out) == -1)
		return -1;
	return mutf7_put_unit(bits, (uint16_t)(0xdc00 | (cp & 0x3ff)), out);
}

int
mutf7_encode(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	struct mutf7_bits bits = { 0, 0 };
	size_t start = out->len, i = 0;
	bool in_run = false;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);

		if (n == 0)
			goto fail;
		i += n;
		if (mutf7_is_direct(cp)) {
			if (in_run && mutf7_end_run(&bits, out) == -1)
				goto fail;
			in_run = false;
			if (buf_append(out, cp == '&' ? "&-" : (const char *)
			    &u[i - 1], cp == '&' ? 2 : 1) == -1)
				goto fail;
			continue;
		}
		if (!in_run && buf_append(out, "&", 1) == -1)
			goto fail;
		in_run = true;
		if (mutf7_encode_cp(cp, &bits, out) == -1)
			goto fail;
	}
	if (in_run && mutf7_end_run(&bits, out) == -1)
		goto fail;
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

/* Appends the UTF-8 form of cp (a scalar value, checked by the caller). */
static int
mutf7_put_utf8(uint32_t cp, struct buf *out)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

/* Decodes the base64 run that starts at s[*i] (just past '&') up to and
   including its '-'. Returns 0 with *i past the '-', or -1. */
static int
mutf7_decode_run(const unsigned char *s, size_t len, size_t *i,
    struct buf *out)
{
	struct mutf7_bits bits = { 0, 0 };
	uint32_t high = 0;		/* a high surrogate waiting */

	for (; *i < len && s[*i] != '-'; (*i)++) {
		int v = mutf7_value(s[*i]);

		if (v < 0)
			return -1;
		bits.acc = (bits.acc << 6) | (uint32_t)v;
		bits.n += 6;
		if (bits.n < 16)
			continue;
		bits.n -= 16;
		uint32_t unit = (bits.acc >> bits.n) & 0xffff;
		bits.acc &= (1u << bits.n) - 1;

		if (unit >= 0xd800 && unit <= 0xdbff) {
			if (high != 0)
				return -1;
			high = unit;
			continue;
		}
		if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (high == 0)
				return -1;
			unit = 0x10000 + ((high - 0xd800) << 10) +
			    (unit - 0xdc00);
			high = 0;
		} else if (high != 0 || mutf7_is_direct(unit)) {
			return -1;
		}
		if (mutf7_put_utf8(unit, out) == -1)
			return -1;
	}
	/* Unterminated, a surrogate left alone, a unit cut short (6 or more
	   bits left) or padding bits that are not zero. */
	if (*i == len || high != 0 || bits.n >= 6 || bits.acc != 0)
		return -1;
	(*i)++;
	return 0;
}

int
mutf7_decode(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = out->len, i = 0;

	while (i < len) {
		unsigned char c = u[i];

		if (!mutf7_is_direct(c))
			goto fail;
		if (c != '&') {
			if (buf_append(out, &u[i], 1) == -1)
				goto fail;
			i++;
			continue;
		}
		i++;
		if (i < len && u[i] == '-') {
			if (buf_append(out, "&", 1) == -1)
				goto fail;
			i++;
			continue;
		}
		if (mutf7_decode_run(u, len, &i, out) == -1)
			goto fail;
	}
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
