/*
 * BER-TLV (ISO/IEC 7816-4 §6.3, X.690 subset) over a bounds-checked cursor.
 *
 * The parser never allocates: a struct cl_tlv points into the caller's
 * buffer. Tags are up to CL_TLV_MAX_TAG_BYTES bytes and are returned as the
 * big-endian number of their bytes (5F C1 02 -> 0x5FC102). Lengths use the
 * short form or the long form with 1-4 bytes; the indefinite form is an
 * error. Values over CL_TLV_MAX_LEN and nesting deeper than
 * CL_TLV_MAX_DEPTH are refused.
 */
#ifndef CL_TLV_H
#define CL_TLV_H

#include "cl/error.h"
#include "hm/cursor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_TLV_MAX_TAG_BYTES 3
#define CL_TLV_MAX_LEN       (1u << 24) /* 16 MiB: no card object is larger */
#define CL_TLV_MAX_DEPTH     16

struct cl_tlv {
    uint32_t tag;         /* the tag bytes as a number */
    uint8_t tag_len;      /* 1..CL_TLV_MAX_TAG_BYTES */
    bool constructed;     /* bit 6 of the first tag byte */
    const uint8_t *value; /* points into the parsed buffer */
    size_t len;           /* value length */
    const uint8_t *raw;   /* the first tag byte */
    size_t raw_len;       /* tag + length + value */
};

/* Reads the next TLV object and advances the cursor past it (only on success). */
cl_rc cl_tlv_next(struct hm_cursor *c, struct cl_tlv *out);

/* Parses exactly one object filling all n bytes (trailing bytes: CL_E_TLV_TRAILING). */
cl_rc cl_tlv_parse_one(const uint8_t *p, size_t n, struct cl_tlv *out);

/* Finds the first object with the tag among the objects in p[0..n) (no descent). */
cl_rc cl_tlv_find(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *out);

/*
 * Descends through constructed objects along path[0..depth): path[0] is found
 * among the top-level objects of p, path[1] inside its value, and so on.
 */
cl_rc cl_tlv_find_path(const uint8_t *p, size_t n, const uint32_t *path, size_t depth,
                       struct cl_tlv *out);

/* Depth-first search for the first object with the tag at any depth. */
cl_rc cl_tlv_find_deep(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *out);

/*
 * Checks that p[0..n) is a sequence of well-formed objects and that every
 * constructed value is itself well-formed, to at most max_depth levels
 * (at most CL_TLV_MAX_DEPTH).
 */
cl_rc cl_tlv_validate(const uint8_t *p, size_t n, unsigned max_depth);

/* Encoding: writes a tag and a minimal length; then the caller writes the value. */
void cl_tlv_put_header(struct hm_writer *w, uint32_t tag, size_t len);
/* Writes a whole primitive or pre-encoded constructed object. */
void cl_tlv_put(struct hm_writer *w, uint32_t tag, const void *value, size_t len);
/* Bytes the header for (tag, len) takes. */
size_t cl_tlv_header_size(uint32_t tag, size_t len);

#endif
