/* auth_throttle.h — failed-login counters shared by every login service
   (POP3 now; IMAP and SMTP submission later), so that guessing passwords
   is slow and then stops: per client IP (IPv6 per /64, the block one
   subscriber gets) and per account name.

   Each counter is a leaky bucket: a failure adds one, and the count drains
   at max per window (a steady trickle of mistakes never blocks; a burst of
   max within about a window does). A counter that reaches its max blocks
   for window seconds: while blocked, logins from that IP, or to that
   account name, are refused without checking the password. Account names
   are counted whether or not they exist, so the counters reveal nothing
   about which do.

   Memory is bounded: each table holds at most max_entries counters in
   4-way buckets keyed by a SipHash of the key under a random per-process
   secret (no one can aim collisions at one bucket); when a bucket is full
   the counter with the least left in it makes room, blocked ones last.

   Pure logic under one mutex: no I/O, no clock except the now_ms given,
   so tests control time. Thread-safe; every call is O(1). */
#ifndef PETREL_AUTH_THROTTLE_H
#define PETREL_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct auth_throttle;

struct auth_throttle_limits {
	unsigned max_failures_per_ip;	/* 0: no per-IP block */
	unsigned max_failures_per_account; /* 0: no per-account block */
	unsigned window_s;		/* drain period, block length; >= 1 */
	unsigned delay_ms;		/* answer every failure this late */
	size_t max_entries;		/* per table; 0: 16384 */
};

enum auth_throttle_verdict {
	AUTH_THROTTLE_OK,
	AUTH_THROTTLE_IP_BLOCKED,
	AUTH_THROTTLE_ACCOUNT_BLOCKED,
};

/* limits are copied. Never returns NULL. */
struct auth_throttle *auth_throttle_new(
    const struct auth_throttle_limits *limits);
/* Accepts NULL; sets *t to NULL. */
void auth_throttle_free(struct auth_throttle **t);

/* CLOCK_MONOTONIC in milliseconds: the now_ms servers pass. */
uint64_t auth_throttle_now_ms(void);

/* Before a password is checked: whether ip (numeric text as inet_ntop
   writes it; anything else is counted as the text itself) may try
   account (any case; NULL or "" when not known yet) now. */
enum auth_throttle_verdict auth_throttle_check(struct auth_throttle *t,
    const char *ip, const char *account, uint64_t now_ms);

/* Counts a failed login of account (may be NULL) from ip. Returns the
   milliseconds the caller waits before answering (limits.delay_ms). */
unsigned auth_throttle_failure(struct auth_throttle *t, const char *ip,
    const char *account, uint64_t now_ms);

/* limits.delay_ms: also the wait before refusing a blocked login. */
unsigned auth_throttle_delay_ms(const struct auth_throttle *t);

/* A successful login: the account's counter is cleared (its user is
   back and typing right); the IP's is kept, or a guesser who owns one
   account could wipe its count between guesses. */
void auth_throttle_success(struct auth_throttle *t, const char *ip,
    const char *account, uint64_t now_ms);
#endif
