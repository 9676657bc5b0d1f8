/*
 * The transmit path and the monitor over the in-process backend: GET
 * RESPONSE, 6Cxx, chaining, extended length, removal mid-command, secure
 * messaging hooks, tracing of secrets, and card events including a swap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "cl/card.h"
#include "cl/mem.h"
#include "hm/util.h"

#define READER "Test Reader 0"

/* A scripted card: each INS exercises one behaviour of the transmit path. */
struct script_card {
    uint8_t atr[8];
    size_t atr_len;
    uint8_t pending[600]; /* data waiting for GET RESPONSE */
    size_t pending_len;
    uint8_t chain[1024]; /* data collected from a command chain */
    size_t chain_len;
    bool saw_extended;
    unsigned get_responses;
    bool endless;
};

static cl_rc sc_power_on(void *cv, uint8_t *atr, size_t cap, size_t *len)
{
    struct script_card *c = cv;

    if (cap < c->atr_len)
        return CL_E_BUFFER_TOO_SMALL;
    memcpy(atr, c->atr, c->atr_len);
    *len = c->atr_len;
    return CL_OK;
}

static void put_sw(uint8_t *r, size_t *n, uint16_t sw)
{
    r[(*n)++] = (uint8_t)(sw >> 8);
    r[(*n)++] = (uint8_t)sw;
}

static void give_pending(struct script_card *c, uint8_t *r, size_t *n, size_t le)
{
    size_t take = c->pending_len < le ? c->pending_len : le;

    memcpy(r, c->pending, take);
    memmove(c->pending, c->pending + take, c->pending_len - take);
    c->pending_len -= take;
    *n = take;
    if (c->pending_len)
        put_sw(r, n, (uint16_t)(0x6100 | (c->pending_len > 255 ? 0 : c->pending_len)));
    else
        put_sw(r, n, 0x9000);
}

static cl_rc sc_process(void *cv, const uint8_t *cmd, size_t n, uint8_t *r, size_t cap,
                        size_t *rlen)
{
    struct script_card *c = cv;
    struct cl_capdu a;

    (void)cap;
    *rlen = 0;
    if (cl_apdu_parse(cmd, n, &a) != CL_OK) {
        put_sw(r, rlen, 0x6700);
        return CL_OK;
    }
    if (a.extended)
        c->saw_extended = true;
    switch (a.ins) {
    case 0xC0: /* GET RESPONSE */
        c->get_responses++;
        if (c->endless) {
            r[0] = 0x00;
            *rlen = 1;
            put_sw(r, rlen, 0x6101);
            break;
        }
        give_pending(c, r, rlen, a.le);
        break;
    case 0x01: /* 300 bytes through 61xx */
        for (size_t i = 0; i < 300; i++)
            c->pending[i] = (uint8_t)i;
        c->pending_len = 300;
        put_sw(r, rlen, 0x6100);
        break;
    case 0x02: /* wants Le == 8 exactly */
        if (a.le != 8) {
            put_sw(r, rlen, 0x6C08);
        } else {
            memcpy(r, "ABCDEFGH", 8);
            *rlen = 8;
            put_sw(r, rlen, 0x9000);
        }
        break;
    case 0x03: /* collects a command chain, answers with the total length */
        if (c->chain_len + a.lc > sizeof(c->chain)) {
            put_sw(r, rlen, 0x6A84);
            break;
        }
        memcpy(c->chain + c->chain_len, a.data, a.lc);
        c->chain_len += a.lc;
        if (!(a.cla & 0x10)) {
            r[0] = (uint8_t)(c->chain_len >> 8);
            r[1] = (uint8_t)c->chain_len;
            *rlen = 2;
        }
        put_sw(r, rlen, 0x9000);
        break;
    case 0x04: /* endless GET RESPONSE */
        c->endless = true;
        put_sw(r, rlen, 0x6101);
        break;
    case 0x05: /* broken card: one byte */
        r[0] = 0x90;
        *rlen = 1;
        break;
    case 0x06: /* echo data back */
        memcpy(r, a.data, a.lc);
        *rlen = a.lc;
        put_sw(r, rlen, 0x9000);
        break;
    case 0x20: /* VERIFY */
        put_sw(r, rlen, 0x63C2);
        break;
    default:
        put_sw(r, rlen, 0x6D00);
    }
    return CL_OK;
}

static const struct cl_mem_card_ops script_ops = { sc_power_on, sc_process };

struct fixture {
    cl_ctx *ctx;
    struct script_card card;
    cl_card *h;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    memcpy(f.card.atr, "\x3B\x80\x80\x01\x01", 5);
    f.card.atr_len = 5;
    if (cl_ctx_new_mem(&f.ctx) != CL_OK)
        return -1;
    if (cl_mem_add_reader(f.ctx, READER) != CL_OK)
        return -1;
    if (cl_mem_insert(f.ctx, READER, &script_ops, &f.card) != CL_OK)
        return -1;
    if (cl_card_connect(f.ctx, READER, CL_SHARE_SHARED, &f.h) != CL_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cl_card_disconnect(f->h, false);
    cl_ctx_free(f->ctx);
    return 0;
}

static void test_connect_reports_atr(void **state)
{
    struct fixture *f = *state;
    size_t n;
    const uint8_t *atr = cl_card_atr(f->h, &n);

    assert_int_equal(n, 5);
    assert_memory_equal(atr, "\x3B\x80\x80\x01\x01", 5);
    assert_string_equal(cl_card_reader(f->h), READER);
    assert_int_equal(cl_card_status(f->h), CL_OK);
}

static void test_get_response_collects_everything(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x01, .le = 256 };
    uint8_t r[400];
    size_t n;
    uint16_t sw;

    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(n, 300);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(r[i], (uint8_t)i);
    assert_int_equal(f->card.get_responses, 2); /* 256 + 44 */
}

static void test_response_too_long_is_an_error_not_truncation(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x01, .le = 256 };
    uint8_t r[100];
    size_t n;
    uint16_t sw;

    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_E_RAPDU_TOO_LONG);
}

static void test_wrong_le_is_repeated(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x02, .le = 256 };
    uint8_t r[16];
    size_t n;

    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(r, "ABCDEFGH", 8);
}

static void test_long_data_is_chained(void **state)
{
    struct fixture *f = *state;
    uint8_t data[600];
    struct cl_apdu a = { .ins = 0x03, .data = data, .lc = sizeof(data), .le = 256 };
    uint8_t r[16];
    size_t n;

    memset(data, 0x5A, sizeof(data));
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(r[0] << 8 | r[1], 600);
    assert_false(f->card.saw_extended);
    assert_memory_equal(f->card.chain, data, 600);
}

static void test_no_chain_flag_refuses(void **state)
{
    struct fixture *f = *state;
    uint8_t data[300] = { 0 };
    struct cl_apdu a = { .ins = 0x03, .data = data, .lc = sizeof(data), .flags = CL_APDU_NO_CHAIN };
    uint8_t r[16];
    size_t n;

    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_E_APDU_INVALID);
}

static void test_extended_length_when_enabled(void **state)
{
    struct fixture *f = *state;
    uint8_t data[600];
    struct cl_apdu a = { .ins = 0x06, .data = data, .lc = sizeof(data), .le = 1000 };
    uint8_t r[700];
    size_t n;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    cl_card_set_extended(f->h, true);
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
    assert_true(f->card.saw_extended);
    assert_int_equal(n, 600);
    assert_memory_equal(r, data, 600);
}

static void test_status_words_reach_the_caller(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x20, .p2 = 0x80 };
    struct cl_apdu unknown = { .ins = 0x7E };
    uint8_t r[4];
    size_t n;
    uint16_t sw;

    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_OK);
    assert_int_equal(sw, 0x63C2);
    assert_int_equal(cl_sw_retries(sw), 2);
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_E_PIN_INCORRECT);
    assert_int_equal(cl_card_last_sw(f->h), 0x63C2);
    assert_int_equal(cl_card_command(f->h, &unknown, r, sizeof(r), &n), CL_E_INS_NOT_SUPPORTED);
}

static void test_endless_get_response_stops(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x04, .le = 256 };
    uint8_t r[4096];
    size_t n;
    uint16_t sw;

    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_E_GET_RESPONSE_LOOP);
}

static void test_short_response_is_malformed(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x05 };
    uint8_t r[4];
    size_t n;
    uint16_t sw;

    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_E_CARD_UNRESPONSIVE);
}

static void test_card_pulled_mid_sequence(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x01, .le = 256 };
    uint8_t r[400];
    size_t n;
    uint16_t sw;

    /* The card answers the command and one GET RESPONSE, then leaves. */
    assert_int_equal(cl_mem_remove_after(f->ctx, READER, 2), CL_OK);
    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_E_CARD_REMOVED);
    assert_int_equal(cl_card_status(f->h), CL_E_CARD_REMOVED);
    assert_int_equal(cl_card_transmit(f->h, &a, r, sizeof(r), &n, &sw), CL_E_CARD_REMOVED);
}

static const struct cl_sm_ops toy_ops;
struct toy_sm {
    bool freed;
    bool corrupt;
};

static void test_reset_then_reconnect(void **state)
{
    struct fixture *f = *state;
    struct cl_apdu a = { .ins = 0x02, .le = 8 };
    uint8_t r[16];
    size_t n;

    struct toy_sm sm = { false, false };

    cl_card_set_sm(f->h, &toy_ops, &sm);
    assert_int_equal(cl_mem_reset(f->ctx, READER), CL_OK);
    /* The reset is reported once; the session state (here: SM) is dropped. */
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_E_CARD_RESET);
    assert_true(sm.freed);
    assert_false(cl_card_sm_active(f->h));
    /* The connection was re-established: the next command just works. */
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(cl_card_reconnect(f->h, true), CL_OK);
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
}

/* A toy secure messaging layer: XOR 0x55 over data, and a trailing check byte. */

static cl_rc toy_wrap(void *sm, const struct cl_apdu *plain, struct cl_apdu *out, uint8_t *buf,
                      size_t cap)
{
    (void)sm;
    if (plain->lc + 1 > cap)
        return CL_E_BUFFER_TOO_SMALL;
    for (size_t i = 0; i < plain->lc; i++)
        buf[i] = plain->data[i] ^ 0x55;
    buf[plain->lc] = 0xCC;
    *out = *plain;
    out->cla |= 0x0C;
    out->data = buf;
    out->lc = plain->lc + 1;
    return CL_OK;
}

static cl_rc toy_unwrap(void *smv, const uint8_t *d, size_t len, uint16_t sw, uint8_t *out,
                        size_t cap, size_t *out_len, uint16_t *out_sw)
{
    struct toy_sm *sm = smv;

    if (len < 1 || d[len - 1] != 0xCC || sm->corrupt)
        return CL_E_SM_MAC;
    if (len - 1 > cap)
        return CL_E_BUFFER_TOO_SMALL;
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = d[i] ^ 0x55;
    *out_len = len - 1;
    *out_sw = sw;
    return CL_OK;
}

static void toy_free(void *smv)
{
    ((struct toy_sm *)smv)->freed = true;
}

static const struct cl_sm_ops toy_ops = { toy_wrap, toy_unwrap, toy_free };

static void test_secure_messaging_hooks(void **state)
{
    struct fixture *f = *state;
    struct toy_sm sm = { false, false };
    static const uint8_t data[] = { 1, 2, 3 };
    struct cl_apdu a = { .ins = 0x06, .data = data, .lc = 3, .le = 256 };
    uint8_t r[16];
    size_t n;

    cl_card_set_sm(f->h, &toy_ops, &sm);
    assert_true(cl_card_sm_active(f->h));
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(r, data, 3);
    sm.corrupt = true;
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_E_SM_MAC);
    assert_int_equal(n, 0); /* no data from a response that failed verification */
    cl_card_set_sm(f->h, NULL, NULL);
    assert_true(sm.freed);
    assert_false(cl_card_sm_active(f->h));
}

struct trace_log {
    uint8_t last_cmd[64];
    size_t last_len;
};

static void trace_cb(void *arg, bool to_card, const uint8_t *p, size_t n)
{
    struct trace_log *t = arg;

    if (to_card && n <= sizeof(t->last_cmd)) {
        memcpy(t->last_cmd, p, n);
        t->last_len = n;
    }
}

static void test_trace_masks_secrets(void **state)
{
    struct fixture *f = *state;
    struct trace_log t = { { 0 }, 0 };
    static const uint8_t pin[] = { '1', '2', '3', '4', '5', '6', 0xFF, 0xFF };
    struct cl_apdu a = {
        .ins = 0x20, .p2 = 0x80, .data = pin, .lc = 8, .flags = CL_APDU_SENSITIVE
    };
    uint8_t r[4];
    size_t n;

    cl_card_set_trace(f->h, trace_cb, &t);
    assert_int_equal(cl_card_command(f->h, &a, r, sizeof(r), &n), CL_E_PIN_INCORRECT);
    assert_int_equal(t.last_len, 13);
    assert_memory_equal(t.last_cmd, "\x00\x20\x00\x80\x08", 5);
    for (size_t i = 5; i < 13; i++)
        assert_int_equal(t.last_cmd[i], '*');
}

static void test_monitor_reports_swap(void **state)
{
    struct fixture *f = *state;
    struct script_card other;
    cl_monitor *m;
    struct cl_event ev;

    memcpy(&other, &f->card, sizeof(other));
    other.atr[4] = 0x02;
    assert_int_equal(cl_monitor_new(f->ctx, &m), CL_OK);
    /* First look: the reader and the card already present. */
    assert_int_equal(cl_monitor_wait(m, &ev, 0), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_READER_ADDED);
    assert_string_equal(ev.reader, READER);
    assert_int_equal(cl_monitor_wait(m, &ev, 0), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_CARD_INSERTED);
    assert_int_equal(ev.atr_len, 5);
    assert_int_equal(cl_monitor_wait(m, &ev, 50), CL_E_TIMEOUT);
    /* Swap the card between two waits: removed, then inserted with the new ATR. */
    assert_int_equal(cl_mem_remove(f->ctx, READER), CL_OK);
    assert_int_equal(cl_mem_insert(f->ctx, READER, &script_ops, &other), CL_OK);
    assert_int_equal(cl_monitor_wait(m, &ev, 1000), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_CARD_REMOVED);
    assert_int_equal(cl_monitor_wait(m, &ev, 1000), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_CARD_INSERTED);
    assert_int_equal(ev.atr[4], 0x02);
    /* The old handle sees a different card: removed. */
    assert_int_equal(cl_card_status(f->h), CL_E_CARD_REMOVED);
    /* A reader that goes away takes its card with it. */
    assert_int_equal(cl_mem_remove_reader(f->ctx, READER), CL_OK);
    assert_int_equal(cl_monitor_wait(m, &ev, 1000), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_CARD_REMOVED);
    assert_int_equal(cl_monitor_wait(m, &ev, 1000), CL_OK);
    assert_int_equal(ev.kind, CL_EVENT_READER_REMOVED);
    cl_monitor_free(m);
}

static void *cancel_later(void *arg)
{
    hm_sleep_ms(50);
    cl_monitor_cancel(arg);
    return NULL;
}

static void test_monitor_cancel_from_another_thread(void **state)
{
    struct fixture *f = *state;
    cl_monitor *m;
    struct cl_event ev;
    pthread_t th;
    uint64_t t0;

    assert_int_equal(cl_monitor_new(f->ctx, &m), CL_OK);
    while (cl_monitor_wait(m, &ev, 0) == CL_OK)
        ; /* drain the initial events */
    t0 = hm_now_ms();
    assert_int_equal(pthread_create(&th, NULL, cancel_later, m), 0);
    assert_int_equal(cl_monitor_wait(m, &ev, -1), CL_E_CANCELLED);
    pthread_join(th, NULL);
    assert_true(hm_now_ms() - t0 < 5000);
    cl_monitor_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect_reports_atr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_response_collects_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_too_long_is_an_error_not_truncation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_le_is_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_data_is_chained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_chain_flag_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extended_length_when_enabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_words_reach_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endless_get_response_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_response_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_pulled_mid_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_then_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secure_messaging_hooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_masks_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_reports_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_cancel_from_another_thread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
