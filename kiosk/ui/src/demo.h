/*
 * Demo mode (huimin-kiosk --demo-cards FILE): keys that put the demo residents' virtual cards
 * on the rig's readers, and a strip beside the kiosk's screen that lists them.
 *
 * The file has one card a line, '#' starts a comment:
 *   KEY SLOT CARD-FILE 中文标签 [| English label]
 * KEY is 1..9 (F1..F9 in a window, "demo N" or "key FN" in a script); SLOT is the rig's reader
 * slot (huimin-vcard's control socket $HUIMIN_RIG_DIR/cardSLOT.sock); CARD-FILE is a virtual
 * card (relative to the file's folder). Pressing a key takes any card off that slot and puts
 * that card down (huimin-vcard "remove", then "swap FILE"); key 0 (F10) takes every card away.
 * The moves run on a thread of their own, so the frame loop never waits for a card.
 */
#ifndef KU_DEMO_H
#define KU_DEMO_H

#include "ui.h"

#include <stdbool.h>
#include <stddef.h>

#define KU_DEMO_MAX       9
#define KU_DEMO_SLOTS     8
#define KU_DEMO_LABEL_MAX 160

struct ku_demo_card {
    int key;  /* 1..9 */
    int slot; /* 0..KU_DEMO_SLOTS-1 */
    int line; /* in the file, for messages */
    char path[1024];
    char label[KU_LANG_COUNT][KU_DEMO_LABEL_MAX]; /* zh, en (the zh one when none is given) */
};

struct ku_demo_cards {
    size_t n;
    struct ku_demo_card c[KU_DEMO_MAX];
};

/* Reads the file; false with "file:line: why, what to do" in err. Card files must be readable. */
bool ku_demo_load(struct ku_demo_cards *out, const char *path, char *err, size_t cap);

typedef struct ku_demo ku_demo;

/*
 * Starts the card mover for the rig in rig_dir (every slot the cards use must have its control
 * socket there); wake(arg) is called from its thread when a move is done, so the strip is
 * redrawn. rig_dir NULL: the strip only, presses are refused (tests of the layout). NULL with
 * the reason in err.
 */
ku_demo *ku_demo_new(const struct ku_demo_cards *cards, const char *rig_dir,
                     void (*wake)(void *arg), void *arg, char *err, size_t cap);
/* Stops the thread (after the move under way). NULL is a no-op. */
void ku_demo_free(ku_demo *d);

/* Queues key 1..9 (its card) or 0 (every card away); never blocks. False: no such key, no rig,
 * or too many presses waiting. */
bool ku_demo_press(ku_demo *d, int key);
/* Nothing queued and no move under way. */
bool ku_demo_idle(ku_demo *d);

/* The strip's width beside a kiosk screen of w x h pixels. */
int ku_demo_strip_width(int w, int h);
/* Appends the strip's commands, in the kiosk's style, into r (right of the kiosk's screen). */
void ku_demo_draw(ku_demo *d, struct ku_draw_list *l, struct ku_rect r, enum ku_lang lang);
/* The key of the strip's entry at x, y in the last drawn strip (a click presses it); -1: none. */
int ku_demo_hit(const ku_demo *d, int x, int y);

#endif
