/* imap_parser_private.h — the parser's state, shared by its files:
   imap_parser.c (the state machine and the API), imap_parser_args.c (the
   token list and the imap_arg tree built from it) and imap_parser_skip.c
   (skipping the rest of a bad command). Not for use outside them. */
#ifndef PETREL_IMAP_PARSER_PRIVATE_H
#define PETREL_IMAP_PARSER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "lib/buf.h"

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

/* The tail matcher of a line: "{" digits ["+"|"-"] "}" [CR] LF. */
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

/* Appends one octet. Cannot fail: the buffers have no maximum of their
   own; max_line and max_size bound what goes in. */
static inline void
imap_parser_append(struct buf *b, unsigned char c)
{
	(void)buf_append(b, &c, 1);
}

/* --- imap_parser_args.c ------------------------------------------------ */

/* Adds an argument (or, close, the ')' of the innermost list) to the
   token list. -1 when it would be more than max_args. */
int imap_parser_args_push(struct imap_parser *p, enum imap_arg_type type,
    bool close, size_t off, size_t len);
/* Opens a list (the caller checked max_depth). -1 past max_args. */
int imap_parser_args_open(struct imap_parser *p);
/* Closes the innermost list (the caller checked there is one). */
void imap_parser_args_close(struct imap_parser *p);
/* Ends the atom or string begun at tok_off; an atom "NIL" in any case
   becomes IMAP_ARG_NIL. -1 past max_args. */
int imap_parser_args_end_string(struct imap_parser *p,
    enum imap_arg_type type);
/* Builds p->cmd from the tokens of a complete command. */
void imap_parser_args_build(struct imap_parser *p);
/* Forgets the command (tag, name, arguments, counts); large buffers are
   freed so an idle connection holds little. */
void imap_parser_args_clear(struct imap_parser *p);
/* Frees every buffer (imap_parser_free). */
void imap_parser_args_free(struct imap_parser *p);

/* --- imap_parser_skip.c ------------------------------------------------ */

/* Follows the line's tail with octet c (not LF). */
void imap_parser_skip_tail(struct imap_parser *p, unsigned char c);
/* A new line: no tail yet. */
void imap_parser_skip_reset(struct imap_parser *p);
/* One octet while skipping (PS_SKIP, no literal octets pending). */
enum parser_step imap_parser_skip_octet(struct imap_parser *p,
    unsigned char c);
#endif
