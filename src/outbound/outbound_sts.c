/* outbound_sts.c — MTA-STS (RFC 8461) syntax: the _mta-sts TXT record
   (§3.1) and the policy file (§3.2), and matching MX hosts against the
   policy's patterns (§4.1). Pure: no I/O; the fetch and the cache are in
   outbound_sts_fetch.c and src/queue.

   Strict where the RFC is (version, mode, max_age, the id's characters),
   lenient where it allows (unknown fields ignored, LF or CRLF, spaces
   around values), and bounded: at most OUTBOUND_STS_MAX_POLICY bytes and
   OUTBOUND_STS_MAX_MX patterns. */
#include "outbound/outbound_private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* RFC 8461 §3.2: max_age is at most 31557600 (about a year). */
#define OUTBOUND_STS_MAX_AGE 31557600u

static bool
outbound_sts_word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static void
outbound_sts_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

int
outbound_sts_txt_id(const char *txt, size_t len, char id_r[33])
{
	const char *p = txt, *end = txt + len;
	bool first = true, have_id = false;

	/* §3.1: "v=STSv1" first, then fields "; " separated; id is 1-32
	   alphanumerics. Other fields are ignored. */
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *f = p, *eq;
		size_t flen = (size_t)((semi ? semi : end) - p);

		p = semi ? semi + 1 : end;
		outbound_sts_trim(&f, &flen);
		if (flen == 0) {
			if (first)
				return -1;
			continue;
		}
		eq = memchr(f, '=', flen);
		if (eq == NULL)
			return -1;
		if (first) {
			if (!outbound_sts_word_is(f, flen, "v=STSv1"))
				return -1;
			first = false;
			continue;
		}
		if ((size_t)(eq - f) == 2 && strncmp(f, "id", 2) == 0) {
			size_t n = flen - 3;

			if (n == 0 || n > 32)
				return -1;
			for (size_t i = 0; i < n; i++) {
				if (!isalnum((unsigned char)eq[1 + i]))
					return -1;
			}
			memcpy(id_r, eq + 1, n);
			id_r[n] = '\0';
			have_id = true;
		}
	}
	return have_id ? 0 : -1;
}

/* A pattern: a host name, or "*." and one; lower-cased, no final dot. */
static char *
outbound_sts_pattern(const char *v, size_t len)
{
	char *pat;

	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0 || len > 255)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '*' && i == 0 && len > 2 && v[1] == '.')
			continue;
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return NULL;
		if (c == '.' && (i == 0 || v[i - 1] == '.'))
			return NULL;
	}
	pat = xstrndup(v, len);
	for (char *q = pat; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return pat;
}

int
outbound_sts_policy_parse(const char *text, size_t len,
    struct outbound_sts_policy *policy, const char **error_r)
{
	const char *p = text, *end = text + len;
	bool have_version = false, have_mode = false, have_age = false;

	memset(policy, 0, sizeof(*policy));
	if (len > OUTBOUND_STS_MAX_POLICY) {
		*error_r = "policy too large";
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *colon, *v;
		size_t llen = (size_t)((nl ? nl : end) - p), klen, vlen;

		p = nl ? nl + 1 : end;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			continue;
		if (memchr(line, '\0', llen) != NULL) {
			*error_r = "NUL in policy";
			goto fail;
		}
		colon = memchr(line, ':', llen);
		if (colon == NULL) {
			*error_r = "line without a colon";
			goto fail;
		}
		klen = (size_t)(colon - line);
		v = colon + 1;
		vlen = llen - klen - 1;
		outbound_sts_trim(&v, &vlen);
		if (outbound_sts_word_is(line, klen, "version")) {
			if (!outbound_sts_word_is(v, vlen, "STSv1")) {
				*error_r = "version is not STSv1";
				goto fail;
			}
			have_version = true;
		} else if (outbound_sts_word_is(line, klen, "mode")) {
			if (outbound_sts_word_is(v, vlen, "enforce"))
				policy->mode = OUTBOUND_STS_ENFORCE;
			else if (outbound_sts_word_is(v, vlen, "testing"))
				policy->mode = OUTBOUND_STS_TESTING;
			else if (outbound_sts_word_is(v, vlen, "none"))
				policy->mode = OUTBOUND_STS_NONE;
			else {
				*error_r = "unknown mode";
				goto fail;
			}
			have_mode = true;
		} else if (outbound_sts_word_is(line, klen, "max_age")) {
			uint32_t age;

			if (vlen == 0 || vlen > 10 ||
			    str_to_u32_n(v, vlen, &age) == -1 ||
			    age > OUTBOUND_STS_MAX_AGE) {
				*error_r = "bad max_age";
				goto fail;
			}
			policy->max_age = age;
			have_age = true;
		} else if (outbound_sts_word_is(line, klen, "mx")) {
			char *pat = outbound_sts_pattern(v, vlen);

			if (pat == NULL) {
				*error_r = "bad mx pattern";
				goto fail;
			}
			if (policy->n_mx == OUTBOUND_STS_MAX_MX) {
				free(pat);
				*error_r = "too many mx patterns";
				goto fail;
			}
			if (policy->mx == NULL)
				policy->mx = xcalloc(OUTBOUND_STS_MAX_MX,
				    sizeof(*policy->mx));
			policy->mx[policy->n_mx++] = pat;
		}
		/* §3.2: other fields are ignored. */
	}
	if (!have_version || !have_mode || !have_age) {
		*error_r = "version, mode or max_age missing";
		goto fail;
	}
	if (policy->mode != OUTBOUND_STS_NONE && policy->n_mx == 0) {
		*error_r = "no mx pattern";
		goto fail;
	}
	return 0;
fail:
	outbound_sts_policy_clear(policy);
	return -1;
}

void
outbound_sts_policy_clear(struct outbound_sts_policy *policy)
{
	for (size_t i = 0; i < policy->n_mx; i++)
		free(policy->mx[i]);
	free(policy->mx);
	memset(policy, 0, sizeof(*policy));
}

bool
outbound_sts_policy_match(const struct outbound_sts_policy *policy,
    const char *host)
{
	size_t hlen = strlen(host);

	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	for (size_t i = 0; i < policy->n_mx; i++) {
		const char *pat = policy->mx[i];
		size_t plen = strlen(pat);

		if (pat[0] == '*') {
			/* §4.1: "*" is exactly one leftmost label. */
			const char *dot = memchr(host, '.', hlen);

			if (dot != NULL && dot > host &&
			    (size_t)(host + hlen - dot) == plen - 1 &&
			    strncasecmp(dot, pat + 1, plen - 1) == 0)
				return true;
		} else if (plen == hlen && strncasecmp(host, pat, hlen) == 0) {
			return true;
		}
	}
	return false;
}

const char *
outbound_sts_mode_name(enum outbound_sts_mode mode)
{
	switch (mode) {
	case OUTBOUND_STS_ENFORCE:
		return "enforce";
	case OUTBOUND_STS_TESTING:
		return "testing";
	case OUTBOUND_STS_NONE:
		break;
	}
	return "none";
}
