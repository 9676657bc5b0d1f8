/* Demo mode: the demo-cards file, a thread that moves virtual cards on the rig, and the strip. */
#include "demo.h"

#include "hm/log.h"
#include "hm/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- the file ------------------------------------------------------------------------ */

static char *next_word(char **p)
{
    char *s = *p, *e;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    for (e = s; *e && *e != ' ' && *e != '\t'; e++)
        ;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static void trim(char *s)
{
    char *b = s, *e;

    while (*b == ' ' || *b == '\t')
        b++;
    memmove(s, b, strlen(b) + 1);
    for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    *e = '\0';
}

/* Well-formed UTF-8 without control characters (it is drawn on the screen). */
static bool printable_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xE0) == 0xC0 ? 2
                   : (*p & 0xF0) == 0xE0 ? 3
                   : (*p & 0xF8) == 0xF0 ? 4
                                         : 0;

        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F)) || (n == 2 && *p < 0xC2))
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* One line's fields into c; false with why (a sentence that says what to write instead). */
static bool parse_line(char *line, const char *dir, struct ku_demo_card *c, const char **why,
                       char *detail, size_t dcap)
{
    char *p = line, *k = next_word(&p), *s = next_word(&p), *f = next_word(&p), *bar;
    long v;

    *why = "expected KEY SLOT CARD-FILE LABEL (e.g. 1 0 zhang.json 张秀英 · 福利卡)";
    if (!k || !s || !f)
        return false;
    if ((k[0] == 'F' || k[0] == 'f') && k[1])
        k++;
    if (!hm_parse_long(k, 0, 9, &v) || v == 0) {
        *why = "the key is 1..9 (F1..F9); 0 (F10) is kept for taking the cards away";
        return false;
    }
    c->key = (int)v;
    if (!hm_parse_long(s, 0, KU_DEMO_SLOTS - 1, &v)) {
        *why = "the slot is the rig's reader slot, 0..7 (huimin-rig's first --card is 0)";
        return false;
    }
    c->slot = (int)v;
    if (f[0] == '/' || !dir[0]) {
        if (hm_strlcpy(c->path, f, sizeof(c->path)) >= sizeof(c->path))
            goto too_long;
    } else if ((size_t)snprintf(c->path, sizeof(c->path), "%s/%s", dir, f) >= sizeof(c->path)) {
        goto too_long;
    }
    if (access(c->path, R_OK) != 0) {
        snprintf(detail, dcap,
                 "cannot read the card file %s (%s): make it with huimin-issue or "
                 "give the right path",
                 c->path, strerror(errno));
        *why = detail;
        return false;
    }
    bar = strchr(p, '|');
    if (bar)
        *bar++ = '\0';
    trim(p);
    if (!*p) {
        *why = "a label is missing after the card file (what the strip shows for the key)";
        return false;
    }
    if (bar)
        trim(bar);
    for (int l = 0; l < KU_LANG_COUNT; l++) {
        const char *t = l == KU_LANG_EN && bar && *bar ? bar : p;

        if (strlen(t) >= KU_DEMO_LABEL_MAX) {
            *why = "the label is too long (at most 159 bytes in each language)";
            return false;
        }
        if (!printable_utf8(t)) {
            *why = "the label must be UTF-8 text without control characters";
            return false;
        }
        hm_strlcpy(c->label[l], t, sizeof(c->label[l]));
    }
    return true;
too_long:
    *why = "the card file's path is too long";
    return false;
}

bool ku_demo_load(struct ku_demo_cards *out, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[2048], dir[1024] = "", detail[1400];
    const char *slash = strrchr(path, '/');
    int lineno = 0;

    memset(out, 0, sizeof(*out));
    if (!f) {
        snprintf(err, cap, "%s: cannot open it (%s)", path, strerror(errno));
        return false;
    }
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    while (fgets(line, sizeof(line), f)) {
        struct ku_demo_card c;
        const char *why = NULL;
        size_t len = strlen(line);

        lineno++;
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, cap, "%s:%d: the line is too long (at most 2046 bytes)", path, lineno);
            goto fail;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (line[strspn(line, " \t")] == '#' || strspn(line, " \t") == len)
            continue;
        memset(&c, 0, sizeof(c));
        c.line = lineno;
        if (!parse_line(line, dir, &c, &why, detail, sizeof(detail))) {
            snprintf(err, cap, "%s:%d: %s", path, lineno, why);
            goto fail;
        }
        for (size_t i = 0; i < out->n; i++) {
            if (out->c[i].key == c.key) {
                snprintf(err, cap, "%s:%d: key %d is already used on line %d: choose another", path,
                         lineno, c.key, out->c[i].line);
                goto fail;
            }
        }
        if (out->n == KU_DEMO_MAX) {
            snprintf(err, cap, "%s:%d: at most %d cards (keys 1..9)", path, lineno, KU_DEMO_MAX);
            goto fail;
        }
        out->c[out->n++] = c;
    }
    fclose(f);
    if (!out->n) {
        snprintf(err, cap, "%s: no cards in it; one a line: KEY SLOT CARD-FILE LABEL", path);
        return false;
    }
    return true;
fail:
    fclose(f);
    memset(out, 0, sizeof(*out));
    return false;
}

/* ---- the card mover ------------------------------------------------------------------ */

#define QUEUE_MAX 16
/* After a card is taken off, pcscd polls the reader (400 ms) and the kiosk sees it go. */
#define REMOVE_PAUSE_MS 1200

struct strip_hit {
    struct ku_rect r;
    int key;
};

struct ku_demo {
    struct ku_demo_cards cards;
    char rig_dir[512];
    void (*wake)(void *);
    void *wake_arg;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int queue[QUEUE_MAX];
    size_t qhead, qn;
    bool stop, moving, failed;
    int on[KU_DEMO_SLOTS]; /* the card (index) each slot holds, -1 none or not ours */
    /* The last drawn strip, for clicks (the frame loop's thread only). */
    struct strip_hit hits[KU_DEMO_MAX + 1];
    size_t nhits;
};

/* One command to the rig's virtual card in slot; the answer's first line into reply. */
static bool send_cmd(ku_demo *d, int slot, const char *cmd, char *reply, size_t cap)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 10 };
    char line[1200];
    size_t got = 0;
    int fd;
    bool ok = false;

    reply[0] = '\0';
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/card%d.sock", d->rig_dir, slot) >=
        sizeof(sa.sun_path))
        return false;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    snprintf(line, sizeof(line), "%s\n", cmd);
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
        goto out;
    while (got + 1 < cap) {
        ssize_t n = read(fd, reply + got, cap - 1 - got);

        if (n <= 0)
            break;
        got += (size_t)n;
        reply[got] = '\0';
        if (strchr(reply, '\n'))
            break;
    }
    reply[strcspn(reply, "\r\n")] = '\0';
    ok = strncmp(reply, "ok", 2) == 0;
out:
    close(fd);
    return ok;
}

static void pause_ms(ku_demo *d, unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 50) {
        bool stop;

        pthread_mutex_lock(&d->mu);
        stop = d->stop;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            return;
        hm_sleep_ms(50);
    }
}

/* Takes the card off slot when one is there; false when the rig does not answer. */
static bool take_off(ku_demo *d, int slot)
{
    char reply[200];

    if (!send_cmd(d, slot, "status", reply, sizeof(reply)))
        return false;
    if (!strstr(reply, "inserted=1"))
        return true;
    if (!send_cmd(d, slot, "remove", reply, sizeof(reply)))
        return false;
    pause_ms(d, REMOVE_PAUSE_MS);
    return true;
}

static bool move(ku_demo *d, int key)
{
    char cmd[1100], reply[200];
    bool used[KU_DEMO_SLOTS] = { false }, ok = true;

    if (key == 0) {
        for (size_t i = 0; i < d->cards.n; i++)
            used[d->cards.c[i].slot] = true;
        for (int s = 0; s < KU_DEMO_SLOTS; s++) {
            if (!used[s])
                continue;
            if (take_off(d, s)) {
                pthread_mutex_lock(&d->mu);
                d->on[s] = -1;
                pthread_mutex_unlock(&d->mu);
            } else {
                hm_log_error("kiosk: demo: the rig's card %d did not answer", s);
                ok = false;
            }
        }
        return ok;
    }
    for (size_t i = 0; i < d->cards.n; i++) {
        const struct ku_demo_card *c = &d->cards.c[i];

        if (c->key != key)
            continue;
        pthread_mutex_lock(&d->mu);
        d->on[c->slot] = -1;
        pthread_mutex_unlock(&d->mu);
        snprintf(cmd, sizeof(cmd), "swap %s", c->path);
        if (!take_off(d, c->slot) || !send_cmd(d, c->slot, cmd, reply, sizeof(reply)) ||
            !send_cmd(d, c->slot, "insert", reply, sizeof(reply))) {
            hm_log_error("kiosk: demo: the rig's card %d refused card %d (%s)", c->slot, key,
                         reply[0] ? reply : "no answer");
            return false;
        }
        pthread_mutex_lock(&d->mu);
        d->on[c->slot] = (int)i;
        pthread_mutex_unlock(&d->mu);
        hm_log_info("kiosk: demo: card %d on reader slot %d", key, c->slot);
        return true;
    }
    return false;
}

static void *mover(void *arg)
{
    ku_demo *d = arg;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        int key;
        bool ok;

        while (!d->stop && !d->qn)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->stop)
            break;
        key = d->queue[d->qhead];
        d->qhead = (d->qhead + 1) % QUEUE_MAX;
        d->qn--;
        d->moving = true;
        pthread_mutex_unlock(&d->mu);
        if (d->wake)
            d->wake(d->wake_arg);
        ok = move(d, key);
        pthread_mutex_lock(&d->mu);
        d->moving = false;
        d->failed = !ok;
        pthread_mutex_unlock(&d->mu);
        if (d->wake)
            d->wake(d->wake_arg);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

ku_demo *ku_demo_new(const struct ku_demo_cards *cards, const char *rig_dir,
                     void (*wake)(void *arg), void *arg, char *err, size_t cap)
{
    ku_demo *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    d->cards = *cards;
    d->wake = wake;
    d->wake_arg = arg;
    for (int s = 0; s < KU_DEMO_SLOTS; s++)
        d->on[s] = -1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (!rig_dir)
        return d;
    if (hm_strlcpy(d->rig_dir, rig_dir, sizeof(d->rig_dir)) >= sizeof(d->rig_dir)) {
        snprintf(err, cap, "HUIMIN_RIG_DIR is too long");
        goto fail;
    }
    for (size_t i = 0; i < cards->n; i++) {
        char path[600];

        snprintf(path, sizeof(path), "%s/card%d.sock", rig_dir, cards->c[i].slot);
        if (access(path, F_OK) != 0) {
            snprintf(err, cap,
                     "demo cards, line %d: the rig has no virtual card in slot %d (%s): start "
                     "huimin-rig with one --card per slot",
                     cards->c[i].line, cards->c[i].slot, path);
            goto fail;
        }
    }
    if (pthread_create(&d->thread, NULL, mover, d) != 0) {
        snprintf(err, cap, "cannot start the demo's card thread");
        goto fail;
    }
    d->started = true;
    return d;
fail:
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return NULL;
}

void ku_demo_free(ku_demo *d)
{
    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

bool ku_demo_press(ku_demo *d, int key)
{
    bool known = key == 0, ok = false;

    for (size_t i = 0; i < d->cards.n; i++)
        known = known || d->cards.c[i].key == key;
    if (!known || !d->started)
        return false;
    pthread_mutex_lock(&d->mu);
    if (d->qn < QUEUE_MAX) {
        d->queue[(d->qhead + d->qn) % QUEUE_MAX] = key;
        d->qn++;
        pthread_cond_signal(&d->cv);
        ok = true;
    }
    pthread_mutex_unlock(&d->mu);
    return ok;
}

bool ku_demo_idle(ku_demo *d)
{
    bool idle;

    pthread_mutex_lock(&d->mu);
    idle = !d->qn && !d->moving;
    pthread_mutex_unlock(&d->mu);
    return idle;
}

/* ---- the strip ----------------------------------------------------------------------- */

/* The kiosk's colours (screens.c's normal theme). */
#define C_BG     0xF4F6FAFFu
#define C_FG     0x1A1A1AFFu
#define C_MUTED  0x4A505AFFu
#define C_HEAD   0x1259B8FFu
#define C_WHITE  0xFFFFFFFFu
#define C_BORDER 0xC9CFD8FFu
#define C_STAFF  0xB54708FFu
#define C_OK     0x067647FFu
#define C_WARN   0xB42318FFu

static const char *const strip_msg[][KU_LANG_COUNT] = {
    { "演示模式", "Demo mode" },
    { "按键（或点一下）把卡放到读卡器上", "Press a key (or click) to put a card on the reader" },
    { "取走所有卡片", "Take every card away" },
    { "号读卡器", "reader " },
    { "卡已放上", "card on it" },
    { "正在换卡…", "Changing cards…" },
    { "演示读卡器没有回应，请看日志", "The demo reader did not answer: see the log" },
};
enum { S_TITLE, S_HELP, S_REMOVE, S_READER, S_ON, S_MOVING, S_FAILED };

static void put_rect(struct ku_draw_list *l, struct ku_rect r, uint32_t fill, uint32_t border,
                     int border_px, int radius)
{
    if (l->n == KU_CMDS_MAX) {
        l->overflow = true;
        return;
    }
    l->cmds[l->n++] = (struct ku_cmd){ .kind = KU_CMD_RECT,
                                       .r = r,
                                       .color = fill,
                                       .border = border,
                                       .border_px = border_px,
                                       .radius = radius };
}

static void put_text(struct ku_draw_list *l, struct ku_rect r, const char *s, int size,
                     uint32_t color, bool bold, enum ku_align align)
{
    size_t len = strlen(s) + 1;

    if (l->n == KU_CMDS_MAX || l->used + len > KU_ARENA_MAX) {
        l->overflow = true;
        return;
    }
    memcpy(l->arena + l->used, s, len);
    l->cmds[l->n++] = (struct ku_cmd){ .kind = KU_CMD_TEXT,
                                       .r = r,
                                       .color = color,
                                       .size = size,
                                       .bold = bold,
                                       .align = align,
                                       .text = l->used };
    l->used += len;
}

int ku_demo_strip_width(int w, int h)
{
    int s = h * 2 / 5;

    (void)w;
    return s < 300 ? 300 : s;
}

static int lh(int size)
{
    return size * 145 / 100;
}

/* How many lines a label takes in w pixels (1..3), estimated from Noto Sans CJK's widths in
 * hundredths of an em (CJK 100, Latin 55, a space 25); the platform wraps and, if it must, shrinks.
 */
static int label_lines(const char *s, int size, int w)
{
    long est = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == ' ')
            est += 25;
        else if (*p < 0x80 || (*p & 0xE0) == 0xC0)
            est += 55; /* ASCII, and Latin-1 like the middle dot */
        else if ((*p & 0xC0) == 0xC0)
            est += 100;
    }
    est = est * size / 100 + size / 2; /* a little room for where the lines break */
    return est <= w ? 1 : est <= 2L * w ? 2 : 3;
}

void ku_demo_draw(ku_demo *d, struct ku_draw_list *l, struct ku_rect r, enum ku_lang lang)
{
    int base = r.h / 54 < 14 ? 14 : r.h / 54 > 48 ? 48 : r.h / 54;
    int small = base * 4 / 5, title = base * 3 / 2, m = base * 4 / 5, pad = base * 3 / 5;
    int bw = base * 3, y, x = r.x + m, w = r.w - 2 * m, on[KU_DEMO_SLOTS];
    bool moving, failed;
    char buf[KU_DEMO_LABEL_MAX + 64];

    if ((int)lang < 0 || lang >= KU_LANG_COUNT)
        lang = KU_LANG_ZH;
    pthread_mutex_lock(&d->mu);
    memcpy(on, d->on, sizeof(on));
    moving = d->moving || d->qn;
    failed = d->failed;
    pthread_mutex_unlock(&d->mu);
    d->nhits = 0;
    put_rect(l, r, C_BG, 0, 0, 0);
    put_rect(l, (struct ku_rect){ r.x, r.y, base / 5 > 2 ? base / 5 : 2, r.h }, C_BORDER, 0, 0, 0);
    put_rect(l, (struct ku_rect){ r.x + base / 5, r.y, r.w - base / 5, lh(title) + 2 * m }, C_HEAD,
             0, 0, 0);
    put_text(l, (struct ku_rect){ x, r.y + m, w, lh(title) }, strip_msg[S_TITLE][lang], title,
             C_WHITE, true, KU_ALIGN_LEFT);
    y = r.y + lh(title) + 3 * m;
    put_text(l, (struct ku_rect){ x, y, w, 2 * lh(small) }, strip_msg[S_HELP][lang], small, C_MUTED,
             false, KU_ALIGN_LEFT);
    y += 2 * lh(small) + m;
    for (size_t i = 0; i <= d->cards.n; i++) {
        bool rm = i == d->cards.n;
        const struct ku_demo_card *c = rm ? NULL : &d->cards.c[i];
        bool here = c && on[c->slot] == (int)i;
        int tx = x + bw + m, tw = w - bw - m - pad;
        int nl = rm ? 1 : label_lines(c->label[lang], base, tw);
        struct ku_rect box = { x, y, w,
                               rm ? lh(base) + 3 * pad : nl * lh(base) + lh(small) + 2 * pad };

        if (y + box.h > r.y + r.h - lh(small) - m)
            break; /* no room (a short window): the rest is left out, never drawn over */
        put_rect(l, box, C_WHITE, here ? C_OK : C_BORDER, here ? base / 5 + 1 : 1, base / 3);
        put_rect(l, (struct ku_rect){ x + pad, y + (box.h - base * 2) / 2, bw - pad, base * 2 },
                 rm ? C_STAFF : C_HEAD, 0, 0, base / 4);
        snprintf(buf, sizeof(buf), "F%d", rm ? 10 : c->key);
        put_text(l, (struct ku_rect){ x + pad, y + (box.h - base * 2) / 2, bw - pad, base * 2 },
                 buf, base, C_WHITE, true, KU_ALIGN_CENTER);
        if (rm) {
            put_text(l, (struct ku_rect){ tx, y + pad, tw, box.h - 2 * pad },
                     strip_msg[S_REMOVE][lang], base, C_FG, false, KU_ALIGN_LEFT);
        } else {
            put_text(l, (struct ku_rect){ tx, y + pad, tw, nl * lh(base) }, c->label[lang], base,
                     C_FG, false, KU_ALIGN_LEFT);
            if (lang == KU_LANG_EN)
                snprintf(buf, sizeof(buf), "%s%d%s%s", strip_msg[S_READER][lang], c->slot + 1,
                         here ? " · " : "", here ? strip_msg[S_ON][lang] : "");
            else
                snprintf(buf, sizeof(buf), "%d%s%s%s", c->slot + 1, strip_msg[S_READER][lang],
                         here ? " · " : "", here ? strip_msg[S_ON][lang] : "");
            put_text(l, (struct ku_rect){ tx, y + pad + nl * lh(base), tw, lh(small) }, buf, small,
                     here ? C_OK : C_MUTED, here, KU_ALIGN_LEFT);
        }
        if (d->nhits < HM_ARRAY_SIZE(d->hits))
            d->hits[d->nhits++] = (struct strip_hit){ box, rm ? 0 : c->key };
        y += box.h + m / 2;
    }
    if (moving || failed)
        put_text(l, (struct ku_rect){ x, r.y + r.h - lh(small) - m / 2, w, lh(small) },
                 strip_msg[moving ? S_MOVING : S_FAILED][lang], small, moving ? C_MUTED : C_WARN,
                 !moving, KU_ALIGN_LEFT);
}

int ku_demo_hit(const ku_demo *d, int x, int y)
{
    for (size_t i = 0; i < d->nhits; i++) {
        const struct ku_rect *r = &d->hits[i].r;

        if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h)
            return d->hits[i].key;
    }
    return -1;
}
