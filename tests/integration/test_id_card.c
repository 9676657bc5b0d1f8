/*
 * The ID card's authenticity through the real pcscd: the issued test set
 * (genuine TD1 cards and a TD3 passport, and one card for each kind of
 * forgery) read with BAC and checked with Passive and Active
 * Authentication, each bad card failing the check that names its fault;
 * then the same evidence altered after reading, as a server would see it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"
#include "cl/lds.h"
#include "hm/buf.h"
#include "lds_issue.h"
#include "rig.h"

static struct {
    struct rig *rig;
    cl_ctx *ctx;
    cl_emrtd_trust *trust;
    char dir[256];
} G;

struct doc {
    const char *card, *number, *birth, *expiry;
};

static const struct doc zhang = { "zhang-td1", "HA1234567", "560312", "360312" };
static const struct doc wang = { "wang-td1", "HA7654321", "900515", "400515" };
static const struct doc li = { "li-td1", "HA2468013", "920817", "420817" };
static const struct doc passport = { "passport-td3", "EA0123456", "850101", "330101" };
static const struct doc tampered = { "tampered-dg1", "HB0000001", "600101", "300101" };
static const struct doc unknown = { "unknown-csca", "HB0000002", "700707", "300707" };
static const struct doc clone = { "clone-aa", "HB0000003", "750909", "300909" };
static const struct doc expired = { "expired-ds", "HB0000004", "800303", "300303" };

static const uint8_t challenge[CL_EMRTD_CHALLENGE_LEN] = { 0x11, 0x22, 0x33, 0x44,
                                                           0x55, 0x66, 0x77, 0x88 };

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    char err[256], trust[300];

    (void)state;
    snprintf(G.dir, sizeof(G.dir), "%s/test_id_card.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(G.dir) || id_fixture_set(G.dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "fixtures: %s\n", err);
        return -1;
    }
    snprintf(trust, sizeof(trust), "%s/trust", G.dir);
    if (cl_emrtd_trust_load(trust, &G.trust) != CL_OK || rig_start(&G.rig, NULL) != 0 ||
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
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Puts the document's card in slot 0 and connects to it. */
static cl_card *insert(const struct doc *d)
{
    static const char *const no_save[] = { "--no-save", NULL };
    char file[400];
    cl_card *card = NULL;

    snprintf(file, sizeof(file), "%s/%s.json", G.dir, d->card);
    assert_int_equal(rig_card_start(G.rig, 0, file, no_save), 0);
    assert_int_equal(rig_wait_card(G.rig, rig_reader(G.rig, 0), true, 10000), 0);
    assert_int_equal(cl_card_connect(G.ctx, rig_reader(G.rig, 0), CL_SHARE_SHARED, &card), CL_OK);
    return card;
}

/*
 * Reads the document with its own MRZ data (once: taps are slow, so the
 * evidence is kept for the other tests) and verifies it.
 */
static struct cl_emrtd_evidence *read_doc(const struct doc *d, struct cl_verdict *v)
{
    static struct {
        const struct doc *d;
        struct cl_emrtd_evidence ev;
    } cache[8];
    struct cl_emrtd_evidence *ev = NULL;
    struct cl_emrtd_keys k;
    cl_card *card;
    size_t i;

    for (i = 0; i < 8 && cache[i].d; i++)
        if (cache[i].d == d)
            ev = &cache[i].ev;
    if (!ev) {
        assert_true(i < 8);
        card = insert(d);
        ev = &cache[i].ev;
        cache[i].d = d;
        assert_int_equal(cl_emrtd_bac_keys(d->number, d->birth, d->expiry, &k), CL_OK);
        assert_int_equal(cl_emrtd_select_app(card), CL_OK);
        assert_int_equal(cl_emrtd_bac(card, &k, NULL, NULL), CL_OK);
        cl_emrtd_evidence_init(ev);
        assert_int_equal(cl_emrtd_collect(card, challenge, sizeof(challenge), ev), CL_OK);
        cl_card_disconnect(card, false);
    }
    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, v), CL_OK);
    return ev;
}

static enum cl_check_state state_of(const struct cl_verdict *v, const char *name)
{
    const struct cl_check *c = cl_verdict_get(v, name);

    if (!c)
        fail_msg("check %s was not recorded", name);
    return c->state;
}

static void assert_only_failure(const struct cl_verdict *v, const char *name, const char *words)
{
    const struct cl_check *f = cl_verdict_first_failure(v);

    assert_false(cl_emrtd_genuine(v));
    assert_non_null(f);
    assert_string_equal(f->name, name);
    assert_non_null(strstr(f->reason, words));
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->checks[i].name, name) != 0)
            assert_int_not_equal(v->checks[i].state, CL_CHECK_FAILED);
}

static void assert_genuine(const struct doc *d, bool ecdsa)
{
    struct cl_emrtd_evidence *ev;
    struct cl_verdict v;

    ev = read_doc(d, &v);
    for (size_t i = 0; i < v.n; i++)
        if (v.checks[i].state != CL_CHECK_PASSED)
            fail_msg("%s: %s %s: %s", d->card, v.checks[i].name,
                     cl_check_state_name(v.checks[i].state), v.checks[i].reason);
    assert_true(cl_emrtd_genuine(&v));
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "active-auth"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "dg2-hash"), CL_CHECK_PASSED);
    assert_int_equal(ev->dg[14].len != 0, ecdsa); /* DG14 names the ECDSA hash; RSA needs none */
}

static void test_genuine_id_cards_pass_every_check(void **state)
{
    (void)state;
    assert_genuine(&zhang, true);
    assert_genuine(&wang, true);
    assert_genuine(&li, true);
}

static void test_genuine_passport_with_rsa_active_authentication(void **state)
{
    struct cl_emrtd_evidence *ev;
    struct cl_verdict v;
    struct cl_mrz mrz;

    (void)state;
    assert_genuine(&passport, false);
    ev = read_doc(&passport, &v);
    assert_int_equal(cl_lds_parse_dg1(ev->dg[1].data, ev->dg[1].len, &mrz), CL_OK);
    assert_int_equal(mrz.format, CL_MRZ_TD3);
    assert_string_equal(mrz.doc_number, "EA0123456");
    assert_true(ev->aa_sig_len == 256); /* RSA-2048, ISO/IEC 9796-2 */
}

static void test_holder_data_as_issued(void **state)
{
    struct cl_emrtd_evidence *ev;
    struct cl_verdict v;
    struct cl_mrz mrz;
    struct cl_dg11 dg11;
    struct cl_face face;
    char masked[32];

    (void)state;
    ev = read_doc(&zhang, &v);
    assert_int_equal(cl_lds_parse_dg1(ev->dg[1].data, ev->dg[1].len, &mrz), CL_OK);
    assert_int_equal(mrz.format, CL_MRZ_TD1);
    assert_string_equal(mrz.primary, "ZHANG");
    assert_string_equal(mrz.secondary, "XIUYING");
    assert_string_equal(mrz.birth, "560312");
    assert_int_equal(mrz.sex, 'F');
    assert_int_equal(cl_lds_parse_dg11(ev->dg[11].data, ev->dg[11].len, &dg11), CL_OK);
    assert_string_equal(dg11.full_name, "张秀英");
    assert_string_equal(dg11.personal_number, "110102195603120025");
    assert_int_equal(cl_cn_id_check(dg11.personal_number, 18), CL_OK);
    assert_int_equal(cl_id_mask(dg11.personal_number, 18, masked, sizeof(masked)), CL_OK);
    assert_string_equal(masked, "110***********0025");
    assert_int_equal(cl_lds_parse_dg2(ev->dg[2].data, ev->dg[2].len, &face), CL_OK);
    assert_int_equal(face.format, CL_FACE_JPEG);
    assert_int_equal(face.width, 240);
    assert_int_equal(face.height, 320);
    assert_true(face.image_len > 1000 && face.image[0] == 0xFF && face.image[1] == 0xD8);
    /* DG2 is several thousand bytes: read in many protected chunks. */
    assert_true(ev->dg[2].len > 4 * CL_EMRTD_READ_CHUNK);
}

static void test_tampered_dg1_fails_its_hash(void **state)
{
    struct cl_verdict v;

    (void)state;
    (void)read_doc(&tampered, &v);
    assert_only_failure(&v, "dg1-hash", "altered");
    assert_int_equal(state_of(&v, "sod-signature"), CL_CHECK_PASSED);
}

static void test_unknown_csca_fails_the_chain(void **state)
{
    struct cl_verdict v;

    (void)state;
    (void)read_doc(&unknown, &v);
    assert_only_failure(&v, "csca-chain", "trusted CSCA");
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_NOT_CHECKED);
}

static void test_clone_fails_active_authentication(void **state)
{
    struct cl_verdict v;

    (void)state;
    (void)read_doc(&clone, &v);
    assert_only_failure(&v, "active-auth", "DG15 key");
    assert_int_equal(state_of(&v, "dg15-hash"), CL_CHECK_PASSED);
}

static void test_expired_document_signer(void **state)
{
    struct cl_verdict v;

    (void)state;
    (void)read_doc(&expired, &v);
    assert_only_failure(&v, "ds-validity", "expired");
    assert_int_equal(state_of(&v, "csca-chain"), CL_CHECK_PASSED);
}

static void test_wrong_mrz_is_access_denied_and_harmless(void **state)
{
    struct cl_emrtd_keys k;
    struct hm_buf b;
    cl_card *card;

    (void)state;
    card = insert(&zhang);
    assert_int_equal(cl_emrtd_select_app(card), CL_OK);
    /* One digit off in each field in turn. */
    assert_int_equal(cl_emrtd_bac_keys("HA1234568", "560312", "360312", &k), CL_OK);
    assert_int_equal(cl_emrtd_bac(card, &k, NULL, NULL), CL_E_AUTH_FAILED);
    assert_int_equal(cl_emrtd_bac_keys("HA1234567", "560313", "360312", &k), CL_OK);
    assert_int_equal(cl_emrtd_bac(card, &k, NULL, NULL), CL_E_AUTH_FAILED);
    assert_int_equal(cl_emrtd_bac_keys("HA1234567", "560312", "360313", &k), CL_OK);
    assert_int_equal(cl_emrtd_bac(card, &k, NULL, NULL), CL_E_AUTH_FAILED);
    /* Nothing can be read without BAC, and the right numbers still work. */
    hm_buf_init(&b, 4096);
    assert_int_not_equal(cl_emrtd_read_file(card, CL_EMRTD_FID_DG1, &b), CL_OK);
    assert_int_equal(cl_emrtd_bac_keys("HA1234567", "560312", "360312", &k), CL_OK);
    assert_int_equal(cl_emrtd_select_app(card), CL_OK);
    assert_int_equal(cl_emrtd_bac(card, &k, NULL, NULL), CL_OK);
    assert_int_equal(cl_emrtd_read_file(card, CL_EMRTD_FID_DG1, &b), CL_OK);
    assert_int_equal(b.data[0], CL_LDS_TAG_DG1);
    hm_buf_free(&b);
    cl_card_disconnect(card, false);
}

/* The server re-verifies evidence it did not read itself: every alteration is caught. */
static void test_altered_evidence_is_caught(void **state)
{
    struct cl_emrtd_evidence *ev;
    struct cl_verdict v;
    struct hm_buf saved;

    (void)state;
    ev = read_doc(&zhang, &v);
    assert_true(cl_emrtd_genuine(&v));

    /* A face swapped after reading. */
    ev->dg[2].data[ev->dg[2].len - 3] ^= 0x01;
    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, &v), CL_OK);
    assert_only_failure(&v, "dg2-hash", "altered");
    ev->dg[2].data[ev->dg[2].len - 3] ^= 0x01;

    /* A signature replayed for another challenge. */
    ev->challenge[0] ^= 0x80;
    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, &v), CL_OK);
    assert_only_failure(&v, "active-auth", "DG15 key");
    ev->challenge[0] ^= 0x80;

    /* The SOD's signature altered. */
    ev->sod.data[ev->sod.len - 5] ^= 0x01;
    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, &v), CL_OK);
    assert_false(cl_emrtd_genuine(&v));
    assert_int_equal(state_of(&v, "sod-signature"), CL_CHECK_FAILED);
    assert_int_equal(state_of(&v, "dg1-hash"), CL_CHECK_NOT_CHECKED);
    assert_int_equal(state_of(&v, "active-auth"), CL_CHECK_NOT_CHECKED);
    ev->sod.data[ev->sod.len - 5] ^= 0x01;

    /* DG15 withheld to dodge Active Authentication: the signed data lists it. */
    saved = ev->dg[15];
    hm_buf_init(&ev->dg[15], 16);
    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, &v), CL_OK);
    assert_only_failure(&v, "active-auth", "did not give it");
    ev->dg[15] = saved;

    /* No trust store: not genuine, and the chain is named as not checked. */
    assert_int_equal(cl_emrtd_verify(NULL, 0, ev, &v), CL_OK);
    assert_false(cl_emrtd_genuine(&v));
    assert_int_equal(state_of(&v, "csca-chain"), CL_CHECK_NOT_CHECKED);

    /* Years later the Document Signer certificate has expired. */
    assert_int_equal(cl_emrtd_verify(G.trust, 4102444800 /* 2100-01-01 */, ev, &v), CL_OK);
    assert_int_equal(state_of(&v, "ds-validity"), CL_CHECK_FAILED);

    assert_int_equal(cl_emrtd_verify(G.trust, 0, ev, &v), CL_OK);
    assert_true(cl_emrtd_genuine(&v));
}

/*
 * Documents without Active Authentication exist (no DG15): genuine on Passive
 * Authentication alone. A chip with DG15 that was not challenged is not.
 */
static void test_active_authentication_only_when_the_document_has_it(void **state)
{
    static const struct id_holder h = {
        .format = CL_MRZ_TD3,
        .doc_number = "EB7654321",
        .birth = "700101",
        .expiry = "350101",
        .sex = 'F',
        .issuer = "CHN",
        .nationality = "CHN",
        .surname = "HE",
        .given = "PING",
        .name = "何萍",
        .face_seed = 5,
    };
    struct pki_ca csca, ds;
    EVP_PKEY *aa = pki_ec_key();
    struct id_lds l;
    struct cl_emrtd_evidence ev;
    struct cl_verdict v;
    cl_emrtd_trust *t = NULL;
    char err[128], dir[300], path[400];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/no-aa-trust", G.dir);
    snprintf(path, sizeof(path), "%s/csca.pem", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(pki_ca_create(&csca, "No-AA CSCA", 30), 0);
    assert_int_equal(id_ds_create(&csca, &ds, "No-AA DS", -1, 30), 0);
    assert_int_equal(pki_write_cert(csca.cert, path), 0);
    assert_int_equal(cl_emrtd_trust_load(dir, &t), CL_OK);
    id_lds_init(&l);
    assert_int_equal(id_build_lds(&h, aa, &ds, &l, err, sizeof(err)), 0);

    /* With DG15 but no challenge: AA not checked, so not genuine. */
    cl_emrtd_evidence_init(&ev);
    assert_true(hm_buf_add(&ev.com, l.com.data, l.com.len));
    assert_true(hm_buf_add(&ev.sod, l.sod.data, l.sod.len));
    assert_true(hm_buf_add(&ev.dg[1], l.dg1.data, l.dg1.len));
    assert_true(hm_buf_add(&ev.dg[14], l.dg14.data, l.dg14.len));
    assert_true(hm_buf_add(&ev.dg[15], l.dg15.data, l.dg15.len));
    assert_int_equal(cl_emrtd_verify(t, 0, &ev, &v), CL_OK);
    assert_int_equal(state_of(&v, "dg15-hash"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "active-auth"), CL_CHECK_NOT_CHECKED);
    assert_null(cl_verdict_first_failure(&v));
    assert_false(cl_emrtd_genuine(&v));

    /* The same holder issued without DG14 and DG15: genuine without AA. */
    hm_buf_reset(&l.dg14);
    hm_buf_reset(&l.dg15);
    assert_int_equal(id_sign_sod(&ds, &l), 0);
    hm_buf_reset(&ev.dg[14]);
    hm_buf_reset(&ev.dg[15]);
    hm_buf_reset(&ev.sod);
    assert_true(hm_buf_add(&ev.sod, l.sod.data, l.sod.len));
    assert_int_equal(cl_emrtd_verify(t, 0, &ev, &v), CL_OK);
    assert_int_equal(state_of(&v, "active-auth"), CL_CHECK_NOT_CHECKED);
    assert_null(cl_verdict_get(&v, "dg15-hash"));
    assert_true(cl_emrtd_genuine(&v));

    cl_emrtd_evidence_free(&ev);
    id_lds_free(&l);
    cl_emrtd_trust_free(t);
    pki_ca_free(&csca);
    pki_ca_free(&ds);
    EVP_PKEY_free(aa);
}

static void test_trust_store_errors(void **state)
{
    cl_emrtd_trust *t = NULL;
    char path[300], cmd[1200];
    size_t n_csca = 0, n_crl = 0;

    (void)state;
    cl_emrtd_trust_counts(G.trust, &n_csca, &n_crl);
    assert_int_equal(n_csca, 1);
    assert_int_equal(n_crl, 1);
    assert_int_equal(cl_emrtd_trust_load("/nonexistent/huimin", &t), CL_E_IO);
    assert_null(t);
    /* A folder with a file that is not a certificate. */
    snprintf(path, sizeof(path), "%s/bad-trust", G.dir);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo 'not a certificate' > '%s/junk.pem'", path,
             path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cl_emrtd_trust_load(path, &t), CL_E_CERT_INVALID);
    assert_null(t);
    /* A folder with only a CRL holds no CSCA. */
    snprintf(cmd, sizeof(cmd), "rm '%s/junk.pem' && cp '%s/trust/csca.crl' '%s/'", path, G.dir,
             path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cl_emrtd_trust_load(path, &t), CL_E_CERT_INVALID);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_id_cards_pass_every_check),
        cmocka_unit_test(test_genuine_passport_with_rsa_active_authentication),
        cmocka_unit_test(test_holder_data_as_issued),
        cmocka_unit_test(test_tampered_dg1_fails_its_hash),
        cmocka_unit_test(test_unknown_csca_fails_the_chain),
        cmocka_unit_test(test_clone_fails_active_authentication),
        cmocka_unit_test(test_expired_document_signer),
        cmocka_unit_test(test_wrong_mrz_is_access_denied_and_harmless),
        cmocka_unit_test(test_altered_evidence_is_caught),
        cmocka_unit_test(test_active_authentication_only_when_the_document_has_it),
        cmocka_unit_test(test_trust_store_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
