/* The draw list's storage, millimetres to pixels and money as text: the small shared pieces. */
#include "ui.h"

#include "hm/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ku_draw_clear(struct ku_draw_list *l)
{
    /* The arena held the resident's name and amounts: wipe what was used. */
    hm_wipe(l->arena, l->used);
    l->used = 0;
    l->n = 0;
    l->overflow = false;
}

const char *ku_cmd_text(const struct ku_draw_list *l, const struct ku_cmd *c)
{
    return c->text < l->used ? l->arena + c->text : "";
}

int ku_mm(double dpi, double mm)
{
    return (int)ceil(mm * dpi / 25.4 - 1e-9);
}

void ku_money(int64_t fen, char *buf, size_t cap)
{
    uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1u : (uint64_t)fen;

    snprintf(buf, cap, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(a / 100u),
             (unsigned long long)(a % 100u));
}
