/*
 * The welfare card's driver: a PIV card (NIST SP 800-73-4 Parts 1-2).
 *
 * Card commands take a connected cl_card; the parsers take bytes and never
 * touch a card, so they can be fuzzed. Algorithm identifiers are data
 * (enum cl_piv_alg): ECDSA P-256 is the default, RSA-2048 follows through the
 * same calls. Nothing here decides whether a card is genuine: that is
 * cl_piv_verify() (piv_verify.c), which returns one verdict per check.
 */
#ifndef CL_PIV_H
#define CL_PIV_H

#include "cl/card.h"
#include "cl/verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key references (SP 800-78-4 Table 5 / SP 800-73-4 Part 1 Table 4b). */
enum cl_piv_key {
    CL_PIV_KEY_AUTH = 0x9A,     /* PIV Authentication (PIN) */
    CL_PIV_KEY_MGMT = 0x9B,     /* card management (personalisation) */
    CL_PIV_KEY_SIGN = 0x9C,     /* Digital Signature (PIN every time) */
    CL_PIV_KEY_KEYMGMT = 0x9D,  /* Key Management (PIN) */
    CL_PIV_KEY_CARDAUTH = 0x9E, /* Card Authentication (no PIN: "tap only") */
};

/* Cryptographic mechanism identifiers (SP 800-78-4 Table 6-2). */
enum cl_piv_alg {
    CL_PIV_ALG_3DES = 0x03,
    CL_PIV_ALG_RSA1024 = 0x06,
    CL_PIV_ALG_RSA2048 = 0x07,
    CL_PIV_ALG_AES128 = 0x08,
    CL_PIV_ALG_AES192 = 0x0A,
    CL_PIV_ALG_AES256 = 0x0C,
    CL_PIV_ALG_ECC_P256 = 0x11,
    CL_PIV_ALG_ECC_P384 = 0x14,
};

/* Data object tags (SP 800-73-4 Part 1 Table 3), as 3-byte numbers. */
#define CL_PIV_OBJ_CHUID         0x5FC102u
#define CL_PIV_OBJ_CERT_AUTH     0x5FC105u /* 9A */
#define CL_PIV_OBJ_CERT_SIGN     0x5FC10Au /* 9C */
#define CL_PIV_OBJ_CERT_KEYMGMT  0x5FC10Bu /* 9D */
#define CL_PIV_OBJ_CERT_CARDAUTH 0x5FC101u /* 9E */
#define CL_PIV_OBJ_PRINTED       0x5FC109u
#define CL_PIV_OBJ_SECURITY      0x5FC106u
#define CL_PIV_OBJ_KEY_HISTORY   0x5FC10Cu
#define CL_PIV_OBJ_DISCOVERY     0x7Eu

/* PIN references (SP 800-73-4 Part 2 Table 6). */
#define CL_PIV_REF_PIN 0x80
#define CL_PIV_REF_PUK 0x81

#define CL_PIV_PIN_MIN  6
#define CL_PIV_PIN_MAX  8
#define CL_PIV_OBJ_MAX  16384 /* the largest object we read (a certificate with room) */
#define CL_PIV_CERT_MAX 8192  /* a certificate after decompression */

extern const uint8_t cl_piv_aid[11];

/* The certificate object of a key reference (0 when the key has none). */
uint32_t cl_piv_cert_object(uint8_t key);
/* "9C Digital Signature": for people and logs. */
const char *cl_piv_key_name(uint8_t key);
/* True for the algorithms this driver can use for signatures. */
bool cl_piv_alg_is_signature(uint8_t alg);

/* ---- parsers (no card) ------------------------------------------------- */

struct cl_piv_apt {
    uint8_t aid[16];
    size_t aid_len;
    char label[64]; /* printable ASCII, may be empty */
    uint8_t algs[16];
    size_t nalgs;
};

/* The Application Property Template a SELECT answers with (61 {4F, 79, 50, AC}). */
cl_rc cl_piv_parse_apt(const uint8_t *p, size_t n, struct cl_piv_apt *out);

struct cl_piv_chuid {
    uint8_t fascn[25];
    bool has_fascn;
    uint8_t guid[16]; /* the card UUID */
    bool has_guid;
    char expiry[9];             /* "YYYYMMDD" */
    const uint8_t *signed_part; /* the bytes the issuer signature covers (before 3E) */
    size_t signed_len;
    const uint8_t *signature; /* CMS SignedData (DER), or NULL */
    size_t signature_len;
};

/* The CHUID's content (inside the 53 wrapper). Pointers refer into p. */
cl_rc cl_piv_parse_chuid(const uint8_t *p, size_t n, struct cl_piv_chuid *out);

struct cl_piv_printed {
    char name[128];       /* tag 01: the holder's name, UTF-8 */
    char affiliation[64]; /* tag 02: "welfare card" line */
    char expiry[16];      /* tag 04: "2030DEC31" */
    char serial[32];      /* tag 05: agency card serial number */
    char issuer[32];      /* tag 06: issuer identification */
};

/* Printed Information (inside the 53 wrapper). Control characters are refused. */
cl_rc cl_piv_parse_printed(const uint8_t *p, size_t n, struct cl_piv_printed *out);

struct cl_piv_discovery {
    uint8_t aid[16];
    size_t aid_len;
    uint16_t pin_policy; /* tag 5F2F: two bytes */
};

cl_rc cl_piv_parse_discovery(const uint8_t *p, size_t n, struct cl_piv_discovery *out);

/*
 * A certificate object (70 cert, 71 CertInfo, FE): writes the DER certificate
 * into der, gunzipping it when CertInfo says it is compressed, never beyond
 * CL_PIV_CERT_MAX or cap. CL_E_DATA_MALFORMED on anything odd.
 */
cl_rc cl_piv_parse_cert_object(const uint8_t *p, size_t n, uint8_t *der, size_t cap,
                               size_t *der_len);

/* The public key in a GENERATE answer (7F49 {86 point} or {81 n, 82 e}). */
struct cl_piv_pubkey {
    uint8_t alg;
    const uint8_t *point; /* EC: uncompressed point */
    size_t point_len;
    const uint8_t *modulus, *exponent; /* RSA */
    size_t modulus_len, exponent_len;
};

cl_rc cl_piv_parse_pubkey(const uint8_t *p, size_t n, uint8_t alg, struct cl_piv_pubkey *out);

/* ---- card commands ----------------------------------------------------- */

/* SELECT the PIV application; apt (may be NULL) gets its property template. */
cl_rc cl_piv_select(cl_card *card, struct cl_piv_apt *apt);

/* GET DATA of an object: its value inside the 53 wrapper into out. */
cl_rc cl_piv_get_data(cl_card *card, uint32_t tag, uint8_t *out, size_t cap, size_t *len);

/* PUT DATA of an object (needs management-key authentication): value without the 53. */
cl_rc cl_piv_put_data(cl_card *card, uint32_t tag, const uint8_t *value, size_t len);

/* Reads and decodes the certificate of a key reference (DER). */
cl_rc cl_piv_read_cert(cl_card *card, uint8_t key, uint8_t *der, size_t cap, size_t *der_len);

/*
 * VERIFY the PIN (6-8 digits). On a wrong PIN returns CL_E_PIN_INCORRECT and
 * *tries_left (may be NULL) the tries left; CL_E_AUTH_BLOCKED when blocked.
 * The PIN buffer sent to the card is wiped.
 */
cl_rc cl_piv_verify_pin(cl_card *card, const char *pin, int *tries_left);

/*
 * The PIN's state without trying one: CL_OK when verified in this session,
 * CL_E_SECURITY_STATUS with *tries_left when not yet, CL_E_AUTH_BLOCKED.
 */
cl_rc cl_piv_pin_status(cl_card *card, int *tries_left);

/* CHANGE REFERENCE DATA of the PIN (ref 80) or PUK (ref 81). */
cl_rc cl_piv_change_ref(cl_card *card, uint8_t ref, const char *old_value, const char *new_value,
                        int *tries_left);

/* RESET RETRY COUNTER: unblocks the PIN with the PUK and sets a new PIN. */
cl_rc cl_piv_unblock_pin(cl_card *card, const char *puk, const char *new_pin, int *tries_left);

/*
 * GENERAL AUTHENTICATE with a private key: for ECDSA in is the digest and
 * sig gets the DER ECDSA-Sig-Value; for RSA in is the padded block and sig the
 * raw result. 9C needs cl_piv_verify_pin() right before.
 */
cl_rc cl_piv_sign(cl_card *card, uint8_t key, uint8_t alg, const uint8_t *in, size_t in_len,
                  uint8_t *sig, size_t cap, size_t *sig_len);

/*
 * Mutual authentication with the card management key (9B): 3DES (24-byte
 * key) or AES-128/192/256. CL_E_AUTH_FAILED when the card does not prove the
 * key. Needs OpenSSL; the key is not kept.
 */
cl_rc cl_piv_mgmt_auth(cl_card *card, uint8_t alg, const uint8_t *key, size_t key_len);

/* GENERATE ASYMMETRIC KEY PAIR in a slot; raw gets the 7F49 template. */
cl_rc cl_piv_generate(cl_card *card, uint8_t key, uint8_t alg, uint8_t *raw, size_t cap,
                      size_t *raw_len);

/* ---- authenticity (piv_verify.c, OpenSSL) ------------------------------ */

/*
 * What to send to GENERAL AUTHENTICATE so the card signs msg with SHA-256
 * under the key the certificate holds: the digest for ECDSA, the PKCS#1 v1.5
 * block for RSA. *alg gets the PIV algorithm of the key.
 */
cl_rc cl_piv_sign_input(const uint8_t *cert, size_t cert_len, const uint8_t *msg, size_t msg_len,
                        uint8_t *alg, uint8_t *out, size_t cap, size_t *out_len);

/* Verifies a signature the card made over msg (SHA-256) against a certificate. */
cl_rc cl_piv_check_signature(const uint8_t *cert, size_t cert_len, const uint8_t *msg,
                             size_t msg_len, const uint8_t *sig, size_t sig_len);

/*
 * What a card showed at a tap, as bytes: the kiosk collects it from the card
 * and verifies it; the server verifies the same bytes again. The challenge is
 * the server's fresh nonce; the card signs SHA-256(challenge) with its 9E key.
 */
struct cl_piv_evidence {
    uint8_t cert[CL_PIV_CERT_MAX]; /* 9E certificate, DER */
    size_t cert_len;
    uint8_t chuid[4096]; /* CHUID content (inside 53), or empty */
    size_t chuid_len;
    uint8_t challenge[64];
    size_t challenge_len;
    uint8_t alg; /* of the 9E key */
    uint8_t sig[512];
    size_t sig_len;
};

/*
 * At a tap: reads the 9E certificate and the CHUID and has the card sign the
 * challenge with the 9E key (no PIN). The card must be selected.
 */
cl_rc cl_piv_collect(cl_card *card, const uint8_t *challenge, size_t challenge_len,
                     struct cl_piv_evidence *out);

struct cl_piv_trust {
    const char *ca_file;  /* PEM: the deployment's issuer CA (and intermediates) */
    const char *crl_file; /* PEM CRL of the issuer, or NULL: revocation not checked */
    int64_t now;          /* unix time to check validity at; 0: the current time */
};

/*
 * Verifies evidence against the trust anchors; one check each, in this order:
 *   "chain"       the 9E certificate chains to the issuer CA
 *   "validity"    it is within its validity period (at trust->now)
 *   "key-usage"   it allows digitalSignature
 *   "revocation"  it is not on the CRL (not checked without a CRL)
 *   "chuid"       the CHUID's issuer signature (CMS) verifies against the CA
 *                 and the CHUID has not expired (not checked without a CHUID)
 *   "possession"  the card signed the challenge with the certified 9E key
 * Returns CL_OK when it could run the checks (read the verdict), or an error
 * for unusable input (CL_E_INVALID_ARG, a CA file that does not load: CL_E_IO).
 */
cl_rc cl_piv_verify(const struct cl_piv_trust *trust, const struct cl_piv_evidence *ev,
                    struct cl_verdict *verdict);

/*
 * The trust anchors of cl_piv_verify() loaded once, for many verifications:
 * the issuer CA file is parsed and the CRL read when the verifier is made,
 * not at every tap (OpenSSL 3.0 decodes a certificate's key slowly, under
 * locks). Immutable once made, so threads may share one; it is reference
 * counted, and the last cl_piv_verifier_free() releases it. Files that change
 * need a new verifier. Errors as cl_piv_verify().
 */
typedef struct cl_piv_verifier cl_piv_verifier;

cl_rc cl_piv_verifier_new(const char *ca_file, const char *crl_file, cl_piv_verifier **out);
/* Another reference to vf (returned). */
cl_piv_verifier *cl_piv_verifier_ref(cl_piv_verifier *vf);
/* Drops a reference; NULL is ignored. */
void cl_piv_verifier_free(cl_piv_verifier *vf);

struct evp_pkey_st; /* OpenSSL's EVP_PKEY, kept opaque here */

/* What a verification read of the certificate, so the caller need not parse it again. */
struct cl_piv_cert_info {
    char name[128];          /* subject CN (UTF-8), "" when absent or too long */
    char welfare_no[32];     /* subject serialNumber, "" when absent or too long */
    char serial[64];         /* the certificate's serial number in decimal, "" if unusable */
    int64_t not_after;       /* unix time, 0 if unreadable */
    struct evp_pkey_st *key; /* the certified key, a reference of the caller's, or NULL */
};

/* Releases info->key and clears info. */
void cl_piv_cert_info_clear(struct cl_piv_cert_info *info);

/*
 * cl_piv_verify() with loaded trust, at now (unix time; 0: the current time).
 * With msg, "possession" is the card's signature (ev->sig) over SHA-256 of
 * msg instead of over ev->challenge: a signed statement rather than a
 * challenge. info (may be NULL) is filled when the certificate parses
 * (cleared otherwise); its key must be released with cl_piv_cert_info_clear().
 */
cl_rc cl_piv_verify_with(const cl_piv_verifier *vf, int64_t now, const struct cl_piv_evidence *ev,
                         const uint8_t *msg, size_t msg_len, struct cl_verdict *verdict,
                         struct cl_piv_cert_info *info);

/* A card is genuine when chain, validity, key usage and possession passed and
 * nothing failed. */
bool cl_piv_genuine(const struct cl_verdict *verdict);

/*
 * The holder as the 9E (or any) certificate names them: subject CN (UTF-8)
 * and serialNumber (the welfare number). CL_E_CERT_INVALID if it does not parse.
 */
cl_rc cl_piv_cert_holder(const uint8_t *der, size_t len, char *name, size_t name_cap,
                         char *welfare_no, size_t no_cap);

#endif
