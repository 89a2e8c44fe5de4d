/* outbound_test.c — the pure parts of the agent: the From domain that
   DKIM signs for, and who gets signed. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dns/dns.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "mail/dsn.h"
#include "outbound/outbound_private.h"
#include "smtpc/smtpc.h"

static const struct {
	const char *msg;
	const char *domain;		/* NULL: none */
} from_cases[] = {
	{ "From: a@Example.ORG\r\n\r\nbody", "example.org" },
	{ "From: Alice <alice@example.org>\r\n\r\n", "example.org" },
	{ "from:\"Smith, J. <x@evil.example>\" <j@example.org>\r\n\r\n",
	  "example.org" },
	{ "From: (comment <x@evil.example>) a@example.org (c)\r\n\r\n",
	  "example.org" },
	{ "From: \"a@b\"@example.org\r\n\r\n", "example.org" },
	{ "Subject: x\r\nFrom: Bob\r\n <bob@sub.example.org>\r\n\r\n",
	  "sub.example.org" },
	{ "From: a@example.org\n\nbare LF", "example.org" },
	{ "From: a@example.org", "example.org" },	/* header only */
	{ "From: =?utf-8?q?J=C3=B6rg?= <j@b\xc3\xbc" "cher.example>\r\n\r\n",
	  "b\xc3\xbc" "cher.example" },
	/* Not one plain author: unsigned. */
	{ "From: a@example.org, b@example.org\r\n\r\n", NULL },
	{ "From: a@example.org\r\nFrom: b@example.org\r\n\r\n", NULL },
	{ "From: group: a@example.org;\r\n\r\n", NULL },
	{ "From: a@[192.0.2.1]\r\n\r\n", NULL },
	{ "From: <a@example.org\r\n\r\n", NULL },
	{ "From: a@example.org>\r\n\r\n", NULL },
	{ "From: <a@x.example> <b@y.example>\r\n\r\n", NULL },
	{ "From: (open comment a@example.org\r\n\r\n", NULL },
	{ "From: \"open quote a@example.org\r\n\r\n", NULL },
	{ "From: nobody\r\n\r\n", NULL },
	{ "From: a@bad..example\r\n\r\n", NULL },
	{ "To: a@example.org\r\n\r\nFrom: b@example.org\r\n", NULL },
	{ "", NULL },
};

static void
test_from_domain(void)
{
	bool reported = false;

	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]);
	    i++) {
		char *domain = (char *)"unset";
		int rc = outbound_from_domain(from_cases[i].msg,
		    strlen(from_cases[i].msg), &domain);

		if (from_cases[i].domain == NULL) {
			TEST_EQ_INT(rc, -1);
			TEST_ASSERT(domain == NULL);
		} else {
			TEST_EQ_INT(rc, 0);
			TEST_EQ_STR(domain, from_cases[i].domain);
		}
		if (test_current_failed && !reported) {
			fprintf(stderr, "  first failing case %zu: %s\n", i,
			    from_cases[i].msg);
			reported = true;
		}
		free(domain);
	}
}

static void
test_dkim_wanted(void)
{
	struct config config;
	struct queue_envelope env;

	memset(&config, 0, sizeof(config));
	memset(&env, 0, sizeof(env));
	env.client_addr = (char *)"192.0.2.7";
	/* Mail from outside (port 25, no login) is not ours to sign. */
	TEST_ASSERT(!outbound_dkim_wanted(&config, &env));
	env.auth_user = (char *)"alice@example.org";
	TEST_ASSERT(outbound_dkim_wanted(&config, &env));
	env.auth_user = NULL;
	config.submission.relay_networks = (char *)"198.51.100.0/24, "
	    "192.0.2.7";
	TEST_ASSERT(outbound_dkim_wanted(&config, &env));
	env.client_addr = (char *)"192.0.2.8";
	TEST_ASSERT(!outbound_dkim_wanted(&config, &env));
	env.client_addr = NULL;
	TEST_ASSERT(!outbound_dkim_wanted(&config, &env));
}

/* RFC 7672 §2.2 decisions on fake answers. */
static void
test_dane_decide(void)
{
	uint8_t sha256[32], sha512[64], full[3] = { 1, 2, 3 };
	struct dns_tlsa recs[] = {
		{ 3, 1, 1, sha256, sizeof(sha256) },	/* DANE-EE: usable */
		{ 1, 1, 1, sha256, sizeof(sha256) },	/* PKIX-EE: not SMTP */
		{ 2, 0, 2, sha512, sizeof(sha512) },	/* DANE-TA: usable */
		{ 3, 1, 1, sha256, 20 },		/* bad digest length */
		{ 3, 2, 0, full, sizeof(full) },	/* unknown selector */
		{ 3, 0, 0, full, sizeof(full) },	/* full cert: usable */
	};
	struct dns_result res = { 0 };
	struct smtpc_tlsa *got = NULL;
	size_t n = 99;

	memset(sha256, 0xab, sizeof(sha256));
	memset(sha512, 0xcd, sizeof(sha512));
	res.type = DNS_TYPE_TLSA;
	res.status = DNS_OK;
	res.secure = true;
	res.tlsa = recs;
	res.count = sizeof(recs) / sizeof(recs[0]);

	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_REQUIRED);
	TEST_EQ_INT(n, 3);
	if (got != NULL && n == 3) {
		TEST_EQ_INT(got[0].usage, 3);
		TEST_EQ_INT(got[0].len, 32);
		TEST_ASSERT(got[0].data != sha256 &&
		    memcmp(got[0].data, sha256, 32) == 0);
		TEST_EQ_INT(got[1].usage, 2);
		TEST_EQ_INT(got[1].mtype, 2);
		TEST_EQ_INT(got[2].selector, 0);
		TEST_EQ_INT(got[2].len, 3);
	}
	{
		struct smtpc_tlsa *copy = outbound_dane_copy(got, n);

		TEST_ASSERT(copy[1].data != got[1].data &&
		    memcmp(copy[1].data, sha512, 64) == 0);
		outbound_dane_free(&copy, n);
		TEST_ASSERT(copy == NULL);
	}
	outbound_dane_free(&got, n);

	/* An insecure chain or insecure records: opportunistic. */
	TEST_EQ_INT(outbound_dane_decide(false, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	TEST_ASSERT(got == NULL && n == 0);
	res.secure = false;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	res.secure = true;
	/* Not asked. */
	TEST_EQ_INT(outbound_dane_decide(true, NULL, &got, &n),
	    OUTBOUND_DANE_NONE);
	/* Secure, none usable: opportunistic. */
	res.tlsa = &recs[1];
	res.count = 1;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	TEST_ASSERT(got == NULL);
	/* Secure denial: no DANE. */
	res.count = 0;
	res.status = DNS_NODATA;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	res.status = DNS_NXDOMAIN;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	/* A failed or bogus lookup in a signed zone: not this host now;
	   in an unsigned one it does not matter. */
	res.status = DNS_TEMPFAIL;
	res.secure = false;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_TEMPFAIL);
	TEST_EQ_INT(outbound_dane_decide(false, &res, &got, &n),
	    OUTBOUND_DANE_NONE);
	res.status = DNS_BOGUS;
	TEST_EQ_INT(outbound_dane_decide(true, &res, &got, &n),
	    OUTBOUND_DANE_TEMPFAIL);
	TEST_ASSERT(got == NULL && n == 0);
}

static int
dsn_count(struct queue *q)
{
	struct queue_envelope *envs = NULL;
	size_t n = 0;
	char *error = NULL;
	int dsns = 0;

	if (queue_list(q, &envs, &n, &error) == -1) {
		TEST_ASSERT(!"queue_list");
		free(error);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		dsns += envs[i].mail_from[0] == '\0';
	queue_envelopes_free(envs, n);
	return dsns;
}

/* A report queued again for the same recipients (a crash between queueing
   it and recording that it was sent, then the same claim after the
   restart) is recognised by its Message-ID and not sent twice. */
static void
test_bounce_once(void)
{
	static const char text[] = "From: a@example.org\r\nSubject: t\r\n"
	    "\r\nbody\r\n";
	char *dir = test_tmpdir(), *error = NULL, qid[32];
	struct config config;
	struct outbound ob;
	struct queue_writer *w;
	struct queue_rcpt rcpts[2] = {
		{ .address = (char *)"x@remote.example" },
		{ .address = (char *)"y@remote.example" },
	};
	struct queue_envelope env = {
		.mail_from = (char *)"alice@example.org",
		.helo = (char *)"client.example",
		.rcpts = rcpts,
		.n_rcpts = 2,
	};
	struct outbound_dsn_rcpt d[2] = {
		{ .i = 0, .action = DSN_ACTION_FAILED,
		  .reply = "550 5.1.1 no such user" },
		{ .i = 1, .action = DSN_ACTION_FAILED,
		  .reply = "550 5.1.1 no such user" },
	};
	const char *werr = NULL;

	memset(&config, 0, sizeof(config));
	memset(&ob, 0, sizeof(ob));
	config.hostname = (char *)"mx.example.org";
	config.outbound.max_lifetime = 3600;
	config.data_dir = dir;
	ob.config = &config;
	if (queue_open(dir, &ob.queue, &error) == -1) {
		TEST_ASSERT(!"queue_open");
		free(error);
		return;
	}
	w = queue_writer_new(ob.queue, &werr);
	TEST_ASSERT(w != NULL);
	if (w == NULL)
		goto out;
	snprintf(env.id, sizeof(env.id), "%s", queue_writer_id(w));
	TEST_EQ_INT(queue_writer_write(w, text, strlen(text)), 0);
	TEST_EQ_INT(queue_commit(ob.queue, &w, &env, &error), 0);
	env.arrival = time(NULL);

	TEST_EQ_INT(outbound_bounce_send(&ob, &env, d, 2, qid, &error), 0);
	TEST_ASSERT(qid[0] != '\0');
	TEST_EQ_INT(dsn_count(ob.queue), 1);
	/* The same report again: recognised, nothing queued. */
	TEST_EQ_INT(outbound_bounce_send(&ob, &env, d, 2, qid, &error), 0);
	TEST_EQ_STR(qid, "");
	TEST_EQ_INT(dsn_count(ob.queue), 1);
	/* Another report (one recipient only; a delay warning) is new. */
	TEST_EQ_INT(outbound_bounce_send(&ob, &env, d, 1, qid, &error), 0);
	TEST_ASSERT(qid[0] != '\0');
	d[0].action = DSN_ACTION_DELAYED;
	d[0].reply = "451 4.3.0 later";
	TEST_EQ_INT(outbound_bounce_send(&ob, &env, d, 1, qid, &error), 0);
	TEST_ASSERT(qid[0] != '\0');
	TEST_EQ_INT(dsn_count(ob.queue), 3);
	/* The null sender never gets one. */
	env.mail_from = (char *)"";
	d[0].action = DSN_ACTION_FAILED;
	TEST_EQ_INT(outbound_bounce_send(&ob, &env, d, 2, qid, &error), 0);
	TEST_EQ_STR(qid, "");
	TEST_EQ_INT(dsn_count(ob.queue), 3);
out:
	queue_close(&ob.queue);
	fsutil_remove_tree(dir);
	free(dir);
}

int
main(void)
{
	TEST_RUN(test_from_domain);
	TEST_RUN(test_dkim_wanted);
	TEST_RUN(test_dane_decide);
	TEST_RUN(test_bounce_once);
	return test_done();
}
