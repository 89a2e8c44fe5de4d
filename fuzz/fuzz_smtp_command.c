/* fuzz_smtp_command.c — smtp_command_parse on arbitrary lines: a failure
   has a one-line reply with an enhanced status code; a success has a
   known verb, no NUL in the input, a path address_parse accepts and
   strings without control bytes. Also: xtext encoding round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mail/address.h"
#include "smtp/smtp_command.h"
#include "smtp/smtp_xtext.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data, *reply = NULL, *error;
	struct smtp_command cmd;
	struct address a;
	struct buf enc, dec;

	if (smtp_command_parse(line, size, &cmd, &reply) == -1) {
		CHECK(reply != NULL && strlen(reply) > 10 && reply[3] == ' ' &&
		    reply[4] == reply[0] && strpbrk(reply, "\r\n") == NULL);
	} else {
		CHECK(cmd.verb != SMTP_VERB_UNKNOWN && memchr(line, 0, size) == NULL);
		if (cmd.path != NULL && cmd.path[0] != '\0' &&
		    strcmp(cmd.path, "postmaster") != 0) {
			CHECK(address_parse(cmd.path, strlen(cmd.path), true, &a,
			    &error) == 0);
			address_clear(&a);
		}
		const char *strs[] = { cmd.path, cmd.envid, cmd.orcpt, cmd.auth };
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			for (const char *p = strs[i]; p != NULL && *p != '\0'; p++)
				CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	smtp_command_clear(&cmd);

	buf_init(&enc, 0);
	buf_init(&dec, 0);
	CHECK(smtp_xtext_encode(line, size, &enc) == 0);
	CHECK(smtp_xtext_decode(enc.data, enc.len, &dec) == 0);
	CHECK(dec.len == size && (size == 0 || memcmp(dec.data, data, size) == 0));
	buf_clear(&enc);
	buf_clear(&dec);
	return 0;
}
