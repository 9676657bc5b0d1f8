/*
 * Storage: one interface, two backends (server/src/storage/sqlite.c and
 * postgres.c) behind a const ops table, chosen by the configuration.
 *
 * SQL is written once, portably: placeholders are $1, $2 ... (the SQLite
 * backend rewrites them to ?1, ?2 ...), types are BIGINT, TEXT and BLOB (the
 * PostgreSQL backend reads BLOB as BYTEA in migrations), "INSERT ... ON
 * CONFLICT", "UPDATE ... RETURNING". Money is BIGINT fen. Statements are
 * prepared once per connection and cached by the address of their SQL text,
 * so SQL passed to these calls must be a string literal (or live as long as
 * the store).
 *
 * Threads: hs_store_reader() gives the calling thread its own read connection
 * (opened on first use, closed by hs_store_close()). Every write goes through
 * hs_store_write(): the store's committer thread runs the caller's function
 * inside a transaction it shares with other callers' functions (one savepoint
 * each, so one caller's failure does not undo another's) and commits the batch
 * durably (SQLite WAL with synchronous=FULL; PostgreSQL synchronous_commit on)
 * before any caller of the batch returns: group commit. A function returning
 * HS_E_DB_BUSY is retried in a fresh transaction.
 */
#ifndef HS_DB_H
#define HS_DB_H

#include "hs/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hs_store;
struct hs_conn;
struct hs_rows;

enum hs_backend {
    HS_BACKEND_SQLITE = 1,
    HS_BACKEND_POSTGRES,
};

struct hs_store_config {
    enum hs_backend backend;
    /* SQLite: the database file path. PostgreSQL: a libpq conninfo string
     * ("host=/tmp/pg port=5433 dbname=huimin user=huimin"). */
    const char *target;
    int batch_max;       /* most write functions in one transaction; 0: 256 */
    int busy_timeout_ms; /* SQLite busy timeout, PostgreSQL lock_timeout; 0: 5000 */
};

/* A parameter or a column value. */
enum hs_type {
    HS_NULL = 0,
    HS_INT,
    HS_TEXT,
    HS_BLOB,
};

struct hs_val {
    enum hs_type type;
    int64_t i;        /* HS_INT */
    const char *s;    /* HS_TEXT (NUL-terminated UTF-8) */
    const uint8_t *b; /* HS_BLOB */
    size_t n;         /* HS_BLOB length */
};

static inline struct hs_val hs_int(int64_t i)
{
    struct hs_val v = { .type = HS_INT, .i = i };
    return v;
}
static inline struct hs_val hs_text(const char *s)
{
    struct hs_val v = { .type = s ? HS_TEXT : HS_NULL, .s = s };
    return v;
}
static inline struct hs_val hs_blob(const void *b, size_t n)
{
    struct hs_val v = { .type = HS_BLOB, .b = (const uint8_t *)b, .n = n };
    return v;
}
static inline struct hs_val hs_null(void)
{
    struct hs_val v = { .type = HS_NULL };
    return v;
}

/*
 * Opens the store, runs pending migrations (in one transaction, recorded in
 * the schema_version table) and starts the committer thread. A database whose
 * schema is newer than this program gives HS_E_SCHEMA. *out is freed with
 * hs_store_close().
 */
hs_rc hs_store_open(const struct hs_store_config *cfg, struct hs_store **out);
/* Finishes pending writes, stops the committer and closes every connection. NULL is a no-op. */
void hs_store_close(struct hs_store *st);
enum hs_backend hs_store_backend(const struct hs_store *st);
/* The schema version after migrations. */
int hs_store_schema_version(const struct hs_store *st);

/* The calling thread's read connection (not for writes). NULL on failure (logged). */
struct hs_conn *hs_store_reader(struct hs_store *st);

/*
 * Runs fn(conn, arg) in the committer's transaction and returns its result
 * once the transaction is durable (or fn's error, with fn's changes undone).
 * If the commit itself fails, every caller of the batch gets HS_E_DB and none
 * of their changes is kept. Safe from any thread; blocks the caller.
 *
 * A statement that fails inside fn ends fn's work, as PostgreSQL requires
 * and SQLite is made to match: later hs_exec() calls of the same fn give
 * HS_E_DB, and fn's changes are undone with that first error as the result
 * even if fn returns HS_OK. Use INSERT ... ON CONFLICT to upsert. fn must
 * not call hs_store_write() (HS_E_INVALID_ARG).
 */
/*
 * Reads of the calling thread (its reader connection) from now until
 * hs_store_read_end() or its next hs_store_write() see one snapshot of the
 * database, taken at the first of them. On SQLite this is one read
 * transaction, which is also faster than one per statement; on PostgreSQL
 * each read still stands alone. Keep snapshots short (a request): a long one
 * keeps SQLite from checkpointing its WAL.
 */
void hs_store_read_begin(struct hs_store *st);
void hs_store_read_end(struct hs_store *st);

typedef hs_rc (*hs_write_fn)(struct hs_conn *conn, void *arg);
hs_rc hs_store_write(struct hs_store *st, hs_write_fn fn, void *arg);

/*
 * The same write without waiting: fn(conn, arg) runs in the committer's
 * batch as above, and once the batch is durable (or fn's work undone)
 * done(arg, result) runs on the committer thread, exactly once, with the
 * result hs_store_write() would have returned. done must be quick and must
 * not block or call back into the store (hand the result to another thread).
 * Returns HS_OK when queued; any other result means neither fn nor done
 * will run. hs_store_close() still finishes every queued write.
 */
typedef void (*hs_write_done_fn)(void *arg, hs_rc rc);
hs_rc hs_store_write_async(struct hs_store *st, hs_write_fn fn, void *arg, hs_write_done_fn done);

/* Counters for metrics. */
struct hs_store_stats {
    uint64_t commits;       /* transactions committed */
    uint64_t writes;        /* write functions run (committed or not) */
    uint64_t write_errors;  /* write functions that returned an error */
    uint64_t commit_us_sum; /* time spent committing, microseconds */
};
void hs_store_stats(struct hs_store *st, struct hs_store_stats *out);

/*
 * Runs a statement. Rows (may be NULL when the caller wants none) receives
 * the result, freed with hs_rows_free(). Unique violations give
 * HS_E_DB_CONSTRAINT, lock/serialization failures HS_E_DB_BUSY.
 */
hs_rc hs_exec(struct hs_conn *c, const char *sql, const struct hs_val *params, int nparams,
              struct hs_rows **rows);
/* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
int64_t hs_changes(struct hs_conn *c);

/*
 * One statement of hs_exec_steps(): sql with its parameters (no rows come
 * back), the number of rows it must change (HS_STEP_ANY: any number), and
 * the result the steps give when it changes another number (unchanged).
 */
#define HS_STEP_ANY (-1)
struct hs_step {
    const char *sql;
    const struct hs_val *params;
    int nparams;
    int64_t changes;
    hs_rc unchanged;
};
#define HS_STEPS_MAX 8
/*
 * Runs up to HS_STEPS_MAX statements of a write function in order, in one
 * round trip on PostgreSQL (libpq's pipeline mode), and returns the first
 * failure among them (HS_OK when every step held) with its index in *failed
 * (-1; failed may be NULL): a statement's error, or a step's unchanged when
 * it changed another number of rows. The same on both backends: an error
 * stops the steps after it (PostgreSQL skips them) and ends the write
 * function's statements as an hs_exec() error does; a step that changed
 * another number of rows stops nothing, and fn may still read (say why).
 * Any failure ends fn's changes: its savepoint undoes them, also when fn
 * goes on to return HS_OK (then the first failure is the write's result).
 * Use INSERT ... ON CONFLICT DO NOTHING with changes 1 where a duplicate is
 * an answer rather than an error. Only inside a write function
 * (HS_E_INVALID_ARG elsewhere).
 */
hs_rc hs_exec_steps(struct hs_conn *c, const struct hs_step *steps, int n, int *failed);

/*
 * The audit chain's head as the committer's open transaction has moved it
 * (audit.c). The appends of a batch keep it here instead of reading and
 * writing the head row for each record (two statements, on PostgreSQL two
 * round trips, each); the store calls flush() once before COMMIT when it is
 * dirty, puts back what a job had found when that job's savepoint is rolled
 * back, and forgets it when the transaction ends. valid also means that the
 * transaction holds the head row's lock (the statement that read it took it).
 */
struct hs_audit_tail {
    bool valid;
    bool dirty; /* moved since it was read: flush() writes it */
    int64_t seq;
    uint8_t hash[32];
    hs_rc (*flush)(struct hs_conn *c, const struct hs_audit_tail *t);
};
/* The committer's tail inside a write function; NULL anywhere else (then read the row). */
struct hs_audit_tail *hs_conn_audit_tail(struct hs_conn *c);

/* Result access. Row and column are 0-based; out of range reads as NULL. */
int hs_rows_count(const struct hs_rows *r);
int hs_rows_columns(const struct hs_rows *r);
bool hs_rows_is_null(const struct hs_rows *r, int row, int col);
int64_t hs_rows_int(const struct hs_rows *r, int row, int col);      /* 0 if NULL */
const char *hs_rows_text(const struct hs_rows *r, int row, int col); /* "" if NULL */
const uint8_t *hs_rows_blob(const struct hs_rows *r, int row, int col, size_t *len);
void hs_rows_free(struct hs_rows *r);

#endif
