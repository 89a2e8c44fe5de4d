/* fuzz_pop3d_session.c — a whole POP3 session on arbitrary client bytes
   (mox FuzzServer, STYLE.md §10): the real conn on one end of a
   socketpair, a real event_base and worker pool, a real directory and
   account store in a temporary data dir, made once (pop3d_testlib, shared
   with pop3d_test.c). Per input, the INBOX is topped up to its three
   messages, a session is started, the input is written in up to four
   chunks (cut where the first bytes say), the write side is shut, and the
   loop runs until the session has freed itself.
   Checked on every input: the session ends (no hang, no leak under LSan);
   every line it writes ends in CRLF, holds no NUL or other control byte
   and is at most 512 octets (RFC 2449 §4; the stored messages' lines are
   short); outside multi-line bodies every line is "+OK", "-ERR" or the
   SASL "+ "; and nothing follows the reply to QUIT.

   Input layout: byte 0 flags, bytes 1-3 chunk cuts, then client bytes.
     flag 0x01  prefix a login, so TRANSACTION is a step away
     flag 0x02  tight limits (few errors; failed logins block at 2)
     flag 0x04  graceful shutdown after chunk (flags >> 4) & 3
     flag 0x08  [auth] plaintext = never */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "directory/directory_admin.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_session.h"
#include "pop3d/pop3d_testlib.h"
#include "service/service_testclient.h"
#include "service/service_thread.h"
#include "store/store.h"

#define HOST "mx.example.org"
#define PREFIX "USER user@example.org\r\nPASS pw\r\n"
/* A session that has not ended this long after its input is a bug. */
#define SESSION_DEADLINE_MS 20000
/* Fresh data dir after this many inputs: files and rows pile up. */
#define ROTATE_RUNS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pop3d_testlib H;

static struct {
	bool ready;
	struct config_listener listener;
	struct event *tick;
	unsigned runs;
	int64_t account;
} F;

/* The messages the INBOX is topped up with: dot lines, no final CRLF, a
   bare LF. */
static const char *const messages[] = {
	"From: a@example.net\r\nSubject: one\r\n\r\n.\r\n..x\r\nbody\r\n",
	"Subject: two\r\n\r\nno final CRLF",
	"Subject: three\nX: y\n\nb1\nb2\n.b3\n",
};

/* What the client has read of the reply stream. */
struct replies {
	char line[1024];
	size_t len;
	bool overflow;
	bool in_body;		/* inside a multi-line reply */
	bool quit_sent_reply;	/* the reply to QUIT came: nothing after */
	bool eof;
};

static void
fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_pop3d_session: %s: \"%.*s\"\n", what, (int)len,
	    line);
	abort();
}

static void
on_tick(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	(void)ctx;
}

static int
fill_directory(struct directory *dir, struct directory_error *err)
{
	if (directory_admin_domain_add(dir, "example.org", err) == -1 ||
	    directory_admin_account_add(dir, "user@example.org", NULL,
	    "{PLAIN}pw", 0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "off@example.org", NULL,
	    "{PLAIN}pw", 0, NULL, err) == -1 ||
	    directory_admin_account_set_enabled(dir, "off@example.org", false,
	    err) == -1)
		return -1;
	return 0;
}

static void
data_dir_open(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	/* tmpfs when there is one: every append costs fsyncs. */
	if (tmp == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	dir = xasprintf("%s/petrel-fuzz-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		panic("fuzz: mkdtemp %s: %s", dir, strerror(errno));
	pop3d_testlib_open(&H, dir, fill_directory);
	F.account = pop3d_testlib_account_id(&H, "user@example.org");
}

/* Puts the three messages back when sessions deleted some. */
static void
inbox_top_up(void)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	char *error = NULL;
	uint32_t n;

	if (store_open(H.dir, F.account, NULL, &store, &error) != STORE_OK)
		panic("fuzz: store_open: %s", error);
	if (store_mailbox_get(store, "INBOX", &mb) != STORE_OK)
		panic("fuzz: INBOX: %s", store_error(store));
	n = mb.messages;
	store_mailbox_clear(&mb);
	store_close(&store);
	for (size_t i = n; i < sizeof(messages) / sizeof(messages[0]); i++)
		(void)pop3d_testlib_append(&H, F.account, messages[i],
		    strlen(messages[i]));
}

static void
fuzz_exit(void)
{
	if (!F.ready)
		return;
	event_free(F.tick);
	pop3d_testlib_clear(&H);
	F.ready = false;
}

static void
fuzz_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* PETREL_FUZZ_LOG=1 shows the conversation of a replayed input. */
	log_set_level(getenv("PETREL_FUZZ_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	pop3d_testlib_init(&H, HOST);
	pop3d_testlib_cheap_dummy_hash();
	F.listener = (struct config_listener){ .name = "fuzz",
	    .address = "127.0.0.1", .port = 110,
	    .protocol = CONFIG_PROTOCOL_POP3, .tls = CONFIG_TLS_NONE };
	F.tick = evtimer_new(H.base, on_tick, NULL);
	if (F.tick == NULL)
		panic("fuzz: evtimer_new");
	data_dir_open();
	F.ready = true;
	atexit(fuzz_exit);
}

static bool
starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(line, prefix, n) == 0;
}

/* A status line opens a multi-line body when it answers CAPA, LIST,
   UIDL, RETR, TOP or a bare AUTH: "+OK" alone (CAPA, UIDL, TOP, AUTH),
   "+OK n messages:" (LIST) or "+OK n octets" (RETR). Every single-line
   +OK says something else. */
static bool
opens_body(const char *line, size_t len)
{
	if (len == 3)
		return true;
	if (len > 10 && memcmp(line + len - 10, " messages:", 10) == 0)
		return true;
	return len > 7 && memcmp(line + len - 7, " octets", 7) == 0;
}

static void
check_line(struct replies *r, const char *line, size_t len)
{
	if (r->overflow || len + 2 > 512)
		fail("line over 512 octets", line, len);
	if (r->quit_sent_reply)
		fail("bytes after the reply to QUIT", line, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		/* Stored message 3 has bare LFs: the client sees a CR-less
		   stretch inside one line; TAB is fine in bodies. */
		if ((c < 0x20 && c != '\t' && !(r->in_body && c == '\n')) ||
		    c == 0x7f)
			fail("control byte in a line", line, len);
	}
	if (r->in_body) {
		if (len == 1 && line[0] == '.')
			r->in_body = false;
		return;
	}
	if (starts(line, len, "+OK")) {
		if (starts(line, len, "+OK Logging out"))
			r->quit_sent_reply = true;
		else if (opens_body(line, len))
			r->in_body = true;
		return;
	}
	if (starts(line, len, "-ERR ") || (len == 2 && line[0] == '+' &&
	    line[1] == ' '))
		return;
	fail("not a POP3 reply", line, len);
}

/* Reads what the server wrote and checks it line by line (CRLF). */
static void
drain(int fd, struct replies *r)
{
	char tmp[4096];

	while (!r->eof) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			r->eof = true;
			if (r->len > 0)
				fail("line without CRLF at close", r->line,
				    r->len);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = tmp[i];

			if (c == '\n' && r->len > 0 &&
			    r->line[r->len - 1] == '\r') {
				check_line(r, r->line, r->len - 1);
				r->len = 0;
				r->overflow = false;
			} else if (c == '\n' && !r->in_body) {
				fail("bare LF in a reply", r->line, r->len);
			} else if (r->len < sizeof(r->line)) {
				r->line[r->len++] = c;
			} else {
				r->overflow = true;
			}
		}
	}
}

static void
pump(int fd, struct replies *r, bool wait)
{
	struct timeval tv = { 0, 1000 };

	event_base_loop(H.base, EVLOOP_NONBLOCK);
	drain(fd, r);
	if (wait) {
		evtimer_add(F.tick, &tv);
		event_base_loop(H.base, EVLOOP_ONCE);
		evtimer_del(F.tick);
		drain(fd, r);
	}
}

static void
send_all(int fd, const uint8_t *p, size_t len, struct replies *r,
    long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			pump(fd, r, false);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    service_testclient_now_ms() < deadline) {
			pump(fd, r, true);
			continue;
		}
		return;		/* the server closed: QUIT, error budget */
	}
}

static void
settings_for(uint8_t flags)
{
	config_limits_defaults(&H.config.limits);
	config_auth_defaults(&H.config.auth);
	H.config.auth.failure_delay = 1;
	/* Logins fail often here: a block would hide the rest. */
	H.config.auth.max_failures_per_ip = 1000000;
	H.config.auth.max_failures_per_account = 1000000;
	if (flags & 0x02) {
		H.config.limits.max_errors = 3;
		H.config.auth.max_failures_per_ip = 2;
	}
	if (flags & 0x08)
		H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	pop3d_testlib_reset_throttle(&H);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[4] = { 0, 0, 0, 0 };
	size_t hlen = size < 4 ? size : 4, cut[5];
	const uint8_t *in = data + hlen;
	size_t len = size - hlen;
	struct service_thread *thread;
	struct replies r;
	long long deadline;
	int sv[2];

	if (!F.ready)
		fuzz_init();
	if (++F.runs % ROTATE_RUNS == 0) {
		pop3d_testlib_close(&H);
		data_dir_open();
	}
	memset(&r, 0, sizeof(r));
	memcpy(hdr, data, hlen);
	settings_for(hdr[0]);
	inbox_top_up();
	/* A shutdown is for good: it gets a thread state of its own. */
	thread = (hdr[0] & 0x04) ? service_thread_new(H.base, &H.config,
	    "pop3d", pop3d_session_shutdown_link) : H.thread;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		panic("fuzz: socketpair: %s", strerror(errno));
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1)
		panic("fuzz: fcntl");
	pop3d_testlib_start(&H, sv[1], thread, &F.listener, NULL);

	deadline = service_testclient_now_ms() + SESSION_DEADLINE_MS;
	cut[0] = 0;
	for (int i = 0; i < 3; i++)
		cut[i + 1] = len * hdr[i + 1] / 256;
	cut[4] = len;
	qsort(cut + 1, 3, sizeof(cut[0]), cmp_size);
	if (hdr[0] & 0x01)
		send_all(sv[0], (const uint8_t *)PREFIX, strlen(PREFIX), &r,
		    deadline);
	for (int i = 0; i < 4; i++) {
		send_all(sv[0], in + cut[i], cut[i + 1] - cut[i], &r,
		    deadline);
		for (int k = 0; k < 3; k++)
			pump(sv[0], &r, false);
		if ((hdr[0] & 0x04) && i == ((hdr[0] >> 4) & 3))
			service_thread_shutdown(thread);
	}
	(void)shutdown(sv[0], SHUT_WR);
	while (H.ended != H.started) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_pop3d_session: session did not "
			    "end\n");
			abort();
		}
		pump(sv[0], &r, true);
	}
	while (!r.eof) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_pop3d_session: no EOF after "
			    "the session ended\n");
			abort();
		}
		pump(sv[0], &r, true);
	}
	close(sv[0]);
	if (thread != H.thread)
		service_thread_free(&thread);
	return 0;
}
