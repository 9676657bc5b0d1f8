/* The bounds-checked byte cursor and writer that every parser and encoder uses. */
#include "hm/cursor.h"

#include <string.h>

bool hm_cursor_u8(struct hm_cursor *c, uint8_t *out)
{
    if (c->left < 1)
        return false;
    *out = c->p[0];
    c->p++;
    c->left--;
    return true;
}

bool hm_cursor_peek_u8(const struct hm_cursor *c, uint8_t *out)
{
    if (c->left < 1)
        return false;
    *out = c->p[0];
    return true;
}

bool hm_cursor_be16(struct hm_cursor *c, uint16_t *out)
{
    if (c->left < 2)
        return false;
    *out = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
    c->p += 2;
    c->left -= 2;
    return true;
}

bool hm_cursor_be24(struct hm_cursor *c, uint32_t *out)
{
    if (c->left < 3)
        return false;
    *out = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
    c->p += 3;
    c->left -= 3;
    return true;
}

bool hm_cursor_be32(struct hm_cursor *c, uint32_t *out)
{
    if (c->left < 4)
        return false;
    *out = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    c->left -= 4;
    return true;
}

bool hm_cursor_skip(struct hm_cursor *c, size_t n)
{
    if (c->left < n)
        return false;
    c->p += n;
    c->left -= n;
    return true;
}

bool hm_cursor_bytes(struct hm_cursor *c, size_t n, const uint8_t **out)
{
    if (c->left < n)
        return false;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return true;
}

bool hm_cursor_copy(struct hm_cursor *c, void *dst, size_t n)
{
    if (c->left < n)
        return false;
    if (n)
        memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

bool hm_cursor_sub(struct hm_cursor *c, size_t n, struct hm_cursor *sub)
{
    if (c->left < n)
        return false;
    sub->p = c->p;
    sub->left = n;
    c->p += n;
    c->left -= n;
    return true;
}

static bool writer_room(struct hm_writer *w, size_t n)
{
    if (w->overflow || n > w->cap - w->len || w->len > w->cap) {
        w->overflow = true;
        /* Keep counting so a caller can learn the size it needs. */
        if (w->len <= SIZE_MAX - n)
            w->len += n;
        return false;
    }
    return true;
}

void hm_writer_u8(struct hm_writer *w, uint8_t v)
{
    if (!writer_room(w, 1))
        return;
    w->p[w->len++] = v;
}

void hm_writer_be16(struct hm_writer *w, uint16_t v)
{
    if (!writer_room(w, 2))
        return;
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}

void hm_writer_be32(struct hm_writer *w, uint32_t v)
{
    if (!writer_room(w, 4))
        return;
    w->p[w->len++] = (uint8_t)(v >> 24);
    w->p[w->len++] = (uint8_t)(v >> 16);
    w->p[w->len++] = (uint8_t)(v >> 8);
    w->p[w->len++] = (uint8_t)v;
}

void hm_writer_bytes(struct hm_writer *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (!writer_room(w, n))
        return;
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

void hm_writer_fill(struct hm_writer *w, uint8_t v, size_t n)
{
    if (n == 0)
        return;
    if (!writer_room(w, n))
        return;
    memset(w->p + w->len, v, n);
    w->len += n;
}
