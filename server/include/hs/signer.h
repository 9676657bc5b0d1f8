/*
 * The signing service's key: ES256 (ECDSA P-256 with SHA-256) behind one
 * interface, whether the private key is a PEM file (sign/pem.c) or an object
 * in a PKCS#11 token (sign/pkcs11.c, SoftHSM2 in tests, an HSM in
 * production). The rest of the server cannot tell which: it asks for a
 * signature over a message and gets the 64-byte r||s that JWS ES256 uses.
 *
 * A signer is safe to use from several threads at once (the PKCS#11 backend
 * keeps one session per thread or serialises on a lock).
 */
#ifndef HS_SIGNER_H
#define HS_SIGNER_H

#include "hs/error.h"

#include <stddef.h>
#include <stdint.h>

struct hs_signer;

#define HS_ES256_SIG_LEN 64

struct hs_signer_config {
    /* "pem" or "pkcs11". */
    const char *kind;
    /* pem: the private key file (PEM, P-256). */
    const char *key_file;
    /* pkcs11: the module (e.g. /usr/lib/softhsm/libsofthsm2.so), the token
     * label, the user PIN and the key's CKA_LABEL. The PIN is wiped from the
     * signer's memory after login; the caller wipes its own copy. */
    const char *module;
    const char *token_label;
    const char *pin;
    const char *key_label;
    /* Both: the signing certificate (PEM) whose public key must match the key. */
    const char *cert_file;
};

/*
 * Opens the key and checks that it is a P-256 key matching the certificate
 * (by signing a test message and verifying it with the certificate's key).
 * HS_E_KEY with a logged reason when it cannot. For pkcs11: HS_E_PKCS11 when
 * the module fails, and HS_E_CONFLICT when another signer (or hs_p11_keygen)
 * of this process holds the same token, since PKCS#11 has one login per
 * process and a second C_Login would not check its PIN.
 */
hs_rc hs_signer_open(const struct hs_signer_config *cfg, struct hs_signer **out);
/* NULL is a no-op. Logs out of the token, wipes key material. */
void hs_signer_free(struct hs_signer *s);

/* SHA-256 of msg signed; sig gets r||s, 32 bytes each, big-endian. */
hs_rc hs_signer_sign(struct hs_signer *s, const uint8_t *msg, size_t len,
                     uint8_t sig[HS_ES256_SIG_LEN]);

/* The signing certificate, DER (owned by the signer). */
const uint8_t *hs_signer_cert_der(const struct hs_signer *s, size_t *len);
/* The certificate as PEM text, NUL-terminated (owned by the signer). */
const char *hs_signer_cert_pem(const struct hs_signer *s);
/* The key id: base64url of the SHA-256 of the certificate's SubjectPublicKeyInfo
 * (43 characters, NUL-terminated, owned by the signer). */
const char *hs_signer_kid(const struct hs_signer *s);
/* "pem" or "pkcs11". */
const char *hs_signer_kind(const struct hs_signer *s);
/* Signatures made so far (for metrics). */
uint64_t hs_signer_count(const struct hs_signer *s);

/*
 * Checks sig (r||s) over the SHA-256 of msg with the public key of an X.509
 * certificate (DER). HS_OK when it verifies, HS_E_SIGNATURE when it does not,
 * HS_E_KEY when the certificate does not parse or its key is not P-256.
 * Needs no signer: kiosks and tests verify with the published certificate.
 */
hs_rc hs_signer_verify_cert(const uint8_t *cert_der, size_t cert_len, const uint8_t *msg,
                            size_t len, const uint8_t sig[HS_ES256_SIG_LEN]);

/*
 * For the admin tool: generates a P-256 key pair in the PKCS#11 token labelled
 * token_label (module loaded from the path module), logging in as the user
 * with pin. Both halves get CKA_LABEL key_label; the private key is a token
 * object, private, sensitive, not extractable, for signing only. *spki_der
 * (malloc'd, freed by the caller with free()) gets the public key as a DER
 * SubjectPublicKeyInfo, ready for a certificate request.
 * HS_E_CONFLICT, before generating anything, when an object with key_label
 * exists in the token; HS_E_KEY for a missing token or a refused PIN;
 * HS_E_PKCS11 when the module fails (the CKR_ code is logged).
 */
hs_rc hs_p11_keygen(const char *module, const char *token_label, const char *pin,
                    const char *key_label, uint8_t **spki_der, size_t *spki_len);

#endif
