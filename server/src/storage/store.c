/* The store: migrations, per-thread readers and the committer thread that group-commits writes. */
#include "backend.h"
#include "schema.h"
#include "test_hook.h"

#include "hm/log.h"
#include "hm/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH_MAX 256
#define DEFAULT_BUSY_MS   5000
/* A write function that meets a lock conflict runs alone this many more times. */
#define BUSY_RETRIES 5
/* First pause before such a rerun; it doubles each time. */
#define BUSY_BACKOFF_MS 10

/*
 * A connection as callers see it. The writer is used only by the committer
 * (and by hs_store_open() before the committer starts); each reader only by
 * the thread that owns it.
 */
struct hs_conn {
    const struct hs_backend_ops *ops;
    void *b; /* the backend's connection */
    bool writer;
    /* Writer only: set while a write function runs, the first statement error it met (no
     * statement runs after it), and its first failure of any kind (a step's unchanged too),
     * which is its result when it returns HS_OK. */
    bool in_job;
    hs_rc job_rc;
    hs_rc fail_rc;
    /* Writer only: a transaction of the committer is open, and the audit head it moved. */
    bool in_txn;
    struct hs_audit_tail audit;
    pthread_t owner;      /* readers: the thread it belongs to */
    bool want_snapshot;   /* readers: hs_store_read_begin() was called */
    bool in_snapshot;     /* readers: the snapshot's transaction is open */
    struct hs_conn *next; /* readers: the store's list */
};

/*
 * One hs_store_write() call, on the caller's stack. The caller waits on its
 * own mutex and condition, so the committer never touches the store on the
 * caller's behalf after setting done. An hs_store_write_async() job is
 * malloc'd instead, has on_done and no mutex; the committer frees it.
 */
struct job {
    hs_write_fn fn;
    void *arg;
    hs_rc rc;
    bool done;
    hs_write_done_fn on_done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *next;
};

struct hs_store {
    const struct hs_backend_ops *ops;
    enum hs_backend backend;
    char *target; /* may hold a password: wiped before it is freed */
    int batch_max;
    int busy_timeout_ms;
    int schema_version;

    struct hs_conn writer;
    struct job **batch; /* batch_max slots, the committer's */

    pthread_mutex_t mu; /* guards the queue, closing and stats */
    pthread_cond_t work;
    struct job *head, *tail;
    bool closing;
    bool committer_running;
    pthread_t committer;
    struct hs_store_stats stats;

    pthread_mutex_t readers_mu;
    struct hs_conn *readers;
    uint64_t id; /* tells stores apart in the threads' reader caches */
};

/* Each thread's reader of the store it used last: found without the list's lock. */
static _Thread_local struct {
    uint64_t store_id;
    struct hs_conn *conn;
} tl_reader;
static atomic_uint_fast64_t store_ids;

static const struct hs_backend_ops *ops_for(enum hs_backend backend)
{
    switch (backend) {
    case HS_BACKEND_SQLITE:
        return &hs_sqlite_ops;
    case HS_BACKEND_POSTGRES:
        return &hs_postgres_ops;
    default:
        return NULL;
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- statements --------------------------------------------------------- */

static bool is_db_error(hs_rc rc)
{
    return rc == HS_E_DB || rc == HS_E_DB_BUSY || rc == HS_E_DB_CONSTRAINT;
}

hs_rc hs_exec(struct hs_conn *c, const char *sql, const struct hs_val *params, int nparams,
              struct hs_rows **rows)
{
    hs_rc rc;

    if (rows)
        *rows = NULL;
    if (!c || !sql || nparams < 0 || (nparams > 0 && !params))
        return HS_E_INVALID_ARG;
    /*
     * PostgreSQL refuses every statement of a transaction after an error
     * until it rolls back; SQLite would carry on. Refuse here for both, so a
     * write function behaves the same on either backend.
     */
    if (c->in_job && c->job_rc != HS_OK) {
        hm_log_error("storage: a statement ran after an earlier one of the same write function "
                     "failed; return that error instead (or use INSERT ... ON CONFLICT)");
        return HS_E_DB;
    }
    /* Readers hold no transaction the store knows of, so a lost one may be reopened here. */
    if (!c->writer && !c->in_snapshot && c->ops->revive) {
        rc = c->ops->revive(c->b);
        if (rc != HS_OK)
            return rc;
    }
    if (c->want_snapshot && !c->in_snapshot) {
        c->want_snapshot = false;
        c->in_snapshot = c->ops->exec(c->b, c->ops->snapshot_begin_sql, NULL, 0, NULL) == HS_OK;
    }
    rc = c->ops->exec(c->b, sql, params, nparams, rows);
    /*
     * A reader finds out only now that its connection was lost (the server
     * restarted, say). It cannot have changed anything, so it may run the
     * statement again on a new connection.
     */
    if (rc != HS_OK && !c->writer && c->ops->lost && c->ops->lost(c->b) &&
        c->ops->revive(c->b) == HS_OK)
        rc = c->ops->exec(c->b, sql, params, nparams, rows);
    if (c->in_job && is_db_error(rc)) {
        c->job_rc = rc;
        if (c->fail_rc == HS_OK)
            c->fail_rc = rc;
    }
    return rc;
}

/* The steps one by one, for a backend without exec_steps (SQLite, where a statement is no
 * round trip), to exec_steps' results: an error stops them, an unchanged does not. */
static hs_rc steps_one_by_one(struct hs_conn *c, const struct hs_step *steps, int n, int *at,
                              hs_rc *error)
{
    hs_rc first = HS_OK;

    for (int i = 0; i < n; i++) {
        hs_rc rc = c->ops->exec(c->b, steps[i].sql, steps[i].params, steps[i].nparams, NULL);
        if (rc != HS_OK)
            *error = rc;
        else if (steps[i].changes != HS_STEP_ANY && c->ops->changes(c->b) != steps[i].changes)
            rc = steps[i].unchanged;
        if (rc != HS_OK && first == HS_OK) {
            first = rc;
            *at = i;
        }
        if (*error != HS_OK)
            break;
    }
    return first;
}

hs_rc hs_exec_steps(struct hs_conn *c, const struct hs_step *steps, int n, int *failed)
{
    int at = -1;
    hs_rc rc, error = HS_OK;

    if (failed)
        *failed = -1;
    if (!c || !steps || n < 1 || n > HS_STEPS_MAX)
        return HS_E_INVALID_ARG;
    for (int i = 0; i < n; i++)
        if (!steps[i].sql || steps[i].nparams < 0 || (steps[i].nparams > 0 && !steps[i].params) ||
            steps[i].changes < HS_STEP_ANY ||
            (steps[i].changes != HS_STEP_ANY && steps[i].unchanged == HS_OK))
            return HS_E_INVALID_ARG;
    /* On PostgreSQL the later steps may run after one failed: only a savepoint makes that safe. */
    if (!c->writer || !c->in_job || !c->in_txn) {
        hm_log_error("storage: hs_exec_steps() outside a write function");
        return HS_E_INVALID_ARG;
    }
    if (c->job_rc != HS_OK) {
        hm_log_error("storage: steps ran after an earlier statement of the same write function "
                     "failed; return that error instead");
        return HS_E_DB;
    }
    rc = c->ops->exec_steps ? c->ops->exec_steps(c->b, steps, n, &at, &error)
                            : steps_one_by_one(c, steps, n, &at, &error);
    if (error != HS_OK)
        c->job_rc = error;
    if (rc != HS_OK && c->fail_rc == HS_OK)
        c->fail_rc = rc;
    if (failed && rc != HS_OK)
        *failed = at;
    return rc;
}

int64_t hs_changes(struct hs_conn *c)
{
    return c ? c->ops->changes(c->b) : 0;
}

struct hs_audit_tail *hs_conn_audit_tail(struct hs_conn *c)
{
    return c && c->writer && c->in_job && c->in_txn ? &c->audit : NULL;
}

/* Runs one of the store's own statements (BEGIN, SAVEPOINT ...) on the writer. */
static hs_rc writer_exec(struct hs_store *st, const char *sql)
{
    return st->ops->exec(st->writer.b, sql, NULL, 0, NULL);
}

/* The transaction ended (either way): what it knew of the audit head is gone with it. */
static void txn_over(struct hs_store *st)
{
    st->writer.in_txn = false;
    memset(&st->writer.audit, 0, sizeof(st->writer.audit));
}

static void writer_rollback(struct hs_store *st)
{
    if (writer_exec(st, "ROLLBACK") != HS_OK)
        hm_log_error("storage: ROLLBACK failed");
    txn_over(st);
}

/* ---- the committer ------------------------------------------------------ */

/* Opens the batch's transaction, waiting out a lock another process holds. */
static hs_rc begin(struct hs_store *st)
{
    unsigned pause = BUSY_BACKOFF_MS;
    hs_rc rc;
    int attempt;

    /* Between batches no transaction is open: the place to reopen a lost connection. */
    if (st->ops->revive) {
        rc = st->ops->revive(st->writer.b);
        if (rc != HS_OK)
            return rc;
    }
    txn_over(st);
    for (attempt = 0;; attempt++) {
        rc = writer_exec(st, st->ops->begin_sql);
        /* A connection lost while idle shows only now; nothing was open, so reopen and go on. */
        if (rc != HS_OK && st->ops->lost && st->ops->lost(st->writer.b) &&
            st->ops->revive(st->writer.b) == HS_OK)
            rc = writer_exec(st, st->ops->begin_sql);
        if (rc == HS_OK)
            st->writer.in_txn = true;
        if (rc != HS_E_DB_BUSY || attempt == BUSY_RETRIES)
            return rc;
        hm_sleep_ms(pause);
        pause *= 2;
    }
}

/* Commits, refusing when the transaction was already lost (PostgreSQL's COMMIT would not say). */
static hs_rc commit(struct hs_store *st)
{
    uint64_t t0 = now_us(), dt;
    hs_rc rc;

    if (!st->ops->in_transaction(st->writer.b)) {
        hm_log_error("storage: the transaction ended before COMMIT; the batch is lost");
        return HS_E_DB;
    }
    /* The audit head the batch moved, written once (the caller rolls back if this fails). */
    if (st->writer.audit.valid && st->writer.audit.dirty && st->writer.audit.flush) {
        rc = st->writer.audit.flush(&st->writer, &st->writer.audit);
        if (rc != HS_OK)
            return rc;
    }
    rc = writer_exec(st, "COMMIT");
    dt = now_us() - t0;
    if (rc != HS_OK)
        return rc;
    txn_over(st);
    pthread_mutex_lock(&st->mu);
    st->stats.commits++;
    st->stats.commit_us_sum += dt;
    pthread_mutex_unlock(&st->mu);
    return HS_OK;
}

/* Runs a job's function; a statement error it swallowed still counts as its result. */
static hs_rc run_fn(struct hs_store *st, struct job *j)
{
    hs_rc rc;

    st->writer.in_job = true;
    st->writer.job_rc = HS_OK;
    st->writer.fail_rc = HS_OK;
    rc = j->fn(&st->writer, j->arg);
    if (rc == HS_OK)
        rc = st->writer.fail_rc;
    st->writer.in_job = false;
    return rc;
}

/*
 * Runs a job inside its own savepoint. Returns the job's result in *job_rc
 * and, as the return value, whether the transaction is still usable.
 */
static hs_rc run_in_savepoint(struct hs_store *st, struct job *j, bool first, hs_rc *job_rc)
{
    struct hs_audit_tail before = st->writer.audit;
    hs_rc rc;

    /*
     * The previous job's savepoint is released and this one's set in one
     * round trip where the backend takes several statements at once; the
     * last job's is released by COMMIT.
     */
    if (first)
        rc = writer_exec(st, "SAVEPOINT hs_job");
    else if (st->ops->multi_statement)
        rc = st->ops->exec_script(st->writer.b, "RELEASE SAVEPOINT hs_job; SAVEPOINT hs_job");
    else if ((rc = writer_exec(st, "RELEASE SAVEPOINT hs_job")) == HS_OK)
        rc = writer_exec(st, "SAVEPOINT hs_job");
    if (rc != HS_OK)
        return rc;
    *job_rc = run_fn(st, j);
    if (*job_rc != HS_OK) {
        rc = writer_exec(st, "ROLLBACK TO SAVEPOINT hs_job");
        if (rc != HS_OK)
            return rc;
        /* The job's audit records are gone, and with PostgreSQL any row lock it took. */
        st->writer.audit = before;
    }
    return HS_OK;
}

/* Runs n jobs in one transaction and commits them together. */
static void run_batch(struct hs_store *st, struct job **jobs, int n)
{
    hs_rc rc;
    int i;

    rc = begin(st);
    if (rc != HS_OK) {
        for (i = 0; i < n; i++)
            jobs[i]->rc = rc == HS_E_DB_BUSY ? rc : HS_E_DB;
        return;
    }
    for (i = 0; i < n; i++) {
        rc = run_in_savepoint(st, jobs[i], i == 0, &jobs[i]->rc);
        if (rc != HS_OK)
            goto out_abort;
    }
    rc = commit(st);
    if (rc != HS_OK)
        goto out_abort;
    return;

out_abort:
    hm_log_error("storage: a batch of %d writes failed and was rolled back", n);
    writer_rollback(st);
    for (i = 0; i < n; i++)
        jobs[i]->rc = HS_E_DB;
}

/* Reruns a job that met a lock conflict, alone, in fresh transactions, with growing pauses. */
static void rerun_busy(struct hs_store *st, struct job *j)
{
    unsigned pause = BUSY_BACKOFF_MS;
    int attempt;
    hs_rc rc;

    for (attempt = 0; attempt < BUSY_RETRIES && j->rc == HS_E_DB_BUSY; attempt++) {
        hm_sleep_ms(pause);
        pause *= 2;
        rc = begin(st);
        if (rc != HS_OK) {
            j->rc = rc == HS_E_DB_BUSY ? rc : HS_E_DB;
            continue;
        }
        j->rc = run_fn(st, j);
        if (j->rc != HS_OK) {
            writer_rollback(st);
            continue;
        }
        rc = commit(st);
        if (rc != HS_OK) {
            writer_rollback(st);
            j->rc = HS_E_DB;
        }
    }
}

static void finish(struct hs_store *st, struct job *j)
{
    pthread_mutex_lock(&st->mu);
    st->stats.writes++;
    if (j->rc != HS_OK)
        st->stats.write_errors++;
    pthread_mutex_unlock(&st->mu);

    if (j->on_done) {
        j->on_done(j->arg, j->rc);
        free(j);
        return;
    }
    /* After done is set the job belongs to its caller again and may vanish. */
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void *committer_main(void *arg)
{
    struct hs_store *st = arg;

    for (;;) {
        int n = 0, i;

        pthread_mutex_lock(&st->mu);
        while (!st->head && !st->closing)
            pthread_cond_wait(&st->work, &st->mu);
        /* Closing stops the loop only once the queue is empty: pending writes finish. */
        if (!st->head) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        while (st->head && n < st->batch_max) {
            st->batch[n++] = st->head;
            st->head = st->head->next;
        }
        if (!st->head)
            st->tail = NULL;
        pthread_mutex_unlock(&st->mu);

        run_batch(st, st->batch, n);
        for (i = 0; i < n; i++) {
            if (st->batch[i]->rc == HS_E_DB_BUSY)
                rerun_busy(st, st->batch[i]);
            finish(st, st->batch[i]);
        }
    }
    return NULL;
}

/* Queues a job for the committer: HS_OK, or HS_E_INVALID_ARG once closing began. */
static hs_rc enqueue(struct hs_store *st, struct job *j)
{
    pthread_mutex_lock(&st->mu);
    if (st->closing) {
        pthread_mutex_unlock(&st->mu);
        hm_log_error("storage: a write arrived after hs_store_close() began");
        return HS_E_INVALID_ARG;
    }
    if (st->tail)
        st->tail->next = j;
    else
        st->head = j;
    st->tail = j;
    pthread_cond_signal(&st->work);
    pthread_mutex_unlock(&st->mu);
    return HS_OK;
}

/* What hs_store_write() and hs_store_write_async() refuse before queueing anything. */
static hs_rc write_check(struct hs_store *st, hs_write_fn fn, const char *who)
{
    if (!st || !fn)
        return HS_E_INVALID_ARG;
    /* From inside a write function this would wait for itself (or run after it). */
    if (pthread_equal(pthread_self(), st->committer)) {
        hm_log_error("storage: %s() called from inside a write function", who);
        return HS_E_INVALID_ARG;
    }
    /* What the caller reads after its write must see it: no older snapshot. */
    hs_store_read_end(st);
    return HS_OK;
}

hs_rc hs_store_write_async(struct hs_store *st, hs_write_fn fn, void *arg, hs_write_done_fn done)
{
    hs_rc rc = done ? write_check(st, fn, "hs_store_write_async") : HS_E_INVALID_ARG;
    struct job *j;

    if (rc != HS_OK)
        return rc;
    j = calloc(1, sizeof(*j));
    if (!j)
        return HS_E_NO_MEMORY;
    j->fn = fn;
    j->arg = arg;
    j->on_done = done;
    rc = enqueue(st, j);
    if (rc != HS_OK)
        free(j);
    return rc;
}

hs_rc hs_store_write(struct hs_store *st, hs_write_fn fn, void *arg)
{
    struct job j = { .fn = fn, .arg = arg, .rc = HS_OK };
    hs_rc rc = write_check(st, fn, "hs_store_write");

    if (rc != HS_OK)
        return rc;
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    rc = enqueue(st, &j);
    if (rc != HS_OK)
        goto out_destroy;

    pthread_mutex_lock(&j.mu);
    while (!j.done)
        pthread_cond_wait(&j.cv, &j.mu);
    pthread_mutex_unlock(&j.mu);
    rc = j.rc;

out_destroy:
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    return rc;
}

void hs_store_stats(struct hs_store *st, struct hs_store_stats *out)
{
    if (!st || !out)
        return;
    pthread_mutex_lock(&st->mu);
    *out = st->stats;
    pthread_mutex_unlock(&st->mu);
}

/* ---- readers ------------------------------------------------------------ */

struct hs_conn *hs_store_reader(struct hs_store *st)
{
    pthread_t self = pthread_self();
    struct hs_conn *c;
    hs_rc rc;

    if (!st)
        return NULL;
    if (tl_reader.store_id == st->id && tl_reader.conn)
        return tl_reader.conn;
    /*
     * A thread that ended leaves its connection in the list; a new thread
     * that gets the same id takes it over, which is safe, and
     * hs_store_close() closes the rest.
     */
    pthread_mutex_lock(&st->readers_mu);
    for (c = st->readers; c; c = c->next) {
        if (pthread_equal(c->owner, self))
            break;
    }
    pthread_mutex_unlock(&st->readers_mu);
    if (c) {
        tl_reader.store_id = st->id;
        tl_reader.conn = c;
        return c;
    }

    c = calloc(1, sizeof(*c));
    if (!c) {
        hm_log_error("storage: out of memory for a reader connection");
        return NULL;
    }
    c->ops = st->ops;
    c->owner = self;
    rc = st->ops->connect(st->target, true, st->busy_timeout_ms, &c->b);
    if (rc != HS_OK) {
        hm_log_error("storage: could not open a reader connection (%s)", hs_rc_name(rc));
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&st->readers_mu);
    c->next = st->readers;
    st->readers = c;
    pthread_mutex_unlock(&st->readers_mu);
    tl_reader.store_id = st->id;
    tl_reader.conn = c;
    return c;
}

void hs_store_read_begin(struct hs_store *st)
{
    if (!st || !st->ops->snapshot_begin_sql)
        return;
    struct hs_conn *c = hs_store_reader(st);
    if (c && !c->in_snapshot)
        c->want_snapshot = true;
}

void hs_store_read_end(struct hs_store *st)
{
    /* Only a reader this thread already has can hold a snapshot. */
    if (!st || !st->ops->snapshot_end_sql || tl_reader.store_id != st->id || !tl_reader.conn)
        return;
    struct hs_conn *c = tl_reader.conn;
    c->want_snapshot = false;
    if (!c->in_snapshot)
        return;
    c->in_snapshot = false;
    if (c->ops->exec(c->b, c->ops->snapshot_end_sql, NULL, 0, NULL) != HS_OK)
        hm_log_error("storage: a read snapshot did not end cleanly");
}

/* ---- migrations --------------------------------------------------------- */

static hs_rc read_version(struct hs_conn *w, int *out)
{
    struct hs_rows *rows;
    int64_t v;
    hs_rc rc;

    rc = hs_exec(w, "SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL, 0, &rows);
    if (rc != HS_OK)
        return rc;
    v = hs_rows_int(rows, 0, 0);
    hs_rows_free(rows);
    if (v < 0 || v > 1000000) {
        hm_log_error("storage: schema_version holds an impossible version");
        return HS_E_SCHEMA;
    }
    *out = (int)v;
    return HS_OK;
}

/*
 * Brings the schema up to date in one transaction, so that a failure leaves
 * the database as it was and two processes never migrate at once.
 */
static hs_rc migrate(struct hs_store *st)
{
    struct hs_conn *w = &st->writer;
    int known = (int)hs_migrations_count, current = 0;
    size_t i;
    hs_rc rc;

    rc = writer_exec(st, st->ops->begin_sql);
    if (rc != HS_OK)
        return rc;
    if (st->ops->migrate_lock_sql) {
        rc = writer_exec(st, st->ops->migrate_lock_sql);
        if (rc != HS_OK)
            goto out_rollback;
    }
    rc = st->ops->exec_script(w->b, "CREATE TABLE IF NOT EXISTS schema_version ("
                                    " version BIGINT PRIMARY KEY,"
                                    " name TEXT NOT NULL,"
                                    " applied_at BIGINT NOT NULL)");
    if (rc != HS_OK)
        goto out_rollback;
    rc = read_version(w, &current);
    if (rc != HS_OK)
        goto out_rollback;
    if (current > known) {
        hm_log_error("storage: the database has schema version %d; this program knows up to %d",
                     current, known);
        rc = HS_E_SCHEMA;
        goto out_rollback;
    }
    for (i = 0; i < hs_migrations_count; i++) {
        const struct hs_migration *m = &hs_migrations[i];
        struct hs_val params[3];

        if (m->version <= current)
            continue;
        hm_log_info("storage: applying migration %d (%s)", m->version, m->name);
        rc = st->ops->exec_script(w->b, m->sql);
        if (rc == HS_OK && m->seed)
            rc = m->seed(w);
        if (rc != HS_OK) {
            hm_log_error("storage: migration %d (%s) failed", m->version, m->name);
            goto out_rollback;
        }
        params[0] = hs_int(m->version);
        params[1] = hs_text(m->name);
        params[2] = hs_int((int64_t)time(NULL));
        rc =
            hs_exec(w, "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                    params, 3, NULL);
        if (rc != HS_OK)
            goto out_rollback;
    }
    rc = writer_exec(st, "COMMIT");
    if (rc != HS_OK)
        goto out_rollback;
    st->schema_version = current > known ? current : known;
    return HS_OK;

out_rollback:
    writer_rollback(st);
    return rc;
}

/* Checks the list once: versions must count up from 1, or migrate() would skip some. */
static bool migrations_in_order(void)
{
    size_t i;

    for (i = 0; i < hs_migrations_count; i++) {
        if (hs_migrations[i].version != (int)i + 1 || !hs_migrations[i].sql)
            return false;
    }
    return true;
}

/* ---- opening and closing ------------------------------------------------ */

enum hs_backend hs_store_backend(const struct hs_store *st)
{
    return st->backend;
}

int hs_store_schema_version(const struct hs_store *st)
{
    return st->schema_version;
}

static void store_free(struct hs_store *st)
{
    struct hs_conn *c, *next;

    for (c = st->readers; c; c = next) {
        next = c->next;
        st->ops->disconnect(c->b);
        free(c);
    }
    if (st->writer.b)
        st->ops->disconnect(st->writer.b);
    pthread_mutex_destroy(&st->readers_mu);
    pthread_cond_destroy(&st->work);
    pthread_mutex_destroy(&st->mu);
    free(st->batch);
    if (st->target) {
        hm_wipe(st->target, strlen(st->target));
        free(st->target);
    }
    free(st);
}

hs_rc hs_store_open(const struct hs_store_config *cfg, struct hs_store **out)
{
    struct hs_store *st;
    hs_rc rc;

    if (!out)
        return HS_E_INVALID_ARG;
    *out = NULL;
    if (!cfg || !cfg->target || !*cfg->target || !ops_for(cfg->backend) || cfg->batch_max < 0 ||
        cfg->busy_timeout_ms < 0)
        return HS_E_INVALID_ARG;
    if (!migrations_in_order()) {
        hm_log_error("storage: the migration list is out of order");
        return HS_E_INTERNAL;
    }
    st = calloc(1, sizeof(*st));
    if (!st)
        return HS_E_NO_MEMORY;
    st->id = atomic_fetch_add(&store_ids, 1) + 1;
    st->ops = ops_for(cfg->backend);
    st->backend = cfg->backend;
    st->batch_max = cfg->batch_max ? cfg->batch_max : DEFAULT_BATCH_MAX;
    st->busy_timeout_ms = cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_MS;
    st->writer.ops = st->ops;
    st->writer.writer = true;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->work, NULL);
    pthread_mutex_init(&st->readers_mu, NULL);
    st->target = strdup(cfg->target);
    st->batch = calloc((size_t)st->batch_max, sizeof(*st->batch));
    if (!st->target || !st->batch) {
        rc = HS_E_NO_MEMORY;
        goto out_free;
    }
    rc = st->ops->connect(st->target, false, st->busy_timeout_ms, &st->writer.b);
    if (rc != HS_OK)
        goto out_free;
    rc = migrate(st);
    if (rc != HS_OK)
        goto out_free;
    if (pthread_create(&st->committer, NULL, committer_main, st) != 0) {
        hm_log_error("storage: could not start the committer thread");
        rc = HS_E_INTERNAL;
        goto out_free;
    }
    st->committer_running = true;
    hm_log_debug("storage: %s store open at schema version %d", st->ops->name, st->schema_version);
    *out = st;
    return HS_OK;

out_free:
    store_free(st);
    return rc;
}

void hs_store_close(struct hs_store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->closing = true;
    pthread_cond_signal(&st->work);
    pthread_mutex_unlock(&st->mu);
    if (st->committer_running)
        pthread_join(st->committer, NULL);
    store_free(st);
}

/* ---- the test hook ------------------------------------------------------ */

hs_rc hs_storage_test_script(const struct hs_store_config *cfg, const char *sql)
{
    const struct hs_backend_ops *ops = cfg ? ops_for(cfg->backend) : NULL;
    void *b;
    hs_rc rc;

    if (!ops || !cfg->target || !sql)
        return HS_E_INVALID_ARG;
    rc = ops->connect(cfg->target, false, cfg->busy_timeout_ms ? cfg->busy_timeout_ms : 5000, &b);
    if (rc != HS_OK)
        return rc;
    rc = ops->exec_script(b, sql);
    ops->disconnect(b);
    return rc;
}
