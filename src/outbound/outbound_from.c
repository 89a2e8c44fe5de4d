/* outbound_from.c — the domain of a message's author (the RFC 5322 From
   field), which DKIM signs for (d= must be it for DMARC alignment,
   RFC 7489 §3.1.1).

   Only the plain case is answered: exactly one From field holding exactly
   one mailbox ("a@b", "Name <a@b>", comments anywhere). Several From
   fields, several mailboxes, a group, a domain literal or anything that
   does not parse give no domain: such mail is sent unsigned rather than
   signed for a domain a reader may not see as the author (RFC 7489 §6.6.1
   lets receivers reject several authors anyway). Pure. */
#include "outbound/outbound_private.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/address.h"
#include "mail/mime.h"

/* A From field longer than this is not a plain mailbox (RFC 5322 §2.1.1
   asks lines of 998 octets; folding may continue a little). */
#define OUTBOUND_FROM_MAX 4096

/* Skips a comment starting at s[*i] == '(' (nested, quoted-pairs).
   Returns 0, or -1 when it never closes. */
static int
outbound_from_comment(const char *s, size_t len, size_t *i)
{
	unsigned depth = 0;

	for (; *i < len; (*i)++) {
		if (s[*i] == '\\') {
			(*i)++;
		} else if (s[*i] == '(') {
			depth++;
		} else if (s[*i] == ')' && --depth == 0) {
			(*i)++;
			return 0;
		}
	}
	return -1;
}

/* The addr-spec of value[0..len) without comments and folding
   whitespace (quoted strings kept with their quotes), into spec. Returns
   0, or -1 for a list, a group or broken syntax. */
static int
outbound_from_spec(const char *v, size_t len, struct buf *spec)
{
	size_t i = 0;
	bool in_angle = false, had_angle = false;

	while (i < len) {
		char c = v[i];

		if (c == '(') {
			if (outbound_from_comment(v, len, &i) == -1)
				return -1;
			continue;
		}
		if (c == '"') {
			size_t start = i++;

			while (i < len && v[i] != '"')
				i += v[i] == '\\' ? 2 : 1;
			if (i >= len)
				return -1;
			i++;
			if (!had_angle || in_angle)
				buf_append(spec, v + start, i - start);
			continue;
		}
		if (c == ',' || c == ';' || c == ':')
			return -1;	/* mailbox-list or group */
		if (c == '<') {
			if (had_angle)
				return -1;
			/* What came before was the display name. */
			buf_reset(spec);
			in_angle = had_angle = true;
		} else if (c == '>') {
			if (!in_angle)
				return -1;
			in_angle = false;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
		    (!had_angle || in_angle)) {
			buf_append(spec, &c, 1);
		}
		i++;
	}
	if (in_angle || spec->len == 0)
		return -1;
	return 0;
}

int
outbound_from_domain(const char *msg, size_t len, char **domain_r)
{
	struct mime_message *mm;
	struct address addr = { 0 };
	struct buf value, spec, probe;
	const char *end, *at, *error;
	size_t hlen = len;
	int ret = -1;

	*domain_r = NULL;
	/* The header only: the body may be large and says nothing here. */
	if ((end = memmem(msg, len, "\r\n\r\n", 4)) != NULL)
		hlen = (size_t)(end - msg) + 4;
	else if ((end = memmem(msg, len, "\n\n", 2)) != NULL)
		hlen = (size_t)(end - msg) + 2;
	mm = mime_parse(msg, hlen, NULL);
	buf_init(&value, OUTBOUND_FROM_MAX);
	buf_init(&spec, OUTBOUND_FROM_MAX);
	buf_init(&probe, OUTBOUND_FROM_MAX);
	if (mime_header_get(mm, 0, "From", 0, &value) == -1 ||
	    mime_header_get(mm, 0, "From", 1, &probe) == 0)
		goto out;
	if (outbound_from_spec(value.data, value.len, &spec) == -1)
		goto out;
	/* The domain follows the last '@' (a quoted local part may hold
	   one; a domain never does). Parsed as an RFC 5321 mailbox to
	   check it and lower-case it; UTF-8 is fine (RFC 6532). */
	at = memrchr(spec.data, '@', spec.len);
	if (at == NULL)
		goto out;
	buf_reset(&probe);
	buf_append_str(&probe, "x@");
	buf_append(&probe, at + 1, spec.len - (size_t)(at + 1 - spec.data));
	if (address_parse(probe.data, probe.len, true, &addr, &error) == -1 ||
	    addr.domain_is_literal)
		goto out;
	*domain_r = xstrdup(addr.domain);
	ret = 0;
out:
	address_clear(&addr);
	buf_clear(&value);
	buf_clear(&spec);
	buf_clear(&probe);
	mime_message_free(&mm);
	return ret;
}
