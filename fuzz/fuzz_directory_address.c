/* fuzz_directory_address.c — the directory's address check and
   directory_resolve on arbitrary bytes: RCPT hands them what the client
   wrote. A directory with one of each kind of entry (accounts, a disabled
   one, alias domain, aliases internal, forwarding, wildcard, a loop, a
   chain deeper than the expansion limit, a catch-all, a disabled domain)
   is made once in a temporary data dir.

   Checked: a parsed address is normalised (local part 1..64 octets, its
   lower-cased copy matches, domain lower-case and at most 255 octets) and
   parses again to itself from "local@domain"; the wildcard flag only with
   allow_wildcard; resolve() is INVALID exactly when the parse fails, LOCAL
   exactly when it has deliveries or forwards and no reply, and otherwise
   carries one well-formed reply line with an enhanced status code; an
   internal-only answer turns into something else for an internal sender.
   This target includes directory_private.h: it tests that file's parser
   as directory_test.c does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_private.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define CHECK(x) do { if (!(x)) { \
	fprintf(stderr, "fuzz_directory_address: %s:%d: %s\n", __FILE__, \
	    __LINE__, #x); abort(); } } while (0)

/* Alias chain one longer than DIRECTORY_RESOLVE_DEPTH_MAX (10). */
#define CHAIN 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_dir;
static struct directory *fuzz_directory;

static void
fuzz_exit(void)
{
	directory_close(&fuzz_directory);
	if (fuzz_dir != NULL)
		(void)fsutil_remove_tree(fuzz_dir);
	xfree(&fuzz_dir);
}

static void
fuzz_add(int ret, const struct directory_error *err)
{
	if (ret == -1)
		panic("fuzz: directory: %s", err->message);
}

static void
fuzz_init(void)
{
	static const char *const user[] = { "user@example.org" };
	static const char *const two[] = { "user@example.org",
		"other@example.org", "far@remote.example" };
	static const char *const fwd[] = { "Someone@remote.example" };
	static const char *const loop_a[] = { "loop-b@example.org" };
	static const char *const loop_b[] = { "loop-a@example.org" };
	const char *tmp = getenv("TMPDIR");
	struct directory_error err = { 0 };
	struct directory *d;
	char *error = NULL;

	log_set_level(LOG_LEVEL_ERROR);
	if (tmp == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	fuzz_dir = xasprintf("%s/petrel-fuzz-XXXXXX", tmp);
	if (mkdtemp(fuzz_dir) == NULL)
		panic("fuzz: mkdtemp %s", fuzz_dir);
	if (directory_open(fuzz_dir, true, &fuzz_directory, &error) == -1)
		panic("fuzz: directory_open: %s", error);
	d = fuzz_directory;
	fuzz_add(directory_admin_domain_add(d, "example.org", &err), &err);
	fuzz_add(directory_admin_domain_add(d, "xn--mnchen-3ya.example",
	    &err), &err);
	fuzz_add(directory_admin_domain_add(d, "catch.example", &err), &err);
	fuzz_add(directory_admin_domain_add(d, "off.example", &err), &err);
	fuzz_add(directory_admin_domain_set_enabled(d, "off.example", false,
	    &err), &err);
	fuzz_add(directory_admin_alias_domain_add(d, "example.net",
	    "example.org", &err), &err);
	fuzz_add(directory_admin_account_add(d, "user@example.org", NULL,
	    NULL, 0, NULL, &err), &err);
	fuzz_add(directory_admin_account_add(d, "other@example.org", NULL,
	    NULL, 0, NULL, &err), &err);
	fuzz_add(directory_admin_account_add(d, "off@example.org", NULL,
	    NULL, 0, NULL, &err), &err);
	fuzz_add(directory_admin_account_set_enabled(d, "off@example.org",
	    false, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "staff@example.org", two, 3,
	    DIRECTORY_ALIAS_INTERNAL, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "team@example.org", two, 3,
	    DIRECTORY_ALIAS_KEEP, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "fwd@example.org", fwd, 1,
	    DIRECTORY_ALIAS_KEEP, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "abuse@*", user, 1,
	    DIRECTORY_ALIAS_KEEP, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "loop-b@example.org", user, 1,
	    DIRECTORY_ALIAS_KEEP, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "loop-a@example.org", loop_a,
	    1, DIRECTORY_ALIAS_KEEP, &err), &err);
	fuzz_add(directory_admin_alias_add(d, "loop-b@example.org", loop_b,
	    1, DIRECTORY_ALIAS_KEEP, &err), &err);
	/* chain0 -> chain1 -> ... -> chain10 -> user. */
	for (int i = CHAIN - 1; i >= 0; i--) {
		char src[64], dst[64];
		const char *dests[] = { dst };

		snprintf(src, sizeof(src), "chain%d@example.org", i);
		if (i == CHAIN - 1)
			snprintf(dst, sizeof(dst), "user@example.org");
		else
			snprintf(dst, sizeof(dst), "chain%d@example.org",
			    i + 1);
		fuzz_add(directory_admin_alias_add(d, src, dests, 1,
		    DIRECTORY_ALIAS_KEEP, &err), &err);
	}
	fuzz_add(directory_admin_domain_set_catch_all(d, "catch.example",
	    "team@example.org", &err), &err);
	atexit(fuzz_exit);
}

/* "ddd c.x.y text": one line, no controls, class digit matching. */
static void
check_reply(const char *reply)
{
	size_t len;

	CHECK(reply != NULL);
	len = strlen(reply);
	CHECK(len >= 10 && len + 2 <= 512);
	CHECK(reply[0] == '4' || reply[0] == '5');
	CHECK(reply[1] >= '0' && reply[1] <= '9' && reply[2] >= '0' &&
	    reply[2] <= '9' && reply[3] == ' ');
	CHECK(reply[4] == reply[0] && reply[5] == '.');
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)reply[i] >= 0x20 && reply[i] != 0x7f);
}

static void
check_parsed(const struct directory_address *a, bool allow_wildcard)
{
	struct directory_address again;
	size_t llen = strlen(a->local), dlen = strlen(a->domain);
	const char *error;
	char *s;

	CHECK(llen >= 1 && llen <= DIRECTORY_LOCAL_MAX);
	CHECK(dlen >= 1 && dlen <= DIRECTORY_DOMAIN_MAX);
	CHECK(strlen(a->local_lower) == llen);
	for (size_t i = 0; i < llen; i++) {
		char c = a->local[i], l = a->local_lower[i];

		CHECK(l == (c >= 'A' && c <= 'Z' ? c + 32 : c));
		/* Nothing that would need quoting. */
		CHECK(c != '@' && c != '"' && c != '\\' && c != ' ' &&
		    (unsigned char)c > 0x20 && c != 0x7f);
	}
	for (size_t i = 0; i < dlen; i++)
		CHECK(a->domain[i] < 'A' || a->domain[i] > 'Z');
	CHECK(a->wildcard == (strcmp(a->domain, "*") == 0));
	CHECK(!a->wildcard || allow_wildcard);

	/* The normal form is a fixed point. */
	s = xasprintf("%s@%s", a->local, a->domain);
	CHECK(directory_address_parse(s, allow_wildcard, &again, &error) ==
	    0);
	CHECK(strcmp(again.local, a->local) == 0 &&
	    strcmp(again.domain, a->domain) == 0 &&
	    again.wildcard == a->wildcard);
	free(s);
}

static void
check_resolve(const char *s, bool parsed)
{
	struct directory_resolution res, res_in;

	directory_resolve(fuzz_directory, s, false, &res);
	CHECK((unsigned)res.result <= DIRECTORY_INVALID);
	CHECK((res.result == DIRECTORY_INVALID) == !parsed);
	if (res.result == DIRECTORY_LOCAL) {
		CHECK(res.reply == NULL);
		CHECK(res.n_deliveries + res.n_forwards > 0);
		for (size_t i = 0; i < res.n_deliveries; i++)
			CHECK(res.deliveries[i].account != NULL &&
			    res.deliveries[i].account_id > 0);
		for (size_t i = 0; i < res.n_forwards; i++)
			CHECK(strchr(res.forwards[i], '@') != NULL);
	} else {
		CHECK(res.n_deliveries == 0 && res.n_forwards == 0);
		check_reply(res.reply);
	}
	directory_resolve(fuzz_directory, s, true, &res_in);
	if (res.result == DIRECTORY_INTERNAL_ONLY)
		CHECK(res_in.result != DIRECTORY_INTERNAL_ONLY);
	else
		CHECK(res_in.result == res.result);
	directory_resolution_clear(&res_in);
	directory_resolution_clear(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct directory_address a, w;
	char out[DIRECTORY_DOMAIN_MAX + 1];
	const char *error;
	char *s;
	int ra, rw;

	if (fuzz_directory == NULL)
		fuzz_init();
	/* RCPT paths are at most 256 octets; a little more finds the
	   length checks' edges, much more only slows the fuzzer. */
	if (size > 1024)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	ra = directory_address_parse(s, false, &a, &error);
	rw = directory_address_parse(s, true, &w, &error);
	if (ra == 0) {
		check_parsed(&a, false);
		/* Allowing wildcards changes nothing for the rest. */
		CHECK(rw == 0 && strcmp(a.local, w.local) == 0 &&
		    strcmp(a.domain, w.domain) == 0);
	}
	if (rw == 0)
		check_parsed(&w, true);
	CHECK(ra == 0 || rw == -1 || w.wildcard);

	/* The domain checker on raw bytes, NULs included. */
	if (directory_address_domain((const char *)data, size, out,
	    &error) == 0) {
		size_t olen = strlen(out);
		bool ascii = true;
		char again[DIRECTORY_DOMAIN_MAX + 1];

		for (size_t i = 0; i < size; i++)
			ascii = ascii && data[i] < 0x80;
		/* ASCII names keep their length; U-labels become A-labels. */
		CHECK(ascii ? olen == size : olen <= DIRECTORY_DOMAIN_MAX);
		for (size_t i = 0; i < olen; i++)
			CHECK((unsigned char)out[i] < 0x80 &&
			    (out[i] < 'A' || out[i] > 'Z'));
		/* Normalising is idempotent. */
		CHECK(directory_address_domain(out, olen, again, &error) == 0 &&
		    strcmp(again, out) == 0);
	}

	check_resolve(s, ra == 0);
	(void)directory_is_local_domain(fuzz_directory, s);
	free(s);
	return 0;
}
