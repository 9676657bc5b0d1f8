/* The list of schema migrations: the database's history, one version at a time. */
#include "schema.h"

#include <stdint.h>

/* Version 1 seeds the audit chain's head: sequence 0 and a hash of 32 zero bytes. */
static hs_rc seed_audit_head(struct hs_conn *c)
{
    static const uint8_t zero_hash[32];
    const struct hs_val params[] = { hs_blob(zero_hash, sizeof(zero_hash)) };

    return hs_exec(c, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1)", params, 1, NULL);
}

static const char schema_v1[] = "CREATE TABLE kiosks ("
                                " id TEXT PRIMARY KEY,"
                                " name TEXT NOT NULL,"
                                " office TEXT NOT NULL,"
                                " cert_sha256 TEXT NOT NULL UNIQUE,"
                                " cert_serial TEXT NOT NULL,"
                                " status INTEGER NOT NULL,"
                                " enrolled_at BIGINT NOT NULL,"
                                " revoked_at BIGINT,"
                                " reason TEXT);"
                                "CREATE TABLE cards ("
                                " cert_serial TEXT PRIMARY KEY,"
                                " welfare_no TEXT NOT NULL,"
                                " holder TEXT NOT NULL,"
                                " status INTEGER NOT NULL,"
                                " issued_at BIGINT NOT NULL,"
                                " revoked_at BIGINT,"
                                " reason TEXT,"
                                " sealed_puk BLOB);"
                                "CREATE INDEX cards_welfare_no ON cards (welfare_no);"
                                "CREATE TABLE nonces ("
                                " nonce TEXT PRIMARY KEY,"
                                " kiosk_id TEXT NOT NULL,"
                                " purpose TEXT NOT NULL,"
                                " created_at BIGINT NOT NULL,"
                                " expires_at BIGINT NOT NULL,"
                                " used_at BIGINT);"
                                "CREATE INDEX nonces_expires_at ON nonces (expires_at);"
                                "CREATE TABLE card_sessions ("
                                " id TEXT PRIMARY KEY,"
                                " kiosk_id TEXT NOT NULL,"
                                " cert_serial TEXT NOT NULL,"
                                " welfare_no TEXT NOT NULL,"
                                " created_at BIGINT NOT NULL,"
                                " expires_at BIGINT NOT NULL);"
                                "CREATE TABLE audit ("
                                " seq BIGINT PRIMARY KEY,"
                                " at BIGINT NOT NULL,"
                                " actor TEXT NOT NULL,"
                                " action TEXT NOT NULL,"
                                " subject TEXT NOT NULL,"
                                " detail TEXT NOT NULL,"
                                " prev_hash BLOB NOT NULL,"
                                " hash BLOB NOT NULL);"
                                "CREATE TABLE audit_head ("
                                " id INTEGER PRIMARY KEY CHECK (id = 1),"
                                " seq BIGINT NOT NULL,"
                                " hash BLOB NOT NULL);"
                                "CREATE TABLE audit_checkpoints ("
                                " seq BIGINT PRIMARY KEY,"
                                " at BIGINT NOT NULL,"
                                " hash BLOB NOT NULL,"
                                " jws TEXT NOT NULL);"
                                "CREATE TABLE staff_calls ("
                                " id TEXT PRIMARY KEY,"
                                " kiosk_id TEXT NOT NULL,"
                                " created_at BIGINT NOT NULL,"
                                " reason TEXT NOT NULL,"
                                " status INTEGER NOT NULL);";

/*
 * Version 2: the benefit data that huimin-admin import loads and the benefit
 * logic reads. Keys are the bureau's own identifiers (TEXT). Money is BIGINT
 * fen; dates are TEXT "YYYY-MM-DD" and periods "YYYY-MM", which sort as they
 * read. Status and flag values are the enums of hs/import.h. Times are unix
 * seconds.
 */
static const char schema_v2[] =
    /* A programme as one region runs it: period is the unit its standard is quoted in
     * (month, year, once), standard_fen is NULL when the sources quote none, form is
     * cash or service (养老服务补贴 is delivered as care, not money), care_tier is
     * '' or full / partial / self for the 特困 care allowance. */
    "CREATE TABLE programmes ("
    " code TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " form TEXT NOT NULL,"
    " period TEXT NOT NULL,"
    " standard_fen BIGINT,"
    " care_tier TEXT NOT NULL,"
    " region_code TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    /* A resident: citizen_id is the full number (shown masked everywhere), welfare_no
     * the card's number (NULL until a card is issued), flags enum hs_resident_flag. */
    "CREATE TABLE residents ("
    " id TEXT PRIMARY KEY,"
    " citizen_id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " welfare_no TEXT UNIQUE,"
    " birth_date TEXT NOT NULL,"
    " region_code TEXT NOT NULL,"
    " flags BIGINT NOT NULL,"
    " phone TEXT,"
    " created_at BIGINT NOT NULL);"
    /* What a resident receives from a programme: amount_fen per period (month, year,
     * once), from start_date to end_date (NULL: open), status enum
     * hs_entitlement_status with the reason for it. */
    "CREATE TABLE entitlements ("
    " id TEXT PRIMARY KEY,"
    " resident_id TEXT NOT NULL REFERENCES residents (id),"
    " programme TEXT NOT NULL REFERENCES programmes (code),"
    " amount_fen BIGINT NOT NULL,"
    " period TEXT NOT NULL,"
    " start_date TEXT NOT NULL,"
    " end_date TEXT,"
    " status INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE INDEX entitlements_resident ON entitlements (resident_id);"
    /* One payment of an entitlement for a period (YYYY-MM): the channel (bank, sscard,
     * cash, service) with the account masked ("****1234"; the full number is never
     * stored), paid_date NULL while scheduled, status enum hs_payment_status. */
    "CREATE TABLE payments ("
    " id TEXT PRIMARY KEY,"
    " entitlement_id TEXT NOT NULL REFERENCES entitlements (id),"
    " period TEXT NOT NULL,"
    " amount_fen BIGINT NOT NULL,"
    " channel TEXT NOT NULL,"
    " account_masked TEXT NOT NULL,"
    " paid_date TEXT,"
    " status INTEGER NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE INDEX payments_entitlement ON payments (entitlement_id, period);";

/*
 * Version 3: what residents do at a kiosk with their benefits (issue 7).
 *
 * confirmations: a payment's one confirmation of receipt (确认领取); the
 * primary key on payment_id is what makes it exactly one. The statement the
 * card signed is kept byte for byte with its SHA-256, the card's signature
 * (DER ECDSA), the certificate it was checked against (DER), the key used
 * ('9c' or '9e'), the proof ('pin': 9C after VERIFY PIN; 'tap': 9E, for a
 * tap-only resident), the confirm nonce, the kiosk, the card session (NULL
 * for a delivery from a kiosk's journal), the time it was stored and the
 * signed receipt (compact JWS), so a retry gets the very same token.
 *
 * disputes: a resident's objection to a payment, with reason not_received,
 * wrong_amount or other, an optional note ('' when none), status open until
 * hall staff resolve or reject it.
 *
 * exceptions: the hall staff's queue; kind names what needs a person
 * ('dispute' today; failed checks, revoked cards and staff calls later),
 * subject the row it is about (a dispute id), status open or closed.
 */
static const char schema_v3[] =
    "CREATE TABLE confirmations ("
    " payment_id TEXT PRIMARY KEY REFERENCES payments (id),"
    " receipt_id TEXT NOT NULL UNIQUE,"
    " statement BLOB NOT NULL,"
    " statement_sha256 BLOB NOT NULL,"
    " signature BLOB NOT NULL,"
    " cert BLOB NOT NULL,"
    " key_ref TEXT NOT NULL CHECK (key_ref IN ('9c', '9e')),"
    " proof TEXT NOT NULL CHECK (proof IN ('pin', 'tap')),"
    " nonce TEXT NOT NULL,"
    " kiosk_id TEXT NOT NULL,"
    " session_id TEXT,"
    " at BIGINT NOT NULL,"
    " receipt TEXT NOT NULL);"
    "CREATE TABLE disputes ("
    " id TEXT PRIMARY KEY,"
    " payment_id TEXT NOT NULL REFERENCES payments (id),"
    " reason TEXT NOT NULL CHECK (reason IN ('not_received', 'wrong_amount', 'other')),"
    " note TEXT NOT NULL,"
    " kiosk_id TEXT NOT NULL,"
    " at BIGINT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'rejected')));"
    "CREATE INDEX disputes_payment ON disputes (payment_id);"
    "CREATE TABLE exceptions ("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " kiosk_id TEXT NOT NULL,"
    " at BIGINT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'closed')));"
    "CREATE INDEX exceptions_status ON exceptions (status, at);";

const struct hs_migration hs_migrations[] = {
    { .version = 1, .name = "base schema", .sql = schema_v1, .seed = seed_audit_head },
    { .version = 2, .name = "residents, programmes, entitlements, payments", .sql = schema_v2 },
    { .version = 3, .name = "confirmations, disputes, exceptions", .sql = schema_v3 },
};

const size_t hs_migrations_count = sizeof(hs_migrations) / sizeof(hs_migrations[0]);
