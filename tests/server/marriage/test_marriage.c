/* Unit tests of hs_marriage: dates, persons from citizen ID numbers, the rules setter, opening
 * hours, registries and slots, and every refusal of a booking, each boundary from both sides. */
#include "hs/marriage.h"

#include "cl/lds.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/* Every refusal code some test produced; the last test wants all of them. */
static bool seen[HS_MARRIAGE_REFUSAL_COUNT];

static int32_t D(const char *s)
{
    int32_t day = 0;

    if (!hs_marriage_day_parse(s, strlen(s), &day))
        fail_msg("bad test date %s", s);
    return day;
}

/* Local seconds of "HH:MM" on day. */
static int64_t at(int32_t day, const char *hhmm)
{
    int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0'), m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
    return hs_marriage_local_at(day, h * 60 + m);
}

static uint16_t minute(const char *hhmm)
{
    return (uint16_t)(((hhmm[0] - '0') * 10 + (hhmm[1] - '0')) * 60 + (hhmm[3] - '0') * 10 +
                      (hhmm[4] - '0'));
}

/* An ID number: 6-digit region, 8-digit birth date, 3-digit sequence, and its check character. */
static void make_id(char out[19], const char *region, const char *birth, int seq)
{
    snprintf(out, 19, "%.6s%.8s%03d", region, birth, seq % 1000);
    out[17] = cl_cn_id_check_char(out);
    out[18] = '\0';
    assert_true(out[17] != 0);
}

static void person(struct hs_marriage_person *p, const char *region, const char *birth, int seq)
{
    char id[19], err[160];

    make_id(id, region, birth, seq);
    if (hs_marriage_person_from_id(id, 18, p, err, sizeof(err)) != HS_OK)
        fail_msg("person %s: %s", id, err);
}

static void party(struct hs_marriage_party *p, const char *region, const char *birth, int seq,
                  enum hs_marriage_status status)
{
    memset(p, 0, sizeof(*p));
    person(&p->person, region, birth, seq);
    p->status = status;
}

static bool utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u) {
        size_t len = *u < 0x80 ? 1 : (*u & 0xE0) == 0xC0 ? 2 : (*u & 0xF0) == 0xE0 ? 3 : 4;
        for (size_t k = 1; k < len; k++)
            if ((u[k] & 0xC0) != 0x80)
                return false;
        u += len;
    }
    return true;
}

/* No run of 15 or more digits: a message must never show an ID number. */
static bool no_id_number(const char *s)
{
    size_t run = 0;

    for (; *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run >= 15)
            return false;
    }
    return true;
}

static void expect(const struct hs_marriage_verdict *v, enum hs_marriage_refusal want)
{
    if (v->refusal != want)
        fail_msg("want %s, got %s: %s", hs_marriage_refusal_code(want), v->code, v->en);
    assert_string_equal(v->code, hs_marriage_refusal_code(want));
    assert_int_equal(v->ok, want == HS_MARRIAGE_OK);
    if (want == HS_MARRIAGE_OK) {
        assert_string_equal(v->zh, "");
        assert_string_equal(v->en, "");
        return;
    }
    seen[want] = true;
    assert_true(strlen(v->zh) > 10 && strlen(v->zh) < HS_MARRIAGE_MSG_MAX - 1);
    assert_true(strlen(v->en) > 10 && strlen(v->en) < HS_MARRIAGE_MSG_MAX - 1);
    assert_true(utf8_ok(v->zh) && utf8_ok(v->en));
    assert_true(no_id_number(v->zh) && no_id_number(v->en));
}

/* Rules with the defaults; the office of 驿城区 (Zhumadian, Henan 41). */
static struct hs_marriage_rules rules;
static struct hs_marriage_office office;

static void office_make(struct hs_marriage_office *o)
{
    static const char hours[] = "mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00";
    char err[160];

    hs_marriage_office_init(o);
    snprintf(o->id, sizeof(o->id), "zmd-yicheng");
    snprintf(o->name, sizeof(o->name), "驻马店市驿城区婚姻登记处");
    o->region = 411702;
    o->capacity = 4;
    if (hs_marriage_hours_parse(hours, strlen(hours), &o->hours, err, sizeof(err)) != HS_OK ||
        hs_marriage_office_check(o, err, sizeof(err)) != HS_OK)
        fail_msg("office: %s", err);
}

static int setup(void **state)
{
    (void)state;
    hs_marriage_rules_defaults(&rules);
    office_make(&office);
    return 0;
}

/* A request for the couple on day at hh:mm, booked the day before at 09:00. */
static struct hs_marriage_request request(enum hs_marriage_service s,
                                          const struct hs_marriage_party *a,
                                          const struct hs_marriage_party *b, int32_t day,
                                          const char *hhmm)
{
    struct hs_marriage_request q;

    memset(&q, 0, sizeof(q));
    q.service = s;
    q.a = a;
    q.b = b;
    q.day = day;
    q.start = minute(hhmm);
    q.now = at(day - 1, "09:00");
    q.application_day = HS_MARRIAGE_NO_DAY;
    return q;
}

static struct hs_marriage_verdict judge(const struct hs_marriage_request *q)
{
    struct hs_marriage_verdict v;

    if (hs_marriage_check(&rules, q, &v) != HS_OK)
        fail_msg("hs_marriage_check refused the input");
    return v;
}

/* ---- dates -------------------------------------------------------------------------------- */

static void test_dates(void **state)
{
    int32_t day = 7;
    int y, m, d;
    char buf[HS_MARRIAGE_TIME_LEN];

    (void)state;
    assert_true(hs_marriage_day_from_ymd(1970, 1, 1, &day));
    assert_int_equal(day, 0);
    assert_int_equal(hs_marriage_weekday(0), HS_MARRIAGE_THU);
    assert_int_equal(D("1900-01-01"), HS_MARRIAGE_DAY_MIN);
    assert_int_equal(D("2099-12-31"), HS_MARRIAGE_DAY_MAX);
    assert_int_equal(D("2026-05-20"), 20593);
    assert_int_equal(hs_marriage_weekday(D("2026-05-20")), HS_MARRIAGE_WED);
    assert_int_equal(hs_marriage_weekday(D("1900-01-01")), HS_MARRIAGE_MON);
    assert_int_equal(hs_marriage_weekday(D("2099-12-31")), HS_MARRIAGE_THU);
    assert_int_equal(hs_marriage_weekday(HS_MARRIAGE_DAY_MAX + 1), -1);
    assert_int_equal(D("2024-03-01") - D("2024-02-28"), 2); /* leap */
    assert_int_equal(D("2000-03-01") - D("2000-02-28"), 2); /* divisible by 400 */
    assert_int_equal(D("2099-03-01") - D("2099-02-28"), 1);

    /* Every day of the range survives format and parse, and weekdays run on. */
    for (int32_t k = HS_MARRIAGE_DAY_MIN; k <= HS_MARRIAGE_DAY_MAX; k++) {
        char s[HS_MARRIAGE_DATE_LEN];
        assert_true(hs_marriage_day_format(k, s, sizeof(s)));
        assert_true(hs_marriage_day_parse(s, 10, &day));
        assert_int_equal(day, k);
        assert_int_equal(hs_marriage_weekday(k), (int)(((int64_t)k + 3 + 7 * 4000) % 7));
    }

    day = 7;
    static const char *const bad[] = {
        "2026-02-29", "1900-02-29",  "2025-04-31", "2025-13-01",     "2025-00-10",
        "2025-01-00", "1899-12-31",  "2100-01-01", "2026-5-20",      "2026/05/20",
        "20260520",   " 2026-05-20", "2026-05-2a", "２０２６-05-20",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hs_marriage_day_parse(bad[i], strlen(bad[i]), &day))
            fail_msg("'%s' parsed", bad[i]);
    assert_false(hs_marriage_day_parse("2026-05-20 ", 11, &day));
    assert_false(hs_marriage_day_parse("2026-05-20", 9, &day));
    assert_false(hs_marriage_day_parse(NULL, 10, &day));
    assert_false(hs_marriage_day_parse("2026-05\0-20", 10, &day));
    assert_int_equal(day, 7);

    assert_false(hs_marriage_day_from_ymd(2026, 2, 29, &day));
    assert_true(hs_marriage_day_to_ymd(D("2024-02-29"), &y, &m, &d));
    assert_true(y == 2024 && m == 2 && d == 29);
    assert_false(hs_marriage_day_to_ymd(HS_MARRIAGE_DAY_MIN - 1, &y, &m, &d));
    assert_false(hs_marriage_day_format(0, buf, 10)); /* too small */
    assert_string_equal(buf, "");

    /* Local time: unix + 8 h, no time zone consulted. 2026-05-20 00:00 Beijing is
     * 2026-05-19 16:00 UTC = 1779206400. */
    assert_int_equal(hs_marriage_local_time(INT64_C(1779206400)), at(D("2026-05-20"), "00:00"));
    assert_true(hs_marriage_time_format(at(D("2026-05-20"), "08:30"), buf, sizeof(buf)));
    assert_string_equal(buf, "2026-05-20 08:30");
    assert_true(hs_marriage_time_format(HS_MARRIAGE_LOCAL_MIN, buf, sizeof(buf)));
    assert_string_equal(buf, "1900-01-01 00:00");
    assert_false(hs_marriage_time_format(HS_MARRIAGE_LOCAL_MIN - 1, buf, sizeof(buf)));
    assert_false(hs_marriage_time_format(INT64_MAX, buf, sizeof(buf)));
    assert_int_equal(hs_marriage_local_at(0, 1440), 86400);
    assert_int_equal(hs_marriage_local_at(0, 1441), -1);
    assert_int_equal(hs_marriage_local_at(HS_MARRIAGE_DAY_MAX + 1, 0), -1);
    assert_int_equal(hs_marriage_local_time(INT64_MAX), INT64_MAX);
}

/* ---- persons ------------------------------------------------------------------------------ */

static void test_person(void **state)
{
    struct hs_marriage_person p, untouched;
    char id[19], err[160];

    (void)state;
    /* The 17th character decides: odd male, even female, every digit. */
    for (int s = 0; s < 10; s++) {
        person(&p, "110105", "19900315", 120 + s);
        assert_int_equal(p.sex, s % 2 ? HS_MARRIAGE_MALE : HS_MARRIAGE_FEMALE);
    }
    person(&p, "411702", "19900315", 123);
    assert_int_equal(p.birth, D("1990-03-15"));
    assert_int_equal(p.region, 411702);
    assert_int_equal(p.province, 41);
    assert_true(p.mainland);
    assert_int_equal(strlen(p.id), 18);
    assert_memory_equal(p.masked, "411***********", 14);
    assert_string_equal(p.masked + 14, p.id + 14);

    /* A lower-case check 'x' is read as 'X'. */
    for (int s = 0; s < 1000; s++) {
        make_id(id, "110105", "19880808", s);
        if (id[17] == 'X')
            break;
    }
    assert_int_equal(id[17], 'X');
    id[17] = 'x';
    assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_OK);
    assert_int_equal(p.id[17], 'X');

    /* Every failure leaves out as it was and says why, without the number. */
    memset(&untouched, 0x5A, sizeof(untouched));
    p = untouched;
    make_id(id, "411702", "19900315", 123);
    id[17] = id[17] == '0' ? '1' : '0'; /* wrong check character */
    assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_E_MALFORMED);
    assert_non_null(strstr(err, "check character"));
    assert_null(strstr(err, "411702"));
    assert_memory_equal(&p, &untouched, sizeof(p));

    make_id(id, "411702", "19900315", 123);
    assert_int_equal(hs_marriage_person_from_id(id, 17, &p, err, sizeof(err)), HS_E_MALFORMED);
    assert_string_equal(err, "a citizen ID number has 18 characters, not 17");
    assert_int_equal(hs_marriage_person_from_id(id, 0, &p, err, sizeof(err)), HS_E_MALFORMED);

    char with_letter[19];
    memcpy(with_letter, id, 19);
    with_letter[3] = 'A';
    assert_int_equal(hs_marriage_person_from_id(with_letter, 18, &p, err, sizeof(err)),
                     HS_E_MALFORMED);
    assert_non_null(strstr(err, "17 digits"));
    with_letter[3] = id[3];
    with_letter[17] = 'Y';
    assert_int_equal(hs_marriage_person_from_id(with_letter, 18, &p, err, sizeof(err)),
                     HS_E_MALFORMED);

    /* An impossible birth date with a correct check character. */
    make_id(id, "411702", "20230229", 123);
    assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_E_MALFORMED);
    assert_non_null(strstr(err, "birth date"));
    make_id(id, "411702", "18991231", 123);
    assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_E_MALFORMED);

    /* Province codes: 00, 24, 71 and 9 with 90 name no issuing province. */
    static const char *const no_province[] = { "000000", "240101", "710000", "990000" };
    for (size_t i = 0; i < 4; i++) {
        make_id(id, no_province[i], "19900315", 123);
        assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_E_MALFORMED);
        assert_non_null(strstr(err, "province code"));
    }
    assert_memory_equal(&p, &untouched, sizeof(p));

    /* Hong Kong, Macao and Taiwan residence permits, the foreign permanent resident card. */
    static const char *const permits[] = { "810000", "820000", "830000", "931840" };
    for (size_t i = 0; i < 4; i++) {
        make_id(id, permits[i], "19900315", 123);
        assert_int_equal(hs_marriage_person_from_id(id, 18, &p, err, sizeof(err)), HS_OK);
        assert_false(p.mainland);
    }
    assert_int_equal(hs_marriage_person_from_id(NULL, 18, &p, err, sizeof(err)), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_person_from_id(id, 18, NULL, err, sizeof(err)), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_person_from_id(id, 18, &p, NULL, 0), HS_OK);
}

static void test_age(void **state)
{
    struct hs_marriage_person p;

    (void)state;
    person(&p, "411702", "20040520", 131);
    assert_int_equal(hs_marriage_age(&p, D("2026-05-19")), 21); /* the day before */
    assert_int_equal(hs_marriage_age(&p, D("2026-05-20")), 22); /* the birthday */
    assert_int_equal(hs_marriage_age(&p, D("2004-05-20")), 0);
    assert_int_equal(hs_marriage_age(&p, D("2004-05-19")), -1);
    assert_int_equal(hs_marriage_age(&p, HS_MARRIAGE_DAY_MAX + 1), -1);
    assert_int_equal(hs_marriage_birthday(&p, 22), D("2026-05-20"));
    assert_int_equal(hs_marriage_birthday(&p, 0), p.birth);
    assert_int_equal(hs_marriage_birthday(&p, 96), HS_MARRIAGE_NO_DAY); /* 2100 */
    assert_int_equal(hs_marriage_birthday(&p, -1), HS_MARRIAGE_NO_DAY);

    /* Born on 29 February: a year older on 1 March in other years, on 29 February in leap
     * years. */
    person(&p, "411702", "20040229", 131);
    assert_int_equal(hs_marriage_age(&p, D("2026-02-28")), 21);
    assert_int_equal(hs_marriage_age(&p, D("2026-03-01")), 22);
    assert_int_equal(hs_marriage_age(&p, D("2028-02-28")), 23);
    assert_int_equal(hs_marriage_age(&p, D("2028-02-29")), 24);
    assert_int_equal(hs_marriage_birthday(&p, 22), D("2026-03-01"));
    assert_int_equal(hs_marriage_birthday(&p, 24), D("2028-02-29"));
    assert_int_equal(hs_marriage_birthday(&p, 96), HS_MARRIAGE_NO_DAY); /* 2100: no 1 March */
    assert_int_equal(hs_marriage_age(NULL, 0), -1);
}

static void test_services(void **state)
{
    enum hs_marriage_service s;

    (void)state;
    for (int i = HS_MARRIAGE_SVC_MARRIAGE; i <= HS_MARRIAGE_SVC_COUNT; i++) {
        const char *name = hs_marriage_service_name((enum hs_marriage_service)i);
        assert_true(hs_marriage_service_parse(name, strlen(name), &s));
        assert_int_equal(s, i);
        assert_string_not_equal(hs_marriage_service_name_zh(s), "?");
        assert_string_not_equal(hs_marriage_service_name_en(s), "?");
    }
    assert_int_equal(hs_marriage_service_parties(HS_MARRIAGE_SVC_MARRIAGE), 2);
    assert_int_equal(hs_marriage_service_parties(HS_MARRIAGE_SVC_REISSUE), 1);
    assert_int_equal(hs_marriage_service_parties((enum hs_marriage_service)0), 0);
    assert_string_equal(hs_marriage_service_name((enum hs_marriage_service)99), "?");
    assert_false(hs_marriage_service_parse("Marriage", 8, &s));
    assert_false(hs_marriage_service_parse("marriag", 7, &s));
    assert_false(hs_marriage_service_parse("marriage", 9, &s));
}

/* ---- rules -------------------------------------------------------------------------------- */

static void rule_bad(const char *key, const char *value, const char *want_err)
{
    struct hs_marriage_rules r, before;
    char err[200];

    hs_marriage_rules_defaults(&r);
    before = r;
    if (hs_marriage_rules_set(&r, key, value, err, sizeof(err)) != HS_E_CONFIG)
        fail_msg("%s = '%s' was accepted", key, value);
    assert_memory_equal(&r, &before, sizeof(r));
    if (want_err)
        assert_string_equal(err, want_err);
    else
        assert_true(strlen(err) > 0);
}

static void test_rules(void **state)
{
    struct hs_marriage_rules r;
    char err[200];

    (void)state;
    hs_marriage_rules_defaults(&r);
    assert_int_equal(r.min_age_male, 22);
    assert_int_equal(r.min_age_female, 20);
    assert_true(r.require_opposite_sex);
    assert_int_equal(r.cooling_off_days, 30);
    assert_int_equal(r.confirm_window_days, 30);
    assert_true(r.extend_over_closed);
    assert_int_equal(r.book_ahead_days, 30);
    assert_int_equal(r.cancel_until_hours, 24);
    assert_int_equal(r.no_show_limit, 2);
    assert_int_equal(r.no_show_period_days, 180);
    assert_int_equal(r.no_show_ban_days, 90);
    assert_int_equal(r.max_active_bookings, 1);
    assert_int_equal(hs_marriage_rules_check(&r, err, sizeof(err)), HS_OK);

    assert_int_equal(hs_marriage_rules_set(&r, "min_age_male", "18", err, sizeof(err)), HS_OK);
    assert_int_equal(r.min_age_male, 18);
    assert_int_equal(hs_marriage_rules_set(&r, "require_opposite_sex", "false", err, sizeof(err)),
                     HS_OK);
    assert_false(r.require_opposite_sex);
    assert_int_equal(hs_marriage_rules_set(&r, "no_show_limit", "0", err, sizeof(err)), HS_OK);
    assert_int_equal(r.no_show_limit, 0);
    assert_int_equal(hs_marriage_rules_set(&r, "book_ahead_days", "365", err, sizeof(err)), HS_OK);

    rule_bad("min_age_male", "2x",
             "min_age_male in [marriage] must be a whole number from 16 to 40, not '2x'");
    rule_bad("min_age_male", "41", NULL);
    rule_bad("min_age_male", "15", NULL);
    rule_bad("min_age_male", "", NULL);
    rule_bad("min_age_male", "-22", NULL);
    rule_bad("min_age_male", "+22", NULL);
    rule_bad("min_age_male", " 22", NULL);
    rule_bad("min_age_male", "22 ", NULL);
    rule_bad("min_age_male", "022", NULL);
    rule_bad("min_age_male", "22.0", NULL);
    rule_bad("min_age_male", "0x16", NULL);
    rule_bad("min_age_male", "99999999999999999999", NULL);
    rule_bad("min_age_male", "２２", NULL);
    rule_bad("confirm_window_days", "0", NULL);
    rule_bad("no_show_limit", "17", NULL);
    rule_bad("require_opposite_sex", "yes",
             "require_opposite_sex in [marriage] must be true or false, not 'yes'");
    rule_bad("require_opposite_sex", "TRUE", NULL);
    rule_bad("min_age", "22", "unknown key 'min_age' in [marriage]");
    rule_bad("Min_age_male", "22", NULL);
    rule_bad("min_age_male ", "22", NULL);
    /* A hostile value is quoted safely and shortly. */
    rule_bad("cooling_off_days", "\x1b[31m0123456789012345678901234567890123456789",
             "cooling_off_days in [marriage] must be a whole number from 0 to 180, not "
             "'?[31m012345678901234567890123456...'");

    /* Lines as in the [marriage] section. */
    hs_marriage_rules_defaults(&r);
    static const char l1[] = "min_age_female = 21";
    assert_int_equal(hs_marriage_rules_set_line(&r, l1, strlen(l1), err, sizeof(err)), HS_OK);
    assert_int_equal(r.min_age_female, 21);
    static const char l2[] = " \tcancel_until_hours\t=\t48  \r";
    assert_int_equal(hs_marriage_rules_set_line(&r, l2, strlen(l2), err, sizeof(err)), HS_OK);
    assert_int_equal(r.cancel_until_hours, 48);
    static const char l3[] = "no_show_ban_days=30";
    assert_int_equal(hs_marriage_rules_set_line(&r, l3, strlen(l3), err, sizeof(err)), HS_OK);
    assert_int_equal(r.no_show_ban_days, 30);
    struct hs_marriage_rules before = r;
    static const char *const comments[] = { "", "   ", "# min_age_male = 99", "; x", "\r" };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(
            hs_marriage_rules_set_line(&r, comments[i], strlen(comments[i]), err, sizeof(err)),
            HS_OK);
    assert_memory_equal(&r, &before, sizeof(r));

    static const char *const bad_lines[] = {
        "min_age_male",       "= 22",  "min_age_male = ",     "min_age_male = 22 # x",
        "min_age_male == 22", "x = 1", "min_age_male = 2\t2", "min_age_male = 22\n",
    };
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        if (hs_marriage_rules_set_line(&r, bad_lines[i], strlen(bad_lines[i]), err, sizeof(err)) !=
            HS_E_CONFIG)
            fail_msg("line '%s' was accepted", bad_lines[i]);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(hs_marriage_rules_set_line(&r,
                                                "min_age_male = 2\0"
                                                "2",
                                                18, err, sizeof(err)),
                     HS_E_CONFIG);
    assert_string_equal(err, "position 17: control byte 0x00 in the line");
    char longline[HS_MARRIAGE_MAX_LINE + 2];
    memset(longline, ' ', sizeof(longline));
    memcpy(longline, "min_age_male = 22", 17);
    assert_int_equal(
        hs_marriage_rules_set_line(&r, longline, HS_MARRIAGE_MAX_LINE, err, sizeof(err)), HS_OK);
    assert_int_equal(
        hs_marriage_rules_set_line(&r, longline, HS_MARRIAGE_MAX_LINE + 1, err, sizeof(err)),
        HS_E_CONFIG);
    assert_memory_equal(&r, &before, sizeof(r));
    assert_int_equal(hs_marriage_rules_set_line(NULL, l1, strlen(l1), err, sizeof(err)),
                     HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_rules_set(&r, NULL, "1", err, sizeof(err)), HS_E_INVALID_ARG);

    /* A struct filled by hand is checked field by field. */
    r.max_active_bookings = 0;
    assert_int_equal(hs_marriage_rules_check(&r, err, sizeof(err)), HS_E_CONFIG);
    assert_string_equal(err, "max_active_bookings must be from 1 to 10, not 0");
    assert_int_equal(hs_marriage_rules_check(NULL, err, sizeof(err)), HS_E_INVALID_ARG);
}

/* ---- opening hours ------------------------------------------------------------------------ */

static void hours_bad(const char *text, hs_rc want, const char *want_err)
{
    struct hs_marriage_hours h, before;
    char err[200];

    memset(&h, 0x33, sizeof(h));
    before = h;
    if (hs_marriage_hours_parse(text, strlen(text), &h, err, sizeof(err)) != want)
        fail_msg("'%s': want %s, err '%s'", text, hs_rc_name(want), err);
    assert_memory_equal(&h, &before, sizeof(h));
    if (strcmp(err, want_err) != 0)
        fail_msg("'%s': want '%s', got '%s'", text, want_err, err);
}

static void test_hours(void **state)
{
    struct hs_marriage_hours h;
    struct hs_marriage_day_hours dh;
    char err[200];

    (void)state;
    static const char t1[] = "mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00";
    assert_int_equal(hs_marriage_hours_parse(t1, strlen(t1), &h, err, sizeof(err)), HS_OK);
    for (int d = HS_MARRIAGE_MON; d <= HS_MARRIAGE_FRI; d++) {
        assert_int_equal(h.day[d].n, 2);
        assert_int_equal(h.day[d].r[0].start, 510);
        assert_int_equal(h.day[d].r[0].end, 720);
        assert_int_equal(h.day[d].r[1].start, 870);
        assert_int_equal(h.day[d].r[1].end, 1050);
    }
    assert_int_equal(h.day[HS_MARRIAGE_SAT].n, 1);
    assert_int_equal(h.day[HS_MARRIAGE_SAT].r[0].start, 540);
    assert_int_equal(h.day[HS_MARRIAGE_SUN].n, 0);

    /* Blanks around separators, day lists, 24:00 as an end, ranges that touch. */
    static const char t2[] =
        "  mon , wed - thu\t09:00 - 12:00 , 12:00-13:00 ;sun 00:00-24:00 ; fri 10:00-11:00  ";
    assert_int_equal(hs_marriage_hours_parse(t2, strlen(t2), &h, err, sizeof(err)), HS_OK);
    assert_int_equal(h.day[HS_MARRIAGE_MON].n, 2);
    assert_int_equal(h.day[HS_MARRIAGE_TUE].n, 0);
    assert_int_equal(h.day[HS_MARRIAGE_WED].n, 2);
    assert_int_equal(h.day[HS_MARRIAGE_THU].r[1].end, 780);
    assert_int_equal(h.day[HS_MARRIAGE_SUN].r[0].end, 1440);
    assert_int_equal(h.day[HS_MARRIAGE_FRI].n, 1);

    /* Eight ranges fit; a ninth does not. */
    static const char t8[] = "mon 01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00,"
                             "11:00-12:00,13:00-14:00,15:00-16:00";
    assert_int_equal(hs_marriage_hours_parse(t8, strlen(t8), &h, err, sizeof(err)), HS_OK);
    assert_int_equal(h.day[HS_MARRIAGE_MON].n, 8);
    hours_bad("mon 01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00,"
              "11:00-12:00,13:00-14:00,15:00-16:00,17:00-18:00",
              HS_E_TOO_LARGE, "position 101: more than 8 ranges in a day");

    hours_bad("", HS_E_MALFORMED,
              "position 1: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found the "
              "end of the text");
    hours_bad("   ", HS_E_MALFORMED,
              "position 4: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found the "
              "end of the text");
    hours_bad("mon-fri 8:30-12:00", HS_E_MALFORMED,
              "position 10: expected a time HH:MM (two digits each), found ':'");
    hours_bad("mon-fri 08:30-12:00; sat 09:00-12:00;", HS_E_MALFORMED,
              "position 38: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found the "
              "end of the text");
    hours_bad("mon-fri 08:30-12:00;; sat 09:00-12:00", HS_E_MALFORMED,
              "position 21: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found ';'");
    hours_bad("fri-mon 09:00-10:00", HS_E_MALFORMED,
              "position 1: a day range must go forward (mon-fri, not fri-mon)");
    hours_bad("mon,wed,fri 09:00-16:00; tue-thu 09:00-11:00", HS_E_MALFORMED,
              "position 26: wed is given twice");
    hours_bad("mon-fri 09:00-16:00; fri 09:00-11:00", HS_E_MALFORMED,
              "position 22: fri is given twice");
    hours_bad("mon,mon 09:00-16:00", HS_E_MALFORMED, "position 5: mon is given twice");
    hours_bad("mon 12:00-09:00", HS_E_MALFORMED, "position 5: a range must end after it starts");
    hours_bad("mon 09:00-09:00", HS_E_MALFORMED, "position 5: a range must end after it starts");
    hours_bad("mon 09:00-12:00,11:00-13:00", HS_E_MALFORMED,
              "position 17: ranges must be in order and must not overlap");
    hours_bad("mon 14:00-15:00,09:00-10:00", HS_E_MALFORMED,
              "position 17: ranges must be in order and must not overlap");
    hours_bad("mon 24:00-24:00", HS_E_MALFORMED, "position 5: 24:00 can only end a range");
    hours_bad("mon 09:00-24:01", HS_E_MALFORMED,
              "position 11: 24:01 is not a time of day (00:00-24:00)");
    hours_bad("mon 09:60-10:00", HS_E_MALFORMED,
              "position 5: 09:60 is not a time of day (00:00-24:00)");
    hours_bad("mon 25:00-26:00", HS_E_MALFORMED,
              "position 5: 25:00 is not a time of day (00:00-24:00)");
    hours_bad("monday 09:00-10:00", HS_E_MALFORMED,
              "position 4: expected ',' or '-' and a weekday, or a space and the times, found "
              "'d'");
    hours_bad("mon09:00-10:00", HS_E_MALFORMED,
              "position 4: expected ',' or '-' and a weekday, or a space and the times, found "
              "'0'");
    hours_bad("Mon 09:00-10:00", HS_E_MALFORMED,
              "position 1: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found 'M'");
    hours_bad("mon 09:00–12:00", HS_E_MALFORMED, /* an en dash */
              "position 10: expected '-' between the start and the end of a range, found byte "
              "0xE2");
    hours_bad("mon 09.00-12:00", HS_E_MALFORMED,
              "position 7: expected ':' between hours and minutes, found '.'");
    hours_bad("mon 09:00", HS_E_MALFORMED,
              "position 10: expected '-' between the start and the end of a range, found the end "
              "of the text");
    hours_bad("mon 09:00-12:00 sat 09:00-10:00", HS_E_MALFORMED,
              "position 17: expected ',' and another range, or ';' and the next weekdays, found "
              "'s'");
    hours_bad("mo", HS_E_MALFORMED,
              "position 1: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found 'm'");
    hours_bad("mon-", HS_E_MALFORMED,
              "position 5: expected a weekday (mon, tue, wed, thu, fri, sat or sun), found the "
              "end of the text");

    /* Bytes after a NUL are still text: the NUL itself is refused. */
    memset(&h, 0, sizeof(h));
    assert_int_equal(
        hs_marriage_hours_parse("mon 09:00-10:00\0; tue 09:00-10:00", 33, &h, err, sizeof(err)),
        HS_E_MALFORMED);
    assert_string_equal(err, "position 16: expected ',' and another range, or ';' and the next "
                             "weekdays, found byte 0x00");

    char big[HS_MARRIAGE_MAX_HOURS + 1];
    memset(big, ' ', sizeof(big));
    memcpy(big, "mon 09:00-10:00", 15);
    assert_int_equal(hs_marriage_hours_parse(big, HS_MARRIAGE_MAX_HOURS, &h, err, sizeof(err)),
                     HS_OK);
    assert_int_equal(hs_marriage_hours_parse(big, sizeof(big), &h, err, sizeof(err)),
                     HS_E_TOO_LARGE);
    assert_string_equal(err, "the opening hours are longer than 1024 bytes");
    assert_int_equal(hs_marriage_hours_parse(NULL, 5, &h, err, sizeof(err)), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_hours_parse(t1, strlen(t1), NULL, err, sizeof(err)),
                     HS_E_INVALID_ARG);
    /* A tiny error buffer is still terminated. */
    assert_int_equal(hs_marriage_hours_parse("x", 1, &h, err, 8), HS_E_MALFORMED);
    assert_string_equal(err, "positio");

    /* One day's ranges, for special dates. */
    static const char d1[] = " 09:00-12:00, 14:00-17:00 ";
    assert_int_equal(hs_marriage_day_hours_parse(d1, strlen(d1), &dh, err, sizeof(err)), HS_OK);
    assert_int_equal(dh.n, 2);
    assert_int_equal(dh.r[1].end, 1020);
    assert_int_equal(hs_marriage_day_hours_parse("09:00-12:00;", 12, &dh, err, sizeof(err)),
                     HS_E_MALFORMED);
    assert_string_equal(err, "position 12: expected ',' and another range, or the end of the "
                             "text, found ';'");
    assert_int_equal(hs_marriage_day_hours_parse("mon 09:00-12:00", 15, &dh, err, sizeof(err)),
                     HS_E_MALFORMED);
    assert_int_equal(hs_marriage_day_hours_parse("", 0, &dh, err, sizeof(err)), HS_E_MALFORMED);
}

/* ---- offices ------------------------------------------------------------------------------ */

static void office_bad(void (*spoil)(struct hs_marriage_office *), const char *want)
{
    struct hs_marriage_office o;
    char err[200];

    office_make(&o);
    spoil(&o);
    assert_int_equal(hs_marriage_office_check(&o, err, sizeof(err)), HS_E_INVALID_ARG);
    if (!strstr(err, want))
        fail_msg("want '%s' in '%s'", want, err);
}

static void spoil_id(struct hs_marriage_office *o)
{
    snprintf(o->id, sizeof(o->id), "zmd yicheng");
}
static void spoil_id_empty(struct hs_marriage_office *o)
{
    o->id[0] = '\0';
}
static void spoil_id_unterminated(struct hs_marriage_office *o)
{
    memset(o->id, 'a', sizeof(o->id));
}
static void spoil_name(struct hs_marriage_office *o)
{
    memcpy(o->name, "\xE9\xA9", 3); /* a cut UTF-8 character */
}
static void spoil_name_control(struct hs_marriage_office *o)
{
    snprintf(o->name, sizeof(o->name), "登记处\n");
}
static void spoil_region(struct hs_marriage_office *o)
{
    o->region = 810000;
}
static void spoil_services(struct hs_marriage_office *o)
{
    o->services = 0;
}
static void spoil_services_unknown(struct hs_marriage_office *o)
{
    o->services |= 1u << 9;
}
static void spoil_slot(struct hs_marriage_office *o)
{
    o->slot_minutes = 4;
}
static void spoil_capacity(struct hs_marriage_office *o)
{
    o->capacity = 0;
}
static void spoil_hours(struct hs_marriage_office *o)
{
    o->hours.day[HS_MARRIAGE_TUE].r[0].end = 1441;
}
static void spoil_hours_n(struct hs_marriage_office *o)
{
    o->hours.day[HS_MARRIAGE_SUN].n = HS_MARRIAGE_MAX_RANGES + 1;
}
static void spoil_closures(struct hs_marriage_office *o)
{
    o->n_closures = 2;
    o->closures[0] = o->closures[1] = D("2026-10-01");
}
static void spoil_closure_count(struct hs_marriage_office *o)
{
    o->n_closures = HS_MARRIAGE_MAX_CLOSURES + 1;
}
static void spoil_special(struct hs_marriage_office *o)
{
    o->n_special = 1;
    o->special[0].day = D("2026-05-20");
    o->special[0].capacity = 0;
}
static void spoil_special_closed(struct hs_marriage_office *o)
{
    o->n_closures = 1;
    o->closures[0] = D("2026-05-20");
    o->n_special = 1;
    o->special[0].day = D("2026-05-20");
    o->special[0].capacity = 5;
}

static void test_office_check(void **state)
{
    struct hs_marriage_office o;
    struct hs_marriage_special s;
    char err[200];

    (void)state;
    office_bad(spoil_id, "the office id may hold only");
    office_bad(spoil_id_empty, "the office id must be 1 to 31 bytes");
    office_bad(spoil_id_unterminated, "the office id must be 1 to 31 bytes");
    office_bad(spoil_name, "the name must be");
    office_bad(spoil_name_control, "the name must be");
    office_bad(spoil_region, "mainland province");
    office_bad(spoil_services, "services");
    office_bad(spoil_services_unknown, "services");
    office_bad(spoil_slot, "slots must be 5 to 240 minutes, not 4");
    office_bad(spoil_capacity, "capacity must be 1 to 999, not 0");
    office_bad(spoil_hours, "the hours of tue are not in order");
    office_bad(spoil_hours_n, "the hours of sun");
    office_bad(spoil_closures, "closure 2 (2026-10-01) is given twice");
    office_bad(spoil_closure_count, "more than 64");
    office_bad(spoil_special, "special date 1: the capacity of a special date must be 1 to 999");
    office_bad(spoil_special_closed, "special date 1 (2026-05-20) is also a closure");

    /* The add functions keep the rules and the caps. */
    office_make(&o);
    assert_int_equal(hs_marriage_office_add_closure(&o, D("2026-10-01"), err, sizeof(err)), HS_OK);
    assert_int_equal(hs_marriage_office_add_closure(&o, D("2026-10-01"), err, sizeof(err)),
                     HS_E_CONFLICT);
    assert_string_equal(err, "2026-10-01 is a closure or special date already");
    assert_int_equal(hs_marriage_office_add_closure(&o, HS_MARRIAGE_DAY_MAX + 1, err, sizeof(err)),
                     HS_E_INVALID_ARG);
    for (int i = 1; i < HS_MARRIAGE_MAX_CLOSURES; i++)
        assert_int_equal(hs_marriage_office_add_closure(&o, D("2027-01-01") + i, err, sizeof(err)),
                         HS_OK);
    assert_int_equal(o.n_closures, HS_MARRIAGE_MAX_CLOSURES);
    assert_int_equal(hs_marriage_office_add_closure(&o, D("2028-01-01"), err, sizeof(err)),
                     HS_E_TOO_LARGE);
    assert_int_equal(o.n_closures, HS_MARRIAGE_MAX_CLOSURES);
    assert_int_equal(hs_marriage_office_check(&o, err, sizeof(err)), HS_OK);

    memset(&s, 0, sizeof(s));
    s.day = D("2026-10-01");
    s.capacity = 10;
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_E_CONFLICT);
    s.day = D("2026-05-20");
    s.opens_at = at(D("2026-05-21"), "00:00"); /* after the day: never bookable */
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_E_INVALID_ARG);
    assert_string_equal(err, "booking for a special date must open before the day ends");
    s.opens_at = at(D("2026-05-13"), "00:00");
    s.capacity = HS_MARRIAGE_MAX_CAPACITY + 1;
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_E_INVALID_ARG);
    s.capacity = 12;
    for (int i = 0; i < HS_MARRIAGE_MAX_SPECIAL; i++) {
        assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_OK);
        assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_E_CONFLICT);
        s.day += 1;
        s.opens_at = 0;
    }
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_E_TOO_LARGE);
    assert_int_equal(o.n_special, HS_MARRIAGE_MAX_SPECIAL);
    assert_int_equal(hs_marriage_office_check(&o, err, sizeof(err)), HS_OK);
}

static size_t slots_of(const struct hs_marriage_office *o, const char *day,
                       struct hs_marriage_slot *out)
{
    size_t n = 99;

    assert_int_equal(hs_marriage_office_slots(o, D(day), out, HS_MARRIAGE_MAX_SLOTS, &n), HS_OK);
    return n;
}

static void test_slots(void **state)
{
    struct hs_marriage_office o;
    struct hs_marriage_slot sl[HS_MARRIAGE_MAX_SLOTS];
    struct hs_marriage_special s;
    char err[200];
    size_t n;

    (void)state;
    office_make(&o);
    /* A Wednesday: 08:30-12:00 (7 slots), 14:30-17:30 (6 slots), 4 per slot. */
    n = slots_of(&o, "2026-05-20", sl);
    assert_int_equal(n, 13);
    assert_int_equal(sl[0].start, 510);
    assert_int_equal(sl[0].end, 540);
    assert_int_equal(sl[6].start, 690);
    assert_int_equal(sl[6].end, 720);
    assert_int_equal(sl[7].start, 870);
    assert_int_equal(sl[12].end, 1050);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sl[i].capacity, 4);
    assert_int_equal(slots_of(&o, "2026-05-23", sl), 6); /* Saturday morning */
    assert_int_equal(slots_of(&o, "2026-05-24", sl), 0); /* Sunday */

    /* A closure (National Day, a Thursday) has none. */
    assert_int_equal(slots_of(&o, "2026-10-01", sl), 13);
    assert_int_equal(hs_marriage_office_add_closure(&o, D("2026-10-01"), err, sizeof(err)), HS_OK);
    assert_int_equal(slots_of(&o, "2026-10-01", sl), 0);
    assert_int_equal(slots_of(&o, "2026-10-02", sl), 13);

    /* 5月20日: 12 per slot, the usual hours. */
    memset(&s, 0, sizeof(s));
    s.day = D("2026-05-20");
    s.capacity = 12;
    s.opens_at = at(D("2026-05-13"), "00:00");
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_OK);
    n = slots_of(&o, "2026-05-20", sl);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sl[i].capacity, 12);
    assert_int_equal(slots_of(&o, "2026-05-21", sl), 13);
    assert_int_equal(sl[0].capacity, 4);

    /* A Sunday opened specially (own hours), 6 per slot. */
    s.day = D("2026-05-17");
    s.capacity = 6;
    s.opens_at = 0;
    assert_int_equal(hs_marriage_day_hours_parse("09:00-11:00", 11, &s.hours, err, sizeof(err)),
                     HS_OK);
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_OK);
    n = slots_of(&o, "2026-05-17", sl);
    assert_int_equal(n, 4);
    assert_int_equal(sl[3].end, 660);
    assert_int_equal(sl[3].capacity, 6);

    /* 40-minute slots: 08:30-12:00 is 210 minutes, 5 slots and 10 minutes left out. */
    o.slot_minutes = 40;
    n = slots_of(&o, "2026-05-21", sl);
    assert_int_equal(n, 5 + 4);
    assert_int_equal(sl[4].end, 710);
    assert_int_equal(sl[5].start, 870);

    /* The caller's array is too small: an error, not a cut list. */
    n = 99;
    assert_int_equal(hs_marriage_office_slots(&o, D("2026-05-21"), sl, 8, &n), HS_E_TOO_LARGE);
    assert_int_equal(n, 0);
    assert_int_equal(hs_marriage_office_slots(&o, D("2026-05-21"), sl, 9, &n), HS_OK);
    assert_int_equal(hs_marriage_office_slots(&o, HS_MARRIAGE_DAY_MAX + 1, sl, 9, &n),
                     HS_E_INVALID_ARG);
    o.capacity = 0;
    assert_int_equal(hs_marriage_office_slots(&o, D("2026-05-21"), sl, 9, &n), HS_E_INVALID_ARG);

    /* 5-minute slots all day every day: the cap holds. */
    static const char all[] = "mon-sun 00:00-24:00";
    office_make(&o);
    o.slot_minutes = HS_MARRIAGE_SLOT_MIN;
    assert_int_equal(hs_marriage_hours_parse(all, strlen(all), &o.hours, err, sizeof(err)), HS_OK);
    assert_int_equal(slots_of(&o, "2026-05-21", sl), HS_MARRIAGE_MAX_SLOTS);
}

static void test_booking_window(void **state)
{
    struct hs_marriage_office o;
    struct hs_marriage_special s;
    char err[200];
    int64_t opens = 0;
    bool open = true;
    int32_t day = D("2026-06-19");

    (void)state;
    office_make(&o);
    /* The usual window: 30 days ahead at 00:00. */
    assert_int_equal(hs_marriage_booking_opens(&rules, &o, day, &opens), HS_OK);
    assert_int_equal(opens, at(D("2026-05-20"), "00:00"));
    assert_int_equal(hs_marriage_booking_open(&rules, &o, day, opens - 1, &open), HS_OK);
    assert_false(open);
    assert_int_equal(hs_marriage_booking_open(&rules, &o, day, opens, &open), HS_OK);
    assert_true(open);
    assert_int_equal(hs_marriage_booking_open(&rules, NULL, day, at(day, "23:59"), &open), HS_OK);
    assert_true(open);
    assert_int_equal(hs_marriage_booking_open(&rules, NULL, day, at(day + 1, "00:00"), &open),
                     HS_OK);
    assert_false(open);

    /* 5月20日 opens 7 days before at 00:00. */
    memset(&s, 0, sizeof(s));
    s.day = D("2026-05-20");
    s.capacity = 12;
    s.opens_at = at(D("2026-05-13"), "00:00");
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_OK);
    assert_int_equal(hs_marriage_booking_opens(&rules, &o, s.day, &opens), HS_OK);
    assert_int_equal(opens, s.opens_at);
    assert_int_equal(hs_marriage_booking_open(&rules, &o, s.day, s.opens_at - 1, &open), HS_OK);
    assert_false(open);
    assert_int_equal(hs_marriage_booking_open(&rules, &o, s.day, s.opens_at, &open), HS_OK);
    assert_true(open);
    /* Without the office the usual window applies. */
    assert_int_equal(hs_marriage_booking_opens(&rules, NULL, s.day, &opens), HS_OK);
    assert_int_equal(opens, at(D("2026-04-20"), "00:00"));

    assert_int_equal(hs_marriage_booking_open(&rules, &o, s.day, INT64_MAX, &open),
                     HS_E_INVALID_ARG);
    struct hs_marriage_rules bad = rules;
    bad.book_ahead_days = -1;
    assert_int_equal(hs_marriage_booking_opens(&bad, &o, s.day, &opens), HS_E_INVALID_ARG);
}

static void test_competence(void **state)
{
    struct hs_marriage_office o;
    struct hs_marriage_party henan, beijing, beijing2, hk;
    bool ok = false;

    (void)state;
    office_make(&o); /* Henan (41), no cross-province service */
    party(&henan, "411702", "19950101", 131, HS_MARRIAGE_SINGLE);
    party(&beijing, "110105", "19960202", 142, HS_MARRIAGE_SINGLE);
    party(&beijing2, "110108", "19940303", 151, HS_MARRIAGE_SINGLE);
    party(&hk, "810000", "19940303", 162, HS_MARRIAGE_SINGLE);

    assert_int_equal(hs_marriage_office_competent(&o, &henan, &beijing, &ok), HS_OK);
    assert_true(ok);
    assert_int_equal(hs_marriage_office_competent(&o, &beijing, &henan, &ok), HS_OK);
    assert_true(ok);
    assert_int_equal(hs_marriage_office_competent(&o, &beijing, &beijing2, &ok), HS_OK);
    assert_false(ok);
    assert_int_equal(hs_marriage_office_competent(&o, &henan, NULL, &ok), HS_OK);
    assert_true(ok);
    assert_int_equal(hs_marriage_office_competent(&o, &beijing, NULL, &ok), HS_OK);
    assert_false(ok);

    /* The household registration, when the registry knows it, beats the ID number's region. */
    beijing.hukou_region = 411302; /* moved to Nanyang, Henan */
    assert_int_equal(hs_marriage_office_competent(&o, &beijing, &beijing2, &ok), HS_OK);
    assert_true(ok);
    henan.hukou_region = 320105; /* moved to Nanjing */
    assert_int_equal(hs_marriage_office_competent(&o, &henan, &beijing2, &ok), HS_OK);
    assert_false(ok);
    henan.hukou_region = 810000; /* not a mainland household registration */
    assert_int_equal(hs_marriage_office_competent(&o, &henan, &beijing2, &ok), HS_E_INVALID_ARG);
    henan.hukou_region = 0;

    /* 跨省通办: any mainland province, still only mainland residents. */
    o.cross_province = true;
    assert_int_equal(hs_marriage_office_competent(&o, &beijing2, &beijing2, &ok), HS_OK);
    assert_true(ok);
    assert_int_equal(hs_marriage_office_competent(&o, &henan, &hk, &ok), HS_OK);
    assert_false(ok);

    assert_int_equal(hs_marriage_office_competent(&o, NULL, &hk, &ok), HS_E_INVALID_ARG);
    o.region = 0;
    assert_int_equal(hs_marriage_office_competent(&o, &henan, &hk, &ok), HS_E_INVALID_ARG);
}

/* ---- verdicts ----------------------------------------------------------------------------- */

static struct hs_marriage_party man, woman;

static void couple(void)
{
    party(&man, "411702", "19950610", 131, HS_MARRIAGE_SINGLE);
    party(&woman, "110105", "19970815", 142, HS_MARRIAGE_DIVORCED);
}

static void test_marriage_standing(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    struct hs_marriage_party other;
    int32_t day = D("2026-05-21");

    (void)state;
    couple();
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, day, "09:00");
    q.office = &office;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    assert_int_equal(v.from_day, HS_MARRIAGE_NO_DAY);

    /* The same ID number twice. */
    q.b = &man;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_SAME_PERSON);
    assert_int_equal(v.party, 0);

    /* Two men: refused under the current rule, accepted when the bureau's rule changes. */
    party(&other, "411702", "19930101", 151, HS_MARRIAGE_SINGLE);
    q.b = &other;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_MAN_AND_WOMAN);
    assert_non_null(strstr(v.zh, "男女双方"));
    rules.require_opposite_sex = false;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.require_opposite_sex = true;

    /* Married on record: refused, with the party named; divorced and widowed may marry. */
    q.b = &woman;
    woman.status = HS_MARRIAGE_MARRIED;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_ALREADY_MARRIED);
    assert_int_equal(v.party, 2);
    assert_non_null(strstr(v.zh, "女方现有配偶"));
    man.status = HS_MARRIAGE_MARRIED;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_ALREADY_MARRIED);
    assert_int_equal(v.party, 1);
    man.status = HS_MARRIAGE_WIDOWED;
    woman.status = HS_MARRIAGE_DIVORCED;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);

    /* A Hong Kong resident goes to the counter. */
    party(&other, "810000", "19970815", 142, HS_MARRIAGE_SINGLE);
    q.b = &other;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_MAINLAND);
    assert_int_equal(v.party, 2);
}

static void test_under_age(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    int32_t day = D("2026-05-21"); /* a Thursday */

    (void)state;
    couple();
    /* The man turns 22 on the appointment day: allowed; a day later: refused, told when. */
    party(&man, "411702", "20040521", 131, HS_MARRIAGE_SINGLE);
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, day, "09:00");
    q.office = &office;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    party(&man, "411702", "20040522", 131, HS_MARRIAGE_SINGLE);
    v = judge(&q);
    expect(&v, HS_MARRIAGE_UNDER_AGE);
    assert_int_equal(v.party, 1);
    assert_int_equal(v.from_day, D("2026-05-22"));
    assert_string_equal(v.zh,
                        "男方需年满22周岁方可结婚（《民法典》第1047条），可以预约2026年5月22日"
                        "及以后的日期。");
    assert_string_equal(v.en, "The man must be at least 22 years old to marry (Civil Code Article "
                              "1047); an appointment on 2026-05-22 or later can be booked.");

    /* The woman: 20. */
    party(&man, "411702", "19950610", 131, HS_MARRIAGE_SINGLE);
    party(&woman, "110105", "20060521", 142, HS_MARRIAGE_SINGLE);
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    party(&woman, "110105", "20060522", 142, HS_MARRIAGE_SINGLE);
    v = judge(&q);
    expect(&v, HS_MARRIAGE_UNDER_AGE);
    assert_int_equal(v.party, 2);
    assert_non_null(strstr(v.zh, "女方需年满20周岁"));

    /* The rule is data: at 18 the same woman may marry. */
    rules.min_age_female = 18;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.min_age_female = 20;

    /* Born on 29 February 2004: 22 on 1 March 2026, not on 28 February (a Saturday). */
    party(&woman, "110105", "19970815", 142, HS_MARRIAGE_SINGLE);
    party(&man, "411702", "20040229", 131, HS_MARRIAGE_SINGLE);
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, D("2026-02-28"), "09:00");
    q.office = &office;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_UNDER_AGE);
    assert_int_equal(v.from_day, D("2026-03-01"));
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, D("2026-03-02"), "09:00");
    q.office = &office;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    q.office = NULL; /* 1 March 2026 is a Sunday: without the office, the rule alone */
    q.day = D("2026-03-01");
    q.now = at(D("2026-02-27"), "10:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
}

static void test_bookings(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    int32_t day = D("2026-05-21");
    int32_t today = day - 1;

    (void)state;
    couple();
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, day, "09:00");
    q.office = &office;

    /* One open booking for the service each. */
    woman.active_bookings = 1;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_ACTIVE_BOOKING);
    assert_int_equal(v.party, 2);
    rules.max_active_bookings = 2;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.max_active_bookings = 1;
    woman.active_bookings = 0;
    man.active_bookings = 3;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_ACTIVE_BOOKING);
    assert_int_equal(v.party, 1);
    man.active_bookings = 0;

    /* Two no-shows within 180 days bar booking for 90 days from the second one. */
    man.n_no_shows = 2;
    man.no_shows[0] = today - 10;
    man.no_shows[1] = today - 100;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    assert_int_equal(v.party, 1);
    assert_int_equal(v.from_day, today + 80);
    /* The last day of the ban, and the day after. */
    man.no_shows[0] = today - 89;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    assert_int_equal(v.from_day, today + 1);
    man.no_shows[0] = today - 90;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    /* 179 days apart is within the period, 180 is not. */
    man.no_shows[0] = today - 5;
    man.no_shows[1] = today - 5 - 179;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    man.no_shows[1] = today - 5 - 180;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    /* One no-show is not enough; a third closer one counts with either. */
    man.n_no_shows = 1;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    man.n_no_shows = 3;
    man.no_shows[2] = today - 60;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    assert_int_equal(v.from_day, today + 85);
    /* No-shows on the same day count twice. */
    man.n_no_shows = 2;
    man.no_shows[0] = man.no_shows[1] = today;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    assert_int_equal(v.from_day, today + 90);
    rules.no_show_limit = 0;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.no_show_limit = 2;
    woman.n_no_shows = 2;
    woman.no_shows[0] = woman.no_shows[1] = today;
    man.n_no_shows = 0;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SHOW_BAN);
    assert_int_equal(v.party, 2);
}

static void test_time_and_office(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    struct hs_marriage_office o;
    struct hs_marriage_special s;
    struct hs_marriage_party beijing;
    char err[200];
    int32_t day = D("2026-05-21");

    (void)state;
    couple();
    office_make(&o);
    q = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, day, "09:00");
    q.office = &o;

    /* The slot has begun (its start is now) or passed; a minute before is fine. */
    q.now = at(day, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_IN_THE_PAST);
    q.now = at(day, "08:59");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    q.now = at(day + 3, "08:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_IN_THE_PAST);

    /* 30 days ahead at the most. */
    q.now = at(day - 30, "00:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    q.now = at(day - 31, "23:59");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_TOO_FAR_AHEAD);
    assert_int_equal(v.from_day, day - 30);
    assert_non_null(strstr(v.zh, "最多可提前30天预约"));
    assert_non_null(strstr(v.zh, "2026年4月21日 00:00开放"));
    rules.book_ahead_days = 0;
    q.now = at(day - 1, "23:59");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_TOO_FAR_AHEAD);
    assert_int_equal(v.from_day, day);
    assert_non_null(strstr(v.zh, "只能预约当天"));
    q.now = at(day, "00:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.book_ahead_days = 30;

    /* 5月20日: its own window (7 days before at 00:00) and 12 per slot. */
    memset(&s, 0, sizeof(s));
    s.day = D("2026-05-20");
    s.capacity = 12;
    s.opens_at = at(D("2026-05-13"), "00:00");
    assert_int_equal(hs_marriage_office_add_special(&o, &s, err, sizeof(err)), HS_OK);
    q.day = s.day;
    q.now = s.opens_at - 1;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_BOOKING_NOT_OPEN);
    assert_int_equal(v.from_day, D("2026-05-13"));
    assert_string_equal(v.zh, "2026年5月20日是特殊日期，预约将于2026年5月13日 00:00开放，请届时再"
                              "预约。");
    assert_string_equal(v.en, "2026-05-20 is a special date; booking for it opens at 2026-05-13 "
                              "00:00. Please come back then.");
    q.now = s.opens_at;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);

    /* A Sunday, a closure, a minute that starts no slot, a lunch break. */
    q.day = D("2026-05-24");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OFFICE_CLOSED);
    assert_non_null(strstr(v.zh, "星期日"));
    assert_int_equal(hs_marriage_office_add_closure(&o, D("2026-05-22"), err, sizeof(err)), HS_OK);
    q.day = D("2026-05-22");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OFFICE_CLOSED);
    q.day = D("2026-05-21");
    q.now = at(q.day - 1, "09:00");
    q.start = minute("08:45");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SUCH_SLOT);
    assert_non_null(strstr(v.en, "08:45"));
    q.start = minute("12:30");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_SUCH_SLOT);
    q.start = minute("17:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);

    /* Services the office does not offer. */
    o.services = HS_MARRIAGE_SVC_BIT(HS_MARRIAGE_SVC_REISSUE);
    v = judge(&q);
    expect(&v, HS_MARRIAGE_SERVICE_NOT_OFFERED);
    assert_non_null(strstr(v.zh, "结婚登记"));
    o.services = HS_MARRIAGE_SVC_ALL;

    /* Neither party registered in Henan: not without 跨省通办. */
    party(&beijing, "110108", "19950610", 131, HS_MARRIAGE_SINGLE);
    q.a = &beijing;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_COMPETENT);
    assert_non_null(strstr(v.zh, "跨省通办"));
    o.cross_province = true;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);

    /* Without an office the rules alone: any start minute of the day. */
    q.office = NULL;
    q.start = minute("08:45");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
}

static void test_divorce(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    int32_t d = D("2026-03-02"); /* received on a Monday */

    (void)state;
    couple();
    man.status = woman.status = HS_MARRIAGE_MARRIED;

    /* Applying. */
    q = request(HS_MARRIAGE_SVC_DIVORCE_APPLY, &man, &woman, d, "09:00");
    q.married_to_each_other = true;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    q.married_to_each_other = false;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_MARRIED_TO_EACH);
    q.married_to_each_other = true;
    woman.status = HS_MARRIAGE_DIVORCED;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_MARRIED_TO_EACH);
    woman.status = HS_MARRIAGE_MARRIED;

    /* Confirming without an application. */
    q = request(HS_MARRIAGE_SVC_DIVORCE_CONFIRM, &man, &woman, d + 31, "09:00");
    q.married_to_each_other = true;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NO_APPLICATION);

    /* The cooling-off period is D+1 .. D+30; the window D+31 .. D+60. */
    q.application_day = d;
    static const struct {
        int k;
        enum hs_marriage_refusal want;
    } days[] = {
        { 1, HS_MARRIAGE_COOLING_OFF },
        { 29, HS_MARRIAGE_COOLING_OFF },
        { 30, HS_MARRIAGE_COOLING_OFF },
        { 31, HS_MARRIAGE_OK },
        { 45, HS_MARRIAGE_OK },
        { 60, HS_MARRIAGE_OK },
        { 61, HS_MARRIAGE_WINDOW_PASSED },
        { 90, HS_MARRIAGE_WINDOW_PASSED },
    };
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        q.day = d + days[i].k;
        q.now = at(q.day - 1, "09:00");
        v = judge(&q);
        if (v.refusal != days[i].want)
            fail_msg("D+%d: want %s, got %s", days[i].k, hs_marriage_refusal_code(days[i].want),
                     v.code);
        expect(&v, days[i].want);
    }
    q.day = d + 30;
    q.now = at(d + 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_COOLING_OFF);
    assert_int_equal(v.from_day, d + 31);
    assert_int_equal(v.until_day, d + 60);
    assert_string_equal(v.zh, "离婚冷静期尚未届满：婚姻登记机关于2026年3月2日收到离婚登记申请，"
                              "冷静期至2026年4月1日止（《民法典》第1077条）。请预约2026年4月2日至"
                              "2026年5月1日之间的日期申请发给离婚证。");
    /* A date after the window while it still runs: choose an earlier one. */
    q.day = d + 61;
    q.now = at(d + 40, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_WINDOW_PASSED);
    assert_non_null(strstr(v.zh, "请预约2026年5月1日或之前的日期"));
    /* The window is over: the application counts as withdrawn. */
    q.day = d + 63;
    q.now = at(d + 61, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_WINDOW_PASSED);
    assert_non_null(strstr(v.zh, "已视为撤回"));

    /* Applying again while one is pending, and after it lapsed. */
    q.service = HS_MARRIAGE_SVC_DIVORCE_APPLY;
    q.day = d + 10;
    q.now = at(d + 9, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_APPLICATION_PENDING);
    assert_int_equal(v.from_day, d + 31);
    assert_int_equal(v.until_day, d + 60);
    q.day = d + 61;
    q.now = at(d + 60, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_APPLICATION_PENDING);
    q.day = d + 62;
    q.now = at(d + 61, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);

    /* The periods are data too. */
    rules.cooling_off_days = 0;
    q.service = HS_MARRIAGE_SVC_DIVORCE_CONFIRM;
    q.day = d + 1;
    q.now = at(d, "10:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.cooling_off_days = 30;
}

static void test_divorce_closed_days(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    struct hs_marriage_office o;
    char err[200];
    int32_t d;

    (void)state;
    couple();
    man.status = woman.status = HS_MARRIAGE_MARRIED;

    /* Received on Wednesday 4 March: the window would end on Sunday 3 May, inside the Labour Day
     * closure (1-5 May), so it ends on Wednesday 6 May, the next day the office is open. */
    office_make(&o);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(
            hs_marriage_office_add_closure(&o, D("2026-05-01") + i - 1, err, sizeof(err)), HS_OK);
    d = D("2026-03-04");
    q = request(HS_MARRIAGE_SVC_DIVORCE_CONFIRM, &man, &woman, D("2026-05-06"), "09:00");
    q.office = &o;
    q.married_to_each_other = true;
    q.application_day = d;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    q.day = D("2026-05-07");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_WINDOW_PASSED);
    assert_non_null(strstr(v.en, "2026-05-06"));
    rules.extend_over_closed = false;
    q.day = D("2026-05-06");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_WINDOW_PASSED);
    rules.extend_over_closed = true;

    /* Received on Thursday 5 March: the cooling-off period would end on Saturday 4 April, the
     * first day of the 清明 closure (4-6 April): it runs until Tuesday 7 April. */
    office_make(&o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_marriage_office_add_closure(&o, D("2026-04-04") + i, err, sizeof(err)),
                         HS_OK);
    d = D("2026-03-05");
    q.office = &o;
    q.application_day = d;
    q.day = D("2026-04-07");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_COOLING_OFF);
    assert_int_equal(v.from_day, D("2026-04-08"));
    assert_int_equal(v.until_day, D("2026-05-07"));
    q.day = D("2026-04-08");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.extend_over_closed = false;
    q.day = D("2026-04-07");
    q.now = at(q.day - 1, "09:00");
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    rules.extend_over_closed = true;
}

static void test_reissue(void **state)
{
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    struct hs_marriage_party beijing;
    int32_t day = D("2026-05-21");

    (void)state;
    couple();
    q = request(HS_MARRIAGE_SVC_REISSUE, &woman, NULL, day, "09:00");
    q.office = &office;
    /* The woman's household registration is in Beijing: tell her so, or register it. */
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOT_COMPETENT);
    assert_non_null(strstr(v.zh, "您的户籍不在本省"));
    woman.hukou_region = 411702;
    v = judge(&q); /* divorced: the divorce certificate */
    expect(&v, HS_MARRIAGE_OK);
    woman.status = HS_MARRIAGE_SINGLE;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_NOTHING_TO_REISSUE);
    assert_int_equal(v.party, 1);
    woman.status = HS_MARRIAGE_WIDOWED;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
    woman.active_bookings = 1;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_ACTIVE_BOOKING);
    assert_non_null(strstr(v.en, "for you"));
    woman.active_bookings = 0;

    party(&beijing, "110108", "19950610", 131, HS_MARRIAGE_MARRIED);
    q.a = &beijing;
    q.office = NULL;
    v = judge(&q);
    expect(&v, HS_MARRIAGE_OK);
}

static void test_cancel(void **state)
{
    struct hs_marriage_verdict v;
    int32_t day = D("2026-05-21");
    uint16_t start = minute("09:00");
    int64_t slot = at(day, "09:00");

    (void)state;
    assert_int_equal(hs_marriage_check_cancel(&rules, day, start, slot - 24 * 3600, &v), HS_OK);
    expect(&v, HS_MARRIAGE_OK);
    assert_int_equal(hs_marriage_check_cancel(&rules, day, start, slot - 24 * 3600 + 1, &v), HS_OK);
    expect(&v, HS_MARRIAGE_CANCEL_TOO_LATE);
    assert_non_null(strstr(v.zh, "24小时"));
    assert_int_equal(hs_marriage_check_cancel(&rules, day, start, slot + 3600, &v), HS_OK);
    expect(&v, HS_MARRIAGE_CANCEL_TOO_LATE);
    rules.cancel_until_hours = 0;
    assert_int_equal(hs_marriage_check_cancel(&rules, day, start, slot, &v), HS_OK);
    expect(&v, HS_MARRIAGE_OK);
    rules.cancel_until_hours = 24;
    assert_int_equal(hs_marriage_check_cancel(&rules, day, 1440, slot, &v), HS_E_INVALID_ARG);
    assert_null(v.code);
    assert_int_equal(hs_marriage_check_cancel(&rules, HS_MARRIAGE_DAY_MIN - 1, start, slot, &v),
                     HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_check_cancel(NULL, day, start, slot, &v), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_check_cancel(&rules, day, start, slot, NULL), HS_E_INVALID_ARG);
}

static void bad_request(const struct hs_marriage_request *q)
{
    struct hs_marriage_verdict v;

    memset(&v, 0x77, sizeof(v));
    assert_int_equal(hs_marriage_check(&rules, q, &v), HS_E_INVALID_ARG);
    assert_false(v.ok);
    assert_null(v.code);
    assert_string_equal(v.zh, "");
}

static void test_invalid_input(void **state)
{
    struct hs_marriage_request q, good;
    struct hs_marriage_verdict v;
    struct hs_marriage_party forged;
    struct hs_marriage_office o;
    struct hs_marriage_rules r;
    int32_t day = D("2026-05-21");

    (void)state;
    couple();
    good = request(HS_MARRIAGE_SVC_MARRIAGE, &man, &woman, day, "09:00");
    good.office = &office;
    assert_int_equal(hs_marriage_check(&rules, &good, &v), HS_OK);
    assert_int_equal(hs_marriage_check(&rules, NULL, &v), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_check(&rules, &good, NULL), HS_E_INVALID_ARG);
    assert_int_equal(hs_marriage_check(NULL, &good, &v), HS_E_INVALID_ARG);
    r = rules;
    r.min_age_male = 99;
    assert_int_equal(hs_marriage_check(&r, &good, &v), HS_E_INVALID_ARG);

    q = good;
    q.service = (enum hs_marriage_service)0;
    bad_request(&q);
    q.service = (enum hs_marriage_service)5;
    bad_request(&q);
    q = good;
    q.b = NULL; /* two parties needed */
    bad_request(&q);
    q = good;
    q.service = HS_MARRIAGE_SVC_REISSUE; /* one party only */
    bad_request(&q);
    q = good;
    q.a = NULL;
    bad_request(&q);
    q = good;
    q.day = HS_MARRIAGE_DAY_MAX + 1;
    bad_request(&q);
    q = good;
    q.start = 1440;
    bad_request(&q);
    q = good;
    q.now = INT64_MIN;
    bad_request(&q);
    q = good;
    q.application_day = day; /* in the future */
    bad_request(&q);

    /* A person not made from their ID number: typed-in sex or birth date are refused. */
    q = good;
    forged = woman;
    forged.person.sex = HS_MARRIAGE_MALE;
    q.b = &forged;
    bad_request(&q);
    forged = woman;
    forged.person.birth -= 365 * 3;
    bad_request(&q);
    forged = woman;
    forged.person.mainland = !forged.person.mainland;
    bad_request(&q);
    forged = woman;
    forged.person.id[5] = forged.person.id[5] == '1' ? '2' : '1'; /* check character now wrong */
    bad_request(&q);
    forged = woman;
    memset(forged.person.id, '1', sizeof(forged.person.id)); /* unterminated */
    bad_request(&q);
    forged = woman;
    forged.status = (enum hs_marriage_status)0;
    bad_request(&q);
    forged = woman;
    forged.hukou_region = 12345;
    bad_request(&q);
    forged = woman;
    forged.n_no_shows = HS_MARRIAGE_MAX_NO_SHOWS + 1;
    bad_request(&q);
    forged = woman;
    forged.n_no_shows = 1;
    forged.no_shows[0] = day; /* after today */
    bad_request(&q);

    q = good;
    o = office;
    o.slot_minutes = 0;
    q.office = &o;
    bad_request(&q);
}

static void test_codes(void **state)
{
    (void)state;
    for (int i = 0; i < HS_MARRIAGE_REFUSAL_COUNT; i++) {
        const char *c = hs_marriage_refusal_code((enum hs_marriage_refusal)i);
        assert_string_not_equal(c, "unknown");
        for (int k = 0; k < i; k++)
            assert_string_not_equal(c, hs_marriage_refusal_code((enum hs_marriage_refusal)k));
        /* Every refusal was produced by some test above, with both messages. */
        if (i != HS_MARRIAGE_OK && !seen[i])
            fail_msg("no test produced %s", c);
    }
    assert_string_equal(hs_marriage_refusal_code(HS_MARRIAGE_REFUSAL_COUNT), "unknown");
    assert_string_equal(hs_marriage_refusal_code((enum hs_marriage_refusal) - 1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_person),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_hours),
        cmocka_unit_test(test_office_check),
        cmocka_unit_test(test_slots),
        cmocka_unit_test_setup(test_booking_window, setup),
        cmocka_unit_test(test_competence),
        cmocka_unit_test_setup(test_marriage_standing, setup),
        cmocka_unit_test_setup(test_under_age, setup),
        cmocka_unit_test_setup(test_bookings, setup),
        cmocka_unit_test_setup(test_time_and_office, setup),
        cmocka_unit_test_setup(test_divorce, setup),
        cmocka_unit_test_setup(test_divorce_closed_days, setup),
        cmocka_unit_test_setup(test_reissue, setup),
        cmocka_unit_test_setup(test_cancel, setup),
        cmocka_unit_test_setup(test_invalid_input, setup),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
