/* Draws huimin-gen's synthetic residents, entitlements and payments from a seed, apart from any
 * database, so the population's shape is one readable file and the loader only writes rows. */
#include "gen_model.h"

#include "cl/lds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- programmes ---------------------------------------------------------------- */

static const struct {
    const char *code;
    int64_t fallback_fen;
} progs[GP_COUNT] = {
    [GP_DIBAO_URBAN] = { "dibao-urban", 75000 },
    [GP_DIBAO_RURAL] = { "dibao-rural", 43333 },
    [GP_DIBAO_TOPUP] = { "dibao-topup", 2000 },
    [GP_TEKUN_URBAN] = { "tekun-urban", 97500 },
    [GP_TEKUN_RURAL] = { "tekun-rural", 56500 },
    [GP_CARE_FULL] = { "tekun-care-full", 56000 },
    [GP_CARE_PARTIAL] = { "tekun-care-partial", 28000 },
    [GP_CARE_SELF] = { "tekun-care-self", 8000 },
    [GP_TEMPORARY] = { "temporary", 115100 },
    [GP_ORPHAN] = { "orphan", 90000 },
    [GP_UNSUPPORTED_CHILD] = { "unsupported-child", 90000 },
    [GP_DIS_LIVING] = { "disability-living", 8000 },
    [GP_DIS_NURSING] = { "disability-nursing", 8000 },
    [GP_ELDERLY_ALLOWANCE] = { "elderly-allowance", 3000 },
    [GP_ELDERLY_SERVICE] = { "elderly-service", 20000 },
    [GP_PRICE_SUBSIDY] = { "price-subsidy", 5340 },
};

const char *gen_prog_code(enum gen_prog p)
{
    return (unsigned)p < GP_COUNT ? progs[p].code : "?";
}

int64_t gen_prog_fallback_fen(enum gen_prog p)
{
    return (unsigned)p < GP_COUNT ? progs[p].fallback_fen : 0;
}

/* ---- the random stream: splitmix64, integer draws only (no floating point) ------- */

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n > 0). */
static uint32_t below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((next_u64(s) >> 32) * n) >> 32);
}

/* True with probability per10k / 10000. */
static bool chance(uint64_t *s, uint32_t per10k)
{
    return below(s, 10000) < per10k;
}

/* Uniform in lo..hi (lo <= hi). */
static int between(uint64_t *s, int lo, int hi)
{
    return lo + (int)below(s, (uint32_t)(hi - lo + 1));
}

/* ---- dates: day numbers (days since 1970-01-01) and month numbers (y * 12 + m - 1) -- */

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int month_of(int32_t dn)
{
    int y, m, d;

    civil_from_days(dn, &y, &m, &d);
    return y * 12 + m - 1;
}

static int32_t month_first_day(int mn)
{
    return days_from_civil(mn / 12, mn % 12 + 1, 1);
}

static int32_t month_last_day(int mn)
{
    return month_first_day(mn + 1) - 1;
}

static void fmt_date(int32_t dn, char out[11])
{
    int y, m, d;

    civil_from_days(dn, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* ---- the model ------------------------------------------------------------------- */

#define SEQ_MALE   450 /* odd sequence numbers 001..899 */
#define SEQ_FEMALE 449 /* even sequence numbers 002..898; 900..999 are left to real data */

struct gen_model {
    struct gen_model_config cfg;
    int32_t today_dn, base_dn; /* base: 1900-01-01, the first day counted */
    size_t ndays;
    uint16_t *male, *female;              /* sequence numbers used per birth date */
    uint16_t *male_mark, *female_mark;    /* as at the last gen_model_mark() */
    int first_paid, last_paid, scheduled; /* month numbers */
    int32_t epoch_dn;                     /* no entitlement starts before 2010-01-01 */
};

struct gen_model *gen_model_new(const struct gen_model_config *cfg)
{
    int y = cfg->today / 10000, mo = cfg->today / 100 % 100, d = cfg->today % 100;
    size_t rl = strlen(cfg->region);
    struct gen_model *m;

    if (cfg->months < 1 || cfg->months > GEN_MAX_MONTHS || y < 2000 || y > 2098 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || !(rl == 6 || rl == 9 || rl == 12))
        return NULL;
    for (size_t i = 0; i < GP_COUNT; i++)
        if (cfg->amount_fen[i] <= 0)
            return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->today_dn = days_from_civil(y, mo, d);
    m->base_dn = days_from_civil(1900, 1, 1);
    m->epoch_dn = days_from_civil(2010, 1, 1);
    m->ndays = (size_t)(m->today_dn - m->base_dn + 1);
    m->male = calloc(m->ndays, sizeof(uint16_t));
    m->female = calloc(m->ndays, sizeof(uint16_t));
    m->male_mark = calloc(m->ndays, sizeof(uint16_t));
    m->female_mark = calloc(m->ndays, sizeof(uint16_t));
    if (!m->male || !m->female || !m->male_mark || !m->female_mark) {
        gen_model_free(m);
        return NULL;
    }
    /* Payday is the 10th: a month is paid once its 10th has passed; the next one is scheduled. */
    m->last_paid = y * 12 + mo - 1 - (d >= 10 ? 0 : 1);
    m->first_paid = m->last_paid - cfg->months + 1;
    m->scheduled = m->last_paid + 1;
    return m;
}

void gen_model_free(struct gen_model *m)
{
    if (!m)
        return;
    free(m->male);
    free(m->female);
    free(m->male_mark);
    free(m->female_mark);
    free(m);
}

void gen_model_mark(struct gen_model *m)
{
    memcpy(m->male_mark, m->male, m->ndays * sizeof(uint16_t));
    memcpy(m->female_mark, m->female, m->ndays * sizeof(uint16_t));
}

void gen_model_rewind(struct gen_model *m)
{
    memcpy(m->male, m->male_mark, m->ndays * sizeof(uint16_t));
    memcpy(m->female, m->female_mark, m->ndays * sizeof(uint16_t));
}

void gen_model_window(const struct gen_model *m, int *first_paid, int *last_paid, int *scheduled)
{
    *first_paid = m->first_paid;
    *last_paid = m->last_paid;
    *scheduled = m->scheduled;
}

/* ---- names ----------------------------------------------------------------------- */

/* The commonest surnames, the first ones twice so that they come up more often. */
static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "王", "李", "张", "刘", "陈", "杨", "黄", "赵",
    "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑",
    "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
    "董", "潘", "蒋", "蔡", "余", "莫", "覃", "韦", "蒙", "廖", "钟",
};

/* Given names by sex and by when the resident was born (before 1960, to 1989, since 1990). */
static const char *const given[2][3][16] = {
    { { "德明", "福生", "国强", "建国", "志明", "永福", "长林", "树林", "文华", "振华", "光明",
        "德华", "玉林", "家富", "金生", "庆丰" },
      { "建华", "伟", "强", "军", "勇", "磊", "涛", "斌", "海", "明", "刚", "平", "波", "辉",
        "建平", "志强" },
      { "浩", "宇", "杰", "浩然", "子轩", "宇轩", "俊杰", "博文", "思远", "一鸣", "子豪", "明轩",
        "天佑", "嘉豪", "梓豪", "皓轩" } },
    { { "秀英", "桂兰", "玉兰", "秀兰", "淑珍", "凤英", "桂英", "秀珍", "玉梅", "翠兰", "金凤",
        "美兰", "桂芳", "秀梅", "玉珍", "凤兰" },
      { "丽", "芳", "娟", "敏", "静", "艳", "霞", "红", "燕", "萍", "丽华", "秀芳", "玲", "梅",
        "红梅", "春燕" },
      { "欣怡", "梓涵", "诗涵", "雨桐", "子涵", "可欣", "思琪", "佳怡", "一诺", "梦瑶", "雨欣",
        "紫萱", "语嫣", "欣妍", "梓萱", "若曦" } },
};

/* ---- residents ------------------------------------------------------------------- */

/* Ages of the people a civil-affairs bureau pays: many elderly (per 10000). */
static const struct {
    int lo, hi;
    uint32_t weight;
} age_mix[] = {
    { 1, 17, 600 },   { 18, 59, 3000 }, { 60, 79, 3600 },
    { 80, 89, 2200 }, { 90, 99, 550 },  { 100, 104, 50 },
};

static int draw_age(uint64_t *s)
{
    uint32_t u = below(s, 10000), acc = 0;

    for (size_t i = 0; i < ARRAY_SIZE(age_mix); i++) {
        acc += age_mix[i].weight;
        if (u < acc)
            return between(s, age_mix[i].lo, age_mix[i].hi);
    }
    return 40;
}

static int age_on(int32_t birth_dn, int32_t on_dn)
{
    int by, bm, bd, y, m, d;

    civil_from_days(birth_dn, &by, &bm, &bd);
    civil_from_days(on_dn, &y, &m, &d);
    return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

/* The day the resident turns `years` (29 February birthdays fall on 1 March). */
static int32_t birthday(int32_t birth_dn, int years)
{
    int y, m, d;

    civil_from_days(birth_dn, &y, &m, &d);
    if (m == 2 && d == 29)
        return days_from_civil(y + years, 3, 1);
    return days_from_civil(y + years, m, d);
}

/*
 * Takes a sequence number for the birth date (moving to a neighbouring date
 * when that one's numbers are used up) and writes the citizen ID.
 */
static bool take_citizen_id(struct gen_model *m, int32_t *birth_dn, bool female, char out[19])
{
    for (int step = 0; step < 800; step++) {
        /* 0, +1, -1, +2, -2 ... days, never after yesterday */
        int off = (step + 1) / 2 * (step % 2 ? 1 : -1);
        int32_t dn = *birth_dn + off;
        if (dn < m->base_dn || dn >= m->today_dn)
            continue;
        size_t i = (size_t)(dn - m->base_dn);
        int seq;
        if (female) {
            if (m->female[i] >= SEQ_FEMALE)
                continue;
            seq = 2 * m->female[i]++ + 2;
        } else {
            if (m->male[i] >= SEQ_MALE)
                continue;
            seq = 2 * m->male[i]++ + 1;
        }
        int y, mo, d;
        civil_from_days(dn, &y, &mo, &d);
        char digits[32];
        snprintf(digits, sizeof(digits), "%.6s%04u%02u%02u%03u", m->cfg.region,
                 (unsigned)y % 10000u, (unsigned)mo % 100u, (unsigned)d % 100u,
                 (unsigned)seq % 1000u);
        char check = cl_cn_id_check_char(digits);
        if (!check)
            return false;
        memcpy(out, digits, 17);
        out[17] = check;
        out[18] = '\0';
        *birth_dn = dn;
        return true;
    }
    return false;
}

/* ---- entitlements ---------------------------------------------------------------- */

/* An entitlement while it is being drawn: day and month numbers, not yet text. */
struct draft {
    enum gen_prog prog;
    int32_t start_dn, end_dn; /* end -1: open */
    int status;
    const char *reason;
    int suspended_from; /* the first month not paid, for a suspension */
    int64_t amount_fen;
};

static const char *stop_reason(enum gen_prog p)
{
    switch (p) {
    case GP_DIBAO_URBAN:
    case GP_DIBAO_RURAL:
    case GP_DIBAO_TOPUP:
        return "家庭收入超过低保标准";
    case GP_TEKUN_URBAN:
    case GP_TEKUN_RURAL:
    case GP_CARE_FULL:
    case GP_CARE_PARTIAL:
    case GP_CARE_SELF:
        return "不再符合特困供养条件";
    case GP_DIS_LIVING:
    case GP_DIS_NURSING:
        return "残疾等级复核后不符合条件";
    case GP_ELDERLY_SERVICE:
        return "入住养老机构";
    default:
        return "不再符合条件";
    }
}

static const char reason_death[] = "死亡, 户籍注销";
static const char reason_phase_out[] = "实现就业且家庭人均收入超过低保标准,6个月渐退期";
static const char reason_review[] = "未按期参加年度复核";
static const char *const reasons_temporary[] = {
    "因病致困, 先行救助",
    "意外事故, 临时救助",
    "突发火灾, 临时救助",
    "子女就学困难, 临时救助",
};

/* The first of a month on or after dn, as a month number. */
static int month_ceil(int32_t dn)
{
    int mn = month_of(dn);
    return month_first_day(mn) == dn ? mn : mn + 1;
}

/*
 * A start date (the first of a month) not before earliest: one in eight
 * started within the window (new entrants), the rest earlier, from 2010 on.
 */
static int32_t draw_start(struct gen_model *m, uint64_t *s, int32_t earliest)
{
    int lo = month_ceil(earliest > m->epoch_dn ? earliest : m->epoch_dn);

    if (lo > m->scheduled)
        return month_first_day(lo);
    if (lo >= m->first_paid || chance(s, 1800))
        return month_first_day(between(s, lo > m->first_paid ? lo : m->first_paid, m->scheduled));
    return month_first_day(between(s, lo, m->first_paid - 1));
}

/* A month within the window, not before the entitlement's start; -1 when it starts later. */
static int draw_window_month(const struct gen_model *m, uint64_t *s, int32_t start_dn)
{
    int lo = month_of(start_dn);

    if (lo < m->first_paid)
        lo = m->first_paid;
    if (lo > m->last_paid)
        return -1;
    return between(s, lo, m->last_paid);
}

/* Draws what became of an open monthly entitlement: mostly active, some stopped,
 * suspended or (dibao, working age) phased out. */
static void draw_fate(struct gen_model *m, uint64_t *s, struct draft *d, bool working_age)
{
    uint32_t u = below(s, 10000);
    int mn;

    if (u < 1000 && (mn = draw_window_month(m, s, d->start_dn)) >= 0) {
        d->status = GEN_ENT_STOPPED;
        d->end_dn = month_last_day(mn);
        d->reason = stop_reason(d->prog);
    } else if (u >= 1000 && u < 1300 && working_age &&
               (d->prog == GP_DIBAO_URBAN || d->prog == GP_DIBAO_RURAL) &&
               month_of(d->start_dn) <= m->last_paid) {
        d->status = GEN_ENT_PHASE_OUT;
        d->end_dn = month_last_day(m->scheduled + between(s, 0, 5));
        d->reason = reason_phase_out;
    } else if (u >= 1300 && u < 1700 && (mn = draw_window_month(m, s, d->start_dn)) >= 0) {
        d->status = GEN_ENT_SUSPENDED;
        d->suspended_from = mn;
        d->reason = reason_review;
    }
}

static struct draft *add(struct draft *dr, int *n, enum gen_prog p, int32_t start_dn)
{
    if (*n >= GEN_MAX_ENT)
        return NULL;
    struct draft *d = &dr[(*n)++];
    *d = (struct draft){ .prog = p,
                         .start_dn = start_dn,
                         .end_dn = -1,
                         .status = GEN_ENT_ACTIVE,
                         .reason = "",
                         .suspended_from = -1 };
    return d;
}

/* A companion (the dibao top-up, the 特困 care allowance) shares its main entitlement's fate. */
static struct draft *add_companion(struct gen_model *m, uint64_t *s, struct draft *dr, int *n,
                                   enum gen_prog p, const struct draft *main)
{
    int32_t start = draw_start(m, s, main->start_dn);

    if (main->end_dn >= 0 && start > main->end_dn)
        start = main->start_dn;
    struct draft *d = add(dr, n, p, start);
    if (!d)
        return NULL;
    d->end_dn = main->end_dn;
    d->status = main->status;
    d->suspended_from = main->suspended_from;
    d->reason = main->status == GEN_ENT_ACTIVE ? "" : stop_reason(p);
    if (main->status == GEN_ENT_PHASE_OUT || main->status == GEN_ENT_SUSPENDED)
        d->reason = main->reason;
    return d;
}

static void draw_care(struct gen_model *m, uint64_t *s, struct draft *dr, int *n,
                      const struct draft *tekun, int age)
{
    uint32_t u = below(s, 100);
    enum gen_prog p;

    if (age >= 80)
        p = u < 30 ? GP_CARE_FULL : u < 70 ? GP_CARE_PARTIAL : GP_CARE_SELF;
    else
        p = u < 10 ? GP_CARE_FULL : u < 35 ? GP_CARE_PARTIAL : GP_CARE_SELF;
    add_companion(m, s, dr, n, p, tekun);
}

/* One of the two disability subsidies, or both (两项补贴). */
static void draw_disability(struct gen_model *m, uint64_t *s, struct draft *dr, int *n,
                            int32_t birth_dn, int age, uint32_t living, uint32_t nursing)
{
    struct draft *d;

    if (chance(s, living) && (d = add(dr, n, GP_DIS_LIVING, draw_start(m, s, birth_dn))))
        draw_fate(m, s, d, age < 60);
    if (chance(s, nursing) && (d = add(dr, n, GP_DIS_NURSING, draw_start(m, s, birth_dn))))
        draw_fate(m, s, d, age < 60);
}

/* A 临时救助 case: one payment, within the window, 300..2000 yuan (about 1150 on average). */
static void draw_temporary(struct gen_model *m, uint64_t *s, struct draft *dr, int *n)
{
    int mn = between(s, m->first_paid, m->last_paid);
    int32_t first = month_first_day(mn), last = month_last_day(mn);
    int32_t day = first + (int32_t)below(s, (uint32_t)(last - first + 1));

    if (day >= m->today_dn)
        day = m->today_dn - 1;
    struct draft *d = add(dr, n, GP_TEMPORARY, day);
    if (!d)
        return;
    d->end_dn = day;
    d->amount_fen = (300 + 50 * (int64_t)below(s, 35)) * 100;
    d->reason = reasons_temporary[below(s, ARRAY_SIZE(reasons_temporary))];
}

/* The programmes of a current recipient, by age (DOMAIN.md 6.1 proportions). */
static void draw_programmes(struct gen_model *m, uint64_t *s, struct draft *dr, int *n,
                            int32_t birth_dn, int age, bool urban)
{
    enum gen_prog dibao = urban ? GP_DIBAO_URBAN : GP_DIBAO_RURAL;
    enum gen_prog tekun = urban ? GP_TEKUN_URBAN : GP_TEKUN_RURAL;
    struct draft *main = NULL, *d;
    bool is_tekun = false;
    uint32_t u = below(s, 100);

    if (age < 18) {
        if (u < 50) {
            enum gen_prog p = u < 30 ? GP_ORPHAN : GP_UNSUPPORTED_CHILD;
            if ((d = add(dr, n, p, draw_start(m, s, birth_dn)))) {
                d->end_dn = birthday(birth_dn, 18) - 1;
                d->reason = "";
            }
        } else if ((main = add(dr, n, dibao, draw_start(m, s, birth_dn)))) {
            draw_fate(m, s, main, false);
        }
        draw_disability(m, s, dr, n, birth_dn, age, 800, 300);
    } else if (age < 60) {
        int32_t adult = birthday(birth_dn, 18);
        if (u < 58) {
            if ((main = add(dr, n, dibao, draw_start(m, s, adult)))) {
                draw_fate(m, s, main, true);
                if (chance(s, 300))
                    add_companion(m, s, dr, n, GP_DIBAO_TOPUP, main);
                draw_disability(m, s, dr, n, birth_dn, age, 800, 300);
            }
        } else if (u < 68) {
            if ((main = add(dr, n, tekun, draw_start(m, s, adult)))) {
                draw_fate(m, s, main, false);
                is_tekun = true;
            }
        } else {
            u = below(s, 100);
            draw_disability(m, s, dr, n, birth_dn, age, u < 70 ? 10000 : 0, u >= 60 ? 10000 : 0);
        }
    } else if (age < 80) {
        int32_t adult = birthday(birth_dn, 18);
        if (u < 62) {
            is_tekun = u >= 45;
            if ((main = add(dr, n, is_tekun ? tekun : dibao, draw_start(m, s, adult)))) {
                draw_fate(m, s, main, false);
                if (chance(s, 1000) &&
                    (d = add(dr, n, GP_ELDERLY_SERVICE, draw_start(m, s, birthday(birth_dn, 60)))))
                    draw_fate(m, s, d, false);
                draw_disability(m, s, dr, n, birth_dn, age, 500, 200);
            }
        } else if (u < 80) {
            u = below(s, 100);
            draw_disability(m, s, dr, n, birth_dn, age, u < 60 ? 10000 : 0, u >= 50 ? 10000 : 0);
        } else if ((d = add(dr, n, GP_ELDERLY_SERVICE, draw_start(m, s, birthday(birth_dn, 60))))) {
            draw_fate(m, s, d, false);
        }
    } else {
        /* 高龄津贴 from the month after the 80th birthday, for as long as they live. */
        int32_t b80 = birthday(birth_dn, 80);
        add(dr, n, GP_ELDERLY_ALLOWANCE, month_first_day(month_of(b80) + 1));
        if (u < 10)
            main = add(dr, n, dibao, draw_start(m, s, birthday(birth_dn, 60)));
        else if (u < 16 && (main = add(dr, n, tekun, draw_start(m, s, birthday(birth_dn, 60)))))
            is_tekun = true;
        if (main)
            draw_fate(m, s, main, false);
        draw_disability(m, s, dr, n, birth_dn, age, 0, 800);
        if (chance(s, 700) && (d = add(dr, n, GP_ELDERLY_SERVICE, draw_start(m, s, b80))))
            draw_fate(m, s, d, false);
    }
    if (main && is_tekun && chance(s, 6000))
        draw_care(m, s, dr, n, main, age);
    if (chance(s, 300))
        draw_temporary(m, s, dr, n);
}

/* A former recipient: one entitlement that stopped before the window (no payments in it). */
static void draw_former(struct gen_model *m, uint64_t *s, struct draft *dr, int *n,
                        int32_t birth_dn, bool urban)
{
    uint32_t u = below(s, 100);
    enum gen_prog p = u < 70   ? (urban ? GP_DIBAO_URBAN : GP_DIBAO_RURAL)
                      : u < 90 ? GP_DIS_LIVING
                               : (urban ? GP_TEKUN_URBAN : GP_TEKUN_RURAL);
    int end_mn = between(s, m->first_paid - 36, m->first_paid - 1);
    int lo = month_ceil(birth_dn > m->epoch_dn ? birth_dn : m->epoch_dn);
    int start_mn = lo <= end_mn ? between(s, lo, end_mn) : end_mn;
    struct draft *d = add(dr, n, p, month_first_day(start_mn));

    if (!d)
        return;
    d->end_dn = month_last_day(end_mn);
    d->status = GEN_ENT_STOPPED;
    d->reason = stop_reason(p);
}

/* A death within the window stops every entitlement at the end of that month. */
static int apply_death(struct gen_model *m, uint64_t *s, struct draft *dr, int n, int age)
{
    uint32_t p = age >= 80 ? 600 : age >= 60 ? 150 : 30;
    int mn;

    if (!chance(s, p))
        return -1;
    mn = between(s, m->first_paid, m->last_paid);
    for (int i = 0; i < n; i++) {
        struct draft *d = &dr[i];
        if (d->prog == GP_TEMPORARY || (d->end_dn >= 0 && month_of(d->end_dn) <= mn))
            continue;
        if (month_of(d->start_dn) > mn) {
            /* It would have started after the death: it never did. */
            d->start_dn = month_first_day(mn);
        }
        d->end_dn = month_last_day(mn);
        d->status = GEN_ENT_STOPPED;
        d->reason = reason_death;
        d->suspended_from = -1;
    }
    return mn;
}

/* Turns a draft into the entitlement row and its payment months. */
static void finish(const struct gen_model *m, const struct gen_resident *r, int ordinal,
                   const struct draft *d, int death_mn, bool returned, struct gen_entitlement *e)
{
    snprintf(e->id, sizeof(e->id), "GE%08u-%d", r->index, ordinal);
    e->prog = d->prog;
    fmt_date(d->start_dn, e->start_date);
    if (d->end_dn >= 0)
        fmt_date(d->end_dn, e->end_date);
    else
        e->end_date[0] = '\0';
    e->status = d->status;
    e->reason = d->reason;
    e->returned_month = -1;
    if (d->prog == GP_TEMPORARY) {
        e->period = "once";
        e->amount_fen = d->amount_fen;
        e->first_month = e->last_month = month_of(d->start_dn);
        e->scheduled = false;
        return;
    }
    e->period = "month";
    e->amount_fen = m->cfg.amount_fen[d->prog];
    int first = month_of(d->start_dn), last = m->last_paid;
    if (d->end_dn >= 0 && month_of(d->end_dn) < last)
        last = month_of(d->end_dn);
    if (d->suspended_from >= 0 && d->suspended_from - 1 < last)
        last = d->suspended_from - 1;
    e->first_month = first > m->first_paid ? first : m->first_paid;
    e->last_month = last;
    e->scheduled = (d->status == GEN_ENT_ACTIVE || d->status == GEN_ENT_PHASE_OUT) &&
                   first <= m->scheduled &&
                   (d->end_dn < 0 || d->end_dn >= month_first_day(m->scheduled));
    if (death_mn >= 0 && returned && d->reason == reason_death && last == death_mn &&
        e->first_month <= last)
        e->returned_month = death_mn;
}

bool gen_model_resident(struct gen_model *m, uint32_t index, struct gen_resident *r)
{
    uint64_t s = m->cfg.seed ^ (UINT64_C(0xD1B54A32D192ED03) * index);
    struct draft dr[GEN_MAX_ENT];
    int n = 0;

    memset(r, 0, sizeof(*r));
    next_u64(&s);
    r->index = index;
    snprintf(r->id, sizeof(r->id), "G%08u", index);

    int age = draw_age(&s);
    int32_t birth = m->today_dn - (age * 365 + age / 4) - 1 - (int32_t)below(&s, 364);
    bool female = chance(&s, age >= 80 ? 6200 : age >= 60 ? 5500 : 5000);
    if (!take_citizen_id(m, &birth, female, r->citizen_id))
        return false;
    fmt_date(birth, r->birth_date);
    age = age_on(birth, m->today_dn);
    r->age = age;

    int by, bmo, bd;
    civil_from_days(birth, &by, &bmo, &bd);
    int cohort = by < 1960 ? 0 : by < 1990 ? 1 : 2;
    snprintf(r->name, sizeof(r->name), "%s%s", surnames[below(&s, ARRAY_SIZE(surnames))],
             given[female][cohort][below(&s, 16)]);
    if (chance(&s, 9200))
        snprintf(r->welfare_no, sizeof(r->welfare_no), "WG%.6s%08u", m->cfg.region, index);
    uint32_t c = below(&s, 100);
    r->channel = c < 55 ? "bank" : c < 95 ? "sscard" : "cash";
    if (c < 95)
        snprintf(r->account, sizeof(r->account), "****%04u", below(&s, 10000));
    bool urban = chance(&s, 1000);

    /* One in four under 80 is a former recipient, one in sixteen had only a temporary-aid case. */
    uint32_t kind = below(&s, 100);
    if (age >= 80) /* everyone 80 or older has the 高龄津贴 */
        kind = 100;
    if (kind < 25)
        draw_former(m, &s, dr, &n, birth, urban);
    else if (kind < 31)
        draw_temporary(m, &s, dr, &n);
    else
        draw_programmes(m, &s, dr, &n, birth, age, urban);
    if (n == 0) /* a child or adult whose draws gave nothing: a temporary-aid case */
        draw_temporary(m, &s, dr, &n);
    int death_mn = kind < 25 ? -1 : apply_death(m, &s, dr, n, age);
    bool returned = death_mn >= 0 && chance(&s, 5000);

    bool nursing = false;
    for (int i = 0; i < n; i++) {
        finish(m, r, i + 1, &dr[i], death_mn, returned, &r->ent[i]);
        nursing |= dr[i].prog == GP_DIS_NURSING;
    }
    r->nent = n;

    /* tap_only: aged 80 or more, or severely disabled (hs/import.h); voice, large text. */
    if (age >= 80 || nursing)
        r->flags |= 1;
    if ((age >= 80 && chance(&s, 3000)) || (age >= 70 && age < 80 && chance(&s, 1000)))
        r->flags |= 2;
    if ((age >= 70 && chance(&s, 5000)) || (age >= 60 && age < 70 && chance(&s, 2000)))
        r->flags |= 4;
    r->rng = s;
    return true;
}

void gen_model_payment(const struct gen_model *m, struct gen_resident *r,
                       const struct gen_entitlement *e, int month, struct gen_payment *p)
{
    bool service = e->prog == GP_ELDERLY_SERVICE;
    unsigned y = (unsigned)(month / 12) % 10000u, mo = (unsigned)(month % 12) + 1u;

    snprintf(p->id, sizeof(p->id), "GP%s-%04u%02u", e->id + 2, y, mo);
    snprintf(p->period, sizeof(p->period), "%04u-%02u", y, mo);
    p->amount_fen = e->amount_fen;
    p->channel = service ? "service" : r->channel;
    p->account = service ? "" : r->account;
    if (month > m->last_paid) {
        p->status = GEN_PAY_SCHEDULED;
        p->paid_date[0] = '\0';
        return;
    }
    if (e->prog == GP_TEMPORARY)
        memcpy(p->paid_date, e->start_date, sizeof(e->start_date));
    else
        snprintf(p->paid_date, sizeof(p->paid_date), "%04u-%02u-%02u", y, mo,
                 strcmp(p->channel, "cash") == 0 ? 15u : 10u);
    uint32_t u = below(&r->rng, 10000);
    bool card = r->welfare_no[0] && !service && strcmp(p->channel, "cash") != 0;
    if (month == e->returned_month || u < 40)
        p->status = GEN_PAY_RETURNED;
    else if (u < 70)
        p->status = GEN_PAY_DISPUTED;
    else if (card && chance(&r->rng, month >= m->last_paid - 1 ? 3500 : 7500))
        p->status = GEN_PAY_CONFIRMED;
    else
        p->status = GEN_PAY_PAID;
}
