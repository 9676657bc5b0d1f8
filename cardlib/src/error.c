/* The strings behind cl_rc, kept in one table so every code has exactly one meaning. */
#include "cl/error.h"

#include <stddef.h>

struct rc_entry {
    const char *name;
    const char *text;
};

#define E(code, text) [code] = { #code, text }

static const struct rc_entry rc_table[CL_RC_COUNT] = {
    E(CL_OK, "success"),
    E(CL_E_INVALID_ARG, "invalid argument"),
    E(CL_E_NO_MEMORY, "out of memory"),
    E(CL_E_BUFFER_TOO_SMALL, "buffer too small"),
    E(CL_E_INTERNAL, "internal error"),
    E(CL_E_NOT_SUPPORTED, "operation not supported"),
    E(CL_E_IO, "input/output error"),

    E(CL_E_NO_SERVICE, "the smart-card service (pcscd) is not running"),
    E(CL_E_SERVICE_STOPPED, "the smart-card service (pcscd) stopped"),
    E(CL_E_NO_READERS, "no card reader is connected"),
    E(CL_E_READER_NOT_FOUND, "the card reader was not found"),
    E(CL_E_READER_UNAVAILABLE, "the card reader is unavailable"),
    E(CL_E_NO_CARD, "no card is on the reader"),
    E(CL_E_CARD_REMOVED, "the card was removed"),
    E(CL_E_CARD_RESET, "the card was reset"),
    E(CL_E_CARD_UNRESPONSIVE, "the card does not respond"),
    E(CL_E_CARD_UNPOWERED, "the card is not powered"),
    E(CL_E_SHARING_VIOLATION, "the card is in use by another program"),
    E(CL_E_PROTOCOL_MISMATCH, "the card does not support the requested protocol"),
    E(CL_E_TIMEOUT, "timed out"),
    E(CL_E_CANCELLED, "cancelled"),
    E(CL_E_TRANSPORT, "card reader communication error"),

    E(CL_E_APDU_INVALID, "command APDU cannot be encoded"),
    E(CL_E_RAPDU_SHORT, "response APDU shorter than a status word"),
    E(CL_E_RAPDU_TOO_LONG, "response APDU longer than expected"),
    E(CL_E_GET_RESPONSE_LOOP, "card kept asking for GET RESPONSE"),

    E(CL_E_SW_UNKNOWN, "card returned an unknown status word"),
    E(CL_E_SW_WARNING, "card returned a warning"),
    E(CL_E_DATA_CORRUPTED, "part of the returned data may be corrupted"),
    E(CL_E_END_OF_FILE, "end of file reached before the expected length"),
    E(CL_E_FILE_INVALIDATED, "selected file is deactivated"),
    E(CL_E_AUTH_FAILED, "verification failed"),
    E(CL_E_PIN_INCORRECT, "incorrect PIN"),
    E(CL_E_CARD_STATE_UNCHANGED, "card state unchanged"),
    E(CL_E_CARD_MEMORY_FAILURE, "card memory failure"),
    E(CL_E_WRONG_LENGTH, "wrong length"),
    E(CL_E_CLA_FUNCTION_UNSUPPORTED, "function in CLA not supported"),
    E(CL_E_COMMAND_NOT_ALLOWED, "command not allowed"),
    E(CL_E_INCOMPATIBLE_FILE, "command incompatible with file structure"),
    E(CL_E_SECURITY_STATUS, "security status not satisfied"),
    E(CL_E_AUTH_BLOCKED, "authentication method blocked"),
    E(CL_E_REF_DATA_UNUSABLE, "reference data not usable"),
    E(CL_E_CONDITIONS_NOT_SATISFIED, "conditions of use not satisfied"),
    E(CL_E_SM_DATA_MISSING, "expected secure messaging data objects missing"),
    E(CL_E_SM_DATA_INCORRECT, "incorrect secure messaging data objects"),
    E(CL_E_WRONG_PARAMETERS, "wrong parameters P1-P2"),
    E(CL_E_WRONG_DATA, "incorrect parameters in the command data field"),
    E(CL_E_FUNC_NOT_SUPPORTED, "function not supported"),
    E(CL_E_FILE_NOT_FOUND, "file or application not found"),
    E(CL_E_RECORD_NOT_FOUND, "record not found"),
    E(CL_E_CARD_MEMORY_FULL, "not enough memory space in the card"),
    E(CL_E_REF_DATA_NOT_FOUND, "referenced data not found"),
    E(CL_E_INS_NOT_SUPPORTED, "instruction not supported"),
    E(CL_E_CLA_NOT_SUPPORTED, "class not supported"),
    E(CL_E_CARD_INTERNAL, "card internal error"),

    E(CL_E_TLV_TRUNCATED, "TLV value runs past the end of the data"),
    E(CL_E_TLV_BAD_LENGTH, "TLV length field is invalid"),
    E(CL_E_TLV_TAG_TOO_LONG, "TLV tag is too long"),
    E(CL_E_TLV_TOO_DEEP, "TLV nesting is too deep"),
    E(CL_E_TLV_TOO_LARGE, "TLV value exceeds the size limit"),
    E(CL_E_TLV_NOT_FOUND, "TLV tag not found"),
    E(CL_E_TLV_TRAILING, "unexpected bytes after the TLV object"),
    E(CL_E_ATR_MALFORMED, "answer-to-reset is malformed"),
    E(CL_E_DATA_MALFORMED, "card data is malformed"),
    E(CL_E_CHECK_DIGIT, "a check digit does not match: the data was misread or altered"),

    E(CL_E_CARD_UNKNOWN, "card not recognised"),
    E(CL_E_APP_NOT_FOUND, "card application not found"),

    E(CL_E_SM_MAC, "secure messaging MAC is invalid"),
    E(CL_E_SM_FAILED, "secure messaging failed"),
    E(CL_E_ACCESS_DENIED, "access denied"),
    E(CL_E_CRYPTO, "cryptographic operation failed"),
    E(CL_E_SIGNATURE_INVALID, "signature is invalid"),
    E(CL_E_CERT_INVALID, "certificate is invalid"),
};

#undef E

const char *cl_strerror(cl_rc rc)
{
    if ((unsigned)rc >= CL_RC_COUNT || !rc_table[rc].text)
        return "unknown error";
    return rc_table[rc].text;
}

const char *cl_rc_name(cl_rc rc)
{
    if ((unsigned)rc >= CL_RC_COUNT || !rc_table[rc].name)
        return "CL_E_UNKNOWN";
    return rc_table[rc].name;
}
