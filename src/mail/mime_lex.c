/* mime_lex.c — RFC 822 / RFC 2045 lexical tokens over a header value
   (see mime_private.h for the return values).

   The rules for broken input are Dovecot 2.3's (what a failed token leaves
   appended, where the cursor stops) so that BODYSTRUCTURE and ENVELOPE come
   out byte for byte as clients have them cached; the code is ours. Every
   read goes through the cursor bounds; NUL is never special except that
   quoted text may replace it with U+FFFD. */
#include "mail/mime_private.h"

#include <string.h>

#define MIME_LEX_FFFD "\xef\xbf\xbd"

/* RFC 5322 atext (1), and the atext that is not a RFC 2045 tspecial (2 for
   letters, digits and 8-bit bytes; 4 marks "/", "=", "?"). */
static const unsigned char mime_lex_atext[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4,	/* sp ! " # ... / */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4,	/* 0-9 : ; < = > ? */
	0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* @ A-O */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1,	/* P-Z [ \ ] ^ _ */
	1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,	/* ` a-o */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0,	/* p-z { | } ~ */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

bool
mime_lex_is_atext(unsigned char c)
{
	return mime_lex_atext[c] != 0;
}

static bool
mime_lex_is_token_char(unsigned char c)
{
	return (mime_lex_atext[c] & 3) != 0 || c == '.';
}

static void
mime_lex_append(struct buf *out, const unsigned char *from,
    const unsigned char *to)
{
	(void)buf_append(out, from, (size_t)(to - from));
}

void
mime_lex_init(struct mime_lex *lx, const char *p, size_t len)
{
	lx->p = (const unsigned char *)p;
	lx->end = lx->p + len;
	lx->last_comment = NULL;
	lx->nul_replace = false;
}

/* At '(': skips the (nested) comment; its text, quoted-pairs resolved and
   line breaks removed, becomes last_comment. */
static int
mime_lex_comment(struct mime_lex *lx)
{
	struct buf *c = lx->last_comment;
	const unsigned char *start;
	unsigned level = 1;

	if (c != NULL)
		buf_reset(c);
	start = ++lx->p;
	for (; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '\0':
			if (c != NULL && lx->nul_replace) {
				mime_lex_append(c, start, lx->p);
				(void)buf_append_str(c, MIME_LEX_FFFD);
				start = lx->p + 1;
			}
			break;
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (c != NULL)
					mime_lex_append(c, start, lx->p);
				lx->p++;
				return lx->p < lx->end ? 1 : 0;
			}
			break;
		case '\n':
			if (c != NULL) {
				const unsigned char *e = lx->p;

				if (e > start && e[-1] == '\r')
					e--;
				mime_lex_append(c, start, e);
				start = lx->p + 1;
			}
			break;
		case '\\':
			if (lx->p + 1 >= lx->end) {
				lx->p++;
				return -1;
			}
			/* obs-qp: a backslash before CR, LF or NUL is kept */
			if (lx->p[1] == '\r' || lx->p[1] == '\n' ||
			    lx->p[1] == '\0')
				break;
			lx->p++;
			if (c != NULL)
				mime_lex_append(c, start, lx->p - 1);
			start = lx->p;
			break;
		default:
			break;
		}
	}
	return -1;
}

int
mime_lex_skip_lwsp(struct mime_lex *lx)
{
	while (lx->p < lx->end) {
		unsigned char ch = *lx->p;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			lx->p++;
			continue;
		}
		if (ch != '(')
			break;
		if (mime_lex_comment(lx) < 0)
			return -1;
	}
	return lx->p < lx->end ? 1 : 0;
}

int
mime_lex_atom(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start = lx->p;

	if (lx->p >= lx->end || !mime_lex_is_atext(*lx->p))
		return -1;
	while (lx->p < lx->end && mime_lex_is_atext(*lx->p))
		lx->p++;
	mime_lex_append(out, start, lx->p);
	return lx->p < lx->end ? mime_lex_skip_lwsp(lx) : 0;
}

int
mime_lex_dot_atom(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start;
	int ret;

	if (lx->p >= lx->end || !mime_lex_is_atext(*lx->p))
		return -1;
	/* RFC 822 allowed LWSP around the dots; so do we */
	for (start = lx->p++; lx->p < lx->end;) {
		if (mime_lex_is_atext(*lx->p)) {
			lx->p++;
			continue;
		}
		if (start == lx->p)
			return -1;
		mime_lex_append(out, start, lx->p);
		if ((ret = mime_lex_skip_lwsp(lx)) <= 0)
			return ret;
		if (*lx->p != '.')
			return 1;
		lx->p++;
		(void)buf_append(out, ".", 1);
		if (mime_lex_skip_lwsp(lx) <= 0)
			return -1;
		start = lx->p;
	}
	mime_lex_append(out, start, lx->p);
	return 0;
}

int
mime_lex_token(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start = lx->p;

	while (lx->p < lx->end && mime_lex_is_token_char(*lx->p))
		lx->p++;
	mime_lex_append(out, start, lx->p);
	return lx->p < lx->end ? mime_lex_skip_lwsp(lx) : 0;
}

int
mime_lex_quoted(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start;

	start = ++lx->p;		/* the opening quote */
	for (; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '\0':
			if (lx->nul_replace) {
				mime_lex_append(out, start, lx->p);
				(void)buf_append_str(out, MIME_LEX_FFFD);
				start = lx->p + 1;
			}
			break;
		case '"':
			mime_lex_append(out, start, lx->p);
			lx->p++;
			return mime_lex_skip_lwsp(lx);
		case '\n': {
			const unsigned char *e = lx->p;

			if (e > start && e[-1] == '\r')
				e--;
			mime_lex_append(out, start, e);
			start = lx->p + 1;
			break;
		}
		case '\\':
			if (lx->p + 1 >= lx->end) {
				lx->p++;
				return -1;
			}
			if (lx->p[1] == '\r' || lx->p[1] == '\n' ||
			    lx->p[1] == '\0')
				break;
			lx->p++;
			mime_lex_append(out, start, lx->p - 1);
			start = lx->p;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* Atext and dots, possibly none, then LWSP: the words of obs-phrase. */
static int
mime_lex_atom_or_dot(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start = lx->p;

	while (lx->p < lx->end &&
	    (mime_lex_is_atext(*lx->p) || *lx->p == '.'))
		lx->p++;
	mime_lex_append(out, start, lx->p);
	return lx->p < lx->end ? mime_lex_skip_lwsp(lx) : 0;
}

int
mime_lex_phrase(struct mime_lex *lx, struct buf *out)
{
	int ret;

	if (lx->p >= lx->end)
		return 0;
	if (*lx->p == '.')
		return -1;
	for (;;) {
		unsigned char ch;

		if (*lx->p == '"')
			ret = mime_lex_quoted(lx, out);
		else
			ret = mime_lex_atom_or_dot(lx, out);
		if (ret <= 0)
			return ret;
		ch = *lx->p;
		if (!mime_lex_is_atext(ch) && ch != '"' && ch != '.')
			break;
		(void)buf_append(out, " ", 1);
	}
	return mime_lex_skip_lwsp(lx);
}

static int
mime_lex_domain_literal(struct mime_lex *lx, struct buf *out)
{
	const unsigned char *start;

	for (start = lx->p++; lx->p < lx->end; lx->p++) {
		switch (*lx->p) {
		case '\0':
			if (lx->nul_replace) {
				mime_lex_append(out, start, lx->p);
				(void)buf_append_str(out, MIME_LEX_FFFD);
				start = lx->p + 1;
			}
			break;
		case '[':
			return -1;
		case ']':
			mime_lex_append(out, start, lx->p + 1);
			lx->p++;
			return mime_lex_skip_lwsp(lx);
		case '\n': {
			const unsigned char *e = lx->p;

			if (e > start && e[-1] == '\r')
				e--;
			mime_lex_append(out, start, e);
			start = lx->p + 1;
			break;
		}
		case '\\':
			/* the backslash stays in the literal */
			if (lx->p + 1 >= lx->end) {
				lx->p++;
				return -1;
			}
			if (lx->p[1] == '\r' || lx->p[1] == '\n' ||
			    lx->p[1] == '\0') {
				mime_lex_append(out, start, lx->p + 1);
				start = lx->p + 1;
				break;
			}
			lx->p++;
			break;
		default:
			break;
		}
	}
	return -1;
}

int
mime_lex_domain(struct mime_lex *lx, struct buf *out)
{
	lx->p++;			/* '@' */
	if (mime_lex_skip_lwsp(lx) <= 0)
		return -1;
	if (*lx->p == '[')
		return mime_lex_domain_literal(lx, out);
	return mime_lex_dot_atom(lx, out);
}

int
mime_lex_content_type(struct mime_lex *lx, struct buf *out)
{
	size_t start = out->len, sub;
	int ret;

	if (mime_lex_skip_lwsp(lx) <= 0)
		return -1;
	if (mime_lex_token(lx, out) <= 0 || out->len == start)
		return -1;	/* "text" alone stays as the type */
	if (*lx->p != '/')
		goto invalid;
	lx->p++;
	if (mime_lex_skip_lwsp(lx) <= 0)
		goto invalid;
	(void)buf_append(out, "/", 1);
	sub = out->len;
	/* the subtype must be followed by ";" or nothing, so that
	   "text/plain garbage" is not taken for text/plain */
	if ((ret = mime_lex_token(lx, out)) < 0 || out->len == sub ||
	    (lx->p != lx->end && *lx->p != ';'))
		goto invalid;
	return ret;
invalid:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
