/* imapd_sort_env.c — the ENVELOPE fields SORT and THREAD read (see
   imapd_sort_private.h). The store caches every message's ENVELOPE as
   IMAP text at append, so sorting reads no message file: the text is
   read back with the command parser (it is IMAP syntax, literals
   included) rather than a second IMAP string reader. */
#include "imapd/imapd_sort_private.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imapd/imapd_fetch_private.h"
#include "imapd/imapd_search_text.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

/* "x E " before the envelope makes it a command for the parser. */
#define IMAPD_SORT_ENV_PREFIX "x E "

static char *
imapd_sort_env_str(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL)
		return xstrndup(a->str, a->len);
	return NULL;
}

static void
imapd_sort_env_addr(const struct imap_arg *list, struct imapd_sort_addr *r)
{
	if (list->type != IMAP_ARG_LIST)
		return;
	for (size_t i = 0; i < list->n_list; i++) {
		const struct imap_arg *a = &list->list[i];

		/* (name adl mailbox host); a group's markers have no host */
		if (a->type != IMAP_ARG_LIST || a->n_list != 4 ||
		    a->list[3].type == IMAP_ARG_NIL)
			continue;
		r->name = imapd_sort_env_str(&a->list[0]);
		r->mailbox = imapd_sort_env_str(&a->list[2]);
		r->host = imapd_sort_env_str(&a->list[3]);
		return;
	}
}

int
imapd_sort_env_parse(const char *envelope, size_t len,
    struct imapd_sort_env *env_r)
{
	struct imap_parser_limits limits = { .max_depth = 4 };
	const struct imap_command *cmd;
	const struct imap_arg *e;
	struct imap_parser *p;
	struct buf text;
	size_t pos = 0, used;
	int ret = -1;

	memset(env_r, 0, sizeof(*env_r));
	buf_init(&text, 0);
	(void)buf_append_str(&text, IMAPD_SORT_ENV_PREFIX);
	(void)buf_append(&text, envelope, len);
	(void)buf_append(&text, "\r\n", 2);
	/* the text is ours (cached at append), but bounded all the same */
	limits.max_line = limits.max_size = text.len;
	limits.max_args = text.len;
	p = imap_parser_new(&limits);
	for (;;) {
		enum imap_parse_result r = imap_parser_feed(p, text.data + pos,
		    text.len - pos, &used);

		pos += used;
		if (r == IMAP_PARSE_LITERAL) {
			imap_parser_literal_accept(p);
			continue;
		}
		if (r != IMAP_PARSE_COMMAND || pos != text.len)
			goto out;
		break;
	}
	cmd = imap_parser_command(p);
	if (cmd->n_args != 1 || cmd->args[0].type != IMAP_ARG_LIST ||
	    cmd->args[0].n_list != 10)
		goto out;
	e = cmd->args[0].list;
	env_r->date = imapd_sort_env_str(&e[0]);
	env_r->subject = imapd_sort_env_str(&e[1]);
	imapd_sort_env_addr(&e[2], &env_r->from);
	imapd_sort_env_addr(&e[5], &env_r->to);
	imapd_sort_env_addr(&e[6], &env_r->cc);
	env_r->in_reply_to = imapd_sort_env_str(&e[8]);
	env_r->message_id = imapd_sort_env_str(&e[9]);
	ret = 0;
out:
	imap_parser_free(&p);
	buf_clear(&text);
	return ret;
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
