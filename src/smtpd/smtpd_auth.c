/* smtpd_auth.c — SMTP AUTH on submission listeners (RFC 4954) with the
   PLAIN (RFC 4616) and LOGIN mechanisms, checked by the shared login
   (service_login.h: one throttle with POP3 and IMAP, master users, the
   cache), and who may relay: a logged-in client, or one from
   [submission] relay_networks.

   AUTH is offered only on submission listeners, after EHLO, outside a
   transaction, and only over TLS unless [auth] plaintext allows this
   connection (RFC 4954 §4: 538 / Postfix's 530 otherwise). A failure is
   answered 535 5.7.8 after the throttle's delay; the third in one
   connection closes it. While the login runs the input is paused, so
   pipelined commands wait for its answer. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_sasl.h"
#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "service/service_login.h"
#include "smtp/smtp_command.h"
#include "smtpd/smtpd_private.h"

#define SMTPD_AUTH_FAILED "535 5.7.8 Error: authentication failed"
#define SMTPD_AUTH_TEMPFAIL "454 4.7.0 Temporary authentication failure"
#define SMTPD_AUTH_BLOCKED "454 4.7.0 Too many failed logins, try again " \
	"later"

bool
smtpd_auth_offered(const struct smtpd_session *s)
{
	if (!s->params.is_submission || s->params.login == NULL ||
	    s->conn == NULL)
		return false;
	return service_login_plaintext_ok(s->config, conn_is_tls(s->conn),
	    conn_peer_is_loopback(s->conn));
}

bool
smtpd_auth_may_relay(const struct smtpd_session *s)
{
	return s->params.is_submission &&
	    (s->auth_user != NULL || s->relay_client);
}

void
smtpd_auth_clear(struct smtpd_session *s)
{
	explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
	xfree(&s->auth_user);
	xfree(&s->auth_master);
	s->auth_account_id = 0;
}

/* The shared login's answer, on the session's thread. */
static void
smtpd_auth_checked(const struct service_login_result *r, void *ctx)
{
	struct smtpd_session *s = ctx;
	char esc[LOG_STR_MAX];

	s->login_pending = false;
	smtpd_session_enter(s);
	if (s->conn == NULL || s->state != SMTPD_STATE_LOGIN)
		goto out;
	conn_set_idle_timeout(s->conn, s->idle_ms);
	smtpd_session_set_state(s, SMTPD_STATE_READY);
	switch (r->status) {
	case SERVICE_LOGIN_OK:
		s->auth_user = xstrdup(r->address);
		s->auth_master = r->master != NULL ? xstrdup(r->master) : NULL;
		s->auth_account_id = r->account_id;
		log_info(SMTPD_LOG_PREFIX " event=login ip=%s user=%s "
		    "method=%s master=%s tls=%s", s->id, s->addr,
		    log_str(esc, sizeof(esc), r->address, strlen(r->address)),
		    s->sasl_method, r->master != NULL ? r->master : "-",
		    conn_is_tls(s->conn) ? "yes" : "no");
		smtpd_session_reply(s, "235 2.7.0 Authentication successful");
		smtpd_session_resume(s);
		break;
	case SERVICE_LOGIN_FAILED:
		s->auth_failures++;
		s->close_after_delay =
		    s->auth_failures >= SMTPD_MAX_AUTH_FAILURES;
		smtpd_session_delay_reply(s, r->delay_ms, SMTPD_AUTH_FAILED);
		break;
	case SERVICE_LOGIN_BLOCKED:
		s->close_after_delay = true;
		smtpd_session_delay_reply(s, r->delay_ms, SMTPD_AUTH_BLOCKED);
		break;
	case SERVICE_LOGIN_TEMPFAIL:
		smtpd_session_reply(s, SMTPD_AUTH_TEMPFAIL);
		smtpd_session_resume(s);
		break;
	}
out:
	smtpd_session_leave(s);
}

/* Hands user and password (len octets; user NULL: an unusable response,
   which costs a failure like a wrong password) to the shared login. */
static void
smtpd_auth_start(struct smtpd_session *s, const char *user,
    const char *authzid, const char *password, size_t len)
{
	struct service_login_request req = {
		.service = "smtpd",
		.conn_id = s->id,
		.ip = s->addr,
		.method = s->sasl_method,
		.user = user,
		.authzid = authzid,
		.password = password,
		.password_len = len,
	};

	smtpd_session_set_state(s, SMTPD_STATE_LOGIN);
	s->login_pending = true;
	conn_pause_input(s->conn);
	/* The client waits for us: no idle timeout meanwhile. */
	conn_set_idle_timeout(s->conn, 0);
	service_login_start(s->params.login, s->params.thread,
	    s->params.workers, &req, smtpd_auth_checked, s);
}

/* A PLAIN response (base64, len octets). */
static void
smtpd_auth_plain(struct smtpd_session *s, const char *b64, size_t len)
{
	struct auth_sasl_plain plain;
	const char *error = NULL;

	if (auth_sasl_plain_decode(b64, len, &plain, &error) == -1) {
		log_debug(SMTPD_LOG_PREFIX " event=sasl_malformed error=\"%s\"",
		    s->id, error);
		smtpd_auth_start(s, NULL, NULL, "", 0);
	} else {
		/* An authzid other than the authcid is a master login. */
		smtpd_auth_start(s, plain.authcid, plain.authzid,
		    plain.passwd, plain.passwd_len);
	}
	auth_sasl_plain_clear(&plain);
}

/* A LOGIN response: the user name, then the password. */
static void
smtpd_auth_login(struct smtpd_session *s, const char *b64, size_t len)
{
	char out[AUTH_SASL_FIELD_MAX + 1];
	const char *error = NULL;
	size_t n;
	bool is_pass = s->sasl == SMTPD_SASL_LOGIN_PASS;

	if (auth_sasl_login_decode(b64, len, is_pass, out, &n,
	    &error) == -1) {
		log_debug(SMTPD_LOG_PREFIX " event=sasl_malformed error=\"%s\"",
		    s->id, error);
		explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
		smtpd_auth_start(s, NULL, NULL, "", 0);
		return;
	}
	if (!is_pass) {
		memcpy(s->sasl_user, out, n + 1);
		explicit_bzero(out, sizeof(out));
		s->sasl = SMTPD_SASL_LOGIN_PASS;
		if (s->state != SMTPD_STATE_SASL)
			smtpd_session_set_state(s, SMTPD_STATE_SASL);
		smtpd_session_reply(s, "334 " AUTH_SASL_LOGIN_PASSWORD);
		return;
	}
	smtpd_auth_start(s, s->sasl_user, NULL, out, n);
	explicit_bzero(out, sizeof(out));
	explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
}

void
smtpd_auth_cmd(struct smtpd_session *s, struct smtp_command *cmd)
{
	const char *arg = cmd->arg != NULL ? cmd->arg : "";
	const char *sp = strchr(arg, ' ');
	size_t mech_len = sp != NULL ? (size_t)(sp - arg) : strlen(arg);
	const char *initial = sp != NULL ? sp + 1 : NULL;

	if (!s->params.is_submission || s->params.login == NULL) {
		/* RFC 4954 §4: 503 when the server does not offer AUTH;
		   the MTA port never does. */
		smtpd_session_error(s, "503 5.5.1 Error: authentication not "
		    "enabled");
		return;
	}
	if (!s->esmtp) {
		smtpd_session_error(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		/* RFC 4954 §4: no second AUTH in a session. */
		smtpd_session_error(s, "503 5.5.1 Error: already "
		    "authenticated");
		return;
	}
	if (s->state != SMTPD_STATE_READY) {
		smtpd_session_error(s, "503 5.5.1 Error: MAIL transaction in "
		    "progress");
		return;
	}
	if (!smtpd_auth_offered(s)) {
		smtpd_session_error(s, "530 5.7.0 Must issue a STARTTLS "
		    "command first");
		return;
	}
	if (mech_len == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		s->sasl_method = "PLAIN";
		s->sasl = SMTPD_SASL_PLAIN;
	} else if (mech_len == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		s->sasl_method = "LOGIN";
		s->sasl = SMTPD_SASL_LOGIN_USER;
	} else if (mech_len == 0) {
		smtpd_session_error(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	} else {
		smtpd_session_error(s, "504 5.5.4 Error: unsupported "
		    "authentication mechanism");
		return;
	}
	if (initial != NULL) {
		/* RFC 4954 §4: "=" is an empty initial response. */
		if (strcmp(initial, "=") == 0)
			initial = "";
		if (s->sasl == SMTPD_SASL_PLAIN)
			smtpd_auth_plain(s, initial, strlen(initial));
		else
			smtpd_auth_login(s, initial, strlen(initial));
		return;
	}
	smtpd_session_set_state(s, SMTPD_STATE_SASL);
	if (s->sasl == SMTPD_SASL_PLAIN)
		smtpd_session_reply(s, "334 ");	/* RFC 4954 §4 */
	else
		smtpd_session_reply(s, "334 " AUTH_SASL_LOGIN_USERNAME);
}

int
smtpd_auth_input(struct smtpd_session *s)
{
	char copy[SMTPD_AUTH_LINE_MAX];
	const char *line;
	size_t len;
	bool bare_lf;
	int ret;

	ret = conn_read_line(s->conn, SMTPD_AUTH_LINE_MAX, &line, &len,
	    &bare_lf);
	if (ret == 0)
		return 0;
	if (ret == -1) {
		/* No response is this long: the exchange is off. */
		(void)conn_skip_line(s->conn);
		explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
		smtpd_session_set_state(s, SMTPD_STATE_READY);
		smtpd_session_error(s, "500 5.5.6 Error: authentication "
		    "response too long");
		return 1;
	}
	if (auth_sasl_is_cancel(line, len)) {
		explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
		smtpd_session_set_state(s, SMTPD_STATE_READY);
		/* RFC 4954 §4: 501 for a cancelled exchange. */
		smtpd_session_error(s, "501 5.7.0 Authentication aborted");
		return 1;
	}
	/* The line is valid only until the next conn call. */
	memcpy(copy, line, len);
	if (s->sasl == SMTPD_SASL_PLAIN)
		smtpd_auth_plain(s, copy, len);
	else
		smtpd_auth_login(s, copy, len);
	explicit_bzero(copy, len);
	return 1;
}
