/* BER-TLV parsing without allocation, because every card object arrives as TLV and is hostile. */
#include "cl/tlv.h"

#include <string.h>

static cl_rc read_tag(struct hm_cursor *c, uint32_t *tag, uint8_t *tag_len, bool *constructed)
{
    uint8_t b;
    uint32_t t;
    uint8_t n = 1;

    if (!hm_cursor_u8(c, &b))
        return CL_E_TLV_TRUNCATED;
    t = b;
    *constructed = (b & 0x20) != 0;
    if ((b & 0x1F) == 0x1F) {
        /* Subsequent bytes: bit 8 set means another byte follows. */
        do {
            if (n >= CL_TLV_MAX_TAG_BYTES)
                return CL_E_TLV_TAG_TOO_LONG;
            if (!hm_cursor_u8(c, &b))
                return CL_E_TLV_TRUNCATED;
            t = t << 8 | b;
            n++;
        } while (b & 0x80);
    }
    *tag = t;
    *tag_len = n;
    return CL_OK;
}

static cl_rc read_len(struct hm_cursor *c, size_t *len)
{
    uint8_t b;
    size_t v = 0;

    if (!hm_cursor_u8(c, &b))
        return CL_E_TLV_TRUNCATED;
    if (b < 0x80) {
        *len = b;
        return CL_OK;
    }
    if (b == 0x80 || b > 0x84)
        return CL_E_TLV_BAD_LENGTH; /* indefinite form, or more than 4 length bytes */
    for (uint8_t i = 0; i < (b & 0x7F); i++) {
        uint8_t x;

        if (!hm_cursor_u8(c, &x))
            return CL_E_TLV_TRUNCATED;
        v = v << 8 | x;
    }
    if (v > CL_TLV_MAX_LEN)
        return CL_E_TLV_TOO_LARGE;
    *len = v;
    return CL_OK;
}

cl_rc cl_tlv_next(struct hm_cursor *c, struct cl_tlv *out)
{
    struct hm_cursor work = *c;
    struct cl_tlv t;
    cl_rc rc;

    memset(&t, 0, sizeof(t));
    t.raw = work.p;
    rc = read_tag(&work, &t.tag, &t.tag_len, &t.constructed);
    if (rc != CL_OK)
        return rc;
    rc = read_len(&work, &t.len);
    if (rc != CL_OK)
        return rc;
    if (!hm_cursor_bytes(&work, t.len, &t.value))
        return CL_E_TLV_TRUNCATED;
    t.raw_len = (size_t)(work.p - t.raw);
    *c = work;
    *out = t;
    return CL_OK;
}

cl_rc cl_tlv_parse_one(const uint8_t *p, size_t n, struct cl_tlv *out)
{
    struct hm_cursor c = hm_cursor_make(p, n);
    cl_rc rc = cl_tlv_next(&c, out);

    if (rc != CL_OK)
        return rc;
    if (!hm_cursor_empty(&c))
        return CL_E_TLV_TRAILING;
    return CL_OK;
}

cl_rc cl_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *out)
{
    struct hm_cursor c = hm_cursor_make(p, n);

    while (!hm_cursor_empty(&c)) {
        struct cl_tlv t;
        cl_rc rc = cl_tlv_next(&c, &t);

        if (rc != CL_OK)
            return rc;
        if (t.tag == tag) {
            *out = t;
            return CL_OK;
        }
    }
    return CL_E_TLV_NOT_FOUND;
}

cl_rc cl_tlv_find_path(const uint8_t *p, size_t n, const uint32_t *path, size_t depth,
                       struct cl_tlv *out)
{
    struct cl_tlv t;

    if (depth == 0 || depth > CL_TLV_MAX_DEPTH)
        return CL_E_INVALID_ARG;
    for (size_t i = 0; i < depth; i++) {
        cl_rc rc = cl_tlv_find(p, n, path[i], &t);

        if (rc != CL_OK)
            return rc;
        if (i + 1 < depth && !t.constructed)
            return CL_E_TLV_NOT_FOUND;
        p = t.value;
        n = t.len;
    }
    *out = t;
    return CL_OK;
}

static cl_rc find_deep(const uint8_t *p, size_t n, uint32_t tag, unsigned depth, struct cl_tlv *out)
{
    struct hm_cursor c = hm_cursor_make(p, n);

    if (depth > CL_TLV_MAX_DEPTH)
        return CL_E_TLV_TOO_DEEP;
    while (!hm_cursor_empty(&c)) {
        struct cl_tlv t;
        cl_rc rc = cl_tlv_next(&c, &t);

        if (rc != CL_OK)
            return rc;
        if (t.tag == tag) {
            *out = t;
            return CL_OK;
        }
        if (t.constructed) {
            rc = find_deep(t.value, t.len, tag, depth + 1, out);
            if (rc != CL_E_TLV_NOT_FOUND)
                return rc;
        }
    }
    return CL_E_TLV_NOT_FOUND;
}

cl_rc cl_tlv_find_deep(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *out)
{
    return find_deep(p, n, tag, 1, out);
}

static cl_rc validate(const uint8_t *p, size_t n, unsigned depth, unsigned max_depth)
{
    struct hm_cursor c = hm_cursor_make(p, n);

    if (depth > max_depth)
        return CL_E_TLV_TOO_DEEP;
    while (!hm_cursor_empty(&c)) {
        struct cl_tlv t;
        cl_rc rc = cl_tlv_next(&c, &t);

        if (rc != CL_OK)
            return rc;
        if (t.constructed && t.len > 0) {
            rc = validate(t.value, t.len, depth + 1, max_depth);
            if (rc != CL_OK)
                return rc;
        }
    }
    return CL_OK;
}

cl_rc cl_tlv_validate(const uint8_t *p, size_t n, unsigned max_depth)
{
    if (max_depth == 0 || max_depth > CL_TLV_MAX_DEPTH)
        max_depth = CL_TLV_MAX_DEPTH;
    return validate(p, n, 1, max_depth);
}

static size_t tag_size(uint32_t tag)
{
    if (tag > 0xFFFF)
        return 3;
    if (tag > 0xFF)
        return 2;
    return 1;
}

static size_t len_size(size_t len)
{
    if (len < 0x80)
        return 1;
    if (len <= 0xFF)
        return 2;
    if (len <= 0xFFFF)
        return 3;
    if (len <= 0xFFFFFF)
        return 4;
    return 5;
}

size_t cl_tlv_header_size(uint32_t tag, size_t len)
{
    return tag_size(tag) + len_size(len);
}

void cl_tlv_put_header(struct hm_writer *w, uint32_t tag, size_t len)
{
    size_t ts = tag_size(tag);
    size_t ls = len_size(len);

    for (size_t i = ts; i-- > 0;)
        hm_writer_u8(w, (uint8_t)(tag >> (8 * i)));
    if (ls == 1) {
        hm_writer_u8(w, (uint8_t)len);
        return;
    }
    hm_writer_u8(w, (uint8_t)(0x80 | (ls - 1)));
    for (size_t i = ls - 1; i-- > 0;)
        hm_writer_u8(w, (uint8_t)(len >> (8 * i)));
}

void cl_tlv_put(struct hm_writer *w, uint32_t tag, const void *value, size_t len)
{
    cl_tlv_put_header(w, tag, len);
    hm_writer_bytes(w, value, len);
}
