/* cmd_enable.c — ENABLE (RFC 5161) of CONDSTORE, QRESYNC (RFC 7162;
   implies CONDSTORE), UTF8=ACCEPT (RFC 6855) and IMAP4rev2 (RFC 9051
   §6.3.1). Unknown extensions are ignored, as the RFC says. */
#include <stdbool.h>
#include <strings.h>

#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"

void
imapd_cmd_enable(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct buf enabled;
	bool condstore = false;

	if (n == 0) {
		imapd_command_bad(s, "ENABLE needs arguments.");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imapd_command_bad(s, "Invalid ENABLE argument.");
			return;
		}
	}
	buf_init(&enabled, 0);
	for (size_t i = 0; i < n; i++) {
		const char *e = args[i].str;

		if (strcasecmp(e, "CONDSTORE") == 0 && !s->condstore &&
		    !condstore) {
			condstore = true;
			(void)buf_append_str(&enabled, " CONDSTORE");
		} else if (strcasecmp(e, "QRESYNC") == 0 && !s->qresync) {
			s->qresync = true;
			condstore = true;
			(void)buf_append_str(&enabled, " QRESYNC");
		} else if (strcasecmp(e, "UTF8=ACCEPT") == 0 && !s->utf8) {
			s->utf8 = true;
			(void)buf_append_str(&enabled, " UTF8=ACCEPT");
		} else if (strcasecmp(e, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = true;
			/* RFC 9051: mailbox names are UTF-8 for rev2. */
			s->utf8 = true;
			(void)buf_append_str(&enabled, " IMAP4rev2");
		}
	}
	imapd_reply(s, "* ENABLED%s", enabled.data != NULL ? enabled.data :
	    "");
	buf_clear(&enabled);
	if (condstore)
		imapd_condstore_enable(s);
	imapd_command_done(s, 0, "OK Enabled.");
}
