/* The server's random ids: their length and alphabet, and that none starts like a command-line
 * option. */
#include "../../../server/src/api/api_int.h"
#include "hs/jws.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_ids_never_start_with_a_dash(void **state)
{
    (void)state;
    char id[HS_B64URL_LEN(12) + 1];
    int first[256] = { 0 };
    for (int i = 0; i < 20000; i++) {
        assert_true(hs_api_random_id(id, 12));
        assert_int_equal(strlen(id), 16);
        assert_int_equal(
            strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 16);
        first[(unsigned char)id[0]]++;
    }
    /* 20,000 draws: with '-' and '_' allowed about 620 would start so. */
    assert_int_equal(first['-'], 0);
    assert_int_equal(first['_'], 0);
    /* ...and every other first character still occurs (the rest of the alphabet is used). */
    assert_true(first['A'] > 0 && first['z'] > 0 && first['9'] > 0);
    assert_false(hs_api_random_id(id, 0));
    assert_false(hs_api_random_id(id, 33));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_never_start_with_a_dash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
