/* imap_parser.c — incremental IMAP command parser (imap_parser.h).

   One octet at a time through a state machine, so a command fed in any
   split parses the same; literal octets and skipped octets go in bulk.
   Invariants a changer must keep:
   - nothing is read past len, and every size from the peer is checked
     before it is used: line text against max_line (before the octet is
     taken), the command with its literals against max_size (a literal's
     size before it is announced), the tree against max_depth, max_args;
   - after an error the rest of the command is skipped by a small tail
     matcher that recognises "{n+}"/"{n-}" CRLF on skipped lines and skips
     those octets too, so no literal data is ever parsed as a command; an
     error is raised before the offending octet is taken, so the matcher
     sees it (a '{' that caused the error still counts);
   - arguments are kept as a flat token list (strings as offsets into one
     buffer) and turned into the imap_arg tree only once the command is
     complete, so nothing points into a buffer that may still move. */
#include "imap/imap_parser.h"

#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

/* Buffers above these sizes are freed between commands, so a connection
   that sent one large APPEND does not keep its memory while idle. */
#define PARSER_KEEP_DATA 512
#define PARSER_KEEP_TOKENS 16

enum parser_state {
	PS_START,		/* before a tag; empty lines are skipped */
	PS_START_CR,
	PS_TAG,
	PS_NAME,
	PS_ARG,			/* expecting an argument, ')' or line end */
	PS_AFTER,		/* after an argument: SP, ')' or line end */
	PS_ATOM,
	PS_BRACKET,		/* inside an atom's [...] */
	PS_BRACKET_QUOTED,	/* a quoted string inside [...] */
	PS_QUOTED,
	PS_LIT_SIZE,		/* after '{' */
	PS_LIT_END,		/* after "{n+" or "{n-" */
	PS_LIT_CR,		/* after '}' */
	PS_LIT_LF,		/* after "}" CR */
	PS_LIT_WAIT,		/* announced: accept or refuse */
	PS_LIT_DATA,
	PS_LF,			/* after CR at the end of the command */
	PS_SKIP,		/* skipping the rest of a bad command */
};

/* The tail matcher of skipped lines: "{" digits ["+"|"-"] "}" [CR] LF. */
enum parser_tail {
	TAIL_NONE,
	TAIL_SIZE,
	TAIL_END,
	TAIL_SYNC,
	TAIL_NONSYNC,
};

enum parser_step {
	STEP_TAKE,		/* octet taken */
	STEP_RETRY,		/* not taken; the state changed, look again */
	STEP_COMMAND,		/* taken; a command is complete */
	STEP_LITERAL,		/* taken; a literal is announced */
	STEP_ERROR,		/* not taken; now skipping */
	STEP_ERROR_TAKEN,	/* taken; error */
};

struct parser_token {
	enum imap_arg_type type;
	bool close;		/* the ')' of a list */
	size_t off, len;	/* in data */
	size_t n_children;	/* LIST */
};

struct imap_parser {
	struct imap_parser_limits limits;
	enum parser_state state;
	bool need_clear;	/* a command was returned: forget it first */
	bool tag_ok;

	struct buf tag, name, data;
	struct parser_token *tokens;
	size_t n_tokens, cap_tokens;
	size_t n_args;		/* tokens that are arguments (not ')') */
	size_t n_top;		/* top-level arguments */
	size_t *open;		/* token indexes of the open lists */
	size_t depth, cap_open, max_depth_seen;
	struct imap_arg *args;
	size_t cap_args;
	struct imap_command cmd;

	size_t line_len;	/* text octets of this line (segment) */
	uint64_t size;		/* octets of the command so far */
	size_t tok_off;		/* start of the atom or string in data */
	unsigned bracket_depth;
	bool escape;

	uint64_t lit_size, lit_left;
	bool lit_sync, lit_binary, lit_digits;

	uint64_t skip_octets;
	enum parser_tail tail;
	uint64_t tail_size;
	bool tail_digits, tail_cr;

	const char *error;
};

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->limits = *limits;
	buf_init(&p->tag, 0);
	buf_init(&p->name, 0);
	buf_init(&p->data, 0);
	p->state = PS_START;
	return p;
}

void
imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *limits)
{
	p->limits = *limits;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	buf_clear(&p->tag);
	buf_clear(&p->name);
	buf_clear(&p->data);
	free(p->tokens);
	free(p->open);
	free(p->args);
	free(p);
	*pp = NULL;
}

static void
parser_clear_command(struct imap_parser *p)
{
	buf_reset(&p->tag);
	buf_reset(&p->name);
	if (p->data.cap > PARSER_KEEP_DATA)
		buf_clear(&p->data);
	else
		buf_reset(&p->data);
	if (p->cap_tokens > PARSER_KEEP_TOKENS) {
		xfree(&p->tokens);
		p->cap_tokens = 0;
	}
	if (p->cap_args > PARSER_KEEP_TOKENS) {
		xfree(&p->args);
		p->cap_args = 0;
	}
	p->n_tokens = p->n_args = p->n_top = 0;
	p->depth = p->max_depth_seen = 0;
	p->line_len = 0;
	p->size = 0;
	p->tag_ok = false;
	p->need_clear = false;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

void
imap_parser_reset(struct imap_parser *p)
{
	parser_clear_command(p);
	p->state = PS_START;
	p->skip_octets = 0;
	p->error = NULL;
}

/* ATOM-CHAR (RFC 9051 §9): CHAR except atom-specials. */
static bool
parser_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* The octets an argument atom may hold: ATOM-CHAR plus the list
   wildcards and ']' (LIST patterns, astrings) and '[' (which opens a
   bracket). '\' is allowed only first (flags: \Seen, \*). */
static bool
parser_is_arg_atom_char(unsigned char c)
{
	return parser_is_atom_char(c) || c == '%' || c == '*' || c == ']';
}

static enum parser_step
parser_fail(struct imap_parser *p, const char *error)
{
	p->error = error;
	p->state = PS_SKIP;
	p->skip_octets = 0;
	p->tail = TAIL_NONE;
	p->tail_cr = false;
	return STEP_ERROR;
}

static int
parser_push(struct imap_parser *p, enum imap_arg_type type, bool close,
    size_t off, size_t len)
{
	struct parser_token *t;

	if (!close) {
		if (p->n_args >= p->limits.max_args)
			return -1;
		p->n_args++;
		if (p->depth > 0)
			p->tokens[p->open[p->depth - 1]].n_children++;
		else
			p->n_top++;
	}
	if (p->n_tokens == p->cap_tokens) {
		p->cap_tokens = p->cap_tokens ? p->cap_tokens * 2 : 16;
		p->tokens = xreallocarray(p->tokens, p->cap_tokens,
		    sizeof(*p->tokens));
	}
	t = &p->tokens[p->n_tokens++];
	t->type = type;
	t->close = close;
	t->off = off;
	t->len = len;
	t->n_children = 0;
	return 0;
}

static void
parser_append(struct buf *b, unsigned char c)
{
	/* Cannot fail: the buffer has no maximum of its own, max_line and
	   max_size bound what goes in. */
	(void)buf_append(b, &c, 1);
}

static enum parser_step
parser_open_list(struct imap_parser *p)
{
	if (p->depth >= p->limits.max_depth)
		return parser_fail(p, "Too deeply nested lists");
	if (parser_push(p, IMAP_ARG_LIST, false, 0, 0) == -1)
		return parser_fail(p, "Too many arguments");
	if (p->depth == p->cap_open) {
		p->cap_open = p->cap_open ? p->cap_open * 2 : 8;
		p->open = xreallocarray(p->open, p->cap_open,
		    sizeof(*p->open));
	}
	p->open[p->depth++] = p->n_tokens - 1;
	if (p->depth > p->max_depth_seen)
		p->max_depth_seen = p->depth;
	p->state = PS_ARG;
	return STEP_TAKE;
}

static enum parser_step
parser_close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return parser_fail(p, "Unexpected ')'");
	(void)parser_push(p, IMAP_ARG_LIST, true, 0, 0);
	p->depth--;
	p->state = PS_AFTER;
	return STEP_TAKE;
}

/* Ends the atom or string begun at tok_off (its text is in data). */
static int
parser_end_string(struct imap_parser *p, enum imap_arg_type type)
{
	size_t len = p->data.len - p->tok_off;

	if (type == IMAP_ARG_ATOM && len == 3 &&
	    strncasecmp(p->data.data + p->tok_off, "NIL", 3) == 0)
		type = IMAP_ARG_NIL;
	parser_append(&p->data, '\0');
	return parser_push(p, type, false, p->tok_off, len);
}

/* Turns the tokens into the imap_arg tree: each list's elements in one
   contiguous block of p->args, placed in token order. */
static void
parser_build(struct imap_parser *p)
{
	struct frame {
		struct imap_arg *block;
		size_t fill;
	} *stack;
	size_t sp = 0, cursor = p->n_top;

	if (p->n_args > p->cap_args) {
		free(p->args);
		p->cap_args = p->n_args;
		p->args = xreallocarray(NULL, p->cap_args, sizeof(*p->args));
	}
	stack = xreallocarray(NULL, p->max_depth_seen + 1, sizeof(*stack));
	stack[0].block = p->args;
	stack[0].fill = 0;
	for (size_t i = 0; i < p->n_tokens; i++) {
		const struct parser_token *t = &p->tokens[i];
		struct imap_arg *a;

		if (t->close) {
			sp--;
			continue;
		}
		a = &stack[sp].block[stack[sp].fill++];
		memset(a, 0, sizeof(*a));
		a->type = t->type;
		if (t->type == IMAP_ARG_LIST) {
			struct imap_arg *block = t->n_children > 0 ?
			    p->args + cursor : NULL;

			a->list = block;
			a->n_list = t->n_children;
			cursor += t->n_children;
			sp++;
			stack[sp].block = block;
			stack[sp].fill = 0;
		} else {
			a->str = p->data.data + t->off;
			a->len = t->len;
		}
	}
	free(stack);
	p->cmd.tag = p->tag.data;
	p->cmd.name = p->name.data;
	p->cmd.args = p->n_args > 0 ? p->args : NULL;
	p->cmd.n_args = p->n_top;
	p->cmd.size = p->size;
}

static enum parser_step
parser_end_line(struct imap_parser *p)
{
	if (p->depth > 0)
		return parser_fail(p, "Missing ')'");
	parser_build(p);
	p->state = PS_START;
	p->need_clear = true;
	return STEP_COMMAND;
}

static enum parser_step
parser_announce(struct imap_parser *p)
{
	/* size may exceed max_size only if set_limits lowered it. */
	if (p->size > p->limits.max_size ||
	    p->lit_size > p->limits.max_size - p->size) {
		p->error = "[TOOBIG] Literal too large";
		if (p->lit_sync) {
			/* The client waits for "+": the command ends. */
			p->state = PS_START;
			p->need_clear = true;
		} else {
			p->state = PS_SKIP;
			p->skip_octets = p->lit_size;
			p->tail = TAIL_NONE;
			p->tail_cr = false;
		}
		return STEP_ERROR_TAKEN;
	}
	p->state = PS_LIT_WAIT;
	return STEP_LITERAL;
}

/* Skipping: octets of announced non-synchronizing literals are skipped in
   bulk by the caller; this follows the tail of each skipped line. */
static enum parser_step
parser_skip(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		if (p->tail == TAIL_NONSYNC) {
			p->skip_octets = p->tail_size;
			p->tail = TAIL_NONE;
			p->tail_cr = false;
			return STEP_TAKE;
		}
		/* The command ends here (after a synchronizing literal the
		   client waits for a "+" that never comes). */
		parser_clear_command(p);
		p->state = PS_START;
		return STEP_TAKE;
	}
	if (c == '\r' && (p->tail == TAIL_SYNC || p->tail == TAIL_NONSYNC) &&
	    !p->tail_cr) {
		p->tail_cr = true;
		return STEP_TAKE;
	}
	p->tail_cr = false;
	if (c == '{') {
		p->tail = TAIL_SIZE;
		p->tail_size = 0;
		p->tail_digits = false;
	} else if (p->tail == TAIL_SIZE && c >= '0' && c <= '9') {
		unsigned d = (unsigned)(c - '0');

		/* Saturates: a size past 2^64 is skipped "forever". */
		if (p->tail_size > (UINT64_MAX - d) / 10)
			p->tail_size = UINT64_MAX;
		else
			p->tail_size = p->tail_size * 10 + d;
		p->tail_digits = true;
	} else if (p->tail == TAIL_SIZE && p->tail_digits &&
	    (c == '+' || c == '-')) {
		p->tail = TAIL_END;
	} else if (p->tail == TAIL_SIZE && p->tail_digits && c == '}') {
		p->tail = TAIL_SYNC;
	} else if (p->tail == TAIL_END && c == '}') {
		p->tail = TAIL_NONSYNC;
	} else {
		p->tail = TAIL_NONE;
	}
	return STEP_TAKE;
}

static enum parser_step
parser_step_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return STEP_TAKE;	/* extra spaces tolerated, as Dovecot */
	case '(':
		return parser_open_list(p);
	case ')':
		return parser_close_list(p);
	case '"':
		p->tok_off = p->data.len;
		p->escape = false;
		p->state = PS_QUOTED;
		return STEP_TAKE;
	case '{':
		if (p->n_args >= p->limits.max_args)
			return parser_fail(p, "Too many arguments");
		p->lit_binary = false;
		p->lit_size = 0;
		p->lit_digits = false;
		p->state = PS_LIT_SIZE;
		return STEP_TAKE;
	case '\r':
		if (p->depth > 0)
			return parser_fail(p, "Missing ')'");
		p->state = PS_LF;
		return STEP_TAKE;
	case '\n':
		return parser_end_line(p);
	default:
		if (!parser_is_arg_atom_char(c) && c != '\\' && c != '[')
			return parser_fail(p, "Invalid characters in atom");
		p->tok_off = p->data.len;
		p->state = PS_ATOM;
		return STEP_RETRY;
	}
}

static enum parser_step
parser_step_atom(struct imap_parser *p, unsigned char c)
{
	size_t atom_len = p->data.len - p->tok_off;

	switch (c) {
	case ' ':
	case ')':
	case '\r':
	case '\n':
		if (parser_end_string(p, IMAP_ARG_ATOM) == -1)
			return parser_fail(p, "Too many arguments");
		p->state = PS_AFTER;
		return STEP_RETRY;
	case '{':
		if (atom_len == 1 && p->data.data[p->tok_off] == '~') {
			/* "~{n}": literal8 (RFC 3516) */
			if (p->n_args >= p->limits.max_args)
				return parser_fail(p, "Too many arguments");
			p->data.len = p->tok_off;
			p->data.data[p->data.len] = '\0';
			p->lit_binary = true;
			p->lit_size = 0;
			p->lit_digits = false;
			p->state = PS_LIT_SIZE;
			return STEP_TAKE;
		}
		return parser_fail(p, "Invalid characters in atom");
	case '[':
		if (p->limits.max_depth == 0)
			return parser_fail(p, "Too deeply nested brackets");
		p->bracket_depth = 1;
		p->state = PS_BRACKET;
		parser_append(&p->data, c);
		return STEP_TAKE;
	case '\\':
		if (atom_len > 0)
			return parser_fail(p, "Invalid characters in atom");
		parser_append(&p->data, c);
		return STEP_TAKE;
	default:
		if (!parser_is_arg_atom_char(c))
			return parser_fail(p, c >= 0x80 ? "8bit data in atom" :
			    "Invalid characters in atom");
		parser_append(&p->data, c);
		return STEP_TAKE;
	}
}

static enum parser_step
parser_step_bracket(struct imap_parser *p, unsigned char c)
{
	if (p->state == PS_BRACKET_QUOTED) {
		if (c == '\0' || c == '\r' || c == '\n')
			return parser_fail(p, "Missing '\"'");
		if (p->escape) {
			if (c != '"' && c != '\\')
				return parser_fail(p, "Invalid escape in quoted string");
			p->escape = false;
		} else if (c == '\\') {
			p->escape = true;
		} else if (c == '"') {
			p->state = PS_BRACKET;
		}
		parser_append(&p->data, c);
		return STEP_TAKE;
	}
	switch (c) {
	case '\r':
	case '\n':
		return parser_fail(p, "Missing ']'");
	case '{':
		return parser_fail(p, "Literal inside brackets");
	case '[':
		if (p->bracket_depth >= p->limits.max_depth)
			return parser_fail(p, "Too deeply nested brackets");
		p->bracket_depth++;
		break;
	case ']':
		if (--p->bracket_depth == 0)
			p->state = PS_ATOM;
		break;
	case '"':
		p->escape = false;
		p->state = PS_BRACKET_QUOTED;
		break;
	default:
		if (c != ' ' && (c < 0x20 || c >= 0x7f))
			return parser_fail(p, "Invalid characters in atom");
		break;
	}
	parser_append(&p->data, c);
	return STEP_TAKE;
}

static enum parser_step
parser_step_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\0')
		return parser_fail(p, "NUL in quoted string");
	if (c == '\r' || c == '\n')
		return parser_fail(p, "Missing '\"'");
	if (p->escape) {
		/* RFC 9051 §9: only quoted-specials may be escaped. */
		if (c != '"' && c != '\\')
			return parser_fail(p, "Invalid escape in quoted string");
		p->escape = false;
	} else if (c == '\\') {
		p->escape = true;
		return STEP_TAKE;
	} else if (c == '"') {
		if (parser_end_string(p, IMAP_ARG_QUOTED) == -1)
			return parser_fail(p, "Too many arguments");
		p->state = PS_AFTER;
		return STEP_TAKE;
	}
	parser_append(&p->data, c);
	return STEP_TAKE;
}

static enum parser_step
parser_step_literal(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case PS_LIT_SIZE:
		if (c >= '0' && c <= '9') {
			unsigned d = (unsigned)(c - '0');

			/* Saturates, never wraps: the size is checked
			   against max_size once complete, and a refused
			   non-synchronizing one still has to be skipped. */
			if (p->lit_size > (UINT64_MAX - d) / 10)
				p->lit_size = UINT64_MAX;
			else
				p->lit_size = p->lit_size * 10 + d;
			p->lit_digits = true;
			return STEP_TAKE;
		}
		if (!p->lit_digits)
			return parser_fail(p, "Invalid literal size");
		if (c == '+' || c == '-') {
			/* LITERAL+ / LITERAL- (RFC 7888): the session
			   decides whether it allows this size. */
			p->lit_sync = false;
			p->state = PS_LIT_END;
			return STEP_TAKE;
		}
		if (c != '}')
			return parser_fail(p, "Invalid literal size");
		p->lit_sync = true;
		p->state = PS_LIT_CR;
		return STEP_TAKE;
	case PS_LIT_END:
		if (c != '}')
			return parser_fail(p, "Invalid literal size");
		p->state = PS_LIT_CR;
		return STEP_TAKE;
	case PS_LIT_CR:
		if (c == '\r') {
			p->state = PS_LIT_LF;
			return STEP_TAKE;
		}
		if (c == '\n')
			return parser_announce(p);
		return parser_fail(p, "Literal not at the end of the line");
	default:
		if (c != '\n')
			return parser_fail(p, "Literal not at the end of the line");
		return parser_announce(p);
	}
}

static enum parser_step
parser_step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case PS_START:
		if (c == '\r') {
			p->state = PS_START_CR;
			return STEP_TAKE;
		}
		if (c == '\n')
			return STEP_TAKE;	/* empty line: ignored */
		parser_clear_command(p);
		p->state = PS_TAG;
		return STEP_RETRY;
	case PS_START_CR:
		if (c != '\n')
			return parser_fail(p, "CR without LF");
		p->state = PS_START;
		return STEP_TAKE;
	case PS_TAG:
		if (c == ' ' && p->tag.len > 0) {
			p->tag_ok = true;
			p->state = PS_NAME;
			return STEP_TAKE;
		}
		if ((c == '\r' || c == '\n') && p->tag.len > 0) {
			p->tag_ok = true;
			return parser_fail(p, "Missing command name");
		}
		/* tag = 1*<any ASTRING-CHAR except "+"> */
		if (c == '+' || !(parser_is_atom_char(c) || c == ']'))
			return parser_fail(p, "Invalid tag");
		parser_append(&p->tag, c);
		return STEP_TAKE;
	case PS_NAME:
		if (parser_is_atom_char(c)) {
			parser_append(&p->name, c);
			return STEP_TAKE;
		}
		if (p->name.len == 0)
			return parser_fail(p, "Invalid command name");
		if (c == ' ') {
			p->state = PS_ARG;
			return STEP_TAKE;
		}
		if (c == '\r') {
			p->state = PS_LF;
			return STEP_TAKE;
		}
		if (c == '\n')
			return parser_end_line(p);
		return parser_fail(p, "Invalid command name");
	case PS_ARG:
		return parser_step_arg(p, c);
	case PS_AFTER:
		if (c == ' ') {
			p->state = PS_ARG;
			return STEP_TAKE;
		}
		if (c == ')')
			return parser_close_list(p);
		if (c == '\r' || c == '\n')
			return parser_step_arg(p, c);
		return parser_fail(p, "Missing space between arguments");
	case PS_ATOM:
		return parser_step_atom(p, c);
	case PS_BRACKET:
	case PS_BRACKET_QUOTED:
		return parser_step_bracket(p, c);
	case PS_QUOTED:
		return parser_step_quoted(p, c);
	case PS_LIT_SIZE:
	case PS_LIT_END:
	case PS_LIT_CR:
	case PS_LIT_LF:
		return parser_step_literal(p, c);
	case PS_LF:
		if (c != '\n')
			return parser_fail(p, "CR without LF");
		return parser_end_line(p);
	case PS_SKIP:
		return parser_skip(p, c);
	case PS_LIT_WAIT:
	case PS_LIT_DATA:
		break;
	}
	panic("parser_step: state %d", (int)p->state);
}

/* Whether octets in this state are command text (counted and limited). */
static bool
parser_state_counts(enum parser_state s)
{
	return s != PS_START && s != PS_START_CR && s != PS_SKIP &&
	    s != PS_LIT_WAIT && s != PS_LIT_DATA;
}

/* Literal octets: copied in bulk; NUL refused unless literal8. */
static enum imap_parse_result
parser_literal_data(struct imap_parser *p, const char *data, size_t len,
    size_t *i)
{
	size_t n = len - *i;
	const char *nul;

	if (n > p->lit_left)
		n = (size_t)p->lit_left;
	if (!p->lit_binary && (nul = memchr(data + *i, '\0', n)) != NULL) {
		/* Up to the NUL only, so the error comes at the same octet
		   however the input is split. */
		n = (size_t)(nul - (data + *i)) + 1;
		*i += n;
		p->lit_left -= n;
		parser_fail(p, "NUL in literal");
		p->skip_octets = p->lit_left;
		return IMAP_PARSE_ERROR;
	}
	(void)buf_append(&p->data, data + *i, n);
	*i += n;
	p->lit_left -= n;
	if (p->lit_left == 0) {
		/* Cannot fail: max_args was checked at its '{'. */
		(void)parser_end_string(p, p->lit_binary ?
		    IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL);
		p->state = PS_AFTER;
		p->line_len = 0;
	}
	return IMAP_PARSE_MORE;
}

enum imap_parse_result
imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
    size_t *used_r)
{
	size_t i = 0;

	if (p->state == PS_LIT_WAIT)
		panic("imap_parser_feed: literal neither accepted nor refused");
	if (p->need_clear)
		parser_clear_command(p);
	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		bool counts;

		if (p->state == PS_LIT_DATA) {
			if (parser_literal_data(p, data, len, &i) ==
			    IMAP_PARSE_ERROR) {
				*used_r = i;
				return IMAP_PARSE_ERROR;
			}
			continue;
		}
		if (p->state == PS_SKIP && p->skip_octets > 0) {
			size_t n = len - i;

			if (n > p->skip_octets)
				n = (size_t)p->skip_octets;
			i += n;
			p->skip_octets -= n;
			continue;
		}
		counts = parser_state_counts(p->state);
		if (counts && c != '\r' && c != '\n' &&
		    p->line_len >= p->limits.max_line) {
			parser_fail(p, "Line too long");
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		if (counts && p->size >= p->limits.max_size) {
			parser_fail(p, "Command too large");
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		enum parser_step step = parser_step(p, c);
		if (counts && step != STEP_RETRY && step != STEP_ERROR) {
			p->size++;
			if (c != '\r' && c != '\n')
				p->line_len++;
		}
		switch (step) {
		case STEP_TAKE:
			i++;
			break;
		case STEP_RETRY:
			break;
		case STEP_COMMAND:
			p->cmd.size = p->size;
			*used_r = i + 1;
			return IMAP_PARSE_COMMAND;
		case STEP_LITERAL:
			*used_r = i + 1;
			return IMAP_PARSE_LITERAL;
		case STEP_ERROR:
			*used_r = i;
			return IMAP_PARSE_ERROR;
		case STEP_ERROR_TAKEN:
			*used_r = i + 1;
			return IMAP_PARSE_ERROR;
		}
	}
	*used_r = i;
	return IMAP_PARSE_MORE;
}

const struct imap_command *
imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

void
imap_parser_literal(const struct imap_parser *p,
    struct imap_parser_literal *lit_r)
{
	lit_r->size = p->lit_size;
	lit_r->sync = p->lit_sync;
	lit_r->binary = p->lit_binary;
	lit_r->tag = p->tag.data;
	lit_r->name = p->name.data;
	lit_r->n_args = p->n_top;
}

void
imap_parser_literal_accept(struct imap_parser *p)
{
	if (p->state != PS_LIT_WAIT)
		panic("imap_parser_literal_accept: no literal announced");
	p->size += p->lit_size;		/* checked by parser_announce */
	/* Cannot fail: max_args was checked at its '{'. */
	p->tok_off = p->data.len;
	p->lit_left = p->lit_size;
	p->line_len = 0;
	if (p->lit_size == 0) {
		(void)parser_end_string(p, p->lit_binary ?
		    IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL);
		p->state = PS_AFTER;
	} else {
		p->state = PS_LIT_DATA;
	}
}

void
imap_parser_literal_refuse(struct imap_parser *p)
{
	if (p->state != PS_LIT_WAIT)
		panic("imap_parser_literal_refuse: no literal announced");
	if (p->lit_sync) {
		/* The client sends nothing more of this command. */
		p->state = PS_START;
		p->need_clear = true;
		return;
	}
	p->state = PS_SKIP;
	p->skip_octets = p->lit_size;
	p->tail = TAIL_NONE;
	p->tail_cr = false;
}

const char *
imap_parser_error_tag(const struct imap_parser *p)
{
	return p->tag_ok && p->tag.data != NULL ? p->tag.data : "*";
}

const char *
imap_parser_error(const struct imap_parser *p)
{
	return p->error != NULL ? p->error : "Invalid command";
}

bool
imap_parser_is_skipping(const struct imap_parser *p)
{
	return p->state == PS_SKIP;
}
