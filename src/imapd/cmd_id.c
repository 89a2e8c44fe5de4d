/* cmd_id.c — ID (RFC 2971): the client's list is validated (nil or
   pairs of strings, at most 30 pairs, §3.3) and logged; the answer names
   petrel. */
#include <string.h>

#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/log.h"

#define IMAPD_ID_MAX_PAIRS 30

void
imapd_cmd_id(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	struct buf logline;
	char esc[LOG_STR_MAX];

	if (n != 1 || (args[0].type != IMAP_ARG_NIL &&
	    args[0].type != IMAP_ARG_LIST)) {
		imapd_command_bad(s, "Invalid ID parameters.");
		return;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = args[0].list;
		size_t k = args[0].n_list;

		if (k % 2 != 0 || k / 2 > IMAPD_ID_MAX_PAIRS) {
			imapd_command_bad(s, "Invalid ID parameters.");
			return;
		}
		buf_init(&logline, 512);
		for (size_t i = 0; i < k; i += 2) {
			if (!imap_arg_is_string(&l[i]) ||
			    !imap_arg_is_nstring(&l[i + 1])) {
				buf_clear(&logline);
				imapd_command_bad(s, "Invalid ID parameters.");
				return;
			}
			if (l[i + 1].type == IMAP_ARG_NIL)
				continue;
			(void)buf_printf(&logline, " %s=",
			    log_str(esc, 32, l[i].str, l[i].len));
			(void)buf_append_str(&logline, log_str(esc, 64,
			    l[i + 1].str, l[i + 1].len));
		}
		log_info(IMAPD_LOG_PREFIX " event=id%s", s->id,
		    logline.data != NULL ? logline.data : "");
		buf_clear(&logline);
	}
	imapd_reply(s, "* ID (\"name\" \"petrel\")");
	imapd_command_done(s, 0, "OK ID completed.");
}
