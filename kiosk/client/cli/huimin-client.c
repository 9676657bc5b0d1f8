/* huimin-client: the kiosk client library on the command line, for scripts and staff debugging
 * (status, confirm, dispute, sync, journal; ID sessions and marriage-registration appointments;
 * calling staff). */
#include "kc/client.h"
#include "qr_png.h"

#include "cl/card.h"
#include "hm/log.h"
#include "hm/util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    EXIT_USAGE = 1,   /* unknown command or option, bad argument, unusable configuration */
    EXIT_ENV = 2,     /* no reader, card or server; or a confirmation queued in the journal */
    EXIT_REFUSED = 3, /* the server (or the card: wrong PIN) refused */
    EXIT_VERIFY = 4,  /* an answer or the card failed verification */
};

#define PATH_CAP 1024

/* Options without a short form (the appointment commands'). */
enum {
    OPT_CSCA = 256,
    OPT_CACHE_HOURS,
    OPT_DOC,
    OPT_BIRTH,
    OPT_EXPIRY,
    OPT_OFFICE,
    OPT_SERVICE,
    OPT_FROM,
    OPT_DAYS,
    OPT_DATE,
    OPT_SLOT,
    OPT_PARTY,
    OPT_TICKET,
    OPT_ID_SESSION,
    OPT_TICKET_FILE,
    OPT_QR,
    OPT_TICKET_OUT,
    OPT_SCREEN,
    OPT_SESSION,
    OPT_CARD,
};

struct opts {
    const char *command;
    char conf_dir[PATH_CAP];
    char server[512], cert[PATH_CAP], key[PATH_CAP], cacert[PATH_CAP], signing[PATH_CAP];
    char kiosk[64], journal[PATH_CAP], issuer_ca[PATH_CAP], pin_pub[256], csca_dir[PATH_CAP];
    char cache_hours[16]; /* status_cache_hours: "" the default (72), "0" no status kept */
    const char *reader, *payment, *reason, *note, *pin, *period;
    /* appointments */
    const char *doc, *birth, *expiry, *office, *service, *from, *date, *slot, *ticket;
    const char *id_session, *ticket_file, *qr, *ticket_out;
    /* staff-call */
    const char *screen, *session;
    bool card;
    const char *party[2];
    size_t n_party;
    bool json, tap, verbose;
    long wait_s, amount_fen, days;
};

static int usage_error(struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void json_out(json_t *v)
{
    if (!v)
        return;
    json_dumpf(v, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(v);
}

static int usage_error(struct opts *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "huimin-client%s%s: %s\nTry 'huimin-client --help'.\n", o->command ? " " : "",
            o->command ? o->command : "", msg);
    if (o->json)
        json_out(json_pack("{s:{s:s,s:s}}", "error", "code", "usage", "message", msg));
    return EXIT_USAGE;
}

static int exit_for(kc_rc rc)
{
    switch (rc) {
    case KC_OK:
        return 0;
    case KC_E_INVALID_ARG:
    case KC_E_CONFIG:
        return EXIT_USAGE;
    case KC_E_NETWORK:
    case KC_E_QUEUED:
    case KC_E_NO_CARD:
    case KC_E_JOURNAL:
    case KC_E_NO_MEMORY:
        return EXIT_ENV;
    case KC_E_VERIFY:
        return EXIT_VERIFY;
    default:
        return EXIT_REFUSED;
    }
}

/* Reports a failure on stderr (and as JSON); returns the exit code. */
static int fail(struct opts *o, kc_client *c, kc_rc rc, const char *what)
{
    const struct kc_error *e = c ? kc_last_error(c) : NULL;

    fprintf(stderr, "huimin-client %s: %s: %s\n", o->command, what,
            e && e->failed_check[0] ? "the card failed the kiosk's own check" : kc_strerror(rc));
    if (e && e->code[0]) {
        fprintf(stderr, "  %s\n  %s\n  (server code %s, HTTP %d)\n", e->message, e->message_en,
                e->code, e->http_status);
        if (e->detail[0] && o->verbose)
            fprintf(stderr, "  detail: %s\n", e->detail);
    }
    if (e && e->text[0])
        fprintf(stderr, "  %s\n", e->text);
    if (rc == KC_E_PIN_INCORRECT && e && e->tries_left >= 0)
        fprintf(stderr,
                "  Wrong PIN: %d tries left. Nothing was sent. / 密码错误，还可以再试 %d 次。\n",
                e->tries_left, e->tries_left);
    if (rc == KC_E_PIN_BLOCKED)
        fprintf(stderr, "  The PIN is blocked: unblock it with the PUK at the service desk.\n");
    if (rc == KC_E_QUEUED)
        fprintf(stderr,
                "  QUEUED: the card signed the confirmation and it is kept in the journal;\n"
                "  'huimin-client sync' delivers it when the server can be reached.\n");
    if (rc == KC_E_NETWORK)
        fprintf(stderr, "  Check the network and that huimin-server is running, then retry.\n");
    if (e && e->failed_check[0])
        fprintf(stderr,
                "  证件未通过本机核验（%s），未发送任何数据，请联系工作人员。\n"
                "  The card failed the kiosk's own check (%s); nothing was sent. Call staff.\n",
                e->failed_check, e->failed_check);
    if (rc == KC_E_CARD && e && e->card_rc == (int)CL_E_AUTH_FAILED)
        fprintf(stderr, "  无法打开证件芯片：请核对证件号码、出生日期和有效期限。\n"
                        "  Access denied: check the document number, date of birth and date "
                        "of expiry.\n");
    if (e && e->detail[0] && !o->verbose &&
        (strcmp(e->code, "booking_not_open") == 0 || strcmp(e->code, "id_not_genuine") == 0))
        fprintf(stderr, "  detail: %s\n", e->detail);
    if (o->json) {
        json_t *err = json_pack("{s:s,s:s,s:s}", "code", e && e->code[0] ? e->code : kc_rc_name(rc),
                                "message", e && e->message[0] ? e->message : kc_strerror(rc),
                                "context", what);

        if (e && e->message_en[0])
            json_object_set_new(err, "message_en", json_string(e->message_en));
        if (e && e->text[0])
            json_object_set_new(err, "text", json_string(e->text));
        if (rc == KC_E_PIN_INCORRECT && e)
            json_object_set_new(err, "tries_left", json_integer(e->tries_left));
        if (e && e->detail[0])
            json_object_set_new(err, "detail", json_string(e->detail));
        if (e && e->failed_check[0])
            json_object_set_new(err, "failed_check", json_string(e->failed_check));
        if (e && e->http_status)
            json_object_set_new(err, "http_status", json_integer(e->http_status));
        json_object_set_new(err, "queued", json_boolean(rc == KC_E_QUEUED));
        json_out(json_pack("{s:o}", "error", err));
    }
    return exit_for(rc);
}

/* ---- configuration ---------------------------------------------------------- */

/* False when the joined path does not fit. */
static bool set_path(char *dst, size_t cap, const char *dir, const char *v)
{
    if (v[0] == '/' || !dir[0])
        return hm_strlcpy(dst, v, cap) < cap;
    return (size_t)snprintf(dst, cap, "%s/%s", dir, v) < cap;
}

/* The settings a configuration file and the command line share: one table for both. */
struct setting {
    const char *key; /* in the file */
    int opt;         /* getopt_long's code for --key */
    size_t off, cap; /* the field in struct opts */
    bool path;       /* relative to the file's folder */
};

#define SETTING(k, o, field, is_path)                                                  \
    {                                                                                  \
        k, o, offsetof(struct opts, field), sizeof(((struct opts *)0)->field), is_path \
    }
static const struct setting settings[] = {
    SETTING("server", 'S', server, false),
    SETTING("cert", 'c', cert, true),
    SETTING("key", 'k', key, true),
    SETTING("cacert", 'A', cacert, true),
    SETTING("signing_cert", 'G', signing, true),
    SETTING("kiosk", 'K', kiosk, false),
    SETTING("journal", 'J', journal, true),
    SETTING("issuer_ca", 'I', issuer_ca, true),
    SETTING("pinned_pubkey", 'Y', pin_pub, false),
    SETTING("csca_dir", OPT_CSCA, csca_dir, true),
    SETTING("status_cache_hours", OPT_CACHE_HOURS, cache_hours, false),
};
#undef SETTING

/* Sets one; false when the value (or the joined path) does not fit. */
static bool apply_setting(struct opts *o, const struct setting *st, const char *dir, const char *v)
{
    char *dst = (char *)o + st->off;
    return st->path ? set_path(dst, st->cap, dir, v) : hm_strlcpy(dst, v, st->cap) < st->cap;
}

/* key = value lines ('#' comments); relative paths are relative to the file's folder. */
static int load_config(struct opts *o, const char *file)
{
    FILE *f = fopen(file, "r");
    char line[2048], dir[PATH_CAP];
    const char *slash = strrchr(file, '/');
    int lineno = 0;

    if (!f)
        return usage_error(o, "cannot open the configuration '%s'", file);
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    else
        hm_strlcpy(dir, ".", sizeof(dir));
    while (fgets(line, sizeof(line), f)) {
        char *k = line, *v, *end;
        bool ok = true;

        lineno++;
        while (*k == ' ' || *k == '\t')
            k++;
        if (*k == '#' || *k == ';' || *k == '\n' || *k == '\0' || *k == '[')
            continue;
        v = strchr(k, '=');
        if (!v) {
            fclose(f);
            return usage_error(o, "%s:%d: expected key = value", file, lineno);
        }
        end = v;
        *v++ = '\0';
        while (end > k && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        end = v + strlen(v);
        while (end > v && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
            *--end = '\0';
        const struct setting *st = NULL;
        for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]) && !st; i++)
            if (strcmp(k, settings[i].key) == 0)
                st = &settings[i];
        if (!st) {
            fclose(f);
            return usage_error(o, "%s:%d: unknown key '%s'", file, lineno, k);
        }
        ok = apply_setting(o, st, dir, v);
        if (!ok) {
            fclose(f);
            return usage_error(o, "%s:%d: the value of %s is too long", file, lineno, k);
        }
    }
    fclose(f);
    return 0;
}

static void help(void)
{
    printf(
        "Usage: huimin-client COMMAND [OPTIONS]\n"
        "The kiosk's client of huimin-server, for scripts and staff debugging.\n\n"
        "Benefits (the welfare card on the reader):\n"
        "  status                          tap the card: the resident's entitlements and "
        "payments\n"
        "  confirm --payment P [--pin PIN] [--tap]\n"
        "                                  confirm that payment P arrived (PIN from --pin,\n"
        "                                  $HUIMIN_PIN or stdin; --tap: 9E, tap-only residents)\n"
        "          [--amount-fen N --period YYYY-MM]\n"
        "                                  for a payment not in the resident's status: the\n"
        "                                  statement names these (the server judges it)\n"
        "  dispute --payment P --reason R [--note TEXT]\n"
        "                                  R: not_received, wrong_amount or other\n"
        "  sync                            deliver the confirmations waiting in the journal\n"
        "  journal                         list the journal's entries\n\n"
        "Marriage-registration appointments (婚姻登记预约):\n"
        "  id-session --doc N --birth YYMMDD --expiry YYMMDD [--reader R]\n"
        "                                  read the ID card on the reader (BAC, Passive and\n"
        "                                  Active Authentication over a server nonce) and open\n"
        "                                  an ID session; prints its id (the ID number masked)\n"
        "  offices                         the marriage registration offices\n"
        "  availability --office O --service S --from YYYY-MM-DD [--days N]\n"
        "                                  free places per slot (N 1..31, default 7)\n"
        "  book --service S --office O --date YYYY-MM-DD --slot HH:MM --party S_A\n"
        "       [--party S_B] [--qr FILE.png] [--ticket-out FILE]\n"
        "                                  book for the people whose ID sessions are given\n"
        "                                  (two, or one for reissue); the signed ticket as\n"
        "                                  a QR code PNG and/or as text\n"
        "  cancel --ticket T --id-session S\n"
        "                                  cancel appointment T (S: one of its parties)\n"
        "  reschedule --ticket T --id-session S_A [--party S_B] --date YYYY-MM-DD\n"
        "             --slot HH:MM [--qr FILE.png] [--ticket-out FILE]\n"
        "                                  move it (a new ticket; the old one is void); the\n"
        "                                  parties present, as for book\n"
        "  mine --id-session S             the person's appointments\n"
        "  check-in --ticket-file F | --id-session S\n"
        "                                  check in on the day, at a kiosk of the office\n"
        "  Services: marriage (结婚登记), divorce_apply (离婚登记申请), divorce_confirm\n"
        "  (离婚登记确认), reissue (补领婚姻登记证, one party).\n\n"
        "Calling staff (呼叫工作人员):\n"
        "  staff-call --reason R [--screen S] [--session ID | --card]\n"
        "                                  call hall staff to this kiosk; R: help,\n"
        "                                  card_problem, pin_blocked, dispute or other; S the\n"
        "                                  screen's name (a-z, 0-9, -, _); with a card session\n"
        "                                  (an id, or --card: tap the card now) the staff see\n"
        "                                  who called. A call again within 120 s while the\n"
        "                                  last one is open is that same call\n\n"
        "Options:\n"
        "  --config FILE      key = value: server, cert, key, cacert, signing_cert, kiosk,\n"
        "                     journal, issuer_ca, pinned_pubkey, csca_dir,\n"
        "                     status_cache_hours (paths relative to FILE)\n"
        "  --server URL --cert FILE --key FILE --cacert FILE --signing-cert FILE\n"
        "  --kiosk ID --journal FILE --issuer-ca FILE --pinned-pubkey sha256//...\n"
        "  --csca-dir DIR     CSCA certificates and CRLs: ID cards are checked here too,\n"
        "                     and a forged or cloned one is refused before it is sent\n"
        "  --status-cache-hours N  keep each card's last status N hours (default 72, 0 off)\n"
        "                     to show it while the server cannot be reached\n"
        "  --reader NAME|N    the reader (default: the first with a card)\n"
        "  --wait SECONDS     wait that long for a card\n"
        "  --json             one JSON object per line on stdout\n"
        "  --verbose          more detail on failures\n\n"
        "Exit codes: 0 ok; 1 usage or configuration; 2 no reader, card or server, or a\n"
        "confirmation QUEUED in the journal (deliver it with sync), or a booking whose\n"
        "answer was lost (see 'mine'); 3 refused by the server (its code and message are\n"
        "printed: slot_full, under_age ...) or by the card (wrong PIN, wrong MRZ numbers);\n"
        "4 an answer, a ticket or the card failed verification (an ID card the kiosk finds\n"
        "forged or cloned: call staff).\n");
}

static int parse(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "config", required_argument, NULL, 'C' },
        { "server", required_argument, NULL, 'S' },
        { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "cacert", required_argument, NULL, 'A' },
        { "signing-cert", required_argument, NULL, 'G' },
        { "kiosk", required_argument, NULL, 'K' },
        { "journal", required_argument, NULL, 'J' },
        { "issuer-ca", required_argument, NULL, 'I' },
        { "pinned-pubkey", required_argument, NULL, 'Y' },
        { "reader", required_argument, NULL, 'r' },
        { "wait", required_argument, NULL, 'w' },
        { "payment", required_argument, NULL, 'p' },
        { "reason", required_argument, NULL, 'R' },
        { "note", required_argument, NULL, 'N' },
        { "pin", required_argument, NULL, 'P' },
        { "tap", no_argument, NULL, 't' },
        { "amount-fen", required_argument, NULL, 'F' },
        { "period", required_argument, NULL, 'D' },
        { "csca-dir", required_argument, NULL, OPT_CSCA },
        { "status-cache-hours", required_argument, NULL, OPT_CACHE_HOURS },
        { "doc", required_argument, NULL, OPT_DOC },
        { "birth", required_argument, NULL, OPT_BIRTH },
        { "expiry", required_argument, NULL, OPT_EXPIRY },
        { "office", required_argument, NULL, OPT_OFFICE },
        { "service", required_argument, NULL, OPT_SERVICE },
        { "from", required_argument, NULL, OPT_FROM },
        { "days", required_argument, NULL, OPT_DAYS },
        { "date", required_argument, NULL, OPT_DATE },
        { "slot", required_argument, NULL, OPT_SLOT },
        { "party", required_argument, NULL, OPT_PARTY },
        { "ticket", required_argument, NULL, OPT_TICKET },
        { "id-session", required_argument, NULL, OPT_ID_SESSION },
        { "ticket-file", required_argument, NULL, OPT_TICKET_FILE },
        { "qr", required_argument, NULL, OPT_QR },
        { "ticket-out", required_argument, NULL, OPT_TICKET_OUT },
        { "screen", required_argument, NULL, OPT_SCREEN },
        { "session", required_argument, NULL, OPT_SESSION },
        { "card", no_argument, NULL, OPT_CARD },
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, rc;

    optind = 1;
    opterr = 0;
    /* --config first, so that options on the command line override it. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && (rc = load_config(o, argv[i + 1])) != 0)
            return rc;
    while ((ch = getopt_long(argc, argv, ":r:w:jvh", lo, NULL)) != -1) {
        switch (ch) {
        case 'C':
            break;
        case 'r':
            o->reader = optarg;
            break;
        case 'w':
            if (!hm_parse_long(optarg, 0, 3600, &o->wait_s))
                return usage_error(o, "--wait takes seconds (0 to 3600), not '%s'", optarg);
            break;
        case 'p':
            o->payment = optarg;
            break;
        case 'R':
            o->reason = optarg;
            break;
        case 'N':
            o->note = optarg;
            break;
        case 'P':
            o->pin = optarg;
            break;
        case 't':
            o->tap = true;
            break;
        case 'F':
            if (!hm_parse_long(optarg, 1, 100000000, &o->amount_fen))
                return usage_error(o, "--amount-fen takes a positive number of fen, not '%s'",
                                   optarg);
            break;
        case 'D':
            o->period = optarg;
            break;
        case OPT_DOC:
            o->doc = optarg;
            break;
        case OPT_BIRTH:
            o->birth = optarg;
            break;
        case OPT_EXPIRY:
            o->expiry = optarg;
            break;
        case OPT_OFFICE:
            o->office = optarg;
            break;
        case OPT_SERVICE:
            o->service = optarg;
            break;
        case OPT_FROM:
            o->from = optarg;
            break;
        case OPT_DAYS:
            if (!hm_parse_long(optarg, 1, 31, &o->days))
                return usage_error(o, "--days takes 1 to 31, not '%s'", optarg);
            break;
        case OPT_DATE:
            o->date = optarg;
            break;
        case OPT_SLOT:
            o->slot = optarg;
            break;
        case OPT_PARTY:
            if (o->n_party == 2)
                return usage_error(o, "at most two --party (the two people at the kiosk)");
            o->party[o->n_party++] = optarg;
            break;
        case OPT_TICKET:
            o->ticket = optarg;
            break;
        case OPT_ID_SESSION:
            o->id_session = optarg;
            break;
        case OPT_TICKET_FILE:
            o->ticket_file = optarg;
            break;
        case OPT_QR:
            o->qr = optarg;
            break;
        case OPT_TICKET_OUT:
            o->ticket_out = optarg;
            break;
        case OPT_SCREEN:
            o->screen = optarg;
            break;
        case OPT_SESSION:
            o->session = optarg;
            break;
        case OPT_CARD:
            o->card = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            help();
            return -1;
        case ':':
            return usage_error(o, "option '%s' needs a value", argv[optind - 1]);
        default: {
            const struct setting *st = NULL;
            for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]) && !st; i++)
                if (ch == settings[i].opt)
                    st = &settings[i];
            if (!st)
                return usage_error(o, "unknown option '%s'", argv[optind - 1]);
            if (!apply_setting(o, st, "", optarg)) {
                const char *name = st->key;
                for (const struct option *l = lo; l->name; l++)
                    if (l->val == ch)
                        name = l->name;
                return usage_error(o, "the value of --%s is too long", name);
            }
            break;
        }
        }
    }
    if (optind != argc)
        return usage_error(o, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int open_client(struct opts *o, kc_client **c)
{
    const char *drop = getenv("HUIMIN_CLIENT_TEST_DROP");
    const char *alter = getenv("HUIMIN_CLIENT_TEST_ALTER");
    const char *tamper = getenv("HUIMIN_CLIENT_TEST_TAMPER_ANSWER");
    struct kc_config cfg = {
        .server_url = o->server,
        .cert_file = o->cert,
        .key_file = o->key,
        .ca_file = o->cacert,
        .signing_cert = o->signing,
        .pinned_pubkey = o->pin_pub[0] ? o->pin_pub : NULL,
        .issuer_ca = o->issuer_ca[0] ? o->issuer_ca : NULL,
        .csca_dir = o->csca_dir[0] ? o->csca_dir : NULL,
        .kiosk_id = o->kiosk,
        .journal_path = o->journal,
        .test_drop_confirmation = drop && strcmp(drop, "1") == 0,
        .test_alter_statement = alter && strcmp(alter, "1") == 0,
        /* "1": every answer; "/v1/...": that path's answers only. */
        .test_tamper_answer = !tamper || !tamper[0] || strcmp(tamper, "0") == 0 ? NULL
                              : strcmp(tamper, "1") == 0                        ? "*"
                                                                                : tamper,
    };
    long hours = 72;
    kc_rc rc;

    if (o->cache_hours[0] && !hm_parse_long(o->cache_hours, 0, 8760, &hours))
        return usage_error(o, "status_cache_hours is 0 (off) to 8760, not '%s'", o->cache_hours);
    cfg.status_cache_hours = hours ? (int)hours : -1;
    if (!o->server[0] || !o->cert[0] || !o->key[0] || !o->cacert[0] || !o->signing[0] ||
        !o->kiosk[0] || !o->journal[0])
        return usage_error(o, "need --server, --cert, --key, --cacert, --signing-cert, --kiosk "
                              "and --journal (or --config FILE)");
    rc = kc_client_new(&cfg, c);
    if (rc != KC_OK) {
        fprintf(stderr, "huimin-client %s: cannot start the client: %s\n", o->command,
                kc_strerror(rc));
        return exit_for(rc);
    }
    return 0;
}

/* ---- the card --------------------------------------------------------------- */

static int card_fail(struct opts *o, cl_rc rc, const char *what)
{
    fprintf(stderr, "huimin-client %s: %s: %s\n", o->command, what, cl_strerror(rc));
    if (rc == CL_E_NO_CARD)
        fprintf(stderr, "Place the card on the reader and try again (--wait SECONDS waits).\n");
    if (o->json)
        json_out(json_pack("{s:{s:s,s:s,s:s}}", "error", "code", cl_rc_name(rc), "message",
                           cl_strerror(rc), "context", what));
    return EXIT_ENV;
}

static int connect_card(struct opts *o, cl_ctx **ctx, cl_card **card)
{
    struct cl_reader_info r[CL_READERS_MAX];
    uint64_t deadline = hm_now_ms() + (uint64_t)o->wait_s * 1000u;
    cl_rc rc = cl_ctx_new_pcsc(ctx);

    if (rc != CL_OK)
        return card_fail(o, rc, "cannot reach the smart-card service");
    for (;;) {
        size_t n = 0, idx = 0;
        bool found = false;
        unsigned long want;

        rc = cl_ctx_list_readers(*ctx, r, HM_ARRAY_SIZE(r), &n);
        if (rc == CL_OK && n == 0)
            rc = CL_E_NO_READERS;
        for (size_t i = 0; rc == CL_OK && i < n && !found; i++) {
            if (o->reader && !(hm_parse_ulong(o->reader, CL_READERS_MAX - 1, &want)
                                   ? want == i
                                   : strcmp(r[i].name, o->reader) == 0))
                continue;
            if (r[i].state & CL_READER_PRESENT) {
                idx = i;
                found = true;
            }
        }
        if (found) {
            rc = cl_card_connect(*ctx, r[idx].name, CL_SHARE_SHARED, card);
            if (rc == CL_OK)
                return 0;
        } else if (rc == CL_OK) {
            rc = CL_E_NO_CARD;
        }
        if ((rc != CL_E_NO_CARD && rc != CL_E_NO_READERS && rc != CL_E_CARD_REMOVED) ||
            hm_now_ms() >= deadline)
            break;
        hm_sleep_ms(100);
    }
    return card_fail(o, rc, "cannot connect to the card");
}

static bool read_pin(const char *given, char *buf, size_t cap)
{
    const char *e = getenv("HUIMIN_PIN");
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO);
    size_t n;

    if (given)
        return hm_strlcpy(buf, given, cap) < cap;
    if (e)
        return hm_strlcpy(buf, e, cap) < cap;
    if (tty) {
        fprintf(stderr, "PIN: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (!fgets(buf, (int)cap, stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return n > 0;
}

/* Taps the card and opens a session: 0 or an exit code. */
static int tap(struct opts *o, kc_client *c, cl_ctx **ctx, cl_card **card, struct kc_session *s)
{
    int ret = connect_card(o, ctx, card);
    kc_rc rc;

    if (ret)
        return ret;
    rc = kc_tap(c, *card, s);
    if (rc != KC_OK)
        return fail(o, c, rc, "the card session was not opened");
    if (!o->json)
        printf("Card session for %s (%s), verified.\n", s->holder, s->welfare_no);
    return 0;
}

static void money(int64_t fen, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%lld.%02lld", fen < 0 ? "-" : "", (long long)(fen < 0 ? -fen : fen) / 100,
             (long long)(fen < 0 ? -fen : fen) % 100);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static void print_status(json_t *st)
{
    json_t *res = json_object_get(st, "resident"), *v;
    size_t i;
    char m[32];

    printf("Resident: %s  welfare no. %s%s\n", jstr(res, "name"), jstr(res, "welfare_no"),
           json_is_true(json_object_get(res, "tap_only")) ? "  (tap only)" : "");
    printf("Entitlements:\n");
    json_array_foreach(json_object_get(st, "entitlements"), i, v)
    {
        money(json_integer_value(json_object_get(v, "amount_fen")), m, sizeof(m));
        printf("  %-10s %s  %s yuan/%s  %s\n", jstr(v, "id"), jstr(v, "programme_name"), m,
               jstr(v, "period"), jstr(v, "status"));
    }
    printf("Payments:\n");
    json_array_foreach(json_object_get(st, "payments"), i, v)
    {
        money(json_integer_value(json_object_get(v, "amount_fen")), m, sizeof(m));
        printf("  %-20s %s  %s  %s yuan  %s %s  %s\n", jstr(v, "id"), jstr(v, "period"),
               jstr(v, "programme_name"), m, jstr(v, "channel"), jstr(v, "account"),
               jstr(v, "status"));
    }
    printf("Awaiting confirmation:");
    json_array_foreach(json_object_get(st, "awaiting_confirmation"), i, v)
        printf(" %s", json_string_value(v) ? json_string_value(v) : "?");
    money(json_integer_value(json_object_get(st, "year_total_fen")), m, sizeof(m));
    printf("\nThis year: %s yuan. (signed by the server, verified)\n", m);
}

static int cmd_status(struct opts *o, kc_client *c)
{
    struct kc_session s;
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    json_t *st = NULL;
    int ret = tap(o, c, &ctx, &card, &s);
    kc_rc rc;

    if (ret)
        goto out;
    rc = kc_status(c, &s, &st);
    if (rc != KC_OK) {
        ret = fail(o, c, rc, "no status");
        goto out;
    }
    if (o->json) {
        json_object_set_new(st, "verified", json_true());
        json_out(st);
    } else {
        print_status(st);
        json_decref(st);
    }
out:
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return ret;
}

static void print_receipt(struct opts *o, const struct kc_receipt *r, const char *note)
{
    char m[32];

    if (o->json) {
        json_out(json_pack("{s:s,s:s,s:s,s:I,s:s,s:b,s:s,s:b}", "receipt", r->id, "payment",
                           r->payment, "period", r->period, "amount_fen", (json_int_t)r->amount_fen,
                           "proof", r->proof, "again", r->again, "token", r->token, "verified", 1));
        return;
    }
    money(r->amount_fen, m, sizeof(m));
    printf("%s\nReceipt %s: payment %s (%s), %s yuan, proof %s (signed by the server, verified)\n"
           "Token: %s\n",
           note, r->id, r->payment, r->period, m, r->proof, r->token);
}

static int cmd_confirm(struct opts *o, kc_client *c)
{
    struct kc_session s;
    struct kc_payment p = { .id = o->payment };
    struct kc_receipt r;
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    json_t *st = NULL, *v;
    char pin[32], period[16] = "";
    size_t i;
    bool have_pin = false, found = false;
    int ret;
    kc_rc rc;

    if (!o->payment)
        return usage_error(o, "confirm needs --payment P");
    if (!o->tap) {
        have_pin = read_pin(o->pin, pin, sizeof(pin));
        if (!have_pin) {
            hm_wipe(pin, sizeof(pin));
            return usage_error(o, "a PIN is needed (--pin, $HUIMIN_PIN or stdin; or --tap)");
        }
    }
    ret = tap(o, c, &ctx, &card, &s);
    if (ret)
        goto out;
    rc = kc_status(c, &s, &st);
    if (rc != KC_OK) {
        ret = fail(o, c, rc, "no status");
        goto out;
    }
    /* The statement names the amount and period the resident was shown. */
    json_array_foreach(json_object_get(st, "payments"), i, v)
    {
        if (strcmp(jstr(v, "id"), o->payment) == 0) {
            p.amount_fen = json_integer_value(json_object_get(v, "amount_fen"));
            hm_strlcpy(period, jstr(v, "period"), sizeof(period));
            found = true;
        }
    }
    json_decref(st);
    if (!found && o->amount_fen > 0 && o->period) {
        /* Not shown to this resident: the statement names what the caller says. */
        p.amount_fen = o->amount_fen;
        hm_strlcpy(period, o->period, sizeof(period));
        found = true;
    }
    if (!found) {
        ret = usage_error(o,
                          "payment %s is not among this resident's payments (--amount-fen and "
                          "--period send it anyway)",
                          o->payment);
        goto out;
    }
    p.period = period;
    rc = kc_confirm(c, card, &s, &p, have_pin ? pin : NULL, &r);
    if (rc == KC_OK) {
        print_receipt(o, &r,
                      r.again ? "Already confirmed: the server returned the same receipt."
                              : "Confirmed. / 确认成功。");
    } else {
        if (rc == KC_E_REFUSED && r.id[0] && !o->json)
            printf("Confirmed earlier: receipt %s\n", r.id);
        ret = fail(o, c, rc,
                   rc == KC_E_QUEUED ? "the confirmation is queued"
                                     : "the payment was not confirmed");
    }
out:
    hm_wipe(pin, sizeof(pin));
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return ret;
}

static int cmd_dispute(struct opts *o, kc_client *c)
{
    struct kc_session s;
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    json_t *d = NULL;
    int ret;
    kc_rc rc;

    if (!o->payment || !o->reason)
        return usage_error(o, "dispute needs --payment P and --reason R");
    ret = tap(o, c, &ctx, &card, &s);
    if (ret)
        goto out;
    rc = kc_dispute(c, &s, o->payment, o->reason, o->note, &d);
    if (rc != KC_OK) {
        ret = fail(o, c, rc, "the dispute was not recorded");
        goto out;
    }
    if (o->json) {
        json_object_set_new(d, "verified", json_true());
        json_out(d);
    } else {
        printf("Dispute %s opened for payment %s; hall staff will follow it up. (verified)\n",
               jstr(d, "dispute"), jstr(d, "payment"));
        json_decref(d);
    }
out:
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return ret;
}

static int cmd_sync(struct opts *o, kc_client *c)
{
    struct kc_sync_result r;
    kc_rc rc = kc_sync(c, &r);

    if (o->json)
        json_out(json_pack("{s:i,s:i,s:i,s:s}", "delivered", r.delivered, "refused", r.refused,
                           "pending", r.pending, "result", kc_rc_name(rc)));
    else
        printf("Delivered %d, refused %d, still pending %d.\n", r.delivered, r.refused, r.pending);
    if (rc != KC_OK && rc != KC_E_REFUSED)
        return fail(o, c, rc, "the journal was not fully delivered");
    return rc == KC_E_REFUSED ? EXIT_REFUSED : 0;
}

static bool list_entry(void *arg, const struct kc_entry *e)
{
    struct opts *o = arg;

    if (o->json)
        json_out(json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:s,s:s,s:I}", "id", (json_int_t)e->id,
                           "created", (json_int_t)e->created, "payment", e->payment, "statement",
                           e->statement_hash, "state", kc_entry_state_name(e->state), "attempts",
                           e->attempts, "last_error", e->last_error, "receipt", e->receipt_id,
                           "delivered_at", (json_int_t)e->delivered_at));
    else
        printf("%4lld  %-10s %-20s attempts %d  %s%s%s\n", (long long)e->id,
               kc_entry_state_name(e->state), e->payment, e->attempts,
               e->receipt_id[0] ? "receipt " : "", e->receipt_id,
               e->last_error[0] && e->state != KC_ENTRY_DELIVERED ? e->last_error : "");
    return true;
}

static int cmd_journal(struct opts *o, kc_client *c)
{
    kc_rc rc = kc_journal_each(c, list_entry, o);

    return rc == KC_OK ? 0 : fail(o, c, rc, "cannot list the journal");
}

/* ---- marriage-registration appointments ------------------------------------------- */

/* Unix time as Beijing time (the API's clock for dates and slots), whatever TZ says. */
static void beijing_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)(t + 8 * 3600);
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

static const char *service_line(const char *sv, char *buf, size_t cap)
{
    const char *zh = kc_service_zh(sv), *en = kc_service_en(sv);

    snprintf(buf, cap, "%s %s", zh ? zh : sv, en ? en : "");
    return buf;
}

static int cmd_id_session(struct opts *o, kc_client *c)
{
    struct kc_mrz m = { .doc = o->doc, .birth = o->birth, .expiry = o->expiry };
    struct kc_id_session s;
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    const char *pzh, *pen;
    char until[32];
    int ret;
    kc_rc rc;

    if (!o->doc || !o->birth || !o->expiry)
        return usage_error(o, "id-session needs --doc NUMBER --birth YYMMDD --expiry YYMMDD "
                              "(as printed in the card's machine-readable zone)");
    ret = connect_card(o, &ctx, &card);
    if (ret)
        goto out;
    rc = kc_id_session(c, card, &m, &s);
    if (rc != KC_OK) {
        ret = rc == KC_E_INVALID_ARG ? usage_error(o, "%s", kc_last_error(c)->text)
                                     : fail(o, c, rc, "the ID session was not opened");
        goto out;
    }
    pzh = kc_province_zh(s.province);
    pen = kc_province_en(s.province);
    if (o->json) {
        json_out(json_pack("{s:s,s:s,s:s,s:s#,s:s,s:s,s:I,s:b}", "id_session", s.id, "name", s.name,
                           "id_masked", s.id_masked, "sex", &s.sex, (size_t)1, "birth", s.birth,
                           "province", s.province, "exp", (json_int_t)s.exp, "verified", 1));
    } else {
        beijing_time(s.exp, until, sizeof(until));
        printf("身份证核验通过，身份会话已建立。 ID card verified; ID session opened.\n");
        printf("  姓名 Name          %s\n", s.name);
        printf("  证件号 ID no.      %s\n", s.id_masked);
        printf("  性别 Sex           %s\n", s.sex == 'M' ? "男 male" : "女 female");
        printf("  出生 Born          %s\n", s.birth);
        printf("  户籍 Province      %s %s (%s)\n", pzh ? pzh : "?", pen ? pen : "", s.province);
        printf("  会话 Session       %s\n", s.id);
        printf("  有效至 Valid until %s (北京时间 Beijing time)\n", until);
    }
    hm_wipe(&s, sizeof(s));
out:
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return ret;
}

static int cmd_offices(struct opts *o, kc_client *c)
{
    json_t *p = NULL, *of, *sv;
    size_t i, j;
    char b[128];
    kc_rc rc = kc_offices(c, &p);

    if (rc != KC_OK)
        return fail(o, c, rc, "no list of offices");
    if (o->json) {
        json_object_set_new(p, "verified", json_true());
        json_out(p);
        return 0;
    }
    printf("婚姻登记处 Marriage registration offices (signed by the server, verified)\n");
    json_array_foreach(json_object_get(p, "offices"), i, of)
    {
        bool cross = json_is_true(json_object_get(of, "cross_province"));

        printf("  %s  %s\n", jstr(of, "id"), jstr(of, "name"));
        printf("      跨省通办 Cross-province: %s\n", cross ? "是 yes" : "否 no");
        printf("      办理 Services:");
        json_array_foreach(json_object_get(of, "services"), j, sv)
            printf("%s %s", j ? "," : "", service_line(json_string_value(sv), b, sizeof(b)));
        printf("\n      时间 Hours: %s\n", jstr(of, "hours"));
    }
    json_decref(p);
    return 0;
}

static int cmd_availability(struct opts *o, kc_client *c)
{
    json_t *p = NULL, *d, *sl;
    size_t i, j;
    char b[128], opens[32];
    kc_rc rc;

    if (!o->office || !o->service || !o->from)
        return usage_error(o, "availability needs --office O --service S --from YYYY-MM-DD");
    rc = kc_availability(c, o->office, o->service, o->from, o->days ? (int)o->days : 7, &p);
    if (rc == KC_E_INVALID_ARG)
        return usage_error(o, "%s", kc_last_error(c)->text);
    if (rc != KC_OK)
        return fail(o, c, rc, "no availability");
    if (o->json) {
        json_object_set_new(p, "verified", json_true());
        json_out(p);
        return 0;
    }
    printf("预约情况 Availability: %s, %s (signed by the server, verified)\n", o->office,
           service_line(o->service, b, sizeof(b)));
    json_array_foreach(json_object_get(p, "days"), i, d)
    {
        json_t *slots = json_object_get(d, "slots");

        beijing_time(json_integer_value(json_object_get(d, "opens_at")), opens, sizeof(opens));
        printf("  %s%s  开放预约 booking opens %s\n", jstr(d, "date"),
               json_is_true(json_object_get(d, "special")) ? " 特殊日期 special date" : "", opens);
        if (json_array_size(slots) == 0)
            printf("    不办公 closed\n");
        json_array_foreach(slots, j, sl)
        {
            long long fr = json_integer_value(json_object_get(sl, "free"));
            long long cap = json_integer_value(json_object_get(sl, "capacity"));

            printf("    %s-%s  余 %lld / %lld 个名额 free%s\n", jstr(sl, "start"), jstr(sl, "end"),
                   fr, cap, fr == 0 ? "  已满 full" : "");
        }
    }
    json_decref(p);
    return 0;
}

/* Writes a ticket's QR code and/or text file as the options ask: 0 or an exit code. */
static int save_ticket(struct opts *o, const struct kc_ticket *t)
{
    char err[256];

    if (o->qr && kc_qr_write_png(t->token, o->qr, 4, err, sizeof(err)) != 0) {
        fprintf(stderr, "huimin-client %s: the ticket is made, but %s\n", o->command, err);
        return EXIT_ENV;
    }
    if (o->ticket_out) {
        FILE *f = fopen(o->ticket_out, "w");

        if (!f || fprintf(f, "%s\n", t->token) < 0 || fclose(f) != 0) {
            fprintf(stderr, "huimin-client %s: the ticket is made, but %s cannot be written\n",
                    o->command, o->ticket_out);
            return EXIT_ENV;
        }
    }
    return 0;
}

static void print_ticket(struct opts *o, const struct kc_ticket *t, const char *zh, const char *en)
{
    char b[128], when[32];

    if (o->json) {
        json_t *parties = json_array();

        for (size_t i = 0; i < t->n_parties; i++)
            json_array_append_new(
                parties, json_pack("{s:s,s:s}", "name", t->name[i], "id_masked", t->id_masked[i]));
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:s,s:b}", "ticket", t->id,
                              "service", t->service, "service_zh", kc_service_zh(t->service),
                              "office", t->office, "date", t->date, "slot", t->slot, "parties",
                              parties, "iat", (json_int_t)t->iat, "token", t->token, "verified", 1);
        if (j && o->qr)
            json_object_set_new(j, "qr", json_string(o->qr));
        json_out(j);
        return;
    }
    beijing_time(t->iat, when, sizeof(when));
    printf("%s %s (signed by the server, verified)\n", zh, en);
    printf("  预约编号 Ticket    %s\n", t->id);
    printf("  事项 Service       %s\n", service_line(t->service, b, sizeof(b)));
    printf("  登记处 Office      %s\n", t->office);
    printf("  日期 Date          %s\n", t->date);
    printf("  时段 Slot          %s\n", t->slot);
    for (size_t i = 0; i < t->n_parties; i++)
        printf("  当事人 Party %zu    %s  %s\n", i + 1, t->name[i], t->id_masked[i]);
    printf("  签发 Issued        %s (北京时间 Beijing time)\n", when);
    if (o->qr)
        printf("  二维码 QR code     %s\n", o->qr);
    printf("Token: %s\n", t->token);
}

static int cmd_book(struct opts *o, kc_client *c)
{
    struct kc_booking b = { .service = o->service,
                            .office = o->office,
                            .date = o->date,
                            .slot = o->slot,
                            .parties = { o->party[0], o->party[1] } };
    struct kc_ticket *t;
    int ret;
    kc_rc rc;

    if (!o->service || !o->office || !o->date || !o->slot || !o->n_party)
        return usage_error(o, "book needs --service S --office O --date YYYY-MM-DD --slot HH:MM "
                              "--party S_A [--party S_B]");
    t = malloc(sizeof(*t));
    if (!t)
        return EXIT_ENV;
    rc = kc_book(c, &b, t);
    if (rc == KC_E_INVALID_ARG) {
        ret = usage_error(o, "%s", kc_last_error(c)->text);
    } else if (rc != KC_OK) {
        ret = fail(o, c, rc, "not booked");
        if (rc == KC_E_NETWORK)
            fprintf(stderr,
                    "  预约结果未知：请用 'huimin-client mine --id-session %s' 查看。\n"
                    "  The booking may or may not have been made: 'mine' shows it. Booking "
                    "again cannot book twice (active_booking_exists).\n",
                    o->party[0]);
    } else {
        ret = save_ticket(o, t);
        print_ticket(o, t, "预约成功。", "Booked.");
    }
    free(t);
    return ret;
}

static int cmd_cancel(struct opts *o, kc_client *c)
{
    kc_rc rc;

    if (!o->ticket || !o->id_session)
        return usage_error(o, "cancel needs --ticket T --id-session S");
    rc = kc_cancel(c, o->ticket, o->id_session);
    if (rc == KC_E_INVALID_ARG)
        return usage_error(o, "%s", kc_last_error(c)->text);
    if (rc != KC_OK)
        return fail(o, c, rc, "not cancelled");
    if (o->json)
        json_out(
            json_pack("{s:s,s:s,s:b}", "ticket", o->ticket, "status", "cancelled", "verified", 1));
    else
        printf("预约已取消，名额已释放。 Appointment %s cancelled; its place is free again. "
               "(verified)\n",
               o->ticket);
    return 0;
}

static int cmd_reschedule(struct opts *o, kc_client *c)
{
    struct kc_ticket *t;
    int ret;
    kc_rc rc;

    const char *sessions[2] = { NULL, NULL };
    size_t n = 0;

    /* The people at the kiosk: --id-session S, and --party for the other (or both --party). */
    if (o->id_session)
        sessions[n++] = o->id_session;
    for (size_t i = 0; i < o->n_party && n < 2; i++)
        sessions[n++] = o->party[i];
    if (!o->ticket || !n || !o->date || !o->slot || (o->id_session && o->n_party > 1))
        return usage_error(o, "reschedule needs --ticket T --id-session S_A [--party S_B] "
                              "--date YYYY-MM-DD --slot HH:MM");
    t = malloc(sizeof(*t));
    if (!t)
        return EXIT_ENV;
    rc = kc_reschedule(c, o->ticket, sessions, o->date, o->slot, t);
    if (rc == KC_E_INVALID_ARG) {
        ret = usage_error(o, "%s", kc_last_error(c)->text);
    } else if (rc != KC_OK) {
        ret = fail(o, c, rc, "not rescheduled");
        if (rc == KC_E_NETWORK)
            fprintf(stderr, "  改期结果未知：请用 'mine' 查看。 The move may or may not have "
                            "been made: 'mine' shows it.\n");
    } else {
        ret = save_ticket(o, t);
        print_ticket(o, t, "改期成功，原预约已作废。", "Rescheduled; the old ticket is void.");
    }
    free(t);
    return ret;
}

static const char *status_zh(const char *st)
{
    static const char *const names[][2] = {
        { "booked", "已预约" },      { "checked_in", "已签到" }, { "cancelled", "已取消" },
        { "rescheduled", "已改期" }, { "no_show", "未到场" },
    };

    for (size_t i = 0; i < HM_ARRAY_SIZE(names); i++)
        if (strcmp(names[i][0], st) == 0)
            return names[i][1];
    return "?";
}

static int cmd_mine(struct opts *o, kc_client *c)
{
    json_t *p = NULL, *a;
    size_t i;
    char b[128];
    kc_rc rc;

    if (!o->id_session)
        return usage_error(o, "mine needs --id-session S");
    rc = kc_mine(c, o->id_session, &p);
    if (rc == KC_E_INVALID_ARG)
        return usage_error(o, "%s", kc_last_error(c)->text);
    if (rc != KC_OK)
        return fail(o, c, rc, "no list of appointments");
    if (o->json) {
        json_object_set_new(p, "verified", json_true());
        json_out(p);
        return 0;
    }
    printf("我的预约 My appointments (signed by the server, verified)\n");
    if (json_array_size(json_object_get(p, "appointments")) == 0)
        printf("  没有预约。 None.\n");
    json_array_foreach(json_object_get(p, "appointments"), i, a) printf(
        "  %s  %s %s  %s  %s  %s %s\n", jstr(a, "t"), jstr(a, "d"), jstr(a, "sl"), jstr(a, "o"),
        service_line(jstr(a, "sv"), b, sizeof(b)), status_zh(jstr(a, "status")), jstr(a, "status"));
    json_decref(p);
    return 0;
}

/* Reads a ticket token from a file (whitespace dropped) into out (cap KC_TICKET_MAX). */
static bool read_ticket_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int ch;

    if (!f)
        return false;
    while ((ch = fgetc(f)) != EOF) {
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (n + 1 >= cap) {
            fclose(f);
            return false;
        }
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    fclose(f);
    return n > 0;
}

/* ---- calling staff ---------------------------------------------------------------- */

static int cmd_staff_call(struct opts *o, kc_client *c)
{
    struct kc_session s;
    struct kc_staff_call sc;
    const struct kc_session *sp = NULL;
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    char when[32];
    int ret = 0;
    kc_rc rc;

    if (!o->reason)
        return usage_error(o, "staff-call needs --reason R (help, card_problem, pin_blocked, "
                              "dispute or other)");
    if (o->session && o->card)
        return usage_error(o, "give --session ID or --card, not both");
    memset(&s, 0, sizeof(s));
    if (o->session) {
        if (!o->session[0] || hm_strlcpy(s.id, o->session, sizeof(s.id)) >= sizeof(s.id))
            return usage_error(o, "--session takes a card session's id (at most %zu characters)",
                               sizeof(s.id) - 1);
        sp = &s;
    } else if (o->card) {
        ret = tap(o, c, &ctx, &card, &s);
        if (ret)
            goto out;
        sp = &s;
    }
    rc = kc_staff_call(c, o->reason, o->screen, sp, &sc);
    if (rc == KC_E_INVALID_ARG) {
        ret = usage_error(o, "%s", kc_last_error(c)->text);
        goto out;
    }
    if (rc != KC_OK) {
        ret = fail(o, c, rc, "staff were not called");
        if (rc == KC_E_NETWORK)
            fprintf(stderr, "  请到服务窗口找工作人员。 Please go to the service desk.\n");
        goto out;
    }
    bool again = kc_last_error(c)->http_status == 200;
    if (o->json) {
        json_out(json_pack("{s:s,s:i,s:I,s:b,s:b}", "call", sc.id, "waiting", sc.waiting, "iat",
                           (json_int_t)sc.iat, "again", again, "verified", 1));
    } else {
        beijing_time(sc.iat, when, sizeof(when));
        printf("%s\n", again
                           ? "已经呼叫过工作人员，请稍候。 Staff were called already; please wait."
                           : "已呼叫工作人员，请稍候。 Staff have been called; please wait.");
        printf("  呼叫编号 Call      %s%s\n", sc.id, again ? " (the same call)" : "");
        printf("  等候 Waiting       %d (open calls at this office, this one included)\n",
               sc.waiting);
        printf("  时间 Time          %s (北京时间 Beijing time; signed by the server, verified)\n",
               when);
    }
out:
    hm_wipe(&s, sizeof(s));
    cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return ret;
}

static int cmd_check_in(struct opts *o, kc_client *c)
{
    struct kc_check_in ci;
    char *token = NULL;
    int ret = 0;
    kc_rc rc;

    if ((!o->ticket_file) == (!o->id_session))
        return usage_error(o, "check-in needs --ticket-file F or --id-session S (one of them)");
    if (o->ticket_file) {
        token = malloc(KC_TICKET_MAX);
        if (!token)
            return EXIT_ENV;
        if (!read_ticket_file(o->ticket_file, token, KC_TICKET_MAX)) {
            free(token);
            return usage_error(o, "cannot read a ticket from '%s'", o->ticket_file);
        }
    }
    rc = kc_check_in(c, token, o->id_session, &ci);
    if (rc == KC_E_INVALID_ARG)
        ret = usage_error(o, "%s", kc_last_error(c)->text);
    else if (rc != KC_OK)
        ret = fail(o, c, rc, "not checked in");
    else if (o->json)
        json_out(json_pack("{s:s,s:s,s:s,s:b}", "ticket", ci.ticket, "status", "checked_in",
                           "window", ci.window, "verified", 1));
    else
        printf("签到成功%s%s。 Checked in: appointment %s%s%s. (verified)\n",
               ci.window[0] ? "，请到窗口 " : "", ci.window, ci.ticket,
               ci.window[0] ? ", window " : "", ci.window);
    free(token);
    return ret;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(struct opts *o, kc_client *c);
    } cmds[] = {
        { "status", cmd_status },
        { "confirm", cmd_confirm },
        { "dispute", cmd_dispute },
        { "sync", cmd_sync },
        { "journal", cmd_journal },
        { "id-session", cmd_id_session },
        { "offices", cmd_offices },
        { "availability", cmd_availability },
        { "book", cmd_book },
        { "cancel", cmd_cancel },
        { "reschedule", cmd_reschedule },
        { "mine", cmd_mine },
        { "check-in", cmd_check_in },
        { "staff-call", cmd_staff_call },
    };
    struct opts o;
    kc_client *c = NULL;
    int ret;

    memset(&o, 0, sizeof(o));
    hm_log_init("huimin-client", HM_LOG_WARN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help();
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("huimin-client %s\n", HUIMIN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < HM_ARRAY_SIZE(cmds); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        o.command = cmds[i].name;
        ret = parse(&o, argc - 1, argv + 1);
        if (ret)
            return ret < 0 ? 0 : ret;
        ret = open_client(&o, &c);
        if (ret)
            return ret;
        ret = cmds[i].run(&o, c);
        kc_client_free(c);
        return ret;
    }
    return usage_error(&o, "unknown command '%s'", argv[1]);
}
