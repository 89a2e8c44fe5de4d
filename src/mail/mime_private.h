/* mime_private.h — what the mime_*.c files share: the message object, the
   RFC 822 lexer, header field iteration and IMAP quoting. Not for other
   modules: mime.h is the contract.

   The lexer and the IMAP strings follow Dovecot 2.3's behaviour on broken
   input closely (which byte ends a token, what a failed parse leaves
   behind), because clients compare our ENVELOPE and BODYSTRUCTURE answers
   with what they cached from the server they migrated from. */
#ifndef PETREL_MIME_PRIVATE_H
#define PETREL_MIME_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "mail/mime.h"

/* RFC 2046 §5.1.1 allows 70 characters; longer boundaries are cut to this
   many and matched as a prefix, as Dovecot does. */
#define MIME_BOUNDARY_MAX 80
/* RFC 5322 §2.1.1: a longer "name" is treated as part of the value. */
#define MIME_FIELD_NAME_MAX 1000

/* Per-part facts the parser found that the IMAP writers need again. */
enum mime_part_flag {
	MIME_PART_IS_MIME = 1 << 0,	/* Mime-Version or Content-Type seen,
					   or a body part of a multipart */
	MIME_PART_TEXT = 1 << 1,	/* text/x or the text/plain default */
	MIME_PART_DIGEST = 1 << 2,	/* multipart/digest */
	MIME_PART_TRUNCATED = 1 << 3,	/* a container left unparsed because
					   of the limits */
	MIME_PART_HAS_CTYPE = 1 << 4,	/* a Content-Type field was seen */
	MIME_PART_DIGEST_CHILD = 1 << 5,/* defaulted to message/rfc822 */
};

/* Storage for the NUL-terminated type/subtype copies: chained blocks so
   that pointers handed out stay valid while the part array grows. */
struct mime_arena_block {
	struct mime_arena_block *next;
	size_t used, size;
	char data[];
};

struct mime_message {
	const char *data;
	size_t len;
	struct mime_limits limits;
	struct mime_part *parts;
	uint8_t *flags;			/* enum mime_part_flag, per part */
	size_t n_parts, cap_parts;
	struct mime_arena_block *arena;
};

/* --- mime_lex.c: RFC 822 / 2045 tokens -----------------------------------
   Functions return 1 when more input follows, 0 at the end of the input
   (a value may still have been appended), -1 on invalid input; LWSP and
   comments after a token are skipped, not before it. */
struct mime_lex {
	const unsigned char *p, *end;
	struct buf *last_comment;	/* text of the last comment, or NULL */
	bool nul_replace;		/* NUL in quoted text -> U+FFFD */
};

void mime_lex_init(struct mime_lex *lx, const char *p, size_t len);
/* The byte at the cursor, or 0 at the end (a NUL byte never matches what
   the callers look for either). */
static inline unsigned char
mime_lex_peek(const struct mime_lex *lx)
{
	return lx->p < lx->end ? *lx->p : 0;
}
bool mime_lex_is_atext(unsigned char c);
int mime_lex_skip_lwsp(struct mime_lex *lx);
int mime_lex_atom(struct mime_lex *lx, struct buf *out);
int mime_lex_dot_atom(struct mime_lex *lx, struct buf *out);
int mime_lex_token(struct mime_lex *lx, struct buf *out);
int mime_lex_quoted(struct mime_lex *lx, struct buf *out);
int mime_lex_phrase(struct mime_lex *lx, struct buf *out);
/* At '@': the domain (dot-atom or domain literal). */
int mime_lex_domain(struct mime_lex *lx, struct buf *out);
/* "type/subtype" into out; on -1 out holds what could be salvaged
   ("" or a lone type). */
int mime_lex_content_type(struct mime_lex *lx, struct buf *out);

/* --- mime_params.c: parameters (RFC 2045 §5.1), RFC 2231 continuations
   joined. Names and values hold no NUL; both live in store. */
struct mime_param {
	size_t name, value;		/* offsets of C strings in store */
};
struct mime_params {
	struct buf store;
	struct mime_param *v;
	size_t n, cap;
};
void mime_params_init(struct mime_params *ps);
void mime_params_clear(struct mime_params *ps);
static inline const char *
mime_params_name(const struct mime_params *ps, size_t i)
{
	return ps->store.data + ps->v[i].name;
}
static inline const char *
mime_params_value(const struct mime_params *ps, size_t i)
{
	return ps->store.data + ps->v[i].value;
}
/* Parses "; a=b; c=d" at the cursor into ps (emptied first); the lexer's
   NUL replacement is on while it runs. */
void mime_params_parse(struct mime_lex *lx, struct mime_params *ps);

/* --- mime_header.c: fields ------------------------------------------------ */

/* One field of a header: it runs from off to end (its final line end
   included); name[0..name_len) is the name without trailing WSP ("" when
   there is no colon or the name is overlong); value starts after the
   colon and after the WSP that follows it, value_end is before the final
   line end. The value may span folded lines. */
struct mime_field {
	size_t off, end;
	const char *name;
	size_t name_len;
	const char *value, *value_end;
	unsigned lines;			/* LFs in [off, end) */
	bool folded;
};

/* Iterates over the fields of data[*pos..end); *pos starts at the header's
   first byte. Returns false at the empty line ending the header or at end. */
bool mime_header_next(const char *data, size_t end, size_t *pos,
    struct mime_field *field_r);
/* The value as Dovecot's header parser gives it: folded lines joined with
   a bare LF (CRs before line ends dropped). Points into the message when
   the field is one line, else into tmp. */
void mime_header_value(const struct mime_field *f, struct buf *tmp,
    const char **value_r, size_t *len_r);
/* ASCII case-insensitive compare of a field name with s; the name ends at
   a NUL byte as a C string would. */
bool mime_header_name_is(const struct mime_field *f, const char *s);
/* The header of part index: [header_off, body_off). */
void mime_header_bounds(const struct mime_message *msg, uint32_t index,
    size_t *off_r, size_t *end_r);

/* --- mime_quote.c: IMAP strings (RFC 9051 §4.3) --------------------------
   All return 0, or -1 when out is full. */
int mime_quote_nil(struct buf *out);
/* string: quoted, or a literal for CR, LF, 8-bit bytes or more than four
   characters to escape. */
int mime_quote_string(struct buf *out, const char *s, size_t len);
/* The same with CR and LF removed first (a space replaces a line break
   that is not followed by whitespace). */
int mime_quote_string_nolf(struct buf *out, const char *s, size_t len);
/* For display names and Subject: whitespace runs become one space, none
   leading or trailing; a literal when anything had to change. */
int mime_quote_for_humans(struct buf *out, const char *s, size_t len);
/* Appends a NUL-free copy of s[0..len) to out with NUL -> U+FFFD. */
void mime_quote_strdup(struct buf *out, const char *s, size_t len);

/* --- mime_envelope.c ------------------------------------------------------ */
int mime_envelope_write(const struct mime_message *msg, uint32_t index,
    struct buf *out);

/* --- mime_decode.c -------------------------------------------------------- */
enum mime_cte {
	MIME_CTE_NONE,		/* 7bit, 8bit, binary or absent */
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_UNKNOWN,
};
enum mime_cte mime_decode_cte(const struct mime_message *msg,
    uint32_t index);
/* 0, -2 for invalid input, -3 when out is full. */
int mime_decode_base64(const char *p, size_t len, struct buf *out);
int mime_decode_qp(const char *p, size_t len, struct buf *out);
#endif
