/* store_id.c — message file ids, in the layout of queue ids (queue_id.c):
   14 hex digits of microseconds since the epoch, 4 of a per-process
   counter, 8 of a per-process random salt. Sorting by name sorts by
   arrival; threads, processes and restarts do not collide, and the file is
   created with O_EXCL anyway, so a collision costs a retry, never a file.
   The same id, prefixed, makes the EMAILID and THREADID (RFC 8474 object
   ids: [A-Za-z0-9_-], up to 255).

   The directory (msg/<xx>) is drawn at random per transaction rather than
   from the id: all files of one batch share one directory and so one
   fsync, while over time the files spread evenly over the 256. */
#include "store/store_private.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmalloc.h"

static _Atomic uint32_t store_id_counter;
static _Atomic uint64_t store_id_state;
static uint32_t store_id_salt;
static pthread_once_t store_id_once = PTHREAD_ONCE_INIT;

static void
store_id_init(void)
{
	struct timespec ts;
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		/* No getrandom: pid and clock still differ between
		   processes; O_EXCL catches what they miss. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec;
	}
	store_id_salt = (uint32_t)(seed >> 32) ^ (uint32_t)seed;
	atomic_store(&store_id_state, seed);
}

void
store_id_new(char id_r[STORE_FILE_ID_LEN + 1])
{
	struct timespec ts;
	uint64_t usec;
	uint32_t n;
	int len;

	if (pthread_once(&store_id_once, store_id_init) != 0)
		panic("store_id_new: pthread_once failed");
	clock_gettime(CLOCK_REALTIME, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	n = atomic_fetch_add_explicit(&store_id_counter, 1,
	    memory_order_relaxed);
	len = snprintf(id_r, STORE_FILE_ID_LEN + 1, "%014llX%04X%08X",
	    (unsigned long long)(usec & 0xffffffffffffffull),
	    (unsigned)(n & 0xffff), (unsigned)store_id_salt);
	if (len != STORE_FILE_ID_LEN)
		panic("store_id_new: bad id length %d", len);
}

unsigned
store_id_dir(void)
{
	uint64_t x;

	if (pthread_once(&store_id_once, store_id_init) != 0)
		panic("store_id_dir: pthread_once failed");
	/* splitmix64: even spread, no lock; not a secret. */
	x = atomic_fetch_add_explicit(&store_id_state,
	    0x9e3779b97f4a7c15ull, memory_order_relaxed) +
	    0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (unsigned)(x & 0xff);
}
