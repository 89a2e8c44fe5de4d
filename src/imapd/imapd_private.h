/* imapd_private.h — what the files of src/imapd/ share: the session, its
   selected mailbox, and the session API the commands (cmd_*.c) use.
   Nothing outside src/imapd/ includes it.

   Flow of a command: imapd_session.c parses it (imap_parser), checks the
   state it is allowed in (the table in imapd_commands.c) and calls its
   handler on the I/O thread. A handler either answers at once or runs
   store work on the worker pool with imapd_job_submit; either way it
   ends the command exactly once with imapd_command_done, which first
   writes the untagged updates the command may carry (other sessions'
   new messages, flag changes, expunges: RFC 9051 §5.2, §7.5.1), then the
   tagged line, then reads the next pipelined command. Input is paused
   while a command runs, so answers stay in order.

   Invariants: a session is touched only on its conn's I/O thread; at
   most one job per session is in flight; sequence numbers change only in
   imapd_selected (imapd_sync.c), never while a FETCH/STORE/SEARCH (non-
   UID) is answered. */
#ifndef PETREL_IMAPD_PRIVATE_H
#define PETREL_IMAPD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"
#include "imap/imap_seqset.h"
#include "service/service_delay.h"
#include "service/service_thread.h"
#include "store/store.h"

struct buf;
struct conn;
struct imap_parser;
struct imapd;
struct service_login;
struct worker_pool;

enum imapd_state {
	IMAPD_STATE_NOT_AUTH,
	IMAPD_STATE_AUTH,
	IMAPD_STATE_SELECTED,
	IMAPD_STATE_LOGOUT,
};

/* The mailbox a session has selected: its view of the messages. Message
   sequence number i + 1 is uids[i]. */
struct imapd_selected {
	int64_t mailbox_id;
	char *name;			/* store name (UTF-8) */
	bool readonly;			/* EXAMINE */
	uint32_t uidvalidity;
	uint32_t uidnext;		/* as last told to the client */
	uint64_t highestmodseq;		/* as last synchronised */
	uint32_t *uids;			/* ascending */
	size_t n, cap;
	/* \Recent (rev1): messages that arrived while this session had the
	   mailbox selected have UIDs >= recent_min. */
	uint32_t recent_min;
	/* SEARCHRES "$" (RFC 5182): UIDs, ascending. */
	uint32_t *saved;
	size_t n_saved;
	bool saved_valid;
	/* Expunges seen by the store but not yet told (they may not be told
	   during FETCH/STORE/SEARCH): the sequence map keeps those UIDs. */
	bool pending_expunge;
};

struct imapd_session {
	struct imapd *imapd;
	const struct config *config;
	struct service_thread *thread;
	struct service_login *login;
	struct worker_pool *pool;
	struct conn *conn;		/* NULL once closed */
	char id[32];			/* conn_id(), for logs */
	char addr[64];			/* peer address */
	enum imapd_state state;

	/* ENABLE and capabilities in force. */
	bool rev2;			/* ENABLE IMAP4rev2 */
	bool utf8;			/* UTF8=ACCEPT or rev2: names in UTF-8 */
	bool condstore;			/* CONDSTORE enabled or implied */
	bool qresync;

	/* Logged in. */
	char *account;			/* address */
	int64_t account_id;
	struct store_limits limits;
	struct imapd_selected *sel;	/* SELECTED state only */

	struct imap_parser *parser;
	char *tag;			/* of the command running, or NULL */
	bool uid;			/* the running command is UID ... */
	struct service_delay delay;
	unsigned errors;		/* BADs, toward limits.max_errors */

	/* Everything else is imapd_session.c's. */
	struct imapd_session_private *priv;
	struct service_link link;
};

/* --- answers (imapd_session.c) -------------------------------------- */

/* One untagged or continuation line: fmt's text and CRLF. */
void imapd_reply(struct imapd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Raw octets (a built response, literals inside). */
void imapd_write(struct imapd_session *s, const void *data, size_t len);
/* Whether output waits above the session's limit: stop producing,
   imapd_job_submit again when imapd_output_ready's callback runs. */
bool imapd_output_full(const struct imapd_session *s);
typedef void imapd_ready_fn(struct imapd_session *s, void *ctx);
void imapd_output_ready(struct imapd_session *s, imapd_ready_fn *fn,
    void *ctx);

enum imapd_done_flags {
	/* Untagged EXPUNGE may be sent first (not after FETCH, STORE,
	   SEARCH, which keep sequence numbers stable; UID versions may). */
	IMAPD_DONE_EXPUNGE_OK = 1 << 0,
	/* The command changed the mailbox itself: synchronise before the
	   tagged line even without a notification (EXPUNGE, COPY into the
	   selected mailbox, APPEND to it, STORE without .SILENT). */
	IMAPD_DONE_SYNC = 1 << 1,
};
/* Ends the running command: updates (per flags), then "<tag> <text>",
   e.g. imapd_command_done(s, 0, "OK [READ-WRITE] Select completed."). */
void imapd_command_done(struct imapd_session *s, unsigned flags,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "<tag> BAD <text>", counted toward max_errors. */
void imapd_command_bad(struct imapd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- store work (imapd_job.c) --------------------------------------- */

/* Runs work(store, job) on a worker with the account's store handle
   (taken from the per-account pool for the job's length; never held by
   an idle session), then done(s, job) on the session's thread. done
   runs even when the connection closed meanwhile (imapd_session_is_gone
   then): it must free job and answer nothing. */
typedef void imapd_job_work_fn(struct store *store, void *job);
typedef void imapd_job_done_fn(struct imapd_session *s, void *job);
void imapd_job_submit(struct imapd_session *s, imapd_job_work_fn *work,
    imapd_job_done_fn *done, void *job);
bool imapd_session_is_gone(const struct imapd_session *s);

/* --- the selected mailbox (imapd_sync.c) ---------------------------- */

/* Sequence number of uid (1-based), 0 when not in the view. */
uint32_t imapd_selected_seq(const struct imapd_selected *sel, uint32_t uid);
/* A client's sequence set (or UID set, uid true) against the view, as
   sorted, merged UID ranges for the store. "$" uses the saved result.
   0, or -1 with *error_r ("Invalid messageset"): a sequence number
   past the last message is an error (RFC 9051 §6.4.8 / Dovecot), a UID
   is never one. */
int imapd_selected_uids(const struct imapd_selected *sel,
    const struct imap_seqset *set, bool uid, struct imap_seq_range **ranges_r,
    size_t *n_r, const char **error_r);
/* Whether uid is \Recent for this session. */
bool imapd_selected_is_recent(const struct imapd_selected *sel,
    uint32_t uid);

/* --- helpers (imapd_util.c) ----------------------------------------- */

/* The client's mailbox argument to a store name (imap_write_mailbox_
   from_client with the session's utf8), or a BAD/NO already answered
   and NULL. */
char *imapd_mailbox_arg(struct imapd_session *s, const struct imap_arg *arg);
/* "NO [TRYCREATE] ...", "NO [NONEXISTENT] ...", "NO [ALREADYEXISTS] ...",
   "NO [OVERQUOTA] ...", "NO [SERVERBUG] ...", "NO [CANNOT] ...": the
   tagged answer for a store status (RFC 5530 codes, Dovecot's texts). */
void imapd_command_store_error(struct imapd_session *s, int status,
    const char *store_error);

/* "imapd: conn=<id>" for log lines. */
#define IMAPD_LOG_PREFIX "imapd: conn=%s"
#endif
