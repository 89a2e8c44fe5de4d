/* smtp_command.c — the SMTP command line parser (see smtp_command.h).
   One line in, one struct smtp_command out, or one complete static reply
   with an enhanced status code (RFC 3463). Verbs and MAIL/RCPT parameters
   are tables; each entry names its parser. Nothing here knows the session:
   whether SIZE fits, whether SMTPUTF8 was announced, whether a relay-hack
   local part may pass are the session's questions.
   Leniency, as Postfix: trailing spaces are ignored, arguments and
   parameters may be separated by several spaces, and "MAIL FROM: <a@b>"
   (one space) is accepted. Paths need their angle brackets. */
#include "smtp/smtp_command.h"

#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "mail/address.h"
#include "smtp/smtp_xtext.h"

#define R_UNKNOWN	"500 5.5.2 Unrecognized command"
#define R_NUL		"501 5.5.2 NUL byte in command"
#define R_NO_PARAMS	"501 5.5.4 Syntax error (no parameters allowed)"
#define R_BAD_CHAR	"501 5.5.4 Invalid character in argument"
#define R_HELO		"501 5.5.4 Syntax: HELO hostname"
#define R_EHLO		"501 5.5.4 Syntax: EHLO hostname"
#define R_MAIL		"501 5.5.4 Syntax: MAIL FROM:<address>"
#define R_RCPT		"501 5.5.4 Syntax: RCPT TO:<address>"
#define R_VRFY		"501 5.5.4 Syntax: VRFY address"
#define R_EXPN		"501 5.5.4 Syntax: EXPN address"
#define R_AUTH		"501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define R_BDAT		"501 5.5.4 Syntax: BDAT size [LAST]"
#define R_BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define R_BAD_RCPT	"501 5.1.3 Bad recipient address syntax"
#define R_ROUTE_SENDER	"501 5.1.7 Source routes are not accepted"
#define R_ROUTE_RCPT	"501 5.1.3 Source routes are not accepted"
#define R_PARAM_SYNTAX	"501 5.5.4 Bad parameter syntax"
#define R_PARAM_UNKNOWN	"555 5.5.4 Unsupported parameter"
#define R_PARAM_DUP	"501 5.5.4 Duplicate parameter"

/* RFC 3461 §4.4: "the ENVID ... MUST NOT exceed 100 characters". */
#define SMTP_COMMAND_MAX_ENVID	100
/* RFC 3461 §4.2: ORCPT "MUST NOT exceed 500 characters". */
#define SMTP_COMMAND_MAX_ORCPT	500
/* RFC 4422 §3.1: SASL mechanism names are 1 to 20 characters. */
#define SMTP_COMMAND_MAX_MECH	20

/* usage is the verb's reply to a missing or malformed argument. */
typedef int smtp_command_parse_fn(const char *arg, size_t len,
    const char *usage, struct smtp_command *cmd, const char **reply_r);

/* --- small helpers ------------------------------------------------------ */

static bool
smtp_command_has_ctl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static bool
smtp_command_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

static bool
smtp_command_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Whether s[0..len) is the keyword kw, ignoring case (whole word). */
static bool
smtp_command_word_is(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

/* A keyword value of a parameter, matched whole and ignoring case. */
struct smtp_command_word {
	const char *word;
	unsigned value;
};

/* The value of s[0..len) in words (ended by a NULL word) into *value_r;
   -1 when it is none of them, or s is NULL (a parameter without value). */
static int
smtp_command_lookup(const char *s, size_t len,
    const struct smtp_command_word *words, unsigned *value_r)
{
	if (s == NULL)
		return -1;
	for (; words->word != NULL; words++) {
		if (smtp_command_word_is(s, len, words->word)) {
			*value_r = words->value;
			return 0;
		}
	}
	return -1;
}

/* Splits off the next space-separated token of s[*pos..len). */
static bool
smtp_command_next_token(const char *s, size_t len, size_t *pos,
    const char **tok_r, size_t *tok_len_r)
{
	size_t i = *pos;

	while (i < len && s[i] == ' ')
		i++;
	if (i == len) {
		*pos = i;
		return false;
	}
	*tok_r = s + i;
	while (i < len && s[i] != ' ')
		i++;
	*tok_len_r = (size_t)(s + i - *tok_r);
	*pos = i;
	return true;
}

/* --- MAIL and RCPT parameters ------------------------------------------- */

static int
smtp_command_param_size(struct smtp_command *cmd, const char *v, size_t len)
{
	/* RFC 1870 §3: size-value = 1*20DIGIT; larger than UINT64_MAX is a
	   syntax error here, never a wrap. */
	if (v == NULL || str_to_u64_n(v, len, &cmd->size) == -1)
		return -1;
	cmd->has_size = true;
	return 0;
}

static const struct smtp_command_word smtp_command_bodies[] = {
	{ "7BIT", SMTP_BODY_7BIT },
	{ "8BITMIME", SMTP_BODY_8BITMIME },
	{ "BINARYMIME", SMTP_BODY_BINARYMIME },
	{ NULL, 0 },
};

static int
smtp_command_param_body(struct smtp_command *cmd, const char *v, size_t len)
{
	unsigned body;

	if (smtp_command_lookup(v, len, smtp_command_bodies, &body) == -1)
		return -1;
	cmd->body = (enum smtp_body)body;
	return 0;
}

static int
smtp_command_param_smtputf8(struct smtp_command *cmd, const char *v,
    size_t len)
{
	(void)len;
	if (v != NULL)
		return -1;	/* RFC 6531 §3.4: no value */
	cmd->smtputf8 = true;
	return 0;
}

static const struct smtp_command_word smtp_command_rets[] = {
	{ "FULL", SMTP_RET_FULL },
	{ "HDRS", SMTP_RET_HDRS },
	{ NULL, 0 },
};

static int
smtp_command_param_ret(struct smtp_command *cmd, const char *v, size_t len)
{
	unsigned ret;

	if (smtp_command_lookup(v, len, smtp_command_rets, &ret) == -1)
		return -1;
	cmd->ret = (enum smtp_ret)ret;
	return 0;
}

/* Decodes xtext and keeps it only when every decoded byte is in lo..0x7e:
   the value ends up in DSN header fields (RFC 3464), where a CR, LF or
   NUL would be header injection. */
static int
smtp_command_xtext_printable(const char *v, size_t len, size_t max,
    unsigned char lo, struct buf *out)
{
	if (v == NULL || len > max || smtp_xtext_decode(v, len, out) == -1 ||
	    out->len == 0)
		return -1;
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if (c < lo || c > 0x7e)
			return -1;
	}
	return 0;
}

static int
smtp_command_param_envid(struct smtp_command *cmd, const char *v, size_t len)
{
	struct buf b;
	int ret;

	buf_init(&b, SMTP_COMMAND_MAX_ENVID);
	ret = smtp_command_xtext_printable(v, len, SMTP_COMMAND_MAX_ENVID,
	    0x20, &b);
	if (ret == 0)
		cmd->envid = buf_steal(&b);
	buf_clear(&b);
	return ret;
}

static int
smtp_command_param_auth(struct smtp_command *cmd, const char *v, size_t len)
{
	struct buf b;
	int ret;

	/* RFC 4954 §5: AUTH=<> or an xtext-encoded mailbox; kept raw (the
	   session trusts it only from authenticated peers), but it must be
	   well-formed xtext of a printable value. */
	buf_init(&b, len);
	ret = smtp_command_xtext_printable(v, len, len, 0x20, &b);
	if (ret == 0)
		cmd->auth = xstrndup(v, len);
	buf_clear(&b);
	return ret;
}

static int
smtp_command_param_requiretls(struct smtp_command *cmd, const char *v,
    size_t len)
{
	(void)len;
	if (v != NULL)
		return -1;	/* RFC 8689 §4.1: no value */
	cmd->requiretls = true;
	return 0;
}

static const struct smtp_command_word smtp_command_notify_words[] = {
	{ "NEVER", SMTP_NOTIFY_NEVER },
	{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
	{ "FAILURE", SMTP_NOTIFY_FAILURE },
	{ "DELAY", SMTP_NOTIFY_DELAY },
	{ NULL, 0 },
};

static int
smtp_command_param_notify(struct smtp_command *cmd, const char *v, size_t len)
{
	size_t start = 0;
	unsigned bits = 0, bit;

	if (v == NULL)
		return -1;
	/* RFC 3461 §4.1: "NEVER" alone, or a comma list of the others. */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		if (smtp_command_lookup(v + start, i - start,
		    smtp_command_notify_words, &bit) == -1)
			return -1;
		bits |= bit;
		start = i + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	cmd->notify = bits;
	return 0;
}

static int
smtp_command_param_orcpt(struct smtp_command *cmd, const char *v, size_t len)
{
	struct buf b;
	const char *semi;
	size_t tlen;
	bool utf8;
	int ret = -1;

	/* RFC 3461 §4.2: ORCPT=addr-type ";" xtext; RFC 6533 §3 adds the
	   "utf-8" type with its own escapes. Other types are refused: we
	   could neither use nor relay them faithfully. */
	if (v == NULL || len > SMTP_COMMAND_MAX_ORCPT ||
	    (semi = memchr(v, ';', len)) == NULL)
		return -1;
	tlen = (size_t)(semi - v);
	if (smtp_command_word_is(v, tlen, "rfc822"))
		utf8 = false;
	else if (smtp_command_word_is(v, tlen, "utf-8"))
		utf8 = true;
	else
		return -1;
	buf_init(&b, SMTP_COMMAND_MAX_ORCPT * 4);
	(void)buf_append_str(&b, utf8 ? "utf-8;" : "rfc822;");
	size_t prefix = b.len;
	const char *x = semi + 1;
	size_t xlen = len - tlen - 1;

	if (!utf8) {
		if (smtp_xtext_decode(x, xlen, &b) == -1)
			goto out;
	} else if (smtp_xtext_decode_utf8(x, xlen, &b) == -1) {
		goto out;
	}
	if (b.len == prefix)
		goto out;
	for (size_t i = prefix; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		/* No controls (DSN header injection); rfc822 is ASCII. */
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			goto out;
		/* C1 controls, U+0080-U+009F, are C2 80-C2 9F in UTF-8. */
		if (c == 0xc2 && i + 1 < b.len &&
		    (unsigned char)b.data[i + 1] < 0xa0)
			goto out;
	}
	cmd->orcpt = buf_steal(&b);
	ret = 0;
out:
	buf_clear(&b);
	return ret;
}

#define P_SIZE		(1u << 0)
#define P_BODY		(1u << 1)
#define P_SMTPUTF8	(1u << 2)
#define P_RET		(1u << 3)
#define P_ENVID		(1u << 4)
#define P_AUTH		(1u << 5)
#define P_REQUIRETLS	(1u << 6)
#define P_NOTIFY	(1u << 7)
#define P_ORCPT		(1u << 8)

/* v is NULL when the parameter had no "=value". */
typedef int smtp_command_param_fn(struct smtp_command *cmd, const char *v,
    size_t len);

static const struct smtp_command_param {
	const char *keyword;
	enum smtp_verb verb;
	unsigned bit;
	smtp_command_param_fn *parse;
	const char *reply;		/* when parse fails */
} smtp_command_params[] = {
	/* RFC 1870 §6 */
	{ "SIZE", SMTP_VERB_MAIL, P_SIZE,
	    smtp_command_param_size, "501 5.5.4 Bad SIZE parameter" },
	/* RFC 6152 §2, RFC 3030 §3 */
	{ "BODY", SMTP_VERB_MAIL, P_BODY,
	    smtp_command_param_body, "501 5.5.4 Bad BODY parameter" },
	/* RFC 6531 §3.4 */
	{ "SMTPUTF8", SMTP_VERB_MAIL, P_SMTPUTF8,
	    smtp_command_param_smtputf8, "501 5.5.4 Bad SMTPUTF8 parameter" },
	/* RFC 3461 §4.3 */
	{ "RET", SMTP_VERB_MAIL, P_RET,
	    smtp_command_param_ret, "501 5.5.4 Bad RET parameter" },
	/* RFC 3461 §4.4 */
	{ "ENVID", SMTP_VERB_MAIL, P_ENVID,
	    smtp_command_param_envid, "501 5.5.4 Bad ENVID parameter" },
	/* RFC 4954 §5 */
	{ "AUTH", SMTP_VERB_MAIL, P_AUTH,
	    smtp_command_param_auth, "501 5.5.4 Bad AUTH parameter" },
	/* RFC 8689 §4 */
	{ "REQUIRETLS", SMTP_VERB_MAIL, P_REQUIRETLS,
	    smtp_command_param_requiretls, "501 5.5.4 Bad REQUIRETLS parameter" },
	/* RFC 3461 §4.1 */
	{ "NOTIFY", SMTP_VERB_RCPT, P_NOTIFY,
	    smtp_command_param_notify, "501 5.5.4 Bad NOTIFY parameter" },
	/* RFC 3461 §4.2 */
	{ "ORCPT", SMTP_VERB_RCPT, P_ORCPT,
	    smtp_command_param_orcpt, "501 5.5.4 Bad ORCPT parameter" },
};

/* One "keyword[=value]" (RFC 5321 §4.1.2 esmtp-param). */
static int
smtp_command_param(const char *p, size_t len, struct smtp_command *cmd,
    unsigned *seen, const char **reply_r)
{
	const char *eq = memchr(p, '=', len), *v = NULL;
	size_t klen = eq != NULL ? (size_t)(eq - p) : len, vlen = 0;

	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (klen == 0 || !smtp_command_is_alnum(p[0]))
		goto syntax;
	for (size_t i = 1; i < klen; i++)
		if (!smtp_command_is_alnum(p[i]) && p[i] != '-')
			goto syntax;
	if (eq != NULL) {
		/* esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 §4.3 adds
		   UTF8-non-ascii (checked by the parameter's own parser) */
		v = eq + 1;
		vlen = len - klen - 1;
		if (vlen == 0)
			goto syntax;
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)v[i];

			if (c < 33 || c == '=' || c == 127)
				goto syntax;
		}
	}
	for (size_t i = 0; i < sizeof(smtp_command_params) /
	    sizeof(smtp_command_params[0]); i++) {
		const struct smtp_command_param *def = &smtp_command_params[i];

		if (def->verb != cmd->verb ||
		    !smtp_command_word_is(p, klen, def->keyword))
			continue;
		if (*seen & def->bit) {
			*reply_r = R_PARAM_DUP;
			return -1;
		}
		*seen |= def->bit;
		if (def->parse(cmd, v, vlen) == -1) {
			*reply_r = def->reply;
			return -1;
		}
		return 0;
	}
	*reply_r = R_PARAM_UNKNOWN;
	return -1;
syntax:
	*reply_r = R_PARAM_SYNTAX;
	return -1;
}

/* --- MAIL and RCPT ------------------------------------------------------ */

/* Index of the '>' closing the path that starts with '<' at p[0]. A '>'
   inside a quoted local part ("a>b"@x) does not close it. */
static int
smtp_command_path_end(const char *p, size_t len, size_t *end_r)
{
	bool quoted = false;

	for (size_t i = 1; i < len; i++) {
		if (quoted) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				quoted = false;
		} else if (p[i] == '"') {
			quoted = true;
		} else if (p[i] == '>') {
			*end_r = i;
			return 0;
		}
	}
	return -1;
}

/* The path s[0..len) between the brackets: RFC 5321 §4.1.2 Reverse-path
   ("<>" only for MAIL) and Forward-path ("<Postmaster>" only for RCPT,
   §4.5.1), checked with address_parse. */
static int
smtp_command_path(const char *s, size_t len, struct smtp_command *cmd,
    const char **reply_r)
{
	bool mail = cmd->verb == SMTP_VERB_MAIL;
	struct address addr;
	const char *error;

	if (len == 0) {
		if (!mail) {
			*reply_r = R_BAD_RCPT;
			return -1;
		}
		cmd->path = xstrdup("");
		return 0;
	}
	if (s[0] == '@') {
		/* A-d-l ":" Mailbox (§4.1.2). §3.3 says to accept and ignore
		   it, but it is a relay trick: refuse it plainly. */
		*reply_r = mail ? R_ROUTE_SENDER : R_ROUTE_RCPT;
		return -1;
	}
	if (!mail && smtp_command_word_is(s, len, "postmaster")) {
		cmd->path = xstrdup("postmaster");
		return 0;
	}
	cmd->path_is_utf8 = smtp_command_has_8bit(s, len);
	if (address_parse(s, len, cmd->path_is_utf8, &addr, &error) == -1) {
		*reply_r = mail ? R_BAD_SENDER : R_BAD_RCPT;
		return -1;
	}
	address_clear(&addr);
	cmd->path = xstrndup(s, len);
	return 0;
}

/* "FROM:<path> [params]" or "TO:<path> [params]". */
static int
smtp_command_parse_mailrcpt(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	const char *prefix = cmd->verb == SMTP_VERB_MAIL ? "FROM:" : "TO:";
	size_t plen = strlen(prefix), i, end;
	unsigned seen = 0;

	*reply_r = usage;
	if (len < plen || strncasecmp(arg, prefix, plen) != 0)
		return -1;
	i = plen;
	if (i < len && arg[i] == ' ')
		i++;	/* "MAIL FROM: <a@b>", as Postfix accepts */
	if (i == len || arg[i] != '<' ||
	    smtp_command_path_end(arg + i, len - i, &end) == -1)
		return -1;
	if (smtp_command_path(arg + i + 1, end - 1, cmd, reply_r) == -1)
		return -1;
	i += end + 1;
	if (i < len && arg[i] != ' ') {
		*reply_r = usage;
		return -1;
	}
	const char *tok;
	size_t tlen;

	while (smtp_command_next_token(arg, len, &i, &tok, &tlen))
		if (smtp_command_param(tok, tlen, cmd, &seen, reply_r) == -1)
			return -1;
	return 0;
}

/* --- the other verbs ---------------------------------------------------- */

/* HELO/EHLO (RFC 5321 §4.1.1.1), VRFY and EXPN (§4.1.1.6-7): the argument
   is required. It is kept raw (what it must look like is a policy
   question), but without controls, as it goes into the Received header
   and the logs. */
static int
smtp_command_parse_text(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	if (len == 0) {
		*reply_r = usage;
		return -1;
	}
	if (smtp_command_has_ctl(arg, len)) {
		*reply_r = R_BAD_CHAR;
		return -1;
	}
	cmd->arg = xstrndup(arg, len);
	return 0;
}

static int
smtp_command_parse_none(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	(void)arg;
	(void)cmd;
	if (len != 0) {
		*reply_r = usage;
		return -1;
	}
	return 0;
}

/* NOOP and HELP take any argument (RFC 5321 §4.1.1.8, §4.1.1.10); HELP
   keeps it for the session. */
static int
smtp_command_parse_any(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	(void)usage;
	(void)reply_r;
	if (cmd->verb == SMTP_VERB_HELP && len > 0)
		cmd->arg = xstrndup(arg, len);
	return 0;
}

/* RFC 4648 §4 base64 with at most two '=' of padding at the end. */
static bool
smtp_command_is_base64(const char *s, size_t len)
{
	size_t pad = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=')
			pad++;
		else if (pad > 0 || (!smtp_command_is_alnum(s[i]) &&
		    s[i] != '+' && s[i] != '/'))
			return false;
	}
	return pad <= 2 && pad < len;
}

/* RFC 4954 §4: AUTH mechanism [initial-response]; the response is base64
   or "=" for an empty one. Kept raw in arg; smtp_command_clear wipes it. */
static int
smtp_command_parse_auth(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	const char *mech, *ir;
	size_t i = 0, mlen, irlen;

	*reply_r = usage;
	if (!smtp_command_next_token(arg, len, &i, &mech, &mlen) ||
	    mlen > SMTP_COMMAND_MAX_MECH)
		return -1;
	for (size_t j = 0; j < mlen; j++)	/* RFC 4422 §3.1 */
		if (!smtp_command_is_alnum(mech[j]) && mech[j] != '-' &&
		    mech[j] != '_')
			return -1;
	if (smtp_command_next_token(arg, len, &i, &ir, &irlen)) {
		if (!(irlen == 1 && ir[0] == '=') &&
		    !smtp_command_is_base64(ir, irlen))
			return -1;
		if (i != len)
			return -1;	/* a third token */
	}
	cmd->arg = xstrndup(arg, len);
	return 0;
}

/* RFC 3030 §2: BDAT chunk-size [SP end-marker]. */
static int
smtp_command_parse_bdat(const char *arg, size_t len, const char *usage,
    struct smtp_command *cmd, const char **reply_r)
{
	const char *tok;
	size_t i = 0, tlen;

	*reply_r = usage;
	if (!smtp_command_next_token(arg, len, &i, &tok, &tlen) ||
	    str_to_u64_n(tok, tlen, &cmd->chunk_size) == -1)
		return -1;
	if (smtp_command_next_token(arg, len, &i, &tok, &tlen)) {
		if (!smtp_command_word_is(tok, tlen, "LAST") || i != len)
			return -1;
		cmd->last = true;
	}
	return 0;
}

/* --- the verb table ------------------------------------------------------ */

static const struct smtp_command_verb {
	const char *name;
	enum smtp_verb verb;
	smtp_command_parse_fn *parse;
	const char *usage;		/* reply to a bad argument */
} smtp_command_verbs[] = {
	{ "HELO", SMTP_VERB_HELO, smtp_command_parse_text, R_HELO },
	{ "EHLO", SMTP_VERB_EHLO, smtp_command_parse_text, R_EHLO },
	{ "MAIL", SMTP_VERB_MAIL, smtp_command_parse_mailrcpt, R_MAIL },
	{ "RCPT", SMTP_VERB_RCPT, smtp_command_parse_mailrcpt, R_RCPT },
	{ "DATA", SMTP_VERB_DATA, smtp_command_parse_none, R_NO_PARAMS },
	{ "BDAT", SMTP_VERB_BDAT, smtp_command_parse_bdat, R_BDAT },
	{ "RSET", SMTP_VERB_RSET, smtp_command_parse_none, R_NO_PARAMS },
	{ "NOOP", SMTP_VERB_NOOP, smtp_command_parse_any, NULL },
	{ "QUIT", SMTP_VERB_QUIT, smtp_command_parse_none, R_NO_PARAMS },
	{ "VRFY", SMTP_VERB_VRFY, smtp_command_parse_text, R_VRFY },
	{ "EXPN", SMTP_VERB_EXPN, smtp_command_parse_text, R_EXPN },
	{ "HELP", SMTP_VERB_HELP, smtp_command_parse_any, NULL },
	{ "STARTTLS", SMTP_VERB_STARTTLS, smtp_command_parse_none,
	    R_NO_PARAMS },
	{ "AUTH", SMTP_VERB_AUTH, smtp_command_parse_auth, R_AUTH },
};

int
smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    const char **reply_r)
{
	const struct smtp_command_verb *def = NULL;
	size_t vlen, i;

	memset(cmd, 0, sizeof(*cmd));
	if (len > 0 && memchr(line, '\0', len) != NULL) {
		*reply_r = R_NUL;
		return -1;
	}
	while (len > 0 && line[len - 1] == ' ')
		len--;
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	for (i = 0; i < sizeof(smtp_command_verbs) /
	    sizeof(smtp_command_verbs[0]); i++) {
		const struct smtp_command_verb *v = &smtp_command_verbs[i];

		if (smtp_command_word_is(line, vlen, v->name)) {
			def = v;
			break;
		}
	}
	if (def == NULL) {
		*reply_r = R_UNKNOWN;
		return -1;
	}
	cmd->verb = def->verb;
	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	return def->parse(line + i, len - i, def->usage, cmd, reply_r);
}

void
smtp_command_clear(struct smtp_command *cmd)
{
	/* AUTH's initial response may carry a password (SASL PLAIN). */
	if (cmd->arg != NULL)
		explicit_bzero(cmd->arg, strlen(cmd->arg));
	xfree(&cmd->arg);
	xfree(&cmd->path);
	xfree(&cmd->envid);
	xfree(&cmd->auth);
	xfree(&cmd->orcpt);
	memset(cmd, 0, sizeof(*cmd));
}

const char *
smtp_verb_name(enum smtp_verb verb)
{
	for (size_t i = 0; i < sizeof(smtp_command_verbs) /
	    sizeof(smtp_command_verbs[0]); i++)
		if (smtp_command_verbs[i].verb == verb)
			return smtp_command_verbs[i].name;
	return "UNKNOWN";
}
