/* The welfare card through the real pcscd: issuance, authenticity (genuine, expired, revoked,
 * forged, cloned), PIN lifecycle, signing, and OpenSC reading our card. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl/piv.h"
#include "issue.h"
#include "pki.h"
#include "rig.h"

static const uint8_t default_mgmt[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                          5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

static struct {
    struct rig *rig;
    cl_ctx *ctx;
    char dir[256];
    char ca_file[300], crl_file[300];
    struct pki_ca ca, rogue;
} G;

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", G.dir, name);
}

/* A blank PIV card file copied into the test folder. */
static void blank_card(const char *name, char *out, size_t cap)
{
    char src[512], cmd[1200];

    snprintf(src, sizeof(src), "%s/fixtures/cards/piv-blank.json", getenv("HUIMIN_SOURCE_DIR"));
    path(out, cap, name);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, out);
    assert_int_equal(system(cmd), 0);
}

static cl_card *connect0(void)
{
    cl_card *card = NULL;

    assert_int_equal(cl_card_connect(G.ctx, rig_reader(G.rig, 0), CL_SHARE_SHARED, &card), CL_OK);
    return card;
}

/* Starts a blank card in slot 0 and issues it; returns the serial of its 9E cert. */
static uint64_t issue(const char *file, const struct pki_ca *ca, uint64_t serial, int nb, int days,
                      const uint8_t *const *override, const size_t *override_len)
{
    struct issue_opts o = { .holder = { "张秀英", "WF3301060000123", "杭州市民政局" },
                            .mgmt_key = default_mgmt,
                            .mgmt_key_len = sizeof(default_mgmt),
                            .old_pin = "123456",
                            .old_puk = "12345678",
                            .pin = "246810",
                            .puk = "97531864",
                            .serial = serial,
                            .not_before_days = nb,
                            .days = days,
                            .cert_override = override,
                            .cert_override_len = override_len };
    struct issue_result r;
    cl_card *card;
    char card_file[300];

    blank_card(file, card_file, sizeof(card_file));
    assert_int_equal(rig_card_start(G.rig, 0, card_file, NULL), 0);
    card = connect0();
    if (issue_card(card, ca, &o, &r) != 0)
        fail_msg("issuance failed: %s", r.message);
    cl_card_disconnect(card, true);
    return r.serials[2];
}

static int setup(void **state)
{
    FILE *f;
    X509_CRL *crl;
    uint64_t revoked[] = { 5002 };
    const char *tmp = getenv("TMPDIR");

    (void)state;
    snprintf(G.dir, sizeof(G.dir), "%s/test_welfare.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(G.dir) || rig_start(&G.rig, NULL) != 0)
        return -1;
    if (cl_ctx_new_pcsc(&G.ctx) != CL_OK)
        return -1;
    if (pki_ca_create(&G.ca, "Huimin Test Issuer CA", 3650) ||
        pki_ca_create(&G.rogue, "Rogue CA", 3650))
        return -1;
    path(G.ca_file, sizeof(G.ca_file), "issuer-ca.pem");
    path(G.crl_file, sizeof(G.crl_file), "issuer.crl");
    f = fopen(G.ca_file, "w");
    if (!f || PEM_write_X509(f, G.ca.cert) != 1)
        return -1;
    fclose(f);
    crl = pki_crl(&G.ca, revoked, 1, 30);
    f = fopen(G.crl_file, "w");
    if (!crl || !f || PEM_write_X509_CRL(f, crl) != 1)
        return -1;
    fclose(f);
    X509_CRL_free(crl);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];

    (void)state;
    cl_ctx_free(G.ctx);
    rig_stop(G.rig);
    pki_ca_free(&G.ca);
    pki_ca_free(&G.rogue);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.dir);
    if (!getenv("HUIMIN_RIG_KEEP") && system(cmd) != 0)
        return -1;
    return 0;
}

/* Collects evidence from the card in slot 0 and verifies it. */
static void verify_card(struct cl_verdict *v)
{
    static struct cl_piv_evidence ev;
    struct cl_piv_trust t = { G.ca_file, G.crl_file, 0 };
    uint8_t challenge[32];
    cl_card *card = connect0();

    assert_int_equal(RAND_bytes(challenge, sizeof(challenge)), 1);
    assert_int_equal(cl_piv_select(card, NULL), CL_OK);
    assert_int_equal(cl_piv_collect(card, challenge, sizeof(challenge), &ev), CL_OK);
    cl_card_disconnect(card, false);
    assert_int_equal(cl_piv_verify(&t, &ev, v), CL_OK);
}

static enum cl_check_state check(const struct cl_verdict *v, const char *name)
{
    const struct cl_check *c = cl_verdict_get(v, name);

    assert_non_null(c);
    return c->state;
}

/* Runs huimin-card with arguments; returns its exit code, output in out. */
static int huimin_card(char *out, size_t cap, const char *args)
{
    char cmd[1024];
    FILE *p;
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "'%s/tools/huimin-card' %s 2>&1", getenv("HUIMIN_BINARY_DIR"), args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_genuine(void **state)
{
    struct cl_verdict v;
    char out[4096], args[1400];

    (void)state;
    issue("genuine.json", &G.ca, 5001, -1, 365, NULL, NULL);
    verify_card(&v);
    for (size_t i = 0; i < v.n; i++)
        if (v.checks[i].state != CL_CHECK_PASSED)
            fail_msg("%s: %s", v.checks[i].name, v.checks[i].reason);
    assert_true(cl_piv_genuine(&v));
    /* The command line: verify passes, info names the holder. */
    snprintf(args, sizeof(args), "verify --ca '%s' --crl '%s'", G.ca_file, G.crl_file);
    assert_int_equal(huimin_card(out, sizeof(out), args), 0);
    assert_non_null(strstr(out, "The card is genuine."));
    assert_int_equal(huimin_card(out, sizeof(out), "info"), 0);
    assert_non_null(strstr(out, "张秀英"));
    assert_non_null(strstr(out, "WF3301060000123"));
    assert_non_null(strstr(out, "3 tries left"));
}

static void expect_failure(const char *file, const char *failed_check)
{
    char out[4096], args[1400];
    struct cl_verdict v;

    verify_card(&v);
    assert_false(cl_piv_genuine(&v));
    assert_int_equal(check(&v, failed_check), CL_CHECK_FAILED);
    snprintf(args, sizeof(args), "verify --ca '%s' --crl '%s'", G.ca_file, G.crl_file);
    assert_int_equal(huimin_card(out, sizeof(out), args), 4);
    if (!strstr(out, "NOT genuine") || !strstr(out, failed_check))
        fail_msg("%s: huimin-card verify said: %s", file, out);
}

static void test_expired(void **state)
{
    (void)state;
    issue("expired.json", &G.ca, 5010, -400, 30, NULL, NULL);
    expect_failure("expired", "validity");
}

static void test_revoked(void **state)
{
    (void)state;
    issue("revoked.json", &G.ca, 5000, -1, 365, NULL, NULL); /* 9E gets serial 5002 */
    expect_failure("revoked", "revocation");
}

static void test_forged(void **state)
{
    (void)state;
    issue("forged.json", &G.rogue, 5020, -1, 365, NULL, NULL);
    expect_failure("forged", "chain");
}

static void test_clone(void **state)
{
    static uint8_t der[3][CL_PIV_CERT_MAX];
    size_t len[3];
    const uint8_t *certs[3] = { der[0], der[1], der[2] };
    static const uint8_t keys[3] = { CL_PIV_KEY_AUTH, CL_PIV_KEY_SIGN, CL_PIV_KEY_CARDAUTH };
    cl_card *card;

    (void)state;
    /* The genuine card's certificates, copied onto a card with keys of its own. */
    issue("original.json", &G.ca, 5030, -1, 365, NULL, NULL);
    card = connect0();
    assert_int_equal(cl_piv_select(card, NULL), CL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cl_piv_read_cert(card, keys[i], der[i], sizeof(der[i]), &len[i]), CL_OK);
    cl_card_disconnect(card, false);
    issue("clone.json", &G.ca, 0, -1, 365, certs, len);
    expect_failure("clone", "possession");
}

static void test_pin_lifecycle(void **state)
{
    cl_card *card;
    int tries = -1;
    char out[4096];

    (void)state;
    issue("pin.json", &G.ca, 5040, -1, 365, NULL, NULL);
    card = connect0();
    assert_int_equal(cl_piv_select(card, NULL), CL_OK);
    assert_int_equal(cl_piv_pin_status(card, &tries), CL_E_SECURITY_STATUS);
    assert_int_equal(tries, 3);
    assert_int_equal(cl_piv_verify_pin(card, "111111", &tries), CL_E_PIN_INCORRECT);
    assert_int_equal(tries, 2);
    assert_int_equal(cl_piv_verify_pin(card, "222222", &tries), CL_E_PIN_INCORRECT);
    assert_int_equal(tries, 1);
    assert_int_equal(cl_piv_verify_pin(card, "333333", &tries), CL_E_AUTH_BLOCKED);
    assert_int_equal(tries, 0);
    /* Blocked: the correct PIN fails too. */
    assert_int_equal(cl_piv_verify_pin(card, "246810", &tries), CL_E_AUTH_BLOCKED);
    assert_int_equal(cl_piv_pin_status(card, &tries), CL_E_AUTH_BLOCKED);
    /* A wrong PUK costs a PUK try; the right one unblocks and sets a new PIN. */
    assert_int_equal(cl_piv_unblock_pin(card, "00000000", "135790", &tries), CL_E_PIN_INCORRECT);
    assert_int_equal(tries, 2);
    assert_int_equal(cl_piv_unblock_pin(card, "97531864", "135790", &tries), CL_OK);
    assert_int_equal(cl_piv_verify_pin(card, "246810", &tries), CL_E_PIN_INCORRECT);
    assert_int_equal(cl_piv_verify_pin(card, "135790", &tries), CL_OK);
    assert_int_equal(cl_piv_pin_status(card, &tries), CL_OK);
    /* Invalid PINs never reach the card. */
    assert_int_equal(cl_piv_verify_pin(card, "12a456", &tries), CL_E_INVALID_ARG);
    assert_int_equal(cl_piv_verify_pin(card, "12345", &tries), CL_E_INVALID_ARG);
    cl_card_disconnect(card, true);
    /* The command line shows the state. */
    assert_int_equal(huimin_card(out, sizeof(out), "pin status"), 0);
    assert_non_null(strstr(out, "3 tries left"));
    assert_int_equal(huimin_card(out, sizeof(out), "pin verify --pin 999999"), 3);
    assert_non_null(strstr(out, "2 tries left"));
    assert_int_equal(huimin_card(out, sizeof(out), "pin change --pin 135790 --new-pin 112233"), 0);
    assert_int_equal(huimin_card(out, sizeof(out), "pin verify --pin 112233"), 0);
}

static void test_sign_with_openssl(void **state)
{
    char out[4096], args[2400], msg[300], sig[300], cert[300], pub[300];
    FILE *f;

    (void)state;
    issue("sign.json", &G.ca, 5050, -1, 365, NULL, NULL);
    path(msg, sizeof(msg), "statement.txt");
    path(sig, sizeof(sig), "statement.sig");
    path(cert, sizeof(cert), "9c.pem");
    path(pub, sizeof(pub), "9c.pub");
    f = fopen(msg, "w");
    assert_non_null(f);
    fputs("payment 2026-11 低保 68000 fen confirmed\n", f);
    fclose(f);
    /* 9C needs the PIN: without one (empty stdin) it refuses. */
    snprintf(args, sizeof(args), "sign --in '%s' --out '%s' < /dev/null", msg, sig);
    assert_int_equal(huimin_card(out, sizeof(out), args), 1);
    snprintf(args, sizeof(args), "sign --in '%s' --out '%s' --pin 246810", msg, sig);
    assert_int_equal(huimin_card(out, sizeof(out), args), 0);
    snprintf(args, sizeof(args), "cert --key 9c --out '%s'", cert);
    assert_int_equal(huimin_card(out, sizeof(out), args), 0);
    snprintf(args, sizeof(args),
             "openssl x509 -in '%s' -pubkey -noout > '%s' && "
             "openssl dgst -sha256 -verify '%s' -signature '%s' '%s'",
             cert, pub, pub, sig, msg);
    assert_int_equal(system(args), 0);
    /* A changed message does not verify. */
    f = fopen(msg, "a");
    fputs("tampered\n", f);
    fclose(f);
    assert_int_not_equal(system(args), 0);
}

static void test_opensc_reads_our_card(void **state)
{
    char cmd[2000], data[300], sig[300], cert[300], pub[300], digest[300];
    FILE *f;

    (void)state;
    issue("opensc.json", &G.ca, 5060, -1, 365, NULL, NULL);
    path(data, sizeof(data), "data.txt");
    path(digest, sizeof(digest), "data.sha256");
    path(sig, sizeof(sig), "data.sig");
    path(cert, sizeof(cert), "opensc-9c.pem");
    path(pub, sizeof(pub), "opensc-9c.pub");
    f = fopen(data, "w");
    assert_non_null(f);
    fputs("signed through OpenSC\n", f);
    fclose(f);
    /* pkcs15-tool lists the certificates. */
    snprintf(cmd, sizeof(cmd),
             "pkcs15-tool --reader 0 --list-certificates > '%s/pkcs15.out' 2>&1; "
             "grep -q 'X.509 Certificate \\[Certificate for Digital Signature' '%s/pkcs15.out' && "
             "grep -q 'X.509 Certificate \\[Certificate for Card Authentication' '%s/pkcs15.out'",
             G.dir, G.dir, G.dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s/pkcs15.out'", G.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no pkcs15-tool output)\n");
        fail_msg("pkcs15-tool did not list the certificates");
    }
    /* pkcs11-tool signs a SHA-256 digest with the 9C key (id 02) after login. */
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -binary '%s' > '%s' && "
             "pkcs11-tool --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so --login --pin "
             "246810 --sign --mechanism ECDSA --id 02 --signature-format openssl -i '%s' -o '%s' "
             "> '%s/pkcs11.out' 2>&1",
             data, digest, digest, sig, G.dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s/pkcs11.out'", G.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no pkcs11-tool output)\n");
        fail_msg("pkcs11-tool could not sign");
    }
    snprintf(cmd, sizeof(cmd),
             "'%s/tools/huimin-card' cert --key 9c --out '%s' && "
             "openssl x509 -in '%s' -pubkey -noout > '%s' && "
             "openssl dgst -sha256 -verify '%s' -signature '%s' '%s'",
             getenv("HUIMIN_BINARY_DIR"), cert, cert, pub, pub, sig, data);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_pin_lifecycle),
        cmocka_unit_test(test_sign_with_openssl),
        cmocka_unit_test(test_opensc_reads_our_card),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
