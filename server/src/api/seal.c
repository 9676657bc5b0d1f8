/* Seals and unseals the secrets the server keeps (PUKs, the citizen ID of an ID session) with
 * AES-256-GCM under the deployment's seal key, and derives from it the key that names a person
 * without keeping their ID number. */
#include "hs/seal.h"

#include "hs/jws.h"

#include "hm/util.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t magic[3] = { 'H', 'S', '1' };

hs_rc hs_seal_key_load(const char *path, uint8_t key[HS_SEAL_KEY_LEN])
{
    uint8_t buf[HS_SEAL_KEY_LEN + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HS_E_IO;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != HS_SEAL_KEY_LEN) {
        hm_wipe(buf, sizeof(buf));
        return HS_E_KEY;
    }
    memcpy(key, buf, HS_SEAL_KEY_LEN);
    hm_wipe(buf, sizeof(buf));
    return HS_OK;
}

hs_rc hs_seal(const uint8_t key[HS_SEAL_KEY_LEN], const char *aad, const uint8_t *secret,
              size_t len, uint8_t **blob, size_t *blob_len)
{
    if (!key || !aad || (!secret && len) || !blob || !blob_len || len > 4096)
        return HS_E_INVALID_ARG;
    size_t total = len + HS_SEAL_OVERHEAD;
    uint8_t *out = malloc(total);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    hs_rc rc = HS_E_CRYPTO;
    int n = 0, m = 0;
    if (!out || !c)
        goto out;
    memcpy(out, magic, sizeof(magic));
    uint8_t *iv = out + 3, *ct = out + 15, *tag = out + 15 + len;
    if (RAND_bytes(iv, 12) != 1 || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
        EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
        EVP_EncryptUpdate(c, ct, &n, secret, (int)len) != 1 ||
        EVP_EncryptFinal_ex(c, ct + n, &m) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        goto out;
    *blob = out;
    *blob_len = total;
    out = NULL;
    rc = HS_OK;
out:
    EVP_CIPHER_CTX_free(c);
    free(out);
    return rc;
}

hs_rc hs_unseal(const uint8_t key[HS_SEAL_KEY_LEN], const char *aad, const uint8_t *blob,
                size_t blob_len, uint8_t **secret, size_t *len)
{
    if (!key || !aad || !blob || !secret || !len)
        return HS_E_INVALID_ARG;
    if (blob_len < HS_SEAL_OVERHEAD || memcmp(blob, magic, sizeof(magic)) != 0)
        return HS_E_MALFORMED;
    size_t n = blob_len - HS_SEAL_OVERHEAD;
    uint8_t *out = malloc(n + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    hs_rc rc = HS_E_CRYPTO;
    int k = 0, m = 0;
    if (!out || !c)
        goto out;
    const uint8_t *iv = blob + 3, *ct = blob + 15;
    uint8_t tag[16];
    memcpy(tag, blob + 15 + n, sizeof(tag));
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
        EVP_DecryptUpdate(c, NULL, &k, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
        EVP_DecryptUpdate(c, out, &k, ct, (int)n) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto out;
    if (EVP_DecryptFinal_ex(c, out + k, &m) != 1) {
        rc = HS_E_SIGNATURE;
        goto out;
    }
    out[n] = '\0';
    *secret = out;
    *len = n;
    out = NULL;
    rc = HS_OK;
out:
    EVP_CIPHER_CTX_free(c);
    if (out) {
        hm_wipe(out, n + 1);
        free(out);
    }
    return rc;
}

hs_rc hs_person_key(const uint8_t seal_key[HS_SEAL_KEY_LEN], uint8_t out[HS_PERSON_KEY_LEN])
{
    if (!seal_key || !out)
        return HS_E_INVALID_ARG;
    /* OSSL_PARAM takes non-const pointers: copies of the inputs. */
    char info[] = "huimin person key", digest[] = "SHA256";
    uint8_t ikm[HS_SEAL_KEY_LEN];
    memcpy(ikm, seal_key, sizeof(ikm));
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof(ikm)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    hs_rc rc =
        ctx && EVP_KDF_derive(ctx, out, HS_PERSON_KEY_LEN, params) == 1 ? HS_OK : HS_E_CRYPTO;
    hm_wipe(ikm, sizeof(ikm));
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

hs_rc hs_person_of(const uint8_t key[HS_PERSON_KEY_LEN], const char *id, size_t n,
                   char out[HS_PERSON_LEN + 1])
{
    if (!key || !id || !out || n == 0 || n > 64)
        return HS_E_INVALID_ARG;
    uint8_t mac[32];
    unsigned int len = 0;
    char text[HS_B64URL_LEN(32) + 1];
    if (!HMAC(EVP_sha256(), key, HS_PERSON_KEY_LEN, (const uint8_t *)id, n, mac, &len) ||
        len != sizeof(mac))
        return HS_E_CRYPTO;
    hs_b64url_encode(mac, sizeof(mac), text);
    memcpy(out, text, HS_PERSON_LEN);
    out[HS_PERSON_LEN] = '\0';
    hm_wipe(mac, sizeof(mac));
    return HS_OK;
}
