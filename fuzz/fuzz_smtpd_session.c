/* fuzz_smtpd_session.c — a whole SMTP session on arbitrary client bytes
   (mox FuzzServer, STYLE.md §10): the real conn on one end of a
   socketpair, a real event_base, a real directory and queue in a temporary
   data dir, made once (smtpd_testlib, shared with smtpd_test.c). Per
   input, a session is started, the input is written in up to four chunks
   (cut where the first bytes say), the write side is shut, and the loop
   runs until the session has freed itself.
   Checked on every input: the session ends (no hang, no leak under LSan),
   nothing follows a 221 or 421, and every reply line is well formed —
   "ddd" then ' ' or '-', no control bytes, at most 512 octets (RFC 5321
   §4.5.3.1.5), and an enhanced status code of the reply's class (RFC 2034
   §3) except in the greeting and the HELO/EHLO reply.

   Input layout: byte 0 flags, bytes 1-3 chunk cuts, then client bytes.
     flag 0x01  prefix "EHLO, MAIL, RCPT" so DATA/BDAT are a step away
     flag 0x02  tight limits (small message, few errors and recipients)
     flag 0x04  graceful shutdown after chunk (flags >> 4) & 3
     flag 0x08  submission session, with AUTH (the shared login, a
                real worker pool; user@example.org has password "pw",
                master user "m" password "mpw")
     flag 0x80  prefix "EHLO, AUTH PLAIN" as user@example.org (before
                flag 0x01's), so a submission session may relay */
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
#include "directory/directory_master.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_session.h"
#include "smtpd/smtpd_testlib.h"
#include "service/service_testclient.h"
#include "service/service_login.h"
#include "service/service_thread.h"

#define HOST "mx.example.org"
#define PREFIX "EHLO a\r\nMAIL FROM:<a@b.example>\r\n" \
	"RCPT TO:<user@example.org>\r\n"
/* AUTH PLAIN: "\0user@example.org\0pw". */
#define AUTH_PREFIX "EHLO a\r\nAUTH PLAIN AHVzZXJAZXhhbXBsZS5vcmcAcHc=\r\n"
/* A session that has not ended this long after its input is a bug. */
#define SESSION_DEADLINE_MS 20000
/* Fresh data dir after this many inputs: the queue only grows. */
#define ROTATE_RUNS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpd_testlib H;		/* base, data dir, queue, thread */

static struct {
	bool ready;
	struct config_listener listener;
	struct event *tick;
	unsigned runs;
} F;

/* What the client has read of the reply stream. */
struct replies {
	char line[1024];
	size_t len;
	bool overflow;
	unsigned n_lines;
	bool closed;		/* a 221 or 421 was read: nothing may follow */
	bool eof;
};

static void
fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_smtpd_session: %s: \"%.*s\"\n", what,
	    (int)len, line);
	abort();
}

static void
on_tick(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	(void)ctx;
}

/* One of each kind of answer resolve() gives. */
static int
fill_directory(struct directory *dir, struct directory_error *err)
{
	static const struct {
		const char *source, *destination;
		enum directory_alias_visibility visibility;
	} aliases[] = {
		{ "postmaster@example.org", "user@example.org",
		  DIRECTORY_ALIAS_KEEP },
		{ "staff@example.org", "user@example.org",
		  DIRECTORY_ALIAS_INTERNAL },
		{ "fwd@example.org", "someone@remote.example",
		  DIRECTORY_ALIAS_KEEP },
		{ "abuse@*", "user@example.org", DIRECTORY_ALIAS_KEEP },
		{ "loop2@example.org", "user@example.org",
		  DIRECTORY_ALIAS_KEEP },
		{ "loop@example.org", "loop2@example.org",
		  DIRECTORY_ALIAS_KEEP },
		{ "loop2@example.org", "loop@example.org",
		  DIRECTORY_ALIAS_KEEP },
	};

	if (directory_admin_domain_add(dir, "example.org", err) == -1 ||
	    directory_master_add(dir, "m", "{PLAIN}mpw", err) == -1 ||
	    directory_admin_domain_add(dir, "catch.example", err) == -1 ||
	    directory_admin_domain_add(dir, "off.example", err) == -1 ||
	    directory_admin_alias_domain_add(dir, "example.net",
	    "example.org", err) == -1 ||
	    directory_admin_account_add(dir, "user@example.org", NULL,
	    "{PLAIN}pw", 0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "off@example.org", NULL, NULL, 0,
	    NULL, err) == -1 ||
	    directory_admin_account_set_enabled(dir, "off@example.org", false,
	    err) == -1 ||
	    directory_admin_domain_set_enabled(dir, "off.example", false,
	    err) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (directory_admin_alias_add(dir, aliases[i].source,
		    &aliases[i].destination, 1, aliases[i].visibility,
		    err) == -1)
			return -1;
	}
	if (directory_admin_domain_set_catch_all(dir, "catch.example",
	    "user@example.org", err) == -1)
		return -1;
	return 0;
}

static void
data_dir_open(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	/* tmpfs when there is one: each queued message costs two fsyncs. */
	if (tmp == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	dir = xasprintf("%s/petrel-fuzz-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		panic("fuzz: mkdtemp %s: %s", dir, strerror(errno));
	smtpd_testlib_open(&H, dir, fill_directory);
}

static void
fuzz_exit(void)
{
	if (!F.ready)
		return;
	event_free(F.tick);
	worker_pool_free(&H.workers);
	service_login_free(&H.login);
	smtpd_testlib_clear(&H);
	F.ready = false;
}

static void
fuzz_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* PETREL_FUZZ_LOG=1 shows the conversation of a replayed input. */
	log_set_level(getenv("PETREL_FUZZ_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	smtpd_testlib_init(&H, HOST);
	F.listener = (struct config_listener){ .name = "fuzz",
	    .address = "127.0.0.1", .port = 25,
	    .protocol = CONFIG_PROTOCOL_SMTP, .tls = CONFIG_TLS_NONE };
	/* Submission AUTH: fast failures, an IP never blocked (every
	   input comes from the same socketpair), accounts blocked after a
	   few so that path runs too; plaintext allowed on the socketpair. */
	config_auth_defaults(&H.config.auth);
	H.config.auth.plaintext = CONFIG_PLAINTEXT_ALWAYS;
	H.config.auth.failure_delay = 1;
	H.config.auth.failure_window = 1;
	H.config.auth.max_failures_per_ip = 0;
	H.config.auth.max_failures_per_account = 5;
	H.login = service_login_new(&H.config);
	service_login_set_dummy_hash(H.login, "{PLAIN}no such password");
	H.workers = worker_pool_new(1);
	F.tick = evtimer_new(H.base, on_tick, NULL);
	if (F.tick == NULL)
		panic("fuzz: evtimer_new");
	data_dir_open();
	F.ready = true;
	atexit(fuzz_exit);
}

/* The 250 lines of the HELO/EHLO reply carry no status code (RFC 2034
   §3); they are the only 250 lines that begin with our name or an
   extension keyword. */
static bool
is_helo_line(const char *text, size_t len)
{
	static const char *const words[] = {
		HOST, "PIPELINING", "SIZE ", "STARTTLS", "AUTH ",
		"ENHANCEDSTATUSCODES",
		"8BITMIME", "DSN", "SMTPUTF8", "CHUNKING", "BINARYMIME",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if (len >= n && memcmp(text, words[i], n) == 0)
			return true;
	}
	return false;
}

/* "c.x.y " with 1-3 digits for x and y (RFC 3463 §2), c the class. */
static bool
has_status_code(const char *text, size_t len, char class)
{
	size_t i = 0;

	if (len < 6 || text[0] != class || text[1] != '.')
		return false;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;

		while (i < len && text[i] >= '0' && text[i] <= '9' &&
		    digits < 4) {
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return false;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return false;
			i++;
		}
	}
	return i == len || text[i] == ' ';
}

static void
check_line(struct replies *r, const char *line, size_t len)
{
	bool first = r->n_lines++ == 0;

	if (r->overflow || len + 2 > 512)
		fail("reply line over 512 octets", line, len);
	if (r->closed)
		fail("reply after the closing one", line, len);
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		fail("malformed reply", line, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			fail("control byte in reply", line, len);
	}
	/* RFC 5321 §3.8, §4.1.1.10: the last words before the close. */
	if (len > 3 && line[3] == ' ' && (memcmp(line, "221", 3) == 0 ||
	    memcmp(line, "421", 3) == 0))
		r->closed = true;
	if (line[0] == '3' || len == 3)
		return;
	if (first && memcmp(line, "220 ", 4) == 0)
		return;		/* the greeting */
	if (memcmp(line, "250", 3) == 0 && is_helo_line(line + 4, len - 4))
		return;
	if (!has_status_code(line + 4, len - 4, line[0]))
		fail("reply without enhanced status code", line, len);
}

/* Reads what the server wrote and checks it line by line. */
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
				fail("reply without CRLF at close", r->line,
				    r->len);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = tmp[i];

			if (c == '\n') {
				if (r->len == 0 || r->line[r->len - 1] != '\r')
					fail("bare LF in reply", r->line,
					    r->len);
				check_line(r, r->line, r->len - 1);
				r->len = 0;
				r->overflow = false;
			} else if (r->len < sizeof(r->line)) {
				r->line[r->len++] = c;
			} else {
				r->overflow = true;
			}
		}
	}
}

/* Runs the loop once without waiting, or, when wait is set, for at
   most about a millisecond. */
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
		/* The server closed (QUIT, error budget): the rest of the
		   input has nobody to go to. */
		return;
	}
}

static void
limits_for(uint8_t flags)
{
	struct config_limits *l = &H.config.limits;

	*l = H.defaults;
	/* Fast: the delay path runs, without sleeping for a second. */
	l->unknown_rcpt_delay_after = 2;
	l->unknown_rcpt_close_after = 6;
	l->unknown_rcpt_delay_ms = 1;
	if (flags & 0x02) {
		l->max_message_size = 300;
		l->max_recipients = 2;
		l->max_errors = 3;
		l->max_commands_before_data = 3;
		l->max_command_line = 64;
		l->max_text_line = 40;
	}
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
	struct replies r = { .len = 0 };
	long long deadline;
	int sv[2];

	if (!F.ready)
		fuzz_init();
	if (++F.runs % ROTATE_RUNS == 0) {
		smtpd_testlib_close(&H);
		data_dir_open();
	}
	memcpy(hdr, data, hlen);
	limits_for(hdr[0]);
	/* A shutdown is for good: it gets a thread state of its own. */
	thread = (hdr[0] & 0x04) ? service_thread_new(H.base, &H.config,
	    "smtpd", smtpd_session_shutdown_link) :
	    H.thread;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		panic("fuzz: socketpair: %s", strerror(errno));
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1)
		panic("fuzz: fcntl");
	smtpd_testlib_start(&H, sv[1], thread, &F.listener, NULL,
	    (hdr[0] & 0x08) != 0);

	deadline = service_testclient_now_ms() + SESSION_DEADLINE_MS;
	cut[0] = 0;
	for (int i = 0; i < 3; i++)
		cut[i + 1] = len * hdr[i + 1] / 256;
	cut[4] = len;
	qsort(cut + 1, 3, sizeof(cut[0]), cmp_size);
	if ((hdr[0] & 0x88) == 0x88)
		send_all(sv[0], (const uint8_t *)AUTH_PREFIX,
		    strlen(AUTH_PREFIX), &r, deadline);
	if (hdr[0] & 0x01)
		send_all(sv[0], (const uint8_t *)PREFIX, strlen(PREFIX), &r,
		    deadline);
	for (int i = 0; i < 4; i++) {
		send_all(sv[0], in + cut[i], cut[i + 1] - cut[i], &r,
		    deadline);
		/* Let the session work on a partial command or body. */
		for (int k = 0; k < 3; k++)
			pump(sv[0], &r, false);
		if ((hdr[0] & 0x04) && i == ((hdr[0] >> 4) & 3))
			service_thread_shutdown(thread);
	}
	(void)shutdown(sv[0], SHUT_WR);
	while (H.ended != H.started) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_smtpd_session: session did not "
			    "end\n");
			abort();
		}
		pump(sv[0], &r, true);
	}
	/* The session is gone: the rest of its output, then EOF. */
	while (!r.eof) {
		if (service_testclient_now_ms() > deadline) {
			fprintf(stderr, "fuzz_smtpd_session: no EOF after "
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
