/* Collects huimin-gen's rows and writes them many to a statement, because one INSERT per row
 * costs a round trip each on PostgreSQL and is the slowest part of a bulk load. */
#include "gen_insert.h"

#include "hm/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parameter held until the flush: text as an offset into the arena, which may move. */
struct cell {
    enum hs_type type;
    int64_t i;
    size_t off;
};

struct gen_insert {
    const char *head;
    int *shape;
    int ncols, nparams, k;
    char **sql; /* sql[n]: the statement for n rows (1..k), built when first needed */

    struct cell *cells;
    size_t ncells, cap_cells;
    char *arena;
    size_t arena_len, arena_cap;
    struct hs_val *vals; /* k * nparams, for one statement */
};

struct gen_insert *gen_insert_new(const char *head, const int *shape, int ncols, int nparams,
                                  int rows_per_stmt)
{
    struct gen_insert *gi;

    if (!head || !shape || ncols < 1 || nparams < 1 || rows_per_stmt < 1 || rows_per_stmt > 1000)
        return NULL;
    for (int i = 0; i < ncols; i++)
        if (shape[i] < 1 || shape[i] > nparams)
            return NULL;
    gi = calloc(1, sizeof(*gi));
    if (!gi)
        return NULL;
    gi->head = head;
    gi->ncols = ncols;
    gi->nparams = nparams;
    gi->k = rows_per_stmt;
    gi->shape = calloc((size_t)ncols, sizeof(int));
    gi->sql = calloc((size_t)rows_per_stmt + 1, sizeof(char *));
    gi->vals = calloc((size_t)rows_per_stmt * (size_t)nparams, sizeof(struct hs_val));
    if (!gi->shape || !gi->sql || !gi->vals) {
        gen_insert_free(gi);
        return NULL;
    }
    memcpy(gi->shape, shape, (size_t)ncols * sizeof(int));
    return gi;
}

void gen_insert_free(struct gen_insert *gi)
{
    if (!gi)
        return;
    for (int i = 0; gi->sql && i <= gi->k; i++)
        free(gi->sql[i]);
    free(gi->sql);
    free(gi->shape);
    free(gi->cells);
    free(gi->arena);
    free(gi->vals);
    free(gi);
}

void gen_insert_reset(struct gen_insert *gi)
{
    gi->ncells = 0;
    gi->arena_len = 0;
}

static struct cell *push(struct gen_insert *gi)
{
    if (gi->ncells == gi->cap_cells) {
        size_t cap = gi->cap_cells ? gi->cap_cells * 2 : 4096;
        struct cell *c = realloc(gi->cells, cap * sizeof(*c));
        if (!c)
            return NULL;
        gi->cells = c;
        gi->cap_cells = cap;
    }
    return &gi->cells[gi->ncells++];
}

bool gen_insert_text(struct gen_insert *gi, const char *s)
{
    size_t n = strlen(s) + 1;

    if (gi->arena_cap - gi->arena_len < n) {
        size_t cap = gi->arena_cap ? gi->arena_cap : 65536;
        while (cap - gi->arena_len < n)
            cap *= 2;
        char *a = realloc(gi->arena, cap);
        if (!a)
            return false;
        gi->arena = a;
        gi->arena_cap = cap;
    }
    struct cell *c = push(gi);
    if (!c)
        return false;
    memcpy(gi->arena + gi->arena_len, s, n);
    *c = (struct cell){ .type = HS_TEXT, .off = gi->arena_len };
    gi->arena_len += n;
    return true;
}

bool gen_insert_opt_text(struct gen_insert *gi, const char *s)
{
    if (s && s[0])
        return gen_insert_text(gi, s);
    struct cell *c = push(gi);
    if (!c)
        return false;
    *c = (struct cell){ .type = HS_NULL };
    return true;
}

bool gen_insert_int(struct gen_insert *gi, int64_t v)
{
    struct cell *c = push(gi);

    if (!c)
        return false;
    *c = (struct cell){ .type = HS_INT, .i = v };
    return true;
}

size_t gen_insert_rows(const struct gen_insert *gi)
{
    return gi->ncells / (size_t)gi->nparams;
}

/* The statement for n rows: head, then n groups of placeholders. */
static const char *sql_for(struct gen_insert *gi, int n)
{
    struct hm_buf b;
    size_t len;

    if (gi->sql[n])
        return gi->sql[n];
    hm_buf_init(&b, 1u << 20);
    bool ok = hm_buf_add_str(&b, gi->head);
    for (int r = 0; ok && r < n; r++) {
        ok = hm_buf_add_str(&b, r ? ", (" : "(");
        for (int c = 0; ok && c < gi->ncols; c++)
            ok = hm_buf_addf(&b, "%s$%d", c ? ", " : "", r * gi->nparams + gi->shape[c]);
        ok = ok && hm_buf_add_str(&b, ")");
    }
    if (!ok) {
        hm_buf_free(&b);
        return NULL;
    }
    gi->sql[n] = (char *)hm_buf_take(&b, &len);
    return gi->sql[n];
}

hs_rc gen_insert_flush(struct gen_insert *gi, struct hs_conn *c)
{
    size_t rows = gen_insert_rows(gi), done = 0;
    hs_rc rc = HS_OK;

    while (done < rows && rc == HS_OK) {
        int n = rows - done >= (size_t)gi->k ? gi->k : (int)(rows - done);
        const char *sql = sql_for(gi, n);
        if (!sql)
            return HS_E_NO_MEMORY;
        const struct cell *cl = &gi->cells[done * (size_t)gi->nparams];
        int np = n * gi->nparams;
        for (int i = 0; i < np; i++) {
            if (cl[i].type == HS_TEXT)
                gi->vals[i] = hs_text(gi->arena + cl[i].off);
            else if (cl[i].type == HS_INT)
                gi->vals[i] = hs_int(cl[i].i);
            else
                gi->vals[i] = hs_null();
        }
        rc = hs_exec(c, sql, gi->vals, np, NULL);
        done += (size_t)n;
    }
    gen_insert_reset(gi);
    return rc;
}
