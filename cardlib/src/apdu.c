/* ISO 7816-4 APDU encoding and the status-word table, in one place as OpenSC's iso7816.c does. */
#include "cl/apdu.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <string.h>

cl_rc cl_apdu_encode(const struct cl_apdu *a, bool extended, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    struct hm_writer w = hm_writer_make(out, cap);

    if (!a || (a->lc && !a->data))
        return CL_E_INVALID_ARG;
    if (a->lc > (extended ? CL_EXT_LC_MAX : CL_SHORT_LC_MAX) ||
        a->le > (extended ? CL_EXT_LE_MAX : CL_SHORT_LE_MAX))
        return CL_E_APDU_INVALID;
    hm_writer_u8(&w, a->cla);
    hm_writer_u8(&w, a->ins);
    hm_writer_u8(&w, a->p1);
    hm_writer_u8(&w, a->p2);
    if (!extended) {
        if (a->lc) {
            hm_writer_u8(&w, (uint8_t)a->lc);
            hm_writer_bytes(&w, a->data, a->lc);
        }
        if (a->le)
            hm_writer_u8(&w, (uint8_t)(a->le == 256 ? 0 : a->le));
    } else {
        if (a->lc) {
            hm_writer_u8(&w, 0);
            hm_writer_be16(&w, (uint16_t)a->lc);
            hm_writer_bytes(&w, a->data, a->lc);
        }
        if (a->le) {
            if (!a->lc)
                hm_writer_u8(&w, 0);
            hm_writer_be16(&w, (uint16_t)(a->le == 65536 ? 0 : a->le));
        }
    }
    if (!hm_writer_ok(&w))
        return CL_E_BUFFER_TOO_SMALL;
    *out_len = w.len;
    return CL_OK;
}

cl_rc cl_apdu_parse(const uint8_t *p, size_t n, struct cl_capdu *out)
{
    struct cl_capdu c;

    memset(&c, 0, sizeof(c));
    if (!p || n < 4)
        return CL_E_APDU_INVALID;
    c.cla = p[0];
    c.ins = p[1];
    c.p1 = p[2];
    c.p2 = p[3];
    p += 4;
    n -= 4;
    if (n == 0) {
        /* Case 1 */
    } else if (n == 1) {
        /* Case 2S */
        c.le = p[0] ? p[0] : 256;
        c.le_present = true;
    } else if (p[0] != 0) {
        /* Case 3S or 4S */
        size_t lc = p[0];

        if (n == 1 + lc) {
            c.lc = lc;
            c.data = p + 1;
        } else if (n == 2 + lc) {
            c.lc = lc;
            c.data = p + 1;
            c.le = p[1 + lc] ? p[1 + lc] : 256;
            c.le_present = true;
        } else {
            return CL_E_APDU_INVALID;
        }
    } else {
        /* Extended: p[0] == 0 and n >= 2. */
        c.extended = true;
        if (n == 3) {
            /* Case 2E */
            size_t le = (size_t)p[1] << 8 | p[2];
            c.le = le ? le : 65536;
            c.le_present = true;
        } else {
            size_t lc;

            if (n < 3)
                return CL_E_APDU_INVALID;
            lc = (size_t)p[1] << 8 | p[2];
            if (lc == 0)
                return CL_E_APDU_INVALID;
            if (n == 3 + lc) {
                c.lc = lc;
                c.data = p + 3;
            } else if (n == 5 + lc) {
                size_t le = (size_t)p[3 + lc] << 8 | p[4 + lc];
                c.lc = lc;
                c.data = p + 3;
                c.le = le ? le : 65536;
                c.le_present = true;
            } else {
                return CL_E_APDU_INVALID;
            }
        }
    }
    *out = c;
    return CL_OK;
}

struct sw_entry {
    uint16_t sw;
    uint16_t mask; /* bits of sw that must match */
    cl_rc rc;
    const char *text;
};

/* Specific entries first; the class defaults at the end catch the rest. */
static const struct sw_entry sw_table[] = {
    { 0x9000, 0xFFFF, CL_OK, "success" },
    { 0x6281, 0xFFFF, CL_E_DATA_CORRUPTED, "part of returned data may be corrupted" },
    { 0x6282, 0xFFFF, CL_E_END_OF_FILE, "end of file reached before reading Le bytes" },
    { 0x6283, 0xFFFF, CL_E_FILE_INVALIDATED, "selected file deactivated" },
    { 0x6300, 0xFFFF, CL_E_AUTH_FAILED, "verification failed" },
    { 0x63C0, 0xFFF0, CL_E_PIN_INCORRECT, "verification failed, tries left in SW2" },
    { 0x6581, 0xFFFF, CL_E_CARD_MEMORY_FAILURE, "memory failure" },
    { 0x6700, 0xFFFF, CL_E_WRONG_LENGTH, "wrong length" },
    { 0x6881, 0xFFFF, CL_E_CLA_FUNCTION_UNSUPPORTED, "logical channel not supported" },
    { 0x6882, 0xFFFF, CL_E_CLA_FUNCTION_UNSUPPORTED, "secure messaging not supported" },
    { 0x6883, 0xFFFF, CL_E_CLA_FUNCTION_UNSUPPORTED, "last command of the chain expected" },
    { 0x6884, 0xFFFF, CL_E_CLA_FUNCTION_UNSUPPORTED, "command chaining not supported" },
    { 0x6981, 0xFFFF, CL_E_INCOMPATIBLE_FILE, "command incompatible with file structure" },
    { 0x6982, 0xFFFF, CL_E_SECURITY_STATUS, "security status not satisfied" },
    { 0x6983, 0xFFFF, CL_E_AUTH_BLOCKED, "authentication method blocked" },
    { 0x6984, 0xFFFF, CL_E_REF_DATA_UNUSABLE, "reference data not usable" },
    { 0x6985, 0xFFFF, CL_E_CONDITIONS_NOT_SATISFIED, "conditions of use not satisfied" },
    { 0x6986, 0xFFFF, CL_E_COMMAND_NOT_ALLOWED, "command not allowed (no current EF)" },
    { 0x6987, 0xFFFF, CL_E_SM_DATA_MISSING, "expected secure messaging data objects missing" },
    { 0x6988, 0xFFFF, CL_E_SM_DATA_INCORRECT, "incorrect secure messaging data objects" },
    { 0x6A80, 0xFFFF, CL_E_WRONG_DATA, "incorrect parameters in the data field" },
    { 0x6A81, 0xFFFF, CL_E_FUNC_NOT_SUPPORTED, "function not supported" },
    { 0x6A82, 0xFFFF, CL_E_FILE_NOT_FOUND, "file or application not found" },
    { 0x6A83, 0xFFFF, CL_E_RECORD_NOT_FOUND, "record not found" },
    { 0x6A84, 0xFFFF, CL_E_CARD_MEMORY_FULL, "not enough memory space in the file" },
    { 0x6A86, 0xFFFF, CL_E_WRONG_PARAMETERS, "incorrect parameters P1-P2" },
    { 0x6A87, 0xFFFF, CL_E_WRONG_LENGTH, "Nc inconsistent with parameters P1-P2" },
    { 0x6A88, 0xFFFF, CL_E_REF_DATA_NOT_FOUND, "referenced data not found" },
    { 0x6B00, 0xFFFF, CL_E_WRONG_PARAMETERS, "wrong parameters P1-P2" },
    { 0x6D00, 0xFFFF, CL_E_INS_NOT_SUPPORTED, "instruction not supported" },
    { 0x6E00, 0xFFFF, CL_E_CLA_NOT_SUPPORTED, "class not supported" },
    { 0x6F00, 0xFFFF, CL_E_CARD_INTERNAL, "no precise diagnosis" },
    /* Class defaults. */
    { 0x6200, 0xFF00, CL_E_SW_WARNING, "warning, state unchanged" },
    { 0x6300, 0xFF00, CL_E_SW_WARNING, "warning, state changed" },
    { 0x6400, 0xFF00, CL_E_CARD_STATE_UNCHANGED, "execution error, state unchanged" },
    { 0x6500, 0xFF00, CL_E_CARD_MEMORY_FAILURE, "execution error, state changed" },
    { 0x6600, 0xFF00, CL_E_SECURITY_STATUS, "security-related issue" },
    { 0x6800, 0xFF00, CL_E_CLA_FUNCTION_UNSUPPORTED, "functions in CLA not supported" },
    { 0x6900, 0xFF00, CL_E_COMMAND_NOT_ALLOWED, "command not allowed" },
    { 0x6A00, 0xFF00, CL_E_WRONG_PARAMETERS, "wrong parameters P1-P2" },
};

static const struct sw_entry *sw_lookup(uint16_t sw)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(sw_table); i++)
        if ((sw & sw_table[i].mask) == sw_table[i].sw)
            return &sw_table[i];
    return NULL;
}

cl_rc cl_sw_to_rc(uint16_t sw)
{
    const struct sw_entry *e = sw_lookup(sw);

    return e ? e->rc : CL_E_SW_UNKNOWN;
}

int cl_sw_retries(uint16_t sw)
{
    if ((sw & 0xFFF0) == 0x63C0)
        return sw & 0x0F;
    return -1;
}

const char *cl_sw_text(uint16_t sw)
{
    const struct sw_entry *e = sw_lookup(sw);

    return e ? e->text : "unknown status word";
}
