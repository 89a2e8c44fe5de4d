/* smtp_command_test.c — unit tests for the SMTP command parser: a table of
   valid and hostile lines, each compared byte for byte with either a
   rendering of the parsed command or the exact reply; plus xtext, every
   byte in every position of a few lines, and the path length limit. */
#include "smtp/smtp_command.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_xtext.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length: lines may hold NUL. */
#define S(x) x, sizeof(x) - 1

#define R_UNKNOWN	"500 5.5.2 Unrecognized command"
#define R_NUL		"501 5.5.2 NUL byte in command"
#define R_NO_PARAMS	"501 5.5.4 Syntax error (no parameters allowed)"
#define R_BAD_CHAR	"501 5.5.4 Invalid character in argument"
#define R_MAIL		"501 5.5.4 Syntax: MAIL FROM:<address>"
#define R_RCPT		"501 5.5.4 Syntax: RCPT TO:<address>"
#define R_BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define R_BAD_RCPT	"501 5.1.3 Bad recipient address syntax"
#define R_SYNTAX	"501 5.5.4 Bad parameter syntax"
#define R_UNSUPP	"555 5.5.4 Unsupported parameter"
#define R_DUP		"501 5.5.4 Duplicate parameter"
#define R_SIZE		"501 5.5.4 Bad SIZE parameter"
#define R_ENVID		"501 5.5.4 Bad ENVID parameter"
#define R_NOTIFY	"501 5.5.4 Bad NOTIFY parameter"
#define R_ORCPT		"501 5.5.4 Bad ORCPT parameter"
#define R_AUTH		"501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define R_BDAT		"501 5.5.4 Syntax: BDAT size [LAST]"

/* The parsed command as one line, for byte-exact comparisons. */
static char *
describe(const struct smtp_command *c)
{
	static const char *const bodies[] = { "", "7BIT", "8BITMIME",
	    "BINARYMIME" };
	struct buf b;

	buf_init(&b, 0);
	(void)buf_append_str(&b, smtp_verb_name(c->verb));
	if (c->arg != NULL)
		(void)buf_printf(&b, " arg=[%s]", c->arg);
	if (c->path != NULL)
		(void)buf_printf(&b, " path=<%s>", c->path);
	if (c->path_is_utf8)
		(void)buf_append_str(&b, " utf8");
	if (c->has_size)
		(void)buf_printf(&b, " size=%llu", (unsigned long long)c->size);
	if (c->body != SMTP_BODY_UNSET)
		(void)buf_printf(&b, " body=%s", bodies[c->body]);
	if (c->smtputf8)
		(void)buf_append_str(&b, " smtputf8");
	if (c->ret != SMTP_RET_UNSET)
		(void)buf_printf(&b, " ret=%s",
		    c->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
	if (c->envid != NULL)
		(void)buf_printf(&b, " envid=[%s]", c->envid);
	if (c->auth != NULL)
		(void)buf_printf(&b, " auth=[%s]", c->auth);
	if (c->requiretls)
		(void)buf_append_str(&b, " requiretls");
	if (c->notify != 0)
		(void)buf_printf(&b, " notify=%s%s%s%s",
		    c->notify & SMTP_NOTIFY_NEVER ? "N" : "",
		    c->notify & SMTP_NOTIFY_SUCCESS ? "S" : "",
		    c->notify & SMTP_NOTIFY_FAILURE ? "F" : "",
		    c->notify & SMTP_NOTIFY_DELAY ? "D" : "");
	if (c->orcpt != NULL)
		(void)buf_printf(&b, " orcpt=[%s]", c->orcpt);
	if (c->verb == SMTP_VERB_BDAT)
		(void)buf_printf(&b, " chunk=%llu%s",
		    (unsigned long long)c->chunk_size, c->last ? " last" : "");
	return buf_steal(&b);
}

static const struct {
	const char *line;
	size_t len;
	const char *want;	/* describe() on success, the reply on error */
	int ret;
} cases[] = {
	/* HELO / EHLO */
	{ S("HELO example.org"), "HELO arg=[example.org]", 0 },
	{ S("ehlo [192.0.2.1]"), "EHLO arg=[[192.0.2.1]]", 0 },
	{ S("EHLO  spaced.example  "), "EHLO arg=[spaced.example]", 0 },
	{ S("EHLO host name"), "EHLO arg=[host name]", 0 },
	{ S("EHLO h\xc3\xa9.example"), "EHLO arg=[h\xc3\xa9.example]", 0 },
	{ S("HELO"), "501 5.5.4 Syntax: HELO hostname", -1 },
	{ S("EHLO"), "501 5.5.4 Syntax: EHLO hostname", -1 },
	{ S("EHLO    "), "501 5.5.4 Syntax: EHLO hostname", -1 },
	{ S("EHLO a\tb"), R_BAD_CHAR, -1 },
	{ S("EHLO a\x7f"), R_BAD_CHAR, -1 },
	{ S("EHLO a\rb"), R_BAD_CHAR, -1 },
	{ S("EHLO a\0b"), R_NUL, -1 },
	{ S("EHLO\thost"), R_UNKNOWN, -1 },

	/* unknown verbs, whole words only */
	{ S(""), R_UNKNOWN, -1 },
	{ S("   "), R_UNKNOWN, -1 },
	{ S("FOO"), R_UNKNOWN, -1 },
	{ S("MAILX FROM:<>"), R_UNKNOWN, -1 },
	{ S("MAILFROM:<>"), R_UNKNOWN, -1 },
	{ S("MAI"), R_UNKNOWN, -1 },
	{ S(" MAIL FROM:<>"), R_UNKNOWN, -1 },
	{ S("M\xc3\x81IL FROM:<>"), R_UNKNOWN, -1 },
	{ S("\0"), R_NUL, -1 },
	{ S("GET / HTTP/1.1"), R_UNKNOWN, -1 },

	/* MAIL */
	{ S("MAIL FROM:<a@b.example>"), "MAIL path=<a@b.example>", 0 },
	{ S("mail from:<A@B.Example>"), "MAIL path=<A@B.Example>", 0 },
	{ S("MAIL FROM: <a@b.example>"), "MAIL path=<a@b.example>", 0 },
	{ S("MAIL FROM:<>"), "MAIL path=<>", 0 },
	{ S("MAIL FROM:<> SIZE=0"), "MAIL path=<> size=0", 0 },
	{ S("MAIL FROM:<a@b> SIZE=18446744073709551615 BODY=8bitmime SMTPUTF8 "
	    "RET=hdrs ENVID=QQ+2B+3Dx AUTH=<> REQUIRETLS"),
	    "MAIL path=<a@b> size=18446744073709551615 body=8BITMIME smtputf8 "
	    "ret=HDRS envid=[QQ+=x] auth=[<>] requiretls", 0 },
	{ S("MAIL FROM:<a@b>  size=1   body=7bit  "),
	    "MAIL path=<a@b> size=1 body=7BIT", 0 },
	{ S("MAIL FROM:<a@b> BODY=BINARYMIME RET=FULL"),
	    "MAIL path=<a@b> body=BINARYMIME ret=FULL", 0 },
	{ S("MAIL FROM:<a@b> AUTH=e+2Bx@example.org"),
	    "MAIL path=<a@b> auth=[e+2Bx@example.org]", 0 },
	{ S("MAIL FROM:<a@b> ENVID=a+20b"), "MAIL path=<a@b> envid=[a b]", 0 },
	{ S("MAIL FROM:<a@b> ENVID=a+2b"), "MAIL path=<a@b> envid=[a+]", 0 },
	{ S("MAIL FROM:<\"a@b\"@c.example>"), "MAIL path=<\"a@b\"@c.example>",
	    0 },
	{ S("MAIL FROM:<\"a>b\"@c.example> SIZE=1"),
	    "MAIL path=<\"a>b\"@c.example> size=1", 0 },
	{ S("MAIL FROM:<\"a\\\"> x\"@c.example>"),
	    "MAIL path=<\"a\\\"> x\"@c.example>", 0 },
	{ S("MAIL FROM:<j\xc3\xb6rg@x.example> SMTPUTF8"),
	    "MAIL path=<j\xc3\xb6rg@x.example> utf8 smtputf8", 0 },
	{ S("MAIL FROM:<a@b\xc3\xbc.example>"),
	    "MAIL path=<a@b\xc3\xbc.example> utf8", 0 },
	{ S("MAIL FROM:<a@[IPv6:2001:db8::1]>"),
	    "MAIL path=<a@[IPv6:2001:db8::1]>", 0 },
	{ S("MAIL FROM:a@b"), R_MAIL, -1 },
	{ S("MAIL FROM:"), R_MAIL, -1 },
	{ S("MAIL"), R_MAIL, -1 },
	{ S("MAIL FROM <a@b>"), R_MAIL, -1 },
	{ S("MAIL TO:<a@b>"), R_MAIL, -1 },
	{ S("MAIL FROM:  <a@b>"), R_MAIL, -1 },
	{ S("MAIL FROM:<a@b"), R_MAIL, -1 },
	{ S("MAIL FROM:<\"a>@b"), R_MAIL, -1 },
	{ S("MAIL FROM:<a@b>SIZE=1"), R_MAIL, -1 },
	{ S("MAIL FROM:<a@b>>"), R_MAIL, -1 },
	{ S("MAIL FROM:<<a@b>>"), R_BAD_SENDER, -1 },
	{ S("MAIL FROM:<@a,@b:user@c>"),
	    "501 5.1.7 Source routes are not accepted", -1 },
	{ S("MAIL FROM:<Postmaster>"), R_BAD_SENDER, -1 },
	{ S("MAIL FROM:<a@b\xff>"), R_BAD_SENDER, -1 },
	{ S("MAIL FROM:<a b@c>"), R_BAD_SENDER, -1 },
	{ S("MAIL FROM:<a@b>\0"), R_NUL, -1 },
	{ S("MAIL FROM:<a\0@b>"), R_NUL, -1 },

	/* MAIL parameters */
	{ S("MAIL FROM:<a@b> SIZE=99999999999999999999999"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE=18446744073709551616"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE=1 SIZE=2"), R_DUP, -1 },
	{ S("MAIL FROM:<a@b> size=1 SIZE=1"), R_DUP, -1 },
	{ S("MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8"), R_DUP, -1 },
	{ S("MAIL FROM:<a@b> SIZE"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE="), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> SIZE=-1"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE=+1"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE=1x"), R_SIZE, -1 },
	{ S("MAIL FROM:<a@b> SIZE=1=2"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> SIZE=\x01"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> SIZE=1\t"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> BODY=9BIT"), "501 5.5.4 Bad BODY parameter", -1 },
	{ S("MAIL FROM:<a@b> BODY"), "501 5.5.4 Bad BODY parameter", -1 },
	{ S("MAIL FROM:<a@b> SMTPUTF8=yes"),
	    "501 5.5.4 Bad SMTPUTF8 parameter", -1 },
	{ S("MAIL FROM:<a@b> RET=ALL"), "501 5.5.4 Bad RET parameter", -1 },
	{ S("MAIL FROM:<a@b> REQUIRETLS=1"),
	    "501 5.5.4 Bad REQUIRETLS parameter", -1 },
	{ S("MAIL FROM:<a@b> ENVID=a+2"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID=a+GG"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID=a+0D+0ASubject:+20x"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID=+00"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID=+C3+A9"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID=\xc3\xa9"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> ENVID"), R_ENVID, -1 },
	{ S("MAIL FROM:<a@b> AUTH=a+ZZ"), "501 5.5.4 Bad AUTH parameter", -1 },
	{ S("MAIL FROM:<a@b> AUTH=a+0A"), "501 5.5.4 Bad AUTH parameter", -1 },
	{ S("MAIL FROM:<a@b> FOO=bar"), R_UNSUPP, -1 },
	{ S("MAIL FROM:<a@b> X-FOO"), R_UNSUPP, -1 },
	{ S("MAIL FROM:<a@b> NOTIFY=NEVER"), R_UNSUPP, -1 },
	{ S("MAIL FROM:<a@b> ORCPT=rfc822;a@b"), R_UNSUPP, -1 },
	{ S("MAIL FROM:<a@b> SIZEX=1"), R_UNSUPP, -1 },
	{ S("MAIL FROM:<a@b> -X=1"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> X_Y=1"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> =1"), R_SYNTAX, -1 },
	{ S("MAIL FROM:<a@b> \xc3\xa9=1"), R_SYNTAX, -1 },

	/* RCPT */
	{ S("RCPT TO:<a@b>"), "RCPT path=<a@b>", 0 },
	{ S("rcpt to: <a@b>"), "RCPT path=<a@b>", 0 },
	{ S("RCPT TO:<Postmaster>"), "RCPT path=<postmaster>", 0 },
	{ S("RCPT TO:<POSTMASTER>"), "RCPT path=<postmaster>", 0 },
	{ S("RCPT TO:<Postmaster@B.example>"), "RCPT path=<Postmaster@B.example>",
	    0 },
	{ S("RCPT TO:<a%b@c.example>"), "RCPT path=<a%b@c.example>", 0 },
	{ S("RCPT TO:<b!a@c.example>"), "RCPT path=<b!a@c.example>", 0 },
	{ S("RCPT TO:<\"a@b\"@c.example>"), "RCPT path=<\"a@b\"@c.example>", 0 },
	{ S("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;a+2Bb@c"),
	    "RCPT path=<a@b> notify=SFD orcpt=[rfc822;a+b@c]", 0 },
	{ S("RCPT TO:<a@b> NOTIFY=never"), "RCPT path=<a@b> notify=N", 0 },
	{ S("RCPT TO:<a@b> NOTIFY=delay,Failure"), "RCPT path=<a@b> notify=FD",
	    0 },
	{ S("RCPT TO:<a@b> ORCPT=RFC822;x+40y"),
	    "RCPT path=<a@b> orcpt=[rfc822;x@y]", 0 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;+22x+20y+22@z"),
	    "RCPT path=<a@b> orcpt=[rfc822;\"x y\"@z]", 0 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;j\\x{F6}rg@x"),
	    "RCPT path=<a@b> orcpt=[utf-8;j\xc3\xb6rg@x]", 0 },
	{ S("RCPT TO:<a@b> ORCPT=UTF-8;j\xc3\xb6rg\\x{2B}t@x"),
	    "RCPT path=<a@b> orcpt=[utf-8;j\xc3\xb6rg+t@x]", 0 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;\\x{1F642}@x"),
	    "RCPT path=<a@b> orcpt=[utf-8;\xf0\x9f\x99\x82@x]", 0 },
	{ S("RCPT TO:<>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:<@a,@b:user@c>"),
	    "501 5.1.3 Source routes are not accepted", -1 },
	{ S("RCPT TO:<@a:u@c>"), "501 5.1.3 Source routes are not accepted",
	    -1 },
	{ S("RCPT TO:<a@>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:<a@b..c>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:<a@-b>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:<postmaster@>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:<postmasters>"), R_BAD_RCPT, -1 },
	{ S("RCPT TO:a@b"), R_RCPT, -1 },
	{ S("RCPT FROM:<a@b>"), R_RCPT, -1 },
	{ S("RCPT TO:<a@b> SIZE=1"), R_UNSUPP, -1 },
	{ S("RCPT TO:<a@b> SMTPUTF8"), R_UNSUPP, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=SUCCESS,"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=,SUCCESS"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=sometimes"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY"), R_NOTIFY, -1 },
	{ S("RCPT TO:<a@b> NOTIFY=SUCCESS NOTIFY=DELAY"), R_DUP, -1 },
	{ S("RCPT TO:<a@b> ORCPT=a@b"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=x400;a"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=;a@b"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;a+0Ab"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;a+C3+A9"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;a+4"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=rfc822;\xc3\xa9"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{0}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{D800}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{110000}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{1000000}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{41"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\y{41}"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{A}b"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\\x{85}b"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a+2Bb"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\xff"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\xc3"), R_ORCPT, -1 },
	{ S("RCPT TO:<a@b> ORCPT=utf-8;a\xc2\x85"), R_ORCPT, -1 },

	/* no arguments allowed */
	{ S("DATA"), "DATA", 0 },
	{ S("data"), "DATA", 0 },
	{ S("DATA "), "DATA", 0 },
	{ S("RSET"), "RSET", 0 },
	{ S("QUIT"), "QUIT", 0 },
	{ S("STARTTLS"), "STARTTLS", 0 },
	{ S("StartTLS"), "STARTTLS", 0 },
	{ S("DATA x"), R_NO_PARAMS, -1 },
	{ S("QUIT now"), R_NO_PARAMS, -1 },
	{ S("RSET x"), R_NO_PARAMS, -1 },
	{ S("STARTTLS x"), R_NO_PARAMS, -1 },
	{ S("DATA\t"), R_UNKNOWN, -1 },

	/* anything goes */
	{ S("NOOP"), "NOOP", 0 },
	{ S("NOOP anything \x01 \xff here"), "NOOP", 0 },
	{ S("HELP"), "HELP", 0 },
	{ S("HELP MAIL"), "HELP arg=[MAIL]", 0 },
	{ S("NOOP \0"), R_NUL, -1 },

	/* VRFY / EXPN */
	{ S("VRFY user"), "VRFY arg=[user]", 0 },
	{ S("EXPN list@example.org"), "EXPN arg=[list@example.org]", 0 },
	{ S("VRFY"), "501 5.5.4 Syntax: VRFY address", -1 },
	{ S("EXPN"), "501 5.5.4 Syntax: EXPN address", -1 },
	{ S("VRFY a\rb"), R_BAD_CHAR, -1 },

	/* AUTH */
	{ S("AUTH PLAIN"), "AUTH arg=[PLAIN]", 0 },
	{ S("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q="), "AUTH arg=[PLAIN dGVzdAB0ZXN0AHRlc3Q=]",
	    0 },
	{ S("AUTH PLAIN ="), "AUTH arg=[PLAIN =]", 0 },
	{ S("auth login"), "AUTH arg=[login]", 0 },
	{ S("AUTH SCRAM-SHA-256"), "AUTH arg=[SCRAM-SHA-256]", 0 },
	{ S("AUTH PLAIN  YQ=="), "AUTH arg=[PLAIN  YQ==]", 0 },
	{ S("AUTH ABCDEFGHIJKLMNOPQRST"), "AUTH arg=[ABCDEFGHIJKLMNOPQRST]", 0 },
	{ S("AUTH"), R_AUTH, -1 },
	{ S("AUTH PLAIN a b"), R_AUTH, -1 },
	{ S("AUTH PL@IN"), R_AUTH, -1 },
	{ S("AUTH ABCDEFGHIJKLMNOPQRSTU"), R_AUTH, -1 },
	{ S("AUTH PLAIN ab=c"), R_AUTH, -1 },
	{ S("AUTH PLAIN a==="), R_AUTH, -1 },
	{ S("AUTH PLAIN =="), R_AUTH, -1 },
	{ S("AUTH PLAIN *"), R_AUTH, -1 },
	{ S("AUTH PLAIN a\x01"), R_AUTH, -1 },

	/* BDAT */
	{ S("BDAT 0 LAST"), "BDAT chunk=0 last", 0 },
	{ S("BDAT 1000"), "BDAT chunk=1000", 0 },
	{ S("bdat 5 last"), "BDAT chunk=5 last", 0 },
	{ S("BDAT 18446744073709551615"), "BDAT chunk=18446744073709551615", 0 },
	{ S("BDAT"), R_BDAT, -1 },
	{ S("BDAT x"), R_BDAT, -1 },
	{ S("BDAT -1"), R_BDAT, -1 },
	{ S("BDAT +1"), R_BDAT, -1 },
	{ S("BDAT 18446744073709551616"), R_BDAT, -1 },
	{ S("BDAT 99999999999999999999999 LAST"), R_BDAT, -1 },
	{ S("BDAT 1 LAST x"), R_BDAT, -1 },
	{ S("BDAT 1 FIRST"), R_BDAT, -1 },
	{ S("BDAT 1x"), R_BDAT, -1 },
	{ S("BDAT LAST"), R_BDAT, -1 },
};

static void
test_table(void)
{
	for (size_t i = 0; i < NCASES(cases); i++) {
		struct smtp_command cmd;
		const char *reply = NULL;
		char *got = NULL;
		int ret = smtp_command_parse(cases[i].line, cases[i].len, &cmd,
		    &reply);

		if (ret == 0)
			got = describe(&cmd);
		if (ret != cases[i].ret || strcmp(ret == 0 ? got : reply,
		    cases[i].want) != 0)
			test_fail(__FILE__, __LINE__,
			    "case %zu \"%s\": got %d \"%s\", want %d \"%s\"", i,
			    cases[i].line, ret, ret == 0 ? got : reply,
			    cases[i].ret, cases[i].want);
		free(got);
		smtp_command_clear(&cmd);
	}
}

/* Enhanced status codes everywhere (RFC 3463): "5xy 5.y.z text". */
static bool
reply_is_well_formed(const char *r)
{
	return r != NULL && strlen(r) > 10 && (r[0] == '5' || r[0] == '4') &&
	    r[1] >= '0' && r[1] <= '9' && r[2] >= '0' && r[2] <= '9' &&
	    r[3] == ' ' && r[4] == r[0] && r[5] == '.' &&
	    strchr(r, '\r') == NULL && strchr(r, '\n') == NULL;
}

/* Every byte value in every position of a few lines: no crash, a success
   holds no control byte in its strings, a failure has a proper reply. */
static void
test_every_byte(void)
{
	static const char *const lines[] = {
		"MAIL FROM:<\"a b\"@c.example> SIZE=10 ENVID=x+2By",
		"RCPT TO:<a@[IPv6:::1]> NOTIFY=DELAY ORCPT=utf-8;\\x{E9}",
		"EHLO mail.example",
		"AUTH PLAIN dGVzdA==",
		"BDAT 12 LAST",
	};
	for (size_t l = 0; l < NCASES(lines); l++) {
		size_t len = strlen(lines[l]);
		char buf[128];

		for (size_t pos = 0; pos < len; pos++) {
			for (unsigned c = 0; c < 256; c++) {
				struct smtp_command cmd;
				const char *reply = NULL;

				memcpy(buf, lines[l], len);
				buf[pos] = (char)c;
				if (smtp_command_parse(buf, len, &cmd, &reply) == -1) {
					TEST_ASSERT(reply_is_well_formed(reply));
					if (c == 0)
						TEST_EQ_STR(reply, "501 5.5.2 NUL byte in command");
				} else {
					TEST_ASSERT(c != 0);
					const char *strs[] = { cmd.path, cmd.envid,
					    cmd.orcpt, cmd.auth };
					for (size_t s = 0; s < NCASES(strs); s++)
						for (const char *p = strs[s];
						    p != NULL && *p != '\0'; p++)
							TEST_ASSERT((unsigned char)*p >= 0x20 &&
							    *p != 0x7f);
					if (cmd.verb == SMTP_VERB_EHLO)
						TEST_ASSERT(strpbrk(cmd.arg,
						    "\r\n\t") == NULL);
				}
				smtp_command_clear(&cmd);
			}
		}
	}
}

/* RFC 5321 §4.5.3.1.3: the path is at most 256 octets with its brackets. */
static void
test_path_limit(void)
{
	char mbox[300];
	struct smtp_command cmd;
	const char *reply;

	memset(mbox, 'x', sizeof(mbox));
	for (size_t n = 250; n <= 260; n++) {
		/* "a@" + labels of 50 "x" */
		char *dom = xmalloc(n);
		size_t dlen = n - 2;

		memset(dom, 'x', dlen);
		for (size_t i = 50; i < dlen; i += 51)
			dom[i] = '.';
		dom[dlen - 1] = 'x';
		char *line = xasprintf("RCPT TO:<a@%.*s>", (int)dlen, dom);
		int ret = smtp_command_parse(line, strlen(line), &cmd, &reply);

		TEST_EQ_INT(ret, n + 2 <= 256 ? 0 : -1);
		if (ret == -1)
			TEST_EQ_STR(reply, R_BAD_RCPT);
		smtp_command_clear(&cmd);
		free(line);
		free(dom);
	}
}

static void
test_verb_names(void)
{
	static const char *const names[] = { "HELO", "EHLO", "MAIL", "RCPT",
	    "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
	    "STARTTLS", "AUTH" };

	for (size_t i = 0; i < NCASES(names); i++) {
		struct smtp_command cmd;
		const char *reply;

		/* every verb parses to itself (the reply does not matter) */
		(void)smtp_command_parse(names[i], strlen(names[i]), &cmd, &reply);
		TEST_EQ_STR(smtp_verb_name(cmd.verb), names[i]);
		smtp_command_clear(&cmd);
	}
	TEST_EQ_STR(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
}

/* cmd is cleared on entry (uninitialised storage is fine) and after -1
   nothing is left to leak: LeakSanitizer checks the rest. */
static void
test_clear(void)
{
	struct smtp_command cmd;
	const char *reply;

	memset(&cmd, 0xa5, sizeof(cmd));
	TEST_EQ_INT(smtp_command_parse(S("RCPT TO:<a@b> NOTIFY=DELAY ORCPT=x"),
	    &cmd, &reply), -1);
	TEST_ASSERT(cmd.path != NULL);	/* parsed before the bad ORCPT */
	smtp_command_clear(&cmd);
	TEST_ASSERT(cmd.path == NULL && cmd.verb == SMTP_VERB_UNKNOWN);
	smtp_command_clear(&cmd);
}

static void
test_xtext(void)
{
	static const struct {
		const char *in, *decoded;
	} cases_x[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "+2B+3D", "+=" },
		{ "+2b", "+" },
		{ "a+20b", "a b" },
		{ "+E2+82+AC", "\xe2\x82\xac" },
		{ "+", NULL },
		{ "+2", NULL },
		{ "+2G", NULL },
		{ "a=b", NULL },
		{ "a b", NULL },
		{ "a\x7f", NULL },
		{ "\xc3\xa9", NULL },
	};
	for (size_t i = 0; i < NCASES(cases_x); i++) {
		struct buf b;
		int ret;

		buf_init(&b, 0);
		ret = smtp_xtext_decode(cases_x[i].in, strlen(cases_x[i].in), &b);
		TEST_EQ_INT(ret, cases_x[i].decoded != NULL ? 0 : -1);
		if (ret == 0)
			TEST_EQ_STR(b.len > 0 ? b.data : "", cases_x[i].decoded);
		buf_clear(&b);
	}

	/* Encoding: every byte value round-trips, and only the specials,
	   controls, space and 8-bit are escaped, in upper case. */
	char all[256];
	struct buf enc, dec;

	for (unsigned c = 0; c < 256; c++)
		all[c] = (char)c;
	buf_init(&enc, 0);
	buf_init(&dec, 0);
	TEST_EQ_INT(smtp_xtext_encode(all, sizeof(all), &enc), 0);
	TEST_EQ_INT(enc.len, 94 - 2 + (256 - 94 + 2) * 3);
	TEST_ASSERT(strstr(enc.data, "+2B+2C") == NULL);
	TEST_ASSERT(strstr(enc.data, "*+2B,") != NULL);
	TEST_ASSERT(strstr(enc.data, "<+3D>") != NULL);
	TEST_ASSERT(strstr(enc.data, "+FF") != NULL);
	TEST_EQ_INT(smtp_xtext_decode(enc.data, enc.len, &dec), 0);
	TEST_EQ_INT(dec.len, sizeof(all));
	TEST_ASSERT(memcmp(dec.data, all, sizeof(all)) == 0);
	buf_clear(&enc);
	buf_clear(&dec);

	/* bounded output */
	buf_init(&dec, 2);
	TEST_EQ_INT(smtp_xtext_decode("abc", 3, &dec), -1);
	buf_clear(&dec);
}

int
main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_every_byte);
	TEST_RUN(test_path_limit);
	TEST_RUN(test_verb_names);
	TEST_RUN(test_clear);
	TEST_RUN(test_xtext);
	return test_done();
}
