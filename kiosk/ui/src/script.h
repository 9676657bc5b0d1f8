/*
 * Headless scripts: one step a line, for tests and support.
 *   touch BUTTON-ID | touch X Y        tap a button (through the hit test) or a point;
 *                                      "confirm-*": the first button whose id starts so
 *   card insert [welfare|id] [N]       a card on reader N (the rig's card N, or a fake one)
 *   card remove [N]
 *   rig N COMMAND...                   a raw command to the rig's card N (pull-after 3...)
 *   rig pcscd COMMAND                  to the rig itself (huimin-rig's rig.sock): restart-pcscd,
 *                                      stop-pcscd, start-pcscd, unplug, plug; waits for "ok"
 *   type DIGITS | key enter|escape|backspace
 *   wait screen NAME [T] | wait text STRING [T]   (T like 5s or 500ms; default 10s)
 *   advance T                          move the injected clock forward
 *   sleep T | shot NAME | quit         ('#' starts a comment)
 *   demo N | key FN                    demo mode (--demo-cards): card N's key (F1..F9) puts it
 *                                      down; demo 0 or key F10 takes the cards away
 */
#ifndef KU_SCRIPT_H
#define KU_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ku_step_kind {
    KU_STEP_TOUCH_ID = 0,
    KU_STEP_TOUCH_XY,
    KU_STEP_CARD_INSERT,
    KU_STEP_CARD_REMOVE,
    KU_STEP_TYPE,
    KU_STEP_KEY,
    KU_STEP_WAIT_SCREEN,
    KU_STEP_WAIT_TEXT,
    KU_STEP_ADVANCE,
    KU_STEP_SLEEP,
    KU_STEP_SHOT,
    KU_STEP_QUIT,
    KU_STEP_RIG,
    KU_STEP_DEMO, /* reader: the demo key 0..9 */
};

struct ku_step {
    enum ku_step_kind kind;
    int line;
    char arg[256];         /* id, digits, screen, text, shot name, card kind */
    int x, y, reader, key; /* reader -1 in a rig step: the rig itself */
    uint64_t ms;
};

struct ku_script {
    struct ku_step *steps;
    size_t n;
};

/* Parses the file; false with "file:line: why" in err. */
bool ku_script_load(struct ku_script *s, const char *path, char *err, size_t cap);
void ku_script_cleanup(struct ku_script *s);
/* "5s", "500ms", "2m", "3" (seconds) into ms; false when malformed. */
bool ku_parse_duration(const char *s, uint64_t *ms);

#endif
