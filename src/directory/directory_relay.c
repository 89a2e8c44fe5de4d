/* directory_relay.c — relay rules in the directory (relay_rules), their
   matching, and the sealing of their passwords.

   Sealed form: "sb1:" base64(nonce ‖ crypto_secretbox(password)). The key
   file is made once with O_EXCL (two CLI runs at once: the loser reads
   the winner's key) and fsynced before a password sealed with it is
   committed, so a crash cannot leave a password no key opens. */
#include "directory/directory_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory/directory_admin_private.h"
#include "lib/base64.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"

#define DIRECTORY_RELAY_KEY_FILE "relay.key"
#define DIRECTORY_RELAY_SEALED_PREFIX "sb1:"
/* Far above any real password; bounds what we decode. */
#define DIRECTORY_RELAY_PASSWORD_MAX 1024

static const char *const directory_relay_kinds[] = {
	[DIRECTORY_RELAY_RECIPIENT] = "recipient",
	[DIRECTORY_RELAY_SENDER] = "sender",
	[DIRECTORY_RELAY_DEFAULT] = "default",
};

const char *
directory_relay_kind_name(enum directory_relay_kind kind)
{
	return (unsigned)kind <= DIRECTORY_RELAY_DEFAULT ?
	    directory_relay_kinds[kind] : "?";
}

/* DATA/relay.key beside directory.db. */
static char *
directory_relay_key_path(struct directory *dir)
{
	const char *slash = strrchr(dir->path, '/');

	if (slash == NULL)
		return xstrdup(DIRECTORY_RELAY_KEY_FILE);
	return xasprintf("%.*s/%s", (int)(slash - dir->path), dir->path,
	    DIRECTORY_RELAY_KEY_FILE);
}

static int
directory_relay_read_key(const char *path, unsigned char *key,
    struct directory_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd == -1)
		return directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "cannot read %s: %s", path, strerror(errno));
	n = read(fd, key, crypto_secretbox_KEYBYTES);
	close(fd);
	if (n != crypto_secretbox_KEYBYTES)
		return directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "%s: not a relay key", path);
	return 0;
}

/* The key, created when create is set and it does not exist yet. */
static int
directory_relay_key(struct directory *dir, bool create, unsigned char *key,
    struct directory_error *err)
{
	char *path = directory_relay_key_path(dir), *dirname;
	int fd, ret = -1;

	if (sodium_init() < 0) {
		directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "libsodium cannot start");
		goto out;
	}
	if (!create || access(path, F_OK) == 0) {
		ret = directory_relay_read_key(path, key, err);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		ret = directory_relay_read_key(path, key, err);
		goto out;
	}
	if (fd == -1) {
		directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	randombytes_buf(key, crypto_secretbox_KEYBYTES);
	if (fsutil_write_all(fd, key, crypto_secretbox_KEYBYTES) == -1 ||
	    fsync(fd) == -1) {
		directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "cannot write %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		goto out;
	}
	close(fd);
	dirname = xstrdup(path);
	*strrchr(dirname, '/') = '\0';
	(void)fsutil_fsync_dir(dirname);
	free(dirname);
	ret = 0;
out:
	if (ret == -1)
		sodium_memzero(key, crypto_secretbox_KEYBYTES);
	free(path);
	return ret;
}

static char *
directory_relay_seal(const unsigned char *key, const char *password)
{
	size_t plen = strlen(password);
	size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
	    plen;
	unsigned char *box = xmalloc(blen);
	size_t cap = (blen + 2) / 3 * 4 + 1;
	char *out = xmalloc(sizeof(DIRECTORY_RELAY_SEALED_PREFIX) + cap);

	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)password, plen, box, key);
	memcpy(out, DIRECTORY_RELAY_SEALED_PREFIX,
	    sizeof(DIRECTORY_RELAY_SEALED_PREFIX) - 1);
	base64_encode(box, blen, out + sizeof(DIRECTORY_RELAY_SEALED_PREFIX) -
	    1, cap);
	free(box);
	return out;
}

static char *
directory_relay_open(const unsigned char *key, const char *sealed)
{
	const size_t pre = sizeof(DIRECTORY_RELAY_SEALED_PREFIX) - 1;
	size_t len, blen, plen;
	unsigned char *box;
	char *password = NULL;

	if (strncmp(sealed, DIRECTORY_RELAY_SEALED_PREFIX, pre) != 0)
		return NULL;
	len = strlen(sealed + pre);
	if (len > (DIRECTORY_RELAY_PASSWORD_MAX + 64) / 3 * 4 + 8)
		return NULL;
	box = xmalloc(len / 4 * 3 + 1);
	if (base64_decode(sealed + pre, len, box, len / 4 * 3 + 1,
	    &blen) == -1 || blen < crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES)
		goto out;
	plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	password = xmalloc(plen + 1);
	if (crypto_secretbox_open_easy((unsigned char *)password,
	    box + crypto_secretbox_NONCEBYTES,
	    blen - crypto_secretbox_NONCEBYTES, box, key) != 0 ||
	    memchr(password, '\0', plen) != NULL) {
		free(password);
		password = NULL;
		goto out;
	}
	password[plen] = '\0';
out:
	free(box);
	return password;
}

/* match normalised for kind: an address (local part ASCII lower-cased) or
   a domain; "" for the default. */
static int
directory_relay_norm(enum directory_relay_kind kind, const char *match,
    char *out, struct directory_error *err)
{
	struct directory_address addr;

	if (kind == DIRECTORY_RELAY_DEFAULT) {
		out[0] = '\0';
		return 0;
	}
	if (match == NULL || match[0] == '\0')
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "a %s rule needs an address or a domain",
		    directory_relay_kind_name(kind));
	if (strchr(match, '@') != NULL)
		return directory_admin_address(match, false, &addr, out, err);
	return directory_admin_domain_norm(match, out, err);
}

int
directory_relay_add(struct directory *dir, const struct directory_relay *rule,
    const char *password, int64_t *id_r, struct directory_error *err)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	char norm[DIRECTORY_ADMIN_KEY_MAX], *sealed = NULL, safe[128];
	int64_t exists = 0;
	int ret = -1, rc;

	if ((unsigned)rule->kind > DIRECTORY_RELAY_DEFAULT)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "unknown rule kind");
	if (rule->host == NULL || rule->host[0] == '\0' ||
	    strlen(rule->host) > 255 || strpbrk(rule->host, " \t\r\n") !=
	    NULL)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "a rule needs a host name");
	if (rule->port == 0)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "port must be 1-65535");
	if ((password != NULL) != (rule->username != NULL))
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "a user needs a password and a password a user");
	if (password != NULL && strlen(password) >
	    DIRECTORY_RELAY_PASSWORD_MAX)
		return directory_admin_fail(err, DIRECTORY_ERROR_INVALID,
		    "password too long");
	if (directory_relay_norm(rule->kind, rule->match, norm, err) == -1)
		return -1;
	if (password != NULL) {
		if (directory_relay_key(dir, true, key, err) == -1)
			return -1;
		sealed = directory_relay_seal(key, password);
		sodium_memzero(key, sizeof(key));
	}
	if (directory_admin_begin(dir, err) == -1)
		goto out;
	if (rule->kind == DIRECTORY_RELAY_DEFAULT) {
		rc = directory_admin_exec(dir, err, "DELETE FROM relay_rules"
		    " WHERE kind = 'default'", "");
	} else {
		rc = directory_admin_int(dir, err, &exists, "SELECT id FROM"
		    " relay_rules WHERE kind = ?1 AND match = ?2", "ss",
		    directory_relay_kind_name(rule->kind), norm);
		if (rc == 1) {
			directory_admin_fail(err, DIRECTORY_ERROR_EXISTS,
			    "a %s rule for %s exists already (id %lld)",
			    directory_relay_kind_name(rule->kind),
			    directory_admin_safe(safe, sizeof(safe), norm),
			    (long long)exists);
			rc = -1;
		}
	}
	if (rc >= 0)
		rc = directory_admin_exec(dir, err, "INSERT INTO relay_rules"
		    " (kind, match, host, port, tls_required, username,"
		    " password) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", "sssiiss",
		    directory_relay_kind_name(rule->kind), norm, rule->host,
		    (int64_t)rule->port, (int64_t)(rule->tls_required ? 1 : 0),
		    rule->username, sealed);
	if (rc >= 0 && id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(dir->db);
	ret = directory_admin_end(dir, rc >= 0 ? 0 : -1, err);
out:
	free(sealed);
	return ret;
}

int
directory_relay_del(struct directory *dir, int64_t id, bool is_default,
    struct directory_error *err)
{
	int rc;

	if (is_default)
		rc = directory_admin_exec(dir, err, "DELETE FROM relay_rules"
		    " WHERE kind = 'default'", "");
	else
		rc = directory_admin_exec(dir, err, "DELETE FROM relay_rules"
		    " WHERE id = ?1", "i", id);
	if (rc == 0)
		return is_default ? directory_admin_fail(err,
		    DIRECTORY_ERROR_NOT_FOUND, "no default relay rule") :
		    directory_admin_fail(err, DIRECTORY_ERROR_NOT_FOUND,
		    "no relay rule %lld", (long long)id);
	return rc < 0 ? -1 : 0;
}

#define DIRECTORY_RELAY_COLUMNS \
	"SELECT id, kind, match, host, port, tls_required, username," \
	" password IS NOT NULL, password FROM relay_rules"

static int
directory_relay_row(struct directory *dir, sqlite3_stmt *stmt, void *item,
    struct directory_error *err)
{
	struct directory_relay *r = item;
	const unsigned char *kind = sqlite3_column_text(stmt, 1);

	(void)dir;
	(void)err;
	r->id = sqlite3_column_int64(stmt, 0);
	r->kind = DIRECTORY_RELAY_DEFAULT;
	for (unsigned k = 0; k <= DIRECTORY_RELAY_DEFAULT; k++) {
		if (kind != NULL && strcmp((const char *)kind,
		    directory_relay_kinds[k]) == 0)
			r->kind = (enum directory_relay_kind)k;
	}
	r->match = directory_admin_column(stmt, 2);
	r->host = directory_admin_column(stmt, 3);
	r->port = (uint16_t)sqlite3_column_int(stmt, 4);
	r->tls_required = sqlite3_column_int(stmt, 5) != 0;
	r->username = directory_admin_column(stmt, 6);
	r->has_password = sqlite3_column_int(stmt, 7) != 0;
	if (r->match == NULL)
		r->match = xstrdup("");
	if (r->host == NULL)
		r->host = xstrdup("");
	return 0;
}

int
directory_relay_list(struct directory *dir, struct directory_relay **rules_r,
    size_t *n_r, struct directory_error *err)
{
	sqlite3_stmt *stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_RELAY_COLUMNS " ORDER BY CASE kind WHEN 'recipient'"
	    " THEN 0 WHEN 'sender' THEN 1 ELSE 2 END, match", "");

	return directory_admin_list(dir, stmt, sizeof(**rules_r),
	    directory_relay_row, (void **)rules_r, n_r, err);
}

/* The rule of kind for key exactly: 1 with *rule_r, 0, -1. */
static int
directory_relay_find(struct directory *dir, enum directory_relay_kind kind,
    const char *key, struct directory_relay *rule_r,
    struct directory_error *err)
{
	sqlite3_stmt *stmt = directory_admin_stmt(dir, err,
	    DIRECTORY_RELAY_COLUMNS " WHERE kind = ?1 AND match = ?2", "ss",
	    directory_relay_kind_name(kind), key);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(rule_r, 0, sizeof(*rule_r));
		directory_relay_row(dir, stmt, rule_r, err);
		/* Kept sealed until the caller's rule wins. */
		rule_r->password = directory_admin_column(stmt, 8);
		sqlite3_finalize(stmt);
		return 1;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return directory_admin_db_fail(dir, err);
	return 0;
}

/* address, then its domain, then each parent domain. */
static int
directory_relay_find_address(struct directory *dir,
    enum directory_relay_kind kind, const char *address,
    struct directory_relay *rule_r, struct directory_error *err)
{
	struct directory_address addr;
	char key[DIRECTORY_ADMIN_KEY_MAX];
	const char *d;
	int rc;

	if (address == NULL || address[0] == '\0' ||
	    directory_admin_address(address, false, &addr, key, NULL) == -1)
		return 0;	/* "<>" or not an address: no rule */
	if ((rc = directory_relay_find(dir, kind, key, rule_r, err)) != 0)
		return rc;
	for (d = addr.domain; d != NULL; ) {
		if ((rc = directory_relay_find(dir, kind, d, rule_r,
		    err)) != 0)
			return rc;
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	return 0;
}

int
directory_relay_match(struct directory *dir, const char *sender,
    const char *rcpt, struct directory_relay *rule_r,
    struct directory_error *err)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	char *sealed;
	int rc;

	memset(rule_r, 0, sizeof(*rule_r));
	rc = directory_relay_find_address(dir, DIRECTORY_RELAY_RECIPIENT, rcpt,
	    rule_r, err);
	if (rc == 0)
		rc = directory_relay_find_address(dir, DIRECTORY_RELAY_SENDER,
		    sender, rule_r, err);
	if (rc == 0)
		rc = directory_relay_find(dir, DIRECTORY_RELAY_DEFAULT, "",
		    rule_r, err);
	if (rc <= 0)
		return rc;
	if ((sealed = rule_r->password) == NULL)
		return 1;
	rule_r->password = NULL;
	if (directory_relay_key(dir, false, key, err) == -1) {
		free(sealed);
		directory_relay_clear(rule_r);
		return -1;
	}
	rule_r->password = directory_relay_open(key, sealed);
	sodium_memzero(key, sizeof(key));
	free(sealed);
	if (rule_r->password == NULL) {
		directory_relay_clear(rule_r);
		return directory_admin_fail(err, DIRECTORY_ERROR_DB,
		    "relay rule password does not open with relay.key");
	}
	return 1;
}

void
directory_relay_clear(struct directory_relay *rule)
{
	if (rule == NULL)
		return;
	free(rule->match);
	free(rule->host);
	free(rule->username);
	if (rule->password != NULL) {
		sodium_memzero(rule->password, strlen(rule->password));
		free(rule->password);
	}
	memset(rule, 0, sizeof(*rule));
}

void
directory_relay_list_free(struct directory_relay *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		directory_relay_clear(&rules[i]);
	free(rules);
}
