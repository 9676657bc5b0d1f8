/* A growable byte buffer with a hard maximum, so no input can make us allocate without bound. */
#include "hm/buf.h"
#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hm_buf_init(struct hm_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void hm_buf_init_secret(struct hm_buf *b, size_t max)
{
    hm_buf_init(b, max);
    b->secret = true;
}

void hm_buf_free(struct hm_buf *b)
{
    if (!b->data)
        return;
    if (b->secret)
        hm_wipe(b->data, b->alloc);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void hm_buf_reset(struct hm_buf *b)
{
    if (b->data) {
        if (b->secret)
            hm_wipe(b->data, b->len);
        b->data[0] = 0;
    }
    b->len = 0;
}

static bool buf_grow(struct hm_buf *b, size_t need)
{
    size_t want;
    uint8_t *p;

    /* need counts the terminating NUL as well. */
    if (need <= b->alloc)
        return true;
    want = b->alloc ? b->alloc : 64;
    while (want < need) {
        if (want > SIZE_MAX / 2)
            return false;
        want *= 2;
    }
    if (want > b->max + 1)
        want = b->max + 1;
    if (b->secret) {
        /* Never leave a copy of a secret behind in freed memory. */
        p = malloc(want);
        if (!p)
            return false;
        if (b->data) {
            memcpy(p, b->data, b->len + 1);
            hm_wipe(b->data, b->alloc);
            free(b->data);
        }
    } else {
        p = realloc(b->data, want);
        if (!p)
            return false;
    }
    b->data = p;
    b->alloc = want;
    return true;
}

bool hm_buf_add(struct hm_buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return false;
    if (!buf_grow(b, b->len + n + 1))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return true;
}

bool hm_buf_reserve(struct hm_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return false;
    return buf_grow(b, b->len + n + 1);
}

bool hm_buf_add_u8(struct hm_buf *b, uint8_t v)
{
    return hm_buf_add(b, &v, 1);
}

bool hm_buf_add_str(struct hm_buf *b, const char *s)
{
    return hm_buf_add(b, s, strlen(s));
}

bool hm_buf_vaddf(struct hm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    size_t need;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return false;
    need = (size_t)n;
    if (need > b->max || b->len > b->max - need)
        return false;
    if (!buf_grow(b, b->len + need + 1))
        return false;
    vsnprintf((char *)b->data + b->len, need + 1, fmt, ap);
    b->len += need;
    return true;
}

bool hm_buf_addf(struct hm_buf *b, const char *fmt, ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = hm_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return ok;
}

uint8_t *hm_buf_take(struct hm_buf *b, size_t *len)
{
    uint8_t *p = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}
