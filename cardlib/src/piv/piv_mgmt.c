/* Mutual authentication with the PIV card management key (9B), which personalisation needs before
 * GENERATE and PUT DATA. */
#include "cl/piv.h"

#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string.h>

static const EVP_CIPHER *cipher_for(uint8_t alg, size_t key_len, size_t *block)
{
    switch (alg) {
    case CL_PIV_ALG_3DES:
        *block = 8;
        return key_len == 24 ? EVP_des_ede3_ecb() : NULL;
    case CL_PIV_ALG_AES128:
        *block = 16;
        return key_len == 16 ? EVP_aes_128_ecb() : NULL;
    case CL_PIV_ALG_AES192:
        *block = 16;
        return key_len == 24 ? EVP_aes_192_ecb() : NULL;
    case CL_PIV_ALG_AES256:
        *block = 16;
        return key_len == 32 ? EVP_aes_256_ecb() : NULL;
    default:
        return NULL;
    }
}

/* One block through the cipher, encrypting or decrypting. */
static bool one_block(const EVP_CIPHER *c, const uint8_t *key, bool enc, const uint8_t *in,
                      size_t block, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc ? 1 : 0) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              EVP_CipherUpdate(ctx, out, &n, in, (int)block) == 1 && (size_t)n == block;

    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/* GENERAL AUTHENTICATE for key 9B with a 7C template; the value of want from the answer. */
static cl_rc exchange(cl_card *card, uint8_t alg, const uint8_t *tmpl, size_t tmpl_len,
                      uint32_t want, uint8_t *out, size_t block)
{
    uint8_t req[64], resp[64];
    struct hm_writer w = hm_writer_make(req, sizeof(req));
    struct cl_apdu a = {
        .ins = 0x87, .p1 = alg, .p2 = CL_PIV_KEY_MGMT, .le = 256, .flags = CL_APDU_SENSITIVE
    };
    struct cl_tlv t, v;
    size_t n = 0;
    cl_rc rc;

    cl_tlv_put(&w, 0x7C, tmpl, tmpl_len);
    a.data = req;
    a.lc = w.len;
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    hm_wipe(req, sizeof(req));
    if (rc == CL_E_SECURITY_STATUS || rc == CL_E_WRONG_DATA || rc == CL_E_PIN_INCORRECT)
        return CL_E_AUTH_FAILED;
    if (rc != CL_OK)
        return rc;
    if (cl_tlv_parse_one(resp, n, &t) != CL_OK || t.tag != 0x7C ||
        cl_tlv_find(t.value, t.len, want, &v) != CL_OK || v.len != block)
        return CL_E_DATA_MALFORMED;
    memcpy(out, v.value, block);
    hm_wipe(resp, sizeof(resp));
    return CL_OK;
}

cl_rc cl_piv_mgmt_auth(cl_card *card, uint8_t alg, const uint8_t *key, size_t key_len)
{
    uint8_t witness[16], plain[16], challenge[16], answer[16], expect[16], tmpl[48];
    struct hm_writer w;
    const EVP_CIPHER *c;
    size_t block = 0;
    cl_rc rc;

    c = cipher_for(alg, key_len, &block);
    if (!c || !key)
        return CL_E_INVALID_ARG;
    rc = cl_card_begin(card);
    if (rc != CL_OK)
        return rc;
    /* 1: ask for the witness (the card encrypts a random block). */
    tmpl[0] = 0x80;
    tmpl[1] = 0x00;
    rc = exchange(card, alg, tmpl, 2, 0x80, witness, block);
    /* 2: return it decrypted, with a challenge of our own. */
    if (rc == CL_OK) {
        if (!one_block(c, key, false, witness, block, plain) ||
            RAND_bytes(challenge, (int)block) != 1) {
            rc = CL_E_CRYPTO;
        } else {
            w = hm_writer_make(tmpl, sizeof(tmpl));
            cl_tlv_put(&w, 0x80, plain, block);
            cl_tlv_put(&w, 0x81, challenge, block);
            rc = exchange(card, alg, tmpl, w.len, 0x82, answer, block);
        }
    }
    /* 3: the card must have encrypted our challenge with the same key. */
    if (rc == CL_OK) {
        if (!one_block(c, key, true, challenge, block, expect))
            rc = CL_E_CRYPTO;
        else if (!hm_ct_equal(expect, answer, block))
            rc = CL_E_AUTH_FAILED;
    }
    (void)cl_card_end(card);
    hm_wipe(plain, sizeof(plain));
    hm_wipe(tmpl, sizeof(tmpl));
    hm_wipe(expect, sizeof(expect));
    return rc;
}
