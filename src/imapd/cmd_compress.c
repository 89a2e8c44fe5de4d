/* cmd_compress.c — COMPRESS DEFLATE (RFC 4978), after login only (a
   compression oracle before authentication buys an attacker more than it
   saves). The tagged OK is the last uncompressed octet; the parser is at
   a command boundary, so nothing of the compressed stream was parsed. */
#include <strings.h>

#include "imap/imap_parser.h"
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/conn.h"
#include "lib/log.h"

void
imapd_cmd_compress(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_session_private *p = s->priv;
	bool changed;

	if (n != 1 || args[0].type != IMAP_ARG_ATOM) {
		imapd_command_bad(s, "Invalid COMPRESS arguments.");
		return;
	}
	if (strcasecmp(args[0].str, "DEFLATE") != 0) {
		imapd_command_done(s, 0, "NO Unknown compression mechanism.");
		return;
	}
	if (p->compress) {
		imapd_command_done(s, 0, "NO [COMPRESSIONACTIVE] Compression "
		    "already active.");
		return;
	}
	/* The OK must be written now, before the switch: a pending change
	   of the selected mailbox would make imapd_command_done wait for a
	   sync job, and the OK (with the updates) would go out compressed
	   to a client that reads it in plaintext. The updates come with
	   the next command instead (RFC 9051 §5.2 allows any later point). */
	changed = p->changed;
	p->changed = false;
	imapd_command_done(s, 0, "OK DEFLATE active");
	p->changed = changed;
	if (imapd_session_is_gone(s))
		return;
	/* Still inside the handler: the loop reads nothing until we
	   return, so the switch lands between the OK and the next command. */
	if (conn_compress_start(s->conn) == -1) {
		imapd_session_close(s, "* BYE Compression failed.");
		return;
	}
	p->compress = true;
	imap_parser_free(&s->parser);
	p->parser_partial = false;
	log_debug(IMAPD_LOG_PREFIX " event=compress", s->id);
}
