/*
 * Basic Access Control (ICAO 9303 Part 11 §4.3): keys from the MRZ, the
 * mutual authentication of both sides, and the exchange with the chip that
 * leaves a card with secure messaging installed.
 */
#include "cl/emrtd.h"
#include "crypto.h"
#include "hm/util.h"

#include <string.h>

const uint8_t cl_emrtd_aid[CL_EMRTD_AID_LEN] = { 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };

#define DOC_SHORT 9 /* the document number field of TD1/TD2/TD3 */
#define DATE_LEN  6

static int mrz_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c == '<')
        return 0;
    return -1;
}

int cl_emrtd_check_digit(const char *s, size_t n)
{
    static const int weights[3] = { 7, 3, 1 };
    int sum = 0;

    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = mrz_value(s[i]);

        if (v < 0)
            return -1;
        sum += v * weights[i % 3];
    }
    return sum % 10;
}

static bool is_date(const char *s)
{
    if (!s || strlen(s) != DATE_LEN)
        return false;
    for (size_t i = 0; i < DATE_LEN; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

cl_rc cl_emrtd_mrz_info(const char *doc, const char *birth, const char *expiry, char *out,
                        size_t cap)
{
    char d[CL_EMRTD_DOC_MAX + 1];
    size_t dlen, pos = 0;

    if (!doc || !out || cap < CL_EMRTD_MRZ_INFO_MAX || !is_date(birth) || !is_date(expiry))
        return CL_E_INVALID_ARG;
    dlen = strlen(doc);
    if (dlen == 0 || dlen > CL_EMRTD_DOC_MAX)
        return CL_E_INVALID_ARG;
    for (size_t i = 0; i < dlen; i++) {
        char c = doc[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (mrz_value(c) < 0)
            return CL_E_INVALID_ARG;
        d[i] = c;
    }
    while (dlen < DOC_SHORT)
        d[dlen++] = '<';
    d[dlen] = '\0';

    memcpy(out + pos, d, dlen);
    pos += dlen;
    out[pos++] = (char)('0' + cl_emrtd_check_digit(d, dlen));
    memcpy(out + pos, birth, DATE_LEN);
    pos += DATE_LEN;
    out[pos++] = (char)('0' + cl_emrtd_check_digit(birth, DATE_LEN));
    memcpy(out + pos, expiry, DATE_LEN);
    pos += DATE_LEN;
    out[pos++] = (char)('0' + cl_emrtd_check_digit(expiry, DATE_LEN));
    out[pos] = '\0';
    return CL_OK;
}

cl_rc cl_emrtd_key_seed(const char *mrz_info, uint8_t seed[CL_EMRTD_SEED_LEN])
{
    uint8_t h[CL_SHA1_LEN];
    cl_rc rc;

    if (!mrz_info || !seed)
        return CL_E_INVALID_ARG;
    rc = cl_emrtd_sha1(mrz_info, strlen(mrz_info), h);
    if (rc == CL_OK)
        memcpy(seed, h, CL_EMRTD_SEED_LEN);
    hm_wipe(h, sizeof(h));
    return rc;
}

cl_rc cl_emrtd_kdf(const uint8_t seed[CL_EMRTD_SEED_LEN], uint32_t counter,
                   uint8_t key[CL_EMRTD_KEY_LEN])
{
    uint8_t d[CL_EMRTD_SEED_LEN + 4];
    uint8_t h[CL_SHA1_LEN];
    cl_rc rc;

    if (!seed || !key)
        return CL_E_INVALID_ARG;
    memcpy(d, seed, CL_EMRTD_SEED_LEN);
    d[16] = (uint8_t)(counter >> 24);
    d[17] = (uint8_t)(counter >> 16);
    d[18] = (uint8_t)(counter >> 8);
    d[19] = (uint8_t)counter;
    rc = cl_emrtd_sha1(d, sizeof(d), h);
    if (rc == CL_OK) {
        memcpy(key, h, CL_EMRTD_KEY_LEN);
        cl_emrtd_set_parity(key, CL_EMRTD_KEY_LEN);
    }
    hm_wipe(d, sizeof(d));
    hm_wipe(h, sizeof(h));
    return rc;
}

cl_rc cl_emrtd_keys_from_seed(const uint8_t seed[CL_EMRTD_SEED_LEN], struct cl_emrtd_keys *out)
{
    cl_rc rc;

    if (!seed || !out)
        return CL_E_INVALID_ARG;
    rc = cl_emrtd_kdf(seed, CL_EMRTD_KDF_ENC, out->enc);
    if (rc == CL_OK)
        rc = cl_emrtd_kdf(seed, CL_EMRTD_KDF_MAC, out->mac);
    if (rc != CL_OK)
        hm_wipe(out, sizeof(*out));
    return rc;
}

cl_rc cl_emrtd_bac_keys(const char *doc, const char *birth, const char *expiry,
                        struct cl_emrtd_keys *out)
{
    char info[CL_EMRTD_MRZ_INFO_MAX];
    uint8_t seed[CL_EMRTD_SEED_LEN];
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    rc = cl_emrtd_mrz_info(doc, birth, expiry, info, sizeof(info));
    if (rc == CL_OK)
        rc = cl_emrtd_key_seed(info, seed);
    if (rc == CL_OK)
        rc = cl_emrtd_keys_from_seed(seed, out);
    hm_wipe(info, sizeof(info));
    hm_wipe(seed, sizeof(seed));
    return rc;
}

/* E = 3DES-CBC(KEnc, plain); out = E || MAC(KMac, E). */
static cl_rc seal(const struct cl_emrtd_keys *k, const uint8_t plain[32],
                  uint8_t out[CL_EMRTD_AUTH_LEN])
{
    cl_rc rc = cl_emrtd_tdes_cbc(k->enc, true, plain, 32, out);

    if (rc == CL_OK)
        rc = cl_emrtd_mac(k->mac, out, 32, out + 32);
    return rc;
}

/* Checks the MAC of E || M (constant time) and decrypts E into plain. */
static cl_rc open_sealed(const struct cl_emrtd_keys *k, const uint8_t *in, size_t len,
                         uint8_t plain[32])
{
    uint8_t mac[CL_EMRTD_MAC_LEN];
    cl_rc rc;

    if (!in || len != CL_EMRTD_AUTH_LEN)
        return CL_E_DATA_MALFORMED;
    rc = cl_emrtd_mac(k->mac, in, 32, mac);
    if (rc != CL_OK)
        return rc;
    if (!hm_ct_equal(mac, in + 32, CL_EMRTD_MAC_LEN))
        return CL_E_SM_MAC;
    return cl_emrtd_tdes_cbc(k->enc, false, in, 32, plain);
}

/* Session keys from K.IFD xor K.ICC; SSC from the low halves of RND.ICC and RND.IFD. */
static cl_rc derive_session(const uint8_t k_ifd[CL_EMRTD_KEY_LEN],
                            const uint8_t k_icc[CL_EMRTD_KEY_LEN],
                            const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                            const uint8_t rnd_ifd[CL_EMRTD_RND_LEN], struct cl_emrtd_session *out)
{
    uint8_t seed[CL_EMRTD_SEED_LEN];
    cl_rc rc;

    for (size_t i = 0; i < CL_EMRTD_SEED_LEN; i++)
        seed[i] = k_ifd[i] ^ k_icc[i];
    rc = cl_emrtd_keys_from_seed(seed, &out->ks);
    memcpy(out->ssc, rnd_icc + 4, 4);
    memcpy(out->ssc + 4, rnd_ifd + 4, 4);
    hm_wipe(seed, sizeof(seed));
    return rc;
}

cl_rc cl_emrtd_bac_ifd_auth(const struct cl_emrtd_keys *k, const uint8_t rnd_ifd[CL_EMRTD_RND_LEN],
                            const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                            const uint8_t k_ifd[CL_EMRTD_KEY_LEN], uint8_t out[CL_EMRTD_AUTH_LEN])
{
    uint8_t s[32];
    cl_rc rc;

    if (!k || !rnd_ifd || !rnd_icc || !k_ifd || !out)
        return CL_E_INVALID_ARG;
    memcpy(s, rnd_ifd, 8);
    memcpy(s + 8, rnd_icc, 8);
    memcpy(s + 16, k_ifd, 16);
    rc = seal(k, s, out);
    hm_wipe(s, sizeof(s));
    return rc;
}

cl_rc cl_emrtd_bac_ifd_finish(const struct cl_emrtd_keys *k,
                              const uint8_t rnd_ifd[CL_EMRTD_RND_LEN],
                              const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                              const uint8_t k_ifd[CL_EMRTD_KEY_LEN], const uint8_t *resp,
                              size_t len, struct cl_emrtd_session *out)
{
    uint8_t r[32];
    cl_rc rc;

    if (!k || !rnd_ifd || !rnd_icc || !k_ifd || !out)
        return CL_E_INVALID_ARG;
    rc = open_sealed(k, resp, len, r);
    if (rc != CL_OK)
        goto out_wipe;
    /* R = RND.ICC || RND.IFD || K.ICC: the chip must have seen both our numbers. */
    if (!hm_ct_equal(r, rnd_icc, 8) || !hm_ct_equal(r + 8, rnd_ifd, 8)) {
        rc = CL_E_AUTH_FAILED;
        goto out_wipe;
    }
    rc = derive_session(k_ifd, r + 16, rnd_icc, rnd_ifd, out);
out_wipe:
    hm_wipe(r, sizeof(r));
    if (rc != CL_OK)
        hm_wipe(out, sizeof(*out));
    return rc;
}

cl_rc cl_emrtd_bac_icc_respond(const struct cl_emrtd_keys *k,
                               const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                               const uint8_t k_icc[CL_EMRTD_KEY_LEN], const uint8_t *cmd,
                               size_t len, uint8_t out[CL_EMRTD_AUTH_LEN],
                               struct cl_emrtd_session *session)
{
    uint8_t s[32], r[32];
    cl_rc rc;

    if (!k || !rnd_icc || !k_icc || !out || !session)
        return CL_E_INVALID_ARG;
    rc = open_sealed(k, cmd, len, s);
    if (rc != CL_OK)
        goto out_wipe;
    /* S = RND.IFD || RND.ICC || K.IFD: our challenge must come back. */
    if (!hm_ct_equal(s + 8, rnd_icc, 8)) {
        rc = CL_E_AUTH_FAILED;
        goto out_wipe;
    }
    memcpy(r, rnd_icc, 8);
    memcpy(r + 8, s, 8);
    memcpy(r + 16, k_icc, 16);
    rc = seal(k, r, out);
    if (rc == CL_OK)
        rc = derive_session(s + 16, k_icc, rnd_icc, s, session);
out_wipe:
    hm_wipe(s, sizeof(s));
    hm_wipe(r, sizeof(r));
    if (rc != CL_OK) {
        hm_wipe(out, CL_EMRTD_AUTH_LEN);
        hm_wipe(session, sizeof(*session));
    }
    return rc;
}

cl_rc cl_emrtd_select_app(cl_card *card)
{
    struct cl_apdu a = {
        .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C, .data = cl_emrtd_aid, .lc = CL_EMRTD_AID_LEN
    };
    uint8_t r[2];
    size_t n;

    if (!card)
        return CL_E_INVALID_ARG;
    /* Selecting the application ends the chip's session; ours goes with it. */
    cl_card_set_sm(card, NULL, NULL);
    return cl_card_command(card, &a, r, sizeof(r), &n);
}

cl_rc cl_emrtd_bac(cl_card *card, const struct cl_emrtd_keys *k, cl_emrtd_rng_fn rng, void *rng_arg)
{
    struct cl_apdu challenge = { .ins = 0x84, .le = CL_EMRTD_RND_LEN };
    struct cl_apdu ext = { .ins = 0x82, .lc = CL_EMRTD_AUTH_LEN, .le = CL_EMRTD_AUTH_LEN };
    uint8_t rnd_icc[CL_EMRTD_RND_LEN], rnd_ifd[CL_EMRTD_RND_LEN], k_ifd[CL_EMRTD_KEY_LEN];
    uint8_t cmd[CL_EMRTD_AUTH_LEN], resp[CL_EMRTD_AUTH_LEN + 8];
    struct cl_emrtd_session s;
    size_t n = 0;
    cl_rc rc;

    if (!card || !k)
        return CL_E_INVALID_ARG;
    if (!rng)
        rng = cl_emrtd_random;
    /* A new BAC replaces any session: GET CHALLENGE goes in the clear. */
    cl_card_set_sm(card, NULL, NULL);

    rc = cl_card_command(card, &challenge, rnd_icc, sizeof(rnd_icc), &n);
    if (rc == CL_E_RAPDU_TOO_LONG || (rc == CL_OK && n != CL_EMRTD_RND_LEN))
        rc = CL_E_DATA_MALFORMED;
    if (rc != CL_OK)
        goto out_wipe;
    rc = rng(rng_arg, rnd_ifd, sizeof(rnd_ifd));
    if (rc == CL_OK)
        rc = rng(rng_arg, k_ifd, sizeof(k_ifd));
    if (rc != CL_OK)
        goto out_wipe;
    rc = cl_emrtd_bac_ifd_auth(k, rnd_ifd, rnd_icc, k_ifd, cmd);
    if (rc != CL_OK)
        goto out_wipe;
    ext.data = cmd;
    rc = cl_card_command(card, &ext, resp, sizeof(resp), &n);
    if (rc == CL_E_RAPDU_TOO_LONG)
        rc = CL_E_DATA_MALFORMED;
    if (rc != CL_OK)
        goto out_wipe;
    rc = cl_emrtd_bac_ifd_finish(k, rnd_ifd, rnd_icc, k_ifd, resp, n, &s);
    if (rc != CL_OK)
        goto out_wipe;
    rc = cl_emrtd_sm_install(card, &s);
out_wipe:
    hm_wipe(rnd_icc, sizeof(rnd_icc));
    hm_wipe(rnd_ifd, sizeof(rnd_ifd));
    hm_wipe(k_ifd, sizeof(k_ifd));
    hm_wipe(cmd, sizeof(cmd));
    hm_wipe(resp, sizeof(resp));
    hm_wipe(&s, sizeof(s));
    return rc;
}
