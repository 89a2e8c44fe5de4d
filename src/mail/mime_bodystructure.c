/* mime_bodystructure.c — IMAP BODY and BODYSTRUCTURE (RFC 9051 §7.5.2).

   The tree is walked without recursion: entering a part writes what
   precedes its children, leaving it writes what follows them. The
   Content-* fields of a part are read again from its header when written;
   only the first of each counts, except Content-Disposition, where a later
   field replaces one without parameters (Dovecot). A header without
   MIME-Version or Content-Type that is not a body part of a multipart is
   not MIME: its Content-* fields are ignored (RFC 2045 §4). Defaults are
   added where IMAP needs a value: text/plain, charset us-ascii for text,
   "7bit", and one empty text/plain body part for a multipart without any
   (RFC 9051 requires at least one). A single-part us-ascii 7bit
   text/plain message without other fields is written in its canonical
   lower-case form, as Dovecot caches it. Sizes are the stored bytes. */
#include "mail/mime.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime_private.h"

#define MIME_BS_NONE SIZE_MAX

#define MIME_BS_EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") " \
	"NIL NIL \"7bit\" 0 0"

/* The Content-* fields of one part. */
struct mime_bs_data {
	struct buf store;	/* NUL-terminated strings */
	struct buf tmp, val;
	struct mime_params ctype, disp;
	bool ctype_params;	/* the Content-Type parsed well enough */
	size_t cte, id, description, md5, location, disposition;
	size_t *langs;
	size_t n_langs, cap_langs;
};

static void
mime_bs_data_init(struct mime_bs_data *d)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->store, 0);
	buf_init(&d->tmp, 0);
	buf_init(&d->val, 0);
	mime_params_init(&d->ctype);
	mime_params_init(&d->disp);
}

static void
mime_bs_data_clear(struct mime_bs_data *d)
{
	buf_clear(&d->store);
	buf_clear(&d->tmp);
	buf_clear(&d->val);
	mime_params_clear(&d->ctype);
	mime_params_clear(&d->disp);
	free(d->langs);
}

static size_t
mime_bs_dup(struct mime_bs_data *d, const char *s, size_t len)
{
	size_t off = d->store.len;

	mime_quote_strdup(&d->store, s, len);
	(void)buf_append(&d->store, "", 1);
	return off;
}

static const char *
mime_bs_str(const struct mime_bs_data *d, size_t off)
{
	return off == MIME_BS_NONE ? NULL : d->store.data + off;
}

static void
mime_bs_language(struct mime_bs_data *d, const char *v, size_t len)
{
	struct mime_lex lx;

	mime_lex_init(&lx, v, len);
	(void)mime_lex_skip_lwsp(&lx);
	buf_reset(&d->tmp);
	while (mime_lex_atom(&lx, &d->tmp) >= 0) {
		if (d->n_langs == d->cap_langs) {
			d->cap_langs = d->cap_langs ? d->cap_langs * 2 : 4;
			d->langs = xreallocarray(d->langs, d->cap_langs,
			    sizeof(*d->langs));
		}
		d->langs[d->n_langs++] = mime_bs_dup(d, d->tmp.data,
		    d->tmp.len);
		buf_reset(&d->tmp);
		if (lx.p >= lx.end || *lx.p != ',')
			break;
		lx.p++;
		(void)mime_lex_skip_lwsp(&lx);
	}
}

/* One Content-* field; name is what follows "Content-". */
static void
mime_bs_field(struct mime_bs_data *d, const struct mime_field *f,
    bool *seen_ctype)
{
	struct mime_field sub = *f;
	struct mime_lex lx;
	const char *v;
	size_t len;

	sub.name += 8;
	sub.name_len -= 8;
	mime_header_value(f, &d->val, &v, &len);
	if (mime_header_name_is(&sub, "ID")) {
		if (d->id == MIME_BS_NONE)
			d->id = mime_bs_dup(d, v, len);
	} else if (mime_header_name_is(&sub, "MD5")) {
		if (d->md5 == MIME_BS_NONE)
			d->md5 = mime_bs_dup(d, v, len);
	} else if (mime_header_name_is(&sub, "Description")) {
		if (d->description == MIME_BS_NONE)
			d->description = mime_bs_dup(d, v, len);
	} else if (mime_header_name_is(&sub, "Location")) {
		if (d->location == MIME_BS_NONE)
			d->location = mime_bs_dup(d, v, len);
	} else if (mime_header_name_is(&sub, "Language")) {
		if (d->n_langs == 0)
			mime_bs_language(d, v, len);
	} else if (mime_header_name_is(&sub, "Type")) {
		if (*seen_ctype)
			return;
		*seen_ctype = true;
		mime_lex_init(&lx, v, len);
		(void)mime_lex_skip_lwsp(&lx);
		buf_reset(&d->tmp);
		if (mime_lex_content_type(&lx, &d->tmp) < 0)
			return;	/* broken: no parameters */
		d->ctype_params = true;
		mime_params_parse(&lx, &d->ctype);
	} else if (mime_header_name_is(&sub, "Transfer-Encoding")) {
		if (d->cte != MIME_BS_NONE)
			return;
		/* one token and nothing else (comments aside) */
		struct buf tok;

		buf_init(&tok, 0);
		mime_lex_init(&lx, v, len);
		(void)mime_lex_skip_lwsp(&lx);
		if (mime_lex_token(&lx, &tok) >= 0 &&
		    mime_lex_skip_lwsp(&lx) == 0 && tok.len > 0)
			d->cte = mime_bs_dup(d, tok.data, tok.len);
		buf_clear(&tok);
	} else if (mime_header_name_is(&sub, "Disposition")) {
		if (d->disp.n > 0)
			return;
		mime_lex_init(&lx, v, len);
		(void)mime_lex_skip_lwsp(&lx);
		buf_reset(&d->tmp);
		if (mime_lex_token(&lx, &d->tmp) < 0)
			return;
		d->disposition = mime_bs_dup(d, d->tmp.data, d->tmp.len);
		mime_params_parse(&lx, &d->disp);
	}
}

static void
mime_bs_parse(const struct mime_message *msg, uint32_t index,
    struct mime_bs_data *d)
{
	struct mime_field f;
	size_t pos, end;
	bool seen_ctype = false;

	buf_reset(&d->store);
	d->ctype.n = d->disp.n = 0;
	d->ctype_params = false;
	d->cte = d->id = d->description = d->md5 = d->location =
	    d->disposition = MIME_BS_NONE;
	d->n_langs = 0;
	if ((msg->flags[index] & MIME_PART_IS_MIME) == 0)
		return;
	mime_header_bounds(msg, index, &pos, &end);
	while (mime_header_next(msg->data, end, &pos, &f)) {
		if (f.name_len > 8 &&
		    strncasecmp(f.name, "Content-", 8) == 0)
			mime_bs_field(d, &f, &seen_ctype);
	}
}

/* --- writing -------------------------------------------------------------- */

static int
mime_bs_cstr(struct buf *out, const char *s)
{
	return mime_quote_string(out, s, strlen(s));
}

static int
mime_bs_nstring_nolf(struct buf *out, const char *s)
{
	return s == NULL ? mime_quote_nil(out) :
	    mime_quote_string_nolf(out, s, strlen(s));
}

static int
mime_bs_params(struct buf *out, const struct mime_params *ps,
    bool default_charset)
{
	bool charset = false;
	int r = 0;

	if (!default_charset && ps->n == 0)
		return mime_quote_nil(out);
	r |= buf_append(out, "(", 1);
	for (size_t i = 0; i < ps->n; i++) {
		const char *name = mime_params_name(ps, i);

		if (i > 0)
			r |= buf_append(out, " ", 1);
		if (strcasecmp(name, "charset") == 0)
			charset = true;
		r |= mime_bs_cstr(out, name);
		r |= buf_append(out, " ", 1);
		r |= mime_bs_cstr(out, mime_params_value(ps, i));
	}
	if (default_charset && !charset) {
		if (ps->n > 0)
			r |= buf_append(out, " ", 1);
		r |= buf_append_str(out, "\"charset\" \"us-ascii\"");
	}
	return r | buf_append(out, ")", 1);
}

/* disposition, language, location: the tail every extended body has */
static int
mime_bs_common(struct buf *out, const struct mime_bs_data *d)
{
	int r = buf_append(out, " ", 1);

	if (d->disposition == MIME_BS_NONE) {
		r |= mime_quote_nil(out);
	} else {
		r |= buf_append(out, "(", 1);
		r |= mime_bs_cstr(out, mime_bs_str(d, d->disposition));
		r |= buf_append(out, " ", 1);
		r |= mime_bs_params(out, &d->disp, false);
		r |= buf_append(out, ")", 1);
	}
	r |= buf_append(out, " ", 1);
	if (d->n_langs == 0) {
		r |= mime_quote_nil(out);
	} else {
		r |= buf_append(out, "(", 1);
		for (size_t i = 0; i < d->n_langs; i++) {
			if (i > 0)
				r |= buf_append(out, " ", 1);
			r |= mime_bs_cstr(out, mime_bs_str(d, d->langs[i]));
		}
		r |= buf_append(out, ")", 1);
	}
	r |= buf_append(out, " ", 1);
	return r | mime_bs_nstring_nolf(out, mime_bs_str(d, d->location));
}

/* Dovecot caches a single-part text/plain, us-ascii, 7bit message as one
   flag and answers the canonical form for it, in lower case. */
static bool
mime_bs_is_plain_7bit(const struct mime_message *msg, uint32_t index,
    const struct mime_bs_data *d)
{
	const struct mime_part *part = &msg->parts[index];
	uint8_t flags = msg->flags[index];

	if (index != 0 || (flags & MIME_PART_TEXT) == 0 ||
	    part->is_multipart || part->is_message)
		return false;
	if ((flags & MIME_PART_HAS_CTYPE) != 0 &&
	    (flags & MIME_PART_IS_MIME) != 0 &&
	    strcasecmp(part->subtype, "plain") != 0)
		return false;
	if (d->ctype.n > 1 || (d->ctype.n == 1 &&
	    (strcasecmp(mime_params_name(&d->ctype, 0), "charset") != 0 ||
	    strcasecmp(mime_params_value(&d->ctype, 0), "us-ascii") != 0)))
		return false;
	if (d->cte != MIME_BS_NONE &&
	    strcasecmp(mime_bs_str(d, d->cte), "7bit") != 0)
		return false;
	return d->id == MIME_BS_NONE && d->description == MIME_BS_NONE &&
	    d->md5 == MIME_BS_NONE && d->disposition == MIME_BS_NONE &&
	    d->n_langs == 0 && d->location == MIME_BS_NONE;
}

/* What precedes a part's children (all of a leaf). */
static int
mime_bs_head(const struct mime_message *msg, uint32_t index, bool extended,
    struct mime_bs_data *d, struct buf *out)
{
	const struct mime_part *part = &msg->parts[index];
	uint8_t flags = msg->flags[index];
	bool text;
	int r = 0;

	if (part->is_multipart) {
		if (part->first_child != MIME_NONE)
			return 0;
		r |= buf_append_str(out, MIME_BS_EMPTY_BODY);
		if (extended)
			r |= buf_append_str(out, " NIL NIL NIL NIL");
		return r | buf_append(out, ")", 1);
	}
	mime_bs_parse(msg, index, d);
	if (mime_bs_is_plain_7bit(msg, index, d)) {
		r |= buf_printf(out, "\"text\" \"plain\" (\"charset\" "
		    "\"us-ascii\") NIL NIL \"7bit\" %zu %" PRIu64,
		    part->body_end - part->body_off, part->body_lines);
		if (extended)
			r |= buf_append_str(out, " NIL NIL NIL NIL");
		return r;
	}
	if (part->is_message || (flags & MIME_PART_TRUNCATED) != 0 ||
	    (flags & MIME_PART_HAS_CTYPE) == 0 ||
	    (flags & MIME_PART_IS_MIME) == 0) {
		/* the parser's choice: message/rfc822, a leaf for the limits,
		   or the text/plain default */
		text = !part->is_message &&
		    (flags & MIME_PART_TRUNCATED) == 0;
		r |= buf_printf(out, "\"%s\" \"%s\"", part->type,
		    part->subtype);
	} else {
		text = strcasecmp(part->type, "text") == 0;
		r |= mime_bs_cstr(out, part->type);
		r |= buf_append(out, " ", 1);
		r |= mime_bs_cstr(out, part->subtype);
	}
	r |= buf_append(out, " ", 1);
	r |= mime_bs_params(out, &d->ctype, text);
	r |= buf_append(out, " ", 1);
	r |= mime_bs_nstring_nolf(out, mime_bs_str(d, d->id));
	r |= buf_append(out, " ", 1);
	r |= mime_bs_nstring_nolf(out, mime_bs_str(d, d->description));
	r |= buf_append(out, " ", 1);
	if (d->cte == MIME_BS_NONE)
		r |= buf_append_str(out, "\"7bit\"");
	else
		r |= mime_bs_cstr(out, mime_bs_str(d, d->cte));
	r |= buf_printf(out, " %zu", part->body_end - part->body_off);
	if (text) {
		r |= buf_printf(out, " %" PRIu64, part->body_lines);
	} else if (part->is_message) {
		r |= buf_append(out, " ", 1);
		r |= mime_envelope_write(msg, part->first_child, out);
		r |= buf_append(out, " ", 1);
		return r;	/* the rest follows the child */
	}
	if (extended) {
		r |= buf_append(out, " ", 1);
		r |= mime_bs_nstring_nolf(out, mime_bs_str(d, d->md5));
		r |= mime_bs_common(out, d);
	}
	return r;
}

/* What follows a container's children. */
static int
mime_bs_tail(const struct mime_message *msg, uint32_t index, bool extended,
    struct mime_bs_data *d, struct buf *out)
{
	const struct mime_part *part = &msg->parts[index];
	int r = 0;

	if (part->is_multipart) {
		r |= buf_append(out, " ", 1);
		r |= mime_bs_cstr(out, part->subtype);
		if (!extended)
			return r;
		mime_bs_parse(msg, index, d);
		r |= buf_append(out, " ", 1);
		r |= mime_bs_params(out, &d->ctype, false);
		return r | mime_bs_common(out, d);
	}
	/* message/rfc822 */
	r |= buf_printf(out, " %" PRIu64, part->body_lines);
	if (extended) {
		mime_bs_parse(msg, index, d);
		r |= buf_append(out, " ", 1);
		r |= mime_bs_nstring_nolf(out, mime_bs_str(d, d->md5));
		r |= mime_bs_common(out, d);
	}
	return r;
}

static bool
mime_bs_has_children(const struct mime_part *part)
{
	return (part->is_multipart || part->is_message) &&
	    part->first_child != MIME_NONE;
}

int
mime_bodystructure(const struct mime_message *msg, uint32_t index,
    bool extended, struct buf *out)
{
	struct mime_bs_data d;
	uint32_t node = index;
	int r = 0;

	if (index >= msg->n_parts)
		return -1;
	mime_bs_data_init(&d);
	r |= buf_append(out, "(", 1);
	for (;;) {
		/* enter node */
		if (node != index)
			r |= buf_append(out, "(", 1);
		r |= mime_bs_head(msg, node, extended, &d, out);
		if (mime_bs_has_children(&msg->parts[node])) {
			node = msg->parts[node].first_child;
			continue;
		}
		/* leave leaves, and the containers they complete */
		for (;;) {
			const struct mime_part *part = &msg->parts[node];

			if (part->is_multipart || part->is_message)
				r |= mime_bs_tail(msg, node, extended, &d, out);
			if (node == index)
				goto done;
			r |= buf_append(out, ")", 1);
			if (part->next_sibling != MIME_NONE) {
				node = part->next_sibling;
				break;
			}
			node = part->parent;
		}
	}
done:
	r |= buf_append(out, ")", 1);
	mime_bs_data_clear(&d);
	return r < 0 ? -1 : 0;
}
