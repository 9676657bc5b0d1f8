/*
 * cardlib through the real pcscd and vpcd with virtual card processes:
 * discovery, insertion, GET RESPONSE, extended length, a card pulled in the
 * middle of a command, a swap, faults, sharing and a pcscd restart.
 */
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
#include "hm/util.h"
#include "rig.h"

static const uint8_t test_aid[] = { 0xF0, 0x48, 0x55, 0x49, 0x4D, 0x49, 0x4E, 0x54 };

struct fx {
    struct rig *rig;
    char card1[512], card2[512]; /* private copies: the card process writes state back */
};

static void copy_card(const char *name, char *out, size_t cap, const char *dir)
{
    char src[512], cmd[1200];
    const char *root = getenv("HUIMIN_SOURCE_DIR");

    snprintf(src, sizeof(src), "%s/fixtures/cards/%s", root ? root : ".", name);
    snprintf(out, cap, "%s/%s", dir, name);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, out);
    if (system(cmd) != 0)
        fail_msg("cannot copy %s", src);
}

static int setup(void **state)
{
    static struct fx f;

    memset(&f, 0, sizeof(f));
    if (rig_start(&f.rig, NULL) != 0)
        return -1;
    copy_card("test-card.json", f.card1, sizeof(f.card1), rig_dir(f.rig));
    copy_card("test-card-2.json", f.card2, sizeof(f.card2), rig_dir(f.rig));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    rig_stop(f->rig);
    return 0;
}

static cl_card *connect_selected(cl_ctx *ctx, const char *reader)
{
    struct cl_apdu sel = { .ins = 0xA4, .p1 = 0x04, .data = test_aid, .lc = sizeof(test_aid) };
    cl_card *card = NULL;
    uint8_t r[64];
    size_t n;

    assert_int_equal(cl_card_connect(ctx, reader, CL_SHARE_SHARED, &card), CL_OK);
    assert_int_equal(cl_card_command(card, &sel, r, sizeof(r), &n), CL_OK);
    return card;
}

static void test_discovery_and_insertion(void **state)
{
    struct fx *f = *state;
    struct cl_reader_info r[CL_READERS_MAX];
    cl_ctx *ctx;
    cl_card *card = NULL;
    size_t n = 0;

    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    assert_string_equal(cl_ctx_backend(ctx), "pcsc");
    assert_int_equal(cl_ctx_list_readers(ctx, r, CL_READERS_MAX, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].name, rig_reader(f->rig, 0));
    assert_false(r[0].state & CL_READER_PRESENT);
    assert_int_equal(cl_card_connect(ctx, rig_reader(f->rig, 0), CL_SHARE_SHARED, &card),
                     CL_E_NO_CARD);
    assert_int_equal(cl_card_connect(ctx, "No Such Reader", CL_SHARE_SHARED, &card),
                     CL_E_READER_NOT_FOUND);

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_list_readers(ctx, r, CL_READERS_MAX, &n), CL_OK);
    assert_true(r[0].state & CL_READER_PRESENT);
    assert_int_equal(r[0].atr_len, 13);
    assert_memory_equal(r[0].atr, "\x3B\x88\x80\x01HUIMINT1", 12);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    assert_int_equal(cl_card_protocol(card), CL_PROTO_T1);
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
}

static void test_get_response_and_extended_length(void **state)
{
    struct fx *f = *state;
    struct cl_apdu get = { .ins = 0xCA, .p1 = 0x10, .p2 = 0x00, .le = 65536 };
    static uint8_t r[8192];
    cl_ctx *ctx;
    cl_card *card;
    size_t n;
    static uint8_t big[3000];
    struct cl_apdu echo = { .ins = 0x06, .data = big, .lc = sizeof(big), .le = 65536 };

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    /* 4096 bytes through short APDUs: 61xx and sixteen GET RESPONSEs. */
    assert_int_equal(cl_card_command(card, &get, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 4096);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i], (uint8_t)i);
    /* The same in one extended-length exchange, and 3000 bytes of command data. */
    cl_card_set_extended(card, true);
    memset(r, 0, sizeof(r));
    assert_int_equal(cl_card_command(card, &get, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 4096);
    assert_int_equal(r[4095], 0xFF);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, sizeof(big));
    assert_memory_equal(r, big, sizeof(big));
    /* And through command chaining when extended length is off. */
    cl_card_set_extended(card, false);
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, sizeof(big));
    assert_memory_equal(r, big, sizeof(big));
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
}

static void test_card_pulled_mid_command(void **state)
{
    struct fx *f = *state;
    struct cl_apdu get = { .ins = 0xCA, .p1 = 0x04, .p2 = 0x00, .le = 256 };
    uint8_t r[2048];
    cl_ctx *ctx;
    cl_card *card;
    size_t n;
    uint64_t t0;
    char reply[64];

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    /* The card leaves at the second GET RESPONSE of the next command. */
    assert_int_equal(rig_card_control(f->rig, 0, "pull-after 2", reply, sizeof(reply)), 0);
    t0 = hm_now_ms();
    assert_int_equal(cl_card_command(card, &get, r, sizeof(r), &n), CL_E_CARD_REMOVED);
    assert_true(hm_now_ms() - t0 < 5000); /* a clear error, not a hang */
    assert_int_equal(cl_card_status(card), CL_E_CARD_REMOVED);
    assert_int_equal(cl_card_command(card, &get, r, sizeof(r), &n), CL_E_CARD_REMOVED);
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
}

static void test_swap_is_seen(void **state)
{
    struct fx *f = *state;
    cl_ctx *ctx;
    cl_monitor *m;
    cl_card *card;
    struct cl_event ev;
    char cmd[600], reply[64];
    bool inserted = false, removed = false;

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    assert_int_equal(cl_monitor_new(ctx, &m), CL_OK);
    /* Initial picture: two readers, one card. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cl_monitor_wait(m, &ev, 2000), CL_OK);
        if (ev.kind == CL_EVENT_CARD_INSERTED) {
            assert_string_equal(ev.reader, rig_reader(f->rig, 0));
            inserted = true;
        }
    }
    assert_true(inserted);
    inserted = false;
    assert_int_equal(cl_monitor_wait(m, &ev, 100), CL_E_TIMEOUT);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    /* Swap the card for another in one step. */
    snprintf(cmd, sizeof(cmd), "swap %s", f->card2);
    assert_int_equal(rig_card_control(f->rig, 0, cmd, reply, sizeof(reply)), 0);
    while (!inserted && cl_monitor_wait(m, &ev, 5000) == CL_OK) {
        if (ev.kind == CL_EVENT_CARD_REMOVED) {
            assert_false(inserted);
            removed = true;
        } else if (ev.kind == CL_EVENT_CARD_INSERTED) {
            inserted = true;
            assert_int_equal(ev.atr[11], '2'); /* the other card's ATR */
        }
    }
    assert_true(removed);
    assert_true(inserted);
    /* The handle to the first card knows it is gone. */
    assert_int_equal(cl_card_status(card), CL_E_CARD_REMOVED);
    cl_card_disconnect(card, false);
    cl_monitor_free(m);
    cl_ctx_free(ctx);
}

static void test_faults_reach_the_caller(void **state)
{
    struct fx *f = *state;
    static const uint8_t data[] = { 1, 2, 3, 4 };
    struct cl_apdu echo = { .ins = 0x06, .data = data, .lc = 4, .le = 256 };
    uint8_t r[64];
    size_t n;
    uint16_t sw;
    cl_ctx *ctx;
    cl_card *card;
    char reply[64];

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    assert_int_equal(rig_card_control(f->rig, 0, "sw-after 0 6A88", reply, sizeof(reply)), 0);
    assert_int_equal(cl_card_transmit(card, &echo, r, sizeof(r), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x6A88);
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_OK);
    assert_int_equal(rig_card_control(f->rig, 0, "corrupt-after 0", reply, sizeof(reply)), 0);
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 4);
    assert_memory_not_equal(r, data, 4);
    assert_int_equal(rig_card_control(f->rig, 0, "bogus", reply, sizeof(reply)), -1);
    assert_non_null(strstr(reply, "unknown command"));
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
}

static void test_exclusive_access(void **state)
{
    struct fx *f = *state;
    cl_ctx *a, *b;
    cl_card *ca, *cb = NULL;

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&a), CL_OK);
    assert_int_equal(cl_ctx_new_pcsc(&b), CL_OK);
    assert_int_equal(cl_card_connect(a, rig_reader(f->rig, 0), CL_SHARE_EXCLUSIVE, &ca), CL_OK);
    assert_int_equal(cl_card_connect(b, rig_reader(f->rig, 0), CL_SHARE_SHARED, &cb),
                     CL_E_SHARING_VIOLATION);
    cl_card_disconnect(ca, false);
    assert_int_equal(cl_card_connect(b, rig_reader(f->rig, 0), CL_SHARE_SHARED, &cb), CL_OK);
    assert_int_equal(cl_card_begin(cb), CL_OK);
    assert_int_equal(cl_card_end(cb), CL_OK);
    cl_card_disconnect(cb, false);
    cl_ctx_free(a);
    cl_ctx_free(b);
}

static void test_pcscd_restart(void **state)
{
    struct fx *f = *state;
    struct cl_apdu echo = { .ins = 0x06, .data = test_aid, .lc = 2, .le = 256 };
    cl_ctx *ctx;
    cl_monitor *m;
    cl_card *card;
    struct cl_event ev;
    uint8_t r[64];
    size_t n;
    bool lost = false, back = false, card_back = false;

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    assert_int_equal(cl_monitor_new(ctx, &m), CL_OK);
    while (cl_monitor_wait(m, &ev, 200) == CL_OK)
        ; /* the initial picture */
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    assert_int_equal(rig_restart_pcscd(f->rig), 0);
    while (!(back && card_back) && cl_monitor_wait(m, &ev, 10000) == CL_OK) {
        if (ev.kind == CL_EVENT_SERVICE_LOST)
            lost = true;
        if (ev.kind == CL_EVENT_SERVICE_BACK)
            back = true;
        if (ev.kind == CL_EVENT_CARD_INSERTED && strcmp(ev.reader, rig_reader(f->rig, 0)) == 0)
            card_back = true;
    }
    assert_true(lost);
    assert_true(back);
    assert_true(card_back);
    /* The old handle is dead; the same context reconnects and works. */
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_E_SERVICE_STOPPED);
    cl_card_disconnect(card, false);
    card = connect_selected(ctx, rig_reader(f->rig, 0));
    assert_int_equal(cl_card_command(card, &echo, r, sizeof(r), &n), CL_OK);
    cl_card_disconnect(card, false);
    cl_monitor_free(m);
    cl_ctx_free(ctx);
}

static void test_reader_unplugged_and_back(void **state)
{
    struct fx *f = *state;
    struct cl_reader_info info[CL_READERS_MAX];
    cl_ctx *ctx;
    cl_monitor *m;
    cl_card *card = NULL;
    struct cl_event ev;
    size_t n = 9;
    bool card_gone = false, reader_gone = false, reader_back = false, card_back = false;

    assert_int_equal(rig_card_start(f->rig, 0, f->card1, NULL), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    assert_int_equal(cl_monitor_new(ctx, &m), CL_OK);
    while (cl_monitor_wait(m, &ev, 200) == CL_OK)
        ;
    assert_int_equal(rig_unplug_reader(f->rig), 0);
    while (!reader_gone && cl_monitor_wait(m, &ev, 10000) == CL_OK) {
        if (ev.kind == CL_EVENT_CARD_REMOVED)
            card_gone = true;
        if (ev.kind == CL_EVENT_READER_REMOVED && strcmp(ev.reader, rig_reader(f->rig, 0)) == 0)
            reader_gone = true;
    }
    assert_true(card_gone);
    assert_true(reader_gone);
    assert_int_equal(cl_ctx_list_readers(ctx, info, CL_READERS_MAX, &n), CL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cl_card_connect(ctx, rig_reader(f->rig, 0), CL_SHARE_SHARED, &card),
                     CL_E_READER_NOT_FOUND);
    assert_int_equal(rig_plug_reader(f->rig), 0);
    while (!(reader_back && card_back) && cl_monitor_wait(m, &ev, 10000) == CL_OK) {
        if (ev.kind == CL_EVENT_READER_ADDED && strcmp(ev.reader, rig_reader(f->rig, 0)) == 0)
            reader_back = true;
        if (ev.kind == CL_EVENT_CARD_INSERTED && strcmp(ev.reader, rig_reader(f->rig, 0)) == 0)
            card_back = true;
    }
    assert_true(reader_back);
    assert_true(card_back);
    cl_monitor_free(m);
    cl_ctx_free(ctx);
}

static void test_service_down(void **state)
{
    struct fx *f = *state;
    cl_ctx *ctx = NULL;

    assert_int_equal(rig_stop_pcscd(f->rig), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_E_NO_SERVICE);
    assert_null(ctx);
    assert_int_equal(rig_start_pcscd(f->rig), 0);
    assert_int_equal(cl_ctx_new_pcsc(&ctx), CL_OK);
    cl_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovery_and_insertion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_response_and_extended_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_pulled_mid_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_is_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_reach_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclusive_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcscd_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_unplugged_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_down, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
