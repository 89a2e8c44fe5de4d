/* imap_testlib.h — what tests of IMAP syntax (here and in src/imapd)
   share: a command parsed from text, and arguments rendered as text.
   Test support only: the daemon never calls it, and it uses nothing that
   only a test links (no lib/test.h), so it may live in the library. */
#ifndef PETREL_IMAP_TESTLIB_H
#define PETREL_IMAP_TESTLIB_H

#include <stddef.h>

#include "imap/imap_arg.h"

struct buf;
struct imap_parser;

/* Parses one whole command from line[0..len) ("a X args\r\n"), every
   literal accepted, with wide limits. Returns the parser (free it with
   imap_parser_free; the command lives as long) and the command in
   *cmd_r, or panics when the text is not exactly one command. */
struct imap_parser *imap_testlib_parse(const char *line, size_t len,
    const struct imap_command **cmd_r);

/* Appends args as text: atoms as they are, NIL as NIL<text>, quoted as
   "text" (unescaped), literals as {n}text or ~{n}text with NUL as \0,
   lists in parentheses. */
void imap_testlib_render(struct buf *out, const struct imap_arg *args,
    size_t n);
#endif
