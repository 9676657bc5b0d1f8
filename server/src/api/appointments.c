/* Marriage-registration appointments (issue 8): ID-card sessions re-verified against the
 * server's own CSCA store, registries and their free places, bookings that take a place
 * atomically on either backend and across server processes, signed tickets, cancelling,
 * rescheduling and check-in. docs/API.md "Marriage-registration appointments" is the contract. */
#include "api_int.h"

#include "hs/audit.h"
#include "hs/jws.h"
#include "hs/marriage.h"
#include "hs/registry.h"
#include "hs/seal.h"

#include "cl/emrtd_auth.h"
#include "cl/lds.h"

#include "hm/log.h"
#include "hm/util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICKET_BYTES 12 /* a ticket's (appointment's) id: 16 base64url characters */
#define TICKET_TEXT  17
#define ID_FILE_MAX  32768 /* bytes of one LDS file in a request (an SOD with its DS: ~3 kB) */
#define MINE_MAX     20    /* appointments listed by /v1/appointments/mine */
#define DAYS_MAX     31    /* days of one availability answer */
#define SLOT_TEXT    6     /* "09:00" */

static_assert(HS_B64URL_LEN(TICKET_BYTES) + 1 == TICKET_TEXT, "ticket id length");

/* ---- set-up ---------------------------------------------------------------------- */

void hs_api_appt_init(struct hs_api *api)
{
    const struct hs_config *cfg = api->d.cfg;
    if (cfg->csca_dir[0]) {
        cl_rc crc = cl_emrtd_trust_load(cfg->csca_dir, &api->csca);
        if (crc != CL_OK) {
            api->csca = NULL;
            hm_log_warn("the CSCA trust store %s does not load (%s): ID cards will be refused "
                        "until it holds the CSCA certificates",
                        cfg->csca_dir, cl_strerror(crc));
        } else {
            size_t n_csca = 0, n_crl = 0;
            cl_emrtd_trust_counts(api->csca, &n_csca, &n_crl);
            hm_log_info("ID cards: %zu CSCA certificates and %zu CRLs from %s", n_csca, n_crl,
                        cfg->csca_dir);
        }
    }
    if (cfg->seal_key[0] && hs_seal_key_load(cfg->seal_key, api->seal_key) == HS_OK &&
        hs_person_key(api->seal_key, api->person_key) == HS_OK)
        api->have_seal = true;
    else
        hm_log_warn("the seal key %s cannot be read: ID sessions and appointments are refused",
                    cfg->seal_key);
}

void hs_api_appt_cleanup(struct hs_api *api)
{
    cl_emrtd_trust_free(api->csca);
    api->csca = NULL;
    hm_wipe(api->seal_key, sizeof(api->seal_key));
    hm_wipe(api->person_key, sizeof(api->person_key));
    api->have_seal = false;
}

/* ---- small helpers ------------------------------------------------------------------ */

static bool random_ticket(char out[TICKET_TEXT])
{
    return hs_api_random_id(out, TICKET_BYTES);
}

/* The day of local seconds (they are never negative here: 1970 on). */
static int32_t day_of(int64_t local)
{
    return (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
}

/* "HH:MM" of a slot start into minutes; false for anything else. */
static bool slot_parse(const char *s, uint16_t *minute)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *minute = (uint16_t)(h * 60 + m);
    return true;
}

static void slot_format(unsigned minute, char out[SLOT_TEXT])
{
    snprintf(out, SLOT_TEXT, "%02u:%02u", (minute / 60) % 100, minute % 60);
}

/* Compact JSON with sorted keys, signed; *token malloc'd. Steals payload. */
static hs_rc sign_json(struct hs_api *api, const char *typ, json_t *payload, char **token)
{
    char *body = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    if (!body)
        return HS_E_NO_MEMORY;
    hs_rc rc = hs_jws_sign(api->d.signer, typ, (const uint8_t *)body, strlen(body), token);
    free(body);
    return rc;
}

/* A verdict's refusal as an error answer: the rule's code and its messages. */
static void reply_verdict(struct hs_api *api, struct hs_http_response *res,
                          const struct hs_marriage_verdict *v, const char *detail)
{
    hs_api_reply_error_msg(api, res, hs_api_err_of_refusal((int)v->refusal), v->zh, v->en, detail);
}

/* ---- registries (offices) ------------------------------------------------------------ */

struct office {
    struct hs_marriage_office o;
    char hours[HS_MARRIAGE_MAX_HOURS + 1];
    char services[256];
};

/* Reads "marriage;reissue" into a service bit set; false when a name is unknown. */
static bool services_parse(const char *text, unsigned *bits)
{
    char buf[256];
    *bits = 0;
    if (hm_strlcpy(buf, text, sizeof(buf)) >= sizeof(buf))
        return false;
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        enum hs_marriage_service sv;
        if (!n)
            continue;
        if (!hs_marriage_service_parse(tok, n, &sv))
            return false;
        *bits |= HS_MARRIAGE_SVC_BIT(sv);
    }
    return *bits != 0;
}

/*
 * Builds an office from its rows (offices, office_days). ERR_COUNT on success,
 * ERR_OFFICE_UNKNOWN, ERR_STORAGE, or ERR_INTERNAL for stored data the rules
 * refuse (logged: the import should not have let it in).
 */
static enum api_err office_load(struct hs_api *api, const char *id, struct office *out)
{
    const struct hs_val p[] = { hs_text(id) };
    struct hs_rows *r = NULL, *d = NULL;
    char err[256] = "";
    enum api_err e = ERR_COUNT;
    if (hs_api_read(api,
                    "SELECT id, name, region, cross_province, services, hours, slot_minutes, "
                    "capacity FROM offices WHERE id = $1",
                    p, 1, &r) != HS_OK)
        return ERR_STORAGE;
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        return ERR_OFFICE_UNKNOWN;
    }
    struct hs_marriage_office *o = &out->o;
    hs_marriage_office_init(o);
    hm_strlcpy(o->id, hs_rows_text(r, 0, 0), sizeof(o->id));
    hm_strlcpy(o->name, hs_rows_text(r, 0, 1), sizeof(o->name));
    o->region = (int32_t)strtol(hs_rows_text(r, 0, 2), NULL, 10);
    o->cross_province = hs_rows_int(r, 0, 3) != 0;
    hm_strlcpy(out->services, hs_rows_text(r, 0, 4), sizeof(out->services));
    hm_strlcpy(out->hours, hs_rows_text(r, 0, 5), sizeof(out->hours));
    o->slot_minutes = (uint16_t)hs_rows_int(r, 0, 6);
    o->capacity = (uint16_t)hs_rows_int(r, 0, 7);
    hs_rows_free(r);
    if (!services_parse(out->services, &o->services) ||
        hs_marriage_hours_parse(out->hours, strlen(out->hours), &o->hours, err, sizeof(err)) !=
            HS_OK) {
        e = ERR_INTERNAL;
        goto out;
    }
    if (hs_api_read(api,
                    "SELECT day, kind, capacity, hours, opens_at FROM office_days WHERE "
                    "office_id = $1 ORDER BY day",
                    p, 1, &d) != HS_OK) {
        e = ERR_STORAGE;
        goto out;
    }
    for (int i = 0; i < hs_rows_count(d) && e == ERR_COUNT; i++) {
        const char *dt = hs_rows_text(d, i, 0), *hours = hs_rows_text(d, i, 3);
        int32_t day;
        if (!hs_marriage_day_parse(dt, strlen(dt), &day)) {
            e = ERR_INTERNAL;
            break;
        }
        if (strcmp(hs_rows_text(d, i, 1), "closed") == 0) {
            if (hs_marriage_office_add_closure(o, day, err, sizeof(err)) != HS_OK)
                e = ERR_INTERNAL;
            continue;
        }
        struct hs_marriage_special sp = { .day = day, .capacity = (uint16_t)hs_rows_int(d, i, 2) };
        if (!hs_rows_is_null(d, i, 4))
            sp.opens_at = hs_marriage_local_time(hs_rows_int(d, i, 4));
        if ((hours[0] && hs_marriage_day_hours_parse(hours, strlen(hours), &sp.hours, err,
                                                     sizeof(err)) != HS_OK) ||
            hs_marriage_office_add_special(o, &sp, err, sizeof(err)) != HS_OK)
            e = ERR_INTERNAL;
    }
    if (e == ERR_COUNT && hs_marriage_office_check(o, err, sizeof(err)) != HS_OK)
        e = ERR_INTERNAL;
out:
    hs_rows_free(d);
    if (e == ERR_INTERNAL)
        hm_log_error("office %s in the database is not usable: %s", id, err);
    return e;
}

static const struct hs_marriage_special *special_of(const struct hs_marriage_office *o, int32_t day)
{
    for (size_t i = 0; i < o->n_special; i++)
        if (o->special[i].day == day)
            return &o->special[i];
    return NULL;
}

static json_t *services_json(unsigned bits)
{
    json_t *a = json_array();
    for (int s = 1; s <= HS_MARRIAGE_SVC_COUNT; s++)
        if (bits & HS_MARRIAGE_SVC_BIT(s))
            json_array_append_new(a, json_string(hs_marriage_service_name(s)));
    return a;
}

void hs_api_h_offices(struct hs_api *api, const struct hs_http_request *req,
                      struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    (void)req;
    (void)k;
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT id, name, region, cross_province, services, hours FROM offices "
                    "ORDER BY id",
                    NULL, 0, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < hs_rows_count(r); i++) {
        unsigned bits = 0;
        char province[3];
        services_parse(hs_rows_text(r, i, 4), &bits);
        snprintf(province, sizeof(province), "%.2s", hs_rows_text(r, i, 2));
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s}", "id", hs_rows_text(r, i, 0),
                            "name", hs_rows_text(r, i, 1), "region", hs_rows_text(r, i, 2),
                            "province", province, "cross_province", hs_rows_int(r, i, 3) != 0,
                            "services", services_json(bits), "hours", hs_rows_text(r, i, 5)));
    }
    hs_rows_free(r);
    hs_api_reply_signed(
        api, res, 200, "huimin-offices",
        json_pack("{s:o, s:I}", "offices", list, "iat", (json_int_t)hs_api_now(api)));
}

/* ---- availability ------------------------------------------------------------------- */

/* The unix time booking for day opens at the office. */
static int64_t opens_unix(struct hs_api *api, const struct hs_marriage_office *o, int32_t day)
{
    int64_t local = 0;
    if (hs_marriage_booking_opens(&api->d.cfg->marriage, o, day, &local) != HS_OK)
        return 0;
    return local - HS_MARRIAGE_UTC_OFFSET;
}

void hs_api_h_availability(struct hs_api *api, const struct hs_http_request *req,
                           struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    (void)k;
    struct office *of = NULL;
    struct hs_rows *r = NULL;
    struct hs_marriage_slot *slots = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *office = hs_api_json_str(body, "office", HS_MARRIAGE_ID_MAX - 1);
    const char *service = hs_api_json_str(body, "service", 32);
    const char *from = hs_api_json_str(body, "from", 10);
    json_t *days = json_object_get(body, "days");
    enum hs_marriage_service sv;
    int32_t first;
    if (!office || !service || !hs_marriage_service_parse(service, strlen(service), &sv) || !from ||
        !hs_marriage_day_parse(from, strlen(from), &first) || !json_is_integer(days) ||
        json_integer_value(days) < 1 || json_integer_value(days) > DAYS_MAX ||
        first + DAYS_MAX > HS_MARRIAGE_DAY_MAX) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need office, service (marriage, divorce_application, "
                           "divorce_confirmation or reissue), from (YYYY-MM-DD) and days "
                           "(1..31)");
        goto out;
    }
    int ndays = (int)json_integer_value(days);
    of = malloc(sizeof(*of));
    slots = calloc(HS_MARRIAGE_MAX_SLOTS, sizeof(*slots));
    if (!of || !slots) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    enum api_err e = office_load(api, office, of);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        goto out;
    }
    if (!(of->o.services & HS_MARRIAGE_SVC_BIT(sv))) {
        hs_api_reply_error(api, res, ERR_M_SERVICE_NOT_OFFERED, NULL);
        goto out;
    }
    char d0[HS_MARRIAGE_DATE_LEN], d1[HS_MARRIAGE_DATE_LEN];
    hs_marriage_day_format(first, d0, sizeof(d0));
    hs_marriage_day_format(first + ndays - 1, d1, sizeof(d1));
    const struct hs_val p[] = { hs_text(office), hs_text(d0), hs_text(d1) };
    if (hs_api_read(api,
                    "SELECT day, slot, booked FROM slot_counts WHERE office_id = $1 AND day >= "
                    "$2 AND day <= $3",
                    p, 3, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        goto out;
    }
    json_t *list = json_array();
    for (int32_t day = first; day < first + ndays; day++) {
        size_t n = 0;
        char dt[HS_MARRIAGE_DATE_LEN];
        hs_marriage_day_format(day, dt, sizeof(dt));
        hs_marriage_office_slots(&of->o, day, slots, HS_MARRIAGE_MAX_SLOTS, &n);
        json_t *js = json_array();
        for (size_t i = 0; i < n; i++) {
            char start[SLOT_TEXT], end[SLOT_TEXT];
            slot_format(slots[i].start, start);
            slot_format(slots[i].end, end);
            int64_t booked = 0;
            for (int j = 0; j < hs_rows_count(r); j++)
                if (strcmp(hs_rows_text(r, j, 0), dt) == 0 &&
                    strcmp(hs_rows_text(r, j, 1), start) == 0)
                    booked = hs_rows_int(r, j, 2);
            int64_t free_places = slots[i].capacity - booked;
            json_array_append_new(js, json_pack("{s:s, s:s, s:i, s:I}", "start", start, "end", end,
                                                "capacity", (int)slots[i].capacity, "free",
                                                (json_int_t)(free_places > 0 ? free_places : 0)));
        }
        json_array_append_new(list,
                              json_pack("{s:s, s:b, s:I, s:o}", "date", dt, "special",
                                        special_of(&of->o, day) != NULL, "opens_at",
                                        (json_int_t)opens_unix(api, &of->o, day), "slots", js));
    }
    hs_api_reply_signed(api, res, 200, "huimin-availability",
                        json_pack("{s:s, s:s, s:o, s:I}", "office", office, "service",
                                  hs_marriage_service_name(sv), "days", list, "iat",
                                  (json_int_t)hs_api_now(api)));
out:
    hs_rows_free(r);
    free(slots);
    free(of);
    json_decref(body);
}

/* ---- ID sessions ---------------------------------------------------------------------- */

struct idsess_write {
    const char *nonce; /* NULL: the test hook (no card, no nonce) */
    const char *kiosk;
    char id[HS_NONCE_TEXT];
    char person[HS_PERSON_LEN + 1];
    const char *name, *masked;
    char sex[2], birth[HS_MARRIAGE_DATE_LEN], province[3];
    uint8_t *sealed;
    size_t sealed_len;
    int64_t now, exp;
};

/* Consumes the nonce and opens the session in one transaction, with its audit record. */
static hs_rc idsess_fn(struct hs_conn *c, void *arg)
{
    struct idsess_write *a = arg;
    hs_rc rc = HS_OK;
    if (a->nonce)
        rc = hs_nonce_consume_in(c, a->nonce, a->kiosk, "id-card", a->now);
    if (rc != HS_OK)
        return rc;
    const struct hs_val p[] = {
        hs_text(a->id),    hs_text(a->kiosk),    hs_text(a->person),
        hs_text(a->name),  hs_text(a->masked),   hs_text(a->sex),
        hs_text(a->birth), hs_text(a->province), hs_blob(a->sealed, a->sealed_len),
        hs_int(a->now),    hs_int(a->exp),
    };
    rc = hs_exec(c,
                 "INSERT INTO id_sessions (id, kiosk_id, person, name, id_masked, sex, birth, "
                 "province, sealed_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, "
                 "$7, $8, $9, $10, $11)",
                 p, 11, NULL);
    if (rc != HS_OK)
        return rc;
    char actor[80], detail[160];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    snprintf(detail, sizeof(detail), "{\"id_masked\":\"%s\",\"person\":\"%s\"%s}", a->masked,
             a->person, a->nonce ? "" : ",\"test\":true");
    struct hs_audit_rec rec = { .actor = actor,
                                .action = a->nonce ? "id.session" : "id.session.test",
                                .subject = a->id,
                                .detail = detail,
                                .at = a->now };
    return hs_audit_append(c, &rec, NULL);
}

/*
 * Opens an ID session for a verified citizen ID number (the card's, or the
 * test hook's): the person key, the number sealed for this session, the
 * write, the signed answer. nonce NULL for the test hook.
 */
static void idsess_open(struct hs_api *api, struct hs_http_response *res,
                        const struct hs_api_kiosk *k, const char *nonce,
                        const struct hs_marriage_person *pp, const char *name)
{
    struct idsess_write w = { .nonce = nonce, .kiosk = k->id, .name = name, .masked = pp->masked };
    uint8_t raw[HS_NONCE_BYTES];
    char aad[64];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        return;
    }
    hs_b64url_encode(raw, sizeof(raw), w.id);
    snprintf(aad, sizeof(aad), "id-session:%s", w.id);
    if (hs_person_of(api->person_key, pp->id, strlen(pp->id), w.person) != HS_OK ||
        hs_seal(api->seal_key, aad, (const uint8_t *)pp->id, strlen(pp->id), &w.sealed,
                &w.sealed_len) != HS_OK) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        return;
    }
    hm_strlcpy(w.sex, pp->sex == HS_MARRIAGE_MALE ? "M" : "F", sizeof(w.sex));
    hs_marriage_day_format(pp->birth, w.birth, sizeof(w.birth));
    snprintf(w.province, sizeof(w.province), "%02u", (unsigned)pp->province % 100u);
    w.now = hs_api_now(api);
    w.exp = w.now + api->d.cfg->session_ttl_s;
    hs_rc rc = hs_store_write(api->d.store, idsess_fn, &w);
    free(w.sealed);
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        return;
    }
    hs_api_reply_signed(api, res, 201, "huimin-id-session",
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id_session",
                                  w.id, "kiosk", k->id, "name", name, "id_masked", pp->masked,
                                  "sex", w.sex, "birth", w.birth, "province", w.province, "iat",
                                  (json_int_t)w.now, "exp", (json_int_t)w.exp));
}

/* A base64url member into an evidence buffer; false when malformed (or missing unless
 * optional). */
static bool evidence_file(json_t *o, const char *key, struct hm_buf *b, uint8_t *tmp, bool optional)
{
    size_t len = 0;
    if (!hs_api_json_b64(o, key, tmp, ID_FILE_MAX, &len, optional))
        return false;
    if (len == 0)
        return optional && !json_object_get(o, key);
    return hm_buf_add(b, tmp, len);
}

/* The document's expiry "YYMMDD" as a day (20YY: documents of this century); false if bad. */
static bool expiry_day(const char *yymmdd, int32_t *day)
{
    if (strlen(yymmdd) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (yymmdd[i] < '0' || yymmdd[i] > '9')
            return false;
    int y = 2000 + (yymmdd[0] - '0') * 10 + (yymmdd[1] - '0');
    int m = (yymmdd[2] - '0') * 10 + (yymmdd[3] - '0');
    int d = (yymmdd[4] - '0') * 10 + (yymmdd[5] - '0');
    return hs_marriage_day_from_ymd(y, m, d, day);
}

void hs_api_h_id_sessions(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct cl_emrtd_evidence *ev = NULL;
    uint8_t *tmp = NULL;
    struct hs_marriage_person pp;
    memset(&pp, 0, sizeof(pp));
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    ev = calloc(1, sizeof(*ev));
    tmp = malloc(ID_FILE_MAX);
    if (!ev || !tmp) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    cl_emrtd_evidence_init(ev);
    const char *nonce = hs_api_json_str(body, "nonce", HS_NONCE_TEXT - 1);
    json_t *e = json_object_get(body, "evidence");
    size_t aa_len = 0;
    if (!nonce || strlen(nonce) != HS_NONCE_TEXT - 1 || !json_is_object(e) ||
        !evidence_file(e, "com", &ev->com, tmp, false) ||
        !evidence_file(e, "sod", &ev->sod, tmp, false) ||
        !evidence_file(e, "dg1", &ev->dg[1], tmp, false) ||
        !evidence_file(e, "dg11", &ev->dg[11], tmp, false) ||
        !evidence_file(e, "dg14", &ev->dg[14], tmp, true) ||
        !evidence_file(e, "dg15", &ev->dg[15], tmp, false) ||
        !hs_api_json_b64(e, "aa_signature", ev->aa_sig, sizeof(ev->aa_sig), &aa_len, false) ||
        aa_len == 0) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need nonce and evidence {com, sod, dg1, dg11, dg14?, dg15, "
                           "aa_signature} in base64url");
        goto out;
    }
    ev->aa_sig_len = aa_len;
    if (!api->csca || !api->have_seal) {
        hs_api_reply_error(api, res, ERR_INTERNAL,
                           !api->csca ? "the server has no CSCA trust store for ID cards"
                                      : "the server cannot read its seal key");
        goto out;
    }
    /* The challenge the chip signed is the server's: the first 8 bytes of SHA-256(nonce). */
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(nonce, strlen(nonce), md, &mdlen, EVP_sha256(), NULL) != 1) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    memcpy(ev->challenge, md, CL_EMRTD_CHALLENGE_LEN);
    ev->challenge_len = CL_EMRTD_CHALLENGE_LEN;

    int64_t now = hs_api_now(api);
    struct cl_verdict verdict;
    cl_rc crc = cl_emrtd_verify(api->csca, now, ev, &verdict);
    if (crc != CL_OK || !cl_emrtd_genuine(&verdict)) {
        const struct cl_check *f = crc == CL_OK ? cl_verdict_first_failure(&verdict) : NULL;
        char detail[CL_CHECK_REASON_MAX + 64];
        if (!f && crc == CL_OK) {
            /* Nothing failed, yet not genuine: a check that must pass was not made. */
            for (size_t i = 0; i < verdict.n && !f; i++)
                if (verdict.checks[i].state != CL_CHECK_PASSED &&
                    strcmp(verdict.checks[i].name, "revocation") != 0)
                    f = &verdict.checks[i];
        }
        snprintf(detail, sizeof(detail), "%s", f ? f->name : "verify");
        hm_log_info("kiosk %s: ID card refused: %s: %s", k->id, detail,
                    f ? f->reason : cl_strerror(crc));
        hs_api_reply_error(api, res, ERR_ID_NOT_GENUINE, detail);
        goto out;
    }
    struct cl_mrz mrz;
    struct cl_dg11 dg11;
    if (cl_lds_parse_dg1(ev->dg[1].data, ev->dg[1].len, &mrz) != CL_OK ||
        cl_lds_parse_dg11(ev->dg[11].data, ev->dg[11].len, &dg11) != CL_OK) {
        hs_api_reply_error(api, res, ERR_ID_UNREADABLE, "DG1 or DG11 does not parse");
        goto out;
    }
    if (strcmp(mrz.issuer, "CHN") != 0) {
        hs_api_reply_error(api, res, ERR_ID_UNREADABLE, "not a document of China (CHN)");
        goto out;
    }
    int32_t expiry;
    if (!expiry_day(mrz.expiry, &expiry)) {
        hs_api_reply_error(api, res, ERR_ID_UNREADABLE, "the expiry date in DG1 is not valid");
        goto out;
    }
    if (expiry < day_of(hs_marriage_local_time(now))) {
        char dt[HS_MARRIAGE_DATE_LEN];
        hs_marriage_day_format(expiry, dt, sizeof(dt));
        hs_api_reply_error(api, res, ERR_ID_EXPIRED, dt);
        goto out;
    }
    char err[128];
    if (!dg11.has_personal_number ||
        hs_marriage_person_from_id(dg11.personal_number, strlen(dg11.personal_number), &pp, err,
                                   sizeof(err)) != HS_OK) {
        hs_api_reply_error(api, res, ERR_ID_UNREADABLE,
                           "DG11 holds no valid citizen ID number (GB 11643)");
        goto out;
    }
    char name[CL_DG11_TEXT_MAX + 80];
    if (dg11.has_name && dg11.full_name[0])
        hm_strlcpy(name, dg11.full_name, sizeof(name));
    else
        snprintf(name, sizeof(name), "%s %s", mrz.primary, mrz.secondary);
    idsess_open(api, res, k, nonce, &pp, name);
out:
    hm_wipe(&pp, sizeof(pp));
    if (ev)
        cl_emrtd_evidence_free(ev);
    free(ev);
    free(tmp);
    json_decref(body);
}

void hs_api_h_test_id_sessions(struct hs_api *api, const struct hs_http_request *req,
                               struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct hs_marriage_person pp;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *id = hs_api_json_str(body, "citizen_id", 18);
    const char *name = hs_api_json_str(body, "name", 100);
    char err[128];
    if (!id || !name) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, "need citizen_id and name");
    } else if (!api->have_seal) {
        hs_api_reply_error(api, res, ERR_INTERNAL, "the server cannot read its seal key");
    } else if (hs_marriage_person_from_id(id, strlen(id), &pp, err, sizeof(err)) != HS_OK) {
        hs_api_reply_error(api, res, ERR_ID_UNREADABLE, "not a valid citizen ID number");
    } else {
        idsess_open(api, res, k, NULL, &pp, name);
        hm_wipe(&pp, sizeof(pp));
    }
    json_decref(body);
}

/* ---- the parties of a booking ---------------------------------------------------------- */

struct party {
    char session[HS_NONCE_TEXT];
    char person[HS_PERSON_LEN + 1];
    char name[256];
    char masked[19];
    char spouse[HS_PERSON_LEN + 1]; /* the registry's spouse, "" when none */
    int32_t applied;                /* a pending divorce application's day, or NO_DAY */
    bool has_record;
    struct hs_marriage_party mp;
};

/* A current ID session of this kiosk and its person, or replies with the error (false). */
static bool id_session_get(struct hs_api *api, struct hs_http_response *res,
                           const struct hs_api_kiosk *k, const char *sid, struct party *out)
{
    const struct hs_val p[] = { hs_text(sid) };
    struct hs_rows *r = NULL;
    if (!api->have_seal) {
        hs_api_reply_error(api, res, ERR_INTERNAL, "the server cannot read its seal key");
        return false;
    }
    if (hs_api_read(api,
                    "SELECT kiosk_id, person, name, id_masked, sealed_id, expires_at FROM "
                    "id_sessions WHERE id = $1",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    enum api_err e = ERR_COUNT;
    if (hs_rows_count(r) == 0)
        e = ERR_ID_SESSION_UNKNOWN;
    else if (strcmp(hs_rows_text(r, 0, 0), k->id) != 0)
        e = ERR_ID_SESSION_KIOSK;
    else if (hs_rows_int(r, 0, 5) <= hs_api_now(api))
        e = ERR_ID_SESSION_EXPIRED;
    if (e == ERR_COUNT) {
        char aad[64];
        size_t blen = 0, idlen = 0;
        const uint8_t *blob = hs_rows_blob(r, 0, 4, &blen);
        uint8_t *id = NULL;
        snprintf(aad, sizeof(aad), "id-session:%s", sid);
        memset(out, 0, sizeof(*out));
        hm_strlcpy(out->session, sid, sizeof(out->session));
        hm_strlcpy(out->person, hs_rows_text(r, 0, 1), sizeof(out->person));
        hm_strlcpy(out->name, hs_rows_text(r, 0, 2), sizeof(out->name));
        hm_strlcpy(out->masked, hs_rows_text(r, 0, 3), sizeof(out->masked));
        if (!blob || hs_unseal(api->seal_key, aad, blob, blen, &id, &idlen) != HS_OK ||
            hs_marriage_person_from_id((const char *)id, idlen, &out->mp.person, NULL, 0) !=
                HS_OK) {
            hm_log_error("ID session %.8s…: the sealed ID number does not open", sid);
            e = ERR_INTERNAL;
        }
        if (id) {
            hm_wipe(id, idlen);
            free(id);
        }
    }
    hs_rows_free(r);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        return false;
    }
    return true;
}

/*
 * What the registry and the bookings say about a party for the service:
 * marital status (single when the registry has no record), spouse, household
 * region, a pending divorce application, active bookings (other than the
 * appointment being rescheduled) and recent no-shows up to today.
 */
static hs_rc party_facts(struct hs_api *api, const char *service, const char *exclude,
                         int32_t today, struct party *pt)
{
    const struct hs_val p[] = { hs_text(pt->person) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_api_read(api,
                           "SELECT status, spouse, hukou_region, divorce_applied FROM marriages "
                           "WHERE person = $1",
                           p, 1, &r);
    if (rc != HS_OK)
        return rc;
    pt->mp.status = HS_MARRIAGE_SINGLE;
    pt->applied = HS_MARRIAGE_NO_DAY;
    pt->spouse[0] = '\0';
    if (hs_rows_count(r) == 1) {
        int64_t st = hs_rows_int(r, 0, 0);
        pt->has_record = true;
        if (st >= HS_MARRIAGE_SINGLE && st <= HS_MARRIAGE_WIDOWED)
            pt->mp.status = (enum hs_marriage_status)st;
        hm_strlcpy(pt->spouse, hs_rows_text(r, 0, 1), sizeof(pt->spouse));
        const char *hk = hs_rows_text(r, 0, 2), *ap = hs_rows_text(r, 0, 3);
        pt->mp.hukou_region = strlen(hk) == 6 ? (int32_t)strtol(hk, NULL, 10) : 0;
        int32_t d;
        if (ap[0] && hs_marriage_day_parse(ap, strlen(ap), &d) && d <= today)
            pt->applied = d;
    }
    hs_rows_free(r);
    const struct hs_val pb[] = { hs_text(pt->person), hs_text(service),
                                 hs_text(exclude ? exclude : "") };
    rc = hs_api_read(api,
                     "SELECT COUNT(*) FROM appointment_parties WHERE person = $1 AND service = $2 "
                     "AND active = 1 AND appointment_id <> $3",
                     pb, 3, &r);
    if (rc != HS_OK)
        return rc;
    pt->mp.active_bookings = (unsigned)hs_rows_int(r, 0, 0);
    hs_rows_free(r);
    rc = hs_api_read(api, "SELECT day FROM no_shows WHERE person = $1 ORDER BY day DESC", p, 1, &r);
    if (rc != HS_OK)
        return rc;
    pt->mp.n_no_shows = 0;
    for (int i = 0; i < hs_rows_count(r) && pt->mp.n_no_shows < HS_MARRIAGE_MAX_NO_SHOWS; i++) {
        const char *dt = hs_rows_text(r, i, 0);
        int32_t d;
        if (hs_marriage_day_parse(dt, strlen(dt), &d) && d <= today)
            pt->mp.no_shows[pt->mp.n_no_shows++] = d;
    }
    hs_rows_free(r);
    return HS_OK;
}

/* ---- taking a place ------------------------------------------------------------------ */

enum book_why { WHY_NONE = 0, WHY_FULL, WHY_ACTIVE, WHY_OLD_GONE };

struct book_write {
    const char *kiosk, *service, *office;
    char day[HS_MARRIAGE_DATE_LEN], slot[SLOT_TEXT];
    int capacity;
    char id[TICKET_TEXT];
    const char *ticket;
    int nparties;
    const struct party *party[2];
    /* Rescheduling: the appointment replaced and its place. */
    const char *replaces;
    char old_day[HS_MARRIAGE_DATE_LEN], old_slot[SLOT_TEXT];
    const char *old_office;
    int64_t now;
    enum book_why why;
};

/* Gives a slot's place back (cancel, reschedule); booked never goes below 0. */
static hs_rc free_place(struct hs_conn *c, const char *office, const char *day, const char *slot)
{
    const struct hs_val p[] = { hs_text(office), hs_text(day), hs_text(slot) };
    return hs_exec(c,
                   "UPDATE slot_counts SET booked = booked - 1 WHERE office_id = $1 AND day = $2 "
                   "AND slot = $3 AND booked > 0",
                   p, 3, NULL);
}

/*
 * One transaction: (rescheduling: the old appointment booked -> rescheduled,
 * its parties inactive, its place freed), the slot's row made if it is the
 * first booking, the place taken only while booked < capacity (exactly one
 * row changed, or the slot is full), the appointment and one active row per
 * party (the partial unique index refuses a second active booking of a
 * person for the service), and the audit record. HS_E_CONFLICT with why set
 * when a rule of the storage refused it.
 */
static hs_rc book_fn(struct hs_conn *c, void *arg)
{
    struct book_write *a = arg;
    hs_rc rc = hs_audit_lock(c); /* the head first: one lock order in every process */
    a->why = WHY_NONE;
    if (rc != HS_OK)
        return rc;
    if (a->replaces) {
        const struct hs_val po[] = { hs_text(a->replaces), hs_int(a->now) };
        rc = hs_exec(c,
                     "UPDATE appointments SET status = 'rescheduled', updated_at = $2 WHERE id = "
                     "$1 AND status = 'booked'",
                     po, 2, NULL);
        if (rc != HS_OK)
            return rc;
        if (hs_changes(c) != 1) {
            a->why = WHY_OLD_GONE;
            return HS_E_CONFLICT;
        }
        rc = hs_exec(c, "UPDATE appointment_parties SET active = 0 WHERE appointment_id = $1", po,
                     1, NULL);
        if (rc == HS_OK)
            rc = free_place(c, a->old_office, a->old_day, a->old_slot);
        if (rc != HS_OK)
            return rc;
    }
    const struct hs_val ps[] = { hs_text(a->office), hs_text(a->day), hs_text(a->slot),
                                 hs_int(a->capacity) };
    rc = hs_exec(c,
                 "INSERT INTO slot_counts (office_id, day, slot, capacity, booked) VALUES ($1, "
                 "$2, $3, $4, 0) ON CONFLICT (office_id, day, slot) DO NOTHING",
                 ps, 4, NULL);
    if (rc != HS_OK)
        return rc;
    rc = hs_exec(c,
                 "UPDATE slot_counts SET booked = booked + 1 WHERE office_id = $1 AND day = $2 "
                 "AND slot = $3 AND booked < capacity",
                 ps, 3, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) != 1) {
        a->why = WHY_FULL;
        return HS_E_CONFLICT;
    }
    const struct hs_val pa[] = { hs_text(a->id),       hs_text(a->service), hs_text(a->office),
                                 hs_text(a->day),      hs_text(a->slot),    hs_text(a->kiosk),
                                 hs_text(a->replaces), hs_text(a->ticket),  hs_int(a->now) };
    rc = hs_exec(c,
                 "INSERT INTO appointments (id, service, office_id, day, slot, status, kiosk_id, "
                 "replaces, ticket, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
                 "'booked', $6, $7, $8, $9, $9)",
                 pa, 9, NULL);
    if (rc != HS_OK)
        return rc;
    for (int i = 0; i < a->nparties; i++) {
        const struct party *pt = a->party[i];
        const struct hs_val pp[] = { hs_text(a->id),      hs_int(i + 1),     hs_text(pt->person),
                                     hs_text(a->service), hs_text(pt->name), hs_text(pt->masked) };
        rc = hs_exec(c,
                     "INSERT INTO appointment_parties (appointment_id, party, person, service, "
                     "name, id_masked, active) VALUES ($1, $2, $3, $4, $5, $6, 1)",
                     pp, 6, NULL);
        if (rc == HS_E_DB_CONSTRAINT) {
            a->why = WHY_ACTIVE;
            return HS_E_CONFLICT;
        }
        if (rc != HS_OK)
            return rc;
    }
    char actor[80], detail[256];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    snprintf(detail, sizeof(detail),
             "{\"day\":\"%s\",\"office\":\"%s\",%s%s%s\"service\":\"%s\",\"slot\":\"%s\"}", a->day,
             a->office, a->replaces ? "\"replaces\":\"" : "", a->replaces ? a->replaces : "",
             a->replaces ? "\"," : "", a->service, a->slot);
    struct hs_audit_rec rec = { .actor = actor,
                                .action =
                                    a->replaces ? "appointment.reschedule" : "appointment.book",
                                .subject = a->id,
                                .detail = detail,
                                .at = a->now };
    return hs_audit_append(c, &rec, NULL);
}

/* The ticket (compact JWS typ huimin-ticket, for a QR code); *token malloc'd. */
static hs_rc ticket_sign(struct hs_api *api, const struct book_write *w, char **token)
{
    json_t *names = json_array(), *masked = json_array();
    for (int i = 0; i < w->nparties; i++) {
        json_array_append_new(names, json_string(w->party[i]->name));
        json_array_append_new(masked, json_string(w->party[i]->masked));
    }
    return sign_json(api, "huimin-ticket",
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I}", "t", w->id, "sv",
                               w->service, "o", w->office, "d", w->day, "sl", w->slot, "n", names,
                               "m", masked, "iat", (json_int_t)w->now),
                     token);
}

/*
 * Judges a booking of the parties for the service at the office's slot
 * (hs_marriage_check with the registry's facts at the server's clock) and,
 * when it passes, takes the place and answers with the ticket. replaces: the
 * appointment being rescheduled (its parties' booking of it does not count),
 * or NULL.
 */
static void book(struct hs_api *api, struct hs_http_response *res, const struct hs_api_kiosk *k,
                 enum hs_marriage_service sv, const struct office *of, int32_t day, uint16_t start,
                 struct party *parties, int nparties, const char *replaces, const char *old_day,
                 const char *old_slot)
{
    const char *service = hs_marriage_service_name(sv);
    int64_t now = hs_api_now(api), local = hs_marriage_local_time(now);
    int32_t today = day_of(local);
    char *token = NULL;
    struct hs_marriage_slot *slots = NULL;
    for (int i = 0; i < nparties; i++) {
        hs_rc rc = party_facts(api, service, replaces, today, &parties[i]);
        if (rc != HS_OK) {
            hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
            return;
        }
    }
    struct party *a = &parties[0], *b = nparties == 2 ? &parties[1] : NULL;
    struct hs_marriage_request q = {
        .service = sv,
        .day = day,
        .start = start,
        .now = local,
        .office = &of->o,
        .a = &a->mp,
        .b = b ? &b->mp : NULL,
        .married_to_each_other = b && a->spouse[0] && b->spouse[0] &&
                                 strcmp(a->spouse, b->person) == 0 &&
                                 strcmp(b->spouse, a->person) == 0,
        .application_day = a->applied != HS_MARRIAGE_NO_DAY ? a->applied
                           : b                              ? b->applied
                                                            : HS_MARRIAGE_NO_DAY,
    };
    struct hs_marriage_verdict v;
    if (hs_marriage_check(&api->d.cfg->marriage, &q, &v) != HS_OK) {
        hm_log_error("kiosk %s: a booking could not be judged (bad input to the rules)", k->id);
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        return;
    }
    if (!v.ok) {
        char detail[32] = "";
        if (v.refusal == HS_MARRIAGE_BOOKING_NOT_OPEN || v.refusal == HS_MARRIAGE_TOO_FAR_AHEAD)
            snprintf(detail, sizeof(detail), "%" PRId64, opens_unix(api, &of->o, day));
        hm_log_info("kiosk %s: booking refused: %s (party %d)", k->id, v.code, v.party);
        reply_verdict(api, res, &v, detail);
        return;
    }
    /* The slot's capacity that day (the special date's, or the office's). */
    size_t n = 0;
    int capacity = 0;
    slots = calloc(HS_MARRIAGE_MAX_SLOTS, sizeof(*slots));
    if (!slots) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        return;
    }
    hs_marriage_office_slots(&of->o, day, slots, HS_MARRIAGE_MAX_SLOTS, &n);
    for (size_t i = 0; i < n; i++)
        if (slots[i].start == start)
            capacity = slots[i].capacity;
    free(slots);
    if (capacity <= 0) {
        hs_api_reply_error(api, res, ERR_M_NO_SUCH_SLOT, NULL);
        return;
    }
    char day_text[HS_MARRIAGE_DATE_LEN], slot_text[SLOT_TEXT];
    hs_marriage_day_format(day, day_text, sizeof(day_text));
    slot_format(start, slot_text);
    /* A slot full in the last committed state is answered without writing (a rush's tail
     * would otherwise queue for the slot's lock); the write below still decides. */
    if (!replaces || strcmp(old_day, day_text) != 0 || strcmp(old_slot, slot_text) != 0) {
        const struct hs_val ps[] = { hs_text(of->o.id), hs_text(day_text), hs_text(slot_text) };
        struct hs_rows *r = NULL;
        if (hs_api_read(api,
                        "SELECT booked, capacity FROM slot_counts WHERE office_id = $1 AND day = "
                        "$2 AND slot = $3",
                        ps, 3, &r) != HS_OK) {
            hs_api_reply_error(api, res, ERR_STORAGE, NULL);
            return;
        }
        bool full = hs_rows_count(r) == 1 && hs_rows_int(r, 0, 0) >= hs_rows_int(r, 0, 1);
        hs_rows_free(r);
        if (full) {
            hs_api_reply_error(api, res, ERR_SLOT_FULL, NULL);
            return;
        }
    }
    struct book_write w = { .kiosk = k->id,
                            .service = service,
                            .office = of->o.id,
                            .capacity = capacity,
                            .nparties = nparties,
                            .party = { a, b },
                            .replaces = replaces,
                            .old_office = of->o.id,
                            .now = now };
    hm_strlcpy(w.day, day_text, sizeof(w.day));
    hm_strlcpy(w.slot, slot_text, sizeof(w.slot));
    if (replaces) {
        hm_strlcpy(w.old_day, old_day, sizeof(w.old_day));
        hm_strlcpy(w.old_slot, old_slot, sizeof(w.old_slot));
    }
    if (!random_ticket(w.id) || ticket_sign(api, &w, &token) != HS_OK) {
        hs_api_reply_error(api, res, ERR_INTERNAL, "signing failed");
        return;
    }
    w.ticket = token;
    hs_rc rc = hs_store_write(api->d.store, book_fn, &w);
    if (rc == HS_OK) {
        hs_api_reply_token(api, res, 201, token);
    } else if (w.why == WHY_FULL) {
        hs_api_reply_error(api, res, ERR_SLOT_FULL, NULL);
    } else if (w.why == WHY_ACTIVE) {
        hs_api_reply_error(api, res, ERR_M_ACTIVE_BOOKING, NULL);
    } else if (w.why == WHY_OLD_GONE) {
        hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, "it changed meanwhile");
    } else {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
    }
    free(token);
}

/* Reads the parties' ID sessions of a booking request: one for re-issue, two otherwise, not
 * the same twice. Replies with the error (false). */
static bool parties_get(struct hs_api *api, struct hs_http_response *res,
                        const struct hs_api_kiosk *k, json_t *list, enum hs_marriage_service sv,
                        struct party *out, int *n)
{
    int want = hs_marriage_service_parties(sv);
    if (!json_is_array(list) || (int)json_array_size(list) != want) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           want == 1 ? "parties: one ID session for reissue"
                                     : "parties: the two parties' ID sessions");
        return false;
    }
    for (int i = 0; i < want; i++) {
        json_t *s = json_array_get(list, (size_t)i);
        if (!json_is_string(s) || json_string_length(s) != HS_NONCE_TEXT - 1) {
            hs_api_reply_error(api, res, ERR_BAD_REQUEST, "parties: ID session ids");
            return false;
        }
    }
    if (want == 2 && strcmp(json_string_value(json_array_get(list, 0)),
                            json_string_value(json_array_get(list, 1))) == 0) {
        hs_api_reply_error(api, res, ERR_M_SAME_PERSON, "the same ID session twice");
        return false;
    }
    for (int i = 0; i < want; i++)
        if (!id_session_get(api, res, k, json_string_value(json_array_get(list, (size_t)i)),
                            &out[i]))
            return false;
    *n = want;
    return true;
}

void hs_api_h_appointments(struct hs_api *api, const struct hs_http_request *req,
                           struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct office *of = NULL;
    struct party *parties = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *service = hs_api_json_str(body, "service", 32);
    const char *office = hs_api_json_str(body, "office", HS_MARRIAGE_ID_MAX - 1);
    const char *date = hs_api_json_str(body, "date", 10);
    const char *slot = hs_api_json_str(body, "slot", 5);
    enum hs_marriage_service sv;
    int32_t day;
    uint16_t start;
    int n = 0;
    if (!service || !hs_marriage_service_parse(service, strlen(service), &sv) || !office || !date ||
        !hs_marriage_day_parse(date, strlen(date), &day) || !slot_parse(slot, &start)) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need service, office, date (YYYY-MM-DD), slot (HH:MM) and parties");
        goto out;
    }
    of = malloc(sizeof(*of));
    parties = calloc(2, sizeof(*parties));
    if (!of || !parties) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!parties_get(api, res, k, json_object_get(body, "parties"), sv, parties, &n))
        goto out;
    enum api_err e = office_load(api, office, of);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        goto out;
    }
    book(api, res, k, sv, of, day, start, parties, n, NULL, NULL, NULL);
out:
    if (parties)
        hm_wipe(parties, 2 * sizeof(*parties));
    free(parties);
    free(of);
    json_decref(body);
}

/* ---- an existing appointment ----------------------------------------------------------- */

struct appt {
    char id[TICKET_TEXT];
    char service[32], office[HS_MARRIAGE_ID_MAX], day[HS_MARRIAGE_DATE_LEN], slot[SLOT_TEXT];
    char status[16];
    int nparties;
    char person[2][HS_PERSON_LEN + 1];
};

/* An appointment and its parties, or replies with appointment_unknown (false). */
static bool appt_get(struct hs_api *api, struct hs_http_response *res, const char *id,
                     struct appt *out)
{
    const struct hs_val p[] = { hs_text(id) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT service, office_id, day, slot, status FROM appointments WHERE id = $1",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        hs_api_reply_error(api, res, ERR_APPT_UNKNOWN, NULL);
        return false;
    }
    memset(out, 0, sizeof(*out));
    hm_strlcpy(out->id, id, sizeof(out->id));
    hm_strlcpy(out->service, hs_rows_text(r, 0, 0), sizeof(out->service));
    hm_strlcpy(out->office, hs_rows_text(r, 0, 1), sizeof(out->office));
    hm_strlcpy(out->day, hs_rows_text(r, 0, 2), sizeof(out->day));
    hm_strlcpy(out->slot, hs_rows_text(r, 0, 3), sizeof(out->slot));
    hm_strlcpy(out->status, hs_rows_text(r, 0, 4), sizeof(out->status));
    hs_rows_free(r);
    if (hs_api_read(api,
                    "SELECT person FROM appointment_parties WHERE appointment_id = $1 ORDER BY "
                    "party",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        return false;
    }
    for (int i = 0; i < hs_rows_count(r) && i < 2; i++)
        hm_strlcpy(out->person[out->nparties++], hs_rows_text(r, i, 0), sizeof(out->person[0]));
    hs_rows_free(r);
    return true;
}

static bool appt_has(const struct appt *a, const char *person)
{
    for (int i = 0; i < a->nparties; i++)
        if (strcmp(a->person[i], person) == 0)
            return true;
    return false;
}

struct cancel_write {
    const struct appt *ap;
    const char *kiosk, *status; /* the new status: cancelled or checked_in */
    int64_t now;
    int64_t checked_in; /* check-in: appointments checked in at the office that day */
};

/*
 * booked -> cancelled (the place freed) or checked_in, the parties' rows
 * inactive, audited; HS_E_CONFLICT when it was no longer booked.
 */
static hs_rc end_fn(struct hs_conn *c, void *arg)
{
    struct cancel_write *a = arg;
    const struct hs_val p[] = { hs_text(a->ap->id), hs_int(a->now), hs_text(a->status) };
    hs_rc rc = hs_audit_lock(c); /* the head first, as book_fn */
    if (rc != HS_OK)
        return rc;
    rc = hs_exec(c,
                 "UPDATE appointments SET status = $3, updated_at = $2 WHERE id = $1 AND "
                 "status = 'booked'",
                 p, 3, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) != 1)
        return HS_E_CONFLICT;
    rc = hs_exec(c, "UPDATE appointment_parties SET active = 0 WHERE appointment_id = $1", p, 1,
                 NULL);
    if (rc == HS_OK && strcmp(a->status, "cancelled") == 0)
        rc = free_place(c, a->ap->office, a->ap->day, a->ap->slot);
    if (rc == HS_OK && strcmp(a->status, "checked_in") == 0) {
        const struct hs_val pc[] = { hs_text(a->ap->office), hs_text(a->ap->day) };
        struct hs_rows *r = NULL;
        rc = hs_exec(c,
                     "SELECT COUNT(*) FROM appointments WHERE office_id = $1 AND day = $2 AND "
                     "status = 'checked_in'",
                     pc, 2, &r);
        a->checked_in = rc == HS_OK ? hs_rows_int(r, 0, 0) : 0;
        hs_rows_free(r);
    }
    if (rc != HS_OK)
        return rc;
    char actor[80], detail[128];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    snprintf(detail, sizeof(detail), "{\"day\":\"%s\",\"office\":\"%s\",\"slot\":\"%s\"}",
             a->ap->day, a->ap->office, a->ap->slot);
    struct hs_audit_rec rec = { .actor = actor,
                                .action = strcmp(a->status, "cancelled") == 0
                                              ? "appointment.cancel"
                                              : "appointment.check_in",
                                .subject = a->ap->id,
                                .detail = detail,
                                .at = a->now };
    return hs_audit_append(c, &rec, NULL);
}

static void reply_cancelled(struct hs_api *api, struct hs_http_response *res, const char *id)
{
    hs_api_reply_signed(api, res, 200, "huimin-appointment",
                        json_pack("{s:s, s:s, s:I}", "t", id, "status", "cancelled", "iat",
                                  (json_int_t)hs_api_now(api)));
}

void hs_api_h_appt_cancel(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct party *pt = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *ticket = hs_api_json_str(body, "ticket", TICKET_TEXT - 1);
    const char *sid = hs_api_json_str(body, "id_session", HS_NONCE_TEXT - 1);
    struct appt ap;
    if (!ticket || !sid) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, "need ticket (its t) and id_session");
        goto out;
    }
    pt = calloc(1, sizeof(*pt));
    if (!pt) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!id_session_get(api, res, k, sid, pt) || !appt_get(api, res, ticket, &ap))
        goto out;
    if (!appt_has(&ap, pt->person)) {
        hs_api_reply_error(api, res, ERR_NOT_YOUR_APPT, NULL);
        goto out;
    }
    if (strcmp(ap.status, "cancelled") == 0) {
        reply_cancelled(api, res, ap.id);
        goto out;
    }
    if (strcmp(ap.status, "booked") != 0) {
        hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, ap.status);
        goto out;
    }
    int32_t day;
    uint16_t start;
    struct hs_marriage_verdict v;
    if (!hs_marriage_day_parse(ap.day, strlen(ap.day), &day) || !slot_parse(ap.slot, &start) ||
        hs_marriage_check_cancel(&api->d.cfg->marriage, day, start,
                                 hs_marriage_local_time(hs_api_now(api)), &v) != HS_OK) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!v.ok) {
        reply_verdict(api, res, &v, NULL);
        goto out;
    }
    struct cancel_write w = {
        .ap = &ap, .kiosk = k->id, .status = "cancelled", .now = hs_api_now(api)
    };
    hs_rc rc = hs_store_write(api->d.store, end_fn, &w);
    if (rc == HS_E_CONFLICT) {
        /* Another request changed it first: answer for what it is now. */
        if (appt_get(api, res, ticket, &ap)) {
            if (strcmp(ap.status, "cancelled") == 0)
                reply_cancelled(api, res, ap.id);
            else
                hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, ap.status);
        }
        goto out;
    }
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    reply_cancelled(api, res, ap.id);
out:
    if (pt)
        hm_wipe(pt, sizeof(*pt));
    free(pt);
    json_decref(body);
}

void hs_api_h_appt_reschedule(struct hs_api *api, const struct hs_http_request *req,
                              struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct office *of = NULL;
    struct party *parties = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *ticket = hs_api_json_str(body, "ticket", TICKET_TEXT - 1);
    const char *date = hs_api_json_str(body, "date", 10);
    const char *slot = hs_api_json_str(body, "slot", 5);
    int32_t day;
    uint16_t start;
    enum hs_marriage_service sv;
    struct appt ap;
    int n = 0;
    if (!ticket || !date || !hs_marriage_day_parse(date, strlen(date), &day) ||
        !slot_parse(slot, &start)) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need ticket (its t), parties, date (YYYY-MM-DD) and slot (HH:MM)");
        goto out;
    }
    of = malloc(sizeof(*of));
    parties = calloc(2, sizeof(*parties));
    if (!of || !parties) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!appt_get(api, res, ticket, &ap))
        goto out;
    if (!hs_marriage_service_parse(ap.service, strlen(ap.service), &sv)) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!parties_get(api, res, k, json_object_get(body, "parties"), sv, parties, &n))
        goto out;
    /* The same people as booked it: the new day is judged again for each of them. */
    for (int i = 0; i < n; i++)
        if (!appt_has(&ap, parties[i].person) || ap.nparties != n) {
            hs_api_reply_error(api, res, ERR_NOT_YOUR_APPT, NULL);
            goto out;
        }
    if (strcmp(ap.status, "booked") != 0) {
        hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, ap.status);
        goto out;
    }
    enum api_err e = office_load(api, ap.office, of);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        goto out;
    }
    book(api, res, k, sv, of, day, start, parties, n, ap.id, ap.day, ap.slot);
out:
    if (parties)
        hm_wipe(parties, 2 * sizeof(*parties));
    free(parties);
    free(of);
    json_decref(body);
}

void hs_api_h_appt_mine(struct hs_api *api, const struct hs_http_request *req,
                        struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct party *pt = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *sid = hs_api_json_str(body, "id_session", HS_NONCE_TEXT - 1);
    if (!sid) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, "need id_session");
        goto out;
    }
    pt = calloc(1, sizeof(*pt));
    if (!pt) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    if (!id_session_get(api, res, k, sid, pt))
        goto out;
    const struct hs_val p[] = { hs_text(pt->person) };
    struct hs_rows *r = NULL;
    if (hs_api_read(api,
                    "SELECT a.id, a.service, a.office_id, a.day, a.slot, a.status FROM "
                    "appointments a JOIN appointment_parties p ON p.appointment_id = a.id WHERE "
                    "p.person = $1 ORDER BY a.created_at DESC, a.id LIMIT 20",
                    p, 1, &r) != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        goto out;
    }
    json_t *list = json_array();
    for (int i = 0; i < hs_rows_count(r) && i < MINE_MAX; i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "t",
                                        hs_rows_text(r, i, 0), "sv", hs_rows_text(r, i, 1), "o",
                                        hs_rows_text(r, i, 2), "d", hs_rows_text(r, i, 3), "sl",
                                        hs_rows_text(r, i, 4), "status", hs_rows_text(r, i, 5)));
    hs_rows_free(r);
    hs_api_reply_signed(
        api, res, 200, "huimin-appointments",
        json_pack("{s:o, s:I}", "appointments", list, "iat", (json_int_t)hs_api_now(api)));
out:
    if (pt)
        hm_wipe(pt, sizeof(*pt));
    free(pt);
    json_decref(body);
}

/* ---- check-in ---------------------------------------------------------------------------- */

/* The ticket id of a signed ticket (our signature, typ huimin-ticket); false if not one. */
static bool ticket_id_of(struct hs_api *api, const char *token, char out[TICKET_TEXT])
{
    size_t cert_len = 0, len = 0;
    const uint8_t *cert = hs_signer_cert_der(api->d.signer, &cert_len);
    uint8_t *payload = NULL;
    bool ok = false;
    const char *dot = strchr(token, '.');
    if (!cert || !dot)
        return false;
    /* The header must say typ huimin-ticket: another signed answer is no ticket. */
    uint8_t hdr[256];
    size_t hlen = 0;
    if (hs_b64url_decode(token, (size_t)(dot - token), hdr, sizeof(hdr) - 1, &hlen) != HS_OK)
        return false;
    hdr[hlen] = '\0';
    json_t *h = json_loads((const char *)hdr, 0, NULL);
    json_t *typ = json_object_get(h, "typ");
    bool is_ticket = json_is_string(typ) && strcmp(json_string_value(typ), "huimin-ticket") == 0;
    json_decref(h);
    if (!is_ticket ||
        hs_jws_verify(token, strlen(token), cert, cert_len, &payload, &len, NULL) != HS_OK)
        return false;
    json_t *j = json_loadb((const char *)payload, len, 0, NULL);
    const char *t = hs_api_json_str(j, "t", TICKET_TEXT - 1);
    if (t && strlen(t) == TICKET_TEXT - 1) {
        hm_strlcpy(out, t, TICKET_TEXT);
        ok = true;
    }
    json_decref(j);
    free(payload);
    return ok;
}

void hs_api_h_check_ins(struct hs_api *api, const struct hs_http_request *req,
                        struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct party *pt = NULL;
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *token = hs_api_json_str(body, "ticket", HS_JWS_MAX);
    const char *sid = hs_api_json_str(body, "id_session", HS_NONCE_TEXT - 1);
    char id[TICKET_TEXT] = "", today_text[HS_MARRIAGE_DATE_LEN];
    struct appt ap;
    struct hs_kiosk kiosk;
    struct office *of = NULL;
    if ((!token) == (!sid)) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST, "need either ticket (the JWS) or id_session");
        goto out;
    }
    hs_rc rc = hs_kiosk_by_id(api->d.store, k->id, &kiosk);
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    hs_marriage_day_format(day_of(hs_marriage_local_time(hs_api_now(api))), today_text,
                           sizeof(today_text));
    if (token) {
        if (!ticket_id_of(api, token, id)) {
            hs_api_reply_error(api, res, ERR_TICKET_INVALID, NULL);
            goto out;
        }
    } else {
        pt = calloc(1, sizeof(*pt));
        if (!pt) {
            hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
            goto out;
        }
        if (!id_session_get(api, res, k, sid, pt))
            goto out;
        /* The person's booking at this kiosk's office today, if any; else their next one. */
        const struct hs_val p[] = { hs_text(pt->person), hs_text(kiosk.office),
                                    hs_text(today_text) };
        struct hs_rows *r = NULL;
        if (hs_api_read(api,
                        "SELECT a.id FROM appointments a JOIN appointment_parties p ON "
                        "p.appointment_id = a.id WHERE p.person = $1 AND a.status = 'booked' "
                        "ORDER BY (a.office_id = $2 AND a.day = $3) DESC, a.day, a.slot LIMIT 1",
                        p, 3, &r) != HS_OK) {
            hs_api_reply_error(api, res, ERR_STORAGE, NULL);
            goto out;
        }
        if (hs_rows_count(r) == 1)
            hm_strlcpy(id, hs_rows_text(r, 0, 0), sizeof(id));
        hs_rows_free(r);
        if (!id[0]) {
            hs_api_reply_error(api, res, ERR_APPT_UNKNOWN, "no booked appointment");
            goto out;
        }
    }
    if (!appt_get(api, res, id, &ap))
        goto out;
    if (strcmp(ap.office, kiosk.office) != 0) {
        hs_api_reply_error(api, res, ERR_OTHER_OFFICE, ap.office);
        goto out;
    }
    if (strcmp(ap.day, today_text) != 0) {
        hs_api_reply_error(api, res, ERR_NOT_TODAY, ap.day);
        goto out;
    }
    if (strcmp(ap.status, "booked") != 0) {
        hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, ap.status);
        goto out;
    }
    of = malloc(sizeof(*of));
    if (!of) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    enum api_err e = office_load(api, ap.office, of);
    if (e != ERR_COUNT) {
        hs_api_reply_error(api, res, e, NULL);
        goto out;
    }
    struct cancel_write w = {
        .ap = &ap, .kiosk = k->id, .status = "checked_in", .now = hs_api_now(api)
    };
    rc = hs_store_write(api->d.store, end_fn, &w);
    if (rc == HS_E_CONFLICT) {
        hs_api_reply_error(api, res, ERR_APPT_NOT_ACTIVE, "it changed meanwhile");
        goto out;
    }
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    /* Windows are called in turn: the n-th check-in of the day goes to window n mod capacity. */
    int64_t cap = of->o.capacity > 0 ? of->o.capacity : 1;
    hs_api_reply_signed(api, res, 200, "huimin-check-in",
                        json_pack("{s:s, s:s, s:I, s:I}", "t", ap.id, "status", "checked_in",
                                  "window", (json_int_t)((w.checked_in - 1 + cap) % cap + 1), "iat",
                                  (json_int_t)w.now));
out:
    if (pt)
        hm_wipe(pt, sizeof(*pt));
    free(pt);
    free(of);
    json_decref(body);
}
