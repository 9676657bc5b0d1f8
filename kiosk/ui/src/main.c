/* huimin-kiosk: options, the frame loop that joins app, worker and platform, headless scripts. */
#include "backend_kc.h"
#include "demo.h"
#include "platform.h"
#include "script.h"
#include "speech.h"
#include "ui.h"
#include "worker.h"

#include "hm/log.h"
#include "hm/notify.h"
#include "hm/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef HUIMIN_ASSETS_DIR
#define HUIMIN_ASSETS_DIR "assets"
#endif

#define PATH_CAP 1024

struct opts {
    char server[512], cert[PATH_CAP], key[PATH_CAP], cacert[PATH_CAP], signing[PATH_CAP];
    char kiosk[64], journal[PATH_CAP], issuer_ca[PATH_CAP], csca_dir[PATH_CAP];
    int cache_hours; /* status_cache_hours: -1 off, 0 the default (72) */
    const char *assets, *font, *script, *shots, *dump_text, *render_all, *speech_wav;
    const char *demo_cards;
    bool fake, fake_offline, fake_tap_only, headless, no_voice;
    const char *fake_pin;
    int width, height;
    double dpi;
    long idle_s, grace_s, max_s;
    enum ku_lang lang;
    bool elder;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: huimin-kiosk [OPTIONS]\n"
        "The kiosk's touch front end (SDL2).\n\n"
        "  --config FILE        the client's settings (as huimin-client: server, cert, key,\n"
        "                       cacert, signing_cert, kiosk, journal, issuer_ca,\n"
        "                       status_cache_hours: a card's last status is shown that\n"
        "                       long while the server is away, 72; 0: never)\n"
        "  --fake               no card service or server: a made-up resident (demo, tests)\n"
        "  --fake-pin PIN       the PIN the fake card accepts (default 123456)\n"
        "  --fake-offline       the fake server cannot be reached\n"
        "  --fake-tap-only      the fake resident is one the bureau flagged (长辈模式)\n"
        "  --speech-wav FILE    voice guidance (长辈模式) into this WAV instead of the speaker\n"
        "  --no-voice           no voice guidance (headless runs have none without\n"
        "                       --speech-wav)\n"
        "  --headless           SDL's offscreen driver, no window\n"
        "  --demo-cards FILE    demo mode, inside huimin-rig: keys F1..F9 put the file's\n"
        "                       cards on the rig's readers, F10 takes them away; a strip\n"
        "                       beside the screen lists them (\"KEY SLOT CARD-FILE LABEL\"\n"
        "                       a line, see kiosk/ui/src/demo.h)\n"
        "  --script FILE        run these steps (see kiosk/ui/src/script.h); exit 2 when a\n"
        "                       wait times out, 3 when a step cannot be done\n"
        "  --shots DIR          a PNG for every screen reached (and each 'shot')\n"
        "  --dump-text FILE     every drawn string, frame by frame\n"
        "  --render-all DIR     every screen in zh/en x normal/长辈模式 to PNGs, then exit\n"
        "  --size WxH           the screen (default 1080x1920)\n"
        "  --dpi N              its pixels per inch (default 102: 21.5\" 1080p)\n"
        "  --lang zh|en  --elder\n"
        "  --idle S             seconds without input before more time is offered (60)\n"
        "  --idle-grace S       then seconds before the session is wiped (30)\n"
        "  --max-seconds S      headless: stop after S seconds (default 120)\n"
        "  --assets DIR         where i18n/ lives (default %s)\n"
        "  --font FILE          a CJK font (default Noto Sans CJK SC)\n",
        HUIMIN_ASSETS_DIR);
}

/* ---- the client's configuration file (huimin-client's format) ------------------------ */

static bool set_path(char *dst, size_t cap, const char *dir, const char *v)
{
    if (v[0] == '/' || !dir[0])
        return hm_strlcpy(dst, v, cap) < cap;
    return (size_t)snprintf(dst, cap, "%s/%s", dir, v) < cap;
}

static bool load_config(struct opts *o, const char *file)
{
    FILE *f = fopen(file, "r");
    char line[2048], dir[PATH_CAP] = ".";
    const char *slash = strrchr(file, '/');
    int lineno = 0;

    if (!f) {
        fprintf(stderr, "huimin-kiosk: cannot open %s: %s\n", file, strerror(errno));
        return false;
    }
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    while (fgets(line, sizeof(line), f)) {
        char *k = line, *v, *e;
        bool ok = true;

        lineno++;
        while (*k == ' ' || *k == '\t')
            k++;
        if (*k == '#' || *k == '\n' || !*k || *k == '[')
            continue;
        v = strchr(k, '=');
        if (!v) {
            fprintf(stderr, "huimin-kiosk: %s:%d: expected key = value\n", file, lineno);
            fclose(f);
            return false;
        }
        for (e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            ;
        *e = '\0';
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        for (e = v + strlen(v); e > v && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '); e--)
            ;
        *e = '\0';
        if (strcmp(k, "server") == 0)
            ok = hm_strlcpy(o->server, v, sizeof(o->server)) < sizeof(o->server);
        else if (strcmp(k, "cert") == 0)
            ok = set_path(o->cert, sizeof(o->cert), dir, v);
        else if (strcmp(k, "key") == 0)
            ok = set_path(o->key, sizeof(o->key), dir, v);
        else if (strcmp(k, "cacert") == 0)
            ok = set_path(o->cacert, sizeof(o->cacert), dir, v);
        else if (strcmp(k, "signing_cert") == 0)
            ok = set_path(o->signing, sizeof(o->signing), dir, v);
        else if (strcmp(k, "kiosk") == 0)
            ok = hm_strlcpy(o->kiosk, v, sizeof(o->kiosk)) < sizeof(o->kiosk);
        else if (strcmp(k, "journal") == 0)
            ok = set_path(o->journal, sizeof(o->journal), dir, v);
        else if (strcmp(k, "issuer_ca") == 0)
            ok = set_path(o->issuer_ca, sizeof(o->issuer_ca), dir, v);
        else if (strcmp(k, "csca_dir") == 0)
            ok = set_path(o->csca_dir, sizeof(o->csca_dir), dir, v);
        else if (strcmp(k, "status_cache_hours") == 0) {
            long h;

            if (!hm_parse_long(v, 0, 8760, &h)) {
                fprintf(stderr,
                        "huimin-kiosk: %s:%d: status_cache_hours is 0 (off) to 8760, not '%s'\n",
                        file, lineno, v);
                fclose(f);
                return false;
            }
            o->cache_hours = h ? (int)h : -1;
        }
        /* Other keys (pinned_pubkey) belong to flows that come later. */
        if (!ok) {
            fprintf(stderr, "huimin-kiosk: %s:%d: value too long\n", file, lineno);
            fclose(f);
            return false;
        }
    }
    fclose(f);
    return true;
}

static bool parse(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "config", required_argument, NULL, 'C' },
        { "fake", no_argument, NULL, 'F' },
        { "fake-pin", required_argument, NULL, 'P' },
        { "fake-offline", no_argument, NULL, 'O' },
        { "fake-tap-only", no_argument, NULL, 't' },
        { "speech-wav", required_argument, NULL, 'w' },
        { "no-voice", no_argument, NULL, 'n' },
        { "headless", no_argument, NULL, 'H' },
        { "demo-cards", required_argument, NULL, 'D' },
        { "script", required_argument, NULL, 's' },
        { "shots", required_argument, NULL, 'o' },
        { "dump-text", required_argument, NULL, 'T' },
        { "render-all", required_argument, NULL, 'R' },
        { "size", required_argument, NULL, 'z' },
        { "dpi", required_argument, NULL, 'd' },
        { "lang", required_argument, NULL, 'l' },
        { "elder", no_argument, NULL, 'e' },
        { "idle", required_argument, NULL, 'i' },
        { "idle-grace", required_argument, NULL, 'g' },
        { "max-seconds", required_argument, NULL, 'm' },
        { "assets", required_argument, NULL, 'a' },
        { "font", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long v;
    int ch;

    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'C':
            if (!load_config(o, optarg))
                return false;
            break;
        case 'F':
            o->fake = true;
            break;
        case 'P':
            o->fake_pin = optarg;
            break;
        case 'O':
            o->fake_offline = true;
            break;
        case 'H':
            o->headless = true;
            break;
        case 'D':
            o->demo_cards = optarg;
            break;
        case 't':
            o->fake_tap_only = true;
            break;
        case 'w':
            o->speech_wav = optarg;
            break;
        case 'n':
            o->no_voice = true;
            break;
        case 's':
            o->script = optarg;
            break;
        case 'o':
            o->shots = optarg;
            break;
        case 'T':
            o->dump_text = optarg;
            break;
        case 'R':
            o->render_all = optarg;
            o->headless = true;
            break;
        case 'z':
            if (sscanf(optarg, "%dx%d", &o->width, &o->height) != 2 || o->width < 320 ||
                o->height < 320 || o->width > 8192 || o->height > 8192) {
                fprintf(stderr, "huimin-kiosk: --size WxH, not '%s'\n", optarg);
                return false;
            }
            break;
        case 'd':
            if (!hm_parse_long(optarg, 30, 600, &v)) {
                fprintf(stderr, "huimin-kiosk: --dpi 30..600, not '%s'\n", optarg);
                return false;
            }
            o->dpi = (double)v;
            break;
        case 'l':
            if (strcmp(optarg, "zh") != 0 && strcmp(optarg, "en") != 0) {
                fprintf(stderr, "huimin-kiosk: --lang zh or en\n");
                return false;
            }
            o->lang = optarg[0] == 'e' ? KU_LANG_EN : KU_LANG_ZH;
            break;
        case 'e':
            o->elder = true;
            break;
        case 'i':
        case 'g':
        case 'm':
            if (!hm_parse_long(optarg, 1, 86400, &v)) {
                fprintf(stderr, "huimin-kiosk: a number of seconds, not '%s'\n", optarg);
                return false;
            }
            *(ch == 'i' ? &o->idle_s : ch == 'g' ? &o->grace_s : &o->max_s) = v;
            break;
        case 'a':
            o->assets = optarg;
            break;
        case 'f':
            o->font = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return false;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "huimin-kiosk: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    return true;
}

/* ---- the run ------------------------------------------------------------------------ */

struct run {
    struct opts *o;
    ku_app *app;
    ku_platform *plat;
    ku_worker *worker;
    ku_speech *speech; /* NULL: no voice */
    ku_demo *demo;     /* NULL: not in demo mode */
    bool demo_pressed; /* a demo step's key was pressed, its card is being moved */
    struct ku_draw_list *dl;
    FILE *dump;
    uint64_t t0, clock_offset, frames;
    char last_label[32];
    unsigned shot_no;
    char last_texts_hash[32];
    uint64_t last_hash, last_frame_hash;
};

static uint64_t now_ms(struct run *r)
{
    return hm_now_ms() - r->t0 + r->clock_offset + 1;
}

static uint64_t texts_hash(const struct ku_draw_list *l)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < l->n; i++) {
        const char *s;

        if (l->cmds[i].kind != KU_CMD_TEXT)
            continue;
        for (s = ku_cmd_text(l, &l->cmds[i]); *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

/* Of every command and string: equal hashes, the same pixels. */
static uint64_t frame_hash(const struct ku_draw_list *l)
{
    const unsigned char *p = (const unsigned char *)l->cmds;
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < l->n * sizeof(l->cmds[0]); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    for (size_t i = 0; i < l->used; i++)
        h = (h ^ (unsigned char)l->arena[i]) * 1099511628211ull;
    return h;
}

static void shot(struct run *r, const char *name)
{
    char path[PATH_CAP];

    if (!r->o->shots)
        return;
    snprintf(path, sizeof(path), "%s/%s.png", r->o->shots, name);
    if (ku_platform_screenshot(r->plat, path))
        hm_log_info("kiosk: screenshot %s", path);
}

/* Voice guidance: a screen's text to the speech thread (never waited for) and to the dump. */
static void speak(struct run *r)
{
    char text[2048];
    enum ku_lang lang;

    if (!ku_app_take_speech(r->app, text, sizeof(text), &lang))
        return;
    if (r->speech)
        ku_speech_say(r->speech, text, lang);
    if (r->dump) {
        fprintf(r->dump, "speech %s\n", text);
        fflush(r->dump);
    }
    hm_wipe(text, sizeof(text));
}

static void frame(struct run *r)
{
    const char *label;
    uint64_t h;

    ku_app_render(r->app, r->dl);
    if (r->demo) /* the demo's strip, right of the kiosk's screen */
        ku_demo_draw(r->demo, r->dl,
                     (struct ku_rect){ r->o->width, 0,
                                       ku_demo_strip_width(r->o->width, r->o->height),
                                       r->o->height },
                     ku_app_lang(r->app));
    speak(r);
    h = frame_hash(r->dl);
    if (r->frames && h == r->last_frame_hash)
        return; /* nothing changed: no pixels pushed, an idle kiosk costs next to no CPU */
    r->last_frame_hash = h;
    ku_platform_draw(r->plat, r->dl);
    if (r->frames++ == 0)
        hm_log_info("kiosk: first frame %llu ms after start",
                    (unsigned long long)(hm_now_ms() - r->t0));
    label = ku_app_screen_label(r->app);
    h = texts_hash(r->dl);
    if (r->dump && h != r->last_hash) {
        char d[200];

        ku_app_describe(r->app, d, sizeof(d));
        fprintf(r->dump, "frame %llu %s\n", (unsigned long long)r->frames, d);
        for (size_t i = 0; i < r->dl->n; i++)
            if (r->dl->cmds[i].kind == KU_CMD_TEXT)
                fprintf(r->dump, "  %s\n", ku_cmd_text(r->dl, &r->dl->cmds[i]));
        fflush(r->dump);
    }
    r->last_hash = h;
    if (strcmp(label, r->last_label) != 0) {
        char name[64];

        hm_strlcpy(r->last_label, label, sizeof(r->last_label));
        snprintf(name, sizeof(name), "%03u-%s", ++r->shot_no, label);
        shot(r, name);
    }
}

static bool frame_has_text(const struct ku_draw_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->cmds[i].kind == KU_CMD_TEXT && strstr(ku_cmd_text(l, &l->cmds[i]), s))
            return true;
    return false;
}

/*
 * Sends a command to the rig's virtual card N (huimin-vcard's control socket), or with N -1 to
 * the rig itself (huimin-rig's rig.sock: restart-pcscd, unplug...), and waits for its answer.
 */
static bool rig_card(int n, const char *cmd)
{
    const char *dir = getenv("HUIMIN_RIG_DIR");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[300], reply[128];
    ssize_t got;
    int fd;
    bool ok;

    if (!dir)
        return false;
    if (n < 0)
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/rig.sock", dir);
    else
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/card%d.sock", dir, n);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return false;
    }
    snprintf(line, sizeof(line), "%s\n", cmd);
    ok = write(fd, line, strlen(line)) == (ssize_t)strlen(line);
    got = ok ? read(fd, reply, sizeof(reply) - 1) : -1;
    close(fd);
    return got > 1 && strncmp(reply, "ok", 2) == 0;
}

static void feed(struct run *r, struct ku_event *ev)
{
    struct ku_job job;

    ev->now_ms = now_ms(r);
    ku_app_handle(r->app, ev);
    while (ku_app_take_job(r->app, &job)) {
        if (!ku_worker_submit(r->worker, &job))
            hm_log_error("kiosk: the worker's queue is full");
        hm_wipe(&job, sizeof(job));
    }
}

static void drain_worker(struct run *r)
{
    struct ku_posted p;

    while (ku_worker_poll(r->worker, &p)) {
        struct ku_event ev = {
            .kind = p.kind, .reader = p.reader, .card = p.card, .reply = p.reply
        };

        feed(r, &ev);
        ku_posted_cleanup(&p);
    }
}

/* The button id, or with a trailing '*' the first enabled button whose id starts so. */
static bool find_button(ku_app *a, const char *id, struct ku_rect *out)
{
    size_t n = strlen(id), nb;
    const struct ku_button *b;

    if (n == 0 || id[n - 1] != '*')
        return ku_app_button_rect(a, id, out);
    ku_app_render(a, NULL);
    nb = ku_app_buttons(a, &b);
    for (size_t i = 0; i < nb; i++) {
        if (b[i].enabled && strncmp(b[i].id, id, n - 1) == 0) {
            *out = b[i].r;
            return true;
        }
    }
    return false;
}

/* One script step: 1 done, 0 still waiting, -2 a wait timed out, -3 the step failed. */
static int step(struct run *r, const struct ku_step *s, uint64_t started)
{
    struct ku_event ev = { .kind = KU_EV_TOUCH };
    struct ku_rect rc;
    bool rig = getenv("HUIMIN_RIG_DIR") && !r->o->fake;

    switch (s->kind) {
    case KU_STEP_TOUCH_ID:
        if (!find_button(r->app, s->arg, &rc)) {
            fprintf(stderr, "huimin-kiosk: script line %d: no button '%s' on %s\n", s->line, s->arg,
                    ku_app_screen_label(r->app));
            return -3;
        }
        ev.x = rc.x + rc.w / 2;
        ev.y = rc.y + rc.h / 2;
        feed(r, &ev);
        return 1;
    case KU_STEP_TOUCH_XY:
        ev.x = s->x;
        ev.y = s->y;
        feed(r, &ev);
        return 1;
    case KU_STEP_CARD_INSERT:
    case KU_STEP_CARD_REMOVE:
        if (rig) {
            if (!rig_card(s->reader, s->kind == KU_STEP_CARD_INSERT ? "insert" : "remove")) {
                fprintf(stderr, "huimin-kiosk: script line %d: the rig's card %d did not answer\n",
                        s->line, s->reader);
                return -3;
            }
            return 1;
        }
        ev.kind = s->kind == KU_STEP_CARD_INSERT ? KU_EV_CARD_INSERTED : KU_EV_CARD_REMOVED;
        ev.reader = s->reader;
        ev.card = strcmp(s->arg, "id") == 0        ? KU_CARD_ID
                  : strcmp(s->arg, "welfare") == 0 ? KU_CARD_WELFARE
                                                   : KU_CARD_UNKNOWN;
        feed(r, &ev);
        return 1;
    case KU_STEP_TYPE:
        for (const char *d = s->arg; *d; d++) {
            ev.kind = KU_EV_KEY;
            ev.key = *d;
            feed(r, &ev);
        }
        return 1;
    case KU_STEP_KEY:
        ev.kind = KU_EV_KEY;
        ev.key = s->key;
        feed(r, &ev);
        return 1;
    case KU_STEP_WAIT_SCREEN:
    case KU_STEP_WAIT_TEXT:
        if (s->kind == KU_STEP_WAIT_SCREEN ? strcmp(ku_app_screen_label(r->app), s->arg) == 0
                                           : frame_has_text(r->dl, s->arg))
            return 1;
        if (hm_now_ms() - started >= s->ms) {
            char d[200];

            ku_app_describe(r->app, d, sizeof(d));
            fprintf(stderr, "huimin-kiosk: script line %d: timed out waiting for %s '%s' (%s)\n",
                    s->line, s->kind == KU_STEP_WAIT_SCREEN ? "screen" : "text", s->arg, d);
            return -2;
        }
        return 0;
    case KU_STEP_ADVANCE:
        r->clock_offset += s->ms;
        ev.kind = KU_EV_TICK;
        feed(r, &ev);
        return 1;
    case KU_STEP_SLEEP:
        return hm_now_ms() - started >= s->ms ? 1 : 0;
    case KU_STEP_SHOT:
        shot(r, s->arg);
        return 1;
    case KU_STEP_QUIT:
        return 1;
    case KU_STEP_DEMO:
        /* Done once the card is down (or taken away), so the next step sees it there. */
        if (!r->demo_pressed) {
            if (!r->demo || !ku_demo_press(r->demo, s->reader)) {
                fprintf(stderr, "huimin-kiosk: script line %d: no demo card with key %d%s\n",
                        s->line, s->reader, r->demo ? "" : " (no --demo-cards)");
                return -3;
            }
            r->demo_pressed = true;
            return 0;
        }
        if (!ku_demo_idle(r->demo)) {
            if (hm_now_ms() - started < 30000)
                return 0;
            fprintf(stderr,
                    "huimin-kiosk: script line %d: the demo card %d was not moved in 30 s\n",
                    s->line, s->reader);
            return -2;
        }
        r->demo_pressed = false;
        return 1;
    case KU_STEP_RIG:
        if (!rig_card(s->reader, s->arg)) {
            if (s->reader < 0)
                fprintf(stderr,
                        "huimin-kiosk: script line %d: the rig refused '%s' (is it "
                        "huimin-rig's, with rig.sock?)\n",
                        s->line, s->arg);
            else
                fprintf(stderr, "huimin-kiosk: script line %d: the rig's card %d refused '%s'\n",
                        s->line, s->reader, s->arg);
            return -3;
        }
        return 1;
    }
    return -3;
}

/* Demo mode's input: F1..F10, or a click on the strip. True when it was the demo's. */
static bool demo_input(struct run *r, const struct ku_event *ev)
{
    int key = -1;

    if (ev->kind == KU_EV_KEY && ev->key >= KU_PKEY_F1) {
        if (r->demo && ev->key - KU_PKEY_F1 < 10)
            key = (ev->key - KU_PKEY_F1 + 1) % 10;
        if (key < 0)
            return true; /* the app has no use for F-keys */
    } else if (r->demo && ev->kind == KU_EV_TOUCH && ev->x >= r->o->width) {
        key = ku_demo_hit(r->demo, ev->x, ev->y);
        if (key < 0)
            return true;
    } else {
        return false;
    }
    if (!ku_demo_press(r->demo, key))
        hm_log_warn("kiosk: demo: no card with key %d (or too many keys at once)", key);
    return true;
}

static int loop(struct run *r, const struct ku_script *sc)
{
    size_t pc = 0;
    uint64_t step_started = hm_now_ms(), last_frame = 0, deadline;
    int ret = 0;
    bool dirty = true;

    deadline = hm_now_ms() + (uint64_t)(r->o->max_s ? r->o->max_s : 120) * 1000u;
    /* Under systemd: ready once the loop runs, and the watchdog pinged from the loop itself,
     * so a kiosk that stops drawing is restarted (huimin-kiosk.service). */
    uint64_t watchdog_ms = hm_notify_watchdog_usec() / 2000u, last_ping = 0;
    hm_notify("READY=1");
    for (;;) {
        struct ku_event ev = { .kind = KU_EV_TICK };
        enum ku_wait w;

        feed(r, &ev);
        drain_worker(r);
        if (dirty || hm_now_ms() - last_frame >= 200) {
            frame(r);
            last_frame = hm_now_ms();
            dirty = false;
        }
        if (watchdog_ms && hm_now_ms() - last_ping >= watchdog_ms) {
            hm_notify("WATCHDOG=1");
            last_ping = hm_now_ms();
        }
        if (sc) {
            while (pc < sc->n) {
                int s = step(r, &sc->steps[pc], step_started);

                if (s < 0)
                    return -s;
                if (s == 0)
                    break;
                if (sc->steps[pc].kind == KU_STEP_QUIT)
                    return 0;
                pc++;
                step_started = hm_now_ms();
                dirty = true;
                frame(r);
            }
            if (pc == sc->n) {
                /* Let the worker finish what the last steps asked (an END job wipes the card). */
                while ((ku_worker_busy(r->worker) || (r->demo && !ku_demo_idle(r->demo))) &&
                       hm_now_ms() < deadline)
                    hm_sleep_ms(20);
                drain_worker(r);
                frame(r);
                if (r->speech && hm_now_ms() < deadline)
                    ku_speech_wait_idle(r->speech, deadline - hm_now_ms());
                return 0;
            }
        }
        if ((r->o->headless || sc) && hm_now_ms() >= deadline) {
            if (sc) {
                fprintf(stderr, "huimin-kiosk: --max-seconds reached at script line %d\n",
                        sc->steps[pc].line);
                ret = 2;
            }
            return ret;
        }
        w = ku_platform_wait(r->plat, 100, &ev);
        if (w == KU_WAIT_QUIT)
            return 0;
        if (w == KU_WAIT_INPUT && !demo_input(r, &ev))
            feed(r, &ev);
        if (w != KU_WAIT_NONE)
            dirty = true;
    }
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int render_all(struct run *r)
{
    static const struct {
        enum ku_screen s;
        int variants;
    } screens[] = {
        /* Variants: ku_app_show_sample()'s (slow and slow-with-cancel waits, the staff call's
         * three outcomes, the cancelled reads, the reschedule's own summary and ticket...). */
        { KU_SCR_HOME, 3 },       { KU_SCR_CARD_PROMPT, 1 }, { KU_SCR_READING, 3 },
        { KU_SCR_CARD_ERROR, 8 }, { KU_SCR_STATUS, 3 },      { KU_SCR_PIN, 2 },
        { KU_SCR_CONFIRMING, 2 }, { KU_SCR_RECEIPT, 1 },     { KU_SCR_QUEUED, 1 },
        { KU_SCR_STAFF, 3 },      { KU_SCR_DISPUTE, 1 },     { KU_SCR_DISPUTE_CONFIRM, 1 },
        { KU_SCR_DISPUTING, 3 },  { KU_SCR_DISPUTED, 1 },    { KU_SCR_RATING, 1 },
        { KU_SCR_THANKS, 1 },     { KU_SCR_M_SERVICE, 1 },   { KU_SCR_M_WAIT, 3 },
        { KU_SCR_M_OFFICE, 1 },   { KU_SCR_M_DATE, 1 },      { KU_SCR_M_SLOT, 1 },
        { KU_SCR_M_MRZ, 3 },      { KU_SCR_M_IDCARD, 3 },    { KU_SCR_M_IDREAD, 3 },
        { KU_SCR_M_SUMMARY, 2 },  { KU_SCR_M_TICKET, 2 },    { KU_SCR_M_REFUSED, 3 },
        { KU_SCR_M_MINE, 1 },     { KU_SCR_M_CANCEL, 1 },    { KU_SCR_M_CANCELLED, 1 },
    };
    const char *dir = r->o->render_all;
    size_t n = 0;

    mkdir(dir, 0755);
    for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
        for (int elder = 0; elder < 2; elder++) {
            ku_app_set_lang(r->app, (enum ku_lang)lang);
            ku_app_set_elder(r->app, elder);
            for (size_t i = 0; i < HM_ARRAY_SIZE(screens); i++) {
                for (int v = 0; v < screens[i].variants + (screens[i].s == KU_SCR_STATUS); v++) {
                    char path[PATH_CAP];
                    int variant = screens[i].s == KU_SCR_STATUS && v == 2 ? 9 : v;

                    ku_app_show_sample(r->app, screens[i].s, variant);
                    ku_app_render(r->app, r->dl);
                    ku_platform_draw(r->plat, r->dl);
                    if (r->frames++ == 0)
                        hm_log_info("kiosk: first frame %llu ms after start",
                                    (unsigned long long)(hm_now_ms() - r->t0));
                    snprintf(path, sizeof(path), "%s/%s-%s-%s%s%.0d.png", dir, lang ? "en" : "zh",
                             elder ? "elder" : "normal",
                             variant == 9 ? "idle" : ku_screen_name(screens[i].s),
                             v && variant != 9 ? "-" : "", variant == 9 ? 0 : v);
                    if (!ku_platform_screenshot(r->plat, path))
                        return 1;
                    n++;
                }
            }
        }
    }
    printf("rendered %zu screens into %s; text shrunk to fit: %zu; missing messages: %zu; "
           "RSS %ld kB\n",
           n, dir, ku_platform_shrunk(r->plat), ku_app_missing_lookups(r->app), rss_kb());
    return ku_app_missing_lookups(r->app) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct ku_draw_list dl;
    struct opts o = { .width = 1080, .height = 1920, .dpi = 102, .lang = KU_LANG_ZH };
    struct ku_catalog cats[KU_LANG_COUNT];
    const struct ku_catalog *catp[KU_LANG_COUNT] = { &cats[0], &cats[1] };
    struct ku_script script = { 0 };
    struct ku_demo_cards demo_cards;
    struct run r = { .o = &o, .dl = &dl, .t0 = hm_now_ms() };
    const struct ku_backend_ops *ops = NULL;
    void *backend = NULL;
    char err[512], path[PATH_CAP];
    int ret = 1;

    hm_log_init("huimin-kiosk", HM_LOG_INFO);
    memset(cats, 0, sizeof(cats));
    if (!parse(&o, argc, argv))
        return 1;
    if (!o.assets)
        o.assets =
            getenv("HUIMIN_KIOSK_ASSETS") ? getenv("HUIMIN_KIOSK_ASSETS") : HUIMIN_ASSETS_DIR;
    for (int i = 0; i < KU_LANG_COUNT; i++) {
        snprintf(path, sizeof(path), "%s/i18n/%s.ini", o.assets, i ? "en" : "zh-CN");
        if (!ku_catalog_load(&cats[i], path) || cats[i].missing || cats[i].unknown) {
            fprintf(stderr, "huimin-kiosk: %s: %s\n", path, cats[i].first_problem);
            goto out;
        }
    }
    if (o.script && !ku_script_load(&script, o.script, err, sizeof(err))) {
        fprintf(stderr, "huimin-kiosk: %s\n", err);
        goto out;
    }
    if (o.demo_cards) {
        if (o.fake || o.render_all) {
            fprintf(stderr, "huimin-kiosk: --demo-cards moves the rig's cards: not with --fake "
                            "or --render-all\n");
            goto out;
        }
        if (!getenv("HUIMIN_RIG_DIR")) {
            fprintf(stderr, "huimin-kiosk: --demo-cards runs inside huimin-rig (no "
                            "HUIMIN_RIG_DIR): see scripts/demo-kiosk.sh\n");
            goto out;
        }
        if (!ku_demo_load(&demo_cards, o.demo_cards, err, sizeof(err))) {
            fprintf(stderr, "huimin-kiosk: %s\n", err);
            goto out;
        }
    }
    if (o.shots)
        mkdir(o.shots, 0755);
    if (o.dump_text && !(r.dump = fopen(o.dump_text, "w"))) {
        fprintf(stderr, "huimin-kiosk: %s: %s\n", o.dump_text, strerror(errno));
        goto out;
    }
    struct ku_config cfg = {
        .width = o.width,
        .height = o.height,
        .dpi = o.dpi,
        .idle_ms = (uint64_t)(o.idle_s ? o.idle_s : 60) * 1000u,
        .idle_grace_ms = (uint64_t)(o.grace_s ? o.grace_s : 30) * 1000u,
        .lang = o.lang,
        .elder = o.elder,
        .offline_sync = true,
    };
    r.app = ku_app_new(&cfg, catp);
    struct ku_platform_opts po = {
        .width = o.width + (o.demo_cards ? ku_demo_strip_width(o.width, o.height) : 0),
        .height = o.height,
        .headless = o.headless,
        .font = o.font,
        .title = "惠民自助服务"
    };
    r.plat = r.app ? ku_platform_new(&po, err, sizeof(err)) : NULL;
    if (!r.plat) {
        fprintf(stderr, "huimin-kiosk: %s\n", r.app ? err : "out of memory");
        goto out;
    }
    if (o.render_all) {
        ret = render_all(&r);
        goto out;
    }
    if (o.fake) {
        struct ku_fake_opts fo = { .delay_ms = 300,
                                   .pin = o.fake_pin,
                                   .offline = o.fake_offline,
                                   .tap_only = o.fake_tap_only };

        if (!ku_fake_backend_new(&fo, &ops, &backend)) {
            fprintf(stderr, "huimin-kiosk: out of memory\n");
            goto out;
        }
    } else {
        const char *drop = getenv("HUIMIN_KIOSK_TEST_DROP");
        struct kc_config kc = {
            .server_url = o.server,
            .cert_file = o.cert,
            .key_file = o.key,
            .ca_file = o.cacert,
            .signing_cert = o.signing,
            .issuer_ca = o.issuer_ca[0] ? o.issuer_ca : NULL,
            .csca_dir = o.csca_dir[0] ? o.csca_dir : NULL,
            .kiosk_id = o.kiosk,
            .journal_path = o.journal,
            .status_cache_hours = o.cache_hours,
            /* Test hook, as huimin-client's: the confirmation is "lost" after signing. */
            .test_drop_confirmation = drop && strcmp(drop, "1") == 0,
        };

        if (!o.server[0] || !o.cert[0] || !o.key[0] || !o.cacert[0] || !o.signing[0] ||
            !o.kiosk[0] || !o.journal[0]) {
            fprintf(stderr, "huimin-kiosk: need --config FILE (or --fake)\n");
            goto out;
        }
        if (!ku_kc_backend_new(&kc, &ops, &backend, err, sizeof(err))) {
            fprintf(stderr, "huimin-kiosk: %s\n", err);
            goto out;
        }
    }
    if (o.demo_cards && !(r.demo = ku_demo_new(&demo_cards, getenv("HUIMIN_RIG_DIR"),
                                               ku_platform_wake, r.plat, err, sizeof(err)))) {
        ops->free(backend);
        fprintf(stderr, "huimin-kiosk: %s\n", err);
        goto out;
    }
    r.worker = ku_worker_new(ops, backend, ku_platform_wake, r.plat);
    if (!r.worker) {
        ops->free(backend);
        fprintf(stderr, "huimin-kiosk: cannot start the worker thread\n");
        goto out;
    }
    /* The voice: into the WAV when asked, else the speaker (a window only); none is no error. */
    if (!o.no_voice && (o.speech_wav || !o.headless)) {
        const struct ku_voice_ops *vops;
        void *voice;

        if (ku_espeak_voice_new(o.speech_wav, &vops, &voice, err, sizeof(err)))
            r.speech = ku_speech_new(vops, voice, !o.speech_wav);
        else
            voice = NULL;
        if (!r.speech)
            hm_log_warn("kiosk: no voice guidance: %s", voice ? "no thread" : err);
    }
    ret = loop(&r, o.script ? &script : NULL);
    hm_log_info("kiosk: %llu frames, RSS %ld kB", (unsigned long long)r.frames, rss_kb());
out:
    ku_speech_free(r.speech);
    ku_demo_free(r.demo);
    ku_worker_free(r.worker);
    ku_platform_free(r.plat);
    ku_app_free(r.app);
    ku_draw_clear(&dl);
    if (r.dump)
        fclose(r.dump);
    ku_script_cleanup(&script);
    for (int i = 0; i < KU_LANG_COUNT; i++)
        ku_catalog_cleanup(&cats[i]);
    return ret;
}
