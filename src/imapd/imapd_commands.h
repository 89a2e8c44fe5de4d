/* imapd_commands.h — the command handlers, one file each (cmd_*.c). The
   session calls a handler on the I/O thread once the command's state is
   allowed (imapd_commands.c's table) with the arguments after the name
   (after "UID FETCH", s->uid set, for the UID forms). args stay valid
   until the handler's imapd_command_done: the parser is not fed while a
   command runs. Each handler ends the command exactly once. */
#ifndef PETREL_IMAPD_COMMANDS_H
#define PETREL_IMAPD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

struct imap_arg;
struct imapd_session;

typedef void imapd_cmd_fn(struct imapd_session *s, const struct imap_arg *args,
    size_t n);

/* Any state (cmd_any.c, cmd_id.c, cmd_enable.c). */
imapd_cmd_fn imapd_cmd_capability, imapd_cmd_noop, imapd_cmd_logout,
    imapd_cmd_id, imapd_cmd_enable, imapd_cmd_compress;
/* Not authenticated (cmd_starttls.c, cmd_login.c, cmd_authenticate.c). */
imapd_cmd_fn imapd_cmd_starttls, imapd_cmd_login, imapd_cmd_authenticate;
/* Authenticated: mailboxes (cmd_select.c, cmd_create.c, cmd_delete.c,
   cmd_rename.c, cmd_subscribe.c, cmd_list.c, cmd_status.c,
   cmd_namespace.c, cmd_append.c, cmd_quota.c, cmd_idle.c). */
imapd_cmd_fn imapd_cmd_select, imapd_cmd_examine, imapd_cmd_create,
    imapd_cmd_delete, imapd_cmd_rename, imapd_cmd_subscribe,
    imapd_cmd_unsubscribe, imapd_cmd_list, imapd_cmd_lsub, imapd_cmd_status,
    imapd_cmd_namespace, imapd_cmd_append, imapd_cmd_getquota,
    imapd_cmd_getquotaroot, imapd_cmd_setquota, imapd_cmd_idle;
/* Selected (cmd_close.c, cmd_expunge.c, cmd_store.c, cmd_copy.c,
   cmd_fetch.c, cmd_search.c, cmd_sort.c, cmd_thread.c). COPY and MOVE
   share cmd_copy.c; SEARCH's ESEARCH answer is cmd_search.c's. */
imapd_cmd_fn imapd_cmd_check, imapd_cmd_close, imapd_cmd_unselect,
    imapd_cmd_expunge, imapd_cmd_store, imapd_cmd_copy, imapd_cmd_move,
    imapd_cmd_fetch, imapd_cmd_search, imapd_cmd_sort, imapd_cmd_thread;

/* The command table (imapd_commands.c). */
enum imapd_cmd_states {
	IMAPD_CMD_NOT_AUTH = 1 << 0,
	IMAPD_CMD_AUTH = 1 << 1,
	IMAPD_CMD_SELECTED = 1 << 2,
	IMAPD_CMD_ANY = IMAPD_CMD_NOT_AUTH | IMAPD_CMD_AUTH |
	    IMAPD_CMD_SELECTED,
	IMAPD_CMD_LOGGED_IN = IMAPD_CMD_AUTH | IMAPD_CMD_SELECTED,
};

struct imapd_cmd {
	const char *name;
	imapd_cmd_fn *fn;
	unsigned states;	/* enum imapd_cmd_states bits */
	bool uid;		/* "UID <name>" exists */
};

/* The command called name (ASCII case-insensitive), or NULL. */
const struct imapd_cmd *imapd_commands_find(const char *name);
#endif
