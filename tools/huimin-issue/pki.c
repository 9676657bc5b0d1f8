/* The card office's PKI operations (issuer CA, card certificates, CRLs, CHUID signatures) on
 * OpenSSL. */
#include "pki.h"

#include "cl/piv.h"

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

EVP_PKEY *pki_ec_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static int set_serial(X509 *x, uint64_t serial)
{
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    int ok;

    if (!s)
        return -1;
    if (serial == 0) {
        uint8_t r[8];

        if (RAND_bytes(r, sizeof(r)) != 1) {
            ASN1_INTEGER_free(s);
            return -1;
        }
        for (size_t i = 0; i < sizeof(r); i++)
            serial = serial << 8 | r[i];
        serial &= 0x7FFFFFFFFFFFFFFFull;
        serial |= 1;
    }
    ok = ASN1_INTEGER_set_uint64(s, serial) == 1 && X509_set_serialNumber(x, s) == 1;
    ASN1_INTEGER_free(s);
    return ok ? 0 : -1;
}

static int name_add(X509_NAME *n, const char *field, const char *value)
{
    if (!value || !*value)
        return 0;
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1,
                                      0) == 1
               ? 0
               : -1;
}

int pki_ca_create(struct pki_ca *ca, const char *common_name, int days)
{
    X509_NAME *name;

    memset(ca, 0, sizeof(*ca));
    ca->key = pki_ec_key();
    ca->cert = X509_new();
    if (!ca->key || !ca->cert)
        goto fail;
    name = X509_get_subject_name(ca->cert);
    if (X509_set_version(ca->cert, 2) != 1 || set_serial(ca->cert, 0) ||
        name_add(name, "CN", common_name) || name_add(name, "O", "Huimin deployment") ||
        X509_set_issuer_name(ca->cert, name) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(ca->cert), (long)days * 86400) ||
        X509_set_pubkey(ca->cert, ca->key) != 1 ||
        add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") ||
        add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
        X509_sign(ca->cert, ca->key, EVP_sha256()) <= 0)
        goto fail;
    return 0;
fail:
    pki_ca_free(ca);
    return -1;
}

int pki_ca_load(struct pki_ca *ca, const char *cert_file, const char *key_file)
{
    FILE *f;

    memset(ca, 0, sizeof(*ca));
    f = fopen(cert_file, "r");
    if (f) {
        ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    f = fopen(key_file, "r");
    if (f) {
        ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca->cert || !ca->key || X509_check_private_key(ca->cert, ca->key) != 1) {
        pki_ca_free(ca);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

int pki_write_cert(X509 *cert, const char *path)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = PEM_write_X509(f, cert) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int pki_write_crl(X509_CRL *crl, const char *path)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = PEM_write_X509_CRL(f, crl) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int pki_write_key(EVP_PKEY *key, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f;
    int ok;

    if (fd < 0)
        return -1;
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int pki_ca_save(const struct pki_ca *ca, const char *cert_file, const char *key_file)
{
    return pki_write_cert(ca->cert, cert_file) == 0 && pki_write_key(ca->key, key_file) == 0 ? 0
                                                                                             : -1;
}

void pki_ca_free(struct pki_ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    ca->key = NULL;
    ca->cert = NULL;
}

static void ku_string(uint32_t ku, char *buf, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = { { KU_DIGITAL_SIGNATURE, "digitalSignature" },
                  { KU_NON_REPUDIATION, "nonRepudiation" },
                  { KU_KEY_ENCIPHERMENT, "keyEncipherment" },
                  { KU_KEY_AGREEMENT, "keyAgreement" } };
    size_t used;

    used = (size_t)snprintf(buf, cap, "critical");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && used < cap; i++)
        if (ku & names[i].bit)
            used += (size_t)snprintf(buf + used, cap - used, ",%s", names[i].name);
}

X509 *pki_issue(const struct pki_ca *ca, EVP_PKEY *pub, const struct pki_holder *h, uint64_t serial,
                int not_before_days, int days, uint32_t key_usage)
{
    X509 *x = X509_new();
    X509_NAME *name;
    char ku[128];

    if (!x)
        return NULL;
    name = X509_get_subject_name(x);
    ku_string(key_usage, ku, sizeof(ku));
    if (X509_set_version(x, 2) != 1 || set_serial(x, serial) || name_add(name, "CN", h->name) ||
        name_add(name, "serialNumber", h->welfare_no) || name_add(name, "O", h->org) ||
        X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), (long)not_before_days * 86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), ((long)not_before_days + days) * 86400) ||
        X509_set_pubkey(x, pub) != 1 ||
        add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        (key_usage && add_ext(x, ca->cert, NID_key_usage, ku)) ||
        add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(x, ca->key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

X509_CRL *pki_crl(const struct pki_ca *ca, const uint64_t *serials, size_t n, int days)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
    bool ok = crl && now && next;

    ok = ok && X509_CRL_set_version(crl, 1) == 1 &&
         X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) == 1 &&
         X509_gmtime_adj(now, -60) && X509_gmtime_adj(next, (long)days * 86400) &&
         X509_CRL_set1_lastUpdate(crl, now) == 1 && X509_CRL_set1_nextUpdate(crl, next) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();

        ok = r && s && ASN1_INTEGER_set_uint64(s, serials[i]) == 1 &&
             X509_REVOKED_set_serialNumber(r, s) == 1 &&
             X509_REVOKED_set_revocationDate(r, now) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
        ASN1_INTEGER_free(s);
        if (!ok)
            X509_REVOKED_free(r);
    }
    ok = ok && X509_CRL_sort(crl) == 1 && X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0;
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    if (!ok) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

EVP_PKEY *pki_pubkey_from_piv(const uint8_t *raw, size_t len, uint8_t alg)
{
    struct cl_piv_pubkey pk;
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *out = NULL;
    BIGNUM *n = NULL, *e = NULL;

    if (cl_piv_parse_pubkey(raw, len, alg, &pk) != CL_OK)
        return NULL;
    bld = OSSL_PARAM_BLD_new();
    if (!bld)
        return NULL;
    if (pk.point) {
        if (!OSSL_PARAM_BLD_push_utf8_string(
                bld, OSSL_PKEY_PARAM_GROUP_NAME,
                alg == CL_PIV_ALG_ECC_P256 ? "prime256v1" : "secp384r1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pk.point, pk.point_len))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    } else {
        n = BN_bin2bn(pk.modulus, (int)pk.modulus_len, NULL);
        e = BN_bin2bn(pk.exponent, (int)pk.exponent_len, NULL);
        if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        out = NULL;
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return out;
}

int pki_sign_chuid(const struct pki_ca *ca, const uint8_t *content, size_t len, uint8_t **out,
                   size_t *out_len)
{
    const unsigned flags = CMS_BINARY | CMS_DETACHED | CMS_PARTIAL;
    CMS_ContentInfo *cms = CMS_sign(ca->cert, ca->key, NULL, NULL, flags);
    ASN1_OBJECT *type = OBJ_txt2obj("2.16.840.1.101.3.6.1", 1); /* id-PIV-CHUIDSecurityObject */
    BIO *in = BIO_new_mem_buf(content, (int)len);
    unsigned char *der = NULL;
    int n = -1;

    if (cms && type && in && CMS_set1_eContentType(cms, type) == 1 &&
        CMS_final(cms, in, NULL, CMS_BINARY | CMS_DETACHED) == 1)
        n = i2d_CMS_ContentInfo(cms, &der);
    CMS_ContentInfo_free(cms);
    ASN1_OBJECT_free(type);
    BIO_free(in);
    if (n <= 0)
        return -1;
    *out = der;
    *out_len = (size_t)n;
    return 0;
}

int pki_cert_der(X509 *cert, uint8_t **out, size_t *out_len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);

    if (n <= 0)
        return -1;
    *out = der;
    *out_len = (size_t)n;
    return 0;
}

X509 *pki_issue_cert(const struct pki_ca *ca, EVP_PKEY *pub, const struct pki_cert_spec *spec)
{
    X509 *x = X509_new();
    X509 *issuer_cert;
    EVP_PKEY *issuer_key;
    X509_NAME *name;
    char bc[64];

    if (!x || !pub || !spec || !spec->cn || spec->days <= 0) {
        X509_free(x);
        return NULL;
    }
    /* Self-signed: the certificate is its own issuer, signed by the subject's key. */
    issuer_cert = ca ? ca->cert : x;
    issuer_key = ca ? ca->key : pub;
    if (spec->ca && spec->path_len >= 0)
        snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", spec->path_len);
    else
        snprintf(bc, sizeof(bc), "%s", spec->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    name = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 || set_serial(x, spec->serial) ||
        name_add(name, "CN", spec->cn) || name_add(name, "O", spec->org) ||
        X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)spec->days * 86400) ||
        X509_set_pubkey(x, pub) != 1 || add_ext(x, issuer_cert, NID_basic_constraints, bc) ||
        (spec->key_usage && add_ext(x, issuer_cert, NID_key_usage, spec->key_usage)) ||
        (spec->ext_key_usage && add_ext(x, issuer_cert, NID_ext_key_usage, spec->ext_key_usage)) ||
        (spec->san && add_ext(x, issuer_cert, NID_subject_alt_name, spec->san)) ||
        add_ext(x, issuer_cert, NID_subject_key_identifier, "hash") ||
        add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        X509_free(x);
        ERR_clear_error();
        return NULL;
    }
    return x;
}

int pki_write_certs(X509 *const *certs, size_t n, const char *path)
{
    FILE *f = fopen(path, "w");
    int ok = 1;

    if (!f)
        return -1;
    for (size_t i = 0; ok && i < n; i++)
        ok = PEM_write_X509(f, certs[i]) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}
