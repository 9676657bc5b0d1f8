/* One worker thread and a mutex-protected queue, so card and network calls never block a frame. */
#include "worker.h"

#include "hm/log.h"
#include "hm/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_MAX   16
#define POSTED_MAX 64

struct ku_worker {
    const struct ku_backend_ops *ops;
    void *backend;
    void (*wake)(void *arg);
    void *wake_arg;
    pthread_t thread;
    bool started, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ku_job jobs[JOBS_MAX];
    size_t jhead, jn, running;
    struct ku_posted posted[POSTED_MAX];
    size_t phead, pn;
};

static void post_locked(ku_worker *w, const struct ku_posted *p)
{
    if (w->pn == POSTED_MAX) {
        struct ku_posted *old = &w->posted[w->phead];

        hm_log_warn("kiosk: event queue full, dropping the oldest");
        ku_posted_cleanup(old);
        w->phead = (w->phead + 1) % POSTED_MAX;
        w->pn--;
    }
    w->posted[(w->phead + w->pn) % POSTED_MAX] = *p;
    w->pn++;
}

static void post(ku_worker *w, const struct ku_posted *p)
{
    pthread_mutex_lock(&w->mu);
    post_locked(w, p);
    pthread_mutex_unlock(&w->mu);
    if (w->wake)
        w->wake(w->wake_arg);
}

void ku_worker_post(ku_worker *w, enum ku_ev_kind kind, int reader, enum ku_card_kind card)
{
    struct ku_posted p = { .kind = kind, .reader = reader, .card = card };

    post(w, &p);
}

static void *loop(void *arg)
{
    ku_worker *w = arg;

    for (;;) {
        struct ku_job job;
        struct ku_posted p = { .kind = KU_EV_REPLY };

        pthread_mutex_lock(&w->mu);
        while (!w->jn && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        job = w->jobs[w->jhead];
        hm_wipe(&w->jobs[w->jhead], sizeof(job));
        w->jhead = (w->jhead + 1) % JOBS_MAX;
        w->jn--;
        w->running = 1;
        pthread_mutex_unlock(&w->mu);

        p.reply = calloc(1, sizeof(*p.reply));
        if (p.reply) {
            p.reply->kind = job.kind;
            p.reply->seq = job.seq;
            w->ops->run(w->backend, &job, p.reply);
        }
        hm_wipe(&job, sizeof(job));
        pthread_mutex_lock(&w->mu);
        w->running = 0;
        if (p.reply)
            post_locked(w, &p);
        pthread_mutex_unlock(&w->mu);
        if (w->wake)
            w->wake(w->wake_arg);
    }
    return NULL;
}

ku_worker *ku_worker_new(const struct ku_backend_ops *ops, void *backend, void (*wake)(void *arg),
                         void *wake_arg)
{
    ku_worker *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->ops = ops;
    w->backend = backend;
    w->wake = wake;
    w->wake_arg = wake_arg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, loop, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    w->started = true;
    if (ops->start)
        ops->start(backend, w);
    return w;
}

void ku_worker_free(ku_worker *w)
{
    struct ku_posted p;

    if (!w)
        return;
    if (w->ops->stop)
        w->ops->stop(w->backend);
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    while (ku_worker_poll(w, &p))
        ku_posted_cleanup(&p);
    if (w->ops->free)
        w->ops->free(w->backend);
    hm_wipe(w->jobs, sizeof(w->jobs));
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

bool ku_worker_submit(ku_worker *w, const struct ku_job *job)
{
    bool ok = false;

    pthread_mutex_lock(&w->mu);
    if (w->jn < JOBS_MAX) {
        w->jobs[(w->jhead + w->jn) % JOBS_MAX] = *job;
        w->jn++;
        ok = true;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ok;
}

bool ku_worker_poll(ku_worker *w, struct ku_posted *out)
{
    bool got = false;

    pthread_mutex_lock(&w->mu);
    if (w->pn) {
        *out = w->posted[w->phead];
        memset(&w->posted[w->phead], 0, sizeof(w->posted[0]));
        w->phead = (w->phead + 1) % POSTED_MAX;
        w->pn--;
        got = true;
    }
    pthread_mutex_unlock(&w->mu);
    return got;
}

size_t ku_worker_busy(ku_worker *w)
{
    size_t n;

    pthread_mutex_lock(&w->mu);
    n = w->jn + w->running;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void ku_posted_cleanup(struct ku_posted *p)
{
    if (p->reply) {
        hm_wipe(p->reply, sizeof(*p->reply));
        free(p->reply);
    }
    memset(p, 0, sizeof(*p));
}
