/*
 * Bounds-checked reading and writing of byte strings.
 *
 * Every parser of bytes from a card, a peer or a file reads through a
 * struct hm_cursor. A read either succeeds and advances the cursor, or fails
 * (returns false) and leaves the cursor exactly where it was.
 *
 * struct hm_writer is the matching encoder over caller memory: writes past
 * the capacity set a sticky overflow flag instead of touching memory, so an
 * encoder can write everything and check hm_writer_ok() once at the end.
 */
#ifndef HM_CURSOR_H
#define HM_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hm_cursor {
    const uint8_t *p; /* next unread byte */
    size_t left;      /* bytes left to read */
};

static inline struct hm_cursor hm_cursor_make(const void *p, size_t n)
{
    struct hm_cursor c = { (const uint8_t *)p, p ? n : 0 };
    return c;
}

static inline size_t hm_cursor_left(const struct hm_cursor *c)
{
    return c->left;
}

static inline bool hm_cursor_empty(const struct hm_cursor *c)
{
    return c->left == 0;
}

bool hm_cursor_u8(struct hm_cursor *c, uint8_t *out);
bool hm_cursor_peek_u8(const struct hm_cursor *c, uint8_t *out);
bool hm_cursor_be16(struct hm_cursor *c, uint16_t *out);
bool hm_cursor_be24(struct hm_cursor *c, uint32_t *out);
bool hm_cursor_be32(struct hm_cursor *c, uint32_t *out);
bool hm_cursor_skip(struct hm_cursor *c, size_t n);
/* Borrows n bytes: *out points into the cursor's buffer. */
bool hm_cursor_bytes(struct hm_cursor *c, size_t n, const uint8_t **out);
/* Copies n bytes into dst. */
bool hm_cursor_copy(struct hm_cursor *c, void *dst, size_t n);
/* Splits the next n bytes off into *sub and advances past them. */
bool hm_cursor_sub(struct hm_cursor *c, size_t n, struct hm_cursor *sub);

struct hm_writer {
    uint8_t *p;    /* start of the caller's buffer (may be NULL to measure) */
    size_t cap;    /* its capacity */
    size_t len;    /* bytes written, or that would have been written */
    bool overflow; /* set once a write did not fit */
};

static inline struct hm_writer hm_writer_make(void *p, size_t cap)
{
    struct hm_writer w = { (uint8_t *)p, p ? cap : 0, 0, false };
    return w;
}

static inline bool hm_writer_ok(const struct hm_writer *w)
{
    return !w->overflow;
}

void hm_writer_u8(struct hm_writer *w, uint8_t v);
void hm_writer_be16(struct hm_writer *w, uint16_t v);
void hm_writer_be32(struct hm_writer *w, uint32_t v);
void hm_writer_bytes(struct hm_writer *w, const void *p, size_t n);
/* Fills n bytes with v. */
void hm_writer_fill(struct hm_writer *w, uint8_t v, size_t n);

#endif
