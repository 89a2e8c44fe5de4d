/* server_private.h — what the files of src/server/ share: the server, its
   I/O threads and their listener sockets, and the functions that cross
   files. server.c runs the process (public lifecycle, signals, the main
   loop); server_thread.c one I/O thread; server_listen.c its listening
   sockets, accepting and the connection limits; server_process.c the
   process set-up (descriptors, privileges, data dir). A thread's fields are
   touched on that thread only, except where the lock beside them says
   otherwise. Nothing outside src/server/ includes it. */
#ifndef PETREL_SERVER_PRIVATE_H
#define PETREL_SERVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "server/server.h"

struct event;

#define SERVER_NPROTOCOLS (CONFIG_PROTOCOL_HTTP + 1)
#define SERVER_IP_BUCKETS 4096		/* power of two */
/* Family byte, then the address: IPv4 whole, IPv6 by its /64. */
#define SERVER_IP_KEY 17

struct server_socket {
	struct server_thread *thread;
	const struct config_listener *listener;
	int fd;
	struct event *ev, *ev_retry;
};

struct server_thread {
	struct server *server;
	unsigned index;
	pthread_t tid;
	pthread_t self;		/* as seen by the thread itself */
	bool started;
	struct event_base *base;
	struct server_socket *socks;	/* one per listener, config order */
	struct event *ev_shutdown, *ev_force, *ev_reload;
	struct event *ev_deadline, *ev_grace;
	SSL_CTX *tls;		/* this thread's reference */
	unsigned nclients;
	bool shutting_down;
	time_t refuse_logged;	/* one refusal line per second */
	unsigned refuse_suppressed;
	time_t fd_limit_logged;
};

struct server_ip {
	unsigned char key[SERVER_IP_KEY];
	unsigned count;
	struct server_ip *next;
};

struct server {
	const struct config *config;
	unsigned nthreads;
	struct server_thread *threads;
	struct server_protocol protos[SERVER_NPROTOCOLS];
	bool proto_set[SERVER_NPROTOCOLS];
	struct worker_pool *workers;

	pthread_mutex_t tls_lock;
	SSL_CTX *tls;		/* current; written by the main thread */

	pthread_mutex_t limits_lock;
	unsigned total;
	uint64_t ip_seed;
	struct server_ip *ip_buckets[SERVER_IP_BUCKETS];

	struct event_base *main_base;
	struct event *ev_stop, *ev_thread_exit;
	struct event *ev_signals[3];
	atomic_uint threads_exited;
	unsigned threads_started;
	bool ran, shutting_down;
};

/* server_listen.c */
/* Opens listener li's socket on every thread (not yet accepting: the
   thread adds the event when it starts). 0, or -1 with *error_r (heap). */
int server_listen(struct server *server, size_t li, char **error_r);
/* Stops accepting on sock and closes it; a closed sock is left alone. */
void server_socket_close(struct server_socket *sock);

/* server_thread.c */
/* Before the thread starts: its base, sockets (closed) and events; panics
   if libevent cannot allocate them. */
void server_thread_init(struct server *server, struct server_thread *t,
    unsigned index);
/* The pthread start routine; arg is the struct server_thread. */
void *server_thread_main(void *arg);

/* server_process.c, on the main thread before the I/O threads start */
/* Raises RLIMIT_NOFILE as far as allowed; logs a warning if it cannot. */
void server_process_raise_nofile(void);
/* 0 (privileges dropped, or not root), or -1 with *error_r (heap). */
int server_process_drop_privileges(const struct config *config,
    char **error_r);
/* 0, or -1 with *error_r (heap) naming what the current user cannot
   write: path, and depth levels of its subdirectories and .db files. */
int server_process_check_data_dir(const char *path, unsigned depth,
    char **error_r);

#endif
