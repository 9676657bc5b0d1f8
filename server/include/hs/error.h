/*
 * The server's one result type. Every hs_* function that can fail returns an
 * hs_rc; 0 is success. hs_strerror() gives a sentence for logs and operators,
 * hs_rc_name() the symbolic name. Codes are grouped; new codes go at the end of
 * their group and every code must have a string (tests check this).
 */
#ifndef HS_ERROR_H
#define HS_ERROR_H

typedef enum hs_rc {
    HS_OK = 0,

    /* Caller and library. */
    HS_E_INVALID_ARG,
    HS_E_NO_MEMORY,
    HS_E_INTERNAL,
    HS_E_IO,
    HS_E_CONFIG,
    HS_E_TOO_LARGE,

    /* Storage. */
    HS_E_DB,            /* the database failed (details in the log) */
    HS_E_DB_BUSY,       /* locked or a serialization failure: the caller may retry */
    HS_E_DB_CONSTRAINT, /* a unique or check constraint refused the write */
    HS_E_NOT_FOUND,     /* no such row */
    HS_E_CONFLICT,      /* the row exists already, or is in another state */
    HS_E_SCHEMA,        /* the database schema is newer than this program */

    /* Cryptography and keys. */
    HS_E_CRYPTO,
    HS_E_KEY,       /* a key could not be loaded or used */
    HS_E_PKCS11,    /* the PKCS#11 module failed (details in the log) */
    HS_E_SIGNATURE, /* a signature did not verify */
    HS_E_MALFORMED, /* input that does not parse (JSON, JWS, base64url, CSV...) */

    /* Protocol. */
    HS_E_NONCE_UNKNOWN,
    HS_E_NONCE_EXPIRED,
    HS_E_NONCE_USED,
    HS_E_NONCE_KIOSK, /* the nonce was issued to another kiosk */
    HS_E_FORBIDDEN,
    HS_E_CARD_NOT_GENUINE,
    HS_E_CARD_REVOKED,
    HS_E_AUDIT_BROKEN, /* the audit chain does not verify */

    HS_RC_COUNT /* not a result: the number of codes */
} hs_rc;

/* A sentence for logs and operators; never NULL. */
const char *hs_strerror(hs_rc rc);
/* The symbolic name ("HS_E_NONCE_USED"); never NULL. */
const char *hs_rc_name(hs_rc rc);

#endif
