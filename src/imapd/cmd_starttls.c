/* cmd_starttls.c — STARTTLS (RFC 9051 §6.2.1): the tagged OK goes out
   in plaintext, then the handshake; the conn drops every plaintext octet
   the client sent after the command (command injection, CVE-2011-0411's
   class) and the parser forgets any partial state. Capabilities may
   change after it, so a client asks again (RFC 9051 §6.2.1). */
#include "imap/imap_parser.h"
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/conn.h"

void
imapd_cmd_starttls(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_session_private *p = s->priv;

	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "STARTTLS takes no arguments.");
		return;
	}
	if (s->conn != NULL && conn_is_tls(s->conn)) {
		imapd_command_bad(s, "TLS is already active.");
		return;
	}
	if (!p->tls_offered) {
		imapd_command_done(s, 0, "NO STARTTLS is not available.");
		return;
	}
	/* Set before the answer: the input loop must not read a byte more
	   in plaintext. */
	p->handshake = true;
	imapd_command_done(s, 0, "OK Begin TLS negotiation now.");
	imap_parser_free(&s->parser);
	p->parser_partial = false;
	if (!imapd_session_is_gone(s))
		conn_starttls(s->conn, p->params.tls);
}
