/* Result sets: the one in-memory form both backends copy their rows into, and its accessors. */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most rows one result may hold: keeps nrows * ncols within int and memory sane. */
#define ROWS_MAX_CELLS (1u << 24)

hs_rc hs_rows_new(int ncols, struct hs_rows **out)
{
    struct hs_rows *r;

    *out = NULL;
    if (ncols < 0 || (unsigned)ncols > ROWS_MAX_CELLS)
        return HS_E_INVALID_ARG;
    r = calloc(1, sizeof(*r));
    if (!r)
        return HS_E_NO_MEMORY;
    r->ncols = ncols;
    *out = r;
    return HS_OK;
}

struct hs_cell *hs_rows_add_row(struct hs_rows *r)
{
    struct hs_cell *row;
    size_t ncols = (size_t)r->ncols;

    if (ncols == 0) {
        /* A row without columns still counts (SELECT with no columns is not SQL, but be safe). */
        if (r->nrows == INT_MAX)
            return NULL;
        r->nrows++;
        return r->cells;
    }
    if ((size_t)r->nrows == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct hs_cell *cells;

        if (cap * ncols > ROWS_MAX_CELLS)
            cap = ROWS_MAX_CELLS / ncols;
        if (cap <= r->cap)
            return NULL;
        cells = realloc(r->cells, cap * ncols * sizeof(*cells));
        if (!cells)
            return NULL;
        r->cells = cells;
        r->cap = cap;
    }
    row = r->cells + (size_t)r->nrows * ncols;
    memset(row, 0, ncols * sizeof(*row));
    r->nrows++;
    return row;
}

struct hs_rows_block {
    struct hs_rows_block *next;
    size_t used, cap;
    uint8_t data[];
};

#define BLOCK_FIRST 2048
#define BLOCK_MAX   65536

/* n bytes in r's blocks; a new block (twice the last, or as large as n) when they are full. */
static uint8_t *block_alloc(struct hs_rows *r, size_t n)
{
    struct hs_rows_block *b = r->blocks;

    if (!b || b->cap - b->used < n) {
        size_t cap = b ? b->cap * 2 : BLOCK_FIRST;

        if (cap > BLOCK_MAX)
            cap = BLOCK_MAX;
        if (cap < n)
            cap = n;
        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = r->blocks;
        b->used = 0;
        b->cap = cap;
        r->blocks = b;
    }
    uint8_t *p = b->data + b->used;
    b->used += n;
    return p;
}

uint8_t *hs_cell_alloc(struct hs_rows *r, struct hs_cell *c, enum hs_type type, size_t n)
{
    uint8_t *p;

    if (n == SIZE_MAX)
        return NULL;
    /* A cell set twice leaves its old bytes in the block until the result is freed. */
    p = block_alloc(r, n + 1);
    if (!p)
        return NULL;
    p[n] = 0;
    c->type = type;
    c->i = 0;
    c->p = p;
    c->n = n;
    return p;
}

hs_rc hs_cell_set_int(struct hs_rows *r, struct hs_cell *c, int64_t v)
{
    char num[24], *e = num + sizeof(num), *d = e;
    /* Digits from the end, without printf: results are made by the thousand. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--d = '-';
    uint8_t *p = hs_cell_alloc(r, c, HS_INT, (size_t)(e - d));

    if (!p)
        return HS_E_NO_MEMORY;
    memcpy(p, d, (size_t)(e - d));
    c->i = v;
    return HS_OK;
}

hs_rc hs_cell_set_text(struct hs_rows *r, struct hs_cell *c, const char *s, size_t n)
{
    uint8_t *p = hs_cell_alloc(r, c, HS_TEXT, n);
    int64_t v;

    if (!p)
        return HS_E_NO_MEMORY;
    if (n)
        memcpy(p, s, n);
    if (hs_parse_int64((const char *)p, &v))
        c->i = v;
    return HS_OK;
}

hs_rc hs_cell_set_blob(struct hs_rows *r, struct hs_cell *c, const void *src, size_t n)
{
    uint8_t *p = hs_cell_alloc(r, c, HS_BLOB, n);

    if (!p)
        return HS_E_NO_MEMORY;
    if (n)
        memcpy(p, src, n);
    return HS_OK;
}

bool hs_parse_int64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    /* strtoll alone accepts leading spaces and a '+'; the database never sends those. */
    if (!s || !(*s == '-' || (*s >= '0' && *s <= '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

static const struct hs_cell *cell(const struct hs_rows *r, int row, int col)
{
    const struct hs_cell *c;

    if (!r || row < 0 || col < 0 || row >= r->nrows || col >= r->ncols)
        return NULL;
    c = &r->cells[(size_t)row * (size_t)r->ncols + (size_t)col];
    return c->type == HS_NULL ? NULL : c;
}

int hs_rows_count(const struct hs_rows *r)
{
    return r ? r->nrows : 0;
}

int hs_rows_columns(const struct hs_rows *r)
{
    return r ? r->ncols : 0;
}

bool hs_rows_is_null(const struct hs_rows *r, int row, int col)
{
    return cell(r, row, col) == NULL;
}

int64_t hs_rows_int(const struct hs_rows *r, int row, int col)
{
    const struct hs_cell *c = cell(r, row, col);

    return c ? c->i : 0;
}

const char *hs_rows_text(const struct hs_rows *r, int row, int col)
{
    const struct hs_cell *c = cell(r, row, col);

    /* A blob is not text: it may hold NULs and need not be UTF-8. */
    if (!c || c->type == HS_BLOB)
        return "";
    return (const char *)c->p;
}

const uint8_t *hs_rows_blob(const struct hs_rows *r, int row, int col, size_t *len)
{
    const struct hs_cell *c = cell(r, row, col);

    if (!c) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = c->n;
    return c->p;
}

void hs_rows_free(struct hs_rows *r)
{
    if (!r)
        return;
    for (struct hs_rows_block *b = r->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(r->cells);
    free(r);
}
