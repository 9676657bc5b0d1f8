/* Hexadecimal encoding and decoding of byte strings. */
#ifndef HM_HEX_H
#define HM_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes 2*n hex digits (upper case) and a NUL into out. Returns false, and
 * writes an empty string when cap > 0, if cap < 2*n + 1.
 */
bool hm_hex_encode(const uint8_t *p, size_t n, char *out, size_t cap);

/*
 * Decodes hex digits into out. Spaces, tabs, newlines and ':' between byte
 * pairs are ignored. Fails on an odd number of digits, any other character,
 * or when the result does not fit in cap bytes.
 */
bool hm_hex_decode(const char *s, uint8_t *out, size_t cap, size_t *outlen);

#endif
