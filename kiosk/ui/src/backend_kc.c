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
#include <time.h>

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
    bool listed[READERS]; /* the reader is there now (names[] keep their index for good) */
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

/*
 * Tells the app when no card can be read (no PC/SC service, or no reader at all) and when one
 * can again; *lost is what it was told last. A reader that vanishes with the service comes
 * back with READER_ADDED after SERVICE_BACK, so "back" waits for a reader.
 */
static void tell_readers(struct kcb *b, bool service, bool *lost)
{
    bool any = false;

    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < READERS; i++)
        any = any || b->listed[i];
    pthread_mutex_unlock(&b->mu);
    if (!(service && any) && !*lost) {
        hm_log_warn("kiosk: %s", service ? "no card reader" : "the PC/SC service is gone");
        ku_worker_post(b->w, KU_EV_READER_LOST, -1, KU_CARD_UNKNOWN);
        *lost = true;
    } else if (service && any && *lost) {
        hm_log_info("kiosk: a card reader is there again");
        ku_worker_post(b->w, KU_EV_READER_BACK, -1, KU_CARD_UNKNOWN);
        *lost = false;
    }
}

/* Forgets every reader (the monitor is made again): the app hears of their cards anew. */
static void forget_readers(struct kcb *b)
{
    pthread_mutex_lock(&b->mu);
    memset(b->listed, 0, sizeof(b->listed));
    memset(b->present, 0, sizeof(b->present));
    pthread_mutex_unlock(&b->mu);
}

static void *monitor(void *arg)
{
    struct kcb *b = arg;
    cl_ctx *ctx = NULL;
    bool lost = false, service = true, primed = false;

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
                tell_readers(b, false, &lost);
                hm_sleep_ms(1000);
                continue;
            }
            pthread_mutex_lock(&b->mu);
            b->mon = m;
            if (b->quit)
                cl_monitor_cancel(m);
            pthread_mutex_unlock(&b->mu);
            /* "Back" once the first reader is reported (or, with none, lost after a wait). */
            service = true;
            primed = false;
            continue;
        }
        pthread_mutex_unlock(&b->mu);
        rc = cl_monitor_wait(b->mon, &ev, 1000);
        if (rc == CL_E_TIMEOUT) {
            /* The first wait reports the readers there are: none at all is a lost reader. */
            if (!primed)
                tell_readers(b, service, &lost);
            primed = true;
            continue;
        }
        if (rc == CL_E_CANCELLED)
            continue; /* quitting: the loop's top says so */
        if (rc != CL_OK) {
            /* Something cardlib could not recover from: a new context and monitor. */
            hm_log_warn("kiosk: the reader monitor failed (%s); starting it again", cl_rc_name(rc));
            pthread_mutex_lock(&b->mu);
            cl_monitor_free(b->mon);
            b->mon = NULL;
            pthread_mutex_unlock(&b->mu);
            cl_ctx_free(ctx);
            ctx = NULL;
            forget_readers(b);
            tell_readers(b, false, &lost);
            hm_sleep_ms(1000);
            continue;
        }
        pthread_mutex_lock(&b->mu);
        idx = reader_index(b, ev.reader,
                           ev.kind == CL_EVENT_READER_ADDED || ev.kind == CL_EVENT_CARD_INSERTED);
        bool was = idx >= 0 && b->present[idx];
        if (idx >= 0 && (ev.kind == CL_EVENT_READER_ADDED || ev.kind == CL_EVENT_CARD_INSERTED))
            b->listed[idx] = true;
        if (idx >= 0 && ev.kind == CL_EVENT_READER_REMOVED)
            b->listed[idx] = false;
        if (idx >= 0 && ev.kind == CL_EVENT_CARD_INSERTED)
            b->present[idx] = true;
        if (idx >= 0 && (ev.kind == CL_EVENT_CARD_REMOVED || ev.kind == CL_EVENT_READER_REMOVED))
            b->present[idx] = false;
        pthread_mutex_unlock(&b->mu);
        hm_log_debug("kiosk: %s on reader %d", cl_event_name(ev.kind), idx);
        if (ev.kind == CL_EVENT_SERVICE_LOST)
            service = false;
        else if (ev.kind == CL_EVENT_SERVICE_BACK)
            service = true;
        /* Lost before the cards' removals (the service's); back before the cards found there. */
        if (ev.kind != CL_EVENT_CARD_REMOVED)
            tell_readers(b, service, &lost);
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
        hm_strlcpy(out->msg_zh, e->message, sizeof(out->msg_zh));
        hm_strlcpy(out->msg_en, e->message_en, sizeof(out->msg_en));
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

static bool service_lost(cl_rc rc)
{
    return rc == CL_E_NO_SERVICE || rc == CL_E_SERVICE_STOPPED;
}

/* The worker's PC/SC context made again (no card of the old one may be connected). */
static bool renew_ctx(struct kcb *b)
{
    cl_ctx_free(b->ctx);
    b->ctx = NULL;
    if (cl_ctx_new_pcsc(&b->ctx) == CL_OK)
        return true;
    b->ctx = NULL;
    return false;
}

/*
 * The server cannot be reached: the card proves itself here and the status kept from its last
 * visit is shown, marked with its time. Nothing can be confirmed with it (no server session),
 * so have_session stays false. False when there is none (or no card check is configured).
 */
static bool tap_cached(struct kcb *b, struct ku_reply *out)
{
    struct kc_session local;
    json_t *st = NULL;
    int64_t as_of = 0;
    kc_rc rc;

    hm_wipe(&b->session, sizeof(b->session));
    rc = kc_tap_offline(b->client, b->card, &local);
    if (rc == KC_OK)
        rc = kc_status_cached(b->client, &local, &st, &as_of);
    hm_wipe(&local, sizeof(local));
    if (rc != KC_OK) {
        hm_log_info("kiosk: the server is away and no kept status can be shown: %s",
                    kc_rc_name(rc));
        return false;
    }
    parse_status(st, &out->status);
    json_decref(st);
    out->status.cached = true;
    out->status.as_of = as_of;
    out->offline = true;
    out->result = KU_R_OK;
    hm_strlcpy(out->code, "cached", sizeof(out->code));
    hm_log_info("kiosk: the server is away: the status kept for this card is shown");
    return true;
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
    /*
     * A card only just put down may not answer yet, or be reset once while the
     * reader powers it: such a first failure is tried again twice, a moment
     * apart, before the resident is told the card moved (a card really taken
     * away fails the same way each time).
     */
    bool connected = false;
    for (int attempt = 0;; attempt++) {
        crc = name[0] ? cl_card_connect(b->ctx, name, CL_SHARE_SHARED, &b->card) : CL_E_NO_CARD;
        connected = crc == CL_OK;
        if (connected)
            crc = cl_card_identify(b->card, &id);
        bool transient = crc == CL_E_TRANSPORT || crc == CL_E_CARD_REMOVED ||
                         crc == CL_E_CARD_RESET || (crc == CL_E_NO_CARD && name[0]);
        /* pcscd restarted since the last visit: this context is stale, a new one answers. */
        bool stale = service_lost(crc) && attempt == 0;
        if (crc == CL_OK || (!transient && !stale) || attempt == 2)
            break;
        if (connected)
            cl_card_disconnect(b->card, false);
        b->card = NULL;
        connected = false;
        hm_log_debug("kiosk: reader %d: %s, trying again", job->reader, cl_rc_name(crc));
        if (stale) {
            if (!renew_ctx(b))
                break;
            continue;
        }
        hm_sleep_ms(300);
    }
    if (service_lost(crc)) {
        if (connected)
            cl_card_disconnect(b->card, false);
        b->card = NULL;
        connected = false;
        cl_ctx_free(b->ctx);
        b->ctx = NULL;
    }
    if (!b->ctx) {
        out->result = KU_R_CARD_UNREADABLE;
        hm_strlcpy(out->code, "no_service", sizeof(out->code));
        hm_log_info("kiosk: no PC/SC service for the card on reader %d", job->reader);
        return;
    }
    if (!connected) {
        b->card = NULL;
        out->result = from_cl(crc);
        hm_strlcpy(out->code, cl_rc_name(crc), sizeof(out->code));
        hm_log_info("kiosk: cannot connect to the card on reader %d: %s", job->reader,
                    cl_rc_name(crc));
        return;
    }
    if (crc != CL_OK) {
        out->result = from_cl(crc);
        hm_strlcpy(out->code, cl_rc_name(crc), sizeof(out->code));
        hm_log_info("kiosk: the card on reader %d cannot be identified: %s", job->reader,
                    cl_rc_name(crc));
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
    if (rc == KC_E_NETWORK && tap_cached(b, out))
        return;
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

static void run_dispute(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    json_t *d = NULL;
    kc_rc rc;

    if (!b->card || !b->have_session) {
        out->result = KU_R_CARD_PULLED;
        return;
    }
    rc = kc_dispute(b->client, &b->session, job->payment, job->reason, NULL, &d);
    out->result = from_kc(b, rc, out);
    if (rc == KC_OK)
        hm_strlcpy(out->dispute, js(d, "dispute"), sizeof(out->dispute));
    if (rc == KC_OK && !out->dispute[0])
        out->result = KU_R_FAILED;
    json_decref(d);
    hm_log_info("kiosk: dispute of %s (%s): %s %s", job->payment, job->reason, kc_rc_name(rc),
                out->code);
}

/* ---- marriage-registration appointments -------------------------------------------- */

static bool has_service(json_t *office, const char *service)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(office, "services"), i, v)
    {
        const char *s = json_string_value(v);

        /* hs_marriage's spellings and the API's name the same services. */
        if (s &&
            (strcmp(s, service) == 0 ||
             (strcmp(service, "divorce_application") == 0 && strcmp(s, "divorce_apply") == 0) ||
             (strcmp(service, "divorce_confirmation") == 0 && strcmp(s, "divorce_confirm") == 0)))
            return true;
    }
    return false;
}

static void parse_offices(json_t *o, const char *service, struct ku_mdata *m)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(o, "offices"), i, v)
    {
        struct ku_office *f;

        if (m->n_offices == KU_OFFICE_MAX)
            break;
        f = &m->offices[m->n_offices++];
        hm_strlcpy(f->id, js(v, "id"), sizeof(f->id));
        hm_strlcpy(f->name, js(v, "name"), sizeof(f->name));
        f->offers = !service[0] || has_service(v, service);
    }
}

static void run_offices(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    json_t *o = NULL;
    kc_rc rc = kc_offices(b->client, &o);

    out->result = from_kc(b, rc, out);
    if (rc == KC_OK)
        parse_offices(o, job->service, &out->m);
    json_decref(o);
}

static void run_avail(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    /* From tomorrow in China Standard Time: today's places are for those already on the way. */
    time_t now = time(NULL), cst = now + 8 * 3600 + 86400;
    struct tm tm;
    char from[16];
    json_t *av = NULL, *d, *sl;
    size_t i, k;
    kc_rc rc;

    gmtime_r(&cst, &tm);
    strftime(from, sizeof(from), "%Y-%m-%d", &tm);
    rc = kc_availability(b->client, job->office, job->service, from, KU_DAY_MAX, &av);
    out->result = from_kc(b, rc, out);
    if (rc != KC_OK)
        goto out;
    json_array_foreach(json_object_get(av, "days"), i, d)
    {
        struct ku_day *day;

        if (out->m.n_days == KU_DAY_MAX)
            break;
        day = &out->m.days[out->m.n_days++];
        hm_strlcpy(day->date, js(d, "date"), sizeof(day->date));
        day->special = json_is_true(json_object_get(d, "special"));
        day->open = json_integer_value(json_object_get(d, "opens_at")) <= (json_int_t)now;
        json_array_foreach(json_object_get(d, "slots"), k, sl)
        {
            struct ku_slot *s;

            if (day->n_slots == KU_SLOT_MAX)
                break;
            s = &day->slots[day->n_slots++];
            hm_strlcpy(s->start, js(sl, "start"), sizeof(s->start));
            hm_strlcpy(s->end, js(sl, "end"), sizeof(s->end));
            s->capacity = (int)json_integer_value(json_object_get(sl, "capacity"));
            s->free = (int)json_integer_value(json_object_get(sl, "free"));
        }
    }
out:
    json_decref(av);
}

/*
 * Whether the card on the reader has gone, giving pcscd up to 1.5 s to notice: a read cut
 * short by a card taken away fails in many ways (a transport error, secure messaging out of
 * step), and the resident is told to put it back rather than that it cannot be read.
 */
static bool card_gone(struct kcb *b, const char *reader)
{
    for (int i = 0; i < 15; i++) {
        struct cl_reader_info r[CL_READERS_MAX];
        size_t n = 0;
        bool present = false;

        if (cl_ctx_list_readers(b->ctx, r, CL_READERS_MAX, &n) != CL_OK)
            return true;
        for (size_t k = 0; k < n && k < CL_READERS_MAX; k++)
            if (strcmp(r[k].name, reader) == 0 && (r[k].state & CL_READER_PRESENT))
                present = true;
        if (!present)
            return true;
        hm_sleep_ms(100);
    }
    return false;
}

static void run_id(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    const struct kc_mrz mrz = { .doc = job->mrz_doc,
                                .birth = job->mrz_birth,
                                .expiry = job->mrz_expiry };
    char name[CL_READER_NAME_MAX] = "";
    struct kc_id_session s;
    cl_card *card = NULL;
    cl_rc crc;
    kc_rc rc;

    memset(&s, 0, sizeof(s));
    end_visit(b);
    if (!b->ctx && cl_ctx_new_pcsc(&b->ctx) != CL_OK) {
        b->ctx = NULL;
        out->result = KU_R_CARD_UNREADABLE;
        goto out;
    }
    pthread_mutex_lock(&b->mu);
    if (job->reader >= 0 && job->reader < READERS)
        hm_strlcpy(name, b->names[job->reader], sizeof(name));
    pthread_mutex_unlock(&b->mu);
    crc = name[0] ? cl_card_connect(b->ctx, name, CL_SHARE_SHARED, &card) : CL_E_NO_CARD;
    /* pcscd restarted since the context was made: a new one, once. */
    if (service_lost(crc) && renew_ctx(b))
        crc = cl_card_connect(b->ctx, name, CL_SHARE_SHARED, &card);
    if (crc != CL_OK) {
        if (service_lost(crc)) {
            cl_ctx_free(b->ctx);
            b->ctx = NULL;
        }
        out->result = from_cl(crc);
        hm_strlcpy(out->code, cl_rc_name(crc), sizeof(out->code));
        goto out;
    }
    rc = kc_id_session(b->client, card, &mrz, &s);
    out->result = from_kc(b, rc, out);
    if (rc == KC_E_CARD && kc_last_error(b->client)->card_rc == CL_E_AUTH_FAILED)
        out->result = KU_R_PIN_WRONG; /* the chip refused the typed numbers */
    else if (rc == KC_E_CARD && out->result == KU_R_CARD_UNREADABLE && card_gone(b, name))
        out->result = KU_R_CARD_PULLED; /* cut short by the card leaving: put it back */
    else if (rc == KC_E_VERIFY)
        out->result = KU_R_CARD_REFUSED; /* not genuine, found here before anything was sent */
    if (rc == KC_OK) {
        hm_strlcpy(out->m.party.session, s.id, sizeof(out->m.party.session));
        hm_strlcpy(out->m.party.name, s.name, sizeof(out->m.party.name));
        hm_strlcpy(out->m.party.id_masked, s.id_masked, sizeof(out->m.party.id_masked));
        out->m.party.sex = s.sex;
    }
    hm_log_info(
        "kiosk: ID session: %s (%s%s%s) %s", kc_rc_name(rc), out->code, rc == KC_E_CARD ? ", " : "",
        rc == KC_E_CARD ? cl_rc_name((cl_rc)kc_last_error(b->client)->card_rc) : "", s.id_masked);
    cl_card_disconnect(card, true);
out:
    hm_wipe(&s, sizeof(s));
    hm_wipe(job->mrz_doc, sizeof(job->mrz_doc));
    hm_wipe(job->mrz_birth, sizeof(job->mrz_birth));
    hm_wipe(job->mrz_expiry, sizeof(job->mrz_expiry));
}

static void run_book(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    struct kc_booking bk = { .service = job->service,
                             .office = job->office,
                             .date = job->date,
                             .slot = job->slot,
                             .parties = { job->sessions[0],
                                          job->sessions[1][0] ? job->sessions[1] : NULL } };
    struct kc_ticket *t = calloc(1, sizeof(*t));
    kc_rc rc;

    if (!t) {
        out->result = KU_R_FAILED;
        return;
    }
    rc = kc_book(b->client, &bk, t);
    out->result = from_kc(b, rc, out);
    if (rc == KC_OK) {
        hm_strlcpy(out->m.ticket.token, t->token, sizeof(out->m.ticket.token));
        hm_strlcpy(out->m.ticket.id, t->id, sizeof(out->m.ticket.id));
        hm_strlcpy(out->m.ticket.date, t->date, sizeof(out->m.ticket.date));
        hm_strlcpy(out->m.ticket.slot, t->slot, sizeof(out->m.ticket.slot));
        hm_strlcpy(out->m.ticket.office, t->office, sizeof(out->m.ticket.office));
    }
    hm_log_info("kiosk: booking %s %s %s %s: %s %s", job->service, job->office, job->date,
                job->slot, kc_rc_name(rc), out->code);
    hm_wipe(t, sizeof(*t));
    free(t);
}

static void run_mine(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    json_t *mine = NULL, *offices = NULL, *v;
    kc_rc rc = kc_mine(b->client, job->sessions[0], &mine);
    size_t i;

    out->result = from_kc(b, rc, out);
    if (rc != KC_OK)
        goto out;
    if (kc_offices(b->client, &offices) == KC_OK) /* for the offices' names; ids otherwise */
        parse_offices(offices, "", &out->m);
    json_array_foreach(json_object_get(mine, "appointments"), i, v)
    {
        struct ku_appt *p;

        if (out->m.n_appts == KU_APPT_MAX)
            break;
        p = &out->m.appts[out->m.n_appts++];
        hm_strlcpy(p->t, js(v, "t"), sizeof(p->t));
        hm_strlcpy(p->service, js(v, "sv"), sizeof(p->service));
        hm_strlcpy(p->office, js(v, "o"), sizeof(p->office));
        hm_strlcpy(p->date, js(v, "d"), sizeof(p->date));
        hm_strlcpy(p->slot, js(v, "sl"), sizeof(p->slot));
        hm_strlcpy(p->status, js(v, "status"), sizeof(p->status));
        for (size_t k = 0; k < out->m.n_offices; k++)
            if (strcmp(out->m.offices[k].id, p->office) == 0)
                hm_strlcpy(p->office_name, out->m.offices[k].name, sizeof(p->office_name));
    }
out:
    json_decref(offices);
    json_decref(mine);
}

/* 改约: the people at the kiosk move their appointment; the new ticket comes back. */
static void run_reschedule(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    const char *const sessions[2] = { job->sessions[0],
                                      job->sessions[1][0] ? job->sessions[1] : NULL };
    struct kc_ticket *t = calloc(1, sizeof(*t));
    kc_rc rc;

    if (!t) {
        out->result = KU_R_FAILED;
        return;
    }
    rc = kc_reschedule(b->client, job->ticket, sessions, job->date, job->slot, t);
    out->result = from_kc(b, rc, out);
    if (rc == KC_OK) {
        hm_strlcpy(out->m.ticket.token, t->token, sizeof(out->m.ticket.token));
        hm_strlcpy(out->m.ticket.id, t->id, sizeof(out->m.ticket.id));
        hm_strlcpy(out->m.ticket.date, t->date, sizeof(out->m.ticket.date));
        hm_strlcpy(out->m.ticket.slot, t->slot, sizeof(out->m.ticket.slot));
        hm_strlcpy(out->m.ticket.office, t->office, sizeof(out->m.ticket.office));
    }
    hm_log_info("kiosk: reschedule %s to %s %s: %s %s", job->ticket, job->date, job->slot,
                kc_rc_name(rc), out->code);
    hm_wipe(t, sizeof(*t));
    free(t);
}

/* 呼叫工作人员, with the resident's card session when the screen had one open. */
static void run_staff_call(struct kcb *b, struct ku_job *job, struct ku_reply *out)
{
    struct kc_staff_call call;
    kc_rc rc;

    memset(&call, 0, sizeof(call));
    rc = kc_staff_call(b->client, job->reason, job->screen[0] ? job->screen : NULL,
                       job->with_card && b->have_session ? &b->session : NULL, &call);
    out->result = from_kc(b, rc, out);
    if (rc == KC_OK) {
        out->waiting = call.waiting;
        hm_strlcpy(out->call, call.id, sizeof(out->call));
    }
    hm_log_info("kiosk: staff call (%s) from %s: %s %s, %d waiting", job->reason, job->screen,
                kc_rc_name(rc), rc == KC_OK ? call.id : out->code, call.waiting);
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
    case KU_JOB_DISPUTE:
        run_dispute(b, job, out);
        break;
    case KU_JOB_OFFICES:
        run_offices(b, job, out);
        break;
    case KU_JOB_AVAIL:
        run_avail(b, job, out);
        break;
    case KU_JOB_ID:
        run_id(b, job, out);
        break;
    case KU_JOB_BOOK:
        run_book(b, job, out);
        break;
    case KU_JOB_MINE:
        run_mine(b, job, out);
        break;
    case KU_JOB_APPT_RESCHEDULE:
        run_reschedule(b, job, out);
        break;
    case KU_JOB_STAFF_CALL:
        run_staff_call(b, job, out);
        break;
    case KU_JOB_APPT_CANCEL: {
        kc_rc rc = kc_cancel(b->client, job->ticket, job->sessions[0]);

        out->result = from_kc(b, rc, out);
        hm_log_info("kiosk: cancel %s: %s %s", job->ticket, kc_rc_name(rc), out->code);
        break;
    }
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
