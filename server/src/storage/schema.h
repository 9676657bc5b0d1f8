/*
 * The schema as an ordered list of migrations (schema.c), applied by
 * store.c. To change the schema, append a migration with the next version:
 * never edit one that has shipped.
 */
#ifndef HS_STORAGE_SCHEMA_H
#define HS_STORAGE_SCHEMA_H

#include "hs/db.h"

#include <stddef.h>

struct hs_migration {
    int version; /* 1, 2, 3 ... in order, no gaps */
    const char *name;
    /*
     * Portable DDL, several statements allowed: types BIGINT, INTEGER, TEXT
     * and BLOB (read as BYTEA by PostgreSQL), no parameters.
     */
    const char *sql;
    /* Runs after sql in the same transaction, for rows that need parameters; may be NULL. */
    hs_rc (*seed)(struct hs_conn *c);
};

extern const struct hs_migration hs_migrations[];
extern const size_t hs_migrations_count;

#endif
