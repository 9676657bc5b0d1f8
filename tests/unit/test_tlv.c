/* BER-TLV parser tests: structure, search, encoding and every error with its exact code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cl/tlv.h"

static void test_single_byte_tag_short_length(void **state)
{
    static const uint8_t d[] = { 0x53, 0x03, 0x01, 0x02, 0x03 };
    struct cl_tlv t;

    (void)state;
    assert_int_equal(cl_tlv_parse_one(d, sizeof(d), &t), CL_OK);
    assert_int_equal(t.tag, 0x53);
    assert_int_equal(t.tag_len, 1);
    assert_false(t.constructed);
    assert_int_equal(t.len, 3);
    assert_ptr_equal(t.value, d + 2);
    assert_ptr_equal(t.raw, d);
    assert_int_equal(t.raw_len, 5);
}

static void test_multi_byte_tags(void **state)
{
    /* 5F C1 02 (PIV CHUID tag), 9F 7F (two bytes), 7F 49 (constructed). */
    static const uint8_t d[] = { 0x5F, 0xC1, 0x02, 0x01, 0xAA, 0x9F, 0x7F,
                                 0x00, 0x7F, 0x49, 0x03, 0x86, 0x01, 0x04 };
    struct hm_cursor c = hm_cursor_make(d, sizeof(d));
    struct cl_tlv t;

    (void)state;
    assert_int_equal(cl_tlv_next(&c, &t), CL_OK);
    assert_int_equal(t.tag, 0x5FC102);
    assert_int_equal(t.tag_len, 3);
    assert_int_equal(t.len, 1);
    assert_int_equal(cl_tlv_next(&c, &t), CL_OK);
    assert_int_equal(t.tag, 0x9F7F);
    assert_int_equal(t.len, 0);
    assert_int_equal(cl_tlv_next(&c, &t), CL_OK);
    assert_int_equal(t.tag, 0x7F49);
    assert_true(t.constructed);
    assert_true(hm_cursor_empty(&c));
}

static void test_long_form_lengths(void **state)
{
    uint8_t *d = calloc(1, 4 + 70000);
    struct cl_tlv t;

    (void)state;
    assert_non_null(d);
    /* 0x81: one length byte */
    d[0] = 0x53;
    d[1] = 0x81;
    d[2] = 0x80;
    assert_int_equal(cl_tlv_parse_one(d, 3 + 0x80, &t), CL_OK);
    assert_int_equal(t.len, 0x80);
    /* 0x82: two bytes */
    d[1] = 0x82;
    d[2] = 0x01;
    d[3] = 0x00;
    assert_int_equal(cl_tlv_parse_one(d, 4 + 0x100, &t), CL_OK);
    assert_int_equal(t.len, 0x100);
    /* 0x83: three bytes, 70000 = 0x011170 */
    d[1] = 0x83;
    d[2] = 0x01;
    d[3] = 0x11;
    d[4] = 0x70;
    assert_int_equal(cl_tlv_parse_one(d, 5 + 70000 - 1, &t), CL_E_TLV_TRUNCATED);
    free(d);
}

static void test_truncated_everywhere(void **state)
{
    struct cl_tlv t;
    struct hm_cursor c;
    static const uint8_t no_len[] = { 0x53 };
    static const uint8_t tag_cut[] = { 0x5F };
    static const uint8_t tag_cut2[] = { 0x5F, 0xC1 };
    static const uint8_t len_cut[] = { 0x53, 0x82, 0x01 };
    static const uint8_t value_cut[] = { 0x53, 0x04, 0x01, 0x02, 0x03 };

    (void)state;
    assert_int_equal(cl_tlv_parse_one(NULL, 0, &t), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_tlv_parse_one(no_len, sizeof(no_len), &t), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_tlv_parse_one(tag_cut, sizeof(tag_cut), &t), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_tlv_parse_one(tag_cut2, sizeof(tag_cut2), &t), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_tlv_parse_one(len_cut, sizeof(len_cut), &t), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_tlv_parse_one(value_cut, sizeof(value_cut), &t), CL_E_TLV_TRUNCATED);
    /* A failed read leaves the cursor where it was. */
    c = hm_cursor_make(value_cut, sizeof(value_cut));
    assert_int_equal(cl_tlv_next(&c, &t), CL_E_TLV_TRUNCATED);
    assert_ptr_equal(c.p, value_cut);
    assert_int_equal(hm_cursor_left(&c), sizeof(value_cut));
}

static void test_bad_and_overlong_lengths(void **state)
{
    struct cl_tlv t;
    static const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
    static const uint8_t five_bytes[] = { 0x53, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA };
    static const uint8_t reserved[] = { 0x53, 0xFF, 0x01 };
    static const uint8_t too_large[] = { 0x53, 0x84, 0x01, 0x00, 0x00, 0x01 };
    static const uint8_t huge[] = { 0x53, 0x84, 0xFF, 0xFF, 0xFF, 0xFF };

    (void)state;
    assert_int_equal(cl_tlv_parse_one(indefinite, sizeof(indefinite), &t), CL_E_TLV_BAD_LENGTH);
    assert_int_equal(cl_tlv_parse_one(five_bytes, sizeof(five_bytes), &t), CL_E_TLV_BAD_LENGTH);
    assert_int_equal(cl_tlv_parse_one(reserved, sizeof(reserved), &t), CL_E_TLV_BAD_LENGTH);
    assert_int_equal(cl_tlv_parse_one(too_large, sizeof(too_large), &t), CL_E_TLV_TOO_LARGE);
    assert_int_equal(cl_tlv_parse_one(huge, sizeof(huge), &t), CL_E_TLV_TOO_LARGE);
}

static void test_tag_overflow(void **state)
{
    struct cl_tlv t;
    /* Four tag bytes: the third still has bit 8 set. */
    static const uint8_t four[] = { 0x5F, 0x81, 0x82, 0x03, 0x00 };
    static const uint8_t endless[] = { 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00 };

    (void)state;
    assert_int_equal(cl_tlv_parse_one(four, sizeof(four), &t), CL_E_TLV_TAG_TOO_LONG);
    assert_int_equal(cl_tlv_parse_one(endless, sizeof(endless), &t), CL_E_TLV_TAG_TOO_LONG);
}

static void test_trailing_bytes(void **state)
{
    static const uint8_t d[] = { 0x53, 0x01, 0x00, 0x00 };
    struct cl_tlv t;

    (void)state;
    assert_int_equal(cl_tlv_parse_one(d, sizeof(d), &t), CL_E_TLV_TRAILING);
    assert_int_equal(cl_tlv_parse_one(d, 3, &t), CL_OK);
}

/* Builds n levels of 0x30 wrappers around an empty 0x04. */
static size_t nest(uint8_t *out, size_t levels)
{
    size_t len = 2;

    out[2 * levels] = 0x04;
    out[2 * levels + 1] = 0x00;
    for (size_t i = levels; i-- > 0;) {
        out[2 * i] = 0x30;
        out[2 * i + 1] = (uint8_t)len;
        len += 2;
    }
    return len;
}

static void test_nesting_depth(void **state)
{
    uint8_t d[2 * (CL_TLV_MAX_DEPTH + 2) + 2];
    struct cl_tlv t;
    size_t n;

    (void)state;
    /* CL_TLV_MAX_DEPTH levels in all (15 wrappers around one leaf) is fine. */
    n = nest(d, CL_TLV_MAX_DEPTH - 1);
    assert_int_equal(cl_tlv_validate(d, n, 0), CL_OK);
    assert_int_equal(cl_tlv_find_deep(d, n, 0x04, &t), CL_OK);
    /* One more level is refused, by validate and by deep search. */
    n = nest(d, CL_TLV_MAX_DEPTH);
    assert_int_equal(cl_tlv_validate(d, n, 0), CL_E_TLV_TOO_DEEP);
    assert_int_equal(cl_tlv_find_deep(d, n, 0x04, &t), CL_E_TLV_TOO_DEEP);
    /* A caller may ask for less depth. */
    n = nest(d, 3);
    assert_int_equal(cl_tlv_validate(d, n, 3), CL_E_TLV_TOO_DEEP);
    assert_int_equal(cl_tlv_validate(d, n, 4), CL_OK);
}

static void test_validate_finds_inner_errors(void **state)
{
    /* 7C 04 { 82 05 ... } : inner length runs past the outer value. */
    static const uint8_t d[] = { 0x7C, 0x04, 0x82, 0x05, 0x01, 0x02 };

    (void)state;
    assert_int_equal(cl_tlv_validate(d, sizeof(d), 0), CL_E_TLV_TRUNCATED);
}

static void test_find_and_path(void **state)
{
    /* A GENERAL AUTHENTICATE response: 7C { 82 <sig> } with a sibling 53. */
    static const uint8_t d[] = { 0x53, 0x01, 0xEE, 0x7C, 0x06, 0x81, 0x00, 0x82, 0x02, 0xAB, 0xCD };
    static const uint32_t path[] = { 0x7C, 0x82 };
    static const uint32_t bad_path[] = { 0x53, 0x82 };
    struct cl_tlv t;

    (void)state;
    assert_int_equal(cl_tlv_find(d, sizeof(d), 0x7C, &t), CL_OK);
    assert_int_equal(t.len, 6);
    assert_int_equal(cl_tlv_find(d, sizeof(d), 0x82, &t), CL_E_TLV_NOT_FOUND); /* no descent */
    assert_int_equal(cl_tlv_find_path(d, sizeof(d), path, 2, &t), CL_OK);
    assert_int_equal(t.len, 2);
    assert_int_equal(t.value[0], 0xAB);
    assert_int_equal(cl_tlv_find_path(d, sizeof(d), bad_path, 2, &t), CL_E_TLV_NOT_FOUND);
    assert_int_equal(cl_tlv_find_path(d, sizeof(d), path, 0, &t), CL_E_INVALID_ARG);
    assert_int_equal(cl_tlv_find_deep(d, sizeof(d), 0x82, &t), CL_OK);
    assert_int_equal(t.value[1], 0xCD);
    assert_int_equal(cl_tlv_find_deep(d, sizeof(d), 0x99, &t), CL_E_TLV_NOT_FOUND);
}

static void test_encode_round_trip(void **state)
{
    static const size_t lens[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000 };
    uint8_t *buf = malloc(0x10000 + 16);
    uint8_t *val = calloc(1, 0x10000);

    (void)state;
    assert_non_null(buf);
    assert_non_null(val);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct hm_writer w = hm_writer_make(buf, 0x10000 + 16);
        struct cl_tlv t;

        cl_tlv_put(&w, 0x5FC105, val, lens[i]);
        assert_true(hm_writer_ok(&w));
        assert_int_equal(w.len, cl_tlv_header_size(0x5FC105, lens[i]) + lens[i]);
        assert_int_equal(cl_tlv_parse_one(buf, w.len, &t), CL_OK);
        assert_int_equal(t.tag, 0x5FC105);
        assert_int_equal(t.len, lens[i]);
    }
    free(buf);
    free(val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_byte_tag_short_length),
        cmocka_unit_test(test_multi_byte_tags),
        cmocka_unit_test(test_long_form_lengths),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_bad_and_overlong_lengths),
        cmocka_unit_test(test_tag_overflow),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_validate_finds_inner_errors),
        cmocka_unit_test(test_find_and_path),
        cmocka_unit_test(test_encode_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
