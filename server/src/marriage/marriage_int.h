/*
 * What the files of hs_marriage share (server/src/marriage/): error texts,
 * range checks and the validity of the structs callers fill in. Internal to
 * hs_marriage: nothing outside server/src/marriage includes it.
 */
#ifndef HS_MARRIAGE_INT_H
#define HS_MARRIAGE_INT_H

#include "hs/marriage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECONDS_PER_DAY INT64_C(86400)

/* Writes a message into err (cap bytes, NUL-terminated when cap > 0); NULL err is fine. */
void hs_marriage_errf(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies n bytes of hostile text for a message: printable ASCII as it is,
 * any other byte as '?', and at most 32 of them ("..." after a cut).
 */
void hs_marriage_quote(const char *s, size_t n, char *out, size_t cap);

static inline bool hs_marriage_day_ok(int32_t day)
{
    return day >= HS_MARRIAGE_DAY_MIN && day <= HS_MARRIAGE_DAY_MAX;
}

static inline bool hs_marriage_local_ok(int64_t t)
{
    return t >= HS_MARRIAGE_LOCAL_MIN && t <= HS_MARRIAGE_LOCAL_MAX;
}

/* The day of local seconds in range (floor division). */
static inline int32_t hs_marriage_day_of(int64_t local)
{
    int64_t d = local / SECONDS_PER_DAY;

    if (local % SECONDS_PER_DAY < 0)
        d--;
    return (int32_t)d;
}

/* One of the 31 mainland province codes of GB/T 2260 (11 ... 65). */
bool hs_marriage_province_mainland(int province);
/* A 6-digit region code whose first two digits are a mainland province. */
bool hs_marriage_region_mainland(int32_t region);

/* The person's fields are exactly what hs_marriage_person_from_id() makes of its id. */
bool hs_marriage_person_valid(const struct hs_marriage_person *p);
/*
 * A party's fields are within their ranges and its person is valid (the
 * no-shows' relation to today is the caller's to check).
 */
bool hs_marriage_party_valid(const struct hs_marriage_party *p);
/* hs_marriage_office_check() without the message. */
bool hs_marriage_office_valid(const struct hs_marriage_office *o);
/* hs_marriage_rules_check() without the message. */
bool hs_marriage_rules_valid(const struct hs_marriage_rules *r);
/* The hours of a day satisfy struct hs_marriage_day_hours' rules. */
bool hs_marriage_day_hours_valid(const struct hs_marriage_day_hours *h);
/* Whether a valid office has at least one slot on a day in range. */
bool hs_marriage_office_open_on(const struct hs_marriage_office *o, int32_t day);
/* The special date of a valid office on day, or NULL. */
const struct hs_marriage_special *hs_marriage_office_special(const struct hs_marriage_office *o,
                                                             int32_t day);

#endif
