/* Integration tests of the PKCS#11 signer against a real SoftHSM2 token made for the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sign_testutil.h"

#include "hs/jws.h"
#include "hs/signer.h"

#include "hm/log.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN  "huimin-test"
#define PIN    "123456"
#define SO_PIN "12345678"
#define KEY    "huimin-jws"

struct fx {
    char *dir, *conf, *tokens, *cert_file, *other_cert_file, *log_file;
    const char *module;
    uint8_t *spki;
    size_t spki_len;
    EVP_PKEY *ca_key, *other_key;
    X509 *ca, *cert, *other_cert;
    uint8_t *der;
    size_t der_len;
    struct hs_signer *signer;
};

static struct fx fx;

static struct hs_signer_config p11_cfg(const char *pin, const char *key_label,
                                       const char *cert_file)
{
    struct hs_signer_config cfg = {
        .kind = "pkcs11",
        .module = fx.module,
        .token_label = TOKEN,
        .pin = pin,
        .key_label = key_label,
        .cert_file = cert_file,
    };
    return cfg;
}

static int group_setup(void **state)
{
    const unsigned char *p;
    EVP_PKEY *pub;
    struct hs_signer_config cfg;
    FILE *f;

    (void)state;
    fx.module = getenv("HUIMIN_P11_MODULE");
    if (!fx.module || !*fx.module)
        fx.module = "/usr/lib/softhsm/libsofthsm2.so";
    fx.dir = tu_tmpdir();
    fx.conf = tu_path(fx.dir, "softhsm2.conf");
    fx.tokens = tu_path(fx.dir, "tokens");
    fx.cert_file = tu_path(fx.dir, "p11.crt");
    fx.other_cert_file = tu_path(fx.dir, "other.crt");
    fx.log_file = tu_path(fx.dir, "log.txt");
    assert_int_equal(tu_run("mkdir", "-p", fx.tokens, (const char *)NULL), 0);
    f = fopen(fx.conf, "w");
    assert_non_null(f);
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
            fx.tokens);
    fclose(f);
    /* Before the module is loaded: SoftHSM2 reads it in C_Initialize. */
    assert_int_equal(setenv("SOFTHSM2_CONF", fx.conf, 1), 0);
    assert_int_equal(tu_run("softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin",
                            PIN, "--so-pin", SO_PIN, (const char *)NULL),
                     0);

    assert_int_equal(hs_p11_keygen(fx.module, TOKEN, PIN, KEY, &fx.spki, &fx.spki_len), HS_OK);

    /* A certificate for the token's key, issued by a test CA. */
    p = fx.spki;
    pub = d2i_PUBKEY(NULL, &p, (long)fx.spki_len);
    assert_non_null(pub);
    assert_ptr_equal(p, fx.spki + fx.spki_len);
    fx.ca_key = tu_ec_key("P-256");
    fx.ca = tu_cert(fx.ca_key, fx.ca_key, NULL, "huimin test CA");
    fx.cert = tu_cert(pub, fx.ca_key, fx.ca, "huimin signer (SoftHSM2)");
    EVP_PKEY_free(pub);
    tu_write_cert(fx.cert, fx.cert_file);
    fx.der = tu_cert_der(fx.cert, &fx.der_len);
    fx.other_key = tu_ec_key("P-256");
    fx.other_cert = tu_cert(fx.other_key, fx.ca_key, fx.ca, "someone else");
    tu_write_cert(fx.other_cert, fx.other_cert_file);

    cfg = p11_cfg(PIN, KEY, fx.cert_file);
    assert_int_equal(hs_signer_open(&cfg, &fx.signer), HS_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hs_signer_free(fx.signer);
    free(fx.spki);
    OPENSSL_free(fx.der);
    EVP_PKEY_free(fx.ca_key);
    EVP_PKEY_free(fx.other_key);
    X509_free(fx.ca);
    X509_free(fx.cert);
    X509_free(fx.other_cert);
    tu_rmrf(fx.dir);
    free(fx.dir);
    free(fx.conf);
    free(fx.tokens);
    free(fx.cert_file);
    free(fx.other_cert_file);
    free(fx.log_file);
    return 0;
}

/* PKCS#11 shares one login per process, so the signer refuses a second user
 * of the token: tests that open or generate step the fixture's signer aside. */
static void fixture_close(void)
{
    hs_signer_free(fx.signer);
    fx.signer = NULL;
}

static void fixture_reopen(void)
{
    struct hs_signer_config cfg = p11_cfg(PIN, KEY, fx.cert_file);

    assert_int_equal(hs_signer_open(&cfg, &fx.signer), HS_OK);
}

/* Opens a signer with cfg while the fixture's is closed; checks the log. */
static hs_rc open_expect(struct hs_signer_config cfg, const char *log_has, const char *log_not)
{
    struct hs_signer *s = NULL;
    char *log;
    hs_rc rc;

    fixture_close();
    tu_capture_begin(fx.log_file);
    rc = hs_signer_open(&cfg, &s);
    log = tu_capture_end(fx.log_file);
    if (log_has)
        assert_non_null(strstr(log, log_has));
    if (log_not)
        assert_null(strstr(log, log_not));
    free(log);
    if (rc != HS_OK)
        assert_null(s);
    hs_signer_free(s);
    fixture_reopen();
    return rc;
}

/* hs_p11_keygen with the fixture's signer closed; checks the log. */
static hs_rc keygen_expect(const char *module, const char *token, const char *pin,
                           const char *label, const char *log_has)
{
    uint8_t *spki = (uint8_t *)&fx; /* must be reset */
    size_t len = 1;
    char *log;
    hs_rc rc;

    fixture_close();
    tu_capture_begin(fx.log_file);
    rc = hs_p11_keygen(module, token, pin, label, &spki, &len);
    log = tu_capture_end(fx.log_file);
    if (log_has)
        assert_non_null(strstr(log, log_has));
    assert_null(strstr(log, PIN));
    free(log);
    if (rc == HS_OK) {
        assert_int_equal(len, 91);
        free(spki);
    } else {
        assert_null(spki);
        assert_int_equal(len, 0);
    }
    fixture_reopen();
    return rc;
}

static void test_keygen_spki(void **state)
{
    const unsigned char *p = fx.spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)fx.spki_len);
    char group[32];
    unsigned char md[32];
    unsigned int md_len = sizeof(md);
    char *kid;

    (void)state;
    assert_int_equal(fx.spki_len, 91);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL), 1);
    assert_string_equal(group, "prime256v1");
    EVP_PKEY_free(pub);
    /* The kid of the signer is the digest of exactly the SPKI keygen gave. */
    EVP_Digest(fx.spki, fx.spki_len, md, &md_len, EVP_sha256(), NULL);
    kid = tu_b64url(md, md_len);
    assert_string_equal(hs_signer_kid(fx.signer), kid);
    free(kid);
    kid = tu_kid(fx.cert);
    assert_string_equal(hs_signer_kid(fx.signer), kid);
    free(kid);
    assert_string_equal(hs_signer_kind(fx.signer), "pkcs11");
}

static void test_keygen_refusals(void **state)
{
    uint8_t *spki = NULL;
    size_t len;

    (void)state;
    /* A second key under the same label is refused, before generating. */
    assert_int_equal(keygen_expect(fx.module, TOKEN, PIN, KEY, "labelled \"" KEY "\" already"),
                     HS_E_CONFLICT);
    assert_int_equal(keygen_expect(fx.module, TOKEN, "000000", "fresh", "CKR_PIN_INCORRECT"),
                     HS_E_KEY);
    assert_int_equal(keygen_expect(fx.module, "no-such-token", PIN, "fresh", "no PKCS#11 token"),
                     HS_E_KEY);
    assert_int_equal(keygen_expect("/nonexistent/libp11.so", TOKEN, PIN, "fresh", "cannot load"),
                     HS_E_PKCS11);
    assert_int_equal(keygen_expect(fx.module, TOKEN, PIN, "", NULL), HS_E_INVALID_ARG);
    /* While the signer holds the token's login, keygen is refused: its PIN
     * could not be checked. */
    assert_int_equal(hs_p11_keygen(fx.module, TOKEN, PIN, "fresh", &spki, &len), HS_E_CONFLICT);
    assert_null(spki);
    /* A second label is fine. */
    assert_int_equal(keygen_expect(fx.module, TOKEN, PIN, "second", "generated"), HS_OK);
}

static void test_sign_verify(void **state)
{
    const char *payload = "{\"receipt\":\"R-0001\",\"amount_fen\":80000}";
    char *t = NULL, *x, *jwks = NULL, *key_json, kid[64];
    uint8_t *out = NULL;
    size_t out_len;
    cjose_jwk_t *jwk;
    cjose_jws_t *jws;
    cjose_err err;
    json_t *j;
    uint64_t before = hs_signer_count(fx.signer);

    (void)state;
    assert_int_equal(hs_jws_sign(fx.signer, "JWT", (const uint8_t *)payload, strlen(payload), &t),
                     HS_OK);
    assert_int_equal(hs_signer_count(fx.signer), before + 1);
    assert_int_equal(hs_jws_verify(t, strlen(t), fx.der, fx.der_len, &out, &out_len, kid), HS_OK);
    assert_int_equal(out_len, strlen(payload));
    assert_memory_equal(out, payload, out_len);
    assert_string_equal(kid, hs_signer_kid(fx.signer));
    free(out);

    /* cjose, from the JWKS we publish. */
    assert_int_equal(hs_jwks(fx.signer, &jwks), HS_OK);
    j = json_loads(jwks, 0, NULL);
    assert_non_null(j);
    key_json = json_dumps(json_array_get(json_object_get(j, "keys"), 0), JSON_COMPACT);
    jwk = cjose_jwk_import(key_json, strlen(key_json), &err);
    assert_non_null(jwk);
    jws = cjose_jws_import(t, strlen(t), &err);
    assert_non_null(jws);
    assert_true(cjose_jws_verify(jws, jwk, &err));
    cjose_jws_release(jws);
    /* ... which also refuses a changed payload. */
    x = strdup(t);
    x[strchr(x, '.') - x + 1] ^= 1;
    jws = cjose_jws_import(x, strlen(x), &err);
    assert_non_null(jws);
    assert_false(cjose_jws_verify(jws, jwk, &err));
    cjose_jws_release(jws);
    assert_int_equal(hs_jws_verify(x, strlen(x), fx.der, fx.der_len, &out, &out_len, NULL),
                     HS_E_SIGNATURE);
    /* And the token is not valid under another certificate. */
    {
        size_t other_len;
        uint8_t *other = tu_cert_der(fx.other_cert, &other_len);

        assert_int_equal(hs_jws_verify(t, strlen(t), other, other_len, &out, &out_len, NULL),
                         HS_E_SIGNATURE);
        OPENSSL_free(other);
    }
    cjose_jwk_release(jwk);
    free(x);
    free(key_json);
    json_decref(j);
    free(jwks);
    free(t);
}

static void test_wrong_pin(void **state)
{
    (void)state;
    /* The log names the PKCS#11 code and never shows a PIN. */
    assert_int_equal(
        open_expect(p11_cfg("654321", KEY, fx.cert_file), "CKR_PIN_INCORRECT", "654321"), HS_E_KEY);
    assert_int_equal(open_expect(p11_cfg("654321", KEY, fx.cert_file), "C_Login", PIN), HS_E_KEY);
}

static void test_open_refusals(void **state)
{
    struct hs_signer_config cfg;

    (void)state;
    assert_int_equal(open_expect(p11_cfg(PIN, "no-such-key", fx.cert_file),
                                 "no private key labelled \"no-such-key\"", NULL),
                     HS_E_KEY);
    /* The certificate of another key. */
    assert_int_equal(open_expect(p11_cfg(PIN, KEY, fx.other_cert_file), "does not match", NULL),
                     HS_E_KEY);
    cfg = p11_cfg(PIN, KEY, fx.cert_file);
    cfg.token_label = "other-token";
    assert_int_equal(open_expect(cfg, "no PKCS#11 token labelled \"other-token\"", NULL), HS_E_KEY);
    cfg = p11_cfg(PIN, KEY, fx.cert_file);
    cfg.module = "/nonexistent/libp11.so";
    assert_int_equal(open_expect(cfg, "cannot load the PKCS#11 module", NULL), HS_E_PKCS11);
    cfg = p11_cfg(PIN, KEY, fx.cert_file);
    cfg.pin = NULL;
    assert_int_equal(open_expect(cfg, NULL, NULL), HS_E_CONFIG);
    /* The signer that was open all along still works. */
    {
        uint8_t sig[64];
        assert_int_equal(hs_signer_sign(fx.signer, (const uint8_t *)"x", 1, sig), HS_OK);
        assert_int_equal(hs_signer_verify_cert(fx.der, fx.der_len, (const uint8_t *)"x", 1, sig),
                         HS_OK);
    }
}

static void test_one_signer_per_token(void **state)
{
    struct hs_signer_config cfg = p11_cfg("654321", KEY, fx.cert_file);
    struct hs_signer *s2 = NULL;
    uint8_t sig[64];
    char *log;

    (void)state;
    /* The token is logged in already: a second C_Login would answer
     * CKR_USER_ALREADY_LOGGED_IN without checking this wrong PIN, so the
     * second signer is refused outright. */
    tu_capture_begin(fx.log_file);
    assert_int_equal(hs_signer_open(&cfg, &s2), HS_E_CONFLICT);
    log = tu_capture_end(fx.log_file);
    assert_non_null(strstr(log, "in use by another signer"));
    free(log);
    assert_null(s2);
    cfg.pin = PIN;
    assert_int_equal(hs_signer_open(&cfg, &s2), HS_E_CONFLICT);
    /* The first signer is not disturbed. */
    assert_int_equal(hs_signer_sign(fx.signer, (const uint8_t *)"one", 3, sig), HS_OK);
    assert_int_equal(hs_signer_verify_cert(fx.der, fx.der_len, (const uint8_t *)"one", 3, sig),
                     HS_OK);
}

#define THREADS    8
#define PER_THREAD 50

static void *sign_many(void *arg)
{
    long *failures = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        char payload[64], *t = NULL;
        uint8_t *out = NULL;
        size_t out_len;

        snprintf(payload, sizeof(payload), "{\"thread\":%p,\"i\":%d}", arg, i);
        if (hs_jws_sign(fx.signer, "JWT", (const uint8_t *)payload, strlen(payload), &t) != HS_OK ||
            hs_jws_verify(t, strlen(t), fx.der, fx.der_len, &out, &out_len, NULL) != HS_OK ||
            out_len != strlen(payload) || memcmp(out, payload, out_len) != 0)
            (*failures)++;
        free(out);
        free(t);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th[THREADS];
    long failures[THREADS] = { 0 };
    uint64_t before = hs_signer_count(fx.signer);

    (void)state;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sign_many, &failures[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(failures[i], 0);
    }
    assert_int_equal(hs_signer_count(fx.signer) - before, THREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_spki),   cmocka_unit_test(test_keygen_refusals),
        cmocka_unit_test(test_sign_verify),   cmocka_unit_test(test_wrong_pin),
        cmocka_unit_test(test_open_refusals), cmocka_unit_test(test_one_signer_per_token),
        cmocka_unit_test(test_threads),
    };

    /* Info level: keygen's success line is part of what is checked. */
    hm_log_init("test_sign_p11", HM_LOG_INFO);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
