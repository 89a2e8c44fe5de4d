/* auth_throttle_test.c — the failed-login counters with a clock the test
   moves: blocks per IP and per account, the block's length, draining,
   IPv6 /64 and IPv4-mapped keys, case-blind account names, success,
   eviction under a flood of new keys, and many threads at once. */
#include "auth/auth_throttle.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/test.h"

#define T0 1000000ULL		/* any start; 0 is avoided on purpose */

static struct auth_throttle *
make(unsigned per_ip, unsigned per_account, unsigned window_s,
    size_t entries)
{
	struct auth_throttle_limits l = {
		.max_failures_per_ip = per_ip,
		.max_failures_per_account = per_account,
		.window_s = window_s,
		.delay_ms = 250,
		.max_entries = entries,
	};

	return auth_throttle_new(&l);
}

static void
test_ip_block(void)
{
	struct auth_throttle *t = make(5, 0, 300, 0);
	uint64_t now = T0;

	for (int i = 0; i < 4; i++) {
		TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "a@x", now),
		    AUTH_THROTTLE_OK);
		TEST_EQ_INT(auth_throttle_failure(t, "192.0.2.1", "a@x", now),
		    250);
	}
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "b@x", now),
	    AUTH_THROTTLE_OK);
	auth_throttle_failure(t, "192.0.2.1", "b@x", now);
	/* The fifth failure blocks the IP, for every account. */
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "c@x", now),
	    AUTH_THROTTLE_IP_BLOCKED);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", NULL, now + 1000),
	    AUTH_THROTTLE_IP_BLOCKED);
	/* Another IP is not. */
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.2", "c@x", now),
	    AUTH_THROTTLE_OK);
	/* For the whole window, then free again, with the count drained. */
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "c@x",
	    now + 299999), AUTH_THROTTLE_IP_BLOCKED);
	now += 300000;
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "c@x", now),
	    AUTH_THROTTLE_OK);
	auth_throttle_failure(t, "192.0.2.1", "c@x", now);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "c@x", now),
	    AUTH_THROTTLE_OK);
	TEST_EQ_INT(auth_throttle_delay_ms(t), 250);
	auth_throttle_free(&t);
	TEST_ASSERT(t == NULL);
	auth_throttle_free(&t);		/* accepts NULL */
}

static void
test_account_block(void)
{
	struct auth_throttle *t = make(0, 3, 60, 0);
	char ip[32];

	/* A distributed guesser: a new IP per try, one account. */
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		TEST_EQ_INT(auth_throttle_check(t, ip, "Bob@Example.org", T0),
		    AUTH_THROTTLE_OK);
		auth_throttle_failure(t, ip, i == 1 ? "BOB@EXAMPLE.ORG" :
		    "bob@example.org", T0);
	}
	TEST_EQ_INT(auth_throttle_check(t, "203.0.113.9", "bob@example.org",
	    T0), AUTH_THROTTLE_ACCOUNT_BLOCKED);
	TEST_EQ_INT(auth_throttle_check(t, "203.0.113.9", "alice@example.org",
	    T0), AUTH_THROTTLE_OK);
	/* No account name: only the IP is asked about. */
	TEST_EQ_INT(auth_throttle_check(t, "203.0.113.9", NULL, T0),
	    AUTH_THROTTLE_OK);
	TEST_EQ_INT(auth_throttle_check(t, "203.0.113.9", "", T0),
	    AUTH_THROTTLE_OK);
	TEST_EQ_INT(auth_throttle_check(t, "203.0.113.9", "bob@example.org",
	    T0 + 60000), AUTH_THROTTLE_OK);
	auth_throttle_free(&t);
}

/* A steady trickle below max per window never blocks; the same number
   at once does. */
static void
test_drain(void)
{
	struct auth_throttle *t = make(10, 0, 100, 0);
	uint64_t now = T0;

	for (int i = 0; i < 100; i++) {
		TEST_EQ_INT(auth_throttle_check(t, "192.0.2.7", NULL, now),
		    AUTH_THROTTLE_OK);
		auth_throttle_failure(t, "192.0.2.7", NULL, now);
		now += 11000;		/* 10 per 110 s: just under the rate */
	}
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.7", NULL, now),
	    AUTH_THROTTLE_OK);
	/* A burst of 10 blocks, for one window. */
	for (int i = 0; i < 10; i++)
		auth_throttle_failure(t, "192.0.2.8", NULL, now);
	now += 100000;			/* the window: the block is over */
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.8", NULL, now - 1),
	    AUTH_THROTTLE_IP_BLOCKED);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.8", NULL, now),
	    AUTH_THROTTLE_OK);
	auth_throttle_free(&t);

	t = make(10, 0, 100, 0);
	for (int i = 0; i < 9; i++)
		auth_throttle_failure(t, "192.0.2.10", NULL, T0);
	/* Half a window later 5 have drained (level 4): 5 more stay under
	   10, the sixth reaches it. */
	for (int i = 0; i < 5; i++)
		auth_throttle_failure(t, "192.0.2.10", NULL, T0 + 50000);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.10", NULL, T0 + 50000),
	    AUTH_THROTTLE_OK);
	auth_throttle_failure(t, "192.0.2.10", NULL, T0 + 50000);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.10", NULL, T0 + 50000),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);

	/* A burst a millisecond apart blocks at max, as at one instant. */
	t = make(3, 0, 300, 0);
	for (int i = 0; i < 3; i++) {
		TEST_EQ_INT(auth_throttle_check(t, "192.0.2.11", NULL,
		    T0 + (uint64_t)i), AUTH_THROTTLE_OK);
		auth_throttle_failure(t, "192.0.2.11", NULL, T0 + (uint64_t)i);
	}
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.11", NULL, T0 + 3),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);
}

static void
test_ip_keys(void)
{
	struct auth_throttle *t = make(2, 0, 60, 0);

	/* Two addresses of one /64 are one client. */
	auth_throttle_failure(t, "2001:db8:1:2::1", NULL, T0);
	auth_throttle_failure(t, "2001:db8:1:2:ffff:1:2:3", NULL, T0);
	TEST_EQ_INT(auth_throttle_check(t, "2001:db8:1:2::99", NULL, T0),
	    AUTH_THROTTLE_IP_BLOCKED);
	TEST_EQ_INT(auth_throttle_check(t, "2001:db8:1:3::1", NULL, T0),
	    AUTH_THROTTLE_OK);
	/* IPv4-mapped IPv6 is the IPv4 address. */
	auth_throttle_failure(t, "::ffff:192.0.2.55", NULL, T0);
	auth_throttle_failure(t, "192.0.2.55", NULL, T0);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.55", NULL, T0),
	    AUTH_THROTTLE_IP_BLOCKED);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.56", NULL, T0),
	    AUTH_THROTTLE_OK);
	/* Not an address: counted by its text. */
	auth_throttle_failure(t, "unix", NULL, T0);
	auth_throttle_failure(t, "unix", NULL, T0);
	TEST_EQ_INT(auth_throttle_check(t, "unix", NULL, T0),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);
}

static void
test_success(void)
{
	struct auth_throttle *t = make(3, 3, 60, 0);

	auth_throttle_failure(t, "192.0.2.1", "bob@x", T0);
	auth_throttle_failure(t, "192.0.2.1", "bob@x", T0);
	auth_throttle_success(t, "192.0.2.1", "BOB@x", T0);
	auth_throttle_success(t, "192.0.2.1", NULL, T0);
	/* The account starts over; the IP does not. */
	auth_throttle_failure(t, "192.0.2.2", "bob@x", T0);
	auth_throttle_failure(t, "192.0.2.2", "bob@x", T0);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.3", "bob@x", T0),
	    AUTH_THROTTLE_OK);
	auth_throttle_failure(t, "192.0.2.1", "carol@x", T0);
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.1", "dave@x", T0),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);
}

/* A flood of new keys through a tiny table: blocked counters stay while
   there is anything else to evict, and memory does not grow. */
static void
test_eviction(void)
{
	struct auth_throttle *t = make(3, 0, 600, 4);	/* one bucket */
	char ip[32];

	for (int i = 0; i < 3; i++)
		auth_throttle_failure(t, "192.0.2.200", NULL, T0);
	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		auth_throttle_failure(t, ip, NULL, T0 + (uint64_t)i);
	}
	TEST_EQ_INT(auth_throttle_check(t, "192.0.2.200", NULL, T0 + 1000),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);
}

struct worker_arg {
	struct auth_throttle *t;
	int id;
};

static void *
hammer(void *p)
{
	struct worker_arg *a = p;
	char ip[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", a->id, i % 50);
		(void)auth_throttle_check(a->t, ip, "shared@x",
		    T0 + (uint64_t)i);
		(void)auth_throttle_failure(a->t, ip, "shared@x",
		    T0 + (uint64_t)i);
		if (i % 7 == 0)
			auth_throttle_success(a->t, ip, "shared@x",
			    T0 + (uint64_t)i);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct auth_throttle *t = make(20, 10, 300, 4096);
	pthread_t th[8];
	struct worker_arg args[8];

	for (int i = 0; i < 8; i++) {
		args[i] = (struct worker_arg){ t, i };
		TEST_EQ_INT(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	/* Every IP of thread 0 failed 100 times in 5 s: blocked. */
	TEST_EQ_INT(auth_throttle_check(t, "10.1.0.1", NULL, T0 + 5000),
	    AUTH_THROTTLE_IP_BLOCKED);
	auth_throttle_free(&t);
}

static void
test_clock(void)
{
	uint64_t a = auth_throttle_now_ms(), b = auth_throttle_now_ms();

	TEST_ASSERT(a > 0 && b >= a);
}

int
main(void)
{
	TEST_RUN(test_ip_block);
	TEST_RUN(test_account_block);
	TEST_RUN(test_drain);
	TEST_RUN(test_ip_keys);
	TEST_RUN(test_success);
	TEST_RUN(test_eviction);
	TEST_RUN(test_threads);
	TEST_RUN(test_clock);
	return test_done();
}
