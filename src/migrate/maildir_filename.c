/* maildir_filename.c — see maildir_filename.h. */
#include "migrate/maildir_filename.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* The letters of the standard, in the ASCII order names must use. */
static const struct {
	char letter;
	unsigned flag;
} maildir_filename_letters[] = {
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'R', STORE_FLAG_ANSWERED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_DELETED },
};
#define MAILDIR_FILENAME_N_LETTERS \
	(sizeof(maildir_filename_letters) / sizeof(maildir_filename_letters[0]))

int
maildir_filename_parse(const char *name, struct maildir_filename *fn_r)
{
	const char *colon = strchr(name, ':');

	memset(fn_r, 0, sizeof(*fn_r));
	if (name[0] == '\0' || name[0] == '.')
		return -1;
	fn_r->base = name;
	fn_r->base_len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	if (fn_r->base_len == 0)
		return -1;
	if (colon == NULL || colon[1] != '2' || colon[2] != ',')
		return 0;
	/* Dovecot: a ',' ends the flags, fields after it are not flags. */
	for (const char *p = colon + 3; *p != '\0' && *p != ','; p++) {
		if (*p >= 'a' && *p <= 'z') {
			fn_r->keywords |= 1u << (*p - 'a');
			continue;
		}
		if (*p == 'P') {
			fn_r->passed = true;
			continue;
		}
		/* Unknown letters are ignored, as Dovecot does. */
		for (size_t i = 0; i < MAILDIR_FILENAME_N_LETTERS; i++)
			if (*p == maildir_filename_letters[i].letter)
				fn_r->flags |= maildir_filename_letters[i].flag;
	}
	return 0;
}

char *
maildir_filename_build(time_t internal_date, uint32_t uid,
    uint32_t uidvalidity, uint64_t size, unsigned flags, uint32_t keywords)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_printf(&b, "%lld.M%luV%lu.petrel,S=%llu,W=%llu:2,",
	    internal_date > 0 ? (long long)internal_date : 0LL,
	    (unsigned long)uid, (unsigned long)uidvalidity,
	    (unsigned long long)size, (unsigned long long)size);
	for (size_t i = 0; i < MAILDIR_FILENAME_N_LETTERS; i++) {
		const char *letter = &maildir_filename_letters[i].letter;

		if (flags & maildir_filename_letters[i].flag)
			(void)buf_append(&b, letter, 1);
	}
	for (unsigned i = 0; i < 26; i++) {
		char c = (char)('a' + i);

		if (keywords & (1u << i))
			(void)buf_append(&b, &c, 1);
	}
	return buf_steal(&b);
}

/* The digits at *p, advancing past them. */
static bool
maildir_filename_number(const char **p, uint32_t *n_r)
{
	const char *start = *p;

	while (**p >= '0' && **p <= '9')
		(*p)++;
	return str_to_u32_n(start, (size_t)(*p - start), n_r) == 0;
}

bool
maildir_filename_exported_uid(const char *name, uint32_t uidvalidity,
    uint32_t *uid_r)
{
	static const char tag[] = ".petrel";
	const char *p = name;
	uint32_t uid, v;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == name || p[0] != '.' || p[1] != 'M')
		return false;
	p += 2;
	if (!maildir_filename_number(&p, &uid) || uid == 0 || *p++ != 'V' ||
	    !maildir_filename_number(&p, &v) || v != uidvalidity ||
	    strncmp(p, tag, sizeof(tag) - 1) != 0)
		return false;
	p += sizeof(tag) - 1;
	if (*p != ',' && *p != ':' && *p != '\0')
		return false;
	*uid_r = uid;
	return true;
}
