/* bench_tap: measures "tap to verified status" (target p95 <= 100 ms) through the real pcscd. */
/*
 * One round is what a kiosk does when a resident taps a welfare card:
 * connect to the card through pcscd, kc_tap (a card-session nonce, the 9E
 * signature on the card, the card checked at the kiosk against the issuer CA
 * when one is given, the card session opened on the server) and kc_status
 * (the status, its JWS verified with the pinned signing certificate). The
 * client is made once and kept, as on a kiosk (one TLS connection, kept
 * alive); the first round (the TLS handshake) is reported apart and left out
 * of the percentiles. Prints p50, p95, p99 and max in ms, the p50 of each
 * step, whether the target was met, and the process's max RSS.
 *
 * Runs where PCSCLITE_CSOCK_NAME reaches a pcscd with the card (huimin-rig);
 * bench/bench_tap.sh sets everything up:
 *   bench_tap KIOSK_DIR SERVER_URL [ROUNDS [ISSUER_CA]]
 * KIOSK_DIR is huimin-admin enroll-kiosk's folder (kiosk.pem, kiosk.key,
 * server-ca.pem, signing.pem); the kiosk id is its name.
 */
#include "cl/card.h"
#include "hm/util.h"
#include "kc/client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TARGET_P95_MS 100.0

enum { STEP_CONNECT, STEP_TAP, STEP_STATUS, STEP_TOTAL, STEPS };

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The q-th quantile (nearest rank) of n sorted values, in ms. */
static double quantile_ms(const uint64_t *v, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);

    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

static long max_rss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* The name of the first reader with a card. */
static int find_reader(cl_ctx *ctx, char *name, size_t cap)
{
    struct cl_reader_info r[CL_READERS_MAX];
    size_t n = 0;

    if (cl_ctx_list_readers(ctx, r, HM_ARRAY_SIZE(r), &n) != CL_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((r[i].state & CL_READER_PRESENT) && hm_strlcpy(name, r[i].name, cap) < cap)
            return 0;
    return -1;
}

/* One round; t gets the microseconds of each step. 0 or -1 (with a message). */
static int round_once(kc_client *c, cl_ctx *ctx, const char *reader, const char *welfare_no,
                      uint64_t t[STEPS])
{
    struct kc_session s;
    cl_card *card = NULL;
    json_t *st = NULL;
    const char *w;
    uint64_t t0 = now_us(), t1, t2, t3;
    cl_rc crc = cl_card_connect(ctx, reader, CL_SHARE_SHARED, &card);
    kc_rc rc;

    if (crc != CL_OK) {
        fprintf(stderr, "bench_tap: cannot connect to the card: %s\n", cl_strerror(crc));
        return -1;
    }
    t1 = now_us();
    rc = kc_tap(c, card, &s);
    t2 = now_us();
    if (rc == KC_OK)
        rc = kc_status(c, &s, &st);
    cl_card_disconnect(card, false);
    t3 = now_us();
    if (rc != KC_OK) {
        const struct kc_error *e = kc_last_error(c);

        fprintf(stderr, "bench_tap: %s: %s %s\n", kc_strerror(rc), e->code, e->text);
        return -1;
    }
    w = json_string_value(json_object_get(json_object_get(st, "resident"), "welfare_no"));
    if (welfare_no && (!w || strcmp(w, welfare_no) != 0)) {
        fprintf(stderr, "bench_tap: the status is for another resident\n");
        json_decref(st);
        return -1;
    }
    json_decref(st);
    t[STEP_CONNECT] = t1 - t0;
    t[STEP_TAP] = t2 - t1;
    t[STEP_STATUS] = t3 - t2;
    t[STEP_TOTAL] = t3 - t0;
    return 0;
}

static void path_in(char *out, size_t cap, const char *dir, const char *file)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, file) >= cap)
        out[0] = '\0';
}

int main(int argc, char **argv)
{
    static const char *const step_name[STEPS] = { "connect", "tap", "status", "total" };
    char cert[1024], key[1024], ca[1024], signing[1024], journal[1100], reader[256];
    char jdir[] = "/tmp/bench_tap.XXXXXX";
    const char *kdir, *kiosk, *slash;
    long rounds = 200;
    uint64_t *v[STEPS] = { NULL }, first[STEPS];
    struct kc_config cfg;
    kc_client *c = NULL;
    cl_ctx *ctx = NULL;
    long rss_warm;
    char welfare_no[32] = "";
    double p95;
    int ret = 2;

    if (argc < 3 || argc > 5 || (argc > 3 && !hm_parse_long(argv[3], 1, 100000, &rounds))) {
        fprintf(stderr, "usage: bench_tap KIOSK_DIR SERVER_URL [ROUNDS [ISSUER_CA]]\n");
        return 2;
    }
    kdir = argv[1];
    slash = strrchr(kdir, '/');
    kiosk = slash && slash[1] ? slash + 1 : kdir;
    path_in(cert, sizeof(cert), kdir, "kiosk.pem");
    path_in(key, sizeof(key), kdir, "kiosk.key");
    path_in(ca, sizeof(ca), kdir, "server-ca.pem");
    path_in(signing, sizeof(signing), kdir, "signing.pem");
    if (!mkdtemp(jdir)) {
        perror("bench_tap: mkdtemp");
        return 2;
    }
    path_in(journal, sizeof(journal), jdir, "journal.db");
    memset(&cfg, 0, sizeof(cfg));
    cfg.server_url = argv[2];
    cfg.cert_file = cert;
    cfg.key_file = key;
    cfg.ca_file = ca;
    cfg.signing_cert = signing;
    cfg.issuer_ca = argc > 4 ? argv[4] : NULL;
    cfg.kiosk_id = kiosk;
    cfg.journal_path = journal;
    for (int i = 0; i < STEPS; i++)
        if (!(v[i] = calloc((size_t)rounds, sizeof(uint64_t))))
            goto out;
    if (kc_client_new(&cfg, &c) != KC_OK) {
        fprintf(stderr, "bench_tap: cannot make the client (see above)\n");
        goto out;
    }
    if (cl_ctx_new_pcsc(&ctx) != CL_OK || find_reader(ctx, reader, sizeof(reader)) != 0) {
        fprintf(stderr, "bench_tap: no pcscd or no card on a reader (run inside huimin-rig)\n");
        goto out;
    }
    /* The first round opens the TLS connection: reported apart. */
    if (round_once(c, ctx, reader, NULL, first) != 0)
        goto out;
    {
        /* Which card: every later status must be for the same resident. */
        struct kc_session s;
        cl_card *card = NULL;

        if (cl_card_connect(ctx, reader, CL_SHARE_SHARED, &card) != CL_OK ||
            kc_tap(c, card, &s) != KC_OK) {
            cl_card_disconnect(card, false);
            fprintf(stderr, "bench_tap: the second tap failed\n");
            goto out;
        }
        cl_card_disconnect(card, false);
        hm_strlcpy(welfare_no, s.welfare_no, sizeof(welfare_no));
    }
    rss_warm = max_rss_kb();
    for (long i = 0; i < rounds; i++) {
        uint64_t t[STEPS];

        if (round_once(c, ctx, reader, welfare_no, t) != 0) {
            fprintf(stderr, "bench_tap: round %ld failed\n", i);
            goto out;
        }
        for (int k = 0; k < STEPS; k++)
            v[k][i] = t[k];
    }
    for (int k = 0; k < STEPS; k++)
        qsort(v[k], (size_t)rounds, sizeof(uint64_t), cmp_u64);
    p95 = quantile_ms(v[STEP_TOTAL], (size_t)rounds, 0.95);
    printf("tap to verified status through pcscd, %s (kiosk %s, card %s), %ld rounds%s:\n",
           cfg.server_url, kiosk, welfare_no, rounds,
           cfg.issuer_ca ? ", card checked at the kiosk too" : "");
    printf("  p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms  (first, with the TLS "
           "handshake: %.1f ms)\n",
           quantile_ms(v[STEP_TOTAL], (size_t)rounds, 0.50), p95,
           quantile_ms(v[STEP_TOTAL], (size_t)rounds, 0.99),
           (double)v[STEP_TOTAL][rounds - 1] / 1000.0, (double)first[STEP_TOTAL] / 1000.0);
    printf("  p50 by step:");
    for (int k = 0; k < STEP_TOTAL; k++)
        printf(" %s %.1f ms%s", step_name[k], quantile_ms(v[k], (size_t)rounds, 0.50),
               k + 1 < STEP_TOTAL ? "," : "\n");
    printf("  max RSS %ld KiB after the first rounds, %ld KiB at the end\n", rss_warm,
           max_rss_kb());
    printf("  target p95 <= %.0f ms: %s\n", TARGET_P95_MS, p95 <= TARGET_P95_MS ? "MET" : "MISSED");
    ret = p95 <= TARGET_P95_MS ? 0 : 1;
out:
    cl_ctx_free(ctx);
    kc_client_free(c);
    for (int i = 0; i < STEPS; i++)
        free(v[i]);
    unlink(journal);
    rmdir(jdir);
    return ret;
}
