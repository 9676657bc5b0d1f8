/* The verified-certificate cache: what it keeps, for how long, what pushes an entry out, and that a
 * hit still checks the signature. */
#include "../../../server/src/api/certcache.h"

#include <openssl/ec.h>
#include <openssl/evp.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define NOW 1800000000

struct fx {
    char ca[64], crl[64];
    EVP_PKEY *key;
    uint8_t sig[80];
    size_t sig_len;
    struct hs_certcache *cc;
};

static const uint8_t msg[] = "statement";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->ca, sizeof(fx->ca), "/tmp/hs-cc-ca-%d.pem", (int)getpid());
    snprintf(fx->crl, sizeof(fx->crl), "/tmp/hs-cc-crl-%d.pem", (int)getpid());
    write_file(fx->ca, "ca 1\n");
    write_file(fx->crl, "crl 1\n");
    fx->key = EVP_EC_gen("P-256");
    assert_non_null(fx->key);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    fx->sig_len = sizeof(fx->sig);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fx->key), 1);
    assert_int_equal(EVP_DigestSign(md, fx->sig, &fx->sig_len, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(md);
    fx->cc = malloc(sizeof(*fx->cc));
    assert_non_null(fx->cc);
    hs_certcache_init(fx->cc, fx->ca, fx->crl);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    hs_certcache_cleanup(fx->cc);
    free(fx->cc);
    EVP_PKEY_free(fx->key);
    unlink(fx->ca);
    unlink(fx->crl);
    free(fx);
    return 0;
}

/* A stand-in certificate: the cache only hashes the DER (parsing is the caller's). */
static void fake_der(unsigned n, uint8_t der[16])
{
    memset(der, 0x30, 16);
    memcpy(der + 4, &n, sizeof(n));
}

static void put(struct fx *fx, unsigned n, int64_t not_after, int64_t now)
{
    uint8_t der[16];
    struct hs_certinfo info;
    memset(&info, 0, sizeof(info));
    snprintf(info.welfare_no, sizeof(info.welfare_no), "WF%013u", n);
    snprintf(info.serial, sizeof(info.serial), "%u", n);
    fake_der(n, der);
    hs_certcache_put(fx->cc, der, sizeof(der), &info, fx->key, not_after, now, fx->cc->generation);
}

static hs_rc check(struct fx *fx, unsigned n, int64_t now, struct hs_certinfo *info)
{
    uint8_t der[16];
    fake_der(n, der);
    return hs_certcache_check(fx->cc, der, sizeof(der), now, msg, sizeof(msg), fx->sig, fx->sig_len,
                              info);
}

/* The set a stand-in certificate falls into, as certcache.c computes it. */
static size_t set_of(unsigned n)
{
    uint8_t der[16], h[32];
    unsigned len = 0;
    size_t v = 0;
    fake_der(n, der);
    assert_int_equal(EVP_Digest(der, sizeof(der), h, &len, EVP_sha256(), NULL), 1);
    memcpy(&v, h, sizeof(v));
    return v % (HS_CERTCACHE_SLOTS / HS_CERTCACHE_WAYS);
}

static void test_hit_fills_info_and_checks_the_signature(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    assert_int_equal(check(fx, 7, NOW, &info), HS_E_NOT_FOUND);
    put(fx, 7, NOW + 86400, NOW);
    memset(&info, 0, sizeof(info));
    assert_int_equal(check(fx, 7, NOW + 1, &info), HS_OK);
    assert_string_equal(info.welfare_no, "WF0000000000007");
    assert_string_equal(info.serial, "7");
    /* A hit is no licence: a forged signature is still refused. */
    fx->sig[fx->sig_len - 1] ^= 1;
    assert_int_equal(check(fx, 7, NOW + 1, &info), HS_E_SIGNATURE);
    fx->sig[fx->sig_len - 1] ^= 1;
    /* Another certificate is not found by being near it. */
    assert_int_equal(check(fx, 8, NOW + 1, &info), HS_E_NOT_FOUND);
    assert_int_equal(fx->cc->hits, 1 + 1);
}

/* A hit verifies as strictly as EVP_DigestVerify: the signature is the key's, over this message,
 * in strict DER; and the cache keeps the key alive after the caller has let go of it. */
static void test_a_hit_is_as_strict_as_a_full_verification(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    uint8_t der[16], sig[96];
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    memset(&info, 0, sizeof(info));
    fake_der(9, der);
    hs_certcache_put(fx->cc, der, sizeof(der), &info, other, NOW + 86400, NOW, fx->cc->generation);
    EVP_PKEY_free(other); /* the cache's own reference is what is left */
    /* fx->sig is by another key */
    assert_int_equal(check(fx, 9, NOW + 1, &info), HS_E_SIGNATURE);
    put(fx, 7, NOW + 86400, NOW);
    assert_int_equal(check(fx, 7, NOW + 1, &info), HS_OK);
    /* a byte after the DER, or the DER's outer length in long form, is not the signature */
    memcpy(sig, fx->sig, fx->sig_len);
    sig[fx->sig_len] = 0;
    fake_der(7, der);
    assert_int_equal(hs_certcache_check(fx->cc, der, sizeof(der), NOW + 1, msg, sizeof(msg), sig,
                                        fx->sig_len + 1, &info),
                     HS_E_SIGNATURE);
    assert_true(fx->sig[1] < 0x80);
    sig[0] = 0x30;
    sig[1] = 0x81;
    memcpy(sig + 2, fx->sig + 1, fx->sig_len - 1);
    assert_int_equal(hs_certcache_check(fx->cc, der, sizeof(der), NOW + 1, msg, sizeof(msg), sig,
                                        fx->sig_len + 1, &info),
                     HS_E_SIGNATURE);
    /* another message, an empty one, no signature */
    assert_int_equal(hs_certcache_check(fx->cc, der, sizeof(der), NOW + 1, msg, sizeof(msg) - 1,
                                        fx->sig, fx->sig_len, &info),
                     HS_E_SIGNATURE);
    assert_int_equal(
        hs_certcache_check(fx->cc, der, sizeof(der), NOW + 1, msg, 0, fx->sig, fx->sig_len, &info),
        HS_E_SIGNATURE);
    assert_int_equal(
        hs_certcache_check(fx->cc, der, sizeof(der), NOW + 1, msg, sizeof(msg), sig, 0, &info),
        HS_E_SIGNATURE);
}

static void test_entries_expire_with_the_ttl_and_the_certificate(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    put(fx, 1, NOW + 86400, NOW);
    put(fx, 2, NOW + 10, NOW);
    assert_int_equal(check(fx, 1, NOW + HS_CERTCACHE_TTL - 1, &info), HS_OK);
    assert_int_equal(check(fx, 1, NOW + HS_CERTCACHE_TTL, &info), HS_E_NOT_FOUND);
    assert_int_equal(check(fx, 2, NOW + 9, &info), HS_OK);
    assert_int_equal(check(fx, 2, NOW + 10, &info), HS_E_NOT_FOUND);
    /* An expired certificate is never kept. */
    put(fx, 3, NOW, NOW);
    assert_int_equal(check(fx, 3, NOW, &info), HS_E_NOT_FOUND);
}

static void test_a_changed_trust_file_drops_everything(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    put(fx, 1, NOW + 86400, NOW);
    assert_int_equal(check(fx, 1, NOW, &info), HS_OK);
    write_file(fx->crl, "crl 2, a card revoked\n");
    fx->cc->checked_ms = 0; /* the files are looked at once a second: now */
    assert_int_equal(check(fx, 1, NOW, &info), HS_E_NOT_FOUND);
    /* A put made from files that have changed since is not kept. */
    uint8_t der[16];
    fake_der(2, der);
    memset(&info, 0, sizeof(info));
    hs_certcache_put(fx->cc, der, sizeof(der), &info, fx->key, NOW + 86400, NOW,
                     fx->cc->generation - 1);
    assert_int_equal(check(fx, 2, NOW, &info), HS_E_NOT_FOUND);
}

/* Two certificates per card and thousands of cards: they all stay (the old cache lost most). */
static void test_thousands_of_certificates_all_stay(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    const unsigned n = 5000;
    for (unsigned i = 0; i < n; i++)
        put(fx, i, NOW + 86400, NOW);
    unsigned hit = 0;
    for (unsigned i = 0; i < n; i++)
        hit += check(fx, i, NOW + 1, &info) == HS_OK;
    /*
     * The inputs are fixed, so the count is too: a set of 4 overflows for a rare few (about
     * 1 %: 5,000 into 4,096 sets), where one slot per hash in 4,096 lost 2,136 of them.
     */
    printf("%u of %u certificates still cached\n", hit, n);
    assert_true(hit >= n - n / 100);
    char want[16];
    for (unsigned i = 0; i < n; i++)
        if (check(fx, i, NOW + 1, &info) == HS_OK) {
            snprintf(want, sizeof(want), "%u", i);
            assert_string_equal(info.serial, want);
        }
}

/* In a full set the least recently used gives way, not the one just used. */
static void test_the_least_recently_used_of_a_set_gives_way(void **state)
{
    struct fx *fx = *state;
    struct hs_certinfo info;
    unsigned same[HS_CERTCACHE_WAYS + 1], found = 0;
    size_t set = set_of(0);
    for (unsigned i = 0; found < HS_CERTCACHE_WAYS + 1 && i < 10000000; i++)
        if (set_of(i) == set)
            same[found++] = i;
    assert_int_equal(found, HS_CERTCACHE_WAYS + 1);
    for (int w = 0; w < HS_CERTCACHE_WAYS; w++)
        put(fx, same[w], NOW + 86400, NOW);
    for (int w = 0; w < HS_CERTCACHE_WAYS; w++)
        assert_int_equal(check(fx, same[w], NOW, &info), HS_OK);
    /* same[1] is now the least recently used: touch 0, 2, 3 once more. */
    assert_int_equal(check(fx, same[0], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[2], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[3], NOW, &info), HS_OK);
    put(fx, same[4], NOW + 86400, NOW);
    assert_int_equal(check(fx, same[4], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[1], NOW, &info), HS_E_NOT_FOUND);
    assert_int_equal(check(fx, same[0], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[2], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[3], NOW, &info), HS_OK);
    /* Putting one that is there again replaces it, not another. */
    put(fx, same[0], NOW + 86400, NOW);
    assert_int_equal(check(fx, same[2], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[3], NOW, &info), HS_OK);
    assert_int_equal(check(fx, same[4], NOW, &info), HS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_fills_info_and_checks_the_signature, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_hit_is_as_strict_as_a_full_verification, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_expire_with_the_ttl_and_the_certificate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_changed_trust_file_drops_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thousands_of_certificates_all_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_least_recently_used_of_a_set_gives_way, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
