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

/*
 * Version 4: marriage-registration appointments (issue 8).
 *
 * offices: the registries (婚姻登记处) kiosks book at, as huimin-admin import
 * offices loads them: region the 6-digit GB/T 2260 code, cross_province 1
 * for 跨省通办, services the service names separated by ';', hours the
 * week's opening hours as the bureau writes them (hs_marriage_hours_parse),
 * slot_minutes and capacity (bookings per slot: the windows).
 *
 * office_days: closures (kind 'closed') and special dates (kind 'special',
 * with their own capacity, optionally their own hours, and opens_at, the
 * unix time booking opens; NULL for the usual book_ahead_days window), by
 * office and day (YYYY-MM-DD).
 *
 * slot_counts: the places of one slot (office, day, start "HH:MM"), made on
 * the first booking with the capacity of that day; booked is raised only by
 * "UPDATE ... SET booked = booked + 1 WHERE ... AND booked < capacity", so a
 * slot cannot be overbooked however requests race, and lowered by the
 * cancellation or rescheduling that frees a place.
 *
 * appointments: one booking (its id is the ticket's t), status booked,
 * checked_in, cancelled, rescheduled (replaced by the appointment whose
 * replaces names it) or no_show; ticket is the signed JWS as issued.
 *
 * appointment_parties: who an appointment is for, one row a party: person is
 * the person key (b64url HMAC of the citizen ID, never the number), with the
 * name and the masked number for the ticket. active is 1 while the
 * appointment is booked; the partial unique index makes a second active
 * booking of the same person for the same service impossible, on SQLite and
 * on PostgreSQL, whichever server process tries.
 *
 * id_sessions: an ID card verified at a kiosk: the person key, what the card
 * says (name, masked number, sex, birth date, province) and the citizen ID
 * sealed under the seal key (AES-256-GCM, the session id as associated
 * data), which the rules need and which is deleted with the session.
 *
 * marriages: the registry's facts about a person (huimin-admin import
 * marriages), keyed by the person key: status (enum hs_marriage_status),
 * spouse (the spouse's person key while married), hukou_region ('' when
 * unknown) and divorce_applied (the day a pending divorce application was
 * received, or NULL).
 *
 * no_shows: appointments a person missed, by day.
 */
static const char schema_v4[] =
    "CREATE TABLE offices ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " region TEXT NOT NULL,"
    " cross_province INTEGER NOT NULL,"
    " services TEXT NOT NULL,"
    " hours TEXT NOT NULL,"
    " slot_minutes INTEGER NOT NULL,"
    " capacity INTEGER NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE office_days ("
    " office_id TEXT NOT NULL REFERENCES offices (id),"
    " day TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('closed', 'special')),"
    " capacity INTEGER,"
    " hours TEXT NOT NULL,"
    " opens_at BIGINT,"
    " note TEXT NOT NULL,"
    " PRIMARY KEY (office_id, day));"
    "CREATE TABLE slot_counts ("
    " office_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " slot TEXT NOT NULL,"
    " capacity INTEGER NOT NULL,"
    " booked INTEGER NOT NULL CHECK (booked >= 0),"
    " PRIMARY KEY (office_id, day, slot));"
    "CREATE TABLE appointments ("
    " id TEXT PRIMARY KEY,"
    " service TEXT NOT NULL,"
    " office_id TEXT NOT NULL REFERENCES offices (id),"
    " day TEXT NOT NULL,"
    " slot TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'cancelled', "
    "'rescheduled', 'no_show')),"
    " kiosk_id TEXT NOT NULL,"
    " replaces TEXT,"
    " ticket TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE INDEX appointments_day ON appointments (office_id, day, slot);"
    "CREATE TABLE appointment_parties ("
    " appointment_id TEXT NOT NULL REFERENCES appointments (id),"
    " party INTEGER NOT NULL,"
    " person TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " id_masked TEXT NOT NULL,"
    " active INTEGER NOT NULL,"
    " PRIMARY KEY (appointment_id, party));"
    "CREATE UNIQUE INDEX appointment_parties_active ON appointment_parties (person, service) "
    "WHERE active = 1;"
    "CREATE INDEX appointment_parties_person ON appointment_parties (person);"
    "CREATE TABLE id_sessions ("
    " id TEXT PRIMARY KEY,"
    " kiosk_id TEXT NOT NULL,"
    " person TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " id_masked TEXT NOT NULL,"
    " sex TEXT NOT NULL,"
    " birth TEXT NOT NULL,"
    " province TEXT NOT NULL,"
    " sealed_id BLOB NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL);"
    "CREATE INDEX id_sessions_expires_at ON id_sessions (expires_at);"
    "CREATE TABLE marriages ("
    " person TEXT PRIMARY KEY,"
    " status INTEGER NOT NULL,"
    " spouse TEXT,"
    " hukou_region TEXT NOT NULL,"
    " divorce_applied TEXT,"
    " updated_at BIGINT NOT NULL);"
    "CREATE TABLE no_shows ("
    " person TEXT NOT NULL,"
    " appointment_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " PRIMARY KEY (person, appointment_id));";

/*
 * Version 5: calling staff (呼叫工作人员, issue 9).
 *
 * staff_calls replaces version 1's placeholder of the same name (free-text
 * reason, integer status, no exception): a kiosk's call for hall staff, with
 * reason one of help, card_problem, pin_blocked, dispute or other, screen the
 * kiosk screen the resident was on (NULL when not said), resident_id the
 * resident of the live card session given with the call (NULL: none, or a
 * card whose holder is not a registered resident), at the time of the call,
 * status open until hall staff close it (closed_at, with their note; '' when
 * none). staff_calls_kiosk serves the 120-second repeat rule (the last call
 * of a kiosk), staff_calls_open the count of open calls per office.
 *
 * The placeholder's rows are kept: their text becomes the note of an 'other'
 * call, and each open one gets its exception in the hall staff's queue (id
 * 'v1-' and the call's id), so no call is lost. The new table is made under
 * another name and renamed because PostgreSQL keeps the index names of a
 * renamed table (the old primary key would hold staff_calls_pkey).
 */
static const char schema_v5[] =
    "CREATE TABLE staff_calls_v5 ("
    " id TEXT PRIMARY KEY,"
    " kiosk_id TEXT NOT NULL,"
    " reason TEXT NOT NULL CHECK (reason IN ('help', 'card_problem', 'pin_blocked', 'dispute', "
    "'other')),"
    " screen TEXT,"
    " resident_id TEXT,"
    " at BIGINT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    " closed_at BIGINT,"
    " note TEXT NOT NULL);"
    "INSERT INTO staff_calls_v5 (id, kiosk_id, reason, screen, resident_id, at, status, "
    "closed_at, note) SELECT id, kiosk_id, 'other', NULL, NULL, created_at, CASE WHEN status = 1 "
    "THEN 'open' ELSE 'closed' END, NULL, reason FROM staff_calls;"
    "INSERT INTO exceptions (id, kind, subject, kiosk_id, at, status) SELECT 'v1-' || id, "
    "'staff_call', id, kiosk_id, created_at, 'open' FROM staff_calls WHERE status = 1;"
    "DROP TABLE staff_calls;"
    "ALTER TABLE staff_calls_v5 RENAME TO staff_calls;"
    "CREATE INDEX staff_calls_kiosk ON staff_calls (kiosk_id, at);"
    "CREATE INDEX staff_calls_open ON staff_calls (kiosk_id) WHERE status = 'open';"
    "CREATE INDEX exceptions_subject ON exceptions (kind, subject);";

const struct hs_migration hs_migrations[] = {
    { .version = 1, .name = "base schema", .sql = schema_v1, .seed = seed_audit_head },
    { .version = 2, .name = "residents, programmes, entitlements, payments", .sql = schema_v2 },
    { .version = 3, .name = "confirmations, disputes, exceptions", .sql = schema_v3 },
    { .version = 4, .name = "offices, appointments, ID sessions, marriages", .sql = schema_v4 },
    { .version = 5, .name = "staff calls", .sql = schema_v5 },
};

const size_t hs_migrations_count = sizeof(hs_migrations) / sizeof(hs_migrations[0]);
