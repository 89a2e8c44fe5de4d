/* fuzz_imap_command.c — the IMAP command parser on an arbitrary byte
   stream: the first four bytes seed the sizes of the pieces it is fed in
   and whether each literal is accepted, the rest is the stream. Every
   command goes through the typed parsers (sequence sets, FETCH items,
   SEARCH/SORT/THREAD, flags, mailbox names). Checked: used <= len and
   "more" takes everything, the limits hold, strings are NUL-terminated
   (quoted and {n} literals never hold NUL), error replies are one line,
   resolved sequence sets are sorted and merged and write back to what
   they were, and feeding the stream whole gives the same events as
   feeding it in pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_arg.h"
#include "imap/imap_fetch_items.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_seqset.h"
#include "imap/imap_write.h"
#include "lib/buf.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits fuzz_limits = {
	.max_line = 512,
	.max_size = 8192,
	.max_depth = 12,
	.max_args = 400,
};

static uint32_t
fuzz_rand(uint32_t *s)
{
	/* xorshift32; a zero state stays zero, so it is never zero */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t
fuzz_check_args(const struct imap_arg *args, size_t n, unsigned depth)
{
	size_t count = n;

	CHECK(depth <= fuzz_limits.max_depth);
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];

		if (a->type == IMAP_ARG_LIST) {
			CHECK(a->str == NULL && (a->n_list == 0) == (a->list == NULL));
			count += fuzz_check_args(a->list, a->n_list, depth + 1);
			continue;
		}
		CHECK(a->str != NULL && a->str[a->len] == '\0');
		if (a->type != IMAP_ARG_LITERAL8)
			CHECK(strlen(a->str) == a->len);
		/* '{' only inside an atom's brackets (in a quoted name) */
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)
			CHECK(a->len > 0 && strpbrk(a->str, "\r\n") == NULL &&
			    (strchr(a->str, '{') == NULL ||
			    strchr(a->str, '[') != NULL));
	}
	return count;
}

static void
fuzz_seqset(const struct imap_arg *a)
{
	struct imap_seqset set, again;
	struct imap_seq_range *r;
	const char *error;
	struct buf b;
	size_t n;

	if (a->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(a->str, a->len, 100, &set, &error) == -1)
		return;
	CHECK(set.n <= 100 && (set.n > 0 || set.saved));
	imap_seqset_resolve(&set, (uint32_t)a->len * 3, &r, &n);
	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].lo <= r[i].hi && r[i].lo > 0);
		if (i > 0)
			CHECK(r[i - 1].hi < UINT32_MAX &&
			    r[i - 1].hi + 1 < r[i].lo);
		CHECK(imap_seqset_contains(r, n, r[i].lo));
		CHECK(imap_seqset_contains(r, n, r[i].hi));
	}
	buf_init(&b, 0);
	CHECK(imap_seqset_write(r, n, &b) == 0);
	if (n > 0) {
		CHECK(imap_seqset_parse(b.data, b.len, SIZE_MAX, &again,
		    &error) == 0);
		CHECK(again.n == n && memcmp(again.ranges, r,
		    n * sizeof(*r)) == 0);
		imap_seqset_clear(&again);
	}
	buf_clear(&b);
	free(r);
	imap_seqset_clear(&set);
}

static void
fuzz_mailbox(const struct imap_arg *a)
{
	for (int utf8 = 0; utf8 <= 1; utf8++) {
		const char *error;
		char *name = imap_write_mailbox_from_client(a->str, a->len,
		    utf8, &error);
		struct buf b;

		if (name == NULL) {
			CHECK(error != NULL);
			continue;
		}
		CHECK(strpbrk(name, "\r\n") == NULL);
		buf_init(&b, 0);
		/* What we read back we can write: valid UTF-8. */
		CHECK(imap_write_mailbox(&b, name, utf8) == 0);
		buf_clear(&b);
		free(name);
	}
}

static void
fuzz_command(const struct imap_command *cmd)
{
	const char *error;
	struct imap_fetch_items items;
	struct imap_search search;
	struct imap_sort sort;
	struct imap_thread thread;
	struct buf kw;
	unsigned flags;

	CHECK(cmd->tag[0] != '\0' && strpbrk(cmd->tag, " \r\n+(){\"") == NULL);
	CHECK(cmd->name[0] != '\0' && strpbrk(cmd->name, " \r\n") == NULL);
	CHECK(cmd->size <= fuzz_limits.max_size);
	CHECK(fuzz_check_args(cmd->args, cmd->n_args, 0) <=
	    fuzz_limits.max_args);

	for (size_t i = 0; i < cmd->n_args; i++) {
		const struct imap_arg *a = &cmd->args[i];

		fuzz_seqset(a);
		if (imap_arg_is_astring(a))
			fuzz_mailbox(a);
		buf_init(&kw, 64);
		if (a->type == IMAP_ARG_LIST)
			(void)imap_arg_flags(a->list, a->n_list, &flags, &kw,
			    &error);
		else
			(void)imap_arg_flags(a, 1, &flags, &kw, &error);
		buf_clear(&kw);
	}
	if (cmd->n_args > 1 && imap_fetch_items_parse(cmd->args + 1,
	    cmd->n_args - 1, &items, &error) == 0) {
		for (size_t i = 0; i < items.n; i++)
			CHECK(items.atts[i].name != NULL);
		imap_fetch_items_clear(&items);
	}
	if (imap_search_parse(cmd->args, cmd->n_args, 8, &search, &error) == 0)
		imap_search_clear(&search);
	else
		CHECK(error != NULL);
	if (imap_sort_parse(cmd->args, cmd->n_args, 8, &sort, &error) == 0)
		imap_sort_clear(&sort);
	if (imap_thread_parse(cmd->args, cmd->n_args, 8, &thread, &error) == 0)
		imap_thread_clear(&thread);
}

/* Runs the stream through a parser in pieces (chunky: sizes from the
   seed; else whole) and returns a digest of the events. */
static uint64_t
fuzz_run(const char *in, size_t len, uint32_t seed, int chunky)
{
	struct imap_parser *p = imap_parser_new(&fuzz_limits);
	uint32_t chunks = seed | 1, decide = seed | 2;
	uint64_t digest = 1469598103934665603ull;
	size_t pos = 0, avail = 0;

	for (;;) {
		enum imap_parse_result r;
		size_t used;

		if (pos == avail) {
			if (avail == len)
				break;
			avail += chunky ? 1 + fuzz_rand(&chunks) % 64 : len;
			if (avail > len)
				avail = len;
			continue;
		}
		r = imap_parser_feed(p, in + pos, avail - pos, &used);
		CHECK(used <= avail - pos);
		if (r == IMAP_PARSE_MORE)
			CHECK(used == avail - pos);
		pos += used;
		if (r == IMAP_PARSE_MORE)
			continue;
		digest = (digest ^ (uint64_t)r) * 1099511628211ull;
		digest = (digest ^ pos) * 1099511628211ull;
		if (r == IMAP_PARSE_COMMAND) {
			fuzz_command(imap_parser_command(p));
		} else if (r == IMAP_PARSE_LITERAL) {
			struct imap_parser_literal lit;

			imap_parser_literal(p, &lit);
			CHECK(lit.size <= fuzz_limits.max_size);
			CHECK(lit.tag != NULL && lit.name != NULL);
			if (fuzz_rand(&decide) % 4 == 0)
				imap_parser_literal_refuse(p);
			else
				imap_parser_literal_accept(p);
		} else {
			const char *tag = imap_parser_error_tag(p);
			const char *e = imap_parser_error(p);

			CHECK(tag[0] != '\0' && strpbrk(tag, "\r\n ") == NULL);
			CHECK(e[0] != '\0' && strpbrk(e, "\r\n") == NULL);
		}
	}
	digest = (digest ^ imap_parser_is_skipping(p)) * 1099511628211ull;
	imap_parser_free(&p);
	return digest;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 0;

	if (size < 4)
		return 0;
	memcpy(&seed, data, 4);
	CHECK(fuzz_run((const char *)data + 4, size - 4, seed, 1) ==
	    fuzz_run((const char *)data + 4, size - 4, seed, 0));
	return 0;
}
