/*
 * BAC and secure messaging through the real pcscd and vpcd with the virtual
 * eMRTD card process, including responses the card process corrupts in
 * transit, so the whole path is checked as a kiosk would use it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/card.h"
#include "cl/emrtd.h"
#include "hm/buf.h"
#include "rig.h"

static const uint8_t ef_com[] = {
    0x60, 0x14, 0x5F, 0x01, 0x04, 0x30, 0x31, 0x30, 0x36, 0x5F, 0x36,
    0x06, 0x30, 0x34, 0x30, 0x30, 0x30, 0x30, 0x5C, 0x02, 0x61, 0x75
};

struct fx {
    struct rig *rig;
    cl_ctx *ctx;
    cl_card *card;
    struct cl_emrtd_keys k;
};

static int setup(void **state)
{
    static struct fx f;
    static const char *const no_save[] = { "--no-save", NULL };
    const char *root = getenv("HUIMIN_SOURCE_DIR");
    char card[1024];

    memset(&f, 0, sizeof(f));
    snprintf(card, sizeof(card), "%s/fixtures/cards/id-card-specimen.json", root ? root : ".");
    if (rig_start(&f.rig, NULL) != 0 || rig_card_start(f.rig, 0, card, no_save) != 0 ||
        cl_ctx_new_pcsc(&f.ctx) != CL_OK ||
        cl_card_connect(f.ctx, rig_reader(f.rig, 0), CL_SHARE_SHARED, &f.card) != CL_OK ||
        cl_emrtd_bac_keys("L898902C", "690806", "940623", &f.k) != CL_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cl_card_disconnect(f->card, false);
    cl_ctx_free(f->ctx);
    rig_stop(f->rig);
    return 0;
}

static void bac(struct fx *f)
{
    assert_int_equal(cl_emrtd_select_app(f->card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f->card, &f->k, NULL, NULL), CL_OK);
}

static void test_bac_and_read_through_pcscd(void **state)
{
    struct fx *f = *state;
    struct cl_emrtd_keys wrong;
    struct hm_buf b;

    hm_buf_init(&b, 4096);
    bac(f);
    assert_int_equal(cl_emrtd_read_file(f->card, CL_EMRTD_FID_COM, &b), CL_OK);
    assert_int_equal(b.len, sizeof(ef_com));
    assert_memory_equal(b.data, ef_com, sizeof(ef_com));
    hm_buf_free(&b);

    assert_int_equal(cl_emrtd_bac_keys("L898902C", "690806", "990623", &wrong), CL_OK);
    assert_int_equal(cl_emrtd_select_app(f->card), CL_OK);
    assert_int_equal(cl_emrtd_bac(f->card, &wrong, NULL, NULL), CL_E_AUTH_FAILED);
    assert_int_equal(cl_card_last_sw(f->card), 0x6300);
}

static void test_corrupted_responses_are_never_data(void **state)
{
    struct fx *f = *state;
    char reply[256];
    uint8_t r[8];
    size_t n = 0;

    /* A bit flipped in transit (the card process's fault injection). */
    bac(f);
    assert_int_equal(cl_emrtd_select_ef(f->card, CL_EMRTD_FID_COM), CL_OK);
    assert_int_equal(rig_card_control(f->rig, 0, "corrupt-after 0", reply, sizeof(reply)), 0);
    assert_int_equal(cl_emrtd_read_binary(f->card, 0, 4, r, &n), CL_E_SM_MAC);
    assert_int_equal(n, 0);
    assert_int_equal(cl_emrtd_read_binary(f->card, 0, 4, r, &n), CL_E_SM_FAILED);

    /* A bare 9000 in place of a protected response. */
    bac(f);
    assert_int_equal(cl_emrtd_select_ef(f->card, CL_EMRTD_FID_COM), CL_OK);
    assert_int_equal(rig_card_control(f->rig, 0, "sw-after 0 9000", reply, sizeof(reply)), 0);
    assert_int_equal(cl_emrtd_read_binary(f->card, 0, 4, r, &n), CL_E_SM_MAC);
    assert_int_equal(n, 0);

    /* A fresh BAC works again. */
    bac(f);
    assert_int_equal(cl_emrtd_select_ef(f->card, CL_EMRTD_FID_COM), CL_OK);
    assert_int_equal(cl_emrtd_read_binary(f->card, 0, 4, r, &n), CL_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(r, ef_com, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bac_and_read_through_pcscd),
        cmocka_unit_test(test_corrupted_responses_are_never_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
