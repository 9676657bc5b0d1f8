/* JWS ES256 tokens made with an hs_signer, checked strictly, verified with cjose; the JWKS. */
#include "sign_int.h"

#include "hs/jws.h"

#include "hm/log.h"
#include "hm/util.h"

#include <cjose/cjose.h>
#include <jansson.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A protected header longer than this is not one of ours. */
#define HEADER_B64_MAX 1024
#define HEADER_MAX     768
/* A typ longer than this is a caller's mistake. */
#define TYP_MAX 64
/* The kid buffer hs_jws_verify fills. */
#define KID_BUF 64
/* Base64url of the 64-byte signature. */
#define SIG_B64_LEN 86

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes with alphabet; pad adds '=' (standard base64, for x5c). */
static size_t b64_encode(const char *alphabet, bool pad, const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t hs_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    return b64_encode(b64url_alphabet, false, in, n, out);
}

/* The 6-bit value of each base64url character; BAD (bit 6 set) for every other
 * byte. Sixteen a row: row k holds the bytes 16k to 16k + 15. */
#define BAD 64
/* clang-format off */
static const uint8_t b64url_values[256] = {
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,  62, BAD, BAD,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, BAD, BAD, BAD, BAD,  63,
    BAD,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
};
/* clang-format on */
#undef BAD

hs_rc hs_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t full = n / 4, tail = n % 4, need, o = 0;
    unsigned v0, v1, v2, v3;

    if (out_len)
        *out_len = 0;
    if (!in && n)
        return HS_E_INVALID_ARG;
    /* One character alone carries 6 bits: no byte ends there. */
    if (tail == 1)
        return HS_E_MALFORMED;
    need = full * 3 + (tail ? tail - 1 : 0);
    if (need > cap || (!out && need))
        return HS_E_TOO_LARGE;

    /* One pass: a quad is checked before its bytes are written, and on a bad
     * character (padding, '+', '/', whitespace, NUL...) what was written is wiped. */
    for (size_t i = 0; i < full * 4; i += 4) {
        v0 = b64url_values[u[i]];
        v1 = b64url_values[u[i + 1]];
        v2 = b64url_values[u[i + 2]];
        v3 = b64url_values[u[i + 3]];
        if ((v0 | v1 | v2 | v3) & 64)
            goto malformed;
        out[o++] = (uint8_t)(v0 << 2 | v1 >> 4);
        out[o++] = (uint8_t)((v1 & 15) << 4 | v2 >> 2);
        out[o++] = (uint8_t)((v2 & 3) << 6 | v3);
    }
    if (tail) {
        const unsigned char *t = u + full * 4;
        v0 = b64url_values[t[0]];
        v1 = b64url_values[t[1]];
        v2 = tail == 3 ? b64url_values[t[2]] : 0;
        if ((v0 | v1 | v2) & 64)
            goto malformed;
        /* The bits after the last whole byte must be zero, so that every
         * byte string has exactly one encoding. */
        if ((tail == 2 && (v1 & 15) != 0) || (tail == 3 && (v2 & 3) != 0))
            goto malformed;
        out[o++] = (uint8_t)(v0 << 2 | v1 >> 4);
        if (tail == 3)
            out[o++] = (uint8_t)((v1 & 15) << 4 | v2 >> 2);
    }
    if (out_len)
        *out_len = o;
    return HS_OK;

malformed:
    if (o)
        hm_wipe(out, o);
    return HS_E_MALFORMED;
}

/* The exact length a token would have. */
static size_t token_len(size_t header_len, size_t payload_len)
{
    return HS_B64URL_LEN(header_len) + 1 + HS_B64URL_LEN(payload_len) + 1 + SIG_B64_LEN;
}

/* True when t (NULL too) is printable ASCII that JSON needs no escape for. */
static bool plain_ascii(const char *t)
{
    for (; t && *t; t++)
        if (*t < 0x20 || *t > 0x7e || *t == '"' || *t == '\\')
            return false;
    return true;
}

hs_rc hs_jws_sign(struct hs_signer *s, const char *typ, const uint8_t *payload, size_t len,
                  char **token)
{
    uint8_t sig[HS_ES256_SIG_LEN];
    json_t *hdr;
    char *hdr_json = NULL, *t;
    size_t hdr_len, o;
    hs_rc rc;

    if (!token)
        return HS_E_INVALID_ARG;
    *token = NULL;
    if (!s || (!payload && len) || (typ && (!*typ || strlen(typ) > TYP_MAX)))
        return HS_E_INVALID_ARG;
    /* Refuse before encoding anything: the bound holds for what we make too. */
    if (len > HS_JWS_MAX || token_len(HEADER_MAX, len) > HS_JWS_MAX)
        return HS_E_TOO_LARGE;

    if (plain_ascii(typ)) {
        /* The usual case (our own typ names, a base64url kid): nothing to escape. */
        hdr_json = malloc(HEADER_MAX);
        if (!hdr_json)
            return HS_E_NO_MEMORY;
        int n = typ ? snprintf(hdr_json, HEADER_MAX,
                               "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}",
                               hs_signer_kid(s), typ)
                    : snprintf(hdr_json, HEADER_MAX, "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
                               hs_signer_kid(s));
        if (n < 0 || n >= HEADER_MAX) {
            free(hdr_json);
            return HS_E_TOO_LARGE;
        }
    } else {
        /* jansson escapes typ; JSON_PRESERVE_ORDER keeps alg first, as people expect. */
        hdr = json_pack("{s:s,s:s}", "alg", "ES256", "kid", hs_signer_kid(s));
        if (!hdr)
            return HS_E_NO_MEMORY;
        if (json_object_set_new(hdr, "typ", json_string(typ)) != 0) {
            json_decref(hdr);
            return HS_E_INVALID_ARG; /* not UTF-8 */
        }
        hdr_json = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(hdr);
        if (!hdr_json)
            return HS_E_NO_MEMORY;
    }
    hdr_len = strlen(hdr_json);

    t = malloc(token_len(hdr_len, len) + 1);
    if (!t) {
        rc = HS_E_NO_MEMORY;
        goto out_free_hdr;
    }
    o = hs_b64url_encode((const uint8_t *)hdr_json, hdr_len, t);
    t[o++] = '.';
    o += hs_b64url_encode(payload, len, t + o);

    /* The signing input is "b64url(header).b64url(payload)" (RFC 7515 5.1). */
    rc = hs_signer_sign(s, (const uint8_t *)t, o, sig);
    if (rc != HS_OK) {
        free(t);
        goto out_free_hdr;
    }
    t[o++] = '.';
    hs_b64url_encode(sig, sizeof(sig), t + o);
    *token = t;

out_free_hdr:
    free(hdr_json);
    return rc;
}

/*
 * Our own checks of the protected header, made before any cryptography:
 * a JSON object without duplicate members, "alg" exactly "ES256", no "crit"
 * (we implement no extension), "kid" and "typ" strings when present.
 */
static hs_rc check_header(const uint8_t *json, size_t len, char kid[KID_BUF])
{
    json_error_t err;
    json_t *hdr, *alg, *kidv, *typ;
    hs_rc rc = HS_E_MALFORMED;

    hdr = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &err);
    if (!hdr || !json_is_object(hdr)) {
        hm_log_debug("jws: the header is not a JSON object");
        goto out_free_hdr;
    }
    alg = json_object_get(hdr, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "ES256") != 0 ||
        json_string_length(alg) != 5) {
        hm_log_debug("jws: alg is not ES256; refused");
        goto out_free_hdr;
    }
    if (json_object_get(hdr, "crit")) {
        hm_log_debug("jws: the header has crit; no extension is understood");
        goto out_free_hdr;
    }
    kidv = json_object_get(hdr, "kid");
    if (kidv && (!json_is_string(kidv) || json_string_length(kidv) >= KID_BUF))
        goto out_free_hdr;
    typ = json_object_get(hdr, "typ");
    if (typ && !json_is_string(typ))
        goto out_free_hdr;
    hm_strlcpy(kid, kidv ? json_string_value(kidv) : "", KID_BUF);
    rc = HS_OK;

out_free_hdr:
    json_decref(hdr);
    return rc;
}

/* Verifies the compact token with cjose, using the certificate's key as a JWK.
 * The caller has checked the token's shape and header already. */
static hs_rc cjose_verify(const char *token, size_t len, const struct hs_cert *c,
                          const uint8_t *payload, size_t payload_len)
{
    uint8_t x[HS_P256_COORD], y[HS_P256_COORD];
    cjose_jwk_ec_keyspec spec;
    cjose_jwk_t *jwk;
    cjose_jws_t *jws;
    cjose_err err;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    hs_rc rc;

    memcpy(x, hs_cert_x(c), sizeof(x));
    memcpy(y, hs_cert_y(c), sizeof(y));
    memset(&spec, 0, sizeof(spec));
    spec.crv = CJOSE_JWK_EC_P_256;
    spec.x = x;
    spec.xlen = sizeof(x);
    spec.y = y;
    spec.ylen = sizeof(y);
    jwk = cjose_jwk_create_EC_spec(&spec, &err);
    if (!jwk) {
        hm_log_error("jws: cjose cannot make a key from the certificate: %s", err.message);
        return HS_E_CRYPTO;
    }
    jws = cjose_jws_import(token, len, &err);
    if (!jws) {
        rc = HS_E_MALFORMED;
        goto out_free_jwk;
    }
    if (!cjose_jws_verify(jws, jwk, &err)) {
        rc = HS_E_SIGNATURE;
        goto out_free_jws;
    }
    /* What cjose verified must be what we return. */
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err) || plain_len != payload_len ||
        (payload_len && memcmp(plain, payload, payload_len) != 0)) {
        hm_log_error("jws: cjose and our decoder disagree on a payload");
        rc = HS_E_INTERNAL;
        goto out_free_jws;
    }
    rc = HS_OK;

out_free_jws:
    cjose_jws_release(jws);
out_free_jwk:
    cjose_jwk_release(jwk);
    return rc;
}

hs_rc hs_jws_verify(const char *token, size_t len, const uint8_t *cert_der, size_t cert_len,
                    uint8_t **payload, size_t *payload_len, char kid[64])
{
    uint8_t header[HEADER_MAX];
    uint8_t sig[HS_ES256_SIG_LEN];
    char header_kid[KID_BUF];
    const char *dot1, *dot2, *p_b64, *s_b64;
    size_t h_len, p_len, s_len, n;
    struct hs_cert *cert = NULL;
    uint8_t *body = NULL;
    hs_rc rc;

    if (!payload || !payload_len)
        return HS_E_INVALID_ARG;
    *payload = NULL;
    *payload_len = 0;
    if (kid)
        kid[0] = '\0';
    if (!token || !cert_der)
        return HS_E_INVALID_ARG;
    if (len > HS_JWS_MAX)
        return HS_E_TOO_LARGE;

    /* Exactly three parts: header.payload.signature. memchr stops at len, and
     * a NUL inside the token is refused by the strict decoder. */
    dot1 = memchr(token, '.', len);
    if (!dot1)
        return HS_E_MALFORMED;
    p_b64 = dot1 + 1;
    dot2 = memchr(p_b64, '.', len - (size_t)(p_b64 - token));
    if (!dot2)
        return HS_E_MALFORMED;
    s_b64 = dot2 + 1;
    h_len = (size_t)(dot1 - token);
    p_len = (size_t)(dot2 - p_b64);
    s_len = len - (size_t)(s_b64 - token);
    if (memchr(s_b64, '.', s_len))
        return HS_E_MALFORMED;
    if (h_len == 0 || h_len > HEADER_B64_MAX || s_len != SIG_B64_LEN)
        return HS_E_MALFORMED;

    rc = hs_b64url_decode(token, h_len, header, sizeof(header), &n);
    if (rc != HS_OK)
        return HS_E_MALFORMED;
    rc = check_header(header, n, header_kid);
    if (rc != HS_OK)
        return rc;
    rc = hs_b64url_decode(s_b64, s_len, sig, sizeof(sig), &n);
    if (rc != HS_OK || n != sizeof(sig))
        return HS_E_MALFORMED;

    body = malloc(p_len / 4 * 3 + 3);
    if (!body)
        return HS_E_NO_MEMORY;
    rc = hs_b64url_decode(p_b64, p_len, body, p_len / 4 * 3 + 2, &n);
    if (rc != HS_OK) {
        rc = HS_E_MALFORMED;
        goto out_free_body;
    }
    body[n] = '\0';

    rc = hs_cert_parse_der(cert_der, cert_len, &cert);
    if (rc != HS_OK)
        goto out_free_body;
    rc = cjose_verify(token, len, cert, body, n);
    hs_cert_free(cert);
    if (rc != HS_OK)
        goto out_free_body;
    /* Outputs only for a token that verified. */
    *payload = body;
    *payload_len = n;
    if (kid)
        hm_strlcpy(kid, header_kid, KID_BUF);
    return HS_OK;

out_free_body:
    free(body);
    return rc;
}

hs_rc hs_jwks(const struct hs_signer *s, char **json)
{
    char x[HS_B64URL_LEN(HS_P256_COORD) + 1], y[HS_B64URL_LEN(HS_P256_COORD) + 1];
    const struct hs_cert *c;
    const uint8_t *der;
    size_t der_len;
    char *x5c;
    json_t *jwks;

    if (!json)
        return HS_E_INVALID_ARG;
    *json = NULL;
    if (!s)
        return HS_E_INVALID_ARG;
    c = hs_signer_cert(s);
    hs_b64url_encode(hs_cert_x(c), HS_P256_COORD, x);
    hs_b64url_encode(hs_cert_y(c), HS_P256_COORD, y);
    der = hs_cert_der(c, &der_len);
    /* x5c is standard base64 with padding (RFC 7517 4.7), not base64url. */
    x5c = malloc(HS_B64URL_LEN(der_len) + 1);
    if (!x5c)
        return HS_E_NO_MEMORY;
    b64_encode(b64_alphabet, true, der, der_len, x5c);

    jwks = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s]}]}", "keys", "kty", "EC", "crv",
                     "P-256", "x", x, "y", y, "kid", hs_signer_kid(s), "use", "sig", "alg", "ES256",
                     "x5c", x5c);
    free(x5c);
    if (!jwks)
        return HS_E_NO_MEMORY;
    *json = json_dumps(jwks, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(jwks);
    return *json ? HS_OK : HS_E_NO_MEMORY;
}
