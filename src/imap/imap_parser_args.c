/* imap_parser_args.c — the arguments of the command being parsed
   (imap_parser_private.h). While the command arrives they are a flat
   token list whose strings are offsets into one buffer (which may still
   move as it grows); once it is complete they become the imap_arg tree,
   each list's elements in one contiguous block, and nothing moves until
   the next command. Memory: bounded by max_args tokens and max_size
   octets; buffers over a small size are freed between commands. */
#include "imap/imap_parser_private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"

/* Kept between commands up to these sizes; above, freed, so a connection
   that sent one large APPEND does not keep its memory while idle. */
#define IMAP_PARSER_KEEP_DATA 512
#define IMAP_PARSER_KEEP_TOKENS 16

int
imap_parser_args_push(struct imap_parser *p, enum imap_arg_type type,
    bool close, size_t off, size_t len)
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

int
imap_parser_args_open(struct imap_parser *p)
{
	if (imap_parser_args_push(p, IMAP_ARG_LIST, false, 0, 0) == -1)
		return -1;
	if (p->depth == p->cap_open) {
		p->cap_open = p->cap_open ? p->cap_open * 2 : 8;
		p->open = xreallocarray(p->open, p->cap_open,
		    sizeof(*p->open));
	}
	p->open[p->depth++] = p->n_tokens - 1;
	if (p->depth > p->max_depth_seen)
		p->max_depth_seen = p->depth;
	return 0;
}

void
imap_parser_args_close(struct imap_parser *p)
{
	(void)imap_parser_args_push(p, IMAP_ARG_LIST, true, 0, 0);
	p->depth--;
}

int
imap_parser_args_end_string(struct imap_parser *p, enum imap_arg_type type)
{
	size_t len = p->data.len - p->tok_off;

	if (type == IMAP_ARG_ATOM && len == 3 &&
	    strncasecmp(p->data.data + p->tok_off, "NIL", 3) == 0)
		type = IMAP_ARG_NIL;
	imap_parser_append(&p->data, '\0');
	return imap_parser_args_push(p, type, false, p->tok_off, len);
}

void
imap_parser_args_build(struct imap_parser *p)
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
	/* The tokens nest no deeper than max_depth_seen: no recursion. */
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

void
imap_parser_args_clear(struct imap_parser *p)
{
	buf_reset(&p->tag);
	buf_reset(&p->name);
	if (p->data.cap > IMAP_PARSER_KEEP_DATA)
		buf_clear(&p->data);
	else
		buf_reset(&p->data);
	if (p->cap_tokens > IMAP_PARSER_KEEP_TOKENS) {
		xfree(&p->tokens);
		p->cap_tokens = 0;
	}
	if (p->cap_args > IMAP_PARSER_KEEP_TOKENS) {
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
imap_parser_args_free(struct imap_parser *p)
{
	buf_clear(&p->tag);
	buf_clear(&p->name);
	buf_clear(&p->data);
	xfree(&p->tokens);
	xfree(&p->open);
	xfree(&p->args);
}
