/* tls.c — server TLS contexts and self-signed certificates (see tls.h).

   Policy: TLS 1.2 is the floor (RFC 8996 retires 1.0 and 1.1; RFC 8314 §4.1
   asks for current versions on submission), TLS 1.2 suites are Mozilla's
   "intermediate" AEAD list in server order, TLS 1.3 suites are OpenSSL's
   defaults. Renegotiation and compression (CRIME) are off. A context is
   immutable once made: a reload builds a new one and swaps the pointer,
   connections keep the reference SSL_new took. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Mozilla server-side TLS "intermediate" (v5.7), TLS 1.2 part: forward
   secret AEAD suites only. DHE needs parameters: SSL_CTX_set_dh_auto. */
#define TLS_CIPHERS_TLS12						\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"	\
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"		\
	"DHE-RSA-CHACHA20-POLY1305"

/* Ten years, as the quickstart certificate is a placeholder an
   administrator replaces rather than something that should expire
   under a running test server. */
#define TLS_SELF_SIGNED_DAYS 3650

/* RFC 5280 Appendix A: ub-common-name 64. */
#define TLS_CN_MAX 64

char *
tls_error_text(char *out, size_t max_out)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);

	if (max_out == 0)
		return out;
	if (e == 0) {
		snprintf(out, max_out, "unknown error");
	} else {
		const char *reason = ERR_reason_error_string(e);
		bool show_data = (flags & ERR_TXT_STRING) && data != NULL &&
		    *data != '\0' && ERR_GET_LIB(e) != ERR_LIB_SYS;

		if (ERR_SYSTEM_ERROR(e)) {
			snprintf(out, max_out, "%s",
			    strerror((int)ERR_GET_REASON(e)));
		} else if (reason == NULL) {
			ERR_error_string_n(e, out, max_out);
		} else if (show_data) {
			snprintf(out, max_out, "%s (%s)", reason, data);
		} else {
			snprintf(out, max_out, "%s", reason);
		}
	}
	ERR_clear_error();
	return out;
}

/* "<file>: <reason>" for the error now on the queue; a few reasons are
   reworded because OpenSSL's words do not say what an administrator did
   wrong. */
static char *
tls_file_error(const char *what, const char *file)
{
	unsigned long e = ERR_peek_error();
	char reason[256];

	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return xasprintf("%s: no PEM %s found", file, what);
	}
	tls_error_text(reason, sizeof(reason));
	return xasprintf("%s: cannot load %s: %s", file, what, reason);
}

/* A clearer word than OpenSSL's for the usual mistakes: a missing file, a
   directory. Unreadable files are left to OpenSSL (the errno it keeps). */
static char *
tls_check_file(const char *what, const char *file)
{
	struct stat st;

	if (stat(file, &st) == -1)
		return xasprintf("%s: %s: %s", file, what, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return xasprintf("%s: %s: not a regular file", file, what);
	return NULL;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file,
    char **error_r)
{
	static const unsigned char sid_ctx[] = "petrel";
	SSL_CTX *ctx;
	char reason[256];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = xasprintf("TLS context: %s",
		    tls_error_text(reason, sizeof(reason)));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_TLS12) != 1 ||
	    SSL_CTX_set_dh_auto(ctx, 1) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		*error_r = xasprintf("TLS settings: %s",
		    tls_error_text(reason, sizeof(reason)));
		goto fail;
	}
	/* IGNORE_UNEXPECTED_EOF: many MTAs close without close_notify; that
	   is an EOF (SSL_ERROR_ZERO_RETURN), not a protocol error.
	   PRIORITIZE_CHACHA: server order, except that a client which puts
	   ChaCha20 first (no AES hardware) gets it. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);

	if ((*error_r = tls_check_file("certificate", cert_file)) != NULL ||
	    (*error_r = tls_check_file("private key", key_file)) != NULL)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*error_r = tls_file_error("certificate", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			*error_r = xasprintf("%s: private key does not match "
			    "certificate %s", key_file, cert_file);
		} else {
			*error_r = tls_file_error("private key", key_file);
		}
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		*error_r = xasprintf("%s: private key does not match "
		    "certificate %s", key_file, cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Letters, digits, hyphens and dots, as a DNS name in a certificate must
   be (RFC 5280 §4.2.1.6 preferred name syntax); this also keeps the name
   from smuggling ",DNS:other" into the extension text below. */
static bool
tls_hostname_is_valid(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > 253 || host[0] == '.' || host[0] == '-' ||
	    host[len - 1] == '.' || strstr(host, "..") != NULL)
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int
tls_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ret;

	if (ext == NULL)
		return -1;
	ret = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return ret;
}

/* Serialises what was written to b into a file; 0 or -1 with errno. */
static int
tls_write_bio(BIO *b, const char *path, mode_t mode)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0) {
		errno = EIO;
		return -1;
	}
	if (fsutil_write_file(path, data, (size_t)len, mode) == -1)
		return -1;
	/* A file that already existed keeps its mode through O_CREAT. */
	return chmod(path, mode);
}

int
tls_generate_self_signed(const char *hostname, const char *cert_file,
    const char *key_file, char **error_r)
{
	unsigned char addr[sizeof(struct in6_addr)];
	bool is_ip = inet_pton(AF_INET, hostname, addr) == 1 ||
	    inet_pton(AF_INET6, hostname, addr) == 1;
	bool has_cn = !is_ip && strlen(hostname) <= TLS_CN_MAX;
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	BIGNUM *serial = NULL;
	BIO *keybio = NULL, *certbio = NULL;
	X509V3_CTX v3;
	char reason[256], *san = NULL;
	int ret = -1;

	if (!is_ip && !tls_hostname_is_valid(hostname)) {
		*error_r = xasprintf("invalid hostname for a certificate: %s",
		    hostname);
		return -1;
	}
	ERR_clear_error();
	pkey = EVP_EC_gen("P-256");
	x = X509_new();
	serial = BN_new();
	if (pkey == NULL || x == NULL || serial == NULL)
		goto ssl_fail;
	/* RFC 5280 §4.1.2.2: positive, at most 20 octets, unpredictable. */
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto ssl_fail;
	/* An hour back for clients whose clocks run a little late. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_SELF_SIGNED_DAYS, 0,
	    NULL) == NULL ||
	    X509_set_pubkey(x, pkey) != 1)
		goto ssl_fail;
	if (has_cn && X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1,
	    0) != 1)
		goto ssl_fail;
	if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1)
		goto ssl_fail;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	/* RFC 5280 §4.2.1.6: with an empty subject the SAN is critical. */
	san = xasprintf("%s%s:%s", has_cn ? "" : "critical,",
	    is_ip ? "IP" : "DNS", hostname);
	if (tls_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    tls_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") ||
	    tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") ||
	    tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    tls_add_ext(x, &v3, NID_subject_alt_name, san))
		goto ssl_fail;
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto ssl_fail;

	/* Secure memory BIO: the key's PEM text is wiped when freed. */
	keybio = BIO_new(BIO_s_secmem());
	certbio = BIO_new(BIO_s_mem());
	if (keybio == NULL || certbio == NULL ||
	    PEM_write_bio_PrivateKey(keybio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 ||
	    PEM_write_bio_X509(certbio, x) != 1)
		goto ssl_fail;

	if (tls_write_bio(keybio, key_file, 0600) == -1) {
		*error_r = xasprintf("%s: %s", key_file, strerror(errno));
		goto out;
	}
	if (tls_write_bio(certbio, cert_file, 0644) == -1) {
		*error_r = xasprintf("%s: %s", cert_file, strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
ssl_fail:
	*error_r = xasprintf("self-signed certificate for %s: %s", hostname,
	    tls_error_text(reason, sizeof(reason)));
out:
	free(san);
	BIO_free(keybio);
	BIO_free(certbio);
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}

char *
tls_ctx_summary(SSL_CTX *ctx)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	char subject[LOG_STR_MAX], not_after[32] = "unknown";
	BIO *b;
	char *text;
	long len;
	struct tm tm;

	if (cert == NULL)
		return xstrdup("subject=none");
	b = BIO_new(BIO_s_mem());
	if (b == NULL)
		panic("tls_ctx_summary: out of memory");
	X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(b, &text);
	/* The subject is text from a file; escape spaces and controls so
	   that the key=value line stays parseable. */
	log_str(subject, sizeof(subject), text, len > 0 ? (size_t)len : 0);
	BIO_free(b);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(not_after, sizeof(not_after), "%Y-%m-%dT%H:%M:%SZ",
		    &tm);
	return xasprintf("subject=%s not_after=%s", subject, not_after);
}
