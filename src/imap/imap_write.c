/* imap_write.c — IMAP response syntax (imap_write.h). Every writer
   leaves out->len as it was when the buffer's maximum is reached, so a
   caller may try a smaller answer. Mailbox names cross here between the
   store's UTF-8 and the client's form (modified UTF-7 for IMAP4rev1,
   RFC 3501 §5.1.3; UTF-8 for IMAP4rev2 / UTF8=ACCEPT, RFC 9051 §5.1). */
#include "imap/imap_write.h"

#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"
#include "mail/mutf7.h"

/* Longer strings go as literals: Dovecot's choice too, and clients that
   read line by line cope better. */
#define IMAP_WRITE_QUOTED_MAX 1024

static int
imap_write_undo(struct buf *out, size_t old)
{
	out->len = old;
	if (out->data != NULL)
		out->data[old] = '\0';
	return -1;
}

/* Whether s can be a quoted string: no CR, LF, NUL; 8-bit only as
   well-formed UTF-8 and only for utf8 clients (RFC 9051 QUOTED-CHAR). */
static bool
imap_write_can_quote(const char *s, size_t len, bool utf8)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len > IMAP_WRITE_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n;

		if (u[i] == '\0' || u[i] == '\r' || u[i] == '\n')
			return false;
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (!utf8 || (n = utf8_decode(u + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

int
imap_write_literal(struct buf *out, const void *data, size_t len,
    bool binary)
{
	size_t old = out->len;

	if (buf_printf(out, "%s{%zu}\r\n", binary ? "~" : "", len) == -1 ||
	    buf_append(out, data, len) == -1)
		return imap_write_undo(out, old);
	return 0;
}

int
imap_write_string(struct buf *out, const char *s, size_t len, bool utf8)
{
	size_t old = out->len, start = 0;

	if (!imap_write_can_quote(s, len, utf8))
		return imap_write_literal(out, s, len, false);
	if (buf_append(out, "\"", 1) == -1)
		return imap_write_undo(out, old);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (buf_append(out, s + start, i - start) == -1 ||
		    buf_append(out, "\\", 1) == -1)
			return imap_write_undo(out, old);
		start = i;
	}
	if (buf_append(out, s + start, len - start) == -1 ||
	    buf_append(out, "\"", 1) == -1)
		return imap_write_undo(out, old);
	return 0;
}

/* 1*ASTRING-CHAR (RFC 9051 §9), and not the atom NIL. */
static bool
imap_write_is_astring_atom(const char *s, size_t len)
{
	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\", c) != NULL)
			return false;
	}
	return true;
}

int
imap_write_astring(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (imap_write_is_astring_atom(s, len))
		return buf_append(out, s, len);
	return imap_write_string(out, s, len, utf8);
}

int
imap_write_nstring(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (s == NULL)
		return buf_append(out, "NIL", 3);
	return imap_write_string(out, s, len, utf8);
}

int
imap_write_flags(struct buf *out, unsigned flags, const char *keywords,
    bool recent)
{
	/* Dovecot's order, which clients and tests compare against. */
	static const struct {
		unsigned flag;
		const char *name;
	} order[] = {
		{ IMAP_FLAG_ANSWERED, "\\Answered" },
		{ IMAP_FLAG_FLAGGED, "\\Flagged" },
		{ IMAP_FLAG_DELETED, "\\Deleted" },
		{ IMAP_FLAG_SEEN, "\\Seen" },
		{ IMAP_FLAG_DRAFT, "\\Draft" },
	};
	size_t old = out->len;
	bool first = true;

	if (buf_append(out, "(", 1) == -1)
		return imap_write_undo(out, old);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((flags & order[i].flag) == 0)
			continue;
		if ((!first && buf_append(out, " ", 1) == -1) ||
		    buf_append_str(out, order[i].name) == -1)
			return imap_write_undo(out, old);
		first = false;
	}
	for (const char *p = keywords; p != NULL && *p != '\0'; ) {
		size_t n = strcspn(p, " ");

		if (n > 0) {
			if ((!first && buf_append(out, " ", 1) == -1) ||
			    buf_append(out, p, n) == -1)
				return imap_write_undo(out, old);
			first = false;
		}
		p += n;
		if (*p == ' ')
			p++;
	}
	if (recent && ((!first && buf_append(out, " ", 1) == -1) ||
	    buf_append(out, "\\Recent", 7) == -1))
		return imap_write_undo(out, old);
	if (buf_append(out, ")", 1) == -1)
		return imap_write_undo(out, old);
	return 0;
}

int
imap_write_date_time(struct buf *out, time_t t)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	struct tm tm;
	long off;
	char sign = '+';

	/* A time localtime cannot represent is written as the epoch
	   rather than failing: -1 means "buffer full" to callers. */
	if (localtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999) {
		t = 0;
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	/* date-day-fixed: a space before a one-digit day (RFC 9051 §9) */
	return buf_printf(out, "\"%2d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"",
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, sign, off / 60 % 100, off % 60);
}

/* Whether the first level of s[0..len) is INBOX in any case. */
static bool
imap_write_is_inbox_level(const char *s, size_t len)
{
	return len >= 5 && strncasecmp(s, "INBOX", 5) == 0 &&
	    (len == 5 || s[5] == '/');
}

int
imap_write_mailbox(struct buf *out, const char *name, bool utf8)
{
	size_t len = strlen(name), old = out->len;
	struct buf tmp;
	int ret;

	buf_init(&tmp, 0);
	if (imap_write_is_inbox_level(name, len)) {
		(void)buf_append(&tmp, "INBOX", 5);
		name += 5;
		len -= 5;
	}
	if (utf8)
		ret = buf_append(&tmp, name, len);
	else
		ret = mutf7_encode(name, len, &tmp);
	if (ret == 0)
		ret = imap_write_astring(out, tmp.data != NULL ? tmp.data : "",
		    tmp.len, utf8);
	buf_clear(&tmp);
	if (ret == -1)
		return imap_write_undo(out, old);
	return 0;
}

static bool
imap_write_is_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_decode(u + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

char *
imap_write_mailbox_from_client(const char *s, size_t len, bool utf8,
    const char **error_r)
{
	struct buf name;

	if (memchr(s, '\0', len) != NULL || memchr(s, '\r', len) != NULL ||
	    memchr(s, '\n', len) != NULL) {
		*error_r = "Invalid characters in mailbox name";
		return NULL;
	}
	buf_init(&name, 0);
	if (utf8) {
		/* RFC 9051 §5.1: taken as is, '&' included. */
		if (!imap_write_is_utf8(s, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return NULL;
		}
		(void)buf_append(&name, s, len);
	} else if (mutf7_decode(s, len, &name) == -1) {
		buf_clear(&name);
		*error_r = "Mailbox name is not valid modified UTF-7";
		return NULL;
	}
	if (name.data == NULL)
		(void)buf_append(&name, "", 0);
	/* RFC 9051 §5.1: INBOX is case-insensitive, also as the parent. */
	if (imap_write_is_inbox_level(name.data, name.len))
		memcpy(name.data, "INBOX", 5);
	return buf_steal(&name);
}
