/* The helpers every huimin-card command shares: options, reader choice, errors and JSON output. */
#include "hc.h"

#include "hm/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMON_SHORT "r:jvw:h"

static const struct option common_opts[] = {
    { "reader", required_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },      { "wait", required_argument, NULL, 'w' },
    { "help", no_argument, NULL, 'h' },
};

int hc_usage_error(struct hc *hc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "huimin-card%s%s: %s\n", hc->command ? " " : "", hc->command ? hc->command : "",
            msg);
    fprintf(stderr, "Try 'huimin-card --help'.\n");
    if (hc->json)
        hc_json_out(json_pack("{s:{s:s,s:s}}", "error", "code", "usage", "message", msg));
    return HC_EXIT_USAGE;
}

int hc_parse(struct hc *hc, int argc, char **argv, const struct option *extra,
             const char *extra_short, int (*on_opt)(void *arg, int opt, const char *val), void *arg,
             int *first)
{
    struct option opts[32];
    char shortopts[64];
    size_t n = 0;
    int c;

    for (size_t i = 0; i < HM_ARRAY_SIZE(common_opts); i++)
        opts[n++] = common_opts[i];
    for (size_t i = 0; extra && extra[i].name && n < HM_ARRAY_SIZE(opts) - 1; i++)
        opts[n++] = extra[i];
    memset(&opts[n], 0, sizeof(opts[n]));
    snprintf(shortopts, sizeof(shortopts), ":%s%s", COMMON_SHORT, extra_short ? extra_short : "");

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            hc->reader = optarg;
            break;
        case 'j':
            hc->json = true;
            break;
        case 'v':
            hc->verbose = true;
            break;
        case 'w': {
            long secs;

            if (!hm_parse_long(optarg, 0, 3600, &secs))
                return hc_usage_error(hc, "--wait takes seconds (0 to 3600), not '%s'", optarg);
            hc->wait_ms = (int)secs * 1000;
            break;
        }
        case 'h':
            return -1;
        case '?':
            if (optopt)
                return hc_usage_error(hc, "unknown option '-%c'", optopt);
            return hc_usage_error(hc, "unknown option '%s'", argv[optind - 1]);
        case ':':
            return hc_usage_error(hc, "option '%s' needs a value", argv[optind - 1]);
        default: {
            int rc = on_opt ? on_opt(arg, c, optarg) : HC_EXIT_USAGE;

            if (rc)
                return rc;
        }
        }
    }
    *first = optind;
    return 0;
}

int hc_exit_for(cl_rc rc)
{
    switch (rc) {
    case CL_OK:
        return HC_EXIT_OK;
    case CL_E_INVALID_ARG:
        return HC_EXIT_USAGE;
    case CL_E_NO_SERVICE:
    case CL_E_SERVICE_STOPPED:
    case CL_E_NO_READERS:
    case CL_E_READER_NOT_FOUND:
    case CL_E_READER_UNAVAILABLE:
    case CL_E_NO_CARD:
    case CL_E_CARD_REMOVED:
    case CL_E_SHARING_VIOLATION:
    case CL_E_TIMEOUT:
    case CL_E_CANCELLED:
        return HC_EXIT_ENV;
    case CL_E_SIGNATURE_INVALID:
    case CL_E_CERT_INVALID:
        return HC_EXIT_VERIFY;
    default:
        return HC_EXIT_CARD;
    }
}

/* What a person should do next, for the failures a person can do something about. */
static const char *advice(cl_rc rc)
{
    switch (rc) {
    case CL_E_NO_SERVICE:
    case CL_E_SERVICE_STOPPED:
        return "Start the smart-card service (systemctl start pcscd) and try again.";
    case CL_E_NO_READERS:
        return "Connect a card reader (check its cable) and try again.";
    case CL_E_READER_NOT_FOUND:
        return "Run 'huimin-card list' to see the readers' names and numbers.";
    case CL_E_NO_CARD:
        return "Place the card on the reader and try again (--wait SECONDS waits for it).";
    case CL_E_CARD_REMOVED:
        return "The card was taken away: place it on the reader again and retry.";
    case CL_E_SHARING_VIOLATION:
        return "Another program is using the card; close it or try again shortly.";
    case CL_E_CARD_UNRESPONSIVE:
    case CL_E_CARD_UNPOWERED:
        return "The card does not answer: take it away, place it flat on the reader again.";
    default:
        return NULL;
    }
}

int hc_fail(struct hc *hc, cl_rc rc, const char *what)
{
    const char *next = advice(rc);

    fprintf(stderr, "huimin-card %s: %s: %s\n", hc->command ? hc->command : "", what,
            cl_strerror(rc));
    if (next)
        fprintf(stderr, "%s\n", next);
    if (hc->verbose && hc->ctx) {
        const char *text = NULL;
        long native = cl_ctx_last_native(hc->ctx, &text);

        if (native)
            fprintf(stderr, "(PC/SC: 0x%08lX %s)\n", (unsigned long)native, text ? text : "");
    }
    if (hc->json) {
        json_t *err = json_pack("{s:s,s:s,s:s}", "code", cl_rc_name(rc), "message", cl_strerror(rc),
                                "context", what);

        if (next)
            json_object_set_new(err, "next", json_string(next));
        hc_json_out(json_pack("{s:o}", "error", err));
    }
    return hc_exit_for(rc);
}

int hc_open(struct hc *hc)
{
    cl_rc rc;

    if (hc->ctx)
        return 0;
    rc = cl_ctx_new_pcsc(&hc->ctx);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "cannot reach the smart-card service");
    return 0;
}

/* Finds the reader --reader names: an index from `list`, or the exact name. */
static cl_rc pick_named(struct hc *hc, const struct cl_reader_info *r, size_t n, size_t *idx)
{
    unsigned long want;

    if (hm_parse_ulong(hc->reader, CL_READERS_MAX - 1, &want)) {
        if (want >= n)
            return CL_E_READER_NOT_FOUND;
        *idx = want;
        return CL_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].name, hc->reader) == 0) {
            *idx = i;
            return CL_OK;
        }
    return CL_E_READER_NOT_FOUND;
}

int hc_connect(struct hc *hc, enum cl_share share, cl_card **out)
{
    struct cl_reader_info r[CL_READERS_MAX];
    uint64_t deadline;
    int ret = hc_open(hc);
    cl_rc rc;

    if (ret)
        return ret;
    deadline = hm_now_ms() + (uint64_t)hc->wait_ms;
    for (;;) {
        size_t n = 0, idx = 0;
        bool found = false;

        rc = cl_ctx_list_readers(hc->ctx, r, HM_ARRAY_SIZE(r), &n);
        if (rc == CL_OK && n == 0)
            rc = CL_E_NO_READERS;
        if (rc == CL_OK && hc->reader) {
            rc = pick_named(hc, r, n, &idx);
            if (rc == CL_E_READER_NOT_FOUND) {
                char what[CL_READER_NAME_MAX + 32];

                snprintf(what, sizeof(what), "no reader '%s'", hc->reader);
                return hc_fail(hc, rc, what);
            }
            found = rc == CL_OK && (r[idx].state & CL_READER_PRESENT);
        } else if (rc == CL_OK) {
            for (size_t i = 0; i < n && !found; i++)
                if (r[i].state & CL_READER_PRESENT) {
                    idx = i;
                    found = true;
                }
        }
        if (found) {
            rc = cl_card_connect(hc->ctx, r[idx].name, share, out);
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
    return hc_fail(hc, rc, "cannot connect to the card");
}

void hc_json_out(json_t *v)
{
    if (!v)
        return;
    json_dumpf(v, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(v);
}

const char *hc_hex(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t used = 0;

    if (cap == 0)
        return buf;
    for (size_t i = 0; i < n; i++) {
        size_t need = (i ? 1 : 0) + 2;

        if (used + need + 1 > cap) {
            /* Does not fit: end with "..." (over the last byte shown if need be). */
            while (used > 0 && used + 4 > cap)
                used--;
            if (used + 4 <= cap) {
                memcpy(buf + used, "...", 3);
                used += 3;
            }
            break;
        }
        if (i)
            buf[used++] = ' ';
        buf[used++] = digits[p[i] >> 4];
        buf[used++] = digits[p[i] & 15];
    }
    buf[used] = '\0';
    return buf;
}

json_t *hc_json_hex(const uint8_t *p, size_t n)
{
    size_t cap = n * 3 + 1;
    char *s = malloc(cap);
    json_t *v;

    if (!s)
        return NULL;
    hc_hex(p, n, s, cap);
    v = json_string(s);
    free(s);
    return v;
}
