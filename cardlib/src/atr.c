/* Parses the Answer-To-Reset so logs, huimin-card and card recognition can read protocols and
 * historical bytes. */
#include "cl/atr.h"

#include "hm/util.h"

#include <stdio.h>
#include <string.h>

/* ISO/IEC 7816-3 Table 7 and 8; 0 marks a reserved value. */
static const unsigned fi_table[16] = { 372, 372, 558, 744,  1116, 1488, 1860, 0,
                                       0,   512, 768, 1024, 1536, 2048, 0,    0 };
static const unsigned di_table[16] = { 0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0 };

cl_rc cl_atr_parse(const uint8_t *atr, size_t len, struct cl_atr *out)
{
    size_t pos = 2;
    unsigned y, k, group = 1, prev_t = 0;
    bool need_tck = false, any_td = false;
    uint8_t x = 0;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    out->fi = 372;
    out->di = 1;
    out->ifsc = 32;
    out->first_protocol = -1;
    if (!atr || len < 2)
        return CL_E_ATR_MALFORMED;
    if (atr[0] == 0x3F)
        out->inverse = true;
    else if (atr[0] != 0x3B)
        return CL_E_ATR_MALFORMED;
    y = atr[1] >> 4;
    k = atr[1] & 0x0F;

    for (;;) {
        unsigned t = 0;
        bool has_td = false;

        if (y & 1) {
            if (pos >= len)
                return CL_E_ATR_MALFORMED;
            if (group == 1) {
                out->has_ta1 = true;
                out->ta1 = atr[pos];
                out->fi = fi_table[atr[pos] >> 4];
                out->di = di_table[atr[pos] & 0x0F];
            } else if (group == 2) {
                out->specific_mode = true;
            } else if (prev_t == 1) {
                out->ifsc = atr[pos];
            }
            pos++;
        }
        if (y & 2) {
            if (pos >= len)
                return CL_E_ATR_MALFORMED;
            pos++; /* TBi: VPP (deprecated) or T=1 waiting times; not needed */
        }
        if (y & 4) {
            if (pos >= len)
                return CL_E_ATR_MALFORMED;
            if (group == 1) {
                out->has_tc1 = true;
                out->tc1 = atr[pos];
            }
            pos++;
        }
        if (y & 8) {
            if (pos >= len)
                return CL_E_ATR_MALFORMED;
            has_td = true;
            t = atr[pos] & 0x0F;
            y = atr[pos] >> 4;
            pos++;
        }
        if (!has_td)
            break;
        any_td = true;
        if (t != 0)
            need_tck = true;
        if (t != 15) {
            out->protocols |= 1u << t;
            if (out->first_protocol < 0)
                out->first_protocol = (int)t;
        }
        prev_t = t;
        group++;
    }
    if (!any_td || out->protocols == 0) {
        /* No protocol named: T=0 (ISO/IEC 7816-3 §8.2.3). */
        out->protocols |= 1u;
        if (out->first_protocol < 0)
            out->first_protocol = 0;
    }
    if (len - pos < k)
        return CL_E_ATR_MALFORMED;
    memcpy(out->hist, atr + pos, k);
    out->hist_len = k;
    pos += k;
    if (need_tck) {
        if (pos >= len)
            return CL_E_ATR_MALFORMED;
        out->tck_present = true;
        for (size_t i = 1; i <= pos; i++)
            x ^= atr[i];
        out->tck_valid = (x == 0);
        pos++;
    }
    out->len = pos;
    out->contactless =
        !out->inverse && (atr[1] & 0xF0) == 0x80 && len >= 4 && atr[2] == 0x80 && atr[3] == 0x01;
    if (pos != len)
        return CL_E_ATR_MALFORMED;
    if (out->tck_present && !out->tck_valid)
        return CL_E_ATR_MALFORMED;
    return CL_OK;
}

const char *cl_atr_protocols(const struct cl_atr *atr, char *buf, size_t cap)
{
    size_t used = 0;

    if (!buf || cap == 0)
        return buf;
    buf[0] = '\0';
    for (unsigned t = 0; t < 15; t++) {
        int n;

        if (!(atr->protocols & (1u << t)))
            continue;
        n = snprintf(buf + used, cap - used, "%sT=%u", used ? "," : "", t);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    return buf;
}
