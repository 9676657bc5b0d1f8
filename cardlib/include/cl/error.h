/*
 * cardlib's one result type. Every public function returns a cl_rc; 0 is
 * success. cl_strerror() gives a sentence for people, cl_rc_name() the
 * symbolic name for logs and JSON. Native codes (PC/SC, status words) are
 * kept beside the result where they exist (cl_ctx_last_native, cl_card_last_sw).
 *
 * New codes go at the end of their group; every code must have a string
 * (tests/unit/test_cl_error.c checks this).
 */
#ifndef CL_ERROR_H
#define CL_ERROR_H

typedef enum cl_rc {
    CL_OK = 0,

    /* Caller and library. */
    CL_E_INVALID_ARG,
    CL_E_NO_MEMORY,
    CL_E_BUFFER_TOO_SMALL,
    CL_E_INTERNAL,
    CL_E_NOT_SUPPORTED,
    CL_E_IO,

    /* Transport: the PC/SC service, readers and card presence. */
    CL_E_NO_SERVICE,
    CL_E_SERVICE_STOPPED,
    CL_E_NO_READERS,
    CL_E_READER_NOT_FOUND,
    CL_E_READER_UNAVAILABLE,
    CL_E_NO_CARD,
    CL_E_CARD_REMOVED,
    CL_E_CARD_RESET,
    CL_E_CARD_UNRESPONSIVE,
    CL_E_CARD_UNPOWERED,
    CL_E_SHARING_VIOLATION,
    CL_E_PROTOCOL_MISMATCH,
    CL_E_TIMEOUT,
    CL_E_CANCELLED,
    CL_E_TRANSPORT,

    /* APDU framing. */
    CL_E_APDU_INVALID,
    CL_E_RAPDU_SHORT,
    CL_E_RAPDU_TOO_LONG,
    CL_E_GET_RESPONSE_LOOP,

    /* Status words (ISO/IEC 7816-4 table 5 and 6). */
    CL_E_SW_UNKNOWN,
    CL_E_SW_WARNING,
    CL_E_DATA_CORRUPTED,
    CL_E_END_OF_FILE,
    CL_E_FILE_INVALIDATED,
    CL_E_AUTH_FAILED,
    CL_E_PIN_INCORRECT,
    CL_E_CARD_STATE_UNCHANGED,
    CL_E_CARD_MEMORY_FAILURE,
    CL_E_WRONG_LENGTH,
    CL_E_CLA_FUNCTION_UNSUPPORTED,
    CL_E_COMMAND_NOT_ALLOWED,
    CL_E_INCOMPATIBLE_FILE,
    CL_E_SECURITY_STATUS,
    CL_E_AUTH_BLOCKED,
    CL_E_REF_DATA_UNUSABLE,
    CL_E_CONDITIONS_NOT_SATISFIED,
    CL_E_SM_DATA_MISSING,
    CL_E_SM_DATA_INCORRECT,
    CL_E_WRONG_PARAMETERS,
    CL_E_WRONG_DATA,
    CL_E_FUNC_NOT_SUPPORTED,
    CL_E_FILE_NOT_FOUND,
    CL_E_RECORD_NOT_FOUND,
    CL_E_CARD_MEMORY_FULL,
    CL_E_REF_DATA_NOT_FOUND,
    CL_E_INS_NOT_SUPPORTED,
    CL_E_CLA_NOT_SUPPORTED,
    CL_E_CARD_INTERNAL,

    /* Parsing what a card sent. */
    CL_E_TLV_TRUNCATED,
    CL_E_TLV_BAD_LENGTH,
    CL_E_TLV_TAG_TOO_LONG,
    CL_E_TLV_TOO_DEEP,
    CL_E_TLV_TOO_LARGE,
    CL_E_TLV_NOT_FOUND,
    CL_E_TLV_TRAILING,
    CL_E_ATR_MALFORMED,
    CL_E_DATA_MALFORMED,
    CL_E_CHECK_DIGIT,

    /* Cards and applications. */
    CL_E_CARD_UNKNOWN,
    CL_E_APP_NOT_FOUND,

    /* Security: secure messaging, authentication, cryptography. */
    CL_E_SM_MAC,
    CL_E_SM_FAILED,
    CL_E_ACCESS_DENIED,
    CL_E_CRYPTO,
    CL_E_SIGNATURE_INVALID,
    CL_E_CERT_INVALID,

    CL_RC_COUNT /* not a result: the number of codes */
} cl_rc;

/* A sentence a person can read ("the card was removed"); never NULL. */
const char *cl_strerror(cl_rc rc);
/* The symbolic name ("CL_E_CARD_REMOVED"); never NULL. */
const char *cl_rc_name(cl_rc rc);

#endif
