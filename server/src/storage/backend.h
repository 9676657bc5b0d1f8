/*
 * The seam between the store (store.c) and a database backend (sqlite.c,
 * postgres.c). Each backend fills one const struct hs_backend_ops; store.c
 * reaches it only through its hs_exec()/hs_changes() wrappers and the
 * committer, which are the one place for asserts and the write rules.
 *
 * Ownership: connect() allocates the backend connection that disconnect()
 * frees. exec() allocates *rows (with the builders below) and the caller of
 * hs_exec() frees it with hs_rows_free(). Parameters are always the caller's
 * and are only read during the call.
 *
 * Also here: the result-set builders and the statement cache that both
 * backends share (rows.c, cache.c).
 */
#ifndef HS_STORAGE_BACKEND_H
#define HS_STORAGE_BACKEND_H

#include "hm/log.h"
#include "hs/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hs_backend_ops {
    const char *name;
    /* Opens the committer's write transaction (SQLite takes the write lock at once). */
    const char *begin_sql;
    /*
     * Run right after begin_sql when migrating, to keep other processes from
     * migrating at the same time; NULL when begin_sql already does that.
     */
    const char *migrate_lock_sql;
    /*
     * Starts and ends a read snapshot on a reader (hs_store_read_begin()):
     * NULL when the backend's readers run each statement on its own.
     */
    const char *snapshot_begin_sql, *snapshot_end_sql;
    /*
     * exec_script() sends several statements in one round trip, so the
     * committer folds two of its own into one call (PostgreSQL); false where
     * two cached statements are cheaper than one unprepared script (SQLite).
     */
    bool multi_statement;

    /*
     * Opens a connection to target. A reader connection refuses writes.
     * *out is freed with disconnect().
     */
    hs_rc (*connect)(const char *target, bool reader, int busy_timeout_ms, void **out);
    void (*disconnect)(void *b);
    /*
     * Reopens a connection that was lost (network, server restart). Called by
     * the store only where no transaction can be open. NULL: connections are
     * never lost.
     */
    hs_rc (*revive)(void *b);
    /* True when the connection is known to be lost (revive() would reopen it). NULL: never. */
    bool (*lost)(void *b);
    /*
     * Runs one statement with $N placeholders; prepared once per connection
     * and cached by the address of sql. *rows, when rows is not NULL, gets a
     * result the caller frees with hs_rows_free() (also for statements that
     * return no rows). Logs failures without parameter values.
     */
    hs_rc (*exec)(void *b, const char *sql, const struct hs_val *params, int nparams,
                  struct hs_rows **rows);
    /*
     * Runs portable migration SQL: several statements, no parameters, not
     * cached. PostgreSQL reads the type BLOB as BYTEA here.
     */
    hs_rc (*exec_script)(void *b, const char *sql);
    /*
     * Sends n statements at once and reads their results in order
     * (hs_exec_steps): HS_OK, or the first failure, its index in *at; *error
     * gets the statement error that ended the steps (HS_OK: none), which may
     * come after a first failure that was a step's unchanged. NULL: the store
     * runs them one by one with exec(), to the same results.
     */
    hs_rc (*exec_steps)(void *b, const struct hs_step *steps, int n, int *at, hs_rc *error);
    /* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
    int64_t (*changes)(void *b);
    /* True inside a healthy transaction (one that COMMIT would keep). */
    bool (*in_transaction)(void *b);
};

extern const struct hs_backend_ops hs_sqlite_ops;
extern const struct hs_backend_ops hs_postgres_ops;

/*
 * The level at which a backend logs a failed statement: constraint
 * violations are an ordinary answer (idempotent inserts rely on them) and
 * lock conflicts are retried, so only other failures are errors.
 */
static inline enum hm_log_level hs_db_log_level(hs_rc rc)
{
    if (rc == HS_E_DB_CONSTRAINT)
        return HM_LOG_DEBUG;
    if (rc == HS_E_DB_BUSY)
        return HM_LOG_WARN;
    return HM_LOG_ERROR;
}

/* ---- result sets (rows.c) ----------------------------------------------- */

/*
 * One value of a result. Every non-NULL cell has p: n bytes followed by a
 * NUL (so text can be handed out as it is), in the result's own memory. An
 * HS_INT cell keeps its decimal text in p as well, and an HS_TEXT cell that
 * is a whole integer keeps its value in i, so the accessors can convert both
 * ways.
 */
struct hs_cell {
    enum hs_type type;
    int64_t i;
    uint8_t *p;
    size_t n;
};

/* Where a result's cell values live: a few blocks rather than a malloc per cell. */
struct hs_rows_block;

struct hs_rows {
    int nrows;
    int ncols;
    size_t cap;            /* rows allocated */
    struct hs_cell *cells; /* nrows * ncols, row by row */
    struct hs_rows_block *blocks;
};

/* Allocates an empty result with ncols columns; freed with hs_rows_free(). */
hs_rc hs_rows_new(int ncols, struct hs_rows **out);
/* Appends a row of NULL cells and returns them (ncols of them), or NULL when out of memory. */
struct hs_cell *hs_rows_add_row(struct hs_rows *r);
/* Sets a cell of r (one hs_rows_add_row() returned). */
hs_rc hs_cell_set_int(struct hs_rows *r, struct hs_cell *c, int64_t v);
hs_rc hs_cell_set_text(struct hs_rows *r, struct hs_cell *c, const char *s, size_t n);
hs_rc hs_cell_set_blob(struct hs_rows *r, struct hs_cell *c, const void *p, size_t n);
/*
 * Makes c a cell of the given type with n bytes of room (plus the NUL) in
 * r's memory and returns that room for the backend to fill, or NULL when out
 * of memory.
 */
uint8_t *hs_cell_alloc(struct hs_rows *r, struct hs_cell *c, enum hs_type type, size_t n);

/* Parses a whole decimal int64 ("-9223372036854775808" included); false on anything else. */
bool hs_parse_int64(const char *s, int64_t *out);

/* ---- the statement cache (cache.c) -------------------------------------- */

/*
 * Maps the address of a statement's SQL text to the backend's prepared
 * statement. The text is also copied and compared on every hit, so SQL that
 * was not a literal after all (a reused buffer) is prepared again instead of
 * running the wrong statement.
 */
struct hs_stmt_slot {
    const char *key;
    char *text;
    void *stmt;
};

struct hs_stmt_cache {
    struct hs_stmt_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t used;
    void (*free_stmt)(void *stmt); /* frees what put() stored */
};

void hs_stmt_cache_init(struct hs_stmt_cache *c, void (*free_stmt)(void *stmt));
/* The statement prepared for sql, or NULL. */
void *hs_stmt_cache_find(struct hs_stmt_cache *c, const char *sql);
/*
 * Stores stmt for sql, freeing a stale statement under the same address.
 * On failure nothing is stored and stmt is still the caller's to free.
 */
hs_rc hs_stmt_cache_put(struct hs_stmt_cache *c, const char *sql, void *stmt);
/* Frees every statement; the cache stays usable (empty). */
void hs_stmt_cache_clear(struct hs_stmt_cache *c);
void hs_stmt_cache_cleanup(struct hs_stmt_cache *c);

#endif
