/* The HTTPS front: libevent's evhttp over OpenSSL bufferevents, the one file that sees either. */
#include "hs/http.h"

#include "hm/log.h"
#include "hm/util.h"
#include "pool.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * How the pieces fit.
 *
 * Each event loop owns an event_base, an evhttp bound to its own listening
 * socket (SO_REUSEPORT: the kernel spreads connections over the loops, and no
 * loop wakes for another's connection), and a list of the connections it
 * accepted. Loop 0 also owns the optional ops listener.
 *
 * A connection is a struct conn, created in the bevcb when evhttp accepts.
 * We hold our own reference on its bufferevent, so the bufferevent (and its
 * SSL) outlives evhttp's connection object until the loop's sweep notices
 * that evhttp let go of it (its callbacks are cleared) and releases it. That
 * gives every connection, even one that fails its handshake, exactly one
 * place where it ends: that is where TLS failures are counted and logged.
 *
 * libevent 2.1 has one timeout per connection, reset by every byte. We want
 * two: a request must be read within read_timeout_s of its first byte (so a
 * client that trickles bytes is still cut off), and a keep-alive connection
 * may idle for idle_timeout_s. The sweep timer (SWEEP_MS) enforces both
 * deadlines by raising a timeout on the bufferevent, which evhttp handles as
 * its own read timeout: it closes the connection. evhttp's own timeout is
 * set longer, as a backstop for slow writers.
 *
 * A complete request is copied into a struct job and pushed to the handler
 * pool. The handler's reply comes back on the loop's done queue (a mutex and
 * an event made active from the handler thread) and is sent on the loop.
 * While the handler runs, the job and the connection point at each other;
 * evhttp's close callback breaks the link, so a reply for a closed
 * connection finds job->req == NULL and is dropped. Only loop threads touch
 * evhttp objects, conns and job->req; handler threads touch only the copied
 * request and the response.
 */

#define SWEEP_MS             200
#define LISTEN_BACKLOG       1024
#define RESPONSE_MAX         (16u << 20) /* the most a handler may append to a reply body */
#define DEFAULT_MAX_HEADER   8192
#define DEFAULT_MAX_BODY     65536
#define DEFAULT_READ_TIMEOUT 10
#define DEFAULT_IDLE_TIMEOUT 60
#define DEFAULT_MAX_CONNS    4096
#define DEFAULT_HANDLERS     32
#define MAX_IO_THREADS       64
#define MAX_HANDLERS         1024
#define TLS_RECORD_MAX       16384 /* the most plaintext one TLS record holds */

enum conn_kind { CONN_TLS = 0, CONN_OPS = 1 };

enum conn_phase {
    PHASE_NEW,      /* accepted; TLS handshake (or the first byte) pending */
    PHASE_IDLE,     /* waiting for the first byte of a request */
    PHASE_READING,  /* some of a request has arrived */
    PHASE_HANDLING, /* a complete request is with a handler */
    PHASE_WRITING,  /* the reply is being flushed */
};

struct loop;
struct job;

struct conn {
    struct conn *prev, *next; /* in loop->conns[kind] */
    struct loop *loop;
    enum conn_kind kind;
    struct bufferevent *bev; /* our own reference, dropped in conn_release() */
    struct evbuffer_cb_entry *in_cb, *out_cb;
    struct evhttp_connection *evcon; /* known from the first request; NULL once closed */
    struct job *job;                 /* the request in progress (one at a time) */
    enum conn_phase phase;
    uint64_t deadline_ms; /* 0: none */
    bool refused;         /* over max_connections: closed at once */
    bool closing;         /* we asked evhttp to close it */
    bool close_after;     /* the next reply says Connection: close */
    bool hs_started, hs_done;
    bool peer_ok; /* a verified client certificate is in peer */
    struct hs_peer peer;
    long verify_err; /* the first certificate verification error, 0 if none */
    char alert[64];  /* the fatal alert we sent during the handshake, if any */
    char addr[INET6_ADDRSTRLEN];
};

struct job {
    struct hs_pool_job pool; /* first: the pool links jobs through it */
    struct job *next_done;
    struct hs_http *h;
    struct loop *loop;
    /* Loop thread only; both become NULL when the connection closes first. */
    struct conn *conn;
    struct evhttp_request *req;
    bool writing;         /* the reply has been handed to evhttp */
    bool deferred;        /* hs_http_defer() was called (handler thread only) */
    atomic_int pending;   /* deferred: the handler's return and hs_http_complete() still due */
    hs_http_fill_fn fill; /* deferred: finishes rs on the loop; run once, then NULL */
    void *fill_arg;
    bool held;          /* the test delay has been applied (test_delay_ms) */
    struct event *hold; /* its timer while held; loop thread only */
    struct job *next_held;
    uint64_t start_us;
    /* The handler's view, and the memory behind it. */
    struct hs_http_request rq;
    struct hs_http_response rs;
    struct hs_peer peer;
    char remote_addr[INET6_ADDRSTRLEN];
    char *path, *query, *content_type, *accept_language;
    uint8_t *body;
};

struct loop {
    struct hs_http *h;
    int index;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct evhttp *http, *ops_http;
    struct evhttp_bound_socket *bound, *ops_bound;
    struct event *wake;   /* made active by handler threads and hs_http_stop() */
    struct event *sweep;  /* deadlines and the release of closed connections */
    pthread_mutex_t lock; /* guards done_*, stop_cmd and exit_cmd */
    struct job *done_head, *done_tail;
    bool stop_cmd, exit_cmd;
    bool draining;    /* loop thread only */
    struct job *held; /* replies waiting out test_delay_ms; loop thread only */
    struct conn *conns[2];
};

struct hs_http {
    hs_http_handler handler;
    hs_http_inline_fn inline_ok;
    void *handler_ctx;
    size_t max_header, max_body;
    int read_timeout_s, idle_timeout_s, max_connections;
    int test_delay_ms;
    SSL_CTX *ssl_ctx;
    struct loop *loops;
    int nloops;
    struct hs_pool *pool;
    int port, ops_port;
    atomic_bool stopping;
    bool stopped;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond; /* signalled when in_flight drops to 0 while stopping */

    atomic_int open_conns;   /* TLS connections now open, for max_connections */
    atomic_int deferred_out; /* deferred replies not yet completed; destroy() waits for 0 */
    atomic_uint_fast64_t next_id;
    atomic_uint_fast64_t connections, tls_failures, requests, latency_us_sum, in_flight;
    atomic_uint_fast64_t status[6];
    atomic_uint_fast64_t latency_le[8];
};

static const unsigned latency_bounds_ms[8] = { 1, 2, 5, 10, 25, 50, 100, 250 };

static int conn_ex_index = -1;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static bool global_ok;

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* libevent's own warnings go to our log; they are about peers, so debug level. */
static void libevent_log(int severity, const char *msg)
{
    hm_log(severity >= EVENT_LOG_ERR ? HM_LOG_WARN : HM_LOG_DEBUG, "libevent: %s", msg);
}

static void global_init(void)
{
    global_ok = evthread_use_pthreads() == 0;
    event_set_log_callback(libevent_log);
    conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (conn_ex_index < 0)
        global_ok = false;
}

/* The last OpenSSL error as a sentence for the log (the queue is cleared). */
static void ossl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_peek_last_error();

    if (e)
        ERR_error_string_n(e, out, cap);
    else
        hm_strlcpy(out, "no OpenSSL error recorded", cap);
    ERR_clear_error();
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */
/* ------------------------------------------------------------------------ */

static struct conn *conn_of_ssl(const SSL *ssl)
{
    return ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

static void conn_link(struct loop *l, struct conn *c)
{
    struct conn **head = &l->conns[c->kind];

    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void conn_unlink(struct conn *c)
{
    struct conn **head = &c->loop->conns[c->kind];

    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Sets the peer address for logs from the socket (before any request names it). */
static void conn_fill_addr(struct conn *c, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (c->addr[0] || fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->addr, sizeof(c->addr));
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->addr, sizeof(c->addr));
}

/* Bytes of a request arrived: an idle connection now has read_timeout_s to finish it. */
static void conn_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    (void)buf;
    if (info->n_added == 0)
        return;
    if (c->phase == PHASE_IDLE) {
        c->phase = PHASE_READING;
        c->deadline_ms = hm_now_ms() + (uint64_t)c->loop->h->read_timeout_s * 1000u;
    } else if (c->phase == PHASE_NEW) {
        /* A plain connection's first bytes: its accept-time deadline stands. */
        c->phase = PHASE_READING;
    }
}

/* True once evhttp has freed its side of the connection (bufferevent_free clears the cbs). */
static bool conn_dropped_by_evhttp(const struct conn *c)
{
    bufferevent_event_cb eventcb = NULL;

    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
    return eventcb == NULL;
}

/* Asks evhttp to close the connection, as if its read had timed out. */
static void conn_close(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    hm_log_debug("http: closing connection from %s: %s", c->addr[0] ? c->addr : "?", why);
    /* evhttp frees its connection inside this call; c stays ours until conn_release(). */
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* The end of every connection: counts a failed handshake and drops our bufferevent. */
static void conn_release(struct conn *c)
{
    struct hs_http *h = c->loop->h;
    SSL *ssl = c->kind == CONN_TLS ? bufferevent_openssl_get_ssl(c->bev) : NULL;

    conn_unlink(c);
    if (c->kind == CONN_TLS && c->hs_started && !c->hs_done && !c->refused) {
        atomic_fetch_add(&h->tls_failures, 1);
        if (c->verify_err)
            hm_log_info("http: TLS handshake from %s failed: %s (certificate: %s)",
                        c->addr[0] ? c->addr : "?", c->alert[0] ? c->alert : "closed",
                        X509_verify_cert_error_string(c->verify_err));
        else
            hm_log_info("http: TLS handshake from %s failed: %s", c->addr[0] ? c->addr : "?",
                        c->alert[0] ? c->alert : "closed by the peer or timed out");
    }
    if (ssl)
        SSL_set_ex_data(ssl, conn_ex_index, NULL);
    if (c->in_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    if (c->out_cb)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_decref(c->bev); /* the last reference: frees the SSL and closes the socket */
    if (c->kind == CONN_TLS)
        atomic_fetch_sub(&h->open_conns, 1);
    free(c);
}

/* Runs every SWEEP_MS, and at once when a connection closed or was refused. */
static void loop_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    uint64_t now = hm_now_ms();
    int k;

    (void)fd;
    (void)what;
    for (k = 0; k < 2; k++) {
        struct conn *c, *next;

        for (c = l->conns[k]; c; c = next) {
            next = c->next;
            if (!c->closing && !conn_dropped_by_evhttp(c)) {
                bool busy = c->phase == PHASE_HANDLING || c->phase == PHASE_WRITING;

                if (c->refused)
                    conn_close(c, "too many connections");
                else if (l->draining && !busy)
                    conn_close(c, "the server is stopping");
                else if (c->deadline_ms && now >= c->deadline_ms)
                    conn_close(c, c->phase == PHASE_IDLE ? "idle timeout" : "read timeout");
            }
            if (conn_dropped_by_evhttp(c))
                conn_release(c);
        }
    }
}

static void loop_poke_sweep(struct loop *l)
{
    event_active(l->sweep, EV_TIMEOUT, 0);
}

static struct conn *conn_new(struct loop *l, enum conn_kind kind)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->loop = l;
    c->kind = kind;
    c->phase = PHASE_NEW;
    c->deadline_ms = hm_now_ms() + (uint64_t)l->h->read_timeout_s * 1000u;
    return c;
}

/*
 * Keeps a small reply in one piece of the output buffer. evhttp writes the
 * headers and then moves the body's chain in behind them; libevent's SSL
 * bufferevent makes one SSL_write, so one TLS record and one write(2), of
 * each piece. Joined, a status answer leaves in one record and one segment.
 * This runs before libevent's own output callback (callbacks run newest
 * first) and before evhttp enables writing, so nothing has been sent of the
 * bytes it moves; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, which libevent sets,
 * covers a retried write of a buffer that moved.
 */
static void conn_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    size_t n = evbuffer_get_length(buf);

    (void)arg;
    if (info->n_added && n > info->n_added && n <= TLS_RECORD_MAX)
        evbuffer_pullup(buf, -1);
}

/* Takes a new bufferevent into our books: our reference, the watches, the list. */
static bool conn_adopt(struct conn *c, struct bufferevent *bev)
{
    c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), conn_on_input, c);
    if (!c->in_cb)
        return false;
    if (c->kind == CONN_TLS) {
        c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), conn_on_output, c);
        if (!c->out_cb) {
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
            return false;
        }
    }
    bufferevent_incref(bev);
    c->bev = bev;
    conn_link(c->loop, c);
    return true;
}

/*
 * evhttp's bevcb for the TLS listener: a server-side SSL bufferevent per
 * accepted connection. Returning NULL would make evhttp fall back to a plain
 * bufferevent; handle_request() refuses any connection without our SSL.
 */
static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
    struct loop *l = arg;
    struct hs_http *h = l->h;
    struct bufferevent *bev;
    struct conn *c;
    SSL *ssl;

    c = conn_new(l, CONN_TLS);
    if (!c)
        return NULL;
    ssl = SSL_new(h->ssl_ctx);
    if (!ssl) {
        free(c);
        return NULL;
    }
    SSL_set_ex_data(ssl, conn_ex_index, c);
    /* On failure this frees the SSL; c is not referenced by anything else yet. */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        free(c);
        return NULL;
    }
    if (!conn_adopt(c, bev)) {
        SSL_set_ex_data(ssl, conn_ex_index, NULL);
        free(c);
        bufferevent_free(bev);
        return NULL;
    }
    if (atomic_fetch_add(&h->open_conns, 1) >= h->max_connections) {
        c->refused = true;
        hm_log_warn("http: refusing a connection: %d connections are open", h->max_connections);
        loop_poke_sweep(l);
    } else {
        atomic_fetch_add(&h->connections, 1);
    }
    return bev;
}

/* evhttp's bevcb for the ops listener: a plain bufferevent, tracked like the others. */
static struct bufferevent *ops_bevcb(struct event_base *base, void *arg)
{
    struct loop *l = arg;
    struct bufferevent *bev;
    struct conn *c;

    c = conn_new(l, CONN_OPS);
    if (!c)
        return NULL;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev || !conn_adopt(c, bev)) {
        free(c);
        if (bev)
            bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

/* ------------------------------------------------------------------------ */
/* TLS                                                                      */
/* ------------------------------------------------------------------------ */

static void lower_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Fills c->peer from the verified client certificate; false if there is none. */
static bool conn_fill_peer(struct conn *c, const SSL *ssl)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const ASN1_INTEGER *serial;
    X509_NAME *subject;
    BIGNUM *bn;
    char *hex;
    int i;

    memset(&c->peer, 0, sizeof(c->peer));
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return false;
    if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != 32)
        return false;
    lower_hex(md, mdlen, c->peer.sha256);

    subject = X509_get_subject_name(cert);
    i = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    if (i >= 0) {
        unsigned char *utf8 = NULL;
        int n =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));

        /* A CN with an embedded NUL could pass for another name: leave it empty. */
        if (n > 0 && (size_t)n < sizeof(c->peer.subject_cn) && strlen((char *)utf8) == (size_t)n)
            memcpy(c->peer.subject_cn, utf8, (size_t)n + 1);
        OPENSSL_free(utf8);
    }

    serial = X509_get0_serialNumber(cert);
    bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
    hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        hm_strlcpy(c->peer.serial, hex, sizeof(c->peer.serial));
    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
    return true;
}

/* Follows each handshake: when it starts, ends, or fails with an alert we send. */
static void tls_info_cb(const SSL *ssl, int where, int ret)
{
    struct conn *c = conn_of_ssl(ssl);

    if (!c)
        return;
    if ((where & SSL_CB_HANDSHAKE_START) && !c->hs_done) {
        c->hs_started = true;
        conn_fill_addr(c, SSL_get_fd(ssl));
    }
    /* TLS 1.3 reports ticket exchanges as handshakes too; only the first one counts. */
    if ((where & SSL_CB_HANDSHAKE_DONE) && !c->hs_done) {
        c->hs_done = true;
        c->peer_ok = conn_fill_peer(c, ssl);
        if (c->phase == PHASE_NEW) {
            c->phase = PHASE_IDLE;
            c->deadline_ms = hm_now_ms() + (uint64_t)c->loop->h->idle_timeout_s * 1000u;
        }
    }
    if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) && !c->hs_done &&
        (ret >> 8) == SSL3_AL_FATAL && !c->alert[0]) {
        /* OpenSSL 3.0 has no name for TLS 1.3's certificate_required (116). */
        const char *name = (ret & 0xff) == 116 ? "certificate required (no client certificate)"
                                               : SSL_alert_desc_string_long(ret);

        snprintf(c->alert, sizeof(c->alert), "sent alert %d '%s'", ret & 0xff, name);
    }
}

/* OpenSSL's verdict stands; we only remember the first error for the log. */
static int tls_verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct conn *c = conn_of_ssl(ssl);

    if (!ok && c && !c->verify_err)
        c->verify_err = X509_STORE_CTX_get_error(store);
    return ok;
}

static hs_rc tls_ctx_new(const struct hs_http_config *cfg, SSL_CTX **out)
{
    static const unsigned char sid_ctx[] = "huimin-http";
    STACK_OF(X509_NAME) *names = NULL;
    char why[256];
    hs_rc rc = HS_E_CONFIG;
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return HS_E_NO_MEMORY;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        goto out_fail;
    /* No renegotiation (a TLS 1.2 CPU sink), the server picks among forward-secret AEADs. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* A writable copy: the macro casts away const, which -Wcast-qual refuses. */
    static char groups[] = "X25519:P-256:P-384";
    if (!SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") ||
        !SSL_CTX_set1_groups_list(ctx, groups))
        goto out_fail;

    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        ossl_reason(why, sizeof(why));
        hm_log_error("http: cannot load the certificate chain %s: %s", cfg->cert_file, why);
        goto out_free;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        ossl_reason(why, sizeof(why));
        hm_log_error("http: cannot load the key %s: %s", cfg->key_file, why);
        rc = HS_E_KEY;
        goto out_free;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ossl_reason(why, sizeof(why));
        hm_log_error("http: the key %s does not match the certificate %s: %s", cfg->key_file,
                     cfg->cert_file, why);
        rc = HS_E_KEY;
        goto out_free;
    }
    names = SSL_load_client_CA_file(cfg->client_ca_file);
    if (!names || SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
        ossl_reason(why, sizeof(why));
        hm_log_error("http: cannot load the client CA %s: %s", cfg->client_ca_file, why);
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        goto out_free;
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* the context owns names now */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_verify_cb);
    SSL_CTX_set_verify_depth(ctx, 4);

    /* Kiosks reconnect often: keep sessions (cache and tickets) for an hour. */
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1))
        goto out_fail;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, 3600);
    SSL_CTX_set_info_callback(ctx, tls_info_cb);
    *out = ctx;
    return HS_OK;

out_fail:
    ossl_reason(why, sizeof(why));
    hm_log_error("http: TLS setup failed: %s", why);
    rc = HS_E_CRYPTO;
out_free:
    SSL_CTX_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Requests and replies                                                     */
/* ------------------------------------------------------------------------ */

/* A deferred reply's fill, run once: before its reply is sent, or when the job is dropped. */
static void job_fill_deferred(struct job *j)
{
    hs_http_fill_fn fill = j->fill;

    if (!fill)
        return;
    j->fill = NULL;
    fill(j->fill_arg, &j->rs);
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    job_fill_deferred(j);
    hm_buf_free(&j->rs.body);
    free(j->path);
    free(j->query);
    free(j->content_type);
    free(j->accept_language);
    free(j->body);
    free(j);
}

/* The end of every request that reached a handler; completed: its reply was flushed. */
static void job_finish(struct job *j, bool completed)
{
    struct hs_http *h = j->h;
    uint64_t left;

    if (completed) {
        uint64_t us = now_us() - j->start_us;
        size_t i;

        atomic_fetch_add(&h->latency_us_sum, us);
        for (i = 0; i < HM_ARRAY_SIZE(latency_bounds_ms); i++)
            if (us <= (uint64_t)latency_bounds_ms[i] * 1000u)
                atomic_fetch_add(&h->latency_le[i], 1);
    }
    job_free(j);
    left = atomic_fetch_sub(&h->in_flight, 1) - 1;
    if (left == 0 && atomic_load(&h->stopping)) {
        pthread_mutex_lock(&h->drain_lock);
        pthread_cond_broadcast(&h->drain_cond);
        pthread_mutex_unlock(&h->drain_lock);
    }
}

/* evhttp_connection_set_closecb: the connection is going away (loop thread). */
static void conn_on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    struct job *j = c->job;

    (void)evcon;
    c->evcon = NULL;
    c->job = NULL;
    if (j) {
        /*
         * A request still with its handler was detached by evhttp if the
         * connection failed (EOF, timeout): then it is ours to free. If the
         * connection is being freed outright, evhttp frees the request.
         */
        if (j->req && !j->writing && !evhttp_request_get_connection(j->req))
            evhttp_request_free(j->req);
        j->req = NULL;
        j->conn = NULL;
        if (j->writing)
            job_finish(j, false); /* its on_complete will never come */
        else
            hm_log_debug("http: request %llu: the client left before the reply",
                         (unsigned long long)j->rq.id);
        /* else the handler still has it: the reply is dropped when it comes back */
    }
    loop_poke_sweep(c->loop);
}

/* evhttp_request_set_on_complete_cb: the whole reply has been written. */
static void on_reply_flushed(struct evhttp_request *req, void *arg)
{
    struct job *j = arg;
    struct conn *c = j->conn;

    (void)req;
    if (c) {
        struct hs_http *h = c->loop->h;

        c->job = NULL;
        c->phase = PHASE_IDLE;
        c->deadline_ms = hm_now_ms() + (uint64_t)h->idle_timeout_s * 1000u;
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
            c->phase = PHASE_READING; /* a pipelined request is waiting */
            c->deadline_ms = hm_now_ms() + (uint64_t)h->read_timeout_s * 1000u;
        }
        /* evhttp is in the middle of this connection: close it from the sweep, not here. */
        if (c->loop->draining)
            loop_poke_sweep(c->loop);
    }
    j->req = NULL;
    j->conn = NULL;
    job_finish(j, true);
}

/* RFC 9110 token characters: what a header name may contain. */
static bool is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (!s || !*s)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              strchr(extra, ch)))
            return false;
    }
    return true;
}

/* Headers the layer writes itself; a handler may not set them. */
static bool is_reserved_header(const char *name)
{
    static const char *const reserved[] = { "Content-Length", "Content-Type",
                                            "Connection",     "Transfer-Encoding",
                                            "Cache-Control",  "X-Content-Type-Options" };
    size_t i;

    for (i = 0; i < HM_ARRAY_SIZE(reserved); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return false;
}

static void add_common_headers(struct evkeyvalq *out)
{
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
}

/*
 * An error the layer answers itself, before any handler, and then closes the
 * connection. (evhttp_send_error would drop our headers and send HTML.)
 */
static void reply_error(struct hs_http *h, struct evhttp_request *req, int status,
                        const char *allow)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evhttp_request_get_output_buffer(req);
    char len[24];

    evbuffer_add_printf(body, "{\"error\":%d}\n", status);
    snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
    evhttp_add_header(out, "Content-Type", "application/json");
    add_common_headers(out);
    evhttp_add_header(out, "Content-Length", len);
    evhttp_add_header(out, "Connection", "close");
    if (allow)
        evhttp_add_header(out, "Allow", allow);
    atomic_fetch_add(&h->status[status / 100], 1);
    evhttp_send_reply(req, status, NULL, NULL);
}

/* Sends the handler's reply on the loop that owns the request. */
static void send_reply(struct job *j)
{
    struct evhttp_request *req = j->req;
    struct hs_http_response *res = &j->rs;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct conn *c = j->conn;
    char len[24];
    int status = res->status, i, n;

    if (status < 100 || status > 599) {
        hm_log_error("http: request %llu %s %s: the handler left status %d; answering 500",
                     (unsigned long long)j->rq.id, j->rq.method, j->rq.path, status);
        status = 500;
        hm_buf_reset(&res->body);
        res->content_type = NULL;
        res->nheaders = 0;
    }
    evhttp_add_header(out, "Content-Type",
                      res->content_type ? res->content_type : "application/json");
    add_common_headers(out);
    n = res->nheaders < 0                           ? 0
        : res->nheaders > HS_HTTP_MAX_EXTRA_HEADERS ? HS_HTTP_MAX_EXTRA_HEADERS
                                                    : res->nheaders;
    for (i = 0; i < n; i++) {
        const char *name = res->header_name[i];
        const char *value = res->header_value[i];

        /* evhttp_add_header refuses CR and LF in values; names we check here. */
        if (!is_token(name) || is_reserved_header(name) ||
            memchr(value, '\0', sizeof(res->header_value[i])) == NULL ||
            evhttp_add_header(out, name, value) != 0)
            hm_log_warn("http: request %llu: dropped an invalid extra header",
                        (unsigned long long)j->rq.id);
    }
    snprintf(len, sizeof(len), "%zu", res->body.len);
    evhttp_add_header(out, "Content-Length", len);
    if (c->close_after || c->loop->draining)
        evhttp_add_header(out, "Connection", "close");
    if (res->body.len)
        evbuffer_add(evhttp_request_get_output_buffer(req), res->body.data, res->body.len);
    hm_buf_free(&res->body);

    atomic_fetch_add(&j->h->status[status / 100], 1);
    j->writing = true;
    c->phase = PHASE_WRITING;
    c->deadline_ms = 0;
    evhttp_request_set_on_complete_cb(req, on_reply_flushed, j);
    /* From here evhttp may finish (and free) j through our callbacks: do not touch it. */
    evhttp_send_reply(req, status, NULL, NULL);
}

/* The test delay's timer: the reply goes out now, unless the client left meanwhile. */
static void held_reply_due(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg, **p;

    (void)fd;
    (void)what;
    for (p = &j->loop->held; *p; p = &(*p)->next_held)
        if (*p == j) {
            *p = j->next_held;
            break;
        }
    event_free(j->hold);
    j->hold = NULL;
    if (j->req)
        send_reply(j);
    else
        job_finish(j, false);
}

/*
 * The test hook HUIMIN_SERVER_TEST_DELAY_MS: a kiosk's reply (TLS listener)
 * is held on a timer of its loop, which meanwhile serves everyone else. True
 * when the job is now the timer's (loop_cleanup frees those still held).
 */
static bool hold_reply(struct loop *l, struct job *j)
{
    struct timeval tv;

    if (l->h->test_delay_ms <= 0 || j->held || !j->rq.peer)
        return false;
    j->held = true;
    tv.tv_sec = l->h->test_delay_ms / 1000;
    tv.tv_usec = (l->h->test_delay_ms % 1000) * 1000;
    j->hold = evtimer_new(l->base, held_reply_due, j);
    if (!j->hold || evtimer_add(j->hold, &tv) != 0) {
        if (j->hold)
            event_free(j->hold);
        j->hold = NULL;
        return false; /* sent at once rather than lost */
    }
    j->next_held = l->held;
    l->held = j;
    return true;
}

/* The loop's wake event: replies from handler threads, and the stop command. */
static void loop_wake(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct job *j, *next;
    bool stop, quit;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&l->lock);
    j = l->done_head;
    l->done_head = l->done_tail = NULL;
    stop = l->stop_cmd;
    l->stop_cmd = false;
    quit = l->exit_cmd;
    pthread_mutex_unlock(&l->lock);
    if (quit) {
        /* Leave the replies (if any) queued: loop_cleanup() drops them. */
        pthread_mutex_lock(&l->lock);
        for (next = j; next && next->next_done; next = next->next_done)
            ;
        if (next) {
            next->next_done = l->done_head;
            if (!l->done_head)
                l->done_tail = next;
            l->done_head = j;
        }
        pthread_mutex_unlock(&l->lock);
        event_base_loopbreak(l->base);
        return;
    }

    if (stop && !l->draining) {
        /* Stop accepting; the sweep closes every connection not waiting for a reply. */
        l->draining = true;
        if (l->bound)
            evhttp_del_accept_socket(l->http, l->bound);
        if (l->ops_bound)
            evhttp_del_accept_socket(l->ops_http, l->ops_bound);
        l->bound = l->ops_bound = NULL;
        loop_poke_sweep(l);
    }
    for (; j; j = next) {
        next = j->next_done;
        job_fill_deferred(j);
        if (j->req && hold_reply(l, j))
            continue;
        if (j->req)
            send_reply(j);
        else
            job_finish(j, false); /* the connection closed while the handler ran */
    }
}

/* Hands a job whose reply is ready to its loop (any thread). */
static void job_post(struct job *j)
{
    struct loop *l = j->loop;

    j->next_done = NULL;
    pthread_mutex_lock(&l->lock);
    if (l->done_tail)
        l->done_tail->next_done = j;
    else
        l->done_head = j;
    l->done_tail = j;
    pthread_mutex_unlock(&l->lock);
    event_active(l->wake, EV_READ, 0);
}

/*
 * Handler threads (and the loop, for inline requests): run the handler, then
 * hand the job back to its loop, unless the reply was deferred: then whichever
 * of the handler's return and hs_http_complete() comes second hands it back.
 */
static void run_job(void *ctx, struct hs_pool_job *pj)
{
    struct hs_http *h = ctx;
    struct job *j = (struct job *)pj;

    h->handler(h->handler_ctx, &j->rq, &j->rs);
    /* A deferred job cannot be freed before this decrement: pending was 2. */
    if (j->deferred && atomic_fetch_sub(&j->pending, 1) != 1)
        return;
    job_post(j);
}

struct hs_http_deferred *hs_http_defer(struct hs_http_response *res)
{
    struct job *j = res ? res->layer : NULL;

    if (!j || &j->rs != res || j->deferred)
        return NULL; /* once per request */
    j->deferred = true;
    atomic_store(&j->pending, 2);
    atomic_fetch_add(&j->h->deferred_out, 1);
    return (struct hs_http_deferred *)j;
}

void hs_http_complete(struct hs_http_deferred *d, hs_http_fill_fn fill, void *arg)
{
    struct job *j = (struct job *)d;
    struct hs_http *h;

    if (!j)
        return;
    h = j->h;
    j->fill = fill;
    j->fill_arg = arg;
    if (atomic_fetch_sub(&j->pending, 1) == 1)
        job_post(j);
    /* j may be gone from here on. */
    if (atomic_fetch_sub(&h->deferred_out, 1) == 1 && atomic_load(&h->stopping)) {
        pthread_mutex_lock(&h->drain_lock);
        pthread_cond_broadcast(&h->drain_cond);
        pthread_mutex_unlock(&h->drain_lock);
    }
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return NULL;
    }
}

/* Copies what the handler may see out of evhttp's request. Returns an HTTP status or 0. */
static int job_fill(struct job *j, struct evhttp_request *req, const struct conn *c)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *ct = evhttp_find_header(in, "Content-Type");
    const char *al = evhttp_find_header(in, "Accept-Language");
    char *peer_addr = NULL;
    ev_uint16_t peer_port = 0;
    size_t n, body_len = evbuffer_get_length(body);

    j->rq.method = method_name(evhttp_request_get_command(req));
    if (!j->rq.method)
        return 405;
    if (!raw_path || raw_path[0] != '/')
        return 400;
    j->path = evhttp_uridecode(raw_path, 0, &n);
    /* A decoded NUL would make the path mean one thing to us and another to a log. */
    if (!j->path || strlen(j->path) != n)
        return 400;
    if ((query && !(j->query = strdup(query))) || (ct && !(j->content_type = strdup(ct))) ||
        (al && !(j->accept_language = strdup(al))))
        return 500;
    if (body_len > j->h->max_body)
        return 413;
    j->body = malloc(body_len + 1);
    if (!j->body)
        return 500;
    evbuffer_copyout(body, j->body, body_len);
    j->body[body_len] = '\0';

    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer_addr, &peer_port);
    hm_strlcpy(j->remote_addr, peer_addr ? peer_addr : c->addr, sizeof(j->remote_addr));
    if (c->kind == CONN_TLS)
        j->peer = c->peer;

    j->rq.path = j->path;
    j->rq.query = j->query;
    j->rq.content_type = j->content_type;
    j->rq.accept_language = j->accept_language;
    j->rq.body = j->body;
    j->rq.body_len = body_len;
    j->rq.peer = c->kind == CONN_TLS ? &j->peer : NULL;
    j->rq.remote_addr = j->remote_addr;
    j->rq.id = atomic_fetch_add(&j->h->next_id, 1) + 1;
    j->rs.status = 200;
    j->rs.layer = j;
    hm_buf_init(&j->rs.body, RESPONSE_MAX);
    return 0;
}

static struct conn *conn_of_request(struct loop *l, struct evhttp_request *req, enum conn_kind kind)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    struct conn *c;

    if (!bev)
        return NULL;
    if (kind == CONN_TLS)
        return conn_of_ssl(bufferevent_openssl_get_ssl(bev));
    for (c = l->conns[CONN_OPS]; c; c = c->next)
        if (c->bev == bev)
            return c;
    return NULL;
}

/* evhttp's callback for every parsed request, on the loop thread. */
static void handle_request(struct loop *l, struct evhttp_request *req, enum conn_kind kind)
{
    struct hs_http *h = l->h;
    struct conn *c = conn_of_request(l, req, kind);
    struct job *j;
    int status;

    /* Not our connection (a plain one on the TLS port) or no verified peer: no service. */
    if (!c || c->closing || c->job || (kind == CONN_TLS && !c->peer_ok)) {
        reply_error(h, req, c ? 403 : 400, NULL);
        return;
    }
    if (!c->evcon) {
        c->evcon = evhttp_request_get_connection(req);
        evhttp_connection_set_closecb(c->evcon, conn_on_close, c);
    }
    j = calloc(1, sizeof(*j));
    if (!j) {
        reply_error(h, req, 503, NULL);
        return;
    }
    j->h = h;
    j->loop = l;
    j->start_us = now_us();
    status = job_fill(j, req, c);
    if (status) {
        job_free(j);
        reply_error(h, req, status, status == 405 ? "GET, POST, PUT, DELETE, HEAD" : NULL);
        return;
    }
    j->conn = c;
    j->req = req;
    c->job = j;
    c->phase = PHASE_HANDLING;
    c->deadline_ms = 0;
    if (l->draining)
        c->close_after = true;
    atomic_fetch_add(&h->requests, 1);
    atomic_fetch_add(&h->in_flight, 1);
    if (h->inline_ok && h->inline_ok(h->handler_ctx, &j->rq)) {
        /* Here, on the loop: the reply goes out through loop_wake like any other. */
        run_job(h, &j->pool);
        return;
    }
    if (!hs_pool_push(h->pool, &j->pool)) {
        /* Only while the layer is being torn down; answer rather than hang. */
        c->job = NULL;
        c->phase = PHASE_IDLE;
        job_finish(j, false);
        reply_error(h, req, 503, NULL);
    }
}

static void on_tls_request(struct evhttp_request *req, void *arg)
{
    handle_request(arg, req, CONN_TLS);
}

static void on_ops_request(struct evhttp_request *req, void *arg)
{
    handle_request(arg, req, CONN_OPS);
}

/* ------------------------------------------------------------------------ */
/* Listeners, loops, start and stop                                         */
/* ------------------------------------------------------------------------ */

/* A listening socket; *port is the port to bind (0: any) and receives the one bound. */
static hs_rc listen_socket(const char *addr, int *port, bool reuseport, int *fd_out)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char service[16];
    int fd, one = 1, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", *port);
    err = getaddrinfo(addr, service, &hints, &res);
    if (err) {
        hm_log_error("http: cannot resolve listen address '%s': %s", addr, gai_strerror(err));
        return HS_E_CONFIG;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0)
        goto out_err;
    /*
     * SO_REUSEPORT groups only sockets of the same user: another user cannot
     * join. TCP_NODELAY (inherited by accepted sockets on Linux): a reply goes
     * out as a header record and a body record, and Nagle would hold the body
     * until the client's delayed ACK, some 40 ms a request.
     */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
        goto out_err;
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(res);
    *fd_out = fd;
    return HS_OK;

out_err:
    hm_log_error("http: cannot listen on %s port %s: %s", addr, service, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return HS_E_IO;
}

static struct evhttp *http_new(struct hs_http *h, struct loop *l, bool tls)
{
    struct evhttp *http = evhttp_new(l->base);

    if (!http)
        return NULL;
    evhttp_set_max_headers_size(http, (ev_ssize_t)h->max_header);
    evhttp_set_max_body_size(http, (ev_ssize_t)h->max_body);
    /* The backstop for what our deadlines do not cover (a client that stops reading). */
    evhttp_set_timeout(
        http, (h->read_timeout_s > h->idle_timeout_s ? h->read_timeout_s : h->idle_timeout_s) + 1);
    /* Every method reaches us so that the others get 405 with Allow, not 501. */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    /* Read (and drop) an oversized body so that the client sees our 413, not a reset. */
    evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_bevcb(http, tls ? tls_bevcb : ops_bevcb, l);
    evhttp_set_gencb(http, tls ? on_tls_request : on_ops_request, l);
    return http;
}

static hs_rc bind_http(struct evhttp *http, const char *addr, int *port, bool reuseport,
                       struct evhttp_bound_socket **out)
{
    hs_rc rc;
    int fd;

    rc = listen_socket(addr, port, reuseport, &fd);
    if (rc)
        return rc;
    *out = evhttp_accept_socket_with_handle(http, fd);
    if (!*out) {
        close(fd);
        return HS_E_NO_MEMORY;
    }
    return HS_OK;
}

static hs_rc loop_init(struct hs_http *h, struct loop *l, const struct hs_http_config *cfg)
{
    struct timeval tv = { 0, SWEEP_MS * 1000 };
    hs_rc rc;

    l->base = event_base_new();
    if (!l->base)
        return HS_E_NO_MEMORY;
    l->wake = event_new(l->base, -1, 0, loop_wake, l);
    l->sweep = event_new(l->base, -1, EV_PERSIST, loop_sweep, l);
    l->http = http_new(h, l, true);
    if (!l->wake || !l->sweep || !l->http || event_add(l->sweep, &tv) != 0)
        return HS_E_NO_MEMORY;
    rc = bind_http(l->http, cfg->listen_addr, &h->port, true, &l->bound);
    if (rc)
        return rc;
    if (l->index == 0 && cfg->ops_addr) {
        l->ops_http = http_new(h, l, false);
        if (!l->ops_http)
            return HS_E_NO_MEMORY;
        h->ops_port = cfg->ops_port;
        rc = bind_http(l->ops_http, cfg->ops_addr, &h->ops_port, false, &l->ops_bound);
        if (rc)
            return rc;
    }
    return HS_OK;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;

    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/*
 * Frees a loop's libevent objects after every thread is joined. evhttp_free()
 * closes the remaining connections, whose close callbacks orphan any job
 * still pointing at them; then the jobs on the done queue and the released
 * connections go.
 */
static void loop_cleanup(struct loop *l)
{
    struct job *j, *next;
    int k;

    if (l->http)
        evhttp_free(l->http);
    if (l->ops_http)
        evhttp_free(l->ops_http);
    l->http = l->ops_http = NULL;
    for (j = l->done_head; j; j = next) {
        next = j->next_done;
        job_finish(j, false);
    }
    l->done_head = l->done_tail = NULL;
    for (j = l->held; j; j = next) {
        next = j->next_held;
        event_free(j->hold);
        job_finish(j, false);
    }
    l->held = NULL;
    for (k = 0; k < 2; k++)
        while (l->conns[k])
            conn_release(l->conns[k]);
    if (l->wake)
        event_free(l->wake);
    if (l->sweep)
        event_free(l->sweep);
    if (l->base)
        event_base_free(l->base);
    pthread_mutex_destroy(&l->lock);
}

/* Joins and frees everything; works on a half-started layer too. */
static void destroy(struct hs_http *h)
{
    struct hs_pool_job *left, *next;
    int i;

    /*
     * The exit command goes through the wake event, not event_base_loopbreak()
     * from here: a loop that has not entered event_base_loop() yet would
     * forget a break, but an active event waits for it.
     */
    for (i = 0; i < h->nloops; i++) {
        struct loop *l = &h->loops[i];

        if (l->thread_started) {
            pthread_mutex_lock(&l->lock);
            l->exit_cmd = true;
            pthread_mutex_unlock(&l->lock);
            event_active(l->wake, EV_READ, 0);
        }
    }
    for (i = 0; i < h->nloops; i++) {
        struct loop *l = &h->loops[i];

        if (l->thread_started) {
            pthread_join(l->thread, NULL);
            l->thread_started = false;
        }
    }
    /* The loops are stopped but their bases live on: late replies only queue up. */
    for (left = hs_pool_free(h->pool); left; left = next) {
        struct job *j = (struct job *)left;

        next = left->next;
        /* Hand it to its loop's done queue, where loop_cleanup() finds it orphaned. */
        j->next_done = j->loop->done_head;
        j->loop->done_head = j;
    }
    h->pool = NULL;
    /*
     * A deferred reply still out will be completed (a write always finishes);
     * it then only queues up on its stopped loop, and loop_cleanup() drops it
     * after its fill has run. Until then the loops must live.
     */
    pthread_mutex_lock(&h->drain_lock);
    while (atomic_load(&h->deferred_out) > 0)
        pthread_cond_wait(&h->drain_cond, &h->drain_lock);
    pthread_mutex_unlock(&h->drain_lock);
    for (i = 0; i < h->nloops; i++)
        loop_cleanup(&h->loops[i]);
    free(h->loops);
    h->loops = NULL;
    h->nloops = 0;
    SSL_CTX_free(h->ssl_ctx);
    h->ssl_ctx = NULL;
}

static hs_rc check_config(const struct hs_http_config *cfg)
{
    if (!cfg->handler || !cfg->listen_addr || !cfg->cert_file || !cfg->key_file ||
        !cfg->client_ca_file)
        return HS_E_INVALID_ARG;
    if (cfg->port < 0 || cfg->port > 65535 || cfg->ops_port < 0 || cfg->ops_port > 65535 ||
        cfg->io_threads < 0 || cfg->io_threads > MAX_IO_THREADS || cfg->handler_threads < 0 ||
        cfg->handler_threads > MAX_HANDLERS || cfg->read_timeout_s < 0 || cfg->idle_timeout_s < 0 ||
        cfg->max_connections < 0 || cfg->max_header > (1u << 20) || cfg->max_body > (64u << 20) ||
        cfg->test_delay_ms < 0 || cfg->test_delay_ms > 60000)
        return HS_E_INVALID_ARG;
    return HS_OK;
}

hs_rc hs_http_start(const struct hs_http_config *cfg, struct hs_http **out)
{
    sigset_t all, old;
    struct hs_http *h;
    long cores;
    hs_rc rc;
    int i, err;

    if (!cfg || !out)
        return HS_E_INVALID_ARG;
    *out = NULL;
    rc = check_config(cfg);
    if (rc)
        return rc;
    pthread_once(&global_once, global_init);
    if (!global_ok)
        return HS_E_INTERNAL;

    h = calloc(1, sizeof(*h));
    if (!h)
        return HS_E_NO_MEMORY;
    h->handler = cfg->handler;
    h->inline_ok = cfg->inline_ok;
    h->test_delay_ms = cfg->test_delay_ms;
    h->handler_ctx = cfg->handler_ctx;
    h->max_header = cfg->max_header ? cfg->max_header : DEFAULT_MAX_HEADER;
    h->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    h->read_timeout_s = cfg->read_timeout_s ? cfg->read_timeout_s : DEFAULT_READ_TIMEOUT;
    h->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_TIMEOUT;
    h->max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNS;
    h->port = cfg->port;
    pthread_mutex_init(&h->drain_lock, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->drain_cond, &ca);
        pthread_condattr_destroy(&ca);
    }

    rc = tls_ctx_new(cfg, &h->ssl_ctx);
    if (rc)
        goto out_destroy;

    cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->nloops = cfg->io_threads          ? cfg->io_threads
                : cores < 1              ? 1
                : cores > MAX_IO_THREADS ? MAX_IO_THREADS
                                         : (int)cores;
    h->loops = calloc((size_t)h->nloops, sizeof(*h->loops));
    if (!h->loops) {
        h->nloops = 0;
        rc = HS_E_NO_MEMORY;
        goto out_destroy;
    }
    /* Loop 0 binds first: with port 0 it learns the port the others then share. */
    for (i = 0; i < h->nloops; i++) {
        h->loops[i].h = h;
        h->loops[i].index = i;
        pthread_mutex_init(&h->loops[i].lock, NULL);
    }
    for (i = 0; i < h->nloops; i++) {
        rc = loop_init(h, &h->loops[i], cfg);
        if (rc)
            goto out_destroy;
    }

    /*
     * Our threads block every signal: the application's handlers stay on its
     * own threads, and a write to a closed socket fails with EPIPE instead of
     * raising SIGPIPE.
     */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = hs_pool_new(cfg->handler_threads ? cfg->handler_threads : DEFAULT_HANDLERS, run_job, h,
                     &h->pool);
    for (i = 0; rc == HS_OK && i < h->nloops; i++) {
        err = pthread_create(&h->loops[i].thread, NULL, loop_main, &h->loops[i]);
        if (err) {
            hm_log_error("http: cannot start event loop %d: %s", i, strerror(err));
            rc = HS_E_INTERNAL;
        } else {
            h->loops[i].thread_started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        goto out_destroy;

    hm_log_info("http: listening on %s port %d (%d event loops, %d handler threads)%s",
                cfg->listen_addr, h->port, h->nloops,
                cfg->handler_threads ? cfg->handler_threads : DEFAULT_HANDLERS,
                cfg->ops_addr ? "; ops listener without TLS" : "");
    *out = h;
    return HS_OK;

out_destroy:
    destroy(h);
    pthread_cond_destroy(&h->drain_cond);
    pthread_mutex_destroy(&h->drain_lock);
    free(h);
    return rc;
}

int hs_http_port(const struct hs_http *h)
{
    return h ? h->port : -1;
}

int hs_http_ops_port(const struct hs_http *h)
{
    return h && h->ops_port ? h->ops_port : -1;
}

void hs_http_stop(struct hs_http *h, int timeout_s)
{
    struct timespec until;
    int i;

    if (!h || h->stopped)
        return;
    h->stopped = true;
    atomic_store(&h->stopping, true);
    for (i = 0; i < h->nloops; i++) {
        struct loop *l = &h->loops[i];

        pthread_mutex_lock(&l->lock);
        l->stop_cmd = true;
        pthread_mutex_unlock(&l->lock);
        event_active(l->wake, EV_READ, 0);
    }

    /* Wait for the requests in progress: their replies are flushed when in_flight drops. */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_s > 0 ? timeout_s : 0;
    pthread_mutex_lock(&h->drain_lock);
    while (atomic_load(&h->in_flight) > 0)
        if (pthread_cond_timedwait(&h->drain_cond, &h->drain_lock, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&h->drain_lock);
    if (atomic_load(&h->in_flight) > 0)
        hm_log_warn("http: stopping with %llu requests unfinished after %d s",
                    (unsigned long long)atomic_load(&h->in_flight), timeout_s);

    /* A handler still running is waited for (it cannot be interrupted); its reply is dropped. */
    destroy(h);
    hm_log_info("http: stopped");
}

void hs_http_free(struct hs_http *h)
{
    if (!h)
        return;
    hs_http_stop(h, 0);
    pthread_cond_destroy(&h->drain_cond);
    pthread_mutex_destroy(&h->drain_lock);
    free(h);
}

void hs_http_stats(struct hs_http *h, struct hs_http_stats *out)
{
    size_t i;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!h)
        return;
    out->connections = atomic_load(&h->connections);
    out->tls_failures = atomic_load(&h->tls_failures);
    out->requests = atomic_load(&h->requests);
    for (i = 0; i < HM_ARRAY_SIZE(out->status); i++)
        out->status[i] = atomic_load(&h->status[i]);
    out->latency_us_sum = atomic_load(&h->latency_us_sum);
    for (i = 0; i < HM_ARRAY_SIZE(out->latency_le); i++)
        out->latency_le[i] = atomic_load(&h->latency_le[i]);
    out->in_flight = atomic_load(&h->in_flight);
}
