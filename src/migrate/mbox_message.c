/* mbox_message.c — see mbox_message.h. The header is walked field by
   field (a field and its folded continuation lines are one contiguous
   run of the raw bytes), the body line by line; every line that is kept
   goes out through mbox_message_emit, which unquotes and fixes the line
   end. */
#include "migrate/mbox_message.h"

#include <string.h>
#include <strings.h>

#include "lib/strnum.h"
#include "migrate/migrate_flags.h"
#include "store/store.h"

enum mbox_message_field {
	MBOX_FIELD_OTHER,
	MBOX_FIELD_STATUS,
	MBOX_FIELD_X_STATUS,
	MBOX_FIELD_X_KEYWORDS,
	MBOX_FIELD_X_UID,
	MBOX_FIELD_X_IMAP,
	MBOX_FIELD_X_IMAPBASE,
	MBOX_FIELD_CONTENT_LENGTH,
	MBOX_FIELD_X_MOZILLA_STATUS,	/* read, kept */
	MBOX_FIELD_X_MOZILLA_KEYS,	/* read, kept */
};

static const struct {
	const char *name;
	enum mbox_message_field field;
} mbox_message_fields[] = {
	{ "Status", MBOX_FIELD_STATUS },
	{ "X-Status", MBOX_FIELD_X_STATUS },
	{ "X-Keywords", MBOX_FIELD_X_KEYWORDS },
	{ "X-UID", MBOX_FIELD_X_UID },
	{ "X-IMAP", MBOX_FIELD_X_IMAP },
	{ "X-IMAPbase", MBOX_FIELD_X_IMAPBASE },
	{ "Content-Length", MBOX_FIELD_CONTENT_LENGTH },
	{ "X-Mozilla-Status", MBOX_FIELD_X_MOZILLA_STATUS },
	{ "X-Mozilla-Keys", MBOX_FIELD_X_MOZILLA_KEYS },
};
#define MBOX_MESSAGE_N_FIELDS \
	(sizeof(mbox_message_fields) / sizeof(mbox_message_fields[0]))

void
mbox_message_meta_init(struct mbox_message_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	buf_init(&meta->keywords, 0);
}

void
mbox_message_meta_clear(struct mbox_message_meta *meta)
{
	buf_clear(&meta->keywords);
}

/* One line (with its LF, if any): ">From " loses a '>' (">>From " too:
   mboxrd quotes /^>*From /), a bare LF becomes CRLF. */
static int
mbox_message_emit(const char *line, size_t len, struct buf *out)
{
	size_t q = 0;

	while (q < len && line[q] == '>')
		q++;
	if (q > 0 && len - q >= 5 && memcmp(line + q, "From ", 5) == 0) {
		line++;
		len--;
	}
	if (len > 0 && line[len - 1] == '\n') {
		bool cr = len > 1 && line[len - 2] == '\r';

		if (buf_append(out, line, len - 1 - cr) == -1 ||
		    buf_append(out, "\r\n", 2) == -1)
			return -1;
		return 0;
	}
	return buf_append(out, line, len);
}

/* The end of the line at pos (past its LF). */
static size_t
mbox_message_line_end(const char *raw, size_t len, size_t pos)
{
	const char *nl = memchr(raw + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - raw) + 1 : len;
}

static bool
mbox_message_is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n';
}

static void
mbox_message_keywords(const char *v, size_t len,
    struct mbox_message_meta *meta)
{
	for (size_t i = 0; i < len; ) {
		size_t start;

		while (i < len && mbox_message_is_sep(v[i]))
			i++;
		start = i;
		while (i < len && !mbox_message_is_sep(v[i]))
			i++;
		if (i > start && migrate_flags_keyword_add(&meta->keywords,
		    v + start, i - start) == -1)
			meta->bad_keywords++;
	}
}

/* "<uidvalidity> <uidnext> [keyword...]" */
static void
mbox_message_imapbase(const char *v, size_t len,
    struct mbox_message_meta *meta)
{
	uint32_t n[2];
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		size_t start;

		while (i < len && mbox_message_is_sep(v[i]))
			i++;
		start = i;
		while (i < len && !mbox_message_is_sep(v[i]))
			i++;
		if (str_to_u32_n(v + start, i - start, &n[k]) == -1)
			return;
	}
	meta->uidvalidity = n[0];
	meta->uidnext = n[1];
}

static void
mbox_message_letters(const char *v, size_t len, const char *letters,
    const unsigned *flags, unsigned *out)
{
	for (size_t i = 0; i < len; i++) {
		const char *l = memchr(letters, v[i], strlen(letters));

		if (l != NULL && v[i] != '\0')
			*out |= flags[l - letters];
	}
}

static void
mbox_message_mozilla_status(const char *v, size_t len, unsigned *flags,
    struct mbox_message_meta *meta)
{
	unsigned x = 0;
	size_t i = 0, digits = 0;

	while (i < len && mbox_message_is_sep(v[i]))
		i++;
	for (; i < len && digits < 8; i++, digits++) {
		char c = v[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
		    c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
		    c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;

		if (d == 16)
			break;
		x = x * 16 + d;
	}
	if (digits == 0)
		return;
	if (x & 0x1)
		*flags |= STORE_FLAG_SEEN;
	if (x & 0x2)
		*flags |= STORE_FLAG_ANSWERED;
	if (x & 0x4)
		*flags |= STORE_FLAG_FLAGGED;
	if (x & 0x8)
		*flags |= STORE_FLAG_DELETED;
	if (x & 0x1000)
		(void)migrate_flags_keyword_add(&meta->keywords,
		    MIGRATE_FLAGS_FORWARDED, strlen(MIGRATE_FLAGS_FORWARDED));
}

/* Reads one field (name known, value v[0..len) with its folds). */
static void
mbox_message_field_read(enum mbox_message_field f, const char *v,
    size_t len, struct mbox_message_meta *meta)
{
	static const unsigned status_flags[] = { STORE_FLAG_SEEN };
	static const unsigned xstatus_flags[] = {
		STORE_FLAG_ANSWERED, STORE_FLAG_FLAGGED, STORE_FLAG_DRAFT,
		STORE_FLAG_DELETED,
	};
	size_t start = 0, end = len;

	while (start < end && mbox_message_is_sep(v[start]))
		start++;
	while (end > start && mbox_message_is_sep(v[end - 1]))
		end--;
	switch (f) {
	case MBOX_FIELD_STATUS:
		mbox_message_letters(v, len, "R", status_flags, &meta->flags);
		break;
	case MBOX_FIELD_X_STATUS:
		mbox_message_letters(v, len, "AFTD", xstatus_flags,
		    &meta->flags);
		break;
	case MBOX_FIELD_X_KEYWORDS:
	case MBOX_FIELD_X_MOZILLA_KEYS:
		mbox_message_keywords(v, len, meta);
		break;
	case MBOX_FIELD_X_UID:
		if (str_to_u32_n(v + start, end - start, &meta->uid) == -1)
			meta->uid = 0;
		break;
	case MBOX_FIELD_X_IMAP:
		meta->pseudo = true;
		mbox_message_imapbase(v, len, meta);
		break;
	case MBOX_FIELD_X_IMAPBASE:
		mbox_message_imapbase(v, len, meta);
		break;
	case MBOX_FIELD_X_MOZILLA_STATUS:
		mbox_message_mozilla_status(v, len, &meta->flags, meta);
		break;
	case MBOX_FIELD_CONTENT_LENGTH:
	case MBOX_FIELD_OTHER:
		break;
	}
}

/* The field the line starting at raw[0..len) names, and where its value
   starts; OTHER for any other field or a line that is none. */
static enum mbox_message_field
mbox_message_field_name(const char *raw, size_t len, size_t *value_r)
{
	const char *colon = memchr(raw, ':', len);

	if (colon == NULL)
		return MBOX_FIELD_OTHER;
	size_t nlen = (size_t)(colon - raw);

	*value_r = nlen + 1;
	for (size_t i = 0; i < MBOX_MESSAGE_N_FIELDS; i++)
		if (strlen(mbox_message_fields[i].name) == nlen &&
		    strncasecmp(raw, mbox_message_fields[i].name, nlen) == 0)
			return mbox_message_fields[i].field;
	return MBOX_FIELD_OTHER;
}

int
mbox_message_convert(const char *raw, size_t len, struct buf *out,
    struct mbox_message_meta *meta)
{
	size_t start = out->len, pos = 0;

	/* Header: one field (with its continuation lines) at a time. */
	while (pos < len) {
		size_t end = mbox_message_line_end(raw, len, pos), value = 0;
		size_t content = end - pos;

		while (content > 0 && (raw[pos + content - 1] == '\n' ||
		    raw[pos + content - 1] == '\r'))
			content--;
		if (content == 0)
			break;		/* the empty line: body follows */
		while (end < len && (raw[end] == ' ' || raw[end] == '\t'))
			end = mbox_message_line_end(raw, len, end);

		enum mbox_message_field f = mbox_message_field_name(raw + pos,
		    content, &value);

		if (f != MBOX_FIELD_OTHER)
			mbox_message_field_read(f, raw + pos + value,
			    end - pos - value, meta);
		if (f == MBOX_FIELD_OTHER || f == MBOX_FIELD_X_MOZILLA_STATUS ||
		    f == MBOX_FIELD_X_MOZILLA_KEYS) {
			for (size_t l = pos; l < end; ) {
				size_t le = mbox_message_line_end(raw, len, l);

				if (mbox_message_emit(raw + l, le - l, out) ==
				    -1)
					goto fail;
				l = le;
			}
		}
		pos = end;
	}
	/* The empty line and the body. */
	while (pos < len) {
		size_t end = mbox_message_line_end(raw, len, pos);

		if (mbox_message_emit(raw + pos, end - pos, out) == -1)
			goto fail;
		pos = end;
	}
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
