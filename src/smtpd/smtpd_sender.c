/* smtpd_sender.c — the sender/login match on submission (issue 5, as
   Postfix's reject_sender_login_mismatch): when [submission]
   sender_login_match is on, or the sender's domain has it on
   (`petrel domain set-sender-match`), a logged-in account may use only
   the MAIL FROM addresses directory_send_as_allowed grants it. A
   master user logged in as an account sends as that account. Relay
   network clients have no login and are not checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "directory/directory_admin.h"
#include "directory/directory_master.h"
#include "directory/directory_send_as.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "service/service_thread.h"
#include "smtpd/smtpd_private.h"

/* A sender the directory cannot parse ("x y"@example.org, bob..x@,
   bob@example.org.) is still under its domain's switch, or such
   spellings would pass any check: canonicalises a stand-in address of
   sender's domain (trailing dots dropped, as DNS does) into canon.
   1, 0, -1 as directory_master_canonical. */
static int
smtpd_sender_domain_canonical(struct directory *dir, const char *sender,
    char canon[DIRECTORY_MASTER_CANONICAL_MAX], struct directory_error *err)
{
	const char *at = strrchr(sender, '@');
	char probe[DIRECTORY_MASTER_CANONICAL_MAX];
	size_t len;

	if (at == NULL)
		return 0;
	len = strlen(at + 1);
	while (len > 0 && at[len] == '.')
		len--;
	if (len == 0 || len > 255)
		return 0;
	snprintf(probe, sizeof(probe), "postmaster@%.*s", (int)len, at + 1);
	return directory_master_canonical(dir, probe, canon, err);
}

/* Whether the match applies to sender: 1, 0, -1 (database). */
static int
smtpd_sender_match_on(struct smtpd_session *s, struct directory *dir,
    const char *sender)
{
	char canon[DIRECTORY_MASTER_CANONICAL_MAX];
	struct directory_error err = { 0 };
	const char *at;
	int rc;

	if (s->config->submission.sender_login_match)
		return 1;
	rc = directory_master_canonical(dir, sender, canon, &err);
	if (rc == -1 && err.code != DIRECTORY_ERROR_DB) {
		directory_error_clear(&err);
		rc = smtpd_sender_domain_canonical(dir, sender, canon, &err);
	}
	if (rc == -1) {
		rc = err.code == DIRECTORY_ERROR_DB ? -1 : 0;
		directory_error_clear(&err);
		return rc;
	}
	if (rc == 0)
		return 0;	/* not our domain: no domain switch */
	at = strrchr(canon, '@');
	return at != NULL ? directory_send_as_domain_match(dir, at + 1) : 0;
}

char *
smtpd_sender_check(struct smtpd_session *s, const char *path)
{
	struct directory *dir;
	char esc[LOG_STR_MAX];
	int rc;

	if (s->auth_user == NULL || *path == '\0')
		return NULL;
	if ((dir = service_thread_directory(s->params.thread)) == NULL)
		return xstrdup("451 4.3.0 Temporary lookup failure");
	rc = smtpd_sender_match_on(s, dir, path);
	if (rc == 0)
		return NULL;
	if (rc == 1)
		rc = directory_send_as_allowed(dir, s->auth_account_id,
		    s->auth_user, path);
	if (rc == 1)
		return NULL;
	if (rc == -1)
		return xstrdup("451 4.3.0 Temporary lookup failure");
	log_info(SMTPD_LOG_PREFIX " event=sender_mismatch user=%s from=<%s>",
	    s->id, s->auth_user, log_str(esc, sizeof(esc), path,
	    strlen(path)));
	return xasprintf("553 5.7.1 <%s>: Sender address rejected: not owned "
	    "by user %s", path, s->auth_user);
}
