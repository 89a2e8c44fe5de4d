/* smtpd_cmd.c — the command table (Postfix smtpd_cmd_table) and the
   commands outside the mail transaction: HELO, EHLO, STARTTLS, RSET, NOOP,
   QUIT, VRFY, EXPN, HELP (RFC 5321 §4.1.1, RFC 3207, RFC 1869).
   A command arrives here only in a state its table row allows; everything
   else gets a 503 chosen by smtpd_cmd_refuse. MAIL and RCPT live in
   smtpd_mail.c, DATA and BDAT in smtpd_data.c, AUTH in smtpd_auth.c. */
#include <inttypes.h>
#include <string.h>

#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_command.h"
#include "smtpd/smtpd_private.h"

typedef void smtpd_cmd_fn(struct smtpd_session *s, struct smtp_command *cmd);

struct smtpd_cmd {
	enum smtp_verb verb;
	smtpd_cmd_fn *fn;
	unsigned states;	/* SMTPD_ST() bits the command is allowed in */
};

static smtpd_cmd_fn smtpd_cmd_helo, smtpd_cmd_ehlo, smtpd_cmd_starttls,
    smtpd_cmd_rset, smtpd_cmd_noop, smtpd_cmd_quit, smtpd_cmd_vrfy,
    smtpd_cmd_expn, smtpd_cmd_help;

static const struct smtpd_cmd smtpd_cmds[] = {
	/* RFC 5321 §4.1.4: HELO/EHLO may come again at any point and reset
	   the transaction. */
	{ SMTP_VERB_EHLO, smtpd_cmd_ehlo, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_HELO, smtpd_cmd_helo, SMTPD_ST_COMMANDS },
	/* Not inside a transaction, as Postfix: the handshake would throw
	   it away anyway (RFC 3207 §4.2). */
	{ SMTP_VERB_STARTTLS, smtpd_cmd_starttls,
	    SMTPD_ST(INIT) | SMTPD_ST(READY) },
	{ SMTP_VERB_MAIL, smtpd_mail_cmd, SMTPD_ST(READY) },
	{ SMTP_VERB_RCPT, smtpd_mail_rcpt_cmd, SMTPD_ST(MAIL) },
	{ SMTP_VERB_DATA, smtpd_data_cmd, SMTPD_ST(MAIL) },
	/* BDAT in any command state: its chunk is read even when refused
	   (RFC 3030 §2), so the handler decides after the octets. */
	{ SMTP_VERB_BDAT, smtpd_data_bdat_cmd, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_RSET, smtpd_cmd_rset, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_NOOP, smtpd_cmd_noop, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_QUIT, smtpd_cmd_quit, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_VRFY, smtpd_cmd_vrfy, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_EXPN, smtpd_cmd_expn, SMTPD_ST_COMMANDS },
	{ SMTP_VERB_HELP, smtpd_cmd_help, SMTPD_ST_COMMANDS },
	/* smtpd_auth.c: READY only, answered there with RFC 4954's
	   codes. */
	{ SMTP_VERB_AUTH, smtpd_auth_cmd, SMTPD_ST_COMMANDS },
};

/* The 503 for a command out of sequence (RFC 5321 §4.3.2, Postfix texts). */
static void
smtpd_cmd_refuse(struct smtpd_session *s, enum smtp_verb verb)
{
	const char *text = "503 5.5.1 Error: bad sequence of commands";

	switch (verb) {
	case SMTP_VERB_MAIL:
		text = s->state == SMTPD_STATE_INIT ?
		    "503 5.5.1 Error: send HELO/EHLO first" :
		    "503 5.5.1 Error: nested MAIL command";
		break;
	case SMTP_VERB_RCPT:
		text = s->state == SMTPD_STATE_BDAT ?
		    "503 5.5.1 Error: RCPT after BDAT" :
		    "503 5.5.1 Error: need MAIL command";
		break;
	case SMTP_VERB_DATA:
		/* RFC 3030 §2: DATA and BDAT are never mixed. */
		text = s->state == SMTPD_STATE_BDAT ?
		    "503 5.5.1 Error: DATA after BDAT" :
		    "503 5.5.1 Error: need RCPT command";
		break;
	case SMTP_VERB_STARTTLS:
		text = "503 5.5.1 Error: MAIL transaction in progress";
		break;
	default:
		break;
	}
	smtpd_session_error(s, "%s", text);
}

void
smtpd_cmd_dispatch(struct smtpd_session *s, struct smtp_command *cmd)
{
	const struct smtpd_cmd *c = NULL;

	for (size_t i = 0; i < sizeof(smtpd_cmds) / sizeof(smtpd_cmds[0]); i++) {
		if (smtpd_cmds[i].verb == cmd->verb) {
			c = &smtpd_cmds[i];
			break;
		}
	}
	log_debug(SMTPD_LOG_PREFIX " event=command verb=%s", s->id,
	    smtp_verb_name(cmd->verb));
	if (c == NULL) {
		smtpd_session_error(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	if ((c->states & (1u << s->state)) == 0) {
		smtpd_cmd_refuse(s, cmd->verb);
		return;
	}
	c->fn(s, cmd);
}

/* HELO/EHLO: remember the name, drop any transaction (RFC 5321 §4.1.4). */
static bool
smtpd_cmd_greeting(struct smtpd_session *s, struct smtp_command *cmd,
    bool esmtp)
{
	char esc[LOG_STR_MAX];

	if (cmd->arg == NULL || cmd->arg[0] == '\0') {
		smtpd_session_error(s, esmtp ? "501 5.5.4 Syntax: EHLO hostname" :
		    "501 5.5.4 Syntax: HELO hostname");
		return false;
	}
	smtpd_session_clear_transaction(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = esmtp;
	if (s->state != SMTPD_STATE_READY)
		smtpd_session_set_state(s, SMTPD_STATE_READY);
	log_info(SMTPD_LOG_PREFIX " event=helo helo=%s esmtp=%s", s->id,
	    log_str(esc, sizeof(esc), s->helo, strlen(s->helo)),
	    esmtp ? "yes" : "no");
	return true;
}

static void
smtpd_cmd_helo(struct smtpd_session *s, struct smtp_command *cmd)
{
	if (!smtpd_cmd_greeting(s, cmd, false))
		return;
	smtpd_session_reply(s, "250 %s", s->config->hostname);
	/* Repeatable for free, as in Postfix's table: junk. */
	smtpd_session_junk(s);
}

static void
smtpd_cmd_ehlo(struct smtpd_session *s, struct smtp_command *cmd)
{
	if (!smtpd_cmd_greeting(s, cmd, true))
		return;
	/* RFC 1869 §4.3: the greeting line, then one keyword per line. */
	smtpd_session_reply(s, "250-%s", s->config->hostname);
	smtpd_session_reply(s, "250-PIPELINING");		/* RFC 2920 */
	smtpd_session_reply(s, "250-SIZE %" PRIu64,		/* RFC 1870 */
	    s->config->limits.max_message_size);
	/* RFC 3207 §4.2: not after the handshake, and never offered
	   without a certificate to back it. */
	if (s->starttls_offered && !conn_is_tls(s->conn))
		smtpd_session_reply(s, "250-STARTTLS");
	/* RFC 4954 §3; submission only, never a password in clear
	   unless [auth] plaintext allows this connection. */
	if (smtpd_auth_offered(s) && s->auth_user == NULL)
		smtpd_session_reply(s, "250-AUTH PLAIN LOGIN");
	smtpd_session_reply(s, "250-ENHANCEDSTATUSCODES");	/* RFC 2034 */
	smtpd_session_reply(s, "250-8BITMIME");			/* RFC 6152 */
	smtpd_session_reply(s, "250-DSN");			/* RFC 3461 */
	smtpd_session_reply(s, "250-SMTPUTF8");			/* RFC 6531 */
	smtpd_session_reply(s, "250-CHUNKING");			/* RFC 3030 */
	smtpd_session_reply(s, "250 BINARYMIME");		/* RFC 3030 */
	smtpd_session_junk(s);
}

static void
smtpd_cmd_starttls(struct smtpd_session *s, struct smtp_command *cmd)
{
	if (cmd->arg != NULL && cmd->arg[0] != '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (conn_is_tls(s->conn)) {
		smtpd_session_error(s, "502 5.5.1 Error: TLS already active");
		return;
	}
	if (!s->starttls_offered) {
		smtpd_session_reply(s, "454 4.7.0 TLS not available");
		smtpd_session_junk(s);
		return;
	}
	log_info(SMTPD_LOG_PREFIX " event=starttls", s->id);
	smtpd_session_reply(s, "220 2.0.0 Ready to start TLS");
	smtpd_session_set_state(s, SMTPD_STATE_HANDSHAKE);
	/* conn_starttls drops every plaintext byte buffered after the
	   command (RFC 3207 §4.2, STARTTLS command injection). */
	conn_starttls(s->conn, s->params.tls);
}

void
smtpd_cmd_tls_done(struct smtpd_session *s)
{
	/* RFC 3207 §4.2: the server MUST discard any knowledge obtained
	   from the client, such as the argument to EHLO. */
	smtpd_session_clear_transaction(s);
	xfree(&s->helo);
	s->esmtp = false;
	smtpd_auth_clear(s);
	smtpd_session_set_state(s, SMTPD_STATE_INIT);
}

static void
smtpd_cmd_rset(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 §4.1.1.5: the transaction goes, the HELO stays. */
	smtpd_session_end_transaction(s);
	smtpd_session_reply(s, "250 2.0.0 Ok");
	smtpd_session_junk(s);
}

static void
smtpd_cmd_noop(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtpd_session_reply(s, "250 2.0.0 Ok");
	smtpd_session_junk(s);
}

static void
smtpd_cmd_quit(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtpd_session_close(s, "221 2.0.0 Bye");
}

static void
smtpd_cmd_vrfy(struct smtpd_session *s, struct smtp_command *cmd)
{
	if (cmd->arg == NULL || cmd->arg[0] == '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 §3.5.3: 252 for every argument, so VRFY is no mailbox
	   oracle (the answer never depends on the directory). */
	smtpd_session_reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
	smtpd_session_junk(s);
}

static void
smtpd_cmd_expn(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	/* Postfix with EXPN disabled; the same for every argument. */
	smtpd_session_reply(s, "502 5.5.1 Error: EXPN command is disabled");
	smtpd_session_junk(s);
}

static void
smtpd_cmd_help(struct smtpd_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtpd_session_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
	    "BDAT RSET NOOP QUIT VRFY HELP STARTTLS%s",
	    s->params.is_submission ? " AUTH" : "");
	smtpd_session_junk(s);
}
