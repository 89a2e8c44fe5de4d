/* outbound_sts_fetch.c — finding the MTA-STS policy of a recipient domain
   (RFC 8461 §3, §5): the "_mta-sts" TXT record and the address of
   "mta-sts.<domain>" through the agent's resolver, then on a worker thread
   the cache in queue.db and, when the cached policy is missing, expired or
   of another id, the HTTPS fetch with libcurl.

   The fetch (§3.3): https://mta-sts.<domain>[:mta_sts_port]/.well-known/
   mta-sts.txt, certificate verified against [outbound] tls_ca_file (or the
   system's CAs) and the host name, no redirects, HTTP 200 only, at most
   OUTBOUND_STS_MAX_POLICY bytes, bounded in time. The name is resolved by
   our resolver, not libc's: curl is handed the address (CURLOPT_RESOLVE),
   so the lookup is async and goes where every other one goes.

   Failures follow §5.1: no TXT record and no usable cache, or a fetch
   that fails without a cached policy, mean no policy (deliver as before);
   a cached, unexpired policy stays in force when the TXT lookup or the
   fetch fails. */
#include "outbound/outbound_private.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dns/dns.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"

/* Seconds: connecting to the policy host, and the whole request (§3.3
   suggests a minute at most; a policy is a few hundred bytes). */
#define OUTBOUND_STS_CONNECT_TIMEOUT 10
#define OUTBOUND_STS_TIMEOUT 20

struct outbound_sts_lookup {
	struct outbound *ob;
	char *domain;
	char id[33];			/* TXT id, "" when none */
	char addr[INET6_ADDRSTRLEN];	/* of mta-sts.<domain>, "" none */
	struct dns_query *q;
	bool cancelled;			/* the job is out; drop its answer */
	outbound_sts_done_fn *done;
	void *ctx;
	/* Filled by the job: */
	char *policy;			/* text in force, or NULL */
	const char *source;		/* "cache", "fetched" or NULL */
};

static size_t
outbound_sts_write(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	/* size is 1 for curl; a policy past the cap is refused whole. */
	if (n > 0 && buf_append(b, data, size * n) == -1)
		return 0;
	return size * n;
}

/* The policy text of l->domain over HTTPS (heap), or NULL (logged). */
static char *
outbound_sts_http(struct outbound_sts_lookup *l)
{
	const struct config *config = l->ob->config;
	unsigned port = config->outbound.mta_sts_port;
	struct curl_slist *resolve = NULL;
	char *url, *pin = NULL, errbuf[CURL_ERROR_SIZE] = "";
	struct buf body;
	long status = 0;
	CURLcode rc;
	CURL *curl;

	if ((curl = curl_easy_init()) == NULL)
		return NULL;
	buf_init(&body, OUTBOUND_STS_MAX_POLICY);
	url = xasprintf("https://mta-sts.%s:%u/.well-known/mta-sts.txt",
	    l->domain, port);
	if (l->addr[0] != '\0') {
		pin = xasprintf("mta-sts.%s:%u:%s%s%s", l->domain, port,
		    strchr(l->addr, ':') ? "[" : "", l->addr,
		    strchr(l->addr, ':') ? "]" : "");
		resolve = curl_slist_append(NULL, pin);
		curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);	/* §3.3 */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    (long)OUTBOUND_STS_CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)OUTBOUND_STS_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)OUTBOUND_STS_MAX_POLICY);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (config->outbound.tls_ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO,
		    config->outbound.tls_ca_file);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "petrel");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, outbound_sts_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(resolve);
	free(pin);
	free(url);
	if (rc != CURLE_OK || status != 200) {
		log_warn("outbound: domain=%s event=mta-sts-fetch-failed "
		    "status=%ld error=\"%s\"", l->domain, status,
		    rc != CURLE_OK ? (errbuf[0] ? errbuf :
		    curl_easy_strerror(rc)) : "HTTP status not 200");
		buf_clear(&body);
		return NULL;
	}
	return buf_steal(&body);
}

static void
outbound_sts_work(void *ctx)
{
	struct outbound_sts_lookup *l = ctx;
	struct queue *queue = l->ob->queue;
	struct outbound_sts_policy p;
	char *cached_id = NULL, *cached = NULL, *fetched, *error = NULL;
	const char *perr = NULL;
	time_t expires = 0, now = time(NULL);
	int rc;

	rc = queue_mta_sts_get(queue, l->domain, &cached_id, &cached,
	    &expires, &error);
	if (rc == -1) {
		log_warn("outbound: domain=%s event=mta-sts-cache-failed "
		    "error=\"%s\"", l->domain, error);
		xfree(&error);
	}
	if (rc == 0 && expires <= now)
		xfree(&cached);		/* §3.3: past max_age, gone */
	/* §5.1: refresh only when the TXT id says the policy changed. */
	if (l->id[0] == '\0' || (cached != NULL &&
	    strcmp(cached_id, l->id) == 0)) {
		l->policy = cached;
		l->source = cached ? "cache" : NULL;
		free(cached_id);
		return;
	}
	fetched = outbound_sts_http(l);
	if (fetched != NULL && outbound_sts_policy_parse(fetched,
	    strlen(fetched), &p, &perr) == -1) {
		log_warn("outbound: domain=%s event=mta-sts-policy-invalid "
		    "error=\"%s\"", l->domain, perr);
		xfree(&fetched);
	}
	if (fetched == NULL) {
		l->policy = cached;	/* may be NULL: no policy */
		l->source = cached ? "cache" : NULL;
		free(cached_id);
		return;
	}
	if (queue_mta_sts_put(queue, l->domain, l->id, fetched, now,
	    now + (time_t)p.max_age, &error) == -1) {
		log_warn("outbound: domain=%s event=mta-sts-cache-failed "
		    "error=\"%s\"", l->domain, error);
		xfree(&error);
	}
	log_info("outbound: domain=%s event=mta-sts-fetched id=%s mode=%s "
	    "max_age=%u mx=%zu", l->domain, l->id,
	    outbound_sts_mode_name(p.mode), (unsigned)p.max_age, p.n_mx);
	outbound_sts_policy_clear(&p);
	free(cached);
	free(cached_id);
	l->policy = fetched;
	l->source = "fetched";
}

static void
outbound_sts_free(struct outbound_sts_lookup *l)
{
	dns_cancel(&l->q);
	free(l->policy);
	free(l->domain);
	free(l);
}

static void
outbound_sts_job_done(void *ctx)
{
	struct outbound_sts_lookup *l = ctx;
	struct outbound *ob = l->ob;
	struct outbound_sts_policy p;
	const char *error;
	bool have;

	ob->sts_jobs--;
	if (l->cancelled || atomic_load(&ob->stopping)) {
		outbound_sts_free(l);
		outbound_maybe_exit(ob);
		return;
	}
	have = l->policy != NULL && outbound_sts_policy_parse(l->policy,
	    strlen(l->policy), &p, &error) == 0;
	l->done(have ? &p : NULL, l->ctx);
	if (have)
		outbound_sts_policy_clear(&p);
	outbound_sts_free(l);
}

static void
outbound_sts_submit(struct outbound_sts_lookup *l)
{
	l->ob->sts_jobs++;
	l->cancelled = false;
	worker_submit(l->ob->sts_pool, l->ob->base, outbound_sts_work,
	    outbound_sts_job_done, l);
}

static void
outbound_sts_addr_cb(struct dns_result *res, void *ctx)
{
	struct outbound_sts_lookup *l = ctx;

	l->q = NULL;
	if (res->status == DNS_OK && res->count > 0)
		memcpy(l->addr, res->addr[0].text, sizeof(l->addr));
	dns_result_free(&res);
	outbound_sts_submit(l);
}

static void
outbound_sts_txt_cb(struct dns_result *res, void *ctx)
{
	struct outbound_sts_lookup *l = ctx;
	char *name;
	size_t n = 0;

	l->q = NULL;
	for (size_t i = 0; res->status == DNS_OK && i < res->count; i++) {
		char id[33];

		if (outbound_sts_txt_id(res->txt[i].data, res->txt[i].len,
		    id) == 0 && n++ == 0)
			memcpy(l->id, id, sizeof(l->id));
	}
	/* §3.1: several STSv1 records are as none. */
	if (n != 1)
		l->id[0] = '\0';
	dns_result_free(&res);
	if (l->id[0] == '\0') {
		outbound_sts_submit(l);	/* the cache may still apply */
		return;
	}
	name = xasprintf("mta-sts.%s", l->domain);
	l->q = dns_query(l->ob->dns, DNS_TYPE_A, name, outbound_sts_addr_cb,
	    l);
	free(name);
}

struct outbound_sts_lookup *
outbound_sts_lookup(struct outbound *ob, const char *domain,
    outbound_sts_done_fn *done, void *ctx)
{
	struct outbound_sts_lookup *l = xcalloc(1, sizeof(*l));
	char *name = xasprintf("_mta-sts.%s", domain);

	l->ob = ob;
	l->domain = xstrdup(domain);
	l->done = done;
	l->ctx = ctx;
	l->q = dns_query(ob->dns, DNS_TYPE_TXT, name, outbound_sts_txt_cb, l);
	free(name);
	return l;
}

void
outbound_sts_cancel(struct outbound_sts_lookup **lp)
{
	struct outbound_sts_lookup *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	if (l->q != NULL) {
		outbound_sts_free(l);	/* in DNS: nothing else holds it */
		return;
	}
	l->cancelled = true;		/* the job's done frees it */
}

void
outbound_sts_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}
