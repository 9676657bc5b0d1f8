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

/* Appends the Chinese words of 0 < n < 10000; lead says nothing came before (十 not 一十). */
static void zh_section(unsigned n, bool lead, char *buf, size_t cap)
{
    static const char *const d[] = { "零", "一", "二", "三", "四", "五", "六", "七", "八", "九" };
    static const char *const unit[] = { "", "十", "百", "千" };
    static const unsigned pow10[] = { 1, 10, 100, 1000 };
    bool started = false, zero = false;

    for (int pos = 3; pos >= 0; pos--) {
        unsigned digit = n / pow10[pos] % 10;
        size_t o = strlen(buf);

        if (!digit) {
            zero = started;
            continue;
        }
        if (zero)
            o += (size_t)snprintf(buf + o, cap - o, "%s", d[0]);
        zero = false;
        if (digit == 1 && pos == 1 && !started && lead)
            snprintf(buf + o, cap - o, "%s", unit[pos]);
        else
            snprintf(buf + o, cap - o, "%s%s", d[digit], unit[pos]);
        started = true;
    }
}

void ku_money_words(int64_t fen, enum ku_lang lang, char *buf, size_t cap)
{
    uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1u : (uint64_t)fen;
    uint64_t yuan = a / 100u;
    unsigned jiao = (unsigned)(a / 10u % 10u), f = (unsigned)(a % 10u);

    if (!cap)
        return;
    buf[0] = '\0';
    if (lang == KU_LANG_EN) {
        if (a % 100u)
            snprintf(buf, cap, "%s%llu yuan %llu fen", fen < 0 ? "minus " : "",
                     (unsigned long long)yuan, (unsigned long long)(a % 100u));
        else
            snprintf(buf, cap, "%s%llu yuan", fen < 0 ? "minus " : "", (unsigned long long)yuan);
        return;
    }
    /* Digits espeak reads well enough, but words are what a cashier says: 七百五十元. */
    if (fen < 0)
        hm_strlcpy(buf, "负", cap);
    if (yuan >= 100000000u) {
        size_t o = strlen(buf);

        snprintf(buf + o, cap - o, "%llu元", (unsigned long long)yuan);
    } else if (yuan) {
        unsigned hi = (unsigned)(yuan / 10000u), lo = (unsigned)(yuan % 10000u);

        if (hi) {
            zh_section(hi, true, buf, cap);
            hm_strlcpy(buf + strlen(buf), "万", cap - strlen(buf));
            if (lo && lo < 1000)
                hm_strlcpy(buf + strlen(buf), "零", cap - strlen(buf));
        }
        if (lo)
            zh_section(lo, !hi, buf, cap);
        hm_strlcpy(buf + strlen(buf), "元", cap - strlen(buf));
    } else if (!jiao && !f) {
        hm_strlcpy(buf + strlen(buf), "零元", cap - strlen(buf));
    }
    if (jiao || f) {
        static const char *const d[] = {
            "零", "一", "二", "三", "四", "五", "六", "七", "八", "九"
        };
        size_t o = strlen(buf);

        if (jiao)
            o += (size_t)snprintf(buf + o, cap - o, "%s角", d[jiao]);
        else if (yuan)
            o += (size_t)snprintf(buf + o, cap - o, "零");
        if (f)
            snprintf(buf + o, cap - o, "%s分", d[f]);
    }
}
