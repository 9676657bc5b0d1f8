/*
 * The versioned API (/v1/...) as a request handler that knows nothing of
 * sockets (server/src/api/api.c): the HTTPS front hands it requests, tests and
 * the fuzz target call it directly. Every answer a kiosk relies on is a JWS
 * (application/jose, compact) signed by the signing service; errors are JSON
 * with a stable code and messages in Chinese and English:
 *   {"error":{"code":"nonce_used","message":"…","message_en":"…"}}
 *
 *   GET  /v1/health          liveness and storage
 * Health, metrics, the certificate and the JWKS need no enrolled kiosk (and
 * are served on the ops listener too); everything else does.
 *   GET  /metrics            Prometheus text
 *   GET  /v1/signing-cert    the signing certificate (PEM), for kiosks to pin (public)
 *   GET  /v1/jwks            the signing key as a JWK Set (public)
 *   POST /v1/nonces          {"purpose":"card-session"} -> signed {nonce, exp}
 *   POST /v1/card-sessions   a welfare card's 9E evidence over a nonce -> signed session
 *   GET  /v1/revocations     signed list of revoked card serials
 *   POST /v1/staff-calls     {"reason","screen","session"} -> signed call (呼叫工作人员),
 *                            queued for hall staff; a repeat within 120 s is the same call
 *   GET  /v1/staff-calls/ID  that call as it is now, signed (staffcalls.c)
 *   POST /v1/status          a card session's benefits and payments, signed (benefits.c)
 *   POST /v1/confirmations   a card-signed statement confirming a payment -> signed receipt,
 *                            exactly once per payment
 *   POST /v1/disputes        a resident's dispute of a payment -> signed record, queued
 *                            for hall staff
 *   POST /v1/id-sessions     an ID card's evidence over a nonce -> signed ID session
 *   GET  /v1/offices         the marriage registries, signed
 *   POST /v1/availability    free places by office, service and day, signed
 *   POST /v1/appointments    a booking by the parties' ID sessions -> signed ticket
 *   POST /v1/appointments/cancel, /reschedule, /mine; POST /v1/check-ins (appointments.c)
 * docs/API.md is the contract.
 */
#ifndef HS_API_H
#define HS_API_H

#include "hs/config.h"
#include "hs/db.h"
#include "hs/error.h"
#include "hs/http.h"
#include "hs/signer.h"

#include <stdint.h>

struct hs_api;

struct hs_api_deps {
    const struct hs_config *cfg; /* lives as long as the api */
    struct hs_store *store;
    struct hs_signer *signer;
    /* The clock (unix seconds); NULL: time(). */
    int64_t (*now)(void *ctx);
    void *now_ctx;
    /* Tests only: POST /v1/test/id-sessions opens an ID session from a citizen ID number
     * without a card (huimin-server sets it from HUIMIN_SERVER_TEST_ID_SESSIONS=1, with a
     * warning); otherwise that path does not exist. */
    bool test_id_sessions;
};

hs_rc hs_api_new(const struct hs_api_deps *deps, struct hs_api **out);
/* NULL is a no-op. */
void hs_api_free(struct hs_api *api);
/* Lets /metrics report the HTTPS front's counters (may stay unset). */
void hs_api_set_http(struct hs_api *api, struct hs_http *http);
/* An hs_http_handler: ctx is the struct hs_api. */
void hs_api_handle(void *ctx, const struct hs_http_request *req, struct hs_http_response *res);
/* hs_http_inline_fn: the requests hs_api_handle answers without blocking (reads on SQLite). */
bool hs_api_inline_ok(void *ctx, const struct hs_http_request *req);

#endif
