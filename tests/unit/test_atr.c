/* ATR parsing on real-world and broken ATRs, and card identification through the virtual card. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cl/atr.h"
#include "cl/identify.h"
#include "cl/mem.h"
#include "hm/hex.h"
#include "vcard/vcard.h"

static cl_rc parse_hex(const char *hex, struct cl_atr *atr)
{
    uint8_t b[64];
    size_t n;

    assert_true(hm_hex_decode(hex, b, sizeof(b), &n));
    return cl_atr_parse(b, n, atr);
}

static void test_virtual_card_atr(void **state)
{
    struct cl_atr a;
    char buf[32];

    (void)state;
    assert_int_equal(parse_hex("3B 88 80 01 48 55 49 4D 49 4E 54 31 72", &a), CL_OK);
    assert_false(a.inverse);
    assert_true(a.contactless);
    assert_int_equal(a.protocols, 0x3); /* T=0 and T=1 */
    assert_int_equal(a.first_protocol, 0);
    assert_true(a.tck_present);
    assert_true(a.tck_valid);
    assert_int_equal(a.hist_len, 8);
    assert_memory_equal(a.hist, "HUIMINT1", 8);
    assert_string_equal(cl_atr_protocols(&a, buf, sizeof(buf)), "T=0,T=1");
}

static void test_yubikey_atr(void **state)
{
    struct cl_atr a;
    char buf[32];

    (void)state;
    assert_int_equal(parse_hex("3B F8 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 34 D4", &a), CL_OK);
    assert_true(a.has_ta1);
    assert_int_equal(a.ta1, 0x13);
    assert_int_equal(a.fi, 372);
    assert_int_equal(a.di, 4);
    assert_true(a.has_tc1);
    assert_int_equal(a.tc1, 0);
    assert_int_equal(a.protocols, 0x2);
    assert_int_equal(a.first_protocol, 1);
    assert_int_equal(a.ifsc, 0xFE);
    assert_false(a.contactless);
    assert_int_equal(a.hist_len, 8);
    assert_memory_equal(a.hist, "Yubikey4", 8);
    assert_string_equal(cl_atr_protocols(&a, buf, sizeof(buf)), "T=1");
}

static void test_dual_protocol_atr(void **state)
{
    struct cl_atr a;

    (void)state;
    /* TA1=18 TB1 TC1=FF, TD1 T=1, TD2 T=1 with TA3 IFSC FE, TB3, TD3 T=15 global. */
    assert_int_equal(
        parse_hex("3B DA 18 FF 81 B1 FE 75 1F 03 00 31 C5 73 C0 01 40 00 90 00 0C", &a), CL_OK);
    assert_int_equal(a.fi, 372);
    assert_int_equal(a.di, 12);
    assert_int_equal(a.tc1, 0xFF);
    assert_int_equal(a.protocols, 0x2); /* T=15 is not a protocol */
    assert_int_equal(a.ifsc, 0xFE);
    assert_int_equal(a.hist_len, 10);
    assert_int_equal(a.hist[0], 0x00);
    assert_true(a.tck_valid);
}

static void test_t0_without_td(void **state)
{
    struct cl_atr a;

    (void)state;
    /* No TD1: T=0 only and no TCK. */
    assert_int_equal(parse_hex("3B 02 14 50", &a), CL_OK);
    assert_int_equal(a.protocols, 0x1);
    assert_int_equal(a.first_protocol, 0);
    assert_false(a.tck_present);
    assert_int_equal(a.hist_len, 2);
    assert_int_equal(parse_hex("3F 00", &a), CL_OK);
    assert_true(a.inverse);
    assert_int_equal(a.len, 2);
}

static void test_specific_mode(void **state)
{
    struct cl_atr a;

    (void)state;
    /* TD1 names T=0 and TA2 follows: specific mode; no TCK for T=0 only. */
    assert_int_equal(parse_hex("3B 80 10 80", &a), CL_OK);
    assert_true(a.specific_mode);
    assert_false(a.tck_present);
}

static void test_malformed_atrs(void **state)
{
    struct cl_atr a;
    const uint8_t one[] = { 0x3B };

    (void)state;
    assert_int_equal(cl_atr_parse(NULL, 0, &a), CL_E_ATR_MALFORMED);
    assert_int_equal(cl_atr_parse(one, 1, &a), CL_E_ATR_MALFORMED);
    assert_int_equal(cl_atr_parse(one, 1, NULL), CL_E_INVALID_ARG);
    /* Unknown TS. */
    assert_int_equal(parse_hex("3A 00", &a), CL_E_ATR_MALFORMED);
    /* Interface bytes cut short. */
    assert_int_equal(parse_hex("3B F8 13 00", &a), CL_E_ATR_MALFORMED);
    assert_int_equal(parse_hex("3B 80", &a), CL_E_ATR_MALFORMED);
    /* Historical bytes cut short (K=8, 7 given, no TCK needed for T=0). */
    assert_int_equal(parse_hex("3B 08 01 02 03 04 05 06 07", &a), CL_E_ATR_MALFORMED);
    /* TCK missing, and TCK wrong. */
    assert_int_equal(parse_hex("3B 88 80 01 48 55 49 4D 49 4E 54 31", &a), CL_E_ATR_MALFORMED);
    assert_int_equal(parse_hex("3B 88 80 01 48 55 49 4D 49 4E 54 31 3A", &a), CL_E_ATR_MALFORMED);
    assert_true(a.tck_present);
    assert_false(a.tck_valid);
    /* A byte after the ATR. */
    assert_int_equal(parse_hex("3B 02 14 50 00", &a), CL_E_ATR_MALFORMED);
    /* Reserved Fi/Di give 0 rather than a made-up value. */
    assert_int_equal(parse_hex("3B 10 7F", &a), CL_OK);
    assert_int_equal(a.fi, 0);
    assert_int_equal(a.di, 0);
}

/* ---- identification through the virtual card in-process ---- */

static cl_rc identify_json(const char *json, struct cl_card_ident *id)
{
    char err[256];
    vc_card *vc = vc_card_from_json(json, NULL, err, sizeof(err));
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    cl_rc rc;

    assert_non_null(vc);
    assert_int_equal(cl_ctx_new_mem(&ctx), CL_OK);
    assert_int_equal(cl_mem_add_reader(ctx, "R"), CL_OK);
    assert_int_equal(cl_mem_insert(ctx, "R", &vc_card_mem_ops, vc), CL_OK);
    assert_int_equal(cl_card_connect(ctx, "R", CL_SHARE_SHARED, &card), CL_OK);
    rc = cl_card_identify(card, id);
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    vc_card_free(vc);
    return rc;
}

static void test_identify_test_card(void **state)
{
    struct cl_card_ident id;
    size_t napps;
    const struct cl_app_info *apps = cl_known_apps(&napps);

    (void)state;
    assert_int_equal(identify_json("{\"atr\": \"3B 88 80 01 48 55 49 4D 49 4E 54 31 72\","
                                   " \"applets\": [ { \"type\": \"test\" } ] }",
                                   &id),
                     CL_OK);
    assert_int_equal(id.atr_rc, CL_OK);
    assert_string_equal(id.atr_name, "Huimin virtual card");
    assert_int_equal(id.apps, CL_APP_TEST);
    assert_string_equal(cl_ident_summary(&id), "Huimin test card");
    for (size_t i = 0; i < napps; i++)
        assert_int_equal(id.select_sw[i], apps[i].app == CL_APP_TEST ? 0x9000 : 0x6A82);
}

static void test_identify_unknown_card(void **state)
{
    struct cl_card_ident id;

    (void)state;
    assert_int_equal(identify_json("{\"atr\": \"3B 02 14 50\", \"applets\": [] }", &id), CL_OK);
    assert_null(id.atr_name);
    assert_int_equal(id.apps, 0);
    assert_string_equal(cl_ident_summary(&id), "unknown card");
}

static void test_identify_pulled_card(void **state)
{
    char err[256];
    vc_card *vc =
        vc_card_from_json("{\"atr\": \"3B 02 14 50\", \"applets\": [] }", NULL, err, sizeof(err));
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    struct cl_card_ident id;

    (void)state;
    assert_non_null(vc);
    assert_int_equal(cl_ctx_new_mem(&ctx), CL_OK);
    assert_int_equal(cl_mem_add_reader(ctx, "R"), CL_OK);
    assert_int_equal(cl_mem_insert(ctx, "R", &vc_card_mem_ops, vc), CL_OK);
    assert_int_equal(cl_card_connect(ctx, "R", CL_SHARE_SHARED, &card), CL_OK);
    assert_int_equal(cl_mem_remove_after(ctx, "R", 1), CL_OK);
    assert_int_equal(cl_card_identify(card, &id), CL_E_CARD_REMOVED);
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    vc_card_free(vc);
}

static void test_vcard_rejects_bad_atr(void **state)
{
    char err[256];

    (void)state;
    assert_null(vc_card_from_json("{\"atr\": \"3B 88 80 01 48 55 49 4D 49 4E 54 31 3A\","
                                  " \"applets\": [] }",
                                  NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "TCK"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_card_atr),     cmocka_unit_test(test_yubikey_atr),
        cmocka_unit_test(test_dual_protocol_atr),    cmocka_unit_test(test_t0_without_td),
        cmocka_unit_test(test_specific_mode),        cmocka_unit_test(test_malformed_atrs),
        cmocka_unit_test(test_identify_test_card),   cmocka_unit_test(test_identify_unknown_card),
        cmocka_unit_test(test_identify_pulled_card), cmocka_unit_test(test_vcard_rejects_bad_atr),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
