/* The JSON writer for signed answers: what it writes is the JSON jansson would write. */
#include "../../../server/src/api/jsonw.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The writer's text, NUL-terminated, or NULL when the writer reports an error. */
static char *finish(struct hs_jw *w, struct hm_buf *b)
{
    if (!hs_jw_ok(w) || !hm_buf_add_u8(b, 0))
        return NULL;
    return (char *)b->data;
}

static void test_object_as_jansson_writes_it(void **state)
{
    (void)state;
    struct hm_buf b;
    struct hs_jw w;
    hm_buf_init(&b, 4096);
    hs_jw_init(&w, &b);
    hs_jw_obj(&w);
    hs_jw_key(&w, "a");
    hs_jw_arr(&w);
    hs_jw_int(&w, -9223372036854775807LL - 1);
    hs_jw_int(&w, 0);
    hs_jw_str(&w, "城市最低生活保障");
    hs_jw_null(&w);
    hs_jw_bool(&w, true);
    hs_jw_obj(&w);
    hs_jw_end_obj(&w);
    hs_jw_arr(&w);
    hs_jw_end_arr(&w);
    hs_jw_end_arr(&w);
    hs_jw_kstr(&w, "b", "q\"b\\s\n\r\t\b\f\x01\x1f/");
    hs_jw_kstr(&w, "c", NULL);
    hs_jw_kbool(&w, "d", false);
    hs_jw_kint(&w, "e", 75000);
    hs_jw_end_obj(&w);
    char *text = finish(&w, &b);
    assert_non_null(text);
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    char *again = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, again);
    assert_string_equal(json_string_value(json_object_get(j, "b")), "q\"b\\s\n\r\t\b\f\x01\x1f/");
    free(again);
    json_decref(j);
    hm_buf_free(&b);
}

/* Every valid string comes back the same through jansson; bytes chosen at random. */
static void test_random_strings_round_trip(void **state)
{
    (void)state;
    srand(7);
    int valid = 0;
    for (int round = 0; round < 20000; round++) {
        char s[24];
        size_t n = (size_t)(rand() % 23);
        for (size_t i = 0; i < n; i++) {
            int k = rand() % 4;
            s[i] = (char)(k == 0   ? rand() % 0x20 + 1
                          : k == 1 ? rand() % 0x5f + 0x20
                                   : rand() % 0x80 + 0x80);
        }
        s[n] = '\0';
        struct hm_buf b;
        struct hs_jw w;
        hm_buf_init(&b, 1024);
        hs_jw_init(&w, &b);
        hs_jw_arr(&w);
        hs_jw_str(&w, s);
        hs_jw_end_arr(&w);
        char *text = finish(&w, &b);
        /* jansson decides what is valid UTF-8 independently of the writer. */
        json_t *ref = json_string(s);
        assert_int_equal(text != NULL, ref != NULL);
        if (text) {
            valid++;
            json_error_t err;
            json_t *j = json_loads(text, 0, &err);
            assert_non_null(j);
            assert_string_equal(json_string_value(json_array_get(j, 0)), s);
            json_decref(j);
        }
        json_decref(ref);
        hm_buf_free(&b);
    }
    assert_true(valid > 1000); /* the test saw both kinds */
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xe5\x9f",         /* cut short */
        "\x80",             /* a lone continuation */
        "\xff",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(hs_jw_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])));
        struct hm_buf b;
        struct hs_jw w;
        hm_buf_init(&b, 64);
        hs_jw_init(&w, &b);
        hs_jw_obj(&w);
        hs_jw_kstr(&w, "name", bad[i]);
        hs_jw_end_obj(&w);
        assert_false(hs_jw_ok(&w));
        hm_buf_free(&b);
    }
    assert_true(hs_jw_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80\xe5\xbc\xa0", 7));
}

/* Misuse is an error, never half-written JSON that looks whole. */
static void test_misuse_and_limits(void **state)
{
    (void)state;
    struct hm_buf b;
    struct hs_jw w;

    hm_buf_init(&b, 64);
    hs_jw_init(&w, &b);
    hs_jw_obj(&w);
    hs_jw_key(&w, "a");
    hs_jw_end_obj(&w); /* a key without its value */
    assert_false(hs_jw_ok(&w));
    hm_buf_free(&b);

    hm_buf_init(&b, 64);
    hs_jw_init(&w, &b);
    hs_jw_arr(&w); /* never closed */
    assert_false(hs_jw_ok(&w));
    hs_jw_end_arr(&w);
    assert_true(hs_jw_ok(&w));
    hs_jw_end_arr(&w); /* one close too many */
    assert_false(hs_jw_ok(&w));
    hm_buf_free(&b);

    hm_buf_init(&b, 64);
    hs_jw_init(&w, &b);
    hs_jw_key(&w, "a"); /* a key outside an object */
    assert_false(hs_jw_ok(&w));
    hm_buf_free(&b);

    hm_buf_init(&b, 4096);
    hs_jw_init(&w, &b);
    for (int i = 0; i < HS_JW_DEPTH + 1; i++)
        hs_jw_arr(&w);
    assert_false(hs_jw_ok(&w)); /* deeper than the limit */
    hm_buf_free(&b);

    hm_buf_init(&b, 16); /* the buffer's limit: an error, not a cut string */
    hs_jw_init(&w, &b);
    hs_jw_arr(&w);
    hs_jw_str(&w, "a string longer than sixteen bytes");
    hs_jw_end_arr(&w);
    assert_false(hs_jw_ok(&w));
    hm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_as_jansson_writes_it),
        cmocka_unit_test(test_random_strings_round_trip),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_misuse_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
