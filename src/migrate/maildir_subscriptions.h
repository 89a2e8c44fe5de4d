/* maildir_subscriptions.h — Dovecot's "subscriptions" file (and Courier's
   courierimapsubscribed): the mailboxes a user subscribed to.

   Version 2 (Dovecot 2.3+) starts with "V\t2\n\n"; then one mailbox per
   line, its levels separated by TAB, each level tab-escaped (\001 then
   '1', 't', 'r' or 'n' for \001, TAB, CR, LF) and in the storage spelling
   (maildir_name.h). Version 1 (older Dovecot, Courier) has one name per
   line with the levels joined by the hierarchy separator, '.' for
   Maildir++ and '/' where the namespace separator was written; both are
   taken. Courier's "INBOX." namespace prefix is the caller's to strip: it
   knows which folders exist.

   Pure functions; thread-safe. */
#ifndef PETREL_MAILDIR_SUBSCRIPTIONS_H
#define PETREL_MAILDIR_SUBSCRIPTIONS_H

#include <stddef.h>

struct buf;

/* Largest subscriptions file read. */
#define MAILDIR_SUBSCRIPTIONS_MAX ((size_t)16 * 1024 * 1024)

/* The mailbox names in a file's contents: *names_r is a heap array of
   heap strings ("Folder/Sub"; free with maildir_subscriptions_free), NULL
   when empty. A line whose name does not decode is skipped and counted in
   *bad_r (not NULL). */
void maildir_subscriptions_parse(const char *data, size_t len,
    char ***names_r, size_t *n_r, size_t *bad_r);

/* A version 2 file for names ("Folder/Sub"). Returns 0, or -1 when a name
   does not encode (out as it was). */
int maildir_subscriptions_format(char *const *names, size_t n,
    struct buf *out);

/* Frees the names and the array; *names becomes NULL. */
void maildir_subscriptions_free(char ***names, size_t n);
#endif
