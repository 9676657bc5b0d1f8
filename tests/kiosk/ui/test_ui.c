/* Unit tests of the kiosk's screens without SDL: transitions, idle and card-removal wipes, hit
 * testing and 25 mm targets in 长辈模式, text sizes, contrast, and both catalogs complete. */
#include "app_int.h"
#include "script.h"
#include "ui.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    assert_string_equal(ku_app_screen_label(a), "home");
    assert_false(ku_app_holds_personal_data(a));
    take(a, KU_JOB_END);
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
    assert_string_equal(ku_app_screen_label(a), "marriage");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogs_complete),
        cmocka_unit_test(test_missing_key_is_visible),
        cmocka_unit_test(test_flow_confirm),
        cmocka_unit_test(test_card_removed_wipes),
        cmocka_unit_test(test_stale_reply_ignored),
        cmocka_unit_test(test_errors_say_what_next),
        cmocka_unit_test(test_idle_offers_time_then_wipes),
        cmocka_unit_test(test_queued_banner),
        cmocka_unit_test(test_elder_targets_and_text),
        cmocka_unit_test(test_contrast),
        cmocka_unit_test(test_hit_test),
        cmocka_unit_test(test_script_parse),
    };

    return cmocka_run_group_tests(tests, load_cats, free_cats);
}
