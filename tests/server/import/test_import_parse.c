/* Unit tests of the importer's exact parsers (yuan to fen, dates, months) and of the line numbers
 * it reports for CSV records that span lines, against a throwaway SQLite store. */
#include "hs/db.h"
#include "hs/import.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void yuan_ok(const char *s, int64_t want)
{
    int64_t fen = -1;

    if (hs_import_parse_yuan(s, &fen) != HS_AMOUNT_OK || fen != want)
        fail_msg("'%s': want %lld fen, got %lld (%s)", s, (long long)want, (long long)fen,
                 hs_import_amount_strerror(hs_import_parse_yuan(s, &fen)));
}

static void yuan_bad(const char *s, enum hs_amount_err want)
{
    int64_t fen = 12345;
    enum hs_amount_err e = hs_import_parse_yuan(s, &fen);

    if (e != want)
        fail_msg("'%s': want error %d, got %d", s ? s : "(null)", want, e);
    assert_int_equal(fen, 12345); /* untouched on failure */
}

static void test_yuan(void **state)
{
    (void)state;
    yuan_ok("0", 0);
    yuan_ok("0.00", 0);
    yuan_ok("0.07", 7);
    yuan_ok("0.7", 70);
    yuan_ok("930", 93000);
    yuan_ok("1150.00", 115000);
    yuan_ok("1150.5", 115050);
    yuan_ok("433.33", 43333);
    yuan_ok("99999999.99", INT64_C(9999999999));
    yuan_ok("100000000", INT64_C(10000000000));
    yuan_ok("100000000.00", INT64_C(10000000000));

    yuan_bad(NULL, HS_AMOUNT_EMPTY);
    yuan_bad("", HS_AMOUNT_EMPTY);
    yuan_bad("-5", HS_AMOUNT_NEGATIVE);
    yuan_bad("-0.01", HS_AMOUNT_NEGATIVE);
    yuan_bad("+5", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("1e3", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("12,5", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("1,150.00", HS_AMOUNT_NOT_NUMBER);
    yuan_bad(" 5", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("5 ", HS_AMOUNT_NOT_NUMBER);
    yuan_bad(".5", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("5.", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("1.2.3", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("0x10", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("NaN", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("12元", HS_AMOUNT_NOT_NUMBER);
    yuan_bad("１２", HS_AMOUNT_NOT_NUMBER); /* full-width digits */
    yuan_bad("1.234", HS_AMOUNT_DECIMALS);
    yuan_bad("12.345", HS_AMOUNT_DECIMALS);
    yuan_bad("0.001", HS_AMOUNT_DECIMALS);
    yuan_bad("012", HS_AMOUNT_LEADING_ZERO);
    yuan_bad("00.50", HS_AMOUNT_LEADING_ZERO);
    yuan_bad("100000000.01", HS_AMOUNT_TOO_LARGE);
    yuan_bad("999999999", HS_AMOUNT_TOO_LARGE);
    yuan_bad("99999999999999999999999", HS_AMOUNT_TOO_LARGE); /* would overflow int64 */

    for (int e = HS_AMOUNT_OK; e <= HS_AMOUNT_TOO_LARGE; e++)
        assert_non_null(hs_import_amount_strerror((enum hs_amount_err)e));
}

static void test_dates(void **state)
{
    int32_t d = 0;

    (void)state;
    assert_true(hs_import_parse_date("2026-02-28", &d));
    assert_int_equal(d, 20260228);
    assert_true(hs_import_parse_date("2024-02-29", &d)); /* leap year */
    assert_int_equal(d, 20240229);
    assert_true(hs_import_parse_date("2000-02-29", &d)); /* divisible by 400 */
    assert_true(hs_import_parse_date("1900-01-01", &d));
    assert_true(hs_import_parse_date("2099-12-31", &d));
    assert_true(hs_import_parse_date("2025-04-30", &d));

    d = 7;
    assert_false(hs_import_parse_date("2026-02-30", &d));
    assert_int_equal(d, 7);
    assert_false(hs_import_parse_date("2026-02-29", &d)); /* not a leap year */
    assert_false(hs_import_parse_date("1900-02-29", &d)); /* divisible by 100 */
    assert_false(hs_import_parse_date("2025-04-31", &d));
    assert_false(hs_import_parse_date("2025-13-01", &d));
    assert_false(hs_import_parse_date("2025-00-10", &d));
    assert_false(hs_import_parse_date("2025-01-00", &d));
    assert_false(hs_import_parse_date("1899-12-31", &d));
    assert_false(hs_import_parse_date("2100-01-01", &d));
    assert_false(hs_import_parse_date("2025-1-01", &d));
    assert_false(hs_import_parse_date("2025/01/01", &d));
    assert_false(hs_import_parse_date("20250101", &d));
    assert_false(hs_import_parse_date("2025-01-01 ", &d));
    assert_false(hs_import_parse_date("2025-01-0a", &d));
    assert_false(hs_import_parse_date("", &d));
    assert_false(hs_import_parse_date(NULL, &d));
    assert_int_equal(d, 7);

    assert_true(hs_import_parse_month("2025-07", &d));
    assert_int_equal(d, 202507);
    assert_false(hs_import_parse_month("2025-13", &d));
    assert_false(hs_import_parse_month("2025-7", &d));
    assert_false(hs_import_parse_month("2025-07-01", &d));
}

static void test_kinds(void **state)
{
    enum hs_import_kind k;

    (void)state;
    assert_true(hs_import_kind_parse("payments", &k));
    assert_int_equal(k, HS_IMPORT_PAYMENTS);
    assert_string_equal(hs_import_kind_name(HS_IMPORT_RESIDENTS), "residents");
    assert_false(hs_import_kind_parse("Residents", &k));
    assert_false(hs_import_kind_parse("", &k));
}

/* ---- line numbers, against a real store ----------------------------------------- */

struct env {
    char dir[64];
    char db[96];
    struct hs_store *st;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct hs_store_config cfg = { .backend = HS_BACKEND_SQLITE };

    if (!e)
        return -1;
    snprintf(e->dir, sizeof(e->dir), "/tmp/hs-import-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->db, sizeof(e->db), "%s/t.db", e->dir);
    cfg.target = e->db;
    if (hs_store_open(&cfg, &e->st) != HS_OK)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char path[128];

    hs_store_close(e->st);
    static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", e->dir, files[i]);
        unlink(path);
    }
    rmdir(e->dir);
    free(e);
    return 0;
}

static hs_rc run(struct env *e, enum hs_import_kind kind, const char *csv, bool dry,
                 struct hs_import_report *rep)
{
    struct hs_import_opts o = {
        .kind = kind, .name = "t.csv", .actor = "test", .now = 1767225600, .dry_run = dry
    };
    return hs_import_buffer(e->st, &o, (const uint8_t *)csv, strlen(csv), rep);
}

#define PROG_HEADER "code,name,category,form,period,standard,care_tier,region_code,source\r\n"

static void test_line_numbers(void **state)
{
    struct env *e = *state;
    struct hs_import_report rep;

    /* A BOM, CRLF, a blank line, a quoted field with a comma and one with two line
     * breaks: the bad rows are reported on the lines where they start. */
    static const char csv[] =
        "\xEF\xBB\xBF" PROG_HEADER "a,城市低保,dibao,cash,month,750.00,,451123,\"富川, 2020\"\r\n"
        "\r\n"
        "b,x,dibao,cash,month,1.234,,451123,\"line one\r\nline two\r\n"
        "line three\"\r\n"
        "c,x,dibao,cash,month,5,,451123,ok\r\n"
        "d,x,nosuch,cash,month,5,,451123,ok\r\n";
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, csv, true, &rep), HS_E_MALFORMED);
    assert_int_equal(rep.rows, 4);
    assert_int_equal(rep.bad_rows, 2);
    assert_int_equal(rep.nmsgs, 2);
    assert_int_equal(rep.msgs[0].line, 4);
    assert_string_equal(rep.msgs[0].text, "t.csv:4: standard '1.234' has more than two decimals");
    assert_int_equal(rep.msgs[1].line, 8);
    hs_import_report_cleanup(&rep);

    /* The good rows alone import. */
    static const char good[] =
        "\xEF\xBB\xBF" PROG_HEADER "a,城市低保,dibao,cash,month,750.00,,451123,\"富川, 2020\"\r\n"
        "c,\"多行\n名称\",dibao,cash,year,5200,,451123,ok";
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, good, false, &rep), HS_OK);
    assert_int_equal(rep.rows, 2);
    assert_true(rep.audit_seq > 0);
    hs_import_report_cleanup(&rep);

    /* Again: every row exists already. */
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, good, false, &rep), HS_E_MALFORMED);
    assert_int_equal(rep.bad_rows, 2);
    assert_int_equal(rep.msgs[1].line, 3);
    hs_import_report_cleanup(&rep);
}

static void test_file_errors(void **state)
{
    struct env *e = *state;
    struct hs_import_report rep;

    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, "", true, &rep), HS_E_MALFORMED);
    assert_true(rep.file_error);
    hs_import_report_cleanup(&rep);

    /* A missing and an unknown column. */
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES,
                         "code,name,category,form,period,standard,care_tier,region,source\n", true,
                         &rep),
                     HS_E_MALFORMED);
    assert_true(rep.file_error);
    assert_int_equal(rep.nmsgs, 2);
    assert_non_null(strstr(rep.msgs[0].text, "t.csv:1: unknown column 'region'"));
    assert_non_null(strstr(rep.msgs[1].text, "t.csv:1: missing column 'region_code'"));
    hs_import_report_cleanup(&rep);

    /* An unclosed quote. */
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, PROG_HEADER "a,\"x,dibao\n", true, &rep),
                     HS_E_MALFORMED);
    assert_true(rep.file_error);
    hs_import_report_cleanup(&rep);

    /* Too many fields in a row is a row error, not a file error. */
    assert_int_equal(run(e, HS_IMPORT_PROGRAMMES, PROG_HEADER "a,b\n", true, &rep), HS_E_MALFORMED);
    assert_false(rep.file_error);
    assert_string_equal(rep.msgs[0].text, "t.csv:2: has 2 fields; the header has 9");
    hs_import_report_cleanup(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuan),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test_setup_teardown(test_line_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
