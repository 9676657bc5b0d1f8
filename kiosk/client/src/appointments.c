/* The kiosk's side of marriage-registration appointments (docs/API.md, issue 8): an ID card read
 * and checked here and again on the server, then offices, availability, booking, cancelling,
 * rescheduling, one's appointments and check-in, every answer checked member by member. */
#include "internal.h"

#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"
#include "cl/lds.h"
#include "cl/verdict.h"
#include "hs/jws.h"

#include "hm/buf.h"
#include "hm/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest ID-session request we send: the files of a TD1 card without its face are small. */
#define ID_REQUEST_MAX (256u * 1024u)
/* The most appointments /v1/appointments/mine lists. */
#define MINE_MAX 20

/* ---- services and provinces ------------------------------------------------- */

static const struct {
    const char *id, *zh, *en;
    int parties;
} services[] = {
    { "marriage", "结婚登记", "marriage registration", 2 },
    { "divorce_apply", "离婚登记申请", "divorce registration: application", 2 },
    { "divorce_confirm", "离婚登记确认", "divorce registration: confirmation", 2 },
    { "reissue", "补领婚姻登记证", "re-issue of a marriage certificate", 1 },
    /* hs_marriage's spellings of the divorce services, taken as the same services. */
    { "divorce_application", "离婚登记申请", "divorce registration: application", 2 },
    { "divorce_confirmation", "离婚登记确认", "divorce registration: confirmation", 2 },
};

static int service_index(const char *sv)
{
    for (size_t i = 0; sv && i < HM_ARRAY_SIZE(services); i++)
        if (strcmp(services[i].id, sv) == 0)
            return (int)i;
    return -1;
}

bool kc_service_known(const char *service)
{
    return service_index(service) >= 0;
}

const char *kc_service_zh(const char *service)
{
    int i = service_index(service);
    return i < 0 ? NULL : services[i].zh;
}

const char *kc_service_en(const char *service)
{
    int i = service_index(service);
    return i < 0 ? NULL : services[i].en;
}

int kc_service_parties(const char *service)
{
    int i = service_index(service);
    return i < 0 ? 0 : services[i].parties;
}

/* GB/T 2260 province-level codes, the first two digits of a citizen ID number. */
static const struct {
    const char code[3], *zh, *en;
} provinces[] = {
    { "11", "北京市", "Beijing" },
    { "12", "天津市", "Tianjin" },
    { "13", "河北省", "Hebei" },
    { "14", "山西省", "Shanxi" },
    { "15", "内蒙古自治区", "Inner Mongolia" },
    { "21", "辽宁省", "Liaoning" },
    { "22", "吉林省", "Jilin" },
    { "23", "黑龙江省", "Heilongjiang" },
    { "31", "上海市", "Shanghai" },
    { "32", "江苏省", "Jiangsu" },
    { "33", "浙江省", "Zhejiang" },
    { "34", "安徽省", "Anhui" },
    { "35", "福建省", "Fujian" },
    { "36", "江西省", "Jiangxi" },
    { "37", "山东省", "Shandong" },
    { "41", "河南省", "Henan" },
    { "42", "湖北省", "Hubei" },
    { "43", "湖南省", "Hunan" },
    { "44", "广东省", "Guangdong" },
    { "45", "广西壮族自治区", "Guangxi" },
    { "46", "海南省", "Hainan" },
    { "50", "重庆市", "Chongqing" },
    { "51", "四川省", "Sichuan" },
    { "52", "贵州省", "Guizhou" },
    { "53", "云南省", "Yunnan" },
    { "54", "西藏自治区", "Tibet" },
    { "61", "陕西省", "Shaanxi" },
    { "62", "甘肃省", "Gansu" },
    { "63", "青海省", "Qinghai" },
    { "64", "宁夏回族自治区", "Ningxia" },
    { "65", "新疆维吾尔自治区", "Xinjiang" },
    { "81", "香港特别行政区", "Hong Kong" },
    { "82", "澳门特别行政区", "Macao" },
    { "83", "台湾地区", "Taiwan" },
};

static int province_index(const char *code)
{
    for (size_t i = 0; code && i < HM_ARRAY_SIZE(provinces); i++)
        if (strcmp(provinces[i].code, code) == 0)
            return (int)i;
    return -1;
}

const char *kc_province_zh(const char *code)
{
    int i = province_index(code);
    return i < 0 ? NULL : provinces[i].zh;
}

const char *kc_province_en(const char *code)
{
    int i = province_index(code);
    return i < 0 ? NULL : provinces[i].en;
}

/* ---- reading members of a signed answer ------------------------------------------- */

static kc_rc refuse(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static kc_rc refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why && cap) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return KC_E_VERIFY;
}

/*
 * A JSON string shorter than cap, not empty, without NUL or control
 * characters (it may be printed on a terminal or a screen), or NULL.
 */
static const char *text_value(json_t *v, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s);
    if (n == 0 || n >= cap || n != json_string_length(v))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return NULL;
    return s;
}

/* The member key of o as text_value() accepts it, or NULL. */
static const char *text(json_t *o, const char *key, size_t cap)
{
    return text_value(json_object_get(o, key), cap);
}

/* The n characters at s are all in set (none of them NUL). */
static bool all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

static bool digits(const char *s, size_t n)
{
    return all_of(s, n, "0123456789");
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD", a real date from 1900 to 2099; *day its day number. */
static bool date_ok(const char *s, int64_t *day)
{
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) ||
        !digits(s + 8, 2))
        return false;
    y = num2(s) * 100 + num2(s + 2);
    m = num2(s + 5);
    d = num2(s + 8);
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return false;
    if (day)
        *day = days_from_civil(y, m, d);
    return true;
}

/* "HH:MM", 00:00 to 23:59. */
static bool slot_ok(const char *s)
{
    return s && strlen(s) == 5 && s[2] == ':' && digits(s, 2) && digits(s + 3, 2) && num2(s) < 24 &&
           num2(s + 3) < 60;
}

static bool b64url_id(const char *s, size_t n)
{
    return s && strlen(s) == n &&
           all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

/* A session id or ticket id we may put into a request: printable ASCII, no quotes. */
static bool id_ok(const char *s, size_t cap)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

/* A masked ID as shown: whatever the answer held, masked again (first 3 and last 4 kept). */
static bool mask_again(const char *in, char *out, size_t cap)
{
    return cl_id_mask(in, strlen(in), out, cap) == CL_OK;
}

/* ---- the ID card --------------------------------------------------------------- */

/* Appends ,"key":"base64url of p" (no comma for the first member). */
static kc_rc add_b64(struct hm_buf *b, const char *key, const uint8_t *p, size_t n, bool comma)
{
    size_t need = HS_B64URL_LEN(n);

    if (!hm_buf_addf(b, "%s\"%s\":\"", comma ? "," : "", key) || !hm_buf_reserve(b, need))
        return KC_E_NO_MEMORY;
    b->len += hs_b64url_encode(p ? p : (const uint8_t *)"", n, (char *)b->data + b->len);
    return hm_buf_add(b, "\"", 1) ? KC_OK : KC_E_NO_MEMORY;
}

static kc_rc add_file(struct hm_buf *b, const char *key, const struct hm_buf *v)
{
    return add_b64(b, key, v->data, v->len, true);
}

kc_rc kc_id_request(const char *nonce, const struct cl_emrtd_evidence *ev, struct hm_buf *out)
{
    kc_rc rc;

    hm_buf_init_secret(out, ID_REQUEST_MAX);
    /* Built by hand so that no copy of the chip's files is left in freed memory; the keys are
     * in sorted order, as the rest of the API. */
    rc = hm_buf_add_str(out, "{\"evidence\":{") ? KC_OK : KC_E_NO_MEMORY;
    if (rc == KC_OK)
        rc = add_b64(out, "aa_signature", ev->aa_sig, ev->aa_sig_len, false);
    if (rc == KC_OK)
        rc = add_file(out, "com", &ev->com);
    if (rc == KC_OK)
        rc = add_file(out, "dg1", &ev->dg[1]);
    if (rc == KC_OK)
        rc = add_file(out, "dg11", &ev->dg[11]);
    if (rc == KC_OK && ev->dg[14].len)
        rc = add_file(out, "dg14", &ev->dg[14]);
    if (rc == KC_OK)
        rc = add_file(out, "dg15", &ev->dg[15]);
    if (rc == KC_OK)
        rc = add_file(out, "sod", &ev->sod);
    if (rc == KC_OK && !hm_buf_addf(out, "},\"nonce\":\"%s\"}", nonce))
        rc = KC_E_NO_MEMORY;
    if (rc != KC_OK)
        hm_buf_free(out);
    return rc;
}

kc_rc kc_id_session_fill(json_t *p, const struct kc_id_session *want, struct kc_id_session *out,
                         char *why, size_t why_cap)
{
    const char *sid = text(p, "id_session", sizeof(out->id));
    const char *name = text(p, "name", sizeof(out->name));
    const char *masked = text(p, "id_masked", sizeof(out->id_masked));
    const char *sex = text(p, "sex", 2);
    const char *birth = text(p, "birth", sizeof(out->birth));
    const char *prov = text(p, "province", sizeof(out->province));
    json_t *exp = json_object_get(p, "exp");
    struct kc_id_session s;

    memset(&s, 0, sizeof(s));
    if (!sid || !id_ok(sid, sizeof(s.id)) || !name || !masked || !sex || !birth || !prov ||
        !json_is_integer(exp))
        return refuse(why, why_cap,
                      "the ID session lacks a member or one is malformed (id_session, name, "
                      "id_masked, sex, birth, province, exp)");
    if ((sex[0] != 'M' && sex[0] != 'F') || !date_ok(birth, NULL) || strlen(prov) != 2 ||
        !digits(prov, 2))
        return refuse(why, why_cap, "the ID session's sex, birth date or province is malformed");
    if (!mask_again(masked, s.id_masked, sizeof(s.id_masked)))
        return refuse(why, why_cap, "the ID session's masked ID number is too long");
    /* The session must be for the card on the reader: what its number says. */
    if (want && (strcmp(s.id_masked, want->id_masked) != 0 || sex[0] != want->sex ||
                 strcmp(birth, want->birth) != 0 ||
                 (want->province[0] && strcmp(prov, want->province) != 0)))
        return refuse(why, why_cap, "the ID session is not for the card on the reader");
    hm_strlcpy(s.id, sid, sizeof(s.id));
    hm_strlcpy(s.name, name, sizeof(s.name));
    s.sex = sex[0];
    hm_strlcpy(s.birth, birth, sizeof(s.birth));
    hm_strlcpy(s.province, prov, sizeof(s.province));
    s.exp = json_integer_value(exp);
    *out = s;
    return KC_OK;
}

/* What the citizen ID number on the chip says, into want (the number itself is not kept). */
static bool expect_from_id(const char *id, struct kc_id_session *want)
{
    size_t n = strlen(id);

    memset(want, 0, sizeof(*want));
    if (cl_cn_id_check(id, n) != CL_OK ||
        cl_id_mask(id, n, want->id_masked, sizeof(want->id_masked)) != CL_OK)
        return false;
    want->sex = ((id[16] - '0') % 2) ? 'M' : 'F';
    snprintf(want->birth, sizeof(want->birth), "%.4s-%.2s-%.2s", id + 6, id + 10, id + 12);
    /* A foreign permanent resident's number starts with 9 and then the province. */
    if (id[0] != '9')
        snprintf(want->province, sizeof(want->province), "%.2s", id);
    return true;
}

static kc_rc card_fail(kc_client *c, cl_rc crc, const char *what)
{
    kc_rc rc;

    switch (crc) {
    case CL_E_NO_SERVICE:
    case CL_E_SERVICE_STOPPED:
    case CL_E_NO_READERS:
    case CL_E_READER_NOT_FOUND:
    case CL_E_READER_UNAVAILABLE:
    case CL_E_NO_CARD:
    case CL_E_CARD_REMOVED:
        rc = KC_E_NO_CARD;
        break;
    default:
        rc = KC_E_CARD;
    }
    c->err.card_rc = (int)crc;
    return kc_err_set(c, rc, "%s: %s", what, cl_strerror(crc));
}

/* The evidence's buffers are wiped when freed (and when they grow). */
static void evidence_init_secret(struct cl_emrtd_evidence *ev)
{
    cl_emrtd_evidence_init(ev);
    ev->com.secret = true;
    ev->sod.secret = true;
    for (int i = 1; i <= CL_LDS_MAX_DG; i++)
        ev->dg[i].secret = true;
}

/* The kiosk's own Passive and Active Authentication: 0 when genuine. */
static kc_rc check_here(kc_client *c, const struct cl_emrtd_evidence *ev)
{
    struct cl_verdict v;
    const struct cl_check *f = NULL;
    cl_rc crc = cl_emrtd_verify(c->csca, kc_now(c), ev, &v);

    if (crc == CL_OK && cl_emrtd_genuine(&v)) {
        const struct cl_check *aa = cl_verdict_get(&v, "active-auth");

        if (aa && aa->state == CL_CHECK_PASSED)
            return KC_OK;
        f = aa;
    }
    if (!f && crc == CL_OK) {
        f = cl_verdict_first_failure(&v);
        /* Nothing failed: then a check that had to be made was not. */
        for (size_t i = 0; !f && i < v.n; i++)
            if (v.checks[i].state == CL_CHECK_NOT_CHECKED)
                f = &v.checks[i];
    }
    hm_strlcpy(c->err.failed_check, f ? f->name : "verify", sizeof(c->err.failed_check));
    return kc_err_set(c, KC_E_VERIFY, "the ID card is not genuine: %s: %s; call staff",
                      f ? f->name : "verify",
                      f ? (f->reason[0] ? f->reason : "not checked") : cl_strerror(crc));
}

kc_rc kc_id_session(kc_client *c, cl_card *card, const struct kc_mrz *mrz,
                    struct kc_id_session *out)
{
    struct cl_emrtd_evidence *ev = NULL;
    struct cl_emrtd_keys keys;
    struct kc_id_session want;
    struct cl_dg11 *dg11 = NULL;
    struct hm_buf body = { 0 };
    char info[CL_EMRTD_MRZ_INFO_MAX], nonce[64], why[256] = "";
    uint8_t md[32];
    json_t *p = NULL;
    cl_rc crc;
    kc_rc rc;

    if (!c || !card || !mrz || !mrz->doc || !mrz->birth || !mrz->expiry || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    if (cl_emrtd_mrz_info(mrz->doc, mrz->birth, mrz->expiry, info, sizeof(info)) != CL_OK) {
        hm_wipe(info, sizeof(info));
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "the document number is letters and digits (up to %d) and both "
                          "dates are six digits, YYMMDD",
                          CL_EMRTD_DOC_MAX);
    }
    hm_wipe(info, sizeof(info));

    /* The chip first: wrong numbers are found before anything is asked of the server. */
    crc = cl_emrtd_select_app(card);
    if (crc != CL_OK)
        return card_fail(c, crc == CL_E_FILE_NOT_FOUND ? CL_E_APP_NOT_FOUND : crc,
                         "this card has no ICAO 9303 (ID card) application");
    crc = cl_emrtd_bac_keys(mrz->doc, mrz->birth, mrz->expiry, &keys);
    if (crc == CL_OK)
        crc = cl_emrtd_bac(card, &keys, NULL, NULL);
    hm_wipe(&keys, sizeof(keys));
    if (crc == CL_E_AUTH_FAILED)
        return card_fail(c, crc,
                         "access denied: check the document number, date of birth and date of "
                         "expiry as printed in the machine-readable zone");
    if (crc != CL_OK)
        return card_fail(c, crc, "cannot open the chip (Basic Access Control)");

    rc = kc_nonce(c, "id-card", nonce, NULL);
    if (rc != KC_OK)
        return rc;
    ev = malloc(sizeof(*ev));
    dg11 = malloc(sizeof(*dg11));
    if (!ev || !dg11) {
        rc = KC_E_NO_MEMORY;
        goto out;
    }
    evidence_init_secret(ev);
    /* The challenge is the first 8 bytes of SHA-256 of the nonce's 43 characters. */
    rc = kc_sha256(nonce, strlen(nonce), md);
    if (rc != KC_OK)
        goto out_free_ev;
    crc = cl_emrtd_collect(card, md, CL_EMRTD_CHALLENGE_LEN, ev);
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "cannot read the chip");
        goto out_free_ev;
    }
    if (!ev->dg[15].len || !ev->aa_sig_len) {
        hm_strlcpy(c->err.failed_check, "active-auth", sizeof(c->err.failed_check));
        rc = kc_err_set(c, KC_E_VERIFY,
                        "the chip cannot prove its key (no Active Authentication): it is not "
                        "accepted for appointments; call staff");
        goto out_free_ev;
    }
    if (!ev->dg[11].len || cl_lds_parse_dg11(ev->dg[11].data, ev->dg[11].len, dg11) != CL_OK ||
        !dg11->has_personal_number || !expect_from_id(dg11->personal_number, &want)) {
        rc = card_fail(c, CL_E_DATA_MALFORMED,
                       "the chip holds no valid citizen ID number (DG11, GB 11643)");
        goto out_free_ev;
    }
    if (c->csca) {
        /* Every check twice: a forged or cloned card is named here, before anything is sent. */
        rc = check_here(c, ev);
        if (rc != KC_OK)
            goto out_free_ev;
    }
    rc = kc_id_request(nonce, ev, &body);
    if (rc != KC_OK) {
        rc = kc_err_set(c, rc, "the chip's files are too large to send");
        goto out_free_ev;
    }
    /* Opening the session consumes the nonce: not repeated after a lost answer. */
    rc = kc_call(c, "/v1/id-sessions", (const char *)body.data, "huimin-id-session", false, &p);
    if (rc != KC_OK)
        goto out_free_ev;
    rc = kc_id_session_fill(p, &want, out, why, sizeof(why));
    if (rc != KC_OK)
        kc_err_set(c, rc, "/v1/id-sessions: %s", why);
out_free_ev:
    cl_emrtd_evidence_free(ev);
out:
    json_decref(p);
    hm_buf_free(&body);
    if (dg11)
        hm_wipe(dg11, sizeof(*dg11));
    hm_wipe(&want, sizeof(want));
    hm_wipe(md, sizeof(md));
    free(dg11);
    free(ev);
    return rc;
}

/* ---- offices and availability -------------------------------------------------------- */

/*
 * An array of service names. A name this kiosk does not know (a newer
 * server's) is allowed: the kiosk only offers the services it knows.
 */
static bool services_ok(json_t *a)
{
    json_t *v;
    size_t i;

    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, v)
    {
        if (!text_value(v, 32))
            return false;
    }
    return true;
}

kc_rc kc_offices_check(json_t *p, char *why, size_t why_cap)
{
    json_t *list = json_object_get(p, "offices"), *o;
    size_t i;

    if (!json_is_array(list))
        return refuse(why, why_cap, "the offices answer has no list of offices");
    json_array_foreach(list, i, o)
    {
        const char *id = text(o, "id", 64);

        if (!id || !id_ok(id, 64) || !text(o, "name", 256) || !text(o, "hours", 512) ||
            !json_is_boolean(json_object_get(o, "cross_province")) ||
            !services_ok(json_object_get(o, "services")))
            return refuse(why, why_cap,
                          "office %zu lacks a member or one is malformed (id, name, hours, "
                          "cross_province, services)",
                          i + 1);
        /* region and province are optional for the kiosk, but must be digits when present. */
        if ((json_object_get(o, "region") &&
             (!text(o, "region", 7) || strlen(text(o, "region", 7)) != 6 ||
              !digits(text(o, "region", 7), 6))) ||
            (json_object_get(o, "province") &&
             (!text(o, "province", 3) || strlen(text(o, "province", 3)) != 2 ||
              !digits(text(o, "province", 3), 2))))
            return refuse(why, why_cap, "office %s has a malformed region or province", id);
    }
    return KC_OK;
}

kc_rc kc_offices(kc_client *c, json_t **offices)
{
    json_t *p = NULL;
    char why[256];
    kc_rc rc;

    if (!c || !offices)
        return KC_E_INVALID_ARG;
    rc = kc_get_token(c, "/v1/offices", "huimin-offices", &p, NULL);
    if (rc != KC_OK)
        return rc;
    rc = kc_offices_check(p, why, sizeof(why));
    if (rc != KC_OK) {
        json_decref(p);
        return kc_err_set(c, rc, "/v1/offices: %s", why);
    }
    *offices = p;
    return KC_OK;
}

kc_rc kc_availability_check(json_t *p, const char *office, const char *service, const char *from,
                            int days, char *why, size_t why_cap)
{
    json_t *list = json_object_get(p, "days"), *d, *sl;
    const char *o = text(p, "office", 64), *sv = text(p, "service", 24);
    int64_t first = 0, prev = INT64_MIN;
    size_t i, j;

    if (!o || !sv || strcmp(o, office) != 0 || strcmp(sv, service) != 0)
        return refuse(why, why_cap, "the availability is for another office or service");
    if (!json_is_array(list) || !date_ok(from, &first) || json_array_size(list) > (size_t)days)
        return refuse(why, why_cap, "the availability has no list of days, or too many");
    json_array_foreach(list, i, d)
    {
        const char *date = text(d, "date", 11);
        json_t *slots = json_object_get(d, "slots");
        int64_t day;

        if (!date || !date_ok(date, &day) || day < first || day >= first + days || day <= prev ||
            !json_is_array(slots) || !json_is_boolean(json_object_get(d, "special")) ||
            !json_is_integer(json_object_get(d, "opens_at")))
            return refuse(why, why_cap,
                          "day %zu is outside the dates asked, out of order or lacks a member "
                          "(date, special, opens_at, slots)",
                          i + 1);
        prev = day;
        json_array_foreach(slots, j, sl)
        {
            json_t *cap = json_object_get(sl, "capacity"), *free_ = json_object_get(sl, "free");

            if (!slot_ok(text(sl, "start", 6)) || !slot_ok(text(sl, "end", 6)) ||
                strcmp(text(sl, "start", 6), text(sl, "end", 6)) >= 0 || !json_is_integer(cap) ||
                !json_is_integer(free_) || json_integer_value(free_) < 0 ||
                json_integer_value(free_) > json_integer_value(cap))
                return refuse(why, why_cap, "slot %zu of %s is malformed", j + 1, date);
        }
    }
    return KC_OK;
}

kc_rc kc_availability(kc_client *c, const char *office, const char *service, const char *from,
                      int days, json_t **availability)
{
    json_t *p = NULL, *req;
    char *body;
    char why[256];
    kc_rc rc;

    if (!c || !office || !service || !from || !availability)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    if (!id_ok(office, 64) || !kc_service_known(service) || !date_ok(from, NULL) || days < 1 ||
        days > 31)
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "availability needs an office, a service (marriage, divorce_apply, "
                          "divorce_confirm, reissue), a date YYYY-MM-DD and 1 to 31 days");
    req = json_pack("{s:s,s:s,s:s,s:i}", "office", office, "service", service, "from", from, "days",
                    days);
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    /* A read: safe to repeat. */
    rc = kc_call(c, "/v1/availability", body, "huimin-availability", true, &p);
    free(body);
    if (rc != KC_OK)
        return rc;
    rc = kc_availability_check(p, office, service, from, days, why, sizeof(why));
    if (rc != KC_OK) {
        json_decref(p);
        return kc_err_set(c, rc, "/v1/availability: %s", why);
    }
    *availability = p;
    return KC_OK;
}

/* ---- tickets ----------------------------------------------------------------------- */

kc_rc kc_ticket_fill(json_t *p, const char *token, struct kc_ticket *out, char *why, size_t why_cap)
{
    const char *t = text(p, "t", sizeof(out->id)), *sv = text(p, "sv", sizeof(out->service));
    const char *o = text(p, "o", sizeof(out->office)), *d = text(p, "d", sizeof(out->date));
    const char *sl = text(p, "sl", sizeof(out->slot));
    json_t *n = json_object_get(p, "n"), *m = json_object_get(p, "m");
    json_t *iat = json_object_get(p, "iat");
    struct kc_ticket *k;
    size_t parties;
    kc_rc rc = KC_OK;

    if (!b64url_id(t, 16) || !sv || !o || !id_ok(o, sizeof(out->office)) || !date_ok(d, NULL) ||
        !slot_ok(sl) || !json_is_array(n) || !json_is_array(m) || !json_is_integer(iat))
        return refuse(why, why_cap,
                      "the ticket lacks a member or one is malformed (t, sv, o, d, sl, n, m, iat)");
    if (!kc_service_known(sv))
        return refuse(why, why_cap, "the ticket is for an unknown service");
    parties = json_array_size(n);
    if (parties != (size_t)kc_service_parties(sv) || json_array_size(m) != parties)
        return refuse(why, why_cap, "the ticket names %zu parties for a service of %d", parties,
                      kc_service_parties(sv));
    if (!token || strlen(token) >= sizeof(out->token))
        return refuse(why, why_cap, "the ticket is longer than %d characters", KC_TICKET_MAX - 1);
    k = calloc(1, sizeof(*k));
    if (!k)
        return KC_E_NO_MEMORY;
    for (size_t i = 0; i < parties; i++) {
        const char *name = text_value(json_array_get(n, i), sizeof(k->name[0]));
        const char *masked = text_value(json_array_get(m, i), sizeof(k->id_masked[0]));

        if (!name || !masked || !mask_again(masked, k->id_masked[i], sizeof(k->id_masked[i]))) {
            rc = refuse(why, why_cap, "party %zu of the ticket has no name or ID", i + 1);
            goto out;
        }
        hm_strlcpy(k->name[i], name, sizeof(k->name[i]));
    }
    hm_strlcpy(k->token, token, sizeof(k->token));
    hm_strlcpy(k->id, t, sizeof(k->id));
    hm_strlcpy(k->service, sv, sizeof(k->service));
    hm_strlcpy(k->office, o, sizeof(k->office));
    hm_strlcpy(k->date, d, sizeof(k->date));
    hm_strlcpy(k->slot, sl, sizeof(k->slot));
    k->n_parties = parties;
    k->iat = json_integer_value(iat);
    memcpy(out, k, sizeof(*out));
out:
    free(k);
    return rc;
}

kc_rc kc_ticket_verify(kc_client *c, const char *token, struct kc_ticket *out)
{
    json_t *p = NULL;
    char why[256] = "";
    kc_rc rc;

    if (!c || !token || !out)
        return KC_E_INVALID_ARG;
    rc = kc_verify_answer(token, strlen(token), c->signing_der, c->signing_len, "huimin-ticket",
                          c->kiosk, kc_now(c), &p, why, sizeof(why));
    if (rc == KC_OK)
        rc = kc_ticket_fill(p, token, out, why, sizeof(why));
    json_decref(p);
    if (rc != KC_OK)
        return kc_err_set(c, rc, "the ticket: %s", why);
    return KC_OK;
}

/* Sends a request that answers with a ticket and checks it is the one asked for. */
static kc_rc ticket_call(kc_client *c, const char *path, json_t *req, bool idempotent,
                         const char *service, const char *office, const char *date,
                         const char *slot, struct kc_ticket *out)
{
    char *body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *token = NULL;
    char why[256] = "";
    json_t *p = NULL;
    kc_rc rc;

    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    rc = kc_call_token(c, path, body, "huimin-ticket", idempotent, &p, &token);
    free(body);
    if (rc != KC_OK)
        return rc;
    rc = kc_ticket_fill(p, token, out, why, sizeof(why));
    if (rc == KC_OK && ((service && strcmp(out->service, service) != 0) ||
                        (office && strcmp(out->office, office) != 0) ||
                        strcmp(out->date, date) != 0 || strcmp(out->slot, slot) != 0)) {
        rc = refuse(why, sizeof(why),
                    "the ticket is not for the service, office, date and slot "
                    "asked");
        memset(out, 0, sizeof(*out));
    }
    json_decref(p);
    free(token);
    if (rc != KC_OK)
        return kc_err_set(c, rc, "%s: %s", path, why);
    return KC_OK;
}

kc_rc kc_book(kc_client *c, const struct kc_booking *b, struct kc_ticket *out)
{
    json_t *req, *parties;
    int want;

    if (!c || !b || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    want = kc_service_parties(b->service);
    if (!want || !id_ok(b->office, 64) || !date_ok(b->date, NULL) || !slot_ok(b->slot))
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "a booking needs a known service, an office, a date YYYY-MM-DD and a "
                          "slot HH:MM");
    if (!id_ok(b->parties[0], 64) || (want == 2) != (b->parties[1] != NULL) ||
        (b->parties[1] && !id_ok(b->parties[1], 64)))
        return kc_err_set(c, KC_E_INVALID_ARG, "%s needs %d ID session%s", b->service, want,
                          want == 1 ? "" : "s");
    parties = json_pack("[s]", b->parties[0]);
    if (parties && b->parties[1])
        json_array_append_new(parties, json_string(b->parties[1]));
    req = json_pack("{s:s,s:s,s:s,s:s,s:o}", "service", b->service, "office", b->office, "date",
                    b->date, "slot", b->slot, "parties", parties);
    /*
     * Not idempotent: sent again only when it surely did not arrive. A repeat
     * after a lost answer could not book twice (the server's unique index on
     * person and service among active bookings) but would be refused with
     * active_booking_exists; kc_mine shows what was booked.
     */
    return ticket_call(c, "/v1/appointments", req, false, b->service, b->office, b->date, b->slot,
                       out);
}

kc_rc kc_cancel(kc_client *c, const char *ticket_id, const char *id_session)
{
    json_t *req, *p = NULL;
    char *body;
    const char *t, *status;
    kc_rc rc;

    if (!c || !ticket_id || !id_session)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    if (!b64url_id(ticket_id, 16) || !id_ok(id_session, 64))
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "a ticket id is 16 base64url characters and an ID session a word");
    req = json_pack("{s:s,s:s}", "ticket", ticket_id, "id_session", id_session);
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    /* The server answers a repeated cancel with the same answer: safe to repeat. */
    rc = kc_call(c, "/v1/appointments/cancel", body, "huimin-appointment", true, &p);
    free(body);
    if (rc != KC_OK)
        return rc;
    t = text(p, "t", 32);
    status = text(p, "status", 16);
    if (!t || strcmp(t, ticket_id) != 0 || !status || strcmp(status, "cancelled") != 0)
        rc = kc_err_set(c, KC_E_VERIFY,
                        "/v1/appointments/cancel: the answer does not say this ticket is "
                        "cancelled");
    json_decref(p);
    return rc;
}

kc_rc kc_reschedule(kc_client *c, const char *ticket_id, const char *const sessions[2],
                    const char *date, const char *slot, struct kc_ticket *out)
{
    json_t *req, *parties;
    kc_rc rc;

    if (!c || !ticket_id || !sessions || !date || !slot || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    if (!b64url_id(ticket_id, 16) || !id_ok(sessions[0], 64) ||
        (sessions[1] && !id_ok(sessions[1], 64)) || !date_ok(date, NULL) || !slot_ok(slot))
        return kc_err_set(c, KC_E_INVALID_ARG,
                          "rescheduling needs the ticket id, the parties' ID sessions, a date "
                          "YYYY-MM-DD and a slot HH:MM");
    parties = json_pack("[s]", sessions[0]);
    if (parties && sessions[1])
        json_array_append_new(parties, json_string(sessions[1]));
    req = json_pack("{s:s,s:s,s:o,s:s,s:s}", "ticket", ticket_id, "id_session", sessions[0],
                    "parties", parties, "date", date, "slot", slot);
    /* Not idempotent (the old ticket is gone after the first): sent again only when surely not
     * sent. */
    rc = ticket_call(c, "/v1/appointments/reschedule", req, false, NULL, NULL, date, slot, out);
    if (rc == KC_OK && strcmp(out->id, ticket_id) == 0) {
        memset(out, 0, sizeof(*out));
        rc = kc_err_set(c, KC_E_VERIFY,
                        "/v1/appointments/reschedule: the new ticket has the old one's id");
    }
    return rc;
}

kc_rc kc_mine_check(json_t *p, char *why, size_t why_cap)
{
    static const char *const statuses[] = { "booked", "checked_in", "cancelled", "rescheduled",
                                            "no_show" };
    json_t *list = json_object_get(p, "appointments"), *a;
    size_t i;

    if (!json_is_array(list) || json_array_size(list) > MINE_MAX)
        return refuse(why, why_cap, "the answer has no list of at most %d appointments", MINE_MAX);
    json_array_foreach(list, i, a)
    {
        const char *st = text(a, "status", 16);
        bool known = false;

        for (size_t k = 0; st && k < HM_ARRAY_SIZE(statuses); k++)
            known = known || strcmp(st, statuses[k]) == 0;
        if (!b64url_id(text(a, "t", 17), 16) || !kc_service_known(text(a, "sv", 24)) ||
            !text(a, "o", 64) || !date_ok(text(a, "d", 11), NULL) || !slot_ok(text(a, "sl", 6)) ||
            !known)
            return refuse(why, why_cap,
                          "appointment %zu lacks a member or one is malformed (t, sv, o, d, sl, "
                          "status)",
                          i + 1);
    }
    return KC_OK;
}

kc_rc kc_mine(kc_client *c, const char *id_session, json_t **appointments)
{
    json_t *req, *p = NULL;
    char *body;
    char why[256];
    kc_rc rc;

    if (!c || !id_session || !appointments)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    if (!id_ok(id_session, 64))
        return kc_err_set(c, KC_E_INVALID_ARG, "an ID session is a word of up to 63 characters");
    req = json_pack("{s:s}", "id_session", id_session);
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(req);
    if (!body)
        return KC_E_NO_MEMORY;
    rc = kc_call(c, "/v1/appointments/mine", body, "huimin-appointments", true, &p);
    free(body);
    if (rc != KC_OK)
        return rc;
    rc = kc_mine_check(p, why, sizeof(why));
    if (rc != KC_OK) {
        json_decref(p);
        return kc_err_set(c, rc, "/v1/appointments/mine: %s", why);
    }
    *appointments = p;
    return KC_OK;
}

kc_rc kc_check_in(kc_client *c, const char *ticket_token, const char *id_session,
                  struct kc_check_in *out)
{
    struct kc_ticket *k = NULL;
    json_t *req = NULL, *p = NULL, *w;
    const char *t, *status;
    char *body = NULL;
    kc_rc rc;

    if (!c || !out || (!ticket_token) == (!id_session))
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    if (ticket_token) {
        /* An altered or foreign ticket is refused here, without a request. */
        k = malloc(sizeof(*k));
        if (!k)
            return KC_E_NO_MEMORY;
        rc = kc_ticket_verify(c, ticket_token, k);
        if (rc != KC_OK)
            goto out;
        req = json_pack("{s:s}", "ticket", ticket_token);
    } else {
        if (!id_ok(id_session, 64))
            return kc_err_set(c, KC_E_INVALID_ARG,
                              "an ID session is a word of up to 63 characters");
        req = json_pack("{s:s}", "id_session", id_session);
    }
    body = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!body) {
        rc = KC_E_NO_MEMORY;
        goto out;
    }
    rc = kc_call(c, "/v1/check-ins", body, "huimin-check-in", false, &p);
    if (rc != KC_OK)
        goto out;
    t = text(p, "t", sizeof(out->ticket));
    status = text(p, "status", 16);
    w = json_object_get(p, "window");
    if (!b64url_id(t, 16) || (k && strcmp(t, k->id) != 0) || !status ||
        strcmp(status, "checked_in") != 0) {
        rc = kc_err_set(c, KC_E_VERIFY,
                        "/v1/check-ins: the answer does not say this ticket is checked in");
        goto out;
    }
    hm_strlcpy(out->ticket, t, sizeof(out->ticket));
    if (json_is_integer(w))
        snprintf(out->window, sizeof(out->window), "%lld", (long long)json_integer_value(w));
    else if (text(p, "window", sizeof(out->window)))
        hm_strlcpy(out->window, text(p, "window", sizeof(out->window)), sizeof(out->window));
    out->iat = json_integer_value(json_object_get(p, "iat"));
out:
    json_decref(req);
    json_decref(p);
    free(body);
    free(k);
    return rc;
}
