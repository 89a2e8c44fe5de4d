/* config_listen.c — [listen.NAME] sections: each is drafted while the file
   is read (addresses, port, protocol, tls) and becomes one listener per
   address once the whole file is known. */
#include "config/config_private.h"

#include <arpa/inet.h>
#include <string.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

void
config_draft_clear(struct config_draft *d)
{
	for (size_t i = 0; i < d->n_addrs; i++)
		free(d->addrs[i].text);
	free(d->addrs);
	free(d->name);
}

bool
config_addr_equal(const struct config_addr *a, const struct config_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

/* One numeric address, or -1. */
static int
config_parse_addr(const char *s, size_t len, struct config_addr *addr_r)
{
	char *copy = xstrndup(s, len);
	char text[INET6_ADDRSTRLEN];
	int ret = -1;

	memset(addr_r, 0, sizeof(*addr_r));
	if (inet_pton(AF_INET, copy, addr_r->bytes) == 1)
		addr_r->family = AF_INET;
	else if (inet_pton(AF_INET6, copy, addr_r->bytes) == 1)
		addr_r->family = AF_INET6;
	else
		goto out;
	if (inet_ntop(addr_r->family, addr_r->bytes, text, sizeof(text)) == NULL)
		goto out;
	addr_r->text = xstrdup(text);
	ret = 0;
out:
	free(copy);
	return ret;
}

/* "127.0.0.1, ::1": several addresses, one listener each. */
static void
config_set_addresses(struct config_ctx *ctx, struct config_draft *d,
    const char *value)
{
	const char *p = value, *comma, *end;
	struct config_addr addr;

	for (;;) {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (p == end) {
			config_key_error(ctx, "address",
			    "empty entry in the address list");
			return;
		}
		if (d->n_addrs == CONFIG_MAX_ADDRESSES) {
			config_key_error(ctx, "address",
			    "too many addresses (at most %d)",
			    CONFIG_MAX_ADDRESSES);
			return;
		}
		if (config_parse_addr(p, (size_t)(end - p), &addr) == -1) {
			config_key_error(ctx, "address",
			    "address is not a numeric IPv4/IPv6 address: %.*s",
			    (int)(end - p), p);
			return;
		}
		for (size_t i = 0; i < d->n_addrs; i++) {
			if (config_addr_equal(&d->addrs[i], &addr)) {
				config_key_error(ctx, "address",
				    "%s is listed twice", addr.text);
				free(addr.text);
				return;
			}
		}
		d->addrs = xreallocarray(d->addrs, d->n_addrs + 1,
		    sizeof(*d->addrs));
		d->addrs[d->n_addrs++] = addr;
		if (comma == NULL)
			return;
		p = comma + 1;
	}
}

void
config_set_listen(struct config_ctx *ctx, const char *name, const char *value)
{
	struct config_draft *d = ctx->draft;
	int k, i;
	uint32_t port;

	k = config_name_index(config_listen_key_names, CONFIG_LISTEN_NKEYS,
	    name);
	if (k == -1) {
		config_key_error(ctx, name, "unknown key");
		return;
	}
	if (config_mark_seen(ctx, &d->seen[k], name) == -1)
		return;
	switch ((enum config_listen_key)k) {
	case CONFIG_LISTEN_ADDRESS:
		config_set_addresses(ctx, d, value);
		return;
	case CONFIG_LISTEN_PORT:
		if (str_to_u32(value, &port) == -1 || port == 0 ||
		    port > 65535) {
			config_key_error(ctx, name, "port must be 1-65535");
			return;
		}
		d->port = (uint16_t)port;
		return;
	case CONFIG_LISTEN_PROTOCOL:
		i = config_name_index(config_protocol_names,
		    config_protocol_nnames, value);
		if (i == -1) {
			config_key_error(ctx, name, "protocol must be one of "
			    "smtp, submission, imap, pop3, sieve, http");
			return;
		}
		d->protocol = (enum config_protocol)i;
		return;
	case CONFIG_LISTEN_TLS:
		i = config_name_index(config_tls_names,
		    CONFIG_NKEYS(config_tls_names), value);
		if (i == -1) {
			config_key_error(ctx, name,
			    "tls must be none, starttls or implicit");
			return;
		}
		d->tls = (enum config_tls_mode)i;
		return;
	case CONFIG_LISTEN_NKEYS:
		break;
	}
	panic("config_set_listen: key %d", k);
}
