/*
 * Selecting and reading the LDS elementary files, which arrive in pieces
 * (READ BINARY by offset) and announce their own length in their first bytes.
 */
#include "cl/emrtd.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <stdlib.h>
#include <string.h>

#define SHORT_OFFSET_MAX 0x7FFFu   /* READ BINARY B0: offset in 15 bits of P1-P2 */
#define ODD_OFFSET_MAX   0xFFFFFFu /* READ BINARY B1: offset in DO'54', at most 3 bytes here */
#define HEAD_READ        4u        /* tag and length of an LDS file fit in 4 bytes */
#define HEAD_MAX         8u        /* longest header we accept: 3-byte tag, 4-byte length */

cl_rc cl_emrtd_select_ef(cl_card *card, uint16_t fid)
{
    uint8_t id[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    struct cl_apdu a = { .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = id, .lc = 2 };
    uint8_t r[2];
    size_t n;

    if (!card)
        return CL_E_INVALID_ARG;
    return cl_card_command(card, &a, r, sizeof(r), &n);
}

/* 9000, or 6282 (the end of the file came first), keep the data; anything else is an error. */
static cl_rc read_sw(uint16_t sw)
{
    return sw == 0x6282 ? CL_OK : cl_sw_to_rc(sw);
}

static cl_rc read_short(cl_card *card, size_t offset, size_t n, uint8_t *out, size_t *got)
{
    struct cl_apdu a = {
        .ins = 0xB0, .p1 = (uint8_t)(offset >> 8), .p2 = (uint8_t)offset, .le = n
    };
    uint16_t sw;
    cl_rc rc = cl_card_transmit(card, &a, out, n, got, &sw);

    return rc != CL_OK ? rc : read_sw(sw);
}

/* INS B1: the offset goes in DO'54', the data comes back in DO'53'. */
static cl_rc read_odd(cl_card *card, size_t offset, size_t n, uint8_t *out, size_t *got)
{
    uint8_t cmd[5];
    size_t cap = n + cl_tlv_header_size(0x53, n), len = 0;
    struct cl_apdu a = { .ins = 0xB1, .data = cmd };
    struct hm_writer w = hm_writer_make(cmd, sizeof(cmd));
    struct cl_tlv t;
    uint8_t *tmp;
    uint16_t sw;
    cl_rc rc;

    hm_writer_u8(&w, 0x54);
    if (offset <= 0xFFFF) {
        hm_writer_u8(&w, 2);
        hm_writer_be16(&w, (uint16_t)offset);
    } else {
        hm_writer_u8(&w, 3);
        hm_writer_u8(&w, (uint8_t)(offset >> 16));
        hm_writer_be16(&w, (uint16_t)offset);
    }
    a.lc = w.len;
    a.le = cap > CL_EXT_LE_MAX ? CL_EXT_LE_MAX : cap;
    tmp = malloc(cap);
    if (!tmp)
        return CL_E_NO_MEMORY;
    rc = cl_card_transmit(card, &a, tmp, cap, &len, &sw);
    if (rc == CL_OK)
        rc = read_sw(sw);
    if (rc == CL_OK && len == 0) {
        *got = 0;
    } else if (rc == CL_OK) {
        if (cl_tlv_parse_one(tmp, len, &t) != CL_OK || t.tag != 0x53 || t.len > n) {
            rc = CL_E_DATA_MALFORMED;
        } else {
            memcpy(out, t.value, t.len);
            *got = t.len;
        }
    }
    hm_wipe(tmp, cap);
    free(tmp);
    return rc;
}

cl_rc cl_emrtd_read_binary(cl_card *card, size_t offset, size_t n, uint8_t *out, size_t *got)
{
    if (!card || (n && !out) || !got || n > CL_EXT_LE_MAX || offset > ODD_OFFSET_MAX)
        return CL_E_INVALID_ARG;
    *got = 0;
    if (n == 0)
        return CL_OK;
    if (offset <= SHORT_OFFSET_MAX)
        return read_short(card, offset, n, out, got);
    return read_odd(card, offset, n, out, got);
}

/*
 * Reads the tag and length at the start of a file from p[0..n): *hlen is the
 * header's size and *vlen the value's. CL_E_TLV_TRUNCATED when more bytes are
 * needed to tell.
 */
static cl_rc parse_head(const uint8_t *p, size_t n, size_t *hlen, size_t *vlen)
{
    struct hm_cursor c = hm_cursor_make(p, n);
    uint8_t b, lb;
    size_t v = 0;

    if (!hm_cursor_u8(&c, &b))
        return CL_E_TLV_TRUNCATED;
    if (b == 0x00 || b == 0xFF)
        return CL_E_DATA_MALFORMED; /* not a tag: an empty or erased file */
    if ((b & 0x1F) == 0x1F) {
        unsigned more = 0;

        do {
            if (++more >= CL_TLV_MAX_TAG_BYTES)
                return CL_E_DATA_MALFORMED;
            if (!hm_cursor_u8(&c, &b))
                return CL_E_TLV_TRUNCATED;
        } while (b & 0x80);
    }
    if (!hm_cursor_u8(&c, &lb))
        return CL_E_TLV_TRUNCATED;
    if (lb < 0x80) {
        v = lb;
    } else {
        if (lb == 0x80 || lb > 0x84)
            return CL_E_DATA_MALFORMED;
        for (uint8_t i = 0; i < (lb & 0x7F); i++) {
            uint8_t x;

            if (!hm_cursor_u8(&c, &x))
                return CL_E_TLV_TRUNCATED;
            v = v << 8 | x;
        }
    }
    *hlen = n - hm_cursor_left(&c);
    *vlen = v;
    return CL_OK;
}

cl_rc cl_emrtd_read_file(cl_card *card, uint16_t fid, struct hm_buf *out)
{
    uint8_t head[HEAD_MAX];
    uint8_t *chunk = NULL;
    size_t have = 0, got = 0, hlen = 0, vlen = 0, total, max;
    cl_rc rc;

    if (!card || !out)
        return CL_E_INVALID_ARG;
    hm_buf_reset(out);
    rc = cl_emrtd_select_ef(card, fid);
    if (rc != CL_OK)
        return rc;

    /* The header: 4 bytes, and a few more if the tag or the length is long. */
    for (;;) {
        size_t want = have == 0 ? HEAD_READ : HEAD_MAX - have;

        rc = cl_emrtd_read_binary(card, have, want, head + have, &got);
        if (rc != CL_OK)
            goto out_wipe;
        have += got;
        rc = parse_head(head, have, &hlen, &vlen);
        if (rc != CL_E_TLV_TRUNCATED)
            break;
        if (got < want || have >= HEAD_MAX) {
            rc = CL_E_END_OF_FILE; /* the file ends inside its own header */
            goto out_wipe;
        }
    }
    if (rc != CL_OK)
        goto out_wipe;
    max = out->max < CL_EMRTD_FILE_MAX ? out->max : CL_EMRTD_FILE_MAX;
    if (vlen > max || hlen + vlen > max) {
        rc = CL_E_BUFFER_TOO_SMALL;
        goto out_wipe;
    }
    total = hlen + vlen;
    if (!hm_buf_add(out, head, have < total ? have : total)) {
        rc = CL_E_NO_MEMORY;
        goto out_wipe;
    }

    chunk = malloc(CL_EMRTD_READ_CHUNK);
    if (!chunk) {
        rc = CL_E_NO_MEMORY;
        goto out_wipe;
    }
    while (out->len < total) {
        size_t want = total - out->len;

        if (want > CL_EMRTD_READ_CHUNK)
            want = CL_EMRTD_READ_CHUNK;
        rc = cl_emrtd_read_binary(card, out->len, want, chunk, &got);
        if (rc != CL_OK)
            goto out_wipe;
        if (got == 0) {
            rc = CL_E_END_OF_FILE;
            goto out_wipe;
        }
        if (!hm_buf_add(out, chunk, got)) {
            rc = CL_E_NO_MEMORY;
            goto out_wipe;
        }
    }
out_wipe:
    hm_wipe(head, sizeof(head));
    if (chunk) {
        hm_wipe(chunk, CL_EMRTD_READ_CHUNK);
        free(chunk);
    }
    if (rc != CL_OK)
        hm_buf_reset(out);
    return rc;
}
