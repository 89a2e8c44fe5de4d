/* pop3d_command.c — the POP3 command parser (see pop3d_command.h). A table
   gives each keyword its argument shape; the parser checks the shape, the
   numbers (strict decimal, message numbers from 1) and the bytes (no
   control characters, except that a password may hold any octet but
   NUL). Arguments are separated by one or more spaces; RFC 1939 §3 says
   one, and tolerating more costs nothing. */
#include "pop3d/pop3d_command.h"

#include <string.h>
#include <strings.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

enum pop3d_shape {
	POP3D_SHAPE_NONE,	/* no argument */
	POP3D_SHAPE_REST,	/* the rest of the line, non-empty */
	POP3D_SHAPE_MSG,	/* a message number */
	POP3D_SHAPE_OPT_MSG,	/* an optional message number */
	POP3D_SHAPE_MSG_LINES,	/* TOP: message number, line count */
	POP3D_SHAPE_AUTH,	/* [mechanism [initial-response]] */
};

static const struct {
	const char *name;
	enum pop3d_shape shape;
} pop3d_verbs[POP3D_VERB_COUNT] = {
	[POP3D_VERB_USER] = { "USER", POP3D_SHAPE_REST },
	[POP3D_VERB_PASS] = { "PASS", POP3D_SHAPE_REST },
	[POP3D_VERB_AUTH] = { "AUTH", POP3D_SHAPE_AUTH },
	[POP3D_VERB_STLS] = { "STLS", POP3D_SHAPE_NONE },
	[POP3D_VERB_CAPA] = { "CAPA", POP3D_SHAPE_NONE },
	[POP3D_VERB_QUIT] = { "QUIT", POP3D_SHAPE_NONE },
	[POP3D_VERB_STAT] = { "STAT", POP3D_SHAPE_NONE },
	[POP3D_VERB_LIST] = { "LIST", POP3D_SHAPE_OPT_MSG },
	[POP3D_VERB_RETR] = { "RETR", POP3D_SHAPE_MSG },
	[POP3D_VERB_DELE] = { "DELE", POP3D_SHAPE_MSG },
	[POP3D_VERB_NOOP] = { "NOOP", POP3D_SHAPE_NONE },
	[POP3D_VERB_RSET] = { "RSET", POP3D_SHAPE_NONE },
	[POP3D_VERB_TOP] = { "TOP", POP3D_SHAPE_MSG_LINES },
	[POP3D_VERB_UIDL] = { "UIDL", POP3D_SHAPE_OPT_MSG },
};

const char *
pop3d_verb_name(enum pop3d_verb verb)
{
	if ((unsigned)verb >= POP3D_VERB_COUNT)
		return "?";
	return pop3d_verbs[verb].name;
}

void
pop3d_command_clear(struct pop3d_command *cmd)
{
	if (cmd->arg != NULL) {
		explicit_bzero(cmd->arg, cmd->arg_len);
		free(cmd->arg);
	}
	free(cmd->initial);
	memset(cmd, 0, sizeof(*cmd));
}

/* The next space-separated word of [*p, end): its start and length, with
   *p moved past it and the spaces after it. */
static bool
pop3d_command_word(const char **p, const char *end, const char **word_r,
    size_t *len_r)
{
	const char *s = *p, *e;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	e = memchr(s, ' ', (size_t)(end - s));
	if (e == NULL)
		e = end;
	*word_r = s;
	*len_r = (size_t)(e - s);
	while (e < end && *e == ' ')
		e++;
	*p = e;
	return true;
}

/* A message number: digits, 1 to UINT32_MAX (RFC 1939 §3: message
   numbers start at 1; 0 and junk are refused alike). */
static int
pop3d_command_msg(const char *s, size_t len, uint32_t *msg_r)
{
	if (str_to_u32_n(s, len, msg_r) == -1 || *msg_r == 0)
		return -1;
	return 0;
}

/* RFC 4422 §3.1 mechanism name: 1-20 of A-Z, 0-9, '-', '_' (any case
   here; upper-cased by the caller). */
static bool
pop3d_command_is_mech(const char *s, size_t len)
{
	if (len == 0 || len > POP3D_MECH_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int
pop3d_command_args(const char *p, const char *end,
    enum pop3d_shape shape, struct pop3d_command *cmd, const char **error_r)
{
	const char *w1, *w2, *w3;
	size_t l1, l2, l3;
	bool has1, has2, has3;

	if (shape == POP3D_SHAPE_REST) {
		/* USER and PASS keep their argument as sent: a password may
		   begin or end with a space (RFC 1939 §7). */
		if (p == end) {
			*error_r = "-ERR Missing argument.";
			return -1;
		}
		cmd->arg = xstrndup(p, (size_t)(end - p));
		cmd->arg_len = (size_t)(end - p);
		return 0;
	}
	has1 = pop3d_command_word(&p, end, &w1, &l1);
	has2 = has1 && pop3d_command_word(&p, end, &w2, &l2);
	has3 = has2 && pop3d_command_word(&p, end, &w3, &l3);
	(void)w3;
	(void)l3;
	switch (shape) {
	case POP3D_SHAPE_NONE:
		if (has1)
			goto too_many;
		return 0;
	case POP3D_SHAPE_OPT_MSG:
	case POP3D_SHAPE_MSG:
		if (!has1 && shape == POP3D_SHAPE_OPT_MSG)
			return 0;
		if (!has1)
			goto missing;
		if (has2)
			goto too_many;
		if (pop3d_command_msg(w1, l1, &cmd->msg) == -1)
			goto bad_msg;
		cmd->has_msg = true;
		return 0;
	case POP3D_SHAPE_MSG_LINES:
		if (!has2)
			goto missing;
		if (has3)
			goto too_many;
		if (pop3d_command_msg(w1, l1, &cmd->msg) == -1)
			goto bad_msg;
		cmd->has_msg = true;
		if (str_to_u32_n(w2, l2, &cmd->lines) == -1) {
			*error_r = "-ERR Invalid number of lines.";
			return -1;
		}
		return 0;
	case POP3D_SHAPE_AUTH:
		if (!has1)
			return 0;	/* the mechanism list */
		if (has3)
			goto too_many;
		if (!pop3d_command_is_mech(w1, l1)) {
			*error_r = "-ERR Invalid mechanism name.";
			return -1;
		}
		cmd->arg = xstrndup(w1, l1);
		cmd->arg_len = l1;
		for (char *c = cmd->arg; *c != '\0'; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		if (has2)
			cmd->initial = xstrndup(w2, l2);
		return 0;
	case POP3D_SHAPE_REST:
		break;
	}
	panic("pop3d_command_args: shape %d", (int)shape);
missing:
	*error_r = "-ERR Missing argument.";
	return -1;
too_many:
	*error_r = "-ERR Too many arguments.";
	return -1;
bad_msg:
	*error_r = "-ERR Invalid message number.";
	return -1;
}

int
pop3d_command_parse(const char *line, size_t len, struct pop3d_command *cmd,
    const char **error_r)
{
	const char *sp, *end = line + len;
	size_t klen;
	int verb = -1;

	memset(cmd, 0, sizeof(*cmd));
	sp = memchr(line, ' ', len);
	klen = sp != NULL ? (size_t)(sp - line) : len;
	for (int i = 0; i < POP3D_VERB_COUNT; i++) {
		if (strlen(pop3d_verbs[i].name) == klen &&
		    strncasecmp(line, pop3d_verbs[i].name, klen) == 0) {
			verb = i;
			break;
		}
	}
	if (verb == -1) {
		*error_r = "-ERR Unknown command.";
		return -1;
	}
	cmd->verb = (enum pop3d_verb)verb;
	/* RFC 2449 §4; AUTH lines may be longer (RFC 5034 §4), up to what
	   the session reads at all. */
	if (len + 2 > (cmd->verb == POP3D_VERB_AUTH ? POP3D_LINE_MAX :
	    POP3D_COMMAND_MAX)) {
		*error_r = "-ERR Line too long.";
		goto fail;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		/* A password is any octets but NUL (RFC 4616's rule, which
		   PASS has no reason to be stricter than); every other line
		   is text. */
		if (c == '\0' || (cmd->verb != POP3D_VERB_PASS &&
		    (c < 0x20 || c == 0x7f))) {
			*error_r = "-ERR Invalid characters in the command.";
			goto fail;
		}
	}
	if (pop3d_command_args(sp != NULL ? sp + 1 : end, end,
	    pop3d_verbs[cmd->verb].shape, cmd, error_r) == -1)
		goto fail;
	return 0;
fail:
	pop3d_command_clear(cmd);
	return -1;
}
