/* pop3d_maildrop.c — the INBOX snapshot and the UPDATE state (see
   pop3d_maildrop.h). The snapshot is an array in UID order, so a message
   number is an index; the marks are flags in it, with counters kept so
   STAT never walks the array. */
#include "pop3d/pop3d_maildrop.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "store/store.h"

struct pop3d_maildrop *
pop3d_maildrop_new(int64_t mailbox_id, uint32_t uidvalidity)
{
	struct pop3d_maildrop *md = xcalloc(1, sizeof(*md));

	md->mailbox_id = mailbox_id;
	md->uidvalidity = uidvalidity;
	return md;
}

void
pop3d_maildrop_add(struct pop3d_maildrop *md, uint32_t uid, uint64_t size)
{
	/* Doubling: the INBOX's size is the store's to bound (quota). */
	if (md->n == md->cap) {
		md->cap = md->cap == 0 ? 16 : md->cap * 2;
		md->msgs = xreallocarray(md->msgs, md->cap, sizeof(*md->msgs));
	}
	if (md->n > 0 && md->msgs[md->n - 1].uid >= uid)
		panic("pop3d_maildrop_add: UID %" PRIu32 " after %" PRIu32,
		    uid, md->msgs[md->n - 1].uid);
	md->msgs[md->n++] = (struct pop3d_message){ .uid = uid, .size = size };
	md->size += size;
}

void
pop3d_maildrop_free(struct pop3d_maildrop **mdp)
{
	struct pop3d_maildrop *md = *mdp;

	if (md == NULL)
		return;
	free(md->msgs);
	free(md);
	*mdp = NULL;
}

static int
pop3d_maildrop_load_cb(const struct store_message *msg, void *ctx)
{
	pop3d_maildrop_add(ctx, msg->uid, msg->size);
	return 0;
}

int
pop3d_maildrop_load(struct store *store, struct pop3d_maildrop **md_r,
    char **error_r)
{
	struct store_mailbox inbox;
	struct pop3d_maildrop *md;

	*md_r = NULL;
	memset(&inbox, 0, sizeof(inbox));
	if (store_mailbox_get(store, "INBOX", &inbox) != STORE_OK) {
		*error_r = xasprintf("INBOX: %s", store_error(store));
		store_mailbox_clear(&inbox);
		return -1;
	}
	md = pop3d_maildrop_new(inbox.id, inbox.uidvalidity);
	store_mailbox_clear(&inbox);
	/* Sizes only: RETR opens the file through the store, which
	   answers NOT_FOUND for a message expunged since. */
	if (store_fetch(store, md->mailbox_id, NULL, 0, STORE_FETCH_SIZE,
	    pop3d_maildrop_load_cb, md) != STORE_OK) {
		*error_r = xasprintf("INBOX: %s", store_error(store));
		pop3d_maildrop_free(&md);
		return -1;
	}
	*md_r = md;
	return 0;
}

enum pop3d_maildrop_result
pop3d_maildrop_get(struct pop3d_maildrop *md, uint32_t number,
    struct pop3d_message **msg_r)
{
	*msg_r = NULL;
	if (number == 0 || number > md->n)
		return POP3D_MAILDROP_NO_SUCH;
	if (md->msgs[number - 1].deleted)
		return POP3D_MAILDROP_DELETED;
	*msg_r = &md->msgs[number - 1];
	return POP3D_MAILDROP_OK;
}

void
pop3d_maildrop_stat(const struct pop3d_maildrop *md, size_t *count_r,
    uint64_t *size_r)
{
	*count_r = md->n - md->n_deleted;
	*size_r = md->size - md->deleted_size;
}

void
pop3d_maildrop_delete(struct pop3d_maildrop *md, struct pop3d_message *msg)
{
	if (msg->deleted)
		panic("pop3d_maildrop_delete: UID %" PRIu32 " twice", msg->uid);
	msg->deleted = true;
	md->n_deleted++;
	md->deleted_size += msg->size;
}

void
pop3d_maildrop_reset(struct pop3d_maildrop *md)
{
	for (size_t i = 0; i < md->n; i++)
		md->msgs[i].deleted = md->msgs[i].retrieved = false;
	md->n_deleted = 0;
	md->deleted_size = 0;
}

void
pop3d_maildrop_uidl(const struct pop3d_maildrop *md,
    const struct pop3d_message *msg, char out[POP3D_UIDL_SIZE])
{
	snprintf(out, POP3D_UIDL_SIZE, "%08" PRIX32 "%08" PRIX32, msg->uid,
	    md->uidvalidity);
}

bool
pop3d_maildrop_has_changes(const struct pop3d_maildrop *md)
{
	if (md->n_deleted > 0)
		return true;
	for (size_t i = 0; i < md->n; i++)
		if (md->msgs[i].retrieved)
			return true;
	return false;
}

/* The UIDs of the messages with deleted == want_deleted (and, for the
   not-deleted ones, retrieved), as ranges of consecutive UIDs. Only UIDs
   next to each other in the snapshot join: a range never covers a
   message the session did not see. *ranges_r heap, NULL when none. */
static size_t
pop3d_maildrop_ranges(const struct pop3d_maildrop *md, bool want_deleted,
    struct store_range **ranges_r)
{
	struct store_range *r = NULL;
	size_t n = 0, cap = 0;
	bool open = false;

	for (size_t i = 0; i < md->n; i++) {
		const struct pop3d_message *m = &md->msgs[i];
		bool in = want_deleted ? m->deleted :
		    !m->deleted && m->retrieved;

		if (!in) {
			open = false;
			continue;
		}
		if (open && r[n - 1].hi + 1 == m->uid) {
			r[n - 1].hi = m->uid;
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			r = xreallocarray(r, cap, sizeof(*r));
		}
		r[n++] = (struct store_range){ .lo = m->uid, .hi = m->uid };
		open = true;
	}
	*ranges_r = r;
	return n;
}

static void
pop3d_maildrop_count_cb(uint32_t uid, void *ctx)
{
	size_t *n = ctx;

	(void)uid;
	(*n)++;
}

int
pop3d_maildrop_commit(struct store *store, const struct pop3d_maildrop *md,
    size_t *expunged_r, char **error_r)
{
	struct store_range *seen = NULL, *deleted = NULL;
	size_t n_seen, n_deleted, expunged = 0;

	*expunged_r = 0;
	n_seen = pop3d_maildrop_ranges(md, false, &seen);
	n_deleted = pop3d_maildrop_ranges(md, true, &deleted);
	if (n_seen == 0 && n_deleted == 0)
		return 0;
	if (store_begin(store) != STORE_OK)
		goto fail;
	/* Dovecot's pop3 marks what a client downloaded as read, so an
	   IMAP client on the same account does not show it as new. */
	if (n_seen > 0 && store_flags(store, md->mailbox_id, seen, n_seen,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, NULL, NULL, NULL,
	    NULL) != STORE_OK)
		goto rollback;
	if (n_deleted > 0) {
		if (store_flags(store, md->mailbox_id, deleted, n_deleted,
		    STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0, NULL, NULL,
		    NULL, NULL) != STORE_OK)
			goto rollback;
		if (store_expunge(store, md->mailbox_id, deleted, n_deleted,
		    pop3d_maildrop_count_cb, &expunged) != STORE_OK)
			goto rollback;
	}
	if (store_commit(store) != STORE_OK)
		goto rollback;
	free(seen);
	free(deleted);
	*expunged_r = expunged;
	return 0;
rollback:
	*error_r = xstrdup(store_error(store));
	store_rollback(store);
	free(seen);
	free(deleted);
	return -1;
fail:
	*error_r = xstrdup(store_error(store));
	free(seen);
	free(deleted);
	return -1;
}
