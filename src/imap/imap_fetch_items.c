/* imap_fetch_items.c — FETCH arguments (imap_fetch_items.h). Section
   specifications arrive inside one atom ("BODY.PEEK[1.HEADER.FIELDS (A
   "B")]<0.10>", see imap_arg.h) and are parsed here from its text:
   nz-number parts (at most 100 levels), HEADER / HEADER.FIELDS[.NOT]
   (astrings) / TEXT / MIME (after a part only), partials as numbers.
   Nothing is read past an atom's len; every number is range-checked. */
#include "imap/imap_fetch_items.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

#define IMAP_FETCH_ITEMS_MAX_PART_LEVELS 100

static const struct {
	const char *name;
	enum imap_fetch_type type;
	bool sets_seen;
} imap_fetch_items_simple[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS, false },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE, false },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE, false },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE, false },
	{ "BODY", IMAP_FETCH_BODY, false },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE, false },
	{ "UID", IMAP_FETCH_UID, false },
	{ "MODSEQ", IMAP_FETCH_MODSEQ, false },
	{ "EMAILID", IMAP_FETCH_EMAILID, false },
	{ "THREADID", IMAP_FETCH_THREADID, false },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE, false },
	{ "RFC822", IMAP_FETCH_RFC822, true },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER, false },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT, true },
};

/* The section cursor: text s[pos..len) of one atom. */
struct imap_fetch_items_cursor {
	const char *s;
	size_t pos, len;
};

static bool
imap_fetch_items_take(struct imap_fetch_items_cursor *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || strncasecmp(c->s + c->pos, word, n) != 0)
		return false;
	c->pos += n;
	return true;
}

static bool
imap_fetch_items_peek(const struct imap_fetch_items_cursor *c, char ch)
{
	return c->pos < c->len && c->s[c->pos] == ch;
}

/* One number of at most max at the cursor. */
static int
imap_fetch_items_number(struct imap_fetch_items_cursor *c, uint64_t max, uint64_t *n_r)
{
	size_t start = c->pos;
	uint64_t n;

	while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9')
		c->pos++;
	if (str_to_u64_n(c->s + start, c->pos - start, &n) == -1 || n > max)
		return -1;
	*n_r = n;
	return 0;
}

static void
imap_fetch_items_att_clear(struct imap_fetch_att *a)
{
	free(a->part);
	for (size_t i = 0; i < a->n_fields; i++)
		free(a->fields[i]);
	free(a->fields);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")", names
   being astrings (atoms or quoted: no literal fits inside an atom). */
static int
imap_fetch_items_fields(struct imap_fetch_items_cursor *c, struct imap_fetch_att *a)
{
	struct buf f;
	size_t cap = 0;

	if (!imap_fetch_items_take(c, " ("))
		return -1;
	buf_init(&f, 0);
	for (;;) {
		buf_reset(&f);
		if (imap_fetch_items_peek(c, '"')) {
			bool closed = false;

			for (c->pos++; c->pos < c->len; c->pos++) {
				char ch = c->s[c->pos];

				if (ch == '\\' && c->pos + 1 < c->len)
					ch = c->s[++c->pos];
				else if (ch == '"') {
					c->pos++;
					closed = true;
					break;
				}
				(void)buf_append(&f, &ch, 1);
			}
			if (!closed)
				goto fail;
		} else {
			while (c->pos < c->len) {
				unsigned char ch = (unsigned char)c->s[c->pos];

				if (ch <= 0x20 || ch >= 0x7f ||
				    strchr("(){%*\"\\", ch) != NULL)
					break;
				(void)buf_append(&f, &ch, 1);
				c->pos++;
			}
		}
		/* A field name is printable and has no ':' (RFC 5322 §3.6.8). */
		if (f.len == 0)
			goto fail;
		for (size_t i = 0; i < f.len; i++)
			if ((unsigned char)f.data[i] <= 0x20 ||
			    (unsigned char)f.data[i] >= 0x7f || f.data[i] == ':')
				goto fail;
		if (a->n_fields == cap) {
			cap = cap ? cap * 2 : 8;
			a->fields = xreallocarray(a->fields, cap,
			    sizeof(*a->fields));
		}
		a->fields[a->n_fields++] = buf_steal(&f);
		if (imap_fetch_items_take(c, ")"))
			break;
		if (!imap_fetch_items_take(c, " "))
			goto fail;
	}
	buf_clear(&f);
	return 0;
fail:
	buf_clear(&f);
	return -1;
}

/* section-spec between the brackets; for BINARY only a section-part.
   The part goes to a->part; the rest of the spec (upper-cased) to name. */
static int
imap_fetch_items_section(struct imap_fetch_items_cursor *c, bool binary,
    struct imap_fetch_att *a, struct buf *name)
{
	size_t part_start = c->pos, levels = 0, fields_start;

	a->kind = IMAP_SECTION_ALL;
	while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		uint64_t n;

		if (imap_fetch_items_number(c, UINT32_MAX, &n) == -1 || n == 0 ||
		    ++levels > IMAP_FETCH_ITEMS_MAX_PART_LEVELS)
			return -1;
		if (!imap_fetch_items_peek(c, '.'))
			break;
		if (c->pos + 1 < c->len && c->s[c->pos + 1] >= '0' &&
		    c->s[c->pos + 1] <= '9') {
			c->pos++;
			continue;
		}
		break;
	}
	a->part = xstrndup(c->s + part_start, c->pos - part_start);
	(void)buf_append(name, a->part, strlen(a->part));
	if (imap_fetch_items_peek(c, ']'))
		return 0;
	if (binary)
		return -1;
	if (levels > 0) {
		if (!imap_fetch_items_take(c, "."))
			return -1;
		(void)buf_append(name, ".", 1);
	}
	if (imap_fetch_items_take(c, "HEADER.FIELDS.NOT")) {
		a->kind = IMAP_SECTION_HEADER_FIELDS_NOT;
		(void)buf_append_str(name, "HEADER.FIELDS.NOT");
	} else if (imap_fetch_items_take(c, "HEADER.FIELDS")) {
		a->kind = IMAP_SECTION_HEADER_FIELDS;
		(void)buf_append_str(name, "HEADER.FIELDS");
	} else if (imap_fetch_items_take(c, "HEADER")) {
		a->kind = IMAP_SECTION_HEADER;
		(void)buf_append_str(name, "HEADER");
	} else if (imap_fetch_items_take(c, "TEXT")) {
		a->kind = IMAP_SECTION_TEXT;
		(void)buf_append_str(name, "TEXT");
	} else if (levels > 0 && imap_fetch_items_take(c, "MIME")) {
		a->kind = IMAP_SECTION_MIME;
		(void)buf_append_str(name, "MIME");
	} else {
		return -1;
	}
	if (a->kind != IMAP_SECTION_HEADER_FIELDS &&
	    a->kind != IMAP_SECTION_HEADER_FIELDS_NOT)
		return 0;
	fields_start = c->pos;
	if (imap_fetch_items_fields(c, a) == -1)
		return -1;
	/* The field list as sent (RFC 9051 §7.5.2 names the item so). */
	(void)buf_append(name, c->s + fields_start, c->pos - fields_start);
	return 0;
}

/* BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...],
   BINARY.SIZE[...] with an optional <offset.count>. */
static int
imap_fetch_items_section_att(const struct imap_arg *arg, struct imap_fetch_att *a,
    const char **error_r)
{
	struct imap_fetch_items_cursor c = { arg->str, 0, arg->len };
	struct buf name;
	bool binary;

	buf_init(&name, 0);
	if (imap_fetch_items_take(&c, "BODY.PEEK[")) {
		a->type = IMAP_FETCH_BODY_SECTION;
		a->peek = true;
	} else if (imap_fetch_items_take(&c, "BODY[")) {
		a->type = IMAP_FETCH_BODY_SECTION;
	} else if (imap_fetch_items_take(&c, "BINARY.PEEK[")) {
		a->type = IMAP_FETCH_BINARY;
		a->peek = true;
	} else if (imap_fetch_items_take(&c, "BINARY.SIZE[")) {
		a->type = IMAP_FETCH_BINARY_SIZE;
		a->peek = true;
	} else if (imap_fetch_items_take(&c, "BINARY[")) {
		a->type = IMAP_FETCH_BINARY;
	} else {
		*error_r = "Invalid fetch attribute";
		goto fail;
	}
	binary = a->type != IMAP_FETCH_BODY_SECTION;
	(void)buf_append_str(&name, a->type == IMAP_FETCH_BODY_SECTION ?
	    "BODY[" : a->type == IMAP_FETCH_BINARY ? "BINARY[" :
	    "BINARY.SIZE[");
	if (imap_fetch_items_section(&c, binary, a, &name) == -1 ||
	    !imap_fetch_items_take(&c, "]")) {
		*error_r = "Invalid fetch section";
		goto fail;
	}
	(void)buf_append(&name, "]", 1);
	if (imap_fetch_items_take(&c, "<")) {
		/* RFC 9051 §9 partial; count 0 answers an empty string. */
		if (a->type == IMAP_FETCH_BINARY_SIZE ||
		    imap_fetch_items_number(&c, UINT32_MAX, &a->offset) == -1 ||
		    !imap_fetch_items_take(&c, ".") ||
		    imap_fetch_items_number(&c, UINT32_MAX, &a->count) == -1 ||
		    !imap_fetch_items_take(&c, ">")) {
			*error_r = "Invalid fetch partial";
			goto fail;
		}
		a->partial = true;
		(void)buf_printf(&name, "<%llu>", (unsigned long long)a->offset);
	}
	if (c.pos != c.len) {
		*error_r = "Invalid fetch attribute";
		goto fail;
	}
	a->name = buf_steal(&name);
	return 0;
fail:
	buf_clear(&name);
	return -1;
}

static int
imap_fetch_items_att_parse(const struct imap_arg *arg, struct imap_fetch_items *it,
    const char **error_r)
{
	struct imap_fetch_att a;

	memset(&a, 0, sizeof(a));
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid fetch attribute";
		return -1;
	}
	if (memchr(arg->str, '[', arg->len) != NULL) {
		if (imap_fetch_items_section_att(arg, &a, error_r) == -1) {
			imap_fetch_items_att_clear(&a);
			return -1;
		}
		if (!a.peek)
			it->sets_seen = true;
	} else {
		size_t i, n = sizeof(imap_fetch_items_simple) /
		    sizeof(imap_fetch_items_simple[0]);

		for (i = 0; i < n; i++)
			if (imap_arg_is_atom(arg, imap_fetch_items_simple[i].name))
				break;
		if (i == n) {
			*error_r = "Invalid fetch attribute";
			return -1;
		}
		a.type = imap_fetch_items_simple[i].type;
		a.name = xstrdup(imap_fetch_items_simple[i].name);
		if (imap_fetch_items_simple[i].sets_seen)
			it->sets_seen = true;
	}
	/* Capacity doubles: it is the next power of two of n. */
	if ((it->n & (it->n - 1)) == 0)
		it->atts = xreallocarray(it->atts, it->n ? it->n * 2 : 1,
		    sizeof(*it->atts));
	it->atts[it->n++] = a;
	return 0;
}

static int
imap_fetch_items_macro(const struct imap_arg *arg, struct imap_fetch_items *it,
    const char **error_r)
{
	static const char *const all[] = { "FLAGS", "INTERNALDATE",
	    "RFC822.SIZE", "ENVELOPE", "BODY" };
	size_t n;

	if (imap_arg_is_atom(arg, "FAST"))
		n = 3;
	else if (imap_arg_is_atom(arg, "ALL"))
		n = 4;
	else if (imap_arg_is_atom(arg, "FULL"))
		n = 5;
	else
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = all[i],
		    .len = strlen(all[i]) };

		if (imap_fetch_items_att_parse(&a, it, error_r) == -1)
			return -1;
	}
	return 1;
}

/* fetch-modifiers (RFC 7162 §3.1.4, §3.2.6). */
static int
imap_fetch_items_modifiers(const struct imap_arg *arg, struct imap_fetch_items *it,
    const char **error_r)
{
	if (arg->type != IMAP_ARG_LIST || arg->n_list == 0) {
		*error_r = "Invalid FETCH modifiers";
		return -1;
	}
	for (size_t i = 0; i < arg->n_list; i++) {
		const struct imap_arg *m = &arg->list[i];

		if (imap_arg_is_atom(m, "CHANGEDSINCE") && !it->changedsince_set &&
		    i + 1 < arg->n_list &&
		    imap_arg_number64(&m[1], &it->changedsince) == 0) {
			it->changedsince_set = true;
			i++;
		} else if (imap_arg_is_atom(m, "VANISHED") && !it->vanished) {
			it->vanished = true;
		} else {
			*error_r = "Invalid FETCH modifier";
			return -1;
		}
	}
	return 0;
}

int
imap_fetch_items_parse(const struct imap_arg *args, size_t n,
    struct imap_fetch_items *items_r, const char **error_r)
{
	int r;

	memset(items_r, 0, sizeof(*items_r));
	if (n == 0 || n > 2) {
		*error_r = "Invalid FETCH arguments";
		return -1;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		if (args[0].n_list == 0) {
			*error_r = "Empty FETCH attribute list";
			goto fail;
		}
		for (size_t i = 0; i < args[0].n_list; i++)
			if (imap_fetch_items_att_parse(&args[0].list[i], items_r,
			    error_r) == -1)
				goto fail;
	} else if ((r = imap_fetch_items_macro(&args[0], items_r, error_r)) == -1 ||
	    (r == 0 && imap_fetch_items_att_parse(&args[0], items_r, error_r) == -1)) {
		goto fail;
	}
	if (n == 2 && imap_fetch_items_modifiers(&args[1], items_r, error_r) == -1)
		goto fail;
	return 0;
fail:
	imap_fetch_items_clear(items_r);
	return -1;
}

void
imap_fetch_items_clear(struct imap_fetch_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		imap_fetch_items_att_clear(&items->atts[i]);
	free(items->atts);
	memset(items, 0, sizeof(*items));
}
