/* migrate_flags.h — IMAP keywords the way the store keeps them: a string
   of atoms separated by one space (store.h, struct store_append). Every
   source format (Maildir letters, dovecot-keywords, mbox X-Keywords) goes
   through here, so a keyword the store would refuse is dropped with a
   warning instead of failing the whole message.

   Pure functions; thread-safe. */
#ifndef PETREL_MIGRATE_FLAGS_H
#define PETREL_MIGRATE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Maildir's 'P' (passed: resent, forwarded or bounced) has no system
   flag; RFC 5788's registered keyword says the same thing. */
#define MIGRATE_FLAGS_FORWARDED "$Forwarded"

/* Longest keyword taken: far above any client's (Thunderbird's "$label5",
   "NonJunk"), and a bound on what one message's flags can cost. */
#define MIGRATE_FLAGS_KEYWORD_MAX 128

/* Most keywords one message keeps (the store's own limit). */
#define MIGRATE_FLAGS_KEYWORDS_MAX 128

/* True when s[0..len) is an IMAP flag-keyword (RFC 9051 §9: an atom, so
   no space, control, non-ASCII, "(){%*\"\\]") of at most
   MIGRATE_FLAGS_KEYWORD_MAX bytes. */
bool migrate_flags_keyword_is_valid(const char *s, size_t len);

/* Adds the keyword s[0..len) to the space-separated list unless it is
   there already (keywords compare ASCII case-insensitively, RFC 9051
   §2.3.2). Returns 1 when added, 0 when present, -1 when it is not a
   valid keyword or the list holds MIGRATE_FLAGS_KEYWORDS_MAX already (list
   unchanged). */
int migrate_flags_keyword_add(struct buf *list, const char *s, size_t len);
#endif
