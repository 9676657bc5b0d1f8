/*
 * The kiosk's front end without SDL: events in (touch, key, card, a job's
 * reply, the clock), drawing commands and jobs out.
 *
 * A ku_app is a state machine of screens. The platform (platform_sdl.c, or a
 * unit test) feeds it ku_events, asks it to render into a ku_draw_list and
 * hands the jobs it asks for (ku_app_take_job) to the worker (worker.c), whose
 * replies come back as KU_EV_REPLY events. Sizes are millimetres turned into
 * pixels with the configured DPI (ku_mm), so "targets of at least 25 mm" is a
 * property a test can check. Everything the resident's card or the server
 * told us lives in one struct that is wiped when the session ends.
 */
#ifndef KU_UI_H
#define KU_UI_H

#include "msgs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- geometry and the draw list ------------------------------------------ */

struct ku_rect {
    int x, y, w, h;
};

enum ku_align { KU_ALIGN_LEFT = 0, KU_ALIGN_CENTER, KU_ALIGN_RIGHT };

enum ku_cmd_kind {
    KU_CMD_RECT = 0, /* filled rounded rectangle, optional border */
    KU_CMD_TEXT,     /* text of a pixel size inside a box, aligned, wrapped when it must */
    KU_CMD_QR,       /* a QR code of the text, as large as fits the box, quiet zone included */
    KU_CMD_ICON,     /* one of enum ku_icon drawn into the box */
    KU_CMD_PROGRESS, /* a busy indicator; phase (0..359) comes from the clock */
};

enum ku_icon {
    KU_ICON_CARD = 0, /* a card above a reader: "put it here" */
    KU_ICON_WARN,
    KU_ICON_OK,
    KU_ICON_STAFF,
    KU_ICON_NETWORK,
};

struct ku_cmd {
    enum ku_cmd_kind kind;
    struct ku_rect r;
    uint32_t color;  /* 0xRRGGBBAA: fill, text, QR modules, icon */
    uint32_t border; /* RECT: border colour (alpha 0: none); ICON: its second colour */
    int radius;      /* RECT: corner radius in px */
    int border_px;   /* RECT: border width */
    int size;        /* TEXT: font size in px (the em height) */
    enum ku_align align;
    bool bold;
    int icon;     /* ICON: enum ku_icon */
    int phase;    /* PROGRESS */
    size_t text;  /* TEXT, QR: offset of the NUL-terminated text in the list's arena */
    size_t owner; /* TEXT: a button's label: that button's index + 1; else 0 */
};

#define KU_CMDS_MAX  512
#define KU_ARENA_MAX 32768

/* One frame's commands. Strings live in the arena; ku_draw_clear wipes it. */
struct ku_draw_list {
    struct ku_cmd cmds[KU_CMDS_MAX];
    size_t n;
    char arena[KU_ARENA_MAX];
    size_t used;
    bool overflow; /* a command or a string did not fit (a test checks it never happens) */
};

void ku_draw_clear(struct ku_draw_list *l);
const char *ku_cmd_text(const struct ku_draw_list *l, const struct ku_cmd *c);

/* ---- events --------------------------------------------------------------- */

enum ku_card_kind { KU_CARD_WELFARE = 0, KU_CARD_ID, KU_CARD_UNKNOWN };

enum ku_key {
    KU_KEY_BACKSPACE = 8,
    KU_KEY_ENTER = 13,
    KU_KEY_ESCAPE = 27,
    /* '0'..'9' are the digits themselves */
};

enum ku_job_kind {
    KU_JOB_TAP = 0,     /* connect the card, identify it, open a card session, fetch the status */
    KU_JOB_CONFIRM,     /* confirm a payment with the PIN (or a tap for tap-only residents) */
    KU_JOB_SYNC,        /* deliver what the journal holds */
    KU_JOB_END,         /* forget the card session and disconnect the card */
    KU_JOB_DISPUTE,     /* the resident says a payment is wrong: POST /v1/disputes */
    KU_JOB_OFFICES,     /* the marriage-registration offices */
    KU_JOB_AVAIL,       /* an office's days and slots with free places for a service */
    KU_JOB_ID,          /* read an ID card with the typed MRZ numbers: an ID session */
    KU_JOB_BOOK,        /* book the slot for the parties' ID sessions: a ticket */
    KU_JOB_MINE,        /* the appointments of an ID session's person */
    KU_JOB_APPT_CANCEL, /* cancel one of them */
    KU_JOB_APPT_RESCHEDULE, /* move one of them to another day and slot: a new ticket */
    KU_JOB_STAFF_CALL, /* 呼叫工作人员: POST /v1/staff-calls (reason, screen, card session) */
    KU_JOB_COUNT
};

enum ku_result {
    KU_R_OK = 0,
    KU_R_NO_CARD,         /* no card on the reader */
    KU_R_CARD_PULLED,     /* the card went away in the middle */
    KU_R_CARD_UNREADABLE, /* it answers wrongly or not at all */
    KU_R_NOT_WELFARE,     /* an ID card or an unknown card where a welfare card belongs */
    KU_R_CARD_REFUSED,    /* not registered, revoked, not genuine */
    KU_R_NETWORK,         /* the server cannot be reached: nothing happened */
    KU_R_QUEUED,          /* signed and kept in the journal, delivered later */
    KU_R_PIN_WRONG,       /* tries_left says how many remain */
    KU_R_PIN_BLOCKED,     /* the PUK at the service desk */
    KU_R_ALREADY,         /* the payment was confirmed before */
    KU_R_REFUSED,         /* the server refused (code) */
    KU_R_FAILED,          /* anything else (verification, the journal, memory) */
    KU_R_COUNT
};

#define KU_ENT_MAX 8
#define KU_PAY_MAX 16

struct ku_entitlement {
    char name[96];
    int64_t amount_fen;
    char period[16]; /* "month" */
    char status[16]; /* active, phase_out, suspended, stopped */
};

struct ku_payment {
    char id[64];
    char name[96];
    char period[16]; /* YYYY-MM */
    int64_t amount_fen;
    char status[16]; /* scheduled, paid, confirmed, disputed, returned */
    char account[24];
    bool awaiting; /* paid, not yet confirmed */
};

/* What the server said about the resident, already verified. */
struct ku_status {
    char name[128];
    char welfare_masked[32];
    bool tap_only;
    size_t n_ent, n_pay;
    struct ku_entitlement ent[KU_ENT_MAX];
    struct ku_payment pay[KU_PAY_MAX];
    int64_t year_total_fen;
    int64_t as_of; /* unix seconds */
    /* Kept from an earlier visit and shown while the server cannot be reached (as of as_of):
     * nothing in it can be confirmed or disputed. */
    bool cached;
};

struct ku_receipt {
    char token[2048];
    char id[64];
    char payment[64];
    char period[16];
    int64_t amount_fen;
    bool again;
};

/* ---- marriage-registration appointments ---------------------------------------- */

#define KU_OFFICE_MAX 8
#define KU_DAY_MAX    14
#define KU_SLOT_MAX   16
#define KU_APPT_MAX   8

struct ku_office {
    char id[32];
    char name[128];
    bool offers; /* it offers the service asked */
};

struct ku_slot {
    char start[6], end[6]; /* HH:MM */
    int capacity, free;
};

struct ku_day {
    char date[11]; /* YYYY-MM-DD */
    bool special;  /* a special date (520, 七夕...) */
    bool open;     /* booking for it has opened */
    size_t n_slots;
    struct ku_slot slots[KU_SLOT_MAX];
};

/* One person at the kiosk, as the server verified their ID card. */
struct ku_party {
    char session[64];
    char name[128];
    char id_masked[32];
    char sex; /* 'M', 'F' */
};

struct ku_ticket {
    char token[4096]; /* the ticket JWS, for the QR code */
    char id[32];
    char date[11], slot[6], office[64];
};

struct ku_appt {
    char t[32], service[24], office[64], office_name[128], date[11], slot[6], status[16];
};

/* What a marriage job brings back (and what the visit keeps of it). */
struct ku_mdata {
    size_t n_offices;
    struct ku_office offices[KU_OFFICE_MAX];
    size_t n_days;
    struct ku_day days[KU_DAY_MAX];
    struct ku_party party;
    struct ku_ticket ticket;
    size_t n_appts;
    struct ku_appt appts[KU_APPT_MAX];
};

struct ku_job {
    enum ku_job_kind kind;
    unsigned seq;           /* the app's number for it; the reply carries it back */
    int reader;             /* TAP: the reader index the card was seen in */
    enum ku_card_kind card; /* TAP: what the platform saw (the fake backend uses it) */
    char payment[64];
    int64_t amount_fen;
    char period[16];
    char pin[16];    /* CONFIRM: "" for a tap-only resident; wiped by whoever is done with it */
    char reason[16]; /* DISPUTE: not_received, wrong_amount, other */
    char service[24], office[32], date[11], slot[6]; /* AVAIL, BOOK */
    char mrz_doc[12], mrz_birth[8], mrz_expiry[8];   /* ID: wiped by whoever is done with them */
    char sessions[2][64]; /* BOOK, APPT_RESCHEDULE; MINE, APPT_CANCEL: [0] */
    char ticket[32];      /* APPT_CANCEL, APPT_RESCHEDULE */
    char screen[33];      /* STAFF_CALL: the name of the screen the resident called from */
    bool with_card;       /* STAFF_CALL: send the open card session (the resident) too */
};

struct ku_reply {
    enum ku_job_kind kind;
    unsigned seq;
    enum ku_result result;
    int tries_left;                /* KU_R_PIN_WRONG */
    char code[64];                 /* the server's code, for logs and staff */
    int pending;                   /* SYNC: entries still waiting */
    bool offline;                  /* the server could not be reached during this job */
    struct ku_status status;       /* TAP */
    struct ku_receipt receipt;     /* CONFIRM */
    char dispute[64];              /* DISPUTE: the dispute's number ("dispute") */
    char msg_zh[512], msg_en[512]; /* a refusal's own messages from the server */
    struct ku_mdata m;             /* the marriage jobs */
    int waiting;                   /* STAFF_CALL: open calls at this office, this one included */
    char call[32];                 /* STAFF_CALL: the call's number */
};

enum ku_ev_kind {
    KU_EV_TOUCH = 0,
    KU_EV_KEY,
    KU_EV_CARD_INSERTED,
    KU_EV_CARD_REMOVED,
    KU_EV_REPLY,
    KU_EV_TICK,
    KU_EV_READER_LOST, /* the reader or pcscd went away */
    KU_EV_READER_BACK,
};

struct ku_event {
    enum ku_ev_kind kind;
    uint64_t now_ms; /* the injected clock, on every event */
    int x, y;        /* TOUCH, px */
    int key;         /* KEY: a digit or enum ku_key */
    enum ku_card_kind card;
    int reader;
    const struct ku_reply *reply; /* REPLY: the caller owns and wipes it */
};

/* ---- the app ---------------------------------------------------------------- */

enum ku_screen {
    KU_SCR_HOME = 0,
    KU_SCR_CARD_PROMPT, /* "put your card on the reader", with placement help */
    KU_SCR_READING,
    KU_SCR_CARD_ERROR,
    KU_SCR_STATUS,
    KU_SCR_PIN,
    KU_SCR_CONFIRMING,
    KU_SCR_RECEIPT,
    KU_SCR_QUEUED,
    KU_SCR_STAFF,
    KU_SCR_DISPUTE,         /* which problem: not received, wrong amount, other */
    KU_SCR_DISPUTE_CONFIRM, /* the payment and the reason, submit or cancel */
    KU_SCR_DISPUTING,
    KU_SCR_DISPUTED, /* recorded: staff will follow up, with the number */
    KU_SCR_RATING,   /* 好差评: five stars at the end of a transaction */
    KU_SCR_THANKS,
    KU_SCR_M_SERVICE, /* 婚姻登记预约: which service, or 我的预约 */
    KU_SCR_M_WAIT,    /* asking the server (offices, days, booking...) */
    KU_SCR_M_OFFICE,  /* which office */
    KU_SCR_M_DATE,    /* which day: those with free places, special dates marked */
    KU_SCR_M_SLOT,    /* which time */
    KU_SCR_M_MRZ,     /* a party types the MRZ numbers of their ID card */
    KU_SCR_M_IDCARD,  /* ...and puts the card on the reader */
    KU_SCR_M_IDREAD,  /* reading it */
    KU_SCR_M_SUMMARY, /* everything, masked IDs, book */
    KU_SCR_M_TICKET,  /* booked: the ticket's QR code */
    KU_SCR_M_REFUSED, /* the server's message and what to do next */
    KU_SCR_M_MINE,    /* 我的预约: the list */
    KU_SCR_M_CANCEL,  /* cancel this one? */
    KU_SCR_M_CANCELLED,
    KU_SCR_COUNT
};
const char *ku_screen_name(enum ku_screen s);

enum ku_lang { KU_LANG_ZH = 0, KU_LANG_EN, KU_LANG_COUNT };

/* A message catalog: one string per enum ku_msg (msgs.h). */
struct ku_catalog {
    const char *text[KU_MSG_COUNT]; /* NULL when the file lacks it */
    char *storage;
    size_t missing; /* keys the file lacks */
    size_t unknown; /* keys in the file that are not ours */
    char first_problem[160];
};

/* Loads "key = value" lines; false when the file cannot be read or a line is malformed. */
bool ku_catalog_load(struct ku_catalog *c, const char *path);
void ku_catalog_cleanup(struct ku_catalog *c);
const char *ku_msg_key(enum ku_msg m);

struct ku_config {
    int width, height; /* px */
    double dpi;
    uint64_t idle_ms;       /* no input this long on a screen with data: offer more time */
    uint64_t idle_grace_ms; /* then this long to answer before the session is wiped */
    enum ku_lang lang;
    bool elder;
    bool offline_sync; /* ask for KU_JOB_SYNC every sync_ms while entries are pending */
    uint64_t sync_ms;
    uint64_t slow_ms;   /* a wait this long says "slower than usual" (0: 4000) */
    uint64_t cancel_ms; /* and this long offers 取消 (0: 10000, under the client's timeout) */
};

/* Pixels for millimetres at dpi (rounded up: a target is never smaller than asked). */
int ku_mm(double dpi, double mm);

struct ku_button {
    char id[32];
    struct ku_rect r;
    bool enabled;
};
#define KU_BUTTONS_MAX 48

typedef struct ku_app ku_app;

/* Catalogs are borrowed and must outlive the app. NULL on no memory. */
ku_app *ku_app_new(const struct ku_config *cfg, const struct ku_catalog *cat[KU_LANG_COUNT]);
void ku_app_free(ku_app *a);

void ku_app_handle(ku_app *a, const struct ku_event *ev);
/* Lays out the current screen: the commands into l (NULL: only the buttons). */
void ku_app_render(ku_app *a, struct ku_draw_list *l);
/* The buttons of the last layout. */
size_t ku_app_buttons(const ku_app *a, const struct ku_button **out);
/* The rectangle of button id on the current screen (laid out now); false when absent. */
bool ku_app_button_rect(ku_app *a, const char *id, struct ku_rect *out);
/* The next job the app asks for; false when none. */
bool ku_app_take_job(ku_app *a, struct ku_job *out);

enum ku_screen ku_app_screen(const ku_app *a);
/* "idle" while the more-time question is shown, else the screen's name. */
const char *ku_app_screen_label(const ku_app *a);
bool ku_app_elder(const ku_app *a);
enum ku_lang ku_app_lang(const ku_app *a);
bool ku_app_offline(const ku_app *a);
/* True when any byte of the resident's data is still held (tests: false after a wipe). */
bool ku_app_holds_personal_data(const ku_app *a);
/* A line for logs and tests: screen, language, mode, whether a session is held. No data. */
void ku_app_describe(const ku_app *a, char *buf, size_t cap);
/* Number of lookups of a message the catalog lacked (shown as [key], never blank). */
size_t ku_app_missing_lookups(const ku_app *a);

/* For --render-all and tests: show screen s with the fake resident (ku_fake_status). */
void ku_app_show_sample(ku_app *a, enum ku_screen s, int variant);
void ku_app_set_lang(ku_app *a, enum ku_lang l);
void ku_app_set_elder(ku_app *a, bool on);

/* The fake resident and receipt (render-all, the fake backend, tests). */
void ku_fake_status(struct ku_status *st, int64_t now);
void ku_fake_receipt(struct ku_receipt *r, const struct ku_payment *p);
/* Two offices, two weeks of days (a special one, full and closed ones), a ticket, two
 * appointments: the fake registry's answers and --render-all's samples. */
void ku_fake_mdata(struct ku_mdata *m);

/* "750.00" from 75000 fen. */
void ku_money(int64_t fen, char *buf, size_t cap);
/* The amount as it is said: "七百五十元", "一万零五元三角" (zh); "750 yuan 30 fen" (en). */
void ku_money_words(int64_t fen, enum ku_lang lang, char *buf, size_t cap);

/*
 * Voice guidance (长辈模式): the text to say now, when the screen changed since it was last
 * said or the resident tapped 重复; false when nothing is to be said (or not in 长辈模式).
 * The text may hold amounts: the caller wipes it after use.
 */
bool ku_app_take_speech(ku_app *a, char *buf, size_t cap, enum ku_lang *lang);
/* What the current screen says aloud (its instruction; on the status screen the amounts). */
void ku_app_speech_text(ku_app *a, char *buf, size_t cap);
/* The last 好差评 rating given (1..5), 0 when none since start (tests). */
int ku_app_last_rating(const ku_app *a);

#endif
