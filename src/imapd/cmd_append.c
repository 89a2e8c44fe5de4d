/* cmd_append.c — APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502:
   several messages, all stored or none, in one store transaction),
   literal8 and UTF8 (RFC 3516, RFC 6855 "UTF8 (~{n}...)"), and APPENDUID
   (RFC 4315). The session checked each literal against APPENDLIMIT
   before its "+". The message octets are read in place from the parsed
   command on the worker (args stay valid until the command ends and the
   parser is not fed meanwhile): a 50 MB message is not copied unless a
   bare LF must become CRLF. The OK is sent after store_append (or the
   transaction) committed: the message is durable then. */
#include "imapd/imapd_commands.h"

#include <inttypes.h>
#include <stdlib.h>

#include "imap/imap_seqset.h"
#include "imapd/imapd_append.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_append_msg {
	unsigned flags;
	char *keywords;			/* NULL: none */
	time_t date;			/* 0: now */
	const char *data;		/* in the command's arguments */
	size_t len;
};

struct imapd_append_job {
	char *name;
	struct imapd_append_msg *msgs;
	size_t n_msgs;
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint32_t *uids;
	int status;
	char *error;
};

static int
imapd_append_one(struct store *store, struct imapd_append_job *job,
    const struct imapd_append_msg *m, uint32_t *uid_r)
{
	struct store_append a = {
		.mailbox_id = job->mailbox_id,
		.flags = m->flags,
		.keywords = m->keywords,
		.internal_date = m->date,
		.data = m->data,
		.len = m->len,
	};
	size_t len;
	char *fixed = imapd_append_crlf(m->data, m->len, &len);
	int ret;

	if (fixed != NULL) {
		a.data = fixed;
		a.len = len;
	}
	ret = store_append(store, &a, uid_r);
	free(fixed);
	return ret;
}

static void
imapd_append_work(struct store *store, void *ctx)
{
	struct imapd_append_job *job = ctx;
	struct store_mailbox mb;
	bool txn = job->n_msgs > 1;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_get(store, job->name, &mb);
	job->mailbox_id = mb.id;
	job->uidvalidity = mb.uidvalidity;
	store_mailbox_clear(&mb);
	if (job->status != STORE_OK)
		goto fail;
	if (txn && (job->status = store_begin(store)) != STORE_OK)
		goto fail;
	for (size_t i = 0; i < job->n_msgs; i++) {
		job->status = imapd_append_one(store, job, &job->msgs[i],
		    &job->uids[i]);
		if (job->status != STORE_OK) {
			job->error = xstrdup(store_error(store));
			if (txn)
				store_rollback(store);
			return;
		}
	}
	if (txn && (job->status = store_commit(store)) != STORE_OK)
		goto fail;
	return;
fail:
	job->error = xstrdup(store_error(store));
}

static void
imapd_append_job_free(struct imapd_append_job *job)
{
	for (size_t i = 0; i < job->n_msgs; i++)
		free(job->msgs[i].keywords);
	free(job->msgs);
	free(job->uids);
	free(job->name);
	free(job->error);
	free(job);
}

static void
imapd_append_done(struct imapd_session *s, void *ctx)
{
	struct imapd_append_job *job = ctx;
	unsigned done = IMAPD_DONE_EXPUNGE_OK;
	struct buf set;

	buf_init(&set, 0);
	if (imapd_session_is_gone(s))
		goto out;
	if (job->status == STORE_NOT_FOUND && job->mailbox_id == 0) {
		/* RFC 9051 §6.3.12: the client may CREATE and retry. */
		imapd_command_done(s, 0,
		    "NO [TRYCREATE] Mailbox doesn't exist.");
		goto out;
	}
	if (job->status == STORE_INVALID && job->mailbox_id != 0) {
		/* The mailbox was fine: the store refused a keyword. */
		imapd_command_done(s, 0, "NO [CANNOT] Invalid keywords.");
		goto out;
	}
	if (job->status != STORE_OK) {
		imapd_command_store_error(s, job->status, job->error);
		goto out;
	}
	if (s->state == IMAPD_STATE_SELECTED && s->sel != NULL &&
	    s->sel->mailbox_id == job->mailbox_id)
		done |= IMAPD_DONE_SYNC;	/* EXISTS before the OK */
	/* The UIDs are ascending: one transaction allocates them. */
	imap_seqset_write_list(job->uids, job->n_msgs, &set);
	imapd_command_done(s, done,
	    "OK [APPENDUID %" PRIu32 " %s] Append completed.",
	    job->uidvalidity, set.data);
out:
	buf_clear(&set);
	imapd_append_job_free(job);
}

/* One message: [flag list] [date-time] literal. 0 with *i advanced, or
   -1 with *error_r. */
static int
imapd_append_parse_msg(const struct imap_arg *args, size_t n, size_t *i,
    struct imapd_append_msg *m, const char **error_r)
{
	const struct imap_arg *lit = NULL;
	size_t k = *i;

	if (k < n && args[k].type == IMAP_ARG_LIST) {
		struct buf kw;

		buf_init(&kw, 0);
		if (imap_arg_flags(args[k].list, args[k].n_list, &m->flags,
		    &kw, error_r) == -1) {
			buf_clear(&kw);
			return -1;
		}
		m->keywords = kw.len > 0 ? buf_steal(&kw) : NULL;
		buf_clear(&kw);
		k++;
	}
	if (k < n && args[k].type == IMAP_ARG_QUOTED) {
		if (imapd_append_date(args[k].str, args[k].len,
		    &m->date) == -1) {
			*error_r = "Invalid internal date";
			return -1;
		}
		k++;
	}
	if (k < n && (args[k].type == IMAP_ARG_LITERAL ||
	    args[k].type == IMAP_ARG_LITERAL8)) {
		lit = &args[k++];
	} else if (k + 1 < n && imap_arg_is_atom(&args[k], "UTF8") &&
	    args[k + 1].type == IMAP_ARG_LIST && args[k + 1].n_list == 1 &&
	    args[k + 1].list[0].type == IMAP_ARG_LITERAL8) {
		/* RFC 6855 §4: the message may hold UTF-8 headers. */
		lit = &args[k + 1].list[0];
		k += 2;
	}
	if (lit == NULL) {
		*error_r = "Invalid arguments";
		return -1;
	}
	m->data = lit->str;
	m->len = lit->len;
	*i = k;
	return 0;
}

void
imapd_cmd_append(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_append_job *job;
	const char *error;
	size_t i = 1;

	if (n < 2 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	while (i < n) {
		struct imapd_append_msg m = { 0 };

		if (imapd_append_parse_msg(args, n, &i, &m, &error) == -1) {
			free(m.keywords);
			imapd_command_bad(s, "%s.", error);
			imapd_append_job_free(job);
			return;
		}
		job->msgs = xreallocarray(job->msgs, job->n_msgs + 1,
		    sizeof(*job->msgs));
		job->msgs[job->n_msgs++] = m;
		if (m.len == 0) {
			imapd_command_done(s, 0,
			    "NO Can't save a zero byte message.");
			imapd_append_job_free(job);
			return;
		}
	}
	if ((job->name = imapd_mailbox_arg(s, &args[0])) == NULL) {
		imapd_append_job_free(job);
		return;
	}
	job->uids = xcalloc(job->n_msgs, sizeof(*job->uids));
	imapd_job_submit(s, imapd_append_work, imapd_append_done, job);
}
