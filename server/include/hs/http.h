/*
 * The HTTPS front of the server (http/http.c, the only file with libevent and
 * OpenSSL's TLS): TLS 1.3 (1.2 allowed) with mutual authentication against the
 * deployment's kiosk CA, HTTP/1.1 keep-alive, limits on header and body size,
 * read and idle timeouts so slow clients cannot hold the server, and a
 * graceful drain.
 *
 * Threads: io_threads event loops (one listening socket each, SO_REUSEPORT)
 * do TLS and HTTP parsing; a request is then handed to one of handler_threads
 * handler threads, which may block (on storage, which group-commits across
 * them), and the reply goes back to the request's event loop. A request whose
 * connection closes before its reply is dropped safely.
 *
 * The handler sees our own types only: no libevent or OpenSSL type leaves
 * http.c.
 */
#ifndef HS_HTTP_H
#define HS_HTTP_H

#include "hs/error.h"

#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hs_http;

/* The client certificate a TLS peer presented (verified to the kiosk CA). */
struct hs_peer {
    char sha256[65];      /* lower-case hex SHA-256 of the certificate DER */
    char subject_cn[128]; /* subject CN, UTF-8 */
    char serial[64];      /* serial number, hex (upper case, as openssl x509 -serial prints it) */
};

struct hs_http_request {
    const char *method;          /* "GET", "POST", "PUT", "DELETE", "HEAD", ... */
    const char *path;            /* decoded path without the query: "/v1/health" */
    const char *query;           /* raw query string without '?', or NULL */
    const char *content_type;    /* the Content-Type header, or NULL */
    const char *accept_language; /* or NULL */
    const uint8_t *body;         /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    const struct hs_peer *peer; /* NULL on a listener without TLS (the ops listener) */
    const char *remote_addr;    /* "127.0.0.1" */
    uint64_t id;                /* per-process request number, for logs */
};

#define HS_HTTP_MAX_EXTRA_HEADERS 4

struct hs_http_response {
    int status;               /* 200 unless the handler sets it */
    const char *content_type; /* "application/json" unless set; static string */
    struct hm_buf body;       /* the handler appends; initialised by the layer */
    /* Extra headers (static or handler-owned strings alive until the handler returns). */
    const char *header_name[HS_HTTP_MAX_EXTRA_HEADERS];
    char header_value[HS_HTTP_MAX_EXTRA_HEADERS][128];
    int nheaders;
    void *layer; /* the layer's own (for hs_http_defer); NULL in a response made elsewhere */
};

/* Runs on a handler thread. Must fill res; may block. */
typedef void (*hs_http_handler)(void *ctx, const struct hs_http_request *req,
                                struct hs_http_response *res);

/*
 * A reply finished later, by another thread (a write's completion, say). The
 * handler calls hs_http_defer(res) and returns without waiting; the request
 * and res stay valid until hs_http_complete(), which may be called from any
 * thread, exactly once, even before the handler has returned. fill(arg, res)
 * then runs on the connection's io thread and finishes res just before it is
 * sent. fill runs exactly once whatever happens: also when the client has
 * left meanwhile (its res is then dropped) or the server is stopping, so it
 * may free arg. hs_http_stop() waits for every deferred reply to be completed.
 */
struct hs_http_deferred;
typedef void (*hs_http_fill_fn)(void *arg, struct hs_http_response *res);
/* NULL when res cannot be deferred (a second call, or a response the layer did not make,
 * as a test's or a fuzzer's): then the handler answers before it returns, as usual. */
struct hs_http_deferred *hs_http_defer(struct hs_http_response *res);
void hs_http_complete(struct hs_http_deferred *d, hs_http_fill_fn fill, void *arg);

/*
 * Optional: true for a request the handler answers quickly without blocking
 * (no write to wait for, no network), which then runs on the connection's
 * io thread instead of being handed to a handler thread and back: two
 * thread switches saved, at the price of holding the loop for its duration.
 */
typedef bool (*hs_http_inline_fn)(void *ctx, const struct hs_http_request *req);

struct hs_http_config {
    const char *listen_addr; /* "0.0.0.0", "127.0.0.1", "::" */
    int port;                /* 0: pick a free one (hs_http_port tells) */
    /* An optional listener without TLS for /v1/health and /metrics (loopback). */
    const char *ops_addr; /* NULL: none */
    int ops_port;

    const char *cert_file;      /* the server's TLS certificate chain (PEM) */
    const char *key_file;       /* its key (PEM) */
    const char *client_ca_file; /* kiosk CA (PEM): clients must present a certificate from it */

    int io_threads;      /* 0: the number of cores */
    int handler_threads; /* 0: 32 */
    size_t max_header;   /* bytes, 0: 8192 */
    size_t max_body;     /* bytes, 0: 65536; larger bodies get 413 */
    /* 0: 10; a request must arrive whole within this time of its first byte (and a new
     * connection must finish its TLS handshake in it), or the connection is closed. No 408:
     * libevent 2.1 cannot answer a request it has not finished parsing. */
    int read_timeout_s;
    int idle_timeout_s;  /* 0: 60; keep-alive connections idle this long are closed */
    int max_connections; /* 0: 4096 per process (TLS); a connection beyond is closed at once */
    /* Test hook (HUIMIN_SERVER_TEST_DELAY_MS): every reply on the TLS listener is held this
     * many milliseconds (0..60000, 0: none) on a timer of its loop, which keeps serving. */
    int test_delay_ms;

    hs_http_handler handler;
    hs_http_inline_fn inline_ok; /* NULL: every request goes to a handler thread */
    void *handler_ctx;
};

/* Binds the listeners and starts the threads. */
hs_rc hs_http_start(const struct hs_http_config *cfg, struct hs_http **out);
/* The TLS port actually bound (useful with port 0); hs_http_ops_port the other, or -1. */
int hs_http_port(const struct hs_http *h);
int hs_http_ops_port(const struct hs_http *h);
/*
 * Graceful drain: stops accepting, lets requests in progress finish (and their
 * replies be sent) for at most timeout_s seconds, then closes every
 * connection and joins the threads. Idle keep-alive connections are closed at
 * once. A handler still running after timeout_s cannot be interrupted: it is
 * waited for and its reply dropped; so is a deferred reply not yet completed. Safe to call once,
 * from any thread but a handler thread.
 */
void hs_http_stop(struct hs_http *h, int timeout_s);
/* NULL is a no-op; stops first if still running. */
void hs_http_free(struct hs_http *h);

struct hs_http_stats {
    uint64_t connections;  /* accepted */
    uint64_t tls_failures; /* handshakes that failed (no or bad client certificate...) */
    uint64_t requests;
    /* Replies by class: [2] 2xx, [4] 4xx, [5] 5xx. Counts the handlers' replies and the
     * layer's own (400, 403, 405); not those libevent makes itself (413, oversized header). */
    uint64_t status[6];
    uint64_t latency_us_sum;
    uint64_t latency_le[8]; /* cumulative histogram buckets: <=1,2,5,10,25,50,100,250 ms */
    uint64_t in_flight;
};
void hs_http_stats(struct hs_http *h, struct hs_http_stats *out);

#endif
