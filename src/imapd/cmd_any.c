/* cmd_any.c — CAPABILITY, NOOP and LOGOUT (RFC 9051 §6.1), allowed in
   every state. */
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"

void
imapd_cmd_capability(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct buf caps;

	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "CAPABILITY takes no arguments.");
		return;
	}
	buf_init(&caps, 0);
	imapd_session_capability(s, &caps);
	imapd_reply(s, "* CAPABILITY %s", caps.data);
	buf_clear(&caps);
	imapd_command_done(s, 0, "OK Capability completed.");
}

void
imapd_cmd_noop(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "NOOP takes no arguments.");
		return;
	}
	/* RFC 9051 §6.1.2: the way to poll for updates. */
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK | IMAPD_DONE_SYNC,
	    "OK NOOP completed.");
}

void
imapd_cmd_logout(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "LOGOUT takes no arguments.");
		return;
	}
	imapd_reply(s, "* BYE Logging out");
	/* The tagged OK goes out, then the connection closes. */
	s->state = IMAPD_STATE_LOGOUT;
	imapd_command_done(s, 0, "OK Logout completed.");
}
