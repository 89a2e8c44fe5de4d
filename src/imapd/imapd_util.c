/* imapd_util.c — small helpers the command files share: mailbox
   arguments, the tagged answers for store failures (RFC 5530 codes,
   Dovecot's wording), CONDSTORE enabling and MAILBOXID (RFC 8474). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "imap/imap_write.h"
#include "imapd/imapd_private.h"
#include "lib/log.h"
#include "store/store.h"

char *
imapd_mailbox_arg(struct imapd_session *s, const struct imap_arg *arg)
{
	const char *error = NULL;
	char *name;

	if (!imap_arg_is_astring(arg)) {
		imapd_command_bad(s, "Invalid mailbox name.");
		return NULL;
	}
	name = imap_write_mailbox_from_client(arg->str, arg->len, s->utf8,
	    &error);
	if (name == NULL)
		imapd_command_done(s, 0, "NO %s", error != NULL ? error :
		    "Invalid mailbox name.");
	return name;
}

void
imapd_command_store_error(struct imapd_session *s, int status,
    const char *store_error)
{
	switch (status) {
	case STORE_NOT_FOUND:
		imapd_command_done(s, 0, "NO [NONEXISTENT] Mailbox doesn't "
		    "exist.");
		break;
	case STORE_EXISTS:
		imapd_command_done(s, 0, "NO [ALREADYEXISTS] Mailbox already "
		    "exists.");
		break;
	case STORE_INVALID:
		imapd_command_done(s, 0, "NO [CANNOT] Invalid mailbox name.");
		break;
	case STORE_OVER_QUOTA:
	case STORE_TOO_BIG:
		imapd_command_done(s, 0, "NO [OVERQUOTA] Quota exceeded.");
		break;
	case STORE_NOT_ALLOWED:
		imapd_command_done(s, 0, "NO [CANNOT] Operation not allowed.");
		break;
	case STORE_OK:
		imapd_command_done(s, 0, "OK Completed.");
		break;
	default:
		/* The world is wrong (STYLE.md §6): logged, temporary. */
		log_warn(IMAPD_LOG_PREFIX " event=store_error status=%d "
		    "error=\"%s\"", s->id, status, store_error != NULL ?
		    store_error : "unknown");
		imapd_command_done(s, 0, "NO [SERVERBUG] Internal error "
		    "occurred. Refer to server log for more information.");
		break;
	}
}

void
imapd_condstore_enable(struct imapd_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	/* RFC 7162 §3.1: a client that enables CONDSTORE while a mailbox
	   is selected learns its HIGHESTMODSEQ (SELECT told it otherwise). */
	if (s->state == IMAPD_STATE_SELECTED && s->sel != NULL)
		imapd_reply(s, "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest",
		    s->sel->highestmodseq);
}

void
imapd_mailboxid(char out[IMAPD_MAILBOXID_SIZE], int64_t mailbox_id,
    uint32_t uidvalidity)
{
	/* The store's id alone could be reused by a later mailbox (a
	   rowid); with UIDVALIDITY, a new mailbox under a reused id is
	   a new object, as a client that caches by MAILBOXID expects. */
	snprintf(out, IMAPD_MAILBOXID_SIZE, "M%016" PRIx64 "%08" PRIx32,
	    (uint64_t)mailbox_id, uidvalidity);
}
