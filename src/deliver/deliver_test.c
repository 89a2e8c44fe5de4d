/* deliver_test.c — the delivery agent on a real data dir: directory,
   queue and stores, driven with deliver_run_once (no thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"
#include "store/store.h"

struct fixture {
	char *dir;
	struct directory *directory;
	struct queue *queue;
	struct deliver *deliver;
	int64_t alice, bob;
};

static void
must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "setup failed: %s\n", what);
		abort();
	}
}

static void
fixture_open(struct fixture *f)
{
	struct deliver_config cfg = DELIVER_CONFIG_DEFAULT;
	static const char *const fwd[] = { "far@remote.example" };
	char *error = NULL;

	memset(f, 0, sizeof(*f));
	f->dir = test_tmpdir();
	must(directory_open(f->dir, true, &f->directory, &error) == 0, "dir");
	must(directory_admin_domain_add(f->directory, "example.org",
	    NULL) == 0, "domain");
	must(directory_admin_account_add(f->directory, "alice@example.org",
	    NULL, NULL, 0, &f->alice, NULL) == 0, "alice");
	must(directory_admin_account_add(f->directory, "bob@example.org",
	    NULL, NULL, 0, &f->bob, NULL) == 0, "bob");
	must(directory_admin_account_add(f->directory, "fwd@example.org",
	    NULL, NULL, 0, NULL, NULL) == 0, "fwd");
	must(directory_admin_account_set_plus_mode(f->directory,
	    "alice@example.org", "folder", NULL) == 0, "plus folder");
	must(directory_admin_account_set_plus_mode(f->directory,
	    "bob@example.org", "subject", NULL) == 0, "plus subject");
	must(directory_admin_account_set_forward(f->directory,
	    "fwd@example.org", fwd, 1, false, NULL) == 0, "forward");
	must(queue_open(f->dir, &f->queue, &error) == 0, "queue");
	cfg.no_thread = true;
	f->deliver = deliver_new(f->dir, f->queue, &cfg, &error);
	must(f->deliver != NULL, "deliver");
}

static void
fixture_close(struct fixture *f)
{
	deliver_free(&f->deliver);
	queue_close(&f->queue);
	directory_close(&f->directory);
	fsutil_remove_tree(f->dir);
	free(f->dir);
}

/* Queues text for the recipients; returns the queue id (static). */
static const char *
enqueue(struct fixture *f, const char *text, const char *const *rcpts,
    size_t n)
{
	static char id[32];
	struct queue_envelope env = { 0 };
	struct queue_rcpt r[8];
	const char *werr = NULL;
	struct queue_writer *w = queue_writer_new(f->queue, &werr);
	char *error = NULL;

	must(w != NULL && n <= 8, "writer");
	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		r[i].address = (char *)rcpts[i];
	env.mail_from = (char *)"sender@remote.example";
	env.rcpts = r;
	env.n_rcpts = n;
	must(queue_writer_write(w, text, strlen(text)) == 0, "write");
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	must(queue_commit(f->queue, &w, &env, &error) == 0, "commit");
	return id;
}

/* Messages in the mailbox name of account id; -1 when it does not exist. */
static int
count(struct fixture *f, int64_t account, const char *name)
{
	struct store *st = NULL;
	struct store_mailbox mb;
	char *error = NULL;
	int n = -1;

	must(store_open(f->dir, account, NULL, &st, &error) == STORE_OK,
	    "store_open");
	if (store_mailbox_get(st, name, &mb) == STORE_OK) {
		n = (int)mb.messages;
		store_mailbox_clear(&mb);
	}
	store_close(&st);
	return n;
}

static int
first_message(const struct store_message *msg, void *ctx)
{
	char **path = ctx;

	*path = xstrdup(msg->path);
	return 1;
}

/* The bytes of the first message of account's mailbox. */
static char *
first_bytes(struct fixture *f, int64_t account, const char *name)
{
	struct store *st = NULL;
	struct store_mailbox mb;
	char *error = NULL, *path = NULL, *data = NULL;
	size_t len;

	must(store_open(f->dir, account, NULL, &st, &error) == STORE_OK,
	    "store_open");
	if (store_mailbox_get(st, name, &mb) == STORE_OK) {
		store_fetch(st, mb.id, NULL, 0, STORE_FETCH_PATH,
		    first_message, &path);
		store_mailbox_clear(&mb);
	}
	store_close(&st);
	if (path != NULL && fsutil_read_file(path, 1 << 20, &data, &len) == -1)
		data = NULL;
	free(path);
	return data;
}

static const char *
rcpt_status(struct fixture *f, const char *id, size_t idx)
{
	static char status[32];
	struct queue_envelope env;
	char *error = NULL;

	if (queue_show(f->queue, id, &env, &error) != 0) {
		free(error);
		return "gone";
	}
	snprintf(status, sizeof(status), "%s", idx < env.n_rcpts ?
	    env.rcpts[idx].status : "none");
	queue_envelope_clear(&env);
	return status;
}

static void
test_local_delivery(void)
{
	struct fixture f;
	static const char *const rcpts[] = { "alice@example.org",
		"Alice+News@example.org", "bob+sale@example.org",
		"alice+News@example.org" };
	const char *msg = "From: x@remote.example\r\nSubject: Hello\r\n"
	    "\r\nbody\r\n";
	const char *id;
	char *bytes, *path;
	struct stat st;

	fixture_open(&f);
	id = enqueue(&f, msg, rcpts, 4);
	path = queue_message_path(f.queue, id);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_INT(count(&f, f.alice, "INBOX"), 1);
	/* The tag keeps its case; two recipients, one copy. */
	TEST_EQ_INT(count(&f, f.alice, "INBOX/News"), 1);
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 1);
	bytes = first_bytes(&f, f.alice, "INBOX");
	TEST_EQ_STR(bytes, msg);
	free(bytes);
	bytes = first_bytes(&f, f.bob, "INBOX");
	TEST_EQ_STR(bytes, "From: x@remote.example\r\nSubject: [sale] Hello"
	    "\r\n\r\nbody\r\n");
	free(bytes);
	/* All delivered: row and file gone. */
	TEST_EQ_STR(rcpt_status(&f, id, 0), "gone");
	TEST_ASSERT(stat(path, &st) == -1);
	free(path);
	/* Nothing due any more. */
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 0);
	fixture_close(&f);
}

static void
test_outcomes(void)
{
	struct fixture f;
	static const char *const rcpts[] = { "ghost@example.org",
		"someone@remote.example", "fwd@example.org",
		"bob@example.org" };
	const char *id;
	struct queue_envelope env;
	char *error = NULL;

	fixture_open(&f);
	id = enqueue(&f, "Subject: x\r\n\r\nbody\r\n", rcpts, 4);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_STR(rcpt_status(&f, id, 0), "failed");
	TEST_EQ_STR(rcpt_status(&f, id, 1), "outbound");
	TEST_EQ_STR(rcpt_status(&f, id, 2), "delivered");
	TEST_EQ_STR(rcpt_status(&f, id, 3), "delivered");
	/* The forward waits for outbound delivery, not lost. */
	TEST_EQ_INT(queue_show(f.queue, id, &env, &error), 0);
	TEST_EQ_INT(env.n_rcpts, 5);
	TEST_EQ_STR(env.rcpts[4].address, "far@remote.example");
	TEST_EQ_STR(env.rcpts[4].status, "outbound");
	TEST_ASSERT(env.rcpts[0].last_error != NULL &&
	    strstr(env.rcpts[0].last_error, "5.1.1") != NULL);
	queue_envelope_clear(&env);
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 1);
	fixture_close(&f);
}

/* Over quota: deferred (nothing stored), retried later with backoff, and
   delivered once there is room; the message alone too big: failed. */
static void
test_quota(void)
{
	struct fixture f;
	static const char *const rcpts[] = { "bob@example.org" };
	uint64_t small = 10, room = 1 << 20;
	const char *id;
	char big[200];

	fixture_open(&f);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	must(directory_admin_account_set_quota(f.directory, "bob@example.org",
	    &small, NULL, NULL) == 0, "quota");
	id = enqueue(&f, big, rcpts, 1);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_STR(rcpt_status(&f, id, 0), "failed");

	small = 300;
	must(directory_admin_account_set_quota(f.directory, "bob@example.org",
	    &small, NULL, NULL) == 0, "quota");
	id = enqueue(&f, big, rcpts, 1);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 1);
	id = enqueue(&f, big, rcpts, 1);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_STR(rcpt_status(&f, id, 0), "deferred");
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 1);
	/* Not due before the retry time (5 minutes after the attempt);
	   times are read afresh, as a second may pass during the test. */
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL) + 10), 0);
	must(directory_admin_account_set_quota(f.directory, "bob@example.org",
	    &room, NULL, NULL) == 0, "quota");
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL) + 301), 1);
	TEST_EQ_STR(rcpt_status(&f, id, 0), "gone");
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 2);
	fixture_close(&f);
}

/* The Subject of a plus-tagged copy in subject mode: the obsolete
   "Subject :" (blank before the colon) keeps its name, the tag goes into
   the value; a message without any header gets a Subject field. */
static void
test_subject_tag(void)
{
	struct fixture f;
	static const char *const rcpts[] = { "bob+sale@example.org" };
	char *bytes;

	fixture_open(&f);
	enqueue(&f, "From: x@remote.example\r\nSubject \t: Hello\r\n"
	    "\r\nbody\r\n", rcpts, 1);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	bytes = first_bytes(&f, f.bob, "INBOX");
	TEST_EQ_STR(bytes, "From: x@remote.example\r\nSubject \t: [sale] "
	    "Hello\r\n\r\nbody\r\n");
	free(bytes);
	fixture_close(&f);

	fixture_open(&f);
	enqueue(&f, "\r\nno header\r\n", rcpts, 1);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	bytes = first_bytes(&f, f.bob, "INBOX");
	TEST_EQ_STR(bytes, "Subject: [sale]\r\n\r\nno header\r\n");
	free(bytes);
	fixture_close(&f);
}

/* deliver_free while the thread works through a backlog: it stops after
   the pass under way, it does not deliver the whole queue first. */
static void
test_shutdown_backlog(void)
{
	struct deliver_config cfg = DELIVER_CONFIG_DEFAULT;
	static const char *const rcpts[] = { "alice@example.org" };
	struct queue_envelope *envs = NULL;
	struct deliver_stats stats;
	struct fixture f;
	char *error = NULL;
	size_t n = 0;
	enum { BACKLOG = 60 };

	fixture_open(&f);
	deliver_free(&f.deliver);
	for (int i = 0; i < BACKLOG; i++)
		enqueue(&f, "Subject: x\r\n\r\nbody\r\n", rcpts, 1);
	cfg.batch = 1;
	f.deliver = deliver_new(f.dir, f.queue, &cfg, &error);
	must(f.deliver != NULL, "deliver");
	/* Once the thread has finished its first pass. */
	for (int i = 0; i < 5000; i++) {
		deliver_stats(f.deliver, &stats);
		if (stats.passes > 0)
			break;
		usleep(1000);
	}
	TEST_ASSERT(stats.passes > 0);
	deliver_free(&f.deliver);
	TEST_EQ_INT(queue_list(f.queue, &envs, &n, &error), 0);
	/* At most a couple of passes ran, one message each. */
	TEST_ASSERT(n >= BACKLOG - 3);
	queue_envelopes_free(envs, n);
	/* What is left is delivered later, once each. */
	cfg.no_thread = true;
	f.deliver = deliver_new(f.dir, f.queue, &cfg, &error);
	must(f.deliver != NULL, "deliver");
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), (int)n);
	TEST_EQ_INT(count(&f, f.alice, "INBOX"), BACKLOG);
	fixture_close(&f);
}

/* A queued message whose file went missing fails every recipient at once
   (no retry can bring the bytes back) and is not stored. */
static void
test_missing_file(void)
{
	struct fixture f;
	static const char *const rcpts[] = { "bob@example.org" };
	const char *id;
	char *path;

	fixture_open(&f);
	id = enqueue(&f, "Subject: gone\r\n\r\nx\r\n", rcpts, 1);
	path = queue_message_path(f.queue, id);
	TEST_EQ_INT(unlink(path), 0);
	TEST_EQ_INT(deliver_run_once(f.deliver, time(NULL)), 1);
	TEST_EQ_STR(rcpt_status(&f, id, 0), "failed");
	TEST_EQ_INT(count(&f, f.bob, "INBOX"), 0);
	free(path);
	fixture_close(&f);
}

int
main(void)
{
	TEST_RUN(test_local_delivery);
	TEST_RUN(test_outcomes);
	TEST_RUN(test_quota);
	TEST_RUN(test_missing_file);
	TEST_RUN(test_subject_tag);
	TEST_RUN(test_shutdown_backlog);
	return test_done();
}
