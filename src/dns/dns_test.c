/* dns_test.c — the RDATA parsers on good and broken records, and real
   lookups through libunbound forwarded to tests/lib/dnsstub.py on
   loopback: MX order, null MX, A, AAAA, TLSA, TXT, CNAME, NXDOMAIN,
   NODATA, SERVFAIL, a timeout, cancellation. */
#include "dns/dns.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/test.h"
#include "lib/xmalloc.h"

static void
test_rr_mx(void)
{
	static const struct {
		const char *rdata;
		size_t len;
		int want;
		unsigned pref;
		const char *host;
	} cases[] = {
		{ "\x00\x0a\x02mx\x06Remote\x04test\x00", 18, 0, 10,
		  "mx.remote.test" },
		{ "\x00\x00\x00", 3, 0, 0, "" },		/* null MX */
		{ "\x00\x0a\xc0\x0c", 4, -1, 0, NULL },	/* pointer */
		{ "\x00\x0a\x02mx", 5, -1, 0, NULL },	/* truncated */
		{ "\x00\x0a\x00\x00", 4, -1, 0, NULL },	/* trailing */
		{ "\x00\x0a\x03m x\x00", 7, -1, 0, NULL },	/* not LDH */
		{ "\x00", 1, -1, 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct dns_mx mx;
		int r = dns_rr_mx((const uint8_t *)cases[i].rdata,
		    cases[i].len, &mx);

		TEST_EQ_INT(r, cases[i].want);
		if (r == 0) {
			TEST_EQ_INT(mx.pref, cases[i].pref);
			TEST_EQ_STR(mx.host, cases[i].host);
			dns_mx_clear(&mx);
		}
	}
}

static void
test_rr_other(void)
{
	struct dns_addr a;
	struct dns_tlsa t;
	struct dns_txt x;
	uint8_t tlsa[35] = { 3, 1, 1 };
	char *name;

	TEST_EQ_INT(dns_rr_a((const uint8_t *)"\x7f\x00\x00\x01", 4, &a), 0);
	TEST_EQ_STR(a.text, "127.0.0.1");
	TEST_EQ_INT(dns_rr_a((const uint8_t *)"\x7f\x00\x00", 3, &a), -1);
	TEST_EQ_INT(dns_rr_aaaa((const uint8_t *)"\x20\x01\x0d\xb8"
	    "\0\0\0\0\0\0\0\0\0\0\0\x01", 16, &a), 0);
	TEST_EQ_STR(a.text, "2001:db8::1");
	TEST_EQ_INT(dns_rr_tlsa(tlsa, sizeof(tlsa), &t), 0);
	TEST_EQ_INT(t.usage, 3);
	TEST_EQ_INT(t.len, 32);
	dns_tlsa_clear(&t);
	TEST_EQ_INT(dns_rr_tlsa(tlsa, 20, &t), -1);	/* SHA-256 of 17 */
	TEST_EQ_INT(dns_rr_txt((const uint8_t *)"\x03" "abc\x02" "de", 7,
	    &x), 0);
	TEST_EQ_STR(x.data, "abcde");
	TEST_EQ_INT(x.len, 5);
	dns_txt_clear(&x);
	TEST_EQ_INT(dns_rr_txt((const uint8_t *)"\x05" "abc", 4, &x), -1);
	TEST_EQ_INT(dns_rr_name((const uint8_t *)"\x04_25a\x00", 6, &name), 0);
	TEST_EQ_STR(name, "_25a");
	free(name);
}

/* ---- live lookups against the Python stub --------------------------- */

static pid_t stub_pid;
static int stub_stdin = -1, stub_stdout = -1;

static int
stub_start(void)
{
	int in[2], out[2];
	char line[32];
	ssize_t n;

	if (pipe(in) == -1 || pipe(out) == -1)
		return -1;
	stub_pid = fork();
	if (stub_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "tests/lib/dnsstub.py",
		    "remote.test. 60 IN MX 20 b.remote.test.",
		    "remote.test. 60 IN MX 10 a.remote.test.",
		    "a.remote.test. 60 IN A 127.0.0.1",
		    "a.remote.test. 60 IN AAAA ::1",
		    "alias.test. 60 IN CNAME a.remote.test.",
		    "nomail.test. 60 IN MX 0 .",
		    "_25._tcp.a.remote.test. 60 IN TLSA 3 1 1 "
		    "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef",
		    "_mta-sts.remote.test. 60 IN TXT \"v=STSv1; \" \"id=7\"",
		    "servfail:broken.test", "drop:slow.test", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	stub_stdin = in[1];
	/* Kept open until the stub stops: it may still be writing. */
	stub_stdout = out[0];
	n = read(out[0], line, sizeof(line) - 1);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	return atoi(line);
}

static void
stub_stop(void)
{
	close(stub_stdin);
	waitpid(stub_pid, NULL, 0);
	close(stub_stdout);
}

struct got {
	struct dns_result *res[16];
	size_t n, want;
	struct event_base *base;
};

static void
on_result(struct dns_result *res, void *ctx)
{
	struct got *g = ctx;

	g->res[g->n++] = res;
	if (g->n == g->want)
		event_base_loopbreak(g->base);
}

static void
test_live(void)
{
	int port = stub_start();
	struct dns_options opt = { .timeout_ms = 1500 };
	struct got g = { .want = 10 };
	struct dns *dns;
	struct dns_query *cancelled;
	char resolver[64], *error = NULL;

	TEST_ASSERT(port > 0);
	if (port <= 0)
		return;
	snprintf(resolver, sizeof(resolver), "127.0.0.1@%d", port);
	opt.resolver = resolver;
	g.base = event_base_new();
	dns = dns_new(g.base, &opt, &error);
	TEST_ASSERT(dns != NULL);
	if (dns == NULL) {
		printf("dns_new: %s\n", error);
		free(error);
		event_base_free(g.base);
		stub_stop();
		return;
	}
	dns_query(dns, DNS_TYPE_MX, "remote.test", on_result, &g);
	dns_query(dns, DNS_TYPE_MX, "nomail.test", on_result, &g);
	dns_query(dns, DNS_TYPE_A, "a.remote.test", on_result, &g);
	dns_query(dns, DNS_TYPE_AAAA, "a.remote.test.", on_result, &g);
	dns_query(dns, DNS_TYPE_TLSA, "_25._tcp.a.remote.test", on_result, &g);
	dns_query(dns, DNS_TYPE_TXT, "_mta-sts.remote.test", on_result, &g);
	dns_query(dns, DNS_TYPE_A, "alias.test", on_result, &g);
	dns_query(dns, DNS_TYPE_A, "none.test", on_result, &g);
	dns_query(dns, DNS_TYPE_MX, "a.remote.test", on_result, &g);
	dns_query(dns, DNS_TYPE_A, "broken.test", on_result, &g);
	cancelled = dns_query(dns, DNS_TYPE_A, "remote.test", on_result, &g);
	dns_cancel(&cancelled);
	TEST_EQ_INT(dns_pending(dns), 10);
	event_base_dispatch(g.base);
	TEST_EQ_INT(g.n, 10);
	for (size_t i = 0; i < g.n; i++) {
		struct dns_result *r = g.res[i];

		if (strcmp(r->qname, "remote.test") == 0) {
			TEST_EQ_INT(r->status, DNS_OK);
			TEST_EQ_INT(r->count, 2);
			TEST_EQ_STR(r->mx[0].host, "a.remote.test");
			TEST_EQ_INT(r->mx[1].pref, 20);
			TEST_ASSERT(!r->secure);
		} else if (strcmp(r->qname, "nomail.test") == 0) {
			TEST_EQ_INT(r->status, DNS_OK);
			TEST_ASSERT(r->null_mx);
		} else if (strcmp(r->qname, "a.remote.test") == 0 &&
		    r->type == DNS_TYPE_A) {
			TEST_EQ_INT(r->count, 1);
			TEST_EQ_STR(r->addr[0].text, "127.0.0.1");
		} else if (r->type == DNS_TYPE_AAAA) {
			TEST_EQ_STR(r->addr[0].text, "::1");
		} else if (r->type == DNS_TYPE_TLSA) {
			TEST_EQ_INT(r->count, 1);
			TEST_EQ_INT(r->tlsa[0].data[0], 0x01);
		} else if (r->type == DNS_TYPE_TXT) {
			TEST_EQ_STR(r->txt[0].data, "v=STSv1; id=7");
		} else if (strcmp(r->qname, "alias.test") == 0) {
			TEST_EQ_INT(r->status, DNS_OK);
			TEST_EQ_STR(r->canonname, "a.remote.test");
		} else if (strcmp(r->qname, "none.test") == 0) {
			TEST_EQ_INT(r->status, DNS_NXDOMAIN);
		} else if (r->type == DNS_TYPE_MX) {
			TEST_EQ_INT(r->status, DNS_NODATA);
		} else if (strcmp(r->qname, "broken.test") == 0) {
			TEST_EQ_INT(r->status, DNS_TEMPFAIL);
		} else {
			test_fail(__FILE__, __LINE__, "unexpected %s",
			    r->qname);
		}
		dns_result_free(&g.res[i]);
	}

	/* A server that never answers: our own timeout; a name that cannot
	   be asked: NXDOMAIN, also from the loop. */
	g.n = 0;
	g.want = 2;
	dns_query(dns, DNS_TYPE_A, "slow.test", on_result, &g);
	dns_query(dns, DNS_TYPE_A, "bad..name", on_result, &g);
	TEST_EQ_INT(g.n, 0);
	event_base_dispatch(g.base);
	TEST_EQ_INT(g.n, 2);
	if (g.n == 2) {
		TEST_EQ_STR(g.res[0]->qname, "bad..name");
		TEST_EQ_INT(g.res[0]->status, DNS_NXDOMAIN);
		TEST_EQ_INT(g.res[1]->status, DNS_TEMPFAIL);
		TEST_EQ_STR(g.res[1]->error, "timeout");
		dns_result_free(&g.res[0]);
		dns_result_free(&g.res[1]);
	}
	/* dns_free with a query pending: its callback never runs. */
	dns_query(dns, DNS_TYPE_A, "slow.test", on_result, &g);
	dns_free(&dns);
	TEST_ASSERT(dns == NULL);
	event_base_free(g.base);
	stub_stop();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	TEST_RUN(test_rr_mx);
	TEST_RUN(test_rr_other);
	TEST_RUN(test_live);
	return test_done();
}
