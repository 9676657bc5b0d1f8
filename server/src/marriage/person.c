/* A party of a marriage booking as the citizen ID number says it is (sex, birth date, region),
 * so age and sex are never taken from typed data, and the services the rules speak of. */
#include "marriage_int.h"

#include "cl/lds.h"

#include <string.h>

/* GB/T 2260 province-level codes of the mainland: 华北, 东北, 华东, 中南, 西南, 西北. */
static const int mainland_provinces[] = {
    11, 12, 13, 14, 15,         /* 北京 天津 河北 山西 内蒙古 */
    21, 22, 23,                 /* 辽宁 吉林 黑龙江 */
    31, 32, 33, 34, 35, 36, 37, /* 上海 江苏 浙江 安徽 福建 江西 山东 */
    41, 42, 43, 44, 45, 46,     /* 河南 湖北 湖南 广东 广西 海南 */
    50, 51, 52, 53, 54,         /* 重庆 四川 贵州 云南 西藏 */
    61, 62, 63, 64, 65,         /* 陕西 甘肃 青海 宁夏 新疆 */
};

bool hs_marriage_province_mainland(int province)
{
    for (size_t i = 0; i < sizeof(mainland_provinces) / sizeof(mainland_provinces[0]); i++)
        if (mainland_provinces[i] == province)
            return true;
    return false;
}

bool hs_marriage_region_mainland(int32_t region)
{
    return region >= 100000 && region <= 999999 && hs_marriage_province_mainland(region / 10000);
}

static int digit_value(char c)
{
    return c - '0';
}

static int number(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + digit_value(s[i]);
    return v;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

hs_rc hs_marriage_person_from_id(const char *id, size_t n, struct hs_marriage_person *out,
                                 char *err, size_t err_cap)
{
    struct hs_marriage_person p;
    cl_rc crc;

    hs_marriage_errf(err, err_cap, "%s", "");
    if (!id || !out) {
        hs_marriage_errf(err, err_cap, "no ID number given");
        return HS_E_INVALID_ARG;
    }
    if (n != CL_CN_ID_LEN) {
        hs_marriage_errf(err, err_cap, "a citizen ID number has 18 characters, not %zu", n);
        return HS_E_MALFORMED;
    }
    crc = cl_cn_id_check(id, n);
    if (crc == CL_E_CHECK_DIGIT) {
        hs_marriage_errf(err, err_cap,
                         "the check character (the 18th) does not match the other 17 digits: "
                         "the number is mistyped or not genuine");
        return HS_E_MALFORMED;
    }
    if (crc != CL_OK) {
        if (!all_digits(id, CL_CN_ID_LEN - 1) ||
            !(all_digits(id + 17, 1) || id[17] == 'X' || id[17] == 'x'))
            hs_marriage_errf(err, err_cap,
                             "a citizen ID number is 17 digits and a check character (0-9 or X)");
        else
            hs_marriage_errf(err, err_cap,
                             "the birth date (characters 7-14) is not a real date in 1900-2099");
        return HS_E_MALFORMED;
    }

    memset(&p, 0, sizeof(p));
    memcpy(p.id, id, CL_CN_ID_LEN);
    if (p.id[17] == 'x')
        p.id[17] = 'X';
    p.id[CL_CN_ID_LEN] = '\0';
    p.province = number(p.id, 2);
    p.region = (int32_t)number(p.id, 6);
    p.mainland = hs_marriage_province_mainland(p.province);
    /* 81, 82, 83: residence permits of Hong Kong, Macao, Taiwan residents; 9 and the issuing
     * province: the foreign permanent resident ID card (2023). */
    if (!p.mainland && p.province != 81 && p.province != 82 && p.province != 83 &&
        !(p.id[0] == '9' && hs_marriage_province_mainland(number(p.id + 1, 2)))) {
        hs_marriage_errf(err, err_cap,
                         "the first two digits (%02d) are not a province code (GB/T 2260)",
                         p.province);
        return HS_E_MALFORMED;
    }
    p.sex = digit_value(p.id[16]) % 2 == 1 ? HS_MARRIAGE_MALE : HS_MARRIAGE_FEMALE;
    /* cl_cn_id_check() checked the date, so this cannot fail. */
    if (!hs_marriage_day_from_ymd(number(p.id + 6, 4), number(p.id + 10, 2), number(p.id + 12, 2),
                                  &p.birth))
        return HS_E_INTERNAL;
    if (cl_id_mask(p.id, CL_CN_ID_LEN, p.masked, sizeof(p.masked)) != CL_OK)
        return HS_E_INTERNAL;
    *out = p;
    return HS_OK;
}

bool hs_marriage_person_valid(const struct hs_marriage_person *p)
{
    struct hs_marriage_person again;

    if (!p || memchr(p->id, '\0', sizeof(p->id)) == NULL)
        return false;
    if (hs_marriage_person_from_id(p->id, strlen(p->id), &again, NULL, 0) != HS_OK)
        return false;
    /* The id must be stored as from_id() stores it (an upper-case check 'X'). */
    return strcmp(again.id, p->id) == 0 && strcmp(again.masked, p->masked) == 0 &&
           again.sex == p->sex && again.birth == p->birth && again.region == p->region &&
           again.province == p->province && again.mainland == p->mainland;
}

bool hs_marriage_party_valid(const struct hs_marriage_party *p)
{
    if (!p || !hs_marriage_person_valid(&p->person))
        return false;
    if ((int)p->status < HS_MARRIAGE_SINGLE || (int)p->status > HS_MARRIAGE_WIDOWED)
        return false;
    if (p->hukou_region != 0 && !hs_marriage_region_mainland(p->hukou_region))
        return false;
    if (p->n_no_shows > HS_MARRIAGE_MAX_NO_SHOWS)
        return false;
    for (size_t i = 0; i < p->n_no_shows; i++)
        if (!hs_marriage_day_ok(p->no_shows[i]))
            return false;
    return true;
}

int hs_marriage_age(const struct hs_marriage_person *p, int32_t day)
{
    int by, bm, bd, y, m, d;

    if (!p || !hs_marriage_day_to_ymd(p->birth, &by, &bm, &bd) ||
        !hs_marriage_day_to_ymd(day, &y, &m, &d) || day < p->birth)
        return -1;
    /* Comparing (month, day) counts a 29 February birthday on 1 March of a non-leap year. */
    return y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
}

int32_t hs_marriage_birthday(const struct hs_marriage_person *p, int years)
{
    int by, bm, bd;
    int32_t day;

    if (!p || years < 0 || years > 199 || !hs_marriage_day_to_ymd(p->birth, &by, &bm, &bd))
        return HS_MARRIAGE_NO_DAY;
    if (hs_marriage_day_from_ymd(by + years, bm, bd, &day))
        return day;
    /* 29 February in a year without one: the next day, 1 March. */
    if (bm == 2 && bd == 29 && hs_marriage_day_from_ymd(by + years, 3, 1, &day))
        return day;
    return HS_MARRIAGE_NO_DAY;
}

/* ---- services ------------------------------------------------------------------------ */

struct service_text {
    const char *name;
    const char *zh;
    const char *en; /* for messages: "marriage registration" */
    int parties;
};

static const struct service_text services[HS_MARRIAGE_SVC_COUNT + 1] = {
    [HS_MARRIAGE_SVC_MARRIAGE] = { "marriage", "结婚登记", "marriage registration", 2 },
    [HS_MARRIAGE_SVC_DIVORCE_APPLY] = { "divorce_application", "离婚登记申请",
                                        "divorce application", 2 },
    [HS_MARRIAGE_SVC_DIVORCE_CONFIRM] = { "divorce_confirmation", "离婚登记确认",
                                          "divorce confirmation", 2 },
    [HS_MARRIAGE_SVC_REISSUE] = { "reissue", "补领婚姻登记证", "certificate re-issue", 1 },
};

static const struct service_text *service_of(enum hs_marriage_service s)
{
    if ((int)s < HS_MARRIAGE_SVC_MARRIAGE || (int)s > HS_MARRIAGE_SVC_COUNT)
        return NULL;
    return &services[s];
}

const char *hs_marriage_service_name(enum hs_marriage_service s)
{
    const struct service_text *t = service_of(s);
    return t ? t->name : "?";
}

const char *hs_marriage_service_name_zh(enum hs_marriage_service s)
{
    const struct service_text *t = service_of(s);
    return t ? t->zh : "?";
}

const char *hs_marriage_service_name_en(enum hs_marriage_service s)
{
    const struct service_text *t = service_of(s);
    return t ? t->en : "?";
}

int hs_marriage_service_parties(enum hs_marriage_service s)
{
    const struct service_text *t = service_of(s);
    return t ? t->parties : 0;
}

bool hs_marriage_service_parse(const char *s, size_t n, enum hs_marriage_service *out)
{
    if (!s || !out)
        return false;
    for (int i = HS_MARRIAGE_SVC_MARRIAGE; i <= HS_MARRIAGE_SVC_COUNT; i++)
        if (strlen(services[i].name) == n && memcmp(services[i].name, s, n) == 0) {
            *out = (enum hs_marriage_service)i;
            return true;
        }
    return false;
}
