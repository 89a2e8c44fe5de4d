/* store_watch.c — the in-process change feed (IDLE, NOOP of other
   sessions): a process-global registry of watchers per account, behind
   one mutex, hashed by account id.

   store_txn_end calls store_watch_notify after the COMMIT, never inside
   the transaction, so a woken session reads the change. Callbacks run
   without the mutex held (they may take their own locks, or add watches);
   a watch being called is pinned (busy count), and store_watch_remove
   waits until no call of it runs any more, so the owner may free ctx as
   soon as remove returns. A callback must not remove its own watch. */
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
	unsigned busy;			/* notifiers calling fn now */
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
	while (w->busy > 0)
		pthread_cond_wait(&store_watch_idle, &store_watch_mutex);
	pthread_mutex_unlock(&store_watch_mutex);
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
			w->busy++;
			pinned[i++] = w;
		}
	}
	pthread_mutex_unlock(&store_watch_mutex);
	for (i = 0; i < n; i++) {
		bool removed;

		/* A remove that started meanwhile waits for us; skip its
		   callback rather than call into an owner tearing down. */
		pthread_mutex_lock(&store_watch_mutex);
		removed = pinned[i]->removed;
		pthread_mutex_unlock(&store_watch_mutex);
		if (!removed)
			pinned[i]->fn(account_id, pinned[i]->ctx);
	}
	pthread_mutex_lock(&store_watch_mutex);
	for (i = 0; i < n; i++)
		pinned[i]->busy--;
	pthread_cond_broadcast(&store_watch_idle);
	pthread_mutex_unlock(&store_watch_mutex);
	free(pinned);
}
