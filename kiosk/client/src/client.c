/* The kiosk's HTTPS client of the /v1 API (the only file with curl/curl.h): mutual TLS, timeouts,
 * safe retries and verified answers. */
#include "internal.h"

#include "cl/emrtd_auth.h"
#include "hm/buf.h"
#include "hm/log.h"
#include "hm/util.h"

#include <curl/curl.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANSWER_MAX (256u * 1024u) /* the longest answer we read */

static const char *const rc_text[KC_RC_COUNT][2] = {
    [KC_OK] = { "KC_OK", "success" },
    [KC_E_INVALID_ARG] = { "KC_E_INVALID_ARG", "invalid argument" },
    [KC_E_NO_MEMORY] = { "KC_E_NO_MEMORY", "out of memory" },
    [KC_E_CONFIG] = { "KC_E_CONFIG",
                      "a certificate, key or file of the configuration is unusable" },
    [KC_E_NETWORK] = { "KC_E_NETWORK", "the server cannot be reached" },
    [KC_E_PROTOCOL] = { "KC_E_PROTOCOL", "the server's answer is not what the API defines" },
    [KC_E_REFUSED] = { "KC_E_REFUSED", "the server refused the request" },
    [KC_E_VERIFY] = { "KC_E_VERIFY", "the server's answer failed verification" },
    [KC_E_JOURNAL] = { "KC_E_JOURNAL", "the journal cannot be read or written" },
    [KC_E_QUEUED] = { "KC_E_QUEUED",
                      "the confirmation is kept in the journal and will be delivered later" },
    [KC_E_CARD] = { "KC_E_CARD", "the card could not be used" },
    [KC_E_NO_CARD] = { "KC_E_NO_CARD", "no reader or no card" },
    [KC_E_PIN_INCORRECT] = { "KC_E_PIN_INCORRECT", "wrong PIN" },
    [KC_E_PIN_BLOCKED] = { "KC_E_PIN_BLOCKED", "the PIN is blocked" },
    [KC_E_NOT_FOUND] = { "KC_E_NOT_FOUND", "not found" },
};

const char *kc_strerror(kc_rc rc)
{
    return (unsigned)rc < KC_RC_COUNT && rc_text[rc][1] ? rc_text[rc][1] : "unknown error";
}

const char *kc_rc_name(kc_rc rc)
{
    return (unsigned)rc < KC_RC_COUNT && rc_text[rc][0] ? rc_text[rc][0] : "KC_E_UNKNOWN";
}

void kc_err_reset(kc_client *c)
{
    memset(&c->err, 0, sizeof(c->err));
    c->err.tries_left = -1;
}

kc_rc kc_err_set(kc_client *c, kc_rc rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err.text, sizeof(c->err.text), fmt, ap);
    va_end(ap);
    return rc;
}

const struct kc_error *kc_last_error(const kc_client *c)
{
    return &c->err;
}

int64_t kc_now(const kc_client *c)
{
    return c->now ? c->now(c->now_arg) : (int64_t)time(NULL);
}

void kc_client_set_clock(kc_client *c, int64_t (*now)(void *arg), void *arg)
{
    c->now = now;
    c->now_arg = arg;
}

/* ---- the libcurl transport ---------------------------------------------------- */

struct curl_transport {
    CURL *h; /* one easy handle: its connection and TLS session are reused */
    struct curl_slist *headers;
    char base[512];
    char errbuf[CURL_ERROR_SIZE];
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct hm_buf *b = arg;

    if (size && n > SIZE_MAX / size)
        return 0;
    return hm_buf_add(b, p, size * n) ? size * n : 0; /* a short count aborts the transfer */
}

/* Errors that mean the request never left this machine, so it may be sent again. */
static bool before_sending(CURLcode res)
{
    return res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST ||
           res == CURLE_COULDNT_RESOLVE_PROXY || res == CURLE_SSL_CONNECT_ERROR;
}

/* Runs the request set up on ct->h (URL, method, body) and collects the answer. */
static kc_rc curl_perform(struct curl_transport *ct, long *status, char *ctype, char **out,
                          size_t *out_len, bool *not_sent, char *err)
{
    struct hm_buf b;
    char *type = NULL;
    CURLcode res;

    hm_buf_init(&b, ANSWER_MAX);
    ct->errbuf[0] = '\0';
    curl_easy_setopt(ct->h, CURLOPT_WRITEDATA, &b);
    res = curl_easy_perform(ct->h);
    if (res != CURLE_OK) {
        *not_sent = before_sending(res);
        snprintf(err, 256, "%s", ct->errbuf[0] ? ct->errbuf : curl_easy_strerror(res));
        hm_buf_free(&b);
        switch (res) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return KC_E_VERIFY;
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return KC_E_CONFIG;
        case CURLE_WRITE_ERROR:
            hm_strlcpy(err, "the answer is too long", 256);
            return KC_E_PROTOCOL;
        default:
            return KC_E_NETWORK;
        }
    }
    curl_easy_getinfo(ct->h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(ct->h, CURLINFO_CONTENT_TYPE, &type);
    hm_strlcpy(ctype, type ? type : "", 128);
    if (!hm_buf_add(&b, "", 0) || !b.data) {
        /* An empty body: still a NUL-terminated string for the caller. */
        *out = strdup("");
        *out_len = 0;
        hm_buf_free(&b);
        return *out ? KC_OK : KC_E_NO_MEMORY;
    }
    *out = (char *)hm_buf_take(&b, out_len);
    return KC_OK;
}

static bool set_url(struct curl_transport *ct, const char *path, bool *not_sent, char *err)
{
    char url[1024];

    if ((size_t)snprintf(url, sizeof(url), "%s%s", ct->base, path) >= sizeof(url)) {
        hm_strlcpy(err, "the URL is too long", 256);
        *not_sent = true;
        return false;
    }
    curl_easy_setopt(ct->h, CURLOPT_URL, url);
    return true;
}

static kc_rc curl_post(void *t, const char *path, const char *body, size_t len, long *status,
                       char *ctype, char **out, size_t *out_len, bool *not_sent, char *err)
{
    struct curl_transport *ct = t;

    if (!set_url(ct, path, not_sent, err))
        return KC_E_INVALID_ARG;
    curl_easy_setopt(ct->h, CURLOPT_POST, 1L);
    curl_easy_setopt(ct->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(ct->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    return curl_perform(ct, status, ctype, out, out_len, not_sent, err);
}

static kc_rc curl_get(void *t, const char *path, long *status, char *ctype, char **out,
                      size_t *out_len, bool *not_sent, char *err)
{
    struct curl_transport *ct = t;

    if (!set_url(ct, path, not_sent, err))
        return KC_E_INVALID_ARG;
    curl_easy_setopt(ct->h, CURLOPT_HTTPGET, 1L);
    return curl_perform(ct, status, ctype, out, out_len, not_sent, err);
}

static void curl_free_t(void *t)
{
    struct curl_transport *ct = t;

    if (!ct)
        return;
    curl_easy_cleanup(ct->h);
    curl_slist_free_all(ct->headers);
    free(ct);
}

static const struct kc_transport_ops curl_ops = {
    .name = "curl",
    .post = curl_post,
    .get = curl_get,
    .free = curl_free_t,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static kc_rc curl_transport_new(const struct kc_config *cfg, struct curl_transport **out, char *why,
                                size_t why_cap)
{
    struct curl_transport *ct;
    long connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    long total_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 15000;
    size_t n;

    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return KC_E_NO_MEMORY;
    if (!cfg->server_url || strncmp(cfg->server_url, "https://", 8) != 0) {
        snprintf(why, why_cap, "the server URL must start with https:// (not '%s')",
                 cfg->server_url ? cfg->server_url : "");
        return KC_E_CONFIG;
    }
    if (!cfg->cert_file || !cfg->key_file || !cfg->ca_file) {
        snprintf(why, why_cap, "the kiosk certificate, its key and the server CA are needed");
        return KC_E_CONFIG;
    }
    ct = calloc(1, sizeof(*ct));
    if (!ct)
        return KC_E_NO_MEMORY;
    n = hm_strlcpy(ct->base, cfg->server_url, sizeof(ct->base));
    if (n >= sizeof(ct->base)) {
        free(ct);
        snprintf(why, why_cap, "the server URL is too long");
        return KC_E_CONFIG;
    }
    while (n > 8 && ct->base[n - 1] == '/')
        ct->base[--n] = '\0';
    ct->h = curl_easy_init();
    ct->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (ct->headers)
        ct->headers = curl_slist_append(ct->headers, "Accept: application/jose, application/json");
    if (!ct->h || !ct->headers) {
        curl_free_t(ct);
        return KC_E_NO_MEMORY;
    }
    curl_easy_setopt(ct->h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(ct->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(ct->h, CURLOPT_ERRORBUFFER, ct->errbuf);
    curl_easy_setopt(ct->h, CURLOPT_HTTPHEADER, ct->headers);
    curl_easy_setopt(ct->h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(ct->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ANSWER_MAX);
    curl_easy_setopt(ct->h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(ct->h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(ct->h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(ct->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(ct->h, CURLOPT_SSLCERT, cfg->cert_file);
    curl_easy_setopt(ct->h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(ct->h, CURLOPT_SSLKEY, cfg->key_file);
    curl_easy_setopt(ct->h, CURLOPT_SSLKEYTYPE, "PEM");
    /* Only the deployment's root: not the system's CAs. */
    curl_easy_setopt(ct->h, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(ct->h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(ct->h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(ct->h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(ct->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->pinned_pubkey &&
        curl_easy_setopt(ct->h, CURLOPT_PINNEDPUBLICKEY, cfg->pinned_pubkey) != CURLE_OK) {
        curl_free_t(ct);
        snprintf(why, why_cap, "this libcurl cannot pin the server's public key");
        return KC_E_CONFIG;
    }
    *out = ct;
    return KC_OK;
}

/* ---- the client ------------------------------------------------------------ */

kc_rc kc_client_new_transport(const struct kc_config *cfg, const struct kc_transport_ops *ops,
                              void *t, kc_client **out)
{
    kc_client *c;
    char why[512] = "";
    kc_rc rc;

    *out = NULL;
    if (!cfg || !ops || !ops->post) {
        if (ops && ops->free)
            ops->free(t);
        return KC_E_INVALID_ARG;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        if (ops->free)
            ops->free(t);
        return KC_E_NO_MEMORY;
    }
    c->ops = ops;
    c->t = t;
    kc_err_reset(c);
    c->retries = cfg->retries < 0 ? 0 : cfg->retries == 0 ? 2 : cfg->retries;
    c->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : 250;
    c->drop_confirmation = cfg->test_drop_confirmation;
    c->alter_statement = cfg->test_alter_statement;
    if (cfg->test_tamper_answer)
        hm_strlcpy(c->tamper_path, cfg->test_tamper_answer, sizeof(c->tamper_path));
    if (!cfg->kiosk_id || !cfg->kiosk_id[0] ||
        hm_strlcpy(c->kiosk, cfg->kiosk_id, sizeof(c->kiosk)) >= sizeof(c->kiosk)) {
        rc = KC_E_CONFIG;
        hm_strlcpy(why, "the kiosk id is missing or too long", sizeof(why));
        goto fail;
    }
    if (cfg->issuer_ca &&
        hm_strlcpy(c->issuer_ca, cfg->issuer_ca, sizeof(c->issuer_ca)) >= sizeof(c->issuer_ca)) {
        rc = KC_E_CONFIG;
        hm_strlcpy(why, "the issuer CA path is too long", sizeof(why));
        goto fail;
    }
    rc = kc_load_cert_der(cfg->signing_cert, c->signing_der, sizeof(c->signing_der),
                          &c->signing_len, why, sizeof(why));
    if (rc != KC_OK)
        goto fail;
    if (cfg->csca_dir && cfg->csca_dir[0]) {
        /* Loaded once: every ID card is checked against the same store. */
        cl_rc crc = cl_emrtd_trust_load(cfg->csca_dir, &c->csca);

        if (crc != CL_OK) {
            rc = KC_E_CONFIG;
            snprintf(why, sizeof(why), "%s: not a CSCA store: %s", cfg->csca_dir, cl_strerror(crc));
            goto fail;
        }
    }
    if (!cfg->journal_path) {
        rc = KC_E_CONFIG;
        hm_strlcpy(why, "no journal file", sizeof(why));
        goto fail;
    }
    rc = kc_journal_open(cfg->journal_path, &c->journal, why, sizeof(why));
    if (rc != KC_OK)
        goto fail;
    c->cache_secs = cfg->status_cache_hours < 0    ? 0
                    : cfg->status_cache_hours == 0 ? 72 * 3600
                                                   : (int64_t)cfg->status_cache_hours * 3600;
    /* Switched off: nothing of an earlier run stays behind either. */
    if (!c->cache_secs)
        (void)kc_cache_forget(c->journal, NULL);
    *out = c;
    return KC_OK;
fail:
    hm_log_error("kiosk client: %s", why);
    kc_client_free(c);
    return rc;
}

kc_rc kc_client_new(const struct kc_config *cfg, kc_client **out)
{
    struct curl_transport *ct = NULL;
    char why[512] = "";
    kc_rc rc;

    *out = NULL;
    if (!cfg)
        return KC_E_INVALID_ARG;
    rc = curl_transport_new(cfg, &ct, why, sizeof(why));
    if (rc != KC_OK) {
        hm_log_error("kiosk client: %s", why[0] ? why : kc_strerror(rc));
        return rc;
    }
    return kc_client_new_transport(cfg, &curl_ops, ct, out);
}

void kc_client_free(kc_client *c)
{
    if (!c)
        return;
    if (c->ops && c->ops->free)
        c->ops->free(c->t);
    kc_journal_close(c->journal);
    cl_emrtd_trust_free(c->csca);
    free(c);
}

/* ---- calls ---------------------------------------------------------------- */

/* An error answer: {"error":{"code","message","message_en","detail"?}}. */
static kc_rc read_error(kc_client *c, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *zh = json_string_value(json_object_get(e, "message"));
    const char *en = json_string_value(json_object_get(e, "message_en"));
    json_t *dj = json_object_get(e, "detail");
    char *dumped = dj && !json_is_string(dj) && !json_is_null(dj)
                       ? json_dumps(dj, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                       : NULL;
    /* A detail that is not text ({"opens_at":...}) is kept as compact JSON. */
    const char *detail = dumped ? dumped : json_string_value(dj);
    kc_rc rc = KC_E_REFUSED;

    if (!code) {
        kc_err_set(c, KC_E_PROTOCOL, "HTTP %d without an API error", c->err.http_status);
        rc = KC_E_PROTOCOL;
    } else {
        hm_strlcpy(c->err.code, code, sizeof(c->err.code));
        hm_strlcpy(c->err.message, zh ? zh : "", sizeof(c->err.message));
        hm_strlcpy(c->err.message_en, en ? en : "", sizeof(c->err.message_en));
        hm_strlcpy(c->err.detail, detail ? detail : "", sizeof(c->err.detail));
    }
    free(dumped);
    json_decref(j);
    return rc;
}

static bool retryable_status(long status)
{
    return status == 502 || status == 503 || status == 504;
}

/* Test hook: changes one base64url character of the answer's payload, as if in transit. */
static void tamper(char *answer, size_t len)
{
    char *dot = memchr(answer, '.', len);
    size_t i = dot ? (size_t)(dot - answer) + 3 : len / 2;

    if (i < len)
        answer[i] = answer[i] == 'B' ? 'C' : 'B';
}

/* One call: POST body, or GET when body is NULL; retried as idempotent allows. */
static kc_rc call(kc_client *c, const char *path, const char *body, const char *typ,
                  bool idempotent, json_t **payload, char **token)
{
    unsigned pause = c->backoff_ms;
    kc_rc rc = KC_E_NETWORK;

    kc_err_reset(c);
    for (int attempt = 0;; attempt++) {
        char ctype[128] = "", err[256] = "", why[256] = "";
        char *answer = NULL;
        size_t answer_len = 0;
        long status = 0;
        bool not_sent = false;
        bool last = attempt >= c->retries;

        kc_err_reset(c);
        if (body)
            rc = c->ops->post(c->t, path, body, strlen(body), &status, ctype, &answer, &answer_len,
                              &not_sent, err);
        else if (c->ops->get)
            rc = c->ops->get(c->t, path, &status, ctype, &answer, &answer_len, &not_sent, err);
        else
            return kc_err_set(c, KC_E_INVALID_ARG, "%s: this transport cannot GET", path);
        if (rc == KC_E_NETWORK) {
            kc_err_set(c, rc, "%s: %s", path, err);
            /* A call that changes something is repeated only when it surely did not arrive. */
            if (!last && (idempotent || not_sent)) {
                hm_log_debug("kiosk client: %s: %s; retrying in %u ms", path, err, pause);
                hm_sleep_ms(pause);
                pause *= 2;
                continue;
            }
            return rc;
        }
        if (rc != KC_OK)
            return kc_err_set(c, rc, "%s: %s", path, err);
        c->err.http_status = (int)status;
        if (status >= 200 && status < 300) {
            if (strncmp(ctype, "application/jose", 16) != 0) {
                free(answer);
                return kc_err_set(c, KC_E_VERIFY, "%s: HTTP %ld answer is '%s', not a signed JWS",
                                  path, status, ctype);
            }
            if (c->tamper_path[0] &&
                (strcmp(c->tamper_path, "*") == 0 || strcmp(c->tamper_path, path) == 0))
                tamper(answer, answer_len);
            rc = kc_verify_answer(answer, answer_len, c->signing_der, c->signing_len, typ, c->kiosk,
                                  kc_now(c), payload, why, sizeof(why));
            if (rc != KC_OK) {
                free(answer);
                return kc_err_set(c, rc, "%s: %s", path, why);
            }
            if (token)
                *token = answer;
            else
                free(answer);
            return KC_OK;
        }
        rc = read_error(c, answer, answer_len);
        free(answer);
        if (!last && idempotent && retryable_status(status)) {
            hm_sleep_ms(pause);
            pause *= 2;
            continue;
        }
        return rc;
    }
}

kc_rc kc_call_token(kc_client *c, const char *path, const char *body, const char *typ,
                    bool idempotent, json_t **payload, char **token)
{
    if (!body)
        return KC_E_INVALID_ARG;
    return call(c, path, body, typ, idempotent, payload, token);
}

kc_rc kc_get_token(kc_client *c, const char *path, const char *typ, json_t **payload, char **token)
{
    return call(c, path, NULL, typ, true, payload, token);
}

kc_rc kc_call(kc_client *c, const char *path, const char *body, const char *typ, bool idempotent,
              json_t **payload)
{
    if (!c || !path || !body || !typ || !payload)
        return KC_E_INVALID_ARG;
    return kc_call_token(c, path, body, typ, idempotent, payload, NULL);
}

/* Dumps a request object (stealing the reference) and calls. */
static kc_rc call_json(kc_client *c, const char *path, json_t *req, const char *typ,
                       bool idempotent, json_t **payload)
{
    char *body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    kc_rc rc;

    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    rc = kc_call_token(c, path, body, typ, idempotent, payload, NULL);
    free(body);
    return rc;
}

kc_rc kc_nonce(kc_client *c, const char *purpose, char nonce[64], int64_t *exp)
{
    json_t *p = NULL;
    const char *n, *pp;
    kc_rc rc;

    if (!c || !purpose || !nonce)
        return KC_E_INVALID_ARG;
    /* A repeated nonce request only leaves an unused challenge behind: safe to retry. */
    rc = call_json(c, "/v1/nonces", json_pack("{s:s}", "purpose", purpose), "huimin-nonce", true,
                   &p);
    if (rc != KC_OK)
        return rc;
    n = json_string_value(json_object_get(p, "nonce"));
    pp = json_string_value(json_object_get(p, "purpose"));
    if (!n || strlen(n) != 43 || !pp || strcmp(pp, purpose) != 0) {
        json_decref(p);
        return kc_err_set(c, KC_E_VERIFY, "the nonce answer is not a %s challenge of 43 characters",
                          purpose);
    }
    hm_strlcpy(nonce, n, 64);
    if (exp)
        *exp = json_integer_value(json_object_get(p, "exp"));
    json_decref(p);
    return KC_OK;
}

/* The cache key of a card: hex of SHA-256 of its 9E certificate; false when the session has
 * none (a session made without kc_tap). */
static bool cache_key(const struct kc_session *s, char key[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t any = 0;

    for (size_t i = 0; i < sizeof(s->card_sha256); i++) {
        any |= s->card_sha256[i];
        key[2 * i] = hex[s->card_sha256[i] >> 4];
        key[2 * i + 1] = hex[s->card_sha256[i] & 15];
    }
    key[64] = '\0';
    return any != 0;
}

/* The status members every screen relies on: the resident and the payments. */
static bool status_members(json_t *p)
{
    return json_is_object(json_object_get(p, "resident")) &&
           json_is_array(json_object_get(p, "payments"));
}

/* Keeps a verified status for the card (the newest only); expired entries go. */
static void cache_status(kc_client *c, const struct kc_session *s, const char *token)
{
    char key[65];
    int64_t now = kc_now(c);

    if (!c->cache_secs || !token || !cache_key(s, key))
        return;
    if (kc_cache_purge(c->journal, now - c->cache_secs) != KC_OK ||
        kc_cache_put(c->journal, key, token, now) != KC_OK)
        hm_log_warn("kiosk client: the status cannot be kept for offline use");
}

kc_rc kc_status(kc_client *c, const struct kc_session *s, json_t **status)
{
    json_t *req, *p = NULL;
    char *body, *token = NULL;
    const char *sid;
    kc_rc rc;

    if (!c || !s || !status)
        return KC_E_INVALID_ARG;
    if (!s->id[0])
        return kc_err_set(c, KC_E_INVALID_ARG, "the card was checked offline: no session");
    req = json_pack("{s:s}", "session", s->id);
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(req);
    rc = body ? kc_call_token(c, "/v1/status", body, "huimin-status", true, &p, &token)
              : KC_E_NO_MEMORY;
    free(body);
    if (rc != KC_OK)
        return rc;
    sid = json_string_value(json_object_get(p, "session"));
    if (!sid || strcmp(sid, s->id) != 0 || !status_members(p)) {
        json_decref(p);
        free(token);
        return kc_err_set(c, KC_E_VERIFY, "the status is not this session's, or lacks members");
    }
    cache_status(c, s, token);
    hm_wipe(token, strlen(token));
    free(token);
    *status = p;
    return KC_OK;
}

kc_rc kc_status_cached(kc_client *c, const struct kc_session *s, json_t **status, int64_t *as_of)
{
    json_t *p = NULL;
    char key[65], why[256] = "", *token = NULL;
    int64_t at = 0, now;
    const char *w;
    kc_rc rc;

    if (!c || !s || !status)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    *status = NULL;
    if (!c->cache_secs)
        return kc_err_set(c, KC_E_NOT_FOUND, "no status is kept here (status_cache_hours = 0)");
    if (!cache_key(s, key) || !s->welfare_no[0])
        return kc_err_set(c, KC_E_INVALID_ARG, "the session names no card");
    now = kc_now(c);
    if (kc_cache_purge(c->journal, now - c->cache_secs) != KC_OK)
        return kc_err_set(c, KC_E_JOURNAL, "cannot read the status cache");
    rc = kc_cache_get(c->journal, key, &token, &at);
    if (rc == KC_E_NOT_FOUND)
        return kc_err_set(c, rc, "no status of this card from the last %lld hours",
                          (long long)(c->cache_secs / 3600));
    if (rc != KC_OK)
        return kc_err_set(c, rc == KC_E_NO_MEMORY ? rc : KC_E_JOURNAL,
                          "cannot read the status cache");
    /* As it was verified then: the status's exp is the session's, long past by now. */
    rc = kc_verify_answer(token, strlen(token), c->signing_der, c->signing_len, "huimin-status",
                          c->kiosk, at, &p, why, sizeof(why));
    hm_wipe(token, strlen(token));
    free(token);
    if (rc == KC_OK && !status_members(p)) {
        hm_strlcpy(why, "it lacks members", sizeof(why));
        rc = KC_E_VERIFY;
    }
    w = rc == KC_OK
            ? json_string_value(json_object_get(json_object_get(p, "resident"), "welfare_no"))
            : NULL;
    if (rc == KC_OK && (!w || strcmp(w, s->welfare_no) != 0)) {
        hm_strlcpy(why, "it is another resident's", sizeof(why));
        rc = KC_E_VERIFY;
    }
    if (rc != KC_OK) {
        json_decref(p);
        (void)kc_cache_forget(c->journal, key);
        return kc_err_set(c, KC_E_VERIFY, "the kept status was deleted: %s", why);
    }
    *status = p;
    if (as_of)
        *as_of = at;
    return KC_OK;
}

kc_rc kc_dispute(kc_client *c, const struct kc_session *s, const char *payment, const char *reason,
                 const char *note, json_t **dispute)
{
    json_t *req, *p = NULL;
    const char *pp;
    kc_rc rc;

    if (!c || !s || !payment || !reason || !dispute)
        return KC_E_INVALID_ARG;
    if (strcmp(reason, "not_received") != 0 && strcmp(reason, "wrong_amount") != 0 &&
        strcmp(reason, "other") != 0)
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "the reason is not_received, wrong_amount or other (not '%s')", reason);
    req = json_pack("{s:s,s:s,s:s}", "session", s->id, "payment", payment, "reason", reason);
    if (req && note)
        json_object_set_new(req, "note", json_string(note));
    /* Not idempotent: sent again only when it surely did not arrive. */
    rc = call_json(c, "/v1/disputes", req, "huimin-dispute", false, &p);
    if (rc != KC_OK)
        return rc;
    pp = json_string_value(json_object_get(p, "payment"));
    if (!pp || strcmp(pp, payment) != 0 || !json_string_value(json_object_get(p, "dispute"))) {
        json_decref(p);
        return kc_err_set(c, KC_E_VERIFY, "the dispute answer is for another payment");
    }
    *dispute = p;
    return KC_OK;
}

/* ---- delivery from the journal ------------------------------------------- */

/* Server codes that will not change by sending the same request again. */
static bool refusal_final(const struct kc_error *e)
{
    return e->http_status >= 400 && e->http_status < 500 && e->http_status != 408 &&
           e->http_status != 429 && strcmp(e->code, "kiosk_revoked") != 0 &&
           strcmp(e->code, "kiosk_not_enrolled") != 0 &&
           strcmp(e->code, "client_certificate_required") != 0;
}

kc_rc kc_deliver(kc_client *c, const struct kc_entry *e, const char *body, struct kc_receipt *out)
{
    json_t *p = NULL;
    char *token = NULL;
    char why[256] = "";
    kc_rc rc;

    /* /v1/confirmations is idempotent on the server: the same statement, the same receipt. */
    rc = kc_call_token(c, "/v1/confirmations", body, "huimin-receipt", true, &p, &token);
    if (rc == KC_OK) {
        memset(out, 0, sizeof(*out));
        rc = kc_receipt_fill(p, token, e->statement_hash, e->payment, out, why, sizeof(why));
        out->again = c->err.http_status == 200;
        json_decref(p);
        free(token);
        if (rc != KC_OK) {
            kc_err_set(c, rc, "/v1/confirmations: %s", why);
            (void)kc_journal_attempt(c->journal, e->id, c->err.text);
            return rc;
        }
        if (e->state == KC_ENTRY_DELIVERED)
            return KC_OK;
        rc = kc_journal_delivered(c->journal, e->id, kc_now(c), out->token, out->id);
        if (rc != KC_OK)
            return kc_err_set(c, KC_E_JOURNAL, "the receipt arrived but cannot be recorded");
        return KC_OK;
    }
    if (e->state != KC_ENTRY_PENDING)
        return rc;
    if (rc == KC_E_REFUSED && refusal_final(&c->err))
        (void)kc_journal_refused(c->journal, e->id, c->err.code);
    else
        (void)kc_journal_attempt(c->journal, e->id, c->err.code[0] ? c->err.code : c->err.text);
    return rc;
}

kc_rc kc_sync(kc_client *c, struct kc_sync_result *res)
{
    struct kc_sync_result r = { 0, 0, 0 };
    int64_t after = 0;
    kc_rc rc = KC_OK;

    if (!c)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    for (;;) {
        struct kc_entry e;
        struct kc_receipt rec;
        char *req = NULL;
        kc_rc one = kc_journal_next_pending(c->journal, after, &e, &req);

        if (one == KC_E_NOT_FOUND)
            break;
        if (one != KC_OK) {
            rc = kc_err_set(c, KC_E_JOURNAL, "cannot read the journal");
            break;
        }
        after = e.id;
        one = kc_deliver(c, &e, req, &rec);
        free(req);
        if (one == KC_OK) {
            r.delivered++;
            hm_log_info("journal: entry %lld (%s) delivered, receipt %s", (long long)e.id,
                        e.payment, rec.id);
            continue;
        }
        if (one == KC_E_REFUSED && refusal_final(&c->err)) {
            r.refused++;
            hm_log_warn("journal: entry %lld (%s) refused by the server: %s", (long long)e.id,
                        e.payment, c->err.code);
            rc = KC_E_REFUSED;
            continue;
        }
        /* The server is away or answered wrongly: the rest waits for the next sync. */
        rc = one;
        break;
    }
    r.pending = kc_journal_count(c->journal, KC_ENTRY_PENDING);
    if (res)
        *res = r;
    return rc;
}

kc_rc kc_journal_each(kc_client *c, bool (*fn)(void *arg, const struct kc_entry *e), void *arg)
{
    if (!c || !fn)
        return KC_E_INVALID_ARG;
    return kc_journal_each_entry(c->journal, fn, arg);
}
