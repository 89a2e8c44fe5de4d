/* service_login.h — one password login for every service that takes one
   (POP3, IMAP, submission AUTH), so all share one throttle (a guesser
   cannot switch protocols), one dummy hash, one login cache and the same
   answers:

   - the account: "user@domain" (any case, alias-domain spellings
     allowed), or "user@domain*master" with a master user's password
     (`petrel master add`, as Dovecot's master_user_separator '*'), or a
     SASL PLAIN authzid naming the account with a master's authcid;
   - no oracle: unknown user, disabled account or domain, an account
     without a password and a wrong password get the same result after
     the same time (a check against a dummy hash when there is no real
     one, padded to the dummy's cost when the account's hash is cheaper),
     then the throttle's delay; each failure is logged with ip= and
     user= for fail2ban;
   - a login refused by the throttle is not checked at all;
   - a verified (account, password) pair is remembered for
     config->auth.cache_ttl seconds, keyed by a keyed hash (never the
     password), so clients that reconnect often do not pay Argon2id each
     time (DESIGN.md §7); a password change or disabled account is seen
     at the next lookup, which always reads the directory.

   The directory lookup runs on the calling I/O thread (a short indexed
   read on the thread's connection, service_thread_directory), the hash
   check on the worker pool; done runs on the session's event_base. */
#ifndef PETREL_SERVICE_LOGIN_H
#define PETREL_SERVICE_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct service_login;
struct service_thread;
struct worker_pool;

/* config must outlive it. Never returns NULL. */
struct service_login *service_login_new(const struct config *config);
void service_login_free(struct service_login **login);

/* Makes the dummy hash (one Argon2id: ~100 ms; call on a worker, before
   or at the first login). Thread-safe; later calls return at once. */
void service_login_warm(struct service_login *login);
/* Tests and fuzzers: the dummy is this static hash (e.g. "{PLAIN}x");
   NULL: the real one again (made at the next need). */
void service_login_set_dummy_hash(struct service_login *login,
    const char *hash);

struct service_login_request {
	const char *service;	/* "imap", "pop3", "submission": logs */
	const char *conn_id;	/* for logs */
	const char *ip;		/* peer address, numeric */
	const char *method;	/* "LOGIN", "PLAIN", "USER"...: logs */
	const char *user;	/* authcid as sent (may hold "*master") */
	const char *authzid;	/* SASL authzid, or NULL / "" */
	const char *password;	/* len octets; NUL anywhere fails */
	size_t password_len;
};

enum service_login_status {
	SERVICE_LOGIN_OK,
	SERVICE_LOGIN_FAILED,	/* wrong credentials (any reason) */
	SERVICE_LOGIN_BLOCKED,	/* the throttle refused: not checked */
	SERVICE_LOGIN_TEMPFAIL,	/* directory or worker unavailable */
};

struct service_login_result {
	enum service_login_status status;
	/* OK: the account logged into. */
	int64_t account_id;
	const char *address;		/* normalised, e.g. "bob@example.org" */
	const char *master;		/* the master user's name, or NULL */
	uint64_t quota_bytes, quota_messages;	/* 0: none */
	/* Not OK: milliseconds to hold the answer back (already spent
	   on the check is subtracted). 0 for TEMPFAIL. */
	unsigned delay_ms;
};

/* result's strings live until done returns. done always runs, once,
   on base's thread (also when the session's connection closed
   meanwhile; the session then only frees its state). Never calls done
   before returning. */
typedef void service_login_done_fn(const struct service_login_result *result,
    void *ctx);
void service_login_start(struct service_login *login,
    struct service_thread *thread, struct worker_pool *pool,
    const struct service_login_request *request,
    service_login_done_fn *done, void *ctx);

/* Whether a password may be sent on this connection now ([auth]
   plaintext: never / loopback / always, and TLS). */
bool service_login_plaintext_ok(const struct config *config, bool tls,
    bool loopback);
#endif
