/*
 * ISO/IEC 7816-4 command and response APDUs: encoding (short and extended
 * length), parsing of command APDUs (for the virtual card and tests), and the
 * status-word table that maps SW1-SW2 to cl_rc.
 */
#ifndef CL_APDU_H
#define CL_APDU_H

#include "cl/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_SHORT_LC_MAX 255u
#define CL_SHORT_LE_MAX 256u
#define CL_EXT_LC_MAX   65535u
#define CL_EXT_LE_MAX   65536u
/* Largest encoded command: header, 3-byte Lc, data, 2-byte Le. */
#define CL_CAPDU_MAX (4u + 3u + CL_EXT_LC_MAX + 2u)
/* Largest response we accept in one exchange: data and SW. */
#define CL_RAPDU_MAX (CL_EXT_LE_MAX + 2u)

#define CL_SW_OK 0x9000u

/* Flags for struct cl_apdu. */
enum {
    CL_APDU_SENSITIVE = 1u << 0, /* data is a secret (PIN, key): never traced */
    CL_APDU_NO_CHAIN = 1u << 1,  /* do not split long data with command chaining */
    CL_APDU_SHORT = 1u << 2,     /* never use extended length */
    CL_APDU_EXTENDED = 1u << 3,  /* always use extended length */
};

struct cl_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* command data, lc bytes */
    size_t lc;
    size_t le; /* 0: no response data expected; 1..65536: at most that many */
    unsigned flags;
};

/*
 * Encodes a command. With extended false, lc must be <= 255 and le <= 256.
 * Returns CL_E_APDU_INVALID when it cannot be encoded that way and
 * CL_E_BUFFER_TOO_SMALL when cap is too small.
 */
cl_rc cl_apdu_encode(const struct cl_apdu *a, bool extended, uint8_t *out, size_t cap,
                     size_t *out_len);

/* A parsed command APDU; data points into the parsed buffer. */
struct cl_capdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    size_t le; /* 0 when absent */
    bool le_present;
    bool extended;
};

/* Parses a command APDU (cases 1, 2S/E, 3S/E, 4S/E). Malformed: CL_E_APDU_INVALID. */
cl_rc cl_apdu_parse(const uint8_t *p, size_t n, struct cl_capdu *out);

/*
 * Maps a status word to a result: CL_OK for 9000, CL_E_PIN_INCORRECT for 63Cx
 * (cl_sw_retries() gives x), and so on. 61xx and 6Cxx are handled by the
 * transmit path and never reach a caller; if they do they map to
 * CL_E_SW_UNKNOWN.
 */
cl_rc cl_sw_to_rc(uint16_t sw);

/* The x of 63Cx (tries left), or -1 for any other status word. */
int cl_sw_retries(uint16_t sw);

/* A short English description of a status word for logs and tools ("file not found"). */
const char *cl_sw_text(uint16_t sw);

#endif
