/* Fuzz target for hs_marriage (hs/marriage.h): the same bytes go to the opening-hours parsers,
 * the rules setter, the ID-number reader and the date parser, and what one accepts must keep
 * the header's promises; two ID numbers at the start also drive a whole booking check. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hs/marriage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_CAP 256

static void check_err(const char *err)
{
    if (!memchr(err, '\0', ERR_CAP))
        __builtin_trap();
}

static void check_day(const struct hs_marriage_day_hours *h)
{
    if (h->n > HS_MARRIAGE_MAX_RANGES)
        __builtin_trap();
    for (size_t i = 0; i < h->n; i++)
        if (h->r[i].start >= h->r[i].end || h->r[i].end > 1440 ||
            (i > 0 && h->r[i].start < h->r[i - 1].end))
            __builtin_trap();
}

/* The slots of a parsed week lie inside its ranges, in order, one slot long each. */
static void check_slots(const struct hs_marriage_hours *h)
{
    struct hs_marriage_office o;
    struct hs_marriage_slot sl[HS_MARRIAGE_MAX_SLOTS];
    size_t n;
    int32_t monday;

    hs_marriage_office_init(&o);
    memcpy(o.id, "fuzz", 5);
    memcpy(o.name, "fuzz", 5);
    o.region = 411702;
    o.hours = *h;
    o.slot_minutes = 15;
    o.capacity = 3;
    if (hs_marriage_office_check(&o, NULL, 0) != HS_OK ||
        !hs_marriage_day_from_ymd(2026, 5, 18, &monday))
        __builtin_trap();
    for (int d = 0; d < 7; d++) {
        const struct hs_marriage_day_hours *dh = &h->day[d];
        size_t want = 0;

        if (hs_marriage_office_slots(&o, monday + d, sl, HS_MARRIAGE_MAX_SLOTS, &n) != HS_OK)
            __builtin_trap();
        for (size_t i = 0; i < dh->n; i++)
            want += (size_t)(dh->r[i].end - dh->r[i].start) / o.slot_minutes;
        if (n != want)
            __builtin_trap();
        for (size_t i = 0; i < n; i++) {
            bool inside = false;
            if (sl[i].end - sl[i].start != o.slot_minutes || sl[i].capacity != 3 ||
                (i > 0 && sl[i].start < sl[i - 1].end))
                __builtin_trap();
            for (size_t k = 0; k < dh->n; k++)
                inside |= sl[i].start >= dh->r[k].start && sl[i].end <= dh->r[k].end;
            if (!inside)
                __builtin_trap();
        }
    }
}

static void fuzz_hours(const uint8_t *data, size_t size)
{
    struct hs_marriage_hours h, before;
    struct hs_marriage_day_hours dh, dbefore;
    char err[ERR_CAP];

    memset(&h, 0xA5, sizeof(h));
    before = h;
    if (hs_marriage_hours_parse((const char *)data, size, &h, err, sizeof(err)) == HS_OK) {
        for (int d = 0; d < 7; d++)
            check_day(&h.day[d]);
        check_slots(&h);
        if (err[0])
            __builtin_trap();
    } else {
        /* Untouched, and the error names the position (or the length). */
        check_err(err);
        if (memcmp(&h, &before, sizeof(h)) != 0)
            __builtin_trap();
        if (size > HS_MARRIAGE_MAX_HOURS ? strstr(err, "longer than") == NULL
                                         : strncmp(err, "position ", 9) != 0)
            __builtin_trap();
    }
    memset(&dh, 0x5A, sizeof(dh));
    dbefore = dh;
    if (hs_marriage_day_hours_parse((const char *)data, size, &dh, err, sizeof(err)) == HS_OK)
        check_day(&dh);
    else if (memcmp(&dh, &dbefore, sizeof(dh)) != 0)
        __builtin_trap();
}

static void fuzz_rules(const uint8_t *data, size_t size)
{
    struct hs_marriage_rules r, before;
    char err[ERR_CAP], kv[HS_MARRIAGE_MAX_LINE + 1];
    const char *eq;

    hs_marriage_rules_defaults(&r);
    before = r;
    if (hs_marriage_rules_set_line(&r, (const char *)data, size, err, sizeof(err)) == HS_OK) {
        if (hs_marriage_rules_check(&r, NULL, 0) != HS_OK)
            __builtin_trap();
    } else {
        check_err(err);
        if (memcmp(&r, &before, sizeof(r)) != 0 || err[0] == '\0')
            __builtin_trap();
    }

    /* The same bytes as key '=' value, NUL-terminated. */
    if (size > HS_MARRIAGE_MAX_LINE || memchr(data, '\0', size))
        return;
    memcpy(kv, data, size);
    kv[size] = '\0';
    eq = strchr(kv, '=');
    if (!eq)
        return;
    kv[eq - kv] = '\0';
    hs_marriage_rules_defaults(&r);
    if (hs_marriage_rules_set(&r, kv, eq + 1, err, sizeof(err)) == HS_OK) {
        if (hs_marriage_rules_check(&r, NULL, 0) != HS_OK)
            __builtin_trap();
    } else if (memcmp(&r, &before, sizeof(r)) != 0) {
        __builtin_trap();
    }
}

static bool fuzz_person(const uint8_t *data, size_t size, struct hs_marriage_person *p)
{
    struct hs_marriage_person before;
    char err[ERR_CAP];

    memset(p, 0x3C, sizeof(*p));
    before = *p;
    if (hs_marriage_person_from_id((const char *)data, size, p, err, sizeof(err)) != HS_OK) {
        check_err(err);
        if (memcmp(p, &before, sizeof(*p)) != 0)
            __builtin_trap();
        return false;
    }
    if (size != 18 || strlen(p->id) != 18 || strlen(p->masked) != 18 ||
        memcmp(p->id, p->masked, 3) != 0 || memcmp(p->id + 14, p->masked + 14, 4) != 0)
        __builtin_trap();
    if (p->sex != ((p->id[16] - '0') % 2 ? HS_MARRIAGE_MALE : HS_MARRIAGE_FEMALE))
        __builtin_trap();
    if (p->region != (int32_t)((p->id[0] - '0') * 100000 + (p->id[1] - '0') * 10000 +
                               (p->id[2] - '0') * 1000 + (p->id[3] - '0') * 100 +
                               (p->id[4] - '0') * 10 + (p->id[5] - '0')) ||
        p->province != p->region / 10000)
        __builtin_trap();
    /* Age and birthday agree: one turns k on birthday(k), and is k-1 the day before. */
    for (int k = 0; k <= 120; k += 7) {
        int32_t b = hs_marriage_birthday(p, k);
        if (b == HS_MARRIAGE_NO_DAY)
            continue;
        if (hs_marriage_age(p, b) != k || (k > 0 && hs_marriage_age(p, b - 1) != k - 1))
            __builtin_trap();
    }
    return true;
}

static void fuzz_date(const uint8_t *data, size_t size)
{
    char out[HS_MARRIAGE_DATE_LEN];
    int32_t day;
    enum hs_marriage_service s;

    if (hs_marriage_day_parse((const char *)data, size, &day)) {
        if (!hs_marriage_day_format(day, out, sizeof(out)) || memcmp(out, data, 10) != 0 ||
            hs_marriage_weekday(day) < 0)
            __builtin_trap();
    }
    if (hs_marriage_service_parse((const char *)data, size, &s) &&
        strlen(hs_marriage_service_name(s)) != size)
        __builtin_trap();
}

/* Two ID numbers, then bytes choosing the rest of a booking. */
static void fuzz_check(const uint8_t *data, size_t size, const struct hs_marriage_person *pa)
{
    struct hs_marriage_party a, b;
    struct hs_marriage_request q;
    struct hs_marriage_verdict v;
    struct hs_marriage_rules r;
    struct hs_marriage_office o;
    const uint8_t *x = data + 36;
    int32_t today;
    static const char hours[] = "mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00";

    if (size < 36 + 12)
        return;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.person = *pa;
    if (hs_marriage_person_from_id((const char *)data + 18, 18, &b.person, NULL, 0) != HS_OK)
        return;
    hs_marriage_rules_defaults(&r);
    r.require_opposite_sex = x[0] & 1;
    r.extend_over_closed = x[0] & 2;
    hs_marriage_office_init(&o);
    memcpy(o.id, "fuzz", 5);
    memcpy(o.name, "fuzz", 5);
    o.region = 411702;
    o.cross_province = x[0] & 4;
    o.services = (x[1] & 0x1E) ? (x[1] & 0x1E) : HS_MARRIAGE_SVC_ALL;
    if (hs_marriage_hours_parse(hours, strlen(hours), &o.hours, NULL, 0) != HS_OK ||
        !hs_marriage_day_from_ymd(2026, 1, 1, &today))
        __builtin_trap();
    hs_marriage_office_add_closure(&o, today + x[2] % 90, NULL, 0);

    a.status = (enum hs_marriage_status)(1 + x[3] % 4);
    b.status = (enum hs_marriage_status)(1 + x[4] % 4);
    a.active_bookings = x[5] % 3;
    a.n_no_shows = x[6] % 4;
    for (size_t i = 0; i < a.n_no_shows; i++)
        a.no_shows[i] = today - x[7 + i % 3] * 2;
    memset(&q, 0, sizeof(q));
    q.service = (enum hs_marriage_service)(1 + x[10] % 4);
    q.a = &a;
    q.b = q.service == HS_MARRIAGE_SVC_REISSUE ? NULL : &b;
    q.day = today + x[11] % 120;
    q.start = (uint16_t)(x[7] * 6 % 1440);
    q.now = hs_marriage_local_at(today, x[8] % 144 * 10);
    q.office = (x[0] & 8) ? NULL : &o;
    q.married_to_each_other = x[0] & 16;
    q.application_day = (x[0] & 32) ? today - x[9] % 100 : HS_MARRIAGE_NO_DAY;

    if (hs_marriage_check(&r, &q, &v) != HS_OK || !v.code ||
        v.ok != (v.refusal == HS_MARRIAGE_OK) || !memchr(v.zh, '\0', sizeof(v.zh)) ||
        !memchr(v.en, '\0', sizeof(v.en)) || (!v.ok && (!v.zh[0] || !v.en[0])) ||
        strcmp(v.code, hs_marriage_refusal_code(v.refusal)) != 0)
        __builtin_trap();
    if (hs_marriage_check_cancel(&r, q.day, q.start, q.now, &v) != HS_OK)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hs_marriage_person p;

    fuzz_hours(data, size);
    fuzz_rules(data, size);
    fuzz_date(data, size);
    fuzz_person(data, size, &p);
    if (size >= 18 && fuzz_person(data, 18, &p))
        fuzz_check(data, size, &p);
    return 0;
}
