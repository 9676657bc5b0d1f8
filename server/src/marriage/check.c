/* The verdict on a marriage-registration booking or cancellation: the checks in a fixed order,
 * each refusal with a stable code and what the resident should do next, in Chinese and English. */
#include "marriage_int.h"

#include <stdio.h>
#include <string.h>

static const char *const refusal_codes[HS_MARRIAGE_REFUSAL_COUNT] = {
    [HS_MARRIAGE_OK] = "ok",
    [HS_MARRIAGE_SAME_PERSON] = "same_person",
    [HS_MARRIAGE_NOT_MAINLAND] = "not_mainland_resident",
    [HS_MARRIAGE_NOT_MAN_AND_WOMAN] = "not_man_and_woman",
    [HS_MARRIAGE_ALREADY_MARRIED] = "already_married",
    [HS_MARRIAGE_NOT_MARRIED_TO_EACH] = "not_married_to_each_other",
    [HS_MARRIAGE_APPLICATION_PENDING] = "application_pending",
    [HS_MARRIAGE_NO_APPLICATION] = "no_divorce_application",
    [HS_MARRIAGE_NOTHING_TO_REISSUE] = "nothing_to_reissue",
    [HS_MARRIAGE_NO_SHOW_BAN] = "no_show_ban",
    [HS_MARRIAGE_ACTIVE_BOOKING] = "active_booking_exists",
    [HS_MARRIAGE_SERVICE_NOT_OFFERED] = "service_not_offered",
    [HS_MARRIAGE_NOT_COMPETENT] = "office_not_competent",
    [HS_MARRIAGE_IN_THE_PAST] = "in_the_past",
    [HS_MARRIAGE_TOO_FAR_AHEAD] = "too_far_ahead",
    [HS_MARRIAGE_BOOKING_NOT_OPEN] = "booking_not_open",
    [HS_MARRIAGE_OFFICE_CLOSED] = "office_closed",
    [HS_MARRIAGE_NO_SUCH_SLOT] = "no_such_slot",
    [HS_MARRIAGE_UNDER_AGE] = "under_age",
    [HS_MARRIAGE_COOLING_OFF] = "cooling_off_not_over",
    [HS_MARRIAGE_WINDOW_PASSED] = "confirm_window_passed",
    [HS_MARRIAGE_CANCEL_TOO_LATE] = "cancel_too_late",
};

const char *hs_marriage_refusal_code(enum hs_marriage_refusal r)
{
    if ((unsigned)r >= HS_MARRIAGE_REFUSAL_COUNT || !refusal_codes[r])
        return "unknown";
    return refusal_codes[r];
}

/* ---- message pieces --------------------------------------------------------------------- */

/* "2026年5月20日" */
static void date_zh(int32_t day, char *out, size_t cap)
{
    int y, m, d;

    if (hs_marriage_day_to_ymd(day, &y, &m, &d))
        snprintf(out, cap, "%d年%d月%d日", y, m, d);
    else
        snprintf(out, cap, "?");
}

/* "2026-05-20" */
static void date_en(int32_t day, char *out, size_t cap)
{
    if (!hs_marriage_day_format(day, out, cap))
        snprintf(out, cap, "?");
}

static const char *const weekday_zh[7] = { "星期一", "星期二", "星期三", "星期四",
                                           "星期五", "星期六", "星期日" };
static const char *const weekday_en[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday" };

/* How a message names a party: by sex for two parties, "you" for one. */
struct who {
    const char *zh;   /* 男方, 女方, 您 */
    const char *en;   /* The man, The woman, You */
    const char *poss; /* The man's, The woman's, Your */
    const char *obj;  /* the man, the woman, you */
};

static struct who who_of(const struct hs_marriage_request *q, const struct hs_marriage_party *p)
{
    static const struct who man = { "男方", "The man", "The man's", "the man" };
    static const struct who woman = { "女方", "The woman", "The woman's", "the woman" };
    static const struct who you = { "您", "You", "Your", "you" };

    if (!q->b)
        return you;
    return p->person.sex == HS_MARRIAGE_MALE ? man : woman;
}

/* Starts a refusal; the caller writes the messages. */
static void refuse(struct hs_marriage_verdict *v, enum hs_marriage_refusal why, int party)
{
    v->ok = false;
    v->refusal = why;
    v->code = hs_marriage_refusal_code(why);
    v->party = party;
}

static void verdict_ok(struct hs_marriage_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->ok = true;
    v->refusal = HS_MARRIAGE_OK;
    v->code = hs_marriage_refusal_code(HS_MARRIAGE_OK);
    v->from_day = HS_MARRIAGE_NO_DAY;
    v->until_day = HS_MARRIAGE_NO_DAY;
}

/* ---- the rules -------------------------------------------------------------------------- */

struct judge {
    const struct hs_marriage_rules *r;
    const struct hs_marriage_request *q;
    int32_t today;
    struct hs_marriage_verdict *v;
};

#define PERIOD_EXTEND_MAX 60 /* days a period's end may move past closed days */

/*
 * The last day of a period that would end on `end`: with extend_over_closed
 * and an office, the next day on or after it with slots (第203条 moves the
 * end of a period off rest days and holidays), when one comes within
 * PERIOD_EXTEND_MAX days; otherwise end itself.
 */
static int32_t period_end(const struct judge *j, int32_t end)
{
    if (!j->r->extend_over_closed || !j->q->office)
        return end;
    for (int32_t k = 0; k <= PERIOD_EXTEND_MAX; k++) {
        if (!hs_marriage_day_ok(end + k))
            break;
        if (hs_marriage_office_open_on(j->q->office, end + k))
            return end + k;
    }
    return end;
}

/* The divorce periods of an application received on day d (the day itself not counted). */
struct periods {
    int32_t cool_end;   /* last day of the cooling-off period (d when it has no days) */
    int32_t first;      /* first day to confirm */
    int32_t window_end; /* last day to confirm */
};

static struct periods divorce_periods(const struct judge *j, int32_t d)
{
    struct periods p;

    p.cool_end = j->r->cooling_off_days > 0 ? period_end(j, d + j->r->cooling_off_days) : d;
    p.first = p.cool_end + 1;
    p.window_end = period_end(j, p.cool_end + j->r->confirm_window_days);
    return p;
}

/* The first day a party may book again, or NO_DAY when no no-show ban is in force today. */
static int32_t ban_until(const struct judge *j, const struct hs_marriage_party *p)
{
    int32_t d[HS_MARRIAGE_MAX_NO_SHOWS];
    size_t n = p->n_no_shows, limit = (size_t)j->r->no_show_limit;
    int32_t until = HS_MARRIAGE_NO_DAY;

    if (limit == 0 || n < limit)
        return HS_MARRIAGE_NO_DAY;
    memcpy(d, p->no_shows, n * sizeof(d[0]));
    for (size_t i = 1; i < n; i++) /* insertion sort: at most 16 */
        for (size_t k = i; k > 0 && d[k - 1] > d[k]; k--) {
            int32_t t = d[k];
            d[k] = d[k - 1];
            d[k - 1] = t;
        }
    for (size_t i = limit - 1; i < n; i++) {
        /* limit no-shows within period days, the latest on d[i]: barred d[i] .. d[i]+ban-1. */
        if (d[i] - d[i - (limit - 1)] < j->r->no_show_period_days) {
            int32_t end = d[i] + j->r->no_show_ban_days;
            if (j->today < end && (until == HS_MARRIAGE_NO_DAY || end > until))
                until = end;
        }
    }
    return until;
}

static bool check_mainland(struct judge *j, const struct hs_marriage_party *p, int idx)
{
    struct hs_marriage_verdict *v = j->v;
    struct who w = who_of(j->q, p);

    if (p->person.mainland)
        return true;
    refuse(v, HS_MARRIAGE_NOT_MAINLAND, idx);
    snprintf(v->zh, sizeof(v->zh),
             "%s的证件不是内地居民身份证。本机只预约内地居民的婚姻登记；涉港澳台、华侨及涉外婚姻"
             "登记，请到省级民政部门指定的婚姻登记机关窗口办理。",
             w.zh);
    snprintf(v->en, sizeof(v->en),
             "%s ID is not a mainland resident ID card. This kiosk books registrations of mainland "
             "residents only; for parties from Hong Kong, Macao or Taiwan, overseas Chinese or "
             "foreigners, please go to a registry designated by the provincial civil-affairs "
             "department.",
             w.poss);
    return false;
}

static bool check_standing(struct judge *j)
{
    const struct hs_marriage_request *q = j->q;
    struct hs_marriage_verdict *v = j->v;
    const struct hs_marriage_party *parties[2] = { q->a, q->b };

    switch (q->service) {
    case HS_MARRIAGE_SVC_MARRIAGE:
        if (j->r->require_opposite_sex && q->a->person.sex == q->b->person.sex) {
            refuse(v, HS_MARRIAGE_NOT_MAN_AND_WOMAN, 0);
            snprintf(v->zh, sizeof(v->zh),
                     "依照《民法典》第1046条、第1049条，结婚登记须由男女双方亲自共同申请。"
                     "如有疑问，请到窗口咨询。");
            snprintf(v->en, sizeof(v->en),
                     "Under the Civil Code (Articles 1046 and 1049) a marriage is registered by a "
                     "man and a woman applying together in person. Please ask at the counter if "
                     "in doubt.");
            return false;
        }
        for (int i = 0; i < 2; i++) {
            struct who w = who_of(q, parties[i]);
            if (parties[i]->status != HS_MARRIAGE_MARRIED)
                continue;
            refuse(v, HS_MARRIAGE_ALREADY_MARRIED, i + 1);
            snprintf(v->zh, sizeof(v->zh),
                     "登记信息显示%s现有配偶，不能办理结婚登记（《民法典》第1042条禁止重婚）。"
                     "如信息有误，请携带离婚证或配偶死亡证明等材料到窗口核实。",
                     w.zh);
            snprintf(v->en, sizeof(v->en),
                     "%s record shows a current spouse, so a marriage cannot be registered "
                     "(bigamy is prohibited, Civil Code Article 1042). If the record is wrong, "
                     "please bring the divorce certificate or the spouse's death certificate to "
                     "the counter.",
                     w.poss);
            return false;
        }
        return true;
    case HS_MARRIAGE_SVC_DIVORCE_APPLY:
    case HS_MARRIAGE_SVC_DIVORCE_CONFIRM:
        if (!q->married_to_each_other || q->a->status != HS_MARRIAGE_MARRIED ||
            q->b->status != HS_MARRIAGE_MARRIED) {
            refuse(v, HS_MARRIAGE_NOT_MARRIED_TO_EACH, 0);
            snprintf(v->zh, sizeof(v->zh),
                     "登记信息显示双方不是夫妻关系，不能办理离婚登记。"
                     "如信息有误，请携带结婚证到窗口核实。");
            snprintf(v->en, sizeof(v->en),
                     "The registry does not show the two of you as married to each other, so a "
                     "divorce cannot be booked. If this is wrong, please bring your marriage "
                     "certificate to the counter.");
            return false;
        }
        if (q->service == HS_MARRIAGE_SVC_DIVORCE_APPLY &&
            q->application_day != HS_MARRIAGE_NO_DAY) {
            struct periods p = divorce_periods(j, q->application_day);
            char got_zh[32], first_zh[32], end_zh[32], got_en[16], first_en[16], end_en[16];

            if (j->today > p.window_end)
                return true; /* not confirmed in time: counts as withdrawn, so apply again */
            date_zh(q->application_day, got_zh, sizeof(got_zh));
            date_zh(p.first, first_zh, sizeof(first_zh));
            date_zh(p.window_end, end_zh, sizeof(end_zh));
            date_en(q->application_day, got_en, sizeof(got_en));
            date_en(p.first, first_en, sizeof(first_en));
            date_en(p.window_end, end_en, sizeof(end_en));
            refuse(v, HS_MARRIAGE_APPLICATION_PENDING, 0);
            v->from_day = p.first;
            v->until_day = p.window_end;
            snprintf(v->zh, sizeof(v->zh),
                     "婚姻登记机关已于%s收到双方的离婚登记申请，无需重复申请。冷静期届满后，请于"
                     "%s至%s期间预约“离婚登记确认”，申请发给离婚证。",
                     got_zh, first_zh, end_zh);
            snprintf(v->en, sizeof(v->en),
                     "The registry received your divorce application on %s; there is no need to "
                     "apply again. After the cooling-off period, please book a divorce "
                     "confirmation between %s and %s to be issued the divorce certificate.",
                     got_en, first_en, end_en);
            return false;
        }
        if (q->service == HS_MARRIAGE_SVC_DIVORCE_CONFIRM &&
            q->application_day == HS_MARRIAGE_NO_DAY) {
            refuse(v, HS_MARRIAGE_NO_APPLICATION, 0);
            snprintf(v->zh, sizeof(v->zh),
                     "没有查到双方尚未办结的离婚登记申请。请先预约“离婚登记申请”；%d日冷静期届满"
                     "后，再预约“离婚登记确认”申请发给离婚证。",
                     j->r->cooling_off_days);
            snprintf(v->en, sizeof(v->en),
                     "No pending divorce application is on record for the two of you. Please "
                     "book a divorce application first; after the cooling-off period of %d days "
                     "you can book a divorce confirmation to be issued the certificate.",
                     j->r->cooling_off_days);
            return false;
        }
        return true;
    case HS_MARRIAGE_SVC_REISSUE:
        if (q->a->status != HS_MARRIAGE_SINGLE)
            return true;
        refuse(v, HS_MARRIAGE_NOTHING_TO_REISSUE, 1);
        snprintf(v->zh, sizeof(v->zh),
                 "登记信息显示您未办理过结婚登记，没有可补领的婚姻登记证。"
                 "如信息有误，请到窗口申请查档。");
        snprintf(v->en, sizeof(v->en),
                 "The registry shows no marriage registered for you, so there is no certificate "
                 "to re-issue. If this is wrong, please ask at the counter for an archive "
                 "search.");
        return false;
    }
    return true;
}

static bool check_bookings(struct judge *j, const struct hs_marriage_party *p, int idx)
{
    const struct hs_marriage_rules *r = j->r;
    struct hs_marriage_verdict *v = j->v;
    struct who w = who_of(j->q, p);
    int32_t until = ban_until(j, p);

    if (until != HS_MARRIAGE_NO_DAY) {
        char zh[32], en[16];

        date_zh(until, zh, sizeof(zh));
        date_en(until, en, sizeof(en));
        refuse(v, HS_MARRIAGE_NO_SHOW_BAN, idx);
        v->from_day = until;
        snprintf(v->zh, sizeof(v->zh),
                 "%s在%d天内有%d次预约未到场，暂停预约%d天，%s起可以再次预约。"
                 "如有特殊情况，请到窗口说明。",
                 w.zh, r->no_show_period_days, r->no_show_limit, r->no_show_ban_days, zh);
        snprintf(v->en, sizeof(v->en),
                 "%s record shows %d missed appointments within %d days, so booking is "
                 "suspended for %d days; it is possible again from %s. In special circumstances "
                 "please explain at the counter.",
                 w.poss, r->no_show_limit, r->no_show_period_days, r->no_show_ban_days, en);
        return false;
    }
    if (p->active_bookings >= (unsigned)r->max_active_bookings) {
        refuse(v, HS_MARRIAGE_ACTIVE_BOOKING, idx);
        snprintf(v->zh, sizeof(v->zh),
                 "%s已有未办结的“%s”预约。请按原预约办理，或先取消原预约再重新预约。", w.zh,
                 hs_marriage_service_name_zh(j->q->service));
        snprintf(v->en, sizeof(v->en),
                 "There is already an open %s appointment for %s. Please attend it, or cancel it "
                 "before booking again.",
                 hs_marriage_service_name_en(j->q->service), w.obj);
        return false;
    }
    return true;
}

static bool check_office(struct judge *j)
{
    const struct hs_marriage_request *q = j->q;
    struct hs_marriage_verdict *v = j->v;
    bool competent = false;

    if (!(q->office->services & HS_MARRIAGE_SVC_BIT(q->service))) {
        refuse(v, HS_MARRIAGE_SERVICE_NOT_OFFERED, 0);
        snprintf(v->zh, sizeof(v->zh), "该婚姻登记处不办理%s，请选择其他婚姻登记处。",
                 hs_marriage_service_name_zh(q->service));
        snprintf(v->en, sizeof(v->en),
                 "This registry does not handle %s; please choose another registry.",
                 hs_marriage_service_name_en(q->service));
        return false;
    }
    /* Inputs were checked, so this cannot fail. */
    if (hs_marriage_office_competent(q->office, q->a, q->b, &competent) != HS_OK || competent)
        return true;
    refuse(v, HS_MARRIAGE_NOT_COMPETENT, 0);
    if (q->b) {
        snprintf(
            v->zh, sizeof(v->zh),
            "该婚姻登记处未开通跨省通办，只为户籍在本省（自治区、直辖市）的当事人办理，双方户籍"
            "都不在本省。请到一方户籍所在地的婚姻登记处预约，或选择已开通跨省通办的登记处。");
        snprintf(v->en, sizeof(v->en),
                 "This registry has no cross-province service (跨省通办) and serves only parties "
                 "whose household registration is in its province; neither of yours is. Please "
                 "book at a registry where either of you is registered, or at one with "
                 "cross-province service.");
    } else {
        snprintf(
            v->zh, sizeof(v->zh),
            "该婚姻登记处未开通跨省通办，只为户籍在本省（自治区、直辖市）的当事人办理，您的户籍"
            "不在本省。请到户籍所在地的婚姻登记处预约，或选择已开通跨省通办的登记处。");
        snprintf(v->en, sizeof(v->en),
                 "This registry has no cross-province service (跨省通办) and serves only parties "
                 "whose household registration is in its province; yours is not. Please book at "
                 "a registry where you are registered, or at one with cross-province service.");
    }
    return false;
}

static bool check_time(struct judge *j)
{
    const struct hs_marriage_request *q = j->q;
    const struct hs_marriage_special *s =
        q->office ? hs_marriage_office_special(q->office, q->day) : NULL;
    struct hs_marriage_verdict *v = j->v;
    char day_zh[32], day_en[16];

    date_zh(q->day, day_zh, sizeof(day_zh));
    date_en(q->day, day_en, sizeof(day_en));
    if (hs_marriage_local_at(q->day, q->start) <= q->now) {
        refuse(v, HS_MARRIAGE_IN_THE_PAST, 0);
        snprintf(v->zh, sizeof(v->zh), "所选时段已经开始或已经过去，请选择之后的时段。");
        snprintf(v->en, sizeof(v->en),
                 "The chosen time slot has begun or passed; please choose a later one.");
        return false;
    }
    if (s && s->opens_at != 0) {
        char t_en[HS_MARRIAGE_TIME_LEN], t_zh[48];
        int32_t od = hs_marriage_day_of(s->opens_at);
        int sec = (int)(s->opens_at - (int64_t)od * SECONDS_PER_DAY);

        if (q->now >= s->opens_at)
            return true;
        date_zh(od, t_zh, sizeof(t_zh));
        snprintf(t_zh + strlen(t_zh), sizeof(t_zh) - strlen(t_zh), " %02d:%02d", sec / 3600,
                 sec / 60 % 60);
        hs_marriage_time_format(s->opens_at, t_en, sizeof(t_en));
        refuse(v, HS_MARRIAGE_BOOKING_NOT_OPEN, 0);
        v->from_day = od;
        snprintf(v->zh, sizeof(v->zh), "%s是特殊日期，预约将于%s开放，请届时再预约。", day_zh,
                 t_zh);
        snprintf(v->en, sizeof(v->en),
                 "%s is a special date; booking for it opens at %s. Please come back then.", day_en,
                 t_en);
        return false;
    }
    if (q->day - j->today > j->r->book_ahead_days) {
        int32_t opens = q->day - j->r->book_ahead_days;
        char o_zh[32], o_en[16];

        date_zh(opens, o_zh, sizeof(o_zh));
        date_en(opens, o_en, sizeof(o_en));
        refuse(v, HS_MARRIAGE_TOO_FAR_AHEAD, 0);
        v->from_day = opens;
        if (j->r->book_ahead_days == 0) {
            snprintf(v->zh, sizeof(v->zh), "只能预约当天的时段。%s的预约将于当天00:00开放。",
                     day_zh);
            snprintf(v->en, sizeof(v->en),
                     "Only today's time slots can be booked; booking for %s opens that day at "
                     "00:00.",
                     day_en);
            return false;
        }
        snprintf(v->zh, sizeof(v->zh),
                 "最多可提前%d天预约。%s的预约将于%s 00:00开放，请届时再预约，或选择更近的日期。",
                 j->r->book_ahead_days, day_zh, o_zh);
        snprintf(v->en, sizeof(v->en),
                 "Appointments can be booked at most %d days ahead. Booking for %s opens on %s "
                 "at 00:00; please come back then or choose an earlier date.",
                 j->r->book_ahead_days, day_en, o_en);
        return false;
    }
    return true;
}

static bool check_slot(struct judge *j)
{
    const struct hs_marriage_request *q = j->q;
    struct hs_marriage_verdict *v = j->v;
    struct hs_marriage_slot slots[HS_MARRIAGE_MAX_SLOTS];
    char day_zh[32], day_en[16];
    size_t n = 0;
    int wd = hs_marriage_weekday(q->day);

    if (hs_marriage_office_slots(q->office, q->day, slots, HS_MARRIAGE_MAX_SLOTS, &n) != HS_OK)
        n = 0; /* cannot happen: the office and day were checked */
    for (size_t i = 0; i < n; i++)
        if (slots[i].start == q->start)
            return true;
    date_zh(q->day, day_zh, sizeof(day_zh));
    date_en(q->day, day_en, sizeof(day_en));
    if (n == 0) {
        refuse(v, HS_MARRIAGE_OFFICE_CLOSED, 0);
        snprintf(v->zh, sizeof(v->zh), "该婚姻登记处%s（%s）不办公，请选择其他日期。", day_zh,
                 weekday_zh[wd]);
        snprintf(v->en, sizeof(v->en),
                 "This registry is closed on %s (%s); please choose another date.", day_en,
                 weekday_en[wd]);
        return false;
    }
    refuse(v, HS_MARRIAGE_NO_SUCH_SLOT, 0);
    snprintf(v->zh, sizeof(v->zh), "%s没有%02u:%02u开始的预约时段，请从列出的时段中选择。", day_zh,
             (unsigned)q->start / 60, (unsigned)q->start % 60);
    snprintf(v->en, sizeof(v->en),
             "There is no time slot starting at %02u:%02u on %s; please choose one of the slots "
             "offered.",
             (unsigned)q->start / 60, (unsigned)q->start % 60, day_en);
    return false;
}

static bool check_age(struct judge *j, const struct hs_marriage_party *p, int idx)
{
    struct hs_marriage_verdict *v = j->v;
    struct who w = who_of(j->q, p);
    int min = p->person.sex == HS_MARRIAGE_MALE ? j->r->min_age_male : j->r->min_age_female;
    int32_t from;
    char zh[32], en[16];

    if (hs_marriage_age(&p->person, j->q->day) >= min)
        return true;
    from = hs_marriage_birthday(&p->person, min);
    refuse(v, HS_MARRIAGE_UNDER_AGE, idx);
    v->from_day = from;
    if (from == HS_MARRIAGE_NO_DAY) {
        snprintf(v->zh, sizeof(v->zh), "%s需年满%d周岁方可结婚（《民法典》第1047条）。", w.zh, min);
        snprintf(v->en, sizeof(v->en),
                 "%s must be at least %d years old to marry (Civil Code Article 1047).", w.en, min);
        return false;
    }
    date_zh(from, zh, sizeof(zh));
    date_en(from, en, sizeof(en));
    snprintf(v->zh, sizeof(v->zh),
             "%s需年满%d周岁方可结婚（《民法典》第1047条），可以预约%s及以后的日期。", w.zh, min,
             zh);
    snprintf(v->en, sizeof(v->en),
             "%s must be at least %d years old to marry (Civil Code Article 1047); an "
             "appointment on %s or later can be booked.",
             w.en, min, en);
    return false;
}

static bool check_periods(struct judge *j)
{
    const struct hs_marriage_request *q = j->q;
    struct hs_marriage_verdict *v = j->v;
    struct periods p = divorce_periods(j, q->application_day);
    char got_zh[32], cool_zh[32], first_zh[32], end_zh[32];
    char got_en[16], cool_en[16], first_en[16], end_en[16];

    if (q->day >= p.first && q->day <= p.window_end)
        return true;
    date_zh(q->application_day, got_zh, sizeof(got_zh));
    date_zh(p.cool_end, cool_zh, sizeof(cool_zh));
    date_zh(p.first, first_zh, sizeof(first_zh));
    date_zh(p.window_end, end_zh, sizeof(end_zh));
    date_en(q->application_day, got_en, sizeof(got_en));
    date_en(p.cool_end, cool_en, sizeof(cool_en));
    date_en(p.first, first_en, sizeof(first_en));
    date_en(p.window_end, end_en, sizeof(end_en));
    if (q->day < p.first) {
        refuse(v, HS_MARRIAGE_COOLING_OFF, 0);
        v->from_day = p.first;
        v->until_day = p.window_end;
        snprintf(v->zh, sizeof(v->zh),
                 "离婚冷静期尚未届满：婚姻登记机关于%s收到离婚登记申请，冷静期至%s止"
                 "（《民法典》第1077条）。请预约%s至%s之间的日期申请发给离婚证。",
                 got_zh, cool_zh, first_zh, end_zh);
        snprintf(v->en, sizeof(v->en),
                 "The cooling-off period has not ended: the divorce application was received on "
                 "%s and the period runs until %s (Civil Code Article 1077). Please book a date "
                 "from %s to %s to be issued the divorce certificate.",
                 got_en, cool_en, first_en, end_en);
        return false;
    }
    refuse(v, HS_MARRIAGE_WINDOW_PASSED, 0);
    v->until_day = p.window_end;
    if (j->today > p.window_end) {
        snprintf(v->zh, sizeof(v->zh),
                 "冷静期届满后%d日内（至%s）未申请发给离婚证，离婚登记申请已视为撤回"
                 "（《民法典》第1077条）。如仍要离婚，请重新预约“离婚登记申请”。",
                 j->r->confirm_window_days, end_zh);
        snprintf(v->en, sizeof(v->en),
                 "The divorce certificate was not requested within %d days after the "
                 "cooling-off period (by %s), so the application counts as withdrawn (Civil Code "
                 "Article 1077). To divorce, please book a new divorce application.",
                 j->r->confirm_window_days, end_en);
    } else {
        snprintf(v->zh, sizeof(v->zh),
                 "申请发给离婚证的期限到%s止，请预约%s或之前的日期；逾期未申请的，视为撤回离婚"
                 "登记申请（《民法典》第1077条）。",
                 end_zh, end_zh);
        snprintf(v->en, sizeof(v->en),
                 "The divorce certificate must be requested by %s; please book a date on or "
                 "before %s. Otherwise the application counts as withdrawn (Civil Code Article "
                 "1077).",
                 end_en, end_en);
    }
    return false;
}

/* ---- the entry points ------------------------------------------------------------------- */

static bool request_valid(const struct hs_marriage_rules *r, const struct hs_marriage_request *q)
{
    const struct hs_marriage_party *parties[2];
    int np, today;

    if (!q || !hs_marriage_rules_valid(r))
        return false;
    np = hs_marriage_service_parties(q->service);
    if (np == 0 || !q->a || (np == 2) != (q->b != NULL))
        return false;
    if (!hs_marriage_day_ok(q->day) || q->start >= 1440 || !hs_marriage_local_ok(q->now))
        return false;
    if (q->office && !hs_marriage_office_valid(q->office))
        return false;
    today = hs_marriage_day_of(q->now);
    if (q->application_day != HS_MARRIAGE_NO_DAY &&
        (!hs_marriage_day_ok(q->application_day) || q->application_day > today))
        return false;
    parties[0] = q->a;
    parties[1] = q->b;
    for (int i = 0; i < np; i++) {
        if (!hs_marriage_party_valid(parties[i]))
            return false;
        for (size_t k = 0; k < parties[i]->n_no_shows; k++)
            if (parties[i]->no_shows[k] > today)
                return false;
    }
    return true;
}

hs_rc hs_marriage_check(const struct hs_marriage_rules *r, const struct hs_marriage_request *q,
                        struct hs_marriage_verdict *out)
{
    struct judge j;

    if (!out)
        return HS_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!request_valid(r, q))
        return HS_E_INVALID_ARG;
    verdict_ok(out);
    j.r = r;
    j.q = q;
    j.today = hs_marriage_day_of(q->now);
    j.v = out;

    if (q->b && strcmp(q->a->person.id, q->b->person.id) == 0) {
        refuse(out, HS_MARRIAGE_SAME_PERSON, 0);
        snprintf(out->zh, sizeof(out->zh),
                 "两位当事人的身份证号码相同。请双方各自刷本人的身份证。");
        snprintf(out->en, sizeof(out->en),
                 "Both parties have the same ID number. Each party must tap their own ID card.");
        return HS_OK;
    }
    if (!check_mainland(&j, q->a, 1) || (q->b && !check_mainland(&j, q->b, 2)))
        return HS_OK;
    if (!check_standing(&j))
        return HS_OK;
    if (!check_bookings(&j, q->a, 1) || (q->b && !check_bookings(&j, q->b, 2)))
        return HS_OK;
    if (q->office && !check_office(&j))
        return HS_OK;
    if (!check_time(&j))
        return HS_OK;
    if (q->office && !check_slot(&j))
        return HS_OK;
    if (q->service == HS_MARRIAGE_SVC_MARRIAGE &&
        (!check_age(&j, q->a, 1) || !check_age(&j, q->b, 2)))
        return HS_OK;
    if (q->service == HS_MARRIAGE_SVC_DIVORCE_CONFIRM && !check_periods(&j))
        return HS_OK;
    return HS_OK;
}

hs_rc hs_marriage_check_cancel(const struct hs_marriage_rules *r, int32_t day, uint16_t start,
                               int64_t now, struct hs_marriage_verdict *out)
{
    int64_t at;

    if (!out)
        return HS_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!hs_marriage_rules_valid(r) || !hs_marriage_day_ok(day) || start >= 1440 ||
        !hs_marriage_local_ok(now))
        return HS_E_INVALID_ARG;
    verdict_ok(out);
    at = hs_marriage_local_at(day, start);
    if (now <= at - (int64_t)r->cancel_until_hours * 3600)
        return HS_OK;
    refuse(out, HS_MARRIAGE_CANCEL_TOO_LATE, 0);
    snprintf(out->zh, sizeof(out->zh),
             "预约开始前%d小时内不能取消。如不能按时到场，请联系婚姻登记处。",
             r->cancel_until_hours);
    snprintf(out->en, sizeof(out->en),
             "An appointment cannot be cancelled within %d hours of its start. If you cannot "
             "come, please contact the registry.",
             r->cancel_until_hours);
    return HS_OK;
}
