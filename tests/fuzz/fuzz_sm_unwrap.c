/*
 * Fuzz target for eMRTD secure-messaging response unwrapping, the first code
 * that touches what a possibly hostile chip sends after BAC.
 *
 * Input: flags, the low byte of the SSC the response is checked with, SW1,
 * SW2, then the response data. Flag bit 0 makes the harness append a valid
 * DO'8E' over the data, so the paths after the MAC check (decryption,
 * padding, DO'99') are reached too; bits 1-2 choose the output buffer size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl/emrtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ICAO 9303 Part 11 Appendix D session keys. */
static const uint8_t ks_enc[16] = { 0x97, 0x9E, 0xC1, 0x3B, 0x1C, 0xBF, 0xE9, 0xDC,
                                    0xD0, 0x1A, 0xB0, 0xFE, 0xD3, 0x07, 0xEA, 0xE5 };
static const uint8_t ks_mac[16] = { 0xF1, 0xCB, 0x1F, 0x1F, 0xB5, 0xAD, 0xF2, 0x08,
                                    0x80, 0x6B, 0x89, 0xDC, 0x57, 0x9D, 0xC1, 0xF8 };
static const uint8_t ssc_base[8] = { 0x88, 0x70, 0x22, 0x12, 0x0C, 0x06, 0xC2, 0x00 };

#define RESP_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[4] = { 0, 8, 64, RESP_MAX };
    struct cl_emrtd_session s;
    cl_emrtd_sm *sm = NULL;
    uint8_t *resp, *out;
    size_t rlen, cap, out_len = 0;
    uint16_t sw, out_sw = 0;
    cl_rc rc;

    if (size < 4 || size - 4 > RESP_MAX - 10)
        return 0;
    memcpy(s.ks.enc, ks_enc, 16);
    memcpy(s.ks.mac, ks_mac, 16);
    memcpy(s.ssc, ssc_base, 8);
    s.ssc[7] = (uint8_t)(data[1] - 1); /* unwrap counts up to data[1] first */
    sw = (uint16_t)(data[2] << 8 | data[3]);
    cap = caps[(data[0] >> 1) & 3];
    rlen = size - 4;

    /* Exact-size heap copies, so any read or write out of bounds is caught. */
    resp = malloc(rlen + 10);
    out = malloc(cap ? cap : 1);
    if (!resp || !out)
        goto out_free;
    if (rlen)
        memcpy(resp, data + 4, rlen);
    if (data[0] & 1) {
        uint8_t m[8 + RESP_MAX];

        memcpy(m, s.ssc, 8);
        m[7] = data[1];
        if (rlen)
            memcpy(m + 8, resp, rlen);
        if (cl_emrtd_mac(ks_mac, m, 8 + rlen, resp + rlen + 2) != CL_OK)
            __builtin_trap();
        resp[rlen] = 0x8E;
        resp[rlen + 1] = 0x08;
        rlen += 10;
    }
    if (cl_emrtd_sm_new(&s, &sm) != CL_OK)
        goto out_free;
    rc = cl_emrtd_sm_unwrap(sm, rlen ? resp : NULL, rlen, sw, cap ? out : NULL, cap, &out_len,
                            &out_sw);
    /* Invariants: data only with success, never more than asked for. */
    if (rc != CL_OK && out_len != 0)
        __builtin_trap();
    if (out_len > cap)
        __builtin_trap();
    if (rc == CL_E_SM_MAC && cl_emrtd_sm_alive(sm))
        __builtin_trap();
    if (out_len) {
        volatile uint8_t sink = out[0] ^ out[out_len - 1];
        (void)sink;
    }
out_free:
    cl_emrtd_sm_free(sm);
    free(resp);
    free(out);
    return 0;
}
