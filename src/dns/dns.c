/* dns.c — asynchronous lookups through libunbound on a libevent base
   (dns.h). libunbound resolves in its own thread (ub_ctx_async(ctx, 1):
   never fork inside a threaded daemon) and signals results on ub_fd(),
   which the loop watches; ub_process() then runs our callbacks on the
   loop's thread. Each query also has a timer: unbound's own retries can
   take minutes against a dead server, and delivery wants a TEMPFAIL long
   before. Answers the caller could not have waited for (a bad name, a
   resolver error at submit) come back from a zero timer, so a callback
   never runs inside dns_query(). */
#include "dns/dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

#define DNS_TIMEOUT_DEFAULT_MS 20000

struct dns {
	struct event_base *base;
	struct ub_ctx *ub;
	struct event *ev_fd;
	unsigned timeout_ms;
	struct dns_query *queries;	/* pending, doubly linked */
	size_t pending;
};

struct dns_query {
	struct dns *dns;
	enum dns_type type;
	char *name;
	dns_callback *cb;
	void *ctx;
	int async_id;
	bool in_unbound;		/* async_id names a live ub query */
	struct dns_result *early;	/* answered before unbound was asked */
	struct event *timer;
	struct dns_query *prev, *next;
};

static const char *const dns_status_names[] = {
	[DNS_OK] = "ok", [DNS_NXDOMAIN] = "nxdomain", [DNS_NODATA] = "nodata",
	[DNS_TEMPFAIL] = "tempfail", [DNS_BOGUS] = "bogus",
};

const char *
dns_status_name(enum dns_status status)
{
	if ((size_t)status >= sizeof(dns_status_names) / sizeof(*dns_status_names))
		return "unknown";
	return dns_status_names[status];
}

static void
dns_on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;
	int err;

	(void)fd;
	(void)what;
	err = ub_process(dns->ub);
	if (err != 0)
		log_warn("dns: event=process_error error=\"%s\"",
		    ub_strerror(err));
}

struct dns *
dns_new(struct event_base *base, const struct dns_options *opt,
    char **error_r)
{
	struct dns *dns = xcalloc(1, sizeof(*dns));
	int err;

	dns->base = base;
	dns->timeout_ms = opt != NULL && opt->timeout_ms != 0 ?
	    opt->timeout_ms : DNS_TIMEOUT_DEFAULT_MS;
	dns->ub = ub_ctx_create();
	if (dns->ub == NULL) {
		*error_r = xstrdup("ub_ctx_create failed");
		goto fail;
	}
	if ((err = ub_ctx_async(dns->ub, 1)) != 0)
		goto ub_fail;
	if (opt != NULL && opt->resolver != NULL) {
		/* A stub on loopback: unbound refuses localhost servers
		   unless told otherwise, and answers names under "test."
		   (RFC 6761) itself with NXDOMAIN, where the stub's test
		   domains live ("nodefault" does not lift that in 1.17;
		   "transparent" does). */
		if ((err = ub_ctx_set_option(dns->ub, "do-not-query-localhost:",
		    "no")) != 0 || (err = ub_ctx_set_option(dns->ub,
		    "local-zone:", "test. transparent")) != 0 ||
		    (err = ub_ctx_set_fwd(dns->ub, opt->resolver)) != 0)
			goto ub_fail;
	} else if ((err = ub_ctx_resolvconf(dns->ub, NULL)) != 0) {
		goto ub_fail;
	}
	if (opt != NULL && opt->trust_anchor_file != NULL &&
	    (err = ub_ctx_add_ta_file(dns->ub, opt->trust_anchor_file)) != 0)
		goto ub_fail;
	dns->ev_fd = event_new(base, ub_fd(dns->ub), EV_READ | EV_PERSIST,
	    dns_on_fd, dns);
	if (dns->ev_fd == NULL || event_add(dns->ev_fd, NULL) == -1)
		panic("dns_new: event_new/event_add failed");
	return dns;
ub_fail:
	*error_r = xasprintf("resolver setup: %s%s", ub_strerror(err),
	    err == UB_READFILE ? " (a file could not be read)" : "");
fail:
	if (dns->ub != NULL)
		ub_ctx_delete(dns->ub);
	free(dns);
	return NULL;
}

static void
dns_query_unlink(struct dns_query *q)
{
	struct dns *dns = q->dns;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		dns->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	dns->pending--;
}

static void
dns_query_free(struct dns_query *q)
{
	if (q->in_unbound)
		(void)ub_cancel(q->dns->ub, q->async_id);
	if (q->timer != NULL)
		event_free(q->timer);
	dns_result_free(&q->early);
	free(q->name);
	free(q);
}

/* Hands res to the caller and forgets q. */
static void
dns_query_finish(struct dns_query *q, struct dns_result *res)
{
	dns_callback *cb = q->cb;
	void *ctx = q->ctx;

	q->in_unbound = false;
	dns_query_unlink(q);
	dns_query_free(q);
	cb(res, ctx);
}

static struct dns_result *
dns_result_new(enum dns_type type, const char *name, enum dns_status st,
    const char *error)
{
	struct dns_result *res = xcalloc(1, sizeof(*res));

	res->type = type;
	res->status = st;
	res->qname = xstrdup(name);
	if (error != NULL)
		res->error = xstrdup(error);
	return res;
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return 0;
}

/* Parses each record of r into res's array for its type. */
static void
dns_result_fill(struct dns_result *res, const struct ub_result *r)
{
	size_t n = 0;

	while (r->data[n] != NULL)
		n++;
	switch (res->type) {
	case DNS_TYPE_MX:
		res->mx = xcalloc(n + 1, sizeof(*res->mx));
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		res->addr = xcalloc(n + 1, sizeof(*res->addr));
		break;
	case DNS_TYPE_TLSA:
		res->tlsa = xcalloc(n + 1, sizeof(*res->tlsa));
		break;
	case DNS_TYPE_TXT:
		res->txt = xcalloc(n + 1, sizeof(*res->txt));
		break;
	case DNS_TYPE_CNAME:
		break;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d = (const uint8_t *)r->data[i];
		size_t len = r->len[i] < 0 ? 0 : (size_t)r->len[i];
		int ret = -1;

		switch (res->type) {
		case DNS_TYPE_MX:
			ret = dns_rr_mx(d, len, &res->mx[res->count]);
			break;
		case DNS_TYPE_A:
			ret = dns_rr_a(d, len, &res->addr[res->count]);
			break;
		case DNS_TYPE_AAAA:
			ret = dns_rr_aaaa(d, len, &res->addr[res->count]);
			break;
		case DNS_TYPE_TLSA:
			ret = dns_rr_tlsa(d, len, &res->tlsa[res->count]);
			break;
		case DNS_TYPE_TXT:
			ret = dns_rr_txt(d, len, &res->txt[res->count]);
			break;
		case DNS_TYPE_CNAME:
			break;
		}
		if (ret == 0)
			res->count++;
		else
			res->malformed++;
	}
	if (res->type != DNS_TYPE_MX)
		return;
	/* RFC 7505 §3: "." with preference 0 as the only MX says the domain
	   takes no mail; a "." among other MXs is merely unusable. */
	if (res->count == 1 && res->malformed == 0 && res->mx[0].pref == 0 &&
	    res->mx[0].host[0] == '\0') {
		dns_mx_clear(&res->mx[0]);
		res->count = 0;
		res->null_mx = true;
		return;
	}
	for (size_t i = 0; i < res->count;) {
		if (res->mx[i].host[0] == '\0') {
			dns_mx_clear(&res->mx[i]);
			memmove(&res->mx[i], &res->mx[i + 1],
			    (res->count - i - 1) * sizeof(*res->mx));
			res->count--;
			res->malformed++;
		} else {
			i++;
		}
	}
	/* qsort is not stable: sort (pref, original index) instead. RFC 5321
	   §5.1 randomises equal preferences; the caller may shuffle. */
	for (size_t i = 1; i < res->count; i++) {
		struct dns_mx x = res->mx[i];
		size_t j = i;

		while (j > 0 && dns_mx_cmp(&res->mx[j - 1], &x) > 0) {
			res->mx[j] = res->mx[j - 1];
			j--;
		}
		res->mx[j] = x;
	}
}

/* The name without a trailing dot, lower case. */
static char *
dns_name_norm(const char *name)
{
	char *s = xstrdup(name);
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
	}
	return s;
}

static void
dns_on_result(void *arg, int err, struct ub_result *r)
{
	struct dns_query *q = arg;
	struct dns_result *res;

	q->in_unbound = false;
	if (err != 0) {
		res = dns_result_new(q->type, q->name, DNS_TEMPFAIL,
		    ub_strerror(err));
	} else if (r->bogus) {
		res = dns_result_new(q->type, q->name, DNS_BOGUS,
		    r->why_bogus != NULL ? r->why_bogus : "DNSSEC bogus");
	} else if (r->rcode == 3) {
		res = dns_result_new(q->type, q->name, DNS_NXDOMAIN, NULL);
	} else if (r->rcode != 0) {
		char text[32];

		snprintf(text, sizeof(text), "rcode %d%s", r->rcode,
		    r->rcode == 2 ? " (SERVFAIL)" : "");
		res = dns_result_new(q->type, q->name, DNS_TEMPFAIL, text);
	} else {
		res = dns_result_new(q->type, q->name, DNS_NODATA, NULL);
		if (r->havedata) {
			dns_result_fill(res, r);
			if (res->count > 0 || res->null_mx)
				res->status = DNS_OK;
		}
	}
	if (err == 0) {
		res->secure = r->secure != 0 && !r->bogus;
		res->ttl = r->ttl > 0 ? (uint32_t)r->ttl : 0;
		if (r->canonname != NULL) {
			char *c = dns_name_norm(r->canonname);
			char *qn = dns_name_norm(q->name);

			if (strcmp(c, qn) != 0)
				res->canonname = c;
			else
				free(c);
			free(qn);
		}
	}
	if (r != NULL)
		ub_resolve_free(r);
	dns_query_finish(q, res);
}

static void
dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_result *res;

	(void)fd;
	(void)what;
	if (q->early != NULL) {
		res = q->early;
		q->early = NULL;
	} else {
		res = dns_result_new(q->type, q->name, DNS_TEMPFAIL, "timeout");
	}
	dns_query_finish(q, res);
}

static bool
dns_name_is_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 254 || (len == 254 && name[253] != '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (c <= ' ' || c >= 0x7f || c == '\\' ||
		    ++label > 63) {
			/* Internationalised names arrive as A-labels. */
			return false;
		}
	}
	return true;
}

struct dns_query *
dns_query(struct dns *dns, enum dns_type type, const char *name,
    dns_callback *cb, void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	struct timeval tv;
	unsigned ms = dns->timeout_ms;
	int err;

	if (type == DNS_TYPE_CNAME)
		panic("dns_query: CNAME is followed, not asked");
	q->dns = dns;
	q->type = type;
	q->name = xstrdup(name);
	q->cb = cb;
	q->ctx = ctx;
	q->timer = evtimer_new(dns->base, dns_on_timer, q);
	if (q->timer == NULL)
		panic("dns_query: evtimer_new failed");
	q->next = dns->queries;
	if (q->next != NULL)
		q->next->prev = q;
	dns->queries = q;
	dns->pending++;

	if (!dns_name_is_valid(name)) {
		q->early = dns_result_new(type, name, DNS_NXDOMAIN, NULL);
		ms = 0;
	} else if ((err = ub_resolve_async(dns->ub, name, (int)type, 1, q,
	    dns_on_result, &q->async_id)) != 0) {
		q->early = dns_result_new(type, name, DNS_TEMPFAIL,
		    ub_strerror(err));
		ms = 0;
	} else {
		q->in_unbound = true;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(q->timer, &tv) == -1)
		panic("dns_query: evtimer_add failed");
	return q;
}

void
dns_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	dns_query_unlink(q);
	dns_query_free(q);
}

size_t
dns_pending(const struct dns *dns)
{
	return dns->pending;
}

void
dns_free(struct dns **dnsp)
{
	struct dns *dns = *dnsp;

	if (dns == NULL)
		return;
	*dnsp = NULL;
	while (dns->queries != NULL) {
		struct dns_query *q = dns->queries;

		dns_cancel(&q);
	}
	event_free(dns->ev_fd);
	ub_ctx_delete(dns->ub);
	free(dns);
}

void
dns_result_free(struct dns_result **resp)
{
	struct dns_result *res = *resp;

	if (res == NULL)
		return;
	*resp = NULL;
	for (size_t i = 0; i < res->count; i++) {
		if (res->mx != NULL)
			dns_mx_clear(&res->mx[i]);
		if (res->tlsa != NULL)
			dns_tlsa_clear(&res->tlsa[i]);
		if (res->txt != NULL)
			dns_txt_clear(&res->txt[i]);
	}
	free(res->mx);
	free(res->addr);
	free(res->tlsa);
	free(res->txt);
	free(res->qname);
	free(res->canonname);
	free(res->error);
	free(res);
}
