/* fuzz_maildir.c — the Maildir importer's text parsers on arbitrary bytes.
   The first byte picks one (so a seed says what it is for), any other
   byte runs them all on the whole input:
	u  dovecot-uidlist: parse, look up every base and every raw name of
	   the input (NUL and flags included), format and parse back;
	k  dovecot-keywords: parse, index, apply, format and parse back;
	f  a file name: parse, the export-name test, and a name built from
	   the input's bytes parsed and recognised again;
	n  folder names: a level decoded and encoded (and back), levels with
	   each separator set, a Maildir++ directory name and a mailbox name
	   (and back);
	s  subscriptions: parse, format and parse back.
   The input is copied to a buffer of exactly its size, so a read past the
   end is caught; functions that take C strings get a NUL-terminated copy.
   Checks: every name and keyword given back is what the format allows,
   without a NUL inside, and what is formatted parses to the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "migrate/maildir_filename.h"
#include "migrate/maildir_keywords.h"
#include "migrate/maildir_name.h"
#include "migrate/maildir_subscriptions.h"
#include "migrate/maildir_uidlist.h"
#include "migrate/migrate_flags.h"
#include "store/store.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned fuzz_maildir_flags = STORE_FLAG_SEEN |
    STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DELETED |
    STORE_FLAG_DRAFT;

static bool
fuzz_maildir_is_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len; ) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i,
		    &cp);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* A NUL-terminated copy of s[0..len), cut at its first NUL. */
static char *
fuzz_maildir_cstr(const char *s, size_t len)
{
	char *c = malloc(len + 1);

	CHECK(c != NULL);
	if (len > 0)
		memcpy(c, s, len);
	c[len] = '\0';
	return c;
}

/* Up to 8 bytes of s, little-endian, from *pos on; 0 past the end. */
static uint64_t
fuzz_maildir_take(const char *s, size_t len, size_t *pos, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && *pos < len; i++, (*pos)++)
		v |= (uint64_t)(unsigned char)s[*pos] << (8 * i);
	return v;
}

static void
fuzz_maildir_uidlist_entries_check(const struct maildir_uidlist *l)
{
	CHECK(l->version == 1 || l->version == 3);
	CHECK(l->n == 0 || l->entries != NULL);
	for (size_t i = 0; i < l->n; i++) {
		const char *b = l->entries[i].base;
		size_t blen = strlen(b);

		CHECK(l->entries[i].uid != 0 && blen > 0);
		CHECK(strchr(b, '/') == NULL && strchr(b, ':') == NULL);
		if (i > 0)
			CHECK(strcmp(l->entries[i - 1].base, b) < 0);
		CHECK(maildir_uidlist_lookup(l, b, blen) ==
		    l->entries[i].uid);
		/* A key one byte longer (its NUL) names no base. */
		CHECK(maildir_uidlist_lookup(l, b, blen + 1) == 0);
	}
}

static int
fuzz_maildir_uid_cmp(const void *a, const void *b)
{
	const struct maildir_uidlist_entry *const *x = a, *const *y = b;

	return (*x)->uid < (*y)->uid ? -1 : (*x)->uid > (*y)->uid;
}

static void
fuzz_maildir_uidlist(const char *d, size_t len)
{
	struct maildir_uidlist l, l2;
	struct maildir_uidlist_entry **order;
	struct buf out;
	const char *error = NULL;
	size_t bad, bad2;

	if (maildir_uidlist_parse(d, len, &l, &bad, &error) == -1) {
		CHECK(error != NULL && l.n == 0 && l.entries == NULL);
		return;
	}
	fuzz_maildir_uidlist_entries_check(&l);
	/* Every line's raw name (after its last " :" or its second
	   token), up to a ':' as the importer cuts it: found or not, the
	   lookup reads only what it is given. */
	for (size_t pos = 0; pos < len; ) {
		const char *line = d + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		const char *sp = memchr(line, ' ', ll), *name, *colon;
		size_t nlen;

		pos += ll + (nl != NULL);
		if (sp == NULL)
			continue;
		name = sp + 1;
		if (name < line + ll && *name == ':')
			name++;
		nlen = (size_t)(line + ll - name);
		if ((colon = memchr(name, ':', nlen)) != NULL)
			nlen = (size_t)(colon - name);
		(void)maildir_uidlist_lookup(&l, name, nlen);
		(void)maildir_uidlist_lookup(&l, line, ll);
	}
	/* What export writes, in UID order, reads back the same (but a
	   base ending in CR loses it, as every line end does). */
	order = malloc((l.n > 0 ? l.n : 1) * sizeof(*order));
	CHECK(order != NULL);
	for (size_t i = 0; i < l.n; i++)
		order[i] = &l.entries[i];
	qsort(order, l.n, sizeof(*order), fuzz_maildir_uid_cmp);
	buf_init(&out, 0);
	CHECK(maildir_uidlist_format_header(&out, l.uidvalidity, l.uidnext,
	    "0123456789abcdef0123456789abcdef") == 0);
	for (size_t i = 0; i < l.n; i++) {
		const char *b = order[i]->base;

		if (b[strlen(b) - 1] != '\r')
			CHECK(maildir_uidlist_format_line(&out, order[i]->uid,
			    b) == 0);
	}
	free(order);
	CHECK(maildir_uidlist_parse(out.data, out.len, &l2, &bad2, &error) ==
	    0);
	CHECK(bad2 == 0 && l2.version == 3);
	CHECK(l2.uidvalidity == l.uidvalidity && l2.uidnext == l.uidnext);
	fuzz_maildir_uidlist_entries_check(&l2);
	for (size_t i = 0; i < l2.n; i++)
		CHECK(maildir_uidlist_lookup(&l, l2.entries[i].base,
		    strlen(l2.entries[i].base)) == l2.entries[i].uid);
	maildir_uidlist_clear(&l2);
	buf_clear(&out);
	maildir_uidlist_clear(&l);
	CHECK(l.n == 0 && l.entries == NULL);
}

static void
fuzz_maildir_keywords(const char *d, size_t len)
{
	struct maildir_keywords kw, kw2;
	struct buf out, list;
	size_t bad, bad2, pos = 0;
	uint32_t letters;
	unsigned used = 0, unknown;

	memset(&kw, 0, sizeof(kw));
	maildir_keywords_parse(d, len, &kw, &bad);
	for (int i = 0; i < MAILDIR_KEYWORDS_N; i++) {
		if (kw.names[i] == NULL)
			continue;
		used++;
		CHECK(migrate_flags_keyword_is_valid(kw.names[i],
		    strlen(kw.names[i])));
		CHECK(maildir_keywords_index(&kw, kw.names[i],
		    strlen(kw.names[i]), false) >= 0);
	}
	letters = (uint32_t)fuzz_maildir_take(d, len, &pos, 4);
	buf_init(&list, 0);
	unknown = maildir_keywords_apply(&kw, letters, &list);
	CHECK(unknown <= MAILDIR_KEYWORDS_N);
	for (size_t i = 0; i < list.len; i++)
		CHECK(list.data[i] != '\0');
	buf_clear(&list);

	buf_init(&out, 0);
	CHECK(maildir_keywords_format(&kw, &out) == 0);
	memset(&kw2, 0, sizeof(kw2));
	maildir_keywords_parse(out.data, out.len, &kw2, &bad2);
	CHECK(bad2 == 0);
	for (int i = 0; i < MAILDIR_KEYWORDS_N; i++)
		CHECK((kw.names[i] == NULL) == (kw2.names[i] == NULL) &&
		    (kw.names[i] == NULL ||
		    strcmp(kw.names[i], kw2.names[i]) == 0));
	maildir_keywords_clear(&kw2);
	buf_clear(&out);

	/* Adding the input as a keyword (export's path): a free index, or
	   the one it has. */
	int idx = maildir_keywords_index(&kw, d, len, true);

	CHECK(idx < MAILDIR_KEYWORDS_N);
	CHECK(idx >= 0 || used == MAILDIR_KEYWORDS_N);
	maildir_keywords_clear(&kw);
	for (int i = 0; i < MAILDIR_KEYWORDS_N; i++)
		CHECK(kw.names[i] == NULL);
}

static void
fuzz_maildir_filename(const char *d, size_t len)
{
	struct maildir_filename fn;
	char *name = fuzz_maildir_cstr(d, len), *built;
	size_t pos = 0;
	uint32_t uid, uidvalidity;

	if (maildir_filename_parse(name, &fn) == 0) {
		CHECK(fn.base == name && fn.base_len > 0);
		CHECK(fn.base_len <= strlen(name));
		CHECK(memchr(fn.base, ':', fn.base_len) == NULL);
		CHECK((fn.flags & ~fuzz_maildir_flags) == 0);
		CHECK((fn.keywords >> MAILDIR_KEYWORDS_N) == 0);
	} else {
		CHECK(name[0] == '\0' || name[0] == '.' || name[0] == ':');
	}
	uidvalidity = (uint32_t)fuzz_maildir_take(d, len, &pos, 4);
	if (maildir_filename_exported_uid(name, uidvalidity, &uid))
		CHECK(uid != 0);

	/* A name export builds from the input's bytes. */
	int64_t date = (int64_t)fuzz_maildir_take(d, len, &pos, 8);
	uint32_t buid = (uint32_t)fuzz_maildir_take(d, len, &pos, 4);
	uint64_t size = fuzz_maildir_take(d, len, &pos, 8);
	unsigned flags = (unsigned)fuzz_maildir_take(d, len, &pos, 1);
	uint32_t keywords = (uint32_t)fuzz_maildir_take(d, len, &pos, 4) &
	    ((1u << MAILDIR_KEYWORDS_N) - 1);

	flags &= fuzz_maildir_flags;
	built = maildir_filename_build((time_t)date, buid, uidvalidity, size,
	    flags, keywords);
	CHECK(maildir_filename_parse(built, &fn) == 0);
	CHECK(fn.flags == flags && fn.keywords == keywords && !fn.passed);
	CHECK(fn.base[fn.base_len] == ':');
	if (buid != 0) {
		CHECK(maildir_filename_exported_uid(built, uidvalidity, &uid));
		CHECK(uid == buid);
		CHECK(!maildir_filename_exported_uid(built, uidvalidity + 1,
		    &uid));
	} else {
		CHECK(!maildir_filename_exported_uid(built, uidvalidity, &uid));
	}
	free(built);
	free(name);
}

/* A decoded level: UTF-8 (as the store wants names), no NUL. */
static void
fuzz_maildir_check_level(const char *s, size_t len)
{
	CHECK(len > 0 && memchr(s, '\0', len) == NULL);
	CHECK(fuzz_maildir_is_utf8(s, len));
}

/* A mailbox name: UTF-8, not empty. Whether it has an empty level: a
   stored level may hold a '/' (the store's separator) at its edge, which
   the store refuses (store_name.c), and which then has no encoding. */
static bool
fuzz_maildir_check_mailbox(const char *name)
{
	size_t len = strlen(name);

	CHECK(len > 0 && fuzz_maildir_is_utf8(name, len));
	return name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL;
}

static void
fuzz_maildir_name(const char *d, size_t len)
{
	struct buf dec, enc, back;
	char *c, *mailbox, *dir;
	static const char *const seps[] = { ".", "./", "\t", "" };

	buf_init(&dec, 0);
	if (maildir_name_level_decode(d, len, &dec) == 0)
		fuzz_maildir_check_level(dec.data, dec.len);
	else
		CHECK(dec.len == 0);
	buf_clear(&dec);

	/* UTF-8 in, the same back (NUL aside). */
	buf_init(&enc, 0);
	buf_init(&back, 0);
	if (maildir_name_level_encode(d, len, &enc) == 0) {
		CHECK(len > 0 && fuzz_maildir_is_utf8(d, len));
		for (size_t i = 0; i < enc.len; i++)
			CHECK(enc.data[i] >= 0x20 && enc.data[i] < 0x7f &&
			    enc.data[i] != '.');
		/* Names come from C strings: one holding a NUL cannot be
		   read back. */
		if (memchr(d, '\0', len) != NULL) {
			CHECK(maildir_name_level_decode(enc.data, enc.len,
			    &back) == -1);
		} else {
			CHECK(maildir_name_level_decode(enc.data, enc.len,
			    &back) == 0);
			CHECK(back.len == len && memcmp(back.data, d, len) ==
			    0);
		}
	} else {
		CHECK(len == 0 || !fuzz_maildir_is_utf8(d, len));
	}
	buf_clear(&enc);
	buf_clear(&back);

	for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		char *m = maildir_name_from_levels(d, len, seps[i]);

		if (m != NULL)
			(void)fuzz_maildir_check_mailbox(m);
		free(m);
	}

	c = fuzz_maildir_cstr(d, len);
	if ((mailbox = maildir_name_from_dir(c)) != NULL) {
		bool empty_level = fuzz_maildir_check_mailbox(mailbox);

		/* The directory for it names the same mailbox. */
		dir = maildir_name_to_dir(mailbox);
		CHECK((dir == NULL) == empty_level);
		if (dir != NULL && strcasecmp(mailbox, "INBOX") == 0) {
			CHECK(dir[0] == '\0');
		} else if (dir != NULL) {
			char *again = maildir_name_from_dir(dir);

			CHECK(again != NULL && strcmp(again, mailbox) == 0);
			free(again);
		}
		free(dir);
		free(mailbox);
	}
	/* The input as a mailbox name: a directory that reads back to it
	   (a first level INBOX spelled so). */
	if ((dir = maildir_name_to_dir(c)) != NULL && dir[0] != '\0') {
		size_t first = strcspn(c, "/");

		mailbox = maildir_name_from_dir(dir);
		CHECK(mailbox != NULL && strlen(mailbox) == strlen(c));
		if (first == 5 && strncasecmp(c, "INBOX", 5) == 0)
			CHECK(memcmp(mailbox, "INBOX", 5) == 0 &&
			    strcmp(mailbox + 5, c + 5) == 0);
		else
			CHECK(strcmp(mailbox, c) == 0);
		free(mailbox);
	}
	free(dir);
	free(c);
}

static void
fuzz_maildir_subscriptions(const char *d, size_t len)
{
	char **names, **names2;
	size_t n, n2, bad, bad2;
	struct buf out;

	maildir_subscriptions_parse(d, len, &names, &n, &bad);
	CHECK((n == 0) == (names == NULL));
	bool empty_level = false;

	for (size_t i = 0; i < n; i++)
		empty_level |= fuzz_maildir_check_mailbox(names[i]);
	buf_init(&out, 0);
	CHECK((maildir_subscriptions_format(names, n, &out) == -1) ==
	    empty_level);
	if (empty_level) {
		CHECK(out.len == 0);
		goto out;
	}
	maildir_subscriptions_parse(out.data, out.len, &names2, &n2, &bad2);
	CHECK(bad2 == 0 && n2 == n);
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(names[i], names2[i]) == 0);
	maildir_subscriptions_free(&names2, n2);
out:
	maildir_subscriptions_free(&names, n);
	CHECK(names == NULL);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *d = malloc(size > 0 ? size : 1);
	const char *rest = d + (size > 0);
	size_t rest_len = size > 0 ? size - 1 : 0;

	CHECK(d != NULL);
	if (size > 0)
		memcpy(d, data, size);
	switch (size > 0 ? d[0] : '\0') {
	case 'u':
		fuzz_maildir_uidlist(rest, rest_len);
		break;
	case 'k':
		fuzz_maildir_keywords(rest, rest_len);
		break;
	case 'f':
		fuzz_maildir_filename(rest, rest_len);
		break;
	case 'n':
		fuzz_maildir_name(rest, rest_len);
		break;
	case 's':
		fuzz_maildir_subscriptions(rest, rest_len);
		break;
	default:
		fuzz_maildir_uidlist(d, size);
		fuzz_maildir_keywords(d, size);
		fuzz_maildir_filename(d, size);
		fuzz_maildir_name(d, size);
		fuzz_maildir_subscriptions(d, size);
		break;
	}
	free(d);
	return 0;
}
