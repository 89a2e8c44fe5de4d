/* cmd_authenticate.c — AUTHENTICATE PLAIN and LOGIN (RFC 9051 §6.2.2,
   RFC 4616, draft-murchison-sasl-login), with SASL-IR's initial response
   (RFC 4959: "=" is an empty one). The client's response lines are read
   raw (imapd_session_read_line); "*" cancels with BAD. Decoded
   credentials live in a line_ctx the session frees with the command,
   wiped first. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_sasl.h"
#include "imapd/imapd_commands.h"
#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

/* A response line: PLAIN's base64 plus CRLF. */
#define IMAPD_SASL_LINE_MAX (AUTH_SASL_PLAIN_B64_MAX + 2)

enum imapd_sasl_mech { IMAPD_SASL_PLAIN, IMAPD_SASL_LOGIN };

struct imapd_sasl {
	enum imapd_sasl_mech mech;
	bool have_user;		/* LOGIN: the user name came */
	struct auth_sasl_plain plain;	/* LOGIN uses authcid, passwd */
};

static void
imapd_sasl_wipe(struct imapd_session *s)
{
	struct imapd_sasl *sasl = s->priv->line_ctx;

	if (sasl != NULL)
		auth_sasl_plain_clear(&sasl->plain);
	imapd_session_read_line(s, 0, NULL);
}

static void
imapd_sasl_fail(struct imapd_session *s, const char *text)
{
	imapd_sasl_wipe(s);
	imapd_command_bad(s, "%s", text);
}

static imapd_line_fn imapd_sasl_line;

/* One response (initial or a line). */
static void
imapd_sasl_response(struct imapd_session *s, const char *resp, size_t len)
{
	struct imapd_sasl *sasl = s->priv->line_ctx;
	const char *error = NULL;
	size_t out_len;

	if (sasl->mech == IMAPD_SASL_PLAIN) {
		if (auth_sasl_plain_decode(resp, len, &sasl->plain,
		    &error) == -1) {
			imapd_sasl_fail(s, "Invalid AUTHENTICATE data.");
			return;
		}
		imapd_session_read_line(s, 0, NULL);
		imapd_login_start(s, "PLAIN", sasl->plain.authcid,
		    sasl->plain.authzid, sasl->plain.passwd,
		    sasl->plain.passwd_len);
		return;
	}
	if (!sasl->have_user) {
		if (auth_sasl_login_decode(resp, len, false,
		    sasl->plain.authcid, &out_len, &error) == -1) {
			imapd_sasl_fail(s, "Invalid AUTHENTICATE data.");
			return;
		}
		sasl->have_user = true;
		imapd_reply(s, "+ " AUTH_SASL_LOGIN_PASSWORD);
		imapd_session_read_line(s, IMAPD_SASL_LINE_MAX,
		    imapd_sasl_line);
		return;
	}
	if (auth_sasl_login_decode(resp, len, true, sasl->plain.passwd,
	    &sasl->plain.passwd_len, &error) == -1) {
		imapd_sasl_fail(s, "Invalid AUTHENTICATE data.");
		return;
	}
	imapd_session_read_line(s, 0, NULL);
	imapd_login_start(s, "LOGIN", sasl->plain.authcid, NULL,
	    sasl->plain.passwd, sasl->plain.passwd_len);
}

static void
imapd_sasl_line(struct imapd_session *s, const char *line, size_t len)
{
	if (line == NULL) {
		imapd_sasl_fail(s, "AUTHENTICATE data too long.");
		return;
	}
	if (auth_sasl_is_cancel(line, len)) {
		imapd_sasl_fail(s, "Authentication canceled.");
		return;
	}
	imapd_sasl_response(s, line, len);
}

void
imapd_cmd_authenticate(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_sasl *sasl;
	enum imapd_sasl_mech mech;

	if (n < 1 || n > 2 || args[0].type != IMAP_ARG_ATOM ||
	    (n == 2 && args[1].type != IMAP_ARG_ATOM)) {
		imapd_command_bad(s, "Invalid AUTHENTICATE arguments.");
		return;
	}
	if (strcasecmp(args[0].str, "PLAIN") == 0) {
		mech = IMAPD_SASL_PLAIN;
	} else if (strcasecmp(args[0].str, "LOGIN") == 0) {
		mech = IMAPD_SASL_LOGIN;
	} else {
		imapd_command_done(s, 0, "NO Unsupported authentication "
		    "mechanism.");
		return;
	}
	if (!imapd_session_plaintext_ok(s)) {
		imapd_command_done(s, 0, "NO [PRIVACYREQUIRED] Plaintext "
		    "authentication disallowed on non-secure (SSL/TLS) "
		    "connections.");
		return;
	}
	sasl = xcalloc(1, sizeof(*sasl));
	sasl->mech = mech;
	free(s->priv->line_ctx);
	s->priv->line_ctx = sasl;
	s->priv->line_ctx_len = sizeof(*sasl);
	if (n == 2) {
		/* RFC 4959 §3: "=" is an empty initial response. */
		const char *ir = args[1].str;
		size_t len = args[1].len;

		if (len == 1 && ir[0] == '=')
			len = 0;
		if (len > 0 || mech == IMAPD_SASL_PLAIN) {
			imapd_sasl_response(s, ir, len);
			return;
		}
	}
	imapd_reply(s, "+ %s", mech == IMAPD_SASL_LOGIN ?
	    AUTH_SASL_LOGIN_USERNAME : "");
	imapd_session_read_line(s, IMAPD_SASL_LINE_MAX, imapd_sasl_line);
}
