/*
 * Reader and card events for any backend: the backend only says "something
 * changed"; this file lists the readers again and turns the difference into
 * events, using the event counter to see a card swapped within one wait.
 */
#include "cl/card.h"
#include "hm/util.h"
#include "transport/transport.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX        (4 * CL_READERS_MAX + 4)
#define SERVICE_RETRY_MS 250

struct cl_monitor {
    const struct cl_transport_ops *ops;
    void *b;
    struct cl_reader_info known[CL_READERS_MAX];
    size_t nknown;
    bool primed;
    bool lost;
    atomic_bool cancelled;
    struct cl_event queue[QUEUE_MAX];
    size_t qhead, qlen;
};

const char *cl_event_name(enum cl_event_kind kind)
{
    switch (kind) {
    case CL_EVENT_READER_ADDED:
        return "reader-added";
    case CL_EVENT_READER_REMOVED:
        return "reader-removed";
    case CL_EVENT_CARD_INSERTED:
        return "card-inserted";
    case CL_EVENT_CARD_REMOVED:
        return "card-removed";
    case CL_EVENT_CARD_MUTE:
        return "card-mute";
    case CL_EVENT_SERVICE_LOST:
        return "service-lost";
    case CL_EVENT_SERVICE_BACK:
        return "service-back";
    }
    return "unknown";
}

cl_rc cl_monitor_new(cl_ctx *ctx, cl_monitor **out)
{
    cl_monitor *m;
    cl_rc rc;

    if (!ctx || !out)
        return CL_E_INVALID_ARG;
    m = calloc(1, sizeof(*m));
    if (!m)
        return CL_E_NO_MEMORY;
    m->ops = ctx->ops;
    rc = ctx->ops->open_like(ctx->b, &m->b);
    if (rc != CL_OK) {
        free(m);
        return rc;
    }
    atomic_init(&m->cancelled, false);
    *out = m;
    return CL_OK;
}

void cl_monitor_free(cl_monitor *m)
{
    if (!m)
        return;
    m->ops->close(m->b);
    free(m);
}

void cl_monitor_cancel(cl_monitor *m)
{
    atomic_store(&m->cancelled, true);
    m->ops->cancel(m->b);
}

static void push(cl_monitor *m, enum cl_event_kind kind, const struct cl_reader_info *r)
{
    struct cl_event *ev;

    if (m->qlen == QUEUE_MAX)
        return; /* cannot happen: the queue holds a full diff */
    ev = &m->queue[(m->qhead + m->qlen) % QUEUE_MAX];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    if (r) {
        hm_strlcpy(ev->reader, r->name, sizeof(ev->reader));
        ev->event_count = r->event_count;
        if (kind == CL_EVENT_CARD_INSERTED) {
            memcpy(ev->atr, r->atr, r->atr_len);
            ev->atr_len = r->atr_len;
        }
    }
    m->qlen++;
}

static const struct cl_reader_info *find(const struct cl_reader_info *list, size_t n,
                                         const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

static void card_appeared(cl_monitor *m, const struct cl_reader_info *r)
{
    if (r->state & CL_READER_MUTE)
        push(m, CL_EVENT_CARD_MUTE, r);
    else
        push(m, CL_EVENT_CARD_INSERTED, r);
}

/* Turns the change from m->known to now[] into events and adopts now[]. */
static void diff(cl_monitor *m, const struct cl_reader_info *now, size_t n)
{
    for (size_t i = 0; i < m->nknown; i++) {
        const struct cl_reader_info *old = &m->known[i];

        if (find(now, n, old->name))
            continue;
        if (old->state & CL_READER_PRESENT)
            push(m, CL_EVENT_CARD_REMOVED, old);
        push(m, CL_EVENT_READER_REMOVED, old);
    }
    for (size_t i = 0; i < n; i++) {
        const struct cl_reader_info *r = &now[i];
        const struct cl_reader_info *old = find(m->known, m->nknown, r->name);
        bool was = old && (old->state & CL_READER_PRESENT);
        bool is = (r->state & CL_READER_PRESENT) != 0;

        if (!old) {
            push(m, CL_EVENT_READER_ADDED, r);
            if (is)
                card_appeared(m, r);
            continue;
        }
        if (was && is && old->event_count != r->event_count) {
            /* The card was swapped between two looks. */
            push(m, CL_EVENT_CARD_REMOVED, old);
            card_appeared(m, r);
        } else if (was && !is) {
            push(m, CL_EVENT_CARD_REMOVED, r);
        } else if (!was && is) {
            card_appeared(m, r);
        } else if (was && is && ((old->state ^ r->state) & CL_READER_MUTE) &&
                   !(r->state & CL_READER_MUTE)) {
            /* A mute card started answering. */
            push(m, CL_EVENT_CARD_INSERTED, r);
        }
    }
    if (n)
        memcpy(m->known, now, n * sizeof(now[0]));
    m->nknown = n;
}

static bool service_gone(cl_rc rc)
{
    return rc == CL_E_NO_SERVICE || rc == CL_E_SERVICE_STOPPED;
}

static void lose_service(cl_monitor *m)
{
    push(m, CL_EVENT_SERVICE_LOST, NULL);
    diff(m, NULL, 0);
    m->lost = true;
}

cl_rc cl_monitor_wait(cl_monitor *m, struct cl_event *ev, int timeout_ms)
{
    uint64_t start = hm_now_ms();
    struct cl_reader_info now[CL_READERS_MAX];
    size_t n;
    cl_rc rc;

    for (;;) {
        int left = -1;

        if (m->qlen) {
            *ev = m->queue[m->qhead];
            m->qhead = (m->qhead + 1) % QUEUE_MAX;
            m->qlen--;
            return CL_OK;
        }
        if (atomic_exchange(&m->cancelled, false))
            return CL_E_CANCELLED;
        if (timeout_ms >= 0) {
            uint64_t spent = hm_now_ms() - start;
            left = spent >= (uint64_t)timeout_ms ? 0 : (int)((uint64_t)timeout_ms - spent);
        }
        if (!m->primed || m->lost) {
            rc = m->ops->list_readers(m->b, now, HM_ARRAY_SIZE(now), &n);
            if (rc == CL_OK) {
                if (m->lost)
                    push(m, CL_EVENT_SERVICE_BACK, NULL);
                m->lost = false;
                m->primed = true;
                diff(m, now, n < HM_ARRAY_SIZE(now) ? n : HM_ARRAY_SIZE(now));
                continue;
            }
            if (!service_gone(rc))
                return rc;
            if (!m->primed) {
                m->primed = true;
                lose_service(m);
                continue;
            }
            /* Still gone: wait a little (or until the deadline) and try again. */
            if (left == 0)
                return CL_E_TIMEOUT;
            hm_sleep_ms(left >= 0 && left < SERVICE_RETRY_MS ? (unsigned)left : SERVICE_RETRY_MS);
            continue;
        }
        rc = m->ops->wait_change(m->b, m->known, m->nknown, left);
        if (rc == CL_E_TIMEOUT || rc == CL_E_CANCELLED) {
            if (rc == CL_E_CANCELLED)
                atomic_store(&m->cancelled, false);
            return rc;
        }
        if (rc == CL_OK)
            rc = m->ops->list_readers(m->b, now, HM_ARRAY_SIZE(now), &n);
        if (service_gone(rc)) {
            lose_service(m);
            continue;
        }
        if (rc != CL_OK)
            return rc;
        diff(m, now, n < HM_ARRAY_SIZE(now) ? n : HM_ARRAY_SIZE(now));
    }
}
