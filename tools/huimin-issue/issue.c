/* Personalises a PIV card as a welfare card (SP 800-73-4 Part 2 card management commands). */
#include "issue.h"

#include "cl/piv.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int failf(struct issue_result *r, cl_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(struct issue_result *r, cl_rc rc, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    n = strlen(r->message);
    if (rc != CL_OK)
        snprintf(r->message + n, sizeof(r->message) - n, ": %s", cl_strerror(rc));
    return -1;
}

/* A certificate object: 70 cert, 71 00 (not compressed), FE LRC. */
static cl_rc put_cert(cl_card *card, uint8_t key, const uint8_t *der, size_t len)
{
    static uint8_t obj[CL_PIV_CERT_MAX + 16];
    struct hm_writer w = hm_writer_make(obj, sizeof(obj));
    static const uint8_t info = 0x00;

    cl_tlv_put(&w, 0x70, der, len);
    cl_tlv_put(&w, 0x71, &info, 1);
    cl_tlv_put(&w, 0xFE, NULL, 0);
    if (!hm_writer_ok(&w))
        return CL_E_INVALID_ARG;
    return cl_piv_put_data(card, cl_piv_cert_object(key), obj, w.len);
}

static cl_rc put_chuid(cl_card *card, const struct pki_ca *ca, int days, uint8_t guid[16])
{
    uint8_t body[128], obj[2048], fascn[25], *sig = NULL;
    struct hm_writer w = hm_writer_make(body, sizeof(body));
    char expiry[9];
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    size_t sig_len = 0;
    cl_rc rc;

    /* FASC-N all zeros but the required start/end sentinels is not meaningful here;
     * PIV-I cards use this "no agency" value with the GUID as the identifier. */
    memset(fascn, 0, sizeof(fascn));
    fascn[0] = 0xD4;
    fascn[1] = 0xE7;
    fascn[2] = 0x39;
    fascn[3] = 0xDA;
    fascn[4] = 0x73;
    fascn[5] = 0x9C;
    if (RAND_bytes(guid, 16) != 1)
        return CL_E_CRYPTO;
    gmtime_r(&t, &tm);
    strftime(expiry, sizeof(expiry), "%Y%m%d", &tm);
    cl_tlv_put(&w, 0x30, fascn, sizeof(fascn));
    cl_tlv_put(&w, 0x34, guid, 16);
    cl_tlv_put(&w, 0x35, expiry, 8);
    if (pki_sign_chuid(ca, body, w.len, &sig, &sig_len) != 0)
        return CL_E_CRYPTO;
    {
        struct hm_writer o = hm_writer_make(obj, sizeof(obj));

        hm_writer_bytes(&o, body, w.len);
        cl_tlv_put(&o, 0x3E, sig, sig_len);
        cl_tlv_put(&o, 0xFE, NULL, 0);
        OPENSSL_free(sig);
        if (!hm_writer_ok(&o))
            return CL_E_INVALID_ARG;
        rc = cl_piv_put_data(card, CL_PIV_OBJ_CHUID, obj, o.len);
    }
    return rc;
}

static cl_rc put_printed(cl_card *card, const struct pki_holder *h, int days)
{
    static const char *const months[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
    uint8_t obj[256];
    struct hm_writer w = hm_writer_make(obj, sizeof(obj));
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    char expiry[16];

    gmtime_r(&t, &tm);
    snprintf(expiry, sizeof(expiry), "%04d%s%02d", tm.tm_year + 1900, months[tm.tm_mon],
             tm.tm_mday);
    cl_tlv_put(&w, 0x01, h->name, strlen(h->name));
    cl_tlv_put(&w, 0x02, "Welfare", 7);
    cl_tlv_put(&w, 0x04, expiry, strlen(expiry));
    cl_tlv_put(&w, 0x05, h->welfare_no, strlen(h->welfare_no));
    cl_tlv_put(&w, 0x06, "HUIMIN", 6);
    cl_tlv_put(&w, 0xFE, NULL, 0);
    if (!hm_writer_ok(&w))
        return CL_E_INVALID_ARG;
    return cl_piv_put_data(card, CL_PIV_OBJ_PRINTED, obj, w.len);
}

int issue_card(cl_card *card, const struct pki_ca *ca, const struct issue_opts *o,
               struct issue_result *r)
{
    static const uint8_t keys[3] = { CL_PIV_KEY_AUTH, CL_PIV_KEY_SIGN, CL_PIV_KEY_CARDAUTH };
    static const uint32_t usage[3] = { KU_DIGITAL_SIGNATURE,
                                       KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
                                       KU_DIGITAL_SIGNATURE };
    cl_rc rc;
    int tries;

    memset(r, 0, sizeof(*r));
    rc = cl_piv_select(card, NULL);
    if (rc != CL_OK)
        return failf(r, rc, "the card has no PIV application");
    rc = cl_piv_mgmt_auth(card, CL_PIV_ALG_3DES, o->mgmt_key, o->mgmt_key_len);
    if (rc != CL_OK)
        return failf(r, rc, "management key not accepted");
    for (int i = 0; i < 3; i++) {
        uint8_t raw[600];
        size_t raw_len = 0;
        EVP_PKEY *pub;
        X509 *x;
        uint8_t *der = NULL;
        size_t der_len = 0;

        rc = cl_piv_generate(card, keys[i], CL_PIV_ALG_ECC_P256, raw, sizeof(raw), &raw_len);
        if (rc != CL_OK)
            return failf(r, rc, "key generation in %s failed", cl_piv_key_name(keys[i]));
        if (o->cert_override) {
            rc = put_cert(card, keys[i], o->cert_override[i], o->cert_override_len[i]);
            if (rc != CL_OK)
                return failf(r, rc, "writing the %s certificate", cl_piv_key_name(keys[i]));
            continue;
        }
        pub = pki_pubkey_from_piv(raw, raw_len, CL_PIV_ALG_ECC_P256);
        r->serials[i] = o->serial ? o->serial + (uint64_t)i : 0;
        x = pub ? pki_issue(ca, pub, &o->holder, r->serials[i], o->not_before_days, o->days,
                            usage[i])
                : NULL;
        EVP_PKEY_free(pub);
        if (!x || pki_cert_der(x, &der, &der_len) != 0) {
            X509_free(x);
            return failf(r, CL_OK, "cannot issue the %s certificate", cl_piv_key_name(keys[i]));
        }
        if (!r->serials[i])
            r->serials[i] = ASN1_INTEGER_get(X509_get0_serialNumber(x)) > 0
                                ? (uint64_t)ASN1_INTEGER_get(X509_get0_serialNumber(x))
                                : 0;
        X509_free(x);
        rc = put_cert(card, keys[i], der, der_len);
        OPENSSL_free(der);
        if (rc != CL_OK)
            return failf(r, rc, "writing the %s certificate", cl_piv_key_name(keys[i]));
    }
    rc = put_chuid(card, ca, o->days > 0 ? o->days : 1, r->guid);
    if (rc != CL_OK)
        return failf(r, rc, "writing the CHUID");
    rc = put_printed(card, &o->holder, o->days);
    if (rc != CL_OK)
        return failf(r, rc, "writing the Printed Information");
    if (o->pin) {
        rc = cl_piv_change_ref(card, CL_PIV_REF_PIN, o->old_pin, o->pin, &tries);
        if (rc != CL_OK)
            return failf(r, rc, "setting the PIN");
    }
    if (o->puk) {
        rc = cl_piv_change_ref(card, CL_PIV_REF_PUK, o->old_puk, o->puk, &tries);
        if (rc != CL_OK)
            return failf(r, rc, "setting the PUK");
    }
    return 0;
}
