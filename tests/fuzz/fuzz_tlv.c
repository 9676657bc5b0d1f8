/* Fuzz target for the BER-TLV parser: every entry point over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "cl/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hm_cursor c = hm_cursor_make(data, size);
    struct cl_tlv t;
    static const uint32_t path[] = { 0x7C, 0x82 };
    volatile uint8_t sink = 0;

    while (cl_tlv_next(&c, &t) == CL_OK) {
        /* Touch the first and last byte of every value to catch bad bounds. */
        if (t.len)
            sink ^= t.value[0] ^ t.value[t.len - 1];
        if (t.raw_len == 0)
            __builtin_trap();
    }
    (void)cl_tlv_validate(data, size, 0);
    if (cl_tlv_find_deep(data, size, 0x5FC102, &t) == CL_OK && t.len)
        sink ^= t.value[t.len - 1];
    if (cl_tlv_find_path(data, size, path, 2, &t) == CL_OK && t.len)
        sink ^= t.value[t.len - 1];
    (void)cl_tlv_parse_one(data, size, &t);
    (void)sink;
    return 0;
}
