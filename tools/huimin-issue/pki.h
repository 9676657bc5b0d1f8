/*
 * The deployment's card PKI as the bureau's card office runs it: an issuer CA,
 * welfare-card certificates for keys generated on cards, CRLs, and the CMS
 * signature over a CHUID. Used by huimin-issue and by tests that need cards
 * with good and bad credentials.
 */
#ifndef HUIMIN_PKI_H
#define HUIMIN_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pki_ca {
    EVP_PKEY *key;
    X509 *cert;
};

/* A new self-signed issuer CA (P-256), valid from now for days. 0 or -1. */
int pki_ca_create(struct pki_ca *ca, const char *common_name, int days);
/* Loads a CA from PEM files. 0 or -1. */
int pki_ca_load(struct pki_ca *ca, const char *cert_file, const char *key_file);
/* Writes the CA certificate and (0600) key as PEM. 0 or -1. */
int pki_ca_save(const struct pki_ca *ca, const char *cert_file, const char *key_file);
void pki_ca_free(struct pki_ca *ca);
/* PEM files: a certificate, a CRL, a private key (created 0600). 0 or -1. */
int pki_write_cert(X509 *cert, const char *path);
int pki_write_crl(X509_CRL *crl, const char *path);
int pki_write_key(EVP_PKEY *key, const char *path);

struct pki_holder {
    const char *name;       /* CN, UTF-8 (e.g. 张秀英) */
    const char *welfare_no; /* serialNumber */
    const char *org;        /* O: the bureau */
};

/*
 * Certificate for a card key. not_before_days / days: validity relative to now
 * (a negative not_before with a short days gives an expired card). key_usage:
 * X509v3 KU bits (KU_DIGITAL_SIGNATURE...). Returns NULL on failure.
 */
X509 *pki_issue(const struct pki_ca *ca, EVP_PKEY *pub, const struct pki_holder *h, uint64_t serial,
                int not_before_days, int days, uint32_t key_usage);

/* A CRL of the CA revoking the given serials, next update in days. */
X509_CRL *pki_crl(const struct pki_ca *ca, const uint64_t *serials, size_t n, int days);

/* The public key in a PIV GENERATE answer (7F49 template) as an EVP_PKEY. */
EVP_PKEY *pki_pubkey_from_piv(const uint8_t *raw, size_t len, uint8_t alg);

/* A fresh P-256 key pair (for tests and for a clone card's key). */
EVP_PKEY *pki_ec_key(void);

/*
 * CMS SignedData (DER, detached, eContentType id-PIV-CHUIDSecurityObject)
 * over content, by the CA's key: the CHUID issuer signature. *out is
 * OPENSSL_malloc'd. 0 or -1.
 */
int pki_sign_chuid(const struct pki_ca *ca, const uint8_t *content, size_t len, uint8_t **out,
                   size_t *out_len);

/* DER of a certificate (OPENSSL_malloc'd). 0 or -1. */
int pki_cert_der(X509 *cert, uint8_t **out, size_t *out_len);

/*
 * What pki_issue_cert() puts in a certificate. The extension strings use
 * OpenSSL's configuration syntax ("critical,digitalSignature",
 * "serverAuth", "DNS:localhost,IP:127.0.0.1"); NULL leaves the extension out.
 */
struct pki_cert_spec {
    const char *cn;            /* CN, UTF-8 */
    const char *org;           /* O, UTF-8, or NULL */
    uint64_t serial;           /* 0: a random positive 63-bit serial */
    int days;                  /* valid from an hour ago (for lagging clocks) for days */
    bool ca;                   /* basicConstraints critical,CA:TRUE instead of CA:FALSE */
    int path_len;              /* with ca: the pathlen constraint, or -1 for none */
    const char *key_usage;     /* keyUsage */
    const char *ext_key_usage; /* extendedKeyUsage */
    const char *san;           /* subjectAltName */
};

/*
 * A certificate for pub as spec describes, signed by ca with SHA-256, with
 * subject and authority key identifiers. With ca NULL the certificate is
 * self-signed: pub must then hold the private key. Returns NULL on failure.
 */
X509 *pki_issue_cert(const struct pki_ca *ca, EVP_PKEY *pub, const struct pki_cert_spec *spec);

/* Writes n certificates one after another into one PEM file (a chain, leaf first). 0 or -1. */
int pki_write_certs(X509 *const *certs, size_t n, const char *path);

#endif
