/* queue_id.c — queue ids: time-sortable, unique across threads, processes
   and restarts, and safe as file names.

   Layout (26 characters, upper-case hex so that byte order is time order):
	14 digits	microseconds since the epoch (56 bits: good until 4253;
			48 bits would have run out in 1978)
	 4 digits	a per-process atomic counter (threads in the same µs)
	 8 digits	a random salt drawn once per process (other processes,
			a clock stepped backwards across a restart)
   Uniqueness is still not left to chance: queue_writer_new creates tmp/<id>
   with O_EXCL and checks msg/<id>, and the commit renames without replacing. */
#include "queue/queue_private.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmalloc.h"

static _Atomic uint32_t queue_id_counter;
static uint32_t queue_id_salt;
static pthread_once_t queue_id_once = PTHREAD_ONCE_INIT;

static void
queue_id_init(void)
{
	struct timespec ts;
	uint32_t salt;

	if (getrandom(&salt, sizeof(salt), 0) == (ssize_t)sizeof(salt)) {
		queue_id_salt = salt;
		return;
	}
	/* No getrandom (very old kernel): pid and clock still differ between
	   processes; O_EXCL catches what they miss. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	queue_id_salt = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ts.tv_nsec;
}

void
queue_id_new(char id_r[QUEUE_ID_SIZE])
{
	struct timespec ts;
	uint64_t usec;
	uint32_t n;
	int len;

	if (pthread_once(&queue_id_once, queue_id_init) != 0)
		panic("queue_id_new: pthread_once failed");
	clock_gettime(CLOCK_REALTIME, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	n = atomic_fetch_add_explicit(&queue_id_counter, 1,
	    memory_order_relaxed);
	len = snprintf(id_r, QUEUE_ID_SIZE, "%014llX%04X%08X",
	    (unsigned long long)(usec & 0xffffffffffffffull),
	    (unsigned)(n & 0xffff), (unsigned)queue_id_salt);
	if (len != 26)
		panic("queue_id_new: bad id length %d", len);
}

bool
queue_id_is_valid(const char *id)
{
	size_t len = 0;

	for (const char *p = id; *p != '\0'; p++, len++) {
		char c = *p;

		if (len >= QUEUE_ID_SIZE - 1)
			return false;
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z')))
			return false;
	}
	return len > 0;
}
