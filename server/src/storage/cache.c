/* The per-connection cache of prepared statements, keyed by the address of their SQL text. */
#include "backend.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void hs_stmt_cache_init(struct hs_stmt_cache *c, void (*free_stmt)(void *stmt))
{
    memset(c, 0, sizeof(*c));
    c->free_stmt = free_stmt;
}

static size_t slot_of(const struct hs_stmt_cache *c, const char *key)
{
    uintptr_t h = (uintptr_t)key;

    /* Fibonacci hashing of the address; the low bits of a pointer say little. */
    h = (h >> 3) * (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 8) & (c->cap - 1);
}

static struct hs_stmt_slot *lookup(struct hs_stmt_cache *c, const char *key)
{
    size_t i;

    if (!c->cap)
        return NULL;
    for (i = slot_of(c, key);; i = (i + 1) & (c->cap - 1)) {
        if (c->slots[i].key == key || !c->slots[i].key)
            return &c->slots[i];
    }
}

void *hs_stmt_cache_find(struct hs_stmt_cache *c, const char *sql)
{
    struct hs_stmt_slot *s = lookup(c, sql);

    if (!s || !s->key || strcmp(s->text, sql) != 0)
        return NULL;
    return s->stmt;
}

/* Doubles the table; linear probing stays short below half full. */
static hs_rc grow(struct hs_stmt_cache *c)
{
    struct hs_stmt_cache bigger = *c;
    size_t i;

    bigger.cap = c->cap ? c->cap * 2 : 64;
    bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
    if (!bigger.slots)
        return HS_E_NO_MEMORY;
    for (i = 0; i < c->cap; i++) {
        if (c->slots[i].key)
            *lookup(&bigger, c->slots[i].key) = c->slots[i];
    }
    free(c->slots);
    *c = bigger;
    return HS_OK;
}

hs_rc hs_stmt_cache_put(struct hs_stmt_cache *c, const char *sql, void *stmt)
{
    struct hs_stmt_slot *s;
    char *text;

    if ((c->used + 1) * 2 > c->cap && grow(c) != HS_OK)
        return HS_E_NO_MEMORY;
    text = strdup(sql);
    if (!text)
        return HS_E_NO_MEMORY;
    s = lookup(c, sql);
    if (s->key) {
        /* The same address now holds other SQL: the old statement is stale. */
        c->free_stmt(s->stmt);
        free(s->text);
    } else {
        c->used++;
    }
    s->key = sql;
    s->text = text;
    s->stmt = stmt;
    return HS_OK;
}

void hs_stmt_cache_clear(struct hs_stmt_cache *c)
{
    size_t i;

    for (i = 0; i < c->cap; i++) {
        if (!c->slots[i].key)
            continue;
        c->free_stmt(c->slots[i].stmt);
        free(c->slots[i].text);
        c->slots[i].key = NULL;
    }
    c->used = 0;
}

void hs_stmt_cache_cleanup(struct hs_stmt_cache *c)
{
    hs_stmt_cache_clear(c);
    free(c->slots);
    c->slots = NULL;
    c->cap = 0;
}
