/* pop3d_login.c — USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034, RFC
   4616): the POP3 side of the shared login (service_login.h: names,
   throttle, dummy hash, cache, the failure log line), then the store's
   open and the INBOX snapshot on a worker.

   While the login runs the session counts as having a job (input paused,
   no idle timeout, not freed), exactly as with pop3d_session_submit. A
   login refused by the throttle gets [SYS/TEMP] after the same delay and
   the connection closes. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_sasl.h"
#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_command.h"
#include "pop3d/pop3d_maildrop.h"
#include "pop3d/pop3d_private.h"
#include "service/service_login.h"
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

/* The store's open after a successful login. */
struct pop3d_login_job {
	/* In. */
	const char *method;		/* "USER" or "PLAIN", static */
	char *address;			/* the account's */
	char *master;			/* master user's name, or NULL */
	char *data_dir;
	int64_t account_id;
	/* Out. */
	struct store *store;
	struct pop3d_maildrop *md;
	char *error;			/* store or maildrop failure */
};

bool
pop3d_login_plaintext_ok(const struct pop3d_session *s)
{
	if (s->conn == NULL)
		return false;
	return service_login_plaintext_ok(s->config, conn_is_tls(s->conn),
	    conn_peer_is_loopback(s->conn));
}

static void
pop3d_login_job_free(struct pop3d_login_job *job)
{
	free(job->address);
	free(job->master);
	free(job->data_dir);
	free(job->error);
	pop3d_maildrop_free(&job->md);
	if (job->store != NULL)
		panic("pop3d_login_job_free: store still open");
	free(job);
}

static void
pop3d_login_open_work(void *ctx)
{
	struct pop3d_login_job *job = ctx;

	if (store_open(job->data_dir, job->account_id, NULL, &job->store,
	    &job->error) != STORE_OK) {
		job->store = NULL;
		return;
	}
	if (pop3d_maildrop_load(job->store, &job->md, &job->error) == -1)
		store_close(&job->store);
}

static void
pop3d_login_open_done(struct pop3d_session *s, void *ctx)
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
	s->store = job->store;
	job->store = NULL;
	s->md = job->md;
	job->md = NULL;
	s->account = job->address;
	job->address = NULL;
	s->account_id = job->account_id;
	pop3d_maildrop_stat(s->md, &count, &size);
	log_info(POP3D_LOG_PREFIX " event=login ip=%s user=%s method=%s "
	    "master=%s tls=%s messages=%zu size=%llu", s->id, s->addr,
	    log_str(esc, sizeof(esc), s->account, strlen(s->account)),
	    job->method, job->master != NULL ? job->master : "-",
	    conn_is_tls(s->conn) ? "yes" : "no", count,
	    (unsigned long long)size);
	pop3d_login_job_free(job);
	pop3d_session_set_state(s, POP3D_STATE_TRANSACTION);
	/* RFC 1939 §7: the maildrop is ready. */
	pop3d_session_reply(s, "+OK Logged in.");
	pop3d_session_resume(s);
}

/* service_login's answer, on the session's thread. */
static void
pop3d_login_checked(const struct service_login_result *r, void *ctx)
{
	struct pop3d_session *s = ctx;
	struct pop3d_login_job *job;
	const char *method = s->login_method;

	pop3d_session_wait_end(s);
	if (pop3d_session_is_gone(s))
		goto out;
	switch (r->status) {
	case SERVICE_LOGIN_OK:
		job = xcalloc(1, sizeof(*job));
		job->method = method;
		job->address = xstrdup(r->address);
		job->master = r->master != NULL ? xstrdup(r->master) : NULL;
		job->data_dir = xstrdup(s->config->data_dir);
		job->account_id = r->account_id;
		pop3d_session_submit(s, pop3d_login_open_work,
		    pop3d_login_open_done, job);
		break;
	case SERVICE_LOGIN_FAILED:
		s->auth_failures++;
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_delay_reply(s, r->delay_ms, POP3D_AUTH_FAILED,
		    s->auth_failures >= POP3D_MAX_AUTH_FAILURES);
		break;
	case SERVICE_LOGIN_BLOCKED:
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_delay_reply(s, r->delay_ms, POP3D_AUTH_BLOCKED,
		    true);
		break;
	case SERVICE_LOGIN_TEMPFAIL:
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_reply(s, POP3D_AUTH_TEMPFAIL);
		pop3d_session_resume(s);
		break;
	}
out:
	pop3d_session_leave(s);
}

/* Checks user's password (len octets; user NULL: a malformed response,
   which costs a failure like a wrong password: no free probing); the
   answer comes from pop3d_login_checked. */
static void
pop3d_login_start(struct pop3d_session *s, const char *method,
    const char *user, const char *authzid, const char *password, size_t len)
{
	struct service_login_request req = {
		.service = "pop3d",
		.conn_id = s->id,
		.ip = s->addr,
		.method = method,
		.user = user,
		.authzid = authzid,
		.password = password,
		.password_len = len,
	};

	pop3d_session_set_state(s, POP3D_STATE_LOGIN);
	s->login_method = method;
	pop3d_session_wait_begin(s);
	service_login_start(s->params.login, s->params.thread,
	    s->params.workers, &req, pop3d_login_checked, s);
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
	pop3d_login_start(s, "USER", user, NULL, cmd->arg, cmd->arg_len);
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
		pop3d_login_start(s, "PLAIN", NULL, NULL, "", 0);
	} else {
		/* An authzid other than the authcid is a master login. */
		pop3d_login_start(s, "PLAIN", plain.authcid, plain.authzid,
		    plain.passwd, plain.passwd_len);
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
