/*
 * What the files of the kiosk client share and callers do not see: the
 * client object, the journal (journal.c, the only file with sqlite3.h) and
 * the checks and digests of verify.c.
 */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include "kc/client.h"

#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KC_CERT_MAX 8192

struct kc_journal;
struct cl_emrtd_trust;

struct kc_client {
    const struct kc_transport_ops *ops;
    void *t;
    char kiosk[64];
    uint8_t signing_der[KC_CERT_MAX];
    size_t signing_len;
    char issuer_ca[1024];        /* "" when the card is not checked at the kiosk */
    struct cl_emrtd_trust *csca; /* NULL when an ID card is not checked at the kiosk */
    int retries;
    unsigned backoff_ms;
    bool drop_confirmation;
    bool alter_statement;  /* test hook: kc_config.test_alter_statement */
    char tamper_path[128]; /* test hook: kc_config.test_tamper_answer, "" when off */
    struct kc_journal *journal;
    int64_t cache_secs; /* how long a cached status may be shown; 0: no cache */
    int64_t (*now)(void *arg);
    void *now_arg;
    struct kc_error err;
};

int64_t kc_now(const kc_client *c);
/* Clears the last error; sets our own text. */
void kc_err_reset(kc_client *c);
kc_rc kc_err_set(kc_client *c, kc_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* kc_call that also hands out the verified token (malloc'd) when token is not NULL. */
kc_rc kc_call_token(kc_client *c, const char *path, const char *body, const char *typ,
                    bool idempotent, json_t **payload, char **token);
/* The same as a GET of path (always idempotent: retried). */
kc_rc kc_get_token(kc_client *c, const char *path, const char *typ, json_t **payload, char **token);

/*
 * Sends a journaled confirmation (body: with the live session, or the
 * journal's "session":null) and records the outcome in the journal: a
 * verified receipt marks it delivered (*out filled), a definite refusal marks
 * it refused, anything else counts an attempt and leaves it pending.
 */
kc_rc kc_deliver(kc_client *c, const struct kc_entry *e, const char *body, struct kc_receipt *out);

/* ---- journal.c ---- */
kc_rc kc_journal_open(const char *path, struct kc_journal **out, char *why, size_t why_cap);
void kc_journal_close(struct kc_journal *j);
/* Writes a pending entry durably; *id gets its number. */
kc_rc kc_journal_add(struct kc_journal *j, int64_t now, const char *kiosk, const char *payment,
                     const char *statement_hash, const char *request, int64_t *id);
/* The newest entry for a payment that is pending or delivered (KC_E_NOT_FOUND when none);
 * *request (malloc'd) gets its request. */
kc_rc kc_journal_find_payment(struct kc_journal *j, const char *payment, struct kc_entry *e,
                              char **request);
/* The oldest pending entry after id after_id (KC_E_NOT_FOUND when none). */
kc_rc kc_journal_next_pending(struct kc_journal *j, int64_t after_id, struct kc_entry *e,
                              char **request);
kc_rc kc_journal_attempt(struct kc_journal *j, int64_t id, const char *error);
kc_rc kc_journal_delivered(struct kc_journal *j, int64_t id, int64_t now, const char *receipt,
                           const char *receipt_id);
kc_rc kc_journal_refused(struct kc_journal *j, int64_t id, const char *code);
kc_rc kc_journal_each_entry(struct kc_journal *j, bool (*fn)(void *arg, const struct kc_entry *e),
                            void *arg);
int kc_journal_count(struct kc_journal *j, enum kc_entry_state s);
/*
 * The status cache, in the journal's database: one row a card (card: hex of SHA-256 of its 9E
 * certificate) with the signed status token and when it was verified.
 */
kc_rc kc_cache_put(struct kc_journal *j, const char *card, const char *token, int64_t now);
/* KC_E_NOT_FOUND when the card has none; *token malloc'd. */
kc_rc kc_cache_get(struct kc_journal *j, const char *card, char **token, int64_t *verified_at);
/* Deletes the rows verified before before. */
kc_rc kc_cache_purge(struct kc_journal *j, int64_t before);
/* Deletes the card's row (NULL: every row). */
kc_rc kc_cache_forget(struct kc_journal *j, const char *card);
/* Rows in the cache (tests), -1 on error. */
int kc_cache_count(struct kc_journal *j);

/* ---- verify.c ---- */
/* b64url(SHA-256(p))[0..22] into out (cap >= 23). */
kc_rc kc_statement_hash(const uint8_t *p, size_t n, char out[32]);
/* Loads a PEM certificate file as DER. */
kc_rc kc_load_cert_der(const char *path, uint8_t *der, size_t cap, size_t *len, char *why,
                       size_t why_cap);
/* SHA-256 of n bytes. */
kc_rc kc_sha256(const void *p, size_t n, uint8_t out[32]);
/* Checks a receipt payload against the statement hash and payment it answers. */
kc_rc kc_receipt_fill(json_t *payload, const char *token, const char *statement_hash,
                      const char *payment, struct kc_receipt *out, char *why, size_t why_cap);

/* ---- appointments.c: the checks of each answer, also for the unit tests ---- */
/*
 * An id-session payload into out. When want is given (what the chip's citizen
 * ID number says: its masked form, sex, birth and, unless "", province) the
 * session must name the same.
 */
kc_rc kc_id_session_fill(json_t *payload, const struct kc_id_session *want,
                         struct kc_id_session *out, char *why, size_t why_cap);
kc_rc kc_offices_check(json_t *payload, char *why, size_t why_cap);
kc_rc kc_availability_check(json_t *payload, const char *office, const char *service,
                            const char *from, int days, char *why, size_t why_cap);
kc_rc kc_mine_check(json_t *payload, char *why, size_t why_cap);
/* A ticket payload into out (token: its JWS, copied). */
kc_rc kc_ticket_fill(json_t *payload, const char *token, struct kc_ticket *out, char *why,
                     size_t why_cap);
/* The ID-session request body (sorted keys, compact) in a wiped-on-free buffer. */
struct cl_emrtd_evidence;
kc_rc kc_id_request(const char *nonce, const struct cl_emrtd_evidence *ev, struct hm_buf *out);

#endif
