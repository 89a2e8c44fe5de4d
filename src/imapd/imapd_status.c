/* imapd_status.c — STATUS attributes and the STATUS line (imapd_status.h).
   The counts are the store's as of the read, not the session's view: for
   the selected mailbox they may run ahead of what the session was told,
   which RFC 9051 §6.3.11 accepts (it only warns that STATUS is not the
   way to learn about the selected mailbox). */
#include "imapd/imapd_status.h"

#include <inttypes.h>

#include "config/config.h"
#include "imap/imap_arg.h"
#include "imap/imap_write.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "store/store.h"

static const struct {
	const char *name;
	unsigned item;
} imapd_status_names[] = {
	{ "MESSAGES", IMAPD_STATUS_MESSAGES },
	{ "RECENT", IMAPD_STATUS_RECENT },
	{ "UIDNEXT", IMAPD_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAPD_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAPD_STATUS_UNSEEN },
	{ "DELETED", IMAPD_STATUS_DELETED },
	{ "SIZE", IMAPD_STATUS_SIZE },
	{ "HIGHESTMODSEQ", IMAPD_STATUS_HIGHESTMODSEQ },
	{ "APPENDLIMIT", IMAPD_STATUS_APPENDLIMIT },
	{ "MAILBOXID", IMAPD_STATUS_MAILBOXID },
};
#define IMAPD_STATUS_N_NAMES \
	(sizeof(imapd_status_names) / sizeof(imapd_status_names[0]))

void
imapd_status_view_init(struct imapd_status_view *view,
    const struct imapd_session *s)
{
	const struct imapd_selected *sel = s->sel;

	view->utf8 = s->utf8;
	view->rev2 = s->rev2;
	view->appendlimit = s->config->limits.max_message_size;
	view->selected_id = 0;
	view->selected_recent = 0;
	if (s->state != IMAPD_STATE_SELECTED || sel == NULL)
		return;
	view->selected_id = sel->mailbox_id;
	view->selected_recent = s->rev2 ? 0 :
	    (uint32_t)imapd_selected_recent_count(sel);
}

int
imapd_status_items(const struct imap_arg *list, size_t n, unsigned *items_r,
    const char **error_r)
{
	unsigned items = 0;

	*items_r = 0;
	if (n == 0) {
		*error_r = "Empty status list";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < IMAPD_STATUS_N_NAMES; k++)
			if (imap_arg_is_atom(&list[i],
			    imapd_status_names[k].name))
				break;
		if (k == IMAPD_STATUS_N_NAMES) {
			*error_r = "Invalid status item";
			return -1;
		}
		items |= imapd_status_names[k].item;
	}
	*items_r = items;
	return 0;
}

int
imapd_status_write(struct buf *out, const struct store_mailbox *mb,
    unsigned items, const struct imapd_status_view *view)
{
	const char *sep = "";
	int ret = 0;

	ret |= buf_append_str(out, "* STATUS ");
	ret |= imap_write_mailbox(out, mb->name, view->utf8);
	ret |= buf_append_str(out, " (");
	for (size_t k = 0; k < IMAPD_STATUS_N_NAMES; k++) {
		unsigned item = imapd_status_names[k].item;
		uint64_t v = 0;

		if ((items & item) == 0)
			continue;
		if (item == IMAPD_STATUS_MAILBOXID) {
			char id[IMAPD_MAILBOXID_SIZE];

			imapd_mailboxid(id, mb->id, mb->uidvalidity);
			ret |= buf_printf(out, "%sMAILBOXID (%s)", sep, id);
			sep = " ";
			continue;
		}
		switch (item) {
		case IMAPD_STATUS_MESSAGES: v = mb->messages; break;
		case IMAPD_STATUS_RECENT:
			/* The selected mailbox: this session's own \Recent
			   (it claimed them, the store's count is past them);
			   any other: what the next SELECT would claim. */
			v = mb->id == view->selected_id ?
			    view->selected_recent : view->rev2 ? 0 : mb->recent;
			break;
		case IMAPD_STATUS_UIDNEXT: v = mb->uidnext; break;
		case IMAPD_STATUS_UIDVALIDITY: v = mb->uidvalidity; break;
		case IMAPD_STATUS_UNSEEN: v = mb->unseen; break;
		case IMAPD_STATUS_DELETED: v = mb->deleted; break;
		case IMAPD_STATUS_SIZE: v = mb->size; break;
		case IMAPD_STATUS_HIGHESTMODSEQ: v = mb->highestmodseq; break;
		case IMAPD_STATUS_APPENDLIMIT: v = view->appendlimit; break;
		default: break;
		}
		ret |= buf_printf(out, "%s%s %" PRIu64, sep,
		    imapd_status_names[k].name, v);
		sep = " ";
	}
	ret |= buf_append_str(out, ")\r\n");
	return ret == 0 ? 0 : -1;
}
