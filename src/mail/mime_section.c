/* mime_section.c — IMAP section numbers (RFC 9051 §6.4.5) and the byte
   ranges of BODY[section].

   Numbering: the children of a multipart are 1, 2, ...; a non-multipart
   body is part 1 of its message; the parts of a message/rfc822 part are
   those of the message it encapsulates, so "2.1" is the body of the
   message in part 2 when that message is not multipart. */
#include "mail/mime.h"

#include "mail/mime_private.h"

/* One nz-number at *p up to '.' or the end. Returns 0, or -1 on junk. */
static int
mime_section_number(const char **p, uint32_t *num_r)
{
	const char *s = *p;
	uint32_t n = 0;

	if (*s < '1' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT32_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint32_t)(*s - '0');
	}
	if (*s != '\0' && *s != '.')
		return -1;
	if (*s == '.' && (s[1] < '1' || s[1] > '9'))
		return -1;		/* "1." or "1..2" */
	*p = *s == '.' ? s + 1 : s;
	*num_r = n;
	return 0;
}

int
mime_section_part(const struct mime_message *msg, const char *numbers,
    uint32_t *index_r)
{
	const char *p = numbers;
	uint32_t index = 0, num;

	while (*p != '\0') {
		const struct mime_part *part = &msg->parts[index];

		if (mime_section_number(&p, &num) < 0)
			return -1;
		if (part->is_multipart) {
			index = part->first_child;
			while (--num > 0 && index != MIME_NONE)
				index = msg->parts[index].next_sibling;
			if (index == MIME_NONE)
				return -1;
		} else if (num != 1 || (*p != '\0' && !part->is_message)) {
			/* a single body is part 1 and has no parts itself */
			return -1;
		}
		part = &msg->parts[index];
		if (part->is_message && *p != '\0')
			index = part->first_child;
	}
	*index_r = index;
	return 0;
}

static void
mime_section_set(size_t from, size_t to, size_t *off_r, size_t *len_r)
{
	*off_r = from;
	*len_r = to - from;
}

/* The section of part index addressed by a section-part, as opposed to the
   top level (no number): ALL is the body, MIME the part's own header. */
static int
mime_section_of_part(const struct mime_message *msg, uint32_t index,
    enum mime_section_kind kind, size_t *off_r, size_t *len_r)
{
	const struct mime_part *part = &msg->parts[index];

	switch (kind) {
	case MIME_SECTION_ALL:
		mime_section_set(part->body_off, part->body_end, off_r, len_r);
		return 0;
	case MIME_SECTION_MIME:
		mime_section_set(part->header_off, part->body_off, off_r,
		    len_r);
		return 0;
	case MIME_SECTION_HEADER:
	case MIME_SECTION_TEXT:
		if (!part->is_message)
			return -1;
		part = &msg->parts[part->first_child];
		if (kind == MIME_SECTION_HEADER)
			mime_section_set(part->header_off, part->body_off,
			    off_r, len_r);
		else
			mime_section_set(part->body_off, part->body_end,
			    off_r, len_r);
		return 0;
	}
	return -1;
}

int
mime_section_range(const struct mime_message *msg, uint32_t index,
    enum mime_section_kind kind, size_t *off_r, size_t *len_r)
{
	const struct mime_part *root = &msg->parts[0];

	if (index >= msg->n_parts)
		return -1;
	if (index != 0)
		return mime_section_of_part(msg, index, kind, off_r, len_r);
	switch (kind) {
	case MIME_SECTION_ALL:
		mime_section_set(0, msg->len, off_r, len_r);
		return 0;
	case MIME_SECTION_HEADER:
		mime_section_set(root->header_off, root->body_off, off_r,
		    len_r);
		return 0;
	case MIME_SECTION_TEXT:
		mime_section_set(root->body_off, root->body_end, off_r, len_r);
		return 0;
	case MIME_SECTION_MIME:
		return -1;
	}
	return -1;
}

int
mime_section_lookup(const struct mime_message *msg, const char *numbers,
    enum mime_section_kind kind, size_t *off_r, size_t *len_r)
{
	uint32_t index;

	if (*numbers == '\0')
		return mime_section_range(msg, 0, kind, off_r, len_r);
	if (mime_section_part(msg, numbers, &index) < 0)
		return -1;
	return mime_section_of_part(msg, index, kind, off_r, len_r);
}
