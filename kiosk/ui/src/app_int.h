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
    char reason[16];  /* the dispute being made */
    char dispute[64]; /* its number, once recorded */
    /* 婚姻登记预约 and 我的预约 (marriage.c) */
    struct ku_mdata m; /* offices, days, the ticket, appointments: as the server said */
    int svc;           /* index into the services (ku_m_service_*) */
    int office_idx, day_idx, slot_idx, appt_idx;
    struct ku_party parties[2];
    int party;       /* whose ID card is read now: 0 or 1 */
    bool for_mine;   /* the card is read for 我的预约 */
    char mrz[3][12]; /* document number, birth YYMMDD, expiry YYMMDD: wiped once the chip
                      * has answered */
    int mrz_field;
    bool mrz_digits; /* the keypad shows its digits page (the document number starts on
                      * the letters page; the dates have digits only) */
    bool mrz_wrong, id_pulled;
    int id_reader;                       /* the reader the ID card is read on */
    enum ku_msg refuse_own, refuse_next; /* our message (0: the server's) and what to do */
    char refuse_zh[512], refuse_en[512];
    enum ku_screen refuse_back; /* where 重新选择 goes (KU_SCR_HOME: nowhere) */
    enum ku_msg refuse_title;   /* the refusal screen's title (0: 未能预约) */
    enum ku_msg refuse_again;   /* the 重新选择 button's label (0: 重新选择) */
    bool refetch_mine; /* 重新选择 asks for 我的预约 again (what happened is unknown) */
    bool resched;      /* 改约 of appts[appt_idx]: the day, slot, summary, ticket */
};

/* The 呼叫工作人员 screen: the call on its way, made, or not made. */
enum ku_staff_state { KU_STAFF_CALLING = 0, KU_STAFF_CALLED, KU_STAFF_FAILED };

struct ku_app {
    struct ku_config cfg;
    const struct ku_catalog *cat[KU_LANG_COUNT];
    enum ku_lang lang;
    bool elder;
    enum ku_screen screen;
    uint64_t now, last_input, idle_since, last_sync;
    bool idle_warn;
    bool offline, reader_lost;
    /* A card that lay on the reader through a reader fault: read again only when put down
     * again or asked for (重试, a service button), never by itself (the kiosk cannot tell
     * whether its owner is still there). */
    bool card_stale;
    int stale_reader;
    int pending;
    bool card_present;
    int card_reader;
    enum ku_card_kind card_kind;
    /* A welfare visit's card is on card_reader and someone put a card on another reader: that
     * card waits its turn (read when this visit's card is lifted), and does not take over
     * card_reader, so lifting the visit's card always wipes the visit. -1: none. */
    int waiting_reader;
    enum ku_card_kind waiting_kind;
    enum ku_screen after_read; /* KU_SCR_STATUS, or KU_SCR_PIN for 确认领取 */
    enum ku_msg err_title, err_help;
    bool err_retry;
    unsigned seq, waiting_seq;
    uint64_t wait_since;        /* when the job waited for (waiting_seq) was sent */
    enum ku_job_kind wait_kind; /* and what it is: what 取消 means depends on it */
    bool slow_said;             /* 长辈模式 has said that this wait is slow */
    unsigned staff_seq;         /* the staff call waited for (0: none) */
    enum ku_staff_state staff_state;
    int staff_waiting; /* open calls at this office, as the server said */
    struct ku_job jobs[KU_OUTBOX_MAX];
    size_t job_head, njobs;
    struct ku_button buttons[KU_BUTTONS_MAX];
    size_t nbuttons;
    size_t missing_lookups;
    bool elder_auto;       /* 长辈模式 switched on by itself for a tap_only resident */
    char spoken_label[32]; /* the screen whose text was last said ("" none) */
    enum ku_lang spoken_lang;
    bool speak_again; /* 重复 was tapped */
    int last_rating;
    struct ku_visit s;
};

/* app.c's transitions, for marriage.c. */
void ku_app_go(ku_app *a, enum ku_screen s);
unsigned ku_app_push(ku_app *a, struct ku_job *j);
/* Pushes a job whose reply the screen waits for (waiting_seq, wait_since, wait_kind). */
void ku_app_wait(ku_app *a, struct ku_job *j);
void ku_app_end_session(ku_app *a);
/* The wait on a busy screen is slow (progress says so) / may be abandoned (取消 is offered). */
bool ku_app_wait_slow(const ku_app *a);
bool ku_app_wait_cancellable(const ku_app *a);
/* The seconds waited so far. */
unsigned ku_app_wait_seconds(const ku_app *a);
/* marriage.c: 取消 on a marriage wait: says what may have happened. */
void ku_m_wait_cancelled(ku_app *a, enum ku_job_kind kind);

/* marriage.c: the appointment flows. */
size_t ku_m_services(void);
const char *ku_m_service_id(size_t i);
enum ku_msg ku_m_service_msg(size_t i);
int ku_m_service_parties(size_t i);
bool ku_m_screen(enum ku_screen s); /* one of the marriage flows' screens */
bool ku_m_button(ku_app *a, const char *id);
bool ku_m_key(ku_app *a, int key);
void ku_m_reply(ku_app *a, const struct ku_reply *r);
void ku_m_card_inserted(ku_app *a);
void ku_m_card_removed(ku_app *a, int reader);
void ku_m_sample(ku_app *a, enum ku_screen s, int variant);
/* The MRZ field's limits: its characters and length. */
size_t ku_m_field_max(int field);
/* The letters of the keypad's letters page: any may stand in a document number. */
#define KU_MRZ_LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#endif
