/*
 * The kiosk's client of the /v1 API (docs/API.md): HTTPS with the kiosk's
 * client certificate and the pinned server CA (libcurl, one connection kept
 * alive per client), timeouts and bounded retries, and a JWS check of every
 * answer against the pinned signing certificate (its typ, this kiosk, exp).
 * A durable journal (SQLite) keeps every signed confirmation from before it
 * is sent until a verified receipt for it arrives, so a confirmation made
 * while the server cannot be reached is delivered later, exactly once.
 *
 * The card part (kc_tap, kc_confirm) talks to a connected welfare card
 * through cardlib; kc_id_session reads a citizen's ID card (ICAO 9303) for
 * the marriage-registration appointments (kc_book and the calls after it).
 * A kc_client is used by one thread at a time. Payloads handed out as json_t
 * are verified; the caller releases them (json_decref).
 */
#ifndef KC_CLIENT_H
#define KC_CLIENT_H

#include "cl/card.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kc_rc {
    KC_OK = 0,
    KC_E_INVALID_ARG, /* a caller's mistake (missing option, bad value) */
    KC_E_NO_MEMORY,
    KC_E_CONFIG,        /* a certificate, key or file named in the configuration is unusable */
    KC_E_NETWORK,       /* the server could not be reached or did not answer in time */
    KC_E_PROTOCOL,      /* the server answered with something that is not the API */
    KC_E_REFUSED,       /* the server refused the request (its code and messages: kc_last_error) */
    KC_E_VERIFY,        /* an answer failed verification (signature, typ, kiosk, exp, binding),
                         * or a card checked at the kiosk is not genuine (failed_check) */
    KC_E_JOURNAL,       /* the journal could not be read or written */
    KC_E_QUEUED,        /* the confirmation was signed and kept in the journal, not yet delivered */
    KC_E_CARD,          /* the card could not be used (cardlib's code: kc_last_error) */
    KC_E_NO_CARD,       /* no reader, no card, or the card was taken away */
    KC_E_PIN_INCORRECT, /* wrong PIN: tries left in kc_last_error()->tries_left */
    KC_E_PIN_BLOCKED,   /* the PIN is blocked: the PUK at the service desk */
    KC_E_NOT_FOUND,     /* no such payment or journal entry */
    KC_RC_COUNT         /* not a result: the number of codes */
} kc_rc;

/* A sentence for people and logs, and the symbolic name; never NULL. */
const char *kc_strerror(kc_rc rc);
const char *kc_rc_name(kc_rc rc);

/* What went wrong last, in more detail than the kc_rc. */
struct kc_error {
    int http_status;      /* of the last answer, 0 when none arrived */
    char code[64];        /* the server's stable code ("already_confirmed"), or "" */
    char message[512];    /* the server's Chinese message, or "" */
    char message_en[512]; /* its English message, or "" */
    char detail[2048];    /* the server's detail, or "" */
    char text[512];       /* our own explanation (curl's, the failed check...), or "" */
    int tries_left;       /* after KC_E_PIN_INCORRECT, -1 otherwise */
    int card_rc;          /* cl_rc after KC_E_CARD / KC_E_NO_CARD, 0 otherwise */
    /*
     * The first check that failed when the kiosk itself found a card not
     * genuine (KC_E_VERIFY before anything was sent: "active-auth",
     * "csca-chain", "chain"...), or "".
     */
    char failed_check[32];
};

/* ---- the client ---------------------------------------------------------- */

struct kc_config {
    const char *server_url;    /* "https://host:port" (no trailing path) */
    const char *cert_file;     /* the kiosk's client certificate (PEM) */
    const char *key_file;      /* its private key (PEM) */
    const char *ca_file;       /* the deployment's root, the only CA trusted for TLS (PEM) */
    const char *signing_cert;  /* the server's signing certificate (PEM): answers must verify */
    const char *pinned_pubkey; /* optional: curl's "sha256//..." pin of the server's TLS key */
    const char *issuer_ca;     /* optional: the issuer CA (PEM) to check a card at the kiosk too */
    const char *csca_dir;      /* optional: CSCA certificates and CRLs (a folder, as the server's
                                * [trust] csca_dir) to check an ID card at the kiosk too */
    const char *kiosk_id;      /* this kiosk's id: answers must name it */
    const char *journal_path;  /* the journal (SQLite file); created when missing */
    /*
     * How many hours the last verified status of a card is kept in the journal's
     * database, to be shown (marked as of its time) while the server cannot be
     * reached (kc_status_cached): 0: 72; < 0: no status is kept at all.
     */
    int status_cache_hours;
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* the whole request; 0: 15000 */
    int retries;             /* extra attempts where a retry is safe; <0: 0, 0: default 2 */
    unsigned backoff_ms;     /* first pause between attempts, doubled each time; 0: 250 */
    /*
     * Test hook: the confirmation request is journaled after the card signed
     * and then "lost" as if the network failed before it reached the server
     * (kc_confirm returns KC_E_QUEUED). Never set in production.
     */
    bool test_drop_confirmation;
    /*
     * Test hook: one byte of the statement is changed after the card signed it
     * (and the kiosk checked that signature), so the server gets a statement
     * that is not what the card signed. Never set in production.
     */
    bool test_alter_statement;
    /*
     * Test hook: one byte of a successful answer is changed before it is
     * verified, as if it had been altered in transit: NULL off, "*" every
     * answer, else only the answers to that path ("/v1/status"). Never set in
     * production.
     */
    const char *test_tamper_answer;
};

typedef struct kc_client kc_client;

/*
 * How a client sends a request: libcurl (kc_client_new) or a test's own
 * backend (kc_client_new_transport). post() sends body to path and, when an
 * answer arrived (whatever its status), returns KC_OK with *status, the
 * content type (ctype, cap 128) and the body in *out (malloc'd, NUL-terminated,
 * freed by the client with free()). Otherwise it returns KC_E_NETWORK, with
 * *not_sent true when the request surely did not reach the server (no
 * connection), and a reason in err (cap 256). get() is the same for a GET of
 * path (GET /v1/offices); it may be NULL, and GET calls then fail with
 * KC_E_INVALID_ARG. free() releases the backend when the client is freed
 * (may be NULL).
 */
struct kc_transport_ops {
    const char *name;
    kc_rc (*post)(void *t, const char *path, const char *body, size_t len, long *status,
                  char *ctype, char **out, size_t *out_len, bool *not_sent, char *err);
    kc_rc (*get)(void *t, const char *path, long *status, char *ctype, char **out, size_t *out_len,
                 bool *not_sent, char *err);
    void (*free)(void *t);
};

/* Loads the certificates, opens the journal and prepares the connection. */
kc_rc kc_client_new(const struct kc_config *cfg, kc_client **out);
/* The same with another transport (tests); the client frees t through ops->free. */
kc_rc kc_client_new_transport(const struct kc_config *cfg, const struct kc_transport_ops *ops,
                              void *t, kc_client **out);
/* NULL is a no-op. */
void kc_client_free(kc_client *c);
const struct kc_error *kc_last_error(const kc_client *c);
/* For tests: the clock the client checks exp and writes statements with (NULL: time()). */
void kc_client_set_clock(kc_client *c, int64_t (*now)(void *arg), void *arg);

/* ---- verified calls ------------------------------------------------------- */

/*
 * POST body (compact JSON text) to path; a 2xx answer must be a JWS of typ
 * that passes kc_verify_answer(); *payload gets its payload. idempotent says
 * whether the call may be repeated after a lost answer. A 4xx/5xx answer:
 * KC_E_REFUSED with the server's code and messages in kc_last_error().
 */
kc_rc kc_call(kc_client *c, const char *path, const char *body, const char *typ, bool idempotent,
              json_t **payload);

/* POST /v1/nonces: nonce gets the 43-character challenge (NUL-terminated). */
kc_rc kc_nonce(kc_client *c, const char *purpose, char nonce[64], int64_t *exp);

struct kc_session {
    char id[64]; /* "" for a card checked only here (kc_tap_offline): no server session */
    char welfare_no[32];
    char holder[128];
    char card_serial[64];
    int64_t exp;
    uint8_t card_sha256[32]; /* SHA-256 of the card's 9E certificate: its status cache key */
};

/*
 * POST /v1/status: the verified status payload (typ huimin-status, this
 * session). Unless the cache is off (status_cache_hours), the signed answer
 * is kept for the card (the newest only, never logged) with the time it was
 * verified, and entries older than status_cache_hours are deleted.
 */
kc_rc kc_status(kc_client *c, const struct kc_session *s, json_t **status);

/*
 * The status kc_status last verified for the card of s (a session of kc_tap
 * or kc_tap_offline), to show while the server cannot be reached: its token
 * is verified again with the pinned signing certificate (typ huimin-status,
 * this kiosk, not expired when it was verified) and must name the card's
 * welfare number. *as_of gets the time it was verified. KC_E_NOT_FOUND when
 * the card has none, it is older than status_cache_hours or the cache is off;
 * KC_E_VERIFY (and the entry deleted) when it no longer verifies. What it
 * shows can never be confirmed: kc_confirm needs the server (a nonce).
 */
kc_rc kc_status_cached(kc_client *c, const struct kc_session *s, json_t **status, int64_t *as_of);

/* POST /v1/disputes: reason "not_received", "wrong_amount" or "other"; note may be NULL. */
kc_rc kc_dispute(kc_client *c, const struct kc_session *s, const char *payment, const char *reason,
                 const char *note, json_t **dispute);

struct kc_staff_call {
    char id[32]; /* "call" */
    int waiting; /* open calls at this kiosk's office, this one included */
    int64_t iat;
};

/*
 * POST /v1/staff-calls (docs/API.md, "Calling staff"): reason one of help,
 * card_problem, pin_blocked, dispute, other; screen the kiosk screen's name
 * (NULL: none); s the resident's card session (NULL: none). The verified
 * answer (typ huimin-staff-call, this kiosk) into out. Retried after a lost
 * answer: the server answers a repeat within 120 s with the same call.
 */
kc_rc kc_staff_call(kc_client *c, const char *reason, const char *screen,
                    const struct kc_session *s, struct kc_staff_call *out);

/* ---- the card ------------------------------------------------------------- */

/*
 * A tap: selects the welfare application, asks for a card-session nonce, has
 * the card sign it with 9E (cl_piv_collect), checks the card here when
 * issuer_ca is set, and opens a card session on the server. The session must
 * name the welfare number the card's certificate carries.
 */
kc_rc kc_tap(kc_client *c, cl_card *card, struct kc_session *out);

/*
 * A tap while the server cannot be reached: the card signs a random challenge
 * made here with 9E (cl_piv_collect) and is checked with the issuer CA
 * (cl_piv_verify: chain, validity, possession...), which must be configured
 * (KC_E_CONFIG otherwise: without it no card can be checked here). out gets
 * the welfare number and holder from the certificate and no session id: it
 * serves kc_status_cached only. Not genuine: KC_E_VERIFY with failed_check.
 */
kc_rc kc_tap_offline(kc_client *c, cl_card *card, struct kc_session *out);

struct kc_payment {
    const char *id;     /* "P-E000001-202611" */
    int64_t amount_fen; /* as the status said */
    const char *period; /* "2026-11" */
};

struct kc_receipt {
    char token[2048]; /* the receipt JWS, for a QR code */
    char id[64];      /* "r" */
    char payment[64]; /* "p" */
    char period[16];  /* "pd" */
    int64_t amount_fen;
    char proof[8]; /* "pin" or "tap" */
    bool again;    /* the server had it already (a repeated delivery) */
};

/*
 * Confirms a payment: a confirm nonce, the canonical statement, VERIFY PIN
 * and a 9C signature (pin NULL: a tap-only resident, 9E and no PIN), the
 * request written to the journal, then sent. KC_OK with a verified receipt;
 * KC_E_QUEUED when the server could not be reached after the card signed
 * (the journal delivers it in kc_sync); KC_E_PIN_INCORRECT with tries left
 * and nothing sent. When the journal already holds this payment's
 * confirmation, it is delivered (again) instead and no new signature is made.
 * The PIN is wiped from the client's buffers; the caller wipes its own.
 */
kc_rc kc_confirm(kc_client *c, cl_card *card, const struct kc_session *s,
                 const struct kc_payment *p, const char *pin, struct kc_receipt *out);

/* ---- marriage-registration appointments (docs/API.md, issue 8) ------------ */

/*
 * The MRZ numbers the resident types so the kiosk may open the ID card's
 * chip (Basic Access Control): as printed in the machine-readable zone.
 */
struct kc_mrz {
    const char *doc;    /* the document number ("HA1234567") */
    const char *birth;  /* date of birth, YYMMDD */
    const char *expiry; /* date of expiry, YYMMDD */
};

/* An ID-card session: what the server verified and derived from the card. */
struct kc_id_session {
    char id[64];        /* "id_session": the party in kc_book, kc_mine, kc_cancel... */
    char name[128];     /* "张秀英" */
    char id_masked[32]; /* "110***********0025": the full number is never kept */
    char sex;           /* 'M' or 'F' (from the citizen ID number) */
    char birth[11];     /* "1956-03-12" */
    char province[3];   /* "11": where the household is registered */
    int64_t exp;        /* unix time: the session ends */
};

/*
 * Opens an ID-card session for the citizen whose card is on the reader:
 * selects the ICAO 9303 application and runs BAC with the typed numbers (a
 * wrong number: KC_E_CARD with card_rc CL_E_AUTH_FAILED, nothing sent), asks
 * for an id-card nonce, reads EF.COM, EF.SOD, DG1, DG11, DG14 and DG15 and
 * runs Active Authentication over the first 8 bytes of SHA-256(the nonce's
 * 43 characters) (cl_emrtd_collect). With csca_dir configured the kiosk runs
 * Passive and Active Authentication itself first (cl_emrtd_verify), so a
 * forged or cloned card is KC_E_VERIFY with the failed check in
 * kc_last_error()->failed_check before its evidence leaves the kiosk; a
 * chip without Active Authentication or without a citizen ID number (DG11)
 * is refused here in any case. Then POST /v1/id-sessions; the signed answer
 * (typ huimin-id-session, this kiosk, not expired) must name the ID number
 * the chip holds (compared masked). The full ID number is neither logged nor
 * kept, and every buffer that held the chip's files is wiped. The session
 * consumes the nonce, so it is sent again only when it surely did not arrive.
 */
kc_rc kc_id_session(kc_client *c, cl_card *card, const struct kc_mrz *mrz,
                    struct kc_id_session *out);

/*
 * The services of docs/API.md and their names for people; NULL names for an
 * unknown one. hs_marriage's spellings "divorce_application" and
 * "divorce_confirmation" are known as the same services as "divorce_apply"
 * and "divorce_confirm".
 */
bool kc_service_known(const char *service);
const char *kc_service_zh(const char *service); /* "结婚登记" */
const char *kc_service_en(const char *service); /* "marriage registration" */
/* How many ID sessions a booking of service names: 1 (reissue), 2, or 0 when unknown. */
int kc_service_parties(const char *service);
/* A province code of a citizen ID ("11") in Chinese and English, or NULL when unknown. */
const char *kc_province_zh(const char *code);
const char *kc_province_en(const char *code);

/*
 * GET /v1/offices: the verified payload (typ huimin-offices), every office
 * with a string id, name and hours, region and province digits when present,
 * a services array of names (ones this kiosk does not know are left in: the
 * caller offers only known ones) and a cross_province boolean. Read-only:
 * retried.
 */
kc_rc kc_offices(kc_client *c, json_t **offices);

/*
 * POST /v1/availability for days 1..31 from the date from (YYYY-MM-DD): the
 * verified payload (typ huimin-availability) for that office and service,
 * its days in order inside the range asked, each slot's 0 <= free <=
 * capacity. Read-only: retried.
 */
kc_rc kc_availability(kc_client *c, const char *office, const char *service, const char *from,
                      int days, json_t **availability);

#define KC_TICKET_MAX 4096 /* the longest ticket token we keep */

/* A verified appointment ticket (JWS typ huimin-ticket). */
struct kc_ticket {
    char token[KC_TICKET_MAX]; /* the JWS, for the QR code */
    char id[32];               /* "t": the appointment, 16 base64url characters */
    char service[24];          /* "sv" */
    char office[64];           /* "o" */
    char date[11];             /* "d", YYYY-MM-DD */
    char slot[6];              /* "sl", HH:MM */
    size_t n_parties;          /* 1 or 2 */
    char name[2][128];         /* "n" */
    char id_masked[2][32];     /* "m" (masked again here, whatever came) */
    int64_t iat;
};

struct kc_booking {
    const char *service; /* "marriage", "divorce_apply", "divorce_confirm", "reissue" */
    const char *office;
    const char *date;       /* YYYY-MM-DD */
    const char *slot;       /* HH:MM */
    const char *parties[2]; /* ID sessions of the people at the kiosk; [1] NULL for reissue */
};

/*
 * POST /v1/appointments: KC_OK with the verified ticket, which must be for
 * the service, office, date and slot asked and name as many parties as
 * were sent. A refusal is KC_E_REFUSED with the rule's code ("slot_full",
 * "under_age", "booking_not_open" with opens_at in detail...) and its zh/en
 * messages. The booking is not idempotent, so it is sent again only when
 * the request surely did not reach the server. After KC_E_NETWORK the
 * booking may or may not have been made: the server's unique index on
 * (person, service) among active bookings means a second kc_book can never
 * book twice but is then refused with "active_booking_exists"; kc_mine
 * shows the appointment that was made.
 */
kc_rc kc_book(kc_client *c, const struct kc_booking *b, struct kc_ticket *out);

/*
 * POST /v1/appointments/cancel for ticket id T by one of its parties' ID
 * sessions: the verified answer (typ huimin-appointment) says T is
 * cancelled. The server answers a repeated cancel with the same answer, so
 * it is retried after a lost answer.
 */
kc_rc kc_cancel(kc_client *c, const char *ticket_id, const char *id_session);

/*
 * POST /v1/appointments/reschedule of ticket id T by the people at the kiosk:
 * sessions[0] is one party's ID session (docs/API.md's "id_session"),
 * sessions[1] the other's for a two-party service (NULL otherwise); all of
 * them also go as "parties", which huimin-server requires today so that the
 * new booking is checked like a first one. The answer is the new ticket (a
 * new id, the date and slot asked). If the new place is full nothing changes
 * (KC_E_REFUSED slot_full). Not idempotent: sent again only when surely not
 * sent; after KC_E_NETWORK kc_mine tells whether the move was made.
 */
kc_rc kc_reschedule(kc_client *c, const char *ticket_id, const char *const sessions[2],
                    const char *date, const char *slot, struct kc_ticket *out);

/*
 * POST /v1/appointments/mine: the verified payload (typ huimin-appointments),
 * at most 20 appointments, each with t, sv, o, d, sl and a known status.
 * Read-only: retried.
 */
kc_rc kc_mine(kc_client *c, const char *id_session, json_t **appointments);

struct kc_check_in {
    char ticket[32]; /* "t" */
    char window[32]; /* the hall's window, as the server named it ("" when none) */
    int64_t iat;
};

/*
 * POST /v1/check-ins with a ticket token (verified here first, so an altered
 * ticket is KC_E_VERIFY without a request) or with an ID session (exactly one
 * of the two): the verified answer (typ huimin-check-in, status checked_in,
 * for that ticket). Sent again only when surely not sent.
 */
kc_rc kc_check_in(kc_client *c, const char *ticket_token, const char *id_session,
                  struct kc_check_in *out);

/*
 * Verifies a ticket token offline with the pinned signing certificate (typ
 * huimin-ticket, every member present and well formed) into out.
 */
kc_rc kc_ticket_verify(kc_client *c, const char *token, struct kc_ticket *out);

/* ---- the journal ----------------------------------------------------------- */

enum kc_entry_state {
    KC_ENTRY_PENDING = 0,   /* signed, not yet acknowledged with a verified receipt */
    KC_ENTRY_DELIVERED = 1, /* a verified receipt is stored */
    KC_ENTRY_REFUSED = 2,   /* the server refused it for good (its code is kept) */
};
const char *kc_entry_state_name(enum kc_entry_state s);

struct kc_entry {
    int64_t id;
    int64_t created;
    char payment[64];
    char statement_hash[32]; /* b64url(SHA-256(statement))[0..22], the receipt's "s" */
    enum kc_entry_state state;
    int attempts;
    char last_error[256];
    char receipt_id[64];
    int64_t delivered_at;
};

struct kc_sync_result {
    int delivered; /* entries delivered now */
    int refused;   /* entries the server refused for good now */
    int pending;   /* entries still waiting afterwards */
};

/*
 * Sends the pending entries in the order they were made (as journal
 * deliveries: "session":null) and marks each delivered once its receipt
 * verifies. Stops at the first network failure (KC_E_NETWORK; the rest wait).
 */
kc_rc kc_sync(kc_client *c, struct kc_sync_result *res);

/* Calls fn for every entry, oldest first; fn returns false to stop. */
kc_rc kc_journal_each(kc_client *c, bool (*fn)(void *arg, const struct kc_entry *e), void *arg);

/* ---- answer verification (also for receipts shown offline) ----------------- */

/*
 * Verifies a compact JWS answer: ES256 with the certificate (DER), header
 * typ equal to typ, the payload a JSON object naming kiosk (member "kiosk",
 * or "k" in a receipt; a dispute names none, so there it is checked only
 * when present) and, when it has "exp", not past now (the nonce, session and
 * status answers must have one; receipts and disputes carry none). On success *payload gets the
 * payload. On failure KC_E_VERIFY and a reason in why (cap 256).
 */
kc_rc kc_verify_answer(const char *token, size_t len, const uint8_t *cert_der, size_t cert_len,
                       const char *typ, const char *kiosk, int64_t now, json_t **payload, char *why,
                       size_t why_cap);

#endif
