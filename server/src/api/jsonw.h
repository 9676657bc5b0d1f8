/*
 * A JSON writer for the signed answers the server makes most (status):
 * values go straight into a buffer, without building a tree first (jansson
 * spends more on building and dumping a 4 kB status than ECDSA spends on
 * signing it). Strings must be valid UTF-8 and are escaped as RFC 8259
 * requires; anything else sets the writer's error, which sticks: check
 * hs_jw_ok() once at the end (a string needs room for six times its length
 * in the buffer while it is written). Members come out in the order they are
 * written. Parsing stays jansson's.
 */
#ifndef HS_API_JSONW_H
#define HS_API_JSONW_H

#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_JW_DEPTH 16

struct hs_jw {
    struct hm_buf *out;
    bool err;
    int depth;
    bool need_comma[HS_JW_DEPTH + 1];
    bool after_key; /* a key was written: the next value follows its colon */
};

/* Starts writing into out (appended to). */
void hs_jw_init(struct hs_jw *w, struct hm_buf *out);
bool hs_jw_ok(const struct hs_jw *w);

void hs_jw_obj(struct hs_jw *w); /* { */
void hs_jw_end_obj(struct hs_jw *w);
void hs_jw_arr(struct hs_jw *w); /* [ */
void hs_jw_end_arr(struct hs_jw *w);
/* A member's name inside an object; its value is written next. */
void hs_jw_key(struct hs_jw *w, const char *key);

void hs_jw_str(struct hs_jw *w, const char *s); /* NULL writes null */
void hs_jw_int(struct hs_jw *w, int64_t v);
void hs_jw_bool(struct hs_jw *w, bool v);
void hs_jw_null(struct hs_jw *w);

/* A member in one call. */
void hs_jw_kstr(struct hs_jw *w, const char *key, const char *s);
void hs_jw_kint(struct hs_jw *w, const char *key, int64_t v);
void hs_jw_kbool(struct hs_jw *w, const char *key, bool v);

/* True when p..p+n is valid UTF-8 (RFC 3629: no overlongs, surrogates or values past U+10FFFF). */
bool hs_jw_utf8_valid(const uint8_t *p, size_t n);

#endif
