/* huimin-client: the kiosk client library on the command line, for scripts and staff debugging
 * (status, confirm, dispute, sync, journal). */
#include "kc/client.h"

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
#include <unistd.h>

enum {
    EXIT_USAGE = 1,   /* unknown command or option, bad argument, unusable configuration */
    EXIT_ENV = 2,     /* no reader, card or server; or a confirmation queued in the journal */
    EXIT_REFUSED = 3, /* the server (or the card: wrong PIN) refused */
    EXIT_VERIFY = 4,  /* an answer or the card failed verification */
};

#define PATH_CAP 1024

struct opts {
    const char *command;
    char conf_dir[PATH_CAP];
    char server[512], cert[PATH_CAP], key[PATH_CAP], cacert[PATH_CAP], signing[PATH_CAP];
    char kiosk[64], journal[PATH_CAP], issuer_ca[PATH_CAP], pin_pub[256];
    const char *reader, *payment, *reason, *note, *pin, *period;
    bool json, tap, verbose;
    long wait_s, amount_fen;
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

    fprintf(stderr, "huimin-client %s: %s: %s\n", o->command, what, kc_strerror(rc));
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
        "Commands:\n"
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
        "Options:\n"
        "  --config FILE      key = value: server, cert, key, cacert, signing_cert, kiosk,\n"
        "                     journal, issuer_ca, pinned_pubkey (paths relative to FILE)\n"
        "  --server URL --cert FILE --key FILE --cacert FILE --signing-cert FILE\n"
        "  --kiosk ID --journal FILE --issuer-ca FILE --pinned-pubkey sha256//...\n"
        "  --reader NAME|N    the reader (default: the first with a card)\n"
        "  --wait SECONDS     wait that long for a card\n"
        "  --json             one JSON object per line on stdout\n"
        "  --verbose          more detail on failures\n\n"
        "Exit codes: 0 ok; 1 usage or configuration; 2 no reader, card or server, or a\n"
        "confirmation QUEUED in the journal (deliver it with sync); 3 refused by the server\n"
        "or the card (wrong PIN); 4 an answer or the card failed verification.\n");
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
        .kiosk_id = o->kiosk,
        .journal_path = o->journal,
        .test_drop_confirmation = drop && strcmp(drop, "1") == 0,
        .test_alter_statement = alter && strcmp(alter, "1") == 0,
        /* "1": every answer; "/v1/...": that path's answers only. */
        .test_tamper_answer = !tamper || !tamper[0] || strcmp(tamper, "0") == 0 ? NULL
                              : strcmp(tamper, "1") == 0                        ? "*"
                                                                                : tamper,
    };
    kc_rc rc;

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

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(struct opts *o, kc_client *c);
    } cmds[] = {
        { "status", cmd_status }, { "confirm", cmd_confirm }, { "dispute", cmd_dispute },
        { "sync", cmd_sync },     { "journal", cmd_journal },
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
