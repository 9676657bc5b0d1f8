/*
 * The symmetric cryptography of BAC and 3DES secure messaging (3DES-CBC, the
 * ISO 9797-1 retail MAC, SHA-1, padding), kept in the one eMRTD file that
 * includes OpenSSL.
 *
 * OpenSSL 3 keeps single DES in its legacy provider, so single-DES steps use
 * two-key 3DES with Ka || Ka, which computes E(Ka) exactly.
 */
#include "crypto.h"
#include "hm/util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <limits.h>
#include <string.h>

#define BLOCK 8

cl_rc cl_emrtd_tdes_cbc(const uint8_t key[CL_EMRTD_KEY_LEN], bool encrypt, const uint8_t *in,
                        size_t n, uint8_t *out)
{
    static const uint8_t zero_iv[BLOCK];
    EVP_CIPHER_CTX *ctx;
    cl_rc rc = CL_E_CRYPTO;
    int outl = 0;

    if (!key || (n && (!in || !out)) || n % BLOCK != 0 || n > INT_MAX)
        return CL_E_INVALID_ARG;
    if (n == 0)
        return CL_OK;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return CL_E_NO_MEMORY;
    if (EVP_CipherInit_ex(ctx, EVP_des_ede_cbc(), NULL, key, zero_iv, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
        goto out_free_ctx;
    if (EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 || (size_t)outl != n)
        goto out_free_ctx;
    rc = CL_OK;
out_free_ctx:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Encrypts one block in ECB mode with a context set up for it. */
static bool ecb_block(EVP_CIPHER_CTX *ctx, const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
    int outl = 0;

    return EVP_EncryptUpdate(ctx, out, &outl, in, BLOCK) == 1 && outl == BLOCK;
}

cl_rc cl_emrtd_mac_iov(const uint8_t key[CL_EMRTD_KEY_LEN], const struct cl_emrtd_iov *v, size_t nv,
                       uint8_t mac[CL_EMRTD_MAC_LEN])
{
    EVP_CIPHER_CTX *single = NULL, *triple = NULL;
    uint8_t ka2[CL_EMRTD_KEY_LEN];
    uint8_t y[BLOCK] = { 0 }, blk[BLOCK];
    size_t fill = 0;
    cl_rc rc = CL_E_CRYPTO;

    if (!key || !mac || (nv && !v))
        return CL_E_INVALID_ARG;
    /* Ka || Ka: E(Ka) D(Ka) E(Ka) is single DES with Ka. */
    memcpy(ka2, key, BLOCK);
    memcpy(ka2 + BLOCK, key, BLOCK);
    single = EVP_CIPHER_CTX_new();
    triple = EVP_CIPHER_CTX_new();
    if (!single || !triple) {
        rc = CL_E_NO_MEMORY;
        goto out_free;
    }
    if (EVP_EncryptInit_ex(single, EVP_des_ede_ecb(), NULL, ka2, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(single, 0) != 1 ||
        EVP_EncryptInit_ex(triple, EVP_des_ede_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(triple, 0) != 1)
        goto out_free;
    /*
     * Padding method 2 always adds at least one byte, so every whole block of
     * the message is followed by another and goes through single DES; only
     * the padded final block goes through 3DES.
     */
    for (size_t i = 0; i < nv; i++) {
        const uint8_t *p = v[i].p;
        size_t n = v[i].n;

        if (n && !p) {
            rc = CL_E_INVALID_ARG;
            goto out_free;
        }
        while (n) {
            size_t take = BLOCK - fill < n ? BLOCK - fill : n;

            memcpy(blk + fill, p, take);
            fill += take;
            p += take;
            n -= take;
            if (fill == BLOCK) {
                for (size_t j = 0; j < BLOCK; j++)
                    y[j] ^= blk[j];
                if (!ecb_block(single, y, y))
                    goto out_free;
                fill = 0;
            }
        }
    }
    blk[fill] = 0x80;
    memset(blk + fill + 1, 0, BLOCK - fill - 1);
    for (size_t j = 0; j < BLOCK; j++)
        y[j] ^= blk[j];
    if (!ecb_block(triple, y, y))
        goto out_free;
    memcpy(mac, y, CL_EMRTD_MAC_LEN);
    rc = CL_OK;
out_free:
    EVP_CIPHER_CTX_free(single);
    EVP_CIPHER_CTX_free(triple);
    hm_wipe(ka2, sizeof(ka2));
    hm_wipe(y, sizeof(y));
    hm_wipe(blk, sizeof(blk));
    return rc;
}

cl_rc cl_emrtd_mac(const uint8_t key[CL_EMRTD_KEY_LEN], const uint8_t *in, size_t n,
                   uint8_t mac[CL_EMRTD_MAC_LEN])
{
    struct cl_emrtd_iov v = { in, n };

    return cl_emrtd_mac_iov(key, &v, 1, mac);
}

cl_rc cl_emrtd_sha1(const void *in, size_t n, uint8_t out[CL_SHA1_LEN])
{
    unsigned len = 0;

    if ((n && !in) || !out)
        return CL_E_INVALID_ARG;
    if (EVP_Digest(in, n, out, &len, EVP_sha1(), NULL) != 1 || len != CL_SHA1_LEN)
        return CL_E_CRYPTO;
    return CL_OK;
}

cl_rc cl_emrtd_random(void *arg, uint8_t *out, size_t n)
{
    (void)arg;
    if (n && !out)
        return CL_E_INVALID_ARG;
    if (n > INT_MAX || RAND_bytes(out, (int)n) != 1)
        return CL_E_CRYPTO;
    return CL_OK;
}

cl_rc cl_emrtd_pad(uint8_t *buf, size_t n, size_t cap, size_t *out_len)
{
    size_t padded = (n / BLOCK + 1) * BLOCK;

    if (!buf || !out_len)
        return CL_E_INVALID_ARG;
    if (padded > cap)
        return CL_E_BUFFER_TOO_SMALL;
    buf[n] = 0x80;
    memset(buf + n + 1, 0, padded - n - 1);
    *out_len = padded;
    return CL_OK;
}

cl_rc cl_emrtd_unpad(const uint8_t *p, size_t n, size_t *len)
{
    size_t i = n;

    if ((n && !p) || !len)
        return CL_E_INVALID_ARG;
    if (n == 0 || n % BLOCK != 0)
        return CL_E_SM_FAILED;
    while (i > 0 && p[i - 1] == 0x00)
        i--;
    /* The padding is 0x80 and at most 7 zeros, inside the last block. */
    if (i == 0 || p[i - 1] != 0x80 || n - i >= BLOCK)
        return CL_E_SM_FAILED;
    *len = i - 1;
    return CL_OK;
}

void cl_emrtd_ssc_inc(uint8_t ssc[CL_EMRTD_SSC_LEN])
{
    for (size_t i = CL_EMRTD_SSC_LEN; i > 0; i--)
        if (++ssc[i - 1] != 0)
            break;
}

void cl_emrtd_set_parity(uint8_t *key, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = key[i] & 0xFE;
        unsigned ones = 0;

        for (uint8_t x = b; x; x &= (uint8_t)(x - 1))
            ones++;
        key[i] = (uint8_t)(b | ((ones & 1u) ? 0 : 1));
    }
}
