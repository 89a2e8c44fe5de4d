/* cmd_quota.c — GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208). An account
   has one quota root, "", over all its mailboxes, with the resources
   that have a limit (STORAGE in units of 1024 octets, MESSAGE); an
   account without limits has no quota root, as Dovecot answers. Limits
   are set by the administrator (petrel user), never by IMAP. */
#include "imapd/imapd_commands.h"

#include <inttypes.h>
#include <stdlib.h>

#include "imap/imap_write.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_quota_job {
	char *name;			/* GETQUOTAROOT's mailbox, or NULL */
	struct store_usage usage;
	int status;
	char *error;
};

static bool
imapd_quota_has_root(const struct imapd_session *s)
{
	return s->limits.quota_bytes > 0 || s->limits.quota_messages > 0;
}

static void
imapd_quota_work(struct store *store, void *ctx)
{
	struct imapd_quota_job *job = ctx;
	struct store_mailbox mb;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = STORE_OK;
	if (job->name != NULL) {
		job->status = store_mailbox_get(store, job->name, &mb);
		store_mailbox_clear(&mb);
	}
	if (job->status == STORE_OK)
		job->status = store_usage(store, &job->usage);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

/* "* QUOTA "" (STORAGE used limit MESSAGE used limit)" */
static void
imapd_quota_write(const struct imapd_session *s,
    const struct store_usage *usage, struct buf *out)
{
	const char *sep = "";

	buf_append_str(out, "* QUOTA \"\" (");
	if (s->limits.quota_bytes > 0) {
		buf_printf(out, "STORAGE %" PRIu64 " %" PRIu64,
		    usage->bytes / 1024, s->limits.quota_bytes / 1024);
		sep = " ";
	}
	if (s->limits.quota_messages > 0)
		buf_printf(out, "%sMESSAGE %" PRIu64 " %" PRIu64, sep,
		    usage->messages, s->limits.quota_messages);
	buf_append_str(out, ")\r\n");
}

static void
imapd_quota_done(struct imapd_session *s, void *ctx)
{
	struct imapd_quota_job *job = ctx;
	struct buf out;

	buf_init(&out, 0);
	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK) {
		imapd_command_store_error(s, job->status, job->error);
		goto out;
	}
	if (job->name != NULL) {
		buf_append_str(&out, "* QUOTAROOT ");
		imap_write_mailbox(&out, job->name, s->utf8);
		if (imapd_quota_has_root(s))
			buf_append_str(&out, " \"\"");
		buf_append_str(&out, "\r\n");
	}
	if (imapd_quota_has_root(s))
		imapd_quota_write(s, &job->usage, &out);
	imapd_write(s, out.data, out.len);
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK, "OK %s completed.",
	    job->name != NULL ? "Getquotaroot" : "Getquota");
out:
	buf_clear(&out);
	free(job->name);
	free(job->error);
	free(job);
}

void
imapd_cmd_getquotaroot(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_quota_job *job;
	char *name;

	if (n != 1 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if ((name = imapd_mailbox_arg(s, &args[0])) == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->name = name;
	imapd_job_submit(s, imapd_quota_work, imapd_quota_done, job);
}

void
imapd_cmd_getquota(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	if (n != 1 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if (args[0].len != 0 || !imapd_quota_has_root(s)) {
		imapd_command_done(s, 0, "NO Quota root does not exist.");
		return;
	}
	imapd_job_submit(s, imapd_quota_work, imapd_quota_done,
	    xcalloc(1, sizeof(struct imapd_quota_job)));
}

void
imapd_cmd_setquota(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	if (n != 2 || !imap_arg_is_astring(&args[0]) ||
	    args[1].type != IMAP_ARG_LIST) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	imapd_command_done(s, 0, "NO [NOPERM] Quota can be changed only by "
	    "the administrator.");
}
