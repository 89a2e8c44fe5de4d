/* fuzz_mbox.c — the mbox importer's parsers on arbitrary bytes: the file
   split into messages (mbox_parser_next), every From_ line's date and the
   input itself as one (mbox_parser_from_date), and every message made
   ready for the store (mbox_message_convert: >From unquoting, Status,
   X-Status, X-Keywords and the other metadata headers), once without a
   limit and once with an output max too small.
   The input is copied to a buffer of exactly its size, so a read past the
   end is caught. Checks: messages come in file order, each from a "From "
   line, inside the file, with nothing between two of them but the one
   empty separator line; no body line the parser should have split at is
   left inside a message; converted output has CRLF line ends only, no
   more bytes than the input plus one CR per LF, no metadata header left,
   valid and distinct keywords, known flags; a failed convert leaves out
   as it was. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/buf.h"
#include "migrate/mbox_message.h"
#include "migrate/mbox_parser.h"
#include "migrate/migrate_flags.h"
#include "store/store.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* Messages read from one input: a bound on the work, not on the parser
   (each message takes at least one line). */
#define FUZZ_MBOX_MAX_MESSAGES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned fuzz_mbox_flags = STORE_FLAG_SEEN |
    STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DELETED |
    STORE_FLAG_DRAFT;

/* The keyword list: valid atoms, one space apart, none twice. */
static void
fuzz_mbox_check_keywords(const struct buf *kw)
{
	size_t count = 0;

	if (kw->len == 0)
		return;
	for (size_t i = 0; i <= kw->len; count++) {
		const char *end = memchr(kw->data + i, ' ', kw->len - i);
		size_t len = end != NULL ? (size_t)(end - kw->data) - i :
		    kw->len - i;

		CHECK(migrate_flags_keyword_is_valid(kw->data + i, len));
		for (size_t j = 0; j < i; ) {
			const char *e = memchr(kw->data + j, ' ', i - j);
			size_t l = (size_t)(e - kw->data) - j;

			CHECK(l != len ||
			    strncasecmp(kw->data + j, kw->data + i, len) != 0);
			j += l + 1;
		}
		i += len + 1;
	}
	CHECK(count <= MIGRATE_FLAGS_KEYWORDS_MAX);
}

/* The header converted: none of the fields an mbox keeps its metadata in
   is left (a folded line is part of the field before it). */
static void
fuzz_mbox_check_hidden(const char *out, size_t len)
{
	static const char *const hidden[] = {
		"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP",
		"X-IMAPbase", "Content-Length",
	};

	for (size_t pos = 0; pos < len; ) {
		const char *nl = memchr(out + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - out) : len;
		size_t content = end - pos;
		const char *colon;

		while (content > 0 && out[pos + content - 1] == '\r')
			content--;
		if (content == 0)
			break;		/* the body */
		colon = memchr(out + pos, ':', content);
		if (out[pos] != ' ' && out[pos] != '\t' && colon != NULL) {
			size_t nlen = (size_t)(colon - out) - pos;

			for (size_t i = 0; i < sizeof(hidden) /
			    sizeof(hidden[0]); i++)
				CHECK(strlen(hidden[i]) != nlen ||
				    strncasecmp(out + pos, hidden[i], nlen) !=
				    0);
		}
		pos = nl != NULL ? end + 1 : len;
	}
}

static void
fuzz_mbox_convert(const char *raw, size_t len)
{
	struct mbox_message_meta meta, meta2;
	struct buf out, small;
	size_t lfs = 0;

	mbox_message_meta_init(&meta);
	buf_init(&out, 0);
	CHECK(mbox_message_convert(raw, len, &out, &meta) == 0);
	for (size_t i = 0; i < len; i++)
		lfs += raw[i] == '\n';
	CHECK(out.len <= len + lfs);
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n')
			CHECK(i > 0 && out.data[i - 1] == '\r');
	fuzz_mbox_check_hidden(out.data, out.len);
	CHECK((meta.flags & ~fuzz_mbox_flags) == 0);
	fuzz_mbox_check_keywords(&meta.keywords);

	/* Too small a max: -1, and what was in out before stays. */
	if (out.len > 0) {
		mbox_message_meta_init(&meta2);
		buf_init(&small, 3 + out.len - 1);
		CHECK(buf_append(&small, "pre", 3) == 0);
		CHECK(mbox_message_convert(raw, len, &small, &meta2) == -1);
		CHECK(small.len == 3 && memcmp(small.data, "pre", 4) == 0);
		buf_clear(&small);
		/* Exactly enough: the same bytes. */
		buf_init(&small, out.len);
		CHECK(mbox_message_convert(raw, len, &small, &meta2) == 0);
		CHECK(small.len == out.len &&
		    memcmp(small.data, out.data, out.len) == 0);
		buf_clear(&small);
		mbox_message_meta_clear(&meta2);
	}
	mbox_message_meta_clear(&meta);
	buf_clear(&out);
}

/* The line at pos: its content length (no LF, no CR before the LF) and the
   start of the next. Independent of the parser's own. */
static size_t
fuzz_mbox_line(const char *d, size_t len, size_t pos, size_t *content_r)
{
	const char *nl = memchr(d + pos, '\n', len - pos);
	size_t end = nl != NULL ? (size_t)(nl - d) : len;

	*content_r = end - pos;
	if (nl != NULL && *content_r > 0 && d[end - 1] == '\r')
		(*content_r)--;
	return nl != NULL ? end + 1 : len;
}

/* No line inside [body, end) starts a message: a "From " line after an
   empty line, or one whose date parses. */
static void
fuzz_mbox_check_body(const char *d, size_t body, size_t end)
{
	bool prev_empty = false;
	time_t t;

	for (size_t pos = body; pos < end; ) {
		size_t content, next = fuzz_mbox_line(d, end, pos, &content);

		if (content >= 5 && memcmp(d + pos, "From ", 5) == 0)
			CHECK(!prev_empty && mbox_parser_from_date(d + pos + 5,
			    content - 5, &t) == -1);
		prev_empty = content == 0;
		pos = next;
	}
}

/* What the parser drops after a message ending at end, before the next
   one at next: nothing, or the one empty line; and when nothing, the
   message does not end with an empty line it should have dropped. */
static void
fuzz_mbox_check_gap(const char *d, size_t body, size_t end, size_t next)
{
	size_t gap = next - end, last;

	CHECK(gap == 0 || (gap == 1 && d[end] == '\n') ||
	    (gap == 2 && memcmp(d + end, "\r\n", 2) == 0));
	if (gap != 0 || end == body || d[end - 1] != '\n')
		return;
	for (last = end - 1; last > body && d[last - 1] != '\n'; last--)
		;
	CHECK(!(end - last == 1 ||
	    (end - last == 2 && d[last] == '\r')));
}

static void
fuzz_mbox_split(const char *d, size_t len)
{
	struct mbox_parser p;
	struct mbox_raw raw;
	size_t prev_end = 0, n = 0;
	bool first = true;
	int r;

	mbox_parser_init(&p, d, len);
	while ((r = mbox_parser_next(&p, &raw)) == 1) {
		size_t body = (size_t)(raw.data - d);
		time_t t;

		CHECK(n++ < FUZZ_MBOX_MAX_MESSAGES);
		if (first) {
			/* Only empty lines before the first. */
			for (size_t i = 0; i < raw.offset; i++)
				CHECK(d[i] == '\n' || d[i] == '\r');
		} else {
			CHECK(raw.offset == prev_end);
		}
		CHECK(raw.offset + 5 <= len);
		CHECK(memcmp(d + raw.offset, "From ", 5) == 0);
		CHECK(raw.from_line == d + raw.offset + 5);
		CHECK(memchr(raw.from_line, '\n', raw.from_len) == NULL);
		CHECK(raw.data >= raw.from_line + raw.from_len);
		/* The From_ line ends right where the message starts. */
		CHECK(body <= len && (body == len || d[body - 1] == '\n'));
		CHECK(p.pos > raw.offset && p.pos <= len);
		CHECK(raw.len <= p.pos - body);
		fuzz_mbox_check_gap(d, body, body + raw.len, p.pos);
		fuzz_mbox_check_body(d, body, body + raw.len);
		(void)mbox_parser_from_date(raw.from_line, raw.from_len, &t);
		fuzz_mbox_convert(raw.data, raw.len);
		prev_end = p.pos;
		first = false;
	}
	CHECK(r == 0 || (r == -1 && first));
	if (r == 0) {
		CHECK(first || prev_end == len);
		for (size_t i = 0; first && i < len; i++)
			CHECK(d[i] == '\n' || d[i] == '\r');
		CHECK(mbox_parser_next(&p, &raw) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *d = malloc(size > 0 ? size : 1);
	time_t t;

	CHECK(d != NULL);
	if (size > 0)
		memcpy(d, data, size);
	fuzz_mbox_split(d, size);
	/* Any bytes as a From_ line's tail, and as one message. */
	(void)mbox_parser_from_date(d, size, &t);
	fuzz_mbox_convert(d, size);
	free(d);
	return 0;
}
