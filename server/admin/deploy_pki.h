/*
 * The deployment's PKI as huimin-admin makes it (library hs_admin_pki):
 *
 *   root-ca.pem/.key     self-signed P-256 root, CA:TRUE, keyCertSign + cRLSign
 *   issuer-ca.pem/.key   welfare-card issuer CA under the root; the .pem holds the
 *                        issuer certificate first and the root after it, so
 *                        `huimin-issue card --dir PKI` signs with the issuer and a
 *                        verifier given issuer-ca.pem finds the whole chain
 *   issuer.crl           the issuer's (empty) CRL, as huimin-issue writes it
 *   kiosk-ca.pem/.key    kiosk client CA under the root (with the root, as above)
 *   server-tls.pem/.key  the HTTPS certificate: serverAuth, SAN localhost,
 *                        127.0.0.1 and the extra hosts, signed by the root
 *   signing.pem(/.key)   the signing certificate (digitalSignature) under the
 *                        root; no .key when the key lives in a PKCS#11 token
 *   seal.key             32 random bytes that seal card PUKs
 *   csca/                an empty folder for ID-card CSCA certificates
 *
 * Private key files are created 0600, the folder 0700. OpenSSL stays inside
 * deploy_pki.c: callers see paths, strings and hs_rc.
 */
#ifndef HS_ADMIN_DEPLOY_PKI_H
#define HS_ADMIN_DEPLOY_PKI_H

#include "hs/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_PKI_ROOT_CERT   "root-ca.pem"
#define HS_PKI_ROOT_KEY    "root-ca.key"
#define HS_PKI_ISSUER_CERT "issuer-ca.pem"
#define HS_PKI_ISSUER_KEY  "issuer-ca.key"
#define HS_PKI_ISSUER_CRL  "issuer.crl"
#define HS_PKI_KIOSK_CERT  "kiosk-ca.pem"
#define HS_PKI_KIOSK_KEY   "kiosk-ca.key"
#define HS_PKI_TLS_CERT    "server-tls.pem"
#define HS_PKI_TLS_KEY     "server-tls.key"
#define HS_PKI_SIGN_CERT   "signing.pem"
#define HS_PKI_SIGN_KEY    "signing.key"
#define HS_PKI_SEAL_KEY    "seal.key"
#define HS_PKI_CSCA_DIR    "csca"

#define HS_PKI_SEAL_KEY_LEN 32
#define HS_PKI_HOSTS_MAX    16

struct hs_pki_opts {
    const char *bureau;       /* O= in every certificate (UTF-8); NULL: "Huimin" */
    const char *const *hosts; /* the server's names beyond localhost and 127.0.0.1 */
    size_t nhosts;            /* at most HS_PKI_HOSTS_MAX */
    /* The signing key's public half as DER SubjectPublicKeyInfo when the key
     * lives in a token (hs_p11_keygen); NULL makes a new key in signing.key. */
    const uint8_t *signing_spki;
    size_t signing_spki_len;
};

/*
 * Creates pki_dir (it must not exist; HS_E_CONFLICT if it does) and every file
 * listed above. On failure nothing is left: the folder is removed again and
 * err says which step failed (HS_E_INVALID_ARG for a bad host name, HS_E_IO
 * for a file, HS_E_CRYPTO for OpenSSL).
 */
hs_rc hs_pki_create(const char *pki_dir, const struct hs_pki_opts *o, char *err, size_t err_cap);

/* True for a host name or numeric IP address usable in the TLS certificate's SAN. */
bool hs_pki_host_valid(const char *host);

/* What the registry records about a kiosk's certificate. */
struct hs_kiosk_cert {
    char sha256[65]; /* lower-case hex SHA-256 of the certificate DER */
    char serial[64]; /* the serial number, lower-case hex */
};

/*
 * Issues a kiosk's client certificate (P-256, CN=kiosk_id, O copied from the
 * kiosk CA, EKU clientAuth, signed by pki_dir's kiosk CA) into out_dir, which
 * must exist: kiosk.pem (certificate, then the kiosk CA), kiosk.key (0600),
 * server-ca.pem (the root the kiosk trusts for TLS) and signing.pem (a copy of
 * signing_cert, which the kiosk pins). HS_E_KEY when the kiosk CA cannot be
 * loaded, HS_E_IO for a file, HS_E_CRYPTO for OpenSSL.
 */
hs_rc hs_pki_issue_kiosk(const char *pki_dir, const char *kiosk_id, const char *signing_cert,
                         const char *out_dir, struct hs_kiosk_cert *out, char *err, size_t err_cap);

/* The first certificate of a PEM file as DER (*der malloc'd, freed with free()). */
hs_rc hs_pki_cert_file_der(const char *path, uint8_t **der, size_t *len);

/*
 * Removes path and everything below it without following symbolic links;
 * for cleaning up a folder this tool created. A missing path is HS_OK.
 */
/*
 * A welfare card's certificate (PEM file) as the card registry needs it: the
 * serial in decimal, the holder (CN) and the welfare number (serialNumber).
 * HS_E_SIGNATURE when it was not issued by the CA in issuer_ca_file (the
 * issuer certificate first, then its chain), HS_E_MALFORMED when it does not
 * parse or names no holder.
 */
struct hs_card_cert {
    char serial[64];
    char holder[128];
    char welfare_no[32];
};
hs_rc hs_pki_card_cert(const char *cert_file, const char *issuer_ca_file, struct hs_card_cert *out);

hs_rc hs_pki_remove_tree(const char *path);

#endif
