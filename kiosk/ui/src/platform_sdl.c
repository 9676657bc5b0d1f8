/* The only file with SDL: a window or the offscreen driver, input, drawing, QR codes, PNGs. */
#include "platform.h"

#include "hm/log.h"
#include "hm/util.h"

#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>
#include <math.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FONTS_MAX 40

struct font {
    int size;
    bool bold;
    TTF_Font *f;
};

struct ku_platform {
    SDL_Window *win;
    SDL_Renderer *ren;
    Uint32 wake_type;
    int w, h;
    char font_path[2][512]; /* regular, bold */
    int font_index;
    struct font fonts[FONTS_MAX];
    size_t nfonts;
    size_t shrunk;
};

static const char *const font_candidates[2][3] = {
    { "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
      "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
      "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc" },
    { "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
      "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
      "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc" },
};

ku_platform *ku_platform_new(const struct ku_platform_opts *o, char *err, size_t cap)
{
    ku_platform *p = calloc(1, sizeof(*p));

    if (!p) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    p->w = o->width;
    p->h = o->height;
    p->font_index = o->font ? o->font_index : 2;
    for (int b = 0; b < 2; b++) {
        if (o->font) {
            hm_strlcpy(p->font_path[b], o->font, sizeof(p->font_path[b]));
            continue;
        }
        for (size_t i = 0; i < HM_ARRAY_SIZE(font_candidates[b]); i++) {
            if (access(font_candidates[b][i], R_OK) == 0) {
                hm_strlcpy(p->font_path[b], font_candidates[b][i], sizeof(p->font_path[b]));
                break;
            }
        }
    }
    if (!p->font_path[0][0]) {
        snprintf(err, cap,
                 "no Noto Sans CJK font under /usr/share/fonts (fonts-noto-cjk); "
                 "give one with --font");
        free(p);
        return NULL;
    }
    if (!p->font_path[1][0])
        hm_strlcpy(p->font_path[1], p->font_path[0], sizeof(p->font_path[1]));
    if (o->headless) {
        setenv("SDL_VIDEODRIVER", "offscreen", 0);
        /* Pixels in memory only: without this SDL backs the window with Mesa's GL for nothing. */
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    }
    /*
     * 2D drawing needs no GPU: SDL's software renderer draws a 1080x1920 frame
     * in a few ms, and leaving out Mesa's GL takes the window from ~120 MB to
     * ~32 MB and its first frame from ~150 ms to ~60 ms (measured under Xvfb).
     * SDL_RENDER_DRIVER in the environment still chooses another.
     */
    SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
        snprintf(err, cap, "SDL_Init: %s", SDL_GetError());
        free(p);
        return NULL;
    }
    if (TTF_Init() != 0 || (IMG_Init(IMG_INIT_PNG) & IMG_INIT_PNG) == 0) {
        snprintf(err, cap, "SDL_ttf / SDL_image: %s", SDL_GetError());
        goto fail;
    }
    p->wake_type = SDL_RegisterEvents(1);
    p->win = SDL_CreateWindow(o->title ? o->title : "huimin-kiosk", SDL_WINDOWPOS_CENTERED,
                              SDL_WINDOWPOS_CENTERED, p->w, p->h,
                              o->headless ? SDL_WINDOW_HIDDEN : SDL_WINDOW_SHOWN);
    if (!p->win) {
        snprintf(err, cap, "SDL_CreateWindow: %s", SDL_GetError());
        goto fail;
    }
    p->ren = SDL_CreateRenderer(p->win, -1, o->headless ? SDL_RENDERER_SOFTWARE : 0);
    if (!p->ren)
        p->ren = SDL_CreateRenderer(p->win, -1, SDL_RENDERER_SOFTWARE);
    if (!p->ren) {
        snprintf(err, cap, "SDL_CreateRenderer: %s", SDL_GetError());
        goto fail;
    }
    hm_log_info("kiosk: SDL video driver %s", SDL_GetCurrentVideoDriver());
    SDL_RenderSetLogicalSize(p->ren, p->w, p->h);
    SDL_SetRenderDrawBlendMode(p->ren, SDL_BLENDMODE_BLEND);
    return p;
fail:
    ku_platform_free(p);
    return NULL;
}

void ku_platform_free(ku_platform *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfonts; i++)
        TTF_CloseFont(p->fonts[i].f);
    if (p->ren)
        SDL_DestroyRenderer(p->ren);
    if (p->win)
        SDL_DestroyWindow(p->win);
    IMG_Quit();
    TTF_Quit();
    SDL_Quit();
    free(p);
}

size_t ku_platform_shrunk(const ku_platform *p)
{
    return p->shrunk;
}

/* ---- input ------------------------------------------------------------------------- */

void ku_platform_wake(void *arg)
{
    ku_platform *p = arg;
    SDL_Event e;

    memset(&e, 0, sizeof(e));
    e.type = p->wake_type;
    SDL_PushEvent(&e);
}

static int key_of(SDL_Keycode k)
{
    if (k >= SDLK_0 && k <= SDLK_9)
        return '0' + (int)(k - SDLK_0);
    if (k >= SDLK_KP_1 && k <= SDLK_KP_9)
        return '1' + (int)(k - SDLK_KP_1);
    /* Letters for document numbers on the MRZ keypad (the app takes either case). */
    if (k >= SDLK_a && k <= SDLK_z)
        return 'A' + (int)(k - SDLK_a);
    if (k >= SDLK_F1 && k <= SDLK_F12)
        return KU_PKEY_F1 + (int)(k - SDLK_F1);
    switch (k) {
    case SDLK_KP_0:
        return '0';
    case SDLK_BACKSPACE:
        return KU_KEY_BACKSPACE;
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
        return KU_KEY_ENTER;
    case SDLK_ESCAPE:
        return KU_KEY_ESCAPE;
    default:
        return 0;
    }
}

enum ku_wait ku_platform_wait(ku_platform *p, int timeout_ms, struct ku_event *ev)
{
    SDL_Event e;

    if (!SDL_WaitEventTimeout(&e, timeout_ms))
        return KU_WAIT_NONE;
    memset(ev, 0, sizeof(*ev));
    if (e.type == SDL_QUIT)
        return KU_WAIT_QUIT;
    if (e.type == p->wake_type)
        return KU_WAIT_WOKEN;
    switch (e.type) {
    case SDL_MOUSEBUTTONDOWN:
        if (e.button.which == SDL_TOUCH_MOUSEID)
            return KU_WAIT_NONE; /* the finger event comes too */
        ev->kind = KU_EV_TOUCH;
        ev->x = e.button.x;
        ev->y = e.button.y;
        return KU_WAIT_INPUT;
    case SDL_FINGERDOWN:
        ev->kind = KU_EV_TOUCH;
        ev->x = (int)(e.tfinger.x * (float)p->w);
        ev->y = (int)(e.tfinger.y * (float)p->h);
        return KU_WAIT_INPUT;
    case SDL_KEYDOWN:
        ev->kind = KU_EV_KEY;
        ev->key = key_of(e.key.keysym.sym);
        return ev->key ? KU_WAIT_INPUT : KU_WAIT_NONE;
    default:
        return KU_WAIT_NONE;
    }
}

/* ---- drawing ----------------------------------------------------------------------- */

static void set_color(ku_platform *p, uint32_t c)
{
    SDL_SetRenderDrawColor(p->ren, (Uint8)(c >> 24), (Uint8)(c >> 16), (Uint8)(c >> 8), (Uint8)c);
}

/* A filled rounded rectangle, one scanline at a time (whole pixels, no overdraw of alpha). */
static void fill_round(ku_platform *p, SDL_Rect r, int radius, uint32_t c)
{
    if (r.w <= 0 || r.h <= 0 || !(c & 0xFF))
        return;
    if (radius * 2 > r.w)
        radius = r.w / 2;
    if (radius * 2 > r.h)
        radius = r.h / 2;
    set_color(p, c);
    if (radius <= 0) {
        SDL_RenderFillRect(p->ren, &r);
        return;
    }
    for (int y = 0; y < r.h; y++) {
        int inset = 0;
        double dy = 0;

        if (y < radius)
            dy = radius - y - 0.5;
        else if (y >= r.h - radius)
            dy = y - (r.h - radius) + 0.5;
        if (dy > 0)
            inset = radius - (int)floor(sqrt((double)radius * radius - dy * dy) + 0.5);
        SDL_RenderDrawLine(p->ren, r.x + inset, r.y + y, r.x + r.w - 1 - inset, r.y + y);
    }
}

static void fill_circle(ku_platform *p, int cx, int cy, int rad, uint32_t c)
{
    fill_round(p, (SDL_Rect){ cx - rad, cy - rad, 2 * rad, 2 * rad }, rad, c);
}

static void thick_line(ku_platform *p, int x0, int y0, int x1, int y1, int t, uint32_t c)
{
    int steps = abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0);

    for (int i = 0; i <= steps; i++) {
        int x = x0 + (steps ? (x1 - x0) * i / steps : 0),
            y = y0 + (steps ? (y1 - y0) * i / steps : 0);

        fill_circle(p, x, y, t / 2 > 0 ? t / 2 : 1, c);
    }
}

static TTF_Font *font(ku_platform *p, int size, bool bold)
{
    TTF_Font *f;

    for (size_t i = 0; i < p->nfonts; i++)
        if (p->fonts[i].size == size && p->fonts[i].bold == bold)
            return p->fonts[i].f;
    f = TTF_OpenFontIndex(p->font_path[bold ? 1 : 0], size, p->font_index);
    if (!f) {
        hm_log_error("kiosk: font %s: %s", p->font_path[bold ? 1 : 0], TTF_GetError());
        return NULL;
    }
    if (p->nfonts == FONTS_MAX) {
        TTF_CloseFont(p->fonts[0].f);
        memmove(p->fonts, p->fonts + 1, sizeof(p->fonts[0]) * (FONTS_MAX - 1));
        p->nfonts--;
    }
    p->fonts[p->nfonts++] = (struct font){ size, bold, f };
    return f;
}

static size_t utf8_len(const char *s)
{
    unsigned char c = (unsigned char)*s;

    if (c >= 0xF0)
        return 4;
    if (c >= 0xE0)
        return 3;
    if (c >= 0xC0)
        return 2;
    return 1;
}

static int width_of(TTF_Font *f, const char *s, size_t n)
{
    char buf[1024];
    int w = 0, h = 0;

    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    TTF_SizeUTF8(f, buf, &w, &h);
    return w;
}

#define LINES_MAX 24

struct line {
    size_t off, len;
};

static bool starts_with_any(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strncmp(s, *set, strlen(*set)) == 0)
            return true;
    return false;
}

/*
 * Whether a line may end before byte p (the line-breaking rules of Chinese
 * typesetting, 禁则): never with closing punctuation at the start of the next
 * line, nor with opening punctuation at the end of this one.
 */
static bool may_break_before(const char *s, size_t p, size_t len)
{
    static const char *const closers[] = { "，", "。", "、", "；", "：", "！", "？", "）", "」",
                                           "』", "”",  "’",  "》", "〉", "】", "…",  "％", NULL };
    static const char *const openers[] = { "（", "「", "『", "“", "‘", "《", "〈", "【", NULL };
    size_t q = p;

    if (p == 0 || p >= len)
        return true;
    if ((s[p] && strchr(")]},.;:!?%", s[p])) || starts_with_any(s + p, closers))
        return false;
    while (q > 0 && ((unsigned char)s[q - 1] & 0xC0) == 0x80)
        q--;
    q = q > 0 ? q - 1 : 0; /* the first byte of the character before p */
    return !strchr("([{", s[q]) && !starts_with_any(s + q, openers);
}

/*
 * Greedy wrapping as screens.c estimates it: between CJK characters, at
 * spaces for words, never against may_break_before(). Returns the number of
 * lines (at most LINES_MAX).
 */
static size_t wrap(TTF_Font *f, const char *s, int w, struct line *out)
{
    size_t n = 0, start = 0, last_break = 0, i = 0, len = strlen(s);

    while (i < len && n < LINES_MAX) {
        size_t cl = utf8_len(s + i), j = i + cl;

        if (s[i] == '\n') {
            out[n++] = (struct line){ start, i - start };
            start = last_break = i + 1;
            i++;
            continue;
        }
        /* A Latin word is one unit. */
        if ((unsigned char)s[i] < 0x80 && s[i] != ' ')
            while (j < len && (unsigned char)s[j] < 0x80 && s[j] != ' ' && s[j] != '\n')
                j++;
        if (width_of(f, s + start, j - start) > w && i > start) {
            size_t cut = last_break > start ? last_break : i;

            out[n++] = (struct line){ start, cut - start };
            while (cut < len && s[cut] == ' ')
                cut++;
            start = last_break = cut;
            i = cut;
            continue;
        }
        if (s[i] == ' ')
            last_break = i;
        else if ((unsigned char)s[i] >= 0x80 && may_break_before(s, j, len))
            last_break = j;
        if ((unsigned char)s[i] >= 0x80 && may_break_before(s, i, len))
            last_break = i; /* may break before a CJK character */
        i = j;
        if (s[i - 1] == ' ' || ((unsigned char)s[i - 1] >= 0x80 && may_break_before(s, i, len)))
            last_break = i;
    }
    if (start < len && n < LINES_MAX)
        out[n++] = (struct line){ start, len - start };
    return n;
}

static void draw_text(ku_platform *p, const struct ku_cmd *c, const char *s)
{
    struct line lines[LINES_MAX];
    size_t n = 0;
    int size = c->size, skip = 0;
    TTF_Font *f = NULL;

    if (!*s)
        return;
    /* Shrink only when the box cannot hold it (screens.c sizes boxes so this is rare). */
    for (int tries = 0; tries < 8; tries++) {
        f = font(p, size, c->bold);
        if (!f)
            return;
        n = wrap(f, s, c->r.w, lines);
        skip = TTF_FontLineSkip(f);
        if ((int)n * skip <= c->r.h + skip / 3 || size < 8)
            break;
        size = size * 9 / 10;
    }
    if (size != c->size) {
        p->shrunk++;
        hm_log_warn("kiosk: text shrunk from %d to %d px to fit a %dx%d box", c->size, size, c->r.w,
                    c->r.h);
    }
    int total = (int)n * skip, y = c->r.y + (c->r.h - total) / 2;
    for (size_t i = 0; i < n; i++) {
        char buf[1024];
        size_t len = lines[i].len < sizeof(buf) - 1 ? lines[i].len : sizeof(buf) - 1;
        SDL_Color col = { (Uint8)(c->color >> 24), (Uint8)(c->color >> 16), (Uint8)(c->color >> 8),
                          (Uint8)c->color };
        SDL_Surface *surf;
        SDL_Texture *tex;

        memcpy(buf, s + lines[i].off, len);
        buf[len] = '\0';
        if (!buf[0]) {
            y += skip;
            continue;
        }
        surf = TTF_RenderUTF8_Blended(f, buf, col);
        hm_wipe(buf, sizeof(buf));
        if (!surf)
            continue;
        tex = SDL_CreateTextureFromSurface(p->ren, surf);
        if (tex) {
            SDL_Rect d = { c->r.x, y, surf->w, surf->h };

            if (c->align == KU_ALIGN_CENTER)
                d.x = c->r.x + (c->r.w - surf->w) / 2;
            else if (c->align == KU_ALIGN_RIGHT)
                d.x = c->r.x + c->r.w - surf->w;
            SDL_RenderCopy(p->ren, tex, NULL, &d);
            SDL_DestroyTexture(tex);
        }
        SDL_FreeSurface(surf);
        y += skip;
    }
}

/* Whole-pixel modules and a quiet zone of 4 modules, centred in the box. */
static void draw_qr(ku_platform *p, const struct ku_cmd *c, const char *s)
{
    QRcode *q = QRcode_encodeString(s, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int total, mod, x0, y0;

    if (!q) {
        hm_log_error("kiosk: QR code of %zu bytes failed", strlen(s));
        return;
    }
    total = q->width + 8;
    mod = (c->r.w < c->r.h ? c->r.w : c->r.h) / total;
    if (mod < 1)
        mod = 1;
    x0 = c->r.x + (c->r.w - mod * total) / 2;
    y0 = c->r.y + (c->r.h - mod * total) / 2;
    fill_round(p, (SDL_Rect){ x0, y0, mod * total, mod * total }, 0,
               c->border ? c->border : 0xFFFFFFFF);
    set_color(p, c->color);
    for (int y = 0; y < q->width; y++) {
        for (int x = 0; x < q->width; x++) {
            if (q->data[y * q->width + x] & 1) {
                SDL_Rect m = { x0 + (x + 4) * mod, y0 + (y + 4) * mod, mod, mod };

                SDL_RenderFillRect(p->ren, &m);
            }
        }
    }
    QRcode_free(q);
}

static void draw_icon(ku_platform *p, const struct ku_cmd *c)
{
    SDL_Rect r = { c->r.x, c->r.y, c->r.w, c->r.h };
    int s = r.w < r.h ? r.w : r.h, cx = r.x + r.w / 2, cy = r.y + r.h / 2, t = s / 14 + 1;

    switch (c->icon) {
    case KU_ICON_CARD: {
        /* The reader (a slab) with the card lying on it and an arrow pointing down. */
        int cw = r.w * 6 / 10, ch = cw * 54 / 86;
        SDL_Rect reader = { r.x + r.w / 10, r.y + r.h * 7 / 10, r.w * 8 / 10, r.h / 4 };
        SDL_Rect card = { cx - cw / 2, reader.y - ch + ch / 4, cw, ch };

        fill_round(p, reader, r.h / 20, c->border);
        fill_round(p,
                   (SDL_Rect){ reader.x + reader.w / 3, reader.y + reader.h / 3, reader.w / 3,
                               reader.h / 6 },
                   2, c->color);
        fill_round(p, card, ch / 10, c->color);
        fill_round(p, (SDL_Rect){ card.x + cw / 8, card.y + ch / 3, cw / 6, ch / 4 }, 3,
                   0xE8C15AFF);
        thick_line(p, cx, r.y + r.h / 40, cx, card.y - r.h / 20, t, c->color);
        thick_line(p, cx - r.w / 12, card.y - r.h / 20 - r.w / 12, cx, card.y - r.h / 20, t,
                   c->color);
        thick_line(p, cx + r.w / 12, card.y - r.h / 20 - r.w / 12, cx, card.y - r.h / 20, t,
                   c->color);
        break;
    }
    case KU_ICON_WARN:
    case KU_ICON_NETWORK:
        fill_circle(p, cx, cy, s / 2, c->color);
        if (c->icon == KU_ICON_WARN) {
            fill_round(p, (SDL_Rect){ cx - s / 16, cy - s * 3 / 10, s / 8, s * 4 / 10 }, s / 16,
                       0xFFFFFFFF);
            fill_circle(p, cx, cy + s * 11 / 40, s / 14, 0xFFFFFFFF);
        } else {
            uint32_t fg = c->border ? c->border : 0xFFFFFFFF;

            thick_line(p, cx - s / 5, cy - s / 5, cx + s / 5, cy + s / 5, s / 10, fg);
            thick_line(p, cx + s / 5, cy - s / 5, cx - s / 5, cy + s / 5, s / 10, fg);
        }
        break;
    case KU_ICON_OK:
        fill_circle(p, cx, cy, s / 2, c->color);
        thick_line(p, cx - s / 4, cy, cx - s / 16, cy + s / 5, s / 10, 0xFFFFFFFF);
        thick_line(p, cx - s / 16, cy + s / 5, cx + s / 4, cy - s / 5, s / 10, 0xFFFFFFFF);
        break;
    case KU_ICON_STAFF:
        fill_circle(p, cx, r.y + s * 3 / 10, s / 5, c->color);
        fill_round(p, (SDL_Rect){ cx - s * 7 / 20, r.y + s * 11 / 20, s * 7 / 10, s * 4 / 10 },
                   s / 6, c->color);
        break;
    default:
        break;
    }
}

static void draw_progress(ku_platform *p, const struct ku_cmd *c)
{
    int s = c->r.w < c->r.h ? c->r.w : c->r.h, cx = c->r.x + c->r.w / 2, cy = c->r.y + c->r.h / 2,
        lit = c->phase / 30;

    for (int i = 0; i < 12; i++) {
        double a = (double)i * 3.14159265358979 / 6;
        uint32_t col = (c->color & 0xFFFFFF00u) | (i == lit                  ? 0xFFu
                                                   : (i + 12 - lit) % 12 > 8 ? 0xB0u
                                                                             : 0x50u);

        fill_circle(p, cx + (int)(sin(a) * s * 0.4), cy - (int)(cos(a) * s * 0.4), s / 14, col);
    }
}

void ku_platform_draw(ku_platform *p, const struct ku_draw_list *l)
{
    SDL_SetRenderDrawColor(p->ren, 255, 255, 255, 255);
    SDL_RenderClear(p->ren);
    for (size_t i = 0; i < l->n; i++) {
        const struct ku_cmd *c = &l->cmds[i];
        SDL_Rect r = { c->r.x, c->r.y, c->r.w, c->r.h };

        switch (c->kind) {
        case KU_CMD_RECT:
            if (c->border_px > 0 && (c->border & 0xFF)) {
                fill_round(p, r, c->radius, c->border);
                r.x += c->border_px;
                r.y += c->border_px;
                r.w -= 2 * c->border_px;
                r.h -= 2 * c->border_px;
                fill_round(p, r, c->radius > c->border_px ? c->radius - c->border_px : 0, c->color);
            } else {
                fill_round(p, r, c->radius, c->color);
            }
            break;
        case KU_CMD_TEXT:
            draw_text(p, c, ku_cmd_text(l, c));
            break;
        case KU_CMD_QR:
            draw_qr(p, c, ku_cmd_text(l, c));
            break;
        case KU_CMD_ICON:
            draw_icon(p, c);
            break;
        case KU_CMD_PROGRESS:
            draw_progress(p, c);
            break;
        }
    }
    SDL_RenderPresent(p->ren);
}

bool ku_platform_screenshot(ku_platform *p, const char *path)
{
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, p->w, p->h, 32, SDL_PIXELFORMAT_ARGB8888);
    bool ok = false;

    if (!s)
        return false;
    if (SDL_RenderReadPixels(p->ren, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) == 0)
        ok = IMG_SavePNG(s, path) == 0;
    if (!ok)
        hm_log_error("kiosk: screenshot %s: %s", path, SDL_GetError());
    SDL_FreeSurface(s);
    return ok;
}
