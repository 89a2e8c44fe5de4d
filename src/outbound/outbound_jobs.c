/* outbound_jobs.c — what the agent hands its one worker thread: claiming
   due work (then routing each recipient with the relay rules, opening the
   message file, queueing the DSNs owed) and recording results (with the
   backoff, the lifetime limit and the delay warnings). One thread, so
   queue.db sees one writer from the agent and jobs never overlap. */
#include "outbound/outbound_private.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "directory/directory_admin.h"
#include "directory/directory_relay.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "mail/dsn.h"

struct outbound_claim_job {
	struct outbound *ob;
	time_t now;
	struct outbound_delivery *head, **tailp;
	size_t n_msgs, n_claimed;
	time_t next;
	bool has_next, failed;
	bool bounce_due;		/* recipients expired: claim for DSNs */
};

struct outbound_record_job {
	struct outbound *ob;
	struct outbound_delivery *head;
	bool bounce_due;		/* recipients failed: claim for DSNs */
	time_t next_retry;		/* earliest retry_at set, 0: none */
};

/* The queue results built for one message inside a job. */
struct outbound_results {
	struct queue_outbound_result *res;
	struct queue_outbound_rcpt **rcpts;	/* per result */
	char **strings;				/* heap, freed at the end */
	size_t n, cap, n_strings, cap_strings;
};

static const char *
outbound_results_keep(struct outbound_results *r, char *s)
{
	if (r->n_strings == r->cap_strings) {
		r->cap_strings = r->cap_strings ? r->cap_strings * 2 : 32;
		r->strings = xreallocarray(r->strings, r->cap_strings,
		    sizeof(*r->strings));
	}
	r->strings[r->n_strings++] = s;
	return s;
}

static struct queue_outbound_rcpt *
outbound_results_add(struct outbound_results *r, const char *id, size_t n)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->res = xreallocarray(r->res, r->cap, sizeof(*r->res));
		r->rcpts = xreallocarray(r->rcpts, r->cap, sizeof(*r->rcpts));
	}
	r->rcpts[r->n] = xcalloc(n ? n : 1, sizeof(**r->rcpts));
	/* A copy: the envelope may be gone before the commit. */
	r->res[r->n].id = outbound_results_keep(r, xstrdup(id));
	r->res[r->n].rcpts = r->rcpts[r->n];
	r->res[r->n].n_rcpts = n;
	return r->rcpts[r->n++];
}

static void
outbound_results_commit(struct outbound *ob, struct outbound_results *r)
{
	char *error = NULL;

	if (r->n > 0 && queue_outbound_record(ob->queue, r->res, r->n,
	    &error) == -1) {
		/* The claims stay until the next start; the attempt is
		   repeated then (a duplicate at worst, never a loss). */
		log_error("outbound: event=record-failed error=\"%s\"", error);
		free(error);
	}
	for (size_t i = 0; i < r->n; i++)
		free(r->rcpts[i]);
	for (size_t i = 0; i < r->n_strings; i++)
		free(r->strings[i]);
	free(r->res);
	free(r->rcpts);
	free(r->strings);
	memset(r, 0, sizeof(*r));
}

/* --- DSNs owed (claimed failed/delivered recipients) ------------------ */

static bool
outbound_jobs_wants(unsigned notify, unsigned bit)
{
	if (notify & QUEUE_NOTIFY_NEVER)
		return false;
	/* RFC 3461 §4.1: no NOTIFY means FAILURE (and DELAY at our
	   discretion); SUCCESS only when asked. */
	if (notify == 0)
		return bit != QUEUE_NOTIFY_SUCCESS;
	return (notify & bit) != 0;
}

static void
outbound_jobs_dsn(struct outbound *ob, const struct queue_envelope *env,
    const size_t *idx, size_t n, struct outbound_results *r)
{
	struct outbound_dsn_rcpt *d = xcalloc(n, sizeof(*d));
	struct queue_outbound_rcpt *out;
	char qid[32] = "", *error = NULL;
	size_t nd = 0;

	for (size_t k = 0; k < n; k++) {
		const struct queue_rcpt *rc = &env->rcpts[idx[k]];
		bool failed = strcmp(rc->status, "failed") == 0;

		if (!outbound_jobs_wants(rc->notify, failed ?
		    QUEUE_NOTIFY_FAILURE : QUEUE_NOTIFY_SUCCESS))
			continue;
		d[nd].i = idx[k];
		d[nd].action = failed ? DSN_ACTION_FAILED : rc->relay != NULL ?
		    DSN_ACTION_RELAYED : DSN_ACTION_DELIVERED;
		d[nd].reply = rc->last_error;
		d[nd].relay = rc->relay;
		nd++;
	}
	if (nd > 0 && outbound_bounce_send(ob, env, d, nd, qid,
	    &error) == -1) {
		log_error("outbound: qid=%s event=dsn-failed error=\"%s\"",
		    env->id, error);
		free(error);
		/* Released without the bit: tried again at the next claim. */
		out = outbound_results_add(r, env->id, n);
		for (size_t k = 0; k < n; k++)
			out[k].idx = env->rcpts[idx[k]].idx;
		free(d);
		return;
	}
	out = outbound_results_add(r, env->id, n);
	for (size_t k = 0; k < n; k++) {
		out[k].idx = env->rcpts[idx[k]].idx;
		out[k].dsn_sent = QUEUE_DSN_SENT_FINAL;
	}
	/* One event about the report, on the first recipient it covers. */
	if (nd > 0 && qid[0] != '\0') {
		for (size_t k = 0; k < n; k++) {
			if (idx[k] != d[0].i)
				continue;
			out[k].event = "dsn";
			out[k].detail = outbound_results_keep(r,
			    xasprintf("dsn_qid=%s action=%s", qid,
			    dsn_action_name((enum dsn_action)d[0].action)));
		}
	}
	free(d);
}

/* --- routing ---------------------------------------------------------- */

static char *
outbound_jobs_domain(const char *address)
{
	const char *at = strrchr(address, '@');
	char *d = xstrdup(at != NULL ? at + 1 : address);

	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* The route of one recipient: 0, or -1 when the relay rules cannot be read
   (the recipient is deferred). */
static int
outbound_jobs_route(struct outbound *ob, const struct queue_envelope *env,
    const struct queue_rcpt *rc, struct outbound_route *route_r,
    char **key_r)
{
	struct directory_relay rule;
	struct directory_error err = { 0 };
	int rc_match;

	memset(route_r, 0, sizeof(*route_r));
	rc_match = directory_relay_match(ob->dir, env->mail_from, rc->address,
	    &rule, &err);
	if (rc_match == -1) {
		log_warn("outbound: qid=%s event=relay-rules-failed "
		    "error=\"%s\"", env->id, err.message ? err.message : "?");
		directory_error_clear(&err);
		return -1;
	}
	if (rc_match == 1) {
		route_r->relay = true;
		route_r->host = xstrdup(rule.host);
		route_r->port = rule.port;
		route_r->tls_required = rule.tls_required;
		route_r->user = rule.username ? xstrdup(rule.username) : NULL;
		route_r->password = rule.password ? xstrdup(rule.password) :
		    NULL;
		*key_r = xasprintf("relay:%lld:%s:%u", (long long)rule.id,
		    rule.host, (unsigned)rule.port);
		directory_relay_clear(&rule);
		return 0;
	}
	route_r->host = outbound_jobs_domain(rc->address);
	route_r->port = ob->config->outbound.port;
	*key_r = xasprintf("mx:%s", route_r->host);
	return 0;
}

static void
outbound_jobs_route_free(struct outbound_route *r)
{
	free(r->host);
	free(r->user);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
}

/* A recipient deferred before any attempt (relay rules or DKIM keys
   unavailable) still expires at max_lifetime: a condition that never
   clears must not keep the message queued forever. */
static void
outbound_jobs_defer(struct outbound_claim_job *job,
    const struct queue_envelope *env, struct queue_outbound_rcpt *out,
    const char *reply, struct outbound_results *r)
{
	const struct config_outbound *c = &job->ob->config->outbound;
	long age = job->now > env->arrival ? (long)(job->now - env->arrival) :
	    0;

	if (age >= (long)c->max_lifetime) {
		out->status = "failed";
		out->event = "failed";
		out->last_error = outbound_results_keep(r, xasprintf(
		    "4.4.7 Message expired after %ld s in the queue; last "
		    "error: %s", age, reply));
		out->detail = out->last_error;
		job->bounce_due = true;
		return;
	}
	out->status = "outbound";
	out->last_error = reply;
	out->retry_at = job->now + c->retry_min;
}

/* Splits the outbound recipients of env into deliveries, one per route;
   takes env. */
static void
outbound_jobs_prepare(struct outbound_claim_job *job,
    struct queue_envelope *env, const size_t *idx, size_t n,
    struct outbound_results *r)
{
	struct outbound *ob = job->ob;
	struct outbound_msg *m = xcalloc(1, sizeof(*m));
	struct outbound_delivery **ds = xcalloc(n, sizeof(*ds));
	size_t nd = 0;
	char *path;

	m->env = *env;
	memset(env, 0, sizeof(*env));
	path = queue_message_path(ob->queue, m->env.id);
	m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (m->fd == -1 && errno != ENOENT) {
		struct queue_outbound_rcpt *out = outbound_results_add(r,
		    m->env.id, n);
		const char *reply = outbound_results_keep(r, xasprintf(
		    "451 4.3.0 Cannot open the queued message file: %s",
		    strerror(errno)));

		/* EMFILE, ENFILE, EIO...: the file is there and may open
		   later; only ENOENT means the message is gone. */
		log_warn("outbound: qid=%s event=message-file-unavailable "
		    "path=%s error=\"%s\"", m->env.id, path, strerror(errno));
		for (size_t k = 0; k < n; k++) {
			out[k].idx = m->env.rcpts[idx[k]].idx;
			outbound_jobs_defer(job, &m->env, &out[k], reply, r);
		}
		queue_envelope_clear(&m->env);
		free(m);
		goto out;
	}
	if (m->fd == -1) {
		struct queue_outbound_rcpt *out = outbound_results_add(r,
		    m->env.id, n);

		log_error("outbound: qid=%s event=message-file-missing "
		    "path=%s error=\"%s\"", m->env.id, path, strerror(errno));
		for (size_t k = 0; k < n; k++) {
			out[k].idx = m->env.rcpts[idx[k]].idx;
			out[k].status = "failed";
			out[k].last_error = "554 5.3.0 The queued message file "
			    "is missing";
			out[k].event = "failed";
		}
		queue_envelope_clear(&m->env);
		free(m);
		goto out;
	}
	if (outbound_dkim_sign(ob, m) == -1) {
		struct queue_outbound_rcpt *out = outbound_results_add(r,
		    m->env.id, n);

		/* Unsigned mail from a signing domain may be refused
		   (DMARC): rather later than unsigned (OpenDKIM's
		   On-InternalError tempfail). */
		for (size_t k = 0; k < n; k++) {
			out[k].idx = m->env.rcpts[idx[k]].idx;
			outbound_jobs_defer(job, &m->env, &out[k],
			    "451 4.3.0 DKIM keys unavailable", r);
		}
		close(m->fd);
		queue_envelope_clear(&m->env);
		free(m);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		struct outbound_route route;
		char *key = NULL;
		size_t j;

		if (outbound_jobs_route(ob, &m->env, &m->env.rcpts[idx[k]],
		    &route, &key) == -1) {
			struct queue_outbound_rcpt *out = outbound_results_add(
			    r, m->env.id, 1);

			out->idx = m->env.rcpts[idx[k]].idx;
			outbound_jobs_defer(job, &m->env, out,
			    "451 4.3.0 Relay rules unavailable", r);
			continue;
		}
		for (j = 0; j < nd; j++) {
			if (strcmp(ds[j]->key, key) == 0)
				break;
		}
		if (j == nd) {
			ds[nd] = xcalloc(1, sizeof(**ds));
			ds[nd]->msg = m;
			ds[nd]->route = route;
			ds[nd]->key = key;
			ds[nd]->rcpts = xcalloc(n, sizeof(size_t));
			m->refs++;
			nd++;
		} else {
			outbound_jobs_route_free(&route);
			free(key);
		}
		ds[j]->rcpts[ds[j]->n_rcpts++] = idx[k];
	}
	for (size_t j = 0; j < nd; j++) {
		ds[j]->out = xcalloc(ds[j]->n_rcpts, sizeof(*ds[j]->out));
		*job->tailp = ds[j];
		job->tailp = &ds[j]->next;
	}
	if (nd > 0) {
		job->n_msgs++;
	} else {
		/* Every recipient was deferred above: nothing holds m. */
		close(m->fd);
		queue_envelope_clear(&m->env);
		free(m);
	}
out:
	free(path);
	free(ds);
}

static void
outbound_jobs_claim_work(void *ctx)
{
	struct outbound_claim_job *job = ctx;
	struct outbound *ob = job->ob;
	struct queue_envelope *envs = NULL;
	struct outbound_results r = { 0 };
	size_t n = 0;
	char *error = NULL;
	int rc;

	if (queue_outbound_claim(ob->queue, job->now, OUTBOUND_CLAIM_BATCH,
	    &envs, &n, &error) == -1) {
		log_warn("outbound: event=claim-failed error=\"%s\"", error);
		free(error);
		job->failed = true;
		return;
	}
	job->n_claimed = n;
	for (size_t i = 0; i < n; i++) {
		struct queue_envelope *env = &envs[i];
		size_t *out_idx = xcalloc(env->n_rcpts + 1, sizeof(size_t));
		size_t *dsn_idx = xcalloc(env->n_rcpts + 1, sizeof(size_t));
		size_t n_out = 0, n_dsn = 0;

		for (size_t k = 0; k < env->n_rcpts; k++) {
			if (strcmp(env->rcpts[k].status, "outbound") == 0)
				out_idx[n_out++] = k;
			else
				dsn_idx[n_dsn++] = k;
		}
		if (n_dsn > 0)
			outbound_jobs_dsn(ob, env, dsn_idx, n_dsn, &r);
		if (n_out > 0)
			outbound_jobs_prepare(job, env, out_idx, n_out, &r);
		free(out_idx);
		free(dsn_idx);
	}
	outbound_results_commit(ob, &r);
	queue_envelopes_free(envs, n);
	rc = queue_outbound_next(ob->queue, &job->next, &error);
	if (rc == -1) {
		log_warn("outbound: event=queue-error error=\"%s\"", error);
		free(error);
	}
	job->has_next = rc == 0;
}

static void
outbound_jobs_arm_timer(struct outbound *ob, const struct outbound_claim_job
    *job)
{
	time_t now = time(NULL);
	struct timeval tv = { OUTBOUND_POLL, 0 };

	if (job != NULL && job->has_next && job->next - now < OUTBOUND_POLL)
		tv.tv_sec = job->next > now ? job->next - now : 0;
	if (job != NULL && job->failed)
		tv.tv_sec = OUTBOUND_POLL;
	evtimer_add(ob->timer_ev, &tv);
}

static void
outbound_jobs_claim_done(void *ctx)
{
	struct outbound_claim_job *job = ctx;
	struct outbound *ob = job->ob;
	struct outbound_delivery *d, *next;

	ob->claiming = false;
	ob->in_flight += job->n_msgs;
	for (d = job->head; d != NULL; d = next) {
		next = d->next;
		d->next = NULL;
		if (atomic_load(&ob->stopping))
			outbound_delivery_free(d);
		else
			outbound_dest_enqueue(ob, d);
	}
	if (atomic_load(&ob->stopping)) {
		free(job);
		outbound_maybe_exit(ob);
		return;
	}
	outbound_dest_kick_all(ob);
	if ((job->n_claimed == OUTBOUND_CLAIM_BATCH && !job->failed) ||
	    job->bounce_due)
		ob->claim_again = true;
	outbound_jobs_arm_timer(ob, job);
	free(job);
	if (ob->claim_again)
		outbound_jobs_claim(ob);
}

void
outbound_jobs_claim(struct outbound *ob)
{
	struct outbound_claim_job *job;

	if (atomic_load(&ob->stopping))
		return;
	if (ob->claiming || ob->in_flight >= OUTBOUND_MAX_IN_FLIGHT) {
		ob->claim_again = true;
		return;
	}
	ob->claim_again = false;
	ob->claiming = true;
	job = xcalloc(1, sizeof(*job));
	job->ob = ob;
	job->now = time(NULL);
	job->tailp = &job->head;
	worker_submit(ob->pool, ob->base, outbound_jobs_claim_work,
	    outbound_jobs_claim_done, job);
}

/* --- recording -------------------------------------------------------- */

static time_t
outbound_jobs_backoff(const struct config_outbound *c, unsigned tries)
{
	uint64_t wait = c->retry_min > 0 ? c->retry_min : 1;

	for (unsigned i = 0; i < tries && wait < c->retry_max; i++)
		wait *= 2;
	if (wait > c->retry_max && c->retry_max > 0)
		wait = c->retry_max;
	return (time_t)wait;
}

static void
outbound_jobs_record_one(struct outbound *ob, struct outbound_delivery *d,
    time_t now, struct outbound_results *r, bool *bounce_due,
    time_t *next_retry)
{
	const struct config_outbound *c = &ob->config->outbound;
	const struct queue_envelope *env = &d->msg->env;
	struct queue_outbound_rcpt *out = outbound_results_add(r, env->id,
	    d->n_rcpts);
	struct outbound_dsn_rcpt *warn = xcalloc(d->n_rcpts, sizeof(*warn));
	size_t n_warn = 0;
	long delay = outbound_delay(d->msg);
	char qid[32], *error = NULL;

	for (size_t k = 0; k < d->n_rcpts; k++) {
		const struct queue_rcpt *rc = &env->rcpts[d->rcpts[k]];
		struct outbound_outcome *o = &d->out[k];
		const char *reply = o->reply ? o->reply :
		    "451 4.4.0 Not attempted";
		char to[LOG_STR_MAX], text[LOG_STR_MAX], dsn[16];

		out[k].idx = rc->idx;
		out[k].relay = o->relay;
		out[k].attempted = true;
		if (o->code >= 200 && o->code < 300) {
			out[k].status = "delivered";
			out[k].event = "delivered";
			if ((rc->notify & QUEUE_NOTIFY_SUCCESS) == 0 ||
			    o->remote_dsn)
				out[k].dsn_sent = QUEUE_DSN_SENT_FINAL;
			else
				*bounce_due = true;
		} else if (o->code >= 500 ||
		    now - env->arrival >= (time_t)c->max_lifetime) {
			out[k].status = "failed";
			out[k].event = "failed";
			if (o->code < 500)
				reply = outbound_results_keep(r, xasprintf(
				    "4.4.7 Message expired after %ld s in the "
				    "queue; last error: %s", delay, reply));
			*bounce_due = true;
		} else {
			out[k].status = "outbound";
			out[k].event = "deferred";
			out[k].retry_at = now + outbound_jobs_backoff(c,
			    rc->tries);
			if (*next_retry == 0 || out[k].retry_at < *next_retry)
				*next_retry = out[k].retry_at;
			if (c->delay_warning > 0 &&
			    now - env->arrival >= (time_t)c->delay_warning &&
			    (rc->dsn_sent & QUEUE_DSN_SENT_DELAY) == 0 &&
			    outbound_jobs_wants(rc->notify,
			    QUEUE_NOTIFY_DELAY)) {
				warn[n_warn].i = d->rcpts[k];
				warn[n_warn].action = DSN_ACTION_DELAYED;
				warn[n_warn].reply = reply;
				warn[n_warn].relay = o->relay;
				n_warn++;
			}
		}
		out[k].last_error = reply;
		outbound_bounce_status(reply, o->code >= 500 ? "5.0.0" :
		    o->code >= 400 ? "4.0.0" : "2.0.0", dsn);
		log_str(to, sizeof(to), rc->address, strlen(rc->address));
		log_text(text, sizeof(text), reply, strlen(reply));
		log_info("outbound: qid=%s to=<%s> relay=%s delay=%ld "
		    "tls=%s dsn=%s status=%s reply=\"%s\"", env->id, to,
		    o->relay ? o->relay : "none", delay,
		    o->tls ? o->tls : "none", dsn, out[k].event, text);
		out[k].detail = outbound_results_keep(r, xasprintf(
		    "relay=%s delay=%ld tls=%s dsn=%s reply=%s",
		    o->relay ? o->relay : "none", delay,
		    o->tls ? o->tls : "none", dsn, reply));
	}
	if (n_warn > 0) {
		if (outbound_bounce_send(ob, env, warn, n_warn, qid,
		    &error) == 0) {
			for (size_t k = 0; k < d->n_rcpts; k++) {
				for (size_t w = 0; w < n_warn; w++) {
					if (warn[w].i == d->rcpts[k])
						out[k].dsn_sent |=
						    QUEUE_DSN_SENT_DELAY;
				}
			}
		} else {
			log_warn("outbound: qid=%s event=delay-dsn-failed "
			    "error=\"%s\"", env->id, error);
			free(error);
		}
	}
	free(warn);
}

static void
outbound_jobs_record_work(void *ctx)
{
	struct outbound_record_job *job = ctx;
	struct outbound_results r = { 0 };
	time_t now = time(NULL);

	for (struct outbound_delivery *d = job->head; d != NULL; d = d->next)
		outbound_jobs_record_one(job->ob, d, now, &r,
		    &job->bounce_due, &job->next_retry);
	outbound_results_commit(job->ob, &r);
}

static void
outbound_jobs_record_done(void *ctx)
{
	struct outbound_record_job *job = ctx;
	struct outbound *ob = job->ob;
	struct outbound_delivery *d, *next;

	for (d = job->head; d != NULL; d = next) {
		next = d->next;
		if (d->msg->refs == 1)
			ob->in_flight--;
		outbound_delivery_free(d);
	}
	ob->recording = false;
	if (job->bounce_due)
		ob->claim_again = true;
	if (job->next_retry != 0 && !atomic_load(&ob->stopping)) {
		/* Sooner than the poll: the backoff of what was deferred. */
		time_t now = time(NULL);
		struct timeval tv = { job->next_retry > now ?
		    job->next_retry - now : 0, 0 };

		if (tv.tv_sec < OUTBOUND_POLL)
			evtimer_add(ob->timer_ev, &tv);
	}
	free(job);
	if (ob->done_head != NULL)
		outbound_jobs_record(ob);
	if (atomic_load(&ob->stopping)) {
		outbound_maybe_exit(ob);
		return;
	}
	if (ob->claim_again)
		outbound_jobs_claim(ob);
}

void
outbound_jobs_record(struct outbound *ob)
{
	struct outbound_record_job *job;

	if (ob->recording || ob->done_head == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->ob = ob;
	job->head = ob->done_head;
	ob->done_head = NULL;
	ob->done_tailp = &ob->done_head;
	ob->recording = true;
	worker_submit(ob->pool, ob->base, outbound_jobs_record_work,
	    outbound_jobs_record_done, job);
}
