/* Every cl_rc has a distinct name and a sentence (curl's test1477 idea). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cl/error.h"

static void test_every_code_has_a_string(void **state)
{
    (void)state;
    for (int rc = 0; rc < CL_RC_COUNT; rc++) {
        const char *name = cl_rc_name((cl_rc)rc);
        const char *text = cl_strerror((cl_rc)rc);

        assert_string_not_equal(name, "CL_E_UNKNOWN");
        assert_string_not_equal(text, "unknown error");
        assert_true(strncmp(name, rc == CL_OK ? "CL_OK" : "CL_E_", rc == CL_OK ? 5 : 5) == 0);
        assert_true(strlen(text) > 3);
        for (int other = 0; other < rc; other++) {
            assert_string_not_equal(name, cl_rc_name((cl_rc)other));
            assert_string_not_equal(text, cl_strerror((cl_rc)other));
        }
    }
}

static void test_out_of_range_codes(void **state)
{
    (void)state;
    assert_string_equal(cl_strerror(CL_RC_COUNT), "unknown error");
    assert_string_equal(cl_strerror((cl_rc)-1), "unknown error");
    assert_string_equal(cl_rc_name((cl_rc)9999), "CL_E_UNKNOWN");
    assert_string_equal(cl_rc_name(CL_E_CARD_REMOVED), "CL_E_CARD_REMOVED");
    assert_string_equal(cl_strerror(CL_E_CARD_REMOVED), "the card was removed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_string),
        cmocka_unit_test(test_out_of_range_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
