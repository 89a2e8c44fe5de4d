/* mime.h — RFC 5322 / 2045-2049 message parser over bytes already in
   memory (a stored message file), and the IMAP strings computed from it:
   ENVELOPE, BODY, BODYSTRUCTURE (RFC 9051 §7.5.2), section byte ranges
   for BODY[section], decoding for BINARY[section] (RFC 3516).

   One pass over the bytes builds a flat array of parts (index 0 is the
   whole message) with byte offsets and line counts; nothing is copied
   except decoded header values. Hostile input is bounded: nesting deeper
   than limits->max_depth or more than limits->max_parts parts leaves the
   rest unparsed (as one leaf, as Dovecot does), boundary matching is
   linear, and nothing reads outside [data, data + len). Bare LF is
   accepted as a line end; bare CR is not one.

   Pure: no I/O, no globals; thread-safe. */
#ifndef PETREL_MIME_H
#define PETREL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct mime_limits {
	unsigned max_depth;		/* multipart + message nesting; 100 */
	unsigned max_parts;		/* 10000 */
};
#define MIME_LIMITS_DEFAULT { 100, 10000 }

#define MIME_NONE UINT32_MAX

struct mime_part {
	/* Byte offsets into the message. The header runs from header_off to
	   body_off (the empty separator line included); the body from
	   body_off to body_end (the CRLF before the next boundary excluded,
	   RFC 2046 §5.1.1). A header cut short by a delimiter, or followed
	   by an empty body and a delimiter, ends before the line break that
	   precedes the delimiter, which is the delimiter's (as in Dovecot;
	   see mime_parser.c). */
	size_t header_off, body_off, body_end;
	uint64_t body_lines;		/* LFs in the body (IMAP "lines") */
	uint32_t parent, first_child, next_sibling;	/* or MIME_NONE */
	unsigned depth;
	/* Content-Type as IMAP reports it (see mime_parser.c for the
	   defaults); NUL-terminated copies owned by the message. */
	const char *type, *subtype;
	/* multipart/x: children are the body parts. message/rfc822 and
	   message/global: the one child (first_child) is the encapsulated
	   message, whose header is the child's header. */
	bool is_multipart, is_message;
};

struct mime_message;

/* Parses data[0..len). Never fails: malformed input gives a best-effort
   tree, as every real server must. The message keeps pointers into data,
   which must outlive it. limits NULL: MIME_LIMITS_DEFAULT. */
struct mime_message *mime_parse(const char *data, size_t len,
    const struct mime_limits *limits);
void mime_message_free(struct mime_message **msg);

size_t mime_part_count(const struct mime_message *msg);
const struct mime_part *mime_part_get(const struct mime_message *msg,
    uint32_t index);

/* --- IMAP strings ------------------------------------------------------- */

/* ENVELOPE of the message whose header starts part index (0, or the
   child of a message/rfc822 part), appended to out as the parenthesised
   IMAP list. Returns 0, or -1 when out's maximum was reached. */
int mime_envelope(const struct mime_message *msg, uint32_t index,
    struct buf *out);
/* BODYSTRUCTURE (extended true) or BODY (false) of part index, appended
   to out as the parenthesised IMAP list. Returns 0, or -1 when out's
   maximum was reached. */
int mime_bodystructure(const struct mime_message *msg, uint32_t index,
    bool extended, struct buf *out);

/* --- sections (BODY[section], BINARY[section]) -------------------------- */

/* The part for an IMAP section-part "1.2.3" ("" is the whole message).
   Per RFC 9051 §6.4.5: in a non-multipart message part 1 is the body;
   the parts of a message/rfc822 part are those of its encapsulated
   message. Returns 0 with *index_r, or -1 when there is no such part. */
int mime_section_part(const struct mime_message *msg, const char *numbers,
    uint32_t *index_r);

enum mime_section_kind {
	MIME_SECTION_ALL,	/* BODY[] / BODY[1.2]: the part's content */
	MIME_SECTION_HEADER,	/* BODY[HEADER] / BODY[1.HEADER] */
	MIME_SECTION_TEXT,	/* BODY[TEXT] / BODY[1.TEXT] */
	MIME_SECTION_MIME,	/* BODY[1.MIME]: the part's own MIME header */
};

/* Byte range of a section of part index (from mime_section_part). HEADER
   and TEXT of a message/rfc822 part address the encapsulated message.
   Returns 0, or -1 when the kind does not apply (MIME of part 0; HEADER
   or TEXT of a part that is not message/rfc822).
   Index 0 means the top level here: ALL is the whole message (BODY[]).
   For a non-multipart message, section-part "1" is also index 0 but
   BODY[1] is only the body and BODY[1.MIME] the header: use
   mime_section_lookup, which tells the two apart. */
int mime_section_range(const struct mime_message *msg, uint32_t index,
    enum mime_section_kind kind, size_t *off_r, size_t *len_r);
/* BODY[numbers.kind] in one step: numbers "" is the top level (as
   mime_section_range on index 0), else ALL is the part's body and MIME its
   own header, whatever its index. Returns 0, or -1 when there is no such
   part or the kind does not apply (the server answers an empty string, as
   Dovecot does, or NIL). */
int mime_section_lookup(const struct mime_message *msg, const char *numbers,
    enum mime_section_kind kind, size_t *off_r, size_t *len_r);

/* BODY[HEADER.FIELDS (names)] / HEADER.FIELDS.NOT: appends to out the
   fields of header[0..len) whose name is (not) in names (case-insensitive),
   in message order, unfolding kept, and the final empty line. */
int mime_header_filter(const char *header, size_t len,
    const char *const *names, size_t n_names, bool not, struct buf *out);

/* BINARY[section]: appends the part's body with its
   Content-Transfer-Encoding removed (7bit/8bit/binary as is, base64,
   quoted-printable). Returns 0, -1 for an unknown encoding
   ([UNKNOWN-CTE]), -2 for undecodable data, -3 when out is full. */
int mime_part_decode(const struct mime_message *msg, uint32_t index,
    struct buf *out);

/* --- part properties (mime_part_info.c) -------------------------------- */

/* The bytes the message was parsed from (mime_parse's data). */
const char *mime_message_data(const struct mime_message *msg);
/* Whether part index's body is base64 or quoted-printable encoded
   (BINARY answers it as a literal8, RFC 3516 §4.2). */
bool mime_part_is_encoded(const struct mime_message *msg, uint32_t index);
/* The charset parameter of part index's Content-Type, appended to out
   as sent (RFC 2231 continuations joined). 0, or -1 when it has none. */
int mime_part_charset(const struct mime_message *msg, uint32_t index,
    struct buf *out);

/* --- header fields ------------------------------------------------------ */

/* The nth (0-based) field called name in the header of part index: its
   raw value unfolded (CRLF before WSP removed), leading WSP dropped,
   appended to out. Returns 0, or -1 when there is no such field. */
int mime_header_get(const struct mime_message *msg, uint32_t index,
    const char *name, unsigned nth, struct buf *out);
/* Byte range of that whole field (name, value, folding and final line
   end) in the message, e.g. to rewrite one field. 0 or -1. */
int mime_header_find(const struct mime_message *msg, uint32_t index,
    const char *name, unsigned nth, size_t *off_r, size_t *len_r);
/* Decodes RFC 2047 encoded words in an unstructured value into UTF-8,
   converting charsets with iconv; raw bytes outside encoded words are
   kept when valid UTF-8, else each invalid byte becomes U+FFFD (and so
   does NUL: the result is UTF-8 without NUL). Adjacent words in one
   charset are converted together, the whitespace between them dropped;
   a malformed word is plain text. Returns 0 or -1 (out full). */
int mime_header_decode(const char *value, size_t len, struct buf *out);
#endif
