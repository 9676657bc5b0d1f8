/*
 * The sealed store for secrets the server keeps for staff (a card's PUK, so
 * hall staff can unblock a PIN): AES-256-GCM under the deployment's seal key
 * (pki/seal.key, 32 random bytes, 0600), with the record's identity (the card
 * serial) as associated data so a sealed blob cannot be moved to another card.
 * Blob: "HS1" || 12-byte IV || ciphertext || 16-byte tag.
 */
#ifndef HS_SEAL_H
#define HS_SEAL_H

#include "hs/error.h"

#include <stddef.h>
#include <stdint.h>

#define HS_SEAL_KEY_LEN  32
#define HS_SEAL_OVERHEAD (3 + 12 + 16)

/* Reads a seal key file (exactly 32 bytes). The caller wipes key after use. */
hs_rc hs_seal_key_load(const char *path, uint8_t key[HS_SEAL_KEY_LEN]);
/* *blob malloc'd, *blob_len = len + HS_SEAL_OVERHEAD. */
hs_rc hs_seal(const uint8_t key[HS_SEAL_KEY_LEN], const char *aad, const uint8_t *secret,
              size_t len, uint8_t **blob, size_t *blob_len);
/* *secret malloc'd (NUL-terminated; wipe before free). HS_E_SIGNATURE when the blob
 * was altered, sealed under another key or for another aad. */
hs_rc hs_unseal(const uint8_t key[HS_SEAL_KEY_LEN], const char *aad, const uint8_t *blob,
                size_t blob_len, uint8_t **secret, size_t *len);

/*
 * The person key: who a citizen ID number belongs to, without keeping the
 * number. k = HKDF-SHA-256(the seal key, no salt, info "huimin person key"),
 * 32 bytes; a person is b64url(HMAC-SHA-256(k, the 18-character ID number,
 * a check 'x' written 'X'))[0..22]. ID sessions, appointments and the
 * marriage registry's records (huimin-admin import marriages) use it.
 */
#define HS_PERSON_KEY_LEN 32
#define HS_PERSON_LEN     22 /* characters of a person, without the NUL */

/* Derives the person key from the seal key. The caller wipes out after use. */
hs_rc hs_person_key(const uint8_t seal_key[HS_SEAL_KEY_LEN], uint8_t out[HS_PERSON_KEY_LEN]);
/* The person of a citizen ID number (n bytes) under the person key. */
hs_rc hs_person_of(const uint8_t key[HS_PERSON_KEY_LEN], const char *id, size_t n,
                   char out[HS_PERSON_LEN + 1]);

#endif
