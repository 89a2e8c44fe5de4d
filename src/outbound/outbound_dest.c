/* outbound_dest.c — destinations (a relay host, or the MX hosts of a
   domain) with the deliveries waiting for them and their SMTP sessions.

   A destination resolves once (MX, then A and AAAA of each host: RFC 5321
   §5.1, preference order, random among equal preferences, the domain
   itself when it has no MX; a null MX, RFC 7505, refuses the domain at
   once) into an ordered list of targets. A session walks that list until
   one answers (connection refused, timeouts, 4xx or 5xx greetings move on,
   §5.1 last paragraph), then takes deliveries one after the other while
   any wait (connection reuse), and idles OUTBOUND_IDLE_MS for more before
   it says QUIT. Sessions are opened while deliveries outnumber sessions
   still connecting, up to max_connections in all. When the last session of
   a destination gives up, its waiting deliveries are deferred with the
   last error. */
#include "outbound/outbound_private.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpc/smtpc.h"

enum outbound_dest_state {
	OUTBOUND_DEST_NEW,
	OUTBOUND_DEST_RESOLVING,
	OUTBOUND_DEST_READY,
};

struct outbound_target {
	char *host;
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[INET6_ADDRSTRLEN];
	struct smtpc_tlsa *tlsa;	/* DANE records (heap), or NULL */
	size_t n_tlsa;
	bool sts_verify;		/* MTA-STS enforce: TLS verified */
};

struct outbound_session;

struct outbound_dest {
	struct outbound_dest *next;
	struct outbound *ob;
	char *key;
	struct outbound_route route;	/* of the first delivery */
	enum outbound_dest_state state;
	bool mx_nodata;			/* no MX: the domain is the host */
	bool throttled;			/* a session gave up: open no more
					   while others are still at it */
	bool dane;			/* MX answer secure: TLSA asked */
	struct outbound_sts_lookup *sts;	/* MTA-STS under way */
	bool addrs_done;		/* waiting for sts only */
	bool have_policy;
	struct outbound_sts_policy policy;

	char **hosts;			/* while resolving */
	size_t n_hosts;
	struct dns_result **addrs;	/* 3 per host: A, AAAA, TLSA */
	size_t pending;

	struct outbound_target *targets;
	size_t n_targets;

	struct outbound_delivery *head, **tailp;
	size_t n_pending;
	struct outbound_session *sessions;
	unsigned n_sessions, n_connecting;
};

struct outbound_session {
	struct outbound_session *next;
	struct outbound_dest *dest;
	struct smtpc *c;
	size_t target;
	enum smtpc_tls tls;
	bool ready;
	struct outbound_delivery *cur;
	struct event *idle;
	char relay[300];
	unsigned last_code;
	char *last_error;
};

static void outbound_dest_kick(struct outbound_dest *dest);
static void outbound_session_connect(struct outbound_session *s);

static void
outbound_dest_fail_all(struct outbound_dest *dest, unsigned code,
    const char *reply)
{
	struct outbound_delivery *d;

	while ((d = dest->head) != NULL) {
		dest->head = d->next;
		dest->n_pending--;
		for (size_t i = 0; i < d->n_rcpts; i++) {
			d->out[i].code = code;
			d->out[i].reply = xstrdup(reply);
		}
		outbound_delivery_done(dest->ob, d);
	}
	dest->tailp = &dest->head;
}

/* --- resolution ------------------------------------------------------- */

static void
outbound_dest_add_target(struct outbound_dest *dest, const char *host,
    const struct dns_addr *a, uint16_t port)
{
	struct outbound_target *t;

	if (dest->n_targets == OUTBOUND_MAX_TARGETS)
		return;
	t = &dest->targets[dest->n_targets++];
	memset(t, 0, sizeof(*t));
	t->host = xstrdup(host);
	snprintf(t->addr, sizeof(t->addr), "%s", a->text);
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->u.v4;
		t->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->u.v6;
		t->len = sizeof(*sin6);
	}
}

/* The DANE decision for host h (RFC 7672 §2.2.2: only with the MX and
   the host's addresses all secure). */
static enum outbound_dane
outbound_dest_dane(struct outbound_dest *dest, size_t h,
    struct smtpc_tlsa **recs_r, size_t *n_r)
{
	bool secure = dest->dane, any = false;

	for (size_t k = 0; k < 2; k++) {
		const struct dns_result *r = dest->addrs[3 * h + k];

		if (r != NULL && r->status == DNS_OK) {
			any = true;
			secure = secure && r->secure;
		}
	}
	return outbound_dane_decide(secure && any, dest->addrs[3 * h + 2],
	    recs_r, n_r);
}

static void
outbound_dest_resolved(struct outbound_dest *dest)
{
	bool tempfail = false, all_missing = true, dane_fail = false;
	bool sts_skipped = false;
	char reply[512];

	dest->targets = xcalloc(OUTBOUND_MAX_TARGETS, sizeof(*dest->targets));
	for (size_t h = 0; h < dest->n_hosts; h++) {
		struct smtpc_tlsa *recs = NULL;
		size_t n_recs = 0, first = dest->n_targets;
		enum outbound_dane dane = outbound_dest_dane(dest, h, &recs,
		    &n_recs);

		if (dest->have_policy && dest->policy.mode !=
		    OUTBOUND_STS_NONE && !outbound_sts_policy_match(
		    &dest->policy, dest->hosts[h])) {
			log_warn("outbound: domain=%s host=%s "
			    "event=mta-sts-mx-mismatch mode=%s",
			    dest->route.host, dest->hosts[h],
			    outbound_sts_mode_name(dest->policy.mode));
			/* RFC 8461 §5: enforce skips it; testing
			   reports and delivers as before. */
			if (dest->policy.mode == OUTBOUND_STS_ENFORCE) {
				sts_skipped = true;
				all_missing = false;
				outbound_dane_free(&recs, n_recs);
				continue;
			}
		}
		if (dane == OUTBOUND_DANE_TEMPFAIL) {
			/* §2.2.1: the records may be hidden by an
			   attacker; this host waits for a clean answer. */
			log_warn("outbound: host=%s event=dane-tlsa-failed "
			    "status=%s", dest->hosts[h],
			    dns_status_name(dest->addrs[3 * h + 2]->status));
			dane_fail = true;
			all_missing = false;
			continue;
		}
		for (size_t k = 0; k < 2; k++) {
			struct dns_result *r = dest->addrs[3 * h + k];

			if (r == NULL)
				continue;
			if (r->status == DNS_TEMPFAIL ||
			    r->status == DNS_BOGUS)
				tempfail = true;
			if (r->status != DNS_NXDOMAIN)
				all_missing = false;
			for (size_t i = 0; r->status == DNS_OK &&
			    i < r->count; i++)
				outbound_dest_add_target(dest, dest->hosts[h],
				    &r->addr[i], dest->route.port);
		}
		for (size_t t = first; t < dest->n_targets; t++)
			dest->targets[t].sts_verify = dest->have_policy &&
			    dest->policy.mode == OUTBOUND_STS_ENFORCE;
		if (dane == OUTBOUND_DANE_REQUIRED) {
			log_info("outbound: host=%s event=dane records=%zu",
			    dest->hosts[h], n_recs);
			for (size_t t = first; t < dest->n_targets; t++) {
				dest->targets[t].tlsa = outbound_dane_copy(recs,
				    n_recs);
				dest->targets[t].n_tlsa = n_recs;
			}
			outbound_dane_free(&recs, n_recs);
		}
	}
	for (size_t i = 0; i < 3 * dest->n_hosts; i++)
		dns_result_free(&dest->addrs[i]);
	free(dest->addrs);
	dest->addrs = NULL;
	for (size_t h = 0; h < dest->n_hosts; h++)
		free(dest->hosts[h]);
	free(dest->hosts);
	dest->hosts = NULL;
	dest->n_hosts = 0;
	if (dest->n_targets > 0) {
		dest->state = OUTBOUND_DEST_READY;
		outbound_dest_kick(dest);
		return;
	}
	free(dest->targets);
	dest->targets = NULL;
	dest->state = OUTBOUND_DEST_NEW;
	/* A domain with neither MX nor address takes no mail (Postfix:
	   5.4.4 Host or domain name not found); anything unsure is
	   temporary. */
	if (sts_skipped && !tempfail && !dane_fail) {
		snprintf(reply, sizeof(reply), "451 4.7.5 No MX host of %s "
		    "matches its MTA-STS policy (RFC 8461)", dest->route.host);
		outbound_dest_fail_all(dest, 451, reply);
	} else if (dane_fail && !tempfail) {
		snprintf(reply, sizeof(reply), "451 4.7.5 TLSA lookup of the "
		    "mail hosts of %s failed (DANE, RFC 7672)",
		    dest->route.host);
		outbound_dest_fail_all(dest, 451, reply);
	} else if (!tempfail && (dest->mx_nodata || all_missing) &&
	    !dest->route.relay) {
		snprintf(reply, sizeof(reply), "550 5.4.4 Host or domain name "
		    "not found: %s", dest->route.host);
		outbound_dest_fail_all(dest, 550, reply);
	} else {
		snprintf(reply, sizeof(reply), "451 4.4.4 No address for the "
		    "mail hosts of %s", dest->route.host);
		outbound_dest_fail_all(dest, 451, reply);
	}
}

struct outbound_addr_query {
	struct outbound_dest *dest;
	size_t slot;
};

static void
outbound_dest_addr_cb(struct dns_result *res, void *ctx)
{
	struct outbound_addr_query *q = ctx;
	struct outbound_dest *dest = q->dest;

	dest->addrs[q->slot] = res;
	free(q);
	if (--dest->pending > 0)
		return;
	if (dest->sts != NULL)
		dest->addrs_done = true;	/* the policy decides */
	else
		outbound_dest_resolved(dest);
}

static void
outbound_dest_lookup_hosts(struct outbound_dest *dest)
{
	size_t per_host = dest->dane ? 3 : 2;

	dest->addrs = xcalloc(3 * dest->n_hosts, sizeof(*dest->addrs));
	dest->pending = per_host * dest->n_hosts;
	for (size_t h = 0; h < dest->n_hosts; h++) {
		for (size_t k = 0; k < per_host; k++) {
			struct outbound_addr_query *q = xcalloc(1, sizeof(*q));
			char *name = NULL;

			q->dest = dest;
			q->slot = 3 * h + k;
			/* RFC 7672 §2.2.3: _port._tcp.<MX host>, looked up
			   beside the addresses (not after: one round trip). */
			if (k == 2)
				name = xasprintf("_%u._tcp.%s",
				    (unsigned)dest->route.port, dest->hosts[h]);
			(void)dns_query(dest->ob->dns, k == 0 ? DNS_TYPE_A :
			    k == 1 ? DNS_TYPE_AAAA : DNS_TYPE_TLSA,
			    name != NULL ? name : dest->hosts[h],
			    outbound_dest_addr_cb, q);
			free(name);
		}
	}
}

static void
outbound_dest_mx_cb(struct dns_result *res, void *ctx)
{
	struct outbound_dest *dest = ctx;
	char reply[512];

	if (res->status == DNS_OK && res->null_mx) {
		/* RFC 7505 §3: the domain accepts no mail. */
		snprintf(reply, sizeof(reply), "556 5.1.10 Recipient domain "
		    "%s has a null MX (RFC 7505)", dest->route.host);
		dest->state = OUTBOUND_DEST_NEW;
		outbound_dest_fail_all(dest, 556, reply);
	} else if (res->status == DNS_OK) {
		size_t n = res->count < OUTBOUND_MAX_HOSTS ? res->count :
		    OUTBOUND_MAX_HOSTS;

		/* RFC 7672 §2.2.2: DANE only below a signed MX RRset. */
		dest->dane = res->secure;

		/* Sorted by preference; shuffle each run of equal ones
		   (RFC 5321 §5.1: spread the load). */
		for (size_t i = 0; i < res->count; ) {
			size_t j = i;

			while (j < res->count && res->mx[j].pref ==
			    res->mx[i].pref)
				j++;
			for (size_t k = j - 1; k > i; k--) {
				size_t r = i + (size_t)random() % (k - i + 1);
				struct dns_mx tmp = res->mx[k];

				res->mx[k] = res->mx[r];
				res->mx[r] = tmp;
			}
			i = j;
		}
		dest->hosts = xcalloc(n, sizeof(*dest->hosts));
		for (size_t i = 0; i < n; i++)
			dest->hosts[i] = xstrdup(res->mx[i].host);
		dest->n_hosts = n;
		outbound_dest_lookup_hosts(dest);
	} else if (res->status == DNS_NODATA) {
		/* RFC 5321 §5.1: no MX, the domain is its own host
		   (RFC 7672 §2.2.2: DANE if that denial is secure). */
		dest->mx_nodata = true;
		dest->dane = res->secure;
		dest->hosts = xcalloc(1, sizeof(*dest->hosts));
		dest->hosts[0] = xstrdup(dest->route.host);
		dest->n_hosts = 1;
		outbound_dest_lookup_hosts(dest);
	} else if (res->status == DNS_NXDOMAIN) {
		snprintf(reply, sizeof(reply), "550 5.1.2 Recipient domain %s "
		    "not found", dest->route.host);
		dest->state = OUTBOUND_DEST_NEW;
		outbound_dest_fail_all(dest, 550, reply);
	} else {
		snprintf(reply, sizeof(reply), "451 4.4.3 DNS lookup of MX %s "
		    "failed: %s", dest->route.host,
		    res->error ? res->error : dns_status_name(res->status));
		dest->state = OUTBOUND_DEST_NEW;
		outbound_dest_fail_all(dest, 451, reply);
	}
	dns_result_free(&res);
}

static void
outbound_dest_sts_cb(const struct outbound_sts_policy *policy, void *ctx)
{
	struct outbound_dest *dest = ctx;

	dest->sts = NULL;
	if (policy != NULL) {
		dest->have_policy = true;
		dest->policy.mode = policy->mode;
		dest->policy.max_age = policy->max_age;
		dest->policy.n_mx = policy->n_mx;
		dest->policy.mx = xcalloc(policy->n_mx + 1,
		    sizeof(*dest->policy.mx));
		for (size_t i = 0; i < policy->n_mx; i++)
			dest->policy.mx[i] = xstrdup(policy->mx[i]);
	}
	if (dest->addrs_done) {
		dest->addrs_done = false;
		outbound_dest_resolved(dest);
	}
}

static void
outbound_dest_resolve(struct outbound_dest *dest)
{
	struct dns_addr a;

	dest->state = OUTBOUND_DEST_RESOLVING;
	dest->mx_nodata = false;
	dest->dane = false;
	dest->addrs_done = false;
	outbound_sts_cancel(&dest->sts);
	outbound_sts_policy_clear(&dest->policy);
	dest->have_policy = false;
	if (dest->route.relay) {
		/* An address literal needs no DNS. */
		memset(&a, 0, sizeof(a));
		if (inet_pton(AF_INET, dest->route.host, &a.u.v4) == 1)
			a.family = AF_INET;
		else if (inet_pton(AF_INET6, dest->route.host, &a.u.v6) == 1)
			a.family = AF_INET6;
		if (a.family != 0) {
			snprintf(a.text, sizeof(a.text), "%s",
			    dest->route.host);
			dest->targets = xcalloc(OUTBOUND_MAX_TARGETS,
			    sizeof(*dest->targets));
			outbound_dest_add_target(dest, dest->route.host, &a,
			    dest->route.port);
			dest->state = OUTBOUND_DEST_READY;
			outbound_dest_kick(dest);
			return;
		}
		dest->hosts = xcalloc(1, sizeof(*dest->hosts));
		dest->hosts[0] = xstrdup(dest->route.host);
		dest->n_hosts = 1;
		outbound_dest_lookup_hosts(dest);
		return;
	}
	/* RFC 8461 §5: the policy is looked up beside the MX; the targets
	   wait for both. */
	dest->sts = outbound_sts_lookup(dest->ob, dest->route.host,
	    outbound_dest_sts_cb, dest);
	(void)dns_query(dest->ob->dns, DNS_TYPE_MX, dest->route.host,
	    outbound_dest_mx_cb, dest);
}

/* --- sessions --------------------------------------------------------- */

static void
outbound_session_free(struct outbound_session *s)
{
	struct outbound_dest *dest = s->dest;
	struct outbound_session **pp;

	for (pp = &dest->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (!s->ready)
		dest->n_connecting--;
	dest->n_sessions--;
	dest->ob->n_sessions--;
	smtpc_free(&s->c);
	if (s->idle != NULL)
		event_free(s->idle);
	free(s->last_error);
	free(s);
}

static void outbound_session_next(struct outbound_session *s);

static void
outbound_session_done_cb(struct smtpc *c, const struct smtpc_result *res,
    void *ctx)
{
	struct outbound_session *s = ctx;
	struct outbound_dest *dest = s->dest;
	struct outbound *ob = dest->ob;
	struct outbound_delivery *d = s->cur;
	const char *tls = smtpc_tls_description(c);

	s->cur = NULL;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct smtpc_reply *r = i < res->rcpt_count ?
		    &res->rcpt[i] : NULL;
		struct outbound_outcome *o = &d->out[i];

		if (r == NULL || r->code == 0) {
			o->code = 451;
			o->reply = xstrdup("451 4.4.2 Connection lost");
		} else {
			o->code = r->code;
			o->reply = xasprintf("%u%s%s %s", r->code,
			    r->enhanced[0] ? " " : "", r->enhanced,
			    r->text ? r->text : "");
		}
		o->relay = xstrdup(s->relay);
		o->tls = tls != NULL ? xstrdup(tls) : NULL;
		o->remote_dsn = smtpc_has_ext(c, "DSN");
	}
	outbound_delivery_done(ob, d);
	if (res->usable) {
		outbound_session_next(s);
		return;
	}
	outbound_session_free(s);
	outbound_dest_kick_all(ob);
}

static void
outbound_session_idle_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct outbound_session *s = ctx;
	struct outbound *ob = s->dest->ob;

	(void)fd;
	(void)what;
	outbound_session_free(s);
	outbound_dest_kick_all(ob);
}

static void
outbound_session_next(struct outbound_session *s)
{
	struct outbound_dest *dest = s->dest;
	struct outbound_delivery *d = dest->head;
	struct smtpc_rcpt *rcpts;
	struct smtpc_message msg = { 0 };
	const struct queue_envelope *env;

	if (d == NULL) {
		struct timeval tv = { OUTBOUND_IDLE_MS / 1000,
		    (OUTBOUND_IDLE_MS % 1000) * 1000 };

		if (s->idle == NULL)
			s->idle = evtimer_new(dest->ob->base,
			    outbound_session_idle_cb, s);
		evtimer_add(s->idle, &tv);
		return;
	}
	if (s->idle != NULL)
		evtimer_del(s->idle);
	dest->head = d->next;
	if (dest->head == NULL)
		dest->tailp = &dest->head;
	dest->n_pending--;
	d->next = NULL;
	s->cur = d;
	env = &d->msg->env;
	rcpts = xcalloc(d->n_rcpts, sizeof(*rcpts));
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct queue_rcpt *rc = &env->rcpts[d->rcpts[i]];

		rcpts[i].address = rc->address;
		rcpts[i].notify = rc->notify;
		rcpts[i].orcpt = rc->orcpt;
	}
	msg.mail_from = env->mail_from;
	msg.rcpts = rcpts;
	msg.rcpt_count = d->n_rcpts;
	msg.fd = d->msg->fd;
	msg.size = env->size;
	msg.prepend = d->msg->prepend;
	msg.prepend_len = d->msg->prepend_len;
	msg.eightbit = env->body != QUEUE_BODY_7BIT;
	msg.smtputf8 = env->smtputf8;
	msg.ret = (unsigned)env->ret;
	msg.envid = env->envid;
	smtpc_send(s->c, &msg, outbound_session_done_cb, s);
	free(rcpts);
}

static void
outbound_session_ready_cb(struct smtpc *c, const struct smtpc_status *st,
    void *ctx)
{
	struct outbound_session *s = ctx;
	struct outbound_dest *dest = s->dest;
	const struct outbound_target *t = &dest->targets[s->target];
	char reply[600], text[LOG_STR_MAX];

	if (st->ok) {
		s->ready = true;
		dest->n_connecting--;
		snprintf(s->relay, sizeof(s->relay), "%s[%s]:%u", t->host,
		    t->addr, (unsigned)dest->route.port);
		outbound_session_next(s);
		return;
	}
	(void)c;
	smtpc_free(&s->c);
	if (st->tls_failed && s->tls == SMTPC_TLS_OPPORTUNISTIC) {
		/* RFC 7435: opportunistic means plaintext rather than
		   nothing; the same host again without STARTTLS. */
		s->tls = SMTPC_TLS_NONE;
		outbound_session_connect(s);
		return;
	}
	snprintf(reply, sizeof(reply), "%s[%s]:%u said: %u %s%s%s", t->host,
	    t->addr, (unsigned)dest->route.port, st->reply.code,
	    st->reply.enhanced, st->reply.enhanced[0] ? " " : "",
	    st->reply.text ? st->reply.text : "");
	free(s->last_error);
	s->last_error = xstrdup(reply);
	s->last_code = st->reply.code;
	/* The remote's text, escaped: it is not ours to put in a log. */
	log_text(text, sizeof(text), st->reply.text ? st->reply.text : "",
	    st->reply.text ? strlen(st->reply.text) : 0);
	log_info("outbound: relay=%s[%s]:%u event=connect-failed "
	    "stage=%d reply=\"%u %s\"", t->host, t->addr,
	    (unsigned)dest->route.port, (int)st->stage, st->reply.code, text);
	if (++s->target < dest->n_targets) {
		s->tls = SMTPC_TLS_OPPORTUNISTIC;
		outbound_session_connect(s);
		return;
	}
	/* Replacing a session that gave up at once would spin on a
	   host that refuses connections (or limits them, 421): the
	   sessions still open carry on alone, and the last one defers
	   what waits (§4.5.4.1: try again later). */
	dest->throttled = true;
	if (dest->n_sessions == 1) {
		snprintf(reply, sizeof(reply), "451 4.4.1 %s",
		    s->last_error);
		outbound_dest_fail_all(dest, 451, reply);
		dest->throttled = false;
	}
	outbound_session_free(s);
	outbound_dest_kick_all(dest->ob);
}

static void
outbound_session_connect(struct outbound_session *s)
{
	struct outbound_dest *dest = s->dest;
	const struct config *config = dest->ob->config;
	const struct outbound_target *t = &dest->targets[s->target];
	struct smtpc_settings set = { 0 };

	set.helo_name = config->hostname;
	set.remote_name = t->host;
	set.connect_timeout_ms = config->outbound.connect_timeout * 1000;
	set.command_timeout_ms = config->outbound.command_timeout * 1000;
	set.implicit_tls = dest->route.relay && dest->route.port == 465;
	set.tls = dest->route.tls_required ? SMTPC_TLS_VERIFY : s->tls;
	set.tls_name = t->host;
	if (t->sts_verify)
		set.tls = SMTPC_TLS_VERIFY;	/* §5: verified or nothing */
	if (t->n_tlsa > 0) {
		/* RFC 7672 §2.2: authenticated TLS is mandatory; no
		   plaintext fallback (only OPPORTUNISTIC has one). */
		set.tls = SMTPC_TLS_DANE;
		set.tlsa = t->tlsa;
		set.tlsa_count = t->n_tlsa;
	}
	set.auth_user = dest->route.user;
	set.auth_password = dest->route.password;
	set.port = dest->route.port;
	s->c = smtpc_connect(dest->ob->base, (const struct sockaddr *)&t->ss,
	    t->len, &set, dest->ob->tls, outbound_session_ready_cb, s);
}

static void
outbound_dest_kick(struct outbound_dest *dest)
{
	struct outbound *ob = dest->ob;
	unsigned max = ob->config->outbound.max_connections;

	if (dest->head == NULL)
		return;
	if (dest->state == OUTBOUND_DEST_NEW) {
		outbound_dest_resolve(dest);
		return;
	}
	if (dest->state != OUTBOUND_DEST_READY)
		return;
	for (struct outbound_session *s = dest->sessions;
	    s != NULL && dest->head != NULL; s = s->next) {
		if (s->ready && s->cur == NULL)
			outbound_session_next(s);
	}
	while (dest->head != NULL && dest->n_pending > dest->n_connecting &&
	    ob->n_sessions < (max > 0 ? max : 1) &&
	    !(dest->throttled && dest->n_sessions > 0)) {
		struct outbound_session *s = xcalloc(1, sizeof(*s));

		s->dest = dest;
		s->tls = SMTPC_TLS_OPPORTUNISTIC;
		s->next = dest->sessions;
		dest->sessions = s;
		dest->n_sessions++;
		dest->n_connecting++;
		ob->n_sessions++;
		outbound_session_connect(s);
	}
}

static void
outbound_dest_free(struct outbound_dest *dest)
{
	outbound_sts_cancel(&dest->sts);
	outbound_sts_policy_clear(&dest->policy);
	while (dest->sessions != NULL) {
		struct outbound_delivery *d = dest->sessions->cur;

		/* Cut short (stopping): its claims are released at the
		   next start, which sends it again. */
		if (d != NULL) {
			if (d->msg->refs == 1)
				dest->ob->in_flight--;
			outbound_delivery_free(d);
		}
		outbound_session_free(dest->sessions);
	}
	while (dest->head != NULL) {
		struct outbound_delivery *d = dest->head;

		dest->head = d->next;
		if (d->msg->refs == 1)
			dest->ob->in_flight--;
		outbound_delivery_free(d);
	}
	for (size_t i = 0; i < dest->n_targets; i++) {
		free(dest->targets[i].host);
		outbound_dane_free(&dest->targets[i].tlsa,
		    dest->targets[i].n_tlsa);
	}
	free(dest->targets);
	free(dest->key);
	free(dest->route.host);
	free(dest->route.user);
	if (dest->route.password != NULL) {
		explicit_bzero(dest->route.password,
		    strlen(dest->route.password));
		free(dest->route.password);
	}
	free(dest);
}

void
outbound_dest_enqueue(struct outbound *ob, struct outbound_delivery *d)
{
	struct outbound_dest *dest;

	for (dest = ob->dests; dest != NULL; dest = dest->next) {
		if (strcmp(dest->key, d->key) == 0)
			break;
	}
	if (dest == NULL) {
		dest = xcalloc(1, sizeof(*dest));
		dest->ob = ob;
		dest->key = xstrdup(d->key);
		dest->route.relay = d->route.relay;
		dest->route.host = xstrdup(d->route.host);
		dest->route.port = d->route.port;
		dest->route.tls_required = d->route.tls_required;
		dest->route.user = d->route.user ? xstrdup(d->route.user) :
		    NULL;
		dest->route.password = d->route.password ?
		    xstrdup(d->route.password) : NULL;
		dest->tailp = &dest->head;
		dest->next = ob->dests;
		ob->dests = dest;
	}
	d->next = NULL;
	*dest->tailp = d;
	dest->tailp = &d->next;
	dest->n_pending++;
}

void
outbound_dest_kick_all(struct outbound *ob)
{
	struct outbound_dest **pp = &ob->dests, *dest;

	while ((dest = *pp) != NULL) {
		/* Forget a destination nobody uses (and its addresses:
		   the next delivery resolves afresh). A resolving one is
		   kept: its DNS callbacks hold it. */
		if (dest->head == NULL && dest->sessions == NULL &&
		    dest->state != OUTBOUND_DEST_RESOLVING &&
		    dest->sts == NULL) {
			*pp = dest->next;
			outbound_dest_free(dest);
			continue;
		}
		outbound_dest_kick(dest);
		pp = &dest->next;
	}
}

void
outbound_dest_free_all(struct outbound *ob)
{
	struct outbound_dest *dest;

	bool resolving = false;

	/* Every MTA-STS lookup first: dns_free frees every pending query,
	   theirs included, and a later cancel would touch freed memory. */
	for (dest = ob->dests; dest != NULL; dest = dest->next) {
		outbound_sts_cancel(&dest->sts);
		resolving |= dest->state == OUTBOUND_DEST_RESOLVING;
	}
	/* Then the queries resolving destinations wait on. */
	if (resolving)
		dns_free(&ob->dns);
	while ((dest = ob->dests) != NULL) {
		ob->dests = dest->next;
		outbound_dest_free(dest);
	}
}
