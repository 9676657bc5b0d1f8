/*
 * The audit log (server/src/api/audit.c): every state change appended in the
 * transaction that makes it, hash-chained (each record's hash covers the
 * previous record's hash and its own fields in a canonical encoding), with
 * checkpoints signed by the signing key every so many records. Verification
 * walks the chain and checks every checkpoint's signature, so an edited,
 * deleted, inserted or reordered record is found and named.
 */
#ifndef HS_AUDIT_H
#define HS_AUDIT_H

#include "hs/db.h"
#include "hs/signer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_AUDIT_HASH 32

struct hs_audit_rec {
    const char *actor;   /* "kiosk:kiosk-hz-001", "admin:root", "server" */
    const char *action;  /* "kiosk.enroll", "card.revoke", "nonce.issue"... */
    const char *subject; /* what it acted on: an id or a masked number, never a full ID or secret */
    const char *detail;  /* compact JSON or "" */
    int64_t at;          /* unix seconds */
};

/*
 * Appends a record inside the caller's write transaction (hs_store_write);
 * *seq (may be NULL) gets its sequence number. The chain head is locked until
 * the transaction ends, so appends from several processes stay in one order.
 */
hs_rc hs_audit_append(struct hs_conn *c, const struct hs_audit_rec *r, int64_t *seq);

/*
 * The same append as a step of hs_exec_steps(), so it travels with the
 * write function's other statements (one round trip on PostgreSQL): fills
 * *step with the record's INSERT, reading and locking the chain head first
 * if the transaction has not yet. Its parameters live in *as and point at
 * r's strings; both must stay until the steps have run. When the steps
 * held, hs_audit_step_done() moves the head past the record; when they did
 * not, there is nothing to undo. Only in the committer's write functions,
 * where the head is kept in memory (HS_E_INVALID_ARG elsewhere).
 */
struct hs_audit_step {
    struct hs_val p[8];
    uint8_t prev_hash[HS_AUDIT_HASH], hash[HS_AUDIT_HASH];
    int64_t seq;
};
hs_rc hs_audit_step(struct hs_conn *c, const struct hs_audit_rec *r, struct hs_audit_step *as,
                    struct hs_step *step);
void hs_audit_step_done(struct hs_conn *c, const struct hs_audit_step *as);

/*
 * Takes the chain head's lock now, inside the caller's write transaction, as
 * the append later would. A write function that locks other rows (a slot's
 * places) calls it first, so every process takes its locks in one order
 * (head first) and two batches on PostgreSQL never wait for each other in a
 * circle (a deadlock costs a second before the server notices).
 */
hs_rc hs_audit_lock(struct hs_conn *c);

/* Writes a signed checkpoint over the current head if checkpoint_every records
 * passed since the last one (or always when force). */
hs_rc hs_audit_checkpoint(struct hs_store *st, struct hs_signer *s, int every, bool force,
                          int64_t now);

struct hs_audit_report {
    int64_t records;     /* records checked */
    int64_t checkpoints; /* checkpoints whose signature verified */
    int64_t bad_seq;     /* the first bad record (0 when the chain is good) */
    char reason[256];    /* what is wrong: "record 17: hash does not match its content" */
};

/*
 * Verifies the whole chain and every checkpoint against the signing
 * certificate (DER). HS_OK when good, HS_E_AUDIT_BROKEN with the report
 * naming the first bad record otherwise.
 */
hs_rc hs_audit_verify(struct hs_store *st, const uint8_t *cert_der, size_t cert_len,
                      struct hs_audit_report *rep);

#endif
