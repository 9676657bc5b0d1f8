/* The benefits a resident sees and acts on at a kiosk (issue 7): the signed status of a card
 * session, payment confirmations proved by the card (exactly once, with a signed receipt) and
 * disputes queued for hall staff. docs/API.md "Benefits" is the contract. */
#include "api_int.h"
#include "jsonw.h"

#include "hs/audit.h"
#include "hs/import.h"
#include "hs/jws.h"

#include "cl/piv.h"

#include "hm/log.h"
#include "hm/util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATEMENT_MAX     1024 /* bytes of a confirmation statement: ~230 in practice */
#define CARD_SIG_MAX      512  /* a DER ECDSA signature (or an RSA-2048 one) */
#define CLOCK_SKEW_S      300  /* how far ahead of the server a kiosk's clock may be */
#define ID_BYTES          12   /* receipts, disputes, exceptions: 16 base64url characters */
#define ID_TEXT           17   /* HS_B64URL_LEN(12) + NUL */
#define NOTE_MAX          500  /* bytes of a dispute's note */
#define STATUS_MONTHS     12   /* payments shown: this many months, the current one included */
#define STATEMENT_MEMBERS 9

static_assert(HS_B64URL_LEN(ID_BYTES) + 1 == ID_TEXT, "id text length");

/* ---- names of the stored enums (hs/import.h) ------------------------------ */

static const char *payment_status_name(int64_t s)
{
    switch (s) {
    case HS_PAY_SCHEDULED:
        return "scheduled";
    case HS_PAY_PAID:
        return "paid";
    case HS_PAY_CONFIRMED:
        return "confirmed";
    case HS_PAY_DISPUTED:
        return "disputed";
    case HS_PAY_RETURNED:
        return "returned";
    default:
        return "unknown";
    }
}

static const char *entitlement_status_name(int64_t s)
{
    switch (s) {
    case HS_ENT_ACTIVE:
        return "active";
    case HS_ENT_PHASE_OUT:
        return "phase_out";
    case HS_ENT_SUSPENDED:
        return "suspended";
    case HS_ENT_STOPPED:
        return "stopped";
    default:
        return "unknown";
    }
}

/* ---- small helpers ----------------------------------------------------------- */

static bool random_id(char out[ID_TEXT])
{
    return hs_api_random_id(out, ID_BYTES);
}

/*
 * A receipt id: the second it was made (4 bytes, big-endian) and 8 random
 * bytes, 16 base64url characters. Receipts made close together sort close
 * together, so their entries in confirmations' receipt_id index share leaf
 * pages (a fully random id dirtied a page of its own in every commit). The
 * time is no secret (the receipt says iat); 64 random bits keep ids unguessable.
 */
static bool receipt_id_new(char out[ID_TEXT], int64_t now)
{
    uint8_t raw[ID_BYTES];
    uint32_t t = now > 0 && now <= (int64_t)UINT32_MAX ? (uint32_t)now : 0;
    raw[0] = (uint8_t)(t >> 24);
    raw[1] = (uint8_t)(t >> 16);
    raw[2] = (uint8_t)(t >> 8);
    raw[3] = (uint8_t)t;
    /* The first character is the top 6 bits of raw[0]: never '-' or '_' (62, 63). */
    if ((raw[0] >> 2) >= 62 || RAND_bytes(raw + 4, ID_BYTES - 4) != 1)
        return random_id(out);
    hs_b64url_encode(raw, ID_BYTES, out);
    return true;
}

static bool sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/* A text column that may be NULL, as a JSON string or null. */

/* ---- card sessions and residents --------------------------------------------- */

/*
 * Whether a card_sessions row (kiosk_id, cert_serial, welfare_no, expires_at
 * as its first columns; none when r is empty) is a current session of this
 * kiosk: ERR_COUNT when it is, else the error to answer.
 */
static enum api_err session_row_check(struct hs_api *api, const struct hs_rows *r,
                                      const struct hs_api_kiosk *k)
{
    if (hs_rows_count(r) == 0)
        return ERR_SESSION_UNKNOWN;
    if (strcmp(hs_rows_text(r, 0, 0), k->id) != 0)
        return ERR_SESSION_KIOSK;
    if (hs_rows_int(r, 0, 3) <= hs_api_now(api))
        return ERR_SESSION_EXPIRED;
    return ERR_COUNT;
}

static void session_row_copy(const struct hs_rows *r, const char *id, struct hs_api_session *out)
{
    hm_strlcpy(out->id, id, sizeof(out->id));
    hm_strlcpy(out->cert_serial, hs_rows_text(r, 0, 1), sizeof(out->cert_serial));
    hm_strlcpy(out->welfare_no, hs_rows_text(r, 0, 2), sizeof(out->welfare_no));
    out->expires_at = hs_rows_int(r, 0, 3);
}

bool hs_api_session_get(struct hs_api *api, struct hs_http_response *res,
                        const struct hs_api_kiosk *k, const char *id, struct hs_api_session *out)
{
    const struct hs_val p[] = { hs_text(id) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT kiosk_id, cert_serial, welfare_no, expires_at FROM card_sessions WHERE "
                    "id = $1",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    enum api_err e = session_row_check(api, r, k);
    if (e == ERR_COUNT)
        session_row_copy(r, id, out);
    hs_rows_free(r);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        return false;
    }
    return true;
}

struct resident {
    char id[32];
    char name[128];
    char welfare_no[32];
    int64_t flags;
};

/* The resident holding a welfare number, or replies with the error (false). */
static bool resident_get(struct hs_api *api, struct hs_http_response *res, const char *welfare_no,
                         struct resident *out)
{
    const struct hs_val p[] = { hs_text(welfare_no) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api, "SELECT id, name, welfare_no, flags FROM residents WHERE welfare_no = $1",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        hs_api_reply_error(api, res, ERR_RESIDENT_UNKNOWN, NULL);
        return false;
    }
    hm_strlcpy(out->id, hs_rows_text(r, 0, 0), sizeof(out->id));
    hm_strlcpy(out->name, hs_rows_text(r, 0, 1), sizeof(out->name));
    hm_strlcpy(out->welfare_no, hs_rows_text(r, 0, 2), sizeof(out->welfare_no));
    out->flags = hs_rows_int(r, 0, 3);
    hs_rows_free(r);
    return true;
}

struct payment {
    char id[64];
    char period[8];
    int64_t amount_fen;
    int64_t status;
};

/* A payment of this resident, or replies with payment_unknown / payment_not_yours (false). */
static bool payment_get(struct hs_api *api, struct hs_http_response *res, const char *id,
                        const struct resident *who, struct payment *out)
{
    const struct hs_val p[] = { hs_text(id) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT py.period, py.amount_fen, py.status, e.resident_id FROM payments py "
                    "JOIN entitlements e ON e.id = py.entitlement_id WHERE py.id = $1",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    enum api_err e = ERR_COUNT;
    if (hs_rows_count(r) == 0)
        e = ERR_PAYMENT_UNKNOWN;
    else if (strcmp(hs_rows_text(r, 0, 3), who->id) != 0)
        e = ERR_PAYMENT_NOT_YOURS;
    if (e == ERR_COUNT) {
        hm_strlcpy(out->id, id, sizeof(out->id));
        hm_strlcpy(out->period, hs_rows_text(r, 0, 0), sizeof(out->period));
        out->amount_fen = hs_rows_int(r, 0, 1);
        out->status = hs_rows_int(r, 0, 2);
    }
    hs_rows_free(r);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        return false;
    }
    return true;
}

/* ---- POST /v1/status --------------------------------------------------------- */

/* "YYYY-MM" of the current month and of the first month shown; the current year. */
static void calendar(int64_t now, char cur[8], char from[8], int *year)
{
    time_t t = (time_t)now;
    struct tm tm;
    localtime_r(&t, &tm);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)tm.tm_mon % 12u;
    unsigned back = y * 12u + m + 12u * 10000u - (STATUS_MONTHS - 1);
    snprintf(cur, 8, "%04u-%02u", y, m + 1u);
    snprintf(from, 8, "%04u-%02u", (back / 12u) % 10000u, back % 12u + 1u);
    *year = (int)y;
}

static const char *text_or_null(const struct hs_rows *r, int row, int col)
{
    return hs_rows_is_null(r, row, col) ? NULL : hs_rows_text(r, row, col);
}

/*
 * The columns of status_write's one query: entitlements (ST_KIND 0) and
 * payments (1) in a UNION ALL, as alike as their types allow.
 */
enum {
    ST_KIND,
    ST_ID,
    ST_PROG,
    ST_PROG_NAME,
    ST_AMOUNT,
    ST_PERIOD,
    ST_STATUS,
    ST_START_OR_PAID, /* entitlement start_date, payment paid_date */
    ST_END_OR_CHANNEL,
    ST_REASON_OR_ACCOUNT,
    ST_ENTITLEMENT, /* payments: their entitlement */
};

/* Members are written in sorted order, as jansson's JSON_SORT_KEYS would. */
static void status_entitlements(const struct hs_rows *r, int from, int to, struct hs_jw *w)
{
    hs_jw_key(w, "entitlements");
    hs_jw_arr(w);
    for (int i = from; i < to; i++) {
        hs_jw_obj(w);
        hs_jw_kint(w, "amount_fen", hs_rows_int(r, i, ST_AMOUNT));
        hs_jw_kstr(w, "end", text_or_null(r, i, ST_END_OR_CHANNEL));
        hs_jw_kstr(w, "id", hs_rows_text(r, i, ST_ID));
        hs_jw_kstr(w, "period", hs_rows_text(r, i, ST_PERIOD));
        hs_jw_kstr(w, "programme", hs_rows_text(r, i, ST_PROG));
        hs_jw_kstr(w, "programme_name", hs_rows_text(r, i, ST_PROG_NAME));
        hs_jw_kstr(w, "reason", hs_rows_text(r, i, ST_REASON_OR_ACCOUNT));
        hs_jw_kstr(w, "start", hs_rows_text(r, i, ST_START_OR_PAID));
        hs_jw_kstr(w, "status", entitlement_status_name(hs_rows_int(r, i, ST_STATUS)));
        hs_jw_end_obj(w);
    }
    hs_jw_end_arr(w);
}

static void status_payment(const struct hs_rows *r, int i, struct hs_jw *w)
{
    hs_jw_obj(w);
    hs_jw_kstr(w, "account", hs_rows_text(r, i, ST_REASON_OR_ACCOUNT));
    hs_jw_kint(w, "amount_fen", hs_rows_int(r, i, ST_AMOUNT));
    hs_jw_kstr(w, "channel", hs_rows_text(r, i, ST_END_OR_CHANNEL));
    hs_jw_kstr(w, "entitlement", hs_rows_text(r, i, ST_ENTITLEMENT));
    hs_jw_kstr(w, "id", hs_rows_text(r, i, ST_ID));
    hs_jw_kstr(w, "paid_date", text_or_null(r, i, ST_START_OR_PAID));
    hs_jw_kstr(w, "period", hs_rows_text(r, i, ST_PERIOD));
    hs_jw_kstr(w, "programme", hs_rows_text(r, i, ST_PROG));
    hs_jw_kstr(w, "programme_name", hs_rows_text(r, i, ST_PROG_NAME));
    hs_jw_kstr(w, "status", payment_status_name(hs_rows_int(r, i, ST_STATUS)));
    hs_jw_end_obj(w);
}

/*
 * The status's one read (a round trip on PostgreSQL): the card session with
 * its resident (ST_KIND -1, the columns in the ST_SESSION_* layout, none when
 * there is no such session), then the entitlements (0) and payments (1) of
 * the session's resident (who, found once), payments newest period first.
 * The months shown hold this year's and the next payment too (from is at
 * most eleven months back); older payments matter only while they await
 * confirmation. The session is judged from its row (status_session) before
 * anything else of the answer is looked at.
 */
static const char status_sql[] =
    "WITH who AS (SELECT r.id FROM card_sessions s JOIN residents r "
    "ON r.welfare_no = s.welfare_no WHERE s.id = $1) "
    "SELECT -1 AS k, r.id AS id, s.kiosk_id, r.name, s.expires_at, s.welfare_no, r.flags, "
    "s.cert_serial, CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), '' AS s "
    "FROM card_sessions s LEFT JOIN residents r ON r.welfare_no = s.welfare_no WHERE s.id = $1 "
    "UNION ALL "
    "SELECT 0, e.id, e.programme, pr.name, e.amount_fen, e.period, e.status, "
    "e.start_date, e.end_date, e.reason, CAST(NULL AS TEXT), '' FROM entitlements e "
    "JOIN programmes pr ON pr.code = e.programme WHERE e.resident_id = (SELECT id FROM who) "
    "UNION ALL "
    "SELECT 1, py.id, e.programme, pr.name, py.amount_fen, py.period, py.status, "
    "py.paid_date, py.channel, py.account_masked, py.entitlement_id, py.period "
    "FROM payments py JOIN entitlements e ON e.id = py.entitlement_id "
    "JOIN programmes pr ON pr.code = e.programme WHERE e.resident_id = (SELECT id FROM who) "
    "AND (py.period >= $2 OR py.status = $3) ORDER BY k, s DESC, id";

/* The session row's columns (ST_KIND -1). */
enum {
    ST_SESSION_RESIDENT = ST_ID,
    ST_SESSION_KIOSK = ST_PROG,
    ST_SESSION_NAME = ST_PROG_NAME,
    ST_SESSION_EXPIRES = ST_AMOUNT,
    ST_SESSION_WELFARE_NO = ST_PERIOD,
    ST_SESSION_FLAGS = ST_STATUS,
    ST_SESSION_SERIAL = ST_START_OR_PAID,
};

/*
 * The session of the status's first row, or the error to answer (ERR_COUNT:
 * a current session of this kiosk, with its resident): the checks and their
 * order are session_row_check()'s, then resident_unknown.
 */
static enum api_err status_session(struct hs_api *api, const struct hs_rows *r,
                                   const struct hs_api_kiosk *k, const char *sid,
                                   struct hs_api_session *s, struct resident *who)
{
    if (hs_rows_count(r) == 0 || hs_rows_int(r, 0, ST_KIND) != -1)
        return ERR_SESSION_UNKNOWN;
    if (strcmp(hs_rows_text(r, 0, ST_SESSION_KIOSK), k->id) != 0)
        return ERR_SESSION_KIOSK;
    if (hs_rows_int(r, 0, ST_SESSION_EXPIRES) <= hs_api_now(api))
        return ERR_SESSION_EXPIRED;
    if (hs_rows_is_null(r, 0, ST_SESSION_RESIDENT))
        return ERR_RESIDENT_UNKNOWN;
    hm_strlcpy(s->id, sid, sizeof(s->id));
    hm_strlcpy(s->cert_serial, hs_rows_text(r, 0, ST_SESSION_SERIAL), sizeof(s->cert_serial));
    hm_strlcpy(s->welfare_no, hs_rows_text(r, 0, ST_SESSION_WELFARE_NO), sizeof(s->welfare_no));
    s->expires_at = hs_rows_int(r, 0, ST_SESSION_EXPIRES);
    hm_strlcpy(who->id, hs_rows_text(r, 0, ST_SESSION_RESIDENT), sizeof(who->id));
    hm_strlcpy(who->name, hs_rows_text(r, 0, ST_SESSION_NAME), sizeof(who->name));
    hm_strlcpy(who->welfare_no, s->welfare_no, sizeof(who->welfare_no));
    who->flags = hs_rows_int(r, 0, ST_SESSION_FLAGS);
    return ERR_COUNT;
}

/*
 * The status from the rows of status_sql after the session's (from `first`
 * on): entitlements, the payments (periods from `from` on, newest first), the
 * ids awaiting confirmation, the next scheduled payment and the year's total.
 */
static void status_write(const struct hs_rows *r, int first, const struct hs_api_kiosk *k,
                         const struct hs_api_session *s, const struct resident *who, int64_t now,
                         const char *from, int year, struct hs_jw *w)
{
    char year_prefix[8];
    snprintf(year_prefix, sizeof(year_prefix), "%04d-", year % 10000);
    int split = first, n = hs_rows_count(r);
    while (split < n && hs_rows_int(r, split, ST_KIND) == 0)
        split++;
    int64_t total = 0;
    int next = -1;
    for (int i = split; i < n; i++) {
        int64_t st = hs_rows_int(r, i, ST_STATUS);
        if ((st == HS_PAY_PAID || st == HS_PAY_CONFIRMED || st == HS_PAY_DISPUTED) &&
            strncmp(hs_rows_text(r, i, ST_PERIOD), year_prefix, 5) == 0)
            total += hs_rows_int(r, i, ST_AMOUNT);
        /* Rows come newest first: the last scheduled one seen is the earliest. */
        if (st == HS_PAY_SCHEDULED)
            next = i;
    }
    hs_jw_obj(w);
    hs_jw_key(w, "awaiting_confirmation");
    hs_jw_arr(w);
    for (int i = split; i < n; i++)
        if (hs_rows_int(r, i, ST_STATUS) == HS_PAY_PAID)
            hs_jw_str(w, hs_rows_text(r, i, ST_ID));
    hs_jw_end_arr(w);
    status_entitlements(r, first, split, w);
    hs_jw_kint(w, "exp", s->expires_at);
    hs_jw_kint(w, "iat", now);
    hs_jw_kstr(w, "kiosk", k->id);
    hs_jw_key(w, "next_payment");
    if (next < 0) {
        hs_jw_null(w);
    } else {
        hs_jw_obj(w);
        hs_jw_kint(w, "amount_fen", hs_rows_int(r, next, ST_AMOUNT));
        hs_jw_kstr(w, "id", hs_rows_text(r, next, ST_ID));
        hs_jw_kstr(w, "period", hs_rows_text(r, next, ST_PERIOD));
        hs_jw_kstr(w, "programme", hs_rows_text(r, next, ST_PROG));
        hs_jw_kstr(w, "programme_name", hs_rows_text(r, next, ST_PROG_NAME));
        hs_jw_kstr(w, "status", "scheduled");
        hs_jw_end_obj(w);
    }
    hs_jw_key(w, "payments");
    hs_jw_arr(w);
    for (int i = split; i < n; i++)
        if (strcmp(hs_rows_text(r, i, ST_PERIOD), from) >= 0)
            status_payment(r, i, w);
    hs_jw_end_arr(w);
    hs_jw_key(w, "resident");
    hs_jw_obj(w);
    hs_jw_kstr(w, "id", who->id);
    hs_jw_kstr(w, "name", who->name);
    hs_jw_kbool(w, "tap_only", (who->flags & HS_RESIDENT_TAP_ONLY) != 0);
    hs_jw_kstr(w, "welfare_no", who->welfare_no);
    hs_jw_end_obj(w);
    hs_jw_kstr(w, "session", s->id);
    hs_jw_kint(w, "year_total_fen", total);
    hs_jw_end_obj(w);
}

void hs_api_h_status(struct hs_api *api, const struct hs_http_request *req,
                     struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    struct hm_buf text;
    hm_buf_init(&text, HS_JWS_MAX);
    struct hs_rows *r = NULL;
    const char *sid = hs_api_json_str(body, "session", HS_NONCE_TEXT - 1);
    if (!sid) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, "session: the card session's id");
        goto out;
    }
    int64_t now = hs_api_now(api);
    char cur[8], from[8];
    int year;
    calendar(now, cur, from, &year);
    const struct hs_val p[] = { hs_text(sid), hs_text(from), hs_int(HS_PAY_PAID) };
    if (hs_api_read(api, status_sql, p, 3, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        goto out;
    }
    struct hs_api_session s;
    struct resident who;
    enum api_err e = status_session(api, r, k, sid, &s, &who);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        goto out;
    }
    struct hs_jw w;
    hs_jw_init(&w, &text);
    status_write(r, 1, k, &s, &who, now, from, year, &w);
    if (!hs_jw_ok(&w)) {
        hm_log_error("status of a resident could not be written (not UTF-8, or too large)");
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    hs_api_reply_signed_text(api, res, 200, "huimin-status", (const char *)text.data, text.len);
out:
    hs_rows_free(r);
    hm_buf_free(&text);
    json_decref(body);
}

/* ---- POST /v1/confirmations -------------------------------------------------- */

/* The statement's members, once it parsed and was found canonical. */
struct statement {
    int64_t amount_fen, time;
    char kiosk[64];
    char nonce[HS_NONCE_TEXT];
    char payment[64];
    char period[8];
    char welfare_no[32];
};

struct confirm {
    struct cl_piv_evidence ev; /* the certificate and the signature; no challenge */
    uint8_t stmt[STATEMENT_MAX];
    size_t stmt_len;
    uint8_t stmt_sha[32];
    bool tap; /* 9E */
    const char *session_id;
    struct statement st;
};

static bool copy_member(json_t *o, const char *key, char *out, size_t cap)
{
    const char *s = hs_api_json_str(o, key, cap - 1);
    return s && hm_strlcpy(out, s, cap) < cap;
}

/*
 * Parses the statement: JSON, exactly the members of docs/API.md with the
 * right types, and canonical (jansson's compact, sorted encoding of what it
 * says gives back the same bytes). detail gets the reason on failure.
 */
static bool statement_parse(const uint8_t *b, size_t n, struct statement *out, char *detail,
                            size_t cap)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &jerr);
    char *again = NULL;
    bool ok = false;
    if (!j || !json_is_object(j)) {
        snprintf(detail, cap, "the statement is not a JSON object");
        goto out;
    }
    json_t *typ = json_object_get(j, "typ"), *v = json_object_get(j, "v");
    json_t *amount = json_object_get(j, "amount_fen"), *t = json_object_get(j, "time");
    if (json_object_size(j) != STATEMENT_MEMBERS || !json_is_string(typ) ||
        strcmp(json_string_value(typ), "huimin-confirmation") != 0 || !json_is_integer(v) ||
        json_integer_value(v) != 1 || !json_is_integer(amount) || json_integer_value(amount) <= 0 ||
        !json_is_integer(t) || json_integer_value(t) <= 0 ||
        !copy_member(j, "kiosk", out->kiosk, sizeof(out->kiosk)) ||
        !copy_member(j, "nonce", out->nonce, sizeof(out->nonce)) ||
        strlen(out->nonce) != HS_NONCE_TEXT - 1 ||
        !copy_member(j, "payment", out->payment, sizeof(out->payment)) ||
        !copy_member(j, "period", out->period, sizeof(out->period)) ||
        !copy_member(j, "welfare_no", out->welfare_no, sizeof(out->welfare_no))) {
        snprintf(detail, cap,
                 "the statement must have exactly amount_fen, kiosk, nonce, payment, period, "
                 "time, typ (\"huimin-confirmation\"), v (1) and welfare_no");
        goto out;
    }
    int32_t month;
    if (!hs_import_parse_month(out->period, &month)) {
        snprintf(detail, cap, "the statement's period is not YYYY-MM");
        goto out;
    }
    out->amount_fen = (int64_t)json_integer_value(amount);
    out->time = (int64_t)json_integer_value(t);
    again = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!again || strlen(again) != n || memcmp(again, b, n) != 0) {
        snprintf(detail, cap,
                 "the statement is not canonical (compact JSON with sorted keys, as jansson "
                 "JSON_COMPACT|JSON_SORT_KEYS writes it)");
        goto out;
    }
    ok = true;
out:
    free(again);
    json_decref(j);
    return ok;
}

/* A confirmation stored for a payment: its statement and receipt (malloc'd), or none. */
struct stored {
    bool found;
    bool same; /* its statement has the bytes of ours */
    char *receipt;
};

static hs_rc stored_get(struct hs_api *api, const char *payment, const uint8_t *stmt, size_t n,
                        struct stored *out)
{
    memset(out, 0, sizeof(*out));
    const struct hs_val p[] = { hs_text(payment) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_api_read(
        api, "SELECT statement, receipt FROM confirmations WHERE payment_id = $1", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 1) {
        size_t len = 0;
        const uint8_t *b = hs_rows_blob(r, 0, 0, &len);
        out->found = true;
        out->same = b && len == n && memcmp(b, stmt, n) == 0;
        out->receipt = strdup(hs_rows_text(r, 0, 1));
        if (!out->receipt)
            rc = HS_E_NO_MEMORY;
    }
    hs_rows_free(r);
    return rc;
}

/* Answers with a stored confirmation: 200 and its receipt for the same statement, 409
 * already_confirmed (the receipt in detail) for another one. */
static void reply_stored(struct hs_api *api, struct hs_http_response *res, const struct stored *s)
{
    if (s->found && s->same)
        hs_api_reply_token(api, res, 200, s->receipt);
    else
        hs_api_reply_error(api, res, ERR_ALREADY_CONFIRMED, s->found ? s->receipt : NULL);
}

/* What the card's certificate and signature proved, judged before the database is read. */
struct card_verdict {
    enum api_err err; /* ERR_COUNT: the certificate is good (the signature is sig_ok) */
    char detail[CL_CHECK_REASON_MAX + 64];
    bool sig_ok;
    struct hs_certinfo info;
};

/*
 * The card's evidence, as far as it needs no database: the certificate chains
 * to the issuer CA, is valid, allows signatures and is not revoked
 * (cl_piv_verify_with, the statement as what was signed, or the certificate
 * cache), and whether the card signed SHA-256 of the statement with the
 * certified key. card_judge() adds the registry.
 */
static void card_verify(struct hs_api *api, const struct confirm *cf, struct card_verdict *cv)
{
    const struct cl_piv_evidence *ev = &cf->ev;
    int64_t now = hs_api_now(api);
    struct cl_verdict verdict;
    memset(cv, 0, sizeof(*cv));
    cv->err = ERR_COUNT;
    /* A certificate verified moments ago (the same card, another payment) is not
     * verified again until the cache says so; see certcache.h. */
    hs_rc cached_sig = hs_certcache_check(&api->certs, ev->cert, ev->cert_len, now, cf->stmt,
                                          cf->stmt_len, ev->sig, ev->sig_len, &cv->info);
    if (cached_sig != HS_E_NOT_FOUND) {
        cv->sig_ok = cached_sig == HS_OK;
        return;
    }
    uint64_t gen = 0;
    struct cl_piv_verifier *vf = hs_certcache_verifier(&api->certs, &gen);
    if (!vf) {
        hm_log_error("the issuer CA %s (or its CRL) does not load", api->d.cfg->issuer_ca);
        cv->err = ERR_INTERNAL;
        hm_strlcpy(cv->detail, "the issuer CA could not be loaded", sizeof(cv->detail));
        return;
    }
    struct cl_piv_cert_info ci;
    cl_rc crc = cl_piv_verify_with(vf, now, ev, cf->stmt, cf->stmt_len, &verdict, &ci);
    cl_piv_verifier_free(vf);
    const struct cl_check *pos = cl_verdict_get(&verdict, "possession");
    cv->sig_ok = crc == CL_OK && pos && pos->state == CL_CHECK_PASSED;
    cl_verdict_set(&verdict, "possession", CL_CHECK_NOT_CHECKED, "judged after the registry");
    static const char *const must[] = { "chain", "validity", "key-usage" };
    if (crc != CL_OK || !cl_verdict_all_passed(&verdict, must, HM_ARRAY_SIZE(must)) ||
        cl_verdict_first_failure(&verdict)) {
        const struct cl_check *f = crc == CL_OK ? cl_verdict_first_failure(&verdict) : NULL;
        snprintf(cv->detail, sizeof(cv->detail), "%s: %s", f ? f->name : "verify",
                 f ? f->reason : (crc == CL_OK ? "a check did not pass" : cl_strerror(crc)));
        const struct cl_check *rev = cl_verdict_get(&verdict, "revocation");
        cv->err = crc == CL_OK && rev && rev->state == CL_CHECK_FAILED ? ERR_CARD_REVOKED
                                                                       : ERR_CARD_NOT_GENUINE;
        cl_piv_cert_info_clear(&ci);
        return;
    }
    /* What the registry check needs of the certificate, as the verification read it. */
    hm_strlcpy(cv->info.welfare_no, ci.welfare_no, sizeof(cv->info.welfare_no));
    hm_strlcpy(cv->info.serial, ci.serial, sizeof(cv->info.serial));
    if (cv->info.welfare_no[0] && cv->info.serial[0] &&
        strcmp(cv->info.welfare_no, cf->st.welfare_no) == 0)
        hs_certcache_put(&api->certs, ev->cert, ev->cert_len, &cv->info, ci.key, ci.not_after, now,
                         gen);
    cl_piv_cert_info_clear(&ci);
}

/* The registry's row for the card (card_read): found, its status and welfare number. */
struct card_row {
    bool found;
    int64_t status;
    char welfare_no[32];
};

/* Whether the registry needs asking: only for a certificate that names the statement's holder. */
static bool card_needs_row(const struct confirm *cf, const struct card_verdict *cv)
{
    return cv->err == ERR_COUNT && cv->info.serial[0] &&
           strcmp(cv->info.welfare_no, cf->st.welfare_no) == 0;
}

/* The registry has the last word on revocation (a lost card is revoked there first). */
static hs_rc card_read(struct hs_conn *c, const struct confirm *cf, const struct card_verdict *cv,
                       struct card_row *out)
{
    memset(out, 0, sizeof(*out));
    struct hs_rows *r = NULL;
    const struct hs_val key[] = { hs_text(cf->tap ? cv->info.serial : cv->info.welfare_no) };
    hs_rc rc = hs_exec(c,
                       cf->tap ? "SELECT status, welfare_no FROM cards WHERE cert_serial = $1"
                               : "SELECT status, welfare_no FROM cards WHERE welfare_no = $1 "
                                 "ORDER BY status",
                       key, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) > 0) { /* 9C: active cards sort first */
        out->found = true;
        out->status = hs_rows_int(r, 0, 0);
        hm_strlcpy(out->welfare_no, hs_rows_text(r, 0, 1), sizeof(out->welfare_no));
    }
    hs_rows_free(r);
    return HS_OK;
}

/*
 * The card's evidence in full: card_verify()'s verdict, the certificate names
 * the statement's welfare number, the registry has the card (9E: this very
 * card; 9C: an active card of this resident), and the signature (judged after
 * the registry, so an unknown card reads as unknown, not as a bad signature).
 * ERR_COUNT when all hold, else the error, with *detail.
 */
static enum api_err card_judge(const struct hs_api_kiosk *k, const struct confirm *cf,
                               const struct card_verdict *cv, const struct card_row *row,
                               const char **detail)
{
    *detail = NULL;
    if (cv->err != ERR_COUNT) {
        if (cv->err != ERR_INTERNAL)
            hm_log_info("kiosk %s: confirmation card refused: %s", k->id, cv->detail);
        *detail = cv->detail;
        return cv->err;
    }
    if (!cv->info.welfare_no[0] || strcmp(cv->info.welfare_no, cf->st.welfare_no) != 0) {
        *detail = "the certificate does not name the statement's welfare number";
        return ERR_CARD_NOT_GENUINE;
    }
    if (!cv->info.serial[0]) {
        *detail = "the certificate has no usable serial";
        return ERR_CARD_NOT_GENUINE;
    }
    if (!row->found)
        return ERR_CARD_UNKNOWN;
    if (row->status != HS_CARD_ACTIVE)
        return ERR_CARD_REVOKED;
    if (strcmp(row->welfare_no, cv->info.welfare_no) != 0)
        return ERR_CARD_NOT_GENUINE;
    if (!cv->sig_ok) {
        hm_log_info("kiosk %s: confirmation signature refused: %s", k->id,
                    cl_strerror(CL_E_SIGNATURE_INVALID));
        *detail = "the signature is not the certified key's over SHA-256 of the statement";
        return ERR_SIGNATURE_INVALID;
    }
    return ERR_COUNT;
}

struct confirm_write {
    const struct confirm *cf;
    const char *kiosk, *receipt_id, *receipt;
    int64_t now;
};

/*
 * One transaction: the payment moves paid -> confirmed (the conditional
 * UPDATE decides a race: exactly one caller changes the row, and the primary
 * key of confirmations backs it), the nonce is used, the confirmation is
 * stored and audited. HS_E_CONFLICT when the payment is no longer paid. The
 * four statements are steps (hs_exec_steps): one round trip on PostgreSQL,
 * where they were four.
 */
static hs_rc confirm_fn(struct hs_conn *c, void *arg)
{
    const struct confirm_write *a = arg;
    const struct confirm *cf = a->cf;
    char actor[80], detail[160];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    snprintf(detail, sizeof(detail), "{\"proof\":\"%s\",\"receipt\":\"%s\"}",
             cf->tap ? "tap" : "pin", a->receipt_id);
    const struct hs_audit_rec rec = { .actor = actor,
                                      .action = "payment.confirm",
                                      .subject = cf->st.payment,
                                      .detail = detail,
                                      .at = a->now };
    const struct hs_val pu[] = { hs_text(cf->st.payment), hs_int(a->now), hs_int(HS_PAY_CONFIRMED),
                                 hs_int(HS_PAY_PAID) };
    const struct hs_val pi[] = {
        hs_text(cf->st.payment),
        hs_text(a->receipt_id),
        hs_blob(cf->stmt, cf->stmt_len),
        hs_blob(cf->stmt_sha, sizeof(cf->stmt_sha)),
        hs_blob(cf->ev.sig, cf->ev.sig_len),
        hs_blob(cf->ev.cert, cf->ev.cert_len),
        hs_text(cf->tap ? "9e" : "9c"),
        hs_text(cf->tap ? "tap" : "pin"),
        hs_text(cf->st.nonce),
        hs_text(a->kiosk),
        hs_text(cf->session_id),
        hs_int(a->now),
        hs_text(a->receipt),
    };
    enum { STEP_PAYMENT, STEP_NONCE, STEP_STORE, STEP_AUDIT, STEPS };
    struct hs_step steps[STEPS] = {
        [STEP_PAYMENT] = { .sql = "UPDATE payments SET status = $3, updated_at = $2 WHERE id = $1 "
                                  "AND status = $4",
                           .params = pu,
                           .nparams = 4,
                           .changes = 1,
                           .unchanged = HS_E_CONFLICT },
        /* a confirmation already stored for the payment is the race's other winner */
        [STEP_STORE] = { .sql = "INSERT INTO confirmations (payment_id, receipt_id, statement, "
                                "statement_sha256, signature, cert, key_ref, proof, nonce, "
                                "kiosk_id, session_id, at, receipt) VALUES ($1, $2, $3, $4, $5, "
                                "$6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
                         .params = pi,
                         .nparams = 13,
                         .changes = 1,
                         .unchanged = HS_E_CONFLICT },
    };
    /* The statement's time must lie in the nonce's lifetime: a journal delivery comes later. */
    struct hs_nonce_step ns;
    hs_nonce_consume_step(&ns, cf->st.nonce, a->kiosk, "confirm", cf->st.time, &steps[STEP_NONCE]);
    struct hs_audit_step as;
    hs_rc rc = hs_audit_step(c, &rec, &as, &steps[STEP_AUDIT]);
    if (rc != HS_OK)
        return rc;
    int failed = -1;
    rc = hs_exec_steps(c, steps, STEPS, &failed);
    if (rc == HS_OK)
        hs_audit_step_done(c, &as);
    else if (failed == STEP_NONCE && rc == HS_E_NONCE_UNKNOWN)
        rc = hs_nonce_refusal(c, cf->st.nonce, a->kiosk, "confirm");
    return rc;
}

/* The receipt (compact JWS typ huimin-receipt); *token malloc'd. Its members are written in
 * sorted order by jsonw, as jansson's JSON_SORT_KEYS would (cheaper than building a tree). */
static hs_rc receipt_sign(struct hs_api *api, const struct confirm *cf, const char *receipt_id,
                          int64_t now, char **token)
{
    char sha[HS_B64URL_LEN(32) + 1];
    hs_b64url_encode(cf->stmt_sha, sizeof(cf->stmt_sha), sha);
    sha[22] = '\0'; /* 132 bits: plenty to match a stored statement, short for a QR code */
    struct hm_buf body;
    hm_buf_init(&body, HS_JWS_MAX);
    struct hs_jw w;
    hs_jw_init(&w, &body);
    hs_jw_obj(&w);
    hs_jw_kint(&w, "a", cf->st.amount_fen);
    hs_jw_kint(&w, "iat", now);
    hs_jw_kstr(&w, "k", cf->st.kiosk);
    hs_jw_kstr(&w, "m", cf->tap ? "tap" : "pin");
    hs_jw_kstr(&w, "p", cf->st.payment);
    hs_jw_kstr(&w, "pd", cf->st.period);
    hs_jw_kstr(&w, "r", receipt_id);
    hs_jw_kstr(&w, "s", sha);
    hs_jw_kstr(&w, "w", cf->st.welfare_no);
    hs_jw_end_obj(&w);
    hs_rc rc = hs_jw_ok(&w)
                   ? hs_jws_sign(api->d.signer, "huimin-receipt", body.data, body.len, token)
                   : HS_E_NO_MEMORY;
    hm_buf_free(&body);
    return rc;
}

/* Reads the request's members into cf; false with a bad_request reply. */
static bool confirm_request(struct hs_api *api, struct hs_http_response *res, json_t *body,
                            struct confirm *cf)
{
    json_t *session = json_object_get(body, "session");
    const char *key = hs_api_json_str(body, "key", 2);
    bool ok =
        key && (strcmp(key, "9c") == 0 || strcmp(key, "9e") == 0) &&
        (json_is_null(session) ||
         (json_is_string(session) && hs_api_json_str(body, "session", HS_NONCE_TEXT - 1))) &&
        hs_api_json_b64(body, "statement", cf->stmt, sizeof(cf->stmt), &cf->stmt_len, false) &&
        cf->stmt_len > 0 &&
        hs_api_json_b64(body, "cert", cf->ev.cert, sizeof(cf->ev.cert), &cf->ev.cert_len, false) &&
        cf->ev.cert_len > 0 &&
        hs_api_json_b64(body, "signature", cf->ev.sig, sizeof(cf->ev.sig), &cf->ev.sig_len,
                        false) &&
        cf->ev.sig_len > 0;
    if (!ok) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need session (an id, or null for a journal delivery), key (\"9c\" "
                           "or \"9e\"), and statement, cert and signature in base64url");
        return false;
    }
    cf->tap = strcmp(key, "9e") == 0;
    cf->session_id = json_is_string(session) ? json_string_value(session) : NULL;
    return true;
}

/* What a confirmation needs to know of the database (confirm_gather). */
struct confirm_facts {
    bool session_found, session_kiosk_ok; /* the request's card session, when it names one */
    char session_welfare_no[32];
    int64_t session_expires_at;
    struct stored stored;  /* the payment's confirmation, if it has one */
    int64_t nonce_created; /* 0: no such nonce (the write says which error) */
    bool resident_found;
    struct resident who; /* the statement's welfare number's */
    bool payment_found;
    char payment_resident[32];
    struct payment pay;
    struct card_row card; /* when card_needs_row() */
};

/*
 * Two reads (a round trip each on PostgreSQL): the card session, the stored
 * confirmation of the payment, if any, the payment with its resident, the
 * resident of the statement's welfare number and when its nonce was issued in
 * one; the card's registry row in the other. On c, a reader or the writer
 * (then inside the write, see hs_api_h_confirmations).
 */
static hs_rc confirm_gather(struct hs_conn *c, const struct hs_api_kiosk *k,
                            const struct confirm *cf, const struct card_verdict *cv,
                            struct confirm_facts *f)
{
    free(f->stored.receipt); /* a rerun of the write reads again */
    memset(f, 0, sizeof(*f));
    const struct hs_val p[] = { hs_text(cf->st.payment), hs_text(cf->st.welfare_no),
                                hs_text(cf->st.nonce), hs_text(cf->session_id) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(
        c,
        "SELECT c.statement, c.receipt, py.period, py.amount_fen, py.status, e.resident_id, "
        "r.id, r.name, r.flags, (SELECT n.created_at FROM nonces n WHERE n.nonce = $3), "
        "cs.kiosk_id, cs.welfare_no, cs.expires_at "
        "FROM (SELECT 1 AS one) AS o LEFT JOIN payments py ON py.id = $1 "
        "LEFT JOIN entitlements e ON e.id = py.entitlement_id "
        "LEFT JOIN confirmations c ON c.payment_id = py.id "
        "LEFT JOIN residents r ON r.welfare_no = $2 "
        "LEFT JOIN card_sessions cs ON cs.id = $4",
        p, 4, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) != 1) {
        hs_rows_free(r);
        return HS_E_DB; /* residents.welfare_no and the keys are unique: never more */
    }
    if (!hs_rows_is_null(r, 0, 1)) {
        size_t len = 0;
        const uint8_t *b = hs_rows_blob(r, 0, 0, &len);
        f->stored.found = true;
        f->stored.same = b && len == cf->stmt_len && memcmp(b, cf->stmt, len) == 0;
        f->stored.receipt = strdup(hs_rows_text(r, 0, 1));
        if (!f->stored.receipt)
            rc = HS_E_NO_MEMORY;
    }
    if (!hs_rows_is_null(r, 0, 2)) {
        f->payment_found = true;
        hm_strlcpy(f->pay.id, cf->st.payment, sizeof(f->pay.id));
        hm_strlcpy(f->pay.period, hs_rows_text(r, 0, 2), sizeof(f->pay.period));
        f->pay.amount_fen = hs_rows_int(r, 0, 3);
        f->pay.status = hs_rows_int(r, 0, 4);
        hm_strlcpy(f->payment_resident, hs_rows_text(r, 0, 5), sizeof(f->payment_resident));
    }
    if (!hs_rows_is_null(r, 0, 6)) {
        f->resident_found = true;
        hm_strlcpy(f->who.id, hs_rows_text(r, 0, 6), sizeof(f->who.id));
        hm_strlcpy(f->who.name, hs_rows_text(r, 0, 7), sizeof(f->who.name));
        hm_strlcpy(f->who.welfare_no, cf->st.welfare_no, sizeof(f->who.welfare_no));
        f->who.flags = hs_rows_int(r, 0, 8);
    }
    f->nonce_created = hs_rows_int(r, 0, 9);
    if (!hs_rows_is_null(r, 0, 10)) {
        f->session_found = true;
        f->session_kiosk_ok = strcmp(hs_rows_text(r, 0, 10), k->id) == 0;
        hm_strlcpy(f->session_welfare_no, hs_rows_text(r, 0, 11), sizeof(f->session_welfare_no));
        f->session_expires_at = hs_rows_int(r, 0, 12);
    }
    hs_rows_free(r);
    if (rc == HS_OK && card_needs_row(cf, cv))
        rc = card_read(c, cf, cv, &f->card);
    return rc;
}

/* What to answer, decided by confirm_judge(). */
enum confirm_next {
    CN_ERROR,   /* err, with detail */
    CN_STORED,  /* the stored confirmation (this statement's receipt, or already_confirmed) */
    CN_REREAD,  /* the payment was confirmed since: read the stored confirmation again */
    CN_CONFIRM, /* write the confirmation */
};

struct confirm_decision {
    enum confirm_next next;
    enum api_err err;
    char detail[256];
};

static void decide_error(struct confirm_decision *d, enum api_err err, const char *detail)
{
    d->next = CN_ERROR;
    d->err = err;
    hm_strlcpy(d->detail, detail ? detail : "", sizeof(d->detail));
}

/*
 * The checks, in the order a reply names the first that fails: the session,
 * the same statement again (its receipt: exactly once), the statement's time,
 * the resident and the proof the policy asks for, the card (card_judge), the
 * payment and its state.
 */
static void confirm_judge(const struct hs_api_kiosk *k, const struct confirm *cf,
                          const struct card_verdict *cv, const struct confirm_facts *f, int64_t now,
                          struct confirm_decision *d)
{
    memset(d, 0, sizeof(*d));
    if (cf->session_id) {
        if (!f->session_found)
            return decide_error(d, ERR_SESSION_UNKNOWN, NULL);
        if (!f->session_kiosk_ok)
            return decide_error(d, ERR_SESSION_KIOSK, NULL);
        if (f->session_expires_at <= now)
            return decide_error(d, ERR_SESSION_EXPIRED, NULL);
        if (strcmp(f->session_welfare_no, cf->st.welfare_no) != 0)
            return decide_error(d, ERR_STATEMENT_INVALID,
                                "the statement names another welfare number than the session");
    }
    if (f->stored.found && f->stored.same) {
        d->next = CN_STORED;
        return;
    }
    if (cf->st.time > now + CLOCK_SKEW_S)
        return decide_error(d, ERR_STATEMENT_INVALID, "the statement's time is in the future");
    if (f->nonce_created && cf->st.time < f->nonce_created)
        return decide_error(d, ERR_STATEMENT_INVALID,
                            "the statement's time is before its nonce was issued");
    if (!f->resident_found)
        return decide_error(d, ERR_RESIDENT_UNKNOWN, NULL);
    if (cf->tap && !(f->who.flags & HS_RESIDENT_TAP_ONLY))
        return decide_error(d, ERR_PIN_REQUIRED,
                            "only a tap-only resident may confirm with the 9E key");
    const char *detail = NULL;
    enum api_err e = card_judge(k, cf, cv, &f->card, &detail);
    if (e != ERR_COUNT)
        return decide_error(d, e, detail);
    if (!f->payment_found)
        return decide_error(d, ERR_PAYMENT_UNKNOWN, NULL);
    if (strcmp(f->payment_resident, f->who.id) != 0)
        return decide_error(d, ERR_PAYMENT_NOT_YOURS, NULL);
    if (f->pay.amount_fen != cf->st.amount_fen || strcmp(f->pay.period, cf->st.period) != 0)
        return decide_error(d, ERR_STATEMENT_INVALID,
                            "the statement's amount or period differs from the payment's");
    if (f->pay.status == HS_PAY_CONFIRMED) {
        d->next = CN_REREAD;
        return;
    }
    if (f->pay.status != HS_PAY_PAID) {
        char why[64];
        snprintf(why, sizeof(why), "the payment is %s", payment_status_name(f->pay.status));
        return decide_error(d, ERR_PAYMENT_NOT_PAID, why);
    }
    d->next = CN_CONFIRM;
}

/* The write's job: with gather, the reads and the checks first, in the same transaction. */
struct confirm_job {
    const struct hs_api_kiosk *k;
    const struct card_verdict *cv;
    bool gather;
    struct confirm_facts *f;
    struct confirm_decision *d;
    struct confirm_write w;
};

static hs_rc confirm_job_fn(struct hs_conn *c, void *arg)
{
    struct confirm_job *j = arg;
    if (j->gather) {
        hs_rc rc = confirm_gather(c, j->k, j->w.cf, j->cv, j->f);
        if (rc != HS_OK)
            return rc;
        confirm_judge(j->k, j->w.cf, j->cv, j->f, j->w.now, j->d);
        if (j->d->next != CN_CONFIRM)
            return HS_OK; /* nothing written: the handler answers */
    }
    return confirm_fn(c, &j->w);
}

/*
 * What a confirmation answers once its decision is made: the new receipt, the
 * error, or the stored confirmation. stored is the one read with the facts
 * (on SQLite in the same transaction as the decision); NULL where it must be
 * read again (PostgreSQL, whose facts came before the write's race).
 */
static void confirm_reply(struct hs_api *api, struct hs_http_response *res,
                          const struct confirm *cf, const struct confirm_decision *d,
                          const struct stored *stored, const char *token)
{
    switch (d->next) {
    case CN_CONFIRM:
        hs_api_reply_token(api, res, 201, token);
        break;
    case CN_ERROR:
        hs_api_reply_error(api, res, d->err, d->detail[0] ? d->detail : NULL);
        break;
    case CN_STORED:
        reply_stored(api, res, stored);
        break;
    case CN_REREAD: {
        /* Confirmed since the first look: its receipt if this statement. */
        struct stored again = { 0 };
        hs_rc rc = stored ? HS_OK : stored_get(api, cf->st.payment, cf->stmt, cf->stmt_len, &again);
        const struct stored *s = stored ? stored : &again;
        if (rc != HS_OK)
            hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        else if (s->found)
            reply_stored(api, res, s);
        else
            hs_api_reply_error(api, res, ERR_PAYMENT_NOT_PAID, "the payment changed meanwhile");
        free(again.receipt);
        break;
    }
    }
}

/*
 * A confirmation whose write (with its reads and checks, SQLite) runs without
 * the request waiting: the reply is deferred (hs_http_defer), the committer's
 * done hands it back, and confirm_async_fill() answers on the io thread and
 * frees all of it.
 */
struct confirm_async {
    struct hs_api *api;
    struct hs_http_deferred *dfr;
    struct hs_api_kiosk k;
    struct card_verdict cv;
    struct confirm_facts facts;
    struct confirm_decision d;
    struct confirm *cf;
    char session[HS_NONCE_TEXT];
    char receipt_id[ID_TEXT];
    char *token;
    hs_rc rc;
    struct confirm_job j;
};

static void confirm_async_free(struct confirm_async *a)
{
    free(a->token);
    free(a->facts.stored.receipt);
    if (a->cf)
        hm_wipe(a->cf, sizeof(*a->cf));
    free(a->cf);
    hm_wipe(a, sizeof(*a));
    free(a);
}

static void confirm_async_fill(void *arg, struct hs_http_response *res)
{
    struct confirm_async *a = arg;
    if (a->rc == HS_E_CONFLICT || a->rc == HS_E_DB_CONSTRAINT)
        a->d.next = CN_REREAD; /* cannot happen with the reads inside the write; answered alike */
    if (a->rc != HS_OK && a->d.next != CN_REREAD)
        hs_api_reply_error(a->api, res, hs_api_err_of_rc(a->rc), NULL);
    else
        confirm_reply(a->api, res, a->cf, &a->d, &a->facts.stored, a->token);
    confirm_async_free(a);
}

/* The committer's done; arg is the job's, &a->j. */
static void confirm_async_done(void *arg, hs_rc rc)
{
    struct confirm_async *a =
        (struct confirm_async *)(void *)((char *)arg - offsetof(struct confirm_async, j));
    a->rc = rc;
    hs_http_complete(a->dfr, confirm_async_fill, a);
}

/*
 * Queues the SQLite confirmation (gather, judge and write in one job) and
 * defers the reply; takes cf and token. Where the reply cannot be deferred
 * (a response the HTTP layer did not make: the API fuzzer's) the same job is
 * written with hs_store_write() and answered before returning.
 */
static void confirm_queue(struct hs_api *api, struct hs_http_response *res,
                          const struct hs_api_kiosk *k, struct confirm *cf,
                          const struct card_verdict *cv, int64_t now, const char *receipt_id,
                          char *token)
{
    struct confirm_async *a = calloc(1, sizeof(*a));
    if (!a) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        free(token);
        hm_wipe(cf, sizeof(*cf));
        free(cf);
        return;
    }
    struct hs_http_deferred *dfr = hs_http_defer(res);
    a->api = api;
    a->dfr = dfr;
    a->k = *k;
    a->cv = *cv;
    a->cf = cf;
    a->token = token;
    a->d.next = CN_CONFIRM;
    hm_strlcpy(a->receipt_id, receipt_id, sizeof(a->receipt_id));
    if (cf->session_id) { /* it points into the request's JSON, freed when we return */
        hm_strlcpy(a->session, cf->session_id, sizeof(a->session));
        cf->session_id = a->session;
    }
    a->j = (struct confirm_job){
        .k = &a->k,
        .cv = &a->cv,
        .gather = true,
        .f = &a->facts,
        .d = &a->d,
        .w = { .cf = cf,
               .kiosk = a->k.id,
               .receipt_id = a->receipt_id,
               .receipt = token,
               .now = now },
    };
    if (!dfr) {
        a->rc = hs_store_write(api->d.store, confirm_job_fn, &a->j);
        confirm_async_fill(a, res);
        return;
    }
    a->rc = hs_store_write_async(api->d.store, confirm_job_fn, &a->j, confirm_async_done);
    if (a->rc != HS_OK)
        hs_http_complete(dfr, confirm_async_fill, a); /* answers the error */
    /* From here a belongs to the committer and then to the io thread. */
}

/*
 * POST /v1/confirmations. The card's certificate and signature are checked
 * first (crypto, no database), then the database is read and the checks made
 * (confirm_judge), then the confirmation written. On SQLite the reads and the
 * checks run inside the write, on the writer's connection, whose pages stay
 * cached: a reader's cache is emptied by every commit of the writer (WAL), and
 * refilling it cost about 35 preads a confirmation. The receipt is then signed
 * beforehand, and thrown away when the checks refuse. On PostgreSQL a read in
 * the write would be a round trip inside the serial committer, so the reads
 * and checks run on the handler's reader and the write is conditional (the
 * UPDATE ... WHERE status = paid decides a race either way).
 *
 * On SQLite the request then does not wait for the write: the reply is
 * deferred until the committer is done (confirm_queue), so the io thread that
 * ran it inline (hs_api_inline_ok) serves other connections meanwhile and no
 * thread sleeps on the commit.
 */
void hs_api_h_confirmations(struct hs_api *api, const struct hs_http_request *req,
                            struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct confirm_facts facts = { 0 };
    char *token = NULL;
    struct confirm *cf = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    cf = calloc(1, sizeof(*cf));
    if (!cf) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!confirm_request(api, res, body, cf))
        goto out;
    char detail[256];
    if (!statement_parse(cf->stmt, cf->stmt_len, &cf->st, detail, sizeof(detail))) {
        hs_api_reply_error(api, res, ERR_STATEMENT_INVALID, detail);
        goto out;
    }
    if (!sha256(cf->stmt, cf->stmt_len, cf->stmt_sha)) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (strcmp(cf->st.kiosk, k->id) != 0) {
        hs_api_reply_error(api, res, ERR_STATEMENT_INVALID, "the statement names another kiosk");
        goto out;
    }
    struct card_verdict cv;
    card_verify(api, cf, &cv);
    int64_t now = hs_api_now(api);
    bool in_write = hs_store_backend(api->d.store) == HS_BACKEND_SQLITE;
    struct confirm_decision d = { .next = CN_CONFIRM };
    if (!in_write) {
        struct hs_conn *c = hs_store_reader(api->d.store);
        hs_rc rc = c ? confirm_gather(c, k, cf, &cv, &facts) : HS_E_DB;
        if (rc != HS_OK) {
            hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
            goto out;
        }
        confirm_judge(k, cf, &cv, &facts, now, &d);
    }
    char receipt_id[ID_TEXT];
    if (d.next == CN_CONFIRM) {
        if (!receipt_id_new(receipt_id, now) ||
            receipt_sign(api, cf, receipt_id, now, &token) != HS_OK) {
            hs_api_reply_error(api, res, ERR_INTERNAL, "signing failed");
            goto out;
        }
        if (in_write) {
            confirm_queue(api, res, k, cf, &cv, now, receipt_id, token);
            cf = NULL;
            token = NULL;
            goto out;
        }
        struct confirm_job j = {
            .k = k,
            .cv = &cv,
            .gather = in_write,
            .f = &facts,
            .d = &d,
            .w = { .cf = cf,
                   .kiosk = k->id,
                   .receipt_id = receipt_id,
                   .receipt = token,
                   .now = now },
        };
        hs_rc rc = hs_store_write(api->d.store, confirm_job_fn, &j);
        if (rc == HS_E_CONFLICT || rc == HS_E_DB_CONSTRAINT) {
            d.next = CN_REREAD; /* another request confirmed it first */
        } else if (rc != HS_OK) {
            hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
            goto out;
        }
    }
    confirm_reply(api, res, cf, &d, d.next == CN_REREAD ? NULL : &facts.stored, token);
out:
    free(token);
    free(facts.stored.receipt);
    if (cf)
        hm_wipe(cf, sizeof(*cf));
    free(cf);
    json_decref(body);
}

/* ---- POST /v1/disputes ------------------------------------------------------- */

static bool dispute_reason_known(const char *r)
{
    static const char *const known[] = { "not_received", "wrong_amount", "other" };
    for (size_t i = 0; i < HM_ARRAY_SIZE(known); i++)
        if (strcmp(r, known[i]) == 0)
            return true;
    return false;
}

struct dispute_write {
    const char *payment, *reason, *note, *kiosk;
    char id[ID_TEXT], exception_id[ID_TEXT];
    int64_t now;
};

/* One transaction: paid -> disputed, the dispute, the staff's exception and the audit
 * record. HS_E_CONFLICT when the payment is no longer paid. */
static hs_rc dispute_fn(struct hs_conn *c, void *arg)
{
    const struct dispute_write *a = arg;
    const struct hs_val pu[] = { hs_text(a->payment), hs_int(a->now), hs_int(HS_PAY_DISPUTED),
                                 hs_int(HS_PAY_PAID) };
    hs_rc rc = hs_exec(c,
                       "UPDATE payments SET status = $3, updated_at = $2 WHERE id = $1 AND "
                       "status = $4",
                       pu, 4, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) != 1)
        return HS_E_CONFLICT;
    const struct hs_val pd[] = { hs_text(a->id),   hs_text(a->payment), hs_text(a->reason),
                                 hs_text(a->note), hs_text(a->kiosk),   hs_int(a->now) };
    rc = hs_exec(c,
                 "INSERT INTO disputes (id, payment_id, reason, note, kiosk_id, at, status) "
                 "VALUES ($1, $2, $3, $4, $5, $6, 'open')",
                 pd, 6, NULL);
    if (rc != HS_OK)
        return rc;
    rc = hs_api_exception_open(c, a->exception_id, "dispute", a->id, a->kiosk, a->now);
    if (rc != HS_OK)
        return rc;
    char actor[80], detail[128];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    snprintf(detail, sizeof(detail), "{\"dispute\":\"%s\",\"reason\":\"%s\"}", a->id, a->reason);
    struct hs_audit_rec rec = { .actor = actor,
                                .action = "payment.dispute",
                                .subject = a->payment,
                                .detail = detail,
                                .at = a->now };
    return hs_audit_append(c, &rec, NULL);
}

static json_t *dispute_json(const char *id, const char *payment, const char *kiosk,
                            const char *reason, int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "dispute", id, "payment", payment, "kiosk",
                     kiosk, "reason", reason, "status", "open", "iat", (json_int_t)now);
}

/* The open dispute of a payment (a retry gets it again, 200), or an error reply. */
static void reply_open_dispute(struct hs_api *api, struct hs_http_response *res,
                               const struct hs_api_kiosk *k, const char *payment)
{
    const struct hs_val p[] = { hs_text(payment) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT id, reason FROM disputes WHERE payment_id = $1 AND status = 'open' "
                    "ORDER BY at DESC, id",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return;
    }
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        hs_api_reply_error(api, res, ERR_ALREADY_DISPUTED, NULL);
        return;
    }
    json_t *j =
        dispute_json(hs_rows_text(r, 0, 0), payment, k->id, hs_rows_text(r, 0, 1), hs_api_now(api));
    hs_rows_free(r);
    hs_api_reply_signed(api, res, 200, "huimin-dispute", j);
}

/* The error for a payment that is not (or no longer) paid; disputed ones get their dispute. */
static void reply_not_disputable(struct hs_api *api, struct hs_http_response *res,
                                 const struct hs_api_kiosk *k, const struct payment *pay)
{
    char detail[64];
    if (pay->status == HS_PAY_DISPUTED) {
        reply_open_dispute(api, res, k, pay->id);
        return;
    }
    if (pay->status == HS_PAY_CONFIRMED) {
        hs_api_reply_error(api, res, ERR_ALREADY_CONFIRMED,
                           "a confirmed payment is disputed with the staff");
        return;
    }
    snprintf(detail, sizeof(detail), "the payment is %s", payment_status_name(pay->status));
    hs_api_reply_error(api, res, ERR_PAYMENT_NOT_PAID, detail);
}

void hs_api_h_disputes(struct hs_api *api, const struct hs_http_request *req,
                       struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *sid = hs_api_json_str(body, "session", HS_NONCE_TEXT - 1);
    const char *payment = hs_api_json_str(body, "payment", 63);
    const char *reason = hs_api_json_str(body, "reason", 32);
    json_t *note = json_object_get(body, "note");
    if (!sid || !payment || !reason || !dispute_reason_known(reason) ||
        (note && !json_is_null(note) &&
         (!json_is_string(note) || json_string_length(note) > NOTE_MAX ||
          strlen(json_string_value(note)) != json_string_length(note)))) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need session, payment, reason (\"not_received\", \"wrong_amount\" or "
                           "\"other\") and optionally a note of at most 500 bytes");
        goto out;
    }
    struct hs_api_session s;
    struct resident who;
    struct payment pay;
    if (!hs_api_session_get(api, res, k, sid, &s) || !resident_get(api, res, s.welfare_no, &who) ||
        !payment_get(api, res, payment, &who, &pay))
        goto out;
    if (pay.status != HS_PAY_PAID) {
        reply_not_disputable(api, res, k, &pay);
        goto out;
    }
    struct dispute_write w = { .payment = payment,
                               .reason = reason,
                               .note = json_is_string(note) ? json_string_value(note) : "",
                               .kiosk = k->id,
                               .now = hs_api_now(api) };
    if (!random_id(w.id) || !random_id(w.exception_id)) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    hs_rc rc = hs_store_write(api->d.store, dispute_fn, &w);
    if (rc == HS_E_CONFLICT) {
        /* It changed since we read it: answer for what it is now. */
        if (payment_get(api, res, payment, &who, &pay))
            reply_not_disputable(api, res, k, &pay);
        goto out;
    }
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    hs_api_reply_signed(api, res, 201, "huimin-dispute",
                        dispute_json(w.id, payment, k->id, reason, w.now));
out:
    json_decref(body);
}
