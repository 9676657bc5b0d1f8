/*
 * Buffered multi-row INSERTs for huimin-gen (bench/gen/gen_insert.c): rows
 * are collected and written K at a time with one "INSERT ... VALUES (...),
 * (...)" statement, which saves a round trip per row on PostgreSQL and a
 * statement step per row on SQLite.
 *
 * The SQL texts are built here and live as long as the gen_insert, which
 * must therefore outlive the store (hs/db.h caches prepared statements by
 * the address of their text): free it after hs_store_close().
 */
#ifndef GEN_INSERT_H
#define GEN_INSERT_H

#include "hs/db.h"

#include <stddef.h>
#include <stdint.h>

struct gen_insert;

/*
 * head: "INSERT INTO payments (id, ..., created_at, updated_at) VALUES ";
 * shape: for each column of the statement, the 1-based parameter of the row
 * that fills it ({1, 2, ..., 9, 9} repeats created_at as updated_at);
 * nparams: the parameters of one row; rows_per_stmt: K (1..1000). NULL when
 * out of memory or the arguments are wrong.
 */
struct gen_insert *gen_insert_new(const char *head, const int *shape, int ncols, int nparams,
                                  int rows_per_stmt);
/* NULL is a no-op. */
void gen_insert_free(struct gen_insert *gi);

/* Drops the rows not yet written (a batch that is being run again). */
void gen_insert_reset(struct gen_insert *gi);

/* The next parameter of the current row; text is copied. False when out of memory. */
bool gen_insert_text(struct gen_insert *gi, const char *s);
bool gen_insert_opt_text(struct gen_insert *gi, const char *s); /* "" is NULL */
bool gen_insert_int(struct gen_insert *gi, int64_t v);

/* Rows held, complete ones only. */
size_t gen_insert_rows(const struct gen_insert *gi);

/* Writes every held row on c (in statements of K rows, then one of the rest). */
hs_rc gen_insert_flush(struct gen_insert *gi, struct hs_conn *c);

#endif
