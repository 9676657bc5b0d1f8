/*
 * The deployment's registries in storage (server/src/api/registry.c): kiosks
 * admitted by their client certificate, welfare cards (with the PUK sealed
 * under the server's seal key), single-use challenges (nonces) bound to the
 * kiosk that asked for them, and card sessions. Every change is written through
 * hs_store_write() and appends an audit record in the same transaction.
 *
 * Times are unix seconds; callers pass "now" so tests can move the clock.
 */
#ifndef HS_REGISTRY_H
#define HS_REGISTRY_H

#include "hs/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- kiosks -------------------------------------------------------------- */

enum hs_kiosk_status {
    HS_KIOSK_ACTIVE = 1,
    HS_KIOSK_REVOKED,
};

struct hs_kiosk {
    char id[64];    /* "kiosk-hz-001" */
    char name[128]; /* "上城区民政服务大厅 1号机" */
    char office[64];
    char cert_sha256[65]; /* hex of the client certificate DER */
    char cert_serial[64];
    enum hs_kiosk_status status;
    int64_t enrolled_at, revoked_at;
};

/* Records an enrolled kiosk. HS_E_CONFLICT when the id or certificate is taken. */
hs_rc hs_kiosk_enroll(struct hs_store *st, const struct hs_kiosk *k, const char *actor,
                      int64_t now);
/* HS_E_NOT_FOUND for an unknown certificate. */
hs_rc hs_kiosk_by_cert(struct hs_store *st, const char *cert_sha256, struct hs_kiosk *out);
hs_rc hs_kiosk_by_id(struct hs_store *st, const char *id, struct hs_kiosk *out);
/* Every kiosk, by id; *out malloc'd (free()), *n entries. */
hs_rc hs_kiosk_list(struct hs_store *st, struct hs_kiosk **out, size_t *n);
/* HS_E_NOT_FOUND for an unknown id; revoking twice is HS_OK. */
hs_rc hs_kiosk_revoke(struct hs_store *st, const char *id, const char *reason, const char *actor,
                      int64_t now);

/* ---- welfare cards ------------------------------------------------------- */

enum hs_card_status {
    HS_CARD_ACTIVE = 1,
    HS_CARD_REVOKED,
};

struct hs_card {
    char cert_serial[64]; /* the 9E certificate's serial (decimal), the registry key */
    char welfare_no[32];
    char holder[128];
    enum hs_card_status status;
    int64_t issued_at, revoked_at;
    char reason[128];
};

/* Registers a card; sealed_puk (may be NULL) is the sealed PUK blob. */
hs_rc hs_card_register(struct hs_store *st, const struct hs_card *c, const uint8_t *sealed_puk,
                       size_t sealed_len, const char *actor, int64_t now);
hs_rc hs_card_by_serial(struct hs_store *st, const char *cert_serial, struct hs_card *out);
hs_rc hs_card_revoke(struct hs_store *st, const char *cert_serial, const char *reason,
                     const char *actor, int64_t now);
/* The revoked serials, ascending; *serials malloc'd array of malloc'd strings. */
hs_rc hs_card_revoked_list(struct hs_store *st, char ***serials, size_t *n);
void hs_strv_free(char **v, size_t n);
/* The sealed PUK (malloc'd). */
hs_rc hs_card_sealed_puk(struct hs_store *st, const char *cert_serial, uint8_t **blob, size_t *len);

/* ---- challenges ---------------------------------------------------------- */

#define HS_NONCE_BYTES 32
#define HS_NONCE_TEXT  44 /* base64url of 32 bytes is 43 characters, plus NUL */

/* A fresh random nonce bound to kiosk_id for purpose ("card-session", ...). */
hs_rc hs_nonce_issue(struct hs_store *st, const char *kiosk_id, const char *purpose, int ttl_s,
                     int64_t now, char nonce[HS_NONCE_TEXT], int64_t *expires_at);
/*
 * Uses a nonce once: HS_OK the first time, for the same kiosk and purpose,
 * before it expires; HS_E_NONCE_UNKNOWN, _EXPIRED, _USED or _KIOSK otherwise.
 * Atomic: of two kiosks or threads racing, exactly one gets HS_OK.
 */
hs_rc hs_nonce_consume(struct hs_store *st, const char *nonce, const char *kiosk_id,
                       const char *purpose, int64_t now);
/* The same inside a caller's write transaction. */
hs_rc hs_nonce_consume_in(struct hs_conn *c, const char *nonce, const char *kiosk_id,
                          const char *purpose, int64_t now);
/*
 * The same as a step of hs_exec_steps() (the parameters live in *ns, which
 * must stay until the steps have run, and point at the strings given). The
 * step gives HS_E_NONCE_UNKNOWN when it uses no nonce; then
 * hs_nonce_refusal() says why, as hs_nonce_consume_in() would have.
 */
struct hs_nonce_step {
    struct hs_val p[4];
};
void hs_nonce_consume_step(struct hs_nonce_step *ns, const char *nonce, const char *kiosk_id,
                           const char *purpose, int64_t now, struct hs_step *step);
hs_rc hs_nonce_refusal(struct hs_conn *c, const char *nonce, const char *kiosk_id,
                       const char *purpose);
/* Deletes nonces expired before now - keep_s; "confirm" nonces are kept 30 days
 * after they expire, so a kiosk's journal can deliver a confirmation late. */
hs_rc hs_nonce_purge(struct hs_store *st, int64_t now, int keep_s);

/* ---- ID sessions (appointments) ----------------------------------------- */

/* Deletes ID sessions (and with them the sealed ID numbers) that expired before now. */
hs_rc hs_id_session_purge(struct hs_store *st, int64_t now);

/*
 * Appointments still booked after their day (China Standard Time) ended
 * become no_show: each party gets a no_shows row (the rules count them
 * against new bookings), their active rows end, and it is audited. At most
 * 200 a call; *marked (may be NULL) gets how many.
 */
hs_rc hs_appointments_mark_no_shows(struct hs_store *st, int64_t now, int *marked);

#endif
