/* mime_rfc2047.c — RFC 2047 encoded words in unstructured header values,
   decoded to UTF-8.

   The decoded bytes of adjacent words in the same charset are converted
   together, because senders split multi-byte characters (and ISO-2022-JP
   escape sequences) across words; the whitespace between adjacent words
   is dropped (RFC 2047 §6.2). A word that does not parse is ordinary text.
   Decoding is lenient (a stray '=' in Q, missing base64 padding) since a
   display string is better than none; what cannot be converted becomes
   U+FFFD, as does NUL, so the result is valid UTF-8 without NUL. iconv
   descriptors are opened per call: no shared state between threads. */
#include "mail/mime.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "mail/mime_private.h"

#define MIME_RFC2047_FFFD "\xef\xbf\xbd"
/* RFC 2978 names are at most 40 characters */
#define MIME_RFC2047_CHARSET_MAX 64

struct mime_word {
	const char *start, *end;	/* the whole "=?...?=" */
	const char *charset;
	size_t charset_len;
	char enc;			/* 'B' or 'Q' */
	const char *text, *text_end;
};

/* Appends s[0..len) keeping well-formed UTF-8 and replacing the rest. */
static int
mime_rfc2047_utf8(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = p[i] < 0x80 && p[i] != 0 ? 1 :
		    utf8_decode(p + i, len - i, &cp);

		if (n > 0 && !(n == 1 && p[i] == 0)) {
			i += n;
			continue;
		}
		if (buf_append(out, s + start, i - start) < 0 ||
		    buf_append_str(out, MIME_RFC2047_FFFD) < 0)
			return -1;
		start = ++i;
	}
	return buf_append(out, s + start, len - start);
}

/* An encoded word at p: "=?" charset ["*" lang] "?" B|Q "?" text "?=".
   When there is none, *resume is where the next one could start: past
   the text of a word that never ends, so that "=?a?q?=?a?q?..." without
   "?=" is not scanned again from every "=" (quadratic). */
static bool
mime_rfc2047_word(const char *p, const char *end, struct mime_word *w,
    const char **resume)
{
	const char *q, *star, *limit;

	*resume = p + 1;
	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return false;
	w->start = p;
	w->charset = p + 2;
	limit = end - w->charset > MIME_RFC2047_CHARSET_MAX + 1 ?
	    w->charset + MIME_RFC2047_CHARSET_MAX + 1 : end;
	for (q = w->charset; q < limit && *q != '?'; q++) {
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			return false;
	}
	if (end - q < 5 || *q != '?' || q == w->charset)
		return false;
	w->charset_len = (size_t)(q - w->charset);
	star = memchr(w->charset, '*', w->charset_len);
	if (star != NULL)
		w->charset_len = (size_t)(star - w->charset);	/* RFC 2231 */
	if (w->charset_len == 0 || w->charset_len > MIME_RFC2047_CHARSET_MAX)
		return false;
	w->enc = (char)(q[1] & ~0x20);
	if ((w->enc != 'B' && w->enc != 'Q') || q[2] != '?')
		return false;
	w->text = q + 3;
	for (q = w->text; q + 1 < end; q++) {
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			break;
		if (q[0] == '?' && q[1] == '=') {
			w->text_end = q;
			w->end = q + 2;
			return true;
		}
	}
	*resume = q;
	return false;
}

static int
mime_rfc2047_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
mime_rfc2047_b64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Appends the word's decoded bytes to raw. */
static void
mime_rfc2047_decode_word(const struct mime_word *w, struct buf *raw)
{
	const char *p = w->text;

	if (w->enc == 'Q') {
		for (; p < w->text_end; p++) {
			int hi, lo;
			char c = *p;

			if (c == '_') {
				c = ' ';
			} else if (c == '=' && w->text_end - p >= 3 &&
			    (hi = mime_rfc2047_hex(p[1])) >= 0 &&
			    (lo = mime_rfc2047_hex(p[2])) >= 0) {
				c = (char)(hi << 4 | lo);
				p += 2;
			}
			(void)buf_append(raw, &c, 1);
		}
		return;
	}
	uint32_t acc = 0;
	unsigned bits = 0;

	for (; p < w->text_end; p++) {
		int v = mime_rfc2047_b64(*p);

		if (v < 0)
			continue;	/* padding and junk */
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			char c = (char)(acc >> (bits - 8));

			bits -= 8;
			(void)buf_append(raw, &c, 1);
		}
	}
}

static bool
mime_rfc2047_is_utf8(const char *cs, size_t len)
{
	return (len == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
	    (len == 4 && strncasecmp(cs, "utf8", 4) == 0) ||
	    (len == 8 && strncasecmp(cs, "us-ascii", 8) == 0);
}

/* Converts raw bytes in charset cs to UTF-8 onto out. */
static int
mime_rfc2047_convert(const char *cs, size_t cs_len, const struct buf *raw,
    struct buf *out)
{
	char name[MIME_RFC2047_CHARSET_MAX + 1], chunk[1024];
	char *in = raw->data;
	size_t in_left = raw->len;
	iconv_t cd;

	if (raw->len == 0)
		return 0;
	if (mime_rfc2047_is_utf8(cs, cs_len))
		return mime_rfc2047_utf8(out, raw->data, raw->len);
	memcpy(name, cs, cs_len);
	name[cs_len] = '\0';
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)	/* unknown: show what is readable */
		return mime_rfc2047_utf8(out, raw->data, raw->len);
	while (in_left > 0) {
		char *o = chunk;
		size_t o_left = sizeof(chunk);
		size_t r = iconv(cd, &in, &in_left, &o, &o_left);
		int err = errno;

		/* iconv's output is UTF-8, but a NUL must not pass */
		if (mime_rfc2047_utf8(out, chunk, sizeof(chunk) - o_left) < 0)
			goto full;
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		if (buf_append_str(out, MIME_RFC2047_FFFD) < 0)
			goto full;
		if (err != EILSEQ)	/* EINVAL: cut short at the end */
			break;
		in++;
		in_left--;
	}
	/* flush a pending shift state (ISO-2022-JP) */
	{
		char *o = chunk;
		size_t o_left = sizeof(chunk);

		(void)iconv(cd, NULL, NULL, &o, &o_left);
		if (mime_rfc2047_utf8(out, chunk, sizeof(chunk) - o_left) < 0)
			goto full;
	}
	iconv_close(cd);
	return 0;
full:
	iconv_close(cd);
	return -1;
}

int
mime_header_decode(const char *value, size_t len, struct buf *out)
{
	const char *p = value, *end = value + len, *text = value;
	struct buf raw;
	struct mime_word w, prev = { 0 };
	bool have_prev = false;

	buf_init(&raw, 0);
	while (p < end) {
		const char *q, *resume;

		if (*p != '=') {
			p++;
			continue;
		}
		if (!mime_rfc2047_word(p, end, &w, &resume)) {
			p = resume;
			continue;
		}
		/* the text before the word, unless it is only whitespace
		   between two words */
		for (q = text; q < p && (*q == ' ' || *q == '\t' ||
		    *q == '\r' || *q == '\n'); q++)
			;
		if (!have_prev || q < p) {
			/* text between: the words before it are complete */
			if (have_prev && mime_rfc2047_convert(prev.charset,
			    prev.charset_len, &raw, out) < 0)
				goto full;
			buf_reset(&raw);
			if (mime_rfc2047_utf8(out, text,
			    (size_t)(p - text)) < 0)
				goto full;
		} else if (prev.charset_len != w.charset_len ||
		    strncasecmp(prev.charset, w.charset, w.charset_len) != 0) {
			if (mime_rfc2047_convert(prev.charset,
			    prev.charset_len, &raw, out) < 0)
				goto full;
			buf_reset(&raw);
		}
		mime_rfc2047_decode_word(&w, &raw);
		prev = w;
		have_prev = true;
		p = text = w.end;
	}
	if (have_prev && mime_rfc2047_convert(prev.charset, prev.charset_len,
	    &raw, out) < 0)
		goto full;
	if (mime_rfc2047_utf8(out, text, (size_t)(end - text)) < 0)
		goto full;
	buf_clear(&raw);
	return 0;
full:
	buf_clear(&raw);
	return -1;
}
