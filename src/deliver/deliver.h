/* deliver.h — the local delivery agent: takes due messages from the queue,
   resolves each recipient with the directory, and stores a copy in each
   local account's mailbox (DESIGN.md §4: queue → local delivery → store).

   One thread of its own. It wakes after each group commit of the queue
   and when a deferred message is due, takes up to a batch of due messages,
   and makes their deliveries durable with one store transaction per
   account (the queue file hard-linked into the account, one directory
   fsync, one index commit), then records the outcome in the queue in one
   transaction. A crash between the two is harmless: each copy carries a
   delivery key ("<queue id>/<recipient index>"), so the next attempt
   finds it stored and does not store it twice.

   Per recipient: a copy per account it resolves to (INBOX; INBOX/<tag> or
   "[tag] " in the Subject per the account's plus mode), forwards added to
   the queue as outbound recipients, remote recipients left outbound,
   unknown ones failed (the bounce is due), temporary errors (database,
   disk, over quota) deferred with exponential backoff until the queue
   lifetime is over, then failed. */
#ifndef PETREL_DELIVER_H
#define PETREL_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct queue;
struct deliver;

struct deliver_config {
	unsigned retry_min;		/* seconds before the first retry; 300 */
	unsigned retry_max;		/* backoff cap; 3600 */
	unsigned lifetime;		/* seconds in the queue before a
					   deferred recipient fails; 5 days */
	size_t batch;			/* messages per pass; 256 */
	bool no_thread;			/* only deliver_run_once delivers */
};
#define DELIVER_CONFIG_DEFAULT { 300, 3600, 5 * 24 * 3600, 256, false }

/* Opens the directory of data_dir and starts the thread (which delivers
   what is already due at once). config NULL: defaults. Returns NULL with
   *error_r (heap). The queue must outlive the agent. */
struct deliver *deliver_new(const char *data_dir, struct queue *queue,
    const struct deliver_config *config, char **error_r);
/* Finishes the pass under way, stops the thread, frees. Accepts NULL. */
void deliver_free(struct deliver **deliver);

/* Delivers what is due now on the calling thread, until nothing is
   (tests, the CLI). Returns the number of messages attempted, or -1. */
int deliver_run_once(struct deliver *deliver, time_t now);

struct deliver_stats {
	uint64_t passes, messages, stored, deferred, failed;
};
void deliver_stats(struct deliver *deliver, struct deliver_stats *stats_r);
#endif
