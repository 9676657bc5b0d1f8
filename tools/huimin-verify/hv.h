/*
 * huimin-verify: the pieces main.c puts together. qr.c reads a QR code out of
 * a PNG (zbar and libpng stay in that file); cert.c finds the signing
 * certificate (a PEM file or a JWKS entry) and judges it (OpenSSL stays in
 * that file). Both report failures as a sentence in err for a person to read.
 *
 * Exit codes (a script can rely on them; documented in `huimin-verify --help`):
 *   0  the token is genuine
 *   1  usage: unknown option, missing or conflicting arguments
 *   2  an input cannot be read: the token, the PNG (or no QR code in it), the
 *      certificate, the JWKS or the root file
 *   4  the token was read and is not good: altered, made by another key, not
 *      a token at all, its certificate expired or not under the given root
 */
#ifndef HV_H
#define HV_H

#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum hv_exit {
    HV_EXIT_OK = 0,
    HV_EXIT_USAGE = 1,
    HV_EXIT_INPUT = 2,
    HV_EXIT_NOT_GENUINE = 4,
};

/* The largest image we decode, in pixels (a 12-megapixel photo fits). */
#define HV_PNG_MAX_PIXELS (40u * 1000u * 1000u)
/* The largest PNG file we read. */
#define HV_PNG_FILE_MAX (64u * 1024u * 1024u)

/*
 * Decodes the QR code in the PNG file at path and appends its text to out
 * (an hm_buf whose maximum bounds the token). When the image holds several
 * codes, the one that looks like a JWS (header.payload.signature) is taken;
 * several different such codes are refused. Returns 0, or -1 with err set
 * (not a PNG, too large, no QR code, several tokens).
 */
int hv_qr_read_png(const char *path, struct hm_buf *out, char *err, size_t cap);

/* The signing certificate and the certificates that came after it (intermediates). */
struct hv_cert;

enum hv_cert_rc {
    HV_CERT_OK = 0,
    HV_CERT_UNREADABLE, /* the file cannot be read or holds no certificate: exit 2 */
    HV_CERT_NO_KEY,     /* the JWKS has no key for the token's kid: exit 4 */
};

/* Loads the first certificate of a PEM file, and any after it as intermediates. */
enum hv_cert_rc hv_cert_load_pem(const char *path, struct hv_cert **out, char *err, size_t cap);

/*
 * Loads the key of a JWKS file (RFC 7517, as GET /v1/jwks serves it) whose
 * "kid" is kid; kid "" takes the only key of a one-key set. The certificate is
 * the key's "x5c"[0], the rest of "x5c" are intermediates.
 */
enum hv_cert_rc hv_cert_from_jwks(const char *path, const char *kid, struct hv_cert **out,
                                  char *err, size_t cap);

/* NULL is a no-op. */
void hv_cert_free(struct hv_cert *c);

/* The certificate, DER (owned by c). */
const uint8_t *hv_cert_der(const struct hv_cert *c, size_t *len);
/* The deployment's key id of the certificate: base64url(SHA-256(SubjectPublicKeyInfo)). */
void hv_cert_kid(const struct hv_cert *c, char kid[64]);
/* The subject as one line ("CN=Huimin Signing, O=Huimin"), and notAfter as "2027-01-31 UTC". */
void hv_cert_subject(const struct hv_cert *c, char *out, size_t cap);
void hv_cert_not_after(const struct hv_cert *c, char *out, size_t cap);

/*
 * Checks the certificate itself at time now: inside its validity period, and
 * allowed to sign (digitalSignature when it has a keyUsage). Returns true, or
 * false with the reason in err ("expired on 2025-01-31 UTC").
 */
bool hv_cert_check_self(const struct hv_cert *c, time_t now, char *err, size_t cap);

enum hv_chain_rc {
    HV_CHAIN_OK = 0,
    HV_CHAIN_UNREADABLE, /* the root file cannot be read: exit 2 */
    HV_CHAIN_UNTRUSTED,  /* no chain to the root, or a certificate in it is bad: exit 4 */
};

/*
 * Checks that the certificate chains (through its intermediates) to a
 * certificate of the PEM file root_path, at time now. The certificate's own
 * dates are hv_cert_check_self's business and are not reported twice here.
 */
enum hv_chain_rc hv_cert_check_chain(const struct hv_cert *c, const char *root_path, time_t now,
                                     char *err, size_t cap);

/* The SHA-256 of n bytes as 64 lower-case hex digits (to compare tokens without showing them). */
void hv_sha256_hex(const void *p, size_t n, char out[65]);

#endif
