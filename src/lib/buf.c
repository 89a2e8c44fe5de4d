/* buf.c — see buf.h. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void
buf_clear(struct buf *b)
{
	xfree(&b->data);
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (__builtin_add_overflow(b->len, extra, &need) || need > b->max)
		return -1;
	if (need + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < need + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		panic("buf_consume: %zu > %zu", n, b->len);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char *s;

	if (b->data == NULL)
		return xstrdup("");
	s = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}
