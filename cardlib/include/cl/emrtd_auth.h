/*
 * Is this ID card genuine? ICAO Doc 9303 Part 11 Passive Authentication (the
 * SOD's signature, its Document Signer chained to a trusted CSCA, the
 * data-group hashes) and Active Authentication (the chip signs a challenge
 * with the private key whose public half DG15 holds, so a copy of the data
 * on another chip fails).
 *
 *   cl_emrtd_trust *t;  cl_emrtd_trust_load("/etc/huimin/csca", &t);   (once)
 *   ... cl_emrtd_select_app(), cl_emrtd_bac() ...
 *   cl_emrtd_collect(card, nonce, 8, &ev);     (reads the LDS, runs AA)
 *   cl_emrtd_verify(t, 0, &ev, &verdict);      (no card needed: the server can re-check)
 *
 * Checks, in the verdict under these names:
 *   "sod-signature"  EF.SOD is CMS SignedData over an LDS Security Object,
 *                    its one signature (signed attributes, message digest)
 *                    verifies with the Document Signer certificate it carries
 *   "csca-chain"     that certificate chains to a CSCA in the trust store
 *   "ds-validity"    the Document Signer certificate is within its validity
 *   "revocation"     it is not on its CSCA's CRL (not checked without a CRL)
 *   "dgN-hash"       for every data group read (dg1-hash, dg2-hash, ...): its
 *                    hash equals the one in the signed LDS Security Object
 *   "active-auth"    the chip's signature over the challenge verifies with
 *                    the DG15 key: ECDSA (plain r||s, hash from DG14) or RSA
 *                    with ISO/IEC 9796-2 scheme 1. Checked only once Passive
 *                    Authentication verified DG15 (and DG14 for ECDSA).
 */
#ifndef CL_EMRTD_AUTH_H
#define CL_EMRTD_AUTH_H

#include "cl/card.h"
#include "cl/error.h"
#include "cl/lds.h"
#include "cl/verdict.h"
#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_EMRTD_CHALLENGE_LEN 8
#define CL_EMRTD_AA_SIG_MAX    512 /* RSA-4096 */

/* What was read from a chip: enough to verify it again anywhere. */
struct cl_emrtd_evidence {
    struct hm_buf com;
    struct hm_buf sod;
    struct hm_buf dg[CL_LDS_MAX_DG + 1]; /* dg[1..16]; empty when not read */
    uint8_t challenge[CL_EMRTD_CHALLENGE_LEN];
    size_t challenge_len; /* 0: Active Authentication was not run */
    uint8_t aa_sig[CL_EMRTD_AA_SIG_MAX];
    size_t aa_sig_len;
};

void cl_emrtd_evidence_init(struct cl_emrtd_evidence *ev);
void cl_emrtd_evidence_free(struct cl_emrtd_evidence *ev);

/*
 * On a card after BAC: reads EF.COM, EF.SOD and those of DG1, DG2, DG11,
 * DG14 and DG15 that EF.COM lists; then, when DG15 was read and a challenge
 * is given (8 bytes), runs INTERNAL AUTHENTICATE over it. DG1 and EF.SOD are
 * required (CL_E_DATA_MALFORMED if EF.COM does not list DG1).
 */
cl_rc cl_emrtd_collect(cl_card *card, const uint8_t *challenge, size_t challenge_len,
                       struct cl_emrtd_evidence *ev);

/* INTERNAL AUTHENTICATE (00 88 00 00 08 challenge 00): the chip's signature in sig. */
cl_rc cl_emrtd_internal_authenticate(cl_card *card, const uint8_t *challenge, size_t n,
                                     uint8_t *sig, size_t cap, size_t *sig_len);

/*
 * Verifies an Active Authentication signature with the DG15 key (DER
 * SubjectPublicKeyInfo). EC: sig is r||s and hash must be given (from DG14).
 * RSA: ISO/IEC 9796-2 scheme 1, the hash from the trailer (BC: SHA-1, or
 * 34CC/38CC/36CC/35CC). CL_OK, CL_E_SIGNATURE_INVALID, or CL_E_CRYPTO for a
 * key that does not parse or is of another type.
 */
cl_rc cl_emrtd_aa_verify(const uint8_t *spki, size_t spki_len, enum cl_lds_hash hash,
                         const uint8_t *challenge, size_t challenge_len, const uint8_t *sig,
                         size_t sig_len);

/* CSCA certificates and CRLs, loaded once and shared (read-only) by every verification. */
typedef struct cl_emrtd_trust cl_emrtd_trust;

/*
 * Loads every file in dir ending in .pem, .crt, .cer, .der or .crl: PEM
 * (certificates and CRLs, several per file) or DER. A directory that cannot
 * be read: CL_E_IO; a file that is none of these, or no CSCA certificate at
 * all: CL_E_CERT_INVALID (with the file named in the log).
 */
cl_rc cl_emrtd_trust_load(const char *dir, cl_emrtd_trust **out);
void cl_emrtd_trust_free(cl_emrtd_trust *t);
/* How many CSCA certificates and CRLs were loaded. */
void cl_emrtd_trust_counts(const cl_emrtd_trust *t, size_t *n_csca, size_t *n_crl);

/*
 * Runs every check on the evidence at unix time now (0: the current time).
 * Without a trust store (t NULL) csca-chain and revocation are not checked,
 * so the document cannot be genuine.
 * Returns CL_OK when the checks ran (read the verdict), CL_E_INVALID_ARG for
 * missing arguments.
 */
cl_rc cl_emrtd_verify(const cl_emrtd_trust *t, int64_t now, const struct cl_emrtd_evidence *ev,
                      struct cl_verdict *v);

/*
 * Genuine: sod-signature, csca-chain, ds-validity and every dgN-hash passed,
 * active-auth passed if the signed LDS has a DG15, and nothing failed.
 */
bool cl_emrtd_genuine(const struct cl_verdict *v);

#endif
