/* cmd_search.c — placeholder until its owner writes it this session. */
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"

void
imapd_cmd_search(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	(void)args;
	(void)n;
	imapd_command_done(s, 0, "NO [UNAVAILABLE] SEARCH is not available yet.");
}
