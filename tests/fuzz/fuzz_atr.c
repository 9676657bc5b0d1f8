/* Fuzz target for the ATR parser and for identification of a card that answers with arbitrary
 * bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cl/atr.h"
#include "cl/identify.h"
#include "cl/mem.h"
#include "hm/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_card {
    struct hm_cursor in;
    uint8_t atr[CL_ATR_MAX];
    size_t atr_len;
};

static cl_rc fc_power_on(void *cv, uint8_t *atr, size_t cap, size_t *len)
{
    struct fuzz_card *c = cv;

    if (cap < c->atr_len)
        return CL_E_BUFFER_TOO_SMALL;
    memcpy(atr, c->atr, c->atr_len);
    *len = c->atr_len;
    return CL_OK;
}

/* After the ATR, each response is a 1-byte length and that many bytes. */
static cl_rc fc_process(void *cv, const uint8_t *cmd, size_t n, uint8_t *r, size_t cap,
                        size_t *rlen)
{
    struct fuzz_card *c = cv;
    uint8_t len;
    size_t take;

    (void)cmd;
    (void)n;
    if (!hm_cursor_u8(&c->in, &len))
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
    struct fuzz_card card;
    struct cl_atr atr;
    struct cl_card_ident id;
    char protos[64];
    cl_ctx *ctx = NULL;
    cl_card *h = NULL;
    size_t atr_len;

    /* The whole input as an ATR. */
    if (cl_atr_parse(data, size, &atr) == CL_OK &&
        (atr.len != size || atr.hist_len > CL_ATR_HIST_MAX))
        __builtin_trap();
    (void)cl_atr_protocols(&atr, protos, sizeof(protos));

    /* The first byte is the ATR length, the rest the card's answers. */
    if (size < 1)
        return 0;
    atr_len = data[0] % (CL_ATR_MAX + 1);
    if (atr_len > size - 1)
        atr_len = size - 1;
    memcpy(card.atr, data + 1, atr_len);
    card.atr_len = atr_len;
    card.in = hm_cursor_make(data + 1 + atr_len, size - 1 - atr_len);
    if (cl_ctx_new_mem(&ctx) != CL_OK)
        return 0;
    if (cl_mem_add_reader(ctx, "fuzz") != CL_OK || cl_mem_insert(ctx, "fuzz", &fuzz_ops, &card))
        goto out;
    if (cl_card_connect(ctx, "fuzz", CL_SHARE_SHARED, &h) != CL_OK)
        goto out;
    if (cl_card_identify(h, &id) == CL_OK && strlen(id.label) >= sizeof(id.label))
        __builtin_trap();
out:
    cl_card_disconnect(h, false);
    cl_ctx_free(ctx);
    return 0;
}
