/*
 * Voice guidance off the frame loop: ku_speech_say() hands a text to a thread
 * that speaks it through a voice backend (voice_espeak.c, or a test's), so a
 * long sentence never holds up a frame. With interrupt set a new text drops
 * what was waiting and cuts the current sentence short (a resident who moved
 * on does not want the old screen read); without it (the headless WAV) every
 * text is spoken in turn. Nothing here knows espeak.
 */
#ifndef KU_SPEECH_H
#define KU_SPEECH_H

#include "ui.h"

#include <stdatomic.h>

/*
 * A voice. speak() runs on the speech thread only: it says text (UTF-8) in
 * lang and returns when done or soon after *cancel becomes true; false when
 * it failed. free() releases the voice (the WAV backend writes its file then);
 * either may be NULL but speak.
 */
struct ku_voice_ops {
    const char *name;
    bool (*speak)(void *v, const char *text, enum ku_lang lang, const atomic_bool *cancel);
    void (*free)(void *v);
};

typedef struct ku_speech ku_speech;

/* Starts the thread; the speech owns the voice from here (freed even when this fails). */
ku_speech *ku_speech_new(const struct ku_voice_ops *ops, void *voice, bool interrupt);
/* Stops the thread (cutting the sentence short), frees the voice. NULL is a no-op. */
void ku_speech_free(ku_speech *s);
/* Never blocks: the text is copied (and wiped once spoken). */
void ku_speech_say(ku_speech *s, const char *text, enum ku_lang lang);
/* Waits until everything handed over was spoken, at most timeout_ms; true when idle. */
bool ku_speech_wait_idle(ku_speech *s, uint64_t timeout_ms);
/* Texts spoken to the end so far. */
size_t ku_speech_spoken(ku_speech *s);

/* The espeak-ng voice (voice_espeak.c): to the sound card, or into a WAV file written at free. */
bool ku_espeak_voice_new(const char *wav_path, const struct ku_voice_ops **ops, void **voice,
                         char *err, size_t cap);

#endif
