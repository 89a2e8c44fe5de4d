/* imapd_search_env.c — FROM, TO, CC, BCC and SUBJECT keys answered from
   the ENVELOPE the store cached at append (imapd_search_private.h), so a
   header search reads no message file, as Dovecot answers it from its
   cache. The envelope is read in place, strictly in the shape
   mime_envelope writes (as imapd_sort_env.c, but without a copy per
   string); anything else returns -1 and the caller reads the file.

   What is matched is what Dovecot matches (index-search.c): an address
   list rewritten as "name <mailbox@host>" or "mailbox@host", joined by
   ", ", groups as "name: ...;", names RFC 2047-decoded; the Subject
   decoded. Both sides are case-folded (i;unicode-casemap); ASCII text,
   the usual case, is folded in place without libunistring. */
#include "imapd/imapd_search_private.h"

#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_search_text.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"

struct imapd_search_env_str {
	const char *p;			/* NULL for NIL */
	size_t len;
	bool quoted;			/* p holds backslash escapes */
};

/* One nstring at p: the offset after it, or NULL when p holds none. */
static const char *
imapd_search_env_nstring(const char *p, const char *end,
    struct imapd_search_env_str *s)
{
	memset(s, 0, sizeof(*s));
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
		return p + 3;
	if (p < end && *p == '"') {
		const char *start = ++p;

		for (; p < end && *p != '"'; p++)
			if (*p == '\\' && p + 1 < end)
				p++;
		if (p >= end)
			return NULL;
		s->p = start;
		s->len = (size_t)(p - start);
		s->quoted = true;
		return p + 1;
	}
	if (p < end && *p == '{') {
		size_t n = 0;

		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (size_t)(end - p))
				return NULL;	/* longer than what is left */
			n = n * 10 + (size_t)(*p - '0');
		}
		if (end - p < 3 || memcmp(p, "}\r\n", 3) != 0 ||
		    n > (size_t)(end - p - 3))
			return NULL;
		s->p = p + 3;
		s->len = n;
		return p + 3 + n;
	}
	return NULL;
}

static void
imapd_search_env_append(struct buf *b, const struct imapd_search_env_str *s)
{
	const char *p = s->p, *end = s->p + s->len;

	if (!s->quoted) {
		(void)buf_append(b, p, s->len);
		return;
	}
	while (p < end) {
		const char *q = memchr(p, '\\', (size_t)(end - p));

		if (q == NULL || q + 1 >= end) {
			(void)buf_append(b, p, (size_t)(end - p));
			return;
		}
		(void)buf_append(b, p, (size_t)(q - p));
		(void)buf_append(b, q + 1, 1);
		p = q + 2;
	}
}

/* s unescaped, then RFC 2047-decoded into out when it holds a word. */
static void
imapd_search_env_decoded(struct buf *out, struct buf *tmp,
    const struct imapd_search_env_str *s)
{
	if (memmem(s->p, s->len, "=?", 2) == NULL) {
		imapd_search_env_append(out, s);
		return;
	}
	buf_reset(tmp);
	imapd_search_env_append(tmp, s);
	(void)mime_header_decode(tmp->data != NULL ? tmp->data : "",
	    tmp->len, out);
}

/* The address list at p written into out (NULL: only skipped) as
   Dovecot's message_address_write does; the offset after it, or NULL. */
static const char *
imapd_search_env_addrs(const char *p, const char *end, struct buf *out,
    struct buf *tmp)
{
	bool sep = false;

	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
		return p + 3;
	if (p == end || *p++ != '(')
		return NULL;
	while (p < end && *p == '(') {
		struct imapd_search_env_str f[4];

		p++;
		for (size_t i = 0; i < 4 && p != NULL; i++) {
			if (i > 0 && (p == end || *p++ != ' '))
				p = NULL;
			else
				p = imapd_search_env_nstring(p, end, &f[i]);
		}
		if (p == NULL || p == end || *p++ != ')')
			return NULL;
		if (out == NULL)
			continue;	/* a list before the one asked for */
		if (f[2].p == NULL && f[3].p == NULL) {
			(void)buf_append(out, ";", 1);	/* group end */
			sep = true;
			continue;
		}
		if (sep)
			(void)buf_append(out, ", ", 2);
		sep = true;
		if (f[3].p == NULL) {			/* group start */
			imapd_search_env_decoded(out, tmp, &f[2]);
			(void)buf_append(out, ": ", 2);
			sep = false;
			continue;
		}
		if ((f[0].p == NULL || f[0].len == 0) && f[1].p == NULL) {
			imapd_search_env_append(out, &f[2]);
			(void)buf_append(out, "@", 1);
			imapd_search_env_append(out, &f[3]);
			continue;
		}
		if (f[0].p != NULL) {
			imapd_search_env_decoded(out, tmp, &f[0]);
			(void)buf_append(out, " ", 1);
		}
		(void)buf_append(out, "<", 1);
		if (f[1].p != NULL) {
			imapd_search_env_append(out, &f[1]);
			(void)buf_append(out, ":", 1);
		}
		imapd_search_env_append(out, &f[2]);
		(void)buf_append(out, "@", 1);
		imapd_search_env_append(out, &f[3]);
		(void)buf_append(out, ">", 1);
	}
	return p < end && *p == ')' ? p + 1 : NULL;
}

/* Whether hay, folded, contains needle (folded). */
static bool
imapd_search_env_contains(struct buf *hay, const char *needle,
    size_t needle_len)
{
	char *folded;
	size_t flen;
	bool found;

	for (size_t i = 0; i < hay->len; i++)
		if ((unsigned char)hay->data[i] >= 0x80)
			goto unicode;
	/* ASCII: i;unicode-casemap folds only A-Z here */
	for (size_t i = 0; i < hay->len; i++)
		if (hay->data[i] >= 'A' && hay->data[i] <= 'Z')
			hay->data[i] = (char)(hay->data[i] - 'A' + 'a');
	return hay->len > 0 && memmem(hay->data, hay->len, needle,
	    needle_len) != NULL;
unicode:
	folded = imapd_search_fold(hay->data, hay->len, &flen);
	found = memmem(folded, flen, needle, needle_len) != NULL;
	free(folded);
	return found;
}

int
imapd_search_env_match(const char *envelope, size_t len,
    enum imapd_search_env_field field, const char *needle,
    size_t needle_len, struct buf *hay, struct buf *tmp)
{
	const char *p = envelope, *end = envelope + len;

	/* An empty needle asks whether the field exists, which NIL does
	   not tell apart from an empty one: the file answers that. */
	if (needle_len == 0 || p == end || *p++ != '(')
		return -1;
	buf_reset(hay);
	/* (date subject from sender reply-to to cc bcc in-reply-to
	   message-id), one space apart */
	for (int i = 0; i <= (int)field; i++) {
		struct imapd_search_env_str s;

		if (i > 0 && (p == end || *p++ != ' '))
			return -1;
		if (i == 0 || i == 1) {
			p = imapd_search_env_nstring(p, end, &s);
			if (p == NULL)
				return -1;
			if (i == (int)field && s.p != NULL)
				imapd_search_env_decoded(hay, tmp, &s);
		} else {
			p = imapd_search_env_addrs(p, end,
			    i == (int)field ? hay : NULL, tmp);
			if (p == NULL)
				return -1;
		}
	}
	return imapd_search_env_contains(hay, needle, needle_len) ? 1 : 0;
}
