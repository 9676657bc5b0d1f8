/* The kiosk's screens as a state machine: events change the state, jobs go out, nothing blocks. */
#include "app_int.h"

#include "hm/log.h"
#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const screen_names[KU_SCR_COUNT] = {
    [KU_SCR_HOME] = "home",
    [KU_SCR_CARD_PROMPT] = "card",
    [KU_SCR_READING] = "reading",
    [KU_SCR_CARD_ERROR] = "card-error",
    [KU_SCR_STATUS] = "status",
    [KU_SCR_PIN] = "pin",
    [KU_SCR_CONFIRMING] = "confirming",
    [KU_SCR_RECEIPT] = "receipt",
    [KU_SCR_QUEUED] = "queued",
    [KU_SCR_STAFF] = "staff",
    [KU_SCR_DISPUTE] = "dispute",
    [KU_SCR_DISPUTE_CONFIRM] = "dispute-confirm",
    [KU_SCR_DISPUTING] = "disputing",
    [KU_SCR_DISPUTED] = "disputed",
    [KU_SCR_RATING] = "rating",
    [KU_SCR_THANKS] = "thanks",
    [KU_SCR_M_SERVICE] = "m-service",
    [KU_SCR_M_WAIT] = "m-wait",
    [KU_SCR_M_OFFICE] = "m-office",
    [KU_SCR_M_DATE] = "m-date",
    [KU_SCR_M_SLOT] = "m-slot",
    [KU_SCR_M_MRZ] = "m-mrz",
    [KU_SCR_M_IDCARD] = "m-idcard",
    [KU_SCR_M_IDREAD] = "m-idread",
    [KU_SCR_M_SUMMARY] = "m-summary",
    [KU_SCR_M_TICKET] = "m-ticket",
    [KU_SCR_M_REFUSED] = "m-refused",
    [KU_SCR_M_MINE] = "m-mine",
    [KU_SCR_M_CANCEL] = "m-cancel",
    [KU_SCR_M_CANCELLED] = "m-cancelled",
};

const char *ku_screen_name(enum ku_screen s)
{
    return (unsigned)s < KU_SCR_COUNT ? screen_names[s] : "?";
}

ku_app *ku_app_new(const struct ku_config *cfg, const struct ku_catalog *cat[KU_LANG_COUNT])
{
    ku_app *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->cfg = *cfg;
    if (a->cfg.dpi <= 0)
        a->cfg.dpi = 102;
    if (!a->cfg.idle_ms)
        a->cfg.idle_ms = 60000;
    if (!a->cfg.idle_grace_ms)
        a->cfg.idle_grace_ms = 30000;
    if (!a->cfg.sync_ms)
        a->cfg.sync_ms = 30000;
    if (!a->cfg.slow_ms)
        a->cfg.slow_ms = 4000;
    if (!a->cfg.cancel_ms)
        a->cfg.cancel_ms = 10000;
    for (int i = 0; i < KU_LANG_COUNT; i++)
        a->cat[i] = cat[i];
    a->lang = cfg->lang;
    a->elder = cfg->elder;
    a->screen = KU_SCR_HOME;
    a->card_reader = -1;
    a->waiting_reader = -1;
    return a;
}

void ku_app_free(ku_app *a)
{
    if (!a)
        return;
    hm_wipe(a, sizeof(*a));
    free(a);
}

enum ku_screen ku_app_screen(const ku_app *a)
{
    return a->screen;
}

const char *ku_app_screen_label(const ku_app *a)
{
    return a->idle_warn ? "idle" : ku_screen_name(a->screen);
}

bool ku_app_elder(const ku_app *a)
{
    return a->elder;
}

enum ku_lang ku_app_lang(const ku_app *a)
{
    return a->lang;
}

bool ku_app_offline(const ku_app *a)
{
    return a->offline;
}

size_t ku_app_missing_lookups(const ku_app *a)
{
    return a->missing_lookups;
}

void ku_app_set_lang(ku_app *a, enum ku_lang l)
{
    a->lang = l;
}

void ku_app_set_elder(ku_app *a, bool on)
{
    a->elder = on;
    a->s.page = 0;
}

bool ku_app_holds_personal_data(const ku_app *a)
{
    const unsigned char *p = (const unsigned char *)&a->s;

    for (size_t i = 0; i < sizeof(a->s); i++)
        if (p[i])
            return true;
    return false;
}

void ku_app_describe(const ku_app *a, char *buf, size_t cap)
{
    snprintf(buf, cap, "screen=%s lang=%s elder=%d session=%d offline=%d pending=%d card=%d",
             ku_app_screen_label(a), a->lang == KU_LANG_EN ? "en" : "zh", a->elder ? 1 : 0,
             ku_app_holds_personal_data(a) ? 1 : 0, a->offline ? 1 : 0, a->pending,
             a->card_present ? 1 : 0);
}

/* ---- jobs ------------------------------------------------------------------ */

static unsigned push_job(ku_app *a, struct ku_job *j)
{
    j->seq = ++a->seq;
    if (a->njobs == KU_OUTBOX_MAX) {
        hm_log_error("kiosk: job outbox full, dropping a %d job", (int)j->kind);
        hm_wipe(j, sizeof(*j));
        return 0;
    }
    a->jobs[(a->job_head + a->njobs) % KU_OUTBOX_MAX] = *j;
    a->njobs++;
    hm_wipe(j, sizeof(*j));
    return a->seq;
}

bool ku_app_take_job(ku_app *a, struct ku_job *out)
{
    if (!a->njobs)
        return false;
    *out = a->jobs[a->job_head];
    hm_wipe(&a->jobs[a->job_head], sizeof(a->jobs[0]));
    a->job_head = (a->job_head + 1) % KU_OUTBOX_MAX;
    a->njobs--;
    return true;
}

/* A job whose reply the screen waits for: slow and cancel are timed from here. */
static void wait_job(ku_app *a, struct ku_job *j)
{
    a->wait_kind = j->kind;
    a->waiting_seq = push_job(a, j);
    a->wait_since = a->now;
    a->slow_said = false;
}

/* ---- transitions ------------------------------------------------------------- */

static void go(ku_app *a, enum ku_screen s)
{
    if (s == KU_SCR_HOME && a->elder_auto) {
        /* 长辈模式 came with the flagged resident and goes with her. */
        a->elder = a->cfg.elder;
        a->elder_auto = false;
    }
    if (a->screen != s)
        hm_log_debug("kiosk: screen %s -> %s", ku_screen_name(a->screen), ku_screen_name(s));
    a->screen = s;
    a->idle_warn = false;
    a->last_input = a->now;
}

/* The end of a visit: the resident's data wiped, the card session dropped, home. first (NULL:
 * none) goes out before the session is dropped (a staff call with the resident's session). */
static void end_session_with(ku_app *a, struct ku_job *first)
{
    struct ku_job j = { .kind = KU_JOB_END };
    bool had = ku_app_holds_personal_data(a) || a->screen != KU_SCR_HOME;

    hm_wipe(&a->s, sizeof(a->s));
    /* Jobs not yet taken may carry a PIN: drop them, only END matters now. */
    for (size_t i = 0; i < KU_OUTBOX_MAX; i++)
        hm_wipe(&a->jobs[i], sizeof(a->jobs[i]));
    a->njobs = 0;
    a->job_head = 0;
    a->waiting_seq = 0;
    a->after_read = KU_SCR_STATUS;
    if (first)
        a->staff_seq = push_job(a, first);
    if (had)
        push_job(a, &j);
    go(a, KU_SCR_HOME);
}

static void end_session(ku_app *a)
{
    end_session_with(a, NULL);
}

static void start_tap(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_TAP, .reader = a->card_reader, .card = a->card_kind };

    hm_wipe(&a->s, sizeof(a->s));
    wait_job(a, &j);
    go(a, KU_SCR_READING);
}

static void show_error(ku_app *a, enum ku_msg title, enum ku_msg help, bool retry)
{
    /* An error screen shows nothing of the resident: drop what we had. */
    hm_wipe(&a->s, sizeof(a->s));
    a->err_title = title;
    a->err_help = help;
    a->err_retry = retry;
    go(a, KU_SCR_CARD_ERROR);
}

static void start_confirm(ku_app *a)
{
    const struct ku_payment *p = &a->s.st.pay[a->s.pay_idx];
    struct ku_job j = { .kind = KU_JOB_CONFIRM, .amount_fen = p->amount_fen };

    hm_strlcpy(j.payment, p->id, sizeof(j.payment));
    hm_strlcpy(j.period, p->period, sizeof(j.period));
    if (!a->s.st.tap_only)
        memcpy(j.pin, a->s.pin, sizeof(j.pin));
    hm_wipe(a->s.pin, sizeof(a->s.pin));
    a->s.pin_len = 0;
    wait_job(a, &j);
    go(a, KU_SCR_CONFIRMING);
}

static void open_pin(ku_app *a, int idx)
{
    a->s.pay_idx = idx;
    hm_wipe(a->s.pin, sizeof(a->s.pin));
    a->s.pin_len = 0;
    a->s.pin_wrong = false;
    go(a, KU_SCR_PIN);
}

/* After a tap for 确认领取: straight to the PIN when exactly one payment waits. */
static void after_status(ku_app *a)
{
    int only = -1, n = 0;

    for (size_t i = 0; i < a->s.st.n_pay; i++) {
        if (a->s.st.pay[i].awaiting) {
            only = (int)i;
            n++;
        }
    }
    if (a->after_read == KU_SCR_PIN && n == 1 && !a->s.st.cached)
        open_pin(a, only);
    else
        go(a, KU_SCR_STATUS);
}

static void tap_error(ku_app *a, enum ku_result r)
{
    switch (r) {
    case KU_R_NO_CARD:
    case KU_R_CARD_PULLED:
        show_error(a, KU_M_ERR_PULLED_TITLE, KU_M_ERR_PULLED_HELP, true);
        break;
    case KU_R_CARD_UNREADABLE:
        show_error(a, KU_M_ERR_UNREADABLE_TITLE, KU_M_ERR_UNREADABLE_HELP, true);
        break;
    case KU_R_NOT_WELFARE:
        show_error(a, KU_M_ERR_NOT_WELFARE_TITLE, KU_M_ERR_NOT_WELFARE_HELP, false);
        break;
    case KU_R_CARD_REFUSED:
        show_error(a, KU_M_ERR_REFUSED_TITLE, KU_M_ERR_REFUSED_HELP, false);
        break;
    case KU_R_NETWORK:
        show_error(a, KU_M_ERR_NETWORK_TITLE, KU_M_ERR_NETWORK_HELP, true);
        break;
    case KU_R_PIN_BLOCKED:
        show_error(a, KU_M_ERR_BLOCKED_TITLE, KU_M_ERR_BLOCKED_HELP, false);
        break;
    default:
        show_error(a, KU_M_ERR_FAILED_TITLE, KU_M_ERR_FAILED_HELP, true);
        break;
    }
}

static void start_dispute(ku_app *a)
{
    const struct ku_payment *p = &a->s.st.pay[a->s.pay_idx];
    struct ku_job j = { .kind = KU_JOB_DISPUTE, .amount_fen = p->amount_fen };

    hm_strlcpy(j.payment, p->id, sizeof(j.payment));
    hm_strlcpy(j.period, p->period, sizeof(j.period));
    hm_strlcpy(j.reason, a->s.reason, sizeof(j.reason));
    wait_job(a, &j);
    go(a, KU_SCR_DISPUTING);
}

static void on_dispute_reply(ku_app *a, const struct ku_reply *r)
{
    struct ku_payment *p = &a->s.st.pay[a->s.pay_idx];

    switch (r->result) {
    case KU_R_OK:
        hm_strlcpy(a->s.dispute, r->dispute, sizeof(a->s.dispute));
        hm_strlcpy(p->status, "disputed", sizeof(p->status));
        p->awaiting = false;
        go(a, KU_SCR_DISPUTED);
        break;
    case KU_R_ALREADY: /* already_confirmed: a confirmed payment is disputed with the staff */
        show_error(a, KU_M_ERR_DISPUTE_DONE_TITLE, KU_M_ERR_DISPUTE_DONE_HELP, false);
        break;
    case KU_R_REFUSED:
        show_error(a, KU_M_ERR_DISPUTE_TITLE, KU_M_ERR_DISPUTE_HELP, false);
        break;
    default:
        tap_error(a, r->result);
        break;
    }
}

/* The call's answer, if the resident is still on the 呼叫工作人员 screen to read it. */
static void on_staff_reply(ku_app *a, const struct ku_reply *r)
{
    if (!a->staff_seq || r->seq != a->staff_seq)
        return;
    a->staff_seq = 0;
    if (a->screen != KU_SCR_STAFF)
        return;
    if (r->result == KU_R_OK) {
        a->staff_state = KU_STAFF_CALLED;
        a->staff_waiting = r->waiting > 0 ? r->waiting : 1;
        hm_log_info("kiosk: staff called (%s), %d waiting", r->call, a->staff_waiting);
    } else {
        /* Never pretend: nobody was told, so the resident raises a hand. */
        a->staff_state = KU_STAFF_FAILED;
        hm_log_warn("kiosk: the staff call failed: %s", r->code[0] ? r->code : "no answer");
    }
    a->speak_again = true;
}

static void on_reply(ku_app *a, const struct ku_reply *r)
{
    if (r->offline)
        a->offline = true;
    else if (r->kind != KU_JOB_END && r->result != KU_R_NETWORK && r->result != KU_R_QUEUED &&
             r->kind != KU_JOB_SYNC)
        a->offline = a->pending > 0;
    if (r->kind == KU_JOB_SYNC) {
        a->pending = r->pending;
        a->offline = r->offline || r->pending > 0;
        return;
    }
    if (r->kind == KU_JOB_CONFIRM && r->result == KU_R_QUEUED)
        a->pending++;
    if (r->kind == KU_JOB_STAFF_CALL) {
        on_staff_reply(a, r);
        return;
    }
    if (!a->waiting_seq || r->seq != a->waiting_seq)
        return; /* an answer for a visit that already ended */
    a->waiting_seq = 0;
    if (r->kind == KU_JOB_TAP) {
        if (r->result == KU_R_OK) {
            a->s.st = r->status;
            if (a->s.st.tap_only && !a->elder) {
                hm_log_info("kiosk: 长辈模式 on for a resident the bureau flagged");
                a->elder = true;
                a->elder_auto = true;
            }
            after_status(a);
        } else {
            tap_error(a, r->result);
        }
        return;
    }
    if (r->kind == KU_JOB_DISPUTE) {
        on_dispute_reply(a, r);
        return;
    }
    if (r->kind >= KU_JOB_OFFICES && r->kind <= KU_JOB_APPT_RESCHEDULE) {
        ku_m_reply(a, r);
        return;
    }
    if (r->kind != KU_JOB_CONFIRM)
        return;
    switch (r->result) {
    case KU_R_OK:
    case KU_R_ALREADY:
        a->s.rc = r->receipt;
        a->s.rc.again = a->s.rc.again || r->result == KU_R_ALREADY;
        a->s.st.pay[a->s.pay_idx].awaiting = false;
        hm_strlcpy(a->s.st.pay[a->s.pay_idx].status, "confirmed", sizeof(a->s.st.pay[0].status));
        go(a, KU_SCR_RECEIPT);
        break;
    case KU_R_QUEUED:
        a->offline = true;
        a->s.st.pay[a->s.pay_idx].awaiting = false;
        go(a, KU_SCR_QUEUED);
        break;
    case KU_R_PIN_WRONG:
        a->s.tries_left = r->tries_left;
        a->s.pin_wrong = true;
        a->s.pin_len = 0;
        go(a, KU_SCR_PIN);
        break;
    case KU_R_REFUSED:
        show_error(a, KU_M_ERR_PAY_TITLE, KU_M_ERR_PAY_HELP, false);
        break;
    case KU_R_NO_CARD:
    case KU_R_CARD_PULLED:
        /* The card went while it signed: nothing was confirmed; whichever of this answer and
         * the removal comes first, the visit ends the same way (home, wiped). */
        end_session(a);
        break;
    default:
        tap_error(a, r->result);
        break;
    }
}

static bool has_session_screen(enum ku_screen s)
{
    return s == KU_SCR_STATUS || s == KU_SCR_PIN || s == KU_SCR_CONFIRMING || s == KU_SCR_RECEIPT ||
           s == KU_SCR_QUEUED || s == KU_SCR_DISPUTE || s == KU_SCR_DISPUTE_CONFIRM ||
           s == KU_SCR_DISPUTING || s == KU_SCR_DISPUTED;
}

/* Why the resident wants a person, from where they are: staff read it before walking over. */
static const char *staff_reason(const ku_app *a)
{
    if (a->screen == KU_SCR_CARD_ERROR) {
        if (a->err_title == KU_M_ERR_BLOCKED_TITLE)
            return "pin_blocked";
        if (a->err_title == KU_M_ERR_DISPUTE_TITLE || a->err_title == KU_M_ERR_DISPUTE_DONE_TITLE ||
            a->err_help == KU_M_CANCELLED_DISPUTE)
            return "dispute";
        if (a->err_title == KU_M_ERR_REFUSED_TITLE || a->err_title == KU_M_ERR_NOT_WELFARE_TITLE ||
            a->err_title == KU_M_ERR_UNREADABLE_TITLE || a->err_title == KU_M_ERR_READER_TITLE ||
            a->err_title == KU_M_ERR_PULLED_TITLE)
            return "card_problem";
        return "help";
    }
    if (a->screen == KU_SCR_M_REFUSED &&
        (a->s.refuse_own == KU_M_M_ID_NOT_GENUINE || a->s.refuse_own == KU_M_M_ID_UNREADABLE))
        return "card_problem";
    if (a->screen == KU_SCR_DISPUTED || a->screen == KU_SCR_DISPUTE ||
        a->screen == KU_SCR_DISPUTE_CONFIRM)
        return "dispute";
    return "help";
}

/* 呼叫工作人员: the call goes out with the reason, the screen and (if one is open) the card
 * session; staff will see the kiosk's screen, so the resident's data goes first. */
static void call_staff(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_STAFF_CALL };

    hm_strlcpy(j.reason, staff_reason(a), sizeof(j.reason));
    hm_strlcpy(j.screen, ku_screen_name(a->screen), sizeof(j.screen));
    /* The welfare card's session is open on these screens and on the error after a PIN
     * blocked there; the backend sends it only while it holds one. */
    j.with_card = has_session_screen(a->screen) ||
                  (a->screen == KU_SCR_CARD_ERROR && a->err_title == KU_M_ERR_BLOCKED_TITLE);
    hm_log_info("kiosk: calling staff (%s) from %s", j.reason, j.screen);
    a->staff_state = KU_STAFF_CALLING;
    a->staff_waiting = 0;
    end_session_with(a, &j);
    go(a, KU_SCR_STAFF);
}

/* Screens on which a card put down starts (or restarts) a read of it. */
static bool reads_new_card(enum ku_screen s)
{
    return s == KU_SCR_HOME || s == KU_SCR_RATING || s == KU_SCR_THANKS ||
           s == KU_SCR_CARD_PROMPT || s == KU_SCR_CARD_ERROR;
}

static void on_card_inserted(ku_app *a, const struct ku_event *ev)
{
    if (!ku_m_screen(a->screen) && !reads_new_card(a->screen) && a->card_present &&
        a->card_reader >= 0 && ev->reader != a->card_reader) {
        /* A second card on the other reader during a visit: it waits its turn. */
        a->waiting_reader = ev->reader;
        a->waiting_kind = ev->card;
        return;
    }
    if (ev->reader == a->waiting_reader)
        a->waiting_reader = -1;
    a->card_present = true;
    a->card_reader = ev->reader;
    a->card_kind = ev->card;
    if (a->card_stale && ev->reader == a->stale_reader) {
        /* Back after a reader fault: the same card, or one left behind. Not read by itself. */
        a->card_stale = false;
        if (a->screen == KU_SCR_HOME || a->screen == KU_SCR_CARD_ERROR)
            show_error(a, KU_M_ERR_STALE_TITLE, KU_M_ERR_STALE_HELP, true);
        return;
    }
    if (ku_m_screen(a->screen)) {
        ku_m_card_inserted(a);
        return;
    }
    switch (a->screen) {
    case KU_SCR_HOME:
    case KU_SCR_RATING:
    case KU_SCR_THANKS:
        a->after_read = KU_SCR_STATUS;
        start_tap(a);
        break;
    case KU_SCR_CARD_PROMPT:
    case KU_SCR_CARD_ERROR:
        start_tap(a);
        break;
    default:
        break; /* one card at a time; staff and marriage screens wait for "home" */
    }
}

/* The visit's card is gone: a card that waited on the other reader is read now, as if it had
 * just been put down (on the screen the removal left: home, 好差评, or "card moved"). */
static void take_waiting_card(ku_app *a)
{
    if (a->waiting_reader < 0 || a->card_present || !reads_new_card(a->screen))
        return;
    struct ku_event e = { .kind = KU_EV_CARD_INSERTED,
                          .now_ms = a->now,
                          .reader = a->waiting_reader,
                          .card = a->waiting_kind };
    a->waiting_reader = -1;
    on_card_inserted(a, &e);
}

static void on_card_removed(ku_app *a, int reader)
{
    if (reader >= 0 && reader == a->waiting_reader && reader != a->card_reader) {
        /* The waiting card went away; the visit's card is still down, so the visit goes on. */
        a->waiting_reader = -1;
        return;
    }
    if (ku_m_screen(a->screen)) {
        /* Two people, maybe two readers: only the card on the reader we use counts. */
        if (reader == a->card_reader)
            a->card_present = false;
        ku_m_card_removed(a, reader);
        return;
    }
    if (a->reader_lost)
        return; /* the service's own goodbye to every card: nobody lifted anything */
    a->card_present = false;
    if (reader == a->stale_reader)
        a->card_stale = false;
    if (a->screen == KU_SCR_READING)
        show_error(a, KU_M_ERR_PULLED_TITLE, KU_M_ERR_PULLED_HELP, true);
    else if (has_session_screen(a->screen) || ku_app_holds_personal_data(a))
        end_session(a);
    else if (a->screen == KU_SCR_CARD_ERROR && a->err_title != KU_M_ERR_PULLED_TITLE &&
             a->err_title != KU_M_ERR_READER_TITLE)
        end_session(a); /* the card the error was about is gone: home, for the next tap */
    take_waiting_card(a);
}

/*
 * No reader, or no PC/SC service: whatever the visit was, it cannot go on with the card (its
 * session on the card is gone), so it is wiped and the reader message says what to do. Home,
 * staff and 好差评 hold nothing of anyone: they stay, with the banner.
 */
static void on_reader_lost(ku_app *a)
{
    if (a->card_present) {
        a->card_stale = true;
        a->stale_reader = a->card_reader;
    }
    a->card_present = false;
    a->waiting_reader = -1; /* what lies on the readers is read again only when put down */
    if (!a->reader_lost)
        hm_log_warn("kiosk: no card reader (or no PC/SC service) on %s", ku_screen_name(a->screen));
    a->reader_lost = true;
    if (a->screen == KU_SCR_HOME || a->screen == KU_SCR_STAFF || a->screen == KU_SCR_RATING ||
        a->screen == KU_SCR_THANKS)
        return;
    end_session(a);
    show_error(a, KU_M_ERR_READER_TITLE, KU_M_ERR_READER_HELP, false);
}

static void on_reader_back(ku_app *a)
{
    if (a->reader_lost)
        hm_log_info("kiosk: the card reader is back");
    a->reader_lost = false;
    if (a->screen == KU_SCR_CARD_ERROR && a->err_title == KU_M_ERR_READER_TITLE)
        go(a, KU_SCR_HOME);
}

static void want_card(ku_app *a, enum ku_screen after)
{
    a->after_read = after;
    if (a->card_present)
        start_tap(a);
    else
        go(a, KU_SCR_CARD_PROMPT);
}

static void pin_key(ku_app *a, int key)
{
    if (key >= '0' && key <= '9') {
        if (a->s.pin_len < 6 && !a->s.st.tap_only) {
            a->s.pin[a->s.pin_len++] = (char)key;
            a->s.pin[a->s.pin_len] = '\0';
        }
    } else if (key == KU_KEY_BACKSPACE) {
        if (a->s.pin_len) {
            a->s.pin[--a->s.pin_len] = '\0';
        }
    } else if (key == KU_KEY_ENTER) {
        if (a->s.st.tap_only || a->s.pin_len >= 4)
            start_confirm(a);
    } else if (key == KU_KEY_ESCAPE) {
        hm_wipe(a->s.pin, sizeof(a->s.pin));
        a->s.pin_len = 0;
        go(a, KU_SCR_STATUS);
    }
}

static void cancel_wait(ku_app *a);

static void on_button(ku_app *a, const char *id)
{
    hm_log_debug("kiosk: button %s on %s", id, ku_app_screen_label(a));
    if (a->idle_warn) {
        if (strcmp(id, "end") == 0)
            end_session(a);
        else
            go(a, a->screen); /* more time */
        return;
    }
    if (strcmp(id, "repeat") == 0) {
        a->speak_again = true;
    } else if (ku_m_button(a, id)) {
        /* the marriage flows' own */
    } else if (strcmp(id, "lang") == 0) {
        a->lang = a->lang == KU_LANG_ZH ? KU_LANG_EN : KU_LANG_ZH;
    } else if (strcmp(id, "elder") == 0) {
        ku_app_set_elder(a, !a->elder);
    } else if (strcmp(id, "status") == 0) {
        want_card(a, KU_SCR_STATUS);
    } else if (strcmp(id, "confirm") == 0) {
        want_card(a, KU_SCR_PIN);
    } else if (strcmp(id, "staff") == 0) {
        call_staff(a);
    } else if (strcmp(id, "wait-cancel") == 0 && ku_app_wait_cancellable(a)) {
        cancel_wait(a);
    } else if (strcmp(id, "done") == 0 &&
               (a->screen == KU_SCR_RECEIPT || a->screen == KU_SCR_QUEUED ||
                a->screen == KU_SCR_DISPUTED || a->screen == KU_SCR_M_TICKET ||
                a->screen == KU_SCR_M_CANCELLED)) {
        /* The end of a transaction: the data goes, then 好差评 (in the flagged resident's
         * 长辈模式 still; it goes when home is reached). */
        bool was_auto = a->elder_auto;

        a->elder_auto = false;
        end_session(a);
        a->elder_auto = was_auto;
        go(a, KU_SCR_RATING);
    } else if (strncmp(id, "rate-", 5) == 0 && a->screen == KU_SCR_RATING) {
        long n;

        if (hm_parse_long(id + 5, 1, 5, &n)) {
            /* No server API takes ratings yet: the log is where the hall reads them. */
            a->last_rating = (int)n;
            hm_log_info("kiosk: rating %ld of 5 (好差评)", n);
            go(a, KU_SCR_THANKS);
        }
    } else if (strcmp(id, "skip") == 0 && a->screen == KU_SCR_RATING) {
        go(a, KU_SCR_HOME);
    } else if (strcmp(id, "home") == 0 || strcmp(id, "finish") == 0 || strcmp(id, "done") == 0) {
        end_session(a);
    } else if (strcmp(id, "retry") == 0) {
        if (a->card_present)
            start_tap(a);
        else
            go(a, KU_SCR_CARD_PROMPT);
    } else if (strcmp(id, "prev") == 0) {
        if (a->s.page > 0)
            a->s.page--;
    } else if (strcmp(id, "next") == 0) {
        a->s.page++;
    } else if (strncmp(id, "confirm-", 8) == 0 && !a->s.st.cached) {
        /* A kept status is never confirmed from: that needs the server. */
        long idx;

        if (hm_parse_long(id + 8, 0, KU_PAY_MAX - 1, &idx) && (size_t)idx < a->s.st.n_pay &&
            a->s.st.pay[idx].awaiting)
            open_pin(a, (int)idx);
    } else if (strncmp(id, "dispute-", 8) == 0 && a->screen == KU_SCR_STATUS && !a->s.st.cached) {
        long idx;

        if (hm_parse_long(id + 8, 0, KU_PAY_MAX - 1, &idx) && (size_t)idx < a->s.st.n_pay &&
            a->s.st.pay[idx].awaiting) {
            a->s.pay_idx = (int)idx;
            a->s.reason[0] = '\0';
            go(a, KU_SCR_DISPUTE);
        }
    } else if (strncmp(id, "reason-", 7) == 0 && a->screen == KU_SCR_DISPUTE) {
        static const char *const reasons[] = { "not_received", "wrong_amount", "other" };

        for (size_t i = 0; i < HM_ARRAY_SIZE(reasons); i++)
            if (strcmp(id + 7, reasons[i]) == 0) {
                hm_strlcpy(a->s.reason, reasons[i], sizeof(a->s.reason));
                go(a, KU_SCR_DISPUTE_CONFIRM);
            }
    } else if (strcmp(id, "submit") == 0 && a->screen == KU_SCR_DISPUTE_CONFIRM) {
        start_dispute(a);
    } else if (strcmp(id, "cancel") == 0 &&
               (a->screen == KU_SCR_DISPUTE || a->screen == KU_SCR_DISPUTE_CONFIRM)) {
        a->s.reason[0] = '\0';
        go(a, KU_SCR_STATUS);
    } else if (strncmp(id, "key-", 4) == 0 && a->screen == KU_SCR_PIN) {
        pin_key(a, strcmp(id + 4, "del") == 0 ? KU_KEY_BACKSPACE : id[4]);
    } else if (strcmp(id, "pin-ok") == 0 && a->screen == KU_SCR_PIN) {
        pin_key(a, KU_KEY_ENTER);
    } else if (strcmp(id, "cancel") == 0 && a->screen == KU_SCR_PIN) {
        pin_key(a, KU_KEY_ESCAPE);
    }
}

static bool busy(enum ku_screen s)
{
    return s == KU_SCR_READING || s == KU_SCR_CONFIRMING || s == KU_SCR_DISPUTING ||
           s == KU_SCR_M_WAIT || s == KU_SCR_M_IDREAD;
}

bool ku_app_wait_slow(const ku_app *a)
{
    return a->waiting_seq && busy(a->screen) && a->now - a->wait_since >= a->cfg.slow_ms;
}

/*
 * A confirmation is never abandoned: once the card has signed, the client library keeps it
 * in its journal and delivers it whatever the kiosk shows, so "cancelled" would be untrue;
 * its wait ends by itself (the client's timeout turns it into "queued").
 */
bool ku_app_wait_cancellable(const ku_app *a)
{
    return ku_app_wait_slow(a) && a->wait_kind != KU_JOB_CONFIRM &&
           a->now - a->wait_since >= a->cfg.cancel_ms;
}

unsigned ku_app_wait_seconds(const ku_app *a)
{
    return a->waiting_seq ? (unsigned)((a->now - a->wait_since) / 1000) : 0;
}

/* 取消 on a slow wait: the reply will be dropped; say what may have happened. */
static void cancel_wait(ku_app *a)
{
    enum ku_job_kind k = a->wait_kind;

    hm_log_info("kiosk: the resident stopped waiting for a %d job on %s after %u s", (int)k,
                ku_screen_name(a->screen), ku_app_wait_seconds(a));
    a->waiting_seq = 0;
    if (k == KU_JOB_TAP)
        show_error(a, KU_M_CANCELLED_TITLE, KU_M_CANCELLED_READ, true);
    else if (k == KU_JOB_DISPUTE)
        show_error(a, KU_M_CANCELLED_TITLE, KU_M_CANCELLED_DISPUTE, false);
    else
        ku_m_wait_cancelled(a, k);
}

static void on_tick(ku_app *a)
{
    uint64_t idle = a->cfg.idle_ms * (a->elder ? 2u : 1u);

    if (a->cfg.offline_sync && a->pending > 0 && a->now - a->last_sync >= a->cfg.sync_ms) {
        struct ku_job j = { .kind = KU_JOB_SYNC };

        a->last_sync = a->now;
        push_job(a, &j);
    }
    if (a->screen == KU_SCR_THANKS && a->now - a->last_input >= 5000) {
        go(a, KU_SCR_HOME); /* nothing of the resident is held here: no need to ask */
        return;
    }
    if (ku_app_wait_slow(a) && !a->slow_said) {
        a->slow_said = true; /* voice guidance says it too (ku_app_speech_text) */
        a->speak_again = true;
    }
    if (a->screen == KU_SCR_HOME || busy(a->screen))
        return;
    if (!a->idle_warn && a->now - a->last_input >= idle) {
        a->idle_warn = true;
        a->idle_since = a->now;
        hm_log_info("kiosk: idle on %s, offering more time", ku_screen_name(a->screen));
    } else if (a->idle_warn && a->now - a->idle_since >= a->cfg.idle_grace_ms) {
        hm_log_info("kiosk: idle timeout on %s, session wiped", ku_screen_name(a->screen));
        end_session(a);
    }
}

static bool inside(const struct ku_rect *r, int x, int y)
{
    return x >= r->x && y >= r->y && x < r->x + r->w && y < r->y + r->h;
}

void ku_app_handle(ku_app *a, const struct ku_event *ev)
{
    if (ev->now_ms > a->now)
        a->now = ev->now_ms;
    switch (ev->kind) {
    case KU_EV_TOUCH: {
        char id[32] = "";

        ku_app_render(a, NULL);
        for (size_t i = 0; i < a->nbuttons; i++)
            if (a->buttons[i].enabled && inside(&a->buttons[i].r, ev->x, ev->y))
                hm_strlcpy(id, a->buttons[i].id, sizeof(id));
        a->last_input = a->now;
        if (id[0])
            on_button(a, id);
        else if (a->idle_warn)
            go(a, a->screen);
        break;
    }
    case KU_EV_KEY:
        a->last_input = a->now;
        if (a->idle_warn)
            go(a, a->screen);
        else if (a->screen == KU_SCR_PIN)
            pin_key(a, ev->key);
        else if (ku_m_key(a, ev->key))
            break;
        else if (ev->key == KU_KEY_ESCAPE && a->screen != KU_SCR_HOME && !busy(a->screen))
            end_session(a);
        break;
    case KU_EV_CARD_INSERTED:
        on_card_inserted(a, ev);
        break;
    case KU_EV_CARD_REMOVED:
        on_card_removed(a, ev->reader);
        break;
    case KU_EV_REPLY:
        if (ev->reply)
            on_reply(a, ev->reply);
        break;
    case KU_EV_TICK:
        on_tick(a);
        break;
    case KU_EV_READER_LOST:
        on_reader_lost(a);
        break;
    case KU_EV_READER_BACK:
        on_reader_back(a);
        break;
    }
}

/* ---- samples for --render-all and tests ---------------------------------------- */

void ku_app_show_sample(ku_app *a, enum ku_screen s, int variant)
{
    hm_wipe(&a->s, sizeof(a->s));
    a->idle_warn = false;
    a->offline = false;
    a->reader_lost = false;
    a->waiting_seq = 0;
    a->staff_seq = 0;
    if (a->now < 60000)
        a->now = 60000;
    /* Variant 1 of a waiting screen: slower than usual; 2: so slow that 取消 is offered. */
    if ((s == KU_SCR_READING || s == KU_SCR_CONFIRMING || s == KU_SCR_DISPUTING ||
         s == KU_SCR_M_WAIT || s == KU_SCR_M_IDREAD) &&
        variant > 0) {
        a->waiting_seq = 1;
        a->wait_kind = s == KU_SCR_READING      ? KU_JOB_TAP
                       : s == KU_SCR_CONFIRMING ? KU_JOB_CONFIRM
                       : s == KU_SCR_DISPUTING  ? KU_JOB_DISPUTE
                       : s == KU_SCR_M_IDREAD   ? KU_JOB_ID
                                                : KU_JOB_BOOK;
        a->wait_since = a->now - (variant == 1 ? a->cfg.slow_ms + 2000 : a->cfg.cancel_ms + 3000);
    }
    if (s != KU_SCR_HOME && s != KU_SCR_CARD_PROMPT && s != KU_SCR_READING &&
        s != KU_SCR_CARD_ERROR && s != KU_SCR_STAFF && s != KU_SCR_RATING && s != KU_SCR_THANKS &&
        !ku_m_screen(s))
        ku_fake_status(&a->s.st, (int64_t)(a->now / 1000));
    a->screen = s;
    a->s.pay_idx = 0;
    switch (s) {
    case KU_SCR_HOME: /* 1: the server is away; 2: the card reader is unplugged */
        a->offline = variant == 1;
        a->reader_lost = variant == 2;
        break;
    case KU_SCR_CARD_ERROR: {
        static const enum ku_result errs[] = { KU_R_CARD_PULLED, KU_R_CARD_UNREADABLE,
                                               KU_R_NOT_WELFARE, KU_R_CARD_REFUSED,
                                               KU_R_NETWORK,     KU_R_PIN_BLOCKED };
        if (variant == 6) /* 取消 while the status was read, 7: while a dispute was sent */
            show_error(a, KU_M_CANCELLED_TITLE, KU_M_CANCELLED_READ, true);
        else if (variant == 7)
            show_error(a, KU_M_CANCELLED_TITLE, KU_M_CANCELLED_DISPUTE, false);
        else
            tap_error(a, errs[(size_t)variant % HM_ARRAY_SIZE(errs)]);
        break;
    }
    case KU_SCR_STAFF: /* 0: called, 1: calling, 2: the call failed */
        a->staff_state = variant == 1   ? KU_STAFF_CALLING
                         : variant == 2 ? KU_STAFF_FAILED
                                        : KU_STAFF_CALLED;
        a->staff_waiting = 3;
        break;
    case KU_SCR_STATUS:
        /* Variants 0, 1: the pages; 9: the idle question; 3: the status kept from 11月30日
         * 10:05 (local time), shown while the server cannot be reached. */
        a->s.page = variant == 3 ? 0 : variant;
        a->idle_warn = variant == 9;
        a->idle_since = a->now;
        if (variant == 3) {
            struct tm tm = { .tm_year = 2026 - 1900,
                             .tm_mon = 10,
                             .tm_mday = 30,
                             .tm_hour = 10,
                             .tm_min = 5,
                             .tm_isdst = -1 };

            a->s.st.cached = true;
            a->s.st.as_of = (int64_t)mktime(&tm);
            a->offline = true;
        }
        break;
    case KU_SCR_PIN:
        a->s.pin_len = variant ? 2 : 4;
        memcpy(a->s.pin, "0000", a->s.pin_len);
        a->s.pin_wrong = variant == 1;
        a->s.tries_left = 2;
        break;
    case KU_SCR_RECEIPT:
        ku_fake_receipt(&a->s.rc, &a->s.st.pay[0]);
        break;
    case KU_SCR_QUEUED:
        a->offline = true;
        break;
    case KU_SCR_DISPUTE_CONFIRM:
    case KU_SCR_DISPUTING:
    case KU_SCR_DISPUTED:
        hm_strlcpy(a->s.reason, variant ? "wrong_amount" : "not_received", sizeof(a->s.reason));
        hm_strlcpy(a->s.dispute, "D-20261201-000042", sizeof(a->s.dispute));
        break;
    case KU_SCR_M_SERVICE:
    case KU_SCR_M_WAIT:
    case KU_SCR_M_OFFICE:
    case KU_SCR_M_DATE:
    case KU_SCR_M_SLOT:
    case KU_SCR_M_MRZ:
    case KU_SCR_M_IDCARD:
    case KU_SCR_M_IDREAD:
    case KU_SCR_M_SUMMARY:
    case KU_SCR_M_TICKET:
    case KU_SCR_M_REFUSED:
    case KU_SCR_M_MINE:
    case KU_SCR_M_CANCEL:
    case KU_SCR_M_CANCELLED:
        ku_m_sample(a, s, variant);
        break;
    default:
        break;
    }
    a->screen = s;
}

/* ---- voice guidance ------------------------------------------------------------------ */

int ku_app_last_rating(const ku_app *a)
{
    return a->last_rating;
}

bool ku_app_take_speech(ku_app *a, char *buf, size_t cap, enum ku_lang *lang)
{
    const char *label = ku_app_screen_label(a);

    if (!a->elder) {
        a->spoken_label[0] = '\0'; /* 长辈模式 switched on later says the screen it is on */
        a->speak_again = false;
        return false;
    }
    if (!a->speak_again && a->spoken_lang == a->lang && strcmp(label, a->spoken_label) == 0)
        return false;
    hm_strlcpy(a->spoken_label, label, sizeof(a->spoken_label));
    a->spoken_lang = a->lang;
    a->speak_again = false;
    ku_app_speech_text(a, buf, cap);
    *lang = a->lang;
    return buf[0] != '\0';
}

/* ---- for marriage.c ------------------------------------------------------------------ */

void ku_app_go(ku_app *a, enum ku_screen s)
{
    go(a, s);
}

unsigned ku_app_push(ku_app *a, struct ku_job *j)
{
    return push_job(a, j);
}

void ku_app_wait(ku_app *a, struct ku_job *j)
{
    wait_job(a, j);
}

void ku_app_end_session(ku_app *a)
{
    end_session(a);
}
