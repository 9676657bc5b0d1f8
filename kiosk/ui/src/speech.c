/* A thread and a small queue for voice guidance, so speaking never blocks the frame loop. */
#include "speech.h"

#include "hm/log.h"
#include "hm/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SAY_MAX  8
#define TEXT_MAX 2048

struct utterance {
    char text[TEXT_MAX];
    enum ku_lang lang;
};

struct ku_speech {
    const struct ku_voice_ops *ops;
    void *voice;
    bool interrupt, quit, speaking, started;
    atomic_bool cancel;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct utterance q[SAY_MAX];
    size_t head, n, spoken;
};

static void *loop(void *arg)
{
    ku_speech *s = arg;
    struct utterance *u = malloc(sizeof(*u));

    if (!u)
        return NULL;
    for (;;) {
        bool ok;

        pthread_mutex_lock(&s->mu);
        while (!s->n && !s->quit) {
            s->speaking = false;
            pthread_cond_wait(&s->cv, &s->mu);
        }
        if (s->quit) {
            s->speaking = false;
            pthread_mutex_unlock(&s->mu);
            break;
        }
        *u = s->q[s->head];
        hm_wipe(&s->q[s->head], sizeof(s->q[0]));
        s->head = (s->head + 1) % SAY_MAX;
        s->n--;
        s->speaking = true;
        atomic_store(&s->cancel, false);
        pthread_mutex_unlock(&s->mu);

        ok = s->ops->speak(s->voice, u->text, u->lang, &s->cancel);
        if (!ok)
            hm_log_warn("kiosk: the %s voice could not speak", s->ops->name);
        hm_wipe(u, sizeof(*u)); /* it may have held amounts */
        pthread_mutex_lock(&s->mu);
        if (ok && !atomic_load(&s->cancel))
            s->spoken++;
        pthread_mutex_unlock(&s->mu);
    }
    free(u);
    return NULL;
}

ku_speech *ku_speech_new(const struct ku_voice_ops *ops, void *voice, bool interrupt)
{
    ku_speech *s = calloc(1, sizeof(*s));

    if (!s)
        goto out_free_voice;
    s->ops = ops;
    s->voice = voice;
    s->interrupt = interrupt;
    atomic_init(&s->cancel, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, loop, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        goto out_free_voice;
    }
    s->started = true;
    return s;
out_free_voice:
    if (ops->free)
        ops->free(voice);
    return NULL;
}

void ku_speech_free(ku_speech *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    atomic_store(&s->cancel, s->interrupt);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    if (s->ops->free)
        s->ops->free(s->voice);
    hm_wipe(s->q, sizeof(s->q));
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void ku_speech_say(ku_speech *s, const char *text, enum ku_lang lang)
{
    struct utterance *u;

    pthread_mutex_lock(&s->mu);
    if (s->interrupt) {
        /* The resident moved on: what was waiting, and the sentence being said, are stale. */
        for (size_t i = 0; i < SAY_MAX; i++)
            hm_wipe(&s->q[i], sizeof(s->q[i]));
        s->head = 0;
        s->n = 0;
        atomic_store(&s->cancel, true);
    } else if (s->n == SAY_MAX) {
        hm_log_warn("kiosk: speech queue full, dropping the oldest");
        hm_wipe(&s->q[s->head], sizeof(s->q[0]));
        s->head = (s->head + 1) % SAY_MAX;
        s->n--;
    }
    u = &s->q[(s->head + s->n) % SAY_MAX];
    hm_strlcpy(u->text, text, sizeof(u->text));
    u->lang = lang;
    s->n++;
    s->speaking = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

bool ku_speech_wait_idle(ku_speech *s, uint64_t timeout_ms)
{
    uint64_t end = hm_now_ms() + timeout_ms;
    bool idle;

    pthread_mutex_lock(&s->mu);
    while ((s->n || s->speaking) && hm_now_ms() < end) {
        pthread_mutex_unlock(&s->mu);
        hm_sleep_ms(10);
        pthread_mutex_lock(&s->mu);
    }
    idle = !s->n && !s->speaking;
    pthread_mutex_unlock(&s->mu);
    return idle;
}

size_t ku_speech_spoken(ku_speech *s)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->spoken;
    pthread_mutex_unlock(&s->mu);
    return n;
}
