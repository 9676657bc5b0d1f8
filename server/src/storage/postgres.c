/* The PostgreSQL backend (libpq): the shared database of a city or province deployment. */
#include "backend.h"

#include "hm/buf.h"
#include "hm/log.h"
#include "hm/util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Type OIDs of the built-in types we decode (from catalog/pg_type.dat; they
 * are fixed, and the server headers that name them are not in libpq-dev).
 */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_NUMERIC = 1700,
};

/* Parameters passed on the stack; statements with more allocate. */
#define PARAMS_ON_STACK 16
/* Longest migration script accepted, after the BLOB -> BYTEA rewrite. */
#define SCRIPT_MAX (1u << 20)

struct pg_stmt {
    char name[24]; /* "hs1", "hs2" ... unique on the connection */
    int nparams;
};

struct pg_conn {
    PGconn *pg;
    bool reader;
    int busy_timeout_ms;
    unsigned next_id; /* for statement names */
    int64_t changes;
    struct hs_stmt_cache cache;
    /* The connection's protocol state is not known (it could not leave pipeline mode): it is
     * used for nothing more, and revive() makes it again. */
    bool broken;
};

/* Notices (such as DROP ... CASCADE's) would go to stderr by default; they belong in the log. */
static void on_notice(void *arg, const char *message)
{
    size_t n = strlen(message);

    (void)arg;
    if (n && message[n - 1] == '\n')
        n--;
    hm_log_debug("storage: postgres: %.*s", (int)n, message);
}

/*
 * Translates a failed result. Only the primary message is logged: the DETAIL
 * of a unique violation quotes the key, which may be a secret.
 */
static hs_rc fail(struct pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    hs_rc rc = HS_E_DB;
    size_t n;

    if (state && strncmp(state, "23", 2) == 0)
        rc = HS_E_DB_CONSTRAINT;
    else if (state &&
             (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")))
        rc = HS_E_DB_BUSY;
    if (!msg)
        msg = PQerrorMessage(c->pg);
    n = strlen(msg);
    if (n && msg[n - 1] == '\n')
        n--;
    hm_log(hs_db_log_level(rc), "storage: postgres: %s: %.*s (SQLSTATE %s)", what, (int)n, msg,
           state ? state : "none");
    if (PQstatus(c->pg) != CONNECTION_OK)
        hm_log_warn("storage: postgres: the connection is lost; it is reopened on next use");
    return rc;
}

static bool result_ok(const PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);

    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Session settings, applied on every (re)connection. */
static hs_rc setup_session(struct pg_conn *c)
{
    char sql[512];
    PGresult *res;
    hs_rc rc = HS_OK;

    /*
     * synchronous_commit=on makes COMMIT wait for the WAL flush, whatever the
     * server's default: a write is durable when it returns. Readers run every
     * transaction read-only.
     */
    snprintf(sql, sizeof(sql),
             "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
             "SET bytea_output = 'hex'; SET synchronous_commit = on; SET lock_timeout = %d; "
             "SET default_transaction_read_only = %s",
             c->busy_timeout_ms, c->reader ? "on" : "off");
    res = PQexec(c->pg, sql);
    if (!result_ok(res))
        rc = fail(c, res, "session setup");
    PQclear(res);
    return rc;
}

static hs_rc pg_connect(const char *target, bool reader, int busy_timeout_ms, void **out)
{
    struct pg_conn *c;
    hs_rc rc;

    *out = NULL;
    if (!PQisthreadsafe()) {
        hm_log_error("storage: postgres: libpq was built without thread support");
        return HS_E_DB;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return HS_E_NO_MEMORY;
    c->reader = reader;
    c->busy_timeout_ms = busy_timeout_ms;
    hs_stmt_cache_init(&c->cache, free);
    c->pg = PQconnectdb(target);
    if (!c->pg) {
        rc = HS_E_NO_MEMORY;
        goto out_free;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        /* The message names host and database but never the password. */
        hm_log_error("storage: postgres: connect: %s", PQerrorMessage(c->pg));
        rc = HS_E_DB;
        goto out_finish;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    rc = setup_session(c);
    if (rc != HS_OK)
        goto out_finish;
    *out = c;
    return HS_OK;

out_finish:
    PQfinish(c->pg);
out_free:
    free(c);
    return rc;
}

static void pg_disconnect(void *b)
{
    struct pg_conn *c = b;

    if (!c)
        return;
    hs_stmt_cache_cleanup(&c->cache);
    PQfinish(c->pg);
    free(c);
}

static hs_rc pg_revive(void *b)
{
    struct pg_conn *c = b;

    if (PQstatus(c->pg) == CONNECTION_OK && !c->broken)
        return HS_OK;
    c->broken = false;
    /* The server forgot our prepared statements with the old session. */
    hs_stmt_cache_clear(&c->cache);
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        hm_log_error("storage: postgres: reconnect: %s", PQerrorMessage(c->pg));
        return HS_E_DB;
    }
    hm_log_warn("storage: postgres: reconnected");
    return setup_session(c);
}

static bool pg_lost(void *b)
{
    struct pg_conn *c = b;

    return PQstatus(c->pg) != CONNECTION_OK || c->broken;
}

/* Finds the prepared statement for sql, or prepares it under a new name and caches it. */
static hs_rc get_stmt(struct pg_conn *c, const char *sql, struct pg_stmt **out)
{
    struct pg_stmt *stmt = hs_stmt_cache_find(&c->cache, sql);
    PGresult *res;
    hs_rc rc;

    if (stmt) {
        *out = stmt;
        return HS_OK;
    }
    stmt = calloc(1, sizeof(*stmt));
    if (!stmt)
        return HS_E_NO_MEMORY;
    snprintf(stmt->name, sizeof(stmt->name), "hs%u", ++c->next_id);
    res = PQprepare(c->pg, stmt->name, sql, 0, NULL);
    if (!result_ok(res)) {
        rc = fail(c, res, "prepare");
        goto out_free;
    }
    PQclear(res);
    /* The server counts the parameters; we check every call against that count. */
    res = PQdescribePrepared(c->pg, stmt->name);
    if (!result_ok(res)) {
        rc = fail(c, res, "describe");
        goto out_free;
    }
    stmt->nparams = PQnparams(res);
    PQclear(res);
    rc = hs_stmt_cache_put(&c->cache, sql, stmt);
    if (rc != HS_OK) {
        free(stmt);
        return rc;
    }
    *out = stmt;
    return HS_OK;

out_free:
    PQclear(res);
    free(stmt);
    return rc;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes bytea in hex output format ("\x0001ff"), strictly: nothing else is accepted. */
static hs_rc decode_bytea(struct hs_rows *r, const char *s, size_t len, struct hs_cell *cell)
{
    uint8_t *p;
    size_t i, n;

    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2)
        return HS_E_MALFORMED;
    n = (len - 2) / 2;
    p = hs_cell_alloc(r, cell, HS_BLOB, n);
    if (!p)
        return HS_E_NO_MEMORY;
    for (i = 0; i < n; i++) {
        int hi = hex_digit(s[2 + 2 * i]), lo = hex_digit(s[3 + 2 * i]);

        if (hi < 0 || lo < 0)
            return HS_E_MALFORMED;
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    return HS_OK;
}

static hs_rc decode_value(struct hs_rows *r, Oid type, const char *s, size_t len,
                          struct hs_cell *cell)
{
    int64_t v;

    switch (type) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        if (!hs_parse_int64(s, &v))
            return HS_E_MALFORMED;
        return hs_cell_set_int(r, cell, v);
    case OID_BOOL:
        if (len != 1 || (s[0] != 't' && s[0] != 'f'))
            return HS_E_MALFORMED;
        return hs_cell_set_int(r, cell, s[0] == 't');
    case OID_NUMERIC:
        /* SUM() and friends of BIGINT are NUMERIC; whole values read as integers. */
        if (hs_parse_int64(s, &v))
            return hs_cell_set_int(r, cell, v);
        return hs_cell_set_text(r, cell, s, len);
    case OID_BYTEA:
        return decode_bytea(r, s, len, cell);
    default:
        return hs_cell_set_text(r, cell, s, len);
    }
}

static hs_rc read_rows(const PGresult *res, struct hs_rows **out)
{
    struct hs_rows *r;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    int row, col;
    hs_rc rc;

    rc = hs_rows_new(ncols, &r);
    if (rc != HS_OK)
        return rc;
    for (row = 0; row < nrows; row++) {
        struct hs_cell *cells = hs_rows_add_row(r);

        if (!cells) {
            rc = HS_E_NO_MEMORY;
            goto out_free;
        }
        for (col = 0; col < ncols; col++) {
            if (PQgetisnull(res, row, col))
                continue;
            rc = decode_value(r, PQftype(res, col), PQgetvalue(res, row, col),
                              (size_t)PQgetlength(res, row, col), &cells[col]);
            if (rc != HS_OK) {
                hm_log_error("storage: postgres: column %d of a result does not decode (%s)", col,
                             hs_rc_name(rc));
                goto out_free;
            }
        }
    }
    *out = r;
    return HS_OK;

out_free:
    hs_rows_free(r);
    return rc;
}

/* Remembers the row count of INSERT, UPDATE, DELETE and MERGE, as sqlite3_changes() does. */
static void note_changes(struct pg_conn *c, PGresult *res)
{
    const char *status = PQcmdStatus(res);
    int64_t n;

    if (strncmp(status, "INSERT", 6) && strncmp(status, "UPDATE", 6) &&
        strncmp(status, "DELETE", 6) && strncmp(status, "MERGE", 5))
        return;
    c->changes = hs_parse_int64(PQcmdTuples(res), &n) ? n : 0;
}

/* A statement's parameters as libpq takes them; on the stack up to PARAMS_ON_STACK. */
struct pg_params {
    const char *values_s[PARAMS_ON_STACK];
    int lengths_s[PARAMS_ON_STACK], formats_s[PARAMS_ON_STACK];
    char nums_s[PARAMS_ON_STACK][24];
    const char **values;
    int *lengths, *formats;
    char (*nums)[24];
};

/* Points pp at its own arrays (the stack's, with pp). */
static void params_on_stack(struct pg_params *pp)
{
    pp->values = pp->values_s;
    pp->lengths = pp->lengths_s;
    pp->formats = pp->formats_s;
    pp->nums = pp->nums_s;
}

/* Frees what params_bind() allocated; pp is on its own arrays again, so a second call is a no-op.
 */
static void params_free(struct pg_params *pp)
{
    if (pp->values != pp->values_s) {
        free(pp->values);
        free(pp->lengths);
        free(pp->formats);
        free(pp->nums);
    }
    params_on_stack(pp);
}

/* Integers and text travel as text; blobs in binary, so no escaping is involved. */
static hs_rc params_bind(struct pg_params *pp, const struct hs_val *params, int nparams)
{
    params_on_stack(pp);
    if (nparams > PARAMS_ON_STACK) {
        pp->values = calloc((size_t)nparams, sizeof(*pp->values));
        pp->lengths = calloc((size_t)nparams, sizeof(*pp->lengths));
        pp->formats = calloc((size_t)nparams, sizeof(*pp->formats));
        pp->nums = calloc((size_t)nparams, sizeof(*pp->nums));
        if (!pp->values || !pp->lengths || !pp->formats || !pp->nums) {
            params_free(pp);
            return HS_E_NO_MEMORY;
        }
    }
    for (int i = 0; i < nparams; i++) {
        const struct hs_val *v = &params[i];

        pp->lengths[i] = 0;
        pp->formats[i] = 0;
        switch (v->type) {
        case HS_INT:
            snprintf(pp->nums[i], sizeof(pp->nums[i]), "%lld", (long long)v->i);
            pp->values[i] = pp->nums[i];
            break;
        case HS_TEXT:
            pp->values[i] = v->s;
            break;
        case HS_BLOB:
            if (v->n > (size_t)INT32_MAX) {
                params_free(pp);
                return HS_E_TOO_LARGE;
            }
            /* A NULL value would mean SQL NULL; an empty blob needs a real pointer. */
            pp->values[i] = v->n ? (const char *)v->b : "";
            pp->lengths[i] = (int)v->n;
            pp->formats[i] = 1;
            break;
        case HS_NULL:
        default:
            pp->values[i] = NULL;
            break;
        }
    }
    return HS_OK;
}

/* The prepared statement for sql, checked against the number of parameters given. */
static hs_rc stmt_for(struct pg_conn *c, const char *sql, int nparams, struct pg_stmt **out)
{
    hs_rc rc;

    if (PQstatus(c->pg) != CONNECTION_OK || c->broken) {
        hm_log_error("storage: postgres: the connection is lost");
        return HS_E_DB;
    }
    rc = get_stmt(c, sql, out);
    if (rc != HS_OK)
        return rc;
    if ((*out)->nparams != nparams) {
        hm_log_error("storage: postgres: the statement takes %d parameters, %d given",
                     (*out)->nparams, nparams);
        return HS_E_INVALID_ARG;
    }
    return HS_OK;
}

static hs_rc pg_exec(void *b, const char *sql, const struct hs_val *params, int nparams,
                     struct hs_rows **rows)
{
    struct pg_conn *c = b;
    struct pg_params pp;
    struct pg_stmt *stmt = NULL;
    PGresult *res;
    hs_rc rc;

    rc = stmt_for(c, sql, nparams, &stmt);
    if (rc == HS_OK)
        rc = params_bind(&pp, params, nparams);
    if (rc != HS_OK)
        return rc;
    res = PQexecPrepared(c->pg, stmt->name, nparams, pp.values, pp.lengths, pp.formats, 0);
    if (!result_ok(res)) {
        rc = fail(c, res, "exec");
    } else {
        note_changes(c, res);
        if (rows)
            rc = read_rows(res, rows);
    }
    PQclear(res);
    params_free(&pp);
    return rc;
}

/*
 * The steps in one round trip: libpq's pipeline mode sends them all and a
 * sync, then the results come back in order. After an error the server
 * skips the rest (PGRES_PIPELINE_ABORTED); a step that changed another
 * number of rows is no error, so the later ones run. Either way the first
 * failure in order is the answer, as one by one.
 */
static hs_rc pg_exec_steps(void *b, const struct hs_step *steps, int n, int *at, hs_rc *error)
{
    struct pg_conn *c = b;
    struct pg_stmt *stmts[HS_STEPS_MAX];
    hs_rc rc = HS_OK, send_rc = HS_OK;
    bool gone = false;
    int sent = 0, i;

    *at = -1;
    *error = HS_OK;
    /* New statements are prepared first, outside the pipeline (a round trip each, once). */
    for (i = 0; i < n; i++) {
        rc = stmt_for(c, steps[i].sql, steps[i].nparams, &stmts[i]);
        if (rc != HS_OK) {
            *at = i;
            *error = rc; /* a failed PREPARE also ends the transaction's use */
            return rc;
        }
    }
    if (PQenterPipelineMode(c->pg) != 1) {
        *at = 0;
        return *error = fail(c, NULL, "pipeline");
    }
    for (; sent < n; sent++) {
        struct pg_params pp;
        int ok;

        send_rc = params_bind(&pp, steps[sent].params, steps[sent].nparams);
        if (send_rc != HS_OK)
            break;
        ok = PQsendQueryPrepared(c->pg, stmts[sent]->name, steps[sent].nparams, pp.values,
                                 pp.lengths, pp.formats, 0);
        params_free(&pp); /* libpq has copied them into its output buffer */
        if (ok != 1) {
            send_rc = fail(c, NULL, "pipeline send");
            break;
        }
    }
    /* What was sent is answered after the sync, also when a later send failed. */
    if (PQpipelineSync(c->pg) != 1) {
        rc = fail(c, NULL, "pipeline sync");
        PQexitPipelineMode(c->pg);
        *at = 0;
        return *error = rc;
    }
    for (i = 0; i < sent && !gone; i++) {
        PGresult *res = PQgetResult(c->pg);
        hs_rc step_rc = HS_OK;

        if (!res) {
            gone = true; /* the connection broke: no more results will come */
            step_rc = *error = fail(c, NULL, "pipeline result");
        } else if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
            /* skipped after an earlier step's error */
        } else if (!result_ok(res)) {
            step_rc = fail(c, res, "exec");
            if (*error == HS_OK)
                *error = step_rc;
        } else {
            note_changes(c, res);
            if (steps[i].changes != HS_STEP_ANY && c->changes != steps[i].changes)
                step_rc = steps[i].unchanged;
        }
        PQclear(res);
        if (step_rc != HS_OK && *at < 0) {
            *at = i;
            rc = step_rc;
        }
        /* Each query's results end with a NULL. */
        while (!gone && (res = PQgetResult(c->pg)) != NULL)
            PQclear(res);
    }
    /* Then the sync's own result, and the connection leaves pipeline mode. */
    while (!gone) {
        PGresult *res = PQgetResult(c->pg);
        bool sync = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

        gone = !res;
        PQclear(res);
        if (sync)
            break;
    }
    if (send_rc != HS_OK) {
        if (*at < 0) {
            *at = sent;
            rc = send_rc;
        }
        if (*error == HS_OK)
            *error = send_rc;
    }
    if (PQexitPipelineMode(c->pg) != 1) {
        /* Results we cannot account for: nothing more goes over this connection, and its
         * transaction is given up (the server rolls it back when revive() makes it again). */
        hs_rc end = fail(c, NULL, "pipeline end");
        c->broken = true;
        if (*at < 0) {
            *at = n - 1;
            rc = end;
        }
        if (*error == HS_OK)
            *error = end;
    }
    return rc;
}

static bool is_word_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Rewrites the word BLOB (outside quotes) to BYTEA: the one difference in portable DDL. */
static bool translate_script(const char *sql, struct hm_buf *out)
{
    const char *p = sql;

    while (*p) {
        if (*p == '\'' || *p == '"') {
            const char *s = strchr(p + 1, *p);
            size_t n = s ? (size_t)(s + 1 - p) : strlen(p);

            if (!hm_buf_add(out, p, n))
                return false;
            p += n;
        } else if (is_word_char(*p)) {
            const char *s = p;

            while (is_word_char(*s))
                s++;
            if (s - p == 4 && strncmp(p, "BLOB", 4) == 0) {
                if (!hm_buf_add_str(out, "BYTEA"))
                    return false;
            } else if (!hm_buf_add(out, p, (size_t)(s - p))) {
                return false;
            }
            p = s;
        } else {
            if (!hm_buf_add_u8(out, (uint8_t)*p))
                return false;
            p++;
        }
    }
    return hm_buf_add(out, "", 0);
}

static hs_rc pg_exec_script(void *b, const char *sql)
{
    struct pg_conn *c = b;
    struct hm_buf text;
    PGresult *res;
    hs_rc rc = HS_OK;

    hm_buf_init(&text, SCRIPT_MAX);
    if (!translate_script(sql, &text)) {
        hm_buf_free(&text);
        return HS_E_TOO_LARGE;
    }
    res = PQexec(c->pg, (const char *)text.data);
    if (!result_ok(res))
        rc = fail(c, res, "script");
    PQclear(res);
    hm_buf_free(&text);
    return rc;
}

static int64_t pg_changes(void *b)
{
    struct pg_conn *c = b;

    return c->changes;
}

static bool pg_in_transaction(void *b)
{
    struct pg_conn *c = b;

    /* PQTRANS_INERROR is a transaction COMMIT would only roll back. */
    return !c->broken && PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
}

const struct hs_backend_ops hs_postgres_ops = {
    .name = "postgres",
    .begin_sql = "BEGIN",
    /* A transaction-scoped advisory lock: released by COMMIT or ROLLBACK. */
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(4812345670123)",
    /* Not worth two more round trips a request: each read stands alone. */
    .snapshot_begin_sql = NULL,
    .snapshot_end_sql = NULL,
    .multi_statement = true,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .revive = pg_revive,
    .lost = pg_lost,
    .exec = pg_exec,
    .exec_steps = pg_exec_steps,
    .exec_script = pg_exec_script,
    .changes = pg_changes,
    .in_transaction = pg_in_transaction,
};
