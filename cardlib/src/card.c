/*
 * The one path every APDU takes: encoding, chaining, GET RESPONSE, 6Cxx
 * retries, secure messaging and tracing, so drivers only speak in commands.
 */
#include "cl/card.h"
#include "hm/util.h"
#include "transport/transport.h"

#include <stdlib.h>
#include <string.h>

/* How many GET RESPONSE rounds one command may need before we give up. */
#define GET_RESPONSE_MAX_ROUNDS 512

struct cl_card {
    cl_ctx *ctx;
    void *conn;
    char reader[CL_READER_NAME_MAX];
    enum cl_share share;
    uint8_t atr[CL_ATR_MAX];
    size_t atr_len;
    enum cl_protocol proto;
    bool extended;
    unsigned tx_depth;
    uint16_t last_sw;
    const struct cl_sm_ops *sm_ops;
    void *sm;
    cl_trace_fn trace;
    void *trace_arg;
    uint8_t cbuf[CL_CAPDU_MAX];   /* encoded command */
    uint8_t rbuf[CL_RAPDU_MAX];   /* one raw response */
    uint8_t smresp[CL_RAPDU_MAX]; /* reassembled protected response */
    uint8_t smbuf[CL_CAPDU_MAX];  /* protected command data */
};

cl_rc cl_card_connect(cl_ctx *ctx, const char *reader, enum cl_share share, cl_card **out)
{
    cl_card *card;
    cl_rc rc;

    if (!ctx || !reader || !out || strlen(reader) >= CL_READER_NAME_MAX)
        return CL_E_INVALID_ARG;
    card = calloc(1, sizeof(*card));
    if (!card)
        return CL_E_NO_MEMORY;
    card->ctx = ctx;
    card->share = share;
    hm_strlcpy(card->reader, reader, sizeof(card->reader));
    card->atr_len = sizeof(card->atr);
    rc = ctx->ops->connect(ctx->b, reader, share, &card->conn, card->atr, &card->atr_len,
                           &card->proto);
    if (rc != CL_OK) {
        free(card);
        return rc;
    }
    *out = card;
    return CL_OK;
}

static void drop_sm(cl_card *card)
{
    if (card->sm_ops && card->sm_ops->free)
        card->sm_ops->free(card->sm);
    card->sm_ops = NULL;
    card->sm = NULL;
}

void cl_card_disconnect(cl_card *card, bool reset)
{
    if (!card)
        return;
    drop_sm(card);
    while (card->tx_depth > 0) {
        card->ctx->ops->end(card->conn);
        card->tx_depth--;
    }
    card->ctx->ops->disconnect(card->conn, reset);
    /* Responses may have held personal data or session material. */
    hm_wipe(card, sizeof(*card));
    free(card);
}

cl_rc cl_card_reconnect(cl_card *card, bool reset)
{
    cl_rc rc;

    /* Any secure messaging session died with the reset. */
    drop_sm(card);
    card->tx_depth = 0;
    card->atr_len = sizeof(card->atr);
    rc = card->ctx->ops->reconnect(card->conn, card->share, reset, card->atr, &card->atr_len,
                                   &card->proto);
    return rc;
}

const char *cl_card_reader(const cl_card *card)
{
    return card->reader;
}

const uint8_t *cl_card_atr(const cl_card *card, size_t *len)
{
    if (len)
        *len = card->atr_len;
    return card->atr;
}

enum cl_protocol cl_card_protocol(const cl_card *card)
{
    return card->proto;
}

cl_ctx *cl_card_ctx(const cl_card *card)
{
    return card->ctx;
}

cl_rc cl_card_status(cl_card *card)
{
    return card->ctx->ops->status(card->conn);
}

cl_rc cl_card_begin(cl_card *card)
{
    cl_rc rc;

    if (card->tx_depth > 0) {
        card->tx_depth++;
        return CL_OK;
    }
    rc = card->ctx->ops->begin(card->conn);
    if (rc == CL_OK)
        card->tx_depth = 1;
    return rc;
}

cl_rc cl_card_end(cl_card *card)
{
    if (card->tx_depth == 0)
        return CL_E_INVALID_ARG;
    if (--card->tx_depth > 0)
        return CL_OK;
    return card->ctx->ops->end(card->conn);
}

void cl_card_set_extended(cl_card *card, bool on)
{
    card->extended = on;
}

bool cl_card_extended(const cl_card *card)
{
    return card->extended;
}

uint16_t cl_card_last_sw(const cl_card *card)
{
    return card->last_sw;
}

void cl_card_set_sm(cl_card *card, const struct cl_sm_ops *ops, void *sm)
{
    drop_sm(card);
    card->sm_ops = ops;
    card->sm = ops ? sm : NULL;
}

bool cl_card_sm_active(const cl_card *card)
{
    return card->sm_ops != NULL;
}

void cl_card_set_trace(cl_card *card, cl_trace_fn fn, void *arg)
{
    card->trace = fn;
    card->trace_arg = arg;
}

/* Sends encoded bytes and receives one raw response, tracing both. */
static cl_rc send_raw(cl_card *card, const uint8_t *c, size_t clen, size_t data_off,
                      size_t data_len, bool sensitive, uint8_t *r, size_t rcap, size_t *rlen)
{
    cl_rc rc;

    if (card->trace) {
        if (sensitive && data_len) {
            /* Show the shape of the command, never the secret. */
            uint8_t masked[CL_SHORT_LC_MAX + 16];
            size_t n = clen < sizeof(masked) ? clen : sizeof(masked);

            memcpy(masked, c, n);
            for (size_t i = data_off; i < data_off + data_len && i < n; i++)
                masked[i] = '*';
            card->trace(card->trace_arg, true, masked, n);
            hm_wipe(masked, sizeof(masked));
        } else {
            card->trace(card->trace_arg, true, c, clen);
        }
    }
    rc = card->ctx->ops->transmit(card->conn, c, clen, r, rcap, rlen);
    if (rc == CL_E_CARD_RESET) {
        /* Reconnect now so the caller can select again; the session state is gone. */
        cl_rc rrc = cl_card_reconnect(card, false);

        return rrc == CL_OK ? CL_E_CARD_RESET : rrc;
    }
    if (rc != CL_OK)
        return rc;
    if (*rlen < 2)
        return CL_E_RAPDU_SHORT;
    if (card->trace)
        card->trace(card->trace_arg, false, r, *rlen);
    return CL_OK;
}

/* Appends data to resp, refusing to truncate. */
static cl_rc append(uint8_t *resp, size_t cap, size_t *len, const uint8_t *p, size_t n)
{
    if (n > cap - *len)
        return CL_E_RAPDU_TOO_LONG;
    if (n)
        memcpy(resp + *len, p, n);
    *len += n;
    return CL_OK;
}

/* One command (no chaining): 6Cxx repeat and 61xx GET RESPONSE rounds. */
static cl_rc exchange_one(cl_card *card, const struct cl_apdu *a, bool ext, uint8_t *resp,
                          size_t cap, size_t *resp_len, uint16_t *sw)
{
    struct cl_apdu cmd = *a;
    size_t clen, rlen;
    uint16_t s;
    cl_rc rc;
    bool repeated = false;
    unsigned rounds = 0;
    size_t data_off = ext ? 7 : 5;

    for (;;) {
        rc = cl_apdu_encode(&cmd, ext, card->cbuf, sizeof(card->cbuf), &clen);
        if (rc != CL_OK)
            return rc;
        rc = send_raw(card, card->cbuf, clen, data_off, cmd.lc, cmd.flags & CL_APDU_SENSITIVE,
                      card->rbuf, sizeof(card->rbuf), &rlen);
        hm_wipe(card->cbuf, clen);
        if (rc != CL_OK)
            return rc;
        s = (uint16_t)(card->rbuf[rlen - 2] << 8 | card->rbuf[rlen - 1]);
        if ((s & 0xFF00) == 0x6C00 && !repeated) {
            /* Wrong Le: the card says how many bytes it has; ask again for exactly those. */
            cmd.le = (s & 0xFF) ? (s & 0xFF) : 256;
            repeated = true;
            continue;
        }
        break;
    }
    *resp_len = 0;
    rc = append(resp, cap, resp_len, card->rbuf, rlen - 2);
    if (rc != CL_OK)
        return rc;
    while ((s & 0xFF00) == 0x6100) {
        struct cl_apdu gr = { .cla = (uint8_t)(a->cla & 0x03), .ins = 0xC0, .p1 = 0, .p2 = 0 };

        if (++rounds > GET_RESPONSE_MAX_ROUNDS)
            return CL_E_GET_RESPONSE_LOOP;
        gr.le = (s & 0xFF) ? (s & 0xFF) : 256;
        rc = cl_apdu_encode(&gr, false, card->cbuf, sizeof(card->cbuf), &clen);
        if (rc != CL_OK)
            return rc;
        rc = send_raw(card, card->cbuf, clen, 5, 0, false, card->rbuf, sizeof(card->rbuf), &rlen);
        if (rc != CL_OK)
            return rc;
        s = (uint16_t)(card->rbuf[rlen - 2] << 8 | card->rbuf[rlen - 1]);
        rc = append(resp, cap, resp_len, card->rbuf, rlen - 2);
        if (rc != CL_OK)
            return rc;
    }
    *sw = s;
    return CL_OK;
}

/* Chooses the encoding and splits long data into a command chain when needed. */
static cl_rc exchange(cl_card *card, const struct cl_apdu *a, uint8_t *resp, size_t cap,
                      size_t *resp_len, uint16_t *sw)
{
    bool need_ext = a->lc > CL_SHORT_LC_MAX || a->le > CL_SHORT_LE_MAX;
    bool ext;
    struct cl_apdu part;
    size_t off = 0;
    cl_rc rc;

    if (a->flags & CL_APDU_EXTENDED)
        ext = true;
    else if (a->flags & CL_APDU_SHORT)
        ext = false;
    else
        ext = need_ext && card->extended;

    if (ext || a->lc <= CL_SHORT_LC_MAX) {
        part = *a;
        if (!ext && part.le > CL_SHORT_LE_MAX)
            part.le = CL_SHORT_LE_MAX; /* the rest arrives through 61xx */
        return exchange_one(card, &part, ext, resp, cap, resp_len, sw);
    }
    if (a->flags & CL_APDU_NO_CHAIN)
        return CL_E_APDU_INVALID;
    /* Command chaining (ISO 7816-4 §5.1.1.1): CLA bit 5 on every part but the last. */
    for (;;) {
        size_t n = a->lc - off;
        bool last = n <= CL_SHORT_LC_MAX;

        part = *a;
        part.data = a->data + off;
        part.lc = last ? n : CL_SHORT_LC_MAX;
        part.cla = (uint8_t)(last ? a->cla : (a->cla | 0x10));
        part.le = last ? (a->le > CL_SHORT_LE_MAX ? CL_SHORT_LE_MAX : a->le) : 0;
        rc = exchange_one(card, &part, false, resp, cap, resp_len, sw);
        if (rc != CL_OK || last || *sw != CL_SW_OK)
            return rc;
        off += part.lc;
    }
}

cl_rc cl_card_transmit(cl_card *card, const struct cl_apdu *apdu, uint8_t *resp, size_t cap,
                       size_t *resp_len, uint16_t *sw)
{
    struct cl_apdu prot;
    size_t n = 0;
    uint16_t s = 0;
    cl_rc rc;

    if (!card || !apdu || !resp_len || !sw || (cap && !resp) || (apdu->lc && !apdu->data))
        return CL_E_INVALID_ARG;
    *resp_len = 0;
    *sw = 0;
    if (!card->sm_ops) {
        rc = exchange(card, apdu, resp, cap, resp_len, sw);
        if (rc == CL_OK)
            card->last_sw = *sw;
        return rc;
    }
    rc = card->sm_ops->wrap(card->sm, apdu, &prot, card->smbuf, sizeof(card->smbuf));
    if (rc != CL_OK)
        return rc;
    prot.flags = apdu->flags & ~(unsigned)CL_APDU_SENSITIVE;
    rc = exchange(card, &prot, card->smresp, sizeof(card->smresp), &n, &s);
    hm_wipe(card->smbuf, prot.lc);
    if (rc != CL_OK)
        return rc;
    rc = card->sm_ops->unwrap(card->sm, card->smresp, n, s, resp, cap, resp_len, sw);
    hm_wipe(card->smresp, n);
    if (rc != CL_OK) {
        *resp_len = 0;
        card->last_sw = s;
        return rc;
    }
    card->last_sw = *sw;
    return CL_OK;
}

cl_rc cl_card_command(cl_card *card, const struct cl_apdu *apdu, uint8_t *resp, size_t cap,
                      size_t *resp_len)
{
    uint16_t sw;
    cl_rc rc = cl_card_transmit(card, apdu, resp, cap, resp_len, &sw);

    if (rc != CL_OK)
        return rc;
    return cl_sw_to_rc(sw);
}

cl_rc cl_card_transmit_raw(cl_card *card, const uint8_t *capdu, size_t n, uint8_t *resp, size_t cap,
                           size_t *resp_len)
{
    cl_rc rc;

    if (!card || !capdu || !resp || !resp_len || n < 4)
        return CL_E_INVALID_ARG;
    rc = send_raw(card, capdu, n, 0, 0, false, resp, cap, resp_len);
    if (rc == CL_OK)
        card->last_sw = (uint16_t)(resp[*resp_len - 2] << 8 | resp[*resp_len - 1]);
    return rc;
}
