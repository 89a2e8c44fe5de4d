/* fuzz_mime.c — the MIME parser and everything built on it, on arbitrary
   bytes: parse (default and tight limits), ENVELOPE of every message,
   BODY and BODYSTRUCTURE, every section of every part by number and by
   index, BINARY decoding, header lookup and filtering, RFC 2047 decoding.
   The input is copied to a buffer of exactly its size, so a read past the
   end is caught. Checks: the tree is consistent (offsets nested and in
   bounds, line counts possible), sections lie inside the message, decoded
   header values are UTF-8 without NUL, outputs are balanced lists. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "mail/mime.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_tree(const struct mime_message *msg, const char *data, size_t len)
{
	size_t n = mime_part_count(msg);

	CHECK(n >= 1);
	for (uint32_t i = 0; i < n; i++) {
		const struct mime_part *p = mime_part_get(msg, i);
		uint64_t lfs = 0;

		CHECK(p->header_off <= p->body_off);
		CHECK(p->body_off <= p->body_end && p->body_end <= len);
		for (size_t j = p->body_off; j < p->body_end; j++)
			lfs += data[j] == '\n';
		CHECK(p->body_lines == lfs);
		CHECK(p->type != NULL && p->subtype != NULL);
		CHECK(!(p->is_multipart && p->is_message));
		if (p->is_message)
			CHECK(p->first_child != MIME_NONE);
		if (i == 0) {
			CHECK(p->parent == MIME_NONE && p->depth == 0);
			continue;
		}
		const struct mime_part *parent = mime_part_get(msg, p->parent);

		CHECK(p->parent < i && parent != NULL);
		CHECK(parent->is_multipart || parent->is_message);
		CHECK(p->depth == parent->depth + 1);
		CHECK(p->header_off >= parent->body_off);
		CHECK(p->body_end <= parent->body_end);
		if (p->next_sibling != MIME_NONE) {
			const struct mime_part *s =
			    mime_part_get(msg, p->next_sibling);

			CHECK(s != NULL && s->parent == p->parent);
			CHECK(s->header_off >= p->body_end);
		}
	}
}

/* An IMAP list we wrote: parentheses balance outside strings. */
static void
check_list(const struct buf *b)
{
	long depth = 0;

	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];

		if (c == '"') {
			for (i++; i < b->len && b->data[i] != '"'; i++) {
				if (b->data[i] == '\\')
					i++;
			}
		} else if (c == '{') {
			char *end;
			unsigned long n = strtoul(b->data + i + 1, &end, 10);

			CHECK(end[0] == '}' && end[1] == '\r' &&
			    end[2] == '\n');
			i = (size_t)(end - b->data) + 2 + n;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			CHECK(--depth >= 0);
		}
	}
	CHECK(depth == 0);
}

static void
check_utf8(const struct buf *b)
{
	const unsigned char *s = (const unsigned char *)b->data;
	uint32_t cp;

	for (size_t i = 0; i < b->len;) {
		size_t n = utf8_decode(s + i, b->len - i, &cp);

		CHECK(n > 0 && cp != 0);
		i += n;
	}
}

/* Every section-part number that resolves, found breadth-first from "1",
   "2", ... (bounded): each is looked up in every kind. */
static void
check_sections(const struct mime_message *msg, size_t len)
{
	enum { MAX_SECTIONS = 2048 };
	char **queue = calloc(MAX_SECTIONS, sizeof(*queue));
	size_t head = 0, tail = 0;

	CHECK(queue != NULL);
	queue[tail++] = strdup("");
	while (head < tail) {
		char *prefix = queue[head++];

		for (unsigned k = 1; tail < MAX_SECTIONS; k++) {
			char num[4200];
			uint32_t index;
			size_t off, n;

			if (strlen(prefix) > 4000)
				break;
			snprintf(num, sizeof(num), "%s%s%u", prefix,
			    prefix[0] != '\0' ? "." : "", k);
			if (mime_section_part(msg, num, &index) < 0)
				break;
			CHECK(index < mime_part_count(msg));
			for (int kind = MIME_SECTION_ALL;
			    kind <= MIME_SECTION_MIME; kind++) {
				if (mime_section_lookup(msg, num, kind, &off,
				    &n) == 0)
					CHECK(off <= len && n <= len - off);
			}
			queue[tail++] = strdup(num);
		}
	}
	for (size_t i = 0; i < tail; i++)
		free(queue[i]);
	free(queue);
}

static void
run(const char *data, size_t len, const struct mime_limits *limits)
{
	static const char *const names[] = {
		"subject", "from", "to", "content-type", "x-a",
	};
	struct mime_message *msg = mime_parse(data, len, limits);
	struct buf out;

	check_tree(msg, data, len);
	check_sections(msg, len);
	buf_init(&out, 1 << 22);
	for (uint32_t i = 0; i < mime_part_count(msg); i++) {
		const struct mime_part *p = mime_part_get(msg, i);
		size_t off, n;

		buf_reset(&out);
		/* each walks a subtree: all of them would be quadratic */
		if (i == 0 || mime_part_get(msg, p->parent)->is_message ||
		    i % 16 == 1) {
			if (mime_envelope(msg, i, &out) == 0)
				check_list(&out);
			buf_reset(&out);
			for (int ext = 0; ext <= 1; ext++) {
				if (mime_bodystructure(msg, i, ext, &out) == 0)
					check_list(&out);
				buf_reset(&out);
			}
		}
		for (int k = MIME_SECTION_ALL; k <= MIME_SECTION_MIME; k++) {
			if (mime_section_range(msg, i, k, &off, &n) == 0)
				CHECK(off <= len && n <= len - off);
		}
		(void)mime_part_decode(msg, i, &out);
		buf_reset(&out);
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (mime_header_get(msg, i, names[j], 0, &out) == 0) {
				struct buf dec;

				buf_init(&dec, 1 << 22);
				if (mime_header_decode(out.data, out.len,
				    &dec) == 0)
					check_utf8(&dec);
				buf_clear(&dec);
			}
			buf_reset(&out);
			if (mime_header_find(msg, i, names[j], 0, &off,
			    &n) == 0)
				CHECK(off >= p->header_off &&
				    off + n <= p->body_off);
		}
		CHECK(mime_header_filter(data + p->header_off,
		    p->body_off - p->header_off, names, 3, (i & 1) != 0,
		    &out) == 0);
		buf_reset(&out);
	}
	buf_clear(&out);
	mime_message_free(&msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mime_limits tight = { 4, 20 };
	char *copy = malloc(size ? size : 1);
	struct buf dec;

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	run(copy, size, NULL);
	run(copy, size, &tight);
	/* the whole input as a header value */
	buf_init(&dec, 1 << 22);
	if (mime_header_decode(copy, size < 65536 ? size : 65536, &dec) == 0)
		check_utf8(&dec);
	buf_clear(&dec);
	free(copy);
	return 0;
}
