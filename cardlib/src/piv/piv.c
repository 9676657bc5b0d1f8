/* The PIV card commands and data-object parsers behind the welfare card (NIST SP 800-73-4). */
#include "cl/piv.h"

#include "cl/apdu.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/util.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

const uint8_t cl_piv_aid[11] = { 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00 };

uint32_t cl_piv_cert_object(uint8_t key)
{
    switch (key) {
    case CL_PIV_KEY_AUTH:
        return CL_PIV_OBJ_CERT_AUTH;
    case CL_PIV_KEY_SIGN:
        return CL_PIV_OBJ_CERT_SIGN;
    case CL_PIV_KEY_KEYMGMT:
        return CL_PIV_OBJ_CERT_KEYMGMT;
    case CL_PIV_KEY_CARDAUTH:
        return CL_PIV_OBJ_CERT_CARDAUTH;
    default:
        return 0;
    }
}

const char *cl_piv_key_name(uint8_t key)
{
    switch (key) {
    case CL_PIV_KEY_AUTH:
        return "9A PIV Authentication";
    case CL_PIV_KEY_MGMT:
        return "9B Card Management";
    case CL_PIV_KEY_SIGN:
        return "9C Digital Signature";
    case CL_PIV_KEY_KEYMGMT:
        return "9D Key Management";
    case CL_PIV_KEY_CARDAUTH:
        return "9E Card Authentication";
    default:
        return "unknown key";
    }
}

bool cl_piv_alg_is_signature(uint8_t alg)
{
    return alg == CL_PIV_ALG_ECC_P256 || alg == CL_PIV_ALG_ECC_P384 || alg == CL_PIV_ALG_RSA2048 ||
           alg == CL_PIV_ALG_RSA1024;
}

/* ---- parsers ----------------------------------------------------------- */

/* Copies a text field, refusing control characters; UTF-8 bytes pass. */
static cl_rc copy_text(const struct cl_tlv *t, char *out, size_t cap)
{
    if (t->len >= cap)
        return CL_E_DATA_MALFORMED;
    for (size_t i = 0; i < t->len; i++)
        if (t->value[i] < 0x20 || t->value[i] == 0x7F)
            return CL_E_DATA_MALFORMED;
    memcpy(out, t->value, t->len);
    out[t->len] = '\0';
    return CL_OK;
}

cl_rc cl_piv_parse_apt(const uint8_t *p, size_t n, struct cl_piv_apt *out)
{
    struct cl_tlv apt, t;
    struct hm_cursor c;
    cl_rc rc;

    memset(out, 0, sizeof(*out));
    rc = cl_tlv_find(p, n, 0x61, &apt);
    if (rc != CL_OK)
        return rc == CL_E_TLV_NOT_FOUND ? CL_E_DATA_MALFORMED : rc;
    c = hm_cursor_make(apt.value, apt.len);
    while (hm_cursor_left(&c)) {
        rc = cl_tlv_next(&c, &t);
        if (rc != CL_OK)
            return rc;
        if (t.tag == 0x4F && t.len <= sizeof(out->aid)) {
            memcpy(out->aid, t.value, t.len);
            out->aid_len = t.len;
        } else if (t.tag == 0x50) {
            if (copy_text(&t, out->label, sizeof(out->label)) != CL_OK)
                out->label[0] = '\0';
        } else if (t.tag == 0xAC) {
            struct hm_cursor a = hm_cursor_make(t.value, t.len);
            struct cl_tlv alg;

            while (hm_cursor_left(&a) && cl_tlv_next(&a, &alg) == CL_OK)
                if (alg.tag == 0x80 && alg.len == 1 && out->nalgs < HM_ARRAY_SIZE(out->algs))
                    out->algs[out->nalgs++] = alg.value[0];
        }
    }
    return CL_OK;
}

cl_rc cl_piv_parse_chuid(const uint8_t *p, size_t n, struct cl_piv_chuid *out)
{
    struct hm_cursor c = hm_cursor_make(p, n);
    struct cl_tlv t;
    cl_rc rc;

    memset(out, 0, sizeof(*out));
    out->signed_part = p;
    while (hm_cursor_left(&c)) {
        rc = cl_tlv_next(&c, &t);
        if (rc != CL_OK)
            return rc;
        switch (t.tag) {
        case 0x30:
            if (t.len != sizeof(out->fascn))
                return CL_E_DATA_MALFORMED;
            memcpy(out->fascn, t.value, t.len);
            out->has_fascn = true;
            break;
        case 0x34:
            if (t.len != sizeof(out->guid))
                return CL_E_DATA_MALFORMED;
            memcpy(out->guid, t.value, t.len);
            out->has_guid = true;
            break;
        case 0x35:
            if (t.len != 8)
                return CL_E_DATA_MALFORMED;
            for (size_t i = 0; i < 8; i++)
                if (t.value[i] < '0' || t.value[i] > '9')
                    return CL_E_DATA_MALFORMED;
            memcpy(out->expiry, t.value, 8);
            out->expiry[8] = '\0';
            break;
        case 0x3E:
            /* The signature covers everything before it. */
            out->signed_len = (size_t)(t.raw - p);
            out->signature = t.value;
            out->signature_len = t.len;
            break;
        case 0xFE:
            if (t.len != 0)
                return CL_E_DATA_MALFORMED;
            break;
        default:
            break; /* 32 organizational identifier, 33 DUNS, 36 authentication key map... */
        }
    }
    if (!out->has_guid && !out->has_fascn)
        return CL_E_DATA_MALFORMED;
    if (!out->signature)
        out->signed_len = n;
    return CL_OK;
}

cl_rc cl_piv_parse_printed(const uint8_t *p, size_t n, struct cl_piv_printed *out)
{
    struct hm_cursor c = hm_cursor_make(p, n);
    struct cl_tlv t;
    cl_rc rc;

    memset(out, 0, sizeof(*out));
    while (hm_cursor_left(&c)) {
        rc = cl_tlv_next(&c, &t);
        if (rc != CL_OK)
            return rc;
        switch (t.tag) {
        case 0x01:
            rc = copy_text(&t, out->name, sizeof(out->name));
            break;
        case 0x02:
            rc = copy_text(&t, out->affiliation, sizeof(out->affiliation));
            break;
        case 0x04:
            rc = copy_text(&t, out->expiry, sizeof(out->expiry));
            break;
        case 0x05:
            rc = copy_text(&t, out->serial, sizeof(out->serial));
            break;
        case 0x06:
            rc = copy_text(&t, out->issuer, sizeof(out->issuer));
            break;
        default:
            rc = CL_OK;
            break;
        }
        if (rc != CL_OK)
            return rc;
    }
    return out->name[0] ? CL_OK : CL_E_DATA_MALFORMED;
}

cl_rc cl_piv_parse_discovery(const uint8_t *p, size_t n, struct cl_piv_discovery *out)
{
    struct cl_tlv d, t;
    cl_rc rc;

    memset(out, 0, sizeof(*out));
    rc = cl_tlv_parse_one(p, n, &d);
    if (rc != CL_OK)
        return rc;
    if (d.tag != 0x7E)
        return CL_E_DATA_MALFORMED;
    if (cl_tlv_find(d.value, d.len, 0x4F, &t) != CL_OK || t.len > sizeof(out->aid))
        return CL_E_DATA_MALFORMED;
    memcpy(out->aid, t.value, t.len);
    out->aid_len = t.len;
    if (cl_tlv_find(d.value, d.len, 0x5F2F, &t) == CL_OK) {
        if (t.len != 2)
            return CL_E_DATA_MALFORMED;
        out->pin_policy = (uint16_t)(t.value[0] << 8 | t.value[1]);
    }
    return CL_OK;
}

/* Inflates a gzip member into out without going beyond cap. */
static cl_rc gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    z_stream z;
    int zr;

    memset(&z, 0, sizeof(z));
    if (n > UINT32_MAX || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return CL_E_NO_MEMORY;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    zr = inflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    inflateEnd(&z);
    /* Z_BUF_ERROR with no room left: the certificate would be larger than allowed. */
    return zr == Z_STREAM_END ? CL_OK : CL_E_DATA_MALFORMED;
}

cl_rc cl_piv_parse_cert_object(const uint8_t *p, size_t n, uint8_t *der, size_t cap,
                               size_t *der_len)
{
    struct cl_tlv cert, info;
    bool compressed = false;
    struct cl_tlv one;
    cl_rc rc;

    *der_len = 0;
    if (cap > CL_PIV_CERT_MAX)
        cap = CL_PIV_CERT_MAX;
    rc = cl_tlv_find(p, n, 0x70, &cert);
    if (rc != CL_OK)
        return CL_E_DATA_MALFORMED;
    if (cl_tlv_find(p, n, 0x71, &info) == CL_OK) {
        if (info.len != 1 || (info.value[0] & ~1u) != 0)
            return CL_E_DATA_MALFORMED;
        compressed = info.value[0] & 1;
    }
    if (compressed) {
        rc = gunzip(cert.value, cert.len, der, cap, der_len);
        if (rc != CL_OK)
            return rc;
    } else {
        if (cert.len > cap)
            return CL_E_DATA_MALFORMED;
        memcpy(der, cert.value, cert.len);
        *der_len = cert.len;
    }
    /* It must be exactly one DER SEQUENCE. */
    if (*der_len == 0 || cl_tlv_parse_one(der, *der_len, &one) != CL_OK || one.tag != 0x30) {
        *der_len = 0;
        return CL_E_DATA_MALFORMED;
    }
    return CL_OK;
}

cl_rc cl_piv_parse_pubkey(const uint8_t *p, size_t n, uint8_t alg, struct cl_piv_pubkey *out)
{
    struct cl_tlv tmpl, t;

    memset(out, 0, sizeof(*out));
    out->alg = alg;
    if (cl_tlv_parse_one(p, n, &tmpl) != CL_OK || tmpl.tag != 0x7F49)
        return CL_E_DATA_MALFORMED;
    if (alg == CL_PIV_ALG_ECC_P256 || alg == CL_PIV_ALG_ECC_P384) {
        size_t want = alg == CL_PIV_ALG_ECC_P256 ? 65 : 97;

        if (cl_tlv_find(tmpl.value, tmpl.len, 0x86, &t) != CL_OK || t.len != want ||
            t.value[0] != 0x04)
            return CL_E_DATA_MALFORMED;
        out->point = t.value;
        out->point_len = t.len;
        return CL_OK;
    }
    if (alg == CL_PIV_ALG_RSA2048 || alg == CL_PIV_ALG_RSA1024) {
        if (cl_tlv_find(tmpl.value, tmpl.len, 0x81, &t) != CL_OK || t.len < 128 || t.len > 512)
            return CL_E_DATA_MALFORMED;
        out->modulus = t.value;
        out->modulus_len = t.len;
        if (cl_tlv_find(tmpl.value, tmpl.len, 0x82, &t) != CL_OK || t.len == 0 || t.len > 8)
            return CL_E_DATA_MALFORMED;
        out->exponent = t.value;
        out->exponent_len = t.len;
        return CL_OK;
    }
    return CL_E_NOT_SUPPORTED;
}

/* ---- card commands ----------------------------------------------------- */

static size_t max_le(const cl_card *card)
{
    return cl_card_extended(card) ? 65536 : 256;
}

cl_rc cl_piv_select(cl_card *card, struct cl_piv_apt *apt)
{
    struct cl_apdu a = {
        .ins = 0xA4, .p1 = 0x04, .data = cl_piv_aid, .lc = sizeof(cl_piv_aid), .le = 256
    };
    uint8_t resp[512];
    size_t n = 0;
    cl_rc rc = cl_card_command(card, &a, resp, sizeof(resp), &n);

    if (rc == CL_E_FILE_NOT_FOUND || rc == CL_E_FUNC_NOT_SUPPORTED)
        return CL_E_APP_NOT_FOUND;
    if (rc != CL_OK)
        return rc;
    if (apt) {
        rc = cl_piv_parse_apt(resp, n, apt);
        if (rc != CL_OK) /* A card that answers without a template is still PIV. */
            memset(apt, 0, sizeof(*apt));
    }
    return CL_OK;
}

/* 5C with the tag in its own bytes: 1 byte for 7E, 3 for 5FC1xx. */
static void put_tag_list(struct hm_writer *w, uint32_t tag)
{
    if (tag <= 0xFF) {
        hm_writer_u8(w, 0x5C);
        hm_writer_u8(w, 1);
        hm_writer_u8(w, (uint8_t)tag);
    } else {
        hm_writer_u8(w, 0x5C);
        hm_writer_u8(w, 3);
        hm_writer_u8(w, (uint8_t)(tag >> 16));
        hm_writer_u8(w, (uint8_t)(tag >> 8));
        hm_writer_u8(w, (uint8_t)tag);
    }
}

cl_rc cl_piv_get_data(cl_card *card, uint32_t tag, uint8_t *out, size_t cap, size_t *len)
{
    static _Thread_local uint8_t resp[CL_PIV_OBJ_MAX + 16];
    uint8_t req[8];
    struct hm_writer w = hm_writer_make(req, sizeof(req));
    struct cl_apdu a = { .ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = max_le(card) };
    struct cl_tlv obj;
    size_t n = 0;
    cl_rc rc;

    *len = 0;
    put_tag_list(&w, tag);
    a.data = req;
    a.lc = w.len;
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    if (rc == CL_E_BUFFER_TOO_SMALL)
        return CL_E_DATA_MALFORMED; /* larger than any object we accept */
    if (rc != CL_OK)
        return rc;
    /* The discovery object comes as 7E itself; the others inside 53. */
    if (tag == CL_PIV_OBJ_DISCOVERY) {
        if (cl_tlv_parse_one(resp, n, &obj) != CL_OK || obj.tag != 0x7E)
            return CL_E_DATA_MALFORMED;
        if (n > cap)
            return CL_E_BUFFER_TOO_SMALL;
        memcpy(out, resp, n);
        *len = n;
        return CL_OK;
    }
    if (cl_tlv_parse_one(resp, n, &obj) != CL_OK || obj.tag != 0x53)
        return CL_E_DATA_MALFORMED;
    if (obj.len > cap)
        return CL_E_BUFFER_TOO_SMALL;
    memcpy(out, obj.value, obj.len);
    *len = obj.len;
    return CL_OK;
}

cl_rc cl_piv_put_data(cl_card *card, uint32_t tag, const uint8_t *value, size_t len)
{
    static _Thread_local uint8_t req[CL_PIV_OBJ_MAX + 16];
    struct hm_writer w = hm_writer_make(req, sizeof(req));
    struct cl_apdu a = { .ins = 0xDB, .p1 = 0x3F, .p2 = 0xFF };
    uint8_t resp[16];
    size_t n;

    put_tag_list(&w, tag);
    cl_tlv_put(&w, 0x53, value, len);
    if (!hm_writer_ok(&w))
        return CL_E_INVALID_ARG;
    a.data = req;
    a.lc = w.len;
    return cl_card_command(card, &a, resp, sizeof(resp), &n);
}

cl_rc cl_piv_read_cert(cl_card *card, uint8_t key, uint8_t *der, size_t cap, size_t *der_len)
{
    static _Thread_local uint8_t obj[CL_PIV_OBJ_MAX];
    uint32_t tag = cl_piv_cert_object(key);
    size_t n = 0;
    cl_rc rc;

    *der_len = 0;
    if (!tag)
        return CL_E_INVALID_ARG;
    rc = cl_piv_get_data(card, tag, obj, sizeof(obj), &n);
    if (rc != CL_OK)
        return rc;
    return cl_piv_parse_cert_object(obj, n, der, cap, der_len);
}

/* A PIN as the card wants it: 6-8 digits padded with FF to 8 bytes. */
static bool pad_pin(const char *pin, size_t min, uint8_t out[8])
{
    size_t n = pin ? strlen(pin) : 0;

    if (n < min || n > 8)
        return false;
    for (size_t i = 0; i < n; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return false;
    memset(out, 0xFF, 8);
    memcpy(out, pin, n);
    return true;
}

/* Turns a VERIFY-family answer into a result and the tries left. */
static cl_rc pin_result(cl_rc rc, cl_card *card, int *tries_left)
{
    uint16_t sw = cl_card_last_sw(card);

    if (tries_left)
        *tries_left = cl_sw_retries(sw);
    if (rc == CL_E_PIN_INCORRECT && cl_sw_retries(sw) == 0)
        return CL_E_AUTH_BLOCKED;
    return rc;
}

cl_rc cl_piv_verify_pin(cl_card *card, const char *pin, int *tries_left)
{
    uint8_t buf[8];
    struct cl_apdu a = {
        .ins = 0x20, .p2 = CL_PIV_REF_PIN, .data = buf, .lc = 8, .flags = CL_APDU_SENSITIVE
    };
    uint8_t resp[8];
    size_t n;
    cl_rc rc;

    if (tries_left)
        *tries_left = -1;
    if (!pad_pin(pin, CL_PIV_PIN_MIN, buf))
        return CL_E_INVALID_ARG;
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    hm_wipe(buf, sizeof(buf));
    return pin_result(rc, card, tries_left);
}

cl_rc cl_piv_pin_status(cl_card *card, int *tries_left)
{
    struct cl_apdu a = { .ins = 0x20, .p2 = CL_PIV_REF_PIN };
    uint8_t resp[8];
    size_t n;
    cl_rc rc = cl_card_command(card, &a, resp, sizeof(resp), &n);

    if (tries_left)
        *tries_left = cl_sw_retries(cl_card_last_sw(card));
    if (rc == CL_E_PIN_INCORRECT)
        return cl_sw_retries(cl_card_last_sw(card)) == 0 ? CL_E_AUTH_BLOCKED : CL_E_SECURITY_STATUS;
    return rc;
}

cl_rc cl_piv_change_ref(cl_card *card, uint8_t ref, const char *old_value, const char *new_value,
                        int *tries_left)
{
    uint8_t buf[16];
    struct cl_apdu a = {
        .ins = 0x24, .p2 = ref, .data = buf, .lc = 16, .flags = CL_APDU_SENSITIVE
    };
    size_t min = ref == CL_PIV_REF_PUK ? 8 : CL_PIV_PIN_MIN;
    uint8_t resp[8];
    size_t n;
    cl_rc rc;

    if (tries_left)
        *tries_left = -1;
    if ((ref != CL_PIV_REF_PIN && ref != CL_PIV_REF_PUK) || !pad_pin(old_value, min, buf) ||
        !pad_pin(new_value, min, buf + 8)) {
        hm_wipe(buf, sizeof(buf));
        return CL_E_INVALID_ARG;
    }
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    hm_wipe(buf, sizeof(buf));
    return pin_result(rc, card, tries_left);
}

cl_rc cl_piv_unblock_pin(cl_card *card, const char *puk, const char *new_pin, int *tries_left)
{
    uint8_t buf[16];
    struct cl_apdu a = {
        .ins = 0x2C, .p2 = CL_PIV_REF_PIN, .data = buf, .lc = 16, .flags = CL_APDU_SENSITIVE
    };
    uint8_t resp[8];
    size_t n;
    cl_rc rc;

    if (tries_left)
        *tries_left = -1;
    if (!pad_pin(puk, 8, buf) || !pad_pin(new_pin, CL_PIV_PIN_MIN, buf + 8)) {
        hm_wipe(buf, sizeof(buf));
        return CL_E_INVALID_ARG;
    }
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    hm_wipe(buf, sizeof(buf));
    return pin_result(rc, card, tries_left);
}

/* GENERAL AUTHENTICATE with a 7C template; returns the value of tag want in the answer. */
static cl_rc general_auth(cl_card *card, uint8_t alg, uint8_t key, const uint8_t *tmpl,
                          size_t tmpl_len, uint32_t want, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t req[600], resp[700];
    struct hm_writer w = hm_writer_make(req, sizeof(req));
    struct cl_apdu a = { .ins = 0x87, .p1 = alg, .p2 = key, .le = 256 };
    struct cl_tlv t, v;
    size_t n = 0;
    cl_rc rc;

    *out_len = 0;
    cl_tlv_put(&w, 0x7C, tmpl, tmpl_len);
    if (!hm_writer_ok(&w))
        return CL_E_INVALID_ARG;
    a.data = req;
    a.lc = w.len;
    if (cl_card_extended(card))
        a.le = 65536;
    rc = cl_card_command(card, &a, resp, sizeof(resp), &n);
    hm_wipe(req, sizeof(req));
    if (rc != CL_OK)
        return rc;
    if (cl_tlv_parse_one(resp, n, &t) != CL_OK || t.tag != 0x7C ||
        cl_tlv_find(t.value, t.len, want, &v) != CL_OK || v.len == 0)
        return CL_E_DATA_MALFORMED;
    if (v.len > cap)
        return CL_E_BUFFER_TOO_SMALL;
    memcpy(out, v.value, v.len);
    *out_len = v.len;
    return CL_OK;
}

cl_rc cl_piv_sign(cl_card *card, uint8_t key, uint8_t alg, const uint8_t *in, size_t in_len,
                  uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t tmpl[540];
    struct hm_writer w = hm_writer_make(tmpl, sizeof(tmpl));

    *sig_len = 0;
    if (!cl_piv_alg_is_signature(alg) || !in || in_len == 0 || in_len > 512)
        return CL_E_INVALID_ARG;
    cl_tlv_put(&w, 0x82, NULL, 0);
    cl_tlv_put(&w, 0x81, in, in_len);
    if (!hm_writer_ok(&w))
        return CL_E_INVALID_ARG;
    return general_auth(card, alg, key, tmpl, w.len, 0x82, sig, cap, sig_len);
}

cl_rc cl_piv_generate(cl_card *card, uint8_t key, uint8_t alg, uint8_t *raw, size_t cap,
                      size_t *raw_len)
{
    uint8_t req[5] = { 0xAC, 0x03, 0x80, 0x01, alg };
    struct cl_apdu a = { .ins = 0x47, .p2 = key, .data = req, .lc = sizeof(req), .le = 256 };
    struct cl_piv_pubkey pk;
    cl_rc rc;

    if (cl_card_extended(card))
        a.le = 65536;
    rc = cl_card_command(card, &a, raw, cap, raw_len);
    if (rc != CL_OK)
        return rc;
    return cl_piv_parse_pubkey(raw, *raw_len, alg, &pk);
}

cl_rc cl_piv_collect(cl_card *card, const uint8_t *challenge, size_t challenge_len,
                     struct cl_piv_evidence *out)
{
    static _Thread_local uint8_t obj[CL_PIV_OBJ_MAX];
    uint8_t input[512];
    size_t n = 0, input_len = 0;
    cl_rc rc;

    memset(out, 0, sizeof(*out));
    if (!challenge || challenge_len == 0 || challenge_len > sizeof(out->challenge))
        return CL_E_INVALID_ARG;
    rc = cl_card_begin(card);
    if (rc != CL_OK)
        return rc;
    rc = cl_piv_read_cert(card, CL_PIV_KEY_CARDAUTH, out->cert, sizeof(out->cert), &out->cert_len);
    if (rc == CL_OK) {
        rc = cl_piv_get_data(card, CL_PIV_OBJ_CHUID, obj, sizeof(obj), &n);
        if (rc == CL_OK && n <= sizeof(out->chuid)) {
            memcpy(out->chuid, obj, n);
            out->chuid_len = n;
        } else if (rc == CL_E_FILE_NOT_FOUND || rc == CL_OK) {
            rc = CL_OK; /* no CHUID (or an absurd one): the "chuid" check says so */
        }
    }
    if (rc == CL_OK) {
        memcpy(out->challenge, challenge, challenge_len);
        out->challenge_len = challenge_len;
        rc = cl_piv_sign_input(out->cert, out->cert_len, challenge, challenge_len, &out->alg, input,
                               sizeof(input), &input_len);
    }
    if (rc == CL_OK)
        rc = cl_piv_sign(card, CL_PIV_KEY_CARDAUTH, out->alg, input, input_len, out->sig,
                         sizeof(out->sig), &out->sig_len);
    (void)cl_card_end(card);
    return rc;
}
