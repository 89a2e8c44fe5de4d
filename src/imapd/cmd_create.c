/* cmd_create.c — CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE
   (RFC 6154 §3: "CREATE name (USE (\Sent))"). A trailing separator is
   dropped ("foo/" creates foo, RFC 9051 §6.3.4); missing parents are
   created by the store; CREATE is not SUBSCRIBE (Dovecot). The tagged
   OK carries the new mailbox's MAILBOXID (RFC 8474 §4.1). */
#include "imapd/imapd_commands.h"

#include <stdlib.h>

#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

struct imapd_create_job {
	char *name;
	unsigned special_use;
	int status;
	char *error;
	char mailboxid[IMAPD_MAILBOXID_SIZE];	/* "" when unknown */
};

static const struct {
	const char *name;
	unsigned bit;
} imapd_create_uses[] = {
	{ "\\All", STORE_SPECIAL_ALL },
	{ "\\Archive", STORE_SPECIAL_ARCHIVE },
	{ "\\Drafts", STORE_SPECIAL_DRAFTS },
	{ "\\Flagged", STORE_SPECIAL_FLAGGED },
	{ "\\Junk", STORE_SPECIAL_JUNK },
	{ "\\Sent", STORE_SPECIAL_SENT },
	{ "\\Trash", STORE_SPECIAL_TRASH },
};

/* "(USE (\Sent ...))": 1 with *use_r, 0 for an unknown attribute
   (answered NO [USEATTR]), -1 for bad syntax. */
static int
imapd_create_params(const struct imap_arg *arg, unsigned *use_r)
{
	const struct imap_arg *uses;

	*use_r = 0;
	if (arg->type != IMAP_ARG_LIST || arg->n_list != 2 ||
	    !imap_arg_is_atom(&arg->list[0], "USE") ||
	    arg->list[1].type != IMAP_ARG_LIST)
		return -1;
	uses = arg->list[1].list;
	for (size_t i = 0; i < arg->list[1].n_list; i++) {
		size_t k, nk = sizeof(imapd_create_uses) /
		    sizeof(imapd_create_uses[0]);

		if (uses[i].type != IMAP_ARG_ATOM)
			return -1;
		for (k = 0; k < nk; k++)
			if (imap_arg_is_atom(&uses[i],
			    imapd_create_uses[k].name))
				break;
		if (k == nk)
			return 0;
		*use_r |= imapd_create_uses[k].bit;
	}
	return 1;
}

static void
imapd_create_work(struct store *store, void *ctx)
{
	struct imapd_create_job *job = ctx;
	struct store_mailbox mb = { 0 };

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_create(store, job->name,
	    job->special_use, NULL);
	if (job->status != STORE_OK) {
		job->error = xstrdup(store_error(store));
		return;
	}
	/* Its UIDVALIDITY for the id; a failure here (a concurrent
	   DELETE) costs only the response code. */
	if (store_mailbox_get(store, job->name, &mb) == STORE_OK)
		imapd_mailboxid(job->mailboxid, mb.id, mb.uidvalidity);
	store_mailbox_clear(&mb);
}

static void
imapd_create_done(struct imapd_session *s, void *ctx)
{
	struct imapd_create_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK)
		imapd_command_store_error(s, job->status, job->error);
	else if (job->mailboxid[0] != '\0')
		imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK,
		    "OK [MAILBOXID (%s)] Create completed.", job->mailboxid);
	else
		imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK,
		    "OK Create completed.");
out:
	free(job->name);
	free(job->error);
	free(job);
}

void
imapd_cmd_create(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_create_job *job;
	struct imap_arg arg;
	unsigned use = 0;
	char *name;

	if (n < 1 || n > 2 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if (n == 2) {
		int r = imapd_create_params(&args[1], &use);

		if (r == -1) {
			imapd_command_bad(s, "Invalid CREATE parameters.");
			return;
		}
		if (r == 0) {
			imapd_command_done(s, 0, "NO [USEATTR] "
			    "Unsupported SPECIAL-USE attribute.");
			return;
		}
	}
	/* RFC 9051 §6.3.4: a trailing separator means the name will have
	   children; we create the name itself. */
	arg = args[0];
	if (arg.type != IMAP_ARG_NIL && arg.len > 1 &&
	    arg.str[arg.len - 1] == '/')
		arg.len--;
	if ((name = imapd_mailbox_arg(s, &arg)) == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->name = name;
	job->special_use = use;
	imapd_job_submit(s, imapd_create_work, imapd_create_done, job);
}
