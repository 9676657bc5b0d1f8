/* huimin-card's reader-level commands: list readers, watch events, send APDUs, identify a card,
 * decode an ATR. */
#include "hc.h"

#include "cl/apdu.h"
#include "cl/atr.h"
#include "cl/identify.h"
#include "hm/hex.h"
#include "hm/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- shared ------------------------------------------------------------ */

static json_t *state_json(unsigned state)
{
    json_t *a = json_array();

    if (state & CL_READER_PRESENT)
        json_array_append_new(a, json_string("present"));
    if (state & CL_READER_EXCLUSIVE)
        json_array_append_new(a, json_string("exclusive"));
    if (state & CL_READER_INUSE)
        json_array_append_new(a, json_string("in-use"));
    if (state & CL_READER_MUTE)
        json_array_append_new(a, json_string("mute"));
    if (state & CL_READER_UNAVAILABLE)
        json_array_append_new(a, json_string("unavailable"));
    return a;
}

static json_t *atr_json(const uint8_t *atr, size_t len)
{
    struct cl_atr a;
    char protos[64];
    cl_rc rc = cl_atr_parse(atr, len, &a);
    json_t *o = json_pack("{s:o,s:b}", "hex", hc_json_hex(atr, len), "valid", rc == CL_OK);

    if (rc == CL_OK) {
        json_object_set_new(o, "protocols",
                            json_string(cl_atr_protocols(&a, protos, sizeof(protos))));
        json_object_set_new(o, "convention", json_string(a.inverse ? "inverse" : "direct"));
        json_object_set_new(o, "contactless", json_boolean(a.contactless));
        json_object_set_new(o, "historical", hc_json_hex(a.hist, a.hist_len));
        if (a.has_ta1) {
            json_object_set_new(o, "fi", json_integer(a.fi));
            json_object_set_new(o, "di", json_integer(a.di));
        }
        if (a.protocols & 2)
            json_object_set_new(o, "ifsc", json_integer(a.ifsc));
        json_object_set_new(o, "tck", json_string(a.tck_present ? "valid" : "absent"));
    }
    return o;
}

/* One line about an ATR for people: protocols, layout and printable historical bytes. */
static void print_atr(const char *indent, const uint8_t *atr, size_t len)
{
    struct cl_atr a;
    char hex[3 * CL_ATR_MAX + 1], protos[64];

    printf("%sATR %s\n", indent, hc_hex(atr, len, hex, sizeof(hex)));
    if (cl_atr_parse(atr, len, &a) != CL_OK) {
        printf("%s    (not a valid ATR)\n", indent);
        return;
    }
    printf("%s    %s%s, %s convention", indent, cl_atr_protocols(&a, protos, sizeof(protos)),
           a.contactless ? ", contactless" : "", a.inverse ? "inverse" : "direct");
    if (a.has_ta1)
        printf(", Fi=%u Di=%u", a.fi, a.di);
    if (a.hist_len) {
        bool printable = true;

        printf(", historical bytes %s", hc_hex(a.hist, a.hist_len, hex, sizeof(hex)));

        for (size_t i = 0; i < a.hist_len; i++)
            if (a.hist[i] < 0x20 || a.hist[i] > 0x7E)
                printable = false;
        if (printable)
            printf(" (\"%.*s\")", (int)a.hist_len, (const char *)a.hist);
    }
    printf("\n");
}

/* ---- list -------------------------------------------------------------- */

static int cmd_list(struct hc *hc, int argc, char **argv)
{
    struct cl_reader_info r[CL_READERS_MAX];
    size_t n = 0;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, NULL, NULL, NULL, NULL, &first);
    if (ret)
        return ret;
    if (first < argc)
        return hc_usage_error(hc, "list takes no arguments");
    ret = hc_open(hc);
    if (ret)
        return ret;
    rc = cl_ctx_list_readers(hc->ctx, r, HM_ARRAY_SIZE(r), &n);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "cannot list the readers");
    if (hc->json) {
        json_t *arr = json_array();

        for (size_t i = 0; i < n; i++) {
            json_t *o = json_pack("{s:i,s:s,s:b,s:o,s:i}", "index", (int)i, "name", r[i].name,
                                  "card", (r[i].state & CL_READER_PRESENT) != 0, "state",
                                  state_json(r[i].state), "event_count", (int)r[i].event_count);

            if (r[i].atr_len)
                json_object_set_new(o, "atr", atr_json(r[i].atr, r[i].atr_len));
            json_array_append_new(arr, o);
        }
        hc_json_out(json_pack("{s:o}", "readers", arr));
    } else if (n == 0) {
        printf("No card reader is connected.\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%zu: %s\n", i, r[i].name);
            if (r[i].state & CL_READER_UNAVAILABLE)
                printf("   reader not usable\n");
            else if (r[i].state & CL_READER_MUTE)
                printf("   card present but it does not answer\n");
            else if (!(r[i].state & CL_READER_PRESENT))
                printf("   no card\n");
            else {
                printf("   card present%s\n", (r[i].state & CL_READER_EXCLUSIVE)
                                                  ? ", in exclusive use"
                                              : (r[i].state & CL_READER_INUSE) ? ", in use"
                                                                               : "");
                print_atr("   ", r[i].atr, r[i].atr_len);
            }
        }
    }
    if (n == 0) {
        if (!hc->json)
            fprintf(stderr, "Connect a card reader (check its cable) and try again.\n");
        return HC_EXIT_ENV;
    }
    return HC_EXIT_OK;
}

/* ---- watch ------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct watch_opts {
    struct hc *hc;
    long count;   /* stop after this many events (0: never) */
    long timeout; /* stop after this many seconds (0: never) */
};

static int watch_opt(void *arg, int opt, const char *val)
{
    struct watch_opts *w = arg;

    if (opt == 'n' && hm_parse_long(val, 1, 1000000, &w->count))
        return 0;
    if (opt == 't' && hm_parse_long(val, 1, 86400, &w->timeout))
        return 0;
    return hc_usage_error(w->hc, "--%s takes a positive number, not '%s'",
                          opt == 'n' ? "count" : "timeout", val);
}

static void now_iso(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int cmd_watch(struct hc *hc, int argc, char **argv)
{
    static const struct option opts[] = { { "count", required_argument, NULL, 'n' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { NULL, 0, NULL, 0 } };
    struct watch_opts w = { hc, 0, 0 };
    struct sigaction sa;
    cl_monitor *m = NULL;
    uint64_t deadline;
    long seen = 0;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, opts, "n:t:", watch_opt, &w, &first);
    if (ret)
        return ret;
    if (first < argc)
        return hc_usage_error(hc, "watch takes no arguments");
    ret = hc_open(hc);
    if (ret)
        return ret;
    rc = cl_monitor_new(hc->ctx, &m);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "cannot watch the readers");

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!hc->json)
        fprintf(stderr, "Watching readers; Ctrl-C stops.\n");
    deadline = w.timeout ? hm_now_ms() + (uint64_t)w.timeout * 1000 : UINT64_MAX;
    while (!stop_requested && hm_now_ms() < deadline) {
        struct cl_event ev;
        char when[32];

        /* Short waits so a signal or the timeout ends the loop promptly. */
        rc = cl_monitor_wait(m, &ev, 250);
        if (rc == CL_E_TIMEOUT)
            continue;
        if (rc != CL_OK) {
            ret = hc_fail(hc, rc, "watching stopped");
            break;
        }
        now_iso(when, sizeof(when));
        if (hc->json) {
            json_t *o =
                json_pack("{s:s,s:s,s:s,s:i}", "time", when, "event", cl_event_name(ev.kind),
                          "reader", ev.reader, "event_count", (int)ev.event_count);

            if (ev.kind == CL_EVENT_CARD_INSERTED)
                json_object_set_new(o, "atr", atr_json(ev.atr, ev.atr_len));
            hc_json_out(o);
        } else {
            char hex[3 * CL_ATR_MAX + 1];

            printf("%s  %-15s %s", when, cl_event_name(ev.kind), ev.reader);
            if (ev.kind == CL_EVENT_CARD_INSERTED)
                printf("  ATR %s", hc_hex(ev.atr, ev.atr_len, hex, sizeof(hex)));
            printf("\n");
            fflush(stdout);
        }
        if (w.count && ++seen >= w.count)
            break;
    }
    cl_monitor_free(m);
    return ret;
}

/* ---- apdu -------------------------------------------------------------- */

struct apdu_opts {
    bool raw;
    bool exclusive;
};

static int apdu_opt(void *arg, int opt, const char *val)
{
    struct apdu_opts *a = arg;

    (void)val;
    if (opt == 'R')
        a->raw = true;
    else if (opt == 'x')
        a->exclusive = true;
    return 0;
}

static void trace_apdu(void *arg, bool to_card, const uint8_t *p, size_t n)
{
    char hex[64 * 3 + 4];

    (void)arg;
    fprintf(stderr, "%s %s\n", to_card ? ">>" : "<<", hc_hex(p, n, hex, sizeof(hex)));
}

static int cmd_apdu(struct hc *hc, int argc, char **argv)
{
    static const struct option opts[] = { { "raw", no_argument, NULL, 'R' },
                                          { "exclusive", no_argument, NULL, 'x' },
                                          { NULL, 0, NULL, 0 } };
    struct apdu_opts ao = { 0 };
    static uint8_t cmdbuf[CL_CAPDU_MAX], resp[CL_RAPDU_MAX];
    json_t *arr = NULL;
    cl_card *card = NULL;
    uint16_t last_sw = 0x9000;
    int first, ret;

    ret = hc_parse(hc, argc, argv, opts, "Rx", apdu_opt, &ao, &first);
    if (ret)
        return ret;
    if (first >= argc)
        return hc_usage_error(hc,
                              "apdu needs at least one APDU in hex, e.g. 00A4040007A0000002471001");
    /* Check every APDU before sending any. */
    for (int i = first; i < argc; i++) {
        struct cl_capdu c;
        size_t n;

        if (!hm_hex_decode(argv[i], cmdbuf, sizeof(cmdbuf), &n))
            return hc_usage_error(hc, "APDU %d is not hex bytes: '%s'", i - first + 1, argv[i]);
        if (cl_apdu_parse(cmdbuf, n, &c) != CL_OK)
            return hc_usage_error(hc,
                                  "APDU %d is not a valid command APDU (ISO 7816-4): check Lc, "
                                  "the data length and Le",
                                  i - first + 1);
    }
    ret = hc_connect(hc, ao.exclusive ? CL_SHARE_EXCLUSIVE : CL_SHARE_SHARED, &card);
    if (ret)
        return ret;
    if (hc->verbose)
        cl_card_set_trace(card, trace_apdu, NULL);
    if (hc->json)
        arr = json_array();
    (void)cl_card_begin(card);
    for (int i = first; i < argc; i++) {
        struct cl_capdu c;
        size_t n, rlen = 0;
        uint16_t sw = 0;
        cl_rc rc;
        char hex[3 * 300];

        hm_hex_decode(argv[i], cmdbuf, sizeof(cmdbuf), &n);
        if (ao.raw) {
            rc = cl_card_transmit_raw(card, cmdbuf, n, resp, sizeof(resp), &rlen);
            if (rc == CL_OK && rlen < 2)
                rc = CL_E_RAPDU_SHORT;
            if (rc == CL_OK) {
                sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
                rlen -= 2;
            }
        } else {
            struct cl_apdu a;

            cl_apdu_parse(cmdbuf, n, &c);
            a = (struct cl_apdu){ .cla = c.cla,
                                  .ins = c.ins,
                                  .p1 = c.p1,
                                  .p2 = c.p2,
                                  .data = c.data,
                                  .lc = c.lc,
                                  .le = c.le };
            if (c.extended)
                cl_card_set_extended(card, true);
            rc = cl_card_transmit(card, &a, resp, sizeof(resp), &rlen, &sw);
        }
        if (rc != CL_OK) {
            char what[64];

            json_decref(arr);
            arr = NULL;
            snprintf(what, sizeof(what), "APDU %d failed", i - first + 1);
            ret = hc_fail(hc, rc, what);
            break;
        }
        last_sw = sw;
        if (hc->json) {
            char swhex[5];

            snprintf(swhex, sizeof(swhex), "%04X", sw);
            json_array_append_new(
                arr, json_pack("{s:o,s:o,s:s,s:s}", "command", hc_json_hex(cmdbuf, n), "response",
                               hc_json_hex(resp, rlen), "sw", swhex, "meaning", cl_sw_text(sw)));
        } else {
            printf("> %s\n", hc_hex(cmdbuf, n, hex, sizeof(hex)));
            if (rlen)
                printf("< %s\n", hc_hex(resp, rlen, hex, sizeof(hex)));
            printf("< SW %04X: %s\n", sw, cl_sw_text(sw));
        }
    }
    (void)cl_card_end(card);
    if (arr)
        hc_json_out(json_pack("{s:s,s:o}", "reader", cl_card_reader(card), "apdus", arr));
    cl_card_disconnect(card, false);
    if (ret == 0 && last_sw != 0x9000 && (last_sw & 0xFF00) != 0x6100)
        ret = HC_EXIT_CARD;
    return ret;
}

/* ---- identify ---------------------------------------------------------- */

static int cmd_identify(struct hc *hc, int argc, char **argv)
{
    struct cl_card_ident id;
    const struct cl_app_info *apps;
    size_t napps;
    cl_card *card = NULL;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, NULL, NULL, NULL, NULL, &first);
    if (ret)
        return ret;
    if (first < argc)
        return hc_usage_error(hc, "identify takes no arguments");
    ret = hc_connect(hc, CL_SHARE_SHARED, &card);
    if (ret)
        return ret;
    if (hc->verbose)
        cl_card_set_trace(card, trace_apdu, NULL);
    rc = cl_card_identify(card, &id);
    if (rc != CL_OK) {
        cl_card_disconnect(card, false);
        return hc_fail(hc, rc, "cannot identify the card");
    }
    apps = cl_known_apps(&napps);
    if (hc->json) {
        const uint8_t *atr;
        size_t atr_len;
        json_t *a = json_array();
        json_t *o;

        atr = cl_card_atr(card, &atr_len);
        for (size_t i = 0; i < napps; i++)
            if (id.apps & apps[i].app)
                json_array_append_new(a, json_string(apps[i].name));
        o = json_pack("{s:s,s:o,s:s,s:o}", "reader", cl_card_reader(card), "atr",
                      atr_json(atr, atr_len), "card", cl_ident_summary(&id), "applications", a);
        if (id.atr_name)
            json_object_set_new(o, "model", json_string(id.atr_name));
        if (id.label[0])
            json_object_set_new(o, "label", json_string(id.label));
        hc_json_out(o);
    } else {
        const uint8_t *atr;
        size_t atr_len;

        atr = cl_card_atr(card, &atr_len);
        printf("Reader:  %s\n", cl_card_reader(card));
        printf("Card:    %s\n", cl_ident_summary(&id));
        if (id.atr_name)
            printf("Model:   %s (from the ATR)\n", id.atr_name);
        if (id.label[0])
            printf("Label:   %s\n", id.label);
        print_atr("", atr, atr_len);
        printf("Applications:\n");
        for (size_t i = 0; i < napps; i++)
            printf("  %-6s %-32s %s (SW %04X)\n", apps[i].name, apps[i].description,
                   (id.apps & apps[i].app) ? "present" : "absent", id.select_sw[i]);
    }
    cl_card_disconnect(card, false);
    return id.apps ? HC_EXIT_OK : HC_EXIT_CARD;
}

/* ---- atr --------------------------------------------------------------- */

static int cmd_atr(struct hc *hc, int argc, char **argv)
{
    uint8_t atr[64];
    size_t n;
    struct cl_atr a;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, NULL, NULL, NULL, NULL, &first);
    if (ret)
        return ret;
    if (first + 1 != argc)
        return hc_usage_error(hc, "atr takes one ATR in hex, e.g. '3B 88 80 01 ...'");
    if (!hm_hex_decode(argv[first], atr, sizeof(atr), &n))
        return hc_usage_error(hc, "the ATR must be hex bytes (at most 33)");
    rc = cl_atr_parse(atr, n, &a);
    if (hc->json)
        hc_json_out(atr_json(atr, n));
    else
        print_atr("", atr, n);
    if (rc != CL_OK) {
        if (!hc->json)
            fprintf(stderr, "huimin-card atr: %s\n", cl_strerror(rc));
        return HC_EXIT_CARD;
    }
    return HC_EXIT_OK;
}

const struct hc_cmd hc_reader_cmds[] = {
    { "list", "", "list readers and the cards in them", cmd_list },
    { "watch", "[--count N] [--timeout S]", "print reader and card events as they happen",
      cmd_watch },
    { "apdu", "[--raw] [--exclusive] HEX...", "send command APDUs and print the answers",
      cmd_apdu },
    { "identify", "", "tell which applications the card carries", cmd_identify },
    { "atr", "HEX", "decode an ATR", cmd_atr },
    { NULL, NULL, NULL, NULL },
};
