/* Reads the QR code of a receipt out of a PNG (a scan or a phone screenshot); libpng and zbar live
 * here only. */
#include "hv.h"

#include <png.h>
#include <zbar.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many different codes are remembered from one image. */
#define QR_SYMBOLS_MAX 16

/* Reads the whole file into out (at most HV_PNG_FILE_MAX bytes). */
static int read_png_file(const char *path, struct hm_buf *out, char *err, size_t cap)
{
    uint8_t chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = 0;

    if (!f) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (!hm_buf_add(out, chunk, n)) {
            snprintf(err, cap, "%s is larger than %u MB: not a receipt picture", path,
                     HV_PNG_FILE_MAX / (1024u * 1024u));
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, cap, "cannot read %s", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* Decodes the PNG to 8-bit gray, alpha composited onto white. *gray is malloc'd. */
static int decode_gray(const char *path, const struct hm_buf *file, uint8_t **gray, unsigned *w,
                       unsigned *h, char *err, size_t cap)
{
    static const png_color white = { 255, 255, 255 };
    png_image img;
    uint8_t *pix;
    size_t size;

    if (file->len < 8 || png_sig_cmp(file->data, 0, 8) != 0) {
        snprintf(err, cap,
                 "%s is not a PNG image (save the picture as PNG, or give the token "
                 "as text)",
                 path);
        return -1;
    }
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, file->data, file->len)) {
        snprintf(err, cap, "%s is not a readable PNG image: %s", path, img.message);
        png_image_free(&img);
        return -1;
    }
    if (img.width == 0 || img.height == 0 || (uint64_t)img.width * img.height > HV_PNG_MAX_PIXELS) {
        snprintf(err, cap,
                 "%s is %ux%u pixels, more than we decode (%u megapixels): crop it to "
                 "the QR code",
                 path, (unsigned)img.width, (unsigned)img.height, HV_PNG_MAX_PIXELS / 1000000u);
        png_image_free(&img);
        return -1;
    }
    img.format = PNG_FORMAT_GRAY;
    size = PNG_IMAGE_SIZE(img);
    pix = malloc(size);
    if (!pix) {
        snprintf(err, cap, "out of memory decoding %s", path);
        png_image_free(&img);
        return -1;
    }
    memset(pix, 255, size);
    if (!png_image_finish_read(&img, &white, pix, 0, NULL)) {
        snprintf(err, cap, "%s is damaged: %s", path, img.message);
        png_image_free(&img);
        free(pix);
        return -1;
    }
    *gray = pix;
    *w = img.width;
    *h = img.height;
    return 0;
}

/* True for text shaped like a compact JWS: base64url in three parts. */
static bool looks_like_jws(const char *s, size_t n)
{
    size_t dots = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.')
            dots++;
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_'))
            return false;
    }
    return dots == 2;
}

int hv_qr_read_png(const char *path, struct hm_buf *out, char *err, size_t cap)
{
    const zbar_symbol_t *found[QR_SYMBOLS_MAX];
    const zbar_symbol_t *pick = NULL;
    zbar_image_scanner_t *scanner = NULL;
    zbar_image_t *zimg = NULL;
    struct hm_buf file;
    uint8_t *gray = NULL;
    size_t nfound = 0, njws = 0;
    unsigned w = 0, h = 0;
    int rc = -1;

    hm_buf_init(&file, HV_PNG_FILE_MAX);
    if (read_png_file(path, &file, err, cap) != 0 ||
        decode_gray(path, &file, &gray, &w, &h, err, cap) != 0)
        goto out_free_file;

    scanner = zbar_image_scanner_create();
    zimg = zbar_image_create();
    if (!scanner || !zimg) {
        snprintf(err, cap, "out of memory starting the QR decoder");
        goto out_free_zbar;
    }
    zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_set_format(zimg, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(zimg, w, h);
    zbar_image_set_data(zimg, gray, (unsigned long)w * h, NULL);
    if (zbar_scan_image(scanner, zimg) < 0) {
        snprintf(err, cap, "the QR decoder failed on %s", path);
        goto out_free_zbar;
    }

    /* Different codes (the same code may be reported twice); JWS-shaped ones first. */
    for (const zbar_symbol_t *s = zbar_image_first_symbol(zimg); s; s = zbar_symbol_next(s)) {
        const char *d = zbar_symbol_get_data(s);
        size_t n = zbar_symbol_get_data_length(s);
        bool seen = false;

        if (zbar_symbol_get_type(s) != ZBAR_QRCODE || !d)
            continue;
        for (size_t i = 0; i < nfound && !seen; i++)
            seen = zbar_symbol_get_data_length(found[i]) == n &&
                   memcmp(zbar_symbol_get_data(found[i]), d, n) == 0;
        if (seen || nfound == QR_SYMBOLS_MAX)
            continue;
        found[nfound++] = s;
        if (looks_like_jws(d, n)) {
            njws++;
            pick = s;
        }
    }
    if (nfound == 0) {
        snprintf(err, cap,
                 "no QR code found in %s (%ux%u pixels): photograph or screenshot the "
                 "whole code, sharp and straight, or give the token as text",
                 path, w, h);
        goto out_free_zbar;
    }
    if (njws > 1) {
        snprintf(err, cap, "%s shows %zu different receipt codes: crop the picture to one", path,
                 njws);
        goto out_free_zbar;
    }
    if (!pick) {
        if (nfound > 1) {
            snprintf(err, cap, "%s shows %zu QR codes and none is a receipt or ticket", path,
                     nfound);
            goto out_free_zbar;
        }
        pick = found[0];
    }
    if (!hm_buf_add(out, zbar_symbol_get_data(pick), zbar_symbol_get_data_length(pick))) {
        snprintf(err, cap, "the QR code in %s holds more than a token can", path);
        goto out_free_zbar;
    }
    rc = 0;

out_free_zbar:
    if (zimg)
        zbar_image_destroy(zimg);
    if (scanner)
        zbar_image_scanner_destroy(scanner);
    free(gray);
out_free_file:
    hm_buf_free(&file);
    return rc;
}
