/* pop3d_command.h — one POP3 command line (RFC 1939 §3, RFC 2449 §3,
   RFC 5034 §4): the keyword and its arguments, checked against the
   command's syntax. Pure: no session, no I/O, shared by the session, its
   unit tests and the fuzzer. Whether a command is allowed in the
   session's state is the session's business. */
#ifndef PETREL_POP3D_COMMAND_H
#define PETREL_POP3D_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth_sasl.h"

/* RFC 2449 §4: a command line is at most 255 octets with its CRLF. */
#define POP3D_COMMAND_MAX 255
/* AUTH with an initial response, and the SASL response lines after
   "+ ", may be longer (RFC 5034 §4 lifts the limit for them): a PLAIN
   response at its longest, plus "AUTH PLAIN " and CRLF. The session reads
   lines up to this and refuses longer ones. */
#define POP3D_LINE_MAX (AUTH_SASL_PLAIN_B64_MAX + 32)
/* RFC 4422 §3.1: mechanism names are 1-20 characters. */
#define POP3D_MECH_MAX 20

enum pop3d_verb {
	POP3D_VERB_USER,
	POP3D_VERB_PASS,
	POP3D_VERB_AUTH,
	POP3D_VERB_STLS,
	POP3D_VERB_CAPA,
	POP3D_VERB_QUIT,
	POP3D_VERB_STAT,
	POP3D_VERB_LIST,
	POP3D_VERB_RETR,
	POP3D_VERB_DELE,
	POP3D_VERB_NOOP,
	POP3D_VERB_RSET,
	POP3D_VERB_TOP,
	POP3D_VERB_UIDL,
	POP3D_VERB_COUNT
};

struct pop3d_command {
	enum pop3d_verb verb;
	bool has_msg;		/* LIST and UIDL: a message number was given */
	uint32_t msg;		/* 1-based: LIST, UIDL, RETR, DELE, TOP */
	uint32_t lines;		/* TOP: body lines */
	/* USER: the name; PASS: the password (the rest of the line, spaces
	   kept, RFC 1939 §7); AUTH: the mechanism, upper-cased, or NULL
	   for a bare AUTH (the mechanism list). Heap. */
	char *arg;
	size_t arg_len;
	char *initial;		/* AUTH: the initial response, or NULL */
};

/* Parses a line (len bytes without its CRLF; any bytes). Returns 0 with
   *cmd filled (free with pop3d_command_clear), or -1 with *error_r the
   complete reply without CRLF ("-ERR Unknown command."), static. Keywords
   match whole, in any case. *cmd is zeroed either way. */
int pop3d_command_parse(const char *line, size_t len,
    struct pop3d_command *cmd, const char **error_r);
/* Wipes (PASS holds a password) and frees; the struct may be reused. */
void pop3d_command_clear(struct pop3d_command *cmd);
/* "USER", ... for logs. */
const char *pop3d_verb_name(enum pop3d_verb verb);
#endif
