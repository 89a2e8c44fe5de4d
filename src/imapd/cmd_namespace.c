/* cmd_namespace.c — NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal
   namespace with the empty prefix and "/" as separator, no others. */
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"

void
imapd_cmd_namespace(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "NAMESPACE takes no arguments.");
		return;
	}
	imapd_reply(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	imapd_command_done(s, 0, "OK Namespace completed.");
}
