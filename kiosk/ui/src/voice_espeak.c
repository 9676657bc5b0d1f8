/* The espeak-ng voice for guidance in Mandarin and English: the one file that includes espeak-ng.
 */
#include "speech.h"

#include "hm/log.h"
#include "hm/util.h"

#include <espeak-ng/speak_lib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * espeak-ng keeps one engine per process and calls one global callback; the
 * speech thread is its only caller, so this state needs no lock.
 */
struct voice {
    bool to_wav;
    int rate;
    char path[1024];
    int16_t *samples;
    size_t n, cap;
    bool oom;
    const atomic_bool *cancel;
    enum ku_lang lang_set;
    bool lang_known;
};

static int on_samples(short *wav, int n, espeak_EVENT *events)
{
    struct voice *v = events ? events->user_data : NULL;

    if (!v)
        return 0;
    if (wav && n > 0 && v->to_wav && !v->oom) {
        if (v->n + (size_t)n > v->cap) {
            size_t nc = (v->cap ? v->cap * 2 : 1 << 16) + (size_t)n;
            int16_t *ns = realloc(v->samples, nc * sizeof(*ns));

            if (!ns) {
                v->oom = true;
                return 1;
            }
            v->samples = ns;
            v->cap = nc;
        }
        memcpy(v->samples + v->n, wav, (size_t)n * sizeof(*wav));
        v->n += (size_t)n;
    }
    return v->cancel && atomic_load(v->cancel) ? 1 : 0; /* 1: stop this sentence */
}

static bool speak(void *p, const char *text, enum ku_lang lang, const atomic_bool *cancel)
{
    struct voice *v = p;
    espeak_ERROR e;

    if (!v->lang_known || v->lang_set != lang) {
        /* cmn-latn-pinyin: the Mandarin voice whose dictionary's pinyin is read as pinyin. */
        if (espeak_SetVoiceByName(lang == KU_LANG_EN ? "en" : "cmn-latn-pinyin") != EE_OK) {
            hm_log_warn("kiosk: espeak-ng has no voice for %s", lang == KU_LANG_EN ? "en" : "zh");
            return false;
        }
        /* Slower than espeak's 175 words a minute: the listeners are mostly elderly. */
        espeak_SetParameter(espeakRATE, 140, 0);
        v->lang_set = lang;
        v->lang_known = true;
    }
    v->cancel = cancel;
    e = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, v);
    if (e == EE_OK)
        e = espeak_Synchronize();
    v->cancel = NULL;
    return e == EE_OK && !v->oom;
}

static void put_le(FILE *f, uint32_t x, int bytes)
{
    for (int i = 0; i < bytes; i++)
        fputc((int)(x >> (8 * i) & 0xFF), f);
}

/* A 16-bit mono PCM WAV of everything said. */
static bool write_wav(const struct voice *v)
{
    FILE *f = fopen(v->path, "wb");
    uint32_t data = (uint32_t)(v->n * 2);
    bool ok;

    if (!f) {
        hm_log_error("kiosk: %s: %s", v->path, strerror(errno));
        return false;
    }
    fputs("RIFF", f);
    put_le(f, 36 + data, 4);
    fputs("WAVEfmt ", f);
    put_le(f, 16, 4);
    put_le(f, 1, 2); /* PCM */
    put_le(f, 1, 2); /* mono */
    put_le(f, (uint32_t)v->rate, 4);
    put_le(f, (uint32_t)v->rate * 2, 4);
    put_le(f, 2, 2);
    put_le(f, 16, 2);
    fputs("data", f);
    put_le(f, data, 4);
    ok = fwrite(v->samples, 2, v->n, f) == v->n;
    ok = fclose(f) == 0 && ok;
    return ok;
}

static void voice_free(void *p)
{
    struct voice *v = p;

    if (!v)
        return;
    espeak_Terminate();
    if (v->to_wav) {
        if (write_wav(v))
            hm_log_info("kiosk: speech written to %s (%zu samples at %d Hz)", v->path, v->n,
                        v->rate);
    }
    free(v->samples);
    free(v);
}

static const struct ku_voice_ops espeak_ops = {
    .name = "espeak-ng",
    .speak = speak,
    .free = voice_free,
};

bool ku_espeak_voice_new(const char *wav_path, const struct ku_voice_ops **ops, void **voice,
                         char *err, size_t cap)
{
    struct voice *v = calloc(1, sizeof(*v));

    if (!v) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    v->to_wav = wav_path != NULL;
    if (wav_path && hm_strlcpy(v->path, wav_path, sizeof(v->path)) >= sizeof(v->path)) {
        snprintf(err, cap, "the WAV path is too long");
        free(v);
        return false;
    }
    /* The WAV is made synchronously in our thread; otherwise espeak plays it, still ours. */
    v->rate = espeak_Initialize(v->to_wav ? AUDIO_OUTPUT_SYNCHRONOUS : AUDIO_OUTPUT_SYNCH_PLAYBACK,
                                0, NULL, espeakINITIALIZE_DONT_EXIT);
    if (v->rate <= 0) {
        snprintf(err, cap, "espeak-ng did not start (no data or no sound device)");
        free(v);
        return false;
    }
    espeak_SetSynthCallback(on_samples);
    *ops = &espeak_ops;
    *voice = v;
    return true;
}
