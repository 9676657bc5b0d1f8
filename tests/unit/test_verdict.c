/* The verdict table: recording, replacing, looking up and summarising checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cl/verdict.h"

static void test_record_and_summarise(void **state)
{
    struct cl_verdict v;
    static const char *const need[] = { "chain", "possession" };

    (void)state;
    cl_verdict_init(&v);
    assert_null(cl_verdict_get(&v, "chain"));
    assert_false(cl_verdict_all_passed(&v, need, 2)); /* nothing recorded is not a pass */
    cl_verdict_set(&v, "chain", CL_CHECK_PASSED, NULL);
    cl_verdict_set(&v, "possession", CL_CHECK_FAILED, "signature over nonce %s", "invalid");
    assert_false(cl_verdict_all_passed(&v, need, 2));
    assert_string_equal(cl_verdict_first_failure(&v)->name, "possession");
    assert_string_equal(cl_verdict_first_failure(&v)->reason, "signature over nonce invalid");
    cl_verdict_set(&v, "possession", CL_CHECK_PASSED, NULL); /* replaces, not appends */
    assert_int_equal(v.n, 2);
    assert_true(cl_verdict_all_passed(&v, need, 2));
    assert_null(cl_verdict_first_failure(&v));
    assert_string_equal(cl_verdict_get(&v, "possession")->reason, "");
    assert_string_equal(cl_check_state_name(CL_CHECK_NOT_CHECKED), "not checked");
}

static void test_long_reason_is_cut_not_overflowed(void **state)
{
    struct cl_verdict v;
    char big[400];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    cl_verdict_init(&v);
    cl_verdict_set(&v, "revocation", CL_CHECK_NOT_CHECKED, "%s", big);
    assert_int_equal(strlen(cl_verdict_get(&v, "revocation")->reason), CL_CHECK_REASON_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_and_summarise),
        cmocka_unit_test(test_long_reason_is_cut_not_overflowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
