/* imapd_search_text.c — text matching for SEARCH (imapd_search_text.h).
   Strings compare as i;unicode-casemap (RFC 5051) substrings: both sides
   are case-folded with libunistring's u8_casefold, as Dovecot does. A
   body is searched one text part at a time, decoded (base64, QP) and
   converted to UTF-8 with iconv, so memory follows the largest part,
   not the message. */
#include "imapd/imapd_search_text.h"

#include <ctype.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"

char *
imapd_search_fold(const char *s, size_t len, size_t *len_r)
{
	size_t n = 0;
	uint8_t *f = u8_casefold((const uint8_t *)s, len, NULL, NULL, NULL,
	    &n);
	char *out;

	if (f == NULL) {
		/* invalid UTF-8: fold ASCII only */
		out = xmalloc(len + 1);
		for (size_t i = 0; i < len; i++)
			out[i] = (char)tolower((unsigned char)s[i]);
		out[len] = '\0';
		*len_r = len;
		return out;
	}
	out = xmalloc(n + 1);
	memcpy(out, f, n);
	out[n] = '\0';
	free(f);
	*len_r = n;
	return out;
}

static bool
imapd_search_contains(const char *s, size_t len, const char *needle,
    size_t needle_len)
{
	size_t flen;
	char *f;
	bool found;

	if (needle_len == 0)
		return true;
	f = imapd_search_fold(s, len, &flen);
	found = memmem(f, flen, needle, needle_len) != NULL;
	free(f);
	return found;
}

bool
imapd_search_header(const struct mime_message *msg, const char *name,
    const char *needle, size_t needle_len)
{
	struct buf raw, dec;
	bool found = false;

	buf_init(&raw, 0);
	buf_init(&dec, 0);
	if (name == NULL) {
		const struct mime_part *top = mime_part_get(msg, 0);

		(void)mime_header_decode(mime_message_data(msg) +
		    top->header_off, top->body_off - top->header_off, &dec);
		found = imapd_search_contains(dec.data != NULL ? dec.data : "",
		    dec.len, needle, needle_len);
	}
	for (unsigned nth = 0; name != NULL && !found; nth++) {
		buf_reset(&raw);
		buf_reset(&dec);
		if (mime_header_get(msg, 0, name, nth, &raw) < 0)
			break;
		(void)mime_header_decode(raw.data != NULL ? raw.data : "",
		    raw.len, &dec);
		found = imapd_search_contains(dec.data != NULL ? dec.data : "",
		    dec.len, needle, needle_len);
	}
	buf_clear(&raw);
	buf_clear(&dec);
	return found;
}

char *
imapd_search_field(const struct mime_message *msg, const char *name)
{
	struct buf raw, dec;
	char *s = NULL;

	buf_init(&raw, 0);
	buf_init(&dec, 0);
	if (mime_header_get(msg, 0, name, 0, &raw) == 0) {
		(void)mime_header_decode(raw.data != NULL ? raw.data : "",
		    raw.len, &dec);
		(void)buf_append(&dec, "", 0);
		s = buf_steal(&dec);
	}
	buf_clear(&raw);
	buf_clear(&dec);
	return s;
}

/* in converted from charset to UTF-8 into out; unknown charsets and
   invalid bytes are kept as they are (still searchable as ASCII). */
static void
imapd_search_to_utf8(const char *charset, const struct buf *in,
    struct buf *out)
{
	iconv_t cd;
	char *src = in->data, tmp[4096];
	size_t left = in->len;

	if (charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		(void)buf_append(out, in->data != NULL ? in->data : "",
		    in->len);
		return;
	}
	while (left > 0) {
		char *o = tmp;
		size_t o_left = sizeof(tmp);
		size_t r = iconv(cd, &src, &left, &o, &o_left);

		(void)buf_append(out, tmp, sizeof(tmp) - o_left);
		if (r == (size_t)-1 && o_left == sizeof(tmp)) {
			/* an invalid or cut byte: keep it, go on */
			(void)buf_append(out, src, 1);
			src++;
			left--;
			(void)iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
}

bool
imapd_search_body(const struct mime_message *msg, const char *needle,
    size_t needle_len)
{
	struct buf dec, utf8, cs;
	bool found = false;

	buf_init(&dec, 0);
	buf_init(&utf8, 0);
	buf_init(&cs, 0);
	for (uint32_t i = 0; i < mime_part_count(msg) && !found; i++) {
		const struct mime_part *p = mime_part_get(msg, i);

		if (p->is_multipart || p->is_message ||
		    strcasecmp(p->type, "text") != 0)
			continue;
		buf_reset(&dec);
		buf_reset(&utf8);
		buf_reset(&cs);
		if (mime_part_decode(msg, i, &dec) < 0) {
			buf_reset(&dec);
			(void)buf_append(&dec, mime_message_data(msg) + p->body_off,
			    p->body_end - p->body_off);
		}
		(void)mime_part_charset(msg, i, &cs);
		imapd_search_to_utf8(cs.data != NULL ? cs.data : "", &dec,
		    &utf8);
		buf_clear(&dec);
		found = imapd_search_contains(utf8.data != NULL ? utf8.data :
		    "", utf8.len, needle, needle_len);
	}
	buf_clear(&dec);
	buf_clear(&utf8);
	buf_clear(&cs);
	return found;
}

/* --- dates ---------------------------------------------------------------- */

int32_t
imapd_search_days(int y, int m, int d)
{
	/* days from civil (proleptic Gregorian), 1970-01-01 is 0 */
	int yy = y - (m <= 2);
	int era = (yy >= 0 ? yy : yy - 399) / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + doe - 719468);
}

static const char *
imapd_search_skip(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		/* a comment, nested */
		for (int depth = 0; *p != '\0'; p++) {
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

static int
imapd_search_number(const char **p, int max_digits, int *n_r)
{
	int n = 0, digits = 0;

	while (isdigit((unsigned char)**p) && digits < max_digits) {
		n = n * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0)
		return -1;
	*n_r = n;
	return digits;
}

int
imapd_search_date(const char *s, int32_t *day_r, time_t *t_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	const char *p = imapd_search_skip(s);
	int d, mon = -1, y, hh = 0, mm = 0, ss = 0, digits, zone = 0;

	if (isalpha((unsigned char)*p)) {	/* day-of-week "," */
		while (isalpha((unsigned char)*p))
			p++;
		p = imapd_search_skip(p);
		if (*p == ',')
			p = imapd_search_skip(p + 1);
	}
	if (imapd_search_number(&p, 2, &d) < 0)
		return -1;
	p = imapd_search_skip(p);
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, months + i * 3, 3) == 0)
			mon = i + 1;
	if (mon < 0)
		return -1;
	while (isalpha((unsigned char)*p))
		p++;
	p = imapd_search_skip(p);
	if ((digits = imapd_search_number(&p, 4, &y)) < 0)
		return -1;
	if (digits <= 2)	/* RFC 5322 §4.3 obsolete years */
		y += y < 50 ? 2000 : 1900;
	else if (digits == 3)
		y += 1900;
	p = imapd_search_skip(p);
	if (imapd_search_number(&p, 2, &hh) > 0 && *p == ':') {
		p++;
		if (imapd_search_number(&p, 2, &mm) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (imapd_search_number(&p, 2, &ss) < 0)
				return -1;
		}
		p = imapd_search_skip(p);
		if (*p == '+' || *p == '-') {
			int z;

			if (imapd_search_number(&(const char *){ p + 1 }, 4,
			    &z) == 4)
				zone = (z / 100 * 60 + z % 100) *
				    (*p == '-' ? -1 : 1);
		}
	}
	if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	*day_r = imapd_search_days(y, mon, d);
	*t_r = (time_t)*day_r * 86400 + hh * 3600 + mm * 60 + ss -
	    zone * 60;
	return 0;
}
