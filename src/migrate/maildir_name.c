/* maildir_name.c — see maildir_name.h. */
#include "migrate/maildir_name.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"
#include "mail/mutf7.h"
#include "store/store.h"

static bool
maildir_name_is_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static int
maildir_name_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
maildir_name_level_decode(const char *s, size_t len, struct buf *out)
{
	struct buf tmp;
	size_t start = out->len;
	int ret = -1;

	if (len == 0)
		return -1;
	buf_init(&tmp, out->max);
	if (mutf7_decode(s, len, &tmp) == -1) {
		if (!maildir_name_is_utf8(s, len) ||
		    buf_append(&tmp, s, len) == -1)
			goto out;
	}
	/* A name is a C string from here on: a NUL ("&AAA-", or a raw
	   one) would cut it short and file the folder under another. */
	if (tmp.len == 0 || memchr(tmp.data, '\0', tmp.len) != NULL)
		goto out;
	for (size_t i = 0; i < tmp.len; i++) {
		char c = tmp.data[i];

		/* listescape: "\2e" is '.', "\5c" is '\'; any other
		   backslash is just one. */
		if (c == '\\' && i + 2 < tmp.len) {
			int hi = maildir_name_hex(tmp.data[i + 1]);
			int lo = maildir_name_hex(tmp.data[i + 2]);
			int v = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;

			if (v == '.' || v == '\\') {
				c = (char)v;
				i += 2;
			}
		}
		if (buf_append(out, &c, 1) == -1)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	buf_clear(&tmp);
	return ret;
}

int
maildir_name_level_encode(const char *s, size_t len, struct buf *out)
{
	struct buf tmp;
	int ret = -1;

	if (len == 0)
		return -1;
	buf_init(&tmp, out->max);
	for (size_t i = 0; i < len; i++) {
		const char *esc = s[i] == '.' ? "\\2e" : s[i] == '\\' ?
		    "\\5c" : NULL;

		if (esc != NULL ? buf_append_str(&tmp, esc) == -1 :
		    buf_append(&tmp, &s[i], 1) == -1)
			goto out;
	}
	ret = mutf7_encode(tmp.data, tmp.len, out);
out:
	buf_clear(&tmp);
	return ret;
}

char *
maildir_name_from_levels(const char *s, size_t len, const char *seps)
{
	struct buf name;
	size_t pos = 0;
	bool first = true;

	buf_init(&name, 0);
	for (;;) {
		size_t end = pos;

		while (end < len && memchr(seps, s[end], strlen(seps)) == NULL)
			end++;
		if (!first)
			(void)buf_append(&name, "/", 1);
		if (maildir_name_level_decode(s + pos, end - pos, &name) ==
		    -1) {
			buf_clear(&name);
			return NULL;
		}
		first = false;
		if (end == len)
			break;
		pos = end + 1;
	}
	/* INBOX is case-insensitive (RFC 9051 §5.1): the first level of the
	   result, however the source spelled it, and also when a '/' inside
	   a source level made it one. */
	if (name.len >= 5 && strncasecmp(name.data, "INBOX", 5) == 0 &&
	    (name.len == 5 || name.data[5] == '/'))
		memcpy(name.data, "INBOX", 5);
	return buf_steal(&name);
}

char *
maildir_name_from_dir(const char *dirname)
{
	if (dirname[0] != '.')
		return NULL;
	return maildir_name_from_levels(dirname + 1, strlen(dirname + 1), ".");
}

char *
maildir_name_to_dir(const char *mailbox)
{
	struct buf dir;
	const char *p = mailbox;

	buf_init(&dir, 0);
	if (strcasecmp(mailbox, "INBOX") == 0)
		return buf_steal(&dir);
	for (;;) {
		const char *slash = strchr(p, STORE_SEPARATOR);
		size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (buf_append(&dir, ".", 1) == -1 ||
		    maildir_name_level_encode(p, len, &dir) == -1) {
			buf_clear(&dir);
			return NULL;
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return buf_steal(&dir);
}
