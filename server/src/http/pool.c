/* The handler thread pool of the HTTPS front, kept apart so http.c holds only libevent and TLS. */
#include "pool.h"

#include "hm/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct hs_pool {
    pthread_mutex_t lock;
    pthread_cond_t more; /* signalled when a job is queued or the pool stops */
    struct hs_pool_job *head, *tail;
    bool stopping;
    hs_pool_run run;
    void *ctx;
    int nthreads; /* threads started, all joined by hs_pool_free() */
    pthread_t *threads;
};

static void *pool_main(void *arg)
{
    struct hs_pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct hs_pool_job *job;

        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->more, &p->lock);
        /* A stopping pool finishes nothing new: hs_pool_free() hands queued jobs back. */
        if (p->stopping)
            break;
        job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        job->next = NULL;
        pthread_mutex_unlock(&p->lock);
        p->run(p->ctx, job);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

hs_rc hs_pool_new(int nthreads, hs_pool_run run, void *ctx, struct hs_pool **out)
{
    struct hs_pool *p;
    int i, err;

    if (!out || !run || nthreads < 1)
        return HS_E_INVALID_ARG;
    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return HS_E_NO_MEMORY;
    p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return HS_E_NO_MEMORY;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    p->run = run;
    p->ctx = ctx;
    for (i = 0; i < nthreads; i++) {
        err = pthread_create(&p->threads[i], NULL, pool_main, p);
        if (err) {
            hm_log_error("http: cannot start handler thread %d: %s", i, strerror(err));
            hs_pool_free(p);
            return HS_E_INTERNAL;
        }
        p->nthreads++;
    }
    *out = p;
    return HS_OK;
}

bool hs_pool_push(struct hs_pool *p, struct hs_pool_job *job)
{
    bool ok;

    job->next = NULL;
    pthread_mutex_lock(&p->lock);
    ok = !p->stopping;
    if (ok) {
        if (p->tail)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        pthread_cond_signal(&p->more);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

struct hs_pool_job *hs_pool_free(struct hs_pool *p)
{
    struct hs_pool_job *left;
    int i;

    if (!p)
        return NULL;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    left = p->head;
    pthread_cond_destroy(&p->more);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
    return left;
}
