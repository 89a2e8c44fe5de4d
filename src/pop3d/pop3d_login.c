/* pop3d_login.c — USER/PASS (RFC 1939 §7), AUTH PLAIN (RFC 5034, RFC
   4616) and the login job: directory lookup on the I/O thread (a short
   indexed read, DESIGN.md §2), then the password check, the store's open
   and the INBOX snapshot on a worker (Argon2id costs ~100 ms).

   No oracle: an unknown user, a disabled account or domain, an account
   without a password and a wrong password all get the same answer after
   the same time — a password check (against a dummy hash when there is no
   real one), padded to what the dummy costs when the account's hash is
   cheaper (a scheme migrated from elsewhere: {PLAIN}, SHA512-CRYPT), and
   the throttle's delay. Each failure is logged with ip= and
   user= (fail2ban). A login refused by the throttle is not checked at all
   and gets [SYS/TEMP] after the same delay. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_sasl.h"
#include "auth/auth_throttle.h"
#include "auth/password.h"
#include "config/config.h"
#include "directory/directory_admin.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_command.h"
#include "pop3d/pop3d_maildrop.h"
#include "pop3d/pop3d_private.h"
#include "service/service_thread.h"
#include "store/store.h"

/* Dovecot's wording shape (RFC 3206 §4 [AUTH]). */
#define POP3D_PLAINTEXT_REFUSED "-ERR [AUTH] Plaintext authentication " \
	"disallowed on non-secure connections."
#define POP3D_AUTH_FAILED "-ERR [AUTH] Authentication failed."
#define POP3D_AUTH_TEMPFAIL "-ERR [SYS/TEMP] Temporary authentication " \
	"failure, try again later."
#define POP3D_AUTH_BLOCKED "-ERR [SYS/TEMP] Too many failed logins, try " \
	"again later."

enum pop3d_login_fail {
	POP3D_LOGIN_OK,
	POP3D_LOGIN_UNKNOWN,		/* no such account */
	POP3D_LOGIN_DISABLED,		/* account or domain disabled */
	POP3D_LOGIN_NO_PASSWORD,	/* the account cannot log in */
	POP3D_LOGIN_PASSWORD,		/* wrong password */
	POP3D_LOGIN_MALFORMED,		/* SASL response unusable */
	POP3D_LOGIN_AUTHZID,		/* PLAIN asked to act as another */
};

static const char *const pop3d_login_reasons[] = {
	[POP3D_LOGIN_OK] = "ok",
	[POP3D_LOGIN_UNKNOWN] = "unknown_user",
	[POP3D_LOGIN_DISABLED] = "disabled",
	[POP3D_LOGIN_NO_PASSWORD] = "no_password",
	[POP3D_LOGIN_PASSWORD] = "password",
	[POP3D_LOGIN_MALFORMED] = "malformed",
	[POP3D_LOGIN_AUTHZID] = "authzid",
};

struct pop3d_login_job {
	/* In. */
	const char *method;		/* "USER" or "PLAIN", static */
	char *user;			/* as the client gave it */
	char *address;			/* the account's, NULL if unknown */
	char *data_dir;
	int64_t account_id;
	char *hash;			/* stored hash, NULL: the dummy */
	char password[POP3D_LINE_MAX];
	size_t password_len;
	enum pop3d_login_fail fail;	/* before the check; OK to try */
	/* Out. */
	bool verified;
	unsigned pad_ms;		/* a failure's answer waits this more */
	struct store *store;
	struct pop3d_maildrop *md;
	char *error;			/* store or maildrop failure */
};

static pthread_once_t pop3d_login_dummy_once = PTHREAD_ONCE_INIT;
static char *pop3d_login_dummy;
/* What checking a password against the dummy costs (its hashing, timed);
   written inside the once, read after it. */
static uint64_t pop3d_login_dummy_ms;
/* pop3d_login_set_dummy_hash: tests and fuzzers only. */
static const char *pop3d_login_dummy_override;

/* A hash of a random password in the default scheme: what an unknown
   user's password is checked against, so that the answer takes as long
   as for a real account. Made once per process, on a worker when the
   first client connects (pop3d_login_init), or else by the first login
   that needs it. Never freed: the process keeps it. */
static void
pop3d_login_dummy_init(void)
{
	char *plain = password_generate(24), *error = NULL;
	uint64_t t0 = auth_throttle_now_ms();

	pop3d_login_dummy = password_hash(plain, PASSWORD_SCHEME_DEFAULT,
	    &error);
	pop3d_login_dummy_ms = auth_throttle_now_ms() - t0;
	if (pop3d_login_dummy == NULL) {
		log_error("pop3d: event=dummy_hash error=\"%s\"",
		    error != NULL ? error : "unknown");
		free(error);
	}
	explicit_bzero(plain, strlen(plain));
	free(plain);
}

void
pop3d_login_init(void)
{
	pthread_once(&pop3d_login_dummy_once, pop3d_login_dummy_init);
}

void
pop3d_login_set_dummy_hash(const char *hash)
{
	pop3d_login_dummy_override = hash;
}

bool
pop3d_login_plaintext_ok(const struct pop3d_session *s)
{
	if (s->conn == NULL)
		return false;
	if (conn_is_tls(s->conn))
		return true;
	switch (s->config->auth.plaintext) {
	case CONFIG_PLAINTEXT_ALWAYS:
		return true;
	case CONFIG_PLAINTEXT_LOOPBACK:
		return conn_peer_is_loopback(s->conn);
	case CONFIG_PLAINTEXT_NEVER:
		break;
	}
	return false;
}

static void
pop3d_login_job_free(struct pop3d_login_job *job)
{
	explicit_bzero(job->password, sizeof(job->password));
	free(job->user);
	free(job->address);
	free(job->data_dir);
	free(job->hash);
	free(job->error);
	pop3d_maildrop_free(&job->md);
	if (job->store != NULL)
		panic("pop3d_login_job_free: store still open");
	free(job);
}

/* A failure checked against a hash cheaper than the dummy: how much
   longer an unknown user's check would have taken. Without this, how fast
   the -ERR comes says whether the account exists. */
static unsigned
pop3d_login_pad_ms(uint64_t started_ms)
{
	uint64_t elapsed;

	if (pop3d_login_dummy_override != NULL)
		return 0;
	pthread_once(&pop3d_login_dummy_once, pop3d_login_dummy_init);
	elapsed = auth_throttle_now_ms() - started_ms;
	if (elapsed >= pop3d_login_dummy_ms)
		return 0;
	/* A dummy hash that took seconds was a stalled machine, not the
	   cost to match. */
	return pop3d_login_dummy_ms - elapsed > 2000 ? 2000 :
	    (unsigned)(pop3d_login_dummy_ms - elapsed);
}

static void
pop3d_login_work(void *ctx)
{
	struct pop3d_login_job *job = ctx;
	const char *hash = job->hash;
	uint64_t started_ms = auth_throttle_now_ms();
	int ret;

	if (hash == NULL && pop3d_login_dummy_override != NULL) {
		hash = pop3d_login_dummy_override;
	} else if (hash == NULL) {
		pthread_once(&pop3d_login_dummy_once, pop3d_login_dummy_init);
		hash = pop3d_login_dummy;
	}
	/* Checked whatever fail says: the answer costs the same. */
	ret = password_verify(job->password, job->password_len, hash);
	explicit_bzero(job->password, sizeof(job->password));
	if (job->fail == POP3D_LOGIN_OK && ret != 1)
		job->fail = POP3D_LOGIN_PASSWORD;
	if (job->fail != POP3D_LOGIN_OK) {
		job->pad_ms = pop3d_login_pad_ms(started_ms);
		return;
	}
	job->verified = true;
	if (store_open(job->data_dir, job->account_id, NULL, &job->store,
	    &job->error) != STORE_OK) {
		job->store = NULL;
		return;
	}
	if (pop3d_maildrop_load(job->store, &job->md, &job->error) == -1)
		store_close(&job->store);
}

/* A failed login: counted, logged, answered after the delay. */
static void
pop3d_login_failed(struct pop3d_session *s, const char *method,
    const char *user, enum pop3d_login_fail fail, unsigned pad_ms)
{
	char esc[LOG_STR_MAX];
	unsigned delay;
	bool last;

	delay = auth_throttle_failure(s->params.throttle, s->addr, user,
	    auth_throttle_now_ms());
	delay = delay > UINT_MAX - pad_ms ? UINT_MAX : delay + pad_ms;
	s->auth_failures++;
	log_info(POP3D_LOG_PREFIX " event=auth_failed ip=%s user=%s "
	    "method=%s reason=%s failures=%u", s->id, s->addr,
	    user != NULL ? log_str(esc, sizeof(esc), user, strlen(user)) :
	    "-", method, pop3d_login_reasons[fail], s->auth_failures);
	last = s->auth_failures >= POP3D_MAX_AUTH_FAILURES;
	if (s->state != POP3D_STATE_AUTH)
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
	pop3d_session_delay_reply(s, delay, POP3D_AUTH_FAILED, last);
}

static void
pop3d_login_done(struct pop3d_session *s, void *ctx)
{
	struct pop3d_login_job *job = ctx;
	char esc[LOG_STR_MAX];
	size_t count;
	uint64_t size;

	if (pop3d_session_is_gone(s)) {
		/* Nobody to answer; the store closes with the session. */
		s->store = job->store;
		job->store = NULL;
		pop3d_login_job_free(job);
		return;
	}
	if (!job->verified) {
		pop3d_login_failed(s, job->method, job->user, job->fail,
		    job->pad_ms);
		pop3d_login_job_free(job);
		return;
	}
	if (job->store == NULL) {
		log_error(POP3D_LOG_PREFIX " event=mailbox_error user=%s "
		    "error=\"%s\"", s->id, log_str(esc, sizeof(esc),
		    job->address, strlen(job->address)),
		    job->error != NULL ? job->error : "unknown");
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Unable to open the "
		    "mailbox, try again later.");
		pop3d_login_job_free(job);
		pop3d_session_resume(s);
		return;
	}
	auth_throttle_success(s->params.throttle, s->addr, job->user,
	    auth_throttle_now_ms());
	s->store = job->store;
	job->store = NULL;
	s->md = job->md;
	job->md = NULL;
	s->account = job->address;
	job->address = NULL;
	s->account_id = job->account_id;
	pop3d_maildrop_stat(s->md, &count, &size);
	log_info(POP3D_LOG_PREFIX " event=login ip=%s user=%s method=%s "
	    "tls=%s messages=%zu size=%llu", s->id, s->addr,
	    log_str(esc, sizeof(esc), s->account, strlen(s->account)),
	    job->method, conn_is_tls(s->conn) ? "yes" : "no", count,
	    (unsigned long long)size);
	pop3d_login_job_free(job);
	pop3d_session_set_state(s, POP3D_STATE_TRANSACTION);
	/* RFC 1939 §7: the maildrop is ready. */
	pop3d_session_reply(s, "+OK Logged in.");
	pop3d_session_resume(s);
}

/* Whether domain (of the account's address) is enabled. -1 on a
   database error. */
static int
pop3d_login_domain_enabled(struct directory *dir, const char *address)
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

/* Checks user's password (len octets) and, when right, opens the
   maildrop; the answer comes from pop3d_login_done or a delay. */
static void
pop3d_login_start(struct pop3d_session *s, const char *method,
    const char *user, const char *password, size_t len,
    enum pop3d_login_fail fail)
{
	struct directory_account account;
	struct directory_error err = { 0 };
	struct pop3d_login_job *job;
	struct directory *dir;
	char esc[LOG_STR_MAX];
	int enabled;

	pop3d_session_set_state(s, POP3D_STATE_LOGIN);
	switch (auth_throttle_check(s->params.throttle, s->addr, user,
	    auth_throttle_now_ms())) {
	case AUTH_THROTTLE_OK:
		break;
	case AUTH_THROTTLE_IP_BLOCKED:
	case AUTH_THROTTLE_ACCOUNT_BLOCKED:
		log_info(POP3D_LOG_PREFIX " event=auth_blocked ip=%s user=%s "
		    "method=%s", s->id, s->addr, user != NULL ?
		    log_str(esc, sizeof(esc), user, strlen(user)) : "-",
		    method);
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_delay_reply(s,
		    auth_throttle_delay_ms(s->params.throttle),
		    POP3D_AUTH_BLOCKED, true);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->method = method;
	job->user = user != NULL ? xstrdup(user) : NULL;
	job->data_dir = xstrdup(s->config->data_dir);
	job->fail = fail;
	if (len >= sizeof(job->password))
		panic("pop3d_login_start: password of %zu octets", len);
	memcpy(job->password, password, len);
	job->password_len = len;
	memset(&account, 0, sizeof(account));
	if (fail == POP3D_LOGIN_OK && user != NULL) {
		if ((dir = service_thread_directory(s->params.thread)) == NULL)
			goto tempfail;
		if (directory_admin_account_get(dir, user, &account,
		    &err) == -1) {
			if (err.code == DIRECTORY_ERROR_DB)
				goto tempfail;
			job->fail = POP3D_LOGIN_UNKNOWN;
		} else if ((enabled = pop3d_login_domain_enabled(dir,
		    account.address)) == -1) {
			goto tempfail;
		} else {
			job->account_id = account.id;
			job->address = xstrdup(account.address);
			if (account.password != NULL)
				job->hash = xstrdup(account.password);
			if (!account.enabled || !enabled)
				job->fail = POP3D_LOGIN_DISABLED;
			else if (account.password == NULL)
				job->fail = POP3D_LOGIN_NO_PASSWORD;
		}
	}
	directory_account_clear(&account);
	directory_error_clear(&err);
	pop3d_session_submit(s, pop3d_login_work, pop3d_login_done, job);
	return;
tempfail:
	log_error(POP3D_LOG_PREFIX " event=auth_tempfail ip=%s error=\"%s\"",
	    s->id, s->addr, err.message != NULL ? err.message :
	    "directory unavailable");
	directory_account_clear(&account);
	directory_error_clear(&err);
	pop3d_login_job_free(job);
	pop3d_session_set_state(s, POP3D_STATE_AUTH);
	pop3d_session_reply(s, POP3D_AUTH_TEMPFAIL);
}

void
pop3d_login_user(struct pop3d_session *s, struct pop3d_command *cmd)
{
	if (!pop3d_login_plaintext_ok(s)) {
		pop3d_session_error(s, POP3D_PLAINTEXT_REFUSED);
		return;
	}
	free(s->user);
	s->user = xstrdup(cmd->arg);
	/* RFC 1939 §7 allows -ERR for an unknown mailbox here; that would
	   tell a prober which exist. */
	pop3d_session_reply(s, "+OK");
}

void
pop3d_login_pass(struct pop3d_session *s, struct pop3d_command *cmd)
{
	char *user;

	if (!pop3d_login_plaintext_ok(s)) {
		pop3d_session_error(s, POP3D_PLAINTEXT_REFUSED);
		return;
	}
	if (s->user == NULL) {
		pop3d_session_error(s, "-ERR No username given.");
		return;
	}
	/* RFC 1939 §7: a PASS, right or wrong, ends the USER. */
	user = s->user;
	s->user = NULL;
	pop3d_login_start(s, "USER", user, cmd->arg, cmd->arg_len,
	    POP3D_LOGIN_OK);
	explicit_bzero(user, strlen(user));
	free(user);
}

/* A decoded PLAIN response (or its failure) goes to the check. */
static void
pop3d_login_plain(struct pop3d_session *s, const char *b64, size_t len)
{
	struct auth_sasl_plain plain;
	const char *error = NULL;

	if (auth_sasl_plain_decode(b64, len, &plain, &error) == -1) {
		log_debug(POP3D_LOG_PREFIX " event=sasl_malformed error=\"%s\"",
		    s->id, error);
		/* A malformed response costs a failure like a wrong
		   password: no free probing. */
		pop3d_login_start(s, "PLAIN", NULL, "", 0,
		    POP3D_LOGIN_MALFORMED);
	} else {
		pop3d_login_start(s, "PLAIN", plain.authcid, plain.passwd,
		    plain.passwd_len, auth_sasl_plain_authzid_ok(&plain) ?
		    POP3D_LOGIN_OK : POP3D_LOGIN_AUTHZID);
	}
	auth_sasl_plain_clear(&plain);
}

void
pop3d_login_auth(struct pop3d_session *s, struct pop3d_command *cmd)
{
	if (cmd->arg == NULL) {
		/* Bare AUTH: the mechanism list of RFC 1734, which some
		   clients still send instead of CAPA. */
		pop3d_session_write(s, "+OK\r\n", 5);
		if (pop3d_login_plaintext_ok(s))
			pop3d_session_write(s, "PLAIN\r\n", 7);
		pop3d_session_write(s, ".\r\n", 3);
		return;
	}
	if (strcmp(cmd->arg, "PLAIN") != 0) {
		pop3d_session_error(s, "-ERR Unsupported authentication "
		    "mechanism.");
		return;
	}
	if (!pop3d_login_plaintext_ok(s)) {
		pop3d_session_error(s, POP3D_PLAINTEXT_REFUSED);
		return;
	}
	if (s->user != NULL)
		explicit_bzero(s->user, strlen(s->user));
	xfree(&s->user);
	if (cmd->initial != NULL) {
		/* RFC 5034 §4: "=" is an empty initial response. */
		if (strcmp(cmd->initial, "=") == 0)
			pop3d_login_plain(s, "", 0);
		else
			pop3d_login_plain(s, cmd->initial,
			    strlen(cmd->initial));
		return;
	}
	/* RFC 5034 §4: an empty challenge. */
	pop3d_session_set_state(s, POP3D_STATE_SASL);
	pop3d_session_reply(s, "+ ");
}

void
pop3d_login_sasl_line(struct pop3d_session *s, const char *line, size_t len)
{
	if (auth_sasl_is_cancel(line, len)) {
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_error(s, "-ERR Authentication aborted.");
		return;
	}
	pop3d_login_plain(s, line, len);
}
