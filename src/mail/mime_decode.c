/* mime_decode.c — BINARY[section] (RFC 3516): the part's body with its
   Content-Transfer-Encoding removed.

   The decoders are strict, as Dovecot's are, because RFC 3516 wants
   undecodable data reported rather than guessed at: base64 allows only its
   alphabet, whitespace and final padding; quoted-printable allows "=XX"
   (either case), soft line breaks with transport padding before them, and
   nothing else after "=". Line ends come out as CRLF. The encoding is the
   last Content-Transfer-Encoding field of the part (what a decoding reader
   sees last), and a value followed by ";junk" still counts. */
#include "mail/mime.h"

#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/buf.h"
#include "mail/mime_private.h"

enum mime_cte
mime_decode_cte(const struct mime_message *msg, uint32_t index)
{
	enum mime_cte cte = MIME_CTE_NONE;
	struct mime_field f;
	struct buf tmp, tok;
	size_t pos, end;

	buf_init(&tmp, 0);
	buf_init(&tok, 0);
	mime_header_bounds(msg, index, &pos, &end);
	while (mime_header_next(msg->data, end, &pos, &f)) {
		struct mime_lex lx;
		const char *v;
		size_t len;

		if (!mime_header_name_is(&f, "Content-Transfer-Encoding"))
			continue;
		mime_header_value(&f, &tmp, &v, &len);
		mime_lex_init(&lx, v, len);
		(void)mime_lex_skip_lwsp(&lx);
		buf_reset(&tok);
		cte = MIME_CTE_UNKNOWN;
		/* "base64 binary" or a NUL after the token is not base64 */
		if (mime_lex_token(&lx, &tok) == 1) {
			(void)mime_lex_skip_lwsp(&lx);
			if (mime_lex_peek(&lx) != ';')
				continue;
		}
		if ((tok.len == 4 && (strncasecmp(tok.data, "7bit", 4) == 0 ||
		    strncasecmp(tok.data, "8bit", 4) == 0)) ||
		    (tok.len == 6 && strncasecmp(tok.data, "binary", 6) == 0))
			cte = MIME_CTE_NONE;
		else if (tok.len == 6 &&
		    strncasecmp(tok.data, "base64", 6) == 0)
			cte = MIME_CTE_BASE64;
		else if (tok.len == 16 &&
		    strncasecmp(tok.data, "quoted-printable", 16) == 0)
			cte = MIME_CTE_QP;
	}
	buf_clear(&tmp);
	buf_clear(&tok);
	return cte;
}

static bool
mime_decode_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
mime_decode_base64(const char *p, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned char chunk[3 * 256];
	size_t n = 0, i = 0;
	unsigned sub = 0;
	uint32_t acc = 0;

	for (; i < len; i++) {
		int v = base64_value(s[i]);

		if (v < 0) {
			if (mime_decode_is_space(s[i]))
				continue;
			break;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++sub == 4) {
			chunk[n++] = (unsigned char)(acc >> 16);
			chunk[n++] = (unsigned char)(acc >> 8);
			chunk[n++] = (unsigned char)acc;
			sub = 0;
			acc = 0;
			if (n == sizeof(chunk)) {
				if (buf_append(out, chunk, n) < 0)
					return -3;
				n = 0;
			}
		}
	}
	if (i < len) {
		/* "xx==" or "xxx=", then only whitespace */
		size_t pads = sub == 2 ? 2 : sub == 3 ? 1 : 0;

		for (; pads > 0 && i < len; pads--) {
			if (s[i] != '=')
				return -2;
			for (i++; i < len && mime_decode_is_space(s[i]); i++)
				;
		}
		if (pads > 0 || (sub != 2 && sub != 3))
			return -2;
		for (; i < len; i++) {
			if (!mime_decode_is_space(s[i]))
				return -2;
		}
		if (sub == 2) {
			chunk[n++] = (unsigned char)(acc >> 4);
		} else {
			chunk[n++] = (unsigned char)(acc >> 10);
			chunk[n++] = (unsigned char)(acc >> 2);
		}
		sub = 0;
	}
	if (sub != 0)
		return -2;		/* cut short, or the padding missing */
	return buf_append(out, chunk, n) < 0 ? -3 : 0;
}

static int
mime_decode_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;	/* not RFC 2045, but common */
	return -1;
}

/* The whitespace run at s[i..): its end. */
static size_t
mime_decode_wsp_end(const unsigned char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

int
mime_decode_qp(const char *p, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, start = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t w;

		if (c > '=' || (c != '=' && c != '\r' && c != '\n' &&
		    c != ' ' && c != '\t')) {
			i++;
			continue;
		}
		if (buf_append(out, s + start, i - start) < 0)
			return -3;
		switch (c) {
		case ' ':
		case '\t':
			/* trailing whitespace is transport padding */
			w = mime_decode_wsp_end(s, i, len);
			if (w == len || s[w] == '\n' ||
			    (s[w] == '\r' && w + 1 < len && s[w + 1] == '\n')) {
				i = w;
				start = i;
				continue;
			}
			if (s[w] == '\r')
				return -2;	/* CR not before LF */
			if (buf_append(out, s + i, w - i) < 0)
				return -3;
			i = w;
			break;
		case '\r':
		case '\n':
			if (c == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
				return -2;
			if (buf_append(out, "\r\n", 2) < 0)
				return -3;
			i += c == '\r' ? 2 : 1;
			break;
		default: {		/* '=' */
			int hi, lo;

			if (i + 2 < len &&
			    (hi = mime_decode_hex(s[i + 1])) >= 0 &&
			    (lo = mime_decode_hex(s[i + 2])) >= 0) {
				unsigned char b = (unsigned char)(hi << 4 | lo);

				if (buf_append(out, &b, 1) < 0)
					return -3;
				i += 3;
				break;
			}
			/* a soft line break, maybe with padding before it */
			w = mime_decode_wsp_end(s, i + 1, len);
			if (w < len && s[w] == '\n') {
				i = w + 1;
			} else if (w + 1 < len && s[w] == '\r' &&
			    s[w + 1] == '\n') {
				i = w + 2;
			} else {
				return -2;
			}
			break;
		}
		}
		start = i;
	}
	return buf_append(out, s + start, len - start) < 0 ? -3 : 0;
}

int
mime_part_decode(const struct mime_message *msg, uint32_t index,
    struct buf *out)
{
	const struct mime_part *part;
	const char *body;
	size_t len;

	if (index >= msg->n_parts)
		return -2;
	part = &msg->parts[index];
	body = msg->data + part->body_off;
	len = part->body_end - part->body_off;
	switch (mime_decode_cte(msg, index)) {
	case MIME_CTE_NONE:
		return buf_append(out, body, len) < 0 ? -3 : 0;
	case MIME_CTE_BASE64:
		return mime_decode_base64(body, len, out);
	case MIME_CTE_QP:
		return mime_decode_qp(body, len, out);
	case MIME_CTE_UNKNOWN:
		return -1;
	}
	return -1;
}
