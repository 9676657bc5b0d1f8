/*
 * A server for test_http.sh: hs_http with a handler that echoes what it was
 * given as JSON, so a script with curl can check TLS, limits, timeouts and
 * the drain from outside.
 *
 * Usage: http_echo --cert F --key F --client-ca F [--port N] [--listen ADDR]
 *        [--ops-port N] [--max-body N] [--max-header N] [--read-timeout S]
 *        [--idle-timeout S] [--max-conns N] [--io-threads N]
 *        [--handler-threads N] [--drain S]
 *
 * It prints "<port> <ops port or -1>" on one line when it is ready, serves
 * until SIGTERM or SIGINT, then drains with hs_http_stop() and exits 0.
 *
 * Query parameters: sleep=MS makes the handler sleep first; status=N sets
 * the status (0 checks that the layer answers 500); hdr=1 adds an extra
 * header; defer=MS defers the reply (hs_http_defer) to a thread of its own
 * that completes it MS later, and its fill answers {"deferred":MS,"path":..};
 * inline=1 runs the handler on the io thread (inline_ok). The path /stats
 * answers the layer's counters, and how many fills ran, instead.
 */
#include "hs/http.h"

#include "hm/log.h"
#include "hm/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct echo {
    _Atomic(struct hs_http *) h; /* set once started, for /stats */
    atomic_uint fills;           /* deferred replies whose fill ran */
};

/* A deferred reply: completed by its own thread, after ms. */
struct deferral {
    struct echo *e;
    struct hs_http_deferred *d;
    unsigned ms;
    char path[256];
};

/* Appends s as a JSON string (or null). */
static void json_str(struct hm_buf *b, const char *s)
{
    if (!s) {
        hm_buf_add_str(b, "null");
        return;
    }
    hm_buf_add_u8(b, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\') {
            hm_buf_add_u8(b, '\\');
            hm_buf_add_u8(b, ch);
        } else if (ch < 0x20) {
            hm_buf_addf(b, "\\u%04x", ch);
        } else {
            hm_buf_add_u8(b, ch);
        }
    }
    hm_buf_add_u8(b, '"');
}

/* Finds name=VALUE in a query string and parses VALUE as a number in [0, max]. */
static bool query_num(const char *query, const char *name, unsigned long max, unsigned long *out)
{
    size_t nlen = strlen(name);
    const char *p = query;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char num[24];

            if (len - nlen - 1 >= sizeof(num))
                return false;
            memcpy(num, p + nlen + 1, len - nlen - 1);
            num[len - nlen - 1] = '\0';
            return hm_parse_ulong(num, max, out);
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

static void stats_reply(struct hs_http *h, unsigned fills, struct hs_http_response *res)
{
    struct hs_http_stats st;

    hs_http_stats(h, &st);
    hm_buf_addf(&res->body,
                "{\"connections\":%llu,\"tls_failures\":%llu,\"requests\":%llu,"
                "\"2xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"in_flight\":%llu,\"fills\":%u}\n",
                (unsigned long long)st.connections, (unsigned long long)st.tls_failures,
                (unsigned long long)st.requests, (unsigned long long)st.status[2],
                (unsigned long long)st.status[4], (unsigned long long)st.status[5],
                (unsigned long long)st.in_flight, fills);
}

/* On the connection's io thread: finishes the deferred reply and frees its deferral. */
static void deferral_fill(void *arg, struct hs_http_response *res)
{
    struct deferral *df = arg;

    hm_buf_addf(&res->body, "{\"deferred\":%u,\"path\":", df->ms);
    json_str(&res->body, df->path);
    hm_buf_add_str(&res->body, "}\n");
    atomic_fetch_add(&df->e->fills, 1);
    free(df);
}

static void *deferral_main(void *arg)
{
    struct deferral *df = arg;

    hm_sleep_ms(df->ms);
    hs_http_complete(df->d, deferral_fill, df);
    return NULL;
}

/* Defers the reply to a detached thread; false (and a 500) when that cannot start. */
static bool defer_reply(struct echo *e, const struct hs_http_request *req,
                        struct hs_http_response *res, unsigned ms)
{
    struct deferral *df = calloc(1, sizeof(*df));
    pthread_attr_t attr;
    pthread_t t;
    bool ok;

    if (!df)
        return false;
    df->e = e;
    df->ms = ms;
    hm_strlcpy(df->path, req->path, sizeof(df->path));
    df->d = hs_http_defer(res);
    if (!df->d || hs_http_defer(res) != NULL) { /* a second deferral is refused */
        free(df);
        return false;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ok = pthread_create(&t, &attr, deferral_main, df) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) {
        res->status = 500;
        hs_http_complete(df->d, NULL, NULL);
        free(df);
    }
    return true;
}

static bool echo_inline(void *ctx, const struct hs_http_request *req)
{
    unsigned long v;

    (void)ctx;
    return query_num(req->query, "inline", 1, &v) && v == 1;
}

static void echo_handler(void *ctx, const struct hs_http_request *req, struct hs_http_response *res)
{
    struct echo *e = ctx;
    unsigned long v;

    if (query_num(req->query, "defer", 60000, &v)) {
        if (!defer_reply(e, req, res, (unsigned)v))
            res->status = 500;
        return;
    }

    if (query_num(req->query, "sleep", 60000, &v))
        hm_sleep_ms((unsigned)v);
    if (strcmp(req->path, "/stats") == 0) {
        stats_reply(atomic_load(&e->h), atomic_load(&e->fills), res);
        return;
    }
    if (query_num(req->query, "status", 999, &v))
        res->status = (int)v;
    if (query_num(req->query, "hdr", 1, &v) && v == 1) {
        res->header_name[0] = "X-Echo";
        hm_strlcpy(res->header_value[0], "yes", sizeof(res->header_value[0]));
        /* A header with CR LF in it must be dropped by the layer, not sent. */
        res->header_name[1] = "X-Evil";
        hm_strlcpy(res->header_value[1], "a\r\nX-Injected: 1", sizeof(res->header_value[1]));
        res->nheaders = 2;
    }
    hm_buf_add_str(&res->body, "{\"method\":");
    json_str(&res->body, req->method);
    hm_buf_add_str(&res->body, ",\"path\":");
    json_str(&res->body, req->path);
    hm_buf_add_str(&res->body, ",\"query\":");
    json_str(&res->body, req->query);
    hm_buf_addf(&res->body, ",\"body_len\":%zu,\"content_type\":", req->body_len);
    json_str(&res->body, req->content_type);
    hm_buf_add_str(&res->body, ",\"cn\":");
    json_str(&res->body, req->peer ? req->peer->subject_cn : NULL);
    hm_buf_add_str(&res->body, ",\"sha256\":");
    json_str(&res->body, req->peer ? req->peer->sha256 : NULL);
    hm_buf_add_str(&res->body, ",\"serial\":");
    json_str(&res->body, req->peer ? req->peer->serial : NULL);
    hm_buf_add_str(&res->body, ",\"remote\":");
    json_str(&res->body, req->remote_addr);
    hm_buf_add_str(&res->body, "}\n");
}

static bool opt_long(const char *v, long min, long max, long *out)
{
    if (!v || !hm_parse_long(v, min, max, out)) {
        fprintf(stderr, "http_echo: bad number '%s'\n", v ? v : "");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct hs_http_config cfg;
    struct echo e;
    struct hs_http *h = NULL;
    sigset_t stop;
    long drain = 5, v;
    int i, sig;
    hs_rc rc;

    hm_log_init("http_echo", HM_LOG_INFO);
    memset(&cfg, 0, sizeof(cfg));
    atomic_init(&e.h, NULL);
    atomic_init(&e.fills, 0);
    cfg.listen_addr = "127.0.0.1";
    cfg.handler = echo_handler;
    cfg.handler_ctx = &e;
    cfg.inline_ok = echo_inline;
    cfg.io_threads = 2;
    cfg.handler_threads = 8;
    for (i = 1; i < argc; i++) {
        const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

        if (!a) {
            fprintf(stderr, "http_echo: %s needs a value\n", o);
            return 2;
        }
        i++;
        if (strcmp(o, "--cert") == 0)
            cfg.cert_file = a;
        else if (strcmp(o, "--key") == 0)
            cfg.key_file = a;
        else if (strcmp(o, "--client-ca") == 0)
            cfg.client_ca_file = a;
        else if (strcmp(o, "--listen") == 0)
            cfg.listen_addr = a;
        else if (strcmp(o, "--port") == 0 && opt_long(a, 0, 65535, &v))
            cfg.port = (int)v;
        else if (strcmp(o, "--ops-port") == 0 && opt_long(a, 0, 65535, &v)) {
            cfg.ops_addr = "127.0.0.1";
            cfg.ops_port = (int)v;
        } else if (strcmp(o, "--max-body") == 0 && opt_long(a, 1, 1 << 24, &v))
            cfg.max_body = (size_t)v;
        else if (strcmp(o, "--max-header") == 0 && opt_long(a, 1, 1 << 20, &v))
            cfg.max_header = (size_t)v;
        else if (strcmp(o, "--read-timeout") == 0 && opt_long(a, 1, 3600, &v))
            cfg.read_timeout_s = (int)v;
        else if (strcmp(o, "--idle-timeout") == 0 && opt_long(a, 1, 3600, &v))
            cfg.idle_timeout_s = (int)v;
        else if (strcmp(o, "--max-conns") == 0 && opt_long(a, 1, 1 << 20, &v))
            cfg.max_connections = (int)v;
        else if (strcmp(o, "--io-threads") == 0 && opt_long(a, 1, 64, &v))
            cfg.io_threads = (int)v;
        else if (strcmp(o, "--handler-threads") == 0 && opt_long(a, 1, 1024, &v))
            cfg.handler_threads = (int)v;
        else if (strcmp(o, "--drain") == 0 && opt_long(a, 0, 3600, &v))
            drain = v;
        else {
            fprintf(stderr, "http_echo: unknown or bad option %s\n", o);
            return 2;
        }
    }

    /* SIGTERM and SIGINT are taken with sigwait(); every thread inherits the block. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = hs_http_start(&cfg, &h);
    if (rc) {
        fprintf(stderr, "http_echo: cannot start: %s (%s)\n", hs_strerror(rc), hs_rc_name(rc));
        return 1;
    }
    atomic_store(&e.h, h);
    printf("%d %d\n", hs_http_port(h), hs_http_ops_port(h));
    fflush(stdout);

    if (sigwait(&stop, &sig) != 0)
        sig = 0;
    hm_log_info("http_echo: signal %d, draining for at most %ld s", sig, drain);
    hs_http_stop(h, (int)drain);
    hs_http_free(h);
    return 0;
}
