/* The kiosk's call for hall staff (呼叫工作人员, docs/API.md "Calling staff"): the request checked
 * before it is sent, the signed answer checked member by member, so the screen that says "staff
 * are on their way" only says it when the server has the call. */
#include "internal.h"

#include "hm/util.h"

#include <jansson.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCREEN_MAX 32

static const char *const reasons[] = { "help", "card_problem", "pin_blocked", "dispute", "other" };

static bool reason_known(const char *r)
{
    for (size_t i = 0; r && i < HM_ARRAY_SIZE(reasons); i++)
        if (strcmp(r, reasons[i]) == 0)
            return true;
    return false;
}

/* 1 to 32 characters of a-z, 0-9, '-' and '_', as the server requires. */
static bool screen_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SCREEN_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

/* A call id: base64url characters that fit struct kc_staff_call's id. */
static bool call_id_valid(const char *s, size_t cap)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= cap)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* The verified payload's members (its kiosk was checked by kc_verify_answer) into out. */
static kc_rc call_fill(kc_client *c, json_t *p, struct kc_staff_call *out)
{
    const char *id = json_string_value(json_object_get(p, "call"));
    const char *reason = json_string_value(json_object_get(p, "reason"));
    const char *status = json_string_value(json_object_get(p, "status"));
    json_t *waiting = json_object_get(p, "waiting"), *iat = json_object_get(p, "iat");

    if (!call_id_valid(id, sizeof(out->id)))
        return kc_err_set(c, KC_E_VERIFY, "/v1/staff-calls: the answer names no usable call id");
    /* A repeat within 120 s is the earlier call, whose reason may be another one. */
    if (!reason_known(reason))
        return kc_err_set(c, KC_E_VERIFY, "/v1/staff-calls: the answer's reason is not known");
    if (!status || strcmp(status, "open") != 0)
        return kc_err_set(c, KC_E_VERIFY, "/v1/staff-calls: the answer's call is not open");
    if (!json_is_integer(waiting) || json_integer_value(waiting) < 1 ||
        json_integer_value(waiting) > INT_MAX)
        return kc_err_set(c, KC_E_VERIFY,
                          "/v1/staff-calls: the answer's waiting count is not a positive number");
    if (!json_is_integer(iat) || json_integer_value(iat) <= 0)
        return kc_err_set(c, KC_E_VERIFY, "/v1/staff-calls: the answer has no time");
    if (!json_is_string(json_object_get(p, "kiosk_name")) ||
        !json_is_string(json_object_get(p, "office")))
        return kc_err_set(c, KC_E_VERIFY,
                          "/v1/staff-calls: the answer does not name the kiosk and its office");
    memset(out, 0, sizeof(*out));
    hm_strlcpy(out->id, id, sizeof(out->id));
    out->waiting = (int)json_integer_value(waiting);
    out->iat = (int64_t)json_integer_value(iat);
    return KC_OK;
}

kc_rc kc_staff_call(kc_client *c, const char *reason, const char *screen,
                    const struct kc_session *s, struct kc_staff_call *out)
{
    json_t *req, *p = NULL;
    char *body;
    kc_rc rc;

    if (!c || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    if (!reason_known(reason))
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "the reason is help, card_problem, pin_blocked, dispute or other (not "
                          "'%s')",
                          reason ? reason : "(none)");
    if (screen && !screen_valid(screen))
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "the screen's name is 1 to 32 characters of a-z, 0-9, '-' and '_' (not "
                          "'%.40s')",
                          screen);
    if (s && !s->id[0])
        return kc_err_set(c, KC_E_INVALID_ARG, "the card session has no id");
    req = json_pack("{s:s,s:o,s:o}", "reason", reason, "screen",
                    screen ? json_string(screen) : json_null(), "session",
                    s ? json_string(s->id) : json_null());
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    /* Repeated after a lost answer: the server answers a repeat within 120 s with the same call. */
    rc = kc_call(c, "/v1/staff-calls", body, "huimin-staff-call", true, &p);
    free(body);
    if (rc != KC_OK)
        return rc;
    rc = call_fill(c, p, out);
    json_decref(p);
    return rc;
}
