/* Unit tests of the kiosk client: the journal (write, restart, exactly-once delivery, a crash
 * between send and mark) and the verification of every answer, against a test server that signs
 * with a real key. */
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

#define NOW 1796156051

static struct kct_keys K; /* the server keys (kc_test_keys.h) */

/* ---- the test server: confirmations exactly once, like huimin-server ---------- */

enum mode {
    UP = 0,      /* answers */
    DOWN,        /* nothing reaches it */
    LOSE_ANSWER, /* it processes the request, the answer is lost (a crash or a cut) */
    ALTER,       /* a man in the middle changes the answer */
    FOREIGN_KEY, /* answers signed by another key */
};

struct fake {
    enum mode mode;
    int posts;         /* requests that reached it */
    int confirmations; /* rows in its confirmations table */
    char stmts[8][600];
    char receipts[8][2048];
    char last_session[64]; /* "null" or the id */
};

static kc_rc fake_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    json_t *req = json_loadb(body, len, 0, NULL), *ses;
    char *tok = NULL;
    struct hs_signer *s = f->mode == FOREIGN_KEY ? K.other : K.signer;

    assert_non_null(req);
    if (f->mode == DOWN) {
        json_decref(req);
        *not_sent = true;
        snprintf(err, 256, "Failed to connect");
        return KC_E_NETWORK;
    }
    f->posts++;
    ses = json_object_get(req, "session");
    snprintf(f->last_session, sizeof(f->last_session), "%s",
             json_is_null(ses)        ? "null"
             : json_string_value(ses) ? json_string_value(ses)
                                      : "?");
    *status = 201;
    if (strcmp(path, "/v1/nonces") == 0) {
        tok = kct_sign_payload(s, "huimin-nonce",
                               json_pack("{s:s,s:s,s:s,s:I,s:I}", "nonce",
                                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "purpose",
                                         json_string_value(json_object_get(req, "purpose")),
                                         "kiosk", "kiosk-a", "iat", (json_int_t)NOW, "exp",
                                         (json_int_t)NOW + 60));
    } else if (strcmp(path, "/v1/confirmations") == 0) {
        const char *st = json_string_value(json_object_get(req, "statement"));
        uint8_t raw[600];
        size_t raw_len = 0;
        char hash[32];
        int i;

        assert_non_null(st);
        assert_int_equal(hs_b64url_decode(st, strlen(st), raw, sizeof(raw), &raw_len), HS_OK);
        assert_int_equal(kc_statement_hash(raw, raw_len, hash), KC_OK);
        for (i = 0; i < f->confirmations; i++)
            if (strcmp(f->stmts[i], st) == 0)
                break;
        if (i < f->confirmations) {
            *status = 200; /* the same statement again: the stored receipt */
            tok = strdup(f->receipts[i]);
        } else {
            json_t *j = json_loads((const char *)raw, 0, NULL);
            char rid[32];

            assert_non_null(j);
            assert_true(f->confirmations < 8);
            snprintf(rid, sizeof(rid), "R%d", f->confirmations + 1);
            tok = kct_sign_payload(s, "huimin-receipt",
                                   json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "a",
                                             json_integer_value(json_object_get(j, "amount_fen")),
                                             "iat", (json_int_t)NOW, "k", "kiosk-a", "m", "pin",
                                             "p", json_string_value(json_object_get(j, "payment")),
                                             "pd", json_string_value(json_object_get(j, "period")),
                                             "r", rid, "s", hash, "w", "WF3301060000123"));
            json_decref(j);
            snprintf(f->stmts[f->confirmations], sizeof(f->stmts[0]), "%s", st);
            snprintf(f->receipts[f->confirmations], sizeof(f->receipts[0]), "%s", tok);
            f->confirmations++;
        }
    } else {
        *status = 404;
        tok = strdup("{\"error\":{\"code\":\"not_found\",\"message\":\"没有这个服务地址。\","
                     "\"message_en\":\"There is no such resource.\"}}");
    }
    json_decref(req);
    assert_non_null(tok);
    if (f->mode == LOSE_ANSWER) {
        free(tok);
        *not_sent = false;
        snprintf(err, 256, "Connection reset");
        return KC_E_NETWORK;
    }
    if (f->mode == ALTER) {
        /* Change one character of the payload. */
        char *dot = strchr(tok, '.');

        dot[5] = dot[5] == 'A' ? 'B' : 'A';
    }
    snprintf(ctype, 128, "%s", *status == 404 ? "application/json" : "application/jose");
    *out = tok;
    *out_len = strlen(tok);
    return KC_OK;
}

static const struct kc_transport_ops fake_ops = { .name = "fake", .post = fake_post, .free = NULL };

static int64_t fixed_now(void *arg)
{
    (void)arg;
    return NOW;
}

static char journal_path[300];

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

/* ---- fixtures -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    kct_keys_make(&K, "test_kiosk_client");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return kct_keys_remove(&K);
}

static int new_journal(void **state)
{
    static int n;

    (void)state;
    snprintf(journal_path, sizeof(journal_path), "%s/journal-%d.db", K.dir, ++n);
    return 0;
}

/* A journal entry as kc_confirm writes it, for a statement of payment p. */
static int64_t add_entry(kc_client *c, const char *payment, const char *period)
{
    json_t *st =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:s}", "amount_fen", (json_int_t)75000, "kiosk",
                  "kiosk-a", "nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "payment",
                  payment, "period", period, "time", (json_int_t)NOW, "typ", "huimin-confirmation",
                  "v", 1, "welfare_no", "WF3301060000123");
    char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS), b64[1024], hash[32], *req;
    int64_t id = 0;

    json_decref(st);
    hs_b64url_encode((const uint8_t *)text, strlen(text), b64);
    assert_int_equal(kc_statement_hash((const uint8_t *)text, strlen(text), hash), KC_OK);
    free(text);
    st = json_pack("{s:n,s:s,s:s,s:s,s:s}", "session", "statement", b64, "key", "9c", "cert",
                   "AAAA", "signature", "AAAA");
    req = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(st);
    assert_int_equal(kc_journal_add(c->journal, NOW, "kiosk-a", payment, hash, req, &id), KC_OK);
    free(req);
    return id;
}

struct counts {
    int n[3];
    char receipt[8][64];
};

static bool count_entry(void *arg, const struct kc_entry *e)
{
    struct counts *k = arg;

    if (e->state == KC_ENTRY_DELIVERED && k->n[1] < 8)
        snprintf(k->receipt[k->n[1]], sizeof(k->receipt[0]), "%s", e->receipt_id);
    k->n[e->state]++;
    return true;
}

static struct counts count(kc_client *c)
{
    struct counts k;

    memset(&k, 0, sizeof(k));
    assert_int_equal(kc_journal_each(c, count_entry, &k), KC_OK);
    return k;
}

/* ---- journal ---------------------------------------------------------------- */

static void test_journal_restart_and_deliver_once(void **state)
{
    struct fake f = { .mode = DOWN };
    struct kc_sync_result r;
    kc_client *c = client(&f);
    struct counts k;

    (void)state;
    add_entry(c, "P-E000001-202611", "2026-11");
    add_entry(c, "P-E000001-202612", "2026-12");
    /* The server is away: nothing delivered, both wait. */
    assert_int_equal(kc_sync(c, &r), KC_E_NETWORK);
    assert_int_equal(r.delivered, 0);
    assert_int_equal(r.pending, 2);
    kc_client_free(c);

    /* A restart keeps them. */
    c = client(&f);
    k = count(c);
    assert_int_equal(k.n[KC_ENTRY_PENDING], 2);
    f.mode = UP;
    assert_int_equal(kc_sync(c, &r), KC_OK);
    assert_int_equal(r.delivered, 2);
    assert_int_equal(r.pending, 0);
    assert_int_equal(f.confirmations, 2);
    assert_string_equal(f.last_session, "null"); /* journal deliveries carry no session */
    k = count(c);
    assert_int_equal(k.n[KC_ENTRY_DELIVERED], 2);
    assert_string_equal(k.receipt[0], "R1"); /* in the order they were made */
    assert_string_equal(k.receipt[1], "R2");

    /* Syncing again sends nothing. */
    f.posts = 0;
    assert_int_equal(kc_sync(c, &r), KC_OK);
    assert_int_equal(r.delivered, 0);
    assert_int_equal(f.posts, 0);
    kc_client_free(c);
}

static void test_journal_crash_between_send_and_mark(void **state)
{
    struct fake f = { .mode = LOSE_ANSWER };
    struct kc_sync_result r;
    kc_client *c = client(&f);
    struct counts k;

    (void)state;
    add_entry(c, "P-E000001-202611", "2026-11");
    /* The server stored it but the answer never came back: still pending. */
    assert_int_equal(kc_sync(c, &r), KC_E_NETWORK);
    assert_int_equal(f.confirmations, 1);
    assert_true(f.posts >= 1);
    k = count(c);
    assert_int_equal(k.n[KC_ENTRY_PENDING], 1);
    kc_client_free(c); /* the kiosk restarts */

    /* The resend gets the stored receipt (200): harmless, and now it is marked. */
    f.mode = UP;
    c = client(&f);
    assert_int_equal(kc_sync(c, &r), KC_OK);
    assert_int_equal(r.delivered, 1);
    assert_int_equal(f.confirmations, 1);
    k = count(c);
    assert_int_equal(k.n[KC_ENTRY_DELIVERED], 1);
    assert_string_equal(k.receipt[0], "R1");
    kc_client_free(c);
}

static void test_journal_altered_receipt_not_marked(void **state)
{
    struct fake f = { .mode = ALTER };
    struct kc_sync_result r;
    kc_client *c = client(&f);
    struct counts k;

    (void)state;
    add_entry(c, "P-E000001-202611", "2026-11");
    assert_int_equal(kc_sync(c, &r), KC_E_VERIFY);
    k = count(c);
    assert_int_equal(k.n[KC_ENTRY_PENDING], 1); /* only a verified receipt marks it */
    kc_client_free(c);
    {
        /* A server signing with a key that is not the pinned one. */
        struct fake g = { .mode = FOREIGN_KEY };

        c = client(&g);
        assert_int_equal(kc_sync(c, &r), KC_E_VERIFY);
        assert_int_equal(count(c).n[KC_ENTRY_PENDING], 1);
        kc_client_free(c);
    }
    c = client(&f);
    f.mode = UP;
    assert_int_equal(kc_sync(c, &r), KC_OK);
    assert_int_equal(count(c).n[KC_ENTRY_DELIVERED], 1);
    kc_client_free(c);
}

static void test_journal_file_private(void **state)
{
    struct fake f = { .mode = UP };
    kc_client *c = client(&f);

    (void)state;
    assert_int_equal(access(journal_path, R_OK), 0);
    kc_client_free(c);
    /* Only its owner may read the journal. */
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "test \"$(stat -c %%a '%s')\" = 600", journal_path);
    assert_int_equal(system(cmd), 0);
}

/* ---- answers ---------------------------------------------------------------- */

static void verify_rc(const char *tok, const char *typ, const char *kiosk, int64_t now, kc_rc want,
                      const char *why_has)
{
    uint8_t der[KC_CERT_MAX];
    size_t len = 0;
    json_t *p = NULL;
    char why[256] = "";
    kc_rc rc;

    assert_int_equal(kc_load_cert_der(K.signing_pem, der, sizeof(der), &len, why, sizeof(why)),
                     KC_OK);
    rc = kc_verify_answer(tok, strlen(tok), der, len, typ, kiosk, now, &p, why, sizeof(why));
    if (rc != want)
        fail_msg("want %s, got %s (%s)", kc_rc_name(want), kc_rc_name(rc), why);
    if (want == KC_OK)
        assert_non_null(p);
    else if (why_has && !strstr(why, why_has))
        fail_msg("reason '%s' does not say '%s'", why, why_has);
    json_decref(p);
}

static json_t *session_payload(const char *kiosk, int64_t exp)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "session", "S1", "kiosk", kiosk, "welfare_no",
                     "WF3301060000123", "holder", "张秀英", "card_serial", "42", "iat",
                     (json_int_t)NOW - 10, "exp", (json_int_t)exp);
}

static void test_answer_good(void **state)
{
    char *t =
        kct_sign_payload(K.signer, "huimin-card-session", session_payload("kiosk-a", NOW + 300));

    (void)state;
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_OK, NULL);
    free(t);
}

static void test_answer_other_key(void **state)
{
    char *t =
        kct_sign_payload(K.other, "huimin-card-session", session_payload("kiosk-a", NOW + 300));

    (void)state;
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "signature");
    free(t);
}

static void test_answer_wrong_typ(void **state)
{
    char *t = kct_sign_payload(K.signer, "huimin-nonce", session_payload("kiosk-a", NOW + 300));

    (void)state;
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "type");
    free(t);
    t = kct_sign_payload(K.signer, NULL, session_payload("kiosk-a", NOW + 300));
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "type");
    free(t);
}

static void test_answer_other_kiosk(void **state)
{
    char *t =
        kct_sign_payload(K.signer, "huimin-card-session", session_payload("kiosk-b", NOW + 300));
    json_t *p = session_payload("kiosk-a", NOW + 300);

    (void)state;
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "another kiosk");
    free(t);
    json_object_del(p, "kiosk");
    t = kct_sign_payload(K.signer, "huimin-card-session", p);
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "another kiosk");
    free(t);
    /* A receipt names its kiosk in "k". */
    t = kct_sign_payload(
        K.signer, "huimin-receipt",
        json_pack("{s:I,s:s,s:s}", "a", (json_int_t)75000, "k", "kiosk-b", "r", "R1"));
    verify_rc(t, "huimin-receipt", "kiosk-a", NOW, KC_E_VERIFY, "another kiosk");
    free(t);
}

static void test_answer_expired(void **state)
{
    char *t =
        kct_sign_payload(K.signer, "huimin-card-session", session_payload("kiosk-a", NOW - 1));
    json_t *p = session_payload("kiosk-a", NOW);

    (void)state;
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "expired");
    free(t);
    json_object_del(p, "exp");
    t = kct_sign_payload(K.signer, "huimin-card-session", p);
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "expiry");
    free(t);
}

static void test_answer_altered(void **state)
{
    char *t =
        kct_sign_payload(K.signer, "huimin-card-session", session_payload("kiosk-a", NOW + 300));
    char *dot = strchr(t, '.');

    (void)state;
    dot[3] = dot[3] == 'B' ? 'C' : 'B';
    verify_rc(t, "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, NULL);
    verify_rc("not a token", "huimin-card-session", "kiosk-a", NOW, KC_E_VERIFY, "well-formed");
    free(t);
}

/* Through the client: an altered or foreign answer makes the call fail; an error answer
 * carries the server's code and messages. */
static void test_call_refuses_bad_answers(void **state)
{
    struct fake f = { .mode = ALTER };
    kc_client *c = client(&f);
    char nonce[64];

    (void)state;
    assert_int_equal(kc_nonce(c, "confirm", nonce, NULL), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "/v1/nonces"));
    f.mode = FOREIGN_KEY;
    assert_int_equal(kc_nonce(c, "confirm", nonce, NULL), KC_E_VERIFY);
    f.mode = UP;
    assert_int_equal(kc_nonce(c, "confirm", nonce, NULL), KC_OK);
    assert_int_equal(strlen(nonce), 43);
    json_t *p = NULL;
    assert_int_equal(kc_call(c, "/v1/elsewhere", "{}", "huimin-status", true, &p), KC_E_REFUSED);
    assert_string_equal(kc_last_error(c)->code, "not_found");
    assert_string_equal(kc_last_error(c)->message, "没有这个服务地址。");
    assert_int_equal(kc_last_error(c)->http_status, 404);
    kc_client_free(c);
}

/* Retries: an idempotent call is repeated after a lost answer, a non-idempotent one is not. */
static void test_retries(void **state)
{
    struct fake f = { .mode = LOSE_ANSWER };
    kc_client *c = client(&f);
    json_t *p = NULL;

    (void)state;
    assert_int_equal(
        kc_call(c, "/v1/nonces", "{\"purpose\":\"confirm\"}", "huimin-nonce", true, &p),
        KC_E_NETWORK);
    assert_int_equal(f.posts, 3); /* 1 + 2 retries */
    f.posts = 0;
    assert_int_equal(
        kc_call(c, "/v1/nonces", "{\"purpose\":\"confirm\"}", "huimin-nonce", false, &p),
        KC_E_NETWORK);
    assert_int_equal(f.posts, 1); /* it may have arrived: not sent again */
    kc_client_free(c);
}

static void test_every_code_has_a_string(void **state)
{
    (void)state;
    for (int i = 0; i < KC_RC_COUNT; i++) {
        assert_string_not_equal(kc_strerror((kc_rc)i), "unknown error");
        assert_string_not_equal(kc_rc_name((kc_rc)i), "KC_E_UNKNOWN");
    }
    assert_string_equal(kc_strerror(KC_RC_COUNT), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_journal_restart_and_deliver_once, new_journal),
        cmocka_unit_test_setup(test_journal_crash_between_send_and_mark, new_journal),
        cmocka_unit_test_setup(test_journal_altered_receipt_not_marked, new_journal),
        cmocka_unit_test_setup(test_journal_file_private, new_journal),
        cmocka_unit_test(test_answer_good),
        cmocka_unit_test(test_answer_other_key),
        cmocka_unit_test(test_answer_wrong_typ),
        cmocka_unit_test(test_answer_other_kiosk),
        cmocka_unit_test(test_answer_expired),
        cmocka_unit_test(test_answer_altered),
        cmocka_unit_test_setup(test_call_refuses_bad_answers, new_journal),
        cmocka_unit_test_setup(test_retries, new_journal),
        cmocka_unit_test(test_every_code_has_a_string),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
