/*
 * Fuzz target for Passive and Active Authentication (cl_emrtd_verify): a
 * genuine ID card's evidence, made once, with one of its files (chosen by
 * the first input byte) or the AA signature replaced by the rest of the
 * input. The SOD goes through OpenSSL's CMS parser and our LDS Security
 * Object parser; a data group whose bytes changed must never pass its hash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl/emrtd_auth.h"
#include "lds_issue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct id_lds base;
static struct cl_emrtd_evidence ev;

static void setup(void)
{
    static const struct id_holder h = {
        .format = CL_MRZ_TD1,
        .doc_number = "HA1234567",
        .birth = "560312",
        .expiry = "360312",
        .sex = 'F',
        .issuer = "CHN",
        .nationality = "CHN",
        .surname = "ZHANG",
        .given = "XIUYING",
        .name = "张秀英",
        .citizen_id = "110102195603120025",
        .full_birth = "19560312",
        .face_seed = 1,
    };
    struct pki_ca csca, ds;
    EVP_PKEY *aa = pki_ec_key();
    char err[128];

    id_lds_init(&base);
    if (!aa || pki_ca_create(&csca, "Fuzz CSCA", 30) != 0 ||
        id_ds_create(&csca, &ds, "Fuzz DS", -1, 30) != 0 ||
        id_build_lds(&h, aa, &ds, &base, err, sizeof(err)) != 0)
        abort();
    pki_ca_free(&csca);
    pki_ca_free(&ds);
    EVP_PKEY_free(aa);
    cl_emrtd_evidence_init(&ev);
    memset(ev.challenge, 0x5A, sizeof(ev.challenge));
    ev.challenge_len = sizeof(ev.challenge);
    ev.aa_sig_len = 64;
}

static void set(struct hm_buf *b, const uint8_t *p, size_t n)
{
    hm_buf_reset(b);
    if (n && !hm_buf_add(b, p, n))
        hm_buf_reset(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const int dgs[] = { 1, 2, 11, 14, 15 };
    const struct hm_buf *originals[] = { &base.dg1, &base.dg2, &base.dg11, &base.dg14, &base.dg15 };
    struct cl_verdict v;
    unsigned which;

    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1)
        return 0;
    which = data[0] % 7;
    set(&ev.com, base.com.data, base.com.len);
    set(&ev.sod, base.sod.data, base.sod.len);
    for (size_t i = 0; i < 5; i++)
        set(&ev.dg[dgs[i]], originals[i]->data, originals[i]->len);
    memset(ev.aa_sig, 0x11, 64);
    ev.aa_sig_len = 64;
    if (which == 5)
        set(&ev.sod, data + 1, size - 1);
    else if (which == 6) {
        ev.aa_sig_len = size - 1 < sizeof(ev.aa_sig) ? size - 1 : sizeof(ev.aa_sig);
        memcpy(ev.aa_sig, data + 1, ev.aa_sig_len);
    } else
        set(&ev.dg[dgs[which]], data + 1, size - 1);

    if (cl_emrtd_verify(NULL, 0, &ev, &v) != CL_OK)
        __builtin_trap();
    if (cl_emrtd_genuine(&v)) /* no trust store: never genuine */
        __builtin_trap();
    if (which < 5) {
        static const char *const names[] = { "dg1-hash", "dg2-hash", "dg11-hash", "dg14-hash",
                                             "dg15-hash" };
        const struct cl_check *c = cl_verdict_get(&v, names[which]);
        const struct hm_buf *o = originals[which];
        int same = size - 1 == o->len && memcmp(data + 1, o->data, o->len) == 0;

        if (c && c->state == CL_CHECK_PASSED && !same)
            __builtin_trap();
    }
    return 0;
}
