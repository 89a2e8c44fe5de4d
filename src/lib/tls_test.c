/* tls_test.c — self-signed generation (SAN, validity, key mode) and
   server contexts: good pairs, chain files, and the errors an
   administrator sees for missing, garbage and mismatched files. */
#include "lib/tls.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

static char *dir;

static char *
path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static X509 *
load_cert(const char *file)
{
	FILE *f = fopen(file, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static bool
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static void
test_self_signed(void)
{
	char *cert = path("a.crt"), *key = path("a.key"), *error = NULL;
	struct stat st;
	X509 *x;
	SSL_CTX *ctx;

	TEST_EQ_INT(tls_generate_self_signed("mail.example.org", cert, key,
	    &error), 0);
	TEST_ASSERT(error == NULL);
	TEST_EQ_INT(stat(key, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	TEST_EQ_INT(stat(cert, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0644);

	x = load_cert(cert);
	TEST_ASSERT(x != NULL);
	if (x != NULL) {
		time_t in9y = time(NULL) + 9 * 366 * 86400L;
		time_t in11y = time(NULL) + 11 * 366 * 86400L;

		TEST_EQ_INT(X509_check_host(x, "mail.example.org", 0, 0,
		    NULL), 1);
		TEST_EQ_INT(X509_check_host(x, "other.example.org", 0, 0,
		    NULL), 0);
		TEST_EQ_INT(X509_get_version(x), X509_VERSION_3);
		TEST_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &in9y) > 0);
		TEST_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &in11y) < 0);
		TEST_ASSERT(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
		X509_free(x);
	}

	ctx = tls_server_ctx_new(cert, key, &error);
	TEST_ASSERT(ctx != NULL);
	if (ctx != NULL) {
		char *summary = tls_ctx_summary(ctx);

		TEST_ASSERT(contains(summary, "subject=CN=mail.example.org "));
		TEST_ASSERT(contains(summary, " not_after=20"));
		TEST_EQ_INT(SSL_CTX_get_min_proto_version(ctx),
		    TLS1_2_VERSION);
		TEST_ASSERT(SSL_CTX_get_options(ctx) &
		    SSL_OP_CIPHER_SERVER_PREFERENCE);
		TEST_ASSERT(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
		TEST_ASSERT(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
		TEST_ASSERT(!(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET));
		free(summary);
		SSL_CTX_free(ctx);
	}
	free(error);
	free(cert);
	free(key);
}

/* An address literal gets an IP SAN, a long name no CN. */
static void
test_self_signed_names(void)
{
	char *cert = path("b.crt"), *key = path("b.key"), *error = NULL;
	X509 *x;

	TEST_EQ_INT(tls_generate_self_signed("127.0.0.1", cert, key, &error),
	    0);
	x = load_cert(cert);
	TEST_ASSERT(x != NULL);
	if (x != NULL) {
		TEST_EQ_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
		X509_free(x);
	}

	char longname[200];

	memset(longname, 'a', sizeof(longname));
	memcpy(longname + 180, ".example.org", 13);
	TEST_EQ_INT(tls_generate_self_signed(longname, cert, key, &error), 0);
	x = load_cert(cert);
	TEST_ASSERT(x != NULL);
	if (x != NULL) {
		TEST_EQ_INT(X509_check_host(x, longname, 0, 0, NULL), 1);
		TEST_EQ_INT(X509_NAME_entry_count(X509_get_subject_name(x)),
		    0);
		X509_free(x);
	}

	static const char *const bad[] = {
		"", "mail.example.org,DNS:evil.example", "a b", ".lead",
		"trail.", "a..b", "-x", "x\ny", "ex@mple",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		TEST_EQ_INT(tls_generate_self_signed(bad[i], cert, key,
		    &error), -1);
		TEST_ASSERT(contains(error, "invalid hostname"));
		free(error);
	}
	free(cert);
	free(key);
}

static void
test_ctx_errors(void)
{
	char *c1 = path("c1.crt"), *k1 = path("c1.key");
	char *c2 = path("c2.crt"), *k2 = path("c2.key");
	char *missing = path("missing.pem"), *junk = path("junk.pem");
	char *error = NULL;
	SSL_CTX *ctx;

	TEST_EQ_INT(tls_generate_self_signed("one.example", c1, k1, &error),
	    0);
	TEST_EQ_INT(tls_generate_self_signed("two.example", c2, k2, &error),
	    0);
	TEST_EQ_INT(fsutil_write_file(junk, "not a pem\n", 10, 0644), 0);

	ctx = tls_server_ctx_new(missing, k1, &error);
	TEST_ASSERT(ctx == NULL);
	TEST_ASSERT(contains(error, missing));
	TEST_ASSERT(contains(error, "No such file"));
	free(error);

	ctx = tls_server_ctx_new(junk, k1, &error);
	TEST_ASSERT(ctx == NULL);
	TEST_ASSERT(contains(error, junk));
	TEST_ASSERT(contains(error, "no PEM certificate"));
	free(error);

	ctx = tls_server_ctx_new(c1, junk, &error);
	TEST_ASSERT(ctx == NULL);
	TEST_ASSERT(contains(error, junk));
	free(error);

	ctx = tls_server_ctx_new(c1, missing, &error);
	TEST_ASSERT(ctx == NULL);
	TEST_ASSERT(contains(error, missing));
	free(error);

	ctx = tls_server_ctx_new(c1, k2, &error);
	TEST_ASSERT(ctx == NULL);
	TEST_ASSERT(contains(error, "does not match"));
	TEST_ASSERT(contains(error, k2));
	TEST_ASSERT(contains(error, c1));
	free(error);

	/* A chain file: leaf first, then another certificate. */
	char *chain = path("chain.pem"), *d1, *d2;
	size_t l1, l2;

	TEST_EQ_INT(fsutil_read_file(c1, 65536, &d1, &l1), 0);
	TEST_EQ_INT(fsutil_read_file(c2, 65536, &d2, &l2), 0);
	char *both = xasprintf("%s%s", d1, d2);

	TEST_EQ_INT(fsutil_write_file(chain, both, strlen(both), 0644), 0);
	ctx = tls_server_ctx_new(chain, k1, &error);
	TEST_ASSERT(ctx != NULL);
	if (ctx != NULL) {
		STACK_OF(X509) *extra = NULL;

		SSL_CTX_get0_chain_certs(ctx, &extra);
		TEST_EQ_INT(extra != NULL ? sk_X509_num(extra) : 0, 1);
		SSL_CTX_free(ctx);
	}
	free(both);
	free(d1);
	free(d2);
	free(chain);
	free(c1);
	free(k1);
	free(c2);
	free(k2);
	free(missing);
	free(junk);
}

static void
test_error_text(void)
{
	char out[128];

	ERR_clear_error();
	TEST_EQ_STR(tls_error_text(out, sizeof(out)), "unknown error");
	/* Provoke one: a bad cipher list. */
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	TEST_EQ_INT(SSL_CTX_set_cipher_list(ctx, "NO-SUCH-CIPHER"), 0);
	tls_error_text(out, sizeof(out));
	TEST_ASSERT(strcmp(out, "unknown error") != 0);
	TEST_EQ_INT(ERR_peek_error(), 0);
	SSL_CTX_free(ctx);
}

int
main(void)
{
	dir = test_tmpdir();
	TEST_RUN(test_self_signed);
	TEST_RUN(test_self_signed_names);
	TEST_RUN(test_ctx_errors);
	TEST_RUN(test_error_text);
	fsutil_remove_tree(dir);
	free(dir);
	return test_done();
}
