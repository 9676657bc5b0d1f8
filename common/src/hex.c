/* Hex conversion for APDU tools, fixtures and logs. */
#include "hm/hex.h"

bool hm_hex_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";

    if (n > (SIZE_MAX - 1) / 2 || cap < 2 * n + 1) {
        if (cap)
            out[0] = 0;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool hm_hex_decode(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    int hi = -1;

    for (; *s; s++) {
        int v;

        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ':') {
            if (hi >= 0)
                return false; /* a separator inside a byte */
            continue;
        }
        v = hex_value(*s);
        if (v < 0)
            return false;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return false;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return false;
    *outlen = n;
    return true;
}
