/* maildir_keywords.h — Dovecot's dovecot-keywords: which keyword each
   letter a-z in a folder's file names stands for ("0 $Junk" makes 'a'
   $Junk, "1 $NonJunk" 'b', and so on up to 25; doc.dovecot.org, "Maildir
   Mailbox Format"). A Maildir holds at most 26 keywords per folder this
   way; Dovecot keeps more only in its index, which is not read here.

   Pure functions; thread-safe. */
#ifndef PETREL_MAILDIR_KEYWORDS_H
#define PETREL_MAILDIR_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define MAILDIR_KEYWORDS_N 26
/* Largest dovecot-keywords read: 26 lines of a keyword each. */
#define MAILDIR_KEYWORDS_FILE_MAX ((size_t)64 * 1024)

struct maildir_keywords {
	char *names[MAILDIR_KEYWORDS_N];	/* heap, NULL when unused */
};

/* Parses a whole file's contents into kw (which must be zeroed or
   cleared). A line that does not parse, an index past 25 or used before,
   and a name that is not a valid keyword (migrate_flags.h) are skipped
   and counted in *bad_r (not NULL). */
void maildir_keywords_parse(const char *data, size_t len,
    struct maildir_keywords *kw, size_t *bad_r);

/* Adds the keywords whose letters are set in letters (bit i: 'a' + i) to
   the space-separated list (migrate_flags_keyword_add). Returns how many
   letters have no keyword in kw (Dovecot ignores those too). */
unsigned maildir_keywords_apply(const struct maildir_keywords *kw,
    uint32_t letters, struct buf *list);

/* For export: the index of keyword name[0..len) (ASCII case-insensitive),
   given the first free one if add and it has none. -1 when absent, or
   all 26 are taken. */
int maildir_keywords_index(struct maildir_keywords *kw, const char *name,
    size_t len, bool add);

/* The file's contents for kw. */
int maildir_keywords_format(const struct maildir_keywords *kw,
    struct buf *out);

/* Frees the names; kw is empty afterwards. */
void maildir_keywords_clear(struct maildir_keywords *kw);
#endif
