/* mime_parser.c — one pass over the message builds the part tree (see
   mime.h).

   The walk is a loop over lines with an explicit stack of the open
   multipart boundaries, so nesting costs no recursion. A line is checked
   against the boundaries only when it starts with "--", and then once
   against each open boundary (at most max_depth of them, each at most
   MIME_BOUNDARY_MAX bytes): linear in the message size.

   Where RFC 2046 leaves broken input open, the tree is the one Dovecot
   builds, because clients cache part numbers and sizes and compare them
   after a migration:
   - a delimiter line only has to start with "--" and the boundary; the
     longest (then innermost) matching boundary wins, and a delimiter of an
     outer multipart closes the inner ones;
   - a part's header ends at its empty line, or at a delimiter line of an
     enclosing multipart (the line break before it then belongs to the
     delimiter, as for a body, and so does the empty line's when the body
     is empty), or at the end of the message; the part's parent then ends
     at the delimiter line;
   - the first Content-Type counts; Content-Type or MIME-Version make a
     header MIME; without Content-Type a part is text/plain, or
     message/rfc822 inside multipart/digest;
   - a multipart or message/rfc822 part that would exceed the limits is a
     leaf (reported as application/octet-stream), and once max_parts parts
     exist no delimiter is recognised any more.
   message/global is parsed like message/rfc822 (RFC 9051 §7.5.2; Dovecot
   2.3 treats it as a leaf). */
#include "mail/mime.h"

#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime_private.h"

#define MIME_ARENA_BLOCK 4096

struct mime_bound {
	uint32_t part;
	size_t len;
	char str[MIME_BOUNDARY_MAX];
};

struct mime_parser {
	struct mime_message *msg;
	const char *data;
	size_t len;
	size_t pos;			/* start of the next line to read */
	uint64_t lfs;			/* LFs in data[0..pos) */
	uint32_t cur;			/* the part being read */
	/* a header cut short by a delimiter gives its line break to its
	   parent, which then ends at the delimiter line (Dovecot) */
	uint32_t cut_parent;
	size_t cut_pos;
	uint64_t cut_lfs;
	struct mime_bound *bounds;	/* [0] outermost */
	size_t n_bounds, cap_bounds;
	uint32_t *last_child;		/* per depth: newest child there */
	size_t cap_depth;
	struct buf tmp, ctype;
	struct mime_params params;
	/* the boundary parameter of the current header, if multipart */
	char pending[MIME_BOUNDARY_MAX];
	size_t pending_len;
	bool has_pending;
};

static char *
mime_parser_strdup(struct mime_message *msg, const char *s, size_t len)
{
	struct mime_arena_block *b = msg->arena;
	char *r;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > MIME_ARENA_BLOCK ? len + 1 :
		    MIME_ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = msg->arena;
		msg->arena = b;
	}
	r = b->data + b->used;
	memcpy(r, s, len);
	r[len] = '\0';
	b->used += len + 1;
	return r;
}

static uint32_t
mime_parser_add_part(struct mime_parser *p, uint32_t parent,
    size_t header_off, uint64_t header_lfs)
{
	struct mime_message *msg = p->msg;
	struct mime_part *part;
	uint32_t index = (uint32_t)msg->n_parts;
	unsigned depth = 0;

	if (msg->n_parts == msg->cap_parts) {
		msg->cap_parts = msg->cap_parts ? msg->cap_parts * 2 : 8;
		msg->parts = xreallocarray(msg->parts, msg->cap_parts,
		    sizeof(*msg->parts));
		msg->flags = xreallocarray(msg->flags, msg->cap_parts,
		    sizeof(*msg->flags));
	}
	if (parent != MIME_NONE)
		depth = msg->parts[parent].depth + 1;
	if (depth + 1 >= p->cap_depth) {
		size_t old = p->cap_depth;

		p->cap_depth = depth + 16;
		p->last_child = xreallocarray(p->last_child, p->cap_depth,
		    sizeof(*p->last_child));
		for (size_t i = old; i < p->cap_depth; i++)
			p->last_child[i] = MIME_NONE;
	}
	part = &msg->parts[index];
	memset(part, 0, sizeof(*part));
	part->header_off = header_off;
	part->body_off = part->body_end = header_off;
	part->body_lines = header_lfs;	/* LFs before the body, for now */
	part->parent = parent;
	part->first_child = part->next_sibling = MIME_NONE;
	part->depth = depth;
	part->type = "text";
	part->subtype = "plain";
	msg->flags[index] = 0;
	msg->n_parts++;

	if (parent != MIME_NONE) {
		uint32_t prev = p->last_child[depth - 1];

		if (prev == MIME_NONE)
			msg->parts[parent].first_child = index;
		else
			msg->parts[prev].next_sibling = index;
		p->last_child[depth - 1] = index;
	}
	p->last_child[depth] = MIME_NONE;
	return index;
}

/* Sets the end of part index and turns body_lines from "LFs before the
   body" into the body's line count. */
static void
mime_parser_finish(struct mime_parser *p, uint32_t index, size_t end,
    uint64_t lfs_at_end)
{
	struct mime_part *part = &p->msg->parts[index];

	part->body_end = end;
	part->body_lines = lfs_at_end - part->body_lines;
}

/* Whether n parts more than the depth of part index would exceed the
   nesting limit. */
static bool
mime_parser_too_deep(const struct mime_parser *p, uint32_t index)
{
	return (uint64_t)p->msg->parts[index].depth + 1 >=
	    p->msg->limits.max_depth;
}

/* The delimiter line at pos (starting "--"): the best open boundary, or
   NULL. *close_r tells a close delimiter ("--" right after). */
static struct mime_bound *
mime_parser_find_bound(struct mime_parser *p, size_t pos, bool *close_r)
{
	const char *s = p->data + pos + 2;
	size_t avail = p->len - pos - 2, size;
	const char *lf = memchr(s, '\n', avail);
	struct mime_bound *best = NULL;
	bool dashes = false;

	if (p->msg->n_parts >= p->msg->limits.max_parts)
		return NULL;
	if (lf != NULL) {
		size = (size_t)(lf - s);
		if (size > 0 && s[size - 1] == '\r')
			size--;
		dashes = size > 2 && s[size - 1] == '-' && s[size - 2] == '-';
	} else {
		size = avail < MIME_BOUNDARY_MAX + 4 ? avail :
		    MIME_BOUNDARY_MAX + 4;
	}
	for (size_t i = p->n_bounds; i-- > 0;) {
		struct mime_bound *b = &p->bounds[i];

		if (b->len > size || memcmp(b->str, s, b->len) != 0 ||
		    (best != NULL && best->len >= b->len))
			continue;
		best = b;
		/* "--b--" ends b; it cannot also be "b--" opening */
		if (b->len == size || (dashes && b->len + 2 == size))
			break;
	}
	if (best != NULL)
		*close_r = avail >= best->len + 2 &&
		    memcmp(s + best->len, "--", 2) == 0;
	return best;
}

static bool
mime_parser_is_delimiter(struct mime_parser *p, size_t pos)
{
	return p->n_bounds > 0 && p->len - pos >= 2 && p->data[pos] == '-' &&
	    p->data[pos + 1] == '-';
}

/* The first Content-Type of the current part: flags, the strings IMAP
   reports, and the boundary of a multipart. */
static void
mime_parser_content_type(struct mime_parser *p, const struct mime_field *f)
{
	struct mime_message *msg = p->msg;
	struct mime_part *part = &msg->parts[p->cur];
	uint8_t *flags = &msg->flags[p->cur];
	struct mime_lex lx;
	const char *value, *s, *slash;
	size_t len;
	int ret;

	mime_header_value(f, &p->tmp, &value, &len);
	mime_lex_init(&lx, value, len);
	(void)mime_lex_skip_lwsp(&lx);
	buf_reset(&p->ctype);
	ret = mime_lex_content_type(&lx, &p->ctype);
	s = p->ctype.data != NULL ? p->ctype.data : "";
	len = p->ctype.len;

	slash = memchr(s, '/', len);
	if (slash == NULL) {
		part->type = mime_parser_strdup(msg, s, len);
		part->subtype = "";
	} else {
		part->type = mime_parser_strdup(msg, s, (size_t)(slash - s));
		part->subtype = mime_parser_strdup(msg, slash + 1,
		    len - (size_t)(slash - s) - 1);
	}
	if (strcasecmp(s, "message/rfc822") == 0 ||
	    strcasecmp(s, "message/global") == 0) {
		part->is_message = true;
	} else if (strncasecmp(s, "text", 4) == 0 &&
	    (len == 4 || s[4] == '/')) {
		*flags |= MIME_PART_TEXT;
	} else if (strncasecmp(s, "multipart/", 10) == 0) {
		part->is_multipart = true;
		if (strcasecmp(s + 10, "digest") == 0)
			*flags |= MIME_PART_DIGEST;
	}
	if (ret < 0 || !part->is_multipart)
		return;
	mime_params_parse(&lx, &p->params);
	for (size_t i = 0; i < p->params.n; i++) {
		const char *name = mime_params_name(&p->params, i);
		const char *v = mime_params_value(&p->params, i);

		if (strcasecmp(name, "boundary") == 0) {
			p->pending_len = strlen(v);
			if (p->pending_len > MIME_BOUNDARY_MAX)
				p->pending_len = MIME_BOUNDARY_MAX;
			memcpy(p->pending, v, p->pending_len);
			p->has_pending = true;
			break;
		}
	}
}

static void
mime_parser_push_bound(struct mime_parser *p)
{
	struct mime_bound *b;

	if (p->n_bounds == p->cap_bounds) {
		p->cap_bounds = p->cap_bounds ? p->cap_bounds * 2 : 8;
		p->bounds = xreallocarray(p->bounds, p->cap_bounds,
		    sizeof(*p->bounds));
	}
	b = &p->bounds[p->n_bounds++];
	b->part = p->cur;
	b->len = p->pending_len;
	memcpy(b->str, p->pending, p->pending_len);
}

/* Whether the line at p->pos is a delimiter of a multipart enclosing part
   index (its own boundary does not count). */
static bool
mime_parser_outer_delimiter(struct mime_parser *p, uint32_t index)
{
	struct mime_bound *b;
	bool close;

	if (!mime_parser_is_delimiter(p, p->pos))
		return false;
	b = mime_parser_find_bound(p, p->pos, &close);
	return b != NULL && b->part != index;
}

/* The header of part index ends with a line break that goes to its parent
   (which then ends at the delimiter line at pos, when it ends there). */
static void
mime_parser_cut(struct mime_parser *p, uint32_t index, size_t pos)
{
	p->cut_parent = p->msg->parts[index].parent;
	p->cut_pos = pos;
	p->cut_lfs = p->lfs;
}

/* Reads the header of the current part from p->pos; a multipart opens
   its boundary at the empty line. */
static void
mime_parser_header(struct mime_parser *p)
{
	struct mime_message *msg = p->msg;
	uint32_t index = p->cur;
	uint8_t *flags = &msg->flags[index];
	struct mime_part *part;
	struct mime_field f;
	size_t prev_nl = 0, body_off;
	uint64_t lfs, body_lfs;
	bool seen_ctype = false, any = false;

	if (p->cut_parent != MIME_NONE && !mime_parser_outer_delimiter(p,
	    index)) {
		/* the delimiter that cut the parent's header short is none
		   since this part reached max_parts: the line break before it
		   is the parent's body, and this header starts after it */
		p->cut_parent = MIME_NONE;
		msg->parts[index].header_off = p->pos;
		msg->parts[index].body_lines = p->lfs;
	}
	lfs = msg->parts[index].body_lines;
	p->has_pending = false;
	for (;;) {
		size_t pos = p->pos;
		const char *d = p->data + pos;

		if (pos >= p->len) {
			body_off = p->len;
			body_lfs = p->lfs;
			break;
		}
		if (d[0] == '\n' || (d[0] == '\r' && pos + 1 < p->len &&
		    d[1] == '\n')) {
			/* the empty line: a multipart opens its boundary
			   here, before its own body is read */
			if (p->has_pending && (*flags & MIME_PART_IS_MIME)) {
				if (!mime_parser_too_deep(p, index)) {
					mime_parser_push_bound(p);
				} else {
					*flags |= MIME_PART_TRUNCATED;
					msg->parts[index].is_multipart = false;
				}
			}
			p->pos += d[0] == '\n' ? 1 : 2;
			p->lfs++;
			body_off = p->pos;
			body_lfs = p->lfs;
			if (mime_parser_outer_delimiter(p, index)) {
				/* an empty body right before an enclosing
				   delimiter: the empty line's break is the
				   delimiter's, as below (Dovecot) */
				mime_parser_cut(p, index, p->pos);
				body_off = pos;
				body_lfs = p->lfs - 1;
			}
			break;
		}
		if (mime_parser_outer_delimiter(p, index)) {
			/* an enclosing multipart's delimiter: the header ends,
			   and the line break before it is the delimiter's */
			if (any) {
				body_off = pos - prev_nl;
				body_lfs = p->lfs - (prev_nl > 0);
				mime_parser_cut(p, index, pos);
			} else {
				body_off = msg->parts[index].header_off;
				body_lfs = lfs;
			}
			break;
		}
		(void)mime_header_next(p->data, p->len, &p->pos, &f);
		any = true;
		p->lfs += f.lines;
		prev_nl = 0;
		if (p->data[f.end - 1] == '\n')
			prev_nl = f.end - 1 > f.off &&
			    p->data[f.end - 2] == '\r' ? 2 : 1;
		if (mime_header_name_is(&f, "Mime-Version")) {
			*flags |= MIME_PART_IS_MIME;
		} else if (mime_header_name_is(&f, "Content-Type")) {
			*flags |= MIME_PART_IS_MIME;
			if (!seen_ctype) {
				seen_ctype = true;
				*flags |= MIME_PART_HAS_CTYPE;
				mime_parser_content_type(p, &f);
			}
		}
	}

	part = &msg->parts[index];
	part->body_off = part->body_end = body_off;
	part->body_lines = body_lfs;
	if (!seen_ctype) {
		uint32_t parent = part->parent;

		if (parent != MIME_NONE &&
		    (msg->flags[parent] & MIME_PART_DIGEST) != 0) {
			part->is_message = true;
			*flags |= MIME_PART_DIGEST_CHILD;
		} else {
			*flags |= MIME_PART_TEXT;
		}
	}
	if (part->is_message) {
		if (!mime_parser_too_deep(p, index) &&
		    msg->n_parts < msg->limits.max_parts) {
			/* reported in lower case whatever the header says */
			part->subtype = seen_ctype &&
			    strcasecmp(part->subtype, "global") == 0 ?
			    "global" : "rfc822";
			part->type = "message";
		} else {
			part->is_message = false;
			*flags |= MIME_PART_TRUNCATED;
		}
	}
	if (*flags & MIME_PART_TRUNCATED) {
		part->type = "application";
		part->subtype = "octet-stream";
	}
}

/* Finishes the parts from the current one up to (not including) stop. */
static void
mime_parser_finish_until(struct mime_parser *p, uint32_t stop, size_t end,
    uint64_t lfs)
{
	while (p->cur != stop && p->cur != MIME_NONE) {
		if (p->cur == p->cut_parent) {
			end = p->cut_pos;
			lfs = p->cut_lfs;
		}
		mime_parser_finish(p, p->cur, end, lfs);
		p->cur = p->msg->parts[p->cur].parent;
	}
	p->cut_parent = MIME_NONE;
}

/* memchr is vectorised in libc; lines of text are long enough for it to
   beat a byte loop. */
static uint64_t
mime_parser_count_lf(const char *s, size_t len)
{
	const char *end = s + len, *lf;
	uint64_t n = 0;

	while ((lf = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		n++;
		s = lf + 1;
	}
	return n;
}

/* Reads body lines of the current part until a delimiter starts a new part
   (returns true, p->cur is the new part) or the message ends (false). */
static bool
mime_parser_body(struct mime_parser *p)
{
	size_t content_end = p->msg->parts[p->cur].body_off;
	uint64_t content_lfs = p->msg->parts[p->cur].body_lines;

	for (;;) {
		struct mime_bound *b;
		const char *lf;
		bool close;

		if (p->n_bounds == 0) {
			p->lfs += mime_parser_count_lf(p->data + p->pos,
			    p->len - p->pos);
			p->pos = p->len;
		}
		if (p->pos >= p->len)
			break;
		if (mime_parser_is_delimiter(p, p->pos) &&
		    (b = mime_parser_find_bound(p, p->pos, &close)) != NULL) {
			uint32_t owner = b->part;

			mime_parser_finish_until(p, owner, content_end,
			    content_lfs);
			/* a close delimiter ends its multipart; either kind
			   ends the multiparts nested inside */
			p->n_bounds = (size_t)(b - p->bounds) + (close ? 0 : 1);
			lf = memchr(p->data + p->pos, '\n', p->len - p->pos);
			if (lf == NULL) {
				p->pos = p->len;
				break;
			}
			p->pos = (size_t)(lf - p->data) + 1;
			p->lfs++;
			if (!close) {
				p->cur = mime_parser_add_part(p, owner, p->pos,
				    p->lfs);
				p->msg->flags[p->cur] |= MIME_PART_IS_MIME;
				return true;
			}
			/* the epilogue: a body of the multipart again */
			content_end = p->pos;
			content_lfs = p->lfs;
			continue;
		}
		lf = memchr(p->data + p->pos, '\n', p->len - p->pos);
		if (lf == NULL) {
			p->pos = p->len;
			break;
		}
		content_lfs = p->lfs;
		content_end = (size_t)(lf - p->data);
		if (content_end > p->pos && lf[-1] == '\r')
			content_end--;
		p->pos = (size_t)(lf - p->data) + 1;
		p->lfs++;
	}
	/* a cut applies to the delimiter right after it, never to the end */
	p->cut_parent = MIME_NONE;
	mime_parser_finish_until(p, MIME_NONE, p->len, p->lfs);
	return false;
}

static void
mime_parser_run(struct mime_parser *p)
{
	p->cur = mime_parser_add_part(p, MIME_NONE, 0, 0);
	for (;;) {
		struct mime_part *part;

		mime_parser_header(p);
		part = &p->msg->parts[p->cur];
		if (part->is_message) {
			/* the encapsulated message's header is this body */
			p->cur = mime_parser_add_part(p, p->cur,
			    part->body_off, part->body_lines);
			continue;
		}
		if (!mime_parser_body(p))
			return;
	}
}

struct mime_message *
mime_parse(const char *data, size_t len, const struct mime_limits *limits)
{
	static const struct mime_limits def = MIME_LIMITS_DEFAULT;
	struct mime_message *msg = xcalloc(1, sizeof(*msg));
	struct mime_parser p;

	msg->data = data;
	msg->len = len;
	msg->limits = limits != NULL ? *limits : def;
	if (msg->limits.max_parts == 0)
		msg->limits.max_parts = 1;

	memset(&p, 0, sizeof(p));
	p.msg = msg;
	p.data = data;
	p.len = len;
	p.cut_parent = MIME_NONE;
	buf_init(&p.tmp, 0);
	buf_init(&p.ctype, 0);
	mime_params_init(&p.params);
	mime_parser_run(&p);
	buf_clear(&p.tmp);
	buf_clear(&p.ctype);
	mime_params_clear(&p.params);
	free(p.bounds);
	free(p.last_child);
	return msg;
}

void
mime_message_free(struct mime_message **msgp)
{
	struct mime_message *msg = *msgp;

	if (msg == NULL)
		return;
	while (msg->arena != NULL) {
		struct mime_arena_block *b = msg->arena;

		msg->arena = b->next;
		free(b);
	}
	free(msg->parts);
	free(msg->flags);
	xfree(msgp);
}

size_t
mime_part_count(const struct mime_message *msg)
{
	return msg->n_parts;
}

const struct mime_part *
mime_part_get(const struct mime_message *msg, uint32_t index)
{
	return index < msg->n_parts ? &msg->parts[index] : NULL;
}
