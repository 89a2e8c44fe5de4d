/* cmd_idle.c — IDLE (RFC 2177, RFC 9051 §6.3.13): "+ idling", then
   updates are pushed as the store notifies (imapd_session_notified runs a
   sync at once, no polling) until the client's "DONE". Any other line
   ends IDLE with BAD. The idle timeout stays in force: clients re-IDLE
   within 29 minutes (RFC 2177 §3), and imap_idle_timeout is 30. */
#include <strings.h>

#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"

/* "DONE" and CRLF, with room for a client's stray spaces. */
#define IMAPD_IDLE_LINE_MAX 64

static void
imapd_idle_line(struct imapd_session *s, const char *line, size_t len)
{
	s->priv->idling = false;
	imapd_session_read_line(s, 0, NULL);
	if (line != NULL && len == 4 && strncasecmp(line, "DONE", 4) == 0) {
		imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK,
		    "OK Idle completed.");
		return;
	}
	imapd_command_bad(s, "Expected DONE.");
}

void
imapd_session_idle_synced(struct imapd_session *s)
{
	/* The updates are written; the session goes on reading lines (the
	   job's end resumes input). A change notified while the sync ran
	   may have committed after its read: push again, or it would wait
	   for the next delivery. */
	imapd_session_idle_push(s);
}

void
imapd_cmd_idle(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	(void)args;
	if (n != 0) {
		imapd_command_bad(s, "IDLE takes no arguments.");
		return;
	}
	s->priv->idling = true;
	imapd_reply(s, "+ idling");
	imapd_session_read_line(s, IMAPD_IDLE_LINE_MAX, imapd_idle_line);
	/* What happened before IDLE began is told now. */
	imapd_session_idle_push(s);
}
