/* Unit tests of base64url, JWS ES256 and the JWKS with a PEM key, checked against cjose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sign_testutil.h"

#include "hs/jws.h"
#include "hs/signer.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- Fixture: two P-256 keys with self-signed certificates, one P-384 ---- */

struct fx {
    char *dir;
    EVP_PKEY *key_a, *key_b, *key_384;
    X509 *cert_a, *cert_b, *cert_384;
    char *key_a_file, *cert_a_file, *key_b_file, *cert_b_file, *key_384_file, *cert_384_file;
    char *enc_key_file;
    uint8_t *der_a, *der_b, *der_384;
    size_t der_a_len, der_b_len, der_384_len;
    struct hs_signer *signer; /* key A, cert A */
};

static struct fx fx;

static int group_setup(void **state)
{
    struct hs_signer_config cfg = { .kind = "pem" };
    FILE *f;

    (void)state;
    fx.dir = tu_tmpdir();
    fx.key_a = tu_ec_key("P-256");
    fx.key_b = tu_ec_key("P-256");
    fx.key_384 = tu_ec_key("P-384");
    fx.cert_a = tu_cert(fx.key_a, fx.key_a, NULL, "huimin signer A");
    fx.cert_b = tu_cert(fx.key_b, fx.key_b, NULL, "huimin signer B");
    fx.cert_384 = tu_cert(fx.key_384, fx.key_384, NULL, "huimin signer P-384");
    fx.key_a_file = tu_path(fx.dir, "a.key");
    fx.cert_a_file = tu_path(fx.dir, "a.crt");
    fx.key_b_file = tu_path(fx.dir, "b.key");
    fx.cert_b_file = tu_path(fx.dir, "b.crt");
    fx.key_384_file = tu_path(fx.dir, "384.key");
    fx.cert_384_file = tu_path(fx.dir, "384.crt");
    fx.enc_key_file = tu_path(fx.dir, "enc.key");
    tu_write_key(fx.key_a, fx.key_a_file);
    tu_write_cert(fx.cert_a, fx.cert_a_file);
    tu_write_key(fx.key_b, fx.key_b_file);
    tu_write_cert(fx.cert_b, fx.cert_b_file);
    tu_write_key(fx.key_384, fx.key_384_file);
    tu_write_cert(fx.cert_384, fx.cert_384_file);
    f = fopen(fx.enc_key_file, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, fx.key_a, EVP_aes_256_cbc(),
                                          (const unsigned char *)"secret", 6, NULL, NULL),
                     1);
    fclose(f);
    fx.der_a = tu_cert_der(fx.cert_a, &fx.der_a_len);
    fx.der_b = tu_cert_der(fx.cert_b, &fx.der_b_len);
    fx.der_384 = tu_cert_der(fx.cert_384, &fx.der_384_len);

    cfg.key_file = fx.key_a_file;
    cfg.cert_file = fx.cert_a_file;
    assert_int_equal(hs_signer_open(&cfg, &fx.signer), HS_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hs_signer_free(fx.signer);
    EVP_PKEY_free(fx.key_a);
    EVP_PKEY_free(fx.key_b);
    EVP_PKEY_free(fx.key_384);
    X509_free(fx.cert_a);
    X509_free(fx.cert_b);
    X509_free(fx.cert_384);
    OPENSSL_free(fx.der_a);
    OPENSSL_free(fx.der_b);
    OPENSSL_free(fx.der_384);
    tu_rmrf(fx.dir);
    free(fx.dir);
    free(fx.key_a_file);
    free(fx.cert_a_file);
    free(fx.key_b_file);
    free(fx.cert_b_file);
    free(fx.key_384_file);
    free(fx.cert_384_file);
    free(fx.enc_key_file);
    return 0;
}

/* ---- Token helpers ---- */

static char *b64url_str(const char *s)
{
    return tu_b64url(s, strlen(s));
}

/* "a.b.c" from three parts, malloc'd. */
static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *t = malloc(n);

    assert_non_null(t);
    snprintf(t, n, "%s.%s.%s", a, b, c);
    return t;
}

/* Splits a token into malloc'd parts (offsets, not pointers: GCC's -O3
 * dangling-pointer analysis misreads pointers into a buffer freed later). */
static void split3(const char *token, char **h, char **p, char **s)
{
    size_t n1 = strcspn(token, ".");
    assert_int_equal(token[n1], '.');
    size_t n2 = strcspn(token + n1 + 1, ".");
    assert_int_equal(token[n1 + 1 + n2], '.');
    *h = strndup(token, n1);
    *p = strndup(token + n1 + 1, n2);
    *s = strdup(token + n1 + 2 + n2);
}

/* A token with any header, signed properly by the fixture's key through
 * hs_signer_sign: so only our header checks can refuse it. */
static char *signed_token(const char *header_json, const char *payload)
{
    uint8_t sig[HS_ES256_SIG_LEN];
    char *h = b64url_str(header_json), *p = b64url_str(payload), *s, *input, *t;
    size_t n = strlen(h) + strlen(p) + 2;

    input = malloc(n);
    assert_non_null(input);
    snprintf(input, n, "%s.%s", h, p);
    assert_int_equal(hs_signer_sign(fx.signer, (const uint8_t *)input, strlen(input), sig), HS_OK);
    s = tu_b64url(sig, sizeof(sig));
    t = join3(h, p, s);
    free(h);
    free(p);
    free(s);
    free(input);
    return t;
}

static hs_rc verify_with(const char *token, const uint8_t *der, size_t der_len)
{
    static uint8_t sentinel[1];
    uint8_t *payload = sentinel;
    size_t len = 12345;
    char kid[64] = "not touched";
    hs_rc rc = hs_jws_verify(token, strlen(token), der, der_len, &payload, &len, kid);

    if (rc == HS_OK) {
        free(payload);
    } else {
        /* A refused token leaves nothing behind. */
        assert_null(payload);
        assert_int_equal(len, 0);
        assert_string_equal(kid, "");
    }
    return rc;
}

static hs_rc verify_a(const char *token)
{
    return verify_with(token, fx.der_a, fx.der_a_len);
}

static char *sign_a(const char *typ, const char *payload)
{
    char *t = NULL;

    assert_int_equal(hs_jws_sign(fx.signer, typ, (const uint8_t *)payload, strlen(payload), &t),
                     HS_OK);
    assert_non_null(t);
    return t;
}

/* ---- base64url ---- */

struct b64_vector {
    const char *plain;
    size_t len;
    const char *enc;
};

static const struct b64_vector b64_vectors[] = {
    /* RFC 4648 section 10. */
    { "", 0, "" },
    { "f", 1, "Zg" },
    { "fo", 2, "Zm8" },
    { "foo", 3, "Zm9v" },
    { "foob", 4, "Zm9vYg" },
    { "fooba", 5, "Zm9vYmE" },
    { "foobar", 6, "Zm9vYmFy" },
    /* RFC 7515 A.1.1: the example header and payload (with their CR LFs). */
    { "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", 30, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" },
    { "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}", 70,
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ij"
      "p0cnVlfQ" },
    /* RFC 7515 A.3.1: the ES256 example header. */
    { "{\"alg\":\"ES256\"}", 15, "eyJhbGciOiJFUzI1NiJ9" },
    /* The two characters that differ from base64. */
    { "\xfb\xef\xbe", 3, "----" },
    { "\xff\xff\xff", 3, "____" },
    { "\xfb\xff", 2, "-_8" },
    { "\x00", 1, "AA" },
};

static void test_b64url_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
        const struct b64_vector *v = &b64_vectors[i];
        char enc[256];
        uint8_t dec[256];
        size_t n;

        assert_int_equal(hs_b64url_encode((const uint8_t *)v->plain, v->len, enc), strlen(v->enc));
        assert_string_equal(enc, v->enc);
        assert_int_equal(hs_b64url_decode(v->enc, strlen(v->enc), dec, sizeof(dec), &n), HS_OK);
        assert_int_equal(n, v->len);
        assert_memory_equal(dec, v->plain, v->len);
    }
}

static void test_b64url_round_trip_against_openssl(void **state)
{
    uint8_t in[200], out[200];
    char enc[HS_B64URL_LEN(200) + 1];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(in); len++) {
        char *ref = tu_b64url(in, len);

        hs_b64url_encode(in, len, enc);
        assert_string_equal(enc, ref);
        assert_int_equal(hs_b64url_decode(enc, strlen(enc), out, len, &n), HS_OK);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
        free(ref);
    }
}

static void test_b64url_rejects(void **state)
{
    static const char *const bad[] = {
        "Zg==",       /* padding */
        "Zg=",        /* padding */
        "Zm9vYg==",   /* padding */
        "=",          /* padding alone */
        "+_8",        /* '+' from base64 */
        "-/8",        /* '/' from base64 */
        "Zm9v Yg",    /* a space */
        "Zm9v\nYg",   /* a newline */
        "Zm9v\tYg",   /* a tab */
        " Zm9v",      /* leading whitespace */
        "Zm9v\r",     /* trailing whitespace */
        "Z",          /* one character is not a byte */
        "Zm9vY",      /* nor five */
        "Zh",         /* impossible tail: 'h' leaves bits set after the last byte */
        "Zm9",        /* impossible tail: '9' leaves bits set */
        "AB",         /* impossible tail */
        "AAB",        /* impossible tail */
        "Zm9v.",      /* a dot */
        "Zm\xc3\xa9", /* a UTF-8 letter */
    };
    uint8_t out[64];
    size_t n = 99;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 99;
        assert_int_equal(hs_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n),
                         HS_E_MALFORMED);
        assert_int_equal(n, 0);
    }
    /* A NUL in the middle. */
    assert_int_equal(hs_b64url_decode("Zm\0v", 4, out, sizeof(out), &n), HS_E_MALFORMED);
    /* Good input that does not fit. */
    assert_int_equal(hs_b64url_decode("Zm9vYmFy", 8, out, 5, &n), HS_E_TOO_LARGE);
    assert_int_equal(hs_b64url_decode("Zm9vYmFy", 8, out, 6, &n), HS_OK);
    assert_int_equal(n, 6);
}

/* Every byte value in every position of a quad and of a tail: only the 64 letters of the
 * base64url alphabet decode, and a refused input leaves nothing of itself in out. */
static void test_b64url_every_byte(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char in[8];
    uint8_t out[8];
    size_t n;

    (void)state;
    for (int b = 0; b < 256; b++) {
        const char *at = b ? memchr(alphabet, b, 64) : NULL;
        for (size_t pos = 0; pos < 7; pos++) {
            /* "AAAAAAA" decodes to five zero bytes; its tail "AAA" takes any letter in its
             * first place, but only one with the low two bits clear in its last. */
            memcpy(in, "AAAAAAA", 7);
            in[pos] = (char)b;
            memset(out, 0xa5, sizeof(out));
            hs_rc rc = hs_b64url_decode(in, 7, out, sizeof(out), &n);
            bool ok = at && (pos != 6 || ((at - alphabet) & 3) == 0);
            if (ok) {
                assert_int_equal(rc, HS_OK);
                assert_int_equal(n, 5);
            } else {
                assert_int_equal(rc, HS_E_MALFORMED);
                assert_int_equal(n, 0);
                for (size_t i = 0; i < 3; i++)
                    assert_true(out[i] == 0 || out[i] == 0xa5);
            }
        }
    }
    /* A bad character in the second quad: the first quad's bytes (ff ef fe) are not left
     * behind in out. */
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(hs_b64url_decode("_-_-_-_!", 8, out, sizeof(out), &n), HS_E_MALFORMED);
    for (size_t i = 0; i < 3; i++)
        assert_true(out[i] == 0 || out[i] == 0xa5);
}

/* ---- Signer ---- */

static void test_signer_kid_and_accessors(void **state)
{
    char *kid = tu_kid(fx.cert_a);
    size_t len;
    const uint8_t *der = hs_signer_cert_der(fx.signer, &len);

    (void)state;
    assert_string_equal(hs_signer_kid(fx.signer), kid);
    assert_string_equal(hs_signer_kind(fx.signer), "pem");
    assert_int_equal(len, fx.der_a_len);
    assert_memory_equal(der, fx.der_a, len);
    assert_non_null(strstr(hs_signer_cert_pem(fx.signer), "-----BEGIN CERTIFICATE-----"));
    free(kid);
}

static hs_rc open_pem(const char *key, const char *cert)
{
    struct hs_signer_config cfg = { .kind = "pem", .key_file = key, .cert_file = cert };
    struct hs_signer *s = (struct hs_signer *)&cfg; /* must be reset on failure */
    hs_rc rc = hs_signer_open(&cfg, &s);

    if (rc != HS_OK)
        assert_null(s);
    hs_signer_free(s);
    return rc;
}

static void test_signer_refuses_bad_keys(void **state)
{
    struct hs_signer_config cfg = { .kind = "hsm", .cert_file = fx.cert_a_file };
    struct hs_signer *s = NULL;
    char *missing = tu_path(fx.dir, "missing.pem");

    (void)state;
    assert_int_equal(open_pem(fx.key_a_file, fx.cert_a_file), HS_OK);
    /* Key and certificate of different pairs. */
    assert_int_equal(open_pem(fx.key_a_file, fx.cert_b_file), HS_E_KEY);
    assert_int_equal(open_pem(fx.key_b_file, fx.cert_a_file), HS_E_KEY);
    /* Not P-256, either half. */
    assert_int_equal(open_pem(fx.key_384_file, fx.cert_384_file), HS_E_KEY);
    assert_int_equal(open_pem(fx.key_384_file, fx.cert_a_file), HS_E_KEY);
    /* Files that are missing or hold the wrong thing. */
    assert_int_equal(open_pem(missing, fx.cert_a_file), HS_E_KEY);
    assert_int_equal(open_pem(fx.key_a_file, missing), HS_E_KEY);
    assert_int_equal(open_pem(fx.cert_a_file, fx.cert_a_file), HS_E_KEY);
    assert_int_equal(open_pem(fx.key_a_file, fx.key_a_file), HS_E_KEY);
    /* An encrypted key is refused without prompting. */
    assert_int_equal(open_pem(fx.enc_key_file, fx.cert_a_file), HS_E_KEY);
    /* Configuration mistakes. */
    assert_int_equal(hs_signer_open(&cfg, &s), HS_E_CONFIG);
    assert_null(s);
    cfg.kind = "pem";
    assert_int_equal(hs_signer_open(&cfg, &s), HS_E_CONFIG); /* no key file */
    assert_int_equal(hs_signer_open(NULL, &s), HS_E_INVALID_ARG);
    assert_int_equal(hs_signer_open(&cfg, NULL), HS_E_INVALID_ARG);
    hs_signer_free(NULL);
    free(missing);
}

static void test_signer_raw_sign_verify(void **state)
{
    static const uint8_t msg[] = "payment 20240501-0001 confirmed";
    uint8_t sig[HS_ES256_SIG_LEN], bad[HS_ES256_SIG_LEN];
    uint64_t before = hs_signer_count(fx.signer);

    (void)state;
    assert_int_equal(hs_signer_sign(fx.signer, msg, sizeof(msg), sig), HS_OK);
    assert_int_equal(hs_signer_count(fx.signer), before + 1);
    assert_int_equal(hs_signer_verify_cert(fx.der_a, fx.der_a_len, msg, sizeof(msg), sig), HS_OK);
    assert_int_equal(hs_signer_verify_cert(fx.der_a, fx.der_a_len, msg, sizeof(msg) - 1, sig),
                     HS_E_SIGNATURE);
    assert_int_equal(hs_signer_verify_cert(fx.der_b, fx.der_b_len, msg, sizeof(msg), sig),
                     HS_E_SIGNATURE);
    memcpy(bad, sig, sizeof(bad));
    bad[63] ^= 1;
    assert_int_equal(hs_signer_verify_cert(fx.der_a, fx.der_a_len, msg, sizeof(msg), bad),
                     HS_E_SIGNATURE);
    assert_int_equal(hs_signer_verify_cert(fx.der_384, fx.der_384_len, msg, sizeof(msg), sig),
                     HS_E_KEY);
    assert_int_equal(hs_signer_verify_cert(fx.der_a, fx.der_a_len - 1, msg, sizeof(msg), sig),
                     HS_E_KEY);

    /* The same signature checked by OpenSSL directly, after DER encoding. */
    {
        ECDSA_SIG *es = ECDSA_SIG_new();
        unsigned char *der = NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int n;

        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        n = i2d_ECDSA_SIG(es, &der);
        assert_true(n > 0);
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fx.key_a), 1);
        assert_int_equal(EVP_DigestVerify(md, der, (size_t)n, msg, sizeof(msg)), 1);
        EVP_MD_CTX_free(md);
        OPENSSL_free(der);
        ECDSA_SIG_free(es);
    }
}

/* ---- JWS ---- */

static void test_jws_round_trip(void **state)
{
    const char *payload = "{\"resident\":\"110***********123X\",\"amount_fen\":150000}";
    char *t = sign_a("JWT", payload), *h, *p, *s, *hdr_expect;
    uint8_t *out = NULL, hdr[256];
    size_t out_len = 0, n;
    char kid[64];

    (void)state;
    assert_int_equal(hs_jws_verify(t, strlen(t), fx.der_a, fx.der_a_len, &out, &out_len, kid),
                     HS_OK);
    assert_int_equal(out_len, strlen(payload));
    assert_memory_equal(out, payload, out_len);
    assert_int_equal(out[out_len], '\0');
    assert_string_equal(kid, hs_signer_kid(fx.signer));
    free(out);

    /* The header is exactly the documented one. */
    split3(t, &h, &p, &s);
    assert_int_equal(hs_b64url_decode(h, strlen(h), hdr, sizeof(hdr) - 1, &n), HS_OK);
    hdr[n] = '\0';
    hdr_expect = malloc(128);
    snprintf(hdr_expect, 128, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
             hs_signer_kid(fx.signer));
    assert_string_equal((char *)hdr, hdr_expect);
    assert_int_equal(strlen(s), 86);
    free(h);
    free(p);
    free(s);
    free(t);

    /* Without typ the header has only alg and kid. */
    t = sign_a(NULL, "");
    split3(t, &h, &p, &s);
    assert_int_equal(hs_b64url_decode(h, strlen(h), hdr, sizeof(hdr) - 1, &n), HS_OK);
    hdr[n] = '\0';
    snprintf(hdr_expect, 128, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", hs_signer_kid(fx.signer));
    assert_string_equal((char *)hdr, hdr_expect);
    assert_string_equal(p, "");
    assert_int_equal(verify_a(t), HS_OK);
    free(hdr_expect);
    free(h);
    free(p);
    free(s);
    free(t);
}

static void test_jws_typ_is_escaped(void **state)
{
    char *t = sign_a("a\"b\\c", "x"), *h, *p, *s;
    uint8_t hdr[256];
    size_t n;
    json_t *j;

    (void)state;
    split3(t, &h, &p, &s);
    assert_int_equal(hs_b64url_decode(h, strlen(h), hdr, sizeof(hdr), &n), HS_OK);
    j = json_loadb((const char *)hdr, n, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "typ")), "a\"b\\c");
    assert_int_equal(json_object_size(j), 3);
    json_decref(j);
    assert_int_equal(verify_a(t), HS_OK);
    free(h);
    free(p);
    free(s);
    free(t);
}

static void test_jws_tampering(void **state)
{
    char *t = sign_a("JWT", "{\"n\":1}"), *t2 = sign_a("JWT", "{\"n\":2}");
    char *h, *p, *s, *h2, *p2, *s2, *x, *y;
    uint8_t sig[64], swapped[64];
    size_t n;

    (void)state;
    split3(t, &h, &p, &s);
    split3(t2, &h2, &p2, &s2);
    assert_int_equal(verify_a(t), HS_OK);

    /* Another payload under this signature. */
    x = join3(h, p2, s);
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    /* One payload character changed (still valid base64url). */
    x = strdup(t);
    x[strlen(h) + 1] ^= 0x01;
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    /* Another header (kid changed). */
    y = b64url_str("{\"alg\":\"ES256\",\"kid\":\"someone-else\",\"typ\":\"JWT\"}");
    x = join3(y, p, s);
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    free(y);
    /* The signature of another token. */
    x = join3(h, p, s2);
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    /* r and s swapped. */
    assert_int_equal(hs_b64url_decode(s, strlen(s), sig, sizeof(sig), &n), HS_OK);
    memcpy(swapped, sig + 32, 32);
    memcpy(swapped + 32, sig, 32);
    y = tu_b64url(swapped, 64);
    x = join3(h, p, y);
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    free(y);
    /* All zeros (r = s = 0). */
    memset(swapped, 0, sizeof(swapped));
    y = tu_b64url(swapped, 64);
    x = join3(h, p, y);
    assert_int_equal(verify_a(x), HS_E_SIGNATURE);
    free(x);
    free(y);
    /* The right token against the wrong certificate. */
    assert_int_equal(verify_with(t, fx.der_b, fx.der_b_len), HS_E_SIGNATURE);
    /* A certificate that is not P-256, or not a certificate. */
    assert_int_equal(verify_with(t, fx.der_384, fx.der_384_len), HS_E_KEY);
    assert_int_equal(verify_with(t, (const uint8_t *)"garbage", 7), HS_E_KEY);

    free(h);
    free(p);
    free(s);
    free(h2);
    free(p2);
    free(s2);
    free(t);
    free(t2);
}

static void test_jws_refuses_other_algorithms(void **state)
{
    char *p = b64url_str("{\"n\":1}"), *h, *x, *t;
    uint8_t mac[32];
    unsigned int mac_len = sizeof(mac);
    char *mac_b64;
    size_t spki_len;
    unsigned char *spki = NULL;

    (void)state;
    /* alg none with an empty signature, as RFC 7515 A.5 shows it. */
    h = b64url_str("{\"alg\":\"none\"}");
    x = join3(h, p, "");
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    free(h);

    /* These carry a good ES256 signature by our key: only the header checks
     * can refuse them. */
    static const char *const headers[] = {
        "{\"alg\":\"none\"}",
        "{\"alg\":\"HS256\"}",
        "{\"alg\":\"ES384\"}",
        "{\"alg\":\"es256\"}",
        "{\"alg\":\"ES256 \"}",
        "{\"alg\":\"ES256\\u0000\"}",
        "{\"alg\":[\"ES256\"]}",
        "{\"kid\":\"x\"}",                                  /* no alg */
        "{\"alg\":\"none\",\"alg\":\"ES256\"}",             /* duplicate member */
        "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", /* crit */
        "{\"alg\":\"ES256\",\"b64\":false,\"crit\":[\"b64\"]}",
        "{\"alg\":\"ES256\",\"kid\":7}",
        "{\"alg\":\"ES256\",\"typ\":{}}",
        ("{\"alg\":\"ES256\",\"kid\":\"0123456789012345678901234567890123456789012345678901234567"
         "89abcdef\"}"), /* kid of 64 characters */
        "[\"alg\",\"ES256\"]",
        "\"ES256\"",
        "{\"alg\":\"ES256\"",
        "",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        t = signed_token(headers[i], "{\"n\":1}");
        print_message("header %s\n", headers[i]);
        assert_int_equal(verify_a(t), HS_E_MALFORMED);
        free(t);
    }
    /* The helper itself makes tokens that verify, so the refusals above are
     * the header checks' doing. */
    t = signed_token("{\"alg\":\"ES256\",\"x-extra\":true}", "{\"n\":1}");
    assert_int_equal(verify_a(t), HS_OK);
    free(t);

    /* HS256 keyed with the public key (the classic confusion attack). */
    h = b64url_str("{\"alg\":\"HS256\"}");
    spki_len = (size_t)i2d_PUBKEY(fx.key_a, &spki);
    x = join3(h, p, "");
    x[strlen(x) - 1] = '\0'; /* "h.p" is the HMAC input */
    HMAC(EVP_sha256(), spki, (int)spki_len, (const unsigned char *)x, strlen(x), mac, &mac_len);
    mac_b64 = tu_b64url(mac, mac_len);
    free(x);
    x = join3(h, p, mac_b64);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    free(mac_b64);
    OPENSSL_free(spki);
    free(h);
    free(p);
}

static void test_jws_shape(void **state)
{
    char *t = sign_a("JWT", "{\"n\":1}"), *x, *h, *p, *s;
    size_t len = strlen(t);
    char *big;

    (void)state;
    split3(t, &h, &p, &s);
    /* Truncated by one and two characters, and at the last dot. */
    x = strndup(t, len - 1);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    x = strndup(t, len - 2);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    x = strndup(t, strlen(h) + 1 + strlen(p));
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    x = strndup(t, strlen(h));
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    assert_int_equal(verify_a(""), HS_E_MALFORMED);
    /* An extra dot, at the end or as a fourth part. */
    x = malloc(len + 3);
    snprintf(x, len + 3, "%s.", t);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    snprintf(x, len + 3, "%s.x", t);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    x = malloc(len + 2);
    snprintf(x, len + 2, "%s..%s.%s", h, p, s);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    /* An empty header. */
    x = join3("", p, s);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    /* Padding, or '+' '/', in any part. */
    s[85] = '=';
    x = join3(h, p, s);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    s[85] = '+';
    x = join3(h, p, s);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    x = malloc(strlen(t) + 3);
    snprintf(x, strlen(t) + 3, "%s.%s==.%s", h, p, s);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    /* Whitespace around the token. */
    x = malloc(len + 2);
    snprintf(x, len + 2, "%s\n", t);
    assert_int_equal(verify_a(x), HS_E_MALFORMED);
    free(x);
    /* A NUL inside the length given. */
    {
        uint8_t *out = NULL;
        size_t out_len;

        assert_int_equal(hs_jws_verify(t, len + 1, fx.der_a, fx.der_a_len, &out, &out_len, NULL),
                         HS_E_MALFORMED);
        assert_null(out);
    }

    /* Oversized input is refused before parsing. */
    big = malloc(HS_JWS_MAX + 2);
    memset(big, 'A', HS_JWS_MAX + 1);
    big[HS_JWS_MAX + 1] = '\0';
    assert_int_equal(verify_a(big), HS_E_TOO_LARGE);
    free(big);

    free(h);
    free(p);
    free(s);
    free(t);
}

static void test_jws_size_limits(void **state)
{
    size_t n = HS_JWS_MAX;
    uint8_t *payload = calloc(1, n);
    char *t = NULL;

    (void)state;
    memset(payload, 'x', n);
    assert_int_equal(hs_jws_sign(fx.signer, "JWT", payload, n, &t), HS_E_TOO_LARGE);
    assert_null(t);
    assert_int_equal(hs_jws_sign(fx.signer, "JWT", payload, 40000, &t), HS_OK);
    assert_true(strlen(t) <= HS_JWS_MAX);
    assert_int_equal(verify_a(t), HS_OK);
    free(t);
    assert_int_equal(hs_jws_sign(NULL, "JWT", payload, 1, &t), HS_E_INVALID_ARG);
    assert_int_equal(hs_jws_sign(fx.signer, "", payload, 1, &t), HS_E_INVALID_ARG);
    free(payload);
}

/* ---- Independent implementations: cjose, in both directions ---- */

static cjose_jwk_t *jwk_from_jwks(void)
{
    char *jwks = NULL, *key_json;
    json_t *j, *k;
    cjose_jwk_t *jwk;
    cjose_err err;

    assert_int_equal(hs_jwks(fx.signer, &jwks), HS_OK);
    j = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    k = json_array_get(json_object_get(j, "keys"), 0);
    assert_non_null(k);
    key_json = json_dumps(k, JSON_COMPACT);
    jwk = cjose_jwk_import(key_json, strlen(key_json), &err);
    assert_non_null(jwk);
    assert_int_equal(cjose_jwk_get_kty(jwk, &err), CJOSE_JWK_KTY_EC);
    free(key_json);
    json_decref(j);
    free(jwks);
    return jwk;
}

static bool cjose_accepts(cjose_jwk_t *jwk, const char *token)
{
    cjose_err err;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &err);
    bool ok;

    if (!jws)
        return false;
    ok = cjose_jws_verify(jws, jwk, &err);
    cjose_jws_release(jws);
    return ok;
}

static void test_jwks_contents(void **state)
{
    char *jwks = NULL, *x5c_expect, *kid = tu_kid(fx.cert_a);
    json_t *j, *k, *x5c;
    int n;

    (void)state;
    assert_int_equal(hs_jwks(fx.signer, &jwks), HS_OK);
    j = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
    k = json_array_get(json_object_get(j, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "kid")), kid);
    assert_int_equal(strlen(json_string_value(json_object_get(k, "x"))), 43);
    assert_int_equal(strlen(json_string_value(json_object_get(k, "y"))), 43);
    assert_null(json_object_get(k, "d"));
    x5c = json_object_get(k, "x5c");
    assert_int_equal(json_array_size(x5c), 1);
    /* x5c is standard, padded base64 of the certificate's DER. */
    x5c_expect = malloc(4 * ((fx.der_a_len + 2) / 3) + 1);
    n = EVP_EncodeBlock((unsigned char *)x5c_expect, fx.der_a, (int)fx.der_a_len);
    x5c_expect[n] = '\0';
    assert_string_equal(json_string_value(json_array_get(x5c, 0)), x5c_expect);
    free(x5c_expect);
    json_decref(j);
    free(jwks);
    free(kid);
}

static void test_cjose_verifies_ours(void **state)
{
    cjose_jwk_t *jwk = jwk_from_jwks();
    char *t = sign_a("JWT", "{\"ticket\":\"M-2024-0520-017\"}"), *x;

    (void)state;
    assert_true(cjose_accepts(jwk, t));
    /* cjose must also see a forgery, or this check proves nothing. */
    x = strdup(t);
    x[strlen(x) - 3] = x[strlen(x) - 3] == 'A' ? 'B' : 'A';
    assert_false(cjose_accepts(jwk, x));
    free(x);
    free(t);
    cjose_jwk_release(jwk);
}

static void test_we_verify_cjose(void **state)
{
    uint8_t d[32], x[32], y[32];
    BIGNUM *bn = NULL;
    cjose_jwk_ec_keyspec spec = { .crv = CJOSE_JWK_EC_P_256 };
    cjose_header_t *hdr;
    cjose_jwk_t *jwk;
    cjose_jws_t *jws;
    cjose_err err;
    const char *ser;
    const char *payload = "{\"from\":\"cjose\"}";
    uint8_t *out = NULL;
    size_t out_len;
    char kid[64];

    (void)state;
    assert_int_equal(EVP_PKEY_get_bn_param(fx.key_a, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, d, 32), 32);
    BN_clear_free(bn);
    bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(fx.key_a, OSSL_PKEY_PARAM_EC_PUB_X, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, x, 32), 32);
    BN_free(bn);
    bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(fx.key_a, OSSL_PKEY_PARAM_EC_PUB_Y, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, y, 32), 32);
    BN_free(bn);
    spec.d = d;
    spec.dlen = 32;
    spec.x = x;
    spec.xlen = 32;
    spec.y = y;
    spec.ylen = 32;
    jwk = cjose_jwk_create_EC_spec(&spec, &err);
    assert_non_null(jwk);
    hdr = cjose_header_new(&err);
    assert_true(cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err));
    jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &err);
    assert_non_null(jws);
    assert_true(cjose_jws_export(jws, &ser, &err));

    assert_int_equal(hs_jws_verify(ser, strlen(ser), fx.der_a, fx.der_a_len, &out, &out_len, kid),
                     HS_OK);
    assert_int_equal(out_len, strlen(payload));
    assert_memory_equal(out, payload, out_len);
    assert_string_equal(kid, "");
    free(out);
    assert_int_equal(verify_with(ser, fx.der_b, fx.der_b_len), HS_E_SIGNATURE);

    cjose_jws_release(jws);
    cjose_header_release(hdr);
    cjose_jwk_release(jwk);
    OPENSSL_cleanse(d, sizeof(d));
}

/* ---- Threads ---- */

#define THREADS    8
#define PER_THREAD 100

static void *sign_many(void *arg)
{
    long *failures = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        char payload[64], *t = NULL;
        uint8_t *out = NULL;
        size_t out_len;

        snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
        if (hs_jws_sign(fx.signer, "JWT", (const uint8_t *)payload, strlen(payload), &t) != HS_OK ||
            hs_jws_verify(t, strlen(t), fx.der_a, fx.der_a_len, &out, &out_len, NULL) != HS_OK ||
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
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_round_trip_against_openssl),
        cmocka_unit_test(test_b64url_rejects),
        cmocka_unit_test(test_b64url_every_byte),
        cmocka_unit_test(test_signer_kid_and_accessors),
        cmocka_unit_test(test_signer_refuses_bad_keys),
        cmocka_unit_test(test_signer_raw_sign_verify),
        cmocka_unit_test(test_jws_round_trip),
        cmocka_unit_test(test_jws_typ_is_escaped),
        cmocka_unit_test(test_jws_tampering),
        cmocka_unit_test(test_jws_refuses_other_algorithms),
        cmocka_unit_test(test_jws_shape),
        cmocka_unit_test(test_jws_size_limits),
        cmocka_unit_test(test_jwks_contents),
        cmocka_unit_test(test_cjose_verifies_ours),
        cmocka_unit_test(test_we_verify_cjose),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
