/* Calendar days as plain integers (days since 1970-01-01) and local wall-clock seconds, so the
 * appointment rules never depend on the process time zone or the C library's time functions. */
#include "marriage_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return mdays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
}

/* Howard Hinnant's days_from_civil, for years 1900..2099 (no overflow anywhere near). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    int zz = (int)z + 719468;
    int era = (zz >= 0 ? zz : zz - 146096) / 146097;
    int doe = zz - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool hs_marriage_day_from_ymd(int year, int month, int mday, int32_t *day)
{
    if (!day || year < 1900 || year > 2099 || month < 1 || month > 12 || mday < 1 ||
        mday > days_in_month(year, month))
        return false;
    *day = days_from_civil(year, month, mday);
    return true;
}

bool hs_marriage_day_to_ymd(int32_t day, int *year, int *month, int *mday)
{
    if (!year || !month || !mday || !hs_marriage_day_ok(day))
        return false;
    civil_from_days(day, year, month, mday);
    return true;
}

int hs_marriage_weekday(int32_t day)
{
    if (!hs_marriage_day_ok(day))
        return -1;
    /* 1970-01-01 was a Thursday (3 with Monday as 0). */
    return (int)((((int64_t)day + 3) % 7 + 7) % 7);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int number(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool hs_marriage_day_parse(const char *s, size_t n, int32_t *day)
{
    if (!s || !day || n != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    return hs_marriage_day_from_ymd(number(s, 4), number(s + 5, 2), number(s + 8, 2), day);
}

bool hs_marriage_day_format(int32_t day, char *out, size_t cap)
{
    int y, m, d;

    if (!out)
        return false;
    if (cap < HS_MARRIAGE_DATE_LEN || !hs_marriage_day_to_ymd(day, &y, &m, &d)) {
        if (cap > 0)
            out[0] = '\0';
        return false;
    }
    /* The remainders only tell the compiler what to_ymd guarantees (-Wformat-truncation). */
    snprintf(out, cap, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
    return true;
}

int64_t hs_marriage_local_time(int64_t unix_seconds)
{
    if (unix_seconds > INT64_MAX - HS_MARRIAGE_UTC_OFFSET)
        return INT64_MAX;
    return unix_seconds + HS_MARRIAGE_UTC_OFFSET;
}

int64_t hs_marriage_local_at(int32_t day, int minute)
{
    if (!hs_marriage_day_ok(day) || minute < 0 || minute > 1440)
        return -1;
    return (int64_t)day * SECONDS_PER_DAY + (int64_t)minute * 60;
}

bool hs_marriage_time_format(int64_t local, char *out, size_t cap)
{
    char date[HS_MARRIAGE_DATE_LEN];

    if (!out)
        return false;
    if (cap < HS_MARRIAGE_TIME_LEN || !hs_marriage_local_ok(local)) {
        if (cap > 0)
            out[0] = '\0';
        return false;
    }
    int32_t day = hs_marriage_day_of(local);
    int sec = (int)(local - (int64_t)day * SECONDS_PER_DAY);
    hs_marriage_day_format(day, date, sizeof(date));
    snprintf(out, cap, "%.10s %02u:%02u", date, (unsigned)(sec / 3600) % 100u,
             (unsigned)(sec / 60 % 60) % 100u);
    return true;
}

/* ---- shared helpers ------------------------------------------------------------------- */

void hs_marriage_errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (!err || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

#define QUOTE_MAX 32

void hs_marriage_quote(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;

    if (!out || cap == 0)
        return;
    for (size_t i = 0; s && i < n && i < QUOTE_MAX && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (s && n > QUOTE_MAX && k + 4 < cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}
