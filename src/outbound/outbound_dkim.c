/* outbound_dkim.c — DKIM signatures at send time (RFC 6376, RFC 8463).

   Mail that our users send is signed: an authenticated submission
   (env->auth_user) or a client of [submission] relay_networks, whose From
   domain (outbound_from.c) has active keys in the directory. Both keys of
   a domain (RSA and Ed25519) sign when both are active. The fields go to
   msg->prepend, sent before the queued bytes; the queue file stays as it
   is (immutable), so a retry signs afresh with the keys active then.

   Runs on the agent's worker thread: the key lookup is SQLite and an RSA
   signature about a millisecond of CPU, neither for the event loop. The
   message is mapped, not read: the body hash reads it once, and the
   pages are those the SMTP client reads next. */
#include "outbound/outbound_private.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "config/config.h"
#include "directory/directory_admin.h"
#include "directory/directory_dkim.h"
#include "dkim/dkim.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* The DKIM-Signature fields of two keys fit easily (RSA 4096: ~900
   octets each). */
#define OUTBOUND_DKIM_MAX_HEADER (16 * 1024)

bool
outbound_dkim_wanted(const struct config *config,
    const struct queue_envelope *env)
{
	if (env->auth_user != NULL)
		return true;
	return env->client_addr != NULL &&
	    config_networks_match(config->submission.relay_networks,
	    env->client_addr);
}

/* Signs msg[0..len) for domain into m->prepend. Returns 0 (signed, or no
   keys), or -1 when the keys could not be read (try later). */
static int
outbound_dkim_sign_with(struct outbound *ob, struct outbound_msg *m,
    const char *domain, const char *msg, size_t len)
{
	struct directory_dkim_key *keys = NULL;
	struct dkim_key dk[DIRECTORY_DKIM_MAX_ACTIVE * 2];
	struct directory_error err = { 0 };
	struct buf out;
	const char *error = NULL;
	size_t n = 0, nk = 0;

	if (directory_dkim_signing_keys(ob->dir, domain, &keys, &n,
	    &err) == -1) {
		bool invalid = err.code == DIRECTORY_ERROR_INVALID;

		log_warn("outbound: qid=%s event=dkim-keys-failed domain=%s "
		    "error=\"%s\"", m->env.id, domain,
		    err.message ? err.message : "?");
		directory_error_clear(&err);
		/* A From domain that is no domain name has no keys; a
		   database error passes. */
		return invalid ? 0 : -1;
	}
	for (size_t i = 0; i < n && nk < sizeof(dk) / sizeof(dk[0]); i++) {
		if (dkim_algorithm_parse(keys[i].algorithm,
		    &dk[nk].algorithm) == -1)
			continue;
		dk[nk].domain = keys[i].domain;
		dk[nk].selector = keys[i].selector;
		dk[nk].private_key_pem = keys[i].private_key;
		nk++;
	}
	buf_init(&out, OUTBOUND_DKIM_MAX_HEADER);
	if (nk > 0 && dkim_sign(dk, nk, msg, len, time(NULL), &out,
	    &error) == -1) {
		/* A broken key is the administrator's to fix; the mail
		   goes unsigned meanwhile, as without keys. */
		log_error("outbound: qid=%s event=dkim-failed domain=%s "
		    "error=\"%s\"", m->env.id, domain, error);
		buf_clear(&out);
	} else if (nk > 0) {
		m->prepend_len = out.len;
		m->prepend = buf_steal(&out);
		log_info("outbound: qid=%s event=dkim-signed domain=%s "
		    "signatures=%zu", m->env.id, domain, nk);
	}
	buf_clear(&out);
	directory_dkim_key_list_free(&keys, n);
	return 0;
}

int
outbound_dkim_sign(struct outbound *ob, struct outbound_msg *m)
{
	struct stat st;
	char *domain = NULL;
	void *map;
	int ret;

	if (!outbound_dkim_wanted(ob->config, &m->env))
		return 0;
	if (fstat(m->fd, &st) == -1) {
		log_error("outbound: qid=%s event=dkim-failed error=\"fstat: "
		    "%s\"", m->env.id, strerror(errno));
		return -1;
	}
	if (st.st_size <= 0)
		return 0;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, m->fd,
	    0);
	if (map == MAP_FAILED) {
		log_error("outbound: qid=%s event=dkim-failed error=\"mmap: "
		    "%s\"", m->env.id, strerror(errno));
		return -1;
	}
	ret = 0;
	if (outbound_from_domain(map, (size_t)st.st_size, &domain) == 0)
		ret = outbound_dkim_sign_with(ob, m, domain, map,
		    (size_t)st.st_size);
	munmap(map, (size_t)st.st_size);
	free(domain);
	return ret;
}
