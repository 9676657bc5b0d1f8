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
 * through cardlib. A kc_client is used by one thread at a time. Payloads
 * handed out as json_t are verified; the caller releases them (json_decref).
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
    KC_E_VERIFY,        /* an answer failed verification (signature, typ, kiosk, exp, binding) */
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
    const char *kiosk_id;      /* this kiosk's id: answers must name it */
    const char *journal_path;  /* the journal (SQLite file); created when missing */
    long connect_timeout_ms;   /* 0: 5000 */
    long timeout_ms;           /* the whole request; 0: 15000 */
    int retries;               /* extra attempts where a retry is safe; <0: 0, 0: default 2 */
    unsigned backoff_ms;       /* first pause between attempts, doubled each time; 0: 250 */
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
 * connection), and a reason in err (cap 256). free() releases the backend
 * when the client is freed (may be NULL).
 */
struct kc_transport_ops {
    const char *name;
    kc_rc (*post)(void *t, const char *path, const char *body, size_t len, long *status,
                  char *ctype, char **out, size_t *out_len, bool *not_sent, char *err);
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
    char id[64];
    char welfare_no[32];
    char holder[128];
    char card_serial[64];
    int64_t exp;
};

/* POST /v1/status: the verified status payload (typ huimin-status, this session). */
kc_rc kc_status(kc_client *c, const struct kc_session *s, json_t **status);

/* POST /v1/disputes: reason "not_received", "wrong_amount" or "other"; note may be NULL. */
kc_rc kc_dispute(kc_client *c, const struct kc_session *s, const char *payment, const char *reason,
                 const char *note, json_t **dispute);

/* ---- the card ------------------------------------------------------------- */

/*
 * A tap: selects the welfare application, asks for a card-session nonce, has
 * the card sign it with 9E (cl_piv_collect), checks the card here when
 * issuer_ca is set, and opens a card session on the server. The session must
 * name the welfare number the card's certificate carries.
 */
kc_rc kc_tap(kc_client *c, cl_card *card, struct kc_session *out);

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
