/* Writes JSON text directly into a buffer, for the hot signed answers (see jsonw.h). */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void hs_jw_init(struct hs_jw *w, struct hm_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

bool hs_jw_ok(const struct hs_jw *w)
{
    return !w->err && w->depth == 0 && !w->after_key;
}

static void put(struct hs_jw *w, const char *p, size_t n)
{
    if (!w->err && !hm_buf_add(w->out, p, n))
        w->err = true;
}

/* Before a value: the comma between array elements, nothing after a key. */
static void value_start(struct hs_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

static void open_(struct hs_jw *w, char c)
{
    value_start(w);
    if (w->depth == HS_JW_DEPTH) {
        w->err = true;
        return;
    }
    put(w, &c, 1);
    w->need_comma[++w->depth] = false;
}

static void close_(struct hs_jw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->err = true;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void hs_jw_obj(struct hs_jw *w)
{
    open_(w, '{');
}

void hs_jw_end_obj(struct hs_jw *w)
{
    close_(w, '}');
}

void hs_jw_arr(struct hs_jw *w)
{
    open_(w, '[');
}

void hs_jw_end_arr(struct hs_jw *w)
{
    close_(w, ']');
}

bool hs_jw_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1fu, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0fu, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07u, min = 0x10000;
        else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Bytes JSON strings need escaped: the control characters, '"' and '\\'. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* The escape of c (one of needs_escape's), written at o; returns its length. */
static size_t escape(unsigned char c, char *o)
{
    static const char hex[] = "0123456789ABCDEF";
    char short_form = c == '"'    ? '"'
                      : c == '\\' ? '\\'
                      : c == '\n' ? 'n'
                      : c == '\r' ? 'r'
                      : c == '\t' ? 't'
                      : c == '\b' ? 'b'
                      : c == '\f' ? 'f'
                                  : 0;

    o[0] = '\\';
    if (short_form) {
        o[1] = short_form;
        return 2;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return 6;
}

/*
 * A quoted, escaped string, checked to be UTF-8 and written in one pass
 * into room reserved for the worst case (every byte a \u00XX escape).
 */
static void quoted(struct hs_jw *w, const char *s)
{
    size_t n = strlen(s);

    if (w->err)
        return;
    if (n > (SIZE_MAX - 2) / 6 || !hm_buf_reserve(w->out, 6 * n + 2)) {
        w->err = true;
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *o0 = (char *)w->out->data + w->out->len, *o = o0;
    *o++ = '"';
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x80) {
            /* A multi-byte sequence: checked, then copied whole. */
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if ((size_t)(end - p) < len || !hs_jw_utf8_valid(p, len)) {
                w->err = true;
                w->out->data[w->out->len] = 0; /* nothing of it kept */
                return;
            }
            memcpy(o, p, len);
            o += len;
            p += len;
        } else if (needs_escape(c)) {
            o += escape(c, o);
            p++;
        } else {
            *o++ = (char)c;
            p++;
        }
    }
    *o++ = '"';
    w->out->len += (size_t)(o - o0);
    w->out->data[w->out->len] = 0;
}

void hs_jw_key(struct hs_jw *w, const char *key)
{
    if (w->depth == 0 || w->after_key || !key) {
        w->err = true;
        return;
    }
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
    quoted(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

void hs_jw_str(struct hs_jw *w, const char *s)
{
    value_start(w);
    if (s)
        quoted(w, s);
    else
        put(w, "null", 4);
}

void hs_jw_int(struct hs_jw *w, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%" PRId64, v);

    value_start(w);
    put(w, t, (size_t)n);
}

void hs_jw_bool(struct hs_jw *w, bool v)
{
    value_start(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void hs_jw_null(struct hs_jw *w)
{
    value_start(w);
    put(w, "null", 4);
}

void hs_jw_kstr(struct hs_jw *w, const char *key, const char *s)
{
    hs_jw_key(w, key);
    hs_jw_str(w, s);
}

void hs_jw_kint(struct hs_jw *w, const char *key, int64_t v)
{
    hs_jw_key(w, key);
    hs_jw_int(w, v);
}

void hs_jw_kbool(struct hs_jw *w, const char *key, bool v)
{
    hs_jw_key(w, key);
    hs_jw_bool(w, v);
}
