/*
 * The rules of marriage-registration appointments (婚姻登记预约), as a pure
 * library (server/src/marriage/): who may book which service at which
 * registry (婚姻登记处) on which day, and why not. No database, network,
 * threads, clock or allocation: the caller passes the registry facts, the
 * office and the current time, and gets a verdict with a stable code and
 * what to do next in Simplified Chinese and English.
 *
 * Days are int32_t day numbers: days since 1970-01-01 (day 0), within
 * HS_MARRIAGE_DAY_MIN (1900-01-01) .. HS_MARRIAGE_DAY_MAX (2099-12-31), the
 * years a citizen ID number can hold. Times are int64_t "local seconds":
 * seconds since 1970-01-01 00:00 on the registry's wall clock (Beijing time,
 * UTC+8, no daylight saving), so local / 86400 is the day and local % 86400
 * the second of the day. hs_marriage_local_time() turns unix time into it;
 * nothing here reads the clock or the process time zone. Minutes of a day
 * (opening hours, slots) count from local midnight, 0..1440.
 *
 * Every text from outside (an ID number, the opening hours a bureau wrote, a
 * rule value) is hostile: it is read with its length, never past it, never
 * truncated; anything that does not parse is an error with a message, and
 * the output is untouched on failure. Caps are fixed (HS_MARRIAGE_MAX_*);
 * more than a cap is an error. Error texts go into err (capacity err_cap,
 * always NUL-terminated when err_cap > 0; err may be NULL) and never contain
 * a citizen ID number.
 *
 * Results: HS_OK; HS_E_INVALID_ARG (a NULL pointer, an unknown enum value,
 * a day or time out of range, a struct that does not satisfy its documented
 * ranges); HS_E_MALFORMED (text that does not parse); HS_E_TOO_LARGE (over
 * a cap); HS_E_CONFIG (a rule key or value that is not valid); HS_E_CONFLICT
 * (a date given twice).
 */
#ifndef HS_MARRIAGE_H
#define HS_MARRIAGE_H

#include "hs/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- days and local times ---------------------------------------------------------- */

#define HS_MARRIAGE_DAY_MIN    (-25567)   /* 1900-01-01 */
#define HS_MARRIAGE_DAY_MAX    47481      /* 2099-12-31 */
#define HS_MARRIAGE_NO_DAY     INT32_MIN  /* "no day": no application on record, ... */
#define HS_MARRIAGE_UTC_OFFSET (8 * 3600) /* Beijing time, seconds east of UTC */
#define HS_MARRIAGE_DATE_LEN   11         /* "2026-05-20" and its NUL */
#define HS_MARRIAGE_TIME_LEN   17         /* "2026-05-20 08:30" and its NUL */
#define HS_MARRIAGE_LOCAL_MIN  (INT64_C(-25567) * 86400)    /* 1900-01-01 00:00 local */
#define HS_MARRIAGE_LOCAL_MAX  (INT64_C(47482) * 86400 - 1) /* 2099-12-31 23:59:59 local */

/* ISO weekdays, Monday first. */
enum hs_marriage_weekday {
    HS_MARRIAGE_MON = 0,
    HS_MARRIAGE_TUE,
    HS_MARRIAGE_WED,
    HS_MARRIAGE_THU,
    HS_MARRIAGE_FRI,
    HS_MARRIAGE_SAT,
    HS_MARRIAGE_SUN,
};

/* The day number of a real calendar date in 1900..2099 (leap years counted); false otherwise. */
bool hs_marriage_day_from_ymd(int year, int month, int mday, int32_t *day);
/* The calendar date of a day in range; false (outputs untouched) for a day out of range. */
bool hs_marriage_day_to_ymd(int32_t day, int *year, int *month, int *mday);
/* The weekday of a day in range, or -1. */
int hs_marriage_weekday(int32_t day);
/*
 * Reads exactly "YYYY-MM-DD" (n bytes, no spaces, a real date in 1900..2099);
 * false for anything else, *day untouched.
 */
bool hs_marriage_day_parse(const char *s, size_t n, int32_t *day);
/* Writes "YYYY-MM-DD" into out (cap >= HS_MARRIAGE_DATE_LEN); false (out = "") otherwise. */
bool hs_marriage_day_format(int32_t day, char *out, size_t cap);
/* Unix seconds to local seconds (adds HS_MARRIAGE_UTC_OFFSET). */
int64_t hs_marriage_local_time(int64_t unix_seconds);
/* The local seconds of minute (0..1440) of day; -1 when either is out of range. */
int64_t hs_marriage_local_at(int32_t day, int minute);
/*
 * Writes local seconds as "YYYY-MM-DD HH:MM" (cap >= HS_MARRIAGE_TIME_LEN);
 * false (out = "") when out of HS_MARRIAGE_LOCAL_MIN..MAX or too small.
 */
bool hs_marriage_time_format(int64_t local, char *out, size_t cap);

/* ---- a person, from the citizen ID number only ------------------------------------ */

enum hs_marriage_sex {
    HS_MARRIAGE_MALE = 1,
    HS_MARRIAGE_FEMALE,
};

struct hs_marriage_person {
    char id[19];              /* the 18 characters (a check 'x' written 'X'), NUL-terminated */
    char masked[19];          /* the same through cl_id_mask() ("110***********123X"): for logs */
    enum hs_marriage_sex sex; /* the 17th character: odd male, even female */
    int32_t birth;            /* day number of characters 7-14 (YYYYMMDD) */
    int32_t region; /* the first 6 digits (GB/T 2260, where the number was first issued) */
    int province;   /* the first 2 digits as a number (11 Beijing ... 65 Xinjiang; 81 ...) */
    bool mainland;  /* province is one of the 31 mainland provinces (内地居民) */
};

/*
 * Reads a citizen ID number (GB 11643-1999, n bytes) checked with
 * cl_cn_id_check(): 17 digits, the MOD 11-2 check character, a real birth
 * date. The first two digits must be a mainland province code, 81 (Hong
 * Kong) or 82 (Macao) or 83 (Taiwan) residence permits, or 9 and a mainland
 * province code (the 2023 foreign permanent resident ID card); those give
 * mainland = false.
 * Everything in the person comes from the number, never from typed data.
 * HS_E_INVALID_ARG for NULL; HS_E_MALFORMED with the reason in err (length,
 * characters, birth date, check character, province code); out untouched on
 * failure.
 */
hs_rc hs_marriage_person_from_id(const char *id, size_t n, struct hs_marriage_person *out,
                                 char *err, size_t err_cap);

/*
 * Full years of age (周岁) on day: the years since birth, counting a year
 * on the birthday itself. Someone born on 29 February turns a year older on
 * 1 March in a non-leap year (on 28 February they are still the younger
 * age). -1 when day is before the birth or out of range.
 */
int hs_marriage_age(const struct hs_marriage_person *p, int32_t day);
/*
 * The day on which p turns `years` old under the rule above (29 February
 * gives 1 March in a non-leap year); HS_MARRIAGE_NO_DAY when out of range.
 */
int32_t hs_marriage_birthday(const struct hs_marriage_person *p, int years);

/* ---- services ------------------------------------------------------------------------ */

enum hs_marriage_service {
    HS_MARRIAGE_SVC_MARRIAGE = 1,    /* 结婚登记: two parties */
    HS_MARRIAGE_SVC_DIVORCE_APPLY,   /* 离婚登记申请: two parties */
    HS_MARRIAGE_SVC_DIVORCE_CONFIRM, /* 离婚登记确认 (申请发给离婚证): two parties */
    HS_MARRIAGE_SVC_REISSUE,         /* 补领婚姻登记证: one party */
};
#define HS_MARRIAGE_SVC_COUNT 4
/* An office's services as a bit set: bit (1u << service). */
#define HS_MARRIAGE_SVC_BIT(s) (1u << (unsigned)(s))
#define HS_MARRIAGE_SVC_ALL                                 \
    (HS_MARRIAGE_SVC_BIT(HS_MARRIAGE_SVC_MARRIAGE) |        \
     HS_MARRIAGE_SVC_BIT(HS_MARRIAGE_SVC_DIVORCE_APPLY) |   \
     HS_MARRIAGE_SVC_BIT(HS_MARRIAGE_SVC_DIVORCE_CONFIRM) | \
     HS_MARRIAGE_SVC_BIT(HS_MARRIAGE_SVC_REISSUE))

/* "marriage", "divorce_application", "divorce_confirmation", "reissue"; "?" otherwise. */
const char *hs_marriage_service_name(enum hs_marriage_service s);
/* "结婚登记", "离婚登记申请", "离婚登记确认", "补领婚姻登记证"; "?" otherwise. */
const char *hs_marriage_service_name_zh(enum hs_marriage_service s);
/* "marriage registration", ... "certificate re-issue", for messages; "?" otherwise. */
const char *hs_marriage_service_name_en(enum hs_marriage_service s);
/* The service of a name above (n bytes); false for anything else. */
bool hs_marriage_service_parse(const char *s, size_t n, enum hs_marriage_service *out);
/* 2 for the two-party services, 1 for re-issue, 0 for an unknown value. */
int hs_marriage_service_parties(enum hs_marriage_service s);

/* ---- rules the bureau can change ([marriage] in the configuration) ------------------ */

#define HS_MARRIAGE_MAX_NO_SHOWS 16 /* no-show days a party may carry; also no_show_limit's cap */

/*
 * Every field is a whole number in the range given, or a bool; the key of
 * hs_marriage_rules_set() is the field's name.
 */
struct hs_marriage_rules {
    int min_age_male;          /* years, 16..40; 22 (《民法典》第1047条) */
    int min_age_female;        /* years, 16..40; 20 (第1047条) */
    bool require_opposite_sex; /* true: a marriage is one man and one woman (第1046、1049条) */
    int cooling_off_days;      /* 0..180; 30: days after the application is received (第1077条) */
    int confirm_window_days;   /* 1..180; 30: days after the cooling-off period to confirm */
    bool extend_over_closed;   /* true: a period whose last day the office is closed ends on
                                * the next day it is open (第203条); see hs_marriage_check() */
    int book_ahead_days;       /* 0..365; 30: a day opens for booking this many days ahead at
                                * 00:00 (0: the same day only) */
    int cancel_until_hours;    /* 0..168; 24: a booking may be cancelled until this many hours
                                * before its start */
    int no_show_limit;         /* 0..HS_MARRIAGE_MAX_NO_SHOWS; 2 (0: no-shows never bar) */
    int no_show_period_days;   /* 1..730; 180: the limit counts no-shows within this many days */
    int no_show_ban_days;      /* 1..730; 90: booking is barred this long from the no-show that
                                * reached the limit (that day included) */
    int max_active_bookings;   /* 1..10; 1: open appointments per person per service */
};

/* The defaults given above. */
void hs_marriage_rules_defaults(struct hs_marriage_rules *r);

/*
 * Sets one rule: key is a field name above, value its text, both
 * NUL-terminated, nothing trimmed. Numbers are plain decimal digits without
 * sign, spaces or leading zeros, within the field's range; bools are "true"
 * or "false". HS_E_CONFIG with err ("min_age_male must be a whole number
 * from 16 to 40, not '2x'") for an unknown key or a bad value, r untouched;
 * HS_E_INVALID_ARG for NULL.
 */
hs_rc hs_marriage_rules_set(struct hs_marriage_rules *r, const char *key, const char *value,
                            char *err, size_t err_cap);

#define HS_MARRIAGE_MAX_LINE 256 /* bytes in one "key = value" line */

/*
 * Sets one rule from a line of the [marriage] section (n bytes, at most
 * HS_MARRIAGE_MAX_LINE): "key = value", spaces and tabs around key and value
 * and a final CR ignored. An empty line or one starting with '#' or ';' is a
 * comment: HS_OK, nothing set. Errors as hs_marriage_rules_set(), plus
 * HS_E_CONFIG for a line without '=', with a NUL or control byte, or longer
 * than the cap.
 */
hs_rc hs_marriage_rules_set_line(struct hs_marriage_rules *r, const char *line, size_t n, char *err,
                                 size_t err_cap);

/*
 * Writes rule i (0, 1, ... in the order of the struct) as the line
 * hs_marriage_rules_set_line() reads back ("min_age_male = 22", no line
 * break); false (out = "") past the last rule or when cap is too small.
 */
bool hs_marriage_rules_line(const struct hs_marriage_rules *r, size_t i, char *out, size_t cap);

/* HS_OK when every field is within its range; HS_E_CONFIG naming the first that is not. */
hs_rc hs_marriage_rules_check(const struct hs_marriage_rules *r, char *err, size_t err_cap);

/* ---- opening hours ----------------------------------------------------------------- */

#define HS_MARRIAGE_MAX_RANGES 8    /* opening ranges per day */
#define HS_MARRIAGE_MAX_HOURS  1024 /* bytes of an opening-hours text */

/* Minutes after local midnight, start < end <= 1440; a range is [start, end). */
struct hs_marriage_range {
    uint16_t start;
    uint16_t end;
};

/* One day's opening: n ranges (0: closed) in order, not overlapping (they may touch). */
struct hs_marriage_day_hours {
    struct hs_marriage_range r[HS_MARRIAGE_MAX_RANGES];
    uint8_t n;
};

/* A week's opening, indexed by enum hs_marriage_weekday. */
struct hs_marriage_hours {
    struct hs_marriage_day_hours day[7];
};

/*
 * Reads the week's opening hours as a bureau writes them (n bytes, at most
 * HS_MARRIAGE_MAX_HOURS): groups separated by ';', each a list of weekdays
 * and day ranges, then spaces, then a list of times, for example
 *     "mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00"
 *     "mon,wed,fri 09:00-16:00; tue-thu 09:00-11:00"  (an error: wed twice)
 * Weekdays are mon tue wed thu fri sat sun (lower case); a day range goes
 * forward (mon-fri, not fri-mon). Times are HH:MM (00:00..23:59, 24:00 as an
 * end), start before end, in order and not overlapping. Spaces and tabs may
 * stand around ',', '-' and ';'. A weekday in no group is closed; a weekday
 * in two groups, an empty group or text, more than HS_MARRIAGE_MAX_RANGES
 * ranges in a day, or any other byte is an error.
 * HS_E_MALFORMED with err naming the 1-based byte position, what was
 * expected and what was found ("position 10: expected a time HH:MM (two
 * digits each), found ':'"); HS_E_TOO_LARGE for too many ranges (with the
 * position) or a text over the cap; out untouched on failure.
 */
hs_rc hs_marriage_hours_parse(const char *text, size_t n, struct hs_marriage_hours *out, char *err,
                              size_t err_cap);

/*
 * Reads one day's ranges without weekdays ("09:00-12:00,14:00-17:00"), for a
 * special date with its own hours. The same rules and errors as above.
 */
hs_rc hs_marriage_day_hours_parse(const char *text, size_t n, struct hs_marriage_day_hours *out,
                                  char *err, size_t err_cap);

/* ---- registries (婚姻登记处) ----------------------------------------------------------- */

#define HS_MARRIAGE_MAX_CLOSURES 64                            /* closure dates per office */
#define HS_MARRIAGE_MAX_SPECIAL  64                            /* special dates per office */
#define HS_MARRIAGE_MAX_CAPACITY 999                           /* bookings per slot */
#define HS_MARRIAGE_SLOT_MIN     5                             /* minutes */
#define HS_MARRIAGE_SLOT_MAX     240                           /* minutes */
#define HS_MARRIAGE_MAX_SLOTS    (1440 / HS_MARRIAGE_SLOT_MIN) /* slots in one day, at most */
#define HS_MARRIAGE_ID_MAX       32  /* bytes of an office id, with the NUL */
#define HS_MARRIAGE_NAME_MAX     128 /* bytes of an office name, with the NUL */

/*
 * A special date (5月20日, 七夕, a 调休 working Saturday): its own capacity,
 * optionally its own hours, and optionally its own booking opening.
 */
struct hs_marriage_special {
    int32_t day;
    uint16_t capacity; /* per slot that day, 1..HS_MARRIAGE_MAX_CAPACITY */
    int64_t opens_at;  /* local seconds when booking for the day opens (e.g. 7 days before at
                        * 00:00), before the day ends; 0: the usual book_ahead_days window */
    struct hs_marriage_day_hours hours; /* n == 0: the weekday's usual hours */
};

/*
 * An office is plain data: fill it (hs_marriage_office_init() for the
 * defaults, the parsers and add functions for the rest) and check it with
 * hs_marriage_office_check(). Every function taking an office checks it again
 * and returns HS_E_INVALID_ARG when it is not valid.
 */
struct hs_marriage_office {
    char id[HS_MARRIAGE_ID_MAX];     /* 1-31 bytes of A-Z a-z 0-9 - _ . */
    char name[HS_MARRIAGE_NAME_MAX]; /* 1-127 bytes of UTF-8 without control characters */
    int32_t region;                  /* the 6-digit GB/T 2260 code of a mainland region */
    bool cross_province;             /* 跨省通办: serves residents of every mainland province */
    unsigned services;               /* HS_MARRIAGE_SVC_BIT()s; at least one */
    struct hs_marriage_hours hours;  /* the usual week */
    uint16_t slot_minutes;           /* HS_MARRIAGE_SLOT_MIN..MAX; 30 */
    uint16_t capacity;               /* bookings per slot (windows), 1..MAX_CAPACITY; 1 */
    size_t n_closures;
    int32_t closures[HS_MARRIAGE_MAX_CLOSURES]; /* days closed (holidays), distinct */
    size_t n_special;
    struct hs_marriage_special special[HS_MARRIAGE_MAX_SPECIAL]; /* distinct days, none closed */
};

/*
 * Empties o and sets the defaults: no id or name, region 0 (both to be set),
 * no cross-province service, every service, closed every day, 30-minute
 * slots, capacity 1.
 */
void hs_marriage_office_init(struct hs_marriage_office *o);

/*
 * HS_OK when o satisfies every rule above; HS_E_INVALID_ARG with err naming
 * the first that it does not ("closure 3 (2026-10-01) is given twice").
 */
hs_rc hs_marriage_office_check(const struct hs_marriage_office *o, char *err, size_t err_cap);

/*
 * Adds a closure date. HS_E_INVALID_ARG for a day out of range, HS_E_CONFLICT
 * when the day is a closure or special date already, HS_E_TOO_LARGE when
 * HS_MARRIAGE_MAX_CLOSURES are there; o unchanged on failure.
 */
hs_rc hs_marriage_office_add_closure(struct hs_marriage_office *o, int32_t day, char *err,
                                     size_t err_cap);
/* Adds a special date: the same errors, plus HS_E_INVALID_ARG for fields out of range. */
hs_rc hs_marriage_office_add_special(struct hs_marriage_office *o,
                                     const struct hs_marriage_special *s, char *err,
                                     size_t err_cap);

/* One bookable slot: [start, end) minutes after local midnight, capacity bookings. */
struct hs_marriage_slot {
    uint16_t start;
    uint16_t end;
    uint16_t capacity;
};

/*
 * The slots of o on day, in order: each opening range (the special date's
 * own hours if it has them, else the weekday's) cut into slot_minutes from
 * its start; a remainder shorter than a slot is not offered. Capacity is
 * the special date's on a special date, else the office's. A closure date or
 * a day without hours has none (*n = 0, HS_OK). out holds cap slots
 * (HS_MARRIAGE_MAX_SLOTS always suffice); HS_E_TOO_LARGE when more are due
 * (*n = 0). HS_E_INVALID_ARG for a bad office or day.
 */
hs_rc hs_marriage_office_slots(const struct hs_marriage_office *o, int32_t day,
                               struct hs_marriage_slot *out, size_t cap, size_t *n);

/*
 * When booking for day opens, in local seconds: a special date's opens_at if
 * it has one, else 00:00 of day - r->book_ahead_days. o may be NULL (the
 * usual window). HS_E_INVALID_ARG for bad rules, office or day.
 */
hs_rc hs_marriage_booking_opens(const struct hs_marriage_rules *r,
                                const struct hs_marriage_office *o, int32_t day, int64_t *opens_at);
/*
 * Whether booking for day is open at now (local seconds): from the opening
 * above until the day ends. Slots that have begun are refused by
 * hs_marriage_check() (in_the_past). Errors as above, or a now out of range.
 */
hs_rc hs_marriage_booking_open(const struct hs_marriage_rules *r,
                               const struct hs_marriage_office *o, int32_t day, int64_t now,
                               bool *open);

/* ---- the registry facts of a party ---------------------------------------------------- */

enum hs_marriage_status {
    HS_MARRIAGE_SINGLE = 1, /* 未婚 */
    HS_MARRIAGE_MARRIED,    /* 有配偶 */
    HS_MARRIAGE_DIVORCED,   /* 离婚 */
    HS_MARRIAGE_WIDOWED,    /* 丧偶 */
};

/*
 * One party of a booking: the person from their ID card and what the
 * marriage registry and the booking store say about them, as of now.
 */
struct hs_marriage_party {
    struct hs_marriage_person person; /* from hs_marriage_person_from_id(); checked again */
    enum hs_marriage_status status;
    /* The 6-digit code of the household registration (户籍), from the registry; 0: unknown,
     * and the ID number's region stands in (it stays where the number was first issued even
     * after the household registration moves). */
    int32_t hukou_region;
    unsigned active_bookings; /* their open appointments for the service being booked */
    size_t n_no_shows;        /* 0..HS_MARRIAGE_MAX_NO_SHOWS */
    int32_t no_shows[HS_MARRIAGE_MAX_NO_SHOWS]; /* days of missed appointments, any order, none
                                                 * after today; the most recent ones suffice */
};

/*
 * Whether office o may register for these parties (b NULL for a one-party
 * service): with cross_province, always (both being mainland residents);
 * otherwise the office's province must be the household-registration
 * province of at least one party. HS_E_INVALID_ARG for a bad office or party.
 */
hs_rc hs_marriage_office_competent(const struct hs_marriage_office *o,
                                   const struct hs_marriage_party *a,
                                   const struct hs_marriage_party *b, bool *competent);

/* ---- the verdict on a booking ----------------------------------------------------------- */

/* Why a booking (or cancellation) is refused; the stable codes are hs_marriage_refusal_code(). */
enum hs_marriage_refusal {
    HS_MARRIAGE_OK = 0,              /* "ok" */
    HS_MARRIAGE_SAME_PERSON,         /* "same_person" */
    HS_MARRIAGE_NOT_MAINLAND,        /* "not_mainland_resident" */
    HS_MARRIAGE_NOT_MAN_AND_WOMAN,   /* "not_man_and_woman" */
    HS_MARRIAGE_ALREADY_MARRIED,     /* "already_married" */
    HS_MARRIAGE_NOT_MARRIED_TO_EACH, /* "not_married_to_each_other" */
    HS_MARRIAGE_APPLICATION_PENDING, /* "application_pending" */
    HS_MARRIAGE_NO_APPLICATION,      /* "no_divorce_application" */
    HS_MARRIAGE_NOTHING_TO_REISSUE,  /* "nothing_to_reissue" */
    HS_MARRIAGE_NO_SHOW_BAN,         /* "no_show_ban" */
    HS_MARRIAGE_ACTIVE_BOOKING,      /* "active_booking_exists" */
    HS_MARRIAGE_SERVICE_NOT_OFFERED, /* "service_not_offered" */
    HS_MARRIAGE_NOT_COMPETENT,       /* "office_not_competent" */
    HS_MARRIAGE_IN_THE_PAST,         /* "in_the_past" */
    HS_MARRIAGE_TOO_FAR_AHEAD,       /* "too_far_ahead" */
    HS_MARRIAGE_BOOKING_NOT_OPEN,    /* "booking_not_open" */
    HS_MARRIAGE_OFFICE_CLOSED,       /* "office_closed" */
    HS_MARRIAGE_NO_SUCH_SLOT,        /* "no_such_slot" */
    HS_MARRIAGE_UNDER_AGE,           /* "under_age" */
    HS_MARRIAGE_COOLING_OFF,         /* "cooling_off_not_over" */
    HS_MARRIAGE_WINDOW_PASSED,       /* "confirm_window_passed" */
    HS_MARRIAGE_CANCEL_TOO_LATE,     /* "cancel_too_late" */
    HS_MARRIAGE_REFUSAL_COUNT        /* not a refusal: the number of codes */
};

/* The stable code ("under_age"); "unknown" for a value out of range. */
const char *hs_marriage_refusal_code(enum hs_marriage_refusal r);

#define HS_MARRIAGE_MSG_MAX 512 /* bytes of a message, with the NUL */

struct hs_marriage_verdict {
    bool ok;
    enum hs_marriage_refusal refusal; /* HS_MARRIAGE_OK when ok */
    const char *code;                 /* hs_marriage_refusal_code(refusal) */
    int party; /* the party refused: 1 (A), 2 (B), 0 (the couple or the booking) */
    /* The first day that would pass this check, or HS_MARRIAGE_NO_DAY: under_age, the
     * birthday; no_show_ban, the day the ban ends; too_far_ahead and booking_not_open, the day
     * booking opens; cooling_off_not_over and application_pending, the first day to confirm. */
    int32_t from_day;
    /* cooling_off_not_over, application_pending, confirm_window_passed: the last day to
     * confirm; otherwise HS_MARRIAGE_NO_DAY. */
    int32_t until_day;
    char zh[HS_MARRIAGE_MSG_MAX]; /* what to do next, Simplified Chinese; "" when ok */
    char en[HS_MARRIAGE_MSG_MAX]; /* the same in English */
};

struct hs_marriage_request {
    enum hs_marriage_service service;
    int32_t day;    /* the appointment's day */
    uint16_t start; /* the slot's start, minutes after local midnight (0..1439) */
    int64_t now;    /* local seconds: when the booking is made */
    const struct hs_marriage_office *office; /* NULL: no office checks (and no period extension) */
    const struct hs_marriage_party *a;       /* required */
    const struct hs_marriage_party *b;       /* the other party; NULL for re-issue only */
    /* Divorce: the registry shows A and B married to each other. */
    bool married_to_each_other;
    /* Divorce: the day the registry received A and B's divorce application that is neither
     * withdrawn nor decided, or HS_MARRIAGE_NO_DAY. Required to confirm; on applying, a
     * pending one (its confirmation window not over) refuses a second. */
    int32_t application_day;
};

/*
 * Judges a booking under rules r. Returns HS_OK with the verdict in *out
 * (ok, or the first refusal below), or HS_E_INVALID_ARG for bad input (a
 * NULL, an unknown service or status, B missing for a two-party service or
 * given for re-issue, a person whose fields are not what their ID number
 * says, a day or time out of range, a no-show or an application after today,
 * bad rules or office); *out is then zeroed (ok false, code NULL, messages "").
 *
 * The checks, in this order (the first that fails is the verdict):
 *  1. same_person: A and B have the same ID number.
 *  2. not_mainland_resident: a party's ID is not a mainland one (the kiosk
 *     books 内地居民 registrations; the others go to the counter).
 *  3. The service's standing, from the registry facts:
 *     marriage: not_man_and_woman (if require_opposite_sex: one male, one
 *     female by their ID numbers), already_married (a party married; single,
 *     divorced and widowed may marry); divorce application and confirmation:
 *     not_married_to_each_other (married_to_each_other false or a party not
 *     married); application: application_pending (a pending application whose
 *     confirmation window is not over: no need to apply again); confirmation:
 *     no_divorce_application; re-issue: nothing_to_reissue (single: never
 *     married).
 *  4. no_show_ban (A, then B): no_show_limit no-shows within
 *     no_show_period_days bar booking from the later one for
 *     no_show_ban_days, judged on today (now's day).
 *  5. active_booking_exists (A, then B): active_bookings >= max_active_bookings.
 *  6. With an office: service_not_offered; office_not_competent
 *     (hs_marriage_office_competent()).
 *  7. in_the_past: the slot starts at or before now.
 *  8. booking_not_open (a special date whose opens_at is after now) or
 *     too_far_ahead (the usual window: day > today + book_ahead_days).
 *  9. With an office: office_closed (no slots that day), no_such_slot (start
 *     is not a slot's start). Without, start must only be 0..1439.
 * 10. Judged on the appointment day: marriage: under_age (A, then B: full
 *     years by hs_marriage_age() below min_age_male or min_age_female for
 *     the party's sex); confirmation, with D the application day: the
 *     cooling-off period is days D+1 .. D+cooling_off_days (the day received
 *     is not counted, 第201条), the confirmation window the next
 *     confirm_window_days days: with the defaults, days D+31 .. D+60.
 *     Earlier: cooling_off_not_over; later: confirm_window_passed (after the
 *     window the application counts as withdrawn). With extend_over_closed
 *     and an office, a period whose last day has no slots at the office ends
 *     on the next day that has (at most 60 days later), as 第203条 extends a
 *     period ending on a rest day or holiday.
 */
hs_rc hs_marriage_check(const struct hs_marriage_rules *r, const struct hs_marriage_request *req,
                        struct hs_marriage_verdict *out);

/*
 * Whether a booking for the slot at minute start of day may still be
 * cancelled at now: until r->cancel_until_hours before its start (that very
 * second included). HS_OK with an ok verdict or cancel_too_late;
 * HS_E_INVALID_ARG for bad rules, day, minute or time.
 */
hs_rc hs_marriage_check_cancel(const struct hs_marriage_rules *r, int32_t day, uint16_t start,
                               int64_t now, struct hs_marriage_verdict *out);

#endif
