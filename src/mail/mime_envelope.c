/* mime_envelope.c — IMAP ENVELOPE (RFC 9051 §7.5.2): the RFC 5322
   address-list parser for it, and the writer.

   Addresses come out as IMAP wants them: (name route mailbox host), a
   group as (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). Broken addresses
   are repaired the way Dovecot repairs them — a missing local part or
   domain becomes MISSING_MAILBOX / MISSING_DOMAIN, an unparsable angle
   address gets the host SYNTAX_ERROR, a bad route INVALID_ROUTE — because
   clients that migrated from Dovecot have these strings cached. Repeated
   From/To/... fields are merged as one list (a second From cannot hide
   behind the first); for Date, Subject, In-Reply-To and Message-ID the
   last field wins. Strings are the raw header text: no RFC 2047 decoding. */
#include "mail/mime.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime_private.h"

#define MIME_ADDR_NULL SIZE_MAX

struct mime_addr {
	size_t name, route, mailbox, domain;	/* offsets in pool */
	bool invalid;
};

struct mime_addr_list {
	struct mime_addr *v;
	size_t n, cap;
};

struct mime_addr_parser {
	struct mime_lex lx;
	struct buf comment, str;
	struct buf *pool;
	struct mime_addr cur;
	struct mime_addr_list *list;
};

static size_t
mime_addr_dup(struct mime_addr_parser *ap, const char *s, size_t len)
{
	size_t off = ap->pool->len;

	(void)buf_append(ap->pool, s, len);
	(void)buf_append(ap->pool, "", 1);
	return off;
}

static size_t
mime_addr_dup_str(struct mime_addr_parser *ap)
{
	return mime_addr_dup(ap, ap->str.data != NULL ? ap->str.data : "",
	    ap->str.len);
}

static bool
mime_addr_is_empty(const struct mime_addr_parser *ap, size_t off)
{
	return ap->pool->data[off] == '\0';
}

static void
mime_addr_reset(struct mime_addr *a)
{
	a->name = a->route = a->mailbox = a->domain = MIME_ADDR_NULL;
	a->invalid = false;
}

static void
mime_addr_add(struct mime_addr_parser *ap)
{
	struct mime_addr_list *l = ap->list;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = ap->cur;
	mime_addr_reset(&ap->cur);
}

static void
mime_addr_add_fixed(struct mime_addr_parser *ap)
{
	if (ap->cur.mailbox == MIME_ADDR_NULL) {
		ap->cur.mailbox = mime_addr_dup(ap, "MISSING_MAILBOX", 15);
		ap->cur.invalid = true;
	}
	if (ap->cur.domain == MIME_ADDR_NULL ||
	    mime_addr_is_empty(ap, ap->cur.domain)) {
		ap->cur.domain = mime_addr_dup(ap, "MISSING_DOMAIN", 14);
		ap->cur.invalid = true;
	}
	mime_addr_add(ap);
}

/* obs-local-part with the dots RFC 5322 forbids but senders write. */
static int
mime_addr_loose_dot_atom(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;
	int ret = -1;

	do {
		while (mime_lex_peek(lx) == '.') {
			(void)buf_append(&ap->str, ".", 1);
			lx->p++;
			if (lx->p == lx->end)
				return 0;
			ret = 1;
		}
		if (mime_lex_peek(lx) == '@')
			break;
		ret = mime_lex_atom(lx, &ap->str);
	} while (ret > 0 && mime_lex_peek(lx) == '.');
	return ret;
}

static int
mime_addr_local_part(struct mime_addr_parser *ap)
{
	int ret;

	buf_reset(&ap->str);
	if (mime_lex_peek(&ap->lx) == '"')
		ret = mime_lex_quoted(&ap->lx, &ap->str);
	else
		ret = mime_addr_loose_dot_atom(ap);
	if (ret < 0)
		return -1;
	ap->cur.mailbox = mime_addr_dup_str(ap);
	return ret;
}

static int
mime_addr_domain(struct mime_addr_parser *ap)
{
	int ret;

	buf_reset(&ap->str);
	if ((ret = mime_lex_domain(&ap->lx, &ap->str)) < 0)
		return -1;
	ap->cur.domain = mime_addr_dup_str(ap);
	return ret;
}

/* obs-route: "@a,@b:" before the addr-spec. */
static int
mime_addr_route(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;
	int ret;

	buf_reset(&ap->str);
	for (;;) {
		if (lx->p >= lx->end)
			return 0;
		if (*lx->p != '@')
			break;
		if (ap->str.len > 0)
			(void)buf_append(&ap->str, ",", 1);
		(void)buf_append(&ap->str, "@", 1);
		if ((ret = mime_lex_domain(lx, &ap->str)) <= 0)
			return ret;
		while (mime_lex_skip_lwsp(lx) > 0 && *lx->p == ',')
			lx->p++;
	}
	ap->cur.route = mime_addr_dup_str(ap);
	return 1;
}

static int
mime_addr_angle(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;

	lx->p++;			/* '<' */
	if (mime_lex_skip_lwsp(lx) <= 0)
		return -1;
	if (*lx->p == '@') {
		if (mime_addr_route(ap) > 0 && mime_lex_peek(lx) == ':') {
			lx->p++;
		} else {
			ap->cur.route = mime_addr_dup(ap, "INVALID_ROUTE", 13);
			if (lx->p >= lx->end)
				return -1;
		}
		if (mime_lex_skip_lwsp(lx) <= 0)
			return -1;
	}
	if (*lx->p != '>') {
		if (mime_addr_local_part(ap) <= 0)
			return -1;
		if (mime_lex_peek(lx) == '@' && mime_addr_domain(ap) <= 0)
			return -1;
	}
	if (mime_lex_peek(lx) != '>')
		return -1;
	lx->p++;
	return mime_lex_skip_lwsp(lx);
}

static int
mime_addr_name_addr(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;

	buf_reset(&ap->str);
	if (mime_lex_phrase(lx, &ap->str) <= 0 || mime_lex_peek(lx) != '<')
		return -1;
	/* "<a@b>" has no display name rather than an empty one */
	if (ap->str.len > 0)
		ap->cur.name = mime_addr_dup_str(ap);
	if (mime_addr_angle(ap) < 0) {
		ap->cur.domain = mime_addr_dup(ap, "SYNTAX_ERROR", 12);
		ap->cur.invalid = true;
	}
	return lx->p < lx->end ? 1 : 0;
}

static int
mime_addr_spec(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;
	bool quoted = mime_lex_peek(lx) == '"';
	int ret, ret2 = -2;

	buf_reset(&ap->comment);
	ret = mime_addr_local_part(ap);
	if (ret <= 0)
		ap->cur.invalid = true;
	if (ret != 0 && mime_lex_peek(lx) == '@') {
		ret2 = mime_addr_domain(ap);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (ap->comment.len > 0) {
		/* "a@b (Name)": the comment is the name */
		ap->cur.name = mime_addr_dup(ap, ap->comment.data,
		    ap->comment.len);
	} else if (ret2 == -2) {
		/* no @domain: a lone word is a mailbox, but anything after
		   it makes the whole a display name */
		size_t before;

		(void)buf_append(&ap->str, " ", 1);
		before = ap->str.len;
		(void)mime_lex_phrase(lx, &ap->str);
		if (ap->str.len != before) {
			ap->cur.mailbox = MIME_ADDR_NULL;
			ap->cur.name = mime_addr_dup_str(ap);
		} else if (!quoted) {
			ap->cur.domain = mime_addr_dup(ap, "", 0);
		}
		ap->cur.invalid = true;
		ret = -1;
	}
	return ret;
}

static int
mime_addr_mailbox(struct mime_addr_parser *ap)
{
	const unsigned char *start = ap->lx.p;
	int ret;

	if ((ret = mime_addr_name_addr(ap)) < 0) {
		ap->lx.p = start;
		ret = mime_addr_spec(ap);
		if (ap->cur.invalid && ap->cur.name == MIME_ADDR_NULL &&
		    ap->cur.mailbox != MIME_ADDR_NULL &&
		    ap->cur.domain == MIME_ADDR_NULL) {
			ap->cur.name = ap->cur.mailbox;
			ap->cur.mailbox = MIME_ADDR_NULL;
		}
	}
	if (ret < 0)
		ap->cur.invalid = true;
	mime_addr_add_fixed(ap);
	return ret;
}

static int
mime_addr_group(struct mime_addr_parser *ap)
{
	struct mime_lex *lx = &ap->lx;
	int ret;

	buf_reset(&ap->str);
	if (mime_lex_phrase(lx, &ap->str) <= 0 || mime_lex_peek(lx) != ':')
		return -1;
	/* a group from here on, however broken */
	lx->p++;
	if ((ret = mime_lex_skip_lwsp(lx)) <= 0)
		ap->cur.invalid = true;
	ap->cur.mailbox = mime_addr_dup_str(ap);
	mime_addr_add(ap);

	if (ret > 0 && *lx->p != ';') {
		for (;;) {
			(void)mime_addr_mailbox(ap);
			if (lx->p >= lx->end || *lx->p != ',')
				break;
			lx->p++;
			if (mime_lex_skip_lwsp(lx) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (lx->p >= lx->end || *lx->p != ';') {
			ret = -1;
		} else {
			lx->p++;
			ret = mime_lex_skip_lwsp(lx);
		}
	}
	if (ret < 0)
		ap->cur.invalid = true;
	mime_addr_add(ap);		/* the end of the group */
	return ret == 0 ? 0 : 1;
}

static void
mime_addr_parse(struct mime_addr_parser *ap, const char *value, size_t len)
{
	struct mime_lex *lx = &ap->lx;

	mime_lex_init(lx, value, len);
	lx->last_comment = &ap->comment;
	lx->nul_replace = true;
	mime_addr_reset(&ap->cur);
	if (mime_lex_skip_lwsp(lx) <= 0)
		return;
	for (;;) {
		const unsigned char *start = lx->p;
		int ret;

		if ((ret = mime_addr_group(ap)) < 0) {
			lx->p = start;
			ret = mime_addr_mailbox(ap);
		}
		if (ret == 0 || lx->p >= lx->end || *lx->p != ',')
			break;
		lx->p++;
		if ((ret = mime_lex_skip_lwsp(lx)) <= 0) {
			if (ret < 0)	/* trailing junk */
				mime_addr_add_fixed(ap);
			break;
		}
	}
}

/* --- the writer ----------------------------------------------------------- */

enum mime_env_field {
	MIME_ENV_DATE, MIME_ENV_SUBJECT, MIME_ENV_FROM, MIME_ENV_SENDER,
	MIME_ENV_REPLY_TO, MIME_ENV_TO, MIME_ENV_CC, MIME_ENV_BCC,
	MIME_ENV_IN_REPLY_TO, MIME_ENV_MESSAGE_ID, MIME_ENV_COUNT
};

static const char *const mime_env_names[MIME_ENV_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

static bool
mime_env_is_address(enum mime_env_field f)
{
	return f >= MIME_ENV_FROM && f <= MIME_ENV_BCC;
}

static int
mime_env_nstring(struct buf *out, const struct buf *pool, size_t off)
{
	if (off == MIME_ADDR_NULL)
		return mime_quote_nil(out);
	return mime_quote_string(out, pool->data + off,
	    strlen(pool->data + off));
}

static int
mime_env_addresses(struct buf *out, const struct buf *pool,
    const struct mime_addr_list *l)
{
	int r = 0;

	if (l->n == 0)
		return mime_quote_nil(out);
	r |= buf_append(out, "(", 1);
	for (size_t i = 0; i < l->n; i++) {
		const struct mime_addr *a = &l->v[i];

		r |= buf_append(out, "(", 1);
		if (a->name == MIME_ADDR_NULL)
			r |= mime_quote_nil(out);
		else
			r |= mime_quote_for_humans(out, pool->data + a->name,
			    strlen(pool->data + a->name));
		r |= buf_append(out, " ", 1);
		r |= mime_env_nstring(out, pool, a->route);
		r |= buf_append(out, " ", 1);
		r |= mime_env_nstring(out, pool, a->mailbox);
		r |= buf_append(out, " ", 1);
		r |= mime_env_nstring(out, pool, a->domain);
		r |= buf_append(out, ")", 1);
	}
	r |= buf_append(out, ")", 1);
	return r;
}

int
mime_envelope_write(const struct mime_message *msg, uint32_t index,
    struct buf *out)
{
	struct mime_addr_list lists[MIME_ENV_COUNT];
	size_t strs[MIME_ENV_COUNT];	/* offsets in pool, or NULL */
	struct mime_addr_parser ap;
	struct buf pool, tmp;
	struct mime_field f;
	size_t pos, end;
	int r = 0;

	memset(lists, 0, sizeof(lists));
	memset(&ap, 0, sizeof(ap));
	buf_init(&pool, 0);
	buf_init(&tmp, 0);
	buf_init(&ap.comment, 0);
	buf_init(&ap.str, 0);
	ap.pool = &pool;
	for (size_t i = 0; i < MIME_ENV_COUNT; i++)
		strs[i] = MIME_ADDR_NULL;

	mime_header_bounds(msg, index, &pos, &end);
	while (mime_header_next(msg->data, end, &pos, &f)) {
		const char *value;
		size_t len;
		enum mime_env_field e;

		if (f.name_len == 0)
			continue;
		for (e = 0; e < MIME_ENV_COUNT; e++) {
			if (mime_header_name_is(&f, mime_env_names[e]))
				break;
		}
		if (e == MIME_ENV_COUNT)
			continue;
		mime_header_value(&f, &tmp, &value, &len);
		if (mime_env_is_address(e)) {
			ap.list = &lists[e];
			mime_addr_parse(&ap, value, len);
		} else {
			strs[e] = pool.len;
			mime_quote_strdup(&pool, value, len);
			(void)buf_append(&pool, "", 1);
		}
	}

	r |= buf_append(out, "(", 1);
	for (enum mime_env_field e = 0; e < MIME_ENV_COUNT; e++) {
		const char *s = strs[e] != MIME_ADDR_NULL ?
		    pool.data + strs[e] : NULL;
		const struct mime_addr_list *l = &lists[e];

		if (e > 0)
			r |= buf_append(out, " ", 1);
		/* Sender and Reply-To default to From (RFC 9051) */
		if ((e == MIME_ENV_SENDER || e == MIME_ENV_REPLY_TO) &&
		    l->n == 0)
			l = &lists[MIME_ENV_FROM];
		if (mime_env_is_address(e))
			r |= mime_env_addresses(out, &pool, l);
		else if (s == NULL)
			r |= mime_quote_nil(out);
		else if (e == MIME_ENV_SUBJECT)
			r |= mime_quote_for_humans(out, s, strlen(s));
		else
			r |= mime_quote_string_nolf(out, s, strlen(s));
	}
	r |= buf_append(out, ")", 1);

	for (size_t i = 0; i < MIME_ENV_COUNT; i++)
		free(lists[i].v);
	buf_clear(&pool);
	buf_clear(&tmp);
	buf_clear(&ap.comment);
	buf_clear(&ap.str);
	return r < 0 ? -1 : 0;
}

int
mime_envelope(const struct mime_message *msg, uint32_t index,
    struct buf *out)
{
	if (index >= msg->n_parts)
		return -1;
	return mime_envelope_write(msg, index, out);
}
