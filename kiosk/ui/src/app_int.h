/*
 * Inside the app: its state (app.c changes it, screens.c lays it out). The
 * resident's data is all in struct ku_visit, which is wiped as one block.
 */
#ifndef KU_APP_INT_H
#define KU_APP_INT_H

#include "ui.h"

#define KU_OUTBOX_MAX 8

/* Everything that came from the resident's card or about the resident. */
struct ku_visit {
    struct ku_status st;
    struct ku_receipt rc;
    int pay_idx; /* the payment being confirmed */
    char pin[16];
    size_t pin_len;
    int tries_left;
    bool pin_wrong;
    int page;
};

struct ku_app {
    struct ku_config cfg;
    const struct ku_catalog *cat[KU_LANG_COUNT];
    enum ku_lang lang;
    bool elder;
    enum ku_screen screen;
    uint64_t now, last_input, idle_since, last_sync;
    bool idle_warn;
    bool offline, reader_lost;
    int pending;
    bool card_present;
    int card_reader;
    enum ku_card_kind card_kind;
    enum ku_screen after_read; /* KU_SCR_STATUS, or KU_SCR_PIN for 确认领取 */
    enum ku_msg err_title, err_help;
    bool err_retry;
    unsigned seq, waiting_seq;
    struct ku_job jobs[KU_OUTBOX_MAX];
    size_t job_head, njobs;
    struct ku_button buttons[KU_BUTTONS_MAX];
    size_t nbuttons;
    size_t missing_lookups;
    struct ku_visit s;
};

#endif
