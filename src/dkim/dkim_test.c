/* dkim_test.c — DKIM: the RFC 6376 §3.4.5 canonicalisation example, body
   and header edge cases, tag lists, the RFC 8463 Appendix A Ed25519
   vector, key generation and records, and signatures made by dkim_sign
   checked by an independent verifier (Debian's python3-dkim through
   tests/dkim/dkimverify.py). Signed messages are kept in
   $PETREL_DKIM_OUT when it is set. */
#include "dkim/dkim.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_private.h"
#include "dkim/dkim_tag.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

#define VERIFIER "tests/dkim/dkimverify.py"

static void
test_collect(void *ctx, const char *data, size_t len)
{
	TEST_ASSERT(len > 0);
	buf_append(ctx, data, len);
}

static char *
test_body(enum dkim_canon canon, const char *body)
{
	struct buf out;

	buf_init(&out, 0);
	dkim_canon_body(canon, body, strlen(body), test_collect, &out);
	return buf_steal(&out);
}

/* The header of a message as canonical fields, each with CRLF. */
static char *
test_headers(enum dkim_canon canon, const char *msg, size_t *body_r)
{
	struct dkim_field f;
	struct buf out;
	size_t pos = 0, len = strlen(msg);

	buf_init(&out, 0);
	while (dkim_canon_next_field(msg, len, &pos, &f) == 1) {
		dkim_canon_header(canon, f.data, f.len, &out);
		buf_append(&out, "\r\n", 2);
	}
	*body_r = pos;
	return buf_steal(&out);
}

/* RFC 6376 §3.4.5. */
static const char rfc6376_example[] =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

static void
test_rfc6376_example(void)
{
	size_t body;
	char *h, *b;

	h = test_headers(DKIM_CANON_RELAXED, rfc6376_example, &body);
	TEST_EQ_STR(h, "a:X\r\nb:Y Z\r\n");
	free(h);
	b = test_body(DKIM_CANON_RELAXED, rfc6376_example + body);
	TEST_EQ_STR(b, " C\r\nD E\r\n");
	free(b);

	h = test_headers(DKIM_CANON_SIMPLE, rfc6376_example, &body);
	TEST_EQ_STR(h, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	free(h);
	b = test_body(DKIM_CANON_SIMPLE, rfc6376_example + body);
	TEST_EQ_STR(b, " C \r\nD \t E\r\n");
	free(b);
}

static const struct {
	const char *in;
	const char *simple, *relaxed;
} body_cases[] = {
	{ "", "\r\n", "" },			/* §3.4.3, §3.4.4 */
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "a", "a\r\n", "a\r\n" },		/* no final CRLF */
	{ "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n" },	/* bare LF */
	{ " \t \r\n", " \t \r\n", "" },		/* WSP-only line */
	{ "x \r\n \r\n\t\r\n", "x \r\n \r\n\t\r\n", "x\r\n" },
	{ "a\rb\r\n", "a\rb\r\n", "a\rb\r\n" },	/* bare CR is data */
	{ "  lead  mid\t\tend \t\r\n", "  lead  mid\t\tend \t\r\n",
	    " lead mid end\r\n" },
};

static void
test_body_cases(void)
{
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]);
	    i++) {
		char *s = test_body(DKIM_CANON_SIMPLE, body_cases[i].in);
		char *r = test_body(DKIM_CANON_RELAXED, body_cases[i].in);
		TEST_EQ_STR(s, body_cases[i].simple);
		TEST_EQ_STR(r, body_cases[i].relaxed);
		free(s);
		free(r);
	}
}

/* A line longer than the emit chunk arrives whole, in order. */
static void
test_body_long(void)
{
	size_t n = 10000;
	char *in = xmalloc(n + 3), *want = xmalloc(n + 3);

	for (size_t i = 0; i < n; i++)
		in[i] = want[i] = (char)('a' + i % 26);
	memcpy(in + n, "\r\n", 3);
	memcpy(want + n, "\r\n", 3);
	char *got = test_body(DKIM_CANON_RELAXED, in);
	TEST_EQ_STR(got, want);
	free(got);
	free(in);
	free(want);
}

static const struct {
	const char *in, *relaxed;
} header_cases[] = {
	{ "Subject: Hello  World ", "subject:Hello World" },
	{ "SUBJECT:x", "subject:x" },
	{ "Subject :\t x", "subject:x" },
	{ "To: a,\r\n\tb,\r\n  c", "to:a, b, c" },
	{ "To: a,\n b", "to:a, b" },		/* bare LF folding */
	{ "X: a\rb", "x:a\rb" },
	{ "X:", "x:" },
	{ "X:   ", "x:" },
};

static void
test_header_cases(void)
{
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	    i++) {
		struct buf out;

		buf_init(&out, 0);
		TEST_EQ_INT(dkim_canon_header(DKIM_CANON_RELAXED,
		    header_cases[i].in, strlen(header_cases[i].in), &out), 0);
		TEST_EQ_STR(out.data, header_cases[i].relaxed);
		buf_clear(&out);
	}
	/* simple keeps bytes but turns a bare LF into CRLF. */
	struct buf out;
	buf_init(&out, 0);
	dkim_canon_header(DKIM_CANON_SIMPLE, "To: a,\n b", 9, &out);
	TEST_EQ_STR(out.data, "To: a,\r\n b");
	buf_clear(&out);
}

static void
test_fields(void)
{
	static const char msg[] =
	    "From : a\r\n"
	    "To: b,\r\n c\r\n"
	    "junk line\r\n"
	    "\r\n"
	    "body";
	size_t pos = 0, len = strlen(msg);
	struct dkim_field f;

	TEST_EQ_INT(dkim_canon_next_field(msg, len, &pos, &f), 1);
	TEST_ASSERT(dkim_canon_field_is(&f, "from"));
	TEST_EQ_INT(f.len, 8);
	TEST_EQ_INT(dkim_canon_next_field(msg, len, &pos, &f), 1);
	TEST_ASSERT(dkim_canon_field_is(&f, "TO"));
	TEST_EQ_INT(f.len, 10);
	TEST_EQ_INT(dkim_canon_next_field(msg, len, &pos, &f), 1);
	TEST_EQ_INT(f.name_len, 9);
	TEST_EQ_INT(dkim_canon_next_field(msg, len, &pos, &f), 0);
	TEST_EQ_STR(msg + pos, "body");
	/* All header, no body. */
	pos = 0;
	TEST_EQ_INT(dkim_canon_next_field("A: b", 4, &pos, &f), 1);
	TEST_EQ_INT(dkim_canon_next_field("A: b", 4, &pos, &f), 0);
	TEST_EQ_INT(pos, 4);
}

static void
test_tags(void)
{
	struct dkim_tag t[DKIM_TAG_MAX];
	const char *s = " v=1; a=rsa-sha256 ;\r\n\th=from : to;b=ab\r\n cd ;";
	int n = dkim_tag_parse(s, strlen(s), t, DKIM_TAG_MAX);

	TEST_EQ_INT(n, 4);
	const struct dkim_tag *h = dkim_tag_find(t, (size_t)n, "h");
	TEST_ASSERT(h != NULL && h->value_len == 9 &&
	    memcmp(h->value, "from : to", 9) == 0);
	const struct dkim_tag *b = dkim_tag_find(t, (size_t)n, "b");
	struct buf out;
	buf_init(&out, 0);
	TEST_ASSERT(b != NULL && dkim_tag_value_compact(b, &out) == 0);
	TEST_EQ_STR(out.data, "abcd");
	buf_clear(&out);
	TEST_ASSERT(dkim_tag_find(t, (size_t)n, "V") == NULL);

	TEST_EQ_INT(dkim_tag_parse("", 0, t, DKIM_TAG_MAX), 0);
	TEST_EQ_INT(dkim_tag_parse(" ; ", 3, t, DKIM_TAG_MAX), -1);
	TEST_EQ_INT(dkim_tag_parse("a=", 2, t, DKIM_TAG_MAX), 1);
	TEST_EQ_INT(dkim_tag_parse("a=1;a=2", 7, t, DKIM_TAG_MAX), -1);
	TEST_EQ_INT(dkim_tag_parse("1a=x", 4, t, DKIM_TAG_MAX), -1);
	TEST_EQ_INT(dkim_tag_parse("a x=1", 5, t, DKIM_TAG_MAX), -1);
	TEST_EQ_INT(dkim_tag_parse("a=\x01", 3, t, DKIM_TAG_MAX), -1);
	TEST_EQ_INT(dkim_tag_parse("a=1;b=2", 7, t, 1), -1);
	TEST_EQ_INT(dkim_tag_parse("v=DKIM1; k=rsa; p=", 18, t, 3), 3);
}

/* RFC 8463 Appendix A: the RFC 6376 message signed with the RFC 8032
   §7.1 test key. Ed25519 is deterministic, so b= must come out equal. */
static const char rfc8463_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const char rfc8463_msg[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

static void
test_rfc8463_vector(void)
{
	static const char *const names[] = {
		"from", "to", "subject", "date", "message-id",
		"from", "subject", "date",
	};
	static const char sig_field[] =
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; i=@football.example.com;\r\n"
	    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	    " subject : date : message-id : from : subject : date;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    " b=";
	const char *msg = rfc8463_msg, *error = NULL;
	size_t len = strlen(msg), body, pos = 0;
	struct dkim_field f;
	char bh[DKIM_B64_SHA256_SIZE];
	struct buf data, sig;

	while (dkim_canon_next_field(msg, len, &pos, &f) == 1)
		;
	body = pos;
	dkim_sign_body_hash(msg + body, len - body, bh);
	TEST_EQ_STR(bh, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

	buf_init(&data, 0);
	buf_init(&sig, 0);
	TEST_EQ_INT(dkim_sign_header_data(msg, body, names, 8, &data), 0);
	/* The second From/Subject/Date have no instance: nothing added. */
	TEST_ASSERT(strncmp(data.data, "from:Joe SixPack", 16) == 0);
	TEST_EQ_INT(dkim_canon_header(DKIM_CANON_RELAXED, sig_field,
	    strlen(sig_field), &data), 0);
	EVP_PKEY *key = dkim_key_load(DKIM_ALGORITHM_ED25519, rfc8463_pem,
	    &error);
	TEST_ASSERT(key != NULL);
	TEST_EQ_INT(dkim_sign_data(key, DKIM_ALGORITHM_ED25519, data.data,
	    data.len, &sig, &error), 0);
	TEST_EQ_STR(sig.data,
	    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus"
	    "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
	EVP_PKEY_free(key);

	char *pub = dkim_key_public(DKIM_ALGORITHM_ED25519, rfc8463_pem,
	    &error);
	TEST_EQ_STR(pub, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	free(pub);
	/* The wrong algorithm for the key is refused. */
	TEST_ASSERT(dkim_key_public(DKIM_ALGORITHM_RSA, rfc8463_pem,
	    &error) == NULL);
	TEST_EQ_STR(error, "key does not match algorithm");
	buf_clear(&data);
	buf_clear(&sig);
}

static void
test_records(void)
{
	struct buf out;
	char p[600];

	buf_init(&out, 0);
	TEST_EQ_INT(dkim_record_txt(DKIM_ALGORITHM_ED25519, "QUJD", &out), 0);
	TEST_EQ_STR(out.data, "v=DKIM1; k=ed25519; p=QUJD");
	buf_reset(&out);
	TEST_EQ_INT(dkim_record_zone("s1", DKIM_ALGORITHM_ED25519, "QUJD",
	    &out), 0);
	TEST_EQ_STR(out.data,
	    "s1._domainkey IN TXT ( \"v=DKIM1; k=ed25519; p=QUJD\" )\n");
	buf_reset(&out);

	/* 18 + 400 = 418 octets: strings of 255 and 163. */
	memset(p, 'A', 400);
	p[400] = '\0';
	TEST_EQ_INT(dkim_record_zone("s2", DKIM_ALGORITHM_RSA, p, &out), 0);
	char want[1024];
	snprintf(want, sizeof(want),
	    "s2._domainkey IN TXT ( \"v=DKIM1; k=rsa; p=%.237s\"\n"
	    "\t\"%.163s\" )\n", p, p);
	TEST_EQ_STR(out.data, want);
	buf_clear(&out);

	enum dkim_algorithm a;
	TEST_EQ_INT(dkim_algorithm_parse("ed25519", &a), 0);
	TEST_EQ_INT(a, DKIM_ALGORITHM_ED25519);
	TEST_EQ_STR(dkim_algorithm_name(DKIM_ALGORITHM_RSA), "rsa");
	TEST_EQ_INT(dkim_algorithm_parse("dsa", &a), -1);
}

static const char test_msg[] =
    "Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@remote.example,\r\n"
    "    carol@remote.example\r\n"
    "Cc: dave@remote.example\r\n"
    "Subject:   Lunch   plans \r\n"
    "Date: Mon, 1 Jan 2026 00:00:00 +0000\r\n"
    "Message-ID: <1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "X-Mailer: test\r\n"
    "List-Id: <lunch.example.org>\r\n"
    "\r\n"
    "Hello Bob,  \r\n"
    "\r\n"
    "noon?\r\n"
    "\r\n"
    "\r\n";

/* Writes a file; the test fails when it cannot. */
/* An encrypted key is refused without asking for a pass phrase: OpenSSL's
   default reads one from the terminal, or from stdin without one, where
   this test puts the right pass phrase. */
static void
test_key_encrypted(void)
{
	char *pem = NULL, *pub = NULL, *enc = NULL;
	const char *error = NULL;
	int fds[2], saved;

	TEST_EQ_INT(dkim_key_generate(DKIM_ALGORITHM_ED25519, 0, &pem, &pub,
	    &error), 0);
	BIO *in = BIO_new_mem_buf(pem, -1), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	char *data;
	long len;

	TEST_ASSERT(key != NULL && PEM_write_bio_PrivateKey(out, key,
	    EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret-pw") == 1);
	len = BIO_get_mem_data(out, &data);
	enc = xstrndup(data, (size_t)len);
	EVP_PKEY_free(key);
	BIO_free(in);
	BIO_free(out);

	TEST_EQ_INT(pipe(fds), 0);
	TEST_EQ_INT(write(fds[1], "secret-pw\n", 10), 10);
	close(fds[1]);
	saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	char *again = dkim_key_public(DKIM_ALGORITHM_ED25519, enc, &error);
	dup2(saved, 0);
	close(saved);
	TEST_ASSERT(again == NULL);
	TEST_EQ_STR(error, "bad private key");
	free(again);
	free(enc);
	free(pem);
	free(pub);
}

static void
test_write(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	TEST_ASSERT(fp != NULL);
	if (fp == NULL)
		return;
	TEST_EQ_INT(fwrite(data, 1, len, fp), len);
	TEST_EQ_INT(fclose(fp), 0);
}

/* Runs the independent verifier; returns its exit status. */
static int
test_verify(const char *dir, const char *name, const char *signed_msg,
    size_t len, const char *dns, unsigned want)
{
	char *msg_path = xasprintf("%s/%s.eml", dir, name);
	char *dns_path = xasprintf("%s/%s.dns", dir, name);
	char *cmd = xasprintf("/usr/bin/python3 " VERIFIER " %s %s %u >&2",
	    msg_path, dns_path, want);

	test_write(msg_path, signed_msg, len);
	test_write(dns_path, dns, strlen(dns));
	int st = system(cmd);
	free(cmd);
	free(dns_path);
	free(msg_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct test_keypair {
	char *pem, *pub;
};

static void
test_sign_verify(void)
{
	struct test_keypair rsa, ed;
	const char *error = NULL, *out_dir = getenv("PETREL_DKIM_OUT");
	char *dir = out_dir != NULL ? xstrdup(out_dir) : test_tmpdir();
	struct buf hdr, msg, dns;

	TEST_EQ_INT(dkim_key_generate(DKIM_ALGORITHM_RSA, 2048, &rsa.pem,
	    &rsa.pub, &error), 0);
	TEST_EQ_INT(dkim_key_generate(DKIM_ALGORITHM_ED25519, 0, &ed.pem,
	    &ed.pub, &error), 0);
	TEST_ASSERT(strstr(rsa.pem, "BEGIN PRIVATE KEY") != NULL);
	TEST_EQ_INT(strlen(ed.pub), 44);
	char *again = dkim_key_public(DKIM_ALGORITHM_RSA, rsa.pem, &error);
	TEST_EQ_STR(again, rsa.pub);
	free(again);

	struct dkim_key keys[] = {
		{ "example.org", "rsa1", DKIM_ALGORITHM_RSA, rsa.pem },
		{ "example.org", "ed1", DKIM_ALGORITHM_ED25519, ed.pem },
	};
	buf_init(&hdr, 0);
	buf_init(&msg, 0);
	buf_init(&dns, 0);
	TEST_EQ_INT(dkim_sign(keys, 2, test_msg, strlen(test_msg),
	    1767225600, &hdr, &error), 0);

	/* Two folded fields: no line over 78 columns, each ends in CRLF. */
	size_t col = 0, fields = 0;
	for (size_t i = 0; i < hdr.len; i++) {
		if (hdr.data[i] == '\n') {
			TEST_ASSERT(i > 0 && hdr.data[i - 1] == '\r');
			TEST_ASSERT(col <= 79);
			col = 0;
		} else {
			col++;
		}
	}
	for (const char *p = hdr.data; (p = strstr(p, "DKIM-Signature:"));
	    p++)
		fields++;
	TEST_EQ_INT(fields, 2);
	TEST_ASSERT(hdr.len >= 2 && memcmp(hdr.data + hdr.len - 2, "\r\n",
	    2) == 0);

	/* h= as chosen: From over-signed, X-Mailer and Received not. */
	struct dkim_tag t[DKIM_TAG_MAX];
	const char *v = hdr.data + strlen("DKIM-Signature:");
	const char *end = strstr(v, "DKIM-Signature:");
	int n = dkim_tag_parse(v, (size_t)(end - v) - 2, t, DKIM_TAG_MAX);
	TEST_EQ_INT(n, 9);
	struct buf h;
	buf_init(&h, 0);
	if (n > 0) {
		dkim_tag_value_compact(dkim_tag_find(t, (size_t)n, "h"), &h);
		TEST_EQ_STR(h.data, "from:from:subject:date:to:cc:message-id:"
		    "mime-version:content-type:list-id");
		TEST_ASSERT(dkim_tag_find(t, (size_t)n, "l") == NULL);
		TEST_ASSERT(dkim_tag_find(t, (size_t)n, "x") == NULL);
		const struct dkim_tag *tt = dkim_tag_find(t, (size_t)n, "t");
		TEST_ASSERT(tt != NULL && tt->value_len == 10 &&
		    memcmp(tt->value, "1767225600", 10) == 0);
	}
	buf_clear(&h);

	buf_append(&msg, hdr.data, hdr.len);
	buf_append_str(&msg, test_msg);
	buf_printf(&dns, "rsa1._domainkey.example.org\tv=DKIM1; k=rsa; p=%s\n"
	    "ed1._domainkey.example.org\tv=DKIM1; k=ed25519; p=%s\n",
	    rsa.pub, ed.pub);
	TEST_EQ_INT(test_verify(dir, "both", msg.data, msg.len, dns.data, 2),
	    0);

	/* A changed body or an added From breaks both signatures. */
	buf_reset(&msg);
	buf_append(&msg, hdr.data, hdr.len);
	buf_append_str(&msg, test_msg);
	msg.data[msg.len - 5] = 'X';
	TEST_EQ_INT(test_verify(dir, "tampered", msg.data, msg.len, dns.data,
	    2), 1);
	buf_reset(&msg);
	buf_append(&msg, hdr.data, hdr.len);
	buf_append_str(&msg, "From: mallory@evil.example\r\n");
	buf_append_str(&msg, test_msg);
	TEST_EQ_INT(test_verify(dir, "from-added", msg.data, msg.len,
	    dns.data, 2), 1);

	/* Relaxed: refolding and re-spacing in transit still verifies. */
	buf_reset(&msg);
	buf_append(&msg, hdr.data, hdr.len);
	buf_append_str(&msg, "Received: relay\r\nFrom:   Alice <alice@example.org>\r\n"
	    "To: bob@remote.example, carol@remote.example\r\n");
	const char *rest = strstr(test_msg, "Cc:");
	buf_append_str(&msg, rest);
	buf_append_str(&msg, "\r\n\r\n");
	TEST_EQ_INT(test_verify(dir, "refolded", msg.data, msg.len, dns.data,
	    2), 0);

	/* A message without body and without Subject, RSA only. */
	buf_reset(&hdr);
	static const char bare[] = "From: a@example.org\r\nTo: b@x.example\r\n";
	TEST_EQ_INT(dkim_sign(keys, 1, bare, strlen(bare), 1767225600, &hdr,
	    &error), 0);
	buf_reset(&msg);
	buf_append(&msg, hdr.data, hdr.len);
	buf_append_str(&msg, bare);
	buf_append_str(&msg, "\r\n");
	TEST_EQ_INT(test_verify(dir, "bare", msg.data, msg.len, dns.data, 1),
	    0);

	/* Errors: bad key, wrong algorithm, bad selector, no key. */
	struct dkim_key bad = { "example.org", "s", DKIM_ALGORITHM_RSA,
	    "not a pem" };
	TEST_EQ_INT(dkim_sign(&bad, 1, bare, strlen(bare), 0, &hdr, &error),
	    -1);
	TEST_EQ_STR(error, "bad private key");
	bad.private_key_pem = ed.pem;
	TEST_EQ_INT(dkim_sign(&bad, 1, bare, strlen(bare), 0, &hdr, &error),
	    -1);
	TEST_EQ_STR(error, "key does not match algorithm");
	bad.algorithm = DKIM_ALGORITHM_ED25519;
	bad.selector = "a;b";
	TEST_EQ_INT(dkim_sign(&bad, 1, bare, strlen(bare), 0, &hdr, &error),
	    -1);
	TEST_EQ_INT(dkim_sign(keys, 0, bare, strlen(bare), 0, &hdr, &error),
	    -1);
	char *p1, *p2;
	TEST_EQ_INT(dkim_key_generate(DKIM_ALGORITHM_RSA, 512, &p1, &p2,
	    &error), -1);

	buf_clear(&hdr);
	buf_clear(&msg);
	buf_clear(&dns);
	explicit_bzero(rsa.pem, strlen(rsa.pem));
	free(rsa.pem);
	free(rsa.pub);
	free(ed.pem);
	free(ed.pub);
	if (out_dir == NULL) {
		char *cmd = xasprintf("rm -rf %s", dir);
		TEST_EQ_INT(system(cmd), 0);
		free(cmd);
	}
	free(dir);
}

/* Many instances of a name: only the last ones are signed, and the
   result still verifies. */
static void
test_sign_many_to(void)
{
	struct test_keypair ed;
	const char *error = NULL;
	char *dir = test_tmpdir();
	struct buf msg, hdr, dns;

	TEST_EQ_INT(dkim_key_generate(DKIM_ALGORITHM_ED25519, 0, &ed.pem,
	    &ed.pub, &error), 0);
	buf_init(&msg, 0);
	buf_init(&hdr, 0);
	buf_init(&dns, 0);
	buf_append_str(&msg, "From: a@example.org\r\n");
	for (int i = 0; i < 40; i++)
		buf_printf(&msg, "To: r%d@x.example\r\n", i);
	buf_append_str(&msg, "\r\nbody\r\n");
	struct dkim_key key = { "example.org", "ed", DKIM_ALGORITHM_ED25519,
	    ed.pem };
	TEST_EQ_INT(dkim_sign(&key, 1, msg.data, msg.len, 1, &hdr, &error), 0);
	buf_append(&hdr, msg.data, msg.len);
	buf_printf(&dns, "ed._domainkey.example.org\tv=DKIM1; k=ed25519; "
	    "p=%s\n", ed.pub);
	TEST_EQ_INT(test_verify(dir, "many", hdr.data, hdr.len, dns.data, 1),
	    0);
	buf_clear(&msg);
	buf_clear(&hdr);
	buf_clear(&dns);
	free(ed.pem);
	free(ed.pub);
	char *cmd = xasprintf("rm -rf %s", dir);
	TEST_EQ_INT(system(cmd), 0);
	free(cmd);
	free(dir);
}

int
main(void)
{
	TEST_RUN(test_rfc6376_example);
	TEST_RUN(test_key_encrypted);
	TEST_RUN(test_body_cases);
	TEST_RUN(test_body_long);
	TEST_RUN(test_header_cases);
	TEST_RUN(test_fields);
	TEST_RUN(test_tags);
	TEST_RUN(test_rfc8463_vector);
	TEST_RUN(test_records);
	TEST_RUN(test_sign_verify);
	TEST_RUN(test_sign_many_to);
	return test_done();
}
