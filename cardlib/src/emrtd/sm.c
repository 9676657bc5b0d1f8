/*
 * 3DES secure messaging of ICAO 9303 Part 11 §9.8 as a cl_sm_ops, so that
 * after BAC every APDU through cl_card_transmit() is protected and every
 * response is authenticated before any of it is used.
 */
#include "cl/emrtd.h"
#include "cl/tlv.h"
#include "crypto.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK 8

#define DO_CRYPTO_PI 0x87u /* padding-content indicator and cryptogram */
#define DO_CRYPTO    0x85u /* cryptogram (odd INS) */
#define DO_LE        0x97u
#define DO_STATUS    0x99u
#define DO_MAC       0x8Eu

#define PI_PADDED 0x01u /* padding indicator: ISO/IEC 9797-1 method 2 */

struct cl_emrtd_sm {
    struct cl_emrtd_session s;
    bool alive;
};

cl_rc cl_emrtd_sm_new(const struct cl_emrtd_session *s, cl_emrtd_sm **out)
{
    cl_emrtd_sm *sm;

    if (!s || !out)
        return CL_E_INVALID_ARG;
    sm = calloc(1, sizeof(*sm));
    if (!sm)
        return CL_E_NO_MEMORY;
    sm->s = *s;
    sm->alive = true;
    *out = sm;
    return CL_OK;
}

void cl_emrtd_sm_free(cl_emrtd_sm *sm)
{
    if (!sm)
        return;
    hm_wipe(sm, sizeof(*sm));
    free(sm);
}

void cl_emrtd_sm_ssc(const cl_emrtd_sm *sm, uint8_t ssc[CL_EMRTD_SSC_LEN])
{
    memcpy(ssc, sm->s.ssc, CL_EMRTD_SSC_LEN);
}

bool cl_emrtd_sm_alive(const cl_emrtd_sm *sm)
{
    return sm && sm->alive;
}

/* Bytes DO'97' takes for an Le (1 byte up to 256, else 2), or 0 without Le. */
static size_t le_bytes(size_t le)
{
    if (le == 0)
        return 0;
    return le <= CL_SHORT_LE_MAX ? 1 : 2;
}

cl_rc cl_emrtd_sm_wrap(cl_emrtd_sm *sm, const struct cl_apdu *plain, struct cl_apdu *out,
                       uint8_t *buf, size_t cap)
{
    bool odd;
    uint8_t tag;
    size_t enc_len = 0, vlen = 0, need = 0, lb;
    uint8_t hdr[BLOCK];
    uint8_t mac[CL_EMRTD_MAC_LEN];
    struct hm_writer w;
    struct cl_emrtd_iov iov[3];
    cl_rc rc;

    if (!sm || !plain || !out || !buf || (plain->lc && !plain->data) || plain->le > CL_EXT_LE_MAX ||
        plain->lc > CL_EXT_LC_MAX)
        return CL_E_INVALID_ARG;
    if (!sm->alive)
        return CL_E_SM_FAILED;
    if (plain->cla & 0x0C)
        return CL_E_INVALID_ARG; /* already protected, or a CLA we cannot express */
    odd = (plain->ins & 1) != 0;
    tag = odd ? DO_CRYPTO : DO_CRYPTO_PI;
    lb = le_bytes(plain->le);

    /* Everything is measured first so a failure leaves the SSC alone. */
    if (plain->lc) {
        enc_len = (plain->lc / BLOCK + 1) * BLOCK;
        vlen = enc_len + (odd ? 0 : 1);
        need += cl_tlv_header_size(tag, vlen) + vlen;
    }
    if (lb)
        need += 2 + lb;
    need += 2 + CL_EMRTD_MAC_LEN;
    if (need > cap)
        return CL_E_BUFFER_TOO_SMALL;

    w = hm_writer_make(buf, cap);
    if (plain->lc) {
        size_t start;

        cl_tlv_put_header(&w, tag, vlen);
        if (!odd)
            hm_writer_u8(&w, PI_PADDED);
        start = w.len;
        hm_writer_bytes(&w, plain->data, plain->lc);
        hm_writer_u8(&w, 0x80);
        hm_writer_fill(&w, 0x00, enc_len - plain->lc - 1);
        if (!hm_writer_ok(&w))
            return CL_E_BUFFER_TOO_SMALL;
        rc = cl_emrtd_tdes_cbc(sm->s.ks.enc, true, buf + start, enc_len, buf + start);
        if (rc != CL_OK) {
            hm_wipe(buf, w.len);
            return rc;
        }
    }
    if (lb) {
        hm_writer_u8(&w, DO_LE);
        hm_writer_u8(&w, (uint8_t)lb);
        if (lb == 1)
            hm_writer_u8(&w, (uint8_t)(plain->le & 0xFF)); /* 256 is 00 */
        else
            hm_writer_be16(&w, (uint16_t)(plain->le & 0xFFFF)); /* 65536 is 0000 */
    }

    hdr[0] = (uint8_t)(plain->cla | 0x0C);
    hdr[1] = plain->ins;
    hdr[2] = plain->p1;
    hdr[3] = plain->p2;
    hdr[4] = 0x80;
    memset(hdr + 5, 0, 3);
    cl_emrtd_ssc_inc(sm->s.ssc);
    iov[0] = (struct cl_emrtd_iov){ sm->s.ssc, CL_EMRTD_SSC_LEN };
    iov[1] = (struct cl_emrtd_iov){ hdr, BLOCK };
    iov[2] = (struct cl_emrtd_iov){ buf, w.len };
    rc = cl_emrtd_mac_iov(sm->s.ks.mac, iov, 3, mac);
    if (rc != CL_OK) {
        sm->alive = false;
        hm_wipe(buf, w.len);
        return rc;
    }
    cl_tlv_put(&w, DO_MAC, mac, sizeof(mac));
    if (!hm_writer_ok(&w))
        return CL_E_INTERNAL; /* measured above */

    memset(out, 0, sizeof(*out));
    out->cla = hdr[0];
    out->ins = plain->ins;
    out->p1 = plain->p1;
    out->p2 = plain->p2;
    out->data = buf;
    out->lc = w.len;
    /* Le' is 00 (or 0000): the response always carries at least DO'99' and DO'8E'. */
    out->le =
        (plain->le > CL_SHORT_LE_MAX || w.len > CL_SHORT_LC_MAX) ? CL_EXT_LE_MAX : CL_SHORT_LE_MAX;
    out->flags = plain->flags & ~(unsigned)CL_APDU_SENSITIVE;
    return CL_OK;
}

/* The status classes that promise data or success and so must be protected. */
static bool sw_needs_mac(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);

    return sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

/* Decrypts a cryptogram and removes its padding into out[0..cap). */
static cl_rc open_cryptogram(const cl_emrtd_sm *sm, const uint8_t *ct, size_t n, uint8_t *out,
                             size_t cap, size_t *out_len)
{
    uint8_t *tmp = NULL, *dst;
    size_t plen = 0;
    cl_rc rc;

    if (n == 0 || n % BLOCK != 0)
        return CL_E_SM_FAILED;
    if (cap >= n) {
        dst = out;
    } else {
        tmp = malloc(n);
        if (!tmp)
            return CL_E_NO_MEMORY;
        dst = tmp;
    }
    rc = cl_emrtd_tdes_cbc(sm->s.ks.enc, false, ct, n, dst);
    if (rc == CL_OK)
        rc = cl_emrtd_unpad(dst, n, &plen);
    if (rc == CL_OK && plen > cap)
        rc = CL_E_RAPDU_TOO_LONG;
    if (rc == CL_OK && dst != out && plen)
        memcpy(out, dst, plen);
    if (rc == CL_OK) {
        /* Clear the padding that was decrypted into the caller's buffer. */
        if (dst == out)
            hm_wipe(out + plen, n - plen);
        *out_len = plen;
    } else if (dst == out) {
        hm_wipe(out, n);
    }
    if (tmp) {
        hm_wipe(tmp, n);
        free(tmp);
    }
    return rc;
}

cl_rc cl_emrtd_sm_unwrap(cl_emrtd_sm *sm, const uint8_t *data, size_t len, uint16_t sw,
                         uint8_t *out, size_t cap, size_t *out_len, uint16_t *out_sw)
{
    struct hm_cursor c;
    struct cl_tlv t, dcrypt = { 0 }, dstatus = { 0 }, dmac = { 0 };
    bool have_crypt = false, have_status = false, have_mac = false;
    uint8_t mac[CL_EMRTD_MAC_LEN];
    struct cl_emrtd_iov iov[2];
    size_t mac_off = 0;
    cl_rc rc;

    if (!sm || (len && !data) || (cap && !out) || !out_len || !out_sw)
        return CL_E_INVALID_ARG;
    *out_len = 0;
    *out_sw = 0;
    if (!sm->alive)
        return CL_E_SM_FAILED;
    cl_emrtd_ssc_inc(sm->s.ssc);

    if (len == 0) {
        /* A bare status word: only a refusal may come without protection. */
        if (sw_needs_mac(sw)) {
            rc = CL_E_SM_MAC;
            goto out_fail;
        }
        if (sw == 0x6987 || sw == 0x6988)
            sm->alive = false; /* the chip has ended the session */
        *out_sw = sw;
        return CL_OK;
    }

    /* Find the DOs. Nothing in them is used until the MAC has been checked. */
    c = hm_cursor_make(data, len);
    while (!hm_cursor_empty(&c)) {
        if (cl_tlv_next(&c, &t) != CL_OK || have_mac) {
            rc = CL_E_SM_MAC; /* unparsable, or something after DO'8E' */
            goto out_fail;
        }
        if ((t.tag == DO_CRYPTO_PI || t.tag == DO_CRYPTO) && !have_crypt) {
            dcrypt = t;
            have_crypt = true;
        } else if (t.tag == DO_STATUS && !have_status) {
            dstatus = t;
            have_status = true;
        } else if (t.tag == DO_MAC) {
            dmac = t;
            have_mac = true;
            mac_off = (size_t)(t.raw - data);
        } else {
            rc = CL_E_SM_MAC; /* unknown or repeated DO: not a response we can check */
            goto out_fail;
        }
    }
    if (!have_mac || dmac.len != CL_EMRTD_MAC_LEN) {
        rc = CL_E_SM_MAC;
        goto out_fail;
    }
    iov[0] = (struct cl_emrtd_iov){ sm->s.ssc, CL_EMRTD_SSC_LEN };
    iov[1] = (struct cl_emrtd_iov){ data, mac_off };
    rc = cl_emrtd_mac_iov(sm->s.ks.mac, iov, 2, mac);
    if (rc != CL_OK)
        goto out_fail;
    if (!hm_ct_equal(mac, dmac.value, CL_EMRTD_MAC_LEN)) {
        rc = CL_E_SM_MAC;
        goto out_fail;
    }

    /* Authenticated: now the contents may be read. */
    if (!have_status || dstatus.len != 2) {
        rc = CL_E_SM_FAILED;
        goto out_fail;
    }
    if (have_crypt) {
        const uint8_t *ct = dcrypt.value;
        size_t n = dcrypt.len;

        if (dcrypt.tag == DO_CRYPTO_PI) {
            if (n < 1 || ct[0] != PI_PADDED) {
                rc = CL_E_SM_FAILED;
                goto out_fail;
            }
            ct++;
            n--;
        }
        rc = open_cryptogram(sm, ct, n, out, cap, out_len);
        if (rc == CL_E_RAPDU_TOO_LONG || rc == CL_E_NO_MEMORY)
            return rc; /* the caller's problem, not the session's */
        if (rc != CL_OK)
            goto out_fail;
    }
    *out_sw = (uint16_t)(dstatus.value[0] << 8 | dstatus.value[1]);
    return CL_OK;

out_fail:
    sm->alive = false;
    *out_len = 0;
    return rc;
}

static cl_rc ops_wrap(void *sm, const struct cl_apdu *plain, struct cl_apdu *out, uint8_t *buf,
                      size_t cap)
{
    return cl_emrtd_sm_wrap(sm, plain, out, buf, cap);
}

static cl_rc ops_unwrap(void *sm, const uint8_t *data, size_t len, uint16_t sw, uint8_t *out,
                        size_t cap, size_t *out_len, uint16_t *out_sw)
{
    return cl_emrtd_sm_unwrap(sm, data, len, sw, out, cap, out_len, out_sw);
}

static void ops_free(void *sm)
{
    cl_emrtd_sm_free(sm);
}

const struct cl_sm_ops cl_emrtd_sm_ops = {
    .wrap = ops_wrap,
    .unwrap = ops_unwrap,
    .free = ops_free,
};

cl_rc cl_emrtd_sm_install(cl_card *card, const struct cl_emrtd_session *s)
{
    cl_emrtd_sm *sm;
    cl_rc rc;

    if (!card || !s)
        return CL_E_INVALID_ARG;
    rc = cl_emrtd_sm_new(s, &sm);
    if (rc != CL_OK)
        return rc;
    cl_card_set_sm(card, &cl_emrtd_sm_ops, sm);
    return CL_OK;
}
