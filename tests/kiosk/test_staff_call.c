/* Unit tests of kc_staff_call(): the request it sends, the signed answer checked member by member
 * (a foreign kiosk's, another key's, another typ's or a malformed answer is refused), a repeat's
 * 200, refusals kept with their code, and bad arguments refused before anything is sent, against
 * a test server that signs with a real key. */
#include "internal.h"
#include "kc/client.h"

#include "hm/log.h"
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

#define NOW  1796156051
#define CALL "Qz0_aB-cD1eF2gH3"

static struct kct_keys K; /* the server keys (kc_test_keys.h) */
static char journal_path[300];

/* ---- the test server: one canned answer ----------------------------------------------- */

struct fake {
    bool lose_answer; /* the request arrives, the answer is lost */
    bool foreign;     /* answers signed by another key */
    int attempts;     /* requests tried */
    char path[64];
    char body[1024];   /* the last request */
    long status;       /* of the answer */
    const char *typ;   /* a signed answer of this typ, or NULL for the error body */
    json_t *payload;   /* the signed answer's payload (kept for every attempt) */
    const char *error; /* an API error body */
};

static kc_rc fake_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    char *json;

    f->attempts++;
    snprintf(f->path, sizeof(f->path), "%s", path);
    assert_true(len < sizeof(f->body));
    memcpy(f->body, body, len);
    f->body[len] = '\0';
    if (f->lose_answer) {
        *not_sent = false;
        snprintf(err, 256, "Connection reset");
        return KC_E_NETWORK;
    }
    *status = f->status;
    if (f->typ) {
        json = json_dumps(f->payload, JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(json);
        assert_int_equal(hs_jws_sign(f->foreign ? K.other : K.signer, f->typ, (const uint8_t *)json,
                                     strlen(json), out),
                         HS_OK);
        free(json);
        snprintf(ctype, 128, "application/jose");
    } else {
        *out = strdup(f->error);
        snprintf(ctype, 128, "application/json");
    }
    assert_non_null(*out);
    *out_len = strlen(*out);
    return KC_OK;
}

static const struct kc_transport_ops fake_ops = { .name = "fake", .post = fake_post };

/* The answer as docs/API.md gives it, for kiosk, with members changed by the caller. */
static json_t *call_payload(const char *kiosk, const char *reason, int waiting)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "call", CALL, "kiosk", kiosk,
                     "kiosk_name", "富川 1号机", "office", "fc-01", "reason", reason, "status",
                     "open", "waiting", waiting, "iat", (json_int_t)NOW);
}

static void will_answer(struct fake *f, long status, const char *typ, json_t *payload)
{
    assert_non_null(payload);
    json_decref(f->payload);
    f->payload = payload;
    f->typ = typ;
    f->status = status;
    f->attempts = 0;
    f->body[0] = '\0';
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

static int group_setup(void **state)
{
    (void)state;
    kct_keys_make(&K, "test_kiosk_staff_call");
    snprintf(journal_path, sizeof(journal_path), "%s/journal.db", K.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return kct_keys_remove(&K);
}

/* ---- the good answers ----------------------------------------------------------------- */

static void test_call_without_session(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_staff_call out;

    (void)state;
    will_answer(&f, 201, "huimin-staff-call", call_payload("kiosk-a", "help", 3));
    assert_int_equal(kc_staff_call(c, "help", "status", NULL, &out), KC_OK);
    assert_string_equal(f.path, "/v1/staff-calls");
    assert_string_equal(f.body, "{\"reason\":\"help\",\"screen\":\"status\",\"session\":null}");
    assert_string_equal(out.id, CALL);
    assert_int_equal(out.waiting, 3);
    assert_int_equal(out.iat, NOW);
    assert_int_equal(kc_last_error(c)->http_status, 201);
    done(c, &f);
}

static void test_call_with_session_and_repeat(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_session s = { .id = "sess-1234", .exp = NOW + 60 };
    struct kc_staff_call out;

    (void)state;
    /* A repeat within 120 s: the earlier call, with its own reason, and 200. */
    will_answer(&f, 200, "huimin-staff-call", call_payload("kiosk-a", "card_problem", 1));
    assert_int_equal(kc_staff_call(c, "pin_blocked", NULL, &s, &out), KC_OK);
    assert_string_equal(f.body,
                        "{\"reason\":\"pin_blocked\",\"screen\":null,\"session\":\"sess-1234\"}");
    assert_string_equal(out.id, CALL);
    assert_int_equal(out.waiting, 1);
    assert_int_equal(kc_last_error(c)->http_status, 200);
    done(c, &f);
}

/* ---- forged, foreign and malformed answers ------------------------------------------------ */

static void expect_refused_answer(struct fake *f, kc_client *c, const char *what)
{
    struct kc_staff_call out;

    memset(&out, 0x5a, sizeof(out));
    if (kc_staff_call(c, "help", NULL, NULL, &out) != KC_E_VERIFY)
        fail_msg("%s: accepted", what);
    assert_int_equal(f->attempts, 1); /* a bad answer is not asked again */
    assert_true(kc_last_error(c)->text[0] != '\0');
}

static void test_foreign_kiosk_answer_refused(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f);

    (void)state;
    will_answer(&f, 201, "huimin-staff-call", call_payload("kiosk-b", "help", 1));
    expect_refused_answer(&f, c, "another kiosk's call");
    assert_non_null(strstr(kc_last_error(c)->text, "another kiosk"));
    /* No kiosk member at all is no better. */
    json_t *p = call_payload("kiosk-a", "help", 1);
    json_object_del(p, "kiosk");
    will_answer(&f, 201, "huimin-staff-call", p);
    expect_refused_answer(&f, c, "a call naming no kiosk");
    done(c, &f);
}

static void test_forged_answer_refused(void **state)
{
    struct fake f = { .foreign = true };
    kc_client *c = client(&f);

    (void)state;
    will_answer(&f, 201, "huimin-staff-call", call_payload("kiosk-a", "help", 1));
    expect_refused_answer(&f, c, "an answer signed by another key");
    assert_non_null(strstr(kc_last_error(c)->text, "signature"));
    f.foreign = false;
    will_answer(&f, 201, "huimin-dispute", call_payload("kiosk-a", "help", 1));
    expect_refused_answer(&f, c, "an answer of another typ");
    done(c, &f);
}

static void test_malformed_members_refused(void **state)
{
    static const struct {
        const char *key;
        const char *json; /* the member's new value as JSON, NULL: removed */
    } cases[] = {
        { "call", NULL },
        { "call", "\"\"" },
        { "call", "\"0123456789abcdef0123456789abcdef\"" }, /* 32: does not fit */
        { "call", "\"has space\"" },
        { "call", "17" },
        { "reason", "\"bored\"" },
        { "reason", NULL },
        { "status", "\"closed\"" },
        { "status", NULL },
        { "waiting", "0" },
        { "waiting", "-2" },
        { "waiting", "\"3\"" },
        { "waiting", "3000000000" },
        { "waiting", NULL },
        { "iat", NULL },
        { "iat", "\"now\"" },
        { "kiosk_name", NULL },
        { "office", "5" },
    };
    struct fake f = { 0 };
    kc_client *c = client(&f);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *p = call_payload("kiosk-a", "help", 2);
        char what[128];

        if (cases[i].json) {
            json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
            assert_non_null(v);
            json_object_set_new(p, cases[i].key, v);
        } else {
            json_object_del(p, cases[i].key);
        }
        will_answer(&f, 201, "huimin-staff-call", p);
        snprintf(what, sizeof(what), "%s = %s", cases[i].key,
                 cases[i].json ? cases[i].json : "(none)");
        expect_refused_answer(&f, c, what);
    }
    done(c, &f);
}

/* ---- refusals, lost answers and bad arguments ------------------------------------------------ */

static void test_server_refusal_kept(void **state)
{
    struct fake f = { .status = 403,
                      .error = "{\"error\":{\"code\":\"session_other_kiosk\",\"message\":\"这次刷卡"
                               "不是在这台终端上，请重新刷卡。\",\"message_en\":\"The card session "
                               "belongs to another kiosk; tap the card again.\"}}" };
    kc_client *c = client(&f);
    struct kc_session s = { .id = "other-kiosk-session" };
    struct kc_staff_call out;

    (void)state;
    assert_int_equal(kc_staff_call(c, "help", NULL, &s, &out), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->code, "session_other_kiosk");
    assert_int_equal(kc_last_error(c)->http_status, 403);
    assert_non_null(strstr(kc_last_error(c)->message, "重新刷卡"));
    assert_int_equal(f.attempts, 1);
    done(c, &f);
}

static void test_lost_answer_retried(void **state)
{
    struct fake f = { .lose_answer = true };
    kc_client *c = client(&f);
    struct kc_staff_call out;

    (void)state;
    will_answer(&f, 201, "huimin-staff-call", call_payload("kiosk-a", "help", 1));
    f.lose_answer = true;
    /* The server makes one call of repeats within 120 s: asking again is safe. */
    assert_int_equal(kc_staff_call(c, "help", NULL, NULL, &out), KC_E_NETWORK);
    assert_int_equal(f.attempts, 3); /* the first try and two retries */
    done(c, &f);
}

static void test_bad_arguments_not_sent(void **state)
{
    static const char *const bad_screens[] = {
        "", "Status", "pin entry", "状态", "abcdefghijklmnopqrstuvwxyz0123456", "a/b",
    };
    struct fake f = { 0 };
    kc_client *c = client(&f);
    struct kc_session empty = { .id = "" };
    struct kc_staff_call out;

    (void)state;
    will_answer(&f, 201, "huimin-staff-call", call_payload("kiosk-a", "help", 1));
    assert_int_equal(kc_staff_call(c, "bored", NULL, NULL, &out), KC_E_INVALID_ARG);
    assert_non_null(strstr(kc_last_error(c)->text, "card_problem"));
    assert_int_equal(kc_staff_call(c, NULL, NULL, NULL, &out), KC_E_INVALID_ARG);
    for (size_t i = 0; i < sizeof(bad_screens) / sizeof(bad_screens[0]); i++)
        assert_int_equal(kc_staff_call(c, "help", bad_screens[i], NULL, &out), KC_E_INVALID_ARG);
    assert_int_equal(kc_staff_call(c, "help", NULL, &empty, &out), KC_E_INVALID_ARG);
    assert_int_equal(kc_staff_call(c, "help", NULL, NULL, NULL), KC_E_INVALID_ARG);
    assert_int_equal(kc_staff_call(NULL, "help", NULL, NULL, &out), KC_E_INVALID_ARG);
    assert_int_equal(f.attempts, 0);
    /* The longest good screen name goes out. */
    assert_int_equal(kc_staff_call(c, "other", "abcdefghijklmnopqrstuvwxyz_-0123", NULL, &out),
                     KC_OK);
    assert_int_equal(f.attempts, 1);
    done(c, &f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_without_session),
        cmocka_unit_test(test_call_with_session_and_repeat),
        cmocka_unit_test(test_foreign_kiosk_answer_refused),
        cmocka_unit_test(test_forged_answer_refused),
        cmocka_unit_test(test_malformed_members_refused),
        cmocka_unit_test(test_server_refusal_kept),
        cmocka_unit_test(test_lost_answer_retried),
        cmocka_unit_test(test_bad_arguments_not_sent),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
