/* deliver_pass.c — one pass of the delivery agent over a batch of due
   messages: resolve every recipient, store the copies account by account
   (one store transaction each), then record every outcome in the queue in
   one transaction. */
#include "deliver/deliver_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory/directory.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"
#include "store/store.h"

/* One copy of a message for one account. */
struct deliver_copy {
	size_t msg, rcpt;		/* indexes into the pass's envelopes */
	struct directory_delivery dl;	/* owned */
	int status;			/* enum store_status of its append */
};

/* The outcome of one recipient so far. */
struct deliver_rcpt {
	const char *status;		/* NULL: from its copies */
	char *error;			/* heap, or NULL */
	char **forwards;
	size_t n_forwards;
	unsigned copies, stored, temp, perm;
	char *perm_error, *temp_error;	/* first of each, heap */
};

struct deliver_pass {
	struct deliver *d;
	time_t now;
	struct queue_envelope *envs;
	size_t n_envs;
	struct deliver_rcpt **rcpts;	/* [msg][rcpt] */
	struct deliver_copy *copies;
	size_t n_copies, cap_copies;
	char **paths;			/* queue file per message */
};

static void
deliver_pass_resolve(struct deliver_pass *p, size_t m, size_t r)
{
	struct queue_rcpt *qr = &p->envs[m].rcpts[r];
	struct deliver_rcpt *dr = &p->rcpts[m][r];
	struct directory_resolution res;

	directory_resolve(p->d->dir, qr->address, true, &res);
	switch (res.result) {
	case DIRECTORY_LOCAL:
		for (size_t i = 0; i < res.n_deliveries; i++) {
			struct deliver_copy *c;

			if (p->n_copies == p->cap_copies) {
				p->cap_copies = p->cap_copies ?
				    p->cap_copies * 2 : 64;
				p->copies = xreallocarray(p->copies,
				    p->cap_copies, sizeof(*p->copies));
			}
			c = &p->copies[p->n_copies++];
			c->msg = m;
			c->rcpt = r;
			c->dl = res.deliveries[i];
			c->status = STORE_IO;
			dr->copies++;
		}
		/* The copies own the strings now. */
		res.n_deliveries = 0;
		dr->forwards = res.forwards;
		dr->n_forwards = res.n_forwards;
		res.forwards = NULL;
		res.n_forwards = 0;
		break;
	case DIRECTORY_NOT_LOCAL:
		dr->status = "outbound";
		break;
	case DIRECTORY_TEMPFAIL:
		dr->status = "deferred";
		dr->error = xstrdup("451 4.3.0 Directory lookup failed");
		break;
	default:
		dr->status = "failed";
		dr->error = xstrdup(res.reply != NULL ? res.reply :
		    "550 5.1.1 Recipient address rejected");
		break;
	}
	directory_resolution_clear(&res);
}

/* The queued bytes are gone (removed by hand, a disk repaired): no retry
   can bring them back, so every recipient fails at once instead of being
   retried for the queue's lifetime. */
static void
deliver_pass_lost(struct deliver_pass *p, size_t m)
{
	log_error("deliver: qid=%s event=message-file-missing path=%s",
	    p->envs[m].id, p->paths[m]);
	for (size_t r = 0; r < p->envs[m].n_rcpts; r++) {
		p->rcpts[m][r].status = "failed";
		p->rcpts[m][r].error = xstrdup("554 5.3.0 The queued message "
		    "file is missing");
	}
}

/* Copies grouped by account, then in queue order. */
static int
deliver_copy_cmp(const void *a, const void *b)
{
	const struct deliver_copy *x = a, *y = b;

	if (x->dl.account_id != y->dl.account_id)
		return x->dl.account_id < y->dl.account_id ? -1 : 1;
	if (x->msg != y->msg)
		return x->msg < y->msg ? -1 : 1;
	return x->rcpt < y->rcpt ? -1 : x->rcpt > y->rcpt;
}

static int
deliver_pass_append(struct deliver_pass *p, struct deliver_store *ds,
    struct deliver_copy *c)
{
	const struct queue_envelope *env = &p->envs[c->msg];
	struct store_append a = { 0 };
	char *key, *tagged = NULL;
	size_t len = 0;
	int rc;

	a.mailbox_id = deliver_copy_mailbox(ds, &c->dl, env->id);
	if (a.mailbox_id < 0)
		return STORE_IO;
	a.internal_date = env->arrival;
	/* One copy per account and tag, however many recipients of the
	   message lead there; and never a second one after a crash. */
	key = xasprintf("%s/%s", env->id, c->dl.tag != NULL ? c->dl.tag : "");
	a.delivery_key = key;
	if (c->dl.tag != NULL && c->dl.plus_mode == DIRECTORY_PLUS_SUBJECT &&
	    (tagged = deliver_copy_tagged(p->paths[c->msg], c->dl.tag,
	    &len)) != NULL) {
		a.data = tagged;
		a.len = len;
	} else {
		a.path = p->paths[c->msg];
	}
	rc = store_append(ds->store, &a, NULL);
	if (rc == STORE_DUPLICATE)
		rc = STORE_OK;
	free(tagged);
	free(key);
	return rc;
}

/* Stores copies[first..last) (one account) in one transaction: a copy
   that fails (over quota) undoes only itself (store_begin's savepoints),
   the others share one directory fsync and one commit. */
static void
deliver_pass_account(struct deliver_pass *p, size_t first, size_t last)
{
	struct deliver_store *ds = deliver_stores_get(p->d,
	    &p->copies[first].dl);
	bool txn;

	if (ds == NULL)
		return;			/* all stay STORE_IO: deferred */
	txn = last - first > 1 && store_begin(ds->store) == STORE_OK;
	for (size_t i = first; i < last; i++)
		p->copies[i].status = deliver_pass_append(p, ds, &p->copies[i]);
	if (txn && store_commit(ds->store) != STORE_OK) {
		log_warn("deliver: event=store-commit-failed account=%s "
		    "error=\"%s\"", p->copies[first].dl.account,
		    store_error(ds->store));
		store_rollback(ds->store);
		for (size_t i = first; i < last; i++)
			p->copies[i].status = STORE_IO;
	}
}

static void
deliver_pass_store(struct deliver_pass *p)
{
	size_t first = 0;

	if (p->n_copies > 1)
		qsort(p->copies, p->n_copies, sizeof(*p->copies),
		    deliver_copy_cmp);
	for (size_t i = 1; i <= p->n_copies; i++) {
		if (i == p->n_copies || p->copies[i].dl.account_id !=
		    p->copies[first].dl.account_id) {
			deliver_pass_account(p, first, i);
			first = i;
		}
	}
	for (size_t i = 0; i < p->n_copies; i++) {
		struct deliver_copy *c = &p->copies[i];
		struct deliver_rcpt *dr = &p->rcpts[c->msg][c->rcpt];
		char *why = NULL;

		switch (c->status) {
		case STORE_OK:
			dr->stored++;
			log_info("deliver: qid=%s event=delivered to=<%s> "
			    "account=%s%s%s", p->envs[c->msg].id,
			    p->envs[c->msg].rcpts[c->rcpt].address,
			    c->dl.account, c->dl.tag != NULL ? " tag=" : "",
			    c->dl.tag != NULL ? c->dl.tag : "");
			continue;
		case STORE_TOO_BIG:
			dr->perm++;
			why = xasprintf("552 5.2.2 <%s>: Message exceeds the "
			    "mailbox quota", c->dl.account);
			break;
		case STORE_INVALID:
			dr->perm++;
			why = xasprintf("554 5.6.0 <%s>: Message refused by "
			    "the mailbox", c->dl.account);
			break;
		case STORE_OVER_QUOTA:
			dr->temp++;
			why = xasprintf("452 4.2.2 <%s>: Mailbox full",
			    c->dl.account);
			break;
		default:
			dr->temp++;
			why = xasprintf("451 4.3.0 <%s>: Mailbox temporarily "
			    "unavailable", c->dl.account);
			break;
		}
		log_info("deliver: qid=%s event=not-delivered to=<%s> "
		    "account=%s reason=\"%s\"", p->envs[c->msg].id,
		    p->envs[c->msg].rcpts[c->rcpt].address, c->dl.account, why);
		if (c->status == STORE_TOO_BIG || c->status == STORE_INVALID) {
			if (dr->perm_error == NULL)
				dr->perm_error = why, why = NULL;
		} else if (dr->temp_error == NULL) {
			dr->temp_error = why, why = NULL;
		}
		free(why);
	}
}

/* The recipient's final word for this attempt. */
static void
deliver_pass_outcome(struct deliver_pass *p, size_t m, size_t r,
    struct queue_rcpt_result *out)
{
	const struct queue_envelope *env = &p->envs[m];
	struct deliver_rcpt *dr = &p->rcpts[m][r];

	out->idx = env->rcpts[r].idx;
	if (dr->status == NULL) {
		if (dr->perm > 0) {
			dr->status = "failed";
			dr->error = dr->perm_error, dr->perm_error = NULL;
		} else if (dr->temp > 0) {
			dr->status = "deferred";
			dr->error = dr->temp_error, dr->temp_error = NULL;
		} else {
			dr->status = "delivered";
		}
	}
	if (strcmp(dr->status, "deferred") == 0 &&
	    p->now - env->arrival >= (time_t)p->d->config.lifetime) {
		char *why = xasprintf("%s (given up after %u attempts: too "
		    "long in the queue)", dr->error != NULL ? dr->error :
		    "451 4.3.0 Temporary failure", env->attempts + 1);

		free(dr->error);
		dr->error = why;
		dr->status = "failed";
	}
	if (strcmp(dr->status, "failed") == 0)
		log_info("deliver: qid=%s event=failed to=<%s> reason=\"%s\"",
		    env->id, env->rcpts[r].address, dr->error);
	out->status = dr->status;
	out->last_error = dr->error;
}

static time_t
deliver_pass_retry_at(const struct deliver_pass *p,
    const struct queue_envelope *env)
{
	uint64_t delay = p->d->config.retry_min;

	for (unsigned i = 0; i < env->attempts && delay < p->d->config.retry_max;
	    i++)
		delay *= 2;
	if (delay > p->d->config.retry_max)
		delay = p->d->config.retry_max;
	return p->now + (time_t)delay;
}

static int
deliver_pass_record(struct deliver_pass *p)
{
	struct queue_result *results = xcalloc(p->n_envs, sizeof(*results));
	struct queue_rcpt_result **rr = xcalloc(p->n_envs, sizeof(*rr));
	const char ***fwd = xcalloc(p->n_envs, sizeof(*fwd));
	char *error = NULL;
	int rc;

	for (size_t m = 0; m < p->n_envs; m++) {
		const struct queue_envelope *env = &p->envs[m];
		size_t n_fwd = 0, k = 0;

		rr[m] = xcalloc(env->n_rcpts, sizeof(**rr));
		for (size_t r = 0; r < env->n_rcpts; r++) {
			deliver_pass_outcome(p, m, r, &rr[m][r]);
			n_fwd += p->rcpts[m][r].n_forwards;
		}
		fwd[m] = xcalloc(n_fwd + 1, sizeof(**fwd));
		for (size_t r = 0; r < env->n_rcpts; r++) {
			const struct deliver_rcpt *dr = &p->rcpts[m][r];

			/* Forwards leave only with the recipient done here. */
			if (strcmp(dr->status, "delivered") != 0)
				continue;
			for (size_t i = 0; i < dr->n_forwards; i++)
				fwd[m][k++] = dr->forwards[i];
		}
		results[m].id = env->id;
		results[m].rcpts = rr[m];
		results[m].n_rcpts = env->n_rcpts;
		results[m].outbound = fwd[m];
		results[m].n_outbound = k;
		results[m].next_attempt = deliver_pass_retry_at(p, env);
	}
	rc = queue_update(p->d->queue, results, p->n_envs, &error);
	if (rc == -1) {
		/* The copies are stored; the next attempt finds them by
		   their delivery keys and only records the outcome. */
		log_warn("deliver: event=queue-update-failed error=\"%s\"",
		    error);
		free(error);
	}
	for (size_t m = 0; m < p->n_envs; m++) {
		free(rr[m]);
		free(fwd[m]);
	}
	free(rr);
	free(fwd);
	free(results);
	return rc;
}

static void
deliver_pass_stats(struct deliver_pass *p)
{
	struct deliver_stats *s = &p->d->stats;

	pthread_mutex_lock(&p->d->mutex);
	s->passes++;
	s->messages += p->n_envs;
	for (size_t m = 0; m < p->n_envs; m++) {
		for (size_t r = 0; r < p->envs[m].n_rcpts; r++) {
			const char *st = p->rcpts[m][r].status;

			if (strcmp(st, "deferred") == 0)
				s->deferred++;
			else if (strcmp(st, "failed") == 0)
				s->failed++;
			s->stored += p->rcpts[m][r].stored;
		}
	}
	pthread_mutex_unlock(&p->d->mutex);
}

static void
deliver_pass_free(struct deliver_pass *p)
{
	for (size_t i = 0; i < p->n_copies; i++) {
		free(p->copies[i].dl.account);
		free(p->copies[i].dl.tag);
	}
	free(p->copies);
	for (size_t m = 0; m < p->n_envs; m++) {
		for (size_t r = 0; r < p->envs[m].n_rcpts; r++) {
			struct deliver_rcpt *dr = &p->rcpts[m][r];

			for (size_t i = 0; i < dr->n_forwards; i++)
				free(dr->forwards[i]);
			free(dr->forwards);
			free(dr->error);
			free(dr->perm_error);
			free(dr->temp_error);
		}
		free(p->rcpts[m]);
		free(p->paths[m]);
	}
	free(p->rcpts);
	free(p->paths);
	queue_envelopes_free(p->envs, p->n_envs);
}

int
deliver_pass(struct deliver *d, time_t now)
{
	struct deliver_pass p = { .d = d, .now = now };
	char *error = NULL;
	int rc;

	if (queue_due(d->queue, now, d->config.batch, &p.envs, &p.n_envs,
	    &error) == -1) {
		log_warn("deliver: event=queue-error error=\"%s\"", error);
		free(error);
		return -1;
	}
	if (p.n_envs == 0)
		return 0;
	p.rcpts = xcalloc(p.n_envs, sizeof(*p.rcpts));
	p.paths = xcalloc(p.n_envs, sizeof(*p.paths));
	for (size_t m = 0; m < p.n_envs; m++) {
		p.paths[m] = queue_message_path(d->queue, p.envs[m].id);
		p.rcpts[m] = xcalloc(p.envs[m].n_rcpts, sizeof(**p.rcpts));
		if (access(p.paths[m], R_OK) == -1 && errno == ENOENT) {
			deliver_pass_lost(&p, m);
			continue;
		}
		for (size_t r = 0; r < p.envs[m].n_rcpts; r++)
			deliver_pass_resolve(&p, m, r);
	}
	deliver_pass_store(&p);
	rc = deliver_pass_record(&p);
	deliver_pass_stats(&p);
	rc = rc == -1 ? -1 : (int)p.n_envs;
	deliver_pass_free(&p);
	return rc;
}
