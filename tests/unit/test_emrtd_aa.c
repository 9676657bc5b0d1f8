/*
 * Active Authentication signature checks in isolation: ECDSA in the plain
 * r||s format with the hash DG14 names, and RSA with ISO/IEC 9796-2 scheme 1
 * (SHA-1 with trailer BC, SHA-256 with 34CC), each with the forgeries a
 * copied chip could try.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string.h>

#include "cl/emrtd_auth.h"

static const uint8_t chal[8] = { 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18 };

static size_t spki_of(EVP_PKEY *k, uint8_t *out, size_t cap)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);

    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    return (size_t)n;
}

/* ECDSA over md(msg) as r || s, each padded to the field size. */
static size_t ecdsa_plain(EVP_PKEY *k, const EVP_MD *md, uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    ECDSA_SIG *sig;
    const BIGNUM *r, *s;

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &der_len, chal, sizeof(chal)), 1);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    assert_int_equal(BN_bn2binpad(r, out, 32), 32);
    assert_int_equal(BN_bn2binpad(s, out + 32, 32), 32);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return 64;
}

static void test_ecdsa_plain(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    uint8_t spki[256], sig[64], bad_chal[8];
    size_t n = spki_of(k, spki, sizeof(spki));

    (void)state;
    ecdsa_plain(k, EVP_sha256(), sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA256, chal, 8, sig, 64), CL_OK);
    /* The hash must be the one DG14 names. */
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA384, chal, 8, sig, 64),
                     CL_E_SIGNATURE_INVALID);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 64),
                     CL_E_SIGNATURE_INVALID);
    /* Another challenge, a flipped bit, a short signature, another key. */
    memcpy(bad_chal, chal, 8);
    bad_chal[7] ^= 1;
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA256, bad_chal, 8, sig, 64),
                     CL_E_SIGNATURE_INVALID);
    sig[10] ^= 0x40;
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA256, chal, 8, sig, 64),
                     CL_E_SIGNATURE_INVALID);
    sig[10] ^= 0x40;
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA256, chal, 8, sig, 63),
                     CL_E_SIGNATURE_INVALID);
    ecdsa_plain(other, EVP_sha256(), sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA256, chal, 8, sig, 64),
                     CL_E_SIGNATURE_INVALID);
    /* SHA-1 as some older chips use. */
    ecdsa_plain(k, EVP_sha1(), sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_SHA1, chal, 8, sig, 64), CL_OK);
    /* A key that does not parse. */
    assert_int_equal(cl_emrtd_aa_verify(spki, n - 1, CL_HASH_SHA256, chal, 8, sig, 64),
                     CL_E_CRYPTO);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

/* F = 6A || M1 || H(M1 || challenge) || trailer, raised to d. */
static void rsa_9796(EVP_PKEY *k, const EVP_MD *md, const uint8_t *trailer, size_t tlen,
                     uint8_t header, uint8_t *sig)
{
    uint8_t f[256];
    size_t hl = (size_t)EVP_MD_get_size(md), m1 = 256 - 1 - hl - tlen, sig_len = 256;
    unsigned out = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);

    f[0] = header;
    assert_int_equal(RAND_bytes(f + 1, (int)m1), 1);
    assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
    EVP_DigestUpdate(ctx, f + 1, m1);
    EVP_DigestUpdate(ctx, chal, sizeof(chal));
    assert_int_equal(EVP_DigestFinal_ex(ctx, f + 1 + m1, &out), 1);
    memcpy(f + 256 - tlen, trailer, tlen);
    assert_int_equal(EVP_PKEY_sign_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING), 1);
    assert_int_equal(EVP_PKEY_sign(pc, sig, &sig_len, f, 256), 1);
    EVP_PKEY_CTX_free(pc);
    EVP_MD_CTX_free(ctx);
}

static void test_rsa_iso9796_2(void **state)
{
    static const uint8_t bc[] = { 0xBC }, sha256_cc[] = { 0x34, 0xCC },
                         unknown_cc[] = { 0x31, 0xCC };
    EVP_PKEY *k = EVP_RSA_gen(2048);
    uint8_t spki[512], sig[256];
    size_t n = spki_of(k, spki, sizeof(spki));

    (void)state;
    rsa_9796(k, EVP_sha1(), bc, 1, 0x6A, sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256), CL_OK);
    rsa_9796(k, EVP_sha256(), sha256_cc, 2, 0x6A, sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256), CL_OK);
    /* Wrong header, unknown hash in the trailer, another challenge, truncated. */
    rsa_9796(k, EVP_sha1(), bc, 1, 0x4A, sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    rsa_9796(k, EVP_sha256(), unknown_cc, 2, 0x6A, sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    rsa_9796(k, EVP_sha1(), bc, 1, 0x6A, sig);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 7, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 255),
                     CL_E_SIGNATURE_INVALID);
    sig[100] ^= 1;
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    /* All-zero and all-FF "signatures" recover to garbage, not to a pass. */
    memset(sig, 0, sizeof(sig));
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    memset(sig, 0xFF, sizeof(sig));
    assert_int_equal(cl_emrtd_aa_verify(spki, n, CL_HASH_NONE, chal, 8, sig, 256),
                     CL_E_SIGNATURE_INVALID);
    EVP_PKEY_free(k);
}

static void test_bad_arguments(void **state)
{
    uint8_t sig[64] = { 0 };

    (void)state;
    assert_int_equal(cl_emrtd_aa_verify(NULL, 0, CL_HASH_SHA256, chal, 8, sig, 64),
                     CL_E_INVALID_ARG);
    assert_int_equal(cl_emrtd_aa_verify(sig, 64, CL_HASH_SHA256, chal, 8, sig, 64), CL_E_CRYPTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa_plain),
        cmocka_unit_test(test_rsa_iso9796_2),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
