/* service_login_test.c — the shared login against a real directory:
   plain, alias-domain and master logins, the failures that must look
   alike, NUL in passwords, the shared throttle, and the cache (a hit
   answers while the worker pool is held busy; a changed stored hash is
   a miss). */
#include "service/service_login.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "auth/password.h"
#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_master.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "service/service_thread.h"

static struct config config;
static struct event_base *base;
static struct worker_pool *pool;
static struct service_thread *thread;
static struct service_login *login;
static char *datadir;

struct outcome {
	bool done;
	unsigned calls;
	struct service_login_result r;
	char address[128];
	char master[64];
};

static void
outcome_done(const struct service_login_result *r, void *ctx)
{
	struct outcome *o = ctx;

	o->calls++;
	o->done = true;
	o->r = *r;
	o->r.address = NULL;
	o->r.master = NULL;
	snprintf(o->address, sizeof(o->address), "%s",
	    r->address != NULL ? r->address : "");
	snprintf(o->master, sizeof(o->master), "%s",
	    r->master != NULL ? r->master : "");
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until o is done or ms pass. */
static void
wait_for(struct outcome *o, long long ms)
{
	long long end = now_ms() + ms;
	struct timeval tv = { 0, 2000 };

	while (!o->done && now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
start(struct outcome *o, const char *user, const char *authzid,
    const char *password, size_t len)
{
	struct service_login_request req = {
		.service = "test",
		.conn_id = "c1",
		.ip = "192.0.2.7",
		.method = "PLAIN",
		.user = user,
		.authzid = authzid,
		.password = password,
		.password_len = len,
	};

	memset(o, 0, sizeof(*o));
	service_login_start(login, thread, pool, &req, outcome_done, o);
	/* Never before returning. */
	TEST_ASSERT(!o->done);
}

static enum service_login_status
try_login(const char *user, const char *authzid, const char *password,
    struct outcome *o)
{
	start(o, user, authzid, password, strlen(password));
	wait_for(o, 5000);
	TEST_EQ_INT(o->calls, 1);
	return o->r.status;
}

static void
dir_exec(void (*fn)(struct directory *d))
{
	struct directory *d = NULL;
	char *error = NULL;

	if (directory_open(datadir, true, &d, &error) == -1)
		panic("directory_open: %s", error);
	fn(d);
	directory_close(&d);
}

static void
fill(struct directory *d)
{
	TEST_EQ_INT(directory_admin_domain_add(d, "example.org", NULL), 0);
	TEST_EQ_INT(directory_admin_domain_add(d, "off.example", NULL), 0);
	TEST_EQ_INT(directory_admin_alias_domain_add(d, "alias.example",
	    "example.org", NULL), 0);
	TEST_EQ_INT(directory_admin_account_add(d, "bob@example.org", NULL,
	    "{PLAIN}bobpw", 1000, NULL, NULL), 0);
	TEST_EQ_INT(directory_admin_account_add(d, "eve@example.org", NULL,
	    "{PLAIN}evepw", 0, NULL, NULL), 0);
	TEST_EQ_INT(directory_admin_account_set_enabled(d, "eve@example.org",
	    false, NULL), 0);
	TEST_EQ_INT(directory_admin_account_add(d, "nopw@example.org", NULL,
	    NULL, 0, NULL, NULL), 0);
	TEST_EQ_INT(directory_admin_account_add(d, "carl@off.example", NULL,
	    "{PLAIN}carlpw", 0, NULL, NULL), 0);
	TEST_EQ_INT(directory_admin_domain_set_enabled(d, "off.example",
	    false, NULL), 0);
	TEST_EQ_INT(directory_master_add(d, "Admin", "{PLAIN}masterpw",
	    NULL), 0);
}

static void
setup(void)
{
	memset(&config, 0, sizeof(config));
	config_limits_defaults(&config.limits);
	config_auth_defaults(&config.auth);
	config.auth.failure_delay = 7;
	config.auth.max_failures_per_account = 3;
	config.auth.max_failures_per_ip = 100;
	datadir = test_tmpdir();
	config.data_dir = datadir;
	dir_exec(fill);
	login = service_login_new(&config);
	service_login_set_dummy_hash(login, "{PLAIN}no such password");
	thread = service_thread_new(base, &config, "test", NULL);
}

static void
teardown(void)
{
	service_thread_free(&thread);
	service_login_free(&login);
	(void)fsutil_remove_tree(datadir);
	free(datadir);
	datadir = NULL;
}

static void
test_plain(void)
{
	struct outcome o;

	setup();
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	TEST_EQ_STR(o.master, "");
	TEST_EQ_INT(o.r.quota_bytes, 1000);
	TEST_ASSERT(o.r.account_id > 0);
	TEST_EQ_INT(o.r.delay_ms, 0);
	/* Any case, the alias domain, and authzid == authcid. */
	TEST_EQ_INT(try_login("BOB@Example.ORG", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	TEST_EQ_INT(try_login("bob@alias.example", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	TEST_EQ_INT(try_login("bob@example.org", "Bob@example.org", "bobpw",
	    &o), SERVICE_LOGIN_OK);
	teardown();
}

static void
test_failures_alike(void)
{
	static const struct {
		const char *user, *password;
	} cases[] = {
		{ "bob@example.org", "wrong" },		/* password */
		{ "nobody@example.org", "bobpw" },	/* unknown */
		{ "eve@example.org", "evepw" },		/* disabled account */
		{ "carl@off.example", "carlpw" },	/* disabled domain */
		{ "nopw@example.org", "x" },		/* no password */
		{ "bob@nowhere.example", "bobpw" },	/* not our domain */
		{ "not an address", "bobpw" },
		{ "bob@example.org*", "bobpw" },	/* empty master */
		{ "*admin", "masterpw" },		/* empty account */
	};
	struct outcome o;

	setup();
	config.auth.max_failures_per_account = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		service_login_free(&login);
		login = service_login_new(&config);
		service_login_set_dummy_hash(login, "{PLAIN}no such password");
		TEST_EQ_INT(try_login(cases[i].user, NULL, cases[i].password,
		    &o), SERVICE_LOGIN_FAILED);
		TEST_EQ_INT(o.r.delay_ms, 7);
		TEST_EQ_STR(o.address, "");
		TEST_EQ_INT(o.r.account_id, 0);
	}
	teardown();
}

static void
test_nul_and_empty(void)
{
	struct outcome o;

	setup();
	/* "bobpw\0junk" must not log in as "bobpw". */
	start(&o, "bob@example.org", NULL, "bobpw\0junk", 10);
	wait_for(&o, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_FAILED);
	start(&o, "bob@example.org", NULL, "", 0);
	wait_for(&o, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_FAILED);
	start(&o, NULL, NULL, "bobpw", 5);
	wait_for(&o, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_FAILED);
	teardown();
}

static void
test_master(void)
{
	struct outcome o;

	setup();
	TEST_EQ_INT(try_login("bob@example.org*admin", NULL, "masterpw", &o),
	    SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	TEST_EQ_STR(o.master, "admin");
	/* The alias-domain spelling, a master name in capitals. */
	TEST_EQ_INT(try_login("BOB@alias.example*ADMIN", NULL, "masterpw",
	    &o), SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	/* SASL: authzid the account, authcid the master. */
	TEST_EQ_INT(try_login("admin", "bob@example.org", "masterpw", &o),
	    SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	TEST_EQ_STR(o.master, "admin");
	/* The user's own password is not the master's. */
	TEST_EQ_INT(try_login("bob@example.org*admin", NULL, "bobpw", &o),
	    SERVICE_LOGIN_FAILED);
	/* An authzid with an ordinary user's credentials. */
	TEST_EQ_INT(try_login("bob@example.org", "eve@example.org", "bobpw",
	    &o), SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(try_login("bob@example.org*nobody", NULL, "masterpw",
	    &o), SERVICE_LOGIN_FAILED);
	/* A master cannot enter a disabled account. */
	TEST_EQ_INT(try_login("eve@example.org*admin", NULL, "masterpw", &o),
	    SERVICE_LOGIN_FAILED);
	teardown();
}

static void
test_throttle(void)
{
	struct outcome o;

	setup();
	for (int i = 0; i < 3; i++)
		TEST_EQ_INT(try_login("bob@example.org", NULL, "wrong", &o),
		    SERVICE_LOGIN_FAILED);
	/* Blocked: the right password is not even checked, from any
	   service sharing this login, in any spelling. */
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_BLOCKED);
	TEST_EQ_INT(o.r.delay_ms, 7);
	TEST_EQ_INT(try_login("BOB@EXAMPLE.ORG", NULL, "bobpw", &o),
	    SERVICE_LOGIN_BLOCKED);
	/* Another account is not. */
	TEST_EQ_INT(try_login("admin", "bob@example.org", "masterpw", &o),
	    SERVICE_LOGIN_OK);
	teardown();
}

/* The per-account budget is the account's, whatever spelling the
   guesser uses: alias domain, quoted local part, quoted pairs, case. */
static void
test_throttle_spellings(void)
{
	static const char *const spellings[] = {
		"bob@alias.example", "\"bob\"@example.org",
		"\"b\\ob\"@ALIAS.example",
	};
	struct outcome o;

	setup();
	for (size_t i = 0; i < 3; i++)
		TEST_EQ_INT(try_login(spellings[i], NULL, "wrong", &o),
		    SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_BLOCKED);
	TEST_EQ_INT(try_login("\"bo\\b\"@alias.example", NULL, "bobpw",
	    &o), SERVICE_LOGIN_BLOCKED);
	/* Names of no domain of ours still count as sent, case aside. */
	for (size_t i = 0; i < 3; i++)
		TEST_EQ_INT(try_login(i == 1 ? "X@Nowhere.Example" :
		    "x@nowhere.example", NULL, "pw", &o), SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(try_login("x@NOWHERE.example", NULL, "pw", &o),
	    SERVICE_LOGIN_BLOCKED);
	teardown();
}

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void
hold_work(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&hold);
	pthread_mutex_unlock(&hold);
}

static void
set_password(struct directory *d)
{
	TEST_EQ_INT(directory_admin_account_set_password(d,
	    "bob@example.org", "{PLAIN}newpw", NULL), 0);
}

static void
test_cache(void)
{
	struct outcome o, o2;

	setup();
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	/* With both workers busy, only a cache hit can answer. */
	pthread_mutex_lock(&hold);
	worker_submit(pool, NULL, hold_work, NULL, NULL);
	worker_submit(pool, NULL, hold_work, NULL, NULL);
	start(&o, "bob@alias.example", NULL, "bobpw", 5);
	wait_for(&o, 2000);
	TEST_ASSERT(o.done);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_OK);
	TEST_EQ_STR(o.address, "bob@example.org");
	/* A wrong password is never a hit. */
	start(&o2, "bob@example.org", NULL, "bobpw2", 6);
	wait_for(&o2, 200);
	TEST_ASSERT(!o2.done);
	/* The stored hash changed: a miss, checked against the new one. */
	dir_exec(set_password);
	start(&o, "bob@example.org", NULL, "bobpw", 5);
	wait_for(&o, 200);
	TEST_ASSERT(!o.done);
	pthread_mutex_unlock(&hold);
	wait_for(&o, 5000);
	wait_for(&o2, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(o2.r.status, SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(try_login("bob@example.org", NULL, "newpw", &o),
	    SERVICE_LOGIN_OK);
	teardown();

	/* cache_ttl 0: nothing is remembered. */
	setup();
	config.auth.cache_ttl = 0;
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	pthread_mutex_lock(&hold);
	worker_submit(pool, NULL, hold_work, NULL, NULL);
	worker_submit(pool, NULL, hold_work, NULL, NULL);
	start(&o, "bob@example.org", NULL, "bobpw", 5);
	wait_for(&o, 200);
	TEST_ASSERT(!o.done);
	pthread_mutex_unlock(&hold);
	wait_for(&o, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_OK);
	teardown();
}

static void
test_dummy_real(void)
{
	struct outcome o;

	/* The real Argon2 dummy: an unknown user still gets an answer. */
	setup();
	service_login_free(&login);
	login = service_login_new(&config);
	service_login_warm(login);
	TEST_EQ_INT(try_login("nobody@example.org", NULL, "x", &o),
	    SERVICE_LOGIN_FAILED);
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	teardown();
}

static volatile bool warm_done;

static void *
warm_thread(void *ctx)
{
	(void)ctx;
	service_login_warm(login);
	warm_done = true;
	return NULL;
}

/* Making the dummy (one Argon2id, on a worker) must not hold up the
   cache lookup every login makes on its I/O thread. */
static void
test_dummy_does_not_block_lookups(void)
{
	struct outcome o;
	pthread_t t;

	setup();
	TEST_EQ_INT(try_login("bob@example.org", NULL, "bobpw", &o),
	    SERVICE_LOGIN_OK);
	/* Back to the real dummy, not made yet. */
	service_login_set_dummy_hash(login, NULL);
	warm_done = false;
	if (pthread_create(&t, NULL, warm_thread, NULL) != 0)
		panic("pthread_create");
	/* Let it get into the hash. */
	(void)poll(NULL, 0, 20);
	start(&o, "bob@example.org", NULL, "bobpw", 5);
	/* The lookup came back while the dummy was still being made. */
	TEST_ASSERT(!warm_done);
	wait_for(&o, 5000);
	TEST_EQ_INT(o.r.status, SERVICE_LOGIN_OK);
	pthread_join(t, NULL);
	teardown();
}

static void
test_plaintext_ok(void)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	TEST_ASSERT(service_login_plaintext_ok(&c, true, false));
	TEST_ASSERT(!service_login_plaintext_ok(&c, false, true));
	c.auth.plaintext = CONFIG_PLAINTEXT_LOOPBACK;
	TEST_ASSERT(service_login_plaintext_ok(&c, false, true));
	TEST_ASSERT(!service_login_plaintext_ok(&c, false, false));
	c.auth.plaintext = CONFIG_PLAINTEXT_ALWAYS;
	TEST_ASSERT(service_login_plaintext_ok(&c, false, false));
}

int
main(void)
{
	worker_threads_init();
	base = event_base_new();
	worker_base_attach(base);
	pool = worker_pool_new(2);
	TEST_RUN(test_plain);
	TEST_RUN(test_failures_alike);
	TEST_RUN(test_nul_and_empty);
	TEST_RUN(test_master);
	TEST_RUN(test_throttle);
	TEST_RUN(test_throttle_spellings);
	TEST_RUN(test_cache);
	TEST_RUN(test_dummy_real);
	TEST_RUN(test_dummy_does_not_block_lookups);
	TEST_RUN(test_plaintext_ok);
	worker_pool_free(&pool);
	worker_base_detach(base);
	event_base_free(base);
	return test_done();
}
