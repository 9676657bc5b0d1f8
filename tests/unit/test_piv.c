/* PIV object parsers and the welfare-card authenticity checks against genuine, expired, revoked,
 * forged and cloned credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cl/piv.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "pki.h"

/* ---- parsers ---------------------------------------------------------- */

static void test_apt(void **state)
{
    static const uint8_t apt[] = { 0x61, 0x1E, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79,
                                   0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x50, 0x06, 'H',
                                   'u',  'i',  'm',  'i',  'n',  0xAC, 0x03, 0x80, 0x01, 0x11 };
    struct cl_piv_apt a;

    (void)state;
    assert_int_equal(cl_piv_parse_apt(apt, sizeof(apt), &a), CL_OK);
    assert_int_equal(a.aid_len, 6);
    assert_string_equal(a.label, "Huimin");
    assert_int_equal(a.nalgs, 1);
    assert_int_equal(a.algs[0], CL_PIV_ALG_ECC_P256);
    /* Not a template; a template cut short. */
    assert_int_equal(cl_piv_parse_apt(apt + 2, 8, &a), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_piv_parse_apt(apt, 10, &a), CL_E_TLV_TRUNCATED);
}

static size_t build_chuid(uint8_t *buf, size_t cap, const char *expiry, const uint8_t *sig,
                          size_t sig_len)
{
    struct hm_writer w = hm_writer_make(buf, cap);
    uint8_t fascn[25], guid[16];

    memset(fascn, 0xD4, sizeof(fascn));
    for (size_t i = 0; i < sizeof(guid); i++)
        guid[i] = (uint8_t)(0xA0 + i);
    cl_tlv_put(&w, 0x30, fascn, sizeof(fascn));
    cl_tlv_put(&w, 0x34, guid, sizeof(guid));
    cl_tlv_put(&w, 0x35, expiry, 8);
    if (sig)
        cl_tlv_put(&w, 0x3E, sig, sig_len);
    cl_tlv_put(&w, 0xFE, NULL, 0);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

static void test_chuid(void **state)
{
    uint8_t buf[512];
    static const uint8_t sig[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    struct cl_piv_chuid c;
    size_t n;

    (void)state;
    n = build_chuid(buf, sizeof(buf), "20361231", sig, sizeof(sig));
    assert_int_equal(cl_piv_parse_chuid(buf, n, &c), CL_OK);
    assert_true(c.has_fascn);
    assert_true(c.has_guid);
    assert_int_equal(c.guid[0], 0xA0);
    assert_string_equal(c.expiry, "20361231");
    assert_ptr_equal(c.signature, buf + n - 2 - sizeof(sig));
    assert_int_equal(c.signature_len, sizeof(sig));
    assert_int_equal(c.signed_len, 2 + 25 + 2 + 16 + 2 + 8); /* everything before 3E */
    /* Unsigned: the whole CHUID is the signed part, no signature. */
    n = build_chuid(buf, sizeof(buf), "20361231", NULL, 0);
    assert_int_equal(cl_piv_parse_chuid(buf, n, &c), CL_OK);
    assert_null(c.signature);
    /* Expiry not digits; GUID of the wrong length; truncated. */
    n = build_chuid(buf, sizeof(buf), "2036DEC1", NULL, 0);
    assert_int_equal(cl_piv_parse_chuid(buf, n, &c), CL_E_DATA_MALFORMED);
    buf[2 + 25 + 1] = 15;
    assert_int_not_equal(cl_piv_parse_chuid(buf, n, &c), CL_OK);
    n = build_chuid(buf, sizeof(buf), "20361231", NULL, 0);
    assert_int_equal(cl_piv_parse_chuid(buf, n - 3, &c), CL_E_TLV_TRUNCATED);
}

static void test_printed(void **state)
{
    uint8_t buf[256];
    struct hm_writer w = hm_writer_make(buf, sizeof(buf));
    struct cl_piv_printed p;
    static const char name[] = "张秀英";

    (void)state;
    cl_tlv_put(&w, 0x01, name, strlen(name));
    cl_tlv_put(&w, 0x02, "Welfare", 7);
    cl_tlv_put(&w, 0x04, "2031DEC31", 9);
    cl_tlv_put(&w, 0x05, "HM-000123", 9);
    cl_tlv_put(&w, 0xFE, NULL, 0);
    assert_int_equal(cl_piv_parse_printed(buf, w.len, &p), CL_OK);
    assert_string_equal(p.name, name);
    assert_string_equal(p.expiry, "2031DEC31");
    assert_string_equal(p.serial, "HM-000123");
    /* A control character in the name (terminal escape) is refused. */
    buf[2] = 0x1B;
    assert_int_equal(cl_piv_parse_printed(buf, w.len, &p), CL_E_DATA_MALFORMED);
    /* No name at all. */
    assert_int_equal(cl_piv_parse_printed(buf + 2 + strlen(name), w.len - 2 - strlen(name), &p),
                     CL_E_DATA_MALFORMED);
}

static void test_discovery(void **state)
{
    static const uint8_t d[] = { 0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00 };
    struct cl_piv_discovery out;

    (void)state;
    assert_int_equal(cl_piv_parse_discovery(d, sizeof(d), &out), CL_OK);
    assert_int_equal(out.aid_len, 11);
    assert_int_equal(out.pin_policy, 0x4000);
    assert_int_equal(cl_piv_parse_discovery(d, sizeof(d) - 1, &out), CL_E_TLV_TRUNCATED);
}

/* A certificate object around a (fake, but DER-shaped) certificate. */
static size_t cert_object(uint8_t *buf, size_t cap, const uint8_t *cert, size_t n, int info)
{
    struct hm_writer w = hm_writer_make(buf, cap);
    uint8_t b = (uint8_t)info;

    cl_tlv_put(&w, 0x70, cert, n);
    if (info >= 0)
        cl_tlv_put(&w, 0x71, &b, 1);
    cl_tlv_put(&w, 0xFE, NULL, 0);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

static size_t gzip_bytes(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;

    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    deflateEnd(&z);
    return cap - z.avail_out;
}

static void test_cert_object(void **state)
{
    static uint8_t cert[1000], obj[12000], gz[12000], der[CL_PIV_CERT_MAX], big[20000];
    size_t n, len, gzlen;

    (void)state;
    cert[0] = 0x30;
    cert[1] = 0x82;
    cert[2] = (1000 - 4) >> 8;
    cert[3] = (1000 - 4) & 0xFF;
    for (size_t i = 4; i < sizeof(cert); i++)
        cert[i] = (uint8_t)(i % 7);
    n = cert_object(obj, sizeof(obj), cert, sizeof(cert), 0);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_OK);
    assert_int_equal(len, sizeof(cert));
    assert_memory_equal(der, cert, len);
    /* Compressed (CertInfo bit 0) */
    gzlen = gzip_bytes(cert, sizeof(cert), gz, sizeof(gz));
    n = cert_object(obj, sizeof(obj), gz, gzlen, 1);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_OK);
    assert_int_equal(len, sizeof(cert));
    assert_memory_equal(der, cert, len);
    /* A gzip bomb: 20000 bytes inflate beyond CL_PIV_CERT_MAX. */
    memset(big, 0, sizeof(big));
    big[0] = 0x30;
    gzlen = gzip_bytes(big, sizeof(big), gz, sizeof(gz));
    n = cert_object(obj, sizeof(obj), gz, gzlen, 1);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_E_DATA_MALFORMED);
    /* Corrupt gzip; unknown CertInfo bits; not a SEQUENCE; no 70 at all. */
    gzlen = gzip_bytes(cert, sizeof(cert), gz, sizeof(gz));
    gz[gzlen / 2] ^= 0xFF;
    n = cert_object(obj, sizeof(obj), gz, gzlen, 1);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_E_DATA_MALFORMED);
    n = cert_object(obj, sizeof(obj), cert, sizeof(cert), 4);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_E_DATA_MALFORMED);
    n = cert_object(obj, sizeof(obj), cert + 4, 100, 0);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, sizeof(der), &len), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_piv_parse_cert_object(obj + n - 2, 2, der, sizeof(der), &len),
                     CL_E_DATA_MALFORMED);
    /* The destination is too small for the certificate. */
    n = cert_object(obj, sizeof(obj), cert, sizeof(cert), 0);
    assert_int_equal(cl_piv_parse_cert_object(obj, n, der, 999, &len), CL_E_DATA_MALFORMED);
}

static void test_pubkey(void **state)
{
    uint8_t raw[80] = { 0x7F, 0x49, 0x43, 0x86, 0x41, 0x04 };
    struct cl_piv_pubkey pk;

    (void)state;
    assert_int_equal(cl_piv_parse_pubkey(raw, 70, CL_PIV_ALG_ECC_P256, &pk), CL_OK);
    assert_int_equal(pk.point_len, 65);
    /* A compressed point, a point of the wrong size, a wrong outer tag. */
    raw[5] = 0x02;
    assert_int_equal(cl_piv_parse_pubkey(raw, 70, CL_PIV_ALG_ECC_P256, &pk), CL_E_DATA_MALFORMED);
    raw[5] = 0x04;
    assert_int_equal(cl_piv_parse_pubkey(raw, 70, CL_PIV_ALG_ECC_P384, &pk), CL_E_DATA_MALFORMED);
    raw[1] = 0x48;
    assert_int_equal(cl_piv_parse_pubkey(raw, 70, CL_PIV_ALG_ECC_P256, &pk), CL_E_DATA_MALFORMED);
}

/* ---- authenticity ------------------------------------------------------ */

struct world {
    char dir[64];
    char ca_file[96], crl_file[96];
    struct pki_ca ca, other;
    EVP_PKEY *card_key;
};

static struct world W;

static int world_setup(void **state)
{
    FILE *f;
    X509_CRL *crl;
    uint64_t revoked[] = { 666 };

    (void)state;
    snprintf(W.dir, sizeof(W.dir), "/tmp/test_piv.XXXXXX");
    if (!mkdtemp(W.dir))
        return -1;
    snprintf(W.ca_file, sizeof(W.ca_file), "%s/ca.pem", W.dir);
    snprintf(W.crl_file, sizeof(W.crl_file), "%s/crl.pem", W.dir);
    if (pki_ca_create(&W.ca, "Huimin Test Issuer CA", 3650) ||
        pki_ca_create(&W.other, "Someone Else CA", 3650))
        return -1;
    f = fopen(W.ca_file, "w");
    if (!f || PEM_write_X509(f, W.ca.cert) != 1)
        return -1;
    fclose(f);
    crl = pki_crl(&W.ca, revoked, 1, 30);
    f = fopen(W.crl_file, "w");
    if (!crl || !f || PEM_write_X509_CRL(f, crl) != 1)
        return -1;
    fclose(f);
    X509_CRL_free(crl);
    W.card_key = pki_ec_key();
    return W.card_key ? 0 : -1;
}

static int world_teardown(void **state)
{
    (void)state;
    unlink(W.ca_file);
    unlink(W.crl_file);
    rmdir(W.dir);
    pki_ca_free(&W.ca);
    pki_ca_free(&W.other);
    EVP_PKEY_free(W.card_key);
    return 0;
}

static const struct pki_holder holder = { "张秀英", "WF3301060000123", "杭州市民政局" };

/* Evidence as a card would give it: cert by ca, CHUID signed by ca, challenge signed by key. */
static void make_evidence(struct cl_piv_evidence *ev, const struct pki_ca *ca, EVP_PKEY *cert_key,
                          EVP_PKEY *signing_key, uint64_t serial, int nb_days, int days,
                          uint32_t ku)
{
    X509 *x = pki_issue(ca, cert_key, &holder, serial, nb_days, days, ku);
    uint8_t *der = NULL, *sig = NULL, body[256];
    size_t der_len, sig_len, body_len;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    memset(ev, 0, sizeof(*ev));
    assert_non_null(x);
    assert_int_equal(pki_cert_der(x, &der, &der_len), 0);
    memcpy(ev->cert, der, der_len);
    ev->cert_len = der_len;
    OPENSSL_free(der);
    X509_free(x);
    /* CHUID: signed part then 3E signature then FE. */
    body_len = build_chuid(body, sizeof(body), "20361231", NULL, 0) - 2;
    assert_int_equal(pki_sign_chuid(ca, body, body_len, &sig, &sig_len), 0);
    {
        struct hm_writer w = hm_writer_make(ev->chuid, sizeof(ev->chuid));

        hm_writer_bytes(&w, body, body_len);
        cl_tlv_put(&w, 0x3E, sig, sig_len);
        cl_tlv_put(&w, 0xFE, NULL, 0);
        assert_true(hm_writer_ok(&w));
        ev->chuid_len = w.len;
    }
    OPENSSL_free(sig);
    /* The challenge, signed as the card does (ECDSA over SHA-256). */
    for (size_t i = 0; i < 32; i++)
        ev->challenge[i] = (uint8_t)(i * 7 + 1);
    ev->challenge_len = 32;
    ev->alg = CL_PIV_ALG_ECC_P256;
    ev->sig_len = sizeof(ev->sig);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signing_key), 1);
    assert_int_equal(EVP_DigestSign(md, ev->sig, &ev->sig_len, ev->challenge, 32), 1);
    EVP_MD_CTX_free(md);
}

static void verify(const struct cl_piv_evidence *ev, struct cl_verdict *v, bool with_crl)
{
    struct cl_piv_trust t = { W.ca_file, with_crl ? W.crl_file : NULL, 0 };

    assert_int_equal(cl_piv_verify(&t, ev, v), CL_OK);
}

static enum cl_check_state state_of(const struct cl_verdict *v, const char *name)
{
    const struct cl_check *c = cl_verdict_get(v, name);

    assert_non_null(c);
    return c->state;
}

static void test_genuine(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;
    char name[64], no[32];

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1001, -1, 365, KU_DIGITAL_SIGNATURE);
    verify(&ev, &v, true);
    for (size_t i = 0; i < v.n; i++)
        assert_int_equal(v.checks[i].state, CL_CHECK_PASSED);
    assert_int_equal(v.n, 6);
    assert_true(cl_piv_genuine(&v));
    assert_int_equal(cl_piv_cert_holder(ev.cert, ev.cert_len, name, sizeof(name), no, sizeof(no)),
                     CL_OK);
    assert_string_equal(name, "张秀英");
    assert_string_equal(no, "WF3301060000123");
    /* Without a CRL revocation is "not checked", and the card still genuine. */
    verify(&ev, &v, false);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_NOT_CHECKED);
    assert_true(cl_piv_genuine(&v));
}

static void test_expired(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1002, -400, 30, KU_DIGITAL_SIGNATURE);
    verify(&ev, &v, true);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "validity"), CL_CHECK_FAILED);
    assert_non_null(strstr(cl_verdict_get(&v, "validity")->reason, "expired"));
    assert_false(cl_piv_genuine(&v));
    assert_string_equal(cl_verdict_first_failure(&v)->name, "validity");
}

static void test_revoked(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 666, -1, 365, KU_DIGITAL_SIGNATURE);
    verify(&ev, &v, true);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_FAILED);
    assert_non_null(strstr(cl_verdict_get(&v, "revocation")->reason, "revoked"));
    assert_false(cl_piv_genuine(&v));
}

static void test_forged(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;

    (void)state;
    /* Certificate and CHUID by another CA, the card holds the matching key. */
    make_evidence(&ev, &W.other, W.card_key, W.card_key, 1003, -1, 365, KU_DIGITAL_SIGNATURE);
    verify(&ev, &v, true);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_FAILED);
    assert_int_equal(state_of(&v, "chuid"), CL_CHECK_FAILED);
    assert_int_equal(state_of(&v, "possession"), CL_CHECK_PASSED);
    assert_string_equal(cl_verdict_first_failure(&v)->name, "chain");
    assert_false(cl_piv_genuine(&v));
}

static void test_clone(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;
    EVP_PKEY *other = pki_ec_key();

    (void)state;
    /* The genuine certificate, but the card signs with another key. */
    make_evidence(&ev, &W.ca, W.card_key, other, 1004, -1, 365, KU_DIGITAL_SIGNATURE);
    verify(&ev, &v, true);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_PASSED);
    assert_int_equal(state_of(&v, "possession"), CL_CHECK_FAILED);
    assert_string_equal(cl_verdict_first_failure(&v)->name, "possession");
    assert_false(cl_piv_genuine(&v));
    /* A replayed signature over another challenge fails the same way. */
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1004, -1, 365, KU_DIGITAL_SIGNATURE);
    ev.challenge[0] ^= 1;
    verify(&ev, &v, true);
    assert_int_equal(state_of(&v, "possession"), CL_CHECK_FAILED);
    EVP_PKEY_free(other);
}

static void test_chuid_and_usage(void **state)
{
    static struct cl_piv_evidence ev;
    struct cl_verdict v;

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1005, -1, 365, KU_KEY_AGREEMENT);
    /* A byte of the GUID changed after signing. */
    ev.chuid[2 + 25 + 2] ^= 0x01;
    verify(&ev, &v, false);
    assert_int_equal(state_of(&v, "chuid"), CL_CHECK_FAILED);
    assert_int_equal(state_of(&v, "key-usage"), CL_CHECK_FAILED);
    /* No CHUID: not checked. No signature: possession not checked. */
    ev.chuid_len = 0;
    ev.sig_len = 0;
    verify(&ev, &v, false);
    assert_int_equal(state_of(&v, "chuid"), CL_CHECK_NOT_CHECKED);
    assert_int_equal(state_of(&v, "possession"), CL_CHECK_NOT_CHECKED);
    assert_false(cl_piv_genuine(&v));
    /* Garbage instead of a certificate. */
    memset(ev.cert, 0x30, 10);
    ev.cert_len = 10;
    verify(&ev, &v, false);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_FAILED);
    /* A CA file that does not exist is an error, not a verdict. */
    {
        struct cl_piv_trust t = { "/nonexistent/ca.pem", NULL, 0 };

        assert_int_equal(cl_piv_verify(&t, &ev, &v), CL_E_IO);
    }
}

/* Writes a CRL by ca listing serials, valid for days, into a file of the world's folder. */
static void write_crl(const char *name, const struct pki_ca *ca, uint64_t serial, int days,
                      bool tamper, char *path, size_t cap)
{
    X509_CRL *crl = pki_crl(ca, &serial, 1, days);
    unsigned char *der = NULL;
    const unsigned char *p;
    int n;
    FILE *f;

    assert_non_null(crl);
    if (tamper) {
        /* The last byte of the signature changed after signing: it parses, it does not verify. */
        n = i2d_X509_CRL(crl, &der);
        assert_true(n > 0);
        der[n - 1] ^= 0x01;
        X509_CRL_free(crl);
        p = der;
        crl = d2i_X509_CRL(NULL, &p, n);
        OPENSSL_free(der);
        assert_non_null(crl);
    }
    snprintf(path, cap, "%s/%s", W.dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509_CRL(f, crl), 1);
    assert_int_equal(fclose(f), 0);
    X509_CRL_free(crl);
}

/* The verdict of ev against the world's CA with the CRL file crl, at when (0: now). */
static void verify_crl(const struct cl_piv_evidence *ev, const char *crl, int64_t when,
                       struct cl_verdict *v)
{
    cl_piv_verifier *vf = NULL;

    assert_int_equal(cl_piv_verifier_new(W.ca_file, crl, &vf), CL_OK);
    assert_int_equal(cl_piv_verify_with(vf, when, ev, NULL, 0, v, NULL), CL_OK);
    cl_piv_verifier_free(vf);
}

/* A CRL that cannot be trusted never says "not revoked": the status is unknown, a failure. */
static void test_crl_that_cannot_be_trusted(void **state)
{
    static struct cl_piv_evidence ev, revoked;
    struct cl_verdict v;
    char path[160];
    const struct cl_check *c;

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1101, -1, 3000, KU_DIGITAL_SIGNATURE);
    make_evidence(&revoked, &W.ca, W.card_key, W.card_key, 4242, -1, 3000, KU_DIGITAL_SIGNATURE);
    /* A good CRL: the listed card is revoked, the other one is not. */
    write_crl("good.pem", &W.ca, 4242, 30, false, path, sizeof(path));
    verify_crl(&ev, path, 0, &v);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_PASSED);
    assert_true(cl_piv_genuine(&v));
    verify_crl(&revoked, path, 0, &v);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_FAILED);
    assert_non_null(strstr(cl_verdict_get(&v, "revocation")->reason, "revoked"));
    /* The same CRL after its next update was due: unknown, for both. */
    verify_crl(&ev, path, (int64_t)time(NULL) + 40 * 86400, &v);
    c = cl_verdict_get(&v, "revocation");
    assert_int_equal(c->state, CL_CHECK_FAILED);
    assert_non_null(strstr(c->reason, "unknown"));
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_PASSED);
    /* ...and before it was issued. */
    verify_crl(&ev, path, (int64_t)time(NULL) - 86400, &v);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_FAILED);
    /* Signed by another CA (in its name, too). */
    write_crl("other.pem", &W.other, 4242, 30, false, path, sizeof(path));
    verify_crl(&ev, path, 0, &v);
    c = cl_verdict_get(&v, "revocation");
    assert_int_equal(c->state, CL_CHECK_FAILED);
    assert_non_null(strstr(c->reason, "unknown"));
    assert_false(cl_piv_genuine(&v));
    verify_crl(&revoked, path, 0, &v);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_FAILED);
    /* The issuer's CRL with its signature damaged. */
    write_crl("tampered.pem", &W.ca, 4242, 30, true, path, sizeof(path));
    verify_crl(&ev, path, 0, &v);
    c = cl_verdict_get(&v, "revocation");
    assert_int_equal(c->state, CL_CHECK_FAILED);
    assert_non_null(strstr(c->reason, "unknown"));
    assert_false(cl_piv_genuine(&v));
    /* A forged card is "not issued by the CA" whatever the CRL says. */
    make_evidence(&ev, &W.other, W.card_key, W.card_key, 4242, -1, 3000, KU_DIGITAL_SIGNATURE);
    write_crl("good.pem", &W.ca, 4242, 30, false, path, sizeof(path));
    verify_crl(&ev, path, 0, &v);
    assert_int_equal(state_of(&v, "chain"), CL_CHECK_FAILED);
    assert_int_equal(state_of(&v, "revocation"), CL_CHECK_NOT_CHECKED);
    assert_string_equal(cl_verdict_first_failure(&v)->name, "chain");
    unlink(path);
    snprintf(path, sizeof(path), "%s/other.pem", W.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/tampered.pem", W.dir);
    unlink(path);
}

static void test_sign_input(void **state)
{
    static struct cl_piv_evidence ev;
    uint8_t in[512], alg = 0;
    size_t n;
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *x;
    uint8_t *der;
    size_t der_len;

    (void)state;
    make_evidence(&ev, &W.ca, W.card_key, W.card_key, 1006, -1, 365, KU_DIGITAL_SIGNATURE);
    assert_int_equal(cl_piv_sign_input(ev.cert, ev.cert_len, (const uint8_t *)"abc", 3, &alg, in,
                                       sizeof(in), &n),
                     CL_OK);
    assert_int_equal(alg, CL_PIV_ALG_ECC_P256);
    assert_int_equal(n, 32);
    assert_int_equal(in[0], 0xBA); /* SHA-256("abc") = BA7816BF... */
    assert_int_equal(in[1], 0x78);
    assert_int_equal(
        cl_piv_check_signature(ev.cert, ev.cert_len, ev.challenge, 32, ev.sig, ev.sig_len), CL_OK);
    ev.sig[ev.sig_len - 1] ^= 1;
    assert_int_equal(
        cl_piv_check_signature(ev.cert, ev.cert_len, ev.challenge, 32, ev.sig, ev.sig_len),
        CL_E_SIGNATURE_INVALID);
    /* RSA-2048: the PKCS#1 v1.5 block. */
    assert_non_null(rsa);
    x = pki_issue(&W.ca, rsa, &holder, 1007, -1, 365, KU_DIGITAL_SIGNATURE);
    assert_non_null(x);
    assert_int_equal(pki_cert_der(x, &der, &der_len), 0);
    assert_int_equal(
        cl_piv_sign_input(der, der_len, (const uint8_t *)"abc", 3, &alg, in, sizeof(in), &n),
        CL_OK);
    assert_int_equal(alg, CL_PIV_ALG_RSA2048);
    assert_int_equal(n, 256);
    assert_int_equal(in[0], 0x00);
    assert_int_equal(in[1], 0x01);
    assert_int_equal(in[256 - 51 - 1], 0x00);
    assert_int_equal(in[256 - 32], 0xBA);
    assert_int_equal(cl_piv_sign_input(der, der_len, (const uint8_t *)"abc", 3, &alg, in, 100, &n),
                     CL_E_BUFFER_TOO_SMALL);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(rsa);
}

int main(void)
{
    const struct CMUnitTest parsers[] = {
        cmocka_unit_test(test_apt),         cmocka_unit_test(test_chuid),
        cmocka_unit_test(test_printed),     cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_cert_object), cmocka_unit_test(test_pubkey),
    };
    const struct CMUnitTest checks[] = {
        cmocka_unit_test(test_genuine),    cmocka_unit_test(test_expired),
        cmocka_unit_test(test_revoked),    cmocka_unit_test(test_forged),
        cmocka_unit_test(test_clone),      cmocka_unit_test(test_chuid_and_usage),
        cmocka_unit_test(test_sign_input), cmocka_unit_test(test_crl_that_cannot_be_trusted),
    };
    int failed = cmocka_run_group_tests(parsers, NULL, NULL);

    return failed + cmocka_run_group_tests(checks, world_setup, world_teardown);
}
