/* xmalloc.h — allocation that never returns NULL, and panic().
   Every input-driven size is capped before it reaches these, so running out
   of memory is not something a peer can cause: we abort (Postfix mymalloc). */
#ifndef PETREL_XMALLOC_H
#define PETREL_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

/* Logs "panic: <msg>" and aborts with a core. For impossible states only. */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* n * size with overflow check; panics on overflow (a bug, not input). */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Frees *p and sets it to NULL; accepts NULL. */
static inline void
xfree(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

#define ALWAYS(x) (__builtin_expect(!!(x), 1))
#define NEVER(x) (__builtin_expect(!!(x), 0))
#endif
