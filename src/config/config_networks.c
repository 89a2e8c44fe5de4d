/* config_networks.c — value checks that need more than a table: lists of
   networks (relay_networks), mail addresses (always_bcc) and resolver
   addresses, and matching a client IP against a network list. */
#include "config/config_private.h"

#include <arpa/inet.h>
#include <string.h>

#include "lib/strnum.h"

/* One "IP" or "IP/prefix" of s[0..len) into bytes (16 for v6, 4 for
   v4) and its prefix length. 0 or -1. */
static int
config_networks_parse_one(const char *s, size_t len, unsigned char *bytes,
    int *family_r, unsigned *prefix_r)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *slash;
	uint32_t prefix;
	size_t iplen;

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	slash = strchr(text, '/');
	iplen = slash != NULL ? (size_t)(slash - text) : len;
	text[iplen] = '\0';
	if (inet_pton(AF_INET, text, bytes) == 1) {
		*family_r = AF_INET;
		*prefix_r = 32;
	} else if (inet_pton(AF_INET6, text, bytes) == 1) {
		*family_r = AF_INET6;
		*prefix_r = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		if (str_to_u32(slash + 1, &prefix) == -1 || prefix > *prefix_r)
			return -1;
		*prefix_r = prefix;
	}
	return 0;
}

/* Calls fn for each item of list; stops at the first that returns
   non-zero and returns it. Items are trimmed of spaces and tabs. */
typedef int config_networks_fn(const char *s, size_t len, void *ctx);

static int
config_networks_each(const char *list, config_networks_fn *fn, void *ctx)
{
	const char *p = list;
	int ret;

	for (;;) {
		const char *end = strchr(p, ',');
		const char *stop = end != NULL ? end : p + strlen(p);

		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if ((ret = fn(p, (size_t)(stop - p), ctx)) != 0)
			return ret;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

static int
config_networks_check_one(const char *s, size_t len, void *ctx)
{
	size_t *count = ctx;
	unsigned char bytes[16];
	unsigned prefix;
	int family;

	if (++*count > CONFIG_MAX_NETWORKS)
		return 2;
	return config_networks_parse_one(s, len, bytes, &family,
	    &prefix) == -1 ? 1 : 0;
}

int
config_networks_check(const char *list, const char **why_r)
{
	size_t count = 0;

	switch (config_networks_each(list, config_networks_check_one,
	    &count)) {
	case 0:
		return 0;
	case 2:
		*why_r = "too many networks";
		return -1;
	default:
		*why_r = "expected IP addresses or CIDRs separated by commas "
		    "(e.g. 192.0.2.10, 2001:db8::/64)";
		return -1;
	}
}

struct config_networks_probe {
	int family;
	unsigned char bytes[16];
};

static int
config_networks_match_one(const char *s, size_t len, void *ctx)
{
	const struct config_networks_probe *ip = ctx;
	unsigned char net[16];
	unsigned prefix, full;
	int family;

	if (config_networks_parse_one(s, len, net, &family, &prefix) == -1 ||
	    family != ip->family)
		return 0;
	full = prefix / 8;
	if (memcmp(net, ip->bytes, full) != 0)
		return 0;
	if (prefix % 8 != 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - prefix % 8));

		if ((net[full] & mask) != (ip->bytes[full] & mask))
			return 0;
	}
	return 1;
}

bool
config_networks_match(const char *list, const char *ip)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	struct config_networks_probe probe;

	if (list == NULL || list[0] == '\0' || ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, probe.bytes) == 1) {
		probe.family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, probe.bytes) == 1) {
		probe.family = AF_INET6;
		/* A v4 client on a dual-stack socket. */
		if (memcmp(probe.bytes, mapped, sizeof(mapped)) == 0) {
			memmove(probe.bytes, probe.bytes + 12, 4);
			probe.family = AF_INET;
		}
	} else {
		return false;
	}
	return config_networks_each(list, config_networks_match_one,
	    &probe) == 1;
}

bool
config_is_address(const char *s)
{
	size_t len = strlen(s);
	const char *at = strrchr(s, '@');

	if (len == 0 || len > 254 || at == NULL || at == s || at[1] == '\0')
		return false;
	if (strchr(s, '@') != at)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' ||
		    c == '(' || c == ')' || c == ',' || c == ';' ||
		    c == '"' || c == '\\')
			return false;
	}
	return true;
}

bool
config_is_resolver(const char *s)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char bytes[16];
	const char *at = strchr(s, '@');
	size_t len = at != NULL ? (size_t)(at - s) : strlen(s);
	uint32_t port;

	if (len == 0 || len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, bytes) != 1 &&
	    inet_pton(AF_INET6, ip, bytes) != 1)
		return false;
	if (at != NULL && (str_to_u32(at + 1, &port) == -1 || port == 0 ||
	    port > 65535))
		return false;
	return true;
}
