/* smtp_reply.c — SMTP reply parsing (see smtp_reply.h). RFC 5321 §4.2:
   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
		Reply-code [ SP textstring ] CRLF
   RFC 3463 §2: an enhanced code is class "." subject "." detail, class
   2, 4 or 5, subject 1..3 digits, detail 1..3 digits; RFC 2034 §4 puts it
   at the start of each line's text. Every byte is bounds-checked. */
#include "smtp/smtp_reply.h"

#include <string.h>

#include "lib/xmalloc.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_TEXT_MAX);
}

void
smtp_reply_clear(struct smtp_reply *r)
{
	buf_clear(&r->text);
	memset(r, 0, sizeof(*r));
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	buf_reset(&r->text);
	r->code = 0;
	r->enhanced[0] = '\0';
	r->lines = 0;
	r->done = false;
}

static bool
smtp_reply_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an enhanced code at p[0..len) of class cls followed by a space
   or the end, or 0. */
static size_t
smtp_reply_enhanced_len(const char *p, size_t len, char cls)
{
	size_t i = 0;

	if (len < 5 || p[0] != cls || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && i - start < 4 && smtp_reply_is_digit(p[i]))
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && p[i] != ' ')
		return 0;
	return i;
}

int
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len,
    const char **error_r)
{
	unsigned code;
	bool last;
	size_t off, elen;

	if (r->done)
		panic("smtp_reply_feed: reply already complete");
	if (len > SMTP_REPLY_LINE_MAX) {
		*error_r = "reply line too long";
		return -1;
	}
	if (len < 3 || !smtp_reply_is_digit(line[0]) ||
	    !smtp_reply_is_digit(line[1]) || !smtp_reply_is_digit(line[2]) ||
	    line[0] < '2' || line[0] > '5' || (len > 3 && line[3] != ' ' &&
	    line[3] != '-')) {
		*error_r = "malformed reply line";
		return -1;
	}
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	    (unsigned)(line[2] - '0');
	if (r->lines > 0 && code != r->code) {
		*error_r = "reply code changed within a reply";
		return -1;
	}
	if (r->lines >= SMTP_REPLY_LINES_MAX) {
		*error_r = "too many reply lines";
		return -1;
	}
	last = len == 3 || line[3] == ' ';
	off = len > 3 ? 4 : 3;
	elen = smtp_reply_enhanced_len(line + off, len - off, line[0]);
	if (r->lines == 0) {
		r->code = code;
		if (elen > 0) {
			memcpy(r->enhanced, line + off, elen);
			r->enhanced[elen] = '\0';
		}
	} else if (r->lines > 0) {
		if (buf_append(&r->text, "\n", 1) == -1)
			goto too_long;
	}
	/* Strip the enhanced code only where it repeats the first one. */
	if (elen > 0 && r->enhanced[0] != '\0' && elen == strlen(r->enhanced) &&
	    memcmp(line + off, r->enhanced, elen) == 0) {
		off += elen;
		if (off < len)
			off++;
	}
	for (size_t i = off; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		char out = c < 0x20 || c == 0x7f ? '?' : (char)c;

		if (buf_append(&r->text, &out, 1) == -1)
			goto too_long;
	}
	r->lines++;
	r->done = last;
	return last ? 1 : 0;
too_long:
	*error_r = "reply too long";
	return -1;
}

bool
smtp_reply_next_line(const struct smtp_reply *r, size_t *pos,
    const char **line_r, size_t *len_r)
{
	const char *start, *nl;
	size_t left;

	if (r->lines == 0 || *pos > r->text.len)
		return false;
	start = r->text.data != NULL ? r->text.data + *pos : "";
	left = r->text.len - *pos;
	nl = left > 0 ? memchr(start, '\n', left) : NULL;
	*line_r = start;
	*len_r = nl != NULL ? (size_t)(nl - start) : left;
	*pos += *len_r + 1;
	return true;
}
