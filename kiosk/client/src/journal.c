/* The kiosk's offline journal: every signed confirmation is kept in SQLite from before it is sent
 * until a verified receipt for it is stored. */
#include "internal.h"

#include "hm/util.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JOURNAL_VERSION 1

struct kc_journal {
    sqlite3 *db;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS entries ("
                             " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " created INTEGER NOT NULL,"
                             " kiosk TEXT NOT NULL,"
                             " payment TEXT NOT NULL,"
                             " statement_hash TEXT NOT NULL,"
                             " request TEXT NOT NULL,"
                             " state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
                             " attempts INTEGER NOT NULL DEFAULT 0,"
                             " last_error TEXT NOT NULL DEFAULT '',"
                             " receipt TEXT,"
                             " receipt_id TEXT NOT NULL DEFAULT '',"
                             " delivered_at INTEGER NOT NULL DEFAULT 0);"
                             "CREATE INDEX IF NOT EXISTS entries_payment ON entries (payment);"
                             /* The last verified status of each card (kc_status_cached): its
                              * signed token, keyed by SHA-256 of the card's 9E certificate. */
                             "CREATE TABLE IF NOT EXISTS status_cache ("
                             " card TEXT PRIMARY KEY,"
                             " token TEXT NOT NULL,"
                             " verified_at INTEGER NOT NULL);";

const char *kc_entry_state_name(enum kc_entry_state s)
{
    switch (s) {
    case KC_ENTRY_PENDING:
        return "pending";
    case KC_ENTRY_DELIVERED:
        return "delivered";
    case KC_ENTRY_REFUSED:
        return "refused";
    }
    return "unknown";
}

kc_rc kc_journal_open(const char *path, struct kc_journal **out, char *why, size_t why_cap)
{
    struct kc_journal *j;
    sqlite3_stmt *st = NULL;
    int version = -1;
    mode_t old;
    int src;

    *out = NULL;
    j = calloc(1, sizeof(*j));
    if (!j)
        return KC_E_NO_MEMORY;
    /* The journal holds signed statements and welfare numbers: for this user only. */
    old = umask(077);
    src = sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old);
    if (src != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(j->db, 5000);
    if (sqlite3_exec(j->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (version > JOURNAL_VERSION) {
        snprintf(why, why_cap, "%s: the journal is newer (version %d) than this program", path,
                 version);
        sqlite3_close(j->db);
        free(j);
        return KC_E_JOURNAL;
    }
    if (sqlite3_exec(j->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(j->db, "PRAGMA user_version=1", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    *out = j;
    return KC_OK;
fail:
    snprintf(why, why_cap, "%s: %s", path, j->db ? sqlite3_errmsg(j->db) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(j->db);
    free(j);
    return KC_E_JOURNAL;
}

void kc_journal_close(struct kc_journal *j)
{
    if (!j)
        return;
    sqlite3_close(j->db);
    free(j);
}

kc_rc kc_journal_add(struct kc_journal *j, int64_t now, const char *kiosk, const char *payment,
                     const char *statement_hash, const char *request, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;

    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO entries (created, kiosk, payment, statement_hash, request)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, kiosk, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, payment, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, statement_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, request, -1, SQLITE_STATIC);
    /* Autocommit with synchronous=FULL: on disk when step returns. */
    if (sqlite3_step(st) == SQLITE_DONE) {
        *id = sqlite3_last_insert_rowid(j->db);
        rc = KC_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    hm_strlcpy(out, t ? (const char *)t : "", cap);
}

#define ENTRY_COLS                                                                   \
    "id, created, payment, statement_hash, state, attempts, last_error, receipt_id," \
    " delivered_at, request"

static kc_rc read_entry(sqlite3_stmt *st, struct kc_entry *e, char **request)
{
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(st, 0);
    e->created = sqlite3_column_int64(st, 1);
    copy_col(st, 2, e->payment, sizeof(e->payment));
    copy_col(st, 3, e->statement_hash, sizeof(e->statement_hash));
    e->state = (enum kc_entry_state)sqlite3_column_int(st, 4);
    e->attempts = sqlite3_column_int(st, 5);
    copy_col(st, 6, e->last_error, sizeof(e->last_error));
    copy_col(st, 7, e->receipt_id, sizeof(e->receipt_id));
    e->delivered_at = sqlite3_column_int64(st, 8);
    if (request) {
        const unsigned char *t = sqlite3_column_text(st, 9);

        *request = t ? strdup((const char *)t) : NULL;
        if (!*request)
            return KC_E_NO_MEMORY;
    }
    return KC_OK;
}

/* Runs a one-row query with a text or integer parameter. */
static kc_rc query_one(struct kc_journal *j, const char *sql, const char *text, int64_t num,
                       struct kc_entry *e, char **request)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;
    int s;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        rc = read_entry(st, e, request);
    else if (s == SQLITE_DONE)
        rc = KC_E_NOT_FOUND;
    sqlite3_finalize(st);
    return rc;
}

kc_rc kc_journal_find_payment(struct kc_journal *j, const char *payment, struct kc_entry *e,
                              char **request)
{
    return query_one(j,
                     "SELECT " ENTRY_COLS " FROM entries WHERE payment = ?1 AND state IN (0, 1)"
                     " ORDER BY state DESC, id DESC LIMIT 1",
                     payment, 0, e, request);
}

kc_rc kc_journal_next_pending(struct kc_journal *j, int64_t after_id, struct kc_entry *e,
                              char **request)
{
    return query_one(j,
                     "SELECT " ENTRY_COLS " FROM entries WHERE state = 0 AND id > ?1"
                     " ORDER BY id LIMIT 1",
                     NULL, after_id, e, request);
}

/* Runs an UPDATE binding (id, a, n, b: parameters the SQL lacks are ignored) and checks that it
 * changed one row. */
static kc_rc update(struct kc_journal *j, const char *sql, int64_t id, const char *a, int64_t n,
                    const char *b)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, a ? a : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, n);
    sqlite3_bind_text(st, 4, b ? b : "", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = sqlite3_changes(j->db) == 1 ? KC_OK : KC_E_NOT_FOUND;
    sqlite3_finalize(st);
    return rc;
}

kc_rc kc_journal_attempt(struct kc_journal *j, int64_t id, const char *error)
{
    return update(j,
                  "UPDATE entries SET attempts = attempts + 1, last_error = substr(?2, 1, 250)"
                  " WHERE id = ?1 AND state = 0",
                  id, error, 0, NULL);
}

kc_rc kc_journal_delivered(struct kc_journal *j, int64_t id, int64_t now, const char *receipt,
                           const char *receipt_id)
{
    /* A delivered entry keeps its first receipt: marking it again changes nothing. */
    return update(j,
                  "UPDATE entries SET state = 1, receipt = ?2, delivered_at = ?3,"
                  " receipt_id = ?4, last_error = '' WHERE id = ?1 AND state = 0",
                  id, receipt, now, receipt_id);
}

kc_rc kc_journal_refused(struct kc_journal *j, int64_t id, const char *code)
{
    return update(j,
                  "UPDATE entries SET state = 2, last_error = substr(?2, 1, 250)"
                  " WHERE id = ?1 AND state = 0",
                  id, code, 0, NULL);
}

kc_rc kc_journal_each_entry(struct kc_journal *j, bool (*fn)(void *arg, const struct kc_entry *e),
                            void *arg)
{
    sqlite3_stmt *st = NULL;
    struct kc_entry e;
    kc_rc rc = KC_OK;
    int s;

    if (sqlite3_prepare_v2(j->db, "SELECT " ENTRY_COLS " FROM entries ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        read_entry(st, &e, NULL);
        if (!fn(arg, &e))
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = KC_E_JOURNAL;
    sqlite3_finalize(st);
    return rc;
}

int kc_journal_count(struct kc_journal *j, enum kc_entry_state s)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_prepare_v2(j->db, "SELECT count(*) FROM entries WHERE state = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, (int)s);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- the status cache ---------------------------------------------------------- */

kc_rc kc_cache_purge(struct kc_journal *j, int64_t before)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;

    if (sqlite3_prepare_v2(j->db, "DELETE FROM status_cache WHERE verified_at < ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    sqlite3_bind_int64(st, 1, before);
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = KC_OK;
    sqlite3_finalize(st);
    return rc;
}

kc_rc kc_cache_put(struct kc_journal *j, const char *card, const char *token, int64_t now)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;

    /* The primary key keeps one row a card: the newest replaces the one before. */
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO status_cache (card, token, verified_at) VALUES (?1, ?2, ?3)"
                           " ON CONFLICT (card) DO UPDATE SET token = excluded.token,"
                           " verified_at = excluded.verified_at",
                           -1, &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    sqlite3_bind_text(st, 1, card, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = KC_OK;
    sqlite3_finalize(st);
    return rc;
}

kc_rc kc_cache_get(struct kc_journal *j, const char *card, char **token, int64_t *verified_at)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;
    int s;

    *token = NULL;
    if (sqlite3_prepare_v2(j->db, "SELECT token, verified_at FROM status_cache WHERE card = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    sqlite3_bind_text(st, 1, card, -1, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);

        *token = t ? strdup((const char *)t) : NULL;
        *verified_at = sqlite3_column_int64(st, 1);
        rc = *token ? KC_OK : KC_E_NO_MEMORY;
    } else if (s == SQLITE_DONE) {
        rc = KC_E_NOT_FOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

kc_rc kc_cache_forget(struct kc_journal *j, const char *card)
{
    sqlite3_stmt *st = NULL;
    kc_rc rc = KC_E_JOURNAL;

    if (sqlite3_prepare_v2(
            j->db, card ? "DELETE FROM status_cache WHERE card = ?1" : "DELETE FROM status_cache",
            -1, &st, NULL) != SQLITE_OK)
        return KC_E_JOURNAL;
    if (card)
        sqlite3_bind_text(st, 1, card, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = KC_OK;
    sqlite3_finalize(st);
    return rc;
}

int kc_cache_count(struct kc_journal *j)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_prepare_v2(j->db, "SELECT count(*) FROM status_cache", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}
