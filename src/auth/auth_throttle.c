/* auth_throttle.c — the failed-login counters (see auth_throttle.h): two
   set-associative tables (IPs, account names) of leaky buckets under one
   mutex. A counter's level is kept as of its last update and drained
   lazily when it is next looked at, so nothing runs in the background. */
#include "auth/auth_throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/xmalloc.h"

#define AUTH_THROTTLE_WAYS 4
#define AUTH_THROTTLE_DEFAULT_ENTRIES 16384
/* 1 M counters of 32 bytes per table: a configuration bug past that. */
#define AUTH_THROTTLE_MAX_ENTRIES (1024 * 1024)

struct auth_throttle_entry {
	uint64_t key;			/* 0: free */
	uint64_t updated_ms;		/* when level was last drained */
	uint64_t blocked_until_ms;	/* 0: not blocked */
	double level;			/* failures not yet drained */
};

struct auth_throttle_table {
	struct auth_throttle_entry *entries;
	size_t n_buckets;		/* a power of two */
	unsigned max;			/* failures before the block; 0: none */
};

struct auth_throttle {
	pthread_mutex_t lock;
	struct auth_throttle_limits limits;
	unsigned char secret[crypto_shorthash_KEYBYTES];
	struct auth_throttle_table ip, account;
};

uint64_t
auth_throttle_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
auth_throttle_table_init(struct auth_throttle_table *tab, size_t entries,
    unsigned max)
{
	size_t buckets = 1;

	while (buckets * AUTH_THROTTLE_WAYS < entries)
		buckets *= 2;
	tab->n_buckets = buckets;
	tab->entries = xcalloc(buckets * AUTH_THROTTLE_WAYS,
	    sizeof(*tab->entries));
	tab->max = max;
}

struct auth_throttle *
auth_throttle_new(const struct auth_throttle_limits *limits)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	size_t entries = limits->max_entries != 0 ? limits->max_entries :
	    AUTH_THROTTLE_DEFAULT_ENTRIES;

	if (limits->window_s == 0 || entries > AUTH_THROTTLE_MAX_ENTRIES)
		panic("auth_throttle_new: window %u s, %zu entries",
		    limits->window_s, entries);
	/* Thread-safe and idempotent since libsodium 1.0.11. */
	if (sodium_init() < 0)
		panic("auth_throttle_new: sodium_init failed");
	randombytes_buf(t->secret, sizeof(t->secret));
	t->limits = *limits;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		panic("auth_throttle_new: pthread_mutex_init");
	auth_throttle_table_init(&t->ip, entries, limits->max_failures_per_ip);
	auth_throttle_table_init(&t->account, entries,
	    limits->max_failures_per_account);
	return t;
}

void
auth_throttle_free(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;

	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->ip.entries);
	free(t->account.entries);
	explicit_bzero(t->secret, sizeof(t->secret));
	free(t);
	*tp = NULL;
}

static uint64_t
auth_throttle_hash(const struct auth_throttle *t, const void *data,
    size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, data, len, t->secret);
	memcpy(&h, out, sizeof(h));
	return h != 0 ? h : 1;		/* 0 marks a free slot */
}

/* The IP's key: IPv4 (also IPv4-mapped IPv6) by its address, IPv6 by its
   /64 (RFC 6177: a subscriber gets at least a /64, so one client can take
   any address in it), anything else by its text. */
static uint64_t
auth_throttle_ip_key(const struct auth_throttle *t, const char *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	unsigned char key[1 + 16];

	if (inet_pton(AF_INET, ip, key + 1) == 1) {
		key[0] = 4;
		return auth_throttle_hash(t, key, 1 + 4);
	}
	if (inet_pton(AF_INET6, ip, key + 1) == 1) {
		if (memcmp(key + 1, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memmove(key + 1, key + 1 + 12, 4);
			return auth_throttle_hash(t, key, 1 + 4);
		}
		key[0] = 6;
		return auth_throttle_hash(t, key, 1 + 8);
	}
	return auth_throttle_hash(t, ip, strlen(ip));
}

/* Account names compare without ASCII case, as the directory does. */
static uint64_t
auth_throttle_account_key(const struct auth_throttle *t, const char *name)
{
	size_t len = strlen(name);
	char *lower = xmalloc(len + 1);
	uint64_t h;

	for (size_t i = 0; i < len; i++)
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	h = auth_throttle_hash(t, lower, len);
	free(lower);
	return h;
}

/* Drains e's level up to now: max per window. */
static void
auth_throttle_drain(const struct auth_throttle *t,
    const struct auth_throttle_table *tab, struct auth_throttle_entry *e,
    uint64_t now_ms)
{
	double rate, drained;

	if (now_ms > e->updated_ms && tab->max > 0) {
		rate = (double)tab->max / ((double)t->limits.window_s * 1000.0);
		drained = (double)(now_ms - e->updated_ms) * rate;
		e->level = drained >= e->level ? 0.0 : e->level - drained;
	}
	if (now_ms > e->updated_ms)
		e->updated_ms = now_ms;
	if (e->blocked_until_ms != 0 && now_ms >= e->blocked_until_ms)
		e->blocked_until_ms = 0;
}

/* Whether a should make room before b: unblocked counters before
   blocked ones, then the lowest level; among blocked ones the one whose
   block ends first. */
static bool
auth_throttle_evicts_before(const struct auth_throttle_entry *a,
    const struct auth_throttle_entry *b)
{
	bool a_blocked = a->blocked_until_ms != 0;
	bool b_blocked = b->blocked_until_ms != 0;

	if (a_blocked != b_blocked)
		return !a_blocked;
	if (a_blocked)
		return a->blocked_until_ms < b->blocked_until_ms;
	return a->level < b->level;
}

/* key's counter, drained to now; NULL when it has none and create is
   false. Creating may evict the emptiest counter of the bucket. */
static struct auth_throttle_entry *
auth_throttle_find(const struct auth_throttle *t,
    struct auth_throttle_table *tab, uint64_t key, bool create,
    uint64_t now_ms)
{
	struct auth_throttle_entry *bucket, *victim = NULL;
	size_t b = (size_t)(key & (tab->n_buckets - 1));

	bucket = &tab->entries[b * AUTH_THROTTLE_WAYS];
	for (size_t i = 0; i < AUTH_THROTTLE_WAYS; i++) {
		if (bucket[i].key == key) {
			auth_throttle_drain(t, tab, &bucket[i], now_ms);
			return &bucket[i];
		}
	}
	if (!create)
		return NULL;
	for (size_t i = 0; i < AUTH_THROTTLE_WAYS; i++) {
		struct auth_throttle_entry *e = &bucket[i];

		if (e->key == 0) {
			victim = e;
			break;
		}
		auth_throttle_drain(t, tab, e, now_ms);
		if (victim == NULL || auth_throttle_evicts_before(e, victim))
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	victim->updated_ms = now_ms;
	return victim;
}

static bool
auth_throttle_is_blocked(const struct auth_throttle *t,
    struct auth_throttle_table *tab, uint64_t key, uint64_t now_ms)
{
	struct auth_throttle_entry *e;

	if (tab->max == 0)
		return false;
	e = auth_throttle_find(t, tab, key, false, now_ms);
	return e != NULL && e->blocked_until_ms != 0;
}

static void
auth_throttle_count(const struct auth_throttle *t,
    struct auth_throttle_table *tab, uint64_t key, uint64_t now_ms)
{
	struct auth_throttle_entry *e;

	if (tab->max == 0)
		return;
	e = auth_throttle_find(t, tab, key, true, now_ms);
	e->level += 1.0;
	/* Within half a failure of max: a burst of max failures a few
	   milliseconds apart has drained a hair below max, and must still
	   block. */
	if (e->level >= (double)tab->max - 0.5 && e->blocked_until_ms == 0)
		e->blocked_until_ms = now_ms +
		    (uint64_t)t->limits.window_s * 1000;
}

static bool
auth_throttle_has_account(const char *account)
{
	return account != NULL && account[0] != '\0';
}

enum auth_throttle_verdict
auth_throttle_check(struct auth_throttle *t, const char *ip,
    const char *account, uint64_t now_ms)
{
	enum auth_throttle_verdict v = AUTH_THROTTLE_OK;
	uint64_t ip_key = auth_throttle_ip_key(t, ip);
	uint64_t acct_key = auth_throttle_has_account(account) ?
	    auth_throttle_account_key(t, account) : 0;

	pthread_mutex_lock(&t->lock);
	if (auth_throttle_is_blocked(t, &t->ip, ip_key, now_ms))
		v = AUTH_THROTTLE_IP_BLOCKED;
	else if (acct_key != 0 &&
	    auth_throttle_is_blocked(t, &t->account, acct_key, now_ms))
		v = AUTH_THROTTLE_ACCOUNT_BLOCKED;
	pthread_mutex_unlock(&t->lock);
	return v;
}

unsigned
auth_throttle_failure(struct auth_throttle *t, const char *ip,
    const char *account, uint64_t now_ms)
{
	uint64_t ip_key = auth_throttle_ip_key(t, ip);
	uint64_t acct_key = auth_throttle_has_account(account) ?
	    auth_throttle_account_key(t, account) : 0;

	pthread_mutex_lock(&t->lock);
	auth_throttle_count(t, &t->ip, ip_key, now_ms);
	if (acct_key != 0)
		auth_throttle_count(t, &t->account, acct_key, now_ms);
	pthread_mutex_unlock(&t->lock);
	return t->limits.delay_ms;
}

unsigned
auth_throttle_delay_ms(const struct auth_throttle *t)
{
	return t->limits.delay_ms;
}

void
auth_throttle_success(struct auth_throttle *t, const char *ip,
    const char *account, uint64_t now_ms)
{
	struct auth_throttle_entry *e;
	uint64_t acct_key;

	(void)ip;
	if (!auth_throttle_has_account(account))
		return;
	acct_key = auth_throttle_account_key(t, account);
	pthread_mutex_lock(&t->lock);
	e = auth_throttle_find(t, &t->account, acct_key, false, now_ms);
	if (e != NULL)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&t->lock);
}
