/*
 * For the storage tests only (tests/server/storage): not part of the
 * interface in hs/db.h, and nothing else may include it.
 */
#ifndef HS_STORAGE_TEST_HOOK_H
#define HS_STORAGE_TEST_HOOK_H

#include "hs/db.h"

/*
 * Runs portable SQL (several statements, BLOB read as BYTEA on PostgreSQL)
 * on a fresh connection to cfg's database, without migrations: lets a test
 * wipe the database or damage it on purpose.
 */
hs_rc hs_storage_test_script(const struct hs_store_config *cfg, const char *sql);

#endif
