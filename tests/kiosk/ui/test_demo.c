/* Unit tests of demo mode without SDL or a rig: the demo-cards file (every bad line gives its
 * file:line and what to do), the script steps that press demo keys, and the strip's layout. */
#include "demo.h"
#include "script.h"
#include "ui.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends s to the string in buf (cap bytes); the test's buffers are sized to hold it. */
static void append(char *buf, const char *s, size_t cap)
{
    size_t n = strlen(buf), m = strlen(s);

    assert_true(n + m < cap);
    memcpy(buf + n, s, m + 1);
}

static char dir[256];
static struct ku_draw_list dl;

static int setup(void **state)
{
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_demo.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    /* Two card files (their content does not matter to the parser, only that they exist). */
    for (int i = 0; i < 2; i++) {
        char p[300];

        snprintf(p, sizeof(p), "%s/%s", dir, i ? "li.json" : "zhang.json");
        f = fopen(p, "w");
        if (!f)
            return -1;
        fputs("{}\n", f);
        fclose(f);
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text into dir/name and returns the path (static). */
static const char *write_file(const char *name, const char *text)
{
    static char path[400];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_load_good(void **state)
{
    struct ku_demo_cards c;
    char err[600] = "", abs_line[600], text[1200];
    const char *p;

    (void)state;
    snprintf(abs_line, sizeof(abs_line),
             "F3 1 %s/li.json 李娜 · 身份证 HA2468013 | Li Na · ID card\n", dir);
    snprintf(text, sizeof(text),
             "# the demo's cards\n"
             "\n"
             "1 0 zhang.json 张秀英 · 福利卡 · PIN 135790 | Zhang Xiuying · welfare card\n"
             "   # an indented comment\n"
             "2\t0\tzhang.json\t陈桂兰 · 长辈模式\r\n"
             "%s",
             abs_line);
    p = write_file("good.txt", text);
    assert_true(ku_demo_load(&c, p, err, sizeof(err)));
    assert_int_equal(c.n, 3);
    assert_int_equal(c.c[0].key, 1);
    assert_int_equal(c.c[0].slot, 0);
    assert_int_equal(c.c[0].line, 3);
    /* A relative card file is found beside the demo-cards file. */
    snprintf(text, sizeof(text), "%s/zhang.json", dir);
    assert_string_equal(c.c[0].path, text);
    assert_string_equal(c.c[0].label[KU_LANG_ZH], "张秀英 · 福利卡 · PIN 135790");
    assert_string_equal(c.c[0].label[KU_LANG_EN], "Zhang Xiuying · welfare card");
    /* No English label: the Chinese one for both; tabs and CRLF are fine. */
    assert_int_equal(c.c[1].key, 2);
    assert_string_equal(c.c[1].label[KU_LANG_ZH], "陈桂兰 · 长辈模式");
    assert_string_equal(c.c[1].label[KU_LANG_EN], "陈桂兰 · 长辈模式");
    assert_int_equal(c.c[2].key, 3);
    assert_int_equal(c.c[2].slot, 1);
    assert_int_equal(c.c[2].line, 6);
    assert_string_equal(c.c[2].label[KU_LANG_EN], "Li Na · ID card");
}

/* The file with one bad line after a good one must fail with "path:LINE: " and the words. */
static void expect_bad(const char *bad_line, int line, const char *words)
{
    struct ku_demo_cards c;
    char err[600] = "", text[4096], want[500];
    const char *p;

    snprintf(text, sizeof(text), "1 0 zhang.json 张秀英\n%s", bad_line);
    p = write_file("bad.txt", text);
    assert_false(ku_demo_load(&c, p, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:%d: ", p, line);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, words))
        fail_msg("for %s: got '%s', want '%s...%s'", bad_line, err, want, words);
    assert_int_equal(c.n, 0); /* nothing half-loaded */
}

static void test_load_bad_lines(void **state)
{
    char many[2048] = "";

    (void)state;
    expect_bad("0 0 zhang.json 取走\n", 2, "0 (F10) is kept");
    expect_bad("F10 0 zhang.json 取走\n", 2, "the key is 1..9");
    expect_bad("x 0 zhang.json 张秀英\n", 2, "the key is 1..9");
    expect_bad("2 8 zhang.json 张秀英\n", 2, "slot");
    expect_bad("2 -1 zhang.json 张秀英\n", 2, "slot");
    expect_bad("2 0\n", 2, "expected KEY SLOT CARD-FILE LABEL");
    expect_bad("2 0 zhang.json\n", 2, "a label is missing");
    expect_bad("2 0 zhang.json   | English only\n", 2, "a label is missing");
    expect_bad("2 0 nosuch.json 谁\n", 2, "cannot read the card file");
    expect_bad("1 1 li.json 李娜\n", 2, "key 1 is already used on line 1");
    expect_bad("\n# c\n2 0 zhang.json bell\a\n", 4, "without control characters");
    expect_bad("2 0 zhang.json \xff\xfe\n", 2, "UTF-8");
    for (int i = 0; i < 200; i++)
        append(many, "长", sizeof(many));
    append(many, "\n", sizeof(many));
    {
        char line[2100];

        snprintf(line, sizeof(line), "2 0 zhang.json %s", many);
        expect_bad(line, 2, "too long");
    }
    /* Ten cards: keys 1..9 are all there is. */
    {
        char text[1024] = "";
        struct ku_demo_cards c;
        char err[600];
        const char *p;

        for (int k = 1; k <= 9; k++) {
            char l[64];

            snprintf(l, sizeof(l), "%d 0 zhang.json card %d\n", k, k);
            append(text, l, sizeof(text));
        }
        append(text, "F1 0 zhang.json again\n", sizeof(text));
        p = write_file("ten.txt", text);
        assert_false(ku_demo_load(&c, p, err, sizeof(err)));
        assert_non_null(strstr(err, ":10: "));
    }
}

static void test_load_no_cards(void **state)
{
    struct ku_demo_cards c;
    char err[600] = "";
    const char *p = write_file("empty.txt", "# nothing yet\n\n");
    char missing[400];

    (void)state;
    assert_false(ku_demo_load(&c, p, err, sizeof(err)));
    assert_non_null(strstr(err, "no cards in it"));
    snprintf(missing, sizeof(missing), "%s/nope.txt", dir);
    assert_false(ku_demo_load(&c, missing, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open it"));
}

static void test_script_steps(void **state)
{
    struct ku_script s;
    char err[300] = "";
    const char *p =
        write_file("demo.script", "demo 1\nkey F3\nkey F10\ndemo 0\nkey f9\nkey enter\n");

    (void)state;
    assert_true(ku_script_load(&s, p, err, sizeof(err)));
    assert_int_equal(s.n, 6);
    assert_int_equal(s.steps[0].kind, KU_STEP_DEMO);
    assert_int_equal(s.steps[0].reader, 1);
    assert_int_equal(s.steps[1].kind, KU_STEP_DEMO);
    assert_int_equal(s.steps[1].reader, 3);
    assert_int_equal(s.steps[2].kind, KU_STEP_DEMO);
    assert_int_equal(s.steps[2].reader, 0); /* F10 takes the cards away */
    assert_int_equal(s.steps[3].reader, 0);
    assert_int_equal(s.steps[4].reader, 9);
    assert_int_equal(s.steps[5].kind, KU_STEP_KEY);
    ku_script_cleanup(&s);
    static const char *const bad[] = { "demo\n",     "demo 10\n", "demo x\n",
                                       "demo 1 2\n", "key F11\n", "key F0\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[64];

        snprintf(text, sizeof(text), "wait screen home\n%s", bad[i]);
        p = write_file("bad.script", text);
        assert_false(ku_script_load(&s, p, err, sizeof(err)));
        assert_non_null(strstr(err, ":2: "));
    }
}

static bool has_text(const char *s)
{
    for (size_t i = 0; i < dl.n; i++)
        if (dl.cmds[i].kind == KU_CMD_TEXT && strcmp(ku_cmd_text(&dl, &dl.cmds[i]), s) == 0)
            return true;
    return false;
}

static void test_strip(void **state)
{
    struct ku_demo_cards c;
    char err[600] = "";
    const char *p = write_file("strip.txt", "1 0 zhang.json 张秀英 · 福利卡 | Zhang Xiuying\n"
                                            "4 1 li.json 李娜 · 身份证 | Li Na · ID card\n");
    ku_demo *d;
    struct ku_rect r;

    (void)state;
    assert_true(ku_demo_load(&c, p, err, sizeof(err)));
    d = ku_demo_new(&c, NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(d);
    r = (struct ku_rect){ 540, 0, ku_demo_strip_width(540, 960), 960 };
    assert_true(r.w >= 300);
    for (int lang = 0; lang < KU_LANG_COUNT; lang++) {
        ku_draw_clear(&dl);
        ku_demo_draw(d, &dl, r, (enum ku_lang)lang);
        assert_false(dl.overflow);
        assert_true(has_text("F1"));
        assert_true(has_text("F4"));
        assert_true(has_text("F10"));
        assert_true(has_text(lang ? "Zhang Xiuying" : "张秀英 · 福利卡"));
        assert_true(has_text(lang ? "Li Na · ID card" : "李娜 · 身份证"));
        assert_true(has_text(lang ? "Demo mode" : "演示模式"));
        assert_true(has_text(lang ? "Take every card away" : "取走所有卡片"));
        assert_true(has_text(lang ? "reader 2" : "2号读卡器"));
        assert_false(has_text(lang ? "张秀英 · 福利卡" : "Zhang Xiuying"));
        /* Everything inside the strip: nothing drawn over the kiosk's own screen. */
        for (size_t i = 0; i < dl.n; i++) {
            const struct ku_rect *b = &dl.cmds[i].r;

            assert_true(b->x >= r.x && b->y >= r.y);
            assert_true(b->x + b->w <= r.x + r.w && b->y + b->h <= r.y + r.h);
        }
    }
    /* Clicks: each entry's box is its key, the last one 0; the kiosk's screen is none. */
    {
        int found[3] = { 0 };

        for (size_t i = 0; i < dl.n; i++) {
            const struct ku_cmd *cmd = &dl.cmds[i];
            int k;

            if (cmd->kind != KU_CMD_TEXT || cmd->r.w > r.w / 3)
                continue; /* the key badges */
            k = ku_demo_hit(d, cmd->r.x + cmd->r.w / 2, cmd->r.y + cmd->r.h / 2);
            if (strcmp(ku_cmd_text(&dl, cmd), "F1") == 0)
                found[0] = k == 1;
            if (strcmp(ku_cmd_text(&dl, cmd), "F4") == 0)
                found[1] = k == 4;
            if (strcmp(ku_cmd_text(&dl, cmd), "F10") == 0)
                found[2] = k == 0;
        }
        assert_true(found[0] && found[1] && found[2]);
        assert_int_equal(ku_demo_hit(d, 100, 100), -1);
    }
    /* Without a rig nothing is pressed. */
    assert_false(ku_demo_press(d, 1));
    assert_true(ku_demo_idle(d));
    /* A short window: entries that do not fit are left out, never drawn past the bottom. */
    r.h = 200;
    ku_draw_clear(&dl);
    ku_demo_draw(d, &dl, r, KU_LANG_ZH);
    for (size_t i = 0; i < dl.n; i++)
        assert_true(dl.cmds[i].r.y + dl.cmds[i].r.h <= r.y + r.h);
    ku_demo_free(d);
    ku_demo_free(NULL);
    ku_draw_clear(&dl);
}

static void test_rig_without_the_slot(void **state)
{
    struct ku_demo_cards c;
    char err[600] = "";
    const char *p = write_file("slots.txt", "1 0 zhang.json 张秀英\n3 1 li.json 李娜\n");
    char sock[400];
    FILE *f;

    (void)state;
    assert_true(ku_demo_load(&c, p, err, sizeof(err)));
    /* The rig has card0.sock only: slot 1 (line 2) is refused with what to do. */
    snprintf(sock, sizeof(sock), "%s/card0.sock", dir);
    f = fopen(sock, "w");
    assert_non_null(f);
    fclose(f);
    assert_null(ku_demo_new(&c, dir, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "slot 1"));
    assert_non_null(strstr(err, "--card"));
    unlink(sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),     cmocka_unit_test(test_load_bad_lines),
        cmocka_unit_test(test_load_no_cards), cmocka_unit_test(test_script_steps),
        cmocka_unit_test(test_strip),         cmocka_unit_test(test_rig_without_the_slot),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
