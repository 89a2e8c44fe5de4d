/* smtpd_mail.c — MAIL FROM and RCPT TO: the envelope of a transaction
   (RFC 5321 §4.1.1.2-3; SIZE RFC 1870, BODY RFC 6152/3030, SMTPUTF8
   RFC 6531, DSN RFC 3461).

   RCPT asks the directory (this I/O thread's connection) and answers with
   its verdict. On the MTA port only our own domains are accepted: any
   other is "Relay access denied". On submission MAIL needs a login (530)
   unless the client is in a relay network, and then any domain is
   accepted (queued as outbound by delivery); the sender/login match is
   smtpd_sender.c's. Local parts that ask a host to relay onward ('%',
   '!', a quoted '@') are refused whatever domain follows (the directory
   never reinterprets them).
   Unknown recipients are throttled against directory harvesting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "directory/directory.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_command.h"
#include "smtpd/smtpd_private.h"
#include "service/service_thread.h"
#include "store/store.h"

/* A reply line from the directory is copied into ours only if it looks
   like one: "ddd " then printable text, no CR/LF, not absurdly long. */
#define SMTPD_MAIL_REPLY_MAX 512

void
smtpd_mail_envelope_clear(struct smtpd_session *s)
{
	queue_envelope_clear(&s->env);
	s->rcpt_cap = 0;
}

static bool
smtpd_mail_has_esmtp_params(const struct smtp_command *cmd)
{
	return cmd->has_size || cmd->body != SMTP_BODY_UNSET ||
	    cmd->smtputf8 || cmd->ret != SMTP_RET_UNSET ||
	    cmd->envid != NULL || cmd->auth != NULL || cmd->requiretls ||
	    cmd->notify != 0 || cmd->orcpt != NULL;
}

static const char *
smtpd_mail_path_log(char *esc, size_t size, const char *path)
{
	return log_str(esc, size, path, strlen(path));
}

void
smtpd_mail_cmd(struct smtpd_session *s, struct smtp_command *cmd)
{
	const struct config_limits *limits = &s->config->limits;
	struct queue_envelope *env = &s->env;
	char esc[LOG_STR_MAX];
	const char *reject = NULL;
	char *owned = NULL;

	if (cmd->path == NULL) {
		smtpd_session_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	/* RFC 5321 §4.1.1.11 / RFC 1869: parameters exist only after EHLO
	   announced them; REQUIRETLS (RFC 8689) is not announced. */
	if (!s->esmtp && smtpd_mail_has_esmtp_params(cmd)) {
		smtpd_session_error(s, "555 5.5.4 Error: MAIL parameters "
		    "require EHLO");
		return;
	}
	if (cmd->requiretls) {
		smtpd_session_error(s, "555 5.5.4 Error: REQUIRETLS not "
		    "supported");
		return;
	}
	if (cmd->notify != 0 || cmd->orcpt != NULL) {
		smtpd_session_error(s, "555 5.5.4 Error: RCPT parameter in "
		    "MAIL command");
		return;
	}
	if (cmd->has_size && cmd->size > limits->max_message_size) {
		/* RFC 1870 §6.1: refuse at once what would not fit. */
		reject = "552 5.3.4 Message size exceeds fixed maximum "
		    "message size";
	} else if (cmd->path_is_utf8 && !cmd->smtputf8) {
		/* RFC 6531 §3.4: UTF-8 addresses need SMTPUTF8. */
		reject = "553 5.6.7 Must declare SMTPUTF8 to send UTF8 "
		    "addresses";
	}
	if (reject == NULL && s->params.is_submission &&
	    !smtpd_auth_may_relay(s)) {
		/* RFC 4954 §6: submission is for known users. */
		reject = "530 5.7.0 Authentication required";
	}
	if (reject == NULL && s->auth_user != NULL &&
	    (owned = smtpd_sender_check(s, cmd->path)) != NULL)
		reject = owned;
	if (reject != NULL) {
		log_info(SMTPD_LOG_PREFIX " event=mail from=<%s> "
		    "result=rejected reply=\"%.9s\"", s->id,
		    smtpd_mail_path_log(esc, sizeof(esc), cmd->path), reject);
		smtpd_session_reply(s, "%s", reject);
		smtpd_session_junk(s);
		free(owned);
		return;
	}

	smtpd_mail_envelope_clear(s);
	s->mail_size = cmd->has_size ? cmd->size : 0;
	s->quota_ceiling = 0;
	env->mail_from = xstrdup(cmd->path);
	switch (cmd->body) {
	case SMTP_BODY_8BITMIME:
		env->body = QUEUE_BODY_8BITMIME;
		break;
	case SMTP_BODY_BINARYMIME:
		env->body = QUEUE_BODY_BINARYMIME;
		break;
	default:
		env->body = QUEUE_BODY_7BIT;
		break;
	}
	env->smtputf8 = cmd->smtputf8;
	env->ret = cmd->ret == SMTP_RET_FULL ? QUEUE_RET_FULL :
	    cmd->ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS : QUEUE_RET_UNSET;
	env->envid = cmd->envid != NULL ? xstrdup(cmd->envid) : NULL;
	env->helo = xstrdup(s->helo);
	env->client_addr = xstrdup(s->addr);
	/* AUTH=<mailbox> is ignored (RFC 4954 §5): the queue records who
	   logged in, nobody else can claim it. */
	env->auth_user = s->auth_user != NULL ? xstrdup(s->auth_user) : NULL;
	s->rcpt_attempts = 0;
	smtpd_session_set_state(s, SMTPD_STATE_MAIL);
	log_info(SMTPD_LOG_PREFIX " event=mail from=<%s> result=accepted "
	    "size=%llu body=%s%s%s%s", s->id,
	    smtpd_mail_path_log(esc, sizeof(esc), env->mail_from),
	    (unsigned long long)(cmd->has_size ? cmd->size : 0),
	    env->body == QUEUE_BODY_BINARYMIME ? "binarymime" :
	    env->body == QUEUE_BODY_8BITMIME ? "8bitmime" : "7bit",
	    env->smtputf8 ? " smtputf8=yes" : "",
	    s->auth_user != NULL ? " sasl_username=" : "",
	    s->auth_user != NULL ? s->auth_user : "");
	smtpd_session_reply(s, "250 2.1.0 Ok");
}

/* Local parts that ask the receiving host to relay onward: "a%b@us",
   "b!a@us", "\"a@b\"@us". The last '@' separates the domain, so any '@'
   before it was quoted. RFC 5321 §3.6 lets us refuse them outright. */
static bool
smtpd_mail_is_relay_trick(const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL)
		return false;
	for (const char *p = addr; p < at; p++) {
		if (*p == '%' || *p == '!' || *p == '@')
			return true;
	}
	return false;
}

/* RFC 5321 §4.5.1: <Postmaster> without a domain MUST be accepted. It
   names the postmaster of our host name or, when the host name is not one
   of our mail domains (mail.example.org serving example.org), of its
   nearest parent domain that is; never of a bare top-level domain. */
static char *
smtpd_mail_postmaster(struct smtpd_session *s)
{
	const char *host = s->config->hostname;
	struct directory *dir = service_thread_directory(s->params.thread);
	const char *d = host, *dot;

	while (dir != NULL) {
		if (directory_is_local_domain(dir, d))
			return xasprintf("postmaster@%s", d);
		dot = strchr(d, '.');
		if (dot == NULL || strchr(dot + 1, '.') == NULL)
			break;
		d = dot + 1;
	}
	return xasprintf("postmaster@%s", host);
}

/* True when text is one sane reply line to copy into ours. */
static bool
smtpd_mail_reply_is_sane(const char *text)
{
	size_t len;

	if (text == NULL)
		return false;
	len = strlen(text);
	if (len < 4 || len > SMTPD_MAIL_REPLY_MAX)
		return false;
	if (text[0] < '4' || text[0] > '5' || text[1] < '0' ||
	    text[1] > '9' || text[2] < '0' || text[2] > '9' || text[3] != ' ')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool
smtpd_mail_rcpt_known(const struct queue_envelope *env, const char *addr)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		if (strcmp(env->rcpts[i].address, addr) == 0)
			return true;
	}
	return false;
}

static void
smtpd_mail_rcpt_add(struct smtpd_session *s, const char *addr,
    const struct smtp_command *cmd)
{
	struct queue_envelope *env = &s->env;
	struct queue_rcpt *r;

	if (env->n_rcpts == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap == 0 ? 8 : s->rcpt_cap * 2;
		env->rcpts = xreallocarray(env->rcpts, s->rcpt_cap,
		    sizeof(*env->rcpts));
	}
	r = &env->rcpts[env->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(addr);
	r->notify = cmd->notify;
	r->orcpt = cmd->orcpt != NULL ? xstrdup(cmd->orcpt) : NULL;
	s->n_rcpts_total++;
}

/* Refuses a local recipient all of whose mailboxes are full (452 4.2.2)
   or too small for the declared SIZE (552 5.2.2), as Dovecot's LMTP
   would after DATA; NULL when some copy can be taken. Raises the
   session's quota ceiling by what the recipient can still take. */
static char *
smtpd_mail_quota(struct smtpd_session *s, const char *addr,
    const struct directory_resolution *res)
{
	uint64_t ceiling = 0;
	bool full = false, too_big = false;

	if (res->n_forwards > 0 || res->n_deliveries == 0) {
		s->quota_ceiling = UINT64_MAX;
		return NULL;
	}
	for (size_t i = 0; i < res->n_deliveries; i++) {
		const struct directory_delivery *d = &res->deliveries[i];
		struct store_usage use;
		char *error = NULL;

		if (d->quota_bytes == 0 && d->quota_messages == 0) {
			s->quota_ceiling = UINT64_MAX;
			return NULL;
		}
		if (store_usage_peek(s->config->data_dir, d->account_id, &use,
		    &error) != STORE_OK) {
			/* Cannot tell: accept; delivery decides. */
			log_warn(SMTPD_LOG_PREFIX " event=quota_check_failed "
			    "account=%s error=\"%s\"", s->id, d->account,
			    error != NULL ? error : "?");
			free(error);
			s->quota_ceiling = UINT64_MAX;
			return NULL;
		}
		if (d->quota_bytes != 0 && s->mail_size > d->quota_bytes) {
			too_big = true;
			continue;
		}
		if ((d->quota_bytes != 0 &&
		    use.bytes + s->mail_size >= d->quota_bytes) ||
		    (d->quota_messages != 0 &&
		    use.messages >= d->quota_messages)) {
			full = true;
			continue;
		}
		if (d->quota_bytes == 0) {
			s->quota_ceiling = UINT64_MAX;
			return NULL;
		}
		if (d->quota_bytes > ceiling)
			ceiling = d->quota_bytes;
	}
	if (ceiling > 0) {
		if (ceiling > s->quota_ceiling)
			s->quota_ceiling = ceiling;
		return NULL;
	}
	if (full)
		return xasprintf("452 4.2.2 <%s>: Mailbox full", addr);
	(void)too_big;
	return xasprintf("552 5.2.2 <%s>: Message exceeds the mailbox quota",
	    addr);
}

/* The directory's verdict as our reply; reason names it for the log. */
static char *
smtpd_mail_resolve(struct smtpd_session *s, const char *addr,
    bool *accepted_r, bool *unknown_r, const char **reason_r)
{
	struct directory_resolution res;
	struct directory *dir;
	const char *code, *text;
	char *reply;

	*accepted_r = *unknown_r = false;
	dir = service_thread_directory(s->params.thread);
	if (dir == NULL) {
		*reason_r = "tempfail";
		return xasprintf("451 4.3.0 <%s>: Temporary lookup failure",
		    addr);
	}
	/* internal_ok only for a logged-in user: a sender domain is only
	   a claim. */
	directory_resolve(dir, addr, s->auth_user != NULL, &res);
	switch (res.result) {
	case DIRECTORY_LOCAL:
		reply = smtpd_mail_quota(s, addr, &res);
		directory_resolution_clear(&res);
		if (reply != NULL) {
			*reason_r = "quota";
			return reply;
		}
		*accepted_r = true;
		*reason_r = "local";
		return xstrdup("250 2.1.5 Ok");
	case DIRECTORY_NOT_LOCAL:
		directory_resolution_clear(&res);
		if (smtpd_auth_may_relay(s)) {
			/* Queued; delivery hands it to the outbound agent. */
			s->quota_ceiling = UINT64_MAX;
			*accepted_r = true;
			*reason_r = "remote";
			return xstrdup("250 2.1.5 Ok");
		}
		*reason_r = "relay";
		return xasprintf("550 5.7.1 <%s>: Relay access denied", addr);
	case DIRECTORY_UNKNOWN:
		*unknown_r = true;
		*reason_r = "unknown";
		code = "550 5.1.1";
		text = "Recipient address rejected: User unknown";
		break;
	case DIRECTORY_INTERNAL_ONLY:
		*reason_r = "internal";
		code = "550 5.7.1";
		text = "Recipient address rejected: Access denied";
		break;
	case DIRECTORY_DISABLED:
		*reason_r = "disabled";
		code = "550 5.2.1";
		text = "Recipient address rejected: Mailbox disabled";
		break;
	case DIRECTORY_TEMPFAIL:
		*reason_r = "tempfail";
		code = "451 4.3.0";
		text = "Temporary lookup failure";
		break;
	case DIRECTORY_INVALID:
	default:
		*reason_r = "invalid";
		code = "501 5.1.3";
		text = "Bad recipient address syntax";
		break;
	}
	if (smtpd_mail_reply_is_sane(res.reply))
		reply = xstrdup(res.reply);
	else
		reply = xasprintf("%s <%s>: %s", code, addr, text);
	directory_resolution_clear(&res);
	return reply;
}

void
smtpd_mail_rcpt_cmd(struct smtpd_session *s, struct smtp_command *cmd)
{
	const struct config_limits *limits = &s->config->limits;
	unsigned unknown_before = s->unknown_rcpts;
	const char *reason = NULL;
	char esc[LOG_STR_MAX];
	char *addr = NULL, *reply = NULL;
	bool accepted = false, unknown = false, added = false;
	bool too_many = false;

	if (cmd->path == NULL || cmd->path[0] == '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (!s->esmtp && smtpd_mail_has_esmtp_params(cmd)) {
		smtpd_session_error(s, "555 5.5.4 Error: RCPT parameters "
		    "require EHLO");
		return;
	}
	if (cmd->has_size || cmd->body != SMTP_BODY_UNSET || cmd->smtputf8 ||
	    cmd->ret != SMTP_RET_UNSET || cmd->envid != NULL ||
	    cmd->auth != NULL || cmd->requiretls) {
		smtpd_session_error(s, "555 5.5.4 Error: MAIL parameter in "
		    "RCPT command");
		return;
	}
	/* After this many unknown recipients the client is harvesting. */
	if (limits->unknown_rcpt_close_after != 0 &&
	    s->unknown_rcpts >= limits->unknown_rcpt_close_after) {
		log_info(SMTPD_LOG_PREFIX " event=too_many_unknown_rcpts "
		    "unknown=%u", s->id, s->unknown_rcpts);
		smtpd_session_close(s, "421 4.7.0 Too many unknown recipients");
		return;
	}
	s->rcpt_attempts++;

	if (strchr(cmd->path, '@') == NULL &&
	    strcasecmp(cmd->path, "postmaster") == 0)
		addr = smtpd_mail_postmaster(s);
	else
		addr = xstrdup(cmd->path);

	if (cmd->path_is_utf8 && !s->env.smtputf8) {
		reason = "utf8";
		reply = xstrdup("553 5.6.7 Must declare SMTPUTF8 to send UTF8 "
		    "addresses");
	} else if (limits->max_recipients != 0 &&
	    s->env.n_rcpts >= limits->max_recipients) {
		/* RFC 5321 §4.5.3.1.10: 452, the client sends the rest in
		   another transaction. */
		reason = "too_many";
		too_many = true;
		reply = xstrdup("452 4.5.3 Error: Too many recipients");
	} else if (smtpd_mail_is_relay_trick(addr)) {
		reason = "relay_trick";
		reply = xasprintf("550 5.7.1 <%s>: Relay access denied", addr);
	} else {
		reply = smtpd_mail_resolve(s, addr, &accepted, &unknown,
		    &reason);
	}

	if (accepted && !smtpd_mail_rcpt_known(&s->env, addr)) {
		smtpd_mail_rcpt_add(s, addr, cmd);
		added = true;
	}
	if (unknown)
		s->unknown_rcpts++;
	log_info(SMTPD_LOG_PREFIX " event=rcpt to=<%s> result=%s%s%s", s->id,
	    smtpd_mail_path_log(esc, sizeof(esc), addr),
	    accepted ? "accepted" : "rejected",
	    accepted ? "" : " reason=", accepted ? "" : reason);

	/* No mailbox oracle: once a client has hit enough unknown
	   recipients, every RCPT answer costs it time, accepted or not, so
	   timing tells nothing either. Input stays paused meanwhile, which
	   keeps pipelined replies in order. */
	if (limits->unknown_rcpt_delay_after != 0 &&
	    limits->unknown_rcpt_delay_ms != 0 &&
	    unknown_before >= limits->unknown_rcpt_delay_after)
		smtpd_session_delay_reply(s, limits->unknown_rcpt_delay_ms,
		    reply);
	else
		smtpd_session_reply(s, "%s", reply);
	/* A relay probe or the same recipient again, over and over. Not
	   the 452s of a client that pipelined more recipients than we take
	   (RFC 5321 §4.5.3.1.10: it sends them again in another
	   transaction): those count only past as many again, as Postfix's
	   smtpd_recipient_overshoot_limit. */
	if (!added && !unknown && (!too_many ||
	    s->rcpt_attempts > 2 * (uint64_t)limits->max_recipients))
		smtpd_session_junk(s);
	free(reply);
	free(addr);
}
