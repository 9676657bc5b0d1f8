/* Lays out each screen in millimetres: drawing commands and the touch targets they make. */
#include "app_int.h"

#include "hm/log.h"
#include "hm/util.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * Colours and sizes of one mode. Text sizes come from the normal theme only: 长辈模式 draws
 * them at exactly twice the pixels (ku_app_render), with high contrast and 27 mm targets.
 */
struct theme {
    uint32_t bg, fg, muted, head, head_fg, panel, panel_border, btn, btn_fg, btn2, btn2_fg, staff,
        staff_fg, warn, banner, banner_fg, ok, dim;
    double body_mm, title_mm, small_mm, big_mm, target_mm, margin_mm, gap_mm, radius_mm, border_mm;
};

static const struct theme normal_theme = {
    .bg = 0xF4F6FAFF,
    .fg = 0x1A1A1AFF,
    .muted = 0x4A505AFF,
    .head = 0x1259B8FF,
    .head_fg = 0xFFFFFFFF,
    .panel = 0xFFFFFFFF,
    .panel_border = 0xC9CFD8FF,
    .btn = 0x1259B8FF,
    .btn_fg = 0xFFFFFFFF,
    .btn2 = 0xE3E8F0FF,
    .btn2_fg = 0x1A1A1AFF,
    .staff = 0xB54708FF,
    .staff_fg = 0xFFFFFFFF,
    .warn = 0xB42318FF,
    .banner = 0xB42318FF,
    .banner_fg = 0xFFFFFFFF,
    .ok = 0x067647FF,
    .dim = 0x000000B0,
    .body_mm = 5.5,
    .title_mm = 9,
    .small_mm = 4.5,
    .big_mm = 12,
    .target_mm = 15,
    .margin_mm = 8,
    .gap_mm = 4,
    .radius_mm = 2.5,
    .border_mm = 0.3,
};

static const struct theme elder_theme = {
    .bg = 0x000000FF,
    .fg = 0xFFFFFFFF,
    .muted = 0xE6E6E6FF,
    .head = 0x000000FF,
    .head_fg = 0xFFD500FF,
    .panel = 0x000000FF,
    .panel_border = 0xFFFFFFFF,
    .btn = 0xFFD500FF,
    .btn_fg = 0x000000FF,
    .btn2 = 0xFFFFFFFF,
    .btn2_fg = 0x000000FF,
    .staff = 0xFF9F1AFF,
    .staff_fg = 0x000000FF,
    .warn = 0xFF8A80FF,
    .banner = 0xFFFFFFFF,
    .banner_fg = 0x000000FF,
    .ok = 0x7CFC9AFF,
    .dim = 0x000000D8,
    .target_mm = 27,
    .margin_mm = 8,
    .gap_mm = 5,
    .radius_mm = 3,
    .border_mm = 0.8,
};

const void *ku_theme_for_tests(bool elder, size_t *n_pairs, uint32_t pairs[][2]);

/* The colour pairs text is drawn in (foreground, background), for the contrast test. */
const void *ku_theme_for_tests(bool elder, size_t *n_pairs, uint32_t pairs[][2])
{
    const struct theme *t = elder ? &elder_theme : &normal_theme;
    const uint32_t p[][2] = {
        { t->fg, t->bg },       { t->muted, t->bg },         { t->head_fg, t->head },
        { t->btn_fg, t->btn },  { t->btn2_fg, t->btn2 },     { t->staff_fg, t->staff },
        { t->warn, t->bg },     { t->banner_fg, t->banner }, { t->fg, t->panel },
        { t->muted, t->panel }, { t->warn, t->panel },       { t->ok, t->bg },
    };

    memcpy(pairs, p, sizeof(p));
    *n_pairs = HM_ARRAY_SIZE(p);
    return t;
}

enum style { ST_PRIMARY = 0, ST_SECONDARY, ST_STAFF };

struct ctx {
    ku_app *a;
    struct ku_draw_list *l;
    const struct theme *t;
    int W, H, m, gap, target, body, title, small, big, radius, bw;
    int y; /* the next free line of the content area */
};

static int px(const struct ctx *c, double mm)
{
    return ku_mm(c->a->cfg.dpi, mm);
}

static int line_h(int size)
{
    return size * 145 / 100;
}

/* ---- strings ----------------------------------------------------------------- */

static const char *tr(struct ctx *c, enum ku_msg m)
{
    const struct ku_catalog *cat = c->a->cat[c->a->lang];
    static char missing[KU_MSG_COUNT][48];

    if (cat && (unsigned)m < KU_MSG_COUNT && cat->text[m])
        return cat->text[m];
    c->a->missing_lookups++;
    hm_log_error("kiosk: message %s missing in %s", ku_msg_key(m),
                 c->a->lang == KU_LANG_EN ? "en" : "zh-CN");
    if ((unsigned)m >= KU_MSG_COUNT)
        return "[?]";
    snprintf(missing[m], sizeof(missing[m]), "[%s]", ku_msg_key(m));
    return missing[m];
}

/* The message with {1} {2} {3} replaced. */
static const char *trf(struct ctx *c, char *buf, size_t cap, enum ku_msg m, const char *a1,
                       const char *a2, const char *a3)
{
    const char *f = tr(c, m), *args[3] = { a1, a2, a3 };
    size_t o = 0;

    for (; *f && o + 1 < cap; f++) {
        if (f[0] == '{' && f[1] >= '1' && f[1] <= '3' && f[2] == '}') {
            const char *v = args[f[1] - '1'] ? args[f[1] - '1'] : "";

            while (*v && o + 1 < cap)
                buf[o++] = *v++;
            f += 2;
        } else {
            buf[o++] = *f;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* Width of a code point in em: CJK and full-width forms 1, Latin about 0.62 (wide enough). */
static double cp_em(unsigned cp)
{
    if (cp < 0x80)
        return cp == ' ' ? 0.3 : (cp >= 'A' && cp <= 'Z') || cp == 'W' || cp == 'm' ? 0.72 : 0.6;
    return 1.0;
}

static unsigned next_cp(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned cp = p[0];
    int n = 1;

    if (cp >= 0xF0 && p[1] && p[2] && p[3]) {
        cp = (cp & 7u) << 18 | (p[1] & 63u) << 12 | (p[2] & 63u) << 6 | (p[3] & 63u);
        n = 4;
    } else if (cp >= 0xE0 && p[1] && p[2]) {
        cp = (cp & 15u) << 12 | (p[1] & 63u) << 6 | (p[2] & 63u);
        n = 3;
    } else if (cp >= 0xC0 && p[1]) {
        cp = (cp & 31u) << 6 | (p[1] & 63u);
        n = 2;
    }
    *s += n;
    return cp;
}

/*
 * Lines the text takes at size in width w: greedy, breaking between CJK
 * characters and at spaces, as the platform does with the font's real widths
 * (ours are slightly wider, so the platform never needs more lines).
 */
static int text_lines(const char *s, int size, int w)
{
    double x = 0, word = 0, limit = (double)w / size;
    int lines = 1;

    while (*s) {
        unsigned cp = next_cp(&s);

        if (cp == '\n') {
            lines++;
            x = word = 0;
            continue;
        }
        if (cp < 0x80 && cp != ' ') {
            word += cp_em(cp);
            continue;
        }
        if (word > 0) {
            if (x + word > limit && x > 0) {
                lines++;
                x = 0;
            }
            x += word;
            word = 0;
        }
        if (x + cp_em(cp) > limit && x > 0) {
            lines++;
            x = 0;
            if (cp == ' ')
                continue;
        }
        x += cp_em(cp);
    }
    if (word > 0 && x + word > limit && x > 0)
        lines++;
    return lines;
}

/* ---- emitting ------------------------------------------------------------------ */

static struct ku_cmd *cmd(struct ctx *c, enum ku_cmd_kind k, struct ku_rect r)
{
    struct ku_cmd *x;

    if (!c->l)
        return NULL;
    if (c->l->n == KU_CMDS_MAX) {
        c->l->overflow = true;
        return NULL;
    }
    x = &c->l->cmds[c->l->n++];
    memset(x, 0, sizeof(*x));
    x->kind = k;
    x->r = r;
    return x;
}

static size_t put_str(struct ctx *c, const char *s)
{
    size_t n = strlen(s) + 1, off = c->l->used;

    if (c->l->used + n > sizeof(c->l->arena)) {
        c->l->overflow = true;
        return sizeof(c->l->arena);
    }
    memcpy(c->l->arena + off, s, n);
    c->l->used += n;
    return off;
}

static void rect(struct ctx *c, struct ku_rect r, uint32_t fill, int radius, uint32_t border,
                 int bw)
{
    struct ku_cmd *x = cmd(c, KU_CMD_RECT, r);

    if (!x)
        return;
    x->color = fill;
    x->radius = radius;
    x->border = border;
    x->border_px = bw;
}

static void text(struct ctx *c, struct ku_rect r, const char *s, int size, uint32_t color,
                 enum ku_align al, bool bold)
{
    struct ku_cmd *x = cmd(c, KU_CMD_TEXT, r);

    if (!x)
        return;
    x->text = put_str(c, s);
    x->size = size;
    x->color = color;
    x->align = al;
    x->bold = bold;
}

/* A paragraph at c->y across the content width; returns its height and moves c->y. */
static int para(struct ctx *c, const char *s, int size, uint32_t color, enum ku_align al, bool bold)
{
    int w = c->W - 2 * c->m, h = text_lines(s, size, w) * line_h(size);

    text(c, (struct ku_rect){ c->m, c->y, w, h }, s, size, color, al, bold);
    c->y += h + c->gap;
    return h;
}

static void icon(struct ctx *c, struct ku_rect r, enum ku_icon i, uint32_t color, uint32_t two)
{
    struct ku_cmd *x = cmd(c, KU_CMD_ICON, r);

    if (!x)
        return;
    x->icon = (int)i;
    x->color = color;
    x->border = two;
}

static void button(struct ctx *c, const char *id, struct ku_rect r, const char *label,
                   enum style st, bool enabled)
{
    const struct theme *t = c->t;
    uint32_t fill = st == ST_PRIMARY ? t->btn : st == ST_STAFF ? t->staff : t->btn2;
    uint32_t fg = st == ST_PRIMARY ? t->btn_fg : st == ST_STAFF ? t->staff_fg : t->btn2_fg;
    int size = c->body, pad = px(c, 2);
    struct ku_button *b;

    if (c->a->nbuttons < KU_BUTTONS_MAX) {
        b = &c->a->buttons[c->a->nbuttons++];
        hm_strlcpy(b->id, id, sizeof(b->id));
        b->r = r;
        b->enabled = enabled;
    }
    if (!enabled) {
        fill = t->btn2;
        fg = t->muted;
    }
    rect(c, r, fill, c->radius, c->a->elder ? t->panel_border : 0, c->a->elder ? c->bw : 0);
    /* Long labels wrap inside the button; the height was chosen for two lines at most. */
    int lines = text_lines(label, size, r.w - 2 * pad);
    int h = lines * line_h(size);
    text(c, (struct ku_rect){ r.x + pad, r.y + (r.h - h) / 2, r.w - 2 * pad, h }, label, size, fg,
         KU_ALIGN_CENTER, true);
    if (c->l && c->l->n && c->l->cmds[c->l->n - 1].kind == KU_CMD_TEXT)
        c->l->cmds[c->l->n - 1].owner = c->a->nbuttons; /* the label's button, + 1 */
}

/* Height of a button whose label must fit in width w. */
static int button_h(struct ctx *c, const char *label, int w)
{
    int h = text_lines(label, c->body, w - 2 * px(c, 2)) * line_h(c->body) + px(c, 3);

    return h > c->target ? h : c->target;
}

/* A row of buttons across the content width at the bottom, going up from *bottom. */
struct bdef {
    const char *id;
    const char *label;
    enum style st;
};

static void button_row(struct ctx *c, int *bottom, const struct bdef *b, size_t n)
{
    int w = (c->W - 2 * c->m - (int)(n - 1) * c->gap) / (int)n, h = 0;

    for (size_t i = 0; i < n; i++) {
        int bh = button_h(c, b[i].label, w);

        h = bh > h ? bh : h;
    }
    *bottom -= h;
    for (size_t i = 0; i < n; i++)
        button(c, b[i].id, (struct ku_rect){ c->m + (int)i * (w + c->gap), *bottom, w, h },
               b[i].label, b[i].st, true);
    *bottom -= c->gap;
}

/* ---- the frame ---------------------------------------------------------------- */

static void header(struct ctx *c, const char *title)
{
    /* In 长辈模式 the header's right end is the 重复 button: the screen is said again. */
    const char *again = tr(c, KU_M_BTN_REPEAT);
    int rw = c->a->elder ? px(c, 55) : 0, tw = c->W - 2 * c->m - (rw ? rw + c->gap : 0);
    int th = text_lines(title, c->title, tw) * line_h(c->title);
    int h = th + px(c, 8), rh = c->a->elder ? button_h(c, again, rw) : 0;

    if (h < rh + px(c, 4))
        h = rh + px(c, 4);
    rect(c, (struct ku_rect){ 0, 0, c->W, h }, c->t->head, 0, 0, 0);
    if (c->a->elder)
        rect(c, (struct ku_rect){ 0, h - c->bw, c->W, c->bw }, c->t->head_fg, 0, 0, 0);
    text(c, (struct ku_rect){ c->m, (h - th) / 2, tw, th }, title, c->title, c->t->head_fg,
         KU_ALIGN_LEFT, true);
    if (rw)
        button(c, "repeat", (struct ku_rect){ c->W - c->m - rw, (h - rh) / 2, rw, rh }, again,
               ST_PRIMARY, true);
    c->y = h + c->gap;
    if (c->a->offline) {
        const char *s = tr(c, KU_M_BANNER_OFFLINE);
        int w = c->W - 2 * c->m - px(c, 4) - c->small * 2;
        int bh = text_lines(s, c->small, w) * line_h(c->small) + px(c, 4);

        rect(c, (struct ku_rect){ 0, c->y - c->gap, c->W, bh }, c->t->banner, 0, 0, 0);
        icon(c,
             (struct ku_rect){ c->m, c->y - c->gap + (bh - c->small * 2) / 2, c->small * 2,
                               c->small * 2 },
             KU_ICON_NETWORK, c->t->banner_fg, c->t->banner);
        text(c,
             (struct ku_rect){ c->m + c->small * 2 + px(c, 4), c->y - c->gap + px(c, 2), w,
                               bh - px(c, 4) },
             s, c->small, c->t->banner_fg, KU_ALIGN_LEFT, true);
        c->y += bh;
    }
    /* No reader (or no PC/SC service): on every screen until it is back, with what to do. */
    if (c->a->reader_lost && c->a->screen != KU_SCR_CARD_ERROR) {
        const char *s = tr(c, KU_M_BANNER_READER);
        int w = c->W - 2 * c->m - px(c, 4) - c->small * 2;
        int bh = text_lines(s, c->small, w) * line_h(c->small) + px(c, 4);

        rect(c, (struct ku_rect){ 0, c->y - c->gap, c->W, bh }, c->t->banner, 0, 0, 0);
        icon(c,
             (struct ku_rect){ c->m, c->y - c->gap + (bh - c->small * 2) / 2, c->small * 2,
                               c->small * 2 },
             KU_ICON_WARN, c->t->banner_fg == 0xFFFFFFFFu ? c->t->warn : c->t->banner_fg,
             c->t->banner); /* the icon's "!" is white: never on a white disc */
        text(c,
             (struct ku_rect){ c->m + c->small * 2 + px(c, 4), c->y - c->gap + px(c, 2), w,
                               bh - px(c, 4) },
             s, c->small, c->t->banner_fg, KU_ALIGN_LEFT, true);
        c->y += bh;
    }
}

static void period_text(struct ctx *c, const char *period, char *buf, size_t cap)
{
    char y[8] = "", m[4] = "";

    if (strlen(period) == 7 && period[4] == '-') {
        memcpy(y, period, 4);
        m[0] = period[5] == '0' ? period[6] : period[5];
        m[1] = period[5] == '0' ? '\0' : period[6];
        trf(c, buf, cap, KU_M_PERIOD, y, m, NULL);
    } else {
        hm_strlcpy(buf, period, cap);
    }
}

static enum ku_msg pay_status_msg(const char *s)
{
    if (strcmp(s, "paid") == 0)
        return KU_M_PAY_PAID;
    if (strcmp(s, "confirmed") == 0)
        return KU_M_PAY_CONFIRMED;
    if (strcmp(s, "disputed") == 0)
        return KU_M_PAY_DISPUTED;
    if (strcmp(s, "returned") == 0)
        return KU_M_PAY_RETURNED;
    return KU_M_PAY_SCHEDULED;
}

static enum ku_msg ent_status_msg(const char *s)
{
    if (strcmp(s, "phase_out") == 0)
        return KU_M_ENT_PHASE_OUT;
    if (strcmp(s, "suspended") == 0)
        return KU_M_ENT_SUSPENDED;
    if (strcmp(s, "stopped") == 0)
        return KU_M_ENT_STOPPED;
    return KU_M_ENT_ACTIVE;
}

/* ---- screens ------------------------------------------------------------------- */

static void scr_home(struct ctx *c)
{
    int bottom = c->H - c->m, w = c->W - 2 * c->m, h;
    static const struct {
        const char *id;
        enum ku_msg label;
        enum style st;
    } svc[] = {
        { "status", KU_M_BTN_STATUS, ST_PRIMARY },     { "confirm", KU_M_BTN_CONFIRM, ST_PRIMARY },
        { "marriage", KU_M_BTN_MARRIAGE, ST_PRIMARY }, { "mine", KU_M_BTN_MINE, ST_PRIMARY },
        { "staff", KU_M_BTN_STAFF, ST_STAFF },
    };
    struct bdef toggles[2] = {
        { "lang", tr(c, KU_M_BTN_LANG), ST_SECONDARY },
        { "elder", tr(c, c->a->elder ? KU_M_BTN_ELDER_OFF : KU_M_BTN_ELDER_ON), ST_SECONDARY },
    };

    header(c, tr(c, KU_M_APP_TITLE));
    button_row(c, &bottom, toggles, 2);
    bottom -= c->gap;
    for (size_t i = HM_ARRAY_SIZE(svc); i-- > 0;) {
        const char *label = tr(c, svc[i].label);

        h = button_h(c, label, w);
        bottom -= h;
        button(c, svc[i].id, (struct ku_rect){ c->m, bottom, w, h }, label, svc[i].st, true);
        bottom -= c->gap;
    }
    /* The tap area: what to do, big, with the card-on-reader picture. */
    c->y += px(c, 4);
    para(c, tr(c, KU_M_HOME_TAP), c->big, c->t->fg, KU_ALIGN_CENTER, true);
    para(c, tr(c, KU_M_HOME_TAP_HINT), c->body, c->t->muted, KU_ALIGN_CENTER, false);
    h = bottom - c->y - c->gap;
    if (h > px(c, 30)) {
        int iw = h * 4 / 3 < w * 4 / 5 ? h * 4 / 3 : w * 4 / 5;

        icon(c, (struct ku_rect){ (c->W - iw) / 2, c->y + (h - iw * 3 / 4) / 2, iw, iw * 3 / 4 },
             KU_ICON_CARD, c->t->btn, c->t->fg);
    }
}

static void scr_message(struct ctx *c, enum ku_msg title, enum ku_msg help, enum ku_icon ic,
                        uint32_t icolor, const struct bdef *b0, size_t nb, bool progress)
{
    int bottom = c->H - c->m, side = px(c, c->a->elder ? 60 : 45);
    bool slow = progress && ku_app_wait_slow(c->a);
    bool can_cancel = slow && ku_app_wait_cancellable(c->a);
    struct bdef b[4];
    char buf[320], secs[16];

    /* A slow wait: the picture smaller, so what it means and 取消 fit below. */
    if (slow)
        side = px(c, c->a->elder ? 40 : 30);
    nb = nb < 3 ? nb : 3;
    if (can_cancel)
        b[0] = (struct bdef){ "wait-cancel", tr(c, KU_M_BTN_CANCEL), ST_PRIMARY };
    for (size_t i = 0; i < nb; i++)
        b[i + can_cancel] = b0[i];
    nb += can_cancel;
    header(c, tr(c, title));
    for (size_t i = nb; i-- > 0;)
        button_row(c, &bottom, &b[i], 1);
    c->y += px(c, 6);
    if (progress) {
        struct ku_cmd *x =
            cmd(c, KU_CMD_PROGRESS, (struct ku_rect){ (c->W - side) / 2, c->y, side, side });
        if (x) {
            x->color = c->t->btn;
            x->phase = (int)(c->a->now / 4 % 360);
        }
    } else {
        int iw = ic == KU_ICON_CARD ? side * 5 / 3 : side; /* the card picture is wide */

        icon(c, (struct ku_rect){ (c->W - iw) / 2, c->y, iw, side }, ic, icolor, c->t->fg);
    }
    c->y += side + px(c, 6);
    para(c, tr(c, title), c->big, c->t->fg, KU_ALIGN_CENTER, true);
    para(c, tr(c, help), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    if (!slow)
        return;
    snprintf(secs, sizeof(secs), "%u", ku_app_wait_seconds(c->a));
    c->y += c->gap;
    para(c, trf(c, buf, sizeof(buf), KU_M_SLOW_WAIT, secs, NULL, NULL), c->body, c->t->warn,
         KU_ALIGN_CENTER, true);
    if (c->a->wait_kind == KU_JOB_CONFIRM)
        para(c, tr(c, KU_M_SLOW_CONFIRM), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    else if (can_cancel)
        para(c, tr(c, KU_M_SLOW_CANCEL_HINT), c->body, c->t->fg, KU_ALIGN_CENTER, false);
}

/* 呼叫工作人员: the call on its way, made (how many wait), or not made (raise a hand). */
static void scr_staff(struct ctx *c)
{
    const struct bdef home = { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY };
    int bottom = c->H - c->m, side = px(c, c->a->elder ? 50 : 40);
    char buf[256], n[16];

    header(c, tr(c, KU_M_STAFF_TITLE));
    button_row(c, &bottom, &home, 1);
    c->y += px(c, 6);
    if (c->a->staff_state == KU_STAFF_CALLING) {
        struct ku_cmd *x =
            cmd(c, KU_CMD_PROGRESS, (struct ku_rect){ (c->W - side) / 2, c->y, side, side });
        if (x) {
            x->color = c->t->staff;
            x->phase = (int)(c->a->now / 4 % 360);
        }
    } else {
        icon(c, (struct ku_rect){ (c->W - side) / 2, c->y, side, side },
             c->a->staff_state == KU_STAFF_CALLED ? KU_ICON_STAFF : KU_ICON_WARN,
             c->a->staff_state == KU_STAFF_CALLED ? c->t->staff : c->t->warn, c->t->fg);
    }
    c->y += side + px(c, 6);
    switch (c->a->staff_state) {
    case KU_STAFF_CALLING:
        para(c, tr(c, KU_M_STAFF_CALLING), c->big, c->t->fg, KU_ALIGN_CENTER, true);
        para(c, tr(c, KU_M_STAFF_CALLING_HELP), c->body, c->t->fg, KU_ALIGN_CENTER, false);
        break;
    case KU_STAFF_CALLED:
        snprintf(n, sizeof(n), "%d", c->a->staff_waiting);
        para(c, tr(c, KU_M_STAFF_CALLED), c->big, c->t->ok, KU_ALIGN_CENTER, true);
        para(c, trf(c, buf, sizeof(buf), KU_M_STAFF_WAITING, n, NULL, NULL), c->body, c->t->fg,
             KU_ALIGN_CENTER, false);
        break;
    case KU_STAFF_FAILED:
        para(c, tr(c, KU_M_STAFF_FAILED), c->big, c->t->warn, KU_ALIGN_CENTER, true);
        para(c, tr(c, KU_M_STAFF_HELP), c->body, c->t->fg, KU_ALIGN_CENTER, true);
        break;
    }
}

static void scr_card_prompt(struct ctx *c)
{
    const struct bdef b[] = { { "staff", tr(c, KU_M_BTN_STAFF), ST_STAFF },
                              { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY } };
    int bottom = c->H - c->m, w = c->W - 2 * c->m, iw = w * 3 / 4;

    header(c, tr(c, KU_M_CARD_TITLE));
    for (size_t i = HM_ARRAY_SIZE(b); i-- > 0;)
        button_row(c, &bottom, &b[i], 1);
    c->y += px(c, 6);
    para(c, tr(c, KU_M_HOME_TAP), c->big, c->t->fg, KU_ALIGN_CENTER, true);
    para(c, tr(c, KU_M_CARD_HELP), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    if (bottom - c->y > iw * 3 / 4)
        icon(c, (struct ku_rect){ (c->W - iw) / 2, c->y, iw, iw * 3 / 4 }, KU_ICON_CARD, c->t->btn,
             c->t->fg);
}

static void scr_card_error(struct ctx *c)
{
    struct bdef b[3];
    size_t n = 0;

    if (c->a->err_retry)
        b[n++] = (struct bdef){ "retry", tr(c, KU_M_BTN_RETRY), ST_PRIMARY };
    b[n++] = (struct bdef){ "staff", tr(c, KU_M_BTN_STAFF), ST_STAFF };
    b[n++] = (struct bdef){ "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY };
    /* A card that was moved gets the placement picture again, every other error a warning. */
    if (c->a->err_title == KU_M_ERR_PULLED_TITLE)
        scr_message(c, c->a->err_title, c->a->err_help, KU_ICON_CARD, c->t->btn, b, n, false);
    else
        scr_message(c, c->a->err_title, c->a->err_help, KU_ICON_WARN, c->t->warn, b, n, false);
}

/* One line of the status list: an entitlement, a payment, or a section heading. */
struct item {
    int kind; /* 0 heading, 1 entitlement, 2 payment */
    size_t idx;
    int h;
};

/* The texts of an item row: left the name and a second line, right the amount. */
static void item_texts(struct ctx *c, const struct item *it, char *line2, size_t cap2, char *amount,
                       size_t capa, const char **name, bool *awaiting)
{
    const struct ku_status *st = &c->a->s.st;
    char m[32], per[48];

    *awaiting = false;
    if (it->kind == 1) {
        const struct ku_entitlement *e = &st->ent[it->idx];

        ku_money(e->amount_fen, m, sizeof(m));
        *name = e->name;
        hm_strlcpy(line2, tr(c, ent_status_msg(e->status)), cap2);
        trf(c, amount, capa, KU_M_STATUS_PER_MONTH, m, NULL, NULL);
        return;
    }
    const struct ku_payment *p = &st->pay[it->idx];

    ku_money(p->amount_fen, m, sizeof(m));
    period_text(c, p->period, per, sizeof(per));
    snprintf(line2, cap2, "%s · %s", per,
             tr(c, st->cached && strcmp(p->status, "paid") == 0 ? KU_M_PAY_PAID_CACHED
                                                                : pay_status_msg(p->status)));
    trf(c, amount, capa, KU_M_STATUS_AMOUNT, m, NULL, NULL);
    *name = p->name;
    *awaiting = p->awaiting;
}

static int item_height(struct ctx *c, const struct item *it, int wl, int wr)
{
    char line2[160], amount[64];
    const char *name;
    bool awaiting;
    int lh = line_h(c->body), left, right;

    if (it->kind == 0)
        return line_h(c->title * 3 / 4) + c->gap;
    item_texts(c, it, line2, sizeof(line2), amount, sizeof(amount), &name, &awaiting);
    left = (text_lines(name, c->body, wl) + text_lines(line2, c->body, wl)) * lh;
    /* A kept status (the server away) has no 确认领取 / 没有收到: nothing can be confirmed. */
    right = text_lines(amount, c->body, wr) * lh +
            (awaiting && !c->a->s.st.cached
                 ? button_h(c, tr(c, KU_M_BTN_CONFIRM_THIS), wr) +
                       button_h(c, tr(c, KU_M_BTN_DISPUTE), wr) + c->gap + px(c, 1)
                 : 0);
    return (left > right ? left : right) + px(c, 5);
}

static void draw_item(struct ctx *c, const struct item *it, int y, int wl, int wr)
{
    char line2[160], amount[64], idb[24];
    const char *name;
    bool awaiting;
    int x = c->m, lh = line_h(c->body), nh, ah;

    if (it->kind == 0) {
        text(c, (struct ku_rect){ x, y, c->W - 2 * c->m, line_h(c->title * 3 / 4) },
             tr(c, it->idx ? KU_M_STATUS_PAYMENTS : KU_M_STATUS_ENTITLEMENTS), c->title * 3 / 4,
             c->t->fg, KU_ALIGN_LEFT, true);
        return;
    }
    item_texts(c, it, line2, sizeof(line2), amount, sizeof(amount), &name, &awaiting);
    rect(c, (struct ku_rect){ x, y, c->W - 2 * c->m, it->h - c->gap / 2 }, c->t->panel, c->radius,
         c->t->panel_border, c->bw);
    nh = text_lines(name, c->body, wl) * lh;
    ah = text_lines(amount, c->body, wr) * lh;
    text(c, (struct ku_rect){ x + px(c, 2), y + px(c, 2), wl, nh }, name, c->body, c->t->fg,
         KU_ALIGN_LEFT, true);
    text(c,
         (struct ku_rect){ x + px(c, 2), y + px(c, 2) + nh, wl,
                           text_lines(line2, c->body, wl) * lh },
         line2, c->body, awaiting ? c->t->warn : c->t->muted, KU_ALIGN_LEFT, awaiting);
    text(c, (struct ku_rect){ c->W - c->m - wr - px(c, 2), y + px(c, 2), wr, ah }, amount, c->body,
         c->t->fg, KU_ALIGN_RIGHT, true);
    if (awaiting && !c->a->s.st.cached) {
        const char *yes = tr(c, KU_M_BTN_CONFIRM_THIS), *no = tr(c, KU_M_BTN_DISPUTE);
        int h1 = button_h(c, yes, wr), h2 = button_h(c, no, wr);

        snprintf(idb, sizeof(idb), "confirm-%zu", it->idx);
        button(c, idb, (struct ku_rect){ c->W - c->m - wr - px(c, 2), y + px(c, 3) + ah, wr, h1 },
               yes, ST_PRIMARY, true);
        snprintf(idb, sizeof(idb), "dispute-%zu", it->idx);
        button(c, idb,
               (struct ku_rect){ c->W - c->m - wr - px(c, 2), y + px(c, 3) + ah + h1 + c->gap, wr,
                                 h2 },
               no, ST_SECONDARY, true);
    }
}

static const char *day_text(struct ctx *c, const char *date, int wday, char *buf, size_t cap);

/* Whether item i starts a new page, used px of avail being taken on this one. */
static bool page_break(const struct item *items, size_t n, size_t i, int used, int avail)
{
    int need = items[i].h;

    if (items[i].kind == 0 && i + 1 < n)
        need += items[i + 1].h;
    return used > 0 && used + need > avail;
}

/* "服务器暂时连不上。下面是 11月30日 10:05 的信息，可能已有变化。" (local time). */
static const char *cached_text(struct ctx *c, char *buf, size_t cap)
{
    time_t t = (time_t)c->a->s.st.as_of;
    struct tm tm;
    char date[48] = "", day[48], hm[32] = "";

    if (localtime_r(&t, &tm)) {
        snprintf(date, sizeof(date), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
        snprintf(hm, sizeof(hm), "%02d:%02d", tm.tm_hour, tm.tm_min);
    }
    day_text(c, date, -1, day, sizeof(day));
    return trf(c, buf, cap, KU_M_STATUS_CACHED, day, hm, NULL);
}

static void scr_status(struct ctx *c)
{
    const struct ku_status *st = &c->a->s.st;
    struct item items[KU_ENT_MAX + KU_PAY_MAX + 2];
    size_t n = 0, first = 0;
    char buf[200], m[32];
    int bottom = c->H - c->m, wr = px(c, c->a->elder ? 80 : 50);
    int wl = c->W - 2 * c->m - wr - px(c, 6);
    int pages = 1, page = 0, used = 0;
    const struct bdef foot[] = { { "staff", tr(c, KU_M_BTN_STAFF), ST_STAFF },
                                 { "finish", tr(c, KU_M_BTN_FINISH), ST_SECONDARY } };

    header(c, tr(c, KU_M_STATUS_TITLE));
    button_row(c, &bottom, foot, 2);
    para(c, trf(c, buf, sizeof(buf), KU_M_STATUS_HELLO, st->name, NULL, NULL), c->title, c->t->fg,
         KU_ALIGN_LEFT, true);
    ku_money(st->year_total_fen, m, sizeof(m));
    para(c, trf(c, buf, sizeof(buf), KU_M_STATUS_YEAR_TOTAL, m, NULL, NULL), c->body, c->t->fg,
         KU_ALIGN_LEFT, false);
    para(c, trf(c, buf, sizeof(buf), KU_M_STATUS_CARD_NO, st->welfare_masked, NULL, NULL), c->small,
         c->t->muted, KU_ALIGN_LEFT, false);
    if (st->cached) {
        char line[320];

        para(c, cached_text(c, line, sizeof(line)), c->body, c->t->warn, KU_ALIGN_LEFT, true);
        para(c, tr(c, KU_M_STATUS_CACHED_NOTE), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    }

    items[n++] = (struct item){ 0, 0, 0 };
    for (size_t i = 0; i < st->n_ent; i++)
        items[n++] = (struct item){ 1, i, 0 };
    items[n++] = (struct item){ 0, 1, 0 };
    /* Payments that wait for the resident first: nobody should page to find what to do. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < st->n_pay; i++)
            if (st->pay[i].awaiting == (pass == 0))
                items[n++] = (struct item){ 2, i, 0 };
    for (size_t i = 0; i < n; i++)
        items[i].h = item_height(c, &items[i], wl, wr) + (items[i].kind ? c->gap / 2 : 0);

    /* Pages: as many items as fit above the page buttons; a heading goes with its first row
     * (never alone at the foot of a page). */
    int pager_h = c->target + c->gap, avail = bottom - c->y - pager_h;
    for (size_t i = 0; i < n; i++) {
        if (page_break(items, n, i, used, avail)) {
            pages++;
            used = 0;
        }
        used += items[i].h;
    }
    if (c->a->s.page >= pages)
        c->a->s.page = pages - 1;
    if (pages == 1)
        avail += pager_h;
    used = 0;
    for (size_t i = 0; i < n; i++) {
        if (page_break(items, n, i, used, avail)) {
            page++;
            used = 0;
        }
        if (page == c->a->s.page) {
            if (!first && used == 0)
                first = i;
            draw_item(c, &items[i], c->y + used, wl, wr);
        }
        used += items[i].h;
    }
    (void)first;
    if (pages > 1) {
        int w = (c->W - 2 * c->m - 2 * c->gap) / 3;
        int y = bottom - c->target;

        button(c, "prev", (struct ku_rect){ c->m, y, w, c->target }, tr(c, KU_M_BTN_PREV),
               ST_SECONDARY, c->a->s.page > 0);
        char p1[16], p2[16];
        snprintf(p1, sizeof(p1), "%d", c->a->s.page + 1);
        snprintf(p2, sizeof(p2), "%d", pages);
        text(c,
             (struct ku_rect){ c->m + w + c->gap, y + (c->target - line_h(c->body)) / 2, w,
                               line_h(c->body) },
             trf(c, buf, sizeof(buf), KU_M_STATUS_PAGE, p1, p2, NULL), c->body, c->t->fg,
             KU_ALIGN_CENTER, false);
        button(c, "next", (struct ku_rect){ c->m + 2 * (w + c->gap), y, w, c->target },
               tr(c, KU_M_BTN_NEXT), ST_SECONDARY, c->a->s.page + 1 < pages);
    }
}

static void pay_summary(struct ctx *c, enum ku_msg m, char *buf, size_t cap)
{
    const struct ku_payment *p = &c->a->s.st.pay[c->a->s.pay_idx];
    char per[48], mon[32];

    period_text(c, p->period, per, sizeof(per));
    ku_money(p->amount_fen, mon, sizeof(mon));
    if (m == KU_M_PIN_FOR)
        trf(c, buf, cap, m, p->name, per, mon);
    else
        trf(c, buf, cap, m, per, mon, NULL);
}

static void scr_pin(struct ctx *c)
{
    char buf[256], dots[64] = "", t[8];
    int bottom = c->H - c->m, w = c->W - 2 * c->m;
    int kw = (w - 2 * c->gap) / 3, kh = c->target * 11 / 10;
    const struct bdef cancel = { "cancel", tr(c, KU_M_BTN_CANCEL), ST_SECONDARY };
    static const char *const keys[12] = { "1", "2", "3", "4",   "5", "6",
                                          "7", "8", "9", "del", "0", "ok" };
    const struct visit_pin {
        bool tap;
    } v = { c->a->s.st.tap_only };

    header(c, tr(c, KU_M_PIN_TITLE));
    button_row(c, &bottom, &cancel, 1);
    pay_summary(c, KU_M_PIN_FOR, buf, sizeof(buf));
    para(c, buf, c->body, c->t->fg, KU_ALIGN_LEFT, true);
    if (c->a->s.pin_wrong) {
        snprintf(t, sizeof(t), "%d", c->a->s.tries_left);
        para(c, trf(c, buf, sizeof(buf), KU_M_PIN_WRONG, t, NULL, NULL), c->body, c->t->warn,
             KU_ALIGN_LEFT, true);
    } else {
        para(c, tr(c, v.tap ? KU_M_PIN_TAP : KU_M_PIN_HELP), c->body, c->t->fg, KU_ALIGN_LEFT,
             false);
    }
    if (!v.tap) {
        size_t o = 0;

        for (size_t i = 0; i < 6; i++)
            o += (size_t)snprintf(dots + o, sizeof(dots) - o, "%s%s", i ? " " : "",
                                  i < c->a->s.pin_len ? "●" : "○");
        int dh = line_h(c->big) + px(c, 4);
        rect(c, (struct ku_rect){ c->m, c->y, w, dh }, c->t->panel, c->radius, c->t->panel_border,
             c->bw > 1 ? c->bw : 1);
        text(c, (struct ku_rect){ c->m, c->y + px(c, 2), w, line_h(c->big) }, dots, c->big,
             c->t->fg, KU_ALIGN_CENTER, false);
        c->y += dh + c->gap;
    }
    int top = bottom - 4 * kh - 3 * c->gap;
    if (top < c->y)
        top = c->y;
    for (int i = 0; i < 12; i++) {
        struct ku_rect r = { c->m + (i % 3) * (kw + c->gap), top + (i / 3) * (kh + c->gap), kw,
                             kh };
        char id[16];
        bool ok = strcmp(keys[i], "ok") == 0, del = strcmp(keys[i], "del") == 0;

        if (v.tap && !ok)
            continue;
        if (ok)
            hm_strlcpy(id, "pin-ok", sizeof(id));
        else
            snprintf(id, sizeof(id), "key-%s", keys[i]);
        button(c, id, r,
               ok    ? tr(c, KU_M_BTN_OK)
               : del ? tr(c, KU_M_BTN_DEL)
                     : keys[i],
               ok ? ST_PRIMARY : ST_SECONDARY, !ok || v.tap || c->a->s.pin_len >= 4);
    }
}

/*
 * A signed token's QR code as large as the space above bottom allows (at most max_mm, and
 * leaving room for the scan hint and the id line idl under it), then those two lines. A white
 * square behind the code, whatever the theme: phones need light around it.
 */
static void qr_block(struct ctx *c, const char *token, enum ku_msg scan, const char *idl,
                     double max_mm, int bottom)
{
    int below = line_h(c->body) * text_lines(tr(c, scan), c->body, c->W - 2 * c->m) +
                line_h(c->small) + 3 * c->gap;
    int side = bottom - c->y - below;

    if (side > px(c, max_mm))
        side = px(c, max_mm);
    if (side > c->W - 2 * c->m)
        side = c->W - 2 * c->m;
    struct ku_cmd *x = cmd(c, KU_CMD_QR, (struct ku_rect){ (c->W - side) / 2, c->y, side, side });
    if (x) {
        x->text = put_str(c, token);
        x->color = 0x000000FF;
        x->border = 0xFFFFFFFF;
    }
    c->y += side + c->gap;
    para(c, tr(c, scan), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    para(c, idl, c->small, c->t->muted, KU_ALIGN_CENTER, false);
}

static void scr_receipt(struct ctx *c)
{
    const struct bdef done = { "done", tr(c, KU_M_BTN_DONE), ST_PRIMARY };
    char buf[256], idl[96];
    int bottom = c->H - c->m;
    const struct ku_receipt *r = &c->a->s.rc;

    header(c, tr(c, KU_M_RECEIPT_TITLE));
    button_row(c, &bottom, &done, 1);
    para(c, tr(c, KU_M_RECEIPT_TITLE), c->big, c->t->ok, KU_ALIGN_CENTER, true);
    pay_summary(c, KU_M_RECEIPT_WHAT, buf, sizeof(buf));
    para(c, buf, c->body, c->t->fg, KU_ALIGN_CENTER, true);
    if (r->again)
        para(c, tr(c, KU_M_RECEIPT_AGAIN), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    trf(c, idl, sizeof(idl), KU_M_RECEIPT_ID, r->id, NULL, NULL);
    qr_block(c, r->token, KU_M_RECEIPT_SCAN, idl, 110, bottom);
}

static void scr_idle(struct ctx *c)
{
    char buf[256], secs[24];
    uint64_t left = c->a->cfg.idle_grace_ms - (c->a->now - c->a->idle_since);
    int w = c->W - 2 * c->m, bw = w - 2 * px(c, 6), h, y;
    const char *more = tr(c, KU_M_BTN_MORE_TIME), *end = tr(c, KU_M_BTN_END);

    if (c->a->now - c->a->idle_since > c->a->cfg.idle_grace_ms)
        left = 0;
    snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((left + 999) / 1000));
    trf(c, buf, sizeof(buf), KU_M_IDLE_HELP, secs, NULL, NULL);
    int th = text_lines(tr(c, KU_M_IDLE_TITLE), c->title, bw) * line_h(c->title);
    int hh = text_lines(buf, c->body, bw) * line_h(c->body);
    int b1 = button_h(c, more, bw), b2 = button_h(c, end, bw);

    h = px(c, 12) + th + c->gap + hh + 2 * c->gap + b1 + c->gap + b2;
    y = (c->H - h) / 2;
    c->a->nbuttons = 0; /* only the question's buttons answer now */
    rect(c, (struct ku_rect){ 0, 0, c->W, c->H }, c->t->dim, 0, 0, 0);
    rect(c, (struct ku_rect){ c->m, y, w, h }, c->t->panel == 0x000000FF ? 0x000000FF : 0xFFFFFFFF,
         c->radius, c->t->panel_border, c->bw > 1 ? c->bw : 1);
    y += px(c, 6);
    text(c, (struct ku_rect){ c->m + px(c, 6), y, bw, th }, tr(c, KU_M_IDLE_TITLE), c->title,
         c->t->fg, KU_ALIGN_CENTER, true);
    y += th + c->gap;
    text(c, (struct ku_rect){ c->m + px(c, 6), y, bw, hh }, buf, c->body, c->t->fg, KU_ALIGN_CENTER,
         false);
    y += hh + 2 * c->gap;
    button(c, "more-time", (struct ku_rect){ c->m + px(c, 6), y, bw, b1 }, more, ST_PRIMARY, true);
    y += b1 + c->gap;
    button(c, "end", (struct ku_rect){ c->m + px(c, 6), y, bw, b2 }, end, ST_SECONDARY, true);
}

static const char *reason_text(struct ctx *c, const char *reason)
{
    if (strcmp(reason, "wrong_amount") == 0)
        return tr(c, KU_M_DISPUTE_WRONG_AMOUNT);
    if (strcmp(reason, "other") == 0)
        return tr(c, KU_M_DISPUTE_OTHER);
    return tr(c, KU_M_DISPUTE_NOT_RECEIVED);
}

/* "城市最低生活保障：2026年11月 750.00 元" of the payment in question. */
static const char *dispute_what(struct ctx *c, char *buf, size_t cap)
{
    char what[160];

    pay_summary(c, KU_M_RECEIPT_WHAT, what, sizeof(what));
    return trf(c, buf, cap, KU_M_DISPUTE_CONFIRM_WHAT, c->a->s.st.pay[c->a->s.pay_idx].name, what,
               NULL);
}

/* Full-width buttons stacked from c->y down. */
static void button_stack(struct ctx *c, const struct bdef *b, size_t n)
{
    int w = c->W - 2 * c->m;

    for (size_t i = 0; i < n; i++) {
        int h = button_h(c, b[i].label, w);

        button(c, b[i].id, (struct ku_rect){ c->m, c->y, w, h }, b[i].label, b[i].st, true);
        c->y += h + c->gap;
    }
}

static void scr_dispute(struct ctx *c)
{
    char buf[256];
    int bottom = c->H - c->m;
    const struct bdef cancel = { "cancel", tr(c, KU_M_BTN_CANCEL), ST_SECONDARY };
    const struct bdef reasons[] = {
        { "reason-not_received", tr(c, KU_M_DISPUTE_NOT_RECEIVED), ST_PRIMARY },
        { "reason-wrong_amount", tr(c, KU_M_DISPUTE_WRONG_AMOUNT), ST_PRIMARY },
        { "reason-other", tr(c, KU_M_DISPUTE_OTHER), ST_PRIMARY },
    };

    header(c, tr(c, KU_M_DISPUTE_TITLE));
    button_row(c, &bottom, &cancel, 1);
    para(c, dispute_what(c, buf, sizeof(buf)), c->body, c->t->fg, KU_ALIGN_LEFT, true);
    para(c, tr(c, KU_M_DISPUTE_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    c->y += c->gap;
    button_stack(c, reasons, HM_ARRAY_SIZE(reasons));
}

static void scr_dispute_confirm(struct ctx *c)
{
    char buf[256];
    int bottom = c->H - c->m;
    const struct bdef b[] = { { "submit", tr(c, KU_M_BTN_SUBMIT), ST_PRIMARY },
                              { "cancel", tr(c, KU_M_BTN_CANCEL), ST_SECONDARY } };

    header(c, tr(c, KU_M_DISPUTE_CONFIRM_TITLE));
    button_row(c, &bottom, &b[1], 1);
    button_row(c, &bottom, &b[0], 1);
    c->y += px(c, 4);
    para(c, dispute_what(c, buf, sizeof(buf)), c->body, c->t->fg, KU_ALIGN_LEFT, true);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_DISPUTE_CONFIRM_HELP, reason_text(c, c->a->s.reason), NULL,
             NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, false);
}

static void scr_disputed(struct ctx *c)
{
    char buf[160];
    int bottom = c->H - c->m, side = px(c, c->a->elder ? 50 : 35);
    const struct bdef done = { "done", tr(c, KU_M_BTN_DONE), ST_PRIMARY };

    header(c, tr(c, KU_M_DISPUTED_TITLE));
    button_row(c, &bottom, &done, 1);
    c->y += px(c, 6);
    icon(c, (struct ku_rect){ (c->W - side) / 2, c->y, side, side }, KU_ICON_STAFF, c->t->btn,
         c->t->fg);
    c->y += side + px(c, 6);
    para(c, tr(c, KU_M_DISPUTED_TITLE), c->big, c->t->ok, KU_ALIGN_CENTER, true);
    para(c, tr(c, KU_M_DISPUTED_HELP), c->body, c->t->fg, KU_ALIGN_CENTER, false);
    para(c, trf(c, buf, sizeof(buf), KU_M_DISPUTED_ID, c->a->s.dispute, NULL, NULL), c->title,
         c->t->fg, KU_ALIGN_CENTER, true);
}

static void scr_rating(struct ctx *c)
{
    int bottom = c->H - c->m;
    const struct bdef skip = { "skip", tr(c, KU_M_BTN_SKIP), ST_SECONDARY };
    const struct bdef stars[] = {
        { "rate-5", tr(c, KU_M_RATING_5), ST_PRIMARY },
        { "rate-4", tr(c, KU_M_RATING_4), ST_PRIMARY },
        { "rate-3", tr(c, KU_M_RATING_3), ST_PRIMARY },
        { "rate-2", tr(c, KU_M_RATING_2), ST_PRIMARY },
        { "rate-1", tr(c, KU_M_RATING_1), ST_PRIMARY },
    };

    header(c, tr(c, KU_M_RATING_TITLE));
    button_row(c, &bottom, &skip, 1);
    para(c, tr(c, KU_M_RATING_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    /* Five big targets sharing the space left, at most 40 mm each. */
    int each = (bottom - c->y - c->gap) / 5 - c->gap, w = c->W - 2 * c->m;
    if (each > px(c, 40))
        each = px(c, 40);
    for (size_t i = 0; i < HM_ARRAY_SIZE(stars); i++) {
        int h = button_h(c, stars[i].label, w);

        h = h > each ? h : each;
        button(c, stars[i].id, (struct ku_rect){ c->m, c->y, w, h }, stars[i].label, stars[i].st,
               true);
        c->y += h + c->gap;
    }
}

/* ---- 婚姻登记预约 and 我的预约 -------------------------------------------------------- */

struct gdef {
    char id[32];
    char label[160];
    bool enabled;
    enum style st;
};

/* Buttons in cols columns from c->y, rows as tall as their tallest label; stops above bottom. */
static void grid(struct ctx *c, const struct gdef *g, size_t n, int cols, int bottom)
{
    int w = (c->W - 2 * c->m - (cols - 1) * c->gap) / cols;

    for (size_t r = 0; r * (size_t)cols < n; r++) {
        int h = 0;

        for (size_t k = r * (size_t)cols; k < n && k < (r + 1) * (size_t)cols; k++) {
            int bh = button_h(c, g[k].label, w);

            h = bh > h ? bh : h;
        }
        if (c->y + h > bottom) {
            hm_log_warn("kiosk: %s: %zu buttons do not fit", ku_screen_name(c->a->screen),
                        n - r * (size_t)cols);
            return;
        }
        for (size_t k = r * (size_t)cols; k < n && k < (r + 1) * (size_t)cols; k++)
            button(c, g[k].id,
                   (struct ku_rect){ c->m + (int)(k % (size_t)cols) * (w + c->gap), c->y, w, h },
                   g[k].label, g[k].st, g[k].enabled);
        c->y += h + c->gap;
    }
}

static_assert(KU_M_WD_6 == KU_M_WD_0 + 6, "the weekday messages are in order, Sunday first");
static_assert(KU_M_MON_12 == KU_M_MON_1 + 11, "the month messages are in order");

/* "12月5日 星期六" */
static const char *day_text(struct ctx *c, const char *date, int wday, char *buf, size_t cap)
{
    char d[8] = "", md[48];
    int mon = 0;

    if (strlen(date) == 10) {
        mon = (date[5] - '0') * 10 + (date[6] - '0');
        snprintf(d, sizeof(d), "%d", (date[8] - '0') * 10 + (date[9] - '0'));
    }
    trf(c, md, sizeof(md), KU_M_M_DAY,
        mon >= 1 && mon <= 12 ? tr(c, (enum ku_msg)(KU_M_MON_1 + mon - 1)) : "", d, NULL);
    if (wday < 0 || wday > 6) {
        hm_strlcpy(buf, md, cap);
        return buf;
    }
    snprintf(buf, cap, "%s %s", md, tr(c, (enum ku_msg)(KU_M_WD_0 + wday)));
    return buf;
}

/* The weekday of a YYYY-MM-DD (Sakamoto's method), -1 when malformed. */
static int weekday(const char *date)
{
    static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
    int y, m, d;

    if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12)
        return -1;
    y -= m < 3;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static void home_row(struct ctx *c, int *bottom)
{
    const struct bdef home = { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY };

    button_row(c, bottom, &home, 1);
}

static void scr_m_service(struct ctx *c)
{
    struct gdef g[8];
    size_t n = 0;
    int bottom = c->H - c->m;

    header(c, tr(c, KU_M_M_SERVICE_TITLE));
    home_row(c, &bottom);
    para(c, tr(c, KU_M_M_SERVICE_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    for (size_t i = 0; i < ku_m_services() && n < HM_ARRAY_SIZE(g); i++, n++) {
        snprintf(g[n].id, sizeof(g[n].id), "svc-%s", ku_m_service_id(i));
        hm_strlcpy(g[n].label, tr(c, ku_m_service_msg(i)), sizeof(g[n].label));
        g[n].enabled = true;
        g[n].st = ST_PRIMARY;
    }
    hm_strlcpy(g[n].id, "mine", sizeof(g[n].id));
    hm_strlcpy(g[n].label, tr(c, KU_M_BTN_MINE), sizeof(g[n].label));
    g[n].enabled = true;
    g[n++].st = ST_SECONDARY;
    grid(c, g, n, 1, bottom);
}

static void scr_m_office(struct ctx *c)
{
    const struct ku_mdata *m = &c->a->s.m;
    struct gdef g[KU_OFFICE_MAX];
    size_t n = 0;
    int bottom = c->H - c->m;

    header(c, tr(c, KU_M_M_OFFICE_TITLE));
    home_row(c, &bottom);
    for (size_t i = 0; i < m->n_offices; i++) {
        if (!m->offices[i].offers)
            continue;
        /* By the office's id, so a script (or staff reading a log) knows which one it is. */
        snprintf(g[n].id, sizeof(g[n].id), "office-%.24s", m->offices[i].id);
        hm_strlcpy(g[n].label, m->offices[i].name, sizeof(g[n].label));
        g[n].enabled = true;
        g[n++].st = ST_PRIMARY;
    }
    para(c, tr(c, n ? KU_M_M_OFFICE_HELP : KU_M_M_OFFICE_NONE), c->body, c->t->fg, KU_ALIGN_LEFT,
         false);
    grid(c, g, n, 1, bottom);
}

static int day_free(const struct ku_day *d)
{
    int f = 0;

    for (size_t i = 0; i < d->n_slots; i++)
        f += d->slots[i].free;
    return f;
}

static void scr_m_date(struct ctx *c)
{
    const struct ku_mdata *m = &c->a->s.m;
    struct gdef g[KU_DAY_MAX];
    char dt[64], st[48], num[16];
    size_t n = 0, bookable = 0;
    int bottom = c->H - c->m;

    header(c, tr(c, KU_M_M_DATE_TITLE));
    home_row(c, &bottom);
    for (size_t i = 0; i < m->n_days && i < KU_DAY_MAX; i++, n++) {
        const struct ku_day *d = &m->days[i];
        int f = day_free(d);

        snprintf(num, sizeof(num), "%d", f);
        if (!d->n_slots)
            hm_strlcpy(st, tr(c, KU_M_M_DATE_CLOSED), sizeof(st));
        else if (!d->open)
            hm_strlcpy(st, tr(c, KU_M_M_DATE_NOT_OPEN), sizeof(st));
        else if (!f)
            hm_strlcpy(st, tr(c, KU_M_M_DATE_FULL), sizeof(st));
        else
            trf(c, st, sizeof(st), KU_M_M_DATE_FREE, num, NULL, NULL);
        snprintf(g[n].id, sizeof(g[n].id), "day-%zu", i);
        snprintf(g[n].label, sizeof(g[n].label), "%s%s\n%s",
                 day_text(c, d->date, weekday(d->date), dt, sizeof(dt)), d->special ? " ★" : "",
                 st);
        g[n].enabled = d->open && f > 0;
        g[n].st = ST_PRIMARY;
        bookable += g[n].enabled;
    }
    para(c, tr(c, bookable ? KU_M_M_DATE_HELP : KU_M_M_DATE_NONE), c->body, c->t->fg, KU_ALIGN_LEFT,
         false);
    para(c, tr(c, KU_M_M_DATE_SPECIAL), c->small, c->t->muted, KU_ALIGN_LEFT, false);
    grid(c, g, n, 2, bottom);
}

static void scr_m_slot(struct ctx *c)
{
    const struct ku_day *d = &c->a->s.m.days[c->a->s.day_idx];
    struct gdef g[KU_SLOT_MAX];
    char dt[64], buf[160], num[16];
    int bottom = c->H - c->m;
    const struct bdef b[] = { { "back", tr(c, KU_M_BTN_CHOOSE_AGAIN), ST_SECONDARY },
                              { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY } };

    header(c, tr(c, KU_M_M_SLOT_TITLE));
    button_row(c, &bottom, b, 2);
    day_text(c, d->date, weekday(d->date), dt, sizeof(dt));
    para(c, trf(c, buf, sizeof(buf), KU_M_M_SLOT_HELP, dt, NULL, NULL), c->body, c->t->fg,
         KU_ALIGN_LEFT, true);
    for (size_t i = 0; i < d->n_slots && i < KU_SLOT_MAX; i++) {
        const struct ku_slot *s = &d->slots[i];

        /* 改约 to the time it already has would change nothing: that one is marked, not offered. */
        const struct ku_appt *now = &c->a->s.m.appts[c->a->s.appt_idx];
        bool current =
            c->a->s.resched && strcmp(now->date, d->date) == 0 && strcmp(now->slot, s->start) == 0;

        snprintf(num, sizeof(num), "%d", s->free);
        snprintf(g[i].id, sizeof(g[i].id), "slot-%zu", i);
        trf(c, g[i].label, sizeof(g[i].label),
            current       ? KU_M_M_SLOT_CURRENT
            : s->free > 0 ? KU_M_M_SLOT_LABEL
                          : KU_M_M_SLOT_FULL,
            s->start, s->end, num);
        g[i].enabled = s->free > 0 && !current;
        g[i].st = ST_PRIMARY;
    }
    grid(c, g, d->n_slots < KU_SLOT_MAX ? d->n_slots : KU_SLOT_MAX, 2, bottom);
}

/*
 * The MRZ keypad. A document number may hold any letter, so the first field has two pages: the
 * 26 letters (seven to a row) and the ten digits (five to a row), each key a full target in
 * 长辈模式; the dates have the digits page only. The last row switches pages, deletes, and goes
 * on to the next field.
 */
static void scr_m_mrz(struct ctx *c)
{
    static const enum ku_msg names[3] = { KU_M_M_MRZ_DOC, KU_M_M_MRZ_BIRTH, KU_M_M_MRZ_EXPIRY };
    const char *letters = KU_MRZ_LETTERS;
    struct gdef g[32];
    char buf[160], who[16];
    int bottom = c->H - c->m, field = c->a->s.mrz_field;
    bool digits = field != 0 || c->a->s.mrz_digits;
    size_t n, len = strlen(c->a->s.mrz[field]);

    snprintf(who, sizeof(who), "%d", c->a->s.party + 1);
    header(c, c->a->s.for_mine  ? tr(c, KU_M_M_MRZ_TITLE_MINE)
              : c->a->s.resched ? tr(c, KU_M_M_MRZ_TITLE_OTHER)
                                : trf(c, buf, sizeof(buf), KU_M_M_MRZ_TITLE, who, NULL, NULL));
    home_row(c, &bottom);
    if (c->a->s.mrz_wrong)
        para(c, tr(c, KU_M_M_MRZ_WRONG), c->body, c->t->warn, KU_ALIGN_LEFT, true);
    else if (c->a->s.resched && field == 0 && !len)
        para(c, tr(c, KU_M_M_RESCHED_OTHER), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    else
        para(c, tr(c, KU_M_M_MRZ_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    for (int f = 0; f < 3; f++) {
        const char *v = c->a->s.mrz[f];

        char val[24];

        snprintf(g[f].id, sizeof(g[f].id), "mf-%d", f);
        snprintf(val, sizeof(val), "%s%s", v, f == field ? "▏" : "");
        trf(c, g[f].label, sizeof(g[f].label), KU_M_M_MRZ_FIELD, tr(c, names[f]), val, NULL);
        hm_wipe(val, sizeof(val));
        g[f].enabled = true;
        g[f].st = f == field ? ST_PRIMARY : ST_SECONDARY;
    }
    grid(c, g, 3, 1, bottom);
    c->y += c->gap;
    /* The last row first, from the bottom up, so the keys above always leave room for it. */
    struct gdef ctl[3];
    size_t nc = 0;

    if (field == 0) {
        hm_strlcpy(ctl[nc].id, digits ? "mk-abc" : "mk-123", sizeof(ctl[nc].id));
        hm_strlcpy(ctl[nc].label, tr(c, digits ? KU_M_BTN_LETTERS : KU_M_BTN_DIGITS),
                   sizeof(ctl[nc].label));
        ctl[nc].enabled = true;
        ctl[nc++].st = ST_SECONDARY;
    }
    hm_strlcpy(ctl[nc].id, "mk-del", sizeof(ctl[nc].id));
    hm_strlcpy(ctl[nc].label, tr(c, KU_M_BTN_DEL), sizeof(ctl[nc].label));
    ctl[nc].enabled = true;
    ctl[nc++].st = ST_SECONDARY;
    hm_strlcpy(ctl[nc].id, "mk-next", sizeof(ctl[nc].id));
    hm_strlcpy(ctl[nc].label, tr(c, KU_M_BTN_NEXT_FIELD), sizeof(ctl[nc].label));
    ctl[nc].enabled = len >= (field ? 6u : 5u);
    ctl[nc++].st = ST_PRIMARY;
    if (digits) {
        for (n = 0; n < 10; n++) {
            char k = n < 9 ? (char)('1' + n) : '0';

            snprintf(g[n].id, sizeof(g[n].id), "mk-%c", k);
            snprintf(g[n].label, sizeof(g[n].label), "%c", k);
            g[n].enabled = true;
            g[n].st = ST_SECONDARY;
        }
        grid(c, g, n, 5, bottom);
    } else {
        for (n = 0; letters[n] && n < 26; n++) {
            snprintf(g[n].id, sizeof(g[n].id), "mk-%c", letters[n]);
            snprintf(g[n].label, sizeof(g[n].label), "%c", letters[n]);
            g[n].enabled = true;
            g[n].st = ST_SECONDARY;
        }
        grid(c, g, n, 7, bottom);
    }
    grid(c, ctl, nc, (int)nc, bottom);
    hm_wipe(g, sizeof(g)); /* the fields' labels held the typed numbers */
}

static void scr_m_idcard(struct ctx *c)
{
    char buf[160], who[16];
    const struct bdef b[] = { { "read-card", tr(c, KU_M_BTN_READ_CARD), ST_PRIMARY },
                              { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY } };
    int bottom = c->H - c->m, iw = (c->W - 2 * c->m) * 3 / 4;

    snprintf(who, sizeof(who), "%d", c->a->s.party + 1);
    header(c, c->a->s.for_mine  ? tr(c, KU_M_M_IDCARD_TITLE_MINE)
              : c->a->s.resched ? tr(c, KU_M_M_IDCARD_TITLE_OTHER)
                                : trf(c, buf, sizeof(buf), KU_M_M_IDCARD_TITLE, who, NULL, NULL));
    button_row(c, &bottom, &b[1], 1);
    button_row(c, &bottom, &b[0], 1);
    c->y += px(c, 6);
    if (c->a->s.id_pulled)
        para(c, tr(c, KU_M_M_IDCARD_PULLED), c->body, c->t->warn, KU_ALIGN_CENTER, true);
    para(c, tr(c, KU_M_M_IDCARD_HELP), c->big, c->t->fg, KU_ALIGN_CENTER, true);
    if (bottom - c->y > iw * 3 / 4)
        icon(c, (struct ku_rect){ (c->W - iw) / 2, c->y, iw, iw * 3 / 4 }, KU_ICON_CARD, c->t->btn,
             c->t->fg);
}

static void party_lines(struct ctx *c)
{
    char buf[256], who[16];

    for (int p = 0; p < 2; p++) {
        const struct ku_party *pt = &c->a->s.parties[p];

        if (!pt->session[0])
            continue;
        snprintf(who, sizeof(who), "%d", p + 1);
        para(c, trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_PARTY, who, pt->name, pt->id_masked),
             c->body, c->t->fg, KU_ALIGN_LEFT, true);
    }
}

static enum ku_msg service_msg_of(const char *id);

/* 改约's summary: the appointment as it was and as it will be, the people, 确认改约. */
static void scr_m_resched_summary(struct ctx *c)
{
    const struct ku_day *d = &c->a->s.m.days[c->a->s.day_idx];
    const struct ku_appt *p = &c->a->s.m.appts[c->a->s.appt_idx];
    char buf[256], dt[64];
    int bottom = c->H - c->m;
    const struct bdef b[] = { { "reschedule", tr(c, KU_M_BTN_RESCHED_YES), ST_PRIMARY },
                              { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY } };

    header(c, tr(c, KU_M_M_RESCHED_TITLE));
    button_row(c, &bottom, &b[1], 1);
    button_row(c, &bottom, &b[0], 1);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_SERVICE, tr(c, service_msg_of(p->service)), NULL,
             NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, false);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_OFFICE,
             p->office_name[0] ? p->office_name : p->office, NULL, NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, false);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_RESCHED_FROM,
             day_text(c, p->date, weekday(p->date), dt, sizeof(dt)), p->slot, NULL),
         c->body, c->t->muted, KU_ALIGN_LEFT, false);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_RESCHED_TO,
             day_text(c, d->date, weekday(d->date), dt, sizeof(dt)),
             d->slots[c->a->s.slot_idx].start, NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, true);
    party_lines(c);
    c->y += c->gap;
    para(c, tr(c, KU_M_M_RESCHED_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
}

static void scr_m_summary(struct ctx *c)
{
    const struct ku_day *d = &c->a->s.m.days[c->a->s.day_idx];
    char buf[256], dt[64];
    int bottom = c->H - c->m;
    const struct bdef b[] = { { "book", tr(c, KU_M_BTN_BOOK), ST_PRIMARY },
                              { "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY } };

    if (c->a->s.resched) {
        scr_m_resched_summary(c);
        return;
    }
    header(c, tr(c, KU_M_M_SUMMARY_TITLE));
    button_row(c, &bottom, &b[1], 1);
    button_row(c, &bottom, &b[0], 1);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_SERVICE,
             tr(c, ku_m_service_msg((size_t)c->a->s.svc)), NULL, NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, false);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_OFFICE, c->a->s.m.offices[c->a->s.office_idx].name,
             NULL, NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, false);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_SUMMARY_WHEN,
             day_text(c, d->date, weekday(d->date), dt, sizeof(dt)),
             d->slots[c->a->s.slot_idx].start, NULL),
         c->body, c->t->fg, KU_ALIGN_LEFT, true);
    party_lines(c);
    c->y += c->gap;
    para(c, tr(c, KU_M_M_SUMMARY_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
}

static const char *office_name(struct ctx *c, const char *id)
{
    for (size_t i = 0; i < c->a->s.m.n_offices; i++)
        if (strcmp(c->a->s.m.offices[i].id, id) == 0)
            return c->a->s.m.offices[i].name;
    return id;
}

static void scr_m_ticket(struct ctx *c)
{
    const struct ku_ticket *t = &c->a->s.m.ticket;
    const struct bdef done = { "done", tr(c, KU_M_BTN_DONE), ST_PRIMARY };
    char buf[256], dt[64], idl[96];
    int bottom = c->H - c->m;

    enum ku_msg title = c->a->s.resched ? KU_M_M_RESCHED_DONE : KU_M_M_TICKET_TITLE;

    header(c, tr(c, title));
    button_row(c, &bottom, &done, 1);
    para(c, tr(c, title), c->big, c->t->ok, KU_ALIGN_CENTER, true);
    para(c,
         trf(c, buf, sizeof(buf), KU_M_M_TICKET_WHEN,
             day_text(c, t->date, weekday(t->date), dt, sizeof(dt)), t->slot,
             office_name(c, t->office)),
         c->body, c->t->fg, KU_ALIGN_CENTER, true);
    party_lines(c);
    trf(c, idl, sizeof(idl), KU_M_M_TICKET_ID, t->id, NULL, NULL);
    qr_block(c, t->token, KU_M_M_TICKET_SCAN, idl, 120, bottom);
}

static const char *refusal_text(struct ctx *c)
{
    const ku_app *a = c->a;

    if (a->s.refuse_own)
        return tr(c, a->s.refuse_own);
    if (a->lang == KU_LANG_EN && a->s.refuse_en[0])
        return a->s.refuse_en;
    return a->s.refuse_zh;
}

static void scr_m_refused(struct ctx *c)
{
    struct bdef b[3];
    size_t n = 0;
    int bottom = c->H - c->m, side = px(c, c->a->elder ? 50 : 35);

    if (c->a->s.refuse_back != KU_SCR_HOME)
        b[n++] = (struct bdef){
            "choose-again",
            tr(c, c->a->s.refuse_again ? c->a->s.refuse_again : KU_M_BTN_CHOOSE_AGAIN), ST_PRIMARY
        };
    b[n++] = (struct bdef){ "staff", tr(c, KU_M_BTN_STAFF), ST_STAFF };
    b[n++] = (struct bdef){ "home", tr(c, KU_M_BTN_HOME), ST_SECONDARY };
    header(c, tr(c, c->a->s.refuse_title ? c->a->s.refuse_title : KU_M_M_REFUSED_TITLE));
    for (size_t i = n; i-- > 0;)
        button_row(c, &bottom, &b[i], 1);
    c->y += px(c, 6);
    icon(c, (struct ku_rect){ (c->W - side) / 2, c->y, side, side }, KU_ICON_WARN, c->t->warn,
         c->t->fg);
    c->y += side + px(c, 6);
    para(c, refusal_text(c), c->body, c->t->fg, KU_ALIGN_CENTER, true);
    para(c, tr(c, c->a->s.refuse_next ? c->a->s.refuse_next : KU_M_M_NEXT_STAFF), c->body, c->t->fg,
         KU_ALIGN_CENTER, false);
}

static enum ku_msg appt_status_msg(const char *s)
{
    if (strcmp(s, "checked_in") == 0)
        return KU_M_ST_CHECKED_IN;
    if (strcmp(s, "cancelled") == 0)
        return KU_M_ST_CANCELLED;
    if (strcmp(s, "rescheduled") == 0)
        return KU_M_ST_RESCHEDULED;
    if (strcmp(s, "no_show") == 0)
        return KU_M_ST_NO_SHOW;
    return KU_M_ST_BOOKED;
}

static enum ku_msg service_msg_of(const char *id)
{
    for (size_t i = 0; i < ku_m_services(); i++)
        if (strcmp(ku_m_service_id(i), id) == 0)
            return ku_m_service_msg(i);
    return KU_M_SVC_MARRIAGE;
}

static void appt_text(struct ctx *c, const struct ku_appt *p, char *buf, size_t cap)
{
    char dt[64], when[96];

    snprintf(when, sizeof(when), "%s %s", day_text(c, p->date, weekday(p->date), dt, sizeof(dt)),
             p->slot);
    snprintf(buf, cap, "%s · %s\n%s · %s", when, tr(c, service_msg_of(p->service)),
             p->office_name[0] ? p->office_name : p->office, tr(c, appt_status_msg(p->status)));
}

static void scr_m_mine(struct ctx *c)
{
    const struct ku_mdata *m = &c->a->s.m;
    char buf[400];
    int bottom = c->H - c->m, w = c->W - 2 * c->m;

    header(c, tr(c, KU_M_M_MINE_TITLE));
    home_row(c, &bottom);
    party_lines(c);
    if (!m->n_appts)
        para(c, tr(c, KU_M_M_MINE_NONE), c->body, c->t->fg, KU_ALIGN_LEFT, false);
    for (size_t i = 0; i < m->n_appts; i++) {
        const struct ku_appt *p = &m->appts[i];
        bool booked = strcmp(p->status, "booked") == 0;
        int bw = (w - px(c, 4) - c->gap) / 2, bh1 = button_h(c, tr(c, KU_M_BTN_CANCEL_APPT), bw),
            bh2 = button_h(c, tr(c, KU_M_BTN_RESCHED), bw);
        int th, bh = booked ? (bh1 > bh2 ? bh1 : bh2) + c->gap : 0;

        appt_text(c, p, buf, sizeof(buf));
        th = text_lines(buf, c->body, w - px(c, 4)) * line_h(c->body);
        if (c->y + th + bh + px(c, 4) > bottom)
            break;
        rect(c, (struct ku_rect){ c->m, c->y, w, th + bh + px(c, 4) }, c->t->panel, c->radius,
             c->t->panel_border, c->bw);
        text(c, (struct ku_rect){ c->m + px(c, 2), c->y + px(c, 2), w - px(c, 4), th }, buf,
             c->body, booked ? c->t->fg : c->t->muted, KU_ALIGN_LEFT, booked);
        if (booked) {
            char id[32];

            snprintf(id, sizeof(id), "resched-%zu", i);
            button(c, id,
                   (struct ku_rect){ c->m + px(c, 2), c->y + px(c, 2) + th, bw, bh - c->gap },
                   tr(c, KU_M_BTN_RESCHED), ST_PRIMARY, true);
            snprintf(id, sizeof(id), "cancel-%zu", i);
            button(c, id,
                   (struct ku_rect){ c->m + px(c, 2) + bw + c->gap, c->y + px(c, 2) + th, bw,
                                     bh - c->gap },
                   tr(c, KU_M_BTN_CANCEL_APPT), ST_SECONDARY, true);
        }
        c->y += th + bh + px(c, 4) + c->gap;
    }
}

static void scr_m_cancel(struct ctx *c)
{
    char buf[400];
    int bottom = c->H - c->m;
    const struct bdef b[] = { { "cancel-yes", tr(c, KU_M_BTN_CANCEL_YES), ST_PRIMARY },
                              { "keep", tr(c, KU_M_BTN_KEEP), ST_SECONDARY } };

    header(c, tr(c, KU_M_M_CANCEL_TITLE));
    button_row(c, &bottom, &b[1], 1);
    button_row(c, &bottom, &b[0], 1);
    appt_text(c, &c->a->s.m.appts[c->a->s.appt_idx], buf, sizeof(buf));
    para(c, buf, c->body, c->t->fg, KU_ALIGN_LEFT, true);
    para(c, tr(c, KU_M_M_CANCEL_HELP), c->body, c->t->fg, KU_ALIGN_LEFT, false);
}

void ku_app_render(ku_app *a, struct ku_draw_list *l)
{
    const struct theme *t = a->elder ? &elder_theme : &normal_theme;
    struct ctx c = { .a = a, .l = l, .t = t, .W = a->cfg.width, .H = a->cfg.height };
    const struct bdef home = { "home", tr(&c, KU_M_BTN_HOME), ST_SECONDARY };
    const struct bdef done = { "done", tr(&c, KU_M_BTN_DONE), ST_PRIMARY };

    c.m = px(&c, t->margin_mm);
    c.gap = px(&c, t->gap_mm);
    c.target = px(&c, t->target_mm);
    /* 长辈模式's text is exactly twice the normal size in pixels (not rounded separately). */
    int k = a->elder ? 2 : 1;
    c.body = k * px(&c, normal_theme.body_mm);
    c.title = k * px(&c, normal_theme.title_mm);
    c.small = k * px(&c, normal_theme.small_mm);
    c.big = k * px(&c, normal_theme.big_mm);
    c.radius = px(&c, t->radius_mm);
    c.bw = px(&c, t->border_mm);
    a->nbuttons = 0;
    if (l)
        ku_draw_clear(l);
    rect(&c, (struct ku_rect){ 0, 0, c.W, c.H }, t->bg, 0, 0, 0);
    switch (a->screen) {
    case KU_SCR_HOME:
        scr_home(&c);
        break;
    case KU_SCR_CARD_PROMPT:
        scr_card_prompt(&c);
        break;
    case KU_SCR_READING:
        scr_message(&c, KU_M_READING_TITLE, KU_M_READING_HELP, KU_ICON_CARD, t->btn, NULL, 0, true);
        break;
    case KU_SCR_CARD_ERROR:
        scr_card_error(&c);
        break;
    case KU_SCR_STATUS:
        scr_status(&c);
        break;
    case KU_SCR_PIN:
        scr_pin(&c);
        break;
    case KU_SCR_CONFIRMING:
        scr_message(&c, KU_M_CONFIRMING_TITLE, KU_M_CONFIRMING_HELP, KU_ICON_CARD, t->btn, NULL, 0,
                    true);
        break;
    case KU_SCR_RECEIPT:
        scr_receipt(&c);
        break;
    case KU_SCR_QUEUED:
        scr_message(&c, KU_M_QUEUED_TITLE, KU_M_QUEUED_HELP, KU_ICON_NETWORK, t->warn, &done, 1,
                    false);
        break;
    case KU_SCR_STAFF:
        scr_staff(&c);
        break;
    case KU_SCR_DISPUTE:
        scr_dispute(&c);
        break;
    case KU_SCR_DISPUTE_CONFIRM:
        scr_dispute_confirm(&c);
        break;
    case KU_SCR_DISPUTING:
        scr_message(&c, KU_M_DISPUTING_TITLE, KU_M_DISPUTING_HELP, KU_ICON_CARD, t->btn, NULL, 0,
                    true);
        break;
    case KU_SCR_DISPUTED:
        scr_disputed(&c);
        break;
    case KU_SCR_RATING:
        scr_rating(&c);
        break;
    case KU_SCR_THANKS: {
        const struct bdef fin = { "home", tr(&c, KU_M_BTN_DONE), ST_PRIMARY };
        scr_message(&c, KU_M_THANKS_TITLE, KU_M_THANKS_HELP, KU_ICON_OK, t->ok, &fin, 1, false);
        break;
    }
    case KU_SCR_M_SERVICE:
        scr_m_service(&c);
        break;
    case KU_SCR_M_WAIT: {
        /* While a booking, a change or a cancellation is on its way, 返回首页 would leave the
         * resident not knowing whether it was made: only 取消 (which says so) is offered. */
        enum ku_job_kind wk = a->wait_kind;
        bool write = a->waiting_seq && (wk == KU_JOB_BOOK || wk == KU_JOB_APPT_RESCHEDULE ||
                                        wk == KU_JOB_APPT_CANCEL);
        scr_message(&c, KU_M_M_WAIT_TITLE, KU_M_M_WAIT_HELP, KU_ICON_NETWORK, t->btn, &home,
                    write ? 0 : 1, true);
        break;
    }
    case KU_SCR_M_OFFICE:
        scr_m_office(&c);
        break;
    case KU_SCR_M_DATE:
        scr_m_date(&c);
        break;
    case KU_SCR_M_SLOT:
        scr_m_slot(&c);
        break;
    case KU_SCR_M_MRZ:
        scr_m_mrz(&c);
        break;
    case KU_SCR_M_IDCARD:
        scr_m_idcard(&c);
        break;
    case KU_SCR_M_IDREAD:
        scr_message(&c, KU_M_M_IDREAD_TITLE, KU_M_M_IDREAD_HELP, KU_ICON_CARD, t->btn, NULL, 0,
                    true);
        break;
    case KU_SCR_M_SUMMARY:
        scr_m_summary(&c);
        break;
    case KU_SCR_M_TICKET:
        scr_m_ticket(&c);
        break;
    case KU_SCR_M_REFUSED:
        scr_m_refused(&c);
        break;
    case KU_SCR_M_MINE:
        scr_m_mine(&c);
        break;
    case KU_SCR_M_CANCEL:
        scr_m_cancel(&c);
        break;
    case KU_SCR_M_CANCELLED:
        scr_message(&c, KU_M_M_CANCELLED_TITLE, KU_M_M_CANCELLED_HELP, KU_ICON_OK, t->ok, &done, 1,
                    false);
        break;
    case KU_SCR_COUNT:
        break;
    }
    if (a->idle_warn)
        scr_idle(&c);
}

size_t ku_app_buttons(const ku_app *a, const struct ku_button **out)
{
    *out = a->buttons;
    return a->nbuttons;
}

bool ku_app_button_rect(ku_app *a, const char *id, struct ku_rect *out)
{
    ku_app_render(a, NULL);
    for (size_t i = 0; i < a->nbuttons; i++) {
        if (strcmp(a->buttons[i].id, id) == 0) {
            *out = a->buttons[i].r;
            return a->buttons[i].enabled;
        }
    }
    return false;
}

/* ---- what is said aloud ---------------------------------------------------------------- */

/* Appends s as a sentence: a full stop is added when it does not end in one. */
static void say(struct ctx *c, char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf), k = strlen(s);
    static const char *const ends[] = { "。", "！", "？", "：", ".", "!", "?", ":" };
    bool ended = false;

    if (!k)
        return;
    for (size_t i = 0; i < HM_ARRAY_SIZE(ends); i++)
        if (k >= strlen(ends[i]) && strcmp(s + k - strlen(ends[i]), ends[i]) == 0)
            ended = true;
    snprintf(buf + n, cap - n, "%s%s%s", n ? " " : "", s,
             ended                      ? ""
             : c->a->lang == KU_LANG_ZH ? "。"
                                        : ".");
}

static void say_status(struct ctx *c, char *buf, size_t cap)
{
    const struct ku_status *st = &c->a->s.st;
    char line[320], words[96], per[48];

    if (st->cached)
        say(c, buf, cap, cached_text(c, line, sizeof(line)));
    say(c, buf, cap, tr(c, KU_M_SPEECH_STATUS));
    for (size_t i = 0; i < st->n_ent; i++) {
        const struct ku_entitlement *e = &st->ent[i];

        if (strcmp(e->status, "stopped") == 0)
            continue;
        ku_money_words(e->amount_fen, c->a->lang, words, sizeof(words));
        say(c, buf, cap, trf(c, line, sizeof(line), KU_M_SPEECH_ENT, e->name, words, NULL));
    }
    for (size_t i = 0; i < st->n_pay; i++) {
        const struct ku_payment *p = &st->pay[i];

        if (!p->awaiting)
            continue;
        period_text(c, p->period, per, sizeof(per));
        ku_money_words(p->amount_fen, c->a->lang, words, sizeof(words));
        say(c, buf, cap,
            trf(c, line, sizeof(line),
                st->cached ? KU_M_SPEECH_AWAITING_CACHED : KU_M_SPEECH_AWAITING, per, p->name,
                words));
    }
    ku_money_words(st->year_total_fen, c->a->lang, words, sizeof(words));
    say(c, buf, cap, trf(c, line, sizeof(line), KU_M_SPEECH_YEAR, words, NULL, NULL));
    if (st->cached)
        say(c, buf, cap, tr(c, KU_M_STATUS_CACHED_NOTE));
    hm_wipe(line, sizeof(line));
    hm_wipe(words, sizeof(words));
}

void ku_app_speech_text(ku_app *a, char *buf, size_t cap)
{
    struct ctx c = { .a = a };
    static const struct {
        enum ku_msg title, help;
    } plain[KU_SCR_COUNT] = {
        [KU_SCR_HOME] = { KU_M_HOME_TAP, KU_M_HOME_TAP_HINT },
        [KU_SCR_CARD_PROMPT] = { KU_M_HOME_TAP, KU_M_CARD_HELP },
        [KU_SCR_READING] = { KU_M_READING_TITLE, KU_M_READING_HELP },
        [KU_SCR_CONFIRMING] = { KU_M_CONFIRMING_TITLE, KU_M_CONFIRMING_HELP },
        [KU_SCR_RECEIPT] = { KU_M_RECEIPT_TITLE, KU_M_RECEIPT_SCAN },
        [KU_SCR_QUEUED] = { KU_M_QUEUED_TITLE, KU_M_QUEUED_HELP },
        [KU_SCR_M_SERVICE] = { KU_M_M_SERVICE_TITLE, KU_M_M_SERVICE_HELP },
        [KU_SCR_M_WAIT] = { KU_M_M_WAIT_TITLE, KU_M_M_WAIT_HELP },
        [KU_SCR_M_OFFICE] = { KU_M_M_OFFICE_TITLE, KU_M_M_OFFICE_HELP },
        [KU_SCR_M_DATE] = { KU_M_M_DATE_TITLE, KU_M_M_DATE_HELP },
        [KU_SCR_M_SLOT] = { KU_M_M_SLOT_TITLE, KU_M_M_WAIT_HELP },
        [KU_SCR_M_IDREAD] = { KU_M_M_IDREAD_TITLE, KU_M_M_IDREAD_HELP },
        [KU_SCR_M_SUMMARY] = { KU_M_M_SUMMARY_TITLE, KU_M_M_SUMMARY_HELP },
        [KU_SCR_M_TICKET] = { KU_M_M_TICKET_TITLE, KU_M_M_TICKET_SCAN },
        [KU_SCR_M_MINE] = { KU_M_M_MINE_TITLE, KU_M_M_MINE_TITLE },
        [KU_SCR_M_CANCEL] = { KU_M_M_CANCEL_TITLE, KU_M_M_CANCEL_HELP },
        [KU_SCR_M_CANCELLED] = { KU_M_M_CANCELLED_TITLE, KU_M_M_CANCELLED_HELP },
        [KU_SCR_DISPUTE_CONFIRM] = { KU_M_DISPUTE_CONFIRM_TITLE, KU_M_DISPUTE_CONFIRM_HELP },
        [KU_SCR_DISPUTING] = { KU_M_DISPUTING_TITLE, KU_M_DISPUTING_HELP },
        [KU_SCR_DISPUTED] = { KU_M_DISPUTED_TITLE, KU_M_DISPUTED_HELP },
        [KU_SCR_RATING] = { KU_M_RATING_TITLE, KU_M_RATING_HELP },
        [KU_SCR_THANKS] = { KU_M_THANKS_TITLE, KU_M_THANKS_HELP },
    };
    char line[320], n[24];

    buf[0] = '\0';
    if (a->idle_warn) {
        snprintf(n, sizeof(n), "%llu", (unsigned long long)(a->cfg.idle_grace_ms / 1000));
        say(&c, buf, cap, tr(&c, KU_M_IDLE_TITLE));
        say(&c, buf, cap, trf(&c, line, sizeof(line), KU_M_IDLE_HELP, n, NULL, NULL));
        return;
    }
    switch (a->screen) {
    case KU_SCR_STATUS:
        say_status(&c, buf, cap);
        break;
    case KU_SCR_CARD_ERROR:
        say(&c, buf, cap, tr(&c, a->err_title));
        say(&c, buf, cap, tr(&c, a->err_help));
        break;
    case KU_SCR_PIN:
        say(&c, buf, cap, tr(&c, KU_M_PIN_TITLE));
        if (a->s.pin_wrong) {
            snprintf(n, sizeof(n), "%d", a->s.tries_left);
            say(&c, buf, cap, trf(&c, line, sizeof(line), KU_M_PIN_WRONG, n, NULL, NULL));
        } else {
            say(&c, buf, cap, tr(&c, a->s.st.tap_only ? KU_M_PIN_TAP : KU_M_PIN_HELP));
        }
        break;
    case KU_SCR_DISPUTE:
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_TITLE));
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_HELP));
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_NOT_RECEIVED));
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_WRONG_AMOUNT));
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_OTHER));
        break;
    case KU_SCR_M_MRZ:
        say(&c, buf, cap, tr(&c, a->s.mrz_wrong ? KU_M_M_MRZ_WRONG : KU_M_M_MRZ_HELP));
        say(&c, buf, cap,
            tr(&c, a->s.mrz_field == 0   ? KU_M_M_MRZ_DOC
                   : a->s.mrz_field == 1 ? KU_M_M_MRZ_BIRTH
                                         : KU_M_M_MRZ_EXPIRY));
        break;
    case KU_SCR_STAFF: {
        char w[16];

        snprintf(w, sizeof(w), "%d", a->staff_waiting);
        if (a->staff_state == KU_STAFF_CALLED) {
            say(&c, buf, cap, tr(&c, KU_M_STAFF_CALLED));
            say(&c, buf, cap, trf(&c, line, sizeof(line), KU_M_STAFF_WAITING, w, NULL, NULL));
        } else if (a->staff_state == KU_STAFF_FAILED) {
            say(&c, buf, cap, tr(&c, KU_M_STAFF_FAILED));
            say(&c, buf, cap, tr(&c, KU_M_STAFF_HELP));
        } else {
            say(&c, buf, cap, tr(&c, KU_M_STAFF_CALLING));
            say(&c, buf, cap, tr(&c, KU_M_STAFF_CALLING_HELP));
        }
        break;
    }
    case KU_SCR_M_IDCARD:
        if (a->s.id_pulled)
            say(&c, buf, cap, tr(&c, KU_M_M_IDCARD_PULLED));
        say(&c, buf, cap, tr(&c, KU_M_M_IDCARD_HELP));
        break;
    case KU_SCR_M_REFUSED:
        say(&c, buf, cap, refusal_text(&c));
        say(&c, buf, cap, tr(&c, a->s.refuse_next ? a->s.refuse_next : KU_M_M_NEXT_STAFF));
        break;
    case KU_SCR_DISPUTE_CONFIRM:
        say(&c, buf, cap, tr(&c, KU_M_DISPUTE_CONFIRM_TITLE));
        say(&c, buf, cap,
            trf(&c, line, sizeof(line), KU_M_DISPUTE_CONFIRM_HELP, reason_text(&c, a->s.reason),
                NULL, NULL));
        break;
    default:
        if ((unsigned)a->screen < KU_SCR_COUNT && plain[a->screen].title) {
            say(&c, buf, cap, tr(&c, plain[a->screen].title));
            say(&c, buf, cap, tr(&c, plain[a->screen].help));
        }
        break;
    }
    if (ku_app_wait_slow(a)) {
        snprintf(n, sizeof(n), "%u", ku_app_wait_seconds(a));
        say(&c, buf, cap, trf(&c, line, sizeof(line), KU_M_SLOW_WAIT, n, NULL, NULL));
        if (a->wait_kind == KU_JOB_CONFIRM)
            say(&c, buf, cap, tr(&c, KU_M_SLOW_CONFIRM));
        else if (ku_app_wait_cancellable(a))
            say(&c, buf, cap, tr(&c, KU_M_SLOW_CANCEL_HINT));
    }
    if (a->screen == KU_SCR_HOME)
        say(&c, buf, cap, tr(&c, KU_M_SPEECH_REPEAT));
}
