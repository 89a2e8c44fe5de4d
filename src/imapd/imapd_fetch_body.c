/* imapd_fetch_body.c — the message file behind BODY[...], RFC822*,
   BINARY[...] and uncached ENVELOPE/BODYSTRUCTURE: mapped read-only, so
   that a 50 MB body is never copied whole (the answer loop copies it
   chunk by chunk into the output), and parsed with mime.h. A fetch that
   needs only the top-level header parses only up to its empty line, and
   only those pages are read from the disk. */
#include "imapd/imapd_fetch_private.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "imap/imap_fetch_items.h"
#include "mail/mime.h"
#include "store/store.h"

/* The header's length: up to and including the first empty line, or the
   whole message when there is none (RFC 5322 §2.1; bare LF accepted as
   the parser does). */
static size_t
imapd_fetch_header_len(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	/* an empty first line ends an empty header */
	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	if (len >= 1 && p[0] == '\n')
		return 1;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && *p == '\n')
			return (size_t)(p + 1 - data);
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - data);
	}
	return len;
}

int
imapd_fetch_file_open(struct store *store, int64_t mailbox_id, uint32_t uid,
    bool header_only, struct imapd_fetch_file *file)
{
	uint64_t size;
	int fd, rc;

	memset(file, 0, sizeof(*file));
	rc = store_message_open(store, mailbox_id, uid, &fd, &size);
	if (rc == STORE_NOT_FOUND)
		return 1;
	if (rc != STORE_OK)
		return -1;
	if (size > SIZE_MAX / 2) {
		close(fd);
		return -1;
	}
	file->len = (size_t)size;
	if (file->len > 0) {
		file->map = mmap(NULL, file->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (file->map == MAP_FAILED) {
			file->map = NULL;
			close(fd);
			return -1;
		}
		file->data = file->map;
	} else {
		file->data = "";
	}
	close(fd);		/* the mapping keeps the file */
	file->header_only = header_only;
	file->mime = mime_parse(file->data, header_only ?
	    imapd_fetch_header_len(file->data, file->len) : file->len, NULL);
	return 0;
}

void
imapd_fetch_file_close(struct imapd_fetch_file *file)
{
	mime_message_free(&file->mime);
	if (file->map != NULL)
		munmap(file->map, file->len);
	memset(file, 0, sizeof(*file));
}

/* Dovecot's literal8 choice for BINARY: a decoded (base64, QP) non-empty
   body, or a NUL in the part. */
static bool
imapd_fetch_literal8(const struct imapd_fetch_file *file, uint32_t index)
{
	const struct mime_part *part = mime_part_get(file->mime, index);

	if (part->body_end > part->body_off &&
	    mime_part_is_encoded(file->mime, index))
		return true;
	return memchr(file->data + part->header_off, '\0',
	    part->body_end - part->header_off) != NULL;
}

static int
imapd_fetch_binary(const struct imapd_fetch_file *file, const char *numbers,
    struct buf *tmp, const char **data_r, size_t *len_r, bool *literal8_r)
{
	uint32_t index;
	int ret;

	if (mime_section_part(file->mime, numbers, &index) < 0)
		return 0;		/* no such part: empty, as Dovecot */
	buf_reset(tmp);
	if (numbers[0] == '\0') {
		/* BINARY[] is the whole message: its header as it is, then
		   the decoded body (RFC 9051 §6.4.5, as Dovecot) */
		const struct mime_part *top = mime_part_get(file->mime, 0);

		(void)buf_append(tmp, file->data + top->header_off,
		    top->body_off - top->header_off);
	}
	ret = mime_part_decode(file->mime, index, tmp);
	if (ret == -1 || ret == -2)
		return ret;
	if (ret < 0)
		return -2;
	*data_r = tmp->data != NULL ? tmp->data : "";
	*len_r = tmp->len;
	*literal8_r = imapd_fetch_literal8(file, index);
	return 0;
}

int
imapd_fetch_section(const struct imapd_fetch_file *file,
    const struct imap_fetch_att *att, struct buf *tmp, const char **data_r,
    size_t *len_r, bool *literal8_r)
{
	enum mime_section_kind kind = MIME_SECTION_ALL;
	const char *numbers = att->part != NULL ? att->part : "";
	size_t off, len;

	*data_r = "";
	*len_r = 0;
	*literal8_r = false;
	switch (att->type) {
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		return imapd_fetch_binary(file, numbers, tmp, data_r, len_r,
		    literal8_r);
	case IMAP_FETCH_RFC822:
		numbers = "";
		break;
	case IMAP_FETCH_RFC822_HEADER:
		numbers = "";
		kind = MIME_SECTION_HEADER;
		break;
	case IMAP_FETCH_RFC822_TEXT:
		numbers = "";
		kind = MIME_SECTION_TEXT;
		break;
	default:
		switch (att->kind) {
		case IMAP_SECTION_ALL:
			kind = MIME_SECTION_ALL;
			break;
		case IMAP_SECTION_HEADER:
		case IMAP_SECTION_HEADER_FIELDS:
		case IMAP_SECTION_HEADER_FIELDS_NOT:
			kind = MIME_SECTION_HEADER;
			break;
		case IMAP_SECTION_TEXT:
			kind = MIME_SECTION_TEXT;
			break;
		case IMAP_SECTION_MIME:
			kind = MIME_SECTION_MIME;
			break;
		}
		break;
	}
	if (mime_section_lookup(file->mime, numbers, kind, &off, &len) < 0)
		return 0;		/* missing: "" as Dovecot */
	if (att->type == IMAP_FETCH_BODY_SECTION &&
	    (att->kind == IMAP_SECTION_HEADER_FIELDS ||
	    att->kind == IMAP_SECTION_HEADER_FIELDS_NOT)) {
		buf_reset(tmp);
		if (mime_header_filter(file->data + off, len,
		    (const char *const *)att->fields, att->n_fields,
		    att->kind == IMAP_SECTION_HEADER_FIELDS_NOT, tmp) < 0)
			return -2;
		*data_r = tmp->data != NULL ? tmp->data : "";
		*len_r = tmp->len;
		return 0;
	}
	*data_r = file->data + off;
	*len_r = len;
	return 0;
}
