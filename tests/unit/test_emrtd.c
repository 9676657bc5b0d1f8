/*
 * BAC and 3DES secure messaging against the worked example of ICAO Doc 9303
 * Part 11 Appendix D (every value below is from it), then the ways a
 * response can be forged or broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/mem.h"
#include "hm/buf.h"
#include "hm/hex.h"

/* D.2: the MRZ and the document basic access keys. */
#define MRZ_INFO "L898902C<369080619406236"
#define K_SEED   "239AB9CB282DAF66231DC5A4DF6BFBAE"
#define K_ENC    "AB94FDECF2674FDFB9B391F85D7F76F2"
#define K_MAC    "7962D9ECE03D1ACD4C76089DCE131543"
/* D.3: authentication and establishment of session keys. */
#define RND_IC  "4608F91988702212"
#define RND_IFD "781723860C06C226"
#define K_IFD   "0B795240CB7049B01C19B33E32804F0B"
#define S_IFD   "781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B"
#define E_IFD   "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
#define M_IFD   "5F1448EEA8AD90A7"
#define K_IC    "0B4F80323EB3191CB04970CB4052790B"
#define RESP_IC                                                        \
    "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F" \
    "2F2D235D074D7449"
#define KS_SEED "0036D272F5C350ACAC50C3F572D23600"
#define KS_ENC  "979EC13B1CBFE9DCD01AB0FED307EAE5"
#define KS_MAC  "F1CB1F1FB5ADF208806B89DC579DC1F8"
#define SSC     "887022120C06C226"
/* D.4: secure messaging: SELECT EF.COM, READ BINARY of 4 bytes, then of the other 18. */
#define SEL_CMD  "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"
#define SEL_RESP "990290008E08FA855A5D4C50A8ED"
#define RB1_CMD  "0CB000000D9701048E08ED6705417E96BA5500"
#define RB1_RESP "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED"
#define RB1_DATA "60145F01"
#define RB2_CMD  "0CB000040D9701128E082EA28A70F3C7B53500"
#define RB2_RESP                                                     \
    "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A99029000" \
    "8E08C8B2787EAEA07D74"
#define RB2_DATA "04303130365F36063034303030305C026175"
#define EF_COM   RB1_DATA RB2_DATA

/* Decodes a hex constant (the test fails on bad hex); returns its length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;

    assert_true(hm_hex_decode(s, out, cap, &n));
    return n;
}

static void assert_hex(const uint8_t *p, size_t n, const char *expect)
{
    uint8_t want[512];
    size_t wn = unhex(expect, want, sizeof(want));

    assert_int_equal(n, wn);
    assert_memory_equal(p, want, n);
}

static void example_keys(struct cl_emrtd_keys *k)
{
    unhex(K_ENC, k->enc, sizeof(k->enc));
    unhex(K_MAC, k->mac, sizeof(k->mac));
}

static void example_session(struct cl_emrtd_session *s)
{
    unhex(KS_ENC, s->ks.enc, sizeof(s->ks.enc));
    unhex(KS_MAC, s->ks.mac, sizeof(s->ks.mac));
    unhex(SSC, s->ssc, sizeof(s->ssc));
}

/* ---- MRZ and keys ------------------------------------------------------ */

static void test_check_digits(void **state)
{
    (void)state;
    assert_int_equal(cl_emrtd_check_digit("L898902C<", 9), 3);
    assert_int_equal(cl_emrtd_check_digit("690806", 6), 1);
    assert_int_equal(cl_emrtd_check_digit("940623", 6), 6);
    assert_int_equal(cl_emrtd_check_digit("<<<<<<", 6), 0);
    assert_int_equal(cl_emrtd_check_digit("L898 02C<", 9), -1);
    assert_int_equal(cl_emrtd_check_digit("l898902C<", 9), -1);
    assert_int_equal(cl_emrtd_check_digit(NULL, 0), -1);
}

static void test_mrz_information(void **state)
{
    char info[CL_EMRTD_MRZ_INFO_MAX];

    (void)state;
    assert_int_equal(cl_emrtd_mrz_info("L898902C", "690806", "940623", info, sizeof(info)), CL_OK);
    assert_string_equal(info, MRZ_INFO);
    /* Already padded, or typed in lower case: the same information. */
    assert_int_equal(cl_emrtd_mrz_info("L898902C<", "690806", "940623", info, sizeof(info)), CL_OK);
    assert_string_equal(info, MRZ_INFO);
    assert_int_equal(cl_emrtd_mrz_info("l898902c", "690806", "940623", info, sizeof(info)), CL_OK);
    assert_string_equal(info, MRZ_INFO);
    /* A long TD1 document number is used whole, with its own check digit. */
    assert_int_equal(cl_emrtd_mrz_info("D23145890734", "340712", "950712", info, sizeof(info)),
                     CL_OK);
    assert_string_equal(info, "D23145890734934071279507122");

    assert_int_equal(cl_emrtd_mrz_info("L898902C", "69080", "940623", info, sizeof(info)),
                     CL_E_INVALID_ARG);
    assert_int_equal(cl_emrtd_mrz_info("L898902C", "690806", "94062X", info, sizeof(info)),
                     CL_E_INVALID_ARG);
    assert_int_equal(cl_emrtd_mrz_info("L8989-2C", "690806", "940623", info, sizeof(info)),
                     CL_E_INVALID_ARG);
    assert_int_equal(cl_emrtd_mrz_info("", "690806", "940623", info, sizeof(info)),
                     CL_E_INVALID_ARG);
    assert_int_equal(
        cl_emrtd_mrz_info("0123456789012345678901234", "690806", "940623", info, sizeof(info)),
        CL_E_INVALID_ARG);
    assert_int_equal(cl_emrtd_mrz_info("L898902C", "690806", "940623", info, 10), CL_E_INVALID_ARG);
}

static void test_key_seed_and_kdf(void **state)
{
    uint8_t seed[CL_EMRTD_SEED_LEN], key[CL_EMRTD_KEY_LEN];
    struct cl_emrtd_keys k;

    (void)state;
    assert_int_equal(cl_emrtd_key_seed(MRZ_INFO, seed), CL_OK);
    assert_hex(seed, sizeof(seed), K_SEED);
    assert_int_equal(cl_emrtd_kdf(seed, CL_EMRTD_KDF_ENC, key), CL_OK);
    assert_hex(key, sizeof(key), K_ENC);
    assert_int_equal(cl_emrtd_kdf(seed, CL_EMRTD_KDF_MAC, key), CL_OK);
    assert_hex(key, sizeof(key), K_MAC);
    assert_int_equal(cl_emrtd_bac_keys("L898902C", "690806", "940623", &k), CL_OK);
    assert_hex(k.enc, sizeof(k.enc), K_ENC);
    assert_hex(k.mac, sizeof(k.mac), K_MAC);
    /* D.3's session seed gives D.3's session keys. */
    unhex(KS_SEED, seed, sizeof(seed));
    assert_int_equal(cl_emrtd_keys_from_seed(seed, &k), CL_OK);
    assert_hex(k.enc, sizeof(k.enc), KS_ENC);
    assert_hex(k.mac, sizeof(k.mac), KS_MAC);
}

static void test_parity(void **state)
{
    /* The first half of KEnc before its parity bits are adjusted (SHA-1 output). */
    uint8_t k[8] = { 0xAB, 0x94, 0xFC, 0xED, 0xF2, 0x66, 0x4E, 0xDF };

    (void)state;
    cl_emrtd_set_parity(k, sizeof(k));
    assert_hex(k, sizeof(k), "AB94FDECF2674FDF");
}

static void test_padding(void **state)
{
    uint8_t b[24] = { 1, 2, 3 };
    size_t n = 0;

    (void)state;
    assert_int_equal(cl_emrtd_pad(b, 3, sizeof(b), &n), CL_OK);
    assert_int_equal(n, 8);
    assert_hex(b, n, "0102038000000000");
    assert_int_equal(cl_emrtd_unpad(b, 8, &n), CL_OK);
    assert_int_equal(n, 3);
    /* A whole block gets a whole block of padding. */
    memset(b, 0x11, 8);
    assert_int_equal(cl_emrtd_pad(b, 8, sizeof(b), &n), CL_OK);
    assert_int_equal(n, 16);
    assert_int_equal(b[8], 0x80);
    assert_int_equal(cl_emrtd_pad(b, 8, 15, &n), CL_E_BUFFER_TOO_SMALL);
    /* Wrong padding. */
    assert_int_equal(cl_emrtd_unpad(b, 7, &n), CL_E_SM_FAILED);
    memset(b, 0, 16);
    assert_int_equal(cl_emrtd_unpad(b, 16, &n), CL_E_SM_FAILED);
    b[3] = 0x80; /* 0x80 followed by 12 zeros: more than one block */
    assert_int_equal(cl_emrtd_unpad(b, 16, &n), CL_E_SM_FAILED);
    b[15] = 0x01;
    assert_int_equal(cl_emrtd_unpad(b, 16, &n), CL_E_SM_FAILED);
}

/* ---- BAC ---------------------------------------------------------------- */

static void test_bac_terminal_cryptogram(void **state)
{
    struct cl_emrtd_keys k;
    uint8_t rnd_ifd[8], rnd_ic[8], k_ifd[16], s[32], e[32], auth[CL_EMRTD_AUTH_LEN];

    (void)state;
    example_keys(&k);
    unhex(RND_IFD, rnd_ifd, sizeof(rnd_ifd));
    unhex(RND_IC, rnd_ic, sizeof(rnd_ic));
    unhex(K_IFD, k_ifd, sizeof(k_ifd));
    unhex(S_IFD, s, sizeof(s));
    assert_int_equal(cl_emrtd_tdes_cbc(k.enc, true, s, sizeof(s), e), CL_OK);
    assert_hex(e, sizeof(e), E_IFD);
    assert_int_equal(cl_emrtd_tdes_cbc(k.enc, false, e, sizeof(e), e), CL_OK);
    assert_memory_equal(e, s, sizeof(s));
    assert_int_equal(cl_emrtd_bac_ifd_auth(&k, rnd_ifd, rnd_ic, k_ifd, auth), CL_OK);
    assert_hex(auth, sizeof(auth), E_IFD M_IFD);
}

static void test_bac_chip_answer(void **state)
{
    struct cl_emrtd_keys k;
    struct cl_emrtd_session s;
    uint8_t rnd_ic[8], k_ic[16], cmd[40], resp[40];

    (void)state;
    example_keys(&k);
    unhex(RND_IC, rnd_ic, sizeof(rnd_ic));
    unhex(K_IC, k_ic, sizeof(k_ic));
    unhex(E_IFD M_IFD, cmd, sizeof(cmd));
    assert_int_equal(cl_emrtd_bac_icc_respond(&k, rnd_ic, k_ic, cmd, sizeof(cmd), resp, &s), CL_OK);
    assert_hex(resp, sizeof(resp), RESP_IC);
    assert_hex(s.ks.enc, 16, KS_ENC);
    assert_hex(s.ks.mac, 16, KS_MAC);
    assert_hex(s.ssc, 8, SSC);

    /* A terminal with the wrong keys, or answering another challenge, is refused. */
    cmd[39] ^= 0x01;
    assert_int_equal(cl_emrtd_bac_icc_respond(&k, rnd_ic, k_ic, cmd, sizeof(cmd), resp, &s),
                     CL_E_SM_MAC);
    cmd[39] ^= 0x01;
    rnd_ic[0] ^= 0x01;
    assert_int_equal(cl_emrtd_bac_icc_respond(&k, rnd_ic, k_ic, cmd, sizeof(cmd), resp, &s),
                     CL_E_AUTH_FAILED);
    rnd_ic[0] ^= 0x01;
    assert_int_equal(cl_emrtd_bac_icc_respond(&k, rnd_ic, k_ic, cmd, 39, resp, &s),
                     CL_E_DATA_MALFORMED);
}

static void test_bac_terminal_finish(void **state)
{
    struct cl_emrtd_keys k;
    struct cl_emrtd_session s;
    uint8_t rnd_ifd[8], rnd_ic[8], k_ifd[16], resp[40];

    (void)state;
    example_keys(&k);
    unhex(RND_IFD, rnd_ifd, sizeof(rnd_ifd));
    unhex(RND_IC, rnd_ic, sizeof(rnd_ic));
    unhex(K_IFD, k_ifd, sizeof(k_ifd));
    unhex(RESP_IC, resp, sizeof(resp));
    assert_int_equal(cl_emrtd_bac_ifd_finish(&k, rnd_ifd, rnd_ic, k_ifd, resp, 40, &s), CL_OK);
    assert_hex(s.ks.enc, 16, KS_ENC);
    assert_hex(s.ks.mac, 16, KS_MAC);
    assert_hex(s.ssc, 8, SSC);

    /* The chip's MAC is checked first; then that it saw our RND.IFD. */
    resp[35] ^= 0x80;
    assert_int_equal(cl_emrtd_bac_ifd_finish(&k, rnd_ifd, rnd_ic, k_ifd, resp, 40, &s),
                     CL_E_SM_MAC);
    resp[35] ^= 0x80;
    rnd_ifd[7] ^= 0x01;
    assert_int_equal(cl_emrtd_bac_ifd_finish(&k, rnd_ifd, rnd_ic, k_ifd, resp, 40, &s),
                     CL_E_AUTH_FAILED);
    rnd_ifd[7] ^= 0x01;
    assert_int_equal(cl_emrtd_bac_ifd_finish(&k, rnd_ifd, rnd_ic, k_ifd, resp, 32, &s),
                     CL_E_DATA_MALFORMED);
}

/* ---- Secure messaging ---------------------------------------------------- */

static cl_emrtd_sm *example_sm(void)
{
    struct cl_emrtd_session s;
    cl_emrtd_sm *sm = NULL;

    example_session(&s);
    assert_int_equal(cl_emrtd_sm_new(&s, &sm), CL_OK);
    return sm;
}

/* Wraps a plain command and checks the encoded protected APDU against the example. */
static void wrap_expect(cl_emrtd_sm *sm, const struct cl_apdu *plain, const char *expect)
{
    static uint8_t buf[CL_CAPDU_MAX], enc[CL_CAPDU_MAX];
    struct cl_apdu prot;
    size_t n = 0;

    assert_int_equal(cl_emrtd_sm_wrap(sm, plain, &prot, buf, sizeof(buf)), CL_OK);
    assert_int_equal(cl_apdu_encode(&prot, false, enc, sizeof(enc), &n), CL_OK);
    assert_hex(enc, n, expect);
}

static cl_rc unwrap_hex(cl_emrtd_sm *sm, const char *resp, uint16_t sw, uint8_t *out, size_t cap,
                        size_t *out_len, uint16_t *out_sw)
{
    uint8_t r[512];
    size_t n = unhex(resp, r, sizeof(r));

    return cl_emrtd_sm_unwrap(sm, r, n, sw, out, cap, out_len, out_sw);
}

static const uint8_t ef_com_fid[2] = { 0x01, 0x1E };
static const struct cl_apdu select_com = {
    .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = ef_com_fid, .lc = 2
};
static const struct cl_apdu read4 = { .ins = 0xB0, .le = 4 };
static const struct cl_apdu read18 = { .ins = 0xB0, .p2 = 4, .le = 0x12 };

static void test_sm_worked_example(void **state)
{
    cl_emrtd_sm *sm = example_sm();
    uint8_t out[64], ssc[8];
    size_t n = 99;
    uint16_t sw = 0;

    (void)state;
    wrap_expect(sm, &select_com, SEL_CMD);
    cl_emrtd_sm_ssc(sm, ssc);
    assert_hex(ssc, 8, "887022120C06C227");
    assert_int_equal(unwrap_hex(sm, SEL_RESP, 0x9000, out, sizeof(out), &n, &sw), CL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sw, 0x9000);

    wrap_expect(sm, &read4, RB1_CMD);
    assert_int_equal(unwrap_hex(sm, RB1_RESP, 0x9000, out, sizeof(out), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x9000);
    assert_hex(out, n, RB1_DATA);

    wrap_expect(sm, &read18, RB2_CMD);
    assert_int_equal(unwrap_hex(sm, RB2_RESP, 0x9000, out, sizeof(out), &n, &sw), CL_OK);
    assert_hex(out, n, RB2_DATA);
    cl_emrtd_sm_ssc(sm, ssc);
    assert_hex(ssc, 8, "887022120C06C22C");
    assert_true(cl_emrtd_sm_alive(sm));
    cl_emrtd_sm_free(sm);
}

/* A session that has sent READ BINARY of 4 bytes (SSC ...29; its response uses ...2A). */
static cl_emrtd_sm *sm_at_read4(void)
{
    cl_emrtd_sm *sm = example_sm();
    uint8_t out[8];
    size_t n;
    uint16_t sw;

    wrap_expect(sm, &select_com, SEL_CMD);
    assert_int_equal(unwrap_hex(sm, SEL_RESP, 0x9000, out, sizeof(out), &n, &sw), CL_OK);
    wrap_expect(sm, &read4, RB1_CMD);
    return sm;
}

/* Unwraps a modified copy of RB1_RESP; the session must be over afterwards. */
static void expect_rejected(const uint8_t *r, size_t len, uint16_t sw, cl_rc want)
{
    cl_emrtd_sm *sm = sm_at_read4();
    uint8_t out[64];
    size_t n = 99;
    uint16_t osw = 0x1234;
    struct cl_apdu prot;
    uint8_t buf[64];

    memset(out, 0xEE, sizeof(out));
    assert_int_equal(cl_emrtd_sm_unwrap(sm, r, len, sw, out, sizeof(out), &n, &osw), want);
    assert_int_equal(n, 0);
    assert_false(cl_emrtd_sm_alive(sm));
    assert_int_equal(cl_emrtd_sm_wrap(sm, &read4, &prot, buf, sizeof(buf)), CL_E_SM_FAILED);
    cl_emrtd_sm_free(sm);
}

static void test_sm_rejects_forged_responses(void **state)
{
    uint8_t good[64], r[64];
    size_t len = unhex(RB1_RESP, good, sizeof(good));

    (void)state;
    if (len < 16 || len >= sizeof(r)) { /* the bounds, for the compiler's sake too */
        fail_msg("RB1_RESP has %zu bytes", len);
        return;
    }
    /* Every single flipped bit, in the cryptogram, the status or the MAC itself. */
    for (size_t i = 0; i < len; i++) {
        memcpy(r, good, len);
        r[i] ^= 0x04;
        expect_rejected(r, len, 0x9000, CL_E_SM_MAC);
    }
    /* Missing DO'8E'. */
    expect_rejected(good, len - 10, 0x9000, CL_E_SM_MAC);
    /* DO'8E' with a short MAC. */
    memcpy(r, good, len);
    r[len - 9] = 0x07;
    expect_rejected(r, len - 1, 0x9000, CL_E_SM_MAC);
    /* Truncated DOs: cut anywhere. */
    for (size_t cut = 1; cut < len; cut++)
        expect_rejected(good, cut, 0x9000, CL_E_SM_MAC);
    /* Something after DO'8E'. */
    memcpy(r, good, len);
    r[len] = 0x99;
    r[len + 1] = 0x00;
    expect_rejected(r, len + 2, 0x9000, CL_E_SM_MAC);
    /* An unknown DO before it. */
    r[0] = 0x53;
    r[1] = 0x00;
    memcpy(r + 2, good, len);
    expect_rejected(r, len + 2, 0x9000, CL_E_SM_MAC);
    /* Success without any protection. */
    expect_rejected(good, 0, 0x9000, CL_E_SM_MAC);
    expect_rejected(good, 0, 0x6282, CL_E_SM_MAC);
    /* The response to another command (a replay of the SELECT answer). */
    len = unhex(SEL_RESP, r, sizeof(r));
    expect_rejected(r, len, 0x9000, CL_E_SM_MAC);
}

/*
 * Builds a response to the READ BINARY of 4 bytes as a chip would, with the
 * example's keys and SSC ...2A, from a cryptogram DO and a status DO.
 */
static size_t forge(const uint8_t *dos, size_t n, uint8_t *out)
{
    struct cl_emrtd_session s;
    uint8_t m[256];

    example_session(&s);
    unhex("887022120C06C22A", m, 8);
    memcpy(m + 8, dos, n);
    assert_int_equal(cl_emrtd_mac(s.ks.mac, m, 8 + n, out + n + 2), CL_OK);
    memcpy(out, dos, n);
    out[n] = 0x8E;
    out[n + 1] = 0x08;
    return n + 10;
}

static size_t encrypted_do(const uint8_t *plain, size_t n, uint8_t pi, uint8_t *out)
{
    struct cl_emrtd_session s;

    example_session(&s);
    assert_true(n % 8 == 0 && n <= 64);
    out[0] = 0x87;
    out[1] = (uint8_t)(n + 1);
    out[2] = pi;
    assert_int_equal(cl_emrtd_tdes_cbc(s.ks.enc, true, plain, n, out + 3), CL_OK);
    return n + 3;
}

static void test_sm_authenticated_but_malformed(void **state)
{
    static const uint8_t status[4] = { 0x99, 0x02, 0x90, 0x00 };
    uint8_t dos[128], r[160], block[8] = { 0x60, 0x14, 0x5F, 0x01, 0x80, 0, 0, 0 };
    size_t n;

    (void)state;
    /* The forger reproduces the real response: the construction is right. */
    n = encrypted_do(block, 8, 0x01, dos);
    memcpy(dos + n, status, 4);
    n = forge(dos, n + 4, r);
    assert_hex(r, n, RB1_RESP);

    /* Wrong padding: no 0x80. */
    block[4] = 0x00;
    n = encrypted_do(block, 8, 0x01, dos);
    memcpy(dos + n, status, 4);
    expect_rejected(r, forge(dos, n + 4, r), 0x9000, CL_E_SM_FAILED);
    /* Wrong padding: a byte after the 0x80. */
    block[4] = 0x80;
    block[7] = 0x01;
    n = encrypted_do(block, 8, 0x01, dos);
    memcpy(dos + n, status, 4);
    expect_rejected(r, forge(dos, n + 4, r), 0x9000, CL_E_SM_FAILED);
    /* A padding indicator other than 01. */
    block[7] = 0x00;
    n = encrypted_do(block, 8, 0x02, dos);
    memcpy(dos + n, status, 4);
    expect_rejected(r, forge(dos, n + 4, r), 0x9000, CL_E_SM_FAILED);
    /* A cryptogram that is not whole blocks. */
    n = encrypted_do(block, 8, 0x01, dos);
    dos[1] = 0x08;
    memcpy(dos + n - 1, status, 4);
    expect_rejected(r, forge(dos, n + 3, r), 0x9000, CL_E_SM_FAILED);
    /* No DO'99'. */
    n = encrypted_do(block, 8, 0x01, dos);
    expect_rejected(r, forge(dos, n, r), 0x9000, CL_E_SM_FAILED);
    /* DO'99' of the wrong length. */
    n = encrypted_do(block, 8, 0x01, dos);
    memcpy(dos + n, "\x99\x01\x90", 3);
    expect_rejected(r, forge(dos, n + 3, r), 0x9000, CL_E_SM_FAILED);
}

static void test_sm_status_only_and_small_buffers(void **state)
{
    cl_emrtd_sm *sm = sm_at_read4();
    uint8_t out[8];
    size_t n = 0;
    uint16_t sw = 0;
    struct cl_apdu prot;
    uint8_t buf[16], ssc[8];

    (void)state;
    /* Too small a buffer for the data is the caller's error; the session lives. */
    assert_int_equal(unwrap_hex(sm, RB1_RESP, 0x9000, out, 3, &n, &sw), CL_E_RAPDU_TOO_LONG);
    assert_true(cl_emrtd_sm_alive(sm));
    /* Wrapping into too small a buffer changes nothing. */
    cl_emrtd_sm_ssc(sm, ssc);
    assert_int_equal(cl_emrtd_sm_wrap(sm, &select_com, &prot, buf, sizeof(buf)),
                     CL_E_BUFFER_TOO_SMALL);
    cl_emrtd_sm_ssc(sm, out);
    assert_memory_equal(out, ssc, 8);
    /* An unprotected refusal passes through as a status; 6988 ends the session. */
    assert_int_equal(cl_emrtd_sm_unwrap(sm, NULL, 0, 0x6A82, out, sizeof(out), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x6A82);
    assert_int_equal(n, 0);
    assert_true(cl_emrtd_sm_alive(sm));
    assert_int_equal(cl_emrtd_sm_unwrap(sm, NULL, 0, 0x6988, out, sizeof(out), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x6988);
    assert_false(cl_emrtd_sm_alive(sm));
    assert_int_equal(cl_emrtd_sm_unwrap(sm, NULL, 0, 0x6A82, out, sizeof(out), &n, &sw),
                     CL_E_SM_FAILED);
    cl_emrtd_sm_free(sm);
    cl_emrtd_sm_free(NULL);
}

static void test_sm_wrap_shapes(void **state)
{
    cl_emrtd_sm *sm = example_sm();
    static uint8_t data[300], buf[CL_CAPDU_MAX];
    struct cl_apdu plain = { .ins = 0xB1, .data = data, .lc = 4, .le = 300 };
    struct cl_apdu prot;

    (void)state;
    /* Odd INS: DO'85' without the padding indicator; Le over 256 in two bytes. */
    assert_int_equal(cl_emrtd_sm_wrap(sm, &plain, &prot, buf, sizeof(buf)), CL_OK);
    assert_int_equal(prot.cla, 0x0C);
    assert_int_equal(buf[0], 0x85);
    assert_int_equal(buf[1], 8);
    assert_memory_equal(buf + 10, "\x97\x02\x01\x2C\x8E\x08", 6);
    assert_int_equal(prot.lc, 10 + 4 + 10);
    assert_int_equal(prot.le, CL_EXT_LE_MAX);
    /* Long data: a two-byte DO length. */
    plain.ins = 0xD6;
    plain.lc = sizeof(data);
    plain.le = 256;
    assert_int_equal(cl_emrtd_sm_wrap(sm, &plain, &prot, buf, sizeof(buf)), CL_OK);
    assert_memory_equal(buf, "\x87\x82\x01\x31\x01", 5);
    assert_memory_equal(buf + 5 + 304, "\x97\x01\x00", 3);
    /* A command already marked as protected is refused. */
    plain.cla = 0x0C;
    assert_int_equal(cl_emrtd_sm_wrap(sm, &plain, &prot, buf, sizeof(buf)), CL_E_INVALID_ARG);
    cl_emrtd_sm_free(sm);
}

/* ---- The whole exchange over a card ------------------------------------- */

/* A card that expects the example's commands in order and gives the example's answers. */
struct script {
    const char *const *cmds;
    const char *const *resps; /* hex, including the status word */
    size_t n, at;
    bool mismatch;
};

static cl_rc script_power_on(void *cv, uint8_t *atr, size_t cap, size_t *len)
{
    (void)cv;
    (void)cap;
    atr[0] = 0x3B;
    atr[1] = 0x00;
    *len = 2;
    return CL_OK;
}

static cl_rc script_process(void *cv, const uint8_t *cmd, size_t n, uint8_t *r, size_t cap,
                            size_t *rlen)
{
    struct script *s = cv;
    uint8_t want[300];
    size_t wn = 0;

    if (s->at >= s->n || !hm_hex_decode(s->cmds[s->at], want, sizeof(want), &wn) || wn != n ||
        memcmp(want, cmd, n) != 0) {
        s->mismatch = true;
        r[0] = 0x6F;
        r[1] = 0x00;
        *rlen = 2;
        return CL_OK;
    }
    if (!hm_hex_decode(s->resps[s->at], r, cap, rlen))
        return CL_E_INTERNAL;
    s->at++;
    return CL_OK;
}

static const struct cl_mem_card_ops script_ops = { script_power_on, script_process };

/* Gives RND.IFD, then K.IFD, as the example has them. */
static cl_rc example_rng(void *arg, uint8_t *out, size_t n)
{
    int *calls = arg;
    const char *v = (*calls)++ == 0 ? RND_IFD : K_IFD;
    size_t got = 0;

    if (!hm_hex_decode(v, out, n, &got) || got != n)
        return CL_E_INTERNAL;
    return CL_OK;
}

struct conn {
    cl_ctx *ctx;
    cl_card *card;
};

static void connect_script(struct conn *c, struct script *s)
{
    assert_int_equal(cl_ctx_new_mem(&c->ctx), CL_OK);
    assert_int_equal(cl_mem_add_reader(c->ctx, "R"), CL_OK);
    assert_int_equal(cl_mem_insert(c->ctx, "R", &script_ops, s), CL_OK);
    assert_int_equal(cl_card_connect(c->ctx, "R", CL_SHARE_SHARED, &c->card), CL_OK);
}

static void disconnect(struct conn *c)
{
    cl_card_disconnect(c->card, false);
    cl_ctx_free(c->ctx);
}

static void test_bac_and_read_ef_com_over_a_card(void **state)
{
    static const char *const cmds[] = {
        "00A4040C07A0000002471001",
        "0084000008",
        "0082000028" E_IFD M_IFD "28",
        SEL_CMD,
        RB1_CMD,
        RB2_CMD,
    };
    static const char *const resps[] = {
        "9000", RND_IC "9000", RESP_IC "9000", SEL_RESP "9000", RB1_RESP "9000", RB2_RESP "9000",
    };
    struct script s = { cmds, resps, 6, 0, false };
    struct conn c;
    struct cl_emrtd_keys k;
    struct hm_buf file;
    int calls = 0;

    (void)state;
    connect_script(&c, &s);
    assert_int_equal(cl_emrtd_bac_keys("L898902C", "690806", "940623", &k), CL_OK);
    assert_int_equal(cl_emrtd_select_app(c.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(c.card, &k, example_rng, &calls), CL_OK);
    assert_int_equal(calls, 2);
    assert_true(cl_card_sm_active(c.card));
    hm_buf_init_secret(&file, 4096);
    assert_int_equal(cl_emrtd_read_file(c.card, CL_EMRTD_FID_COM, &file), CL_OK);
    assert_false(s.mismatch);
    assert_int_equal(s.at, 6);
    assert_hex(file.data, file.len, EF_COM);
    hm_buf_free(&file);
    disconnect(&c);
}

static void test_bac_wrong_mrz_and_forged_chip(void **state)
{
    static const char *const cmds[] = { "0084000008", "0082000028" E_IFD M_IFD "28" };
    static const char *const refused[] = { RND_IC "9000", "6300" };
    /* A chip answer with a broken MAC. */
    static const char *const forged[] = {
        RND_IC "9000",
        "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F"
        "2F2D235D074D744A9000",
    };
    struct script s = { cmds, refused, 2, 0, false };
    struct conn c;
    struct cl_emrtd_keys k;
    int calls = 0;

    (void)state;
    example_keys(&k);
    connect_script(&c, &s);
    assert_int_equal(cl_emrtd_bac(c.card, &k, example_rng, &calls), CL_E_AUTH_FAILED);
    assert_int_equal(cl_card_last_sw(c.card), 0x6300);
    assert_false(cl_card_sm_active(c.card));
    disconnect(&c);

    s = (struct script){ cmds, forged, 2, 0, false };
    calls = 0;
    connect_script(&c, &s);
    assert_int_equal(cl_emrtd_bac(c.card, &k, example_rng, &calls), CL_E_SM_MAC);
    assert_false(cl_card_sm_active(c.card));
    disconnect(&c);
}

static void test_card_response_with_bad_mac_is_no_data(void **state)
{
    static const char *const cmds[] = { SEL_CMD, RB1_CMD };
    static const char *const resps[] = { SEL_RESP "9000",
                                         "8709019FF0EC34F9922651990290008E08AD55CC17140B2DEE9000" };
    struct script s = { cmds, resps, 2, 0, false };
    struct conn c;
    struct cl_emrtd_session ses;
    uint8_t r[16];
    size_t n = 0;

    (void)state;
    example_session(&ses);
    connect_script(&c, &s);
    assert_int_equal(cl_emrtd_sm_install(c.card, &ses), CL_OK);
    assert_int_equal(cl_emrtd_select_ef(c.card, CL_EMRTD_FID_COM), CL_OK);
    memset(r, 0, sizeof(r));
    assert_int_equal(cl_emrtd_read_binary(c.card, 0, 4, r, &n), CL_E_SM_MAC);
    assert_int_equal(n, 0);
    assert_memory_equal(r, "\0\0\0\0", 4);
    /* The session is over: nothing more goes to the card. */
    assert_int_equal(cl_emrtd_read_binary(c.card, 0, 4, r, &n), CL_E_SM_FAILED);
    assert_int_equal(s.at, 2);
    disconnect(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_digits),
        cmocka_unit_test(test_mrz_information),
        cmocka_unit_test(test_key_seed_and_kdf),
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_bac_terminal_cryptogram),
        cmocka_unit_test(test_bac_chip_answer),
        cmocka_unit_test(test_bac_terminal_finish),
        cmocka_unit_test(test_sm_worked_example),
        cmocka_unit_test(test_sm_rejects_forged_responses),
        cmocka_unit_test(test_sm_authenticated_but_malformed),
        cmocka_unit_test(test_sm_status_only_and_small_buffers),
        cmocka_unit_test(test_sm_wrap_shapes),
        cmocka_unit_test(test_bac_and_read_ef_com_over_a_card),
        cmocka_unit_test(test_bac_wrong_mrz_and_forged_chip),
        cmocka_unit_test(test_card_response_with_bad_mac_is_no_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
