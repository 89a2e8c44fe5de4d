/* cmd_login.c — LOGIN (RFC 9051 §6.2.3) and the login both it and
   AUTHENTICATE end with: the password check through service_login (one
   throttle, dummy hash and cache for every service), a held answer for
   failures, IMAPD_MAX_AUTH_FAILURES per connection, then the account's
   store opened once by a job (so a broken store answers NO here, not at
   the first SELECT) and "OK [CAPABILITY ...] Logged in". */
#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "service/service_login.h"
#include "store/store.h"

#define IMAPD_PLAINTEXT_REFUSED "NO [PRIVACYREQUIRED] Plaintext " \
	"authentication disallowed on non-secure (SSL/TLS) connections."

struct imapd_login_open {
	bool ok;
};

static void
imapd_login_open_work(struct store *store, void *job)
{
	struct imapd_login_open *o = job;

	o->ok = store != NULL;
}

static void
imapd_login_open_done(struct imapd_session *s, void *job)
{
	struct imapd_login_open *o = job;
	bool ok = o->ok;
	struct buf caps;

	free(o);
	if (imapd_session_is_gone(s))
		return;
	if (!ok) {
		/* Back to not authenticated: the client may try later. */
		store_watch_remove(&s->priv->watch);
		imapd_notify_detach(&s->priv->notify);
		free(s->account);
		s->account = NULL;
		s->account_id = 0;
		s->state = IMAPD_STATE_NOT_AUTH;
		imapd_command_done(s, 0, "NO [UNAVAILABLE] Temporary "
		    "authentication failure, try again later.");
		return;
	}
	buf_init(&caps, 0);
	imapd_session_capability(s, &caps);
	imapd_command_done(s, 0, "OK [CAPABILITY %s] Logged in", caps.data);
	buf_clear(&caps);
}

static void
imapd_login_done(const struct service_login_result *r, void *ctx)
{
	struct imapd_session *s = ctx;
	char esc[LOG_STR_MAX];
	bool last;

	s->priv->job = false;
	imapd_session_enter(s);
	if (imapd_session_is_gone(s)) {
		imapd_command_done(s, 0, "NO");		/* ends it quietly */
		imapd_session_leave(s);
		return;
	}
	if (s->conn != NULL)
		conn_set_idle_timeout(s->conn, s->priv->idle_ms);
	switch (r->status) {
	case SERVICE_LOGIN_OK:
		log_info(IMAPD_LOG_PREFIX " event=login user=%s ip=%s%s%s",
		    s->id, log_str(esc, sizeof(esc), r->address,
		    strlen(r->address)), s->addr,
		    r->master != NULL ? " master=" : "",
		    r->master != NULL ? r->master : "");
		imapd_session_logged_in(s, r);
		imapd_job_submit(s, imapd_login_open_work,
		    imapd_login_open_done,
		    xcalloc(1, sizeof(struct imapd_login_open)));
		break;
	case SERVICE_LOGIN_FAILED:
		last = ++s->priv->auth_failures >= IMAPD_MAX_AUTH_FAILURES;
		imapd_session_delay_done(s, r->delay_ms, "NO "
		    "[AUTHENTICATIONFAILED] Authentication failed.", last);
		break;
	case SERVICE_LOGIN_BLOCKED:
		imapd_session_delay_done(s, r->delay_ms, "NO [UNAVAILABLE] "
		    "Too many failed logins, try again later.", false);
		break;
	case SERVICE_LOGIN_TEMPFAIL:
	default:
		imapd_command_done(s, 0, "NO [UNAVAILABLE] Temporary "
		    "authentication failure, try again later.");
		break;
	}
	imapd_session_leave(s);
}

void
imapd_login_start(struct imapd_session *s, const char *method,
    const char *user, const char *authzid, const char *password,
    size_t password_len)
{
	struct service_login_request req = {
		.service = "imap",
		.conn_id = s->id,
		.ip = s->addr,
		.method = method,
		.user = user,
		.authzid = authzid,
		.password = password,
		.password_len = password_len,
	};

	s->priv->job = true;
	if (s->conn != NULL) {
		conn_pause_input(s->conn);
		conn_set_idle_timeout(s->conn, 0);
	}
	service_login_start(s->login, s->thread, s->pool, &req,
	    imapd_login_done, s);
}

void
imapd_cmd_login(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	if (n != 2 || !imap_arg_is_astring(&args[0]) ||
	    !imap_arg_is_astring(&args[1])) {
		imapd_command_bad(s, "LOGIN needs a user name and a password.");
		return;
	}
	if (!imapd_session_plaintext_ok(s)) {
		imapd_command_done(s, 0, "%s", IMAPD_PLAINTEXT_REFUSED);
		return;
	}
	/* The password's octets as sent (len): a NUL never truncates it
	   into another password; service_login refuses it. */
	imapd_login_start(s, "LOGIN", args[0].str, NULL, args[1].str,
	    args[1].len);
}
