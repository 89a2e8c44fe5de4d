/* cmd_quota.c — placeholder until its owner writes it this session. */
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"

void
imapd_cmd_getquota(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	(void)args;
	(void)n;
	imapd_command_done(s, 0, "NO [UNAVAILABLE] GETQUOTA is not available yet.");
}

void
imapd_cmd_getquotaroot(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	(void)args;
	(void)n;
	imapd_command_done(s, 0, "NO [UNAVAILABLE] GETQUOTAROOT is not available yet.");
}

void
imapd_cmd_setquota(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	(void)args;
	(void)n;
	imapd_command_done(s, 0, "NO [UNAVAILABLE] SETQUOTA is not available yet.");
}
