/* smtp_command.h — the SMTP command line parser shared by the server, the
   (later) client side tests and the fuzzers. Pure: no I/O, no globals.
   RFC 5321 §4.1 (commands), §4.1.2 (paths), RFC 1870 SIZE, RFC 6152
   BODY=8BITMIME, RFC 3030 BODY=BINARYMIME and BDAT, RFC 6531 SMTPUTF8,
   RFC 3461 DSN parameters (RET, ENVID, NOTIFY, ORCPT), RFC 4954 AUTH=.

   Input is one line without its CRLF, as (ptr, len): it may contain NUL
   (refused: never truncated) or 8-bit bytes (allowed in paths only as
   UTF-8, and the session decides whether SMTPUTF8 was given; also in
   ORCPT=utf-8; values; kept raw in the free-text arguments of HELO/EHLO
   and VRFY/EXPN, which refuse control bytes, and of HELP and NOOP, which
   take anything; refused elsewhere). */
#ifndef PETREL_SMTP_COMMAND_H
#define PETREL_SMTP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO, SMTP_VERB_EHLO, SMTP_VERB_MAIL, SMTP_VERB_RCPT,
	SMTP_VERB_DATA, SMTP_VERB_BDAT, SMTP_VERB_RSET, SMTP_VERB_NOOP,
	SMTP_VERB_QUIT, SMTP_VERB_VRFY, SMTP_VERB_EXPN, SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS, SMTP_VERB_AUTH,
};

enum smtp_body { SMTP_BODY_UNSET, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_UNSET, SMTP_RET_FULL, SMTP_RET_HDRS };

/* NOTIFY bits, same values as enum queue_notify. */
#define SMTP_NOTIFY_NEVER	(1u << 0)
#define SMTP_NOTIFY_SUCCESS	(1u << 1)
#define SMTP_NOTIFY_FAILURE	(1u << 2)
#define SMTP_NOTIFY_DELAY	(1u << 3)

struct smtp_command {
	enum smtp_verb verb;
	/* HELO/EHLO: the domain or address literal. VRFY/EXPN/HELP/AUTH: the
	   raw argument text. NUL-terminated copy, or NULL. */
	char *arg;
	/* MAIL/RCPT: the path without <>, "" for the null reverse-path
	   (MAIL only) or the special "postmaster" RCPT; source routes
	   ("@a,@b:") are refused, never stripped silently. Otherwise the
	   mailbox exactly as given, already checked with address_parse
	   (mail/address.h), which gives its decoded parts. */
	char *path;
	bool path_is_utf8;	/* any byte >= 0x80 in path */
	/* MAIL parameters. */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	char *envid;		/* xtext-decoded */
	char *auth;		/* AUTH=<mailbox> (RFC 4954 §5), raw */
	bool requiretls;
	/* RCPT parameters. */
	unsigned notify;	/* SMTP_NOTIFY_* bits; 0 if absent */
	char *orcpt;		/* "rfc822;addr", xtext-decoded */
	/* BDAT. */
	uint64_t chunk_size;
	bool last;
};

/* Parses one command line. Returns 0 with *cmd filled, or -1 with *reply_r
   set to a complete static SMTP reply ("501 5.5.4 Syntax: MAIL FROM:<address>",
   "500 5.5.2 Unrecognized command", "555 5.5.4 Unsupported parameter",
   "501 5.5.2 NUL byte in command"...). Numbers over UINT64_MAX are a
   syntax error, never wrapped; the session compares sizes with its limits.
   cmd is cleared first and must be freed
   with smtp_command_clear even after -1. */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    const char **reply_r);
void smtp_command_clear(struct smtp_command *cmd);
const char *smtp_verb_name(enum smtp_verb verb);
#endif
