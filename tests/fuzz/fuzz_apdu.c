/*
 * Fuzz target for the response path: a card in the in-process backend answers
 * each command with bytes taken from the input, so GET RESPONSE, 6Cxx,
 * chaining and length handling meet arbitrary responses. The input's first
 * bytes are also parsed as a command APDU.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cl/card.h"
#include "cl/mem.h"
#include "hm/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_card {
    struct hm_cursor in;
};

static cl_rc fc_power_on(void *cv, uint8_t *atr, size_t cap, size_t *len)
{
    (void)cv;
    (void)cap;
    memcpy(atr, "\x3B\x80\x80\x01\x01", 5);
    *len = 5;
    return CL_OK;
}

/* Each response is a 2-byte length then that many bytes (cut at the input's end). */
static cl_rc fc_process(void *cv, const uint8_t *cmd, size_t n, uint8_t *r, size_t cap,
                        size_t *rlen)
{
    struct fuzz_card *c = cv;
    uint16_t len;
    size_t take;

    (void)cmd;
    (void)n;
    if (!hm_cursor_be16(&c->in, &len))
        return CL_E_CARD_UNRESPONSIVE;
    take = len;
    if (take > hm_cursor_left(&c->in))
        take = hm_cursor_left(&c->in);
    if (take > cap)
        take = cap;
    hm_cursor_copy(&c->in, r, take);
    *rlen = take;
    return CL_OK;
}

static const struct cl_mem_card_ops fuzz_ops = { fc_power_on, fc_process };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t resp[CL_RAPDU_MAX];
    static uint8_t big[600];
    struct fuzz_card card = { hm_cursor_make(data, size) };
    struct cl_capdu parsed;
    cl_ctx *ctx = NULL;
    cl_card *h = NULL;
    size_t n;
    uint16_t sw;
    struct cl_apdu cmds[4] = {
        { .ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = 256 },
        { .ins = 0xB0, .le = 65536 },
        { .ins = 0xDB, .data = big, .lc = sizeof(big), .le = 256 },
        { .ins = 0x87, .data = big, .lc = 10, .le = 100 },
    };

    (void)cl_apdu_parse(data, size < 300 ? size : 300, &parsed);
    if (cl_ctx_new_mem(&ctx) != CL_OK)
        return 0;
    if (cl_mem_add_reader(ctx, "fuzz") != CL_OK || cl_mem_insert(ctx, "fuzz", &fuzz_ops, &card))
        goto out;
    if (cl_card_connect(ctx, "fuzz", CL_SHARE_SHARED, &h) != CL_OK)
        goto out;
    if (size && (data[0] & 1))
        cl_card_set_extended(h, true);
    for (size_t i = 0; i < 4; i++) {
        /* A smaller buffer for some commands exercises the overflow check. */
        size_t cap = (i == 3) ? 64 : sizeof(resp);

        if (cl_card_transmit(h, &cmds[i], resp, cap, &n, &sw) == CL_OK && n > cap)
            __builtin_trap();
    }
out:
    cl_card_disconnect(h, false);
    cl_ctx_free(ctx);
    return 0;
}
