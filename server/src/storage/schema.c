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

const struct hs_migration hs_migrations[] = {
    { .version = 1, .name = "base schema", .sql = schema_v1, .seed = seed_audit_head },
};

const size_t hs_migrations_count = sizeof(hs_migrations) / sizeof(hs_migrations[0]);
