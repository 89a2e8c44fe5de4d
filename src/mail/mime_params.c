/* mime_params.c — MIME parameter lists (RFC 2045 §5.1), with RFC 2231
   continuations joined (see mime_private.h).

   Dovecot's rules for broken lists are kept: a parameter that does not
   parse is skipped a byte at a time; continuations whose numbering has a
   gap stay separate ("name*0", "name*2"); joined parameters follow the
   plain ones, sorted by name; a joined extended value keeps its
   charset'lang' prefix and its %XX escapes (IMAP clients decode them). */
#include "mail/mime_private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"

void
mime_params_init(struct mime_params *ps)
{
	buf_init(&ps->store, 0);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}

void
mime_params_clear(struct mime_params *ps)
{
	buf_clear(&ps->store);
	xfree(&ps->v);
	ps->n = ps->cap = 0;
}

static size_t
mime_params_str(struct mime_params *ps, const char *s, size_t len)
{
	size_t off = ps->store.len;

	(void)buf_append(&ps->store, s, len);
	(void)buf_append(&ps->store, "", 1);
	return off;
}

static void
mime_params_add(struct mime_params *ps, size_t name, size_t value)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 8;
		ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
	}
	ps->v[ps->n].name = name;
	ps->v[ps->n].value = value;
	ps->n++;
}

/* One "; name=value" at the cursor. Returns 1 with name and value (value
   may be empty) in the two buffers, 0 at the end, -1 when broken. */
static int
mime_params_one(struct mime_lex *lx, struct buf *name, struct buf *value)
{
	int ret;

	buf_reset(name);
	buf_reset(value);
	if (lx->p >= lx->end)
		return 0;
	if (*lx->p != ';')
		return -1;
	lx->p++;
	if (mime_lex_skip_lwsp(lx) <= 0)
		return -1;
	if (mime_lex_token(lx, name) <= 0)
		return -1;
	if (*lx->p != '=')
		return -1;
	lx->p++;
	if ((ret = mime_lex_skip_lwsp(lx)) <= 0) {
		/* no value */
	} else if (*lx->p == '"') {
		ret = mime_lex_quoted(lx, value);
	} else if (*lx->p == '=') {
		/* name==?utf-8?b?...?= from broken senders: up to WSP or ';' */
		const unsigned char *start = lx->p;

		while (lx->p < lx->end && *lx->p != ';' && *lx->p != ' ' &&
		    *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
			lx->p++;
		(void)buf_append(value, start, (size_t)(lx->p - start));
	} else {
		ret = mime_lex_token(lx, value);
	}
	return ret < 0 ? -1 : 1;
}

/* A piece of an RFC 2231 parameter: name*<idx>[*]. */
struct mime_params_rfc2231 {
	size_t key, value;		/* offsets in the params' store */
	uint32_t idx;
	bool extended;
	size_t order;			/* keeps equal keys in input order */
	const char *base;		/* store data, for the sort only */
};

static int
mime_params_rfc2231_cmp(const void *a, const void *b)
{
	const struct mime_params_rfc2231 *x = a, *y = b;
	int r = strcmp(x->base + x->key, y->base + y->key);

	if (r != 0)
		return r;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Joins the continuations of one key: values[i..n) all share it. */
static void
mime_params_rfc2231_join(struct mime_params *ps, struct mime_params_rfc2231 *r,
    size_t n, struct buf *tmp)
{
	bool ok = true, extended = false;
	size_t name;

	for (size_t j = 0; j < n; j++) {
		if (r[j].idx != j)
			ok = false;
		if (r[j].extended)
			extended = true;
	}
	if (!ok) {
		/* a gap in the numbering: keep the pieces as they came */
		for (size_t j = 0; j < n; j++) {
			buf_reset(tmp);
			(void)buf_printf(tmp, "%s*%u%s",
			    ps->store.data + r[j].key, (unsigned)r[j].idx,
			    r[j].extended ? "*" : "");
			name = mime_params_str(ps, tmp->data, tmp->len);
			mime_params_add(ps, name, r[j].value);
		}
		return;
	}
	buf_reset(tmp);
	/* an extended value starts with charset'lang'; give the joined
	   value an empty one when only later pieces were extended, and
	   keep the plain pieces' '%' from reading as escapes */
	if (extended && !r[0].extended)
		(void)buf_append(tmp, "''", 2);
	for (size_t j = 0; j < n; j++) {
		const char *v = ps->store.data + r[j].value;

		if (extended && !r[j].extended) {
			for (; *v != '\0'; v++) {
				if (*v == '%')
					(void)buf_append(tmp, "%25", 3);
				else
					(void)buf_append(tmp, v, 1);
			}
		} else {
			(void)buf_append_str(tmp, v);
		}
	}
	size_t value = mime_params_str(ps, tmp->data, tmp->len);

	buf_reset(tmp);
	(void)buf_append_str(tmp, ps->store.data + r[0].key);
	if (extended)
		(void)buf_append(tmp, "*", 1);
	name = mime_params_str(ps, tmp->data, tmp->len);
	mime_params_add(ps, name, value);
}

void
mime_params_parse(struct mime_lex *lx, struct mime_params *ps)
{
	struct buf name, value;
	struct mime_params_rfc2231 *r = NULL, cur = { 0 };
	size_t nr = 0, cap = 0;
	bool save_nul = lx->nul_replace;
	int ret;

	buf_reset(&ps->store);
	ps->n = 0;
	buf_init(&name, 0);
	buf_init(&value, 0);
	lx->nul_replace = true;
	while ((ret = mime_params_one(lx, &name, &value)) != 0) {
		if (ret < 0) {
			/* skip a byte and try again from there */
			if (lx->p >= lx->end)
				break;
			lx->p++;
			continue;
		}
		const char *key = name.data, *star = strchr(key, '*');
		const char *p = star;

		if (star != NULL) {
			if (p[1] != '\0') {
				/* name*<digits>[*]; a bare "name*" keeps the
				   index of the piece before it (Dovecot) */
				p++;
				cur.idx = 0;
				for (; *p >= '0' && *p <= '9'; p++)
					cur.idx = cur.idx * 10 +
					    (uint32_t)(*p - '0');
			}
			cur.extended = *p == '*';
			if (cur.extended)
				p++;
			if (*p == '\0') {
				if (nr == cap) {
					cap = cap ? cap * 2 : 8;
					r = xreallocarray(r, cap, sizeof(*r));
				}
				cur.key = mime_params_str(ps, key,
				    (size_t)(star - key));
				cur.value = mime_params_str(ps, value.data,
				    value.len);
				cur.order = nr;
				r[nr++] = cur;
				continue;
			}
		}
		size_t k = mime_params_str(ps, key, name.len);
		size_t v = mime_params_str(ps, value.data, value.len);

		mime_params_add(ps, k, v);
	}
	lx->nul_replace = save_nul;
	if (nr > 0) {
		for (size_t i = 0; i < nr; i++)
			r[i].base = ps->store.data;
		qsort(r, nr, sizeof(*r), mime_params_rfc2231_cmp);
		for (size_t i = 0, next; i < nr; i = next) {
			for (next = i + 1; next < nr; next++) {
				if (strcasecmp(ps->store.data + r[i].key,
				    ps->store.data + r[next].key) != 0)
					break;
			}
			mime_params_rfc2231_join(ps, r + i, next - i, &name);
		}
	}
	free(r);
	buf_clear(&name);
	buf_clear(&value);
}
