/* queue_test.c — unit tests for the queue: round trip, ids, group commit
   under concurrency, abort, crash recovery, failing disks and databases,
   completions on a libevent base. */
#include "queue/queue.h"
#include "queue/queue_private.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/test.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"

static struct queue *
open_queue(const char *dir)
{
	struct queue *q = NULL;
	char *error = NULL;

	if (queue_open(dir, &q, &error) == -1) {
		fprintf(stderr, "queue_open: %s\n", error);
		free(error);
		abort();
	}
	return q;
}

/* Number of entries in DATA/queue/<sub>. */
static int
count_files(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/queue/%s", dir, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	free(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* queue_list answers, and with want envelopes. */
static void
check_listed_at(const char *file, int line, struct queue *q, size_t want)
{
	struct queue_envelope *envs = NULL;
	char *error = NULL;
	size_t n = (size_t)-1;		/* queue_list must set it */

	if (queue_list(q, &envs, &n, &error) != 0) {
		test_fail(file, line, "queue_list: %s",
		    error != NULL ? error : "(no error)");
		free(error);
		return;
	}
	if (n != want)
		test_fail(file, line, "queue_list: %zu envelopes, want %zu", n,
		    want);
	if (envs != NULL)
		queue_envelopes_free(envs, n);
}

#define CHECK_LISTED(q, want) check_listed_at(__FILE__, __LINE__, (q), (want))

/* The end of a test: q closed, its data dir removed and freed. */
static void
queue_done(struct queue **q, char *dir)
{
	queue_close(q);
	fsutil_remove_tree(dir);
	free(dir);
}

static void
touch(const char *dir, const char *rel, const char *text)
{
	char *path = xasprintf("%s/queue/%s", dir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || fsutil_write_all(fd, text, strlen(text)) == -1)
		abort();
	close(fd);
	free(path);
}

static bool
file_exists(const char *dir, const char *rel)
{
	char *path = xasprintf("%s/queue/%s", dir, rel);
	struct stat st;
	bool ok = stat(path, &st) == 0;

	free(path);
	return ok;
}

/* Captures what the queue logs (stderr) between begin and end. */
struct capture {
	int saved;
	char *path;
};

static void
capture_begin(struct capture *c, const char *dir)
{
	int fd;

	log_set_level(LOG_LEVEL_INFO);
	c->path = xasprintf("%s/stderr.log", dir);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	c->saved = dup(STDERR_FILENO);
	if (fd == -1 || c->saved == -1 || dup2(fd, STDERR_FILENO) == -1)
		abort();
	close(fd);
}

static char *
capture_end(struct capture *c)
{
	char *data;
	size_t len;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	log_set_level(LOG_LEVEL_WARN);
	if (fsutil_read_file(c->path, 1 << 20, &data, &len) == -1)
		abort();
	unlink(c->path);
	free(c->path);
	return data;
}

static int
write_message(struct queue *q, const void *data, size_t len,
    struct queue_writer **w_r)
{
	const char *error = NULL;
	struct queue_writer *w = queue_writer_new(q, &error);

	if (w == NULL)
		return -1;
	*w_r = w;
	return queue_writer_write(w, data, len);
}

static void
simple_envelope(struct queue_envelope *env, struct queue_rcpt *rcpt,
    const char *from)
{
	memset(env, 0, sizeof(*env));
	memset(rcpt, 0, sizeof(*rcpt));
	rcpt->address = (char *)"bob@example.org";
	env->mail_from = (char *)from;
	env->helo = (char *)"client.example";
	env->client_addr = (char *)"192.0.2.7";
	env->rcpts = rcpt;
	env->n_rcpts = 1;
}

static void
test_id(void)
{
	static const struct {
		const char *id;
		bool valid;
	} cases[] = {
		{ "0193A5F1C2D3E40001ABCDEF01", true },
		{ "a", true },
		{ "0123456789012345678901234567890", true },	/* 31 */
		{ "01234567890123456789012345678901", false },	/* 32 */
		{ "", false },
		{ "../etc", false },
		{ "a/b", false },
		{ "a b", false },
		{ "a.", false },
		{ "\xc3\xa9", false },
	};
	char prev[QUEUE_ID_SIZE] = "", id[QUEUE_ID_SIZE];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (queue_id_is_valid(cases[i].id) != cases[i].valid)
			test_fail(__FILE__, __LINE__, "queue_id_is_valid(%s)",
			    cases[i].id);
	}
	for (int i = 0; i < 1000; i++) {
		queue_id_new(id);
		TEST_EQ_INT(strlen(id), 26);
		TEST_ASSERT(queue_id_is_valid(id));
		/* Time, then counter: each id sorts after the last. */
		TEST_ASSERT(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}
}

static void
test_roundtrip(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_writer *w = NULL;
	struct queue_rcpt rcpts[3] = {
		{ .address = (char *)"bob@example.org",
		  .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE,
		  .orcpt = (char *)"rfc822;bob@example.org" },
		{ .address = (char *)"j\xc3\xb6rg@example.org",
		  .notify = QUEUE_NOTIFY_NEVER },
		{ .address = (char *)"carol@example.net" },
	};
	struct queue_envelope env = {
		.mail_from = (char *)"alice@example.com",
		.body = QUEUE_BODY_8BITMIME,
		.smtputf8 = true,
		.ret = QUEUE_RET_HDRS,
		.envid = (char *)"QQ314159",
		.helo = (char *)"client.example.com",
		.client_addr = (char *)"2001:db8::1",
		.auth_user = (char *)"alice",
		.rcpts = rcpts,
		.n_rcpts = 3,
	};
	struct queue_envelope *envs = NULL, shown;
	size_t n = 0;
	char msg[70000], *error = NULL, *path, *data, *log, *line;
	struct capture cap;
	size_t len;
	time_t before = time(NULL);
	char id[QUEUE_ID_SIZE];
	struct stat st;

	/* Every byte value, NULs included, in uneven pieces. */
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(i * 7 + i / 256);
	memcpy(msg, "Subject: hi\r\nFrom: a@b\r\n\r\n", 26);
	const char *werr = NULL;
	w = queue_writer_new(q, &werr);
	TEST_ASSERT(w != NULL);
	if (w == NULL)
		return;
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	TEST_ASSERT(queue_id_is_valid(id));
	TEST_EQ_INT(count_files(dir, "tmp"), 1);
	for (size_t off = 0, step = 1; off < sizeof(msg); off += step,
	    step = step * 3 + 1) {
		if (step > sizeof(msg) - off)
			step = sizeof(msg) - off;
		TEST_EQ_INT(queue_writer_write(w, msg + off, step), 0);
	}
	TEST_EQ_INT(queue_writer_write(w, "", 0), 0);
	TEST_EQ_INT(queue_writer_size(w), sizeof(msg));
	capture_begin(&cap, dir);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), 0);
	log = capture_end(&cap);
	TEST_ASSERT(w == NULL);
	line = xasprintf("queue: qid=%s event=queued from=<alice@example.com> "
	    "nrcpt=3 size=%zu\n", id, sizeof(msg));
	TEST_ASSERT(strstr(log, line) != NULL);
	free(line);
	free(log);
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(count_files(dir, "msg"), 1);

	path = queue_message_path(q, id);
	TEST_ASSERT(strstr(path, "/queue/msg/") != NULL);
	TEST_EQ_INT(fsutil_read_file(path, sizeof(msg) * 2, &data, &len), 0);
	TEST_EQ_INT(len, sizeof(msg));
	TEST_ASSERT(memcmp(data, msg, sizeof(msg)) == 0);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 0777, 0600);
	free(data);
	free(path);

	/* Survives a close and a reopen, every field intact. */
	queue_close(&q);
	TEST_ASSERT(q == NULL);
	q = open_queue(dir);
	TEST_EQ_INT(queue_list(q, &envs, &n, &error), 0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(queue_show(q, id, &shown, &error), 0);
	for (int k = 0; k < 2 && n == 1; k++) {
		const struct queue_envelope *e = k == 0 ? &envs[0] : &shown;

		TEST_EQ_STR(e->id, id);
		TEST_EQ_STR(e->mail_from, "alice@example.com");
		TEST_EQ_INT(e->body, QUEUE_BODY_8BITMIME);
		TEST_ASSERT(e->smtputf8);
		TEST_EQ_INT(e->ret, QUEUE_RET_HDRS);
		TEST_EQ_STR(e->envid, "QQ314159");
		TEST_EQ_STR(e->helo, "client.example.com");
		TEST_EQ_STR(e->client_addr, "2001:db8::1");
		TEST_EQ_STR(e->auth_user, "alice");
		TEST_EQ_INT(e->size, sizeof(msg));
		TEST_ASSERT(e->arrival >= before && e->arrival <= time(NULL));
		TEST_EQ_INT(e->next_attempt, e->arrival);
		TEST_EQ_INT(e->n_rcpts, 3);
		if (e->n_rcpts != 3)
			continue;
		TEST_EQ_STR(e->rcpts[0].address, "bob@example.org");
		TEST_EQ_INT(e->rcpts[0].notify,
		    QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
		TEST_EQ_STR(e->rcpts[0].orcpt, "rfc822;bob@example.org");
		TEST_EQ_STR(e->rcpts[1].address, "j\xc3\xb6rg@example.org");
		TEST_EQ_INT(e->rcpts[1].notify, QUEUE_NOTIFY_NEVER);
		TEST_EQ_STR(e->rcpts[1].orcpt, NULL);
		TEST_EQ_STR(e->rcpts[2].address, "carol@example.net");
		TEST_EQ_INT(e->rcpts[2].notify, 0);
		for (int r = 0; r < 3; r++) {
			TEST_EQ_STR(e->rcpts[r].status, "queued");
			TEST_EQ_STR(e->rcpts[r].last_error, NULL);
		}
	}
	queue_envelope_clear(&shown);
	queue_envelopes_free(envs, n);

	/* Unknown and hostile ids are simply not found. */
	TEST_EQ_INT(queue_show(q, "0000000000000000000000FFFF", &shown,
	    &error), 1);
	TEST_EQ_INT(queue_show(q, "../../etc/passwd", &shown, &error), 1);
	TEST_EQ_INT(queue_show(q, "", &shown, &error), 1);

	/* The null sender and a minimal envelope. */
	struct queue_envelope env2;
	struct queue_rcpt rcpt2;
	simple_envelope(&env2, &rcpt2, "");
	env2.helo = env2.client_addr = NULL;
	TEST_EQ_INT(write_message(q, "x\r\n", 3, &w), 0);
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	TEST_EQ_INT(queue_commit(q, &w, &env2, &error), 0);
	TEST_EQ_INT(queue_show(q, id, &shown, &error), 0);
	TEST_EQ_STR(shown.mail_from, "");
	TEST_EQ_STR(shown.helo, NULL);
	TEST_EQ_STR(shown.envid, NULL);
	TEST_EQ_INT(shown.ret, QUEUE_RET_UNSET);
	TEST_EQ_INT(shown.body, QUEUE_BODY_7BIT);
	queue_envelope_clear(&shown);
	CHECK_LISTED(q, 2);

	queue_close(&q);
	queue_done(&q, dir);	/* queue_close again: accepts NULL */
}

/* 8 threads commit 200 messages at once: four with the async call, four
   blocking; every message lands exactly once, in fewer batches. */
#define CONC_THREADS 8
#define CONC_PER_THREAD 25

struct conc {
	struct queue *q;
	int thread;
	char ids[CONC_PER_THREAD][QUEUE_ID_SIZE];
	pthread_mutex_t *mutex;
	pthread_cond_t *cond;
	int *done, *failed;
};

static void
conc_cb(bool ok, const char *id, const char *error, void *ctx)
{
	struct conc *c = ctx;

	(void)id;
	(void)error;
	pthread_mutex_lock(c->mutex);
	(*c->done)++;
	if (!ok)
		(*c->failed)++;
	pthread_cond_broadcast(c->cond);
	pthread_mutex_unlock(c->mutex);
}

static void *
conc_thread(void *arg)
{
	struct conc *c = arg;

	for (int i = 0; i < CONC_PER_THREAD; i++) {
		struct queue_envelope env;
		struct queue_rcpt rcpt;
		struct queue_writer *w = NULL;
		char body[128], from[64], *error = NULL;
		int len = snprintf(body, sizeof(body),
		    "Subject: t%d m%d\r\n\r\nbody of %d/%d\r\n", c->thread, i,
		    c->thread, i);

		snprintf(from, sizeof(from), "t%d-m%d@example.org", c->thread,
		    i);
		simple_envelope(&env, &rcpt, from);
		if (write_message(c->q, body, (size_t)len, &w) == -1)
			abort();
		memcpy(c->ids[i], queue_writer_id(w), QUEUE_ID_SIZE);
		if (c->thread % 2 == 0) {
			queue_commit_async(c->q, &w, &env, NULL, conc_cb, c);
		} else if (queue_commit(c->q, &w, &env, &error) == -1) {
			free(error);
			conc_cb(false, NULL, NULL, c);
		} else {
			conc_cb(true, NULL, NULL, c);
		}
	}
	return NULL;
}

static int
cmp_env_id(const void *a, const void *b)
{
	return strcmp(((const struct queue_envelope *)a)->id,
	    ((const struct queue_envelope *)b)->id);
}

static void
test_concurrent(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct conc conc[CONC_THREADS];
	pthread_t threads[CONC_THREADS];
	int done = 0, failed = 0;
	struct queue_envelope *envs = NULL;
	struct queue_stats stats;
	size_t n = 0;
	char *error = NULL;

	for (int t = 0; t < CONC_THREADS; t++) {
		conc[t] = (struct conc){ .q = q, .thread = t, .mutex = &mutex,
		    .cond = &cond, .done = &done, .failed = &failed };
		pthread_create(&threads[t], NULL, conc_thread, &conc[t]);
	}
	for (int t = 0; t < CONC_THREADS; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_lock(&mutex);
	while (done < CONC_THREADS * CONC_PER_THREAD)
		pthread_cond_wait(&cond, &mutex);
	pthread_mutex_unlock(&mutex);
	TEST_EQ_INT(failed, 0);

	queue_stats(q, &stats);
	TEST_EQ_INT(stats.queued, CONC_THREADS * CONC_PER_THREAD);
	TEST_EQ_INT(stats.failed, 0);
	TEST_ASSERT(stats.batches >= 1);
	TEST_ASSERT(stats.batches < CONC_THREADS * CONC_PER_THREAD);
	printf("  concurrent: %d messages in %llu group commits\n",
	    CONC_THREADS * CONC_PER_THREAD,
	    (unsigned long long)stats.batches);

	TEST_EQ_INT(queue_list(q, &envs, &n, &error), 0);
	TEST_EQ_INT(n, CONC_THREADS * CONC_PER_THREAD);
	TEST_EQ_INT(count_files(dir, "msg"), CONC_THREADS * CONC_PER_THREAD);
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	qsort(envs, n, sizeof(*envs), cmp_env_id);
	for (size_t i = 1; i < n; i++)
		TEST_ASSERT(strcmp(envs[i - 1].id, envs[i].id) != 0);
	/* Each writer's id names its own envelope and its own bytes. */
	for (int t = 0; t < CONC_THREADS; t++) {
		for (int i = 0; i < CONC_PER_THREAD; i++) {
			struct queue_envelope key, *e;
			char from[64], want[128], *path, *data;
			size_t len;

			memcpy(key.id, conc[t].ids[i], QUEUE_ID_SIZE);
			e = bsearch(&key, envs, n, sizeof(*envs), cmp_env_id);
			TEST_ASSERT(e != NULL);
			if (e == NULL)
				continue;
			snprintf(from, sizeof(from), "t%d-m%d@example.org", t,
			    i);
			TEST_EQ_STR(e->mail_from, from);
			snprintf(want, sizeof(want),
			    "Subject: t%d m%d\r\n\r\nbody of %d/%d\r\n", t, i,
			    t, i);
			path = queue_message_path(q, e->id);
			TEST_EQ_INT(fsutil_read_file(path, 4096, &data, &len),
			    0);
			TEST_EQ_STR(data, want);
			TEST_EQ_INT(e->size, strlen(want));
			free(data);
			free(path);
		}
	}
	queue_envelopes_free(envs, n);
	queue_done(&q, dir);
}

static void
test_abort(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_writer *w = NULL;

	TEST_EQ_INT(write_message(q, "hello\r\n", 7, &w), 0);
	TEST_EQ_INT(count_files(dir, "tmp"), 1);
	queue_writer_abort(&w);
	TEST_ASSERT(w == NULL);
	queue_writer_abort(&w);		/* accepts NULL */
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(count_files(dir, "msg"), 0);
	CHECK_LISTED(q, 0);
	queue_done(&q, dir);
}

static void
test_recovery(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_writer *w = NULL;
	struct queue_envelope env;
	struct queue_rcpt rcpt;
	struct capture cap;
	char kept[QUEUE_ID_SIZE], lost[QUEUE_ID_SIZE], orphan[QUEUE_ID_SIZE];
	char *error = NULL, *log, *path, *data;
	size_t len;

	simple_envelope(&env, &rcpt, "a@example.org");
	TEST_EQ_INT(write_message(q, "kept\r\n", 6, &w), 0);
	memcpy(kept, queue_writer_id(w), QUEUE_ID_SIZE);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), 0);
	TEST_EQ_INT(write_message(q, "lost\r\n", 6, &w), 0);
	memcpy(lost, queue_writer_id(w), QUEUE_ID_SIZE);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), 0);
	/* A message being received when the process died. */
	TEST_EQ_INT(write_message(q, "partial", 7, &w), 0);
	queue_close(&q);
	free(w);		/* the "crash": its tmp file stays behind */

	/* Renamed into msg/ but the commit never happened. */
	queue_id_new(orphan);
	path = xasprintf("msg/%s", orphan);
	touch(dir, path, "orphan\r\n");
	free(path);
	touch(dir, "msg/not an id", "junk");
	touch(dir, "tmp/leftover", "junk");
	/* A row whose file vanished: corruption, reported, row kept. */
	path = xasprintf("%s/queue/msg/%s", dir, lost);
	TEST_EQ_INT(unlink(path), 0);
	free(path);
	TEST_EQ_INT(count_files(dir, "tmp"), 2);

	capture_begin(&cap, dir);
	q = open_queue(dir);
	log = capture_end(&cap);
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(count_files(dir, "msg"), 1);
	path = xasprintf("msg/%s", kept);
	TEST_ASSERT(file_exists(dir, path));
	free(path);
	TEST_ASSERT(strstr(log, "event=recover-orphan") != NULL);
	TEST_ASSERT(strstr(log, orphan) != NULL);
	TEST_ASSERT(strstr(log, "event=corrupt") != NULL);
	TEST_ASSERT(strstr(log, lost) != NULL);
	free(log);

	CHECK_LISTED(q, 2);
	path = queue_message_path(q, kept);
	TEST_EQ_INT(fsutil_read_file(path, 100, &data, &len), 0);
	TEST_EQ_STR(data, "kept\r\n");
	free(data);
	free(path);

	/* The queue works on after recovery. */
	TEST_EQ_INT(write_message(q, "new\r\n", 5, &w), 0);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), 0);
	queue_done(&q, dir);
}

/* A second handle (the CLI while the server runs) must not recover: the
   first one's tmp files are messages being received. */
static void
test_shared_open(void)
{
	char *dir = test_tmpdir();
	struct queue *q1 = open_queue(dir), *q2;
	struct queue_writer *w = NULL;
	struct queue_envelope env;
	struct queue_rcpt rcpt;
	char *error = NULL;

	simple_envelope(&env, &rcpt, "a@example.org");
	TEST_EQ_INT(write_message(q1, "in flight\r\n", 11, &w), 0);
	q2 = open_queue(dir);
	TEST_EQ_INT(count_files(dir, "tmp"), 1);
	TEST_EQ_INT(queue_commit(q1, &w, &env, &error), 0);
	/* Both see the committed message; both can commit. */
	CHECK_LISTED(q2, 1);
	TEST_EQ_INT(write_message(q2, "second\r\n", 8, &w), 0);
	TEST_EQ_INT(queue_commit(q2, &w, &env, &error), 0);
	CHECK_LISTED(q1, 2);
	queue_close(&q2);
	queue_done(&q1, dir);
}

static void
test_write_failure(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_writer *w = NULL;
	struct queue_envelope env;
	struct queue_rcpt rcpt;
	struct rlimit old, lim;
	char big[16384], *error = NULL, *path;
	const char *werr = NULL;

	simple_envelope(&env, &rcpt, "a@example.org");
	memset(big, 'x', sizeof(big));

	/* The disk fills up in the middle of a message (RLIMIT_FSIZE works
	   even for root, which file modes do not stop). */
	signal(SIGXFSZ, SIG_IGN);
	w = queue_writer_new(q, &werr);
	TEST_ASSERT(w != NULL);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &lim);
	TEST_EQ_INT(queue_writer_write(w, big, 1000), 0);
	TEST_EQ_INT(queue_writer_write(w, big, sizeof(big)), -1);
	setrlimit(RLIMIT_FSIZE, &old);
	/* Sticky: a later write that would fit must not paper over it. */
	TEST_EQ_INT(queue_writer_write(w, big, 10), -1);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "write") != NULL);
	free(error);
	error = NULL;
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(count_files(dir, "msg"), 0);

	/* No recipients: refused, nothing left. */
	TEST_EQ_INT(write_message(q, "x", 1, &w), 0);
	env.n_rcpts = 0;
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), -1);
	free(error);
	error = NULL;
	env.n_rcpts = 1;
	TEST_EQ_INT(count_files(dir, "tmp"), 0);

	/* msg/ is gone: the rename fails, the tmp file is removed. */
	TEST_EQ_INT(write_message(q, "x\r\n", 3, &w), 0);
	path = xasprintf("%s/queue/msg", dir);
	TEST_EQ_INT(rmdir(path), 0);
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "rename") != NULL);
	free(error);
	error = NULL;
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(mkdir(path, 0700), 0);
	free(path);

	/* msg/<id> exists already (an id collision): the commit fails and
	   the message already there is left exactly as it was. */
	TEST_EQ_INT(write_message(q, "newcomer\r\n", 10, &w), 0);
	path = xasprintf("msg/%s", queue_writer_id(w));
	touch(dir, path, "already acknowledged\r\n");
	free(path);
	path = xasprintf("%s/queue/msg/%s", dir, queue_writer_id(w));
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "rename") != NULL);
	free(error);
	error = NULL;
	{
		char *data;
		size_t len;

		TEST_EQ_INT(fsutil_read_file(path, 100, &data, &len), 0);
		TEST_EQ_STR(data, "already acknowledged\r\n");
		free(data);
	}
	TEST_EQ_INT(unlink(path), 0);
	free(path);
	TEST_EQ_INT(count_files(dir, "tmp"), 0);

	/* tmp/ is gone: no writer at all. */
	path = xasprintf("%s/queue/tmp", dir);
	TEST_EQ_INT(rmdir(path), 0);
	werr = NULL;
	w = queue_writer_new(q, &werr);
	TEST_ASSERT(w == NULL);
	TEST_ASSERT(werr != NULL);
	TEST_EQ_INT(mkdir(path, 0700), 0);
	free(path);

	CHECK_LISTED(q, 0);
	struct queue_stats stats;
	queue_stats(q, &stats);
	TEST_EQ_INT(stats.failed, 4);
	TEST_EQ_INT(stats.queued, 0);
	queue_done(&q, dir);
}

struct db_fail {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int done;
	bool ok[2];
	char *error[2];
};

static void
db_fail_cb(bool ok, const char *id, const char *error, void *ctx)
{
	struct db_fail *f = ctx;

	(void)id;
	pthread_mutex_lock(&f->mutex);
	f->ok[f->done] = ok;
	f->error[f->done] = error ? xstrdup(error) : NULL;
	f->done++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->mutex);
}

/* The database refuses one envelope: that message fails alone, its file
   goes; the other message of the same batch is queued. */
static void
test_db_failure(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_writer *w1 = NULL, *w2 = NULL;
	struct queue_envelope good, bad, *envs = NULL;
	struct queue_rcpt r1, r2;
	struct db_fail f = { .mutex = PTHREAD_MUTEX_INITIALIZER,
	    .cond = PTHREAD_COND_INITIALIZER };
	char *path = xasprintf("%s/queue/queue.db", dir), *error = NULL;
	char good_id[QUEUE_ID_SIZE];
	sqlite3 *db;
	size_t n = 0;

	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db, "CREATE TRIGGER fail BEFORE INSERT ON "
	    "messages WHEN NEW.mail_from = 'bad@example.org' BEGIN "
	    "SELECT RAISE(ABORT, 'injected failure'); END", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	free(path);

	simple_envelope(&good, &r1, "good@example.org");
	simple_envelope(&bad, &r2, "bad@example.org");
	TEST_EQ_INT(write_message(q, "good\r\n", 6, &w1), 0);
	TEST_EQ_INT(write_message(q, "bad\r\n", 5, &w2), 0);
	memcpy(good_id, queue_writer_id(w1), QUEUE_ID_SIZE);
	queue_commit_async(q, &w1, &good, NULL, db_fail_cb, &f);
	queue_commit_async(q, &w2, &bad, NULL, db_fail_cb, &f);
	pthread_mutex_lock(&f.mutex);
	while (f.done < 2)
		pthread_cond_wait(&f.cond, &f.mutex);
	pthread_mutex_unlock(&f.mutex);
	/* Completions come in submission order. */
	TEST_ASSERT(f.ok[0]);
	TEST_ASSERT(!f.ok[1]);
	TEST_ASSERT(f.error[1] != NULL &&
	    strstr(f.error[1], "injected failure") != NULL);
	free(f.error[0]);
	free(f.error[1]);
	TEST_EQ_INT(count_files(dir, "msg"), 1);
	TEST_EQ_INT(count_files(dir, "tmp"), 0);
	TEST_EQ_INT(queue_list(q, &envs, &n, &error), 0);
	TEST_EQ_INT(n, 1);
	if (n == 1)
		TEST_EQ_STR(envs[0].id, good_id);
	queue_envelopes_free(envs, n);
	queue_done(&q, dir);
}

/* Rows another writer left malformed are refused, not trusted. */
static void
test_corrupt_rows(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_envelope *envs = NULL, env;
	char *path = xasprintf("%s/queue/queue.db", dir), *error = NULL;
	sqlite3 *db;
	size_t n = 0;

	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	/* The schema's CHECKs stop the grossest. */
	TEST_ASSERT(sqlite3_exec(db, "INSERT INTO messages (id, mail_from, "
	    "body, smtputf8, arrival, size, next_attempt) VALUES ('A1', '', "
	    "'9BIT', 0, 0, 0, 0)", NULL, NULL, NULL) != SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db, "INSERT INTO messages (id, mail_from, "
	    "body, smtputf8, arrival, size, next_attempt) VALUES ('../x', "
	    "'', '7BIT', 0, 0, 0, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
	TEST_EQ_INT(queue_list(q, &envs, &n, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "bad id") != NULL);
	free(error);
	TEST_EQ_INT(queue_show(q, "../x", &env, &error), 1);
	queue_done(&q, dir);
}

struct close_drain {
	pthread_mutex_t mutex;
	int done, ok;
};

static void
close_drain_cb(bool ok, const char *id, const char *error, void *ctx)
{
	struct close_drain *d = ctx;

	(void)id;
	(void)error;
	pthread_mutex_lock(&d->mutex);
	d->done++;
	d->ok += ok;
	pthread_mutex_unlock(&d->mutex);
}

/* queue_close runs the commits already handed over before it returns. */
static void
test_close_drains(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct close_drain d = { .mutex = PTHREAD_MUTEX_INITIALIZER };
	struct queue_envelope env;
	struct queue_rcpt rcpt;

	simple_envelope(&env, &rcpt, "a@example.org");
	for (int i = 0; i < 20; i++) {
		struct queue_writer *w = NULL;

		TEST_EQ_INT(write_message(q, "m\r\n", 3, &w), 0);
		queue_commit_async(q, &w, &env, NULL, close_drain_cb, &d);
	}
	queue_close(&q);
	TEST_EQ_INT(d.done, 20);
	TEST_EQ_INT(d.ok, 20);
	q = open_queue(dir);
	CHECK_LISTED(q, 20);
	queue_done(&q, dir);
}

struct base_ctx {
	struct event_base *base;
	pthread_t loop_thread;
	int done;
	bool on_loop_thread;
	bool ok;
};

static void
base_cb(bool ok, const char *id, const char *error, void *ctx)
{
	struct base_ctx *b = ctx;

	(void)id;
	(void)error;
	b->ok = ok;
	b->on_loop_thread = pthread_equal(pthread_self(), b->loop_thread);
	if (++b->done == 2)
		event_base_loopbreak(b->base);
}

static void
base_timeout(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(ctx);
}

/* The server's way: completions come back on the thread of the base. */
static void
test_event_base(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct base_ctx b = { .base = event_base_new(),
	    .loop_thread = pthread_self() };
	struct queue_envelope env;
	struct queue_rcpt rcpt;
	struct timeval tv = { 10, 0 };
	struct event *timer;

	TEST_ASSERT(b.base != NULL);
	worker_base_attach(b.base);
	timer = evtimer_new(b.base, base_timeout, b.base);
	evtimer_add(timer, &tv);
	simple_envelope(&env, &rcpt, "a@example.org");
	for (int i = 0; i < 2; i++) {
		struct queue_writer *w = NULL;

		TEST_EQ_INT(write_message(q, "m\r\n", 3, &w), 0);
		queue_commit_async(q, &w, &env, b.base, base_cb, &b);
	}
	/* Not called before the loop runs: never re-entrant. */
	TEST_EQ_INT(b.done, 0);
	event_base_dispatch(b.base);
	TEST_EQ_INT(b.done, 2);
	TEST_ASSERT(b.ok);
	TEST_ASSERT(b.on_loop_thread);
	event_free(timer);
	queue_close(&q);
	worker_base_detach(b.base);
	event_base_free(b.base);
	fsutil_remove_tree(dir);
	free(dir);
}

static int notified;

static void
count_notify(void *ctx)
{
	(void)ctx;
	__atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

/* One message, two recipients: due, partly delivered, deferred, a forward
   added as outbound; removed (row and file) only when every recipient is
   delivered. */
static void
test_due_and_update(void)
{
	char *dir = test_tmpdir();
	struct queue *q = open_queue(dir);
	struct queue_envelope env, *envs = NULL;
	struct queue_rcpt rcpts[2];
	struct queue_writer *w = NULL;
	char *error = NULL, id[32], *rel;
	size_t n = 0;
	time_t when = 0, now = time(NULL);

	queue_set_notify(q, count_notify, NULL);
	simple_envelope(&env, &rcpts[0], "alice@example.net");
	memset(&rcpts[1], 0, sizeof(rcpts[1]));
	rcpts[1].address = (char *)"carol@example.org";
	env.n_rcpts = 2;
	TEST_EQ_INT(queue_next_due(q, &when, &error), 1);
	TEST_EQ_INT(write_message(q, "x\r\n", 3, &w), 0);
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	TEST_EQ_INT(queue_commit(q, &w, &env, &error), 0);
	TEST_EQ_INT(notified, 1);
	rel = xasprintf("msg/%s", id);

	/* Due from its arrival on (a slow machine may pass a second). */
	TEST_EQ_INT(queue_due(q, now + 5, 10, &envs, &n, &error), 0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(envs[0].n_rcpts, 2);
	TEST_EQ_INT(envs[0].rcpts[1].idx, 1);
	TEST_EQ_STR(envs[0].rcpts[1].address, "carol@example.org");
	queue_envelopes_free(envs, n);

	{
		struct queue_rcpt_result res[] = {
			{ 0, "delivered", NULL },
			{ 1, "deferred", "452 4.2.2 Mailbox full" },
		};
		const char *fwd[] = { "far@remote.example" };
		struct queue_result r = { id, res, 2, fwd, 1, now + 300 };

		TEST_EQ_INT(queue_update(q, &r, 1, &error), 0);
	}
	TEST_EQ_INT(queue_due(q, now + 1, 10, &envs, &n, &error), 0);
	TEST_EQ_INT(n, 0);
	queue_envelopes_free(envs, n);
	TEST_EQ_INT(queue_next_due(q, &when, &error), 0);
	TEST_EQ_INT(when, now + 300);
	TEST_EQ_INT(queue_due(q, now + 301, 10, &envs, &n, &error), 0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(envs[0].n_rcpts, 1);
	TEST_EQ_INT(envs[0].rcpts[0].idx, 1);
	TEST_EQ_STR(envs[0].rcpts[0].status, "deferred");
	queue_envelopes_free(envs, n);
	{
		struct queue_rcpt_result res[] = { { 1, "delivered", NULL } };
		struct queue_result r = { id, res, 1, NULL, 0, now };

		TEST_EQ_INT(queue_update(q, &r, 1, &error), 0);
	}
	/* The outbound forward keeps it queued. */
	TEST_ASSERT(file_exists(dir, rel));
	TEST_EQ_INT(queue_show(q, id, &env, &error), 0);
	TEST_EQ_INT(env.n_rcpts, 3);
	TEST_EQ_STR(env.rcpts[2].status, "outbound");
	TEST_EQ_STR(env.rcpts[2].address, "far@remote.example");
	queue_envelope_clear(&env);
	{
		struct queue_rcpt_result res[] = { { 2, "delivered", NULL } };
		struct queue_result r = { id, res, 1, NULL, 0, now };

		TEST_EQ_INT(queue_update(q, &r, 1, &error), 0);
	}
	TEST_ASSERT(!file_exists(dir, rel));
	TEST_EQ_INT(queue_show(q, id, &env, &error), 1);
	free(rel);
	free(error);
	queue_done(&q, dir);
}

int
main(void)
{
	/* Before the first event_base: completions cross threads. */
	worker_threads_init();
	/* Failures the tests provoke still show; one line per message not. */
	log_set_level(LOG_LEVEL_WARN);
	TEST_RUN(test_id);
	TEST_RUN(test_due_and_update);
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_concurrent);
	TEST_RUN(test_abort);
	TEST_RUN(test_recovery);
	TEST_RUN(test_shared_open);
	TEST_RUN(test_write_failure);
	TEST_RUN(test_db_failure);
	TEST_RUN(test_corrupt_rows);
	TEST_RUN(test_close_drains);
	TEST_RUN(test_event_base);
	return test_done();
}
