/* bench_prep: makes software cards and signed request bodies in bulk for bench_benefits.sh (one
 * openssl command per statement would take longer than the benchmark itself). */
/*
 *   bench_prep cards --ca CA.pem --ca-key CA.key --org O --out DIR --serial-base N
 *       stdin: WELFARE_NO <tab> HOLDER; for each a 9E and a 9C key and certificate from
 *       the CA (subject O, CN holder, serialNumber the welfare number; keyUsage critical
 *       digitalSignature; serials N+2i and N+2i+1): DIR/W.9e.pem, .9e.key, .9c.pem, .9c.key
 *   bench_prep session-bodies --cards DIR
 *       stdin: WELFARE_NO <tab> NONCE; stdout: one POST /v1/card-sessions body a line,
 *       the nonce signed (SHA-256, ECDSA) with the 9E key
 *   bench_prep confirm-bodies --cards DIR --kiosk K
 *       stdin: WELFARE_NO <tab> SESSION|null <tab> NONCE <tab> PAYMENT <tab> AMOUNT_FEN <tab>
 *       PERIOD; stdout: one POST /v1/confirmations body a line: the canonical statement
 *       (docs/API.md, jansson JSON_COMPACT|JSON_SORT_KEYS, time now) signed with the 9C key
 *   bench_prep jws-field NAME...
 *       stdin: compact JWS tokens, one a line; stdout: the payload's string members NAME...,
 *       tab-separated
 *
 * Exit status: 0 done, 1 some line failed, 2 usage or set-up error.
 */
#include "hm/util.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_B 8192
#define FIELDS_MAX 8

/* ---- base64url ---------------------------------------------------------- */

static char *b64url(const unsigned char *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *out = malloc(cap);

    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

/* Decodes base64url (no padding) into a malloc'd NUL-terminated buffer. */
static char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    size_t padded = (n + 3) / 4 * 4;
    char *tmp = malloc(padded + 1);
    unsigned char *out = malloc(padded / 4 * 3 + 1);

    if (!tmp || !out) {
        free(tmp);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < padded; i++)
        tmp[i] = i < n ? (s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i]) : '=';
    int len = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
    free(tmp);
    if (len < 0) {
        free(out);
        return NULL;
    }
    len -= (int)(padded - n); /* EVP_DecodeBlock counts the padding as zero bytes */
    out[len] = '\0';
    *out_len = (size_t)len;
    return (char *)out;
}

/* ---- input lines ---------------------------------------------------------- */

/* Splits a line (its newline removed) at tabs; returns the number of fields. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    size_t l = strlen(line);

    while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
        line[--l] = '\0';
    if (l == 0)
        return 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* ---- cards ------------------------------------------------------------------- */

struct card {
    char welfare_no[64];
    EVP_PKEY *key;
    unsigned char *der;
    int der_len;
};

static void card_clear(struct card *c)
{
    EVP_PKEY_free(c->key);
    OPENSSL_free(c->der);
    memset(c, 0, sizeof(*c));
}

/* Loads DIR/W.SLOT.key and DIR/W.SLOT.pem unless c already holds that card. */
static bool card_load(struct card *c, const char *dir, const char *wf, const char *slot)
{
    char path[4096];
    FILE *f;
    X509 *x = NULL;

    if (c->key && strcmp(c->welfare_no, wf) == 0)
        return true;
    card_clear(c);
    snprintf(path, sizeof(path), "%s/%s.%s.key", dir, wf, slot);
    if (!(f = fopen(path, "r")))
        return false;
    c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, wf, slot);
    if (!(f = fopen(path, "r"))) {
        card_clear(c);
        return false;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!c->key || !x || (c->der_len = i2d_X509(x, &c->der)) <= 0) {
        X509_free(x);
        card_clear(c);
        return false;
    }
    X509_free(x);
    hm_strlcpy(c->welfare_no, wf, sizeof(c->welfare_no));
    return true;
}

/* DER ECDSA over SHA-256 of msg, base64url (malloc'd). */
static char *sign_b64(EVP_PKEY *key, const unsigned char *msg, size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[256];
    size_t sl = sizeof(sig);
    char *out = NULL;

    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, sig, &sl, msg, n) == 1)
        out = b64url(sig, sl);
    EVP_MD_CTX_free(md);
    return out;
}

static bool write_pem_pair(const char *dir, const char *wf, const char *slot, EVP_PKEY *k, X509 *x)
{
    char path[4096];
    FILE *f;
    bool ok;

    snprintf(path, sizeof(path), "%s/%s.%s.key", dir, wf, slot);
    if (!(f = fopen(path, "w")))
        return false;
    ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    ok = fclose(f) == 0 && ok;
    snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, wf, slot);
    if (!ok || !(f = fopen(path, "w")))
        return false;
    ok = PEM_write_X509(f, x) == 1;
    return fclose(f) == 0 && ok;
}

static bool issue(X509 *ca, EVP_PKEY *ca_key, const char *org, const char *holder, const char *wf,
                  long serial, const char *dir, const char *slot)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext = NULL;
    bool ok = false;

    if (!k || !x || !n)
        goto out;
    if (X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) ||
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) !=
            1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)holder, -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_UTF8, (const unsigned char *)wf, -1,
                                   -1, 0) != 1 ||
        X509_set_subject_name(x, n) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 || X509_set_pubkey(x, k) != 1)
        goto out;
    X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature");
    if (!ext || X509_add_ext(x, ext, -1) != 1 || X509_sign(x, ca_key, EVP_sha256()) <= 0)
        goto out;
    ok = write_pem_pair(dir, wf, slot, k, x);
out:
    X509_EXTENSION_free(ext);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok;
}

static int cmd_cards(const char *ca_file, const char *ca_key_file, const char *org, const char *dir,
                     long serial)
{
    FILE *f = fopen(ca_file, "r");
    X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    EVP_PKEY *ca_key = NULL;
    char line[LINE_MAX_B], *fl[FIELDS_MAX];
    int rc = 0;

    if (f)
        fclose(f);
    f = fopen(ca_key_file, "r");
    if (f) {
        ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca || !ca_key) {
        fprintf(stderr, "bench_prep: cannot read the CA %s / %s\n", ca_file, ca_key_file);
        X509_free(ca);
        EVP_PKEY_free(ca_key);
        return 2;
    }
    while (fgets(line, sizeof(line), stdin)) {
        if (split(line, fl, FIELDS_MAX) != 2)
            continue;
        if (!issue(ca, ca_key, org, fl[1], fl[0], serial, dir, "9e") ||
            !issue(ca, ca_key, org, fl[1], fl[0], serial + 1, dir, "9c")) {
            fprintf(stderr, "bench_prep: cards for %s failed\n", fl[0]);
            ERR_print_errors_fp(stderr);
            rc = 1;
        }
        serial += 2;
    }
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* ---- bodies ------------------------------------------------------------------ */

static int cmd_session_bodies(const char *dir)
{
    char line[LINE_MAX_B], *fl[FIELDS_MAX];
    struct card c = { 0 };
    int rc = 0;

    while (fgets(line, sizeof(line), stdin)) {
        if (split(line, fl, FIELDS_MAX) != 2)
            continue;
        char *cert = NULL, *sig = NULL;
        if (card_load(&c, dir, fl[0], "9e")) {
            cert = b64url(c.der, (size_t)c.der_len);
            sig = sign_b64(c.key, (const unsigned char *)fl[1], strlen(fl[1]));
        }
        if (cert && sig)
            printf(
                "{\"nonce\":\"%s\",\"card\":{\"cert\":\"%s\",\"alg\":17,\"signature\":\"%s\"}}\n",
                fl[1], cert, sig);
        else {
            fprintf(stderr, "bench_prep: no session body for %s\n", fl[0]);
            rc = 1;
        }
        free(cert);
        free(sig);
    }
    card_clear(&c);
    return rc;
}

static int cmd_confirm_bodies(const char *dir, const char *kiosk)
{
    char line[LINE_MAX_B], *fl[FIELDS_MAX];
    struct card c = { 0 };
    char *cert = NULL;
    int rc = 0;
    long now = (long)time(NULL);

    while (fgets(line, sizeof(line), stdin)) {
        long amount;

        if (split(line, fl, FIELDS_MAX) != 6)
            continue;
        if (!hm_parse_long(fl[4], 1, 1000000000L, &amount)) {
            fprintf(stderr, "bench_prep: bad amount %s\n", fl[4]);
            rc = 1;
            continue;
        }
        bool fresh = !c.key || strcmp(c.welfare_no, fl[0]) != 0;
        if (!card_load(&c, dir, fl[0], "9c")) {
            fprintf(stderr, "bench_prep: no 9C card for %s\n", fl[0]);
            rc = 1;
            continue;
        }
        if (fresh || !cert) {
            free(cert);
            cert = b64url(c.der, (size_t)c.der_len);
        }
        json_t *st = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:s}", "amount_fen",
                               (json_int_t)amount, "kiosk", kiosk, "nonce", fl[2], "payment", fl[3],
                               "period", fl[5], "time", (json_int_t)now, "typ",
                               "huimin-confirmation", "v", 1, "welfare_no", fl[0]);
        char *bytes = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *stmt = bytes ? b64url((const unsigned char *)bytes, strlen(bytes)) : NULL;
        char *sig = bytes ? sign_b64(c.key, (const unsigned char *)bytes, strlen(bytes)) : NULL;
        bool journal = strcmp(fl[1], "null") == 0;
        if (cert && stmt && sig)
            printf("{\"session\":%s%s%s,\"statement\":\"%s\",\"key\":\"9c\",\"cert\":\"%s\","
                   "\"signature\":\"%s\"}\n",
                   journal ? "" : "\"", fl[1], journal ? "" : "\"", stmt, cert, sig);
        else {
            fprintf(stderr, "bench_prep: no confirmation body for %s\n", fl[3]);
            rc = 1;
        }
        free(sig);
        free(stmt);
        free(bytes);
        json_decref(st);
    }
    free(cert);
    card_clear(&c);
    return rc;
}

static int cmd_jws_field(char **names, int nnames)
{
    static char line[1u << 16];
    int rc = 0;

    while (fgets(line, sizeof(line), stdin)) {
        char *d1 = strchr(line, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        size_t len = 0;
        char *payload = d2 ? b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &len) : NULL;
        json_t *j = payload ? json_loadb(payload, len, 0, NULL) : NULL;
        bool ok = j != NULL;

        for (int i = 0; ok && i < nnames; i++)
            ok = json_is_string(json_object_get(j, names[i]));
        for (int i = 0; ok && i < nnames; i++)
            printf("%s%c", json_string_value(json_object_get(j, names[i])),
                   i + 1 < nnames ? '\t' : '\n');
        if (!ok)
            rc = 1;
        json_decref(j);
        free(payload);
    }
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_prep cards --ca CA.pem --ca-key CA.key --org O --out DIR "
            "--serial-base N  < W<tab>HOLDER\n"
            "       bench_prep session-bodies --cards DIR  < W<tab>NONCE\n"
            "       bench_prep confirm-bodies --cards DIR --kiosk K\n"
            "                  < W<tab>SESSION|null<tab>NONCE<tab>PAYMENT<tab>AMOUNT<tab>PERIOD\n"
            "       bench_prep jws-field NAME...  < TOKENS\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "ca", required_argument, NULL, 'a' },    { "ca-key", required_argument, NULL, 'k' },
        { "org", required_argument, NULL, 'o' },   { "out", required_argument, NULL, 'd' },
        { "cards", required_argument, NULL, 'd' }, { "serial-base", required_argument, NULL, 's' },
        { "kiosk", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 },
    };
    const char *ca = NULL, *ca_key = NULL, *org = "惠民 bench", *dir = NULL, *kiosk = NULL;
    long serial = 100000;
    int opt;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            ca = optarg;
            break;
        case 'k':
            ca_key = optarg;
            break;
        case 'o':
            org = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 's':
            if (!hm_parse_long(optarg, 1, 1L << 40, &serial)) {
                usage(stderr);
                return 2;
            }
            break;
        case 'i':
            kiosk = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(cmd, "cards") == 0 && ca && ca_key && dir && optind == argc)
        return cmd_cards(ca, ca_key, org, dir, serial);
    if (strcmp(cmd, "session-bodies") == 0 && dir && optind == argc)
        return cmd_session_bodies(dir);
    if (strcmp(cmd, "confirm-bodies") == 0 && dir && kiosk && optind == argc)
        return cmd_confirm_bodies(dir, kiosk);
    if (strcmp(cmd, "jws-field") == 0 && optind < argc)
        return cmd_jws_field(argv + optind, argc - optind);
    usage(stderr);
    return 2;
}
