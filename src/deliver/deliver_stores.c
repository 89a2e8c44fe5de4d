/* deliver_stores.c — a small LRU of open account stores, so a busy
   mailbox is not reopened for every pass. */
#include "deliver/deliver_private.h"

#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/log.h"
#include "store/store.h"

struct deliver_store *
deliver_stores_get(struct deliver *d, const struct directory_delivery *dl)
{
	struct store_limits limits = { dl->quota_bytes, dl->quota_messages };
	struct deliver_store *ds = NULL, *lru = &d->stores[0];
	struct store_mailbox inbox;
	char *error = NULL;

	for (size_t i = 0; i < DELIVER_STORES_MAX; i++) {
		struct deliver_store *s = &d->stores[i];

		if (s->store != NULL && s->account_id == dl->account_id) {
			ds = s;
			break;
		}
		if (s->store == NULL || (lru->store != NULL &&
		    s->last_used < lru->last_used))
			lru = s;
	}
	if (ds == NULL) {
		ds = lru;
		store_close(&ds->store);
		if (store_open(d->data_dir, dl->account_id, &limits,
		    &ds->store, &error) != STORE_OK) {
			log_warn("deliver: event=store-open-failed account=%s "
			    "error=\"%s\"", dl->account, error);
			free(error);
			return NULL;
		}
		if (store_mailbox_get(ds->store, "INBOX", &inbox) != STORE_OK) {
			log_warn("deliver: event=store-failed account=%s "
			    "error=\"%s\"", dl->account,
			    store_error(ds->store));
			store_close(&ds->store);
			return NULL;
		}
		ds->inbox_id = inbox.id;
		ds->account_id = dl->account_id;
		store_mailbox_clear(&inbox);
	}
	/* Quotas change in the directory at any time. */
	store_set_limits(ds->store, &limits);
	ds->last_used = ++d->clock;
	return ds;
}

void
deliver_stores_close(struct deliver *d)
{
	for (size_t i = 0; i < DELIVER_STORES_MAX; i++)
		store_close(&d->stores[i].store);
}
