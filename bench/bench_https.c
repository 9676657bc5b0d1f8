/* bench_https: an HTTPS load generator with client certificates (wrk cannot present one), for the
 * server's throughput targets. */
/*
 *   bench_https --url https://127.0.0.1:PORT/path --cert C --key K --cacert CA
 *               [--method GET|POST|PUT|DELETE|HEAD] [--body-file F] [--content-type T]
 *               [--connections N] [--threads T] [--duration S | --requests N]
 *               [--timeout S] [--expect-status CODE] [--json]
 *               [--bodies-file F [--cycle]] [--responses-file F]
 *
 * --bodies-file F: one request body per line, each sent once, in order
 * across the connections; the run stops when they run out (or at
 * --duration). With --cycle the bodies are sent round and round until
 * --duration or --requests ends the run. --responses-file F: the body of every answer with the
 * expected status, one a line (for the benchmarks' preparation: nonces,
 * sessions); answers longer than RESP_KEEP bytes are cut.
 *
 * N connections are spread over T threads; each thread runs one epoll loop
 * over its non-blocking sockets. A connection does one TLS handshake, then
 * sequential HTTP/1.1 keep-alive requests (no pipelining); responses are
 * framed by Content-Length or chunked encoding, and read to the end. All
 * connections are opened and handshaken first (the warm-up); the clock starts
 * when every thread is ready. Latency goes into a log-linear histogram
 * (about 0.1 % resolution). A connection the server closes is opened again
 * (a reconnect) if it had served a response; one that never did is retired,
 * so a server that refuses us ends the run quickly instead of spinning.
 *
 * Only loopback addresses are accepted: this tool must never load another
 * host. The run is bounded by --duration, or by --requests (and then by
 * --duration as a cap, 300 s by default).
 *
 * Exit status: 0 no errors, 1 some requests failed or none completed,
 * 2 usage or set-up error.
 */
#include "hm/util.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX      16384      /* the largest response head we accept */
#define BODY_FILE_MAX (1u << 20) /* the largest request body */
#define READ_CHUNK    65536      /* one SSL_read at most */
#define TICK_MS       100        /* how often a thread looks at the clock at least */
#define MAX_EVENTS    256
#define RESP_KEEP     16384 /* bytes of an answer's body kept for --responses-file */

/* Latency histogram in microseconds: exact below 2048 us, then 1024 buckets per power of two. */
#define HIST_LINEAR   2048
#define HIST_SUB_BITS 10
#define HIST_MAX_BITS 40 /* values are capped at 2^40 us (12 days) */
#define HIST_BUCKETS  (HIST_LINEAR + (HIST_MAX_BITS - 11) * (1u << HIST_SUB_BITS))

enum err_kind { E_CONNECT, E_TLS, E_STATUS, E_PARSE, E_IO, E_TIMEOUT, E_KINDS };
static const char *const err_names[E_KINDS] = {
    [E_CONNECT] = "connect", [E_TLS] = "tls", [E_STATUS] = "status",
    [E_PARSE] = "parse",     [E_IO] = "io",   [E_TIMEOUT] = "timeout",
};

/* What the whole run shares; read-only once the threads start, except the atomics. */
struct run {
    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[64];     /* the literal from the URL, for certificate checks */
    bool host_is_name; /* "localhost": check a DNS name and send SNI */
    char *req;         /* the request, ready to write */
    size_t req_len;
    bool head_method;
    int expect_status;
    uint64_t duration_ns;  /* the run's length, or the cap with --requests */
    uint64_t timeout_ns;   /* per connect, handshake or request */
    uint64_t max_requests; /* 0: no limit, run for duration_ns */
    atomic_uint_fast64_t issued;
    /* --bodies-file: the whole file and where each line starts and ends */
    char *bodies;
    size_t *body_off; /* nbodies + 1 offsets: line i is [off[i], off[i + 1] - 1) */
    size_t nbodies;
    bool cycle; /* --cycle: start again at the first body instead of stopping */
    atomic_size_t next_body;
    const char *ctype;
    char path[1024], host_hdr[96];
    const char *method;
    /* --responses-file */
    FILE *resp_out;
    pthread_mutex_t resp_lock;
    pthread_barrier_t ready;
};

static atomic_bool stop_now;

struct stats {
    uint64_t responses, ok, handshakes, reconnects, unfinished;
    uint64_t err[E_KINDS];
    uint64_t status[600];
    uint64_t lat_sum_us, lat_max_us;
    uint64_t *hist; /* HIST_BUCKETS */
    char first_error[256];
};

enum pstate {
    P_HEAD,
    P_BODY_LEN,
    P_CHUNK_SIZE,
    P_CHUNK_EXT,
    P_CHUNK_SIZE_LF,
    P_CHUNK_DATA,
    P_CHUNK_DATA_CR,
    P_CHUNK_DATA_LF,
    P_TRAILER,
    P_TRAILER_LF,
    P_UNTIL_CLOSE,
    P_DONE,
};

/* One response being read: the head is copied, the body is only counted. */
struct resp {
    enum pstate st;
    size_t head_len;
    int status;
    bool close;
    uint64_t left; /* body bytes, or bytes of the current chunk, still to come */
    int digits;    /* hex digits of the chunk size so far */
    size_t line_len;
    bool keep;       /* copy the body into body[] */
    size_t body_len; /* bytes in body[] */
    char head[HEAD_MAX];
    char body[RESP_KEEP];
};

enum rfeed { R_MORE, R_DONE, R_ERR };

enum cstate {
    C_CONNECTING,
    C_HANDSHAKE,
    C_READY, /* handshaken, waiting for the run to start */
    C_WRITING,
    C_READING,
    C_FINISHED, /* no more requests to send (--requests reached) */
    C_DEAD,     /* retired after an error */
};

struct worker;

struct conn {
    struct worker *w;
    int fd;
    SSL *ssl;
    enum cstate st;
    uint32_t events;  /* the epoll interest registered now */
    uint64_t t_start; /* ns: when the connect or the current request began */
    uint64_t served;  /* responses on this socket */
    char *req;        /* --bodies-file: this connection's current request */
    size_t req_len, req_cap;
    struct resp r;
};

struct worker {
    struct run *run; /* shared: threads write only its atomic counter */
    pthread_t thread;
    int ep;
    bool running; /* false during the warm-up */
    uint64_t t0, t_end, t_warm;
    struct conn *conns;
    size_t nconns;
    struct stats st;
    char scratch[READ_CHUNK];
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- histogram -------------------------------------------------------- */

static size_t hist_index(uint64_t us)
{
    if (us < HIST_LINEAR)
        return (size_t)us;
    if (us >= (1ull << HIST_MAX_BITS))
        us = (1ull << HIST_MAX_BITS) - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us); /* >= 11 */
    unsigned shift = msb - HIST_SUB_BITS;
    return HIST_LINEAR + (size_t)(msb - 11) * (1u << HIST_SUB_BITS) +
           (size_t)((us >> shift) - (1u << HIST_SUB_BITS));
}

/* The middle of bucket i, in microseconds. */
static double hist_value(size_t i)
{
    if (i < HIST_LINEAR)
        return (double)i;
    size_t k = i - HIST_LINEAR;
    unsigned msb = 11u + (unsigned)(k >> HIST_SUB_BITS);
    unsigned shift = msb - HIST_SUB_BITS;
    uint64_t lo = ((uint64_t)(k & ((1u << HIST_SUB_BITS) - 1)) + (1u << HIST_SUB_BITS)) << shift;
    return (double)lo + (double)(1ull << shift) / 2.0;
}

static double hist_percentile(const uint64_t *h, uint64_t total, double p)
{
    uint64_t rank = (uint64_t)(p * (double)total + 0.999999), seen = 0;

    if (total == 0)
        return 0.0;
    if (rank < 1)
        rank = 1;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h[i];
        if (seen >= rank)
            return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---- HTTP response parsing ---------------------------------------------- */

static void resp_reset(struct resp *r)
{
    r->st = P_HEAD;
    r->head_len = 0;
    r->status = 0;
    r->close = false;
    r->left = 0;
    r->digits = 0;
    r->line_len = 0;
    r->body_len = 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Does a comma-separated header value hold TOKEN (case-insensitive)? */
static bool has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token), i = 0;

    while (i < n) {
        size_t s, e;

        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

/*
 * Reads the head in r->head[0, len) (the final CRLF CRLF included) and decides
 * how the body is framed. Returns false on anything malformed.
 */
static bool resp_parse_head(struct resp *r, bool head_method)
{
    const char *p = r->head, *end = r->head + r->head_len;
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    bool http10, chunked = false, has_len = false, keep_alive = false;
    uint64_t len = 0;

    /* "HTTP/1.x SSS[ reason]" */
    if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != ' ')
        return false;
    http10 = p[7] == '0';
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    if (eol - p > 12 && p[12] != ' ')
        return false;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (r->status < 100 || r->status > 599)
        return false;
    p = eol + 2;

    while (p < end) {
        const char *colon, *v, *ve;
        size_t nl;

        eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol + 1 >= end || eol[1] != '\n')
            return false;
        if (eol == p) /* the empty line that ends the head */
            break;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return false;
        nl = (size_t)(colon - p);
        for (size_t i = 0; i < nl; i++)
            if (p[i] <= ' ' || p[i] >= 127)
                return false;
        v = colon + 1;
        ve = eol;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        if (nl == 14 && strncasecmp(p, "content-length", nl) == 0) {
            uint64_t n = 0;

            if (v == ve || ve - v > 18)
                return false;
            for (const char *q = v; q < ve; q++) {
                if (*q < '0' || *q > '9')
                    return false;
                n = n * 10 + (uint64_t)(*q - '0');
            }
            if (has_len && n != len)
                return false;
            has_len = true;
            len = n;
        } else if (nl == 17 && strncasecmp(p, "transfer-encoding", nl) == 0) {
            if (ve - v != 7 || strncasecmp(v, "chunked", 7) != 0)
                return false; /* no other coding is ever expected here */
            chunked = true;
        } else if (nl == 10 && strncasecmp(p, "connection", nl) == 0) {
            if (has_token(v, (size_t)(ve - v), "close"))
                r->close = true;
            if (has_token(v, (size_t)(ve - v), "keep-alive"))
                keep_alive = true;
        }
        p = eol + 2;
    }
    if (http10 && !keep_alive)
        r->close = true;
    if (chunked && has_len)
        return false; /* ambiguous framing (RFC 9112, 6.3) */
    if (r->status < 200 || r->status == 204 || r->status == 304 || head_method) {
        r->st = P_DONE;
    } else if (chunked) {
        r->st = P_CHUNK_SIZE;
    } else if (has_len) {
        r->left = len;
        r->st = len ? P_BODY_LEN : P_DONE;
    } else {
        r->close = true;
        r->st = P_UNTIL_CLOSE;
    }
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The first CR LF CR LF in p[0, n), or NULL (memmem would need _GNU_SOURCE). */
static const char *find_crlfcrlf(const char *p, size_t n)
{
    const char *q = p, *end = p + n;

    while (end - q >= 4 && (q = memchr(q, '\r', (size_t)(end - q - 3))) != NULL) {
        if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n')
            return q;
        q++;
    }
    return NULL;
}

/*
 * Feeds n bytes of the response stream. R_DONE sets *used to the bytes that
 * belonged to this response; interim 1xx responses are skipped.
 */
static enum rfeed resp_feed(struct resp *r, bool head_method, const char *p, size_t n, size_t *used)
{
    size_t i = 0;

    while (i < n) {
        switch (r->st) {
        case P_HEAD: {
            size_t old = r->head_len, take = n - i, from = old > 3 ? old - 3 : 0;
            const char *end;

            if (take > HEAD_MAX - old)
                take = HEAD_MAX - old;
            memcpy(r->head + old, p + i, take);
            r->head_len = old + take;
            end = find_crlfcrlf(r->head + from, r->head_len - from);
            if (!end) {
                if (r->head_len == HEAD_MAX)
                    return R_ERR;
                i += take;
                break;
            }
            r->head_len = (size_t)(end - r->head) + 4;
            i += r->head_len - old;
            if (!resp_parse_head(r, head_method))
                return R_ERR;
            if (r->status >= 100 && r->status < 200) {
                if (r->status == 101)
                    return R_ERR;
                resp_reset(r);
                break;
            }
            if (r->st == P_DONE) {
                *used = i;
                return R_DONE;
            }
            break;
        }
        case P_BODY_LEN: {
            size_t take = n - i;

            if (take > r->left)
                take = (size_t)r->left;
            if (r->keep) {
                size_t k = take < RESP_KEEP - r->body_len ? take : RESP_KEEP - r->body_len;
                memcpy(r->body + r->body_len, p + i, k);
                r->body_len += k;
            }
            r->left -= take;
            i += take;
            if (r->left == 0) {
                r->st = P_DONE;
                *used = i;
                return R_DONE;
            }
            break;
        }
        case P_CHUNK_SIZE: {
            int d = hex_digit(p[i]);

            if (d >= 0) {
                if (++r->digits > 15)
                    return R_ERR;
                r->left = r->left * 16 + (uint64_t)d;
            } else if (r->digits == 0) {
                return R_ERR;
            } else if (p[i] == ';' || is_ows(p[i])) {
                r->st = P_CHUNK_EXT;
            } else if (p[i] == '\r') {
                r->st = P_CHUNK_SIZE_LF;
            } else {
                return R_ERR;
            }
            i++;
            break;
        }
        case P_CHUNK_EXT:
            if (p[i] == '\r')
                r->st = P_CHUNK_SIZE_LF;
            else if (++r->line_len > HEAD_MAX)
                return R_ERR;
            i++;
            break;
        case P_CHUNK_SIZE_LF:
            if (p[i++] != '\n')
                return R_ERR;
            r->line_len = 0;
            r->digits = 0;
            r->st = r->left ? P_CHUNK_DATA : P_TRAILER;
            break;
        case P_CHUNK_DATA: {
            size_t take = n - i;

            if (take > r->left)
                take = (size_t)r->left;
            if (r->keep) {
                size_t k = take < RESP_KEEP - r->body_len ? take : RESP_KEEP - r->body_len;
                memcpy(r->body + r->body_len, p + i, k);
                r->body_len += k;
            }
            r->left -= take;
            i += take;
            if (r->left == 0)
                r->st = P_CHUNK_DATA_CR;
            break;
        }
        case P_CHUNK_DATA_CR:
            if (p[i++] != '\r')
                return R_ERR;
            r->st = P_CHUNK_DATA_LF;
            break;
        case P_CHUNK_DATA_LF:
            if (p[i++] != '\n')
                return R_ERR;
            r->st = P_CHUNK_SIZE;
            break;
        case P_TRAILER:
            if (p[i] == '\r')
                r->st = P_TRAILER_LF;
            else if (++r->line_len > HEAD_MAX)
                return R_ERR;
            i++;
            break;
        case P_TRAILER_LF:
            if (p[i++] != '\n')
                return R_ERR;
            if (r->line_len == 0) {
                r->st = P_DONE;
                *used = i;
                return R_DONE;
            }
            r->line_len = 0;
            r->st = P_TRAILER;
            break;
        case P_UNTIL_CLOSE:
            i = n;
            break;
        case P_DONE:
            return R_ERR;
        }
    }
    *used = n;
    return R_MORE;
}

/* ---- connections -------------------------------------------------------- */

static void note_error(struct worker *w, const char *what)
{
    unsigned long e = ERR_peek_error();
    char buf[160];

    if (w->st.first_error[0] == '\0') {
        if (e) {
            ERR_error_string_n(e, buf, sizeof(buf));
            snprintf(w->st.first_error, sizeof(w->st.first_error), "%s: %s", what, buf);
        } else {
            snprintf(w->st.first_error, sizeof(w->st.first_error), "%s", what);
        }
    }
    ERR_clear_error();
}

static void set_interest(struct conn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };

    if (c->events == events)
        return;
    if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
}

static void conn_close(struct conn *c, bool polite)
{
    if (c->ssl) {
        if (polite)
            (void)SSL_shutdown(c->ssl); /* one close_notify; we do not wait for the peer's */
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    if (c->fd >= 0) {
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    c->events = 0;
}

static void conn_drive(struct conn *c);

/* Starts a non-blocking connect; false (and counted) if it fails at once. */
static bool conn_open(struct conn *c)
{
    struct worker *w = c->w;
    const struct run *run = w->run;
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
    int one = 1;

    c->served = 0;
    c->t_start = now_ns();
    resp_reset(&c->r);
    c->fd = socket(run->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (const struct sockaddr *)&run->addr, run->addr_len) != 0 &&
        errno != EINPROGRESS)
        goto fail;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        goto fail;
    c->events = EPOLLOUT;
    c->st = C_CONNECTING;
    return true;
fail:
    w->st.err[E_CONNECT]++;
    note_error(w, strerror(errno));
    conn_close(c, false);
    c->st = C_DEAD;
    return false;
}

/*
 * A connection failed: counts the error, then opens it again if it had
 * served a response on this socket during the run, or retires it.
 */
static void conn_fail(struct conn *c, enum err_kind kind, const char *what)
{
    struct worker *w = c->w;
    bool again = w->running && c->served > 0;

    w->st.err[kind]++;
    note_error(w, what);
    conn_close(c, false);
    c->st = C_DEAD;
    if (again) {
        w->st.reconnects++;
        conn_open(c); /* driven again once the socket is writable */
    }
}

/* The server ended a keep-alive connection by the rules (Connection: close): open it again. */
static void conn_reopen(struct conn *c)
{
    conn_close(c, true);
    c->st = C_DEAD;
    c->w->st.reconnects++;
    conn_open(c);
}

/* --bodies-file: builds the request for the next unused body; false when none is left. */
static bool conn_build(struct conn *c)
{
    struct run *run = c->w->run;
    size_t i = atomic_fetch_add_explicit(&run->next_body, 1, memory_order_relaxed);

    if (run->cycle && run->nbodies)
        i %= run->nbodies;
    if (i >= run->nbodies)
        return false;
    size_t off = run->body_off[i], len = run->body_off[i + 1] - 1 - off;
    size_t need = 512 + strlen(run->path) + strlen(run->ctype) + len;

    if (need > c->req_cap) {
        char *n = realloc(c->req, need);
        if (!n)
            return false;
        c->req = n;
        c->req_cap = need;
    }
    int n = snprintf(c->req, c->req_cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: huimin-bench_https\r\n"
                     "Accept: */*\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     run->method, run->path, run->host_hdr, run->ctype, len);
    if (n < 0 || (size_t)n + len > c->req_cap)
        return false;
    memcpy(c->req + n, run->bodies + off, len);
    c->req_len = (size_t)n + len;
    return true;
}

/* Sends the next request, if the run wants one more. */
static void conn_next(struct conn *c)
{
    struct worker *w = c->w;
    struct run *run = w->run;

    if (!w->running) {
        c->st = C_READY;
        set_interest(c, EPOLLIN);
        return;
    }
    if (run->max_requests &&
        atomic_fetch_add_explicit(&run->issued, 1, memory_order_relaxed) >= run->max_requests) {
        conn_close(c, true);
        c->st = C_FINISHED;
        return;
    }
    if (run->bodies && !conn_build(c)) {
        conn_close(c, true);
        c->st = C_FINISHED;
        return;
    }
    resp_reset(&c->r);
    c->r.keep = run->resp_out != NULL;
    c->t_start = now_ns();
    c->st = C_WRITING;
}

static void conn_response_done(struct conn *c)
{
    struct worker *w = c->w;
    uint64_t us = (now_ns() - c->t_start) / 1000u;

    w->st.responses++;
    w->st.status[c->r.status]++;
    if (c->r.status == w->run->expect_status) {
        w->st.ok++;
    } else {
        w->st.err[E_STATUS]++;
        if (w->st.first_error[0] == '\0')
            snprintf(w->st.first_error, sizeof(w->st.first_error), "status %d (expected %d)",
                     c->r.status, w->run->expect_status);
    }
    if (w->run->resp_out && c->r.status == w->run->expect_status) {
        pthread_mutex_lock(&w->run->resp_lock);
        fwrite(c->r.body, 1, c->r.body_len, w->run->resp_out);
        fputc('\n', w->run->resp_out);
        pthread_mutex_unlock(&w->run->resp_lock);
    }
    w->st.hist[hist_index(us)]++;
    w->st.lat_sum_us += us;
    if (us > w->st.lat_max_us)
        w->st.lat_max_us = us;
    c->served++;
}

/* Maps an SSL want to the epoll interest; returns false for a real error. */
static bool want_io(struct conn *c, int e)
{
    if (e == SSL_ERROR_WANT_READ) {
        set_interest(c, EPOLLIN);
        return true;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        set_interest(c, EPOLLIN | EPOLLOUT);
        return true;
    }
    return false;
}

/* Runs one connection's state machine until it must wait for the socket. */
static void conn_drive(struct conn *c)
{
    struct worker *w = c->w;
    const struct run *run = w->run;

    for (;;) {
        switch (c->st) {
        case C_CONNECTING: {
            struct sockaddr_storage peer;
            socklen_t sl = sizeof(int), pl = sizeof(peer);
            int soerr = 0;

            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr == 0 && getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0 &&
                errno == ENOTCONN)
                return; /* a stale event: the connect is still under way */
            if (soerr != 0) {
                errno = soerr;
                conn_fail(c, E_CONNECT, strerror(soerr));
                return;
            }
            c->ssl = SSL_new(run->ctx);
            if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
                conn_fail(c, E_TLS, "SSL_new");
                return;
            }
            if (run->host_is_name) {
                /* A writable copy: the SNI macro casts away const (-Wcast-qual). */
                char sni[sizeof(run->host)];
                memcpy(sni, run->host, sizeof(sni));
                if (SSL_set_tlsext_host_name(c->ssl, sni) != 1 ||
                    SSL_set1_host(c->ssl, run->host) != 1) {
                    conn_fail(c, E_TLS, "SSL_set1_host");
                    return;
                }
            } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), run->host) != 1) {
                conn_fail(c, E_TLS, "X509_VERIFY_PARAM_set1_ip_asc");
                return;
            }
            SSL_set_connect_state(c->ssl);
            c->st = C_HANDSHAKE;
            set_interest(c, EPOLLIN);
            break;
        }
        case C_HANDSHAKE: {
            int r = SSL_do_handshake(c->ssl);

            if (r == 1) {
                w->st.handshakes++;
                conn_next(c);
                break;
            }
            if (!want_io(c, SSL_get_error(c->ssl, r))) {
                long v = SSL_get_verify_result(c->ssl);
                char what[160];

                snprintf(what, sizeof(what), "TLS handshake%s%s",
                         v != X509_V_OK ? ", server certificate: " : "",
                         v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
                conn_fail(c, E_TLS, what);
            }
            return;
        }
        case C_READY: {
            /* Idle before the run: take in session tickets; nothing else may come. */
            int r = SSL_read(c->ssl, w->scratch, sizeof(w->scratch));
            int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);

            if (r > 0)
                conn_fail(c, E_PARSE, "data before any request");
            else if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
                /* With TLS 1.3 a refused client certificate shows only now, as a close. */
                conn_fail(c, E_TLS,
                          "closed by the server after the handshake "
                          "(client certificate refused?)");
            else if (!want_io(c, e))
                conn_fail(c, E_TLS, "TLS (idle)");
            return;
        }
        case C_WRITING: {
            int r = run->bodies ? SSL_write(c->ssl, c->req, (int)c->req_len)
                                : SSL_write(c->ssl, run->req, (int)run->req_len);

            if (r > 0) {
                c->st = C_READING;
                set_interest(c, EPOLLIN);
                return; /* the answer comes later: wait for the socket */
            }
            int e = SSL_get_error(c->ssl, r);
            if (!want_io(c, e))
                conn_fail(c, e == SSL_ERROR_SSL ? E_TLS : E_IO, "write");
            return;
        }
        case C_READING: {
            int r = SSL_read(c->ssl, w->scratch, sizeof(w->scratch));

            if (r > 0) {
                size_t used = 0;
                enum rfeed f = resp_feed(&c->r, run->head_method, w->scratch, (size_t)r, &used);

                if (f == R_MORE)
                    break;
                if (f == R_ERR || used != (size_t)r || SSL_pending(c->ssl) > 0) {
                    conn_fail(c, E_PARSE,
                              f == R_ERR ? "malformed response" : "bytes after the response");
                    return;
                }
                conn_response_done(c);
                if (c->r.close) {
                    conn_reopen(c);
                    return;
                }
                conn_next(c);
                break;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) {
                if (c->r.st == P_UNTIL_CLOSE) {
                    conn_response_done(c);
                    conn_reopen(c);
                } else {
                    conn_fail(c, E_IO, "closed by the server during a request");
                }
                return;
            }
            if (!want_io(c, e))
                conn_fail(c, e == SSL_ERROR_SSL ? E_TLS : E_IO, "read");
            return;
        }
        case C_FINISHED:
        case C_DEAD:
            return;
        }
    }
}

static bool conn_busy(const struct conn *c)
{
    return c->st == C_CONNECTING || c->st == C_HANDSHAKE || c->st == C_WRITING ||
           c->st == C_READING;
}

/* Fails whatever has waited longer than the timeout; returns how many connections still live. */
static size_t sweep(struct worker *w, uint64_t now)
{
    size_t live = 0;

    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];

        if (conn_busy(c) && now - c->t_start > w->run->timeout_ns)
            conn_fail(c, E_TIMEOUT, "timed out");
        if (c->st != C_DEAD && c->st != C_FINISHED)
            live++;
    }
    return live;
}

static void poll_once(struct worker *w, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(w->ep, evs, MAX_EVENTS, timeout_ms);

    for (int i = 0; i < n; i++)
        conn_drive(evs[i].data.ptr);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct run *run = w->run;
    uint64_t start = now_ns(), last_sweep, deadline;

    for (size_t i = 0; i < w->nconns; i++)
        conn_open(&w->conns[i]);
    /* Warm-up: every connection handshaken (or failed) before the clock starts. */
    for (;;) {
        size_t pending = 0;

        for (size_t i = 0; i < w->nconns; i++)
            if (conn_busy(&w->conns[i]))
                pending++;
        if (pending == 0 || atomic_load(&stop_now))
            break;
        poll_once(w, TICK_MS);
        sweep(w, now_ns());
    }
    w->t_warm = now_ns() - start;
    pthread_barrier_wait(&w->run->ready);

    w->running = true;
    w->t0 = now_ns();
    deadline = w->t0 + run->duration_ns;
    last_sweep = w->t0;
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];

        if (c->st == C_READY) {
            conn_next(c);
            conn_drive(c);
        }
    }
    for (;;) {
        uint64_t now = now_ns();
        int timeout_ms;

        if (now >= deadline || atomic_load_explicit(&stop_now, memory_order_relaxed))
            break;
        if (now - last_sweep >= TICK_MS * 1000000ull) {
            last_sweep = now;
            if (sweep(w, now) == 0)
                break;
        }
        timeout_ms = (int)((deadline - now) / 1000000u) + 1;
        if (timeout_ms > TICK_MS)
            timeout_ms = TICK_MS;
        poll_once(w, timeout_ms);
    }
    w->t_end = now_ns();
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];

        if (c->st == C_WRITING || c->st == C_READING)
            w->st.unfinished++;
        conn_close(c, false);
    }
    return NULL;
}

/* ---- set-up ------------------------------------------------------------- */

/*
 * Parses https://HOST[:PORT][/path]. HOST must be a loopback literal
 * (127.0.0.0/8, [::1]) or "localhost" (taken as 127.0.0.1, without asking
 * any resolver).
 */
static bool parse_url(const char *url, struct run *run, char *host_hdr, size_t hcap,
                      const char **path)
{
    const char *p, *h_end, *port_s = NULL;
    char host[64], port_buf[8];
    long port = 443;
    bool v6 = false;
    size_t hl;

    if (strncmp(url, "https://", 8) != 0) {
        fprintf(stderr, "bench_https: the URL must start with https://\n");
        return false;
    }
    p = url + 8;
    if (*p == '[') {
        h_end = strchr(p, ']');
        if (!h_end)
            return false;
        hl = (size_t)(h_end - p - 1);
        if (hl == 0 || hl >= sizeof(host))
            return false;
        memcpy(host, p + 1, hl);
        host[hl] = '\0';
        v6 = true;
        p = h_end + 1;
    } else {
        hl = strcspn(p, ":/");
        if (hl == 0 || hl >= sizeof(host))
            return false;
        memcpy(host, p, hl);
        host[hl] = '\0';
        p += hl;
    }
    if (*p == ':') {
        size_t pl = strcspn(p + 1, "/");

        if (pl == 0 || pl >= sizeof(port_buf))
            return false;
        memcpy(port_buf, p + 1, pl);
        port_buf[pl] = '\0';
        port_s = port_buf;
        p += 1 + pl;
    }
    if (port_s && !hm_parse_long(port_s, 1, 65535, &port))
        return false;
    *path = *p ? p : "/";
    if (**path != '/')
        return false;
    for (const char *q = *path; *q; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 127 || *q == '"' || *q == '\\' ||
            *q == '#')
            return false;

    memset(&run->addr, 0, sizeof(run->addr));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&run->addr;

        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return false;
        if (!IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) &&
            !(IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127)) {
            fprintf(stderr, "bench_https: refusing %s: only loopback addresses are allowed\n",
                    host);
            return false;
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        run->addr_len = sizeof(*a);
        snprintf(host_hdr, hcap, "[%s]:%ld", host, port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&run->addr;
        const char *lit = host;

        if (strcasecmp(host, "localhost") == 0) {
            lit = "127.0.0.1";
            run->host_is_name = true;
        }
        if (inet_pton(AF_INET, lit, &a->sin_addr) != 1) {
            fprintf(stderr,
                    "bench_https: refusing '%s': give a loopback address (127.0.0.1, [::1])\n",
                    host);
            return false;
        }
        if ((ntohl(a->sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "bench_https: refusing %s: only loopback addresses are allowed\n",
                    host);
            return false;
        }
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        run->addr_len = sizeof(*a);
        snprintf(host_hdr, hcap, "%s:%ld", host, port);
    }
    hm_strlcpy(run->host, run->host_is_name ? "localhost" : host, sizeof(run->host));
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= 0.01 && v <= 3600.0))
        return false;
    *out = v;
    return true;
}

static bool read_body(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n = 0;

    if (!f)
        return false;
    b = malloc(BODY_FILE_MAX + 1);
    if (b)
        n = fread(b, 1, BODY_FILE_MAX + 1, f);
    if (!b || ferror(f) || n > BODY_FILE_MAX) {
        fclose(f);
        free(b);
        return false;
    }
    fclose(f);
    *out = b;
    *len = n;
    return true;
}

/* --bodies-file: the whole file; each line (ended by a newline) is one body. */
static bool read_bodies(const char *path, struct run *run)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    size_t n = 0, count = 0;

    if (!f)
        return false;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || (uint64_t)sb.st_size > (1ull << 34)) {
        fclose(f);
        return false;
    }
    run->bodies = malloc((size_t)sb.st_size + 1);
    if (run->bodies)
        n = fread(run->bodies, 1, (size_t)sb.st_size, f);
    fclose(f);
    if (!run->bodies || n != (size_t)sb.st_size)
        return false;
    if (run->bodies[n - 1] != '\n')
        run->bodies[n++] = '\n';
    for (size_t i = 0; i < n; i++)
        count += run->bodies[i] == '\n';
    run->body_off = malloc((count + 1) * sizeof(*run->body_off));
    if (!run->body_off)
        return false;
    run->body_off[0] = 0;
    for (size_t i = 0, k = 1; i < n; i++)
        if (run->bodies[i] == '\n')
            run->body_off[k++] = i + 1;
    run->nbodies = count;
    atomic_init(&run->next_body, 0);
    return true;
}

static SSL_CTX *make_ctx(const char *cert, const char *key, const char *cacert)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Every connection does one full handshake: no resumption to hide its cost. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* Read whole records (and more) in one system call. */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* A peer that closes without close_notify has still ended the stream (HTTP frames itself). */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_now, true);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_https --url https://127.0.0.1:PORT/path --cert C --key K --cacert CA\n"
            "         [--method GET|POST|PUT|DELETE|HEAD] [--body-file F] [--content-type T]\n"
            "         [--connections N] [--threads T] [--duration S | --requests N]\n"
            "         [--timeout S] [--expect-status CODE] [--json]\n"
            "         [--bodies-file F (one body a line, each sent once)] [--cycle (then again)]\n"
            "         [--responses-file F]\n"
            "  HTTPS load with a client certificate, over keep-alive connections, to a loopback\n"
            "  address only. Defaults: GET, 16 connections, 1 thread, 10 s, timeout 10 s,\n"
            "  expect 200; with --requests the run is capped at --duration (default 300 s).\n"
            "exit status: 0 no errors, 1 errors or no response, 2 usage or set-up error\n");
}

enum {
    O_URL = 1000,
    O_CERT,
    O_KEY,
    O_CACERT,
    O_METHOD,
    O_BODY,
    O_CTYPE,
    O_CONNS,
    O_THREADS,
    O_DURATION,
    O_REQUESTS,
    O_TIMEOUT,
    O_EXPECT,
    O_JSON,
    O_HELP,
    O_BODIES,
    O_CYCLE,
    O_RESPONSES,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "url", required_argument, NULL, O_URL },
        { "cert", required_argument, NULL, O_CERT },
        { "key", required_argument, NULL, O_KEY },
        { "cacert", required_argument, NULL, O_CACERT },
        { "method", required_argument, NULL, O_METHOD },
        { "body-file", required_argument, NULL, O_BODY },
        { "content-type", required_argument, NULL, O_CTYPE },
        { "connections", required_argument, NULL, O_CONNS },
        { "threads", required_argument, NULL, O_THREADS },
        { "duration", required_argument, NULL, O_DURATION },
        { "requests", required_argument, NULL, O_REQUESTS },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "expect-status", required_argument, NULL, O_EXPECT },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { "bodies-file", required_argument, NULL, O_BODIES },
        { "cycle", no_argument, NULL, O_CYCLE },
        { "responses-file", required_argument, NULL, O_RESPONSES },
        { NULL, 0, NULL, 0 },
    };
    static struct run run;
    const char *url = NULL, *cert = NULL, *key = NULL, *cacert = NULL, *method = "GET";
    const char *body_file = NULL, *ctype = NULL, *path = "/";
    const char *bodies_file = NULL, *responses_file = NULL;
    char host_hdr[96];
    char *body = NULL;
    size_t body_len = 0;
    long conns = 16, threads = 1, requests = 0, expect = 200;
    double duration = 0.0, timeout = 10.0;
    bool json = false, have_duration = false;
    struct worker *ws = NULL;
    struct stats tot = { 0 };
    int opt, rc = 2;
    size_t nthreads = 0, started = 0;
    struct rusage ru0, ru1;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;

        switch (opt) {
        case O_URL:
            url = optarg;
            break;
        case O_CERT:
            cert = optarg;
            break;
        case O_KEY:
            key = optarg;
            break;
        case O_CACERT:
            cacert = optarg;
            break;
        case O_METHOD:
            method = optarg;
            ok = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
                 strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
                 strcmp(method, "HEAD") == 0;
            break;
        case O_BODY:
            body_file = optarg;
            break;
        case O_CTYPE:
            ctype = optarg;
            for (const char *q = ctype; *q; q++)
                if ((unsigned char)*q < ' ' || (unsigned char)*q >= 127)
                    ok = false;
            break;
        case O_CONNS:
            ok = hm_parse_long(optarg, 1, 10000, &conns);
            break;
        case O_THREADS:
            ok = hm_parse_long(optarg, 1, 64, &threads);
            break;
        case O_DURATION:
            ok = parse_seconds(optarg, &duration);
            have_duration = true;
            break;
        case O_REQUESTS:
            ok = hm_parse_long(optarg, 1, 1000000000L, &requests);
            break;
        case O_TIMEOUT:
            ok = parse_seconds(optarg, &timeout);
            break;
        case O_EXPECT:
            ok = hm_parse_long(optarg, 100, 599, &expect);
            break;
        case O_JSON:
            json = true;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        case O_BODIES:
            bodies_file = optarg;
            break;
        case O_CYCLE:
            run.cycle = true;
            break;
        case O_RESPONSES:
            responses_file = optarg;
            break;
        default:
            ok = false;
        }
        if (!ok) {
            if (opt != '?')
                fprintf(stderr, "bench_https: bad value for --%s\n", longopts[opt - O_URL].name);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !url || !cert || !key || !cacert || (bodies_file && body_file)) {
        usage(stderr);
        return 2;
    }
    if (!have_duration)
        duration = requests ? 300.0 : 10.0;
    if (threads > conns)
        threads = conns;
    if (!parse_url(url, &run, host_hdr, sizeof(host_hdr), &path)) {
        fprintf(stderr, "bench_https: cannot use the URL '%s'\n", url);
        return 2;
    }
    if (body_file && !read_body(body_file, &body, &body_len)) {
        fprintf(stderr, "bench_https: cannot read the body file %s (at most %u bytes)\n", body_file,
                BODY_FILE_MAX);
        return 2;
    }

    if (bodies_file && !read_bodies(bodies_file, &run)) {
        fprintf(stderr, "bench_https: cannot read the bodies file %s (one body a line)\n",
                bodies_file);
        return 2;
    }
    if (bodies_file) {
        if (hm_strlcpy(run.path, path, sizeof(run.path)) >= sizeof(run.path)) {
            fprintf(stderr, "bench_https: the path is too long\n");
            goto out;
        }
        hm_strlcpy(run.host_hdr, host_hdr, sizeof(run.host_hdr));
        run.method = method;
        run.ctype = ctype ? ctype : "application/json";
    }
    if (responses_file) {
        run.resp_out = fopen(responses_file, "w");
        if (!run.resp_out || pthread_mutex_init(&run.resp_lock, NULL) != 0) {
            fprintf(stderr, "bench_https: cannot write %s\n", responses_file);
            goto out;
        }
    }

    /* The request, built once and shared by every connection. */
    {
        bool with_body = body_file || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
        size_t cap = 1024 + strlen(path) + (ctype ? strlen(ctype) : 0) + body_len;
        int n;

        run.req = malloc(cap);
        if (!run.req)
            goto out;
        n = snprintf(run.req, cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: huimin-bench_https\r\n"
                     "Accept: */*\r\n",
                     method, path, host_hdr);
        if (with_body)
            n += snprintf(run.req + n, cap - (size_t)n,
                          "Content-Type: %s\r\nContent-Length: %zu\r\n",
                          ctype ? ctype : "application/octet-stream", body_len);
        n += snprintf(run.req + n, cap - (size_t)n, "\r\n");
        if (body_len)
            memcpy(run.req + n, body, body_len);
        run.req_len = (size_t)n + body_len;
    }
    run.head_method = strcmp(method, "HEAD") == 0;
    run.expect_status = (int)expect;
    run.duration_ns = (uint64_t)(duration * 1e9);
    run.timeout_ns = (uint64_t)(timeout * 1e9);
    run.max_requests = (uint64_t)requests;
    atomic_init(&run.issued, 0);

    run.ctx = make_ctx(cert, key, cacert);
    if (!run.ctx) {
        fprintf(stderr, "bench_https: cannot load the certificate, key or CA file\n");
        goto out;
    }

    {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 64) {
            rl.rlim_cur = rl.rlim_max < (rlim_t)conns + 64 ? rl.rlim_max : (rlim_t)conns + 64;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    {
        struct sigaction sa = { .sa_handler = on_signal };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }

    nthreads = (size_t)threads;
    ws = calloc(nthreads, sizeof(*ws));
    if (!ws || pthread_barrier_init(&run.ready, NULL, (unsigned)nthreads) != 0)
        goto out;
    for (size_t i = 0; i < nthreads; i++) {
        struct worker *w = &ws[i];

        w->run = &run;
        w->ep = -1;
        w->nconns = (size_t)conns / nthreads + (i < (size_t)conns % nthreads);
        w->conns = calloc(w->nconns, sizeof(*w->conns));
        w->st.hist = calloc(HIST_BUCKETS, sizeof(*w->st.hist));
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!w->conns || !w->st.hist || w->ep < 0)
            goto out;
        for (size_t j = 0; j < w->nconns; j++) {
            w->conns[j].w = w;
            w->conns[j].fd = -1;
            w->conns[j].st = C_DEAD;
        }
    }
    getrusage(RUSAGE_SELF, &ru0);
    for (; started < nthreads; started++)
        if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0)
            break;
    if (started < nthreads) {
        /* The barrier waits for every thread: without them all we cannot run. */
        fprintf(stderr, "bench_https: cannot start %zu threads\n", nthreads);
        abort();
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    getrusage(RUSAGE_SELF, &ru1);

    /* Sum the threads' numbers. */
    {
        uint64_t t0 = UINT64_MAX, t_end = 0, warm = 0;
        double elapsed, cpu, rps, rps_all, p50, p95, p99, mean;
        uint64_t errors = 0;
        const char *first_error = "";

        tot.hist = calloc(HIST_BUCKETS, sizeof(*tot.hist));
        if (!tot.hist)
            goto out;
        for (size_t i = 0; i < nthreads; i++) {
            struct stats *s = &ws[i].st;

            if (ws[i].t0 < t0)
                t0 = ws[i].t0;
            if (ws[i].t_end > t_end)
                t_end = ws[i].t_end;
            if (ws[i].t_warm > warm)
                warm = ws[i].t_warm;
            tot.responses += s->responses;
            tot.ok += s->ok;
            tot.handshakes += s->handshakes;
            tot.reconnects += s->reconnects;
            tot.unfinished += s->unfinished;
            tot.lat_sum_us += s->lat_sum_us;
            if (s->lat_max_us > tot.lat_max_us)
                tot.lat_max_us = s->lat_max_us;
            for (int k = 0; k < E_KINDS; k++)
                tot.err[k] += s->err[k];
            for (size_t k = 0; k < HM_ARRAY_SIZE(s->status); k++)
                tot.status[k] += s->status[k];
            for (size_t k = 0; k < HIST_BUCKETS; k++)
                tot.hist[k] += s->hist[k];
            if (!first_error[0] && s->first_error[0])
                first_error = s->first_error;
        }
        for (int k = 0; k < E_KINDS; k++)
            errors += tot.err[k];
        elapsed = t_end > t0 ? (double)(t_end - t0) / 1e9 : 0.0;
        cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                       ru0.ru_stime.tv_sec) +
              (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                       ru0.ru_stime.tv_usec) /
                  1e6;
        rps = elapsed > 0 ? (double)tot.ok / elapsed : 0.0;
        rps_all = elapsed > 0 ? (double)tot.responses / elapsed : 0.0;
        p50 = hist_percentile(tot.hist, tot.responses, 0.50) / 1000.0;
        p95 = hist_percentile(tot.hist, tot.responses, 0.95) / 1000.0;
        p99 = hist_percentile(tot.hist, tot.responses, 0.99) / 1000.0;
        mean = tot.responses ? (double)tot.lat_sum_us / (double)tot.responses / 1000.0 : 0.0;

        if (json) {
            printf("{\"url\":");
            json_str(stdout, url);
            printf(",\"method\":\"%s\",\"connections\":%ld,\"threads\":%zu,\"elapsed_s\":%.3f,"
                   "\"warmup_ms\":%.1f,\"requests\":%" PRIu64 ",\"ok\":%" PRIu64
                   ",\"rps\":%.1f,\"rps_all\":%.1f,"
                   "\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
                   "\"mean\":%.3f},\"handshakes\":%" PRIu64 ",\"reconnects\":%" PRIu64
                   ",\"unfinished\":%" PRIu64 ",\"errors\":{",
                   method, conns, nthreads, elapsed, (double)warm / 1e6, tot.responses, tot.ok, rps,
                   rps_all, p50, p95, p99, (double)tot.lat_max_us / 1000.0, mean, tot.handshakes,
                   tot.reconnects, tot.unfinished);
            for (int k = 0; k < E_KINDS; k++)
                printf("\"%s\":%" PRIu64 ",", err_names[k], tot.err[k]);
            printf("\"total\":%" PRIu64 "},\"status\":{", errors);
            for (size_t k = 0, first = 1; k < HM_ARRAY_SIZE(tot.status); k++)
                if (tot.status[k]) {
                    printf("%s\"%zu\":%" PRIu64, first ? "" : ",", k, tot.status[k]);
                    first = 0;
                }
            printf("},\"client_cpu_s\":%.2f,\"first_error\":", cpu);
            json_str(stdout, first_error);
            printf("}\n");
        } else {
            printf("bench_https: %s %s, %ld connections on %zu threads, %.2f s "
                   "(warm-up %.1f ms)\n",
                   method, url, conns, nthreads, elapsed, (double)warm / 1e6);
            printf("  requests    %" PRIu64 " (status %d: %" PRIu64 ")\n", tot.responses,
                   run.expect_status, tot.ok);
            printf("  throughput  %.1f req/s with status %d (%.1f req/s in all)\n", rps,
                   run.expect_status, rps_all);
            printf("  latency ms  p50 %.3f  p95 %.3f  p99 %.3f  max %.3f  mean %.3f\n", p50, p95,
                   p99, (double)tot.lat_max_us / 1000.0, mean);
            printf("  handshakes  %" PRIu64 "  reconnects %" PRIu64
                   "  unfinished at the end %" PRIu64 "\n",
                   tot.handshakes, tot.reconnects, tot.unfinished);
            printf("  errors      %" PRIu64 ":", errors);
            for (int k = 0; k < E_KINDS; k++)
                printf(" %s %" PRIu64, err_names[k], tot.err[k]);
            printf("\n  client cpu  %.2f s (%.1f us a request)\n", cpu,
                   tot.responses ? cpu * 1e6 / (double)tot.responses : 0.0);
        }
        if (first_error[0])
            fprintf(stderr, "bench_https: first error: %s\n", first_error);
        rc = errors == 0 && tot.responses > 0 ? 0 : 1;
    }

out:
    if (ws) {
        for (size_t i = 0; i < nthreads; i++) {
            if (ws[i].ep >= 0)
                close(ws[i].ep);
            for (size_t j = 0; ws[i].conns && j < ws[i].nconns; j++)
                free(ws[i].conns[j].req);
            free(ws[i].conns);
            free(ws[i].st.hist);
        }
        if (started == nthreads && nthreads > 0)
            pthread_barrier_destroy(&run.ready);
        free(ws);
    }
    free(tot.hist);
    free(run.req);
    free(body);
    free(run.bodies);
    free(run.body_off);
    if (run.resp_out && fclose(run.resp_out) != 0) {
        fprintf(stderr, "bench_https: writing %s failed\n", responses_file);
        rc = 2;
    }
    SSL_CTX_free(run.ctx);
    return rc;
}
