/* imap_parser.c — incremental IMAP command parser (imap_parser.h): the
   state machine and the API. Its arguments are kept by
   imap_parser_args.c, the rest of a bad command is skipped by
   imap_parser_skip.c.

   One octet at a time, so a command fed in any split parses the same;
   literal octets and skipped octets go in bulk. Invariants a changer
   must keep:
   - nothing is read past len, and every size from the peer is checked
     before it is used: line text against max_line (before the octet is
     taken), the command with its literals against max_size (a literal's
     size before it is announced), the tree against max_depth, max_args;
   - an error is raised before the offending octet is taken, and skipping
     starts with it, so a '{' that caused the error still announces its
     literal to the skipper: no literal data is ever parsed as a command;
   - a state that returns STEP_RETRY has changed the state, so the loop
     always progresses. */
#include "imap/imap_parser_private.h"

#include <string.h>

#include "lib/xmalloc.h"

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
	imap_parser_args_free(p);
	free(p);
	*pp = NULL;
}

void
imap_parser_reset(struct imap_parser *p)
{
	imap_parser_args_clear(p);
	imap_parser_skip_reset(p);
	p->state = PS_START;
	p->skip_octets = 0;
	p->error = NULL;
}

/* ATOM-CHAR (RFC 9051 §9): CHAR except atom-specials. */
static bool
imap_parser_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* The octets an argument atom may hold: ATOM-CHAR plus the list
   wildcards and ']' (LIST patterns, astrings) and '[' (which opens a
   bracket). '\' is allowed only first (flags: \Seen, \*). */
static bool
imap_parser_is_arg_atom_char(unsigned char c)
{
	return imap_parser_is_atom_char(c) || c == '%' || c == '*' || c == ']';
}

static enum parser_step
imap_parser_fail(struct imap_parser *p, const char *error)
{
	/* The tail of the line so far is kept: see imap_parser_skip.c. */
	p->error = error;
	p->state = PS_SKIP;
	p->skip_octets = 0;
	return STEP_ERROR;
}

static enum parser_step
imap_parser_open_list(struct imap_parser *p)
{
	if (p->depth >= p->limits.max_depth)
		return imap_parser_fail(p, "Too deeply nested lists");
	if (imap_parser_args_open(p) == -1)
		return imap_parser_fail(p, "Too many arguments");
	p->state = PS_ARG;
	return STEP_TAKE;
}

static enum parser_step
imap_parser_close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return imap_parser_fail(p, "Unexpected ')'");
	imap_parser_args_close(p);
	p->state = PS_AFTER;
	return STEP_TAKE;
}

static enum parser_step
imap_parser_end_line(struct imap_parser *p)
{
	if (p->depth > 0)
		return imap_parser_fail(p, "Missing ')'");
	imap_parser_args_build(p);
	p->state = PS_START;
	p->need_clear = true;
	return STEP_COMMAND;
}

static enum parser_step
imap_parser_announce(struct imap_parser *p)
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
			imap_parser_skip_reset(p);
		}
		return STEP_ERROR_TAKEN;
	}
	p->state = PS_LIT_WAIT;
	return STEP_LITERAL;
}

static enum parser_step
imap_parser_step_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return STEP_TAKE;	/* extra spaces tolerated, as Dovecot */
	case '(':
		return imap_parser_open_list(p);
	case ')':
		return imap_parser_close_list(p);
	case '"':
		p->tok_off = p->data.len;
		p->escape = false;
		p->state = PS_QUOTED;
		return STEP_TAKE;
	case '{':
		if (p->n_args >= p->limits.max_args)
			return imap_parser_fail(p, "Too many arguments");
		p->lit_binary = false;
		p->lit_size = 0;
		p->lit_digits = false;
		p->state = PS_LIT_SIZE;
		return STEP_TAKE;
	case '\r':
		if (p->depth > 0)
			return imap_parser_fail(p, "Missing ')'");
		p->state = PS_LF;
		return STEP_TAKE;
	case '\n':
		return imap_parser_end_line(p);
	default:
		if (!imap_parser_is_arg_atom_char(c) && c != '\\' && c != '[')
			return imap_parser_fail(p, "Invalid characters in atom");
		p->tok_off = p->data.len;
		p->state = PS_ATOM;
		return STEP_RETRY;
	}
}

static enum parser_step
imap_parser_step_atom(struct imap_parser *p, unsigned char c)
{
	size_t atom_len = p->data.len - p->tok_off;

	switch (c) {
	case ' ':
	case ')':
	case '\r':
	case '\n':
		if (imap_parser_args_end_string(p, IMAP_ARG_ATOM) == -1)
			return imap_parser_fail(p, "Too many arguments");
		p->state = PS_AFTER;
		return STEP_RETRY;
	case '{':
		if (atom_len == 1 && p->data.data[p->tok_off] == '~') {
			/* "~{n}": literal8 (RFC 3516) */
			if (p->n_args >= p->limits.max_args)
				return imap_parser_fail(p, "Too many arguments");
			p->data.len = p->tok_off;
			p->data.data[p->data.len] = '\0';
			p->lit_binary = true;
			p->lit_size = 0;
			p->lit_digits = false;
			p->state = PS_LIT_SIZE;
			return STEP_TAKE;
		}
		return imap_parser_fail(p, "Invalid characters in atom");
	case '[':
		if (p->limits.max_depth == 0)
			return imap_parser_fail(p, "Too deeply nested brackets");
		p->bracket_depth = 1;
		p->state = PS_BRACKET;
		imap_parser_append(&p->data, c);
		return STEP_TAKE;
	case '\\':
		if (atom_len > 0)
			return imap_parser_fail(p, "Invalid characters in atom");
		imap_parser_append(&p->data, c);
		return STEP_TAKE;
	default:
		if (!imap_parser_is_arg_atom_char(c))
			return imap_parser_fail(p, c >= 0x80 ?
			    "8bit data in atom" : "Invalid characters in atom");
		imap_parser_append(&p->data, c);
		return STEP_TAKE;
	}
}

static enum parser_step
imap_parser_step_bracket(struct imap_parser *p, unsigned char c)
{
	if (p->state == PS_BRACKET_QUOTED) {
		if (c == '\0' || c == '\r' || c == '\n')
			return imap_parser_fail(p, "Missing '\"'");
		if (p->escape) {
			if (c != '"' && c != '\\')
				return imap_parser_fail(p,
				    "Invalid escape in quoted string");
			p->escape = false;
		} else if (c == '\\') {
			p->escape = true;
		} else if (c == '"') {
			p->state = PS_BRACKET;
		}
		imap_parser_append(&p->data, c);
		return STEP_TAKE;
	}
	switch (c) {
	case '\r':
	case '\n':
		return imap_parser_fail(p, "Missing ']'");
	case '{':
		return imap_parser_fail(p, "Literal inside brackets");
	case '[':
		if (p->bracket_depth >= p->limits.max_depth)
			return imap_parser_fail(p, "Too deeply nested brackets");
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
			return imap_parser_fail(p, "Invalid characters in atom");
		break;
	}
	imap_parser_append(&p->data, c);
	return STEP_TAKE;
}

static enum parser_step
imap_parser_step_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\0')
		return imap_parser_fail(p, "NUL in quoted string");
	if (c == '\r' || c == '\n')
		return imap_parser_fail(p, "Missing '\"'");
	if (p->escape) {
		/* RFC 9051 §9: only quoted-specials may be escaped. */
		if (c != '"' && c != '\\')
			return imap_parser_fail(p,
			    "Invalid escape in quoted string");
		p->escape = false;
	} else if (c == '\\') {
		p->escape = true;
		return STEP_TAKE;
	} else if (c == '"') {
		if (imap_parser_args_end_string(p, IMAP_ARG_QUOTED) == -1)
			return imap_parser_fail(p, "Too many arguments");
		p->state = PS_AFTER;
		return STEP_TAKE;
	}
	imap_parser_append(&p->data, c);
	return STEP_TAKE;
}

static enum parser_step
imap_parser_step_literal(struct imap_parser *p, unsigned char c)
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
			return imap_parser_fail(p, "Invalid literal size");
		if (c == '+' || c == '-') {
			/* LITERAL+ / LITERAL- (RFC 7888): the session
			   decides whether it allows this size. */
			p->lit_sync = false;
			p->state = PS_LIT_END;
			return STEP_TAKE;
		}
		if (c != '}')
			return imap_parser_fail(p, "Invalid literal size");
		p->lit_sync = true;
		p->state = PS_LIT_CR;
		return STEP_TAKE;
	case PS_LIT_END:
		if (c != '}')
			return imap_parser_fail(p, "Invalid literal size");
		p->state = PS_LIT_CR;
		return STEP_TAKE;
	case PS_LIT_CR:
		if (c == '\r') {
			p->state = PS_LIT_LF;
			return STEP_TAKE;
		}
		if (c == '\n')
			return imap_parser_announce(p);
		return imap_parser_fail(p, "Literal not at the end of the line");
	default:
		if (c != '\n')
			return imap_parser_fail(p, "Literal not at the end of the line");
		return imap_parser_announce(p);
	}
}

static enum parser_step
imap_parser_step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case PS_START:
		if (c == '\r') {
			p->state = PS_START_CR;
			return STEP_TAKE;
		}
		if (c == '\n')
			return STEP_TAKE;	/* empty line: ignored */
		imap_parser_args_clear(p);
		p->state = PS_TAG;
		return STEP_RETRY;
	case PS_START_CR:
		if (c != '\n')
			return imap_parser_fail(p, "CR without LF");
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
			return imap_parser_fail(p, "Missing command name");
		}
		/* tag = 1*<any ASTRING-CHAR except "+"> */
		if (c == '+' || !(imap_parser_is_atom_char(c) || c == ']'))
			return imap_parser_fail(p, "Invalid tag");
		imap_parser_append(&p->tag, c);
		return STEP_TAKE;
	case PS_NAME:
		if (imap_parser_is_atom_char(c)) {
			imap_parser_append(&p->name, c);
			return STEP_TAKE;
		}
		if (p->name.len == 0)
			return imap_parser_fail(p, "Invalid command name");
		if (c == ' ') {
			p->state = PS_ARG;
			return STEP_TAKE;
		}
		if (c == '\r') {
			p->state = PS_LF;
			return STEP_TAKE;
		}
		if (c == '\n')
			return imap_parser_end_line(p);
		return imap_parser_fail(p, "Invalid command name");
	case PS_ARG:
		return imap_parser_step_arg(p, c);
	case PS_AFTER:
		if (c == ' ') {
			p->state = PS_ARG;
			return STEP_TAKE;
		}
		if (c == ')')
			return imap_parser_close_list(p);
		if (c == '\r' || c == '\n')
			return imap_parser_step_arg(p, c);
		return imap_parser_fail(p, "Missing space between arguments");
	case PS_ATOM:
		return imap_parser_step_atom(p, c);
	case PS_BRACKET:
	case PS_BRACKET_QUOTED:
		return imap_parser_step_bracket(p, c);
	case PS_QUOTED:
		return imap_parser_step_quoted(p, c);
	case PS_LIT_SIZE:
	case PS_LIT_END:
	case PS_LIT_CR:
	case PS_LIT_LF:
		return imap_parser_step_literal(p, c);
	case PS_LF:
		if (c != '\n')
			return imap_parser_fail(p, "CR without LF");
		return imap_parser_end_line(p);
	case PS_SKIP:
		return imap_parser_skip_octet(p, c);
	case PS_LIT_WAIT:
	case PS_LIT_DATA:
		break;
	}
	panic("parser_step: state %d", (int)p->state);
}

/* Whether octets in this state are command text (counted and limited). */
static bool
imap_parser_state_counts(enum parser_state s)
{
	return s != PS_START && s != PS_START_CR && s != PS_SKIP &&
	    s != PS_LIT_WAIT && s != PS_LIT_DATA;
}

/* Literal octets: copied in bulk; NUL refused unless literal8. */
static enum imap_parse_result
imap_parser_literal_data(struct imap_parser *p, const char *data, size_t len,
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
		imap_parser_fail(p, "NUL in literal");
		imap_parser_skip_reset(p);
		p->skip_octets = p->lit_left;
		return IMAP_PARSE_ERROR;
	}
	(void)buf_append(&p->data, data + *i, n);
	*i += n;
	p->lit_left -= n;
	if (p->lit_left == 0) {
		/* Cannot fail: max_args was checked at its '{'. */
		(void)imap_parser_args_end_string(p, p->lit_binary ?
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
		panic("imap_parser_feed: literal not accepted nor refused");
	if (p->need_clear)
		imap_parser_args_clear(p);
	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		bool counts;

		if (p->state == PS_LIT_DATA) {
			if (imap_parser_literal_data(p, data, len, &i) ==
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
		counts = imap_parser_state_counts(p->state);
		if (counts && c != '\r' && c != '\n' &&
		    p->line_len >= p->limits.max_line) {
			imap_parser_fail(p, "Line too long");
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		if (counts && p->size >= p->limits.max_size) {
			imap_parser_fail(p, "Command too large");
			*used_r = i;
			return IMAP_PARSE_ERROR;
		}
		enum parser_step step = imap_parser_step(p, c);
		if (counts && step != STEP_RETRY && step != STEP_ERROR) {
			p->size++;
			if (c == '\n') {
				imap_parser_skip_reset(p);
			} else {
				if (c != '\r')
					p->line_len++;
				imap_parser_skip_tail(p, c);
			}
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
	imap_parser_skip_reset(p);
	if (p->lit_size == 0) {
		(void)imap_parser_args_end_string(p, p->lit_binary ?
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
	imap_parser_skip_reset(p);
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

uint64_t
imap_parser_skip_left(const struct imap_parser *p)
{
	return p->state == PS_SKIP ? p->skip_octets : 0;
}
