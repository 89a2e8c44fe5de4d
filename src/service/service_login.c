/* service_login.c — the one password login of POP3, IMAP and submission
   (service_login.h): name parsing (master users, alias domains), the
   throttle, the directory read on the I/O thread, the hash check on a
   worker (against a dummy when there is no real hash, padded to the
   dummy's cost), and the cache of verified logins.

   The cache never holds a password: an entry is a keyed BLAKE2b of
   (account id, master, password) under a random per-process key, the
   keyed BLAKE2b of the stored hash it was verified against, and an
   expiry. A hit needs both to match after a fresh directory read, so a
   changed password or a disabled account is seen at once. It is a fixed
   table (buckets of a few ways), so memory is bounded whatever clients
   do; only successes enter it, so it is no oracle. */
#include "service/service_login.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth/auth_throttle.h"
#include "auth/password.h"
#include "config/config.h"
#include "directory/directory_admin.h"
#include "directory/directory_master.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "service/service_thread.h"

/* 4096 entries of 72 bytes: the recent logins of a large site. */
#define SERVICE_LOGIN_CACHE_BUCKETS 1024
#define SERVICE_LOGIN_CACHE_WAYS 4
#define SERVICE_LOGIN_DIGEST 32
/* A dummy hash that took longer was a stalled machine, not the cost to
   match. */
#define SERVICE_LOGIN_PAD_MAX_MS 2000

enum service_login_fail {
	SERVICE_LOGIN_FAIL_NONE,
	SERVICE_LOGIN_FAIL_UNKNOWN,	/* no such account */
	SERVICE_LOGIN_FAIL_MASTER,	/* no such master user */
	SERVICE_LOGIN_FAIL_DISABLED,	/* account or domain disabled */
	SERVICE_LOGIN_FAIL_NO_PASSWORD,	/* the account cannot log in */
	SERVICE_LOGIN_FAIL_PASSWORD,	/* wrong password */
	SERVICE_LOGIN_FAIL_MALFORMED,	/* no usable name or password */
};

static const char *const service_login_reasons[] = {
	[SERVICE_LOGIN_FAIL_NONE] = "ok",
	[SERVICE_LOGIN_FAIL_UNKNOWN] = "unknown_user",
	[SERVICE_LOGIN_FAIL_MASTER] = "unknown_master",
	[SERVICE_LOGIN_FAIL_DISABLED] = "disabled",
	[SERVICE_LOGIN_FAIL_NO_PASSWORD] = "no_password",
	[SERVICE_LOGIN_FAIL_PASSWORD] = "password",
	[SERVICE_LOGIN_FAIL_MALFORMED] = "malformed",
};

struct service_login_entry {
	unsigned char key[SERVICE_LOGIN_DIGEST];
	unsigned char stored[SERVICE_LOGIN_DIGEST];
	uint64_t expires_ms;		/* 0: free */
};

struct service_login {
	const struct config *config;
	struct auth_throttle *throttle;
	/* Two locks: making the dummy takes one Argon2id (~100 ms) under
	   dummy_mutex on a worker, while I/O threads take cache_mutex for
	   each lookup; one lock for both stalled every I/O thread's
	   logins meanwhile. */
	pthread_mutex_t dummy_mutex;	/* the dummy fields */
	pthread_mutex_t cache_mutex;	/* cache */
	bool dummy_made;
	char *dummy;			/* NULL if hashing failed */
	uint64_t dummy_ms;		/* what checking it costs */
	const char *dummy_override;	/* tests: static */
	unsigned char cache_key[crypto_generichash_KEYBYTES];
	struct service_login_entry *cache;
};

struct service_login_job {
	struct service_login *login;
	service_login_done_fn *done;
	void *ctx;
	char *service, *conn_id, *ip, *method;
	char *user;			/* as sent, for logs */
	char *throttle_key;	/* canonical account or "*master"; or NULL */
	char *master;			/* NULL: a plain login */
	char *password;			/* password_len octets + NUL */
	size_t password_len;
	enum service_login_fail fail;	/* before the check */
	/* From the directory. */
	int64_t account_id;
	char *address;
	uint64_t quota_bytes, quota_messages;
	char *hash;			/* NULL: check the dummy */
	unsigned char key[SERVICE_LOGIN_DIGEST];
	unsigned char stored[SERVICE_LOGIN_DIGEST];
	bool cacheable;
	/* Out. */
	enum service_login_status status;
	bool verified;
	unsigned delay_ms;
	unsigned pad_ms;
};

struct service_login *
service_login_new(const struct config *config)
{
	struct service_login *login = xcalloc(1, sizeof(*login));
	struct auth_throttle_limits limits = {
		.max_failures_per_ip = config->auth.max_failures_per_ip,
		.max_failures_per_account =
		    config->auth.max_failures_per_account,
		.window_s = config->auth.failure_window,
		.delay_ms = config->auth.failure_delay,
	};

	if (sodium_init() < 0)
		panic("service_login_new: sodium_init");
	login->config = config;
	login->throttle = auth_throttle_new(&limits);
	if (pthread_mutex_init(&login->dummy_mutex, NULL) != 0 ||
	    pthread_mutex_init(&login->cache_mutex, NULL) != 0)
		panic("service_login_new: pthread_mutex_init");
	randombytes_buf(login->cache_key, sizeof(login->cache_key));
	login->cache = xcalloc((size_t)SERVICE_LOGIN_CACHE_BUCKETS *
	    SERVICE_LOGIN_CACHE_WAYS, sizeof(*login->cache));
	return login;
}

void
service_login_free(struct service_login **loginp)
{
	struct service_login *login = *loginp;

	if (login == NULL)
		return;
	auth_throttle_free(&login->throttle);
	pthread_mutex_destroy(&login->dummy_mutex);
	pthread_mutex_destroy(&login->cache_mutex);
	free(login->dummy);
	sodium_memzero(login->cache_key, sizeof(login->cache_key));
	free(login->cache);
	free(login);
	*loginp = NULL;
}

/* Under dummy_mutex. */
static void
service_login_make_dummy(struct service_login *login)
{
	char *plain, *error = NULL;
	uint64_t t0;

	if (login->dummy_made)
		return;
	plain = password_generate(24);
	t0 = auth_throttle_now_ms();
	login->dummy = password_hash(plain, PASSWORD_SCHEME_DEFAULT, &error);
	login->dummy_ms = auth_throttle_now_ms() - t0;
	if (login->dummy == NULL) {
		log_error("login: event=dummy_hash error=\"%s\"",
		    error != NULL ? error : "unknown");
		free(error);
	}
	explicit_bzero(plain, strlen(plain));
	free(plain);
	login->dummy_made = true;
}

void
service_login_warm(struct service_login *login)
{
	pthread_mutex_lock(&login->dummy_mutex);
	if (login->dummy_override == NULL)
		service_login_make_dummy(login);
	pthread_mutex_unlock(&login->dummy_mutex);
}

void
service_login_set_dummy_hash(struct service_login *login, const char *hash)
{
	pthread_mutex_lock(&login->dummy_mutex);
	login->dummy_override = hash;
	pthread_mutex_unlock(&login->dummy_mutex);
}

/* The hash an unknown user's password is checked against, and what that
   costs (0 for the tests' static one). Worker only: may hash. */
static const char *
service_login_dummy(struct service_login *login, uint64_t *cost_ms_r)
{
	const char *hash;

	pthread_mutex_lock(&login->dummy_mutex);
	if (login->dummy_override != NULL) {
		hash = login->dummy_override;
		*cost_ms_r = 0;
	} else {
		service_login_make_dummy(login);
		hash = login->dummy;
		*cost_ms_r = login->dummy_ms;
	}
	pthread_mutex_unlock(&login->dummy_mutex);
	/* A failed dummy: a string no password matches. */
	return hash != NULL ? hash : "{NONE}";
}

bool
service_login_plaintext_ok(const struct config *config, bool tls,
    bool loopback)
{
	if (tls)
		return true;
	switch (config->auth.plaintext) {
	case CONFIG_PLAINTEXT_ALWAYS:
		return true;
	case CONFIG_PLAINTEXT_LOOPBACK:
		return loopback;
	case CONFIG_PLAINTEXT_NEVER:
		break;
	}
	return false;
}

/* --- the cache ---------------------------------------------------------- */

static void
service_login_digest(const struct service_login *login,
    unsigned char out[SERVICE_LOGIN_DIGEST], const void *a, size_t a_len,
    const void *b, size_t b_len, const void *c, size_t c_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, login->cache_key,
	    sizeof(login->cache_key), SERVICE_LOGIN_DIGEST);
	crypto_generichash_update(&st, a, a_len);
	if (b != NULL)
		crypto_generichash_update(&st, b, b_len);
	if (c != NULL)
		crypto_generichash_update(&st, c, c_len);
	crypto_generichash_final(&st, out, SERVICE_LOGIN_DIGEST);
	sodium_memzero(&st, sizeof(st));
}

/* The job's cache key and stored-hash digest (job->hash is set). */
static void
service_login_cache_prepare(struct service_login_job *job)
{
	unsigned char id[8];
	uint64_t v = (uint64_t)job->account_id;
	const char *master = job->master != NULL ? job->master : "";

	for (int i = 0; i < 8; i++)
		id[i] = (unsigned char)(v >> (8 * i));
	/* The master's name and its NUL separate the fields: "a" + "bc"
	   and "ab" + "c" differ. */
	service_login_digest(job->login, job->key, id, sizeof(id), master,
	    strlen(master) + 1, job->password, job->password_len);
	service_login_digest(job->login, job->stored, "stored", 7, job->hash,
	    strlen(job->hash), NULL, 0);
	job->cacheable = true;
}

static struct service_login_entry *
service_login_bucket(struct service_login *login,
    const unsigned char key[SERVICE_LOGIN_DIGEST])
{
	uint32_t b = (uint32_t)key[0] | (uint32_t)key[1] << 8 |
	    (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;

	return &login->cache[(size_t)(b % SERVICE_LOGIN_CACHE_BUCKETS) *
	    SERVICE_LOGIN_CACHE_WAYS];
}

static bool
service_login_cache_hit(struct service_login_job *job, uint64_t now_ms)
{
	struct service_login *login = job->login;
	struct service_login_entry *e;
	bool hit = false;

	pthread_mutex_lock(&login->cache_mutex);
	e = service_login_bucket(login, job->key);
	for (int i = 0; i < SERVICE_LOGIN_CACHE_WAYS; i++) {
		if (e[i].expires_ms <= now_ms ||
		    sodium_memcmp(e[i].key, job->key, SERVICE_LOGIN_DIGEST)
		    != 0)
			continue;
		if (sodium_memcmp(e[i].stored, job->stored,
		    SERVICE_LOGIN_DIGEST) == 0)
			hit = true;
		else
			/* The stored hash changed since: forget it. */
			memset(&e[i], 0, sizeof(e[i]));
		break;
	}
	pthread_mutex_unlock(&login->cache_mutex);
	return hit;
}

static void
service_login_cache_put(struct service_login_job *job, uint64_t now_ms)
{
	struct service_login *login = job->login;
	struct service_login_entry *e, *victim;

	pthread_mutex_lock(&login->cache_mutex);
	e = service_login_bucket(login, job->key);
	victim = &e[0];
	for (int i = 0; i < SERVICE_LOGIN_CACHE_WAYS; i++) {
		if (sodium_memcmp(e[i].key, job->key, SERVICE_LOGIN_DIGEST)
		    == 0 || e[i].expires_ms <= now_ms) {
			victim = &e[i];
			break;
		}
		/* Full: the one closest to expiring makes room. */
		if (e[i].expires_ms < victim->expires_ms)
			victim = &e[i];
	}
	memcpy(victim->key, job->key, SERVICE_LOGIN_DIGEST);
	memcpy(victim->stored, job->stored, SERVICE_LOGIN_DIGEST);
	victim->expires_ms = now_ms +
	    (uint64_t)login->config->auth.cache_ttl * 1000;
	pthread_mutex_unlock(&login->cache_mutex);
}

/* --- the job ------------------------------------------------------------ */

static void
service_login_job_free(struct service_login_job *job)
{
	if (job->password != NULL) {
		explicit_bzero(job->password, job->password_len);
		free(job->password);
	}
	if (job->hash != NULL) {
		explicit_bzero(job->hash, strlen(job->hash));
		free(job->hash);
	}
	sodium_memzero(job->key, sizeof(job->key));
	free(job->service);
	free(job->conn_id);
	free(job->ip);
	free(job->method);
	free(job->user);
	free(job->throttle_key);
	free(job->master);
	free(job->address);
	free(job);
}

static void
service_login_finish(void *ctx)
{
	struct service_login_job *job = ctx;
	struct service_login_result result = {
		.status = job->status,
		.account_id = job->account_id,
		.address = job->address,
		.master = job->master,
		.quota_bytes = job->quota_bytes,
		.quota_messages = job->quota_messages,
		.delay_ms = job->delay_ms,
	};

	if (result.status != SERVICE_LOGIN_OK) {
		result.account_id = 0;
		result.address = NULL;
		result.master = NULL;
		result.quota_bytes = result.quota_messages = 0;
	}
	job->done(&result, job->ctx);
	service_login_job_free(job);
}

static void
service_login_work(void *ctx)
{
	struct service_login_job *job = ctx;
	uint64_t dummy_ms, started_ms, elapsed;
	const char *hash;
	int ret;

	/* Made (and timed) first even for a real hash, so the padding
	   below knows the dummy's cost. */
	hash = service_login_dummy(job->login, &dummy_ms);
	if (job->hash != NULL)
		hash = job->hash;
	started_ms = auth_throttle_now_ms();
	/* Checked whatever fail says: the answer costs the same. */
	ret = password_verify(job->password, job->password_len, hash);
	explicit_bzero(job->password, job->password_len);
	if (job->fail == SERVICE_LOGIN_FAIL_NONE && ret != 1)
		job->fail = SERVICE_LOGIN_FAIL_PASSWORD;
	if (job->fail == SERVICE_LOGIN_FAIL_NONE) {
		job->verified = true;
		return;
	}
	/* A failure checked against a hash cheaper than the dummy waits
	   what an unknown user's check would have cost: otherwise how fast
	   the failure comes says whether the account exists. */
	elapsed = auth_throttle_now_ms() - started_ms;
	if (elapsed < dummy_ms)
		job->pad_ms = dummy_ms - elapsed > SERVICE_LOGIN_PAD_MAX_MS ?
		    SERVICE_LOGIN_PAD_MAX_MS : (unsigned)(dummy_ms - elapsed);
}

/* One line per refused login, with ip= and user= for fail2ban. */
static void
service_login_log_failure(const struct service_login_job *job,
    const char *event, const char *reason)
{
	char esc[LOG_STR_MAX];
	const char *user = job->user != NULL ? job->user : "";

	log_info("%s: conn=%s event=%s ip=%s user=%s method=%s reason=%s",
	    job->service, job->conn_id, event, job->ip,
	    *user != '\0' ? log_str(esc, sizeof(esc), user, strlen(user)) :
	    "-", job->method, reason);
}

/* Back on the I/O thread after the check. */
static void
service_login_checked(void *ctx)
{
	struct service_login_job *job = ctx;
	struct service_login *login = job->login;
	uint64_t now_ms = auth_throttle_now_ms();
	unsigned delay;

	if (job->verified) {
		auth_throttle_success(login->throttle, job->ip,
		    job->throttle_key, now_ms);
		if (job->cacheable && login->config->auth.cache_ttl > 0)
			service_login_cache_put(job, now_ms);
		job->status = SERVICE_LOGIN_OK;
	} else {
		delay = auth_throttle_failure(login->throttle, job->ip,
		    job->throttle_key, now_ms);
		job->delay_ms = delay > UINT_MAX - job->pad_ms ? UINT_MAX :
		    delay + job->pad_ms;
		job->status = SERVICE_LOGIN_FAILED;
		service_login_log_failure(job, "auth_failed",
		    service_login_reasons[job->fail]);
	}
	service_login_finish(job);
}

/* Whether the account's domain is enabled. -1 on a database error. */
static int
service_login_domain_enabled(struct directory *dir, const char *address)
{
	struct directory_domain domain;
	struct directory_error err = { 0 };
	const char *at = strrchr(address, '@');
	int ret;

	if (at == NULL)
		return 0;
	if (directory_admin_domain_get(dir, at + 1, &domain, &err) == -1)
		ret = err.code == DIRECTORY_ERROR_DB ? -1 : 0;
	else
		ret = domain.enabled ? 1 : 0;
	directory_domain_clear(&domain);
	directory_error_clear(&err);
	return ret;
}

/* Splits the request into the account name and the master user's
   (job->master), and sets the throttle's key. Returns the account name
   (heap), or NULL for a request that cannot succeed. */
static char *
service_login_names(struct service_login_job *job,
    const struct service_login_request *req)
{
	const char *user = req->user, *star;
	char *account;
	size_t len;

	if (user == NULL || *user == '\0')
		return NULL;
	if (req->authzid != NULL && *req->authzid != '\0' &&
	    strcasecmp(req->authzid, user) != 0) {
		/* RFC 4616 §2: authcid (the master) acts as authzid. */
		if (strchr(user, '*') != NULL)
			return NULL;
		job->master = xstrdup(user);
		account = xstrdup(req->authzid);
	} else if ((star = strrchr(user, '*')) != NULL &&
	    strchr(star, '@') == NULL) {
		/* Dovecot's master_user_separator: "user@domain*master".
		   A '*' inside a local part has an '@' after it. */
		len = (size_t)(star - user);
		if (len == 0 || star[1] == '\0')
			return NULL;
		job->master = xstrdup(star + 1);
		account = xstrndup(user, len);
	} else {
		account = xstrdup(user);
	}
	if (job->master != NULL)
		/* A guesser aims at the master password: count it there,
		   whichever account is named. */
		job->throttle_key = xasprintf("*%s", job->master);
	return account;
}

/* The per-account throttle counts the account, not the spelling: keyed
   by the name as sent, bob@alias.example, "b\ob"@example.org (quoted
   pairs: any number of spellings) and a domain's U-label form would
   each get a budget of their own, so tries per account were unbounded.
   The key is the canonical form the lookup uses (lower case, quotes
   decoded, alias domain replaced, A-labels); a name without one is
   counted as sent (the throttle ignores case). dir may be NULL. */
static void
service_login_throttle_key(struct service_login_job *job,
    struct directory *dir, const char *account)
{
	char canon[DIRECTORY_MASTER_CANONICAL_MAX];
	struct directory_error err = { 0 };

	if (job->throttle_key != NULL || account == NULL)
		return;
	if (dir != NULL &&
	    directory_master_canonical(dir, account, canon, &err) != -1)
		job->throttle_key = xstrdup(canon);
	else
		job->throttle_key = xstrdup(account);
	directory_error_clear(&err);
}

/* Reads the account (and master user) into job. -1: the directory
   failed (TEMPFAIL). */
static int
service_login_lookup(struct service_login_job *job, struct directory *dir,
    const char *name)
{
	struct directory_account account;
	struct directory_master master;
	struct directory_error err = { 0 };
	int enabled, ret = -1;

	memset(&master, 0, sizeof(master));
	if (directory_master_account(dir, name, &account, &err) == -1) {
		if (err.code == DIRECTORY_ERROR_DB)
			goto out;
		job->fail = SERVICE_LOGIN_FAIL_UNKNOWN;
		ret = 0;
		goto out;
	}
	if ((enabled = service_login_domain_enabled(dir, account.address))
	    == -1)
		goto out;
	job->account_id = account.id;
	job->address = xstrdup(account.address);
	job->quota_bytes = account.quota_bytes;
	job->quota_messages = account.quota_messages;
	if (job->master != NULL) {
		directory_error_clear(&err);
		if (directory_master_get(dir, job->master, &master,
		    &err) == -1) {
			if (err.code == DIRECTORY_ERROR_DB)
				goto out;
			job->fail = SERVICE_LOGIN_FAIL_MASTER;
		} else {
			/* The stored form: the cache key names it. */
			free(job->master);
			job->master = xstrdup(master.name);
			job->hash = xstrdup(master.password);
		}
	} else if (account.password != NULL) {
		job->hash = xstrdup(account.password);
	} else {
		job->fail = SERVICE_LOGIN_FAIL_NO_PASSWORD;
	}
	if (job->fail == SERVICE_LOGIN_FAIL_NONE &&
	    (!account.enabled || !enabled))
		job->fail = SERVICE_LOGIN_FAIL_DISABLED;
	ret = 0;
out:
	if (ret == -1)
		log_error("%s: conn=%s event=auth_tempfail ip=%s error=\"%s\"",
		    job->service, job->conn_id, job->ip, err.message != NULL ?
		    err.message : "directory unavailable");
	directory_master_clear(&master);
	directory_account_clear(&account);
	directory_error_clear(&err);
	return ret;
}

void
service_login_start(struct service_login *login,
    struct service_thread *thread, struct worker_pool *pool,
    const struct service_login_request *req, service_login_done_fn *done,
    void *ctx)
{
	struct service_login_job *job = xcalloc(1, sizeof(*job));
	struct event_base *base = service_thread_base(thread);
	struct directory *dir;
	char *name;

	job->login = login;
	job->done = done;
	job->ctx = ctx;
	job->service = xstrdup(req->service);
	job->conn_id = xstrdup(req->conn_id);
	job->ip = xstrdup(req->ip);
	job->method = xstrdup(req->method);
	job->user = req->user != NULL ? xstrdup(req->user) : NULL;
	job->password_len = req->password_len;
	job->password = xmalloc(req->password_len + 1);
	if (req->password_len > 0)
		memcpy(job->password, req->password, req->password_len);
	job->password[req->password_len] = '\0';

	name = service_login_names(job, req);
	if (name == NULL || req->password_len == 0 ||
	    req->password_len > PASSWORD_MAX_LEN)
		job->fail = SERVICE_LOGIN_FAIL_MALFORMED;
	dir = service_thread_directory(thread);
	service_login_throttle_key(job, dir, name);
	switch (auth_throttle_check(login->throttle, job->ip,
	    job->throttle_key, auth_throttle_now_ms())) {
	case AUTH_THROTTLE_OK:
		break;
	case AUTH_THROTTLE_IP_BLOCKED:
	case AUTH_THROTTLE_ACCOUNT_BLOCKED:
		service_login_log_failure(job, "auth_blocked", "throttle");
		job->status = SERVICE_LOGIN_BLOCKED;
		job->delay_ms = auth_throttle_delay_ms(login->throttle);
		worker_post(base, service_login_finish, job);
		free(name);
		return;
	}
	if (job->fail == SERVICE_LOGIN_FAIL_NONE) {
		if (dir == NULL ||
		    service_login_lookup(job, dir, name) == -1) {
			if (dir == NULL)
				log_error("%s: conn=%s event=auth_tempfail "
				    "ip=%s error=\"directory unavailable\"",
				    job->service, job->conn_id, job->ip);
			job->status = SERVICE_LOGIN_TEMPFAIL;
			worker_post(base, service_login_finish, job);
			free(name);
			return;
		}
	}
	free(name);
	if (job->fail == SERVICE_LOGIN_FAIL_NONE && job->hash != NULL) {
		service_login_cache_prepare(job);
		if (login->config->auth.cache_ttl > 0 &&
		    service_login_cache_hit(job, auth_throttle_now_ms())) {
			job->verified = true;
			worker_post(base, service_login_checked, job);
			return;
		}
	}
	worker_submit(pool, base, service_login_work, service_login_checked,
	    job);
}
