/*
 * Inside the signing service: the ops table each key backend fills (pem.c,
 * pkcs11.c), and the certificate helpers of cert.c. Only these files see
 * OpenSSL or pkcs11.h; this header names neither, so signer.c and jws.c work
 * with our own types.
 */
#ifndef HS_SIGN_INT_H
#define HS_SIGN_INT_H

#include "hs/error.h"
#include "hs/signer.h"

#include <stddef.h>
#include <stdint.h>

#define HS_SHA256_LEN 32
#define HS_P256_COORD 32

/*
 * A key backend. open() allocates the backend context that close() frees;
 * every buffer passed to sign_digest() is the caller's.
 */
struct hs_signer_ops {
    const char *name; /* the config's kind: "pem" or "pkcs11" */
    /* Opens the private key that cfg names. Logs the reason and returns
     * HS_E_KEY (or HS_E_PKCS11, HS_E_NO_MEMORY) on failure. */
    hs_rc (*open)(const struct hs_signer_config *cfg, void **ctx);
    /* Signs a SHA-256 digest, giving r||s. Called from many threads at once. */
    hs_rc (*sign_digest)(void *ctx, const uint8_t digest[HS_SHA256_LEN],
                         uint8_t sig[HS_ES256_SIG_LEN]);
    /* Frees ctx and wipes what it holds; NULL is a no-op. */
    void (*close)(void *ctx);
};

extern const struct hs_signer_ops hs_signer_pem_ops;
extern const struct hs_signer_ops hs_signer_pkcs11_ops;

/*
 * An X.509 certificate whose public key is P-256 (cert.c), with the forms
 * the service publishes: DER, PEM, the SubjectPublicKeyInfo and the point.
 */
struct hs_cert;

/* HS_E_KEY (logged) when the file does not hold one P-256 certificate. */
hs_rc hs_cert_load_pem_file(const char *path, struct hs_cert **out);
/* HS_E_KEY when der is not exactly one P-256 certificate. */
hs_rc hs_cert_parse_der(const uint8_t *der, size_t len, struct hs_cert **out);
void hs_cert_free(struct hs_cert *c);
/* The views below are owned by c. */
const uint8_t *hs_cert_der(const struct hs_cert *c, size_t *len);
const char *hs_cert_pem(const struct hs_cert *c);
const uint8_t *hs_cert_spki(const struct hs_cert *c, size_t *len);
/* The public point's affine coordinates, 32 bytes each, big-endian. */
const uint8_t *hs_cert_x(const struct hs_cert *c);
const uint8_t *hs_cert_y(const struct hs_cert *c);
/* HS_OK or HS_E_SIGNATURE. */
hs_rc hs_cert_verify_digest(const struct hs_cert *c, const uint8_t digest[HS_SHA256_LEN],
                            const uint8_t sig[HS_ES256_SIG_LEN]);

/* SHA-256 of n bytes. */
void hs_sha256(const void *p, size_t n, uint8_t out[HS_SHA256_LEN]);
/* Logs "what: <first OpenSSL error>" at error level and clears the queue. */
void hs_sign_log_ossl(const char *what);

/* The signer's certificate (signer.c), for the JWKS. */
const struct hs_cert *hs_signer_cert(const struct hs_signer *s);

#endif
