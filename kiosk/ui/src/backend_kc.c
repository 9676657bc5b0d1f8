/* Runs the kiosk's jobs with cardlib and the kiosk client library, and watches the readers. */
#include "backend_kc.h"

#include "cl/card.h"
#include "cl/identify.h"
#include "hm/log.h"
#include "hm/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READERS 8

struct kcb {
    kc_client *client;
    /* The worker thread's: its own context, the card of this visit and its session. */
    cl_ctx *ctx;
    cl_card *card;
    struct kc_session session;
    bool have_session;
    /* The monitor thread's. */
    pthread_t mon_thread;
    bool mon_started;
    pthread_mutex_t mu;
    bool quit;
    cl_monitor *mon;
    char names[READERS][CL_READER_NAME_MAX]; /* by index; under mu */
    bool present[READERS];
    ku_worker *w;
};

/* ---- the reader monitor ----------------------------------------------------------- */

static int reader_index(struct kcb *b, const char *name, bool add)
{
    int free_slot = -1;

    for (int i = 0; i < READERS; i++) {
        if (b->names[i][0] && strcmp(b->names[i], name) == 0)
            return i;
        if (!b->names[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (add && free_slot >= 0) {
        hm_strlcpy(b->names[free_slot], name, sizeof(b->names[0]));
        return free_slot;
    }
    return -1;
}

static void *monitor(void *arg)
{
    struct kcb *b = arg;
    cl_ctx *ctx = NULL;
    bool lost_told = false;

    for (;;) {
        struct cl_event ev;
        cl_rc rc;
        int idx;

        pthread_mutex_lock(&b->mu);
        if (b->quit) {
            pthread_mutex_unlock(&b->mu);
            break;
        }
        if (!b->mon) {
            pthread_mutex_unlock(&b->mu);
            if (!ctx && cl_ctx_new_pcsc(&ctx) != CL_OK)
                ctx = NULL;
            cl_monitor *m = NULL;
            if (!ctx || cl_monitor_new(ctx, &m) != CL_OK) {
                if (!lost_told) {
                    ku_worker_post(b->w, KU_EV_READER_LOST, -1, KU_CARD_UNKNOWN);
                    lost_told = true;
                }
                hm_sleep_ms(1000);
                continue;
            }
            pthread_mutex_lock(&b->mu);
            b->mon = m;
            if (b->quit)
                cl_monitor_cancel(m);
            pthread_mutex_unlock(&b->mu);
            if (lost_told)
                ku_worker_post(b->w, KU_EV_READER_BACK, -1, KU_CARD_UNKNOWN);
            lost_told = false;
            continue;
        }
        pthread_mutex_unlock(&b->mu);
        rc = cl_monitor_wait(b->mon, &ev, 1000);
        if (rc == CL_E_TIMEOUT)
            continue;
        if (rc != CL_OK)
            break; /* cancelled */
        pthread_mutex_lock(&b->mu);
        idx = reader_index(b, ev.reader,
                           ev.kind == CL_EVENT_READER_ADDED || ev.kind == CL_EVENT_CARD_INSERTED);
        bool was = idx >= 0 && b->present[idx];
        if (idx >= 0 && ev.kind == CL_EVENT_CARD_INSERTED)
            b->present[idx] = true;
        if (idx >= 0 && (ev.kind == CL_EVENT_CARD_REMOVED || ev.kind == CL_EVENT_READER_REMOVED))
            b->present[idx] = false;
        pthread_mutex_unlock(&b->mu);
        hm_log_debug("kiosk: %s on reader %d", cl_event_name(ev.kind), idx);
        switch (ev.kind) {
        case CL_EVENT_CARD_INSERTED:
            /* What kind of card it is, the tap job finds out (it may take a while). */
            ku_worker_post(b->w, KU_EV_CARD_INSERTED, idx, KU_CARD_WELFARE);
            break;
        case CL_EVENT_CARD_REMOVED:
        case CL_EVENT_READER_REMOVED:
            if (was)
                ku_worker_post(b->w, KU_EV_CARD_REMOVED, idx, KU_CARD_UNKNOWN);
            break;
        case CL_EVENT_SERVICE_LOST:
            ku_worker_post(b->w, KU_EV_READER_LOST, -1, KU_CARD_UNKNOWN);
            break;
        case CL_EVENT_SERVICE_BACK:
            ku_worker_post(b->w, KU_EV_READER_BACK, -1, KU_CARD_UNKNOWN);
            break;
        default:
            break;
        }
    }
    pthread_mutex_lock(&b->mu);
    cl_monitor_free(b->mon);
    b->mon = NULL;
    pthread_mutex_unlock(&b->mu);
    cl_ctx_free(ctx);
    return NULL;
}

static void kcb_start(void *p, ku_worker *w)
{
    struct kcb *b = p;

    b->w = w;
    b->mon_started = pthread_create(&b->mon_thread, NULL, monitor, b) == 0;
    if (!b->mon_started)
        hm_log_error("kiosk: cannot start the reader monitor");
}

static void kcb_stop(void *p)
{
    struct kcb *b = p;

    pthread_mutex_lock(&b->mu);
    b->quit = true;
    if (b->mon)
        cl_monitor_cancel(b->mon);
    pthread_mutex_unlock(&b->mu);
    if (b->mon_started)
        pthread_join(b->mon_thread, NULL);
    b->mon_started = false;
}

/* ---- jobs ------------------------------------------------------------------------- */

static void end_visit(struct kcb *b)
{
    if (b->card)
        cl_card_disconnect(b->card, true);
    b->card = NULL;
    hm_wipe(&b->session, sizeof(b->session));
    b->have_session = false;
}

static enum ku_result from_cl(cl_rc rc)
{
    switch (rc) {
    case CL_OK:
        return KU_R_OK;
    case CL_E_NO_CARD:
    case CL_E_CARD_REMOVED:
    case CL_E_CARD_RESET:
        return KU_R_CARD_PULLED;
    default:
        return KU_R_CARD_UNREADABLE;
    }
}

static enum ku_result from_kc(struct kcb *b, kc_rc rc, struct ku_reply *out)
{
    const struct kc_error *e = kc_last_error(b->client);

    if (e->code[0])
        hm_strlcpy(out->code, e->code, sizeof(out->code));
    else
        hm_strlcpy(out->code, kc_rc_name(rc), sizeof(out->code));
    switch (rc) {
    case KC_OK:
        return KU_R_OK;
    case KC_E_NETWORK:
        out->offline = true;
        return KU_R_NETWORK;
    case KC_E_QUEUED:
        out->offline = true;
        return KU_R_QUEUED;
    case KC_E_NO_CARD:
        return KU_R_CARD_PULLED;
    case KC_E_CARD:
        return from_cl((cl_rc)e->card_rc);
    case KC_E_PIN_INCORRECT:
        out->tries_left = e->tries_left;
        return KU_R_PIN_WRONG;
    case KC_E_PIN_BLOCKED:
        return KU_R_PIN_BLOCKED;
    case KC_E_REFUSED:
        if (strncmp(e->code, "card_", 5) == 0)
            return KU_R_CARD_REFUSED;
        if (strcmp(e->code, "already_confirmed") == 0)
            return KU_R_ALREADY;
        return KU_R_REFUSED;
    default:
        return KU_R_FAILED;
    }
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static void parse_status(json_t *st, struct ku_status *out)
{
    json_t *res = json_object_get(st, "resident"), *v,
           *aw = json_object_get(st, "awaiting_confirmation");
    size_t i, j;

    hm_strlcpy(out->name, js(res, "name"), sizeof(out->name));
    hm_mask_id(js(res, "welfare_no"), out->welfare_masked, sizeof(out->welfare_masked));
    out->tap_only = json_is_true(json_object_get(res, "tap_only"));
    json_array_foreach(json_object_get(st, "entitlements"), i, v)
    {
        struct ku_entitlement *e;

        if (out->n_ent == KU_ENT_MAX)
            break;
        e = &out->ent[out->n_ent++];
        hm_strlcpy(e->name, js(v, "programme_name"), sizeof(e->name));
        e->amount_fen = json_integer_value(json_object_get(v, "amount_fen"));
        hm_strlcpy(e->period, js(v, "period"), sizeof(e->period));
        hm_strlcpy(e->status, js(v, "status"), sizeof(e->status));
    }
    json_array_foreach(json_object_get(st, "payments"), i, v)
    {
        struct ku_payment *p;
        json_t *a;

        if (out->n_pay == KU_PAY_MAX)
            break;
        p = &out->pay[out->n_pay++];
        hm_strlcpy(p->id, js(v, "id"), sizeof(p->id));
        hm_strlcpy(p->name, js(v, "programme_name"), sizeof(p->name));
        hm_strlcpy(p->period, js(v, "period"), sizeof(p->period));
        p->amount_fen = json_integer_value(json_object_get(v, "amount_fen"));
        hm_strlcpy(p->status, js(v, "status"), sizeof(p->status));
        hm_strlcpy(p->account, js(v, "account"), sizeof(p->account));
        json_array_foreach(aw, j,
                           a) if (json_string_value(a) && strcmp(json_string_value(a), p->id) == 0)
            p->awaiting = true;
    }
    out->year_total_fen = json_integer_value(json_object_get(st, "year_total_fen"));
    out->as_of = json_integer_value(json_object_get(st, "iat"));
}

static void run_tap(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    char name[CL_READER_NAME_MAX] = "";
    struct cl_card_ident id;
    json_t *st = NULL;
    cl_rc crc;
    kc_rc rc;

    end_visit(b);
    if (!b->ctx && cl_ctx_new_pcsc(&b->ctx) != CL_OK) {
        b->ctx = NULL;
        out->result = KU_R_CARD_UNREADABLE;
        hm_strlcpy(out->code, "no_service", sizeof(out->code));
        return;
    }
    pthread_mutex_lock(&b->mu);
    if (job->reader >= 0 && job->reader < READERS)
        hm_strlcpy(name, b->names[job->reader], sizeof(name));
    pthread_mutex_unlock(&b->mu);
    crc = name[0] ? cl_card_connect(b->ctx, name, CL_SHARE_SHARED, &b->card) : CL_E_NO_CARD;
    if (crc == CL_E_NO_SERVICE || crc == CL_E_SERVICE_STOPPED) {
        cl_ctx_free(b->ctx);
        b->ctx = NULL;
    }
    if (crc != CL_OK) {
        b->card = NULL;
        out->result = from_cl(crc);
        hm_strlcpy(out->code, cl_rc_name(crc), sizeof(out->code));
        return;
    }
    crc = cl_card_identify(b->card, &id);
    if (crc != CL_OK) {
        out->result = from_cl(crc);
        hm_strlcpy(out->code, cl_rc_name(crc), sizeof(out->code));
        end_visit(b);
        return;
    }
    if (!(id.apps & CL_APP_PIV)) {
        out->result = KU_R_NOT_WELFARE;
        hm_strlcpy(out->code, cl_ident_summary(&id), sizeof(out->code));
        end_visit(b);
        return;
    }
    rc = kc_tap(b->client, b->card, &b->session);
    if (rc == KC_OK)
        rc = kc_status(b->client, &b->session, &st);
    if (rc != KC_OK) {
        out->result = from_kc(b, rc, out);
        hm_log_info("kiosk: tap failed: %s (%s)", kc_rc_name(rc), out->code);
        end_visit(b);
        return;
    }
    b->have_session = true;
    parse_status(st, &out->status);
    json_decref(st);
    out->result = KU_R_OK;
}

static void run_confirm(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    struct kc_payment p = { .id = job->payment,
                            .amount_fen = job->amount_fen,
                            .period = job->period };
    struct kc_receipt r;
    kc_rc rc;

    memset(&r, 0, sizeof(r));
    if (!b->card || !b->have_session) {
        out->result = KU_R_CARD_PULLED;
        hm_wipe(job->pin, sizeof(job->pin));
        return;
    }
    rc = kc_confirm(b->client, b->card, &b->session, &p, job->pin[0] ? job->pin : NULL, &r);
    hm_wipe(job->pin, sizeof(job->pin));
    out->result = from_kc(b, rc, out);
    if (rc == KC_OK || (out->result == KU_R_ALREADY && r.token[0])) {
        hm_strlcpy(out->receipt.token, r.token, sizeof(out->receipt.token));
        hm_strlcpy(out->receipt.id, r.id, sizeof(out->receipt.id));
        hm_strlcpy(out->receipt.payment, r.payment, sizeof(out->receipt.payment));
        hm_strlcpy(out->receipt.period, r.period, sizeof(out->receipt.period));
        out->receipt.amount_fen = r.amount_fen;
        out->receipt.again = r.again;
    } else if (out->result == KU_R_ALREADY) {
        out->result = KU_R_REFUSED;
    }
    hm_log_info("kiosk: confirmation of %s: %s", job->payment, kc_rc_name(rc));
    hm_wipe(&r, sizeof(r));
}

static void kcb_run(void *p, struct ku_job *job, struct ku_reply *out)
{
    struct kcb *b = p;

    switch (job->kind) {
    case KU_JOB_TAP:
        run_tap(b, job, out);
        break;
    case KU_JOB_CONFIRM:
        run_confirm(b, job, out);
        break;
    case KU_JOB_SYNC: {
        struct kc_sync_result res = { 0 };
        kc_rc rc = kc_sync(b->client, &res);

        out->result = from_kc(b, rc, out);
        out->pending = res.pending;
        out->offline = rc == KC_E_NETWORK;
        break;
    }
    case KU_JOB_END:
    default:
        end_visit(b);
        out->result = KU_R_OK;
        break;
    }
    hm_wipe(job->pin, sizeof(job->pin));
}

static void kcb_free(void *p)
{
    struct kcb *b = p;

    end_visit(b);
    cl_ctx_free(b->ctx);
    kc_client_free(b->client);
    pthread_mutex_destroy(&b->mu);
    hm_wipe(b, sizeof(*b));
    free(b);
}

static const struct ku_backend_ops kc_ops = {
    .name = "kc",
    .start = kcb_start,
    .run = kcb_run,
    .stop = kcb_stop,
    .free = kcb_free,
};

bool ku_kc_backend_new(const struct kc_config *cfg, const struct ku_backend_ops **ops,
                       void **backend, char *err, size_t cap)
{
    struct kcb *b = calloc(1, sizeof(*b));
    kc_rc rc;

    if (!b) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    rc = kc_client_new(cfg, &b->client);
    if (rc != KC_OK) {
        snprintf(err, cap, "the kiosk client: %s", kc_strerror(rc));
        free(b);
        return false;
    }
    pthread_mutex_init(&b->mu, NULL);
    *ops = &kc_ops;
    *backend = b;
    return true;
}
