/* directory_dkim_test.c — DKIM keys in the directory: add, list without
   private keys, the two-active limit, rotation (the oldest active key
   signs), activate/deactivate, delete, alias domains and unknown domains
   get no keys, and the refusals. */
#include "directory/directory_dkim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"

static char *test_dir_path;

static struct directory *
test_open(void)
{
	struct directory *dir = NULL;
	char *error = NULL;

	test_dir_path = test_tmpdir();
	if (directory_open(test_dir_path, true, &dir, &error) == -1) {
		printf("  directory_open: %s\n", error);
		free(error);
		abort();
	}
	return dir;
}

static void
test_close(struct directory **dir)
{
	directory_close(dir);
	fsutil_remove_tree(test_dir_path);
	xfree(&test_dir_path);
}

/* The selectors the signing lookup returns, "rsa:s1 ed25519:s2". */
static char *
test_signing(struct directory *dir, const char *domain)
{
	struct directory_dkim_key *keys;
	struct directory_error err = { 0 };
	size_t n;
	char out[256] = "";

	TEST_EQ_INT(directory_dkim_signing_keys(dir, domain, &keys, &n, &err),
	    0);
	for (size_t i = 0; i < n; i++) {
		TEST_ASSERT(keys[i].private_key != NULL &&
		    strncmp(keys[i].private_key, "PEM-", 4) == 0);
		size_t len = strlen(out);
		snprintf(out + len, sizeof(out) - len, "%s%s:%s",
		    i > 0 ? " " : "", keys[i].algorithm, keys[i].selector);
	}
	directory_dkim_key_list_free(&keys, n);
	directory_error_clear(&err);
	return xstrdup(out);
}

#define SIGNING(dir, domain, want)					\
	do {								\
		char *s_ = test_signing(dir, domain);			\
		TEST_EQ_STR(s_, want);					\
		free(s_);						\
	} while (0)

static void
test_keys(void)
{
	struct directory *dir = test_open();
	struct directory_error err = { 0 };
	struct directory_dkim_key *keys;
	size_t n;

	TEST_EQ_INT(directory_admin_domain_add(dir, "example.org", &err), 0);
	TEST_EQ_INT(directory_admin_domain_add(dir, "other.example", &err), 0);
	TEST_EQ_INT(directory_admin_alias_domain_add(dir, "alias.example",
	    "example.org", &err), 0);
	SIGNING(dir, "example.org", "");

	TEST_EQ_INT(directory_dkim_add(dir, "Example.ORG", "s1", "rsa",
	    "PEM-rsa1", "P1", &err), 0);
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "e1", "ed25519",
	    "PEM-ed1", "E1", &err), 0);
	SIGNING(dir, "example.org", "rsa:s1 ed25519:e1");
	SIGNING(dir, "EXAMPLE.org", "rsa:s1 ed25519:e1");
	/* Alias domains and foreign domains are not signed for. */
	SIGNING(dir, "alias.example", "");
	SIGNING(dir, "other.example", "");
	SIGNING(dir, "nowhere.example", "");

	/* Rotation: the new key is published, the old one still signs. */
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "s2", "rsa",
	    "PEM-rsa2", "P2", &err), 0);
	SIGNING(dir, "example.org", "rsa:s1 ed25519:e1");
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "s3", "rsa",
	    "PEM-rsa3", "P3", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_IN_USE);
	TEST_EQ_INT(directory_dkim_set_active(dir, "example.org", "s1", false,
	    &err), 0);
	SIGNING(dir, "example.org", "rsa:s2 ed25519:e1");
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "s3", "rsa",
	    "PEM-rsa3", "P3", &err), 0);
	/* Two active again: s1 cannot come back. */
	TEST_EQ_INT(directory_dkim_set_active(dir, "example.org", "s1", true,
	    &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_IN_USE);
	/* Deactivating twice is fine; re-activating an active key too. */
	TEST_EQ_INT(directory_dkim_set_active(dir, "example.org", "s1", false,
	    &err), 0);
	TEST_EQ_INT(directory_dkim_set_active(dir, "example.org", "s3", true,
	    &err), 0);

	/* The list has no private keys, sorted by creation. */
	TEST_EQ_INT(directory_dkim_list(dir, "example.org", &keys, &n, &err),
	    0);
	TEST_EQ_INT(n, 4);
	if (n == 4) {
		TEST_EQ_STR(keys[0].selector, "s1");
		TEST_ASSERT(!keys[0].active);
		TEST_EQ_STR(keys[0].public_key, "P1");
		TEST_EQ_STR(keys[0].domain, "example.org");
		TEST_EQ_STR(keys[0].private_key, NULL);
		TEST_EQ_STR(keys[1].algorithm, "ed25519");
		TEST_ASSERT(keys[3].active && keys[3].created > 0);
	}
	directory_dkim_key_list_free(&keys, n);
	TEST_ASSERT(keys == NULL);
	TEST_EQ_INT(directory_dkim_list(dir, NULL, &keys, &n, &err), 0);
	TEST_EQ_INT(n, 4);
	directory_dkim_key_list_free(&keys, n);
	TEST_EQ_INT(directory_dkim_list(dir, "other.example", &keys, &n, &err),
	    0);
	TEST_EQ_INT(n, 0);

	TEST_EQ_INT(directory_dkim_delete(dir, "example.org", "s2", &err), 0);
	SIGNING(dir, "example.org", "rsa:s3 ed25519:e1");
	TEST_EQ_INT(directory_dkim_delete(dir, "example.org", "s2", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_NOT_FOUND);
	TEST_EQ_STR(err.message, "example.org has no key with selector s2");

	/* Refusals. */
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "e1", "ed25519",
	    "PEM-x", "X", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_EXISTS);
	TEST_EQ_INT(directory_dkim_add(dir, "alias.example", "a", "rsa",
	    "PEM-x", "X", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_INVALID);
	TEST_EQ_INT(directory_dkim_add(dir, "nowhere.example", "a", "rsa",
	    "PEM-x", "X", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_NOT_FOUND);
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "a b", "rsa",
	    "PEM-x", "X", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_INVALID);
	TEST_EQ_INT(directory_dkim_add(dir, "example.org", "a", "dsa",
	    "PEM-x", "X", &err), -1);
	TEST_EQ_INT(err.code, DIRECTORY_ERROR_INVALID);

	/* Deleting the domain deletes its keys. */
	TEST_EQ_INT(directory_admin_domain_del(dir, "example.org", true, &err),
	    0);
	TEST_EQ_INT(directory_dkim_list(dir, NULL, &keys, &n, &err), 0);
	TEST_EQ_INT(n, 0);
	directory_error_clear(&err);
	test_close(&dir);
}

static const struct {
	const char *s;
	bool valid;
} selector_cases[] = {
	{ "s1", true }, { "petrel202611", true }, { "a.b-c.d", true },
	{ "", false }, { "a..b", false }, { ".a", false }, { "a.", false },
	{ "-a", false }, { "a-", false }, { "a_b", false }, { "a;b", false },
	{ "a/b", false },
	{ "123456789012345678901234567890123456789012345678901234567890123",
	    true },
	{ "1234567890123456789012345678901234567890123456789012345678901234",
	    false },
};

static void
test_selectors(void)
{
	for (size_t i = 0; i < sizeof(selector_cases) / sizeof(*selector_cases);
	    i++)
		TEST_EQ_INT(directory_dkim_selector_is_valid(selector_cases[i].s),
		    selector_cases[i].valid);
}

int
main(void)
{
	TEST_RUN(test_keys);
	TEST_RUN(test_selectors);
	return test_done();
}
