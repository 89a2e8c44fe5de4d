/* smtp_xtext.c — xtext decoding and encoding (see smtp_xtext.h).
   RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = "!".."~" except "+"
   and "=", hexchar = "+" 2HEXDIG. RFC 6533 §3: utf-8-addr-xtext and
   -unitext, where "\x{HEX}" replaces "+HH" and UTF-8 may appear raw.
   Never reads past len; output goes through a bounded struct buf. */
#include "smtp/smtp_xtext.h"

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/utf8.h"

static int
smtp_xtext_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
smtp_xtext_decode(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = smtp_xtext_hexval(p[i + 1]);
			lo = smtp_xtext_hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		if (buf_append(out, &c, 1) == -1)
			return -1;
	}
	return 0;
}

static int
smtp_xtext_put_utf8(uint32_t cp, struct buf *out)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, u, n);
}

int
smtp_xtext_decode_utf8(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];

		if (c == '\\') {
			/* EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}" */
			uint32_t cp = 0;
			size_t j = i + 3, digits = 0;
			int v;

			if (len - i < 5 || p[i + 1] != 'x' || p[i + 2] != '{')
				return -1;
			while (j < len && (v = smtp_xtext_hexval(p[j])) >= 0) {
				if (++digits > 6)
					return -1;
				cp = cp << 4 | (uint32_t)v;
				j++;
			}
			if (digits == 0 || j >= len || p[j] != '}' || cp == 0 ||
			    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
				return -1;
			if (smtp_xtext_put_utf8(cp, out) == -1)
				return -1;
			i = j + 1;
		} else if (c >= 0x80) {
			uint32_t ucp;
			size_t n = utf8_decode(p + i, len - i, &ucp);

			if (n == 0 || buf_append(out, p + i, n) == -1)
				return -1;
			i += n;
		} else {
			/* QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e */
			if (c < '!' || c > '~' || c == '+' || c == '=')
				return -1;
			if (buf_append(out, &c, 1) == -1)
				return -1;
			i++;
		}
	}
	return 0;
}

int
smtp_xtext_encode(const char *s, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c >= '!' && c <= '~' && c != '+' && c != '=') {
			if (buf_append(out, &c, 1) == -1)
				return -1;
		} else {
			char e[3] = { '+', hex[c >> 4], hex[c & 0xf] };

			if (buf_append(out, e, sizeof(e)) == -1)
				return -1;
		}
	}
	return 0;
}
