/* fuzz_address.c — address_parse on arbitrary bytes, with and without
   UTF-8: a success prints (address_to_string) to a mailbox that parses
   back to the same parts, holds no control byte, and splits sanely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int utf8 = 0; utf8 <= 1; utf8++) {
		struct address a, b;
		const char *error = NULL, *tag;
		size_t base_len;

		if (address_parse((const char *)data, size, utf8, &a, &error) == -1) {
			CHECK(error != NULL && a.local == NULL && a.domain == NULL);
			continue;
		}
		CHECK(utf8 || !a.is_utf8);
		for (const char *p = a.local; *p != '\0'; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
		char *s = address_to_string(&a);
		/* a canonical IPv6 literal may be longer than what was sent */
		if (address_parse(s, strlen(s), utf8, &b, &error) == 0) {
			CHECK(strcmp(a.local, b.local) == 0);
			CHECK(strcmp(a.domain, b.domain) == 0);
			CHECK(a.relay_hack == b.relay_hack);
			address_clear(&b);
		} else {
			CHECK(a.domain_is_literal &&
			    strcmp(error, "address too long") == 0);
		}
		(void)address_local_split_plus(a.local, &base_len, &tag);
		CHECK(base_len <= strlen(a.local));
		free(s);
		address_clear(&a);
	}
	return 0;
}
