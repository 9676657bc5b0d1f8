/*
 * The virtual card's eMRTD applet driven in-process through cardlib's BAC and
 * secure messaging: ICAO's worked example byte for byte, access rules before
 * and after BAC, long files, faults and Active Authentication.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/mem.h"
#include "hm/buf.h"
#include "hm/hex.h"
#include "hm/util.h"
#include "vcard/vcard.h"

#define ATR "3B 88 80 01 48 55 49 4D 49 4E 49 44 1A"
#define MRZ                                                                         \
    "\"mrz\": { \"document_number\": \"L898902C\", \"date_of_birth\": \"690806\", " \
    "\"date_of_expiry\": \"940623\" }"
#define EF_COM "60145F0104303130365F36063034303030305C026175"

/* ICAO 9303 Part 11 Appendix D: the exchange, as it appears on the wire. */
static const char *const appendix_d[] = {
    "00A4040C07A0000002471001",
    "9000",
    "0084000008",
    "4608F919887022129000",
    ("0082000028"
     "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
     "5F1448EEA8AD90A728"),
    ("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F"
     "2F2D235D074D74499000"),
    "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
    "990290008E08FA855A5D4C50A8ED9000",
    "0CB000000D9701048E08ED6705417E96BA5500",
    "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000",
    "0CB000040D9701128E082EA28A70F3C7B53500",
    "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
};

#define TRACE_MAX 32

struct fx {
    vc_card *vc;
    cl_ctx *ctx;
    cl_card *card;
    struct cl_emrtd_keys k;
    char trace[TRACE_MAX][600];
    size_t ntrace;
};

static void record(void *arg, bool to_card, const uint8_t *p, size_t n)
{
    struct fx *f = arg;

    (void)to_card;
    if (f->ntrace < TRACE_MAX && hm_hex_encode(p, n, f->trace[f->ntrace], sizeof(f->trace[0])))
        f->ntrace++;
}

static const char *fixtures_dir(void)
{
    static char dir[4096];
    const char *root = getenv("HUIMIN_SOURCE_DIR");

    snprintf(dir, sizeof(dir), "%s/fixtures/cards", root ? root : ".");
    return dir;
}

/* Builds a card from the applet object's JSON body and connects to it. */
static void open_card(struct fx *f, const char *applet_body, const char *dir)
{
    char json[8192], err[256] = "";

    memset(f, 0, sizeof(*f));
    snprintf(json, sizeof(json),
             "{ \"atr\": \"%s\", \"applets\": [ { \"type\": \"emrtd\", %s } ] }", ATR, applet_body);
    f->vc = vc_card_from_json(json, dir ? dir : fixtures_dir(), err, sizeof(err));
    if (!f->vc)
        fail_msg("card: %s", err);
    assert_int_equal(cl_ctx_new_mem(&f->ctx), CL_OK);
    assert_int_equal(cl_mem_add_reader(f->ctx, "R"), CL_OK);
    assert_int_equal(cl_mem_insert(f->ctx, "R", &vc_card_mem_ops, f->vc), CL_OK);
    assert_int_equal(cl_card_connect(f->ctx, "R", CL_SHARE_SHARED, &f->card), CL_OK);
    assert_int_equal(cl_emrtd_bac_keys("L898902C", "690806", "940623", &f->k), CL_OK);
}

static void close_card(struct fx *f)
{
    cl_card_disconnect(f->card, false);
    cl_ctx_free(f->ctx);
    vc_card_free(f->vc);
}

static void read_ef_com(struct fx *f)
{
    struct hm_buf b;
    char hex[128];

    hm_buf_init(&b, 4096);
    assert_int_equal(cl_emrtd_read_file(f->card, CL_EMRTD_FID_COM, &b), CL_OK);
    assert_true(hm_hex_encode(b.data, b.len, hex, sizeof(hex)));
    assert_string_equal(hex, EF_COM);
    hm_buf_free(&b);
}

static cl_rc example_rng(void *arg, uint8_t *out, size_t n)
{
    int *calls = arg;
    const char *v = (*calls)++ == 0 ? "781723860C06C226" : "0B795240CB7049B01C19B33E32804F0B";
    size_t got = 0;

    return hm_hex_decode(v, out, n, &got) && got == n ? CL_OK : CL_E_INTERNAL;
}

static void test_appendix_d_on_the_wire(void **state)
{
    struct fx f;
    int calls = 0;

    (void)state;
    open_card(&f,
              MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" },"
                  " \"test_rnd_icc\": \"4608F91988702212\","
                  " \"test_k_icc\": \"0B4F80323EB3191CB04970CB4052790B\"",
              NULL);
    cl_card_set_trace(f.card, record, &f);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, example_rng, &calls), CL_OK);
    read_ef_com(&f);
    assert_int_equal(f.ntrace, HM_ARRAY_SIZE(appendix_d));
    for (size_t i = 0; i < f.ntrace; i++)
        assert_string_equal(f.trace[i], appendix_d[i]);
    close_card(&f);
}

static void test_bac_then_read(void **state)
{
    struct fx f;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }", NULL);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    read_ef_com(&f);
    /* A file the card does not have: a protected 6A82, and the session goes on. */
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_DG11), CL_E_FILE_NOT_FOUND);
    read_ef_com(&f);
    /* BAC again (a fresh session) works too. */
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    read_ef_com(&f);
    close_card(&f);
}

static void test_wrong_mrz_is_refused(void **state)
{
    struct fx f;
    struct cl_emrtd_keys wrong;
    uint8_t r[8];
    size_t n;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }", NULL);
    assert_int_equal(cl_emrtd_bac_keys("L898902C", "690806", "940624", &wrong), CL_OK);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &wrong, NULL, NULL), CL_E_AUTH_FAILED);
    assert_int_equal(cl_card_last_sw(f.card), 0x6300);
    assert_false(cl_card_sm_active(f.card));
    /* No session: the files stay closed. */
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_COM), CL_E_SECURITY_STATUS);
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SECURITY_STATUS);
    close_card(&f);
}

static void test_plain_access_before_bac(void **state)
{
    struct fx f;
    static const uint8_t junk[40];
    struct cl_apdu ext = { .ins = 0x82, .data = junk, .lc = 40, .le = 40 };
    struct cl_apdu aa = { .ins = 0x88, .data = junk, .lc = 8, .le = 256 };
    struct cl_apdu challenge = { .ins = 0x84, .le = 8 };
    uint8_t r[64];
    size_t n;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }", NULL);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_COM), CL_E_SECURITY_STATUS);
    assert_int_equal(cl_card_last_sw(f.card), 0x6982);
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SECURITY_STATUS);
    assert_int_equal(cl_card_command(f.card, &aa, r, sizeof(r), &n), CL_E_SECURITY_STATUS);
    /* EXTERNAL AUTHENTICATE needs a challenge, and a challenge allows one try. */
    assert_int_equal(cl_card_command(f.card, &ext, r, sizeof(r), &n),
                     CL_E_CONDITIONS_NOT_SATISFIED);
    assert_int_equal(cl_card_command(f.card, &challenge, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 8);
    assert_int_equal(cl_card_command(f.card, &ext, r, sizeof(r), &n), CL_E_AUTH_FAILED);
    assert_int_equal(cl_card_command(f.card, &ext, r, sizeof(r), &n),
                     CL_E_CONDITIONS_NOT_SATISFIED);
    close_card(&f);
}

static void test_plain_command_ends_session(void **state)
{
    struct fx f;
    static const uint8_t plain_read[] = { 0x00, 0xB0, 0x00, 0x00, 0x04 };
    uint8_t r[16];
    size_t n;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }", NULL);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_COM), CL_OK);
    /* Around secure messaging: the chip ends the session. */
    assert_int_equal(cl_card_transmit_raw(f.card, plain_read, sizeof(plain_read), r, sizeof(r), &n),
                     CL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(r[0] << 8 | r[1], 0x6987);
    /* Our side does not know yet: its next protected command is refused without SM. */
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SM_DATA_INCORRECT);
    assert_int_equal(cl_card_last_sw(f.card), 0x6988);
    /* And after that our session is over as well. */
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SM_FAILED);
    cl_card_set_sm(f.card, NULL, NULL);
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SECURITY_STATUS);
    close_card(&f);
}

static void test_bad_mac_from_terminal_ends_session(void **state)
{
    struct fx f;
    /* A protected READ BINARY with a MAC made up by someone without the keys. */
    static const uint8_t forged[] = { 0x0C, 0xB0, 0x00, 0x00, 0x0D, 0x97, 0x01, 0x04, 0x8E, 0x08,
                                      1,    2,    3,    4,    5,    6,    7,    8,    0x00 };
    static const uint8_t no_mac[] = { 0x0C, 0xB0, 0x00, 0x00, 0x03, 0x97, 0x01, 0x04, 0x00 };
    uint8_t r[16];
    size_t n;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }", NULL);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    assert_int_equal(cl_card_transmit_raw(f.card, forged, sizeof(forged), r, sizeof(r), &n), CL_OK);
    assert_int_equal(r[0] << 8 | r[1], 0x6988);
    /* Missing DO'8E' once a new session is up: 6987. */
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    assert_int_equal(cl_card_transmit_raw(f.card, no_mac, sizeof(no_mac), r, sizeof(r), &n), CL_OK);
    assert_int_equal(r[0] << 8 | r[1], 0x6987);
    close_card(&f);
}

static void test_fault_bad_mac_from_card(void **state)
{
    struct fx f;
    uint8_t r[16];
    size_t n;

    (void)state;
    open_card(&f, MRZ ", \"files\": { \"EF.COM\": \"" EF_COM "\" }, \"fault_bad_mac_after\": 1",
              NULL);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_COM), CL_OK);
    memset(r, 0, sizeof(r));
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SM_MAC);
    assert_int_equal(n, 0);
    assert_memory_equal(r, "\0\0\0\0", 4);
    assert_int_equal(cl_emrtd_read_binary(f.card, 0, 4, r, &n), CL_E_SM_FAILED);
    /* A new BAC recovers (the fault fires once). */
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    read_ef_com(&f);
    close_card(&f);
}

static void test_long_file_from_disk(void **state)
{
    char dir[] = "/tmp/huimin-emrtd-XXXXXX", path[4200];
    size_t len = 40000, vlen = len - 4;
    uint8_t *dg2 = malloc(len);
    struct hm_buf b;
    struct fx f;
    FILE *fp;
    uint8_t r[300];
    size_t n;
    struct cl_apdu sfi = { .ins = 0xB0, .p1 = 0x80 | 0x1E, .p2 = 2, .le = 3 };

    (void)state;
    assert_non_null(dg2);
    assert_non_null(mkdtemp(dir));
    /* DG2: tag 75, a 2-byte length, then a pattern. */
    dg2[0] = 0x75;
    dg2[1] = 0x82;
    dg2[2] = (uint8_t)(vlen >> 8);
    dg2[3] = (uint8_t)vlen;
    for (size_t i = 4; i < len; i++)
        dg2[i] = (uint8_t)(i * 7 + (i >> 8));
    snprintf(path, sizeof(path), "%s/dg2.bin", dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(dg2, 1, len, fp), len);
    fclose(fp);

    open_card(&f,
              MRZ ", \"files\": { \"EF.COM\": { \"hex\": \"" EF_COM "\" },"
                  " \"DG2\": { \"file\": \"dg2.bin\" } }",
              dir);
    assert_int_equal(cl_emrtd_select_app(f.card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f.card, &f.k, NULL, NULL), CL_OK);
    /* Past offset 32767 the reads go through INS B1. */
    hm_buf_init(&b, 65536);
    assert_int_equal(cl_emrtd_read_file(f.card, CL_EMRTD_FID_DG2, &b), CL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, dg2, len);
    /* A buffer whose maximum is too small is told so. */
    hm_buf_free(&b);
    hm_buf_init(&b, 1000);
    assert_int_equal(cl_emrtd_read_file(f.card, CL_EMRTD_FID_DG2, &b), CL_E_BUFFER_TOO_SMALL);
    assert_int_equal(b.len, 0);
    hm_buf_free(&b);
    /* B1 directly, and past the end. */
    assert_int_equal(cl_emrtd_select_ef(f.card, CL_EMRTD_FID_DG2), CL_OK);
    assert_int_equal(cl_emrtd_read_binary(f.card, 39990, 200, r, &n), CL_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(r, dg2 + 39990, 10);
    assert_int_equal(cl_emrtd_read_binary(f.card, 50000, 16, r, &n), CL_E_WRONG_PARAMETERS);
    /* READ BINARY by short EF identifier selects EF.COM (SFI 1E). */
    assert_int_equal(cl_card_command(f.card, &sfi, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(r, "\x5F\x01\x04", 3);
    close_card(&f);
    unlink(path);
    rmdir(dir);
    free(dg2);
}

/* Reads the AA public key the test checks against from the card's PEM. */
static EVP_PKEY *load_key(const char *name)
{
    char path[4200];
    FILE *fp;
    EVP_PKEY *k;

    snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

static const uint8_t aa_challenge[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };

static size_t internal_authenticate(struct fx *f, uint8_t *sig, size_t cap)
{
    struct cl_apdu aa = { .ins = 0x88, .data = aa_challenge, .lc = 8, .le = 256 };
    size_t n = 0;

    assert_int_equal(cl_emrtd_select_app(f->card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f->card, &f->k, NULL, NULL), CL_OK);
    assert_int_equal(cl_card_command(f->card, &aa, sig, cap, &n), CL_OK);
    return n;
}

static void test_active_authentication_ecdsa(void **state)
{
    struct fx f;
    uint8_t sig[300], der[80];
    unsigned char *p = der;
    EVP_PKEY *key = load_key("emrtd/aa-ec-p256.pem");
    ECDSA_SIG *es = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n;
    int dlen;

    (void)state;
    open_card(&f, MRZ ", \"aa_key\": \"emrtd/aa-ec-p256.pem\"", NULL);
    n = internal_authenticate(&f, sig, sizeof(sig));
    assert_int_equal(n, 64);
    assert_true(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
    dlen = i2d_ECDSA_SIG(es, &p);
    assert_true(dlen > 0);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(md, der, (size_t)dlen, aa_challenge, 8), 1);
    /* Another challenge does not verify. */
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_not_equal(EVP_DigestVerify(md, der, (size_t)dlen, (const uint8_t *)"12345678", 8),
                         1);
    EVP_MD_CTX_free(md);
    ECDSA_SIG_free(es);
    EVP_PKEY_free(key);
    close_card(&f);
}

static void test_active_authentication_rsa(void **state)
{
    struct fx f;
    uint8_t sig[300], fr[300], h[20], m[300];
    EVP_PKEY *key = load_key("emrtd/aa-rsa-2048.pem");
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
    size_t n, flen = sizeof(fr), m1;
    unsigned hl = 0;

    (void)state;
    open_card(&f, MRZ ", \"aa_key\": \"emrtd/aa-rsa-2048.pem\"", NULL);
    n = internal_authenticate(&f, sig, sizeof(sig));
    assert_int_equal(n, 256);
    /* Recover F with the public key: 6A || M1 || SHA-1(M1 || challenge) || BC. */
    assert_non_null(pc);
    assert_int_equal(EVP_PKEY_verify_recover_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING), 1);
    assert_int_equal(EVP_PKEY_verify_recover(pc, fr, &flen, sig, n), 1);
    assert_int_equal(flen, 256);
    assert_int_equal(fr[0], 0x6A);
    assert_int_equal(fr[255], 0xBC);
    m1 = 256 - 22;
    memcpy(m, fr + 1, m1);
    memcpy(m + m1, aa_challenge, 8);
    assert_int_equal(EVP_Digest(m, m1 + 8, h, &hl, EVP_sha1(), NULL), 1);
    assert_memory_equal(fr + 1 + m1, h, 20);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(key);
    close_card(&f);
}

static void test_bad_applet_configs(void **state)
{
    static const char *const bad[][2] = {
        { "\"files\": {}", "mrz" },
        { "\"mrz\": { \"document_number\": \"L898902C\", \"date_of_birth\": \"6908\", "
          "\"date_of_expiry\": \"940623\" }",
          "mrz" },
        { MRZ ", \"files\": { \"EF.XYZ\": \"00\" }", "unknown file" },
        { MRZ ", \"files\": { \"DG1\": \"0G\" }", "bad hex" },
        { MRZ ", \"files\": { \"DG1\": { \"file\": \"no-such-file.bin\" } }", "cannot open" },
        { MRZ ", \"aa_key\": \"id-card-specimen.json\"", "aa_key" },
        { MRZ ", \"fault_bad_mac_after\": -1", "fault_bad_mac_after" },
        { MRZ ", \"test_rnd_icc\": \"00\"", "test_rnd_icc" },
    };
    char json[1024], err[256];

    (void)state;
    for (size_t i = 0; i < HM_ARRAY_SIZE(bad); i++) {
        snprintf(json, sizeof(json),
                 "{ \"atr\": \"%s\", \"applets\": [ { \"type\": \"emrtd\", %s } ] }", ATR,
                 bad[i][0]);
        err[0] = '\0';
        assert_null(vc_card_from_json(json, fixtures_dir(), err, sizeof(err)));
        if (!strstr(err, bad[i][1]))
            fail_msg("config %zu: \"%s\" does not mention \"%s\"", i, err, bad[i][1]);
    }
}

static void test_specimen_card_file_loads(void **state)
{
    char path[4200], err[256];
    vc_card *vc;

    (void)state;
    snprintf(path, sizeof(path), "%s/id-card-specimen.json", fixtures_dir());
    vc = vc_card_load(path, err, sizeof(err));
    if (!vc)
        fail_msg("%s", err);
    vc_card_free(vc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_d_on_the_wire),
        cmocka_unit_test(test_bac_then_read),
        cmocka_unit_test(test_wrong_mrz_is_refused),
        cmocka_unit_test(test_plain_access_before_bac),
        cmocka_unit_test(test_plain_command_ends_session),
        cmocka_unit_test(test_bad_mac_from_terminal_ends_session),
        cmocka_unit_test(test_fault_bad_mac_from_card),
        cmocka_unit_test(test_long_file_from_disk),
        cmocka_unit_test(test_active_authentication_ecdsa),
        cmocka_unit_test(test_active_authentication_rsa),
        cmocka_unit_test(test_bad_applet_configs),
        cmocka_unit_test(test_specimen_card_file_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
