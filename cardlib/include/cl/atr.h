/*
 * Answer-To-Reset (ISO/IEC 7816-3 §8) parsing: enough to report the
 * convention, the protocols a card offers, the interface parameters a log or
 * a hall officer may need, and the historical bytes that card recognition
 * reads. Contactless cards get an ATR made up by the reader (PC/SC Part 3
 * §3.1.3.2.3): 3B 8n 80 01 followed by historical bytes and TCK.
 */
#ifndef CL_ATR_H
#define CL_ATR_H

#include "cl/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_ATR_HIST_MAX 15

struct cl_atr {
    bool inverse;       /* TS = 3F (inverse convention) instead of 3B */
    unsigned protocols; /* bit T set for each protocol T offered (T=0 when none named) */
    int first_protocol; /* the first offered protocol (the default one) */
    bool has_ta1;       /* TA1 codes Fi/Di */
    uint8_t ta1;
    unsigned fi, di; /* clock rate conversion and baud rate adjustment (372, 1 default) */
    bool has_tc1;    /* TC1: extra guard time N */
    uint8_t tc1;
    bool specific_mode; /* TA2 present: the card does not negotiate (PPS) */
    int ifsc;           /* T=1 information field size of the card (32 default) */
    bool tck_present;
    bool tck_valid;   /* XOR of T0..TCK is zero (false when absent) */
    bool contactless; /* PC/SC Part 3 layout (3B 8n 80 01 ...) */
    uint8_t hist[CL_ATR_HIST_MAX];
    size_t hist_len;
    size_t len; /* bytes the ATR used */
};

/*
 * Parses an ATR. CL_E_ATR_MALFORMED when TS is unknown, the interface bytes
 * or historical bytes are cut short, bytes follow the ATR, or a present TCK
 * does not check. (The parse result is filled as far as it got in any case.)
 */
cl_rc cl_atr_parse(const uint8_t *atr, size_t len, struct cl_atr *out);

/* "T=0", "T=1", "T=0,T=1": the offered protocols into buf; returns buf. */
const char *cl_atr_protocols(const struct cl_atr *atr, char *buf, size_t cap);

#endif
