/* smtpc_setup.c — from the greeting to "ready" (smtpc_private.h):
   greeting (RFC 5321 §4.3.1: 220 or fail), EHLO with HELO as the fallback
   for a 5xx (§4.1.4), STARTTLS (RFC 3207) opportunistic or required, EHLO
   again under TLS (§4.2: forget what was learnt before), AUTH PLAIN or
   LOGIN (RFC 4954, RFC 4616) with the credentials of a smarthost rule,
   never in plaintext unless the rule allows it. A required TLS that is
   not offered, not completed or not authenticated fails with a synthetic
   4xx: the caller tries the next host and, in the end, retries later. */
#include "smtpc/smtpc_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/conn.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

static bool
smtpc_setup_tls_required(const struct smtpc *c)
{
	return c->set.tls == SMTPC_TLS_VERIFY || c->set.tls == SMTPC_TLS_DANE;
}

static void
smtpc_setup_send_ehlo(struct smtpc *c)
{
	c->stage = SMTPC_STAGE_EHLO;
	smtpc_write_line(c, "EHLO %s", c->set.helo_name);
	smtpc_expect(c, SMTPC_CMD_EHLO, 0);
}

void
smtpc_setup_start(struct smtpc *c)
{
	c->stage = SMTPC_STAGE_GREETING;
	smtpc_expect(c, SMTPC_CMD_GREETING, 0);
	if (c->set.implicit_tls) {
		c->tls_started = true;
		conn_starttls_client(c->conn, smtpc_tls_ssl_new(c));
	}
}

/* Keywords of the EHLO reply (lines after the first), RFC 5321 §4.1.1.1. */
static void
smtpc_setup_parse_ehlo(struct smtpc *c, const struct smtp_reply *r)
{
	const char *line;
	size_t len, pos = 0;
	bool first = true;

	memset(&c->ext, 0, sizeof(c->ext));
	c->ext.ehlo = true;
	free(c->ehlo_text);
	c->ehlo_text = xstrndup(r->text.data != NULL ? r->text.data : "",
	    r->text.len);
	while (smtp_reply_next_line(r, &pos, &line, &len)) {
		char kw[32], *params;
		size_t k = 0;

		if (first) {
			first = false;
			continue;
		}
		while (k < len && k < sizeof(kw) - 1 && line[k] != ' ' &&
		    line[k] != '=')
			k++;
		memcpy(kw, line, k);
		kw[k] = '\0';
		params = xstrndup(line + k, len - k);
		if (strcasecmp(kw, "PIPELINING") == 0) {
			c->ext.pipelining = true;
		} else if (strcasecmp(kw, "8BITMIME") == 0) {
			c->ext.eightbitmime = true;
		} else if (strcasecmp(kw, "SMTPUTF8") == 0) {
			c->ext.smtputf8 = true;
		} else if (strcasecmp(kw, "CHUNKING") == 0) {
			c->ext.chunking = true;
		} else if (strcasecmp(kw, "DSN") == 0) {
			c->ext.dsn = true;
		} else if (strcasecmp(kw, "STARTTLS") == 0) {
			c->ext.starttls = true;
		} else if (strcasecmp(kw, "ENHANCEDSTATUSCODES") == 0) {
			c->ext.enhanced = true;
		} else if (strcasecmp(kw, "SIZE") == 0) {
			uint64_t n = 0;

			c->ext.size = true;
			/* RFC 1870 §4: no number or 0 means no limit. */
			if (params[0] == ' ' && str_to_u64(params + 1, &n) == 0)
				c->ext.max_size = n;
		} else if (strcasecmp(kw, "AUTH") == 0) {
			/* "AUTH PLAIN LOGIN", or the old "AUTH=PLAIN". */
			for (char *t = params; *t != '\0';) {
				size_t n;

				while (*t == ' ' || *t == '=')
					t++;
				n = strcspn(t, " =");
				if (n == 5 && strncasecmp(t, "PLAIN", 5) == 0)
					c->ext.auth_plain = true;
				else if (n == 5 && strncasecmp(t, "LOGIN", 5) == 0)
					c->ext.auth_login = true;
				t += n;
			}
		}
		free(params);
	}
}

static void
smtpc_setup_fail_text(struct smtpc *c, enum smtpc_stage stage,
    unsigned code, const char *enhanced, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
smtpc_setup_fail_text(struct smtpc *c, enum smtpc_stage stage,
    unsigned code, const char *enhanced, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtpc_setup_failed(c, stage, NULL, code, enhanced, text, false);
}

/* Writes an AUTH line and wipes every copy we made of it. */
static void
smtpc_setup_auth_write(struct smtpc *c, const char *prefix, const void *data,
    size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *b64 = xmalloc(cap);
	size_t n = base64_encode(data, len, b64, cap);

	conn_write(c->conn, prefix, strlen(prefix));
	conn_write(c->conn, b64, n);
	conn_write(c->conn, "\r\n", 2);
	explicit_bzero(b64, cap);
	free(b64);
	smtpc_expect(c, SMTPC_CMD_AUTH, 0);
}

static void
smtpc_setup_auth_start(struct smtpc *c)
{
	const char *user = c->set.auth_user, *pw = c->set.auth_password;

	c->stage = SMTPC_STAGE_AUTH;
	if (!c->tls_up && !c->set.auth_plaintext_ok) {
		smtpc_setup_fail_text(c, SMTPC_STAGE_AUTH, 454, "4.7.0",
		    "%s: not sending credentials without TLS",
		    c->remote_name);
		return;
	}
	if (c->ext.auth_plain) {
		size_t ulen = strlen(user), plen = strlen(pw);
		size_t len = ulen + plen + 2;
		char *msg = xmalloc(len);

		/* RFC 4616: authzid (empty) NUL authcid NUL passwd. */
		msg[0] = '\0';
		memcpy(msg + 1, user, ulen);
		msg[1 + ulen] = '\0';
		memcpy(msg + 2 + ulen, pw, plen);
		c->auth_step = 0;
		smtpc_setup_auth_write(c, "AUTH PLAIN ", msg, len);
		explicit_bzero(msg, len);
		free(msg);
	} else if (c->ext.auth_login) {
		c->auth_step = 1;
		smtpc_write_line(c, "AUTH LOGIN");
		smtpc_expect(c, SMTPC_CMD_AUTH, 0);
	} else {
		smtpc_setup_fail_text(c, SMTPC_STAGE_AUTH, 454, "4.7.0",
		    "%s offers neither AUTH PLAIN nor AUTH LOGIN",
		    c->remote_name);
	}
}

/* After EHLO or HELO: STARTTLS, AUTH, or ready. */
static void
smtpc_setup_next(struct smtpc *c)
{
	if (!c->tls_up && c->set.tls != SMTPC_TLS_NONE) {
		if (c->ext.starttls && c->tls_ctx != NULL) {
			c->stage = SMTPC_STAGE_STARTTLS;
			smtpc_write_line(c, "STARTTLS");
			smtpc_expect(c, SMTPC_CMD_STARTTLS, 0);
			return;
		}
		if (smtpc_setup_tls_required(c)) {
			smtpc_setup_fail_text(c, SMTPC_STAGE_STARTTLS, 421,
			    "4.7.10", "TLS is required but %s does not offer "
			    "STARTTLS", c->remote_name);
			return;
		}
	}
	if (c->set.auth_user != NULL && !c->auth_done) {
		smtpc_setup_auth_start(c);
		return;
	}
	smtpc_became_ready(c);
}

static void
smtpc_setup_auth_reply(struct smtpc *c, const struct smtp_reply *r)
{
	const char *v;

	if (c->auth_step == 1 || c->auth_step == 2) {
		if (r->code != 334)
			goto fail;
		v = c->auth_step == 1 ? c->set.auth_user :
		    c->set.auth_password;
		c->auth_step++;
		smtpc_setup_auth_write(c, "", v, strlen(v));
		return;
	}
	if (r->code != 235)
		goto fail;
	c->auth_done = true;
	smtpc_setup_next(c);
	return;
fail:
	smtpc_setup_failed(c, SMTPC_STAGE_AUTH, r, 0, NULL, NULL, false);
}

void
smtpc_setup_reply(struct smtpc *c, enum smtpc_cmd cmd,
    const struct smtp_reply *r)
{
	switch (cmd) {
	case SMTPC_CMD_GREETING:
		if (r->code != 220) {
			smtpc_setup_failed(c, SMTPC_STAGE_GREETING, r, 0, NULL,
			    NULL, false);
			return;
		}
		smtpc_setup_send_ehlo(c);
		return;
	case SMTPC_CMD_EHLO:
		if (r->code / 100 == 2) {
			smtpc_setup_parse_ehlo(c, r);
			smtpc_setup_next(c);
		} else if (r->code / 100 == 5 && !c->tls_up) {
			/* RFC 5321 §4.1.4: an old server; HELO has no
			   extensions, so no STARTTLS either. */
			smtpc_write_line(c, "HELO %s", c->set.helo_name);
			smtpc_expect(c, SMTPC_CMD_HELO, 0);
		} else {
			smtpc_setup_failed(c, SMTPC_STAGE_EHLO, r, 0, NULL,
			    NULL, false);
		}
		return;
	case SMTPC_CMD_HELO:
		if (r->code / 100 != 2) {
			smtpc_setup_failed(c, SMTPC_STAGE_EHLO, r, 0, NULL,
			    NULL, false);
			return;
		}
		memset(&c->ext, 0, sizeof(c->ext));
		smtpc_setup_next(c);
		return;
	case SMTPC_CMD_STARTTLS:
		if (r->code == 220) {
			c->tls_started = true;
			conn_starttls_client(c->conn, smtpc_tls_ssl_new(c));
		} else if (smtpc_setup_tls_required(c)) {
			smtpc_setup_failed(c, SMTPC_STAGE_STARTTLS, r, 0, NULL,
			    NULL, false);
		} else {
			/* RFC 3207 §4: the client may go on without. */
			c->ext.starttls = false;
			smtpc_setup_next(c);
		}
		return;
	case SMTPC_CMD_AUTH:
		smtpc_setup_auth_reply(c, r);
		return;
	default:
		panic("smtpc_setup_reply: command %d", cmd);
	}
}

void
smtpc_setup_tls_done(struct smtpc *c)
{
	char err[256];

	if (smtpc_tls_check(c, err, sizeof(err)) == -1 &&
	    smtpc_setup_tls_required(c)) {
		smtpc_setup_fail_text(c, SMTPC_STAGE_TLS_VERIFY, 421, "4.7.5",
		    "certificate of %s not accepted: %s", c->remote_name,
		    err);
		return;
	}
	/* Implicit TLS: the greeting comes next. STARTTLS: EHLO again and
	   forget the plaintext capabilities (RFC 3207 §4.2). */
	if (!c->set.implicit_tls) {
		memset(&c->ext, 0, sizeof(c->ext));
		smtpc_setup_send_ehlo(c);
	}
}

void
smtpc_setup_lost(struct smtpc *c, bool network)
{
	char text[512];

	if (c->tls_started && !c->tls_up) {
		snprintf(text, sizeof(text), "TLS handshake with %s [%s] "
		    "failed: %s", c->remote_name, c->addr_text, c->lost_reason);
		smtpc_setup_failed(c, SMTPC_STAGE_STARTTLS, NULL, 421, "4.7.5",
		    text, c->set.tls == SMTPC_TLS_OPPORTUNISTIC &&
		    !c->set.implicit_tls);
		return;
	}
	snprintf(text, sizeof(text), "%s [%s]: %s", c->remote_name,
	    c->addr_text, c->lost_reason);
	smtpc_setup_failed(c, c->stage, NULL, 421, network ? "4.4.2" :
	    "4.4.0", text, false);
}
