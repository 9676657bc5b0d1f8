/* Registries as data: the opening hours a bureau writes (parsed strictly, errors naming the
 * position), closures and special dates, the slots of a day, when booking opens, and which
 * registry may serve which residents. */
#include "marriage_int.h"

#include "hm/cursor.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- opening-hours text --------------------------------------------------------------- */

static const char *const day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

struct hours_parser {
    struct hm_cursor c;
    size_t total;
    char *err;
    size_t err_cap;
};

/* The 1-based position of the next byte. */
static size_t pos_of(const struct hours_parser *p)
{
    return p->total - hm_cursor_left(&p->c) + 1;
}

static hs_rc fail_at(const struct hours_parser *p, size_t pos, hs_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static hs_rc fail_at(const struct hours_parser *p, size_t pos, hs_rc rc, const char *fmt, ...)
{
    char what[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    hs_marriage_errf(p->err, p->err_cap, "position %zu: %s", pos, what);
    return rc;
}

/* "expected X, found 'c'" (or a byte in hex, or the end of the text), at the next byte. */
static hs_rc expected(const struct hours_parser *p, const char *what)
{
    uint8_t c;

    if (!hm_cursor_peek_u8(&p->c, &c))
        return fail_at(p, pos_of(p), HS_E_MALFORMED, "expected %s, found the end of the text",
                       what);
    if (c > 0x20 && c < 0x7F)
        return fail_at(p, pos_of(p), HS_E_MALFORMED, "expected %s, found '%c'", what, (char)c);
    return fail_at(p, pos_of(p), HS_E_MALFORMED, "expected %s, found byte 0x%02X", what, c);
}

static bool at(const struct hours_parser *p, uint8_t want)
{
    uint8_t c;
    return hm_cursor_peek_u8(&p->c, &c) && c == want;
}

static bool at_digit(const struct hours_parser *p)
{
    uint8_t c;
    return hm_cursor_peek_u8(&p->c, &c) && c >= '0' && c <= '9';
}

/* Skips spaces and tabs; true when there was at least one. */
static bool skip_blanks(struct hours_parser *p)
{
    bool any = false;

    while (at(p, ' ') || at(p, '\t')) {
        hm_cursor_skip(&p->c, 1);
        any = true;
    }
    return any;
}

static hs_rc parse_weekday(struct hours_parser *p, int *wd)
{
    struct hm_cursor save = p->c;
    const uint8_t *b;

    if (hm_cursor_bytes(&p->c, 3, &b)) {
        for (int i = 0; i < 7; i++)
            if (memcmp(b, day_names[i], 3) == 0) {
                *wd = i;
                return HS_OK;
            }
        /* Back to the weekday's first byte, which the error names. */
        p->c = save;
    }
    return expected(p, "a weekday (mon, tue, wed, thu, fri, sat or sun)");
}

static hs_rc parse_two_digits(struct hours_parser *p, int *v)
{
    uint8_t a, b;

    if (!at_digit(p))
        return expected(p, "a time HH:MM");
    hm_cursor_u8(&p->c, &a);
    if (!at_digit(p))
        return expected(p, "a time HH:MM (two digits each)");
    hm_cursor_u8(&p->c, &b);
    *v = (a - '0') * 10 + (b - '0');
    return HS_OK;
}

/* HH:MM into minutes; 24:00 only when end is true. */
static hs_rc parse_time(struct hours_parser *p, bool end, uint16_t *minutes)
{
    size_t start = pos_of(p);
    int h, m;
    hs_rc rc;

    if ((rc = parse_two_digits(p, &h)) != HS_OK)
        return rc;
    if (!at(p, ':'))
        return expected(p, "':' between hours and minutes");
    hm_cursor_skip(&p->c, 1);
    if ((rc = parse_two_digits(p, &m)) != HS_OK)
        return rc;
    if (h == 24 && m == 0) {
        if (!end)
            return fail_at(p, start, HS_E_MALFORMED, "24:00 can only end a range");
    } else if (h > 23 || m > 59) {
        return fail_at(p, start, HS_E_MALFORMED, "%02d:%02d is not a time of day (00:00-24:00)", h,
                       m);
    }
    *minutes = (uint16_t)(h * 60 + m);
    return HS_OK;
}

/* range (',' range)* into one day's hours, in order and not overlapping. */
static hs_rc parse_ranges(struct hours_parser *p, struct hs_marriage_day_hours *out)
{
    struct hs_marriage_day_hours h;
    hs_rc rc;

    memset(&h, 0, sizeof(h));
    for (;;) {
        size_t start_pos = pos_of(p);
        struct hs_marriage_range r;

        if ((rc = parse_time(p, false, &r.start)) != HS_OK)
            return rc;
        skip_blanks(p);
        if (!at(p, '-'))
            return expected(p, "'-' between the start and the end of a range");
        hm_cursor_skip(&p->c, 1);
        skip_blanks(p);
        if ((rc = parse_time(p, true, &r.end)) != HS_OK)
            return rc;
        if (r.end <= r.start)
            return fail_at(p, start_pos, HS_E_MALFORMED, "a range must end after it starts");
        if (h.n > 0 && r.start < h.r[h.n - 1].end)
            return fail_at(p, start_pos, HS_E_MALFORMED,
                           "ranges must be in order and must not overlap");
        if (h.n == HS_MARRIAGE_MAX_RANGES)
            return fail_at(p, start_pos, HS_E_TOO_LARGE, "more than %d ranges in a day",
                           HS_MARRIAGE_MAX_RANGES);
        h.r[h.n++] = r;
        skip_blanks(p);
        if (!at(p, ','))
            break;
        hm_cursor_skip(&p->c, 1);
        skip_blanks(p);
    }
    *out = h;
    return HS_OK;
}

/* Marks one weekday of a group; a weekday given before is an error at its position. */
static hs_rc mark_day(const struct hours_parser *p, size_t at_pos, int wd, unsigned *seen,
                      unsigned *group)
{
    if ((*seen | *group) & (1u << wd))
        return fail_at(p, at_pos, HS_E_MALFORMED, "%s is given twice", day_names[wd]);
    *group |= 1u << wd;
    return HS_OK;
}

/*
 * day ('-' day)? (',' ...)* into a set of weekdays; the cursor ends right
 * after the last weekday (blanks after it are left for the caller).
 */
static hs_rc parse_days(struct hours_parser *p, unsigned seen, unsigned *group)
{
    struct hm_cursor save;
    hs_rc rc;

    *group = 0;
    for (;;) {
        size_t first_pos = pos_of(p);
        int a = 0, b = 0;

        if ((rc = parse_weekday(p, &a)) != HS_OK)
            return rc;
        save = p->c;
        skip_blanks(p);
        if (at(p, '-')) {
            hm_cursor_skip(&p->c, 1);
            skip_blanks(p);
            size_t second_pos = pos_of(p);
            if ((rc = parse_weekday(p, &b)) != HS_OK)
                return rc;
            if (b < a)
                return fail_at(p, first_pos, HS_E_MALFORMED,
                               "a day range must go forward (mon-fri, not %s-%s)", day_names[a],
                               day_names[b]);
            for (int d = a; d <= b; d++)
                if ((rc = mark_day(p, d == b ? second_pos : first_pos, d, &seen, group)) != HS_OK)
                    return rc;
        } else {
            p->c = save;
            if ((rc = mark_day(p, first_pos, a, &seen, group)) != HS_OK)
                return rc;
        }
        save = p->c;
        skip_blanks(p);
        if (!at(p, ',')) {
            p->c = save;
            return HS_OK;
        }
        hm_cursor_skip(&p->c, 1);
        skip_blanks(p);
    }
}

static struct hours_parser parser_make(const char *text, size_t n, char *err, size_t err_cap)
{
    struct hours_parser p = { hm_cursor_make(text, n), n, err, err_cap };
    return p;
}

hs_rc hs_marriage_hours_parse(const char *text, size_t n, struct hs_marriage_hours *out, char *err,
                              size_t err_cap)
{
    struct hours_parser p = parser_make(text, n, err, err_cap);
    struct hs_marriage_hours h;
    unsigned seen = 0;
    hs_rc rc;

    hs_marriage_errf(err, err_cap, "%s", "");
    if ((!text && n > 0) || !out) {
        hs_marriage_errf(err, err_cap, "no opening hours given");
        return HS_E_INVALID_ARG;
    }
    if (n > HS_MARRIAGE_MAX_HOURS) {
        hs_marriage_errf(err, err_cap, "the opening hours are longer than %d bytes",
                         HS_MARRIAGE_MAX_HOURS);
        return HS_E_TOO_LARGE;
    }
    memset(&h, 0, sizeof(h));
    for (;;) {
        struct hs_marriage_day_hours ranges;
        unsigned group;

        skip_blanks(&p);
        if ((rc = parse_days(&p, seen, &group)) != HS_OK)
            return rc;
        if (!skip_blanks(&p))
            return expected(&p, "',' or '-' and a weekday, or a space and the times");
        if ((rc = parse_ranges(&p, &ranges)) != HS_OK)
            return rc;
        for (int d = 0; d < 7; d++)
            if (group & (1u << d))
                h.day[d] = ranges;
        seen |= group;
        if (hm_cursor_empty(&p.c))
            break;
        if (!at(&p, ';'))
            return expected(&p, "',' and another range, or ';' and the next weekdays");
        hm_cursor_skip(&p.c, 1);
    }
    *out = h;
    return HS_OK;
}

hs_rc hs_marriage_day_hours_parse(const char *text, size_t n, struct hs_marriage_day_hours *out,
                                  char *err, size_t err_cap)
{
    struct hours_parser p = parser_make(text, n, err, err_cap);
    struct hs_marriage_day_hours h;
    hs_rc rc;

    hs_marriage_errf(err, err_cap, "%s", "");
    if ((!text && n > 0) || !out) {
        hs_marriage_errf(err, err_cap, "no opening hours given");
        return HS_E_INVALID_ARG;
    }
    if (n > HS_MARRIAGE_MAX_HOURS) {
        hs_marriage_errf(err, err_cap, "the opening hours are longer than %d bytes",
                         HS_MARRIAGE_MAX_HOURS);
        return HS_E_TOO_LARGE;
    }
    skip_blanks(&p);
    if ((rc = parse_ranges(&p, &h)) != HS_OK)
        return rc;
    if (!hm_cursor_empty(&p.c))
        return expected(&p, "',' and another range, or the end of the text");
    *out = h;
    return HS_OK;
}

/* ---- offices ---------------------------------------------------------------------------- */

void hs_marriage_office_init(struct hs_marriage_office *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->services = HS_MARRIAGE_SVC_ALL;
    o->slot_minutes = 30;
    o->capacity = 1;
}

bool hs_marriage_day_hours_valid(const struct hs_marriage_day_hours *h)
{
    if (h->n > HS_MARRIAGE_MAX_RANGES)
        return false;
    for (size_t i = 0; i < h->n; i++) {
        const struct hs_marriage_range *r = &h->r[i];
        if (r->start >= r->end || r->end > 1440 || (i > 0 && r->start < h->r[i - 1].end))
            return false;
    }
    return true;
}

/* RFC 3629 UTF-8 without control characters (C0, DEL, C1). */
static bool text_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned char c = u[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F)
                return false;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0xA0) ||
            (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static bool bool_byte_ok(const bool *b)
{
    unsigned char v;
    memcpy(&v, b, 1);
    return v <= 1;
}

static bool is_closure(const struct hs_marriage_office *o, int32_t day)
{
    for (size_t i = 0; i < o->n_closures; i++)
        if (o->closures[i] == day)
            return true;
    return false;
}

static hs_rc special_check(const struct hs_marriage_special *s, char *err, size_t err_cap)
{
    if (!hs_marriage_day_ok(s->day)) {
        hs_marriage_errf(err, err_cap, "the special date is out of 1900-2099");
        return HS_E_INVALID_ARG;
    }
    if (s->capacity < 1 || s->capacity > HS_MARRIAGE_MAX_CAPACITY) {
        hs_marriage_errf(err, err_cap, "the capacity of a special date must be 1 to %d, not %u",
                         HS_MARRIAGE_MAX_CAPACITY, s->capacity);
        return HS_E_INVALID_ARG;
    }
    if (s->opens_at != 0 && (!hs_marriage_local_ok(s->opens_at) ||
                             s->opens_at >= ((int64_t)s->day + 1) * SECONDS_PER_DAY)) {
        hs_marriage_errf(err, err_cap, "booking for a special date must open before the day ends");
        return HS_E_INVALID_ARG;
    }
    if (!hs_marriage_day_hours_valid(&s->hours)) {
        hs_marriage_errf(err, err_cap,
                         "the hours of a special date are not in order or out of the day");
        return HS_E_INVALID_ARG;
    }
    return HS_OK;
}

hs_rc hs_marriage_office_check(const struct hs_marriage_office *o, char *err, size_t err_cap)
{
    char date[HS_MARRIAGE_DATE_LEN];
    size_t len;
    hs_rc rc;

    hs_marriage_errf(err, err_cap, "%s", "");
    if (!o) {
        hs_marriage_errf(err, err_cap, "no office given");
        return HS_E_INVALID_ARG;
    }
    len = strnlen(o->id, sizeof(o->id));
    if (len == 0 || len == sizeof(o->id)) {
        hs_marriage_errf(err, err_cap, "the office id must be 1 to %d bytes",
                         HS_MARRIAGE_ID_MAX - 1);
        return HS_E_INVALID_ARG;
    }
    for (size_t i = 0; i < len; i++)
        if (!id_char(o->id[i])) {
            hs_marriage_errf(err, err_cap, "the office id may hold only A-Z a-z 0-9 - _ .");
            return HS_E_INVALID_ARG;
        }
    len = strnlen(o->name, sizeof(o->name));
    if (len == 0 || len == sizeof(o->name) || !text_ok(o->name, len)) {
        hs_marriage_errf(err, err_cap, "office %s: the name must be 1 to %d bytes of UTF-8 text",
                         o->id, HS_MARRIAGE_NAME_MAX - 1);
        return HS_E_INVALID_ARG;
    }
    if (!hs_marriage_region_mainland(o->region)) {
        hs_marriage_errf(err, err_cap,
                         "office %s: the region must be a 6-digit code of a mainland province",
                         o->id);
        return HS_E_INVALID_ARG;
    }
    if (!bool_byte_ok(&o->cross_province) || o->services == 0 ||
        (o->services & ~(unsigned)HS_MARRIAGE_SVC_ALL) != 0) {
        hs_marriage_errf(err, err_cap, "office %s: the services are not a set of known services",
                         o->id);
        return HS_E_INVALID_ARG;
    }
    for (int d = 0; d < 7; d++)
        if (!hs_marriage_day_hours_valid(&o->hours.day[d])) {
            hs_marriage_errf(err, err_cap, "office %s: the hours of %s are not in order", o->id,
                             day_names[d]);
            return HS_E_INVALID_ARG;
        }
    if (o->slot_minutes < HS_MARRIAGE_SLOT_MIN || o->slot_minutes > HS_MARRIAGE_SLOT_MAX) {
        hs_marriage_errf(err, err_cap, "office %s: slots must be %d to %d minutes, not %u", o->id,
                         HS_MARRIAGE_SLOT_MIN, HS_MARRIAGE_SLOT_MAX, o->slot_minutes);
        return HS_E_INVALID_ARG;
    }
    if (o->capacity < 1 || o->capacity > HS_MARRIAGE_MAX_CAPACITY) {
        hs_marriage_errf(err, err_cap, "office %s: the capacity must be 1 to %d, not %u", o->id,
                         HS_MARRIAGE_MAX_CAPACITY, o->capacity);
        return HS_E_INVALID_ARG;
    }
    if (o->n_closures > HS_MARRIAGE_MAX_CLOSURES) {
        hs_marriage_errf(err, err_cap, "office %s: more than %d closures", o->id,
                         HS_MARRIAGE_MAX_CLOSURES);
        return HS_E_INVALID_ARG;
    }
    if (o->n_special > HS_MARRIAGE_MAX_SPECIAL) {
        hs_marriage_errf(err, err_cap, "office %s: more than %d special dates", o->id,
                         HS_MARRIAGE_MAX_SPECIAL);
        return HS_E_INVALID_ARG;
    }
    for (size_t i = 0; i < o->n_closures; i++) {
        if (!hs_marriage_day_ok(o->closures[i])) {
            hs_marriage_errf(err, err_cap, "office %s: closure %zu is out of 1900-2099", o->id,
                             i + 1);
            return HS_E_INVALID_ARG;
        }
        for (size_t k = 0; k < i; k++)
            if (o->closures[k] == o->closures[i]) {
                hs_marriage_day_format(o->closures[i], date, sizeof(date));
                hs_marriage_errf(err, err_cap, "office %s: closure %zu (%s) is given twice", o->id,
                                 i + 1, date);
                return HS_E_INVALID_ARG;
            }
    }
    for (size_t i = 0; i < o->n_special; i++) {
        const struct hs_marriage_special *s = &o->special[i];
        char why[128];

        if ((rc = special_check(s, why, sizeof(why))) != HS_OK) {
            hs_marriage_errf(err, err_cap, "office %s: special date %zu: %s", o->id, i + 1, why);
            return rc;
        }
        hs_marriage_day_format(s->day, date, sizeof(date));
        if (is_closure(o, s->day)) {
            hs_marriage_errf(err, err_cap, "office %s: special date %zu (%s) is also a closure",
                             o->id, i + 1, date);
            return HS_E_INVALID_ARG;
        }
        for (size_t k = 0; k < i; k++)
            if (o->special[k].day == s->day) {
                hs_marriage_errf(err, err_cap, "office %s: special date %zu (%s) is given twice",
                                 o->id, i + 1, date);
                return HS_E_INVALID_ARG;
            }
    }
    return HS_OK;
}

bool hs_marriage_office_valid(const struct hs_marriage_office *o)
{
    return hs_marriage_office_check(o, NULL, 0) == HS_OK;
}

const struct hs_marriage_special *hs_marriage_office_special(const struct hs_marriage_office *o,
                                                             int32_t day)
{
    for (size_t i = 0; i < o->n_special; i++)
        if (o->special[i].day == day)
            return &o->special[i];
    return NULL;
}

static bool is_special(const struct hs_marriage_office *o, int32_t day)
{
    return hs_marriage_office_special(o, day) != NULL;
}

hs_rc hs_marriage_office_add_closure(struct hs_marriage_office *o, int32_t day, char *err,
                                     size_t err_cap)
{
    char date[HS_MARRIAGE_DATE_LEN];

    hs_marriage_errf(err, err_cap, "%s", "");
    if (!o || o->n_closures > HS_MARRIAGE_MAX_CLOSURES || o->n_special > HS_MARRIAGE_MAX_SPECIAL ||
        !hs_marriage_day_ok(day)) {
        hs_marriage_errf(err, err_cap, "no office, or a closure out of 1900-2099");
        return HS_E_INVALID_ARG;
    }
    hs_marriage_day_format(day, date, sizeof(date));
    if (is_closure(o, day) || is_special(o, day)) {
        hs_marriage_errf(err, err_cap, "%s is a closure or special date already", date);
        return HS_E_CONFLICT;
    }
    if (o->n_closures == HS_MARRIAGE_MAX_CLOSURES) {
        hs_marriage_errf(err, err_cap, "more than %d closures", HS_MARRIAGE_MAX_CLOSURES);
        return HS_E_TOO_LARGE;
    }
    o->closures[o->n_closures++] = day;
    return HS_OK;
}

hs_rc hs_marriage_office_add_special(struct hs_marriage_office *o,
                                     const struct hs_marriage_special *s, char *err, size_t err_cap)
{
    char date[HS_MARRIAGE_DATE_LEN];
    hs_rc rc;

    hs_marriage_errf(err, err_cap, "%s", "");
    if (!o || !s || o->n_closures > HS_MARRIAGE_MAX_CLOSURES ||
        o->n_special > HS_MARRIAGE_MAX_SPECIAL) {
        hs_marriage_errf(err, err_cap, "no office or special date given");
        return HS_E_INVALID_ARG;
    }
    if ((rc = special_check(s, err, err_cap)) != HS_OK)
        return rc;
    hs_marriage_day_format(s->day, date, sizeof(date));
    if (is_closure(o, s->day) || is_special(o, s->day)) {
        hs_marriage_errf(err, err_cap, "%s is a closure or special date already", date);
        return HS_E_CONFLICT;
    }
    if (o->n_special == HS_MARRIAGE_MAX_SPECIAL) {
        hs_marriage_errf(err, err_cap, "more than %d special dates", HS_MARRIAGE_MAX_SPECIAL);
        return HS_E_TOO_LARGE;
    }
    o->special[o->n_special++] = *s;
    return HS_OK;
}

/* The hours and capacity in force on a day of a valid office; false when it is a closure. */
static bool day_plan(const struct hs_marriage_office *o, int32_t day,
                     const struct hs_marriage_day_hours **hours, uint16_t *capacity)
{
    const struct hs_marriage_special *s = hs_marriage_office_special(o, day);
    int wd = hs_marriage_weekday(day);

    if (wd < 0 || is_closure(o, day))
        return false;
    *hours = &o->hours.day[wd];
    *capacity = o->capacity;
    if (s) {
        if (s->hours.n > 0)
            *hours = &s->hours;
        *capacity = s->capacity;
    }
    return true;
}

hs_rc hs_marriage_office_slots(const struct hs_marriage_office *o, int32_t day,
                               struct hs_marriage_slot *out, size_t cap, size_t *n)
{
    const struct hs_marriage_day_hours *h;
    uint16_t capacity;
    size_t k = 0;

    if (n)
        *n = 0;
    if (!n || (!out && cap > 0) || !hs_marriage_day_ok(day) || !hs_marriage_office_valid(o))
        return HS_E_INVALID_ARG;
    if (!day_plan(o, day, &h, &capacity))
        return HS_OK;
    for (size_t i = 0; i < h->n; i++)
        for (unsigned t = h->r[i].start; t + o->slot_minutes <= h->r[i].end; t += o->slot_minutes) {
            if (k == cap)
                return HS_E_TOO_LARGE;
            out[k].start = (uint16_t)t;
            out[k].end = (uint16_t)(t + o->slot_minutes);
            out[k].capacity = capacity;
            k++;
        }
    *n = k;
    return HS_OK;
}

bool hs_marriage_office_open_on(const struct hs_marriage_office *o, int32_t day)
{
    const struct hs_marriage_day_hours *h;
    uint16_t capacity;

    if (!day_plan(o, day, &h, &capacity))
        return false;
    for (size_t i = 0; i < h->n; i++)
        if (h->r[i].end - h->r[i].start >= o->slot_minutes)
            return true;
    return false;
}

hs_rc hs_marriage_booking_opens(const struct hs_marriage_rules *r,
                                const struct hs_marriage_office *o, int32_t day, int64_t *opens_at)
{
    const struct hs_marriage_special *s;

    if (!opens_at || !hs_marriage_rules_valid(r) || !hs_marriage_day_ok(day) ||
        (o && !hs_marriage_office_valid(o)))
        return HS_E_INVALID_ARG;
    s = o ? hs_marriage_office_special(o, day) : NULL;
    if (s && s->opens_at != 0)
        *opens_at = s->opens_at;
    else
        *opens_at = ((int64_t)day - r->book_ahead_days) * SECONDS_PER_DAY;
    return HS_OK;
}

hs_rc hs_marriage_booking_open(const struct hs_marriage_rules *r,
                               const struct hs_marriage_office *o, int32_t day, int64_t now,
                               bool *open)
{
    int64_t opens;
    hs_rc rc;

    if (!open || !hs_marriage_local_ok(now))
        return HS_E_INVALID_ARG;
    if ((rc = hs_marriage_booking_opens(r, o, day, &opens)) != HS_OK)
        return rc;
    *open = now >= opens && now < ((int64_t)day + 1) * SECONDS_PER_DAY;
    return HS_OK;
}

/* The household-registration province of a party (the ID number's when unknown). */
static int hukou_province(const struct hs_marriage_party *p)
{
    return p->hukou_region ? (int)(p->hukou_region / 10000) : p->person.province;
}

hs_rc hs_marriage_office_competent(const struct hs_marriage_office *o,
                                   const struct hs_marriage_party *a,
                                   const struct hs_marriage_party *b, bool *competent)
{
    int province;

    if (!competent || !hs_marriage_office_valid(o) || !hs_marriage_party_valid(a) ||
        (b && !hs_marriage_party_valid(b)))
        return HS_E_INVALID_ARG;
    province = (int)(o->region / 10000);
    if (!a->person.mainland || (b && !b->person.mainland))
        *competent = false;
    else
        *competent = o->cross_province || hukou_province(a) == province ||
                     (b && hukou_province(b) == province);
    return HS_OK;
}
