/* store_watch.c — the in-process change feed (IDLE, NOOP of other
   sessions): a process-global registry of watchers per account, behind
   one mutex, hashed by account id.

   store_txn_end calls store_watch_notify after the COMMIT, never inside
   the transaction, so a woken session reads the change. Callbacks run
   without the mutex held (they may take their own locks, add watches, or
   remove other watches of the account). A notifier pins every watch it
   will call (pins), and counts the call under way (running);
   store_watch_remove waits only for a running call, never for a pinned
   one: waiting for pins would deadlock a callback that removes another
   watch of the same notification, and would keep a remover waiting for
   other owners' callbacks. A watch removed while pinned is skipped, and
   freed by whoever drops the last reference. So the owner may free ctx
   as soon as remove returns. A callback must not remove its own watch. */
#include "store/store_private.h"

#include <pthread.h>
#include <string.h>

#include "lib/xmalloc.h"

#define STORE_WATCH_BUCKETS 256

struct store_watch {
	struct store_watch *next;
	int64_t account_id;
	store_notify_fn *fn;
	void *ctx;
	unsigned pins;			/* notifiers that will call fn */
	unsigned running;		/* notifiers calling fn now */
	bool removed;
};

static pthread_mutex_t store_watch_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t store_watch_idle = PTHREAD_COND_INITIALIZER;
static struct store_watch *store_watch_table[STORE_WATCH_BUCKETS];

static struct store_watch **
store_watch_bucket(int64_t account_id)
{
	uint64_t h = (uint64_t)account_id * 0x9e3779b97f4a7c15ull;

	return &store_watch_table[h >> 56];
}

struct store_watch *
store_watch_add(int64_t account_id, store_notify_fn *fn, void *ctx)
{
	struct store_watch *w = xcalloc(1, sizeof(*w)), **bucket;

	w->account_id = account_id;
	w->fn = fn;
	w->ctx = ctx;
	pthread_mutex_lock(&store_watch_mutex);
	bucket = store_watch_bucket(account_id);
	w->next = *bucket;
	*bucket = w;
	pthread_mutex_unlock(&store_watch_mutex);
	return w;
}

void
store_watch_remove(struct store_watch **watchp)
{
	struct store_watch *w = *watchp, **pp;
	bool free_it;

	if (w == NULL)
		return;
	pthread_mutex_lock(&store_watch_mutex);
	for (pp = store_watch_bucket(w->account_id); *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->removed = true;
	/* Our own pin keeps a notifier that finishes the running call from
	   freeing w under us. */
	w->pins++;
	while (w->running > 0)
		pthread_cond_wait(&store_watch_idle, &store_watch_mutex);
	/* Still pinned by a notifier that has not reached it: that one
	   skips it and frees it. */
	free_it = --w->pins == 0;
	pthread_mutex_unlock(&store_watch_mutex);
	if (free_it)
		free(w);
	*watchp = NULL;
}

void
store_watch_notify(int64_t account_id)
{
	struct store_watch **pinned = NULL, *w;
	size_t n = 0, i;

	pthread_mutex_lock(&store_watch_mutex);
	for (w = *store_watch_bucket(account_id); w != NULL; w = w->next)
		if (w->account_id == account_id)
			n++;
	if (n == 0) {
		pthread_mutex_unlock(&store_watch_mutex);
		return;
	}
	pinned = xreallocarray(NULL, n, sizeof(*pinned));
	i = 0;
	for (w = *store_watch_bucket(account_id); w != NULL; w = w->next) {
		if (w->account_id == account_id) {
			w->pins++;
			pinned[i++] = w;
		}
	}
	for (i = 0; i < n; i++) {
		w = pinned[i];
		/* A remove that started meanwhile: skip its callback rather
		   than call into an owner tearing down. */
		if (!w->removed) {
			w->running++;
			pthread_mutex_unlock(&store_watch_mutex);
			w->fn(account_id, w->ctx);
			pthread_mutex_lock(&store_watch_mutex);
			if (--w->running == 0)
				pthread_cond_broadcast(&store_watch_idle);
		}
		if (--w->pins == 0 && w->removed)
			free(w);	/* its remover left it to us */
	}
	pthread_mutex_unlock(&store_watch_mutex);
	free(pinned);
}
