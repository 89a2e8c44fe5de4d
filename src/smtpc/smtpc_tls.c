/* smtpc_tls.c — the client side of TLS for outbound SMTP: the shared
   context, one SSL object per session set up for the policy (SNI, the
   names to check, DANE TLSA records), and judging the peer after the
   handshake. Verification never aborts the handshake itself
   (SSL_VERIFY_NONE): the result is read afterwards, so a failure is
   reported with its reason and opportunistic TLS still encrypts.
   RFC 7672 §3.1: DANE-EE(3) matches the key or certificate and ignores
   names and expiry (OpenSSL skips both with DANE_FLAG_NO_DANE_EE_
   NAMECHECKS), DANE-TA(2) needs a chain to the matched TA and a name
   (the TLSA base domain, i.e. the MX host); PKIX-TA(0) and PKIX-EE(1) are
   not used for SMTP (§3.1.3). */
#include "smtpc/smtpc_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/conn.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

SSL_CTX *
smtpc_tls_ctx_new(const char *ca_file, char **error_r)
{
	SSL_CTX *ctx;
	char reason[256];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
			goto fail;
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		goto fail;
	}
	if (SSL_CTX_dane_enable(ctx) <= 0)
		goto fail;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	tls_error_text(reason, sizeof(reason));
	*error_r = xasprintf("client TLS context%s%s: %s",
	    ca_file != NULL ? " with CA file " : "",
	    ca_file != NULL ? ca_file : "", reason);
	SSL_CTX_free(ctx);
	return NULL;
}

static bool
smtpc_tls_is_ip(const char *name)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, tmp) == 1 ||
	    inet_pton(AF_INET6, name, tmp) == 1;
}

SSL *
smtpc_tls_ssl_new(struct smtpc *c)
{
	SSL *ssl;

	if (c->tls_ctx == NULL)
		panic("smtpc_tls_ssl_new: TLS needed but no client context");
	ERR_clear_error();
	ssl = SSL_new(c->tls_ctx);
	if (ssl == NULL)
		panic("smtpc_tls_ssl_new: SSL_new failed");
	if (!smtpc_tls_is_ip(c->tls_name) &&
	    SSL_set_tlsext_host_name(ssl, c->tls_name) != 1)
		log_debug("smtpc: conn=%s event=sni_refused name=%s", c->id,
		    c->tls_name);
	if (c->set.tls == SMTPC_TLS_DANE) {
		size_t usable = 0;

		if (SSL_dane_enable(ssl, c->tls_name) <= 0)
			panic("smtpc_tls_ssl_new: SSL_dane_enable failed");
		/* RFC 7672 §3.2.3: DANE-TA name checks allow a wildcard only
		   as the whole leftmost label. */
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (strcmp(c->remote_name, c->tls_name) != 0)
			(void)SSL_add1_host(ssl, c->remote_name);
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (size_t i = 0; i < c->set.tlsa_count; i++) {
			const struct smtpc_tlsa *t = &c->set.tlsa[i];

			if (t->usage != 2 && t->usage != 3)
				continue;
			if (SSL_dane_tlsa_add(ssl, t->usage, t->selector,
			    t->mtype, t->data, t->len) > 0)
				usable++;
		}
		ERR_clear_error();
		c->tlsa_usable = usable;
	} else if (c->set.tls == SMTPC_TLS_VERIFY) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (smtpc_tls_is_ip(c->tls_name)) {
			X509_VERIFY_PARAM *p = SSL_get0_param(ssl);

			(void)X509_VERIFY_PARAM_set1_ip_asc(p, c->tls_name);
		} else {
			(void)SSL_set1_host(ssl, c->tls_name);
		}
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	return ssl;
}

int
smtpc_tls_check(struct smtpc *c, char *err, size_t errlen)
{
	SSL *ssl = conn_tls_ssl(c->conn);
	long v = SSL_get_verify_result(ssl);

	switch (c->set.tls) {
	case SMTPC_TLS_DANE: {
		uint8_t usage = 0;

		if (c->tlsa_usable == 0) {
			snprintf(err, errlen, "no usable TLSA record");
			break;
		}
		if (v == X509_V_OK && SSL_get0_dane_authority(ssl, NULL,
		    NULL) >= 0 && SSL_get0_dane_tlsa(ssl, &usage, NULL, NULL,
		    NULL, NULL) >= 0) {
			c->tls_auth = usage == 3 ? "dane-ee" : "dane-ta";
			return 0;
		}
		snprintf(err, errlen, "DANE: %s", v != X509_V_OK ?
		    X509_verify_cert_error_string(v) :
		    "no TLSA record matches");
		break;
	}
	case SMTPC_TLS_VERIFY:
		if (v == X509_V_OK) {
			c->tls_auth = "verified";
			return 0;
		}
		snprintf(err, errlen, "%s", X509_verify_cert_error_string(v));
		break;
	case SMTPC_TLS_NONE:
	case SMTPC_TLS_OPPORTUNISTIC:
		c->tls_auth = "unverified";
		return 0;
	}
	c->tls_auth = "failed";
	log_info("smtpc: conn=%s event=tls_verify_failed host=%s error=\"%s\"",
	    c->id, c->remote_name, err);
	return -1;
}
