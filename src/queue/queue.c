/* queue.c — the queue handle: opening and recovering DATA/queue, message
   writers, and inspection (queue.h). The group committer is queue_commit.c,
   the SQLite backend queue_db.c.

   Several processes may open one queue (the server and the CLI). Recovery
   deletes files no committed row names, which would destroy messages that
   another process is still receiving, so it runs only under an exclusive
   flock of DATA/queue/queue.lock; every handle then holds the lock shared
   until it closes. A process that finds the queue in use skips recovery.

   SQLite use: the committer thread owns the write connection; queue_list
   and queue_show share one query-only connection under read_mutex (they are
   rare; WAL lets them read while the committer writes). */
#include "queue/queue_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Tries for a fresh id before giving up: a collision needs the same µs,
   counter and salt, so a second try practically always succeeds. */
#define QUEUE_ID_TRIES 8

static int
queue_open_dir(const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		*error_r = xasprintf("%s: %s", path, strerror(errno));
	return fd;
}

/* A directory stream over a duplicate of fd (the queue keeps fd), from its
   first entry; sub names it in the error. The caller closes it. */
static DIR *
queue_dir_open(struct queue *q, int fd, const char *sub, char **error_r)
{
	int dupfd = dup(fd);
	DIR *dir;

	if (dupfd == -1 || (dir = fdopendir(dupfd)) == NULL) {
		*error_r = xasprintf("%s/%s: %s", q->dir, sub, strerror(errno));
		if (dupfd != -1)
			close(dupfd);
		return NULL;
	}
	rewinddir(dir);
	return dir;
}

/* The next entry of dir other than "." and "..", or NULL at the end. */
static struct dirent *
queue_dir_next(DIR *dir)
{
	struct dirent *de;

	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			break;
	return de;
}

/* Removes every file of tmp/: messages whose commit never finished, so
   never acknowledged. */
static int
queue_recover_tmp(struct queue *q, char **error_r)
{
	DIR *dir = queue_dir_open(q, q->tmp_fd, "tmp", error_r);
	struct dirent *de;
	unsigned removed = 0;

	if (dir == NULL)
		return -1;
	while ((de = queue_dir_next(dir)) != NULL) {
		if (unlinkat(q->tmp_fd, de->d_name, 0) == -1)
			log_warn("queue: event=recover-tmp file=tmp/%s "
			    "error=\"%s\"", de->d_name, strerror(errno));
		else
			removed++;
	}
	closedir(dir);
	if (removed > 0)
		log_info("queue: event=recover-tmp removed=%u", removed);
	return 0;
}

/* Removes files of msg/ that no row names: the process died between the
   rename and the commit, so the message was never acknowledged. */
static int
queue_recover_msg(struct queue *q, char **error_r)
{
	DIR *dir = queue_dir_open(q, q->msg_fd, "msg", error_r);
	struct dirent *de;
	int ret = -1, found;
	bool removed = false;

	if (dir == NULL)
		return -1;
	while ((de = queue_dir_next(dir)) != NULL) {
		char name[LOG_STR_MAX];

		log_str(name, sizeof(name), de->d_name, strlen(de->d_name));
		found = queue_id_is_valid(de->d_name) ?
		    queue_db_exists(q->wdb, de->d_name, error_r) : 0;
		if (found == -1)
			goto out;
		if (found == 1)
			continue;
		if (unlinkat(q->msg_fd, de->d_name, 0) == -1) {
			log_warn("queue: event=recover-orphan file=msg/%s "
			    "error=\"%s\"", name, strerror(errno));
			continue;
		}
		log_warn("queue: qid=%s event=recover-orphan "
		    "reason=\"no envelope row\" action=removed", name);
		removed = true;
	}
	if (removed && fsync(q->msg_fd) == -1) {
		*error_r = xasprintf("%s/msg: fsync: %s", q->dir,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	closedir(dir);
	return ret;
}

/* A row whose file is missing means acknowledged mail was lost: say so
   loudly, but keep the row, which holds the envelope someone may need;
   never invent or silently drop mail. */
static int
queue_recover_check_row(const char *id, uint64_t size, void *ctx)
{
	struct queue *q = ctx;
	struct stat st;

	if (!queue_id_is_valid(id)) {
		log_error("queue: event=corrupt reason=\"row with a bad id\"");
		return 0;
	}
	if (fstatat(q->msg_fd, id, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		log_error("queue: qid=%s event=corrupt reason=\"message file "
		    "missing\" error=\"%s\" action=kept-row", id,
		    strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		log_error("queue: qid=%s event=corrupt reason=\"message file "
		    "size %lld, row says %llu\" action=kept-row", id,
		    (long long)st.st_size, (unsigned long long)size);
	}
	return 0;
}

static int
queue_recover(struct queue *q, char **error_r)
{
	if (queue_recover_tmp(q, error_r) == -1 ||
	    queue_recover_msg(q, error_r) == -1)
		return -1;
	return queue_db_each(q->wdb, queue_recover_check_row, q, error_r);
}

/* Takes the queue lock: exclusive when nobody else has the queue open (then
   *recover_r is true), else shared. Ends holding it shared. */
static int
queue_lock(struct queue *q, bool *recover_r, char **error_r)
{
	char *path = xasprintf("%s/queue.lock", q->dir);

	q->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->lock_fd == -1) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	*recover_r = flock(q->lock_fd, LOCK_EX | LOCK_NB) == 0;
	if (*recover_r)
		return 0;
	if (errno != EWOULDBLOCK) {
		*error_r = xasprintf("%s/queue.lock: %s", q->dir,
		    strerror(errno));
		return -1;
	}
	/* Waits only while another opener runs its recovery. */
	while (flock(q->lock_fd, LOCK_SH) == -1) {
		if (errno != EINTR) {
			*error_r = xasprintf("%s/queue.lock: %s", q->dir,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
queue_free(struct queue *q)
{
	queue_db_close(&q->rdb);
	queue_db_close(&q->wdb);
	queue_db_close(&q->ddb);
	if (q->tmp_fd != -1)
		close(q->tmp_fd);
	if (q->msg_fd != -1)
		close(q->msg_fd);
	if (q->lock_fd != -1)
		close(q->lock_fd);	/* releases the flock */
	pthread_mutex_destroy(&q->read_mutex);
	pthread_mutex_destroy(&q->deliver_mutex);
	pthread_mutex_destroy(&q->mutex);
	pthread_cond_destroy(&q->cond);
	free(q->dir);
	free(q);
}

int
queue_open(const char *data_dir, struct queue **queue_r, char **error_r)
{
	struct queue *q = xcalloc(1, sizeof(*q));
	char *path = NULL;
	bool recover = false;

	q->dir = xasprintf("%s/queue", data_dir);
	q->tmp_fd = q->msg_fd = q->lock_fd = -1;
	pthread_mutex_init(&q->read_mutex, NULL);
	pthread_mutex_init(&q->deliver_mutex, NULL);
	pthread_mutex_init(&q->mutex, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->tailp = &q->head;

	/* 0700: envelopes and bodies are private mail. */
	path = xasprintf("%s/tmp", q->dir);
	if (fsutil_mkdir_p(path, 0700) == -1) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((q->tmp_fd = queue_open_dir(path, error_r)) == -1)
		goto fail;
	free(path);
	path = xasprintf("%s/msg", q->dir);
	if (fsutil_mkdir_p(path, 0700) == -1) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((q->msg_fd = queue_open_dir(path, error_r)) == -1)
		goto fail;
	/* The new directories themselves must survive a crash. */
	if (fsutil_fsync_dir(q->dir) == -1 ||
	    fsutil_fsync_dir(data_dir) == -1) {
		*error_r = xasprintf("%s: fsync: %s", q->dir, strerror(errno));
		goto fail;
	}
	free(path);
	path = NULL;
	if (queue_lock(q, &recover, error_r) == -1)
		goto fail;
	path = xasprintf("%s/queue.db", q->dir);
	if (queue_db_open(path, true, &q->wdb, error_r) == -1)
		goto fail;
	if (recover) {
		if (queue_recover(q, error_r) == -1)
			goto fail;
		if (flock(q->lock_fd, LOCK_SH) == -1) {
			*error_r = xasprintf("%s/queue.lock: %s", q->dir,
			    strerror(errno));
			goto fail;
		}
	} else {
		log_debug("queue: event=recovery-skipped reason=\"queue open "
		    "in another process\"");
	}
	if (queue_db_open(path, false, &q->rdb, error_r) == -1 ||
	    queue_db_open(path, true, &q->ddb, error_r) == -1)
		goto fail;
	free(path);
	queue_commit_start(q);
	*queue_r = q;
	return 0;
fail:
	free(path);
	queue_free(q);
	return -1;
}

void
queue_close(struct queue **queuep)
{
	struct queue *q = *queuep;

	if (q == NULL)
		return;
	queue_commit_stop(q);
	queue_free(q);
	*queuep = NULL;
}

struct queue_writer *
queue_writer_new(struct queue *q, const char **error_r)
{
	struct queue_writer *w = xcalloc(1, sizeof(*w));
	struct stat st;

	w->queue = q;
	w->fd = -1;
	for (unsigned i = 0; i < QUEUE_ID_TRIES; i++) {
		queue_id_new(w->id);
		w->fd = openat(q->tmp_fd, w->id,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd == -1) {
			if (errno == EEXIST)
				continue;
			log_warn("queue: qid=%s event=create-failed "
			    "error=\"%s\"", w->id, strerror(errno));
			*error_r = "cannot create queue file";
			free(w);
			return NULL;
		}
		/* A committed message may carry the id too (clock stepped
		   back across a restart): never reuse it. */
		if (fstatat(q->msg_fd, w->id, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT)
			return w;
		unlinkat(q->tmp_fd, w->id, 0);
		close(w->fd);
		w->fd = -1;
	}
	log_warn("queue: event=create-failed error=\"no unique id after %u "
	    "tries\"", QUEUE_ID_TRIES);
	*error_r = "cannot find a unique queue id";
	free(w);
	return NULL;
}

const char *
queue_writer_id(const struct queue_writer *w)
{
	return w->id;
}

int
queue_writer_write(struct queue_writer *w, const void *data, size_t len)
{
	uint64_t size;

	/* Sticky: after a failed write the file has a hole or a gap, and the
	   message must not be committed. */
	if (w->error != 0)
		return -1;
	if (__builtin_add_overflow(w->size, (uint64_t)len, &size)) {
		w->error = EFBIG;
		return -1;
	}
	if (fsutil_write_all(w->fd, data, len) == -1) {
		w->error = errno != 0 ? errno : EIO;
		log_warn("queue: qid=%s event=write-failed error=\"%s\"",
		    w->id, strerror(w->error));
		return -1;
	}
	w->size = size;
	return 0;
}

uint64_t
queue_writer_size(const struct queue_writer *w)
{
	return w->size;
}

void
queue_writer_abort(struct queue_writer **wp)
{
	struct queue_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	/* No fsync: if the unlink is lost in a crash, recovery removes the
	   tmp file anyway. */
	if (unlinkat(w->queue->tmp_fd, w->id, 0) == -1 && errno != ENOENT)
		log_warn("queue: qid=%s event=abort error=\"%s\"", w->id,
		    strerror(errno));
	free(w);
	*wp = NULL;
}

int
queue_list(struct queue *q, struct queue_envelope **envs_r, size_t *n_r,
    char **error_r)
{
	int ret;

	pthread_mutex_lock(&q->read_mutex);
	ret = queue_db_list(q->rdb, envs_r, n_r, error_r);
	pthread_mutex_unlock(&q->read_mutex);
	return ret;
}

int
queue_show(struct queue *q, const char *id, struct queue_envelope *env_r,
    char **error_r)
{
	int ret;

	if (!queue_id_is_valid(id)) {
		memset(env_r, 0, sizeof(*env_r));
		return 1;	/* no row can have it */
	}
	pthread_mutex_lock(&q->read_mutex);
	ret = queue_db_show(q->rdb, id, env_r, error_r);
	pthread_mutex_unlock(&q->read_mutex);
	return ret;
}

char *
queue_message_path(struct queue *q, const char *id)
{
	/* ids come from our rows; anything else could escape msg/. */
	if (!queue_id_is_valid(id))
		panic("queue_message_path: invalid id");
	return xasprintf("%s/msg/%s", q->dir, id);
}

void
queue_envelope_clear(struct queue_envelope *env)
{
	if (env == NULL)
		return;
	free(env->mail_from);
	free(env->envid);
	free(env->helo);
	free(env->client_addr);
	free(env->auth_user);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].orcpt);
		free(env->rcpts[i].status);
		free(env->rcpts[i].last_error);
		free(env->rcpts[i].relay);
	}
	free(env->rcpts);
	memset(env, 0, sizeof(*env));
}

void
queue_envelopes_free(struct queue_envelope *envs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		queue_envelope_clear(&envs[i]);
	free(envs);
}

void
queue_stats(struct queue *q, struct queue_stats *stats_r)
{
	pthread_mutex_lock(&q->mutex);
	*stats_r = q->stats;
	pthread_mutex_unlock(&q->mutex);
}
