/* Calling staff (呼叫工作人员, issue 9): a kiosk asks for a person, the call goes into the hall
 * staff's queue with what they need to know before walking over, and a resident who taps three
 * times makes one call, not three. docs/API.md "Calling staff" is the contract. */
#include "api_int.h"

#include "hs/audit.h"
#include "hs/jws.h"

#include "hm/log.h"
#include "hm/util.h"

#include <jansson.h>
#include <openssl/rand.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_BYTES     12  /* calls and their exceptions: 16 base64url characters */
#define CALL_TEXT      17  /* HS_B64URL_LEN(12) + NUL */
#define SCREEN_MAX     32  /* characters of a screen's name */
#define REPEAT_S       120 /* a call again within this of an open one is the same call */
#define NAME_MAX_BYTES 256 /* a kiosk's name or office as enrolled */

static_assert(HS_B64URL_LEN(CALL_BYTES) + 1 == CALL_TEXT, "call id text length");

static const char *const reasons[] = { "help", "card_problem", "pin_blocked", "dispute", "other" };

static bool reason_known(const char *r)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(reasons); i++)
        if (strcmp(r, reasons[i]) == 0)
            return true;
    return false;
}

/* A screen's name: 1 to 32 characters of a-z, 0-9, '-' and '_'. */
static bool screen_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SCREEN_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

static bool random_id(char out[CALL_TEXT])
{
    return hs_api_random_id(out, CALL_BYTES);
}

/* What the answer says about the kiosk and the office's queue. */
struct call_view {
    char id[CALL_TEXT + 8]; /* a call migrated from version 1 may have a longer id */
    char reason[16];
    char status[8];
    char kiosk_name[NAME_MAX_BYTES];
    char office[NAME_MAX_BYTES];
    int64_t waiting;
};

/* The kiosk's name and office (as enrolled) into v; HS_E_NOT_FOUND when it is not there. */
static hs_rc kiosk_facts(struct hs_conn *c, const char *kiosk, struct call_view *v)
{
    const struct hs_val p[] = { hs_text(kiosk) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c, "SELECT name, office FROM kiosks WHERE id = $1", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        return HS_E_NOT_FOUND;
    }
    hm_strlcpy(v->kiosk_name, hs_rows_text(r, 0, 0), sizeof(v->kiosk_name));
    hm_strlcpy(v->office, hs_rows_text(r, 0, 1), sizeof(v->office));
    hs_rows_free(r);
    return HS_OK;
}

/* The open calls from the kiosks of an office, into v->waiting. */
static hs_rc count_waiting(struct hs_conn *c, struct call_view *v)
{
    const struct hs_val p[] = { hs_text(v->office) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c,
                       "SELECT COUNT(*) FROM staff_calls s JOIN kiosks k ON k.id = s.kiosk_id "
                       "WHERE s.status = 'open' AND k.office = $1",
                       p, 1, &r);
    if (rc != HS_OK)
        return rc;
    v->waiting = hs_rows_count(r) ? hs_rows_int(r, 0, 0) : 0;
    hs_rows_free(r);
    return HS_OK;
}

/* ---- POST /v1/staff-calls -------------------------------------------------------- */

struct call_write {
    /* in */
    const char *kiosk, *reason, *screen; /* screen NULL: none */
    const char *resident;                /* the resident's id, NULL: none */
    char id[CALL_TEXT], exception_id[CALL_TEXT];
    int64_t now;
    /* out */
    bool repeat; /* an open call younger than REPEAT_S was found: that one is the answer */
    struct call_view v;
};

/*
 * One transaction: the audit head's lock first (as every write), then the
 * kiosk's last call. An open one younger than REPEAT_S is the answer; else the
 * call, its exception in the hall staff's queue and the audit record. The
 * lock serialises the writers of every process, so two taps that race still
 * make one call. Last, the office's open calls.
 */
static hs_rc call_fn(struct hs_conn *c, void *arg)
{
    struct call_write *a = arg;
    a->repeat = false;
    hs_rc rc = hs_audit_lock(c);
    if (rc != HS_OK)
        return rc;
    rc = kiosk_facts(c, a->kiosk, &a->v);
    if (rc != HS_OK)
        return rc;

    const struct hs_val pk[] = { hs_text(a->kiosk) };
    struct hs_rows *r = NULL;
    rc = hs_exec(c,
                 "SELECT id, reason, status, at FROM staff_calls WHERE kiosk_id = $1 "
                 "ORDER BY at DESC, id DESC LIMIT 1",
                 pk, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 1 && strcmp(hs_rows_text(r, 0, 2), "open") == 0 &&
        a->now - hs_rows_int(r, 0, 3) < REPEAT_S) {
        a->repeat = true;
        hm_strlcpy(a->v.id, hs_rows_text(r, 0, 0), sizeof(a->v.id));
        hm_strlcpy(a->v.reason, hs_rows_text(r, 0, 1), sizeof(a->v.reason));
    }
    hs_rows_free(r);

    if (!a->repeat) {
        hm_strlcpy(a->v.id, a->id, sizeof(a->v.id));
        hm_strlcpy(a->v.reason, a->reason, sizeof(a->v.reason));
        const struct hs_val pc[] = { hs_text(a->id),
                                     hs_text(a->kiosk),
                                     hs_text(a->reason),
                                     a->screen ? hs_text(a->screen) : hs_null(),
                                     a->resident ? hs_text(a->resident) : hs_null(),
                                     hs_int(a->now) };
        rc = hs_exec(c,
                     "INSERT INTO staff_calls (id, kiosk_id, reason, screen, resident_id, at, "
                     "status, closed_at, note) VALUES ($1, $2, $3, $4, $5, $6, 'open', NULL, '')",
                     pc, 6, NULL);
        if (rc != HS_OK)
            return rc;
        rc = hs_api_exception_open(c, a->exception_id, "staff_call", a->id, a->kiosk, a->now);
        if (rc != HS_OK)
            return rc;
        char actor[80];
        hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
        json_t *d =
            json_pack("{s:s, s:s, s:o, s:o}", "exception", a->exception_id, "reason", a->reason,
                      "resident", a->resident ? json_string(a->resident) : json_null(), "screen",
                      a->screen ? json_string(a->screen) : json_null());
        char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(d);
        if (!detail)
            return HS_E_NO_MEMORY;
        struct hs_audit_rec rec = { .actor = actor,
                                    .action = "staff_call.open",
                                    .subject = a->id,
                                    .detail = detail,
                                    .at = a->now };
        rc = hs_audit_append(c, &rec, NULL);
        free(detail);
        if (rc != HS_OK)
            return rc;
    }
    hm_strlcpy(a->v.status, "open", sizeof(a->v.status));
    return count_waiting(c, &a->v);
}

static json_t *call_json(const struct call_view *v, const char *kiosk, int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "call", v->id, "kiosk", kiosk,
                     "kiosk_name", v->kiosk_name, "office", v->office, "reason", v->reason,
                     "status", v->status, "waiting", (json_int_t)v->waiting, "iat",
                     (json_int_t)now);
}

/* The resident's id for a live card session of this kiosk into out (""
 * when the card's holder is not a registered resident), or an error reply (false). */
static bool session_resident(struct hs_api *api, struct hs_http_response *res,
                             const struct hs_api_kiosk *k, const char *sid, char *out, size_t cap)
{
    struct hs_api_session ses;
    struct hs_rows *r = NULL;
    if (!hs_api_session_get(api, res, k, sid, &ses))
        return false;
    const struct hs_val pw[] = { hs_text(ses.welfare_no) };
    if (hs_api_read(api, "SELECT id FROM residents WHERE welfare_no = $1", pw, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    hm_strlcpy(out, hs_rows_count(r) ? hs_rows_text(r, 0, 0) : "", cap);
    hs_rows_free(r);
    return true;
}

/* reason, screen and session, nothing else; false (with the detail) when the form is wrong. */
static bool call_request(json_t *body, const char **reason, const char **screen, const char **sid,
                         const char **why)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "reason") != 0 && strcmp(key, "screen") != 0 &&
            strcmp(key, "session") != 0) {
            *why = "unknown member: only reason, screen and session";
            return false;
        }
    }
    *reason = hs_api_json_str(body, "reason", 16);
    if (!*reason || !reason_known(*reason)) {
        *why =
            "reason must be \"help\", \"card_problem\", \"pin_blocked\", \"dispute\" or \"other\"";
        return false;
    }
    v = json_object_get(body, "screen");
    *screen = NULL;
    if (v && !json_is_null(v)) {
        *screen = hs_api_json_str(body, "screen", SCREEN_MAX);
        if (!*screen || !screen_valid(*screen)) {
            *why = "screen: null or 1 to 32 characters of a-z, 0-9, '-' and '_'";
            return false;
        }
    }
    v = json_object_get(body, "session");
    *sid = NULL;
    if (v && !json_is_null(v)) {
        *sid = hs_api_json_str(body, "session", HS_NONCE_TEXT - 1);
        if (!*sid) {
            *why = "session: null or a card session's id";
            return false;
        }
    }
    return true;
}

void hs_api_h_staff_calls(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *reason = NULL, *screen = NULL, *sid = NULL, *why = "";
    char resident[64] = "";
    if (!call_request(body, &reason, &screen, &sid, &why)) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, why);
        goto out;
    }
    if (sid && !session_resident(api, res, k, sid, resident, sizeof(resident)))
        goto out;
    struct call_write w = { .kiosk = k->id,
                            .reason = reason,
                            .screen = screen,
                            .resident = resident[0] ? resident : NULL,
                            .now = hs_api_now(api) };
    if (!random_id(w.id) || !random_id(w.exception_id)) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    hs_rc rc = hs_store_write(api->d.store, call_fn, &w);
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    if (!w.repeat)
        hm_log_info("kiosk %s: staff call %s (%s%s%s), %lld waiting at %s", k->id, w.v.id, reason,
                    screen ? ", screen " : "", screen ? screen : "", (long long)w.v.waiting,
                    w.v.office);
    hs_api_reply_signed(api, res, w.repeat ? 200 : 201, "huimin-staff-call",
                        call_json(&w.v, k->id, w.now));
out:
    json_decref(body);
}

/* ---- GET /v1/staff-calls/ID: a call of this kiosk as it is now ------------------------ */

struct call_read {
    const char *id, *kiosk;
    bool found;
    struct call_view v;
};

/* On the reader: the call, the kiosk's facts and the office's count from one snapshot. */
static hs_rc call_read(struct hs_conn *c, struct call_read *a)
{
    a->found = false;
    const struct hs_val p[] = { hs_text(a->id), hs_text(a->kiosk) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_exec(c, "SELECT reason, status FROM staff_calls WHERE id = $1 AND kiosk_id = $2",
                       p, 2, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 1) {
        a->found = true;
        hm_strlcpy(a->v.id, a->id, sizeof(a->v.id));
        hm_strlcpy(a->v.reason, hs_rows_text(r, 0, 0), sizeof(a->v.reason));
        hm_strlcpy(a->v.status, hs_rows_text(r, 0, 1), sizeof(a->v.status));
    }
    hs_rows_free(r);
    if (!a->found)
        return HS_OK;
    rc = kiosk_facts(c, a->kiosk, &a->v);
    return rc == HS_OK ? count_waiting(c, &a->v) : rc;
}

void hs_api_h_staff_call(struct hs_api *api, const struct hs_http_request *req,
                         struct hs_http_response *res, const struct hs_api_kiosk *k, const char *id)
{
    (void)req;
    struct call_read a = { .id = id, .kiosk = k->id };
    struct hs_conn *c = hs_store_reader(api->d.store);
    hs_rc rc = c ? call_read(c, &a) : HS_E_DB;
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return;
    }
    if (!a.found) {
        hs_api_reply_error(api, res, ERR_NOT_FOUND, NULL);
        return;
    }
    hs_api_reply_signed(api, res, 200, "huimin-staff-call",
                        call_json(&a.v, k->id, hs_api_now(api)));
}
