/* Unit tests of the deployment PKI: every certificate chains to the root with the right
 * constraints and usages, keys are 0600, kiosk certificates match what the registry records. */
#include "deploy_pki.h"
#include "pki.h"

#include "hm/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];
static char pkidir[PATH_MAX + 16];

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
}

static int setup(void **state)
{
    static const char *const hosts[] = { "huimin.example.cn", "10.1.2.3", "::1" };
    struct hs_pki_opts o = { .bureau = "杭州市民政局", .hosts = hosts, .nhosts = 3 };
    char err[256];

    (void)state;
    hm_strlcpy(tmpdir, "/tmp/hs-pki-XXXXXX", sizeof(tmpdir));
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(pkidir, sizeof(pkidir), "%s/pki", tmpdir);
    if (hs_pki_create(pkidir, &o, err, sizeof(err)) != HS_OK) {
        fprintf(stderr, "hs_pki_create: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return hs_pki_remove_tree(tmpdir) == HS_OK ? 0 : -1;
}

/* All certificates of a PEM file. */
static STACK_OF(X509) * load_certs(const char *path)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    FILE *f = fopen(path, "r");
    X509 *x;

    assert_non_null(f);
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    fclose(f);
    assert_true(sk_X509_num(sk) > 0);
    return sk;
}

static X509 *load_first(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    STACK_OF(X509) * sk;
    X509 *x;

    path_in(path, sizeof(path), dir, name);
    sk = load_certs(path);
    x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

/* Verifies x against the root alone, with the intermediates of untrusted_file (may be NULL). */
static int verify(X509 *x, const char *untrusted_file, int purpose)
{
    char path[PATH_MAX + 64];
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = untrusted_file ? load_certs(untrusted_file) : NULL;
    int err;

    path_in(path, sizeof(path), pkidir, HS_PKI_ROOT_CERT);
    assert_int_equal(X509_STORE_load_file(store, path), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, x, untrusted), 1);
    if (purpose)
        X509_STORE_CTX_set_purpose(ctx, purpose);
    err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    return err;
}

static void assert_mode(const char *dir, const char *name, unsigned mode)
{
    char path[PATH_MAX + 64];
    struct stat st;

    path_in(path, sizeof(path), dir, name);
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != mode)
        fail_msg("%s has mode %o, not %o", path, st.st_mode & 0777, mode);
}

static void test_files_and_modes(void **state)
{
    static const char *const keys[] = { HS_PKI_ROOT_KEY, HS_PKI_ISSUER_KEY, HS_PKI_KIOSK_KEY,
                                        HS_PKI_TLS_KEY,  HS_PKI_SIGN_KEY,   HS_PKI_SEAL_KEY };
    char path[PATH_MAX + 64];
    struct stat st;

    (void)state;
    assert_mode(tmpdir, "pki", 0700);
    for (size_t i = 0; i < HM_ARRAY_SIZE(keys); i++)
        assert_mode(pkidir, keys[i], 0600);
    path_in(path, sizeof(path), pkidir, HS_PKI_SEAL_KEY);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, HS_PKI_SEAL_KEY_LEN);
    path_in(path, sizeof(path), pkidir, HS_PKI_CSCA_DIR);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    path_in(path, sizeof(path), pkidir, HS_PKI_ISSUER_CRL);
    assert_int_equal(access(path, R_OK), 0);
}

static void test_root_is_a_ca(void **state)
{
    X509 *root = load_first(pkidir, HS_PKI_ROOT_CERT);

    (void)state;
    assert_int_equal(X509_check_ca(root), 1);
    assert_true(X509_get_extension_flags(root) & EXFLAG_SS);
    assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(verify(root, NULL, 0), X509_V_OK);
    X509_free(root);
}

static void test_chains(void **state)
{
    static const char *const sub[] = { HS_PKI_ISSUER_CERT, HS_PKI_KIOSK_CERT };
    char path[PATH_MAX + 64];

    (void)state;
    for (size_t i = 0; i < HM_ARRAY_SIZE(sub); i++) {
        STACK_OF(X509) * sk;
        X509 *ca = load_first(pkidir, sub[i]);

        assert_int_equal(X509_check_ca(ca), 1);
        assert_int_equal(verify(ca, NULL, 0), X509_V_OK);
        /* The file holds the CA first and the root after it. */
        path_in(path, sizeof(path), pkidir, sub[i]);
        sk = load_certs(path);
        assert_int_equal(sk_X509_num(sk), 2);
        assert_int_equal(X509_check_issued(sk_X509_value(sk, 1), sk_X509_value(sk, 0)), X509_V_OK);
        sk_X509_pop_free(sk, X509_free);
        X509_free(ca);
    }
}

static void test_tls_certificate(void **state)
{
    X509 *x = load_first(pkidir, HS_PKI_TLS_CERT);

    (void)state;
    assert_int_equal(verify(x, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "huimin.example.cn", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.cn", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    X509_free(x);
}

static void test_signing_certificate(void **state)
{
    char cert[PATH_MAX + 64], key[PATH_MAX + 64];
    struct pki_ca pair;
    X509 *x = load_first(pkidir, HS_PKI_SIGN_CERT);

    (void)state;
    assert_int_equal(verify(x, NULL, 0), X509_V_OK);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_check_ca(x), 0);
    /* The key file holds the certificate's key. */
    path_in(cert, sizeof(cert), pkidir, HS_PKI_SIGN_CERT);
    path_in(key, sizeof(key), pkidir, HS_PKI_SIGN_KEY);
    assert_int_equal(pki_ca_load(&pair, cert, key), 0);
    pki_ca_free(&pair);
    X509_free(x);
}

static void test_issuer_works_for_huimin_issue(void **state)
{
    char cert[PATH_MAX + 64], key[PATH_MAX + 64];
    struct pki_ca issuer;
    struct pki_holder h = { .name = "张秀英",
                            .welfare_no = "WF330106000123",
                            .org = "杭州市民政局" };
    EVP_PKEY *card = pki_ec_key();
    X509 *x;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    (void)state;
    /* huimin-issue loads the issuer CA exactly like this. */
    path_in(cert, sizeof(cert), pkidir, HS_PKI_ISSUER_CERT);
    path_in(key, sizeof(key), pkidir, HS_PKI_ISSUER_KEY);
    assert_int_equal(pki_ca_load(&issuer, cert, key), 0);
    x = pki_issue(&issuer, card, &h, 0, 0, 365, KU_DIGITAL_SIGNATURE);
    assert_non_null(x);
    /* And a verifier given issuer-ca.pem alone (as cl_piv_verify is) finds the whole chain. */
    assert_int_equal(X509_STORE_load_file(store, cert), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(x);
    EVP_PKEY_free(card);
    pki_ca_free(&issuer);
}

static void test_kiosk_certificate(void **state)
{
    char out[PATH_MAX + 64], path[PATH_MAX + 64], sign[PATH_MAX + 64], err[256], hex[65];
    struct hs_kiosk_cert kc;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len;
    X509 *x;
    X509_NAME *name;
    char cn[64], org[128];

    (void)state;
    path_in(out, sizeof(out), tmpdir, "kiosk-a");
    assert_int_equal(mkdir(out, 0700), 0);
    path_in(sign, sizeof(sign), pkidir, HS_PKI_SIGN_CERT);
    assert_int_equal(hs_pki_issue_kiosk(pkidir, "kiosk-hz-001", sign, out, &kc, err, sizeof(err)),
                     HS_OK);
    assert_mode(out, "kiosk.key", 0600);
    x = load_first(out, "kiosk.pem");
    path_in(path, sizeof(path), out, "kiosk.pem");
    assert_int_equal(verify(x, path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    /* A client certificate is no server certificate. */
    assert_int_not_equal(verify(x, path, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    name = X509_get_subject_name(x);
    assert_true(X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn)) > 0);
    assert_string_equal(cn, "kiosk-hz-001");
    assert_true(X509_NAME_get_text_by_NID(name, NID_organizationName, org, sizeof(org)) > 0);
    /* What the registry gets: lower-case hex SHA-256 of the DER, and the serial. */
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &md_len), 1);
    for (unsigned i = 0; i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(kc.sha256, hex);
    {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *s = BN_bn2hex(bn);

        for (char *p = s; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        assert_string_equal(kc.serial, s);
        OPENSSL_free(s);
        BN_free(bn);
    }
    X509_free(x);
    /* The kiosk trusts the root for TLS and pins the signing certificate. */
    path_in(path, sizeof(path), out, "server-ca.pem");
    x = load_first(out, "server-ca.pem");
    assert_int_equal(verify(x, NULL, 0), X509_V_OK);
    X509_free(x);
    x = load_first(out, "signing.pem");
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    X509_free(x);
}

static void test_existing_folder_refused(void **state)
{
    struct hs_pki_opts o = { 0 };
    char err[256];

    (void)state;
    assert_int_equal(hs_pki_create(pkidir, &o, err, sizeof(err)), HS_E_CONFLICT);
    assert_non_null(strstr(err, "exists"));
}

static void test_bad_host_refused(void **state)
{
    static const char *const hosts[] = { "bad,DNS:evil.example" };
    struct hs_pki_opts o = { .hosts = hosts, .nhosts = 1 };
    char path[PATH_MAX + 64], err[256];

    (void)state;
    path_in(path, sizeof(path), tmpdir, "pki-bad");
    assert_int_equal(hs_pki_create(path, &o, err, sizeof(err)), HS_E_INVALID_ARG);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_true(hs_pki_host_valid("a-b.example.cn"));
    assert_true(hs_pki_host_valid("192.168.0.1"));
    assert_true(hs_pki_host_valid("fe80::1"));
    assert_false(hs_pki_host_valid("-a.example"));
    assert_false(hs_pki_host_valid("a..b"));
    assert_false(hs_pki_host_valid("a b"));
    assert_false(hs_pki_host_valid(""));
}

static void test_token_key(void **state)
{
    EVP_PKEY *k = pki_ec_key();
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    struct hs_pki_opts o = { .signing_spki = spki, .signing_spki_len = (size_t)n };
    char dir[PATH_MAX + 64], path[PATH_MAX + 64], err[256];
    X509 *x;

    (void)state;
    assert_true(n > 0);
    path_in(dir, sizeof(dir), tmpdir, "pki-token");
    assert_int_equal(hs_pki_create(dir, &o, err, sizeof(err)), HS_OK);
    /* No key file: the certificate is for the token's key. */
    path_in(path, sizeof(path), dir, HS_PKI_SIGN_KEY);
    assert_int_not_equal(access(path, F_OK), 0);
    x = load_first(dir, HS_PKI_SIGN_CERT);
    assert_int_equal(X509_check_private_key(x, k), 1);
    X509_free(x);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
}

static void test_remove_tree(void **state)
{
    char dir[PATH_MAX + 64], path[PATH_MAX + 64];

    (void)state;
    path_in(dir, sizeof(dir), tmpdir, "tree");
    assert_int_equal(mkdir(dir, 0700), 0);
    path_in(path, sizeof(path), dir, "sub");
    assert_int_equal(mkdir(path, 0700), 0);
    path_in(path, sizeof(path), dir, "sub/file");
    fclose(fopen(path, "w"));
    /* A link to the PKI must be removed, not followed. */
    path_in(path, sizeof(path), dir, "link");
    assert_int_equal(symlink(pkidir, path), 0);
    assert_int_equal(hs_pki_remove_tree(dir), HS_OK);
    assert_int_not_equal(access(dir, F_OK), 0);
    path_in(path, sizeof(path), pkidir, HS_PKI_ROOT_CERT);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(hs_pki_remove_tree(dir), HS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_modes),
        cmocka_unit_test(test_root_is_a_ca),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_tls_certificate),
        cmocka_unit_test(test_signing_certificate),
        cmocka_unit_test(test_issuer_works_for_huimin_issue),
        cmocka_unit_test(test_kiosk_certificate),
        cmocka_unit_test(test_existing_folder_refused),
        cmocka_unit_test(test_bad_host_refused),
        cmocka_unit_test(test_token_key),
        cmocka_unit_test(test_remove_tree),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
