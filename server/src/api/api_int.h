/*
 * What the /v1 handler files share (server/src/api/api.c, benefits.c, appointments.c and
 * staffcalls.c):
 * the api object, the error codes a kiosk can see, the reply helpers and the
 * JSON helpers. Internal to hs_api: nothing outside server/src/api includes it.
 */
#ifndef HS_API_INT_H
#define HS_API_INT_H

#include "hs/api.h"
#include "hs/registry.h"

#include "certcache.h"

#include "hs/seal.h"

#include "cl/emrtd_auth.h"

#include <jansson.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors -------------------------------------------------------------- */

/*
 * Every error a kiosk or operator can see; api.c holds the table with the
 * stable code, the HTTP status and the messages in Chinese and English.
 * New codes go before ERR_COUNT.
 */
enum api_err {
    ERR_NOT_FOUND,
    ERR_METHOD,
    ERR_CONTENT_TYPE,
    ERR_BAD_JSON,
    ERR_BAD_REQUEST,
    ERR_TOO_LARGE,
    ERR_NO_CLIENT_CERT,
    ERR_KIOSK_UNKNOWN,
    ERR_KIOSK_REVOKED,
    ERR_NONCE_UNKNOWN,
    ERR_NONCE_EXPIRED,
    ERR_NONCE_USED,
    ERR_NONCE_KIOSK,
    ERR_CARD_NOT_GENUINE,
    ERR_CARD_REVOKED,
    ERR_CARD_UNKNOWN,
    ERR_STORAGE,
    ERR_INTERNAL,
    /* Benefits (issue 7). */
    ERR_SESSION_UNKNOWN,
    ERR_SESSION_EXPIRED,
    ERR_SESSION_KIOSK,
    ERR_RESIDENT_UNKNOWN,
    ERR_PAYMENT_UNKNOWN,
    ERR_PAYMENT_NOT_YOURS,
    ERR_PAYMENT_NOT_PAID,
    ERR_ALREADY_CONFIRMED,
    ERR_ALREADY_DISPUTED,
    ERR_STATEMENT_INVALID,
    ERR_SIGNATURE_INVALID,
    ERR_PIN_REQUIRED,
    /* Marriage-registration appointments (issue 8). */
    ERR_ID_NOT_GENUINE,
    ERR_ID_EXPIRED,
    ERR_ID_UNREADABLE,
    ERR_ID_SESSION_UNKNOWN,
    ERR_ID_SESSION_EXPIRED,
    ERR_ID_SESSION_KIOSK,
    ERR_OFFICE_UNKNOWN,
    ERR_APPT_UNKNOWN,
    ERR_NOT_YOUR_APPT,
    ERR_APPT_NOT_ACTIVE,
    ERR_SLOT_FULL,
    ERR_NOT_TODAY,
    ERR_OTHER_OFFICE,
    ERR_TICKET_INVALID,
    /* The refusals of hs_marriage_check(), in the order of enum hs_marriage_refusal from
     * HS_MARRIAGE_SAME_PERSON on (hs_api_err_of_refusal()). */
    ERR_M_SAME_PERSON,
    ERR_M_NOT_MAINLAND,
    ERR_M_NOT_MAN_AND_WOMAN,
    ERR_M_ALREADY_MARRIED,
    ERR_M_NOT_MARRIED_TO_EACH,
    ERR_M_APPLICATION_PENDING,
    ERR_M_NO_APPLICATION,
    ERR_M_NOTHING_TO_REISSUE,
    ERR_M_NO_SHOW_BAN,
    ERR_M_ACTIVE_BOOKING,
    ERR_M_SERVICE_NOT_OFFERED,
    ERR_M_NOT_COMPETENT,
    ERR_M_IN_THE_PAST,
    ERR_M_TOO_FAR_AHEAD,
    ERR_M_BOOKING_NOT_OPEN,
    ERR_M_OFFICE_CLOSED,
    ERR_M_NO_SUCH_SLOT,
    ERR_M_UNDER_AGE,
    ERR_M_COOLING_OFF,
    ERR_M_WINDOW_PASSED,
    ERR_M_CANCEL_TOO_LATE,
    ERR_COUNT
};

/* The stable code of an error ("nonce_used"). */
const char *hs_api_err_code(enum api_err e);
/* The HTTP status of an error. */
int hs_api_err_status(enum api_err e);
/* The error of a refusal of hs_marriage_check() (ERR_INTERNAL for HS_MARRIAGE_OK or out of
 * range). */
enum api_err hs_api_err_of_refusal(int refusal);

/* ---- the api object ------------------------------------------------------ */

#define HS_API_KIOSK_CACHE_SLOTS 256

struct hs_api_kiosk_slot {
    char sha256[65];
    char id[64];
    enum hs_kiosk_status status; /* 0: not enrolled */
    uint64_t until_ms;
};

enum hs_api_route {
    R_HEALTH,
    R_METRICS,
    R_SIGNING_CERT,
    R_JWKS,
    R_NONCES,
    R_CARD_SESSIONS,
    R_REVOCATIONS,
    R_STAFF_CALLS,
    R_STAFF_CALL,
    R_STATUS,
    R_CONFIRMATIONS,
    R_DISPUTES,
    R_ID_SESSIONS,
    R_TEST_ID_SESSIONS,
    R_OFFICES,
    R_AVAILABILITY,
    R_APPOINTMENTS,
    R_APPT_CANCEL,
    R_APPT_RESCHEDULE,
    R_APPT_MINE,
    R_CHECK_INS,
    R_OTHER,
    R_COUNT
};

struct hs_api {
    struct hs_api_deps d;
    struct hs_certcache certs; /* card certificates verified recently */
    struct hs_http *http;
    char *jwks;
    pthread_mutex_t lock; /* the kiosk cache */
    struct hs_api_kiosk_slot cache[HS_API_KIOSK_CACHE_SLOTS];
    atomic_uint_fast64_t routes[R_COUNT];
    atomic_uint_fast64_t errors[ERR_COUNT];
    /* ID cards (appointments.c): the CSCA trust store, loaded once at start (NULL when
     * csca_dir is empty or does not load), and the keys derived from the seal key. */
    cl_emrtd_trust *csca;
    bool have_seal;
    uint8_t seal_key[HS_SEAL_KEY_LEN];
    uint8_t person_key[HS_PERSON_KEY_LEN];
};

/* The admitted kiosk of a request (enrolled and active). */
struct hs_api_kiosk {
    char id[64];
};

/* A read on the calling thread's reader connection (HS_E_DB when there is none). */
hs_rc hs_api_read(struct hs_api *api, const char *sql, const struct hs_val *params, int nparams,
                  struct hs_rows **rows);

/*
 * A random id of nbytes (at most 32) as base64url into out (HS_B64URL_LEN(nbytes) + 1
 * bytes): receipts, disputes, exceptions, staff calls, tickets. It never starts with '-'
 * or '_', so it can be given to a command line as it is (huimin-admin exceptions close ID).
 */
bool hs_api_random_id(char *out, size_t nbytes);

/* "kiosk:ID", the audit actor of a kiosk's request. */
void hs_api_kiosk_actor(char *out, size_t cap, const char *kiosk);

/*
 * Inside a write function: puts an exception (kind "dispute", "staff_call"...)
 * about subject into the hall staff's queue (status open).
 */
hs_rc hs_api_exception_open(struct hs_conn *c, const char *id, const char *kind,
                            const char *subject, const char *kiosk, int64_t now);

/* A card session, as a request of its kiosk may use it (benefits.c). */
struct hs_api_session {
    char id[HS_NONCE_TEXT];
    char cert_serial[64];
    char welfare_no[32];
    int64_t expires_at;
};
/*
 * Finds a current card session of kiosk k, or replies with the error
 * (session_unknown, session_kiosk, session_expired, storage) and returns false.
 */
bool hs_api_session_get(struct hs_api *api, struct hs_http_response *res,
                        const struct hs_api_kiosk *k, const char *id, struct hs_api_session *out);

/* The api's clock: unix seconds. */
int64_t hs_api_now(const struct hs_api *api);

/* ---- replies ------------------------------------------------------------- */

/* A JSON error answer; detail (may be NULL or "") goes to error.detail. */
void hs_api_reply_error(struct hs_api *api, struct hs_http_response *res, enum api_err e,
                        const char *detail);
/* The same with messages of the caller's (a verdict's, which say more: dates, the party);
 * NULL or "" takes the table's. */
void hs_api_reply_error_msg(struct hs_api *api, struct hs_http_response *res, enum api_err e,
                            const char *zh, const char *en, const char *detail);
/* Signs payload (stealing the reference; NULL gives 500) and sends it as application/jose. */
void hs_api_reply_signed(struct hs_api *api, struct hs_http_response *res, int status,
                         const char *typ, json_t *payload);
/* Signs JSON text (from the writer in jsonw.h) and sends it as application/jose. */
void hs_api_reply_signed_text(struct hs_api *api, struct hs_http_response *res, int status,
                              const char *typ, const char *json, size_t len);
/* Sends a token signed earlier (a stored receipt) as application/jose. */
void hs_api_reply_token(struct hs_api *api, struct hs_http_response *res, int status,
                        const char *token);
void hs_api_reply_text(struct hs_http_response *res, int status, const char *ctype,
                       const char *text);
/* The error a kiosk sees for a library result (storage, nonces, cards). */
enum api_err hs_api_err_of_rc(hs_rc rc);

/* ---- requests ------------------------------------------------------------ */

/* A JSON object body (duplicate keys refused), or NULL with an error reply made. */
json_t *hs_api_json_body(struct hs_api *api, const struct hs_http_request *req,
                         struct hs_http_response *res);
/* A string member of 1 to max bytes without NUL, or NULL. */
const char *hs_api_json_str(json_t *o, const char *key, size_t max);
/* Decodes a base64url member into out (cap bytes); false when missing (unless optional) or
 * malformed. A missing optional member gives *len 0. */
bool hs_api_json_b64(json_t *o, const char *key, uint8_t *out, size_t cap, size_t *len,
                     bool optional);

/* ---- benefits (benefits.c) ----------------------------------------------- */

void hs_api_h_status(struct hs_api *api, const struct hs_http_request *req,
                     struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_confirmations(struct hs_api *api, const struct hs_http_request *req,
                            struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_disputes(struct hs_api *api, const struct hs_http_request *req,
                       struct hs_http_response *res, const struct hs_api_kiosk *k);

/* ---- calling staff (staffcalls.c) ---------------------------------------- */

void hs_api_h_staff_calls(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k);
/* GET /v1/staff-calls/ID: id is the path's last part. */
void hs_api_h_staff_call(struct hs_api *api, const struct hs_http_request *req,
                         struct hs_http_response *res, const struct hs_api_kiosk *k,
                         const char *id);

/* ---- marriage-registration appointments (appointments.c) ----------------- */

/* Loads the CSCA trust store and the seal key (warnings when they are not there: ID-card
 * requests are then refused, the rest of the API works); undone by hs_api_appt_cleanup(). */
void hs_api_appt_init(struct hs_api *api);
void hs_api_appt_cleanup(struct hs_api *api);

void hs_api_h_id_sessions(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_test_id_sessions(struct hs_api *api, const struct hs_http_request *req,
                               struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_offices(struct hs_api *api, const struct hs_http_request *req,
                      struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_availability(struct hs_api *api, const struct hs_http_request *req,
                           struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_appointments(struct hs_api *api, const struct hs_http_request *req,
                           struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_appt_cancel(struct hs_api *api, const struct hs_http_request *req,
                          struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_appt_reschedule(struct hs_api *api, const struct hs_http_request *req,
                              struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_appt_mine(struct hs_api *api, const struct hs_http_request *req,
                        struct hs_http_response *res, const struct hs_api_kiosk *k);
void hs_api_h_check_ins(struct hs_api *api, const struct hs_http_request *req,
                        struct hs_http_response *res, const struct hs_api_kiosk *k);

#endif
