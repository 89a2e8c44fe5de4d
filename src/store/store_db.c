/* store_db.c — SQLite helpers of the store: a cache of prepared statements
   keyed by the address of their (static) SQL text, so each file keeps its
   queries next to the code that runs them and every query is prepared
   once per handle; and the mapping of SQLite errors to STORE_IO.
   Everything SQLite-specific about errors stays here (DESIGN.md §3). */
#include "store/store_private.h"

#include <string.h>

#include "lib/xmalloc.h"

sqlite3_stmt *
store_db_stmt(struct store *s, const char *sql)
{
	struct store_stmt_slot *slot;

	for (size_t i = 0; i < s->n_stmts; i++) {
		slot = &s->stmts[i];
		if (slot->sql == sql) {
			sqlite3_reset(slot->stmt);
			sqlite3_clear_bindings(slot->stmt);
			return slot->stmt;
		}
	}
	if (s->n_stmts == s->cap_stmts) {
		s->cap_stmts = s->cap_stmts ? s->cap_stmts * 2 : 32;
		s->stmts = xreallocarray(s->stmts, s->cap_stmts,
		    sizeof(*s->stmts));
	}
	slot = &s->stmts[s->n_stmts];
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &slot->stmt, NULL) != SQLITE_OK) {
		store_db_fail(s, "prepare");
		sqlite3_finalize(slot->stmt);
		return NULL;
	}
	slot->sql = sql;
	s->n_stmts++;
	return slot->stmt;
}

void
store_db_finalize_all(struct store *s)
{
	for (size_t i = 0; i < s->n_stmts; i++)
		sqlite3_finalize(s->stmts[i].stmt);
	free(s->stmts);
	s->stmts = NULL;
	s->n_stmts = s->cap_stmts = 0;
}

int
store_db_fail(struct store *s, const char *what)
{
	int code = sqlite3_errcode(s->db) & 0xff;

	/* Another writer kept the account longer than the busy timeout: a
	   temporary condition the caller answers with a retry. */
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return store_fail(s, STORE_IO, "account %lld is busy (%s)",
		    (long long)s->account_id, what);
	return store_fail(s, STORE_IO, "index.db: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

int
store_db_exec(struct store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_fail(s, sql);
	return STORE_OK;
}

int
store_db_done(struct store *s, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);
	int ret = STORE_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_db_fail(s, what);
	sqlite3_reset(stmt);
	return ret;
}

int
store_db_bind_text(sqlite3_stmt *stmt, int col, const char *str)
{
	if (str == NULL)
		return sqlite3_bind_null(stmt, col);
	return sqlite3_bind_text(stmt, col, str, -1, SQLITE_STATIC);
}

char *
store_db_column_str(sqlite3_stmt *stmt, int col)
{
	const unsigned char *str = sqlite3_column_text(stmt, col);

	if (str == NULL)
		return xstrdup("");
	return xstrndup((const char *)str,
	    (size_t)sqlite3_column_bytes(stmt, col));
}

bool
store_db_is_constraint(struct store *s)
{
	return (sqlite3_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT;
}
