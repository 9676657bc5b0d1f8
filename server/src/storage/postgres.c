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

    if (PQstatus(c->pg) == CONNECTION_OK)
        return HS_OK;
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

    return PQstatus(c->pg) != CONNECTION_OK;
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

static hs_rc pg_exec(void *b, const char *sql, const struct hs_val *params, int nparams,
                     struct hs_rows **rows)
{
    struct pg_conn *c = b;
    const char *values_s[PARAMS_ON_STACK];
    int lengths_s[PARAMS_ON_STACK], formats_s[PARAMS_ON_STACK];
    char nums_s[PARAMS_ON_STACK][24];
    const char **values = values_s;
    int *lengths = lengths_s, *formats = formats_s;
    char(*nums)[24] = nums_s;
    struct pg_stmt *stmt = NULL;
    PGresult *res;
    hs_rc rc;
    int i;

    if (PQstatus(c->pg) != CONNECTION_OK) {
        hm_log_error("storage: postgres: the connection is lost");
        return HS_E_DB;
    }
    rc = get_stmt(c, sql, &stmt);
    if (rc != HS_OK)
        return rc;
    if (stmt->nparams != nparams) {
        hm_log_error("storage: postgres: the statement takes %d parameters, %d given",
                     stmt->nparams, nparams);
        return HS_E_INVALID_ARG;
    }
    if (nparams > PARAMS_ON_STACK) {
        values = calloc((size_t)nparams, sizeof(*values));
        lengths = calloc((size_t)nparams, sizeof(*lengths));
        formats = calloc((size_t)nparams, sizeof(*formats));
        nums = calloc((size_t)nparams, sizeof(*nums));
        if (!values || !lengths || !formats || !nums) {
            rc = HS_E_NO_MEMORY;
            goto out_free;
        }
    }
    /* Integers and text travel as text; blobs in binary, so no escaping is involved. */
    for (i = 0; i < nparams; i++) {
        const struct hs_val *v = &params[i];

        lengths[i] = 0;
        formats[i] = 0;
        switch (v->type) {
        case HS_INT:
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)v->i);
            values[i] = nums[i];
            break;
        case HS_TEXT:
            values[i] = v->s;
            break;
        case HS_BLOB:
            if (v->n > (size_t)INT32_MAX) {
                rc = HS_E_TOO_LARGE;
                goto out_free;
            }
            /* A NULL value would mean SQL NULL; an empty blob needs a real pointer. */
            values[i] = v->n ? (const char *)v->b : "";
            lengths[i] = (int)v->n;
            formats[i] = 1;
            break;
        case HS_NULL:
        default:
            values[i] = NULL;
            break;
        }
    }
    res = PQexecPrepared(c->pg, stmt->name, nparams, values, lengths, formats, 0);
    if (!result_ok(res)) {
        rc = fail(c, res, "exec");
    } else {
        note_changes(c, res);
        if (rows)
            rc = read_rows(res, rows);
    }
    PQclear(res);

out_free:
    if (values != values_s) {
        free(values);
        free(lengths);
        free(formats);
        free(nums);
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
    return PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
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
    .exec_script = pg_exec_script,
    .changes = pg_changes,
    .in_transaction = pg_in_transaction,
};
