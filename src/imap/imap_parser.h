/* imap_parser.h — incremental IMAP command parser (RFC 9051 §2.2, §4,
   §9; LITERAL+/LITERAL- RFC 7888; literal8 RFC 3516). Pure: it never
   writes to the client; it tells the session what happened and the
   session answers.

   The session feeds what the connection has buffered; the parser takes
   octets up to the end of one command and no further (*used_r), so the
   session may read raw lines after a command (AUTHENTICATE responses,
   IDLE's DONE) from the same buffer.

   Every literal is announced before its octets are taken
   (IMAP_PARSE_LITERAL): the session checks its size against what the
   command and the login state allow, and accepts it (writing "+ ..." for
   a synchronizing one) or refuses it. A refused synchronizing literal
   ends the command (the client sends nothing more of it); a refused
   non-synchronizing one, like any error inside a command, makes the
   parser skip the rest of that command — its line, and the octets of any
   non-synchronizing literal announced on the skipped lines — so nothing
   a client sent as data is ever read as a command. */
#ifndef PETREL_IMAP_PARSER_H
#define PETREL_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"

struct imap_parser;

struct imap_parser_limits {
	size_t max_line;	/* octets of command text between literals,
				   CRLF excluded (Dovecot: 64 KiB) */
	uint64_t max_size;	/* octets one command may hold in memory,
				   literals included */
	unsigned max_depth;	/* nested lists and brackets; e.g. 64 */
	unsigned max_args;	/* arguments in the whole tree; e.g. 100000 */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,	/* every octet given was taken; feed more */
	IMAP_PARSE_COMMAND,	/* a command is complete: imap_parser_command */
	IMAP_PARSE_LITERAL,	/* a literal was announced: see
				   imap_parser_literal, then accept or refuse
				   before the next feed */
	IMAP_PARSE_ERROR,	/* imap_parser_error: answer BAD; the parser
				   skips the rest of the command itself. A
				   literal over max_size is this error
				   ("[TOOBIG] ...") and never announced */
};

/* limits are copied. Never returns NULL. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);
/* Replaces the limits (e.g. wider after login); they apply from the next
   octet fed. */
void imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *limits);

/* Takes octets of data[0..len) and sets *used_r to how many. After
   IMAP_PARSE_COMMAND the command stays valid until the next feed or
   reset. An empty line is skipped (RFC 9051 has none; Dovecot ignores
   it). After IMAP_PARSE_ERROR, *used_r may stop short of the offending
   octet (even at 0): the parser skips it itself on the next feed. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
    const char *data, size_t len, size_t *used_r);

const struct imap_command *imap_parser_command(const struct imap_parser *p);

/* After IMAP_PARSE_LITERAL: the literal's size, whether the client waits
   for "+" (sync) and whether it is a literal8 (~{n}); plus the tag and
   command name read so far (never NULL: a literal in place of the name,
   "a {5}", is an IMAP_PARSE_ERROR, as no command takes one) and how
   many top-level arguments precede it (APPEND: the message literal
   follows the mailbox and optional flags and date). Also valid after the
   "[TOOBIG]" IMAP_PARSE_ERROR of a literal over max_size (until the next
   feed), so the session can answer APPEND's NO [TOOBIG]. */
struct imap_parser_literal {
	uint64_t size;
	bool sync;
	bool binary;
	const char *tag;
	const char *name;
	size_t n_args;
};
void imap_parser_literal(const struct imap_parser *p,
    struct imap_parser_literal *lit_r);
/* Takes the literal's octets as part of the command. */
void imap_parser_literal_accept(struct imap_parser *p);
/* Does not take them: a synchronizing literal ends the command now; a
   non-synchronizing one is skipped with the rest of its command. */
void imap_parser_literal_refuse(struct imap_parser *p);

/* After IMAP_PARSE_ERROR: the tag ("*" when the line had none usable)
   and a short text for "<tag> BAD <text>". Valid until the next feed. */
const char *imap_parser_error_tag(const struct imap_parser *p);
const char *imap_parser_error(const struct imap_parser *p);
/* Whether the parser is skipping the rest of a bad command. */
bool imap_parser_is_skipping(const struct imap_parser *p);
/* While skipping: the octets of announced non-synchronizing literal data
   still to be skipped (UINT64_MAX for a size past 2^64). A session may
   rather close the connection after its BAD than read gigabytes a
   client announced with "{4294967295+}" (Dovecot does). */
uint64_t imap_parser_skip_left(const struct imap_parser *p);

/* Forgets any partial command (STARTTLS, COMPRESS: no plaintext may be
   carried across). */
void imap_parser_reset(struct imap_parser *p);
#endif
