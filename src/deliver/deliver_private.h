/* deliver_private.h — what the files of src/deliver/ share. */
#ifndef PETREL_DELIVER_PRIVATE_H
#define PETREL_DELIVER_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "deliver/deliver.h"

struct directory;
struct directory_delivery;
struct store;

/* Open store handles, reused across passes (an SQLite open per account
   and pass would cost more than the delivery). */
#define DELIVER_STORES_MAX 32

struct deliver_store {
	int64_t account_id;
	struct store *store;
	int64_t inbox_id;
	uint64_t last_used;
};

struct deliver {
	char *data_dir;
	struct queue *queue;
	struct deliver_config config;
	struct directory *dir;		/* the delivery thread's handle */
	struct deliver_store stores[DELIVER_STORES_MAX];
	uint64_t clock;			/* LRU ticks */

	pthread_mutex_t mutex;
	pthread_cond_t cond;
	bool woken, stopping, running;
	pthread_t thread;
	struct deliver_stats stats;
};

/* deliver_stores.c */
/* The account's store, opened on first use (limits refreshed each time).
   NULL with a logged error when it cannot be opened. */
struct deliver_store *deliver_stores_get(struct deliver *d,
    const struct directory_delivery *delivery);
void deliver_stores_close(struct deliver *d);

/* deliver_copy.c */
/* The mailbox a copy goes to under the account's plus mode: INBOX, or
   INBOX/<tag> (created when missing; INBOX when the tag is not a valid
   name). Returns the mailbox id, or -1 (store error, logged). */
int64_t deliver_copy_mailbox(struct deliver_store *ds,
    const struct directory_delivery *delivery, const char *qid);
/* For the "subject" plus mode: the message with "[tag] " put in front of
   its Subject (or a "Subject: [tag]" field added). Heap; NULL when the
   file cannot be read (*len_r untouched). */
char *deliver_copy_tagged(const char *path, const char *tag, size_t *len_r);

/* deliver_pass.c */
/* One batch of due messages. Returns the number attempted, or -1. */
int deliver_pass(struct deliver *d, time_t now);
#endif
