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

struct fake {
    struct ku_fake_opts o;
    char pin[16];
    int tries;
};

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
