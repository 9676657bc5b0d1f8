/* The virtual card engine in-process: SELECT routing, GET RESPONSE, chaining, persistence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl/card.h"
#include "cl/mem.h"
#include "vcard/vcard.h"

static const char card_json[] = "{ \"atr\": \"3B 80 80 01 01\", \"extended_length\": true,"
                                "  \"applets\": [ { \"type\": \"test\", \"pin\": \"2468\" } ] }";

static const uint8_t test_aid[] = { 0xF0, 0x48, 0x55, 0x49, 0x4D, 0x49, 0x4E, 0x54 };

struct fx {
    vc_card *vc;
    cl_ctx *ctx;
    cl_card *card;
};

static int setup_card(struct fx *f, vc_card *vc)
{
    f->vc = vc;
    if (!f->vc)
        return -1;
    if (cl_ctx_new_mem(&f->ctx) || cl_mem_add_reader(f->ctx, "R") ||
        cl_mem_insert(f->ctx, "R", &vc_card_mem_ops, f->vc) ||
        cl_card_connect(f->ctx, "R", CL_SHARE_SHARED, &f->card))
        return -1;
    return 0;
}

static int setup(void **state)
{
    static struct fx f;
    char err[256];

    memset(&f, 0, sizeof(f));
    *state = &f;
    return setup_card(&f, vc_card_from_json(card_json, NULL, err, sizeof(err)));
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cl_card_disconnect(f->card, false);
    cl_ctx_free(f->ctx);
    vc_card_free(f->vc);
    return 0;
}

static cl_rc select_test(cl_card *card, size_t aid_len)
{
    struct cl_apdu a = { .ins = 0xA4, .p1 = 0x04, .data = test_aid, .lc = aid_len };
    uint8_t r[16];
    size_t n;

    return cl_card_command(card, &a, r, sizeof(r), &n);
}

static void test_select_routes_by_aid(void **state)
{
    struct fx *f = *state;
    static const uint8_t other[] = { 0xA0, 0x00, 0x00, 0x03, 0x08 };
    struct cl_apdu a = { .ins = 0xA4, .p1 = 0x04, .data = other, .lc = sizeof(other) };
    struct cl_apdu echo = { .ins = 0x06, .data = other, .lc = 5, .le = 256 };
    uint8_t r[16];
    size_t n;

    /* Nothing selected yet: the card knows no instruction. */
    assert_int_equal(cl_card_command(f->card, &echo, r, sizeof(r), &n), CL_E_INS_NOT_SUPPORTED);
    assert_int_equal(cl_card_command(f->card, &a, r, sizeof(r), &n), CL_E_FILE_NOT_FOUND);
    assert_int_equal(select_test(f->card, 4), CL_OK); /* partial AID selects */
    assert_int_equal(select_test(f->card, sizeof(test_aid)), CL_OK);
    assert_int_equal(cl_card_command(f->card, &echo, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 5);
}

static void test_long_responses_short_and_extended(void **state)
{
    struct fx *f = *state;
    struct cl_apdu a = { .ins = 0xCA, .p1 = 0x04, .p2 = 0x00, .le = 65536 };
    static uint8_t r[2000];
    size_t n;

    assert_int_equal(select_test(f->card, sizeof(test_aid)), CL_OK);
    /* Short APDUs: the engine serves 1024 bytes through 61xx / GET RESPONSE. */
    assert_int_equal(cl_card_command(f->card, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 1024);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i], (uint8_t)i);
    /* Extended length: all in one response. */
    cl_card_set_extended(f->card, true);
    memset(r, 0, sizeof(r));
    assert_int_equal(cl_card_command(f->card, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 1024);
    assert_int_equal(r[1023], (uint8_t)1023);
}

static void test_chained_command_arrives_whole(void **state)
{
    struct fx *f = *state;
    static uint8_t data[700], r[800];
    struct cl_apdu a = { .ins = 0x06, .data = data, .lc = sizeof(data), .le = 256 };
    size_t n;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 3);
    assert_int_equal(select_test(f->card, sizeof(test_aid)), CL_OK);
    assert_int_equal(cl_card_command(f->card, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, sizeof(data));
    assert_memory_equal(r, data, sizeof(data));
}

static void test_pin_counter(void **state)
{
    struct fx *f = *state;
    struct cl_apdu bad = { .ins = 0x20,
                           .p2 = 0x80,
                           .data = (const uint8_t *)"0000",
                           .lc = 4,
                           .flags = CL_APDU_SENSITIVE };
    struct cl_apdu good = bad;
    uint8_t r[4];
    size_t n;
    uint16_t sw;

    good.data = (const uint8_t *)"2468";
    assert_int_equal(select_test(f->card, sizeof(test_aid)), CL_OK);
    assert_int_equal(cl_card_transmit(f->card, &bad, r, sizeof(r), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x63C2);
    assert_int_equal(cl_card_command(f->card, &good, r, sizeof(r), &n), CL_OK);
    for (int i = 2; i >= 0; i--) {
        assert_int_equal(cl_card_transmit(f->card, &bad, r, sizeof(r), &n, &sw), CL_OK);
        assert_int_equal(cl_sw_retries(sw), i);
    }
    assert_int_equal(cl_card_command(f->card, &good, r, sizeof(r), &n), CL_E_AUTH_BLOCKED);
    assert_true(vc_card_dirty(f->vc));
}

static void test_state_persists_in_card_file(void **state)
{
    char path[] = "/tmp/huimin-vcard-XXXXXX";
    int fd = mkstemp(path);
    struct fx f2;
    char err[256];
    static const uint8_t secret[] = { 0xDE, 0xAD, 0xBE, 0xEF };
    struct cl_apdu store = { .ins = 0x10, .data = secret, .lc = 4 };
    struct cl_apdu read = { .ins = 0x12, .le = 256 };
    uint8_t r[16];
    size_t n;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, card_json, sizeof(card_json) - 1), (ssize_t)sizeof(card_json) - 1);
    close(fd);
    memset(&f2, 0, sizeof(f2));
    assert_int_equal(setup_card(&f2, vc_card_load(path, err, sizeof(err))), 0);
    assert_int_equal(select_test(f2.card, sizeof(test_aid)), CL_OK);
    assert_int_equal(cl_card_command(f2.card, &store, r, sizeof(r), &n), CL_OK);
    assert_true(vc_card_dirty(f2.vc));
    assert_int_equal(vc_card_save(f2.vc), 0);
    assert_false(vc_card_dirty(f2.vc));
    teardown((void **)&(struct fx *){ &f2 });
    /* A fresh load of the same file remembers what was stored. */
    memset(&f2, 0, sizeof(f2));
    assert_int_equal(setup_card(&f2, vc_card_load(path, err, sizeof(err))), 0);
    assert_int_equal(select_test(f2.card, sizeof(test_aid)), CL_OK);
    assert_int_equal(cl_card_command(f2.card, &read, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(r, secret, 4);
    teardown((void **)&(struct fx *){ &f2 });
    unlink(path);
}

static void test_bad_card_files_are_explained(void **state)
{
    char err[256];

    (void)state;
    assert_null(vc_card_from_json("{", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "line 1"));
    assert_null(vc_card_from_json("{\"atr\":\"3B\",\"applets\":[]}", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "atr"));
    assert_null(vc_card_from_json("{\"atr\":\"3B00\",\"applets\":[{\"type\":\"nope\"}]}", NULL, err,
                                  sizeof(err)));
    assert_non_null(strstr(err, "unknown type \"nope\""));
    assert_null(vc_card_load("/nonexistent/card.json", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/card.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_select_routes_by_aid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_responses_short_and_extended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chained_command_arrives_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_counter, setup, teardown),
        cmocka_unit_test(test_state_persists_in_card_file),
        cmocka_unit_test(test_bad_card_files_are_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
