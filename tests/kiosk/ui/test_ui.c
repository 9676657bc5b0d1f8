/* Unit tests of the kiosk's screens without SDL: transitions, idle and card-removal wipes, hit
 * testing and 25 mm targets in 长辈模式, text sizes, contrast, and both catalogs complete. */
#include "app_int.h"
#include "script.h"
#include "speech.h"
#include "ui.h"
#include "worker.h"

#include "hm/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const void *ku_theme_for_tests(bool elder, size_t *n_pairs, uint32_t pairs[][2]);

static struct ku_catalog cats[KU_LANG_COUNT];
static struct ku_draw_list dl;
static uint64_t clock_ms = 1000;

static int load_cats(void **state)
{
    char path[1024];
    const char *src = getenv("HUIMIN_SOURCE_DIR");

    (void)state;
    for (int i = 0; i < KU_LANG_COUNT; i++) {
        snprintf(path, sizeof(path), "%s/assets/i18n/%s.ini", src ? src : "../../..",
                 i ? "en" : "zh-CN");
        if (!ku_catalog_load(&cats[i], path))
            return -1;
    }
    return 0;
}

static int free_cats(void **state)
{
    (void)state;
    for (int i = 0; i < KU_LANG_COUNT; i++)
        ku_catalog_cleanup(&cats[i]);
    return 0;
}

static ku_app *new_app(bool elder)
{
    const struct ku_catalog *cp[KU_LANG_COUNT] = { &cats[0], &cats[1] };
    struct ku_config cfg = { .width = 1080,
                             .height = 1920,
                             .dpi = 102,
                             .idle_ms = 60000,
                             .idle_grace_ms = 30000,
                             .elder = elder };
    ku_app *a = ku_app_new(&cfg, cp);

    assert_non_null(a);
    return a;
}

static void ev(ku_app *a, enum ku_ev_kind k)
{
    struct ku_event e = { .kind = k, .now_ms = clock_ms };

    ku_app_handle(a, &e);
}

static void tick(ku_app *a, uint64_t ms)
{
    clock_ms += ms;
    ev(a, KU_EV_TICK);
}

static void touch(ku_app *a, const char *id)
{
    struct ku_rect r;
    struct ku_event e = { .kind = KU_EV_TOUCH, .now_ms = clock_ms };

    assert_true(ku_app_button_rect(a, id, &r));
    e.x = r.x + r.w / 2;
    e.y = r.y + r.h / 2;
    ku_app_handle(a, &e);
}

static void card_in(ku_app *a, enum ku_card_kind k)
{
    struct ku_event e = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = k };

    ku_app_handle(a, &e);
}

static struct ku_job take(ku_app *a, enum ku_job_kind want)
{
    struct ku_job j;

    assert_true(ku_app_take_job(a, &j));
    assert_int_equal(j.kind, want);
    return j;
}

static void reply(ku_app *a, const struct ku_job *j, enum ku_result r, int tries)
{
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    rep->kind = j->kind;
    rep->seq = j->seq;
    rep->result = r;
    rep->tries_left = tries;
    if (j->kind == KU_JOB_TAP && r == KU_R_OK)
        ku_fake_status(&rep->status, 1796156051);
    if (j->kind == KU_JOB_CONFIRM && r == KU_R_OK) {
        struct ku_payment p = { .amount_fen = j->amount_fen };

        snprintf(p.id, sizeof(p.id), "%s", j->payment);
        snprintf(p.period, sizeof(p.period), "%s", j->period);
        ku_fake_receipt(&rep->receipt, &p);
    }
    rep->offline = r == KU_R_QUEUED || r == KU_R_NETWORK;
    ku_app_handle(a, &e);
    free(rep);
}

static bool drawn(ku_app *a, const char *s)
{
    ku_app_render(a, &dl);
    for (size_t i = 0; i < dl.n; i++)
        if ((dl.cmds[i].kind == KU_CMD_TEXT || dl.cmds[i].kind == KU_CMD_QR) &&
            strstr(ku_cmd_text(&dl, &dl.cmds[i]), s))
            return true;
    return false;
}

/* Tap on the home screen, status shown; returns the app on the status screen. */
static ku_app *at_status(bool elder)
{
    ku_app *a = new_app(elder);
    struct ku_job j;

    card_in(a, KU_CARD_WELFARE);
    assert_string_equal(ku_app_screen_label(a), "reading");
    j = take(a, KU_JOB_TAP);
    reply(a, &j, KU_R_OK, 0);
    assert_string_equal(ku_app_screen_label(a), "status");
    return a;
}

static void test_catalogs_complete(void **state)
{
    (void)state;
    for (int i = 0; i < KU_LANG_COUNT; i++) {
        if (cats[i].missing || cats[i].unknown)
            fail_msg("catalog %d: %s", i, cats[i].first_problem);
        for (int m = 0; m < KU_MSG_COUNT; m++)
            assert_non_null(cats[i].text[m]);
    }
    /* Every screen in both languages and both modes draws without a missing message. */
    for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
        for (int elder = 0; elder < 2; elder++) {
            ku_app *a = new_app(elder);

            ku_app_set_lang(a, (enum ku_lang)lang);
            for (int s = 0; s < KU_SCR_COUNT; s++) {
                for (int v = 0; v < 6; v++) {
                    ku_app_show_sample(a, (enum ku_screen)s, v);
                    ku_app_render(a, &dl);
                    assert_false(dl.overflow);
                    for (size_t i = 0; i < dl.n; i++)
                        if (dl.cmds[i].kind == KU_CMD_TEXT) {
                            const char *t = ku_cmd_text(&dl, &dl.cmds[i]);

                            assert_true(t[0] != '\0');
                            assert_null(strstr(t, "{1}"));
                        }
                }
            }
            assert_int_equal(ku_app_missing_lookups(a), 0);
            ku_app_free(a);
        }
    }
}

static void test_missing_key_is_visible(void **state)
{
    struct ku_catalog broken = cats[KU_LANG_EN];
    const struct ku_catalog *cp[KU_LANG_COUNT] = { &cats[0], &broken };
    struct ku_config cfg = { .width = 1080, .height = 1920, .dpi = 102, .lang = KU_LANG_EN };
    ku_app *a;

    (void)state;
    broken.text[KU_M_HOME_TAP] = NULL;
    a = ku_app_new(&cfg, cp);
    assert_true(drawn(a, "[home.tap]"));
    assert_true(ku_app_missing_lookups(a) > 0);
    ku_app_free(a);
}

static void test_flow_confirm(void **state)
{
    ku_app *a = at_status(false);
    struct ku_job j;

    (void)state;
    assert_true(drawn(a, "张秀英"));
    assert_true(drawn(a, "750.00"));
    assert_true(drawn(a, "WF3********0123"));
    assert_false(drawn(a, "WF3301060000123"));
    touch(a, "confirm-0");
    assert_string_equal(ku_app_screen_label(a), "pin");
    for (const char *d = "135790"; *d; d++) {
        struct ku_event e = { .kind = KU_EV_KEY, .key = *d, .now_ms = clock_ms };

        ku_app_handle(a, &e);
    }
    assert_false(drawn(a, "135790"));
    touch(a, "pin-ok");
    assert_string_equal(ku_app_screen_label(a), "confirming");
    j = take(a, KU_JOB_CONFIRM);
    assert_string_equal(j.pin, "135790");
    assert_string_equal(j.payment, "P-E000001-202611");
    assert_int_equal(j.amount_fen, 75000);
    /* The app keeps no copy of the PIN once the job is out. */
    assert_int_equal(a->s.pin[0], 0);
    reply(a, &j, KU_R_PIN_WRONG, 2);
    assert_string_equal(ku_app_screen_label(a), "pin");
    assert_true(drawn(a, "还可以再试 2 次"));
    for (const char *d = "135790"; *d; d++) {
        char id[8];

        snprintf(id, sizeof(id), "key-%c", *d);
        touch(a, id);
    }
    touch(a, "pin-ok");
    j = take(a, KU_JOB_CONFIRM);
    reply(a, &j, KU_R_OK, 0);
    assert_string_equal(ku_app_screen_label(a), "receipt");
    ku_app_render(a, &dl);
    bool qr = false;
    for (size_t i = 0; i < dl.n; i++)
        qr = qr || (dl.cmds[i].kind == KU_CMD_QR && strstr(ku_cmd_text(&dl, &dl.cmds[i]), "eyJ"));
    assert_true(qr);
    touch(a, "done");
    /* The end of the transaction: her data is gone, 好差评 is asked, then home. */
    assert_string_equal(ku_app_screen_label(a), "rating");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    touch(a, "skip");
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(drawn(a, "张秀英"));
    ku_app_free(a);
}

static void test_card_removed_wipes(void **state)
{
    ku_app *a = at_status(false);

    (void)state;
    touch(a, "confirm-1");
    assert_string_equal(ku_app_screen_label(a), "pin");
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    assert_false(drawn(a, "100.00"));
    ku_app_free(a);
}

static void card_on(ku_app *a, int reader, bool in)
{
    struct ku_event e = { .kind = in ? KU_EV_CARD_INSERTED : KU_EV_CARD_REMOVED,
                          .now_ms = clock_ms,
                          .card = KU_CARD_WELFARE,
                          .reader = reader };

    ku_app_handle(a, &e);
}

/* A second card put on the other reader during a visit waits its turn: it is read once the
 * visit's card is lifted, and it never takes the visit over. */
static void test_second_card_waits(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j;

    (void)state;
    card_on(a, 0, true);
    j = take(a, KU_JOB_TAP);
    assert_int_equal(j.reader, 0);
    card_on(a, 1, true); /* during the read */
    assert_string_equal(ku_app_screen_label(a), "reading");
    assert_int_equal(ku_app_take_job(a, &(struct ku_job){ 0 }), false);
    reply(a, &j, KU_R_OK, 0);
    assert_string_equal(ku_app_screen_label(a), "status");
    /* The waiting card lifted and put back: her visit goes on, nothing is read. */
    card_on(a, 1, false);
    assert_string_equal(ku_app_screen_label(a), "status");
    assert_true(drawn(a, "张秀英"));
    card_on(a, 1, true);
    assert_string_equal(ku_app_screen_label(a), "status");
    assert_int_equal(ku_app_take_job(a, &(struct ku_job){ 0 }), false);
    /* She lifts hers: her visit is wiped, then the waiting card is read on its reader. */
    card_on(a, 0, false);
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    assert_string_equal(ku_app_screen_label(a), "reading");
    j = take(a, KU_JOB_TAP);
    assert_int_equal(j.reader, 1);
    reply(a, &j, KU_R_OK, 0);
    assert_string_equal(ku_app_screen_label(a), "status");
    /* That visit's card is the one on reader 1 now: lifting it wipes. */
    card_on(a, 1, false);
    assert_false(ku_app_holds_personal_data(a));
    assert_false(drawn(a, "张秀英"));
    ku_app_free(a);
}

/* Whatever the other reader does, lifting the visit's card wipes the visit. */
static void test_own_card_lifted_wipes_with_second_card(void **state)
{
    ku_app *a = at_status(false);

    (void)state;
    touch(a, "confirm-1");
    assert_string_equal(ku_app_screen_label(a), "pin");
    card_on(a, 1, true);  /* someone else's card on the other reader */
    card_on(a, 1, false); /* and off again */
    card_on(a, 1, true);  /* and on again, to stay */
    assert_string_equal(ku_app_screen_label(a), "pin");
    card_on(a, 0, false); /* she lifts hers */
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    assert_false(drawn(a, "100.00"));
    struct ku_job j = take(a, KU_JOB_TAP); /* the other card, in its turn */
    assert_int_equal(j.reader, 1);
    ku_app_free(a);
}

/* A waiting card that went away before its turn is not read. */
static void test_waiting_card_gone(void **state)
{
    ku_app *a = at_status(false);

    (void)state;
    card_on(a, 1, true);
    card_on(a, 1, false);
    card_on(a, 0, false);
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_int_equal(ku_app_take_job(a, &(struct ku_job){ 0 }), false);
    assert_string_equal(ku_app_screen_label(a), "home");
    ku_app_free(a);
}

static void test_stale_reply_ignored(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j;

    (void)state;
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    ev(a, KU_EV_CARD_REMOVED); /* pulled while reading */
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_true(drawn(a, "卡片被移开了"));
    touch(a, "home");
    reply(a, &j, KU_R_OK, 0); /* the old visit's answer arrives late */
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    ku_app_free(a);
}

static void test_errors_say_what_next(void **state)
{
    static const struct {
        enum ku_result r;
        const char *says;
        const char *button;
    } cases[] = {
        { KU_R_CARD_UNREADABLE, "擦拭后重新放好", "retry" },
        { KU_R_NOT_WELFARE, "请换用民政部门发放的福利卡", "staff" },
        { KU_R_CARD_REFUSED, "请呼叫工作人员", "staff" },
        { KU_R_NETWORK, "请稍后再试", "retry" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ku_app *a = new_app(false);
        struct ku_job j;
        struct ku_rect r;

        card_in(a, KU_CARD_WELFARE);
        j = take(a, KU_JOB_TAP);
        reply(a, &j, cases[i].r, 0);
        assert_string_equal(ku_app_screen_label(a), "card-error");
        assert_true(drawn(a, cases[i].says));
        assert_true(ku_app_button_rect(a, cases[i].button, &r));
        assert_true(ku_app_button_rect(a, "home", &r));
        ku_app_free(a);
    }
}

static void test_idle_offers_time_then_wipes(void **state)
{
    ku_app *a = at_status(false);

    (void)state;
    tick(a, 59000);
    assert_string_equal(ku_app_screen_label(a), "status");
    tick(a, 2000);
    assert_string_equal(ku_app_screen_label(a), "idle");
    assert_true(drawn(a, "您还需要更多时间吗"));
    assert_true(ku_app_holds_personal_data(a));
    touch(a, "more-time");
    assert_string_equal(ku_app_screen_label(a), "status");
    tick(a, 61000);
    assert_string_equal(ku_app_screen_label(a), "idle");
    tick(a, 29000);
    assert_string_equal(ku_app_screen_label(a), "idle");
    tick(a, 2000);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    ku_app_free(a);
}

static void test_queued_banner(void **state)
{
    ku_app *a = at_status(false);
    struct ku_job j;

    (void)state;
    touch(a, "confirm-0");
    struct ku_event e = { .kind = KU_EV_KEY, .now_ms = clock_ms };
    for (const char *d = "123456"; *d; d++) {
        e.key = *d;
        ku_app_handle(a, &e);
    }
    e.key = KU_KEY_ENTER;
    ku_app_handle(a, &e);
    j = take(a, KU_JOB_CONFIRM);
    reply(a, &j, KU_R_QUEUED, 0);
    assert_string_equal(ku_app_screen_label(a), "queued");
    assert_true(ku_app_offline(a));
    assert_true(drawn(a, "服务器暂时连不上"));
    touch(a, "done");
    assert_true(drawn(a, "服务器暂时连不上")); /* the banner stays on the home screen */
    ku_app_free(a);
}

/* Every enabled target at least min_mm square, every text at least min_px, nothing off screen. */
static void check_layout(ku_app *a, double min_mm, int *min_text)
{
    const struct ku_button *b;
    size_t n;
    int min_px = ku_mm(102, min_mm) - 1;

    ku_app_render(a, &dl);
    n = ku_app_buttons(a, &b);
    for (size_t i = 0; i < n; i++) {
        if (!b[i].enabled)
            continue;
        if (b[i].r.w < min_px || b[i].r.h < min_px)
            fail_msg("%s: button %s is %dx%d px, less than %.0f mm (%d px)", ku_app_screen_label(a),
                     b[i].id, b[i].r.w, b[i].r.h, min_mm, min_px);
        assert_true(b[i].r.x >= 0 && b[i].r.y >= 0 && b[i].r.x + b[i].r.w <= 1080 &&
                    b[i].r.y + b[i].r.h <= 1920);
        for (size_t k = 0; k < n; k++) {
            const struct ku_rect *p = &b[i].r, *q = &b[k].r;

            if (k != i && b[k].enabled && p->x < q->x + q->w && q->x < p->x + p->w &&
                p->y < q->y + q->h && q->y < p->y + p->h)
                fail_msg("%s: buttons %s and %s overlap", ku_app_screen_label(a), b[i].id, b[k].id);
        }
    }
    for (size_t i = 0; i < dl.n; i++)
        if (dl.cmds[i].kind == KU_CMD_TEXT && dl.cmds[i].size < *min_text)
            *min_text = dl.cmds[i].size;
}

static void test_elder_targets_and_text(void **state)
{
    int min_normal = 1 << 20, min_elder = 1 << 20;

    (void)state;
    for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
        for (int elder = 0; elder < 2; elder++) {
            ku_app *a = new_app(elder);

            ku_app_set_lang(a, (enum ku_lang)lang);
            for (int s = 0; s < KU_SCR_COUNT; s++) {
                for (int v = 0; v < 3; v++) {
                    ku_app_show_sample(a, (enum ku_screen)s, v == 2 && s == KU_SCR_STATUS ? 9 : v);
                    check_layout(a, elder ? 25 : 15, elder ? &min_elder : &min_normal);
                }
            }
            ku_app_free(a);
        }
    }
    /* 长辈模式: text at least twice the normal size, everywhere. */
    assert_true(min_elder >= 2 * min_normal);
    assert_true(ku_mm(102, 25) == 101);
}

/* WCAG relative luminance and contrast ratio. */
static double lum(uint32_t c)
{
    double ch[3];

    for (int i = 0; i < 3; i++) {
        double v = (double)((c >> (24 - 8 * i)) & 0xFF) / 255.0;

        ch[i] = v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

static void test_contrast(void **state)
{
    uint32_t pairs[32][2];
    size_t n;

    (void)state;
    for (int elder = 0; elder < 2; elder++) {
        ku_theme_for_tests(elder, &n, pairs);
        for (size_t i = 0; i < n; i++) {
            double a = lum(pairs[i][0]), b = lum(pairs[i][1]);
            double ratio = (a > b ? a + 0.05 : b + 0.05) / (a > b ? b + 0.05 : a + 0.05);

            if (ratio < (elder ? 7.0 : 4.5))
                fail_msg("%s pair %zu: %08x on %08x has contrast %.2f", elder ? "elder" : "normal",
                         i, pairs[i][0], pairs[i][1], ratio);
        }
    }
}

static void test_hit_test(void **state)
{
    ku_app *a = new_app(true);
    struct ku_rect r;
    struct ku_event e = { .kind = KU_EV_TOUCH, .now_ms = clock_ms };

    (void)state;
    /* A touch on the edge of a button counts, one pixel outside does not. */
    assert_true(ku_app_button_rect(a, "marriage", &r));
    e.x = r.x;
    e.y = r.y - 1;
    ku_app_handle(a, &e);
    assert_string_equal(ku_app_screen_label(a), "home");
    e.y = r.y;
    ku_app_handle(a, &e);
    assert_string_equal(ku_app_screen_label(a), "m-service");
    touch(a, "home");
    touch(a, "lang");
    assert_int_equal(ku_app_lang(a), KU_LANG_EN);
    assert_true(drawn(a, "Place your welfare card"));
    touch(a, "elder");
    assert_false(ku_app_elder(a));
    touch(a, "status");
    assert_string_equal(ku_app_screen_label(a), "card");
    card_in(a, KU_CARD_ID);
    assert_string_equal(ku_app_screen_label(a), "reading");
    ku_app_free(a);
}

static void test_script_parse(void **state)
{
    char path[] = "/tmp/ku-script-XXXXXX", err[256];
    struct ku_script s;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    (void)state;
    fputs("# a comment\ntouch 实名 status\ncard insert welfare 0\ntype 123456\n"
          "wait screen status 5s\nshot status\ncard remove\nadvance 2m\n",
          f);
    fclose(f);
    assert_true(ku_script_load(&s, path, err, sizeof(err)));
    assert_int_equal(s.n, 7);
    assert_int_equal(s.steps[0].kind, KU_STEP_TOUCH_ID);
    assert_string_equal(s.steps[0].arg, "status");
    assert_int_equal(s.steps[3].ms, 5000);
    assert_int_equal(s.steps[6].ms, 120000);
    ku_script_cleanup(&s);
    f = fopen(path, "w");
    fputs("touch\n", f);
    fclose(f);
    assert_false(ku_script_load(&s, path, err, sizeof(err)));
    assert_non_null(strstr(err, ":1:"));
    remove(path);
}

static void test_money_words(void **state)
{
    static const struct {
        int64_t fen;
        const char *zh, *en;
    } cases[] = {
        { 75000, "七百五十元", "750 yuan" },
        { 10000, "一百元", "100 yuan" },
        { 935000, "九千三百五十元", "9350 yuan" },
        { 1000, "十元", "10 yuan" },
        { 1500, "十五元", "15 yuan" },
        { 11000, "一百一十元", "110 yuan" },
        { 100050, "一千元五角", "1000 yuan 50 fen" },
        { 100500, "一千零五元", "1005 yuan" },
        { 1001000, "一万零一十元", "10010 yuan" },
        { 12345678, "十二万三千四百五十六元七角八分", "123456 yuan 78 fen" },
        { 7505, "七十五元零五分", "75 yuan 5 fen" },
        { 50, "五角", "0 yuan 50 fen" },
        { 0, "零元", "0 yuan" },
    };
    char buf[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ku_money_words(cases[i].fen, KU_LANG_ZH, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].zh);
        ku_money_words(cases[i].fen, KU_LANG_EN, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].en);
    }
}

/* Tap, with the status of a resident the bureau flagged tap_only or not. */
static ku_app *at_status_flagged(bool tap_only)
{
    ku_app *a = new_app(false);
    struct ku_job j;
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    rep->kind = j.kind;
    rep->seq = j.seq;
    rep->result = KU_R_OK;
    ku_fake_status(&rep->status, 1796156051);
    rep->status.tap_only = tap_only;
    ku_app_handle(a, &e);
    free(rep);
    assert_string_equal(ku_app_screen_label(a), "status");
    return a;
}

static void test_voice_status_amounts(void **state)
{
    ku_app *a = at_status(true);
    char text[2048];
    enum ku_lang lang;

    (void)state;
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_int_equal(lang, KU_LANG_ZH);
    assert_non_null(strstr(text, "城市最低生活保障，每月七百五十元"));
    assert_non_null(strstr(text, "高龄津贴，每月一百元"));
    assert_non_null(strstr(text, "今年一共九千三百五十元"));
    assert_null(strstr(text, "张秀英")); /* others near the kiosk hear it: no name */
    assert_null(strstr(text, "WF3"));
    /* Said once per screen; 重复 says it again. */
    assert_false(ku_app_take_speech(a, text, sizeof(text), &lang));
    touch(a, "repeat");
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_non_null(strstr(text, "七百五十元"));
    /* The PIN screen says its instruction. */
    touch(a, "confirm-0");
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_non_null(strstr(text, "密码"));
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_int_equal(lang, KU_LANG_EN);
    ku_app_free(a);

    /* Not in 长辈模式: nothing said, and no 重复 button. */
    a = at_status(false);
    struct ku_rect r;
    assert_false(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_false(ku_app_button_rect(a, "repeat", &r));
    ku_app_free(a);
}

static void test_repeat_on_every_screen(void **state)
{
    (void)state;
    for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
        ku_app *a = new_app(true);

        ku_app_set_lang(a, (enum ku_lang)lang);
        for (int s = 0; s < KU_SCR_COUNT; s++) {
            struct ku_rect r;
            char text[2048];

            ku_app_show_sample(a, (enum ku_screen)s, 0);
            if (!ku_app_button_rect(a, "repeat", &r))
                fail_msg("no 重复 on %s", ku_screen_name((enum ku_screen)s));
            ku_app_speech_text(a, text, sizeof(text));
            if (!text[0])
                fail_msg("%s says nothing", ku_screen_name((enum ku_screen)s));
        }
        assert_int_equal(ku_app_missing_lookups(a), 0);
        ku_app_free(a);
    }
}

static void test_tap_only_turns_elder_on(void **state)
{
    ku_app *a = at_status_flagged(true);
    char text[2048];
    enum ku_lang lang;

    (void)state;
    assert_true(ku_app_elder(a));
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_non_null(strstr(text, "七百五十元"));
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_elder(a)); /* it came with her and went with her */
    ku_app_free(a);

    a = at_status_flagged(false);
    assert_false(ku_app_elder(a));
    ku_app_free(a);
}

static void dispute_reply(ku_app *a, const struct ku_job *j, enum ku_result r, const char *d)
{
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    rep->kind = j->kind;
    rep->seq = j->seq;
    rep->result = r;
    rep->offline = r == KU_R_NETWORK;
    snprintf(rep->dispute, sizeof(rep->dispute), "%s", d);
    ku_app_handle(a, &e);
    free(rep);
}

static void test_dispute_flow(void **state)
{
    ku_app *a = at_status(false);
    struct ku_job j;

    (void)state;
    touch(a, "dispute-0");
    assert_string_equal(ku_app_screen_label(a), "dispute");
    assert_true(drawn(a, "城市最低生活保障"));
    assert_true(drawn(a, "750.00"));
    touch(a, "cancel");
    assert_string_equal(ku_app_screen_label(a), "status");
    touch(a, "dispute-0");
    touch(a, "reason-wrong_amount");
    assert_string_equal(ku_app_screen_label(a), "dispute-confirm");
    assert_true(drawn(a, "金额不对"));
    touch(a, "submit");
    assert_string_equal(ku_app_screen_label(a), "disputing");
    j = take(a, KU_JOB_DISPUTE);
    assert_string_equal(j.payment, "P-E000001-202611");
    assert_string_equal(j.reason, "wrong_amount");
    dispute_reply(a, &j, KU_R_OK, "D-0000042");
    assert_string_equal(ku_app_screen_label(a), "disputed");
    assert_true(drawn(a, "D-0000042"));
    assert_true(drawn(a, "工作人员会尽快和您联系"));
    touch(a, "done");
    assert_string_equal(ku_app_screen_label(a), "rating");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    touch(a, "rate-4");
    assert_string_equal(ku_app_screen_label(a), "thanks");
    assert_int_equal(ku_app_last_rating(a), 4);
    tick(a, 6000);
    assert_string_equal(ku_app_screen_label(a), "home");
    ku_app_free(a);

    /* A payment that is not awaiting (confirmed) offers no dispute here. */
    a = at_status(false);
    struct ku_rect r;
    assert_false(ku_app_button_rect(a, "dispute-3", &r));
    ku_app_free(a);
}

static void test_dispute_errors_say_what_next(void **state)
{
    static const struct {
        enum ku_result r;
        const char *says, *button;
    } cases[] = {
        { KU_R_NETWORK, "请稍后再试", "retry" },
        { KU_R_ALREADY, "请呼叫工作人员当面核实", "staff" },
        { KU_R_REFUSED, "请呼叫工作人员，他们会帮您登记", "staff" },
        { KU_R_CARD_PULLED, "请把卡片重新平放在读卡区", "retry" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ku_app *a = at_status(false);
        struct ku_job j;
        struct ku_rect r;

        touch(a, "dispute-1");
        touch(a, "reason-not_received");
        touch(a, "submit");
        j = take(a, KU_JOB_DISPUTE);
        assert_string_equal(j.reason, "not_received");
        dispute_reply(a, &j, cases[i].r, "");
        assert_string_equal(ku_app_screen_label(a), "card-error");
        assert_true(drawn(a, cases[i].says));
        assert_true(ku_app_button_rect(a, cases[i].button, &r));
        assert_true(ku_app_button_rect(a, "home", &r));
        assert_false(drawn(a, "张秀英"));
        ku_app_free(a);
    }
}

static void test_rating_screen(void **state)
{
    ku_app *a = new_app(true);
    const struct ku_button *b;
    size_t n, stars = 0;

    (void)state;
    ku_app_show_sample(a, KU_SCR_RATING, 0);
    ku_app_render(a, &dl);
    n = ku_app_buttons(a, &b);
    for (size_t i = 0; i < n; i++)
        if (strncmp(b[i].id, "rate-", 5) == 0) {
            stars++;
            assert_true(b[i].r.h >= ku_mm(102, 27) - 1);
        }
    assert_int_equal(stars, 5);
    assert_true(drawn(a, "★★★★★"));
    ku_app_free(a);
}

static void test_offline_status_says_try_later(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j;

    (void)state;
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    reply(a, &j, KU_R_NETWORK, 0);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_true(ku_app_offline(a));
    assert_true(drawn(a, "服务器暂时连不上")); /* the banner */
    assert_true(drawn(a, "请稍后再试"));
    assert_true(drawn(a, "呼叫工作人员"));
    assert_false(ku_app_holds_personal_data(a)); /* nothing of anyone is cached */
    ku_app_free(a);
}

/* A voice for the speech thread's tests: records what it said; "block" waits for a cancel. */
struct rec_voice {
    pthread_mutex_t mu;
    char said[8][64];
    size_t n;
    bool freed;
};

static bool rec_speak(void *p, const char *text, enum ku_lang lang, const atomic_bool *cancel)
{
    struct rec_voice *v = p;

    (void)lang;
    if (strcmp(text, "block") == 0) {
        while (!atomic_load(cancel))
            hm_sleep_ms(1);
        return true;
    }
    pthread_mutex_lock(&v->mu);
    if (v->n < 8)
        snprintf(v->said[v->n++], sizeof(v->said[0]), "%s", text);
    pthread_mutex_unlock(&v->mu);
    return true;
}

static void rec_free(void *p)
{
    ((struct rec_voice *)p)->freed = true;
}

static const struct ku_voice_ops rec_ops = { .name = "rec", .speak = rec_speak, .free = rec_free };

static void test_speech_thread(void **state)
{
    struct rec_voice v = { .mu = PTHREAD_MUTEX_INITIALIZER };
    ku_speech *s = ku_speech_new(&rec_ops, &v, false);
    uint64_t t0;

    (void)state;
    assert_non_null(s);
    ku_speech_say(s, "一", KU_LANG_ZH);
    ku_speech_say(s, "二", KU_LANG_ZH);
    ku_speech_say(s, "三", KU_LANG_ZH);
    assert_true(ku_speech_wait_idle(s, 5000));
    assert_int_equal(ku_speech_spoken(s), 3);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.said[2], "三");
    ku_speech_free(s);
    assert_true(v.freed);

    /* Interrupting: a sentence that would go on for ever is cut short by the next, and say()
     * returns at once while it is being spoken (the frame loop never waits). */
    memset(&v, 0, sizeof(v));
    pthread_mutex_init(&v.mu, NULL);
    s = ku_speech_new(&rec_ops, &v, true);
    assert_non_null(s);
    t0 = hm_now_ms();
    ku_speech_say(s, "block", KU_LANG_ZH);
    hm_sleep_ms(20);
    ku_speech_say(s, "新的屏幕", KU_LANG_ZH);
    assert_true(hm_now_ms() - t0 < 1000);
    assert_true(ku_speech_wait_idle(s, 5000));
    assert_int_equal(v.n, 1);
    assert_string_equal(v.said[0], "新的屏幕");
    ku_speech_say(s, "block", KU_LANG_ZH);
    ku_speech_free(s); /* cuts the endless sentence short too */
    assert_true(v.freed);
    pthread_mutex_destroy(&v.mu);
}

/* ---- 婚姻登记预约 -------------------------------------------------------------------- */

/* Answers a marriage job like the fake registry; code/msg for a refusal. */
static void mreply(ku_app *a, const struct ku_job *j, enum ku_result r, const char *code,
                   const char *party)
{
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    rep->kind = j->kind;
    rep->seq = j->seq;
    rep->result = r;
    rep->offline = r == KU_R_NETWORK;
    ku_fake_mdata(&rep->m);
    if (code) {
        snprintf(rep->code, sizeof(rep->code), "%s", code);
        snprintf(rep->msg_zh, sizeof(rep->msg_zh), "服务器说：%s", code);
        snprintf(rep->msg_en, sizeof(rep->msg_en), "The server says: %s", code);
    }
    if (party) {
        snprintf(rep->m.party.session, sizeof(rep->m.party.session), "S-%s", party);
        snprintf(rep->m.party.name, sizeof(rep->m.party.name), "%s",
                 strcmp(party, "li") == 0 ? "李娜" : "王建国");
        snprintf(rep->m.party.id_masked, sizeof(rep->m.party.id_masked), "%s",
                 strcmp(party, "li") == 0 ? "320***********0046" : "330***********0034");
    }
    ku_app_handle(a, &e);
    free(rep);
}

static void key(ku_app *a, int k)
{
    struct ku_event e = { .kind = KU_EV_KEY, .key = k, .now_ms = clock_ms };

    ku_app_handle(a, &e);
}

static void type_mrz(ku_app *a, const char *doc, const char *birth, const char *expiry)
{
    /* The letters through the keypad, the digits as keys. */
    for (const char *p = doc; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            char id[8];

            snprintf(id, sizeof(id), "mk-%c", *p);
            touch(a, id);
        } else {
            key(a, *p);
        }
    }
    touch(a, "mk-next");
    for (const char *p = birth; *p; p++)
        key(a, *p);
    key(a, KU_KEY_ENTER);
    for (const char *p = expiry; *p; p++)
        key(a, *p);
    key(a, KU_KEY_ENTER);
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* From home to the summary with both parties read; returns the app there. */
static ku_app *at_summary(bool elder)
{
    ku_app *a = new_app(elder);
    struct ku_job j;
    struct ku_rect r;
    struct ku_event ins = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID };

    touch(a, "marriage");
    assert_string_equal(ku_app_screen_label(a), "m-service");
    touch(a, "svc-marriage");
    assert_string_equal(ku_app_screen_label(a), "m-wait");
    j = take(a, KU_JOB_OFFICES);
    assert_string_equal(j.service, "marriage");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-office");
    assert_true(drawn(a, "贺州市八步区婚姻登记处"));
    touch(a, "office-hz-hall");
    j = take(a, KU_JOB_AVAIL);
    assert_string_equal(j.office, "hz-hall");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-date");
    /* Full, closed and not-yet-open days cannot be chosen; special days are marked. */
    assert_false(ku_app_button_rect(a, "day-1", &r));  /* full */
    assert_false(ku_app_button_rect(a, "day-4", &r));  /* a Sunday */
    assert_false(ku_app_button_rect(a, "day-10", &r)); /* special, not open yet */
    assert_true(drawn(a, "12月12日 星期六 ★"));
    assert_true(drawn(a, "已约满"));
    touch(a, "day-3");
    assert_string_equal(ku_app_screen_label(a), "m-slot");
    assert_false(ku_app_button_rect(a, "slot-1", &r)); /* (1 + 3) % 4 == 0 free */
    touch(a, "slot-2");
    assert_string_equal(ku_app_screen_label(a), "m-mrz");
    assert_true(drawn(a, "第1位申请人"));

    /* A wrong number: the chip says no, the numbers are wiped, they are typed again. */
    type_mrz(a, "HA2468013", "920818", "420817");
    assert_string_equal(ku_app_screen_label(a), "m-idcard");
    ins.reader = 0;
    ku_app_handle(a, &ins);
    assert_string_equal(ku_app_screen_label(a), "m-idread");
    j = take(a, KU_JOB_ID);
    assert_string_equal(j.mrz_doc, "HA2468013");
    assert_string_equal(j.mrz_birth, "920818");
    assert_int_equal(j.reader, 0);
    mreply(a, &j, KU_R_PIN_WRONG, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-mrz");
    assert_true(drawn(a, "号码和证件对不上"));
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz)));
    type_mrz(a, "HA2468013", "920817", "420817");
    touch(a, "read-card"); /* the card is still there */
    j = take(a, KU_JOB_ID);
    mreply(a, &j, KU_R_OK, NULL, "li");
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz))); /* wiped after use */
    assert_string_equal(ku_app_screen_label(a), "m-mrz");
    assert_true(drawn(a, "第2位申请人"));
    type_mrz(a, "HA7654321", "900515", "400515");
    ins.reader = 1;
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    assert_int_equal(j.reader, 1);
    /* 李娜 takes her card off reader 0 meanwhile: the read on reader 1 goes on. */
    struct ku_event rem = { .kind = KU_EV_CARD_REMOVED, .now_ms = clock_ms, .reader = 0 };
    ku_app_handle(a, &rem);
    assert_string_equal(ku_app_screen_label(a), "m-idread");
    mreply(a, &j, KU_R_OK, NULL, "wang");
    assert_string_equal(ku_app_screen_label(a), "m-summary");
    return a;
}

static void test_marriage_booking(void **state)
{
    ku_app *a = at_summary(false);
    struct ku_job j;

    (void)state;
    assert_true(drawn(a, "李娜  320***********0046"));
    assert_true(drawn(a, "王建国  330***********0034"));
    assert_true(drawn(a, "12月5日 星期六 09:30"));
    touch(a, "book");
    j = take(a, KU_JOB_BOOK);
    assert_string_equal(j.service, "marriage");
    assert_string_equal(j.office, "hz-hall");
    assert_string_equal(j.date, "2026-12-05");
    assert_string_equal(j.slot, "09:30");
    assert_string_equal(j.sessions[0], "S-li");
    assert_string_equal(j.sessions[1], "S-wang");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-ticket");
    ku_app_render(a, &dl);
    bool qr = false;
    for (size_t i = 0; i < dl.n; i++)
        qr = qr || (dl.cmds[i].kind == KU_CMD_QR && strstr(ku_cmd_text(&dl, &dl.cmds[i]), "eyJ"));
    assert_true(qr);
    touch(a, "done");
    assert_string_equal(ku_app_screen_label(a), "rating");
    assert_false(ku_app_holds_personal_data(a));
    assert_false(drawn(a, "李娜"));
    ku_app_free(a);
}

static void test_marriage_keypad(void **state)
{
    ku_app *a = new_app(true);
    struct ku_rect r;

    (void)state;
    touch(a, "mine");
    assert_string_equal(ku_app_screen_label(a), "m-mrz");
    assert_false(ku_app_button_rect(a, "mk-next", &r)); /* nothing typed yet */
    touch(a, "mk-H");
    key(a, '-'); /* no document number holds it */
    key(a, '1');
    assert_string_equal(a->s.mrz[0], "H1");
    key(a, KU_KEY_BACKSPACE);
    assert_string_equal(a->s.mrz[0], "H");
    for (const char *p = "A24680139999"; *p; p++)
        key(a, *p);
    assert_string_equal(a->s.mrz[0], "HA2468013"); /* nine at most */
    touch(a, "mk-next");
    assert_int_equal(a->s.mrz_field, 1);
    /* The birth date takes digits only: the letter keys are off. */
    assert_false(ku_app_button_rect(a, "mk-A", &r));
    key(a, 'A');
    assert_string_equal(a->s.mrz[1], "");
    for (const char *p = "9208170"; *p; p++)
        key(a, *p);
    assert_string_equal(a->s.mrz[1], "920817");
    touch(a, "mf-0");
    assert_int_equal(a->s.mrz_field, 0);
    /* Every key at least 25 mm in 长辈模式, none overlapping. */
    int min_text = 1 << 20;
    check_layout(a, 25, &min_text);
    touch(a, "home");
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz)));
    ku_app_free(a);
}

static void test_marriage_refusals(void **state)
{
    static const struct {
        const char *code;
        const char *next;
        const char *back; /* the screen 重新选择 leads to, "" none */
        enum ku_job_kind refetch;
    } cases[] = {
        { "slot_full", "请选择其他日期或时段", "m-wait", KU_JOB_AVAIL },
        { "booking_not_open", "请在开放预约以后再来预约", "m-wait", KU_JOB_AVAIL },
        { "office_not_competent", "请选择能办理您业务的登记处", "m-office", KU_JOB_COUNT },
        { "active_booking_exists", "我的预约", "", KU_JOB_COUNT },
        { "under_age", "请呼叫工作人员", "", KU_JOB_COUNT },
        { "already_married", "请呼叫工作人员", "", KU_JOB_COUNT },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ku_app *a = at_summary(false);
        struct ku_job j;
        struct ku_rect r;
        char msg[96];

        touch(a, "book");
        j = take(a, KU_JOB_BOOK);
        mreply(a, &j, KU_R_REFUSED, cases[i].code, NULL);
        assert_string_equal(ku_app_screen_label(a), "m-refused");
        snprintf(msg, sizeof(msg), "服务器说：%s", cases[i].code);
        assert_true(drawn(a, msg)); /* the server's own message */
        assert_true(drawn(a, cases[i].next));
        assert_true(ku_app_button_rect(a, "staff", &r));
        ku_app_set_lang(a, KU_LANG_EN);
        snprintf(msg, sizeof(msg), "The server says: %s", cases[i].code);
        assert_true(drawn(a, msg));
        ku_app_set_lang(a, KU_LANG_ZH);
        if (!cases[i].back[0]) {
            assert_false(ku_app_button_rect(a, "choose-again", &r));
        } else {
            touch(a, "choose-again");
            assert_string_equal(ku_app_screen_label(a), cases[i].back);
            if (cases[i].refetch != KU_JOB_COUNT) {
                j = take(a, cases[i].refetch);
                mreply(a, &j, KU_R_OK, NULL, NULL);
                touch(a, "day-3");
                touch(a, "slot-0");
                /* The parties are not asked for their cards again. */
                assert_string_equal(ku_app_screen_label(a), "m-summary");
            }
        }
        ku_app_free(a);
    }

    /* The server cannot be reached: say so, and what to do. */
    ku_app *a = new_app(false);
    struct ku_job j;

    touch(a, "marriage");
    touch(a, "svc-marriage");
    j = take(a, KU_JOB_OFFICES);
    mreply(a, &j, KU_R_NETWORK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    assert_true(drawn(a, "暂时连不上服务器"));
    assert_true(drawn(a, "请稍后再试"));
    assert_true(ku_app_offline(a));
    ku_app_free(a);
}

static void test_marriage_card_pulled_and_idle(void **state)
{
    ku_app *a = new_app(false);
    struct ku_event ins = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID };
    struct ku_job j;

    (void)state;
    touch(a, "mine");
    type_mrz(a, "HA2468013", "920817", "420817");
    ku_app_handle(a, &ins);
    assert_string_equal(ku_app_screen_label(a), "m-idread");
    j = take(a, KU_JOB_ID);
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "m-idcard");
    assert_true(drawn(a, "证件被移开了"));
    mreply(a, &j, KU_R_OK, NULL, "li"); /* the read that was cut short: ignored */
    assert_string_equal(ku_app_screen_label(a), "m-idcard");
    assert_string_equal(a->s.mrz[0], "HA2468013"); /* kept to read again */
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    mreply(a, &j, KU_R_OK, NULL, "li");
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz)));
    j = take(a, KU_JOB_MINE);
    assert_string_equal(j.sessions[0], "S-li");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    /* Walking away: more time is offered, then everything is wiped. */
    tick(a, 61000);
    assert_string_equal(ku_app_screen_label(a), "idle");
    tick(a, 31000);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    assert_false(drawn(a, "李娜"));
    ku_app_free(a);
}

static void test_mine_cancel(void **state)
{
    ku_app *a = new_app(false);
    struct ku_event ins = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID };
    struct ku_job j;
    struct ku_rect r;

    (void)state;
    touch(a, "mine");
    assert_true(drawn(a, "查询预约"));
    type_mrz(a, "HA2468013", "920817", "420817");
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    mreply(a, &j, KU_R_OK, NULL, "li");
    j = take(a, KU_JOB_MINE);
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    assert_true(drawn(a, "已预约"));
    assert_true(drawn(a, "已取消"));
    assert_false(ku_app_button_rect(a, "cancel-1", &r)); /* cancelled already */
    touch(a, "cancel-0");
    assert_string_equal(ku_app_screen_label(a), "m-cancel");
    touch(a, "keep");
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    touch(a, "cancel-0");
    touch(a, "cancel-yes");
    j = take(a, KU_JOB_APPT_CANCEL);
    assert_string_equal(j.ticket, "Qm9va2luZzEyMzQ0");
    assert_string_equal(j.sessions[0], "S-li");
    mreply(a, &j, KU_R_REFUSED, "cancel_too_late", NULL);
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    assert_true(drawn(a, "服务器说：cancel_too_late"));
    touch(a, "choose-again");
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    touch(a, "cancel-0");
    touch(a, "cancel-yes");
    j = take(a, KU_JOB_APPT_CANCEL);
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-cancelled");
    touch(a, "done");
    assert_string_equal(ku_app_screen_label(a), "rating");
    assert_false(ku_app_holds_personal_data(a));
    ku_app_free(a);
}

/* ---- 改约, slow waits, the MRZ keypad, 呼叫工作人员 ------------------------------------ */

static bool has_button(ku_app *a, const char *id)
{
    struct ku_rect r;

    return ku_app_button_rect(a, id, &r);
}

/* Runs the job through the fake backend (online or not) and hands its reply to the app. */
static void fake_answer(ku_app *a, struct ku_job *j, bool offline)
{
    const struct ku_backend_ops *ops;
    void *b;
    struct ku_fake_opts o = { .offline = offline };
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    assert_non_null(rep);
    assert_true(ku_fake_backend_new(&o, &ops, &b));
    rep->kind = j->kind;
    rep->seq = j->seq;
    ops->run(b, j, rep);
    ops->free(b);
    ku_app_handle(a, &e);
    free(rep);
}

/* 我的预约 read for 李娜: the app on m-mine. */
static ku_app *at_mine(bool elder)
{
    ku_app *a = new_app(elder);
    struct ku_event ins = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID };
    struct ku_job j;

    touch(a, "mine");
    type_mrz(a, "HA2468013", "920817", "420817");
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    mreply(a, &j, KU_R_OK, NULL, "li");
    j = take(a, KU_JOB_MINE);
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    return a;
}

/* From 我的预约 through the other party's card to the summary of the change. */
static ku_app *at_resched_summary(bool elder)
{
    ku_app *a = at_mine(elder);
    struct ku_event ins = {
        .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID, .reader = 1
    };
    struct ku_job j;
    struct ku_rect r;

    assert_false(ku_app_button_rect(a, "resched-1", &r)); /* cancelled: nothing to move */
    touch(a, "resched-0");
    /* A marriage needs both: the other party types the numbers and reads the card. */
    assert_string_equal(ku_app_screen_label(a), "m-mrz");
    assert_true(drawn(a, "另一位申请人"));
    type_mrz(a, "HA7654321", "900515", "400515");
    assert_string_equal(ku_app_screen_label(a), "m-idcard");
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    assert_string_equal(j.mrz_doc, "HA7654321");
    fake_answer(a, &j, false);
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz)));
    assert_string_equal(a->s.parties[1].name, "王建国");
    /* Then a day with free places at the same office, for the same service. */
    j = take(a, KU_JOB_AVAIL);
    assert_string_equal(j.office, "hz-hall");
    assert_string_equal(j.service, "marriage");
    fake_answer(a, &j, false);
    assert_string_equal(ku_app_screen_label(a), "m-date");
    assert_false(ku_app_button_rect(a, "day-1", &r)); /* full */
    touch(a, "day-3");
    touch(a, "slot-2");
    assert_string_equal(ku_app_screen_label(a), "m-summary");
    return a;
}

static void test_reschedule(void **state)
{
    ku_app *a = at_resched_summary(false);
    struct ku_job j;
    struct ku_rect r;

    (void)state;
    assert_true(drawn(a, "确认改约"));
    assert_true(drawn(a, "原来：12月5日 星期六 09:00"));
    assert_true(drawn(a, "改为：12月5日 星期六 09:30"));
    assert_true(drawn(a, "王建国  330***********0034"));
    assert_false(ku_app_button_rect(a, "book", &r)); /* a change, not a second booking */
    touch(a, "reschedule");
    j = take(a, KU_JOB_APPT_RESCHEDULE);
    assert_string_equal(j.ticket, "Qm9va2luZzEyMzQ0");
    assert_string_equal(j.date, "2026-12-05");
    assert_string_equal(j.slot, "09:30");
    assert_string_equal(j.sessions[0], "S-li");
    assert_int_equal(strncmp(j.sessions[1], "S-wang-", 7), 0); /* the fake's session */
    fake_answer(a, &j, false);
    assert_string_equal(ku_app_screen_label(a), "m-ticket");
    assert_true(drawn(a, "改约成功"));
    assert_true(drawn(a, "12月5日 星期六 09:30，贺州市八步区婚姻登记处"));
    ku_app_render(a, &dl);
    bool qr = false;
    for (size_t i = 0; i < dl.n; i++)
        qr = qr || (dl.cmds[i].kind == KU_CMD_QR && strstr(ku_cmd_text(&dl, &dl.cmds[i]), "eyJ"));
    assert_true(qr);
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(drawn(a, "Changed"));
    touch(a, "done");
    assert_string_equal(ku_app_screen_label(a), "rating");
    assert_false(ku_app_holds_personal_data(a));
    ku_app_free(a);
}

static void test_reschedule_refusals(void **state)
{
    ku_app *a = at_resched_summary(true);
    struct ku_job j;

    (void)state;
    /* Full meanwhile: nothing changed; choose again with fresh places, cards not read again. */
    touch(a, "reschedule");
    j = take(a, KU_JOB_APPT_RESCHEDULE);
    mreply(a, &j, KU_R_REFUSED, "slot_full", NULL);
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    assert_true(drawn(a, "未能改约"));
    assert_true(drawn(a, "服务器说：slot_full"));
    assert_true(drawn(a, "请选择其他日期或时段"));
    touch(a, "choose-again");
    j = take(a, KU_JOB_AVAIL);
    assert_string_equal(j.office, "hz-hall");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    touch(a, "day-3");
    touch(a, "slot-0");
    assert_string_equal(ku_app_screen_label(a), "m-summary");
    assert_true(drawn(a, "改为：12月5日 星期六 08:30"));
    /* Not the people of the appointment: what to do is to ask staff. */
    touch(a, "reschedule");
    j = take(a, KU_JOB_APPT_RESCHEDULE);
    mreply(a, &j, KU_R_REFUSED, "not_your_appointment", NULL);
    assert_true(drawn(a, "请呼叫工作人员"));
    ku_app_free(a);

    /* The answer was lost: it may or may not have been made; 我的预约 shows which. */
    a = at_resched_summary(false);
    touch(a, "reschedule");
    j = take(a, KU_JOB_APPT_RESCHEDULE);
    fake_answer(a, &j, true);
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    assert_true(drawn(a, "改约可能已经完成，也可能没有"));
    assert_true(drawn(a, "不能确定是否办好"));
    assert_true(drawn(a, "我的预约"));
    assert_false(drawn(a, "暂时连不上服务器")); /* not "nothing happened" */
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(drawn(a, "may or may not have been made"));
    ku_app_set_lang(a, KU_LANG_ZH);
    touch(a, "choose-again");
    j = take(a, KU_JOB_MINE);
    assert_string_equal(j.sessions[0], "S-li");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-mine");
    assert_false(a->s.resched);
    ku_app_free(a);

    /* A one-party service needs no second card: straight to the days. */
    a = at_mine(false);
    hm_strlcpy(a->s.m.appts[0].service, "reissue", sizeof(a->s.m.appts[0].service));
    hm_strlcpy(a->s.m.appts[0].slot, "09:30", sizeof(a->s.m.appts[0].slot));
    touch(a, "resched-0");
    j = take(a, KU_JOB_AVAIL);
    assert_string_equal(j.service, "reissue");
    mreply(a, &j, KU_R_OK, NULL, NULL);
    touch(a, "day-3");
    /* The time it has now is marked and not offered: moving there would change nothing. */
    assert_false(has_button(a, "slot-2"));
    assert_true(drawn(a, "09:30–10:00  现在的预约"));
    touch(a, "slot-3");
    touch(a, "reschedule");
    j = take(a, KU_JOB_APPT_RESCHEDULE);
    assert_string_equal(j.sessions[0], "S-li");
    assert_string_equal(j.sessions[1], "");
    fake_answer(a, &j, false);
    assert_string_equal(ku_app_screen_label(a), "m-ticket");
    ku_app_free(a);
}

static void test_slow_wait_and_cancel(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j;

    (void)state;
    /* Reading the status: a few seconds is normal, then "slower than usual", then 取消. */
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    tick(a, 3000);
    assert_false(drawn(a, "比平时慢"));
    assert_false(has_button(a, "wait-cancel"));
    tick(a, 1500);
    assert_true(drawn(a, "比平时慢一些，请再稍等。已经等了 4 秒。"));
    assert_false(has_button(a, "wait-cancel"));
    tick(a, 6000);
    assert_true(drawn(a, "已经等了 10 秒"));
    assert_true(has_button(a, "wait-cancel"));
    assert_string_equal(ku_app_screen_label(a), "reading"); /* no idle question on a wait */
    touch(a, "wait-cancel");
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_true(drawn(a, "已停止等待"));
    assert_true(drawn(a, "什么都没有办理"));
    reply(a, &j, KU_R_OK, 0); /* the answer that came too late: dropped */
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_false(ku_app_holds_personal_data(a));
    assert_false(drawn(a, "张秀英"));
    ku_app_free(a);

    /* A confirmation is never "cancelled": the journal delivers it; the screen says so. */
    a = at_status(true);
    touch(a, "confirm-0");
    for (const char *p = "123456"; *p; p++)
        key(a, *p);
    key(a, KU_KEY_ENTER);
    j = take(a, KU_JOB_CONFIRM);
    assert_string_equal(ku_app_screen_label(a), "confirming");
    char said[1024];
    enum ku_lang said_lang;
    (void)ku_app_take_speech(a, said, sizeof(said), &said_lang); /* "正在确认" */
    tick(a, 30000);
    /* 长辈模式 says it as well, once the wait turns slow. */
    assert_true(ku_app_take_speech(a, said, sizeof(said), &said_lang));
    assert_non_null(strstr(said, "比平时慢"));
    assert_non_null(strstr(said, "不会丢失"));
    assert_false(ku_app_take_speech(a, said, sizeof(said), &said_lang));
    assert_true(drawn(a, "比平时慢"));
    assert_true(drawn(a, "这次确认会保存在本机"));
    assert_false(has_button(a, "wait-cancel"));
    int min_text = 1 << 20;
    check_layout(a, 25, &min_text);
    reply(a, &j, KU_R_QUEUED, 0);
    assert_string_equal(ku_app_screen_label(a), "queued");
    ku_app_free(a);

    /* A dispute: it may have been recorded. */
    a = at_status(false);
    touch(a, "dispute-0");
    touch(a, "reason-not_received");
    touch(a, "submit");
    j = take(a, KU_JOB_DISPUTE);
    tick(a, 11000);
    touch(a, "wait-cancel");
    assert_true(drawn(a, "您的申诉可能已经提交，也可能没有"));
    dispute_reply(a, &j, KU_R_OK, "D-LATE");
    assert_false(drawn(a, "D-LATE"));
    ku_app_free(a);

    /* A booking: no 返回首页 while it is on its way; 取消 says it may have been made. */
    a = at_summary(false);
    touch(a, "book");
    j = take(a, KU_JOB_BOOK);
    assert_false(has_button(a, "home"));
    tick(a, 11000);
    assert_true(has_button(a, "wait-cancel"));
    touch(a, "wait-cancel");
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    assert_true(drawn(a, "预约可能已经成功，也可能没有"));
    mreply(a, &j, KU_R_OK, NULL, NULL); /* too late */
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    touch(a, "choose-again"); /* 我的预约 */
    j = take(a, KU_JOB_MINE);
    assert_string_equal(j.sessions[0], "S-li");
    ku_app_free(a);

    /* Offices are only read: nothing happened; the ID card read likewise, numbers wiped. */
    a = new_app(false);
    touch(a, "marriage");
    touch(a, "svc-marriage");
    j = take(a, KU_JOB_OFFICES);
    assert_true(has_button(a, "home"));
    tick(a, 10000);
    touch(a, "wait-cancel");
    assert_true(drawn(a, "什么都没有办理"));
    mreply(a, &j, KU_R_OK, NULL, NULL);
    assert_string_equal(ku_app_screen_label(a), "m-refused");
    ku_app_free(a);

    a = new_app(true);
    struct ku_event ins = { .kind = KU_EV_CARD_INSERTED, .now_ms = clock_ms, .card = KU_CARD_ID };
    touch(a, "mine");
    type_mrz(a, "HA2468013", "920817", "420817");
    ku_app_handle(a, &ins);
    j = take(a, KU_JOB_ID);
    tick(a, 10000);
    check_layout(a, 25, &min_text);
    touch(a, "wait-cancel");
    assert_true(drawn(a, "什么都没有办理"));
    assert_true(all_zero(a->s.mrz, sizeof(a->s.mrz)));
    ku_app_free(a);
}

static void test_keypad_every_letter(void **state)
{
    (void)state;
    for (int elder = 0; elder < 2; elder++) {
        for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
            ku_app *a = new_app(elder);
            int min_text = 1 << 20;
            char id[8];

            ku_app_set_lang(a, (enum ku_lang)lang);
            touch(a, "mine");
            /* The letters page: all 26, each a full target, none overlapping. */
            for (char ch = 'A'; ch <= 'Z'; ch++) {
                snprintf(id, sizeof(id), "mk-%c", ch);
                assert_true(has_button(a, id));
            }
            assert_false(has_button(a, "mk-1"));
            check_layout(a, elder ? 25 : 15, &min_text);
            touch(a, "mk-X");
            touch(a, "mk-Q");
            key(a, 'j'); /* a keyboard, in a window: any letter, either case */
            key(a, 'Z');
            assert_string_equal(a->s.mrz[0], "XQJZ");
            /* The digits page. */
            touch(a, "mk-123");
            for (char ch = '0'; ch <= '9'; ch++) {
                snprintf(id, sizeof(id), "mk-%c", ch);
                assert_true(has_button(a, id));
            }
            assert_false(has_button(a, "mk-A"));
            check_layout(a, elder ? 25 : 15, &min_text);
            touch(a, "mk-7");
            touch(a, "mk-0");
            assert_string_equal(a->s.mrz[0], "XQJZ70");
            touch(a, "mk-abc");
            touch(a, "mk-W");
            assert_string_equal(a->s.mrz[0], "XQJZ70W");
            /* The dates: digits only, no page to switch to, letters refused from the keyboard. */
            touch(a, "mk-next");
            assert_int_equal(a->s.mrz_field, 1);
            assert_false(has_button(a, "mk-abc"));
            assert_false(has_button(a, "mk-A"));
            assert_true(has_button(a, "mk-5"));
            key(a, 'A');
            assert_string_equal(a->s.mrz[1], "");
            check_layout(a, elder ? 25 : 15, &min_text);
            /* Back to the number: it continues on the digits page. */
            touch(a, "mf-0");
            assert_true(has_button(a, "mk-abc"));
            ku_app_free(a);
        }
    }
}

/* The jobs in the outbox, in order, as kinds. */
static size_t take_all(ku_app *a, struct ku_job *out, size_t cap)
{
    size_t n = 0;

    while (n < cap && ku_app_take_job(a, &out[n]))
        n++;
    return n;
}

static void test_staff_call(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j[4];
    size_t n;

    (void)state;
    /* From home: the call goes out, and the screen says it was made and how many wait. */
    touch(a, "staff");
    assert_string_equal(ku_app_screen_label(a), "staff");
    assert_true(drawn(a, "正在通知工作人员"));
    assert_false(drawn(a, "已通知工作人员"));
    n = take_all(a, j, 4);
    assert_int_equal(n, 1);
    assert_int_equal(j[0].kind, KU_JOB_STAFF_CALL);
    assert_string_equal(j[0].reason, "help");
    assert_string_equal(j[0].screen, "home");
    assert_false(j[0].with_card);
    fake_answer(a, &j[0], false);
    assert_true(drawn(a, "已通知工作人员，请在这里稍候"));
    assert_true(drawn(a, "现在有 3 位居民在等工作人员"));
    touch(a, "home");
    ku_app_free(a);

    /* The server cannot be reached: never pretend someone was told. */
    a = new_app(true);
    touch(a, "staff");
    assert_true(ku_app_take_job(a, &j[0]));
    fake_answer(a, &j[0], true);
    assert_true(drawn(a, "没能通知到工作人员"));
    assert_true(drawn(a, "请举手示意，或到服务台找工作人员"));
    char said[1024];
    enum ku_lang said_lang;
    assert_true(ku_app_take_speech(a, said, sizeof(said), &said_lang));
    assert_non_null(strstr(said, "没能通知到工作人员"));
    assert_non_null(strstr(said, "请举手示意"));
    assert_false(drawn(a, "已通知"));
    int min_text = 1 << 20;
    check_layout(a, 25, &min_text);
    ku_app_free(a);

    /* PIN blocked: the call says so and carries the card session, then the session ends. */
    a = at_status(false);
    touch(a, "confirm-0");
    for (const char *p = "000000"; *p; p++)
        key(a, *p);
    key(a, KU_KEY_ENTER);
    j[0] = take(a, KU_JOB_CONFIRM);
    reply(a, &j[0], KU_R_PIN_BLOCKED, 0);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    touch(a, "staff");
    n = take_all(a, j, 4);
    assert_int_equal(n, 2);
    assert_int_equal(j[0].kind, KU_JOB_STAFF_CALL);
    assert_string_equal(j[0].reason, "pin_blocked");
    assert_string_equal(j[0].screen, "card-error");
    assert_true(j[0].with_card);
    assert_int_equal(j[1].kind, KU_JOB_END); /* after the call, not before */
    assert_false(ku_app_holds_personal_data(a));
    fake_answer(a, &j[0], false);
    assert_true(drawn(a, "已通知工作人员"));
    ku_app_free(a);

    /* A card refused: card_problem, no session (there is none). */
    a = new_app(false);
    card_in(a, KU_CARD_WELFARE);
    j[0] = take(a, KU_JOB_TAP);
    reply(a, &j[0], KU_R_CARD_REFUSED, 0);
    touch(a, "staff");
    n = take_all(a, j, 4);
    assert_true(n >= 1);
    assert_string_equal(j[0].reason, "card_problem");
    assert_false(j[0].with_card);
    /* The resident goes home before the answer: it is dropped, home stays home. */
    struct ku_job call = j[0];
    touch(a, "home");
    fake_answer(a, &call, false);
    assert_string_equal(ku_app_screen_label(a), "home");
    ku_app_free(a);

    /* A refused ID card in the booking flow: card_problem too. */
    a = at_summary(false);
    ku_app_show_sample(a, KU_SCR_M_REFUSED, 0);
    a->s.refuse_own = KU_M_M_ID_NOT_GENUINE;
    touch(a, "staff");
    assert_true(ku_app_take_job(a, &j[0]));
    assert_string_equal(j[0].reason, "card_problem");
    assert_string_equal(j[0].screen, "m-refused");
    ku_app_free(a);
}

/* The new states' samples (--render-all's variants) lay out within the rules too. */
static void test_new_samples_layout(void **state)
{
    static const struct {
        enum ku_screen s;
        int v;
        const char *text;
    } cases[] = {
        { KU_SCR_CARD_ERROR, 6, "什么都没有办理" }, { KU_SCR_CARD_ERROR, 7, "申诉可能" },
        { KU_SCR_READING, 2, "已经等了" },          { KU_SCR_M_WAIT, 2, "已经等了" },
        { KU_SCR_STAFF, 0, "已通知工作人员" },      { KU_SCR_STAFF, 2, "没能通知" },
        { KU_SCR_M_SUMMARY, 1, "确认改约" },        { KU_SCR_M_TICKET, 1, "改约成功" },
        { KU_SCR_M_REFUSED, 2, "改约可能" },        { KU_SCR_M_MRZ, 2, "另一位申请人" },
    };

    (void)state;
    for (int elder = 0; elder < 2; elder++) {
        ku_app *a = new_app(elder);

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            int min_text = 1 << 20;

            ku_app_show_sample(a, cases[i].s, cases[i].v);
            assert_true(drawn(a, cases[i].text));
            assert_false(dl.overflow);
            check_layout(a, elder ? 25 : 15, &min_text);
        }
        ku_app_free(a);
    }
}

/* ---- faults: the reader or pcscd gone, cards pulled mid-flow ----------------------------- */

static void drain(ku_app *a)
{
    struct ku_job j;

    while (ku_app_take_job(a, &j))
        hm_wipe(&j, sizeof(j));
}

static void test_reader_lost_wipes_and_says_what_to_do(void **state)
{
    ku_app *a = at_status(false);
    struct ku_rect r;

    (void)state;
    touch(a, "confirm-0");
    struct ku_event k = { .kind = KU_EV_KEY, .key = '1', .now_ms = clock_ms };
    ku_app_handle(a, &k);
    ev(a, KU_EV_READER_LOST);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_true(drawn(a, "读卡器未连接"));
    assert_true(drawn(a, "请联系工作人员"));
    assert_false(drawn(a, "张秀英"));
    assert_false(ku_app_button_rect(a, "retry", &r)); /* nothing to retry without a reader */
    /* The service's own removal of the card changes nothing. */
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    /* Home keeps saying it, on a banner, until the reader is back. */
    touch(a, "home");
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_true(drawn(a, "读卡器未连接，暂时不能读卡"));
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(drawn(a, "card reader is not connected"));
    ku_app_set_lang(a, KU_LANG_ZH);
    ev(a, KU_EV_READER_BACK);
    assert_false(drawn(a, "读卡器未连接"));
    ku_app_free(a);

    /* Lost while idle: home stays (it holds nothing), with the banner; back, a tap reads. */
    a = new_app(false);
    ev(a, KU_EV_READER_LOST);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_true(drawn(a, "读卡器未连接"));
    ev(a, KU_EV_READER_BACK);
    card_in(a, KU_CARD_WELFARE); /* nothing lay on the reader through it */
    assert_string_equal(ku_app_screen_label(a), "reading");
    take(a, KU_JOB_TAP);
    ku_app_free(a);

    /* Lost on the error screen, back: it leaves by itself. */
    a = new_app(false);
    ku_app_show_sample(a, KU_SCR_STATUS, 0);
    ev(a, KU_EV_READER_LOST);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    ev(a, KU_EV_READER_BACK);
    assert_string_equal(ku_app_screen_label(a), "home");
    ku_app_free(a);
}

static void test_reader_lost_in_other_flows(void **state)
{
    static const enum ku_screen wiped[] = { KU_SCR_STATUS,  KU_SCR_DISPUTE, KU_SCR_RECEIPT,
                                            KU_SCR_M_SLOT,  KU_SCR_M_MRZ,   KU_SCR_M_SUMMARY,
                                            KU_SCR_M_IDREAD };
    static const enum ku_screen kept[] = { KU_SCR_HOME, KU_SCR_STAFF, KU_SCR_RATING };

    (void)state;
    for (size_t i = 0; i < sizeof(wiped) / sizeof(wiped[0]); i++) {
        ku_app *a = new_app(false);

        ku_app_show_sample(a, wiped[i], 0);
        assert_true(ku_app_holds_personal_data(a));
        ev(a, KU_EV_READER_LOST);
        assert_string_equal(ku_app_screen_label(a), "card-error");
        assert_false(ku_app_holds_personal_data(a));
        assert_false(drawn(a, "张秀英"));
        assert_false(drawn(a, "李娜"));
        ev(a, KU_EV_READER_BACK);
        assert_string_equal(ku_app_screen_label(a), "home");
        ku_app_free(a);
    }
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        ku_app *a = new_app(false);

        ku_app_show_sample(a, kept[i], 0);
        ev(a, KU_EV_READER_LOST);
        assert_int_equal(ku_app_screen(a), kept[i]);
        assert_true(drawn(a, "读卡器未连接"));
        ku_app_free(a);
    }
}

static void test_card_left_through_a_reader_fault(void **state)
{
    ku_app *a = at_status(false);
    struct ku_job j;

    (void)state;
    /* pcscd restarted under her: the visit goes; her card comes back with the service. */
    ev(a, KU_EV_READER_LOST);
    ev(a, KU_EV_CARD_REMOVED);
    ev(a, KU_EV_READER_BACK);
    assert_string_equal(ku_app_screen_label(a), "home");
    drain(a);
    card_in(a, KU_CARD_WELFARE);
    /* Not read by itself: lift it and put it back, or 重试. */
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_true(drawn(a, "读卡器刚刚恢复"));
    assert_true(drawn(a, "拿起来再放回"));
    assert_false(ku_app_take_job(a, &j));
    assert_false(ku_app_holds_personal_data(a));
    touch(a, "retry");
    assert_string_equal(ku_app_screen_label(a), "reading");
    take(a, KU_JOB_TAP);
    ku_app_free(a);

    /* Lifted: the screen goes home, and putting it down reads it. */
    a = at_status(false);
    ev(a, KU_EV_READER_LOST);
    ev(a, KU_EV_READER_BACK);
    card_in(a, KU_CARD_WELFARE);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "home");
    drain(a);
    card_in(a, KU_CARD_WELFARE);
    assert_string_equal(ku_app_screen_label(a), "reading");
    take(a, KU_JOB_TAP);
    ku_app_free(a);

    /* Lifted after the service came back but before the card did: the next one is a tap. */
    a = at_status(false);
    ev(a, KU_EV_READER_LOST);
    ev(a, KU_EV_READER_BACK);
    ev(a, KU_EV_CARD_REMOVED);
    drain(a);
    card_in(a, KU_CARD_WELFARE);
    assert_string_equal(ku_app_screen_label(a), "reading");
    ku_app_free(a);
}

static void test_card_pulled_while_signing(void **state)
{
    static const enum ku_result pulled[] = { KU_R_CARD_PULLED, KU_R_NO_CARD };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        /* The answer first, then the removal; and the other way round: home either way. */
        for (int removal_first = 0; removal_first < 2; removal_first++) {
            ku_app *a = at_status(false);
            struct ku_job j;

            touch(a, "confirm-0");
            for (const char *d = "135790"; *d; d++) {
                struct ku_event e = { .kind = KU_EV_KEY, .key = *d, .now_ms = clock_ms };

                ku_app_handle(a, &e);
            }
            touch(a, "pin-ok");
            j = take(a, KU_JOB_CONFIRM);
            if (removal_first)
                ev(a, KU_EV_CARD_REMOVED);
            reply(a, &j, pulled[i], 0);
            if (!removal_first)
                ev(a, KU_EV_CARD_REMOVED);
            assert_string_equal(ku_app_screen_label(a), "home");
            assert_false(ku_app_holds_personal_data(a));
            assert_false(drawn(a, "张秀英"));
            assert_false(drawn(a, "750.00"));
            ku_app_free(a);
        }
    }
}

static void test_script_rig_steps(void **state)
{
    static const char *const bad[] = { "rig pcscd\n", "rig\n", "rig reader restart-pcscd\n",
                                       "rig 9 remove\n" };
    char path[] = "/tmp/ku-rig-script-XXXXXX", err[256];
    struct ku_script s;
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("rig pcscd restart-pcscd\nrig 1 pull-after 2\nrig pcscd unplug  # comment\n", f);
    fclose(f);
    assert_true(ku_script_load(&s, path, err, sizeof(err)));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.steps[0].kind, KU_STEP_RIG);
    assert_int_equal(s.steps[0].reader, -1); /* the rig itself */
    assert_string_equal(s.steps[0].arg, "restart-pcscd");
    assert_int_equal(s.steps[1].reader, 1);
    assert_string_equal(s.steps[1].arg, "pull-after 2");
    assert_int_equal(s.steps[2].reader, -1);
    assert_string_equal(s.steps[2].arg, "unplug");
    ku_script_cleanup(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        assert_false(ku_script_load(&s, path, err, sizeof(err)));
        assert_non_null(strstr(err, ":1: rig"));
    }
    remove(path);
}

static void test_card_error_left_goes_home(void **state)
{
    ku_app *a = new_app(false);
    struct ku_job j;

    (void)state;
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    reply(a, &j, KU_R_NOT_WELFARE, 0);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    ev(a, KU_EV_CARD_REMOVED); /* the card it was about is gone */
    assert_string_equal(ku_app_screen_label(a), "home");
    /* "The card was moved" stays until it is put back. */
    drain(a);
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    reply(a, &j, KU_R_CARD_PULLED, 0);
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "card-error");
    assert_true(drawn(a, "卡片被移开了"));
    ku_app_free(a);
}

/* ---- the server unreachable at a tap: the status kept from her last visit ------------------ */

/* 2026-11-30 10:05, local time (as the kiosk shows it). */
static int64_t as_of_1130(void)
{
    struct tm tm = { .tm_year = 2026 - 1900,
                     .tm_mon = 10,
                     .tm_mday = 30,
                     .tm_hour = 10,
                     .tm_min = 5,
                     .tm_isdst = -1 };

    return (int64_t)mktime(&tm);
}

/* The TAP reply of backend_kc.c when the server is away and a status is kept for the card
 * (one_awaiting: only one payment waits for her). */
static void cached_reply(ku_app *a, const struct ku_job *j, bool one_awaiting)
{
    struct ku_reply *rep = calloc(1, sizeof(*rep));
    struct ku_event e = { .kind = KU_EV_REPLY, .now_ms = clock_ms, .reply = rep };

    assert_non_null(rep);
    rep->kind = j->kind;
    rep->seq = j->seq;
    rep->result = KU_R_OK;
    rep->offline = true;
    ku_fake_status(&rep->status, 1796156051);
    rep->status.cached = true;
    rep->status.as_of = as_of_1130();
    if (one_awaiting)
        for (size_t i = 1; i < rep->status.n_pay; i++)
            rep->status.pay[i].awaiting = false;
    ku_app_handle(a, &e);
    free(rep);
}

static ku_app *at_cached_status(bool elder)
{
    ku_app *a = new_app(elder);
    struct ku_job j;

    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    cached_reply(a, &j, false);
    assert_string_equal(ku_app_screen_label(a), "status");
    return a;
}

static void test_cached_status_shown_not_confirmable(void **state)
{
    ku_app *a = at_cached_status(false);
    struct ku_job j;

    (void)state;
    assert_true(ku_app_offline(a));
    assert_true(drawn(a, "服务器暂时连不上：确认先保存在本机")); /* the banner */
    assert_true(drawn(a, "服务器暂时连不上。下面是 11月30日 10:05 的信息，可能已有变化。"));
    assert_true(drawn(a, "确认领取要连上服务器才能办"));
    assert_true(drawn(a, "张秀英"));
    assert_true(drawn(a, "750.00"));
    assert_true(drawn(a, "已发放，未确认"));
    assert_false(drawn(a, "已发放，请确认"));
    /* No 确认领取 / 没有收到 on any payment: nothing can be confirmed from a kept status. */
    for (int i = 0; i < KU_PAY_MAX; i++) {
        char id[24];

        snprintf(id, sizeof(id), "confirm-%d", i);
        assert_false(has_button(a, id));
        snprintf(id, sizeof(id), "dispute-%d", i);
        assert_false(has_button(a, id));
    }
    assert_true(has_button(a, "staff"));
    assert_true(has_button(a, "finish"));
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(drawn(a, "as of Nov 30, 10:05"));
    assert_true(drawn(a, "Confirming a payment needs the server"));
    assert_false(drawn(a, "Paid, please confirm"));
    /* The card removed: home, wiped, as for a live status. */
    ev(a, KU_EV_CARD_REMOVED);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    ku_app_set_lang(a, KU_LANG_ZH);
    assert_false(drawn(a, "张秀英"));
    assert_false(drawn(a, "下面是"));
    assert_false(drawn(a, "750.00"));
    ku_app_free(a);

    /* 确认领取 from home with one payment waiting opens the PIN pad for a live status; for a
     * kept one it shows the status with the note instead. */
    a = new_app(false);
    touch(a, "confirm");
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    cached_reply(a, &j, true);
    assert_string_equal(ku_app_screen_label(a), "status");
    assert_false(has_button(a, "confirm-0"));
    assert_true(drawn(a, "确认领取要连上服务器才能办"));
    ku_app_free(a);
}

static void test_cached_status_idle_and_live_again(void **state)
{
    ku_app *a = at_cached_status(false);
    struct ku_job j;

    (void)state;
    /* The idle timeout: more time first, then wiped, as for a live status. */
    tick(a, 61000);
    assert_string_equal(ku_app_screen_label(a), "idle");
    tick(a, 31000);
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
    assert_false(drawn(a, "张秀英"));
    ev(a, KU_EV_CARD_REMOVED);
    /* The next tap reaches the server: a live status, with its buttons and without the note. */
    card_in(a, KU_CARD_WELFARE);
    j = take(a, KU_JOB_TAP);
    reply(a, &j, KU_R_OK, 0);
    assert_string_equal(ku_app_screen_label(a), "status");
    assert_true(has_button(a, "confirm-0"));
    assert_false(drawn(a, "下面是"));
    assert_false(drawn(a, "确认领取要连上服务器"));
    ku_app_free(a);
}

static void test_cached_status_spoken_with_its_time(void **state)
{
    ku_app *a = at_cached_status(true);
    char text[4096];
    enum ku_lang lang;

    (void)state;
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_non_null(strstr(text, "下面是 11月30日 10:05 的信息"));
    assert_non_null(strstr(text, "每月七百五十元"));
    assert_non_null(strstr(text, "确认领取要连上服务器才能办"));
    /* Not asked to confirm what cannot be confirmed. */
    assert_null(strstr(text, "请确认是否收到"));
    assert_null(strstr(text, "张秀英"));
    ku_app_set_lang(a, KU_LANG_EN);
    assert_true(ku_app_take_speech(a, text, sizeof(text), &lang));
    assert_non_null(strstr(text, "as of Nov 30, 10:05"));
    assert_null(strstr(text, "Please confirm whether"));
    hm_wipe(text, sizeof(text));
    ku_app_free(a);
}

static void test_cached_and_reader_samples(void **state)
{
    (void)state;
    for (int elder = 0; elder < 2; elder++) {
        ku_app *a = new_app(elder);
        int min_text = 1 << 20;

        ku_app_show_sample(a, KU_SCR_STATUS, 3);
        assert_true(drawn(a, "下面是 11月30日 10:05 的信息"));
        assert_true(drawn(a, "服务器暂时连不上：确认先保存在本机"));
        assert_false(has_button(a, "confirm-0"));
        assert_false(dl.overflow);
        check_layout(a, elder ? 25 : 15, &min_text);
        /* The other status samples are live ones. */
        ku_app_show_sample(a, KU_SCR_STATUS, 0);
        assert_false(drawn(a, "下面是"));
        assert_true(has_button(a, "confirm-0"));
        ku_app_show_sample(a, KU_SCR_HOME, 2);
        assert_true(drawn(a, "读卡器未连接"));
        check_layout(a, elder ? 25 : 15, &min_text);
        ku_app_show_sample(a, KU_SCR_HOME, 0);
        assert_false(drawn(a, "读卡器未连接"));
        ku_app_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogs_complete),
        cmocka_unit_test(test_missing_key_is_visible),
        cmocka_unit_test(test_flow_confirm),
        cmocka_unit_test(test_card_removed_wipes),
        cmocka_unit_test(test_second_card_waits),
        cmocka_unit_test(test_own_card_lifted_wipes_with_second_card),
        cmocka_unit_test(test_waiting_card_gone),
        cmocka_unit_test(test_stale_reply_ignored),
        cmocka_unit_test(test_errors_say_what_next),
        cmocka_unit_test(test_idle_offers_time_then_wipes),
        cmocka_unit_test(test_queued_banner),
        cmocka_unit_test(test_elder_targets_and_text),
        cmocka_unit_test(test_contrast),
        cmocka_unit_test(test_hit_test),
        cmocka_unit_test(test_script_parse),
        cmocka_unit_test(test_money_words),
        cmocka_unit_test(test_voice_status_amounts),
        cmocka_unit_test(test_repeat_on_every_screen),
        cmocka_unit_test(test_tap_only_turns_elder_on),
        cmocka_unit_test(test_dispute_flow),
        cmocka_unit_test(test_dispute_errors_say_what_next),
        cmocka_unit_test(test_rating_screen),
        cmocka_unit_test(test_offline_status_says_try_later),
        cmocka_unit_test(test_speech_thread),
        cmocka_unit_test(test_marriage_booking),
        cmocka_unit_test(test_marriage_keypad),
        cmocka_unit_test(test_marriage_refusals),
        cmocka_unit_test(test_marriage_card_pulled_and_idle),
        cmocka_unit_test(test_mine_cancel),
        cmocka_unit_test(test_reschedule),
        cmocka_unit_test(test_reschedule_refusals),
        cmocka_unit_test(test_slow_wait_and_cancel),
        cmocka_unit_test(test_keypad_every_letter),
        cmocka_unit_test(test_staff_call),
        cmocka_unit_test(test_new_samples_layout),
        cmocka_unit_test(test_reader_lost_wipes_and_says_what_to_do),
        cmocka_unit_test(test_reader_lost_in_other_flows),
        cmocka_unit_test(test_card_left_through_a_reader_fault),
        cmocka_unit_test(test_card_pulled_while_signing),
        cmocka_unit_test(test_card_error_left_goes_home),
        cmocka_unit_test(test_script_rig_steps),
        cmocka_unit_test(test_cached_status_shown_not_confirmable),
        cmocka_unit_test(test_cached_status_idle_and_live_again),
        cmocka_unit_test(test_cached_status_spoken_with_its_time),
        cmocka_unit_test(test_cached_and_reader_samples),
    };

    return cmocka_run_group_tests(tests, load_cats, free_cats);
}
