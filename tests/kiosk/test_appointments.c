/* Unit tests of the kiosk's appointment calls: every answer checked member by member (offices,
 * availability, tickets, cancel, reschedule, mine, check-in, the ID session), refusals kept with
 * their code and messages, and which calls are repeated after a lost answer, against a test
 * server that signs with a real key. */
#include "internal.h"
#include "kc/client.h"

#include "cl/emrtd_auth.h"
#include "hm/log.h"
#include "hm/util.h"
#include "hs/jws.h"
#include "hs/signer.h"
#include "kc_test_keys.h"
#include "pki.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1796156051

static struct kct_keys K; /* the server keys (kc_test_keys.h) */
static char journal_path[300];

/* ---- the test server: one canned answer at a time ---------------------------- */

struct fake {
    bool down;        /* nothing reaches it */
    bool lose_answer; /* it gets the request, the answer is lost */
    bool foreign;     /* answers signed by another key */
    int attempts;     /* requests tried (also those that did not arrive) */
    int posts, gets;  /* requests that reached it */
    char path[64];
    char body[8192];
    long status;       /* of the canned answer; 0: 201 */
    const char *typ;   /* the canned answer's typ (a JWS), or NULL for an error body */
    json_t *payload;   /* its payload (kept: several attempts may send it) */
    const char *error; /* an error body for status >= 400 */
};

static char *sign_payload(struct hs_signer *s, const char *typ, json_t *p)
{
    char *body = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *tok = NULL;

    assert_non_null(body);
    assert_int_equal(hs_jws_sign(s, typ, (const uint8_t *)body, strlen(body), &tok), HS_OK);
    free(body);
    return tok;
}

static kc_rc answer(struct fake *f, long *status, char *ctype, char **out, size_t *out_len,
                    bool *not_sent, char *err)
{
    f->attempts++;
    if (f->down) {
        *not_sent = true;
        snprintf(err, 256, "Failed to connect");
        return KC_E_NETWORK;
    }
    if (f->lose_answer) {
        *not_sent = false;
        snprintf(err, 256, "Connection reset");
        return KC_E_NETWORK;
    }
    *status = f->status ? f->status : 201;
    if (f->typ) {
        *out = sign_payload(f->foreign ? K.other : K.signer, f->typ, f->payload);
        snprintf(ctype, 128, "application/jose");
    } else {
        *out = strdup(f->error ? f->error : "{}");
        snprintf(ctype, 128, "application/json");
    }
    assert_non_null(*out);
    *out_len = strlen(*out);
    return KC_OK;
}

static kc_rc fake_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    kc_rc rc = answer(f, status, ctype, out, out_len, not_sent, err);

    if (!f->down) {
        f->posts++;
        snprintf(f->path, sizeof(f->path), "%s", path);
        assert_true(len < sizeof(f->body));
        memcpy(f->body, body, len);
        f->body[len] = '\0';
    }
    return rc;
}

static kc_rc fake_get(void *t, const char *path, long *status, char *ctype, char **out,
                      size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    kc_rc rc = answer(f, status, ctype, out, out_len, not_sent, err);

    if (!f->down) {
        f->gets++;
        snprintf(f->path, sizeof(f->path), "%s", path);
        f->body[0] = '\0';
    }
    return rc;
}

static const struct kc_transport_ops fake_ops = {
    .name = "fake", .post = fake_post, .get = fake_get, .free = NULL
};

/* Sets the next answer: a signed payload of typ (stolen). */
static void will_answer(struct fake *f, long status, const char *typ, json_t *payload)
{
    json_decref(f->payload);
    f->status = status;
    f->typ = typ;
    f->payload = payload;
    assert_non_null(payload);
    f->attempts = f->posts = f->gets = 0;
}

/* Sets the next answer: an API error. */
static void will_refuse(struct fake *f, long status, const char *error)
{
    json_decref(f->payload);
    f->payload = NULL;
    f->typ = NULL;
    f->status = status;
    f->error = error;
    f->attempts = f->posts = f->gets = 0;
}

static int64_t fixed_now(void *arg)
{
    (void)arg;
    return NOW;
}

static kc_client *client(struct fake *f)
{
    struct kc_config cfg = {
        .server_url = "https://unused",
        .signing_cert = K.signing_pem,
        .kiosk_id = "kiosk-a",
        .journal_path = journal_path,
        .retries = 2,
        .backoff_ms = 1,
    };
    kc_client *c = NULL;

    assert_int_equal(kc_client_new_transport(&cfg, &fake_ops, f, &c), KC_OK);
    kc_client_set_clock(c, fixed_now, NULL);
    return c;
}

static void done(kc_client *c, struct fake *f)
{
    kc_client_free(c);
    json_decref(f->payload);
    f->payload = NULL;
}

/* ---- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    kct_keys_make(&K, "test_kiosk_appointments");
    snprintf(journal_path, sizeof(journal_path), "%s/journal.db", K.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return kct_keys_remove(&K);
}

/* ---- payloads as docs/API.md gives them ---------------------------------------- */

static json_t *offices_payload(void)
{
    return json_pack("{s:[{s:s,s:s,s:s,s:s,s:b,s:[s,s,s,s],s:s}],s:I}", "offices", "id", "fc-hall",
                     "name", "富川瑶族自治县婚姻登记处", "region", "451123", "province", "45",
                     "cross_province", 1, "services", "marriage", "divorce_apply",
                     "divorce_confirm", "reissue", "hours", "mon-fri 08:30-12:00,14:30-17:30",
                     "iat", (json_int_t)NOW);
}

static json_t *availability_payload(const char *office, const char *date, int cap, int free_)
{
    return json_pack("{s:s,s:s,s:[{s:s,s:b,s:I,s:[{s:s,s:s,s:i,s:i}]},{s:s,s:b,s:I,s:[]}],s:I}",
                     "office", office, "service", "marriage", "days", "date", date, "special", 1,
                     "opens_at", (json_int_t)1810137600, "slots", "start", "09:00", "end", "09:30",
                     "capacity", cap, "free", free_, "date", "2027-05-22", "special", 0, "opens_at",
                     (json_int_t)1810137600, "slots", "iat", (json_int_t)NOW);
}

static json_t *ticket_payload(const char *t, const char *sv, const char *date, const char *slot)
{
    if (strcmp(sv, "reissue") == 0)
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s],s:[s],s:I}", "t", t, "sv", sv, "o", "fc-hall",
                         "d", date, "sl", slot, "n", "张秀英", "m", "110***********0025", "iat",
                         (json_int_t)NOW);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s,s],s:[s,s],s:I}", "t", t, "sv", sv, "o", "fc-hall",
                     "d", date, "sl", slot, "n", "李娜", "王建国", "m", "320***********0046",
                     "330***********0034", "iat", (json_int_t)NOW);
}

#define T1 "AbCdEfGhIjKlMnOp"
#define T2 "QrStUvWxYz012345"

static const struct kc_booking couple = {
    .service = "marriage",
    .office = "fc-hall",
    .date = "2027-05-20",
    .slot = "09:00",
    .parties = { "ids-li", "ids-wang" },
};

/* ---- names ------------------------------------------------------------------------- */

static void test_services_and_provinces(void **state)
{
    (void)state;
    assert_true(kc_service_known("marriage"));
    assert_true(kc_service_known("divorce_application")); /* hs_marriage's spelling */
    assert_string_equal(kc_service_zh("divorce_confirmation"), "离婚登记确认");
    assert_false(kc_service_known(NULL));
    assert_string_equal(kc_service_zh("divorce_confirm"), "离婚登记确认");
    assert_string_equal(kc_service_en("marriage"), "marriage registration");
    assert_null(kc_service_zh("wedding"));
    assert_int_equal(kc_service_parties("reissue"), 1);
    assert_int_equal(kc_service_parties("divorce_apply"), 2);
    assert_int_equal(kc_service_parties("x"), 0);
    assert_string_equal(kc_province_zh("45"), "广西壮族自治区");
    assert_string_equal(kc_province_en("11"), "Beijing");
    assert_null(kc_province_zh("99"));
}

/* ---- offices and availability ----------------------------------------------------------- */

static void test_offices(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    json_t *p = NULL, *bad;

    (void)state;
    will_answer(&f, 200, "huimin-offices", offices_payload());
    assert_int_equal(kc_offices(c, &p), KC_OK);
    assert_int_equal(f.gets, 1);
    assert_int_equal(f.posts, 0);
    assert_string_equal(f.path, "/v1/offices");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(p, "offices"), 0), "id")),
        "fc-hall");
    json_decref(p);

    /* A service this kiosk does not know is left for the caller to skip; one that is not a
     * name, a missing name, a control character: refused. */
    bad = offices_payload();
    json_array_append_new(
        json_object_get(json_array_get(json_object_get(bad, "offices"), 0), "services"),
        json_string("wedding"));
    will_answer(&f, 200, "huimin-offices", bad);
    assert_int_equal(kc_offices(c, &p), KC_OK);
    json_decref(p);
    bad = offices_payload();
    json_array_append_new(
        json_object_get(json_array_get(json_object_get(bad, "offices"), 0), "services"),
        json_integer(5));
    will_answer(&f, 200, "huimin-offices", bad);
    assert_int_equal(kc_offices(c, &p), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "office 1"));
    bad = offices_payload();
    json_object_set_new(json_array_get(json_object_get(bad, "offices"), 0), "name",
                        json_string("a\x1b[2Jb"));
    will_answer(&f, 200, "huimin-offices", bad);
    assert_int_equal(kc_offices(c, &p), KC_E_VERIFY);
    bad = offices_payload();
    json_object_del(json_array_get(json_object_get(bad, "offices"), 0), "cross_province");
    will_answer(&f, 200, "huimin-offices", bad);
    assert_int_equal(kc_offices(c, &p), KC_E_VERIFY);

    /* Another typ, another key: refused by the JWS check. */
    will_answer(&f, 200, "huimin-availability", offices_payload());
    assert_int_equal(kc_offices(c, &p), KC_E_VERIFY);
    f.foreign = true;
    will_answer(&f, 200, "huimin-offices", offices_payload());
    assert_int_equal(kc_offices(c, &p), KC_E_VERIFY);
    f.foreign = false;

    /* A read: repeated after a lost answer. */
    will_answer(&f, 200, "huimin-offices", offices_payload());
    f.lose_answer = true;
    assert_int_equal(kc_offices(c, &p), KC_E_NETWORK);
    assert_int_equal(f.attempts, 3);
    f.lose_answer = false;
    done(c, &f);
}

static void test_availability(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    json_t *p = NULL, *bad;

    (void)state;
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-05-20", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 7, &p), KC_OK);
    assert_string_equal(f.path, "/v1/availability");
    assert_string_equal(f.body,
                        "{\"days\":7,\"from\":\"2027-05-18\",\"office\":\"fc-hall\",\"service\":"
                        "\"marriage\"}");
    json_decref(p);

    /* For another office; a day before the range or after it; more free than capacity. */
    will_answer(&f, 200, "huimin-availability",
                availability_payload("other-hall", "2027-05-20", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 7, &p), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "another office"));
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-05-17", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 7, &p), KC_E_VERIFY);
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-05-20", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 4, &p),
                     KC_E_VERIFY); /* 05-22 is the fifth day */
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-05-20", 20, 21));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 7, &p), KC_E_VERIFY);
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-02-30", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-02-18", 7, &p), KC_E_VERIFY);
    bad = availability_payload("fc-hall", "2027-05-22", 20, 3); /* twice the same day */
    will_answer(&f, 200, "huimin-availability", bad);
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 7, &p), KC_E_VERIFY);

    /* The caller's mistakes never reach the server. */
    will_answer(&f, 200, "huimin-availability",
                availability_payload("fc-hall", "2027-05-20", 20, 3));
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 0, &p),
                     KC_E_INVALID_ARG);
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-05-18", 32, &p),
                     KC_E_INVALID_ARG);
    assert_int_equal(kc_availability(c, "fc-hall", "wedding", "2027-05-18", 7, &p),
                     KC_E_INVALID_ARG);
    assert_int_equal(kc_availability(c, "fc-hall", "marriage", "2027-5-18", 7, &p),
                     KC_E_INVALID_ARG);
    assert_int_equal(kc_availability(c, "fc \"hall", "marriage", "2027-05-18", 7, &p),
                     KC_E_INVALID_ARG);
    assert_int_equal(f.attempts, 0);
    done(c, &f);
}

/* ---- booking --------------------------------------------------------------------- */

static void test_book(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_ticket t;

    (void)state;
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "marriage", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_OK);
    assert_string_equal(f.path, "/v1/appointments");
    assert_string_equal(f.body, "{\"date\":\"2027-05-20\",\"office\":\"fc-hall\",\"parties\":["
                                "\"ids-li\",\"ids-wang\"],\"service\":\"marriage\",\"slot\":"
                                "\"09:00\"}");
    assert_string_equal(t.id, T1);
    assert_string_equal(t.service, "marriage");
    assert_string_equal(t.office, "fc-hall");
    assert_string_equal(t.date, "2027-05-20");
    assert_string_equal(t.slot, "09:00");
    assert_int_equal(t.n_parties, 2);
    assert_string_equal(t.name[0], "李娜");
    assert_string_equal(t.id_masked[1], "330***********0034");
    assert_int_equal(t.iat, NOW);
    assert_int_equal(strncmp(t.token, "eyJ", 3), 0);

    /* The ticket verifies offline with the pinned certificate; one character changed does not. */
    {
        struct kc_ticket again;
        char *dot;

        assert_int_equal(kc_ticket_verify(c, t.token, &again), KC_OK);
        assert_string_equal(again.id, T1);
        dot = strchr(t.token, '.');
        dot[4] = dot[4] == 'B' ? 'C' : 'B';
        assert_int_equal(kc_ticket_verify(c, t.token, &again), KC_E_VERIFY);
    }
    done(c, &f);
}

static void test_book_answer_checked(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_ticket t;
    json_t *p;

    (void)state;
    /* Another slot, another date, another service than asked. */
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "marriage", "2027-05-20", "09:30"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    assert_string_equal(t.id, "");
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "marriage", "2027-05-21", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    will_answer(&f, 201, "huimin-ticket",
                ticket_payload(T1, "divorce_apply", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    /* One party for a marriage; a ticket id that is not 16 base64url characters. */
    p = ticket_payload(T1, "marriage", "2027-05-20", "09:00");
    json_array_remove(json_object_get(p, "n"), 1);
    json_array_remove(json_object_get(p, "m"), 1);
    will_answer(&f, 201, "huimin-ticket", p);
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "parties"));
    will_answer(&f, 201, "huimin-ticket",
                ticket_payload("short", "marriage", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    will_answer(&f, 201, "huimin-ticket",
                ticket_payload("AbCdEfGhIjKlMn/p", "marriage", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    /* A name with a control character. */
    p = ticket_payload(T1, "marriage", "2027-05-20", "09:00");
    json_array_set_new(json_object_get(p, "n"), 0, json_string("李\x07娜"));
    will_answer(&f, 201, "huimin-ticket", p);
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    /* A full ID number in the ticket (it should never be): kept masked. */
    p = ticket_payload(T1, "marriage", "2027-05-20", "09:00");
    json_array_set_new(json_object_get(p, "m"), 0, json_string("320102199208170046"));
    will_answer(&f, 201, "huimin-ticket", p);
    assert_int_equal(kc_book(c, &couple, &t), KC_OK);
    assert_string_equal(t.id_masked[0], "320***********0046");
    /* A receipt is not a ticket. */
    will_answer(&f, 201, "huimin-receipt", ticket_payload(T1, "marriage", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &couple, &t), KC_E_VERIFY);
    done(c, &f);
}

static void test_book_refusals_and_retries(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_ticket t;
    struct kc_booking one = couple, three = couple;
    const struct kc_error *e;

    (void)state;
    will_refuse(&f, 409,
                "{\"error\":{\"code\":\"slot_full\",\"message\":\"该时段已约满，请选择其他时段。\","
                "\"message_en\":\"This slot is full: choose another.\"}}");
    assert_int_equal(kc_book(c, &couple, &t), KC_E_REFUSED);
    e = kc_last_error(c);
    assert_int_equal(e->http_status, 409);
    assert_string_equal(e->code, "slot_full");
    assert_string_equal(e->message, "该时段已约满，请选择其他时段。");
    assert_string_equal(e->message_en, "This slot is full: choose another.");
    assert_int_equal(f.attempts, 1);

    /* A detail that is not text is kept as JSON. */
    will_refuse(&f, 409,
                "{\"error\":{\"code\":\"booking_not_open\",\"message\":\"尚未开放预约。\","
                "\"message_en\":\"Booking has not opened yet.\",\"detail\":{\"opens_at\":"
                "1810137600}}}");
    assert_int_equal(kc_book(c, &couple, &t), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->detail, "{\"opens_at\":1810137600}");
    will_refuse(&f, 409,
                "{\"error\":{\"code\":\"booking_not_open\",\"message\":\"尚未开放预约。\","
                "\"message_en\":\"Booking has not opened yet.\",\"detail\":1810137600}}");
    assert_int_equal(kc_book(c, &couple, &t), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->detail, "1810137600");

    /* A 503 is not repeated either: the booking may have been taken. */
    will_refuse(&f, 503,
                "{\"error\":{\"code\":\"unavailable\",\"message\":\"服务暂不可用。\","
                "\"message_en\":\"Unavailable.\"}}");
    assert_int_equal(kc_book(c, &couple, &t), KC_E_REFUSED);
    assert_int_equal(f.attempts, 1);

    /* The answer lost after the request arrived: not sent again (KC_E_NETWORK; see kc_mine). */
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "marriage", "2027-05-20", "09:00"));
    f.lose_answer = true;
    assert_int_equal(kc_book(c, &couple, &t), KC_E_NETWORK);
    assert_int_equal(f.attempts, 1);
    f.lose_answer = false;
    /* Surely not sent (no connection): repeated. */
    f.attempts = 0;
    f.down = true;
    assert_int_equal(kc_book(c, &couple, &t), KC_E_NETWORK);
    assert_int_equal(f.attempts, 3);
    f.down = false;

    /* The caller's mistakes: the number of parties, a slot, a service. */
    f.attempts = 0;
    one.parties[1] = NULL;
    assert_int_equal(kc_book(c, &one, &t), KC_E_INVALID_ARG);
    three.service = "reissue";
    assert_int_equal(kc_book(c, &three, &t), KC_E_INVALID_ARG);
    three = couple;
    three.slot = "9:00";
    assert_int_equal(kc_book(c, &three, &t), KC_E_INVALID_ARG);
    three = couple;
    three.date = "2027-13-01";
    assert_int_equal(kc_book(c, &three, &t), KC_E_INVALID_ARG);
    three = couple;
    three.service = "wedding";
    assert_int_equal(kc_book(c, &three, &t), KC_E_INVALID_ARG);
    assert_int_equal(f.attempts, 0);

    /* A re-issue names one party. */
    one.service = "reissue";
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "reissue", "2027-05-20", "09:00"));
    assert_int_equal(kc_book(c, &one, &t), KC_OK);
    assert_int_equal(t.n_parties, 1);
    assert_non_null(strstr(f.body, "\"parties\":[\"ids-li\"]"));
    done(c, &f);
}

/* ---- cancel, reschedule, mine ---------------------------------------------------- */

static void test_cancel(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);

    (void)state;
    will_answer(&f, 200, "huimin-appointment",
                json_pack("{s:s,s:s,s:I}", "t", T1, "status", "cancelled", "iat", (json_int_t)NOW));
    assert_int_equal(kc_cancel(c, T1, "ids-li"), KC_OK);
    assert_string_equal(f.path, "/v1/appointments/cancel");
    assert_string_equal(f.body, "{\"id_session\":\"ids-li\",\"ticket\":\"" T1 "\"}");
    /* Repeated after a lost answer: the server answers a second cancel the same way. */
    f.lose_answer = true;
    assert_int_equal(kc_cancel(c, T1, "ids-li"), KC_E_NETWORK);
    assert_int_equal(f.attempts, 1 + 3);
    f.lose_answer = false;
    /* The answer must say that this ticket is cancelled. */
    will_answer(&f, 200, "huimin-appointment",
                json_pack("{s:s,s:s,s:I}", "t", T2, "status", "cancelled", "iat", (json_int_t)NOW));
    assert_int_equal(kc_cancel(c, T1, "ids-li"), KC_E_VERIFY);
    will_answer(&f, 200, "huimin-appointment",
                json_pack("{s:s,s:s,s:I}", "t", T1, "status", "booked", "iat", (json_int_t)NOW));
    assert_int_equal(kc_cancel(c, T1, "ids-li"), KC_E_VERIFY);
    will_refuse(&f, 403,
                "{\"error\":{\"code\":\"not_your_appointment\",\"message\":\"这不是您的预约。\","
                "\"message_en\":\"This is not your appointment.\"}}");
    assert_int_equal(kc_cancel(c, T1, "ids-zhang"), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->code, "not_your_appointment");
    assert_int_equal(kc_cancel(c, "not-a-ticket", "ids-li"), KC_E_INVALID_ARG);
    assert_int_equal(kc_cancel(c, T1, "ids li"), KC_E_INVALID_ARG);
    done(c, &f);
}

static void test_reschedule(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_ticket t;
    const char *const both[2] = { "ids-li", "ids-wang" }, *const none[2] = { NULL, NULL };

    (void)state;
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T2, "marriage", "2027-05-21", "10:00"));
    assert_int_equal(kc_reschedule(c, T1, both, "2027-05-21", "10:00", &t), KC_OK);
    assert_string_equal(f.path, "/v1/appointments/reschedule");
    assert_string_equal(f.body,
                        "{\"date\":\"2027-05-21\",\"id_session\":\"ids-li\",\"parties\":"
                        "[\"ids-li\",\"ids-wang\"],\"slot\":\"10:00\",\"ticket\":\"" T1 "\"}");
    assert_string_equal(t.id, T2);
    /* The new ticket must be new and for the place asked. */
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T1, "marriage", "2027-05-21", "10:00"));
    assert_int_equal(kc_reschedule(c, T1, both, "2027-05-21", "10:00", &t), KC_E_VERIFY);
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T2, "marriage", "2027-05-20", "09:00"));
    assert_int_equal(kc_reschedule(c, T1, both, "2027-05-21", "10:00", &t), KC_E_VERIFY);
    /* Not repeated after a lost answer. */
    will_answer(&f, 201, "huimin-ticket", ticket_payload(T2, "marriage", "2027-05-21", "10:00"));
    f.lose_answer = true;
    assert_int_equal(kc_reschedule(c, T1, both, "2027-05-21", "10:00", &t), KC_E_NETWORK);
    assert_int_equal(f.attempts, 1);
    f.attempts = 0;
    assert_int_equal(kc_reschedule(c, T1, none, "2027-05-21", "10:00", &t), KC_E_INVALID_ARG);
    assert_int_equal(kc_reschedule(c, T1, both, "2027-05-21", "24:00", &t), KC_E_INVALID_ARG);
    assert_int_equal(f.attempts, 0);
    done(c, &f);
}

static json_t *mine_payload(int n, const char *status)
{
    json_t *list = json_array();

    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "t", T1, "sv",
                                              "marriage", "o", "fc-hall", "d", "2027-05-20", "sl",
                                              "09:00", "status", status));
    return json_pack("{s:o,s:I}", "appointments", list, "iat", (json_int_t)NOW);
}

static void test_mine(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    json_t *p = NULL;
    static const char *const statuses[] = { "booked", "checked_in", "cancelled", "rescheduled",
                                            "no_show" };

    (void)state;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        will_answer(&f, 200, "huimin-appointments", mine_payload(2, statuses[i]));
        assert_int_equal(kc_mine(c, "ids-li", &p), KC_OK);
        assert_int_equal(json_array_size(json_object_get(p, "appointments")), 2);
        json_decref(p);
    }
    assert_string_equal(f.body, "{\"id_session\":\"ids-li\"}");
    will_answer(&f, 200, "huimin-appointments", mine_payload(0, "booked"));
    assert_int_equal(kc_mine(c, "ids-li", &p), KC_OK);
    json_decref(p);
    will_answer(&f, 200, "huimin-appointments", mine_payload(1, "lost"));
    assert_int_equal(kc_mine(c, "ids-li", &p), KC_E_VERIFY);
    will_answer(&f, 200, "huimin-appointments", mine_payload(21, "booked"));
    assert_int_equal(kc_mine(c, "ids-li", &p), KC_E_VERIFY);
    will_refuse(&f, 403,
                "{\"error\":{\"code\":\"id_session_expired\",\"message\":\"身份会话已过期。\","
                "\"message_en\":\"The ID session has expired.\"}}");
    assert_int_equal(kc_mine(c, "ids-li", &p), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->code, "id_session_expired");
    done(c, &f);
}

/* ---- check-in -------------------------------------------------------------------- */

static void test_check_in(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    json_t *tp = ticket_payload(T1, "marriage", "2027-05-20", "09:00");
    char *ticket = sign_payload(K.signer, "huimin-ticket", tp), *foreign;
    struct kc_check_in ci;

    (void)state;
    foreign = sign_payload(K.other, "huimin-ticket", tp);
    json_decref(tp);
    will_answer(&f, 200, "huimin-check-in",
                json_pack("{s:s,s:s,s:i,s:I}", "t", T1, "status", "checked_in", "window", 3, "iat",
                          (json_int_t)NOW));
    assert_int_equal(kc_check_in(c, ticket, NULL, &ci), KC_OK);
    assert_string_equal(f.path, "/v1/check-ins");
    assert_non_null(strstr(f.body, ticket));
    assert_string_equal(ci.ticket, T1);
    assert_string_equal(ci.window, "3");

    /* By ID session; the window as text. */
    will_answer(&f, 200, "huimin-check-in",
                json_pack("{s:s,s:s,s:s,s:I}", "t", T1, "status", "checked_in", "window", "A2",
                          "iat", (json_int_t)NOW));
    assert_int_equal(kc_check_in(c, NULL, "ids-li", &ci), KC_OK);
    assert_string_equal(f.body, "{\"id_session\":\"ids-li\"}");
    assert_string_equal(ci.window, "A2");

    /* A ticket made by another key is refused here, without a request. */
    f.attempts = 0;
    assert_int_equal(kc_check_in(c, foreign, NULL, &ci), KC_E_VERIFY);
    assert_int_equal(f.attempts, 0);
    assert_int_equal(kc_check_in(c, "garbage", NULL, &ci), KC_E_VERIFY);
    assert_int_equal(f.attempts, 0);
    assert_int_equal(kc_check_in(c, ticket, "ids-li", &ci), KC_E_INVALID_ARG);
    assert_int_equal(kc_check_in(c, NULL, NULL, &ci), KC_E_INVALID_ARG);

    /* The answer must be for this ticket. */
    will_answer(&f, 200, "huimin-check-in",
                json_pack("{s:s,s:s,s:i,s:I}", "t", T2, "status", "checked_in", "window", 3, "iat",
                          (json_int_t)NOW));
    assert_int_equal(kc_check_in(c, ticket, NULL, &ci), KC_E_VERIFY);
    will_refuse(&f, 409,
                "{\"error\":{\"code\":\"not_today\",\"message\":\"预约不是今天。\","
                "\"message_en\":\"The appointment is not today.\"}}");
    assert_int_equal(kc_check_in(c, ticket, NULL, &ci), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->code, "not_today");
    free(ticket);
    free(foreign);
    done(c, &f);
}

/* ---- the ID session -------------------------------------------------------------- */

static json_t *id_session_payload(const char *kiosk, int64_t exp)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id_session", "ids-zhang", "kiosk",
                     kiosk, "name", "张秀英", "id_masked", "110***********0025", "sex", "F",
                     "birth", "1956-03-12", "province", "11", "iat", (json_int_t)NOW, "exp",
                     (json_int_t)exp);
}

static void verify_session(json_t *p, const char *kiosk, int64_t now, kc_rc want,
                           struct kc_id_session *out)
{
    uint8_t der[KC_CERT_MAX];
    size_t len = 0;
    char why[256] = "", *tok = sign_payload(K.signer, "huimin-id-session", p);
    json_t *v = NULL;
    kc_rc rc;
    struct kc_id_session exp = { .sex = 'F', .birth = "1956-03-12", .province = "11" };

    hm_strlcpy(exp.id_masked, "110***********0025", sizeof(exp.id_masked));
    assert_int_equal(kc_load_cert_der(K.signing_pem, der, sizeof(der), &len, why, sizeof(why)),
                     KC_OK);
    rc = kc_verify_answer(tok, strlen(tok), der, len, "huimin-id-session", kiosk, now, &v, why,
                          sizeof(why));
    if (rc == KC_OK)
        rc = kc_id_session_fill(v, &exp, out, why, sizeof(why));
    if (rc != want)
        fail_msg("want %s, got %s (%s)", kc_rc_name(want), kc_rc_name(rc), why);
    json_decref(v);
    json_decref(p);
    free(tok);
}

static void test_id_session_answer(void **state)
{
    struct kc_id_session s;
    json_t *p;

    (void)state;
    verify_session(id_session_payload("kiosk-a", NOW + 600), "kiosk-a", NOW, KC_OK, &s);
    assert_string_equal(s.id, "ids-zhang");
    assert_string_equal(s.name, "张秀英");
    assert_string_equal(s.id_masked, "110***********0025");
    assert_int_equal(s.sex, 'F');
    assert_string_equal(s.birth, "1956-03-12");
    assert_string_equal(s.province, "11");
    assert_int_equal(s.exp, NOW + 600);
    /* Another kiosk's, expired, without an expiry. */
    verify_session(id_session_payload("kiosk-b", NOW + 600), "kiosk-a", NOW, KC_E_VERIFY, &s);
    verify_session(id_session_payload("kiosk-a", NOW), "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_del(p, "exp");
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    /* Not the card on the reader: another number, sex, birth or province. */
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "id_masked", json_string("110***********0033"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "sex", json_string("M"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "birth", json_string("1956-03-13"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "province", json_string("12"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    /* Malformed members. */
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "sex", json_string("X"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "birth", json_string("1956-02-30"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "id_session", json_string("a b"));
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_del(p, "name");
    verify_session(p, "kiosk-a", NOW, KC_E_VERIFY, &s);
    /* A full number in id_masked is masked again (and then matches). */
    p = id_session_payload("kiosk-a", NOW + 600);
    json_object_set_new(p, "id_masked", json_string("110102195603120025"));
    verify_session(p, "kiosk-a", NOW, KC_OK, &s);
    assert_string_equal(s.id_masked, "110***********0025");
}

/* The request body: sorted keys, base64url of each file, dg14 only when read, wiped when freed. */
static void test_id_request(void **state)
{
    struct cl_emrtd_evidence ev;
    struct hm_buf body;
    json_t *j, *e;
    uint8_t raw[64];
    size_t n = 0;
    const char *v;

    (void)state;
    cl_emrtd_evidence_init(&ev);
    assert_true(hm_buf_add(&ev.com, "\x60\x01\x02", 3));
    assert_true(hm_buf_add(&ev.sod, "\x77\x03", 2));
    assert_true(hm_buf_add(&ev.dg[1], "\x61\x05", 2));
    assert_true(hm_buf_add(&ev.dg[11], "\x6b\x07\xff", 3));
    assert_true(hm_buf_add(&ev.dg[15], "\x6f\x09", 2));
    assert_true(hm_buf_add(&ev.dg[2], "\x75\x00", 2)); /* the face is not sent */
    memcpy(ev.aa_sig, "\x01\x02\x03\x04", 4);
    ev.aa_sig_len = 4;
    assert_int_equal(kc_id_request("NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN", &ev, &body),
                     KC_OK);
    assert_true(body.secret);
    assert_string_equal((const char *)body.data,
                        "{\"evidence\":{\"aa_signature\":\"AQIDBA\",\"com\":\"YAEC\",\"dg1\":"
                        "\"YQU\",\"dg11\":\"awf_\",\"dg15\":\"bwk\",\"sod\":\"dwM\"},\"nonce\":"
                        "\"NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\"}");
    j = json_loads((const char *)body.data, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    e = json_object_get(j, "evidence");
    v = json_string_value(json_object_get(e, "dg11"));
    assert_int_equal(hs_b64url_decode(v, strlen(v), raw, sizeof(raw), &n), HS_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(raw, "\x6b\x07\xff", 3);
    assert_null(json_object_get(e, "dg14"));
    assert_null(json_object_get(e, "dg2"));
    json_decref(j);
    hm_buf_free(&body);

    assert_true(hm_buf_add(&ev.dg[14], "\x6e\x00", 2));
    assert_int_equal(kc_id_request("NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN", &ev, &body),
                     KC_OK);
    assert_non_null(strstr((const char *)body.data, "\"dg11\":\"awf_\",\"dg14\":\"bgA\",\"dg15\""));
    hm_buf_free(&body);
    cl_emrtd_evidence_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_services_and_provinces),
        cmocka_unit_test(test_offices),
        cmocka_unit_test(test_availability),
        cmocka_unit_test(test_book),
        cmocka_unit_test(test_book_answer_checked),
        cmocka_unit_test(test_book_refusals_and_retries),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_reschedule),
        cmocka_unit_test(test_mine),
        cmocka_unit_test(test_check_in),
        cmocka_unit_test(test_id_session_answer),
        cmocka_unit_test(test_id_request),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
