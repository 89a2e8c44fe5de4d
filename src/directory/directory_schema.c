/* directory_schema.c — the schema of directory.db as numbered migration
   steps. PRAGMA user_version holds the number of steps applied; each step
   runs in its own transaction together with the version bump, so a crash
   leaves the database at a step boundary. Never edit a step that has
   shipped: append a new one. Names are stored normalised (see
   directory_address.c), so lookups are plain equality on indexed text. */
#include "directory/directory_private.h"

#include <stdio.h>
#include <string.h>

#include "lib/xmalloc.h"

static const char *const directory_schema_steps[] = {
	/* 1: domains, alias domains, accounts, addresses, settings. */
	"CREATE TABLE domains ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"		/* lower-case */
	"  catch_all TEXT,"			/* destination, NULL: none */
	"  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
	");"
	"CREATE TABLE alias_domains ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  target_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
	");"
	"CREATE INDEX alias_domains_target ON alias_domains(target_id);"
	/* AUTOINCREMENT: an id is never reused, because mail lives under
	   DATA/accounts/<id>/ and a new account must not inherit the
	   leftovers of a deleted one. */
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  password TEXT,"			/* {SCHEME}hash; NULL: no login */
	"  quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),"
	"  quota_messages INTEGER NOT NULL DEFAULT 0"
	"    CHECK (quota_messages >= 0),"
	"  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	"  plus_mode TEXT NOT NULL DEFAULT 'ignore',"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
	");"
	"CREATE INDEX accounts_domain ON accounts(domain_id);"
	/* Per-account settings the store and Sieve issues add (forwarding
	   destinations, keep-a-copy flag) without a schema step each. */
	"CREATE TABLE account_settings ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (account_id, key)"
	") WITHOUT ROWID;"
	/* Aliases: address is local@domain or local@* (domain_id NULL). */
	"CREATE TABLE addresses ("
	"  id INTEGER PRIMARY KEY,"
	"  domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL UNIQUE,"
	"  internal INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
	");"
	"CREATE INDEX addresses_domain ON addresses(domain_id);"
	/* id keeps the order destinations were added in. */
	"CREATE TABLE address_destinations ("
	"  id INTEGER PRIMARY KEY,"
	"  address_id INTEGER NOT NULL REFERENCES addresses(id)"
	"    ON DELETE CASCADE,"
	"  destination TEXT NOT NULL,"
	"  UNIQUE (address_id, destination)"
	");"
	"CREATE INDEX address_destinations_dest"
	"  ON address_destinations(destination);"
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;",
	/* 2: master users, send-as delegation, DKIM keys, relay rules. */
	/* Master users log in as any account ("user*master", as Dovecot). */
	"CREATE TABLE master_users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  password TEXT NOT NULL,"		/* {SCHEME}hash */
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
	");"
	/* Addresses an account may use in MAIL FROM / From besides its own,
	   its aliases and its alias domains (allow-send-as). */
	"CREATE TABLE send_as ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"		/* normalised; or @domain */
	"  PRIMARY KEY (account_id, address)"
	") WITHOUT ROWID;"
	/* Up to two active selectors per domain (rotation); an RSA and an
	   Ed25519 key may share a domain (both signatures). */
	"CREATE TABLE dkim_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  selector TEXT NOT NULL,"
	"  algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),"
	"  private_key TEXT NOT NULL,"		/* PEM, PKCS#8 */
	"  public_key TEXT NOT NULL,"		/* base64 for p= */
	"  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  UNIQUE (domain_id, selector)"
	");"
	/* NethServer's relay rules: kind 'recipient' or 'sender' with match
	   an address or a domain, or the one 'default' rule (match ''). */
	"CREATE TABLE relay_rules ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('recipient', 'sender', 'default')),"
	"  match TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
	"  tls_required INTEGER NOT NULL DEFAULT 0 CHECK (tls_required IN (0, 1)),"
	"  username TEXT,"
	"  password TEXT,"			/* sealed, see directory_relay.c */
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  UNIQUE (kind, match)"
	");",
};

#define DIRECTORY_SCHEMA_VERSION \
	(sizeof(directory_schema_steps) / sizeof(directory_schema_steps[0]))

static int
directory_schema_version(sqlite3 *db, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
directory_schema_migrate(sqlite3 *db, char **error_r)
{
	int version;

	if (directory_schema_version(db, &version) == -1)
		goto fail;
	if (version > (int)DIRECTORY_SCHEMA_VERSION) {
		*error_r = xasprintf("directory.db has schema version %d, newer "
		    "than this petrel (%zu)", version,
		    (size_t)DIRECTORY_SCHEMA_VERSION);
		return -1;
	}
	while (version < (int)DIRECTORY_SCHEMA_VERSION) {
		char pragma[64];

		/* IMMEDIATE takes the write lock first; then the version is
		   read again, since another process (a second server thread,
		   the CLI) may have migrated meanwhile. */
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK)
			goto fail;
		if (directory_schema_version(db, &version) == -1)
			goto fail_rollback;
		if (version >= (int)DIRECTORY_SCHEMA_VERSION) {
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
			break;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version + 1);
		if (sqlite3_exec(db, directory_schema_steps[version], NULL, NULL,
		    NULL) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK)
			goto fail_rollback;
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail_rollback;
		version++;
	}
	return 0;

fail_rollback:
	*error_r = xasprintf("directory.db migration to version %d failed: %s",
	    version + 1, sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
fail:
	*error_r = xasprintf("directory.db: %s", sqlite3_errmsg(db));
	return -1;
}
