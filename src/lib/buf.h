/* buf.h — growable byte buffer with a hard maximum.
   Growth past max fails with -1 so the caller can answer the protocol error;
   data may hold NUL bytes and is always NUL-terminated past len for
   convenience (the terminator is not counted in len). */
#ifndef PETREL_BUF_H
#define PETREL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap, max;
};

/* max 0 means SIZE_MAX/2 (limits are the caller's business). */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; b may be reused after buf_init. */
void buf_clear(struct buf *b);
/* Empties without freeing. */
void buf_reset(struct buf *b);
/* Appends; returns 0, or -1 when len would exceed max (b unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Returns the data as a heap string the caller owns; b is left empty. */
char *buf_steal(struct buf *b);
#endif
