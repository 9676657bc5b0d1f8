/* Unit tests of the kiosk's status cache (kc_status keeps, kc_status_cached shows while the server
 * is away): newest only, expiry, a forged, altered or foreign token refused, another card's status
 * never shown, and the cache switched off; against a test server that signs with a real key. */
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
#define HOUR 3600

static struct kct_keys K; /* the server keys (kc_test_keys.h) */
static char journal_path[300];
static int64_t clock_now = NOW;

/* ---- the test server: /v1/status for session S1 ------------------------------ */

struct fake {
    bool down;
    int posts;
    const char *welfare_no; /* whose status it answers with */
    const char *kiosk;      /* which kiosk the answer names ("kiosk-a") */
    struct hs_signer *key;  /* NULL: the pinned signer */
    int64_t year_total;     /* changes from answer to answer: which one is kept */
};

static char *status_token(struct fake *f, const char *session)
{
    return kct_sign_payload(
        f->key ? f->key : K.signer, "huimin-status",
        json_pack("{s:s,s:s,s:I,s:I,s:{s:s,s:s,s:s,s:b},s:[],s:[{s:s,s:s,s:s,s:I,s:s}],s:[s],"
                  "s:n,s:I}",
                  "session", session, "kiosk", f->kiosk ? f->kiosk : "kiosk-a", "iat",
                  (json_int_t)clock_now, "exp", (json_int_t)clock_now + 300, "resident", "id",
                  "R000001", "name", "张秀英", "welfare_no",
                  f->welfare_no ? f->welfare_no : "WF3301060000123", "tap_only", 0, "entitlements",
                  "payments", "id", "P-E000001-202611", "programme_name", "城市最低生活保障",
                  "period", "2026-11", "amount_fen", (json_int_t)75000, "status", "paid",
                  "awaiting_confirmation", "P-E000001-202611", "next_payment", "year_total_fen",
                  (json_int_t)f->year_total));
}

static kc_rc fake_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    json_t *req = json_loadb(body, len, 0, NULL);
    char *tok;

    assert_non_null(req);
    if (f->down) {
        json_decref(req);
        *not_sent = true;
        snprintf(err, 256, "Failed to connect");
        return KC_E_NETWORK;
    }
    f->posts++;
    assert_string_equal(path, "/v1/status");
    tok = status_token(f, json_string_value(json_object_get(req, "session")));
    json_decref(req);
    *status = 200;
    snprintf(ctype, 128, "application/jose");
    *out = tok;
    *out_len = strlen(tok);
    return KC_OK;
}

static const struct kc_transport_ops fake_ops = { .name = "fake", .post = fake_post, .free = NULL };

static int64_t test_now(void *arg)
{
    (void)arg;
    return clock_now;
}

/* A client with status_cache_hours (0: the default). */
static kc_client *client(struct fake *f, int hours)
{
    struct kc_config cfg = {
        .server_url = "https://unused",
        .signing_cert = K.signing_pem,
        .kiosk_id = "kiosk-a",
        .journal_path = journal_path,
        .retries = -1,
        .backoff_ms = 1,
        .status_cache_hours = hours,
    };
    kc_client *c = NULL;

    assert_int_equal(kc_client_new_transport(&cfg, &fake_ops, f, &c), KC_OK);
    kc_client_set_clock(c, test_now, NULL);
    return c;
}

/* A card session as kc_tap makes it: card is the first byte of its certificate's hash. */
static struct kc_session session(uint8_t card, const char *welfare_no)
{
    struct kc_session s;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "S1");
    snprintf(s.welfare_no, sizeof(s.welfare_no), "%s", welfare_no);
    snprintf(s.holder, sizeof(s.holder), "张秀英");
    s.exp = NOW + 300;
    memset(s.card_sha256, 0x11, sizeof(s.card_sha256));
    s.card_sha256[0] = card;
    return s;
}

/* The same card checked at the kiosk only (kc_tap_offline): no server session. */
static struct kc_session offline(uint8_t card, const char *welfare_no)
{
    struct kc_session s = session(card, welfare_no);

    s.id[0] = '\0';
    s.exp = 0;
    return s;
}

static void status_ok(kc_client *c, const struct kc_session *s)
{
    json_t *st = NULL;

    assert_int_equal(kc_status(c, s, &st), KC_OK);
    json_decref(st);
}

/* kc_status_cached's code; on KC_OK the year total and as_of it gave. */
static kc_rc cached(kc_client *c, const struct kc_session *s, int64_t *year_total, int64_t *as_of)
{
    json_t *st = NULL;
    int64_t at = -1;
    kc_rc rc = kc_status_cached(c, s, &st, &at);

    if (rc == KC_OK) {
        assert_non_null(st);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(st, "resident"), "welfare_no")),
            s->welfare_no);
        if (year_total)
            *year_total = json_integer_value(json_object_get(st, "year_total_fen"));
        if (as_of)
            *as_of = at;
        json_decref(st);
    } else {
        assert_null(st);
    }
    return rc;
}

/* ---- fixtures ----------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    kct_keys_make(&K, "test_kiosk_status_cache");
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
    clock_now = NOW;
    snprintf(journal_path, sizeof(journal_path), "%s/journal-%d.db", K.dir, ++n);
    return 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_kept_after_status(void **state)
{
    struct fake f = { .year_total = 900000 };
    kc_client *c = client(&f, 0);
    struct kc_session s = session(0xA1, "WF3301060000123");
    struct kc_session local = offline(0xA1, "WF3301060000123");
    int64_t total = 0, as_of = 0;
    char cmd[400];

    (void)state;
    /* Nothing kept before a status was verified. */
    assert_int_equal(cached(c, &local, NULL, NULL), KC_E_NOT_FOUND);
    assert_int_equal(kc_cache_count(c->journal), 0);
    status_ok(c, &s);
    assert_int_equal(kc_cache_count(c->journal), 1);
    /* Later, the server away: the same card checked at the kiosk gets it, as of then. */
    f.down = true;
    clock_now = NOW + 2 * HOUR;
    assert_int_equal(cached(c, &local, &total, &as_of), KC_OK);
    assert_int_equal(total, 900000);
    assert_int_equal(as_of, NOW);
    /* No request was needed for it. */
    assert_int_equal(f.posts, 1);
    /* An offline session has no server session: kc_status refuses it without sending. */
    json_t *st = NULL;
    f.down = false;
    assert_int_equal(kc_status(c, &local, &st), KC_E_INVALID_ARG);
    assert_null(st);
    assert_int_equal(f.posts, 1);
    kc_client_free(c);

    /* It survives a restart, in the journal's file: for its owner only. */
    c = client(&f, 0);
    f.down = true;
    assert_int_equal(cached(c, &local, &total, NULL), KC_OK);
    kc_client_free(c);
    snprintf(cmd, sizeof(cmd), "test \"$(stat -c %%a '%s')\" = 600", journal_path);
    assert_int_equal(system(cmd), 0);
}

static void test_newest_only(void **state)
{
    struct fake f = { .year_total = 100 };
    kc_client *c = client(&f, 0);
    struct kc_session s = session(0xA1, "WF3301060000123");
    int64_t total = 0, as_of = 0;

    (void)state;
    status_ok(c, &s);
    clock_now = NOW + 600;
    f.year_total = 200;
    status_ok(c, &s);
    assert_int_equal(kc_cache_count(c->journal), 1);
    f.down = true;
    assert_int_equal(cached(c, &s, &total, &as_of), KC_OK);
    assert_int_equal(total, 200);
    assert_int_equal(as_of, NOW + 600);
    kc_client_free(c);
}

static void test_expiry(void **state)
{
    struct fake f = { .year_total = 100 };
    kc_client *c = client(&f, 2);
    struct kc_session a = session(0xA1, "WF3301060000123");
    struct kc_session b = session(0xB2, "WF3301060000456");

    (void)state;
    status_ok(c, &a);
    clock_now = NOW + HOUR;
    f.welfare_no = "WF3301060000456";
    status_ok(c, &b);
    assert_int_equal(kc_cache_count(c->journal), 2);
    f.down = true;
    clock_now = NOW + 2 * HOUR;
    assert_int_equal(cached(c, &a, NULL, NULL), KC_OK); /* exactly 2 hours: still shown */
    clock_now = NOW + 2 * HOUR + 1;
    assert_int_equal(cached(c, &a, NULL, NULL), KC_E_NOT_FOUND);
    /* Deleted, not only hidden; the younger one stays. */
    assert_int_equal(kc_cache_count(c->journal), 1);
    assert_int_equal(cached(c, &b, NULL, NULL), KC_OK);
    kc_client_free(c);

    /* The default: 72 hours. */
    c = client(&f, 0);
    clock_now = NOW + HOUR + 72 * HOUR;
    assert_int_equal(cached(c, &b, NULL, NULL), KC_OK);
    clock_now = NOW + HOUR + 72 * HOUR + 1;
    assert_int_equal(cached(c, &b, NULL, NULL), KC_E_NOT_FOUND);
    assert_int_equal(kc_cache_count(c->journal), 0);
    kc_client_free(c);
}

/* Stores token as card 0xA1's status, verified at NOW. */
static void plant(kc_client *c, const char *token)
{
    char key[65];

    memset(key, '1', 64);
    key[0] = 'a';
    key[1] = '1';
    key[64] = '\0';
    assert_int_equal(kc_cache_put(c->journal, key, token, NOW), KC_OK);
}

static void test_forged_or_altered_refused(void **state)
{
    struct fake f = { .year_total = 100 };
    kc_client *c = client(&f, 0);
    struct kc_session s = session(0xA1, "WF3301060000123");
    char key[65], *tok = NULL;
    int64_t at = 0;

    (void)state;
    /* The key cache_key makes for 0xA1 0x11...: the planted rows go where it looks. */
    status_ok(c, &s);
    memset(key, '1', 64);
    key[0] = 'a';
    key[1] = '1';
    key[64] = '\0';
    assert_int_equal(kc_cache_get(c->journal, key, &tok, &at), KC_OK);
    assert_int_equal(at, NOW);

    /* One character of the payload changed on disk: refused, and the row deleted. */
    char *dot = strchr(tok, '.');
    assert_non_null(dot);
    dot[7] = dot[7] == 'A' ? 'B' : 'A';
    plant(c, tok);
    free(tok);
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "deleted"));
    assert_int_equal(kc_cache_count(c->journal), 0);
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_NOT_FOUND);

    /* Signed by a key that is not the pinned one. */
    f.key = K.other;
    tok = status_token(&f, "S1");
    f.key = NULL;
    plant(c, tok);
    free(tok);
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_VERIFY);
    assert_int_equal(kc_cache_count(c->journal), 0);

    /* Another kiosk's answer. */
    f.kiosk = "kiosk-b";
    tok = status_token(&f, "S1");
    f.kiosk = NULL;
    plant(c, tok);
    free(tok);
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_VERIFY);

    /* Another resident's status under this card: never shown to her. */
    f.welfare_no = "WF3301060000456";
    tok = status_token(&f, "S1");
    f.welfare_no = NULL;
    plant(c, tok);
    free(tok);
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_VERIFY);
    assert_non_null(strstr(kc_last_error(c)->text, "another resident"));
    assert_int_equal(kc_cache_count(c->journal), 0);

    /* Not a JWS at all. */
    plant(c, "not a token");
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_VERIFY);
    kc_client_free(c);
}

static void test_other_card_not_shown(void **state)
{
    struct fake f = { .year_total = 100 };
    kc_client *c = client(&f, 0);
    struct kc_session a = session(0xA1, "WF3301060000123");
    struct kc_session b = offline(0xB2, "WF3301060000123");
    struct kc_session none = offline(0xA1, "WF3301060000123");

    (void)state;
    status_ok(c, &a);
    f.down = true;
    /* Another card (even one naming the same number) has nothing kept. */
    assert_int_equal(cached(c, &b, NULL, NULL), KC_E_NOT_FOUND);
    assert_int_equal(cached(c, &a, NULL, NULL), KC_OK);
    /* A session that names no card is a caller's mistake. */
    memset(none.card_sha256, 0, sizeof(none.card_sha256));
    assert_int_equal(cached(c, &none, NULL, NULL), KC_E_INVALID_ARG);
    kc_client_free(c);
}

static void test_cache_off(void **state)
{
    struct fake f = { .year_total = 100 };
    kc_client *c = client(&f, 0);
    struct kc_session s = session(0xA1, "WF3301060000123");

    (void)state;
    status_ok(c, &s);
    assert_int_equal(kc_cache_count(c->journal), 1);
    kc_client_free(c);

    /* Switched off: what an earlier run kept is deleted, and nothing new is kept. */
    c = client(&f, -1);
    assert_int_equal(kc_cache_count(c->journal), 0);
    status_ok(c, &s);
    assert_int_equal(kc_cache_count(c->journal), 0);
    f.down = true;
    assert_int_equal(cached(c, &s, NULL, NULL), KC_E_NOT_FOUND);
    assert_non_null(strstr(kc_last_error(c)->text, "status_cache_hours"));
    kc_client_free(c);
}

static void test_offline_tap_needs_issuer_ca(void **state)
{
    struct fake f = { .down = true };
    kc_client *c = client(&f, 0);
    struct kc_session s;
    int not_a_card = 0;

    (void)state;
    /* Refused before the card is touched (so a stand-in pointer is enough here). */
    assert_int_equal(kc_tap_offline(c, (cl_card *)(void *)&not_a_card, &s), KC_E_CONFIG);
    assert_non_null(strstr(kc_last_error(c)->text, "issuer_ca"));
    assert_string_equal(s.welfare_no, "");
    assert_int_equal(kc_tap_offline(c, NULL, &s), KC_E_INVALID_ARG);
    kc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kept_after_status, new_journal),
        cmocka_unit_test_setup(test_newest_only, new_journal),
        cmocka_unit_test_setup(test_expiry, new_journal),
        cmocka_unit_test_setup(test_forged_or_altered_refused, new_journal),
        cmocka_unit_test_setup(test_other_card_not_shown, new_journal),
        cmocka_unit_test_setup(test_cache_off, new_journal),
        cmocka_unit_test_setup(test_offline_tap_needs_issuer_ca, new_journal),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
