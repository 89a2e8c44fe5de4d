/* pop3d_cmd.c — the command table and the commands that need no login
   machinery or file streaming: CAPA (RFC 2449 §5), STLS (RFC 2595 §4),
   QUIT with the UPDATE state, STAT, LIST, UIDL, DELE, NOOP, RSET
   (RFC 1939 §5-§7). USER, PASS and AUTH live in pop3d_login.c, RETR and
   TOP in pop3d_retr.c. A command reaches its handler only in a state its
   row allows; the others get one error per state. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_command.h"
#include "pop3d/pop3d_maildrop.h"
#include "pop3d/pop3d_private.h"
#include "store/store.h"

typedef void pop3d_cmd_fn(struct pop3d_session *s, struct pop3d_command *cmd);

static pop3d_cmd_fn pop3d_cmd_capa, pop3d_cmd_stls, pop3d_cmd_quit,
    pop3d_cmd_stat, pop3d_cmd_list, pop3d_cmd_dele, pop3d_cmd_noop,
    pop3d_cmd_rset;

#define POP3D_ST_ANY (POP3D_ST(AUTH) | POP3D_ST(TRANSACTION))

static const struct {
	pop3d_cmd_fn *fn;
	unsigned states;
} pop3d_cmds[POP3D_VERB_COUNT] = {
	[POP3D_VERB_USER] = { pop3d_login_user, POP3D_ST(AUTH) },
	[POP3D_VERB_PASS] = { pop3d_login_pass, POP3D_ST(AUTH) },
	[POP3D_VERB_AUTH] = { pop3d_login_auth, POP3D_ST(AUTH) },
	/* RFC 2595 §4: only in the AUTHORIZATION state. */
	[POP3D_VERB_STLS] = { pop3d_cmd_stls, POP3D_ST(AUTH) },
	[POP3D_VERB_CAPA] = { pop3d_cmd_capa, POP3D_ST_ANY },
	[POP3D_VERB_QUIT] = { pop3d_cmd_quit, POP3D_ST_ANY },
	[POP3D_VERB_STAT] = { pop3d_cmd_stat, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_LIST] = { pop3d_cmd_list, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_RETR] = { pop3d_retr_cmd, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_DELE] = { pop3d_cmd_dele, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_NOOP] = { pop3d_cmd_noop, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_RSET] = { pop3d_cmd_rset, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_TOP] = { pop3d_retr_cmd, POP3D_ST(TRANSACTION) },
	[POP3D_VERB_UIDL] = { pop3d_cmd_list, POP3D_ST(TRANSACTION) },
};

/* Lines of a listing written per turn of the loop before the output is
   looked at again: a maildrop of 100,000 messages streams out under
   backpressure instead of landing in the output buffer at once. */
#define POP3D_LIST_BATCH 256

void
pop3d_cmd_dispatch(struct pop3d_session *s, struct pop3d_command *cmd)
{
	if ((unsigned)cmd->verb >= POP3D_VERB_COUNT)
		panic("pop3d_cmd_dispatch: verb %d", (int)cmd->verb);
	if ((pop3d_cmds[cmd->verb].states & (1u << s->state)) == 0) {
		pop3d_session_error(s, s->state == POP3D_STATE_AUTH ?
		    "-ERR Not logged in." : "-ERR Already logged in.");
		return;
	}
	pop3d_cmds[cmd->verb].fn(s, cmd);
}

static void
pop3d_cmd_capa(struct pop3d_session *s, struct pop3d_command *cmd)
{
	bool auth = s->state == POP3D_STATE_AUTH;
	struct buf b;

	(void)cmd;
	/* RFC 2449 §5: capabilities may differ by state; a client asks
	   again after STLS (RFC 2595 §4) and after login. */
	buf_init(&b, 0);
	buf_append_str(&b, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (auth && pop3d_login_plaintext_ok(s))
		buf_append_str(&b, "USER\r\nSASL PLAIN\r\n");
	if (auth && s->stls_offered && !conn_is_tls(s->conn))
		buf_append_str(&b, "STLS\r\n");
	buf_append_str(&b, "IMPLEMENTATION petrel\r\n.\r\n");
	pop3d_session_write(s, b.data, b.len);
	buf_clear(&b);
}

static void
pop3d_cmd_stls(struct pop3d_session *s, struct pop3d_command *cmd)
{
	(void)cmd;
	if (conn_is_tls(s->conn)) {
		pop3d_session_error(s, "-ERR TLS is already active.");
		return;
	}
	if (!s->stls_offered) {
		pop3d_session_error(s, "-ERR STLS is not available.");
		return;
	}
	log_info(POP3D_LOG_PREFIX " event=starttls", s->id);
	pop3d_session_reply(s, "+OK Begin TLS negotiation now.");
	pop3d_session_set_state(s, POP3D_STATE_HANDSHAKE);
	/* conn_starttls drops every plaintext byte buffered after the
	   command (RFC 2595 §4, STARTTLS command injection). */
	conn_starttls(s->conn, s->params.tls);
}

void
pop3d_cmd_tls_done(struct pop3d_session *s)
{
	/* RFC 2595 §4: the client forgets what it learnt; a USER given in
	   clear is forgotten here too, so a name injected before the
	   handshake cannot pair with a password sent after it. */
	if (s->user != NULL)
		explicit_bzero(s->user, strlen(s->user));
	xfree(&s->user);
	pop3d_session_set_state(s, POP3D_STATE_AUTH);
}

struct pop3d_update_job {
	struct store *store;
	const struct pop3d_maildrop *md;
	size_t expunged;
	char *error;
	int ret;
};

static void
pop3d_cmd_update_work(void *ctx)
{
	struct pop3d_update_job *job = ctx;

	job->ret = pop3d_maildrop_commit(job->store, job->md, &job->expunged,
	    &job->error);
}

static void
pop3d_cmd_update_done(struct pop3d_session *s, void *ctx)
{
	struct pop3d_update_job *job = ctx;
	char esc[LOG_STR_MAX];

	if (job->ret == -1)
		log_error(POP3D_LOG_PREFIX " event=update_failed user=%s "
		    "error=\"%s\"", s->id, log_str(esc, sizeof(esc),
		    s->account, strlen(s->account)), job->error);
	else
		log_info(POP3D_LOG_PREFIX " event=update expunged=%zu",
		    s->id, job->expunged);
	/* RFC 1939 §6: the reply says whether the deletions happened. */
	if (!pop3d_session_is_gone(s))
		pop3d_session_close(s, job->ret == -1 ?
		    "-ERR [SYS/TEMP] Some deleted messages were not removed." :
		    job->expunged > 0 ? "+OK Logging out, messages deleted." :
		    "+OK Logging out.");
	free(job->error);
	free(job);
}

static void
pop3d_cmd_quit(struct pop3d_session *s, struct pop3d_command *cmd)
{
	struct pop3d_update_job *job;

	(void)cmd;
	/* RFC 1939 §6: QUIT from AUTHORIZATION skips the UPDATE state. */
	if (s->state == POP3D_STATE_AUTH ||
	    !pop3d_maildrop_has_changes(s->md)) {
		pop3d_session_close(s, "+OK Logging out.");
		return;
	}
	pop3d_session_set_state(s, POP3D_STATE_UPDATE);
	job = xcalloc(1, sizeof(*job));
	job->store = s->store;
	job->md = s->md;
	pop3d_session_submit(s, pop3d_cmd_update_work, pop3d_cmd_update_done,
	    job);
}

static void
pop3d_cmd_stat(struct pop3d_session *s, struct pop3d_command *cmd)
{
	size_t count;
	uint64_t size;

	(void)cmd;
	pop3d_maildrop_stat(s->md, &count, &size);
	pop3d_session_reply(s, "+OK %zu %" PRIu64, count, size);
}

struct pop3d_message *
pop3d_cmd_message(struct pop3d_session *s, uint32_t number)
{
	struct pop3d_message *msg;

	switch (pop3d_maildrop_get(s->md, number, &msg)) {
	case POP3D_MAILDROP_OK:
		return msg;
	case POP3D_MAILDROP_DELETED:
		pop3d_session_error(s, "-ERR Message is deleted.");
		return NULL;
	case POP3D_MAILDROP_NO_SUCH:
		break;
	}
	pop3d_session_error(s, "-ERR There's no message %" PRIu32 ".",
	    number);
	return NULL;
}

static void
pop3d_cmd_list(struct pop3d_session *s, struct pop3d_command *cmd)
{
	bool uidl = cmd->verb == POP3D_VERB_UIDL;
	struct pop3d_message *msg;
	char uid[POP3D_UIDL_SIZE];
	size_t count;
	uint64_t size;

	pop3d_maildrop_stat(s->md, &count, &size);
	if (cmd->has_msg) {
		if ((msg = pop3d_cmd_message(s, cmd->msg)) == NULL)
			return;
		if (uidl) {
			pop3d_maildrop_uidl(s->md, msg, uid);
			pop3d_session_reply(s, "+OK %" PRIu32 " %s", cmd->msg,
			    uid);
		} else {
			pop3d_session_reply(s, "+OK %" PRIu32 " %" PRIu64,
			    cmd->msg, msg->size);
		}
		return;
	}
	if (uidl)
		pop3d_session_reply(s, "+OK");
	else
		pop3d_session_reply(s, "+OK %zu messages:", count);
	s->list_uidl = uidl;
	s->list_next = 0;
	/* Input stays as it is; the loop lists before it reads on. */
	pop3d_session_set_state(s, POP3D_STATE_LIST);
}

int
pop3d_cmd_list_continue(struct pop3d_session *s)
{
	const struct pop3d_maildrop *md = s->md;
	struct buf b;
	unsigned lines = 0;

	if (pop3d_session_output_full(s))
		return 0;
	buf_init(&b, 0);
	while (s->list_next < md->n && lines < POP3D_LIST_BATCH) {
		const struct pop3d_message *m = &md->msgs[s->list_next++];
		char uid[POP3D_UIDL_SIZE];

		if (m->deleted)
			continue;	/* RFC 1939 §5: not listed */
		lines++;
		if (s->list_uidl) {
			pop3d_maildrop_uidl(md, m, uid);
			buf_printf(&b, "%zu %s\r\n", s->list_next, uid);
		} else {
			buf_printf(&b, "%zu %" PRIu64 "\r\n", s->list_next,
			    m->size);
		}
	}
	if (s->list_next >= md->n) {
		buf_append_str(&b, ".\r\n");
		pop3d_session_set_state(s, POP3D_STATE_TRANSACTION);
		/* A drain on the way may have paused it. */
		conn_resume_input(s->conn);
	}
	pop3d_session_write(s, b.data, b.len);
	buf_clear(&b);
	return 1;
}

static void
pop3d_cmd_dele(struct pop3d_session *s, struct pop3d_command *cmd)
{
	struct pop3d_message *msg;

	if ((msg = pop3d_cmd_message(s, cmd->msg)) == NULL)
		return;
	pop3d_maildrop_delete(s->md, msg);
	pop3d_session_reply(s, "+OK Marked to be deleted.");
}

static void
pop3d_cmd_noop(struct pop3d_session *s, struct pop3d_command *cmd)
{
	(void)cmd;
	pop3d_session_reply(s, "+OK");
}

static void
pop3d_cmd_rset(struct pop3d_session *s, struct pop3d_command *cmd)
{
	size_t count;
	uint64_t size;

	(void)cmd;
	/* RFC 1939 §5: unmarks deleted messages; the \Seen to come from
	   RETR goes too, as in Dovecot. */
	pop3d_maildrop_reset(s->md);
	pop3d_maildrop_stat(s->md, &count, &size);
	pop3d_session_reply(s, "+OK %zu messages (%" PRIu64 " octets)", count,
	    size);
}
