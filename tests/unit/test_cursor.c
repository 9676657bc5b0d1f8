/* Unit tests for the bounds-checked cursor and writer every parser relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hm/cursor.h"

static void test_reads_advance_on_success(void **state)
{
    static const uint8_t d[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A };
    struct hm_cursor c = hm_cursor_make(d, sizeof(d));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    const uint8_t *p;

    (void)state;
    assert_true(hm_cursor_u8(&c, &u8));
    assert_int_equal(u8, 0x01);
    assert_true(hm_cursor_be16(&c, &u16));
    assert_int_equal(u16, 0x0203);
    assert_true(hm_cursor_be24(&c, &u32));
    assert_int_equal(u32, 0x040506);
    assert_true(hm_cursor_bytes(&c, 2, &p));
    assert_ptr_equal(p, d + 6);
    assert_true(hm_cursor_be16(&c, &u16));
    assert_int_equal(u16, 0x090A);
    assert_true(hm_cursor_empty(&c));
}

static void test_failed_reads_do_not_move(void **state)
{
    static const uint8_t d[] = { 0xAA, 0xBB, 0xCC };
    struct hm_cursor c = hm_cursor_make(d, sizeof(d));
    uint32_t u32 = 0x12345678;
    uint8_t buf[4] = { 0 };
    const uint8_t *p = NULL;
    struct hm_cursor sub;

    (void)state;
    assert_false(hm_cursor_be32(&c, &u32));
    assert_int_equal(u32, 0x12345678); /* untouched */
    assert_false(hm_cursor_copy(&c, buf, 4));
    assert_int_equal(buf[0], 0);
    assert_false(hm_cursor_bytes(&c, 4, &p));
    assert_null(p);
    assert_false(hm_cursor_skip(&c, 4));
    assert_false(hm_cursor_sub(&c, 4, &sub));
    assert_ptr_equal(c.p, d);
    assert_int_equal(hm_cursor_left(&c), 3);
    /* A huge length must not wrap around. */
    assert_false(hm_cursor_skip(&c, SIZE_MAX));
    assert_int_equal(hm_cursor_left(&c), 3);
}

static void test_sub_cursor_is_bounded(void **state)
{
    static const uint8_t d[] = { 1, 2, 3, 4, 5 };
    struct hm_cursor c = hm_cursor_make(d, sizeof(d));
    struct hm_cursor sub;
    uint8_t v;

    (void)state;
    assert_true(hm_cursor_sub(&c, 2, &sub));
    assert_int_equal(hm_cursor_left(&c), 3);
    assert_true(hm_cursor_u8(&sub, &v));
    assert_true(hm_cursor_u8(&sub, &v));
    assert_int_equal(v, 2);
    assert_false(hm_cursor_u8(&sub, &v)); /* cannot read into the parent's bytes */
    assert_true(hm_cursor_peek_u8(&c, &v));
    assert_int_equal(v, 3);
}

static void test_null_cursor_is_empty(void **state)
{
    struct hm_cursor c = hm_cursor_make(NULL, 10);
    uint8_t v;

    (void)state;
    assert_int_equal(hm_cursor_left(&c), 0);
    assert_false(hm_cursor_u8(&c, &v));
}

static void test_writer_overflow_is_sticky(void **state)
{
    uint8_t buf[5];
    struct hm_writer w = hm_writer_make(buf, sizeof(buf));

    (void)state;
    hm_writer_be16(&w, 0x0102);
    hm_writer_u8(&w, 3);
    assert_true(hm_writer_ok(&w));
    hm_writer_be32(&w, 0x04050607); /* does not fit */
    assert_false(hm_writer_ok(&w));
    hm_writer_u8(&w, 9); /* would fit, but the writer already failed */
    assert_false(hm_writer_ok(&w));
    assert_int_equal(buf[0], 1);
    assert_int_equal(buf[2], 3);
    assert_int_equal(w.len, 8); /* the size that would have been needed */
}

static void test_writer_measures_without_buffer(void **state)
{
    struct hm_writer w = hm_writer_make(NULL, 0);

    (void)state;
    hm_writer_bytes(&w, "abcdef", 6);
    hm_writer_fill(&w, 0, 4);
    assert_false(hm_writer_ok(&w));
    assert_int_equal(w.len, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_advance_on_success),
        cmocka_unit_test(test_failed_reads_do_not_move),
        cmocka_unit_test(test_sub_cursor_is_bounded),
        cmocka_unit_test(test_null_cursor_is_empty),
        cmocka_unit_test(test_writer_overflow_is_sticky),
        cmocka_unit_test(test_writer_measures_without_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
