/* APDU encoding and parsing in every ISO 7816-4 case, and every entry of the status-word table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cl/apdu.h"

static void expect_encoding(const struct cl_apdu *a, bool ext, const uint8_t *want, size_t n)
{
    uint8_t buf[64];
    size_t len = 0;
    struct cl_capdu p;

    assert_int_equal(cl_apdu_encode(a, ext, buf, sizeof(buf), &len), CL_OK);
    assert_int_equal(len, n);
    assert_memory_equal(buf, want, n);
    /* And it parses back to the same command. */
    assert_int_equal(cl_apdu_parse(buf, len, &p), CL_OK);
    assert_int_equal(p.ins, a->ins);
    assert_int_equal(p.lc, a->lc);
    assert_int_equal(p.le, a->le);
    assert_int_equal(p.extended, ext && (a->lc || a->le));
    if (a->lc)
        assert_memory_equal(p.data, a->data, a->lc);
}

static void test_short_cases(void **state)
{
    static const uint8_t data[] = { 0xA0, 0x00, 0x00, 0x03, 0x08 };
    struct cl_apdu a = { .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00 };
    static const uint8_t c1[] = { 0x00, 0xA4, 0x04, 0x00 };
    static const uint8_t c2[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
    static const uint8_t c3[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08 };
    static const uint8_t c4[] = {
        0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x10
    };

    (void)state;
    expect_encoding(&a, false, c1, sizeof(c1));
    a.le = 256;
    expect_encoding(&a, false, c2, sizeof(c2));
    a.le = 0;
    a.data = data;
    a.lc = sizeof(data);
    expect_encoding(&a, false, c3, sizeof(c3));
    a.le = 16;
    expect_encoding(&a, false, c4, sizeof(c4));
}

static void test_extended_cases(void **state)
{
    static const uint8_t data[] = { 0x01, 0x02 };
    struct cl_apdu a = { .cla = 0x00, .ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF };
    static const uint8_t c2[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x00 };
    static const uint8_t c2b[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x04, 0x00 };
    static const uint8_t c3[] = { 0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x02, 0x01, 0x02 };
    static const uint8_t c4[] = {
        0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00
    };

    (void)state;
    a.le = 65536;
    expect_encoding(&a, true, c2, sizeof(c2));
    a.le = 1024;
    expect_encoding(&a, true, c2b, sizeof(c2b));
    a.le = 0;
    a.data = data;
    a.lc = 2;
    expect_encoding(&a, true, c3, sizeof(c3));
    a.le = 65536;
    expect_encoding(&a, true, c4, sizeof(c4));
}

static void test_encode_limits(void **state)
{
    static uint8_t big[300];
    uint8_t buf[16];
    size_t len;
    struct cl_apdu a = { .ins = 0xDB, .data = big, .lc = 256 };

    (void)state;
    assert_int_equal(cl_apdu_encode(&a, false, buf, sizeof(buf), &len), CL_E_APDU_INVALID);
    a.lc = 4;
    a.le = 257;
    assert_int_equal(cl_apdu_encode(&a, false, buf, sizeof(buf), &len), CL_E_APDU_INVALID);
    a.le = 65537;
    assert_int_equal(cl_apdu_encode(&a, true, buf, sizeof(buf), &len), CL_E_APDU_INVALID);
    a.le = 0;
    a.lc = 20;
    assert_int_equal(cl_apdu_encode(&a, false, buf, sizeof(buf), &len), CL_E_BUFFER_TOO_SMALL);
    a.data = NULL;
    assert_int_equal(cl_apdu_encode(&a, false, buf, sizeof(buf), &len), CL_E_INVALID_ARG);
}

static void test_parse_malformed(void **state)
{
    struct cl_capdu p;
    static const uint8_t too_short[] = { 0x00, 0xA4, 0x04 };
    static const uint8_t lc_overrun[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0x01 };
    static const uint8_t lc_extra[] = { 0x00, 0xA4, 0x04, 0x00, 0x01, 0x01, 0x02, 0x03 };
    static const uint8_t ext_two[] = { 0x00, 0xA4, 0x04, 0x00, 0x00, 0x01 };
    static const uint8_t ext_lc0[] = { 0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t ext_overrun[] = { 0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x04, 0x01 };

    (void)state;
    assert_int_equal(cl_apdu_parse(too_short, sizeof(too_short), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(lc_overrun, sizeof(lc_overrun), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(lc_extra, sizeof(lc_extra), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(ext_two, sizeof(ext_two), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(ext_lc0, sizeof(ext_lc0), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(ext_overrun, sizeof(ext_overrun), &p), CL_E_APDU_INVALID);
    assert_int_equal(cl_apdu_parse(NULL, 0, &p), CL_E_APDU_INVALID);
}

/* The expected mapping, written out independently of the implementation's table. */
static const struct {
    uint16_t sw;
    cl_rc rc;
} sw_expect[] = {
    { 0x9000, CL_OK },
    { 0x6281, CL_E_DATA_CORRUPTED },
    { 0x6282, CL_E_END_OF_FILE },
    { 0x6283, CL_E_FILE_INVALIDATED },
    { 0x6284, CL_E_SW_WARNING },
    { 0x6300, CL_E_AUTH_FAILED },
    { 0x63C0, CL_E_PIN_INCORRECT },
    { 0x63C2, CL_E_PIN_INCORRECT },
    { 0x63CF, CL_E_PIN_INCORRECT },
    { 0x6381, CL_E_SW_WARNING },
    { 0x6400, CL_E_CARD_STATE_UNCHANGED },
    { 0x6581, CL_E_CARD_MEMORY_FAILURE },
    { 0x6500, CL_E_CARD_MEMORY_FAILURE },
    { 0x6600, CL_E_SECURITY_STATUS },
    { 0x6700, CL_E_WRONG_LENGTH },
    { 0x6881, CL_E_CLA_FUNCTION_UNSUPPORTED },
    { 0x6882, CL_E_CLA_FUNCTION_UNSUPPORTED },
    { 0x6883, CL_E_CLA_FUNCTION_UNSUPPORTED },
    { 0x6884, CL_E_CLA_FUNCTION_UNSUPPORTED },
    { 0x6800, CL_E_CLA_FUNCTION_UNSUPPORTED },
    { 0x6981, CL_E_INCOMPATIBLE_FILE },
    { 0x6982, CL_E_SECURITY_STATUS },
    { 0x6983, CL_E_AUTH_BLOCKED },
    { 0x6984, CL_E_REF_DATA_UNUSABLE },
    { 0x6985, CL_E_CONDITIONS_NOT_SATISFIED },
    { 0x6986, CL_E_COMMAND_NOT_ALLOWED },
    { 0x6987, CL_E_SM_DATA_MISSING },
    { 0x6988, CL_E_SM_DATA_INCORRECT },
    { 0x6900, CL_E_COMMAND_NOT_ALLOWED },
    { 0x6A80, CL_E_WRONG_DATA },
    { 0x6A81, CL_E_FUNC_NOT_SUPPORTED },
    { 0x6A82, CL_E_FILE_NOT_FOUND },
    { 0x6A83, CL_E_RECORD_NOT_FOUND },
    { 0x6A84, CL_E_CARD_MEMORY_FULL },
    { 0x6A86, CL_E_WRONG_PARAMETERS },
    { 0x6A87, CL_E_WRONG_LENGTH },
    { 0x6A88, CL_E_REF_DATA_NOT_FOUND },
    { 0x6A89, CL_E_WRONG_PARAMETERS },
    { 0x6B00, CL_E_WRONG_PARAMETERS },
    { 0x6D00, CL_E_INS_NOT_SUPPORTED },
    { 0x6E00, CL_E_CLA_NOT_SUPPORTED },
    { 0x6F00, CL_E_CARD_INTERNAL },
    { 0x6110, CL_E_SW_UNKNOWN }, /* handled by the transmit path, never a result */
    { 0x6C10, CL_E_SW_UNKNOWN },
    { 0x9001, CL_E_SW_UNKNOWN },
    { 0x0000, CL_E_SW_UNKNOWN },
    { 0xFFFF, CL_E_SW_UNKNOWN },
};

static void test_status_word_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sw_expect) / sizeof(sw_expect[0]); i++) {
        cl_rc rc = cl_sw_to_rc(sw_expect[i].sw);

        if (rc != sw_expect[i].rc)
            fail_msg("SW %04X maps to %s, expected %s", sw_expect[i].sw, cl_rc_name(rc),
                     cl_rc_name(sw_expect[i].rc));
        assert_non_null(cl_sw_text(sw_expect[i].sw));
    }
    assert_string_equal(cl_sw_text(0x6A82), "file or application not found");
    assert_string_equal(cl_sw_text(0x1234), "unknown status word");
}

static void test_retries(void **state)
{
    (void)state;
    assert_int_equal(cl_sw_retries(0x63C3), 3);
    assert_int_equal(cl_sw_retries(0x63C0), 0);
    assert_int_equal(cl_sw_retries(0x6983), -1);
    assert_int_equal(cl_sw_retries(0x9000), -1);
    assert_int_equal(cl_sw_retries(0x6300), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_cases),       cmocka_unit_test(test_extended_cases),
        cmocka_unit_test(test_encode_limits),     cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_status_word_table), cmocka_unit_test(test_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
