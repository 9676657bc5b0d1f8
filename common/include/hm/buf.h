/*
 * A growable byte buffer with a hard maximum size (after curl's dynbuf).
 *
 * hm_buf_init() sets the maximum; an append that would pass it fails with
 * false and leaves the buffer as it was. A buffer marked secret is wiped
 * before its memory is freed or moved. hm_buf_free() on a zeroed or already
 * freed buffer is a no-op.
 */
#ifndef HM_BUF_H
#define HM_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hm_buf {
    uint8_t *data; /* NUL-terminated when not NULL, for text use */
    size_t len;
    size_t alloc;
    size_t max;
    bool secret;
};

void hm_buf_init(struct hm_buf *b, size_t max);
void hm_buf_init_secret(struct hm_buf *b, size_t max);
void hm_buf_free(struct hm_buf *b);
void hm_buf_reset(struct hm_buf *b);
bool hm_buf_add(struct hm_buf *b, const void *p, size_t n);
/*
 * Room for n more bytes (and the NUL) without changing len, for a writer
 * that fills data + len itself and then sets len (below max, and keeping
 * the NUL after it). False when n would pass max or memory runs out.
 */
bool hm_buf_reserve(struct hm_buf *b, size_t n);
bool hm_buf_add_u8(struct hm_buf *b, uint8_t v);
bool hm_buf_add_str(struct hm_buf *b, const char *s);
bool hm_buf_addf(struct hm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool hm_buf_vaddf(struct hm_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Hands the memory to the caller (who frees it with free()); the buffer is emptied. */
uint8_t *hm_buf_take(struct hm_buf *b, size_t *len);

#endif
