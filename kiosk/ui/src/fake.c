/* A made-up resident and a backend that answers jobs with her, for --render-all, tests and demos.
 */
#include "worker.h"

#include "hm/log.h"
#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ent(struct ku_status *st, const char *name, int64_t fen, const char *status)
{
    struct ku_entitlement *e = &st->ent[st->n_ent++];

    hm_strlcpy(e->name, name, sizeof(e->name));
    e->amount_fen = fen;
    hm_strlcpy(e->period, "month", sizeof(e->period));
    hm_strlcpy(e->status, status, sizeof(e->status));
}

static void pay(struct ku_status *st, const char *id, const char *name, const char *period,
                int64_t fen, const char *status)
{
    struct ku_payment *p = &st->pay[st->n_pay++];

    hm_strlcpy(p->id, id, sizeof(p->id));
    hm_strlcpy(p->name, name, sizeof(p->name));
    hm_strlcpy(p->period, period, sizeof(p->period));
    p->amount_fen = fen;
    hm_strlcpy(p->status, status, sizeof(p->status));
    hm_strlcpy(p->account, "****1234", sizeof(p->account));
    p->awaiting = strcmp(status, "paid") == 0;
}

void ku_fake_status(struct ku_status *st, int64_t now)
{
    memset(st, 0, sizeof(*st));
    hm_strlcpy(st->name, "张秀英", sizeof(st->name));
    hm_mask_id("WF3301060000123", st->welfare_masked, sizeof(st->welfare_masked));
    ent(st, "城市最低生活保障", 75000, "active");
    ent(st, "高龄津贴", 10000, "active");
    pay(st, "P-E000001-202611", "城市最低生活保障", "2026-11", 75000, "paid");
    pay(st, "P-E000002-202611", "高龄津贴", "2026-11", 10000, "paid");
    pay(st, "P-E000001-202612", "城市最低生活保障", "2026-12", 75000, "scheduled");
    pay(st, "P-E000001-202610", "城市最低生活保障", "2026-10", 75000, "confirmed");
    pay(st, "P-E000002-202610", "高龄津贴", "2026-10", 10000, "confirmed");
    pay(st, "P-E000001-202609", "城市最低生活保障", "2026-09", 75000, "disputed");
    st->year_total_fen = 935000;
    st->as_of = now;
}

void ku_fake_receipt(struct ku_receipt *r, const struct ku_payment *p)
{
    memset(r, 0, sizeof(*r));
    /* Shaped like a receipt JWS (about as long), but signed by nobody. */
    snprintf(r->token, sizeof(r->token),
             "eyJhbGciOiJFUzI1NiIsImtpZCI6ImZha2UiLCJ0eXAiOiJodWltaW4tcmVjZWlwdCJ9."
             "FAKE-%s-%s-%lld-NOT-SIGNED-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
             "UVWXYZ0123456789abcdefghijklmnopqrstuvwxyz."
             "FAKESIGNATURE0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
             p->id, p->period, (long long)p->amount_fen);
    hm_strlcpy(r->id, "Xq3vT0cK9mPa2LwB", sizeof(r->id));
    hm_strlcpy(r->payment, p->id, sizeof(r->payment));
    hm_strlcpy(r->period, p->period, sizeof(r->period));
    r->amount_fen = p->amount_fen;
}

void ku_fake_mdata(struct ku_mdata *m)
{
    static const char *const slots[][2] = {
        { "08:30", "09:00" }, { "09:00", "09:30" }, { "09:30", "10:00" }, { "10:00", "10:30" },
        { "10:30", "11:00" }, { "11:00", "11:30" }, { "11:30", "12:00" }, { "14:30", "15:00" },
        { "15:00", "15:30" }, { "15:30", "16:00" }, { "16:00", "16:30" }, { "16:30", "17:00" },
        { "17:00", "17:30" },
    };
    memset(m, 0, sizeof(*m));
    m->n_offices = 2;
    hm_strlcpy(m->offices[0].id, "hz-hall", sizeof(m->offices[0].id));
    hm_strlcpy(m->offices[0].name, "贺州市八步区婚姻登记处", sizeof(m->offices[0].name));
    m->offices[0].offers = true;
    hm_strlcpy(m->offices[1].id, "fc-hall", sizeof(m->offices[1].id));
    hm_strlcpy(m->offices[1].name, "富川瑶族自治县婚姻登记处", sizeof(m->offices[1].name));
    m->offices[1].offers = true;
    m->n_days = KU_DAY_MAX;
    for (size_t d = 0; d < KU_DAY_MAX; d++) {
        struct ku_day *day = &m->days[d];

        snprintf(day->date, sizeof(day->date), "2026-12-%02zu", d + 2);
        int wday = (int)((d + 3) % 7); /* 2026-12-02 is a Wednesday */

        day->open = d < 10;
        day->special = d == 10; /* 12-12 */
        if (wday == 0)
            continue; /* closed on Sundays */
        day->n_slots = wday == 6 ? 6 : HM_ARRAY_SIZE(slots);
        for (size_t s = 0; s < day->n_slots; s++) {
            hm_strlcpy(day->slots[s].start, slots[s][0], sizeof(day->slots[s].start));
            hm_strlcpy(day->slots[s].end, slots[s][1], sizeof(day->slots[s].end));
            day->slots[s].capacity = 3;
            day->slots[s].free = d == 1 ? 0 : (int)((s + d) % 4);
        }
    }
    hm_strlcpy(m->ticket.id, "Qm9va2luZzEyMzQ1", sizeof(m->ticket.id));
    hm_strlcpy(m->ticket.date, "2026-12-05", sizeof(m->ticket.date));
    hm_strlcpy(m->ticket.slot, "09:00", sizeof(m->ticket.slot));
    hm_strlcpy(m->ticket.office, "hz-hall", sizeof(m->ticket.office));
    snprintf(m->ticket.token, sizeof(m->ticket.token),
             "eyJhbGciOiJFUzI1NiIsInR5cCI6Imh1aW1pbi10aWNrZXQifQ."
             "eyJ0IjoiUW05dmEybHVaekV5TXpRMSIsInN2IjoibWFycmlhZ2UiLCJvIjoiaHotaGFsbCJ9."
             "FAKESIGNATURE0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
    m->n_appts = 2;
    for (size_t i = 0; i < 2; i++) {
        struct ku_appt *p = &m->appts[i];

        snprintf(p->t, sizeof(p->t), "Qm9va2luZzEyMzQ%zu", i);
        hm_strlcpy(p->service, "marriage", sizeof(p->service));
        hm_strlcpy(p->office, "hz-hall", sizeof(p->office));
        hm_strlcpy(p->office_name, "贺州市八步区婚姻登记处", sizeof(p->office_name));
        hm_strlcpy(p->date, i ? "2026-11-20" : "2026-12-05", sizeof(p->date));
        hm_strlcpy(p->slot, "09:00", sizeof(p->slot));
        hm_strlcpy(p->status, i ? "cancelled" : "booked", sizeof(p->status));
    }
}

struct fake {
    struct ku_fake_opts o;
    char pin[16];
    int tries;
};

/* The registry as the fake sees it: two offices, the sample days, 李娜 and 王建国. */
static void fake_marriage(struct fake *f, struct ku_job *job, struct ku_reply *out)
{
    struct ku_mdata *m = &out->m;

    ku_fake_mdata(m);
    if (f->o.offline) {
        out->result = KU_R_NETWORK;
        out->offline = true;
    } else if (job->kind == KU_JOB_ID) {
        /* The chip opens only with the numbers printed on it. */
        bool li = strcmp(job->mrz_doc, "HA2468013") == 0 && strcmp(job->mrz_birth, "920817") == 0 &&
                  strcmp(job->mrz_expiry, "420817") == 0;
        bool wang = strcmp(job->mrz_doc, "HA7654321") == 0 &&
                    strcmp(job->mrz_birth, "900515") == 0 && strcmp(job->mrz_expiry, "400515") == 0;

        if (li || wang) {
            snprintf(m->party.session, sizeof(m->party.session), "S-%s-%u", li ? "li" : "wang",
                     job->seq);
            hm_strlcpy(m->party.name, li ? "李娜" : "王建国", sizeof(m->party.name));
            hm_strlcpy(m->party.id_masked, li ? "320***********0046" : "330***********0034",
                       sizeof(m->party.id_masked));
            m->party.sex = li ? 'F' : 'M';
        } else {
            out->result = KU_R_PIN_WRONG;
        }
    } else if (job->kind == KU_JOB_BOOK) {
        hm_strlcpy(m->ticket.date, job->date, sizeof(m->ticket.date));
        hm_strlcpy(m->ticket.slot, job->slot, sizeof(m->ticket.slot));
        hm_strlcpy(m->ticket.office, job->office, sizeof(m->ticket.office));
    } else if (job->kind == KU_JOB_APPT_RESCHEDULE) {
        /* As the server does: everyone named must be here, and a full slot changes nothing. */
        const struct ku_day *d = NULL;

        for (size_t i = 0; i < m->n_days; i++)
            if (strcmp(m->days[i].date, job->date) == 0)
                d = &m->days[i];
        int free_places = 0;
        for (size_t i = 0; d && i < d->n_slots; i++)
            if (strcmp(d->slots[i].start, job->slot) == 0)
                free_places = d->slots[i].free;
        if (!job->sessions[0][0] ||
            (strcmp(job->service, "reissue") != 0 && !job->sessions[1][0])) {
            out->result = KU_R_REFUSED;
            hm_strlcpy(out->code, "not_your_appointment", sizeof(out->code));
        } else if (free_places <= 0) {
            out->result = KU_R_REFUSED;
            hm_strlcpy(out->code, "slot_full", sizeof(out->code));
            hm_strlcpy(out->msg_zh, "该时段已约满，请选择其他时段。", sizeof(out->msg_zh));
            hm_strlcpy(out->msg_en, "This slot is fully booked; please choose another.",
                       sizeof(out->msg_en));
        } else {
            snprintf(m->ticket.id, sizeof(m->ticket.id), "UmVzY2hlZCVfu%03u", job->seq % 1000);
            hm_strlcpy(m->ticket.date, job->date, sizeof(m->ticket.date));
            hm_strlcpy(m->ticket.slot, job->slot, sizeof(m->ticket.slot));
            hm_strlcpy(m->ticket.office, job->office, sizeof(m->ticket.office));
        }
    }
    hm_wipe(job->mrz_doc, sizeof(job->mrz_doc));
    hm_wipe(job->mrz_birth, sizeof(job->mrz_birth));
    hm_wipe(job->mrz_expiry, sizeof(job->mrz_expiry));
}

static void fake_run(void *b, struct ku_job *job, struct ku_reply *out)
{
    struct fake *f = b;

    if (f->o.delay_ms)
        hm_sleep_ms(f->o.delay_ms);
    out->result = KU_R_OK;
    switch (job->kind) {
    case KU_JOB_TAP:
        if (job->card != KU_CARD_WELFARE)
            out->result = KU_R_NOT_WELFARE;
        else if (f->o.offline)
            out->result = KU_R_NETWORK;
        else
            ku_fake_status(&out->status, 1796156051);
        out->status.tap_only = f->o.tap_only && out->result == KU_R_OK;
        out->offline = f->o.offline;
        break;
    case KU_JOB_CONFIRM: {
        struct ku_payment p = { .amount_fen = job->amount_fen };

        hm_strlcpy(p.id, job->payment, sizeof(p.id));
        hm_strlcpy(p.period, job->period, sizeof(p.period));
        if (f->tries == 0) {
            out->result = KU_R_PIN_BLOCKED;
        } else if (strcmp(job->pin, f->pin) != 0) {
            out->result = --f->tries ? KU_R_PIN_WRONG : KU_R_PIN_BLOCKED;
            out->tries_left = f->tries;
        } else if (f->o.offline) {
            f->tries = 3;
            out->result = KU_R_QUEUED;
            out->offline = true;
        } else {
            f->tries = 3;
            ku_fake_receipt(&out->receipt, &p);
        }
        break;
    }
    case KU_JOB_DISPUTE:
        if (f->o.offline) {
            out->result = KU_R_NETWORK;
            out->offline = true;
        } else {
            snprintf(out->dispute, sizeof(out->dispute), "D-FAKE-%06u", job->seq);
        }
        break;
    case KU_JOB_OFFICES:
    case KU_JOB_AVAIL:
    case KU_JOB_ID:
    case KU_JOB_BOOK:
    case KU_JOB_MINE:
    case KU_JOB_APPT_CANCEL:
    case KU_JOB_APPT_RESCHEDULE:
        fake_marriage(f, job, out);
        break;
    case KU_JOB_STAFF_CALL:
        /* The hall's queue: this call and two before it. Offline, nobody was told. */
        if (f->o.offline) {
            out->result = KU_R_NETWORK;
            out->offline = true;
        } else {
            out->waiting = 3;
            snprintf(out->call, sizeof(out->call), "C-FAKE-%06u", job->seq);
        }
        hm_log_info("kiosk: fake staff call (%s) from %s%s", job->reason, job->screen,
                    job->with_card ? " with the card session" : "");
        break;
    case KU_JOB_SYNC:
        out->pending = f->o.offline ? 1 : 0;
        out->offline = f->o.offline;
        break;
    default:
        break;
    }
    hm_wipe(job->pin, sizeof(job->pin));
}

static void fake_free(void *b)
{
    hm_wipe(b, sizeof(struct fake));
    free(b);
}

static const struct ku_backend_ops fake_ops = {
    .name = "fake",
    .run = fake_run,
    .free = fake_free,
};

bool ku_fake_backend_new(const struct ku_fake_opts *o, const struct ku_backend_ops **ops,
                         void **backend)
{
    struct fake *f = calloc(1, sizeof(*f));

    if (!f)
        return false;
    f->o = *o;
    hm_strlcpy(f->pin, o->pin ? o->pin : "123456", sizeof(f->pin));
    f->o.pin = NULL;
    f->tries = 3;
    *ops = &fake_ops;
    *backend = f;
    return true;
}
