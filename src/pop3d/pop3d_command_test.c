/* pop3d_command_test.c — the POP3 command parser: every command with good
   and bad arguments, keyword case, the line limits (RFC 2449 §4 and AUTH's
   longer lines, RFC 5034 §4), control bytes and NUL, and random lines
   (ASan/UBSan watch). */
#include "pop3d/pop3d_command.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/test.h"

static const struct {
	const char *line;
	int want;
	enum pop3d_verb verb;
	const char *arg;	/* or the error reply when want is -1 */
	uint32_t msg, lines;
	bool has_msg;
	const char *initial;
} cases[] = {
	{ "USER bob@example.org", 0, POP3D_VERB_USER, "bob@example.org",
	  0, 0, false, NULL },
	{ "user Bob", 0, POP3D_VERB_USER, "Bob", 0, 0, false, NULL },
	{ "USER", -1, 0, "-ERR Missing argument.", 0, 0, false, NULL },
	{ "USER ", -1, 0, "-ERR Missing argument.", 0, 0, false, NULL },
	{ "USER b\tob", -1, 0, "-ERR Invalid characters in the command.", 0,
	  0, false, NULL },
	/* PASS keeps spaces, leading and trailing, and 8-bit octets. */
	{ "PASS  two words ", 0, POP3D_VERB_PASS, " two words ", 0, 0,
	  false, NULL },
	{ "pass s\x01\xe9\x7f", 0, POP3D_VERB_PASS, "s\x01\xe9\x7f", 0, 0,
	  false, NULL },
	{ "PASS", -1, 0, "-ERR Missing argument.", 0, 0, false, NULL },
	{ "AUTH", 0, POP3D_VERB_AUTH, NULL, 0, 0, false, NULL },
	{ "AUTH plain", 0, POP3D_VERB_AUTH, "PLAIN", 0, 0, false, NULL },
	{ "AUTH PLAIN AGJvYgBwdw==", 0, POP3D_VERB_AUTH, "PLAIN", 0, 0,
	  false, "AGJvYgBwdw==" },
	{ "AUTH PLAIN =", 0, POP3D_VERB_AUTH, "PLAIN", 0, 0, false, "=" },
	{ "AUTH PLAIN a b", -1, 0, "-ERR Too many arguments.", 0, 0, false,
	  NULL },
	{ "AUTH PL+IN", -1, 0, "-ERR Invalid mechanism name.", 0, 0, false,
	  NULL },
	{ "AUTH ABCDEFGHIJKLMNOPQRSTU", -1, 0,
	  "-ERR Invalid mechanism name.", 0, 0, false, NULL },
	{ "AUTH SCRAM-SHA-256", 0, POP3D_VERB_AUTH, "SCRAM-SHA-256", 0, 0,
	  false, NULL },
	{ "STLS", 0, POP3D_VERB_STLS, NULL, 0, 0, false, NULL },
	{ "STLS x", -1, 0, "-ERR Too many arguments.", 0, 0, false, NULL },
	{ "CAPA", 0, POP3D_VERB_CAPA, NULL, 0, 0, false, NULL },
	{ "quit", 0, POP3D_VERB_QUIT, NULL, 0, 0, false, NULL },
	{ "STAT", 0, POP3D_VERB_STAT, NULL, 0, 0, false, NULL },
	{ "STAT ", 0, POP3D_VERB_STAT, NULL, 0, 0, false, NULL },
	{ "NOOP", 0, POP3D_VERB_NOOP, NULL, 0, 0, false, NULL },
	{ "RSET", 0, POP3D_VERB_RSET, NULL, 0, 0, false, NULL },
	{ "LIST", 0, POP3D_VERB_LIST, NULL, 0, 0, false, NULL },
	{ "LIST 3", 0, POP3D_VERB_LIST, NULL, 3, 0, true, NULL },
	{ "LIST  4  ", 0, POP3D_VERB_LIST, NULL, 4, 0, true, NULL },
	{ "LIST 0", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "LIST -1", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "LIST 1 2", -1, 0, "-ERR Too many arguments.", 0, 0, false, NULL },
	{ "UIDL", 0, POP3D_VERB_UIDL, NULL, 0, 0, false, NULL },
	{ "UIDL 4294967295", 0, POP3D_VERB_UIDL, NULL, 4294967295u, 0, true,
	  NULL },
	{ "UIDL 4294967296", -1, 0, "-ERR Invalid message number.", 0, 0,
	  false, NULL },
	{ "RETR 1", 0, POP3D_VERB_RETR, NULL, 1, 0, true, NULL },
	{ "RETR", -1, 0, "-ERR Missing argument.", 0, 0, false, NULL },
	{ "RETR x", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "RETR 1x", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "RETR +1", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "DELE 7", 0, POP3D_VERB_DELE, NULL, 7, 0, true, NULL },
	{ "DELE 7 8", -1, 0, "-ERR Too many arguments.", 0, 0, false, NULL },
	{ "TOP 2 0", 0, POP3D_VERB_TOP, NULL, 2, 0, true, NULL },
	{ "TOP 2 10", 0, POP3D_VERB_TOP, NULL, 2, 10, true, NULL },
	{ "TOP 2", -1, 0, "-ERR Missing argument.", 0, 0, false, NULL },
	{ "TOP 2 -1", -1, 0, "-ERR Invalid number of lines.", 0, 0, false,
	  NULL },
	{ "TOP 0 1", -1, 0, "-ERR Invalid message number.", 0, 0, false,
	  NULL },
	{ "TOP 1 2 3", -1, 0, "-ERR Too many arguments.", 0, 0, false,
	  NULL },
	/* Keywords match whole. */
	{ "STATX", -1, 0, "-ERR Unknown command.", 0, 0, false, NULL },
	{ "STA", -1, 0, "-ERR Unknown command.", 0, 0, false, NULL },
	{ " STAT", -1, 0, "-ERR Unknown command.", 0, 0, false, NULL },
	{ "", -1, 0, "-ERR Unknown command.", 0, 0, false, NULL },
	{ "APOP bob 0123456789abcdef0123456789abcdef", -1, 0,
	  "-ERR Unknown command.", 0, 0, false, NULL },
	{ "NOOP\r", -1, 0, "-ERR Unknown command.", 0, 0, false, NULL },
	{ "NOOP \x1b", -1, 0, "-ERR Invalid characters in the command.", 0,
	  0, false, NULL },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3d_command cmd;
		const char *error = NULL;
		int ret = pop3d_command_parse(cases[i].line,
		    strlen(cases[i].line), &cmd, &error);

		if (ret != cases[i].want) {
			test_fail(__FILE__, __LINE__, "\"%s\": got %d (%s)",
			    cases[i].line, ret, error != NULL ? error : "");
			pop3d_command_clear(&cmd);
			continue;
		}
		if (ret == -1) {
			TEST_EQ_STR(error, cases[i].arg);
			TEST_ASSERT(cmd.arg == NULL && cmd.initial == NULL);
			continue;
		}
		TEST_EQ_INT(cmd.verb, cases[i].verb);
		TEST_EQ_STR(cmd.arg, cases[i].arg);
		if (cmd.arg != NULL)
			TEST_EQ_INT(cmd.arg_len, strlen(cases[i].arg));
		TEST_EQ_INT(cmd.msg, cases[i].msg);
		TEST_EQ_INT(cmd.lines, cases[i].lines);
		TEST_EQ_INT(cmd.has_msg, cases[i].has_msg);
		TEST_EQ_STR(cmd.initial, cases[i].initial);
		pop3d_command_clear(&cmd);
		TEST_ASSERT(cmd.arg == NULL);
	}
}

static void
test_nul(void)
{
	struct pop3d_command cmd;
	const char *error;

	/* NUL never passes, not even in a password. */
	TEST_EQ_INT(pop3d_command_parse("PASS a\0b", 8, &cmd, &error), -1);
	TEST_EQ_STR(error, "-ERR Invalid characters in the command.");
	TEST_EQ_INT(pop3d_command_parse("USER a\0b", 8, &cmd, &error), -1);
	TEST_EQ_INT(pop3d_command_parse("NOOP\0", 5, &cmd, &error), -1);
	TEST_EQ_STR(error, "-ERR Unknown command.");
}

static void
test_lengths(void)
{
	char line[POP3D_LINE_MAX + 8];
	struct pop3d_command cmd;
	const char *error;

	/* 253 octets + CRLF = 255: the longest command. */
	memcpy(line, "USER ", 5);
	memset(line + 5, 'u', sizeof(line) - 5);
	TEST_EQ_INT(pop3d_command_parse(line, 253, &cmd, &error), 0);
	TEST_EQ_INT(cmd.arg_len, 248);
	pop3d_command_clear(&cmd);
	TEST_EQ_INT(pop3d_command_parse(line, 254, &cmd, &error), -1);
	TEST_EQ_STR(error, "-ERR Line too long.");
	/* AUTH with a long initial response (RFC 5034 §4). */
	memcpy(line, "AUTH PLAIN ", 11);
	memset(line + 11, 'A', sizeof(line) - 11);
	TEST_EQ_INT(pop3d_command_parse(line, POP3D_LINE_MAX - 2, &cmd,
	    &error), 0);
	TEST_EQ_INT(strlen(cmd.initial), POP3D_LINE_MAX - 2 - 11);
	pop3d_command_clear(&cmd);
	TEST_EQ_INT(pop3d_command_parse(line, POP3D_LINE_MAX - 1, &cmd,
	    &error), -1);
	TEST_EQ_STR(error, "-ERR Line too long.");
	/* The longest PLAIN response fits. */
	TEST_ASSERT(11 + AUTH_SASL_PLAIN_B64_MAX + 2 <= POP3D_LINE_MAX);
}

static void
test_names(void)
{
	TEST_EQ_STR(pop3d_verb_name(POP3D_VERB_TOP), "TOP");
	TEST_EQ_STR(pop3d_verb_name(POP3D_VERB_UIDL), "UIDL");
	TEST_EQ_STR(pop3d_verb_name(POP3D_VERB_COUNT), "?");
}

/* Random lines from a POP3-ish alphabet: one clean outcome each. */
static void
test_random(void)
{
	static const char alphabet[] =
	    "RETRTOPLISTUIDLAUTHPASS 0123 \t\x01\xff.=";
	uint32_t seed = 777;

	for (int round = 0; round < 50000; round++) {
		char line[40];
		size_t len;
		struct pop3d_command cmd;
		const char *error = NULL;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(line);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			line[i] = alphabet[(seed >> 8) %
			    (sizeof(alphabet) - 1)];
		}
		/* Every fourth line starts with a real keyword. */
		if (round % 4 == 0 && len >= 5)
			memcpy(line, round % 8 == 0 ? "TOP " : "LIST ", 4);
		if (pop3d_command_parse(line, len, &cmd, &error) == 0) {
			TEST_ASSERT(cmd.verb < POP3D_VERB_COUNT);
			if (cmd.has_msg)
				TEST_ASSERT(cmd.msg >= 1);
		} else {
			TEST_ASSERT(error != NULL &&
			    strncmp(error, "-ERR ", 5) == 0);
		}
		pop3d_command_clear(&cmd);
	}
}

int
main(void)
{
	TEST_RUN(test_cases);
	TEST_RUN(test_nul);
	TEST_RUN(test_lengths);
	TEST_RUN(test_names);
	TEST_RUN(test_random);
	return test_done();
}
