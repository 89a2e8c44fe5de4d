/* maildir_keywords_test.c — unit tests for dovecot-keywords: letters to
   names, lines that are skipped, letters without a name, and the file
   export writes (indexes kept, new keywords in free slots, 26 at most). */
#include "migrate/maildir_keywords.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/test.h"

static void
test_parse_apply(void)
{
	static const char file[] =
	    "0 $Junk\n"
	    "1 NonJunk\r\n"
	    "3 $label1\n"
	    "25 last\n"
	    "26 toofar\n"		/* no letter past z */
	    "2 bad keyword\n"		/* a space: not an atom */
	    "1 again\n"			/* index taken */
	    "x y\n"
	    "4\n"
	    "5 (paren\n"
	    "\n";
	struct maildir_keywords kw;
	struct buf list;
	size_t bad;

	memset(&kw, 0, sizeof(kw));
	maildir_keywords_parse(file, sizeof(file) - 1, &kw, &bad);
	TEST_EQ_INT(bad, 6);
	TEST_EQ_STR(kw.names[0], "$Junk");
	TEST_EQ_STR(kw.names[1], "NonJunk");
	TEST_ASSERT(kw.names[2] == NULL);
	TEST_EQ_STR(kw.names[3], "$label1");
	TEST_EQ_STR(kw.names[25], "last");

	buf_init(&list, 0);
	/* a, d, z named; c (2) is not: one unknown letter. */
	TEST_EQ_INT(maildir_keywords_apply(&kw, 1u | (1u << 3) | (1u << 25) |
	    (1u << 2), &list), 1);
	TEST_EQ_STR(list.data, "$Junk $label1 last");
	buf_reset(&list);
	TEST_EQ_INT(maildir_keywords_apply(&kw, 0, &list), 0);
	TEST_EQ_INT(list.len, 0);
	buf_clear(&list);
	maildir_keywords_clear(&kw);
	TEST_ASSERT(kw.names[0] == NULL);
}

static void
test_index_format(void)
{
	struct maildir_keywords kw;
	struct buf out;
	size_t bad;
	char name[16];

	memset(&kw, 0, sizeof(kw));
	maildir_keywords_parse("1 Old\n", 6, &kw, &bad);
	/* An earlier file's letters stay; new ones fill the gaps. */
	TEST_EQ_INT(maildir_keywords_index(&kw, "old", 3, true), 1);
	TEST_EQ_INT(maildir_keywords_index(&kw, "$Junk", 5, false), -1);
	TEST_EQ_INT(maildir_keywords_index(&kw, "$Junk", 5, true), 0);
	TEST_EQ_INT(maildir_keywords_index(&kw, "Third", 5, true), 2);
	buf_init(&out, 0);
	TEST_EQ_INT(maildir_keywords_format(&kw, &out), 0);
	TEST_EQ_STR(out.data, "0 $Junk\n1 Old\n2 Third\n");
	buf_clear(&out);
	for (int i = 3; i < 26; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		TEST_EQ_INT(maildir_keywords_index(&kw, name, strlen(name),
		    true), i);
	}
	TEST_EQ_INT(maildir_keywords_index(&kw, "full", 4, true), -1);
	maildir_keywords_clear(&kw);
}

int
main(void)
{
	TEST_RUN(test_parse_apply);
	TEST_RUN(test_index_format);
	return test_done();
}
