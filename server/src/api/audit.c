/* The hash-chained audit log with signed checkpoints, and its verification. */
#include "hs/audit.h"

#include "hs/jws.h"

#include "hm/log.h"
#include "hm/util.h"

#include <jansson.h>
#include <openssl/evp.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A record's hash: SHA-256 over a canonical encoding, with every field length-
 * prefixed so no two different records encode the same:
 *   "huimin-audit-v1" || be64(seq) || be64(at) || lp(actor) || lp(action)
 *   || lp(subject) || lp(detail) || prev_hash (32 bytes)
 * where lp(s) = be32(strlen(s)) || s.
 */
static void put_be(EVP_MD_CTX *md, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    EVP_DigestUpdate(md, b, (size_t)bytes);
}

static void put_lp(EVP_MD_CTX *md, const char *s)
{
    size_t n = strlen(s);
    put_be(md, n, 4);
    EVP_DigestUpdate(md, s, n);
}

static hs_rc record_hash(int64_t seq, int64_t at, const char *actor, const char *action,
                         const char *subject, const char *detail, const uint8_t prev[HS_AUDIT_HASH],
                         uint8_t out[HS_AUDIT_HASH])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    hs_rc rc = HS_E_CRYPTO;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    static const char tag[] = "huimin-audit-v1";
    EVP_DigestUpdate(md, tag, sizeof(tag) - 1);
    put_be(md, (uint64_t)seq, 8);
    put_be(md, (uint64_t)at, 8);
    put_lp(md, actor);
    put_lp(md, action);
    put_lp(md, subject);
    put_lp(md, detail);
    EVP_DigestUpdate(md, prev, HS_AUDIT_HASH);
    if (EVP_DigestFinal_ex(md, out, &len) == 1 && len == HS_AUDIT_HASH)
        rc = HS_OK;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* Writes the head a batch moved (the store calls it before COMMIT). */
static hs_rc tail_flush(struct hs_conn *c, const struct hs_audit_tail *t)
{
    const struct hs_val p[] = { hs_int(t->seq), hs_blob(t->hash, HS_AUDIT_HASH) };
    return hs_exec(c, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", p, 2, NULL);
}

/*
 * The head: from the committer's tail when this transaction has it, else read
 * from its row with the statement sql, which also locks the row (PostgreSQL;
 * SQLite's one writer is already alone) until the transaction ends, so that
 * appends from several processes form one chain. With a tail, what was read is
 * kept in it for the next append of the batch.
 */
static hs_rc head_get(struct hs_conn *c, const char *sql, int64_t *seq, uint8_t hash[HS_AUDIT_HASH])
{
    struct hs_audit_tail *t = hs_conn_audit_tail(c);
    if (t && t->valid) {
        *seq = t->seq;
        memcpy(hash, t->hash, HS_AUDIT_HASH);
        return HS_OK;
    }
    struct hs_rows *head = NULL;
    hs_rc rc = hs_exec(c, sql, NULL, 0, &head);
    if (rc != HS_OK)
        return rc;
    size_t len = 0;
    const uint8_t *h = hs_rows_blob(head, 0, 1, &len);
    if (hs_rows_count(head) != 1 || len != HS_AUDIT_HASH) {
        hm_log_error("audit: the chain head is missing or damaged");
        hs_rows_free(head);
        return HS_E_AUDIT_BROKEN;
    }
    *seq = hs_rows_int(head, 0, 0);
    memcpy(hash, h, HS_AUDIT_HASH);
    hs_rows_free(head);
    if (t) {
        t->valid = true;
        t->dirty = false;
        t->seq = *seq;
        memcpy(t->hash, hash, HS_AUDIT_HASH);
        t->flush = tail_flush;
    }
    return HS_OK;
}

static const char lock_sql[] = "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash";

hs_rc hs_audit_lock(struct hs_conn *c)
{
    if (!c)
        return HS_E_INVALID_ARG;
    int64_t seq;
    uint8_t hash[HS_AUDIT_HASH];
    return head_get(c, lock_sql, &seq, hash);
}

static const char insert_sql[] =
    "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/* Record seq after prev: its hash and the INSERT's parameters, in *as. */
static hs_rc record_build(const struct hs_audit_rec *r, int64_t seq,
                          const uint8_t prev[HS_AUDIT_HASH], struct hs_audit_step *as)
{
    const char *detail = r->detail ? r->detail : "";
    as->seq = seq;
    memcpy(as->prev_hash, prev, HS_AUDIT_HASH);
    hs_rc rc =
        record_hash(seq, r->at, r->actor, r->action, r->subject, detail, as->prev_hash, as->hash);
    if (rc != HS_OK)
        return rc;
    as->p[0] = hs_int(seq);
    as->p[1] = hs_int(r->at);
    as->p[2] = hs_text(r->actor);
    as->p[3] = hs_text(r->action);
    as->p[4] = hs_text(r->subject);
    as->p[5] = hs_text(detail);
    as->p[6] = hs_blob(as->prev_hash, HS_AUDIT_HASH);
    as->p[7] = hs_blob(as->hash, HS_AUDIT_HASH);
    return HS_OK;
}

static bool rec_ok(const struct hs_audit_rec *r)
{
    return r && r->actor && r->action && r->subject;
}

hs_rc hs_audit_step(struct hs_conn *c, const struct hs_audit_rec *r, struct hs_audit_step *as,
                    struct hs_step *step)
{
    if (!c || !rec_ok(r) || !as || !step)
        return HS_E_INVALID_ARG;
    if (!hs_conn_audit_tail(c)) {
        hm_log_error("audit: an audit step outside the committer's write function");
        return HS_E_INVALID_ARG;
    }
    int64_t n;
    uint8_t prev_hash[HS_AUDIT_HASH];
    hs_rc rc = head_get(c, lock_sql, &n, prev_hash);
    if (rc == HS_OK)
        rc = record_build(r, n + 1, prev_hash, as);
    if (rc != HS_OK)
        return rc;
    *step = (struct hs_step){
        .sql = insert_sql, .params = as->p, .nparams = 8, .changes = 1, .unchanged = HS_E_DB
    };
    return HS_OK;
}

void hs_audit_step_done(struct hs_conn *c, const struct hs_audit_step *as)
{
    struct hs_audit_tail *t = hs_conn_audit_tail(c);
    if (!t || !as || !t->valid || as->seq != t->seq + 1)
        return;
    t->seq = as->seq;
    memcpy(t->hash, as->hash, HS_AUDIT_HASH);
    t->dirty = true;
}

hs_rc hs_audit_append(struct hs_conn *c, const struct hs_audit_rec *r, int64_t *seq)
{
    if (!c || !rec_ok(r))
        return HS_E_INVALID_ARG;
    struct hs_audit_step as;
    hs_rc rc;
    if (hs_conn_audit_tail(c)) {
        /* In a batch the head is moved in memory and written once before COMMIT. */
        struct hs_step step;
        rc = hs_audit_step(c, r, &as, &step);
        if (rc == HS_OK)
            rc = hs_exec(c, step.sql, step.params, step.nparams, NULL);
        if (rc == HS_OK)
            hs_audit_step_done(c, &as);
    } else {
        /* Outside the committer the head row is moved here. */
        int64_t n;
        uint8_t prev_hash[HS_AUDIT_HASH];
        rc = head_get(c, "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash", &n,
                      prev_hash);
        if (rc == HS_OK)
            rc = record_build(r, n, prev_hash, &as);
        if (rc == HS_OK)
            rc = hs_exec(c, insert_sql, as.p, 8, NULL);
        const struct hs_val h[] = { hs_blob(as.hash, HS_AUDIT_HASH) };
        if (rc == HS_OK)
            rc = hs_exec(c, "UPDATE audit_head SET hash = $1 WHERE id = 1", h, 1, NULL);
    }
    if (rc == HS_OK && seq)
        *seq = as.seq;
    return rc;
}

/* ---- checkpoints --------------------------------------------------------- */

struct checkpoint_args {
    struct hs_signer *signer;
    int every;
    bool force;
    int64_t now;
    int64_t made; /* the checkpoint's seq, 0 when none was due */
};

static hs_rc checkpoint_payload(int64_t seq, const uint8_t hash[HS_AUDIT_HASH], int64_t at,
                                char **out)
{
    char h64[HS_B64URL_LEN(HS_AUDIT_HASH) + 1];
    hs_b64url_encode(hash, HS_AUDIT_HASH, h64);
    json_t *j = json_pack("{s:s, s:I, s:s, s:I}", "typ", "huimin-audit-checkpoint", "seq",
                          (json_int_t)seq, "hash", h64, "at", (json_int_t)at);
    *out = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return *out ? HS_OK : HS_E_NO_MEMORY;
}

static hs_rc checkpoint_fn(struct hs_conn *c, void *arg)
{
    struct checkpoint_args *a = arg;
    a->made = 0;
    struct hs_rows *last = NULL;
    char *payload = NULL, *token = NULL;
    int64_t seq;
    uint8_t hash[HS_AUDIT_HASH];
    /* The head as this batch has moved it (the row is written only before COMMIT). */
    hs_rc rc = head_get(c, lock_sql, &seq, hash);
    if (rc != HS_OK)
        goto out;
    rc = hs_exec(c, "SELECT MAX(seq) FROM audit_checkpoints", NULL, 0, &last);
    if (rc != HS_OK)
        goto out;
    int64_t done = hs_rows_int(last, 0, 0);
    if (seq <= done || (!a->force && seq - done < a->every))
        goto out; /* nothing new, or not yet due */
    rc = checkpoint_payload(seq, hash, a->now, &payload);
    if (rc != HS_OK)
        goto out;
    rc = hs_jws_sign(a->signer, "huimin-audit-checkpoint", (const uint8_t *)payload,
                     strlen(payload), &token);
    if (rc != HS_OK)
        goto out;
    const struct hs_val p[] = { hs_int(seq), hs_int(a->now), hs_blob(hash, HS_AUDIT_HASH),
                                hs_text(token) };
    rc = hs_exec(c, "INSERT INTO audit_checkpoints (seq, at, hash, jws) VALUES ($1, $2, $3, $4)", p,
                 4, NULL);
    if (rc == HS_OK)
        a->made = seq;
out:
    free(token);
    free(payload);
    hs_rows_free(last);
    return rc;
}

hs_rc hs_audit_checkpoint(struct hs_store *st, struct hs_signer *s, int every, bool force,
                          int64_t now)
{
    if (!st || !s)
        return HS_E_INVALID_ARG;
    struct checkpoint_args a = { s, every > 0 ? every : 1000, force, now, 0 };
    hs_rc rc = hs_store_write(st, checkpoint_fn, &a);
    if (rc == HS_OK && a.made)
        hm_log_debug("audit: signed checkpoint at record %" PRId64, a.made);
    return rc;
}

/* ---- verification -------------------------------------------------------- */

#define VERIFY_PAGE 1000

static hs_rc broken(struct hs_audit_report *rep, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hs_rc broken(struct hs_audit_report *rep, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
    rep->bad_seq = seq;
    return HS_E_AUDIT_BROKEN;
}

/* Checks one checkpoint's signature and that it names the chain's hash at its seq. */
static hs_rc verify_checkpoint(struct hs_conn *c, const uint8_t *cert, size_t cert_len, int64_t seq,
                               const char *jws, struct hs_audit_report *rep)
{
    uint8_t *payload = NULL;
    size_t plen = 0;
    hs_rc rc = hs_jws_verify(jws, strlen(jws), cert, cert_len, &payload, &plen, NULL);
    if (rc != HS_OK)
        return broken(rep, seq, "checkpoint at record %" PRId64 ": the signature does not verify",
                      seq);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)payload, plen, 0, &jerr);
    free(payload);
    json_int_t jseq = 0;
    const char *jhash = NULL;
    if (!j || json_unpack(j, "{s:I, s:s}", "seq", &jseq, "hash", &jhash) != 0 || jseq != seq) {
        json_decref(j);
        return broken(rep, seq, "checkpoint at record %" PRId64 ": its content is not valid", seq);
    }
    uint8_t want[HS_AUDIT_HASH];
    size_t wlen = 0;
    rc = hs_b64url_decode(jhash, strlen(jhash), want, sizeof(want), &wlen);
    json_decref(j);
    if (rc != HS_OK || wlen != HS_AUDIT_HASH)
        return broken(rep, seq, "checkpoint at record %" PRId64 ": its hash is not valid", seq);

    const struct hs_val p[] = { hs_int(seq) };
    struct hs_rows *r = NULL;
    rc = hs_exec(c, "SELECT hash FROM audit WHERE seq = $1", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    size_t hlen = 0;
    const uint8_t *h = hs_rows_blob(r, 0, 0, &hlen);
    bool ok = hs_rows_count(r) == 1 && hlen == HS_AUDIT_HASH && memcmp(h, want, wlen) == 0;
    hs_rows_free(r);
    if (!ok)
        return broken(rep, seq,
                      "record %" PRId64 ": the chain differs from the signed checkpoint there",
                      seq);
    rep->checkpoints++;
    return HS_OK;
}

hs_rc hs_audit_verify(struct hs_store *st, const uint8_t *cert_der, size_t cert_len,
                      struct hs_audit_report *rep)
{
    if (!st || !cert_der || !rep)
        return HS_E_INVALID_ARG;
    memset(rep, 0, sizeof(*rep));
    struct hs_conn *c = hs_store_reader(st);
    if (!c)
        return HS_E_DB;

    uint8_t prev[HS_AUDIT_HASH] = { 0 };
    int64_t expect = 1;
    hs_rc rc = HS_OK;
    for (;;) {
        const struct hs_val p[] = { hs_int(expect - 1), hs_int(VERIFY_PAGE) };
        struct hs_rows *r = NULL;
        rc = hs_exec(c,
                     "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit "
                     "WHERE seq > $1 ORDER BY seq LIMIT $2",
                     p, 2, &r);
        if (rc != HS_OK)
            return rc;
        int n = hs_rows_count(r);
        for (int i = 0; i < n && rc == HS_OK; i++) {
            int64_t seq = hs_rows_int(r, i, 0);
            size_t plen = 0, hlen = 0;
            const uint8_t *ph = hs_rows_blob(r, i, 6, &plen);
            const uint8_t *h = hs_rows_blob(r, i, 7, &hlen);
            uint8_t calc[HS_AUDIT_HASH];
            if (seq != expect) {
                rc = broken(rep, expect,
                            seq > expect ? "record %" PRId64 " is missing (deleted)"
                                         : "record %" PRId64 " is out of order",
                            expect);
            } else if (plen != HS_AUDIT_HASH || memcmp(ph, prev, HS_AUDIT_HASH) != 0) {
                rc = broken(rep, seq,
                            "record %" PRId64 ": it does not follow the record before it "
                            "(removed, inserted or reordered)",
                            seq);
            } else if (record_hash(seq, hs_rows_int(r, i, 1), hs_rows_text(r, i, 2),
                                   hs_rows_text(r, i, 3), hs_rows_text(r, i, 4),
                                   hs_rows_text(r, i, 5), prev, calc) != HS_OK) {
                rc = HS_E_CRYPTO;
            } else if (hlen != HS_AUDIT_HASH || memcmp(calc, h, HS_AUDIT_HASH) != 0) {
                rc = broken(rep, seq, "record %" PRId64 ": its content was changed", seq);
            } else {
                memcpy(prev, calc, HS_AUDIT_HASH);
                rep->records++;
                expect = seq + 1;
            }
        }
        hs_rows_free(r);
        if (rc != HS_OK)
            return rc;
        if (n < VERIFY_PAGE)
            break;
    }

    /* The head must name the last record: records cut off the end are found here. */
    struct hs_rows *head = NULL;
    rc = hs_exec(c, "SELECT seq, hash FROM audit_head WHERE id = 1", NULL, 0, &head);
    if (rc != HS_OK)
        return rc;
    size_t hlen = 0;
    const uint8_t *hh = hs_rows_blob(head, 0, 1, &hlen);
    int64_t hseq = hs_rows_int(head, 0, 0);
    bool head_ok = hs_rows_count(head) == 1 && hseq == expect - 1 && hlen == HS_AUDIT_HASH &&
                   memcmp(hh, prev, HS_AUDIT_HASH) == 0;
    hs_rows_free(head);
    if (!head_ok)
        return broken(rep, expect,
                      hseq >= expect ? "record %" PRId64 " and later are missing (deleted)"
                                     : "record %" PRId64 ": the chain head does not match",
                      expect);

    struct hs_rows *cps = NULL;
    rc = hs_exec(c, "SELECT seq, jws FROM audit_checkpoints ORDER BY seq", NULL, 0, &cps);
    if (rc != HS_OK)
        return rc;
    for (int i = 0; i < hs_rows_count(cps) && rc == HS_OK; i++) {
        int64_t seq = hs_rows_int(cps, i, 0);
        if (seq >= expect)
            rc = broken(rep, seq,
                        "record %" PRId64 ": a signed checkpoint names it but it is missing", seq);
        else
            rc = verify_checkpoint(c, cert_der, cert_len, seq, hs_rows_text(cps, i, 1), rep);
    }
    hs_rows_free(cps);
    return rc;
}
