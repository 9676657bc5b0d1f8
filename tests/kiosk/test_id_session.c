/*
 * kc_id_session through the real pcscd with the virtual ID cards of
 * `huimin-issue id-fixtures`, against a test server that checks the evidence
 * as huimin-server must (cl_emrtd_verify at the challenge it derives from its
 * own nonce): a genuine card opens a session that names the card; a clone or
 * a card of an unknown CSCA is refused by the kiosk itself, before its
 * evidence is sent, when the kiosk has a CSCA store, and by the server when
 * it has none; wrong MRZ numbers are refused by the chip before any request;
 * a session for somebody else is not accepted.
 */
#include "internal.h"
#include "kc/client.h"

#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"
#include "cl/lds.h"
#include "hm/log.h"
#include "hs/jws.h"
#include "hs/signer.h"
#include "lds_issue.h"
#include "pki.h"
#include "rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONCE "Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3"

static struct {
    struct rig *rig;
    cl_ctx *ctx;
    cl_emrtd_trust *trust;
    struct hs_signer *signer;
    char dir[256], trust_dir[300], signing_pem[300], signing_key[300], journal[300];
} G;

/* ---- the test server ---------------------------------------------------------- */

struct fake {
    int nonces, id_sessions;
    bool lie; /* answers with somebody else's session */
    char detail[64];
};

static char *sign_payload(const char *typ, json_t *p)
{
    char *body = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *tok = NULL;

    json_decref(p);
    assert_non_null(body);
    assert_int_equal(hs_jws_sign(G.signer, typ, (const uint8_t *)body, strlen(body), &tok), HS_OK);
    free(body);
    return tok;
}

static bool b64_into(json_t *e, const char *key, struct hm_buf *b)
{
    const char *v = json_string_value(json_object_get(e, key));
    size_t n = 0;

    if (!v)
        return false;
    assert_true(hm_buf_reserve(b, strlen(v)));
    assert_int_equal(hs_b64url_decode(v, strlen(v), b->data, strlen(v), &n), HS_OK);
    b->len = n;
    return true;
}

/* POST /v1/id-sessions as the server checks it: 0 and the payload, or the failed check. */
static json_t *check_evidence(struct fake *f, json_t *req)
{
    struct cl_emrtd_evidence ev;
    struct cl_verdict v;
    struct cl_dg11 dg11;
    struct hm_buf aa;
    json_t *e = json_object_get(req, "evidence"), *out = NULL;
    const char *nonce = json_string_value(json_object_get(req, "nonce"));
    uint8_t md[32];
    char masked[32], birth[11];
    const char *id;

    assert_non_null(nonce);
    assert_string_equal(nonce, NONCE);
    cl_emrtd_evidence_init(&ev);
    hm_buf_init(&aa, CL_EMRTD_AA_SIG_MAX);
    assert_true(b64_into(e, "com", &ev.com));
    assert_true(b64_into(e, "sod", &ev.sod));
    assert_true(b64_into(e, "dg1", &ev.dg[1]));
    assert_true(b64_into(e, "dg11", &ev.dg[11]));
    assert_true(b64_into(e, "dg15", &ev.dg[15]));
    (void)b64_into(e, "dg14", &ev.dg[14]);
    assert_null(json_object_get(e, "dg2")); /* the face stays at the kiosk */
    assert_true(b64_into(e, "aa_signature", &aa));
    assert_true(aa.len <= sizeof(ev.aa_sig));
    memcpy(ev.aa_sig, aa.data, aa.len);
    ev.aa_sig_len = aa.len;
    /* The challenge the server derives from its own nonce. */
    assert_int_equal(kc_sha256(nonce, strlen(nonce), md), KC_OK);
    memcpy(ev.challenge, md, CL_EMRTD_CHALLENGE_LEN);
    ev.challenge_len = CL_EMRTD_CHALLENGE_LEN;
    assert_int_equal(cl_emrtd_verify(G.trust, 0, &ev, &v), CL_OK);
    if (!cl_emrtd_genuine(&v) || cl_verdict_get(&v, "active-auth")->state != CL_CHECK_PASSED) {
        const struct cl_check *c = cl_verdict_first_failure(&v);

        snprintf(f->detail, sizeof(f->detail), "%s", c ? c->name : "active-auth");
        goto out;
    }
    assert_int_equal(cl_lds_parse_dg11(ev.dg[11].data, ev.dg[11].len, &dg11), CL_OK);
    id = f->lie ? "110105196001010068" : dg11.personal_number;
    assert_int_equal(cl_id_mask(id, strlen(id), masked, sizeof(masked)), CL_OK);
    snprintf(birth, sizeof(birth), "%.4s-%.2s-%.2s", id + 6, id + 10, id + 12);
    out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s#,s:I,s:I}", "id_session", "ids-1", "kiosk",
                    "kiosk-a", "name", dg11.full_name, "id_masked", masked, "sex",
                    (id[16] - '0') % 2 ? "M" : "F", "birth", birth, "province", id, (size_t)2,
                    "iat", (json_int_t)time(NULL), "exp", (json_int_t)time(NULL) + 600);
out:
    hm_buf_free(&aa);
    cl_emrtd_evidence_free(&ev);
    return out;
}

static kc_rc fake_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct fake *f = t;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL), *p;

    (void)not_sent;
    (void)err;
    assert_non_null(req);
    if (strcmp(path, "/v1/nonces") == 0) {
        f->nonces++;
        assert_string_equal(json_string_value(json_object_get(req, "purpose")), "id-card");
        *status = 201;
        *out = sign_payload("huimin-nonce",
                            json_pack("{s:s,s:s,s:s,s:I,s:I}", "nonce", NONCE, "purpose", "id-card",
                                      "kiosk", "kiosk-a", "iat", (json_int_t)time(NULL), "exp",
                                      (json_int_t)time(NULL) + 60));
        snprintf(ctype, 128, "application/jose");
    } else {
        assert_string_equal(path, "/v1/id-sessions");
        f->id_sessions++;
        p = check_evidence(f, req);
        if (p) {
            *status = 201;
            *out = sign_payload("huimin-id-session", p);
            snprintf(ctype, 128, "application/jose");
        } else {
            char e[512];

            snprintf(e, sizeof(e),
                     "{\"error\":{\"code\":\"id_not_genuine\",\"message\":\"证件未通过核验。\","
                     "\"message_en\":\"The ID card is not genuine.\",\"detail\":\"%s\"}}",
                     f->detail);
            *status = 403;
            *out = strdup(e);
            snprintf(ctype, 128, "application/json");
        }
    }
    json_decref(req);
    assert_non_null(*out);
    *out_len = strlen(*out);
    return KC_OK;
}

static const struct kc_transport_ops fake_ops = { .name = "fake", .post = fake_post };

static kc_client *client(struct fake *f, bool csca)
{
    struct kc_config cfg = {
        .server_url = "https://unused",
        .signing_cert = G.signing_pem,
        .kiosk_id = "kiosk-a",
        .journal_path = G.journal,
        .csca_dir = csca ? G.trust_dir : NULL,
        .retries = 1,
        .backoff_ms = 1,
    };
    kc_client *c = NULL;

    assert_int_equal(kc_client_new_transport(&cfg, &fake_ops, f, &c), KC_OK);
    return c;
}

/* ---- fixtures ---------------------------------------------------------------------- */

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    struct pki_ca ca;
    struct hs_signer_config sg = { .kind = "pem" };
    char err[256];

    (void)state;
    hm_log_init("test_kiosk_id_session", HM_LOG_ERROR);
    snprintf(G.dir, sizeof(G.dir), "%s/test_kiosk_id_session.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(G.dir) || id_fixture_set(G.dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "fixtures: %s\n", err);
        return -1;
    }
    snprintf(G.trust_dir, sizeof(G.trust_dir), "%s/trust", G.dir);
    snprintf(G.signing_pem, sizeof(G.signing_pem), "%s/signing.pem", G.dir);
    snprintf(G.signing_key, sizeof(G.signing_key), "%s/signing.key", G.dir);
    snprintf(G.journal, sizeof(G.journal), "%s/journal.db", G.dir);
    sg.key_file = G.signing_key;
    sg.cert_file = G.signing_pem;
    if (pki_ca_create(&ca, "Test Signing", 30) != 0 ||
        pki_ca_save(&ca, G.signing_pem, G.signing_key) != 0)
        return -1;
    pki_ca_free(&ca);
    if (hs_signer_open(&sg, &G.signer) != HS_OK ||
        cl_emrtd_trust_load(G.trust_dir, &G.trust) != CL_OK || rig_start(&G.rig, NULL) != 0 ||
        cl_ctx_new_pcsc(&G.ctx) != CL_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];

    (void)state;
    cl_ctx_free(G.ctx);
    rig_stop(G.rig);
    cl_emrtd_trust_free(G.trust);
    hs_signer_free(G.signer);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static cl_card *insert(const char *name)
{
    static const char *const no_save[] = { "--no-save", NULL };
    char file[400];
    cl_card *card = NULL;

    snprintf(file, sizeof(file), "%s/%s.json", G.dir, name);
    assert_int_equal(rig_card_start(G.rig, 0, file, no_save), 0);
    assert_int_equal(rig_wait_card(G.rig, rig_reader(G.rig, 0), true, 10000), 0);
    assert_int_equal(cl_card_connect(G.ctx, rig_reader(G.rig, 0), CL_SHARE_SHARED, &card), CL_OK);
    return card;
}

/* ---- tests ---------------------------------------------------------------------------- */

/* kc_id_session, which must return want (else the client's explanation is the failure). */
static void id_session(kc_client *c, cl_card *card, const struct kc_mrz *m, kc_rc want,
                       struct kc_id_session *s)
{
    kc_rc rc = kc_id_session(c, card, m, s);

    if (rc != want)
        fail_msg("want %s, got %s: %s", kc_rc_name(want), kc_rc_name(rc), kc_last_error(c)->text);
}

static void test_genuine_card_opens_a_session(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f, true);
    cl_card *card = insert("zhang-td1");
    struct kc_mrz m = { "HA1234567", "560312", "360312" };
    struct kc_id_session s;

    (void)state;
    id_session(c, card, &m, KC_OK, &s);
    assert_int_equal(f.nonces, 1);
    assert_int_equal(f.id_sessions, 1);
    assert_string_equal(s.id, "ids-1");
    assert_string_equal(s.name, "张秀英");
    assert_string_equal(s.id_masked, "110***********0025");
    assert_int_equal(s.sex, 'F');
    assert_string_equal(s.birth, "1956-03-12");
    assert_string_equal(s.province, "11");
    assert_true(s.exp > time(NULL));
    cl_card_disconnect(card, false);

    /* Without a CSCA store at the kiosk the server's check alone decides: still genuine. */
    kc_client_free(c);
    c = client(&f, false);
    card = insert("wang-td1");
    m = (struct kc_mrz){ "HA7654321", "900515", "400515" };
    id_session(c, card, &m, KC_OK, &s);
    assert_string_equal(s.id_masked, "330***********0034");
    assert_int_equal(s.sex, 'M');
    assert_string_equal(s.province, "33");
    cl_card_disconnect(card, false);
    kc_client_free(c);
}

static void test_clone_refused_before_sending(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f, true);
    cl_card *card = insert("clone-aa");
    struct kc_mrz m = { "HB0000003", "750909", "300909" };
    struct kc_id_session s;

    (void)state;
    id_session(c, card, &m, KC_E_VERIFY, &s);
    assert_string_equal(kc_last_error(c)->failed_check, "active-auth");
    assert_non_null(strstr(kc_last_error(c)->text, "call staff"));
    assert_int_equal(f.nonces, 1);      /* the challenge came from the server */
    assert_int_equal(f.id_sessions, 0); /* the evidence never left the kiosk */
    assert_string_equal(s.id, "");
    kc_client_free(c);

    /* A kiosk without a CSCA store sends it; the server refuses it by name. */
    c = client(&f, false);
    id_session(c, card, &m, KC_E_REFUSED, &s);
    assert_int_equal(f.id_sessions, 1);
    assert_string_equal(kc_last_error(c)->code, "id_not_genuine");
    assert_string_equal(kc_last_error(c)->detail, "active-auth");
    assert_string_equal(kc_last_error(c)->failed_check, "");
    cl_card_disconnect(card, false);
    kc_client_free(c);
}

static void test_unknown_csca_refused_at_the_kiosk(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f, true);
    cl_card *card = insert("unknown-csca");
    struct kc_mrz m = { "HB0000002", "700707", "300707" };
    struct kc_id_session s;

    (void)state;
    id_session(c, card, &m, KC_E_VERIFY, &s);
    assert_string_equal(kc_last_error(c)->failed_check, "csca-chain");
    assert_int_equal(f.id_sessions, 0);
    cl_card_disconnect(card, false);
    kc_client_free(c);
}

static void test_wrong_numbers_ask_nothing(void **state)
{
    struct fake f = { 0 };
    kc_client *c = client(&f, true);
    cl_card *card = insert("zhang-td1");
    struct kc_mrz m = { "HA1234567", "560313", "360312" };
    struct kc_mrz bad = { "HA1234567", "5603", "360312" };
    struct kc_id_session s;

    (void)state;
    id_session(c, card, &m, KC_E_CARD, &s);
    assert_int_equal(kc_last_error(c)->card_rc, CL_E_AUTH_FAILED);
    assert_non_null(strstr(kc_last_error(c)->text, "check the document number"));
    id_session(c, card, &bad, KC_E_INVALID_ARG, &s);
    assert_int_equal(f.nonces + f.id_sessions, 0);
    cl_card_disconnect(card, false);
    kc_client_free(c);
}

static void test_session_for_somebody_else_refused(void **state)
{
    struct fake f = { .lie = true };
    kc_client *c = client(&f, true);
    cl_card *card = insert("zhang-td1");
    struct kc_mrz m = { "HA1234567", "560312", "360312" };
    struct kc_id_session s;

    (void)state;
    id_session(c, card, &m, KC_E_VERIFY, &s);
    assert_non_null(strstr(kc_last_error(c)->text, "not for the card on the reader"));
    assert_string_equal(s.id, "");
    cl_card_disconnect(card, false);
    kc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_card_opens_a_session),
        cmocka_unit_test(test_clone_refused_before_sending),
        cmocka_unit_test(test_unknown_csca_refused_at_the_kiosk),
        cmocka_unit_test(test_wrong_numbers_ask_nothing),
        cmocka_unit_test(test_session_for_somebody_else_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
