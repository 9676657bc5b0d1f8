/* The storage conformance suite: every backend must pass these same cases (HUIMIN_TEST_BACKEND). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hm/log.h"
#include "hm/util.h"
#include "hs/audit.h"
#include "hs/db.h"
#include "schema.h"
#include "test_hook.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tables the cases use, created fresh for every case; BLOB reads as BYTEA on PostgreSQL. */
static const char test_tables[] =
    "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BLOB);"
    "CREATE TABLE counter (id BIGINT PRIMARY KEY, taken BIGINT NOT NULL);"
    "INSERT INTO counter (id, taken) VALUES (1, 0);"
    "CREATE TABLE claims (id BIGINT PRIMARY KEY);"
    "CREATE TABLE parent (id BIGINT PRIMARY KEY);"
    "CREATE TABLE child (id BIGINT PRIMARY KEY,"
    " parent_id BIGINT NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);";

struct env {
    struct hs_store_config cfg;
    char dir[64];
    char path[128];
    char conninfo[512];
};

static struct env E;

/* ---- fixtures ----------------------------------------------------------- */

static void wipe_sqlite(void)
{
    char p[160];

    unlink(E.path);
    snprintf(p, sizeof(p), "%s-wal", E.path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", E.path);
    unlink(p);
}

static int group_setup(void **state)
{
    const char *backend = getenv("HUIMIN_TEST_BACKEND");

    (void)state;
    hm_log_init("test_storage", HM_LOG_WARN);
    memset(&E, 0, sizeof(E));
    if (!backend || !strcmp(backend, "sqlite")) {
        hm_strlcpy(E.dir, "/tmp/hs-storage-XXXXXX", sizeof(E.dir));
        if (!mkdtemp(E.dir))
            return -1;
        snprintf(E.path, sizeof(E.path), "%s/huimin.db", E.dir);
        E.cfg.backend = HS_BACKEND_SQLITE;
        E.cfg.target = E.path;
    } else if (!strcmp(backend, "postgres")) {
        const char *ci = getenv("HUIMIN_PG_CONNINFO");

        if (!ci) {
            fprintf(stderr, "HUIMIN_PG_CONNINFO is not set: run under scripts/pg-harness.sh\n");
            return -1;
        }
        hm_strlcpy(E.conninfo, ci, sizeof(E.conninfo));
        E.cfg.backend = HS_BACKEND_POSTGRES;
        E.cfg.target = E.conninfo;
    } else {
        fprintf(stderr, "HUIMIN_TEST_BACKEND must be sqlite or postgres\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (E.cfg.backend == HS_BACKEND_SQLITE) {
        wipe_sqlite();
        rmdir(E.dir);
    }
    return 0;
}

/* Every case starts from an empty database holding only the test tables, then migrations. */
static int setup(void **state)
{
    struct hs_store *st = NULL;

    if (E.cfg.backend == HS_BACKEND_SQLITE)
        wipe_sqlite();
    else if (hs_storage_test_script(&E.cfg, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return -1;
    if (hs_storage_test_script(&E.cfg, test_tables) != HS_OK)
        return -1;
    if (hs_store_open(&E.cfg, &st) != HS_OK)
        return -1;
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    hs_store_close(*state);
    return 0;
}

/* Runs one query on the calling thread's reader and returns its first row's first integer. */
static int64_t query_int(struct hs_store *st, const char *sql)
{
    struct hs_rows *rows;
    int64_t v;

    assert_int_equal(hs_exec(hs_store_reader(st), sql, NULL, 0, &rows), HS_OK);
    assert_int_equal(hs_rows_count(rows), 1);
    v = hs_rows_int(rows, 0, 0);
    hs_rows_free(rows);
    return v;
}

/* ---- write functions ---------------------------------------------------- */

/* A row for table t; an absent field is NULL. */
struct row {
    int64_t id;
    struct hs_val i, s, b;
};

static hs_rc insert_row(struct hs_conn *c, void *arg)
{
    const struct row *r = arg;
    const struct hs_val p[] = { hs_int(r->id), r->i, r->s, r->b };

    return hs_exec(c, "INSERT INTO t (id, i, s, b) VALUES ($1, $2, $3, $4)", p, 4, NULL);
}

static hs_rc insert_id(struct hs_conn *c, void *arg)
{
    const struct hs_val p[] = { hs_int(*(const int64_t *)arg) };

    return hs_exec(c, "INSERT INTO t (id) VALUES ($1)", p, 1, NULL);
}

static hs_rc write_id(struct hs_store *st, int64_t id)
{
    return hs_store_write(st, insert_id, &id);
}

/* ---- cases -------------------------------------------------------------- */

static void test_open_state(void **state)
{
    struct hs_store *st = *state;
    struct hs_rows *rows;
    size_t len;
    const uint8_t *hash;
    static const uint8_t zero[32];

    assert_int_equal(hs_store_backend(st), E.cfg.backend);
    assert_int_equal(hs_store_schema_version(st), (int)hs_migrations_count);
    assert_int_equal(query_int(st, "SELECT MAX(version) FROM schema_version"),
                     (int)hs_migrations_count);
    /* Migration 1 seeded the audit chain's head. */
    assert_int_equal(
        hs_exec(hs_store_reader(st), "SELECT id, seq, hash FROM audit_head", NULL, 0, &rows),
        HS_OK);
    assert_int_equal(hs_rows_count(rows), 1);
    assert_int_equal(hs_rows_int(rows, 0, 0), 1);
    assert_int_equal(hs_rows_int(rows, 0, 1), 0);
    hash = hs_rows_blob(rows, 0, 2, &len);
    assert_int_equal(len, 32);
    assert_memory_equal(hash, zero, 32);
    hs_rows_free(rows);
    /* Every table of the lead's schema exists. */
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM kiosks"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM cards WHERE welfare_no = 'x'"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM nonces"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM card_sessions"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit_checkpoints"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM staff_calls"), 0);
}

/* More parameters than PostgreSQL's backend keeps on the stack (16): 20 rows in one INSERT, as
 * a plain write and as a step, text and blobs among them. */
static hs_rc insert_twenty(struct hs_conn *c, void *arg)
{
    static const char sql[] =
        "INSERT INTO t (id, s) VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), "
        "($9, $10), ($11, $12), ($13, $14), ($15, $16), ($17, $18), ($19, $20)";
    int64_t base = *(const int64_t *)arg;
    struct hs_val p[20];
    for (int i = 0; i < 10; i++) {
        p[2 * i] = hs_int(base + i);
        p[2 * i + 1] = hs_text(i % 2 ? "奇" : "偶");
    }
    if (base < 100)
        return hs_exec(c, sql, p, 20, NULL);
    const struct hs_step step = {
        .sql = sql, .params = p, .nparams = 20, .changes = 10, .unchanged = HS_E_CONFLICT
    };
    return hs_exec_steps(c, &step, 1, NULL);
}

static void test_many_parameters(void **state)
{
    struct hs_store *st = *state;
    int64_t plain = 1, steps = 101;

    assert_int_equal(hs_store_write(st, insert_twenty, &plain), HS_OK);
    assert_int_equal(hs_store_write(st, insert_twenty, &steps), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 20);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE s = '奇'"), 10);
    assert_int_equal(query_int(st, "SELECT MAX(id) FROM t"), 110);
}

static void test_round_trip(void **state)
{
    struct hs_store *st = *state;
    static const uint8_t nul_blob[] = { 0x00, 0x01, 0x00, 0xFF, 0x5C, 0x78, 0x00 };
    static const char chinese[] = "惠民 民政局：低保、特困供养 ✓";
    struct row rows_in[] = {
        { 1, hs_int(INT64_MIN), hs_text(chinese), hs_blob(nul_blob, sizeof(nul_blob)) },
        { 2, hs_int(INT64_MAX), hs_text(""), hs_blob("", 0) },
        { 3, hs_null(), hs_null(), hs_null() },
        { 4, hs_int(0), hs_text("it's '$1' \\x00"), hs_blob(NULL, 0) },
    };
    struct hs_rows *r;
    const uint8_t *b;
    size_t i, len;

    for (i = 0; i < HM_ARRAY_SIZE(rows_in); i++)
        assert_int_equal(hs_store_write(st, insert_row, &rows_in[i]), HS_OK);
    assert_int_equal(
        hs_exec(hs_store_reader(st), "SELECT id, i, s, b FROM t ORDER BY id", NULL, 0, &r), HS_OK);
    assert_int_equal(hs_rows_count(r), 4);
    assert_int_equal(hs_rows_columns(r), 4);

    assert_true(hs_rows_int(r, 0, 1) == INT64_MIN);
    assert_string_equal(hs_rows_text(r, 0, 1), "-9223372036854775808");
    assert_string_equal(hs_rows_text(r, 0, 2), chinese);
    b = hs_rows_blob(r, 0, 3, &len);
    assert_int_equal(len, sizeof(nul_blob));
    assert_memory_equal(b, nul_blob, sizeof(nul_blob));

    assert_true(hs_rows_int(r, 1, 1) == INT64_MAX);
    assert_false(hs_rows_is_null(r, 1, 2));
    assert_string_equal(hs_rows_text(r, 1, 2), "");
    /* An empty blob is a value, not NULL. */
    assert_false(hs_rows_is_null(r, 1, 3));
    b = hs_rows_blob(r, 1, 3, &len);
    assert_non_null(b);
    assert_int_equal(len, 0);

    for (i = 1; i < 4; i++)
        assert_true(hs_rows_is_null(r, 2, (int)i));
    assert_int_equal(hs_rows_int(r, 2, 1), 0);
    assert_string_equal(hs_rows_text(r, 2, 2), "");
    assert_null(hs_rows_blob(r, 2, 3, &len));
    assert_int_equal(len, 0);

    assert_string_equal(hs_rows_text(r, 3, 2), "it's '$1' \\x00");
    assert_false(hs_rows_is_null(r, 3, 3));

    /* Out of range reads as NULL. */
    assert_true(hs_rows_is_null(r, 4, 0));
    assert_true(hs_rows_is_null(r, 0, 4));
    assert_true(hs_rows_is_null(r, -1, 0));
    assert_int_equal(hs_rows_int(r, 9, 9), 0);
    assert_string_equal(hs_rows_text(r, 9, 9), "");
    hs_rows_free(r);

    /* Parameters of every type also work in WHERE, and $N inside a literal is text. */
    {
        const struct hs_val p[] = { hs_text(chinese), hs_blob(nul_blob, sizeof(nul_blob)),
                                    hs_int(INT64_MIN) };

        assert_int_equal(hs_exec(hs_store_reader(st),
                                 "SELECT id, '$2' FROM t WHERE s = $1 AND b = $2 AND i = $3", p, 3,
                                 &r),
                         HS_OK);
        assert_int_equal(hs_rows_count(r), 1);
        assert_int_equal(hs_rows_int(r, 0, 0), 1);
        assert_string_equal(hs_rows_text(r, 0, 1), "$2");
        hs_rows_free(r);
    }
    /* Aggregates of BIGINT read as integers on both backends (PostgreSQL's SUM is NUMERIC). */
    assert_int_equal(query_int(st, "SELECT SUM(id) FROM t"), 10);
    hs_rows_free(NULL);
}

static void test_unique_violation(void **state)
{
    struct hs_store *st = *state;

    assert_int_equal(write_id(st, 7), HS_OK);
    assert_int_equal(write_id(st, 7), HS_E_DB_CONSTRAINT);
    assert_int_equal(write_id(st, 8), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 2);
}

struct returning {
    int64_t value;
    int64_t changes_hit, changes_miss, changes_many;
    int nrows_miss;
};

static hs_rc update_returning(struct hs_conn *c, void *arg)
{
    struct returning *out = arg;
    struct hs_rows *r;
    const struct hs_val p[] = { hs_int(5), hs_int(1) };
    hs_rc rc;

    rc = hs_exec(c, "INSERT INTO t (id, i) VALUES (1, 10), (2, 20), (3, 30)", NULL, 0, NULL);
    if (rc)
        return rc;
    if (hs_changes(c) != 3)
        return HS_E_INTERNAL;
    rc = hs_exec(c, "UPDATE t SET i = i + $1 WHERE id = $2 RETURNING i", p, 2, &r);
    if (rc)
        return rc;
    out->value = hs_rows_count(r) == 1 ? hs_rows_int(r, 0, 0) : -1;
    hs_rows_free(r);
    out->changes_hit = hs_changes(c);
    rc = hs_exec(c, "UPDATE t SET i = 0 WHERE id = 99 RETURNING i", NULL, 0, &r);
    if (rc)
        return rc;
    out->nrows_miss = hs_rows_count(r);
    hs_rows_free(r);
    out->changes_miss = hs_changes(c);
    rc = hs_exec(c, "DELETE FROM t WHERE id >= 2", NULL, 0, NULL);
    out->changes_many = hs_changes(c);
    return rc;
}

static void test_update_returning_and_changes(void **state)
{
    struct hs_store *st = *state;
    struct returning out = { 0 };

    assert_int_equal(hs_store_write(st, update_returning, &out), HS_OK);
    assert_int_equal(out.value, 15);
    assert_int_equal(out.changes_hit, 1);
    assert_int_equal(out.nrows_miss, 0);
    assert_int_equal(out.changes_miss, 0);
    assert_int_equal(out.changes_many, 2);
    assert_int_equal(query_int(st, "SELECT i FROM t WHERE id = 1"), 15);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
}

/* ---- batches: several callers' functions in one transaction ------------- */

/*
 * Holds the committer inside a write function until `waiting` other writers
 * are about to queue (plus a pause so that they really have), so that those
 * writers end up in one batch together.
 */
struct gate {
    atomic_int holding;
    atomic_int arrived;
    int waiting;
    struct hs_store *st;
    hs_rc rc;
};

static hs_rc hold_gate(struct hs_conn *c, void *arg)
{
    struct gate *g = arg;

    (void)c;
    atomic_store(&g->holding, 1);
    while (atomic_load(&g->arrived) < g->waiting)
        hm_sleep_ms(1);
    hm_sleep_ms(200);
    return HS_OK;
}

static void *holder_thread(void *arg)
{
    struct gate *g = arg;

    g->rc = hs_store_write(g->st, hold_gate, g);
    return NULL;
}

struct batch_job {
    struct hs_store *st;
    struct gate *gate;
    hs_write_fn fn;
    int64_t id;
    hs_rc rc;
};

static void *batch_thread(void *arg)
{
    struct batch_job *j = arg;

    atomic_fetch_add(&j->gate->arrived, 1);
    j->rc = hs_store_write(j->st, j->fn, &j->id);
    return NULL;
}

/*
 * Runs jobs[] from threads of their own, all in the one batch that follows a
 * held one. Returns the number of commits that took.
 */
static uint64_t run_in_one_batch(struct hs_store *st, struct batch_job *jobs, int n)
{
    struct gate g = { .waiting = n, .st = st };
    struct hs_store_stats before, after;
    pthread_t holder, tid[8];
    int i;

    assert_true(n <= 8);
    hs_store_stats(st, &before);
    assert_int_equal(pthread_create(&holder, NULL, holder_thread, &g), 0);
    while (!atomic_load(&g.holding))
        hm_sleep_ms(1);
    for (i = 0; i < n; i++) {
        jobs[i].st = st;
        jobs[i].gate = &g;
        assert_int_equal(pthread_create(&tid[i], NULL, batch_thread, &jobs[i]), 0);
    }
    for (i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    pthread_join(holder, NULL);
    assert_int_equal(g.rc, HS_OK);
    hs_store_stats(st, &after);
    assert_int_equal(after.writes - before.writes, (uint64_t)n + 1);
    return after.commits - before.commits;
}

static hs_rc insert_then_fail(struct hs_conn *c, void *arg)
{
    hs_rc rc = insert_id(c, arg);

    return rc ? rc : HS_E_CONFLICT;
}

/* Inserts id, then a duplicate, and reports success anyway: the store must not believe it. */
static hs_rc insert_ignore_error(struct hs_conn *c, void *arg)
{
    int64_t id = *(const int64_t *)arg, dup = 1;

    if (insert_id(c, &id) != HS_OK)
        return HS_E_INTERNAL;
    if (insert_id(c, &dup) != HS_E_DB_CONSTRAINT)
        return HS_E_INTERNAL;
    /* A statement after the failure is refused, alike on both backends. */
    id += 1000;
    if (insert_id(c, &id) != HS_E_DB)
        return HS_E_INTERNAL;
    return HS_OK;
}

static void test_batch_isolates_failures(void **state)
{
    struct hs_store *st = *state;
    struct batch_job jobs[] = {
        { .fn = insert_id, .id = 10 },
        { .fn = insert_then_fail, .id = 2 },
        { .fn = insert_id, .id = 3 },
        { .fn = insert_id, .id = 1 }, /* a duplicate of the row written before */
        { .fn = insert_ignore_error, .id = 4 },
        { .fn = insert_id, .id = 5 },
    };

    /* The jobs of a batch may run in any order, so the duplicate is of an older row. */
    assert_int_equal(write_id(st, 1), HS_OK);
    /* The holder's batch and this one: one commit for all six. */
    assert_int_equal(run_in_one_batch(st, jobs, 6), 2);
    assert_int_equal(jobs[0].rc, HS_OK);
    assert_int_equal(jobs[1].rc, HS_E_CONFLICT);
    assert_int_equal(jobs[2].rc, HS_OK);
    assert_int_equal(jobs[3].rc, HS_E_DB_CONSTRAINT);
    assert_int_equal(jobs[4].rc, HS_E_DB_CONSTRAINT);
    assert_int_equal(jobs[5].rc, HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 4);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id IN (1, 3, 5, 10)"), 4);
}

static hs_rc audit_one(struct hs_conn *c, void *arg)
{
    char subject[32];

    snprintf(subject, sizeof(subject), "job-%d", (int)*(const int64_t *)arg);
    struct hs_audit_rec r = {
        .actor = "test", .action = "test.batch", .subject = subject, .detail = "", .at = 1000
    };
    return hs_audit_append(c, &r, NULL);
}

static hs_rc audit_then_fail(struct hs_conn *c, void *arg)
{
    hs_rc rc = audit_one(c, arg);

    return rc ? rc : HS_E_CONFLICT;
}

/*
 * The committer keeps the audit head for its batch (db.h, hs_audit_tail): a job rolled back
 * after its append must take its record's number back with it, and the head written before
 * COMMIT must be the last record's. Records 1..n with no gap, each linked to the one before.
 */
static void test_batch_audit_chain(void **state)
{
    struct hs_store *st = *state;
    struct batch_job jobs[] = {
        { .fn = audit_one, .id = 1 }, { .fn = audit_then_fail, .id = 2 },
        { .fn = audit_one, .id = 3 }, { .fn = audit_then_fail, .id = 4 },
        { .fn = audit_one, .id = 5 },
    };

    assert_int_equal(run_in_one_batch(st, jobs, 5), 2);
    assert_int_equal(jobs[1].rc, HS_E_CONFLICT);
    assert_int_equal(jobs[3].rc, HS_E_CONFLICT);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit"), 3);
    assert_int_equal(query_int(st, "SELECT MIN(seq) FROM audit"), 1);
    assert_int_equal(query_int(st, "SELECT MAX(seq) FROM audit"), 3);
    assert_int_equal(
        query_int(st, "SELECT COUNT(*) FROM audit WHERE subject IN ('job-2', 'job-4')"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 "
                                   "WHERE b.prev_hash = a.hash"),
                     2);
    assert_int_equal(query_int(st,
                               "SELECT COUNT(*) FROM audit_head h JOIN audit a ON a.seq = h.seq "
                               "WHERE a.hash = h.hash AND h.seq = 3"),
                     1);
    /* Outside a batch of its own making the next append goes on from there. */
    int64_t six = 6;
    assert_int_equal(hs_store_write(st, audit_one, &six), HS_OK);
    assert_int_equal(query_int(st, "SELECT seq FROM audit WHERE subject = 'job-6'"), 4);
    assert_int_equal(query_int(st, "SELECT seq FROM audit_head"), 4);
}

static hs_rc insert_orphan(struct hs_conn *c, void *arg)
{
    const struct hs_val p[] = { hs_int(*(const int64_t *)arg), hs_int(12345) };

    return hs_exec(c, "INSERT INTO child (id, parent_id) VALUES ($1, $2)", p, 2, NULL);
}

/* A deferred foreign key fails only at COMMIT: then the whole batch is lost, and says so. */
static void test_commit_failure_fails_batch(void **state)
{
    struct hs_store *st = *state;
    struct batch_job jobs[] = {
        { .fn = insert_id, .id = 1 },
        { .fn = insert_orphan, .id = 2 },
        { .fn = insert_id, .id = 3 },
    };
    struct hs_store_stats stats;

    assert_int_equal(run_in_one_batch(st, jobs, 3), 1);
    assert_int_equal(jobs[0].rc, HS_E_DB);
    assert_int_equal(jobs[1].rc, HS_E_DB);
    assert_int_equal(jobs[2].rc, HS_E_DB);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM child"), 0);
    hs_store_stats(st, &stats);
    assert_true(stats.write_errors >= 3);
    /* The store carries on. */
    assert_int_equal(write_id(st, 4), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
}

struct flaky {
    int64_t base; /* ids base, base + 1 ... one per call */
    int calls;
    int busy_until; /* returns HS_E_DB_BUSY for the first calls */
};

static hs_rc flaky_insert(struct hs_conn *c, void *arg)
{
    struct flaky *f = arg;
    const struct hs_val p[] = { hs_int(f->base + f->calls) };
    hs_rc rc;

    rc = hs_exec(c, "INSERT INTO t (id) VALUES ($1)", p, 1, NULL);
    if (rc)
        return rc;
    return ++f->calls <= f->busy_until ? HS_E_DB_BUSY : HS_OK;
}

static void test_busy_is_retried(void **state)
{
    struct hs_store *st = *state;
    struct flaky once = { .base = 100, .busy_until = 1 };
    struct flaky always = { .base = 200, .busy_until = 1000 };

    assert_int_equal(hs_store_write(st, flaky_insert, &once), HS_OK);
    assert_int_equal(once.calls, 2);
    /* Only the successful run's row is kept. */
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(query_int(st, "SELECT id FROM t"), 101);

    assert_int_equal(hs_store_write(st, flaky_insert, &always), HS_E_DB_BUSY);
    assert_true(always.calls > 2);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
}

/* ---- concurrency -------------------------------------------------------- */

#define WRITERS           8
#define WRITES_PER_THREAD 500

struct writer_arg {
    struct hs_store *st;
    int64_t base;
    int n;
    int failures;
};

static void *writer_thread(void *arg)
{
    struct writer_arg *w = arg;
    int i;

    for (i = 0; i < w->n; i++) {
        if (write_id(w->st, w->base + i) != HS_OK)
            w->failures++;
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    struct hs_store *st = *state;
    struct writer_arg args[WRITERS];
    pthread_t tid[WRITERS];
    struct hs_store_stats stats;
    int i;

    for (i = 0; i < WRITERS; i++) {
        args[i] =
            (struct writer_arg){ .st = st, .base = (int64_t)i * 100000, .n = WRITES_PER_THREAD };
        assert_int_equal(pthread_create(&tid[i], NULL, writer_thread, &args[i]), 0);
    }
    for (i = 0; i < WRITERS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), WRITERS * WRITES_PER_THREAD);
    hs_store_stats(st, &stats);
    assert_true(stats.writes >= WRITERS * WRITES_PER_THREAD);
    assert_int_equal(stats.write_errors, 0);
    /* Group commit happened: some transactions carried more than one write. */
    assert_true(stats.commits < stats.writes);
    assert_true(stats.commit_us_sum > 0);
    print_message("group commit: %llu writes in %llu commits\n", (unsigned long long)stats.writes,
                  (unsigned long long)stats.commits);
}

#define CLAIMERS    16
#define CLAIM_SLOTS 100

struct claim_arg {
    struct hs_store *st;
    int64_t next_id;
    bool got;
    int claims;
    int errors;
};

/* Takes a slot if one is left, as the appointment code takes a marriage-registration slot. */
static hs_rc claim_slot(struct hs_conn *c, void *arg)
{
    struct claim_arg *a = arg;
    const struct hs_val p[] = { hs_int(a->next_id) };
    hs_rc rc;

    a->got = false;
    rc = hs_exec(c, "UPDATE counter SET taken = taken + 1 WHERE id = 1 AND taken < 100", NULL, 0,
                 NULL);
    if (rc || hs_changes(c) != 1)
        return rc;
    rc = hs_exec(c, "INSERT INTO claims (id) VALUES ($1)", p, 1, NULL);
    if (rc == HS_OK)
        a->got = true;
    return rc;
}

static void *claimer_thread(void *arg)
{
    struct claim_arg *a = arg;
    int attempt;

    /* Keep trying well past the point where the slots are gone. */
    for (attempt = 0; attempt < 40; attempt++) {
        a->next_id++;
        if (hs_store_write(a->st, claim_slot, a) != HS_OK)
            a->errors++;
        else if (a->got)
            a->claims++;
    }
    return NULL;
}

static void run_claims(struct hs_store *st1, struct hs_store *st2)
{
    struct claim_arg args[CLAIMERS];
    pthread_t tid[CLAIMERS];
    int i, total = 0;

    for (i = 0; i < CLAIMERS; i++) {
        args[i] = (struct claim_arg){ .st = i % 2 ? st2 : st1, .next_id = (int64_t)i * 1000 };
        assert_int_equal(pthread_create(&tid[i], NULL, claimer_thread, &args[i]), 0);
    }
    for (i = 0; i < CLAIMERS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(args[i].errors, 0);
        total += args[i].claims;
    }
    assert_int_equal(total, CLAIM_SLOTS);
    assert_int_equal(query_int(st1, "SELECT COUNT(*) FROM claims"), CLAIM_SLOTS);
    assert_int_equal(query_int(st1, "SELECT taken FROM counter WHERE id = 1"), CLAIM_SLOTS);
}

static void test_conditional_update(void **state)
{
    run_claims(*state, *state);
}

/* Two stores on one database, as two server processes would have. */
static void test_conditional_update_two_stores(void **state)
{
    struct hs_store *other = NULL;

    assert_int_equal(hs_store_open(&E.cfg, &other), HS_OK);
    run_claims(*state, other);
    hs_store_close(other);
}

struct reader_arg {
    struct hs_store *st;
    atomic_int *stop;
    int reads;
    int errors;
    int went_back;
    struct hs_conn *conn;
};

static void *reader_thread(void *arg)
{
    struct reader_arg *r = arg;
    int64_t last = 0;

    r->conn = hs_store_reader(r->st);
    while (!atomic_load(r->stop) || r->reads < 10) {
        struct hs_rows *rows;
        struct hs_conn *c = hs_store_reader(r->st);

        if (c != r->conn || hs_exec(c, "SELECT COUNT(*) FROM t", NULL, 0, &rows) != HS_OK) {
            r->errors++;
            break;
        }
        /* Committed writes never disappear. */
        if (hs_rows_int(rows, 0, 0) < last)
            r->went_back++;
        last = hs_rows_int(rows, 0, 0);
        hs_rows_free(rows);
        r->reads++;
    }
    return NULL;
}

static void test_readers_during_writes(void **state)
{
    struct hs_store *st = *state;
    struct reader_arg readers[4];
    pthread_t tid[4];
    atomic_int stop = 0;
    int i, j;

    for (i = 0; i < 4; i++) {
        readers[i] = (struct reader_arg){ .st = st, .stop = &stop };
        assert_int_equal(pthread_create(&tid[i], NULL, reader_thread, &readers[i]), 0);
    }
    for (i = 0; i < 200; i++)
        assert_int_equal(write_id(st, i), HS_OK);
    atomic_store(&stop, 1);
    for (i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(readers[i].errors, 0);
        assert_int_equal(readers[i].went_back, 0);
        assert_true(readers[i].reads >= 10);
        assert_non_null(readers[i].conn);
        /* Each thread has a connection of its own. */
        for (j = 0; j < i; j++)
            assert_ptr_not_equal(readers[i].conn, readers[j].conn);
    }
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 200);
}

/* ---- errors ------------------------------------------------------------- */

static hs_rc bad_sql(struct hs_conn *c, void *arg)
{
    (void)arg;
    return hs_exec(c, "INSERT INTO no_such_table VALUES (1)", NULL, 0, NULL);
}

static void test_bad_sql(void **state)
{
    struct hs_store *st = *state;
    struct hs_conn *r = hs_store_reader(st);
    struct hs_rows *rows = (struct hs_rows *)&rows; /* not NULL: hs_exec must clear it */
    const struct hs_val one[] = { hs_int(1) };

    assert_non_null(r);
    assert_int_equal(hs_exec(r, "SELEC nonsense", NULL, 0, &rows), HS_E_DB);
    assert_null(rows);
    assert_int_equal(hs_exec(r, "SELECT * FROM no_such_table", NULL, 0, NULL), HS_E_DB);
    /* A reader refuses to write. */
    assert_int_equal(hs_exec(r, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL), HS_E_DB);
    /* The wrong number of parameters is the caller's mistake. */
    assert_int_equal(hs_exec(r, "SELECT id FROM t WHERE id = $1", NULL, 0, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_exec(r, "SELECT id FROM t", one, 1, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_exec(NULL, "SELECT 1", NULL, 0, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_exec(r, NULL, NULL, 0, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_write(st, NULL, NULL), HS_E_INVALID_ARG);

    assert_int_equal(hs_store_write(st, bad_sql, NULL), HS_E_DB);
    /* Both connections still work. */
    assert_int_equal(write_id(st, 1), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
}

static hs_rc nested_write(struct hs_conn *c, void *arg)
{
    (void)c;
    return hs_store_write(arg, bad_sql, NULL);
}

static void never_done(void *arg, hs_rc rc)
{
    (void)arg;
    (void)rc;
    fail_msg("a write that was refused still called its done");
}

static hs_rc nested_async_write(struct hs_conn *c, void *arg)
{
    (void)c;
    return hs_store_write_async(arg, bad_sql, NULL, never_done);
}

static void test_misuse(void **state)
{
    struct hs_store *st = *state, *other = (struct hs_store *)&other;
    struct hs_store_config cfg = E.cfg;

    /* A write function may not wait for another write: it would wait for itself. */
    assert_int_equal(hs_store_write(st, nested_write, st), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_write(st, nested_async_write, st), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_write_async(st, insert_id, NULL, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_write_async(st, NULL, NULL, never_done), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_write_async(NULL, insert_id, NULL, never_done), HS_E_INVALID_ARG);

    cfg.target = "";
    assert_int_equal(hs_store_open(&cfg, &other), HS_E_INVALID_ARG);
    assert_null(other);
    cfg = E.cfg;
    cfg.backend = (enum hs_backend)0;
    assert_int_equal(hs_store_open(&cfg, &other), HS_E_INVALID_ARG);
    assert_int_equal(hs_store_open(NULL, &other), HS_E_INVALID_ARG);
    cfg = E.cfg;
    cfg.target = E.cfg.backend == HS_BACKEND_SQLITE ? "/nonexistent/dir/huimin.db"
                                                    : "host=/nonexistent dbname=huimin";
    assert_int_equal(hs_store_open(&cfg, &other), HS_E_DB);
    assert_null(other);
    if (E.cfg.backend == HS_BACKEND_SQLITE) {
        /* Readers must see the writer's database, which an in-memory one cannot be. */
        cfg.target = ":memory:";
        assert_int_equal(hs_store_open(&cfg, &other), HS_E_CONFIG);
    }
    hs_store_close(NULL);
}

/* ---- steps (hs_exec_steps) ---------------------------------------------- */

static const char step_insert_sql[] = "INSERT INTO t (id) VALUES ($1)";
static const char step_update_sql[] = "UPDATE t SET i = $2 WHERE id = $1";

/* What a steps case does: the ids to insert (-k: an UPDATE of id k instead, which must change a
 * row), then what it found: the result, the failing step and, after it, a read. */
struct steps_case {
    int64_t ids[4];
    int n;
    hs_rc rc;
    int failed;
    int64_t read_after; /* rows in t seen by the write function after a failed step, else -1 */
    bool audit;         /* an audit record as the last step */
};

static hs_rc run_steps(struct hs_conn *c, void *arg)
{
    struct steps_case *sc = arg;
    struct hs_val p[4][2];
    struct hs_step steps[5];
    struct hs_audit_step as;
    struct hs_audit_rec rec = {
        .actor = "test", .action = "test.steps", .subject = "steps", .detail = "", .at = 1000
    };
    int n = 0;
    hs_rc rc;

    for (int i = 0; i < sc->n; i++, n++) {
        bool update = sc->ids[i] <= 0;
        p[i][0] = hs_int(update ? -sc->ids[i] : sc->ids[i]);
        p[i][1] = hs_int(7);
        steps[n] = (struct hs_step){ .sql = update ? step_update_sql : step_insert_sql,
                                     .params = p[i],
                                     .nparams = update ? 2 : 1,
                                     .changes = 1,
                                     .unchanged = HS_E_CONFLICT };
    }
    if (sc->audit && (rc = hs_audit_step(c, &rec, &as, &steps[n++])) != HS_OK)
        return rc;
    sc->read_after = -1;
    sc->rc = hs_exec_steps(c, steps, n, &sc->failed);
    if (sc->rc == HS_OK) {
        if (sc->audit)
            hs_audit_step_done(c, &as);
        return HS_OK;
    }
    /* After a step that changed no row the transaction still reads; after an error it does not. */
    struct hs_rows *r = NULL;
    if (hs_exec(c, "SELECT COUNT(*) FROM t", NULL, 0, &r) == HS_OK)
        sc->read_after = hs_rows_int(r, 0, 0);
    hs_rows_free(r);
    /* Claiming success does not keep the steps' changes (nor those of later statements). */
    return HS_OK;
}

/* The steps of a write function: as one hs_exec() after another, on either backend, whatever
 * PostgreSQL's pipeline ran after the step that failed. */
static void test_steps(void **state)
{
    struct hs_store *st = *state;
    struct steps_case all = { .ids = { 1, 2, -1 }, .n = 3, .audit = true };
    assert_int_equal(hs_store_write(st, run_steps, &all), HS_OK);
    assert_int_equal(all.rc, HS_OK);
    assert_int_equal(all.failed, -1);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id IN (1, 2)"), 2);
    assert_int_equal(query_int(st, "SELECT i FROM t WHERE id = 1"), 7);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit WHERE seq = 1"), 1);

    /* A step that changes no row: its result and index. The steps after it ran (on both
     * backends) but their rows are not kept; the function could still read (1 to 4), and
     * its HS_OK does not count. */
    struct steps_case unchanged = { .ids = { 3, -99, 4 }, .n = 3, .audit = true };
    assert_int_equal(hs_store_write(st, run_steps, &unchanged), HS_E_CONFLICT);
    assert_int_equal(unchanged.rc, HS_E_CONFLICT);
    assert_int_equal(unchanged.failed, 1);
    assert_int_equal(unchanged.read_after, 4);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 2);

    /* A unique violation in the middle: the error and its index, nothing kept, no read. */
    struct steps_case dup = { .ids = { 5, 1, 6 }, .n = 3, .audit = true };
    assert_int_equal(hs_store_write(st, run_steps, &dup), HS_E_DB_CONSTRAINT);
    assert_int_equal(dup.rc, HS_E_DB_CONSTRAINT);
    assert_int_equal(dup.failed, 1);
    assert_int_equal(dup.read_after, -1);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 2);

    /* The first failure in order is the answer, though a later step's error ended the
     * statements (the read after is refused); it is also the write's result. */
    struct steps_case order = { .ids = { -98, 2 }, .n = 2 };
    assert_int_equal(hs_store_write(st, run_steps, &order), HS_E_CONFLICT);
    assert_int_equal(order.rc, HS_E_CONFLICT);
    assert_int_equal(order.failed, 0);
    assert_int_equal(order.read_after, -1);

    /* The audit chain took no number for the failed ones: the next record is 2, linked to 1. */
    struct steps_case next = { .ids = { 8 }, .n = 1, .audit = true };
    assert_int_equal(hs_store_write(st, run_steps, &next), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit"), 2);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.seq = 2 "
                                   "AND a.seq = 1 AND b.prev_hash = a.hash"),
                     1);
    assert_int_equal(query_int(st, "SELECT seq FROM audit_head"), 2);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 3);
}

/* Failed steps in the middle of a batch: the other jobs of the batch keep their rows. */
static hs_rc steps_job(struct hs_conn *c, void *arg)
{
    int64_t id = *(const int64_t *)arg;
    struct steps_case sc = { .ids = { id, id % 2 ? -97 : id + 100 }, .n = 2, .audit = true };
    hs_rc rc = run_steps(c, &sc);
    return rc == HS_OK ? sc.rc : rc;
}

static void test_steps_in_a_batch(void **state)
{
    struct hs_store *st = *state;
    struct batch_job jobs[] = {
        { .fn = steps_job, .id = 10 }, { .fn = steps_job, .id = 11 }, { .fn = steps_job, .id = 12 },
        { .fn = steps_job, .id = 13 }, { .fn = steps_job, .id = 14 },
    };

    assert_int_equal(run_in_one_batch(st, jobs, 5), 2);
    for (int i = 0; i < 5; i++)
        assert_int_equal(jobs[i].rc, jobs[i].id % 2 ? HS_E_CONFLICT : HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 6);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id IN (11, 13, 111, 113)"), 0);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit"), 3);
    assert_int_equal(query_int(st, "SELECT MAX(seq) FROM audit"), 3);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 "
                                   "WHERE b.prev_hash = a.hash"),
                     2);
}

static hs_rc steps_misuse(struct hs_conn *c, void *arg)
{
    const struct hs_val p[] = { hs_int(1) };
    struct hs_step ok = {
        .sql = step_insert_sql, .params = p, .nparams = 1, .changes = 1, .unchanged = HS_E_CONFLICT
    };
    struct hs_step no_answer = ok, no_sql = ok, many[HS_STEPS_MAX + 1];
    int failed = 5;

    (void)arg;
    no_answer.unchanged = HS_OK; /* a count to hold without a result when it does not */
    no_sql.sql = NULL;
    for (int i = 0; i <= HS_STEPS_MAX; i++)
        many[i] = ok;
    if (hs_exec_steps(c, &ok, 0, &failed) != HS_E_INVALID_ARG || failed != -1 ||
        hs_exec_steps(c, many, HS_STEPS_MAX + 1, NULL) != HS_E_INVALID_ARG ||
        hs_exec_steps(c, &no_answer, 1, NULL) != HS_E_INVALID_ARG ||
        hs_exec_steps(c, &no_sql, 1, NULL) != HS_E_INVALID_ARG ||
        hs_exec_steps(NULL, &ok, 1, NULL) != HS_E_INVALID_ARG)
        return HS_E_INTERNAL;
    /* After a failed statement no steps run. */
    if (hs_exec(c, "INSERT INTO no_such_table VALUES (1)", NULL, 0, NULL) != HS_E_DB ||
        hs_exec_steps(c, &ok, 1, NULL) != HS_E_DB)
        return HS_E_INTERNAL;
    return HS_OK;
}

static void test_steps_misuse(void **state)
{
    struct hs_store *st = *state;
    const struct hs_val p[] = { hs_int(1) };
    struct hs_step ok = {
        .sql = step_insert_sql, .params = p, .nparams = 1, .changes = 1, .unchanged = HS_E_CONFLICT
    };

    /* Not on a reader: outside a write function nothing would undo a half-run pipeline. */
    assert_int_equal(hs_exec_steps(hs_store_reader(st), &ok, 1, NULL), HS_E_INVALID_ARG);
    /* The refused calls inside; the failed statement is the write's result. */
    assert_int_equal(hs_store_write(st, steps_misuse, NULL), HS_E_DB);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 0);
}

/* ---- writes that do not wait -------------------------------------------- */

struct async_arg {
    int64_t id;
    hs_rc rc;
    atomic_int calls;
    pthread_t thread; /* where done ran */
};

static void async_done(void *arg, hs_rc rc)
{
    struct async_arg *a = arg;

    a->rc = rc;
    a->thread = pthread_self();
    atomic_fetch_add(&a->calls, 1);
}

/* Waits at most 10 s for every done of a[0..n) to have run. */
static void wait_async(struct async_arg *a, int n)
{
    for (int t = 0; t < 10000; t++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            k += atomic_load(&a[i].calls) > 0;
        if (k == n)
            return;
        hm_sleep_ms(1);
    }
    fail_msg("a write's done never ran");
}

/*
 * hs_store_write_async: queued behind a held batch, nothing is done early;
 * then each done runs once, on the committer, with what hs_store_write()
 * would have returned, and only after its batch is durable (the rows are
 * there for a reader); a failed function's rows are not.
 */
static void test_async_writes(void **state)
{
    struct hs_store *st = *state;
    struct gate g = { .waiting = 0, .st = st };
    struct async_arg a[4];
    hs_write_fn fns[4] = { insert_id, insert_then_fail, insert_id, insert_id };
    pthread_t holder;
    int i;

    assert_int_equal(write_id(st, 1), HS_OK);
    memset(a, 0, sizeof(a));
    a[0].id = 20;
    a[1].id = 21;
    a[2].id = 22;
    a[3].id = 1; /* a duplicate */
    assert_int_equal(pthread_create(&holder, NULL, holder_thread, &g), 0);
    while (!atomic_load(&g.holding))
        hm_sleep_ms(1);
    for (i = 0; i < 4; i++)
        assert_int_equal(hs_store_write_async(st, fns[i], &a[i].id, async_done), HS_OK);
    /* The holder's batch sleeps 200 ms: nothing queued behind it may be done yet. */
    for (i = 0; i < 4; i++)
        assert_int_equal(atomic_load(&a[i].calls), 0);
    pthread_join(holder, NULL);
    assert_int_equal(g.rc, HS_OK);
    wait_async(a, 4);
    hm_sleep_ms(20); /* a second call would show now */
    for (i = 0; i < 4; i++) {
        assert_int_equal(atomic_load(&a[i].calls), 1);
        assert_false(pthread_equal(a[i].thread, pthread_self()));
    }
    assert_int_equal(a[0].rc, HS_OK);
    assert_int_equal(a[1].rc, HS_E_CONFLICT);
    assert_int_equal(a[2].rc, HS_OK);
    assert_int_equal(a[3].rc, HS_E_DB_CONSTRAINT);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id IN (1, 20, 22)"), 3);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 3);
}

/* hs_store_close() finishes the writes still queued, async ones too: each done runs, durable. */
static void test_close_finishes_async(void **state)
{
    struct hs_store *st = *state;
    struct gate g = { .waiting = 0, .st = st };
    struct async_arg a[6];
    pthread_t holder;
    int i;

    memset(a, 0, sizeof(a));
    assert_int_equal(pthread_create(&holder, NULL, holder_thread, &g), 0);
    while (!atomic_load(&g.holding))
        hm_sleep_ms(1);
    for (i = 0; i < 6; i++) {
        a[i].id = 100 + i;
        assert_int_equal(hs_store_write_async(st, insert_id, &a[i].id, async_done), HS_OK);
    }
    hs_store_close(st);
    *state = NULL;
    pthread_join(holder, NULL);
    for (i = 0; i < 6; i++) {
        assert_int_equal(atomic_load(&a[i].calls), 1);
        assert_int_equal(a[i].rc, HS_OK);
    }
    assert_int_equal(hs_store_open(&E.cfg, &st), HS_OK);
    *state = st;
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id BETWEEN 100 AND 105"), 6);
}

/* ---- lifetime ----------------------------------------------------------- */

static void test_reopen_keeps_data(void **state)
{
    struct hs_store *st = *state;

    assert_int_equal(write_id(st, 42), HS_OK);
    hs_store_close(st);
    *state = NULL;
    assert_int_equal(hs_store_open(&E.cfg, &st), HS_OK);
    *state = st;
    assert_int_equal(hs_store_schema_version(st), (int)hs_migrations_count);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM schema_version"),
                     (int)hs_migrations_count);
    assert_int_equal(query_int(st, "SELECT id FROM t"), 42);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM audit_head"), 1);
}

static hs_rc future_version(struct hs_conn *c, void *arg)
{
    (void)arg;
    return hs_exec(c,
                   "INSERT INTO schema_version (version, name, applied_at) "
                   "VALUES (999, 'from the future', 0)",
                   NULL, 0, NULL);
}

static void test_newer_schema_refused(void **state)
{
    struct hs_store *st = *state;

    assert_int_equal(hs_store_write(st, future_version, NULL), HS_OK);
    hs_store_close(st);
    st = (struct hs_store *)&st;
    assert_int_equal(hs_store_open(&E.cfg, &st), HS_E_SCHEMA);
    assert_null(st);
    *state = NULL;
}

struct slow_arg {
    struct hs_store *st;
    atomic_int *started;
    int64_t id;
    hs_rc rc;
};

static hs_rc slow_insert(struct hs_conn *c, void *arg)
{
    hm_sleep_ms(2);
    return insert_id(c, arg);
}

static void *slow_thread(void *arg)
{
    struct slow_arg *a = arg;

    atomic_fetch_add(a->started, 1);
    a->rc = hs_store_write(a->st, slow_insert, &a->id);
    return NULL;
}

static void test_close_finishes_pending(void **state)
{
    struct hs_store *st = *state;
    struct gate g = { .waiting = 8, .st = st };
    struct slow_arg args[8];
    pthread_t holder, tid[8];
    int i;

    /* Hold the committer so that every write is still queued when close begins. */
    assert_int_equal(pthread_create(&holder, NULL, holder_thread, &g), 0);
    while (!atomic_load(&g.holding))
        hm_sleep_ms(1);
    for (i = 0; i < 8; i++) {
        args[i] = (struct slow_arg){ .st = st, .started = &g.arrived, .id = i + 1 };
        assert_int_equal(pthread_create(&tid[i], NULL, slow_thread, &args[i]), 0);
    }
    while (atomic_load(&g.arrived) < 8)
        hm_sleep_ms(1);
    hm_sleep_ms(50);
    hs_store_close(st);
    *state = NULL;
    for (i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(args[i].rc, HS_OK);
    }
    pthread_join(holder, NULL);
    assert_int_equal(g.rc, HS_OK);

    assert_int_equal(hs_store_open(&E.cfg, &st), HS_OK);
    *state = st;
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 8);
}

/* PostgreSQL: connections cut by the server (a restart, an operator) are reopened on next use. */
static void test_lost_connection_reopened(void **state)
{
    struct hs_store *st = *state;

    if (E.cfg.backend != HS_BACKEND_POSTGRES) {
        skip();
        return;
    }
    assert_int_equal(write_id(st, 1), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 1);
    /* Ends every other session of this database: the store's writer and reader. */
    assert_int_equal(hs_storage_test_script(&E.cfg, "SELECT pg_terminate_backend(pid) "
                                                    "FROM pg_stat_activity WHERE datname = "
                                                    "current_database() AND pid <> "
                                                    "pg_backend_pid()"),
                     HS_OK);
    hm_sleep_ms(100);
    assert_int_equal(write_id(st, 2), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 2);
}

/* The writer's connection ends in the middle of a write's steps (its backend is told to stop by
 * the first step): the write fails, nothing of it is kept, and the next write reconnects. */
static hs_rc steps_lose_connection(struct hs_conn *c, void *arg)
{
    const struct hs_val p[] = { hs_int(77) };
    const struct hs_step steps[] = {
        { .sql = "SELECT pg_terminate_backend(pg_backend_pid())", .changes = HS_STEP_ANY },
        { .sql = step_insert_sql,
          .params = p,
          .nparams = 1,
          .changes = 1,
          .unchanged = HS_E_CONFLICT },
    };
    int failed = -1;
    hs_rc rc = hs_exec_steps(c, steps, 2, &failed);
    *(int *)arg = failed;
    return rc;
}

static void test_steps_connection_lost(void **state)
{
    struct hs_store *st = *state;
    int failed = -1;

    if (E.cfg.backend != HS_BACKEND_POSTGRES) {
        skip();
        return;
    }
    assert_int_equal(write_id(st, 1), HS_OK);
    assert_int_equal(hs_store_write(st, steps_lose_connection, &failed), HS_E_DB);
    assert_int_equal(failed, 0);
    assert_int_equal(write_id(st, 2), HS_OK);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t"), 2);
    assert_int_equal(query_int(st, "SELECT COUNT(*) FROM t WHERE id = 77"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_violation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_returning_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_isolates_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_audit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional_update_two_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_during_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps_in_a_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_finishes_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_finishes_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_reopened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps_connection_lost, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
