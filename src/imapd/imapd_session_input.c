/* imapd_session_input.c — the input loop: feeding the command parser,
   deciding on literals before any "+" goes out, dispatching commands by
   the table, ending them (imapd_command_done: updates, then the tagged
   line), and the raw-line mode of AUTHENTICATE and IDLE.

   Pipelining stays bounded without a queue of parsed commands: one
   command is parsed and run at a time, input is paused while it runs,
   and what the client sends meanwhile waits in the conn's capped input
   buffer and then in the socket (TCP flow control). The loop yields to
   the event loop every IMAPD_COMMANDS_PER_TURN commands, as pop3d does,
   so one client's flood cannot hold its I/O thread. The parser is freed
   between commands when nothing is buffered: an idle session keeps no
   parser memory. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "imap/imap_parser.h"
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define IMAPD_COMMANDS_PER_TURN 64
/* Nesting and argument counts of one command (Dovecot-like). */
#define IMAPD_MAX_DEPTH 64
#define IMAPD_MAX_ARGS 100000

bool
imapd_session_is_idle(const struct imapd_session *s)
{
	const struct imapd_session_private *p = s->priv;

	return (s->tag == NULL || p->idling) && !p->job &&
	    !service_delay_is_pending(&s->delay) && !p->handshake &&
	    !p->parser_partial;
}

void
imapd_session_resume(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	if (imapd_session_is_gone(s))
		return;
	if (!p->job && !service_delay_is_pending(&s->delay) &&
	    !p->handshake && (s->tag == NULL || p->line_fn != NULL))
		conn_resume_input(s->conn);
	imapd_session_process(s);
}

void
imapd_session_read_line(struct imapd_session *s, size_t max,
    imapd_line_fn *fn)
{
	s->priv->line_fn = fn;
	s->priv->line_max = max;
}

static void
imapd_session_count_error(struct imapd_session *s)
{
	unsigned max = s->config->limits.max_errors;

	s->errors++;
	if (max != 0 && s->errors >= max) {
		log_info(IMAPD_LOG_PREFIX " event=too_many_errors errors=%u",
		    s->id, s->errors);
		imapd_session_close(s, "* BYE Too many invalid commands.");
	}
}

/* Ends the running command with "<tag> <text>"; the loop goes on. */
static void
imapd_session_finish(struct imapd_session *s, const char *text)
{
	struct imapd_session_private *p = s->priv;

	if (s->tag == NULL)
		panic("imapd_session_finish: no command running");
	imapd_reply(s, "%s %s", s->tag, text);
	xfree(&s->tag);
	s->uid = false;
	p->line_fn = NULL;
	if (p->line_ctx != NULL)
		explicit_bzero(p->line_ctx, p->line_ctx_len);
	xfree(&p->line_ctx);
	p->idling = false;
	if (s->state == IMAPD_STATE_LOGOUT)
		imapd_session_close(s, NULL);
	else
		imapd_session_resume(s);
}

static void
imapd_session_synced(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	char *text = p->done_text;

	p->done_text = NULL;
	if (!imapd_session_is_gone(s))
		imapd_session_finish(s, text);
	free(text);
}

void
imapd_command_done(struct imapd_session *s, unsigned flags,
    const char *fmt, ...)
{
	struct imapd_session_private *p = s->priv;
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (imapd_session_is_gone(s)) {
		/* Nobody to tell; the command still ends. */
		xfree(&s->tag);
		free(text);
		return;
	}
	if (s->state == IMAPD_STATE_SELECTED && s->sel != NULL &&
	    ((flags & IMAPD_DONE_SYNC) != 0 || p->changed ||
	    ((flags & IMAPD_DONE_EXPUNGE_OK) != 0 &&
	    s->sel->n_expunged > 0))) {
		/* RFC 9051 §7.5.1: the updates go before the tagged line. */
		p->done_text = text;
		p->done_flags = flags;
		imapd_sync(s, (flags & IMAPD_DONE_EXPUNGE_OK) != 0,
		    imapd_session_synced);
		return;
	}
	imapd_session_finish(s, text);
	free(text);
}

void
imapd_command_bad(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;
	char *text, *line;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (imapd_session_is_gone(s)) {
		xfree(&s->tag);
		free(text);
		return;
	}
	line = xasprintf("BAD %s", text);
	free(text);
	/* No updates before a BAD: the command did nothing. */
	imapd_session_finish(s, line);
	free(line);
	imapd_session_count_error(s);
}

/* An answer for a command that never ran (parse error, refused
   literal): the tag is the parser's. */
static void
imapd_session_untagged_error(struct imapd_session *s, const char *tag,
    const char *text, bool count)
{
	imapd_reply(s, "%s %s", tag != NULL && *tag != '\0' ? tag : "*",
	    text);
	if (count)
		imapd_session_count_error(s);
}

static struct imap_parser *
imapd_session_parser(struct imapd_session *s)
{
	const struct config_limits *l = &s->config->limits;
	struct imap_parser_limits pl = {
		.max_line = l->imap_max_line,
		.max_depth = IMAPD_MAX_DEPTH,
		.max_args = IMAPD_MAX_ARGS,
	};

	if (s->parser != NULL)
		return s->parser;
	/* Before login nothing may be large (STYLE.md §8); after it, an
	   APPEND's message plus its command text. */
	if (s->state == IMAPD_STATE_NOT_AUTH)
		pl.max_size = (uint64_t)l->imap_max_line +
		    4 * IMAPD_PREAUTH_LITERAL_MAX;
	else
		pl.max_size = l->max_message_size + 2 * l->imap_max_line;
	s->parser = imap_parser_new(&pl);
	return s->parser;
}

/* Whether the literal announced (or refused as [TOOBIG] by the parser)
   is an APPEND's message: after login, after the mailbox name. */
static bool
imapd_session_literal_is_append(struct imapd_session *s)
{
	struct imap_parser_literal lit;

	imap_parser_literal(s->parser, &lit);
	return s->state != IMAPD_STATE_NOT_AUTH && lit.name != NULL &&
	    strcasecmp(lit.name, "APPEND") == 0 && lit.n_args >= 1;
}

/* A literal was announced: its size is checked before "+" is sent (or
   before a non-synchronizing one's octets are kept). */
static void
imapd_session_literal(struct imapd_session *s)
{
	const struct config_limits *l = &s->config->limits;
	struct imap_parser_literal lit;
	bool append = false;
	uint64_t max;

	imap_parser_literal(s->parser, &lit);
	if (s->state == IMAPD_STATE_NOT_AUTH) {
		max = IMAPD_PREAUTH_LITERAL_MAX;
	} else if (imapd_session_literal_is_append(s)) {
		append = true;
		max = l->max_message_size;
	} else {
		max = l->imap_max_line;
	}
	if (lit.size <= max) {
		imap_parser_literal_accept(s->parser);
		if (lit.sync)
			imapd_reply(s, "+ Ready for literal data");
		return;
	}
	log_info(IMAPD_LOG_PREFIX " event=literal_refused size=%llu max=%llu",
	    s->id, (unsigned long long)lit.size, (unsigned long long)max);
	if (append)
		imapd_session_untagged_error(s, lit.tag,
		    "NO [TOOBIG] Message too large.", false);
	else
		imapd_session_untagged_error(s, lit.tag,
		    "BAD Literal too large.", true);
	/* RFC 7888 §4: a non-synchronizing literal is on its way; skipping
	   a few times the limit is cheap, gigabytes are not. */
	if (!lit.sync && (lit.size / 2 > max ||
	    s->state == IMAPD_STATE_NOT_AUTH)) {
		imapd_session_close(s, "* BYE Literal too large.");
		return;
	}
	imap_parser_literal_refuse(s->parser);
}

static void
imapd_session_dispatch(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	const struct imap_command *cmd = imap_parser_command(s->parser);
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args;
	const char *name = cmd->name;
	const struct imapd_cmd *c;
	unsigned state_bit;
	char esc[LOG_STR_MAX];

	p->n_commands++;
	s->tag = xstrdup(cmd->tag);
	s->uid = false;
	if (strcasecmp(name, "UID") == 0) {
		if (n == 0 || args[0].type != IMAP_ARG_ATOM) {
			imapd_command_bad(s, "Missing UID command.");
			return;
		}
		s->uid = true;
		name = args[0].str;
		args++;
		n--;
	}
	log_debug(IMAPD_LOG_PREFIX " event=command name=%s%s", s->id,
	    s->uid ? "UID " : "", log_str(esc, sizeof(esc), name,
	    strlen(name)));
	c = imapd_commands_find(name);
	if (c == NULL || (s->uid && !c->uid)) {
		imapd_command_bad(s, "Unknown command.");
		return;
	}
	state_bit = s->state == IMAPD_STATE_NOT_AUTH ? IMAPD_CMD_NOT_AUTH :
	    s->state == IMAPD_STATE_AUTH ? IMAPD_CMD_AUTH : IMAPD_CMD_SELECTED;
	if ((c->states & state_bit) == 0) {
		imapd_command_bad(s, s->state == IMAPD_STATE_NOT_AUTH ?
		    "Not logged in." : s->state == IMAPD_STATE_AUTH &&
		    (c->states & IMAPD_CMD_SELECTED) != 0 ?
		    "No mailbox selected." : "Already logged in.");
		return;
	}
	p->dispatching = true;
	c->fn(s, args, n);
	p->dispatching = false;
	/* Still running (a job, a held answer, raw lines): input waits,
	   also for a client's half-close, until the command ends. */
	if (s->tag != NULL && !imapd_session_is_gone(s) && p->line_fn == NULL)
		conn_pause_input(s->conn);
}

/* Feeds what is buffered to the parser. 1: go on, 0: need input. */
static int
imapd_session_command(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	enum imap_parse_result r;
	const char *data;
	size_t len, used = 0;

	conn_peek(s->conn, &data, &len);
	if (len == 0) {
		/* Between commands with nothing buffered: give the
		   parser's memory back while the client idles. */
		if (!p->parser_partial)
			imap_parser_free(&s->parser);
		return 0;
	}
	r = imap_parser_feed(imapd_session_parser(s), data, len, &used);
	conn_consume(s->conn, used);
	switch (r) {
	case IMAP_PARSE_MORE:
		p->parser_partial = true;
		return 0;
	case IMAP_PARSE_LITERAL:
		p->parser_partial = true;
		imapd_session_literal(s);
		return 1;
	case IMAP_PARSE_ERROR: {
		bool toobig = strncmp(imap_parser_error(s->parser),
		    "[TOOBIG]", 8) == 0;
		char *text;

		/* An APPEND past everything the parser holds is still a
		   message over APPENDLIMIT (RFC 7889 §4): NO [TOOBIG], as
		   for one just over the limit, not a syntax error. */
		if (toobig && imapd_session_literal_is_append(s))
			text = xstrdup("NO [TOOBIG] Message too large.");
		else
			text = xasprintf("BAD %s",
			    imap_parser_error(s->parser));
		p->parser_partial = imap_parser_is_skipping(s->parser);
		p->n_commands++;
		imapd_session_untagged_error(s,
		    imap_parser_error_tag(s->parser), text, text[0] == 'B');
		free(text);
		/* A literal past everything a command may hold, on its way
		   without "+" (LITERAL+): rather than read it all, close. */
		if (p->parser_partial && toobig)
			imapd_session_close(s, "* BYE Literal too large.");
		return 1;
	}
	case IMAP_PARSE_COMMAND:
		p->parser_partial = false;
		imapd_session_dispatch(s);
		return 1;
	}
	return 0;
}

/* Raw-line mode: one line to the running command. */
static int
imapd_session_line(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	const char *line;
	size_t len;
	int ret;

	ret = conn_read_line(s->conn, p->line_max, &line, &len, NULL);
	if (ret == 0)
		return 0;
	if (ret == -1) {
		(void)conn_skip_line(s->conn);
		line = NULL;
		len = 0;
	}
	p->dispatching = true;
	p->line_fn(s, line, len);
	p->dispatching = false;
	if (s->tag != NULL && !imapd_session_is_gone(s) && p->line_fn == NULL)
		conn_pause_input(s->conn);
	return 1;
}

void
imapd_session_process(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	if (p->processing)
		return;
	p->processing = true;
	imapd_session_enter(s);
	for (unsigned turns = 0;; turns++) {
		int ret;

		if (imapd_session_is_gone(s) || p->job || p->handshake ||
		    service_delay_is_pending(&s->delay) || p->wait_drain)
			break;
		if (s->tag != NULL && p->line_fn == NULL)
			break;		/* a command runs */
		if (turns == IMAPD_COMMANDS_PER_TURN) {
			/* Re-delivered from the event loop after the
			   thread's other sessions had their turn. */
			conn_pause_input(s->conn);
			conn_resume_input(s->conn);
			break;
		}
		if (p->shutdown && imapd_session_is_idle(s)) {
			imapd_session_close(s, "* BYE Server shutting down.");
			break;
		}
		if (imapd_output_full(s)) {
			/* A client that does not read its answers is not
			   given more: on_drain resumes. */
			p->wait_drain = true;
			conn_pause_input(s->conn);
			break;
		}
		ret = p->line_fn != NULL ? imapd_session_line(s) :
		    imapd_session_command(s);
		if (ret == 0)
			break;
	}
	p->processing = false;
	imapd_session_leave(s);
}
