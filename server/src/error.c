/* Sentences and names for the server's result codes, one table so none is missing. */
#include "hs/error.h"

#include <assert.h>

struct rc_text {
    const char *name;
    const char *text;
};

#define RC(code, text) [code] = { #code, text }
static const struct rc_text rc_texts[HS_RC_COUNT] = {
    RC(HS_OK, "success"),
    RC(HS_E_INVALID_ARG, "invalid argument"),
    RC(HS_E_NO_MEMORY, "out of memory"),
    RC(HS_E_INTERNAL, "internal error"),
    RC(HS_E_IO, "input/output error"),
    RC(HS_E_CONFIG, "the configuration is not valid"),
    RC(HS_E_TOO_LARGE, "the input is larger than allowed"),
    RC(HS_E_DB, "the database failed"),
    RC(HS_E_DB_BUSY, "the database is busy; try again"),
    RC(HS_E_DB_CONSTRAINT, "the database refused the write (constraint)"),
    RC(HS_E_NOT_FOUND, "not found"),
    RC(HS_E_CONFLICT, "it exists already or is in another state"),
    RC(HS_E_SCHEMA, "the database schema is newer than this program"),
    RC(HS_E_CRYPTO, "a cryptographic operation failed"),
    RC(HS_E_KEY, "the key could not be loaded or used"),
    RC(HS_E_PKCS11, "the PKCS#11 token failed"),
    RC(HS_E_SIGNATURE, "the signature does not verify"),
    RC(HS_E_MALFORMED, "the input is malformed"),
    RC(HS_E_NONCE_UNKNOWN, "the challenge is unknown"),
    RC(HS_E_NONCE_EXPIRED, "the challenge has expired"),
    RC(HS_E_NONCE_USED, "the challenge was used already"),
    RC(HS_E_NONCE_KIOSK, "the challenge was issued to another kiosk"),
    RC(HS_E_FORBIDDEN, "not allowed"),
    RC(HS_E_CARD_NOT_GENUINE, "the card is not genuine"),
    RC(HS_E_CARD_REVOKED, "the card has been revoked"),
    RC(HS_E_AUDIT_BROKEN, "the audit chain does not verify"),
};
#undef RC

static_assert(sizeof(rc_texts) / sizeof(rc_texts[0]) == HS_RC_COUNT, "a code without a string");

const char *hs_strerror(hs_rc rc)
{
    if ((unsigned)rc >= HS_RC_COUNT || !rc_texts[rc].text)
        return "unknown error";
    return rc_texts[rc].text;
}

const char *hs_rc_name(hs_rc rc)
{
    if ((unsigned)rc >= HS_RC_COUNT || !rc_texts[rc].name)
        return "HS_E_UNKNOWN";
    return rc_texts[rc].name;
}
