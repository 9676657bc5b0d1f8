/* Decides whether an ID card is genuine: reads its LDS and has the chip sign a challenge, then
 * runs ICAO 9303 Passive and Active Authentication on that evidence with OpenSSL. */
#include "cl/emrtd_auth.h"

#include "cl/apdu.h"
#include "cl/emrtd.h"
#include "hm/log.h"
#include "hm/util.h"

#include "ossl.h"

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRUST_FILE_MAX (1u << 20)

struct cl_emrtd_trust {
    X509_STORE *store;
    size_t n_csca, n_crl;
};

static const char *const dg_check[CL_LDS_MAX_DG + 1] = {
    "",          "dg1-hash",  "dg2-hash",  "dg3-hash",  "dg4-hash",  "dg5-hash",
    "dg6-hash",  "dg7-hash",  "dg8-hash",  "dg9-hash",  "dg10-hash", "dg11-hash",
    "dg12-hash", "dg13-hash", "dg14-hash", "dg15-hash", "dg16-hash",
};

/* ---- Evidence ---------------------------------------------------------------- */

void cl_emrtd_evidence_init(struct cl_emrtd_evidence *ev)
{
    memset(ev, 0, sizeof(*ev));
    hm_buf_init(&ev->com, 4096);
    hm_buf_init(&ev->sod, 64 * 1024);
    for (int i = 1; i <= CL_LDS_MAX_DG; i++)
        hm_buf_init(&ev->dg[i], CL_EMRTD_FILE_MAX);
}

void cl_emrtd_evidence_free(struct cl_emrtd_evidence *ev)
{
    hm_buf_free(&ev->com);
    hm_buf_free(&ev->sod);
    for (int i = 1; i <= CL_LDS_MAX_DG; i++)
        hm_buf_free(&ev->dg[i]);
    hm_wipe(ev->aa_sig, sizeof(ev->aa_sig));
    ev->aa_sig_len = 0;
    ev->challenge_len = 0;
}

cl_rc cl_emrtd_internal_authenticate(cl_card *card, const uint8_t *challenge, size_t n,
                                     uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct cl_apdu a = {
        .cla = 0x00,
        .ins = 0x88,
        .p1 = 0x00,
        .p2 = 0x00,
        .data = challenge,
        .lc = n,
        .le = 256,
    };

    if (!card || !challenge || n != CL_EMRTD_CHALLENGE_LEN || !sig || !sig_len)
        return CL_E_INVALID_ARG;
    return cl_card_command(card, &a, sig, cap, sig_len);
}

cl_rc cl_emrtd_collect(cl_card *card, const uint8_t *challenge, size_t challenge_len,
                       struct cl_emrtd_evidence *ev)
{
    static const int wanted[] = { 1, 2, 11, 14, 15 };
    struct cl_lds_com com;
    cl_rc rc;

    if (!card || !ev || (challenge && challenge_len != CL_EMRTD_CHALLENGE_LEN))
        return CL_E_INVALID_ARG;
    if ((rc = cl_emrtd_read_file(card, CL_EMRTD_FID_COM, &ev->com)) != CL_OK)
        return rc;
    if ((rc = cl_lds_parse_com(ev->com.data, ev->com.len, &com)) != CL_OK)
        return rc;
    if (!(com.present & (1u << 1)))
        return CL_E_DATA_MALFORMED;
    if ((rc = cl_emrtd_read_file(card, CL_EMRTD_FID_SOD, &ev->sod)) != CL_OK)
        return rc;
    for (size_t i = 0; i < HM_ARRAY_SIZE(wanted); i++) {
        int dg = wanted[i];

        if (!(com.present & (1u << dg)))
            continue;
        if ((rc = cl_emrtd_read_file(card, cl_lds_dg_fid(dg), &ev->dg[dg])) != CL_OK)
            return rc;
    }
    if (challenge && ev->dg[15].len) {
        rc = cl_emrtd_internal_authenticate(card, challenge, challenge_len, ev->aa_sig,
                                            sizeof(ev->aa_sig), &ev->aa_sig_len);
        if (rc != CL_OK)
            return rc;
        memcpy(ev->challenge, challenge, challenge_len);
        ev->challenge_len = challenge_len;
    }
    return CL_OK;
}

/* ---- Active Authentication ------------------------------------------------------ */

static const EVP_MD *md_of(enum cl_lds_hash h)
{
    switch (h) {
    case CL_HASH_SHA1:
        return EVP_sha1();
    case CL_HASH_SHA224:
        return EVP_sha224();
    case CL_HASH_SHA256:
        return EVP_sha256();
    case CL_HASH_SHA384:
        return EVP_sha384();
    case CL_HASH_SHA512:
        return EVP_sha512();
    case CL_HASH_NONE:
        break;
    }
    return NULL;
}

static cl_rc aa_ecdsa(EVP_PKEY *key, enum cl_lds_hash hash, const uint8_t *chal, size_t n,
                      const uint8_t *sig, size_t sig_len)
{
    const EVP_MD *md = md_of(hash);
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = NULL;
    size_t half = ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
    int der_len;
    cl_rc rc = CL_E_SIGNATURE_INVALID;

    if (!md)
        return CL_E_SIGNATURE_INVALID;
    if (sig_len != 2 * half)
        return CL_E_SIGNATURE_INVALID;
    r = BN_bin2bn(sig, (int)half, NULL);
    s = BN_bin2bn(sig + half, (int)half, NULL);
    es = ECDSA_SIG_new();
    if (!r || !s || !es || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return CL_E_CRYPTO;
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    ctx = EVP_MD_CTX_new();
    if (der_len > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
        EVP_DigestVerify(ctx, der, (size_t)der_len, chal, n) == 1)
        rc = CL_OK;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return rc;
}

/* The hash an ISO/IEC 9796-2 trailer names: BC (SHA-1 implied) or the hash identifier then CC. */
static const EVP_MD *trailer_md(const uint8_t *f, size_t k, size_t *t)
{
    if (f[k - 1] == 0xBC) {
        *t = 1;
        return EVP_sha1();
    }
    if (f[k - 1] != 0xCC)
        return NULL;
    *t = 2;
    switch (f[k - 2]) {
    case 0x33:
        return EVP_sha1();
    case 0x34:
        return EVP_sha256();
    case 0x35:
        return EVP_sha512();
    case 0x36:
        return EVP_sha384();
    case 0x38:
        return EVP_sha224();
    default:
        return NULL;
    }
}

/* ISO/IEC 9796-2 scheme 1, partial recovery: F = 6A || M1 || H(M1 || M2) || trailer. */
static cl_rc aa_rsa(EVP_PKEY *key, const uint8_t *chal, size_t n, const uint8_t *sig,
                    size_t sig_len)
{
    size_t k = (size_t)EVP_PKEY_get_size(key), f_len = k, t = 0;
    uint8_t f[CL_EMRTD_AA_SIG_MAX], h[EVP_MAX_MD_SIZE];
    unsigned h_len = 0;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
    EVP_MD_CTX *md = NULL;
    const EVP_MD *alg;
    size_t hl, m1;
    cl_rc rc = CL_E_SIGNATURE_INVALID;

    if (!pc)
        return CL_E_CRYPTO;
    if (k > sizeof(f) || sig_len != k || EVP_PKEY_verify_recover_init(pc) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING) != 1 ||
        EVP_PKEY_verify_recover(pc, f, &f_len, sig, sig_len) != 1 || f_len != k)
        goto out;
    if (f[0] != 0x6A || !(alg = trailer_md(f, k, &t)))
        goto out;
    hl = (size_t)EVP_MD_get_size(alg);
    if (k < 1 + hl + t)
        goto out;
    m1 = k - 1 - hl - t;
    md = EVP_MD_CTX_new();
    if (md && EVP_DigestInit_ex(md, alg, NULL) == 1 && EVP_DigestUpdate(md, f + 1, m1) == 1 &&
        EVP_DigestUpdate(md, chal, n) == 1 && EVP_DigestFinal_ex(md, h, &h_len) == 1 &&
        h_len == hl && hm_ct_equal(h, f + 1 + m1, hl))
        rc = CL_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pc);
    hm_wipe(f, sizeof(f));
    return rc;
}

/* True when the DER SubjectPublicKeyInfo is an EC key. */
static bool spki_is_ec(const uint8_t *spki, size_t len)
{
    const unsigned char *p = spki;
    EVP_PKEY *key = len < 0x7FFFFFFF ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    bool ec = key && EVP_PKEY_is_a(key, "EC");

    EVP_PKEY_free(key);
    ERR_clear_error();
    return ec;
}

cl_rc cl_emrtd_aa_verify(const uint8_t *spki, size_t spki_len, enum cl_lds_hash hash,
                         const uint8_t *challenge, size_t challenge_len, const uint8_t *sig,
                         size_t sig_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *key;
    cl_rc rc;

    if (!spki || !challenge || !sig || spki_len > 0x7FFFFFFF)
        return CL_E_INVALID_ARG;
    key = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!key || p != spki + spki_len) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        return CL_E_CRYPTO;
    }
    if (EVP_PKEY_is_a(key, "EC"))
        rc = aa_ecdsa(key, hash, challenge, challenge_len, sig, sig_len);
    else if (EVP_PKEY_is_a(key, "RSA"))
        rc = aa_rsa(key, challenge, challenge_len, sig, sig_len);
    else
        rc = CL_E_CRYPTO;
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* ---- Trust store -------------------------------------------------------------------- */

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);

    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Adds the certificates and CRLs in one file; false if it holds neither. */
static bool load_trust_file(struct cl_emrtd_trust *t, const char *path)
{
    BIO *bio = BIO_new_file(path, "rb");
    STACK_OF(X509_INFO) *infos = NULL;
    size_t before = t->n_csca + t->n_crl;

    if (!bio)
        return false;
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (infos) {
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *info = sk_X509_INFO_value(infos, i);

            if (info->x509 && X509_STORE_add_cert(t->store, info->x509) == 1)
                t->n_csca++;
            if (info->crl && X509_STORE_add_crl(t->store, info->crl) == 1)
                t->n_crl++;
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
    }
    if (t->n_csca + t->n_crl == before) { /* not PEM: one DER certificate or CRL */
        X509 *x;
        X509_CRL *crl;

        ERR_clear_error();
        (void)BIO_reset(bio);
        if ((x = d2i_X509_bio(bio, NULL)) != NULL) {
            if (X509_STORE_add_cert(t->store, x) == 1)
                t->n_csca++;
            X509_free(x);
        } else {
            (void)BIO_reset(bio);
            if ((crl = d2i_X509_CRL_bio(bio, NULL)) != NULL) {
                if (X509_STORE_add_crl(t->store, crl) == 1)
                    t->n_crl++;
                X509_CRL_free(crl);
            }
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return t->n_csca + t->n_crl > before;
}

cl_rc cl_emrtd_trust_load(const char *dir, cl_emrtd_trust **out)
{
    static const char *const suffixes[] = { ".pem", ".crt", ".cer", ".der", ".crl" };
    struct cl_emrtd_trust *t;
    struct dirent *de;
    DIR *d;
    cl_rc rc = CL_OK;

    if (!dir || !out)
        return CL_E_INVALID_ARG;
    *out = NULL;
    d = opendir(dir);
    if (!d)
        return CL_E_IO;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->store = X509_STORE_new())) {
        free(t);
        closedir(d);
        return CL_E_NO_MEMORY;
    }
    while (rc == CL_OK && (de = readdir(d)) != NULL) {
        char path[4096];
        bool want = false;

        if (de->d_name[0] == '.')
            continue;
        for (size_t i = 0; i < HM_ARRAY_SIZE(suffixes); i++)
            want = want || has_suffix(de->d_name, suffixes[i]);
        if (!want)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
            !load_trust_file(t, path)) {
            hm_log_warn("trust store: %s is neither a certificate nor a CRL", path);
            rc = CL_E_CERT_INVALID;
        }
    }
    closedir(d);
    if (rc == CL_OK && t->n_csca == 0) {
        hm_log_warn("trust store %s holds no CSCA certificate", dir);
        rc = CL_E_CERT_INVALID;
    }
    if (rc != CL_OK) {
        cl_emrtd_trust_free(t);
        return rc;
    }
    *out = t;
    return CL_OK;
}

void cl_emrtd_trust_free(cl_emrtd_trust *t)
{
    if (!t)
        return;
    X509_STORE_free(t->store);
    free(t);
}

void cl_emrtd_trust_counts(const cl_emrtd_trust *t, size_t *n_csca, size_t *n_crl)
{
    if (n_csca)
        *n_csca = t ? t->n_csca : 0;
    if (n_crl)
        *n_crl = t ? t->n_crl : 0;
}

/* ---- Passive Authentication ------------------------------------------------------------ */

/*
 * The Document Signer's own validity is a check of its own ("ds-validity"), so the chain and
 * CRL checks let a certificate's dates pass (and still check the CRL's).
 */
static int ignore_cert_dates(int ok, X509_STORE_CTX *ctx)
{
    int e = X509_STORE_CTX_get_error(ctx);

    if (!ok && (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return ok;
}

/* Verifies the chain of x to the trust store at now; flags add checks. X509_V_OK or the error. */
static int chain_verify(const struct cl_emrtd_trust *t, X509 *x, time_t now, unsigned long flags)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int err = X509_V_ERR_UNSPECIFIED;

    if (ctx && X509_STORE_CTX_init(ctx, t->store, x, NULL) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);

        X509_VERIFY_PARAM_set_time(param, now);
        X509_VERIFY_PARAM_set_flags(param, flags);
        X509_STORE_CTX_set_verify_cb(ctx, ignore_cert_dates);
        err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return err;
}

static void check_ds(struct cl_verdict *v, const struct cl_emrtd_trust *t, X509 *ds, time_t now)
{
    char subject[96];
    int err;

    X509_NAME_oneline(X509_get_subject_name(ds), subject, sizeof(subject));
    err = t ? chain_verify(t, ds, now, 0) : X509_V_ERR_UNSPECIFIED;
    if (!t)
        cl_verdict_set(v, "csca-chain", CL_CHECK_NOT_CHECKED, "no CSCA trust store was given");
    else if (err == X509_V_OK)
        cl_verdict_set(v, "csca-chain", CL_CHECK_PASSED, NULL);
    else
        cl_verdict_set(v, "csca-chain", CL_CHECK_FAILED,
                       "the Document Signer %s does not chain to a trusted CSCA: %s", subject,
                       X509_verify_cert_error_string(err));

    if (X509_cmp_time(X509_get0_notBefore(ds), &now) > 0)
        cl_verdict_set(v, "ds-validity", CL_CHECK_FAILED,
                       "the Document Signer certificate is not valid yet");
    else if (X509_cmp_time(X509_get0_notAfter(ds), &now) < 0)
        cl_verdict_set(v, "ds-validity", CL_CHECK_FAILED,
                       "the Document Signer certificate has expired");
    else
        cl_verdict_set(v, "ds-validity", CL_CHECK_PASSED, NULL);

    if (err != X509_V_OK) {
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED,
                       t ? "the chain did not verify" : "no CSCA trust store was given");
        return;
    }
    err = chain_verify(t, ds, now, X509_V_FLAG_CRL_CHECK);
    if (err == X509_V_OK)
        cl_verdict_set(v, "revocation", CL_CHECK_PASSED, NULL);
    else if (err == X509_V_ERR_UNABLE_TO_GET_CRL)
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED,
                       "the trust store has no CRL from this CSCA");
    else if (err == X509_V_ERR_CERT_REVOKED)
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED,
                       "the Document Signer certificate has been revoked");
    else
        cl_verdict_set(v, "revocation", CL_CHECK_FAILED, "the CRL check failed: %s",
                       X509_verify_cert_error_string(err));
}

/*
 * Opens and verifies the SOD's signature; on success *lso is the signed LDS Security Object
 * (a copy, malloc'd) and *ds_out the Document Signer certificate. Records sod-signature.
 */
static bool check_sod(struct cl_verdict *v, const struct cl_emrtd_evidence *ev, uint8_t **lso,
                      size_t *lso_len, X509 **ds_out)
{
    const uint8_t *der;
    size_t der_len;
    const unsigned char *p;
    CMS_ContentInfo *cms = NULL;
    STACK_OF(CMS_SignerInfo) * sis;
    STACK_OF(X509) *certs = NULL, *signer = NULL;
    ASN1_OBJECT *lso_type = OBJ_txt2obj("2.23.136.1.1.1", 1);
    X509 *ds = NULL;
    BIO *out = NULL;
    char why[200];
    bool ok = false;

    *lso = NULL;
    *ds_out = NULL;
    if (ev->sod.len == 0 || cl_lds_parse_sod(ev->sod.data, ev->sod.len, &der, &der_len) != CL_OK) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "EF.SOD is missing or malformed");
        goto out;
    }
    p = der;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
    if (!cms || p != der + der_len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "EF.SOD is not CMS SignedData");
        goto out;
    }
    if (!lso_type || OBJ_cmp(CMS_get0_eContentType(cms), lso_type) != 0) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED,
                       "EF.SOD does not hold an LDS Security Object");
        goto out;
    }
    sis = CMS_get0_SignerInfos(cms);
    if (!sis || sk_CMS_SignerInfo_num(sis) != 1) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "EF.SOD must have exactly one signer");
        goto out;
    }
    certs = CMS_get1_certs(cms);
    for (int i = 0; certs && i < sk_X509_num(certs); i++)
        if (CMS_SignerInfo_cert_cmp(sk_CMS_SignerInfo_value(sis, 0), sk_X509_value(certs, i)) == 0)
            ds = sk_X509_value(certs, i);
    if (!ds) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED,
                       "EF.SOD does not carry its Document Signer certificate");
        goto out;
    }
    signer = sk_X509_new_null();
    out = BIO_new(BIO_s_mem());
    if (!signer || !out || !sk_X509_push(signer, ds)) {
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "out of memory");
        goto out;
    }
    /* The signature only: the Document Signer's chain is the next check. */
    if (CMS_verify(cms, signer, NULL, NULL, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
        cl_ossl_reason(why, sizeof(why));
        cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "the SOD signature does not verify: %s",
                       why);
        goto out;
    }
    {
        char *data = NULL;
        long n = BIO_get_mem_data(out, &data);

        if (n <= 0 || !(*lso = malloc((size_t)n))) {
            cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED, "the SOD has no content");
            goto out;
        }
        memcpy(*lso, data, (size_t)n);
        *lso_len = (size_t)n;
    }
    cl_verdict_set(v, "sod-signature", CL_CHECK_PASSED, NULL);
    X509_up_ref(ds);
    *ds_out = ds;
    ok = true;
out:
    sk_X509_free(signer);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    ASN1_OBJECT_free(lso_type);
    ERR_clear_error();
    return ok;
}

/* lso: the verified LDS Security Object, or NULL when there is none. */
static void check_hashes(struct cl_verdict *v, const struct cl_emrtd_evidence *ev,
                         const struct cl_lso *lso)
{
    const EVP_MD *md = lso ? md_of(lso->hash) : NULL;

    for (int dg = 1; dg <= CL_LDS_MAX_DG; dg++) {
        const struct cl_lso_entry *e = NULL;
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned h_len = 0;

        if (ev->dg[dg].len == 0)
            continue;
        if (!lso || !md) {
            cl_verdict_set(v, dg_check[dg], CL_CHECK_NOT_CHECKED,
                           "no verified LDS Security Object to compare with");
            continue;
        }
        for (size_t i = 0; i < lso->n_entries; i++)
            if (lso->entries[i].dg == dg)
                e = &lso->entries[i];
        if (!e) {
            cl_verdict_set(v, dg_check[dg], CL_CHECK_FAILED,
                           "DG%d is not in the signed LDS Security Object", dg);
            continue;
        }
        if (EVP_Digest(ev->dg[dg].data, ev->dg[dg].len, h, &h_len, md, NULL) != 1 ||
            h_len != e->hash_len || !hm_ct_equal(h, e->hash, h_len))
            cl_verdict_set(v, dg_check[dg], CL_CHECK_FAILED,
                           "DG%d does not match its signed hash: the data was altered", dg);
        else
            cl_verdict_set(v, dg_check[dg], CL_CHECK_PASSED, NULL);
    }
}

static bool passed(const struct cl_verdict *v, const char *name)
{
    const struct cl_check *c = cl_verdict_get(v, name);

    return c && c->state == CL_CHECK_PASSED;
}

static void check_aa(struct cl_verdict *v, const struct cl_emrtd_evidence *ev,
                     const struct cl_lso *lso)
{
    bool listed = false;
    const uint8_t *spki;
    size_t spki_len;
    struct cl_dg14 dg14;
    enum cl_lds_hash hash = CL_HASH_NONE;
    cl_rc rc;

    if (!lso) {
        cl_verdict_set(v, "active-auth", CL_CHECK_NOT_CHECKED,
                       "Passive Authentication did not verify DG15");
        return;
    }
    for (size_t i = 0; i < lso->n_entries; i++)
        listed = listed || lso->entries[i].dg == 15;
    if (!listed && ev->dg[15].len == 0) {
        cl_verdict_set(v, "active-auth", CL_CHECK_NOT_CHECKED,
                       "the document does not support Active Authentication (no DG15)");
        return;
    }
    if (ev->dg[15].len == 0) {
        cl_verdict_set(v, "active-auth", CL_CHECK_FAILED,
                       "the signed data lists DG15 but the chip did not give it");
        return;
    }
    if (!passed(v, "dg15-hash")) {
        cl_verdict_set(v, "active-auth", CL_CHECK_NOT_CHECKED,
                       "Passive Authentication did not verify DG15");
        return;
    }
    if (ev->challenge_len == 0 || ev->aa_sig_len == 0) {
        cl_verdict_set(v, "active-auth", CL_CHECK_NOT_CHECKED, "the chip was not challenged");
        return;
    }
    if (cl_lds_parse_dg15(ev->dg[15].data, ev->dg[15].len, &spki, &spki_len) != CL_OK) {
        cl_verdict_set(v, "active-auth", CL_CHECK_FAILED, "DG15 does not hold a public key");
        return;
    }
    if (ev->dg[14].len) {
        if (!passed(v, "dg14-hash")) {
            cl_verdict_set(v, "active-auth", CL_CHECK_NOT_CHECKED,
                           "Passive Authentication did not verify DG14");
            return;
        }
        if (cl_lds_parse_dg14(ev->dg[14].data, ev->dg[14].len, &dg14) != CL_OK) {
            cl_verdict_set(v, "active-auth", CL_CHECK_FAILED, "DG14 is malformed");
            return;
        }
        if (dg14.has_aa_info)
            hash = dg14.aa_hash;
    }
    if (hash == CL_HASH_NONE && spki_len > 2 && spki_is_ec(spki, spki_len)) {
        cl_verdict_set(v, "active-auth", CL_CHECK_FAILED,
                       "DG14 does not name the hash of the chip's ECDSA signature");
        return;
    }
    rc = cl_emrtd_aa_verify(spki, spki_len, hash, ev->challenge, ev->challenge_len, ev->aa_sig,
                            ev->aa_sig_len);
    if (rc == CL_OK)
        cl_verdict_set(v, "active-auth", CL_CHECK_PASSED, NULL);
    else if (rc == CL_E_SIGNATURE_INVALID)
        cl_verdict_set(v, "active-auth", CL_CHECK_FAILED,
                       "the chip's signature does not verify with the DG15 key: this chip is "
                       "not the one the document was issued with");
    else
        cl_verdict_set(v, "active-auth", CL_CHECK_FAILED,
                       "the DG15 key cannot be used for Active Authentication");
}

cl_rc cl_emrtd_verify(const cl_emrtd_trust *t, int64_t now, const struct cl_emrtd_evidence *ev,
                      struct cl_verdict *v)
{
    uint8_t *lso_der = NULL;
    size_t lso_len = 0;
    struct cl_lso lso;
    bool lso_ok = false;
    X509 *ds = NULL;
    time_t when = now ? (time_t)now : time(NULL);

    if (!ev || !v)
        return CL_E_INVALID_ARG;
    cl_verdict_init(v);
    if (check_sod(v, ev, &lso_der, &lso_len, &ds)) {
        if (cl_lds_parse_lso(lso_der, lso_len, &lso) == CL_OK) {
            lso_ok = true;
        } else {
            cl_verdict_set(v, "sod-signature", CL_CHECK_FAILED,
                           "the signed LDS Security Object is malformed");
        }
        check_ds(v, t, ds, when);
    } else {
        cl_verdict_set(v, "csca-chain", CL_CHECK_NOT_CHECKED, "no verified SOD");
        cl_verdict_set(v, "ds-validity", CL_CHECK_NOT_CHECKED, "no verified SOD");
        cl_verdict_set(v, "revocation", CL_CHECK_NOT_CHECKED, "no verified SOD");
    }
    check_hashes(v, ev, lso_ok ? &lso : NULL);
    check_aa(v, ev, lso_ok ? &lso : NULL);
    X509_free(ds);
    free(lso_der);
    return CL_OK;
}

bool cl_emrtd_genuine(const struct cl_verdict *v)
{
    static const char *const required[] = { "sod-signature", "csca-chain", "ds-validity",
                                            "dg1-hash" };
    const struct cl_check *aa;

    if (!v || cl_verdict_first_failure(v) ||
        !cl_verdict_all_passed(v, required, HM_ARRAY_SIZE(required)))
        return false;
    for (size_t i = 0; i < v->n; i++)
        if (strncmp(v->checks[i].name, "dg", 2) == 0 && v->checks[i].state != CL_CHECK_PASSED)
            return false;
    /* A chip with an AA key (DG15 read) must have proved it holds it. */
    aa = cl_verdict_get(v, "active-auth");
    if (cl_verdict_get(v, "dg15-hash") && !(aa && aa->state == CL_CHECK_PASSED))
        return false;
    return true;
}
