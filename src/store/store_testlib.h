/* store_testlib.h — what the store's unit tests share: opening an account
   in a data dir, building and appending messages, counting message files.
   Test support only: the daemon never calls it, and it uses nothing that
   only a test links (no lib/test.h), so it may live in the library. Every
   failure to set up is a panic: there is nothing to test without it. */
#ifndef PETREL_STORE_TESTLIB_H
#define PETREL_STORE_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* store_open or panic. */
struct store *store_testlib_open(const char *data_dir, int64_t account_id,
    const struct store_limits *limits);
/* The id of mailbox name, or panic. */
int64_t store_testlib_mailbox(struct store *store, const char *name);
/* A message of about size bytes (at least its header) with CRLF line ends;
   message_id and in_reply_to (with their <>) may be NULL. Heap. */
char *store_testlib_message(size_t size, const char *message_id,
    const char *in_reply_to);
/* store_append of text (as data) with flags; returns its STORE_* code. */
int store_testlib_append(struct store *store, int64_t mailbox_id,
    const char *text, unsigned flags, uint32_t *uid_r);
/* Regular files under DATA/accounts/<id>/msg/<xx>/. */
size_t store_testlib_count_files(const char *data_dir, int64_t account_id);
/* Messages of the mailbox (store_uids), or panic. */
size_t store_testlib_count(struct store *store, int64_t mailbox_id);
#endif
