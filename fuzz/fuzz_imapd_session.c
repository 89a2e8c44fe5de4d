/* fuzz_imapd_session.c — a whole IMAP session on arbitrary client bytes
   (mox FuzzServer, STYLE.md §10): the real conn on one end of a
   socketpair, a real event_base and worker pool, a real directory and
   account store in a temporary data dir, made once (imapd_testlib, shared
   with imapd_test.c). Per input, the INBOX is topped up to its messages,
   a session is started, the input is written in up to four chunks (cut
   where the header says), optionally with another writer's changes to
   the INBOX between chunks (a delivery; \Deleted, \Flagged and an
   expunge), the write side is shut, and the loop runs until the session
   has freed itself.
   Checked on every input: the session ends (no hang, no leak under LSan);
   the reply stream parses as IMAP responses: lines end in CRLF and hold
   no NUL, bare CR or LF outside literals, a "{n}" at a line's end is
   followed by exactly n octets, every line starts with "* ", "+ " or a
   tag followed by OK, NO or BAD; nothing follows the tagged end of
   LOGOUT. Once COMPRESS is active the stream is only drained.

   Input layout: byte 0 flags, byte 1 more flags, bytes 2-4 chunk cuts,
   then client bytes.
     byte 0 0x01  prefix a LOGIN, so the authenticated state is near
     byte 0 0x02  prefix LOGIN and SELECT INBOX
     byte 0 0x04  graceful shutdown after chunk (byte 0 >> 4) & 3
     byte 0 0x08  prefix ENABLE QRESYNC (with 0x01 or 0x02)
     byte 1 0x01  tight limits (few errors, 8 KiB lines, 64 KiB messages)
     byte 1 0x02  [auth] plaintext = never
     byte 1 0x04  between chunks, another writer flags and expunges
     byte 1 0x08  between chunks, a delivery to the INBOX */
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
#include "imapd/imapd_private.h"
#include "imapd/imapd_testlib.h"
#include "service/service_testclient.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "service/service_thread.h"
#include "store/store.h"

#define HOST "mx.example.org"
#define LOGIN "Fa LOGIN user@example.org pw\r\n"
#define SELECT "Fb SELECT INBOX\r\n"
#define ENABLE "Fc ENABLE QRESYNC\r\n"
/* A session that has not ended this long after its input is a bug. */
#define SESSION_DEADLINE_MS 20000
/* Fresh data dir after this many inputs: mailboxes and rows pile up. */
#define ROTATE_RUNS 1000
#define INBOX_MESSAGES 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct imapd_testlib H;

static struct {
	bool ready;
	struct config_listener listener;
	struct event *tick;
	unsigned runs;
	int64_t account;
} F;

/* The INBOX's messages: multipart, no final CRLF, bare LFs, a NUL and
   8-bit octets (FETCH must frame them as literals). */
static const struct {
	const char *data;
	size_t len;
} messages[] = {
#define M(s) { s, sizeof(s) - 1 }
	M("From: \"A\" <a@example.net>\r\nTo: b@example.org\r\n"
	  "Subject: one\r\nMessage-ID: <1@x>\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	  "Content-Type: text/plain\r\n\r\nhello\r\n--b\r\n"
	  "Content-Type: application/octet-stream\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"),
	M("Subject: two\r\nIn-Reply-To: <1@x>\r\n\r\nno final CRLF"),
	M("Subject: three\nX: y\n\nb1\nb2\n.b3\n"),
	M("Subject: =?utf-8?q?f=C3=BCnf?= \xc3\xbc\r\n\r\nnul \0 here\r\n"),
#undef M
};

/* What the client has read of the reply stream: the start of the
   response (checked) and the last octets of its line (for "{n}"). */
struct replies {
	char head[256];
	size_t head_len;
	char tail[24];
	size_t tail_len;
	bool cr;		/* the last octet was CR */
	uint64_t literal;	/* octets of a literal still to come */
	bool bare;		/* a bare CR or LF or a NUL in this response */
	bool logout_done;	/* the tagged end of LOGOUT came */
	bool compressed;	/* COMPRESS: only drained from here on */
	bool eof;
};

static void
fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_imapd_session: %s: \"%.*s\"\n", what,
	    (int)(len > 300 ? 300 : len), line);
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
	imapd_testlib_open(&H, dir, fill_directory);
	F.account = imapd_testlib_account_id(&H, "user@example.org");
}

/* The INBOX back to its messages, without \Deleted (sessions expunge),
   and without what deliveries and APPENDs added past twice as many (so
   every input costs about the same). */
static void
inbox_top_up(void)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	struct store_range all = { 1, UINT32_MAX };
	char *error = NULL;
	uint32_t *uids = NULL;
	size_t n;

	if (store_open(H.dir, F.account, NULL, &store, &error) != STORE_OK)
		panic("fuzz: store_open: %s", error);
	if (store_mailbox_get(store, "INBOX", &mb) != STORE_OK)
		panic("fuzz: INBOX: %s", store_error(store));
	if (store_uids(store, mb.id, &uids, &n) != STORE_OK)
		panic("fuzz: store_uids: %s", store_error(store));
	if (n > 0 && store_flags(store, mb.id, &all, 1, STORE_FLAGS_REMOVE,
	    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL) != STORE_OK)
		panic("fuzz: store_flags: %s", store_error(store));
	if (n > 2 * INBOX_MESSAGES) {
		struct store_range extra = { uids[INBOX_MESSAGES],
		    UINT32_MAX };

		if (store_flags(store, mb.id, &extra, 1, STORE_FLAGS_ADD,
		    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL,
		    NULL) != STORE_OK || store_expunge(store, mb.id, &extra,
		    1, NULL, NULL) != STORE_OK)
			panic("fuzz: trim: %s", store_error(store));
		n = INBOX_MESSAGES;
	}
	free(uids);
	store_mailbox_clear(&mb);
	store_close(&store);
	for (size_t i = n; i < INBOX_MESSAGES; i++)
		(void)imapd_testlib_append(&H, F.account, "INBOX",
		    messages[i].data, messages[i].len);
}

/* Another writer between chunks, as a second client would be: \Flagged
   on everything, the lowest UID \Deleted and expunged. */
static void
other_writer(bool expunge, bool deliver)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	struct store_range all = { 1, UINT32_MAX };
	char *error = NULL;
	uint32_t *uids = NULL;
	size_t n = 0;

	if (deliver)
		(void)imapd_testlib_append(&H, F.account, "INBOX",
		    messages[0].data, messages[0].len);
	if (!expunge)
		return;
	if (store_open(H.dir, F.account, NULL, &store, &error) != STORE_OK)
		panic("fuzz: store_open: %s", error);
	if (store_mailbox_get(store, "INBOX", &mb) != STORE_OK)
		panic("fuzz: INBOX: %s", store_error(store));
	(void)store_flags(store, mb.id, &all, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL, NULL, NULL);
	if (store_uids(store, mb.id, &uids, &n) == STORE_OK && n > 0) {
		struct store_range first = { uids[0], uids[0] };

		(void)store_flags(store, mb.id, &first, 1, STORE_FLAGS_ADD,
		    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL);
		(void)store_expunge(store, mb.id, &first, 1, NULL, NULL);
	}
	free(uids);
	store_mailbox_clear(&mb);
	store_close(&store);
}

static void
fuzz_open(void)
{
	imapd_testlib_init(&H, HOST);
	F.tick = evtimer_new(H.base, on_tick, NULL);
	if (F.tick == NULL)
		panic("fuzz: evtimer_new");
	data_dir_open();
}

static void
fuzz_close(void)
{
	event_free(F.tick);
	F.tick = NULL;
	imapd_testlib_clear(&H);
}

static void
fuzz_exit(void)
{
	if (!F.ready)
		return;
	fuzz_close();
	F.ready = false;
}

static void
fuzz_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* PETREL_FUZZ_LOG=1 shows the conversation of a replayed input. */
	log_set_level(getenv("PETREL_FUZZ_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	F.listener = (struct config_listener){ .name = "fuzz",
	    .address = "127.0.0.1", .port = 143,
	    .protocol = CONFIG_PROTOCOL_IMAP, .tls = CONFIG_TLS_NONE };
	fuzz_open();
	F.ready = true;
	atexit(fuzz_exit);
}

static bool
starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(line, prefix, n) == 0;
}

/* Whether a line ends with "{n}" (or "~{n}"); n in *n_r. */
static bool
literal_size(const char *line, size_t len, uint64_t *n_r)
{
	uint64_t n = 0, mul = 1;
	size_t i;

	if (len < 3 || line[len - 1] != '}')
		return false;
	for (i = len - 1; i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9';
	    i--) {
		if (len - i > 12)
			return false;
		n += (uint64_t)(line[i - 1] - '0') * mul;
		mul *= 10;
	}
	if (i == 0 || i == len - 1 || line[i - 1] != '{')
		return false;
	*n_r = n;
	return true;
}

/* A complete response (its literals were read in between). */
static void
check_response(struct replies *r, const char *line, size_t len)
{
	const char *sp;

	if (r->logout_done)
		fail("bytes after the end of LOGOUT", line, len);
	if (r->bare)
		fail("NUL, bare CR or LF outside a literal", line, len);
	if (starts(line, len, "* ") || starts(line, len, "+ ") ||
	    (len == 1 && line[0] == '+'))
		return;
	sp = memchr(line, ' ', len);
	if (sp == NULL || sp == line)
		fail("not an IMAP response", line, len);
	sp++;
	len -= (size_t)(sp - line);
	if (starts(sp, len, "OK Logout completed."))
		r->logout_done = true;
	else if (starts(sp, len, "OK DEFLATE active"))
		r->compressed = true;
	else if (!starts(sp, len, "OK") && !starts(sp, len, "NO ") &&
	    !starts(sp, len, "BAD "))
		fail("not OK, NO or BAD after a tag", line, len);
}

static void
take(struct replies *r, const char *data, size_t n)
{
	for (size_t i = 0; i < n && !r->compressed; i++) {
		char c = data[i];

		if (r->literal > 0) {
			r->literal--;
			continue;
		}
		if (c == '\n' && r->cr) {
			uint64_t lit;

			r->cr = false;
			r->tail_len--;		/* the CR */
			if (literal_size(r->tail, r->tail_len, &lit)) {
				/* The response goes on after the literal. */
				r->literal = lit;
				r->tail_len = 0;
				continue;
			}
			if (r->head_len > 0 && r->head_len < sizeof(r->head) &&
			    r->head[r->head_len - 1] == '\r')
				r->head_len--;
			check_response(r, r->head, r->head_len);
			r->head_len = r->tail_len = 0;
			r->bare = false;
			continue;
		}
		if (c == '\n' || c == '\0' || r->cr)
			r->bare = true;
		r->cr = c == '\r';
		if (r->head_len < sizeof(r->head))
			r->head[r->head_len++] = c;
		if (r->tail_len == sizeof(r->tail)) {
			memmove(r->tail, r->tail + 1, sizeof(r->tail) - 1);
			r->tail_len--;
		}
		r->tail[r->tail_len++] = c;
	}
}

/* Reads what the server wrote and checks it. */
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
			if (!r->compressed && (r->head_len > 0 ||
			    r->literal > 0))
				fail("response cut at close", r->head,
				    r->head_len);
			return;
		}
		take(r, tmp, (size_t)n);
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
		return;		/* the server closed: LOGOUT, error budget */
	}
}

static void
send_str(int fd, const char *s, struct replies *r, long long deadline)
{
	send_all(fd, (const uint8_t *)s, strlen(s), r, deadline);
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
	if (flags & 0x01) {
		H.config.limits.max_errors = 3;
		H.config.limits.imap_max_line = 8192;
		H.config.limits.max_message_size = 65536;
	}
	if (flags & 0x02)
		H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	imapd_testlib_reset_login(&H);
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
	uint8_t hdr[5] = { 0, 0, 0, 0, 0 };
	size_t hlen = size < 5 ? size : 5, cut[5];
	const uint8_t *in = data + hlen;
	size_t len = size - hlen;
	struct service_thread *thread;
	struct replies r;
	long long deadline;
	int sv[2];

	if (!F.ready)
		fuzz_init();
	if (++F.runs % ROTATE_RUNS == 0) {
		fuzz_close();
		fuzz_open();
	}
	memset(&r, 0, sizeof(r));
	memcpy(hdr, data, hlen);
	settings_for(hdr[1]);
	inbox_top_up();
	/* A shutdown is for good: it gets a thread state of its own. */
	thread = (hdr[0] & 0x04) ? service_thread_new(H.base, &H.config,
	    "imapd", imapd_session_shutdown_link) : H.thread;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		panic("fuzz: socketpair: %s", strerror(errno));
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1)
		panic("fuzz: fcntl");
	{
		struct service_thread *keep = H.thread;

		H.thread = thread;
		imapd_testlib_start(&H, sv[1], &F.listener, NULL);
		H.thread = keep;
	}

	deadline = service_testclient_now_ms() + SESSION_DEADLINE_MS;
	cut[0] = 0;
	for (int i = 0; i < 3; i++)
		cut[i + 1] = len * hdr[i + 2] / 256;
	cut[4] = len;
	qsort(cut + 1, 3, sizeof(cut[0]), cmp_size);
	if (hdr[0] & 0x03)
		send_str(sv[0], LOGIN, &r, deadline);
	if ((hdr[0] & 0x03) && (hdr[0] & 0x08))
		send_str(sv[0], ENABLE, &r, deadline);
	if (hdr[0] & 0x02)
		send_str(sv[0], SELECT, &r, deadline);
	for (int i = 0; i < 4; i++) {
		send_all(sv[0], in + cut[i], cut[i + 1] - cut[i], &r,
		    deadline);
		for (int k = 0; k < 3; k++)
			pump(sv[0], &r, false);
		if ((hdr[0] & 0x04) && i == ((hdr[0] >> 4) & 3))
			service_thread_shutdown(thread);
		if (i < 3 && (hdr[1] & 0x0c))
			other_writer(hdr[1] & 0x04, hdr[1] & 0x08);
	}
	(void)shutdown(sv[0], SHUT_WR);
	while (H.ended != H.started) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_imapd_session: session did not "
			    "end\n");
			abort();
		}
		pump(sv[0], &r, true);
	}
	while (!r.eof) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_imapd_session: no EOF after "
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
