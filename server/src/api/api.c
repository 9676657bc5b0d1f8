/* The /v1 API: routing, kiosk admission, JSON in, signed JWS out, errors with stable codes in
 * Chinese and English. */
#include "api_int.h"

#include "hs/audit.h"
#include "hs/jws.h"
#include "hs/marriage.h"
#include "hs/registry.h"

#include "cl/piv.h"

#include "hm/log.h"
#include "hm/util.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- errors -------------------------------------------------------------- */

/*
 * Every error a kiosk or operator can see (enum api_err, api_int.h): a stable
 * code, the HTTP status, and what to do next in Chinese (the default) and
 * English.
 */
struct api_err_text {
    const char *code;
    int status;
    const char *zh;
    const char *en;
};

static const struct api_err_text err_texts[ERR_COUNT] = {
    [ERR_NOT_FOUND] = { "not_found", 404, "没有这个服务地址。", "There is no such resource." },
    [ERR_METHOD] = { "method_not_allowed", 405, "这个地址不接受这种请求方法。",
                     "This resource does not accept that method." },
    [ERR_CONTENT_TYPE] = { "unsupported_media_type", 415,
                           "请求内容必须是 JSON（application/json）。",
                           "The request body must be JSON (Content-Type: application/json)." },
    [ERR_BAD_JSON] = { "bad_json", 400, "请求内容不是有效的 JSON。",
                       "The request body is not valid JSON." },
    [ERR_BAD_REQUEST] = { "bad_request", 400, "请求缺少必填项或格式不对。",
                          "A required field is missing or has the wrong form." },
    [ERR_TOO_LARGE] = { "too_large", 413, "请求内容太大。", "The request is too large." },
    [ERR_NO_CLIENT_CERT] = { "client_certificate_required", 401,
                             "这台终端没有出示证书，请联系管理员。",
                             "This client presented no certificate; ask the administrator." },
    [ERR_KIOSK_UNKNOWN] = { "kiosk_not_enrolled", 403, "这台终端尚未登记，请联系管理员登记。",
                            "This kiosk is not enrolled; ask the administrator to enroll it." },
    [ERR_KIOSK_REVOKED] = { "kiosk_revoked", 403, "这台终端已被停用，请联系管理员。",
                            "This kiosk has been revoked; ask the administrator." },
    [ERR_NONCE_UNKNOWN] = { "nonce_unknown", 409, "验证码无效，请重新刷卡。",
                            "The challenge is not known; tap the card again." },
    [ERR_NONCE_EXPIRED] = { "nonce_expired", 409, "验证码已过期，请重新刷卡。",
                            "The challenge has expired; tap the card again." },
    [ERR_NONCE_USED] = { "nonce_used", 409, "验证码已使用过，请重新刷卡。",
                         "The challenge was used already; tap the card again." },
    [ERR_NONCE_KIOSK] = { "nonce_other_kiosk", 409, "验证码不是发给这台终端的，请重新刷卡。",
                          "The challenge was issued to another kiosk; tap the card again." },
    [ERR_CARD_NOT_GENUINE] = { "card_not_genuine", 403,
                               "这张卡未通过真伪校验，请到窗口找工作人员。",
                               "The card did not pass the authenticity checks; see the staff." },
    [ERR_CARD_REVOKED] = { "card_revoked", 403, "这张卡已挂失或注销，请到窗口找工作人员。",
                           "The card has been reported lost or revoked; see the staff." },
    [ERR_CARD_UNKNOWN] = { "card_not_registered", 403, "这张卡没有登记，请到窗口找工作人员。",
                           "The card is not registered here; see the staff." },
    [ERR_STORAGE] = { "storage_unavailable", 503, "系统暂时无法保存，请稍后再试或找工作人员。",
                      "The server cannot store data right now; try again later or see the staff." },
    [ERR_INTERNAL] = { "internal_error", 500, "系统内部错误，请找工作人员。",
                       "Internal error; see the staff." },
    [ERR_SESSION_UNKNOWN] = { "session_unknown", 403, "刷卡记录无效，请重新刷卡。",
                              "The card session is not known; tap the card again." },
    [ERR_SESSION_EXPIRED] = { "session_expired", 403, "刷卡已超时，请重新刷卡。",
                              "The card session has expired; tap the card again." },
    [ERR_SESSION_KIOSK] = { "session_other_kiosk", 403, "这次刷卡不是在这台终端上，请重新刷卡。",
                            "The card session belongs to another kiosk; tap the card again." },
    [ERR_RESIDENT_UNKNOWN] = { "resident_unknown", 404,
                               "没有查到这张卡对应的待遇信息，请找工作人员。",
                               "No benefit record is linked to this card; see the staff." },
    [ERR_PAYMENT_UNKNOWN] = { "payment_unknown", 404, "没有查到这笔发放记录，请找工作人员。",
                              "There is no such payment; see the staff." },
    [ERR_PAYMENT_NOT_YOURS] = { "payment_not_yours", 403, "这笔发放不是您的，请找工作人员。",
                                "This payment belongs to someone else; see the staff." },
    [ERR_PAYMENT_NOT_PAID] = { "payment_not_paid", 409, "这笔钱还没有发放或已退回，暂时不能确认。",
                               "This payment has not been paid (or was returned); it cannot be "
                               "confirmed now." },
    [ERR_ALREADY_CONFIRMED] = { "already_confirmed", 409, "这笔发放已经确认过了。",
                                "This payment has been confirmed already." },
    [ERR_ALREADY_DISPUTED] = { "already_disputed", 409, "这笔发放已经提出过异议，工作人员会处理。",
                               "A dispute is open for this payment already; the staff will "
                               "handle it." },
    [ERR_STATEMENT_INVALID] = { "statement_invalid", 400, "确认内容有误，请重新操作。",
                                "The confirmation statement is not valid; please start again." },
    [ERR_SIGNATURE_INVALID] = { "signature_invalid", 403,
                                "卡片签名校验失败，请重新操作或找工作人员。",
                                "The card's signature did not verify; try again or see the "
                                "staff." },
    [ERR_PIN_REQUIRED] = { "pin_required", 403, "确认领取需要输入卡片密码。",
                           "Confirming a payment needs the card's PIN." },
    [ERR_ID_NOT_GENUINE] = { "id_not_genuine", 403, "身份证未通过真伪校验，请到窗口找工作人员。",
                             "The ID card did not pass the authenticity checks; please see the "
                             "staff at the counter." },
    [ERR_ID_EXPIRED] = { "id_expired", 403, "身份证已过有效期，请持有效身份证办理或到窗口咨询。",
                         "The ID card has expired; bring a valid ID card, or ask at the "
                         "counter." },
    [ERR_ID_UNREADABLE] = { "id_unreadable", 400, "身份证信息无法读取，请重新放好身份证再试。",
                            "The ID card's data could not be read; place the card again and "
                            "retry." },
    [ERR_ID_SESSION_UNKNOWN] = { "id_session_unknown", 403, "身份核验记录无效，请重新读取身份证。",
                                 "The ID check is not known; read the ID card again." },
    [ERR_ID_SESSION_EXPIRED] = { "id_session_expired", 403, "身份核验已超时，请重新读取身份证。",
                                 "The ID check has expired; read the ID card again." },
    [ERR_ID_SESSION_KIOSK] = { "id_session_other_kiosk", 403,
                               "这次身份核验不是在这台终端上，请重新读取身份证。",
                               "The ID check was made at another kiosk; read the ID card "
                               "again." },
    [ERR_OFFICE_UNKNOWN] = { "office_unknown", 404, "没有这个婚姻登记处，请重新选择。",
                             "There is no such registry; choose again." },
    [ERR_APPT_UNKNOWN] = { "appointment_unknown", 404, "没有查到这个预约，请核对预约凭证。",
                           "There is no such appointment; check the ticket." },
    [ERR_NOT_YOUR_APPT] = { "not_your_appointment", 403,
                            "这个预约不是您的，只有预约的当事人可以办理。",
                            "This appointment is someone else's; only its parties may change "
                            "it." },
    [ERR_APPT_NOT_ACTIVE] = { "appointment_not_active", 409,
                              "这个预约已经签到、改约或取消，不能再更改。",
                              "This appointment has been checked in, rescheduled or cancelled; "
                              "it cannot be changed." },
    [ERR_SLOT_FULL] = { "slot_full", 409, "这个时段已经约满，请选择其他时段或日期。",
                        "This time slot is full; choose another slot or day." },
    [ERR_NOT_TODAY] = { "not_today", 409, "这个预约不是今天的，请在预约当天来签到。",
                        "This appointment is not today; check in on its day." },
    [ERR_OTHER_OFFICE] = { "other_office", 409,
                           "这个预约是在另一个婚姻登记处，请到预约的登记处签到。",
                           "This appointment is at another registry; check in there." },
    [ERR_TICKET_INVALID] = { "ticket_invalid", 400, "预约凭证无法验证，请重新出示或找工作人员。",
                             "The ticket does not verify; show it again or see the staff." },
    [ERR_M_SAME_PERSON] = { "same_person", 400, "双方不能是同一个人，请双方各自读取身份证。",
                            "Both parties cannot be the same person; each party reads their own "
                            "ID card." },
    [ERR_M_NOT_MAINLAND] = { "not_mainland_resident", 409,
                             "终端只办理内地居民的预约，请到窗口办理。",
                             "The kiosk books for mainland residents only; please go to the "
                             "counter." },
    [ERR_M_NOT_MAN_AND_WOMAN] = { "not_man_and_woman", 409, "结婚登记须为一男一女，请到窗口咨询。",
                                  "A marriage is registered for one man and one woman; ask at "
                                  "the counter." },
    [ERR_M_ALREADY_MARRIED] = { "already_married", 409,
                                "登记记录显示一方已有配偶，不能预约结婚登记，请到窗口咨询。",
                                "The registry shows a party as married; marriage cannot be "
                                "booked. Ask at the counter." },
    [ERR_M_NOT_MARRIED_TO_EACH] = { "not_married_to_each_other", 409,
                                    "登记记录显示双方不是夫妻，请到窗口咨询。",
                                    "The registry does not show the two of you married to each "
                                    "other; ask at the counter." },
    [ERR_M_APPLICATION_PENDING] = { "application_pending", 409,
                                    "已有离婚登记申请在冷静期内，无需再次申请。",
                                    "A divorce application is pending already; there is no "
                                    "need to apply again." },
    [ERR_M_NO_APPLICATION] = { "no_divorce_application", 409,
                               "没有查到离婚登记申请，请先预约离婚登记申请。",
                               "There is no divorce application on record; book the "
                               "application first." },
    [ERR_M_NOTHING_TO_REISSUE] = { "nothing_to_reissue", 409,
                                   "登记记录显示您没有婚姻登记，无需补领。",
                                   "The registry shows no marriage of yours; there is nothing "
                                   "to re-issue." },
    [ERR_M_NO_SHOW_BAN] = { "no_show_ban", 409, "多次预约未到，暂时不能预约，请到窗口办理。",
                            "Too many missed appointments; booking is barred for a while. "
                            "Please go to the counter." },
    [ERR_M_ACTIVE_BOOKING] = { "active_booking_exists", 409, "已有一个有效预约，请先取消或改约。",
                               "There is an active appointment already; cancel or reschedule "
                               "it first." },
    [ERR_M_SERVICE_NOT_OFFERED] = { "service_not_offered", 409,
                                    "这个登记处不办理这项业务，请选择其他登记处。",
                                    "This registry does not offer that service; choose another "
                                    "one." },
    [ERR_M_NOT_COMPETENT] = { "office_not_competent", 403,
                              "这个登记处不受理双方户籍所在省份的登记，请选择户籍地登记处。",
                              "This registry does not serve your provinces of household "
                              "registration; choose a registry there." },
    [ERR_M_IN_THE_PAST] = { "in_the_past", 409, "这个时段已经开始或过去，请选择以后的时段。",
                            "This slot has begun or passed; choose a later one." },
    [ERR_M_TOO_FAR_AHEAD] = { "too_far_ahead", 409, "这一天还不能预约，请在开放预约后再来。",
                              "That day cannot be booked yet; come back when booking opens." },
    [ERR_M_BOOKING_NOT_OPEN] = { "booking_not_open", 409,
                                 "这一天的预约尚未开放，请在开放时间后再预约。",
                                 "Booking for that day has not opened yet; book after it "
                                 "opens." },
    [ERR_M_OFFICE_CLOSED] = { "office_closed", 409, "登记处这一天不办公，请选择其他日期。",
                              "The registry is closed that day; choose another day." },
    [ERR_M_NO_SUCH_SLOT] = { "no_such_slot", 400, "没有这个时段，请从可预约时段中选择。",
                             "There is no such slot; choose one of the slots offered." },
    [ERR_M_UNDER_AGE] = { "under_age", 409, "未达到法定婚龄，不能预约结婚登记。",
                          "Under the legal age for marriage; marriage cannot be booked." },
    [ERR_M_COOLING_OFF] = { "cooling_off_not_over", 409,
                            "离婚冷静期尚未结束，请在冷静期满后预约确认。",
                            "The cooling-off period is not over; book the confirmation after "
                            "it ends." },
    [ERR_M_WINDOW_PASSED] = { "confirm_window_passed", 409,
                              "确认期限已过，离婚申请视为撤回，请重新申请。",
                              "The time to confirm has passed and the application counts as "
                              "withdrawn; apply again." },
    [ERR_M_CANCEL_TOO_LATE] = { "cancel_too_late", 409,
                                "离预约时间太近，已不能取消，请到窗口办理。",
                                "It is too close to the appointment to cancel; see the "
                                "counter." },
};

static_assert(ERR_M_CANCEL_TOO_LATE - ERR_M_SAME_PERSON ==
                  HS_MARRIAGE_CANCEL_TOO_LATE - HS_MARRIAGE_SAME_PERSON,
              "ERR_M_* follow enum hs_marriage_refusal");

enum api_err hs_api_err_of_refusal(int refusal)
{
    if (refusal < HS_MARRIAGE_SAME_PERSON || refusal > HS_MARRIAGE_CANCEL_TOO_LATE)
        return ERR_INTERNAL;
    return (enum api_err)(ERR_M_SAME_PERSON + (refusal - HS_MARRIAGE_SAME_PERSON));
}

const char *hs_api_err_code(enum api_err e)
{
    return (unsigned)e < ERR_COUNT ? err_texts[e].code : "internal_error";
}

int hs_api_err_status(enum api_err e)
{
    return (unsigned)e < ERR_COUNT ? err_texts[e].status : 500;
}

/* ---- the api object ------------------------------------------------------ */

#define KIOSK_CACHE_MS 2000 /* a revocation reaches a running server within this */

static const char *const route_names[R_COUNT] = {
    "health",
    "metrics",
    "signing_cert",
    "jwks",
    "nonces",
    "card_sessions",
    "revocations",
    "staff_calls",
    "staff_call",
    "status",
    "confirmations",
    "disputes",
    "id_sessions",
    "test_id_sessions",
    "offices",
    "availability",
    "appointments",
    "appointment_cancel",
    "appointment_reschedule",
    "appointments_mine",
    "check_ins",
    "other",
};

int64_t hs_api_now(const struct hs_api *api)
{
    return api->d.now ? api->d.now(api->d.now_ctx) : (int64_t)time(NULL);
}

hs_rc hs_api_new(const struct hs_api_deps *deps, struct hs_api **out)
{
    if (!deps || !deps->cfg || !deps->store || !deps->signer || !out)
        return HS_E_INVALID_ARG;
    struct hs_api *api = calloc(1, sizeof(*api));
    if (!api)
        return HS_E_NO_MEMORY;
    api->d = *deps;
    pthread_mutex_init(&api->lock, NULL);
    hs_certcache_init(&api->certs, deps->cfg->issuer_ca,
                      deps->cfg->issuer_crl[0] ? deps->cfg->issuer_crl : NULL);
    hs_rc rc = hs_jwks(deps->signer, &api->jwks);
    if (rc != HS_OK) {
        hs_api_free(api);
        return rc;
    }
    hs_api_appt_init(api);
    *out = api;
    return HS_OK;
}

void hs_api_free(struct hs_api *api)
{
    if (!api)
        return;
    free(api->jwks);
    hs_api_appt_cleanup(api);
    pthread_mutex_destroy(&api->lock);
    hs_certcache_cleanup(&api->certs);
    free(api);
}

void hs_api_set_http(struct hs_api *api, struct hs_http *http)
{
    if (api)
        api->http = http;
}

/* ---- replies ------------------------------------------------------------- */

void hs_api_reply_error(struct hs_api *api, struct hs_http_response *res, enum api_err e,
                        const char *detail)
{
    hs_api_reply_error_msg(api, res, e, NULL, NULL, detail);
}

void hs_api_reply_error_msg(struct hs_api *api, struct hs_http_response *res, enum api_err e,
                            const char *zh, const char *en, const char *detail)
{
    const struct api_err_text *t = &err_texts[e];
    atomic_fetch_add(&api->errors[e], 1);
    json_t *j = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", t->code, "message",
                          zh && zh[0] ? zh : t->zh, "message_en", en && en[0] ? en : t->en);
    if (j && detail && detail[0])
        json_object_set_new(json_object_get(j, "error"), "detail", json_string(detail));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    res->status = t->status;
    res->content_type = "application/json; charset=utf-8";
    hm_buf_reset(&res->body);
    if (!s || !hm_buf_add_str(&res->body, s)) {
        res->status = 500;
        hm_buf_reset(&res->body);
    }
    free(s);
}

/* Signs payload (stealing the reference) and sends it as application/jose. */
void hs_api_reply_signed(struct hs_api *api, struct hs_http_response *res, int status,
                         const char *typ, json_t *payload)
{
    char *body = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    char *token = NULL;
    if (!body ||
        hs_jws_sign(api->d.signer, typ, (const uint8_t *)body, strlen(body), &token) != HS_OK) {
        free(body);
        hs_api_reply_error(api, res, ERR_INTERNAL, "signing failed");
        return;
    }
    free(body);
    res->status = status;
    res->content_type = "application/jose";
    hm_buf_reset(&res->body);
    if (!hm_buf_add_str(&res->body, token))
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
    free(token);
}

void hs_api_reply_signed_text(struct hs_api *api, struct hs_http_response *res, int status,
                              const char *typ, const char *json, size_t len)
{
    char *token = NULL;
    if (hs_jws_sign(api->d.signer, typ, (const uint8_t *)json, len, &token) != HS_OK) {
        hs_api_reply_error(api, res, ERR_INTERNAL, "signing failed");
        return;
    }
    hs_api_reply_token(api, res, status, token);
    free(token);
}

void hs_api_reply_token(struct hs_api *api, struct hs_http_response *res, int status,
                        const char *token)
{
    res->status = status;
    res->content_type = "application/jose";
    hm_buf_reset(&res->body);
    if (!token || !hm_buf_add_str(&res->body, token))
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
}

bool hs_api_random_id(char *out, size_t nbytes)
{
    uint8_t raw[32];
    if (nbytes == 0 || nbytes > sizeof(raw))
        return false;
    /* The first character is the top 6 bits of the first byte: 62 and 63 are '-' and '_'. */
    do {
        if (RAND_bytes(raw, (int)nbytes) != 1)
            return false;
    } while ((raw[0] >> 2) >= 62);
    hs_b64url_encode(raw, nbytes, out);
    return true;
}

void hs_api_kiosk_actor(char *out, size_t cap, const char *kiosk)
{
    snprintf(out, cap, "kiosk:%s", kiosk);
}

hs_rc hs_api_exception_open(struct hs_conn *c, const char *id, const char *kind,
                            const char *subject, const char *kiosk, int64_t now)
{
    const struct hs_val p[] = { hs_text(id), hs_text(kind), hs_text(subject), hs_text(kiosk),
                                hs_int(now) };
    return hs_exec(c,
                   "INSERT INTO exceptions (id, kind, subject, kiosk_id, at, status) "
                   "VALUES ($1, $2, $3, $4, $5, 'open')",
                   p, 5, NULL);
}

void hs_api_reply_text(struct hs_http_response *res, int status, const char *ctype,
                       const char *text)
{
    res->status = status;
    res->content_type = ctype;
    hm_buf_reset(&res->body);
    if (!hm_buf_add_str(&res->body, text))
        res->status = 500;
}

enum api_err hs_api_err_of_rc(hs_rc rc)
{
    switch (rc) {
    case HS_E_NONCE_UNKNOWN:
        return ERR_NONCE_UNKNOWN;
    case HS_E_NONCE_EXPIRED:
        return ERR_NONCE_EXPIRED;
    case HS_E_NONCE_USED:
        return ERR_NONCE_USED;
    case HS_E_NONCE_KIOSK:
        return ERR_NONCE_KIOSK;
    case HS_E_CARD_NOT_GENUINE:
        return ERR_CARD_NOT_GENUINE;
    case HS_E_CARD_REVOKED:
        return ERR_CARD_REVOKED;
    case HS_E_NOT_FOUND:
        return ERR_NOT_FOUND;
    case HS_E_DB:
    case HS_E_DB_BUSY:
        return ERR_STORAGE;
    default:
        return ERR_INTERNAL;
    }
}

/* ---- requests ------------------------------------------------------------ */

/* A JSON object body, or an error reply already made (NULL). */
json_t *hs_api_json_body(struct hs_api *api, const struct hs_http_request *req,
                         struct hs_http_response *res)
{
    const char *ct = req->content_type;
    size_t n = strlen("application/json");
    if (!ct || strncasecmp(ct, "application/json", n) != 0 ||
        (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
        hs_api_reply_error(api, res, ERR_CONTENT_TYPE, NULL);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        char detail[200];
        snprintf(detail, sizeof(detail), "line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        hs_api_reply_error(api, res, ERR_BAD_JSON, detail);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        hs_api_reply_error(api, res, ERR_BAD_JSON, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A string member of at most max bytes, or NULL. */
const char *hs_api_json_str(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL; /* no embedded NUL */
}

/*
 * Admits the request's kiosk: its TLS certificate (already verified to the
 * kiosk CA by the front) must be enrolled and active. Answers from a small
 * cache, so a revocation takes effect within KIOSK_CACHE_MS.
 */
static bool admit_kiosk(struct hs_api *api, const struct hs_http_request *req,
                        struct hs_http_response *res, struct hs_api_kiosk *k)
{
    if (!req->peer || !req->peer->sha256[0]) {
        hs_api_reply_error(api, res, ERR_NO_CLIENT_CERT, NULL);
        return false;
    }
    const char *fp = req->peer->sha256;
    unsigned slot = 0;
    for (const char *p = fp; *p; p++)
        slot = slot * 31u + (unsigned char)*p;
    slot %= HS_API_KIOSK_CACHE_SLOTS;
    uint64_t now = hm_now_ms();
    struct hs_api_kiosk_slot s;
    pthread_mutex_lock(&api->lock);
    s = api->cache[slot];
    pthread_mutex_unlock(&api->lock);
    if (strcmp(s.sha256, fp) != 0 || s.until_ms < now) {
        struct hs_kiosk kiosk;
        hs_rc rc = hs_kiosk_by_cert(api->d.store, fp, &kiosk);
        if (rc != HS_OK && rc != HS_E_NOT_FOUND) {
            hs_api_reply_error(api, res, ERR_STORAGE, NULL);
            return false;
        }
        memset(&s, 0, sizeof(s));
        hm_strlcpy(s.sha256, fp, sizeof(s.sha256));
        if (rc == HS_OK) {
            hm_strlcpy(s.id, kiosk.id, sizeof(s.id));
            s.status = kiosk.status;
        }
        s.until_ms = now + KIOSK_CACHE_MS;
        pthread_mutex_lock(&api->lock);
        api->cache[slot] = s;
        pthread_mutex_unlock(&api->lock);
    }
    if (s.status == 0) {
        hm_log_info("request %" PRIu64 ": certificate %.16s… (CN %s) is not an enrolled kiosk",
                    req->id, fp, req->peer->subject_cn);
        hs_api_reply_error(api, res, ERR_KIOSK_UNKNOWN, NULL);
        return false;
    }
    if (s.status != HS_KIOSK_ACTIVE) {
        hm_log_info("request %" PRIu64 ": kiosk %s is revoked", req->id, s.id);
        hs_api_reply_error(api, res, ERR_KIOSK_REVOKED, NULL);
        return false;
    }
    hm_strlcpy(k->id, s.id, sizeof(k->id));
    return true;
}

/* ---- handlers ------------------------------------------------------------ */

static hs_rc health_probe(struct hs_conn *c, void *arg)
{
    (void)arg;
    return hs_exec(c, "SELECT 1", NULL, 0, NULL);
}

static void h_health(struct hs_api *api, const struct hs_http_request *req,
                     struct hs_http_response *res)
{
    (void)req;
    struct hs_conn *c = hs_store_reader(api->d.store);
    bool db_ok = c && health_probe(c, NULL) == HS_OK;
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:i, s:s, s:I}", "status", db_ok ? "ok" : "degraded", "version",
                  HUIMIN_VERSION, "storage",
                  hs_store_backend(api->d.store) == HS_BACKEND_SQLITE ? "sqlite" : "postgres",
                  "schema", hs_store_schema_version(api->d.store), "signer",
                  hs_signer_kind(api->d.signer), "time", (json_int_t)hs_api_now(api));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    hs_api_reply_text(res, db_ok ? 200 : 503, "application/json; charset=utf-8", s ? s : "{}");
    free(s);
}

static void metric(struct hm_buf *b, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    hm_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

static void h_metrics(struct hs_api *api, const struct hs_http_request *req,
                      struct hs_http_response *res)
{
    (void)req;
    struct hm_buf *b = &res->body;
    hm_buf_reset(b);
    if (api->http) {
        struct hs_http_stats hs;
        hs_http_stats(api->http, &hs);
        metric(b, "huimin_http_connections_total", "counter", "TLS connections accepted",
               hs.connections);
        metric(b, "huimin_http_tls_failures_total", "counter", "TLS handshakes that failed",
               hs.tls_failures);
        metric(b, "huimin_http_in_flight", "gauge", "requests being handled", hs.in_flight);
        hm_buf_addf(b, "# HELP huimin_http_responses_total responses by status class\n"
                       "# TYPE huimin_http_responses_total counter\n");
        for (int i = 1; i <= 5; i++)
            hm_buf_addf(b, "huimin_http_responses_total{class=\"%dxx\"} %" PRIu64 "\n", i,
                        hs.status[i]);
        static const char *const le[8] = { "0.001", "0.002", "0.005", "0.01",
                                           "0.025", "0.05",  "0.1",   "0.25" };
        hm_buf_addf(b, "# HELP huimin_http_request_duration_seconds request latency\n"
                       "# TYPE huimin_http_request_duration_seconds histogram\n");
        for (int i = 0; i < 8; i++)
            hm_buf_addf(b, "huimin_http_request_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
                        le[i], hs.latency_le[i]);
        hm_buf_addf(b,
                    "huimin_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                    "huimin_http_request_duration_seconds_sum %.6f\n"
                    "huimin_http_request_duration_seconds_count %" PRIu64 "\n",
                    hs.requests, (double)hs.latency_us_sum / 1e6, hs.requests);
    }
    hm_buf_addf(b, "# HELP huimin_api_requests_total requests by route\n"
                   "# TYPE huimin_api_requests_total counter\n");
    for (int i = 0; i < R_COUNT; i++)
        hm_buf_addf(b, "huimin_api_requests_total{route=\"%s\"} %" PRIu64 "\n", route_names[i],
                    (uint64_t)atomic_load(&api->routes[i]));
    hm_buf_addf(b, "# HELP huimin_api_errors_total error answers by code\n"
                   "# TYPE huimin_api_errors_total counter\n");
    for (int i = 0; i < ERR_COUNT; i++)
        hm_buf_addf(b, "huimin_api_errors_total{code=\"%s\"} %" PRIu64 "\n", err_texts[i].code,
                    (uint64_t)atomic_load(&api->errors[i]));
    metric(b, "huimin_signatures_total", "counter", "signatures made by the signing key",
           hs_signer_count(api->d.signer));
    pthread_mutex_lock(&api->certs.lock);
    uint64_t cert_hits = api->certs.hits, cert_misses = api->certs.misses;
    pthread_mutex_unlock(&api->certs.lock);
    metric(b, "huimin_certcache_hits_total", "counter",
           "card certificates found verified in the cache", cert_hits);
    metric(b, "huimin_certcache_misses_total", "counter", "card certificates verified in full",
           cert_misses);
    struct hs_store_stats ss;
    hs_store_stats(api->d.store, &ss);
    metric(b, "huimin_storage_commits_total", "counter", "storage transactions committed",
           ss.commits);
    metric(b, "huimin_storage_writes_total", "counter", "write operations run", ss.writes);
    metric(b, "huimin_storage_write_errors_total", "counter", "write operations that failed",
           ss.write_errors);
    hm_buf_addf(b,
                "# HELP huimin_storage_commit_seconds_total time spent committing\n"
                "# TYPE huimin_storage_commit_seconds_total counter\n"
                "huimin_storage_commit_seconds_total %.6f\n",
                (double)ss.commit_us_sum / 1e6);
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void h_signing_cert(struct hs_api *api, const struct hs_http_request *req,
                           struct hs_http_response *res)
{
    (void)req;
    hs_api_reply_text(res, 200, "application/x-pem-file", hs_signer_cert_pem(api->d.signer));
}

static void h_jwks(struct hs_api *api, const struct hs_http_request *req,
                   struct hs_http_response *res)
{
    (void)req;
    hs_api_reply_text(res, 200, "application/jwk-set+json", api->jwks);
}

/* The purposes a kiosk may ask a challenge for. */
static bool purpose_known(const char *p)
{
    static const char *const known[] = { "card-session", "id-card", "confirm" };
    for (size_t i = 0; i < HM_ARRAY_SIZE(known); i++)
        if (strcmp(p, known[i]) == 0)
            return true;
    return false;
}

static void h_nonces(struct hs_api *api, const struct hs_http_request *req,
                     struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *purpose = hs_api_json_str(body, "purpose", 32);
    if (!purpose || !purpose_known(purpose)) {
        json_decref(body);
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "purpose must be \"card-session\", \"id-card\" or \"confirm\"");
        return;
    }
    char nonce[HS_NONCE_TEXT];
    int64_t now = hs_api_now(api), exp = 0;
    hs_rc rc =
        hs_nonce_issue(api->d.store, k->id, purpose, api->d.cfg->nonce_ttl_s, now, nonce, &exp);
    if (rc != HS_OK) {
        json_decref(body);
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        return;
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:I}", "nonce", nonce, "purpose", purpose, "kiosk",
                          k->id, "iat", (json_int_t)now, "exp", (json_int_t)exp);
    json_decref(body);
    hs_api_reply_signed(api, res, 201, "huimin-nonce", p);
}

/* Decodes a base64url member into out; false when missing or malformed. */
bool hs_api_json_b64(json_t *o, const char *key, uint8_t *out, size_t cap, size_t *len,
                     bool optional)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *len = 0;
        return optional;
    }
    if (!json_is_string(v) || json_string_length(v) > HS_B64URL_LEN(cap))
        return false;
    return hs_b64url_decode(json_string_value(v), json_string_length(v), out, cap, len) == HS_OK;
}

hs_rc hs_api_read(struct hs_api *api, const char *sql, const struct hs_val *params, int nparams,
                  struct hs_rows **rows)
{
    struct hs_conn *c = hs_store_reader(api->d.store);
    return c ? hs_exec(c, sql, params, nparams, rows) : HS_E_DB;
}

struct session_write {
    const char *nonce, *kiosk;
    char id[HS_NONCE_TEXT];
    const struct hs_card *card;
    int64_t now, exp;
};

/* Consumes the nonce and opens the session in one transaction: both or neither. */
static hs_rc session_fn(struct hs_conn *c, void *arg)
{
    struct session_write *a = arg;
    hs_rc rc = hs_nonce_consume_in(c, a->nonce, a->kiosk, "card-session", a->now);
    if (rc != HS_OK)
        return rc;
    const struct hs_val p[] = { hs_text(a->id),
                                hs_text(a->kiosk),
                                hs_text(a->card->cert_serial),
                                hs_text(a->card->welfare_no),
                                hs_int(a->now),
                                hs_int(a->exp) };
    rc = hs_exec(c,
                 "INSERT INTO card_sessions (id, kiosk_id, cert_serial, welfare_no, created_at, "
                 "expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                 p, 6, NULL);
    if (rc != HS_OK)
        return rc;
    char actor[80];
    hs_api_kiosk_actor(actor, sizeof(actor), a->kiosk);
    struct hs_audit_rec rec = { .actor = actor,
                                .action = "card.session",
                                .subject = a->card->cert_serial,
                                .detail = "",
                                .at = a->now };
    return hs_audit_append(c, &rec, NULL);
}

static void h_card_sessions(struct hs_api *api, const struct hs_http_request *req,
                            struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    struct cl_piv_evidence *ev = NULL;
    struct cl_piv_cert_info ci = { 0 };
    json_t *body = hs_api_json_body(api, req, res);
    if (!body)
        return;
    const char *nonce = hs_api_json_str(body, "nonce", HS_NONCE_TEXT - 1);
    json_t *card = json_object_get(body, "card");
    ev = calloc(1, sizeof(*ev));
    if (!ev) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    json_t *alg = json_object_get(card, "alg");
    if (!nonce || !json_is_object(card) || !json_is_integer(alg) ||
        !hs_api_json_b64(card, "cert", ev->cert, sizeof(ev->cert), &ev->cert_len, false) ||
        !hs_api_json_b64(card, "chuid", ev->chuid, sizeof(ev->chuid), &ev->chuid_len, true) ||
        !hs_api_json_b64(card, "signature", ev->sig, sizeof(ev->sig), &ev->sig_len, false) ||
        json_integer_value(alg) < 0 || json_integer_value(alg) > 255) {
        hs_api_reply_error(api, res, ERR_BAD_REQUEST,
                           "need nonce and card {cert, signature, alg, chuid?} in base64url");
        goto out;
    }
    ev->alg = (uint8_t)json_integer_value(alg);
    /* The card signed the nonce as the kiosk received it (its text). */
    ev->challenge_len = strlen(nonce);
    memcpy(ev->challenge, nonce, ev->challenge_len);

    /* Every check again, here: the kiosk's word is not enough. Always in full (the
     * CHUID too), but with the trust files loaded once; the certificate is then
     * cached for the confirmations of this visit. */
    int64_t now = hs_api_now(api);
    uint64_t gen = 0;
    struct cl_piv_verifier *vf = hs_certcache_verifier(&api->certs, &gen);
    if (!vf) {
        hm_log_error("the issuer CA %s (or its CRL) does not load", api->d.cfg->issuer_ca);
        hs_api_reply_error(api, res, ERR_INTERNAL, "the issuer CA could not be loaded");
        goto out;
    }
    struct cl_verdict verdict;
    cl_rc crc = cl_piv_verify_with(vf, now, ev, NULL, 0, &verdict, &ci);
    cl_piv_verifier_free(vf);
    if (crc != CL_OK || !cl_piv_genuine(&verdict)) {
        const struct cl_check *f = crc == CL_OK ? cl_verdict_first_failure(&verdict) : NULL;
        char detail[CL_CHECK_REASON_MAX + 64];
        snprintf(detail, sizeof(detail), "%s: %s", f ? f->name : "verify",
                 f ? f->reason : cl_strerror(crc));
        hm_log_info("kiosk %s: card refused: %s", k->id, detail);
        const struct cl_check *rev = cl_verdict_get(&verdict, "revocation");
        hs_api_reply_error(api, res,
                           crc == CL_OK && rev && rev->state == CL_CHECK_FAILED
                               ? ERR_CARD_REVOKED
                               : ERR_CARD_NOT_GENUINE,
                           detail);
        goto out;
    }
    /* The registry has the last word on revocation (a lost card is revoked there first). */
    if (!ci.welfare_no[0]) {
        hs_api_reply_error(api, res, ERR_CARD_NOT_GENUINE, "the certificate names no holder");
        goto out;
    }
    const char *welfare_no = ci.welfare_no, *serial = ci.serial;
    if (!serial[0]) {
        hs_api_reply_error(api, res, ERR_CARD_NOT_GENUINE, "the certificate has no usable serial");
        goto out;
    }
    struct hs_card reg;
    hs_rc rc = hs_card_by_serial(api->d.store, serial, &reg);
    if (rc == HS_E_NOT_FOUND) {
        hs_api_reply_error(api, res, ERR_CARD_UNKNOWN, NULL);
        goto out;
    }
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, ERR_STORAGE, NULL);
        goto out;
    }
    if (reg.status != HS_CARD_ACTIVE) {
        hs_api_reply_error(api, res, ERR_CARD_REVOKED, NULL);
        goto out;
    }
    if (strcmp(reg.welfare_no, welfare_no) != 0) {
        hs_api_reply_error(api, res, ERR_CARD_NOT_GENUINE,
                           "the certificate's welfare number differs from the registry's");
        goto out;
    }

    struct hs_certinfo info;
    hm_strlcpy(info.welfare_no, welfare_no, sizeof(info.welfare_no));
    hm_strlcpy(info.serial, serial, sizeof(info.serial));
    hs_certcache_put(&api->certs, ev->cert, ev->cert_len, &info, ci.key, ci.not_after, now, gen);

    struct session_write w = { .nonce = nonce, .kiosk = k->id, .card = &reg };
    uint8_t raw[HS_NONCE_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        hs_api_reply_error(api, res, ERR_INTERNAL, NULL);
        goto out;
    }
    hs_b64url_encode(raw, sizeof(raw), w.id);
    w.now = hs_api_now(api);
    w.exp = w.now + api->d.cfg->session_ttl_s;
    rc = hs_store_write(api->d.store, session_fn, &w);
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        goto out;
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "session", w.id, "kiosk", k->id,
                          "welfare_no", reg.welfare_no, "holder", reg.holder, "card_serial",
                          reg.cert_serial, "iat", (json_int_t)w.now, "exp", (json_int_t)w.exp);
    hs_api_reply_signed(api, res, 201, "huimin-card-session", p);
out:
    cl_piv_cert_info_clear(&ci);
    if (ev)
        hm_wipe(ev, sizeof(*ev));
    free(ev);
    json_decref(body);
}

static void h_revocations(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k)
{
    (void)req;
    (void)k;
    char **serials = NULL;
    size_t n = 0;
    hs_rc rc = hs_card_revoked_list(api->d.store, &serials, &n);
    if (rc != HS_OK) {
        hs_api_reply_error(api, res, hs_api_err_of_rc(rc), NULL);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(serials[i]));
    hs_strv_free(serials, n);
    int64_t now = hs_api_now(api);
    json_t *p = json_pack("{s:o, s:I, s:I}", "revoked", list, "iat", (json_int_t)now, "exp",
                          (json_int_t)(now + 3600));
    hs_api_reply_signed(api, res, 200, "huimin-revocations", p);
}

/* ---- routing ------------------------------------------------------------- */

static bool is_method(const struct hs_http_request *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

static void dispatch(struct hs_api *api, enum hs_api_route route, const struct hs_http_request *req,
                     struct hs_http_response *res, const struct hs_api_kiosk *k,
                     const char *staff_call);

static const char staff_prefix[] = "/v1/staff-calls/";

static enum hs_api_route route_of(const char *path)
{
    const size_t sp = sizeof(staff_prefix) - 1;

    if (strcmp(path, "/v1/health") == 0)
        return R_HEALTH;
    if (strcmp(path, "/metrics") == 0)
        return R_METRICS;
    if (strcmp(path, "/v1/signing-cert") == 0)
        return R_SIGNING_CERT;
    if (strcmp(path, "/v1/jwks") == 0)
        return R_JWKS;
    if (strcmp(path, "/v1/nonces") == 0)
        return R_NONCES;
    if (strcmp(path, "/v1/card-sessions") == 0)
        return R_CARD_SESSIONS;
    if (strcmp(path, "/v1/revocations") == 0)
        return R_REVOCATIONS;
    if (strcmp(path, "/v1/staff-calls") == 0)
        return R_STAFF_CALLS;
    if (strcmp(path, "/v1/status") == 0)
        return R_STATUS;
    if (strcmp(path, "/v1/confirmations") == 0)
        return R_CONFIRMATIONS;
    if (strcmp(path, "/v1/disputes") == 0)
        return R_DISPUTES;
    if (strcmp(path, "/v1/id-sessions") == 0)
        return R_ID_SESSIONS;
    if (strcmp(path, "/v1/test/id-sessions") == 0)
        return R_TEST_ID_SESSIONS;
    if (strcmp(path, "/v1/offices") == 0)
        return R_OFFICES;
    if (strcmp(path, "/v1/availability") == 0)
        return R_AVAILABILITY;
    if (strcmp(path, "/v1/appointments") == 0)
        return R_APPOINTMENTS;
    if (strcmp(path, "/v1/appointments/cancel") == 0)
        return R_APPT_CANCEL;
    if (strcmp(path, "/v1/appointments/reschedule") == 0)
        return R_APPT_RESCHEDULE;
    if (strcmp(path, "/v1/appointments/mine") == 0)
        return R_APPT_MINE;
    if (strcmp(path, "/v1/check-ins") == 0)
        return R_CHECK_INS;
    if (strncmp(path, staff_prefix, sp) == 0 && path[sp] && strlen(path + sp) < 64 &&
        !strchr(path + sp, '/'))
        return R_STAFF_CALL;
    return R_OTHER;
}

bool hs_api_inline_ok(void *ctx, const struct hs_http_request *req)
{
    struct hs_api *api = ctx;
    /* Reads only, and only where a read never waits on the network: SQLite's
     * readers do not wait for its writer (WAL). A confirmation on SQLite reads
     * inside its write and does not wait for it (its reply is deferred). */
    if (hs_store_backend(api->d.store) != HS_BACKEND_SQLITE)
        return false;
    switch (route_of(req->path ? req->path : "")) {
    case R_CONFIRMATIONS:
    case R_STATUS:
    case R_REVOCATIONS:
    case R_SIGNING_CERT:
    case R_JWKS:
    case R_HEALTH:
    case R_OFFICES:
    case R_AVAILABILITY:
    case R_OTHER:
        return true;
    default:
        return false;
    }
}

void hs_api_handle(void *ctx, const struct hs_http_request *req, struct hs_http_response *res)
{
    struct hs_api *api = ctx;
    const char *path = req->path ? req->path : "";
    const size_t sp = sizeof(staff_prefix) - 1;
    enum hs_api_route route = route_of(path);
    atomic_fetch_add(&api->routes[route], 1);

    /* The test hook's path exists only when the server was started with it. */
    if (route == R_OTHER || (route == R_TEST_ID_SESSIONS && !api->d.test_id_sessions)) {
        hs_api_reply_error(api, res, ERR_NOT_FOUND, NULL);
        return;
    }
    bool post = route != R_HEALTH && route != R_METRICS && route != R_SIGNING_CERT &&
                route != R_JWKS && route != R_REVOCATIONS && route != R_STAFF_CALL &&
                route != R_OFFICES;
    if (post ? !is_method(req, "POST") : !(is_method(req, "GET") || is_method(req, "HEAD"))) {
        hs_api_reply_error(api, res, ERR_METHOD, post ? "use POST" : "use GET");
        if (res->nheaders < HS_HTTP_MAX_EXTRA_HEADERS) {
            res->header_name[res->nheaders] = "Allow";
            hm_strlcpy(res->header_value[res->nheaders], post ? "POST" : "GET, HEAD",
                       sizeof(res->header_value[0]));
            res->nheaders++;
        }
        return;
    }
    /* Health and metrics are for monitoring (the ops listener has no TLS). */
    if (route == R_HEALTH) {
        h_health(api, req, res);
        return;
    }
    if (route == R_METRICS) {
        h_metrics(api, req, res);
        return;
    }
    /* The signing certificate and JWKS are public: anyone may verify a receipt. */
    if (route == R_SIGNING_CERT) {
        h_signing_cert(api, req, res);
        return;
    }
    if (route == R_JWKS) {
        h_jwks(api, req, res);
        return;
    }
    /* One snapshot for the request's reads (until its first write, see hs_store_read_begin). */
    hs_store_read_begin(api->d.store);
    struct hs_api_kiosk k;
    if (admit_kiosk(api, req, res, &k))
        dispatch(api, route, req, res, &k, path + sp);
    hs_store_read_end(api->d.store);
}

static void dispatch(struct hs_api *api, enum hs_api_route route, const struct hs_http_request *req,
                     struct hs_http_response *res, const struct hs_api_kiosk *kp,
                     const char *staff_call)
{
    const struct hs_api_kiosk k = *kp;
    switch (route) {
    case R_SIGNING_CERT:
        h_signing_cert(api, req, res);
        break;
    case R_JWKS:
        h_jwks(api, req, res);
        break;
    case R_NONCES:
        h_nonces(api, req, res, &k);
        break;
    case R_CARD_SESSIONS:
        h_card_sessions(api, req, res, &k);
        break;
    case R_REVOCATIONS:
        h_revocations(api, req, res, &k);
        break;
    case R_STAFF_CALLS:
        hs_api_h_staff_calls(api, req, res, &k);
        break;
    case R_STAFF_CALL:
        hs_api_h_staff_call(api, req, res, &k, staff_call);
        break;
    case R_STATUS:
        hs_api_h_status(api, req, res, &k);
        break;
    case R_CONFIRMATIONS:
        hs_api_h_confirmations(api, req, res, &k);
        break;
    case R_DISPUTES:
        hs_api_h_disputes(api, req, res, &k);
        break;
    case R_ID_SESSIONS:
        hs_api_h_id_sessions(api, req, res, &k);
        break;
    case R_TEST_ID_SESSIONS:
        hs_api_h_test_id_sessions(api, req, res, &k);
        break;
    case R_OFFICES:
        hs_api_h_offices(api, req, res, &k);
        break;
    case R_AVAILABILITY:
        hs_api_h_availability(api, req, res, &k);
        break;
    case R_APPOINTMENTS:
        hs_api_h_appointments(api, req, res, &k);
        break;
    case R_APPT_CANCEL:
        hs_api_h_appt_cancel(api, req, res, &k);
        break;
    case R_APPT_RESCHEDULE:
        hs_api_h_appt_reschedule(api, req, res, &k);
        break;
    case R_APPT_MINE:
        hs_api_h_appt_mine(api, req, res, &k);
        break;
    case R_CHECK_INS:
        hs_api_h_check_ins(api, req, res, &k);
        break;
    default:
        hs_api_reply_error(api, res, ERR_NOT_FOUND, NULL);
        break;
    }
}
