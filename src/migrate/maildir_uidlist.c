/* maildir_uidlist.c — see maildir_uidlist.h. */
#include "migrate/maildir_uidlist.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* The next space-separated token of line[*pos..len), advancing past it;
   false at the end. */
static bool
maildir_uidlist_token(const char *line, size_t len, size_t *pos,
    const char **tok_r, size_t *tok_len_r)
{
	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	if (*pos == len)
		return false;
	*tok_r = line + *pos;
	while (*pos < len && line[*pos] != ' ')
		(*pos)++;
	*tok_len_r = (size_t)(line + *pos - *tok_r);
	return true;
}

static int
maildir_uidlist_header(const char *line, size_t len,
    struct maildir_uidlist *list)
{
	const char *tok;
	size_t pos = 0, tlen;

	if (!maildir_uidlist_token(line, len, &pos, &tok, &tlen) ||
	    tlen != 1 || (tok[0] != '1' && tok[0] != '2' && tok[0] != '3'))
		return -1;
	list->version = tok[0] == '1' ? 1 : 3;
	if (list->version == 1) {
		/* Courier: "1 <uidvalidity> <uidnext>" */
		const char *t2;
		size_t t2len;

		if (!maildir_uidlist_token(line, len, &pos, &tok, &tlen) ||
		    !maildir_uidlist_token(line, len, &pos, &t2, &t2len) ||
		    str_to_u32_n(tok, tlen, &list->uidvalidity) == -1 ||
		    str_to_u32_n(t2, t2len, &list->uidnext) == -1)
			return -1;
		return 0;
	}
	while (maildir_uidlist_token(line, len, &pos, &tok, &tlen)) {
		uint32_t *field = tok[0] == 'V' ? &list->uidvalidity :
		    tok[0] == 'N' ? &list->uidnext : NULL;

		if (field != NULL &&
		    str_to_u32_n(tok + 1, tlen - 1, field) == -1)
			return -1;
	}
	return 0;
}

/* One message line: its UID and the base of its file name. */
static int
maildir_uidlist_line(const char *line, size_t len, unsigned version,
    uint32_t *uid_r, const char **base_r, size_t *base_len_r)
{
	const char *tok, *name = NULL;
	size_t pos = 0, tlen, name_len = 0;

	if (!maildir_uidlist_token(line, len, &pos, &tok, &tlen) ||
	    str_to_u32_n(tok, tlen, uid_r) == -1 || *uid_r == 0)
		return -1;
	if (version == 1) {
		if (!maildir_uidlist_token(line, len, &pos, &tok, &tlen))
			return -1;
		name = tok;
		name_len = tlen;
	} else {
		/* Extension fields ("W2481", "G<guid>") until the one that
		   starts with ':', which is the name to the end of line. */
		while (maildir_uidlist_token(line, len, &pos, &tok, &tlen)) {
			if (tok[0] == ':') {
				name = tok + 1;
				name_len = (size_t)(line + len - name);
				break;
			}
		}
		if (name == NULL)
			return -1;
	}
	const char *colon = memchr(name, ':', name_len);

	if (colon != NULL)
		name_len = (size_t)(colon - name);
	if (name_len == 0 || memchr(name, '\0', name_len) != NULL ||
	    memchr(name, '/', name_len) != NULL)
		return -1;
	*base_r = name;
	*base_len_r = name_len;
	return 0;
}

static int
maildir_uidlist_cmp(const void *a, const void *b)
{
	const struct maildir_uidlist_entry *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	if (c != 0)
		return c;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

int
maildir_uidlist_parse(const char *data, size_t len,
    struct maildir_uidlist *list_r, size_t *bad_r, const char **error_r)
{
	size_t cap = 0, pos = 0, kept;
	uint32_t last_uid = 0;
	bool header = true;

	memset(list_r, 0, sizeof(*list_r));
	*bad_r = 0;
	while (pos < len) {
		const char *line = data + pos, *nl;
		size_t line_len;

		nl = memchr(line, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (header) {
			header = false;
			if (maildir_uidlist_header(line, line_len, list_r) ==
			    -1) {
				*error_r = "not a dovecot-uidlist header";
				return -1;
			}
			continue;
		}
		if (line_len == 0)
			continue;

		const char *base;
		size_t base_len;
		uint32_t uid;

		if (maildir_uidlist_line(line, line_len, list_r->version, &uid,
		    &base, &base_len) == -1 || uid <= last_uid) {
			(*bad_r)++;
			continue;
		}
		last_uid = uid;
		if (list_r->n == cap) {
			cap = cap ? cap * 2 : 64;
			list_r->entries = xreallocarray(list_r->entries, cap,
			    sizeof(*list_r->entries));
		}
		list_r->entries[list_r->n].uid = uid;
		list_r->entries[list_r->n].base = xstrndup(base, base_len);
		list_r->n++;
	}
	if (header) {
		*error_r = "empty dovecot-uidlist";
		return -1;
	}
	if (list_r->n > 1)
		qsort(list_r->entries, list_r->n, sizeof(*list_r->entries),
		    maildir_uidlist_cmp);
	/* A base listed twice keeps its first (lowest) UID. */
	kept = 0;
	for (size_t i = 0; i < list_r->n; i++) {
		if (kept > 0 && strcmp(list_r->entries[kept - 1].base,
		    list_r->entries[i].base) == 0) {
			free(list_r->entries[i].base);
			(*bad_r)++;
			continue;
		}
		list_r->entries[kept++] = list_r->entries[i];
	}
	list_r->n = kept;
	return 0;
}

uint32_t
maildir_uidlist_lookup(const struct maildir_uidlist *list, const char *base,
    size_t len)
{
	size_t lo = 0, hi = list->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *b = list->entries[mid].base;
		size_t blen = strlen(b);
		/* Not strncmp: a NUL in base would stop it at b's end and
		   b[len] would be read past it. Same order as strcmp. */
		int c = memcmp(b, base, blen < len ? blen : len);

		if (c == 0)
			c = blen < len ? -1 : blen > len;
		if (c == 0)
			return list->entries[mid].uid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void
maildir_uidlist_clear(struct maildir_uidlist *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->entries[i].base);
	free(list->entries);
	memset(list, 0, sizeof(*list));
}

int
maildir_uidlist_format_header(struct buf *out, uint32_t uidvalidity,
    uint32_t uidnext, const char *guid)
{
	return buf_printf(out, "3 V%lu N%lu G%s\n", (unsigned long)uidvalidity,
	    (unsigned long)uidnext, guid);
}

int
maildir_uidlist_format_line(struct buf *out, uint32_t uid,
    const char *filename)
{
	return buf_printf(out, "%lu :%s\n", (unsigned long)uid, filename);
}
