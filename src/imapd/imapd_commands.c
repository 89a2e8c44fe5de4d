/* imapd_commands.c — the command table (STYLE.md §8): each command's
   handler, the states it is allowed in (RFC 9051 §6) and whether a UID
   form exists (§6.4.9: COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE; SORT
   and THREAD, RFC 5256). */
#include "imapd/imapd_commands.h"

#include <strings.h>

static const struct imapd_cmd imapd_cmds[] = {
	{ "CAPABILITY", imapd_cmd_capability, IMAPD_CMD_ANY, false },
	{ "NOOP", imapd_cmd_noop, IMAPD_CMD_ANY, false },
	{ "LOGOUT", imapd_cmd_logout, IMAPD_CMD_ANY, false },
	{ "ID", imapd_cmd_id, IMAPD_CMD_ANY, false },
	{ "ENABLE", imapd_cmd_enable, IMAPD_CMD_LOGGED_IN, false },
	{ "STARTTLS", imapd_cmd_starttls, IMAPD_CMD_NOT_AUTH, false },
	{ "LOGIN", imapd_cmd_login, IMAPD_CMD_NOT_AUTH, false },
	{ "AUTHENTICATE", imapd_cmd_authenticate, IMAPD_CMD_NOT_AUTH, false },
	{ "COMPRESS", imapd_cmd_compress, IMAPD_CMD_LOGGED_IN, false },
	{ "SELECT", imapd_cmd_select, IMAPD_CMD_LOGGED_IN, false },
	{ "EXAMINE", imapd_cmd_examine, IMAPD_CMD_LOGGED_IN, false },
	{ "CREATE", imapd_cmd_create, IMAPD_CMD_LOGGED_IN, false },
	{ "DELETE", imapd_cmd_delete, IMAPD_CMD_LOGGED_IN, false },
	{ "RENAME", imapd_cmd_rename, IMAPD_CMD_LOGGED_IN, false },
	{ "SUBSCRIBE", imapd_cmd_subscribe, IMAPD_CMD_LOGGED_IN, false },
	{ "UNSUBSCRIBE", imapd_cmd_unsubscribe, IMAPD_CMD_LOGGED_IN, false },
	{ "LIST", imapd_cmd_list, IMAPD_CMD_LOGGED_IN, false },
	{ "LSUB", imapd_cmd_lsub, IMAPD_CMD_LOGGED_IN, false },
	{ "STATUS", imapd_cmd_status, IMAPD_CMD_LOGGED_IN, false },
	{ "NAMESPACE", imapd_cmd_namespace, IMAPD_CMD_LOGGED_IN, false },
	{ "APPEND", imapd_cmd_append, IMAPD_CMD_LOGGED_IN, false },
	{ "GETQUOTA", imapd_cmd_getquota, IMAPD_CMD_LOGGED_IN, false },
	{ "GETQUOTAROOT", imapd_cmd_getquotaroot, IMAPD_CMD_LOGGED_IN, false },
	{ "SETQUOTA", imapd_cmd_setquota, IMAPD_CMD_LOGGED_IN, false },
	{ "IDLE", imapd_cmd_idle, IMAPD_CMD_LOGGED_IN, false },
	{ "CHECK", imapd_cmd_check, IMAPD_CMD_SELECTED, false },
	{ "CLOSE", imapd_cmd_close, IMAPD_CMD_SELECTED, false },
	{ "UNSELECT", imapd_cmd_unselect, IMAPD_CMD_SELECTED, false },
	{ "EXPUNGE", imapd_cmd_expunge, IMAPD_CMD_SELECTED, true },
	{ "STORE", imapd_cmd_store, IMAPD_CMD_SELECTED, true },
	{ "COPY", imapd_cmd_copy, IMAPD_CMD_SELECTED, true },
	{ "MOVE", imapd_cmd_move, IMAPD_CMD_SELECTED, true },
	{ "FETCH", imapd_cmd_fetch, IMAPD_CMD_SELECTED, true },
	{ "SEARCH", imapd_cmd_search, IMAPD_CMD_SELECTED, true },
	{ "SORT", imapd_cmd_sort, IMAPD_CMD_SELECTED, true },
	{ "THREAD", imapd_cmd_thread, IMAPD_CMD_SELECTED, true },
};

const struct imapd_cmd *
imapd_commands_find(const char *name)
{
	for (size_t i = 0; i < sizeof(imapd_cmds) / sizeof(imapd_cmds[0]);
	    i++)
		if (strcasecmp(imapd_cmds[i].name, name) == 0)
			return &imapd_cmds[i];
	return NULL;
}
