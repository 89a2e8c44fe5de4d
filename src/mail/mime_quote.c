/* mime_quote.c — IMAP strings for ENVELOPE and BODYSTRUCTURE (RFC 9051
   §4.3): a quoted string where one can carry the value, else a literal.

   The choice is Dovecot's, so that answers compare byte for byte with what
   migrated clients have cached: CR, LF and 8-bit bytes force a literal
   (quoted strings may carry neither), and so do more than four characters
   that would need a backslash, where a literal becomes the shorter form.
   Display names and subjects are cleaned up for humans first. */
#include "mail/mime_private.h"

#include <string.h>

#define MIME_QUOTE_MAX_ESCAPES 4

int
mime_quote_nil(struct buf *out)
{
	return buf_append(out, "NIL", 3);
}

static int
mime_quote_literal(struct buf *out, const char *s, size_t len)
{
	if (buf_printf(out, "{%zu}\r\n", len) < 0)
		return -1;
	return buf_append(out, s, len);
}

static int
mime_quote_quoted(struct buf *out, const char *s, size_t len)
{
	size_t start = 0;

	if (buf_append(out, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (buf_append(out, s + start, i - start) < 0 ||
		    buf_append(out, "\\", 1) < 0)
			return -1;
		start = i;
	}
	if (buf_append(out, s + start, len - start) < 0)
		return -1;
	return buf_append(out, "\"", 1);
}

int
mime_quote_string(struct buf *out, const char *s, size_t len)
{
	unsigned escapes = 0;
	const char *nul = memchr(s, '\0', len);

	/* values are NUL-free by construction; a C string would end here */
	if (nul != NULL)
		len = (size_t)(nul - s);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			if (++escapes > MIME_QUOTE_MAX_ESCAPES)
				return mime_quote_literal(out, s, len);
		} else if (c == '\r' || c == '\n' || c >= 0x80) {
			return mime_quote_literal(out, s, len);
		}
	}
	return mime_quote_quoted(out, s, len);
}

int
mime_quote_string_nolf(struct buf *out, const char *s, size_t len)
{
	struct buf tmp;
	int ret;

	if (memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL)
		return mime_quote_string(out, s, len);
	buf_init(&tmp, 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			(void)buf_append(&tmp, s + i, 1);
			continue;
		}
		/* an unfolded line break still separates words */
		char next = '\0';

		if (i + 1 < len)
			next = s[i + 1];

		if (next != ' ' && next != '\t' && next != '\r' &&
		    next != '\n' && next != '\0')
			(void)buf_append(&tmp, " ", 1);
	}
	ret = mime_quote_string(out, tmp.data != NULL ? tmp.data : "",
	    tmp.len);
	buf_clear(&tmp);
	return ret;
}

static bool
mime_quote_is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
mime_quote_for_humans(struct buf *out, const char *s, size_t len)
{
	struct buf tmp;
	bool special = false, space = false;
	int ret;

	buf_init(&tmp, 0);
	(void)buf_append(&tmp, "", 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (mime_quote_is_lwsp((char)c)) {
			space = tmp.len > 0;
			continue;
		}
		if (space)
			(void)buf_append(&tmp, " ", 1);
		space = false;
		if (c == '\0')
			c = 0x80;	/* a literal may not carry NUL */
		if (c == '"' || c == '\\' || c >= 0x80)
			special = true;
		(void)buf_append(&tmp, &c, 1);
	}
	if (tmp.len == len && memcmp(tmp.data, s, len) == 0 && !special)
		ret = mime_quote_quoted(out, s, len);
	else if (tmp.len == 0)
		ret = buf_append(out, "\"\"", 2);
	else
		ret = mime_quote_literal(out, tmp.data, tmp.len);
	buf_clear(&tmp);
	return ret;
}

void
mime_quote_strdup(struct buf *out, const char *s, size_t len)
{
	const char *nul;

	while ((nul = memchr(s, '\0', len)) != NULL) {
		size_t n = (size_t)(nul - s);

		(void)buf_append(out, s, n);
		(void)buf_append_str(out, "\xef\xbf\xbd");
		s += n + 1;
		len -= n + 1;
	}
	(void)buf_append(out, s, len);
}
