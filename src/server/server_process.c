/* server_process.c — setting up the process around the server: the
   descriptor limit raised to the hard limit, root dropped for the configured
   user once every socket and key file is open, and the data dir checked to
   be writable by whoever the server now runs as. Called by server_new and
   server_run on the main thread, before any I/O thread starts. */
#include "server/server_private.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* DESIGN.md §2: as many descriptors as the hard limit allows. */
void
server_process_raise_nofile(void)
{
	struct rlimit rl;
	char *text = NULL;
	size_t len;
	uint64_t nr_open;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rlim_t old = rl.rlim_cur;

	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	/* An infinite hard limit: Linux stops at fs.nr_open. */
	if (fsutil_read_file("/proc/sys/fs/nr_open", 64, &text, &len) == 0) {
		while (len > 0 && (text[len - 1] == '\n' ||
		    text[len - 1] == ' '))
			text[--len] = '\0';
		if (str_to_u64(text, &nr_open) == 0 && nr_open > old &&
		    nr_open < rl.rlim_max) {
			rl.rlim_cur = (rlim_t)nr_open;
			if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
				free(text);
				return;
			}
		}
		free(text);
	}
	log_warn("server: event=rlimit_nofile current=%llu error=%s",
	    (unsigned long long)old, strerror(errno));
}

/* After every socket and key file is open: root only for that. */
int
server_process_drop_privileges(const struct config *config, char **error_r)
{
	struct passwd pw, *res = NULL;
	char *pwbuf = NULL;
	size_t pwlen = 4096;
	int err, ret = -1;

	if (geteuid() != 0)
		return 0;
	if (config->user == NULL) {
		log_warn("server: event=running_as_root hint=\"set [server] "
		    "user\"");
		return 0;
	}
	for (;;) {
		pwbuf = xrealloc(pwbuf, pwlen);
		err = getpwnam_r(config->user, &pw, pwbuf, pwlen, &res);
		if (err != ERANGE || pwlen > 1024 * 1024)
			break;
		pwlen *= 2;
	}
	if (res == NULL) {
		*error_r = err != 0 ?
		    xasprintf("user %s: %s", config->user, strerror(err)) :
		    xasprintf("user %s: no such user", config->user);
		goto out;
	}
	if (pw.pw_uid == 0) {
		*error_r = xasprintf("user %s: has uid 0; choose an "
		    "unprivileged user", config->user);
		goto out;
	}
	/* glibc applies these to every thread (the worker pool exists). */
	if (initgroups(pw.pw_name, pw.pw_gid) == -1 ||
	    setgid(pw.pw_gid) == -1 || setuid(pw.pw_uid) == -1) {
		*error_r = xasprintf("dropping privileges to %s: %s",
		    config->user, strerror(errno));
		goto out;
	}
	if (setuid(0) != -1) {
		*error_r = xasprintf("dropping privileges to %s: root could "
		    "be regained", config->user);
		goto out;
	}
	log_info("server: event=privileges_dropped user=%s uid=%u gid=%u",
	    config->user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
	ret = 0;
out:
	free(pwbuf);
	return ret;
}

/* Once root is gone, everything the server writes must still be writable:
   the data dir, its subdirectories (queue/msg, queue/tmp ...) and the
   database files. Refusing to start here beats answering 451 to every
   client later because quickstart ran as root and nobody chowned. */
int
server_process_check_data_dir(const char *path, unsigned depth, char **error_r)
{
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (access(path, W_OK | X_OK) == -1) {
		*error_r = xasprintf("%s: %s (as uid %u)", path, strerror(errno),
		    (unsigned)geteuid());
		return -1;
	}
	if (depth == 0 || (d = opendir(path)) == NULL)
		return 0;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		char *sub;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || strcmp(e->d_name, "tls") == 0 ||
		    strcmp(e->d_name, "msg") == 0 || strcmp(e->d_name, "tmp") == 0)
			continue;
		sub = xasprintf("%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR) {
			ret = server_process_check_data_dir(sub, depth - 1, error_r);
		} else if ((len > 3 && strcmp(e->d_name + len - 3, ".db") == 0) &&
		    access(sub, R_OK | W_OK) == -1) {
			*error_r = xasprintf("%s: %s (as uid %u)", sub,
			    strerror(errno), (unsigned)geteuid());
			ret = -1;
		}
		free(sub);
	}
	closedir(d);
	/* msg/ and tmp/ are checked without listing them: they may be big. */
	if (ret == 0 && depth > 0) {
		static const char *const spool[] = { "msg", "tmp" };

		for (size_t i = 0; ret == 0 && i < 2; i++) {
			char *sub = xasprintf("%s/%s", path, spool[i]);

			if (access(sub, F_OK) == 0)
				ret = server_process_check_data_dir(sub, 0, error_r);
			free(sub);
		}
	}
	return ret;
}

int
server_drop_privileges(const struct config *config, char **error_r)
{
	/* Without a service user there is nobody to become (serve warns). */
	if (geteuid() != 0 || config->user == NULL)
		return 0;
	return server_process_drop_privileges(config, error_r);
}
