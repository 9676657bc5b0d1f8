/*
 * The in-process backend: a real implementation of the transport seam whose
 * cards are objects in the test process, so drivers, the transmit path and
 * the monitor are tested without pcscd (pcsc-lite's libfake.c in spirit).
 */
#include "cl/mem.h"
#include "hm/util.h"
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mem_reader {
    bool used;
    char name[CL_READER_NAME_MAX];
    bool present;
    const struct cl_mem_card_ops *ops;
    void *card;
    unsigned event_count;
    unsigned generation; /* which card: bumped on every insertion */
    unsigned reset_seq;  /* bumped by cl_mem_reset() */
    unsigned commands;
    long remove_after; /* -1: never */
    uint8_t atr[CL_ATR_MAX];
    size_t atr_len;
    void *exclusive; /* the connection holding it exclusively */
};

struct mem_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned refs;
    struct mem_reader readers[CL_READERS_MAX];
};

struct mem_ctx {
    struct mem_shared *sh;
    bool cancelled; /* under sh->mu */
};

struct mem_conn {
    struct mem_ctx *b;
    size_t idx;
    unsigned generation;
    unsigned reset_seq;
    bool in_tx;
};

static struct mem_reader *reader_by_name(struct mem_shared *sh, const char *name)
{
    for (size_t i = 0; i < CL_READERS_MAX; i++)
        if (sh->readers[i].used && strcmp(sh->readers[i].name, name) == 0)
            return &sh->readers[i];
    return NULL;
}

static cl_rc mem_open_like(void *bv, void **out)
{
    struct mem_ctx *b = bv;
    struct mem_ctx *nb = calloc(1, sizeof(*nb));

    if (!nb)
        return CL_E_NO_MEMORY;
    pthread_mutex_lock(&b->sh->mu);
    b->sh->refs++;
    pthread_mutex_unlock(&b->sh->mu);
    nb->sh = b->sh;
    *out = nb;
    return CL_OK;
}

static void mem_close(void *bv)
{
    struct mem_ctx *b = bv;
    struct mem_shared *sh = b->sh;
    unsigned refs;

    pthread_mutex_lock(&sh->mu);
    refs = --sh->refs;
    pthread_mutex_unlock(&sh->mu);
    if (refs == 0) {
        pthread_mutex_destroy(&sh->mu);
        pthread_cond_destroy(&sh->cv);
        free(sh);
    }
    free(b);
}

static void fill_info(const struct mem_reader *r, struct cl_reader_info *out)
{
    memset(out, 0, sizeof(*out));
    hm_strlcpy(out->name, r->name, sizeof(out->name));
    out->event_count = r->event_count;
    if (r->present) {
        out->state |= CL_READER_PRESENT;
        memcpy(out->atr, r->atr, r->atr_len);
        out->atr_len = r->atr_len;
        if (r->atr_len == 0)
            out->state |= CL_READER_MUTE;
    }
    if (r->exclusive)
        out->state |= CL_READER_EXCLUSIVE;
}

static cl_rc mem_list_readers(void *bv, struct cl_reader_info *out, size_t cap, size_t *count)
{
    struct mem_ctx *b = bv;
    size_t n = 0;

    pthread_mutex_lock(&b->sh->mu);
    for (size_t i = 0; i < CL_READERS_MAX; i++) {
        if (!b->sh->readers[i].used)
            continue;
        if (n < cap)
            fill_info(&b->sh->readers[i], &out[n]);
        n++;
    }
    pthread_mutex_unlock(&b->sh->mu);
    *count = n;
    return CL_OK;
}

static bool differs(struct mem_shared *sh, const struct cl_reader_info *known, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < CL_READERS_MAX; i++) {
        struct cl_reader_info now;
        bool found = false;

        if (!sh->readers[i].used)
            continue;
        count++;
        fill_info(&sh->readers[i], &now);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(known[k].name, now.name) != 0)
                continue;
            found = true;
            if (known[k].state != now.state || known[k].event_count != now.event_count)
                return true;
        }
        if (!found)
            return true;
    }
    return count != n;
}

static cl_rc mem_wait_change(void *bv, const struct cl_reader_info *known, size_t n, int timeout_ms)
{
    struct mem_ctx *b = bv;
    struct timespec deadline;
    cl_rc rc = CL_OK;

    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&b->sh->mu);
    for (;;) {
        if (b->cancelled) {
            b->cancelled = false;
            rc = CL_E_CANCELLED;
            break;
        }
        if (differs(b->sh, known, n))
            break;
        if (timeout_ms == 0) {
            rc = CL_E_TIMEOUT;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&b->sh->cv, &b->sh->mu);
        } else if (pthread_cond_timedwait(&b->sh->cv, &b->sh->mu, &deadline) == ETIMEDOUT) {
            if (!differs(b->sh, known, n) && !b->cancelled) {
                rc = CL_E_TIMEOUT;
                break;
            }
        }
    }
    pthread_mutex_unlock(&b->sh->mu);
    return rc;
}

static cl_rc mem_cancel(void *bv)
{
    struct mem_ctx *b = bv;

    pthread_mutex_lock(&b->sh->mu);
    b->cancelled = true;
    pthread_cond_broadcast(&b->sh->cv);
    pthread_mutex_unlock(&b->sh->mu);
    return CL_OK;
}

/* Powers the card on (under the lock) and reports its ATR. */
static cl_rc power_on(struct mem_reader *r)
{
    r->atr_len = 0;
    return r->ops->power_on(r->card, r->atr, sizeof(r->atr), &r->atr_len);
}

static cl_rc mem_connect(void *bv, const char *reader, enum cl_share share, void **connp,
                         uint8_t *atr, size_t *atr_len, enum cl_protocol *proto)
{
    struct mem_ctx *b = bv;
    struct mem_reader *r;
    struct mem_conn *c;
    cl_rc rc = CL_OK;

    c = calloc(1, sizeof(*c));
    if (!c)
        return CL_E_NO_MEMORY;
    pthread_mutex_lock(&b->sh->mu);
    r = reader_by_name(b->sh, reader);
    if (!r)
        rc = CL_E_READER_NOT_FOUND;
    else if (!r->present)
        rc = CL_E_NO_CARD;
    else if (r->exclusive)
        rc = CL_E_SHARING_VIOLATION;
    else if (r->atr_len == 0)
        rc = CL_E_CARD_UNRESPONSIVE;
    if (rc == CL_OK) {
        c->b = b;
        c->idx = (size_t)(r - b->sh->readers);
        c->generation = r->generation;
        c->reset_seq = r->reset_seq;
        if (share == CL_SHARE_EXCLUSIVE)
            r->exclusive = c;
        memcpy(atr, r->atr, r->atr_len);
        *atr_len = r->atr_len;
        *proto = CL_PROTO_T1;
    }
    pthread_mutex_unlock(&b->sh->mu);
    if (rc != CL_OK) {
        free(c);
        return rc;
    }
    *connp = c;
    return CL_OK;
}

static cl_rc conn_check(struct mem_conn *c, struct mem_reader **rp)
{
    struct mem_reader *r = &c->b->sh->readers[c->idx];

    if (!r->used)
        return CL_E_READER_UNAVAILABLE;
    if (!r->present || r->generation != c->generation)
        return CL_E_CARD_REMOVED;
    if (r->reset_seq != c->reset_seq)
        return CL_E_CARD_RESET;
    *rp = r;
    return CL_OK;
}

static cl_rc mem_reconnect(void *cv, enum cl_share share, bool reset, uint8_t *atr, size_t *atr_len,
                           enum cl_protocol *proto)
{
    struct mem_conn *c = cv;
    struct mem_reader *r = &c->b->sh->readers[c->idx];
    cl_rc rc = CL_OK;

    pthread_mutex_lock(&c->b->sh->mu);
    if (!r->used)
        rc = CL_E_READER_UNAVAILABLE;
    else if (!r->present || r->generation != c->generation)
        rc = CL_E_CARD_REMOVED;
    if (rc == CL_OK && reset) {
        rc = power_on(r);
        r->reset_seq++;
    }
    if (rc == CL_OK) {
        c->reset_seq = r->reset_seq;
        if (share == CL_SHARE_EXCLUSIVE && !r->exclusive)
            r->exclusive = c;
        else if (share == CL_SHARE_SHARED && r->exclusive == c)
            r->exclusive = NULL;
        memcpy(atr, r->atr, r->atr_len);
        *atr_len = r->atr_len;
        *proto = CL_PROTO_T1;
    }
    pthread_mutex_unlock(&c->b->sh->mu);
    return rc;
}

static void mem_disconnect(void *cv, bool reset)
{
    struct mem_conn *c = cv;
    struct mem_reader *r = &c->b->sh->readers[c->idx];

    pthread_mutex_lock(&c->b->sh->mu);
    if (r->exclusive == c)
        r->exclusive = NULL;
    if (reset && r->used && r->present && r->generation == c->generation) {
        power_on(r);
        r->reset_seq++;
    }
    pthread_mutex_unlock(&c->b->sh->mu);
    free(c);
}

static cl_rc mem_status(void *cv)
{
    struct mem_conn *c = cv;
    struct mem_reader *r;
    cl_rc rc;

    pthread_mutex_lock(&c->b->sh->mu);
    rc = conn_check(c, &r);
    pthread_mutex_unlock(&c->b->sh->mu);
    return rc;
}

static cl_rc mem_begin(void *cv)
{
    struct mem_conn *c = cv;

    c->in_tx = true;
    return mem_status(cv);
}

static cl_rc mem_end(void *cv)
{
    struct mem_conn *c = cv;

    c->in_tx = false;
    return CL_OK;
}

static void remove_card(struct mem_shared *sh, struct mem_reader *r)
{
    r->present = false;
    r->ops = NULL;
    r->card = NULL;
    r->atr_len = 0;
    r->exclusive = NULL;
    r->remove_after = -1;
    r->event_count++;
    pthread_cond_broadcast(&sh->cv);
}

static cl_rc mem_transmit(void *cv, const uint8_t *cmd, size_t clen, uint8_t *resp, size_t rcap,
                          size_t *rlen)
{
    struct mem_conn *c = cv;
    struct mem_shared *sh = c->b->sh;
    struct mem_reader *r;
    cl_rc rc;

    pthread_mutex_lock(&sh->mu);
    rc = conn_check(c, &r);
    if (rc == CL_OK && r->remove_after >= 0 && r->commands >= (unsigned long)r->remove_after) {
        remove_card(sh, r);
        rc = CL_E_CARD_REMOVED;
    }
    if (rc == CL_OK) {
        r->commands++;
        *rlen = 0;
        rc = r->ops->process(r->card, cmd, clen, resp, rcap, rlen);
        if (rc == CL_OK && *rlen < 2)
            rc = CL_E_CARD_UNRESPONSIVE;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static const struct cl_transport_ops mem_ops = {
    .name = "mem",
    .open_like = mem_open_like,
    .close = mem_close,
    .list_readers = mem_list_readers,
    .wait_change = mem_wait_change,
    .cancel = mem_cancel,
    .connect = mem_connect,
    .reconnect = mem_reconnect,
    .disconnect = mem_disconnect,
    .status = mem_status,
    .begin = mem_begin,
    .end = mem_end,
    .transmit = mem_transmit,
    .last_native = NULL,
};

cl_rc cl_ctx_new_mem(cl_ctx **out)
{
    struct mem_ctx *b;
    struct mem_shared *sh;

    if (!out)
        return CL_E_INVALID_ARG;
    b = calloc(1, sizeof(*b));
    sh = calloc(1, sizeof(*sh));
    if (!b || !sh) {
        free(b);
        free(sh);
        return CL_E_NO_MEMORY;
    }
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sh->refs = 1;
    b->sh = sh;
    return cl_ctx_wrap(&mem_ops, b, out);
}

static struct mem_shared *shared_of(cl_ctx *ctx)
{
    if (!ctx || ctx->ops != &mem_ops)
        return NULL;
    return ((struct mem_ctx *)ctx->b)->sh;
}

cl_rc cl_mem_add_reader(cl_ctx *ctx, const char *reader)
{
    struct mem_shared *sh = shared_of(ctx);
    cl_rc rc = CL_E_NO_MEMORY;

    if (!sh || !reader || !*reader || strlen(reader) >= CL_READER_NAME_MAX)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    if (reader_by_name(sh, reader)) {
        rc = CL_E_INVALID_ARG;
    } else {
        for (size_t i = 0; i < CL_READERS_MAX; i++) {
            struct mem_reader *r = &sh->readers[i];

            if (r->used)
                continue;
            memset(r, 0, sizeof(*r));
            r->used = true;
            r->remove_after = -1;
            hm_strlcpy(r->name, reader, sizeof(r->name));
            rc = CL_OK;
            break;
        }
    }
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

cl_rc cl_mem_remove_reader(cl_ctx *ctx, const char *reader)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;

    if (!sh || !reader)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (r) {
        unsigned gen = r->generation;

        memset(r, 0, sizeof(*r));
        r->generation = gen + 1; /* open connections see the card gone */
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    return r ? CL_OK : CL_E_READER_NOT_FOUND;
}

cl_rc cl_mem_insert(cl_ctx *ctx, const char *reader, const struct cl_mem_card_ops *ops, void *card)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;
    cl_rc rc = CL_OK;

    if (!sh || !reader || !ops || !ops->process || !ops->power_on)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (!r) {
        rc = CL_E_READER_NOT_FOUND;
    } else {
        if (r->present)
            remove_card(sh, r);
        r->ops = ops;
        r->card = card;
        r->present = true;
        r->generation++;
        r->commands = 0;
        r->remove_after = -1;
        r->event_count++;
        if (power_on(r) != CL_OK)
            r->atr_len = 0; /* a mute card */
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

cl_rc cl_mem_remove(cl_ctx *ctx, const char *reader)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;
    cl_rc rc = CL_OK;

    if (!sh || !reader)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (!r)
        rc = CL_E_READER_NOT_FOUND;
    else if (!r->present)
        rc = CL_E_NO_CARD;
    else
        remove_card(sh, r);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

cl_rc cl_mem_remove_after(cl_ctx *ctx, const char *reader, unsigned n)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;
    cl_rc rc = CL_OK;

    if (!sh || !reader)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (!r)
        rc = CL_E_READER_NOT_FOUND;
    else if (!r->present)
        rc = CL_E_NO_CARD;
    else
        r->remove_after = (long)(r->commands + n);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

cl_rc cl_mem_reset(cl_ctx *ctx, const char *reader)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;
    cl_rc rc = CL_OK;

    if (!sh || !reader)
        return CL_E_INVALID_ARG;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (!r) {
        rc = CL_E_READER_NOT_FOUND;
    } else if (!r->present) {
        rc = CL_E_NO_CARD;
    } else {
        power_on(r);
        r->reset_seq++;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

unsigned cl_mem_commands(cl_ctx *ctx, const char *reader)
{
    struct mem_shared *sh = shared_of(ctx);
    struct mem_reader *r;
    unsigned n = 0;

    if (!sh || !reader)
        return 0;
    pthread_mutex_lock(&sh->mu);
    r = reader_by_name(sh, reader);
    if (r)
        n = r->commands;
    pthread_mutex_unlock(&sh->mu);
    return n;
}
