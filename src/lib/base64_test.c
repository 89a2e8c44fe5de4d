/* base64_test.c — the strict decoder and the encoder (RFC 4648 §10 test
   vectors), and the alphabet. */
#include <string.h>

#include "lib/base64.h"
#include "lib/test.h"

static void
test_vectors(void)
{
	static const struct {
		const char *plain, *b64;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	unsigned char out[16];
	char enc[16];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		TEST_EQ_INT(base64_decode(v[i].b64, strlen(v[i].b64), out,
		    sizeof(out), &n), 0);
		TEST_EQ_INT(n, strlen(v[i].plain));
		TEST_ASSERT(memcmp(out, v[i].plain, n) == 0);
		TEST_EQ_INT(base64_encode(v[i].plain, strlen(v[i].plain), enc,
		    sizeof(enc)), strlen(v[i].b64));
		TEST_EQ_STR(enc, v[i].b64);
	}
}

static void
test_strict(void)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm 9v",
		"Zm9v\n", "Zm,v", "=Zm9",
	};
	unsigned char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TEST_EQ_INT(base64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &n), -1);
	/* Too small an output is refused, not overrun. */
	TEST_EQ_INT(base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	TEST_EQ_INT(base64_value('A'), 0);
	TEST_EQ_INT(base64_value('/'), 63);
	TEST_EQ_INT(base64_value('='), -1);
	TEST_EQ_INT(base64_value(','), -1);
}

int
main(void)
{
	TEST_RUN(test_vectors);
	TEST_RUN(test_strict);
	return test_done();
}
