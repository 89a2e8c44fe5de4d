/* base64.c — RFC 4648 base64 for SASL, stored password hashes, MIME and
   modified UTF-7: one alphabet, one strict decoder, one encoder. */
#include "lib/base64.h"

#include <stdbool.h>
#include <stdint.h>

#include "lib/xmalloc.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t len, unsigned char *out,
    size_t out_cap, size_t *len_r)
{
	size_t o = 0;

	*len_r = 0;
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];
		unsigned pad = 0;
		uint32_t n;

		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && last && k >= 2) {
				/* "x=" then "=": padding only runs to the
				   end of the last group. */
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -1;	/* data after '=' */
			if ((v[k] = base64_value(c)) < 0)
				return -1;
		}
		n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* RFC 4648 §3.5: the bits the padding leaves over are zero
		   in canonical encodings; anything else is not what a real
		   encoder wrote. */
		if ((pad == 1 && (n & 0xff) != 0) ||
		    (pad == 2 && (n & 0xffff) != 0))
			return -1;
		if (o > out_cap || out_cap - o < 3 - pad)
			return -1;
		out[o++] = (unsigned char)(n >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(n >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)n;
	}
	*len_r = o;
	return 0;
}

size_t
base64_encode(const void *in, size_t len, char *out,
    size_t out_cap)
{
	const unsigned char *p = in;
	size_t o = 0;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2 ||
	    out_cap < (len + 2) / 3 * 4 + 1)
		panic("base64_encode: output of %zu for %zu bytes",
		    out_cap, len);
	for (size_t i = 0; i < len; i += 3) {
		size_t rest = len - i;
		uint32_t n = (uint32_t)p[i] << 16;

		if (rest > 1)
			n |= (uint32_t)p[i + 1] << 8;
		if (rest > 2)
			n |= p[i + 2];
		out[o++] = base64_alphabet[(n >> 18) & 63];
		out[o++] = base64_alphabet[(n >> 12) & 63];
		out[o++] = rest > 1 ? base64_alphabet[(n >> 6) & 63] : '=';
		out[o++] = rest > 2 ? base64_alphabet[n & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

