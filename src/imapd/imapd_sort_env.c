/* imapd_sort_env.c — the ENVELOPE fields SORT and THREAD read (see
   imapd_sort_private.h). The store caches every message's ENVELOPE as
   IMAP text at append, so sorting reads no message file. That text is
   read back here, strictly in the shape mime_envelope writes (the
   command parser cannot: it wants a space between list elements, and
   address lists have none, "((...)(...))"); anything else is refused,
   never read past its end. Iterative, two levels deep at most. */
#include "imapd/imapd_sort_private.h"

#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_fetch_private.h"
#include "imapd/imapd_search_text.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

/* One nstring at p (NIL, a quoted string with its escapes, or a
   literal {n}CRLF...): the offset after it, *str_r a heap copy or NULL
   for NIL; NULL when p holds none. */
static const char *
imapd_sort_env_nstring(const char *p, const char *end, char **str_r)
{
	*str_r = NULL;
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
		return p + 3;
	if (p < end && *p == '"') {
		struct buf b;

		buf_init(&b, 0);
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			(void)buf_append(&b, p, 1);
		}
		if (p == end) {
			buf_clear(&b);
			return NULL;
		}
		(void)buf_append(&b, "", 0);
		*str_r = b.data != NULL ? buf_steal(&b) : xstrdup("");
		return p + 1;
	}
	if (p < end && *p == '{') {
		size_t n = 0;

		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (size_t)(end - p))
				return NULL;	/* longer than what is left */
			n = n * 10 + (size_t)(*p - '0');
		}
		if (end - p < 3 || memcmp(p, "}\r\n", 3) != 0 ||
		    n > (size_t)(end - p - 3))
			return NULL;
		*str_r = xstrndup(p + 3, n);
		return p + 3 + n;
	}
	return NULL;
}

/* An address list (NIL or "(" 1*address ")"): the first mailbox of it
   into *first (a group's markers have no host and are skipped). */
static const char *
imapd_sort_env_addrs(const char *p, const char *end,
    struct imapd_sort_addr *first)
{
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
		return p + 3;
	if (p == end || *p++ != '(')
		return NULL;
	while (p < end && *p == '(') {
		char *f[4] = { NULL, NULL, NULL, NULL };
		size_t i;

		p++;
		for (i = 0; i < 4 && p != NULL; i++) {
			if (i > 0 && (p == end || *p++ != ' '))
				p = NULL;
			else
				p = imapd_sort_env_nstring(p, end, &f[i]);
		}
		if (p == NULL || p == end || *p++ != ')') {
			for (i = 0; i < 4; i++)
				free(f[i]);
			return NULL;
		}
		if (first->mailbox == NULL && f[3] != NULL) {
			first->name = f[0];
			first->mailbox = f[2];
			first->host = f[3];
			free(f[1]);
			continue;
		}
		for (i = 0; i < 4; i++)
			free(f[i]);
	}
	return p < end && *p == ')' ? p + 1 : NULL;
}

int
imapd_sort_env_parse(const char *envelope, size_t len,
    struct imapd_sort_env *env_r)
{
	const char *p = envelope, *end = envelope + len;

	memset(env_r, 0, sizeof(*env_r));
	if (p == end || *p++ != '(')
		return -1;
	/* (date subject from sender reply-to to cc bcc in-reply-to
	   message-id), one space apart */
	for (int i = 0; i < 10 && p != NULL; i++) {
		if (i > 0 && (p == end || *p++ != ' ')) {
			p = NULL;
			break;
		}
		switch (i) {
		case 0:
			p = imapd_sort_env_nstring(p, end, &env_r->date);
			break;
		case 1:
			p = imapd_sort_env_nstring(p, end, &env_r->subject);
			break;
		case 2:
			p = imapd_sort_env_addrs(p, end, &env_r->from);
			break;
		case 5:
			p = imapd_sort_env_addrs(p, end, &env_r->to);
			break;
		case 6:
			p = imapd_sort_env_addrs(p, end, &env_r->cc);
			break;
		case 8:
			p = imapd_sort_env_nstring(p, end, &env_r->in_reply_to);
			break;
		case 9:
			p = imapd_sort_env_nstring(p, end, &env_r->message_id);
			break;
		default: {
			struct imapd_sort_addr unused = { 0 };

			p = imapd_sort_env_addrs(p, end, &unused);
			free(unused.name);
			free(unused.mailbox);
			free(unused.host);
		}
		}
	}
	if (p == NULL || p == end || *p != ')' || p + 1 != end) {
		imapd_sort_env_clear(env_r);
		return -1;
	}
	return 0;
}

int
imapd_sort_env_get(struct store *store, int64_t mailbox_id,
    const struct store_message *msg, struct imapd_sort_env *env_r)
{
	struct imapd_fetch_file file;
	struct buf env;
	int ret;

	if (msg->envelope != NULL)
		return imapd_sort_env_parse(msg->envelope,
		    strlen(msg->envelope), env_r);
	memset(env_r, 0, sizeof(*env_r));
	if (imapd_fetch_file_open(store, mailbox_id, msg->uid, true,
	    &file) != 0)
		return -1;
	buf_init(&env, 0);
	ret = mime_envelope(file.mime, 0, &env);
	if (ret == 0)
		ret = imapd_sort_env_parse(env.data, env.len, env_r);
	buf_clear(&env);
	imapd_fetch_file_close(&file);
	return ret;
}

static void
imapd_sort_addr_clear(struct imapd_sort_addr *a)
{
	free(a->name);
	free(a->mailbox);
	free(a->host);
}

void
imapd_sort_env_clear(struct imapd_sort_env *env)
{
	free(env->date);
	free(env->subject);
	free(env->in_reply_to);
	free(env->message_id);
	imapd_sort_addr_clear(&env->from);
	imapd_sort_addr_clear(&env->to);
	imapd_sort_addr_clear(&env->cc);
	memset(env, 0, sizeof(*env));
}

time_t
imapd_sort_date(const char *raw, time_t internal_date)
{
	int32_t day;
	time_t t;

	if (raw == NULL || imapd_search_date(raw, &day, &t) < 0)
		return internal_date;
	return t;
}

char *
imapd_sort_addr_key(const struct imapd_sort_addr *addr, bool display)
{
	struct buf b;
	size_t len;
	char *folded;

	buf_init(&b, 0);
	if (display && addr->name != NULL)
		(void)mime_header_decode(addr->name, strlen(addr->name), &b);
	if (display && b.len == 0 && addr->mailbox != NULL)
		(void)buf_printf(&b, "%s@%s", addr->mailbox,
		    addr->host != NULL ? addr->host : "");
	if (!display && addr->mailbox != NULL)
		(void)buf_append_str(&b, addr->mailbox);
	folded = imapd_search_fold(b.data != NULL ? b.data : "", b.len, &len);
	buf_clear(&b);
	return folded;
}
