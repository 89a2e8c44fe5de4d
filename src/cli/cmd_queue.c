/* cmd_queue.c — `petrel queue list [--json]` and `petrel queue show ID
   [--json]`: what the queue holds, read through the queue module from the
   data directory, whether or not the server runs (the server keeps writing
   meanwhile; the queue handle takes care of sharing).

   Everything printed comes from the network at one remove (addresses, HELO
   names, header fields), so text output escapes control bytes: a queued
   message must not be able to drive the administrator's terminal. JSON
   output is always valid UTF-8 (bytes that are not become \xNN). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/buf.h"
#include "lib/utf8.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"

/* Headers shown by `show`: RFC 5322 sets no limit on the header block, a
   terminal needs one. Past this the output says it was cut. */
#define CMD_QUEUE_MAX_HEADERS (256 * 1024)

static const char cmd_queue_usage_text[] =
    "usage: petrel queue list [--json] | petrel queue show ID [--json]\n"
    "       petrel queue retry ID|--all | petrel queue delete ID|--all\n"
    "       petrel queue bounce ID";

/* Writes s with control bytes (TAB excepted when keep_tab) and bytes that
   are not printable UTF-8 as \xNN; UTF-8 text passes, for SMTPUTF8
   addresses and headers (RFC 6531, RFC 6532). */
static void
cmd_queue_put(const char *s, size_t len, bool keep_tab)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len; ) {
		unsigned char c = u[i];
		size_t n;

		if (c >= 0x80 && (n = utf8_nonascii_len(u + i, len - i)) > 0) {
			fwrite(u + i, 1, n, stdout);
			i += n;
			continue;
		}
		if (c < 0x20 ? !(keep_tab && c == '\t') : c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
		i++;
	}
}

static void
cmd_queue_puts(const char *s)
{
	cmd_queue_put(s, strlen(s), false);
}

static void
cmd_queue_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "@%lld", (long long)t);
}

static const char *
cmd_queue_body_name(enum queue_body body)
{
	switch (body) {
	case QUEUE_BODY_8BITMIME:
		return "8BITMIME";
	case QUEUE_BODY_BINARYMIME:
		return "BINARYMIME";
	case QUEUE_BODY_7BIT:
		break;
	}
	return "7BIT";
}

static const char *
cmd_queue_ret_name(enum queue_ret ret)
{
	return ret == QUEUE_RET_FULL ? "FULL" :
	    ret == QUEUE_RET_HDRS ? "HDRS" : NULL;
}

static const struct {
	unsigned bit;
	const char *name;
} cmd_queue_notify_names[] = {
	{ QUEUE_NOTIFY_NEVER, "NEVER" },
	{ QUEUE_NOTIFY_SUCCESS, "SUCCESS" },
	{ QUEUE_NOTIFY_FAILURE, "FAILURE" },
	{ QUEUE_NOTIFY_DELAY, "DELAY" },
};
#define CMD_QUEUE_N_NOTIFY \
	(sizeof(cmd_queue_notify_names) / sizeof(cmd_queue_notify_names[0]))

/* "SUCCESS,FAILURE" as in RFC 3461 §4.1; "-" when not given. */
static void
cmd_queue_notify_text(unsigned notify, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < CMD_QUEUE_N_NOTIFY; i++) {
		if ((notify & cmd_queue_notify_names[i].bit) == 0)
			continue;
		int n = snprintf(out + len, size - len, "%s%s",
		    len ? "," : "", cmd_queue_notify_names[i].name);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(out, size, "-");
}

/* A JSON string from bytes that may not be UTF-8: valid text as is, else
   every byte outside printable ASCII as \xNN. */
static json_t *
cmd_queue_json_bytes(const char *s, size_t len)
{
	json_t *j;
	struct buf b;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	buf_init(&b, 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			(void)buf_append(&b, &s[i], 1);
		else
			(void)buf_printf(&b, "\\x%02x", c);
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_clear(&b);
	if (j == NULL)
		panic("cmd_queue_json_bytes: escaped text rejected");
	return j;
}

static json_t *
cmd_queue_json_str(const char *s)
{
	return s == NULL ? json_null() : cmd_queue_json_bytes(s, strlen(s));
}

static json_t *
cmd_queue_json_time(time_t t)
{
	char text[64];

	cmd_queue_time(t, text, sizeof(text));
	return json_string(text);
}

static json_t *
cmd_queue_json_envelope(const struct queue_envelope *env)
{
	json_t *o = json_object(), *rcpts = json_array();
	const char *ret = cmd_queue_ret_name(env->ret);

	json_object_set_new(o, "id", json_string(env->id));
	json_object_set_new(o, "arrival", cmd_queue_json_time(env->arrival));
	json_object_set_new(o, "size", json_integer((json_int_t)env->size));
	json_object_set_new(o, "mail_from", cmd_queue_json_str(env->mail_from));
	json_object_set_new(o, "body",
	    json_string(cmd_queue_body_name(env->body)));
	json_object_set_new(o, "smtputf8", json_boolean(env->smtputf8));
	json_object_set_new(o, "ret", ret ? json_string(ret) : json_null());
	json_object_set_new(o, "envid", cmd_queue_json_str(env->envid));
	json_object_set_new(o, "helo", cmd_queue_json_str(env->helo));
	json_object_set_new(o, "client_addr",
	    cmd_queue_json_str(env->client_addr));
	json_object_set_new(o, "auth_user", cmd_queue_json_str(env->auth_user));
	json_object_set_new(o, "next_attempt",
	    cmd_queue_json_time(env->next_attempt));
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		json_t *ro = json_object(), *notify = json_array();

		for (size_t k = 0; k < CMD_QUEUE_N_NOTIFY; k++) {
			if (r->notify & cmd_queue_notify_names[k].bit)
				json_array_append_new(notify, json_string(
				    cmd_queue_notify_names[k].name));
		}
		json_object_set_new(ro, "address",
		    cmd_queue_json_str(r->address));
		json_object_set_new(ro, "notify", notify);
		json_object_set_new(ro, "orcpt", cmd_queue_json_str(r->orcpt));
		json_object_set_new(ro, "status",
		    cmd_queue_json_str(r->status));
		json_object_set_new(ro, "last_error",
		    cmd_queue_json_str(r->last_error));
		json_object_set_new(ro, "relay", cmd_queue_json_str(r->relay));
		json_object_set_new(ro, "tries", json_integer(r->tries));
		json_object_set_new(ro, "retry_at", r->retry_at > 0 ?
		    cmd_queue_json_time(r->retry_at) : json_null());
		json_array_append_new(rcpts, ro);
	}
	json_object_set_new(o, "recipients", rcpts);
	return o;
}

/* The worst recipient state, for the one-line summary of a message. */
static const char *
cmd_queue_summary_status(const struct queue_envelope *env)
{
	static const char *const order[] = {
		"failed", "deferred", "outbound", "queued", "delivered",
	};

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (size_t i = 0; i < env->n_rcpts; i++) {
			if (env->rcpts[i].status != NULL &&
			    strcmp(env->rcpts[i].status, order[k]) == 0)
				return order[k];
		}
	}
	return env->n_rcpts > 0 && env->rcpts[0].status != NULL ?
	    env->rcpts[0].status : "queued";
}

static void
cmd_queue_print_rcpts(const struct queue_envelope *env, bool details)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		printf("    %-9s <", r->status ? r->status : "queued");
		cmd_queue_puts(r->address);
		putchar('>');
		if (details) {
			char notify[64];

			cmd_queue_notify_text(r->notify, notify,
			    sizeof(notify));
			printf(" notify=%s", notify);
			if (r->orcpt != NULL) {
				fputs(" orcpt=", stdout);
				cmd_queue_puts(r->orcpt);
			}
		}
		/* Waiting for a remote retry: when (the delay reason is
		   the last error below). */
		if (r->status != NULL && strcmp(r->status, "outbound") == 0 &&
		    r->tries > 0) {
			char when[64];

			cmd_queue_time(r->retry_at, when, sizeof(when));
			printf(" tries=%u next=%s", r->tries, when);
		}
		putchar('\n');
		if (r->last_error != NULL) {
			fputs("              (", stdout);
			cmd_queue_puts(r->last_error);
			fputs(")\n", stdout);
		}
	}
}

static int
cmd_queue_list(struct cli *cli, struct queue *q)
{
	struct queue_envelope *envs = NULL;
	size_t n = 0;
	uint64_t total = 0;
	char *error = NULL;
	int ret;

	if (queue_list(q, &envs, &n, &error) == -1) {
		ret = cli_error("%s", error);
		free(error);
		return ret;
	}
	if (cli->json) {
		json_t *root = json_object(), *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			    cmd_queue_json_envelope(&envs[i]));
		json_object_set_new(root, "messages", arr);
		queue_envelopes_free(envs, n);
		return cli_print_json(root);
	}
	/* One block per message, as mailq prints it: the summary line, then
	   a line per recipient with its state and last error. */
	for (size_t i = 0; i < n; i++) {
		const struct queue_envelope *e = &envs[i];
		char arrival[64], next[64];

		cmd_queue_time(e->arrival, arrival, sizeof(arrival));
		cmd_queue_time(e->next_attempt, next, sizeof(next));
		printf("%s  %s  %llu bytes  %s  next %s\n    from <", e->id,
		    arrival, (unsigned long long)e->size,
		    cmd_queue_summary_status(e), next);
		cmd_queue_puts(e->mail_from);
		printf(">, %zu recipient%s\n", e->n_rcpts,
		    e->n_rcpts == 1 ? "" : "s");
		cmd_queue_print_rcpts(e, false);
		total += e->size;
	}
	if (n == 0)
		printf("queue is empty\n");
	else
		printf("-- %zu message%s, %llu bytes\n", n, n == 1 ? "" : "s",
		    (unsigned long long)total);
	queue_envelopes_free(envs, n);
	return 0;
}

/* Reads the header block of the stored message (up to the empty line that
   ends it, RFC 5322 §2.1), at most max bytes, one byte at a time through a
   small state so that chunk boundaries do not matter. Returns 0, or -1
   with errno. */
static int
cmd_queue_read_headers(const char *path, size_t max, struct buf *out,
    bool *truncated_r)
{
	char chunk[8192];
	size_t line_len = 0;
	bool last_cr = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*truncated_r = false;
	if (fd == -1)
		return -1;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char c = chunk[i];

			if (c == '\n') {
				/* An empty line (CRLF, or a bare LF from an
				   older file) ends the header block. */
				if (line_len == 0 || (line_len == 1 && last_cr))
					goto done;
				line_len = 0;
			} else {
				line_len++;
			}
			last_cr = c == '\r';
			if (out->len >= max) {
				*truncated_r = true;
				goto done;
			}
			(void)buf_append(out, &c, 1);
		}
	}
done:
	close(fd);
	/* The empty line's CR, if any, is not part of the headers. */
	if (out->len > 0 && line_len == 1 && last_cr &&
	    out->data[out->len - 1] == '\r')
		out->len--;
	return 0;
}

static void
cmd_queue_print_headers(const struct buf *h)
{
	const char *p = h->data, *end = h->data + h->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t len = (size_t)(stop - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		fputs("  ", stdout);
		cmd_queue_put(p, len, true);
		putchar('\n');
		p = nl ? nl + 1 : end;
	}
}

static void
cmd_queue_field(const char *name, const char *value)
{
	printf("%-14s", name);
	if (value != NULL)
		cmd_queue_puts(value);
	else
		putchar('-');
	putchar('\n');
}

static int
cmd_queue_show(struct cli *cli, struct queue *q, const char *id)
{
	struct queue_envelope env;
	struct buf headers;
	char *error = NULL, *path, arrival[64], next[64], size[32];
	bool truncated = false;
	int rc, read_errno = 0;

	rc = queue_show(q, id, &env, &error);
	if (rc == -1) {
		rc = cli_error("%s", error);
		free(error);
		return rc;
	}
	if (rc == 1) {
		struct buf shown;

		/* The argument is echoed, so it is escaped too. */
		buf_init(&shown, 0);
		for (const char *p = id; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c == 0x7f)
				(void)buf_printf(&shown, "\\x%02x", c);
			else
				(void)buf_append(&shown, p, 1);
		}
		rc = cli_error("no message %s in the queue",
		    shown.data ? shown.data : "");
		buf_clear(&shown);
		return rc;
	}
	path = queue_message_path(q, env.id);
	buf_init(&headers, 0);
	if (cmd_queue_read_headers(path, CMD_QUEUE_MAX_HEADERS, &headers,
	    &truncated) == -1)
		read_errno = errno;

	if (cli->json) {
		json_t *root = cmd_queue_json_envelope(&env);

		json_object_set_new(root, "path", cmd_queue_json_str(path));
		if (read_errno == 0) {
			json_object_set_new(root, "headers",
			    cmd_queue_json_bytes(headers.data ? headers.data :
			    "", headers.len));
			json_object_set_new(root, "headers_truncated",
			    json_boolean(truncated));
		} else {
			json_object_set_new(root, "headers", json_null());
			json_object_set_new(root, "error",
			    json_string(strerror(read_errno)));
		}
		rc = cli_print_json(root);
	} else {
		const char *ret = cmd_queue_ret_name(env.ret);

		cmd_queue_time(env.arrival, arrival, sizeof(arrival));
		cmd_queue_time(env.next_attempt, next, sizeof(next));
		snprintf(size, sizeof(size), "%llu bytes",
		    (unsigned long long)env.size);
		cmd_queue_field("id:", env.id);
		cmd_queue_field("arrival:", arrival);
		cmd_queue_field("size:", size);
		printf("%-14s<", "from:");
		cmd_queue_puts(env.mail_from);
		printf(">\n");
		cmd_queue_field("body:", cmd_queue_body_name(env.body));
		cmd_queue_field("smtputf8:", env.smtputf8 ? "yes" : "no");
		cmd_queue_field("ret:", ret);
		cmd_queue_field("envid:", env.envid);
		cmd_queue_field("helo:", env.helo);
		cmd_queue_field("client:", env.client_addr);
		cmd_queue_field("auth user:", env.auth_user);
		cmd_queue_field("next attempt:", next);
		printf("recipients:   %zu\n", env.n_rcpts);
		cmd_queue_print_rcpts(&env, true);
		cmd_queue_field("path:", path);
		if (read_errno == 0) {
			printf("headers:\n");
			cmd_queue_print_headers(&headers);
			if (truncated)
				printf("  [header block cut at %d bytes]\n",
				    CMD_QUEUE_MAX_HEADERS);
		}
		rc = 0;
	}
	if (rc == 0 && read_errno != 0)
		rc = cli_error("message %s: %s: %s", env.id, path,
		    strerror(read_errno));
	buf_clear(&headers);
	free(path);
	queue_envelope_clear(&env);
	return rc;
}

int
cli_cmd_queue(struct cli *cli, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL, *arg = NULL, *s;
	struct config *config;
	struct queue *q = NULL;
	struct cli_args args;
	char *error = NULL;
	int ret, nargs = 0;
	bool option;

	if (verb == NULL)
		return cli_usage("%s", cmd_queue_usage_text);
	if (strcmp(verb, "retry") == 0 || strcmp(verb, "delete") == 0 ||
	    strcmp(verb, "bounce") == 0)
		return cli_cmd_queue_admin(cli, argc, argv);
	/* --json anywhere before a "--" is cli.c's. */
	cli_args_init(&args, argc, argv, 2);
	while ((s = cli_args_next(&args, &option)) != NULL) {
		if (option)
			return cli_usage("queue %s: unknown option %s", verb,
			    s);
		if (nargs++ == 0)
			arg = s;
	}
	if (strcmp(verb, "list") == 0) {
		if (nargs != 0)
			return cli_usage("%s", cmd_queue_usage_text);
	} else if (strcmp(verb, "show") == 0) {
		if (nargs != 1)
			return cli_usage("%s", cmd_queue_usage_text);
	} else {
		return cli_usage("queue: unknown command \"%s\"; %s", verb,
		    cmd_queue_usage_text);
	}

	if ((config = cli_config(cli)) == NULL)
		return 1;
	if (queue_open(config->data_dir, &q, &error) == -1) {
		ret = cli_error("%s", error);
		free(error);
		return ret;
	}
	ret = arg == NULL ? cmd_queue_list(cli, q) : cmd_queue_show(cli, q,
	    arg);
	queue_close(&q);
	return ret;
}
