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
	/* \Recent (rev1, RFC 3501 §2.3.2; store_recent_claim): the UIDs
	   in [recent_min, recent_max) are \Recent in this session, those
	   >= recent_min when recent_max is 0 (EXAMINE: it counts without
	   claiming); recent_min 0: none (also rev2). A SELECT claims at once
	   and, while recent_claims, at each sync that brings new mail,
	   from recent_next on; the first claim lost to another session ends
	   that, so the set stays one range. FETCH, SEARCH and SORT get
	   recent_min and recent_max in their parameters. */
	uint32_t recent_min;
	uint32_t recent_max;
	uint32_t recent_next;
	bool recent_claims;
	/* SEARCHRES "$" (RFC 5182): UIDs, ascending. */
	uint32_t *saved;
	size_t n_saved;
	bool saved_valid;
	/* Expunges seen by the store but not yet told (they may not be told
	   during FETCH/STORE/SEARCH): the sequence map keeps those UIDs. */
	bool pending_expunge;
	uint32_t *expunged;		/* those UIDs, ascending */
	size_t n_expunged;
	/* imapd_selected_reported: (uid, modseq) pairs the next sync does
	   not tell again. */
	struct imapd_reported {
		uint32_t uid;
		uint64_t modseq;
	} *reported;
	size_t n_reported;
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
/* fn runs once: when the output has drained, or when the connection
   closes first (then imapd_session_is_gone(s): it only frees ctx). */
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
   then): it must free job and answer nothing. store is NULL when the
   account's store could not be opened (logged): work then records a
   STORE_IO failure for done to answer. Input is paused meanwhile; one
   job per session at a time. */
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
   past the last message, and any sequence set ("*" too) in an empty
   mailbox, is an error (RFC 9051 §6.4.8 / Dovecot), a UID is never
   one. */
int imapd_selected_uids(const struct imapd_selected *sel,
    const struct imap_seqset *set, bool uid, struct imap_seq_range **ranges_r,
    size_t *n_r, const char **error_r);
/* A command told the client the flags of uid at modseq itself (STORE's
   answer, FETCH setting \Seen): the next synchronisation does not tell
   them again (nothing changed since). */
void imapd_selected_reported(struct imapd_selected *sel, uint32_t uid,
    uint64_t modseq);
/* Whether uid is \Recent for this session. */
bool imapd_selected_is_recent(const struct imapd_selected *sel,
    uint32_t uid);
/* How many messages of the view are \Recent for this session. */
size_t imapd_selected_recent_count(const struct imapd_selected *sel);

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

/* Turns CONDSTORE on for a CONDSTORE-enabling command (RFC 7162 §3.1:
   ENABLE, FETCH MODSEQ/CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH
   MODSEQ, STATUS HIGHESTMODSEQ); the first time, with a mailbox
   selected, writes "* OK [HIGHESTMODSEQ n]". */
void imapd_condstore_enable(struct imapd_session *s);
/* RFC 8474 MAILBOXID of a store mailbox: "M" and 24 hex digits of the
   store's id and UIDVALIDITY, stable across renames that keep
   UIDVALIDITY. */
#define IMAPD_MAILBOXID_SIZE 26
void imapd_mailboxid(char out[IMAPD_MAILBOXID_SIZE], int64_t mailbox_id,
    uint32_t uidvalidity);

/* "imapd: conn=<id>" for log lines. */
#define IMAPD_LOG_PREFIX "imapd: conn=%s"

/* --- core internals (imapd.c, imapd_session*.c, imapd_job.c,
   imapd_sync.c and the login/select/idle/tls commands) --------------- */

typedef struct ssl_ctx_st SSL_CTX;
struct config_listener;
struct imapd_job_pool;
struct imapd_notify;
struct service_login_result;
struct store_watch;

struct imapd_session_params {
	const struct config *config;		/* outlives the session */
	const struct config_listener *listener;	/* name and TLS mode */
	struct service_thread *thread;		/* this I/O thread's state */
	struct worker_pool *workers;		/* jobs and login checks */
	struct service_login *login;		/* shared by all threads */
	struct imapd_job_pool *jobs;		/* store handles */
	SSL_CTX *tls;		/* the thread's TLS context, NULL if none */
	void (*on_end)(void *ctx);		/* once, when the session is gone */
	void *end_ctx;
};

/* A raw line the running command reads (AUTHENTICATE responses, IDLE's
   DONE): line NULL when it was longer than max (skipped). */
typedef void imapd_line_fn(struct imapd_session *s, const char *line,
    size_t len);

struct imapd_session_private {
	struct imapd_session_params params;
	unsigned depth;		/* callbacks of this session on the stack */
	bool dead;		/* conn gone: free when nothing runs */
	bool closing;		/* last reply written, conn closing */
	bool processing;	/* inside the input loop */
	bool dispatching;	/* inside a command handler */
	bool job;		/* a worker job or login names the session */
	bool wait_drain;	/* output over the limit */
	bool shutdown;		/* graceful shutdown: close when idle */
	bool handshake;		/* TLS handshake under way */
	bool tls_offered;	/* STARTTLS listener with a TLS context */
	bool idling;		/* inside IDLE */
	bool changed;		/* the store notified since the last sync */
	bool close_after_reply;	/* BYE after the held (delayed) answer */
	bool parser_partial;	/* the parser holds part of a command */
	bool compress;		/* COMPRESS DEFLATE active */
	size_t out_limit;	/* output pending above this: wait */
	unsigned idle_ms;	/* conn idle timeout in force */
	unsigned auth_failures;
	unsigned n_commands;
	/* imapd_command_done waiting for a synchronisation job. */
	char *done_text;
	unsigned done_flags;
	/* Raw line mode. */
	imapd_line_fn *line_fn;
	size_t line_max;
	void *line_ctx;		/* the command's; wiped (line_ctx_len
				   octets) and freed when it ends */
	size_t line_ctx_len;
	/* imapd_output_ready. */
	imapd_ready_fn *ready_fn;
	void *ready_ctx;
	/* The change feed (logged in). */
	struct imapd_notify *notify;
	struct store_watch *watch;
	/* imapd_job.c: when the directory last confirmed the account
	   (monotonic ms), and whether it found it deleted or disabled. */
	uint64_t account_checked_ms;
	bool account_gone;
};

/* imapd_session.c */
void imapd_session_start(int fd, const struct imapd_session_params *params);
/* service_thread shutdown hook: "* BYE Server shutting down." to an idle
   session; a busy one finishes its command first. */
struct service_link;
void imapd_session_shutdown_link(struct service_link *link);
/* Writes line (untagged, may be NULL) and closes after flushing. */
void imapd_session_close(struct imapd_session *s, const char *line);
/* The next input line goes to fn (max octets, CRLF included) instead of
   the command parser, until imapd_session_read_line(s, 0, NULL) or the
   command ends. Input runs meanwhile even though a command is running. */
void imapd_session_read_line(struct imapd_session *s, size_t max,
    imapd_line_fn *fn);
/* Whether a password may be sent now ([auth] plaintext, TLS, loopback). */
bool imapd_session_plaintext_ok(const struct imapd_session *s);
/* The capability list in force (without "CAPABILITY"), appended to out. */
void imapd_session_capability(const struct imapd_session *s, struct buf *out);
/* A held answer for the running command: after ms, imapd_command_done
   with text (then "* BYE" and close when close_after). */
void imapd_session_delay_done(struct imapd_session *s, unsigned ms,
    const char *text, bool close_after);
/* A successful login: account, limits, change feed, state AUTH. */
void imapd_session_logged_in(struct imapd_session *s,
    const struct service_login_result *result);
/* The store notified a change (on the session's thread). */
void imapd_session_notified(struct imapd_session *s);
/* Inside IDLE with changes not yet told: a sync now, or after the
   output drained (a client that does not read its updates gets no
   more). Nothing when a job runs: its end calls this again. */
void imapd_session_idle_push(struct imapd_session *s);
/* Leaves the selected state (CLOSE, UNSELECT, a new SELECT). */
void imapd_session_unselect(struct imapd_session *s);
void imapd_selected_free(struct imapd_selected **sel);

void imapd_session_enter(struct imapd_session *s);
void imapd_session_leave(struct imapd_session *s);

/* imapd_session_input.c */
/* Reads and runs what is buffered, as far as the session may. */
void imapd_session_process(struct imapd_session *s);
/* A wait is over (job, handshake, drain): input on, then process. */
void imapd_session_resume(struct imapd_session *s);
/* Waiting for the client with nothing of ours in flight (IDLE too). */
bool imapd_session_is_idle(const struct imapd_session *s);

/* cmd_login.c: checks a password through service_login and ends the
   running command with the answer (LOGIN and AUTHENTICATE). user and
   password are copied. */
void imapd_login_start(struct imapd_session *s, const char *method,
    const char *user, const char *authzid, const char *password,
    size_t password_len);

/* cmd_idle.c: an update pushed during IDLE was written. */
void imapd_session_idle_synced(struct imapd_session *s);

/* imapd_job.c */
struct imapd_job_pool *imapd_job_pool_new(const char *data_dir);
/* Closes every idle handle (blocks on SQLite: after the I/O threads
   stopped). Accepts NULL. */
void imapd_job_pool_free(struct imapd_job_pool **pool);
/* Idle handles now (tests). */
size_t imapd_job_pool_idle(struct imapd_job_pool *pool);
/* Closes the handles idle for more than idle_ms; returns how many.
   Blocks on SQLite: a worker (or tests). */
size_t imapd_job_pool_sweep(struct imapd_job_pool *pool, unsigned idle_ms);
/* Starts the periodic sweep (every IMAPD_POOL_SWEEP_MS, a worker job on
   workers closes handles idle past IMAPD_POOL_IDLE_MS), so that an idle
   server holds no SQLite connection. Runs on base's thread; the first
   call wins, later ones do nothing. */
struct event_base;
void imapd_job_pool_sweep_start(struct imapd_job_pool *pool,
    struct event_base *base, struct worker_pool *workers);
/* Stops it; on base's thread (a no-op on another), before base is
   freed. */
void imapd_job_pool_sweep_stop(struct imapd_job_pool *pool,
    struct event_base *base);
/* How often a session re-reads its account in the directory before a
   job (a deleted or disabled account gets "* BYE", never a new store). */
#define IMAPD_ACCOUNT_CHECK_MS 5000

/* imapd_sync.c */
/* Brings the selected view up to date on a worker and writes the
   untagged updates (expunges only when expunge_ok, else withheld), then
   calls done(s) on the session's thread (also when gone). */
typedef void imapd_sync_done_fn(struct imapd_session *s);
void imapd_sync(struct imapd_session *s, bool expunge_ok,
    imapd_sync_done_fn *done);
/* The watch's token: a store notification posts to the session's thread
   at most once until it ran. */
struct imapd_notify *imapd_notify_new(struct imapd_session *s);
/* The session is gone: a post under way does nothing. */
void imapd_notify_detach(struct imapd_notify **notify);
void imapd_notify_fire(int64_t account_id, void *ctx);	/* store_notify_fn */

/* Pre-login literals (LOGIN, AUTHENTICATE arguments): at most this. */
#define IMAPD_PREAUTH_LITERAL_MAX 8192
/* Failed logins in one connection before it is closed. */
#define IMAPD_MAX_AUTH_FAILURES 3
#endif
