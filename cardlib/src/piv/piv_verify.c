/*
 * Decides whether a welfare card is genuine: certificate chain, validity, key
 * usage, revocation, CHUID signature and proof of the 9E key, one verdict
 * each; the only PIV file that uses OpenSSL.
 */
#include "cl/piv.h"

#include "cl/tlv.h"
#include "hm/util.h"

#include "ossl.h"

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
static const uint8_t sha256_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

static X509 *parse_cert(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (!der || len == 0 || len > CL_PIV_CERT_MAX)
        return NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) {
        X509_free(x); /* trailing bytes */
        return NULL;
    }
    return x;
}

cl_rc cl_piv_sign_input(const uint8_t *cert, size_t cert_len, const uint8_t *msg, size_t msg_len,
                        uint8_t *alg, uint8_t *out, size_t cap, size_t *out_len)
{
    X509 *x = parse_cert(cert, cert_len);
    EVP_PKEY *pk;
    uint8_t digest[32];
    cl_rc rc = CL_OK;

    *out_len = 0;
    if (!x)
        return CL_E_CERT_INVALID;
    pk = X509_get0_pubkey(x);
    if (!pk || !EVP_Digest(msg, msg_len, digest, NULL, EVP_sha256(), NULL)) {
        X509_free(x);
        return CL_E_CRYPTO;
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        char group[32] = "";

        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
        if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) {
            rc = CL_E_NOT_SUPPORTED;
        } else if (cap < sizeof(digest)) {
            rc = CL_E_BUFFER_TOO_SMALL;
        } else {
            *alg = CL_PIV_ALG_ECC_P256;
            memcpy(out, digest, sizeof(digest));
            *out_len = sizeof(digest);
        }
    } else if (EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == 2048) {
        /* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 DigestInfo */
        size_t k = 256, t = sizeof(sha256_prefix) + sizeof(digest);

        if (cap < k) {
            rc = CL_E_BUFFER_TOO_SMALL;
        } else {
            *alg = CL_PIV_ALG_RSA2048;
            out[0] = 0x00;
            out[1] = 0x01;
            memset(out + 2, 0xFF, k - t - 3);
            out[k - t - 1] = 0x00;
            memcpy(out + k - t, sha256_prefix, sizeof(sha256_prefix));
            memcpy(out + k - sizeof(digest), digest, sizeof(digest));
            *out_len = k;
        }
    } else {
        rc = CL_E_NOT_SUPPORTED;
    }
    X509_free(x);
    return rc;
}

/* 1: valid, 0: does not verify, -1: could not check. */
static int verify_sig(X509 *x, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                      size_t sig_len)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int r = -1;

    if (pk && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1)
        r = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1 ? 1 : 0;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return r;
}

cl_rc cl_piv_check_signature(const uint8_t *cert, size_t cert_len, const uint8_t *msg,
                             size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    X509 *x = parse_cert(cert, cert_len);
    int r;

    if (!x)
        return CL_E_CERT_INVALID;
    r = verify_sig(x, msg, msg_len, sig, sig_len);
    X509_free(x);
    return r == 1 ? CL_OK : r == 0 ? CL_E_SIGNATURE_INVALID : CL_E_CRYPTO;
}

struct cl_piv_verifier {
    atomic_int refs;
    X509_STORE *store;    /* the CA file's certificates; never changed after loading */
    STACK_OF(X509) * cas; /* the same certificates, for the CHUID's own store */
    X509_CRL *crl;        /* or NULL: revocation not checked */
    /*
     * Why the CRL cannot be trusted ("" when it can): its signature is checked
     * once, here, against the CA that issued it, instead of in every chain
     * verification (OpenSSL checks a CRL's signature each time it is used).
     */
    char crl_problem[96];
};

/* Checks the CRL once: issued and signed by a CA of the file, with no extension we ignore. */
static void check_crl(cl_piv_verifier *vf)
{
    const X509_NAME *issuer = X509_CRL_get_issuer(vf->crl);
    X509 *ca = NULL;

    for (int i = 0; i < sk_X509_num(vf->cas); i++)
        if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(vf->cas, i)), issuer) == 0) {
            ca = sk_X509_value(vf->cas, i);
            break;
        }
    if (!ca)
        snprintf(vf->crl_problem, sizeof(vf->crl_problem), "the CRL is not from the issuer CA");
    else if (X509_CRL_verify(vf->crl, X509_get0_pubkey(ca)) != 1)
        snprintf(vf->crl_problem, sizeof(vf->crl_problem), "the CRL's signature does not verify");
    else if (X509_CRL_get_ext_by_critical(vf->crl, 1, -1) >= 0)
        /* Delta CRLs, distribution points: not what the issuer writes, so never half-read. */
        snprintf(vf->crl_problem, sizeof(vf->crl_problem),
                 "the CRL has a critical extension this verifier does not handle");
    ERR_clear_error();
}

/* A chain-verified certificate's revocation by the CRL checked at load, at now. */
static void check_revocation(struct cl_verdict *v, const cl_piv_verifier *vf, X509 *x, time_t now)
{
    X509_REVOKED *entry = NULL;
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(vf->crl);
    time_t t = now;

    if (vf->crl_problem[0])
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED, "revocation status unknown (%s)",
                       vf->crl_problem);
    else if (X509_NAME_cmp(X509_get_issuer_name(x), X509_CRL_get_issuer(vf->crl)) != 0)
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED,
                       "revocation status unknown (the CRL is not from the card's issuer)");
    else if (X509_cmp_time(X509_CRL_get0_lastUpdate(vf->crl), &t) > 0)
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED,
                       "revocation status unknown (the CRL is not yet valid)");
    else if (!next || X509_cmp_time(next, &t) < 0)
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED,
                       "revocation status unknown (the CRL has expired: a new one is due)");
    else if (X509_CRL_get0_by_cert(vf->crl, &entry, x) == 1)
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED, "the card has been revoked");
    else if (entry) /* listed as removeFromCRL: only a delta CRL says that */
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED, "revocation status unknown");
    else
        cl_verdict_set(v, "revocation", CL_CHECK_PASSED, NULL);
    ERR_clear_error();
}

cl_rc cl_piv_verifier_new(const char *ca_file, const char *crl_file, cl_piv_verifier **out)
{
    cl_piv_verifier *vf;

    if (!out)
        return CL_E_INVALID_ARG;
    *out = NULL;
    if (!ca_file)
        return CL_E_INVALID_ARG;
    vf = calloc(1, sizeof(*vf));
    if (!vf)
        return CL_E_NO_MEMORY;
    atomic_init(&vf->refs, 1);
    vf->store = X509_STORE_new();
    if (!vf->store || X509_STORE_load_file(vf->store, ca_file) != 1 ||
        !(vf->cas = X509_STORE_get1_all_certs(vf->store))) {
        cl_piv_verifier_free(vf);
        ERR_clear_error();
        return CL_E_IO;
    }
    if (crl_file) {
        FILE *f = fopen(crl_file, "r");

        if (f) {
            vf->crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
            fclose(f);
        }
        if (!vf->crl) {
            cl_piv_verifier_free(vf);
            ERR_clear_error();
            return CL_E_IO;
        }
        check_crl(vf);
    }
    *out = vf;
    return CL_OK;
}

cl_piv_verifier *cl_piv_verifier_ref(cl_piv_verifier *vf)
{
    if (vf)
        atomic_fetch_add(&vf->refs, 1);
    return vf;
}

void cl_piv_verifier_free(cl_piv_verifier *vf)
{
    if (!vf || atomic_fetch_sub(&vf->refs, 1) != 1)
        return;
    X509_STORE_free(vf->store);
    sk_X509_pop_free(vf->cas, X509_free);
    X509_CRL_free(vf->crl);
    free(vf);
}

void cl_piv_cert_info_clear(struct cl_piv_cert_info *info)
{
    if (!info)
        return;
    EVP_PKEY_free(info->key);
    memset(info, 0, sizeof(*info));
}

/*
 * Verifies x's chain to the store, without time (an expired card reads as
 * "validity", not "chain"). Returns the X509_V_ code.
 */
static int chain_verify(X509_STORE *store, X509 *x)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok, err = X509_V_ERR_UNSPECIFIED;

    if (!ctx || X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
        X509_STORE_CTX_free(ctx);
        return err;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
    ok = X509_verify_cert(ctx);
    err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return err;
}

static void check_validity(struct cl_verdict *v, X509 *x, time_t now)
{
    time_t t = now;

    if (X509_cmp_time(X509_get0_notBefore(x), &t) > 0)
        cl_verdict_set(v, "validity", CL_CHECK_FAILED, "the certificate is not valid yet");
    else if (X509_cmp_time(X509_get0_notAfter(x), &t) < 0)
        cl_verdict_set(v, "validity", CL_CHECK_FAILED, "the certificate has expired");
    else
        cl_verdict_set(v, "validity", CL_CHECK_PASSED, NULL);
}

static void check_key_usage(struct cl_verdict *v, X509 *x)
{
    uint32_t ku = X509_get_key_usage(x);

    if (ku == UINT32_MAX)
        cl_verdict_set(v, "key-usage", CL_CHECK_FAILED, "the certificate has no key usage");
    else if (!(ku & KU_DIGITAL_SIGNATURE))
        cl_verdict_set(v, "key-usage", CL_CHECK_FAILED,
                       "the certificate does not allow digital signatures");
    else
        cl_verdict_set(v, "key-usage", CL_CHECK_PASSED, NULL);
}

/* The CHUID's CMS signature is checked against a store of its own (the
 * shared one's certificates), since CMS_verify() takes its time from the
 * store and the shared store must not change while other threads use it. */
static void check_chuid(struct cl_verdict *v, const struct cl_piv_evidence *ev,
                        const cl_piv_verifier *vf, time_t now)
{
    X509_STORE *store = NULL;
    struct cl_piv_chuid ch;
    const unsigned char *p;
    CMS_ContentInfo *cms = NULL;
    BIO *content = NULL;
    X509_VERIFY_PARAM *param;
    char today[9], reason[120];
    struct tm tm;

    if (ev->chuid_len == 0) {
        cl_verdict_set(v, "chuid", CL_CHECK_NOT_CHECKED, "the card has no CHUID");
        return;
    }
    if (cl_piv_parse_chuid(ev->chuid, ev->chuid_len, &ch) != CL_OK) {
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED, "the CHUID is malformed");
        return;
    }
    if (!ch.signature) {
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED, "the CHUID carries no issuer signature");
        return;
    }
    gmtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y%m%d", &tm);
    if (ch.expiry[0] && strcmp(ch.expiry, today) < 0) {
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED, "the CHUID expired on %s", ch.expiry);
        return;
    }
    p = ch.signature;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)ch.signature_len);
    content = BIO_new_mem_buf(ch.signed_part, (int)ch.signed_len);
    store = X509_STORE_new();
    for (int i = 0; store && i < sk_X509_num(vf->cas); i++) {
        if (X509_STORE_add_cert(store, sk_X509_value(vf->cas, i)) != 1) {
            X509_STORE_free(store);
            store = NULL;
        }
    }
    param = store ? X509_STORE_get0_param(store) : NULL;
    if (param) {
        X509_VERIFY_PARAM_set_time(param, now);
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
    }
    if (!store) {
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED, "the CHUID could not be checked (no memory)");
    } else if (!cms || p != ch.signature + ch.signature_len) {
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED, "the CHUID signature is not CMS SignedData");
    } else if (!content || CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) != 1) {
        cl_ossl_reason(reason, sizeof(reason));
        cl_verdict_set(v, "chuid", CL_CHECK_FAILED,
                       "the CHUID signature does not verify against the issuer CA (%s)", reason);
    } else {
        cl_verdict_set(v, "chuid", CL_CHECK_PASSED, NULL);
    }
    CMS_ContentInfo_free(cms);
    BIO_free(content);
    X509_STORE_free(store);
    ERR_clear_error();
}

static bool name_entry(X509_NAME *name, int nid, char *out, size_t cap)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    unsigned char *utf8 = NULL;
    int n;

    if (cap)
        out[0] = '\0';
    if (i < 0)
        return false;
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0 || (size_t)n >= cap || memchr(utf8, 0, (size_t)n)) {
        OPENSSL_free(utf8);
        return false;
    }
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf8);
    return true;
}

static void read_info(X509 *x, struct cl_piv_cert_info *info)
{
    X509_NAME *subject = X509_get_subject_name(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *dec = bn ? BN_bn2dec(bn) : NULL;
    struct tm tm;

    name_entry(subject, NID_commonName, info->name, sizeof(info->name));
    name_entry(subject, NID_serialNumber, info->welfare_no, sizeof(info->welfare_no));
    if (dec && hm_strlcpy(info->serial, dec, sizeof(info->serial)) >= sizeof(info->serial))
        info->serial[0] = '\0';
    OPENSSL_free(dec);
    BN_free(bn);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        info->not_after = (int64_t)timegm(&tm);
    info->key = X509_get_pubkey(x);
    ERR_clear_error();
}

cl_rc cl_piv_verify_with(const cl_piv_verifier *vf, int64_t when, const struct cl_piv_evidence *ev,
                         const uint8_t *msg, size_t msg_len, struct cl_verdict *v,
                         struct cl_piv_cert_info *info)
{
    X509 *x;
    time_t now;
    int err;

    if (info)
        memset(info, 0, sizeof(*info));
    if (!vf || !ev || !v || (!msg && msg_len))
        return CL_E_INVALID_ARG;
    cl_verdict_init(v);
    now = when ? (time_t)when : time(NULL);
    x = parse_cert(ev->cert, ev->cert_len);
    if (!x) {
        const char *why = "the card's certificate does not parse";

        cl_verdict_set(v, "chain", CL_CHECK_FAILED, "%s", why);
        cl_verdict_set(v, "validity", CL_CHECK_NOT_CHECKED, "%s", why);
        cl_verdict_set(v, "key-usage", CL_CHECK_NOT_CHECKED, "%s", why);
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED, "%s", why);
        check_chuid(v, ev, vf, now);
        cl_verdict_set(v, "possession", CL_CHECK_NOT_CHECKED, "%s", why);
        return CL_OK;
    }

    err = chain_verify(vf->store, x);
    if (err == X509_V_OK)
        cl_verdict_set(v, "chain", CL_CHECK_PASSED, NULL);
    else
        cl_verdict_set(v, "chain", CL_CHECK_FAILED, "not issued by the deployment's issuer CA (%s)",
                       X509_verify_cert_error_string(err));
    check_validity(v, x, now);
    check_key_usage(v, x);
    if (!vf->crl) {
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED, "no CRL configured");
    } else if (err != X509_V_OK) {
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED, "the chain did not verify");
    } else {
        check_revocation(v, vf, x, now);
    }
    check_chuid(v, ev, vf, now);
    if (!msg)
        msg = ev->challenge, msg_len = ev->challenge_len;
    if (msg_len == 0 || ev->sig_len == 0) {
        cl_verdict_set(v, "possession", CL_CHECK_NOT_CHECKED, "the card did not sign a challenge");
    } else {
        int r = verify_sig(x, msg, msg_len, ev->sig, ev->sig_len);

        if (r == 1)
            cl_verdict_set(v, "possession", CL_CHECK_PASSED, NULL);
        else
            cl_verdict_set(v, "possession", CL_CHECK_FAILED,
                           r == 0 ? "the card's signature does not match its certificate: "
                                    "the card does not hold the certified key"
                                  : "the signature could not be checked");
    }
    if (info)
        read_info(x, info);
    X509_free(x);
    return CL_OK;
}

cl_rc cl_piv_verify(const struct cl_piv_trust *trust, const struct cl_piv_evidence *ev,
                    struct cl_verdict *v)
{
    cl_piv_verifier *vf;
    cl_rc rc;

    if (!trust || !ev || !v)
        return CL_E_INVALID_ARG;
    cl_verdict_init(v);
    rc = cl_piv_verifier_new(trust->ca_file, trust->crl_file, &vf);
    if (rc != CL_OK)
        return rc;
    rc = cl_piv_verify_with(vf, trust->now, ev, NULL, 0, v, NULL);
    cl_piv_verifier_free(vf);
    return rc;
}

bool cl_piv_genuine(const struct cl_verdict *v)
{
    static const char *const must[] = { "chain", "validity", "key-usage", "possession" };

    return cl_verdict_all_passed(v, must, HM_ARRAY_SIZE(must)) && !cl_verdict_first_failure(v);
}

cl_rc cl_piv_cert_holder(const uint8_t *der, size_t len, char *name, size_t name_cap,
                         char *welfare_no, size_t no_cap)
{
    X509 *x = parse_cert(der, len);
    X509_NAME *subject;

    if (!x)
        return CL_E_CERT_INVALID;
    subject = X509_get_subject_name(x);
    name_entry(subject, NID_commonName, name, name_cap);
    name_entry(subject, NID_serialNumber, welfare_no, no_cap);
    X509_free(x);
    return CL_OK;
}
