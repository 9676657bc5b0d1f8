/* Every answer the kiosk relies on is checked here: the JWS signature, typ, kiosk, exp and what a
 * receipt binds. */
#include "internal.h"

#include "hs/jws.h"

#include "hm/util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which member names the kiosk in an answer of each typ, and whether exp is required. */
struct answer_rule {
    const char *typ;
    const char *kiosk_member; /* NULL: the answer names no kiosk; checked if "kiosk" is present */
    bool exp_required;
};

static const struct answer_rule rules[] = {
    { "huimin-nonce", "kiosk", true },
    { "huimin-card-session", "kiosk", true },
    { "huimin-status", "kiosk", true },
    { "huimin-receipt", "k", false },
    { "huimin-dispute", NULL, false },
    /* Appointments (issue 8): only the ID session names its kiosk and expires. */
    { "huimin-id-session", "kiosk", true },
    { "huimin-offices", NULL, false },
    { "huimin-availability", NULL, false },
    { "huimin-ticket", NULL, false },
    { "huimin-appointment", NULL, false },
    { "huimin-appointments", NULL, false },
    { "huimin-check-in", NULL, false },
    /* Calling staff (issue 9). */
    { "huimin-staff-call", "kiosk", false },
};

static const struct answer_rule *rule_for(const char *typ)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(rules); i++)
        if (strcmp(rules[i].typ, typ) == 0)
            return &rules[i];
    return NULL;
}

static kc_rc refuse(char *why, size_t cap, const char *what)
{
    if (why && cap)
        hm_strlcpy(why, what, cap);
    return KC_E_VERIFY;
}

/* The header's typ, decoded from the first part of the token (the signature is checked too). */
static bool header_typ(const char *token, size_t len, char *typ, size_t cap)
{
    const char *dot = memchr(token, '.', len);
    uint8_t hdr[1024];
    size_t hlen = 0;
    json_t *j;
    const char *t;
    bool ok = false;

    if (!dot || hs_b64url_decode(token, (size_t)(dot - token), hdr, sizeof(hdr), &hlen) != HS_OK)
        return false;
    j = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
    t = json_string_value(json_object_get(j, "typ"));
    if (t && hm_strlcpy(typ, t, cap) < cap)
        ok = true;
    json_decref(j);
    return ok;
}

kc_rc kc_verify_answer(const char *token, size_t len, const uint8_t *cert_der, size_t cert_len,
                       const char *typ, const char *kiosk, int64_t now, json_t **payload, char *why,
                       size_t why_cap)
{
    const struct answer_rule *rule = typ ? rule_for(typ) : NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    char got_typ[64];
    json_t *j = NULL, *exp;
    const char *member = rule && rule->kiosk_member ? rule->kiosk_member : "kiosk";
    const char *named;
    kc_rc rc = KC_E_VERIFY;

    if (!token || !cert_der || !typ || !kiosk || !payload)
        return KC_E_INVALID_ARG;
    if (!rule)
        return refuse(why, why_cap, "no rule for this answer type");
    switch (hs_jws_verify(token, len, cert_der, cert_len, &raw, &raw_len, NULL)) {
    case HS_OK:
        break;
    case HS_E_SIGNATURE:
        return refuse(why, why_cap,
                      "the answer's signature does not verify with the pinned signing certificate");
    case HS_E_KEY:
        return refuse(why, why_cap, "the pinned signing certificate is not a P-256 certificate");
    default:
        return refuse(why, why_cap, "the answer is not a well-formed ES256 JWS");
    }
    if (!header_typ(token, len, got_typ, sizeof(got_typ)) || strcmp(got_typ, typ) != 0) {
        char m[160];

        snprintf(m, sizeof(m), "the answer is of type '%.40s', not the '%s' asked for",
                 header_typ(token, len, got_typ, sizeof(got_typ)) ? got_typ : "(none)", typ);
        rc = refuse(why, why_cap, m);
        goto out;
    }
    j = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        rc = refuse(why, why_cap, "the signed payload is not a JSON object");
        goto out;
    }
    named = json_string_value(json_object_get(j, member));
    if (rule->kiosk_member || json_object_get(j, member)) {
        if (!named || strcmp(named, kiosk) != 0) {
            rc = refuse(why, why_cap, "the answer was made for another kiosk");
            goto out;
        }
    }
    exp = json_object_get(j, "exp");
    if (exp || rule->exp_required) {
        if (!json_is_integer(exp)) {
            rc = refuse(why, why_cap, "the answer has no expiry time");
            goto out;
        }
        if (json_integer_value(exp) <= now) {
            rc = refuse(why, why_cap, "the answer has expired");
            goto out;
        }
    }
    *payload = j;
    j = NULL;
    rc = KC_OK;
out:
    json_decref(j);
    free(raw);
    return rc;
}

kc_rc kc_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int md_len = 0;

    if (EVP_Digest(p, n, out, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return KC_E_NO_MEMORY;
    return KC_OK;
}

kc_rc kc_statement_hash(const uint8_t *p, size_t n, char out[32])
{
    uint8_t md[32];
    unsigned int md_len = 0;
    char b64[HS_B64URL_LEN(32) + 1];

    if (EVP_Digest(p, n, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return KC_E_NO_MEMORY;
    hs_b64url_encode(md, sizeof(md), b64);
    memcpy(out, b64, 22);
    out[22] = '\0';
    return KC_OK;
}

kc_rc kc_load_cert_der(const char *path, uint8_t *der, size_t cap, size_t *len, char *why,
                       size_t why_cap)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *p = NULL;
    int n = x ? i2d_X509(x, &p) : -1;
    kc_rc rc = KC_OK;

    if (f)
        fclose(f);
    if (n <= 0 || (size_t)n > cap) {
        snprintf(why, why_cap, "%s: %s", path ? path : "(none)",
                 !f ? "cannot be opened" : "is not a PEM certificate");
        rc = KC_E_CONFIG;
    } else {
        memcpy(der, p, (size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(p);
    X509_free(x);
    return rc;
}

static const char *str_of(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

kc_rc kc_receipt_fill(json_t *payload, const char *token, const char *statement_hash,
                      const char *payment, struct kc_receipt *out, char *why, size_t why_cap)
{
    const char *r = str_of(payload, "r"), *p = str_of(payload, "p"), *pd = str_of(payload, "pd");
    const char *s = str_of(payload, "s"), *m = str_of(payload, "m");
    json_t *a = json_object_get(payload, "a");

    if (!r || !p || !pd || !s || !m || !json_is_integer(a))
        return refuse(why, why_cap, "the receipt lacks a member (r, p, pd, s, m, a)");
    if (statement_hash && strcmp(s, statement_hash) != 0)
        return refuse(why, why_cap, "the receipt is for another statement");
    if (payment && strcmp(p, payment) != 0)
        return refuse(why, why_cap, "the receipt is for another payment");
    if (hm_strlcpy(out->token, token, sizeof(out->token)) >= sizeof(out->token) ||
        hm_strlcpy(out->id, r, sizeof(out->id)) >= sizeof(out->id) ||
        hm_strlcpy(out->payment, p, sizeof(out->payment)) >= sizeof(out->payment) ||
        hm_strlcpy(out->period, pd, sizeof(out->period)) >= sizeof(out->period) ||
        hm_strlcpy(out->proof, m, sizeof(out->proof)) >= sizeof(out->proof))
        return refuse(why, why_cap, "a receipt member is too long");
    out->amount_fen = json_integer_value(a);
    return KC_OK;
}
