/* huimin-client's QR code writer (the only kiosk file with qrencode.h and png.h): a ticket as a
 * PNG that a phone, a printer or huimin-verify can read. */
#include "qr_png.h"

#include <png.h>
#include <qrencode.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET 4 /* modules of white around the code (ISO/IEC 18004) */

/* The image itself; libpng reports errors by longjmp, so nothing here changes after setjmp. */
static int write_image(png_structp png, png_infop info, FILE *f, const QRcode *qr, uint8_t *row,
                       size_t side, int scale)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < side; y++) {
        long my = (long)(y / (size_t)scale) - QUIET;

        for (size_t x = 0; x < side; x++) {
            long mx = (long)(x / (size_t)scale) - QUIET;
            bool dark = my >= 0 && mx >= 0 && my < qr->width && mx < qr->width &&
                        (qr->data[my * qr->width + mx] & 1);

            row[x] = dark ? 0x00 : 0xff;
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    return 0;
}

int kc_qr_write_png(const char *text, const char *path, int scale, char *err, size_t cap)
{
    QRcode *qr;
    FILE *f = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *row = NULL;
    size_t side;
    int rc = -1;

    if (scale < 1 || scale > 32) {
        snprintf(err, cap, "the QR scale must be 1 to 32 pixels per module");
        return -1;
    }
    qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr) {
        snprintf(err, cap, "the token does not fit in a QR code: %s", strerror(errno));
        return -1;
    }
    side = ((size_t)qr->width + 2 * QUIET) * (size_t)scale;
    row = malloc(side);
    f = fopen(path, "wb");
    if (!row || !f) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(err, cap, "out of memory");
        goto out;
    }
    if (write_image(png, info, f, qr, row, side, scale) != 0) {
        snprintf(err, cap, "cannot write %s", path);
        goto out;
    }
    rc = 0;
out:
    png_destroy_write_struct(&png, &info);
    if (f && fclose(f) != 0 && rc == 0) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    free(row);
    QRcode_free(qr);
    return rc;
}
