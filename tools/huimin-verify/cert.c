/* Where huimin-verify's signing certificate comes from (PEM or JWKS) and whether it is good;
 * OpenSSL lives here only. */
#include "hv.h"

#include "hm/util.h"
#include "hs/jws.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More certificates than this in one file or x5c is not a signing chain. */
#define CHAIN_MAX 8
/* The longest base64 x5c entry we decode. */
#define X5C_B64_MAX 16384

struct hv_cert {
    X509 *x509;
    STACK_OF(X509) * chain; /* the intermediates, possibly empty */
    uint8_t *der;
    size_t der_len;
};

static struct hv_cert *cert_new(void)
{
    struct hv_cert *c = calloc(1, sizeof(*c));

    if (c && !(c->chain = sk_X509_new_null())) {
        free(c);
        c = NULL;
    }
    return c;
}

void hv_cert_free(struct hv_cert *c)
{
    if (!c)
        return;
    X509_free(c->x509);
    sk_X509_pop_free(c->chain, X509_free);
    OPENSSL_free(c->der);
    free(c);
}

/* Takes x: the first becomes the certificate, later ones intermediates. */
static bool cert_add(struct hv_cert *c, X509 *x)
{
    if (!c->x509) {
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);

        if (n <= 0) {
            X509_free(x);
            return false;
        }
        c->x509 = x;
        c->der = der;
        c->der_len = (size_t)n;
        return true;
    }
    if (sk_X509_num(c->chain) >= CHAIN_MAX || !sk_X509_push(c->chain, x)) {
        X509_free(x);
        return false;
    }
    return true;
}

/* Reads the PEM certificates of path into c (at most 1 + CHAIN_MAX). Returns how many, or -1. */
static int read_pem_certs(const char *path, struct hv_cert *c, char *err, size_t cap)
{
    BIO *bio = BIO_new_file(path, "r");
    X509 *x;
    int n = 0;

    if (!bio) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        ERR_clear_error();
        return -1;
    }
    while (n <= CHAIN_MAX && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!cert_add(c, x)) {
            snprintf(err, cap, "cannot use the certificates in %s", path);
            BIO_free(bio);
            ERR_clear_error();
            return -1;
        }
        n++;
    }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the file is reported as an error */
    if (n == 0)
        snprintf(err, cap, "%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path);
    return n;
}

enum hv_cert_rc hv_cert_load_pem(const char *path, struct hv_cert **out, char *err, size_t cap)
{
    struct hv_cert *c = cert_new();

    *out = NULL;
    if (!c) {
        snprintf(err, cap, "out of memory");
        return HV_CERT_UNREADABLE;
    }
    if (read_pem_certs(path, c, err, cap) <= 0) {
        hv_cert_free(c);
        return HV_CERT_UNREADABLE;
    }
    *out = c;
    return HV_CERT_OK;
}

/* Decodes one x5c entry (standard base64 with padding, RFC 7517 4.7) to a certificate. */
static X509 *x5c_decode(const char *b64, size_t n)
{
    const unsigned char *p;
    unsigned char *der;
    X509 *x = NULL;
    size_t pad = 0;
    int len;

    if (n == 0 || n % 4 != 0 || n > X5C_B64_MAX)
        return NULL;
    der = malloc(n / 4 * 3);
    if (!der)
        return NULL;
    len = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
    if (b64[n - 1] == '=')
        pad = b64[n - 2] == '=' ? 2 : 1;
    if (len > 0 && (size_t)len > pad) {
        p = der;
        x = d2i_X509(NULL, &p, len - (int)pad);
        /* The DER must be exactly the certificate, nothing after it. */
        if (x && p != der + len - (int)pad) {
            X509_free(x);
            x = NULL;
        }
    }
    free(der);
    ERR_clear_error();
    return x;
}

enum hv_cert_rc hv_cert_from_jwks(const char *path, const char *kid, struct hv_cert **out,
                                  char *err, size_t cap)
{
    enum hv_cert_rc rc = HV_CERT_UNREADABLE;
    json_t *jwks, *keys, *key = NULL, *x5c;
    struct hv_cert *c = NULL;
    json_error_t jerr;
    size_t i;

    *out = NULL;
    jwks = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!jwks) {
        snprintf(err, cap, "cannot read the JWKS %s: %s (line %d)", path, jerr.text, jerr.line);
        return HV_CERT_UNREADABLE;
    }
    keys = json_object_get(jwks, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, cap, "%s is not a JWKS: it has no \"keys\" array (save GET /v1/jwks)", path);
        goto out_free_jwks;
    }
    if (kid[0] == '\0') {
        if (json_array_size(keys) == 1)
            key = json_array_get(keys, 0);
    } else {
        json_array_foreach(keys, i, key)
        {
            json_t *k = json_object_get(key, "kid");

            if (json_is_string(k) && strcmp(json_string_value(k), kid) == 0)
                break;
        }
        if (i == json_array_size(keys))
            key = NULL;
    }
    if (!key) {
        if (kid[0])
            snprintf(err, cap, "the token's key (kid %s) is not in %s", kid, path);
        else
            snprintf(err, cap, "the token names no key (kid) and %s has %zu keys", path,
                     json_array_size(keys));
        rc = HV_CERT_NO_KEY;
        goto out_free_jwks;
    }
    x5c = json_object_get(key, "x5c");
    if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > CHAIN_MAX) {
        snprintf(err, cap, "the key %s in %s has no certificate (x5c)", kid, path);
        goto out_free_jwks;
    }
    c = cert_new();
    if (!c) {
        snprintf(err, cap, "out of memory");
        goto out_free_jwks;
    }
    for (i = 0; i < json_array_size(x5c); i++) {
        json_t *e = json_array_get(x5c, i);
        X509 *x =
            json_is_string(e) ? x5c_decode(json_string_value(e), json_string_length(e)) : NULL;

        if (!x || !cert_add(c, x)) {
            snprintf(err, cap, "certificate %zu of the key's x5c in %s does not decode", i, path);
            goto out_free_cert;
        }
    }
    *out = c;
    c = NULL;
    rc = HV_CERT_OK;

out_free_cert:
    hv_cert_free(c);
out_free_jwks:
    json_decref(jwks);
    return rc;
}

const uint8_t *hv_cert_der(const struct hv_cert *c, size_t *len)
{
    *len = c->der_len;
    return c->der;
}

void hv_cert_kid(const struct hv_cert *c, char kid[64])
{
    unsigned char *spki = NULL;
    uint8_t md[32];
    char b64[HS_B64URL_LEN(32) + 1];
    unsigned int mdlen = sizeof(md);
    int n;

    kid[0] = '\0';
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c->x509), &spki);
    if (n > 0 && EVP_Digest(spki, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
        hs_b64url_encode(md, sizeof(md), b64);
        hm_strlcpy(kid, b64, 64);
    }
    OPENSSL_free(spki);
    ERR_clear_error();
}

void hv_sha256_hex(const void *p, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[32];
    unsigned int mdlen = sizeof(md);

    out[0] = '\0';
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
        return;
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void name_line(const X509_NAME *name, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n = 0;

    out[0] = '\0';
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0)
        n = BIO_read(bio, out, (int)cap - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(bio);
}

void hv_cert_subject(const struct hv_cert *c, char *out, size_t cap)
{
    name_line(X509_get_subject_name(c->x509), out, cap);
}

static void time_line(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;

    if (!t || !ASN1_TIME_to_tm(t, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        hm_strlcpy(out, "?", cap);
}

void hv_cert_not_after(const struct hv_cert *c, char *out, size_t cap)
{
    time_line(X509_get0_notAfter(c->x509), out, cap);
}

bool hv_cert_check_self(const struct hv_cert *c, time_t now, char *err, size_t cap)
{
    char when[64];

    if (X509_cmp_time(X509_get0_notBefore(c->x509), &now) > 0) {
        time_line(X509_get0_notBefore(c->x509), when, sizeof(when));
        snprintf(err, cap,
                 "the signing certificate is not valid yet (from %s): check this "
                 "computer's clock",
                 when);
        return false;
    }
    if (X509_cmp_time(X509_get0_notAfter(c->x509), &now) < 0) {
        time_line(X509_get0_notAfter(c->x509), when, sizeof(when));
        snprintf(err, cap, "the signing certificate expired on %s", when);
        return false;
    }
    if ((X509_get_extension_flags(c->x509) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(c->x509) & KU_DIGITAL_SIGNATURE)) {
        snprintf(err, cap,
                 "the certificate is not a signing certificate (its key usage has no "
                 "digitalSignature)");
        return false;
    }
    return true;
}

/* The signing certificate's own dates are hv_cert_check_self's to report. */
static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
    int e = X509_STORE_CTX_get_error(ctx);

    if (!ok && X509_STORE_CTX_get_error_depth(ctx) == 0 &&
        (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID))
        return 1;
    return ok;
}

enum hv_chain_rc hv_cert_check_chain(const struct hv_cert *c, const char *root_path, time_t now,
                                     char *err, size_t cap)
{
    enum hv_chain_rc rc = HV_CHAIN_UNREADABLE;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    struct hv_cert *roots = cert_new();
    char who[256], when[64];
    X509 *bad;
    int e;

    if (!store || !ctx || !roots) {
        snprintf(err, cap, "out of memory");
        goto out_free;
    }
    if (read_pem_certs(root_path, roots, err, cap) <= 0)
        goto out_free;
    if (X509_STORE_add_cert(store, roots->x509) != 1) {
        snprintf(err, cap, "cannot use the certificates in %s", root_path);
        goto out_free;
    }
    for (int i = 0; i < sk_X509_num(roots->chain); i++) {
        if (X509_STORE_add_cert(store, sk_X509_value(roots->chain, i)) != 1) {
            snprintf(err, cap, "cannot use the certificates in %s", root_path);
            goto out_free;
        }
    }
    X509_STORE_set_verify_cb(store, chain_cb);
    if (X509_STORE_CTX_init(ctx, store, c->x509, c->chain) != 1) {
        snprintf(err, cap, "out of memory");
        goto out_free;
    }
    X509_STORE_CTX_set_time(ctx, 0, now);
    rc = HV_CHAIN_UNTRUSTED;
    if (X509_verify_cert(ctx) == 1) {
        rc = HV_CHAIN_OK;
        goto out_free;
    }
    e = X509_STORE_CTX_get_error(ctx);
    bad = X509_STORE_CTX_get_current_cert(ctx);
    if (bad)
        name_line(X509_get_subject_name(bad), who, sizeof(who));
    else
        hm_strlcpy(who, "?", sizeof(who));
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        snprintf(err, cap, "the signing certificate is not from this deployment's root (%s)",
                 root_path);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        time_line(bad ? X509_get0_notAfter(bad) : NULL, when, sizeof(when));
        snprintf(err, cap, "a certificate above the signing certificate (%s) expired on %s", who,
                 when);
        break;
    default:
        snprintf(err, cap, "the chain to %s does not verify at %s: %s", root_path, who,
                 X509_verify_cert_error_string(e));
        break;
    }

out_free:
    hv_cert_free(roots);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}
