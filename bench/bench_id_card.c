/*
 * Measures how long an ID-card check takes through the real pcscd and vpcd:
 * connect, SELECT, BAC, read EF.COM, EF.SOD, DG1, DG2, DG11, DG14 and DG15
 * under secure messaging, Active Authentication, then Passive Authentication
 * with a trust store loaded once. Prints p50, p95 and max in milliseconds.
 *
 *   build/release/bench/bench_id_card [ROUNDS]
 */
#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"
#include "hm/util.h"
#include "lds_issue.h"
#include "rig.h"

#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const char *const no_save[] = { "--no-save", NULL };
    long rounds = 200;
    char dir[] = "/tmp/bench_id_card.XXXXXX", err[256], path[400];
    struct rig *rig = NULL;
    struct rig_opts opts = { 0 };
    cl_ctx *ctx = NULL;
    cl_emrtd_trust *trust = NULL;
    uint64_t *ms;
    int rc = 1;

    if (argc > 1 && !hm_parse_long(argv[1], 1, 100000, &rounds)) {
        fprintf(stderr, "usage: bench_id_card [ROUNDS]\n");
        return 2;
    }
    ms = calloc((size_t)rounds, sizeof(*ms));
    if (!ms || !mkdtemp(dir) || id_fixture_set(dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_id_card: cannot make the fixtures\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/trust", dir);
    {
        /* The virtual card program sits beside us in the build tree: ../fixtures/. */
        static char vcard[4200];
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n <= 0)
            goto out;
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            *slash = '\0';
        snprintf(vcard, sizeof(vcard), "%s/../fixtures/huimin-vcard", self);
        opts.vcard_bin = vcard;
    }
    if (cl_emrtd_trust_load(path, &trust) != CL_OK || rig_start(&rig, &opts) != 0 ||
        cl_ctx_new_pcsc(&ctx) != CL_OK)
        goto out;
    snprintf(path, sizeof(path), "%s/zhang-td1.json", dir);
    if (rig_card_start(rig, 0, path, no_save) != 0)
        goto out;
    for (long i = 0; i < rounds; i++) {
        struct cl_emrtd_evidence ev;
        struct cl_emrtd_keys k;
        struct cl_verdict v;
        uint8_t chal[CL_EMRTD_CHALLENGE_LEN];
        cl_card *card = NULL;
        uint64_t t0;
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        cl_emrtd_evidence_init(&ev);
        if (RAND_bytes(chal, sizeof(chal)) != 1 ||
            cl_card_connect(ctx, rig_reader(rig, 0), CL_SHARE_SHARED, &card) != CL_OK ||
            cl_emrtd_select_app(card) != CL_OK ||
            cl_emrtd_bac_keys("HA1234567", "560312", "360312", &k) != CL_OK ||
            cl_emrtd_bac(card, &k, NULL, NULL) != CL_OK ||
            cl_emrtd_collect(card, chal, sizeof(chal), &ev) != CL_OK ||
            cl_emrtd_verify(trust, 0, &ev, &v) != CL_OK || !cl_emrtd_genuine(&v)) {
            fprintf(stderr, "bench_id_card: round %ld failed\n", i);
            cl_card_disconnect(card, false);
            cl_emrtd_evidence_free(&ev);
            goto out;
        }
        cl_card_disconnect(card, false);
        cl_emrtd_evidence_free(&ev);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ms[i] = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - t0;
    }
    qsort(ms, (size_t)rounds, sizeof(*ms), cmp_u64);
    printf("ID card read and verified through pcscd, %ld rounds: p50 %.1f ms, p95 %.1f ms, "
           "max %.1f ms\n",
           rounds, (double)ms[rounds / 2] / 1000.0, (double)ms[rounds * 95 / 100] / 1000.0,
           (double)ms[rounds - 1] / 1000.0);
    rc = 0;
out:
    cl_ctx_free(ctx);
    rig_stop(rig);
    cl_emrtd_trust_free(trust);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    if (system(path) != 0)
        rc = 1;
    free(ms);
    return rc;
}
