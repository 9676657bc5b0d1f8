/*
 * The platform under the kiosk: a window (or SDL's offscreen driver), input
 * turned into ku_events, the draw list turned into pixels, PNG screenshots.
 * platform_sdl.c is its only implementation and the only file with SDL.
 */
#ifndef KU_PLATFORM_H
#define KU_PLATFORM_H

#include "ui.h"

struct ku_platform_opts {
    int width, height;
    bool headless;    /* SDL_VIDEODRIVER=offscreen and a software renderer */
    const char *font; /* a .ttc/.otf with CJK; NULL: Noto Sans CJK from /usr/share/fonts */
    int font_index;   /* the face in a collection (Noto Sans CJK SC is 2) */
    const char *title;
};

typedef struct ku_platform ku_platform;

ku_platform *ku_platform_new(const struct ku_platform_opts *o, char *err, size_t cap);
void ku_platform_free(ku_platform *p);

enum ku_wait { KU_WAIT_NONE = 0, KU_WAIT_INPUT, KU_WAIT_WOKEN, KU_WAIT_QUIT };

/* The function keys F1..F12 come as KU_EV_KEY keys KU_PKEY_F1 + 0..11: demo mode's card keys,
 * which main.c keeps from the app. */
#define KU_PKEY_F1 0x1001

/* Waits up to timeout_ms; KU_WAIT_INPUT fills ev (touch or key, without the time). */
enum ku_wait ku_platform_wait(ku_platform *p, int timeout_ms, struct ku_event *ev);
/* Any thread: makes a waiting ku_platform_wait return KU_WAIT_WOKEN. arg is the platform. */
void ku_platform_wake(void *arg);
/* Draws the list and shows it. */
void ku_platform_draw(ku_platform *p, const struct ku_draw_list *l);
/* The last drawn frame as a PNG. */
bool ku_platform_screenshot(ku_platform *p, const char *path);
/* Texts drawn smaller than asked because they did not fit (a test checks 0). */
size_t ku_platform_shrunk(const ku_platform *p);

#endif
