/* The kiosk, card, challenge and session registries in storage, each change audited in its own
 * transaction. */
#include "hs/registry.h"

#include "hs/audit.h"
#include "hs/jws.h"

#include "hm/log.h"
#include "hm/util.h"

#include <jansson.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- kiosks -------------------------------------------------------------- */

static void kiosk_from_row(const struct hs_rows *r, int row, struct hs_kiosk *k)
{
    memset(k, 0, sizeof(*k));
    hm_strlcpy(k->id, hs_rows_text(r, row, 0), sizeof(k->id));
    hm_strlcpy(k->name, hs_rows_text(r, row, 1), sizeof(k->name));
    hm_strlcpy(k->office, hs_rows_text(r, row, 2), sizeof(k->office));
    hm_strlcpy(k->cert_sha256, hs_rows_text(r, row, 3), sizeof(k->cert_sha256));
    hm_strlcpy(k->cert_serial, hs_rows_text(r, row, 4), sizeof(k->cert_serial));
    k->status = (enum hs_kiosk_status)hs_rows_int(r, row, 5);
    k->enrolled_at = hs_rows_int(r, row, 6);
    k->revoked_at = hs_rows_int(r, row, 7);
}

struct kiosk_enroll {
    const struct hs_kiosk *k;
    const char *actor;
    int64_t now;
};

static hs_rc kiosk_enroll_fn(struct hs_conn *c, void *arg)
{
    const struct kiosk_enroll *a = arg;
    const struct hs_val p[] = {
        hs_text(a->k->id),
        hs_text(a->k->name),
        hs_text(a->k->office),
        hs_text(a->k->cert_sha256),
        hs_text(a->k->cert_serial),
        hs_int(HS_KIOSK_ACTIVE),
        hs_int(a->now),
    };
    hs_rc rc = hs_exec(c,
                       "INSERT INTO kiosks (id, name, office, cert_sha256, cert_serial, status, "
                       "enrolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       p, 7, NULL);
    if (rc == HS_E_DB_CONSTRAINT)
        return HS_E_CONFLICT;
    if (rc != HS_OK)
        return rc;
    json_t *d = json_pack("{s:s, s:s, s:s}", "office", a->k->office, "cert_serial",
                          a->k->cert_serial, "cert_sha256", a->k->cert_sha256);
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (!detail)
        return HS_E_NO_MEMORY;
    struct hs_audit_rec rec = {
        .actor = a->actor,
        .action = "kiosk.enroll",
        .subject = a->k->id,
        .detail = detail,
        .at = a->now,
    };
    rc = hs_audit_append(c, &rec, NULL);
    free(detail);
    return rc;
}

hs_rc hs_kiosk_enroll(struct hs_store *st, const struct hs_kiosk *k, const char *actor, int64_t now)
{
    if (!st || !k || !k->id[0] || !k->cert_sha256[0] || !actor)
        return HS_E_INVALID_ARG;
    struct kiosk_enroll a = { k, actor, now };
    return hs_store_write(st, kiosk_enroll_fn, &a);
}

static hs_rc kiosk_query(struct hs_store *st, const char *sql, const char *key,
                         struct hs_kiosk *out)
{
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;
    struct hs_val p[] = { hs_text(key) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c, sql, p, 1, &r);
    if (rc == HS_OK) {
        if (hs_rows_count(r) == 0)
            rc = HS_E_NOT_FOUND;
        else if (out)
            kiosk_from_row(r, 0, out);
    }
    hs_rows_free(r);
    return rc;
}

hs_rc hs_kiosk_by_cert(struct hs_store *st, const char *cert_sha256, struct hs_kiosk *out)
{
    if (!st || !cert_sha256)
        return HS_E_INVALID_ARG;
    return kiosk_query(st,
                       "SELECT id, name, office, cert_sha256, cert_serial, status, enrolled_at, "
                       "revoked_at FROM kiosks WHERE cert_sha256 = $1",
                       cert_sha256, out);
}

hs_rc hs_kiosk_by_id(struct hs_store *st, const char *id, struct hs_kiosk *out)
{
    if (!st || !id)
        return HS_E_INVALID_ARG;
    return kiosk_query(st,
                       "SELECT id, name, office, cert_sha256, cert_serial, status, enrolled_at, "
                       "revoked_at FROM kiosks WHERE id = $1",
                       id, out);
}

hs_rc hs_kiosk_list(struct hs_store *st, struct hs_kiosk **out, size_t *n)
{
    if (!st || !out || !n)
        return HS_E_INVALID_ARG;
    *out = NULL;
    *n = 0;
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c,
                       "SELECT id, name, office, cert_sha256, cert_serial, status, enrolled_at, "
                       "revoked_at FROM kiosks ORDER BY id",
                       NULL, 0, &r);
    if (rc != HS_OK)
        return rc;
    int count = hs_rows_count(r);
    struct hs_kiosk *v = calloc(count > 0 ? (size_t)count : 1, sizeof(*v));
    if (!v) {
        hs_rows_free(r);
        return HS_E_NO_MEMORY;
    }
    for (int i = 0; i < count; i++)
        kiosk_from_row(r, i, &v[i]);
    hs_rows_free(r);
    *out = v;
    *n = (size_t)count;
    return HS_OK;
}

struct revoke_args {
    const char *action;     /* "kiosk.revoke" or "card.revoke" */
    const char *update_sql; /* revokes the row when active */
    const char *exists_sql; /* finds the row */
    const char *key;
    const char *reason;
    const char *actor;
    int64_t now;
};

static hs_rc revoke_fn(struct hs_conn *c, void *arg)
{
    const struct revoke_args *a = arg;
    const struct hs_val p[] = { hs_text(a->key), hs_int(a->now), hs_text(a->reason) };
    hs_rc rc = hs_exec(c, a->update_sql, p, 3, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) == 0) {
        /* Revoked already (nothing changes, nothing to audit), or no such row. */
        struct hs_rows *r = NULL;
        rc = hs_exec(c, a->exists_sql, p, 1, &r);
        if (rc == HS_OK && hs_rows_count(r) == 0)
            rc = HS_E_NOT_FOUND;
        hs_rows_free(r);
        return rc;
    }
    struct hs_audit_rec rec = {
        .actor = a->actor,
        .action = a->action,
        .subject = a->key,
        .detail = "",
        .at = a->now,
    };
    return hs_audit_append(c, &rec, NULL);
}

hs_rc hs_kiosk_revoke(struct hs_store *st, const char *id, const char *reason, const char *actor,
                      int64_t now)
{
    if (!st || !id || !actor)
        return HS_E_INVALID_ARG;
    struct revoke_args a = {
        .action = "kiosk.revoke",
        .update_sql = "UPDATE kiosks SET status = 2, revoked_at = $2, reason = $3 "
                      "WHERE id = $1 AND status = 1",
        .exists_sql = "SELECT 1 FROM kiosks WHERE id = $1",
        .key = id,
        .reason = reason ? reason : "",
        .actor = actor,
        .now = now,
    };
    return hs_store_write(st, revoke_fn, &a);
}

/* ---- welfare cards ------------------------------------------------------- */

struct card_register {
    const struct hs_card *card;
    const uint8_t *sealed;
    size_t sealed_len;
    const char *actor;
    int64_t now;
};

static hs_rc card_register_fn(struct hs_conn *c, void *arg)
{
    const struct card_register *a = arg;
    const struct hs_val p[] = {
        hs_text(a->card->cert_serial),
        hs_text(a->card->welfare_no),
        hs_text(a->card->holder),
        hs_int(HS_CARD_ACTIVE),
        hs_int(a->now),
        a->sealed ? hs_blob(a->sealed, a->sealed_len) : hs_null(),
    };
    hs_rc rc = hs_exec(c,
                       "INSERT INTO cards (cert_serial, welfare_no, holder, status, issued_at, "
                       "sealed_puk) VALUES ($1, $2, $3, $4, $5, $6)",
                       p, 6, NULL);
    if (rc == HS_E_DB_CONSTRAINT)
        return HS_E_CONFLICT;
    if (rc != HS_OK)
        return rc;
    struct hs_audit_rec rec = {
        .actor = a->actor,
        .action = "card.register",
        .subject = a->card->cert_serial,
        .detail = "",
        .at = a->now,
    };
    return hs_audit_append(c, &rec, NULL);
}

hs_rc hs_card_register(struct hs_store *st, const struct hs_card *card, const uint8_t *sealed_puk,
                       size_t sealed_len, const char *actor, int64_t now)
{
    if (!st || !card || !card->cert_serial[0] || !actor)
        return HS_E_INVALID_ARG;
    struct card_register a = { card, sealed_puk, sealed_len, actor, now };
    return hs_store_write(st, card_register_fn, &a);
}

hs_rc hs_card_by_serial(struct hs_store *st, const char *cert_serial, struct hs_card *out)
{
    if (!st || !cert_serial)
        return HS_E_INVALID_ARG;
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;
    struct hs_val p[] = { hs_text(cert_serial) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c,
                       "SELECT cert_serial, welfare_no, holder, status, issued_at, revoked_at, "
                       "reason FROM cards WHERE cert_serial = $1",
                       p, 1, &r);
    if (rc == HS_OK && hs_rows_count(r) == 0)
        rc = HS_E_NOT_FOUND;
    if (rc == HS_OK && out) {
        memset(out, 0, sizeof(*out));
        hm_strlcpy(out->cert_serial, hs_rows_text(r, 0, 0), sizeof(out->cert_serial));
        hm_strlcpy(out->welfare_no, hs_rows_text(r, 0, 1), sizeof(out->welfare_no));
        hm_strlcpy(out->holder, hs_rows_text(r, 0, 2), sizeof(out->holder));
        out->status = (enum hs_card_status)hs_rows_int(r, 0, 3);
        out->issued_at = hs_rows_int(r, 0, 4);
        out->revoked_at = hs_rows_int(r, 0, 5);
        hm_strlcpy(out->reason, hs_rows_text(r, 0, 6), sizeof(out->reason));
    }
    hs_rows_free(r);
    return rc;
}

hs_rc hs_card_revoke(struct hs_store *st, const char *cert_serial, const char *reason,
                     const char *actor, int64_t now)
{
    if (!st || !cert_serial || !actor)
        return HS_E_INVALID_ARG;
    struct revoke_args a = {
        .action = "card.revoke",
        .update_sql = "UPDATE cards SET status = 2, revoked_at = $2, reason = $3 "
                      "WHERE cert_serial = $1 AND status = 1",
        .exists_sql = "SELECT 1 FROM cards WHERE cert_serial = $1",
        .key = cert_serial,
        .reason = reason ? reason : "",
        .actor = actor,
        .now = now,
    };
    return hs_store_write(st, revoke_fn, &a);
}

void hs_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

hs_rc hs_card_revoked_list(struct hs_store *st, char ***serials, size_t *n)
{
    if (!st || !serials || !n)
        return HS_E_INVALID_ARG;
    *serials = NULL;
    *n = 0;
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c, "SELECT cert_serial FROM cards WHERE status = 2 ORDER BY cert_serial",
                       NULL, 0, &r);
    if (rc != HS_OK)
        return rc;
    int count = hs_rows_count(r);
    char **v = calloc((size_t)count + 1, sizeof(*v));
    if (!v) {
        hs_rows_free(r);
        return HS_E_NO_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        v[i] = strdup(hs_rows_text(r, i, 0));
        if (!v[i]) {
            hs_strv_free(v, (size_t)i);
            hs_rows_free(r);
            return HS_E_NO_MEMORY;
        }
    }
    hs_rows_free(r);
    *serials = v;
    *n = (size_t)count;
    return HS_OK;
}

hs_rc hs_card_sealed_puk(struct hs_store *st, const char *cert_serial, uint8_t **blob, size_t *len)
{
    if (!st || !cert_serial || !blob || !len)
        return HS_E_INVALID_ARG;
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;
    struct hs_val p[] = { hs_text(cert_serial) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c, "SELECT sealed_puk FROM cards WHERE cert_serial = $1", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 0 || hs_rows_is_null(r, 0, 0)) {
        hs_rows_free(r);
        return HS_E_NOT_FOUND;
    }
    size_t n = 0;
    const uint8_t *b = hs_rows_blob(r, 0, 0, &n);
    *blob = malloc(n ? n : 1);
    if (!*blob) {
        hs_rows_free(r);
        return HS_E_NO_MEMORY;
    }
    if (n)
        memcpy(*blob, b, n);
    *len = n;
    hs_rows_free(r);
    return HS_OK;
}

/* ---- challenges ---------------------------------------------------------- */

struct nonce_issue {
    const char *nonce, *kiosk, *purpose;
    int64_t now, expires;
};

static hs_rc nonce_issue_fn(struct hs_conn *c, void *arg)
{
    const struct nonce_issue *a = arg;
    const struct hs_val p[] = { hs_text(a->nonce), hs_text(a->kiosk), hs_text(a->purpose),
                                hs_int(a->now), hs_int(a->expires) };
    return hs_exec(c,
                   "INSERT INTO nonces (nonce, kiosk_id, purpose, created_at, expires_at) "
                   "VALUES ($1, $2, $3, $4, $5)",
                   p, 5, NULL);
}

hs_rc hs_nonce_issue(struct hs_store *st, const char *kiosk_id, const char *purpose, int ttl_s,
                     int64_t now, char nonce[HS_NONCE_TEXT], int64_t *expires_at)
{
    if (!st || !kiosk_id || !purpose || ttl_s <= 0 || !nonce)
        return HS_E_INVALID_ARG;
    uint8_t raw[HS_NONCE_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return HS_E_CRYPTO;
    hs_b64url_encode(raw, sizeof(raw), nonce);
    hm_wipe(raw, sizeof(raw));
    struct nonce_issue a = { nonce, kiosk_id, purpose, now, now + ttl_s };
    hs_rc rc = hs_store_write(st, nonce_issue_fn, &a);
    if (rc == HS_OK && expires_at)
        *expires_at = a.expires;
    if (rc != HS_OK)
        hm_wipe(nonce, HS_NONCE_TEXT);
    return rc;
}

/* The one statement that decides: of racing callers exactly one changes the row. */
static const char consume_sql[] =
    "UPDATE nonces SET used_at = $4 WHERE nonce = $1 AND kiosk_id = $2 AND "
    "purpose = $3 AND used_at IS NULL AND expires_at > $4";

void hs_nonce_consume_step(struct hs_nonce_step *ns, const char *nonce, const char *kiosk_id,
                           const char *purpose, int64_t now, struct hs_step *step)
{
    ns->p[0] = hs_text(nonce);
    ns->p[1] = hs_text(kiosk_id);
    ns->p[2] = hs_text(purpose);
    ns->p[3] = hs_int(now);
    *step = (struct hs_step){ .sql = consume_sql,
                              .params = ns->p,
                              .nparams = 4,
                              .changes = 1,
                              .unchanged = HS_E_NONCE_UNKNOWN };
}

/* Why a nonce was not used: it is unknown, another kiosk's or purpose's, used or expired. */
hs_rc hs_nonce_refusal(struct hs_conn *c, const char *nonce, const char *kiosk_id,
                       const char *purpose)
{
    if (!c || !nonce || !kiosk_id || !purpose)
        return HS_E_INVALID_ARG;
    struct hs_rows *r = NULL;
    const struct hs_val p[] = { hs_text(nonce) };
    hs_rc rc = hs_exec(
        c, "SELECT kiosk_id, purpose, expires_at, used_at FROM nonces WHERE nonce = $1", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 0)
        rc = HS_E_NONCE_UNKNOWN;
    else if (strcmp(hs_rows_text(r, 0, 0), kiosk_id) != 0)
        rc = HS_E_NONCE_KIOSK;
    else if (strcmp(hs_rows_text(r, 0, 1), purpose) != 0)
        rc = HS_E_NONCE_UNKNOWN; /* a nonce for another purpose is no nonce for this one */
    else if (!hs_rows_is_null(r, 0, 3))
        rc = HS_E_NONCE_USED;
    else
        rc = HS_E_NONCE_EXPIRED;
    hs_rows_free(r);
    return rc;
}

hs_rc hs_nonce_consume_in(struct hs_conn *c, const char *nonce, const char *kiosk_id,
                          const char *purpose, int64_t now)
{
    if (!c || !nonce || !kiosk_id || !purpose)
        return HS_E_INVALID_ARG;
    struct hs_nonce_step ns;
    struct hs_step step;
    hs_nonce_consume_step(&ns, nonce, kiosk_id, purpose, now, &step);
    hs_rc rc = hs_exec(c, step.sql, step.params, step.nparams, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) == 1)
        return HS_OK;
    return hs_nonce_refusal(c, nonce, kiosk_id, purpose);
}

struct nonce_consume {
    const char *nonce, *kiosk, *purpose;
    int64_t now;
};

static hs_rc nonce_consume_fn(struct hs_conn *c, void *arg)
{
    const struct nonce_consume *a = arg;
    return hs_nonce_consume_in(c, a->nonce, a->kiosk, a->purpose, a->now);
}

hs_rc hs_nonce_consume(struct hs_store *st, const char *nonce, const char *kiosk_id,
                       const char *purpose, int64_t now)
{
    if (!st)
        return HS_E_INVALID_ARG;
    struct nonce_consume a = { nonce, kiosk_id, purpose, now };
    return hs_store_write(st, nonce_consume_fn, &a);
}

/*
 * A confirm nonce is kept this long after it expired: a confirmation the card
 * signed while the nonce was live may reach the server later from the kiosk's
 * journal, and must still find its nonce unused (docs/API.md).
 */
#define NONCE_CONFIRM_KEEP_S (30 * 24 * 3600)

struct nonce_purge {
    int64_t before, confirm_before;
};

static hs_rc nonce_purge_fn(struct hs_conn *c, void *arg)
{
    const struct nonce_purge *a = arg;
    const struct hs_val p[] = { hs_int(a->before), hs_int(a->confirm_before) };
    return hs_exec(c,
                   "DELETE FROM nonces WHERE expires_at < $1 AND (purpose <> 'confirm' OR "
                   "expires_at < $2)",
                   p, 2, NULL);
}

/* Deletes nonces expired before now - keep_s; confirm nonces only once they expired
 * NONCE_CONFIRM_KEEP_S (or keep_s, if longer) ago. */
hs_rc hs_nonce_purge(struct hs_store *st, int64_t now, int keep_s)
{
    if (!st)
        return HS_E_INVALID_ARG;
    int64_t confirm_keep = keep_s > NONCE_CONFIRM_KEEP_S ? keep_s : NONCE_CONFIRM_KEEP_S;
    struct nonce_purge a = { now - keep_s, now - confirm_keep };
    return hs_store_write(st, nonce_purge_fn, &a);
}

struct id_session_purge {
    int64_t before;
};

static hs_rc id_session_purge_fn(struct hs_conn *c, void *arg)
{
    const struct id_session_purge *a = arg;
    const struct hs_val p[] = { hs_int(a->before) };
    return hs_exec(c, "DELETE FROM id_sessions WHERE expires_at < $1", p, 1, NULL);
}

hs_rc hs_id_session_purge(struct hs_store *st, int64_t now)
{
    if (!st)
        return HS_E_INVALID_ARG;
    struct id_session_purge a = { now };
    return hs_store_write(st, id_session_purge_fn, &a);
}

/* ---- appointments nobody came to ---------------------------------------------- */

struct no_show_mark {
    char today[16]; /* YYYY-MM-DD, China Standard Time */
    int64_t now;
    int marked;
};

static hs_rc no_show_fn(struct hs_conn *c, void *arg)
{
    struct no_show_mark *a = arg;
    hs_rc rc = hs_audit_lock(c); /* the audit head first, as every appointment write */
    if (rc != HS_OK)
        return rc;
    const struct hs_val p[] = { hs_text(a->today) };
    struct hs_rows *r = NULL;
    /* A few hundred at a time: one transaction stays short; the next round takes the rest. */
    rc = hs_exec(c,
                 "SELECT id, day FROM appointments WHERE status = 'booked' AND day < $1 "
                 "ORDER BY day, id LIMIT 200",
                 p, 1, &r);
    if (rc != HS_OK)
        return rc;
    for (int i = 0; rc == HS_OK && i < hs_rows_count(r); i++) {
        const char *id = hs_rows_text(r, i, 0), *day = hs_rows_text(r, i, 1);
        const struct hs_val pn[] = { hs_text(id), hs_text(day) };
        rc = hs_exec(
            c,
            "INSERT INTO no_shows (person, appointment_id, day) SELECT person, "
            "appointment_id, CAST($2 AS TEXT) FROM appointment_parties WHERE appointment_id = $1 "
            "AND "
            "active = 1 ON CONFLICT DO NOTHING",
            pn, 2, NULL);
        if (rc == HS_OK)
            rc = hs_exec(c, "UPDATE appointment_parties SET active = 0 WHERE appointment_id = $1",
                         pn, 1, NULL);
        const struct hs_val pu[] = { hs_text(id), hs_int(a->now) };
        if (rc == HS_OK)
            rc = hs_exec(c,
                         "UPDATE appointments SET status = 'no_show', updated_at = $2 WHERE id = "
                         "$1 AND status = 'booked'",
                         pu, 2, NULL);
        if (rc == HS_OK) {
            char detail[64];
            snprintf(detail, sizeof(detail), "{\"day\":\"%.10s\"}", day);
            struct hs_audit_rec rec = { .actor = "server",
                                        .action = "appointment.no_show",
                                        .subject = id,
                                        .detail = detail,
                                        .at = a->now };
            rc = hs_audit_append(c, &rec, NULL);
        }
        if (rc == HS_OK)
            a->marked++;
    }
    hs_rows_free(r);
    return rc;
}

hs_rc hs_appointments_mark_no_shows(struct hs_store *st, int64_t now, int *marked)
{
    if (!st)
        return HS_E_INVALID_ARG;
    struct no_show_mark a = { .now = now };
    /* The day of China Standard Time (UTC+8, no daylight saving). */
    time_t local = (time_t)(now + 8 * 3600);
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(a.today, sizeof(a.today), "%Y-%m-%d", &tm);
    hs_rc rc = hs_store_write(st, no_show_fn, &a);
    if (marked)
        *marked = rc == HS_OK ? a.marked : 0;
    return rc;
}
