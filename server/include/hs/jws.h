/*
 * JWS compact serialisation (RFC 7515) with ES256 (RFC 7518 3.4), made by an
 * hs_signer and verified against a certificate or public key, plus the JWKS
 * (RFC 7517) that publishes the signing key.
 *
 * Protected header: {"alg":"ES256","kid":"<signer kid>","typ":"<typ>"}; the
 * payload is the caller's bytes (normally compact JSON). Everything parsed
 * here comes from the network: sizes are bounded, base64url is strict (no
 * padding, no whitespace), "alg" must be ES256 and nothing else ("none" is
 * refused), unknown "crit" is refused.
 */
#ifndef HS_JWS_H
#define HS_JWS_H

#include "hs/error.h"
#include "hs/signer.h"

#include <stddef.h>
#include <stdint.h>

#define HS_JWS_MAX 65536 /* the longest token we make or accept */

/* Base64url without padding. out must hold HS_B64URL_LEN(n) + 1 bytes. */
#define HS_B64URL_LEN(n) ((((n) + 2) / 3) * 4)
size_t hs_b64url_encode(const uint8_t *in, size_t n, char *out);
/* Strict decode; HS_E_MALFORMED on any invalid character, padding or a bad tail,
 * HS_E_TOO_LARGE when the result would not fit in cap bytes. */
hs_rc hs_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Signs payload: *token is malloc'd "header.payload.signature" (NUL-terminated),
 * freed by the caller with free(). typ may be NULL (then "JWT" is not added:
 * the header has only alg and kid).
 */
hs_rc hs_jws_sign(struct hs_signer *s, const char *typ, const uint8_t *payload, size_t len,
                  char **token);

/*
 * Verifies token with the public key of cert_der (an X.509 certificate, DER).
 * On success *payload (malloc'd, NUL-terminated for convenience) and
 * *payload_len get the payload; kid (may be NULL, 64 bytes) gets the header's
 * kid or "". HS_E_MALFORMED for a token that does not parse or whose header
 * breaks the rules above (alg not ES256, crit, duplicate members, a signature
 * not 64 bytes), checked before any cryptography; HS_E_TOO_LARGE for more than
 * HS_JWS_MAX bytes; HS_E_KEY when cert_der is not a P-256 certificate;
 * HS_E_SIGNATURE for a token that does not verify (with cjose). The outputs
 * are set only on success.
 */
hs_rc hs_jws_verify(const char *token, size_t len, const uint8_t *cert_der, size_t cert_len,
                    uint8_t **payload, size_t *payload_len, char kid[64]);

/*
 * The JWKS of the signer: {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,
 * "kid":..,"use":"sig","alg":"ES256","x5c":[<base64 DER cert>]}]} as malloc'd
 * compact JSON.
 */
hs_rc hs_jwks(const struct hs_signer *s, char **json);

#endif
