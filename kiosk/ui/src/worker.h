/*
 * The worker: one thread that runs the app's jobs (card and network calls,
 * which block) through a backend, and a queue that carries their replies and
 * the card monitor's events back to the frame loop, which a wake callback
 * rouses (SDL_PushEvent in the platform). Nothing here knows SDL.
 */
#ifndef KU_WORKER_H
#define KU_WORKER_H

#include "ui.h"

typedef struct ku_worker ku_worker;

/*
 * A backend runs jobs on the worker thread. run() fills out (zeroed by the
 * worker) and wipes job->pin once it is done with it. start() is called once
 * the worker exists, so a backend may post card events from its own thread
 * (ku_worker_post); stop() before the worker joins its thread. Any slot but
 * name and run may be NULL. The worker frees the backend through free().
 */
struct ku_backend_ops {
    const char *name;
    void (*start)(void *b, ku_worker *w);
    void (*run)(void *b, struct ku_job *job, struct ku_reply *out);
    void (*stop)(void *b);
    void (*free)(void *b);
};

/* What the frame loop receives: a reply (owned, free it with ku_posted_cleanup) or a card event. */
struct ku_posted {
    enum ku_ev_kind kind; /* KU_EV_REPLY, KU_EV_CARD_*, KU_EV_READER_* */
    int reader;
    enum ku_card_kind card;
    struct ku_reply *reply;
};

ku_worker *ku_worker_new(const struct ku_backend_ops *ops, void *backend, void (*wake)(void *arg),
                         void *wake_arg);
/* Stops the backend and the thread, wipes and frees what is queued. NULL is a no-op. */
void ku_worker_free(ku_worker *w);
/* Queues a job (copied; the caller wipes its copy). False when the queue is full. */
bool ku_worker_submit(ku_worker *w, const struct ku_job *job);
/* Any thread: a card event for the frame loop. */
void ku_worker_post(ku_worker *w, enum ku_ev_kind kind, int reader, enum ku_card_kind card);
/* The next posted item; false when none. */
bool ku_worker_poll(ku_worker *w, struct ku_posted *out);
void ku_posted_cleanup(struct ku_posted *p);
/* Jobs queued or running (0 when the worker is idle). */
size_t ku_worker_busy(ku_worker *w);

/* Backends: the fake one (render-all, headless runs without a card service) and the real one. */
struct ku_fake_opts {
    unsigned delay_ms; /* how long each job "takes" */
    const char *pin;   /* the PIN the fake card accepts ("123456") */
    bool offline;      /* confirmations come back queued, taps fail with no network */
    bool tap_only;     /* the resident is one the bureau flagged (长辈模式 comes on) */
};
bool ku_fake_backend_new(const struct ku_fake_opts *o, const struct ku_backend_ops **ops,
                         void **backend);

#endif
