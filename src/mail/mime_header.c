/* mime_header.c — the fields of a header section: iteration, values as
   Dovecot's header parser gives them, lookup by name, and the
   BODY[HEADER.FIELDS] filter.

   A field is a line plus the lines after it that start with SP or HT
   (RFC 5322 §2.2.3); a line ends at LF, a CR before the LF belongs to the
   line end. An empty line ends the header. The name is what comes before
   the first colon of the first line, trailing WSP removed; a line without
   a colon is a field with an empty name, as is one whose name is longer
   than RFC 5322 allows. */
#include "mail/mime_private.h"

#include <string.h>

/* Where the line at pos ends: after its LF, or at end. */
static size_t
mime_header_line_end(const char *data, size_t pos, size_t end)
{
	const char *lf = memchr(data + pos, '\n', end - pos);

	return lf != NULL ? (size_t)(lf - data) + 1 : end;
}

/* The end of a line's content: before "\n" or "\r\n" (only at line_end). */
static size_t
mime_header_content_end(const char *data, size_t pos, size_t line_end)
{
	if (line_end > pos && data[line_end - 1] == '\n') {
		line_end--;
		if (line_end > pos && data[line_end - 1] == '\r')
			line_end--;
	}
	return line_end;
}

bool
mime_header_next(const char *data, size_t end, size_t *pos,
    struct mime_field *field_r)
{
	size_t off = *pos, line_end, content_end, next;
	const char *colon;

	if (off >= end)
		return false;
	if (data[off] == '\n' ||
	    (data[off] == '\r' && off + 1 < end && data[off + 1] == '\n'))
		return false;

	line_end = mime_header_line_end(data, off, end);
	content_end = mime_header_content_end(data, off, line_end);
	field_r->off = off;
	field_r->folded = false;
	field_r->lines = data[line_end - 1] == '\n';
	colon = memchr(data + off, ':', content_end - off);
	if (colon == NULL ||
	    (size_t)(colon - data) - off > MIME_FIELD_NAME_MAX) {
		field_r->name = data + off;
		field_r->name_len = 0;
		field_r->value = data + off;
	} else {
		size_t n = (size_t)(colon - data) - off;
		const char *v = colon + 1, *ve = data + content_end;

		while (n > 0 && (data[off + n - 1] == ' ' ||
		    data[off + n - 1] == '\t'))
			n--;
		field_r->name = data + off;
		field_r->name_len = n;
		/* all WSP after the colon goes, except that a value of WSP
		   only keeps all but its first byte (Dovecot) */
		const char *s = v;

		while (s < ve && (*s == ' ' || *s == '\t'))
			s++;
		if (s == ve && v < ve)
			s = v + 1;
		field_r->value = s;
	}
	/* continuation lines */
	next = line_end;
	while (next < end && (data[next] == ' ' || data[next] == '\t')) {
		field_r->folded = true;
		line_end = mime_header_line_end(data, next, end);
		field_r->lines += data[line_end - 1] == '\n';
		content_end = mime_header_content_end(data, next, line_end);
		next = line_end;
	}
	field_r->value_end = data + content_end;
	field_r->end = next;
	*pos = next;
	return true;
}

void
mime_header_value(const struct mime_field *f, struct buf *tmp,
    const char **value_r, size_t *len_r)
{
	const char *p = f->value, *end = f->value_end;

	if (!f->folded) {
		*value_r = p;
		*len_r = (size_t)(end - p);
		return;
	}
	buf_reset(tmp);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *ce;

		if (lf == NULL) {
			(void)buf_append(tmp, p, (size_t)(end - p));
			break;
		}
		ce = lf;
		if (ce > p && ce[-1] == '\r')
			ce--;
		(void)buf_append(tmp, p, (size_t)(ce - p));
		(void)buf_append(tmp, "\n", 1);
		p = lf + 1;
	}
	*value_r = tmp->data != NULL ? tmp->data : "";
	*len_r = tmp->len;
}

bool
mime_header_name_is(const struct mime_field *f, const char *s)
{
	size_t i;

	for (i = 0; i < f->name_len && f->name[i] != '\0'; i++) {
		unsigned char a = (unsigned char)f->name[i];
		unsigned char b = (unsigned char)s[i];

		if (b == '\0')
			return false;
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return s[i] == '\0';
}

void
mime_header_bounds(const struct mime_message *msg, uint32_t index,
    size_t *off_r, size_t *end_r)
{
	const struct mime_part *part = &msg->parts[index];

	*off_r = part->header_off;
	*end_r = part->body_off;
}

/* The nth field called name in the header of part index. */
static bool
mime_header_lookup(const struct mime_message *msg, uint32_t index,
    const char *name, unsigned nth, struct mime_field *f)
{
	size_t pos, end;

	if (index >= msg->n_parts)
		return false;
	mime_header_bounds(msg, index, &pos, &end);
	while (mime_header_next(msg->data, end, &pos, f)) {
		if (f->name_len > 0 && mime_header_name_is(f, name) &&
		    nth-- == 0)
			return true;
	}
	return false;
}

int
mime_header_get(const struct mime_message *msg, uint32_t index,
    const char *name, unsigned nth, struct buf *out)
{
	struct mime_field f;
	const char *p;
	bool leading = true;

	if (!mime_header_lookup(msg, index, name, nth, &f))
		return -1;
	for (p = f.value; p < f.value_end; p++) {
		size_t run;

		if (*p == '\n' || (*p == '\r' && p + 1 < f.value_end &&
		    p[1] == '\n'))
			continue;
		if (leading && (*p == ' ' || *p == '\t'))
			continue;
		leading = false;
		/* copy the run up to the next line break at once */
		for (run = 1; p + run < f.value_end && p[run] != '\r' &&
		    p[run] != '\n'; run++)
			;
		if (buf_append(out, p, run) < 0)
			return -1;
		p += run - 1;
	}
	return 0;
}

int
mime_header_find(const struct mime_message *msg, uint32_t index,
    const char *name, unsigned nth, size_t *off_r, size_t *len_r)
{
	struct mime_field f;

	if (!mime_header_lookup(msg, index, name, nth, &f))
		return -1;
	*off_r = f.off;
	*len_r = f.end - f.off;
	return 0;
}

int
mime_header_filter(const char *header, size_t len,
    const char *const *names, size_t n_names, bool not, struct buf *out)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_header_next(header, len, &pos, &f)) {
		bool match = false;

		for (size_t i = 0; i < n_names && !match; i++)
			match = f.name_len > 0 &&
			    mime_header_name_is(&f, names[i]);
		if (match == not)
			continue;
		if (buf_append(out, header + f.off, f.end - f.off) < 0)
			return -1;
		/* a header cut short still gives whole lines */
		if (header[f.end - 1] != '\n' &&
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}
