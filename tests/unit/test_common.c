/* Unit tests for buffers, hex, number parsing, masking and wiping in hm_common. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hm/buf.h"
#include "hm/hex.h"
#include "hm/log.h"
#include "hm/util.h"

static void test_buf_respects_max(void **state)
{
    struct hm_buf b;

    (void)state;
    hm_buf_init(&b, 8);
    assert_true(hm_buf_add(&b, "abcd", 4));
    assert_true(hm_buf_addf(&b, "%d%d", 1, 2));
    assert_int_equal(b.len, 6);
    assert_string_equal((char *)b.data, "abcd12");
    assert_false(hm_buf_add(&b, "xyz", 3)); /* 9 > 8 */
    assert_int_equal(b.len, 6);             /* unchanged */
    assert_string_equal((char *)b.data, "abcd12");
    assert_false(hm_buf_addf(&b, "%s", "long"));
    assert_true(hm_buf_add(&b, "ef", 2));
    assert_int_equal(b.len, 8);
    hm_buf_free(&b);
    assert_null(b.data);
    hm_buf_free(&b); /* second free is a no-op */
}

static void test_buf_take_and_secret(void **state)
{
    struct hm_buf b;
    size_t n;
    uint8_t *p;

    (void)state;
    hm_buf_init_secret(&b, 1024);
    for (int i = 0; i < 100; i++)
        assert_true(hm_buf_add_u8(&b, (uint8_t)i)); /* grows several times */
    p = hm_buf_take(&b, &n);
    assert_int_equal(n, 100);
    assert_int_equal(p[99], 99);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    hm_wipe(p, n);
    free(p);
}

static void test_hex_round_trip(void **state)
{
    uint8_t out[8];
    char s[17];
    size_t n = 0;

    (void)state;
    assert_true(hm_hex_decode("00 a4:04 00\n0A", out, sizeof(out), &n));
    assert_int_equal(n, 5);
    assert_int_equal(out[1], 0xA4);
    assert_true(hm_hex_encode(out, n, s, sizeof(s)));
    assert_string_equal(s, "00A404000A");
    assert_false(hm_hex_decode("0", out, sizeof(out), &n));        /* odd */
    assert_false(hm_hex_decode("0g", out, sizeof(out), &n));       /* not hex */
    assert_false(hm_hex_decode("0 0", out, sizeof(out), &n));      /* split byte */
    assert_false(hm_hex_decode("000102030405060708", out, 8, &n)); /* 9 bytes into 8 */
    assert_false(hm_hex_encode(out, 5, s, 10));                    /* needs 11 */
    assert_string_equal(s, "");
}

static void test_parse_numbers_strictly(void **state)
{
    long v = 7;
    unsigned long u = 7;

    (void)state;
    assert_true(hm_parse_long("-42", -100, 100, &v));
    assert_int_equal(v, -42);
    assert_false(hm_parse_long("", 0, 10, &v));
    assert_false(hm_parse_long("12x", 0, 100, &v));
    assert_false(hm_parse_long("101", 0, 100, &v));
    assert_false(hm_parse_long("99999999999999999999999", LONG_MIN, LONG_MAX, &v));
    assert_int_equal(v, -42);
    assert_true(hm_parse_ulong("65535", 65535, &u));
    assert_int_equal(u, 65535);
    assert_false(hm_parse_ulong("-1", 65535, &u));
    assert_false(hm_parse_ulong(" 1", 65535, &u));
    assert_false(hm_parse_ulong("65536", 65535, &u));
}

static void test_strlcpy_truncates_visibly(void **state)
{
    char d[4];

    (void)state;
    assert_int_equal(hm_strlcpy(d, "abc", sizeof(d)), 3);
    assert_string_equal(d, "abc");
    assert_int_equal(hm_strlcpy(d, "abcdef", sizeof(d)), 6); /* >= cap: truncated */
    assert_string_equal(d, "abc");
}

static void test_mask_id(void **state)
{
    char out[32];

    (void)state;
    hm_mask_id("11010519491231002X", out, sizeof(out));
    assert_string_equal(out, "110***********002X");
    hm_mask_id("A1234567", out, sizeof(out));
    assert_string_equal(out, "******67");
    hm_mask_id("", out, sizeof(out));
    assert_string_equal(out, "");
    hm_mask_id("11010519491231002X", out, 6); /* short buffer: still masked */
    assert_string_equal(out, "110**");
}

static void test_ct_equal_and_wipe(void **state)
{
    uint8_t a[16], b[16];

    (void)state;
    memset(a, 0x5A, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(hm_ct_equal(a, b, sizeof(a)));
    b[15] ^= 1;
    assert_false(hm_ct_equal(a, b, sizeof(a)));
    hm_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0);
}

static void test_log_levels(void **state)
{
    (void)state;
    assert_int_equal(hm_log_level_parse("debug"), HM_LOG_DEBUG);
    assert_int_equal(hm_log_level_parse("ERROR"), HM_LOG_ERROR);
    assert_int_equal(hm_log_level_parse("loud"), -1);
    hm_log_set_level(HM_LOG_INFO);
    assert_int_equal(hm_log_get_level(), HM_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_respects_max),
        cmocka_unit_test(test_buf_take_and_secret),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_parse_numbers_strictly),
        cmocka_unit_test(test_strlcpy_truncates_visibly),
        cmocka_unit_test(test_mask_id),
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
