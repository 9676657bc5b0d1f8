/* The SQLite backend: the embedded default, one database file in WAL mode with full fsync. */
#include "backend.h"

#include "hm/buf.h"
#include "hm/log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Longest SQL text accepted, after rewriting. */
#define SQL_MAX (1u << 20)

struct sq_conn {
    sqlite3 *db;
    struct hs_stmt_cache cache;
};

/* Translates an SQLite result code; constraint and lock failures are ours to name. */
static hs_rc map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return HS_E_DB_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HS_E_DB_BUSY;
    case SQLITE_NOMEM:
        return HS_E_NO_MEMORY;
    default:
        return HS_E_DB;
    }
}

/* Logs a failure with SQLite's own message (which never holds parameter values). */
static hs_rc fail(sqlite3 *db, int rc, const char *what)
{
    hs_rc hrc = map_rc(rc);

    hm_log(hs_db_log_level(hrc), "storage: sqlite: %s: %s (%d)", what,
           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
    return hrc;
}

/*
 * Rewrites the portable $N placeholders to SQLite's ?N. Quoted strings,
 * quoted identifiers and comments are copied as they are, so '$1' stays text.
 */
static bool rewrite_placeholders(const char *sql, struct hm_buf *out)
{
    const char *p = sql;

    while (*p) {
        char q = *p;

        if (q == '\'' || q == '"' || q == '`' || q == '[') {
            char end = q == '[' ? ']' : q;
            const char *s = p + 1;

            while (*s && *s != end)
                s++;
            if (*s)
                s++;
            if (!hm_buf_add(out, p, (size_t)(s - p)))
                return false;
            p = s;
        } else if (q == '-' && p[1] == '-') {
            const char *s = strchr(p, '\n');
            size_t n = s ? (size_t)(s - p) : strlen(p);

            if (!hm_buf_add(out, p, n))
                return false;
            p += n;
        } else if (q == '/' && p[1] == '*') {
            const char *s = strstr(p + 2, "*/");
            size_t n = s ? (size_t)(s + 2 - p) : strlen(p);

            if (!hm_buf_add(out, p, n))
                return false;
            p += n;
        } else if (q == '$' && p[1] >= '0' && p[1] <= '9') {
            if (!hm_buf_add_u8(out, '?'))
                return false;
            p++;
        } else {
            if (!hm_buf_add_u8(out, (uint8_t)q))
                return false;
            p++;
        }
    }
    return hm_buf_add(out, "", 0);
}

static void free_stmt(void *stmt)
{
    sqlite3_finalize(stmt);
}

/* Runs statements that need no parameters and return nothing of interest (pragmas). */
static hs_rc run_simple(sqlite3 *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? HS_OK : fail(db, rc, what);
}

/* Switches to WAL and checks that it took (it cannot on some file systems). */
static hs_rc enable_wal(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    hs_rc hrc = HS_E_DB;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return fail(db, rc, "PRAGMA journal_mode");
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        hrc = fail(db, rc, "PRAGMA journal_mode");
    } else if (sqlite3_stricmp((const char *)sqlite3_column_text(stmt, 0), "wal") != 0) {
        hm_log_error("storage: sqlite: the database would not switch to WAL (journal_mode=%s)",
                     (const char *)sqlite3_column_text(stmt, 0));
    } else {
        hrc = HS_OK;
    }
    sqlite3_finalize(stmt);
    return hrc;
}

/*
 * Before SQLite's first use: no memory statistics. With them on (SQLite's
 * default) every sqlite3_malloc and free takes one mutex shared by all
 * connections; Debian builds SQLite without lookaside, so a query allocates
 * often, and the server's threads met on that mutex (futex calls) for
 * numbers it never reads. Too late if SQLite was already initialised in this
 * process (SQLITE_MISUSE): then it only costs the mutex.
 */
static void sq_global_config(void)
{
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

    if (rc != SQLITE_OK)
        hm_log_debug("storage: sqlite: memory statistics stay on (%s)", sqlite3_errstr(rc));
}

static hs_rc sq_connect(const char *target, bool reader, int busy_timeout_ms, void **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct sq_conn *c;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc;
    hs_rc hrc;

    *out = NULL;
    pthread_once(&once, sq_global_config);
    /* Connections are never shared between threads at once, but the library must allow threads. */
    if (!sqlite3_threadsafe()) {
        hm_log_error("storage: sqlite: the SQLite library was built without thread support");
        return HS_E_DB;
    }
    /* Every connection must reach the same database: a private in-memory one will not do. */
    if (!strcmp(target, ":memory:") || !strncmp(target, "file:", 5)) {
        hm_log_error("storage: sqlite: the database must be a file path");
        return HS_E_CONFIG;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return HS_E_NO_MEMORY;
    hs_stmt_cache_init(&c->cache, free_stmt);
    flags |= reader ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(target, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        hrc = fail(c->db, rc, "open");
        goto out_close;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, busy_timeout_ms);
    if (!reader) {
        hrc = enable_wal(c->db);
        if (hrc != HS_OK)
            goto out_close;
    }
    /*
     * synchronous=FULL syncs the WAL on every commit: a write is durable when
     * it returns, as the interface promises. A reader cannot write even by
     * mistake: the file is open read-only and query_only is on.
     */
    /*
     * mmap_size=0: pages are read with pread(), not through a mapping. In WAL
     * mode every commit by another connection empties a reader's page cache, so
     * a read after a write starts with system calls; a 1 GB mapping made status
     * answers about 6 % cheaper but confirmations about 20 % dearer (server CPU
     * per answer, bench_benefits.sh, two runs each, 2026-12-02), so it stays off.
     */
    /*
     * The writer keeps 64 MB of pages (cache_size is in KiB when negative):
     * its cache survives its own commits, and confirmations read inside their
     * write (benefits.c); with the default 2 MB it re-read ~10 pages a
     * confirmation. wal_autocheckpoint=10000 pages (~40 MB of WAL) copies a
     * page rewritten many times into the database once per checkpoint, not
     * once per 1000 frames.
     */
    hrc = run_simple(c->db,
                     reader ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON; "
                              "PRAGMA mmap_size=0"
                            : "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                              "PRAGMA mmap_size=0; PRAGMA cache_size=-65536; "
                              "PRAGMA wal_autocheckpoint=10000",
                     "connection setup");
    if (hrc != HS_OK)
        goto out_close;
    *out = c;
    return HS_OK;

out_close:
    sqlite3_close(c->db);
    free(c);
    return hrc;
}

static void sq_disconnect(void *b)
{
    struct sq_conn *c = b;
    int rc;

    if (!c)
        return;
    hs_stmt_cache_cleanup(&c->cache);
    rc = sqlite3_close(c->db);
    if (rc != SQLITE_OK)
        fail(c->db, rc, "close");
    free(c);
}

/* Finds the statement for sql in the cache, or prepares and caches it. */
static hs_rc get_stmt(struct sq_conn *c, const char *sql, sqlite3_stmt **out)
{
    struct hm_buf text;
    sqlite3_stmt *stmt = hs_stmt_cache_find(&c->cache, sql);
    const char *tail = NULL;
    hs_rc hrc;
    int rc;

    if (stmt) {
        *out = stmt;
        return HS_OK;
    }
    hm_buf_init(&text, SQL_MAX);
    if (!rewrite_placeholders(sql, &text)) {
        hm_buf_free(&text);
        hm_log_error("storage: sqlite: SQL text longer than %u bytes", SQL_MAX);
        return HS_E_TOO_LARGE;
    }
    rc = sqlite3_prepare_v3(c->db, (const char *)text.data, (int)text.len + 1,
                            SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
        hrc = fail(c->db, rc, "prepare");
        goto out;
    }
    if (!stmt || (tail && tail[strspn(tail, " \t\r\n;")])) {
        /* Several statements in one text would run only the first: refuse it. */
        hm_log_error("storage: sqlite: prepare: the SQL must hold exactly one statement");
        sqlite3_finalize(stmt);
        hrc = HS_E_INVALID_ARG;
        goto out;
    }
    hrc = hs_stmt_cache_put(&c->cache, sql, stmt);
    if (hrc != HS_OK) {
        sqlite3_finalize(stmt);
        goto out;
    }
    *out = stmt;
out:
    hm_buf_free(&text);
    return hrc;
}

static int bind(sqlite3_stmt *stmt, int i, const struct hs_val *v)
{
    switch (v->type) {
    case HS_INT:
        return sqlite3_bind_int64(stmt, i, v->i);
    case HS_TEXT:
        if (!v->s)
            return sqlite3_bind_null(stmt, i);
        return sqlite3_bind_text(stmt, i, v->s, -1, SQLITE_STATIC);
    case HS_BLOB:
        /* A NULL pointer would bind SQL NULL; an empty blob is not NULL. */
        if (v->n == 0)
            return sqlite3_bind_zeroblob(stmt, i, 0);
        if (v->n > (size_t)INT32_MAX)
            return SQLITE_TOOBIG;
        return sqlite3_bind_blob(stmt, i, v->b, (int)v->n, SQLITE_STATIC);
    case HS_NULL:
    default:
        return sqlite3_bind_null(stmt, i);
    }
}

/* Copies the current row of stmt into r. */
static hs_rc read_row(sqlite3_stmt *stmt, struct hs_rows *r)
{
    struct hs_cell *row = hs_rows_add_row(r);
    int i;

    if (!row)
        return HS_E_NO_MEMORY;
    for (i = 0; i < r->ncols; i++) {
        hs_rc hrc = HS_OK;

        switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
            hrc = hs_cell_set_int(r, &row[i], sqlite3_column_int64(stmt, i));
            break;
        case SQLITE_FLOAT: /* money is never floating point; give such values as text */
        case SQLITE_TEXT: {
            const unsigned char *s = sqlite3_column_text(stmt, i);

            hrc = hs_cell_set_text(r, &row[i], (const char *)s,
                                   s ? (size_t)sqlite3_column_bytes(stmt, i) : 0);
            break;
        }
        case SQLITE_BLOB:
            hrc = hs_cell_set_blob(r, &row[i], sqlite3_column_blob(stmt, i),
                                   (size_t)sqlite3_column_bytes(stmt, i));
            break;
        default:
            break;
        }
        if (hrc != HS_OK)
            return hrc;
    }
    return HS_OK;
}

static hs_rc sq_exec(void *b, const char *sql, const struct hs_val *params, int nparams,
                     struct hs_rows **rows)
{
    struct sq_conn *c = b;
    struct hs_rows *r = NULL;
    sqlite3_stmt *stmt = NULL;
    hs_rc hrc;
    int i, rc;

    hrc = get_stmt(c, sql, &stmt);
    if (hrc != HS_OK)
        return hrc;
    if (sqlite3_bind_parameter_count(stmt) != nparams) {
        hm_log_error("storage: sqlite: the statement takes %d parameters, %d given",
                     sqlite3_bind_parameter_count(stmt), nparams);
        return HS_E_INVALID_ARG;
    }
    for (i = 0; i < nparams; i++) {
        rc = bind(stmt, i + 1, &params[i]);
        if (rc != SQLITE_OK) {
            hrc = fail(c->db, rc, "bind");
            goto out_reset;
        }
    }
    if (rows) {
        hrc = hs_rows_new(sqlite3_column_count(stmt), &r);
        if (hrc != HS_OK)
            goto out_reset;
    }
    /* Step to the end even when no rows are wanted: UPDATE ... RETURNING finishes only there. */
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (r) {
            hrc = read_row(stmt, r);
            if (hrc != HS_OK)
                goto out_reset;
        }
    }
    if (rc != SQLITE_DONE) {
        hrc = fail(c->db, rc, "step");
        goto out_reset;
    }
    if (rows) {
        *rows = r;
        r = NULL;
    }
out_reset:
    hs_rows_free(r);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return hrc;
}

static hs_rc sq_exec_script(void *b, const char *sql)
{
    struct sq_conn *c = b;

    return run_simple(c->db, sql, "script");
}

static int64_t sq_changes(void *b)
{
    struct sq_conn *c = b;

    return sqlite3_changes64(c->db);
}

static bool sq_in_transaction(void *b)
{
    struct sq_conn *c = b;

    return !sqlite3_get_autocommit(c->db);
}

const struct hs_backend_ops hs_sqlite_ops = {
    .name = "sqlite",
    /* IMMEDIATE takes the write lock now, so no statement of the batch meets SQLITE_BUSY later. */
    .begin_sql = "BEGIN IMMEDIATE",
    .migrate_lock_sql = NULL,
    /*
     * A request's reads in one read transaction: one snapshot, and the page
     * cache is checked against the WAL once rather than at every statement
     * (each commit by the writer makes a reader's next transaction start cold).
     */
    .snapshot_begin_sql = "BEGIN",
    .snapshot_end_sql = "COMMIT",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .revive = NULL,
    .lost = NULL,
    .exec = sq_exec,
    .exec_script = sq_exec_script,
    .changes = sq_changes,
    .in_transaction = sq_in_transaction,
};
