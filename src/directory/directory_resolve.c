/* directory_resolve.c — recipient resolution: envelope address ->
   deliveries to accounts, forwards, or a reject with its SMTP reply.

   Order, first match wins (every step on the normalised address, after
   alias domains are mapped to their target):
     1. syntax (directory_address.c)            -> INVALID 501 5.1.3
     2. domain, directly or as an alias domain  -> else NOT_LOCAL
     3. alias local@domain; an explicit alias beats an account of the same
        name, as Postfix applies virtual_alias_maps before
        virtual_mailbox_maps (list the account among the destinations to
        keep a copy there)
     4. account local@domain
     5. plus-addressing: base+tag@domain tried as 3-4 on base@domain, the
        tag carried to the deliveries (first '+'; "+x" has no base)
     6. wildcard alias local@* (then base@* with the tag)
     7. the domain's catch-all destination
     8. the global catch-all mailbox (settings: catchall_unknown_mailbox)
     9. UNKNOWN 550 5.1.1
   Internal-only aliases (3, 5, 6) refuse outside senders (550 5.7.1).
   Alias destinations are resolved by steps 2-5 again, recursively, at most
   DIRECTORY_RESOLVE_DEPTH_MAX aliases deep and DIRECTORY_RESOLVE_STEPS_MAX
   destinations in all; a destination naming an alias already being
   expanded is taken as the account of that name (the Postfix
   self-reference rule: "a@ -> a@, b@" keeps a copy in a@), or dropped.
   Destinations outside our domains become forwards (without the tag).
   Disabled accounts among several destinations are skipped; deliveries to
   one account are folded. All lookups of one resolution run in one read
   transaction, so they see one consistent snapshot. */
#include "directory/directory_private.h"
#include "directory/directory_admin.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* Postfix's virtual alias expansion also stops at depth 100 with 1000
   addresses; aliases here are flatter and 10 is plenty. */
#define DIRECTORY_RESOLVE_DEPTH_MAX 10
/* Total destinations looked at for one recipient: caps fan-out ^ depth. */
#define DIRECTORY_RESOLVE_STEPS_MAX 1000
/* local@domain with room for the longest of each. */
#define DIRECTORY_KEY_MAX (DIRECTORY_LOCAL_MAX + 1 + DIRECTORY_DOMAIN_MAX + 1)

struct directory_resolve_domain {
	char name[DIRECTORY_DOMAIN_MAX + 1];
	bool enabled;
	bool has_catch_all;
	char catch_all[DIRECTORY_ADDRESS_MAX + 1];
};

struct directory_resolve_ctx {
	struct directory *dir;
	struct directory_resolution *res;
	size_t cap_deliveries, cap_forwards;
	/* Keys of the aliases being expanded, outermost first. */
	const char *stack[DIRECTORY_RESOLVE_DEPTH_MAX];
	size_t depth;
	unsigned steps;
	bool disabled_seen;		/* a disabled account was skipped */
	bool failed;			/* database error: TEMPFAIL */
	unsigned warned;		/* DIRECTORY_RESOLVE_WARN_* logged */
};

/* Each kind of configuration problem is logged once per resolution: a
   fan-out of aliases would otherwise log one line per path. */
enum directory_resolve_warn {
	DIRECTORY_RESOLVE_WARN_DEEP = 1 << 0,
	DIRECTORY_RESOLVE_WARN_WIDE = 1 << 1,
	DIRECTORY_RESOLVE_WARN_BAD = 1 << 2,
	DIRECTORY_RESOLVE_WARN_LOOP = 1 << 3,
	DIRECTORY_RESOLVE_WARN_DANGLING = 1 << 4,
};

static void directory_resolve_destination(struct directory_resolve_ctx *c,
    const char *destination, const char *tag);

static void
directory_resolve_db_error(struct directory_resolve_ctx *c)
{
	if (!c->failed)
		log_warn("directory: event=lookup_failed error=\"%s\"",
		    sqlite3_errmsg(c->dir->db));
	c->failed = true;
}

static void
directory_resolve_warn(struct directory_resolve_ctx *c,
    enum directory_resolve_warn kind, const char *event, const char *key)
{
	char safe[LOG_STR_MAX];

	if ((c->warned & kind) != 0)
		return;
	c->warned |= kind;
	log_warn("directory: event=%s address=%s", event,
	    log_str(safe, sizeof(safe), key, strlen(key)));
}

/* Copies a text column into out (size bytes). false when NULL or too
   long, which a row we wrote never is. */
static bool
directory_resolve_column(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);

	if (text == NULL || len < 0 || (size_t)len >= size)
		return false;
	memcpy(out, text, (size_t)len);
	out[len] = '\0';
	return true;
}

/* Runs the cached lookup which with key bound to ?1: the statement, to be
   reset by the caller, with the step's result in *rc_r; NULL (logged,
   resolution failed) when it cannot be prepared. */
static sqlite3_stmt *
directory_resolve_lookup(struct directory_resolve_ctx *c,
    enum directory_stmt which, const char *key, int *rc_r)
{
	sqlite3_stmt *stmt = directory_stmt(c->dir, which);

	if (stmt == NULL) {
		directory_resolve_db_error(c);
		return NULL;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	*rc_r = sqlite3_step(stmt);
	return stmt;
}

/* Returns 1 when domain is ours (filling *dom, alias domains mapped to
   their target), 0 when not, -1 on a database error. */
static int
directory_resolve_domain(struct directory_resolve_ctx *c, const char *domain,
    struct directory_resolve_domain *dom)
{
	static const enum directory_stmt order[] = {
		DIRECTORY_STMT_DOMAIN, DIRECTORY_STMT_ALIAS_DOMAIN,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int rc;
		sqlite3_stmt *stmt = directory_resolve_lookup(c, order[i],
		    domain, &rc);

		if (stmt == NULL)
			return -1;
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW ||
		    !directory_resolve_column(stmt, 1, dom->name,
		    sizeof(dom->name))) {
			directory_resolve_db_error(c);
			sqlite3_reset(stmt);
			return -1;
		}
		dom->enabled = sqlite3_column_int(stmt, 2) != 0;
		dom->has_catch_all = directory_resolve_column(stmt, 3,
		    dom->catch_all, sizeof(dom->catch_all));
		sqlite3_reset(stmt);
		return 1;
	}
	return 0;
}

/* Returns 1 when key is an alias (*id_r, *internal_r), 0 when not, -1. */
static int
directory_resolve_alias(struct directory_resolve_ctx *c, const char *key,
    int64_t *id_r, bool *internal_r)
{
	int rc;
	sqlite3_stmt *stmt = directory_resolve_lookup(c, DIRECTORY_STMT_ALIAS,
	    key, &rc);

	if (stmt == NULL)
		return -1;
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(stmt, 0);
		*internal_r = sqlite3_column_int(stmt, 1) != 0;
	} else if (rc != SQLITE_DONE) {
		directory_resolve_db_error(c);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* An account row as resolution needs it. */
struct directory_resolve_account {
	int64_t id;
	bool enabled;
	char address[DIRECTORY_KEY_MAX];
	enum directory_plus_mode plus_mode;
	uint64_t quota_bytes, quota_messages;
	char *forward;		/* heap: destinations, comma-separated */
	bool keep;		/* forwarding keeps a copy */
};

/* Returns 1 when key is an account (filled into *acct; free acct->forward),
   0 when not, -1. */
static int
directory_resolve_account(struct directory_resolve_ctx *c, const char *key,
    struct directory_resolve_account *acct)
{
	int rc, ret, mode;
	sqlite3_stmt *stmt = directory_resolve_lookup(c,
	    DIRECTORY_STMT_ACCOUNT, key, &rc);
	const unsigned char *text;

	memset(acct, 0, sizeof(*acct));
	if (stmt == NULL)
		return -1;
	if (rc == SQLITE_ROW) {
		acct->id = sqlite3_column_int64(stmt, 0);
		acct->enabled = sqlite3_column_int(stmt, 2) != 0;
		acct->quota_bytes = (uint64_t)sqlite3_column_int64(stmt, 3);
		acct->quota_messages = (uint64_t)sqlite3_column_int64(stmt, 4);
		text = sqlite3_column_text(stmt, 5);
		mode = text != NULL ?
		    directory_plus_mode_parse((const char *)text) : -1;
		acct->plus_mode = mode < 0 ? DIRECTORY_PLUS_IGNORE :
		    (enum directory_plus_mode)mode;
		text = sqlite3_column_text(stmt, 6);
		if (text != NULL && text[0] != '\0')
			acct->forward = xstrdup((const char *)text);
		text = sqlite3_column_text(stmt, 7);
		acct->keep = text != NULL && strcmp((const char *)text, "1") == 0;
		ret = directory_resolve_column(stmt, 1, acct->address,
		    DIRECTORY_KEY_MAX) ? 1 : -1;
	} else {
		ret = rc == SQLITE_DONE ? 0 : -1;
	}
	if (ret == -1) {
		directory_resolve_db_error(c);
		free(acct->forward);
		acct->forward = NULL;
	}
	sqlite3_reset(stmt);
	return ret;
}

static bool
directory_resolve_in_stack(const struct directory_resolve_ctx *c,
    const char *key)
{
	for (size_t i = 0; i < c->depth; i++)
		if (strcmp(c->stack[i], key) == 0)
			return true;
	return false;
}

static void
directory_resolve_add_delivery(struct directory_resolve_ctx *c,
    const struct directory_resolve_account *acct, const char *tag)
{
	struct directory_resolution *res = c->res;
	struct directory_delivery *d;

	for (size_t i = 0; i < res->n_deliveries; i++)
		if (res->deliveries[i].account_id == acct->id)
			return;		/* folded: one copy per account */
	if (res->n_deliveries == c->cap_deliveries) {
		c->cap_deliveries = c->cap_deliveries == 0 ? 4 :
		    c->cap_deliveries * 2;
		res->deliveries = xreallocarray(res->deliveries,
		    c->cap_deliveries, sizeof(*res->deliveries));
	}
	d = &res->deliveries[res->n_deliveries++];
	d->account_id = acct->id;
	d->account = xstrdup(acct->address);
	d->tag = tag != NULL && tag[0] != '\0' ? xstrdup(tag) : NULL;
	d->plus_mode = acct->plus_mode;
	d->quota_bytes = acct->quota_bytes;
	d->quota_messages = acct->quota_messages;
}

/* An enabled account reached by resolution: its forward destinations
   (followed like an alias's, so loops are cut the same way), and a
   delivery unless it forwards without keeping a copy. Frees
   acct->forward. */
static void
directory_resolve_reach_account(struct directory_resolve_ctx *c,
    struct directory_resolve_account *acct, const char *tag)
{
	char *forward = acct->forward, *p, *dest;

	acct->forward = NULL;
	if (forward == NULL || directory_resolve_in_stack(c, acct->address) ||
	    c->depth >= DIRECTORY_RESOLVE_DEPTH_MAX) {
		directory_resolve_add_delivery(c, acct, tag);
		free(forward);
		return;
	}
	c->stack[c->depth++] = acct->address;
	for (p = forward; (dest = strsep(&p, ",")) != NULL && !c->failed;) {
		while (*dest == ' ')
			dest++;
		if (*dest != '\0')
			directory_resolve_destination(c, dest, NULL);
	}
	c->stack[--c->depth] = NULL;
	if (acct->keep)
		directory_resolve_add_delivery(c, acct, tag);
	free(forward);
}

static void
directory_resolve_add_forward(struct directory_resolve_ctx *c,
    const struct directory_address *addr)
{
	struct directory_resolution *res = c->res;
	char *fwd;

	/* The remote local part keeps its case: only its owner may fold
	   it (RFC 5321 §2.4). */
	fwd = xasprintf("%s@%s", addr->local, addr->domain);
	for (size_t i = 0; i < res->n_forwards; i++) {
		if (strcmp(res->forwards[i], fwd) == 0) {
			free(fwd);
			return;
		}
	}
	if (res->n_forwards == c->cap_forwards) {
		c->cap_forwards = c->cap_forwards == 0 ? 4 :
		    c->cap_forwards * 2;
		res->forwards = xreallocarray(res->forwards, c->cap_forwards,
		    sizeof(*res->forwards));
	}
	res->forwards[res->n_forwards++] = fwd;
}

static bool
directory_resolve_key(char *key, const char *local, size_t local_len,
    const char *domain)
{
	int n = snprintf(key, DIRECTORY_KEY_MAX, "%.*s@%s", (int)local_len,
	    local, domain);

	return n > 0 && (size_t)n < DIRECTORY_KEY_MAX;
}

/* Expands alias id (whose key is key) into c->res. */
static void
directory_resolve_expand(struct directory_resolve_ctx *c, int64_t id,
    const char *key, const char *tag)
{
	sqlite3_stmt *stmt;
	char **dests = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (c->depth >= DIRECTORY_RESOLVE_DEPTH_MAX) {
		directory_resolve_warn(c, DIRECTORY_RESOLVE_WARN_DEEP,
		    "alias_too_deep", key);
		return;
	}
	/* The statement is shared by every level of the recursion: read
	   all destinations before following any. */
	stmt = directory_stmt(c->dir, DIRECTORY_STMT_DESTINATIONS);
	if (stmt == NULL) {
		directory_resolve_db_error(c);
		return;
	}
	sqlite3_bind_int64(stmt, 1, id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(stmt, 0);

		if (t == NULL)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			dests = xreallocarray(dests, cap, sizeof(*dests));
		}
		dests[n++] = xstrdup((const char *)t);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		directory_resolve_db_error(c);
	c->stack[c->depth++] = key;
	for (size_t i = 0; i < n && !c->failed; i++)
		directory_resolve_destination(c, dests[i], tag);
	c->stack[--c->depth] = NULL;
	for (size_t i = 0; i < n; i++)
		free(dests[i]);
	free(dests);
}

/* Steps 3-4 on key for an alias destination: alias (unless it is being
   expanded already), then account. Returns 1 when key matched something,
   0 when not. */
static int
directory_resolve_exact(struct directory_resolve_ctx *c, const char *key,
    const char *tag)
{
	struct directory_resolve_account acct;
	int64_t id;
	bool flag;
	int rc;

	if (!directory_resolve_in_stack(c, key)) {
		rc = directory_resolve_alias(c, key, &id, &flag);
		if (rc == -1)
			return 1;
		if (rc == 1) {
			/* Nested aliases ignore their own internal flag: the
			   sender addressed the outer one. */
			directory_resolve_expand(c, id, key, tag);
			return 1;
		}
	}
	rc = directory_resolve_account(c, key, &acct);
	if (rc == -1)
		return 1;
	if (rc == 1) {
		if (acct.enabled)
			directory_resolve_reach_account(c, &acct, tag);
		else
			c->disabled_seen = true;
		free(acct.forward);
		return 1;
	}
	return 0;
}

static void
directory_resolve_destination(struct directory_resolve_ctx *c,
    const char *destination, const char *tag)
{
	struct directory_address addr;
	struct directory_resolve_domain dom;
	char key[DIRECTORY_KEY_MAX];
	const char *error, *plus;
	int rc;

	if (++c->steps > DIRECTORY_RESOLVE_STEPS_MAX) {
		directory_resolve_warn(c, DIRECTORY_RESOLVE_WARN_WIDE,
		    "alias_too_wide", destination);
		return;
	}
	if (directory_address_parse(destination, false, &addr, &error) == -1) {
		directory_resolve_warn(c, DIRECTORY_RESOLVE_WARN_BAD,
		    "bad_destination", destination);
		return;
	}
	rc = directory_resolve_domain(c, addr.domain, &dom);
	if (rc == -1)
		return;
	if (rc == 0) {
		directory_resolve_add_forward(c, &addr);
		return;
	}
	if (!dom.enabled) {
		c->disabled_seen = true;
		return;
	}
	if (!directory_resolve_key(key, addr.local_lower,
	    strlen(addr.local_lower), dom.name))
		return;
	if (directory_resolve_exact(c, key, tag) == 1)
		return;
	plus = strchr(addr.local_lower, '+');
	if (plus != NULL && plus != addr.local_lower) {
		char base[DIRECTORY_KEY_MAX];

		/* The destination's own tag wins over the one carried. */
		if (directory_resolve_key(base, addr.local_lower,
		    (size_t)(plus - addr.local_lower), dom.name) &&
		    directory_resolve_exact(c, base,
		    addr.local + (plus - addr.local_lower) + 1) == 1)
			return;
	}
	if (directory_resolve_in_stack(c, key))
		directory_resolve_warn(c, DIRECTORY_RESOLVE_WARN_LOOP,
		    "alias_loop", key);
	else
		directory_resolve_warn(c, DIRECTORY_RESOLVE_WARN_DANGLING,
		    "dangling_destination", key);
}

/* After a top-level alias or catch-all was expanded: what it came to. */
static enum directory_result
directory_resolve_outcome(const struct directory_resolve_ctx *c)
{
	if (c->failed)
		return DIRECTORY_TEMPFAIL;
	if (c->res->n_deliveries > 0 || c->res->n_forwards > 0)
		return DIRECTORY_LOCAL;
	/* Accepting mail that goes nowhere would lose it: refuse now. */
	return c->disabled_seen ? DIRECTORY_DISABLED : DIRECTORY_UNKNOWN;
}

/* Steps 3 (or 6) and 4 at the top level, on key with tag. Returns -1 when
   key is neither alias nor account, else the result. */
static int
directory_resolve_top_key(struct directory_resolve_ctx *c, const char *key,
    const char *tag, bool internal_ok, bool accounts)
{
	struct directory_resolve_account acct;
	int64_t id;
	bool flag;
	int rc;

	rc = directory_resolve_alias(c, key, &id, &flag);
	if (rc == -1)
		return DIRECTORY_TEMPFAIL;
	if (rc == 1) {
		if (flag && !internal_ok)
			return DIRECTORY_INTERNAL_ONLY;
		directory_resolve_expand(c, id, key, tag);
		return directory_resolve_outcome(c);
	}
	if (!accounts)
		return -1;
	rc = directory_resolve_account(c, key, &acct);
	if (rc == -1)
		return DIRECTORY_TEMPFAIL;
	if (rc == 1) {
		if (!acct.enabled) {
			free(acct.forward);
			return DIRECTORY_DISABLED;
		}
		directory_resolve_reach_account(c, &acct, tag);
		return directory_resolve_outcome(c);
	}
	return -1;
}

static enum directory_result
directory_resolve_top(struct directory_resolve_ctx *c,
    const struct directory_address *addr, bool internal_ok)
{
	struct directory_resolve_domain dom;
	char key[DIRECTORY_KEY_MAX], base[DIRECTORY_KEY_MAX];
	const char *local = addr->local_lower, *plus, *tag = NULL;
	size_t base_len = 0;
	sqlite3_stmt *stmt;
	int rc;

	rc = directory_resolve_domain(c, addr->domain, &dom);
	if (rc == -1)
		return DIRECTORY_TEMPFAIL;
	if (rc == 0)
		return DIRECTORY_NOT_LOCAL;
	if (!dom.enabled)
		return DIRECTORY_DISABLED;

	/* 3, 4: the address itself. */
	if (!directory_resolve_key(key, local, strlen(local), dom.name))
		return DIRECTORY_UNKNOWN;
	rc = directory_resolve_top_key(c, key, NULL, internal_ok, true);
	if (rc != -1)
		return (enum directory_result)rc;

	/* 5: base+tag. The tag keeps the case it was given in. */
	plus = strchr(local, '+');
	if (plus != NULL && plus != local) {
		base_len = (size_t)(plus - local);
		tag = addr->local + base_len + 1;
		if (directory_resolve_key(base, local, base_len, dom.name)) {
			rc = directory_resolve_top_key(c, base, tag,
			    internal_ok, true);
			if (rc != -1)
				return (enum directory_result)rc;
		}
	}

	/* 6: wildcard aliases, local@* then base@*. */
	if (directory_resolve_key(key, local, strlen(local), "*")) {
		rc = directory_resolve_top_key(c, key, NULL, internal_ok,
		    false);
		if (rc != -1)
			return (enum directory_result)rc;
	}
	if (base_len > 0 && directory_resolve_key(base, local, base_len, "*")) {
		rc = directory_resolve_top_key(c, base, tag, internal_ok,
		    false);
		if (rc != -1)
			return (enum directory_result)rc;
	}

	/* 7: the domain's catch-all. */
	if (dom.has_catch_all) {
		directory_resolve_destination(c, dom.catch_all, NULL);
		return directory_resolve_outcome(c);
	}

	/* 8: the global catch-all mailbox. */
	stmt = directory_resolve_lookup(c, DIRECTORY_STMT_SETTING,
	    DIRECTORY_SETTING_CATCHALL_MAILBOX, &rc);
	if (stmt == NULL)
		return DIRECTORY_TEMPFAIL;
	if (rc == SQLITE_ROW) {
		char mailbox[DIRECTORY_KEY_MAX];
		struct directory_resolve_account acct;

		if (!directory_resolve_column(stmt, 0, mailbox,
		    sizeof(mailbox))) {
			sqlite3_reset(stmt);
			return DIRECTORY_UNKNOWN;
		}
		sqlite3_reset(stmt);
		rc = directory_resolve_account(c, mailbox, &acct);
		if (rc == -1)
			return DIRECTORY_TEMPFAIL;
		if (rc == 1 && acct.enabled) {
			directory_resolve_reach_account(c, &acct, NULL);
			return directory_resolve_outcome(c);
		}
		free(acct.forward);
		if (rc == 0)
			directory_resolve_warn(c,
			    DIRECTORY_RESOLVE_WARN_DANGLING,
			    "dangling_catchall_mailbox", mailbox);
		return DIRECTORY_UNKNOWN;
	}
	if (rc != SQLITE_DONE) {
		directory_resolve_db_error(c);
		sqlite3_reset(stmt);
		return DIRECTORY_TEMPFAIL;
	}
	sqlite3_reset(stmt);

	/* 9. */
	return DIRECTORY_UNKNOWN;
}

/* The reply to each result but LOCAL (and INVALID, answered before any
   lookup): "status <address>: text", Postfix's wording. */
static const struct directory_resolve_reply {
	enum directory_result result;
	const char *status, *text;
} directory_resolve_replies[] = {
	{ DIRECTORY_NOT_LOCAL, "550 5.7.1", "Relay access denied" },
	{ DIRECTORY_UNKNOWN, "550 5.1.1", "Recipient address rejected: "
	    "User unknown in virtual mailbox table" },
	{ DIRECTORY_INTERNAL_ONLY, "550 5.7.1", "Recipient address rejected: "
	    "Access denied" },
	{ DIRECTORY_DISABLED, "550 5.2.1", "Recipient address rejected: "
	    "Mailbox disabled" },
	{ DIRECTORY_TEMPFAIL, "451 4.3.0", "Temporary lookup failure" },
};

/* The reply to result for address, which passed the syntax check (no
   controls, no CR/LF, at most 254 octets), so it is safe to echo. */
static char *
directory_resolve_reply(enum directory_result result, const char *address)
{
	for (size_t i = 0; i < sizeof(directory_resolve_replies) /
	    sizeof(directory_resolve_replies[0]); i++) {
		const struct directory_resolve_reply *r =
		    &directory_resolve_replies[i];

		if (r->result == result)
			return xasprintf("%s <%s>: %s", r->status, address,
			    r->text);
	}
	panic("directory_resolve_reply: result %d", (int)result);
}

static bool
directory_resolve_exec(struct directory *dir, enum directory_stmt which)
{
	sqlite3_stmt *stmt = directory_stmt(dir, which);
	bool ok;

	if (stmt == NULL)
		return false;
	ok = sqlite3_step(stmt) == SQLITE_DONE;
	sqlite3_reset(stmt);
	return ok;
}

static void
directory_resolution_reset(struct directory_resolution *res)
{
	for (size_t i = 0; i < res->n_deliveries; i++) {
		free(res->deliveries[i].account);
		free(res->deliveries[i].tag);
	}
	free(res->deliveries);
	for (size_t i = 0; i < res->n_forwards; i++)
		free(res->forwards[i]);
	free(res->forwards);
	free(res->reply);
	memset(res, 0, sizeof(*res));
}

void
directory_resolution_clear(struct directory_resolution *res)
{
	directory_resolution_reset(res);
}

void
directory_resolve(struct directory *dir, const char *address,
    bool internal_ok, struct directory_resolution *res)
{
	struct directory_resolve_ctx c;
	struct directory_address addr;
	enum directory_result result;
	const char *error;

	memset(res, 0, sizeof(*res));
	if (directory_address_parse(address, false, &addr, &error) == -1) {
		/* The address is not echoed: it may hold anything. */
		res->result = DIRECTORY_INVALID;
		res->reply = xstrdup("501 5.1.3 Bad recipient address syntax");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.res = res;
	if (!directory_resolve_exec(dir, DIRECTORY_STMT_BEGIN)) {
		directory_resolve_db_error(&c);
		result = DIRECTORY_TEMPFAIL;
	} else {
		result = directory_resolve_top(&c, &addr, internal_ok);
		if (c.failed)
			result = DIRECTORY_TEMPFAIL;
		/* A read transaction: COMMIT only ends the snapshot. */
		if (!directory_resolve_exec(dir, DIRECTORY_STMT_COMMIT)) {
			directory_resolve_db_error(&c);
			directory_resolve_exec(dir, DIRECTORY_STMT_ROLLBACK);
			result = DIRECTORY_TEMPFAIL;
		}
	}
	if (result != DIRECTORY_LOCAL) {
		directory_resolution_reset(res);
		res->reply = directory_resolve_reply(result, address);
	}
	res->result = result;
}
