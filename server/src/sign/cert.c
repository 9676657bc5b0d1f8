/* The signing certificate and its P-256 public key, through OpenSSL, for signer.c and jws.c. */
#include "sign_int.h"

#include "hm/log.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A certificate file larger than this is not a signing certificate. */
#define CERT_MAX (64 * 1024)

struct hs_cert {
    X509 *x509;
    EVP_PKEY *pub; /* owned by x509 */
    uint8_t *der;
    size_t der_len;
    char *pem;
    uint8_t *spki;
    size_t spki_len;
    uint8_t x[HS_P256_COORD];
    uint8_t y[HS_P256_COORD];
};

void hs_sign_log_ossl(const char *what)
{
    char reason[256];
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    else
        memcpy(reason, "no OpenSSL error queued", sizeof("no OpenSSL error queued"));
    ERR_clear_error();
    hm_log_error("%s: %s", what, reason);
}

void hs_sha256(const void *p, size_t n, uint8_t out[HS_SHA256_LEN])
{
    unsigned int len = HS_SHA256_LEN;

    /* EVP_Digest with the built-in SHA-256 cannot fail short of memory
     * exhaustion inside OpenSSL; then the digest is zeros and no signature
     * made over it verifies, which fails safe. */
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL))
        memset(out, 0, HS_SHA256_LEN);
}

/* Copies a BIGNUM parameter of the key, left-padded to 32 bytes. */
static bool get_coord(const EVP_PKEY *pkey, const char *name, uint8_t out[HS_P256_COORD])
{
    BIGNUM *bn = NULL;
    bool ok;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return false;
    ok = BN_bn2binpad(bn, out, HS_P256_COORD) == HS_P256_COORD;
    BN_free(bn);
    return ok;
}

/* Fills everything but x509 from c->x509; HS_E_KEY when the key is not P-256. */
static hs_rc cert_fill(struct hs_cert *c)
{
    char group[64];
    unsigned char *p = NULL;
    BIO *bio = NULL;
    BUF_MEM *mem = NULL;
    int n;

    c->pub = X509_get0_pubkey(c->x509);
    if (!c->pub) {
        hs_sign_log_ossl("signer: the certificate's public key does not parse");
        return HS_E_KEY;
    }
    if (!EVP_PKEY_is_a(c->pub, "EC") ||
        !EVP_PKEY_get_group_name(c->pub, group, sizeof(group), NULL) ||
        strcmp(group, SN_X9_62_prime256v1) != 0) {
        ERR_clear_error();
        hm_log_error("signer: the certificate's key is not an EC P-256 key (ES256 needs one)");
        return HS_E_KEY;
    }
    if (!get_coord(c->pub, OSSL_PKEY_PARAM_EC_PUB_X, c->x) ||
        !get_coord(c->pub, OSSL_PKEY_PARAM_EC_PUB_Y, c->y)) {
        hs_sign_log_ossl("signer: cannot read the certificate's public point");
        return HS_E_KEY;
    }

    n = i2d_X509(c->x509, &p);
    if (n <= 0)
        goto out_ossl;
    c->der = p;
    c->der_len = (size_t)n;

    p = NULL;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c->x509), &p);
    if (n <= 0)
        goto out_ossl;
    c->spki = p;
    c->spki_len = (size_t)n;

    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, c->x509))
        goto out_free_bio;
    BIO_get_mem_ptr(bio, &mem);
    c->pem = malloc(mem->length + 1);
    if (!c->pem)
        goto out_free_bio;
    memcpy(c->pem, mem->data, mem->length);
    c->pem[mem->length] = '\0';
    BIO_free(bio);
    return HS_OK;

out_free_bio:
    BIO_free(bio);
out_ossl:
    hs_sign_log_ossl("signer: cannot encode the certificate");
    return HS_E_NO_MEMORY;
}

void hs_cert_free(struct hs_cert *c)
{
    if (!c)
        return;
    X509_free(c->x509);
    OPENSSL_free(c->der);
    OPENSSL_free(c->spki);
    free(c->pem);
    free(c);
}

hs_rc hs_cert_load_pem_file(const char *path, struct hs_cert **out)
{
    struct hs_cert *c;
    BIO *bio;
    hs_rc rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return HS_E_NO_MEMORY;
    bio = BIO_new_file(path, "r");
    if (!bio) {
        hs_sign_log_ossl("signer: cannot open the certificate file");
        rc = HS_E_KEY;
        goto out_free_cert;
    }
    c->x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!c->x509) {
        hs_sign_log_ossl("signer: the certificate file holds no PEM certificate");
        rc = HS_E_KEY;
        goto out_free_cert;
    }
    rc = cert_fill(c);
    if (rc != HS_OK)
        goto out_free_cert;
    *out = c;
    return HS_OK;

out_free_cert:
    hs_cert_free(c);
    return rc;
}

hs_rc hs_cert_parse_der(const uint8_t *der, size_t len, struct hs_cert **out)
{
    const unsigned char *p = der;
    struct hs_cert *c;
    hs_rc rc;

    *out = NULL;
    if (!der || len == 0 || len > CERT_MAX)
        return HS_E_KEY;
    c = calloc(1, sizeof(*c));
    if (!c)
        return HS_E_NO_MEMORY;
    c->x509 = d2i_X509(NULL, &p, (long)len);
    /* Exactly one certificate and nothing after it. */
    if (!c->x509 || p != der + len) {
        ERR_clear_error();
        hm_log_warn("signer: the certificate (DER) does not parse");
        rc = HS_E_KEY;
        goto out_free_cert;
    }
    rc = cert_fill(c);
    if (rc != HS_OK)
        goto out_free_cert;
    *out = c;
    return HS_OK;

out_free_cert:
    hs_cert_free(c);
    return rc;
}

const uint8_t *hs_cert_der(const struct hs_cert *c, size_t *len)
{
    *len = c->der_len;
    return c->der;
}

const char *hs_cert_pem(const struct hs_cert *c)
{
    return c->pem;
}

const uint8_t *hs_cert_spki(const struct hs_cert *c, size_t *len)
{
    *len = c->spki_len;
    return c->spki;
}

const uint8_t *hs_cert_x(const struct hs_cert *c)
{
    return c->x;
}

const uint8_t *hs_cert_y(const struct hs_cert *c)
{
    return c->y;
}

hs_rc hs_cert_verify_digest(const struct hs_cert *c, const uint8_t digest[HS_SHA256_LEN],
                            const uint8_t sig[HS_ES256_SIG_LEN])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, HS_P256_COORD, NULL);
    BIGNUM *s = BN_bin2bn(sig + HS_P256_COORD, HS_P256_COORD, NULL);
    unsigned char *der = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    hs_rc rc = HS_E_NO_MEMORY;
    int der_len, v;

    if (!es || !r || !s)
        goto out_free_sig;
    ECDSA_SIG_set0(es, r, s); /* es owns r and s from here */
    r = s = NULL;
    der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len <= 0)
        goto out_free_sig;
    /* A context per call: the shared public key is only read, so threads can
     * verify at the same time. */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, c->pub, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0)
        goto out_free_ctx;
    v = EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, HS_SHA256_LEN);
    rc = v == 1 ? HS_OK : HS_E_SIGNATURE;

out_free_ctx:
    EVP_PKEY_CTX_free(ctx);
out_free_sig:
    ERR_clear_error();
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}
