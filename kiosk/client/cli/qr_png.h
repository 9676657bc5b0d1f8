/*
 * Writes a token as a QR code in a PNG file, so a ticket can be printed or
 * shown and scanned back (huimin-verify --png). libqrencode and libpng stay
 * in qr_png.c.
 */
#ifndef KC_QR_PNG_H
#define KC_QR_PNG_H

#include <stddef.h>

/*
 * Encodes text (byte mode, error correction M) and writes it to path as an
 * 8-bit greyscale PNG: scale pixels per module and a quiet zone of 4
 * modules. Returns 0, or -1 with a sentence in err.
 */
int kc_qr_write_png(const char *text, const char *path, int scale, char *err, size_t cap);

#endif
