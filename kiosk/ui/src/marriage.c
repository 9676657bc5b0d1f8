/* The marriage-registration flows as states: booking (service, office, day, slot, each party's ID
 * card, summary, ticket) and 我的预约 (one card, the list, cancel), apart from the welfare ones. */
#include "app_int.h"

#include "hm/log.h"
#include "hm/util.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *id;
    enum ku_msg name;
    int parties;
} services[] = {
    { "marriage", KU_M_SVC_MARRIAGE, 2 },
    { "divorce_application", KU_M_SVC_DIVORCE_APPLICATION, 2 },
    { "divorce_confirmation", KU_M_SVC_DIVORCE_CONFIRMATION, 2 },
    { "reissue", KU_M_SVC_REISSUE, 1 },
};

size_t ku_m_services(void)
{
    return HM_ARRAY_SIZE(services);
}

const char *ku_m_service_id(size_t i)
{
    return i < HM_ARRAY_SIZE(services) ? services[i].id : "";
}

enum ku_msg ku_m_service_msg(size_t i)
{
    return i < HM_ARRAY_SIZE(services) ? services[i].name : KU_M_SVC_MARRIAGE;
}

int ku_m_service_parties(size_t i)
{
    return i < HM_ARRAY_SIZE(services) ? services[i].parties : 2;
}

bool ku_m_screen(enum ku_screen s)
{
    return s >= KU_SCR_M_SERVICE && s <= KU_SCR_M_CANCELLED;
}

size_t ku_m_field_max(int field)
{
    return field == 0 ? 9 : 6;
}

static void wipe_mrz(ku_app *a)
{
    hm_wipe(a->s.mrz, sizeof(a->s.mrz));
    a->s.mrz_field = 0;
    a->s.mrz_digits = false;
}

static void wait_for(ku_app *a, struct ku_job *j)
{
    ku_app_wait(a, j);
    ku_app_go(a, KU_SCR_M_WAIT);
}

/* The parties a service needs: the API's spellings and ours ("divorce_apply"...) alike. */
static int parties_of(const char *service)
{
    return strcmp(service, "reissue") == 0 ? 1 : 2;
}

static int parties_needed(const ku_app *a)
{
    if (a->s.resched)
        return parties_of(a->s.m.appts[a->s.appt_idx].service);
    return ku_m_service_parties((size_t)a->s.svc);
}

static void ask_offices(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_OFFICES };

    hm_strlcpy(j.service, ku_m_service_id((size_t)a->s.svc), sizeof(j.service));
    wait_for(a, &j);
}

static void ask_days(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_AVAIL };

    if (a->s.resched) { /* the same office and service as the appointment moved */
        hm_strlcpy(j.service, a->s.m.appts[a->s.appt_idx].service, sizeof(j.service));
        hm_strlcpy(j.office, a->s.m.appts[a->s.appt_idx].office, sizeof(j.office));
    } else {
        hm_strlcpy(j.service, ku_m_service_id((size_t)a->s.svc), sizeof(j.service));
        hm_strlcpy(j.office, a->s.m.offices[a->s.office_idx].id, sizeof(j.office));
    }
    wait_for(a, &j);
}

static void type_mrz(ku_app *a, bool for_mine, int party)
{
    a->s.for_mine = for_mine;
    a->s.party = party;
    a->s.mrz_wrong = false;
    a->s.id_pulled = false;
    wipe_mrz(a);
    ku_app_go(a, KU_SCR_M_MRZ);
}

static bool parties_read(const ku_app *a)
{
    return a->s.parties[0].session[0] && (parties_needed(a) == 1 || a->s.parties[1].session[0]);
}

/* 我的预约 again for the person whose card was read: a fresh list. */
static void ask_mine(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_MINE };

    a->s.resched = false;
    hm_wipe(&a->s.parties[1], sizeof(a->s.parties[1]));
    hm_strlcpy(j.sessions[0], a->s.parties[0].session, sizeof(j.sessions[0]));
    wait_for(a, &j);
}

static bool mrz_complete(const ku_app *a, int f)
{
    size_t n = strlen(a->s.mrz[f]);

    return f == 0 ? n >= 5 : n == 6;
}

static void read_id(ku_app *a)
{
    struct ku_job j = { .kind = KU_JOB_ID, .reader = a->card_reader, .card = a->card_kind };

    hm_strlcpy(j.mrz_doc, a->s.mrz[0], sizeof(j.mrz_doc));
    hm_strlcpy(j.mrz_birth, a->s.mrz[1], sizeof(j.mrz_birth));
    hm_strlcpy(j.mrz_expiry, a->s.mrz[2], sizeof(j.mrz_expiry));
    a->s.id_pulled = false;
    a->s.id_reader = a->card_reader;
    ku_app_wait(a, &j); /* wipes j */
    ku_app_go(a, KU_SCR_M_IDREAD);
}

static void refuse(ku_app *a, const struct ku_reply *r, enum ku_msg own, enum ku_msg next,
                   enum ku_screen back)
{
    a->s.refuse_own = own;
    a->s.refuse_next = next;
    a->s.refuse_back = back;
    a->s.refuse_title = a->s.resched ? KU_M_M_RESCHED_REFUSED : 0;
    a->s.refuse_again = 0;
    a->s.refetch_mine = false;
    hm_strlcpy(a->s.refuse_zh, r ? r->msg_zh : "", sizeof(a->s.refuse_zh));
    hm_strlcpy(a->s.refuse_en, r ? r->msg_en : "", sizeof(a->s.refuse_en));
    if (!a->s.refuse_zh[0] && !own)
        a->s.refuse_own = KU_M_M_NEXT_STAFF;
    ku_app_go(a, KU_SCR_M_REFUSED);
}

/* What happened is not known (the answer was lost, or the resident stopped waiting): look
 * in 我的预约, whose button asks for the list again. */
static void refuse_unknown(ku_app *a, enum ku_msg own)
{
    refuse(a, NULL, own, KU_M_M_NEXT_LOOK_MINE,
           a->s.parties[0].session[0] ? KU_SCR_M_MINE : KU_SCR_HOME);
    a->s.refuse_again = KU_M_BTN_MINE;
    a->s.refetch_mine = true;
    a->s.refuse_title = KU_M_M_UNKNOWN_TITLE;
}

void ku_m_wait_cancelled(ku_app *a, enum ku_job_kind kind)
{
    if (kind == KU_JOB_BOOK)
        refuse_unknown(a, KU_M_M_MAYBE_BOOKED);
    else if (kind == KU_JOB_APPT_RESCHEDULE)
        refuse_unknown(a, KU_M_M_MAYBE_RESCHEDULED);
    else if (kind == KU_JOB_APPT_CANCEL)
        refuse_unknown(a, KU_M_M_MAYBE_CANCELLED);
    else /* offices, days, the list, an ID card: only read, nothing was done */
        refuse(a, NULL, KU_M_CANCELLED_READ, KU_M_M_NEXT_TRY_LATER, KU_SCR_HOME);
    a->s.refuse_title = KU_M_CANCELLED_TITLE;
    if (kind == KU_JOB_ID)
        wipe_mrz(a);
}

/* A refusal's next step from the server's code: choose again, come later, staff. */
static void refuse_by_code(ku_app *a, const struct ku_reply *r)
{
    static const struct {
        const char *code;
        enum ku_msg next;
        enum ku_screen back;
    } next[] = {
        { "slot_full", KU_M_M_NEXT_SLOT, KU_SCR_M_DATE },
        { "no_such_slot", KU_M_M_NEXT_SLOT, KU_SCR_M_DATE },
        { "in_the_past", KU_M_M_NEXT_SLOT, KU_SCR_M_DATE },
        { "office_closed", KU_M_M_NEXT_SLOT, KU_SCR_M_DATE },
        { "booking_not_open", KU_M_M_NEXT_LATER, KU_SCR_M_DATE },
        { "too_far_ahead", KU_M_M_NEXT_LATER, KU_SCR_M_DATE },
        { "office_not_competent", KU_M_M_NEXT_OFFICE, KU_SCR_M_OFFICE },
        { "service_not_offered", KU_M_M_NEXT_OFFICE, KU_SCR_M_OFFICE },
        { "active_booking_exists", KU_M_M_NEXT_MINE, KU_SCR_HOME },
    };

    for (size_t i = 0; i < HM_ARRAY_SIZE(next); i++)
        if (strcmp(r->code, next[i].code) == 0) {
            refuse(a, r, 0, next[i].next, next[i].back);
            return;
        }
    refuse(a, r, 0, KU_M_M_NEXT_STAFF, KU_SCR_HOME);
}

static void on_id(ku_app *a, const struct ku_reply *r)
{
    switch (r->result) {
    case KU_R_OK:
        wipe_mrz(a);
        a->s.parties[a->s.party] = r->m.party;
        hm_log_info("kiosk: ID card of party %d read (%s)", a->s.party + 1,
                    a->s.parties[a->s.party].id_masked);
        if (a->s.for_mine) {
            struct ku_job j = { .kind = KU_JOB_MINE };

            hm_strlcpy(j.sessions[0], a->s.parties[0].session, sizeof(j.sessions[0]));
            wait_for(a, &j);
        } else if (a->s.resched) {
            ask_days(a); /* both here: now the new day */
        } else if (a->s.party == 0 && ku_m_service_parties((size_t)a->s.svc) == 2) {
            type_mrz(a, false, 1);
        } else {
            ku_app_go(a, KU_SCR_M_SUMMARY);
        }
        break;
    case KU_R_PIN_WRONG: /* the chip refused the typed numbers (BAC): nothing was sent */
        wipe_mrz(a);
        a->s.mrz_wrong = true;
        ku_app_go(a, KU_SCR_M_MRZ);
        break;
    case KU_R_NO_CARD:
    case KU_R_CARD_PULLED:
        a->s.id_pulled = true; /* the numbers are kept: put the card back */
        ku_app_go(a, KU_SCR_M_IDCARD);
        break;
    case KU_R_NETWORK:
        wipe_mrz(a);
        refuse(a, NULL, KU_M_M_NETWORK, KU_M_M_NEXT_TRY_LATER, KU_SCR_HOME);
        break;
    case KU_R_REFUSED:
        wipe_mrz(a);
        refuse(a, r, 0, KU_M_M_NEXT_STAFF, KU_SCR_HOME);
        break;
    case KU_R_CARD_REFUSED:
        wipe_mrz(a);
        refuse(a, NULL, KU_M_M_ID_NOT_GENUINE, KU_M_M_NEXT_STAFF, KU_SCR_HOME);
        break;
    default:
        wipe_mrz(a);
        refuse(a, NULL, KU_M_M_ID_UNREADABLE, KU_M_M_NEXT_STAFF, KU_SCR_M_IDCARD);
        break;
    }
}

void ku_m_reply(ku_app *a, const struct ku_reply *r)
{
    if (r->kind == KU_JOB_ID) {
        on_id(a, r);
        return;
    }
    if (r->result == KU_R_NETWORK) {
        /* A booking, a change or a cancellation may have been made before the answer was
         * lost: say so, and where to look. */
        if (r->kind == KU_JOB_BOOK)
            refuse_unknown(a, KU_M_M_MAYBE_BOOKED);
        else if (r->kind == KU_JOB_APPT_RESCHEDULE)
            refuse_unknown(a, KU_M_M_MAYBE_RESCHEDULED);
        else if (r->kind == KU_JOB_APPT_CANCEL)
            refuse_unknown(a, KU_M_M_MAYBE_CANCELLED);
        else
            refuse(a, NULL, KU_M_M_NETWORK, KU_M_M_NEXT_TRY_LATER, KU_SCR_HOME);
        return;
    }
    if (r->result == KU_R_REFUSED) {
        if (r->kind == KU_JOB_APPT_CANCEL)
            refuse(a, r, 0, KU_M_M_NEXT_STAFF, KU_SCR_M_MINE);
        else
            refuse_by_code(a, r);
        return;
    }
    if (r->result != KU_R_OK) {
        refuse(a, NULL, KU_M_ERR_FAILED_HELP, KU_M_M_NEXT_STAFF, KU_SCR_HOME);
        return;
    }
    switch (r->kind) {
    case KU_JOB_OFFICES:
        a->s.m.n_offices = r->m.n_offices;
        memcpy(a->s.m.offices, r->m.offices, sizeof(a->s.m.offices));
        a->s.page = 0;
        ku_app_go(a, KU_SCR_M_OFFICE);
        break;
    case KU_JOB_AVAIL:
        a->s.m.n_days = r->m.n_days;
        memcpy(a->s.m.days, r->m.days, sizeof(a->s.m.days));
        ku_app_go(a, KU_SCR_M_DATE);
        break;
    case KU_JOB_BOOK:
        a->s.m.ticket = r->m.ticket;
        hm_log_info("kiosk: booked %s %s at %s: ticket %s", a->s.m.ticket.date, a->s.m.ticket.slot,
                    a->s.m.ticket.office, a->s.m.ticket.id);
        ku_app_go(a, KU_SCR_M_TICKET);
        break;
    case KU_JOB_MINE:
        a->s.resched = false;
        a->s.m.n_appts = r->m.n_appts;
        memcpy(a->s.m.appts, r->m.appts, sizeof(a->s.m.appts));
        a->s.m.n_offices = r->m.n_offices; /* for the offices' names on a new ticket */
        memcpy(a->s.m.offices, r->m.offices, sizeof(a->s.m.offices));
        ku_app_go(a, KU_SCR_M_MINE);
        break;
    case KU_JOB_APPT_RESCHEDULE:
        a->s.m.ticket = r->m.ticket;
        hm_log_info("kiosk: rescheduled %s to %s %s: ticket %s", a->s.m.appts[a->s.appt_idx].t,
                    a->s.m.ticket.date, a->s.m.ticket.slot, a->s.m.ticket.id);
        hm_strlcpy(a->s.m.appts[a->s.appt_idx].status, "rescheduled",
                   sizeof(a->s.m.appts[0].status));
        ku_app_go(a, KU_SCR_M_TICKET);
        break;
    case KU_JOB_APPT_CANCEL:
        hm_strlcpy(a->s.m.appts[a->s.appt_idx].status, "cancelled", sizeof(a->s.m.appts[0].status));
        ku_app_go(a, KU_SCR_M_CANCELLED);
        break;
    default:
        break;
    }
}

static bool mrz_put(ku_app *a, int ch)
{
    char *f = a->s.mrz[a->s.mrz_field];
    size_t n = strlen(f);
    bool letter = ch >= 'A' && ch <= 'Z';

    if ((letter && a->s.mrz_field != 0) || (!letter && (ch < '0' || ch > '9')))
        return false;
    if (n >= ku_m_field_max(a->s.mrz_field))
        return false;
    f[n] = (char)ch;
    f[n + 1] = '\0';
    a->s.mrz_wrong = false;
    return true;
}

static void mrz_next(ku_app *a)
{
    if (!mrz_complete(a, a->s.mrz_field))
        return;
    for (int f = 0; f < 3; f++)
        if (!mrz_complete(a, f)) {
            a->s.mrz_field = f;
            a->s.mrz_digits = f != 0 || a->s.mrz[0][0];
            return;
        }
    ku_app_go(a, KU_SCR_M_IDCARD);
}

bool ku_m_key(ku_app *a, int key)
{
    if (a->screen != KU_SCR_M_MRZ)
        return false;
    if (key == KU_KEY_BACKSPACE) {
        size_t n = strlen(a->s.mrz[a->s.mrz_field]);

        if (n)
            a->s.mrz[a->s.mrz_field][n - 1] = '\0';
    } else if (key == KU_KEY_ENTER) {
        mrz_next(a);
    } else if (key == KU_KEY_ESCAPE) {
        ku_app_end_session(a);
    } else {
        mrz_put(a, key >= 'a' && key <= 'z' ? key - 'a' + 'A' : key);
    }
    return true;
}

static bool idx_arg(const char *id, const char *prefix, long max, long *out)
{
    size_t n = strlen(prefix);

    return strncmp(id, prefix, n) == 0 && hm_parse_long(id + n, 0, max, out);
}

bool ku_m_button(ku_app *a, const char *id)
{
    long i;

    if (strcmp(id, "marriage") == 0) {
        hm_wipe(&a->s, sizeof(a->s));
        ku_app_go(a, KU_SCR_M_SERVICE);
    } else if (strcmp(id, "mine") == 0) {
        hm_wipe(&a->s, sizeof(a->s));
        type_mrz(a, true, 0);
    } else if (a->screen == KU_SCR_M_SERVICE && strncmp(id, "svc-", 4) == 0) {
        for (size_t k = 0; k < ku_m_services(); k++)
            if (strcmp(id + 4, ku_m_service_id(k)) == 0) {
                a->s.svc = (int)k;
                ask_offices(a);
            }
    } else if (a->screen == KU_SCR_M_OFFICE && strncmp(id, "office-", 7) == 0) {
        for (size_t k = 0; k < a->s.m.n_offices; k++)
            if (a->s.m.offices[k].offers && strncmp(id + 7, a->s.m.offices[k].id, 24) == 0) {
                a->s.office_idx = (int)k;
                ask_days(a);
                break;
            }
    } else if (a->screen == KU_SCR_M_DATE && idx_arg(id, "day-", (long)a->s.m.n_days - 1, &i)) {
        a->s.day_idx = (int)i;
        ku_app_go(a, KU_SCR_M_SLOT);
    } else if (a->screen == KU_SCR_M_SLOT &&
               idx_arg(id, "slot-", (long)a->s.m.days[a->s.day_idx].n_slots - 1, &i)) {
        a->s.slot_idx = (int)i;
        /* Chosen again after a refusal: the parties' sessions are still good. */
        if (parties_read(a))
            ku_app_go(a, KU_SCR_M_SUMMARY);
        else
            type_mrz(a, false, 0);
    } else if (a->screen == KU_SCR_M_SLOT && strcmp(id, "back") == 0) {
        ku_app_go(a, KU_SCR_M_DATE);
    } else if (a->screen == KU_SCR_M_MRZ && strncmp(id, "mk-", 3) == 0) {
        if (strcmp(id + 3, "del") == 0)
            ku_m_key(a, KU_KEY_BACKSPACE);
        else if (strcmp(id + 3, "next") == 0)
            mrz_next(a);
        else if (strcmp(id + 3, "abc") == 0 && a->s.mrz_field == 0)
            a->s.mrz_digits = false;
        else if (strcmp(id + 3, "123") == 0)
            a->s.mrz_digits = true;
        else if (id[3] && !id[4])
            mrz_put(a, id[3]);
    } else if (a->screen == KU_SCR_M_MRZ && idx_arg(id, "mf-", 2, &i)) {
        a->s.mrz_field = (int)i;
        a->s.mrz_digits = i != 0 || a->s.mrz[0][0];
    } else if (a->screen == KU_SCR_M_IDCARD && strcmp(id, "read-card") == 0) {
        if (a->card_present)
            read_id(a);
        else
            a->s.id_pulled = true;
    } else if (a->screen == KU_SCR_M_SUMMARY && !a->s.resched && strcmp(id, "book") == 0) {
        struct ku_job j = { .kind = KU_JOB_BOOK };
        const struct ku_day *d = &a->s.m.days[a->s.day_idx];

        hm_strlcpy(j.service, ku_m_service_id((size_t)a->s.svc), sizeof(j.service));
        hm_strlcpy(j.office, a->s.m.offices[a->s.office_idx].id, sizeof(j.office));
        hm_strlcpy(j.date, d->date, sizeof(j.date));
        hm_strlcpy(j.slot, d->slots[a->s.slot_idx].start, sizeof(j.slot));
        for (int p = 0; p < 2; p++)
            hm_strlcpy(j.sessions[p], a->s.parties[p].session, sizeof(j.sessions[p]));
        wait_for(a, &j);
    } else if (a->screen == KU_SCR_M_SUMMARY && a->s.resched && strcmp(id, "reschedule") == 0) {
        struct ku_job j = { .kind = KU_JOB_APPT_RESCHEDULE };
        const struct ku_day *d = &a->s.m.days[a->s.day_idx];

        hm_strlcpy(j.ticket, a->s.m.appts[a->s.appt_idx].t, sizeof(j.ticket));
        hm_strlcpy(j.service, a->s.m.appts[a->s.appt_idx].service, sizeof(j.service));
        hm_strlcpy(j.office, a->s.m.appts[a->s.appt_idx].office, sizeof(j.office));
        hm_strlcpy(j.date, d->date, sizeof(j.date));
        hm_strlcpy(j.slot, d->slots[a->s.slot_idx].start, sizeof(j.slot));
        for (int p = 0; p < parties_needed(a); p++)
            hm_strlcpy(j.sessions[p], a->s.parties[p].session, sizeof(j.sessions[p]));
        wait_for(a, &j);
    } else if (a->screen == KU_SCR_M_REFUSED && strcmp(id, "choose-again") == 0) {
        if (a->s.refetch_mine)
            ask_mine(a);
        else if (a->s.refuse_back == KU_SCR_M_DATE)
            ask_days(a); /* fresh free places */
        else if (a->s.refuse_back == KU_SCR_M_MRZ)
            type_mrz(a, a->s.for_mine, a->s.party);
        else
            ku_app_go(a, a->s.refuse_back);
    } else if (a->screen == KU_SCR_M_MINE && idx_arg(id, "cancel-", (long)a->s.m.n_appts - 1, &i) &&
               strcmp(a->s.m.appts[i].status, "booked") == 0) {
        a->s.appt_idx = (int)i;
        ku_app_go(a, KU_SCR_M_CANCEL);
    } else if (a->screen == KU_SCR_M_MINE &&
               idx_arg(id, "resched-", (long)a->s.m.n_appts - 1, &i) &&
               strcmp(a->s.m.appts[i].status, "booked") == 0) {
        /* 改约: everyone the appointment names must be here, as for booking it. */
        a->s.appt_idx = (int)i;
        a->s.resched = true;
        hm_wipe(&a->s.parties[1], sizeof(a->s.parties[1]));
        if (parties_needed(a) == 2)
            type_mrz(a, false, 1);
        else
            ask_days(a);
    } else if (a->screen == KU_SCR_M_CANCEL && strcmp(id, "cancel-yes") == 0) {
        struct ku_job j = { .kind = KU_JOB_APPT_CANCEL };

        hm_strlcpy(j.ticket, a->s.m.appts[a->s.appt_idx].t, sizeof(j.ticket));
        hm_strlcpy(j.sessions[0], a->s.parties[0].session, sizeof(j.sessions[0]));
        wait_for(a, &j);
    } else if (a->screen == KU_SCR_M_CANCEL && strcmp(id, "keep") == 0) {
        ku_app_go(a, KU_SCR_M_MINE);
    } else {
        return false;
    }
    return true;
}

void ku_m_card_inserted(ku_app *a)
{
    if (a->screen == KU_SCR_M_IDCARD)
        read_id(a);
}

/* Cards come and go in these flows (two people, one reader): only a read cut short matters. */
void ku_m_card_removed(ku_app *a, int reader)
{
    if (a->screen == KU_SCR_M_IDREAD && reader == a->s.id_reader) {
        a->waiting_seq = 0;
        a->s.id_pulled = true;
        ku_app_go(a, KU_SCR_M_IDCARD);
    }
}

/* ---- samples for --render-all and tests ---------------------------------------------- */

static void sample_data(ku_app *a)
{
    ku_fake_mdata(&a->s.m);
    hm_strlcpy(a->s.parties[0].session, "S-li", sizeof(a->s.parties[0].session));
    hm_strlcpy(a->s.parties[0].name, "李娜", sizeof(a->s.parties[0].name));
    hm_strlcpy(a->s.parties[0].id_masked, "320***********0046", sizeof(a->s.parties[0].id_masked));
    a->s.parties[0].sex = 'F';
    hm_strlcpy(a->s.parties[1].session, "S-wang", sizeof(a->s.parties[1].session));
    hm_strlcpy(a->s.parties[1].name, "王建国", sizeof(a->s.parties[1].name));
    hm_strlcpy(a->s.parties[1].id_masked, "330***********0034", sizeof(a->s.parties[1].id_masked));
    a->s.parties[1].sex = 'M';
    a->s.day_idx = 3;
    a->s.slot_idx = 1;
}

void ku_m_sample(ku_app *a, enum ku_screen s, int variant)
{
    sample_data(a);
    switch (s) {
    case KU_SCR_M_MRZ: /* 0: the letters page; 1: a wrong number, the digits; 2: 改约 */
        hm_strlcpy(a->s.mrz[0], variant ? "HA2468013" : "HA", sizeof(a->s.mrz[0]));
        hm_strlcpy(a->s.mrz[1], variant ? "9208" : "", sizeof(a->s.mrz[1]));
        a->s.mrz_field = variant ? 1 : 0;
        a->s.mrz_digits = variant != 0;
        a->s.party = variant ? 1 : 0;
        a->s.mrz_wrong = variant == 1;
        a->s.resched = variant == 2;
        break;
    case KU_SCR_M_IDCARD:
        a->s.id_pulled = variant == 1;
        a->s.party = variant == 2 ? 1 : 0;
        a->s.resched = variant == 2;
        break;
    case KU_SCR_M_DATE:
    case KU_SCR_M_SLOT:
    case KU_SCR_M_SUMMARY:
    case KU_SCR_M_TICKET: /* variant 1: 改约 of the first appointment, to Monday 10:00 */
        a->s.resched = variant == 1;
        a->s.appt_idx = 0;
        if (variant == 1) {
            a->s.day_idx = 5;
            a->s.slot_idx = 3;
            hm_strlcpy(a->s.m.ticket.date, "2026-12-07", sizeof(a->s.m.ticket.date));
            hm_strlcpy(a->s.m.ticket.slot, "10:00", sizeof(a->s.m.ticket.slot));
        }
        break;
    case KU_SCR_M_MINE:
    case KU_SCR_M_CANCEL:
    case KU_SCR_M_CANCELLED:
        hm_wipe(&a->s.parties[1], sizeof(a->s.parties[1])); /* 我的预约 reads one card */
        break;
    case KU_SCR_M_REFUSED:
        if (variant == 2) { /* the answer to a change was lost */
            a->s.resched = true;
            refuse_unknown(a, KU_M_M_MAYBE_RESCHEDULED);
        } else if (variant == 1) {
            a->s.refuse_own = KU_M_M_NETWORK;
            a->s.refuse_next = KU_M_M_NEXT_TRY_LATER;
            a->s.refuse_back = KU_SCR_HOME;
        } else {
            hm_strlcpy(a->s.refuse_zh, "该时段已约满，请选择其他时段。", sizeof(a->s.refuse_zh));
            hm_strlcpy(a->s.refuse_en, "This slot is fully booked; please choose another.",
                       sizeof(a->s.refuse_en));
            a->s.refuse_next = KU_M_M_NEXT_SLOT;
            a->s.refuse_back = KU_SCR_M_DATE;
        }
        break;
    default:
        break;
    }
}
